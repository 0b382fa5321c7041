/* SPSC ring under two real threads: a producer and a consumer move many
 * messages through a small ring so that it wraps constantly and is often
 * full and often empty. Three variants share the checking logic:
 *   bytes   — variable-size messages (header + payload) with write/peek/read;
 *   records — fixed-size records with push/pop on a record ring whose record
 *             size does not divide the storage (records straddle the end);
 *   regions — the same variable messages, filled and checked in place
 *             through the zero-copy regions.
 * The consumer checks sequence, length and every payload byte. Its value is
 * highest under ThreadSanitizer (label tsan): a missing acquire/release
 * shows up as a race report or a payload mismatch.
 *
 * Bounded by message count, not time. ICTAL_RING_STRESS_SCALE (a
 * percentage, default 100) scales every count, e.g. for a longer soak.
 *
 * cmocka's asserts longjmp and must stay on the main thread: the workers
 * record the first failure and stop, main asserts afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/ring.h"
#include "test_util.h"

enum { HDR = 8, MAX_PAYLOAD = 60 };

enum variant { V_BYTES, V_RECORDS, V_REGIONS };

struct record {
    uint64_t seq;
    uint32_t word[4]; /* derived from seq */
};                    /* 24 bytes; 9 of them fill 216 of a 256-byte storage */

struct shared {
    struct ictal_ring *ring;
    enum variant variant;
    uint64_t n_messages;
    atomic_int stop;       /* set by whichever side fails first */
    char error[256];       /* first failure, written by the failing thread */
    uint64_t consumed;     /* written by the consumer, read by main after join */
    uint64_t full_waits;   /* failed producer attempts (producer-private) */
    uint64_t empty_waits;  /* failed consumer attempts (consumer-private) */
};

static size_t payload_len(uint64_t seq)
{
    /* Mix so that lengths vary irregularly, including 0 and MAX_PAYLOAD. */
    uint64_t x = seq * 0x9E3779B97F4A7C15ull;
    return (size_t)((x >> 40) % (MAX_PAYLOAD + 1));
}

static uint8_t payload_byte(uint64_t seq, size_t i)
{
    return (uint8_t)(seq * 31u + i * 7u + (seq >> 8));
}

static uint32_t record_word(uint64_t seq, int i)
{
    return (uint32_t)(seq * 2654435761u) ^ (uint32_t)(i * 0x01000193u);
}

static void fail_with(struct shared *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail_with(struct shared *s, const char *fmt, ...)
{
    if (atomic_exchange(&s->stop, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->error, sizeof s->error, fmt, ap);
        va_end(ap);
    }
}

typedef unsigned long long ull; /* test-local shorthand for printing */

static void encode_header(uint8_t *h, uint64_t seq, size_t len)
{
    uint32_t s32 = (uint32_t)seq, l32 = (uint32_t)len;
    memcpy(h, &s32, 4);
    memcpy(h + 4, &l32, 4);
}

/* Copy n bytes of the message at offset `at` into/out of two regions. */
static void regions_put(struct ictal_ring_region w[2], size_t at, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++, at++) {
        if (at < w[0].len)
            w[0].data[at] = src[i];
        else
            w[1].data[at - w[0].len] = src[i];
    }
}

static uint8_t regions_get(const struct ictal_ring_cregion c[2], size_t at)
{
    return at < c[0].len ? c[0].data[at] : c[1].data[at - c[0].len];
}

static void *producer(void *arg)
{
    struct shared *s = arg;
    uint8_t msg[HDR + MAX_PAYLOAD];
    for (uint64_t seq = 0; seq < s->n_messages; seq++) {
        size_t len = payload_len(seq);
        struct record rec;
        if (s->variant == V_RECORDS) {
            rec.seq = seq;
            for (int i = 0; i < 4; i++)
                rec.word[i] = record_word(seq, i);
        } else {
            encode_header(msg, seq, len);
            for (size_t i = 0; i < len; i++)
                msg[HDR + i] = payload_byte(seq, i);
        }
        for (;;) {
            if (atomic_load_explicit(&s->stop, memory_order_relaxed))
                return NULL;
            int rc;
            if (s->variant == V_BYTES) {
                rc = ictal_ring_write(s->ring, msg, HDR + len);
            } else if (s->variant == V_RECORDS) {
                rc = ictal_ring_push(s->ring, &rec);
            } else {
                struct ictal_ring_region w[2];
                size_t space = ictal_ring_write_regions(s->ring, w);
                if (space >= HDR + len) {
                    regions_put(w, 0, msg, HDR + len);
                    rc = ictal_ring_write_commit(s->ring, HDR + len);
                } else {
                    rc = ICTAL_EAGAIN;
                }
            }
            if (rc == 0)
                break;
            if (rc != ICTAL_EAGAIN) {
                fail_with(s, "producer: seq %llu: error %d (len %zu)", (ull)seq, rc, len);
                return NULL;
            }
            /* Retry a few times before yielding: a yield is a system call
             * (costly under TSan). On a loaded 2-core machine every 4th try
             * beat both yielding every time and spinning 32 times. */
            if (++s->full_waits % 4 == 0)
                sched_yield();
        }
    }
    return NULL;
}

/* Check one variable-size message whose bytes are reachable through get(). */
static int check_message(struct shared *s, uint64_t seq, const uint8_t *h, size_t avail,
                         const struct ictal_ring_cregion *c, const uint8_t *flat)
{
    uint32_t s32, l32;
    memcpy(&s32, h, 4);
    memcpy(&l32, h + 4, 4);
    if (s32 != (uint32_t)seq) {
        fail_with(s, "consumer: expected seq %llu, got %u (avail %zu)", (ull)seq, (unsigned)s32,
                  avail);
        return -1;
    }
    if (l32 != payload_len(seq)) {
        fail_with(s, "consumer: seq %llu: length %u, expected %zu", (ull)seq, (unsigned)l32,
                  payload_len(seq));
        return -1;
    }
    if (avail < HDR + l32) {
        /* The header was visible but the rest of an all-or-nothing write was not. */
        fail_with(s, "consumer: seq %llu: torn message, %zu of %zu bytes", (ull)seq, avail,
                  (size_t)HDR + l32);
        return -1;
    }
    for (size_t i = 0; i < l32; i++) {
        uint8_t b = flat ? flat[HDR + i] : regions_get(c, HDR + i);
        if (b != payload_byte(seq, i)) {
            fail_with(s, "consumer: seq %llu: payload byte %zu is %u", (ull)seq, i, (unsigned)b);
            return -1;
        }
    }
    return 0;
}

static void *consumer(void *arg)
{
    struct shared *s = arg;
    uint8_t msg[HDR + MAX_PAYLOAD];
    uint64_t seq = 0;
    while (seq < s->n_messages) {
        if (atomic_load_explicit(&s->stop, memory_order_relaxed))
            return NULL;
        int got = 0;
        if (s->variant == V_BYTES) {
            if (ictal_ring_peek(s->ring, msg, HDR) == 0) {
                uint32_t l32;
                memcpy(&l32, msg + 4, 4);
                size_t want = HDR + (l32 <= MAX_PAYLOAD ? l32 : 0);
                size_t avail = ictal_ring_read_space(s->ring);
                int rc = ictal_ring_read(s->ring, msg, want);
                if (rc != 0) {
                    fail_with(s, "consumer: seq %llu: read of %zu bytes failed after peek (%d)",
                              (ull)seq, want, rc);
                    return NULL;
                }
                if (check_message(s, seq, msg, avail, NULL, msg) != 0)
                    return NULL;
                got = 1;
            }
        } else if (s->variant == V_RECORDS) {
            struct record rec;
            int rc = ictal_ring_pop(s->ring, &rec);
            if (rc == 0) {
                if (rec.seq != seq) {
                    fail_with(s, "consumer: expected record %llu, got %llu", (ull)seq, (ull)rec.seq);
                    return NULL;
                }
                for (int i = 0; i < 4; i++) {
                    if (rec.word[i] != record_word(seq, i)) {
                        fail_with(s, "consumer: record %llu word %d is %u", (ull)seq, i,
                                  (unsigned)rec.word[i]);
                        return NULL;
                    }
                }
                got = 1;
            } else if (rc != ICTAL_EAGAIN) {
                fail_with(s, "consumer: record %llu: pop error %d", (ull)seq, rc);
                return NULL;
            }
        } else {
            struct ictal_ring_cregion c[2];
            size_t avail = ictal_ring_read_regions(s->ring, c);
            if (avail >= HDR) {
                uint8_t h[HDR];
                for (size_t i = 0; i < HDR; i++)
                    h[i] = regions_get(c, i);
                if (check_message(s, seq, h, avail, c, NULL) != 0)
                    return NULL;
                uint32_t l32;
                memcpy(&l32, h + 4, 4);
                if (ictal_ring_skip(s->ring, HDR + l32) != 0) {
                    fail_with(s, "consumer: seq %llu: skip failed", (ull)seq);
                    return NULL;
                }
                got = 1;
            } else if (avail != 0) {
                fail_with(s, "consumer: seq %llu: %zu bytes visible, less than a header", (ull)seq,
                          avail);
                return NULL;
            }
        }
        if (got) {
            seq++;
        } else {
            if (++s->empty_waits % 4 == 0)
                sched_yield();
        }
    }
    s->consumed = seq;
    return NULL;
}

static uint64_t scaled(uint64_t n)
{
    const char *e = getenv("ICTAL_RING_STRESS_SCALE");
    long pct = e ? strtol(e, NULL, 10) : 100;
    if (pct < 1)
        pct = 1;
    return n * (uint64_t)pct / 100;
}

static void run(enum variant v, struct ictal_ring *ring, uint64_t n, uint32_t start)
{
    assert_non_null(ring);
    /* Start the free-running indices a little below the uint32 wrap so the
     * threaded run crosses it too. */
    assert_int_equal(ictal_ring_set_indices(ring, start, start), 0);
    struct shared *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->ring = ring;
    s->variant = v;
    s->n_messages = n;
    atomic_init(&s->stop, 0);
    pthread_t p, c;
    assert_int_equal(pthread_create(&c, NULL, consumer, s), 0);
    assert_int_equal(pthread_create(&p, NULL, producer, s), 0);
    assert_int_equal(pthread_join(p, NULL), 0);
    assert_int_equal(pthread_join(c, NULL), 0);
    print_message("variant %d: %llu messages, %llu failed attempts on full, "
                  "%llu on empty\n",
                  (int)v, (unsigned long long)s->consumed,
                  (unsigned long long)s->full_waits, (unsigned long long)s->empty_waits);
    if (atomic_load(&s->stop))
        fail_msg("%s", s->error);
    assert_int_equal(s->consumed, n);
    assert_int_equal(ictal_ring_read_space(ring), 0);
    free(s);
    ictal_ring_destroy(ring);
}

static void test_stress_bytes(void **state)
{
    (void)state;
    run(V_BYTES, ictal_ring_create(256, NULL), scaled(600000), UINT32_MAX - 1000);
}

static void test_stress_records(void **state)
{
    (void)state;
    run(V_RECORDS, ictal_ring_create_records(9, sizeof(struct record), NULL),
        scaled(300000), UINT32_MAX - 1000);
}

static void test_stress_regions(void **state)
{
    (void)state;
    run(V_REGIONS, ictal_ring_create(128, NULL), scaled(300000), UINT32_MAX - 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_bytes),
        cmocka_unit_test(test_stress_records),
        cmocka_unit_test(test_stress_regions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
