/*
 * postproc.c — streaming post-processing (ictal/postproc.h), written to the
 * letter of docs/postproc.md.
 *
 *   p ─▶ hysteresis ─▶ opening ─▶ closing ─▶ tracker ─▶ records
 *        delay d1      delay d2    delay d3    (section 3.1)
 *
 * Each morphology stage is a delay line of d+1 values. A new frame is
 * written with its *tentative* value — the one the end-of-array rule of
 * section 1 would give it — and when a decision reaches back (a count
 * reaching n_on, a run reaching L_o, a gap closed by a 1) the newest m <= d+1
 * entries are overwritten. The entry leaving the line, d frames behind, can
 * no longer change. flush() then drains each line as it stands: the
 * tentative values are exactly the end-of-array values.
 *
 * The tracker sees c[j] when frame j + D is pushed; the frame ring keeps
 * p, flags and scores of the last D + 1 frames, which covers both c[j]'s own
 * frame and an alarm's window [a, a + D + 1). Frames after the open event's
 * last kept run go to a history (p per frame; flags and per-channel maxima
 * per block, blocks cut where segments will be cut) that is folded into the
 * event in frame order when a merge candidate is kept.
 *
 * All mutable state lives in the first state_bytes of one arena, with no
 * pointers in it: save/load are memcpy, reset is memset.
 */
#include "ictal/postproc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC 0x69637470703a3031ull /* "ictpp:01" */
#define NBINS 1024
/* Frame meta word: the ICTAL_FRAME_* byte plus "scores were given". */
#define META_FLAGS  0x00ffu
#define META_SCORES 0x0100u
#define ALIGN 64
/* Far above any clinical configuration; refuses the pathological ones
 * (hours of look-ahead times a thousand channels) before malloc and the
 * pre-touching memset meet the OOM killer. */
#define ARENA_LIMIT ((uint64_t)1 << 30)

struct stage {
    uint64_t t;  /* frames received */
    int32_t cnt; /* hysteresis: on/off count; opening: run length; closing: gap length (all capped) */
    int32_t on;  /* hysteresis: state; closing: a 1 has been seen */
};

/* The scalar part of an accumulator; its arrays live beside it. */
struct acc_hdr {
    double sum;      /* in frame order */
    uint64_t count;
    float max;
    uint32_t flags;  /* ICTAL_FRAME_* OR-ed */
    uint32_t scores; /* some frame had scores */
    uint32_t pad;
};

struct pp_state {
    uint64_t magic, fingerprint, bytes;
    uint64_t pushed;  /* frames pushed since create/reset */
    uint64_t last_id; /* ids count alarms */
    uint64_t id;      /* the open event's */
    struct stage st[3];
    /* tracker (section 3.1) */
    int64_t t;        /* c-frames seen: the next j */
    int64_t a;        /* current run's start */
    int64_t e;        /* one past the open event's last kept frame */
    int64_t g;        /* current segment's start */
    int32_t seg;      /* current segment's number */
    uint8_t flushed, open, has_kept, in_run, run_kept, cand, pad[2];
    struct acc_hdr seg_acc; /* the current segment (or the first run until it is kept) */
};

struct acc {
    struct acc_hdr *h;
    uint32_t *hn; /* (NBINS) counts, percentile method only */
    float *hm;    /* (NBINS) largest p per bin */
    float *ch;    /* (C) largest score per channel */
};

struct ictal_postproc {
    struct ictal_postproc_config cfg;
    int d[3];          /* stage delays d1, d2, d3 */
    int D;             /* d1 + d2 + d3 */
    int K;             /* max(min_frames, 1): a run is kept at this length */
    int L_open, L_close;
    int C;
    uint64_t R;        /* D + 1: frames in the frame ring */
    int64_t hcap;      /* history frames */
    int64_t nblocks;   /* history blocks */
    uint64_t fingerprint;
    unsigned char *arena;
    size_t arena_bytes, state_bytes;
    /* Views into the arena. State: */
    struct pp_state *s;
    uint8_t *line[3];  /* (d+1) each: stage delay lines, at frame % (d+1) */
    float *fp;         /* (R) frame ring: probability */
    uint16_t *fm;      /* (R) frame ring: meta */
    float *fs;         /* (R, C) frame ring: scores */
    float *hp;         /* (hcap) history: p of frame e + i */
    uint32_t *bm;      /* (nblocks) history: meta OR-ed per block */
    float *bs;         /* (nblocks, C) history: score maxima per block */
    struct acc seg;    /* header in s */
    /* Scratch, after the state: */
    struct acc tmp;    /* an alarm's window */
    /* During one process()/flush() call. */
    const struct ictal_event_sink *sink;
    int flushing;
};

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

int ictal_postproc_frames(double seconds, double frame_rate)
{
    double x = seconds * frame_rate;
    if (!(x > 0.0)) /* negative, zero or NaN */
        return 0;
    if (x >= (double)ICTAL_POSTPROC_MAX_FRAMES_ARG)
        return ICTAL_POSTPROC_MAX_FRAMES_ARG;
    /* Not floor(x + 0.5): that rounds 0.49999999999999994 up. */
    double f = floor(x);
    if (x - f >= 0.5)
        f += 1.0;
    return f > (double)ICTAL_POSTPROC_MAX_FRAMES_ARG ? ICTAL_POSTPROC_MAX_FRAMES_ARG : (int)f;
}

static int check_length(const char *name, int v, int lo, struct ictal_error *err)
{
    if (v < lo)
        return ictal_error_set(err, ICTAL_EINVAL, "postproc: %s %d below %d", name, v, lo);
    if (v > ICTAL_POSTPROC_MAX_FRAMES_ARG)
        return ictal_error_set(err, ICTAL_EINVAL, "postproc: %s %d above the limit of %d frames",
                               name, v, ICTAL_POSTPROC_MAX_FRAMES_ARG);
    return 0;
}

static int validate(const struct ictal_postproc_config *c, struct ictal_error *err)
{
    if (!c)
        return ictal_error_set(err, ICTAL_EINVAL, "postproc: NULL configuration");
    /* Written so that NaN fails too. */
    if (!(c->threshold_on >= 0.0f && c->threshold_on <= 1.0f))
        return ictal_error_set(err, ICTAL_EINVAL, "postproc: threshold_on %g outside [0, 1]",
                               (double)c->threshold_on);
    if (!(c->threshold_off >= 0.0f && c->threshold_off <= 1.0f))
        return ictal_error_set(err, ICTAL_EINVAL, "postproc: threshold_off %g outside [0, 1]",
                               (double)c->threshold_off);
    if (c->threshold_off > c->threshold_on)
        return ictal_error_set(err, ICTAL_EINVAL, "postproc: threshold_off %g above threshold_on %g",
                               (double)c->threshold_off, (double)c->threshold_on);
    int rc;
    if ((rc = check_length("n_on", c->n_on, 1, err)) || (rc = check_length("n_off", c->n_off, 1, err)) ||
        (rc = check_length("opening", c->opening, 0, err)) ||
        (rc = check_length("closing", c->closing, 0, err)) ||
        (rc = check_length("min_frames", c->min_frames, 0, err)) ||
        (rc = check_length("merge_frames", c->merge_frames, 0, err)) ||
        (rc = check_length("max_frames", c->max_frames, 1, err)))
        return rc;
    if (c->max_frames < c->min_frames)
        return ictal_error_set(err, ICTAL_EINVAL, "postproc: max_frames %d below min_frames %d",
                               c->max_frames, c->min_frames);
    if (c->confidence != ICTAL_CONFIDENCE_MEAN && c->confidence != ICTAL_CONFIDENCE_PEAK &&
        c->confidence != ICTAL_CONFIDENCE_PERCENTILE)
        return ictal_error_set(err, ICTAL_EINVAL,
                               "postproc: confidence %d is not mean (%d), peak (%d) or percentile (%d)",
                               (int)c->confidence, ICTAL_CONFIDENCE_MEAN, ICTAL_CONFIDENCE_PEAK,
                               ICTAL_CONFIDENCE_PERCENTILE);
    if (!(c->percentile >= 0.0f && c->percentile <= 100.0f))
        return ictal_error_set(err, ICTAL_EINVAL, "postproc: percentile %g outside [0, 100]",
                               (double)c->percentile);
    if (c->n_channels < 0 || c->n_channels > ICTAL_EVENT_MAX_CHANNELS)
        return ictal_error_set(err, ICTAL_EINVAL, "postproc: n_channels %d outside 0..%d",
                               c->n_channels, ICTAL_EVENT_MAX_CHANNELS);
    return 0;
}

/* FNV-1a over the configuration's values (not its padding). */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t fingerprint(const struct ictal_postproc_config *c)
{
    int32_t v[9] = { c->n_on, c->n_off, c->opening, c->closing, c->min_frames, c->merge_frames,
                     c->max_frames, (int32_t)c->confidence, c->n_channels };
    float f[3] = { c->threshold_on, c->threshold_off, c->percentile };
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv(h, v, sizeof v);
    return fnv(h, f, sizeof f);
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */

/* Carve n bytes at the next ALIGN boundary of a running offset. */
static uint64_t take(uint64_t *off, uint64_t n)
{
    uint64_t at = (*off + ALIGN - 1) / ALIGN * ALIGN;
    *off = at + n;
    return at;
}

struct layout {
    uint64_t line[3], fp, fm, fs, hp, bm, bs, hn, hm, ch, state;
    uint64_t tmp_h, tmp_hn, tmp_hm, tmp_ch, total;
};

static void plan(const struct ictal_postproc *pp, struct layout *l)
{
    uint64_t off = 0, C = (uint64_t)pp->C, R = pp->R;
    uint64_t H = (uint64_t)pp->hcap, B = (uint64_t)pp->nblocks;
    int pct = pp->cfg.confidence == ICTAL_CONFIDENCE_PERCENTILE;
    (void)take(&off, sizeof(struct pp_state));
    for (int k = 0; k < 3; k++)
        l->line[k] = take(&off, (uint64_t)pp->d[k] + 1);
    l->fp = take(&off, R * sizeof(float));
    l->fm = take(&off, R * sizeof(uint16_t));
    l->fs = take(&off, R * C * sizeof(float));
    l->hp = take(&off, H * sizeof(float));
    l->bm = take(&off, B * sizeof(uint32_t));
    l->bs = take(&off, B * C * sizeof(float));
    l->hn = take(&off, pct ? NBINS * sizeof(uint32_t) : 0);
    l->hm = take(&off, pct ? NBINS * sizeof(float) : 0);
    l->ch = take(&off, C * sizeof(float));
    l->state = off;
    l->tmp_h = take(&off, sizeof(struct acc_hdr));
    l->tmp_hn = take(&off, pct ? NBINS * sizeof(uint32_t) : 0);
    l->tmp_hm = take(&off, pct ? NBINS * sizeof(float) : 0);
    l->tmp_ch = take(&off, C * sizeof(float));
    l->total = (off + ALIGN - 1) / ALIGN * ALIGN;
}

void ictal_postproc_reset(struct ictal_postproc *pp)
{
    if (!pp)
        return;
    memset(pp->arena, 0, pp->state_bytes);
    pp->s->magic = STATE_MAGIC;
    pp->s->fingerprint = pp->fingerprint;
    pp->s->bytes = pp->state_bytes;
}

struct ictal_postproc *ictal_postproc_create(const struct ictal_postproc_config *cfg,
                                             struct ictal_error *err)
{
    if (validate(cfg, err))
        return NULL;
    struct ictal_postproc *pp = calloc(1, sizeof *pp);
    if (!pp) {
        ictal_error_set(err, ICTAL_ENOMEM, "postproc: cannot allocate the object");
        return NULL;
    }
    pp->cfg = *cfg;
    pp->d[0] = (cfg->n_on > cfg->n_off ? cfg->n_on : cfg->n_off) - 1;
    pp->d[1] = cfg->opening > 1 ? cfg->opening - 1 : 0;
    pp->d[2] = cfg->closing > 1 ? cfg->closing - 1 : 0;
    pp->D = pp->d[0] + pp->d[1] + pp->d[2]; /* <= 3 * 2^22: no overflow */
    pp->K = cfg->min_frames > 1 ? cfg->min_frames : 1;
    pp->L_open = cfg->opening > 1 ? cfg->opening : 1;
    pp->L_close = cfg->closing > 1 ? cfg->closing : 1;
    pp->C = cfg->n_channels;
    pp->R = (uint64_t)pp->D + 1;
    /* A merge candidate starts at a <= e + M_gap - 1 and is kept or dropped
     * by a + K - 1, and a plain gap ends by e + M_gap - 1: the history holds
     * frames e .. e + M_gap + K - 2 at most. One more for good measure. */
    pp->hcap = (int64_t)cfg->merge_frames + pp->K;
    /* Blocks start at base = g + M_max * floor((e - g) / M_max), e - base <=
     * M_max - 1, so frame e + hcap - 1 is in block (M_max + hcap - 2) / M_max. */
    pp->nblocks = ((int64_t)cfg->max_frames + pp->hcap - 2) / cfg->max_frames + 1;
    pp->fingerprint = fingerprint(cfg);

    struct layout l;
    plan(pp, &l);
    if (l.total > ARENA_LIMIT) { /* also keeps size_t conversions exact on 32-bit */
        ictal_error_set(err, ICTAL_ENOMEM,
                        "postproc: this configuration needs %.0f MiB (look-ahead %d frames, history "
                        "%lld frames, %d channels), more than the %.0f MiB limit",
                        (double)l.total / 1048576.0, pp->D, (long long)pp->hcap, pp->C,
                        (double)ARENA_LIMIT / 1048576.0);
        free(pp);
        return NULL;
    }
    pp->arena_bytes = (size_t)l.total;
    pp->state_bytes = (size_t)l.state;
    pp->arena = aligned_alloc(ALIGN, pp->arena_bytes);
    if (!pp->arena) {
        ictal_error_set(err, ICTAL_ENOMEM, "postproc: cannot allocate %zu bytes", pp->arena_bytes);
        free(pp);
        return NULL;
    }
    /* Touch every page now, not on the real-time thread. */
    memset(pp->arena, 0, pp->arena_bytes);

    unsigned char *A = pp->arena;
    int pct = cfg->confidence == ICTAL_CONFIDENCE_PERCENTILE;
    pp->s = (struct pp_state *)(void *)A;
    for (int k = 0; k < 3; k++)
        pp->line[k] = A + l.line[k];
    pp->fp = (float *)(void *)(A + l.fp);
    pp->fm = (uint16_t *)(void *)(A + l.fm);
    pp->fs = (float *)(void *)(A + l.fs);
    pp->hp = (float *)(void *)(A + l.hp);
    pp->bm = (uint32_t *)(void *)(A + l.bm);
    pp->bs = (float *)(void *)(A + l.bs);
    pp->seg.h = &pp->s->seg_acc;
    pp->seg.hn = pct ? (uint32_t *)(void *)(A + l.hn) : NULL;
    pp->seg.hm = pct ? (float *)(void *)(A + l.hm) : NULL;
    pp->seg.ch = (float *)(void *)(A + l.ch);
    pp->tmp.h = (struct acc_hdr *)(void *)(A + l.tmp_h);
    pp->tmp.hn = pct ? (uint32_t *)(void *)(A + l.tmp_hn) : NULL;
    pp->tmp.hm = pct ? (float *)(void *)(A + l.tmp_hm) : NULL;
    pp->tmp.ch = (float *)(void *)(A + l.tmp_ch);
    ictal_postproc_reset(pp);
    ictal_error_clear(err);
    return pp;
}

void ictal_postproc_destroy(struct ictal_postproc *pp)
{
    if (!pp)
        return;
    free(pp->arena);
    free(pp);
}

/* ------------------------------------------------------------------ */
/* Statistics (section 4)                                              */

static void acc_reset(const struct ictal_postproc *pp, struct acc *a)
{
    memset(a->h, 0, sizeof *a->h);
    a->h->max = -INFINITY;
    if (a->hn)
        memset(a->hn, 0, NBINS * sizeof *a->hn);
    for (int c = 0; c < pp->C; c++)
        a->ch[c] = -INFINITY;
}

static void acc_add_p(struct acc *a, float p)
{
    a->h->sum += (double)p;
    a->h->count++;
    if (p > a->h->max)
        a->h->max = p;
    if (a->hn) {
        float q = p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p;
        int b = (int)(q * (float)NBINS); /* exact: a power-of-two scaling */
        if (b > NBINS - 1)
            b = NBINS - 1;
        if (a->hn[b]++ == 0 || p > a->hm[b])
            a->hm[b] = p;
    }
}

/* Frame flags and, when the frame(s) had them, per-channel maxima. */
static void acc_add_meta(const struct ictal_postproc *pp, struct acc *a, uint32_t meta,
                         const float *scores)
{
    a->h->flags |= meta & META_FLAGS;
    if (!(meta & META_SCORES))
        return;
    a->h->scores = 1;
    for (int c = 0; c < pp->C; c++)
        if (scores[c] > a->ch[c])
            a->ch[c] = scores[c];
}

static float acc_confidence(const struct ictal_postproc *pp, const struct acc *a)
{
    const struct acc_hdr *h = a->h;
    if (h->count == 0)
        return 0.0f;
    switch (pp->cfg.confidence) {
    case ICTAL_CONFIDENCE_MEAN:
        return (float)(h->sum / (double)h->count);
    case ICTAL_CONFIDENCE_PERCENTILE: {
        double r = ceil((double)pp->cfg.percentile / 100.0 * (double)h->count);
        if (r < 1.0)
            r = 1.0;
        uint64_t cum = 0;
        for (int b = 0; b < NBINS; b++) {
            cum += a->hn[b];
            if (a->hn[b] && (double)cum >= r)
                return a->hm[b];
        }
        return h->max;
    }
    case ICTAL_CONFIDENCE_PEAK:
    default:
        return h->max;
    }
}

static void acc_channels(const struct ictal_postproc *pp, const struct acc *a,
                         struct ictal_event *ev)
{
    if (pp->C == 0 || !a->h->scores)
        return;
    int any = 0, best = 0;
    for (int c = 0; c < pp->C; c++) {
        if (a->ch[c] >= pp->cfg.threshold_on) {
            ev->channels[c / 64] |= (uint64_t)1 << (c % 64);
            any = 1;
        }
        if (a->ch[c] > a->ch[best])
            best = c;
    }
    if (!any)
        ev->channels[best / 64] |= (uint64_t)1 << (best % 64);
}

static void emit(struct ictal_postproc *pp, enum ictal_event_kind kind, int64_t start, int64_t end,
                 const struct acc *a, int32_t segment, uint32_t extra)
{
    if (!pp->sink || !pp->sink->event)
        return;
    struct ictal_event ev;
    memset(&ev, 0, sizeof ev); /* deterministic padding and unused words */
    ev.kind = kind;
    ev.flags = a->h->flags | extra | (pp->flushing ? ICTAL_EVENT_FLUSHED : 0u);
    ev.id = pp->s->id;
    ev.segment = segment;
    ev.n_channels = pp->C;
    ev.start_frame = start;
    ev.end_frame = end;
    ev.emit_frame = (int64_t)pp->s->pushed;
    ev.confidence = acc_confidence(pp, a);
    ev.peak = a->h->count ? a->h->max : 0.0f;
    ev.method = pp->cfg.confidence;
    ev.percentile = pp->cfg.confidence == ICTAL_CONFIDENCE_PERCENTILE ? pp->cfg.percentile : 0.0f;
    acc_channels(pp, a, &ev);
    pp->sink->event(pp->sink->user, &ev);
}

/* ------------------------------------------------------------------ */
/* The three stages (section 1)                                        */

/* Append v to stage k's line after setting the m - 1 entries before it to v
 * too (m <= d + 1); return the entry d frames behind, now final, or -1 while
 * the line fills. */
static int line_push(struct ictal_postproc *pp, int k, int v, int m)
{
    struct stage *st = &pp->s->st[k];
    uint64_t R = (uint64_t)pp->d[k] + 1;
    uint8_t *L = pp->line[k];
    for (int i = 0; i < m; i++)
        L[(st->t - (uint64_t)i) % R] = (uint8_t)v;
    st->t++;
    return st->t >= R ? L[st->t % R] : -1;
}

/* 1.1: tentative values are the end-of-array ones (a pending on-count is 0,
 * a pending off-count 1); reaching the count rewrites the whole run. */
static int hysteresis_push(struct ictal_postproc *pp, float p)
{
    struct stage *st = &pp->s->st[0];
    const struct ictal_postproc_config *c = &pp->cfg;
    int v, m = 1;
    if (!st->on) {
        v = 0;
        if (p >= c->threshold_on) {
            if (++st->cnt >= c->n_on) {
                st->on = 1;
                st->cnt = 0;
                v = 1;
                m = c->n_on;
            }
        } else {
            st->cnt = 0;
        }
    } else {
        v = 1;
        if (p < c->threshold_off) {
            if (++st->cnt >= c->n_off) {
                st->on = 0;
                st->cnt = 0;
                v = 0;
                m = c->n_off;
            }
        } else {
            st->cnt = 0;
        }
    }
    return line_push(pp, 0, v, m);
}

/* 1.2: a run is 0 until it reaches L_o frames, then all of it is 1. */
static int opening_push(struct ictal_postproc *pp, int x)
{
    struct stage *st = &pp->s->st[1];
    int v = 0, m = 1;
    if (x) {
        if (st->cnt < pp->L_open) {
            if (++st->cnt == pp->L_open) {
                v = 1;
                m = pp->L_open;
            }
        } else {
            v = 1;
        }
    } else {
        st->cnt = 0;
    }
    return line_push(pp, 1, v, m);
}

/* 1.3: a gap is 0 until a 1 closes it; shorter than L_c with a 1 before it,
 * it becomes 1. */
static int closing_push(struct ictal_postproc *pp, int x)
{
    struct stage *st = &pp->s->st[2];
    int m = 1;
    if (x) {
        if (st->on && st->cnt > 0 && st->cnt < pp->L_close)
            m = st->cnt + 1;
        st->on = 1;
        st->cnt = 0;
    } else if (st->cnt < pp->L_close) {
        st->cnt++;
    }
    return line_push(pp, 2, x, m);
}

/* ------------------------------------------------------------------ */
/* The tracker (section 3.1)                                           */

static int64_t hist_base(const struct ictal_postproc *pp)
{
    const struct pp_state *s = pp->s;
    int64_t M = pp->cfg.max_frames;
    return s->g + M * ((s->e - s->g) / M);
}

/* Frame j joins the history (frames since e, in order). */
static void hist_put(struct ictal_postproc *pp, int64_t j, float p, uint32_t meta,
                     const float *scores)
{
    const struct pp_state *s = pp->s;
    int64_t i = j - s->e, off = j - hist_base(pp), M = pp->cfg.max_frames;
    int64_t b = off / M;
    if (i < 0 || i >= pp->hcap || off < 0 || b >= pp->nblocks)
        return; /* cannot happen (see create); keeps a forged image in bounds */
    pp->hp[i] = p;
    float *bs = pp->bs + b * pp->C;
    if (i == 0 || off % M == 0) {
        pp->bm[b] = 0;
        for (int c = 0; c < pp->C; c++)
            bs[c] = -INFINITY;
    }
    pp->bm[b] |= meta;
    if (meta & META_SCORES)
        for (int c = 0; c < pp->C; c++)
            if (scores[c] > bs[c])
                bs[c] = scores[c];
}

/* Frame k is about to join the event: close the segment first if it is
 * full (the "while e - g > M_max" rule, one frame at a time). */
static void segment_step(struct ictal_postproc *pp, int64_t k)
{
    struct pp_state *s = pp->s;
    int64_t M = pp->cfg.max_frames;
    if (k - s->g >= M) {
        emit(pp, ICTAL_EVENT_FINAL, s->g, s->g + M, &pp->seg, s->seg, ICTAL_EVENT_SEGMENTED);
        s->g += M;
        s->seg++;
        acc_reset(pp, &pp->seg);
    }
}

/* A merge candidate is kept at frame j: the gap [e, a) and the run so far,
 * all in the history, join the event in frame order. */
static void hist_fold(struct ictal_postproc *pp, int64_t j)
{
    struct pp_state *s = pp->s;
    int64_t e = s->e, base = hist_base(pp), M = pp->cfg.max_frames;
    int64_t n = j - e + 1;
    if (n > pp->hcap)
        n = pp->hcap;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = e + i, off = k - base;
        segment_step(pp, k);
        if (i == 0 || off % M == 0) {
            int64_t b = off / M;
            if (b < pp->nblocks)
                acc_add_meta(pp, &pp->seg, pp->bm[b], pp->bs + b * pp->C);
        }
        acc_add_p(&pp->seg, pp->hp[i]);
    }
}

/* An alarm's statistics: frames [a, pushed), all still in the frame ring. */
static void emit_alarm(struct ictal_postproc *pp, int64_t a)
{
    struct pp_state *s = pp->s;
    uint64_t from = (uint64_t)a;
    /* a >= pushed - R always; the clamp only bounds the work for a forged image. */
    if (s->pushed > pp->R && from < s->pushed - pp->R)
        from = s->pushed - pp->R;
    acc_reset(pp, &pp->tmp);
    for (uint64_t k = from; k < s->pushed; k++) {
        uint64_t slot = k % pp->R;
        acc_add_p(&pp->tmp, pp->fp[slot]);
        acc_add_meta(pp, &pp->tmp, pp->fm[slot], pp->fs + slot * (uint64_t)pp->C);
    }
    emit(pp, ICTAL_EVENT_ALARM, a, (int64_t)s->pushed, &pp->tmp, 0, 0);
}

static void track(struct ictal_postproc *pp, int c)
{
    struct pp_state *s = pp->s;
    int64_t j = s->t++;
    uint64_t slot = (uint64_t)j % pp->R;
    float p = pp->fp[slot];
    uint32_t meta = pp->fm[slot];
    const float *sc = pp->fs + slot * (uint64_t)pp->C;

    if (c) {
        if (!s->in_run) {
            s->in_run = 1;
            s->a = j;
            s->run_kept = 0;
            /* An open event here has a kept run and a - e < M_gap (3.1). */
            s->cand = s->open;
            if (!s->open) {
                s->open = 1;
                s->has_kept = 0;
                s->id = ++s->last_id;
                acc_reset(pp, &pp->seg);
                emit_alarm(pp, j);
            }
        }
        if (!s->run_kept) {
            if (s->cand) {
                hist_put(pp, j, p, meta, sc);
            } else {
                acc_add_p(&pp->seg, p);
                acc_add_meta(pp, &pp->seg, meta, sc);
            }
            if (j - s->a + 1 >= pp->K) {
                s->run_kept = 1;
                if (s->cand) {
                    hist_fold(pp, j);
                } else {
                    /* K <= M_max: the first run never needs a split here. */
                    s->has_kept = 1;
                    s->g = s->a;
                    s->seg = 1;
                }
                s->e = j + 1;
            }
        } else {
            segment_step(pp, j);
            acc_add_p(&pp->seg, p);
            acc_add_meta(pp, &pp->seg, meta, sc);
            s->e = j + 1;
        }
        return;
    }

    if (s->in_run) {
        s->in_run = 0;
        /* Dropped (shorter than M_min). A dropped merge candidate says
         * nothing: its frames are in the history as gap. */
        if (!s->run_kept && !s->cand) {
            emit(pp, ICTAL_EVENT_CANCEL, s->a, j, &pp->seg, 0, 0);
            s->open = 0;
        }
    }
    if (s->open && s->has_kept) {
        hist_put(pp, j, p, meta, sc);
        if (j - s->e + 1 >= pp->cfg.merge_frames) {
            emit(pp, ICTAL_EVENT_FINAL, s->g, s->e, &pp->seg, s->seg,
                 s->seg > 1 ? ICTAL_EVENT_SEGMENTED : 0u);
            s->open = 0;
            s->has_kept = 0;
        }
    }
}

/* The output of stage k - 1 enters stage k (k == 3: the tracker). */
static void feed(struct ictal_postproc *pp, int k, int v)
{
    if (k <= 1 && (v = opening_push(pp, v)) < 0)
        return;
    if (k <= 2 && (v = closing_push(pp, v)) < 0)
        return;
    track(pp, v);
}

/* ------------------------------------------------------------------ */
/* Public calls                                                        */

int ictal_postproc_process(struct ictal_postproc *pp, const float *prob, const float *scores,
                           const uint8_t *frame_flags, size_t n, const struct ictal_event_sink *sink)
{
    if (!pp)
        return ICTAL_EINVAL;
    if (pp->s->flushed)
        return ICTAL_ESTATE;
    if (!prob && n > 0)
        return ICTAL_EINVAL;
    const int C = pp->C;
    if (C == 0)
        scores = NULL;
    pp->sink = sink;
    pp->flushing = 0;
    for (size_t i = 0; i < n; i++) {
        struct pp_state *s = pp->s;
        float p = prob[i];
        if (!isfinite(p))
            p = 0.0f;
        uint64_t slot = s->pushed % pp->R;
        uint32_t meta = frame_flags ? frame_flags[i] : 0u;
        pp->fp[slot] = p;
        if (scores) {
            const float *src = scores + i * (size_t)C;
            float *dst = pp->fs + slot * (uint64_t)C;
            for (int c = 0; c < C; c++)
                dst[c] = isfinite(src[c]) ? src[c] : 0.0f;
            meta |= META_SCORES;
        }
        pp->fm[slot] = (uint16_t)meta;
        s->pushed++;
        int h = hysteresis_push(pp, p);
        if (h >= 0)
            feed(pp, 1, h);
    }
    pp->sink = NULL;
    return 0;
}

int ictal_postproc_flush(struct ictal_postproc *pp, const struct ictal_event_sink *sink)
{
    if (!pp)
        return ICTAL_EINVAL;
    struct pp_state *s = pp->s;
    if (s->flushed)
        return 0;
    pp->sink = sink;
    pp->flushing = 1;
    /* Drain each line in turn; what it holds are the end-of-array values. */
    for (int k = 0; k < 3; k++) {
        uint64_t t = s->st[k].t, d = (uint64_t)pp->d[k], R = d + 1;
        for (uint64_t f = t > d ? t - d : 0; f < t; f++)
            feed(pp, k + 1, pp->line[k][f % R]);
    }
    /* 3.2: end of stream. */
    if (s->in_run && !s->run_kept && !s->cand) {
        emit(pp, ICTAL_EVENT_CANCEL, s->a, (int64_t)s->pushed, &pp->seg, 0, 0);
        s->open = 0;
    }
    s->in_run = 0;
    if (s->open && s->has_kept)
        emit(pp, ICTAL_EVENT_FINAL, s->g, s->e, &pp->seg, s->seg,
             s->seg > 1 ? ICTAL_EVENT_SEGMENTED : 0u);
    s->open = 0;
    s->has_kept = 0;
    s->flushed = 1;
    pp->sink = NULL;
    pp->flushing = 0;
    return 0;
}

int ictal_postproc_delay(const struct ictal_postproc *pp)
{
    return pp ? pp->D : 0;
}

int ictal_postproc_alarm_active(const struct ictal_postproc *pp)
{
    return pp ? pp->s->open != 0 : 0;
}

uint64_t ictal_postproc_frames_pushed(const struct ictal_postproc *pp)
{
    return pp ? pp->s->pushed : 0;
}

size_t ictal_postproc_state_size(const struct ictal_postproc *pp)
{
    return pp ? pp->state_bytes : 0;
}

int ictal_postproc_state_save(const struct ictal_postproc *pp, void *buf, size_t cap)
{
    if (!pp || !buf)
        return ICTAL_EINVAL;
    if (cap < pp->state_bytes)
        return ICTAL_ERANGE;
    memcpy(buf, pp->arena, pp->state_bytes);
    return 0;
}

int ictal_postproc_state_load(struct ictal_postproc *pp, const void *buf, size_t len)
{
    if (!pp || !buf || len != pp->state_bytes)
        return ICTAL_EINVAL;
    struct pp_state h;
    memcpy(&h, buf, sizeof h);
    if (h.magic != STATE_MAGIC || h.fingerprint != pp->fingerprint || h.bytes != pp->state_bytes)
        return ICTAL_EINVAL;
    memcpy(pp->arena, buf, pp->state_bytes);
    return 0;
}

size_t ictal_postproc_memory(const struct ictal_postproc *pp)
{
    return pp ? sizeof *pp + pp->arena_bytes : 0;
}
