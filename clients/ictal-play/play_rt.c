/*
 * play_rt.c — ictal-play's JACK process callback. It copies samples from the
 * data rings to the output ports as the record ring describes them, writes
 * the gate, and counts. No allocation, no lock, no I/O; the only system
 * call is sem_post (wake the disk thread), and in freewheel mode (not
 * real-time) a bounded sem_timedwait for data that is late.
 *
 * The gate (docs/ictal-play.md): 1.0 on every sample that comes from the
 * file, including zeros standing in for samples the disk thread did not
 * deliver in time (an underrun: the playhead stays in step with JACK time);
 * 0.0 before playback starts, while the transport is stopped or a seek is
 * being served, after the end, and on the one pad sample between passes.
 */
#include "play.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jack/transport.h>

/* Freewheel: how long one cycle may wait for the disk thread in all, and in
 * one sem_timedwait. Past the budget the samples count as an underrun. */
#define FW_BUDGET_MS 5000
#define FW_SLICE_MS 100
/* Cycles in freewheel before the first sample (see play_rt_process). */
#define FW_SETTLE_CYCLES 2

enum phase { PH_WAIT = 0, PH_PLAY };

struct play_rt {
    struct play_shared *sh;
    float **bufs;              /* n_ch port buffers of the current cycle */
    float *gate;
    jack_nframes_t nframes;
    enum phase phase;
    bool ended;                /* END popped: silence until a seek (or exit) */
    bool end_cycle_clean;      /* a whole cycle ran silent after END */
    uint32_t want_epoch;       /* newest seek requested */
    bool seek_pending;         /* waiting for EPOCH(want_epoch) */
    bool seek_unsent;          /* the seeks ring was full: retry */
    int64_t seek_target;
    int64_t playhead;          /* output index of the next sample (transport timeline) */
    int64_t debt;              /* data samples to skip to get back in step */
    uint32_t cur_left;         /* samples left in the current DATA record */
    bool consumed;             /* anything taken from the rings this cycle */
    /* this cycle's clock, for annotation notes */
    bool have_clock;
    jack_time_t clock_us;
    float clock_period_us;
    uint64_t cycle_t0;         /* CLOCK_MONOTONIC at the callback's start */
    unsigned fw_cycles;        /* freewheel cycles seen while waiting to start */
};

struct play_rt *play_rt_create(struct play_shared *sh)
{
    struct play_rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->sh = sh;
    rt->bufs = calloc((size_t)sh->n_ch, sizeof *rt->bufs);
    if (!rt->bufs) {
        free(rt);
        return NULL;
    }
    return rt;
}

void play_rt_destroy(struct play_rt *rt)
{
    if (!rt)
        return;
    free(rt->bufs);
    free(rt);
}

static void silence(struct play_rt *rt, jack_nframes_t from, jack_nframes_t to)
{
    if (to <= from)
        return;
    size_t n = (size_t)(to - from) * sizeof(float);
    for (int c = 0; c < rt->sh->n_ch; c++)
        memset(rt->bufs[c] + from, 0, n);
    memset(rt->gate + from, 0, n);
}

static void bump(atomic_uint_fast64_t *a, uint64_t n)
{
    /* one writer: a plain load and store, no read-modify-write */
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Drop n samples from every data ring. */
static void skip_data(struct play_rt *rt, uint32_t n)
{
    if (n == 0)
        return;
    for (int c = 0; c < rt->sh->n_ch; c++)
        if (ictal_ring_skip(rt->sh->data[c], (size_t)n * sizeof(float)) != 0)
            bump(&rt->sh->ring_errors, 1);
    rt->consumed = true;
}

/* Jack time (µs) of sample i of this cycle. */
static int64_t sample_time(struct play_rt *rt, jack_nframes_t i)
{
    if (!rt->have_clock) {
        jack_nframes_t f;
        jack_time_t cur, next;
        float per;
        if (!atomic_load_explicit(&rt->sh->freewheeling, memory_order_relaxed) &&
            jack_get_cycle_times(rt->sh->client, &f, &cur, &next, &per) == 0) {
            rt->clock_us = cur;
            rt->clock_period_us = (float)(next - cur);
        } else {
            /* freewheel: the moment the cycle runs */
            rt->clock_us = jack_get_time();
            rt->clock_period_us = 0;
        }
        rt->have_clock = true;
    }
    return (int64_t)rt->clock_us +
           (int64_t)((double)rt->clock_period_us * (double)i / (double)rt->nframes);
}

static void note_annot(struct play_rt *rt, uint32_t annot, jack_nframes_t i)
{
    struct play_note n = { annot, 0, sample_time(rt, i) };
    if (ictal_ring_push(rt->sh->notes, &n) != 0)
        bump(&rt->sh->note_drops, 1);
    else
        play_wake(&rt->sh->osc_wake);
}

/* Freewheel only: wait (bounded) for the disk thread to publish more.
 * Returns true when it is worth looking again. */
static bool fw_wait(struct play_rt *rt)
{
    struct play_shared *sh = rt->sh;
    if (!atomic_load_explicit(&sh->freewheeling, memory_order_relaxed) ||
        atomic_load_explicit(&sh->disk_failed, memory_order_acquire) ||
        atomic_load_explicit(&sh->quit, memory_order_relaxed) ||
        play_now_ns() - rt->cycle_t0 >= (uint64_t)FW_BUDGET_MS * 1000000u)
        return false;
    if (rt->consumed) {
        play_wake(&sh->disk_wake); /* it may be waiting for the space we freed */
        rt->consumed = false;
    }
    play_wait(&sh->data_ready, FW_SLICE_MS);
    return true;
}

/* Ask the disk thread to play from output index target. */
static void request_seek(struct play_rt *rt, int64_t target)
{
    skip_data(rt, rt->cur_left); /* the rest of the current record is stale */
    rt->cur_left = 0;
    rt->want_epoch++;
    rt->seek_pending = true;
    rt->seek_target = target;
    rt->playhead = target;
    rt->debt = 0;
    rt->ended = false;
    rt->end_cycle_clean = false;
    struct play_seek s = { rt->want_epoch, 0, target };
    rt->seek_unsent = ictal_ring_push(rt->sh->seeks, &s) != 0;
    play_wake(&rt->sh->disk_wake);
}

/* While a seek is pending: discard stale records until EPOCH(want_epoch).
 * Returns true when found. */
static bool find_epoch(struct play_rt *rt)
{
    struct play_rec r;
    while (ictal_ring_pop(rt->sh->recs, &r) == 0) {
        rt->consumed = true;
        if (r.kind == PLAY_REC_EPOCH && r.epoch == rt->want_epoch) {
            rt->seek_pending = false;
            /* the transport rolled on while the disk thread sought */
            rt->debt = rt->playhead - r.pos;
            if (rt->debt < 0)
                rt->debt = 0;
            bump(&rt->sh->seeks_done, 1);
            return true;
        }
        if (r.kind == PLAY_REC_DATA)
            skip_data(rt, r.n);
    }
    return false;
}

/* Fill samples [i, nframes) of this cycle. */
static void fill(struct play_rt *rt, jack_nframes_t i)
{
    struct play_shared *sh = rt->sh;
    const jack_nframes_t n = rt->nframes;
    while (i < n) {
        if (rt->seek_pending) {
            if (find_epoch(rt))
                continue;
            if (fw_wait(rt))
                continue;
            silence(rt, i, n);
            rt->playhead += n - i; /* the transport rolls on */
            return;
        }
        if (rt->ended) {
            silence(rt, i, n);
            rt->playhead += n - i;
            return;
        }
        if (rt->cur_left == 0) {
            struct play_rec r;
            if (ictal_ring_pop(sh->recs, &r) != 0) {
                if (fw_wait(rt))
                    continue;
                /* underrun: zeros with gate 1, and the file position keeps
                 * pace with JACK time (the missing samples are skipped when
                 * they arrive) */
                jack_nframes_t m = n - i;
                size_t bytes = (size_t)m * sizeof(float);
                for (int c = 0; c < sh->n_ch; c++)
                    memset(rt->bufs[c] + i, 0, bytes);
                for (jack_nframes_t k = i; k < n; k++)
                    rt->gate[k] = 1.0f;
                bump(&sh->underruns, 1);
                bump(&sh->underrun_samples, m);
                bump(&sh->played, m);
                rt->debt += m;
                rt->playhead += m;
                return;
            }
            rt->consumed = true;
            switch (r.kind) {
            case PLAY_REC_DATA:
                rt->cur_left = r.n;
                break;
            case PLAY_REC_PAD:
                for (int c = 0; c < sh->n_ch; c++)
                    rt->bufs[c][i] = 0.0f;
                rt->gate[i] = 0.0f;
                i++;
                rt->playhead++;
                bump(&sh->pads, 1);
                break;
            case PLAY_REC_ANNOT:
                note_annot(rt, r.annot, i);
                break;
            case PLAY_REC_END:
                rt->ended = true;
                atomic_store_explicit(&sh->t_end_ns, play_now_ns(), memory_order_relaxed);
                if (!atomic_load_explicit(&sh->at_end, memory_order_relaxed)) {
                    atomic_store_explicit(&sh->at_end, true, memory_order_release);
                    play_wake(&sh->main_wake);
                }
                break;
            default: /* an EPOCH nobody waits for: nothing to do */
                break;
            }
            continue;
        }
        if (rt->debt > 0) {
            uint32_t s = rt->debt < (int64_t)rt->cur_left ? (uint32_t)rt->debt : rt->cur_left;
            skip_data(rt, s);
            rt->cur_left -= s;
            rt->debt -= s;
            continue;
        }
        jack_nframes_t k = n - i < rt->cur_left ? n - i : rt->cur_left;
        for (int c = 0; c < sh->n_ch; c++)
            if (ictal_ring_read(sh->data[c], rt->bufs[c] + i, (size_t)k * sizeof(float)) != 0) {
                memset(rt->bufs[c] + i, 0, (size_t)k * sizeof(float));
                bump(&sh->ring_errors, 1);
            }
        for (jack_nframes_t j = i; j < i + k; j++)
            rt->gate[j] = 1.0f;
        rt->consumed = true;
        rt->cur_left -= k;
        rt->playhead += k;
        bump(&sh->played, k);
        i += k;
    }
}

static bool all_connected(const struct play_rt *rt)
{
    const struct play_shared *sh = rt->sh;
    for (int c = 0; c < sh->n_ch; c++)
        if (jack_port_connected(sh->ports[c]) <= 0)
            return false;
    if (atomic_load_explicit(&sh->require_gate, memory_order_acquire) &&
        jack_port_connected(sh->gate) <= 0)
        return false;
    return true;
}

int play_rt_process(jack_nframes_t nframes, void *arg)
{
    struct play_rt *rt = arg;
    struct play_shared *sh = rt->sh;
    uint64_t t0 = play_now_ns();
    bool was_ended = rt->ended;
    rt->cycle_t0 = t0;
    rt->nframes = nframes;
    rt->have_clock = false;
    rt->consumed = false;
    for (int c = 0; c < sh->n_ch; c++)
        rt->bufs[c] = jack_port_get_buffer(sh->ports[c], nframes);
    rt->gate = jack_port_get_buffer(sh->gate, nframes);

    if (rt->phase == PH_WAIT) {
        if (sh->wait_connect && !all_connected(rt)) {
            silence(rt, 0, nframes);
            goto done;
        }
        /* --freewheel: the first sample goes out in freewheel. jack2 may skip
         * a downstream client for a cycle while it switches the driver over
         * (seen as xruns at the switch), which would lose samples in what is
         * meant to be a lossless replay; so main switches while we are still
         * silent, and we begin a few cycles after the freewheel callback. */
        if (sh->freewheel_wanted && !atomic_load_explicit(&sh->fw_refused, memory_order_acquire)) {
            if (!atomic_load_explicit(&sh->freewheeling, memory_order_acquire)) {
                rt->fw_cycles = 0;
                if (!atomic_load_explicit(&sh->ready, memory_order_relaxed)) {
                    atomic_store_explicit(&sh->ready, true, memory_order_release);
                    play_wake(&sh->main_wake);
                }
                silence(rt, 0, nframes);
                goto done;
            }
            if (rt->fw_cycles++ < FW_SETTLE_CYCLES) {
                silence(rt, 0, nframes);
                goto done;
            }
        }
        /* every client sees this cycle boundary alike */
        rt->phase = PH_PLAY;
        atomic_store_explicit(&sh->t_start_ns, t0, memory_order_relaxed);
        atomic_store_explicit(&sh->started, true, memory_order_release);
        play_wake(&sh->main_wake);
    }
    bump(&sh->periods, 1);
    if (sh->transport) {
        jack_position_t pos;
        jack_transport_state_t st = jack_transport_query(sh->client, &pos);
        if ((int64_t)pos.frame != rt->playhead)
            request_seek(rt, (int64_t)pos.frame); /* a locate */
        if (st != JackTransportRolling) {
            /* stopped: nothing plays, but a seek is served meanwhile */
            if (rt->seek_pending)
                find_epoch(rt);
            silence(rt, 0, nframes);
            goto done;
        }
    }
    fill(rt, 0);
done:
    if (rt->ended && was_ended && !rt->seek_pending)
        rt->end_cycle_clean = true;
    if (rt->seek_unsent) {
        struct play_seek s = { rt->want_epoch, 0, rt->seek_target };
        rt->seek_unsent = ictal_ring_push(sh->seeks, &s) != 0;
        play_wake(&sh->disk_wake);
    }
    if (rt->consumed)
        play_wake(&sh->disk_wake);
    if (rt->end_cycle_clean && !atomic_load_explicit(&sh->finished, memory_order_relaxed)) {
        atomic_store_explicit(&sh->finished, true, memory_order_release);
        play_wake(&sh->main_wake);
    }
    uint64_t dt = play_now_ns() - t0;
    ictal_timehist_add(sh->hist, dt);
    if (sh->slow_ns && dt > sh->slow_ns &&
        !atomic_load_explicit(&sh->freewheeling, memory_order_relaxed))
        bump(&sh->slow_cycles, 1);
    return 0;
}

/* ---- helpers shared by the threads ------------------------------------- */

uint64_t play_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void play_wake(sem_t *s)
{
    int v = 0;
    if (sem_getvalue(s, &v) == 0 && v > 0)
        return;
    sem_post(s);
}

int play_wait(sem_t *s, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return sem_timedwait(s, &ts) == 0 ? 0 : -1;
}
