/*
 * prefilter.c — the pre-filter (see ictal/prefilter.h): Butterworth
 * high/low/band-pass and RBJ notch stages as a cascade of biquads per
 * channel, run in transposed direct form II with double state.
 *
 * Butterworth of order N: the analog prototype's poles come in conjugate
 * pairs s^2 + a_k s + 1, a_k = -2 cos(pi (2k + N + 1) / (2N)), plus s + 1 for
 * odd N. The bilinear transform with pre-warping maps the cut-off exactly:
 * with K = tan(pi f / fs), s -> (1/K) (1 - z^-1) / (1 + z^-1), so the digital
 * response at f is the analog one at 1 rad/s (-3.01 dB for every order).
 *
 * Band-pass: a high-pass of the lower edge cascaded with a low-pass of the
 * upper edge, each of the stage's order (so 2 * ceil(N/2) sections). Unlike
 * the classical low-pass -> band-pass transform this keeps each edge's
 * Butterworth shape and slope independent of the band width; with the edges
 * far apart (EEG: 0.5..40 Hz) each edge is -3.01 dB, for a narrow band the
 * two skirts overlap and the edges sit lower.
 *
 * Run: every sample goes through all sections of its channel in double, then
 * is rounded to float once; the same operations in the same order for any
 * chunking, so outputs are bit-identical however the input is split.
 */
#include "ictal/prefilter.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define STATE_MAGIC 0x6963746c70666c31ull /* "ictlpfl1" */
#define MAX_CHANNELS 1024
#define DEFAULT_ORDER 2
#define DEFAULT_Q 30.0
#define MAX_ORDER 8

struct pf_hdr {
    uint64_t magic, n_channels, n_sections, fingerprint;
};

struct ictal_prefilter {
    int C, n_sec;
    double fs;
    struct ictal_biquad sec[ICTAL_PREFILTER_MAX_SECTIONS];
    unsigned char *arena;   /* pf_hdr, then state (C, n_sec, 2) doubles */
    size_t arena_bytes;
    struct pf_hdr *hdr;
    double *state;
};

enum stage_kind { K_HIGHPASS, K_LOWPASS, K_BANDPASS, K_NOTCH, K_UNKNOWN };

static enum stage_kind kind_of(const char *type)
{
    static const char *const names[] = {"highpass", "lowpass", "bandpass", "notch"};
    for (int i = 0; i < 4; i++) {
        if (strncmp(type, names[i], sizeof((struct ictal_model_filter *)0)->type) == 0)
            return (enum stage_kind)i;
    }
    return K_UNKNOWN;
}

/* The stage's type as printable text (it may lack a NUL). */
static void type_text(const struct ictal_model_filter *st, char *out, size_t cap)
{
    size_t n = 0, max = sizeof st->type;
    while (n < max && st->type[n] != '\0' && n + 1 < cap) {
        char ch = st->type[n];
        out[n++] = ch >= 0x20 && ch < 0x7f ? ch : '?';
    }
    out[n] = '\0';
}

/* Butterworth sections of one edge: high-pass (hp = 1) or low-pass at f. */
static void butterworth(int order, double f, double fs, int hp, struct ictal_biquad *out, int *n)
{
    const double K = tan(M_PI * f / fs), K2 = K * K;
    if (order % 2) {
        /* s + 1 */
        const double norm = 1.0 + K;
        struct ictal_biquad b = {0};
        b.b0 = hp ? 1.0 / norm : K / norm;
        b.b1 = hp ? -b.b0 : b.b0;
        b.a1 = (K - 1.0) / norm;
        out[(*n)++] = b;
    }
    /* Pairs from the most to the least damped (lowest Q first). */
    for (int k = order / 2 - 1; k >= 0; k--) {
        const double a = -2.0 * cos(M_PI * (2.0 * k + order + 1.0) / (2.0 * order));
        const double norm = 1.0 + a * K + K2;
        struct ictal_biquad b;
        if (hp) {
            b.b0 = 1.0 / norm;
            b.b1 = -2.0 / norm;
        } else {
            b.b0 = K2 / norm;
            b.b1 = 2.0 * K2 / norm;
        }
        b.b2 = b.b0;
        b.a1 = 2.0 * (K2 - 1.0) / norm;
        b.a2 = (1.0 - a * K + K2) / norm;
        out[(*n)++] = b;
    }
}

int ictal_prefilter_design(const struct ictal_model_filter *stage, double fs,
                           struct ictal_biquad *sec, int *n, int cap, struct ictal_error *err)
{
    if (!stage || !sec || !n || *n < 0 || cap < *n)
        return ictal_error_set(err, ICTAL_EINVAL, "prefilter: design called with invalid arguments");
    char tname[sizeof stage->type + 1];
    type_text(stage, tname, sizeof tname);
    if (!isfinite(fs) || fs <= 0.0)
        return ictal_error_set(err, ICTAL_EINVAL, "prefilter: %s stage: sample rate %g Hz must be positive",
                               tname, fs);
    const enum stage_kind kind = kind_of(stage->type);
    if (kind == K_UNKNOWN)
        return ictal_error_set(err, ICTAL_EINVAL,
                               "prefilter: stage type \"%s\" is not highpass, lowpass, bandpass or notch",
                               tname);
    const double f = stage->freq_hz, nyq = fs / 2.0;
    if (!isfinite(f) || f <= 0.0 || f >= nyq)
        return ictal_error_set(err, ICTAL_EINVAL,
                               "prefilter: %s stage: freq_hz %g must be within 0 < f < fs/2 = %g Hz", tname,
                               f, nyq);
    if (kind == K_BANDPASS) {
        const double f2 = stage->freq2_hz;
        if (!isfinite(f2) || f2 <= f || f2 >= nyq)
            return ictal_error_set(err, ICTAL_EINVAL,
                                   "prefilter: bandpass stage: freq2_hz %g must be within freq_hz %g < f2 < "
                                   "fs/2 = %g Hz",
                                   f2, f, nyq);
    }
    if (kind == K_NOTCH) {
        const double q = stage->q == 0.0 ? DEFAULT_Q : stage->q;
        if (!isfinite(q) || q <= 0.0)
            return ictal_error_set(err, ICTAL_EINVAL, "prefilter: notch stage at %g Hz: q %g must be > 0", f,
                                   stage->q);
        if (cap - *n < 1)
            return ictal_error_set(err, ICTAL_ERANGE,
                                   "prefilter: notch stage at %g Hz: more than %d sections in all", f, cap);
        /* RBJ Audio EQ Cookbook notch, normalised by a0. */
        const double w0 = 2.0 * M_PI * f / fs, cw = cos(w0), alpha = sin(w0) / (2.0 * q);
        const double a0 = 1.0 + alpha;
        struct ictal_biquad b;
        b.b0 = 1.0 / a0;
        b.b1 = -2.0 * cw / a0;
        b.b2 = 1.0 / a0;
        b.a1 = -2.0 * cw / a0;
        b.a2 = (1.0 - alpha) / a0;
        sec[(*n)++] = b;
        return 0;
    }
    const int order = stage->order == 0 ? DEFAULT_ORDER : stage->order;
    if (order < 1 || order > MAX_ORDER)
        return ictal_error_set(err, ICTAL_EINVAL, "prefilter: %s stage at %g Hz: order %d is not within 1..%d",
                               tname, f, stage->order, MAX_ORDER);
    const int per_edge = (order + 1) / 2;
    const int need = kind == K_BANDPASS ? 2 * per_edge : per_edge;
    if (cap - *n < need)
        return ictal_error_set(err, ICTAL_ERANGE,
                               "prefilter: %s stage at %g Hz: its %d sections exceed %d in all", tname, f, need,
                               cap);
    if (kind == K_LOWPASS)
        butterworth(order, f, fs, 0, sec, n);
    else
        butterworth(order, f, fs, 1, sec, n);
    if (kind == K_BANDPASS)
        butterworth(order, stage->freq2_hz, fs, 0, sec, n);
    return 0;
}

double ictal_prefilter_gain(const struct ictal_biquad *sec, int n, double f, double fs)
{
    /* |B(e^jw)| / |A(e^jw)| per section, with z^-1 = cos w - j sin w. */
    const double w = 2.0 * M_PI * f / fs;
    const double c1 = cos(w), s1 = sin(w), c2 = cos(2.0 * w), s2 = sin(2.0 * w);
    double g = 1.0;
    for (int i = 0; i < n; i++) {
        const struct ictal_biquad *b = &sec[i];
        const double br = b->b0 + b->b1 * c1 + b->b2 * c2, bi = -(b->b1 * s1 + b->b2 * s2);
        const double ar = 1.0 + b->a1 * c1 + b->a2 * c2, ai = -(b->a1 * s1 + b->a2 * s2);
        g *= sqrt((br * br + bi * bi) / (ar * ar + ai * ai));
    }
    return g;
}

/* FNV-1a over the coefficients' bits: a state image only fits this design. */
static uint64_t fingerprint(const struct ictal_biquad *sec, int n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *p = (const unsigned char *)sec;
    for (size_t i = 0; i < (size_t)n * sizeof *sec; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

struct ictal_prefilter *ictal_prefilter_create(const struct ictal_model_filter *stages, int n_stages,
                                               int n_channels, double fs, struct ictal_error *err)
{
    if (n_channels < 1 || n_channels > MAX_CHANNELS) {
        ictal_error_set(err, ICTAL_EINVAL, "prefilter: n_channels %d is not within 1..%d", n_channels,
                        MAX_CHANNELS);
        return NULL;
    }
    if (!isfinite(fs) || fs <= 0.0) {
        ictal_error_set(err, ICTAL_EINVAL, "prefilter: sample rate %g Hz must be positive", fs);
        return NULL;
    }
    if (n_stages < 0 || (n_stages > 0 && !stages)) {
        ictal_error_set(err, ICTAL_EINVAL, "prefilter: %d stages%s", n_stages,
                        n_stages > 0 ? " but no stage array" : "");
        return NULL;
    }
    struct ictal_prefilter *f = calloc(1, sizeof *f);
    if (!f) {
        ictal_error_set(err, ICTAL_ENOMEM, "prefilter: cannot allocate the object");
        return NULL;
    }
    f->C = n_channels;
    f->fs = fs;
    for (int i = 0; i < n_stages; i++) {
        struct ictal_error e;
        ictal_error_clear(&e);
        int rc = ictal_prefilter_design(&stages[i], fs, f->sec, &f->n_sec, ICTAL_PREFILTER_MAX_SECTIONS, &e);
        if (rc != 0) {
            /* design() names the stage by type; add which one it is. */
            const char *msg = strncmp(e.msg, "prefilter: ", 11) == 0 ? e.msg + 11 : e.msg;
            ictal_error_set(err, rc, "prefilter: stage %d of %d: %s", i + 1, n_stages, msg);
            free(f);
            return NULL;
        }
    }
    f->arena_bytes = sizeof(struct pf_hdr) + (size_t)n_channels * (size_t)f->n_sec * 2 * sizeof(double);
    f->arena = calloc(1, f->arena_bytes);
    if (!f->arena) {
        ictal_error_set(err, ICTAL_ENOMEM, "prefilter: cannot allocate %zu bytes of state", f->arena_bytes);
        free(f);
        return NULL;
    }
    f->hdr = (struct pf_hdr *)(void *)f->arena;
    f->state = (double *)(void *)(f->arena + sizeof(struct pf_hdr));
    f->hdr->magic = STATE_MAGIC;
    f->hdr->n_channels = (uint64_t)n_channels;
    f->hdr->n_sections = (uint64_t)f->n_sec;
    f->hdr->fingerprint = fingerprint(f->sec, f->n_sec);
    ictal_error_clear(err);
    return f;
}

void ictal_prefilter_destroy(struct ictal_prefilter *f)
{
    if (!f)
        return;
    free(f->arena);
    free(f);
}

int ictal_prefilter_sections(const struct ictal_prefilter *f, const struct ictal_biquad **sec)
{
    if (!f) {
        if (sec)
            *sec = NULL;
        return 0;
    }
    if (sec)
        *sec = f->sec;
    return f->n_sec;
}

void ictal_prefilter_process(struct ictal_prefilter *f, float *const *buf, size_t n)
{
    if (!f || !buf || f->n_sec == 0)
        return;
    const int S = f->n_sec;
    for (int c = 0; c < f->C; c++) {
        float *x = buf[c];
        double *st = f->state + (size_t)c * (size_t)S * 2; /* (S, 2): s1, s2 per section */
        for (size_t i = 0; i < n; i++) {
            double v = x[i];
            for (int k = 0; k < S; k++) {
                const struct ictal_biquad *b = &f->sec[k];
                double *s = st + 2 * k;
                /* Transposed direct form II. */
                const double y = b->b0 * v + s[0];
                s[0] = b->b1 * v - b->a1 * y + s[1];
                s[1] = b->b2 * v - b->a2 * y;
                v = y;
            }
            x[i] = (float)v;
        }
    }
}

void ictal_prefilter_reset(struct ictal_prefilter *f)
{
    if (!f)
        return;
    memset(f->state, 0, f->arena_bytes - sizeof(struct pf_hdr));
}

size_t ictal_prefilter_state_size(const struct ictal_prefilter *f)
{
    return f ? f->arena_bytes : 0;
}

int ictal_prefilter_state_save(const struct ictal_prefilter *f, void *buf, size_t cap)
{
    if (!f || !buf)
        return ICTAL_EINVAL;
    if (cap < f->arena_bytes)
        return ICTAL_ERANGE;
    memcpy(buf, f->arena, f->arena_bytes);
    return 0;
}

int ictal_prefilter_state_load(struct ictal_prefilter *f, const void *buf, size_t len)
{
    if (!f || !buf || len != f->arena_bytes)
        return ICTAL_EINVAL;
    struct pf_hdr h;
    memcpy(&h, buf, sizeof h);
    if (h.magic != f->hdr->magic || h.n_channels != f->hdr->n_channels || h.n_sections != f->hdr->n_sections ||
        h.fingerprint != f->hdr->fingerprint)
        return ICTAL_EINVAL;
    memcpy(f->arena, buf, len);
    return 0;
}
