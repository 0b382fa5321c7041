/* Post-processing, hand-worked cases (docs/postproc.md): every worked example
 * of section 6, each stage's edge cases, the duration rules and the tracker's
 * timing, statistics on known numbers, flush/reset, state save/load,
 * configuration errors and fixed memory. Every case is also pushed in
 * several chunkings and must give byte-identical records. The comparison
 * with the whole-array oracle on random inputs is in test_postproc.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/event.h"
#include "ictal/postproc.h"
#include "test_util.h"

#define HI 0.9f
#define LO 0.1f
#define MAXREC 256
#define MAXN 8192

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

struct log {
    struct ictal_event ev[MAXREC];
    size_t n;     /* stored */
    size_t total; /* seen */
    size_t by_kind[4];
};

static void on_event(void *user, const struct ictal_event *ev)
{
    struct log *l = user;
    /* memcpy, not assignment: the padding is part of what we compare. */
    if (l->n < MAXREC)
        memcpy(&l->ev[l->n++], ev, sizeof *ev);
    l->total++;
    if (ev->kind >= 1 && ev->kind <= 3)
        l->by_kind[ev->kind]++;
}

static struct ictal_event_sink sink_of(struct log *l)
{
    struct ictal_event_sink s = { on_event, NULL, l };
    return s;
}

/* Section 6's defaults: n_on = n_off = 2, thresholds 0.5, no morphology,
 * M_min = 3, M_gap = 3, M_max = 5. */
static struct ictal_postproc_config base_cfg(void)
{
    struct ictal_postproc_config c = {
        .threshold_on = 0.5f, .threshold_off = 0.5f, .n_on = 2, .n_off = 2,
        .opening = 0, .closing = 0, .min_frames = 3, .merge_frames = 3, .max_frames = 5,
        .confidence = ICTAL_CONFIDENCE_MEAN, .percentile = 50.0f, .n_channels = 0,
    };
    return c;
}

/* "0 1 1 0" -> 0.1 0.9 0.9 0.1 (spaces ignored). */
static size_t bits(const char *s, float *p)
{
    size_t n = 0;
    for (; *s; s++)
        if (*s == '0' || *s == '1')
            p[n++] = *s == '1' ? HI : LO;
    return n;
}

static struct ictal_postproc *make(const struct ictal_postproc_config *cfg)
{
    struct ictal_error err;
    struct ictal_postproc *pp = ictal_postproc_create(cfg, &err);
    if (!pp)
        fail_msg("create: %s", err.msg);
    return pp;
}

/* The whole stream in chunks of `chunk` frames (0: one call), then flush. */
static void run_chunked(const struct ictal_postproc_config *cfg, const float *p, const float *scores,
                        const uint8_t *flags, size_t n, size_t chunk, struct log *out)
{
    memset(out, 0, sizeof *out);
    struct ictal_postproc *pp = make(cfg);
    struct ictal_event_sink sk = sink_of(out);
    size_t C = (size_t)cfg->n_channels;
    if (chunk == 0)
        chunk = n ? n : 1;
    for (size_t i = 0; i < n; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk;
        assert_int_equal(ictal_postproc_process(pp, p + i, scores ? scores + i * C : NULL,
                                                flags ? flags + i : NULL, m, &sk), 0);
    }
    assert_int_equal(ictal_postproc_frames_pushed(pp), n);
    assert_int_equal(ictal_postproc_flush(pp, &sk), 0);
    assert_int_equal(ictal_postproc_alarm_active(pp), 0);
    ictal_postproc_destroy(pp);
}

static void assert_same_logs(const struct log *a, const struct log *b, const char *what)
{
    if (a->total != b->total)
        fail_msg("%s: %zu records, expected %zu", what, b->total, a->total);
    for (size_t i = 0; i < a->n; i++)
        if (memcmp(&a->ev[i], &b->ev[i], sizeof a->ev[i]) != 0)
            fail_msg("%s: record %zu differs (kind %d/%d, start %lld/%lld, emit %lld/%lld)", what,
                     i, (int)a->ev[i].kind, (int)b->ev[i].kind, (long long)a->ev[i].start_frame,
                     (long long)b->ev[i].start_frame, (long long)a->ev[i].emit_frame,
                     (long long)b->ev[i].emit_frame);
}

/* One block, then 1-frame chunks and a few others: all must agree byte for
 * byte (chunk boundaries fall inside every run and gap of these cases). */
static void run(const struct ictal_postproc_config *cfg, const float *p, const float *scores,
                const uint8_t *flags, size_t n, struct log *out)
{
    static struct log other;
    static const size_t chunks[] = { 1, 2, 3, 7 };
    run_chunked(cfg, p, scores, flags, n, 0, out);
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        run_chunked(cfg, p, scores, flags, n, chunks[i], &other);
        char what[64];
        snprintf(what, sizeof what, "chunks of %zu vs one block", chunks[i]);
        assert_same_logs(out, &other, what);
    }
}

#define assert_f32(x, y)                                                                     \
    do {                                                                                     \
        float x_ = (x), y_ = (y);                                                            \
        if (memcmp(&x_, &y_, sizeof x_) != 0)                                                \
            fail_msg("%s = %.9g, expected %.9g", #x, (double)x_, (double)y_);                \
    } while (0)

static void expect(const struct ictal_event *ev, enum ictal_event_kind kind, uint64_t id,
                   int segment, int64_t start, int64_t end, int64_t emit, uint32_t flags)
{
    if (ev->kind != kind || ev->id != id || ev->segment != segment || ev->start_frame != start ||
        ev->end_frame != end || ev->emit_frame != emit || ev->flags != flags)
        fail_msg("got %s id %llu seg %d [%lld, %lld) emit %lld flags 0x%x; expected %s id %llu "
                 "seg %d [%lld, %lld) emit %lld flags 0x%x",
                 ictal_event_kind_name(ev->kind), (unsigned long long)ev->id, ev->segment,
                 (long long)ev->start_frame, (long long)ev->end_frame, (long long)ev->emit_frame,
                 ev->flags, ictal_event_kind_name(kind), (unsigned long long)id, segment,
                 (long long)start, (long long)end, (long long)emit, flags);
    /* Never filled by the bare post-processing. */
    assert_int_equal(ev->start_sample, 0);
    assert_int_equal(ev->end_sample, 0);
    assert_int_equal(ev->emit_sample, 0);
    assert_true(ev->start_s == 0.0 && ev->end_s == 0.0 && ev->emit_s == 0.0);
}

/* The mean of section 4, by hand: a double sum in frame order. */
static float mean_of(const float *p, int a, int b)
{
    double s = 0.0;
    for (int k = a; k < b; k++)
        s += (double)p[k];
    return (float)(s / (double)(b - a));
}

static void expect_stats(const struct ictal_event *ev, float confidence, float peak)
{
    assert_f32(ev->confidence, confidence);
    assert_f32(ev->peak, peak);
}

static int n_channels_named(const struct ictal_event *ev)
{
    int k = 0;
    for (int c = 0; c < ICTAL_EVENT_MAX_CHANNELS; c++)
        k += (ev->channels[c / 64] >> (c % 64)) & 1u;
    return k;
}

/* ------------------------------------------------------------------ */
/* Section 6                                                           */

static void test_example_single_event(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    /* 0 1 1 1 1 0 0 0 0, with distinct values above 0.5 for the statistics. */
    const float p[] = { 0.1f, 0.6f, 0.7f, 0.8f, 0.95f, 0.2f, 0.3f, 0.1f, 0.1f };
    static struct log l;
    run(&cfg, p, NULL, NULL, 9, &l);
    assert_int_equal(l.total, 2);
    /* Alarm when frame 2 is pushed: D = 1, statistics over [1, 3). */
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 3, 3, 0);
    expect_stats(&l.ev[0], mean_of(p, 1, 3), 0.7f);
    assert_true(fabsf(l.ev[0].confidence - 0.65f) < 1e-6f);
    /* Final [1, 5) at c-frame 7 (7 - 5 + 1 = 3 >= M_gap): emit_frame 9. */
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 5, 9, 0);
    expect_stats(&l.ev[1], mean_of(p, 1, 5), 0.95f);
    assert_true(fabsf(l.ev[1].confidence - 0.7625f) < 1e-6f);
    assert_int_equal(l.ev[1].method, ICTAL_CONFIDENCE_MEAN);
    assert_int_equal(l.ev[1].n_channels, 0);
    assert_int_equal(n_channels_named(&l.ev[1]), 0);
}

static void test_example_short_run_cancelled(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    float p[16];
    size_t n = bits("0 1 1 0 0 0", p);
    static struct log l;
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 3, 3, 0);
    /* c[3] = 0 ends a run of 2 < M_min, seen when frame 4 is pushed. */
    expect(&l.ev[1], ICTAL_EVENT_CANCEL, 1, 0, 1, 3, 5, 0);
    expect_stats(&l.ev[1], HI, HI);
}

static void test_example_merge_and_split(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    /* n_off = 1 so that hysteresis leaves the one-frame gap (D stays 1). */
    cfg.n_off = 1;
    float p[32];
    size_t n = bits("0 1111 0 111 0000", p);
    static struct log l;
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 3);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 3, 3, 0);
    /* [1, 9) is 8 > 5 frames: [1, 6) when the second run is kept (c-frame 8,
     * frame 9 pushed), then [6, 9) when the event ends (c-frame 11). */
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 6, 10, ICTAL_EVENT_SEGMENTED);
    expect_stats(&l.ev[1], mean_of(p, 1, 6), HI);
    expect(&l.ev[2], ICTAL_EVENT_FINAL, 1, 2, 6, 9, 13, ICTAL_EVENT_SEGMENTED);
    expect_stats(&l.ev[2], HI, HI);
}

static void test_example_700s_split(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    cfg.min_frames = ictal_postproc_frames(5.0, 8.0);
    cfg.merge_frames = ictal_postproc_frames(10.0, 8.0);
    cfg.max_frames = ictal_postproc_frames(600.0, 8.0);
    assert_int_equal(cfg.max_frames, 4800);
    static float p[5900];
    for (int k = 0; k < 5900; k++)
        p[k] = k >= 100 && k < 5700 ? HI : LO; /* 5600 frames = 700 s */
    static struct log l;
    run(&cfg, p, NULL, NULL, 5900, &l);
    assert_int_equal(l.total, 3);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 100, 102, 102, 0);
    /* 600 s: closed when frame 4900 joins (c-frame 4900). */
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 100, 4900, 4902, ICTAL_EVENT_SEGMENTED);
    /* 100 s: the event ends at c-frame 5700 + 80 - 1. */
    expect(&l.ev[2], ICTAL_EVENT_FINAL, 1, 2, 4900, 5700, 5781, ICTAL_EVENT_SEGMENTED);
    assert_int_equal(l.ev[1].end_frame - l.ev[1].start_frame, 600 * 8);
    assert_int_equal(l.ev[2].end_frame - l.ev[2].start_frame, 100 * 8);
}

/* ------------------------------------------------------------------ */
/* Hysteresis                                                          */

static void test_hysteresis_onset_offset_first_frame(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    cfg.n_on = 3;
    cfg.n_off = 2;
    cfg.min_frames = 1;
    cfg.merge_frames = 1;
    cfg.max_frames = 1000;
    /* Frames 1-2: an on-count of 2 < 3, reset: stays 0. Frames 4-6 switch
     * on (onset 4). Frame 7 counts 1 towards off, frame 8 resets: ictal.
     * Frames 9-10 switch off (offset 9). h = run [4, 9). D = 2. */
    float p[32];
    size_t n = bits("0 11 0 111 0 1 00 000", p);
    static struct log l;
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 4, 7, 7, 0);
    expect_stats(&l.ev[0], HI, HI);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 4, 9, 12, 0);
    expect_stats(&l.ev[1], mean_of(p, 4, 9), HI);
}

static void test_hysteresis_between_thresholds(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    cfg.threshold_on = 0.6f;
    cfg.threshold_off = 0.4f;
    cfg.min_frames = 1;
    cfg.merge_frames = 1;
    cfg.max_frames = 1000;
    /* Off: 0.5 (between) resets the on-count, so frame 0 stays 0. On: 0.5
     * resets the off-count, so frames 4-5 stay ictal; 6-7 switch off. */
    const float p[] = { 0.7f, 0.5f, 0.7f, 0.7f, 0.3f, 0.5f, 0.3f, 0.3f,
                        0.1f, 0.1f, 0.5f, 0.5f, 0.5f, 0.1f };
    static struct log l;
    run(&cfg, p, NULL, NULL, sizeof p / sizeof p[0], &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 2, 4, 4, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 2, 6, 8, 0);
    expect_stats(&l.ev[1], mean_of(p, 2, 6), 0.7f);
}

static void test_hysteresis_end_of_array(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    static struct log l;
    float p[16];
    /* A pending on-count shorter than n_on leaves its frame at 0. */
    size_t n = bits("0 0 1", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 0);
    /* A pending off-count shorter than n_off leaves its frame at 1: the
     * event is [1, 6), finalised by flush. */
    n = bits("0 1111 0", p);
    p[4] = 0.8f;
    p[5] = 0.45f;
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 3, 3, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 6, 6, ICTAL_EVENT_FLUSHED);
    expect_stats(&l.ev[1], mean_of(p, 1, 6), HI);
}

static void test_nonfinite_probability_is_zero(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    cfg.n_on = cfg.n_off = 1;
    cfg.min_frames = 1;
    cfg.merge_frames = 2;
    cfg.max_frames = 100;
    float p[16];
    size_t n = bits("0 1 1 1 1 1 0 0 0 1 0 0 0", p);
    p[2] = NAN;
    p[9] = INFINITY;
    static struct log l;
    run(&cfg, p, NULL, NULL, n, &l);
    /* NaN at frame 2 splits [1, 6) into [1, 2) + [3, 6), merged over the
     * 1-frame gap; +inf at frame 9 is 0, not a run. */
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 2, 2, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 6, 8, 0);
    const float q[] = { 0.1f, HI, 0.0f, HI, HI, HI };
    expect_stats(&l.ev[1], mean_of(q, 1, 6), HI);
    assert_true(fabsf(l.ev[1].confidence - 0.72f) < 1e-6f);
}

/* ------------------------------------------------------------------ */
/* Opening and closing                                                 */

static struct ictal_postproc_config morph_cfg(int opening, int closing)
{
    struct ictal_postproc_config cfg = base_cfg();
    cfg.n_on = cfg.n_off = 1; /* h = p >= 0.5, d1 = 0 */
    cfg.opening = opening;
    cfg.closing = closing;
    cfg.min_frames = 1;
    cfg.merge_frames = 1;
    cfg.max_frames = 1000;
    return cfg;
}

static void test_opening(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = morph_cfg(3, 0);
    static struct log l;
    float p[32];
    /* [1, 3) is shorter than 3: removed. [5, 9) stays. D = 2. */
    size_t n = bits("0 11 00 1111 00000", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 5, 8, 8, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 5, 9, 12, 0);
    /* Exactly L_o frames stay; L_o - 1 go. */
    n = bits("0 111 00 11 000", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 4, 4, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 4, 7, 0);
    /* A run cut by the end counts with the length it has: 2 < 3 goes. */
    n = bits("0 0 0 1 1", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 0);
    /* ... 3 stays: the alarm comes when its third frame is pushed. */
    n = bits("0 0 1 1 1", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 2, 5, 5, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 2, 5, 5, ICTAL_EVENT_FLUSHED);
    /* opening 1 does nothing (D = 0). */
    cfg = morph_cfg(1, 0);
    n = bits("0 1 0", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 2, 2, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 2, 3, 0);
}

static void test_closing(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = morph_cfg(0, 3);
    static struct log l;
    float p[32];
    /* The interior gap [3, 5) is shorter than 3: filled, one event [1, 7). */
    size_t n = bits("0 11 00 11 00000", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 4, 4, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 7, 10, 0);
    expect_stats(&l.ev[1], mean_of(p, 1, 7), HI);
    /* Without closing: two events. */
    struct ictal_postproc_config off = morph_cfg(0, 0);
    run(&off, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 4);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 3, 4, 0);
    expect(&l.ev[2], ICTAL_EVENT_ALARM, 2, 0, 5, 6, 6, 0);
    expect(&l.ev[3], ICTAL_EVENT_FINAL, 2, 1, 5, 7, 8, 0);
    /* A gap of exactly L_c stays open. */
    n = bits("0 11 000 11 00000", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 4);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 3, 6, 0);
    expect(&l.ev[3], ICTAL_EVENT_FINAL, 2, 1, 6, 8, 11, 0);
    /* A leading gap is never filled. */
    n = bits("0 111 0000", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 4, 4, 0);
    /* Nor a trailing one: the event ends at 5, not 6, decided by flush. */
    n = bits("0 0 111 0", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 2, 5, 5, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 2, 5, 6, ICTAL_EVENT_FLUSHED);
}

static void test_opening_then_closing(void **state)
{
    (void)state;
    /* Opening first: the 1-frame blips at 6 and 8 go, which leaves one gap
     * [5, 10) too long to close (in the other order closing would have
     * joined everything). D = 0 + 1 + 2. */
    struct ictal_postproc_config cfg = morph_cfg(2, 3);
    static struct log l;
    float p[32];
    size_t n = bits("0 1111 0 1 0 1 0 11 0000000", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 4);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 5, 5, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 5, 9, 0);
    expect(&l.ev[2], ICTAL_EVENT_ALARM, 2, 0, 10, 14, 14, 0);
    expect(&l.ev[3], ICTAL_EVENT_FINAL, 2, 1, 10, 12, 16, 0);
}

/* Random streams with every stage on: any chunking gives the same bytes. */
static void test_chunk_invariance_random(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x5eedc0de);
    static float p[2000], s[2000 * 3];
    static uint8_t f[2000];
    static struct log a, b;
    for (int round = 0; round < 20; round++) {
        struct ictal_postproc_config cfg = base_cfg();
        cfg.n_on = (int)test_rng_range(&rng, 1, 4);
        cfg.n_off = (int)test_rng_range(&rng, 1, 4);
        cfg.opening = (int)test_rng_range(&rng, 0, 4);
        cfg.closing = (int)test_rng_range(&rng, 0, 6);
        cfg.min_frames = (int)test_rng_range(&rng, 0, 8);
        cfg.merge_frames = (int)test_rng_range(&rng, 0, 10);
        cfg.max_frames = (int)test_rng_range(&rng, cfg.min_frames > 1 ? cfg.min_frames : 1, 30);
        cfg.confidence = (enum ictal_confidence)test_rng_range(&rng, 1, 3);
        cfg.percentile = (float)test_rng_range(&rng, 0, 100);
        cfg.n_channels = 3;
        cfg.threshold_off = 0.4f;
        /* Sticky two-state source so that runs and gaps of all lengths occur. */
        int on = 0;
        for (int k = 0; k < 2000; k++) {
            if (test_rng_unit(&rng) < 0.15)
                on = !on;
            p[k] = (float)(on ? 0.45 + 0.55 * test_rng_unit(&rng) : 0.55 * test_rng_unit(&rng));
            for (int c = 0; c < 3; c++)
                s[k * 3 + c] = (float)test_rng_unit(&rng);
            f[k] = test_rng_unit(&rng) < 0.05 ? (uint8_t)(1u << test_rng_range(&rng, 0, 3)) : 0;
        }
        run_chunked(&cfg, p, s, f, 2000, 0, &a);
        assert_true(a.total > 10);
        run_chunked(&cfg, p, s, f, 2000, 1, &b);
        assert_same_logs(&a, &b, "1-frame chunks");
        /* Random chunk sizes. */
        memset(&b, 0, sizeof b);
        struct ictal_postproc *pp = make(&cfg);
        struct ictal_event_sink sk = sink_of(&b);
        for (size_t i = 0; i < 2000;) {
            size_t m = (size_t)test_rng_range(&rng, 0, 40);
            if (m > 2000 - i)
                m = 2000 - i;
            assert_int_equal(ictal_postproc_process(pp, p + i, s + 3 * i, f + i, m, &sk), 0);
            i += m;
        }
        assert_int_equal(ictal_postproc_flush(pp, &sk), 0);
        ictal_postproc_destroy(pp);
        assert_same_logs(&a, &b, "random chunks");
    }
}

/* ------------------------------------------------------------------ */
/* Duration rules and the tracker                                      */

static void test_dropped_merge_candidate_says_nothing(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    cfg.n_off = 1;
    cfg.merge_frames = 4;
    cfg.max_frames = 100;
    float p[32];
    /* Kept run [1, 5); candidate [7, 9) of 2 < 3 frames is dropped; it
     * covers c-frame 8 = e + M_gap - 1, so the final comes at 9, the 0 that
     * ends it. */
    size_t n = bits("0 1111 00 11 00000", p);
    p[7] = p[8] = 0.97f;
    static struct log l;
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 3, 3, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 5, 11, 0);
    expect_stats(&l.ev[1], HI, HI); /* the dropped candidate is not in [1, 5) */

    /* Without the candidate the final comes one c-frame earlier. */
    n = bits("0 1111 00 00 00000", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 5, 10, 0);
}

static void test_merge_over_dropped_run(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = morph_cfg(0, 0);
    cfg.min_frames = 3;
    cfg.merge_frames = 6;
    cfg.max_frames = 100;
    float p[32];
    /* [1, 4) kept; [5, 7) dropped (a candidate); [8, 11) kept and merged:
     * the event is [1, 11), its gap frames (the dropped run too) included. */
    size_t n = bits("0 111 0 11 0 111 000000000", p);
    p[5] = 0.97f;
    p[6] = 0.96f;
    p[9] = 0.92f;
    static struct log l;
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 2, 2, 0);
    /* Final at c-frame 11 + 6 - 1 = 16, D = 0. */
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 11, 17, 0);
    expect_stats(&l.ev[1], mean_of(p, 1, 11), 0.97f);
}

static void test_several_segments_at_once(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = morph_cfg(0, 0);
    cfg.min_frames = 2;
    cfg.merge_frames = 4;
    cfg.max_frames = 2;
    float p[32];
    /* [0, 2) kept; candidate [5, 7) kept at c-frame 6: the event grows from
     * [0, 2) to [0, 7), segments [0, 2) [2, 4) [4, 6) at once, then [6, 7)
     * at c-frame 7 + 4 - 1 = 10. */
    size_t n = bits("11 000 11 0000", p);
    static struct log l;
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 5);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 0, 1, 1, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 0, 2, 7, ICTAL_EVENT_SEGMENTED);
    expect_stats(&l.ev[1], HI, HI);
    expect(&l.ev[2], ICTAL_EVENT_FINAL, 1, 2, 2, 4, 7, ICTAL_EVENT_SEGMENTED);
    expect_stats(&l.ev[2], LO, LO); /* a segment made of gap alone */
    expect(&l.ev[3], ICTAL_EVENT_FINAL, 1, 3, 4, 6, 7, ICTAL_EVENT_SEGMENTED);
    expect_stats(&l.ev[3], mean_of(p, 4, 6), HI);
    expect(&l.ev[4], ICTAL_EVENT_FINAL, 1, 4, 6, 7, 11, ICTAL_EVENT_SEGMENTED);
}

static void test_ids_and_no_merge(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = morph_cfg(0, 0);
    cfg.min_frames = 2;
    cfg.merge_frames = 0; /* never merge: final at the first 0 */
    float p[32];
    size_t n = bits("0 11 0 1 0 111 0", p);
    static struct log l;
    run(&cfg, p, NULL, NULL, n, &l);
    /* Event 1 [1, 3); run [4, 5) alarmed (id 2) and cancelled; event 3. */
    assert_int_equal(l.total, 6);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 2, 2, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 3, 4, 0);
    expect(&l.ev[2], ICTAL_EVENT_ALARM, 2, 0, 4, 5, 5, 0);
    expect(&l.ev[3], ICTAL_EVENT_CANCEL, 2, 0, 4, 5, 6, 0);
    expect(&l.ev[4], ICTAL_EVENT_ALARM, 3, 0, 6, 7, 7, 0);
    expect(&l.ev[5], ICTAL_EVENT_FINAL, 3, 1, 6, 9, 10, 0);
}

static void test_min_frames_zero_keeps_all(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = morph_cfg(0, 0);
    cfg.min_frames = 0;
    cfg.merge_frames = 2;
    cfg.max_frames = 1;
    float p[16];
    /* Every run is kept at once (K = 1); [1, 2) and [3, 4) merge over a
     * 1-frame gap; segments of 1 frame. */
    size_t n = bits("0 1 0 1 00", p);
    static struct log l;
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 4);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 2, 2, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 2, 4, ICTAL_EVENT_SEGMENTED);
    expect(&l.ev[2], ICTAL_EVENT_FINAL, 1, 2, 2, 3, 4, ICTAL_EVENT_SEGMENTED);
    expect(&l.ev[3], ICTAL_EVENT_FINAL, 1, 3, 3, 4, 6, ICTAL_EVENT_SEGMENTED);
}

static void test_alarm_active(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    float p[16];
    size_t n = bits("0 1111 00000 11", p);
    struct ictal_postproc *pp = make(&cfg);
    static struct log l;
    memset(&l, 0, sizeof l);
    struct ictal_event_sink sk = sink_of(&l);
    /* Active from the alarm (after frame 2) until the final (after frame 8);
     * again for the short run [10, 12) from frame 11, cancelled by flush. */
    static const int want[] = { 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1 };
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(ictal_postproc_process(pp, p + k, NULL, NULL, 1, &sk), 0);
        assert_int_equal(ictal_postproc_alarm_active(pp), want[k]);
    }
    assert_int_equal(ictal_postproc_flush(pp, &sk), 0);
    assert_int_equal(ictal_postproc_alarm_active(pp), 0);
    assert_int_equal(l.total, 4);
    expect(&l.ev[2], ICTAL_EVENT_ALARM, 2, 0, 10, 12, 12, 0);
    expect(&l.ev[3], ICTAL_EVENT_CANCEL, 2, 0, 10, 12, 12, ICTAL_EVENT_FLUSHED);
    ictal_postproc_destroy(pp);
}

/* ------------------------------------------------------------------ */
/* Flush and reset                                                     */

static void test_flush(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    static struct log l;
    float p[16];

    /* A kept event still open: FINAL [g, e) with FLUSHED, emit_frame = n. */
    size_t n = bits("0 11111", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 3, 3, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 6, 6, ICTAL_EVENT_FLUSHED);

    /* A run shorter than M_min at the end: cancelled by flush. */
    n = bits("000 11", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 3, 5, 5, 0);
    expect(&l.ev[1], ICTAL_EVENT_CANCEL, 1, 0, 3, 5, 5, ICTAL_EVENT_FLUSHED);

    /* An alarm made by flush itself (its c-frame is inside the look-ahead). */
    cfg.n_on = 1;
    cfg.n_off = 3; /* D = 2 */
    n = bits("0000 1", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 4, 5, 5, ICTAL_EVENT_FLUSHED);
    expect(&l.ev[1], ICTAL_EVENT_CANCEL, 1, 0, 4, 5, 5, ICTAL_EVENT_FLUSHED);

    /* The final of an ended event, at c-frame 5 + 3 - 1 = 7: made by
     * process() with one more frame, by flush() (7 >= n - D) without. */
    n = bits("0 1111 00000", p);
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 4, 4, 0);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 5, 10, 0);
    run(&cfg, p, NULL, NULL, n - 1, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 5, 9, ICTAL_EVENT_FLUSHED);

    /* An empty stream. */
    run(&cfg, p, NULL, NULL, 0, &l);
    assert_int_equal(l.total, 0);
}

static void test_flush_twice_process_after_reset(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    float p[16];
    size_t n = bits("0 11111 000 11", p);
    struct ictal_postproc *pp = make(&cfg);
    static struct log l, again;
    memset(&l, 0, sizeof l);
    struct ictal_event_sink sk = sink_of(&l);
    assert_int_equal(ictal_postproc_process(pp, p, NULL, NULL, n, &sk), 0);
    assert_int_equal(ictal_postproc_flush(pp, &sk), 0);
    size_t after_first = l.total;
    assert_int_equal(after_first, 4); /* alarm/final, alarm/cancel */
    assert_int_equal(ictal_postproc_flush(pp, &sk), 0);
    assert_int_equal(l.total, after_first);
    assert_int_equal(ictal_postproc_process(pp, p, NULL, NULL, 1, &sk), ICTAL_ESTATE);
    assert_int_equal(ictal_postproc_process(pp, p, NULL, NULL, 0, &sk), ICTAL_ESTATE);
    assert_int_equal(ictal_postproc_frames_pushed(pp), n);

    ictal_postproc_reset(pp);
    assert_int_equal(ictal_postproc_frames_pushed(pp), 0);
    assert_int_equal(ictal_postproc_alarm_active(pp), 0);
    memset(&again, 0, sizeof again);
    sk = sink_of(&again);
    assert_int_equal(ictal_postproc_process(pp, p, NULL, NULL, n, &sk), 0);
    assert_int_equal(ictal_postproc_flush(pp, &sk), 0);
    assert_same_logs(&l, &again, "after reset");
    assert_int_equal(again.ev[0].id, 1);
    assert_int_equal(again.ev[2].id, 2);

    /* Reset mid-event: nothing pending survives. */
    ictal_postproc_reset(pp);
    memset(&again, 0, sizeof again);
    assert_int_equal(ictal_postproc_process(pp, p, NULL, NULL, 4, &sk), 0);
    assert_int_equal(ictal_postproc_alarm_active(pp), 1);
    ictal_postproc_reset(pp);
    assert_int_equal(ictal_postproc_alarm_active(pp), 0);
    assert_int_equal(ictal_postproc_flush(pp, &sk), 0);
    assert_int_equal(again.total, 1);
    ictal_postproc_destroy(pp);
}

static void test_process_arguments(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    struct ictal_postproc *pp = make(&cfg);
    float p[4] = { 0.9f, 0.9f, 0.9f, 0.9f };
    assert_int_equal(ictal_postproc_process(pp, NULL, NULL, NULL, 3, NULL), ICTAL_EINVAL);
    assert_int_equal(ictal_postproc_process(pp, NULL, NULL, NULL, 0, NULL), 0);
    assert_int_equal(ictal_postproc_process(NULL, p, NULL, NULL, 1, NULL), ICTAL_EINVAL);
    /* A NULL sink discards records but the state moves on. */
    assert_int_equal(ictal_postproc_process(pp, p, NULL, NULL, 4, NULL), 0);
    assert_int_equal(ictal_postproc_alarm_active(pp), 1);
    struct ictal_event_sink nofn = { NULL, NULL, NULL };
    assert_int_equal(ictal_postproc_flush(pp, &nofn), 0);
    assert_int_equal(ictal_postproc_alarm_active(pp), 0);
    ictal_postproc_destroy(pp);
    ictal_postproc_destroy(NULL);
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */

static void one_event(enum ictal_confidence method, float q, const float *p, size_t n,
                      struct log *l)
{
    struct ictal_postproc_config cfg = morph_cfg(0, 0);
    cfg.confidence = method;
    cfg.percentile = q;
    run(&cfg, p, NULL, NULL, n, l);
    assert_int_equal(l->total, 2);
    assert_int_equal(l->ev[1].kind, ICTAL_EVENT_FINAL);
    assert_int_equal(l->ev[1].method, method);
    assert_f32(l->ev[1].percentile, method == ICTAL_CONFIDENCE_PERCENTILE ? q : 0.0f);
}

static void test_confidence_methods(void **state)
{
    (void)state;
    static struct log l;
    /* The event [1, 5) = {0.8, 0.6, 0.9, 0.7} (out of order on purpose). */
    const float p[] = { 0.1f, 0.8f, 0.6f, 0.9f, 0.7f, 0.1f, 0.1f };
    const size_t n = sizeof p / sizeof p[0];

    one_event(ICTAL_CONFIDENCE_MEAN, 0.0f, p, n, &l);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 5, 6, 0);
    float mean = (float)((((double)0.8f + (double)0.6f) + (double)0.9f + (double)0.7f) / 4.0);
    expect_stats(&l.ev[1], mean, 0.9f);
    assert_true(fabsf(mean - 0.75f) < 1e-6f);

    one_event(ICTAL_CONFIDENCE_PEAK, 0.0f, p, n, &l);
    expect_stats(&l.ev[1], 0.9f, 0.9f);

    /* Bins 614 (0.6), 716 (0.7), 819 (0.8), 921 (0.9); N = 4, rank
     * r = max(1, ceil(q / 100 * 4)). */
    static const struct { float q, want; } pct[] = {
        { 0.0f, 0.6f },   /* r = max(1, 0) = 1 */
        { 10.0f, 0.6f },  /* ceil(0.4) = 1 */
        { 25.0f, 0.6f },  /* 1 */
        { 26.0f, 0.7f },  /* ceil(1.04) = 2 */
        { 50.0f, 0.7f },  /* 2 */
        { 75.0f, 0.8f },  /* 3 */
        { 90.0f, 0.9f },  /* ceil(3.6) = 4 */
        { 100.0f, 0.9f }, /* 4 */
    };
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
        one_event(ICTAL_CONFIDENCE_PERCENTILE, pct[i].q, p, n, &l);
        expect_stats(&l.ev[1], pct[i].want, 0.9f);
    }

    /* 0.9 and 0.9003 share bin 921: the answer is the largest p of the bin
     * (nearest rank would say 0.9). N = 3, q = 50: r = 2. */
    const float same[] = { 0.1f, 0.9003f, 0.6f, 0.9f, 0.1f };
    assert_int_equal((int)(0.9f * 1024.0f), (int)(0.9003f * 1024.0f));
    one_event(ICTAL_CONFIDENCE_PERCENTILE, 50.0f, same, 5, &l);
    expect_stats(&l.ev[1], 0.9003f, 0.9003f);
    /* Probabilities above 1 go to the top bin (clamped for binning only). */
    const float big[] = { 0.1f, 1.5f, 0.6f, 0.1f };
    one_event(ICTAL_CONFIDENCE_PERCENTILE, 100.0f, big, 4, &l);
    expect_stats(&l.ev[1], 1.5f, 1.5f);
}

static void test_alarm_statistics_window(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = morph_cfg(0, 0);
    cfg.n_off = 3; /* D = 2 */
    cfg.confidence = ICTAL_CONFIDENCE_MEAN;
    const float p[] = { 0.1f, 0.6f, 0.8f, 0.7f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f };
    uint8_t f[9] = { ICTAL_FRAME_SCRUBBED, 0, 0, ICTAL_FRAME_XRUN, ICTAL_FRAME_BAD_CHANNEL, 0, 0, 0, 0 };
    static struct log l;
    run(&cfg, p, NULL, f, 9, &l);
    /* h: on at 1 (n_on 1), off at 6 with offset 4: run [1, 4). The alarm
     * covers [1, 1 + D + 1) = [1, 4): frame 3's XRUN, not 0's or 4's. */
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 4, 4, ICTAL_FRAME_XRUN);
    expect_stats(&l.ev[0], mean_of(p, 1, 4), 0.8f);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 4, 7, ICTAL_FRAME_XRUN);

    /* The window reaches past the end of the run: [1, 4) = {0.9, 0.1, 0.1}. */
    const float q[] = { 0.1f, 0.9f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f };
    f[3] = ICTAL_FRAME_NO_DECISION;
    run(&cfg, q, NULL, f, 7, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 4, 4, ICTAL_FRAME_NO_DECISION);
    expect_stats(&l.ev[0], mean_of(q, 1, 4), 0.9f);
    assert_true(fabsf(l.ev[0].confidence - 1.1f / 3.0f) < 1e-6f);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 2, 5, 0);
    expect_stats(&l.ev[1], 0.9f, 0.9f);
}

static void test_channels(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = morph_cfg(0, 0);
    cfg.n_channels = 3;
    static struct log l;
    float p[8];
    size_t n = bits("0 11 00", p);
    /* Frames 0 and 3 are outside the event [1, 3): their high scores do
     * not count. */
    const float s1[] = { 0.1f, 0.95f, 0.1f, /**/ 0.7f, 0.3f, 0.2f, /**/ 0.2f, 0.4f, 0.55f,
                         /**/ 0.1f, 0.99f, 0.1f, /**/ 0.0f, 0.0f, 0.0f };
    run(&cfg, p, s1, NULL, n, &l);
    assert_int_equal(l.total, 2);
    assert_int_equal(l.ev[1].n_channels, 3);
    assert_true(ictal_event_has_channel(&l.ev[1], 0));
    assert_false(ictal_event_has_channel(&l.ev[1], 1));
    assert_true(ictal_event_has_channel(&l.ev[1], 2));
    assert_int_equal(n_channels_named(&l.ev[1]), 2);
    /* The alarm (D = 0) saw frame 1 alone. */
    assert_int_equal(l.ev[0].n_channels, 3);
    assert_true(ictal_event_has_channel(&l.ev[0], 0));
    assert_int_equal(n_channels_named(&l.ev[0]), 1);
    /* Exactly θ_on is involved (>=). */
    const float s2[] = { 0, 0, 0, /**/ 0.5f, 0.1f, 0.49f, /**/ 0.2f, 0.2f, 0.2f, /**/ 0, 0, 0, /**/ 0, 0, 0 };
    run(&cfg, p, s2, NULL, n, &l);
    assert_true(ictal_event_has_channel(&l.ev[1], 0));
    assert_int_equal(n_channels_named(&l.ev[1]), 1);
    /* None reaches θ_on: the highest maximum, the lowest index on a tie. */
    const float s3[] = { 0.9f, 0.9f, 0.9f, /**/ 0.3f, 0.45f, 0.2f, /**/ 0.1f, 0.2f, 0.45f,
                         /**/ 0, 0, 0, /**/ 0, 0, 0 };
    run(&cfg, p, s3, NULL, n, &l);
    assert_true(ictal_event_has_channel(&l.ev[1], 1));
    assert_int_equal(n_channels_named(&l.ev[1]), 1);
    /* Non-finite scores count as 0: +inf is not "involved". */
    const float s4[] = { 0, 0, 0, /**/ INFINITY, 0.1f, 0.2f, /**/ NAN, 0.3f, 0.2f, /**/ 0, 0, 0, /**/ 0, 0, 0 };
    run(&cfg, p, s4, NULL, n, &l);
    assert_true(ictal_event_has_channel(&l.ev[1], 1));
    assert_int_equal(n_channels_named(&l.ev[1]), 1);
    /* No scores: no channel. */
    run(&cfg, p, NULL, NULL, n, &l);
    assert_int_equal(l.ev[1].n_channels, 3);
    assert_int_equal(n_channels_named(&l.ev[1]), 0);

    /* Beyond the first bitmap word. */
    cfg.n_channels = 70;
    static float s5[5 * 70];
    memset(s5, 0, sizeof s5);
    s5[1 * 70 + 65] = 0.8f;
    s5[2 * 70 + 3] = 0.6f;
    run(&cfg, p, s5, NULL, n, &l);
    assert_int_equal(l.ev[1].n_channels, 70);
    assert_true(ictal_event_has_channel(&l.ev[1], 65));
    assert_true(ictal_event_has_channel(&l.ev[1], 3));
    assert_int_equal(n_channels_named(&l.ev[1]), 2);
    assert_int_equal(l.ev[1].channels[1], (uint64_t)1 << 1);
}

static void test_flags_ored_and_merged_channels(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = morph_cfg(0, 0);
    cfg.min_frames = 2;
    cfg.merge_frames = 3;
    cfg.n_channels = 2;
    float p[16];
    /* [1, 3) and [5, 7) merge into [1, 7); gap frames 3-4 carry a flag and
     * channel 1's only high score, which the event must include. */
    size_t n = bits("0 11 00 11 0000", p);
    uint8_t f[16] = { ICTAL_FRAME_SCRUBBED, 0, ICTAL_FRAME_XRUN, ICTAL_FRAME_BAD_CHANNEL, 0, 0, 0,
                      ICTAL_FRAME_NO_DECISION, 0, 0, 0 };
    static float s[16 * 2];
    for (size_t k = 0; k < n; k++)
        s[2 * k] = 0.6f;
    s[2 * 4 + 1] = 0.7f;
    static struct log l;
    run(&cfg, p, s, f, n, &l);
    assert_int_equal(l.total, 2);
    expect(&l.ev[1], ICTAL_EVENT_FINAL, 1, 1, 1, 7, 10, ICTAL_FRAME_XRUN | ICTAL_FRAME_BAD_CHANNEL);
    expect_stats(&l.ev[1], mean_of(p, 1, 7), HI);
    assert_true(ictal_event_has_channel(&l.ev[1], 0));
    assert_true(ictal_event_has_channel(&l.ev[1], 1));
    /* The alarm saw frame 1 only (D = 0). */
    expect(&l.ev[0], ICTAL_EVENT_ALARM, 1, 0, 1, 2, 2, 0);
    assert_true(ictal_event_has_channel(&l.ev[0], 0));
    assert_false(ictal_event_has_channel(&l.ev[0], 1));
}

/* ------------------------------------------------------------------ */
/* State                                                               */

static struct ictal_postproc_config state_cfg(void)
{
    struct ictal_postproc_config cfg = base_cfg();
    cfg.n_on = 2;
    cfg.n_off = 3;
    cfg.opening = 3;
    cfg.closing = 4;
    cfg.min_frames = 5;
    cfg.merge_frames = 8;
    cfg.max_frames = 12;
    cfg.confidence = ICTAL_CONFIDENCE_PERCENTILE;
    cfg.percentile = 60.0f;
    cfg.n_channels = 2;
    return cfg;
}

static void state_input(float *p, float *s, uint8_t *f, size_t n)
{
    struct test_rng rng;
    test_rng_seed(&rng, 0xabcdef12);
    int on = 0;
    for (size_t k = 0; k < n; k++) {
        if (test_rng_unit(&rng) < 0.08)
            on = !on;
        p[k] = (float)(on ? 0.4 + 0.6 * test_rng_unit(&rng) : 0.6 * test_rng_unit(&rng));
        s[2 * k] = (float)test_rng_unit(&rng);
        s[2 * k + 1] = (float)test_rng_unit(&rng) * 0.6f;
        f[k] = test_rng_unit(&rng) < 0.03 ? ICTAL_FRAME_XRUN : 0;
    }
}

static void test_save_restore_mid_event(void **state)
{
    (void)state;
    enum { N = 800 };
    static float p[N], s[2 * N];
    static uint8_t f[N];
    state_input(p, s, f, N);
    struct ictal_postproc_config cfg = state_cfg();
    static struct log ref, head, tail;
    run_chunked(&cfg, p, s, f, N, 0, &ref);
    assert_true(ref.by_kind[ICTAL_EVENT_ALARM] >= 5);
    assert_true(ref.by_kind[ICTAL_EVENT_CANCEL] >= 1);
    int segmented = 0;
    for (size_t i = 0; i < ref.n; i++)
        segmented += (ref.ev[i].flags & ICTAL_EVENT_SEGMENTED) != 0;
    assert_true(segmented >= 2);

    struct ictal_postproc *a = make(&cfg), *b = make(&cfg);
    size_t size = ictal_postproc_state_size(a);
    assert_true(size > 0);
    unsigned char *img = malloc(size);
    assert_non_null(img);
    int cuts_in_event = 0;
    for (size_t cut = 0; cut <= N; cut += 13) {
        memset(&head, 0, sizeof head);
        memset(&tail, 0, sizeof tail);
        struct ictal_event_sink hs = sink_of(&head), ts = sink_of(&tail);
        ictal_postproc_reset(a);
        assert_int_equal(ictal_postproc_process(a, p, s, f, cut, &hs), 0);
        cuts_in_event += ictal_postproc_alarm_active(a);
        assert_int_equal(ictal_postproc_state_save(a, img, size), 0);
        /* b has a different history: the load replaces all of it. */
        ictal_postproc_reset(b);
        assert_int_equal(ictal_postproc_process(b, p + 100, s + 200, f + 100, 77, NULL), 0);
        assert_int_equal(ictal_postproc_state_load(b, img, size), 0);
        assert_int_equal(ictal_postproc_frames_pushed(b), cut);
        assert_int_equal(ictal_postproc_alarm_active(b), ictal_postproc_alarm_active(a));
        assert_int_equal(ictal_postproc_process(b, p + cut, s + 2 * cut, f + cut, N - cut, &ts), 0);
        assert_int_equal(ictal_postproc_flush(b, &ts), 0);
        /* head + tail == ref, record for record. */
        assert_int_equal(head.total + tail.total, ref.total);
        for (size_t i = 0; i < ref.n; i++) {
            const struct ictal_event *got = i < head.n ? &head.ev[i] : &tail.ev[i - head.n];
            if (memcmp(got, &ref.ev[i], sizeof *got) != 0)
                fail_msg("cut %zu: record %zu differs", cut, i);
            assert_true(i < head.n ? got->emit_frame <= (int64_t)cut : got->emit_frame >= (int64_t)cut);
        }
    }
    assert_true(cuts_in_event >= 10);

    /* Save needs room; load needs the exact size. */
    assert_int_equal(ictal_postproc_state_save(a, img, size - 1), ICTAL_ERANGE);
    assert_int_equal(ictal_postproc_state_save(a, NULL, size), ICTAL_EINVAL);
    assert_int_equal(ictal_postproc_state_load(b, img, size - 1), ICTAL_EINVAL);
    assert_int_equal(ictal_postproc_state_load(b, NULL, size), ICTAL_EINVAL);
    free(img);
    ictal_postproc_destroy(a);
    ictal_postproc_destroy(b);
}

static void test_load_from_other_config_refused(void **state)
{
    (void)state;
    enum { N = 400, CUT = 150 };
    static float p[N], s[2 * N];
    static uint8_t f[N];
    state_input(p, s, f, N);
    struct ictal_postproc_config cfg = state_cfg();
    struct ictal_postproc *a = make(&cfg);
    assert_int_equal(ictal_postproc_process(a, p, s, f, CUT, NULL), 0);
    size_t size = ictal_postproc_state_size(a);
    unsigned char *img = malloc(size);
    assert_non_null(img);
    assert_int_equal(ictal_postproc_state_save(a, img, size), 0);

    /* Same sizes, other thresholds: refused, and the object carries on as
     * if nothing had happened. */
    struct ictal_postproc_config other = cfg;
    other.threshold_on = 0.55f;
    struct ictal_postproc *x = make(&other), *y = make(&other);
    assert_int_equal(ictal_postproc_state_size(x), size);
    static struct log lx, ly;
    memset(&lx, 0, sizeof lx);
    memset(&ly, 0, sizeof ly);
    struct ictal_event_sink sx = sink_of(&lx), sy = sink_of(&ly);
    assert_int_equal(ictal_postproc_process(x, p, s, f, CUT / 2, &sx), 0);
    assert_int_equal(ictal_postproc_process(y, p, s, f, CUT / 2, &sy), 0);
    assert_int_equal(ictal_postproc_state_load(x, img, size), ICTAL_EINVAL);
    assert_int_equal(ictal_postproc_frames_pushed(x), CUT / 2);
    assert_int_equal(ictal_postproc_process(x, p + CUT / 2, s + CUT, f + CUT / 2, N - CUT / 2, &sx), 0);
    assert_int_equal(ictal_postproc_process(y, p + CUT / 2, s + CUT, f + CUT / 2, N - CUT / 2, &sy), 0);
    assert_int_equal(ictal_postproc_flush(x, &sx), 0);
    assert_int_equal(ictal_postproc_flush(y, &sy), 0);
    assert_true(lx.total > 0);
    assert_same_logs(&ly, &lx, "after a refused load");

    /* Other sizes; a damaged header. */
    struct ictal_postproc_config wide = cfg;
    wide.n_channels = 3;
    struct ictal_postproc *w = make(&wide);
    assert_int_equal(ictal_postproc_state_load(w, img, size), ICTAL_EINVAL);
    img[0] ^= 1;
    assert_int_equal(ictal_postproc_state_load(a, img, size), ICTAL_EINVAL);
    free(img);
    ictal_postproc_destroy(a);
    ictal_postproc_destroy(x);
    ictal_postproc_destroy(y);
    ictal_postproc_destroy(w);
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

static void test_create_rejects_each_field(void **state)
{
    (void)state;
    const int cap = ICTAL_POSTPROC_MAX_FRAMES_ARG;
    struct {
        const char *field;
        struct ictal_postproc_config cfg;
    } bad[40];
    size_t nb = 0;
#define BAD(name, stmt)                                      \
    do {                                                     \
        bad[nb].field = name;                                \
        bad[nb].cfg = base_cfg();                            \
        struct ictal_postproc_config *c = &bad[nb].cfg;      \
        stmt;                                                \
        nb++;                                                \
    } while (0)
    BAD("threshold_on", c->threshold_on = -0.1f);
    BAD("threshold_on", c->threshold_on = 1.1f);
    BAD("threshold_on", c->threshold_on = NAN);
    BAD("threshold_off", c->threshold_off = -0.1f);
    BAD("threshold_off", c->threshold_off = NAN);
    BAD("threshold_off 0.6 above threshold_on 0.5", c->threshold_off = 0.6f);
    BAD("n_on", c->n_on = 0);
    BAD("n_on", c->n_on = cap + 1);
    BAD("n_off", c->n_off = 0);
    BAD("n_off", c->n_off = -3);
    BAD("opening", c->opening = -1);
    BAD("opening", c->opening = cap + 1);
    BAD("closing", c->closing = -1);
    BAD("closing", c->closing = cap + 1);
    BAD("min_frames", c->min_frames = -1);
    BAD("merge_frames", c->merge_frames = -1);
    BAD("merge_frames", c->merge_frames = cap + 1);
    BAD("max_frames", c->max_frames = 0);
    BAD("max_frames", c->max_frames = cap + 1);
    BAD("max_frames 2 below min_frames 3", c->max_frames = 2);
    BAD("confidence", c->confidence = (enum ictal_confidence)0);
    BAD("confidence", c->confidence = (enum ictal_confidence)4);
    BAD("percentile", c->percentile = -1.0f);
    BAD("percentile", c->percentile = 100.5f);
    BAD("percentile", c->percentile = NAN);
    BAD("n_channels", c->n_channels = -1);
    BAD("n_channels", c->n_channels = ICTAL_EVENT_MAX_CHANNELS + 1);
#undef BAD
    for (size_t i = 0; i < nb; i++) {
        struct ictal_error err;
        ictal_error_clear(&err);
        struct ictal_postproc *pp = ictal_postproc_create(&bad[i].cfg, &err);
        if (pp)
            fail_msg("case %zu (%s) accepted", i, bad[i].field);
        assert_int_equal(err.code, ICTAL_EINVAL);
        if (!strstr(err.msg, bad[i].field))
            fail_msg("case %zu: \"%s\" does not name \"%s\"", i, err.msg, bad[i].field);
        assert_null(ictal_postproc_create(&bad[i].cfg, NULL));
    }
    struct ictal_error err;
    assert_null(ictal_postproc_create(NULL, &err));
    assert_int_equal(err.code, ICTAL_EINVAL);

    /* The edges are accepted. */
    struct ictal_postproc_config ok = base_cfg();
    ok.threshold_on = ok.threshold_off = 1.0f;
    ok.percentile = 100.0f;
    ok.n_channels = ICTAL_EVENT_MAX_CHANNELS;
    ok.min_frames = ok.max_frames = 1;
    struct ictal_postproc *pp = ictal_postproc_create(&ok, &err);
    assert_non_null(pp);
    assert_int_equal(err.code, 0);
    ictal_postproc_destroy(pp);
    ok = base_cfg();
    ok.threshold_on = ok.threshold_off = 0.0f;
    ok.percentile = 0.0f;
    ok.max_frames = cap;
    ok.min_frames = 0;
    ok.merge_frames = 0;
    pp = ictal_postproc_create(&ok, &err);
    assert_non_null(pp);
    ictal_postproc_destroy(pp);
}

static void test_delay_and_frames(void **state)
{
    (void)state;
    /* The model defaults at 8 Hz (section 1): D = 3 + 7 + 15 = 25. */
    struct ictal_postproc_config cfg = base_cfg();
    cfg.n_on = 2;
    cfg.n_off = 4;
    cfg.opening = ictal_postproc_frames(1.0, 8.0);
    cfg.closing = ictal_postproc_frames(2.0, 8.0);
    cfg.min_frames = ictal_postproc_frames(5.0, 8.0);
    assert_int_equal(cfg.opening, 8);
    assert_int_equal(cfg.closing, 16);
    assert_int_equal(cfg.min_frames, 40);
    cfg.max_frames = 4800;
    struct ictal_postproc *pp = make(&cfg);
    assert_int_equal(ictal_postproc_delay(pp), 25);
    ictal_postproc_destroy(pp);
    assert_int_equal(ictal_postproc_delay(NULL), 0);

    assert_int_equal(ictal_postproc_frames(0.0625, 8.0), 1);  /* 0.5: ties up */
    assert_int_equal(ictal_postproc_frames(0.1875, 8.0), 2);  /* 1.5 */
    assert_int_equal(ictal_postproc_frames(0.06, 8.0), 0);    /* 0.48 */
    assert_int_equal(ictal_postproc_frames(0.07, 8.0), 1);    /* 0.56 */
    assert_int_equal(ictal_postproc_frames(0.3, 10.0), 3);    /* 3.0000000000000004 */
    assert_int_equal(ictal_postproc_frames(0.49999999999999994, 1.0), 0);
    assert_int_equal(ictal_postproc_frames(0.0, 8.0), 0);
    assert_int_equal(ictal_postproc_frames(-1.0, 8.0), 0);
    assert_int_equal(ictal_postproc_frames(NAN, 8.0), 0);
    assert_int_equal(ictal_postproc_frames(1.0, NAN), 0);
    assert_int_equal(ictal_postproc_frames(1e12, 8.0), ICTAL_POSTPROC_MAX_FRAMES_ARG);
    assert_int_equal(ictal_postproc_frames(INFINITY, 8.0), ICTAL_POSTPROC_MAX_FRAMES_ARG);
    assert_int_equal(ictal_postproc_frames(86400.0, 8.0), 691200);
}

/* ------------------------------------------------------------------ */
/* Fixed memory                                                        */

struct counter {
    size_t by_kind[4];
    size_t segmented;
    int64_t last_emit;
    int ordered;
};

static void count_event(void *user, const struct ictal_event *ev)
{
    struct counter *c = user;
    if (ev->kind >= 1 && ev->kind <= 3)
        c->by_kind[ev->kind]++;
    c->segmented += (ev->flags & ICTAL_EVENT_SEGMENTED) != 0;
    if (ev->emit_frame < c->last_emit)
        c->ordered = 0;
    c->last_emit = ev->emit_frame;
}

static void test_memory_is_fixed(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_cfg();
    cfg.n_on = 2;
    cfg.n_off = 4;
    cfg.opening = 8;
    cfg.closing = 16;
    cfg.min_frames = 40;
    cfg.merge_frames = 80;
    cfg.max_frames = 1000;
    cfg.confidence = ICTAL_CONFIDENCE_PERCENTILE;
    cfg.percentile = 75.0f;
    cfg.n_channels = 4;
    struct ictal_postproc *pp = make(&cfg);
    size_t mem = ictal_postproc_memory(pp), st = ictal_postproc_state_size(pp);
    assert_true(mem >= st && st > 0);

    enum { BLOCK = 4096, TOTAL = 1000000 };
    static float p[BLOCK], s[BLOCK * 4];
    struct counter cnt = { .ordered = 1 };
    struct ictal_event_sink sk = { count_event, NULL, &cnt };
    struct test_rng rng;
    test_rng_seed(&rng, 77);
    for (size_t done = 0; done < TOTAL;) {
        size_t m = TOTAL - done < BLOCK ? TOTAL - done : BLOCK;
        for (size_t i = 0; i < m; i++) {
            size_t k = done + i;
            /* 5000-frame cycles: a 3700-frame seizure (4 segments), then
             * a gap with a short blip that is opened away. */
            size_t ph = k % 5000;
            int on = ph < 3700 || (ph >= 4200 && ph < 4204);
            p[i] = (float)(on ? 0.6 + 0.4 * test_rng_unit(&rng) : 0.3 * test_rng_unit(&rng));
            for (int c = 0; c < 4; c++)
                s[i * 4 + c] = (float)test_rng_unit(&rng);
        }
        assert_int_equal(ictal_postproc_process(pp, p, s, NULL, m, &sk), 0);
        done += m;
    }
    assert_int_equal(ictal_postproc_flush(pp, &sk), 0);
    assert_int_equal(ictal_postproc_memory(pp), mem);
    assert_int_equal(ictal_postproc_state_size(pp), st);
    assert_int_equal(cnt.by_kind[ICTAL_EVENT_ALARM], 200);
    assert_int_equal(cnt.by_kind[ICTAL_EVENT_CANCEL], 0);
    assert_int_equal(cnt.by_kind[ICTAL_EVENT_FINAL], 800);
    assert_int_equal(cnt.segmented, 800);
    assert_true(cnt.ordered);
    ictal_postproc_destroy(pp);
}

/* ------------------------------------------------------------------ */
/* event.c                                                             */

static void test_event_names(void **state)
{
    (void)state;
    assert_string_equal(ictal_event_kind_name(ICTAL_EVENT_ALARM), "alarm");
    assert_string_equal(ictal_event_kind_name(ICTAL_EVENT_CANCEL), "cancel");
    assert_string_equal(ictal_event_kind_name(ICTAL_EVENT_FINAL), "final");
    assert_string_equal(ictal_event_kind_name((enum ictal_event_kind)0), "unknown");
    assert_string_equal(ictal_confidence_name(ICTAL_CONFIDENCE_MEAN), "mean");
    assert_string_equal(ictal_confidence_name(ICTAL_CONFIDENCE_PEAK), "peak");
    assert_string_equal(ictal_confidence_name(ICTAL_CONFIDENCE_PERCENTILE), "percentile");
    assert_string_equal(ictal_confidence_name((enum ictal_confidence)9), "unknown");

    char buf[128];
    assert_string_equal(ictal_event_flags_string(0, buf, sizeof buf), "");
    assert_ptr_equal(ictal_event_flags_string(0, buf, sizeof buf), buf);
    assert_string_equal(ictal_event_flags_string(ICTAL_EVENT_SEGMENTED | ICTAL_FRAME_XRUN, buf,
                                                 sizeof buf),
                        "segmented|xrun");
    assert_string_equal(ictal_event_flags_string(0xffffffffu, buf, sizeof buf),
                        "segmented|flushed|xrun|bad_channel|no_decision|scrubbed");
    assert_string_equal(ictal_event_flags_string(ICTAL_FRAME_SCRUBBED | ICTAL_EVENT_FLUSHED, buf,
                                                 sizeof buf),
                        "flushed|scrubbed");
    /* Cut like snprintf, always terminated, never past cap. */
    memset(buf, 'x', sizeof buf);
    assert_string_equal(ictal_event_flags_string(ICTAL_EVENT_SEGMENTED | ICTAL_FRAME_XRUN, buf, 5),
                        "segm");
    assert_int_equal(buf[5], 'x');
    assert_string_equal(ictal_event_flags_string(ICTAL_EVENT_SEGMENTED | ICTAL_FRAME_XRUN, buf, 11),
                        "segmented|");
    assert_string_equal(ictal_event_flags_string(ICTAL_FRAME_XRUN, buf, 1), "");
    buf[0] = 'x';
    ictal_event_flags_string(ICTAL_FRAME_XRUN, buf, 0);
    assert_int_equal(buf[0], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_single_event),
        cmocka_unit_test(test_example_short_run_cancelled),
        cmocka_unit_test(test_example_merge_and_split),
        cmocka_unit_test(test_example_700s_split),
        cmocka_unit_test(test_hysteresis_onset_offset_first_frame),
        cmocka_unit_test(test_hysteresis_between_thresholds),
        cmocka_unit_test(test_hysteresis_end_of_array),
        cmocka_unit_test(test_nonfinite_probability_is_zero),
        cmocka_unit_test(test_opening),
        cmocka_unit_test(test_closing),
        cmocka_unit_test(test_opening_then_closing),
        cmocka_unit_test(test_chunk_invariance_random),
        cmocka_unit_test(test_dropped_merge_candidate_says_nothing),
        cmocka_unit_test(test_merge_over_dropped_run),
        cmocka_unit_test(test_several_segments_at_once),
        cmocka_unit_test(test_ids_and_no_merge),
        cmocka_unit_test(test_min_frames_zero_keeps_all),
        cmocka_unit_test(test_alarm_active),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_flush_twice_process_after_reset),
        cmocka_unit_test(test_process_arguments),
        cmocka_unit_test(test_confidence_methods),
        cmocka_unit_test(test_alarm_statistics_window),
        cmocka_unit_test(test_channels),
        cmocka_unit_test(test_flags_ored_and_merged_channels),
        cmocka_unit_test(test_save_restore_mid_event),
        cmocka_unit_test(test_load_from_other_config_refused),
        cmocka_unit_test(test_create_rejects_each_field),
        cmocka_unit_test(test_delay_and_frames),
        cmocka_unit_test(test_memory_is_fixed),
        cmocka_unit_test(test_event_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
