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
    assert_true(worst < 3.0e-7);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_softplus),
        cmocka_unit_test(test_acts),
        cmocka_unit_test(test_norms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
