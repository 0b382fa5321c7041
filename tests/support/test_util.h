/*
 * test_util.h — small helpers shared by the cmocka tests.
 */
#ifndef ICTAL_TEST_UTIL_H
#define ICTAL_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The per-test scratch directory (ICTAL_TEST_TMPDIR, else /tmp). */
const char *test_tmpdir(void);

/* Write "<tmpdir>/<name>" into buf (size cap); returns buf. Aborts on overflow. */
char *test_path(char *buf, size_t cap, const char *name);

/* Write len bytes to path, replacing it. Returns 0 or -1 (errno set). */
int test_write_file(const char *path, const void *data, size_t len);

/* Read a whole file into a malloc'd buffer (*len receives its size, which
 * excludes a terminating NUL added after the data so that string functions
 * are safe on text files). Returns NULL on failure. The caller frees. */
void *test_read_file(const char *path, size_t *len);

/* The shared data directory (ICTAL_SHARED_DATA), or NULL when it does not exist:
 * tests that read real annotation files skip cleanly then. */
const char *test_shared_data(void);

/* Assert that texts a and b have the same lines up to the first occurrence of
 * `cut` in each line (e.g. " ; " to ignore the source comments of a config
 * snapshot), and the same number of lines. Fails the running cmocka test. */
void test_assert_same_lines_before(const char *a, const char *b, const char *cut);

/* Seconds on the monotonic clock (for timeouts and elapsed times). */
double test_now_s(void);

/* Sleep ms milliseconds, resuming after signals. */
void test_sleep_ms(long ms);

/* Print every thread's stack of process pid to stderr with gdb, when gdb is
 * installed (a child that timed out: say where it was stuck before killing
 * it). Returns 0 when gdb ran, -1 otherwise. */
int test_dump_stacks(int pid);

/* Deterministic PRNG for property tests (xorshift64*). Seed with any non-zero
 * value; ICTAL_TEST_SEED overrides the seed a test chose, to replay a failure. */
struct test_rng { uint64_t s; };
void test_rng_seed(struct test_rng *r, uint64_t seed);
uint64_t test_rng_next(struct test_rng *r);
/* Uniform integer in [lo, hi] (inclusive). */
int64_t test_rng_range(struct test_rng *r, int64_t lo, int64_t hi);
/* Uniform double in [0, 1). */
double test_rng_unit(struct test_rng *r);

#endif
