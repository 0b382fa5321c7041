/*
 * ictal/ring.h — lock-free single-producer/single-consumer ring.
 *
 * Every cross-thread queue in ictal uses this ring: the JACK process thread
 * pushes event and telemetry records for the OSC sender thread; the disk
 * thread of ictal-play fills sample data for its JACK process thread.
 *
 * Model (after PipeWire's spa_ringbuffer): two free-running uint32_t indices.
 * The producer owns the write index and publishes it with a release store
 * after copying the data in; the consumer loads it with acquire before
 * reading the data. Symmetrically the consumer owns the read index (release)
 * and the producer loads it (acquire) before reusing the freed bytes. The
 * fill level is the signed difference write - read; outside [0, limit] it
 * means the indices were corrupted (two producers, reset while running,
 * memory corruption) and every data call then fails with ICTAL_ESTATE
 * instead of copying garbage. The indices live on separate cache lines.
 *
 * Why not jack_ringbuffer: Debian's jack2 1.9.21 uses volatile indices with
 * no acquire/release ordering — correct on x86 only by luck of its memory
 * model, wrong on ARM (Raspberry Pi, Jetson) and a data race under TSan.
 *
 * Threads. Exactly one thread acts as the producer and exactly one as the
 * consumer at any time (they may be the same thread). Each function below
 * says which end may call it:
 *   producer — only the thread currently producing;
 *   consumer — only the thread currently consuming;
 *   either   — any thread, at any time (the answer may be stale);
 *   neither  — only while neither end is in use (before the threads start,
 *              after they have been joined).
 *
 * Capacities. The storage is a power of two of bytes, at most
 * ICTAL_RING_MAX_CAPACITY. ictal_ring_create() rejects any other byte
 * capacity (a queue whose size is silently doubled hides a sizing mistake and
 * wastes memory the user asked us not to); ictal_ring_create_records() takes
 * any record count and rounds the storage up internally, but never holds more
 * than the n_records asked for, so a lossy telemetry queue drops at exactly
 * the depth that was configured.
 *
 * Nothing here allocates, locks or makes a system call after creation except
 * ictal_ring_lock_memory() and ictal_ring_destroy().
 */
#ifndef ICTAL_RING_H
#define ICTAL_RING_H

#include <stddef.h>
#include <stdint.h>

#include "ictal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest storage in bytes: the fill level must fit a signed 32-bit
 * difference of the two indices for corruption to be detectable. */
#define ICTAL_RING_MAX_CAPACITY ((size_t)1 << 30)

struct ictal_ring;

/* A writable piece of the storage, for filling data in place. */
struct ictal_ring_region {
    uint8_t *data;
    size_t len;
};

/* A readable piece of the storage, for consuming data in place. */
struct ictal_ring_cregion {
    const uint8_t *data;
    size_t len;
};

/* ---- life cycle ------------------------------------------------------- */

/* A byte ring of `capacity` bytes: a power of two in
 * [1, ICTAL_RING_MAX_CAPACITY], all of it usable (no slot is sacrificed to
 * tell full from empty: the indices are free-running). The storage is
 * allocated here and written once so that its pages are resident before the
 * RT thread first touches them. Returns NULL and fills *err (may be NULL)
 * with ICTAL_EINVAL (not a power of two), ICTAL_ERANGE (too large) or
 * ICTAL_ENOMEM. The caller owns the ring; free it with ictal_ring_destroy().
 * Thread: neither (no ring exists yet). RT-safe: no. */
struct ictal_ring *ictal_ring_create(size_t capacity, struct ictal_error *err);

/* A ring of fixed-size records: it holds at most n_records records of
 * record_size bytes each (both >= 1). The storage is the next power of two
 * >= n_records * record_size, so records wrap around its end; the record
 * calls below hide that by copying in two pieces. The byte calls remain
 * usable on such a ring (e.g. peek at a record's first field), but whoever
 * mixes them must keep the stream record-aligned. Errors as for
 * ictal_ring_create(). Thread: neither. RT-safe: no. */
struct ictal_ring *ictal_ring_create_records(size_t n_records, size_t record_size,
                                             struct ictal_error *err);

/* Free the ring and its storage (and undo ictal_ring_lock_memory()). NULL is
 * accepted. Thread: neither. RT-safe: no. */
void ictal_ring_destroy(struct ictal_ring *ring);

/* mlock() the storage and the ring's control block so they can never be paged
 * out. Optional: ictal-detect calls mlockall() anyway; this is for users that
 * do not. Returns 0, or ICTAL_EIO with a message naming the size and the OS
 * reason (typically RLIMIT_MEMLOCK; see rt-config/) — it never aborts, and
 * the ring stays fully usable unlocked. Thread: neither. RT-safe: no. */
int ictal_ring_lock_memory(struct ictal_ring *ring, struct ictal_error *err);

/* Empty the ring: both indices back to 0. Does not free or clear storage.
 * Thread: neither. RT-safe: yes (but see the thread rule). */
void ictal_ring_reset(struct ictal_ring *ring);

/* Set the two free-running indices directly: for tests (start both near
 * UINT32_MAX to exercise the index wrap without moving 4 GiB) and for
 * restoring a saved ring position. The pair is stored as given; returns 0 if
 * it is consistent (0 <= write - read <= limit as a signed difference) and
 * ICTAL_ESTATE if not — in which case data calls will report ICTAL_ESTATE,
 * which is how the corruption check is tested. Thread: neither. RT-safe: yes. */
int ictal_ring_set_indices(struct ictal_ring *ring, uint32_t read_index,
                           uint32_t write_index);

/* ---- properties (constant after creation; thread: either; RT-safe: yes) -- */

/* Bytes of storage (a power of two). */
size_t ictal_ring_capacity(const struct ictal_ring *ring);

/* Most bytes the ring ever holds: the capacity for a byte ring,
 * n_records * record_size for a record ring. */
size_t ictal_ring_limit(const struct ictal_ring *ring);

/* Record size in bytes, or 0 for a byte ring. */
size_t ictal_ring_record_size(const struct ictal_ring *ring);

/* ---- producer end ----------------------------------------------------- */

/* Bytes that can be written now (0 if the indices are corrupt). Exact from
 * the producer (only grows behind its back); a snapshot from anyone else.
 * Thread: either. RT-safe: yes. */
size_t ictal_ring_write_space(const struct ictal_ring *ring);

/* Copy n bytes in, all or nothing. Returns 0; ICTAL_EAGAIN if fewer than n
 * bytes are free (nothing written); ICTAL_ERANGE if n exceeds the limit (can
 * never succeed); ICTAL_EINVAL for a NULL ring or NULL src with n > 0;
 * ICTAL_ESTATE if the indices are corrupt. n == 0 succeeds and does nothing.
 * Thread: producer. RT-safe: yes. */
int ictal_ring_write(struct ictal_ring *ring, const void *src, size_t n);

/* Zero-copy write, step 1: describe the free space as up to two contiguous
 * regions (region[1].len is 0 unless the free space wraps around the end of
 * the storage). Returns the total free bytes (region[0].len + region[1].len).
 * Fill any prefix of region[0] then region[1] and publish it with
 * ictal_ring_write_commit(). The regions stay valid and writable until the
 * commit; the consumer never sees them before. Returns 0 (both lengths 0) if
 * the ring is full or corrupt. Thread: producer. RT-safe: yes. */
size_t ictal_ring_write_regions(struct ictal_ring *ring, struct ictal_ring_region region[2]);

/* Zero-copy write, step 2: publish the first n bytes of the free space.
 * Returns 0; ICTAL_ERANGE if n exceeds the free space (nothing published);
 * ICTAL_ESTATE if corrupt. Thread: producer. RT-safe: yes. */
int ictal_ring_write_commit(struct ictal_ring *ring, size_t n);

/* Records left to push (0 on a byte ring). Thread: either. RT-safe: yes. */
size_t ictal_ring_record_space(const struct ictal_ring *ring);

/* Copy one record of record_size bytes in, all or nothing. Returns 0;
 * ICTAL_EAGAIN if the ring holds n_records already (the caller counts the
 * drop); ICTAL_EINVAL on a byte ring or NULL arguments; ICTAL_ESTATE if
 * corrupt. Thread: producer. RT-safe: yes. */
int ictal_ring_push(struct ictal_ring *ring, const void *record);

/* ---- consumer end ----------------------------------------------------- */

/* Bytes that can be read now (0 if the indices are corrupt). Exact from the
 * consumer (only grows behind its back); a snapshot from anyone else.
 * Thread: either. RT-safe: yes. */
size_t ictal_ring_read_space(const struct ictal_ring *ring);

/* Copy n bytes out and consume them, all or nothing. Returns 0; ICTAL_EAGAIN
 * if fewer than n bytes are there (nothing consumed); ICTAL_ERANGE if n
 * exceeds the limit; ICTAL_EINVAL for NULL ring or dst with n > 0;
 * ICTAL_ESTATE if corrupt. Thread: consumer. RT-safe: yes. */
int ictal_ring_read(struct ictal_ring *ring, void *dst, size_t n);

/* As ictal_ring_read() but without consuming: the same bytes are read again
 * by the next peek or read. Thread: consumer. RT-safe: yes. */
int ictal_ring_peek(struct ictal_ring *ring, void *dst, size_t n);

/* Consume n bytes without copying them (also step 2 of a zero-copy read).
 * Returns 0; ICTAL_EAGAIN if fewer than n bytes are there (nothing consumed);
 * ICTAL_ERANGE if n exceeds the limit; ICTAL_ESTATE if corrupt.
 * Thread: consumer. RT-safe: yes. */
int ictal_ring_skip(struct ictal_ring *ring, size_t n);

/* Zero-copy read, step 1: describe the readable bytes as up to two contiguous
 * regions in order (region[1].len is 0 unless the data wraps). Returns the
 * total. The regions stay valid and unchanged until ictal_ring_skip()
 * consumes them. Thread: consumer. RT-safe: yes. */
size_t ictal_ring_read_regions(struct ictal_ring *ring,
                               struct ictal_ring_cregion region[2]);

/* Records ready to pop (0 on a byte ring). Thread: either. RT-safe: yes. */
size_t ictal_ring_count(const struct ictal_ring *ring);

/* Copy one record out and consume it, all or nothing. Returns 0;
 * ICTAL_EAGAIN if the ring is empty; ICTAL_EINVAL on a byte ring or NULL
 * arguments; ICTAL_ESTATE if corrupt. Thread: consumer. RT-safe: yes. */
int ictal_ring_pop(struct ictal_ring *ring, void *record);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_RING_H */
