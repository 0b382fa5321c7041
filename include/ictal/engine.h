/*
 * ictal/engine.h — the streaming inference engine (pipeline step 4).
 *
 * An engine runs one model over one stream of C channels at the model's
 * sample rate. Every channel goes through the same layer stack (shared
 * weights; the C channels are the rows of one matrix for each product),
 * then a head gives each channel a logit, and a cross-channel aggregation
 * (max, mean, log-sum-exp or attention) gives one seizure probability per
 * frame. One frame comes out every `hop` input samples: frame k is emitted
 * while consuming input sample k*hop (0-based; every conv is causal with
 * left zero-padding, so frame 0 is emitted on the very first sample).
 *
 * With bidirectional (bimamba2) layers, frame k describes the input up to
 * sample k*hop - info->delay_samples. In windowed mode (model "window"),
 * frames come out H/hop at a time whenever a window of W samples completes
 * (see docs/model-format.md); the clocks below count them the same way.
 *
 * Contracts (tested in tests/test_engine*.c):
 *  - chunk invariance: any split of the input into process() calls gives
 *    bit-identical outputs;
 *  - snapshot/restore: a restored engine continues bit-identically;
 *  - after create(), process/reset/state_save/state_load allocate nothing,
 *    lock nothing and make no system call.
 * Rounding: the builtin path does the same float operations in the same
 * order on every x86-64 CPU (no FMA; norms sum in a fixed lane order), so
 * its outputs are also the same across machines; it matches the PyTorch
 * reference within max |dp| <= 1e-5 (docs/engine.md).
 *
 * The engine borrows the model's weights: destroy engines before the model.
 */
#ifndef ICTAL_ENGINE_H
#define ICTAL_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "ictal/error.h"
#include "ictal/model.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ictal_engine;

/* Which matrix product the engine runs. Outputs are deterministic for
 * either, but the two round differently: use the same one wherever results
 * must be bit-identical (ictal-run and ictal-detect use the default). */
enum ictal_engine_gemm {
    ICTAL_ENGINE_GEMM_BUILTIN = 0,  /* ictal_blas_gemm_builtin: no lock, no allocation (default) */
    ICTAL_ENGINE_GEMM_OPENBLAS = 1  /* cblas_sgemm, one thread; not RT-safe: every Debian OpenBLAS
                                       build locks per call (docs/engine.md) */
};

struct ictal_engine_config {
    int n_channels;                 /* within the model's channels.min..max, at most 1024 */
    enum ictal_engine_gemm gemm;
};

/* Create an engine. All memory (state, scratch, rearranged weights) is one
 * arena allocated here; OpenBLAS is initialised and the whole stack is
 * warmed up with one frame of zeros (then reset).
 * Returns NULL and fills *err on failure. RT-safe: no. */
struct ictal_engine *ictal_engine_create(const struct ictal_model *m, const struct ictal_engine_config *cfg,
                                         struct ictal_error *err);

/* NULL is fine. RT-safe: no. */
void ictal_engine_destroy(struct ictal_engine *e);

/* Most frames that process() can emit for n more samples from the current
 * position: size output buffers with it. RT-safe: yes. */
size_t ictal_engine_max_frames(const struct ictal_engine *e, size_t n_samples);

/* Consume n samples of every channel: in[c] points to n floats of channel c.
 * For each frame emitted, writes prob[f] (aggregated probability) and, when
 * scores is not NULL, scores[f * C + c] (per-channel probabilities).
 * *n_frames receives the number of frames written.
 * Returns 0, or ICTAL_ERANGE without consuming anything when cap <
 * ictal_engine_max_frames(e, n), or ICTAL_EINVAL for NULL pointers.
 * Non-finite input is the caller's job (the input guard scrubs it); the
 * engine itself never reads outside its arena whatever the values.
 * RT-safe: yes. */
int ictal_engine_process(struct ictal_engine *e, const float *const *in, size_t n, float *prob,
                         float *scores, size_t cap, size_t *n_frames);

/* Channels taking part in the aggregation: active[c] != 0. Masked channels
 * are still computed and scored (their state stays warm). With no active
 * channel the aggregated probability is 0. Copied; RT-safe: yes. */
void ictal_engine_set_mask(struct ictal_engine *e, const unsigned char *active);

/* Output of the last layer for the latest frame, (C, head_in) row-major;
 * valid until the next process() call. RT-safe: yes. */
const float *ictal_engine_features(const struct ictal_engine *e);

/* Samples consumed and frames emitted since creation or reset. RT-safe: yes. */
uint64_t ictal_engine_samples(const struct ictal_engine *e);
uint64_t ictal_engine_frames(const struct ictal_engine *e);

/* Back to the freshly created state (zero recurrent state, clocks at 0,
 * all channels active). Frees nothing. RT-safe: yes. */
void ictal_engine_reset(struct ictal_engine *e);

/* Recurrent state (conv histories, SSM and LSTM states, clocks) as an
 * opaque byte image of ictal_engine_state_size() bytes. save copies it into
 * buf (ICTAL_ERANGE if cap is too small); load checks that the image comes
 * from an engine of the same model and channel count (ICTAL_EINVAL
 * otherwise, and the engine is left unchanged). The channel mask is
 * configuration, not state, and is not saved. RT-safe: yes (memcpy). */
size_t ictal_engine_state_size(const struct ictal_engine *e);
int ictal_engine_state_save(const struct ictal_engine *e, void *buf, size_t cap);
int ictal_engine_state_load(struct ictal_engine *e, const void *buf, size_t len);

/* Bytes of the arena (state + scratch + weight copies), and multiply-adds
 * per second of input for this channel count. RT-safe: yes. */
size_t ictal_engine_arena_size(const struct ictal_engine *e);
double ictal_engine_macs_per_second(const struct ictal_engine *e);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_ENGINE_H */
