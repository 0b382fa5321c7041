/*
 * blas.c — thin wrapper over OpenBLAS (see ictal/blas.h).
 */
#include "ictal/blas.h"

#include <cblas.h>
#include <string.h>

#include "nn_internal.h"

#if defined(__SSE__) || defined(__x86_64__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#define ICTAL_HAVE_MXCSR 1
#endif

void ictal_blas_init(void)
{
    static const float a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1};
    float c[4];
    openblas_set_num_threads(1);
    ictal_blas_sgemm_nt(2, 2, 2, a, 2, b, 2, c, 2);
}

void ictal_blas_sgemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                         float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
}

/* Columns in register-sized blocks of ICTAL_BLAS_COLS: a block's
 * accumulators stay in registers across the whole K loop (one zmm per row
 * with AVX-512). Bt is padded to whole blocks (ldb = ICTAL_BLAS_LDB(N)), so
 * every block computes full width and stores only the columns that exist.
 * Each element is 0 + a0*b0 + a1*b1 + ... in ascending k in every path. */
#define JB ICTAL_BLAS_COLS

/* Forced inline: a helper compiled on its own would get the baseline
 * target, not the clone's (x86-64-v4/v3) one. */
#if defined(__GNUC__)
#define ICTAL_INLINE static inline __attribute__((always_inline))
#else
#define ICTAL_INLINE static inline
#endif

#if defined(__GNUC__)
/* A block's row of JB accumulators as one GCC vector (one zmm with
 * AVX-512; AVX2 takes the hblock* halves below): a full-width block is
 * stored with whole vector stores (plain arrays with a variable-width store
 * loop were kept on the stack and copied out with rep movs). */
typedef float vjb __attribute__((vector_size(JB * sizeof(float))));
ICTAL_INLINE void ldjb(vjb *v, const float *p) { memcpy(v, p, sizeof *v); }
ICTAL_INLINE void stjb(float *p, const vjb *v, int nj)
{
    if (nj == JB) {
        memcpy(p, v, sizeof *v);
        return;
    }
    for (int j = 0; j < nj; j++)
        p[j] = (*v)[j];
}

ICTAL_INLINE void block8(int nj, int K, const float *a, int lda, const float *Bt, int ldb, float *c, int ldc)
{
    vjb acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0}, acc4 = {0}, acc5 = {0}, acc6 = {0}, acc7 = {0};
    for (int k = 0; k < K; k++) {
        vjb b;
        ldjb(&b, Bt + (long)k * ldb);
        acc0 += a[k] * b;
        acc1 += a[1L * lda + k] * b;
        acc2 += a[2L * lda + k] * b;
        acc3 += a[3L * lda + k] * b;
        acc4 += a[4L * lda + k] * b;
        acc5 += a[5L * lda + k] * b;
        acc6 += a[6L * lda + k] * b;
        acc7 += a[7L * lda + k] * b;
    }
    stjb(c, &acc0, nj);
    stjb(c + 1L * ldc, &acc1, nj);
    stjb(c + 2L * ldc, &acc2, nj);
    stjb(c + 3L * ldc, &acc3, nj);
    stjb(c + 4L * ldc, &acc4, nj);
    stjb(c + 5L * ldc, &acc5, nj);
    stjb(c + 6L * ldc, &acc6, nj);
    stjb(c + 7L * ldc, &acc7, nj);
}

ICTAL_INLINE void block4(int nj, int K, const float *a, int lda, const float *Bt, int ldb, float *c, int ldc)
{
    vjb acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0};
    for (int k = 0; k < K; k++) {
        vjb b;
        ldjb(&b, Bt + (long)k * ldb);
        acc0 += a[k] * b;
        acc1 += a[1L * lda + k] * b;
        acc2 += a[2L * lda + k] * b;
        acc3 += a[3L * lda + k] * b;
    }
    stjb(c, &acc0, nj);
    stjb(c + 1L * ldc, &acc1, nj);
    stjb(c + 2L * ldc, &acc2, nj);
    stjb(c + 3L * ldc, &acc3, nj);
}

ICTAL_INLINE void block1(int nj, int K, const float *a, int lda, const float *Bt, int ldb, float *c, int ldc)
{
    (void)lda;
    (void)ldc;
    vjb acc0 = {0};
    for (int k = 0; k < K; k++) {
        vjb b;
        ldjb(&b, Bt + (long)k * ldb);
        acc0 += a[k] * b;
    }
    stjb(c, &acc0, nj);
}
#else
ICTAL_INLINE void block8(int nj, int K, const float *a, int lda, const float *Bt, int ldb, float *c, int ldc)
{
    float acc0[JB] = {0}, acc1[JB] = {0}, acc2[JB] = {0}, acc3[JB] = {0}, acc4[JB] = {0}, acc5[JB] = {0}, acc6[JB] = {0}, acc7[JB] = {0};
    for (int k = 0; k < K; k++) {
        const float *b = Bt + (long)k * ldb;
        const float x0 = a[k], x1 = a[1L * lda + k], x2 = a[2L * lda + k], x3 = a[3L * lda + k], x4 = a[4L * lda + k], x5 = a[5L * lda + k], x6 = a[6L * lda + k], x7 = a[7L * lda + k];
        for (int j = 0; j < JB; j++) {
            acc0[j] += x0 * b[j];
            acc1[j] += x1 * b[j];
            acc2[j] += x2 * b[j];
            acc3[j] += x3 * b[j];
            acc4[j] += x4 * b[j];
            acc5[j] += x5 * b[j];
            acc6[j] += x6 * b[j];
            acc7[j] += x7 * b[j];
        }
    }
    for (int j = 0; j < nj; j++) {
        c[j] = acc0[j];
        c[1L * ldc + j] = acc1[j];
        c[2L * ldc + j] = acc2[j];
        c[3L * ldc + j] = acc3[j];
        c[4L * ldc + j] = acc4[j];
        c[5L * ldc + j] = acc5[j];
        c[6L * ldc + j] = acc6[j];
        c[7L * ldc + j] = acc7[j];
    }
}

ICTAL_INLINE void block4(int nj, int K, const float *a, int lda, const float *Bt, int ldb, float *c, int ldc)
{
    float acc0[JB] = {0}, acc1[JB] = {0}, acc2[JB] = {0}, acc3[JB] = {0};
    for (int k = 0; k < K; k++) {
        const float *b = Bt + (long)k * ldb;
        const float x0 = a[k], x1 = a[1L * lda + k], x2 = a[2L * lda + k], x3 = a[3L * lda + k];
        for (int j = 0; j < JB; j++) {
            acc0[j] += x0 * b[j];
            acc1[j] += x1 * b[j];
            acc2[j] += x2 * b[j];
            acc3[j] += x3 * b[j];
        }
    }
    for (int j = 0; j < nj; j++) {
        c[j] = acc0[j];
        c[1L * ldc + j] = acc1[j];
        c[2L * ldc + j] = acc2[j];
        c[3L * ldc + j] = acc3[j];
    }
}

ICTAL_INLINE void block1(int nj, int K, const float *a, int lda, const float *Bt, int ldb, float *c, int ldc)
{
    (void)lda;
    (void)ldc;
    float acc0[JB] = {0};
    for (int k = 0; k < K; k++) {
        const float *b = Bt + (long)k * ldb;
        const float x0 = a[k];
        for (int j = 0; j < JB; j++) {
            acc0[j] += x0 * b[j];
        }
    }
    for (int j = 0; j < nj; j++) {
        c[j] = acc0[j];
    }
}

#endif

/* Narrow column blocks (N <= 8 left, e.g. a conv with 8 output channels):
 * 8-float vectors instead of half-empty 16-float blocks. GCC vector types
 * (plain loops over 8 accumulators get vectorised along k instead, with
 * in-order reductions); each lane is still 0 + a0*b0 + a1*b1 + ... in
 * ascending k, a multiply then an add, as in the blocks above. */
#if defined(__GNUC__)
#define ICTAL_HAVE_NARROW 1
typedef float v8sf __attribute__((vector_size(32)));
/* (helpers take vectors by pointer: by value would change the ABI
 * between the clones, -Wpsabi) */
ICTAL_INLINE void ld8(v8sf *v, const float *p) { memcpy(v, p, sizeof *v); }
ICTAL_INLINE void st8(float *p, const v8sf *v, int nj)
{
    if (nj == 8) {
        memcpy(p, v, sizeof *v);
        return;
    }
    for (int j = 0; j < nj; j++)
        p[j] = (*v)[j];
}
ICTAL_INLINE void nblock8(int nj, int K, const float *a, int lda, const float *Bt, int ldb, float *c, int ldc)
{
    v8sf acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0}, acc4 = {0}, acc5 = {0}, acc6 = {0}, acc7 = {0};
    for (int k = 0; k < K; k++) {
        v8sf b;
        ld8(&b, Bt + (long)k * ldb);
        acc0 += a[k] * b;
        acc1 += a[1L * lda + k] * b;
        acc2 += a[2L * lda + k] * b;
        acc3 += a[3L * lda + k] * b;
        acc4 += a[4L * lda + k] * b;
        acc5 += a[5L * lda + k] * b;
        acc6 += a[6L * lda + k] * b;
        acc7 += a[7L * lda + k] * b;
    }
    st8(c, &acc0, nj);
    st8(c + 1L * ldc, &acc1, nj);
    st8(c + 2L * ldc, &acc2, nj);
    st8(c + 3L * ldc, &acc3, nj);
    st8(c + 4L * ldc, &acc4, nj);
    st8(c + 5L * ldc, &acc5, nj);
    st8(c + 6L * ldc, &acc6, nj);
    st8(c + 7L * ldc, &acc7, nj);
}
ICTAL_INLINE void nblock1(int nj, int K, const float *a, const float *Bt, int ldb, float *c)
{
    v8sf acc0 = {0};
    for (int k = 0; k < K; k++) {
        v8sf b;
        ld8(&b, Bt + (long)k * ldb);
        acc0 += a[k] * b;
    }
    st8(c, &acc0, nj);
}

/* A 16-column block as two 8-float halves, for CPUs without AVX-512: GCC
 * lowers the 16-float vector type to memory and general registers there
 * (AVX2 measured 4x slower), 8-float vectors to one ymm each. 4 rows: 8
 * accumulators, 2 column halves and a broadcast fit in AVX2's 16 ymm. */
ICTAL_INLINE void st16h(float *p, const v8sf *lo, const v8sf *hi, int nj)
{
    st8(p, lo, nj < 8 ? nj : 8);
    if (nj > 8)
        st8(p + 8, hi, nj - 8);
}
ICTAL_INLINE void hblock4(int nj, int K, const float *a, int lda, const float *Bt, int ldb, float *c, int ldc)
{
    v8sf l0 = {0}, l1 = {0}, l2 = {0}, l3 = {0}, h0 = {0}, h1 = {0}, h2 = {0}, h3 = {0};
    for (int k = 0; k < K; k++) {
        v8sf bl, bh;
        ld8(&bl, Bt + (long)k * ldb);
        ld8(&bh, Bt + (long)k * ldb + 8);
        const float x0 = a[k], x1 = a[1L * lda + k], x2 = a[2L * lda + k], x3 = a[3L * lda + k];
        l0 += x0 * bl;
        h0 += x0 * bh;
        l1 += x1 * bl;
        h1 += x1 * bh;
        l2 += x2 * bl;
        h2 += x2 * bh;
        l3 += x3 * bl;
        h3 += x3 * bh;
    }
    st16h(c, &l0, &h0, nj);
    st16h(c + 1L * ldc, &l1, &h1, nj);
    st16h(c + 2L * ldc, &l2, &h2, nj);
    st16h(c + 3L * ldc, &l3, &h3, nj);
}
ICTAL_INLINE void hblock1(int nj, int K, const float *a, const float *Bt, int ldb, float *c)
{
    v8sf l0 = {0}, h0 = {0};
    for (int k = 0; k < K; k++) {
        v8sf bl, bh;
        ld8(&bl, Bt + (long)k * ldb);
        ld8(&bh, Bt + (long)k * ldb + 8);
        l0 += a[k] * bl;
        h0 += a[k] * bh;
    }
    st16h(c, &l0, &h0, nj);
}
#endif

static int force_halves; /* tests: the path of AVX2 CPUs */

void ictal_blas_builtin_force_halves(int on) { force_halves = on != 0; }

/* wide: C's rows have room for whole column blocks (ldc >= ldb), so the
 * last, partial block is stored whole too (its extra columns get A . 0);
 * otherwise a partial block is stored column by column. */
ICTAL_INLINE void gemm_body(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc,
                            int wide)
{
    /* The 16-float vector blocks where the CPU has AVX-512 (or only SSE2,
     * where both shapes are lowered to pairs of registers and the old
     * blocks measured faster), the same blocks in 8-float halves (hblock*)
     * with AVX2. Every element is summed the same way in either, so the
     * results do not depend on it. */
#if defined(ICTAL_HAVE_NARROW) && defined(__x86_64__)
    const int v16 = force_halves ? 0 : __builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx2");
#else
    const int v16 = 1;
#endif
    for (int j0 = 0; j0 < N; j0 += JB) {
        const int nj = N - j0 < JB ? N - j0 : JB;
        const int sj = wide ? JB : nj; /* columns stored */
        int i = 0;
#if defined(ICTAL_HAVE_NARROW)
        if (nj <= 8) {
            const int s8 = wide ? 8 : nj;
            for (; i + 8 <= M; i += 8)
                nblock8(s8, K, A + (long)i * lda, lda, Bt + j0, ldb, C + (long)i * ldc + j0, ldc);
            for (; i < M; i++)
                nblock1(s8, K, A + (long)i * lda, Bt + j0, ldb, C + (long)i * ldc + j0);
            continue;
        }
#endif
#if defined(ICTAL_HAVE_NARROW)
        if (!v16) {
            for (; i + 4 <= M; i += 4)
                hblock4(sj, K, A + (long)i * lda, lda, Bt + j0, ldb, C + (long)i * ldc + j0, ldc);
            for (; i < M; i++)
                hblock1(sj, K, A + (long)i * lda, Bt + j0, ldb, C + (long)i * ldc + j0);
            continue;
        }
#endif
        for (; i + 8 <= M; i += 8)
            block8(sj, K, A + (long)i * lda, lda, Bt + j0, ldb, C + (long)i * ldc + j0, ldc);
        for (; i + 4 <= M; i += 4)
            block4(sj, K, A + (long)i * lda, lda, Bt + j0, ldb, C + (long)i * ldc + j0, ldc);
        for (; i < M; i++)
            block1(sj, K, A + (long)i * lda, lda, Bt + j0, ldb, C + (long)i * ldc + j0, ldc);
    }
}

/* The engine's usual depths as constants: the k loops unroll fully. */
ICTAL_INLINE void gemm_k(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc,
                         int wide)
{
    switch (K) {
    case 8: gemm_body(M, N, 8, A, lda, Bt, ldb, C, ldc, wide); break;
    case 16: gemm_body(M, N, 16, A, lda, Bt, ldb, C, ldc, wide); break;
    case 32: gemm_body(M, N, 32, A, lda, Bt, ldb, C, ldc, wide); break;
    case 48: gemm_body(M, N, 48, A, lda, Bt, ldb, C, ldc, wide); break;
    default: gemm_body(M, N, K, A, lda, Bt, ldb, C, ldc, wide); break;
    }
}

ICTAL_CLONES
void ictal_blas_gemm_builtin(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb,
                             float *C, int ldc)
{
    gemm_k(M, N, K, A, lda, Bt, ldb, C, ldc, 0);
}

ICTAL_CLONES
void ictal_blas_gemm_builtin_wide(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb,
                                  float *C, int ldc)
{
    gemm_k(M, N, K, A, lda, Bt, ldb, C, ldc, 1);
}

void ictal_blas_ref_sgemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                             float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)A[(long)i * lda + k] * B[(long)j * ldb + k];
            C[(long)i * ldc + j] = (float)s;
        }
}

unsigned long ictal_blas_denormals_flush(void)
{
#if defined(ICTAL_HAVE_MXCSR)
    unsigned long old = _mm_getcsr();
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
    return old;
#elif defined(__aarch64__)
    unsigned long old;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(old));
    __asm__ __volatile__("msr fpcr, %0" ::"r"(old | (1UL << 24)));
    return old;
#else
    return 0;
#endif
}

void ictal_blas_denormals_restore(unsigned long saved)
{
#if defined(ICTAL_HAVE_MXCSR)
    _mm_setcsr((unsigned int)saved);
#elif defined(__aarch64__)
    __asm__ __volatile__("msr fpcr, %0" ::"r"(saved));
#else
    (void)saved;
#endif
}
