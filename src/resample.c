/*
 * resample.c — streaming rate conversion over libsamplerate (see
 * ictal/resample.h). Planar channels are interleaved into scratch buffers
 * sized at creation; src_process() runs with a fixed ratio and
 * end_of_input = 0.
 *
 * Chunk invariance. libsamplerate 0.2.2's sinc and zero-order-hold
 * converters give the same output stream however the input is split. Its
 * linear converter does not: when a src_process() call brings a single frame
 * and the next output lies between the previous call's last frame and this
 * frame, the pre-roll loop (which interpolates from its saved last_value)
 * refuses to run (it asks for 1 + position < frames, i.e. two frames), and
 * the main loop then interpolates from data_in[-channels], one frame *before*
 * the caller's buffer (libsamplerate issue #234, an out-of-bounds read). We
 * keep one spare frame in front of the interleaved input and put there
 * exactly what last_value holds: the last frame of the previous call, or,
 * right after creation/reset, the first frame itself (libsamplerate seeds
 * last_value with data_in[0] then). The main loop then computes the very
 * expression the pre-roll loop would have, so every chunking gives the same
 * samples at the same times, and nothing is read outside our buffer. The
 * other converters never read that frame; keeping it for all is harmless.
 *
 * Allocation. libsamplerate 0.2.2 imports malloc/calloc/free and no lock
 * primitive; src_new/src_clone/src_delete allocate, src_process and
 * src_reset do not (tests/test_resample.c interposes the allocator).
 */
#include "ictal/resample.h"

#include <math.h>
#include <samplerate.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHANNELS 1024
/* Frames per call: keeps every long / size_t product far from overflow. */
#define MAX_IN ((size_t)1 << 24)
/* Zero frames fed to a scratch state at creation before giving up on seeing
 * the first output (the slowest case, sinc_best at ratio 1/256, needs ~36600). */
#define LATENCY_PROBE_MAX ((size_t)1 << 21)

struct ictal_resampler {
    int C;
    double in_rate, out_rate, ratio;  /* ratio = out_rate / in_rate */
    enum ictal_resampler_quality q;
    size_t max_in, latency;
    size_t out_frames;                /* scratch_out capacity, frames */
    SRC_STATE *st;
    float *scratch_in;                /* (1 + max_in, C) interleaved; frame 0 = last_value */
    float *scratch_out;               /* (out_frames, C) interleaved */
    bool have_prev;                   /* scratch_in frame 0 holds the previous call's last frame */
};

static const struct {
    const char *name;
    int src;
} converters[] = {
    [ICTAL_RESAMPLER_SINC_BEST] = {"sinc_best", SRC_SINC_BEST_QUALITY},
    [ICTAL_RESAMPLER_SINC_MEDIUM] = {"sinc_medium", SRC_SINC_MEDIUM_QUALITY},
    [ICTAL_RESAMPLER_SINC_FASTEST] = {"sinc_fastest", SRC_SINC_FASTEST},
    [ICTAL_RESAMPLER_ZERO_ORDER_HOLD] = {"zero_order_hold", SRC_ZERO_ORDER_HOLD},
    [ICTAL_RESAMPLER_LINEAR] = {"linear", SRC_LINEAR},
};
#define N_CONVERTERS (sizeof converters / sizeof converters[0])

static bool quality_ok(enum ictal_resampler_quality q)
{
    return (unsigned)q < N_CONVERTERS;
}

int ictal_resampler_quality_parse(const char *name, enum ictal_resampler_quality *q)
{
    if (!name || !q)
        return ICTAL_EINVAL;
    for (size_t i = 0; i < N_CONVERTERS; i++) {
        if (strcmp(name, converters[i].name) == 0) {
            *q = (enum ictal_resampler_quality)i;
            return 0;
        }
    }
    return ICTAL_EINVAL;
}

const char *ictal_resampler_quality_name(enum ictal_resampler_quality q)
{
    return quality_ok(q) ? converters[q].name : "unknown";
}

/* Output frames n input frames can yield at most. After N input frames the
 * converters have written about N * ratio outputs (less a constant look-ahead
 * for sinc), so n more give at most floor(n * ratio) + 1; one more absorbs
 * libsamplerate's rounding of its running position. */
static size_t out_bound(double ratio, size_t n)
{
    return n == 0 ? 0 : (size_t)ceil((double)n * ratio) + 2;
}

size_t ictal_resampler_max_out(const struct ictal_resampler *r, size_t n_in)
{
    return r ? out_bound(r->ratio, n_in) : 0;
}

size_t ictal_resampler_latency(const struct ictal_resampler *r)
{
    return r ? r->latency : 0;
}

/* One src_process() call on n interleaved frames at scratch_in + C (frame 0
 * of scratch_in already holds last_value). Returns frames written to
 * scratch_out, or -1 if libsamplerate failed or did not take all input. */
static long run_src(SRC_STATE *st, double ratio, const float *in, long n, float *out, long out_cap)
{
    SRC_DATA d;
    memset(&d, 0, sizeof d);
    d.data_in = in;
    d.input_frames = n;
    d.data_out = out;
    d.output_frames = out_cap;
    d.end_of_input = 0;
    d.src_ratio = ratio;
    if (src_process(st, &d) != 0 || d.input_frames_used != n)
        return -1;
    return d.output_frames_gen;
}

/* Latency (see resample.h): on a one-channel scratch state of the same
 * converter and ratio, feed zero frames one at a time until the first output
 * sample (output 0, input time 0) appears. The index of the input sample whose
 * call wrote it is how many input samples beyond an output's own time must be
 * consumed before that output is written; output 0 attains the maximum, as
 * its time is an exact input sample. */
static int measure_latency(int src_type, double ratio, size_t *latency, struct ictal_error *err)
{
    int e = 0;
    SRC_STATE *st = src_new(src_type, 1, &e);
    if (!st)
        return ictal_error_set(err, ICTAL_ENOMEM, "resampler: src_new failed: %s", src_strerror(e));
    float in[2] = {0.0f, 0.0f}; /* in[0]: last_value, see the top of this file */
    float out[300];             /* one input frame yields at most 256 outputs */
    int rc = 0;
    size_t k = 0;
    for (; k < LATENCY_PROBE_MAX; k++) {
        long got = run_src(st, ratio, in + 1, 1, out, (long)(sizeof out / sizeof out[0]));
        if (got < 0) {
            rc = ictal_error_set(err, ICTAL_EINVAL, "resampler: libsamplerate failed while measuring latency");
            break;
        }
        if (got > 0)
            break;
    }
    if (rc == 0 && k == LATENCY_PROBE_MAX)
        rc = ictal_error_set(err, ICTAL_EINVAL,
                             "resampler: no output after %zu input samples while measuring latency",
                             LATENCY_PROBE_MAX);
    if (rc == 0)
        *latency = k;
    src_delete(st);
    return rc;
}

void ictal_resampler_destroy(struct ictal_resampler *r)
{
    if (!r)
        return;
    if (r->st)
        src_delete(r->st);
    free(r->scratch_in);
    free(r->scratch_out);
    free(r);
}

/* The object and its scratch, without a libsamplerate state. */
static struct ictal_resampler *rs_alloc(int C, double in_rate, double out_rate,
                                        enum ictal_resampler_quality q, size_t max_in,
                                        struct ictal_error *err)
{
    struct ictal_resampler *r = calloc(1, sizeof *r);
    if (!r) {
        ictal_error_set(err, ICTAL_ENOMEM, "resampler: cannot allocate the object");
        return NULL;
    }
    r->C = C;
    r->in_rate = in_rate;
    r->out_rate = out_rate;
    r->ratio = out_rate / in_rate;
    r->q = q;
    r->max_in = max_in;
    r->out_frames = out_bound(r->ratio, max_in);
    r->scratch_in = calloc((max_in + 1) * (size_t)C, sizeof(float));
    r->scratch_out = calloc(r->out_frames * (size_t)C, sizeof(float));
    if (!r->scratch_in || !r->scratch_out) {
        ictal_error_set(err, ICTAL_ENOMEM, "resampler: cannot allocate %zu + %zu frames of scratch",
                        max_in + 1, r->out_frames);
        ictal_resampler_destroy(r);
        return NULL;
    }
    return r;
}

struct ictal_resampler *ictal_resampler_create(int n_channels, double in_rate, double out_rate,
                                               enum ictal_resampler_quality q, size_t max_in,
                                               struct ictal_error *err)
{
    if (n_channels < 1 || n_channels > MAX_CHANNELS) {
        ictal_error_set(err, ICTAL_EINVAL, "resampler: n_channels %d is not within 1..%d", n_channels,
                        MAX_CHANNELS);
        return NULL;
    }
    if (!isfinite(in_rate) || in_rate <= 0.0) {
        ictal_error_set(err, ICTAL_EINVAL, "resampler: in_rate %g Hz must be positive", in_rate);
        return NULL;
    }
    if (!isfinite(out_rate) || out_rate <= 0.0) {
        ictal_error_set(err, ICTAL_EINVAL, "resampler: out_rate %g Hz must be positive", out_rate);
        return NULL;
    }
    double ratio = out_rate / in_rate;
    if (!src_is_valid_ratio(ratio)) {
        ictal_error_set(err, ICTAL_EINVAL,
                        "resampler: ratio out_rate/in_rate = %g/%g = %g is outside libsamplerate's 1/256..256",
                        out_rate, in_rate, ratio);
        return NULL;
    }
    if (!quality_ok(q)) {
        ictal_error_set(err, ICTAL_EINVAL, "resampler: unknown converter %d", (int)q);
        return NULL;
    }
    if (max_in < 1 || max_in > MAX_IN) {
        ictal_error_set(err, ICTAL_EINVAL, "resampler: max_in %zu is not within 1..%zu", max_in, MAX_IN);
        return NULL;
    }
    size_t latency = 0;
    if (measure_latency(converters[q].src, ratio, &latency, err) != 0)
        return NULL;
    struct ictal_resampler *r = rs_alloc(n_channels, in_rate, out_rate, q, max_in, err);
    if (!r)
        return NULL;
    r->latency = latency;
    int e = 0;
    r->st = src_new(converters[q].src, n_channels, &e);
    if (!r->st) {
        ictal_error_set(err, ICTAL_ENOMEM, "resampler: src_new(%s, %d channels) failed: %s",
                        converters[q].name, n_channels, src_strerror(e));
        ictal_resampler_destroy(r);
        return NULL;
    }
    ictal_error_clear(err);
    return r;
}

int ictal_resampler_process(struct ictal_resampler *r, const float *const *in, size_t n,
                            float *const *out, size_t cap, size_t *n_out)
{
    if (n_out)
        *n_out = 0;
    if (!r || !n_out || (n > 0 && (!in || !out)))
        return ICTAL_EINVAL;
    if (n == 0)
        return 0;
    if (n > r->max_in || cap < out_bound(r->ratio, n))
        return ICTAL_ERANGE;
    const size_t C = (size_t)r->C;
    float *x = r->scratch_in + C; /* frame 0 of the call */
    for (size_t c = 0; c < C; c++) {
        const float *src = in[c];
        for (size_t i = 0; i < n; i++)
            x[i * C + c] = src[i];
    }
    if (!r->have_prev)
        memcpy(r->scratch_in, x, C * sizeof(float));
    long got = run_src(r->st, r->ratio, x, (long)n, r->scratch_out, (long)r->out_frames);
    /* Keep what libsamplerate now holds as last_value for the next call. */
    memcpy(r->scratch_in, x + (n - 1) * C, C * sizeof(float));
    r->have_prev = true;
    if (got < 0)
        return ICTAL_ESTATE; /* cannot happen with a valid state and these buffer sizes */
    size_t m = (size_t)got;
    if (m > cap)
        return ICTAL_ESTATE; /* out_bound() is wrong: never write past the caller's buffers */
    const float *y = r->scratch_out;
    for (size_t c = 0; c < C; c++) {
        float *dst = out[c];
        for (size_t j = 0; j < m; j++)
            dst[j] = y[j * C + c];
    }
    *n_out = m;
    return 0;
}

void ictal_resampler_reset(struct ictal_resampler *r)
{
    if (!r)
        return;
    src_reset(r->st);
    r->have_prev = false;
}

static bool same_config(const struct ictal_resampler *a, const struct ictal_resampler *b)
{
    return a->C == b->C && a->in_rate == b->in_rate && a->out_rate == b->out_rate && a->q == b->q;
}

int ictal_resampler_copy_state(struct ictal_resampler *dst, const struct ictal_resampler *src,
                               struct ictal_error *err)
{
    if (!dst || !src)
        return ictal_error_set(err, ICTAL_EINVAL, "resampler: copy_state with a NULL resampler");
    if (dst == src)
        return 0;
    if (!same_config(dst, src))
        return ictal_error_set(err, ICTAL_EINVAL,
                               "resampler: copy_state between different configurations "
                               "(%d ch %g->%g Hz %s vs %d ch %g->%g Hz %s)",
                               src->C, src->in_rate, src->out_rate, converters[src->q].name, dst->C,
                               dst->in_rate, dst->out_rate, converters[dst->q].name);
    int e = 0;
    /* src_clone takes a non-const state but only reads it. */
    SRC_STATE *st = src_clone(src->st, &e);
    if (!st)
        return ictal_error_set(err, ICTAL_ENOMEM, "resampler: src_clone failed: %s", src_strerror(e));
    src_delete(dst->st);
    dst->st = st;
    memcpy(dst->scratch_in, src->scratch_in, (size_t)src->C * sizeof(float));
    dst->have_prev = src->have_prev;
    ictal_error_clear(err);
    return 0;
}

struct ictal_resampler *ictal_resampler_clone(const struct ictal_resampler *r, struct ictal_error *err)
{
    if (!r) {
        ictal_error_set(err, ICTAL_EINVAL, "resampler: clone of a NULL resampler");
        return NULL;
    }
    struct ictal_resampler *c = rs_alloc(r->C, r->in_rate, r->out_rate, r->q, r->max_in, err);
    if (!c)
        return NULL;
    c->latency = r->latency;
    int e = 0;
    c->st = src_clone(r->st, &e);
    if (!c->st) {
        ictal_error_set(err, ICTAL_ENOMEM, "resampler: src_clone failed: %s", src_strerror(e));
        ictal_resampler_destroy(c);
        return NULL;
    }
    memcpy(c->scratch_in, r->scratch_in, (size_t)r->C * sizeof(float));
    c->have_prev = r->have_prev;
    ictal_error_clear(err);
    return c;
}
