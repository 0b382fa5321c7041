#include "test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *test_tmpdir(void)
{
    const char *d = getenv("ICTAL_TEST_TMPDIR");
    return (d && *d) ? d : "/tmp";
}

char *test_path(char *buf, size_t cap, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", test_tmpdir(), name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "test_path: path too long for %s\n", name);
        abort();
    }
    return buf;
}

int test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    int rc = (w == len) ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

void *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap) {
            buf[n] = '\0'; /* not counted in *len: lets tests use string functions */
            break;
        }
        unsigned char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = n;
    return buf;
}

const char *test_shared_data(void)
{
    const char *d = getenv("ICTAL_SHARED_DATA");
    struct stat st;
    if (!d || !*d || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return d;
}

void test_assert_same_lines_before(const char *a, const char *b, const char *cut)
{
    while (*a || *b) {
        assert_true(*a && *b); /* one text has more lines than the other */
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        if (!ea)
            ea = a + strlen(a);
        if (!eb)
            eb = b + strlen(b);
        const char *ca = strstr(a, cut), *cb = strstr(b, cut);
        size_t na = ca && ca < ea ? (size_t)(ca - a) : (size_t)(ea - a);
        size_t nb = cb && cb < eb ? (size_t)(cb - b) : (size_t)(eb - b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        a = *ea ? ea + 1 : ea;
        b = *eb ? eb + 1 : eb;
    }
}

void test_rng_seed(struct test_rng *r, uint64_t seed)
{
    const char *env = getenv("ICTAL_TEST_SEED");
    if (env && *env)
        seed = strtoull(env, NULL, 0);
    r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t test_rng_next(struct test_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

int64_t test_rng_range(struct test_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1u;
    if (span == 0) /* the whole 64-bit range */
        return (int64_t)test_rng_next(r);
    return lo + (int64_t)(test_rng_next(r) % span);
}

double test_rng_unit(struct test_rng *r)
{
    return (double)(test_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int test_dump_stacks(int pid)
{
    if (system("command -v gdb >/dev/null 2>&1") != 0)
        return -1;
    char cmd[160];
    snprintf(cmd, sizeof cmd,
             "gdb -p %d -batch -ex 'thread apply all bt' 2>/dev/null | grep -E '^(#|Thread)' >&2",
             pid);
    fprintf(stderr, "---- stacks of process %d (timed out)\n", pid);
    fflush(stderr);
    int r = system(cmd);
    fprintf(stderr, "---- end of stacks\n");
    return r == 0 ? 0 : -1;
}

double test_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void test_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
