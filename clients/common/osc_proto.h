/*
 * osc_proto.h — the ictal OSC protocol (docs/osc.md), both directions:
 * building the messages ictal-detect and ictal-play send, and validating and
 * decoding what ictal-log receives. One table of addresses and type tags
 * serves both, so sender and receiver cannot drift apart; docs/osc.md is
 * checked against it by tests/test_osc_proto.c.
 *
 * Not real-time code: encoding allocates liblo messages. The JACK process
 * thread never calls this; it pushes plain records (ictal_event, ...) into
 * rings, and the sender thread encodes them.
 *
 * Decoded messages borrow their strings from the liblo arguments they came
 * from: valid while the handler that received them runs.
 */
#ifndef ICTAL_OSC_PROTO_H
#define ICTAL_OSC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <lo/lo.h>

#include "ictal/event.h"

#define ICTAL_OSC_VERSION 1
/* Largest packet a sender makes; event channel lists are cut to fit. */
#define ICTAL_OSC_MAX_PACKET 4096
/* Longest stream id "<session>.<n>" plus NUL. */
#define ICTAL_OSC_STREAM_MAX 32

enum osc_msg {
    OSC_MSG_ALARM = 0,
    OSC_MSG_CANCEL,
    OSC_MSG_EVENT,
    OSC_MSG_PROB,
    OSC_MSG_STATUS,
    OSC_MSG_XRUN,
    OSC_MSG_QUALITY,
    OSC_MSG_START,
    OSC_MSG_STOP,
    OSC_MSG_ANNOTATION,
    OSC_MSG_COUNT
};

/* The address ("/ictal/alarm", ...) and type tag without the leading comma
 * ("ssiihhhhhhddddfsffss", ...) of a message. */
const char *osc_proto_address(enum osc_msg m);
const char *osc_proto_types(enum osc_msg m);

/* The name of argument i of a message as docs/osc.md's tables give it
 * ("confidence" for argument 14 of an event record), copied into buf; ""
 * past the last argument. Returns buf. */
const char *osc_proto_arg_name(enum osc_msg m, int i, char *buf, size_t cap);

/* OSC_MSG_ALARM/CANCEL/EVENT for an event kind, and back. */
enum osc_msg osc_proto_msg_of_kind(enum ictal_event_kind kind);

/* ---- payloads (what each message carries; docs/osc.md has the tables) ---- */

struct osc_header {
    const char *source;    /* sender's JACK client name */
    const char *stream;    /* "<session>.<n>", "" when none */
};

/* Alarm, cancel, event: the record (kind, id, segment, frames, samples,
 * seconds, confidence, method, percentile, peak, flags) and its channels as
 * labels joined by ','. Decoding fills ev.channels[] with bits 0..k-1 for the
 * k labels of `channels` (so event_format can name them with the labels from
 * osc_proto_split_labels), and ev.n_channels = k. */
struct osc_record {
    struct osc_header h;
    struct ictal_event ev;
    const char *channels;
};

struct osc_prob {
    struct osc_header h;
    int64_t frame, sample;
    double t_s;
    float p, p_max;
    int32_t frame_flags;
    int32_t alarm;
};

struct osc_status {
    struct osc_header h;
    int32_t version;
    const char *state;     /* "running", "freewheel", "waiting", "stopped" */
    int32_t n_channels;
    int64_t frames, input_samples;
    double t_s;
    int32_t xruns;
    float dsp_load, jack_load;
    float cb_p50_us, cb_p95_us, cb_p99_us, cb_max_us, cb_max_all_us;
    int64_t telemetry_drops, records;
    int32_t alarm, good_channels, period;
    double rate;
    const char *model;
};

struct osc_xrun {
    struct osc_header h;
    int32_t count;
    float delayed_us;
    int64_t sample;
    double t_s;
    int64_t lost_samples;
};

struct osc_quality {
    struct osc_header h;
    int32_t channel;
    const char *label;
    const char *flags, *previous;  /* names joined by '|' */
    int64_t sample;
    double t_s;
    int32_t good_channels;
};

struct osc_start {
    struct osc_header h;
    int32_t version;
    const char *model;
    double input_rate, model_rate, frame_rate;
    const char *channels;
    double latency_s;
};

struct osc_stop {
    struct osc_header h;
    int64_t frames;
    double t_s;
    const char *reason;    /* signal, shutdown, gate, disconnect, gap, idle */
};

struct osc_annotation {
    const char *source;
    const char *file;
    double onset_s, duration_s;  /* duration -1: none */
    const char *text;
};

/* Any decoded message. */
struct osc_decoded {
    enum osc_msg msg;
    union {
        struct osc_record record;     /* ALARM, CANCEL, EVENT */
        struct osc_prob prob;
        struct osc_status status;
        struct osc_xrun xrun;
        struct osc_quality quality;
        struct osc_start start;
        struct osc_stop stop;
        struct osc_annotation annotation;
    } u;
};

/* ---- encoding (sender threads) ------------------------------------------ */

/* A new liblo message for each payload, or NULL when out of memory. The
 * caller frees it (lo_message_free) after sending, or hands it to a bundle.
 * Event records: the channel list is built from `labels` (label of channel
 * c for c < n_labels, else "ch<c+1>") for the bits set in ev->channels, cut
 * at a label boundary with ",+N" so the whole message stays within
 * ICTAL_OSC_MAX_PACKET bytes inside a bundle. */
lo_message osc_proto_record_message(const char *source, const char *stream,
                                    const struct ictal_event *ev,
                                    const char *const *labels, int n_labels);
lo_message osc_proto_prob_message(const struct osc_prob *p);
lo_message osc_proto_status_message(const struct osc_status *s);
lo_message osc_proto_xrun_message(const struct osc_xrun *x);
lo_message osc_proto_quality_message(const struct osc_quality *q);
lo_message osc_proto_start_message(const struct osc_start *s);
lo_message osc_proto_stop_message(const struct osc_stop *s);
lo_message osc_proto_annotation_message(const struct osc_annotation *a);

/* Labels joined by ',' into buf, cut at a label boundary with ",+N" when
 * they do not fit in `max_bytes` (including the NUL; at most cap). Returns
 * buf. Used for event channel lists and /ictal/start. */
const char *osc_proto_join_labels(const char *const *labels, int n, size_t max_bytes,
                                  char *buf, size_t cap);

/* NTP timetag of a CLOCK_REALTIME time in seconds since the Unix epoch. */
lo_timetag osc_proto_timetag(double unix_s);
/* And back (seconds since the Unix epoch). */
double osc_proto_timetag_unix(lo_timetag t);

/* ---- decoding (receivers) ------------------------------------------------ */

enum osc_decode_result {
    OSC_DECODE_OK = 0,
    OSC_DECODE_UNKNOWN = -1,    /* not an /ictal/ address this version knows */
    OSC_DECODE_MALFORMED = -2,  /* known address, wrong type tag or arity */
    OSC_DECODE_INVALID = -3,    /* right types, impossible values */
    OSC_DECODE_NEWER = -4       /* a protocol version this receiver does not know */
};

/* Validate and decode one message: the address, the type tag as a whole
 * (extra trailing arguments are accepted and ignored, per docs/osc.md
 * "Versioning"), and every value (finite numbers, probabilities in [0, 1],
 * non-negative counters and ids, end >= start, known method and state
 * names, strings without control characters, ...). On failure `why` says
 * what was wrong, naming the argument ("argument 14 (confidence): 1.5 is
 * outside [0, 1]"). */
int osc_proto_decode(const char *path, const char *types, lo_arg **argv, int argc,
                     struct osc_decoded *out, char *why, size_t why_cap);

/* Split a ','-joined label list (an event's `channels`) into at most `max`
 * labels, copying the text into buf (cap bytes); labels[i] point into buf.
 * A trailing "+N" item is kept as a label. Returns the count. */
int osc_proto_split_labels(const char *joined, char *buf, size_t cap, const char **labels, int max);

#endif /* ICTAL_OSC_PROTO_H */
