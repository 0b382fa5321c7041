/*
 * test_synth.c — the EEG simulator, checked with numbers:
 * determinism and chunk invariance, background spectrum (1/f slope, alpha
 * peak, amplitude, spatial correlation), seizures (line length, frequency
 * evolution, focal lead, absences at ~3 Hz, post-ictal suppression), the
 * spatial and spectral signature of every artifact kind, ground truth
 * consistency, and configuration errors.
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

#include "ictal/synth.h"
#include "test_util.h"
#include "../src/synth_internal.h"

#define FS 256
#define PI_ 3.14159265358979323846

/* ---- analysis helpers ------------------------------------------------------ */

struct rec {
    struct ictal_synth *s;
    int nch;
    int64_t n;
    float *x; /* (nch, n) */
};

static void rec_make(struct rec *r, const struct ictal_synth_config *cfg)
{
    struct ictal_error err;
    r->s = ictal_synth_create(cfg, &err);
    if (!r->s)
        fail_msg("create: %s", err.msg);
    r->nch = ictal_synth_channels(r->s);
    r->n = ictal_synth_total_samples(r->s);
    r->x = malloc(sizeof(float) * (size_t)r->n * (size_t)r->nch);
    assert_non_null(r->x);
    assert_int_equal(ictal_synth_generate(r->s, r->x, (size_t)r->n, (size_t)r->n), r->n);
}

static void rec_free(struct rec *r)
{
    ictal_synth_destroy(r->s);
    free(r->x);
}

static const float *chan(const struct rec *r, int c)
{
    return r->x + (size_t)c * (size_t)r->n;
}

static int chan_index(const struct rec *r, const char *label)
{
    for (int c = 0; c < r->nch; c++)
        if (strcmp(ictal_synth_label(r->s, c), label) == 0)
            return c;
    fail_msg("no channel %s", label);
    return -1;
}

/* In-place radix-2 FFT, n a power of two. */
static void fft(double *re, double *im, int n)
{
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        double ang = -2.0 * PI_ / len;
        for (int i = 0; i < n; i += len)
            for (int k = 0; k < len / 2; k++) {
                double wr = cos(ang * k), wi = sin(ang * k);
                double ur = re[i + k], ui = im[i + k];
                double vr = re[i + k + len / 2] * wr - im[i + k + len / 2] * wi;
                double vi = re[i + k + len / 2] * wi + im[i + k + len / 2] * wr;
                re[i + k] = ur + vr; im[i + k] = ui + vi;
                re[i + k + len / 2] = ur - vr; im[i + k + len / 2] = ui - vi;
            }
    }
}

#define NFFT 512 /* 2 s at 256 Hz: 0.5 Hz bins */

/* Welch PSD of x[a, b) (Hann, 50% overlap) into psd[NFFT/2+1]. */
static void welch(const float *x, int64_t a, int64_t b, double *psd)
{
    double re[NFFT], im[NFFT];
    int cnt = 0;
    memset(psd, 0, sizeof(double) * (NFFT / 2 + 1));
    for (int64_t s = a; s + NFFT <= b; s += NFFT / 2) {
        for (int i = 0; i < NFFT; i++) {
            double h = 0.5 - 0.5 * cos(2.0 * PI_ * i / NFFT);
            re[i] = h * x[s + i];
            im[i] = 0.0;
        }
        fft(re, im, NFFT);
        for (int k = 0; k <= NFFT / 2; k++)
            psd[k] += re[k] * re[k] + im[k] * im[k];
        cnt++;
    }
    assert_true(cnt > 0);
    for (int k = 0; k <= NFFT / 2; k++)
        psd[k] /= cnt;
}

static double bin_hz(int k) { return (double)k * FS / NFFT; }

static double band_power(const double *psd, double f0, double f1)
{
    double p = 0.0;
    for (int k = 0; k <= NFFT / 2; k++)
        if (bin_hz(k) >= f0 && bin_hz(k) < f1)
            p += psd[k];
    return p;
}

static double peak_hz(const double *psd, double f0, double f1)
{
    double best = -1.0, bf = 0.0;
    for (int k = 0; k <= NFFT / 2; k++)
        if (bin_hz(k) >= f0 && bin_hz(k) <= f1 && psd[k] > best) {
            best = psd[k];
            bf = bin_hz(k);
        }
    return bf;
}

static double centroid_hz(const double *psd, double f0, double f1)
{
    double num = 0.0, den = 0.0;
    for (int k = 0; k <= NFFT / 2; k++)
        if (bin_hz(k) >= f0 && bin_hz(k) < f1) {
            num += psd[k] * bin_hz(k);
            den += psd[k];
        }
    return num / den;
}

/* Mean absolute first difference per sample over [a, b). */
static double line_length(const float *x, int64_t a, int64_t b)
{
    double ll = 0.0;
    for (int64_t i = a + 1; i < b; i++)
        ll += fabs((double)x[i] - x[i - 1]);
    return ll / (double)(b - a - 1);
}

static double rms(const float *x, int64_t a, int64_t b)
{
    double s = 0.0;
    for (int64_t i = a; i < b; i++)
        s += (double)x[i] * x[i];
    return sqrt(s / (double)(b - a));
}

static double corr(const float *x, const float *y, int64_t n)
{
    double mx = 0, my = 0;
    for (int64_t i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= n; my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int64_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxy / sqrt(sxx * syy);
}

static void quiet_config(struct ictal_synth_config *c, double dur, uint64_t seed)
{
    ictal_synth_config_default(c);
    c->duration_s = dur;
    c->seed = seed;
    c->n_seizures = 0;
    c->artifact_rate = 0.0;
    c->sleep = 0;
}

static const struct ictal_synth_event *first_of(const struct rec *r, int kind)
{
    const struct ictal_synth_event *ev = ictal_synth_events(r->s);
    for (size_t i = 0; i < ictal_synth_event_count(r->s); i++)
        if (ev[i].kind == kind)
            return &ev[i];
    return NULL;
}

/* ---- determinism -------------------------------------------------------------- */

static void test_deterministic_any_chunking(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x5eed1);
    struct ictal_synth_config c;
    ictal_synth_config_default(&c);
    c.duration_s = 40;
    c.seed = 11;
    c.n_seizures = 1;
    c.artifact_rate = 6;
    struct rec a;
    rec_make(&a, &c);
    /* same configuration, generated in random chunk sizes 1..700 */
    struct ictal_error err;
    struct ictal_synth *s = ictal_synth_create(&c, &err);
    assert_non_null(s);
    int nch = ictal_synth_channels(s);
    float *b = malloc(sizeof(float) * (size_t)a.n * (size_t)nch);
    float *tmp = malloc(sizeof(float) * 700 * (size_t)nch);
    assert_non_null(b);
    assert_non_null(tmp);
    int64_t pos = 0;
    while (pos < a.n) {
        size_t want = (size_t)test_rng_range(&rng, 1, 700);
        size_t got = ictal_synth_generate(s, tmp, 700, want);
        assert_true(got <= want);
        for (int ch = 0; ch < nch; ch++)
            memcpy(b + (size_t)ch * (size_t)a.n + (size_t)pos, tmp + (size_t)ch * 700,
                   got * sizeof(float));
        pos += (int64_t)got;
        if (got < want)
            break;
    }
    assert_int_equal(pos, a.n);
    assert_int_equal(ictal_synth_generate(s, tmp, 700, 10), 0);
    assert_memory_equal(a.x, b, sizeof(float) * (size_t)a.n * (size_t)nch);
    /* and a different seed gives a different recording */
    c.seed = 12;
    struct rec d;
    rec_make(&d, &c);
    assert_true(memcmp(a.x, d.x, sizeof(float) * 1000) != 0);
    rec_free(&d);
    ictal_synth_destroy(s);
    free(b);
    free(tmp);
    rec_free(&a);
}

/* The generator's own exp/sin/cos/log agree with libm to ~1e-15 relative:
 * they exist only to be the same bits everywhere, not to be different. */
static void test_deterministic_math_matches_libm(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x3a7);
    for (int i = 0; i < 100000; i++) {
        double x = (test_rng_unit(&rng) * 2.0 - 1.0) * 700.0;
        double e = exp(x), m = synth_exp(x);
        assert_true(fabs(m - e) <= 4e-15 * e);
        double y = (test_rng_unit(&rng) * 2.0 - 1.0) * 1000.0;
        assert_true(fabs(synth_sin(y) - sin(y)) < 1e-13);
        assert_true(fabs(synth_cos(y) - cos(y)) < 1e-13);
        double z = exp((test_rng_unit(&rng) * 2.0 - 1.0) * 50.0);
        assert_true(fabs(synth_log(z) - log(z)) < 1e-14 * (fabs(log(z)) + 1.0));
    }
    assert_true(synth_exp(-800.0) == 0.0);
    assert_true(synth_exp(NAN) == 0.0);
    assert_true(synth_log(-1.0) == -745.0);
    /* the normal approximation: mean 0, variance 1, bounded tails */
    struct synth_rng r;
    synth_rng_seed(&r, 1, 2);
    double m1 = 0, m2 = 0;
    for (int i = 0; i < 200000; i++) {
        double v = synth_rng_normal(&r);
        assert_true(fabs(v) < 3.47);
        m1 += v;
        m2 += v * v;
    }
    m1 /= 200000;
    m2 /= 200000;
    assert_true(fabs(m1) < 0.01);
    assert_true(fabs(m2 - 1.0) < 0.01);
}

/* FNV-1a over the samples of a short recording with every kind of event. The
 * constant pins the generator: it must come out the same on every machine,
 * compiler and libm. Change it only when the model is changed on purpose
 * (and say so in docs/synth.md); a mismatch anywhere else is a determinism bug. */
#define GOLDEN_DIGEST 0xf994a2ddbf8cfd2eULL

static void test_golden_digest(void **state)
{
    (void)state;
    struct ictal_synth_config c;
    ictal_synth_config_default(&c);
    c.duration_s = 60;
    c.seed = 2024;
    c.patient = 12; /* focal, T7, with pre-ictal spiking */
    c.n_seizures = 2;
    c.seizure_min_s = 6;
    c.seizure_max_s = 12;
    c.artifact_rate = 10;
    c.mains_uv = 3.0;
    struct rec r;
    rec_make(&r, &c);
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *p = (const unsigned char *)r.x;
    size_t n = sizeof(float) * (size_t)r.n * (size_t)r.nch;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    print_message("golden digest 0x%016llxULL (%zu events)\n", (unsigned long long)h,
                  ictal_synth_event_count(r.s));
    assert_true(h == GOLDEN_DIGEST);
    rec_free(&r);
}

/* ---- background ------------------------------------------------------------------ */

static void test_background_spectrum(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct ictal_synth_config c;
        quiet_config(&c, 120, seed);
        c.montage = ICTAL_SYNTH_MONTAGE_REFERENTIAL;
        struct rec r;
        rec_make(&r, &c);
        double psd[NFFT / 2 + 1];
        int o1 = chan_index(&r, "EEG O1-REF");
        welch(chan(&r, o1), 0, r.n, psd);
        /* posterior alpha peak at the profile's frequency */
        double alpha = ictal_synth_profile(r.s)->alpha_hz;
        double pk = peak_hz(psd, 4.0, 20.0);
        assert_true(fabs(pk - alpha) <= 1.0);
        assert_true(pk >= 8.0 && pk <= 12.5);
        /* alpha stands out over its neighbourhood (but is not a pure line) */
        double pa = band_power(psd, alpha - 1, alpha + 1) / 4;
        double pn = (band_power(psd, 4, 6) + band_power(psd, 15, 17)) / 8;
        assert_true(pa > 2.0 * pn);
        assert_true(pa < 200.0 * pn);
        /* 1/f-like: least-squares slope of log power vs log f over 2-40 Hz,
         * alpha band excluded, between -3 and -0.7 */
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        int m = 0;
        for (int k = 0; k <= NFFT / 2; k++) {
            double f = bin_hz(k);
            if (f < 2 || f > 40 || (f > 6.5 && f < 14))
                continue;
            double lx = log(f), ly = log(psd[k]);
            sx += lx; sy += ly; sxx += lx * lx; sxy += lx * ly; m++;
        }
        double slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
        print_message("seed %llu: alpha %.2f Hz (profile %.2f), slope %.2f\n",
                      (unsigned long long)seed, pk, alpha, slope);
        assert_true(slope < -0.7 && slope > -3.0);
        /* tens of microvolts, everywhere; alpha larger behind than in front */
        for (int ch = 0; ch < r.nch; ch++) {
            double v = rms(chan(&r, ch), 0, r.n);
            assert_true(v > 10.0 && v < 100.0);
        }
        double po = band_power(psd, 8, 12.5);
        welch(chan(&r, chan_index(&r, "EEG FP1-REF")), 0, r.n, psd);
        assert_true(po > 2.0 * band_power(psd, 8, 12.5));
        /* neighbours correlate more than distant electrodes */
        double near = corr(chan(&r, chan_index(&r, "EEG C3-REF")),
                           chan(&r, chan_index(&r, "EEG CZ-REF")), r.n);
        double far = corr(chan(&r, chan_index(&r, "EEG FP1-REF")),
                          chan(&r, chan_index(&r, "EEG O2-REF")), r.n);
        assert_true(near > far + 0.2);
        rec_free(&r);
    }
}

static void test_alpha_waxes_and_wanes(void **state)
{
    (void)state;
    struct ictal_synth_config c;
    quiet_config(&c, 120, 5);
    struct rec r;
    rec_make(&r, &c);
    /* alpha-band power in 2 s windows at P7-O1 varies a lot over time */
    const float *x = chan(&r, chan_index(&r, "P7-O1"));
    double lo = 1e300, hi = 0;
    for (int64_t a = 0; a + NFFT <= r.n; a += NFFT) {
        double psd[NFFT / 2 + 1];
        welch(x, a, a + NFFT, psd);
        double p = band_power(psd, 8, 12.5);
        lo = p < lo ? p : lo;
        hi = p > hi ? p : hi;
    }
    assert_true(hi > 4.0 * lo);
    rec_free(&r);
}

static void test_sleep_is_slower(void **state)
{
    (void)state;
    struct ictal_synth_config c;
    quiet_config(&c, 3600, 3);
    c.sleep = 1;
    c.montage = ICTAL_SYNTH_MONTAGE_REFERENTIAL;
    struct rec r;
    rec_make(&r, &c);
    const struct ictal_synth_event *sl = first_of(&r, ICTAL_SYNTH_STATE_SLEEP);
    if (!sl) {
        const struct ictal_synth_event *dr = first_of(&r, ICTAL_SYNTH_STATE_DROWSY);
        assert_non_null(dr); /* an hour always has some drowsiness */
        rec_free(&r);
        return;
    }
    int c1 = chan_index(&r, "EEG FZ-REF"), c2 = chan_index(&r, "EEG O1-REF");
    int64_t s0 = (int64_t)((sl->onset_s + 30) * FS), s1 = (int64_t)((sl->onset_s + 150) * FS);
    double ps[NFFT / 2 + 1], pw[NFFT / 2 + 1];
    welch(chan(&r, c1), s0, s1, ps);
    welch(chan(&r, c1), 10 * FS, 130 * FS, pw); /* awake: the first minutes */
    double ratio_sleep = band_power(ps, 0.5, 4) / band_power(ps, 8, 13);
    double ratio_awake = band_power(pw, 0.5, 4) / band_power(pw, 8, 13);
    print_message("sleep: delta/alpha %.2f asleep, %.2f awake\n", ratio_sleep, ratio_awake);
    assert_true(ratio_sleep > 2.0 * ratio_awake);
    welch(chan(&r, c2), s0, s1, ps);
    welch(chan(&r, c2), 10 * FS, 130 * FS, pw);
    assert_true(band_power(ps, 8, 12.5) < band_power(pw, 8, 12.5)); /* alpha drops out */
    rec_free(&r);
}

/* ---- seizures ---------------------------------------------------------------------- */

static void check_focal(uint64_t seed, uint64_t patient)
{
    struct ictal_synth_config c;
    quiet_config(&c, 150, seed);
    c.patient = patient;
    c.n_seizures = 1;
    c.seizure_type = ICTAL_SYNTH_SZ_FOCAL;
    c.seizure_min_s = 40;
    c.seizure_max_s = 40;
    struct rec r;
    rec_make(&r, &c);
    const struct ictal_synth_event *sz = first_of(&r, ICTAL_SYNTH_SEIZURE_FOCAL);
    assert_non_null(sz);
    assert_int_equal(ictal_synth_event_count(r.s), 1);
    assert_true(fabs(sz->duration_s - 40.0) < 0.01);
    assert_true(sz->channels != 0);
    int64_t on = (int64_t)(sz->onset_s * FS + 0.5);
    int64_t off = on + (int64_t)(sz->duration_s * FS + 0.5);
    assert_true(on > 20 * FS);
    /* the channels that carry the focus electrode */
    const char *focus = ictal_synth_electrode_name(sz->electrode);
    assert_non_null(focus);
    int involved_hits = 0, fc = -1;
    double fc_gain = 0;
    for (int ch = 0; ch < r.nch; ch++) {
        if (!((sz->channels >> ch) & 1u))
            continue;
        double bg = line_length(chan(&r, ch), on - 20 * FS, on - 4 * FS);
        double ic = line_length(chan(&r, ch), on + (off - on) / 3, off);
        if (ic > 1.5 * bg)
            involved_hits++;
        if (strstr(ictal_synth_label(r.s, ch), focus) && ic / bg > fc_gain) {
            fc_gain = ic / bg;
            fc = ch;
        }
    }
    assert_true(fc >= 0);
    assert_true(involved_hits >= 1);
    assert_true(fc_gain > 2.0);
    /* the rhythm slows: spectral centroid (2-40 Hz) falls from the first to
     * the last third, and the last third is dominated by 2.5-6 Hz */
    double p1[NFFT / 2 + 1], p3[NFFT / 2 + 1], pb[NFFT / 2 + 1];
    int64_t third = (off - on) / 3;
    welch(chan(&r, fc), on, on + third, p1);
    welch(chan(&r, fc), off - third, off, p3);
    welch(chan(&r, fc), on - 20 * FS, on - 2 * FS, pb);
    double c1 = centroid_hz(p1, 2, 40), c3 = centroid_hz(p3, 2, 40);
    double pk3 = peak_hz(p3, 1.5, 30);
    print_message("focal seed %llu patient %llu focus %s: LL x%.1f, centroid %.1f -> %.1f Hz, "
                  "late peak %.1f Hz\n", (unsigned long long)seed, (unsigned long long)patient,
                  focus, fc_gain, c1, c3, pk3);
    assert_true(c1 > c3 + 1.0);
    assert_true(pk3 >= 2.5 && pk3 <= 6.5);
    /* the dominant frequency differs from the background's */
    assert_true(fabs(pk3 - peak_hz(pb, 1.5, 30)) >= 1.0);
    /* post-ictal: background after the end is lower than before onset */
    if (off + 12 * FS < r.n) {
        double pre = rms(chan(&r, fc), on - 20 * FS, on - 4 * FS);
        double post = rms(chan(&r, fc), off + 2 * FS, off + 12 * FS);
        assert_true(post < 0.9 * pre);
    }
    /* abrupt end: the last second of the seizure is much bigger than the
     * second after it */
    assert_true(rms(chan(&r, fc), off - FS, off) > 2.0 * rms(chan(&r, fc), off + FS / 2, off + FS + FS / 2));
    rec_free(&r);
}

static void test_focal_seizure_evolves(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0xf0ca1);
    for (int i = 0; i < 4; i++)
        check_focal((uint64_t)test_rng_range(&rng, 1, 1000000),
                    (uint64_t)test_rng_range(&rng, 1, 1000000));
}

/* Involved channels lead: the time the focus channel's line length first
 * doubles comes before that of every uninvolved channel (if it ever does). */
static void test_focal_onset_leads(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x1ead);
    for (int it = 0; it < 3; it++) {
        struct ictal_synth_config c;
        quiet_config(&c, 120, (uint64_t)test_rng_range(&rng, 1, 100000));
        c.patient = (uint64_t)test_rng_range(&rng, 1, 100000);
        c.n_seizures = 1;
        c.seizure_type = ICTAL_SYNTH_SZ_FOCAL;
        c.seizure_min_s = c.seizure_max_s = 40;
        struct rec r;
        rec_make(&r, &c);
        const struct ictal_synth_event *sz = first_of(&r, ICTAL_SYNTH_SEIZURE_FOCAL);
        assert_non_null(sz);
        int64_t on = (int64_t)(sz->onset_s * FS + 0.5);
        int64_t off = on + (int64_t)(sz->duration_s * FS + 0.5);
        double first_inv = 1e9, first_un = 1e9;
        for (int ch = 0; ch < r.nch; ch++) {
            const float *x = chan(&r, ch);
            double bg = line_length(x, on - 20 * FS, on - 2 * FS);
            double cross = 1e9;
            for (int64_t a = on - 2 * FS; a + FS <= off; a += FS / 4)
                if (line_length(x, a, a + FS) > 2.0 * bg) {
                    cross = (double)(a - on) / FS;
                    break;
                }
            if ((sz->channels >> ch) & 1u)
                first_inv = cross < first_inv ? cross : first_inv;
            else
                first_un = cross < first_un ? cross : first_un;
        }
        print_message("lead: involved %.2f s, uninvolved %.2f s after onset\n", first_inv,
                      first_un);
        assert_true(first_inv < 20.0);
        assert_true(first_inv >= -1.0);
        assert_true(first_un > first_inv);
        rec_free(&r);
    }
}

static void test_absence(void **state)
{
    (void)state;
    struct ictal_synth_config c;
    quiet_config(&c, 60, 21);
    c.n_seizures = 1;
    c.seizure_type = ICTAL_SYNTH_SZ_ABSENCE;
    c.seizure_min_s = 10;
    c.seizure_max_s = 10;
    struct rec r;
    rec_make(&r, &c);
    const struct ictal_synth_event *sz = first_of(&r, ICTAL_SYNTH_SEIZURE_ABSENCE);
    assert_non_null(sz);
    assert_true(sz->bilateral);
    assert_int_equal(sz->channels, (1u << r.nch) - 1u); /* generalised */
    int64_t on = (int64_t)(sz->onset_s * FS + 0.5), off = on + 10 * FS;
    assert_true(on >= 3 * FS && off <= r.n);
    int big = 0;
    for (int ch = 0; ch < r.nch; ch++) {
        double psd[NFFT / 2 + 1];
        welch(chan(&r, ch), on, off, psd);
        double pk = peak_hz(psd, 1.5, 30);
        int64_t b0 = on - 15 * FS > 0 ? on - 15 * FS : 0;
        double ratio = rms(chan(&r, ch), on, off) / rms(chan(&r, ch), b0, on - FS);
        if (ratio > 1.5) {
            big++;
            assert_true(pk >= 2.0 && pk <= 4.5); /* ~3 Hz spike-and-wave */
        }
    }
    print_message("absence: %d of %d channels grow > 1.5x\n", big, r.nch);
    assert_true(big >= r.nch / 3); /* seen over much of the head */
    /* abrupt onset: the first half second already carries the discharge */
    int fz = chan_index(&r, "FZ-CZ");
    assert_true(rms(chan(&r, fz), on, on + FS / 2) > 1.5 * rms(chan(&r, fz), on - FS, on - FS / 2));
    rec_free(&r);
}

static void test_seizure_durations_and_patients(void **state)
{
    (void)state;
    /* long seizures (> 10 min) and short ones (5 s) are possible */
    struct ictal_synth_config c;
    quiet_config(&c, 1800, 4);
    c.n_seizures = 1;
    c.seizure_type = ICTAL_SYNTH_SZ_FOCAL;
    c.seizure_min_s = 700;
    c.seizure_max_s = 900;
    struct ictal_error err;
    struct ictal_synth *s = ictal_synth_create(&c, &err);
    assert_non_null(s);
    assert_true(ictal_synth_events(s)[0].duration_s >= 700.0);
    ictal_synth_destroy(s);
    c.duration_s = 30;
    c.seizure_min_s = c.seizure_max_s = 5;
    s = ictal_synth_create(&c, &err);
    assert_non_null(s);
    assert_true(fabs(ictal_synth_events(s)[0].duration_s - 5.0) < 0.01);
    ictal_synth_destroy(s);
    /* a patient seed fixes focus and style across recordings */
    struct ictal_synth_profile a, b;
    ictal_synth_profile_from_seed(77, &a);
    ictal_synth_profile_from_seed(77, &b);
    assert_memory_equal(&a, &b, sizeof a);
    int distinct_foci = 0, absences = 0, last = -1;
    for (uint64_t p = 1; p <= 60; p++) {
        ictal_synth_profile_from_seed(p, &a);
        if (a.focus != last)
            distinct_foci++;
        last = a.focus;
        absences += a.seizure_type == ICTAL_SYNTH_SZ_ABSENCE;
        assert_true(a.alpha_hz >= 8.5 && a.alpha_hz <= 11.5);
    }
    assert_true(distinct_foci > 10);
    assert_true(absences > 0 && absences < 30);
    quiet_config(&c, 600, 1);
    c.patient = 77;
    c.n_seizures = 3;
    int focus = -1;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        c.seed = seed;
        s = ictal_synth_create(&c, &err);
        assert_non_null(s);
        const struct ictal_synth_event *ev = ictal_synth_events(s);
        for (size_t i = 0; i < ictal_synth_event_count(s); i++) {
            if (!ictal_synth_kind_is_seizure(ev[i].kind))
                continue;
            if (focus < 0)
                focus = ev[i].electrode;
            assert_int_equal(ev[i].electrode, focus);
        }
        ictal_synth_destroy(s);
    }
}

/* ---- artifacts ------------------------------------------------------------------------ */

/* The background's random streams do not depend on the artifacts, so the same
 * seed without artifacts is the artifact recording minus its artifacts: the
 * clean twin is the baseline of every comparison below. */
static struct rec clean;

static struct rec artifact_rec(int kind, uint64_t seed)
{
    struct ictal_synth_config c;
    quiet_config(&c, 120, seed);
    rec_make(&clean, &c);
    c.artifact_rate = 4;
    c.artifacts = ICTAL_SYNTH_ARTBIT(kind);
    struct rec r;
    rec_make(&r, &c);
    /* outside every labelled interval (and a pop's decay tail) the
     * recordings are identical */
    {
        const struct ictal_synth_event *ev = ictal_synth_events(r.s);
        size_t n = ictal_synth_event_count(r.s);
        int64_t pos = 0;
        for (size_t i = 0; i <= n; i++) {
            int64_t end = i < n ? (int64_t)(ev[i].onset_s * FS + 0.5) : r.n;
            for (int ch = 0; ch < r.nch; ch++)
                for (int64_t k = pos; k < end; k++)
                    if (chan(&r, ch)[k] != chan(&clean, ch)[k])
                        fail_msg("%s differs outside its labels at sample %lld ch %d",
                                 ictal_synth_kind_name(kind), (long long)k, ch);
            if (i < n) {
                pos = end + (int64_t)(ev[i].duration_s * FS + 0.5);
                if (kind == ICTAL_SYNTH_ART_POP)
                    pos += 3 * FS; /* decay tail */
            }
        }
    }
    const struct ictal_synth_event *ev = ictal_synth_events(r.s);
    size_t n = ictal_synth_event_count(r.s);
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ev[i].kind, kind);
        assert_true(ev[i].channels != 0);
        assert_true(ev[i].onset_s >= 0 && ev[i].onset_s + ev[i].duration_s <= 120.0);
        if (i)
            assert_true(ev[i].onset_s >= ev[i - 1].onset_s + ev[i - 1].duration_s);
    }
    return r;
}

static void rec_pair_free(struct rec *r)
{
    rec_free(r);
    rec_free(&clean);
}

static void ev_span(const struct ictal_synth_event *e, int64_t *a, int64_t *b)
{
    *a = (int64_t)(e->onset_s * FS + 0.5);
    *b = *a + (int64_t)(e->duration_s * FS + 0.5);
}

static void test_artifact_blink(void **state)
{
    (void)state;
    struct rec r = artifact_rec(ICTAL_SYNTH_ART_BLINK, 31);
    const struct ictal_synth_event *e = first_of(&r, ICTAL_SYNTH_ART_BLINK);
    int64_t a, b;
    ev_span(e, &a, &b);
    int fp = chan_index(&r, "FP1-F3"), occ = chan_index(&r, "P3-O1");
    assert_true((e->channels >> fp) & 1u);
    assert_false((e->channels >> occ) & 1u);
    /* frontal, low-frequency, large: 0.5-4 Hz power at FP1-F3 jumps, not at P3-O1 */
    double pe[NFFT / 2 + 1], pb[NFFT / 2 + 1];
    int64_t b2 = a + NFFT > b ? a + NFFT : b;
    welch(chan(&r, fp), a, b2, pe);
    welch(chan(&clean, fp), a, b2, pb);
    double fr = band_power(pe, 0.5, 4) / band_power(pb, 0.5, 4);
    welch(chan(&r, occ), a, b2, pe);
    welch(chan(&clean, occ), a, b2, pb);
    double oc = band_power(pe, 0.5, 4) / band_power(pb, 0.5, 4);
    double peak = 0.0;
    for (int64_t k = a; k < b; k++) {
        double d = fabs((double)chan(&r, fp)[k] - chan(&clean, fp)[k]);
        peak = d > peak ? d : peak;
        assert_true(chan(&r, occ)[k] == chan(&clean, occ)[k]);
    }
    print_message("blink: frontal delta x%.1f (peak %.0f uV), occipital x%.1f\n", fr, peak, oc);
    assert_true(fr > 2.0);
    assert_true(peak > 40.0);
    assert_true(oc < 1.01);
    rec_pair_free(&r);
}

static void test_artifact_eye_movement(void **state)
{
    (void)state;
    struct rec r = artifact_rec(ICTAL_SYNTH_ART_EYEMOVE, 32);
    const struct ictal_synth_event *e = first_of(&r, ICTAL_SYNTH_ART_EYEMOVE);
    int64_t a, b;
    ev_span(e, &a, &b);
    /* F7 and F8 move in opposite directions: FP1-F7 and FP2-F8 anticorrelate */
    int l = chan_index(&r, "FP1-F7"), rr = chan_index(&r, "FP2-F8");
    double dl = 0, dr = 0;
    for (int64_t k = a; k < b; k++) {
        dl += chan(&r, l)[k] - chan(&clean, l)[k];
        dr += chan(&r, rr)[k] - chan(&clean, rr)[k];
    }
    dl /= (double)(b - a);
    dr /= (double)(b - a);
    print_message("eye movement: mean deflection FP1-F7 %.1f uV, FP2-F8 %.1f uV\n", dl, dr);
    assert_true(dl * dr < 0.0);
    assert_true(fabs(dl) > 15.0 && fabs(dr) > 15.0);
    /* nothing posterior */
    int o = chan_index(&r, "P4-O2");
    for (int64_t k = a; k < b; k++)
        assert_true(chan(&r, o)[k] == chan(&clean, o)[k]);
    rec_pair_free(&r);
}

static void test_artifact_muscle_and_chewing(void **state)
{
    (void)state;
    for (int kind = ICTAL_SYNTH_ART_MUSCLE; kind <= ICTAL_SYNTH_ART_CHEW; kind++) {
        struct rec r = artifact_rec(kind, 33);
        const struct ictal_synth_event *e = first_of(&r, kind);
        int64_t a, b;
        ev_span(e, &a, &b);
        if (b - a < NFFT)
            b = a + NFFT;
        /* temporal channels: 20-70 Hz power up strongly; midline spared */
        int best = -1;
        double bestr = 0;
        for (int ch = 0; ch < r.nch; ch++) {
            if (!((e->channels >> ch) & 1u))
                continue;
            double pe[NFFT / 2 + 1], pb[NFFT / 2 + 1];
            welch(chan(&r, ch), a, b, pe);
            welch(chan(&clean, ch), a, b, pb);
            double ratio = band_power(pe, 20, 70) / band_power(pb, 20, 70);
            if (ratio > bestr) {
                bestr = ratio;
                best = ch;
            }
        }
        assert_true(best >= 0);
        const char *lab = ictal_synth_label(r.s, best);
        print_message("%s: 20-70 Hz x%.0f at %s\n", ictal_synth_kind_name(kind), bestr, lab);
        assert_true(bestr > 10.0);
        assert_true(strstr(lab, "T7") || strstr(lab, "T8") || strstr(lab, "F7")
                    || strstr(lab, "F8") || strstr(lab, "FT"));
        int mid = chan_index(&r, "CZ-PZ");
        assert_false((e->channels >> mid) & 1u);
        if (kind == ICTAL_SYNTH_ART_CHEW) {
            /* rhythmic: the envelope of the added muscle activity (rectified,
             * smoothed over 31 ms) is modulated at the chewing rate 1-2 Hz */
            const float *x = chan(&r, best), *y = chan(&clean, best);
            float envf[NFFT];
            double psd[NFFT / 2 + 1], mean = 0.0;
            for (int i = 0; i < NFFT; i++) {
                double v = 0;
                for (int k = 0; k < 8 && a + i + k < r.n; k++)
                    v += fabs((double)x[a + i + k] - y[a + i + k]);
                envf[i] = (float)v;
                mean += v / NFFT;
            }
            for (int i = 0; i < NFFT; i++)
                envf[i] -= (float)mean;
            welch(envf, 0, NFFT, psd);
            double pk = peak_hz(psd, 0.5, 5);
            print_message("chewing: envelope peak %.1f Hz\n", pk);
            assert_true(pk >= 0.9 && pk <= 2.1);
        }
        rec_pair_free(&r);
    }
}

static void test_artifact_pop_flat_clip_mains(void **state)
{
    (void)state;
    /* electrode pop: a large step on the channels of one electrode only */
    struct rec r = artifact_rec(ICTAL_SYNTH_ART_POP, 34);
    const struct ictal_synth_event *e = first_of(&r, ICTAL_SYNTH_ART_POP);
    int64_t a, b;
    ev_span(e, &a, &b);
    assert_true(e->electrode >= 0);
    for (int ch = 0; ch < r.nch; ch++) {
        double jump = fabs((double)chan(&r, ch)[a + 1] - chan(&r, ch)[a - 2]);
        if ((e->channels >> ch) & 1u)
            assert_true(jump > 60.0);
        else
            assert_true(jump < 60.0);
    }
    rec_pair_free(&r);

    /* flat channel: exactly zero over the labelled interval, only there */
    r = artifact_rec(ICTAL_SYNTH_ART_FLAT, 35);
    e = first_of(&r, ICTAL_SYNTH_ART_FLAT);
    ev_span(e, &a, &b);
    int fc = __builtin_ctz(e->channels);
    assert_int_equal(e->channels, 1u << fc);
    for (int64_t i = a; i < b; i++)
        assert_true(chan(&r, fc)[i] == 0.0f);
    assert_true(chan(&r, fc)[a - 1] != 0.0f);
    rec_pair_free(&r);

    /* clipping: the channel sits on the amplifier rail */
    r = artifact_rec(ICTAL_SYNTH_ART_CLIP, 36);
    e = first_of(&r, ICTAL_SYNTH_ART_CLIP);
    ev_span(e, &a, &b);
    fc = __builtin_ctz(e->channels);
    int64_t rail = 0;
    for (int64_t i = a; i < b; i++)
        rail += fabsf(chan(&r, fc)[i]) == (float)ICTAL_SYNTH_CLIP_UV;
    assert_true(rail > (b - a) / 3);
    rec_pair_free(&r);

    /* mains burst: a line at the profile's mains frequency */
    r = artifact_rec(ICTAL_SYNTH_ART_MAINS, 37);
    e = first_of(&r, ICTAL_SYNTH_ART_MAINS);
    ev_span(e, &a, &b);
    double hz = ictal_synth_profile(r.s)->mains_hz;
    fc = __builtin_ctz(e->channels);
    double pe[NFFT / 2 + 1], pb[NFFT / 2 + 1];
    welch(chan(&r, fc), a, b, pe);
    welch(chan(&clean, fc), a, b, pb);
    double ratio = band_power(pe, hz - 1, hz + 1) / band_power(pb, hz - 1, hz + 1);
    print_message("mains %.0f Hz: x%.0f\n", hz, ratio);
    assert_true(ratio > 20.0);
    assert_true(peak_hz(pe, 30, 100) == hz);
    rec_pair_free(&r);
}

static void test_artifact_movement(void **state)
{
    (void)state;
    struct rec r = artifact_rec(ICTAL_SYNTH_ART_MOVEMENT, 38);
    const struct ictal_synth_event *e = first_of(&r, ICTAL_SYNTH_ART_MOVEMENT);
    int64_t a, b;
    ev_span(e, &a, &b);
    assert_int_equal(e->channels, (1u << r.nch) - 1u); /* everywhere */
    int grown = 0;
    for (int ch = 0; ch < r.nch; ch++)
        grown += rms(chan(&r, ch), a, b) > 1.5 * rms(chan(&clean, ch), a, b);
    assert_true(grown > r.nch * 2 / 3);
    rec_pair_free(&r);
}

static void test_mixed_events_consistent(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0xe7e7);
    for (int it = 0; it < 20; it++) {
        struct ictal_synth_config c;
        ictal_synth_config_default(&c);
        c.duration_s = (double)test_rng_range(&rng, 120, 7200);
        c.seed = (uint64_t)test_rng_range(&rng, 1, 1 << 30);
        c.patient = (uint64_t)test_rng_range(&rng, 1, 1 << 30);
        c.n_seizures = (int)test_rng_range(&rng, 0, 3);
        c.artifact_rate = (double)test_rng_range(&rng, 0, 8);
        c.sample_rate = (int)test_rng_range(&rng, 128, 2048);
        c.montage = (int)test_rng_range(&rng, 0, 1);
        struct ictal_error err;
        struct ictal_synth *s = ictal_synth_create(&c, &err);
        if (!s) {
            assert_int_equal(err.code, ICTAL_EINVAL); /* only "does not fit" */
            continue;
        }
        const struct ictal_synth_event *ev = ictal_synth_events(s);
        int nsz = 0;
        uint32_t all = (1u << ictal_synth_channels(s)) - 1u;
        for (size_t i = 0; i < ictal_synth_event_count(s); i++) {
            assert_true(ev[i].onset_s >= 0.0);
            assert_true(ev[i].onset_s + ev[i].duration_s <= c.duration_s + 1e-9);
            assert_true(ev[i].duration_s > 0.0);
            /* sample-exact */
            double n0 = ev[i].onset_s * c.sample_rate;
            assert_true(fabs(n0 - floor(n0 + 0.5)) < 1e-6);
            assert_true((ev[i].channels & ~all) == 0);
            if (i)
                assert_true(ev[i].onset_s >= ev[i - 1].onset_s);
            if (ictal_synth_kind_is_seizure(ev[i].kind)) {
                nsz++;
                assert_true(ev[i].channels != 0);
            }
            assert_string_not_equal(ictal_synth_kind_label(ev[i].kind), "unknown");
        }
        assert_int_equal(nsz, c.n_seizures);
        ictal_synth_destroy(s);
    }
}

/* ---- configuration errors ------------------------------------------------------------- */

static void expect_error(const struct ictal_synth_config *c, int code, const char *word)
{
    struct ictal_error err;
    ictal_error_clear(&err);
    struct ictal_synth *s = ictal_synth_create(c, &err);
    assert_null(s);
    assert_int_equal(err.code, code);
    if (!strstr(err.msg, word))
        fail_msg("message '%s' does not name '%s'", err.msg, word);
}

static void test_config_errors(void **state)
{
    (void)state;
    struct ictal_synth_config c;
    ictal_synth_config_default(&c);
    c.sample_rate = 100;
    expect_error(&c, ICTAL_ERANGE, "rate");
    c.sample_rate = 4096;
    expect_error(&c, ICTAL_ERANGE, "rate");
    ictal_synth_config_default(&c);
    c.duration_s = 0;
    expect_error(&c, ICTAL_ERANGE, "duration");
    c.duration_s = 90000;
    expect_error(&c, ICTAL_ERANGE, "duration");
    c.duration_s = NAN;
    expect_error(&c, ICTAL_ERANGE, "duration");
    ictal_synth_config_default(&c);
    c.montage = 7;
    expect_error(&c, ICTAL_EINVAL, "montage");
    ictal_synth_config_default(&c);
    c.n_seizures = -1;
    expect_error(&c, ICTAL_ERANGE, "seizures");
    c.n_seizures = 50;
    c.duration_s = 60;
    expect_error(&c, ICTAL_EINVAL, "seizures");
    ictal_synth_config_default(&c);
    c.mains_hz = 55;
    expect_error(&c, ICTAL_EINVAL, "mains");
    ictal_synth_config_default(&c);
    c.artifact_rate = -1;
    expect_error(&c, ICTAL_ERANGE, "artifact");
    ictal_synth_config_default(&c);
    c.seizure_min_s = 20;
    c.seizure_max_s = 10;
    expect_error(&c, ICTAL_EINVAL, "seizure duration");
    assert_null(ictal_synth_create(NULL, NULL));
    /* generate refuses nonsense without crashing */
    ictal_synth_config_default(&c);
    c.duration_s = 2;
    c.n_seizures = 0;
    struct ictal_synth *s = ictal_synth_create(&c, NULL);
    assert_non_null(s);
    float buf[23 * 4];
    assert_int_equal(ictal_synth_generate(s, NULL, 4, 4), 0);
    assert_int_equal(ictal_synth_generate(s, buf, 2, 4), 0); /* stride < n */
    assert_int_equal(ictal_synth_generate(NULL, buf, 4, 4), 0);
    assert_null(ictal_synth_label(s, 23));
    assert_null(ictal_synth_label(s, -1));
    assert_string_equal(ictal_synth_label(s, 22), "T8-P8");
    assert_string_equal(ictal_synth_label(s, 14), "T8-P8");
    assert_string_equal(ictal_synth_label(s, 0), "FP1-F7");
    ictal_synth_destroy(s);
    ictal_synth_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic_any_chunking),
        cmocka_unit_test(test_deterministic_math_matches_libm),
        cmocka_unit_test(test_golden_digest),
        cmocka_unit_test(test_background_spectrum),
        cmocka_unit_test(test_alpha_waxes_and_wanes),
        cmocka_unit_test(test_sleep_is_slower),
        cmocka_unit_test(test_focal_seizure_evolves),
        cmocka_unit_test(test_focal_onset_leads),
        cmocka_unit_test(test_absence),
        cmocka_unit_test(test_seizure_durations_and_patients),
        cmocka_unit_test(test_artifact_blink),
        cmocka_unit_test(test_artifact_eye_movement),
        cmocka_unit_test(test_artifact_muscle_and_chewing),
        cmocka_unit_test(test_artifact_pop_flat_clip_mains),
        cmocka_unit_test(test_artifact_movement),
        cmocka_unit_test(test_mixed_events_consistent),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
