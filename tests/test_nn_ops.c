/*
 * test_nn_ops.c — the engine's element-wise kernels against double-precision
 * libm over random arguments (property tests), and the norms against their
 * formulas. The engine's own exp/log/erf are vectorisable polynomials; these
 * bounds are what keeps whole models within 1e-5 of PyTorch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "ictal/nn_ops.h"
#include "test_util.h"

#define N 20000

static float *rand_vec(struct test_rng *r, double lo, double hi)
{
    float *x = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        x[i] = (float)(lo + (hi - lo) * test_rng_unit(r));
    return x;
}

static void test_exp(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 1);
    float *x = rand_vec(&r, -87, 88), *y = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        y[i] = x[i];
    ictal_nn_exp_v(y, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double ref = exp((double)x[i]);
        worst = fmax(worst, fabs(y[i] - ref) / ref);
        assert_true(y[i] == ictal_nn_exp(x[i])); /* scalar and vector paths agree bit for bit */
    }
    print_message("exp: max rel err %.2e\n", worst);
    assert_true(worst < 1.0e-7); /* 8.5e-8 exhaustively over [-87, 88] */
    assert_true(ictal_nn_exp(-1000.0f) >= 0.0f && ictal_nn_exp(-1000.0f) < 1e-37f);
    assert_true(isfinite(ictal_nn_exp(1000.0f)));
    assert_true(isnan(ictal_nn_exp(NAN)));        /* propagated, and no UB on the way */
    assert_true(isnan(ictal_nn_softplus(NAN)));
    free(x);
    free(y);
}

static void test_softplus(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 2);
    float *x = rand_vec(&r, -40, 40), *y = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        y[i] = x[i];
    ictal_nn_softplus_v(y, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double ref = x[i] > 20 ? x[i] : log1p(exp((double)x[i]));
        worst = fmax(worst, fabs(y[i] - ref) / fmax(ref, 1e-30));
        assert_true(y[i] == ictal_nn_softplus(x[i]));
    }
    print_message("softplus: max rel err %.2e\n", worst);
    assert_true(worst < 5e-7);
    free(x);
    free(y);
}

/* error relative to max(rel_floor, |reference|) */
static void check_act(enum ictal_act fn, double (*ref)(double), double lo, double hi, double abs_tol,
                      double rel_floor, const char *name)
{
    struct test_rng r;
    test_rng_seed(&r, (uint64_t)fn + 10);
    float *x = rand_vec(&r, lo, hi), *y = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        y[i] = x[i];
    ictal_nn_act(fn, y, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double want = ref(x[i]);
        worst = fmax(worst, fabs(y[i] - want) / fmax(rel_floor, fabs(want)));
    }
    print_message("%s: max err %.2e\n", name, worst);
    assert_true(worst < abs_tol);
    free(x);
    free(y);
}

static double silu_d(double x) { return x / (1 + exp(-x)); }
static double gelu_d(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double relu_d(double x) { return x > 0 ? x : 0; }
static double sigmoid_d(double x) { return 1 / (1 + exp(-x)); }

static void test_acts(void **state)
{
    (void)state;
    check_act(ICTAL_ACT_SILU, silu_d, -100, 100, 3e-7, 1.0, "silu");
    check_act(ICTAL_ACT_GELU, gelu_d, -12, 12, 4e-7, 1.0, "gelu");
    check_act(ICTAL_ACT_RELU, relu_d, -10, 10, 1e-30, 1.0, "relu");
    check_act(ICTAL_ACT_TANH, tanh, -30, 30, 3e-7, 1.0, "tanh");
    check_act(ICTAL_ACT_TANH, tanh, -0.3, 0.3, 1.5e-6, 1e-30, "tanh (relative, small x)");
    check_act(ICTAL_ACT_SIGMOID, sigmoid_d, -100, 100, 3e-7, 1.0, "sigmoid");
}

static void test_norms(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 3);
    enum { ROWS = 7, DIM = 13 };
    float x[ROWS * DIM], y[ROWS * DIM], w[DIM], b[DIM];
    for (int trial = 0; trial < 50; trial++) {
        double scale = pow(10, test_rng_range(&r, -3, 3));
        for (int i = 0; i < ROWS * DIM; i++)
            x[i] = y[i] = (float)((test_rng_unit(&r) - 0.3) * scale);
        for (int i = 0; i < DIM; i++) {
            w[i] = (float)(0.5 + test_rng_unit(&r));
            b[i] = (float)(test_rng_unit(&r) - 0.5);
        }
        ictal_nn_layernorm(y, ROWS, DIM, w, b, 1e-5f);
        for (int rr = 0; rr < ROWS; rr++) {
            double m = 0, v = 0;
            for (int i = 0; i < DIM; i++)
                m += x[rr * DIM + i];
            m /= DIM;
            for (int i = 0; i < DIM; i++)
                v += (x[rr * DIM + i] - m) * (x[rr * DIM + i] - m);
            v /= DIM;
            for (int i = 0; i < DIM; i++) {
                double want = (x[rr * DIM + i] - m) / sqrt(v + 1e-5) * w[i] + b[i];
                assert_true(fabs(y[rr * DIM + i] - want) <= 1e-5 * (1 + fabs(want)));
            }
        }
        for (int i = 0; i < ROWS * DIM; i++)
            y[i] = x[i];
        ictal_nn_rmsnorm(y, ROWS, DIM, w, 1e-5f);
        for (int rr = 0; rr < ROWS; rr++) {
            double q = 0;
            for (int i = 0; i < DIM; i++)
                q += (double)x[rr * DIM + i] * x[rr * DIM + i];
            for (int i = 0; i < DIM; i++) {
                double want = x[rr * DIM + i] / sqrt(q / DIM + 1e-5) * w[i];
                assert_true(fabs(y[rr * DIM + i] - want) <= 1e-5 * (1 + fabs(want)));
            }
        }
    }
}

/* The fused kernels the engine's time-batched path uses must give exactly
 * the bits of the separate steps (the step path and the OpenBLAS backend
 * still take the separate steps, and chunk invariance depends on it). */
static void fill(struct test_rng *r, float *x, long n, double scale)
{
    for (long i = 0; i < n; i++)
        x[i] = (float)((test_rng_unit(r) - 0.5) * scale);
}

static void test_fused_bias_act(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 4);
    static const int widths[] = {1, 2, 4, 8, 16, 12, 40};
    static const enum ictal_act fns[] = {ICTAL_ACT_SILU, ICTAL_ACT_GELU, ICTAL_ACT_TANH};
    float x[41 * 40], y[41 * 40], b[40];
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
        for (size_t fi = 0; fi < sizeof fns / sizeof fns[0]; fi++)
            for (int rows = 1; rows <= 41; rows += 8) {
                const int n = widths[wi];
                fill(&r, x, (long)rows * n, 16);
                fill(&r, b, n, 2);
                for (long i = 0; i < (long)rows * n; i++)
                    y[i] = x[i] + b[i % n];
                ictal_nn_act(fns[fi], y, (long)rows * n);
                ictal_nn_bias_act(fns[fi], x, rows, n, b);
                assert_memory_equal(x, y, sizeof(float) * (size_t)rows * (size_t)n);
            }
}

static void test_fused_silu_rows(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 5);
    enum { ROWS = 19, LD = 80, W = 32 };
    float src[ROWS * LD], got[ROWS * W], want[ROWS * W];
    fill(&r, src, ROWS * LD, 30);
    for (int q = 0; q < ROWS; q++)
        for (int j = 0; j < W; j++)
            want[q * W + j] = src[q * LD + 3 + j];
    ictal_nn_act(ICTAL_ACT_SILU, want, ROWS * W);
    ictal_nn_silu_rows(got, W, src + 3, LD, ROWS, W);
    assert_memory_equal(got, want, sizeof got);
    assert_true(isnan(ictal_nn_silu(NAN)));   /* NaN carried by the numerator */
    float big[2] = {1e30f, -1e30f};
    ictal_nn_act(ICTAL_ACT_SILU, big, 2);
    assert_true(big[0] == 1e30f && fabsf(big[1]) < 1e-7f);
}

static void test_fused_mamba_dt(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 6);
    enum { ROWS = 23, LD = 80 };
    for (int nh = 1; nh <= 5; nh++) {
        float z[ROWS * LD], bias[5], A[5], dt[ROWS * 5], dA[ROWS * 5], wdt[ROWS * 5], wdA[ROWS * 5];
        fill(&r, z, ROWS * LD, 50); /* some above the softplus threshold 20 */
        fill(&r, bias, nh, 2);
        for (int h = 0; h < nh; h++)
            A[h] = -(float)(1 + 15 * test_rng_unit(&r));
        for (int q = 0; q < ROWS; q++)
            for (int h = 0; h < nh; h++)
                wdt[q * nh + h] = z[q * LD + 7 + h] + bias[h];
        ictal_nn_softplus_v(wdt, ROWS * nh);
        for (int q = 0; q < ROWS; q++)
            for (int h = 0; h < nh; h++)
                wdA[q * nh + h] = wdt[q * nh + h] * A[h];
        ictal_nn_exp_v(wdA, ROWS * nh);
        ictal_nn_mamba_dt(dt, dA, z + 7, LD, ROWS, nh, bias, A);
        assert_memory_equal(dt, wdt, sizeof(float) * ROWS * (size_t)nh);
        assert_memory_equal(dA, wdA, sizeof(float) * ROWS * (size_t)nh);
    }
}

static void test_fused_norms(void **state)
{
    (void)state;
    struct test_rng r;
    test_rng_seed(&r, 7);
    static const int dims[] = {16, 32, 13};
    float x[70 * 32], y[70 * 32], w[32], b[32], pre[32];
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
        for (int rows = 1; rows <= 70; rows += 23) {
            const int d = dims[di];
            const long n = (long)rows * d;
            fill(&r, w, d, 2);
            fill(&r, b, d, 1);
            fill(&r, pre, d, 1);
            for (int fn = 0; fn <= ICTAL_ACT_TANH; fn++) {
                fill(&r, x, n, 8);
                for (long i = 0; i < n; i++)
                    y[i] = x[i] + pre[i % d];
                ictal_nn_layernorm(y, rows, d, w, b, 1e-5f);
                if (fn)
                    ictal_nn_act((enum ictal_act)fn, y, n);
                ictal_nn_layernorm_act(fn, x, rows, d, pre, w, b, 1e-5f);
                assert_memory_equal(x, y, sizeof(float) * (size_t)n);
            }
            fill(&r, x, n, 8); /* RMSNorm out of place == in place */
            ictal_nn_rmsnorm_to(y, x, rows, d, w, 1e-5f);
            ictal_nn_rmsnorm(x, rows, d, w, 1e-5f);
            assert_memory_equal(x, y, sizeof(float) * (size_t)n);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_softplus),
        cmocka_unit_test(test_acts),
        cmocka_unit_test(test_norms),
        cmocka_unit_test(test_fused_bias_act),
        cmocka_unit_test(test_fused_silu_rows),
        cmocka_unit_test(test_fused_mamba_dt),
        cmocka_unit_test(test_fused_norms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
