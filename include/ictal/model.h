/*
 * ictal/model.h — the model file: a safetensors container whose __metadata__
 * "ictal" entry holds the architecture and defaults as JSON.
 * The format is specified in docs/model-format.md.
 *
 * Two layers of API:
 *  - ictal_tensorfile: a validated safetensors container (any F32 tensors),
 *    also used for golden vectors in tests;
 *  - ictal_model: a tensorfile whose metadata describes an ictal network;
 *    every layer, tensor name, shape and value is checked at load.
 *
 * Loading reads the file once into memory that the object owns; nothing here
 * is RT-safe, and nothing here needs to be: the engine (engine.h) copies what
 * it needs at creation.
 */
#ifndef ICTAL_MODEL_H
#define ICTAL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ictal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest model file / JSON header / tensor rank / dimension we accept: far
 * above anything ictal runs in real time, low enough that sizes computed from
 * them cannot overflow. */
#define ICTAL_MODEL_MAX_FILE   ((size_t)1 << 30)
#define ICTAL_MODEL_MAX_HEADER ((size_t)16 << 20)
#define ICTAL_MODEL_MAX_RANK   8
#define ICTAL_MODEL_MAX_DIM    65536
#define ICTAL_MODEL_MAX_LAYERS 64
#define ICTAL_MODEL_FORMAT_VERSION 1

/* ------------------------------------------------------------ tensor file */

struct ictal_tensorfile;

/* One tensor of a tensor file. `data` is aligned float storage owned by the
 * file (valid until ictal_tensorfile_destroy), host byte order. */
struct ictal_tensor {
    const char *name;
    int rank;
    int64_t shape[ICTAL_MODEL_MAX_RANK];
    size_t numel;
    const float *data;
};

/* Parse a safetensors image of len bytes (copied; the caller keeps `data`).
 * Checks: header length within the file and ICTAL_MODEL_MAX_HEADER, JSON
 * well-formed, every entry an object with dtype "F32" (others are
 * EUNSUPPORTED), shape of non-negative ints within limits, data_offsets
 * inside the data section and matching the shape's byte size, no two tensors
 * overlapping, every value finite. `what` names the source in messages
 * (a path, or NULL for "<buffer>").
 * Returns NULL and fills *err on failure. RT-safe: no. */
struct ictal_tensorfile *ictal_tensorfile_parse(const void *data, size_t len, const char *what,
                                                struct ictal_error *err);

/* Read the file at path once and parse it as above. RT-safe: no. */
struct ictal_tensorfile *ictal_tensorfile_load(const char *path, struct ictal_error *err);

/* Free everything the file owns. NULL is fine. RT-safe: no. */
void ictal_tensorfile_destroy(struct ictal_tensorfile *tf);

/* Number of tensors and the i-th one (in file order); NULL when out of range. RT-safe: yes. */
size_t ictal_tensorfile_count(const struct ictal_tensorfile *tf);
const struct ictal_tensor *ictal_tensorfile_at(const struct ictal_tensorfile *tf, size_t i);

/* The tensor called name, or NULL. RT-safe: yes. */
const struct ictal_tensor *ictal_tensorfile_get(const struct ictal_tensorfile *tf, const char *name);

/* Value of __metadata__[key] (a string), or NULL. Owned by tf. RT-safe: yes. */
const char *ictal_tensorfile_metadata(const struct ictal_tensorfile *tf, const char *key);

/* ------------------------------------------------------------------ model */

enum ictal_layer_type {
    ICTAL_LAYER_CONV1D = 1,
    ICTAL_LAYER_LINEAR,
    ICTAL_LAYER_LAYERNORM,
    ICTAL_LAYER_RMSNORM,
    ICTAL_LAYER_ACT,
    ICTAL_LAYER_LSTM,
    ICTAL_LAYER_MAMBA2,
    ICTAL_LAYER_BIMAMBA2    /* bidirectional, block-wise backward pass, delay block-1 frames */
};

enum ictal_act { ICTAL_ACT_SILU = 1, ICTAL_ACT_GELU, ICTAL_ACT_RELU, ICTAL_ACT_TANH, ICTAL_ACT_SIGMOID };

enum ictal_aggregation {
    ICTAL_AGG_MAX = 1, ICTAL_AGG_MEAN, ICTAL_AGG_LOGSUMEXP, ICTAL_AGG_ATTENTION
};

/* The weights of one Mamba-2 mixer (mamba_ssm Mamba2 names and layouts). */
struct ictal_mamba2_mixer {
    const float *in_proj;   /* (d_in_proj, d_model)   z | xBC | dt */
    const float *conv_w;    /* (conv_dim, 1, d_conv) */
    const float *conv_b;    /* (conv_dim) */
    const float *dt_bias;   /* (nheads) */
    const float *A_log;     /* (nheads) */
    const float *D;         /* (nheads) */
    const float *gnorm_w;   /* (d_inner)              gated RMSNorm */
    const float *out_proj;  /* (d_model, d_inner) */
};

/* One layer as the model file declares it, with pointers to its validated
 * weights (owned by the model; PyTorch layouts, row-major). Shapes below use
 * the layer's own field names. */
struct ictal_layer {
    enum ictal_layer_type type;
    char name[64];
    int in_dim, out_dim;         /* feature width in and out (every layer) */
    int stride;                  /* input steps per output step (conv: stride, else 1) */
    union {
        struct {
            int kernel, stride, dilation, groups;
            const float *weight; /* (out, in/groups, kernel) */
            const float *bias;   /* (out) or NULL */
        } conv;
        struct {
            const float *weight; /* (out, in) */
            const float *bias;   /* (out) or NULL */
        } linear;
        struct {
            float eps;
            const float *weight; /* (dim) */
            const float *bias;   /* (dim), layernorm only */
        } norm;
        struct { enum ictal_act fn; } act;
        struct {
            int hidden;
            const float *w_ih;   /* (4*hidden, in)      gate order i, f, g, o */
            const float *w_hh;   /* (4*hidden, hidden) */
            const float *b_ih;   /* (4*hidden) */
            const float *b_hh;   /* (4*hidden) */
        } lstm;
        struct {
            int d_model, d_state, d_conv, expand, headdim, ngroups;
            int d_inner, nheads, conv_dim, d_in_proj; /* derived */
            int block;              /* bimamba2: frames per backward block; 0 for mamba2 */
            float eps;
            const float *norm_w;    /* (d_model)              pre-norm RMSNorm */
            struct ictal_mamba2_mixer fwd, bwd; /* bwd: bimamba2 only */
        } mamba2;
    } u;
};

/* A pre-filter stage the model was trained behind (the pipeline builds it). */
struct ictal_model_filter {
    char type[16];      /* "highpass", "lowpass", "notch", "bandpass" */
    double freq_hz;     /* cut-off or centre */
    double freq2_hz;    /* upper edge for "bandpass", else 0 */
    double q;           /* notch quality, 0 when not given */
    int order;          /* Butterworth order for high/low/band-pass, 0 when not given */
};

/* Post-processing defaults; names are the [postproc] config keys. Durations
 * in seconds, n_on/n_off in frames. */
struct ictal_model_postproc {
    double threshold_on, threshold_off;
    int n_on, n_off;
    double opening, closing, min_duration, merge_gap, max_duration;
    char confidence[16];           /* "mean", "peak" or "percentile" */
    double confidence_percentile;  /* 0..100 */
};

#define ICTAL_MODEL_MAX_FILTERS 8
#define ICTAL_MODEL_MAX_LABELS 256

struct ictal_model_info {
    int format_version;
    char name[128];
    double sample_rate;         /* Hz the network expects */
    double frame_rate;          /* Hz of its outputs = sample_rate / hop */
    int hop;                    /* input samples per frame (product of strides) */
    int window;                 /* windowed mode: samples per window W (0: streaming mode) */
    int window_step;            /* windowed mode: samples between window starts H */
    long delay_samples;         /* look-ahead of bidirectional blocks, in input samples: frame k
                                 * (emitted at sample k*hop) describes the network's output for
                                 * the input up to sample k*hop - delay_samples. Windowed
                                 * mode: frames come out H/hop at a time, W - hop late. */
    float input_gain;           /* multiply input samples by this first */
    /* channel policy */
    char channel_policy[16];    /* "any", "labels" or "montage" */
    char montage[64];           /* montage name, "" if none */
    int n_labels;
    char labels[ICTAL_MODEL_MAX_LABELS][32];
    int min_channels, max_channels;
    int n_filters;
    struct ictal_model_filter filters[ICTAL_MODEL_MAX_FILTERS];
    struct ictal_model_postproc postproc;
    enum ictal_aggregation aggregation;
    int head_in;                /* feature width into the head */
    long n_params;              /* number of floats in all tensors */
    uint64_t fingerprint;       /* FNV-1a of the architecture JSON and every tensor's name and bits */
};

struct ictal_model;

/* Load and validate a model file (see docs/model-format.md). Every tensor a
 * layer needs must exist with exactly the declared shape, none may be unused,
 * and every number in the metadata must be in range. Errors name the file
 * and the tensor or JSON field. RT-safe: no. */
struct ictal_model *ictal_model_load(const char *path, struct ictal_error *err);

/* Same from a memory image (copied). RT-safe: no. */
struct ictal_model *ictal_model_parse(const void *data, size_t len, struct ictal_error *err);

/* NULL is fine. The engines created from the model must be destroyed first.
 * RT-safe: no. */
void ictal_model_destroy(struct ictal_model *m);

/* RT-safe: yes. Valid while the model lives. */
const struct ictal_model_info *ictal_model_info(const struct ictal_model *m);
int ictal_model_layer_count(const struct ictal_model *m);
const struct ictal_layer *ictal_model_layer(const struct ictal_model *m, int i);

/* Head (1, head_in) + bias (1); attention (1, head_in) + bias (1), or NULL
 * unless aggregation is attention. RT-safe: yes. */
const float *ictal_model_head_weight(const struct ictal_model *m);
const float *ictal_model_head_bias(const struct ictal_model *m);
const float *ictal_model_attn_weight(const struct ictal_model *m);
const float *ictal_model_attn_bias(const struct ictal_model *m);

/* The metadata JSON text as stored. RT-safe: yes. */
const char *ictal_model_metadata_json(const struct ictal_model *m);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_MODEL_H */
