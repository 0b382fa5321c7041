/*
 * test_resample.c — the libsamplerate wrapper's contracts:
 *  - chunk invariance: for all five converters at 48000, 250, 512 and
 *    44100 Hz -> 256 Hz, whole-buffer, 1-sample, 1..7-sample and random
 *    chunkings give bit-identical output streams (the linear converter only
 *    thanks to the spare last_value frame, see src/resample.c);
 *  - every call writes at most max_out(n) samples; output j appears no later
 *    than the call consuming input sample floor(j / ratio) + latency, and some
 *    output needs exactly that (so the latency is tight);
 *  - a 10 Hz sine at 48 kHz comes out at 256 Hz with its amplitude within
 *    0.1 % and aligned: output j is sin(2 pi 10 j / 256) (sinc), or the
 *    input one sample earlier (linear, zero-order hold);
 *  - copy_state / clone / reset continue bit-identically;
 *  - bad arguments are refused (and ERANGE consumes nothing);
 *  - process() and reset() call neither the allocator nor a lock nor any
 *    I/O (tests/support/rt_guard.h; skipped in sanitizer builds).
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

#include "ictal/resample.h"
#define RT_GUARD_INTERPOSE
#include "rt_guard.h"
#include "test_util.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define C 2
#define OUT_RATE 256.0

static const enum ictal_resampler_quality all_q[] = {
    ICTAL_RESAMPLER_SINC_BEST, ICTAL_RESAMPLER_SINC_MEDIUM, ICTAL_RESAMPLER_SINC_FASTEST,
    ICTAL_RESAMPLER_ZERO_ORDER_HOLD, ICTAL_RESAMPLER_LINEAR,
};
static const double in_rates[] = {48000.0, 250.0, 512.0, 44100.0};
#define NQ (sizeof all_q / sizeof all_q[0])
#define NR (sizeof in_rates / sizeof in_rates[0])

/* A planar stream and what came out of it. */
struct stream {
    float *x[C];
    size_t n;
};
struct result {
    float *y[C];
    size_t n, cap;
    size_t *when; /* (cap) input index whose call wrote output j */
};

static void stream_random(struct stream *s, size_t n, struct test_rng *rng)
{
    s->n = n;
    for (int c = 0; c < C; c++) {
        s->x[c] = malloc(n * sizeof(float));
        assert_non_null(s->x[c]);
        /* Band-limited-ish random walk plus white noise: exercises every tap. */
        double w = 0.0;
        for (size_t i = 0; i < n; i++) {
            w = 0.999 * w + (test_rng_unit(rng) - 0.5) * 20.0;
            s->x[c][i] = (float)(w + (test_rng_unit(rng) - 0.5) * 10.0);
        }
    }
}

static void stream_free(struct stream *s)
{
    for (int c = 0; c < C; c++)
        free(s->x[c]);
}

static void result_init(struct result *r, size_t cap)
{
    r->n = 0;
    r->cap = cap;
    for (int c = 0; c < C; c++) {
        r->y[c] = malloc(cap * sizeof(float));
        assert_non_null(r->y[c]);
    }
    r->when = malloc(cap * sizeof(size_t));
    assert_non_null(r->when);
}

static void result_free(struct result *r)
{
    for (int c = 0; c < C; c++)
        free(r->y[c]);
    free(r->when);
}

enum chunking { CHUNK_WHOLE, CHUNK_ONE, CHUNK_SMALL, CHUNK_RANDOM };

static size_t next_chunk(enum chunking k, size_t left, size_t max_in, struct test_rng *rng)
{
    size_t n;
    switch (k) {
    case CHUNK_WHOLE: n = max_in; break;
    case CHUNK_ONE: n = 1; break;
    case CHUNK_SMALL: n = (size_t)test_rng_range(rng, 1, 7); break;
    default: n = (size_t)test_rng_range(rng, 1, (int64_t)max_in); break;
    }
    return n < left ? n : left;
}

/* Feed s[from..to) to r in chunks, appending to out; checks max_out. */
static void feed(struct ictal_resampler *r, const struct stream *s, size_t from, size_t to, enum chunking k,
                 size_t max_in, struct test_rng *rng, struct result *out)
{
    size_t i = from;
    while (i < to) {
        size_t n = next_chunk(k, to - i, max_in, rng);
        const float *in[C];
        float *o[C];
        for (int c = 0; c < C; c++) {
            in[c] = s->x[c] + i;
            o[c] = out->y[c] + out->n;
        }
        size_t mo = ictal_resampler_max_out(r, n);
        assert_true(out->n + mo <= out->cap);
        size_t got = 12345;
        int rc = ictal_resampler_process(r, in, n, o, mo, &got);
        assert_int_equal(rc, 0);
        assert_true(got <= mo);
        for (size_t j = 0; j < got; j++)
            out->when[out->n + j] = i + n - 1;
        out->n += got;
        i += n;
    }
}

static struct ictal_resampler *mk(enum ictal_resampler_quality q, double in_rate, size_t max_in)
{
    struct ictal_error err;
    struct ictal_resampler *r = ictal_resampler_create(C, in_rate, OUT_RATE, q, max_in, &err);
    if (!r)
        fail_msg("create %s %g Hz: %s", ictal_resampler_quality_name(q), in_rate, err.msg);
    return r;
}

static void assert_same(const struct result *a, const struct result *b, const char *what)
{
    if (a->n != b->n)
        fail_msg("%s: %zu outputs vs %zu", what, a->n, b->n);
    for (int c = 0; c < C; c++) {
        if (memcmp(a->y[c], b->y[c], a->n * sizeof(float)) != 0) {
            size_t j = 0;
            while (memcmp(&a->y[c][j], &b->y[c][j], sizeof(float)) == 0)
                j++;
            fail_msg("%s: channel %d differs first at output %zu (%.9g vs %.9g)", what, c, j,
                     (double)a->y[c][j], (double)b->y[c][j]);
        }
    }
}

/* ------------------------------------------------------------ tests */

static void test_quality_names(void **state)
{
    (void)state;
    static const char *const names[] = {"sinc_best", "sinc_medium", "sinc_fastest", "zero_order_hold",
                                        "linear"};
    for (size_t i = 0; i < NQ; i++) {
        enum ictal_resampler_quality q = ICTAL_RESAMPLER_LINEAR;
        assert_int_equal(ictal_resampler_quality_parse(names[i], &q), 0);
        assert_int_equal(q, all_q[i]);
        assert_string_equal(ictal_resampler_quality_name(q), names[i]);
    }
    enum ictal_resampler_quality q = ICTAL_RESAMPLER_SINC_MEDIUM;
    assert_int_equal(ictal_resampler_quality_parse("sinc", &q), ICTAL_EINVAL);
    assert_int_equal(ictal_resampler_quality_parse("SINC_BEST", &q), ICTAL_EINVAL);
    assert_int_equal(ictal_resampler_quality_parse("", &q), ICTAL_EINVAL);
    assert_int_equal(ictal_resampler_quality_parse(NULL, &q), ICTAL_EINVAL);
    assert_int_equal(ictal_resampler_quality_parse("linear", NULL), ICTAL_EINVAL);
    assert_int_equal(q, ICTAL_RESAMPLER_SINC_MEDIUM);
    assert_string_equal(ictal_resampler_quality_name((enum ictal_resampler_quality)17), "unknown");
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct ictal_error err;
    struct {
        int ch;
        double in, out;
        int q;
        size_t max_in;
        const char *needle;
    } bad[] = {
        {0, 48000, 256, 0, 64, "n_channels"},
        {1025, 48000, 256, 0, 64, "n_channels"},
        {1, 0, 256, 0, 64, "in_rate"},
        {1, -48000, 256, 0, 64, "in_rate"},
        {1, NAN, 256, 0, 64, "in_rate"},
        {1, INFINITY, 256, 0, 64, "in_rate"},
        {1, 48000, 0, 0, 64, "out_rate"},
        {1, 48000, NAN, 0, 64, "out_rate"},
        {1, 256 * 257.0, 256, 0, 64, "ratio"},  /* 1/257 */
        {1, 1, 257, 0, 64, "ratio"},            /* 257 */
        {1, 48000, 256, 5, 64, "converter"},
        {1, 48000, 256, -1, 64, "converter"},
        {1, 48000, 256, 0, 0, "max_in"},
        {1, 48000, 256, 0, ((size_t)1 << 24) + 1, "max_in"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.code = 0;
        struct ictal_resampler *r = ictal_resampler_create(bad[i].ch, bad[i].in, bad[i].out,
                                                           (enum ictal_resampler_quality)bad[i].q,
                                                           bad[i].max_in, &err);
        assert_null(r);
        assert_int_equal(err.code, ICTAL_EINVAL);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("case %zu: \"%s\" does not name %s", i, err.msg, bad[i].needle);
    }
    assert_null(ictal_resampler_create(0, 1, 1, ICTAL_RESAMPLER_LINEAR, 1, NULL));
    /* The extremes libsamplerate allows are accepted. */
    struct ictal_resampler *r = ictal_resampler_create(1, 256 * 256.0, 256, ICTAL_RESAMPLER_LINEAR, 8, &err);
    assert_non_null(r);
    ictal_resampler_destroy(r);
    r = ictal_resampler_create(1, 1, 256, ICTAL_RESAMPLER_SINC_FASTEST, 8, &err);
    assert_non_null(r);
    ictal_resampler_destroy(r);
    ictal_resampler_destroy(NULL);
}

/* ERANGE and EINVAL consume nothing: the stream continues as if the bad call
 * never happened. */
static void test_process_errors(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x5eed0001);
    struct stream s;
    stream_random(&s, 4000, &rng);
    for (size_t qi = 0; qi < NQ; qi++) {
        struct ictal_resampler *a = mk(all_q[qi], 1000.0, 64), *b = mk(all_q[qi], 1000.0, 64);
        struct result ra, rb;
        result_init(&ra, 2000);
        result_init(&rb, 2000);
        feed(a, &s, 0, s.n, CHUNK_RANDOM, 64, &rng, &ra);
        size_t i = 0;
        while (i < s.n) {
            size_t n = next_chunk(CHUNK_RANDOM, s.n - i, 64, &rng);
            const float *in[C] = {s.x[0] + i, s.x[1] + i};
            float *o[C] = {rb.y[0] + rb.n, rb.y[1] + rb.n};
            size_t got = 7;
            size_t mo = ictal_resampler_max_out(b, n);
            assert_int_equal(ictal_resampler_process(b, in, 65, o, 1000, &got), ICTAL_ERANGE);
            assert_int_equal(got, 0);
            assert_int_equal(ictal_resampler_process(b, in, n, o, mo - 1, &got), ICTAL_ERANGE);
            assert_int_equal(ictal_resampler_process(b, NULL, n, o, mo, &got), ICTAL_EINVAL);
            assert_int_equal(ictal_resampler_process(b, in, n, NULL, mo, &got), ICTAL_EINVAL);
            assert_int_equal(ictal_resampler_process(b, in, n, o, mo, NULL), ICTAL_EINVAL);
            assert_int_equal(ictal_resampler_process(NULL, in, n, o, mo, &got), ICTAL_EINVAL);
            assert_int_equal(ictal_resampler_process(b, in, 0, o, 0, &got), 0);
            assert_int_equal(got, 0);
            assert_int_equal(ictal_resampler_process(b, in, n, o, mo, &got), 0);
            rb.n += got;
            i += n;
        }
        assert_same(&ra, &rb, ictal_resampler_quality_name(all_q[qi]));
        result_free(&ra);
        result_free(&rb);
        ictal_resampler_destroy(a);
        ictal_resampler_destroy(b);
    }
    stream_free(&s);
}

/* Input long enough for every converter to produce outputs at every ratio:
 * sinc_best at 48 kHz holds back 0.56 s. */
static size_t stream_len(double in_rate)
{
    return (size_t)(in_rate * 1.5) + 3000;
}

static void test_chunk_invariance(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x5eed0002);
    const size_t max_in = 1024;
    for (size_t ri = 0; ri < NR; ri++) {
        struct stream s;
        stream_random(&s, stream_len(in_rates[ri]), &rng);
        const double ratio = OUT_RATE / in_rates[ri];
        const size_t cap = (size_t)(s.n * ratio) + 1024;
        for (size_t qi = 0; qi < NQ; qi++) {
            struct result ref;
            result_init(&ref, cap);
            struct ictal_resampler *r = mk(all_q[qi], in_rates[ri], max_in);
            feed(r, &s, 0, s.n, CHUNK_WHOLE, max_in, &rng, &ref);
            /* Outputs track the input: about n * ratio of them, less the look-ahead. */
            const size_t L = ictal_resampler_latency(r);
            assert_true(ref.n > 10);
            assert_true(fabs((double)ref.n - ((double)s.n - (double)L) * ratio) <= 3.0);
            for (int k = CHUNK_ONE; k <= CHUNK_RANDOM; k++) {
                struct result got;
                result_init(&got, cap);
                ictal_resampler_reset(r);
                feed(r, &s, 0, s.n, (enum chunking)k, max_in, &rng, &got);
                char what[96];
                snprintf(what, sizeof what, "%s %g Hz chunking %d", ictal_resampler_quality_name(all_q[qi]),
                         in_rates[ri], k);
                assert_same(&ref, &got, what);
                if (k == CHUNK_ONE) {
                    /* Output j (input time j / ratio) is written by the call that
                     * consumes input floor(j / ratio) + L at the latest, and the
                     * bound is reached. */
                    long worst = -1000000;
                    for (size_t j = 0; j < got.n; j++) {
                        long t = (long)floor((double)j * in_rates[ri] / OUT_RATE + 1e-9);
                        long late = (long)got.when[j] - t;
                        if (late > (long)L)
                            fail_msg("%s: output %zu written at input %zu, after %ld + latency %zu", what, j,
                                     got.when[j], t, L);
                        if (late > worst)
                            worst = late;
                    }
                    assert_int_equal(worst, (long)L);
                }
                result_free(&got);
            }
            ictal_resampler_destroy(r);
            result_free(&ref);
        }
        stream_free(&s);
    }
}

static void test_latency_values(void **state)
{
    (void)state;
    size_t L[NQ][NR];
    for (size_t qi = 0; qi < NQ; qi++) {
        for (size_t ri = 0; ri < NR; ri++) {
            struct ictal_resampler *r = mk(all_q[qi], in_rates[ri], 16);
            L[qi][ri] = ictal_resampler_latency(r);
            ictal_resampler_destroy(r);
        }
    }
    for (size_t ri = 0; ri < NR; ri++) {
        /* Better sinc, longer filter; interpolators need no look-ahead. */
        assert_true(L[0][ri] > L[1][ri]);
        assert_true(L[1][ri] > L[2][ri]);
        assert_true(L[2][ri] > 0);
        assert_int_equal(L[3][ri], 0);
        assert_int_equal(L[4][ri], 0);
    }
    /* Downsampling stretches the sinc filter by 1/ratio: the look-ahead is
     * the same time at 48 and 44.1 kHz (0.558 s for sinc_best). */
    for (size_t qi = 0; qi < 3; qi++)
        assert_true(fabs((double)L[qi][0] / 48000.0 - (double)L[qi][3] / 44100.0) < 2.0 / 44100.0);
    assert_true(fabs((double)L[0][0] / 48000.0 - 0.558) < 0.001);
}

/* Fit a sin + b cos at 10 Hz over y[j0..n) at 256 Hz: amplitude and the
 * largest pointwise deviation from a0 sin(2 pi 10 (j / 256 - delay_s)). */
static void sine_check(const float *y, size_t n, size_t j0, double delay_s, double a0, double *amp,
                       double *maxdev)
{
    double ss = 0, cc = 0, sc = 0, ys = 0, yc = 0;
    for (size_t j = j0; j < n; j++) {
        double t = (double)j / OUT_RATE;
        double s = sin(2 * M_PI * 10 * t), c = cos(2 * M_PI * 10 * t);
        ss += s * s;
        cc += c * c;
        sc += s * c;
        ys += y[j] * s;
        yc += y[j] * c;
    }
    double det = ss * cc - sc * sc;
    double a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
    *amp = sqrt(a * a + b * b);
    double dev = 0;
    for (size_t j = j0; j < n; j++) {
        double d = fabs(y[j] - a0 * sin(2 * M_PI * 10 * ((double)j / OUT_RATE - delay_s)));
        if (d > dev)
            dev = d;
    }
    *maxdev = dev;
}

static void test_sine_48k_to_256(void **state)
{
    (void)state;
    const double fs = 48000.0;
    const size_t n = (size_t)(fs * 4);
    struct stream s;
    s.n = n;
    for (int c = 0; c < C; c++) {
        s.x[c] = malloc(n * sizeof(float));
        assert_non_null(s.x[c]);
        for (size_t i = 0; i < n; i++)
            s.x[c][i] = (float)((c + 1) * sin(2 * M_PI * 10 * (double)i / fs));
    }
    struct test_rng rng;
    test_rng_seed(&rng, 0x5eed0003);
    /* Content delay in input samples: the sinc converters are aligned; linear
     * and zero-order hold show the input one sample (plus the hold) late.
     * Deviation limits are ~10x what libsamplerate 0.2.2 gives; one input
     * sample of misalignment would show as 1.3e-3. */
    static const struct {
        enum ictal_resampler_quality q;
        double delay, amp_tol, dev_tol;
    } cases[] = {
        {ICTAL_RESAMPLER_SINC_BEST, 0.0, 1e-3, 5e-5},
        {ICTAL_RESAMPLER_SINC_MEDIUM, 0.0, 1e-3, 5e-5},
        {ICTAL_RESAMPLER_SINC_FASTEST, 0.0, 1e-3, 5e-4},
        {ICTAL_RESAMPLER_LINEAR, 1.0, 1e-3, 2e-6},
        {ICTAL_RESAMPLER_ZERO_ORDER_HOLD, 1.5, 1e-3, 1.5e-3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct ictal_resampler *r = mk(cases[k].q, fs, 512);
        struct result out;
        result_init(&out, (size_t)(n * OUT_RATE / fs) + 64);
        feed(r, &s, 0, n, CHUNK_RANDOM, 512, &rng, &out);
        /* Skip the start: the sinc filter reaches back 0.56 s into the zeros
         * before the stream. */
        size_t j0 = (size_t)(0.6 * OUT_RATE);
        assert_true(out.n > j0 + 2 * 256);
        for (int c = 0; c < C; c++) {
            double amp, dev;
            sine_check(out.y[c], out.n, j0, cases[k].delay / fs, c + 1.0, &amp, &dev);
            double a = amp / (c + 1), d = dev / (c + 1);
            if (c == 0)
                print_message("%-15s amplitude %.7f, largest deviation %.2g\n",
                              ictal_resampler_quality_name(cases[k].q), a, d);
            if (fabs(a - 1.0) > cases[k].amp_tol || d > cases[k].dev_tol)
                fail_msg("%s channel %d: amplitude %.7f, largest deviation %.3g",
                         ictal_resampler_quality_name(cases[k].q), c, a, d);
        }
        result_free(&out);
        ictal_resampler_destroy(r);
    }
    stream_free(&s);
}

/* clone / copy_state at random points continue bit-identically, for every
 * converter (the linear one also carries the spare last_value frame). */
static void test_copy_state(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x5eed0004);
    const double fs = 2000.0;
    struct stream s, junk;
    stream_random(&s, 6000, &rng);
    stream_random(&junk, 777, &rng);
    const size_t cap = 1500;
    for (size_t qi = 0; qi < NQ; qi++) {
        struct ictal_resampler *a = mk(all_q[qi], fs, 100);
        struct result ref;
        result_init(&ref, cap);
        feed(a, &s, 0, s.n, CHUNK_RANDOM, 100, &rng, &ref);
        for (int trial = 0; trial < 4; trial++) {
            size_t split = (size_t)test_rng_range(&rng, 1, (int64_t)s.n - 1);
            ictal_resampler_reset(a);
            struct result head;
            result_init(&head, cap);
            feed(a, &s, 0, split, CHUNK_SMALL, 100, &rng, &head);
            struct ictal_error err;
            struct ictal_resampler *b = ictal_resampler_clone(a, &err);
            assert_non_null(b);
            assert_int_equal(ictal_resampler_latency(b), ictal_resampler_latency(a));
            struct ictal_resampler *d = mk(all_q[qi], fs, 50); /* max_in may differ */
            struct result scratch;
            result_init(&scratch, cap);
            feed(d, &junk, 0, junk.n, CHUNK_RANDOM, 50, &rng, &scratch); /* state to overwrite */
            assert_int_equal(ictal_resampler_copy_state(d, a, &err), 0);
            assert_int_equal(ictal_resampler_copy_state(a, a, &err), 0);
            struct ictal_resampler *copies[3] = {a, b, d};
            for (int k = 0; k < 3; k++) {
                struct result tail; /* the head's outputs, then this copy's */
                result_init(&tail, cap);
                for (int c = 0; c < C; c++)
                    memcpy(tail.y[c], head.y[c], head.n * sizeof(float));
                tail.n = head.n;
                feed(copies[k], &s, split, s.n, k == 2 ? CHUNK_ONE : CHUNK_RANDOM, k == 2 ? 50 : 100, &rng,
                     &tail);
                char what[64];
                snprintf(what, sizeof what, "%s copy %d split %zu", ictal_resampler_quality_name(all_q[qi]), k,
                         split);
                assert_same(&ref, &tail, what);
                result_free(&tail);
            }
            result_free(&scratch);
            result_free(&head);
            ictal_resampler_destroy(b);
            ictal_resampler_destroy(d);
        }
        /* Different configurations refuse, and leave dst alone. */
        struct ictal_error err;
        struct ictal_resampler *o = mk(all_q[qi], fs * 2, 100);
        err.code = 0;
        assert_int_equal(ictal_resampler_copy_state(o, a, &err), ICTAL_EINVAL);
        assert_int_equal(err.code, ICTAL_EINVAL);
        ictal_resampler_destroy(o);
        o = mk(all_q[(qi + 1) % NQ], fs, 100);
        assert_int_equal(ictal_resampler_copy_state(o, a, &err), ICTAL_EINVAL);
        ictal_resampler_destroy(o);
        struct ictal_resampler *one = ictal_resampler_create(1, fs, OUT_RATE, all_q[qi], 100, &err);
        assert_non_null(one);
        assert_int_equal(ictal_resampler_copy_state(one, a, &err), ICTAL_EINVAL);
        ictal_resampler_destroy(one);
        assert_int_equal(ictal_resampler_copy_state(NULL, a, &err), ICTAL_EINVAL);
        assert_null(ictal_resampler_clone(NULL, &err));
        result_free(&ref);
        ictal_resampler_destroy(a);
    }
    stream_free(&s);
    stream_free(&junk);
}

/* reset == fresh, mid-stream and mid-chunk-pattern. */
static void test_reset(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x5eed0005);
    struct stream s;
    stream_random(&s, 5000, &rng);
    for (size_t qi = 0; qi < NQ; qi++) {
        struct ictal_resampler *fresh = mk(all_q[qi], 3000.0, 64), *used = mk(all_q[qi], 3000.0, 64);
        struct result a, b;
        result_init(&a, 1000);
        result_init(&b, 1000);
        feed(used, &s, 0, 1234, CHUNK_ONE, 64, &rng, &b);
        ictal_resampler_reset(used);
        b.n = 0;
        feed(fresh, &s, 0, s.n, CHUNK_RANDOM, 64, &rng, &a);
        feed(used, &s, 0, s.n, CHUNK_ONE, 64, &rng, &b);
        assert_same(&a, &b, ictal_resampler_quality_name(all_q[qi]));
        result_free(&a);
        result_free(&b);
        ictal_resampler_destroy(fresh);
        ictal_resampler_destroy(used);
    }
    stream_free(&s);
}

/* process() and reset() allocate nothing and take no mutex, whatever the
 * converter, chunk size or ratio (libsamplerate's src_process included). */
static void test_rt_safe(void **state)
{
    (void)state;
    const char *why = rt_guard_unavailable();
    if (why) {
        print_message("RT guard unavailable: %s\n", why);
        skip();
    }
    struct test_rng rng;
    test_rng_seed(&rng, 0x5eed0006);
    for (size_t ri = 0; ri < NR; ri++) {
        struct stream s;
        stream_random(&s, stream_len(in_rates[ri]) / 2, &rng);
        for (size_t qi = 0; qi < NQ; qi++) {
            struct ictal_resampler *r = mk(all_q[qi], in_rates[ri], 700);
            struct result out;
            result_init(&out, (size_t)(s.n * OUT_RATE / in_rates[ri]) + 1024);
            rt_guard_clear();
            rt_guard_arm();
            feed(r, &s, 0, s.n / 2, CHUNK_RANDOM, 700, &rng, &out);
            ictal_resampler_reset(r);
            feed(r, &s, 0, s.n / 4, CHUNK_ONE, 700, &rng, &out);
            (void)ictal_resampler_latency(r);
            (void)ictal_resampler_max_out(r, 5);
            rt_guard_disarm();
            if (rt_guard_violations()) {
                char rep[256];
                fail_msg("%s at %g Hz: process/reset called %s", ictal_resampler_quality_name(all_q[qi]),
                         in_rates[ri], rt_guard_report(rep, sizeof rep));
            }
            assert_true(out.n > 0 || all_q[qi] <= ICTAL_RESAMPLER_SINC_FASTEST);
            result_free(&out);
            ictal_resampler_destroy(r);
        }
        stream_free(&s);
    }
    /* ... and the guard does see libsamplerate allocate (src_clone). */
    struct ictal_resampler *r = mk(ICTAL_RESAMPLER_SINC_FASTEST, 1000.0, 16);
    struct ictal_error err;
    rt_guard_clear();
    rt_guard_arm();
    struct ictal_resampler *c = ictal_resampler_clone(r, &err);
    rt_guard_disarm();
    assert_non_null(c);
    assert_true(rt_guard_count(RT_GUARD_MALLOC) + rt_guard_count(RT_GUARD_CALLOC) > 0);
    rt_guard_clear();
    ictal_resampler_destroy(c);
    ictal_resampler_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quality_names),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_process_errors),
        cmocka_unit_test(test_chunk_invariance),
        cmocka_unit_test(test_latency_values),
        cmocka_unit_test(test_sine_48k_to_256),
        cmocka_unit_test(test_copy_state),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_rt_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
