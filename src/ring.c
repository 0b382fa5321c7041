#include "ictal/ring.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* 128, not 64: Intel's adjacent-line prefetcher pulls cache lines in pairs,
 * so two indices 64 bytes apart can still ping-pong between cores. 128 also
 * covers Apple-class ARM cores. The cost is a few hundred bytes per ring. */
#define RING_LINE 128

struct ictal_ring {
    /* Read-only after creation: shared by both ends without ordering. */
    uint8_t *buf;         /* (capacity) bytes, RING_LINE-aligned */
    uint32_t mask;        /* capacity - 1 */
    uint32_t limit;       /* most bytes held at once (<= capacity) */
    uint32_t record_size; /* 0 for a byte ring */
    size_t alloc_size;    /* bytes allocated for buf */
    bool locked;          /* ictal_ring_lock_memory() succeeded */

    /* Written by the producer only (release), read by the consumer (acquire). */
    alignas(RING_LINE) _Atomic uint32_t write_index;
    /* Written by the consumer only (release), read by the producer (acquire). */
    alignas(RING_LINE) _Atomic uint32_t read_index;
    /* Keep whatever malloc places after us off the read index's line. */
    char pad[RING_LINE - sizeof(uint32_t)];
};

static bool is_pow2(size_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

static struct ictal_ring *ring_new(size_t capacity, size_t limit, size_t record_size,
                                   struct ictal_error *err)
{
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size_t alloc = capacity < RING_LINE ? RING_LINE : capacity;
    struct ictal_ring *r = aligned_alloc(RING_LINE, sizeof *r);
    if (!r) {
        ictal_error_set(err, ICTAL_ENOMEM, "ring: cannot allocate the control block");
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->buf = aligned_alloc(RING_LINE, alloc);
    if (!r->buf) {
        free(r);
        ictal_error_set(err, ICTAL_ENOMEM, "ring: cannot allocate %zu bytes of storage",
                        alloc);
        return NULL;
    }
    /* Pre-touch: every page gets written now, in the non-RT thread, so the
     * first push on the RT thread does not take a page fault. */
    memset(r->buf, 0, alloc);
    r->alloc_size = alloc;
    r->mask = (uint32_t)(capacity - 1);
    r->limit = (uint32_t)limit;
    r->record_size = (uint32_t)record_size;
    atomic_init(&r->write_index, 0);
    atomic_init(&r->read_index, 0);
    ictal_error_clear(err);
    return r;
}

struct ictal_ring *ictal_ring_create(size_t capacity, struct ictal_error *err)
{
    if (capacity > ICTAL_RING_MAX_CAPACITY) {
        ictal_error_set(err, ICTAL_ERANGE,
                        "ring: capacity %zu bytes exceeds the maximum %zu", capacity,
                        ICTAL_RING_MAX_CAPACITY);
        return NULL;
    }
    if (!is_pow2(capacity)) {
        size_t up = 1;
        while (up < capacity)
            up <<= 1;
        ictal_error_set(err, ICTAL_EINVAL,
                        "ring: capacity %zu bytes is not a power of two (use %zu?)",
                        capacity, capacity ? up : (size_t)1);
        return NULL;
    }
    return ring_new(capacity, capacity, 0, err);
}

struct ictal_ring *ictal_ring_create_records(size_t n_records, size_t record_size,
                                             struct ictal_error *err)
{
    if (n_records == 0 || record_size == 0) {
        ictal_error_set(err, ICTAL_EINVAL,
                        "ring: %zu records of %zu bytes: both must be at least 1",
                        n_records, record_size);
        return NULL;
    }
    if (record_size > ICTAL_RING_MAX_CAPACITY ||
        n_records > ICTAL_RING_MAX_CAPACITY / record_size) {
        ictal_error_set(err, ICTAL_ERANGE,
                        "ring: %zu records of %zu bytes exceed the maximum of %zu bytes",
                        n_records, record_size, ICTAL_RING_MAX_CAPACITY);
        return NULL;
    }
    size_t limit = n_records * record_size;
    size_t capacity = 1;
    while (capacity < limit)
        capacity <<= 1;
    return ring_new(capacity, limit, record_size, err);
}

void ictal_ring_destroy(struct ictal_ring *ring)
{
    if (!ring)
        return;
    if (ring->locked) {
        munlock(ring->buf, ring->alloc_size);
        munlock(ring, sizeof *ring);
    }
    free(ring->buf);
    free(ring);
}

int ictal_ring_lock_memory(struct ictal_ring *ring, struct ictal_error *err)
{
    if (!ring)
        return ictal_error_set(err, ICTAL_EINVAL, "ring: NULL ring");
    if (ring->locked)
        return 0;
    if (mlock(ring, sizeof *ring) != 0) {
        int e = errno;
        return ictal_error_set(err, ICTAL_EIO,
                               "ring: mlock of the %zu-byte control block failed: %s",
                               sizeof *ring, strerror(e));
    }
    if (mlock(ring->buf, ring->alloc_size) != 0) {
        int e = errno;
        munlock(ring, sizeof *ring);
        return ictal_error_set(err, ICTAL_EIO,
                               "ring: mlock of %zu bytes of storage failed: %s%s",
                               ring->alloc_size, strerror(e),
                               e == ENOMEM || e == EPERM
                                   ? " (raise RLIMIT_MEMLOCK, see rt-config/)"
                                   : "");
    }
    ring->locked = true;
    ictal_error_clear(err);
    return 0;
}

void ictal_ring_reset(struct ictal_ring *ring)
{
    if (ring)
        (void)ictal_ring_set_indices(ring, 0, 0);
}

int ictal_ring_set_indices(struct ictal_ring *ring, uint32_t read_index,
                           uint32_t write_index)
{
    if (!ring)
        return ICTAL_EINVAL;
    atomic_store_explicit(&ring->read_index, read_index, memory_order_release);
    atomic_store_explicit(&ring->write_index, write_index, memory_order_release);
    int32_t fill = (int32_t)(write_index - read_index);
    return fill < 0 || (uint32_t)fill > ring->limit ? ICTAL_ESTATE : 0;
}

size_t ictal_ring_capacity(const struct ictal_ring *ring)
{
    return ring ? (size_t)ring->mask + 1 : 0;
}

size_t ictal_ring_limit(const struct ictal_ring *ring)
{
    return ring ? ring->limit : 0;
}

size_t ictal_ring_record_size(const struct ictal_ring *ring)
{
    return ring ? ring->record_size : 0;
}

/* Fill level for a pair of index values, or -1 if they are inconsistent:
 * the signed difference is how over/underrun (misuse) shows. The uint32 ->
 * int32 conversion is implementation-defined in C11; GCC and Clang define it
 * as modular, which is what the free-running indices need. */
static int64_t fill_level(const struct ictal_ring *r, uint32_t write_index,
                          uint32_t read_index)
{
    int32_t fill = (int32_t)(write_index - read_index);
    if (fill < 0 || (uint32_t)fill > r->limit)
        return -1;
    return fill;
}

/* Where a span of len bytes starting at free-running index idx lies in the
 * storage: its offset, and how much of it fits before the end (the rest, if
 * any, continues at offset 0). */
static uint32_t first_part(const struct ictal_ring *r, uint32_t idx, uint32_t len, uint32_t *off)
{
    *off = idx & r->mask;
    uint32_t first = r->mask + 1 - *off;
    return first < len ? first : len;
}

static void copy_in(struct ictal_ring *r, uint32_t index, const uint8_t *src, uint32_t n)
{
    uint32_t off, first = first_part(r, index, n, &off);
    memcpy(r->buf + off, src, first);
    if (n > first)
        memcpy(r->buf, src + first, n - first);
}

static void copy_out(const struct ictal_ring *r, uint32_t index, uint8_t *dst, uint32_t n)
{
    uint32_t off, first = first_part(r, index, n, &off);
    memcpy(dst, r->buf + off, first);
    if (n > first)
        memcpy(dst + first, r->buf, n - first);
}

size_t ictal_ring_write_space(const struct ictal_ring *ring)
{
    if (!ring)
        return 0;
    uint32_t w = atomic_load_explicit(&ring->write_index, memory_order_acquire);
    uint32_t rd = atomic_load_explicit(&ring->read_index, memory_order_acquire);
    int64_t fill = fill_level(ring, w, rd);
    return fill < 0 ? 0 : ring->limit - (uint32_t)fill;
}

size_t ictal_ring_read_space(const struct ictal_ring *ring)
{
    if (!ring)
        return 0;
    uint32_t rd = atomic_load_explicit(&ring->read_index, memory_order_acquire);
    uint32_t w = atomic_load_explicit(&ring->write_index, memory_order_acquire);
    int64_t fill = fill_level(ring, w, rd);
    return fill < 0 ? 0 : (size_t)fill;
}

/* Producer side: own index relaxed, consumer's index acquire. Returns free
 * bytes or -1 if corrupt. */
static int64_t producer_free(struct ictal_ring *r, uint32_t *w)
{
    *w = atomic_load_explicit(&r->write_index, memory_order_relaxed);
    uint32_t rd = atomic_load_explicit(&r->read_index, memory_order_acquire);
    int64_t fill = fill_level(r, *w, rd);
    return fill < 0 ? -1 : (int64_t)r->limit - fill;
}

/* Consumer side: own index relaxed, producer's index acquire. Returns bytes
 * available or -1 if corrupt. */
static int64_t consumer_avail(struct ictal_ring *r, uint32_t *rd)
{
    *rd = atomic_load_explicit(&r->read_index, memory_order_relaxed);
    uint32_t w = atomic_load_explicit(&r->write_index, memory_order_acquire);
    return fill_level(r, w, *rd);
}

int ictal_ring_write(struct ictal_ring *ring, const void *src, size_t n)
{
    if (!ring || (!src && n > 0))
        return ICTAL_EINVAL;
    if (n > ring->limit)
        return ICTAL_ERANGE;
    uint32_t w;
    int64_t space = producer_free(ring, &w);
    if (space < 0)
        return ICTAL_ESTATE;
    if ((uint64_t)space < n)
        return ICTAL_EAGAIN;
    if (n == 0)
        return 0;
    copy_in(ring, w, src, (uint32_t)n);
    atomic_store_explicit(&ring->write_index, w + (uint32_t)n, memory_order_release);
    return 0;
}

size_t ictal_ring_write_regions(struct ictal_ring *ring, struct ictal_ring_region region[2])
{
    if (!region)
        return 0;
    region[0] = (struct ictal_ring_region){ NULL, 0 };
    region[1] = (struct ictal_ring_region){ NULL, 0 };
    if (!ring)
        return 0;
    uint32_t w;
    int64_t space = producer_free(ring, &w);
    if (space <= 0)
        return 0;
    uint32_t off, first = first_part(ring, w, (uint32_t)space, &off);
    region[0] = (struct ictal_ring_region){ ring->buf + off, first };
    if ((uint64_t)space > first)
        region[1] = (struct ictal_ring_region){ ring->buf, (size_t)space - first };
    return (size_t)space;
}

int ictal_ring_write_commit(struct ictal_ring *ring, size_t n)
{
    if (!ring)
        return ICTAL_EINVAL;
    uint32_t w;
    int64_t space = producer_free(ring, &w);
    if (space < 0)
        return ICTAL_ESTATE;
    if ((uint64_t)space < n)
        return ICTAL_ERANGE;
    atomic_store_explicit(&ring->write_index, w + (uint32_t)n, memory_order_release);
    return 0;
}

size_t ictal_ring_record_space(const struct ictal_ring *ring)
{
    if (!ring || ring->record_size == 0)
        return 0;
    return ictal_ring_write_space(ring) / ring->record_size;
}

int ictal_ring_push(struct ictal_ring *ring, const void *record)
{
    if (!ring || !record || ring->record_size == 0)
        return ICTAL_EINVAL;
    return ictal_ring_write(ring, record, ring->record_size);
}

/* Shared by read and peek: copy n bytes from the consumer's position,
 * optionally consuming them. */
static int consume(struct ictal_ring *ring, void *dst, size_t n, bool advance)
{
    if (!ring || (!dst && n > 0))
        return ICTAL_EINVAL;
    if (n > ring->limit)
        return ICTAL_ERANGE;
    uint32_t rd;
    int64_t avail = consumer_avail(ring, &rd);
    if (avail < 0)
        return ICTAL_ESTATE;
    if ((uint64_t)avail < n)
        return ICTAL_EAGAIN;
    if (n == 0)
        return 0;
    copy_out(ring, rd, dst, (uint32_t)n);
    if (advance)
        atomic_store_explicit(&ring->read_index, rd + (uint32_t)n, memory_order_release);
    return 0;
}

int ictal_ring_read(struct ictal_ring *ring, void *dst, size_t n)
{
    return consume(ring, dst, n, true);
}

int ictal_ring_peek(struct ictal_ring *ring, void *dst, size_t n)
{
    return consume(ring, dst, n, false);
}

int ictal_ring_skip(struct ictal_ring *ring, size_t n)
{
    if (!ring)
        return ICTAL_EINVAL;
    if (n > ring->limit)
        return ICTAL_ERANGE;
    uint32_t rd;
    int64_t avail = consumer_avail(ring, &rd);
    if (avail < 0)
        return ICTAL_ESTATE;
    if ((uint64_t)avail < n)
        return ICTAL_EAGAIN;
    atomic_store_explicit(&ring->read_index, rd + (uint32_t)n, memory_order_release);
    return 0;
}

size_t ictal_ring_read_regions(struct ictal_ring *ring,
                               struct ictal_ring_cregion region[2])
{
    if (!region)
        return 0;
    region[0] = (struct ictal_ring_cregion){ NULL, 0 };
    region[1] = (struct ictal_ring_cregion){ NULL, 0 };
    if (!ring)
        return 0;
    uint32_t rd;
    int64_t avail = consumer_avail(ring, &rd);
    if (avail <= 0)
        return 0;
    uint32_t off, first = first_part(ring, rd, (uint32_t)avail, &off);
    region[0] = (struct ictal_ring_cregion){ ring->buf + off, first };
    if ((uint64_t)avail > first)
        region[1] = (struct ictal_ring_cregion){ ring->buf, (size_t)avail - first };
    return (size_t)avail;
}

size_t ictal_ring_count(const struct ictal_ring *ring)
{
    if (!ring || ring->record_size == 0)
        return 0;
    return ictal_ring_read_space(ring) / ring->record_size;
}

int ictal_ring_pop(struct ictal_ring *ring, void *record)
{
    if (!ring || !record || ring->record_size == 0)
        return ICTAL_EINVAL;
    return ictal_ring_read(ring, record, ring->record_size);
}
