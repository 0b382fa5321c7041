/*
 * test_timehist.c — the single-writer duration histogram (ictal/timehist.h):
 * bucket edges and resolution, percentiles against a sorted array, interval
 * differences, and a writer thread racing a reader (run under TSan too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "ictal/timehist.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_buckets(void **state)
{
    (void)state;
    for (uint64_t v = 0; v < 128; v++) {
        assert_int_equal(ictal_timehist_bucket(v), v);
        assert_true(ictal_timehist_bucket_mid((size_t)v) == (double)v);
    }
    /* Monotone, and every value within 0.8 % of its bucket's midpoint. */
    uint64_t s = 88172645463325252ull;
    size_t prev = 0;
    for (uint64_t v = 128; v < 1u << 20; v += 1 + v / 97) {
        size_t b = ictal_timehist_bucket(v);
        assert_true(b >= prev);
        prev = b;
        double mid = ictal_timehist_bucket_mid(b);
        assert_true(fabs(mid - (double)v) <= 0.008 * (double)v + 1e-9);
    }
    for (int i = 0; i < 100000; i++) {
        uint64_t v = rnd(&s) >> (rnd(&s) % 63);
        size_t b = ictal_timehist_bucket(v);
        assert_true(b < ICTAL_TIMEHIST_BUCKETS);
        if (v >= 128)
            assert_true(fabs(ictal_timehist_bucket_mid(b) - (double)v) <= 0.008 * (double)v);
    }
}

static void test_percentiles_against_sorted(void **state)
{
    (void)state;
    enum { N = 20001 };
    uint64_t *v = malloc(N * sizeof *v);
    struct ictal_timehist *h = malloc(sizeof *h);
    struct ictal_timehist_snapshot *s = malloc(sizeof *s);
    assert_non_null(v);
    assert_non_null(h);
    assert_non_null(s);
    ictal_timehist_init(h);
    ictal_timehist_snapshot(h, s);
    assert_true(ictal_timehist_percentile(s, 50) == 0 && ictal_timehist_mean(s) == 0);
    uint64_t seed = 12345, sum = 0;
    for (int i = 0; i < N; i++) {
        v[i] = 1000 + rnd(&seed) % 5000000; /* 1 µs .. 5 ms */
        sum += v[i];
        ictal_timehist_add(h, v[i]);
    }
    qsort(v, N, sizeof *v, cmp_u64);
    ictal_timehist_snapshot(h, s);
    assert_int_equal(s->n, N);
    assert_int_equal(s->max_ns, v[N - 1]);
    assert_int_equal(s->sum_ns, sum);
    static const double qs[] = { 0, 1, 50, 95, 99, 99.9, 100 };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        size_t r = (size_t)ceil(qs[i] / 100.0 * N);
        uint64_t exact = v[r ? r - 1 : 0];
        double got = ictal_timehist_percentile(s, qs[i]);
        assert_true(fabs(got - (double)exact) <= 0.008 * (double)exact);
        assert_true(got <= (double)v[N - 1]);
    }
    assert_true(fabs(ictal_timehist_mean(s) - (double)sum / N) < 1e-6 * (double)sum / N);
    assert_true(fabs(ictal_timehist_top(s) - (double)v[N - 1]) <= 0.016 * (double)v[N - 1]);
    free(v);
    free(h);
    free(s);
}

static void test_interval_difference(void **state)
{
    (void)state;
    struct ictal_timehist *h = calloc(1, sizeof *h);
    struct ictal_timehist_snapshot *a = malloc(sizeof *a), *b = malloc(sizeof *b),
                                   *d = malloc(sizeof *d);
    assert_true(h && a && b && d);
    ictal_timehist_init(h);
    for (int i = 0; i < 1000; i++)
        ictal_timehist_add(h, 1000000); /* 1 ms: the first "second" */
    ictal_timehist_snapshot(h, a);
    for (int i = 0; i < 100; i++)
        ictal_timehist_add(h, 2000 + (uint64_t)i); /* 2 µs: the second */
    ictal_timehist_snapshot(h, b);
    ictal_timehist_diff(b, a, d);
    assert_int_equal(d->n, 100);
    /* The interval knows nothing of the earlier 1 ms values... */
    assert_true(ictal_timehist_top(d) < 2200);
    assert_true(fabs(ictal_timehist_percentile(d, 50) - 2050) < 0.01 * 2050);
    /* ...while max_ns is the all-time maximum. */
    assert_int_equal(d->max_ns, 1000000);
    free(h);
    free(a);
    free(b);
    free(d);
}

/* A writer adding while a reader snapshots: no torn counter, counts only grow. */
struct race {
    struct ictal_timehist *h;
    int done;
};

static void *writer(void *arg)
{
    struct race *r = arg;
    for (uint64_t i = 0; i < 400000; i++)
        ictal_timehist_add(r->h, 500 + (i * 2654435761u) % 100000);
    __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_concurrent_reader(void **state)
{
    (void)state;
    struct race r = { calloc(1, sizeof *r.h), 0 };
    struct ictal_timehist_snapshot *s = malloc(sizeof *s);
    assert_true(r.h && s);
    ictal_timehist_init(r.h);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, &r), 0);
    uint64_t last = 0;
    int snaps = 0;
    while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) || snaps < 3) {
        ictal_timehist_snapshot(r.h, s);
        assert_true(s->n >= last);
        last = s->n;
        assert_true(s->max_ns < 100500);
        double p = ictal_timehist_percentile(s, 99);
        assert_true(p >= 0 && p <= 100500);
        snaps++;
    }
    pthread_join(t, NULL);
    ictal_timehist_snapshot(r.h, s);
    assert_int_equal(s->n, 400000);
    free(r.h);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_percentiles_against_sorted),
        cmocka_unit_test(test_interval_difference),
        cmocka_unit_test(test_concurrent_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
