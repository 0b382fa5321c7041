/*
 * ictal/guard.h — the input guard (pipeline step 1): scrubs non-finite
 * samples and flags channels whose signal cannot be EEG.
 *
 * Works at the input rate on planar float buffers, in place. Semantics
 * (docs/pipeline.md, "Input guard"):
 *  - a non-finite sample (NaN, ±Inf) is replaced by the channel's last finite
 *    sample (0 before the first) and counted;
 *  - quality is assessed over consecutive blocks of `block` samples counted
 *    from the stream start (block = round(rate), one second); at the end of
 *    each block a channel's flags become:
 *      NONFINITE   the block had a non-finite sample;
 *      CLIPPED     clip_uv > 0 and at least 1% of the block (ceil(block/100)
 *                  samples, at least one) was at or beyond ±clip_uv;
 *      IMPLAUSIBLE some |x| in the block exceeded implausible_uv;
 *      FLAT        flat_uv > 0 and flat_duration > 0 and, at the block end,
 *                  the channel has stayed within a band of flat_uv µV for at
 *                  least flat_duration seconds (see below);
 *    and stay so until the end of the next block. Flags depend only on the
 *    samples and their absolute position, never on how they were chunked.
 *    CLIPPED and IMPLAUSIBLE look at the finite input samples only; the flat
 *    stretch follows the scrubbed signal (a channel stuck at NaN is flat).
 *  - "stayed within a band": the guard tracks the current flat stretch, its
 *    start, minimum and maximum; a sample that would widen max - min beyond
 *    flat_uv starts a new stretch at that sample.
 */
#ifndef ICTAL_GUARD_H
#define ICTAL_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "ictal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ICTAL_QUALITY_FLAT        (1u << 0)
#define ICTAL_QUALITY_CLIPPED     (1u << 1)
#define ICTAL_QUALITY_IMPLAUSIBLE (1u << 2)
#define ICTAL_QUALITY_NONFINITE   (1u << 3)

struct ictal_guard_config {
    int n_channels;          /* 1..1024 */
    double rate;             /* Hz of the input */
    double flat_uv;          /* µV; 0: flat detection off */
    double flat_duration;    /* s; 0: flat detection off */
    double clip_uv;          /* µV; 0: clipping detection off */
    double implausible_uv;   /* µV, > 0 */
};

/* One channel's cumulative counters. */
struct ictal_guard_counts {
    uint64_t nonfinite;      /* samples replaced */
    uint64_t clipped;        /* samples at or beyond ±clip_uv */
    uint64_t implausible;    /* samples beyond ±implausible_uv */
    uint64_t blocks_flagged; /* blocks that ended with any flag set */
};

struct ictal_guard;

/* RT-safe: no. Errors name the bad field (ICTAL_EINVAL). */
struct ictal_guard *ictal_guard_create(const struct ictal_guard_config *cfg, struct ictal_error *err);
void ictal_guard_destroy(struct ictal_guard *g);

/* Samples per assessment block. RT-safe: yes. */
size_t ictal_guard_block(const struct ictal_guard *g);

/* Samples until the end of the current block (1..block): the pipeline splits
 * its work there so flag changes land at the same sample whatever the chunks.
 * RT-safe: yes. */
size_t ictal_guard_until_block_end(const struct ictal_guard *g);

/* Scrub and assess n samples of every channel in place (buf[c][0..n-1]).
 * n may cross block ends; flags change at each. Returns how many blocks ended
 * in this call. RT-safe: yes. */
size_t ictal_guard_process(struct ictal_guard *g, float *const *buf, size_t n);

/* Current flags of channel c (ICTAL_QUALITY_*; 0 for a bad c), and whether
 * any channel had a non-finite sample in the block of the last consumed
 * sample, up to and including it (for the frame flag). The latter depends
 * only on how many samples were consumed, never on the chunking: it clears
 * when the next block's first sample arrives, so right after a block end it
 * still describes the block that just ended. RT-safe: yes. */
unsigned ictal_guard_flags(const struct ictal_guard *g, int c);
int ictal_guard_scrubbed_in_block(const struct ictal_guard *g);

/* Counters of channel c since create/reset. RT-safe: yes. */
struct ictal_guard_counts ictal_guard_counts(const struct ictal_guard *g, int c);

/* Back to the freshly created state. RT-safe: yes. */
void ictal_guard_reset(struct ictal_guard *g);

/* State image (RT-safe: yes, memcpy); load checks the configuration matches
 * (ICTAL_EINVAL otherwise, unchanged). */
size_t ictal_guard_state_size(const struct ictal_guard *g);
int ictal_guard_state_save(const struct ictal_guard *g, void *buf, size_t cap);
int ictal_guard_state_load(struct ictal_guard *g, const void *buf, size_t len);

/* "flat|clipped", "" when none. Returns buf. RT-safe: yes. */
const char *ictal_quality_string(unsigned flags, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_GUARD_H */
