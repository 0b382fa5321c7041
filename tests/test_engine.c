/*
 * test_engine.c — the engine's contracts, as property tests with random
 * inputs and random split points:
 *  - chunk invariance: 1-sample, 64-sample, whole-input and random chunkings
 *    give bit-identical probabilities, scores and state;
 *  - snapshot/restore at random points continues bit-identically, in the
 *    same engine and in a fresh one; bad images are refused;
 *  - reset == fresh; output capacity and frame counting; channel masks;
 *  - the default architecture's budget (params, state, MAC/s);
 *  - OpenBLAS wrapper == plain-loop reference;
 *  - with the default (builtin) GEMM, process() calls neither the allocator
 *    nor a lock primitive (pthread mutex/trylock/spin, sched_yield) nor
 *    cblas_sgemm (tests/support/rt_guard.h; skipped in sanitizer builds,
 *    whose runtimes own malloc).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/blas.h"
#include "ictal/engine.h"
#include "ictal/model.h"
#include "test_util.h"
/* This file holds the executable's interposers (malloc & co.). */
#define RT_GUARD_INTERPOSE
#include "rt_guard.h"

/* The GEMM backend under test. The RT guard is armed for the builtin one
 * (the default) only: every Debian OpenBLAS build locks on every call that
 * misses its small-matrix path, pthread with a mutex, serial and OpenMP with
 * a spinlock (docs/engine.md). */
static enum ictal_engine_gemm g_gemm = ICTAL_ENGINE_GEMM_BUILTIN;

/* ------------------------------------------------------------ RT guard */
/* Armed on this (the test's) thread only: OpenBLAS keeps its own idle pool
 * threads, which may lock whenever they like. OpenBLAS's buffer pool
 * (blas_memory_alloc) locks with its own spinlock (an xchg loop that calls
 * sched_yield while the lock is held) in the serial and OpenMP builds, which
 * no mutex interposer sees; so the default backend must not enter OpenBLAS
 * at all: the guard counts any cblas_sgemm call as a violation. */
#define ARM() \
    do { \
        if (g_gemm == ICTAL_ENGINE_GEMM_BUILTIN) \
            rt_guard_arm(); \
    } while (0)
#define DISARM() rt_guard_disarm()

static struct ictal_engine *mk(const struct ictal_model *m, int C, struct ictal_error *err)
{
    struct ictal_engine_config cfg = {.n_channels = C, .gemm = g_gemm};
    return ictal_engine_create(m, &cfg, err);
}

static struct ictal_model *load(const char *name)
{
    char path[512];
    struct ictal_error err;
    snprintf(path, sizeof path, "%s/%s.model.safetensors", ICTAL_GOLDEN_DIR, name);
    struct ictal_model *m = ictal_model_load(path, &err);
    if (!m)
        fail_msg("%s", err.msg);
    return m;
}

/* Random EEG-ish input: a random walk plus noise and bursts, per channel. */
static float **make_input(int C, size_t T, uint64_t seed)
{
    struct test_rng r;
    test_rng_seed(&r, seed);
    float **x = calloc((size_t)C, sizeof *x);
    for (int c = 0; c < C; c++) {
        x[c] = malloc(T * sizeof(float));
        double w = 0;
        for (size_t t = 0; t < T; t++) {
            w = 0.995 * w + (test_rng_unit(&r) - 0.5) * 8;
            double burst = (t / 2048) % 7 == (size_t)c % 7 ? 60 * sin((double)t * 0.3) : 0;
            x[c][t] = (float)(w + burst + (test_rng_unit(&r) - 0.5) * 20);
        }
    }
    return x;
}

static void free_input(float **x, int C)
{
    for (int c = 0; c < C; c++)
        free(x[c]);
    free(x);
}

struct run { float *p, *s; size_t nf; };

/* Feed [from, to) in chunks given by next_chunk (0 = rest). */
static void feed(struct ictal_engine *e, float **x, int C, size_t from, size_t to, struct test_rng *r,
                 int mode, struct run *out)
{
    const float *ptr[64];
    size_t cap = ictal_engine_max_frames(e, to - from);
    out->p = malloc((cap + 1) * sizeof(float));
    out->s = malloc((cap + 1) * (size_t)C * sizeof(float));
    out->nf = 0;
    size_t pos = from;
    while (pos < to) {
        size_t n = mode == 0 ? to - pos : mode > 0 ? (size_t)mode : (size_t)test_rng_range(r, 1, 600);
        if (n > to - pos)
            n = to - pos;
        for (int c = 0; c < C; c++)
            ptr[c] = x[c] + pos;
        size_t got;
        size_t want = ictal_engine_max_frames(e, n);
        ARM();
        int rc = ictal_engine_process(e, ptr, n, out->p + out->nf, out->s + out->nf * (size_t)C, cap - out->nf, &got);
        DISARM();
        assert_int_equal(rc, 0);
        assert_int_equal(got, want);
        out->nf += got;
        pos += n;
    }
}

static void run_free(struct run *r)
{
    free(r->p);
    free(r->s);
}

static void assert_same(const struct run *a, const struct run *b, int C)
{
    assert_int_equal(a->nf, b->nf);
    assert_memory_equal(a->p, b->p, a->nf * sizeof(float));
    assert_memory_equal(a->s, b->s, a->nf * (size_t)C * sizeof(float));
}

static void chunk_invariance(const char *model, int C, size_t T, uint64_t seed)
{
    struct ictal_model *m = load(model);
    struct ictal_error err;
    struct ictal_engine *e = mk(m, C, &err);
    assert_non_null(e);
    float **x = make_input(C, T, seed);
    struct test_rng r;
    test_rng_seed(&r, seed * 7 + 1);
    struct run whole, one, r64;
    feed(e, x, C, 0, T, &r, 0, &whole);
    unsigned char *st_whole = malloc(ictal_engine_state_size(e));
    assert_int_equal(ictal_engine_state_save(e, st_whole, ictal_engine_state_size(e)), 0);
    ictal_engine_reset(e);
    feed(e, x, C, 0, T, &r, 1, &one);
    assert_same(&whole, &one, C);
    ictal_engine_reset(e);
    feed(e, x, C, 0, T, &r, 64, &r64);
    assert_same(&whole, &r64, C);
    for (int trial = 0; trial < 4; trial++) {
        struct run rr;
        ictal_engine_reset(e);
        feed(e, x, C, 0, T, &r, -1, &rr);
        assert_same(&whole, &rr, C);
        run_free(&rr);
    }
    /* and the final state is the same bytes */
    unsigned char *st = malloc(ictal_engine_state_size(e));
    assert_int_equal(ictal_engine_state_save(e, st, ictal_engine_state_size(e)), 0);
    assert_memory_equal(st, st_whole, ictal_engine_state_size(e));
    assert_int_equal(ictal_engine_samples(e), T);
    assert_int_equal(ictal_engine_frames(e), whole.nf);
    free(st);
    free(st_whole);
    run_free(&whole);
    run_free(&one);
    run_free(&r64);
    free_input(x, C);
    ictal_engine_destroy(e);
    ictal_model_destroy(m);
}

static void test_chunk_invariance(void **state)
{
    (void)state;
    chunk_invariance("default_1h", 5, 256 * 60, 1);
    chunk_invariance("mixed_1h", 3, 256 * 30, 2);
    chunk_invariance("conv_dilated_grouped", 2, 5000, 3);
    chunk_invariance("lstm", 4, 5000, 4);
    chunk_invariance("bimamba2", 3, 6000, 5);
    chunk_invariance("windowed", 3, 256 * 20, 6);
}

/* Windowed mode: frames come H/hop at a time when a window completes;
 * snapshot/restore mid-window continues bit-identically. */
static void test_windowed(void **state)
{
    (void)state;
    struct ictal_model *m = load("windowed");
    const struct ictal_model_info *in = ictal_model_info(m);
    assert_int_equal(in->window, 512);
    assert_int_equal(in->window_step, 128);
    assert_int_equal(in->delay_samples, 512 - in->hop);
    const int C = 3;
    struct ictal_error err;
    struct ictal_engine *e = mk(m, C, &err);
    assert_int_equal(ictal_engine_max_frames(e, 511), 0);
    assert_int_equal(ictal_engine_max_frames(e, 512), 128 / in->hop);
    assert_int_equal(ictal_engine_max_frames(e, 512 + 128 * 3), 4 * 128 / in->hop);
    const size_t T = 256 * 12;
    float **x = make_input(C, T, 61);
    struct test_rng r;
    test_rng_seed(&r, 62);
    const size_t S = ictal_engine_state_size(e);
    unsigned char *img = malloc(S);
    for (int trial = 0; trial < 4; trial++) {
        size_t cut = (size_t)test_rng_range(&r, 1, (int64_t)T - 1);
        struct run pre, a, b;
        ictal_engine_reset(e);
        feed(e, x, C, 0, cut, &r, -1, &pre);
        assert_int_equal(ictal_engine_state_save(e, img, S), 0);
        feed(e, x, C, cut, T, &r, -1, &a);
        assert_int_equal(pre.nf + a.nf, ((T - 512) / 128 + 1) * (128 / (size_t)in->hop));
        assert_int_equal(ictal_engine_state_load(e, img, S), 0);
        feed(e, x, C, cut, T, &r, 7, &b);
        assert_same(&a, &b, C);
        for (size_t f = 0; f < a.nf; f++)
            assert_true(a.p[f] >= 0.0f && a.p[f] <= 1.0f);
        run_free(&pre);
        run_free(&a);
        run_free(&b);
    }
    free(img);
    free_input(x, C);
    ictal_engine_destroy(e);
    ictal_model_destroy(m);
}

/* The bidirectional block's look-ahead is declared: (block-1) frames at its
 * rate, here (5-1) * hop 4 = 16 input samples. Snapshot/restore across a
 * block boundary continues bit-identically as well. */
static void test_bidirectional(void **state)
{
    (void)state;
    struct ictal_model *m = load("bimamba2");
    assert_int_equal(ictal_model_info(m)->delay_samples, 16);
    assert_int_equal(ictal_model_layer(m, 1)->type, ICTAL_LAYER_BIMAMBA2);
    const int C = 2;
    const size_t T = 3000;
    struct ictal_error err;
    struct ictal_engine *e = mk(m, C, &err);
    float **x = make_input(C, T, 31);
    struct test_rng r;
    test_rng_seed(&r, 32);
    const size_t S = ictal_engine_state_size(e);
    unsigned char *img = malloc(S);
    for (int trial = 0; trial < 5; trial++) {
        size_t cut = (size_t)test_rng_range(&r, 1, (int64_t)T - 1);
        struct run pre, a, b;
        ictal_engine_reset(e);
        feed(e, x, C, 0, cut, &r, -1, &pre);
        assert_int_equal(ictal_engine_state_save(e, img, S), 0);
        feed(e, x, C, cut, T, &r, -1, &a);
        assert_int_equal(ictal_engine_state_load(e, img, S), 0);
        feed(e, x, C, cut, T, &r, 1, &b);
        assert_same(&a, &b, C);
        run_free(&pre);
        run_free(&a);
        run_free(&b);
    }
    free(img);
    free_input(x, C);
    ictal_engine_destroy(e);
    ictal_model_destroy(m);
}

/* The same properties with OpenBLAS products (deterministic as well). */
static void test_chunk_invariance_openblas(void **state)
{
    (void)state;
    g_gemm = ICTAL_ENGINE_GEMM_OPENBLAS;
    chunk_invariance("default_1h", 5, 256 * 60, 21);
    chunk_invariance("mixed_1h", 3, 256 * 30, 22);
    g_gemm = ICTAL_ENGINE_GEMM_BUILTIN;
}

static void test_snapshot_restore(void **state)
{
    (void)state;
    const int C = 4;
    const size_t T = 256 * 90;
    struct ictal_model *m = load("default_1h");
    struct ictal_error err;
    struct ictal_engine *a = mk(m, C, &err), *b = mk(m, C, &err);
    assert_non_null(a);
    assert_non_null(b);
    float **x = make_input(C, T, 99);
    struct test_rng r;
    test_rng_seed(&r, 1234);
    const size_t S = ictal_engine_state_size(a);
    unsigned char *img = malloc(S);
    for (int trial = 0; trial < 6; trial++) {
        size_t cut = (size_t)test_rng_range(&r, 0, (int64_t)T);
        struct run pre, post, post2, post3;
        ictal_engine_reset(a);
        feed(a, x, C, 0, cut, &r, -1, &pre);
        ARM();
        assert_int_equal(ictal_engine_state_save(a, img, S), 0);
        DISARM();
        feed(a, x, C, cut, T, &r, -1, &post);
        /* a fresh engine picks up from the image */
        ictal_engine_reset(b);
        ARM();
        assert_int_equal(ictal_engine_state_load(b, img, S), 0);
        DISARM();
        assert_int_equal(ictal_engine_samples(b), cut);
        feed(b, x, C, cut, T, &r, -1, &post2);
        assert_same(&post, &post2, C);
        /* and the same engine, rewound */
        assert_int_equal(ictal_engine_state_load(a, img, S), 0);
        feed(a, x, C, cut, T, &r, 1 + trial * 37, &post3);
        assert_same(&post, &post3, C);
        run_free(&pre);
        run_free(&post);
        run_free(&post2);
        run_free(&post3);
    }
    /* refused images leave the engine unchanged */
    unsigned char *now = malloc(S), *bad = malloc(S);
    assert_int_equal(ictal_engine_state_save(a, now, S), 0);
    memcpy(bad, img, S);
    bad[0] ^= 1; /* magic */
    assert_int_equal(ictal_engine_state_load(a, bad, S), ICTAL_EINVAL);
    assert_int_equal(ictal_engine_state_load(a, img, S - 1), ICTAL_EINVAL);
    assert_int_equal(ictal_engine_state_save(a, bad, S - 1), ICTAL_ERANGE);
    memcpy(bad, now, S);
    assert_int_equal(ictal_engine_state_load(a, img, S) == 0 && ictal_engine_state_load(a, now, S) == 0, 1);
    assert_int_equal(ictal_engine_state_save(a, bad, S), 0);
    assert_memory_equal(bad, now, S);
    /* another channel count or another model */
    struct ictal_engine *c5 = mk(m, C + 1, &err);
    assert_non_null(c5);
    unsigned char *img5 = malloc(ictal_engine_state_size(c5));
    assert_int_equal(ictal_engine_state_save(c5, img5, ictal_engine_state_size(c5)), 0);
    assert_int_equal(ictal_engine_state_load(a, img5, ictal_engine_state_size(c5)), ICTAL_EINVAL);
    struct ictal_model *m2 = load("mamba2");
    struct ictal_engine *o = mk(m2, C, &err);
    assert_non_null(o);
    unsigned char *imgo = malloc(ictal_engine_state_size(o));
    assert_int_equal(ictal_engine_state_save(o, imgo, ictal_engine_state_size(o)), 0);
    assert_int_equal(ictal_engine_state_load(a, imgo, ictal_engine_state_size(o)), ICTAL_EINVAL);
    /* the same architecture with one weight changed in its last bit: refused;
     * a second copy of the very same file: accepted */
    {
        char path[512];
        snprintf(path, sizeof path, "%s/default_1h.model.safetensors", ICTAL_GOLDEN_DIR);
        size_t len;
        unsigned char *f = test_read_file(path, &len);
        assert_non_null(f);
        struct ictal_model *same = ictal_model_parse(f, len, &err);
        assert_non_null(same);
        f[len - 4] ^= 1; /* lowest mantissa bit of the last float of the data section */
        struct ictal_model *other = ictal_model_parse(f, len, &err);
        assert_non_null(other);
        struct ictal_engine *es = mk(same, C, &err), *eo = mk(other, C, &err);
        assert_int_equal(ictal_engine_state_load(es, img, S), 0);
        assert_int_equal(ictal_engine_state_load(eo, img, S), ICTAL_EINVAL);
        ictal_engine_destroy(es);
        ictal_engine_destroy(eo);
        ictal_model_destroy(same);
        ictal_model_destroy(other);
        free(f);
    }
    free(img5);
    free(imgo);
    free(now);
    free(bad);
    free(img);
    ictal_engine_destroy(c5);
    ictal_engine_destroy(o);
    ictal_model_destroy(m2);
    free_input(x, C);
    ictal_engine_destroy(a);
    ictal_engine_destroy(b);
    ictal_model_destroy(m);
}

static void test_reset_equals_fresh(void **state)
{
    (void)state;
    const int C = 3;
    const size_t T = 256 * 20;
    struct ictal_model *m = load("mixed_1h");
    struct ictal_error err;
    struct ictal_engine *e = mk(m, C, &err);
    float **x = make_input(C, T, 5), **y = make_input(C, T, 6);
    struct test_rng r;
    test_rng_seed(&r, 3);
    struct run a, b, junk;
    feed(e, x, C, 0, T, &r, -1, &a);
    ictal_engine_reset(e);
    feed(e, y, C, 0, T, &r, -1, &junk);
    ARM();
    ictal_engine_reset(e);
    DISARM();
    assert_int_equal(ictal_engine_samples(e), 0);
    assert_int_equal(ictal_engine_frames(e), 0);
    feed(e, x, C, 0, T, &r, -1, &b);
    assert_same(&a, &b, C);
    run_free(&a);
    run_free(&b);
    run_free(&junk);
    free_input(x, C);
    free_input(y, C);
    ictal_engine_destroy(e);
    ictal_model_destroy(m);
}

static void test_capacity_and_clock(void **state)
{
    (void)state;
    struct ictal_model *m = load("default_1h");
    struct ictal_error err;
    assert_null(mk(m, 0, &err));
    assert_int_equal(err.code, ICTAL_ERANGE);
    assert_null(mk(m, 100000, &err));
    assert_null(mk(NULL, 2, &err));
    assert_null(ictal_engine_create(m, NULL, &err));
    struct ictal_engine_config bad = {.n_channels = 2, .gemm = (enum ictal_engine_gemm)7};
    assert_null(ictal_engine_create(m, &bad, &err));
    assert_int_equal(err.code, ICTAL_EINVAL);
    struct ictal_engine *e = mk(m, 2, &err);
    const int hop = ictal_model_info(m)->hop;
    assert_int_equal(hop, 32);
    float buf[200] = {0}, p[16], s[32];
    const float *in[2] = {buf, buf};
    size_t got;
    /* frame k is emitted on sample k*hop: the first sample gives frame 0 */
    assert_int_equal(ictal_engine_max_frames(e, 1), 1);
    assert_int_equal(ictal_engine_max_frames(e, 0), 0);
    assert_int_equal(ictal_engine_max_frames(e, 33), 2);
    assert_int_equal(ictal_engine_process(e, in, 33, p, s, 1, &got), ICTAL_ERANGE);
    assert_int_equal(ictal_engine_samples(e), 0);
    assert_int_equal(ictal_engine_process(e, in, 33, NULL, NULL, 2, &got), ICTAL_ERANGE);
    assert_int_equal(ictal_engine_process(e, NULL, 33, p, s, 2, &got), ICTAL_EINVAL);
    assert_int_equal(ictal_engine_process(e, in, 1, p, NULL, 1, &got), 0);
    assert_int_equal(got, 1);
    assert_int_equal(ictal_engine_max_frames(e, 31), 0);
    assert_int_equal(ictal_engine_max_frames(e, 32), 1);
    assert_int_equal(ictal_engine_process(e, in, 31, p, s, 0, &got), 0);
    assert_int_equal(got, 0);
    assert_int_equal(ictal_engine_process(e, in, 0, NULL, NULL, 0, &got), 0);
    assert_int_equal(ictal_engine_process(e, in, 1, p, s, 1, &got), 0);
    assert_int_equal(got, 1);
    assert_int_equal(ictal_engine_frames(e), 2);
    assert_int_equal(ictal_engine_samples(e), 33);
    assert_true(p[0] > 0.0f && p[0] < 1.0f);
    ictal_engine_destroy(e);
    ictal_engine_destroy(NULL);
    ictal_model_destroy(m);
}

/* With one active channel, every aggregation reduces to that channel's own
 * probability; with none, p is 0. */
static void test_mask(void **state)
{
    (void)state;
    static const char *const models[] = {"default_1h" /* attention */, "mixed_1h" /* logsumexp */,
                                         "lstm" /* mean */, "mamba2_groups" /* max */};
    for (size_t mi = 0; mi < 4; mi++) {
        const int C = 4;
        const size_t T = 4096;
        struct ictal_model *m = load(models[mi]);
        struct ictal_error err;
        struct ictal_engine *e = mk(m, C, &err);
        float **x = make_input(C, T, 11 + mi);
        struct test_rng r;
        test_rng_seed(&r, 8);
        for (int k = 0; k < C; k++) {
            unsigned char act[4] = {0, 0, 0, 0};
            act[k] = 1;
            ictal_engine_reset(e);
            ARM();
            ictal_engine_set_mask(e, act);
            DISARM();
            struct run a;
            feed(e, x, C, 0, T, &r, -1, &a);
            for (size_t f = 0; f < a.nf; f++)
                assert_true(fabsf(a.p[f] - a.s[f * C + (size_t)k]) <= 2e-7f);
            run_free(&a);
        }
        unsigned char none[4] = {0, 0, 0, 0};
        ictal_engine_reset(e); /* reset re-activates every channel */
        ictal_engine_set_mask(e, none);
        struct run z;
        feed(e, x, C, 0, T, &r, -1, &z);
        for (size_t f = 0; f < z.nf; f++)
            assert_true(z.p[f] == 0.0f);
        run_free(&z);
        free_input(x, C);
        ictal_engine_destroy(e);
        ictal_model_destroy(m);
    }
}

static void test_default_budget(void **state)
{
    (void)state;
    struct ictal_model *m = load("default_1h");
    const struct ictal_model_info *in = ictal_model_info(m);
    struct ictal_error err;
    struct ictal_engine *e = mk(m, 23, &err);
    assert_non_null(e);
    print_message("default: %ld params, %.0f Hz -> %.1f Hz frames, state %zu B for 23 channels, %.2f M MAC/s, arena %zu B\n",
                  in->n_params, in->sample_rate, in->frame_rate, ictal_engine_state_size(e),
                  ictal_engine_macs_per_second(e) / 1e6, ictal_engine_arena_size(e));
    assert_true(in->n_params <= 100000);
    assert_true(in->frame_rate >= 4 && in->frame_rate <= 16);
    assert_true(ictal_engine_state_size(e) <= 64 * 1024);
    assert_true(ictal_engine_macs_per_second(e) <= 10e6);
    ictal_engine_destroy(e);
    ictal_model_destroy(m);
}

static void test_blas_reference(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 42);
    ictal_blas_init();
    for (int it = 0; it < 200; it++) {
        int M = (int)test_rng_range(&r, 1, 70), N = (int)test_rng_range(&r, 1, 70), K = (int)test_rng_range(&r, 1, 130);
        int lda = K + (int)test_rng_range(&r, 0, 3), ldb = K + (int)test_rng_range(&r, 0, 3);
        int ldc = N + (int)test_rng_range(&r, 0, 3);
        float *A = malloc((size_t)M * lda * sizeof(float)), *B = malloc((size_t)N * ldb * sizeof(float));
        float *C1 = calloc((size_t)M * ldc, sizeof(float)), *C2 = calloc((size_t)M * ldc, sizeof(float));
        for (int i = 0; i < M * lda; i++)
            A[i] = (float)(test_rng_unit(&r) * 2 - 1);
        for (int i = 0; i < N * ldb; i++)
            B[i] = (float)(test_rng_unit(&r) * 2 - 1);
        ictal_blas_sgemm_nt(M, N, K, A, lda, B, ldb, C1, ldc);
        ictal_blas_ref_sgemm_nt(M, N, K, A, lda, B, ldb, C2, ldc);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                assert_true(fabsf(C1[i * ldc + j] - C2[i * ldc + j]) <= 1e-5f * (float)K);
        /* the builtin kernel takes B transposed, (K, N) with ldb >= N */
        int ldt = ICTAL_BLAS_LDB(N) + ICTAL_BLAS_COLS * (int)test_rng_range(&r, 0, 1);
        float *Bt = malloc((size_t)K * ldt * sizeof(float));
        for (int k = 0; k < K * ldt; k++)
            Bt[k] = NAN; /* padding: must never reach C */
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++)
                Bt[k * ldt + j] = B[j * ldb + k];
        /* both block shapes: 16-float vectors (AVX-512) and 8-float halves
         * (every other CPU), forced on whatever this machine is */
        for (int halves = 0; halves < 2; halves++) {
            ictal_blas_builtin_force_halves(halves);
            ictal_blas_gemm_builtin(M, N, K, A, lda, Bt, ldt, C1, ldc);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    assert_true(fabsf(C1[i * ldc + j] - C2[i * ldc + j]) <= 1e-5f * (float)K);
                    /* exact ascending-k float sum, whatever the row blocking */
                    float acc = 0.0f;
                    for (int k = 0; k < K; k++)
                        acc += A[i * lda + k] * Bt[k * ldt + j];
                    assert_true(C1[i * ldc + j] == acc);
                }
            /* the wide variant: rows ldw >= ldt apart, the last block stored
             * whole (8 columns if at most 8 are left, else 16): those
             * columns past N get A . 0 (zero padding), nothing beyond */
            const int j0 = (N - 1) / ICTAL_BLAS_COLS * ICTAL_BLAS_COLS;
            const int end = j0 + (N - j0 <= 8 ? 8 : ICTAL_BLAS_COLS);
            const int ldw = ldt + (int)test_rng_range(&r, 0, 5);
            float *W = malloc((size_t)M * ldw * sizeof(float));
            for (int k = 0; k < K; k++)
                for (int j = N; j < ldt; j++)
                    Bt[k * ldt + j] = 0.0f;
            for (int i = 0; i < M * ldw; i++)
                W[i] = -7.0f;
            ictal_blas_gemm_builtin_wide(M, N, K, A, lda, Bt, ldt, W, ldw);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < ldw; j++) {
                    const float w = W[i * ldw + j];
                    if (j < N)
                        assert_true(w == C1[i * ldc + j]);
                    else if (j < end)
                        assert_true(w == 0.0f);
                    else
                        assert_true(w == -7.0f);
                }
            free(W);
            for (int k = 0; k < K; k++)
                for (int j = N; j < ldt; j++)
                    Bt[k * ldt + j] = NAN;
        }
        ictal_blas_builtin_force_halves(0);
        free(Bt);
        free(A);
        free(B);
        free(C1);
        free(C2);
    }
}

/* The guard itself must see what it is meant to see. */
static void test_guard_self_check(void **state)
{
    (void)state;
    const char *why = rt_guard_unavailable();
    if (why) {
        print_message("RT guard skipped: %s\n", why);
        skip();
    }
    struct rt_guard_tally before;
    rt_guard_save(&before);
    rt_guard_arm();
    void *volatile p = malloc(16);
    rt_guard_disarm();
    free(p);
    assert_int_equal(rt_guard_violations(), before.total + 1);
    assert_int_equal(rt_guard_count(RT_GUARD_MALLOC), before.by_sym[RT_GUARD_MALLOC] + 1);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    rt_guard_arm();
    pthread_mutex_lock(&mu);
    (void)sched_yield();
    rt_guard_disarm();
    pthread_mutex_unlock(&mu);
    assert_int_equal(rt_guard_violations(), before.total + 3);
    assert_string_equal(rt_guard_last(), "sched_yield");
    rt_guard_restore(&before);
    /* ... and an engine on the OpenBLAS backend trips it (cblas_sgemm) */
    struct ictal_model *m = load("default_1h");
    struct ictal_engine_config cfg = {.n_channels = 3, .gemm = ICTAL_ENGINE_GEMM_OPENBLAS};
    struct ictal_error err;
    struct ictal_engine *e = ictal_engine_create(m, &cfg, &err);
    assert_non_null(e);
    static float x[3][64];
    const float *in[3] = {x[0], x[1], x[2]};
    float prob[8], scores[8 * 3];
    size_t nf;
    rt_guard_arm();
    int rc = ictal_engine_process(e, in, 64, prob, scores, 8, &nf);
    rt_guard_disarm();
    assert_int_equal(rc, 0);
    assert_true(rt_guard_count(RT_GUARD_CBLAS_SGEMM) > before.by_sym[RT_GUARD_CBLAS_SGEMM]);
    rt_guard_restore(&before);
    ictal_engine_destroy(e);
    ictal_model_destroy(m);
}

static void test_denormal_switch(void **state)
{
    (void)state;
    volatile float tiny = 1e-39f; /* subnormal */
    unsigned long saved = ictal_blas_denormals_flush();
#if defined(__x86_64__) || defined(__SSE__)
    volatile float y = tiny * 1.0f;
    assert_true(y == 0.0f);
#endif
    ictal_blas_denormals_restore(saved);
    volatile float z = tiny * 1.0f;
    assert_true(z != 0.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_invariance),   cmocka_unit_test(test_chunk_invariance_openblas),
        cmocka_unit_test(test_snapshot_restore),   cmocka_unit_test(test_bidirectional),
        cmocka_unit_test(test_windowed),
        cmocka_unit_test(test_reset_equals_fresh), cmocka_unit_test(test_capacity_and_clock),
        cmocka_unit_test(test_mask),               cmocka_unit_test(test_default_budget),
        cmocka_unit_test(test_blas_reference),     cmocka_unit_test(test_denormal_switch),
        cmocka_unit_test(test_guard_self_check),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    const char *why = rt_guard_unavailable();
    if (why) {
        fprintf(stderr, "RT guard: skipped (%s)\n", why);
    } else if (rt_guard_violations()) {
        char rep[512];
        fprintf(stderr, "RT guard: %lu allocator/lock calls inside process/save/load/reset/set_mask: %s\n",
                rt_guard_violations(), rt_guard_report(rep, sizeof rep));
        rc = 1;
    } else {
        fprintf(stderr, "RT guard: no allocator or lock calls on the RT path\n");
    }
    return rc;
}
