/*
 * ictal/event.h — what the post-processing tells the world: alarms,
 * cancellations and final seizure events, as one fixed-size record.
 *
 * A record is plain data (no pointers), so it can be copied through an SPSC
 * ring from the JACK process thread to the OSC sender, saved, compared with
 * memcmp-free field checks in tests, and printed by ictal-run and ictal-log.
 * The semantics of every field are specified in docs/postproc.md.
 *
 * Clock: frames count post-processing input frames from 0 (frame k is the
 * engine's k-th output); the pipeline (pipeline.h) adds the model-rate sample
 * clock and seconds. Spans are half-open: [start, end).
 */
#ifndef ICTAL_EVENT_H
#define ICTAL_EVENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ictal_event_kind {
    ICTAL_EVENT_ALARM = 1,  /* a new event is confirmed by hysteresis and morphology */
    ICTAL_EVENT_CANCEL,     /* an alarmed event was dropped by the duration rules */
    ICTAL_EVENT_FINAL       /* an event (or one segment of a split event) is complete */
};

/* Frame flags: set per frame by the caller of the post-processing (the
 * pipeline), OR-ed over a record's frames into its flags. */
#define ICTAL_FRAME_XRUN        (1u << 0)  /* the frame's input overlapped an xrun / gap */
#define ICTAL_FRAME_BAD_CHANNEL (1u << 1)  /* at least one channel was masked out */
#define ICTAL_FRAME_NO_DECISION (1u << 2)  /* too few good channels: probability forced to 0 */
#define ICTAL_FRAME_SCRUBBED    (1u << 3)  /* non-finite input samples were replaced */
#define ICTAL_FRAME_FLAGS_MASK  0x00ffu

/* Record flags set by the post-processing itself. */
#define ICTAL_EVENT_SEGMENTED   (1u << 8)  /* one segment of an event longer than max_duration */
#define ICTAL_EVENT_FLUSHED     (1u << 9)  /* emitted by flush() at the end of the stream */

enum ictal_confidence {
    ICTAL_CONFIDENCE_MEAN = 1,
    ICTAL_CONFIDENCE_PEAK,
    ICTAL_CONFIDENCE_PERCENTILE
};

/* Channels a record can name (bitmap); engines take at most this many. */
#define ICTAL_EVENT_MAX_CHANNELS 1024

struct ictal_event {
    enum ictal_event_kind kind;
    uint32_t flags;            /* ICTAL_FRAME_* OR-ed over the frames, ICTAL_EVENT_* */
    uint64_t id;               /* 1, 2, ... per stream; alarm, cancel and final share it */
    int32_t segment;           /* FINAL: 1-based segment number (1 when not split); else 0 */
    int32_t n_channels;        /* bits used in channels[] (the stream's channel count) */

    /* Frame clock (post-processing). */
    int64_t start_frame;       /* first frame of the event / segment / dropped run */
    int64_t end_frame;         /* one past its last frame; ALARM: one past the newest frame seen */
    int64_t emit_frame;        /* frames pushed when the record was made (== stream length after flush) */

    /* Statistics over the record's frames [start_frame, end_frame). */
    float confidence;          /* by `method`; ALARM: over the frames seen so far */
    float peak;                /* highest probability */
    enum ictal_confidence method;
    float percentile;          /* for ICTAL_CONFIDENCE_PERCENTILE, 0..100 */
    uint64_t channels[ICTAL_EVENT_MAX_CHANNELS / 64]; /* involved channels (bit c of word c/64) */

    /* Sample clock at the model rate, filled by the pipeline (0 from bare
     * post-processing): frame k describes the input up to model sample
     * k*hop - delay (see engine.h), clamped at 0. */
    int64_t start_sample, end_sample, emit_sample;
    double start_s, end_s, emit_s;   /* the same in seconds from the stream start */
};

/* Where records go. Called synchronously from process()/flush() — from the
 * real-time thread in ictal-detect, so it must not block (push to a ring).
 * `quality` may be NULL; it is called when a channel's quality flags change
 * (see pipeline.h). */
struct ictal_quality_change;
struct ictal_event_sink {
    void (*event)(void *user, const struct ictal_event *ev);
    void (*quality)(void *user, const struct ictal_quality_change *q);
    void *user;
};

/* Is channel c named by the record? RT-safe: yes. */
static inline int ictal_event_has_channel(const struct ictal_event *ev, int c)
{
    return c >= 0 && c < ev->n_channels && c < ICTAL_EVENT_MAX_CHANNELS &&
           (ev->channels[c / 64] >> (c % 64)) & 1u;
}

/* "alarm", "cancel", "final"; "mean", "peak", "percentile". RT-safe: yes. */
const char *ictal_event_kind_name(enum ictal_event_kind kind);
const char *ictal_confidence_name(enum ictal_confidence method);

/* Flag names joined by '|' into buf ("" for none), e.g. "segmented|xrun".
 * Returns buf. RT-safe: yes. */
const char *ictal_event_flags_string(uint32_t flags, char *buf, size_t cap);

/* The inverse: names joined by '|' (as ictal_event_flags_string writes
 * them) → bits. Empty items are skipped; names it does not know are ignored
 * and counted in *unknown (may be NULL), so a reader stays usable when a
 * newer writer adds a flag. RT-safe: yes. */
uint32_t ictal_event_flags_parse(const char *names, int *unknown);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_EVENT_H */
