/*
 * play_disk.c — ictal-play's disk thread: reads the recording ahead of the
 * JACK cycle, converts it to µV exactly as ictal-run does (ictal_edf_read +
 * ictal_edf_scale with ictal_edf_unit_to_uv gains), converts the rate when
 * the file's differs from JACK's, and publishes samples and records into the
 * rings (play.h). The only thread that touches the EDF reader once the
 * threads run (EDFlib keeps global tables).
 *
 * A *pass* is one run over the file from an output index J0 to n_out (the
 * end). Passes begin at start-up (J0 = 0), at a loop wrap (after a PAD
 * record) and at a seek (after an EPOCH record). Without rate conversion
 * output index J is file sample start + J, read and scaled, nothing else;
 * with it, output J stands for file time start + J / ratio (libsamplerate's
 * sinc converters, through ictal_resampler), primed with `latency` samples
 * of history before a seek so the converter's state matches a continuous
 * run, and flushed with zeros past the end so that exactly n_out outputs come
 * out of each pass.
 */
#include "play.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most file samples per read (per channel). */
#define DISK_MAX_READ 4096

struct play_disk {
    struct play_shared *sh;
    struct ictal_resampler *rs;  /* NULL when the rates are equal */
    size_t latency;              /* converter look-ahead, file samples */
    size_t max_in;               /* file samples per read */
    float **in;                  /* (n_ch, max_in) file samples, µV */
    float **out;                 /* (n_ch, out_cap) JACK-rate samples; == in without rs */
    size_t out_cap;
    float **view;                /* out[c] + pend_off, for ring writes */

    /* annotations in onset order and their output index in a pass */
    size_t *order;
    int64_t *at;

    /* the pass being produced */
    uint32_t epoch;
    bool active;                 /* a pass is being produced */
    int64_t J;                   /* next output index to publish */
    int64_t fpos;                /* next file sample to read (>= file_len: zeros) */
    int64_t drop;                /* converter outputs still to discard */
    size_t pend_off, pend_n;     /* produced, not yet published: out[c][pend_off..] */
    size_t next_annot;           /* into order[]: first with at >= J not yet sent */
    size_t ip_next, ip_end;      /* into order[]: in-progress scan at a pass start */
    bool tail_done;              /* annotations after the last sample sent */
    int pending_pad;             /* a PAD record still to push before the pass */
};

static void disk_fail(struct play_shared *sh, const char *msg)
{
    snprintf(sh->disk_error, sizeof sh->disk_error, "%s", msg);
    atomic_store_explicit(&sh->disk_failed, true, memory_order_release);
    play_wake(&sh->main_wake);
    play_wake(&sh->data_ready);
}

static float **alloc_planes(int n, size_t len)
{
    float **p = calloc((size_t)n, sizeof *p);
    if (!p)
        return NULL;
    for (int c = 0; c < n; c++)
        if (!(p[c] = calloc(len ? len : 1, sizeof **p))) {
            for (int j = 0; j < c; j++)
                free(p[j]);
            free(p);
            return NULL;
        }
    return p;
}

static void free_planes(float **p, int n)
{
    if (!p)
        return;
    for (int c = 0; c < n; c++)
        free(p[c]);
    free(p);
}

static const struct play_annot *sort_base;

static int by_onset(const void *a, const void *b)
{
    double x = sort_base[*(const size_t *)a].onset_s, y = sort_base[*(const size_t *)b].onset_s;
    if (x < y)
        return -1;
    if (x > y)
        return 1;
    /* equal onsets keep file order */
    return *(const size_t *)a < *(const size_t *)b ? -1 : *(const size_t *)a > *(const size_t *)b;
}

struct play_disk *play_disk_create(struct play_shared *sh, char *why, size_t why_cap)
{
    struct play_disk *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    d->sh = sh;
    size_t half = sh->ring_samples / 2;
    if (sh->ratio != 1.0) {
        /* reads small enough that one read's output fits half a ring */
        double m = (double)half / sh->ratio;
        d->max_in = m < 16 ? 16 : m > DISK_MAX_READ ? DISK_MAX_READ : (size_t)m;
        struct ictal_error err;
        d->rs = ictal_resampler_create(sh->n_ch, sh->file_rate, sh->jack_rate, sh->quality,
                                       d->max_in, &err);
        if (!d->rs) {
            snprintf(why, why_cap, "rate conversion %g Hz -> %g Hz: %s", sh->file_rate,
                     sh->jack_rate, err.msg);
            play_disk_destroy(d);
            return NULL;
        }
        d->latency = ictal_resampler_latency(d->rs);
        d->out_cap = ictal_resampler_max_out(d->rs, d->max_in);
        d->in = alloc_planes(sh->n_ch, d->max_in);
        d->out = alloc_planes(sh->n_ch, d->out_cap);
    } else {
        d->max_in = half < DISK_MAX_READ ? half : DISK_MAX_READ;
        if (d->max_in < 1)
            d->max_in = 1;
        d->out_cap = d->max_in;
        d->in = d->out = alloc_planes(sh->n_ch, d->max_in);
    }
    d->view = calloc((size_t)sh->n_ch, sizeof *d->view);
    d->order = calloc(sh->n_annots ? sh->n_annots : 1, sizeof *d->order);
    d->at = calloc(sh->n_annots ? sh->n_annots : 1, sizeof *d->at);
    if (!d->in || !d->out || !d->view || !d->order || !d->at) {
        snprintf(why, why_cap, "out of memory for the disk buffers");
        play_disk_destroy(d);
        return NULL;
    }
    /* An annotation is announced just before the first output sample at or
     * after its onset. */
    double start_s = (double)sh->start / sh->file_rate;
    for (size_t i = 0; i < sh->n_annots; i++) {
        d->order[i] = i;
        d->at[i] = (int64_t)ceil((sh->annots[i].onset_s - start_s) * sh->jack_rate - 1e-6);
    }
    sort_base = sh->annots;
    qsort(d->order, sh->n_annots, sizeof *d->order, by_onset);
    sort_base = NULL;
    return d;
}

void play_disk_destroy(struct play_disk *d)
{
    if (!d)
        return;
    ictal_resampler_destroy(d->rs);
    if (d->out != d->in)
        free_planes(d->out, d->sh->n_ch);
    free_planes(d->in, d->sh->n_ch);
    free(d->view);
    free(d->order);
    free(d->at);
    free(d);
}

/* Output time of index J in seconds from the start of the file. */
static double time_of(const struct play_disk *d, int64_t J)
{
    return (double)d->sh->start / d->sh->file_rate + (double)J / d->sh->jack_rate;
}

/* Begin a pass at output index J0 (0 <= J0 < n_out). */
static void pass_begin(struct play_disk *d, int64_t J0)
{
    struct play_shared *sh = d->sh;
    d->active = true;
    d->J = J0;
    d->pend_off = d->pend_n = 0;
    d->tail_done = false;
    if (!d->rs) {
        d->fpos = sh->start + J0;
        d->drop = 0;
    } else {
        /* output k after a reset stands for file sample fpos + k / ratio */
        double t = (double)sh->start + (double)J0 / sh->ratio;
        int64_t p = (int64_t)floor(t);
        int64_t h = p < (int64_t)d->latency ? p : (int64_t)d->latency;
        d->fpos = p - h;
        ictal_resampler_reset(d->rs);
        double k = (double)(sh->start - d->fpos) * sh->ratio + (double)J0;
        d->drop = (int64_t)ceil(k - 1e-9);
        if (d->drop < 0)
            d->drop = 0;
    }
    size_t first = 0;
    while (first < sh->n_annots && d->at[d->order[first]] < J0)
        first++;
    d->next_annot = first;
    d->ip_next = 0;
    d->ip_end = first;
}

/* Produce more output into out[] (pend). Returns 0, or -1 after disk_fail. */
static int produce(struct play_disk *d)
{
    struct play_shared *sh = d->sh;
    struct ictal_error err;
    int64_t want = sh->n_out - d->J;
    if (!d->rs) {
        int64_t n = want < (int64_t)d->max_in ? want : (int64_t)d->max_in;
        int64_t got = ictal_edf_read(sh->edf, d->fpos, (size_t)n, d->in, &err);
        atomic_fetch_add_explicit(&sh->disk_reads, 1, memory_order_relaxed);
        if (got != n) {
            char msg[512];
            if (got < 0)
                snprintf(msg, sizeof msg, "%s", err.msg);
            else
                snprintf(msg, sizeof msg, "read %lld of %lld samples at sample %lld: the file "
                         "ended early", (long long)got, (long long)n, (long long)d->fpos);
            disk_fail(sh, msg);
            return -1;
        }
        for (int c = 0; c < sh->n_ch; c++)
            ictal_edf_scale(d->in[c], (size_t)n, sh->gains[c]);
        d->fpos += n;
        d->pend_off = 0;
        d->pend_n = (size_t)n;
        return 0;
    }
    /* With the converter: real samples while the file lasts, zeros after it
     * (they flush the converter's look-ahead at the end). */
    size_t n = d->max_in;
    int64_t real = sh->file_len - d->fpos;
    if (real < 0)
        real = 0;
    if (real > (int64_t)n)
        real = (int64_t)n;
    if (real > 0) {
        int64_t got = ictal_edf_read(sh->edf, d->fpos, (size_t)real, d->in, &err);
        atomic_fetch_add_explicit(&sh->disk_reads, 1, memory_order_relaxed);
        if (got != real) {
            char msg[512];
            if (got < 0)
                snprintf(msg, sizeof msg, "%s", err.msg);
            else
                snprintf(msg, sizeof msg, "read %lld of %lld samples at sample %lld: the file "
                         "ended early", (long long)got, (long long)real, (long long)d->fpos);
            disk_fail(sh, msg);
            return -1;
        }
        for (int c = 0; c < sh->n_ch; c++)
            ictal_edf_scale(d->in[c], (size_t)real, sh->gains[c]);
    }
    for (int c = 0; c < sh->n_ch; c++)
        memset(d->in[c] + real, 0, (n - (size_t)real) * sizeof(float));
    size_t made = 0;
    int rc = ictal_resampler_process(d->rs, (const float *const *)d->in, n, d->out, d->out_cap,
                                     &made);
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "rate conversion failed: %s", ictal_strerror(rc));
        disk_fail(sh, msg);
        return -1;
    }
    d->fpos += (int64_t)n;
    size_t off = 0;
    if (d->drop > 0) {
        size_t k = (int64_t)made < d->drop ? made : (size_t)d->drop;
        off = k;
        d->drop -= (int64_t)k;
    }
    size_t avail = made - off;
    if ((int64_t)avail > want)
        avail = (size_t)want;
    d->pend_off = off;
    d->pend_n = avail;
    return 0;
}

static bool push_rec(struct play_disk *d, uint32_t kind, uint32_t n, uint32_t annot, int64_t pos)
{
    struct play_rec r = { kind, d->epoch, n, annot, pos };
    return ictal_ring_push(d->sh->recs, &r) == 0;
}

/* One step of work. Returns 1 when something was published or changed, 0
 * when blocked (rings full) or idle, -1 after a failure. */
static int step(struct play_disk *d)
{
    struct play_shared *sh = d->sh;
    if (d->pending_pad) {
        if (!push_rec(d, PLAY_REC_PAD, 1, 0, 0))
            return 0;
        d->pending_pad = 0;
        return 1;
    }
    if (!d->active)
        return 0;
    /* annotations in progress where the pass begins */
    while (d->ip_next < d->ip_end) {
        size_t a = d->order[d->ip_next];
        const struct play_annot *an = &sh->annots[a];
        if (an->duration_s > 0 && an->onset_s + an->duration_s > time_of(d, d->J)) {
            if (!push_rec(d, PLAY_REC_ANNOT, 0, (uint32_t)a, d->J))
                return 0;
        }
        d->ip_next++;
    }
    /* annotations whose onset is the next sample */
    while (d->next_annot < sh->n_annots && d->at[d->order[d->next_annot]] <= d->J &&
           d->J < sh->n_out) {
        if (!push_rec(d, PLAY_REC_ANNOT, 0, (uint32_t)d->order[d->next_annot], d->J))
            return 0;
        d->next_annot++;
    }
    if (d->J >= sh->n_out) {
        /* the end of a pass: annotations at or after the end, then PAD + a
         * new pass (--loop) or END */
        while (!d->tail_done && d->next_annot < sh->n_annots) {
            size_t a = d->order[d->next_annot];
            if (sh->annots[a].onset_s <= (double)sh->file_len / sh->file_rate + 1e-9 &&
                !push_rec(d, PLAY_REC_ANNOT, 0, (uint32_t)a, d->J))
                return 0;
            d->next_annot++;
        }
        d->tail_done = true;
        if (sh->loop) {
            if (!push_rec(d, PLAY_REC_PAD, 1, 0, 0))
                return 0;
            pass_begin(d, 0);
            return 1;
        }
        if (!push_rec(d, PLAY_REC_END, 0, 0, d->J))
            return 0;
        d->active = false;
        return 1;
    }
    if (d->pend_n == 0 && produce(d) < 0)
        return -1;
    if (d->pend_n == 0)
        return 1; /* the converter swallowed this read (look-ahead, drop) */
    if (ictal_ring_record_space(sh->recs) < 1)
        return 0;
    /* the process thread drains the rings one after the other: the least
     * free space is what every ring can take */
    size_t space = SIZE_MAX;
    for (int c = 0; c < sh->n_ch; c++) {
        size_t s = ictal_ring_write_space(sh->data[c]) / sizeof(float);
        if (s < space)
            space = s;
    }
    size_t k = d->pend_n < space ? d->pend_n : space;
    if (d->next_annot < sh->n_annots) {
        int64_t lim = d->at[d->order[d->next_annot]] - d->J;
        if (lim < (int64_t)k)
            k = (size_t)lim;
    }
    if (k > UINT32_MAX / 2)
        k = UINT32_MAX / 2;
    if (k == 0)
        return 0;
    for (int c = 0; c < sh->n_ch; c++) {
        if (ictal_ring_write(sh->data[c], d->out[c] + d->pend_off, k * sizeof(float)) != 0) {
            disk_fail(sh, "internal error: a sample ring refused data it had room for");
            return -1;
        }
    }
    if (!push_rec(d, PLAY_REC_DATA, (uint32_t)k, 0, d->J)) {
        disk_fail(sh, "internal error: the record ring refused a record it had room for");
        return -1;
    }
    d->J += (int64_t)k;
    d->pend_off += k;
    d->pend_n -= k;
    return 1;
}

/* Serve the newest pending seek request, if any. Returns 1 when one was
 * served, 0 when none, -1 when blocked (record ring full: try again). */
static int serve_seek(struct play_disk *d, struct play_seek *held, bool *have)
{
    struct play_shared *sh = d->sh;
    struct play_seek s;
    while (ictal_ring_pop(sh->seeks, &s) == 0) {
        *held = s;
        *have = true;
    }
    if (!*have)
        return 0;
    /* The old pass's data still in the rings is skipped by the RT side,
     * which discards records of older epochs. */
    if (ictal_ring_record_space(sh->recs) < 1)
        return -1;
    d->epoch = held->epoch;
    d->pending_pad = 0;
    int64_t F = held->target < 0 ? 0 : held->target;
    push_rec(d, PLAY_REC_EPOCH, 0, 0, F);
    *have = false;
    if (sh->loop) {
        int64_t r = F % (sh->n_out + 1);
        if (r == sh->n_out) {
            d->pending_pad = 1; /* the pad between passes */
            r = 0;
        }
        pass_begin(d, r);
    } else if (F >= sh->n_out) {
        d->active = true;
        d->J = sh->n_out; /* straight to END */
        d->next_annot = sh->n_annots;
        d->ip_next = d->ip_end = 0;
        d->tail_done = true;
        d->pend_n = 0;
    } else {
        pass_begin(d, F);
    }
    return 1;
}

void *play_disk_thread(void *arg)
{
    struct play_disk *d = arg;
    struct play_shared *sh = d->sh;
    struct play_seek held;
    bool have = false;
    bool failed = false;
    pass_begin(d, 0);
    while (!atomic_load_explicit(&sh->quit, memory_order_acquire)) {
        int progressed = 0;
        if (!failed) {
            int s = serve_seek(d, &held, &have);
            if (s > 0)
                progressed = 1;
            /* produce up to a ring's worth before looking for seeks again */
            for (int i = 0; i < 64 && s >= 0; i++) {
                int r = step(d);
                if (r < 0) {
                    failed = true;
                    break;
                }
                if (r == 0)
                    break;
                progressed = 1;
            }
        }
        if (progressed) {
            play_wake(&sh->data_ready);
            continue;
        }
        if (!atomic_load_explicit(&sh->prefilled, memory_order_relaxed)) {
            atomic_store_explicit(&sh->prefilled, true, memory_order_release);
            play_wake(&sh->main_wake);
        }
        play_wait(&sh->disk_wake, 100);
    }
    return NULL;
}
