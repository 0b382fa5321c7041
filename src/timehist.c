/*
 * timehist.c — single-writer duration histogram (ictal/timehist.h).
 */
#include "ictal/timehist.h"

#include <math.h>
#include <string.h>

/* The writer owns every counter: a relaxed load and store is an ordinary
 * move on x86-64 and AArch64 and still race-free for readers (no torn
 * 64-bit values, no data race under TSan). */
#define BUMP(a, v) \
    atomic_store_explicit(&(a), atomic_load_explicit(&(a), memory_order_relaxed) + (v), \
                          memory_order_relaxed)

size_t ictal_timehist_bucket(uint64_t ns)
{
    if (ns < 128)
        return (size_t)ns;
    int msb = 63 - __builtin_clzll(ns);
    int shift = msb - 6;
    uint64_t sub = ns >> shift; /* 64..127 */
    size_t i = 128 + (size_t)(shift - 1) * 64 + (size_t)(sub - 64);
    return i < ICTAL_TIMEHIST_BUCKETS ? i : ICTAL_TIMEHIST_BUCKETS - 1;
}

/* Lower edge of bucket i (i >= 128) and its width. */
static double bucket_lower(size_t i, double *width)
{
    int shift = (int)((i - 128) / 64) + 1;
    *width = ldexp(1.0, shift);
    return (double)((i - 128) % 64 + 64) * *width;
}

double ictal_timehist_bucket_mid(size_t i)
{
    if (i < 128)
        return (double)i;
    double w;
    double lo = bucket_lower(i, &w);
    return lo + w / 2;
}

void ictal_timehist_init(struct ictal_timehist *h)
{
    for (size_t i = 0; i < ICTAL_TIMEHIST_BUCKETS; i++)
        atomic_init(&h->count[i], 0);
    atomic_init(&h->n, 0);
    atomic_init(&h->sum_ns, 0);
    atomic_init(&h->max_ns, 0);
}

void ictal_timehist_add(struct ictal_timehist *h, uint64_t ns)
{
    BUMP(h->count[ictal_timehist_bucket(ns)], 1);
    BUMP(h->sum_ns, ns);
    if (ns > atomic_load_explicit(&h->max_ns, memory_order_relaxed))
        atomic_store_explicit(&h->max_ns, ns, memory_order_relaxed);
    /* n last, with release: a reader that sees n also sees the bucket. */
    atomic_store_explicit(&h->n, atomic_load_explicit(&h->n, memory_order_relaxed) + 1,
                          memory_order_release);
}

void ictal_timehist_snapshot(const struct ictal_timehist *h, struct ictal_timehist_snapshot *s)
{
    s->n = atomic_load_explicit(&h->n, memory_order_acquire);
    uint64_t total = 0;
    for (size_t i = 0; i < ICTAL_TIMEHIST_BUCKETS; i++) {
        s->count[i] = atomic_load_explicit(&h->count[i], memory_order_relaxed);
        total += s->count[i];
    }
    /* Buckets may run one value ahead of n; the buckets are what percentiles use. */
    s->n = total;
    s->sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
    s->max_ns = atomic_load_explicit(&h->max_ns, memory_order_relaxed);
}

void ictal_timehist_diff(const struct ictal_timehist_snapshot *now,
                         const struct ictal_timehist_snapshot *before,
                         struct ictal_timehist_snapshot *d)
{
    uint64_t total = 0;
    for (size_t i = 0; i < ICTAL_TIMEHIST_BUCKETS; i++) {
        d->count[i] = now->count[i] >= before->count[i] ? now->count[i] - before->count[i] : 0;
        total += d->count[i];
    }
    d->n = total;
    d->sum_ns = now->sum_ns >= before->sum_ns ? now->sum_ns - before->sum_ns : 0;
    d->max_ns = now->max_ns;
}

double ictal_timehist_percentile(const struct ictal_timehist_snapshot *s, double q)
{
    if (s->n == 0)
        return 0;
    if (!(q >= 0))
        q = 0;
    if (q > 100)
        q = 100;
    uint64_t r = (uint64_t)ceil(q / 100.0 * (double)s->n);
    if (r < 1)
        r = 1;
    uint64_t cum = 0;
    for (size_t i = 0; i < ICTAL_TIMEHIST_BUCKETS; i++) {
        cum += s->count[i];
        if (cum >= r) {
            double v = ictal_timehist_bucket_mid(i);
            return v > (double)s->max_ns ? (double)s->max_ns : v;
        }
    }
    return (double)s->max_ns;
}

double ictal_timehist_mean(const struct ictal_timehist_snapshot *s)
{
    return s->n ? (double)s->sum_ns / (double)s->n : 0;
}

double ictal_timehist_top(const struct ictal_timehist_snapshot *s)
{
    for (size_t i = ICTAL_TIMEHIST_BUCKETS; i-- > 0;) {
        if (!s->count[i])
            continue;
        double top;
        if (i < 128) {
            top = (double)i;
        } else {
            double w;
            top = bucket_lower(i, &w) + w;
        }
        return top > (double)s->max_ns ? (double)s->max_ns : top;
    }
    return 0;
}
