/*
 * score.c — SzCORE event/sample scoring, NEDC OVLP and detection latency on
 * arrays of events (ictal/score.h). The rules and their sources are in
 * docs/scoring.md; the comments here say which rule each step implements.
 *
 * Everything works on sorted interval lists, never on per-sample masks, so a
 * day-long recording costs the same as a minute. "Overlap" always means
 * a.start < b.end && a.end > b.start: with half-open spans of positive length
 * that is a shared instant, which is what timescoring's 10 Hz masks test
 * (every boundary here is a multiple of the label step and the tolerances,
 * all multiples of 0.1 s at the defaults).
 */
#include "ictal/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Against decimal noise: 0.3 / 0.1 is 2.9999999999999996, which must give
 * label 3, as a person reading "0.3 s at 0.1 s labels" expects. */
#define LABEL_EPS 1e-9

/* Most labels a recording may have (about 68 years at 1 s). */
#define MAX_LABELS ((int64_t)INT32_MAX)

void ictal_score_params_default(struct ictal_score_params *p)
{
    p->pre_tolerance_s = 30.0;
    p->post_tolerance_s = 60.0;
    p->merge_gap_s = 90.0;
    p->max_event_s = 300.0;
    p->sample_step_s = 1.0;
}

int ictal_score_params_check(const struct ictal_score_params *p, struct ictal_error *err)
{
    static const struct { const char *name; size_t off; bool positive; } f[] = {
        { "pre_tolerance", offsetof(struct ictal_score_params, pre_tolerance_s), false },
        { "post_tolerance", offsetof(struct ictal_score_params, post_tolerance_s), false },
        { "merge_gap", offsetof(struct ictal_score_params, merge_gap_s), false },
        { "max_event", offsetof(struct ictal_score_params, max_event_s), true },
        { "sample_step", offsetof(struct ictal_score_params, sample_step_s), true },
    };
    if (!p)
        return ictal_error_set(err, ICTAL_EINVAL, "no scoring parameters");
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        double v;
        memcpy(&v, (const char *)p + f[i].off, sizeof v);
        if (!isfinite(v) || v < 0 || (f[i].positive && v <= 0))
            return ictal_error_set(err, ICTAL_EINVAL, "scoring parameter %s = %g s must be %s",
                                   f[i].name, v, f[i].positive ? "> 0" : ">= 0");
    }
    return 0;
}

/* ---- small helpers --------------------------------------------------------- */

static int cmp_interval(const void *a, const void *b)
{
    const struct ictal_score_interval *x = a, *y = b;
    if (x->start_s != y->start_s)
        return x->start_s < y->start_s ? -1 : 1;
    if (x->end_s != y->end_s)
        return x->end_s < y->end_s ? -1 : 1;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A sorted (by start) list with the running maximum of the ends, so that
 * "does any span overlap [s, e)?" is one binary search. */
struct span_index {
    const struct ictal_score_interval *v;
    size_t n;
    double *pmax; /* pmax[i] = max end of v[0..i] */
};

static int index_build(struct span_index *ix, const struct ictal_score_interval *v, size_t n)
{
    ix->v = v;
    ix->n = n;
    ix->pmax = malloc((n ? n : 1) * sizeof *ix->pmax);
    if (!ix->pmax)
        return ICTAL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ix->pmax[i] = i == 0 ? v[i].end_s : fmax(ix->pmax[i - 1], v[i].end_s);
    return 0;
}

/* Some v[i] with v[i].start < e and v[i].end > s? (NEDC's get_events test.) */
static bool index_overlaps(const struct span_index *ix, double s, double e)
{
    size_t lo = 0, hi = ix->n; /* first index whose start >= e */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->v[mid].start_s < e)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && ix->pmax[lo - 1] > s;
}

static void index_free(struct span_index *ix)
{
    free(ix->pmax);
    ix->pmax = NULL;
}

static int check_events(const char *what, const struct ictal_score_interval *v, size_t n,
                        struct ictal_error *err)
{
    if (n > 0 && !v)
        return ictal_error_set(err, ICTAL_EINVAL, "%s events: NULL array", what);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i].start_s) || !isfinite(v[i].end_s) || v[i].start_s < 0 ||
            v[i].end_s < v[i].start_s)
            return ictal_error_set(err, ICTAL_EINVAL,
                                   "%s event %zu [%g, %g) s: needs 0 <= start <= end, finite",
                                   what, i + 1, v[i].start_s, v[i].end_s);
    return 0;
}

static int64_t label_of(double t, double step)
{
    double x = floor(t / step + LABEL_EPS);
    return x < 0 ? 0 : x > (double)MAX_LABELS ? MAX_LABELS + 1 : (int64_t)x;
}

/* ---- rasterising (epilepsy2bids getMask, then Annotation(mask) runs) ------- */

struct run {
    int64_t a, b; /* labels [a, b) */
};

static int cmp_run(const void *x, const void *y)
{
    const struct run *p = x, *q = y;
    return p->a != q->a ? (p->a < q->a ? -1 : 1) : (p->b < q->b ? -1 : p->b > q->b);
}

/* Events → sorted disjoint runs of labels in [0, nlab); touching runs join,
 * as they do in a mask. *runs malloc'd. */
static int rasterise(const struct ictal_score_interval *v, size_t n, double step, int64_t nlab,
                     struct run **runs, size_t *nruns, size_t *lost)
{
    struct run *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return ICTAL_ENOMEM;
    size_t k = 0, gone = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t a = label_of(v[i].start_s, step), b = label_of(v[i].end_s, step);
        if (b > nlab)
            b = nlab;
        if (b <= a) {
            gone++;
            continue;
        }
        r[k].a = a;
        r[k].b = b;
        k++;
    }
    qsort(r, k, sizeof *r, cmp_run);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && r[i].a <= r[m - 1].b) {
            if (r[i].b > r[m - 1].b)
                r[m - 1].b = r[i].b;
        } else {
            r[m++] = r[i];
        }
    }
    *runs = r;
    *nruns = m;
    if (lost)
        *lost = gone;
    return 0;
}

static int64_t run_total(const struct run *r, size_t n)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += r[i].b - r[i].a;
    return s;
}

/* Labels in both (two sorted disjoint lists). */
static int64_t run_intersection(const struct run *x, size_t nx, const struct run *y, size_t ny)
{
    int64_t s = 0;
    size_t i = 0, j = 0;
    while (i < nx && j < ny) {
        int64_t a = x[i].a > y[j].a ? x[i].a : y[j].a;
        int64_t b = x[i].b < y[j].b ? x[i].b : y[j].b;
        if (b > a)
            s += b - a;
        if (x[i].b < y[j].b)
            i++;
        else
            j++;
    }
    return s;
}

/* Runs → events in seconds, merged (gap < merge_gap, timescoring
 * _mergeNeighbouringEvents) and then split (> max_event, _splitLongEvents:
 * pieces of max_event from the onset, the remainder last). */
static int szcore_from_runs(const struct ictal_score_params *p, const struct run *r, size_t n,
                            struct ictal_score_interval **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return 0;
    struct ictal_score_interval *m = malloc(n * sizeof *m);
    if (!m)
        return ICTAL_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double s = (double)r[i].a * p->sample_step_s, e = (double)r[i].b * p->sample_step_s;
        if (k > 0 && s - m[k - 1].end_s < p->merge_gap_s) {
            m[k - 1].end_s = e;
        } else {
            m[k].start_s = s;
            m[k].end_s = e;
            k++;
        }
    }
    size_t pieces = 0;
    for (size_t i = 0; i < k; i++) {
        double len = m[i].end_s - m[i].start_s;
        double q = len > p->max_event_s ? ceil(len / p->max_event_s) + 1 : 1;
        if (q > 1e8) {
            free(m);
            return ICTAL_ERANGE;
        }
        pieces += (size_t)q;
    }
    struct ictal_score_interval *o = malloc(pieces * sizeof *o);
    if (!o) {
        free(m);
        return ICTAL_ENOMEM;
    }
    size_t j = 0;
    for (size_t i = 0; i < k; i++) {
        double s = m[i].start_s, e = m[i].end_s;
        while (e - s > p->max_event_s && j + 1 < pieces) {
            o[j].start_s = s;
            o[j].end_s = s + p->max_event_s;
            j++;
            s += p->max_event_s;
        }
        o[j].start_s = s;
        o[j].end_s = e;
        j++;
    }
    free(m);
    *out = o;
    *n_out = j;
    return 0;
}

static int label_count(const struct ictal_score_params *p, double duration_s, int64_t *nlab,
                       struct ictal_error *err)
{
    int rc = ictal_score_params_check(p, err);
    if (rc < 0)
        return rc;
    if (!isfinite(duration_s) || duration_s <= 0)
        return ictal_error_set(err, ICTAL_EINVAL,
                               "recording duration %g s: must be known and > 0", duration_s);
    *nlab = label_of(duration_s, p->sample_step_s);
    if (*nlab > MAX_LABELS)
        return ictal_error_set(err, ICTAL_ERANGE,
                               "recording of %g s has more than 2^31 labels of %g s",
                               duration_s, p->sample_step_s);
    return 0;
}

int ictal_score_szcore_events(const struct ictal_score_params *p, double duration_s,
                              const struct ictal_score_interval *in, size_t n,
                              struct ictal_score_interval **out, size_t *n_out,
                              size_t *lost, struct ictal_error *err)
{
    *out = NULL;
    *n_out = 0;
    int64_t nlab = 0;
    int rc = label_count(p, duration_s, &nlab, err);
    if (rc < 0)
        return rc;
    if ((rc = check_events("input", in, n, err)) < 0)
        return rc;
    struct run *r;
    size_t nr;
    if (rasterise(in, n, p->sample_step_s, nlab, &r, &nr, lost) < 0)
        return ictal_error_set(err, ICTAL_ENOMEM, "out of memory");
    rc = szcore_from_runs(p, r, nr, out, n_out);
    free(r);
    if (rc < 0)
        return ictal_error_set(err, rc, rc == ICTAL_ENOMEM ? "out of memory"
                                                           : "too many split pieces");
    return 0;
}

/* ---- NEDC OVLP ------------------------------------------------------------- */

/* The complement of the union of v (sorted) inside [0, d]: NEDC fills the
 * time no event covers with BCKG. */
static int complement(const struct ictal_score_interval *v, size_t n, double d,
                      struct ictal_score_interval **out, size_t *n_out)
{
    struct ictal_score_interval *c = malloc((n + 1) * sizeof *c);
    if (!c)
        return ICTAL_ENOMEM;
    size_t k = 0;
    double t = 0;
    for (size_t i = 0; i < n && t < d; i++) {
        if (v[i].start_s > t) {
            c[k].start_s = t;
            c[k].end_s = fmin(v[i].start_s, d);
            k++;
        }
        if (v[i].end_s > t)
            t = v[i].end_s;
    }
    if (t < d) {
        c[k].start_s = t;
        c[k].end_s = d;
        k++;
    }
    *out = c;
    *n_out = k;
    return 0;
}

/* Hits of ref (overlapped by some hyp) and false alarms of hyp (overlapping
 * no ref), both sorted by start. */
static int ovlp_count(const struct ictal_score_interval *ref, size_t nr,
                      const struct ictal_score_interval *hyp, size_t nh, int64_t *hits,
                      int64_t *fal)
{
    struct span_index ri, hi;
    if (index_build(&ri, ref, nr) < 0)
        return ICTAL_ENOMEM;
    if (index_build(&hi, hyp, nh) < 0) {
        index_free(&ri);
        return ICTAL_ENOMEM;
    }
    *hits = 0;
    *fal = 0;
    for (size_t i = 0; i < nr; i++)
        *hits += index_overlaps(&hi, ref[i].start_s, ref[i].end_s);
    for (size_t i = 0; i < nh; i++)
        *fal += !index_overlaps(&ri, hyp[i].start_s, hyp[i].end_s);
    index_free(&ri);
    index_free(&hi);
    return 0;
}

static int score_ovlp(const struct ictal_score_interval *ref, size_t nr,
                      const struct ictal_score_interval *hyp, size_t nh, double d,
                      struct ictal_score_ovlp_counts *o)
{
    memset(o, 0, sizeof *o);
    o->ref_events = (int64_t)nr;
    o->hyp_events = (int64_t)nh;
    o->duration_s = d;
    int rc = ovlp_count(ref, nr, hyp, nh, &o->hits, &o->false_alarms);
    if (rc < 0)
        return rc;
    o->misses = o->ref_events - o->hits;
    struct ictal_score_interval *rb = NULL, *hb = NULL;
    size_t nrb = 0, nhb = 0;
    if (complement(ref, nr, d, &rb, &nrb) < 0 || complement(hyp, nh, d, &hb, &nhb) < 0) {
        free(rb);
        return ICTAL_ENOMEM;
    }
    rc = ovlp_count(rb, nrb, hb, nhb, &o->bckg_hits, &o->bckg_false_alarms);
    o->bckg_ref = (int64_t)nrb;
    o->bckg_misses = o->bckg_ref - o->bckg_hits;
    free(rb);
    free(hb);
    return rc;
}

/* ---- one recording --------------------------------------------------------- */

void ictal_score_file_free(struct ictal_score_file *f)
{
    if (!f)
        return;
    free(f->ref);
    free(f->hyp);
    free(f->lat);
    memset(f, 0, sizeof *f);
}

static struct ictal_score_interval *sorted_copy(const struct ictal_score_interval *v, size_t n)
{
    struct ictal_score_interval *c = malloc((n ? n : 1) * sizeof *c);
    if (!c)
        return NULL;
    if (n)
        memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_interval);
    return c;
}

/* Latency: every reference event as given, its window [s - pre, e + post]
 * within [0, d], the alarm with the smallest emit time whose event overlaps
 * the window. */
static int score_latency(const struct ictal_score_params *p, double d,
                         const struct ictal_score_interval *ref, size_t nr,
                         const struct ictal_score_alarm *al, size_t na,
                         struct ictal_score_file *out, struct ictal_error *err)
{
    for (size_t j = 0; j < na; j++)
        if (!isfinite(al[j].emit_s) || !isfinite(al[j].start_s) || !isfinite(al[j].end_s) ||
            al[j].end_s < al[j].start_s)
            return ictal_error_set(err, ICTAL_EINVAL,
                                   "alarm %zu: emit %g s, event [%g, %g) s: needs finite "
                                   "times and end >= start", j + 1, al[j].emit_s,
                                   al[j].start_s, al[j].end_s);
    out->has_latency = true;
    out->lat = malloc((nr ? nr : 1) * sizeof *out->lat);
    if (!out->lat)
        return ictal_error_set(err, ICTAL_ENOMEM, "out of memory");
    out->n_lat = nr;
    for (size_t i = 0; i < nr; i++) {
        double ws = fmax(0.0, ref[i].start_s - p->pre_tolerance_s);
        double we = fmin(d, ref[i].end_s + p->post_tolerance_s);
        double best = NAN;
        for (size_t j = 0; j < na; j++)
            if (al[j].start_s < we && al[j].end_s > ws && ws < we &&
                (isnan(best) || al[j].emit_s < best))
                best = al[j].emit_s;
        out->lat[i].onset_s = ref[i].start_s;
        out->lat[i].end_s = ref[i].end_s;
        out->lat[i].alarm_emit_s = best;
        out->lat[i].latency_s = isnan(best) ? NAN : best - ref[i].start_s;
    }
    return 0;
}

int ictal_score_file_compute(const struct ictal_score_params *p, double duration_s,
                             const struct ictal_score_interval *ref, size_t n_ref,
                             const struct ictal_score_interval *hyp, size_t n_hyp,
                             const struct ictal_score_alarm *alarms, size_t n_alarms,
                             struct ictal_score_file *out, struct ictal_error *err)
{
    memset(out, 0, sizeof *out);
    int64_t nlab = 0;
    int rc = label_count(p, duration_s, &nlab, err);
    if (rc < 0)
        return rc;
    if ((rc = check_events("reference", ref, n_ref, err)) < 0 ||
        (rc = check_events("hypothesis", hyp, n_hyp, err)) < 0)
        return rc;
    if (n_alarms > 0 && !alarms)
        return ictal_error_set(err, ICTAL_EINVAL, "alarms: NULL array");

    struct run *rr = NULL, *hr = NULL;
    size_t nrr = 0, nhr = 0, rlost = 0, hlost = 0;
    struct ictal_score_interval *rs = NULL, *hs = NULL, *re = NULL, *he = NULL;
    struct ictal_score_interval *win = NULL;
    size_t nre = 0, nhe = 0;
    struct span_index hix = { 0 }, wix = { 0 };
    rc = ICTAL_ENOMEM;
    if (rasterise(ref, n_ref, p->sample_step_s, nlab, &rr, &nrr, &rlost) < 0 ||
        rasterise(hyp, n_hyp, p->sample_step_s, nlab, &hr, &nhr, &hlost) < 0)
        goto fail;

    struct ictal_score_totals *t = &out->t;
    t->files = 1;
    t->ref_lost = (int64_t)rlost;
    t->hyp_lost = (int64_t)hlost;

    /* sample scoring: labels (timescoring SampleScoring on the 1 Hz masks) */
    t->sample.samples = nlab;
    t->sample.duration_s = (double)nlab * p->sample_step_s;
    t->sample.ref_pos = run_total(rr, nrr);
    t->sample.hyp_pos = run_total(hr, nhr);
    t->sample.tp = run_intersection(rr, nrr, hr, nhr);
    t->sample.fp = t->sample.hyp_pos - t->sample.tp;
    t->sample.fn = t->sample.ref_pos - t->sample.tp;

    /* event scoring (timescoring EventScoring) */
    if ((rc = szcore_from_runs(p, rr, nrr, &re, &nre)) < 0 ||
        (rc = szcore_from_runs(p, hr, nhr, &he, &nhe)) < 0)
        goto fail;
    rc = ICTAL_ENOMEM;
    out->ref = malloc((nre ? nre : 1) * sizeof *out->ref);
    out->hyp = malloc((nhe ? nhe : 1) * sizeof *out->hyp);
    win = malloc((nre ? nre : 1) * sizeof *win);
    if (!out->ref || !out->hyp || !win || index_build(&hix, he, nhe) < 0)
        goto fail;
    double file_s = (double)nlab * p->sample_step_s;
    size_t nwin = 0;
    for (size_t i = 0; i < nre; i++) {
        /* _extendEvents: tolerances, clipped to the file */
        double ws = fmax(0.0, re[i].start_s - p->pre_tolerance_s);
        double we = fmin(file_s, re[i].end_s + p->post_tolerance_s);
        bool hit = index_overlaps(&hix, ws, we);
        out->ref[i].start_s = re[i].start_s;
        out->ref[i].end_s = re[i].end_s;
        out->ref[i].flag = hit;
        if (hit) { /* only detected windows go into tpMask */
            win[nwin].start_s = ws;
            win[nwin].end_s = we;
            nwin++;
        }
    }
    out->n_ref = nre;
    if (index_build(&wix, win, nwin) < 0)
        goto fail;
    int64_t fp = 0;
    for (size_t i = 0; i < nhe; i++) {
        /* np.all(~tpMask[event]): an FP touches no detected window */
        bool is_fp = !index_overlaps(&wix, he[i].start_s, he[i].end_s);
        out->hyp[i].start_s = he[i].start_s;
        out->hyp[i].end_s = he[i].end_s;
        out->hyp[i].flag = is_fp;
        fp += is_fp;
    }
    out->n_hyp = nhe;
    t->event.ref_events = (int64_t)nre;
    t->event.hyp_events = (int64_t)nhe;
    t->event.tp = (int64_t)nwin;
    t->event.fn = (int64_t)(nre - nwin);
    t->event.fp = fp;
    t->event.duration_s = file_s;

    /* NEDC OVLP on the events as given */
    rs = sorted_copy(ref, n_ref);
    hs = sorted_copy(hyp, n_hyp);
    if (!rs || !hs || score_ovlp(rs, n_ref, hs, n_hyp, duration_s, &t->ovlp) < 0)
        goto fail;

    if (alarms && (rc = score_latency(p, duration_s, rs, n_ref, alarms, n_alarms, out, err)) < 0)
        goto fail_msg;
    rc = 0;
    goto done;
fail:
    ictal_error_set(err, rc, rc == ICTAL_ENOMEM ? "out of memory" : "too many split pieces");
fail_msg:
    ictal_score_file_free(out);
done:
    index_free(&hix);
    index_free(&wix);
    free(rr);
    free(hr);
    free(rs);
    free(hs);
    free(re);
    free(he);
    free(win);
    return rc;
}

/* ---- totals and metrics ------------------------------------------------------- */

void ictal_score_totals_add(struct ictal_score_totals *a, const struct ictal_score_totals *x)
{
    a->files += x->files;
    a->ref_lost += x->ref_lost;
    a->hyp_lost += x->hyp_lost;
    a->event.ref_events += x->event.ref_events;
    a->event.hyp_events += x->event.hyp_events;
    a->event.tp += x->event.tp;
    a->event.fn += x->event.fn;
    a->event.fp += x->event.fp;
    a->event.duration_s += x->event.duration_s;
    a->sample.samples += x->sample.samples;
    a->sample.ref_pos += x->sample.ref_pos;
    a->sample.hyp_pos += x->sample.hyp_pos;
    a->sample.tp += x->sample.tp;
    a->sample.fp += x->sample.fp;
    a->sample.fn += x->sample.fn;
    a->sample.duration_s += x->sample.duration_s;
    a->ovlp.ref_events += x->ovlp.ref_events;
    a->ovlp.hyp_events += x->ovlp.hyp_events;
    a->ovlp.hits += x->ovlp.hits;
    a->ovlp.misses += x->ovlp.misses;
    a->ovlp.false_alarms += x->ovlp.false_alarms;
    a->ovlp.bckg_ref += x->ovlp.bckg_ref;
    a->ovlp.bckg_hits += x->ovlp.bckg_hits;
    a->ovlp.bckg_misses += x->ovlp.bckg_misses;
    a->ovlp.bckg_false_alarms += x->ovlp.bckg_false_alarms;
    a->ovlp.duration_s += x->ovlp.duration_s;
}

/* timescoring _Scoring.computeScores. */
static void metrics(int64_t tp, int64_t fp, int64_t fn, double dur, struct ictal_score_metrics *m)
{
    m->sensitivity = tp + fn > 0 ? (double)tp / (double)(tp + fn) : NAN;
    m->precision = tp + fp > 0 ? (double)tp / (double)(tp + fp) : NAN;
    if (isnan(m->sensitivity) || isnan(m->precision))
        m->f1 = NAN;
    else if (tp == 0)
        m->f1 = 0.0;
    else
        m->f1 = 2.0 * (double)tp / (double)(2 * tp + fp + fn);
    m->fp_per_24h = dur > 0 ? (double)fp * 86400.0 / dur : NAN;
}

void ictal_score_event_metrics(const struct ictal_score_event_counts *c,
                               struct ictal_score_metrics *m)
{
    metrics(c->tp, c->fp, c->fn, c->duration_s, m);
}

void ictal_score_sample_metrics(const struct ictal_score_sample_counts *c,
                                struct ictal_score_metrics *m)
{
    metrics(c->tp, c->fp, c->fn, c->duration_s, m);
}

void ictal_score_ovlp_metrics(const struct ictal_score_ovlp_counts *c,
                              struct ictal_score_metrics *m, double *total_fa_per_24h)
{
    metrics(c->hits, c->false_alarms, c->misses, c->duration_s, m);
    if (total_fa_per_24h)
        *total_fa_per_24h = c->duration_s > 0
            ? (double)(c->false_alarms + c->bckg_false_alarms) * 86400.0 / c->duration_s
            : NAN;
}

/* ---- statistics ------------------------------------------------------------- */

double ictal_score_quantile_sorted(const double *v, size_t n, double q)
{
    if (n == 0 || !(q >= 0 && q <= 1))
        return NAN;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (v[lo + 1] - v[lo]) * (pos - (double)lo);
}

int ictal_score_latency_stats(const double *lat, size_t n, struct ictal_score_latency_stats *st)
{
    memset(st, 0, sizeof *st);
    st->events = n;
    st->median_s = st->p90_s = st->mean_s = st->min_s = st->max_s = NAN;
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return ICTAL_ENOMEM;
    size_t k = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(lat[i])) {
            v[k++] = lat[i];
            sum += lat[i];
        }
    st->detected = k;
    if (k > 0) {
        qsort(v, k, sizeof *v, cmp_double);
        st->median_s = ictal_score_quantile_sorted(v, k, 0.5);
        st->p90_s = ictal_score_quantile_sorted(v, k, 0.9);
        st->mean_s = sum / (double)k;
        st->min_s = v[0];
        st->max_s = v[k - 1];
    }
    free(v);
    return 0;
}

size_t ictal_score_nanmean_std(const double *v, size_t n, double *mean, double *std)
{
    size_t k = 0;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) {
            s += v[i];
            k++;
        }
    if (k == 0) {
        *mean = *std = NAN;
        return 0;
    }
    double m = s / (double)k, ss = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *std = sqrt(ss / (double)k);
    return k;
}
