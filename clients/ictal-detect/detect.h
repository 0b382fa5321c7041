/*
 * detect.h — ictal-detect's parts and what crosses between its threads.
 *
 *   JACK process thread (rt.c)            sender thread (sender.c)
 *   ports → pipeline → CV ports           drains the rings → OSC bundles,
 *   records ─► ev_ring (lossless) ─────►  journal, console, 1 Hz status
 *   telemetry ─► tel_ring (lossy) ─────►
 *
 *   main thread (main.c): configuration, set-up, signals, shutdown, report.
 *
 * Ownership of the pipeline: the process callback uses it only while it
 * holds `owner` (0 → 1 at entry, back to 0 at exit). When main must act on
 * the pipeline itself (SIGTERM, JACK server gone) it moves `owner` from 0 to
 * 2 once; from then on every callback returns at once, and main is the only
 * thread touching the pipeline and the producer ends of the rings.
 */
#ifndef ICTAL_DETECT_H
#define ICTAL_DETECT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jack/jack.h>

#include "ictal/event.h"
#include "ictal/model.h"
#include "ictal/pipeline.h"
#include "ictal/ring.h"
#include "ictal/timehist.h"

/* Most input samples per pipeline_process call: a JACK period is fed in
 * pieces of at most this (results never depend on it), so any buffer size
 * and any change of it at run time is served by the one pipeline. */
#define DETECT_MAX_BLOCK 4096

enum detect_state { DETECT_WAITING = 0, DETECT_RUNNING, DETECT_STOPPED };

/* Why a stream ended (docs/osc.md, /ictal/stop). */
enum detect_stop {
    STOP_SIGNAL = 0,
    STOP_SHUTDOWN,
    STOP_GATE,
    STOP_DISCONNECT,
    STOP_GAP,
    STOP_IDLE,
    STOP_COUNT
};
const char *detect_stop_name(enum detect_stop r);

/* What a record tells the sender. */
enum detect_rec_type {
    REC_EVENT = 1,  /* alarm, cancel or final (ev) */
    REC_QUALITY,    /* a channel's quality flags changed */
    REC_XRUN,       /* an xrun, or a jump of the frame clock bridged by gap() */
    REC_START,      /* a stream began */
    REC_STOP,       /* a stream ended: all its records precede this one */
    REC_PROB        /* decimated frame probability (telemetry ring only) */
};

/* The JACK cycle a record was made in: enough for the sender to find the
 * wall-clock time of any sample of it. */
struct detect_cycle {
    uint64_t frame_time;    /* jack_last_frame_time: the period's first frame */
    uint64_t usecs;         /* jack_get_time() when the callback began */
    uint32_t nframes;
};

struct detect_rec {
    uint32_t type;              /* enum detect_rec_type */
    uint32_t stream;            /* 1, 2, ... (0: none) */
    uint64_t stream_frame0;     /* JACK frame of the stream's first input sample */
    struct detect_cycle cyc;
    union {
        struct ictal_event ev;
        struct {
            int32_t channel;
            uint32_t flags, previous;  /* ICTAL_QUALITY_* */
            uint64_t input_sample;
            int32_t good_channels;
        } quality;
        struct {
            int32_t count;          /* xruns since start (0: a bare frame-clock jump) */
            float delayed_us;
            int64_t sample;         /* model-rate sample of the stream */
            int64_t lost;           /* input samples bridged */
        } xrun;
        struct {
            int64_t frames;
            int64_t input_samples;
            int32_t reason;         /* enum detect_stop */
        } stop;
        struct {
            int64_t frame;
            int64_t sample;
            float p, p_max;
            int32_t flags, alarm;
        } prob;
    } u;
};

struct detect {
    /* ---- fixed before activation ---- */
    jack_client_t *client;
    const char *client_name;        /* our JACK name (source of every message) */
    const struct ictal_model *model;
    const char *model_name;
    struct ictal_pipeline *p;
    int n_channels;
    const char *const *labels;      /* port label of each input */
    jack_port_t **in;               /* n_channels inputs */
    jack_port_t *gate;              /* gate input (CV): streams follow it when connected */
    jack_port_t *prob_out, *alarm_out; /* may be NULL */
    double rate, model_rate, frame_rate;
    int hop;
    uint64_t gap_limit;             /* most input samples a frame-clock jump is bridged by */
    int frames_per_prob;            /* decimation of /ictal/prob; 0: none */
    uint32_t session;               /* random, names the streams */
    struct ictal_ring *ev_ring;     /* REC_EVENT/QUALITY/XRUN/START/STOP: never full */
    struct ictal_ring *tel_ring;    /* REC_PROB: lossy */
    struct ictal_event_sink sink;   /* on_event/on_quality → ev_ring, user = this */
    float **bufs;                   /* the input ports' buffers of the cycle */
    const float **ptrs;             /* a piece of them for one process() call */
    float *fr_prob;                 /* frames of one process() call */
    uint8_t *fr_flags, *fr_alarm;
    size_t fr_cap;
    struct ictal_timehist *cb_hist; /* callback durations (ns) */
    struct ictal_pipeline_latency latency;

    /* ---- process thread only (or main after taking ownership) ---- */
    struct {
        bool active;                /* a stream runs */
        uint32_t stream;
        uint64_t frame0;            /* JACK frame of its first input sample */
        uint64_t expected;          /* frame time the next cycle should have */
        bool have_expected;
        uint32_t nframes;           /* the previous cycle's buffer size */
        bool gated;                 /* the gate input was connected in the previous cycle */
        int xruns_seen;
        float held_p, held_alarm;   /* CV outputs between frames */
        float p_max;                /* since the last /ictal/prob */
        int frames_since;
        struct detect_cycle cyc;    /* the cycle being processed */
        uint64_t prev_usecs;        /* when the previous callback began */
        float late_us;              /* most a callback began later than one period after the
                                       previous, since the last xrun record */
    } rt;

    /* ---- shared (atomics) ---- */
    _Atomic int owner;              /* 0 free, 1 in a cycle, 2 main's */
    _Atomic int xruns;              /* counted by the xrun callback */
    _Atomic uint32_t xrun_delay_bits; /* float bits of the latest delay (µs) */
    _Atomic uint64_t cycles;
    _Atomic uint64_t tel_drops, ev_drops, lost_samples, records;
    _Atomic int state;              /* enum detect_state */
    _Atomic uint32_t stream_no;     /* current stream (0: none yet) */
    _Atomic uint64_t stream_frames, stream_input;
    _Atomic int alarm, good_channels;
    _Atomic uint32_t period;        /* latest buffer size */
    _Atomic int freewheel;
    _Atomic int streams_ended;      /* streams that have stopped */
    _Atomic int shutdown;           /* the server went away */
    _Atomic int rate_changed;       /* the server's rate is no longer ours */
    char shutdown_reason[256];      /* written once before `shutdown` is set */
};

/* rt.c: the process callback (arg: struct detect *) and the stream logic
 * that main also runs after taking ownership. */
int detect_process(jack_nframes_t nframes, void *arg);
/* Point d->sink at the record callbacks (before the first cycle). */
void detect_sink_init(struct detect *d);
/* End the running stream (flush, REC_STOP) if there is one. Caller owns the
 * pipeline. RT-safe: yes. */
void detect_end_stream(struct detect *d, enum detect_stop reason);
/* Take the pipeline from the process thread (owner 0 → 2), waiting for a
 * running cycle to finish. Returns true once main owns it. */
bool detect_take_ownership(struct detect *d, int timeout_ms);

/* The stream id text "<session>.<n>" of stream n (docs/osc.md). */
void detect_stream_id(const struct detect *d, uint32_t n, char *buf, size_t cap);

#endif /* ICTAL_DETECT_H */
