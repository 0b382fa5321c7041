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
float ictal_nn_exp(float x);     /* expf within 2 ulp on [-87, 88], clamped outside */
float ictal_nn_sigmoid(float x);
float ictal_nn_silu(float x);
float ictal_nn_softplus(float x);

/* In place over n values: exp (as ictal_nn_exp) and softplus (beta 1,
 * threshold 20, as F.softplus). */
void ictal_nn_exp_v(float *x, long n);
void ictal_nn_softplus_v(float *x, long n);

/* x (rows, dim) in place; bias may be NULL (RMSNorm has none). */
void ictal_nn_layernorm(float *x, int rows, int dim, const float *w, const float *b, float eps);
void ictal_nn_rmsnorm(float *x, int rows, int dim, const float *w, float eps);

#ifdef __cplusplus
}
#endif

#endif
