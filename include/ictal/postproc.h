/*
 * ictal/postproc.h — streaming post-processing at frame rate (pipeline step
 * 5 and 6): frame probabilities in, alarms / cancellations / final events out.
 *
 *   p[k] → hysteresis → opening → closing → event tracker
 *          (θ_on/θ_off,  (runs     (gaps     drop < min, merge gaps < merge,
 *           n_on/n_off)   < L_o)    < L_c)    split > max; confidence, channels)
 *
 * The exact semantics — which frames are ictal, when each record is emitted,
 * how confidence, channels and flags are computed, what flush() does — are
 * specified in docs/postproc.md, and tests/test_postproc.c checks this code
 * against an independent whole-array oracle written from that document.
 *
 * Contracts:
 *  - chunk invariance: pushing frames one at a time or in any blocks gives the
 *    same records, field for field;
 *  - state save/restore continues bit-identically;
 *  - fixed memory: everything is sized at create() from the configuration;
 *    nothing grows with event or stream length;
 *  - process/flush/reset/state_* allocate nothing, lock nothing, make no
 *    system call, and do bounded work per frame (O(C + lengths in the config)).
 */
#ifndef ICTAL_POSTPROC_H
#define ICTAL_POSTPROC_H

#include <stddef.h>
#include <stdint.h>

#include "ictal/error.h"
#include "ictal/event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lengths are in frames; see ictal_postproc_frames() to convert seconds. */
struct ictal_postproc_config {
    float threshold_on;      /* hysteresis: p >= threshold_on counts towards an onset */
    float threshold_off;     /* p < threshold_off counts towards an offset; <= threshold_on */
    int n_on, n_off;         /* >= 1: consecutive frames that switch on / off */
    int opening;             /* remove ictal runs shorter than this (0 or 1: off) */
    int closing;             /* fill interior gaps shorter than this (0 or 1: off) */
    int min_frames;          /* drop events shorter than this (0: keep all) */
    int merge_frames;        /* merge events whose gap is shorter than this (0: never) */
    int max_frames;          /* >= 1 and >= min_frames: split longer events into segments */
    enum ictal_confidence confidence;
    float percentile;        /* 0..100, for ICTAL_CONFIDENCE_PERCENTILE */
    int n_channels;          /* per-channel scores given to process(); 0: none */
};

/* Largest length accepted (frames): far above any clinical setting at 4-16
 * Hz frames. Memory grows with the look-ahead and merge lengths times the
 * channel count; create() refuses (ICTAL_ENOMEM) beyond 1 GiB. */
#define ICTAL_POSTPROC_MAX_FRAMES_ARG (1 << 22)

/* Seconds → frames at frame_rate, rounded to nearest (ties up); negative or
 * NaN give 0, huge values are capped at ICTAL_POSTPROC_MAX_FRAMES_ARG.
 * RT-safe: yes. */
int ictal_postproc_frames(double seconds, double frame_rate);

struct ictal_postproc;

/* Create and size everything. Errors (ICTAL_EINVAL with a message naming the
 * field): thresholds outside [0,1] or off > on, n_on/n_off < 1, lengths
 * negative or above the cap, max_frames < 1 or < min_frames, percentile
 * outside [0,100], n_channels outside 0..ICTAL_EVENT_MAX_CHANNELS.
 * RT-safe: no. */
struct ictal_postproc *ictal_postproc_create(const struct ictal_postproc_config *cfg,
                                             struct ictal_error *err);

/* NULL is fine. RT-safe: no. */
void ictal_postproc_destroy(struct ictal_postproc *pp);

/* Push n frames: prob[k], scores[k * n_channels + c] (may be NULL when
 * n_channels is 0, or to mean "no per-channel information": then every
 * record names no channel), frame_flags[k] (ICTAL_FRAME_*; NULL: all 0).
 * Records go to sink->event as they are made (sink may be NULL to discard).
 * Non-finite probabilities are treated as 0. Returns 0, ICTAL_EINVAL for a
 * NULL prob with n > 0, or ICTAL_ESTATE after flush() (reset() first).
 * RT-safe: yes. */
int ictal_postproc_process(struct ictal_postproc *pp, const float *prob, const float *scores,
                           const uint8_t *frame_flags, size_t n, const struct ictal_event_sink *sink);

/* End of stream: decide the frames still inside the look-ahead as if the
 * stream ended here, then cancel a pending unconfirmed event and finalise an
 * open one (records flagged ICTAL_EVENT_FLUSHED). Afterwards process() is
 * refused until reset(). Calling flush twice emits nothing the second time.
 * RT-safe: yes. */
int ictal_postproc_flush(struct ictal_postproc *pp, const struct ictal_event_sink *sink);

/* Back to the freshly created state (ids restart at 1). RT-safe: yes. */
void ictal_postproc_reset(struct ictal_postproc *pp);

/* Frames between a frame being pushed and the tracker seeing it:
 * (max(n_on, n_off) - 1) + max(opening - 1, 0) + max(closing - 1, 0).
 * An alarm for an event starting at frame s is emitted when frame s + delay
 * is pushed. RT-safe: yes. */
int ictal_postproc_delay(const struct ictal_postproc *pp);

/* True while an alarmed event is open (alarm sent, no final/cancel yet):
 * what the alarm CV port shows. RT-safe: yes. */
int ictal_postproc_alarm_active(const struct ictal_postproc *pp);

/* Frames pushed since create/reset. RT-safe: yes. */
uint64_t ictal_postproc_frames_pushed(const struct ictal_postproc *pp);

/* Whole state as an opaque image (ICTAL_ERANGE if cap is too small; load
 * checks that the image comes from an identical configuration, else
 * ICTAL_EINVAL and the object is unchanged). RT-safe: yes (memcpy). */
size_t ictal_postproc_state_size(const struct ictal_postproc *pp);
int ictal_postproc_state_save(const struct ictal_postproc *pp, void *buf, size_t cap);
int ictal_postproc_state_load(struct ictal_postproc *pp, const void *buf, size_t len);

/* Bytes allocated at create. RT-safe: yes. */
size_t ictal_postproc_memory(const struct ictal_postproc *pp);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_POSTPROC_H */
