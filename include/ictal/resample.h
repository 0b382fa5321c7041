/*
 * ictal/resample.h — streaming rate conversion (pipeline step 2), a thin
 * wrapper over libsamplerate for C planar channels.
 *
 * Time: with ratio = out_rate / in_rate, output sample j (from the stream
 * start) stands for input time j / ratio, in input samples, with the sinc
 * converters; linear and zero_order_hold show the input one input sample
 * later (libsamplerate starts them from a repeated first sample; the hold
 * adds up to one more). Output appears at most `latency` input samples after
 * its time (the sinc filter's look-ahead, see ictal_resampler_latency).
 *
 * Every converter gives the same output stream however the input is chunked
 * (tests/test_resample.c: all five converters, several ratios, 1-sample and
 * random chunks); for linear the wrapper works around libsamplerate's
 * out-of-bounds read on one-frame calls (issue #234, see src/resample.c).
 *
 * process() is RT-safe: src_process() neither allocates nor locks (libsamplerate
 * 0.2.2; checked by the RT guard). Snapshots use src_clone(), which
 * allocates: they are not.
 */
#ifndef ICTAL_RESAMPLE_H
#define ICTAL_RESAMPLE_H

#include <stddef.h>

#include "ictal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The libsamplerate converters, best first (names as in [pipeline] resampler). */
enum ictal_resampler_quality {
    ICTAL_RESAMPLER_SINC_BEST = 0,
    ICTAL_RESAMPLER_SINC_MEDIUM,
    ICTAL_RESAMPLER_SINC_FASTEST,
    ICTAL_RESAMPLER_ZERO_ORDER_HOLD,
    ICTAL_RESAMPLER_LINEAR
};

struct ictal_resampler;

/* Convert from in_rate to out_rate (ratio out/in within libsamplerate's 1/256..256).
 * max_in: most input samples per process() call.
 * RT-safe: no. */
struct ictal_resampler *ictal_resampler_create(int n_channels, double in_rate, double out_rate,
                                               enum ictal_resampler_quality q, size_t max_in,
                                               struct ictal_error *err);
void ictal_resampler_destroy(struct ictal_resampler *r);

/* Parse "sinc_best" ... "linear" (0, or ICTAL_EINVAL). RT-safe: yes. */
int ictal_resampler_quality_parse(const char *name, enum ictal_resampler_quality *q);
const char *ictal_resampler_quality_name(enum ictal_resampler_quality q);

/* Most output samples process() can produce from n more input samples.
 * RT-safe: yes. */
size_t ictal_resampler_max_out(const struct ictal_resampler *r, size_t n_in);

/* Consume all n (<= max_in) samples of in[c][..]; write the output samples
 * that become available to out[c][0..*n_out-1]. Returns 0, ICTAL_ERANGE when
 * n > max_in or cap < ictal_resampler_max_out(n) (nothing consumed), or
 * ICTAL_EINVAL. RT-safe: yes. */
int ictal_resampler_process(struct ictal_resampler *r, const float *const *in, size_t n,
                            float *const *out, size_t cap, size_t *n_out);

/* Look-ahead in input samples: output sample j is written by the process()
 * call that consumes input sample floor(j / ratio) + latency, or earlier;
 * some outputs need exactly that. Measured at creation on a scratch state
 * (zeros fed one at a time until output 0 appears). 0 for linear and
 * zero_order_hold; for sinc_best/medium/fastest at 48 kHz -> 256 Hz 26794,
 * 8569 and 3610 samples (0.558, 0.179, 0.075 s). RT-safe: yes. */
size_t ictal_resampler_latency(const struct ictal_resampler *r);

/* Back to the freshly created state. RT-safe: yes. */
void ictal_resampler_reset(struct ictal_resampler *r);

/* Make dst's state a copy of src's (same channels, rates and converter;
 * max_in may differ; ICTAL_EINVAL otherwise, dst unchanged). Allocates
 * (src_clone): RT-safe: no. */
int ictal_resampler_copy_state(struct ictal_resampler *dst, const struct ictal_resampler *src,
                               struct ictal_error *err);

/* A new resampler with the same configuration and state. RT-safe: no. */
struct ictal_resampler *ictal_resampler_clone(const struct ictal_resampler *r, struct ictal_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_RESAMPLE_H */
