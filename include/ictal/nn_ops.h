/*
 * ictal/nn_ops.h — element-wise and per-row kernels of the engine, each
 * matching one PyTorch expression (written above its definition in
 * src/nn_ops.c). Rows are channels: x is (rows, dim) row-major.
 * All RT-safe: yes (no allocation, no I/O).
 */
#ifndef ICTAL_NN_OPS_H
#define ICTAL_NN_OPS_H

#include "ictal/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* In place over n values. */
void ictal_nn_act(enum ictal_act fn, float *x, long n);
float ictal_nn_exp(float x);     /* expf within 8.5e-8 relative on [-87, 88], clamped outside */
float ictal_nn_sigmoid(float x);
float ictal_nn_silu(float x);
float ictal_nn_softplus(float x);

/* y[r][j] = silu(x[r][j]) for r < rows, j < width; rows ldx / ldy floats
 * apart. y and x must not overlap. */
void ictal_nn_silu_rows(float *y, long ldy, const float *x, long ldx, long rows, int width);

/* Mamba-2's time steps for rows of nh heads, the raw values read at
 * z + q * ldz: dt[q][h] = softplus(z[q][h] + dt_bias[h]) (as
 * ictal_nn_softplus_v), dA[q][h] = exp(dt[q][h] * A[h]) (as ictal_nn_exp_v). */
void ictal_nn_mamba_dt(float *dt, float *dA, const float *z, long ldz, long rows, int nh, const float *dt_bias,
                       const float *A);

/* x (rows, n) in place: x += b (per column), then the activation fn; the
 * same result as the two steps done separately. */
void ictal_nn_bias_act(enum ictal_act fn, float *x, long rows, int n, const float *b);

/* In place over n values: exp (as ictal_nn_exp) and softplus (beta 1,
 * threshold 20, as F.softplus). */
void ictal_nn_exp_v(float *x, long n);
void ictal_nn_softplus_v(float *x, long n);

/* x (rows, dim) in place; bias may be NULL (RMSNorm has none). */
void ictal_nn_layernorm(float *x, int rows, int dim, const float *w, const float *b, float eps);
void ictal_nn_rmsnorm(float *x, int rows, int dim, const float *w, float eps);
/* x += pre (per column; pre may be NULL: the bias of the layer before),
 * LayerNorm, then the activation fn (an enum ictal_act, or 0 for none), in
 * one pass over each block of rows; the same result as the steps done
 * separately. */
void ictal_nn_layernorm_act(int fn, float *x, int rows, int dim, const float *pre, const float *w, const float *b,
                            float eps);
/* RMSNorm of x (rows, dim) into y (rows, dim); y may equal x. */
void ictal_nn_rmsnorm_to(float *y, const float *x, int rows, int dim, const float *w, float eps);

#ifdef __cplusplus
}
#endif

#endif
