/* Scoring (ictal/score.h), hand-worked cases for every rule of
 * docs/scoring.md: rasterising on 1 s labels, merge, split (and merge before
 * split), tolerance windows and their edges, FP counting, empty inputs,
 * events at the file edges, sample scoring, NEDC OVLP with its background
 * label, latency and its statistics, pooling and subject means, bad input.
 * Every expected number is derived by hand in the comment above it, from
 * the rules, not from running the code. Defaults unless a case says
 * otherwise: windows -30/+60 s, merge gaps < 90 s, split > 300 s, 1 s labels;
 * D is the recording duration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/score.h"
#include "test_util.h"

#define IV(a, b) { (double)(a), (double)(b) }
#define N(x) (sizeof(x) / sizeof((x)[0]))
#define EPS 1e-12

static struct ictal_score_params P(void)
{
    struct ictal_score_params p;
    ictal_score_params_default(&p);
    return p;
}

/* Score and keep the result in *f (freed by the caller). */
static void score(const struct ictal_score_params *p, double d,
                  const struct ictal_score_interval *ref, size_t nr,
                  const struct ictal_score_interval *hyp, size_t nh, struct ictal_score_file *f)
{
    struct ictal_error err;
    int rc = ictal_score_file_compute(p, d, ref, nr, hyp, nh, NULL, 0, f, &err);
    if (rc != 0)
        fail_msg("ictal_score_file_compute: %s", err.msg);
}

static void expect_event(const struct ictal_score_file *f, int64_t ref, int64_t tp, int64_t fn,
                         int64_t fp)
{
    assert_int_equal(f->t.event.ref_events, ref);
    assert_int_equal(f->t.event.tp, tp);
    assert_int_equal(f->t.event.fn, fn);
    assert_int_equal(f->t.event.fp, fp);
}

static void assert_nan(double v)
{
    if (!isnan(v))
        fail_msg("expected NaN, got %.17g", v);
}

/* ---- rasterising ---------------------------------------------------------- */

static void test_labels(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    /* [100.9, 200.1) sets labels floor(100.9)=100 .. floor(200.1)-1=199:
     * 100 labels, the event [100, 200). A hypothesis [10.2, 10.8) covers
     * labels 10..9: none, so it is lost; [20.2, 21.1) covers label 20. */
    const struct ictal_score_interval ref[] = { IV(100.9, 200.1) };
    const struct ictal_score_interval hyp[] = { IV(10.2, 10.8), IV(20.2, 21.1) };
    score(&p, 3600, ref, 1, hyp, 2, &f);
    assert_int_equal(f.t.sample.ref_pos, 100);
    assert_int_equal(f.t.sample.hyp_pos, 1);
    assert_int_equal(f.t.hyp_lost, 1);
    assert_int_equal(f.t.ref_lost, 0);
    assert_int_equal(f.n_ref, 1);
    assert_true(fabs(f.ref[0].start_s - 100) < EPS && fabs(f.ref[0].end_s - 200) < EPS);
    assert_int_equal(f.n_hyp, 1);
    assert_true(fabs(f.hyp[0].start_s - 20) < EPS && fabs(f.hyp[0].end_s - 21) < EPS);
    /* D = 3599.7 s: floor gives 3599 labels; the event counting time is 3599 s */
    ictal_score_file_free(&f);
    score(&p, 3599.7, ref, 1, hyp, 2, &f);
    assert_int_equal(f.t.sample.samples, 3599);
    assert_true(fabs(f.t.event.duration_s - 3599) < EPS);
    ictal_score_file_free(&f);
    /* overlapping and touching events become one run: [10,20) ∪ [15,30) ∪
     * [30,40) = [10,40), one reference event (and 30 labels) */
    const struct ictal_score_interval ov[] = { IV(10, 20), IV(15, 30), IV(30, 40) };
    score(&p, 3600, ov, 3, NULL, 0, &f);
    assert_int_equal(f.t.event.ref_events, 1);
    assert_int_equal(f.t.sample.ref_pos, 30);
    /* OVLP takes events as given: 3 reference events, all missed */
    assert_int_equal(f.t.ovlp.ref_events, 3);
    assert_int_equal(f.t.ovlp.misses, 3);
    ictal_score_file_free(&f);
    /* decimal noise: 0.3 s at 0.1 s labels is label 3 (0.3/0.1 = 2.9999...) */
    p.sample_step_s = 0.1;
    const struct ictal_score_interval tiny[] = { IV(0.3, 0.5) };
    score(&p, 10, tiny, 1, NULL, 0, &f);
    assert_int_equal(f.t.sample.ref_pos, 2); /* labels 3, 4 */
    ictal_score_file_free(&f);
}

/* ---- merge and split ----------------------------------------------------------- */

static void test_merge(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    /* hyp [100,110) and [190,200): gap 80 < 90 → one event [100,200). The
     * reference [500,520) has the window [470,580): untouched → 1 FN and
     * one FP (not two). */
    const struct ictal_score_interval ref[] = { IV(500, 520) };
    const struct ictal_score_interval h1[] = { IV(100, 110), IV(190, 200) };
    score(&p, 3600, ref, 1, h1, 2, &f);
    expect_event(&f, 1, 0, 1, 1);
    assert_int_equal(f.n_hyp, 1);
    assert_true(f.hyp[0].start_s == 100 && f.hyp[0].end_s == 200 && f.hyp[0].flag);
    ictal_score_file_free(&f);
    /* gap exactly 90 (110 → 200) is not < 90: two events, two FP */
    const struct ictal_score_interval h2[] = { IV(100, 110), IV(200, 210) };
    score(&p, 3600, ref, 1, h2, 2, &f);
    expect_event(&f, 1, 0, 1, 2);
    ictal_score_file_free(&f);
    /* the reference is merged too: [100,110) and [150,160) (gap 40) are ONE
     * reference event; a hypothesis [105,106) detects it: ref 1, TP 1 */
    const struct ictal_score_interval r2[] = { IV(100, 110), IV(150, 160) };
    const struct ictal_score_interval h3[] = { IV(105, 106) };
    score(&p, 3600, r2, 2, h3, 1, &f);
    expect_event(&f, 1, 1, 0, 0);
    /* OVLP does not merge: 2 reference events, 1 hit, 1 miss */
    assert_int_equal(f.t.ovlp.hits, 1);
    assert_int_equal(f.t.ovlp.misses, 1);
    ictal_score_file_free(&f);
    /* merge_gap 0: nothing merges (a gap is never < 0) */
    p.merge_gap_s = 0;
    score(&p, 3600, ref, 1, h1, 2, &f);
    expect_event(&f, 1, 0, 1, 2);
    ictal_score_file_free(&f);
}

static void test_split(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    /* hyp [1000,1700), 700 s > 300: pieces [1000,1300) [1300,1600)
     * [1600,1700). ref [1000,1060): window [970,1120), touched by piece 1
     * only → TP 1, FP 2 (pieces 2, 3). sens 1, prec 1/3, F1 = 2/(2+2+0) =
     * 0.5, FP/24h = 2 × 86400 / 3600 = 48. */
    const struct ictal_score_interval ref[] = { IV(1000, 1060) };
    const struct ictal_score_interval hyp[] = { IV(1000, 1700) };
    score(&p, 3600, ref, 1, hyp, 1, &f);
    expect_event(&f, 1, 1, 0, 2);
    assert_int_equal(f.n_hyp, 3);
    assert_true(f.hyp[0].end_s == 1300 && f.hyp[1].end_s == 1600 && f.hyp[2].end_s == 1700);
    assert_false(f.hyp[0].flag);
    assert_true(f.hyp[1].flag && f.hyp[2].flag);
    struct ictal_score_metrics m;
    ictal_score_event_metrics(&f.t.event, &m);
    assert_true(fabs(m.sensitivity - 1) < EPS);
    assert_true(fabs(m.precision - 1.0 / 3) < EPS);
    assert_true(fabs(m.f1 - 0.5) < EPS);
    assert_true(fabs(m.fp_per_24h - 48) < EPS);
    ictal_score_file_free(&f);

    /* merge BEFORE split: [0,250) and [300,500) (gap 50) merge to [0,500),
     * which splits into [0,300) [300,500): 2 FP without a reference. (Split
     * first would leave both pieces as they are, then merge them: 1 FP.) */
    const struct ictal_score_interval h2[] = { IV(0, 250), IV(300, 500) };
    score(&p, 3600, NULL, 0, h2, 2, &f);
    expect_event(&f, 0, 0, 0, 2);
    ictal_score_file_free(&f);

    /* exactly 900 s: 3 pieces of 300 (900-600 = 300 is not > 300) */
    struct ictal_score_interval *ev;
    size_t n, lost;
    struct ictal_error err;
    const struct ictal_score_interval h3[] = { IV(0, 900) };
    assert_int_equal(ictal_score_szcore_events(&p, 3600, h3, 1, &ev, &n, &lost, &err), 0);
    assert_int_equal(n, 3);
    assert_true(ev[0].end_s == 300 && ev[1].start_s == 300 && ev[2].start_s == 600 &&
                ev[2].end_s == 900);
    free(ev);
    /* 301 s: [0,300) and [300,301) */
    const struct ictal_score_interval h4[] = { IV(10, 311) };
    assert_int_equal(ictal_score_szcore_events(&p, 3600, h4, 1, &ev, &n, &lost, &err), 0);
    assert_int_equal(n, 2);
    assert_true(ev[0].start_s == 10 && ev[0].end_s == 310 && ev[1].end_s == 311);
    free(ev);
    /* a long reference is split too: [0,1000) → 4 reference events; a
     * hypothesis [950,960) detects only the last piece [900,1000) (window
     * [870,1060)) and the third [600,900) (window [570,960)): TP 2, FN 2 */
    const struct ictal_score_interval r5[] = { IV(0, 1000) };
    const struct ictal_score_interval h5[] = { IV(950, 960) };
    score(&p, 3600, r5, 1, h5, 1, &f);
    expect_event(&f, 4, 2, 2, 0);
    ictal_score_file_free(&f);
}

/* ---- tolerance windows and FP counting ------------------------------------------- */

static void test_windows(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    /* ref [1000,1100): window [970,1160). Each hypothesis alone: */
    const struct ictal_score_interval ref[] = { IV(1000, 1100) };
    struct {
        double s, e;
        int tp, fp;
    } c[] = {
        { 960, 971, 1, 0 },   /* shares [970,971) with the window */
        { 959, 970, 0, 1 },   /* ends where the window starts: no shared label */
        { 1159, 1165, 1, 0 }, /* shares [1159,1160) */
        { 1160, 1170, 0, 1 }, /* starts where the window ends */
        { 1040, 1041, 1, 0 }, /* inside the seizure */
    };
    for (size_t i = 0; i < N(c); i++) {
        const struct ictal_score_interval hyp[] = { IV(c[i].s, c[i].e) };
        score(&p, 3600, ref, 1, hyp, 1, &f);
        expect_event(&f, 1, c[i].tp, 1 - c[i].tp, c[i].fp);
        ictal_score_file_free(&f);
    }
    /* zero tolerances: [1100,1110) right after the offset misses: FN, FP */
    p.pre_tolerance_s = p.post_tolerance_s = 0;
    const struct ictal_score_interval h0[] = { IV(1100, 1110) };
    score(&p, 3600, ref, 1, h0, 1, &f);
    expect_event(&f, 1, 0, 1, 1);
    ictal_score_file_free(&f);
}

static void test_fp_counting(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    /* one hypothesis over two references: refs [1000,1060) [1200,1260)
     * (gap 140: not merged); hyp [1010,1250) touches both windows → TP 2,
     * FP 0, precision 2/(2+0) = 1 */
    const struct ictal_score_interval ref[] = { IV(1000, 1060), IV(1200, 1260) };
    const struct ictal_score_interval hyp[] = { IV(1010, 1250) };
    score(&p, 3600, ref, 2, hyp, 1, &f);
    expect_event(&f, 2, 2, 0, 0);
    ictal_score_file_free(&f);
    /* a hypothesis mostly outside the window is no FP: ref [1000,1010)
     * (window [970,1070)), hyp [1000,1250) (250 s, not split) → TP 1, FP 0 */
    const struct ictal_score_interval r2[] = { IV(1000, 1010) };
    const struct ictal_score_interval h2[] = { IV(1000, 1250) };
    score(&p, 3600, r2, 1, h2, 1, &f);
    expect_event(&f, 1, 1, 0, 0);
    ictal_score_file_free(&f);
    /* several hypotheses in one window: ref [1000,1100), hyps [980,990)
     * [1020,1030) [1150,1155): the gap of 30 s merges the first two, the gap
     * of 120 s does not → [980,1030) and [1150,1155), both in [970,1160):
     * TP 1, FP 0, precision 1 (precision counts reference events, not
     * hypotheses) */
    const struct ictal_score_interval r3[] = { IV(1000, 1100) };
    const struct ictal_score_interval h3[] = { IV(980, 990), IV(1020, 1030), IV(1150, 1155) };
    score(&p, 3600, r3, 1, h3, 3, &f);
    expect_event(&f, 1, 1, 0, 0);
    assert_int_equal(f.t.event.hyp_events, 2);
    ictal_score_file_free(&f);
    /* only DETECTED windows hide hypotheses: refs [1000,1010) and
     * [2000,2010); hyp [1500,1510) is outside both → FP 1, FN 2 */
    const struct ictal_score_interval r4[] = { IV(1000, 1010), IV(2000, 2010) };
    const struct ictal_score_interval h4[] = { IV(1500, 1510) };
    score(&p, 3600, r4, 2, h4, 1, &f);
    expect_event(&f, 2, 0, 2, 1);
    struct ictal_score_metrics m;
    ictal_score_event_metrics(&f.t.event, &m);
    /* sens 0, prec 0, F1 0 (not NaN: both are defined) */
    assert_true(m.sensitivity == 0 && m.precision == 0 && m.f1 == 0);
    ictal_score_file_free(&f);
}

/* ---- empty inputs and file edges ---------------------------------------------------- */

static void test_empty(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    struct ictal_score_metrics m;
    /* nothing at all: sens, prec, F1 undefined; FP/24h 0 */
    score(&p, 3600, NULL, 0, NULL, 0, &f);
    expect_event(&f, 0, 0, 0, 0);
    ictal_score_event_metrics(&f.t.event, &m);
    assert_nan(m.sensitivity);
    assert_nan(m.precision);
    assert_nan(m.f1);
    assert_true(m.fp_per_24h == 0);
    ictal_score_sample_metrics(&f.t.sample, &m);
    assert_nan(m.sensitivity);
    assert_nan(m.precision);
    ictal_score_file_free(&f);
    /* no reference, two hypotheses 1000 s apart: sens NaN, prec 0/(0+2) =
     * 0, F1 NaN, FP/24h = 2 × 24 = 48 */
    const struct ictal_score_interval hyp[] = { IV(100, 110), IV(1100, 1110) };
    score(&p, 3600, NULL, 0, hyp, 2, &f);
    ictal_score_event_metrics(&f.t.event, &m);
    assert_nan(m.sensitivity);
    assert_true(m.precision == 0);
    assert_nan(m.f1);
    assert_true(fabs(m.fp_per_24h - 48) < EPS);
    ictal_score_file_free(&f);
    /* a reference, no hypothesis: sens 0, prec NaN, F1 NaN */
    const struct ictal_score_interval ref[] = { IV(100, 110) };
    score(&p, 3600, ref, 1, NULL, 0, &f);
    ictal_score_event_metrics(&f.t.event, &m);
    assert_true(m.sensitivity == 0);
    assert_nan(m.precision);
    assert_nan(m.f1);
    ictal_score_file_free(&f);
}

static void test_edges(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    /* ref [0,20): window clamped to [0,80); hyp [75,80) → TP */
    const struct ictal_score_interval r1[] = { IV(0, 20) };
    const struct ictal_score_interval h1[] = { IV(75, 80) };
    score(&p, 3600, r1, 1, h1, 1, &f);
    expect_event(&f, 1, 1, 0, 0);
    ictal_score_file_free(&f);
    /* ref [3590,3600) at the end: window [3560,3600); hyp [3599,3600) → TP */
    const struct ictal_score_interval r2[] = { IV(3590, 3600) };
    const struct ictal_score_interval h2[] = { IV(3599, 3600) };
    score(&p, 3600, r2, 1, h2, 1, &f);
    expect_event(&f, 1, 1, 0, 0);
    ictal_score_file_free(&f);
    /* a hypothesis wholly after the end [3600,3700) covers no label: lost,
     * neither TP nor FP (SzCORE's mask ends at D); OVLP still sees it: a
     * false alarm */
    const struct ictal_score_interval h3[] = { IV(3600, 3700) };
    score(&p, 3600, r2, 1, h3, 1, &f);
    expect_event(&f, 1, 0, 1, 0);
    assert_int_equal(f.t.hyp_lost, 1);
    assert_int_equal(f.t.ovlp.false_alarms, 1);
    ictal_score_file_free(&f);
    /* [3590,3700) is cut to [3590,3600): 10 labels */
    const struct ictal_score_interval h4[] = { IV(3590, 3700) };
    score(&p, 3600, NULL, 0, h4, 1, &f);
    assert_int_equal(f.t.sample.hyp_pos, 10);
    assert_true(f.n_hyp == 1 && f.hyp[0].end_s == 3600);
    ictal_score_file_free(&f);
    /* a recording shorter than the windows: D = 50, ref [10,20): window
     * [0,50); hyp [45,50) → TP */
    const struct ictal_score_interval r5[] = { IV(10, 20) };
    const struct ictal_score_interval h5[] = { IV(45, 50) };
    score(&p, 50, r5, 1, h5, 1, &f);
    expect_event(&f, 1, 1, 0, 0);
    ictal_score_file_free(&f);
}

/* ---- sample scoring ------------------------------------------------------------------ */

static void test_sample(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    struct ictal_score_metrics m;
    /* timescoring's own unit test: D = 10 s,
     * ref 1110001110 = [0,3) [6,9); hyp 0110110010 = [1,3) [4,6) [8,9):
     * TP 3 (1,2,8), FN 3 (0,6,7), FP 2 (4,5): sens 3/6, prec 3/5,
     * FP/24h = 2 × 86400 / 10 = 17280 */
    const struct ictal_score_interval ref[] = { IV(0, 3), IV(6, 9) };
    const struct ictal_score_interval hyp[] = { IV(1, 3), IV(4, 6), IV(8, 9) };
    score(&p, 10, ref, 2, hyp, 3, &f);
    assert_int_equal(f.t.sample.tp, 3);
    assert_int_equal(f.t.sample.fn, 3);
    assert_int_equal(f.t.sample.fp, 2);
    ictal_score_sample_metrics(&f.t.sample, &m);
    assert_true(fabs(m.sensitivity - 0.5) < EPS);
    assert_true(fabs(m.precision - 0.6) < EPS);
    assert_true(fabs(m.fp_per_24h - 17280) < EPS);
    /* F1 = 2·3 / (2·3 + 2 + 3) = 6/11 */
    assert_true(fabs(m.f1 - 6.0 / 11) < EPS);
    ictal_score_file_free(&f);
    /* 2 s labels, D = 20 (10 labels): ref [3,9) → labels 1..3, hyp [5,13)
     * → labels 2..5; TP 2 (labels 2, 3), FN 1, FP 2; FP/24h counts labels
     * over the 20 s: 2 × 86400 / 20 = 8640 */
    p.sample_step_s = 2;
    const struct ictal_score_interval r2[] = { IV(3, 9) };
    const struct ictal_score_interval h2[] = { IV(5, 13) };
    score(&p, 20, r2, 1, h2, 1, &f);
    assert_int_equal(f.t.sample.samples, 10);
    assert_int_equal(f.t.sample.tp, 2);
    assert_int_equal(f.t.sample.fn, 1);
    assert_int_equal(f.t.sample.fp, 2);
    ictal_score_sample_metrics(&f.t.sample, &m);
    assert_true(fabs(m.fp_per_24h - 8640) < EPS);
    ictal_score_file_free(&f);
}

/* ---- NEDC OVLP ------------------------------------------------------------------------- */

static void test_ovlp(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    struct ictal_score_metrics m;
    double total;
    /* touching is no overlap: ref [100,200), hyp [200,300) → miss, FA */
    const struct ictal_score_interval ref[] = { IV(100, 200) };
    const struct ictal_score_interval h1[] = { IV(200, 300) };
    score(&p, 1000, ref, 1, h1, 1, &f);
    assert_int_equal(f.t.ovlp.hits, 0);
    assert_int_equal(f.t.ovlp.misses, 1);
    assert_int_equal(f.t.ovlp.false_alarms, 1);
    ictal_score_file_free(&f);
    /* [199.5,300) overlaps by 0.5 s → hit, no FA (no tolerance, no labels) */
    const struct ictal_score_interval h2[] = { IV(199.5, 300) };
    score(&p, 1000, ref, 1, h2, 1, &f);
    assert_int_equal(f.t.ovlp.hits, 1);
    assert_int_equal(f.t.ovlp.false_alarms, 0);
    ictal_score_file_free(&f);
    /* one hypothesis over two references: 2 hits; two hypotheses in one
     * reference: 1 hit, 0 FA */
    const struct ictal_score_interval r3[] = { IV(100, 200), IV(300, 400) };
    const struct ictal_score_interval h3[] = { IV(150, 350) };
    score(&p, 1000, r3, 2, h3, 1, &f);
    assert_int_equal(f.t.ovlp.hits, 2);
    assert_int_equal(f.t.ovlp.false_alarms, 0);
    ictal_score_file_free(&f);
    const struct ictal_score_interval h4[] = { IV(110, 120), IV(130, 140) };
    score(&p, 1000, ref, 1, h4, 2, &f);
    assert_int_equal(f.t.ovlp.hits, 1);
    assert_int_equal(f.t.ovlp.false_alarms, 0);
    ictal_score_file_free(&f);
    /* background: D = 1000, ref [100,200), hyp [150,250). BCKG ref [0,100)
     * [200,1000), hyp [0,150) [250,1000): both ref segments overlapped (2
     * hits), no hyp segment without a ref one (0 FA) */
    const struct ictal_score_interval h5[] = { IV(150, 250) };
    score(&p, 1000, ref, 1, h5, 1, &f);
    assert_int_equal(f.t.ovlp.bckg_ref, 2);
    assert_int_equal(f.t.ovlp.bckg_hits, 2);
    assert_int_equal(f.t.ovlp.bckg_false_alarms, 0);
    ictal_score_file_free(&f);
    /* the whole recording is a seizure: ref [0,1000), hyp [400,500): ref
     * BCKG none, hyp BCKG [0,400) [500,1000) both false alarms. SEIZ: hit,
     * 0 FA → FA/24h 0; total = (0 + 2) × 86400 / 1000 = 172.8 */
    const struct ictal_score_interval r6[] = { IV(0, 1000) };
    const struct ictal_score_interval h6[] = { IV(400, 500) };
    score(&p, 1000, r6, 1, h6, 1, &f);
    assert_int_equal(f.t.ovlp.bckg_false_alarms, 2);
    ictal_score_ovlp_metrics(&f.t.ovlp, &m, &total);
    assert_true(m.fp_per_24h == 0);
    assert_true(fabs(total - 172.8) < 1e-9);
    assert_true(m.sensitivity == 1 && m.precision == 1);
    ictal_score_file_free(&f);
    /* no reference, hyp [100,200), D = 1000: 1 FA → 86.4 per day; the
     * background agrees ([0,100) and [200,1000) lie in ref's [0,1000)) */
    score(&p, 1000, NULL, 0, h1, 1, &f);
    ictal_score_ovlp_metrics(&f.t.ovlp, &m, &total);
    assert_true(fabs(m.fp_per_24h - 86.4) < 1e-9 && fabs(total - 86.4) < 1e-9);
    assert_nan(m.sensitivity);
    ictal_score_file_free(&f);
}

/* ---- latency ----------------------------------------------------------------------------- */

static void test_latency(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    struct ictal_error err;
    /* ref [1000,1100): window [970,1160) */
    const struct ictal_score_interval ref[] = { IV(1000, 1100) };
    /* an alarm at 1012 whose event is [1005,1050): latency +12 */
    const struct ictal_score_alarm a1[] = { { 1012, 1005, 1050 } };
    assert_int_equal(ictal_score_file_compute(&p, 3600, ref, 1, NULL, 0, a1, 1, &f, &err), 0);
    assert_true(f.has_latency && f.n_lat == 1);
    assert_true(fabs(f.lat[0].latency_s - 12) < EPS);
    ictal_score_file_free(&f);
    /* add an earlier alarm at 975 with event [972,990) (in the window): the
     * first alarm counts, latency 975 - 1000 = -25; an alarm at 900 with
     * event [890,960) is outside the window; one whose event ends at 970
     * exactly only touches it: neither counts */
    const struct ictal_score_alarm a2[] = { { 1012, 1005, 1050 }, { 975, 972, 990 },
                                            { 900, 890, 960 }, { 965, 950, 970 } };
    assert_int_equal(ictal_score_file_compute(&p, 3600, ref, 1, NULL, 0, a2, 4, &f, &err), 0);
    assert_true(fabs(f.lat[0].latency_s + 25) < EPS);
    assert_true(fabs(f.lat[0].alarm_emit_s - 975) < EPS);
    ictal_score_file_free(&f);
    /* an alarm raised long before whose event runs into the window: event
     * [800,1010), raised at 820 → latency -180 (early alarms negative) */
    const struct ictal_score_alarm a3[] = { { 820, 800, 1010 } };
    assert_int_equal(ictal_score_file_compute(&p, 3600, ref, 1, NULL, 0, a3, 1, &f, &err), 0);
    assert_true(fabs(f.lat[0].latency_s + 180) < EPS);
    ictal_score_file_free(&f);
    /* alarms given but none qualifies: NaN; alarms NULL: no latency */
    assert_int_equal(ictal_score_file_compute(&p, 3600, ref, 1, NULL, 0, a2 + 2, 2, &f, &err), 0);
    assert_true(f.has_latency);
    assert_nan(f.lat[0].latency_s);
    ictal_score_file_free(&f);
    assert_int_equal(ictal_score_file_compute(&p, 3600, ref, 1, NULL, 0, NULL, 0, &f, &err), 0);
    assert_false(f.has_latency);
    assert_int_equal(f.n_lat, 0);
    ictal_score_file_free(&f);
    /* latency uses the references as given, not merged: refs [1000,1010)
     * and [1050,1060) (one SzCORE event) get one latency each; an alarm at
     * 1055 with event [1052,1070) overlaps both windows ([970,1070),
     * [1020,1120)): +55 and +5 */
    const struct ictal_score_interval r2[] = { IV(1000, 1010), IV(1050, 1060) };
    const struct ictal_score_alarm a4[] = { { 1055, 1052, 1070 } };
    assert_int_equal(ictal_score_file_compute(&p, 3600, r2, 2, NULL, 0, a4, 1, &f, &err), 0);
    assert_int_equal(f.n_lat, 2);
    assert_true(fabs(f.lat[0].latency_s - 55) < EPS && fabs(f.lat[1].latency_s - 5) < EPS);
    ictal_score_file_free(&f);
}

static void test_latency_stats(void **state)
{
    (void)state;
    /* [12, NaN, -25, 40]: detected 3, sorted -25 12 40; median 12; p90 at
     * rank 0.9 × 2 = 1.8: 12 + 0.8 × (40 - 12) = 34.4; mean 27/3 = 9 */
    const double v[] = { 12, NAN, -25, 40 };
    struct ictal_score_latency_stats st;
    assert_int_equal(ictal_score_latency_stats(v, 4, &st), 0);
    assert_int_equal(st.events, 4);
    assert_int_equal(st.detected, 3);
    assert_true(fabs(st.median_s - 12) < EPS);
    assert_true(fabs(st.p90_s - 34.4) < 1e-9);
    assert_true(fabs(st.mean_s - 9) < EPS);
    assert_true(st.min_s == -25 && st.max_s == 40);
    /* even count: [1,2,3,4] median 2.5, p90 = 3 + 0.7 × 1 = 3.7 */
    const double w[] = { 4, 1, 3, 2 };
    assert_int_equal(ictal_score_latency_stats(w, 4, &st), 0);
    assert_true(fabs(st.median_s - 2.5) < EPS && fabs(st.p90_s - 3.7) < 1e-9);
    /* none: NaN */
    assert_int_equal(ictal_score_latency_stats(v + 1, 1, &st), 0);
    assert_int_equal(st.detected, 0);
    assert_nan(st.median_s);
    assert_nan(st.p90_s);
}

/* ---- pooling and subject means --------------------------------------------------------------- */

static void test_pooling(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file a, b;
    /* file A, D = 3600: ref [1000,1060), hyps [1000,1010) and [2000,2010)
     * → TP 1, FP 1, FN 0. File B, D = 7200: ref [500,600), no hyp → FN 1.
     * Pooled: TP 1, FP 1, FN 1 over 10800 s: sens 0.5, prec 0.5, F1 0.5,
     * FP/24h = 86400 / 10800 = 8. */
    const struct ictal_score_interval ra[] = { IV(1000, 1060) };
    const struct ictal_score_interval ha[] = { IV(1000, 1010), IV(2000, 2010) };
    const struct ictal_score_interval rb[] = { IV(500, 600) };
    score(&p, 3600, ra, 1, ha, 2, &a);
    score(&p, 7200, rb, 1, NULL, 0, &b);
    struct ictal_score_totals t = { 0 };
    ictal_score_totals_add(&t, &a.t);
    ictal_score_totals_add(&t, &b.t);
    assert_int_equal(t.files, 2);
    struct ictal_score_metrics m;
    ictal_score_event_metrics(&t.event, &m);
    assert_true(fabs(m.sensitivity - 0.5) < EPS && fabs(m.precision - 0.5) < EPS);
    assert_true(fabs(m.f1 - 0.5) < EPS && fabs(m.fp_per_24h - 8) < EPS);
    /* subject means (one file per subject): sens A 1, B 0 → 0.5 ± 0.5;
     * prec A 0.5, B NaN → 0.5 ± 0 over 1 value */
    struct ictal_score_metrics ma, mb;
    ictal_score_event_metrics(&a.t.event, &ma);
    ictal_score_event_metrics(&b.t.event, &mb);
    double sens[2] = { ma.sensitivity, mb.sensitivity }, prec[2] = { ma.precision, mb.precision };
    double mean, sd;
    assert_int_equal(ictal_score_nanmean_std(sens, 2, &mean, &sd), 2);
    assert_true(fabs(mean - 0.5) < EPS && fabs(sd - 0.5) < EPS);
    assert_int_equal(ictal_score_nanmean_std(prec, 2, &mean, &sd), 1);
    assert_true(fabs(mean - 0.5) < EPS && sd == 0);
    ictal_score_file_free(&a);
    ictal_score_file_free(&b);
}

/* ---- bad input ------------------------------------------------------------------------------- */

static void test_bad_input(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    struct ictal_score_file f;
    struct ictal_error err;
    const struct ictal_score_interval ok[] = { IV(1, 2) };
    assert_int_equal(ictal_score_file_compute(&p, NAN, ok, 1, ok, 1, NULL, 0, &f, &err),
                     ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "duration"));
    assert_int_equal(ictal_score_file_compute(&p, 0, ok, 1, ok, 1, NULL, 0, &f, &err),
                     ICTAL_EINVAL);
    const struct ictal_score_interval bad[] = { IV(5, 4) };
    assert_int_equal(ictal_score_file_compute(&p, 10, bad, 1, ok, 1, NULL, 0, &f, &err),
                     ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "reference event 1"));
    const struct ictal_score_interval neg[] = { IV(-1, 4) };
    assert_int_equal(ictal_score_file_compute(&p, 10, ok, 1, neg, 1, NULL, 0, &f, &err),
                     ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "hypothesis event 1"));
    const struct ictal_score_interval inf[] = { IV(1, INFINITY) };
    assert_int_equal(ictal_score_file_compute(&p, 10, inf, 1, ok, 1, NULL, 0, &f, &err),
                     ICTAL_EINVAL);
    const struct ictal_score_alarm al[] = { { NAN, 1, 2 } };
    assert_int_equal(ictal_score_file_compute(&p, 10, ok, 1, ok, 1, al, 1, &f, &err),
                     ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "alarm 1"));
    ictal_score_file_free(&f);
    p.sample_step_s = 0;
    assert_int_equal(ictal_score_file_compute(&p, 10, ok, 1, ok, 1, NULL, 0, &f, &err),
                     ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "sample_step"));
    p = P();
    p.pre_tolerance_s = -1;
    assert_int_equal(ictal_score_params_check(&p, &err), ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "pre_tolerance"));
    /* a step so small that the labels overflow: refused, not allocated */
    p = P();
    p.sample_step_s = 1e-6;
    assert_int_equal(ictal_score_file_compute(&p, 1e6, ok, 1, ok, 1, NULL, 0, &f, &err),
                     ICTAL_ERANGE);
    ictal_score_file_free(&f);
    ictal_score_file_free(NULL);
}

/* A day with many events stays fast (interval lists, not masks). */
static void test_many_events(void **state)
{
    (void)state;
    struct ictal_score_params p = P();
    enum { NH = 20000 };
    struct ictal_score_interval *h = malloc(NH * sizeof *h);
    assert_non_null(h);
    for (int i = 0; i < NH; i++) { /* 2 s events every 4.3 s over 86000 s */
        h[i].start_s = i * 4.3;
        h[i].end_s = i * 4.3 + 2;
    }
    const struct ictal_score_interval ref[] = { IV(50000, 50100) };
    struct ictal_score_file f;
    score(&p, 86400, ref, 1, h, NH, &f);
    /* the last event is [85995.7, 85997.7): labels up to 85996. Every gap
     * is < 90 s, so all merge into [0, 85997), which splits into 286 pieces
     * of 300 s and a remainder of 197 s: 287 events. The
     * window [49970,50160) touches pieces 166 [49800,50100) and 167
     * [50100,50400): TP 1, FP 285 */
    expect_event(&f, 1, 1, 0, 285);
    assert_int_equal(f.t.event.hyp_events, 287);
    assert_int_equal(f.t.ovlp.hits, 1);
    ictal_score_file_free(&f);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),      cmocka_unit_test(test_merge),
        cmocka_unit_test(test_split),       cmocka_unit_test(test_windows),
        cmocka_unit_test(test_fp_counting), cmocka_unit_test(test_empty),
        cmocka_unit_test(test_edges),       cmocka_unit_test(test_sample),
        cmocka_unit_test(test_ovlp),        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_latency_stats), cmocka_unit_test(test_pooling),
        cmocka_unit_test(test_bad_input),   cmocka_unit_test(test_many_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
