/* Post-processing (ictal/postproc.h) against the whole-array oracle of
 * docs/postproc.md (tests/support/postproc_oracle.c):
 *
 *  1. the oracle pinned on hand-worked cases (section 6 and more), and
 *     cross-checked with a second, literal reading of section 3.1's
 *     frame-by-frame tracker on random ictal sequences;
 *  2. the streaming code equals the oracle, record for record and field for
 *     field, over thousands of random configurations, sequences, frame flags
 *     and chunkings — including when each record is delivered and what
 *     alarm_active() says between chunks;
 *  3. chunk invariance on its own (no oracle);
 *  4. state save/restore, and refusal of an image from another configuration;
 *  5. the comparison itself can fail;
 *  6. a two-hour stream at 8 Hz with default-like settings.
 *
 * A mismatch prints the configuration, the chunking, both records and the
 * frames around them, then shrinks the case and prints a minimal repro.
 * ICTAL_TEST_SEED replays or explores (docs/testing.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/postproc.h"
#include "postproc_oracle.h"
#include "test_util.h"

/* ---- small helpers --------------------------------------------------------- */

static void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    assert_non_null(p);
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    assert_non_null(p);
    return p;
}

struct recs {
    struct ictal_event *v;
    size_t n, cap;
};

static void recs_push(struct recs *r, const struct ictal_event *ev)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 32;
        struct ictal_event *v = realloc(r->v, r->cap * sizeof *v);
        assert_non_null(v);
        r->v = v;
    }
    r->v[r->n++] = *ev;
}

static void recs_sink(void *user, const struct ictal_event *ev)
{
    recs_push(user, ev);
}

static void recs_free(struct recs *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}

static struct ictal_event_sink sink_to(struct recs *r)
{
    struct ictal_event_sink s = { .event = recs_sink, .quality = NULL, .user = r };
    return s;
}

static struct ictal_postproc_config base_config(void)
{
    struct ictal_postproc_config cfg = {
        .threshold_on = 0.5f, .threshold_off = 0.5f, .n_on = 2, .n_off = 2,
        .opening = 0, .closing = 0, .min_frames = 3, .merge_frames = 3, .max_frames = 5,
        .confidence = ICTAL_CONFIDENCE_MEAN, .percentile = 90.0f, .n_channels = 0,
    };
    return cfg;
}

/* "0 1 1 0" → bytes; returns the length. */
static size_t bits(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; *s; s++)
        if (*s == '0' || *s == '1')
            out[n++] = (uint8_t)(*s - '0');
    return n;
}

/* "0 1 1 0" → probabilities 0.1 / 0.9 (the document's convention). */
static size_t probs(const char *s, float *out)
{
    size_t n = 0;
    for (; *s; s++)
        if (*s == '0' || *s == '1')
            out[n++] = *s == '1' ? 0.9f : 0.1f;
    return n;
}

static void assert_bits(const uint8_t *got, const char *want)
{
    uint8_t w[256];
    size_t n = bits(want, w);
    for (size_t i = 0; i < n; i++) {
        if (got[i] != w[i]) {
            char g[257];
            for (size_t k = 0; k < n; k++)
                g[k] = (char)('0' + got[k]);
            g[n] = '\0';
            fail_msg("frame %zu: want %s, got %s", i, want, g);
        }
    }
}

/* ---- a second reading of the document: section 3.1 literally ---------------- */

/* The frame-by-frame tracker of 3.1 and 3.2 run over a whole ictal sequence.
 * The oracle derives the records from 3.3 instead; the two must agree. */
static void tracker_make(const struct ictal_postproc_config *cfg, const float *prob,
                         const float *scores, const uint8_t *flags, int64_t n, int64_t D,
                         struct recs *out, enum ictal_event_kind kind, uint64_t id, int64_t j,
                         int eos, int64_t start, int64_t end, int32_t segment, uint32_t extra)
{
    struct ictal_event ev;
    memset(&ev, 0, sizeof ev);
    int flushed = eos || j + D >= n;
    ev.kind = kind;
    ev.id = id;
    ev.segment = segment;
    ev.emit_frame = flushed ? n : j + D + 1;
    ev.start_frame = start;
    ev.end_frame = kind == ICTAL_EVENT_ALARM ? ev.emit_frame : end;
    pp_oracle_stats(cfg, prob, scores, flags, ev.start_frame, ev.end_frame, &ev);
    ev.flags |= extra | (flushed ? ICTAL_EVENT_FLUSHED : 0u);
    recs_push(out, &ev);
}

static void tracker_records(const struct ictal_postproc_config *cfg, const uint8_t *c,
                            const float *prob, const float *scores, const uint8_t *flags,
                            size_t nframes, struct recs *out)
{
    const int64_t n = (int64_t)nframes, D = pp_oracle_delay(cfg);
    const int64_t Mmin = cfg->min_frames, Mgap = cfg->merge_frames, Mmax = cfg->max_frames;
    const int64_t K = Mmin > 1 ? Mmin : 1;
    int open = 0, confirmed = 0, in_run = 0, cand = 0;
    int64_t a = 0, e = 0, g = 0;
    int32_t seg = 0;
    uint64_t id = 0;
#define MAKE(kind, j, eos, s, t, sg, x) \
    tracker_make(cfg, prob, scores, flags, n, D, out, kind, id, j, eos, s, t, sg, x)
    for (int64_t j = 0; j < n; j++) {
        if (c[j]) {
            if (!in_run) {
                in_run = 1;
                a = j;
                if (open) {
                    cand = 1;
                    assert_true(confirmed);
                    assert_true(a - e < Mgap);
                } else {
                    open = 1;
                    confirmed = 0;
                    cand = 0;
                    id++;
                    MAKE(ICTAL_EVENT_ALARM, j, 0, a, 0, 0, 0u);
                }
            }
            if (j - a + 1 >= K) {
                if (j - a + 1 == K && !cand) {
                    g = a;
                    seg = 1;
                    confirmed = 1;
                }
                e = j + 1;
                while (e - g > Mmax) {
                    MAKE(ICTAL_EVENT_FINAL, j, 0, g, g + Mmax, seg, ICTAL_EVENT_SEGMENTED);
                    g += Mmax;
                    seg++;
                }
            }
        } else {
            if (in_run) {
                in_run = 0;
                if (j - a < Mmin && !cand) {
                    MAKE(ICTAL_EVENT_CANCEL, j, 0, a, j, 0, 0u);
                    open = 0;
                }
                cand = 0;
            }
            if (open && confirmed && j - e + 1 >= Mgap) {
                MAKE(ICTAL_EVENT_FINAL, j, 0, g, e, seg, seg > 1 ? ICTAL_EVENT_SEGMENTED : 0u);
                open = 0;
            }
        }
    }
    if (in_run && n - a < Mmin && !cand) {
        MAKE(ICTAL_EVENT_CANCEL, n, 1, a, n, 0, 0u);
        open = 0;
    }
    if (open) {
        assert_true(confirmed);
        MAKE(ICTAL_EVENT_FINAL, n, 1, g, e, seg, seg > 1 ? ICTAL_EVENT_SEGMENTED : 0u);
    }
#undef MAKE
}

/* ---- comparing record lists --------------------------------------------------- */

/* Index of the first difference between want and got (both lists), or
 * (size_t)-1 when equal; what names it. */
static size_t first_difference(const struct ictal_event *want, size_t nwant,
                               const struct ictal_event *got, size_t ngot, char *what,
                               size_t cap)
{
    size_t m = nwant < ngot ? nwant : ngot;
    for (size_t i = 0; i < m; i++)
        if (pp_oracle_event_diff(&want[i], &got[i], what, cap))
            return i;
    if (nwant != ngot) {
        snprintf(what, cap, "record count: want %zu, got %zu", nwant, ngot);
        return m;
    }
    return (size_t)-1;
}

/* ---- test cases ------------------------------------------------------------------ */

struct pp_case {
    struct ictal_postproc_config cfg;
    size_t n;
    float *p;   /* n */
    float *s;   /* n * cfg.n_channels, or NULL */
    uint8_t *f; /* n, or NULL */
};

static void case_free(struct pp_case *tc)
{
    free(tc->p);
    free(tc->s);
    free(tc->f);
    memset(tc, 0, sizeof *tc);
}

static struct pp_case case_copy(const struct pp_case *tc)
{
    struct pp_case r = *tc;
    size_t nc = (size_t)tc->cfg.n_channels;
    r.p = xmalloc(tc->n * sizeof *r.p);
    memcpy(r.p, tc->p, tc->n * sizeof *r.p);
    r.s = NULL;
    if (tc->s) {
        r.s = xmalloc(tc->n * nc * sizeof *r.s);
        memcpy(r.s, tc->s, tc->n * nc * sizeof *r.s);
    }
    r.f = NULL;
    if (tc->f) {
        r.f = xmalloc(tc->n);
        memcpy(r.f, tc->f, tc->n);
    }
    return r;
}

/* Frames [from, from + len) of tc as a case of its own. */
static struct pp_case case_slice(const struct pp_case *tc, size_t from, size_t len)
{
    struct pp_case r = *tc;
    size_t nc = (size_t)tc->cfg.n_channels;
    r.n = len;
    r.p = xmalloc(len * sizeof *r.p);
    memcpy(r.p, tc->p + from, len * sizeof *r.p);
    r.s = NULL;
    if (tc->s) {
        r.s = xmalloc(len * nc * sizeof *r.s);
        memcpy(r.s, tc->s + from * nc, len * nc * sizeof *r.s);
    }
    r.f = NULL;
    if (tc->f) {
        r.f = xmalloc(len);
        memcpy(r.f, tc->f + from, len);
    }
    return r;
}

static size_t oracle_of(const struct pp_case *tc, struct ictal_event **out)
{
    return pp_oracle_run(&tc->cfg, tc->p, tc->s, tc->f, tc->n, out);
}

/* ---- chunkings ------------------------------------------------------------------- */

enum chunking { CH_ONES, CH_WHOLE, CH_SMALL, CH_RANDOM, CH_FIXED, CH_COUNT };
static const char *const chunking_name[CH_COUNT] = { "1-frame", "whole", "small random",
                                                     "random with empty", "fixed" };

/* Chunk sizes covering n frames. */
static size_t make_chunks(struct test_rng *r, size_t n, enum chunking mode, size_t **out)
{
    size_t cap = n + 16, m = 0;
    size_t *v = xmalloc(cap * 2 * sizeof *v);
    size_t fixed = (size_t)test_rng_range(r, 1, 96);
    size_t big = (size_t)test_rng_range(r, 1, 400);
    size_t left = n;
    if (mode == CH_WHOLE || n == 0) {
        v[m++] = n;
        left = 0;
    }
    while (left > 0) {
        size_t k;
        switch (mode) {
        case CH_ONES: k = 1; break;
        case CH_SMALL: k = (size_t)test_rng_range(r, 1, 8); break;
        case CH_FIXED: k = fixed; break;
        default:
            k = test_rng_range(r, 0, 9) == 0 ? 0 : (size_t)test_rng_range(r, 1, (int64_t)big);
            break;
        }
        if (k > left)
            k = left;
        if (m + 1 >= 2 * cap)
            break; /* practically never: about one empty chunk in ten */
        v[m++] = k;
        left -= k;
    }
    if (left)
        v[m++] = left;
    *out = v;
    return m;
}

/* ---- running the streaming code ------------------------------------------------ */

/* Records of want emitted by process() once m frames have been pushed. */
static size_t emitted_by(const struct ictal_event *want, size_t nwant, int64_t m)
{
    size_t k = 0;
    while (k < nwant && !(want[k].flags & ICTAL_EVENT_FLUSHED) && want[k].emit_frame <= m)
        k++;
    return k;
}

/* open_after[k]: is an event open after the first k records of want? */
static int *open_after(const struct ictal_event *want, size_t nwant)
{
    int *v = xcalloc(nwant + 1, sizeof *v);
    int open = 0;
    for (size_t k = 0; k < nwant; k++) {
        int last_of_id = 1;
        for (size_t j = k + 1; j < nwant; j++)
            if (want[j].id == want[k].id)
                last_of_id = 0;
        if (want[k].kind == ICTAL_EVENT_ALARM)
            open++;
        else if (last_of_id)
            open--;
        v[k + 1] = open;
    }
    return v;
}

/* Push frames [from, n) of tc in the given chunks (which sum to n - from) and
 * flush. Checks as it goes that every record arrives in the process() call
 * the oracle says (want: the oracle's records of the whole stream), that
 * frames_pushed() and alarm_active() agree, and after flush that the records
 * equal want's from `from` on; that a second flush emits nothing and that
 * process() is then refused. Returns 0, or 1 with a message; *bad gets the
 * index (in got) of the differing record, or (size_t)-1. */
static int stream_check(struct ictal_postproc *pp, const struct pp_case *tc, size_t from,
                        const size_t *chunks, size_t nchunks, const struct ictal_event *want,
                        size_t nwant, struct recs *got, size_t *bad, char *msg, size_t cap)
{
    const size_t nc = (size_t)tc->cfg.n_channels;
    const size_t k0 = emitted_by(want, nwant, (int64_t)from);
    const struct ictal_event *w = want + k0;
    const size_t nw = nwant - k0;
    int *open = open_after(want, nwant);
    struct ictal_event_sink sink = sink_to(got);
    char what[512];
    size_t at = from;
    int rc = 1;
    *bad = (size_t)-1;
    for (size_t i = 0; i < nchunks; i++) {
        size_t k = chunks[i];
        const float *pp_prob = (k == 0 && (i & 1)) ? NULL : tc->p + at;
        int r = ictal_postproc_process(pp, pp_prob, tc->s ? tc->s + at * nc : NULL,
                                       tc->f ? tc->f + at : NULL, k, &sink);
        if (r != 0) {
            snprintf(msg, cap, "process(%zu frames at %zu) returned %d", k, at, r);
            goto out;
        }
        at += k;
        if (ictal_postproc_frames_pushed(pp) != (uint64_t)at) {
            snprintf(msg, cap, "frames_pushed %" PRIu64 " after %zu frames",
                     ictal_postproc_frames_pushed(pp), at);
            goto out;
        }
        size_t expect = emitted_by(want, nwant, (int64_t)at) - k0;
        if (got->n != expect) {
            size_t d = first_difference(w, expect, got->v, got->n, what, sizeof what);
            *bad = d;
            snprintf(msg, cap,
                     "after %zu frames (chunk %zu of %zu, %zu frames): %zu records delivered, "
                     "want %zu; first difference at record %zu: %s",
                     at, i, nchunks, k, got->n, expect, d, what);
            goto out;
        }
        int active = ictal_postproc_alarm_active(pp) != 0;
        if (active != (open[k0 + expect] > 0)) {
            snprintf(msg, cap, "after %zu frames: alarm_active %d, want %d", at, active,
                     open[k0 + expect] > 0);
            goto out;
        }
    }
    if (at != tc->n) {
        snprintf(msg, cap, "test bug: chunks cover %zu of %zu frames", at, tc->n);
        goto out;
    }
    if (ictal_postproc_flush(pp, &sink) != 0) {
        snprintf(msg, cap, "flush failed");
        goto out;
    }
    size_t d = first_difference(w, nw, got->v, got->n, what, sizeof what);
    if (d != (size_t)-1) {
        *bad = d;
        snprintf(msg, cap, "after flush: record %zu of %zu: %s", d, nw, what);
        goto out;
    }
    if (ictal_postproc_alarm_active(pp)) {
        snprintf(msg, cap, "alarm_active after flush");
        goto out;
    }
    size_t before = got->n;
    if (ictal_postproc_flush(pp, &sink) != 0 || got->n != before) {
        snprintf(msg, cap, "second flush emitted %zu records or failed", got->n - before);
        goto out;
    }
    float one = 0.9f;
    int r = ictal_postproc_process(pp, &one, NULL, NULL, 1, &sink);
    if (r != ICTAL_ESTATE || got->n != before) {
        snprintf(msg, cap, "process after flush returned %d (want ICTAL_ESTATE %d)", r,
                 ICTAL_ESTATE);
        goto out;
    }
    rc = 0;
out:
    free(open);
    return rc;
}

static struct ictal_postproc *create_or_fail(const struct ictal_postproc_config *cfg)
{
    struct ictal_error err;
    struct ictal_postproc *pp = ictal_postproc_create(cfg, &err);
    if (!pp) {
        char c[512];
        pp_oracle_config_format(cfg, c, sizeof c);
        fail_msg("create failed (%d: %s) for %s", err.code, err.msg, c);
    }
    return pp;
}

/* One full check of tc in one chunking against the oracle's records want. */
static int check_case(const struct pp_case *tc, const size_t *chunks, size_t nchunks,
                      const struct ictal_event *want, size_t nwant, struct recs *got,
                      size_t *bad, char *msg, size_t cap)
{
    struct ictal_postproc *pp = create_or_fail(&tc->cfg);
    got->n = 0;
    int rc = stream_check(pp, tc, 0, chunks, nchunks, want, nwant, got, bad, msg, cap);
    ictal_postproc_destroy(pp);
    return rc;
}

/* ---- reporting a mismatch --------------------------------------------------------- */

static void print_frames(const struct pp_case *tc, int64_t lo, int64_t hi)
{
    size_t n = tc->n, nc = (size_t)tc->cfg.n_channels;
    uint8_t *h = xcalloc(n, 1), *o = xcalloc(n, 1), *c = xcalloc(n, 1);
    pp_oracle_hysteresis(&tc->cfg, tc->p, n, h);
    pp_oracle_opening(h, n, tc->cfg.opening, o);
    pp_oracle_closing(o, n, tc->cfg.closing, c);
    if (lo < 0)
        lo = 0;
    if (hi > (int64_t)n)
        hi = (int64_t)n;
    if (hi - lo > 160)
        lo = hi - 160;
    fprintf(stderr, "  frame  p             h o c  flags  scores\n");
    for (int64_t k = lo; k < hi; k++) {
        fprintf(stderr, "  %5" PRId64 "  %-12.9g  %d %d %d  %#4x  ", k, (double)tc->p[k],
                h[k], o[k], c[k], tc->f ? tc->f[k] : 0u);
        for (size_t ch = 0; tc->s && ch < nc; ch++)
            fprintf(stderr, "%.6g ", (double)tc->s[(size_t)k * nc + ch]);
        fprintf(stderr, "\n");
    }
    free(h);
    free(o);
    free(c);
}

static void print_mismatch(const struct pp_case *tc, const char *chunk_desc,
                           const struct ictal_event *want, size_t nwant,
                           const struct recs *got, size_t bad, const char *msg)
{
    char buf[1024];
    pp_oracle_config_format(&tc->cfg, buf, sizeof buf);
    fprintf(stderr, "MISMATCH: %s\n  config %s\n  n %zu frames, scores %s, flags %s, chunking %s\n",
            msg, buf, tc->n, tc->s ? "yes" : "NULL", tc->f ? "yes" : "NULL", chunk_desc);
    int64_t lo, hi;
    /* The records around the difference (all when there is no index). */
    size_t from = 0, to = (size_t)-1;
    if (bad != (size_t)-1) {
        from = bad > 6 ? bad - 6 : 0;
        to = bad + 6;
    }
    fprintf(stderr, "  oracle records (%zu in all, #%zu..):\n", nwant, from);
    for (size_t i = from; i < nwant && i <= to; i++) {
        pp_oracle_event_format(&want[i], buf, sizeof buf);
        fprintf(stderr, "    %s%s\n", i == bad ? "-> " : "   ", buf);
    }
    fprintf(stderr, "  streaming records (%zu in all, #%zu..):\n", got->n, from);
    for (size_t i = from; i < got->n && i <= to; i++) {
        pp_oracle_event_format(&got->v[i], buf, sizeof buf);
        fprintf(stderr, "    %s%s\n", i == bad ? "-> " : "   ", buf);
    }
    const struct ictal_event *focus = NULL;
    if (bad != (size_t)-1 && bad < got->n)
        focus = &got->v[bad];
    else if (bad != (size_t)-1 && bad < nwant)
        focus = &want[bad];
    if (focus) {
        lo = focus->start_frame;
        hi = focus->emit_frame > focus->end_frame ? focus->emit_frame : focus->end_frame;
    } else {
        lo = 0;
        hi = (int64_t)tc->n;
    }
    int D = pp_oracle_delay(&tc->cfg);
    print_frames(tc, lo - D - 4, hi + 4);
}

/* Does tc fail against the oracle in any of three chunkings? */
static int case_fails(const struct pp_case *tc, uint64_t chunk_seed)
{
    struct ictal_event *want = NULL;
    size_t nwant = oracle_of(tc, &want);
    struct recs got = { 0 };
    int fails = 0;
    char msg[2048];
    for (int mode = 0; mode < 3 && !fails; mode++) {
        struct test_rng r = { chunk_seed | 1u };
        size_t *chunks = NULL;
        enum chunking ch = mode == 0 ? CH_WHOLE : mode == 1 ? CH_ONES : CH_RANDOM;
        size_t nch = make_chunks(&r, tc->n, ch, &chunks);
        size_t bad;
        fails = check_case(tc, chunks, nch, want, nwant, &got, &bad, msg, sizeof msg);
        free(chunks);
    }
    recs_free(&got);
    free(want);
    return fails;
}

/* Greedy shrinking: shorter, fewer inputs, simpler values, smaller lengths. */
static void shrink(struct pp_case *tc, uint64_t chunk_seed)
{
    for (int round = 0; round < 30; round++) {
        int progress = 0;
        /* Cut the end, then the start. */
        for (size_t step = tc->n / 2; step >= 1; step /= 2) {
            while (step <= tc->n) {
                struct pp_case t = case_slice(tc, 0, tc->n - step);
                if (!case_fails(&t, chunk_seed)) {
                    case_free(&t);
                    break;
                }
                case_free(tc);
                *tc = t;
                progress = 1;
            }
            while (step <= tc->n) {
                struct pp_case t = case_slice(tc, step, tc->n - step);
                if (!case_fails(&t, chunk_seed)) {
                    case_free(&t);
                    break;
                }
                case_free(tc);
                *tc = t;
                progress = 1;
            }
        }
        /* Drop flags and scores. */
        if (tc->f) {
            struct pp_case t = case_copy(tc);
            free(t.f);
            t.f = NULL;
            if (case_fails(&t, chunk_seed)) {
                case_free(tc);
                *tc = t;
                progress = 1;
            } else {
                case_free(&t);
            }
        }
        if (tc->cfg.n_channels > 0) {
            struct pp_case t = case_copy(tc);
            free(t.s);
            t.s = NULL;
            t.cfg.n_channels = 0;
            if (case_fails(&t, chunk_seed)) {
                case_free(tc);
                *tc = t;
                progress = 1;
            } else {
                case_free(&t);
            }
        }
        /* Simpler probabilities: 0.9 / 0.1 / midway, keeping each frame's side
         * of the thresholds where possible. */
        if (tc->n <= 600) {
            float on = tc->cfg.threshold_on, off = tc->cfg.threshold_off;
            for (size_t k = 0; k < tc->n; k++) {
                float p = pp_oracle_prob(tc->p[k]);
                float simple = p >= on ? (on <= 0.9f ? 0.9f : 1.0f)
                               : p >= off ? p : (off > 0.1f ? 0.1f : 0.0f);
                if (p >= off && p < on)
                    simple = off;
                if (memcmp(&simple, &tc->p[k], sizeof simple) == 0)
                    continue;
                float old = tc->p[k];
                tc->p[k] = simple;
                if (case_fails(tc, chunk_seed))
                    progress = 1;
                else
                    tc->p[k] = old;
            }
        }
        /* Smaller lengths in the configuration. */
        int *fields[] = { &tc->cfg.n_on, &tc->cfg.n_off, &tc->cfg.opening, &tc->cfg.closing,
                          &tc->cfg.min_frames, &tc->cfg.merge_frames, &tc->cfg.max_frames };
        static const int lowest[] = { 1, 1, 0, 0, 0, 0, 1 };
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            while (*fields[i] > lowest[i]) {
                int old = *fields[i];
                (*fields[i])--;
                if (tc->cfg.max_frames < tc->cfg.min_frames ||
                    !case_fails(tc, chunk_seed)) {
                    *fields[i] = old;
                    break;
                }
                progress = 1;
            }
        }
        if (!progress)
            break;
    }
}

static void print_repro(const struct pp_case *tc, uint64_t chunk_seed)
{
    char buf[1024];
    pp_oracle_config_format(&tc->cfg, buf, sizeof buf);
    fprintf(stderr, "MINIMAL REPRO (%zu frames):\n  struct ictal_postproc_config cfg = %s;\n",
            tc->n, buf);
    fprintf(stderr, "  float p[] = {");
    for (size_t k = 0; k < tc->n; k++)
        fprintf(stderr, "%s%.9gf", k ? ", " : " ", (double)tc->p[k]);
    fprintf(stderr, " };\n");
    if (tc->f) {
        fprintf(stderr, "  uint8_t flags[] = {");
        for (size_t k = 0; k < tc->n; k++)
            fprintf(stderr, "%s%u", k ? ", " : " ", tc->f[k]);
        fprintf(stderr, " };\n");
    }
    if (tc->s) {
        size_t nc = (size_t)tc->cfg.n_channels;
        fprintf(stderr, "  float scores[] = {");
        for (size_t k = 0; k < tc->n * nc; k++)
            fprintf(stderr, "%s%.9gf", k ? ", " : " ", (double)tc->s[k]);
        fprintf(stderr, " };\n");
    }
    /* Show the first failing chunking in full. */
    struct ictal_event *want = NULL;
    size_t nwant = oracle_of(tc, &want);
    struct recs got = { 0 };
    char msg[2048];
    for (int mode = 0; mode < 3; mode++) {
        struct test_rng r = { chunk_seed | 1u };
        size_t *chunks = NULL;
        enum chunking ch = mode == 0 ? CH_WHOLE : mode == 1 ? CH_ONES : CH_RANDOM;
        size_t nch = make_chunks(&r, tc->n, ch, &chunks);
        size_t bad;
        int fails = check_case(tc, chunks, nch, want, nwant, &got, &bad, msg, sizeof msg);
        free(chunks);
        if (fails) {
            print_mismatch(tc, chunking_name[ch], want, nwant, &got, bad, msg);
            break;
        }
    }
    recs_free(&got);
    free(want);
}

/* ---- random cases --------------------------------------------------------------- */

static float unitf(struct test_rng *r)
{
    return (float)test_rng_unit(r);
}

static struct ictal_postproc_config random_config(struct test_rng *r)
{
    struct ictal_postproc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    switch (test_rng_range(r, 0, 5)) {
    case 0: cfg.threshold_on = 0.5f; cfg.threshold_off = 0.5f; break;
    case 1: cfg.threshold_on = 0.5f; cfg.threshold_off = 0.35f; break;
    case 2: cfg.threshold_on = unitf(r); cfg.threshold_off = cfg.threshold_on * unitf(r); break;
    case 3: cfg.threshold_on = cfg.threshold_off = unitf(r); break;
    case 4:
        cfg.threshold_on = test_rng_range(r, 0, 1) ? 1.0f : 0.0f;
        cfg.threshold_off = cfg.threshold_on * (float)test_rng_range(r, 0, 1);
        break;
    default: {
        int on = (int)test_rng_range(r, 0, 8);
        cfg.threshold_on = (float)on / 8.0f;
        cfg.threshold_off = (float)test_rng_range(r, 0, on) / 8.0f;
        break;
    }
    }
    if (cfg.threshold_off > cfg.threshold_on)
        cfg.threshold_off = cfg.threshold_on;
    cfg.n_on = (int)test_rng_range(r, 1, 5);
    cfg.n_off = (int)test_rng_range(r, 1, 5);
    cfg.opening = (int)test_rng_range(r, 0, 6);
    cfg.closing = (int)test_rng_range(r, 0, 6);
    cfg.min_frames = (int)test_rng_range(r, 0, 8);
    cfg.merge_frames = (int)test_rng_range(r, 0, 10);
    cfg.max_frames = (int)test_rng_range(r, cfg.min_frames > 1 ? cfg.min_frames : 1, 20);
    cfg.confidence = (enum ictal_confidence)test_rng_range(r, ICTAL_CONFIDENCE_MEAN,
                                                           ICTAL_CONFIDENCE_PERCENTILE);
    /* 7, 14, 28, 55, 56: q/100 * N in double lands just above an integer
     * for some N (25, 50, 100, ...), so the rank rule is exercised. */
    static const float nice[] = { 0.0f, 100.0f, 50.0f, 90.0f, 7.0f, 14.0f, 28.0f, 55.0f, 56.0f };
    switch (test_rng_range(r, 0, 2)) {
    case 0: cfg.percentile = 100.0f * unitf(r); break;
    case 1: cfg.percentile = (float)test_rng_range(r, 0, 100); break;
    default: cfg.percentile = nice[test_rng_range(r, 0, 8)]; break;
    }
    cfg.n_channels = (int)test_rng_range(r, 0, 5);
    if (test_rng_range(r, 0, 9) == 0) {
        /* Now and then longer lengths (delay lines, merge history) and channel
         * counts around the 64-bit words of the bitmap. */
        static const int nch[] = { 0, 63, 64, 65, 130 };
        cfg.n_on = (int)test_rng_range(r, 1, 12);
        cfg.n_off = (int)test_rng_range(r, 1, 12);
        cfg.opening = (int)test_rng_range(r, 0, 40);
        cfg.closing = (int)test_rng_range(r, 0, 40);
        cfg.min_frames = (int)test_rng_range(r, 0, 60);
        cfg.merge_frames = (int)test_rng_range(r, 0, 120);
        cfg.max_frames = (int)test_rng_range(r, cfg.min_frames > 1 ? cfg.min_frames : 1, 300);
        cfg.n_channels = nch[test_rng_range(r, 0, 4)];
    }
    return cfg;
}

/* A value below off, between, at or above on, or near a threshold. */
static float value_below(struct test_rng *r, float off)
{
    if (off <= 0.0f)
        return 0.0f;
    float v = off * 0.98f * unitf(r);
    return v < off ? v : 0.0f;
}

static float value_above(struct test_rng *r, float on)
{
    float v = on + (1.0f - on) * unitf(r);
    return v >= on ? v : on;
}

static float value_near(struct test_rng *r, const struct ictal_postproc_config *cfg)
{
    float t = test_rng_range(r, 0, 1) ? cfg->threshold_on : cfg->threshold_off;
    if (test_rng_range(r, 0, 7) == 0)
        return t;
    float v = t + 0.04f * (unitf(r) - 0.5f);
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

static float value_between(struct test_rng *r, const struct ictal_postproc_config *cfg)
{
    float lo = cfg->threshold_off, hi = cfg->threshold_on;
    if (hi <= lo)
        return value_near(r, cfg);
    float v = lo + (hi - lo) * unitf(r);
    return v < hi ? v : lo;
}

static void random_probs(struct test_rng *r, const struct ictal_postproc_config *cfg,
                         float *p, size_t n, int wild)
{
    size_t k = 0;
    while (k < n) {
        int type = (int)test_rng_range(r, 0, 99);
        size_t len;
        if (type < 30) { /* quiet */
            len = (size_t)test_rng_range(r, 1, test_rng_range(r, 0, 3) ? 40 : 300);
            for (size_t i = 0; i < len && k < n; i++)
                p[k++] = value_below(r, cfg->threshold_off);
        } else if (type < 52) { /* burst */
            len = (size_t)test_rng_range(r, 1, 40);
            for (size_t i = 0; i < len && k < n; i++)
                p[k++] = value_above(r, cfg->threshold_on);
        } else if (type < 57) { /* long burst: splits */
            len = (size_t)test_rng_range(r, cfg->max_frames, 3 * cfg->max_frames + 10);
            for (size_t i = 0; i < len && k < n; i++)
                p[k++] = value_above(r, cfg->threshold_on);
        } else if (type < 72) { /* noise around the thresholds */
            len = (size_t)test_rng_range(r, 1, 30);
            for (size_t i = 0; i < len && k < n; i++)
                p[k++] = value_near(r, cfg);
        } else if (type < 90) { /* flicker: short runs of high and low */
            len = (size_t)test_rng_range(r, 4, 60);
            int high = (int)test_rng_range(r, 0, 1);
            for (size_t i = 0; i < len && k < n;) {
                size_t run = (size_t)test_rng_range(r, 1, 6);
                for (size_t q = 0; q < run && i < len && k < n; q++, i++)
                    p[k++] = high ? value_above(r, cfg->threshold_on)
                                  : value_below(r, cfg->threshold_off);
                high = !high;
            }
        } else if (type < 95) { /* between the thresholds */
            len = (size_t)test_rng_range(r, 1, 20);
            for (size_t i = 0; i < len && k < n; i++)
                p[k++] = value_between(r, cfg);
        } else { /* anything */
            len = (size_t)test_rng_range(r, 1, 30);
            for (size_t i = 0; i < len && k < n; i++)
                p[k++] = unitf(r);
        }
    }
    for (k = 0; k < n; k++) {
        int64_t x = test_rng_range(r, 0, 999);
        if (x < 2)
            p[k] = NAN;
        else if (x < 3)
            p[k] = INFINITY;
        else if (x < 4)
            p[k] = -INFINITY;
        else if (wild && x < 6)
            p[k] = x == 4 ? -0.25f : 1.5f;
    }
}

static void random_case(struct test_rng *r, struct pp_case *tc, size_t max_len)
{
    memset(tc, 0, sizeof *tc);
    tc->cfg = random_config(r);
    int64_t lr = test_rng_range(r, 0, 99);
    size_t n = lr < 10   ? (size_t)test_rng_range(r, 0, 10)
               : lr < 50 ? (size_t)test_rng_range(r, 10, 300)
               : lr < 85 ? (size_t)test_rng_range(r, 300, 1500)
                         : (size_t)test_rng_range(r, 1500, 3000);
    if (n > max_len)
        n = max_len;
    tc->n = n;
    tc->p = xmalloc(n * sizeof *tc->p);
    random_probs(r, &tc->cfg, tc->p, n, test_rng_range(r, 0, 4) == 0);
    size_t nc = (size_t)tc->cfg.n_channels;
    if (nc > 0 && test_rng_range(r, 0, 99) < 85) {
        tc->s = xmalloc(n * nc * sizeof *tc->s);
        int quant = test_rng_range(r, 0, 2) == 0;
        float gain[ICTAL_EVENT_MAX_CHANNELS];
        for (size_t c = 0; c < nc; c++)
            gain[c] = 1.2f * unitf(r);
        for (size_t k = 0; k < n; k++) {
            float p = pp_oracle_prob(tc->p[k]);
            for (size_t c = 0; c < nc; c++) {
                float s = p * gain[c] + 0.15f * (unitf(r) - 0.5f);
                s = s < 0.0f ? 0.0f : s > 1.0f ? 1.0f : s;
                if (quant)
                    s = (float)(int)(s * 8.0f) / 8.0f;
                if (test_rng_range(r, 0, 199) == 0)
                    s = tc->cfg.threshold_on;
                tc->s[k * nc + c] = s;
            }
        }
    }
    if (test_rng_range(r, 0, 9) >= 3) {
        tc->f = xmalloc(n ? n : 1);
        int full = test_rng_range(r, 0, 3) == 0;
        for (size_t k = 0; k < n; k++) {
            tc->f[k] = 0;
            if (test_rng_range(r, 0, 99) < 3)
                tc->f[k] = (uint8_t)(full ? test_rng_range(r, 1, 255)
                                          : (int64_t)1 << test_rng_range(r, 0, 3));
        }
    }
}

/* ---- 1. the oracle pinned ------------------------------------------------------------ */

static void test_oracle_hysteresis(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_config();
    float p[64];
    uint8_t h[64];

    /* Section 6: onset at the first frame of the run, offset likewise. */
    size_t n = probs("0 1 1 1 1 0 0 0 0", p);
    pp_oracle_hysteresis(&cfg, p, n, h);
    assert_bits(h, "0 1 1 1 1 0 0 0 0");

    /* A single low frame does not switch off (n_off 2); an interrupted
     * on-count starts again. */
    n = probs("1 0 1 1 0 1 1 0 0 1", p);
    pp_oracle_hysteresis(&cfg, p, n, h);
    assert_bits(h, "0 0 1 1 1 1 1 0 0 0");

    /* End of array: a pending on-count stays 0, a pending off-count stays 1. */
    cfg.n_on = 3;
    n = probs("0 1 1", p);
    pp_oracle_hysteresis(&cfg, p, n, h);
    assert_bits(h, "0 0 0");
    n = probs("1 1 1 0", p);
    pp_oracle_hysteresis(&cfg, p, n, h);
    assert_bits(h, "1 1 1 1");
    n = probs("1 1 0 1 1 1 0 0", p);
    pp_oracle_hysteresis(&cfg, p, n, h);
    assert_bits(h, "0 0 0 1 1 1 0 0");

    /* Two thresholds: >= on counts up, < off counts down, between holds. */
    cfg = base_config();
    cfg.n_on = cfg.n_off = 1;
    cfg.threshold_on = 0.6f;
    cfg.threshold_off = 0.3f;
    const float q[] = { 0.2f, 0.6f, 0.5f, 0.3f, 0.29f, 0.59f, 0.6f };
    pp_oracle_hysteresis(&cfg, q, 7, h);
    assert_bits(h, "0 1 1 1 0 0 1");

    /* Non-finite is 0: below 0.5, but at or above a threshold of 0. */
    const float nf[] = { NAN, INFINITY, -INFINITY, 0.9f, NAN };
    pp_oracle_hysteresis(&cfg, nf, 5, h);
    assert_bits(h, "0 0 0 1 0");
    cfg.threshold_on = cfg.threshold_off = 0.0f;
    pp_oracle_hysteresis(&cfg, nf, 5, h);
    assert_bits(h, "1 1 1 1 1");
    assert_true(pp_oracle_prob(INFINITY) == 0.0f);
    assert_true(pp_oracle_prob(0.25f) == 0.25f);
}

static void test_oracle_morphology(void **state)
{
    (void)state;
    uint8_t x[64], y[64];
    /* Opening 3: runs of 1 and 2 go, a run cut by the end counts as it is. */
    size_t n = bits("1 1 0 1 1 1 0 1", x);
    pp_oracle_opening(x, n, 3, y);
    assert_bits(y, "0 0 0 1 1 1 0 0");
    pp_oracle_opening(x, n, 1, y);
    assert_bits(y, "1 1 0 1 1 1 0 1");
    pp_oracle_opening(x, n, 0, y);
    assert_bits(y, "1 1 0 1 1 1 0 1");
    n = bits("0 1 1 1 1", x);
    pp_oracle_opening(x, n, 5, y);
    assert_bits(y, "0 0 0 0 0");
    pp_oracle_opening(x, n, 4, y);
    assert_bits(y, "0 1 1 1 1");

    /* Closing 3: interior gaps of 1 and 2 filled, not 3, never at the ends. */
    n = bits("0 0 1 0 0 1 0 0 0 1 0 1 0 0", x);
    pp_oracle_closing(x, n, 3, y);
    assert_bits(y, "0 0 1 1 1 1 0 0 0 1 1 1 0 0");
    pp_oracle_closing(x, n, 1, y);
    assert_bits(y, "0 0 1 0 0 1 0 0 0 1 0 1 0 0");
    pp_oracle_closing(x, n, 4, y);
    assert_bits(y, "0 0 1 1 1 1 1 1 1 1 1 1 0 0");

    /* The delay: 3 + 7 + 15 = 25 for the defaults at 8 Hz. */
    struct ictal_postproc_config cfg = base_config();
    cfg.n_on = 2;
    cfg.n_off = 4;
    cfg.opening = 8;
    cfg.closing = 16;
    assert_int_equal(pp_oracle_delay(&cfg), 25);
    cfg.opening = cfg.closing = 0;
    cfg.n_off = 1;
    assert_int_equal(pp_oracle_delay(&cfg), 1);
}

/* Expected record, compared with the oracle's by the same comparator the
 * property test uses; statistics are recomputed by pp_oracle_stats (pinned
 * separately in test_oracle_stats). */
struct want_rec {
    enum ictal_event_kind kind;
    uint64_t id;
    int32_t segment;
    int64_t start, end, emit;
    uint32_t flags; /* SEGMENTED / FLUSHED */
};

static void expect_records(const struct ictal_postproc_config *cfg, const float *p,
                           const struct ictal_event *got, size_t ngot,
                           const struct want_rec *want, size_t nwant)
{
    for (size_t i = 0; i < nwant && i < ngot; i++) {
        struct ictal_event w;
        memset(&w, 0, sizeof w);
        w.kind = want[i].kind;
        w.id = want[i].id;
        w.segment = want[i].segment;
        w.start_frame = want[i].start;
        w.end_frame = want[i].end;
        w.emit_frame = want[i].emit;
        pp_oracle_stats(cfg, p, NULL, NULL, w.start_frame, w.end_frame, &w);
        w.flags |= want[i].flags;
        char what[512], a[512], b[512];
        if (pp_oracle_event_diff(&w, &got[i], what, sizeof what)) {
            pp_oracle_event_format(&w, a, sizeof a);
            pp_oracle_event_format(&got[i], b, sizeof b);
            fail_msg("record %zu: %s\n  want %s\n  got  %s", i, what, a, b);
        }
    }
    assert_int_equal(ngot, nwant);
}

/* The oracle's records of an ictal sequence given as bits (*n frames; the
 * probabilities are made up around 0.8 / 0.1), checked against the second
 * reading of the document. */
static size_t records_of_bits(const struct ictal_postproc_config *cfg, const char *cbits,
                              float *p, size_t *n, struct ictal_event **out)
{
    static uint8_t c[8192];
    *n = bits(cbits, c);
    for (size_t k = 0; k < *n; k++)
        p[k] = c[k] ? 0.8f + 0.01f * (float)(k % 7) : 0.1f + 0.01f * (float)(k % 5);
    size_t m = pp_oracle_records(cfg, c, p, NULL, NULL, *n, out);
    struct recs t = { 0 };
    tracker_records(cfg, c, p, NULL, NULL, *n, &t);
    char what[512];
    size_t d = first_difference(*out, m, t.v, t.n, what, sizeof what);
    if (d != (size_t)-1)
        fail_msg("3.3 and 3.1 disagree on %s at record %zu: %s", cbits, d, what);
    recs_free(&t);
    return m;
}

static void test_oracle_worked_examples(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_config();
    static float p[8192];
    struct ictal_event *ev = NULL;
    size_t n, m;

    /* 6, first example, from probabilities: D = 1; the alarm when frame 2 is
     * pushed, the final at c-frame 7 (7 - 5 + 1 = 3 >= M_gap), emit 9. */
    n = probs("0 1 1 1 1 0 0 0 0", p);
    m = pp_oracle_run(&cfg, p, NULL, NULL, n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 1, 3, 3, 0 },
            { ICTAL_EVENT_FINAL, 1, 1, 1, 5, 9, 0 },
        };
        expect_records(&cfg, p, ev, m, w, 2);
        free(ev);
    }
    /* A run of 2 frames alone: alarm, then cancel at its end. */
    n = probs("0 1 1 0 0 0 0", p);
    m = pp_oracle_run(&cfg, p, NULL, NULL, n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 1, 3, 3, 0 },
            { ICTAL_EVENT_CANCEL, 1, 0, 1, 3, 5, 0 },
        };
        expect_records(&cfg, p, ev, m, w, 2);
        free(ev);
    }
    /* Runs [1,5) and [6,9): merged into [1,9), split 5 + 3; the first segment
     * when the second run is kept (c-frame 8, emit 10), the last one at
     * c-frame 11 = 9 + 3 - 1. */
    m = records_of_bits(&cfg, "0 1 1 1 1 0 1 1 1 0 0 0 0 0", p, &n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 1, 3, 3, 0 },
            { ICTAL_EVENT_FINAL, 1, 1, 1, 6, 10, ICTAL_EVENT_SEGMENTED },
            { ICTAL_EVENT_FINAL, 1, 2, 6, 9, 13, ICTAL_EVENT_SEGMENTED },
        };
        expect_records(&cfg, p, ev, m, w, 3);
        free(ev);
    }
    /* 700 s at a 600 s limit (8 Hz): 4800 + 800 frames. */
    {
        cfg.max_frames = 4800;
        static char cb[2 * 5700 + 1];
        for (size_t k = 0; k < 5700; k++) {
            cb[2 * k] = (k >= 10 && k < 5610) ? '1' : '0';
            cb[2 * k + 1] = ' ';
        }
        cb[2 * 5700] = '\0';
        m = records_of_bits(&cfg, cb, p, &n, &ev);
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 10, 12, 12, 0 },
            { ICTAL_EVENT_FINAL, 1, 1, 10, 4810, 4812, ICTAL_EVENT_SEGMENTED },
            { ICTAL_EVENT_FINAL, 1, 2, 4810, 5610, 5614, ICTAL_EVENT_SEGMENTED },
        };
        expect_records(&cfg, p, ev, m, w, 3);
        free(ev);
    }
    /* Nothing in, nothing out. */
    m = pp_oracle_run(&cfg, p, NULL, NULL, 0, &ev);
    assert_int_equal(m, 0);
    assert_null(ev);
}

static void test_oracle_records_by_hand(void **state)
{
    (void)state;
    static float p[64];
    struct ictal_event *ev = NULL;
    size_t n, m;
    /* D = 0 here (n_on = n_off = 1, no morphology) unless said. */
    struct ictal_postproc_config cfg = base_config();
    cfg.n_on = cfg.n_off = 1;

    /* A dropped merge candidate is gap; the final comes at E + M_gap - 1. */
    m = records_of_bits(&cfg, "1 1 1 0 1 0 0 0 0 0", p, &n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 0, 1, 1, 0 },
            { ICTAL_EVENT_FINAL, 1, 1, 0, 3, 6, 0 },
        };
        expect_records(&cfg, p, ev, m, w, 2);
        free(ev);
    }
    /* ... or at the 0 frame ending a candidate that covers that frame; then a
     * run too far away is an event of its own, alarmed and cancelled. */
    m = records_of_bits(&cfg, "1 1 1 0 1 1 0 1 0 0 0", p, &n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 0, 1, 1, 0 },
            { ICTAL_EVENT_FINAL, 1, 1, 0, 3, 7, 0 },
            { ICTAL_EVENT_ALARM, 2, 0, 7, 8, 8, 0 },
            { ICTAL_EVENT_CANCEL, 2, 0, 7, 8, 9, 0 },
        };
        expect_records(&cfg, p, ev, m, w, 4);
        free(ev);
    }
    /* Several segments at once after a merge (M_max 2, M_gap 5): [0,3) and
     * [5,9) merge into [0,9): segment [0,2) when the first run is kept,
     * [2,4) and [4,6) when the second is (frame 7), [6,8) at 8, the last
     * [8,9) at 9 + 5 - 1 = 13. */
    cfg.max_frames = 2;
    cfg.merge_frames = 5;
    m = records_of_bits(&cfg, "1 1 1 0 0 1 1 1 1 0 0 0 0 0 0", p, &n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 0, 1, 1, 0 },
            { ICTAL_EVENT_FINAL, 1, 1, 0, 2, 3, ICTAL_EVENT_SEGMENTED },
            { ICTAL_EVENT_FINAL, 1, 2, 2, 4, 8, ICTAL_EVENT_SEGMENTED },
            { ICTAL_EVENT_FINAL, 1, 3, 4, 6, 8, ICTAL_EVENT_SEGMENTED },
            { ICTAL_EVENT_FINAL, 1, 4, 6, 8, 9, ICTAL_EVENT_SEGMENTED },
            { ICTAL_EVENT_FINAL, 1, 5, 8, 9, 14, ICTAL_EVENT_SEGMENTED },
        };
        expect_records(&cfg, p, ev, m, w, 6);
        free(ev);
    }
    cfg.max_frames = 5;
    cfg.merge_frames = 3;

    /* Flush, D = 1 (n_on 2): an event running into the end is finalised at
     * the end; a short run at the end is cancelled at the end; an alarm whose
     * frame is inside the look-ahead comes from flush, with end_frame n; a
     * final due at c-frame n - D comes from flush too. */
    cfg.n_on = 2;
    m = records_of_bits(&cfg, "0 1 1 1 1", p, &n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 1, 3, 3, 0 },
            { ICTAL_EVENT_FINAL, 1, 1, 1, 5, 5, ICTAL_EVENT_FLUSHED },
        };
        expect_records(&cfg, p, ev, m, w, 2);
        free(ev);
    }
    m = records_of_bits(&cfg, "0 0 1 1", p, &n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 2, 4, 4, 0 },
            { ICTAL_EVENT_CANCEL, 1, 0, 2, 4, 4, ICTAL_EVENT_FLUSHED },
        };
        expect_records(&cfg, p, ev, m, w, 2);
        free(ev);
    }
    m = records_of_bits(&cfg, "0 0 0 1", p, &n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 3, 4, 4, ICTAL_EVENT_FLUSHED },
            { ICTAL_EVENT_CANCEL, 1, 0, 3, 4, 4, ICTAL_EVENT_FLUSHED },
        };
        expect_records(&cfg, p, ev, m, w, 2);
        free(ev);
    }
    m = records_of_bits(&cfg, "1 1 1 0 0 0", p, &n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 0, 2, 2, 0 },
            { ICTAL_EVENT_FINAL, 1, 1, 0, 3, 6, ICTAL_EVENT_FLUSHED },
        };
        expect_records(&cfg, p, ev, m, w, 2);
        free(ev);
    }

    /* M_min 0: every run is kept at once; M_gap 0: no merging, the final at
     * the first 0 frame. */
    cfg = base_config();
    cfg.n_on = cfg.n_off = 1;
    cfg.min_frames = 0;
    cfg.merge_frames = 0;
    m = records_of_bits(&cfg, "1 0 1 1 0", p, &n, &ev);
    {
        const struct want_rec w[] = {
            { ICTAL_EVENT_ALARM, 1, 0, 0, 1, 1, 0 },
            { ICTAL_EVENT_FINAL, 1, 1, 0, 1, 2, 0 },
            { ICTAL_EVENT_ALARM, 2, 0, 2, 3, 3, 0 },
            { ICTAL_EVENT_FINAL, 2, 1, 2, 4, 5, 0 },
        };
        expect_records(&cfg, p, ev, m, w, 4);
        free(ev);
    }
}

static void test_oracle_stats(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_config();
    struct ictal_event ev;
    const float p4[] = { 0.1f, 0.2f, 0.4f, 0.3f };

    cfg.confidence = ICTAL_CONFIDENCE_MEAN;
    pp_oracle_stats(&cfg, p4, NULL, NULL, 0, 4, &ev);
    assert_true(ev.confidence ==
                (float)(((double)0.1f + (double)0.2f + (double)0.4f + (double)0.3f) / 4.0));
    assert_true(ev.peak == 0.4f);
    assert_int_equal(ev.method, ICTAL_CONFIDENCE_MEAN);
    assert_int_equal(ev.flags, 0);
    assert_int_equal(ev.n_channels, 0);
    /* Accumulated in double: 1 + 4 * 2^-25 is lost in float sums. */
    const float tiny[] = { 1.0f, 0x1p-25f, 0x1p-25f, 0x1p-25f, 0x1p-25f };
    pp_oracle_stats(&cfg, tiny, NULL, NULL, 0, 5, &ev);
    assert_true(ev.confidence == (float)((1.0 + 0x1p-23) / 5.0));

    cfg.confidence = ICTAL_CONFIDENCE_PEAK;
    pp_oracle_stats(&cfg, p4, NULL, NULL, 1, 3, &ev);
    assert_true(ev.confidence == 0.4f && ev.peak == 0.4f);

    cfg.confidence = ICTAL_CONFIDENCE_PERCENTILE;
    const struct { float q, want; } pc[] = {
        { 0.0f, 0.1f }, { 25.0f, 0.1f }, { 25.1f, 0.2f }, { 50.0f, 0.2f },
        { 75.0f, 0.3f }, { 100.0f, 0.4f },
    };
    for (size_t i = 0; i < sizeof pc / sizeof pc[0]; i++) {
        cfg.percentile = pc[i].q;
        pp_oracle_stats(&cfg, p4, NULL, NULL, 0, 4, &ev);
        if (ev.confidence != pc[i].want)
            fail_msg("percentile %g: want %g, got %g", (double)pc[i].q, (double)pc[i].want,
                     (double)ev.confidence);
        assert_true(ev.percentile == pc[i].q);
    }
    /* The largest p of the bin: 0.5 and 0.5004 share bin 512. */
    const float same_bin[] = { 0.5004f, 0.5f, 0.9f };
    cfg.percentile = 10.0f;
    pp_oracle_stats(&cfg, same_bin, NULL, NULL, 0, 3, &ev);
    assert_true(ev.confidence == 0.5004f);
    /* The rank in double as written, q/100 * N: 7/100 * 100 = 7.000000000000001,
     * so r = 8 (nearest rank on q*N/100 would give 7). One value per bin. */
    float hundred[100];
    for (int k = 0; k < 100; k++)
        hundred[k] = ((float)k + 0.5f) / 100.0f;
    cfg.percentile = 7.0f;
    pp_oracle_stats(&cfg, hundred, NULL, NULL, 0, 100, &ev);
    assert_true(ev.confidence == hundred[7]);
    cfg.percentile = 50.0f;
    pp_oracle_stats(&cfg, hundred, NULL, NULL, 0, 100, &ev);
    assert_true(ev.confidence == hundred[49]);
    /* p = 1 falls in the top bin; non-finite is 0. */
    const float top[] = { 1.0f, 0.99995f, NAN };
    cfg.percentile = 100.0f;
    pp_oracle_stats(&cfg, top, NULL, NULL, 0, 3, &ev);
    assert_true(ev.confidence == 1.0f);
    cfg.percentile = 1.0f;
    pp_oracle_stats(&cfg, top, NULL, NULL, 0, 3, &ev);
    assert_true(ev.confidence == 0.0f);

    /* Channels: those reaching threshold_on; else the single highest (lowest
     * index on ties); no scores: none. Flags OR-ed. */
    cfg.n_channels = 3;
    const float s1[] = { 0.1f, 0.6f, 0.2f, 0.5f, 0.1f, 0.3f };
    const uint8_t f[] = { ICTAL_FRAME_XRUN, ICTAL_FRAME_SCRUBBED };
    pp_oracle_stats(&cfg, p4, s1, f, 0, 2, &ev);
    assert_int_equal(ev.channels[0], 0x3);
    assert_int_equal(ev.n_channels, 3);
    assert_int_equal(ev.flags, ICTAL_FRAME_XRUN | ICTAL_FRAME_SCRUBBED);
    pp_oracle_stats(&cfg, p4, s1, f, 1, 2, &ev);
    assert_int_equal(ev.channels[0], 0x1);
    assert_int_equal(ev.flags, ICTAL_FRAME_SCRUBBED);
    const float s2[] = { 0.1f, 0.4f, 0.4f, 0.2f, 0.1f, 0.3f };
    pp_oracle_stats(&cfg, p4, s2, NULL, 0, 2, &ev);
    assert_int_equal(ev.channels[0], 0x2);
    pp_oracle_stats(&cfg, p4, NULL, NULL, 0, 2, &ev);
    assert_int_equal(ev.channels[0], 0);
    assert_int_equal(ev.n_channels, 3);
}

/* Section 3.3 (the oracle) and 3.1 (read literally) give the same records on
 * random ictal sequences and configurations. */
static void test_oracle_readings_agree(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 0x3313a11ceull);
    for (int it = 0; it < 4000; it++) {
        struct ictal_postproc_config cfg = random_config(&r);
        size_t n = (size_t)test_rng_range(&r, 0, 400);
        uint8_t *c = xmalloc(n);
        float *p = xmalloc(n * sizeof *p);
        size_t k = 0;
        while (k < n) {
            int one = (int)test_rng_range(&r, 0, 1);
            int64_t len = test_rng_range(&r, 0, 3) ? test_rng_range(&r, 1, 12)
                                                   : test_rng_range(&r, 1, 60);
            for (int64_t i = 0; i < len && k < n; i++, k++)
                c[k] = (uint8_t)one;
        }
        for (k = 0; k < n; k++)
            p[k] = unitf(&r);
        struct ictal_event *ev = NULL;
        size_t m = pp_oracle_records(&cfg, c, p, NULL, NULL, n, &ev);
        struct recs t = { 0 };
        tracker_records(&cfg, c, p, NULL, NULL, n, &t);
        char what[512];
        size_t d = first_difference(ev, m, t.v, t.n, what, sizeof what);
        if (d != (size_t)-1) {
            char cf[512];
            pp_oracle_config_format(&cfg, cf, sizeof cf);
            fprintf(stderr, "config %s\nc =", cf);
            for (k = 0; k < n; k++)
                fprintf(stderr, " %d", c[k]);
            fprintf(stderr, "\n");
            fail_msg("iteration %d: 3.3 vs 3.1 at record %zu: %s", it, d, what);
        }
        recs_free(&t);
        free(ev);
        free(c);
        free(p);
    }
}

/* ---- 5. the comparison can fail ----------------------------------------------------- */

static void test_comparator_detects_mutations(void **state)
{
    (void)state;
    struct ictal_event a;
    memset(&a, 0, sizeof a);
    a.kind = ICTAL_EVENT_FINAL;
    a.flags = ICTAL_EVENT_SEGMENTED;
    a.id = 3;
    a.segment = 2;
    a.n_channels = 70;
    a.start_frame = 100;
    a.end_frame = 200;
    a.emit_frame = 226;
    a.confidence = 0.75f;
    a.peak = 0.9f;
    a.method = ICTAL_CONFIDENCE_PERCENTILE;
    a.percentile = 90.0f;
    a.channels[0] = 0x5;
    a.channels[1] = 0x20;
    char what[512];
    assert_int_equal(pp_oracle_event_diff(&a, &a, what, sizeof what), 0);

    for (int field = 0; field < 22; field++) {
        struct ictal_event b = a;
        switch (field) {
        case 0: b.kind = ICTAL_EVENT_CANCEL; break;
        case 1: b.flags |= ICTAL_FRAME_XRUN; break;
        case 2: b.id++; break;
        case 3: b.segment--; break;
        case 4: b.n_channels = 69; break;
        case 5: b.start_frame++; break;
        case 6: b.end_frame--; break;
        case 7: b.emit_frame++; break;
        case 8: b.confidence = nextafterf(b.confidence, 1.0f); break;
        case 9: b.peak = nextafterf(b.peak, 0.0f); break;
        case 10: b.method = ICTAL_CONFIDENCE_MEAN; break;
        case 11: b.percentile = 0.0f; break; /* not lenient for the percentile method */
        case 12: b.percentile = 90.5f; break;
        case 13: b.channels[0] ^= 0x2; break;
        case 14: b.channels[1] = 0; break;
        case 15: b.channels[15] = 1; break;
        case 16: b.start_sample = 1; break;
        case 17: b.end_sample = -1; break;
        case 18: b.emit_sample = 7; break;
        case 19: b.start_s = 0.125; break;
        case 20: b.end_s = -0.0; break; /* bit for bit: -0 is not 0 */
        default: b.emit_s = 1e-300; break;
        }
        if (!pp_oracle_event_diff(&a, &b, what, sizeof what))
            fail_msg("mutation %d not reported", field);
        if (!pp_oracle_event_diff(&b, &a, what, sizeof what))
            fail_msg("mutation %d not reported (swapped)", field);
    }
    /* The one leniency: percentile for the other methods may be 0. */
    a.method = ICTAL_CONFIDENCE_MEAN;
    struct ictal_event b = a;
    b.percentile = 0.0f;
    assert_int_equal(pp_oracle_event_diff(&a, &b, what, sizeof what), 0);
    b.percentile = 50.0f;
    assert_int_equal(pp_oracle_event_diff(&a, &b, what, sizeof what), 1);

    /* Lists: a missing, an extra, a reordered record. */
    struct ictal_event l1[3], l2[3];
    for (int i = 0; i < 3; i++) {
        l1[i] = a;
        l1[i].id = (uint64_t)i + 1;
        l2[i] = l1[i];
    }
    assert_true(first_difference(l1, 3, l2, 3, what, sizeof what) == (size_t)-1);
    assert_int_equal(first_difference(l1, 3, l2, 2, what, sizeof what), 2);
    assert_int_equal(first_difference(l1, 2, l2, 3, what, sizeof what), 2);
    l2[1] = l1[2];
    l2[2] = l1[1];
    assert_int_equal(first_difference(l1, 3, l2, 3, what, sizeof what), 1);

    /* And the whole check: a streaming run compared with a doctored oracle
     * list fails. */
    struct test_rng r;
    test_rng_seed(&r, 77);
    int tried = 0;
    for (int it = 0; it < 200 && tried < 5; it++) {
        struct pp_case tc;
        random_case(&r, &tc, 600);
        struct ictal_event *want = NULL;
        size_t nwant = oracle_of(&tc, &want);
        if (nwant >= 2) {
            size_t *chunks = NULL;
            size_t nch = make_chunks(&r, tc.n, CH_RANDOM, &chunks);
            struct recs got = { 0 };
            char msg[2048];
            size_t bad;
            size_t victim = (size_t)test_rng_range(&r, 0, (int64_t)nwant - 1);
            want[victim].confidence = -1.0f;
            assert_int_equal(check_case(&tc, chunks, nch, want, nwant, &got, &bad, msg,
                                        sizeof msg), 1);
            want[victim].confidence = 0.0f;
            want[victim].emit_frame += 1;
            assert_int_equal(check_case(&tc, chunks, nch, want, nwant, &got, &bad, msg,
                                        sizeof msg), 1);
            assert_int_equal(check_case(&tc, chunks, nch, want, nwant - 1, &got, &bad, msg,
                                        sizeof msg), 1);
            recs_free(&got);
            free(chunks);
            tried++;
        }
        free(want);
        case_free(&tc);
    }
    assert_int_equal(tried, 5);
}

/* ---- 2. streaming equals the oracle ------------------------------------------------- */

static void test_stream_matches_oracle(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 0x9057fa11ull);
    const int cases = 12000;
    size_t frames = 0, records = 0, runs = 0, kinds[4] = { 0 }, segmented = 0, flushed = 0;
    for (int it = 0; it < cases; it++) {
        uint64_t case_seed = test_rng_next(&r);
        struct test_rng cr = { case_seed | 1u };
        struct pp_case tc;
        random_case(&cr, &tc, 3000);
        struct ictal_event *want = NULL;
        size_t nwant = oracle_of(&tc, &want);

        /* The two readings of the document agree on this input too. */
        {
            uint8_t *c = xcalloc(tc.n, 1);
            pp_oracle_ictal(&tc.cfg, tc.p, tc.n, c);
            struct recs t = { 0 };
            tracker_records(&tc.cfg, c, tc.p, tc.s, tc.f, tc.n, &t);
            char what[512];
            size_t d = first_difference(want, nwant, t.v, t.n, what, sizeof what);
            if (d != (size_t)-1)
                fail_msg("case %d (seed %#" PRIx64 "): oracle 3.3 vs 3.1 at %zu: %s", it,
                         case_seed, d, what);
            recs_free(&t);
            free(c);
        }

        /* Three chunkings: 1-frame every few cases, whole, and one random. */
        enum chunking modes[3] = { CH_WHOLE,
                                   (enum chunking)test_rng_range(&cr, CH_SMALL, CH_FIXED),
                                   it % 4 == 0 ? CH_ONES : CH_RANDOM };
        uint64_t chunk_seed = test_rng_next(&cr);
        for (int mi = 0; mi < 3; mi++) {
            struct test_rng chr = { (chunk_seed + (uint64_t)mi * 0x9E3779B97F4A7C15ull) | 1u };
            size_t *chunks = NULL;
            size_t nch = make_chunks(&chr, tc.n, modes[mi], &chunks);
            struct recs got = { 0 };
            char msg[2048];
            size_t bad;
            if (check_case(&tc, chunks, nch, want, nwant, &got, &bad, msg, sizeof msg)) {
                fprintf(stderr, "case %d of %d, case seed %#" PRIx64
                        " (replay: ICTAL_TEST_SEED unchanged; this is case %d)\n",
                        it, cases, case_seed, it);
                print_mismatch(&tc, chunking_name[modes[mi]], want, nwant, &got, bad, msg);
                struct pp_case small = case_copy(&tc);
                if (case_fails(&small, chunk_seed)) {
                    shrink(&small, chunk_seed);
                    print_repro(&small, chunk_seed);
                } else {
                    fprintf(stderr, "(fails only in the %s chunking above; not shrunk)\n",
                            chunking_name[modes[mi]]);
                }
                case_free(&small);
                fail_msg("streaming post-processing differs from the oracle: %s", msg);
            }
            recs_free(&got);
            free(chunks);
            runs++;
        }
        frames += tc.n;
        records += nwant;
        for (size_t i = 0; i < nwant; i++) {
            kinds[want[i].kind & 3]++;
            segmented += (want[i].flags & ICTAL_EVENT_SEGMENTED) != 0;
            flushed += (want[i].flags & ICTAL_EVENT_FLUSHED) != 0;
        }
        free(want);
        case_free(&tc);
    }
    print_message("%d cases, %zu frames, %zu streaming runs compared; %zu oracle records: "
                  "%zu alarms, %zu cancels, %zu finals (%zu segmented), %zu flushed\n",
                  cases, frames, runs, records, kinds[ICTAL_EVENT_ALARM],
                  kinds[ICTAL_EVENT_CANCEL], kinds[ICTAL_EVENT_FINAL], segmented, flushed);
}

/* ---- 3. chunk invariance on its own -------------------------------------------------- */

static void run_chunks(const struct pp_case *tc, const size_t *chunks, size_t nchunks,
                       struct recs *got)
{
    struct ictal_postproc *pp = create_or_fail(&tc->cfg);
    struct ictal_event_sink sink = sink_to(got);
    size_t nc = (size_t)tc->cfg.n_channels, at = 0;
    for (size_t i = 0; i < nchunks; i++) {
        assert_int_equal(ictal_postproc_process(pp, tc->p + at, tc->s ? tc->s + at * nc : NULL,
                                                tc->f ? tc->f + at : NULL, chunks[i], &sink),
                         0);
        at += chunks[i];
    }
    assert_int_equal(ictal_postproc_flush(pp, &sink), 0);
    ictal_postproc_destroy(pp);
}

static void test_chunk_invariance(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 0xc4c4c4ull);
    for (int it = 0; it < 1000; it++) {
        struct pp_case tc;
        random_case(&r, &tc, 2000);
        struct recs ref = { 0 };
        size_t *chunks = NULL;
        size_t nch = make_chunks(&r, tc.n, CH_WHOLE, &chunks);
        run_chunks(&tc, chunks, nch, &ref);
        free(chunks);
        for (int k = 0; k < 4; k++) {
            enum chunking mode = k == 0 ? CH_ONES : (enum chunking)test_rng_range(&r, CH_SMALL,
                                                                                  CH_FIXED);
            nch = make_chunks(&r, tc.n, mode, &chunks);
            struct recs got = { 0 };
            run_chunks(&tc, chunks, nch, &got);
            char what[512];
            size_t d = first_difference(ref.v, ref.n, got.v, got.n, what, sizeof what);
            if (d != (size_t)-1) {
                char cf[512];
                pp_oracle_config_format(&tc.cfg, cf, sizeof cf);
                fail_msg("case %d, %s chunks vs whole: record %zu: %s (config %s)", it,
                         chunking_name[mode], d, what, cf);
            }
            recs_free(&got);
            free(chunks);
        }
        recs_free(&ref);
        case_free(&tc);
    }
}

/* ---- 4. state save / restore ---------------------------------------------------------- */

static void push_all(struct ictal_postproc *pp, const struct pp_case *tc, size_t from,
                     size_t to, struct recs *got)
{
    struct ictal_event_sink sink = sink_to(got);
    size_t nc = (size_t)tc->cfg.n_channels;
    assert_int_equal(ictal_postproc_process(pp, tc->p + from, tc->s ? tc->s + from * nc : NULL,
                                            tc->f ? tc->f + from : NULL, to - from, &sink),
                     0);
}

static void expect_continuation(struct ictal_postproc *pp, const struct pp_case *tc,
                                size_t from, struct test_rng *r, const struct ictal_event *want,
                                size_t nwant, const char *what_run)
{
    size_t *chunks = NULL;
    size_t nch = make_chunks(r, tc->n - from, (enum chunking)test_rng_range(r, CH_ONES, CH_FIXED),
                             &chunks);
    struct recs got = { 0 };
    char msg[2048];
    size_t bad;
    if (stream_check(pp, tc, from, chunks, nch, want, nwant, &got, &bad, msg, sizeof msg)) {
        char cf[512];
        pp_oracle_config_format(&tc->cfg, cf, sizeof cf);
        fail_msg("%s, continuing from frame %zu of %zu: %s (config %s)", what_run, from, tc->n,
                 msg, cf);
    }
    recs_free(&got);
    free(chunks);
}

static void test_state_save_restore(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 0x5a7e5a7eull);
    for (int it = 0; it < 1000; it++) {
        struct pp_case tc;
        random_case(&r, &tc, 2000);
        struct ictal_event *want = NULL;
        size_t nwant = oracle_of(&tc, &want);
        size_t k = (size_t)test_rng_range(&r, 0, (int64_t)tc.n);

        struct ictal_postproc *a = create_or_fail(&tc.cfg);
        struct recs junk = { 0 };
        push_all(a, &tc, 0, k, &junk);
        size_t size = ictal_postproc_state_size(a);
        assert_true(size > 0);
        unsigned char *img = xmalloc(size);
        assert_int_equal(ictal_postproc_state_save(a, img, size), 0);
        assert_int_equal(ictal_postproc_state_save(a, img, size - 1), ICTAL_ERANGE);
        int active = ictal_postproc_alarm_active(a) != 0;

        /* The saved object itself goes on to the oracle's records. */
        expect_continuation(a, &tc, k, &r, want, nwant, "original");

        /* A second object, busy with something else, loads the image. */
        struct ictal_postproc *b = create_or_fail(&tc.cfg);
        struct pp_case other;
        random_case(&r, &other, 300);
        if (other.cfg.n_channels != tc.cfg.n_channels) {
            free(other.s);
            other.s = NULL;
        }
        other.cfg = tc.cfg;
        push_all(b, &other, 0, other.n, &junk);
        assert_int_equal(ictal_postproc_state_load(b, img, size), 0);
        assert_int_equal(ictal_postproc_frames_pushed(b), k);
        assert_int_equal(ictal_postproc_alarm_active(b) != 0, active);
        expect_continuation(b, &tc, k, &r, want, nwant, "restored into a second object");

        /* The first object, flushed by now, loads it too and goes on again. */
        assert_int_equal(ictal_postproc_state_load(a, img, size), 0);
        assert_int_equal(ictal_postproc_frames_pushed(a), k);
        expect_continuation(a, &tc, k, &r, want, nwant, "restored into the same object");

        /* Reset: a fresh stream, ids from 1 again. */
        ictal_postproc_reset(a);
        assert_int_equal(ictal_postproc_frames_pushed(a), 0);
        assert_false(ictal_postproc_alarm_active(a));
        expect_continuation(a, &tc, 0, &r, want, nwant, "after reset");

        ictal_postproc_destroy(a);
        ictal_postproc_destroy(b);
        free(img);
        recs_free(&junk);
        case_free(&other);
        free(want);
        case_free(&tc);
    }
}

/* An image from another configuration is refused with ICTAL_EINVAL and the
 * object goes on as if nothing happened; so is a short image. */
static void test_state_load_foreign(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 0xf0e1a9ull);
    int refused = 0;
    for (int it = 0; it < 60; it++) {
        struct pp_case tc;
        random_case(&r, &tc, 1500);
        struct ictal_postproc *src = create_or_fail(&tc.cfg);
        struct recs junk = { 0 };
        push_all(src, &tc, 0, tc.n / 2, &junk);
        size_t size = ictal_postproc_state_size(src);
        unsigned char *img = xmalloc(size);
        assert_int_equal(ictal_postproc_state_save(src, img, size), 0);

        for (int variant = 0; variant < 9; variant++) {
            struct pp_case other = case_copy(&tc);
            struct ictal_postproc_config *c = &other.cfg;
            switch (variant) {
            case 0:
                c->threshold_on = c->threshold_on > 0.5f ? c->threshold_on - 0.125f
                                                         : c->threshold_on + 0.125f;
                if (c->threshold_off > c->threshold_on)
                    c->threshold_off = c->threshold_on;
                break;
            case 1: c->n_on = c->n_on % 5 + 1; break;
            case 2: c->opening = c->opening ? 0 : 3; break;
            case 3:
                c->min_frames = c->min_frames ? c->min_frames - 1 : 1;
                if (c->max_frames < c->min_frames)
                    c->max_frames = c->min_frames;
                break;
            case 4: c->merge_frames++; break;
            case 5: c->max_frames++; break;
            case 6:
                c->confidence = c->confidence == ICTAL_CONFIDENCE_MEAN ? ICTAL_CONFIDENCE_PEAK
                                                                       : ICTAL_CONFIDENCE_MEAN;
                break;
            case 7: c->percentile = c->percentile < 50.0f ? 75.0f : 25.0f; break;
            default:
                c->n_channels = c->n_channels % 5 + 1;
                free(other.s);
                other.s = NULL;
                break;
            }
            struct ictal_event *want = NULL;
            size_t nwant = oracle_of(&other, &want);
            struct ictal_postproc *b = create_or_fail(&other.cfg);
            size_t k = (size_t)test_rng_range(&r, 0, (int64_t)other.n);
            struct recs got = { 0 };
            push_all(b, &other, 0, k, &got);
            int rc = ictal_postproc_state_load(b, img, size);
            if (rc != ICTAL_EINVAL) {
                char cf[512];
                pp_oracle_config_format(&other.cfg, cf, sizeof cf);
                fail_msg("variant %d: loading an image of another configuration returned %d, "
                         "want ICTAL_EINVAL (%s)", variant, rc, cf);
            }
            assert_int_equal(ictal_postproc_frames_pushed(b), k);
            /* Unchanged: the rest of its own stream gives the oracle's records. */
            expect_continuation(b, &other, k, &r, want, nwant, "after a refused load");
            refused++;
            recs_free(&got);
            ictal_postproc_destroy(b);
            free(want);
            case_free(&other);
        }

        /* Same configuration, short image. */
        {
            struct ictal_event *want = NULL;
            size_t nwant = oracle_of(&tc, &want);
            struct ictal_postproc *b = create_or_fail(&tc.cfg);
            struct recs got = { 0 };
            size_t k = tc.n / 3;
            push_all(b, &tc, 0, k, &got);
            assert_true(ictal_postproc_state_load(b, img, size - 1) < 0);
            assert_true(ictal_postproc_state_load(b, img, 0) < 0);
            assert_int_equal(ictal_postproc_frames_pushed(b), k);
            expect_continuation(b, &tc, k, &r, want, nwant, "after a short image");
            recs_free(&got);
            ictal_postproc_destroy(b);
            free(want);
        }
        ictal_postproc_destroy(src);
        free(img);
        recs_free(&junk);
        case_free(&tc);
    }
    assert_int_equal(refused, 60 * 9);
}

/* The percentile rank as written, r = max(1, ceil(q/100 * N)) in double:
 * with q = 28 and N = 25, q/100 * N is 7.000000000000001, so r = 8 (the
 * nearest rank q*N/100 = 7 would take the 7th value). Streaming vs oracle on
 * a record of exactly 25 frames, one value per bin. */
static void test_percentile_rank_in_double(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_config();
    cfg.n_on = cfg.n_off = 1;
    cfg.min_frames = 0;
    cfg.merge_frames = 0;
    cfg.max_frames = 100;
    cfg.confidence = ICTAL_CONFIDENCE_PERCENTILE;
    static const float qs[] = { 28.0f, 56.0f, 14.0f, 7.0f, 55.0f };
    static const size_t lens[] = { 25, 25, 50, 100, 100 };
    static const size_t ranks[] = { 8, 15, 8, 8, 56 };
    for (size_t t = 0; t < sizeof qs / sizeof qs[0]; t++) {
        cfg.percentile = qs[t];
        struct pp_case tc = { .cfg = cfg, .n = lens[t] + 10 };
        tc.p = xcalloc(tc.n, sizeof *tc.p);
        for (size_t k = 0; k < lens[t]; k++) /* descending: rank != position */
            tc.p[k] = 0.5f + 0.49f * (float)(lens[t] - 1 - k) / (float)lens[t];
        struct ictal_event *want = NULL;
        size_t nwant = oracle_of(&tc, &want);
        assert_int_equal(nwant, 2);
        assert_int_equal(want[1].kind, ICTAL_EVENT_FINAL);
        assert_int_equal(want[1].end_frame, (int64_t)lens[t]);
        /* The ranks[t]-th smallest of the record. */
        float expect = tc.p[lens[t] - ranks[t]];
        if (want[1].confidence != expect)
            fail_msg("oracle: q %g N %zu: want %.9g, got %.9g", (double)qs[t], lens[t],
                     (double)expect, (double)want[1].confidence);
        size_t *chunks = NULL;
        struct test_rng r = { 5 };
        size_t nch = make_chunks(&r, tc.n, CH_WHOLE, &chunks);
        struct recs got = { 0 };
        char msg[2048];
        size_t bad;
        if (check_case(&tc, chunks, nch, want, nwant, &got, &bad, msg, sizeof msg)) {
            print_mismatch(&tc, "whole", want, nwant, &got, bad, msg);
            fail_msg("percentile %g over %zu frames: %s", (double)qs[t], lens[t], msg);
        }
        recs_free(&got);
        free(chunks);
        free(want);
        case_free(&tc);
    }
}

/* process(): a NULL prob with frames is refused and changes nothing; a NULL
 * sink discards the records (the stream goes on); zero frames are fine. */
static void test_process_arguments(void **state)
{
    (void)state;
    struct ictal_postproc_config cfg = base_config();
    struct ictal_postproc *pp = create_or_fail(&cfg);
    struct recs got = { 0 };
    struct ictal_event_sink sink = sink_to(&got);
    float p[16];
    size_t n = probs("0 1 1 1 1 0 0 0 0", p);
    assert_int_equal(ictal_postproc_process(pp, NULL, NULL, NULL, 1, &sink), ICTAL_EINVAL);
    assert_int_equal(ictal_postproc_frames_pushed(pp), 0);
    assert_int_equal(ictal_postproc_process(pp, NULL, NULL, NULL, 0, &sink), 0);
    assert_int_equal(ictal_postproc_process(pp, p, NULL, NULL, 3, NULL), 0); /* alarm: dropped */
    assert_int_equal(got.n, 0);
    assert_true(ictal_postproc_alarm_active(pp));
    assert_int_equal(ictal_postproc_process(pp, p + 3, NULL, NULL, n - 3, &sink), 0);
    assert_int_equal(ictal_postproc_frames_pushed(pp), n);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.v[0].kind, ICTAL_EVENT_FINAL);
    assert_int_equal(got.v[0].emit_frame, 9);
    assert_false(ictal_postproc_alarm_active(pp));
    assert_int_equal(ictal_postproc_flush(pp, NULL), 0);
    recs_free(&got);
    ictal_postproc_destroy(pp);
    ictal_postproc_destroy(NULL);
}

/* ---- 6. two hours at 8 Hz ---------------------------------------------------------- */

static void test_two_hours(void **state)
{
    (void)state;
    enum { N = 57600, C = 4 };
    struct ictal_postproc_config cfg = {
        .threshold_on = 0.5f, .threshold_off = 0.35f, .n_on = 2, .n_off = 4,
        .opening = 8, .closing = 16, .min_frames = 40, .merge_frames = 80,
        .max_frames = 4800, .confidence = ICTAL_CONFIDENCE_MEAN, .percentile = 90.0f,
        .n_channels = C,
    };
    struct pp_case tc = { .cfg = cfg, .n = N };
    tc.p = xmalloc(N * sizeof *tc.p);
    tc.s = xmalloc((size_t)N * C * sizeof *tc.s);
    tc.f = xcalloc(N, 1);
    struct test_rng r;
    test_rng_seed(&r, 0x2468aceull);
    for (size_t k = 0; k < N; k++) {
        tc.p[k] = 0.05f + 0.25f * unitf(&r); /* always below threshold_off */
        for (size_t c = 0; c < C; c++)
            tc.s[k * C + c] = 0.3f * unitf(&r);
    }
    /* Events: [start, len) at 8 Hz, high probability (>= 0.55), channels 0
     * and 2 involved. */
    static const struct { size_t start, len; } evs[] = {
        { 4800, 360 },           /* 10 min: 45 s */
        { 14400, 5600 },         /* 30 min: 700 s -> 600 s + 100 s */
        { 28800, 24 },           /* 60 min: 3 s, survives opening, dropped */
        { 38400, 480 },          /* 80 min: 60 s, then a 5 s gap ... */
        { 38400 + 480 + 40, 480 }, /* ... and 60 s more: merged */
        { 48000, 900 },          /* 100 min: with short dips */
    };
    for (size_t e = 0; e < sizeof evs / sizeof evs[0]; e++) {
        for (size_t k = evs[e].start; k < evs[e].start + evs[e].len; k++) {
            tc.p[k] = 0.55f + 0.44f * unitf(&r);
            tc.s[k * C + 0] = 0.6f + 0.3f * unitf(&r);
            tc.s[k * C + 2] = 0.5f + 0.3f * unitf(&r);
        }
    }
    /* Dips of at most 3 frames below threshold_off (n_off 4 holds), and a few
     * frames between the thresholds, inside the last event. */
    for (size_t k = 48050; k < 48850; k += 37) {
        size_t len = (size_t)test_rng_range(&r, 1, 3);
        for (size_t i = 0; i < len; i++)
            tc.p[k + i] = 0.1f;
        tc.p[k + 10] = 0.4f;
    }
    /* An xrun inside the first event; NaNs and spikes of 1-3 frames in the
     * background, far from the events (removed by n_on / opening). */
    tc.f[4900] = ICTAL_FRAME_XRUN;
    tc.f[100] = ICTAL_FRAME_BAD_CHANNEL;
    for (size_t k = 1000; k + 400 < N; k += (size_t)test_rng_range(&r, 150, 700)) {
        int near = 0;
        for (size_t e = 0; e < sizeof evs / sizeof evs[0]; e++)
            if (k + 250 > evs[e].start && k < evs[e].start + evs[e].len + 250)
                near = 1;
        if (near)
            continue;
        if (test_rng_range(&r, 0, 3) == 0) {
            tc.p[k] = NAN;
            continue;
        }
        size_t len = (size_t)test_rng_range(&r, 1, 3);
        for (size_t i = 0; i < len; i++)
            tc.p[k + i] = 0.9f;
    }

    struct ictal_event *want = NULL;
    size_t nwant = oracle_of(&tc, &want);

    /* What the document says, by hand (D = 25, so an emission at c-frame x is
     * made when frame x + 25 is pushed: emit_frame x + 26). */
    struct ictal_postproc *pp = create_or_fail(&cfg);
    assert_int_equal(ictal_postproc_delay(pp), 25);
    ictal_postproc_destroy(pp);
    const struct want_rec hand[] = {
        { ICTAL_EVENT_ALARM, 1, 0, 4800, 4826, 4826, 0 },
        { ICTAL_EVENT_FINAL, 1, 1, 4800, 5160, 5160 + 79 + 26, 0 },
        { ICTAL_EVENT_ALARM, 2, 0, 14400, 14426, 14426, 0 },
        { ICTAL_EVENT_FINAL, 2, 1, 14400, 19200, 19200 + 26, ICTAL_EVENT_SEGMENTED },
        { ICTAL_EVENT_FINAL, 2, 2, 19200, 20000, 20000 + 79 + 26, ICTAL_EVENT_SEGMENTED },
        { ICTAL_EVENT_ALARM, 3, 0, 28800, 28826, 28826, 0 },
        { ICTAL_EVENT_CANCEL, 3, 0, 28800, 28824, 28824 + 26, 0 },
        { ICTAL_EVENT_ALARM, 4, 0, 38400, 38426, 38426, 0 },
        { ICTAL_EVENT_FINAL, 4, 1, 38400, 39400, 39400 + 79 + 26, 0 },
        { ICTAL_EVENT_ALARM, 5, 0, 48000, 48026, 48026, 0 },
        { ICTAL_EVENT_FINAL, 5, 1, 48000, 48900, 48900 + 79 + 26, 0 },
    };
    assert_int_equal(nwant, sizeof hand / sizeof hand[0]);
    for (size_t i = 0; i < nwant; i++) {
        assert_int_equal(want[i].kind, hand[i].kind);
        assert_int_equal(want[i].id, hand[i].id);
        assert_int_equal(want[i].segment, hand[i].segment);
        assert_int_equal(want[i].start_frame, hand[i].start);
        assert_int_equal(want[i].end_frame, hand[i].end);
        assert_int_equal(want[i].emit_frame, hand[i].emit);
        assert_int_equal(want[i].flags & (ICTAL_EVENT_SEGMENTED | ICTAL_EVENT_FLUSHED),
                         hand[i].flags);
        assert_int_equal(want[i].n_channels, C);
        assert_int_equal(want[i].channels[0], 0x5u); /* channels 0 and 2 */
    }
    assert_int_equal(want[1].flags & ICTAL_FRAME_XRUN, ICTAL_FRAME_XRUN);
    assert_true(want[3].peak >= 0.55f && want[3].confidence >= 0.55f);

    /* The streaming code, three ways. */
    for (int mode = 0; mode < 3; mode++) {
        enum chunking ch = mode == 0 ? CH_WHOLE : mode == 1 ? CH_ONES : CH_RANDOM;
        size_t *chunks = NULL;
        size_t nch = make_chunks(&r, N, ch, &chunks);
        struct recs got = { 0 };
        char msg[2048];
        size_t bad;
        if (check_case(&tc, chunks, nch, want, nwant, &got, &bad, msg, sizeof msg)) {
            print_mismatch(&tc, chunking_name[ch], want, nwant, &got, bad, msg);
            fail_msg("two hours, %s chunks: %s", chunking_name[ch], msg);
        }
        recs_free(&got);
        free(chunks);
    }
    free(want);
    case_free(&tc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle_hysteresis),
        cmocka_unit_test(test_oracle_morphology),
        cmocka_unit_test(test_oracle_worked_examples),
        cmocka_unit_test(test_oracle_records_by_hand),
        cmocka_unit_test(test_oracle_stats),
        cmocka_unit_test(test_oracle_readings_agree),
        cmocka_unit_test(test_comparator_detects_mutations),
        cmocka_unit_test(test_stream_matches_oracle),
        cmocka_unit_test(test_chunk_invariance),
        cmocka_unit_test(test_state_save_restore),
        cmocka_unit_test(test_state_load_foreign),
        cmocka_unit_test(test_percentile_rank_in_double),
        cmocka_unit_test(test_process_arguments),
        cmocka_unit_test(test_two_hours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
