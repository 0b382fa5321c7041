/*
 * ictal/timehist.h — a fixed-size histogram of durations (ns) with about
 * 0.8 % resolution, written by one thread and read by any other without
 * locks: how long each process() call or JACK cycle took.
 *
 * Buckets: below 128 ns exact; above, 64 linear sub-buckets per power of
 * two (so a bucket is at most 1/64 = 1.6 % wide; its midpoint is within
 * 0.8 % of any value in it). Values up to 2^63 ns fit.
 *
 * Threads. ictal_timehist_add is for exactly one writer thread (the JACK
 * process thread, or the only thread of ictal-run): every counter is a C11
 * atomic written with relaxed stores by that thread alone, so adding is a
 * handful of plain loads and stores, no read-modify-write, no lock, no
 * system call. Readers copy the counters with ictal_timehist_snapshot from
 * any thread; a snapshot taken while the writer runs may be off by the one
 * value being added, never torn within a counter. Interval statistics (the
 * heartbeat's "last second") are the difference of two snapshots.
 */
#ifndef ICTAL_TIMEHIST_H
#define ICTAL_TIMEHIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ICTAL_TIMEHIST_BUCKETS (128 + 57 * 64)

/* The live histogram (one writer). Zero-initialise it (static, calloc or
 * ictal_timehist_init) before use; it needs no destroy. ~30 kB. */
struct ictal_timehist {
    _Atomic uint64_t count[ICTAL_TIMEHIST_BUCKETS];
    _Atomic uint64_t n;
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t max_ns;
};

/* A copy for reading and arithmetic (plain integers). */
struct ictal_timehist_snapshot {
    uint64_t count[ICTAL_TIMEHIST_BUCKETS];
    uint64_t n;
    uint64_t sum_ns;
    uint64_t max_ns;   /* since init (a difference cannot recover an interval's max) */
};

/* All counters to zero. Not while the writer runs. RT-safe: yes. */
void ictal_timehist_init(struct ictal_timehist *h);

/* Count one duration. Writer thread only. RT-safe: yes. */
void ictal_timehist_add(struct ictal_timehist *h, uint64_t ns);

/* Copy the counters. Any thread. RT-safe: yes (a 30 kB copy). */
void ictal_timehist_snapshot(const struct ictal_timehist *h, struct ictal_timehist_snapshot *s);

/* d = now - before, bucket by bucket (an interval's values); d->max_ns is
 * now->max_ns (callers track interval maxima themselves). RT-safe: yes. */
void ictal_timehist_diff(const struct ictal_timehist_snapshot *now,
                         const struct ictal_timehist_snapshot *before,
                         struct ictal_timehist_snapshot *d);

/* Nearest-rank percentile q in [0, 100], in ns: the midpoint of the bucket
 * holding the rank, capped at max_ns; 0 when empty. RT-safe: yes. */
double ictal_timehist_percentile(const struct ictal_timehist_snapshot *s, double q);

/* Mean in ns (0 when empty). RT-safe: yes. */
double ictal_timehist_mean(const struct ictal_timehist_snapshot *s);

/* The largest value counted in s, to bucket resolution (the upper edge of
 * the highest non-empty bucket, capped at max_ns): an interval's maximum
 * from a difference. RT-safe: yes. */
double ictal_timehist_top(const struct ictal_timehist_snapshot *s);

/* The bucket of a value, and a bucket's midpoint (for tests). */
size_t ictal_timehist_bucket(uint64_t ns);
double ictal_timehist_bucket_mid(size_t i);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_TIMEHIST_H */
