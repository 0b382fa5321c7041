/*
 * pipeline.c — the whole detection pipeline for one stream (see
 * ictal/pipeline.h and docs/pipeline.md):
 *
 *   in[c] ─copy─▶ x (planar scratch) ─guard (in place)─▶ ─resampler─▶ y
 *         ─prefilter (in place)─▶ ─engine─▶ prob, scores ─frame flags,
 *         masked scores zeroed─▶ postproc (one frame at a time) ─▶ records
 *
 * Chunk invariance. Work is cut into spans that never cross a guard block
 * end (quality flags and the channel mask change exactly there) nor the
 * first non-finite sample of a block (the SCRUBBED frame flag switches on
 * there), so every frame is produced under the same flags, mask and state
 * whatever the caller's chunking. Every stage is itself chunk-invariant, and
 * libsamplerate's output count after N input samples depends on N alone.
 *
 * Real time. Everything is allocated in create (scratch sized for max_block
 * input samples); process/gap/flush/reset/mark_xrun allocate nothing, lock
 * nothing and make no system call. They flush denormals on entry and
 * restore the caller's setting on exit, so ictal-run and ictal-detect
 * compute with the same floating-point environment.
 */
#include "ictal/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/blas.h"
#include "ictal/prefilter.h"

#define MAX_CHANNELS 1024
/* Largest max_block: the resampler's own limit, and far beyond any period. */
#define MAX_BLOCK ((size_t)1 << 24)

/* The pipeline's own state (beyond its stages'): plain data, so a snapshot
 * copies it whole. */
struct pstate {
    uint64_t input_samples, gap_samples, model_samples, frames;
    uint64_t records[4];
    uint64_t no_decision_frames;
    int good_channels;
    int bad_channel;    /* some channel is masked out for its quality flags */
    int no_decision;    /* fewer good channels than min_good_channels */
    int xrun_pending;   /* mark_xrun(): flag the next frame */
    int flushed;
};

struct ictal_pipeline {
    const struct ictal_model *m;
    const struct ictal_model_info *info;
    struct ictal_pipeline_config cfg; /* guard/postproc n_channels and rate filled in */
    int C;
    double model_rate, frame_rate;
    int64_t hop;
    int64_t W, H;                     /* windowed mode: window and step (0: streaming) */
    int64_t shift;                    /* frame k describes model sample k*hop - shift */
    uint64_t tag;                     /* configuration hash, checked by snapshot restore */

    struct ictal_guard *guard;
    struct ictal_resampler *rs;       /* NULL when input_rate == model rate */
    struct ictal_prefilter *pre;
    struct ictal_engine *eng;
    struct ictal_postproc *pp;
    double rs_latency_s;              /* resampler look-ahead, input seconds */

    size_t ms_cap;                    /* model samples one span can yield */
    size_t eng_cap;                   /* engine frames one span can yield */
    float **x;                        /* (C) -> (max_block) planar input copy, scrubbed in place */
    float **y;                        /* (C) -> (ms_cap) model rate; == x without conversion */
    float *prob;                      /* (eng_cap) */
    float *scores;                    /* (eng_cap, C) */

    struct pstate st;
    float *last;                      /* (C) latest input sample after the guard (gap()) */
    unsigned *quality;                /* (C) flags as last applied */
    unsigned char *active;            /* (C) engine mask */

    /* per call */
    const struct ictal_event_sink *sink;
    struct ictal_pipeline_frames *out;
    int in_flush;
    struct ictal_event_sink pp_sink;  /* postproc -> on_record */
};

struct ictal_pipeline_snapshot {
    uint64_t tag;
    int C;
    size_t n_guard, n_pre, n_eng, n_pp;
    unsigned char *guard, *pre, *eng, *pp; /* state images */
    struct pstate st;
    float *last;
    unsigned *quality;
    unsigned char *active;
    struct ictal_resampler *rs;       /* clone (rate conversion only) */
    void *mem;                        /* one block behind every array above */
};

/* ------------------------------------------------------------ configuration */

/* key = v printed with `digits` significant digits (9 round-trips a float,
 * 17 a double). */
static void put_pair(char (*buf)[32], const char **pairs, size_t *n, const char *key, int digits, double v)
{
    snprintf(buf[*n / 2], sizeof buf[0], "%.*g", digits, v);
    pairs[*n] = key;
    pairs[*n + 1] = buf[*n / 2];
    *n += 2;
}

/* The first stage of a type, or NULL. */
static const struct ictal_model_filter *stage(const struct ictal_model_info *in, const char *type)
{
    for (int i = 0; i < in->n_filters; i++)
        if (strcmp(in->filters[i].type, type) == 0)
            return &in->filters[i];
    return NULL;
}

int ictal_pipeline_model_defaults(struct ictal_config *cfg, const struct ictal_model *m, const char *source)
{
    if (!cfg || !m)
        return ICTAL_EINVAL;
    const struct ictal_model_info *in = ictal_model_info(m);
    const struct ictal_model_postproc *pp = &in->postproc;
    const char *pairs[2 * 16];
    char buf[16][32];
    size_t n = 0;
    put_pair(buf, pairs, &n, "postproc.threshold_on", 17, pp->threshold_on);
    put_pair(buf, pairs, &n, "postproc.threshold_off", 17, pp->threshold_off);
    put_pair(buf, pairs, &n, "postproc.n_on", 17, (double)pp->n_on);
    put_pair(buf, pairs, &n, "postproc.n_off", 17, (double)pp->n_off);
    put_pair(buf, pairs, &n, "postproc.opening", 17, pp->opening);
    put_pair(buf, pairs, &n, "postproc.closing", 17, pp->closing);
    put_pair(buf, pairs, &n, "postproc.min_duration", 17, pp->min_duration);
    put_pair(buf, pairs, &n, "postproc.merge_gap", 17, pp->merge_gap);
    put_pair(buf, pairs, &n, "postproc.max_duration", 17, pp->max_duration);
    put_pair(buf, pairs, &n, "postproc.confidence_percentile", 17, pp->confidence_percentile);
    pairs[n++] = "postproc.confidence";
    pairs[n++] = pp->confidence;
    /* The pre-filter: a band-pass stage gives both corners. */
    const struct ictal_model_filter *hp = stage(in, "highpass"), *lp = stage(in, "lowpass");
    const struct ictal_model_filter *bp = stage(in, "bandpass"), *no = stage(in, "notch");
    double f_hp = hp ? hp->freq_hz : bp ? bp->freq_hz : 0.0;
    double f_lp = lp ? lp->freq_hz : bp ? bp->freq2_hz : 0.0;
    put_pair(buf, pairs, &n, "pipeline.highpass", 17, f_hp);
    put_pair(buf, pairs, &n, "pipeline.lowpass", 17, f_lp);
    put_pair(buf, pairs, &n, "pipeline.notch", 17, no ? no->freq_hz : 0.0);
    if (no && no->q > 0.0) /* else the key's own default (30, as the pre-filter's) */
        put_pair(buf, pairs, &n, "pipeline.notch_q", 17, no->q);
    return ictal_config_set_model_defaults(cfg, source ? source : "model", pairs, n / 2);
}

/* The pre-filter from [pipeline] highpass/lowpass/notch/notch_q: the model's
 * stages in the model's order with the configured corners (a band-pass stage
 * stays one when both corners are set), then the configured stages the model
 * does not have (high-pass, notch, low-pass). Orders are the model's, else 2.
 * Stages a key cannot express (a second notch) are kept as the model has them. */
static int build_filters(struct ictal_pipeline_config *pc, const struct ictal_model_info *in, double f_hp,
                         double f_lp, double f_notch, double q, struct ictal_error *err)
{
    const double nyq = in->sample_rate / 2.0;
    if (f_hp > 0.0 && !(f_hp < nyq))
        return ictal_error_set(err, ICTAL_EINVAL,
                               "pipeline.highpass = %g Hz is not below the model's Nyquist frequency %g Hz", f_hp,
                               nyq);
    if (f_lp > 0.0 && !(f_lp < nyq))
        return ictal_error_set(err, ICTAL_EINVAL,
                               "pipeline.lowpass = %g Hz is not below the model's Nyquist frequency %g Hz", f_lp, nyq);
    if (f_notch > 0.0 && !(f_notch < nyq))
        return ictal_error_set(err, ICTAL_EINVAL,
                               "pipeline.notch = %g Hz is not below the model's Nyquist frequency %g Hz", f_notch,
                               nyq);
    int done_hp = !(f_hp > 0.0), done_lp = !(f_lp > 0.0), done_no = !(f_notch > 0.0);
    int ord_hp = 2, ord_lp = 2, n = 0;
    struct ictal_model_filter *out = pc->filters;
    for (int i = 0; i < in->n_filters; i++) {
        const struct ictal_model_filter *s = &in->filters[i];
        struct ictal_model_filter f;
        memset(&f, 0, sizeof f);
        int ord = s->order > 0 ? s->order : 2;
        if (strcmp(s->type, "highpass") == 0) {
            ord_hp = ord;
            if (done_hp)
                continue;
            snprintf(f.type, sizeof f.type, "highpass");
            f.freq_hz = f_hp;
            f.order = ord;
            done_hp = 1;
        } else if (strcmp(s->type, "lowpass") == 0) {
            ord_lp = ord;
            if (done_lp)
                continue;
            snprintf(f.type, sizeof f.type, "lowpass");
            f.freq_hz = f_lp;
            f.order = ord;
            done_lp = 1;
        } else if (strcmp(s->type, "notch") == 0) {
            if (done_no) {
                if (!(f_notch > 0.0) || s == stage(in, "notch"))
                    continue;
                f = *s; /* a further notch (a harmonic): no key names it, keep it while the notch is on */
            } else {
                snprintf(f.type, sizeof f.type, "notch");
                f.freq_hz = f_notch;
                f.q = q;
                done_no = 1;
            }
        } else if (strcmp(s->type, "bandpass") == 0) {
            ord_hp = ord_lp = ord;
            if (!done_hp && !done_lp) {
                snprintf(f.type, sizeof f.type, "bandpass");
                f.freq_hz = f_hp;
                f.freq2_hz = f_lp;
                f.order = ord;
                done_hp = done_lp = 1;
            } else if (!done_hp) {
                snprintf(f.type, sizeof f.type, "highpass");
                f.freq_hz = f_hp;
                f.order = ord;
                done_hp = 1;
            } else if (!done_lp) {
                snprintf(f.type, sizeof f.type, "lowpass");
                f.freq_hz = f_lp;
                f.order = ord;
                done_lp = 1;
            } else {
                continue;
            }
        } else {
            continue;
        }
        if (n >= ICTAL_MODEL_MAX_FILTERS)
            return ictal_error_set(err, ICTAL_ERANGE, "pipeline: more than %d pre-filter stages",
                                   ICTAL_MODEL_MAX_FILTERS);
        out[n++] = f;
    }
    struct ictal_model_filter f;
    if (n + !done_hp + !done_no + !done_lp > ICTAL_MODEL_MAX_FILTERS)
        return ictal_error_set(err, ICTAL_ERANGE, "pipeline: more than %d pre-filter stages",
                               ICTAL_MODEL_MAX_FILTERS);
    if (!done_hp) {
        memset(&f, 0, sizeof f);
        snprintf(f.type, sizeof f.type, "highpass");
        f.freq_hz = f_hp;
        f.order = ord_hp;
        out[n++] = f;
    }
    if (!done_no) {
        memset(&f, 0, sizeof f);
        snprintf(f.type, sizeof f.type, "notch");
        f.freq_hz = f_notch;
        f.q = q;
        out[n++] = f;
    }
    if (!done_lp) {
        memset(&f, 0, sizeof f);
        snprintf(f.type, sizeof f.type, "lowpass");
        f.freq_hz = f_lp;
        f.order = ord_lp;
        out[n++] = f;
    }
    pc->n_filters = n;
    return 0;
}

int ictal_pipeline_config_from(struct ictal_pipeline_config *pc, const struct ictal_config *cfg,
                               const struct ictal_model *m, int n_channels, double input_rate, size_t max_block,
                               struct ictal_error *err)
{
    if (!pc || !cfg || !m)
        return ictal_error_set(err, ICTAL_EINVAL, "pipeline: config_from with a NULL argument");
    const struct ictal_model_info *in = ictal_model_info(m);
    memset(pc, 0, sizeof *pc);
    pc->n_channels = n_channels;
    pc->input_rate = input_rate;
    pc->max_block = max_block;

    pc->guard.n_channels = n_channels;
    pc->guard.rate = input_rate;
    pc->guard.flat_uv = ictal_config_get_double(cfg, "pipeline", "flat_uv");
    pc->guard.flat_duration = ictal_config_get_double(cfg, "pipeline", "flat_duration");
    pc->guard.clip_uv = ictal_config_get_double(cfg, "pipeline", "clip_uv");
    pc->guard.implausible_uv = ictal_config_get_double(cfg, "pipeline", "implausible_uv");
    pc->mask_bad_channels = ictal_config_get_bool(cfg, "pipeline", "mask_bad_channels");
    pc->min_good_channels = (int)ictal_config_get_int(cfg, "pipeline", "min_good_channels");

    const char *rs = ictal_config_get_string(cfg, "pipeline", "resampler");
    if (ictal_resampler_quality_parse(rs, &pc->resampler) != 0)
        return ictal_error_set(err, ICTAL_EINVAL, "pipeline.resampler = \"%s\" is not a libsamplerate converter",
                               rs ? rs : "(unset)");
    int rc = build_filters(pc, in, ictal_config_get_double(cfg, "pipeline", "highpass"),
                           ictal_config_get_double(cfg, "pipeline", "lowpass"),
                           ictal_config_get_double(cfg, "pipeline", "notch"),
                           ictal_config_get_double(cfg, "pipeline", "notch_q"), err);
    if (rc < 0)
        return rc;
    pc->gemm = ICTAL_ENGINE_GEMM_BUILTIN;

    const double fr = in->frame_rate;
    struct ictal_postproc_config *pp = &pc->postproc;
    pp->threshold_on = (float)ictal_config_get_double(cfg, "postproc", "threshold_on");
    pp->threshold_off = (float)ictal_config_get_double(cfg, "postproc", "threshold_off");
    pp->n_on = (int)ictal_config_get_int(cfg, "postproc", "n_on");
    pp->n_off = (int)ictal_config_get_int(cfg, "postproc", "n_off");
    pp->opening = ictal_postproc_frames(ictal_config_get_double(cfg, "postproc", "opening"), fr);
    pp->closing = ictal_postproc_frames(ictal_config_get_double(cfg, "postproc", "closing"), fr);
    pp->min_frames = ictal_postproc_frames(ictal_config_get_double(cfg, "postproc", "min_duration"), fr);
    pp->merge_frames = ictal_postproc_frames(ictal_config_get_double(cfg, "postproc", "merge_gap"), fr);
    pp->max_frames = ictal_postproc_frames(ictal_config_get_double(cfg, "postproc", "max_duration"), fr);
    if (pp->max_frames < 1) /* max_duration > 0 shorter than half a frame */
        pp->max_frames = 1;
    if (pp->max_frames < pp->min_frames)
        pp->max_frames = pp->min_frames;
    int conf = ictal_config_get_enum(cfg, "postproc", "confidence"); /* mean|peak|percentile */
    if (conf < 0 || conf > 2)
        return ictal_error_set(err, ICTAL_EINVAL, "pipeline: postproc.confidence is not mean, peak or percentile");
    pp->confidence = (enum ictal_confidence)(ICTAL_CONFIDENCE_MEAN + conf);
    pp->percentile = (float)ictal_config_get_double(cfg, "postproc", "confidence_percentile");
    pp->n_channels = n_channels;
    ictal_error_clear(err);
    return 0;
}

int ictal_pipeline_config_default(struct ictal_pipeline_config *pc, const struct ictal_model *m, int n_channels,
                                  double input_rate, size_t max_block, struct ictal_error *err)
{
    if (!pc || !m)
        return ictal_error_set(err, ICTAL_EINVAL, "pipeline: config_default with a NULL argument");
    /* The built-in defaults are the configuration table's, under the model's
     * own: one source of truth for ictal-run, ictal-detect and this. */
    struct ictal_config *cfg = ictal_config_create(err);
    if (!cfg)
        return err ? err->code : ICTAL_ENOMEM;
    int rc = ictal_pipeline_model_defaults(cfg, m, ictal_model_info(m)->name);
    if (rc == 0)
        rc = ictal_config_validate(cfg, err);
    else
        ictal_error_set(err, rc, "pipeline: the model's defaults do not fit the configuration: %s",
                        ictal_config_error_count(cfg) ? ictal_config_error_message(cfg, 0) : ictal_strerror(rc));
    if (rc == 0)
        rc = ictal_pipeline_config_from(pc, cfg, m, n_channels, input_rate, max_block, err);
    ictal_config_destroy(cfg);
    return rc;
}

/* ------------------------------------------------------------ create */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV(h, v) ((h) = fnv((h), &(v), sizeof(v)))

/* Everything a state image depends on, field by field (never padding).
 * Not max_block: no state depends on it, so a JACK buffer-size change can
 * carry the state over into a pipeline built for the new period. */
static uint64_t config_tag(const struct ictal_pipeline *p)
{
    const struct ictal_pipeline_config *c = &p->cfg;
    uint64_t h = 0xcbf29ce484222325ull;
    FNV(h, p->info->fingerprint);
    FNV(h, c->n_channels);
    FNV(h, c->input_rate);
    FNV(h, c->guard.flat_uv);
    FNV(h, c->guard.flat_duration);
    FNV(h, c->guard.clip_uv);
    FNV(h, c->guard.implausible_uv);
    int mask = c->mask_bad_channels ? 1 : 0, rs = p->rs ? (int)c->resampler : -1, gemm = (int)c->gemm;
    FNV(h, mask);
    FNV(h, c->min_good_channels);
    FNV(h, rs);
    FNV(h, gemm);
    FNV(h, c->n_filters);
    for (int i = 0; i < c->n_filters; i++) {
        const struct ictal_model_filter *f = &c->filters[i];
        h = fnv(h, f->type, strnlen(f->type, sizeof f->type));
        FNV(h, f->freq_hz);
        FNV(h, f->freq2_hz);
        FNV(h, f->q);
        FNV(h, f->order);
    }
    const struct ictal_postproc_config *q = &c->postproc;
    FNV(h, q->threshold_on);
    FNV(h, q->threshold_off);
    FNV(h, q->n_on);
    FNV(h, q->n_off);
    FNV(h, q->opening);
    FNV(h, q->closing);
    FNV(h, q->min_frames);
    FNV(h, q->merge_frames);
    FNV(h, q->max_frames);
    int conf = (int)q->confidence;
    FNV(h, conf);
    FNV(h, q->percentile);
    return h;
}

static void apply_mask(struct ictal_pipeline *p);
static void feed(struct ictal_pipeline *p, const float *const *in, size_t n, uint8_t base_flags);
static void on_record(void *user, const struct ictal_event *ev);

void ictal_pipeline_destroy(struct ictal_pipeline *p)
{
    if (!p)
        return;
    ictal_postproc_destroy(p->pp);
    ictal_engine_destroy(p->eng);
    ictal_prefilter_destroy(p->pre);
    ictal_resampler_destroy(p->rs);
    ictal_guard_destroy(p->guard);
    if (p->x)
        free(p->x[0]);
    if (p->y && p->y != p->x)
        free(p->y[0]);
    free(p->x);
    if (p->y != p->x)
        free(p->y);
    free(p->prob);
    free(p->scores);
    free(p->last);
    free(p->quality);
    free(p->active);
    free(p);
}

/* (C) row pointers into one (C, len) block; NULL on failure. */
static float **planar(int C, size_t len)
{
    float **r = calloc((size_t)C, sizeof *r);
    float *b = calloc((size_t)C * len, sizeof *b);
    if (!r || !b) {
        free(r);
        free(b);
        return NULL;
    }
    for (int c = 0; c < C; c++)
        r[c] = b + (size_t)c * len;
    return r;
}

/* Most engine frames ms more model samples can give, wherever the engine is. */
static size_t engine_frames_bound(const struct ictal_pipeline *p, size_t ms)
{
    if (ms == 0)
        return 0;
    if (p->W) /* at most ms/H + 1 windows complete, H/hop frames each */
        return (ms / (size_t)p->H + 1) * (size_t)(p->H / p->hop);
    return (ms - 1) / (size_t)p->hop + 1; /* multiples of hop among ms consecutive samples */
}

static size_t model_samples_bound(const struct ictal_pipeline *p, size_t n)
{
    return p->rs ? ictal_resampler_max_out(p->rs, n) : n;
}

struct ictal_pipeline *ictal_pipeline_create(const struct ictal_model *m, const struct ictal_pipeline_config *cfg,
                                             struct ictal_error *err)
{
    if (!m || !cfg) {
        ictal_error_set(err, ICTAL_EINVAL, "pipeline: create with a NULL %s", m ? "configuration" : "model");
        return NULL;
    }
    const struct ictal_model_info *in = ictal_model_info(m);
    const int C = cfg->n_channels;
    if (C < 1 || C > MAX_CHANNELS || C < in->min_channels || C > in->max_channels) {
        ictal_error_set(err, ICTAL_EINVAL, "pipeline: n_channels %d is outside the model's %d..%d", C,
                        in->min_channels, in->max_channels < MAX_CHANNELS ? in->max_channels : MAX_CHANNELS);
        return NULL;
    }
    if (!isfinite(cfg->input_rate) || cfg->input_rate <= 0.0) {
        ictal_error_set(err, ICTAL_EINVAL, "pipeline: input_rate %g Hz must be positive", cfg->input_rate);
        return NULL;
    }
    if (cfg->max_block < 1 || cfg->max_block > MAX_BLOCK) {
        ictal_error_set(err, ICTAL_EINVAL, "pipeline: max_block %zu is not within 1..%zu", cfg->max_block,
                        MAX_BLOCK);
        return NULL;
    }
    if (cfg->min_good_channels < 0 || cfg->min_good_channels > C) {
        ictal_error_set(err, ICTAL_EINVAL,
                        "pipeline: min_good_channels %d is not within 0..n_channels (%d): it could never decide",
                        cfg->min_good_channels, C);
        return NULL;
    }
    if (cfg->n_filters < 0 || cfg->n_filters > ICTAL_MODEL_MAX_FILTERS) {
        ictal_error_set(err, ICTAL_EINVAL, "pipeline: n_filters %d is not within 0..%d", cfg->n_filters,
                        ICTAL_MODEL_MAX_FILTERS);
        return NULL;
    }
    struct ictal_pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        ictal_error_set(err, ICTAL_ENOMEM, "pipeline: cannot allocate the object");
        return NULL;
    }
    p->m = m;
    p->info = in;
    p->cfg = *cfg;
    p->cfg.guard.n_channels = C;
    p->cfg.guard.rate = cfg->input_rate;
    p->cfg.postproc.n_channels = C;
    p->C = C;
    p->model_rate = in->sample_rate;
    p->frame_rate = in->frame_rate;
    p->hop = in->hop;
    p->W = in->window;
    p->H = in->window_step;
    /* Streaming: frame k (out at sample k*hop) describes the input up to
     * k*hop - delay_samples. Windowed: frame k is the stitched output over
     * its own hop [k*hop, (k+1)*hop); delay_samples (W - hop) is only how
     * late it comes out. */
    p->shift = p->W ? 0 : (int64_t)in->delay_samples;

    struct ictal_engine_config ec = {.n_channels = C, .gemm = cfg->gemm};
    if (!(p->guard = ictal_guard_create(&p->cfg.guard, err)))
        goto fail;
    if (cfg->input_rate != p->model_rate) {
        if (!(p->rs = ictal_resampler_create(C, cfg->input_rate, p->model_rate, cfg->resampler, cfg->max_block, err)))
            goto fail;
        p->rs_latency_s = (double)ictal_resampler_latency(p->rs) / cfg->input_rate;
    }
    if (!(p->pre = ictal_prefilter_create(cfg->filters, cfg->n_filters, C, p->model_rate, err)))
        goto fail;
    if (!(p->eng = ictal_engine_create(m, &ec, err)))
        goto fail;
    if (!(p->pp = ictal_postproc_create(&p->cfg.postproc, err)))
        goto fail;

    p->ms_cap = model_samples_bound(p, cfg->max_block);
    p->eng_cap = engine_frames_bound(p, p->ms_cap);
    p->x = planar(C, cfg->max_block);
    p->y = p->rs ? planar(C, p->ms_cap) : p->x;
    p->prob = calloc(p->eng_cap + 1, sizeof *p->prob);
    p->scores = calloc((p->eng_cap + 1) * (size_t)C, sizeof *p->scores);
    p->last = calloc((size_t)C, sizeof *p->last);
    p->quality = calloc((size_t)C, sizeof *p->quality);
    p->active = calloc((size_t)C, sizeof *p->active);
    if (!p->x || !p->y || !p->prob || !p->scores || !p->last || !p->quality || !p->active) {
        ictal_error_set(err, ICTAL_ENOMEM, "pipeline: cannot allocate scratch for %d channels x %zu samples", C,
                        cfg->max_block);
        goto fail;
    }
    p->pp_sink.event = on_record;
    p->pp_sink.quality = NULL;
    p->pp_sink.user = p;
    p->tag = config_tag(p);

    /* Warm-up: touch every scratch page now, and run up to a second of
     * zeros through every stage (any lazy initialisation happens here, not in
     * the first JACK cycle); then back to the start. */
    memset(p->x[0], 0, (size_t)C * cfg->max_block * sizeof(float));
    memset(p->y[0], 0, (size_t)C * (p->rs ? p->ms_cap : cfg->max_block) * sizeof(float));
    ictal_pipeline_reset(p);
    size_t warm = (size_t)ceil(cfg->input_rate);
    unsigned long csr = ictal_blas_denormals_flush();
    feed(p, NULL, warm < cfg->max_block ? warm : cfg->max_block, 0);
    ictal_blas_denormals_restore(csr);
    ictal_pipeline_reset(p);
    ictal_error_clear(err);
    return p;
fail:
    ictal_pipeline_destroy(p);
    return NULL;
}

/* ------------------------------------------------------------ running */

size_t ictal_pipeline_max_frames(const struct ictal_pipeline *p, size_t n)
{
    return p && n ? engine_frames_bound(p, model_samples_bound(p, n)) : 0;
}

/* Channels' quality → engine mask, BAD_CHANNEL and NO_DECISION. */
static void apply_mask(struct ictal_pipeline *p)
{
    int good = 0, bad = 0;
    for (int c = 0; c < p->C; c++) {
        int flagged = p->quality[c] != 0;
        good += !flagged;
        p->active[c] = (unsigned char)!(flagged && p->cfg.mask_bad_channels);
        bad |= !p->active[c];
    }
    p->st.good_channels = good;
    p->st.bad_channel = bad;
    p->st.no_decision = good < p->cfg.min_good_channels;
    if (p->st.no_decision) /* no channel left: the engine's probability is 0 */
        memset(p->active, 0, (size_t)p->C);
    ictal_engine_set_mask(p->eng, p->active);
}

/* A guard block just ended: new flags, mask, quality callbacks. */
static void quality_update(struct ictal_pipeline *p)
{
    int changed = 0;
    for (int c = 0; c < p->C; c++)
        changed |= ictal_guard_flags(p->guard, c) != p->quality[c];
    if (!changed)
        return;
    int good = 0;
    for (int c = 0; c < p->C; c++)
        good += ictal_guard_flags(p->guard, c) == 0;
    for (int c = 0; c < p->C; c++) {
        unsigned now = ictal_guard_flags(p->guard, c);
        if (now == p->quality[c])
            continue;
        struct ictal_quality_change q = {
            .channel = c,
            .flags = now,
            .previous = p->quality[c],
            .input_sample = p->st.input_samples,
            .t_s = (double)p->st.input_samples / p->cfg.input_rate,
            .good_channels = good,
        };
        p->quality[c] = now;
        if (p->sink && p->sink->quality)
            p->sink->quality(p->sink->user, &q);
    }
    apply_mask(p);
}

/* Frame k: the model sample it describes, and how many model samples had
 * been consumed when the engine put it out. */
static int64_t frame_sample(const struct ictal_pipeline *p, int64_t k)
{
    int64_t t = k * p->hop - p->shift;
    return t < 0 ? 0 : t;
}

static int64_t frame_out_at(const struct ictal_pipeline *p, int64_t k)
{
    if (p->W) /* window m = floor(k*hop / H) completes after m*H + W samples */
        return (k * p->hop / p->H) * p->H + p->W;
    return k * p->hop + 1;
}

static void on_record(void *user, const struct ictal_event *ev)
{
    struct ictal_pipeline *p = user;
    struct ictal_event r = *ev;
    r.start_sample = frame_sample(p, r.start_frame);
    r.end_sample = frame_sample(p, r.end_frame);
    if (p->in_flush || r.emit_frame < 1)
        r.emit_sample = (int64_t)p->st.model_samples;
    else
        r.emit_sample = frame_out_at(p, r.emit_frame - 1);
    r.start_s = (double)r.start_sample / p->model_rate;
    r.end_s = (double)r.end_sample / p->model_rate;
    /* when the record is known, in input time: the resampler held its
     * look-ahead back */
    r.emit_s = (double)r.emit_sample / p->model_rate + p->rs_latency_s;
    if ((unsigned)r.kind < 4)
        p->st.records[r.kind]++;
    if (p->sink && p->sink->event)
        p->sink->event(p->sink->user, &r);
}

/* The engine's nf frames of this span: flags, masked scores, postproc,
 * outputs. */
static void push_frames(struct ictal_pipeline *p, size_t nf, uint8_t span_flags)
{
    const int C = p->C;
    for (size_t f = 0; f < nf; f++) {
        uint8_t fl = span_flags;
        if (p->st.xrun_pending) {
            fl |= (uint8_t)ICTAL_FRAME_XRUN;
            p->st.xrun_pending = 0;
        }
        if (p->st.bad_channel)
            fl |= (uint8_t)ICTAL_FRAME_BAD_CHANNEL;
        if (p->st.no_decision) {
            fl |= (uint8_t)ICTAL_FRAME_NO_DECISION;
            p->prob[f] = 0.0f;
            p->st.no_decision_frames++;
        }
        float *s = p->scores + f * (size_t)C;
        for (int c = 0; c < C; c++)
            if (!p->active[c])
                s[c] = 0.0f;
        (void)ictal_postproc_process(p->pp, &p->prob[f], s, &fl, 1, &p->pp_sink);
        p->st.frames++;
        struct ictal_pipeline_frames *o = p->out;
        if (o && o->n < o->cap) {
            if (o->prob)
                o->prob[o->n] = p->prob[f];
            if (o->flags)
                o->flags[o->n] = fl;
            if (o->alarm)
                o->alarm[o->n] = (uint8_t)(ictal_postproc_alarm_active(p->pp) != 0);
            o->n++;
        }
    }
}

/* Index of the first sample in x[.][0..m) that is non-finite on any
 * channel, or m. */
static size_t first_nonfinite(const struct ictal_pipeline *p, size_t m)
{
    size_t first = m;
    for (int c = 0; c < p->C; c++) {
        const float *x = p->x[c];
        for (size_t i = 0; i < first; i++)
            if (!isfinite(x[i])) {
                first = i;
                break;
            }
    }
    return first;
}

/* Run n input samples (in[c], or each channel's last sample when in is
 * NULL) through every stage, span by span. */
static void feed(struct ictal_pipeline *p, const float *const *in, size_t n, uint8_t base_flags)
{
    const int C = p->C;
    size_t pos = 0;
    while (pos < n) {
        size_t m = n - pos;
        const size_t until = ictal_guard_until_block_end(p->guard);
        if (m > until)
            m = until;
        for (int c = 0; c < C; c++) {
            if (in) {
                memcpy(p->x[c], in[c] + pos, m * sizeof(float));
            } else {
                const float v = p->last[c];
                for (size_t i = 0; i < m; i++)
                    p->x[c][i] = v;
            }
        }
        uint8_t fl = base_flags;
        /* (scrubbed_in_block still describes the finished block until the
         * next block's first sample arrives) */
        if (until < ictal_guard_block(p->guard) && ictal_guard_scrubbed_in_block(p->guard)) {
            fl |= (uint8_t)ICTAL_FRAME_SCRUBBED;
        } else if (in) {
            /* The block's first non-finite sample starts a span of its own:
             * frames from before it are clean, from it on SCRUBBED. */
            const size_t j = first_nonfinite(p, m);
            if (j == 0)
                fl |= (uint8_t)ICTAL_FRAME_SCRUBBED;
            else if (j < m)
                m = j;
        }
        const size_t ended = ictal_guard_process(p->guard, p->x, m);
        for (int c = 0; c < C; c++)
            p->last[c] = p->x[c][m - 1];
        size_t ms = m;
        if (p->rs && ictal_resampler_process(p->rs, (const float *const *)p->x, m, p->y, p->ms_cap, &ms) != 0)
            ms = 0; /* cannot happen: sizes are checked at create */
        size_t nf = 0;
        if (ms) {
            ictal_prefilter_process(p->pre, p->y, ms);
            if (ictal_engine_process(p->eng, (const float *const *)p->y, ms, p->prob, p->scores, p->eng_cap, &nf) !=
                0)
                nf = 0; /* cannot happen: eng_cap bounds every span */
        }
        p->st.input_samples += m;
        p->st.model_samples += ms;
        push_frames(p, nf, fl);
        if (ended)
            quality_update(p);
        pos += m;
    }
}

int ictal_pipeline_process(struct ictal_pipeline *p, const float *const *in, size_t n,
                           const struct ictal_event_sink *sink, struct ictal_pipeline_frames *frames)
{
    if (frames)
        frames->n = 0;
    if (!p || (n && !in))
        return ICTAL_EINVAL;
    if (p->st.flushed)
        return ICTAL_ESTATE;
    if (n > p->cfg.max_block || (frames && frames->cap < ictal_pipeline_max_frames(p, n)))
        return ICTAL_ERANGE;
    for (size_t c = 0; n && c < (size_t)p->C; c++)
        if (!in[c])
            return ICTAL_EINVAL;
    unsigned long csr = ictal_blas_denormals_flush();
    p->sink = sink;
    p->out = frames;
    feed(p, in, n, 0);
    p->sink = NULL;
    p->out = NULL;
    ictal_blas_denormals_restore(csr);
    return 0;
}

int ictal_pipeline_gap(struct ictal_pipeline *p, size_t n, const struct ictal_event_sink *sink,
                       struct ictal_pipeline_frames *frames)
{
    if (frames)
        frames->n = 0;
    if (!p)
        return ICTAL_EINVAL;
    if (p->st.flushed)
        return ICTAL_ESTATE;
    if (n > p->cfg.max_block || (frames && frames->cap < ictal_pipeline_max_frames(p, n)))
        return ICTAL_ERANGE;
    unsigned long csr = ictal_blas_denormals_flush();
    p->sink = sink;
    p->out = frames;
    feed(p, NULL, n, (uint8_t)ICTAL_FRAME_XRUN);
    p->st.gap_samples += n;
    p->sink = NULL;
    p->out = NULL;
    ictal_blas_denormals_restore(csr);
    return 0;
}

void ictal_pipeline_mark_xrun(struct ictal_pipeline *p)
{
    if (p)
        p->st.xrun_pending = 1;
}

int ictal_pipeline_flush(struct ictal_pipeline *p, const struct ictal_event_sink *sink)
{
    if (!p)
        return ICTAL_EINVAL;
    if (p->st.flushed)
        return 0;
    unsigned long csr = ictal_blas_denormals_flush();
    p->sink = sink;
    p->in_flush = 1;
    int rc = ictal_postproc_flush(p->pp, &p->pp_sink);
    p->in_flush = 0;
    p->sink = NULL;
    p->st.flushed = 1;
    ictal_blas_denormals_restore(csr);
    return rc;
}

void ictal_pipeline_reset(struct ictal_pipeline *p)
{
    if (!p)
        return;
    ictal_guard_reset(p->guard);
    if (p->rs)
        ictal_resampler_reset(p->rs);
    ictal_prefilter_reset(p->pre);
    ictal_engine_reset(p->eng);
    ictal_postproc_reset(p->pp);
    memset(&p->st, 0, sizeof p->st);
    for (int c = 0; c < p->C; c++) {
        p->last[c] = 0.0f;
        p->quality[c] = 0;
    }
    apply_mask(p);
    p->sink = NULL;
    p->out = NULL;
    p->in_flush = 0;
}

/* ------------------------------------------------------------ reports */

void ictal_pipeline_latency(const struct ictal_pipeline *p, struct ictal_pipeline_latency *lat)
{
    if (!p || !lat)
        return;
    lat->resampler = p->rs_latency_s;
    lat->engine = (double)p->info->delay_samples / p->model_rate;
    lat->frame = (double)p->hop / p->model_rate;
    lat->postproc = (double)ictal_postproc_delay(p->pp) / p->frame_rate;
    lat->total = lat->resampler + lat->engine + lat->frame + lat->postproc;
    /* Rounded up, but not past a whole number that the sum of the parts
     * misses by rounding (3.25 s at 256 Hz is 832 samples, not 833). */
    double s = lat->total * p->cfg.input_rate;
    double r = floor(s + 0.5);
    double up = fabs(s - r) <= 1e-9 * (r > 1.0 ? r : 1.0) ? r : ceil(s);
    lat->total_samples = up >= 4294967295.0 ? UINT32_MAX : (uint32_t)up;
}

void ictal_pipeline_stats(const struct ictal_pipeline *p, struct ictal_pipeline_stats *st)
{
    if (!p || !st)
        return;
    memset(st, 0, sizeof *st);
    st->input_samples = p->st.input_samples;
    st->gap_samples = p->st.gap_samples;
    st->model_samples = p->st.model_samples;
    st->frames = p->st.frames;
    memcpy(st->records, p->st.records, sizeof st->records);
    for (int c = 0; c < p->C; c++)
        st->nonfinite += ictal_guard_counts(p->guard, c).nonfinite;
    st->no_decision_frames = p->st.no_decision_frames;
    st->good_channels = p->st.good_channels;
}

unsigned ictal_pipeline_channel_quality(const struct ictal_pipeline *p, int c)
{
    return p && c >= 0 && c < p->C ? p->quality[c] : 0;
}

struct ictal_guard_counts ictal_pipeline_channel_counts(const struct ictal_pipeline *p, int c)
{
    struct ictal_guard_counts z;
    if (p && c >= 0 && c < p->C)
        return ictal_guard_counts(p->guard, c);
    memset(&z, 0, sizeof z);
    return z;
}

const struct ictal_model *ictal_pipeline_model(const struct ictal_pipeline *p) { return p ? p->m : NULL; }
const struct ictal_pipeline_config *ictal_pipeline_get_config(const struct ictal_pipeline *p)
{
    return p ? &p->cfg : NULL;
}
double ictal_pipeline_model_rate(const struct ictal_pipeline *p) { return p ? p->model_rate : 0.0; }
double ictal_pipeline_frame_rate(const struct ictal_pipeline *p) { return p ? p->frame_rate : 0.0; }

/* ------------------------------------------------------------ snapshots */

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

struct ictal_pipeline_snapshot *ictal_pipeline_snapshot_create(const struct ictal_pipeline *p,
                                                               struct ictal_error *err)
{
    if (!p) {
        ictal_error_set(err, ICTAL_EINVAL, "pipeline: snapshot of a NULL pipeline");
        return NULL;
    }
    struct ictal_pipeline_snapshot *s = calloc(1, sizeof *s);
    if (!s) {
        ictal_error_set(err, ICTAL_ENOMEM, "pipeline: cannot allocate a snapshot");
        return NULL;
    }
    const size_t C = (size_t)p->C;
    s->tag = p->tag;
    s->C = p->C;
    s->n_guard = ictal_guard_state_size(p->guard);
    s->n_pre = ictal_prefilter_state_size(p->pre);
    s->n_eng = ictal_engine_state_size(p->eng);
    s->n_pp = ictal_postproc_state_size(p->pp);
    size_t o_pre = align8(s->n_guard), o_eng = o_pre + align8(s->n_pre), o_pp = o_eng + align8(s->n_eng);
    size_t o_last = o_pp + align8(s->n_pp), o_q = o_last + align8(C * sizeof(float));
    size_t o_act = o_q + align8(C * sizeof(unsigned)), total = o_act + align8(C);
    unsigned char *mem = calloc(1, total);
    if (!mem) {
        ictal_error_set(err, ICTAL_ENOMEM, "pipeline: cannot allocate a snapshot of %zu bytes", total);
        free(s);
        return NULL;
    }
    s->mem = mem;
    s->guard = mem;
    s->pre = mem + o_pre;
    s->eng = mem + o_eng;
    s->pp = mem + o_pp;
    s->last = (float *)(void *)(mem + o_last);
    s->quality = (unsigned *)(void *)(mem + o_q);
    s->active = mem + o_act;
    if (p->rs && !(s->rs = ictal_resampler_clone(p->rs, err))) {
        ictal_pipeline_snapshot_destroy(s);
        return NULL;
    }
    if (ictal_pipeline_snapshot_save(p, s, err) != 0) {
        ictal_pipeline_snapshot_destroy(s);
        return NULL;
    }
    return s;
}

void ictal_pipeline_snapshot_destroy(struct ictal_pipeline_snapshot *s)
{
    if (!s)
        return;
    ictal_resampler_destroy(s->rs);
    free(s->mem);
    free(s);
}

int ictal_pipeline_snapshot_save(const struct ictal_pipeline *p, struct ictal_pipeline_snapshot *s,
                                 struct ictal_error *err)
{
    if (!p || !s)
        return ictal_error_set(err, ICTAL_EINVAL, "pipeline: snapshot save with a NULL argument");
    if (s->tag != p->tag || s->C != p->C || !s->rs != !p->rs)
        return ictal_error_set(err, ICTAL_EINVAL, "pipeline: the snapshot was made for another configuration");
    int rc;
    if ((rc = ictal_guard_state_save(p->guard, s->guard, s->n_guard)) != 0 ||
        (rc = ictal_prefilter_state_save(p->pre, s->pre, s->n_pre)) != 0 ||
        (rc = ictal_engine_state_save(p->eng, s->eng, s->n_eng)) != 0 ||
        (rc = ictal_postproc_state_save(p->pp, s->pp, s->n_pp)) != 0)
        return ictal_error_set(err, rc, "pipeline: a stage's state does not fit its snapshot image");
    if (p->rs && (rc = ictal_resampler_copy_state(s->rs, p->rs, err)) != 0)
        return rc;
    s->st = p->st;
    const size_t C = (size_t)p->C;
    memcpy(s->last, p->last, C * sizeof *s->last);
    memcpy(s->quality, p->quality, C * sizeof *s->quality);
    memcpy(s->active, p->active, C);
    ictal_error_clear(err);
    return 0;
}

int ictal_pipeline_snapshot_restore(struct ictal_pipeline *p, const struct ictal_pipeline_snapshot *s,
                                    struct ictal_error *err)
{
    if (!p || !s)
        return ictal_error_set(err, ICTAL_EINVAL, "pipeline: snapshot restore with a NULL argument");
    if (s->tag != p->tag || s->C != p->C || !s->rs != !p->rs || s->n_guard != ictal_guard_state_size(p->guard) ||
        s->n_pre != ictal_prefilter_state_size(p->pre) || s->n_eng != ictal_engine_state_size(p->eng) ||
        s->n_pp != ictal_postproc_state_size(p->pp))
        return ictal_error_set(err, ICTAL_EINVAL,
                               "pipeline: the snapshot comes from another configuration (model, channels, rates, "
                               "guard, filters or post-processing differ); pipeline unchanged");
    int rc;
    if ((rc = ictal_guard_state_load(p->guard, s->guard, s->n_guard)) != 0 ||
        (rc = ictal_prefilter_state_load(p->pre, s->pre, s->n_pre)) != 0 ||
        (rc = ictal_engine_state_load(p->eng, s->eng, s->n_eng)) != 0 ||
        (rc = ictal_postproc_state_load(p->pp, s->pp, s->n_pp)) != 0 ||
        (p->rs && (rc = ictal_resampler_copy_state(p->rs, s->rs, err)) != 0)) {
        /* Same configuration, yet a stage refused its image: the snapshot is
         * damaged. Do not leave a mixture of two states behind. */
        ictal_pipeline_reset(p);
        return ictal_error_set(err, rc < 0 ? rc : ICTAL_EINVAL,
                               "pipeline: a stage refused its snapshot image; pipeline reset");
    }
    p->st = s->st;
    const size_t C = (size_t)p->C;
    memcpy(p->last, s->last, C * sizeof *p->last);
    memcpy(p->quality, s->quality, C * sizeof *p->quality);
    memcpy(p->active, s->active, C);
    ictal_engine_set_mask(p->eng, p->active); /* the mask is not part of the engine's image */
    ictal_error_clear(err);
    return 0;
}
