/*
 * postproc_oracle.c — the whole-array oracle of docs/postproc.md (see
 * postproc_oracle.h). Written from the document only, never from
 * src/postproc.c: section 1 as functions of whole arrays, section 3.3's
 * whole-array derivation of the records and of the frame each is made at,
 * section 4's statistics computed directly from their definitions.
 */
#include "postproc_oracle.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "postproc_oracle: out of memory\n");
        abort();
    }
    return p;
}

static int imax(int a, int b)
{
    return a > b ? a : b;
}

int pp_oracle_delay(const struct ictal_postproc_config *cfg)
{
    return (imax(cfg->n_on, cfg->n_off) - 1) + imax(cfg->opening - 1, 0) +
           imax(cfg->closing - 1, 0);
}

float pp_oracle_prob(float p)
{
    return isfinite(p) ? p : 0.0f;
}

/* 1.1: the two-state machine, literally. A frame gets the state it is read
 * in; reaching n_on (n_off) rewrites the whole counted run. Pending counts at
 * the end keep the state's value, as the document says. */
void pp_oracle_hysteresis(const struct ictal_postproc_config *cfg, const float *prob, size_t n,
                          uint8_t *h)
{
    int on = 0;
    size_t count = 0, first = 0;
    for (size_t j = 0; j < n; j++) {
        float p = pp_oracle_prob(prob[j]);
        if (!on) {
            h[j] = 0;
            if (p >= cfg->threshold_on) {
                if (count == 0)
                    first = j;
                if (++count == (size_t)cfg->n_on) {
                    for (size_t k = first; k <= j; k++)
                        h[k] = 1;
                    on = 1;
                    count = 0;
                }
            } else {
                count = 0;
            }
        } else {
            h[j] = 1;
            if (p < cfg->threshold_off) {
                if (count == 0)
                    first = j;
                if (++count == (size_t)cfg->n_off) {
                    for (size_t k = first; k <= j; k++)
                        h[k] = 0;
                    on = 0;
                    count = 0;
                }
            } else {
                count = 0;
            }
        }
    }
}

/* Maximal runs of value v in x: [starts[i], ends[i]), in order; returns how many. */
static size_t runs_of(const uint8_t *x, size_t n, uint8_t v, size_t *starts, size_t *ends)
{
    size_t m = 0;
    size_t j = 0;
    while (j < n) {
        if (x[j] != v) {
            j++;
            continue;
        }
        size_t a = j;
        while (j < n && x[j] == v)
            j++;
        starts[m] = a;
        ends[m] = j;
        m++;
    }
    return m;
}

void pp_oracle_opening(const uint8_t *in, size_t n, int len, uint8_t *out)
{
    size_t *a = xcalloc(n / 2 + 1, sizeof *a);
    size_t *b = xcalloc(n / 2 + 1, sizeof *b);
    size_t m = runs_of(in, n, 1, a, b);
    if (out != in)
        memcpy(out, in, n);
    for (size_t i = 0; i < m; i++)
        if ((int64_t)(b[i] - a[i]) < (int64_t)len)
            memset(out + a[i], 0, b[i] - a[i]);
    free(a);
    free(b);
}

void pp_oracle_closing(const uint8_t *in, size_t n, int len, uint8_t *out)
{
    size_t *a = xcalloc(n / 2 + 1, sizeof *a);
    size_t *b = xcalloc(n / 2 + 1, sizeof *b);
    size_t m = runs_of(in, n, 0, a, b);
    if (out != in)
        memcpy(out, in, n);
    for (size_t i = 0; i < m; i++)
        if (a[i] > 0 && b[i] < n && (int64_t)(b[i] - a[i]) < (int64_t)len)
            memset(out + a[i], 1, b[i] - a[i]);
    free(a);
    free(b);
}

void pp_oracle_ictal(const struct ictal_postproc_config *cfg, const float *prob, size_t n,
                     uint8_t *c)
{
    pp_oracle_hysteresis(cfg, prob, n, c);
    pp_oracle_opening(c, n, cfg->opening, c);
    pp_oracle_closing(c, n, cfg->closing, c);
}

/* ---- section 4 ---------------------------------------------------------- */

static int percentile_bin(float p)
{
    float q = p < 0.0f ? 0.0f : (p > 1.0f ? 1.0f : p);
    int b = (int)((double)q * 1024.0);
    return b > 1023 ? 1023 : b;
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* The rank r = max(1, ceil(q/100 * N)) in double, then: sort the frames' bins,
 * the r-th smallest is the lowest bin whose cumulative count reaches r; the
 * answer is the largest p among the frames in that bin. */
static float percentile_of(const float *p, size_t n, float q)
{
    double x = (double)q / 100.0 * (double)n;
    size_t r = (size_t)x;
    if ((double)r < x)
        r++;
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    int *bins = xcalloc(n, sizeof *bins);
    for (size_t k = 0; k < n; k++)
        bins[k] = percentile_bin(p[k]);
    qsort(bins, n, sizeof *bins, cmp_int);
    int target = bins[r - 1];
    free(bins);
    int have = 0;
    float best = 0.0f;
    for (size_t k = 0; k < n; k++) {
        if (percentile_bin(p[k]) != target)
            continue;
        if (!have || p[k] > best)
            best = p[k];
        have = 1;
    }
    return best;
}

void pp_oracle_stats(const struct ictal_postproc_config *cfg, const float *prob,
                     const float *scores, const uint8_t *frame_flags, int64_t start, int64_t end,
                     struct ictal_event *ev)
{
    size_t n = (size_t)(end - start);
    float *p = xcalloc(n, sizeof *p);
    for (size_t k = 0; k < n; k++)
        p[k] = pp_oracle_prob(prob[(size_t)start + k]);

    float peak = p[0];
    double sum = 0.0;
    for (size_t k = 0; k < n; k++) {
        if (p[k] > peak)
            peak = p[k];
        sum += (double)p[k];
    }
    ev->peak = peak;
    ev->method = cfg->confidence;
    ev->percentile = cfg->percentile;
    switch (cfg->confidence) {
    case ICTAL_CONFIDENCE_MEAN:
        ev->confidence = (float)(sum / (double)n);
        break;
    case ICTAL_CONFIDENCE_PEAK:
        ev->confidence = peak;
        break;
    case ICTAL_CONFIDENCE_PERCENTILE:
        ev->confidence = percentile_of(p, n, cfg->percentile);
        break;
    default:
        ev->confidence = 0.0f;
        break;
    }
    free(p);

    uint32_t flags = 0;
    if (frame_flags)
        for (int64_t k = start; k < end; k++)
            flags |= frame_flags[k];
    ev->flags = flags;

    ev->n_channels = cfg->n_channels;
    memset(ev->channels, 0, sizeof ev->channels);
    int nc = cfg->n_channels;
    if (scores && nc > 0) {
        float *mx = xcalloc((size_t)nc, sizeof *mx);
        for (int c = 0; c < nc; c++) {
            mx[c] = scores[(size_t)start * (size_t)nc + (size_t)c];
            for (int64_t k = start; k < end; k++) {
                float s = scores[(size_t)k * (size_t)nc + (size_t)c];
                if (s > mx[c])
                    mx[c] = s;
            }
        }
        int any = 0;
        for (int c = 0; c < nc; c++) {
            if (mx[c] >= cfg->threshold_on) {
                ev->channels[c / 64] |= (uint64_t)1 << (c % 64);
                any = 1;
            }
        }
        if (!any) {
            int best = 0;
            for (int c = 1; c < nc; c++)
                if (mx[c] > mx[best])
                    best = c;
            ev->channels[best / 64] |= (uint64_t)1 << (best % 64);
        }
        free(mx);
    }
}

/* ---- section 3.3 -------------------------------------------------------- */

/* A record with the c-frame x it is made at. Order: by x, end-of-stream
 * records last; at one frame CANCEL, FINAL (an event's last), ALARM, then
 * segment FINALs by number. */
struct pending {
    struct ictal_event ev;
    int eos;      /* made at the end of the stream (3.2's last sentence) */
    int64_t x;    /* c-frame; n for end-of-stream */
    int rank;     /* 0 cancel, 1 last final, 2 alarm, 3 segment final */
    size_t order; /* creation order: a total order for qsort */
};

struct pending_list {
    struct pending *v;
    size_t n, cap;
};

static struct pending *pending_add(struct pending_list *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        struct pending *v = realloc(l->v, l->cap * sizeof *v);
        if (!v) {
            fprintf(stderr, "postproc_oracle: out of memory\n");
            abort();
        }
        l->v = v;
    }
    struct pending *r = &l->v[l->n];
    memset(r, 0, sizeof *r);
    r->order = l->n;
    l->n++;
    return r;
}

static int cmp_pending(const void *x, const void *y)
{
    const struct pending *a = x, *b = y;
    if (a->eos != b->eos)
        return a->eos - b->eos;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank - b->rank;
    if (a->ev.segment != b->ev.segment)
        return a->ev.segment < b->ev.segment ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order);
}

struct ctx {
    const struct ictal_postproc_config *cfg;
    const float *prob;
    const float *scores;
    const uint8_t *flags;
    int64_t n, D;
    struct pending_list out;
};

/* A record made at c-frame x (x >= n: end of stream) covering [start, end). */
static struct pending *make(struct ctx *cx, enum ictal_event_kind kind, uint64_t id, int64_t x,
                            int eos, int rank, int64_t start, int64_t end)
{
    struct pending *r = pending_add(&cx->out);
    int flushed = eos || x + cx->D >= cx->n;
    r->eos = eos;
    r->x = eos ? cx->n : x;
    r->rank = rank;
    r->ev.kind = kind;
    r->ev.id = id;
    r->ev.emit_frame = flushed ? cx->n : x + cx->D + 1;
    if (kind == ICTAL_EVENT_ALARM)
        end = r->ev.emit_frame; /* one past the newest frame pushed */
    r->ev.start_frame = start;
    r->ev.end_frame = end;
    pp_oracle_stats(cx->cfg, cx->prob, cx->scores, cx->flags, start, end, &r->ev);
    if (flushed)
        r->ev.flags |= ICTAL_EVENT_FLUSHED;
    return r;
}

struct run {
    int64_t a, b;
    int kept;
};

/* The FINAL records of the event made of the kept runs among runs[first..last]
 * (first and last are kept): its segments ending at y = s + i*M_max, made when
 * the first kept run ending after y has reached K frames and covers y, and its
 * last segment [g, E), made at the first 0 frame x >= E + max(M_gap,1) - 1. */
static void emit_event(struct ctx *cx, const uint8_t *c, const struct run *runs, size_t first,
                       size_t last, uint64_t id)
{
    const int64_t Mgap = cx->cfg->merge_frames, Mmax = cx->cfg->max_frames;
    const int64_t K = cx->cfg->min_frames > 1 ? cx->cfg->min_frames : 1;
    int64_t s = runs[first].a, E = runs[last].b, L = E - s;
    int64_t nseg = L <= Mmax ? 1 : (L + Mmax - 1) / Mmax;
    for (int64_t i = 1; i < nseg; i++) {
        int64_t y = s + i * Mmax;
        size_t r = first;
        while (!(runs[r].kept && runs[r].b > y))
            r++;
        int64_t kept_at = runs[r].a + K - 1;
        int64_t x = y > kept_at ? y : kept_at;
        struct pending *p = make(cx, ICTAL_EVENT_FINAL, id, x, 0, 3, y - Mmax, y);
        p->ev.segment = (int32_t)i;
        p->ev.flags |= ICTAL_EVENT_SEGMENTED;
    }
    int64_t x = E + (Mgap > 1 ? Mgap : 1) - 1;
    while (x < cx->n && c[x] != 0)
        x++;
    struct pending *p =
        make(cx, ICTAL_EVENT_FINAL, id, x, x >= cx->n, 1, s + (nseg - 1) * Mmax, E);
    p->ev.segment = (int32_t)nseg;
    if (nseg > 1)
        p->ev.flags |= ICTAL_EVENT_SEGMENTED;
}

size_t pp_oracle_records(const struct ictal_postproc_config *cfg, const uint8_t *c,
                         const float *prob, const float *scores, const uint8_t *frame_flags,
                         size_t n, struct ictal_event **out)
{
    struct ctx cx = { .cfg = cfg, .prob = prob, .scores = scores, .flags = frame_flags,
                      .n = (int64_t)n, .D = pp_oracle_delay(cfg) };
    const int64_t Mmin = cfg->min_frames, Mgap = cfg->merge_frames;

    /* The runs of c, and which are kept. */
    size_t *ra = xcalloc(n / 2 + 1, sizeof *ra);
    size_t *rb = xcalloc(n / 2 + 1, sizeof *rb);
    size_t nruns = runs_of(c, n, 1, ra, rb);
    struct run *runs = xcalloc(nruns, sizeof *runs);
    for (size_t i = 0; i < nruns; i++) {
        runs[i].a = (int64_t)ra[i];
        runs[i].b = (int64_t)rb[i];
        runs[i].kept = runs[i].b - runs[i].a >= Mmin;
    }
    free(ra);
    free(rb);

    /* Walk the runs in order. An event is a maximal group of kept runs with
     * gaps < M_gap (ids in alarm order, i.e. by start frame, which is also
     * the order of the alarms of dropped non-candidate runs). */
    uint64_t next_id = 1;
    int have_kept = 0;
    int64_t last_kept_end = 0;
    size_t ev_first = 0; /* index of the open event's first kept run */
    size_t ev_last = 0;  /* index of its last kept run */
    int ev_open = 0;
    uint64_t ev_id = 0;

    for (size_t i = 0; i < nruns; i++) {
        const struct run *r = &runs[i];
        if (r->kept) {
            if (ev_open && r->a - last_kept_end < Mgap) {
                ev_last = i; /* merged */
            } else {
                if (ev_open)
                    emit_event(&cx, c, runs, ev_first, ev_last, ev_id);
                ev_open = 1;
                ev_first = ev_last = i;
                ev_id = next_id++;
                make(&cx, ICTAL_EVENT_ALARM, ev_id, r->a, 0, 2, r->a, 0);
            }
            have_kept = 1;
            last_kept_end = r->b;
        } else {
            int candidate = have_kept && r->a - last_kept_end < Mgap;
            if (!candidate) {
                uint64_t id = next_id++;
                make(&cx, ICTAL_EVENT_ALARM, id, r->a, 0, 2, r->a, 0);
                make(&cx, ICTAL_EVENT_CANCEL, id, r->b, r->b >= cx.n, 0, r->a, r->b);
            }
        }
    }
    if (ev_open)
        emit_event(&cx, c, runs, ev_first, ev_last, ev_id);
    free(runs);

    if (cx.out.n)
        qsort(cx.out.v, cx.out.n, sizeof *cx.out.v, cmp_pending);
    size_t m = cx.out.n;
    struct ictal_event *ev = NULL;
    if (m) {
        ev = xcalloc(m, sizeof *ev);
        for (size_t i = 0; i < m; i++)
            ev[i] = cx.out.v[i].ev;
    }
    free(cx.out.v);
    *out = ev;
    return m;
}

size_t pp_oracle_run(const struct ictal_postproc_config *cfg, const float *prob,
                     const float *scores, const uint8_t *frame_flags, size_t n,
                     struct ictal_event **out)
{
    uint8_t *c = xcalloc(n, 1);
    pp_oracle_ictal(cfg, prob, n, c);
    size_t m = pp_oracle_records(cfg, c, prob, scores, frame_flags, n, out);
    free(c);
    return m;
}

/* ---- comparison and printing ---------------------------------------------- */

static int same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

int pp_oracle_event_diff(const struct ictal_event *want, const struct ictal_event *got,
                         char *what, size_t cap)
{
    char tmp[256];
    tmp[0] = '\0';
#define DIFF_INT(field, fmt, type)                                                         \
    if (want->field != got->field) {                                                       \
        snprintf(tmp, sizeof tmp, #field ": want %" fmt ", got %" fmt, (type)want->field, \
                 (type)got->field);                                                        \
        goto differ;                                                                       \
    }
#define DIFF_FLOAT(field, same)                                                            \
    if (!same(want->field, got->field)) {                                                  \
        snprintf(tmp, sizeof tmp, #field ": want %.9g (%a), got %.9g (%a)",                \
                 (double)want->field, (double)want->field, (double)got->field,             \
                 (double)got->field);                                                      \
        goto differ;                                                                       \
    }
    DIFF_INT(kind, "d", int)
    DIFF_INT(id, PRIu64, uint64_t)
    DIFF_INT(segment, PRId32, int32_t)
    DIFF_INT(start_frame, PRId64, int64_t)
    DIFF_INT(end_frame, PRId64, int64_t)
    DIFF_INT(emit_frame, PRId64, int64_t)
    DIFF_INT(flags, "#" PRIx32, uint32_t)
    DIFF_FLOAT(confidence, same_float)
    DIFF_FLOAT(peak, same_float)
    DIFF_INT(method, "d", int)
    if (!same_float(want->percentile, got->percentile) &&
        !(want->method != ICTAL_CONFIDENCE_PERCENTILE && same_float(got->percentile, 0.0f))) {
        DIFF_FLOAT(percentile, same_float)
    }
    DIFF_INT(n_channels, PRId32, int32_t)
    for (size_t w = 0; w < sizeof want->channels / sizeof want->channels[0]; w++) {
        if (want->channels[w] != got->channels[w]) {
            snprintf(tmp, sizeof tmp, "channels[%zu]: want %#" PRIx64 ", got %#" PRIx64, w,
                     want->channels[w], got->channels[w]);
            goto differ;
        }
    }
    DIFF_INT(start_sample, PRId64, int64_t)
    DIFF_INT(end_sample, PRId64, int64_t)
    DIFF_INT(emit_sample, PRId64, int64_t)
    DIFF_FLOAT(start_s, same_double)
    DIFF_FLOAT(end_s, same_double)
    DIFF_FLOAT(emit_s, same_double)
#undef DIFF_INT
#undef DIFF_FLOAT
    if (what && cap)
        what[0] = '\0';
    return 0;
differ:
    if (what && cap)
        snprintf(what, cap, "%s", tmp);
    return 1;
}

static const char *kind_str(int kind)
{
    switch (kind) {
    case ICTAL_EVENT_ALARM: return "ALARM";
    case ICTAL_EVENT_CANCEL: return "CANCEL";
    case ICTAL_EVENT_FINAL: return "FINAL";
    default: return "?";
    }
}

void pp_oracle_event_format(const struct ictal_event *ev, char *buf, size_t cap)
{
    char ch[128];
    size_t used = 0;
    ch[0] = '\0';
    for (int c = 0; c < ICTAL_EVENT_MAX_CHANNELS && used + 8 < sizeof ch; c++)
        if ((ev->channels[c / 64] >> (c % 64)) & 1u)
            used += (size_t)snprintf(ch + used, sizeof ch - used, "%s%d", used ? "," : "", c);
    snprintf(buf, cap,
             "%s id %" PRIu64 " seg %" PRId32 " [%" PRId64 ",%" PRId64 ") emit %" PRId64
             " flags %#" PRIx32 " conf %.9g (%a) peak %.9g method %d pct %.9g nch %" PRId32
             " ch {%s}",
             kind_str(ev->kind), ev->id, ev->segment, ev->start_frame, ev->end_frame,
             ev->emit_frame, ev->flags, (double)ev->confidence, (double)ev->confidence,
             (double)ev->peak, (int)ev->method, (double)ev->percentile, ev->n_channels, ch);
}

void pp_oracle_config_format(const struct ictal_postproc_config *cfg, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "{ .threshold_on = %.9gf, .threshold_off = %.9gf, .n_on = %d, .n_off = %d, "
             ".opening = %d, .closing = %d, .min_frames = %d, .merge_frames = %d, "
             ".max_frames = %d, .confidence = %d, .percentile = %.9gf, .n_channels = %d } "
             "(delay %d)",
             (double)cfg->threshold_on, (double)cfg->threshold_off, cfg->n_on, cfg->n_off,
             cfg->opening, cfg->closing, cfg->min_frames, cfg->merge_frames, cfg->max_frames,
             (int)cfg->confidence, (double)cfg->percentile, cfg->n_channels,
             pp_oracle_delay(cfg));
}
