/*
 * nn_internal.h — shared by the engine's kernels (blas.c, nn_ops.c, engine.c).
 */
#ifndef ICTAL_NN_INTERNAL_H
#define ICTAL_NN_INTERNAL_H

/* Wider vectors where the CPU has them, chosen once at load time (ifunc),
 * for the hot loops: x86-64-v4 (AVX-512), x86-64-v3 (AVX2 and FMA) and the
 * baseline. Every clone does the same float operations per element in the
 * same order (ISO C mode: the compiler contracts nothing into an FMA;
 * reductions are never reassociated by the compiler: where a sum is split
 * into lanes, the source fixes the order), so outputs are bit-identical on
 * every x86-64 CPU. The activations' polynomials call fmaf() explicitly:
 * one vfmadd in the v3 and v4 clones, glibc's correctly rounded fmaf() in
 * the baseline clone (slow, but the same bits; CPUs without FMA predate
 * 2013). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__gnu_linux__)
#define ICTAL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ICTAL_CLONES
#endif

#if defined(__GNUC__)
/* The fixed summation tree of the engine's row sums over eight lanes:
 * ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)), written as three
 * vector adds (GCC otherwise extracts the lanes one by one). Forced inline
 * so that each clone gets its own target's code. */
typedef float ictal_v8f __attribute__((vector_size(32)));
typedef float ictal_v4f __attribute__((vector_size(16)));
typedef int ictal_v4i __attribute__((vector_size(16)));
static inline __attribute__((always_inline)) float ictal_tree8(const ictal_v8f *pa)
{
    const ictal_v8f a = *pa; /* by pointer: a vector argument's ABI differs between the clones (-Wpsabi) */
    const ictal_v4f lo = {a[0], a[1], a[2], a[3]}, hi = {a[4], a[5], a[6], a[7]};
    const ictal_v4f t = lo + hi; /* a0+a4, a1+a5, a2+a6, a3+a7 */
    const ictal_v4f u = t + __builtin_shuffle(t, (ictal_v4i){2, 3, 2, 3}); /* (a0+a4)+(a2+a6), (a1+a5)+(a3+a7) */
    return u[0] + u[1];
}
#endif

#endif
