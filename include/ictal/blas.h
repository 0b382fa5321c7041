/*
 * ictal/blas.h — the one matrix product the engine needs, behind a thin
 * wrapper: OpenBLAS single-threaded in production, a plain-loop reference
 * for tests. Plus the denormal switch for the real-time thread.
 */
#ifndef ICTAL_BLAS_H
#define ICTAL_BLAS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Pin OpenBLAS to one thread (the RT thread must not wake a pool) and run one
 * small product so that its lazy initialisation happens now, not in the first
 * JACK cycle. Idempotent. RT-safe: no. */
void ictal_blas_init(void);

/* C (M, N) = A (M, K) · B (N, K)^T, row-major with leading dimensions
 * lda >= K, ldb >= K, ldc >= N. Overwrites C. Deterministic for a given
 * shape and data (single thread). M, N, K >= 1.
 * Allocation-free once ictal_blas_init() has run, but RT-safe: no with any
 * Debian OpenBLAS 0.3.21 build, which locks its buffer pool on every call
 * outside its small-matrix path (docs/engine.md); the engine's default is
 * ictal_blas_gemm_builtin. */
void ictal_blas_sgemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                         float *C, int ldc);

/* Column block of the builtin kernel, and the leading dimension its Bt
 * must have: N rounded up to whole blocks. */
#define ICTAL_BLAS_COLS 16
#define ICTAL_BLAS_LDB(N) ((((N) + ICTAL_BLAS_COLS - 1) / ICTAL_BLAS_COLS) * ICTAL_BLAS_COLS)

/* C (M, N) = A (M, K) · Bt (K, N), row-major; ldb must be >= ICTAL_BLAS_LDB(N)
 * and columns N..ldb-1 of Bt readable (their values are never stored).
 * ictal's own kernel: no allocation, no lock (Debian's OpenBLAS 0.3.21
 * locks its buffer pool in blas_memory_alloc on every call: a pthread mutex
 * in the pthread build, a spinlock in the serial and OpenMP builds, see
 * docs/engine.md), register-blocked 8/4/1 rows x 16 columns with AVX-512
 * (and on SSE2-only CPUs), 4/1 rows x two 8-column halves with AVX2, 8/1
 * rows x 8 columns for a last block of at most 8; x86-64-v4/v3/baseline
 * clones chosen at load time. Each element is summed in ascending k
 * whatever the blocking and the CPU, so results are deterministic and
 * identical across CPUs. RT-safe: yes. */
void ictal_blas_gemm_builtin(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb,
                             float *C, int ldc);

/* The same product, for a C whose rows are at least ldb floats apart
 * (ldc >= ldb) with columns N..ldb-1 free: the last, partial column block
 * is stored whole, 8 columns if at most 8 are left, else 16 (the columns
 * past N get A . Bt's padding, zeros for finite A and zero padding),
 * instead of column by column. Columns 0..N-1 are bit-identical to
 * ictal_blas_gemm_builtin's. RT-safe: yes. */
void ictal_blas_gemm_builtin_wide(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb,
                                  float *C, int ldc);

/* For tests: on != 0 makes the builtin kernel take the blocks of 8-float
 * halves that AVX2 CPUs take (0: the CPU decides), so that both paths can
 * be checked on any machine; their results are identical.
 * Process-wide, not thread-safe. RT-safe: yes. */
void ictal_blas_builtin_force_halves(int on);

/* The same product as three plain loops with a double accumulator: the
 * reference the tests hold OpenBLAS to. RT-safe: yes. */
void ictal_blas_ref_sgemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                             float *C, int ldc);

/* Denormals on the calling thread: flush-to-zero and denormals-are-zero on
 * (x86 SSE MXCSR; AArch64 FPCR.FZ; elsewhere a no-op). Returns the previous
 * control word, for ictal_blas_denormals_restore. Call from the RT thread
 * itself (the setting is per thread). The PyTorch equivalence tests run
 * with it on and off. RT-safe: yes. */
unsigned long ictal_blas_denormals_flush(void);
void ictal_blas_denormals_restore(unsigned long saved);

#ifdef __cplusplus
}
#endif

#endif
