/*
 * ictal/pipeline.h — the whole detection pipeline for one stream of C
 * channels: input guard → rate conversion → pre-filter → inference engine →
 * post-processing (DESIGN.md steps 1-6). ictal-run and ictal-detect both
 * drive exactly this object, so they give the same events by construction.
 *
 *   samples (input rate, µV) ─ guard ─ resampler ─ prefilter ─ engine ─ postproc ─▶ records
 *                               │ quality flags → channel mask (engine aggregation)
 *
 * Time: the pipeline counts input samples and model-rate samples (64 bit).
 * Records (event.h) carry frames, model samples and seconds; see
 * docs/pipeline.md for how each is derived and for the declared latency.
 *
 * Contracts (tests/test_pipeline.c):
 *  - chunk invariance: any split of the input into process() calls (1 sample,
 *    a JACK period, a whole file) gives identical records and frames;
 *  - snapshot/restore: a restored pipeline continues bit-identically;
 *  - process/flush/gap/mark_xrun/reset allocate nothing, lock nothing, make
 *    no system call (RT guard test), with bounded work per sample.
 */
#ifndef ICTAL_PIPELINE_H
#define ICTAL_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ictal/config.h"
#include "ictal/engine.h"
#include "ictal/error.h"
#include "ictal/event.h"
#include "ictal/guard.h"
#include "ictal/model.h"
#include "ictal/postproc.h"
#include "ictal/resample.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ictal_pipeline_config {
    int n_channels;                   /* within the model's channel policy */
    double input_rate;                /* Hz of the samples given to process() */
    size_t max_block;                 /* most input samples per process() call, >= 1 */
    /* step 1: input guard (n_channels and rate are filled in by create) */
    struct ictal_guard_config guard;
    bool mask_bad_channels;           /* flagged channels leave the aggregation */
    int min_good_channels;            /* fewer: probability 0, frame flag NO_DECISION;
                                         0..n_channels (more is refused by create) */
    /* step 2: used only when input_rate differs from the model's rate */
    enum ictal_resampler_quality resampler;
    /* step 3 */
    int n_filters;
    struct ictal_model_filter filters[ICTAL_MODEL_MAX_FILTERS];
    /* step 4 */
    enum ictal_engine_gemm gemm;
    /* step 5 (n_channels is filled in by create) */
    struct ictal_postproc_config postproc;
};

/* A configuration from the model's declared defaults alone (pre-filter and
 * [postproc] defaults, the guard's and pipeline's built-in defaults), for C
 * channels at input_rate. Returns 0 or ICTAL_EINVAL. RT-safe: no.
 * (It is ictal_pipeline_config_from over the configuration table's defaults
 * with ictal_pipeline_model_defaults applied: one source of built-in values.) */
int ictal_pipeline_config_default(struct ictal_pipeline_config *pc, const struct ictal_model *m,
                                  int n_channels, double input_rate, size_t max_block,
                                  struct ictal_error *err);

/* Put the model's declared defaults into cfg at ICTAL_CONFIG_LAYER_MODEL,
 * with `source` (e.g. the model path) as their origin: every [postproc] key,
 * and [pipeline] highpass/lowpass/notch/notch_q from its pre-filter stages (0
 * for a stage it does not declare). Files, environment and command line
 * still override them. Call before ictal_config_validate. RT-safe: no. */
int ictal_pipeline_model_defaults(struct ictal_config *cfg, const struct ictal_model *m,
                                  const char *source);

/* A configuration from a validated ictal_config ([pipeline], [postproc]),
 * seconds converted to frames at the model's frame rate. The Butterworth
 * orders of the high/low-pass stages are the model's where it declares them,
 * else 2. RT-safe: no. */
int ictal_pipeline_config_from(struct ictal_pipeline_config *pc, const struct ictal_config *cfg,
                               const struct ictal_model *m, int n_channels, double input_rate,
                               size_t max_block, struct ictal_error *err);

struct ictal_pipeline;

/* Build every stage and size every buffer; warms the engine up. The model
 * must outlive the pipeline. RT-safe: no. */
struct ictal_pipeline *ictal_pipeline_create(const struct ictal_model *m,
                                             const struct ictal_pipeline_config *cfg,
                                             struct ictal_error *err);
void ictal_pipeline_destroy(struct ictal_pipeline *p);

/* Per-frame outputs of one process() call (all pointers optional, each cap
 * entries): the aggregated probability, the frame flags (ICTAL_FRAME_*), and
 * 1 while an alarmed event is open after that frame (the alarm CV). */
struct ictal_pipeline_frames {
    float *prob;
    uint8_t *flags;
    uint8_t *alarm;
    size_t cap;
    size_t n;                         /* out: frames written */
};

/* Most frames one process() call of n input samples can produce: size
 * ictal_pipeline_frames.cap with ictal_pipeline_max_frames(p, max_block).
 * RT-safe: yes. */
size_t ictal_pipeline_max_frames(const struct ictal_pipeline *p, size_t n);

/* Consume n (<= max_block) samples of every channel: in[c][0..n-1], µV at
 * the input rate (not modified). Records go to sink (may be NULL), frames to
 * frames (may be NULL). Returns 0, ICTAL_ERANGE (n > max_block or frames->cap
 * < ictal_pipeline_max_frames(p, n); nothing consumed), ICTAL_EINVAL, or
 * ICTAL_ESTATE after flush. Frame flags: docs/pipeline.md ("Frame flags").
 * process, gap and flush flush denormals while they run and restore the
 * caller's setting, so results do not depend on the calling thread.
 * RT-safe: yes. */
int ictal_pipeline_process(struct ictal_pipeline *p, const float *const *in, size_t n,
                           const struct ictal_event_sink *sink, struct ictal_pipeline_frames *frames);

/* n (<= max_block) input samples are missing (an xrun, a dropped packet):
 * advance the clocks by feeding each channel's last sample (as the guard left
 * it: finite) n times through every stage, and flag the frames they produce
 * ICTAL_FRAME_XRUN. RT-safe: yes. */
int ictal_pipeline_gap(struct ictal_pipeline *p, size_t n, const struct ictal_event_sink *sink,
                       struct ictal_pipeline_frames *frames);

/* The next frame produced is flagged ICTAL_FRAME_XRUN (an xrun happened
 * while its samples were in flight). RT-safe: yes. */
void ictal_pipeline_mark_xrun(struct ictal_pipeline *p);

/* End of stream: finalise pending records (postproc flush). Then only
 * reset() or destroy. RT-safe: yes. */
int ictal_pipeline_flush(struct ictal_pipeline *p, const struct ictal_event_sink *sink);

/* Back to the freshly created state. RT-safe: yes. */
void ictal_pipeline_reset(struct ictal_pipeline *p);

/* What a quality callback receives (event.h's sink->quality). */
struct ictal_quality_change {
    int channel;
    unsigned flags, previous;         /* ICTAL_QUALITY_* */
    uint64_t input_sample;            /* end of the block that changed it */
    double t_s;                       /* the same in seconds */
    int good_channels;                /* channels without flags after the change */
};

/* Delays, all in seconds of input time (docs/pipeline.md). */
struct ictal_pipeline_latency {
    double resampler;                 /* libsamplerate look-ahead (0 without conversion) */
    double engine;                    /* bidirectional look-ahead / window (model) */
    double frame;                     /* one hop: a frame sums up to this much input */
    double postproc;                  /* the post-processing delay D frames */
    double total;                     /* the sum: input time to alarm decision */
    uint32_t total_samples;           /* total in input samples, rounded up (JACK latency) */
};
void ictal_pipeline_latency(const struct ictal_pipeline *p, struct ictal_pipeline_latency *lat);

struct ictal_pipeline_stats {
    uint64_t input_samples;           /* consumed by process() and gap() */
    uint64_t gap_samples;             /* of which gap() */
    uint64_t model_samples;           /* into the engine */
    uint64_t frames;                  /* out of the engine */
    uint64_t records[4];              /* by ictal_event_kind */
    uint64_t nonfinite;               /* all channels */
    uint64_t no_decision_frames;
    int good_channels;
};
void ictal_pipeline_stats(const struct ictal_pipeline *p, struct ictal_pipeline_stats *st);

/* Per channel: quality flags and counters (guard.h). RT-safe: yes. */
unsigned ictal_pipeline_channel_quality(const struct ictal_pipeline *p, int c);
struct ictal_guard_counts ictal_pipeline_channel_counts(const struct ictal_pipeline *p, int c);

/* The pieces, for reports (borrowed). RT-safe: yes. */
const struct ictal_model *ictal_pipeline_model(const struct ictal_pipeline *p);
const struct ictal_pipeline_config *ictal_pipeline_get_config(const struct ictal_pipeline *p);
double ictal_pipeline_model_rate(const struct ictal_pipeline *p);
double ictal_pipeline_frame_rate(const struct ictal_pipeline *p);

/* A snapshot of the whole state (guard, resampler, pre-filter, engine,
 * post-processing, clocks, counters). create allocates one (holding the
 * current state); save and restore copy into / out of it; a snapshot may be
 * restored into any pipeline of the same configuration. Without rate conversion save/restore are memcpy
 * (RT-safe: yes); with it they clone libsamplerate's state (RT-safe: no).
 * restore checks the snapshot comes from this pipeline's configuration. */
struct ictal_pipeline_snapshot;
struct ictal_pipeline_snapshot *ictal_pipeline_snapshot_create(const struct ictal_pipeline *p,
                                                               struct ictal_error *err);
void ictal_pipeline_snapshot_destroy(struct ictal_pipeline_snapshot *s);
int ictal_pipeline_snapshot_save(const struct ictal_pipeline *p, struct ictal_pipeline_snapshot *s,
                                 struct ictal_error *err);
int ictal_pipeline_snapshot_restore(struct ictal_pipeline *p, const struct ictal_pipeline_snapshot *s,
                                    struct ictal_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_PIPELINE_H */
