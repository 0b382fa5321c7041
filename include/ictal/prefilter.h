/*
 * ictal/prefilter.h — the pre-filter (pipeline step 3): a cascade of
 * second-order sections per channel, designed from the model's declared
 * stages (high-pass, low-pass, band-pass as Butterworth of any order; mains
 * notch with a quality factor).
 *
 * Design: Butterworth by the bilinear transform with pre-warping, split into
 * biquads (one first-order section, b2 = a2 = 0, for odd orders); a band-pass
 * is a high-pass at freq_hz cascaded with a low-pass at freq2_hz, each of the
 * stage's order (so 2 ceil(order/2) sections; both edges -3.01 dB when they
 * are far apart). The notch is the RBJ "Audio EQ Cookbook" notch.
 * Coefficients are computed in double.
 * Run: transposed direct form II with double state per section and channel,
 * samples in and out as float; the same operations in the same order for any
 * chunking, so outputs are bit-identical however the input is split.
 */
#ifndef ICTAL_PREFILTER_H
#define ICTAL_PREFILTER_H

#include <stddef.h>

#include "ictal/error.h"
#include "ictal/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ICTAL_PREFILTER_MAX_SECTIONS 32

/* One normalised biquad: y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2. */
struct ictal_biquad {
    double b0, b1, b2, a1, a2;
};

/* Append the sections of one stage (struct ictal_model_filter: type
 * "highpass"/"lowpass"/"bandpass"/"notch", freq_hz, freq2_hz, q, order; order
 * 0 means 2, q 0 means 30) at sample rate fs to sec[*n..]. Checks frequencies
 * (0 < f < fs/2, f < f2 for bandpass), order 1..8, q > 0.
 * Returns 0, ICTAL_EINVAL (message names the stage), or ICTAL_ERANGE when
 * more than cap sections would be needed. RT-safe: yes. */
int ictal_prefilter_design(const struct ictal_model_filter *stage, double fs,
                           struct ictal_biquad *sec, int *n, int cap, struct ictal_error *err);

/* Magnitude response of a cascade at f Hz (for tests and docs). RT-safe: yes. */
double ictal_prefilter_gain(const struct ictal_biquad *sec, int n, double f, double fs);

struct ictal_prefilter;

/* A cascade of all the stages for n_channels at fs. n_stages may be 0 (the
 * filter then copies). RT-safe: no. */
struct ictal_prefilter *ictal_prefilter_create(const struct ictal_model_filter *stages, int n_stages,
                                               int n_channels, double fs, struct ictal_error *err);
void ictal_prefilter_destroy(struct ictal_prefilter *f);

/* Number of sections and their coefficients. RT-safe: yes. */
int ictal_prefilter_sections(const struct ictal_prefilter *f, const struct ictal_biquad **sec);

/* Filter n samples of every channel in place. RT-safe: yes. */
void ictal_prefilter_process(struct ictal_prefilter *f, float *const *buf, size_t n);

/* Zero the state. RT-safe: yes. */
void ictal_prefilter_reset(struct ictal_prefilter *f);

/* State image (RT-safe: yes); load checks the shape (ICTAL_EINVAL). */
size_t ictal_prefilter_state_size(const struct ictal_prefilter *f);
int ictal_prefilter_state_save(const struct ictal_prefilter *f, void *buf, size_t cap);
int ictal_prefilter_state_load(struct ictal_prefilter *f, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_PREFILTER_H */
