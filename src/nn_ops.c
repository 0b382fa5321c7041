/*
 * nn_ops.c — element-wise and per-row kernels (see ictal/nn_ops.h).
 * Reductions accumulate in double: the result is then within one float
 * rounding of the exact value, which is what keeps C within 1e-5 of
 * PyTorch over hours of frames whatever order either side sums in. The
 * order is fixed in the source (eight lanes and a tree, below), the same
 * in every clone, so results do not depend on the CPU or the row count.
 */
#include "ictal/nn_ops.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn_internal.h"

/* exp(x) for the engine, written so that GCC vectorises loops over it
 * (libm's expf is an opaque call): Cody-Waite reduction x = n ln2 + r with
 * |r| <= ln2/2, a degree-7 Taylor polynomial (truncation < 3e-9 relative),
 * and 2^n assembled in the exponent bits. Within 2 ulp of expf over
 * [-87, 88]; arguments are clamped there (exp(-87) ~ 1.6e-38 stands in for
 * anything smaller, which no caller can tell from 0 after adding 1). */
static inline float exp_v(float xin)
{
    /* NaN-safe clamp (NaN -> -87: the float-to-int conversion below must
     * never see a NaN); a NaN argument is passed through at the end. */
    float x = xin >= -87.0f ? xin : -87.0f;
    x = x > 88.0f ? 88.0f : x;
    /* n = round(x / ln2) by the 1.5 * 2^23 trick (round-to-nearest mode) */
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { int32_t i; float f; } sc;
    sc.i = ((int32_t)n + 127) << 23;
    const float y = p * sc.f;
    return xin == xin ? y : xin;
}

/* erf(x), Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), branch-free so
 * that the GELU loop vectorises. */
static inline float erf_v(float x)
{
    const float a = fabsf(x);
    const float t = 1.0f / (1.0f + 0.3275911f * a);
    float y = 1.061405429f;
    y = y * t - 1.453152027f;
    y = y * t + 1.421413741f;
    y = y * t - 0.284496736f;
    y = y * t + 0.254829592f;
    y = 1.0f - y * t * exp_v(-a * a);
    return copysignf(y, x);
}

/* log(y) for normal y > 0, branch-free: y = m 2^e with m in [sqrt(1/2),
 * sqrt(2)), log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, five odd
 * terms (truncation < 1e-9 relative). Within 2 ulp of logf. */
static inline float log_v(float y)
{
    union { float f; int32_t i; } u = {y};
    int32_t e = ((u.i >> 23) & 0xff) - 127;
    u.i = (u.i & 0x007fffff) | 0x3f800000; /* m in [1, 2) */
    const int32_t big = u.f > 1.41421356f;  /* fold to [sqrt(1/2), sqrt(2)) */
    u.f = big ? u.f * 0.5f : u.f;
    e += big;
    const float s = (u.f - 1.0f) / (u.f + 1.0f), s2 = s * s;
    float p = 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p + (float)e * 0.693147180559945309f;
}

/* softplus(x) = max(x, 0) + log1p(exp(-|x|)); log1p(u) = log(w) u / (w - 1)
 * with w = 1 + u keeps full relative precision for tiny u (Goldberg). */
static inline float softplus_v(float x)
{
    const float u = exp_v(-fabsf(x));
    const float w = 1.0f + u;
    const float l1p = w == 1.0f ? u : log_v(w) * (u / (w - 1.0f));
    return (x > 0.0f ? x : 0.0f) + l1p;
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
float ictal_nn_silu(float x) { return x / (1.0f + exp_v(-x)); }

/* F.softplus(x) (beta 1, threshold 20) = x > 20 ? x : log1p(exp(x)) */
float ictal_nn_softplus(float x) { return x > 20.0f ? x : softplus_v(x); }

ICTAL_CLONES
void ictal_nn_act(enum ictal_act fn, float *restrict x, long n)
{
    switch (fn) {
    case ICTAL_ACT_SILU:
        for (long i = 0; i < n; i++)
            x[i] = x[i] / (1.0f + exp_v(-x[i]));
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

/* Row sums for the norms in eight double lanes (element i into lane i % 8,
 * then a fixed tree), so that they vectorise: an in-order sum is a chain of
 * dependent scalar adds. Still double, so within one float rounding of the
 * exact value; the order is fixed per row, whatever the row count. The
 * square roots and divisions then run over a block of rows at once (their
 * latency, not the sums, bounded the old row-by-row loop). */
#if defined(__GNUC__)
#define ICTAL_NORM_INLINE static inline __attribute__((always_inline))
typedef float v8f_n __attribute__((vector_size(32)));
typedef double v8d_n __attribute__((vector_size(64)));
#define ICTAL_NORM_VEC 1
#else
#define ICTAL_NORM_INLINE static inline
#endif
#define NORM_RB 64 /* rows per block of statistics (on the stack) */

ICTAL_NORM_INLINE double lanes_total(const double a[8])
{
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

/* sum over i of (v[i] - m) (sq = 0) or (v[i] - m)^2 (sq = 1), in lanes;
 * the vector part and the scalar tail put element i into lane i % 8 */
ICTAL_NORM_INLINE double row_lanes(const float *v, int dim, double m, int sq)
{
    double acc[8] = {0};
    int i = 0;
#if defined(ICTAL_NORM_VEC)
    v8d_n va = {0};
    for (; i + 8 <= dim; i += 8) {
        v8f_n x;
        memcpy(&x, v + i, sizeof x);
        const v8d_n d = __builtin_convertvector(x, v8d_n) - m;
        va += sq ? d * d : d;
    }
    for (int l = 0; l < 8; l++)
        acc[l] = va[l];
#endif
    for (int l = 0; i < dim; i++, l++) {
        const double d = (double)v[i] - m;
        acc[l] += sq ? d * d : d;
    }
    return lanes_total(acc);
}

/* nn.LayerNorm(dim, eps): y = (x - mean) / sqrt(var_biased + eps) * w + b */
ICTAL_NORM_INLINE void layernorm_rows(float *x, int rows, int dim, const float *w, const float *b, float eps)
{
    double m[NORM_RB], inv[NORM_RB];
    for (int r0 = 0; r0 < rows; r0 += NORM_RB) {
        const int nb = rows - r0 < NORM_RB ? rows - r0 : NORM_RB;
        const float *x0 = x + (long)r0 * dim;
        for (int r = 0; r < nb; r++) {
            m[r] = row_lanes(x0 + (long)r * dim, dim, 0.0, 0) / dim;
            inv[r] = row_lanes(x0 + (long)r * dim, dim, m[r], 1);
        }
        for (int r = 0; r < nb; r++)
            inv[r] = 1.0 / sqrt(inv[r] / dim + (double)eps);
        for (int r = 0; r < nb; r++) {
            float *v = x + (long)(r0 + r) * dim;
            const double mr = m[r], ir = inv[r];
            for (int i = 0; i < dim; i++)
                v[i] = (float)((v[i] - mr) * ir) * w[i] + (b ? b[i] : 0.0f);
        }
    }
}
ICTAL_CLONES
void ictal_nn_layernorm(float *x, int rows, int dim, const float *w, const float *b, float eps)
{
    switch (dim) { /* the usual widths get fixed-length vector loops */
    case 16: layernorm_rows(x, rows, 16, w, b, eps); break;
    case 32: layernorm_rows(x, rows, 32, w, b, eps); break;
    default: layernorm_rows(x, rows, dim, w, b, eps); break;
    }
}

/* RMSNorm: y = x * rsqrt(mean(x^2) + eps) * w */
ICTAL_NORM_INLINE void rmsnorm_rows(float *x, int rows, int dim, const float *w, float eps)
{
    float inv[NORM_RB];
    double q[NORM_RB];
    for (int r0 = 0; r0 < rows; r0 += NORM_RB) {
        const int nb = rows - r0 < NORM_RB ? rows - r0 : NORM_RB;
        const float *x0 = x + (long)r0 * dim;
        for (int r = 0; r < nb; r++)
            q[r] = row_lanes(x0 + (long)r * dim, dim, 0.0, 1);
        for (int r = 0; r < nb; r++)
            inv[r] = (float)(1.0 / sqrt(q[r] / dim + (double)eps));
        for (int r = 0; r < nb; r++) {
            float *v = x + (long)(r0 + r) * dim;
            const float ir = inv[r];
            for (int i = 0; i < dim; i++)
                v[i] = v[i] * ir * w[i];
        }
    }
}
ICTAL_CLONES
void ictal_nn_rmsnorm(float *x, int rows, int dim, const float *w, float eps)
{
    switch (dim) {
    case 16: rmsnorm_rows(x, rows, 16, w, eps); break;
    case 32: rmsnorm_rows(x, rows, 32, w, eps); break;
    default: rmsnorm_rows(x, rows, dim, w, eps); break;
    }
}
