/*
 * test_engine_golden.c — the C engine against the PyTorch reference.
 *
 * Golden vectors (tests/golden/, made by tools/model/make_golden.py) hold the
 * reference outputs of random-weight models on a deterministic test signal
 * that this file regenerates bit-exactly (ictal_test_signal). Every layer
 * type alone (after a small front-end), and two whole models over one hour
 * of EEG (28,800 frames at 8 Hz): max |Δp| ≤ 1e-5 for the aggregated and
 * the per-channel probabilities, with the engine fed in random chunk sizes,
 * with denormal flushing off and on.
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

#include "ictal/blas.h"
#include "ictal/engine.h"
#include "ictal/model.h"
#include "test_util.h"

#define TOL_P 1e-5

/* Bit-identical to ictal_ref.test_input (tools/model/ictal_ref.py). */
static float ictal_test_signal(uint64_t t, uint64_t c, uint64_t seed)
{
    uint32_t h = (uint32_t)(t * 0x9E3779B1u + c * 0x85EBCA77u + seed * 0xC2B2AE3Du);
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    h *= 0x297A2D39u;
    h ^= h >> 15;
    float noise = (float)(h >> 8) * (1.0f / 16777216.0f) - 0.5f;
    float slow = (float)(((t >> 9) + c) & 7u) - 3.5f;
    float amp = (((t >> 13) + c) % 5u) == 0 ? 8.0f : 1.0f;
    float x = noise * amp + slow * 0.25f;
    return x * 16.0f;
}

struct golden {
    struct ictal_model *m;
    struct ictal_tensorfile *x;
    int C, every;
    size_t T;
    uint64_t seed;
    float **in;
};

static void golden_open(struct golden *g, const char *name)
{
    char path[512];
    struct ictal_error err;
    snprintf(path, sizeof path, "%s/%s.model.safetensors", ICTAL_GOLDEN_DIR, name);
    g->m = ictal_model_load(path, &err);
    if (!g->m)
        fail_msg("%s", err.msg);
    snprintf(path, sizeof path, "%s/%s.expect.safetensors", ICTAL_GOLDEN_DIR, name);
    g->x = ictal_tensorfile_load(path, &err);
    if (!g->x)
        fail_msg("%s", err.msg);
    g->C = atoi(ictal_tensorfile_metadata(g->x, "channels"));
    g->T = (size_t)strtoull(ictal_tensorfile_metadata(g->x, "samples"), NULL, 10);
    g->seed = strtoull(ictal_tensorfile_metadata(g->x, "seed"), NULL, 10);
    g->every = atoi(ictal_tensorfile_metadata(g->x, "every"));
    assert_true(g->C > 0 && g->T > 0 && g->every > 0);
    g->in = calloc((size_t)g->C, sizeof(float *));
    for (int c = 0; c < g->C; c++) {
        g->in[c] = malloc(g->T * sizeof(float));
        for (size_t t = 0; t < g->T; t++)
            g->in[c][t] = ictal_test_signal(t, (uint64_t)c, g->seed);
    }
}

static void golden_close(struct golden *g)
{
    for (int c = 0; c < g->C; c++)
        free(g->in[c]);
    free(g->in);
    ictal_tensorfile_destroy(g->x);
    ictal_model_destroy(g->m);
}

/* Run the engine over the whole input in random chunks; compare. */
static void check_case(const char *name, int ftz, enum ictal_engine_gemm gemm)
{
    struct golden g;
    golden_open(&g, name);
    struct ictal_error err;
    struct ictal_engine_config cfg = {.n_channels = g.C, .gemm = gemm};
    struct ictal_engine *e = ictal_engine_create(g.m, &cfg, &err);
    if (!e)
        fail_msg("%s", err.msg);
    const struct ictal_tensor *tp = ictal_tensorfile_get(g.x, "p");
    const struct ictal_tensor *ts = ictal_tensorfile_get(g.x, "scores");
    const struct ictal_tensor *tf = ictal_tensorfile_get(g.x, "features");
    assert_non_null(tp);
    assert_non_null(ts);
    const size_t F = ictal_engine_max_frames(e, g.T);
    float *p = malloc(F * sizeof(float)), *s = malloc(F * (size_t)g.C * sizeof(float));
    struct test_rng rng;
    test_rng_seed(&rng, 0xC0FFEE + g.seed);
    unsigned long saved = ftz ? ictal_blas_denormals_flush() : 0;
    size_t pos = 0, nf = 0;
    const float **ptr = calloc((size_t)g.C, sizeof(float *));
    while (pos < g.T) {
        size_t n = (size_t)test_rng_range(&rng, 1, 700);
        if (n > g.T - pos)
            n = g.T - pos;
        for (int c = 0; c < g.C; c++)
            ptr[c] = g.in[c] + pos;
        size_t got;
        assert_int_equal(ictal_engine_process(e, ptr, n, p + nf, s + nf * (size_t)g.C, F - nf, &got), 0);
        nf += got;
        pos += n;
    }
    if (ftz)
        ictal_blas_denormals_restore(saved);
    assert_int_equal(nf, F);
    assert_int_equal((nf + (size_t)g.every - 1) / (size_t)g.every, tp->numel);
    double dp = 0, ds = 0;
    for (size_t k = 0; k < tp->numel; k++) {
        size_t f = k * (size_t)g.every;
        dp = fmax(dp, fabs((double)p[f] - tp->data[k]));
        for (int c = 0; c < g.C; c++)
            ds = fmax(ds, fabs((double)s[f * (size_t)g.C + (size_t)c] - ts->data[k * (size_t)g.C + (size_t)c]));
    }
    print_message("%-22s %s %s %6zu frames x %d ch: max |dp| %.2e  max |d score| %.2e\n", name,
                  gemm ? "openblas" : "builtin ", ftz ? "ftz" : "   ", nf, g.C, dp, ds);
    assert_true(dp <= TOL_P);
    assert_true(ds <= TOL_P);

    /* Features, frame by frame (short cases store them). */
    if (tf && !ftz) {
        ictal_engine_reset(e);
        const size_t D = (size_t)ictal_model_info(g.m)->head_in;
        assert_int_equal(tf->numel, nf * (size_t)g.C * D);
        size_t k = 0;
        double df = 0;
        for (size_t t = 0; t < g.T; t++) {
            for (int c = 0; c < g.C; c++)
                ptr[c] = g.in[c] + t;
            size_t got;
            assert_int_equal(ictal_engine_process(e, ptr, 1, p, s, 1, &got), 0);
            if (!got)
                continue;
            const float *h = ictal_engine_features(e);
            for (size_t i = 0; i < (size_t)g.C * D; i++) {
                double ref = tf->data[k * (size_t)g.C * D + i];
                df = fmax(df, fabs(h[i] - ref) / (1.0 + fabs(ref)));
            }
            k++;
        }
        assert_int_equal(k, nf);
        print_message("%-22s              features: max rel |d| %.2e\n", name, df);
        assert_true(df <= 1e-5);
    }
    free(ptr);
    free(p);
    free(s);
    ictal_engine_destroy(e);
    golden_close(&g);
}

#define CASE(n)                                                                                            \
    static void test_##n(void **state)                                                                     \
    {                                                                                                      \
        (void)state;                                                                                       \
        check_case(#n, 0, ICTAL_ENGINE_GEMM_BUILTIN);                                                      \
        check_case(#n, 1, ICTAL_ENGINE_GEMM_BUILTIN);                                                      \
        check_case(#n, 0, ICTAL_ENGINE_GEMM_OPENBLAS);                                                     \
    }
CASE(conv_basic)
CASE(conv_dilated_grouped)
CASE(linear)
CASE(layernorm)
CASE(rmsnorm)
CASE(acts)
CASE(lstm)
CASE(mamba2)
CASE(mamba2_groups)
CASE(bimamba2)
CASE(windowed)
CASE(default_1h)
CASE(mixed_1h)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_basic),    cmocka_unit_test(test_conv_dilated_grouped),
        cmocka_unit_test(test_linear),        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_rmsnorm),       cmocka_unit_test(test_acts),
        cmocka_unit_test(test_lstm),          cmocka_unit_test(test_mamba2),
        cmocka_unit_test(test_mamba2_groups), cmocka_unit_test(test_bimamba2),
        cmocka_unit_test(test_windowed),
        cmocka_unit_test(test_default_1h),
        cmocka_unit_test(test_mixed_1h),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
