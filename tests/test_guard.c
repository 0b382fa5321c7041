/*
 * test_guard.c — the input guard against its specification (guard.h):
 *  - crafted signals for each rule: scrubbing (last finite sample, 0 before
 *    the first) and counting, CLIPPED's 1 % threshold, IMPLAUSIBLE's strict
 *    bound, NONFINITE, FLAT's stretch and duration, flags that change only at
 *    block ends and hold until the next;
 *  - a property test against a plain reference written from the header's
 *    words (O(n^2) flat stretches, whole arrays): random signals with flat
 *    runs, clipping bursts, spikes and NaN/Inf; 1-sample, block-split and
 *    free random chunkings give the same samples, the same flags at every
 *    block end, the same counters and the same scrubbed_in_block;
 *  - save/restore continues identically; bad images are refused unchanged;
 *  - invalid configurations name their field; ictal_quality_string;
 *  - process and the accessors call no allocator, lock or I/O (RT guard).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/guard.h"
#define RT_GUARD_INTERPOSE
#include "rt_guard.h"
#include "test_util.h"

static struct ictal_guard_config cfg_default(int C, double rate)
{
    struct ictal_guard_config c = {
        .n_channels = C,
        .rate = rate,
        .flat_uv = 1.0,
        .flat_duration = 2.0,
        .clip_uv = 300.0,
        .implausible_uv = 500.0,
    };
    return c;
}

static struct ictal_guard *mk(const struct ictal_guard_config *cfg)
{
    struct ictal_error err;
    struct ictal_guard *g = ictal_guard_create(cfg, &err);
    if (!g)
        fail_msg("create: %s", err.msg);
    return g;
}

/* ------------------------------------------------------------ crafted */

static void test_scrub_and_count(void **state)
{
    (void)state;
    struct ictal_guard_config cfg = cfg_default(2, 4.0);
    struct ictal_guard *g = mk(&cfg);
    float a[6] = {NAN, 1.0f, INFINITY, -INFINITY, 2.0f, NAN};
    float b[6] = {5, 6, 7, 8, 9, 10};
    float *buf[2] = {a, b};
    assert_int_equal(ictal_guard_process(g, buf, 6), 1); /* block = 4 */
    const float want[6] = {0, 1, 1, 1, 2, 2};
    assert_memory_equal(a, want, sizeof want);
    const float bw[6] = {5, 6, 7, 8, 9, 10};
    assert_memory_equal(b, bw, sizeof bw);
    struct ictal_guard_counts k = ictal_guard_counts(g, 0);
    assert_int_equal(k.nonfinite, 4);
    assert_int_equal(k.clipped, 0);
    assert_int_equal(k.implausible, 0);
    assert_int_equal(k.blocks_flagged, 1);
    assert_int_equal(ictal_guard_counts(g, 1).nonfinite, 0);
    assert_int_equal(ictal_guard_flags(g, 0), ICTAL_QUALITY_NONFINITE);
    assert_int_equal(ictal_guard_flags(g, 1), 0);
    /* Out of range channels: zeros. */
    assert_int_equal(ictal_guard_flags(g, 2), 0);
    assert_int_equal(ictal_guard_flags(g, -1), 0);
    assert_int_equal(ictal_guard_counts(g, 5).nonfinite, 0);
    /* The held value carries across calls: -Inf after 2 becomes 2. */
    float c[1] = {-INFINITY}, d[1] = {3};
    float *buf2[2] = {c, d};
    ictal_guard_process(g, buf2, 1);
    assert_true(c[0] == 2.0f);
    assert_int_equal(ictal_guard_counts(g, 0).nonfinite, 5);
    ictal_guard_destroy(g);
}

/* CLIPPED: at least ceil(1 % of the block) samples at or beyond +-clip_uv;
 * IMPLAUSIBLE: beyond implausible_uv, strictly. */
static void test_clipped_and_implausible(void **state)
{
    (void)state;
    struct ictal_guard_config cfg = cfg_default(1, 256.0); /* needs 3 clipped samples */
    cfg.flat_uv = 0;
    struct ictal_guard *g = mk(&cfg);
    float x[256];
    for (int blk = 0; blk < 6; blk++) {
        for (int i = 0; i < 256; i++)
            x[i] = (float)((i % 7) * 10 - 30);
        switch (blk) {
        case 0: x[10] = 300.0f; x[200] = -300.0f; x[100] = 299.99f; break;  /* 2: no */
        case 1: x[0] = -300.0f; x[1] = 301.0f; x[255] = 450.0f; break;      /* 3: yes */
        case 2: break;                                                      /* clean */
        case 3: x[50] = 500.0f; x[51] = -500.0f; break;                     /* not beyond */
        case 4: x[77] = -500.01f; break;                                    /* beyond */
        default: break;
        }
        assert_int_equal(ictal_guard_process(g, (float *[]){x}, 256), 1);
        unsigned f = ictal_guard_flags(g, 0);
        /* block 3: two samples at +-500 are clipped (2 < 3) but not beyond 500 */
        static const unsigned wants[6] = {0, ICTAL_QUALITY_CLIPPED, 0, 0, ICTAL_QUALITY_IMPLAUSIBLE, 0};
        unsigned want = wants[blk];
        if (f != want)
            fail_msg("block %d: flags %#x, want %#x", blk, f, want);
    }
    struct ictal_guard_counts k = ictal_guard_counts(g, 0);
    assert_int_equal(k.clipped, 2 + 3 + 2 + 1);
    assert_int_equal(k.implausible, 1);
    assert_int_equal(k.blocks_flagged, 2);
    ictal_guard_destroy(g);

    /* clip_uv 0: never clipped, even at huge values (implausible still). */
    cfg.clip_uv = 0;
    g = mk(&cfg);
    for (int i = 0; i < 256; i++)
        x[i] = 1e4f;
    ictal_guard_process(g, (float *[]){x}, 256);
    assert_int_equal(ictal_guard_flags(g, 0), ICTAL_QUALITY_IMPLAUSIBLE);
    assert_int_equal(ictal_guard_counts(g, 0).clipped, 0);
    ictal_guard_destroy(g);

    /* A tiny block still needs one sample: rate 10 -> block 10, 1 needed. */
    cfg = cfg_default(1, 10.0);
    g = mk(&cfg);
    float y[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 300};
    ictal_guard_process(g, (float *[]){y}, 10);
    assert_int_equal(ictal_guard_flags(g, 0), ICTAL_QUALITY_CLIPPED);
    ictal_guard_destroy(g);
}

/* Flags are computed at block ends and held until the next one. */
static void test_flags_change_at_block_ends(void **state)
{
    (void)state;
    struct ictal_guard_config cfg = cfg_default(1, 100.0);
    cfg.flat_uv = 0;
    struct ictal_guard *g = mk(&cfg);
    assert_int_equal(ictal_guard_block(g), 100);
    float x[400];
    for (int i = 0; i < 400; i++)
        x[i] = (float)(i % 13);
    x[130] = NAN;       /* block 1 */
    x[250] = 1000.0f;   /* block 2 */
    /* 1000 µV is also clipped, and one sample is 1 % of 100. */
    unsigned want_after_block[4] = {0, ICTAL_QUALITY_NONFINITE, ICTAL_QUALITY_IMPLAUSIBLE | ICTAL_QUALITY_CLIPPED, 0};
    for (int i = 0; i < 400; i++) {
        assert_int_equal(ictal_guard_until_block_end(g), 100 - (size_t)(i % 100));
        size_t ended = ictal_guard_process(g, (float *[]){x + i}, 1);
        assert_int_equal(ended, (i + 1) % 100 == 0);
        int done_blocks = (i + 1) / 100;
        unsigned want = done_blocks ? want_after_block[done_blocks - 1] : 0;
        if (ictal_guard_flags(g, 0) != want)
            fail_msg("after sample %d: flags %#x, want %#x", i, ictal_guard_flags(g, 0), want);
        /* scrubbed_in_block: the block of the last consumed sample, so far. */
        int sib = i >= 130 && i < 200;
        if (ictal_guard_scrubbed_in_block(g) != sib)
            fail_msg("after sample %d: scrubbed_in_block %d", i, ictal_guard_scrubbed_in_block(g));
    }
    ictal_guard_destroy(g);
    /* Block is round(rate). */
    struct { double rate; size_t block; } br[] = {{256.0, 256}, {250.4, 250}, {250.5, 251}, {0.5, 1}, {48000.0, 48000}};
    for (size_t i = 0; i < sizeof br / sizeof br[0]; i++) {
        cfg.rate = br[i].rate;
        g = mk(&cfg);
        assert_int_equal(ictal_guard_block(g), br[i].block);
        assert_int_equal(ictal_guard_until_block_end(g), br[i].block);
        ictal_guard_destroy(g);
    }
}

static void test_flat(void **state)
{
    (void)state;
    struct ictal_guard_config cfg = cfg_default(3, 256.0); /* flat: 1 µV for 2 s = 512 samples */
    struct ictal_guard *g = mk(&cfg);
    const size_t N = 256 * 8;
    float *x[3];
    for (int c = 0; c < 3; c++) {
        x[c] = malloc(N * sizeof(float));
        assert_non_null(x[c]);
    }
    struct test_rng rng;
    test_rng_seed(&rng, 0x6a4d0001);
    for (size_t i = 0; i < N; i++) {
        /* ch0: constant from the start. ch1: noise until 300, then wobbling
         * within +-0.5 around 40 (a band of exactly 1). ch2: noise throughout. */
        x[0][i] = 12.5f;
        x[1][i] = i < 300 ? (float)((test_rng_unit(&rng) - 0.5) * 100.0) : (i % 2 ? 40.5f : 39.5f);
        x[2][i] = (float)((test_rng_unit(&rng) - 0.5) * 100.0);
    }
    x[1][299] = 0.0f; /* well outside [39.5, 40.5]: the stretch starts at 300 */
    /* ch0 again flat later, then a step of 1.01 µV breaks the stretch at 1500. */
    for (size_t i = 1500; i < N; i++)
        x[0][i] = 13.51f;
    for (int b = 0; b < 8; b++) {
        float *buf[3] = {x[0] + b * 256, x[1] + b * 256, x[2] + b * 256};
        assert_int_equal(ictal_guard_process(g, buf, 256), 1);
        const uint64_t end = (uint64_t)(b + 1) * 256;
        unsigned w0 = (end < 1500 ? end >= 512 : end - 1500 >= 512) ? ICTAL_QUALITY_FLAT : 0;
        unsigned w1 = end >= 300 + 512 ? ICTAL_QUALITY_FLAT : 0;
        if (ictal_guard_flags(g, 0) != w0 || ictal_guard_flags(g, 1) != w1 || ictal_guard_flags(g, 2) != 0)
            fail_msg("block %d: flags %#x %#x %#x, want %#x %#x 0", b, ictal_guard_flags(g, 0),
                     ictal_guard_flags(g, 1), ictal_guard_flags(g, 2), w0, w1);
    }
    /* ch0: flat at ends 512..1280 (4 blocks) and 2048 (1500 + 548): 5 blocks. */
    assert_int_equal(ictal_guard_counts(g, 0).blocks_flagged, 4 + 1);
    ictal_guard_destroy(g);

    /* flat_uv 0 or flat_duration 0: detection off. */
    for (int k = 0; k < 2; k++) {
        cfg = cfg_default(1, 256.0);
        if (k)
            cfg.flat_duration = 0;
        else
            cfg.flat_uv = 0;
        g = mk(&cfg);
        for (int b = 0; b < 4; b++)
            ictal_guard_process(g, (float *[]){x[0]}, 256);
        assert_int_equal(ictal_guard_flags(g, 0), 0);
        ictal_guard_destroy(g);
    }
    /* A channel stuck at NaN is held at its last value: flat and non-finite. */
    cfg = cfg_default(1, 256.0);
    g = mk(&cfg);
    float nan[256];
    for (int b = 0; b < 3; b++) {
        for (int i = 0; i < 256; i++)
            nan[i] = NAN; /* scrubbed in place: refill */
        ictal_guard_process(g, (float *[]){nan}, 256);
    }
    assert_int_equal(ictal_guard_flags(g, 0), ICTAL_QUALITY_FLAT | ICTAL_QUALITY_NONFINITE);
    ictal_guard_destroy(g);
    for (int c = 0; c < 3; c++)
        free(x[c]);
}

/* ------------------------------------------------------------ reference */

struct ref {
    size_t N, B, n_blocks;
    float *y[4];             /* scrubbed samples */
    unsigned *flags[4];      /* (n_blocks) flags at each block end */
    struct ictal_guard_counts counts[4];
    unsigned char *sib;      /* (N + 1) scrubbed_in_block after p samples */
};

#define RC 4

/* The header's rules, written plainly over whole arrays. */
static void reference(const struct ictal_guard_config *cfg, float *const *x, size_t N, struct ref *r)
{
    const size_t B = (size_t)lround(cfg->rate);
    r->N = N;
    r->B = B;
    r->n_blocks = N / B;
    r->sib = calloc(N + 1, 1);
    assert_non_null(r->sib);
    unsigned char *nf_any = calloc(N, 1);
    assert_non_null(nf_any);
    for (int c = 0; c < cfg->n_channels; c++) {
        float *y = malloc(N * sizeof(float));
        unsigned *fl = calloc(r->n_blocks + 1, sizeof(unsigned));
        assert_non_null(y);
        assert_non_null(fl);
        memset(&r->counts[c], 0, sizeof r->counts[c]);
        float last = 0.0f;
        for (size_t i = 0; i < N; i++) {
            if (isnan(x[c][i]) || isinf(x[c][i])) {
                y[i] = last;
                r->counts[c].nonfinite++;
                nf_any[i] = 1;
            } else {
                y[i] = last = x[c][i];
                if (cfg->clip_uv > 0 && fabs(x[c][i]) >= cfg->clip_uv)
                    r->counts[c].clipped++;
                if (fabs(x[c][i]) > cfg->implausible_uv)
                    r->counts[c].implausible++;
            }
        }
        /* Flat stretch starts by the definition: re-scan the stretch for
         * every sample. */
        size_t *start_at = malloc(N * sizeof(size_t)); /* stretch start after sample i */
        assert_non_null(start_at);
        size_t start = 0;
        for (size_t i = 0; i < N; i++) {
            double lo = y[i], hi = y[i];
            for (size_t k = start; k < i; k++) {
                lo = fmin(lo, y[k]);
                hi = fmax(hi, y[k]);
            }
            if (hi - lo > cfg->flat_uv)
                start = i;
            start_at[i] = start;
        }
        const double need = cfg->flat_duration * cfg->rate;
        for (size_t b = 0; b < r->n_blocks; b++) {
            size_t s = b * B, e = s + B;
            size_t clipped = 0;
            unsigned f = 0;
            for (size_t i = s; i < e; i++) {
                if (isnan(x[c][i]) || isinf(x[c][i])) {
                    f |= ICTAL_QUALITY_NONFINITE;
                    continue;
                }
                if (cfg->clip_uv > 0 && fabs(x[c][i]) >= cfg->clip_uv)
                    clipped++;
                if (fabs(x[c][i]) > cfg->implausible_uv)
                    f |= ICTAL_QUALITY_IMPLAUSIBLE;
            }
            if (cfg->clip_uv > 0 && clipped >= 1 && (double)clipped >= 0.01 * (double)B)
                f |= ICTAL_QUALITY_CLIPPED;
            if (cfg->flat_uv > 0 && cfg->flat_duration > 0 && (double)(e - start_at[e - 1]) >= need - 1e-9)
                f |= ICTAL_QUALITY_FLAT;
            fl[b] = f;
            if (f)
                r->counts[c].blocks_flagged++;
        }
        free(start_at);
        r->y[c] = y;
        r->flags[c] = fl;
    }
    /* After p samples: any non-finite in the block of sample p - 1, up to it. */
    for (size_t p = 1; p <= N; p++) {
        size_t s = (p - 1) / B * B;
        unsigned char any = 0;
        for (size_t i = s; i < p; i++)
            any |= nf_any[i];
        r->sib[p] = any;
    }
    free(nf_any);
}

static void ref_free(struct ref *r, int C)
{
    for (int c = 0; c < C; c++) {
        free(r->y[c]);
        free(r->flags[c]);
    }
    free(r->sib);
}

/* Random EEG-like channels with every kind of trouble, in runs. */
static void random_signal(float *const *x, int C, size_t N, size_t B, struct test_rng *rng)
{
    for (int c = 0; c < C; c++) {
        size_t i = 0;
        double level = 0;
        while (i < N) {
            size_t len = (size_t)test_rng_range(rng, 1, (int64_t)(B * 3));
            int kind = (int)test_rng_range(rng, 0, 9);
            for (size_t k = 0; k < len && i < N; k++, i++) {
                double v;
                switch (kind) {
                case 0: v = level; break;                                            /* flat */
                case 1: v = level + (test_rng_unit(rng) - 0.5) * 0.9; break;          /* flat-ish */
                case 2: v = (test_rng_unit(rng) < 0.5 ? 1 : -1) * 300.0; break;       /* clipping */
                case 3: v = test_rng_unit(rng) < 0.02 ? 600.0 : 20.0; break;          /* spikes */
                case 4: v = test_rng_unit(rng) < 0.05 ? (test_rng_unit(rng) < 0.5 ? NAN : -INFINITY) : 5.0; break;
                case 5: v = test_rng_unit(rng) < 0.03 ? 299.0 + test_rng_unit(rng) * 2.0 : 10.0; break;
                default: v = (test_rng_unit(rng) - 0.5) * 150.0; break;               /* EEG */
                }
                x[c][i] = (float)v;
            }
            level = (test_rng_unit(rng) - 0.5) * 200.0;
        }
    }
}

struct run {
    float *y[RC];
    unsigned *flags[RC];      /* at each block end */
    size_t n_ended;
};

static void run_init(struct run *rn, int C, size_t N, size_t n_blocks)
{
    for (int c = 0; c < C; c++) {
        rn->y[c] = malloc(N * sizeof(float));
        rn->flags[c] = calloc(n_blocks + 1, sizeof(unsigned));
        assert_non_null(rn->y[c]);
        assert_non_null(rn->flags[c]);
    }
    rn->n_ended = 0;
}

static void run_free(struct run *rn, int C)
{
    for (int c = 0; c < C; c++) {
        free(rn->y[c]);
        free(rn->flags[c]);
    }
}

enum chunking { CH_ONE, CH_SPLIT, CH_FREE };

/* Process samples [from, to) of in (copied into rn->y first) in chunks.
 * CH_ONE and CH_SPLIT record the flags at every block end; CH_FREE checks
 * after every call that the flags are those of the last block end. */
static void run_guard(struct ictal_guard *g, const struct ref *ref, float *const *in, int C, size_t from,
                      size_t to, enum chunking k, struct test_rng *rng, struct run *rn)
{
    const size_t B = ref->B;
    for (int c = 0; c < C; c++)
        memcpy(rn->y[c] + from, in[c] + from, (to - from) * sizeof(float));
    size_t i = from;
    while (i < to) {
        size_t n = k == CH_ONE ? 1 : (size_t)test_rng_range(rng, 1, (int64_t)(2 * B + 3));
        if (k == CH_SPLIT && n > ictal_guard_until_block_end(g))
            n = ictal_guard_until_block_end(g);
        if (n > to - i)
            n = to - i;
        float *b[RC];
        for (int c = 0; c < C; c++)
            b[c] = rn->y[c] + i;
        size_t ended = ictal_guard_process(g, b, n);
        size_t want_ended = (i + n) / B - i / B;
        assert_int_equal(ended, want_ended);
        i += n;
        if (ended) {
            if (k != CH_FREE)
                assert_int_equal(ended, 1);
            size_t blk = i / B - 1;
            for (int c = 0; c < C; c++)
                rn->flags[c][blk] = ictal_guard_flags(g, c);
            rn->n_ended += ended;
        }
        for (int c = 0; c < C; c++) {
            unsigned want = i / B ? ref->flags[c][i / B - 1] : 0;
            if (ictal_guard_flags(g, c) != want)
                fail_msg("after %zu samples (chunking %d): channel %d flags %#x, want %#x", i, k, c,
                         ictal_guard_flags(g, c), want);
        }
        if (ictal_guard_scrubbed_in_block(g) != ref->sib[i])
            fail_msg("after %zu samples (chunking %d): scrubbed_in_block %d, want %d", i, k,
                     ictal_guard_scrubbed_in_block(g), ref->sib[i]);
        assert_int_equal(ictal_guard_until_block_end(g), B - i % B);
    }
}

static void check_run(const struct run *rn, const struct ref *ref, int C, const char *what)
{
    for (int c = 0; c < C; c++) {
        if (memcmp(rn->y[c], ref->y[c], ref->N * sizeof(float)) != 0)
            fail_msg("%s: channel %d samples differ from the reference", what, c);
        for (size_t b = 0; b < ref->n_blocks; b++) {
            if (rn->flags[c][b] != ref->flags[c][b])
                fail_msg("%s: channel %d block %zu flags %#x, want %#x", what, c, b, rn->flags[c][b],
                         ref->flags[c][b]);
        }
    }
}

static void check_counts(const struct ictal_guard *g, const struct ref *ref, int C)
{
    for (int c = 0; c < C; c++) {
        struct ictal_guard_counts k = ictal_guard_counts(g, c);
        assert_memory_equal(&k, &ref->counts[c], sizeof k);
    }
}

static void test_property_chunk_invariance(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x6a4d0002);
    for (int trial = 0; trial < 40; trial++) {
        const int C = (int)test_rng_range(&rng, 1, RC);
        struct ictal_guard_config cfg = cfg_default(C, trial % 3 == 0 ? 100.0 : 64.0 + (double)test_rng_range(&rng, 0, 100));
        cfg.flat_duration = trial % 4 == 3 ? 0.0 : 0.5 + test_rng_unit(&rng) * 2.0;
        if (trial % 5 == 4)
            cfg.clip_uv = 0;
        const size_t B = (size_t)lround(cfg.rate);
        const size_t N = B * (size_t)test_rng_range(&rng, 10, 30) + (size_t)test_rng_range(&rng, 0, (int64_t)B - 1);
        float *x[RC];
        for (int c = 0; c < C; c++) {
            x[c] = malloc(N * sizeof(float));
            assert_non_null(x[c]);
        }
        random_signal(x, C, N, B, &rng);
        struct ref ref;
        reference(&cfg, x, N, &ref);
        struct ictal_guard *g = mk(&cfg);
        for (int k = CH_ONE; k <= CH_FREE; k++) {
            ictal_guard_reset(g);
            struct run rn;
            run_init(&rn, C, N, ref.n_blocks);
            run_guard(g, &ref, x, C, 0, N, (enum chunking)k, &rng, &rn);
            assert_int_equal(rn.n_ended, ref.n_blocks);
            char what[64];
            snprintf(what, sizeof what, "trial %d chunking %d", trial, k);
            if (k != CH_FREE) {
                check_run(&rn, &ref, C, what);
            } else {
                for (int c = 0; c < C; c++)
                    assert_memory_equal(rn.y[c], ref.y[c], N * sizeof(float));
            }
            check_counts(g, &ref, C);
            run_free(&rn, C);
        }
        ictal_guard_destroy(g);
        ref_free(&ref, C);
        for (int c = 0; c < C; c++)
            free(x[c]);
    }
}

/* The property test's signals do exercise every flag (else it could not
 * fail for them). */
static void test_property_coverage(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x6a4d0003);
    struct ictal_guard_config cfg = cfg_default(RC, 100.0);
    cfg.flat_duration = 1.0;
    const size_t N = 100 * 60;
    float *x[RC];
    for (int c = 0; c < RC; c++) {
        x[c] = malloc(N * sizeof(float));
        assert_non_null(x[c]);
    }
    random_signal(x, RC, N, 100, &rng);
    struct ref ref;
    reference(&cfg, x, N, &ref);
    unsigned seen = 0, none = 0;
    for (int c = 0; c < RC; c++)
        for (size_t b = 0; b < ref.n_blocks; b++) {
            seen |= ref.flags[c][b];
            none += ref.flags[c][b] == 0;
        }
    assert_int_equal(seen, ICTAL_QUALITY_FLAT | ICTAL_QUALITY_CLIPPED | ICTAL_QUALITY_IMPLAUSIBLE |
                               ICTAL_QUALITY_NONFINITE);
    assert_true(none > 0);
    struct ictal_guard *g = mk(&cfg);
    struct run rn;
    run_init(&rn, RC, N, ref.n_blocks);
    run_guard(g, &ref, x, RC, 0, N, CH_SPLIT, &rng, &rn);
    check_run(&rn, &ref, RC, "coverage");
    check_counts(g, &ref, RC);
    run_free(&rn, RC);
    ictal_guard_destroy(g);
    ref_free(&ref, RC);
    for (int c = 0; c < RC; c++)
        free(x[c]);
}

static void test_save_restore(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x6a4d0004);
    const int C = 3;
    struct ictal_guard_config cfg = cfg_default(C, 100.0);
    const size_t N = 100 * 20 + 37;
    float *x[RC];
    for (int c = 0; c < C; c++) {
        x[c] = malloc(N * sizeof(float));
        assert_non_null(x[c]);
    }
    random_signal(x, C, N, 100, &rng);
    struct ref ref;
    reference(&cfg, x, N, &ref);
    struct ictal_guard *a = mk(&cfg), *b = mk(&cfg);
    const size_t S = ictal_guard_state_size(a);
    unsigned char *img = malloc(S), *img2 = malloc(S), *bad = malloc(S);
    assert_non_null(img);
    assert_non_null(img2);
    assert_non_null(bad);
    for (int trial = 0; trial < 6; trial++) {
        size_t split = (size_t)test_rng_range(&rng, 0, (int64_t)N);
        ictal_guard_reset(a);
        struct run ra, rb;
        run_init(&ra, C, N, ref.n_blocks);
        run_init(&rb, C, N, ref.n_blocks);
        run_guard(a, &ref, x, C, 0, split, CH_SPLIT, &rng, &ra);
        rt_guard_clear();
        rt_guard_arm();
        int rs = ictal_guard_state_save(a, img, S);
        int rl = ictal_guard_state_load(b, img, S);
        rt_guard_disarm();
        assert_int_equal(rs, 0);
        assert_int_equal(rl, 0);
        assert_int_equal(rt_guard_violations(), 0);
        /* b continues from a's state: give it a's head. */
        for (int c = 0; c < C; c++) {
            memcpy(rb.y[c], ra.y[c], split * sizeof(float));
            memcpy(rb.flags[c], ra.flags[c], (ref.n_blocks + 1) * sizeof(unsigned));
        }
        run_guard(a, &ref, x, C, split, N, CH_ONE, &rng, &ra);
        run_guard(b, &ref, x, C, split, N, CH_FREE, &rng, &rb);
        check_run(&ra, &ref, C, "saved");
        for (int c = 0; c < C; c++)
            assert_memory_equal(rb.y[c], ref.y[c], N * sizeof(float));
        check_counts(a, &ref, C);
        check_counts(b, &ref, C);
        run_free(&ra, C);
        run_free(&rb, C);
    }
    /* Refusals leave the state alone. */
    assert_int_equal(ictal_guard_state_save(a, img, S - 1), ICTAL_ERANGE);
    assert_int_equal(ictal_guard_state_save(a, img2, S), 0);
    assert_int_equal(ictal_guard_state_load(a, img, S - 1), ICTAL_EINVAL);
    assert_int_equal(ictal_guard_state_load(a, NULL, S), ICTAL_EINVAL);
    memcpy(bad, img, S);
    bad[0] ^= 0x40; /* magic */
    assert_int_equal(ictal_guard_state_load(a, bad, S), ICTAL_EINVAL);
    /* An image whose block position is impossible would unbound process(). */
    struct ictal_guard *fresh = mk(&cfg);
    float one[RC][150];
    for (int c = 0; c < C; c++)
        for (int i = 0; i < 150; i++)
            one[c][i] = (float)i;
    float *ob[RC] = {one[0], one[1], one[2]};
    ictal_guard_process(fresh, ob, 150); /* 1 block + 50 */
    assert_int_equal(ictal_guard_state_save(fresh, bad, S), 0);
    size_t off = 0;
    uint64_t v;
    for (; off + sizeof v <= 128; off += sizeof v) { /* find in_block == 50 right after pos == 150 */
        uint64_t p, q;
        memcpy(&p, bad + off, sizeof p);
        memcpy(&q, bad + off + sizeof p, sizeof q);
        if (p == 150 && q == 50)
            break;
    }
    assert_true(off + sizeof v <= 128);
    v = 100; /* == block */
    memcpy(bad + off + sizeof v, &v, sizeof v);
    assert_int_equal(ictal_guard_state_load(a, bad, S), ICTAL_EINVAL);
    v = 49; /* pos and in_block disagree */
    memcpy(bad + off + sizeof v, &v, sizeof v);
    assert_int_equal(ictal_guard_state_load(a, bad, S), ICTAL_EINVAL);
    ictal_guard_destroy(fresh);
    /* Other configurations. */
    struct ictal_guard_config other = cfg;
    other.clip_uv = 301.0;
    struct ictal_guard *o = mk(&other);
    assert_int_equal(ictal_guard_state_size(o), S);
    assert_int_equal(ictal_guard_state_save(o, bad, S), 0);
    assert_int_equal(ictal_guard_state_load(a, bad, S), ICTAL_EINVAL);
    ictal_guard_destroy(o);
    other = cfg;
    other.rate = 101.0;
    o = mk(&other);
    assert_int_equal(ictal_guard_state_save(o, bad, S), 0);
    assert_int_equal(ictal_guard_state_load(a, bad, S), ICTAL_EINVAL);
    ictal_guard_destroy(o);
    other = cfg;
    other.n_channels = C + 1;
    o = mk(&other);
    assert_int_equal(ictal_guard_state_load(o, img, S), ICTAL_EINVAL);
    ictal_guard_destroy(o);
    unsigned char *now = malloc(S);
    assert_non_null(now);
    assert_int_equal(ictal_guard_state_save(a, now, S), 0);
    assert_memory_equal(now, img2, S);
    free(now);
    free(img);
    free(img2);
    free(bad);
    ictal_guard_destroy(a);
    ictal_guard_destroy(b);
    ref_free(&ref, C);
    for (int c = 0; c < C; c++)
        free(x[c]);
}

static void test_reset_is_fresh(void **state)
{
    (void)state;
    struct ictal_guard_config cfg = cfg_default(2, 50.0);
    struct ictal_guard *a = mk(&cfg), *b = mk(&cfg);
    float x[2][123];
    for (int i = 0; i < 123; i++) {
        x[0][i] = i % 3 ? NAN : 1000.0f;
        x[1][i] = 300.0f;
    }
    float *buf[2] = {x[0], x[1]};
    ictal_guard_process(a, buf, 123);
    assert_true(ictal_guard_flags(a, 0) != 0);
    ictal_guard_reset(a);
    const size_t S = ictal_guard_state_size(a);
    unsigned char *ia = malloc(S), *ib = malloc(S);
    assert_non_null(ia);
    assert_non_null(ib);
    assert_int_equal(ictal_guard_state_save(a, ia, S), 0);
    assert_int_equal(ictal_guard_state_save(b, ib, S), 0);
    assert_memory_equal(ia, ib, S);
    assert_int_equal(ictal_guard_flags(a, 0), 0);
    assert_int_equal(ictal_guard_counts(a, 0).nonfinite, 0);
    assert_int_equal(ictal_guard_scrubbed_in_block(a), 0);
    assert_int_equal(ictal_guard_until_block_end(a), 50);
    free(ia);
    free(ib);
    ictal_guard_destroy(a);
    ictal_guard_destroy(b);
}

static void test_invalid_config(void **state)
{
    (void)state;
    struct ictal_guard_config base = cfg_default(4, 256.0), c;
    struct ictal_error err;
#define BAD(expr, needle)                                                     \
    do {                                                                      \
        c = base;                                                             \
        expr;                                                                 \
        err.code = 0;                                                         \
        assert_null(ictal_guard_create(&c, &err));                            \
        assert_int_equal(err.code, ICTAL_EINVAL);                             \
        if (!strstr(err.msg, needle))                                         \
            fail_msg("\"%s\" does not name %s", err.msg, needle);             \
    } while (0)
    BAD(c.n_channels = 0, "n_channels");
    BAD(c.n_channels = 1025, "n_channels");
    BAD(c.rate = 0, "rate");
    BAD(c.rate = -256, "rate");
    BAD(c.rate = NAN, "rate");
    BAD(c.rate = INFINITY, "rate");
    BAD(c.rate = 0.49, "rate");
    BAD(c.flat_uv = -1, "flat_uv");
    BAD(c.flat_uv = NAN, "flat_uv");
    BAD(c.flat_duration = -0.5, "flat_duration");
    BAD(c.flat_duration = INFINITY, "flat_duration");
    BAD(c.clip_uv = -3, "clip_uv");
    BAD(c.clip_uv = NAN, "clip_uv");
    BAD(c.implausible_uv = 0, "implausible_uv");
    BAD(c.implausible_uv = -10, "implausible_uv");
    BAD(c.implausible_uv = INFINITY, "implausible_uv");
#undef BAD
    assert_null(ictal_guard_create(NULL, &err));
    assert_int_equal(err.code, ICTAL_EINVAL);
    c = base;
    c.n_channels = 0;
    assert_null(ictal_guard_create(&c, NULL));
    /* The "off" values are valid. */
    c = base;
    c.flat_uv = 0;
    c.flat_duration = 0;
    c.clip_uv = 0;
    struct ictal_guard *g = ictal_guard_create(&c, &err);
    assert_non_null(g);
    assert_int_equal(err.code, 0);
    ictal_guard_destroy(g);
    ictal_guard_destroy(NULL);
}

static void test_quality_string(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(ictal_quality_string(0, buf, sizeof buf), "");
    assert_string_equal(ictal_quality_string(ICTAL_QUALITY_FLAT, buf, sizeof buf), "flat");
    assert_string_equal(ictal_quality_string(ICTAL_QUALITY_FLAT | ICTAL_QUALITY_CLIPPED, buf, sizeof buf),
                        "flat|clipped");
    assert_string_equal(ictal_quality_string(ICTAL_QUALITY_NONFINITE | ICTAL_QUALITY_IMPLAUSIBLE, buf, sizeof buf),
                        "implausible|nonfinite");
    assert_string_equal(ictal_quality_string(0xfu, buf, sizeof buf), "flat|clipped|implausible|nonfinite");
    assert_string_equal(ictal_quality_string(0xf0u, buf, sizeof buf), ""); /* unknown bits */
    assert_ptr_equal(ictal_quality_string(1, buf, sizeof buf), buf);
    /* Short buffers: whole names only, always terminated. */
    memset(buf, 'x', sizeof buf);
    assert_string_equal(ictal_quality_string(0xfu, buf, 13), "flat|clipped");
    assert_string_equal(ictal_quality_string(0xfu, buf, 12), "flat");
    assert_string_equal(ictal_quality_string(0xfu, buf, 5), "flat");
    assert_string_equal(ictal_quality_string(0xfu, buf, 4), "");
    assert_string_equal(ictal_quality_string(0xfu, buf, 1), "");
    buf[0] = 'q';
    assert_ptr_equal(ictal_quality_string(0xfu, buf, 0), buf);
    assert_int_equal(buf[0], 'q');
    assert_null(ictal_quality_string(1, NULL, 10));
}

static void test_rt_safe(void **state)
{
    (void)state;
    const char *why = rt_guard_unavailable();
    if (why) {
        print_message("RT guard unavailable: %s\n", why);
        skip();
    }
    struct ictal_guard_config cfg = cfg_default(2, 100.0);
    struct ictal_guard *g = mk(&cfg);
    float x[2][1000];
    for (int i = 0; i < 1000; i++) {
        x[0][i] = i % 50 ? (float)(i % 7) : NAN;
        x[1][i] = 400.0f + (float)(i % 2) * 5.0f; /* clipped, not flat */
    }
    float *b[2] = {x[0], x[1]};
    char s[64];
    rt_guard_clear();
    rt_guard_arm();
    size_t ended = ictal_guard_process(g, b, 1000);
    unsigned f = ictal_guard_flags(g, 0) | ictal_guard_flags(g, 1);
    struct ictal_guard_counts k = ictal_guard_counts(g, 0);
    (void)ictal_guard_scrubbed_in_block(g);
    (void)ictal_quality_string(f, s, sizeof s);
    ictal_guard_reset(g);
    rt_guard_disarm();
    assert_int_equal(rt_guard_violations(), 0);
    assert_int_equal(ended, 10);
    assert_int_equal(k.nonfinite, 20);
    assert_string_equal(s, "clipped|nonfinite");
    ictal_guard_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scrub_and_count),
        cmocka_unit_test(test_clipped_and_implausible),
        cmocka_unit_test(test_flags_change_at_block_ends),
        cmocka_unit_test(test_flat),
        cmocka_unit_test(test_property_chunk_invariance),
        cmocka_unit_test(test_property_coverage),
        cmocka_unit_test(test_save_restore),
        cmocka_unit_test(test_reset_is_fresh),
        cmocka_unit_test(test_invalid_config),
        cmocka_unit_test(test_quality_string),
        cmocka_unit_test(test_rt_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
