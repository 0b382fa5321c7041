/*
 * engine.c — the streaming inference engine (see ictal/engine.h and
 * docs/engine.md). llama2.c/mamba.c-style: per-layer weights (borrowed from
 * the model, or rearranged copies), recurrent state and scratch, all carved
 * from one arena at creation. Above each kernel, the PyTorch it implements
 * (tools/model/ictal_ref.py).
 *
 * Determinism: every input sample goes through the same operations on the
 * same data whatever the chunking. With OpenBLAS every product has the same
 * shape every time (one time step of all channels); with the builtin kernel
 * the leading layers (conv front-end and Mamba-2 blocks) are batched over
 * time, which is still bit-identical because that kernel computes every row
 * on its own in the same order.
 */
#include "ictal/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/blas.h"
#include "ictal/nn_ops.h"
#include "nn_internal.h"

#if defined(__GNUC__)
#define ICTAL_FORCE_INLINE static inline __attribute__((always_inline))
#else
#define ICTAL_FORCE_INLINE static inline
#endif

#define STATE_MAGIC 0x6963746c656e6732ull /* "ictleng2": SSM state (d_state, d_inner) per channel */
#define MAX_CHANNELS 1024
#define ALIGN 64

/* One weight matrix of a product y (C, N) = x (C, K) · W^T, in the layout
 * the chosen GEMM wants: nk = W as PyTorch stores it (N, K) for OpenBLAS,
 * kn = W^T (K, N) copied into the arena for the builtin kernel. */
struct gemm_w {
    const float *nk; /* (N, K) */
    float *kn;       /* (K, ldkn) or NULL; columns N..ldkn-1 zero */
    int N, K, ldkn;
};

/* One Mamba-2 mixer at run time: its products, precomputed constants and
 * recurrent state (the backward mixer of a bimamba2 layer keeps its state
 * in scratch: it restarts from zero at every block). */
struct mixer_rt {
    const struct ictal_mamba2_mixer *w;
    struct gemm_w gin, gout; /* in_proj (d_in_proj, d_model), out_proj (d_model, d_inner) */
    float *A;                /* (nheads) = -exp(A_log) */
    float *Dp;               /* (nheads + 16) = D, zero-padded (ssm_scan_step_g1 reads 16 from a head) */
    float *conv_wt;          /* (d_conv, conv_dim) = conv1d.weight (conv_dim, 1, d_conv) transposed */
    float *conv_state;       /* (C, d_conv, conv_dim), oldest first */
    float *ssm;              /* (C, d_state, d_inner): PyTorch's (C, nheads, headdim, d_state) as (C, d_state, nheads * headdim) */
};

/* Per-layer runtime. C = channels (rows). */
struct rt_layer {
    struct gemm_w g1;     /* conv/linear/lstm */
    const struct ictal_layer *L;
    uint64_t *n_in;   /* state: inputs seen (conv phase) */
    /* conv1d */
    int span;         /* (kernel-1)*dilation + 1 */
    float *hist;      /* state (C, span, in): ring of the last span inputs */
    float *col;       /* scratch (C, kernel, in): the taps of this output */
    float *wr;        /* (out, kernel, in) = weight (out, in, kernel) permuted, groups == 1 (g1.nk) */
    /* lstm */
    float *h, *c;     /* state (C, H) each */
    float *xh;        /* scratch (C, in + H) = [x | h] */
    float *w_cat;     /* (4H, in + H) = [w_ih | w_hh] (g1.nk) */
    float *b_sum;     /* (4H) = b_ih + b_hh */
    float *gates;     /* scratch (C, 4H) */
    /* mamba2 / bimamba2 */
    struct mixer_rt fwd, bwd;
    float *xn;        /* scratch (C, d_model) */
    float *zxbcdt;    /* scratch (C, d_in_proj); (MAMBA_TB * C, ldz) when time-batched */
    int ldz;          /* row stride of zxbcdt */
    float *y;         /* scratch (C, d_inner) */
    float *xbc;       /* scratch (C, conv_dim) conv output, then silu */
    float *gz;        /* scratch (C, d_inner) silu(z) */
    float *dt, *dA;   /* scratch (C, nheads) each */
    float *bo;        /* scratch (C, d_model) one backward output */
    /* bimamba2 state: the current block, (block, C, d_model) each */
    float *bx;        /* inputs x (for the residual) */
    float *bu;        /* RMSNorm(x) */
    float *bf;        /* forward mixer outputs */
    float *by;        /* outputs of the last complete block (zeros before the first) */
};

struct state_hdr {
    uint64_t magic, fingerprint, channels, bytes;
    uint64_t samples, frames;
};

struct ictal_engine {
    const struct ictal_model *m;
    const struct ictal_model_info *info;
    int C, n_layers, maxdim, hop;
    enum ictal_engine_gemm gemm;
    struct rt_layer rt[ICTAL_MODEL_MAX_LAYERS];
    unsigned char *arena;
    size_t arena_bytes, state_bytes;
    struct state_hdr *st;  /* at arena start; the state region is [arena, arena+state_bytes) */
    float *buf[2];         /* scratch (C, maxdim) ping-pong */
    float *feat;           /* (C, head_in) last frame's features */
    float *logit, *attn;   /* scratch (C) */
    unsigned char *active; /* (C) */
    double macs;
    /* windowed mode (info->window > 0): W samples, step H, Fw = W/hop frames per window */
    int W, H, Fw;
    float *ring;           /* state (C, W): the last W scaled samples, at sample index % W */
    float *acc_p, *acc_w;  /* state (Fw): Hamming-weighted sums of pending frames, at frame % Fw */
    float *acc_s;          /* state (Fw, C) */
    float *hamming;        /* (Fw) np.hamming(Fw) */
    float *wp, *ws;        /* scratch (Fw), (Fw, C): one window's outputs */
    size_t layers_begin, layers_end; /* byte range of the layers' state, zeroed per window */
    /* Time-batched prefix (builtin GEMM only): the leading layers whose
     * products do not depend on their own earlier outputs (conv1d, linear,
     * norms, activations, Mamba-2 blocks, whose recurrence is element-wise)
     * run layer by layer over up to BLOCK samples at a time, all (time step,
     * channel) pairs as rows of one product. The builtin kernel computes
     * every row on its own in the same order, so this is bit-identical to
     * stepping sample by sample. */
    int prefix;            /* number of leading layers batched over time (0: none) */
    float *xin;            /* scratch (BLOCK, C): scaled input samples, time-major; (C, n) channel-major
                            * when xin_cm */
    int xin_cm;            /* process() fills xin channel-major: the first layer is a plain
                            * 1-input conv of the prefix, which reads each channel's samples
                            * contiguously (no transposition there and back) */
    float *seq[2];         /* scratch: ping-pong (T_l, C, dim_l) sequences, seq_floats each */
    float *seq_col;        /* scratch: gathered conv taps (T_out, C, kernel*in) */
    long seq_floats, col_floats;
};

#define BLOCK 256 /* samples per time-batched block */
#define MAX_DCONV 64 /* model_arch.c's limit on d_conv */
#define MAMBA_TB 8 /* frames per chunk of a time-batched Mamba-2 layer (its scratch is sized for this many) */

/* ------------------------------------------------------------ arena */

struct arena { unsigned char *base; size_t off; };

static void *take(struct arena *a, size_t bytes)
{
    size_t o = (a->off + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    a->off = o + bytes;
    return a->base ? a->base + o : NULL;
}
#define TAKEF(a, n) ((float *)take((a), (size_t)(n) * sizeof(float)))


static void gemm_site(struct ictal_engine *e, struct arena *a, struct gemm_w *g, const float *nk, int N, int K)
{
    g->nk = nk;
    g->N = N;
    g->K = K;
    g->ldkn = ICTAL_BLAS_LDB(N);
    g->kn = e->gemm == ICTAL_ENGINE_GEMM_BUILTIN ? TAKEF(a, (long)g->ldkn * K) : NULL;
}

/* y (M, N) = x (M, K) · W^T with the engine's GEMM. */
static void gemm_rows(const struct gemm_w *g, int M, const float *x, int ldx, float *y, int ldy)
{
    if (g->kn)
        ictal_blas_gemm_builtin(M, g->N, g->K, x, ldx, g->kn, g->ldkn, y, ldy);
    else
        ictal_blas_sgemm_nt(M, g->N, g->K, x, ldx, g->nk, g->K, y, ldy);
}

/* y (C, N) = x (C, K) · W^T: one time step of all channels. */
static void gemm(const struct ictal_engine *e, const struct gemm_w *g, const float *x, int ldx, float *y)
{
    gemm_rows(g, e->C, x, ldx, y, g->N);
}

/* Lay out (or, with base NULL, measure) everything. State first. */
static void layout(struct ictal_engine *e, struct arena *a)
{
    const int C = e->C;
    e->st = take(a, sizeof(struct state_hdr));
    if (e->W) {
        e->ring = TAKEF(a, (long)C * e->W);
        e->acc_p = TAKEF(a, e->Fw);
        e->acc_w = TAKEF(a, e->Fw);
        e->acc_s = TAKEF(a, (long)e->Fw * C);
    }
    e->layers_begin = (a->off + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    for (int l = 0; l < e->n_layers; l++) {
        struct rt_layer *r = &e->rt[l];
        const struct ictal_layer *L = r->L;
        r->n_in = take(a, sizeof(uint64_t));
        switch (L->type) {
        case ICTAL_LAYER_CONV1D:
            r->span = (L->u.conv.kernel - 1) * L->u.conv.dilation + 1;
            r->hist = TAKEF(a, (long)C * r->span * L->in_dim);
            break;
        case ICTAL_LAYER_LSTM:
            r->h = TAKEF(a, (long)C * L->u.lstm.hidden);
            r->c = TAKEF(a, (long)C * L->u.lstm.hidden);
            break;
        case ICTAL_LAYER_MAMBA2:
        case ICTAL_LAYER_BIMAMBA2:
            r->fwd.conv_state = TAKEF(a, (long)C * L->u.mamba2.d_conv * L->u.mamba2.conv_dim);
            r->fwd.ssm = TAKEF(a, (long)C * L->u.mamba2.d_inner * L->u.mamba2.d_state);
            if (L->type == ICTAL_LAYER_BIMAMBA2) {
                const long blk = (long)L->u.mamba2.block * C * L->u.mamba2.d_model;
                r->bx = TAKEF(a, blk);
                r->bu = TAKEF(a, blk);
                r->bf = TAKEF(a, blk);
                r->by = TAKEF(a, blk);
            }
            break;
        default:
            break;
        }
    }
    e->state_bytes = e->layers_end = (a->off + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (e->W) {
        e->hamming = TAKEF(a, e->Fw);
        e->wp = TAKEF(a, e->Fw);
        e->ws = TAKEF(a, (long)e->Fw * C);
    }
    for (int l = 0; l < e->n_layers; l++) {
        struct rt_layer *r = &e->rt[l];
        const struct ictal_layer *L = r->L;
        switch (L->type) {
        case ICTAL_LAYER_CONV1D:
            if (L->u.conv.groups == 1) {
                r->wr = TAKEF(a, (long)L->out_dim * L->u.conv.kernel * L->in_dim);
                gemm_site(e, a, &r->g1, r->wr, L->out_dim, L->u.conv.kernel * L->in_dim);
            }
            r->col = TAKEF(a, (long)C * L->u.conv.kernel * L->in_dim);
            break;
        case ICTAL_LAYER_LINEAR:
            gemm_site(e, a, &r->g1, L->u.linear.weight, L->out_dim, L->in_dim);
            break;
        case ICTAL_LAYER_LSTM: {
            int H = L->u.lstm.hidden, I = L->in_dim;
            r->xh = TAKEF(a, (long)C * (I + H));
            r->w_cat = TAKEF(a, (long)4 * H * (I + H));
            r->b_sum = TAKEF(a, 4 * H);
            r->gates = TAKEF(a, (long)C * 4 * H);
            gemm_site(e, a, &r->g1, r->w_cat, 4 * H, I + H);
            break;
        }
        case ICTAL_LAYER_MAMBA2:
        case ICTAL_LAYER_BIMAMBA2: {
            /* a time-batched layer (run_mamba2_seq) works on MAMBA_TB frames at once */
            const long R = (long)C * (l < e->prefix ? MAMBA_TB : 1);
            r->xn = TAKEF(a, R * L->u.mamba2.d_model);
            r->bo = TAKEF(a, (long)C * L->u.mamba2.d_model);
            /* time-batched: rows padded to whole GEMM column blocks (ldz) */
            r->ldz = l < e->prefix ? ICTAL_BLAS_LDB(L->u.mamba2.d_in_proj) : L->u.mamba2.d_in_proj;
            r->zxbcdt = TAKEF(a, R * r->ldz);
            r->y = TAKEF(a, R * L->u.mamba2.d_inner);
            r->xbc = TAKEF(a, R * L->u.mamba2.conv_dim);
            r->gz = TAKEF(a, R * L->u.mamba2.d_inner);
            r->dt = TAKEF(a, R * L->u.mamba2.nheads + 16); /* + 16: ssm_scan_step_g1 reads 16 from a head */
            r->dA = TAKEF(a, R * L->u.mamba2.nheads + 16);
            for (int dir = 0; dir < 1 + (L->type == ICTAL_LAYER_BIMAMBA2); dir++) {
                struct mixer_rt *mx = dir ? &r->bwd : &r->fwd;
                mx->w = dir ? &L->u.mamba2.bwd : &L->u.mamba2.fwd;
                mx->A = TAKEF(a, L->u.mamba2.nheads);
                mx->Dp = TAKEF(a, L->u.mamba2.nheads + 16);
                mx->conv_wt = TAKEF(a, (long)L->u.mamba2.conv_dim * L->u.mamba2.d_conv);
                gemm_site(e, a, &mx->gin, mx->w->in_proj, L->u.mamba2.d_in_proj, L->u.mamba2.d_model);
                gemm_site(e, a, &mx->gout, mx->w->out_proj, L->u.mamba2.d_model, L->u.mamba2.d_inner);
                if (dir) { /* the backward mixer's state is scratch */
                    mx->conv_state = TAKEF(a, (long)C * L->u.mamba2.d_conv * L->u.mamba2.conv_dim);
                    mx->ssm = TAKEF(a, (long)C * L->u.mamba2.d_inner * L->u.mamba2.d_state);
                }
            }
            break;
        }
        default:
            break;
        }
    }
    e->xin = TAKEF(a, (long)BLOCK * C);
    e->seq[0] = TAKEF(a, e->seq_floats);
    e->seq[1] = TAKEF(a, e->seq_floats);
    e->seq_col = TAKEF(a, e->col_floats);
    e->buf[0] = TAKEF(a, (long)C * e->maxdim);
    e->buf[1] = TAKEF(a, (long)C * e->maxdim);
    e->feat = TAKEF(a, (long)C * e->info->head_in);
    e->logit = TAKEF(a, C);
    e->attn = TAKEF(a, C);
    e->active = take(a, (size_t)C);
}

/* Weight copies that need a different layout than PyTorch's. */
static void transpose_site(struct gemm_w *g)
{
    if (!g->kn || !g->nk)
        return;
    for (int n = 0; n < g->N; n++)
        for (int k = 0; k < g->K; k++)
            g->kn[(long)k * g->ldkn + n] = g->nk[(long)n * g->K + k];
}

static void prepare_weights(struct ictal_engine *e)
{
    for (int l = 0; l < e->n_layers; l++) {
        struct rt_layer *r = &e->rt[l];
        const struct ictal_layer *L = r->L;
        if (L->type == ICTAL_LAYER_CONV1D && r->wr) {
            int O = L->out_dim, I = L->in_dim, K = L->u.conv.kernel;
            for (int o = 0; o < O; o++)
                for (int i = 0; i < I; i++)
                    for (int k = 0; k < K; k++)
                        r->wr[((long)o * K + k) * I + i] = L->u.conv.weight[((long)o * I + i) * K + k];
        } else if (L->type == ICTAL_LAYER_LSTM) {
            int H = L->u.lstm.hidden, I = L->in_dim;
            for (int g = 0; g < 4 * H; g++) {
                memcpy(r->w_cat + (long)g * (I + H), L->u.lstm.w_ih + (long)g * I, (size_t)I * sizeof(float));
                memcpy(r->w_cat + (long)g * (I + H) + I, L->u.lstm.w_hh + (long)g * H, (size_t)H * sizeof(float));
                r->b_sum[g] = L->u.lstm.b_ih[g] + L->u.lstm.b_hh[g];
            }
        } else if (L->type == ICTAL_LAYER_MAMBA2 || L->type == ICTAL_LAYER_BIMAMBA2) {
            for (int dir = 0; dir < 1 + (L->type == ICTAL_LAYER_BIMAMBA2); dir++) {
                struct mixer_rt *mx = dir ? &r->bwd : &r->fwd;
                /* A = -torch.exp(self.A_log) — precomputed once */
                for (int h = 0; h < L->u.mamba2.nheads; h++) {
                    mx->A[h] = -expf(mx->w->A_log[h]);
                    mx->Dp[h] = mx->w->D[h];
                }
                for (int j = 0; j < L->u.mamba2.conv_dim; j++)
                    for (int k = 0; k < L->u.mamba2.d_conv; k++)
                        mx->conv_wt[(long)k * L->u.mamba2.conv_dim + j] = mx->w->conv_w[(long)j * L->u.mamba2.d_conv + k];
            }
        }
    }
    /* after the rearrangements above: conv and LSTM sites point at them */
    for (int l = 0; l < e->n_layers; l++) {
        transpose_site(&e->rt[l].g1);
        transpose_site(&e->rt[l].fwd.gin);
        transpose_site(&e->rt[l].fwd.gout);
        transpose_site(&e->rt[l].bwd.gin);
        transpose_site(&e->rt[l].bwd.gout);
    }
}

static double layer_macs(const struct ictal_layer *L)
{
    switch (L->type) {
    case ICTAL_LAYER_CONV1D:
        return (double)L->out_dim * (L->in_dim / L->u.conv.groups) * L->u.conv.kernel;
    case ICTAL_LAYER_LINEAR:
        return (double)L->out_dim * L->in_dim;
    case ICTAL_LAYER_LSTM:
        return 4.0 * L->u.lstm.hidden * (L->in_dim + L->u.lstm.hidden);
    case ICTAL_LAYER_MAMBA2:
    case ICTAL_LAYER_BIMAMBA2: {
        const int dm = L->u.mamba2.d_model, di = L->u.mamba2.d_inner;
        return (L->type == ICTAL_LAYER_BIMAMBA2 ? 2.0 : 1.0) *
               ((double)L->u.mamba2.d_in_proj * dm + (double)L->u.mamba2.conv_dim * L->u.mamba2.d_conv +
                3.0 * di * L->u.mamba2.d_state + (double)dm * di);
    }
    default:
        return 0;
    }
}

static int run_layers(struct ictal_engine *e, int from);

struct ictal_engine *ictal_engine_create(const struct ictal_model *m, const struct ictal_engine_config *cfg,
                                         struct ictal_error *err)
{
    if (!m || !cfg) {
        ictal_error_set(err, ICTAL_EINVAL, "engine: NULL %s", m ? "config" : "model");
        return NULL;
    }
    if (cfg->gemm != ICTAL_ENGINE_GEMM_BUILTIN && cfg->gemm != ICTAL_ENGINE_GEMM_OPENBLAS) {
        ictal_error_set(err, ICTAL_EINVAL, "engine: unknown gemm backend %d", (int)cfg->gemm);
        return NULL;
    }
    const int n_channels = cfg->n_channels;
    const struct ictal_model_info *info = ictal_model_info(m);
    if (n_channels < 1 || n_channels > MAX_CHANNELS || n_channels < info->min_channels ||
        n_channels > info->max_channels) {
        ictal_error_set(err, ICTAL_ERANGE, "engine: %d channels; model '%s' takes %d..%d (ictal at most %d)",
                        n_channels, info->name, info->min_channels, info->max_channels, MAX_CHANNELS);
        return NULL;
    }
    struct ictal_engine *e = calloc(1, sizeof *e);
    if (!e) {
        ictal_error_set(err, ICTAL_ENOMEM, "engine: out of memory");
        return NULL;
    }
    e->m = m;
    e->info = info;
    e->C = n_channels;
    e->gemm = cfg->gemm;
    e->n_layers = ictal_model_layer_count(m);
    e->hop = info->hop;
    e->W = info->window;
    e->H = info->window_step;
    e->Fw = e->W ? e->W / e->hop : 0;
    e->maxdim = 1;
    double rate = info->sample_rate;
    for (int l = 0; l < e->n_layers; l++) {
        const struct ictal_layer *L = ictal_model_layer(m, l);
        e->rt[l].L = L;
        if (L->in_dim > e->maxdim)
            e->maxdim = L->in_dim;
        if (L->out_dim > e->maxdim)
            e->maxdim = L->out_dim;
        rate /= L->stride;
        e->macs += layer_macs(L) * rate * n_channels;
    }
    e->macs += info->frame_rate * n_channels * info->head_in * (info->aggregation == ICTAL_AGG_ATTENTION ? 2 : 1);
    if (info->window)
        e->macs *= (double)info->window / info->window_step; /* every sample is seen W/H times */
    /* the time-batched prefix and its buffer sizes */
    e->prefix = 0;
    if (e->gemm == ICTAL_ENGINE_GEMM_BUILTIN)
        while (e->prefix < e->n_layers) {
            const enum ictal_layer_type t = ictal_model_layer(m, e->prefix)->type;
            if (t != ICTAL_LAYER_CONV1D && t != ICTAL_LAYER_LINEAR && t != ICTAL_LAYER_LAYERNORM &&
                t != ICTAL_LAYER_RMSNORM && t != ICTAL_LAYER_ACT && t != ICTAL_LAYER_MAMBA2)
                break;
            e->prefix++;
        }
    if (e->prefix > 0 && !info->window) {
        const struct ictal_layer *L0 = ictal_model_layer(m, 0);
        e->xin_cm = L0->type == ICTAL_LAYER_CONV1D && L0->in_dim == 1 && L0->u.conv.dilation == 1 &&
                    L0->u.conv.groups == 1;
    }
    {
        long T = BLOCK;
        e->seq_floats = (long)BLOCK * n_channels;
        e->col_floats = 1;
        for (int l = 0; l < e->prefix; l++) {
            const struct ictal_layer *L = ictal_model_layer(m, l);
            const long Tin = T;
            if (L->type == ICTAL_LAYER_CONV1D) {
                T = (T + L->stride - 1) / L->stride;
                long col = T * n_channels * (long)L->u.conv.kernel * L->in_dim;
                const long contig = (long)n_channels * ((long)(L->u.conv.kernel - 1) * L->u.conv.dilation + Tin) * L->in_dim;
                if (contig > col)
                    col = contig;
                if (col > e->col_floats)
                    e->col_floats = col;
            }
            const long in_f = Tin * n_channels * L->in_dim, out_f = T * n_channels * L->out_dim;
            if (in_f > e->seq_floats)
                e->seq_floats = in_f;
            if (out_f > e->seq_floats)
                e->seq_floats = out_f;
        }
    }
    struct arena a = {NULL, 0};
    layout(e, &a);
    e->arena_bytes = (a.off + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    e->arena = aligned_alloc(ALIGN, e->arena_bytes);
    if (!e->arena) {
        ictal_error_set(err, ICTAL_ENOMEM, "engine: out of memory for a %zu-byte arena", e->arena_bytes);
        free(e);
        return NULL;
    }
    memset(e->arena, 0, e->arena_bytes);
    a = (struct arena){e->arena, 0};
    layout(e, &a);
    prepare_weights(e);
    /* np.hamming(Fw): 0.54 - 0.46 cos(2 pi j / (Fw - 1)) */
    for (int j = 0; j < e->Fw; j++)
        e->hamming[j] = e->Fw == 1 ? 1.0f : (float)(0.54 - 0.46 * cos(2.0 * 3.14159265358979323846 * j / (e->Fw - 1)));
    ictal_blas_init();
    /* Warm-up: one frame of zeros through every layer, so that OpenBLAS's
     * and libm's first-call paths run now and not in the first RT cycle;
     * then forget it. */
    ictal_engine_reset(e);
    for (int i = 0; i < e->hop; i++) {
        memset(e->buf[0], 0, (size_t)e->C * sizeof(float));
        (void)run_layers(e, 0);
    }
    ictal_engine_reset(e);
    return e;
}

void ictal_engine_destroy(struct ictal_engine *e)
{
    if (!e)
        return;
    free(e->arena);
    free(e);
}

void ictal_engine_reset(struct ictal_engine *e)
{
    memset(e->arena, 0, e->state_bytes);
    e->st->magic = STATE_MAGIC;
    e->st->fingerprint = e->info->fingerprint;
    e->st->channels = (uint64_t)e->C;
    e->st->bytes = e->state_bytes;
    memset(e->active, 1, (size_t)e->C);
}

/* ------------------------------------------------------------ layers */

/* CausalConv1d.forward: F.conv1d(F.pad(x, (span-1, 0)), w, b, stride, 0, dilation, groups)
 * Streaming: push x into the history; emit when the input index is a
 * multiple of the stride. Returns 1 when an output was written to y (C, out). */
static int run_conv(struct ictal_engine *e, struct rt_layer *r, const float *x, float *y)
{
    const struct ictal_layer *L = r->L;
    const int C = e->C, I = L->in_dim, O = L->out_dim, K = L->u.conv.kernel, D = L->u.conv.dilation;
    const int G = L->u.conv.groups;
    /* The history is a ring of the last span inputs (the state stays that
     * small); pos is where this input goes. On an emitting input the kernel
     * taps are gathered into col, oldest first: tap k reads the input
     * (K-1-k)*D steps back. */
    const uint64_t n = (*r->n_in)++;
    const int span = r->span;
    const int pos = (int)(n % (uint64_t)span);
    for (int c = 0; c < C; c++) {
        float *dst = r->hist + ((long)c * span + pos) * I;
        for (int i = 0; i < I; i++) /* a loop, not memcpy: I is often 1 */
            dst[i] = x[(long)c * I + i];
    }
    if (n % (uint64_t)L->u.conv.stride)
        return 0;
    const long ldw = (long)K * I;
    for (int c = 0; c < C; c++) {
        const float *h = r->hist + (long)c * span * I;
        float *col = r->col + (long)c * ldw;
        for (int k = 0; k < K; k++) {
            int at = pos - (K - 1 - k) * D;
            at += at < 0 ? span : 0;
            for (int i = 0; i < I; i++)
                col[(long)k * I + i] = h[(long)at * I + i];
        }
    }
    const float *win = r->col;
    const float *b = L->u.conv.bias;
    if (G == 1) {
        gemm(e, &r->g1, win, (int)ldw, y);
        if (b)
            for (int c = 0; c < C; c++)
                for (int o = 0; o < O; o++)
                    y[(long)c * O + o] += b[o];
        return 1;
    }
    /* grouped / depthwise: few MACs, plain loops over the PyTorch layout */
    const int Ig = I / G, Og = O / G;
    const float *w = L->u.conv.weight; /* (O, Ig, K) */
    for (int c = 0; c < C; c++)
        for (int o = 0; o < O; o++) {
            const int g = o / Og;
            double s = 0;
            for (int k = 0; k < K; k++) {
                const float *xk = win + (long)c * ldw + (long)k * I + (long)g * Ig;
                for (int i = 0; i < Ig; i++)
                    s += (double)w[((long)o * Ig + i) * K + k] * xk[i];
            }
            y[(long)c * O + o] = (float)s + (b ? b[o] : 0.0f);
        }
    return 1;
}

/* nn.Linear: y = x @ W.T + b */
static void run_linear(struct ictal_engine *e, struct rt_layer *r, const float *x, float *y)
{
    const struct ictal_layer *L = r->L;
    const int C = e->C, I = L->in_dim, O = L->out_dim;
    gemm(e, &r->g1, x, I, y);
    if (L->u.linear.bias)
        for (int c = 0; c < C; c++)
            for (int o = 0; o < O; o++)
                y[(long)c * O + o] += L->u.linear.bias[o];
}

/* LSTM.step: g = x W_ih^T + b_ih + h W_hh^T + b_hh; i, f, g, o = g.chunk(4)
 *            c = sigmoid(f) c + sigmoid(i) tanh(g);  h = sigmoid(o) tanh(c) */
static void run_lstm(struct ictal_engine *e, struct rt_layer *r, const float *x, float *y)
{
    const struct ictal_layer *L = r->L;
    const int C = e->C, I = L->in_dim, H = L->u.lstm.hidden;
    for (int c = 0; c < C; c++) {
        memcpy(r->xh + (long)c * (I + H), x + (long)c * I, (size_t)I * sizeof(float));
        memcpy(r->xh + (long)c * (I + H) + I, r->h + (long)c * H, (size_t)H * sizeof(float));
    }
    gemm(e, &r->g1, r->xh, I + H, r->gates);
    for (int c = 0; c < C; c++) {
        const float *g = r->gates + (long)c * 4 * H;
        float *hc = r->h + (long)c * H, *cc = r->c + (long)c * H;
        for (int j = 0; j < H; j++) {
            float gi = ictal_nn_sigmoid(g[j] + r->b_sum[j]);
            float gf = ictal_nn_sigmoid(g[H + j] + r->b_sum[H + j]);
            float gg = tanhf(g[2 * H + j] + r->b_sum[2 * H + j]);
            float go = ictal_nn_sigmoid(g[3 * H + j] + r->b_sum[3 * H + j]);
            cc[j] = gf * cc[j] + gi * gg;
            hc[j] = go * tanhf(cc[j]);
        }
        memcpy(y + (long)c * H, hc, (size_t)H * sizeof(float));
    }
}

/* One frame of the SSM recurrence for one channel:
 *   ssm = ssm * dA + dt * x ⊗ B;  y = ssm · C + D * x
 * ssm (d_state, d_inner): row n holds state index n of every head (head h
 * in columns h*P .. h*P+P-1, PyTorch's (nheads, headdim, d_state)
 * transposed), so that one pass along d_inner covers all heads;
 * xbc = [x (d_inner) | B (G, N) | C (G, N)]; dtv, dAv (nheads); y (d_inner).
 * Per element, in this order: s = s * dA + (dt * x) * B, and
 * y = 0 + s_0 C_0 + ... + s_{N-1} C_{N-1} + D * x (ascending n, as
 * y = (ssm * C).sum(-1)). Inlined, so that constant sizes give
 * fixed-length vector loops. */
ICTAL_FORCE_INLINE void ssm_scan_step(float *restrict ssm, const float *restrict xbc, const float *restrict dtv,
                                      const float *restrict dAv, const float *restrict D, float *restrict y, int di,
                                      int N, int P, int nh, int hpg, int G)
{
    const float *x = xbc, *Bm = xbc + di, *Cm = xbc + di + (long)G * N;
    for (int h = 0; h < nh; h++) {
        const float dt = dtv[h], dA = dAv[h], Dh = D[h];
        const long g = G == 1 ? 0 : h / hpg; /* no integer division in the usual case */
        const float *Bg = Bm + g * N, *Cg = Cm + g * N;
        const float *xh = x + (long)h * P;
        float *yh = y + (long)h * P;
        for (int p = 0; p < P; p++)
            yh[p] = 0.0f;
        for (int n = 0; n < N; n++) {
            float *sn = ssm + (long)n * di + (long)h * P;
            const float bn = Bg[n], cn = Cg[n];
            for (int p = 0; p < P; p++) {
                sn[p] = sn[p] * dA + (dt * xh[p]) * bn;
                yh[p] += sn[p] * cn;
            }
        }
        for (int p = 0; p < P; p++)
            yh[p] += Dh * xh[p];
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define ICTAL_HAVE_V16 1
/* ngroups 1, d_inner a multiple of 16: ssm_scan_step on 16-float GCC
 * vectors spanning heads (one zmm; AVX-512 only: GCC lowers this type to
 * memory on AVX2), each lane's dt, dA and D permuted out of the 16 values
 * from the vector's first head on (dtv, dAv and Dp are padded so that 16
 * floats are readable there). The same operations per element in the same
 * order as ssm_scan_step, so bit-identical to it. */
typedef float v16f __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));
ICTAL_FORCE_INLINE void ssm_scan_step_g1(float *restrict ssm, const float *restrict xbc, const float *restrict dtv,
                                         const float *restrict dAv, const float *restrict Dp, float *restrict y,
                                         int di, int N, int P)
{
    const float *x = xbc, *Bm = xbc + di, *Cm = xbc + di + N;
    for (int j0 = 0; j0 < di; j0 += 16) {
        const int h0 = j0 / P;
        v16i idx;
        for (int l = 0; l < 16; l++)
            idx[l] = (j0 + l) / P - h0;
        v16f sa, st, sd, xv, yv = {0};
        memcpy(&sa, dAv + h0, sizeof sa);
        memcpy(&st, dtv + h0, sizeof st);
        memcpy(&sd, Dp + h0, sizeof sd);
        memcpy(&xv, x + j0, sizeof xv);
        const v16f da = __builtin_shuffle(sa, idx), dd = __builtin_shuffle(sd, idx);
        const v16f dtx = __builtin_shuffle(st, idx) * xv;
        for (int n = 0; n < N; n++) {
            v16f sv;
            memcpy(&sv, ssm + (long)n * di + j0, sizeof sv);
            sv = sv * da + dtx * Bm[n];
            memcpy(ssm + (long)n * di + j0, &sv, sizeof sv);
            yv += sv * Cm[n];
        }
        yv += dd * xv;
        memcpy(y + j0, &yv, sizeof yv);
    }
}
#endif

/* headdim 8: one 8-float GCC vector per (n, head) row segment; the head's
 * dt and dA broadcast from scalars (no per-lane setup). The same
 * operations per element in the same order. */
#if defined(__GNUC__)
typedef float v8f __attribute__((vector_size(32)));
ICTAL_FORCE_INLINE void ssm_scan_step_p8(float *restrict ssm, const float *restrict xbc, const float *restrict dtv,
                                         const float *restrict dAv, const float *restrict D, float *restrict y,
                                         int di, int N, int nh, int hpg, int G)
{
    const float *Bm = xbc + di, *Cm = xbc + di + (long)G * N;
    for (int h = 0; h < nh; h++) {
        const float dt = dtv[h], dA = dAv[h];
        const long g = G == 1 ? 0 : h / hpg;
        const float *Bg = Bm + g * N, *Cg = Cm + g * N;
        v8f x, yh = {0};
        memcpy(&x, xbc + (long)h * 8, sizeof x);
        const v8f dtx = dt * x;
        for (int n = 0; n < N; n++) {
            float *sn = ssm + (long)n * di + (long)h * 8;
            v8f sv;
            memcpy(&sv, sn, sizeof sv);
            sv = sv * dA + dtx * Bg[n];
            memcpy(sn, &sv, sizeof sv);
            yh += sv * Cg[n];
        }
        yh += D[h] * x;
        memcpy(y + (long)h * 8, &yh, sizeof yh);
    }
}
#endif

/* ssm_scan_step with the usual sizes made constant */
/* v16: the CPU has AVX-512 (ssm_scan_step_g1); D padded as for it */
ICTAL_FORCE_INLINE void ssm_scan(float *restrict ssm, const float *restrict xbc, const float *restrict dtv,
                                 const float *restrict dAv, const float *restrict D, float *restrict y, int di, int N,
                                 int P, int nh, int hpg, int G, int v16)
{
#if defined(ICTAL_HAVE_V16)
    if (v16 && G == 1 && di % 16 == 0) {
        if (di == 32 && N == 4 && P == 8)
            ssm_scan_step_g1(ssm, xbc, dtv, dAv, D, y, 32, 4, 8);
        else if (P == 8)
            ssm_scan_step_g1(ssm, xbc, dtv, dAv, D, y, di, N, 8);
        else if (P == 16)
            ssm_scan_step_g1(ssm, xbc, dtv, dAv, D, y, di, N, 16);
        else
            ssm_scan_step_g1(ssm, xbc, dtv, dAv, D, y, di, N, P);
        return;
    }
#else
    (void)v16;
#endif
#if defined(__GNUC__)
    if (P == 8) {
        if (di == 32 && N == 4)
            ssm_scan_step_p8(ssm, xbc, dtv, dAv, D, y, 32, 4, 4, hpg, G);
        else
            ssm_scan_step_p8(ssm, xbc, dtv, dAv, D, y, di, N, nh, hpg, G);
        return;
    }
#endif
    ssm_scan_step(ssm, xbc, dtv, dAv, D, y, di, N, P, nh, hpg, G);
}

/* The 16-float scan is worth it (and compiled well) with AVX-512 only. */
static int scan_v16(void)
{
#if defined(ICTAL_HAVE_V16)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* RMSNormGated(norm_before_gate=False) on one row, y (d_inner) gated by
 * gz = silu(z): y = rmsnorm_g(y * gz) * w. The sum of squares of a group
 * goes into eight float lanes (element j into lane j % 8) and a fixed tree,
 * so that it vectorises; the same order in the step and the time-batched
 * paths. */
ICTAL_FORCE_INLINE void gated_norm_n(float *restrict y, const float *restrict gz, const float *restrict w, int di,
                                     int G, int gs, float eps)
{
    for (int j = 0; j < di; j++)
        y[j] *= gz[j];
    for (int g = 0; g < G; g++) {
        float *yg = y + (long)g * gs;
        int j = 0;
#if defined(__GNUC__)
        ictal_v8f acc = {0};
        for (; j + 8 <= gs; j += 8) {
            ictal_v8f v;
            memcpy(&v, yg + j, sizeof v);
            acc += v * v;
        }
        for (int l = 0; j < gs; j++, l++)
            acc[l] += yg[j] * yg[j];
        const float s2 = ictal_tree8(&acc);
#else
        float acc[8] = {0};
        for (; j + 8 <= gs; j += 8)
            for (int l = 0; l < 8; l++)
                acc[l] += yg[j + l] * yg[j + l];
        for (int l = 0; j < gs; j++, l++)
            acc[l] += yg[j] * yg[j];
        const float s2 = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
#endif
        const float inv = 1.0f / sqrtf(s2 / (float)gs + eps);
        for (j = 0; j < gs; j++)
            yg[j] = yg[j] * inv * w[g * gs + j];
    }
}
ICTAL_FORCE_INLINE void gated_norm(float *restrict y, const float *restrict gz, const float *restrict w, int di, int G,
                                   float eps)
{
    if (G == 1 && di == 32)
        gated_norm_n(y, gz, w, 32, 1, 32, eps);
    else if (G == 1 && di == 64)
        gated_norm_n(y, gz, w, 64, 1, 64, eps);
    else
        gated_norm_n(y, gz, w, di, G, di / G, eps);
}

/* gated_norm over rows of a time-batched chunk, ngroups 1: the square
 * roots and divisions of a block of rows run as one vector loop (one
 * dependent sqrt-then-divide per row bounded the row-by-row loop); per
 * element the same operations as gated_norm_n. */
ICTAL_FORCE_INLINE void gated_norm_rows_n(float *restrict y, const float *restrict gz, const float *restrict w,
                                          long rows, int di, float eps)
{
    float inv[64];
    for (long q0 = 0; q0 < rows; q0 += 64) {
        const int nb = rows - q0 < 64 ? (int)(rows - q0) : 64;
        for (int r = 0; r < nb; r++) {
            float *yq = y + (q0 + r) * di;
            const float *gq = gz + (q0 + r) * di;
            for (int j = 0; j < di; j++)
                yq[j] *= gq[j];
#if defined(__GNUC__)
            ictal_v8f acc = {0};
            int j = 0;
            for (; j + 8 <= di; j += 8) {
                ictal_v8f v;
                memcpy(&v, yq + j, sizeof v);
                acc += v * v;
            }
            for (int l = 0; j < di; j++, l++)
                acc[l] += yq[j] * yq[j];
            inv[r] = ictal_tree8(&acc);
#else
            float acc[8] = {0};
            int j = 0;
            for (; j + 8 <= di; j += 8)
                for (int l = 0; l < 8; l++)
                    acc[l] += yq[j + l] * yq[j + l];
            for (int l = 0; j < di; j++, l++)
                acc[l] += yq[j] * yq[j];
            inv[r] = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
#endif
        }
        for (int r = 0; r < nb; r++)
            inv[r] = 1.0f / sqrtf(inv[r] / (float)di + eps);
        for (int r = 0; r < nb; r++) {
            float *yq = y + (q0 + r) * di;
            const float ir = inv[r];
            for (int j = 0; j < di; j++)
                yq[j] = yq[j] * ir * w[j];
        }
    }
}
ICTAL_FORCE_INLINE void gated_norm_rows(float *restrict y, const float *restrict gz, const float *restrict w,
                                        long rows, int di, int G, float eps)
{
    if (G == 1 && di == 32)
        gated_norm_rows_n(y, gz, w, rows, 32, eps);
    else if (G == 1)
        gated_norm_rows_n(y, gz, w, rows, di, eps);
    else
        for (long q = 0; q < rows; q++)
            gated_norm(y + q * di, gz + q * di, w, di, G, eps);
}

/* One output row of the Mamba depthwise conv: co[j] = b[j] + s0[j] w0[j] +
 * ... in ascending k (as mixer_step), with the sum kept in a register
 * across k instead of going through co (store-to-load forwarding on every
 * tap). s: dc rows of cd floats (row k at s[k]); wt (dc, cd). */
ICTAL_FORCE_INLINE void dwconv_row(float *restrict co, const float *const *s, const float *restrict b,
                                   const float *restrict wt, int cd, int dc)
{
    for (int j = 0; j < cd; j++) {
        float acc = b[j];
        for (int k = 0; k < dc; k++)
            acc += s[k][j] * wt[(long)k * cd + j];
        co[j] = acc;
    }
}

/* Mamba2Mixer.step (mamba_ssm Mamba2.step semantics), u (C, d_model) -> out (C, d_model):
 *   z, xBC, dt = split(in_proj(u))
 *   conv_state = roll(conv_state, -1); conv_state[..., -1] = xBC
 *   xBC = silu(sum(conv_state * conv1d.weight) + conv1d.bias); x, B, C = split(xBC)
 *   dt = softplus(dt + dt_bias); dA = exp(dt * A)
 *   ssm = ssm * dA + dt * x ⊗ B;  y = ssm · C + D * x
 *   y = rmsnorm_groupwise(y * silu(z)) * norm.weight;  out = out_proj(y) */
ICTAL_CLONES
static void mixer_step(struct ictal_engine *e, struct rt_layer *r, struct mixer_rt *mx, const float *u, float *out)
{
    const struct ictal_layer *L = r->L;
    const int C = e->C, dm = L->u.mamba2.d_model, di = L->u.mamba2.d_inner, N = L->u.mamba2.d_state;
    const int P = L->u.mamba2.headdim, nh = L->u.mamba2.nheads, G = L->u.mamba2.ngroups;
    const int cd = L->u.mamba2.conv_dim, dc = L->u.mamba2.d_conv, dip = L->u.mamba2.d_in_proj;
    const int hpg = nh / G, v16 = scan_v16();
    gemm(e, &mx->gin, u, dm, r->zxbcdt);
    /* conv over the rolled state, for every channel; silu over all of it at once */
    for (int c = 0; c < C; c++) {
        const float *xbc = r->zxbcdt + (long)c * dip + di;
        float *cs = mx->conv_state + (long)c * dc * cd;
        float *co = r->xbc + (long)c * cd;
        memmove(cs, cs + cd, (size_t)(dc - 1) * cd * sizeof(float));
        memcpy(cs + (long)(dc - 1) * cd, xbc, (size_t)cd * sizeof(float));
        for (int j = 0; j < cd; j++)
            co[j] = mx->w->conv_b[j];
        for (int k = 0; k < dc; k++) {
            const float *sk = cs + (long)k * cd, *wk = mx->conv_wt + (long)k * cd;
            for (int j = 0; j < cd; j++)
                co[j] += sk[j] * wk[j];
        }
        memcpy(r->gz + (long)c * di, r->zxbcdt + (long)c * dip, (size_t)di * sizeof(float));
    }
    ictal_nn_act(ICTAL_ACT_SILU, r->xbc, (long)C * cd);
    ictal_nn_act(ICTAL_ACT_SILU, r->gz, (long)C * di);
    /* dt = softplus(dt + dt_bias); dA = exp(dt * A), all channels and heads at once */
    for (int c = 0; c < C; c++)
        for (int h = 0; h < nh; h++)
            r->dt[(long)c * nh + h] = r->zxbcdt[(long)c * dip + di + cd + h] + mx->w->dt_bias[h];
    ictal_nn_softplus_v(r->dt, (long)C * nh);
    for (int c = 0; c < C; c++)
        for (int h = 0; h < nh; h++)
            r->dA[(long)c * nh + h] = r->dt[(long)c * nh + h] * mx->A[h];
    ictal_nn_exp_v(r->dA, (long)C * nh);
    for (int c = 0; c < C; c++) {
        float *y = r->y + (long)c * di;
        ssm_scan(mx->ssm + (long)c * di * N, r->xbc + (long)c * cd, r->dt + (long)c * nh, r->dA + (long)c * nh,
                 mx->Dp, y, di, N, P, nh, hpg, G, v16);
        /* RMSNormGated(norm_before_gate=False): y = rmsnorm_g(y * silu(z)) * w */
        gated_norm(y, r->gz + (long)c * di, mx->w->gnorm_w, di, G, L->u.mamba2.eps);
    }
    gemm(e, &mx->gout, r->y, di, out);
}

/* Mamba2Block.step: out = x + mixer(RMSNorm(x)) */
static void run_mamba2(struct ictal_engine *e, struct rt_layer *r, const float *x, float *out)
{
    const struct ictal_layer *L = r->L;
    const long n = (long)e->C * L->u.mamba2.d_model;
    memcpy(r->xn, x, (size_t)n * sizeof(float));
    ictal_nn_rmsnorm(r->xn, e->C, L->u.mamba2.d_model, L->u.mamba2.norm_w, L->u.mamba2.eps);
    mixer_step(e, r, &r->fwd, r->xn, out);
    for (long i = 0; i < n; i++)
        out[i] += x[i];
}

/* Mamba2Block over a sequence of T frames, layer-major (time-batched
 * prefix, builtin GEMM only): x (T, C, d_model) -> out (T, C, d_model).
 * The same per-element arithmetic in the same order as run_mamba2 /
 * mixer_step stepped T times, so the results are bit-identical: the
 * products and the element-wise functions touch every row on its own
 * whatever the row count, and the recurrence (rolling conv, SSM scan) runs
 * frame by frame per channel. Frames go through in chunks of at most
 * MAMBA_TB (the size of the layer's scratch). */
ICTAL_CLONES
static void run_mamba2_seq(struct ictal_engine *e, struct rt_layer *r, const float *x, long T, float *out)
{
    const struct ictal_layer *L = r->L;
    struct mixer_rt *mx = &r->fwd;
    const int C = e->C, dm = L->u.mamba2.d_model, di = L->u.mamba2.d_inner, N = L->u.mamba2.d_state;
    const int P = L->u.mamba2.headdim, nh = L->u.mamba2.nheads, G = L->u.mamba2.ngroups;
    const int cd = L->u.mamba2.conv_dim, dc = L->u.mamba2.d_conv, dip = L->u.mamba2.d_in_proj;
    const int hpg = nh / G, v16 = scan_v16();
    const float eps = L->u.mamba2.eps;
    for (long t0 = 0; t0 < T; t0 += MAMBA_TB) {
        const int tb = T - t0 < MAMBA_TB ? (int)(T - t0) : MAMBA_TB;
        const long rows = (long)tb * C;
        const float *xs = x + t0 * C * dm;
        float *os = out + t0 * C * dm;
        /* u = RMSNorm(x); zxbcdt = in_proj(u), all frames and channels */
        ictal_nn_rmsnorm_to(r->xn, xs, (int)rows, dm, L->u.mamba2.norm_w, eps);
        const int ldz = r->ldz;
        if (mx->gin.kn) /* builtin (always, in the prefix): whole blocks into the padded rows */
            ictal_blas_gemm_builtin_wide((int)rows, dip, dm, r->xn, dm, mx->gin.kn, mx->gin.ldkn, r->zxbcdt, ldz);
        else
            gemm_rows(&mx->gin, (int)rows, r->xn, dm, r->zxbcdt, ldz);
        /* rolling depthwise conv: per channel, the inputs in order are the
         * state's last dc-1 rows, then this chunk's xBC rows (read in place
         * in zxbcdt); frame t reads inputs t..t+dc-1 */
        for (int c = 0; c < C; c++) {
            const float *rp[MAX_DCONV - 1 + MAMBA_TB];
            float *cs = mx->conv_state + (long)c * dc * cd;
            for (int j = 0; j < dc - 1; j++)
                rp[j] = cs + (long)(j + 1) * cd;
            for (int t = 0; t < tb; t++)
                rp[dc - 1 + t] = r->zxbcdt + ((long)t * C + c) * ldz + di;
            for (int t = 0; t < tb; t++) {
                float *co = r->xbc + ((long)t * C + c) * cd;
                if (dc == 4 && cd == 40)
                    dwconv_row(co, rp + t, mx->w->conv_b, mx->conv_wt, 40, 4);
                else if (dc == 4)
                    dwconv_row(co, rp + t, mx->w->conv_b, mx->conv_wt, cd, 4);
                else
                    dwconv_row(co, rp + t, mx->w->conv_b, mx->conv_wt, cd, dc);
            }
            /* the state keeps the last dc inputs (row i from input tb-1+i:
             * a higher row of cs itself, or zxbcdt, so in increasing i
             * nothing is overwritten before it is read) */
            for (int i = 0; i < dc; i++)
                if (rp[tb - 1 + i] != cs + (long)i * cd)
                    memcpy(cs + (long)i * cd, rp[tb - 1 + i], (size_t)cd * sizeof(float));
        }
        ictal_nn_act(ICTAL_ACT_SILU, r->xbc, rows * cd);
        ictal_nn_silu_rows(r->gz, di, r->zxbcdt, ldz, rows, di); /* silu(z), read in place */
        /* dt = softplus(dt + dt_bias); dA = exp(dt * A) */
        ictal_nn_mamba_dt(r->dt, r->dA, r->zxbcdt + di + cd, ldz, rows, nh, mx->w->dt_bias, mx->A);
        /* the scan: channel-outer so that a channel's SSM state stays in
         * cache across the chunk's frames; the usual head sizes get loops
         * of constant length (whole vectors, no remainder code) */
        for (int c = 0; c < C; c++) {
            float *ssm = mx->ssm + (long)c * di * N;
            for (int t = 0; t < tb; t++) {
                const long q = (long)t * C + c;
                const float *xq = r->xbc + q * cd;
                ssm_scan(ssm, xq, r->dt + q * nh, r->dA + q * nh, mx->Dp, r->y + q * di, di, N, P, nh, hpg, G, v16);
            }
        }
        /* RMSNormGated(norm_before_gate=False): y = rmsnorm_g(y * silu(z)) * w */
        gated_norm_rows(r->y, r->gz, mx->w->gnorm_w, rows, di, G, eps);
        /* out = x + out_proj(y) */
        gemm_rows(&mx->gout, (int)rows, r->y, di, os, dm);
        for (long i = 0; i < rows * dm; i++)
            os[i] += xs[i];
    }
}

/* BiMamba2Block.step (block-wise bidirectional, tools/model/ictal_ref.py):
 *   y = x + fwd(RMSNorm(x)) + flip(bwd(flip(RMSNorm(x)))) within blocks of B
 *   frames, the backward mixer restarting from zero state at each block;
 *   streamed with a fixed delay of B-1 frames: out[t] = y[t - (B-1)], zeros
 *   before. At the last frame of a block the backward pass runs over the
 *   whole block (B mixer steps: this frame's cost is bounded but larger). */
static void run_bimamba2(struct ictal_engine *e, struct rt_layer *r, const float *x, float *out)
{
    const struct ictal_layer *L = r->L;
    const int B = L->u.mamba2.block, dm = L->u.mamba2.d_model, dc = L->u.mamba2.d_conv;
    const long n = (long)e->C * dm;
    const int i = (int)((*r->n_in)++ % (uint64_t)B);
    float *bx = r->bx + i * n, *bu = r->bu + i * n, *bf = r->bf + i * n;
    memcpy(bx, x, (size_t)n * sizeof(float));
    memcpy(bu, x, (size_t)n * sizeof(float));
    ictal_nn_rmsnorm(bu, e->C, dm, L->u.mamba2.norm_w, L->u.mamba2.eps);
    mixer_step(e, r, &r->fwd, bu, bf);
    if (i < B - 1) {
        memcpy(out, r->by + (long)(i + 1) * n, (size_t)n * sizeof(float));
        return;
    }
    memset(r->bwd.conv_state, 0, (size_t)e->C * dc * L->u.mamba2.conv_dim * sizeof(float));
    memset(r->bwd.ssm, 0, (size_t)e->C * L->u.mamba2.d_inner * L->u.mamba2.d_state * sizeof(float));
    for (int j = B - 1; j >= 0; j--) {
        mixer_step(e, r, &r->bwd, r->bu + j * n, r->bo);
        float *yj = r->by + j * n;
        const float *xj = r->bx + j * n, *fj = r->bf + j * n;
        for (long k = 0; k < n; k++)
            yj[k] = xj[k] + fj[k] + r->bo[k];
    }
    memcpy(out, r->by, (size_t)n * sizeof(float));
}



/* h · w over D floats, in eight float lanes (element i into lane i % 8)
 * and the fixed tree, like the norms' sums (nn.Linear sums in float too) */
ICTAL_FORCE_INLINE float dot_lanes(const float *h, const float *w, int D)
{
    int i = 0;
#if defined(__GNUC__)
    ictal_v8f acc = {0};
    for (; i + 8 <= D; i += 8) {
        ictal_v8f hv, wv;
        memcpy(&hv, h + i, sizeof hv);
        memcpy(&wv, w + i, sizeof wv);
        acc += hv * wv;
    }
    for (int l = 0; i < D; i++, l++)
        acc[l] += h[i] * w[i];
    return ictal_tree8(&acc);
#else
    float acc[8] = {0};
    for (; i < D; i++)
        acc[i % 8] += h[i] * w[i];
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
#endif
}

/* logit[c] = head(h[c]) and, with aw, attn[c] = attn(h[c]), for all
 * channels (dot_lanes inlined into each clone, D = 16 a constant) */
ICTAL_FORCE_INLINE void head_rows_n(const float *h, int C, int D, const float *hw, float hb, const float *aw, float ab,
                                    float *logit, float *attn)
{
    for (int c = 0; c < C; c++) {
        logit[c] = dot_lanes(h + (long)c * D, hw, D) + hb;
        if (aw)
            attn[c] = dot_lanes(h + (long)c * D, aw, D) + ab;
    }
}
ICTAL_CLONES
static void head_rows(const float *h, int C, int D, const float *hw, float hb, const float *aw, float ab, float *logit,
                      float *attn)
{
    if (D == 16)
        head_rows_n(h, C, 16, hw, hb, aw, ab, logit, attn);
    else
        head_rows_n(h, C, D, hw, hb, aw, ab, logit, attn);
}

/* Model._aggregate: s = head(h); z = agg(s); p = sigmoid(z); scores = sigmoid(s) */
static float aggregate(struct ictal_engine *e, const float *h, float *scores)
{
    const int C = e->C, D = e->info->head_in;
    const float *hw = ictal_model_head_weight(e->m), *hb = ictal_model_head_bias(e->m);
    const int att = e->info->aggregation == ICTAL_AGG_ATTENTION;
    head_rows(h, C, D, hw, hb[0], att ? ictal_model_attn_weight(e->m) : NULL,
              att ? ictal_model_attn_bias(e->m)[0] : 0.0f, e->logit, e->attn);
    if (scores) { /* sigmoid over all channels at once (same function, vectorised) */
        memcpy(scores, e->logit, (size_t)C * sizeof(float));
        ictal_nn_act(ICTAL_ACT_SIGMOID, scores, C);
    }
    int na = 0;
    for (int c = 0; c < C; c++)
        na += e->active[c] != 0;
    if (na == 0)
        return 0.0f;
    double z = 0;
    switch (e->info->aggregation) {
    case ICTAL_AGG_MAX: /* s.max(-1) */
        z = -INFINITY;
        for (int c = 0; c < C; c++)
            if (e->active[c] && e->logit[c] > z)
                z = e->logit[c];
        break;
    case ICTAL_AGG_MEAN: /* s.mean(-1) */
        for (int c = 0; c < C; c++)
            if (e->active[c])
                z += e->logit[c];
        z /= na;
        break;
    case ICTAL_AGG_LOGSUMEXP: { /* logsumexp(s) - log(C) */
        double mx = -INFINITY, acc = 0;
        for (int c = 0; c < C; c++)
            if (e->active[c] && e->logit[c] > mx)
                mx = e->logit[c];
        for (int c = 0; c < C; c++)
            if (e->active[c])
                acc += exp(e->logit[c] - mx);
        z = mx + log(acc) - log((double)na);
        break;
    }
    case ICTAL_AGG_ATTENTION: { /* a = softmax(attn(h)); z = sum(a * s) */
        float mx = -INFINITY;
        double den = 0, num = 0;
        for (int c = 0; c < C; c++)
            if (e->active[c] && e->attn[c] > mx)
                mx = e->attn[c];
        /* softmax weights exp(a - max) <= 1, all channels in one vectorised call */
        for (int c = 0; c < C; c++)
            e->attn[c] -= mx;
        ictal_nn_exp_v(e->attn, C);
        for (int c = 0; c < C; c++)
            if (e->active[c]) {
                den += e->attn[c];
                num += (double)e->attn[c] * e->logit[c];
            }
        z = num / den;
        break;
    }
    }
    return ictal_nn_sigmoid((float)z);
}

/* One input sample per channel (x0: C values, already scaled) through the
 * stack. Returns 1 when a frame came out (features in e->feat). */
static int run_layers(struct ictal_engine *e, int from)
{
    float *cur = e->buf[0], *nxt = e->buf[1];
    for (int l = from; l < e->n_layers; l++) {
        struct rt_layer *r = &e->rt[l];
        const struct ictal_layer *L = r->L;
        const long n = (long)e->C * L->out_dim;
        switch (L->type) {
        case ICTAL_LAYER_CONV1D:
            if (!run_conv(e, r, cur, nxt))
                return 0;
            break;
        case ICTAL_LAYER_LINEAR:
            run_linear(e, r, cur, nxt);
            break;
        case ICTAL_LAYER_LAYERNORM:
            ictal_nn_layernorm(cur, e->C, L->in_dim, L->u.norm.weight, L->u.norm.bias, L->u.norm.eps);
            continue;
        case ICTAL_LAYER_RMSNORM:
            ictal_nn_rmsnorm(cur, e->C, L->in_dim, L->u.norm.weight, L->u.norm.eps);
            continue;
        case ICTAL_LAYER_ACT:
            ictal_nn_act(L->u.act.fn, cur, n);
            continue;
        case ICTAL_LAYER_LSTM:
            run_lstm(e, r, cur, nxt);
            break;
        case ICTAL_LAYER_MAMBA2:
            run_mamba2(e, r, cur, nxt);
            break;
        case ICTAL_LAYER_BIMAMBA2:
            run_bimamba2(e, r, cur, nxt);
            break;
        }
        float *t = cur;
        cur = nxt;
        nxt = t;
    }
    memcpy(e->feat, cur, (size_t)e->C * e->info->head_in * sizeof(float));
    return 1;
}

/* y[q][o] += b[o] over rows, and a strided gather of rows of I floats:
 * the small fixed widths of the usual layers get constant-length loops (one
 * vector, no remainder code). Same additions, same order. */
ICTAL_FORCE_INLINE void bias_rows_n(float *restrict y, long rows, int O, const float *restrict b)
{
    for (long q = 0; q < rows; q++)
        for (int o = 0; o < O; o++)
            y[q * O + o] += b[o];
}
ICTAL_FORCE_INLINE void bias_rows(float *restrict y, long rows, int O, const float *restrict b)
{
    switch (O) {
    case 8: bias_rows_n(y, rows, 8, b); break;
    case 16: bias_rows_n(y, rows, 16, b); break;
    case 32: bias_rows_n(y, rows, 32, b); break;
    default: bias_rows_n(y, rows, O, b); break;
    }
}
/* dst (T, I) <- src rows t * ld, I floats each */
ICTAL_FORCE_INLINE void gather_rows_n(float *restrict dst, const float *restrict src, long T, long ld, int I)
{
    for (long t = 0; t < T; t++)
        for (int i = 0; i < I; i++)
            dst[t * I + i] = src[t * ld + i];
}
ICTAL_FORCE_INLINE void gather_rows(float *restrict dst, const float *restrict src, long T, long ld, int I)
{
    switch (I) {
    case 1: gather_rows_n(dst, src, T, ld, 1); break;
    case 8: gather_rows_n(dst, src, T, ld, 8); break;
    case 16: gather_rows_n(dst, src, T, ld, 16); break;
    default: gather_rows_n(dst, src, T, ld, I); break;
    }
}

/* CausalConv1d over a sequence: x (Tin, C, in) -> y (Tout, C, out), same
 * ring and same per-row arithmetic as run_conv. Returns Tout. */
ICTAL_CLONES
static long run_conv_seq(struct ictal_engine *e, struct rt_layer *r, const float *x, long Tin, float *y, int act)
{
    const struct ictal_layer *L = r->L;
    const int C = e->C, I = L->in_dim, O = L->out_dim, K = L->u.conv.kernel, D = L->u.conv.dilation;
    const int G = L->u.conv.groups, span = r->span, S = L->u.conv.stride;
    const long ldw = (long)K * I;
    const float *b = L->u.conv.bias;
    if (D == 1 && G == 1) {
        /* Per channel, lay the history (span-1 inputs, oldest first) and the
         * new inputs end to end: every window is then a contiguous slice,
         * consecutive windows S*I floats apart, and one product per channel
         * reads them in place (rows written C*O apart, time-major). */
        const uint64_t n0 = *r->n_in;
        const long first = (long)((S - (long)(n0 % (uint64_t)S)) % S); /* first emitting input */
        const long T = first < Tin ? (Tin - first + S - 1) / S : 0;
        const long len = (long)(span - 1) + Tin;
        for (int c = 0; c < C; c++) {
            float *cb = e->seq_col + (long)c * len * I;
            const float *h = r->hist + (long)c * span * I;
            /* input n0-(span-1)+j sits at ring slot (n0-(span-1)+j) % span
             * (one division, then the slot advances and wraps) */
            long slot = (long)((n0 + 1) % (uint64_t)span);
            for (int j = 0; j < span - 1; j++) {
                for (int i = 0; i < I; i++)
                    cb[(long)j * I + i] = h[slot * I + i];
                slot = slot + 1 == span ? 0 : slot + 1;
            }
            float *cn = cb + (long)(span - 1) * I;
            if (x == e->xin && e->xin_cm) /* (C, Tin), I = 1 */
                memcpy(cn, x + (long)c * Tin, (size_t)Tin * sizeof(float));
            else
                gather_rows(cn, x + (long)c * I, Tin, (long)C * I, I);
            if (T > 0)
                gemm_rows(&r->g1, (int)T, cb + first * I, S * I, y + (long)c * O, C * O);
            /* the ring keeps the last span inputs at slot n % span */
            const long tr = Tin - span < 0 ? 0 : Tin - span;
            long slot_w = (long)((n0 + (uint64_t)tr) % (uint64_t)span);
            for (long t = tr; t < Tin; t++) {
                float *dst = r->hist + ((long)c * span + slot_w) * I;
                for (int i = 0; i < I; i++)
                    dst[i] = cn[t * I + i];
                slot_w = slot_w + 1 == span ? 0 : slot_w + 1;
            }
        }
        *r->n_in = n0 + (uint64_t)Tin;
        if (act > 0)
            ictal_nn_bias_act((enum ictal_act)act, y, T * C, O, b);
        else if (b && act == 0)
            bias_rows(y, T * C, O, b);
        return T;
    }
    long T = 0;
    for (long t = 0; t < Tin; t++) {
        const uint64_t n = (*r->n_in)++;
        const int pos = (int)(n % (uint64_t)span);
        const float *xt = x + t * C * I;
        for (int c = 0; c < C; c++)
            memcpy(r->hist + ((long)c * span + pos) * I, xt + (long)c * I, (size_t)I * sizeof(float));
        if (n % (uint64_t)S)
            continue;
        for (int c = 0; c < C; c++) {
            const float *h = r->hist + (long)c * span * I;
            float *col = e->seq_col + (T * C + c) * ldw;
            for (int k = 0; k < K; k++) {
                int at = pos - (K - 1 - k) * D;
                at += at < 0 ? span : 0;
                memcpy(col + (long)k * I, h + (long)at * I, (size_t)I * sizeof(float));
            }
        }
        T++;
    }
    if (T == 0)
        return 0;
    const long rows = T * C;
    if (G == 1) {
        gemm_rows(&r->g1, (int)rows, e->seq_col, (int)ldw, y, O);
        if (act > 0)
            ictal_nn_bias_act((enum ictal_act)act, y, rows, O, b);
        else if (b && act == 0)
            bias_rows(y, rows, O, b);
        return T;
    }
    const int Ig = I / G, Og = O / G;
    const float *w = L->u.conv.weight;
    for (long q = 0; q < rows; q++)
        for (int o = 0; o < O; o++) {
            const int g = o / Og;
            double acc = 0;
            for (int k = 0; k < K; k++) {
                const float *xk = e->seq_col + q * ldw + (long)k * I + (long)g * Ig;
                for (int i = 0; i < Ig; i++)
                    acc += (double)w[((long)o * Ig + i) * K + k] * xk[i];
            }
            y[q * O + o] = (float)acc + (b ? b[o] : 0.0f);
        }
    if (act > 0)
        ictal_nn_act((enum ictal_act)act, y, rows * O);
    return T;
}

/* n <= BLOCK scaled samples, time-major xin (n, C), through the stack.
 * Frames go to prob/scores; returns how many. */
static size_t run_block(struct ictal_engine *e, const float *xin, int n, float *prob, float *scores)
{
    const int C = e->C;
    const float *cur = xin;
    long T = n, dim = 1;
    int which = 0;
    const float *pre_bias = NULL; /* a conv's bias left to the LayerNorm after it */
    for (int l = 0; l < e->prefix && T > 0; l++) {
        struct rt_layer *r = &e->rt[l];
        const struct ictal_layer *L = r->L;
        float *out = e->seq[which];
        const long rows = T * C;
        switch (L->type) {
        case ICTAL_LAYER_CONV1D: {
            /* a SiLU/GELU right after a conv with a bias is applied in the
             * same pass as the bias (the same operations; the act layer
             * is then skipped); before a LayerNorm of the prefix, the
             * LayerNorm adds the bias (act -1: the conv leaves it out) */
            const struct ictal_layer *Ln = l + 1 < e->prefix ? e->rt[l + 1].L : NULL;
            const int dense = L->u.conv.groups == 1;
            int act = 0;
            if (Ln && L->u.conv.bias && Ln->type == ICTAL_LAYER_ACT &&
                (Ln->u.act.fn == ICTAL_ACT_SILU || Ln->u.act.fn == ICTAL_ACT_GELU))
                act = (int)Ln->u.act.fn;
            else if (Ln && L->u.conv.bias && dense && Ln->type == ICTAL_LAYER_LAYERNORM)
                act = -1;
            T = run_conv_seq(e, r, cur, T, out, act);
            if (act > 0)
                l++;
            else if (act < 0)
                pre_bias = L->u.conv.bias;
            break;
        }
        case ICTAL_LAYER_MAMBA2:
            run_mamba2_seq(e, r, cur, T, out);
            break;
        case ICTAL_LAYER_LINEAR:
            gemm_rows(&r->g1, (int)rows, cur, L->in_dim, out, L->out_dim);
            if (L->u.linear.bias)
                for (long q = 0; q < rows; q++)
                    for (int o = 0; o < L->out_dim; o++)
                        out[q * L->out_dim + o] += L->u.linear.bias[o];
            break;
        case ICTAL_LAYER_LAYERNORM:
        case ICTAL_LAYER_RMSNORM:
        case ICTAL_LAYER_ACT:
            /* element-wise and per-row layers work in place on a sequence
             * buffer (no copy); only the caller's input is copied first */
            if (cur == e->seq[which ^ 1]) {
                out = e->seq[which ^ 1];
                which ^= 1; /* undone below: the next layer writes the other buffer */
            } else if (cur != out)
                memcpy(out, cur, (size_t)(rows * dim) * sizeof(float));
            if (L->type == ICTAL_LAYER_LAYERNORM) {
                /* the conv's bias before, LayerNorm and the activation
                 * after it, in one pass */
                const int fuse = l + 1 < e->prefix && e->rt[l + 1].L->type == ICTAL_LAYER_ACT;
                ictal_nn_layernorm_act(fuse ? (int)e->rt[l + 1].L->u.act.fn : 0, out, (int)rows, L->in_dim, pre_bias,
                                       L->u.norm.weight, L->u.norm.bias, L->u.norm.eps);
                pre_bias = NULL;
                l += fuse;
            } else if (L->type == ICTAL_LAYER_RMSNORM)
                ictal_nn_rmsnorm(out, (int)rows, L->in_dim, L->u.norm.weight, L->u.norm.eps);
            else
                ictal_nn_act(L->u.act.fn, out, rows * dim);
            break;
        default:
            break;
        }
        dim = L->out_dim;
        cur = out;
        which ^= 1;
    }
    /* the rest, one time step at a time */
    size_t nf = 0;
    const size_t step = (size_t)C * (size_t)dim;
    if (e->prefix == e->n_layers) { /* the whole stack was batched: aggregate in place */
        for (long t = 0; t < T; t++) {
            prob[nf] = aggregate(e, cur + (size_t)t * step, scores ? scores + nf * (size_t)C : NULL);
            nf++;
        }
        if (T > 0) /* the latest frame's features (ictal_engine_features) */
            memcpy(e->feat, cur + (size_t)(T - 1) * step, step * sizeof(float));
        return nf;
    }
    for (long t = 0; t < T; t++) {
        memcpy(e->buf[0], cur + (size_t)t * step, step * sizeof(float));
        if (run_layers(e, e->prefix)) {
            prob[nf] = aggregate(e, e->feat, scores ? scores + nf * (size_t)C : NULL);
            nf++;
        }
    }
    return nf;
}

/* Windowed mode: window k covers samples [kH, kH + W) and is evaluated on
 * its last sample; count those in [s, s + n). */
static uint64_t windows_upto(const struct ictal_engine *e, uint64_t samples)
{
    return samples < (uint64_t)e->W ? 0 : (samples - (uint64_t)e->W) / (uint64_t)e->H + 1;
}

size_t ictal_engine_max_frames(const struct ictal_engine *e, size_t n)
{
    const uint64_t s = e->st->samples, h = (uint64_t)e->hop;
    if (e->W)
        return (size_t)((windows_upto(e, s + n) - windows_upto(e, s)) * (uint64_t)(e->H / e->hop));
    /* frames are emitted at samples k*hop: count multiples of hop in [s, s+n) */
    const uint64_t before = s == 0 ? 0 : (s - 1) / h + 1;
    const uint64_t upto = (s + n == 0) ? 0 : (s + n - 1) / h + 1;
    return (size_t)(upto - before);
}

/* WindowedModel (tools/model/ictal_ref.py): run the stack from zero state
 * over the window ending at the current sample, add its frames into the
 * Hamming-weighted accumulators, emit the frames no later window covers.
 * Returns the number of frames written. Bounded but bursty: W samples of
 * work in one call, once every H samples. */
static size_t run_window(struct ictal_engine *e, float *prob, float *scores)
{
    const int C = e->C;
    const uint64_t t_end = e->st->samples;          /* samples consumed, this window's last included */
    const uint64_t s0 = t_end - (uint64_t)e->W;     /* first sample of the window */
    memset(e->arena + e->layers_begin, 0, e->layers_end - e->layers_begin);
    size_t nf = 0;
    for (int i0 = 0; i0 < e->W; i0 += BLOCK) {
        const int n = e->W - i0 < BLOCK ? e->W - i0 : BLOCK;
        for (int i = 0; i < n; i++) {
            const long at = (long)((s0 + (uint64_t)(i0 + i)) % (uint64_t)e->W);
            for (int c = 0; c < C; c++)
                e->xin[(long)i * C + c] = e->ring[(long)c * e->W + at];
        }
        nf += run_block(e, e->xin, n, e->wp + nf, e->ws + (long)nf * C);
    }
    const uint64_t g0 = s0 / (uint64_t)e->hop;
    for (int j = 0; j < e->Fw; j++) {
        const long slot = (long)((g0 + (uint64_t)j) % (uint64_t)e->Fw);
        const float w = e->hamming[j];
        e->acc_p[slot] += w * e->wp[j];
        e->acc_w[slot] += w;
        for (int c = 0; c < C; c++)
            e->acc_s[slot * C + c] += w * e->ws[(long)j * C + c];
    }
    const int out = e->H / e->hop;
    for (int j = 0; j < out; j++) {
        const long slot = (long)((g0 + (uint64_t)j) % (uint64_t)e->Fw);
        prob[j] = e->acc_p[slot] / e->acc_w[slot];
        for (int c = 0; c < C; c++) {
            if (scores)
                scores[(long)j * C + c] = e->acc_s[slot * C + c] / e->acc_w[slot];
            e->acc_s[slot * C + c] = 0.0f;
        }
        e->acc_p[slot] = e->acc_w[slot] = 0.0f;
    }
    return (size_t)out;
}

int ictal_engine_process(struct ictal_engine *e, const float *const *in, size_t n, float *prob,
                         float *scores, size_t cap, size_t *n_frames)
{
    size_t nf = 0;
    if (n_frames)
        *n_frames = 0;
    if (!e || (!in && n) || !n_frames)
        return ICTAL_EINVAL;
    size_t need = ictal_engine_max_frames(e, n);
    if (need > cap || (need && !prob))
        return ICTAL_ERANGE;
    const float gain = e->info->input_gain;
    if (!e->W) {
        for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
            const int m = n - i0 < BLOCK ? (int)(n - i0) : BLOCK;
            if (e->xin_cm)
                for (int c = 0; c < e->C; c++) {
                    const float *src = in[c] + i0;
                    float *dst = e->xin + (long)c * m;
                    for (int t = 0; t < m; t++)
                        dst[t] = src[t] * gain;
                }
            else
                for (int c = 0; c < e->C; c++) {
                    const float *src = in[c] + i0;
                    for (int t = 0; t < m; t++)
                        e->xin[(long)t * e->C + c] = src[t] * gain;
                }
            const size_t got = run_block(e, e->xin, m, prob + nf, scores ? scores + nf * (size_t)e->C : NULL);
            nf += got;
            e->st->frames += got;
            e->st->samples += (uint64_t)m;
        }
        *n_frames = nf;
        return 0;
    }
    for (size_t i = 0; i < n; i++) { /* windowed mode */
        const long at = (long)(e->st->samples % (uint64_t)e->W);
        for (int c = 0; c < e->C; c++)
            e->ring[(long)c * e->W + at] = in[c][i] * gain;
        e->st->samples++;
        if (e->st->samples >= (uint64_t)e->W && (e->st->samples - (uint64_t)e->W) % (uint64_t)e->H == 0) {
            size_t got = run_window(e, prob + nf, scores ? scores + nf * (size_t)e->C : NULL);
            nf += got;
            e->st->frames += got;
        }
    }
    *n_frames = nf;
    return 0;
}

void ictal_engine_set_mask(struct ictal_engine *e, const unsigned char *active)
{
    for (int c = 0; c < e->C; c++)
        e->active[c] = active ? active[c] != 0 : 1;
}

const float *ictal_engine_features(const struct ictal_engine *e) { return e->feat; }
uint64_t ictal_engine_samples(const struct ictal_engine *e) { return e->st->samples; }
uint64_t ictal_engine_frames(const struct ictal_engine *e) { return e->st->frames; }
size_t ictal_engine_state_size(const struct ictal_engine *e) { return e->state_bytes; }
size_t ictal_engine_arena_size(const struct ictal_engine *e) { return e->arena_bytes; }
double ictal_engine_macs_per_second(const struct ictal_engine *e) { return e->macs; }

int ictal_engine_state_save(const struct ictal_engine *e, void *buf, size_t cap)
{
    if (!e || !buf)
        return ICTAL_EINVAL;
    if (cap < e->state_bytes)
        return ICTAL_ERANGE;
    memcpy(buf, e->arena, e->state_bytes);
    return 0;
}

int ictal_engine_state_load(struct ictal_engine *e, const void *buf, size_t len)
{
    if (!e || !buf || len != e->state_bytes)
        return ICTAL_EINVAL;
    struct state_hdr h;
    memcpy(&h, buf, sizeof h);
    if (h.magic != STATE_MAGIC || h.fingerprint != e->st->fingerprint || h.channels != (uint64_t)e->C ||
        h.bytes != e->state_bytes)
        return ICTAL_EINVAL;
    memcpy(e->arena, buf, e->state_bytes);
    return 0;
}
