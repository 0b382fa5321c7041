/*
 * test_pipeline.c — the pipeline's contracts (ictal/pipeline.h,
 * docs/pipeline.md) on the default architecture with random weights
 * (tests/golden/default_1h.model.safetensors: 256 Hz, 8 Hz frames, channel
 * policy "any", 1..256 channels) and a synthetic 23-channel CHB-MIT-montage
 * recording with seizures and artifacts (ictal/synth.h):
 *
 *  (a) chunk invariance at the model rate: whole, 30 s, random and 1-sample
 *      chunks give identical records (every field), frames (probability bits,
 *      flags, alarm) and quality changes — with NaN/Inf, a flat stretch,
 *      mark_xrun and gap() in the input;
 *  (b) the same with rate conversion, 512 Hz and 250 Hz in;
 *  (c) snapshot/restore at random points continues identically (same and a
 *      fresh pipeline, with and without resampling); foreign snapshots refused;
 *  (d) the RT guard (tests/support/rt_guard.h) armed around process, gap,
 *      flush, reset and mark_xrun, at 256 Hz and at 512 Hz (libsamplerate);
 *  (e) guard semantics end to end: NaN/Inf scrubbed, counted, SCRUBBED frames,
 *      finite output; flat and implausible channels flagged, masked and
 *      reported at the right sample; min_good_channels → NO_DECISION, p = 0;
 *  (f) gap() advances the clocks and flags its frames XRUN; mark_xrun flags
 *      exactly one frame, and the event overlapping it carries the flag;
 *  (g) the declared latency adds up and bounds the alarm delay;
 *  (h) config_from / config_default / model_defaults layering.
 *
 * With random weights the probabilities are arbitrary, so the post-processing
 * thresholds come from the probability distribution of a first pass (θ_on at
 * its 85th percentile), and the tests assert that events do occur.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ictal/config.h"
#include "ictal/pipeline.h"
#include "ictal/synth.h"
#include "test_util.h"
/* This file holds the executable's interposers (malloc & co.). */
#define RT_GUARD_INTERPOSE
#include "rt_guard.h"

#define MAX_EVENTS 4096
#define PI 3.14159265358979323846
#define MAX_QUALITY 4096

/* ------------------------------------------------------------ fixtures */

static struct ictal_model *g_model;

static const char *golden_path(char *buf, size_t cap)
{
#ifdef ICTAL_GOLDEN_DIR
    snprintf(buf, cap, "%s/default_1h.model.safetensors", ICTAL_GOLDEN_DIR);
#else
    /* tests/test_pipeline.c -> tests/golden/ */
    const char *f = __FILE__, *slash = strrchr(f, '/');
    int dir = slash ? (int)(slash - f) : 1;
    snprintf(buf, cap, "%.*s/golden/default_1h.model.safetensors", dir, slash ? f : ".");
#endif
    return buf;
}

static int group_setup(void **state)
{
    (void)state;
    char path[1024];
    struct ictal_error err;
    g_model = ictal_model_load(golden_path(path, sizeof path), &err);
    if (!g_model) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ictal_model_destroy(g_model);
    return 0;
}

/* A synthetic recording: C planar channels of T samples at `rate`. */
struct rec {
    int C, rate;
    size_t T;
    float **x;
    float *mem;
};

static void rec_make(struct rec *r, int rate, double seconds, uint64_t seed)
{
    struct ictal_synth_config sc;
    ictal_synth_config_default(&sc);
    sc.seed = seed;
    sc.duration_s = seconds;
    sc.sample_rate = rate;
    sc.montage = ICTAL_SYNTH_MONTAGE_CHBMIT;
    sc.n_seizures = 2;
    sc.seizure_min_s = 20;
    sc.seizure_max_s = 40;
    sc.artifact_rate = 1.0;
    sc.artifacts = ICTAL_SYNTH_ART_ALL & ~(ICTAL_SYNTH_ARTBIT(ICTAL_SYNTH_ART_FLAT) | ICTAL_SYNTH_ARTBIT(ICTAL_SYNTH_ART_CLIP));
    sc.sleep = 0;
    struct ictal_error err;
    struct ictal_synth *s = ictal_synth_create(&sc, &err);
    if (!s)
        fail_msg("synth: %s", err.msg);
    r->C = ictal_synth_channels(s);
    r->rate = rate;
    r->T = (size_t)ictal_synth_total_samples(s);
    r->mem = malloc((size_t)r->C * r->T * sizeof(float));
    r->x = malloc((size_t)r->C * sizeof *r->x);
    assert_non_null(r->mem);
    assert_non_null(r->x);
    assert_int_equal(ictal_synth_generate(s, r->mem, r->T, r->T), r->T);
    for (int c = 0; c < r->C; c++)
        r->x[c] = r->mem + (size_t)c * r->T;
    ictal_synth_destroy(s);
}

static void rec_free(struct rec *r)
{
    free(r->mem);
    free(r->x);
}

/* Everything a run produces. Callbacks store into preallocated arrays: they
 * run inside process() (armed under the RT guard) and must not allocate. */
struct out {
    struct ictal_event *ev;
    size_t nev;
    struct ictal_quality_change *q;
    size_t nq;
    float *prob;
    uint8_t *flags, *alarm;
    size_t nf, fcap;
};

static void on_event(void *user, const struct ictal_event *ev)
{
    struct out *o = user;
    if (o->nev < MAX_EVENTS)
        o->ev[o->nev] = *ev;
    o->nev++;
}

static void on_quality(void *user, const struct ictal_quality_change *q)
{
    struct out *o = user;
    if (o->nq < MAX_QUALITY)
        o->q[o->nq] = *q;
    o->nq++;
}

static void out_init(struct out *o, size_t max_frames)
{
    memset(o, 0, sizeof *o);
    o->ev = calloc(MAX_EVENTS, sizeof *o->ev);
    o->q = calloc(MAX_QUALITY, sizeof *o->q);
    o->fcap = max_frames;
    o->prob = calloc(max_frames, sizeof *o->prob);
    o->flags = calloc(max_frames, 1);
    o->alarm = calloc(max_frames, 1);
    assert_true(o->ev && o->q && o->prob && o->flags && o->alarm);
}

static void out_free(struct out *o)
{
    free(o->ev);
    free(o->q);
    free(o->prob);
    free(o->flags);
    free(o->alarm);
}

/* Things that happen at an input position, before the sample there. */
enum { ACT_MARK_XRUN = 1, ACT_GAP };
struct act {
    size_t pos;
    int kind;
    size_t n;
};

static int g_armed_run; /* arm the RT guard around every pipeline call */

#define CALL(expr) \
    do { \
        if (g_armed_run) \
            rt_guard_arm(); \
        expr; \
        if (g_armed_run) \
            rt_guard_disarm(); \
    } while (0)

/* Feed [from, to) of r in chunks: mode 0 = as large as max_block allows,
 * > 0 = that many samples, -1 = random 1..rmax; chunks also end at every act. */
static void run(struct ictal_pipeline *p, const struct rec *r, size_t from, size_t to, int mode, size_t rmax,
                struct test_rng *rng, const struct act *acts, size_t nacts, struct out *o, int flush)
{
    const struct ictal_event_sink sink = {.event = on_event, .quality = on_quality, .user = o};
    const size_t max_block = ictal_pipeline_get_config(p)->max_block;
    const float *ptr[ICTAL_SYNTH_CHANNELS_MAX];
    size_t pos = from, ai = 0;
    while (ai < nacts && acts[ai].pos < from)
        ai++;
    /* an act at `to` belongs to the next run, unless the data end there */
    const size_t act_end = to == r->T ? to + 1 : to;
    while (pos < to || (ai < nacts && acts[ai].pos < act_end)) {
        while (ai < nacts && acts[ai].pos == pos && pos < act_end) {
            if (acts[ai].kind == ACT_MARK_XRUN) {
                CALL(ictal_pipeline_mark_xrun(p));
            } else {
                struct ictal_pipeline_frames fr = {o->prob + o->nf, o->flags + o->nf, o->alarm + o->nf,
                                                   o->fcap - o->nf, 0};
                int rc;
                CALL(rc = ictal_pipeline_gap(p, acts[ai].n, &sink, &fr));
                assert_int_equal(rc, 0);
                o->nf += fr.n;
            }
            ai++;
        }
        if (pos >= to)
            break;
        size_t n = mode == 0 ? max_block : mode > 0 ? (size_t)mode : (size_t)test_rng_range(rng, 1, (int64_t)rmax);
        if (n > to - pos)
            n = to - pos;
        if (n > max_block)
            n = max_block;
        if (ai < nacts && acts[ai].pos < pos + n)
            n = acts[ai].pos - pos;
        for (int c = 0; c < r->C; c++)
            ptr[c] = r->x[c] + pos;
        struct ictal_pipeline_frames fr = {o->prob + o->nf, o->flags + o->nf, o->alarm + o->nf, o->fcap - o->nf, 0};
        int rc;
        CALL(rc = ictal_pipeline_process(p, ptr, n, &sink, &fr));
        assert_int_equal(rc, 0);
        o->nf += fr.n;
        pos += n;
    }
    if (flush) {
        int rc;
        CALL(rc = ictal_pipeline_flush(p, &sink));
        assert_int_equal(rc, 0);
    }
    assert_true(o->nev <= MAX_EVENTS && o->nq <= MAX_QUALITY);
}

static int same_float(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }
static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void assert_same_event(const struct ictal_event *a, const struct ictal_event *b, size_t i)
{
    int ok = a->kind == b->kind && a->flags == b->flags && a->id == b->id && a->segment == b->segment &&
             a->n_channels == b->n_channels && a->start_frame == b->start_frame && a->end_frame == b->end_frame &&
             a->emit_frame == b->emit_frame && same_float(a->confidence, b->confidence) &&
             same_float(a->peak, b->peak) && a->method == b->method && same_float(a->percentile, b->percentile) &&
             memcmp(a->channels, b->channels, sizeof a->channels) == 0 && a->start_sample == b->start_sample &&
             a->end_sample == b->end_sample && a->emit_sample == b->emit_sample && same_double(a->start_s, b->start_s) &&
             same_double(a->end_s, b->end_s) && same_double(a->emit_s, b->emit_s);
    if (!ok)
        fail_msg("record %zu differs: kind %d/%d id %llu/%llu frames [%lld,%lld) emit %lld vs [%lld,%lld) emit %lld, "
                 "flags %x/%x conf %.9g/%.9g",
                 i, (int)a->kind, (int)b->kind, (unsigned long long)a->id, (unsigned long long)b->id,
                 (long long)a->start_frame, (long long)a->end_frame, (long long)a->emit_frame,
                 (long long)b->start_frame, (long long)b->end_frame, (long long)b->emit_frame, (unsigned)a->flags,
                 (unsigned)b->flags, (double)a->confidence, (double)b->confidence);
}

/* b from index (eb, qb, fb) on equals a from (ea, qa, fa) on. */
static void assert_same_out_from(const struct out *a, size_t ea, size_t qa, size_t fa, const struct out *b, size_t eb,
                                 size_t qb, size_t fb)
{
    assert_int_equal(a->nev - ea, b->nev - eb);
    for (size_t i = 0; i < a->nev - ea; i++)
        assert_same_event(&a->ev[ea + i], &b->ev[eb + i], i);
    assert_int_equal(a->nq - qa, b->nq - qb);
    for (size_t i = 0; i < a->nq - qa; i++) {
        const struct ictal_quality_change *x = &a->q[qa + i], *y = &b->q[qb + i];
        assert_int_equal(x->channel, y->channel);
        assert_int_equal(x->flags, y->flags);
        assert_int_equal(x->previous, y->previous);
        assert_int_equal(x->input_sample, y->input_sample);
        assert_true(same_double(x->t_s, y->t_s));
        assert_int_equal(x->good_channels, y->good_channels);
    }
    assert_int_equal(a->nf - fa, b->nf - fb);
    for (size_t f = 0; f < a->nf - fa; f++) {
        if (!same_float(a->prob[fa + f], b->prob[fb + f]) || a->flags[fa + f] != b->flags[fb + f] ||
            a->alarm[fa + f] != b->alarm[fb + f])
            fail_msg("frame %zu differs: p %.9g/%.9g flags %x/%x alarm %d/%d", f, (double)a->prob[fa + f],
                     (double)b->prob[fb + f], a->flags[fa + f], b->flags[fb + f], a->alarm[fa + f], b->alarm[fb + f]);
    }
}

static void assert_same_out(const struct out *a, const struct out *b)
{
    assert_same_out_from(a, 0, 0, 0, b, 0, 0, 0);
}

static size_t count_kind(const struct out *o, enum ictal_event_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < o->nev; i++)
        n += o->ev[i].kind == k;
    return n;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The configuration of these tests: model defaults, then post-processing
 * tuned to the random-weight model's probabilities on this recording (first
 * pass): θ_on at the 85th percentile, θ_off at the 60th, short durations so
 * that a 5-minute recording has several events. */
static struct ictal_pipeline_config g_pc256;
static int g_calibrated;

static void base_config(struct ictal_pipeline_config *pc, int C, double rate, size_t max_block)
{
    struct ictal_error err;
    assert_int_equal(ictal_pipeline_config_default(pc, g_model, C, rate, max_block, &err), 0);
    if (g_calibrated) {
        struct ictal_pipeline_config t = g_pc256;
        pc->postproc = t.postproc;
        pc->postproc.n_channels = C;
    }
}

static void calibrate(const struct rec *r)
{
    if (g_calibrated)
        return;
    struct ictal_pipeline_config pc;
    base_config(&pc, r->C, r->rate, r->T);
    struct ictal_error err;
    struct ictal_pipeline *p = ictal_pipeline_create(g_model, &pc, &err);
    assert_non_null(p);
    struct out o;
    out_init(&o, ictal_pipeline_max_frames(p, r->T) + 16);
    run(p, r, 0, r->T, 0, 0, NULL, NULL, 0, &o, 1);
    float *s = malloc(o.nf * sizeof *s);
    memcpy(s, o.prob, o.nf * sizeof *s);
    qsort(s, o.nf, sizeof *s, cmp_float);
    float p50 = s[o.nf / 2], p60 = s[o.nf * 60 / 100], p85 = s[o.nf * 85 / 100], p99 = s[o.nf * 99 / 100];
    print_message("first pass: %zu frames, p min %.4f p50 %.4f p60 %.4f p85 %.4f p99 %.4f max %.4f\n", o.nf,
                  (double)s[0], (double)p50, (double)p60, (double)p85, (double)p99, (double)s[o.nf - 1]);
    g_pc256 = pc;
    struct ictal_postproc_config *q = &g_pc256.postproc;
    q->threshold_on = p85;
    q->threshold_off = p60;
    q->n_on = 2;
    q->n_off = 3;
    q->opening = ictal_postproc_frames(0.5, 8.0);
    q->closing = ictal_postproc_frames(1.0, 8.0);
    q->min_frames = ictal_postproc_frames(2.0, 8.0);
    q->merge_frames = ictal_postproc_frames(3.0, 8.0);
    q->max_frames = ictal_postproc_frames(20.0, 8.0);
    q->confidence = ICTAL_CONFIDENCE_PERCENTILE;
    q->percentile = 75.0f;
    g_calibrated = 1;
    free(s);
    out_free(&o);
    ictal_pipeline_destroy(p);
}

static void damage(struct rec *r);

/* The calibration recording: 5 minutes at 256 Hz, seed 11, damaged. */
static void ensure_calibrated(void)
{
    if (g_calibrated)
        return;
    struct rec r;
    rec_make(&r, 256, 300, 11);
    damage(&r);
    calibrate(&r);
    rec_free(&r);
}

/* NaN/Inf on a few channels, a flat stretch on one: exercises SCRUBBED,
 * quality flags, masks and callbacks in the chunk-invariance runs. */
static void damage(struct rec *r)
{
    const size_t R = (size_t)r->rate;
    r->x[3][50 * R + 77] = NAN;
    r->x[3][50 * R + 78] = NAN;
    r->x[5][50 * R + 300] = INFINITY;
    r->x[11][120 * R + 5] = -INFINITY;
    for (size_t t = 150 * R; t < 170 * R; t++)
        r->x[7][t] = 500.0f;
}

/* ------------------------------------------------------------ (a), (b) */

static void chunk_invariance(int rate, double seconds, double one_sample_seconds, uint64_t seed)
{
    struct rec r;
    rec_make(&r, rate, seconds, seed);
    damage(&r);
    ensure_calibrated();
    struct ictal_pipeline_config pc;
    base_config(&pc, r.C, rate, r.T);
    struct ictal_error err;
    struct ictal_pipeline *p = ictal_pipeline_create(g_model, &pc, &err);
    if (!p)
        fail_msg("%s", err.msg);
    const size_t R = (size_t)rate, fcap = ictal_pipeline_max_frames(p, r.T) + 64;
    const struct act acts[] = {
        {60 * R + 13, ACT_MARK_XRUN, 0},
        {100 * R + 1, ACT_GAP, R / 2 + 3},
        {200 * R + 99, ACT_MARK_XRUN, 0},
        {201 * R, ACT_GAP, 7},
    };
    const size_t nacts = sizeof acts / sizeof acts[0];
    struct test_rng rng;
    test_rng_seed(&rng, 0x5eed0000u + (uint64_t)rate);

    struct out whole, thirty, rnd, rnd_small;
    out_init(&whole, fcap);
    out_init(&thirty, fcap);
    out_init(&rnd, fcap);
    out_init(&rnd_small, fcap);
    clock_t t0 = clock();
    run(p, &r, 0, r.T, 0, 0, &rng, acts, nacts, &whole, 1);
    double t_whole = (double)(clock() - t0) / CLOCKS_PER_SEC;
    struct ictal_pipeline_stats st;
    ictal_pipeline_stats(p, &st);
    print_message("%d Hz: %zu frames, %zu records (%zu alarms, %zu cancels, %zu finals), %zu quality changes, "
                  "%llu non-finite, whole run %.2f s\n",
                  rate, whole.nf, whole.nev, count_kind(&whole, ICTAL_EVENT_ALARM),
                  count_kind(&whole, ICTAL_EVENT_CANCEL), count_kind(&whole, ICTAL_EVENT_FINAL), whole.nq,
                  (unsigned long long)st.nonfinite, t_whole);
    /* The test can fail: events happen, quality changes happen. */
    assert_true(count_kind(&whole, ICTAL_EVENT_FINAL) >= 1);
    assert_true(count_kind(&whole, ICTAL_EVENT_ALARM) >= 1);
    assert_true(whole.nq >= 4);
    assert_int_equal(st.nonfinite, 4);
    assert_int_equal(st.input_samples, r.T + R / 2 + 3 + 7);
    assert_int_equal(st.frames, whole.nf);

    ictal_pipeline_reset(p);
    run(p, &r, 0, r.T, (int)(30 * R), 0, &rng, acts, nacts, &thirty, 1);
    assert_same_out(&whole, &thirty);
    ictal_pipeline_reset(p);
    run(p, &r, 0, r.T, -1, 3 * R, &rng, acts, nacts, &rnd, 1);
    assert_same_out(&whole, &rnd);
    ictal_pipeline_reset(p);
    run(p, &r, 0, r.T, -1, 40, &rng, acts, nacts, &rnd_small, 1);
    assert_same_out(&whole, &rnd_small);

    /* 1-sample chunks over a shorter stretch that holds the NaNs (at 50 s),
     * against the whole of the same stretch. */
    const size_t a = 45 * R, b = a + (size_t)(one_sample_seconds * (double)R);
    struct rec sub = r;
    float *ptrs[ICTAL_SYNTH_CHANNELS_MAX];
    for (int c = 0; c < r.C; c++)
        ptrs[c] = r.x[c] + a;
    sub.x = ptrs;
    sub.T = b - a;
    const struct act sub_acts[] = {{5 * R + 1, ACT_MARK_XRUN, 0}, {8 * R + 17, ACT_GAP, 33}};
    struct out w2, one;
    out_init(&w2, fcap);
    out_init(&one, fcap);
    ictal_pipeline_reset(p);
    run(p, &sub, 0, sub.T, 0, 0, &rng, sub_acts, 2, &w2, 1);
    ictal_pipeline_reset(p);
    t0 = clock();
    run(p, &sub, 0, sub.T, 1, 0, &rng, sub_acts, 2, &one, 1);
    print_message("%d Hz: 1-sample chunks over %.0f s: %zu frames, %zu records, %.2f s\n", rate, one_sample_seconds,
                  one.nf, one.nev, (double)(clock() - t0) / CLOCKS_PER_SEC);
    assert_true(w2.nf > 0);
    assert_same_out(&w2, &one);
    int scrubbed = 0;
    for (size_t f = 0; f < one.nf; f++)
        scrubbed |= one.flags[f] & ICTAL_FRAME_SCRUBBED;
    assert_true(scrubbed);

    out_free(&whole);
    out_free(&thirty);
    out_free(&rnd);
    out_free(&rnd_small);
    out_free(&w2);
    out_free(&one);
    ictal_pipeline_destroy(p);
    rec_free(&r);
}

static void test_chunk_invariance(void **state)
{
    (void)state;
    chunk_invariance(256, 300, 20, 11);
}

static void test_chunk_invariance_512(void **state)
{
    (void)state;
    chunk_invariance(512, 300, 20, 12);
}

static void test_chunk_invariance_250(void **state)
{
    (void)state;
    chunk_invariance(250, 300, 20, 13);
}

/* ------------------------------------------------------------ (c) */

static void snapshot_case(int rate, uint64_t seed)
{
    struct rec r;
    ensure_calibrated();
    rec_make(&r, rate, 180, seed);
    damage(&r);
    struct ictal_pipeline_config pc;
    const size_t R = (size_t)rate;
    base_config(&pc, r.C, rate, 2 * R);
    struct ictal_error err;
    /* q differs only in max_block: state carries over (a JACK buffer-size change) */
    struct ictal_pipeline_config pcq = pc;
    pcq.max_block = R / 2 + 5;
    struct ictal_pipeline *p = ictal_pipeline_create(g_model, &pc, &err), *q = ictal_pipeline_create(g_model, &pcq, &err);
    assert_non_null(p);
    assert_non_null(q);
    const size_t fcap = ictal_pipeline_max_frames(p, r.T) + ictal_pipeline_max_frames(p, 2 * R) * 4 + 64;
    const struct act acts[] = {{100 * R + 1, ACT_GAP, R / 2 + 3}, {130 * R + 5, ACT_MARK_XRUN, 0}};
    struct test_rng rng;
    test_rng_seed(&rng, 0xc0ffee00u + (uint64_t)rate);
    struct out ref;
    out_init(&ref, fcap);
    run(p, &r, 0, r.T, 0, 0, &rng, acts, 2, &ref, 1);
    assert_true(ref.nev > 0);
    struct ictal_pipeline_snapshot *snap = ictal_pipeline_snapshot_create(p, &err);
    assert_non_null(snap);
    for (int it = 0; it < 4; it++) {
        const size_t cut = (size_t)test_rng_range(&rng, 1, (int64_t)r.T - 1);
        struct out a;
        out_init(&a, fcap);
        ictal_pipeline_reset(p);
        run(p, &r, 0, cut, -1, 2 * R, &rng, acts, 2, &a, 0);
        const size_t ea = a.nev, qa = a.nq, fa = a.nf;
        assert_int_equal(ictal_pipeline_snapshot_save(p, snap, &err), 0);
        /* wander off: more input, a flush */
        run(p, &r, cut, r.T, -1, 2 * R, &rng, NULL, 0, &a, 1);
        /* back, and on to the end: the same as the reference from cut on */
        assert_int_equal(ictal_pipeline_snapshot_restore(p, snap, &err), 0);
        a.nev = ea;
        a.nq = qa;
        a.nf = fa;
        run(p, &r, cut, r.T, -1, 2 * R, &rng, acts, 2, &a, 1);
        assert_same_out(&ref, &a);
        /* ... and in a fresh pipeline of the same configuration */
        struct out b;
        out_init(&b, fcap);
        ictal_pipeline_reset(q);
        run(q, &r, 0, 1000, 0, 0, &rng, NULL, 0, &b, 0); /* some other state first */
        assert_int_equal(ictal_pipeline_snapshot_restore(q, snap, &err), 0);
        b.nev = b.nq = b.nf = 0;
        run(q, &r, cut, r.T, -1, R / 2 + 5, &rng, acts, 2, &b, 1);
        assert_same_out_from(&ref, ea, qa, fa, &b, 0, 0, 0);
        struct ictal_pipeline_stats s1, s2;
        ictal_pipeline_stats(p, &s1);
        ictal_pipeline_stats(q, &s2);
        assert_memory_equal(&s1, &s2, sizeof s1);
        out_free(&a);
        out_free(&b);
    }
    /* A snapshot of another configuration is refused, the pipeline unchanged. */
    struct ictal_pipeline_config pc2 = pc;
    pc2.postproc.n_on += 1;
    struct ictal_pipeline *o = ictal_pipeline_create(g_model, &pc2, &err);
    assert_non_null(o);
    struct ictal_pipeline_snapshot *so = ictal_pipeline_snapshot_create(o, &err);
    assert_non_null(so);
    struct ictal_pipeline_stats before, after;
    ictal_pipeline_stats(p, &before);
    assert_int_equal(ictal_pipeline_snapshot_restore(p, so, &err), ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "configuration"));
    assert_int_equal(ictal_pipeline_snapshot_save(p, so, &err), ICTAL_EINVAL);
    ictal_pipeline_stats(p, &after);
    assert_memory_equal(&before, &after, sizeof before);
    ictal_pipeline_snapshot_destroy(so);
    ictal_pipeline_destroy(o);

    ictal_pipeline_snapshot_destroy(snap);
    ictal_pipeline_snapshot_destroy(NULL);
    out_free(&ref);
    ictal_pipeline_destroy(p);
    ictal_pipeline_destroy(q);
    rec_free(&r);
}

static void test_snapshot(void **state)
{
    (void)state;
    snapshot_case(256, 21);
}

static void test_snapshot_512(void **state)
{
    (void)state;
    snapshot_case(512, 22);
}

/* ------------------------------------------------------------ (d) */

static void rt_case(int rate)
{
    ensure_calibrated();
    struct rec r;
    rec_make(&r, rate, 120, 31);
    damage(&r);
    struct ictal_pipeline_config pc;
    const size_t R = (size_t)rate;
    base_config(&pc, r.C, rate, R / 4);
    struct ictal_error err;
    struct ictal_pipeline *p = ictal_pipeline_create(g_model, &pc, &err);
    assert_non_null(p);
    const struct act acts[] = {{30 * R + 1, ACT_GAP, R / 8}, {60 * R + 5, ACT_MARK_XRUN, 0}};
    struct test_rng rng;
    test_rng_seed(&rng, 77);
    struct out o;
    out_init(&o, ictal_pipeline_max_frames(p, r.T) + 256);
    struct rt_guard_tally before;
    rt_guard_save(&before);
    g_armed_run = 1;
    run(p, &r, 0, r.T, -1, R / 4, &rng, acts, 2, &o, 1);
    CALL(ictal_pipeline_reset(p));
    o.nev = o.nq = o.nf = 0;
    run(p, &r, 0, r.T / 2, (int)(R / 4), 0, &rng, acts, 2, &o, 1);
    g_armed_run = 0;
    char rep[512];
    print_message("%d Hz: %zu records under the armed RT guard; violations: %s\n", rate, o.nev,
                  rt_guard_report(rep, sizeof rep));
    assert_true(o.nev > 0);
    assert_int_equal(rt_guard_violations(), before.total);
    out_free(&o);
    ictal_pipeline_destroy(p);
    rec_free(&r);
}

static void test_rt_guard(void **state)
{
    (void)state;
    const char *why = rt_guard_unavailable();
    if (why) {
        print_message("RT guard skipped: %s\n", why);
        skip();
    }
    /* The guard sees what it should: allocation, lock, sleep, I/O. */
    struct rt_guard_tally t;
    rt_guard_save(&t);
    rt_guard_arm();
    void *volatile m = malloc(8);
    struct timespec ts = {0, 1};
    (void)nanosleep(&ts, NULL);
    (void)write(-1, "", 0);
    rt_guard_disarm();
    free(m);
    assert_int_equal(rt_guard_violations(), t.total + 3);
    assert_int_equal(rt_guard_count(RT_GUARD_NANOSLEEP), t.by_sym[RT_GUARD_NANOSLEEP] + 1);
    assert_string_equal(rt_guard_last(), "write");
    rt_guard_restore(&t);
    /* Arming is per thread: another thread's malloc is not counted (it is
     * not ours). Only this thread ran armed above. */
    ensure_calibrated();
    rt_case(256);
    rt_case(512);
}

/* ------------------------------------------------------------ (e) */

/* Quiet pseudo-EEG: a few sines plus noise, ±~60 µV. */
static void mini_make(struct rec *r, int C, int rate, double seconds, uint64_t seed)
{
    struct test_rng g;
    test_rng_seed(&g, seed);
    r->C = C;
    r->rate = rate;
    r->T = (size_t)(seconds * rate);
    r->mem = malloc((size_t)C * r->T * sizeof(float));
    r->x = malloc((size_t)C * sizeof *r->x);
    for (int c = 0; c < C; c++) {
        r->x[c] = r->mem + (size_t)c * r->T;
        double ph = test_rng_unit(&g) * 6.28;
        for (size_t t = 0; t < r->T; t++) {
            double s = (double)t / rate;
            r->x[c][t] = (float)(30 * sin(2 * PI * 10 * s + ph) + 20 * sin(2 * PI * 3.1 * s + c) +
                                 10 * (test_rng_unit(&g) - 0.5));
        }
    }
}

static void test_guard_quality(void **state)
{
    (void)state;
    struct rec r;
    const int R = 256;
    mini_make(&r, 23, R, 60, 41);
    r.x[3][50 * R + 77] = NAN;
    r.x[3][50 * R + 78] = NAN;
    r.x[5][50 * R + 200] = INFINITY;
    for (size_t t = 10 * R; t < 30 * R; t++)
        r.x[7][t] = 500.0f; /* flat from 10 s to 30 s */
    r.x[9][40 * R + 100] = 5000.0f; /* beyond implausible_uv (3000) */
    struct ictal_pipeline_config pc;
    base_config(&pc, r.C, R, 100);
    assert_true(pc.mask_bad_channels);
    assert_true(pc.guard.flat_uv == 1.0 && pc.guard.flat_duration == 5.0 && pc.guard.implausible_uv == 3000.0);
    struct ictal_error err;
    struct ictal_pipeline *p = ictal_pipeline_create(g_model, &pc, &err);
    assert_non_null(p);
    struct out o;
    out_init(&o, ictal_pipeline_max_frames(p, r.T) + 64);
    struct test_rng rng;
    test_rng_seed(&rng, 5);
    run(p, &r, 0, r.T, -1, 100, &rng, NULL, 0, &o, 1);

    struct ictal_pipeline_stats st;
    ictal_pipeline_stats(p, &st);
    assert_int_equal(st.nonfinite, 3);
    assert_int_equal(ictal_pipeline_channel_counts(p, 3).nonfinite, 2);
    assert_int_equal(ictal_pipeline_channel_counts(p, 5).nonfinite, 1);
    assert_int_equal(ictal_pipeline_channel_counts(p, 9).implausible, 1);
    for (size_t f = 0; f < o.nf; f++)
        assert_true(isfinite(o.prob[f]) && o.prob[f] >= 0.0f && o.prob[f] <= 1.0f);
    /* hop 32: frame k comes out on input sample 32k */
    assert_int_equal(o.nf, (r.T + 31) / 32);
    for (size_t k = 0; k < o.nf; k++) {
        const size_t s = 32 * k;
        /* the block [50 s, 51 s) from its first non-finite sample on */
        int scrubbed = s >= 50 * R + 77 && s < 51 * R;
        /* masked: flat 15 s (5 s after 10 s) .. 31 s; NONFINITE channels 3, 5
         * for the block after [50 s, 51 s); implausible for the block after [40 s, 41 s) */
        int bad = (s >= 15 * R && s < 31 * R) || (s >= 51 * R && s < 52 * R) || (s >= 41 * R && s < 42 * R);
        if (!!(o.flags[k] & ICTAL_FRAME_SCRUBBED) != scrubbed || !!(o.flags[k] & ICTAL_FRAME_BAD_CHANNEL) != bad)
            fail_msg("frame %zu (sample %zu): flags %x, expected scrubbed %d bad %d", k, s, o.flags[k], scrubbed, bad);
        assert_false(o.flags[k] & (ICTAL_FRAME_NO_DECISION | ICTAL_FRAME_XRUN));
    }
    /* quality callbacks, in order, at block ends */
    struct {
        int c;
        unsigned flags, prev;
        size_t at;
        int good;
    } want[] = {
        {7, ICTAL_QUALITY_FLAT, 0, 15 * R, 22},
        {7, 0, ICTAL_QUALITY_FLAT, 31 * R, 23},
        {9, ICTAL_QUALITY_IMPLAUSIBLE, 0, 41 * R, 22},
        {9, 0, ICTAL_QUALITY_IMPLAUSIBLE, 42 * R, 23},
        {3, ICTAL_QUALITY_NONFINITE, 0, 51 * R, 21},
        {5, ICTAL_QUALITY_NONFINITE, 0, 51 * R, 21},
        {3, 0, ICTAL_QUALITY_NONFINITE, 52 * R, 23},
        {5, 0, ICTAL_QUALITY_NONFINITE, 52 * R, 23},
    };
    assert_int_equal(o.nq, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < o.nq; i++) {
        assert_int_equal(o.q[i].channel, want[i].c);
        assert_int_equal(o.q[i].flags, want[i].flags);
        assert_int_equal(o.q[i].previous, want[i].prev);
        assert_int_equal(o.q[i].input_sample, want[i].at);
        assert_true(o.q[i].t_s == (double)want[i].at / R);
        assert_int_equal(o.q[i].good_channels, want[i].good);
    }
    assert_int_equal(ictal_pipeline_channel_quality(p, 7), 0);
    out_free(&o);
    ictal_pipeline_destroy(p);

    /* min_good_channels: 4 channels, all 4 needed; the flat stretch leaves 3
     * → NO_DECISION with probability 0 from 15 s to 31 s. */
    struct rec r4 = r;
    r4.C = 4;
    float *xs[4] = {r.x[6], r.x[7], r.x[8], r.x[10]};
    r4.x = xs;
    base_config(&pc, 4, R, 100);
    pc.min_good_channels = 4;
    p = ictal_pipeline_create(g_model, &pc, &err);
    assert_non_null(p);
    out_init(&o, ictal_pipeline_max_frames(p, r4.T) + 64);
    run(p, &r4, 0, r4.T, 0, 0, &rng, NULL, 0, &o, 1);
    size_t nd = 0;
    for (size_t k = 0; k < o.nf; k++) {
        const size_t s = 32 * k;
        int want_nd = s >= 15 * R && s < 31 * R;
        assert_int_equal(!!(o.flags[k] & ICTAL_FRAME_NO_DECISION), want_nd);
        if (want_nd) {
            assert_true(o.prob[k] == 0.0f);
            nd++;
        } else {
            assert_true(o.prob[k] > 0.0f);
        }
    }
    ictal_pipeline_stats(p, &st);
    assert_int_equal(st.no_decision_frames, nd);
    assert_int_equal(nd, 16 * 8);
    assert_int_equal(st.good_channels, 4);
    out_free(&o);
    ictal_pipeline_destroy(p);
    /* more good channels required than there are: refused */
    pc.min_good_channels = 5;
    assert_null(ictal_pipeline_create(g_model, &pc, &err));
    assert_non_null(strstr(err.msg, "min_good_channels"));
    rec_free(&r);
}

/* ------------------------------------------------------------ (f) */

static void test_gap_and_xrun(void **state)
{
    (void)state;
    struct rec r;
    const size_t R = 256;
    ensure_calibrated();
    rec_make(&r, (int)R, 300, 11);
    struct ictal_pipeline_config pc;
    base_config(&pc, r.C, (double)R, R);
    struct ictal_error err;
    struct ictal_pipeline *p = ictal_pipeline_create(g_model, &pc, &err);
    assert_non_null(p);
    struct out o;
    out_init(&o, ictal_pipeline_max_frames(p, r.T) + 4096);
    struct test_rng rng;
    test_rng_seed(&rng, 9);

    /* gap(100) after 10 s: clocks advance by 100, its 4 frames are XRUN */
    const struct act gap[] = {{10 * R, ACT_GAP, 100}};
    run(p, &r, 0, 20 * R, 0, 0, &rng, gap, 1, &o, 0);
    struct ictal_pipeline_stats st;
    ictal_pipeline_stats(p, &st);
    assert_int_equal(st.input_samples, 20 * R + 100);
    assert_int_equal(st.gap_samples, 100);
    assert_int_equal(st.model_samples, 20 * R + 100);
    assert_int_equal(st.frames, (20 * R + 100 + 31) / 32);
    for (size_t k = 0; k < o.nf; k++) {
        int want = 32 * k >= 10 * R && 32 * k < 10 * R + 100;
        assert_int_equal(!!(o.flags[k] & ICTAL_FRAME_XRUN), want);
    }
    out_free(&o);

    /* mark_xrun inside an event: exactly one frame flagged, and the records
     * of that event (and only those) carry the flag */
    struct out ref, mk;
    out_init(&ref, ictal_pipeline_max_frames(p, r.T) + 64);
    out_init(&mk, ictal_pipeline_max_frames(p, r.T) + 64);
    ictal_pipeline_reset(p);
    run(p, &r, 0, r.T, 0, 0, &rng, NULL, 0, &ref, 1);
    const struct ictal_event *fin = NULL;
    for (size_t i = 0; i < ref.nev && !fin; i++)
        if (ref.ev[i].kind == ICTAL_EVENT_FINAL && ref.ev[i].end_frame - ref.ev[i].start_frame >= 4)
            fin = &ref.ev[i];
    assert_non_null(fin);
    const int64_t k = (fin->start_frame + fin->end_frame) / 2;
    /* frame k comes out on sample 32k: mark just before it */
    const struct act mark[] = {{(size_t)(32 * k), ACT_MARK_XRUN, 0}};
    ictal_pipeline_reset(p);
    run(p, &r, 0, r.T, -1, 500, &rng, mark, 1, &mk, 1);
    size_t nx = 0;
    for (size_t f = 0; f < mk.nf; f++)
        if (mk.flags[f] & ICTAL_FRAME_XRUN) {
            assert_int_equal(f, (size_t)k);
            nx++;
        }
    assert_int_equal(nx, 1);
    assert_int_equal(mk.nev, ref.nev);
    for (size_t i = 0; i < mk.nev; i++) {
        const struct ictal_event *e = &mk.ev[i];
        int overlaps = e->start_frame <= k && k < e->end_frame;
        assert_int_equal(!!(e->flags & ICTAL_FRAME_XRUN), overlaps);
        assert_int_equal(e->flags & ~(uint32_t)ICTAL_FRAME_XRUN, ref.ev[i].flags);
        if (e->id == fin->id && e->kind == ICTAL_EVENT_FINAL)
            assert_true(overlaps);
    }
    /* after flush: process and gap refused until reset */
    const float *ptr[ICTAL_SYNTH_CHANNELS_MAX];
    for (int c = 0; c < r.C; c++)
        ptr[c] = r.x[c];
    assert_int_equal(ictal_pipeline_process(p, ptr, 10, NULL, NULL), ICTAL_ESTATE);
    assert_int_equal(ictal_pipeline_gap(p, 10, NULL, NULL), ICTAL_ESTATE);
    assert_int_equal(ictal_pipeline_flush(p, NULL), 0);
    ictal_pipeline_reset(p);
    assert_int_equal(ictal_pipeline_process(p, ptr, R + 1, NULL, NULL), ICTAL_ERANGE);
    float pr[4];
    struct ictal_pipeline_frames small = {pr, NULL, NULL, 1, 0};
    assert_int_equal(ictal_pipeline_process(p, ptr, 64, NULL, &small), ICTAL_ERANGE);
    ictal_pipeline_stats(p, &st);
    assert_int_equal(st.input_samples, 0);
    assert_int_equal(ictal_pipeline_process(p, NULL, 10, NULL, NULL), ICTAL_EINVAL);
    assert_int_equal(ictal_pipeline_process(p, ptr, 0, NULL, NULL), 0);
    out_free(&ref);
    out_free(&mk);
    ictal_pipeline_destroy(p);
    rec_free(&r);
}

/* ------------------------------------------------------------ (g) */

static void latency_case(int rate, size_t *total_samples, double *total)
{
    struct rec r;
    rec_make(&r, rate, 300, 11);
    struct ictal_pipeline_config pc;
    base_config(&pc, r.C, rate, 4096);
    struct ictal_error err;
    struct ictal_pipeline *p = ictal_pipeline_create(g_model, &pc, &err);
    assert_non_null(p);
    struct ictal_pipeline_latency lat;
    ictal_pipeline_latency(p, &lat);
    const int D = (pc.postproc.n_on > pc.postproc.n_off ? pc.postproc.n_on : pc.postproc.n_off) - 1 +
                  (pc.postproc.opening > 1 ? pc.postproc.opening - 1 : 0) +
                  (pc.postproc.closing > 1 ? pc.postproc.closing - 1 : 0);
    print_message("%d Hz: latency resampler %.6f s, engine %.6f s, frame %.6f s, postproc %.6f s (D = %d), total %.6f s "
                  "= %u samples\n",
                  rate, lat.resampler, lat.engine, lat.frame, lat.postproc, D, lat.total, lat.total_samples);
    assert_true(lat.total == lat.resampler + lat.engine + lat.frame + lat.postproc);
    assert_true(lat.engine == 0.0);
    assert_true(lat.frame == 32.0 / 256.0);
    assert_true(fabs(lat.postproc - D / 8.0) < 1e-12);
    assert_true(rate == 256 ? lat.resampler == 0.0 : lat.resampler > 0.0);
    const double s = lat.total * rate;
    assert_true((double)lat.total_samples >= s - 1e-6 && (double)lat.total_samples < s + 1.0);
    /* the declared total bounds every alarm's delay: emit_s - start_s */
    struct out o;
    out_init(&o, ictal_pipeline_max_frames(p, r.T) + 64);
    run(p, &r, 0, r.T, 0, 0, NULL, NULL, 0, &o, 1);
    size_t na = 0;
    for (size_t i = 0; i < o.nev; i++) {
        const struct ictal_event *e = &o.ev[i];
        /* the sample clock: frame k describes model sample 32k (no look-ahead) */
        assert_int_equal(e->start_sample, 32 * e->start_frame);
        assert_int_equal(e->end_sample, 32 * e->end_frame);
        assert_true(e->start_s == (double)e->start_sample / 256.0);
        if (e->kind == ICTAL_EVENT_ALARM) {
            assert_int_equal(e->emit_frame, e->start_frame + D + 1);
            assert_int_equal(e->emit_sample, 32 * (e->emit_frame - 1) + 1);
            assert_true(e->emit_s - e->start_s <= lat.total + 1e-9);
            assert_true(e->emit_s - e->start_s >= lat.total - lat.frame - 1e-9);
            na++;
        }
        if (e->flags & ICTAL_EVENT_FLUSHED) {
            struct ictal_pipeline_stats st;
            ictal_pipeline_stats(p, &st);
            assert_int_equal(e->emit_sample, (int64_t)st.model_samples);
        }
    }
    assert_true(na > 0);
    *total_samples = lat.total_samples;
    *total = lat.total;
    out_free(&o);
    ictal_pipeline_destroy(p);
    rec_free(&r);
}

static void test_latency(void **state)
{
    (void)state;
    size_t n256, n512;
    double t256, t512;
    ensure_calibrated();
    latency_case(256, &n256, &t256);
    latency_case(512, &n512, &t512);
    assert_true(t512 > t256);
    /* the default model's own declared numbers (its [postproc] defaults) */
    struct ictal_pipeline_config pc;
    struct ictal_error err;
    assert_int_equal(ictal_pipeline_config_default(&pc, g_model, 23, 256, 256, &err), 0);
    struct ictal_pipeline *p = ictal_pipeline_create(g_model, &pc, &err);
    assert_non_null(p);
    struct ictal_pipeline_latency lat;
    ictal_pipeline_latency(p, &lat);
    print_message("default model at 256 Hz: frame %.3f s + postproc %.3f s = %.3f s = %u samples\n", lat.frame,
                  lat.postproc, lat.total, lat.total_samples);
    assert_true(lat.postproc == 25.0 / 8.0); /* n_on 2, n_off 4, opening 1 s, closing 2 s: D = 3 + 7 + 15 */
    assert_true(lat.total == 3.25);
    assert_int_equal(lat.total_samples, 832);
    ictal_pipeline_destroy(p);
    for (int i = 0; i < 2; i++) {
        static const double rates[] = {48000.0, 44100.0};
        assert_int_equal(ictal_pipeline_config_default(&pc, g_model, 23, rates[i], 1024, &err), 0);
        p = ictal_pipeline_create(g_model, &pc, &err);
        assert_non_null(p);
        ictal_pipeline_latency(p, &lat);
        print_message("default model at %.0f Hz (sinc_medium): resampler %.6f s, total %.6f s = %u samples\n", rates[i],
                      lat.resampler, lat.total, lat.total_samples);
        assert_true(lat.total_samples >= 3.25 * rates[i]);
        ictal_pipeline_destroy(p);
    }
}

/* ------------------------------------------------------------ (h) */

static void test_config(void **state)
{
    (void)state;
    struct ictal_error err;
    const struct ictal_model_info *in = ictal_model_info(g_model);
    assert_string_equal(in->channel_policy, "any");
    assert_true(in->min_channels <= 23 && in->max_channels >= 23);

    /* model defaults alone */
    struct ictal_pipeline_config d;
    assert_int_equal(ictal_pipeline_config_default(&d, g_model, 23, 256, 256, &err), 0);
    assert_true(d.postproc.threshold_on == 0.8f && d.postproc.threshold_off == 0.5f);
    assert_int_equal(d.postproc.n_on, 2);
    assert_int_equal(d.postproc.n_off, 4);
    assert_int_equal(d.postproc.opening, 8);
    assert_int_equal(d.postproc.closing, 16);
    assert_int_equal(d.postproc.min_frames, 40);
    assert_int_equal(d.postproc.merge_frames, 80);
    assert_int_equal(d.postproc.max_frames, 4800); /* the model's 600 s, not the table's 300 s */
    assert_int_equal(d.postproc.confidence, ICTAL_CONFIDENCE_MEAN);
    assert_int_equal(d.postproc.n_channels, 23);
    assert_int_equal(d.n_filters, in->n_filters);
    for (int i = 0; i < d.n_filters; i++) {
        assert_string_equal(d.filters[i].type, in->filters[i].type);
        assert_true(d.filters[i].freq_hz == in->filters[i].freq_hz);
    }
    assert_int_equal(d.filters[0].order, 2);
    assert_true(d.filters[1].q == 30.0);
    assert_int_equal(d.resampler, ICTAL_RESAMPLER_SINC_MEDIUM);
    assert_true(d.mask_bad_channels);
    assert_int_equal(d.min_good_channels, 1);
    assert_true(d.guard.implausible_uv == 3000.0 && d.guard.flat_uv == 1.0 && d.guard.clip_uv == 0.0);

    /* a user file and the command line over the model's defaults; the model's
     * defaults may come in before or after the file: they still sit below it */
    static const char user[] = "[postproc]\nthreshold_on = 0.9\nopening = 2s\nconfidence = percentile\n"
                               "confidence_percentile = 80\n[pipeline]\nnotch = 60\nlowpass = 40\n"
                               "resampler = sinc_fastest\nmin_good_channels = 3\n";
    for (int order = 0; order < 2; order++) {
        struct ictal_config *cfg = ictal_config_create(&err);
        assert_non_null(cfg);
        if (order == 0)
            assert_int_equal(ictal_pipeline_model_defaults(cfg, g_model, "model default_1h"), 0);
        assert_int_equal(ictal_config_load_string(cfg, "user.conf", user, sizeof user - 1, ICTAL_CONFIG_LAYER_USER), 0);
        assert_int_equal(ictal_config_set(cfg, ICTAL_CONFIG_LAYER_CLI, "option --n-off", "postproc", "n_off", "6"), 0);
        if (order == 1)
            assert_int_equal(ictal_pipeline_model_defaults(cfg, g_model, "model default_1h"), 0);
        assert_int_equal(ictal_config_validate(cfg, &err), 0);
        assert_string_equal(ictal_config_get_source(cfg, "postproc", "threshold_off"), "model default_1h");
        assert_string_equal(ictal_config_get_source(cfg, "postproc", "threshold_on"), "user.conf:2");
        struct ictal_pipeline_config pc;
        assert_int_equal(ictal_pipeline_config_from(&pc, cfg, g_model, 23, 512, 128, &err), 0);
        assert_true(pc.postproc.threshold_on == 0.9f);  /* user beats model */
        assert_true(pc.postproc.threshold_off == 0.5f); /* model beats table (0.35) */
        assert_int_equal(pc.postproc.n_off, 6);         /* command line */
        assert_int_equal(pc.postproc.opening, 16);
        assert_int_equal(pc.postproc.closing, 16);
        assert_int_equal(pc.postproc.max_frames, 4800);
        assert_int_equal(pc.postproc.confidence, ICTAL_CONFIDENCE_PERCENTILE);
        assert_true(pc.postproc.percentile == 80.0f);
        assert_int_equal(pc.resampler, ICTAL_RESAMPLER_SINC_FASTEST);
        assert_int_equal(pc.min_good_channels, 3);
        assert_int_equal(pc.max_block, 128);
        assert_true(pc.input_rate == 512.0);
        /* the model's stages, in its order, with the configured corners */
        assert_int_equal(pc.n_filters, 3);
        assert_string_equal(pc.filters[0].type, "highpass");
        assert_true(pc.filters[0].freq_hz == 0.5 && pc.filters[0].order == 2);
        assert_string_equal(pc.filters[1].type, "notch");
        assert_true(pc.filters[1].freq_hz == 60.0 && pc.filters[1].q == 30.0);
        assert_string_equal(pc.filters[2].type, "lowpass");
        assert_true(pc.filters[2].freq_hz == 40.0 && pc.filters[2].order == 2);
        struct ictal_pipeline *p = ictal_pipeline_create(g_model, &pc, &err);
        assert_non_null(p);
        assert_true(ictal_pipeline_model_rate(p) == 256.0 && ictal_pipeline_frame_rate(p) == 8.0);
        assert_ptr_equal(ictal_pipeline_model(p), g_model);
        ictal_pipeline_destroy(p);

        /* switching a stage off drops it; a corner above Nyquist is refused */
        assert_int_equal(ictal_config_set(cfg, ICTAL_CONFIG_LAYER_CLI, "test", "pipeline", "notch", "0"), 0);
        assert_int_equal(ictal_config_validate(cfg, &err), 0);
        assert_int_equal(ictal_pipeline_config_from(&pc, cfg, g_model, 23, 256, 128, &err), 0);
        assert_int_equal(pc.n_filters, 2);
        assert_string_equal(pc.filters[1].type, "lowpass");
        assert_int_equal(ictal_config_set(cfg, ICTAL_CONFIG_LAYER_CLI, "test", "pipeline", "lowpass", "200"), 0);
        assert_int_equal(ictal_config_validate(cfg, &err), 0);
        assert_int_equal(ictal_pipeline_config_from(&pc, cfg, g_model, 23, 256, 128, &err), ICTAL_EINVAL);
        assert_non_null(strstr(err.msg, "pipeline.lowpass"));
        ictal_config_destroy(cfg);
    }

    /* config_default == config_from(table defaults + model defaults) */
    struct ictal_config *cfg = ictal_config_create(&err);
    assert_int_equal(ictal_pipeline_model_defaults(cfg, g_model, "m"), 0);
    assert_int_equal(ictal_config_validate(cfg, &err), 0);
    struct ictal_pipeline_config f;
    assert_int_equal(ictal_pipeline_config_from(&f, cfg, g_model, 23, 256, 256, &err), 0);
    assert_memory_equal(&f.postproc, &d.postproc, sizeof f.postproc);
    assert_int_equal(f.n_filters, d.n_filters);
    assert_memory_equal(f.filters, d.filters, sizeof f.filters);
    ictal_config_destroy(cfg);

    /* bad configurations name the field */
    struct ictal_pipeline_config b = d;
    b.n_channels = 0;
    assert_null(ictal_pipeline_create(g_model, &b, &err));
    assert_non_null(strstr(err.msg, "n_channels"));
    b = d;
    b.max_block = 0;
    assert_null(ictal_pipeline_create(g_model, &b, &err));
    assert_non_null(strstr(err.msg, "max_block"));
    b = d;
    b.input_rate = -1;
    assert_null(ictal_pipeline_create(g_model, &b, &err));
    b = d;
    b.postproc.threshold_off = 0.95f;
    assert_null(ictal_pipeline_create(g_model, &b, &err));
    assert_null(ictal_pipeline_create(NULL, &d, &err));
    ictal_pipeline_destroy(NULL);
}

/* ------------------------------------------------------------ clocks */

/* The sample clock of records in the three engine modes: causal streaming
 * (default_1h), bidirectional look-ahead (bimamba2: hop 4, block 5, delay 16)
 * and windowed (windowed: hop 8, W 512, H 128). Thresholds at 0 make every
 * frame ictal: one endless event split into 7-frame segments, so records come
 * at known frames. Fed one sample at a time, a record's emit_sample must be
 * the model samples consumed when it arrives. */
struct clock_probe {
    struct ictal_pipeline *p;
    struct out *o;
    int64_t at[MAX_EVENTS];
};

static void on_event_clock(void *user, const struct ictal_event *ev)
{
    struct clock_probe *cp = user;
    struct ictal_pipeline_stats st;
    ictal_pipeline_stats(cp->p, &st);
    if (cp->o->nev < MAX_EVENTS)
        cp->at[cp->o->nev] = (int64_t)st.model_samples;
    on_event(cp->o, ev);
}

static void test_clocks(void **state)
{
    (void)state;
    static const char *const names[] = {"default_1h", "bimamba2", "windowed"};
    for (int mi = 0; mi < 3; mi++) {
        char path[1024];
        golden_path(path, sizeof path);
        char *slash = strrchr(path, '/');
        snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "%s.model.safetensors", names[mi]);
        struct ictal_error err;
        struct ictal_model *m = ictal_model_load(path, &err);
        if (!m)
            fail_msg("%s", err.msg);
        const struct ictal_model_info *in = ictal_model_info(m);
        struct ictal_pipeline_config pc;
        assert_int_equal(ictal_pipeline_config_default(&pc, m, 3, 256, 64, &err), 0);
        struct ictal_postproc_config *q = &pc.postproc;
        q->threshold_on = q->threshold_off = 0.0f;
        q->n_on = q->n_off = 1;
        q->opening = q->closing = q->min_frames = q->merge_frames = 0;
        q->max_frames = 7;
        struct ictal_pipeline *p = ictal_pipeline_create(m, &pc, &err);
        if (!p)
            fail_msg("%s", err.msg);
        struct rec r;
        mini_make(&r, 3, 256, 12, 3);
        struct out o;
        out_init(&o, ictal_pipeline_max_frames(p, r.T) + 64);
        struct clock_probe cp = {.p = p, .o = &o};
        const struct ictal_event_sink sink = {.event = on_event_clock, .user = &cp};
        const float *ptr[3];
        for (size_t t = 0; t < r.T; t++) {
            for (int c = 0; c < 3; c++)
                ptr[c] = r.x[c] + t;
            struct ictal_pipeline_frames fr = {o.prob + o.nf, o.flags + o.nf, o.alarm + o.nf, o.fcap - o.nf, 0};
            assert_int_equal(ictal_pipeline_process(p, ptr, 1, &sink, &fr), 0);
            o.nf += fr.n;
        }
        const size_t n_before_flush = o.nev;
        assert_int_equal(ictal_pipeline_flush(p, &sink), 0);
        struct ictal_pipeline_stats st;
        ictal_pipeline_stats(p, &st);
        const int64_t hop = in->hop, shift = in->window ? 0 : in->delay_samples;
        size_t finals = 0;
        for (size_t i = 0; i < o.nev; i++) {
            const struct ictal_event *e = &o.ev[i];
            int64_t s0 = e->start_frame * hop - shift, s1 = e->end_frame * hop - shift;
            assert_int_equal(e->start_sample, s0 < 0 ? 0 : s0);
            assert_int_equal(e->end_sample, s1 < 0 ? 0 : s1);
            assert_int_equal(e->emit_sample, cp.at[i]);
            assert_true(e->emit_s == (double)e->emit_sample / 256.0 && e->start_s == (double)e->start_sample / 256.0);
            if (i < n_before_flush) {
                /* made while frame emit_frame - 1 was pushed */
                int64_t k = e->emit_frame - 1;
                int64_t want = in->window ? (k * hop / in->window_step) * in->window_step + in->window : k * hop + 1;
                assert_int_equal(e->emit_sample, want);
            } else {
                assert_int_equal(e->emit_sample, (int64_t)st.model_samples);
            }
            finals += e->kind == ICTAL_EVENT_FINAL;
        }
        print_message("%s: hop %d, delay %ld, window %d/%d: %zu frames, %zu records (%zu finals)\n", names[mi], in->hop,
                      in->delay_samples, in->window, in->window_step, o.nf, o.nev, finals);
        assert_true(finals >= 3);
        out_free(&o);
        rec_free(&r);
        ictal_pipeline_destroy(p);
        ictal_model_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_chunk_invariance),
        cmocka_unit_test(test_chunk_invariance_512),
        cmocka_unit_test(test_chunk_invariance_250),
        cmocka_unit_test(test_snapshot),
        cmocka_unit_test(test_snapshot_512),
        cmocka_unit_test(test_rt_guard),
        cmocka_unit_test(test_guard_quality),
        cmocka_unit_test(test_gap_and_xrun),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
