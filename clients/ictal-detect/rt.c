/*
 * rt.c — ictal-detect's JACK process callback: port buffers → pipeline → CV
 * ports, records → rings. Runs on JACK's real-time thread: no allocation,
 * no lock, no system call (clock_gettime is a vDSO read), no I/O, bounded
 * work per cycle. The integration tests run the whole program under the RT
 * guard (tests/support/rt_guard_jack) to hold it to that.
 *
 * Streams. When the gate input is connected, a stream is a run of samples
 * with gate >= 0.5 (ictal-play's gate marks the file's samples), so a replay
 * is processed from its first to its last sample exactly, whatever the
 * periods. Without a gate, a stream runs while any input port is connected.
 * A jump of JACK's frame clock (an xrun that lost cycles) of at most
 * gap_limit samples is bridged with pipeline_gap() so the sample clock stays
 * aligned with JACK time; a longer one ends the stream and starts another.
 */
#include "detect.h"

#include <string.h>
#include <time.h>

static const char *const stop_names[STOP_COUNT] = {
    [STOP_SIGNAL] = "signal",         [STOP_SHUTDOWN] = "shutdown", [STOP_GATE] = "gate",
    [STOP_DISCONNECT] = "disconnect", [STOP_GAP] = "gap",           [STOP_IDLE] = "idle",
};

const char *detect_stop_name(enum detect_stop r)
{
    return (unsigned)r < STOP_COUNT ? stop_names[r] : "unknown";
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void rec_init(const struct detect *d, struct detect_rec *r, enum detect_rec_type type)
{
    memset(r, 0, sizeof *r);
    r->type = type;
    r->stream = d->rt.active ? d->rt.stream : 0;
    r->stream_frame0 = d->rt.frame0;
    r->cyc = d->rt.cyc;
}

/* The lossless ring is sized never to fill; if it ever does, say so. */
static void push_reliable(struct detect *d, const struct detect_rec *r)
{
    if (ictal_ring_push(d->ev_ring, r) != 0)
        atomic_fetch_add_explicit(&d->ev_drops, 1, memory_order_relaxed);
}

/* ---- the pipeline's sink (called inside process/gap/flush) ----------------- */

static void on_event(void *user, const struct ictal_event *ev)
{
    struct detect *d = user;
    struct detect_rec r;
    rec_init(d, &r, REC_EVENT);
    r.u.ev = *ev;
    push_reliable(d, &r);
    atomic_fetch_add_explicit(&d->records, 1, memory_order_relaxed);
}

static void on_quality(void *user, const struct ictal_quality_change *q)
{
    struct detect *d = user;
    struct detect_rec r;
    rec_init(d, &r, REC_QUALITY);
    r.u.quality.channel = q->channel;
    r.u.quality.flags = q->flags;
    r.u.quality.previous = q->previous;
    r.u.quality.input_sample = q->input_sample;
    r.u.quality.good_channels = q->good_channels;
    push_reliable(d, &r);
}

void detect_sink_init(struct detect *d)
{
    d->sink.event = on_event;
    d->sink.quality = on_quality;
    d->sink.user = d;
}

/* ---- frames: CV outputs and decimated telemetry ------------------------------ */

static void fill_cv(struct detect *d, float *prob_cv, float *alarm_cv, uint32_t *pos,
                    uint32_t upto)
{
    for (uint32_t i = *pos; i < upto; i++) {
        if (prob_cv)
            prob_cv[i] = d->rt.held_p;
        if (alarm_cv)
            alarm_cv[i] = d->rt.held_alarm;
    }
    if (upto > *pos)
        *pos = upto;
}

static void telemetry_frame(struct detect *d, int64_t frame, float p, uint8_t flags,
                            uint8_t alarm)
{
    if (d->frames_per_prob <= 0)
        return;
    if (p > d->rt.p_max)
        d->rt.p_max = p;
    if (++d->rt.frames_since < d->frames_per_prob)
        return;
    struct detect_rec r;
    rec_init(d, &r, REC_PROB);
    r.u.prob.frame = frame;
    /* frame k was decided after model sample k*hop (docs/pipeline.md) */
    r.u.prob.sample = frame * d->hop;
    r.u.prob.p = p;
    r.u.prob.p_max = d->rt.p_max;
    r.u.prob.flags = flags;
    r.u.prob.alarm = alarm;
    if (ictal_ring_push(d->tel_ring, &r) != 0)
        atomic_fetch_add_explicit(&d->tel_drops, 1, memory_order_relaxed);
    d->rt.p_max = 0;
    d->rt.frames_since = 0;
}

/* Frames of one process()/gap() call over input samples [s, s + n) of the
 * period: each frame's value holds on the CV ports from the sample at which
 * it was decided (model samples map linearly onto the call's input). */
static void take_frames(struct detect *d, const struct ictal_pipeline_frames *fr,
                        const struct ictal_pipeline_stats *before,
                        const struct ictal_pipeline_stats *after, uint32_t s, uint32_t n,
                        float *prob_cv, float *alarm_cv, uint32_t *pos)
{
    uint64_t m0 = before->model_samples, m1 = after->model_samples;
    for (size_t j = 0; j < fr->n; j++) {
        int64_t k = (int64_t)before->frames + (int64_t)j;
        if (pos) {
            uint64_t m = (uint64_t)k * (uint64_t)d->hop + 1;
            uint32_t off = n ? n - 1 : 0;
            if (m1 > m0 && m >= m0 && m - m0 < m1 - m0)
                off = (uint32_t)((m - m0) * n / (m1 - m0));
            fill_cv(d, prob_cv, alarm_cv, pos, s + off);
        }
        d->rt.held_p = fr->prob[j];
        d->rt.held_alarm = fr->alarm[j] ? 1.0f : 0.0f;
        telemetry_frame(d, k, fr->prob[j], fr->flags[j], fr->alarm[j]);
    }
}

static struct ictal_pipeline_frames frames_of(struct detect *d)
{
    struct ictal_pipeline_frames fr = { d->fr_prob, d->fr_flags, d->fr_alarm, d->fr_cap, 0 };
    return fr;
}

/* Input samples [a, b) of the period's port buffers through the pipeline. */
static void feed(struct detect *d, uint32_t a, uint32_t b, float *prob_cv, float *alarm_cv,
                 uint32_t *pos)
{
    for (uint32_t s = a; s < b;) {
        uint32_t n = b - s < DETECT_MAX_BLOCK ? b - s : DETECT_MAX_BLOCK;
        for (int c = 0; c < d->n_channels; c++)
            d->ptrs[c] = d->bufs[c] + s;
        struct ictal_pipeline_stats before, after;
        ictal_pipeline_stats(d->p, &before);
        struct ictal_pipeline_frames fr = frames_of(d);
        ictal_pipeline_process(d->p, d->ptrs, n, &d->sink, &fr);
        ictal_pipeline_stats(d->p, &after);
        take_frames(d, &fr, &before, &after, s, n, prob_cv, alarm_cv, pos);
        s += n;
    }
}

/* n missing input samples (a jump of the frame clock) through gap(). */
static void bridge(struct detect *d, uint64_t n)
{
    while (n > 0) {
        size_t k = n < DETECT_MAX_BLOCK ? (size_t)n : DETECT_MAX_BLOCK;
        struct ictal_pipeline_stats before, after;
        ictal_pipeline_stats(d->p, &before);
        struct ictal_pipeline_frames fr = frames_of(d);
        ictal_pipeline_gap(d->p, k, &d->sink, &fr);
        ictal_pipeline_stats(d->p, &after);
        take_frames(d, &fr, &before, &after, 0, 0, NULL, NULL, NULL);
        n -= k;
    }
}

/* ---- streams ------------------------------------------------------------------ */

static void publish(struct detect *d)
{
    struct ictal_pipeline_stats st;
    ictal_pipeline_stats(d->p, &st);
    atomic_store_explicit(&d->stream_frames, d->rt.active ? st.frames : 0, memory_order_relaxed);
    atomic_store_explicit(&d->stream_input, d->rt.active ? st.input_samples : 0,
                          memory_order_relaxed);
    atomic_store_explicit(&d->good_channels, st.good_channels, memory_order_relaxed);
    atomic_store_explicit(&d->alarm, d->rt.active && d->rt.held_alarm > 0.5f,
                          memory_order_relaxed);
}

static void start_stream(struct detect *d, uint32_t offset)
{
    ictal_pipeline_reset(d->p); /* a new stream starts from the created state */
    d->rt.active = true;
    d->rt.stream++;
    d->rt.frame0 = d->rt.cyc.frame_time + offset;
    d->rt.held_p = 0;
    d->rt.held_alarm = 0;
    d->rt.p_max = 0;
    d->rt.frames_since = 0;
    struct detect_rec r;
    rec_init(d, &r, REC_START);
    push_reliable(d, &r);
    atomic_store_explicit(&d->stream_no, d->rt.stream, memory_order_relaxed);
    atomic_store_explicit(&d->state, DETECT_RUNNING, memory_order_relaxed);
}

void detect_end_stream(struct detect *d, enum detect_stop reason)
{
    if (!d->rt.active)
        return;
    ictal_pipeline_flush(d->p, &d->sink);
    struct ictal_pipeline_stats st;
    ictal_pipeline_stats(d->p, &st);
    struct detect_rec r;
    rec_init(d, &r, REC_STOP);
    r.u.stop.frames = (int64_t)st.frames;
    r.u.stop.input_samples = (int64_t)st.input_samples;
    r.u.stop.reason = (int32_t)reason;
    push_reliable(d, &r);
    d->rt.active = false;
    d->rt.held_p = 0;
    d->rt.held_alarm = 0;
    publish(d);
    atomic_store_explicit(&d->state, DETECT_WAITING, memory_order_relaxed);
    atomic_fetch_add_explicit(&d->streams_ended, 1, memory_order_release);
}

bool detect_take_ownership(struct detect *d, int timeout_ms)
{
    for (int waited = 0;; waited++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&d->owner, &expected, 2) || expected == 2)
            return true;
        if (waited >= timeout_ms)
            return false;
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
}

/* ---- the callback ------------------------------------------------------------- */

int detect_process(jack_nframes_t nframes, void *arg)
{
    struct detect *d = arg;
    uint64_t t0 = now_ns();
    float *prob_cv = d->prob_out ? jack_port_get_buffer(d->prob_out, nframes) : NULL;
    float *alarm_cv = d->alarm_out ? jack_port_get_buffer(d->alarm_out, nframes) : NULL;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&d->owner, &expected, 1)) {
        /* main has taken the pipeline (shutting down): outputs rest at 0 */
        if (prob_cv)
            memset(prob_cv, 0, nframes * sizeof *prob_cv);
        if (alarm_cv)
            memset(alarm_cv, 0, nframes * sizeof *alarm_cv);
        return 0;
    }
    d->rt.cyc.frame_time = jack_last_frame_time(d->client);
    d->rt.cyc.usecs = jack_get_time();
    /* How late this callback began, one period after the previous one being
     * on time: the measure of an xrun (backends like dummy report no delay,
     * and JACK's own cycle clock is the driver's, not the wall's). */
    if (d->rt.prev_usecs && !atomic_load_explicit(&d->freewheel, memory_order_relaxed)) {
        double expect = (double)d->rt.prev_usecs + (double)nframes * 1e6 / d->rate;
        if ((double)d->rt.cyc.usecs > expect) {
            float late = (float)((double)d->rt.cyc.usecs - expect);
            if (late > d->rt.late_us)
                d->rt.late_us = late;
        }
    }
    d->rt.prev_usecs = d->rt.cyc.usecs;
    atomic_store_explicit(&d->period, nframes, memory_order_relaxed);
    for (int c = 0; c < d->n_channels; c++)
        d->bufs[c] = jack_port_get_buffer(d->in[c], nframes);
    bool gated = jack_port_connected(d->gate) > 0;
    const float *gate = gated ? jack_port_get_buffer(d->gate, nframes) : NULL;

    /* Xruns reported since the last cycle, and a jump of the frame clock. */
    int xc = atomic_load_explicit(&d->xruns, memory_order_relaxed);
    bool xrun_new = xc != d->rt.xruns_seen;
    d->rt.xruns_seen = xc;
    /* A jump of the frame clock means samples the source never delivered,
     * for a capture device; not for a gated source (ictal-play), which keeps
     * its samples contiguous itself and drops the gate at a discontinuity,
     * nor across a change of the buffer size, when jack2 re-bases the clock. */
    int64_t lost = 0;
    uint64_t ft = d->rt.cyc.frame_time;
    if (d->rt.have_expected && ft != d->rt.expected && !gated && nframes == d->rt.nframes)
        lost = (int64_t)(ft - d->rt.expected);
    d->rt.expected = ft + nframes;
    d->rt.have_expected = true;
    d->rt.nframes = nframes;
    if (d->rt.active) {
        if (lost > 0 && (uint64_t)lost <= d->gap_limit) {
            bridge(d, (uint64_t)lost);
            atomic_fetch_add_explicit(&d->lost_samples, (uint64_t)lost, memory_order_relaxed);
        } else if (lost != 0) {
            detect_end_stream(d, STOP_GAP);
        }
        if (xrun_new && d->rt.active)
            ictal_pipeline_mark_xrun(d->p);
    }
    if (xrun_new || lost != 0) {
        struct detect_rec r;
        rec_init(d, &r, REC_XRUN);
        struct ictal_pipeline_stats st;
        ictal_pipeline_stats(d->p, &st);
        uint32_t bits = atomic_load_explicit(&d->xrun_delay_bits, memory_order_relaxed);
        float delay;
        memcpy(&delay, &bits, sizeof delay);
        r.u.xrun.count = xrun_new ? xc : 0;
        r.u.xrun.delayed_us = delay > d->rt.late_us ? delay : d->rt.late_us;
        d->rt.late_us = 0;
        r.u.xrun.sample = d->rt.active ? (int64_t)st.model_samples : 0;
        r.u.xrun.lost = lost;
        push_reliable(d, &r);
    }

    /* The period: gate runs, or all of it while any input is connected. */
    uint32_t pos = 0;
    if (gated != d->rt.gated && d->rt.active)
        detect_end_stream(d, STOP_GATE); /* streams follow the gate from now on, or no more */
    d->rt.gated = gated;
    if (gated) {
        for (uint32_t i = 0; i < nframes;) {
            bool high = gate[i] >= 0.5f;
            uint32_t j = i + 1;
            while (j < nframes && (gate[j] >= 0.5f) == high)
                j++;
            if (high) {
                if (!d->rt.active)
                    start_stream(d, i);
                feed(d, i, j, prob_cv, alarm_cv, &pos);
            } else if (d->rt.active) {
                fill_cv(d, prob_cv, alarm_cv, &pos, i);
                detect_end_stream(d, STOP_GATE);
            }
            i = j;
        }
    } else {
        bool any = false;
        for (int c = 0; c < d->n_channels && !any; c++)
            any = jack_port_connected(d->in[c]) > 0;
        if (any) {
            if (!d->rt.active)
                start_stream(d, 0);
            feed(d, 0, nframes, prob_cv, alarm_cv, &pos);
        } else if (d->rt.active) {
            detect_end_stream(d, STOP_DISCONNECT);
        }
    }
    fill_cv(d, prob_cv, alarm_cv, &pos, nframes);
    publish(d);
    atomic_fetch_add_explicit(&d->cycles, 1, memory_order_relaxed);
    atomic_store_explicit(&d->owner, 0, memory_order_release);
    ictal_timehist_add(d->cb_hist, now_ns() - t0);
    return 0;
}

void detect_stream_id(const struct detect *d, uint32_t n, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    if (cap == 0)
        return;
    char tmp[32];
    size_t k = 0;
    for (int i = 7; i >= 0; i--)
        tmp[k++] = hex[(d->session >> (4 * i)) & 0xf];
    tmp[k++] = '.';
    char digits[12];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (nd)
        tmp[k++] = digits[--nd];
    tmp[k] = '\0';
    size_t len = k < cap - 1 ? k : cap - 1;
    memcpy(buf, tmp, len);
    buf[len] = '\0';
}
