/*
 * nn_internal.h — shared by the engine's kernels (blas.c, nn_ops.c, engine.c).
 */
#ifndef ICTAL_NN_INTERNAL_H
#define ICTAL_NN_INTERNAL_H

/* Wider vectors where the CPU has them, chosen once at load time (ifunc),
 * for the hot loops. Every clone does the same float operations per element
 * in the same order (ISO C mode: no FMA contraction; reductions are never
 * reassociated by the compiler: where a sum is split into lanes, the source
 * fixes the order), so outputs are bit-identical on every x86-64 CPU. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__gnu_linux__)
#define ICTAL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ICTAL_CLONES
#endif

#endif
