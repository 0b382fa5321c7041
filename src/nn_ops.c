/*
 * nn_ops.c — element-wise and per-row kernels (see ictal/nn_ops.h).
 * The norms' row sums are float, as PyTorch's own CPU kernels compute them,
 * in eight lanes added by a fixed tree: the order is fixed in the source,
 * the same in every clone, so results do not depend on the CPU or the row
 * count. (They were double until the third optimisation round; rows here
 * are 16-64 wide, where a float sum is within a few ulp; the hour-long
 * comparisons with PyTorch stayed in the same range: docs/engine.md.)
 */
#include "ictal/nn_ops.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn_internal.h"

/* exp(x) for the engine, written so that GCC vectorises loops over it
 * (libm's expf is an opaque call): Cody-Waite reduction x = n ln2 + r with
 * |r| <= ln2/2, e^r = 1 + r + r^2 P(r) with Cephes' degree-5 expf
 * polynomial, and 2^n assembled in the exponent bits. Every multiply-add
 * is an explicit fmaf (one rounding; see ICTAL_CLONES). n is rounded by
 * adding 1.5 * 2^23, which leaves n in the low mantissa bits of t: 2^n is
 * then (bits(t) + 127) << 23 (mod 2^32 the bits of 1.5 * 2^23 shift out),
 * with no float-to-int conversion. x must be in [-87, 88] (exp(-87) ~
 * 1.6e-38 stands in for anything smaller, which no caller can tell from 0
 * after adding 1). Max relative error 8.5e-8 (under 1 ulp), exhaustively
 * over every float in [-87, 88] (test_nn_ops samples it). */
static inline __attribute__((always_inline)) float exp_core(float x)
{
    const float t = fmaf(x, 1.44269504088896341f, 12582912.0f);
    const float n = t - 12582912.0f;
    const float r = fmaf(-n, 1.42860682030941723e-6f, fmaf(-n, 0.693145751953125f, x));
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    const float y = fmaf(p, r * r, r) + 1.0f;
    union { float f; uint32_t u; } bt = {t}, sc;
    sc.u = (bt.u + 127u) << 23;
    return y * sc.f;
}

/* exp for SiLU and GELU: |x| clamped to 87 on the bits (integer and, min,
 * or: GCC turns float clamps into compare-and-blend chains); a NaN comes
 * out finite, which SiLU and GELU do not see since their numerator x
 * carries it through. */
static inline __attribute__((always_inline)) float exp_c(float xin)
{
    union { float f; uint32_t u; } v = {xin};
    uint32_t a = v.u & 0x7fffffffu;
    a = a < 0x42ae0000u ? a : 0x42ae0000u; /* 87.0f */
    v.u = a | (v.u & 0x80000000u);
    return exp_core(v.f);
}

/* exp clamped to [-87, 88] (NaN-safe: the clamp makes it -87 on the way),
 * a NaN argument passed through */
static inline float exp_v(float xin)
{
    float x = xin > -87.0f ? xin : -87.0f;
    x = x < 88.0f ? x : 88.0f;
    const float y = exp_core(x);
    return xin == xin ? y : xin;
}

/* erf(x), Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), branch-free so
 * that the GELU loop vectorises. */
static inline float erf_v(float x)
{
    const float a = fabsf(x);
    const float t = 1.0f / fmaf(0.3275911f, a, 1.0f);
    float y = 1.061405429f;
    y = fmaf(y, t, -1.453152027f);
    y = fmaf(y, t, 1.421413741f);
    y = fmaf(y, t, -0.284496736f);
    y = fmaf(y, t, 0.254829592f);
    y = 1.0f - y * t * exp_c(-a * a);
    return copysignf(y, x);
}

/* log1p(u) for u in [0, 1]: 2 atanh(s) with s = u / (2 + u) in [0, 1/3],
 * seven odd terms (the next, s^15/15, is < 2e-8 relative); no cancellation
 * for tiny u (s ~ u/2). One division, no exponent extraction. */
static inline float log1p01(float u)
{
    const float s = u / (2.0f + u), s2 = s * s;
    float p = 1.0f / 13.0f;
    p = fmaf(p, s2, 1.0f / 11.0f);
    p = fmaf(p, s2, 1.0f / 9.0f);
    p = fmaf(p, s2, 1.0f / 7.0f);
    p = fmaf(p, s2, 1.0f / 5.0f);
    p = fmaf(p, s2, 1.0f / 3.0f);
    return (2.0f * s) * fmaf(p, s2, 1.0f);
}

/* softplus(x) = max(x, 0) + log1p(exp(-|x|)): max relative error 2.7e-7
 * over [-20, 20] (every third float; test_nn_ops samples it) */
static inline float softplus_v(float x)
{
    return (x > 0.0f ? x : 0.0f) + log1p01(exp_v(-fabsf(x)));
}

float ictal_nn_exp(float x) { return exp_v(x); }

ICTAL_CLONES
void ictal_nn_exp_v(float *restrict x, long n)
{
    for (long i = 0; i < n; i++)
        x[i] = exp_v(x[i]);
}

ICTAL_CLONES
void ictal_nn_softplus_v(float *restrict x, long n)
{
    for (long i = 0; i < n; i++)
        x[i] = x[i] > 20.0f ? x[i] : softplus_v(x[i]);
}

/* torch.sigmoid(x) = 1 / (1 + exp(-x)) */
float ictal_nn_sigmoid(float x) { return 1.0f / (1.0f + exp_v(-x)); }

/* F.silu(x) = x * sigmoid(x) */
float ictal_nn_silu(float x) { return x / (1.0f + exp_c(-x)); }

/* F.softplus(x) (beta 1, threshold 20) = x > 20 ? x : log1p(exp(x)) */
float ictal_nn_softplus(float x) { return x > 20.0f ? x : softplus_v(x); }

ICTAL_CLONES
void ictal_nn_act(enum ictal_act fn, float *restrict x, long n)
{
    switch (fn) {
    case ICTAL_ACT_SILU:
        for (long i = 0; i < n; i++)
            x[i] = x[i] / (1.0f + exp_c(-x[i]));
        break;
    case ICTAL_ACT_GELU: /* F.gelu(x) = x * 0.5 * (1 + erf(x / sqrt(2))) (exact form, not tanh) */
        for (long i = 0; i < n; i++)
            x[i] = x[i] * 0.5f * (1.0f + erf_v(x[i] * 0.70710678118654752f));
        break;
    case ICTAL_ACT_RELU: /* F.relu(x) = max(x, 0) */
        for (long i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case ICTAL_ACT_TANH:
        /* tanh(x) = 1 - 2 / (exp(2x) + 1); near 0 that cancels, so |x| < 1/8
         * takes the odd Taylor series (next term < 2e-10 relative) */
        for (long i = 0; i < n; i++) {
            const float v = x[i], v2 = v * v;
            const float big = 1.0f - 2.0f / (exp_v(2.0f * v) + 1.0f);
            const float small = v * (1.0f + v2 * (-1.0f / 3.0f + v2 * (2.0f / 15.0f + v2 * (-17.0f / 315.0f))));
            x[i] = fabsf(v) < 0.125f ? small : big;
        }
        break;
    case ICTAL_ACT_SIGMOID:
        for (long i = 0; i < n; i++)
            x[i] = 1.0f / (1.0f + exp_v(-x[i]));
        break;
    }
}

/* Mamba2's dt = F.softplus(dt + dt_bias), dA = torch.exp(dt * A) over rows
 * of nh heads, the raw dt read in place (row q at z + q * ldz): one pass
 * for both functions, with dt_bias and A repeated to 16 floats when nh
 * divides 16 (one vector per 16 values). The same operations as
 * ictal_nn_softplus_v and ictal_nn_exp_v one after the other. */
ICTAL_CLONES
void ictal_nn_mamba_dt(float *restrict dt, float *restrict dA, const float *restrict z, long ldz, long rows, int nh,
                       const float *restrict dt_bias, const float *restrict A)
{
    for (long q = 0; q < rows; q++)
        for (int h = 0; h < nh; h++)
            dt[q * nh + h] = z[q * ldz + h] + dt_bias[h];
    const long n = rows * nh;
    if (nh <= 16 && 16 % nh == 0) {
        float a16[16];
        for (int l = 0; l < 16; l++)
            a16[l] = A[l % nh];
        long k = 0;
        for (; k + 16 <= n; k += 16)
            for (int l = 0; l < 16; l++) {
                const float v = dt[k + l] > 20.0f ? dt[k + l] : softplus_v(dt[k + l]);
                dt[k + l] = v;
                dA[k + l] = exp_v(v * a16[l]);
            }
        for (int l = 0; k < n; k++, l++) {
            const float v = dt[k] > 20.0f ? dt[k] : softplus_v(dt[k]);
            dt[k] = v;
            dA[k] = exp_v(v * a16[l]);
        }
        return;
    }
    for (long q = 0; q < rows; q++)
        for (int h = 0; h < nh; h++) {
            const float v = dt[q * nh + h] > 20.0f ? dt[q * nh + h] : softplus_v(dt[q * nh + h]);
            dt[q * nh + h] = v;
            dA[q * nh + h] = exp_v(v * A[h]);
        }
}

/* y[r][j] = F.silu(x[r][j]) over rows of width floats (strided rows: the
 * gate z read straight out of in_proj's output, no copy first) */
ICTAL_CLONES
void ictal_nn_silu_rows(float *restrict y, long ldy, const float *restrict x, long ldx, long rows, int width)
{
    for (long r = 0; r < rows; r++) {
        const float *restrict xr = x + r * ldx;
        float *restrict yr = y + r * ldy;
        for (int j = 0; j < width; j++)
            yr[j] = xr[j] / (1.0f + exp_c(-xr[j]));
    }
}

/* x (rows, n) += b, then the activation, in one pass (a conv's or a
 * linear layer's bias and the activation layer after it): the same
 * operations in the same order as the two passes. A width dividing 16 is
 * walked as a flat array with the bias repeated to 16 floats (one vector
 * per 16 values, whatever n). */
static inline __attribute__((always_inline)) float act_one(enum ictal_act fn, float v)
{
    return fn == ICTAL_ACT_SILU ? v / (1.0f + exp_c(-v)) : v * 0.5f * (1.0f + erf_v(v * 0.70710678118654752f));
}
static inline __attribute__((always_inline)) void bias_act16(enum ictal_act fn, float *restrict x, long total,
                                                             const float *restrict bb)
{
    long k = 0;
    for (; k + 16 <= total; k += 16)
        for (int l = 0; l < 16; l++)
            x[k + l] = act_one(fn, x[k + l] + bb[l]);
    for (int l = 0; k < total; k++, l++)
        x[k] = act_one(fn, x[k] + bb[l]);
}
ICTAL_CLONES
void ictal_nn_bias_act(enum ictal_act fn, float *restrict x, long rows, int n, const float *restrict b)
{
    if ((fn == ICTAL_ACT_SILU || fn == ICTAL_ACT_GELU) && n <= 16 && 16 % n == 0) {
        float bb[16];
        for (int l = 0; l < 16; l++)
            bb[l] = b[l % n];
        if (fn == ICTAL_ACT_SILU)
            bias_act16(ICTAL_ACT_SILU, x, rows * n, bb);
        else
            bias_act16(ICTAL_ACT_GELU, x, rows * n, bb);
        return;
    }
    for (long r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
            x[r * n + j] += b[j];
    ictal_nn_act(fn, x, rows * n);
}

/* Row sums for the norms in eight float lanes (element i into lane i % 8,
 * then a fixed tree), so that they vectorise: an in-order sum is a chain of
 * dependent scalar adds. The order is fixed per row, whatever the row
 * count. The square roots and divisions run over a block of rows at once
 * (their latency, not the sums, bounded a row-by-row loop). */
#if defined(__GNUC__)
#define ICTAL_NORM_INLINE static inline __attribute__((always_inline))
#define ICTAL_NORM_VEC 1
#else
#define ICTAL_NORM_INLINE static inline
#endif
#define NORM_RB 64 /* rows per block of statistics (on the stack) */

/* sum over i of (v[i] - m) (sq = 0) or (v[i] - m)^2 (sq = 1), in lanes;
 * the vector part and the scalar tail put element i into lane i % 8 */
ICTAL_NORM_INLINE float row_lanes(const float *v, int dim, float m, int sq)
{
#if defined(ICTAL_NORM_VEC)
    ictal_v8f va = {0};
    int i = 0;
    for (; i + 8 <= dim; i += 8) {
        ictal_v8f x;
        memcpy(&x, v + i, sizeof x);
        const ictal_v8f d = x - m;
        va += sq ? d * d : d;
    }
    for (int l = 0; i < dim; i++, l++) {
        const float d = v[i] - m;
        va[l] += sq ? d * d : d;
    }
    return ictal_tree8(&va);
#else
    float acc[8] = {0};
    for (int i = 0; i < dim; i++) {
        const float d = v[i] - m;
        acc[i % 8] += sq ? d * d : d;
    }
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
#endif
}

/* nn.LayerNorm(dim, eps): y = (x - mean) / sqrt(var_biased + eps) * w + b,
 * then, with act (SiLU or GELU; 0: none), the activation in the same pass */
ICTAL_NORM_INLINE void layernorm_rows(float *x, int rows, int dim, const float *pre, const float *w, const float *b,
                                      float eps, int act)
{
    float m[NORM_RB], inv[NORM_RB];
    for (int r0 = 0; r0 < rows; r0 += NORM_RB) {
        const int nb = rows - r0 < NORM_RB ? rows - r0 : NORM_RB;
        float *x0 = x + (long)r0 * dim;
        if (pre) /* the previous layer's bias, added here instead of in a pass of its own */
            for (int r = 0; r < nb; r++)
                for (int i = 0; i < dim; i++)
                    x0[(long)r * dim + i] += pre[i];
        for (int r = 0; r < nb; r++) /* means, then variances: independent rows in each loop */
            m[r] = row_lanes(x0 + (long)r * dim, dim, 0.0f, 0) / (float)dim;
        for (int r = 0; r < nb; r++)
            inv[r] = row_lanes(x0 + (long)r * dim, dim, m[r], 1);
        for (int r = 0; r < nb; r++)
            inv[r] = 1.0f / sqrtf(inv[r] / (float)dim + eps);
        for (int r = 0; r < nb; r++) {
            float *v = x + (long)(r0 + r) * dim;
            const float mr = m[r], ir = inv[r];
            for (int i = 0; i < dim; i++) {
                const float y = (v[i] - mr) * ir * w[i] + (b ? b[i] : 0.0f);
                v[i] = act ? act_one((enum ictal_act)act, y) : y;
            }
        }
    }
}
ICTAL_CLONES
void ictal_nn_layernorm(float *x, int rows, int dim, const float *w, const float *b, float eps)
{
    switch (dim) { /* the usual widths get fixed-length vector loops */
    case 16: layernorm_rows(x, rows, 16, NULL, w, b, eps, 0); break;
    case 32: layernorm_rows(x, rows, 32, NULL, w, b, eps, 0); break;
    default: layernorm_rows(x, rows, dim, NULL, w, b, eps, 0); break;
    }
}

ICTAL_CLONES
void ictal_nn_layernorm_act(int fn, float *x, int rows, int dim, const float *pre, const float *w, const float *b,
                            float eps)
{
    if (fn == ICTAL_ACT_SILU && dim == 16)
        layernorm_rows(x, rows, 16, pre, w, b, eps, ICTAL_ACT_SILU);
    else if (fn == ICTAL_ACT_SILU)
        layernorm_rows(x, rows, dim, pre, w, b, eps, ICTAL_ACT_SILU);
    else if (fn == ICTAL_ACT_GELU)
        layernorm_rows(x, rows, dim, pre, w, b, eps, ICTAL_ACT_GELU);
    else {
        if (dim == 16)
            layernorm_rows(x, rows, 16, pre, w, b, eps, 0);
        else
            layernorm_rows(x, rows, dim, pre, w, b, eps, 0);
        if (fn)
            ictal_nn_act((enum ictal_act)fn, x, (long)rows * dim);
    }
}

/* RMSNorm: y = x * rsqrt(mean(x^2) + eps) * w; y may be x */
ICTAL_NORM_INLINE void rmsnorm_rows(float *y, const float *x, int rows, int dim, const float *w, float eps)
{
    float inv[NORM_RB];
    for (int r0 = 0; r0 < rows; r0 += NORM_RB) {
        const int nb = rows - r0 < NORM_RB ? rows - r0 : NORM_RB;
        const float *x0 = x + (long)r0 * dim;
        for (int r = 0; r < nb; r++)
            inv[r] = row_lanes(x0 + (long)r * dim, dim, 0.0f, 1);
        for (int r = 0; r < nb; r++)
            inv[r] = 1.0f / sqrtf(inv[r] / (float)dim + eps);
        if (y == x) /* in place: separate loops, else GCC's alias check sends it to scalar code */
            for (int r = 0; r < nb; r++) {
                float *v = y + (long)(r0 + r) * dim;
                const float ir = inv[r];
                for (int i = 0; i < dim; i++)
                    v[i] = v[i] * ir * w[i];
            }
        else
            for (int r = 0; r < nb; r++) {
                const float *restrict v = x0 + (long)r * dim;
                float *restrict o = y + (long)(r0 + r) * dim;
                const float ir = inv[r];
                for (int i = 0; i < dim; i++)
                    o[i] = v[i] * ir * w[i];
            }
    }
}
ICTAL_CLONES
void ictal_nn_rmsnorm_to(float *y, const float *x, int rows, int dim, const float *w, float eps)
{
    switch (dim) {
    case 16: rmsnorm_rows(y, x, rows, 16, w, eps); break;
    case 32: rmsnorm_rows(y, x, rows, 32, w, eps); break;
    default: rmsnorm_rows(y, x, rows, dim, w, eps); break;
    }
}

void ictal_nn_rmsnorm(float *x, int rows, int dim, const float *w, float eps)
{
    ictal_nn_rmsnorm_to(x, x, rows, dim, w, eps);
}
