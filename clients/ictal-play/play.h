/*
 * play.h — what the three threads of ictal-play share (docs/ictal-play.md).
 *
 *   disk thread (normal priority)       JACK process thread (RT)         OSC thread
 *   EDF reader → µV → [resampler] →     records + data rings → ports;    notes → bundles
 *   data rings + record ring  ────────► seek requests ──► disk;          → /ictal/annotation
 *                                       annotation notes ─────────────►
 *
 * Everything is allocated and touched by main before jack_activate; after
 * that the process thread only copies from rings to port buffers, pops and
 * pushes fixed-size records, updates atomics and posts semaphores.
 *
 * Queues (all ictal_ring, single producer / single consumer):
 *   data[c]  disk → RT  channel c's samples at the JACK rate (float, byte ring)
 *   recs     disk → RT  struct play_rec: what the next samples are. A record is
 *                       pushed only after the samples it describes are in
 *                       every data ring, so the RT side never reads ahead of
 *                       the data.
 *   seeks    RT → disk  struct play_seek (transport locates)
 *   notes    RT → OSC   struct play_note (an annotation's onset was played)
 *
 * Wake-ups are POSIX semaphores: sem_post is async-signal-safe, never blocks,
 * and in glibc is one atomic increment plus a futex wake only when a thread
 * is waiting. That is the one system call the process thread may make (the
 * same role as capture_client.c's trylock + pthread_cond_signal, without a
 * mutex). In freewheel mode the process callback is not real-time and may
 * wait on data_ready (bounded), so replays are lossless.
 */
#ifndef ICTAL_PLAY_H
#define ICTAL_PLAY_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jack/jack.h>

#include "ictal/edf.h"
#include "ictal/resample.h"
#include "ictal/ring.h"
#include "ictal/timehist.h"

/* What a record of the `recs` ring says about the samples that follow. */
enum play_rec_kind {
    PLAY_REC_DATA = 0, /* n samples per channel are in the data rings */
    PLAY_REC_PAD,      /* one pad sample (outputs 0, gate 0) at a discontinuity */
    PLAY_REC_ANNOT,    /* annotation `annot` starts at the next sample */
    PLAY_REC_EPOCH,    /* a seek was served: what follows starts at `pos` */
    PLAY_REC_END       /* the end of the recording (no --loop) */
};

struct play_rec {
    uint32_t kind;   /* enum play_rec_kind */
    uint32_t epoch;  /* seek generation the record belongs to */
    uint32_t n;      /* DATA: samples */
    uint32_t annot;  /* ANNOT: index into play_shared.annots */
    int64_t pos;     /* DATA, EPOCH: output index of the first sample (see below) */
};

/* A transport locate: play from output index `target` (JACK frames). */
struct play_seek {
    uint32_t epoch;
    uint32_t pad_;
    int64_t target;
};

/* Annotation `annot` was played in the cycle that began at jack time
 * `usecs` (plus the sample's offset in it). */
struct play_note {
    uint32_t annot;
    uint32_t pad_;
    int64_t usecs;
};

/* An annotation as the OSC thread sends it (copied from the reader at
 * start-up, so no other thread touches the EDF reader). */
struct play_annot {
    double onset_s, duration_s; /* duration -1: none */
    char text[513];
};

/* Output indices: the JACK-rate samples of one pass over the file, from
 * --start (index 0) to the end (index n_out - 1). With --loop, one period of
 * the played timeline is n_out data samples plus one pad sample. */

struct play_shared {
    /* ---- constant once the threads run ---------------------------------- */
    int n_ch;
    double file_rate, jack_rate, ratio;   /* ratio = jack_rate / file_rate */
    int64_t file_len;                      /* file samples per channel */
    int64_t start;                         /* --start in file samples */
    int64_t n_out;                         /* output samples per pass */
    bool loop, transport, freewheel_wanted, wait_connect, hold;
    size_t ring_samples;                   /* capacity of each data ring */

    struct ictal_edf *edf;                 /* disk thread only */
    const double *gains;                   /* to µV, per channel */
    enum ictal_resampler_quality quality;

    struct play_annot *annots;
    size_t n_annots;

    struct ictal_ring **data;              /* n_ch byte rings of floats */
    struct ictal_ring *recs, *seeks, *notes;

    sem_t disk_wake;   /* RT, main → disk: space was freed / seek / quit */
    sem_t data_ready;  /* disk → RT: records were published (freewheel waits) */
    sem_t main_wake;   /* anyone → main: something to look at */
    sem_t osc_wake;    /* RT, main → OSC thread */

    /* ---- JACK (set by main before activation) -------------------------- */
    jack_client_t *client;
    jack_port_t **ports;                   /* n_ch data ports */
    jack_port_t *gate;
    atomic_bool require_gate;              /* the gate must be connected too */

    /* ---- flags ---------------------------------------------------------- */
    atomic_bool quit;                      /* main → disk, OSC: stop */
    atomic_bool prefilled;                 /* disk → main: read-ahead done */
    atomic_bool disk_failed;               /* disk → main: see disk_error */
    char disk_error[512];                  /* written before disk_failed */
    atomic_bool freewheeling;              /* JACK freewheel callback */
    atomic_bool ready;                     /* RT → main: start condition met,
                                              turn freewheel on (--freewheel) */
    atomic_bool fw_refused;                /* main → RT: JACK said no: play in RT */
    atomic_bool started;                   /* RT → main: playback began */
    atomic_bool at_end;                    /* RT → main: the last sample went out */
    atomic_bool finished;                  /* RT → main: end + one silent period */
    atomic_bool shutdown;                  /* JACK server went away */
    char shutdown_reason[256];
    atomic_int signal_no;                  /* SIGINT/SIGTERM seen */

    /* ---- counters (RT writes, others read) ------------------------------ */
    atomic_uint_fast64_t periods;          /* cycles since playback began */
    atomic_uint_fast64_t played;           /* gate-1 samples output */
    atomic_uint_fast64_t underruns;        /* cycles with missing samples */
    atomic_uint_fast64_t underrun_samples;
    atomic_uint_fast64_t pads;
    atomic_uint_fast64_t seeks_done;
    atomic_uint_fast64_t note_drops;       /* notes ring full */
    atomic_uint_fast64_t ring_errors;      /* a ring call failed (a bug) */
    atomic_uint_fast64_t xruns;
    atomic_uint_fast64_t slow_cycles;      /* real-time callbacks over slow_ns */
    uint64_t slow_ns;                      /* rt.load_warn of the period (0: off) */
    atomic_uint_fast64_t t_start_ns, t_end_ns; /* CLOCK_MONOTONIC */
    struct ictal_timehist *hist;           /* callback times */
    /* disk side */
    atomic_uint_fast64_t disk_reads;
};

/* ---- disk thread (play_disk.c) ------------------------------------------ */

/* State the disk thread keeps; created by main (allocates), used by one
 * thread. */
struct play_disk;

/* Scratch for reading and converting; the resampler when the rates differ.
 * Returns NULL with a message in why. RT-safe: no. */
struct play_disk *play_disk_create(struct play_shared *sh, char *why, size_t why_cap);
/* After the thread was joined. NULL is a no-op. RT-safe: no. */
void play_disk_destroy(struct play_disk *d);

/* The thread body (arg: struct play_disk *). Prefills, then keeps the rings
 * full until sh->quit. RT-safe: no. */
void *play_disk_thread(void *arg);

/* ---- process thread (play_rt.c) ----------------------------------------- */

/* RT state; allocated by main (NULL: out of memory), used only by the
 * process thread, freed after the client was deactivated or closed.
 * RT-safe: no. */
struct play_rt;
struct play_rt *play_rt_create(struct play_shared *sh);
void play_rt_destroy(struct play_rt *rt);

/* The JACK process callback (arg: struct play_rt *). RT-safe: yes (in
 * freewheel mode it may wait, bounded, for the disk thread). */
int play_rt_process(jack_nframes_t nframes, void *arg);

/* ---- OSC thread (play_osc.c) -------------------------------------------- */

struct play_osc;

/* Parse targets ("host:port", "osc.udp://host:port/", "osc.tcp://...").
 * source: our JACK client name; file: the recording's base name (both
 * copied). Returns NULL with why filled. RT-safe: no. */
struct play_osc *play_osc_create(struct play_shared *sh, const char *const *targets, size_t n,
                                 const char *source, const char *file, char *why, size_t why_cap);
/* After the thread was joined. NULL is a no-op. RT-safe: no. */
void play_osc_destroy(struct play_osc *o);
/* The thread body (arg: struct play_osc *): sends until sh->quit and the
 * notes ring is empty. RT-safe: no. */
void *play_osc_thread(void *arg);
/* Messages sent and send failures (read after the thread ended). RT-safe: no. */
void play_osc_counts(const struct play_osc *o, uint64_t *sent, uint64_t *failed);

/* ---- helpers ------------------------------------------------------------- */

/* CLOCK_MONOTONIC in ns (a vDSO call, no system call). RT-safe: yes. */
uint64_t play_now_ns(void);

/* Post a semaphore unless it already holds a wake-up (so a fast producer
 * does not pile up counts). RT-safe: yes. */
void play_wake(sem_t *s);

/* Wait on s for at most ms milliseconds. Returns 0 when woken, -1 on
 * timeout or interruption. RT-safe: no (blocks). */
int play_wait(sem_t *s, unsigned ms);

#endif /* ICTAL_PLAY_H */
