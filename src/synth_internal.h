/*
 * synth_internal.h — pieces of the EEG simulator shared between its .c files.
 *
 * Determinism: every file written by ictal-synth must be byte-identical for the
 * same seed and options on any machine. libm's exp/sin/cos are not correctly
 * rounded and differ between glibc versions and architectures, so the simulator
 * never calls them: it uses the polynomial versions below, built only from
 * IEEE-754 +, -, *, / (and sqrt, which IEEE rounds exactly). The synth sources
 * are compiled with -ffp-contract=off so that no FMA changes a rounding.
 */
#ifndef ICTAL_SYNTH_INTERNAL_H
#define ICTAL_SYNTH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* ---- deterministic math (synth_math.c) ---------------------------------- */

#define SYNTH_PI 3.14159265358979323846

/* exp(x), relative error < 1e-15 over [-700, 700]; clamps outside. */
double synth_exp(double x);
/* sin(x) and cos(x), absolute error < 1e-15 for |x| < 1e6. */
double synth_sin(double x);
double synth_cos(double x);
/* Natural log for x > 0 (used only at creation for gains); NaN-free: x <= 0 gives -745. */
double synth_log(double x);

/* ---- random numbers ------------------------------------------------------ */

/* xoshiro256** (Blackman & Vigna 2018), seeded through splitmix64. */
struct synth_rng { uint64_t s[4]; };

void synth_rng_seed(struct synth_rng *r, uint64_t seed, uint64_t stream);
uint64_t synth_rng_next(struct synth_rng *r);
/* Uniform in [0, 1). */
double synth_rng_unit(struct synth_rng *r);
/* Uniform in [lo, hi). */
double synth_rng_uniform(struct synth_rng *r, double lo, double hi);
/* Uniform integer in [0, n). n > 0. */
uint32_t synth_rng_below(struct synth_rng *r, uint32_t n);
/* Approximately standard normal: Irwin–Hall sum of four 16-bit uniforms taken
 * from one 64-bit draw (tails bounded at ±3.46σ, kurtosis 2.7). Cheap and exact
 * to reproduce, which matters more here than Gaussian tails. */
double synth_rng_normal(struct synth_rng *r);

/* ---- Wendling et al. (2002) neural mass (synth_nmm.c) -------------------- */

/* Internal integration rate of every neural mass, independent of the output
 * rate so that a seizure looks the same at 128 Hz and at 2048 Hz. */
#define SYNTH_NMM_RATE 2048

/* One hippocampal/neocortical population set: pyramidal cells, excitatory
 * interneurons, slow dendritic (GABA_A,slow) and fast somatic (GABA_A,fast)
 * inhibitory interneurons. State y[0..4] are the PSP outputs, y[5..9] their
 * derivatives, as in Wendling et al. 2002, Eur J Neurosci 15:1499, Fig. 2. */
struct synth_nmm {
    double y[10];
    /* DC-blocking high-pass and peak envelope on the output, so that the
     * caller can impose an amplitude trajectory on a unit-peak signal. */
    double hp_x1, hp_y1, env;
    double last_hp; /* the high-passed LFP of the last step (mV) */
    struct synth_rng rng;
};

/* Synaptic gains (mV) and a time-scale factor k (1 = the published rates
 * a=100/s, b=50/s, g=500/s; k<1 slows every rhythm by the same factor). */
struct synth_nmm_param {
    double A, B, G;
    double k;
    double p_mean, p_sd; /* afferent pulse density (pulses/s) */
};

void synth_nmm_init(struct synth_nmm *m, uint64_t seed, uint64_t stream);
/* Advance one step of 1/SYNTH_NMM_RATE s; returns the raw LFP y1 - y2 - y3 (mV). */
double synth_nmm_step(struct synth_nmm *m, const struct synth_nmm_param *p);
/* Advance one step and return the DC-free output divided by its peak envelope
 * (instant attack, 1.5 s release): |value| <= 1, waveform the model's. */
double synth_nmm_step_norm(struct synth_nmm *m, const struct synth_nmm_param *p);

#endif /* ICTAL_SYNTH_INTERNAL_H */
