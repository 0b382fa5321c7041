/*
 * test_prefilter.c — the pre-filter's design and run contracts:
 *  - Butterworth magnitude: -3.01 dB at the corner for every order 1..8,
 *    and the whole response equals the analog 1 / sqrt(1 + W^2N) at the
 *    pre-warped frequency W (so the stopband falls 6.02 N dB per octave);
 *    band-pass = high-pass x low-pass of the same order;
 *  - notch (Q 30 at 50 Hz, 256 Hz): deeper than -40 dB at f0, within 0.5 dB
 *    at f0 +- 5 Hz;
 *  - process() realises the designed response (sines of random frequency
 *    come out with ictal_prefilter_gain's amplitude), removes DC (0.5 Hz
 *    high-pass) and mains (the notch), and stays bounded and finite for
 *    10 minutes of a 0.1 Hz high-pass at 256 Hz and at 48 kHz;
 *  - chunk invariance, save/restore and reset, bit for bit;
 *  - bad stages are refused with messages naming the stage; 0 stages copy;
 *  - process/reset/save/load call no allocator, lock or I/O (RT guard).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/prefilter.h"
#define RT_GUARD_INTERPOSE
#include "rt_guard.h"
#include "test_util.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static struct ictal_model_filter stage(const char *type, double f, double f2, double q, int order)
{
    struct ictal_model_filter s;
    memset(&s, 0, sizeof s);
    snprintf(s.type, sizeof s.type, "%s", type);
    s.freq_hz = f;
    s.freq2_hz = f2;
    s.q = q;
    s.order = order;
    return s;
}

static double db(double g)
{
    return 20.0 * log10(g);
}

static int design1(const struct ictal_model_filter *st, double fs, struct ictal_biquad *sec)
{
    int n = 0;
    struct ictal_error err;
    int rc = ictal_prefilter_design(st, fs, sec, &n, ICTAL_PREFILTER_MAX_SECTIONS, &err);
    if (rc != 0)
        fail_msg("design %s %g Hz order %d: %s", st->type, st->freq_hz, st->order, err.msg);
    return n;
}

/* ------------------------------------------------------------ design */

static void test_butterworth_response(void **state)
{
    (void)state;
    static const double rates[] = {256.0, 250.0, 1000.0, 48000.0};
    static const double corners[] = {0.1, 0.5, 1.0, 20.0, 40.0, 100.0};
    for (size_t ri = 0; ri < sizeof rates / sizeof rates[0]; ri++) {
        const double fs = rates[ri];
        for (size_t fi = 0; fi < sizeof corners / sizeof corners[0]; fi++) {
            const double fc = corners[fi];
            if (fc >= fs / 2)
                continue;
            for (int order = 1; order <= 8; order++) {
                for (int hp = 0; hp <= 1; hp++) {
                    struct ictal_model_filter st = stage(hp ? "highpass" : "lowpass", fc, 0, 0, order);
                    struct ictal_biquad sec[ICTAL_PREFILTER_MAX_SECTIONS];
                    int n = design1(&st, fs, sec);
                    assert_int_equal(n, (order + 1) / 2);
                    /* A first-order section has b2 = a2 = 0, and only odd orders have one. */
                    int first = 0;
                    for (int k = 0; k < n; k++)
                        first += sec[k].b2 == 0.0 && sec[k].a2 == 0.0;
                    assert_int_equal(first, order % 2);
                    double g = db(ictal_prefilter_gain(sec, n, fc, fs));
                    if (fabs(g + 3.0103) > 1e-3)
                        fail_msg("%s order %d at %g Hz / %g: %.5f dB at the corner", st.type, order, fc, fs, g);
                    /* The analog prototype at the pre-warped frequency, everywhere. */
                    const double Kc = tan(M_PI * fc / fs);
                    for (int i = 1; i < 64; i++) {
                        double f = fs / 2 * i / 64.0;
                        double W = tan(M_PI * f / fs) / Kc;
                        if (hp)
                            W = 1.0 / W;
                        double want = 1.0 / sqrt(1.0 + pow(W, 2.0 * order));
                        double got = ictal_prefilter_gain(sec, n, f, fs);
                        if (fabs(got - want) > 1e-9 + 1e-7 * want)
                            fail_msg("%s order %d fc %g fs %g: |H(%g)| = %.12g, want %.12g", st.type, order, fc,
                                     fs, f, got, want);
                    }
                }
            }
        }
    }
}

/* The numbers the brief asks for, spelt out: orders 2, 3, 4 at 256 Hz. */
static void test_corner_and_slope(void **state)
{
    (void)state;
    const double fs = 256.0;
    for (int order = 2; order <= 4; order++) {
        struct ictal_biquad sec[ICTAL_PREFILTER_MAX_SECTIONS];
        struct ictal_model_filter lp = stage("lowpass", 0.5, 0, 0, order);
        int n = design1(&lp, fs, sec);
        assert_true(fabs(db(ictal_prefilter_gain(sec, n, 0.5, fs)) + 3.0103) < 1e-3);
        assert_true(fabs(db(ictal_prefilter_gain(sec, n, 0.0, fs))) < 1e-9);
        /* One octave deep in the stopband and far below Nyquist, where the
         * bilinear transform barely warps (4 -> 8 Hz): -6.02 dB per order. */
        double slope = db(ictal_prefilter_gain(sec, n, 8.0, fs)) - db(ictal_prefilter_gain(sec, n, 4.0, fs));
        if (fabs(slope + 6.0206 * order) > 0.1)
            fail_msg("lowpass order %d: %.3f dB per octave", order, slope);
        struct ictal_model_filter hp = stage("highpass", 40.0, 0, 0, order);
        n = design1(&hp, fs, sec);
        assert_true(fabs(db(ictal_prefilter_gain(sec, n, 40.0, fs)) + 3.0103) < 1e-3);
        assert_true(fabs(db(ictal_prefilter_gain(sec, n, 128.0, fs))) < 1e-9);
        slope = db(ictal_prefilter_gain(sec, n, 5.0, fs)) - db(ictal_prefilter_gain(sec, n, 10.0, fs));
        if (fabs(slope + 6.0206 * order) > 0.2)
            fail_msg("highpass order %d: %.3f dB per octave", order, slope);
    }
    /* order 0 is the default, 2. */
    struct ictal_biquad a[4], b[4];
    struct ictal_model_filter s0 = stage("highpass", 0.5, 0, 0, 0), s2 = stage("highpass", 0.5, 0, 0, 2);
    assert_int_equal(design1(&s0, fs, a), 1);
    assert_int_equal(design1(&s2, fs, b), 1);
    assert_memory_equal(a, b, sizeof a[0]);
}

static void test_bandpass(void **state)
{
    (void)state;
    const double fs = 256.0;
    for (int order = 1; order <= 8; order++) {
        struct ictal_model_filter bp = stage("bandpass", 0.5, 40.0, 0, order);
        struct ictal_model_filter hp = stage("highpass", 0.5, 0, 0, order), lp = stage("lowpass", 40.0, 0, 0, order);
        struct ictal_biquad sb[ICTAL_PREFILTER_MAX_SECTIONS], sh[16], sl[16];
        int nb = design1(&bp, fs, sb), nh = design1(&hp, fs, sh), nl = design1(&lp, fs, sl);
        assert_int_equal(nb, nh + nl);
        assert_memory_equal(sb, sh, (size_t)nh * sizeof sh[0]);
        assert_memory_equal(sb + nh, sl, (size_t)nl * sizeof sl[0]);
        /* Edges far apart: -3.01 dB at each, flat in between. */
        assert_true(fabs(db(ictal_prefilter_gain(sb, nb, 0.5, fs)) + 3.0103) < 0.01);
        assert_true(fabs(db(ictal_prefilter_gain(sb, nb, 40.0, fs)) + 3.0103) < 0.01);
        /* Order 1's skirts still reach 6 Hz (-0.11 dB). */
        assert_true(fabs(db(ictal_prefilter_gain(sb, nb, 6.0, fs))) < (order == 1 ? 0.2 : 0.01));
    }
}

static void test_notch_response(void **state)
{
    (void)state;
    const double fs = 256.0;
    struct ictal_biquad sec[2];
    struct ictal_model_filter n30 = stage("notch", 50.0, 0, 30.0, 0);
    assert_int_equal(design1(&n30, fs, sec), 1);
    double at = db(ictal_prefilter_gain(sec, 1, 50.0, fs));
    if (!(at < -40.0))
        fail_msg("notch depth %.1f dB", at);
    assert_true(fabs(db(ictal_prefilter_gain(sec, 1, 45.0, fs))) < 0.5);
    assert_true(fabs(db(ictal_prefilter_gain(sec, 1, 55.0, fs))) < 0.5);
    assert_true(fabs(db(ictal_prefilter_gain(sec, 1, 0.0, fs))) < 1e-9);
    assert_true(fabs(db(ictal_prefilter_gain(sec, 1, 128.0, fs))) < 1e-9);
    /* RBJ: the analog notch (s^2 + 1) / (s^2 + s/Q + 1) is -3 dB at W+ - W- = 1/Q,
     * W+ W- = 1; the bilinear transform maps W = tan(pi f / fs) / tan(pi f0 / fs). */
    const double t0 = tan(M_PI * 50.0 / fs), r = sqrt(1.0 + 1.0 / (4.0 * 30.0 * 30.0));
    const double want_lo = fs / M_PI * atan((r - 1.0 / 60.0) * t0), want_hi = fs / M_PI * atan((r + 1.0 / 60.0) * t0);
    assert_true(fabs(db(ictal_prefilter_gain(sec, 1, want_lo, fs)) + 3.0103) < 1e-6);
    assert_true(fabs(db(ictal_prefilter_gain(sec, 1, want_hi, fs)) + 3.0103) < 1e-6);
    assert_true(want_hi - want_lo > 1.27 && want_hi - want_lo < 1.29);
    /* q 0 is the default, 30. */
    struct ictal_biquad d[1];
    struct ictal_model_filter n0 = stage("notch", 50.0, 0, 0.0, 0);
    assert_int_equal(design1(&n0, fs, d), 1);
    assert_memory_equal(d, sec, sizeof d);
    /* A wider notch (lower Q) is wider. */
    struct ictal_model_filter n5 = stage("notch", 50.0, 0, 5.0, 0);
    assert_int_equal(design1(&n5, fs, d), 1);
    assert_true(ictal_prefilter_gain(d, 1, 45.0, fs) < ictal_prefilter_gain(sec, 1, 45.0, fs) - 0.1);
}

static void expect_bad(const struct ictal_model_filter *st, double fs, int code, const char *needle)
{
    struct ictal_biquad sec[ICTAL_PREFILTER_MAX_SECTIONS];
    int n = 0;
    struct ictal_error err;
    err.code = 0;
    int rc = ictal_prefilter_design(st, fs, sec, &n, ICTAL_PREFILTER_MAX_SECTIONS, &err);
    if (rc != code || err.code != code || !strstr(err.msg, needle))
        fail_msg("design %.16s %g/%g order %d q %g: rc %d \"%s\" (want %d naming \"%s\")", st->type, st->freq_hz,
                 st->freq2_hz, st->order, st->q, rc, err.msg, code, needle);
    assert_int_equal(n, 0);
    /* Through create, the message also says which stage it is. */
    struct ictal_model_filter stages[3] = {stage("highpass", 0.5, 0, 0, 2), stage("notch", 50, 0, 30, 0), *st};
    struct ictal_prefilter *f = ictal_prefilter_create(stages, 3, 2, fs, &err);
    assert_null(f);
    assert_int_equal(err.code, code);
    if (!strstr(err.msg, "stage 3") || !strstr(err.msg, needle))
        fail_msg("create: \"%s\" does not name stage 3 and \"%s\"", err.msg, needle);
}

static void test_bad_stages(void **state)
{
    (void)state;
    const double fs = 256.0;
    struct ictal_model_filter s;
    s = stage("lowpass", 128.0, 0, 0, 2);
    expect_bad(&s, fs, ICTAL_EINVAL, "freq_hz 128");
    s = stage("highpass", 200.0, 0, 0, 2);
    expect_bad(&s, fs, ICTAL_EINVAL, "fs/2 = 128");
    s = stage("highpass", 0.0, 0, 0, 2);
    expect_bad(&s, fs, ICTAL_EINVAL, "freq_hz 0");
    s = stage("notch", -50.0, 0, 30, 0);
    expect_bad(&s, fs, ICTAL_EINVAL, "notch");
    s = stage("lowpass", NAN, 0, 0, 2);
    expect_bad(&s, fs, ICTAL_EINVAL, "freq_hz");
    s = stage("lowpass", 30.0, 0, 0, 9);
    expect_bad(&s, fs, ICTAL_EINVAL, "order 9");
    s = stage("highpass", 1.0, 0, 0, -1);
    expect_bad(&s, fs, ICTAL_EINVAL, "order -1");
    s = stage("bandpass", 1.0, 40.0, 0, 9);
    expect_bad(&s, fs, ICTAL_EINVAL, "order 9");
    s = stage("bandstop", 1.0, 40.0, 0, 2);
    expect_bad(&s, fs, ICTAL_EINVAL, "\"bandstop\"");
    s = stage("", 1.0, 0, 0, 2);
    expect_bad(&s, fs, ICTAL_EINVAL, "stage type");
    s = stage("bandpass", 40.0, 40.0, 0, 2);
    expect_bad(&s, fs, ICTAL_EINVAL, "freq2_hz 40");
    s = stage("bandpass", 40.0, 10.0, 0, 2);
    expect_bad(&s, fs, ICTAL_EINVAL, "bandpass");
    s = stage("bandpass", 1.0, 128.0, 0, 2);
    expect_bad(&s, fs, ICTAL_EINVAL, "freq2_hz 128");
    s = stage("bandpass", 1.0, 0.0, 0, 2);
    expect_bad(&s, fs, ICTAL_EINVAL, "freq2_hz 0");
    s = stage("notch", 50.0, 0, -3.0, 0);
    expect_bad(&s, fs, ICTAL_EINVAL, "q -3");
    /* A type field without a NUL is still reported readably. */
    s = stage("x", 1.0, 0, 0, 2);
    memset(s.type, 'z', sizeof s.type);
    expect_bad(&s, fs, ICTAL_EINVAL, "zzzzzzzzzzzzzzzz\"");

    /* Too many sections: ERANGE, naming the stage that does not fit. */
    struct ictal_model_filter many[5];
    for (int i = 0; i < 5; i++)
        many[i] = stage("bandpass", 1.0, 40.0, 0, 7); /* 8 sections each */
    struct ictal_error err;
    struct ictal_prefilter *f = ictal_prefilter_create(many, 4, 1, fs, &err);
    assert_non_null(f); /* exactly 32 */
    assert_int_equal(ictal_prefilter_sections(f, NULL), ICTAL_PREFILTER_MAX_SECTIONS);
    ictal_prefilter_destroy(f);
    assert_null(ictal_prefilter_create(many, 5, 1, fs, &err));
    assert_int_equal(err.code, ICTAL_ERANGE);
    assert_non_null(strstr(err.msg, "stage 5"));
    struct ictal_biquad sec[3];
    int n = 0;
    assert_int_equal(ictal_prefilter_design(&many[0], fs, sec, &n, 3, &err), ICTAL_ERANGE);
    assert_int_equal(n, 0);

    /* Bad create arguments. */
    struct ictal_model_filter ok = stage("highpass", 0.5, 0, 0, 2);
    assert_null(ictal_prefilter_create(&ok, 1, 0, fs, &err));
    assert_non_null(strstr(err.msg, "n_channels"));
    assert_null(ictal_prefilter_create(&ok, 1, 1025, fs, &err));
    assert_null(ictal_prefilter_create(&ok, 1, 1, 0.0, &err));
    assert_non_null(strstr(err.msg, "sample rate"));
    assert_null(ictal_prefilter_create(&ok, 1, 1, NAN, &err));
    assert_null(ictal_prefilter_create(NULL, 1, 1, fs, &err));
    assert_null(ictal_prefilter_create(&ok, -1, 1, fs, &err));
    assert_null(ictal_prefilter_create(&ok, 1, 0, fs, NULL)); /* no report wanted */
    f = ictal_prefilter_create(&ok, 1, 1, fs, NULL);
    assert_non_null(f);
    ictal_prefilter_destroy(f);
}

/* ------------------------------------------------------------ running */

static struct ictal_prefilter *mk(const struct ictal_model_filter *st, int n, int C, double fs)
{
    struct ictal_error err;
    struct ictal_prefilter *f = ictal_prefilter_create(st, n, C, fs, &err);
    if (!f)
        fail_msg("create: %s", err.msg);
    return f;
}

/* Sines at random frequencies through a random cascade: after settling, the
 * output amplitude is what ictal_prefilter_gain says. */
static void test_process_matches_gain(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x9f11e001);
    const double fs = 256.0;
    struct ictal_model_filter st[3] = {
        stage("highpass", 0.5, 0, 0, 3), stage("notch", 50.0, 0, 30, 0), stage("lowpass", 40.0, 0, 0, 4)};
    struct ictal_prefilter *f = mk(st, 3, 1, fs);
    const struct ictal_biquad *sec;
    int n = ictal_prefilter_sections(f, &sec);
    assert_int_equal(n, 2 + 1 + 2);
    const size_t N = (size_t)(fs * 40);
    float *x = malloc(N * sizeof *x);
    assert_non_null(x);
    for (int trial = 0; trial < 24; trial++) {
        double fr = 0.3 + test_rng_unit(&rng) * 90.0;
        ictal_prefilter_reset(f);
        for (size_t i = 0; i < N; i++)
            x[i] = (float)(100.0 * sin(2 * M_PI * fr * (double)i / fs));
        float *b[1] = {x};
        ictal_prefilter_process(f, b, N);
        /* Peak over the last 10 s (the 0.5 Hz edge needs ~20 s to settle). */
        double peak = 0;
        for (size_t i = N - (size_t)(fs * 10); i < N; i++)
            peak = fmax(peak, fabs(x[i]));
        double want = 100.0 * ictal_prefilter_gain(sec, n, fr, fs);
        /* Sampling the peak of a sine misses up to 1 - cos(pi f / fs). */
        double tol = 0.002 * 100.0 + want * (1.0 - cos(M_PI * fr / fs));
        if (fabs(peak - want) > tol)
            fail_msg("%.3f Hz: amplitude %.4f, gain says %.4f", fr, peak, want);
    }
    free(x);
    ictal_prefilter_destroy(f);
}

static void test_notch_removes_mains(void **state)
{
    (void)state;
    const double fs = 256.0;
    struct ictal_model_filter st = stage("notch", 50.0, 0, 30, 0);
    struct ictal_prefilter *f = mk(&st, 1, 2, fs);
    const size_t N = (size_t)(fs * 10);
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)(50.0 * sin(2 * M_PI * 50.0 * (double)i / fs));      /* mains */
        y[i] = (float)(50.0 * sin(2 * M_PI * 10.0 * (double)i / fs + 1.0)); /* EEG band */
    }
    float *b[2] = {x, y};
    ictal_prefilter_process(f, b, N);
    /* Q 30 at 50 Hz rings down with tau = Q / (pi f0) = 0.19 s: after 3 s it is gone. */
    double px = 0, py = 0;
    for (size_t i = (size_t)(fs * 3); i < N; i++) {
        px = fmax(px, fabs(x[i]));
        py = fmax(py, fabs(y[i]));
    }
    if (!(px < 0.01 * 50.0))
        fail_msg("50 Hz left after the notch: %.4f of 50", px);
    assert_true(fabs(py - 50.0) < 0.5);
    free(x);
    free(y);
    ictal_prefilter_destroy(f);
}

static void test_highpass_removes_dc(void **state)
{
    (void)state;
    const double fs = 256.0;
    struct ictal_model_filter st = stage("highpass", 0.5, 0, 0, 0);
    struct ictal_prefilter *f = mk(&st, 1, 1, fs);
    const size_t N = (size_t)(fs * 30);
    float *x = malloc(N * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < N; i++)
        x[i] = (float)(1000.0 + 20.0 * sin(2 * M_PI * 10.0 * (double)i / fs));
    float *b[1] = {x};
    ictal_prefilter_process(f, b, N);
    double mean = 0, peak = 0;
    const size_t tail = (size_t)(fs * 5); /* 50 whole cycles of 10 Hz */
    for (size_t i = N - tail; i < N; i++) {
        mean += x[i];
        peak = fmax(peak, fabs(x[i]));
    }
    mean /= (double)tail;
    if (!(fabs(mean) < 0.01))
        fail_msg("DC after the 0.5 Hz high-pass: %.5f of 1000", mean);
    assert_true(fabs(peak - 20.0) < 0.2);
    free(x);
    ictal_prefilter_destroy(f);
}

/* Ten minutes of noise on a large DC offset through a 0.1 Hz high-pass: no
 * NaN, bounded, and the DC gone — at 256 Hz and at 48 kHz, where the poles sit
 * 1e-5 from z = 1. */
static void test_lowcut_stability(void **state)
{
    (void)state;
    static const double rates[] = {256.0, 48000.0};
    struct test_rng rng;
    test_rng_seed(&rng, 0x9f11e002);
    for (size_t ri = 0; ri < 2; ri++) {
        const double fs = rates[ri];
        for (int order = 2; order <= 4; order += 2) {
            struct ictal_model_filter st = stage("highpass", 0.1, 0, 0, order);
            struct ictal_prefilter *f = mk(&st, 1, 1, fs);
            const size_t N = (size_t)(fs * 600), chunk = 4096;
            float buf[4096];
            float *b[1] = {buf};
            double peak = 0, mean = 0;
            size_t n_mean = 0;
            for (size_t done = 0; done < N; done += chunk) {
                size_t n = N - done < chunk ? N - done : chunk;
                for (size_t i = 0; i < n; i++)
                    buf[i] = (float)(5000.0 + (test_rng_unit(&rng) - 0.5) * 200.0);
                ictal_prefilter_process(f, b, n);
                for (size_t i = 0; i < n; i++) {
                    if (!isfinite(buf[i]))
                        fail_msg("fs %g order %d: non-finite output at sample %zu", fs, order, done + i);
                    /* The step onto 5000 µV overshoots a little; then only the noise. */
                    if (done + i > (size_t)(fs * 60))
                        peak = fmax(peak, fabs(buf[i]));
                    if (done + i >= N - (size_t)(fs * 60)) {
                        mean += buf[i];
                        n_mean++;
                    }
                }
            }
            mean /= (double)n_mean;
            if (!(peak < 200.0) || !(fabs(mean) < 1.0))
                fail_msg("0.1 Hz high-pass order %d at %g Hz: peak %.3f, mean of the last minute %.4f", order, fs,
                         peak, mean);
            ictal_prefilter_destroy(f);
        }
    }
}

/* A random cascade, C channels of random signal, several chunkings: the
 * outputs are bit-identical. */
static struct ictal_model_filter random_stage(struct test_rng *rng, double fs)
{
    const int order = (int)test_rng_range(rng, 1, 8);
    switch (test_rng_range(rng, 0, 3)) {
    case 0: return stage("highpass", 0.1 + test_rng_unit(rng) * 5.0, 0, 0, order);
    case 1: return stage("lowpass", 10.0 + test_rng_unit(rng) * (fs / 2 - 20.0), 0, 0, order);
    case 2: return stage("notch", 10.0 + test_rng_unit(rng) * (fs / 2 - 20.0), 0, 1.0 + test_rng_unit(rng) * 50.0, 0);
    default: {
        double lo = 0.1 + test_rng_unit(rng) * 10.0;
        return stage("bandpass", lo, lo + 5.0 + test_rng_unit(rng) * (fs / 2 - lo - 10.0), 0, order);
    }
    }
}

#define CC 3

static void run_chunked(struct ictal_prefilter *f, float *const *x, size_t N, int mode, struct test_rng *rng)
{
    size_t i = 0;
    while (i < N) {
        size_t n = mode == 0 ? N : mode == 1 ? 1 : (size_t)test_rng_range(rng, 1, 300);
        if (n > N - i)
            n = N - i;
        float *b[CC];
        for (int c = 0; c < CC; c++)
            b[c] = x[c] + i;
        ictal_prefilter_process(f, b, n);
        i += n;
    }
}

static void test_chunk_invariance(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x9f11e003);
    const size_t N = 5000;
    float *in[CC], *ref[CC], *got[CC];
    for (int c = 0; c < CC; c++) {
        in[c] = malloc(N * sizeof(float));
        ref[c] = malloc(N * sizeof(float));
        got[c] = malloc(N * sizeof(float));
        assert_non_null(in[c]);
        assert_non_null(ref[c]);
        assert_non_null(got[c]);
    }
    for (int trial = 0; trial < 20; trial++) {
        const double fs = trial % 2 ? 256.0 : 500.0;
        struct ictal_model_filter st[4];
        int ns = (int)test_rng_range(&rng, 1, 4);
        for (int k = 0; k < ns; k++)
            st[k] = random_stage(&rng, fs);
        for (int c = 0; c < CC; c++)
            for (size_t i = 0; i < N; i++)
                in[c][i] = (float)((test_rng_unit(&rng) - 0.5) * 200.0 + (c + 1) * 30.0);
        struct ictal_prefilter *f = mk(st, ns, CC, fs);
        for (int c = 0; c < CC; c++)
            memcpy(ref[c], in[c], N * sizeof(float));
        run_chunked(f, ref, N, 0, &rng);
        for (int mode = 1; mode <= 3; mode++) {
            ictal_prefilter_reset(f);
            for (int c = 0; c < CC; c++)
                memcpy(got[c], in[c], N * sizeof(float));
            run_chunked(f, got, N, mode, &rng);
            for (int c = 0; c < CC; c++) {
                if (memcmp(ref[c], got[c], N * sizeof(float)) != 0)
                    fail_msg("trial %d chunking %d channel %d differs", trial, mode, c);
            }
        }
        /* Channels are independent: channel 1 alone gives the same. */
        struct ictal_prefilter *one = mk(st, ns, 1, fs);
        float *b1[1] = {got[0]};
        memcpy(got[0], in[1], N * sizeof(float));
        ictal_prefilter_process(one, b1, N);
        assert_memory_equal(got[0], ref[1], N * sizeof(float));
        /* And the output is finite and not just the input. */
        assert_true(memcmp(ref[0], in[0], N * sizeof(float)) != 0);
        ictal_prefilter_destroy(one);
        ictal_prefilter_destroy(f);
    }
    for (int c = 0; c < CC; c++) {
        free(in[c]);
        free(ref[c]);
        free(got[c]);
    }
}

static void test_state_save_load(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x9f11e004);
    const double fs = 256.0;
    struct ictal_model_filter st[3] = {
        stage("highpass", 0.5, 0, 0, 4), stage("notch", 50.0, 0, 30, 0), stage("lowpass", 40.0, 0, 0, 5)};
    const size_t N = 3000;
    float *in[CC], *ref[CC], *got[CC];
    for (int c = 0; c < CC; c++) {
        in[c] = malloc(N * sizeof(float));
        ref[c] = malloc(N * sizeof(float));
        got[c] = malloc(N * sizeof(float));
        assert_non_null(in[c]);
        assert_non_null(ref[c]);
        assert_non_null(got[c]);
        for (size_t i = 0; i < N; i++)
            in[c][i] = (float)((test_rng_unit(&rng) - 0.5) * 100.0);
        memcpy(ref[c], in[c], N * sizeof(float));
    }
    struct ictal_prefilter *a = mk(st, 3, CC, fs), *b = mk(st, 3, CC, fs);
    run_chunked(a, ref, N, 0, &rng);
    const size_t S = ictal_prefilter_state_size(a);
    assert_true(S > (size_t)CC * 6 * 2 * sizeof(double));
    unsigned char *img = malloc(S), *img2 = malloc(S);
    assert_non_null(img);
    assert_non_null(img2);
    for (int trial = 0; trial < 5; trial++) {
        size_t split = (size_t)test_rng_range(&rng, 1, (int64_t)N - 1);
        ictal_prefilter_reset(a);
        for (int c = 0; c < CC; c++)
            memcpy(got[c], in[c], N * sizeof(float));
        run_chunked(a, got, split, 2, &rng);
        assert_int_equal(ictal_prefilter_state_save(a, img, S - 1), ICTAL_ERANGE);
        rt_guard_clear();
        rt_guard_arm();
        int rc_save = ictal_prefilter_state_save(a, img, S);
        int rc_load = ictal_prefilter_state_load(b, img, S);
        rt_guard_disarm();
        assert_int_equal(rc_save, 0);
        assert_int_equal(rc_load, 0);
        assert_int_equal(rt_guard_violations(), 0);
        /* Disturb a, then restore it too. */
        float junk[CC][7] = {{1e4f}};
        float *jb[CC] = {junk[0], junk[1], junk[2]};
        ictal_prefilter_process(a, jb, 7);
        assert_int_equal(ictal_prefilter_state_load(a, img, S), 0);
        float *tail_a[CC], *tail_b[CC];
        float *copy[CC];
        for (int c = 0; c < CC; c++) {
            tail_a[c] = got[c] + split;
            copy[c] = malloc((N - split) * sizeof(float));
            assert_non_null(copy[c]);
            memcpy(copy[c], got[c] + split, (N - split) * sizeof(float));
            tail_b[c] = copy[c];
        }
        run_chunked(a, tail_a, N - split, 1, &rng);
        run_chunked(b, tail_b, N - split, 2, &rng);
        for (int c = 0; c < CC; c++) {
            assert_memory_equal(got[c], ref[c], N * sizeof(float));
            assert_memory_equal(copy[c], ref[c] + split, (N - split) * sizeof(float));
            free(copy[c]);
        }
    }
    /* Refusals leave the state alone. */
    assert_int_equal(ictal_prefilter_state_save(a, img2, S), 0);
    assert_int_equal(ictal_prefilter_state_load(a, img, S - 1), ICTAL_EINVAL);
    assert_int_equal(ictal_prefilter_state_load(a, img, S + 1), ICTAL_EINVAL);
    assert_int_equal(ictal_prefilter_state_load(a, NULL, S), ICTAL_EINVAL);
    unsigned char *bad = malloc(S);
    assert_non_null(bad);
    memcpy(bad, img, S);
    bad[0] ^= 1; /* magic */
    assert_int_equal(ictal_prefilter_state_load(a, bad, S), ICTAL_EINVAL);
    /* Same shape, other coefficients (notch Q 20): a different design. */
    struct ictal_model_filter st2[3] = {st[0], stage("notch", 50.0, 0, 20, 0), st[2]};
    struct ictal_prefilter *o = mk(st2, 3, CC, fs);
    assert_int_equal(ictal_prefilter_state_size(o), S);
    assert_int_equal(ictal_prefilter_state_save(o, bad, S), 0);
    assert_int_equal(ictal_prefilter_state_load(a, bad, S), ICTAL_EINVAL);
    ictal_prefilter_destroy(o);
    /* Other channel count: other size. */
    o = mk(st, 3, CC + 1, fs);
    assert_int_equal(ictal_prefilter_state_load(o, img, S), ICTAL_EINVAL);
    ictal_prefilter_destroy(o);
    unsigned char *now = malloc(S);
    assert_non_null(now);
    assert_int_equal(ictal_prefilter_state_save(a, now, S), 0);
    assert_memory_equal(now, img2, S);
    free(now);
    free(bad);
    free(img);
    free(img2);
    ictal_prefilter_destroy(a);
    ictal_prefilter_destroy(b);
    for (int c = 0; c < CC; c++) {
        free(in[c]);
        free(ref[c]);
        free(got[c]);
    }
}

static void test_no_stages_copies(void **state)
{
    (void)state;
    struct ictal_error err;
    struct ictal_prefilter *f = ictal_prefilter_create(NULL, 0, 2, 256.0, &err);
    assert_non_null(f);
    const struct ictal_biquad *sec = NULL;
    assert_int_equal(ictal_prefilter_sections(f, &sec), 0);
    float a[5] = {1, -2, 3.5f, NAN, 1e30f}, b[5] = {0, 0, 0, 0, 0};
    float a0[5];
    memcpy(a0, a, sizeof a);
    float *buf[2] = {a, b};
    ictal_prefilter_process(f, buf, 5);
    assert_memory_equal(a, a0, sizeof a);
    size_t S = ictal_prefilter_state_size(f);
    unsigned char img[256];
    assert_true(S <= sizeof img);
    assert_int_equal(ictal_prefilter_state_save(f, img, S), 0);
    assert_int_equal(ictal_prefilter_state_load(f, img, S), 0);
    ictal_prefilter_reset(f);
    ictal_prefilter_destroy(f);
    ictal_prefilter_destroy(NULL);
}

/* process/reset run without allocator, lock or I/O. */
static void test_rt_safe(void **state)
{
    (void)state;
    const char *why = rt_guard_unavailable();
    if (why) {
        print_message("RT guard unavailable: %s\n", why);
        skip();
    }
    struct ictal_model_filter st[3] = {
        stage("bandpass", 0.5, 40.0, 0, 4), stage("notch", 50.0, 0, 30, 0), stage("notch", 60.0, 0, 30, 0)};
    struct ictal_prefilter *f = mk(st, 3, CC, 256.0);
    float x[CC][512];
    for (int c = 0; c < CC; c++)
        for (int i = 0; i < 512; i++)
            x[c][i] = (float)(i % 17) - 8.0f;
    float *b[CC] = {x[0], x[1], x[2]};
    rt_guard_clear();
    rt_guard_arm();
    ictal_prefilter_process(f, b, 512);
    ictal_prefilter_reset(f);
    ictal_prefilter_process(f, b, 1);
    rt_guard_disarm();
    assert_int_equal(rt_guard_violations(), 0);
    ictal_prefilter_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_butterworth_response),
        cmocka_unit_test(test_corner_and_slope),
        cmocka_unit_test(test_bandpass),
        cmocka_unit_test(test_notch_response),
        cmocka_unit_test(test_bad_stages),
        cmocka_unit_test(test_process_matches_gain),
        cmocka_unit_test(test_notch_removes_mains),
        cmocka_unit_test(test_highpass_removes_dc),
        cmocka_unit_test(test_lowcut_stability),
        cmocka_unit_test(test_chunk_invariance),
        cmocka_unit_test(test_state_save_load),
        cmocka_unit_test(test_no_stages_copies),
        cmocka_unit_test(test_rt_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
