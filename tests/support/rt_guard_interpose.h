/*
 * rt_guard_interpose.h — the interposers of the RT guard (see rt_guard.h).
 * Do not include this file directly: `#define RT_GUARD_INTERPOSE` and
 * include rt_guard.h, in exactly one source file of an executable (or of the
 * LD_PRELOAD library, rt_guard_jack.c).
 *
 * Each definition checks the thread-local armed flag, counts a violation with
 * its caller's return address when armed, and forwards to the real function:
 * glibc's __libc_* allocator (no dlsym, which allocates), else the next
 * definition found by dlsym(RTLD_NEXT) at start-up. noinline: in a test file
 * GCC could otherwise inline malloc into its callers there, and
 * __builtin_return_address(0) would name the caller's caller.
 */
#ifndef ICTAL_TEST_RT_GUARD_INTERPOSE_H
#define ICTAL_TEST_RT_GUARD_INTERPOSE_H

#ifndef RT_GUARD__DEFINED
#error "include rt_guard.h with RT_GUARD_INTERPOSE defined instead"
#endif
#if defined(_FILE_OFFSET_BITS) && _FILE_OFFSET_BITS == 64
/* open, fopen and mmap would be redirected to open64 & co. by the headers,
 * and their definitions here would clash with the *64 ones. */
#error "the RT guard interposers need the default _FILE_OFFSET_BITS"
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

const int rt_guard__interposers = 1;

#define RT_GUARD__FN __attribute__((noinline))
#define RT_GUARD__CHECK(s) \
    do { \
        if (rt_guard__armed) \
            rt_guard_violation(s, __builtin_return_address(0)); \
    } while (0)
/* Object pointer -> function pointer, portably. */
#define RT_GUARD__REAL(fn, s) \
    do { \
        void *rt_guard_p_ = rt_guard__real(s); \
        memcpy(&(fn), &rt_guard_p_, sizeof rt_guard_p_); \
    } while (0)

/* ---- the allocator ------------------------------------------------------ */
/* glibc's allocator under its own names: no dlsym (which allocates) needed. */
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

RT_GUARD__FN void *malloc(size_t n)
{
    RT_GUARD__CHECK(RT_GUARD_MALLOC);
    return __libc_malloc(n);
}
RT_GUARD__FN void *calloc(size_t n, size_t s)
{
    RT_GUARD__CHECK(RT_GUARD_CALLOC);
    return __libc_calloc(n, s);
}
RT_GUARD__FN void *realloc(void *p, size_t n)
{
    RT_GUARD__CHECK(RT_GUARD_REALLOC);
    return __libc_realloc(p, n);
}
/* glibc's reallocarray calls its realloc internally: watched on its own. */
void *reallocarray(void *p, size_t n, size_t s);
RT_GUARD__FN void *reallocarray(void *p, size_t n, size_t s)
{
    RT_GUARD__CHECK(RT_GUARD_REALLOCARRAY);
    if (s && n > (size_t)-1 / s) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(p, n * s);
}
RT_GUARD__FN void free(void *p)
{
    if (p)
        RT_GUARD__CHECK(RT_GUARD_FREE);
    __libc_free(p);
}
RT_GUARD__FN void *aligned_alloc(size_t a, size_t n)
{
    RT_GUARD__CHECK(RT_GUARD_ALIGNED_ALLOC);
    return __libc_memalign(a, n);
}
void *memalign(size_t a, size_t n);
RT_GUARD__FN void *memalign(size_t a, size_t n)
{
    RT_GUARD__CHECK(RT_GUARD_MEMALIGN);
    return __libc_memalign(a, n);
}
RT_GUARD__FN int posix_memalign(void **out, size_t a, size_t n)
{
    RT_GUARD__CHECK(RT_GUARD_POSIX_MEMALIGN);
    if (a < sizeof(void *) || (a & (a - 1)) != 0)
        return EINVAL; /* as glibc */
    void *p = __libc_memalign(a, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
RT_GUARD__FN void *mmap(void *addr, size_t n, int prot, int flags, int fd, off_t off)
{
    void *(*real)(void *, size_t, int, int, int, off_t);
    RT_GUARD__CHECK(RT_GUARD_MMAP);
    RT_GUARD__REAL(real, RT_GUARD_MMAP);
    return real(addr, n, prot, flags, fd, off);
}
RT_GUARD__FN int munmap(void *addr, size_t n)
{
    int (*real)(void *, size_t);
    RT_GUARD__CHECK(RT_GUARD_MUNMAP);
    RT_GUARD__REAL(real, RT_GUARD_MUNMAP);
    return real(addr, n);
}

/* ---- locks and waits ------------------------------------------------------ */
/* One-argument functions: int f(T *). */
#define RT_GUARD__LOCK1(name, T, s) \
    RT_GUARD__FN int name(T *x) \
    { \
        int (*real)(T *); \
        RT_GUARD__CHECK(s); \
        RT_GUARD__REAL(real, s); \
        return real(x); \
    }
RT_GUARD__LOCK1(pthread_mutex_lock, pthread_mutex_t, RT_GUARD_MUTEX_LOCK)
RT_GUARD__LOCK1(pthread_mutex_trylock, pthread_mutex_t, RT_GUARD_MUTEX_TRYLOCK)
RT_GUARD__LOCK1(pthread_spin_lock, pthread_spinlock_t, RT_GUARD_SPIN_LOCK)
RT_GUARD__LOCK1(pthread_rwlock_rdlock, pthread_rwlock_t, RT_GUARD_RWLOCK_RDLOCK)
RT_GUARD__LOCK1(pthread_rwlock_wrlock, pthread_rwlock_t, RT_GUARD_RWLOCK_WRLOCK)
RT_GUARD__LOCK1(sem_wait, sem_t, RT_GUARD_SEM_WAIT)
#undef RT_GUARD__LOCK1

RT_GUARD__FN int pthread_mutex_timedlock(pthread_mutex_t *restrict m, const struct timespec *restrict t)
{
    int (*real)(pthread_mutex_t *, const struct timespec *);
    RT_GUARD__CHECK(RT_GUARD_MUTEX_TIMEDLOCK);
    RT_GUARD__REAL(real, RT_GUARD_MUTEX_TIMEDLOCK);
    return real(m, t);
}
/* dlsym finds the default version (GLIBC_2.3.2), the one programs link. */
RT_GUARD__FN int pthread_cond_wait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m)
{
    int (*real)(pthread_cond_t *, pthread_mutex_t *);
    RT_GUARD__CHECK(RT_GUARD_COND_WAIT);
    RT_GUARD__REAL(real, RT_GUARD_COND_WAIT);
    return real(c, m);
}
RT_GUARD__FN int pthread_cond_timedwait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m,
                                        const struct timespec *restrict t)
{
    int (*real)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
    RT_GUARD__CHECK(RT_GUARD_COND_TIMEDWAIT);
    RT_GUARD__REAL(real, RT_GUARD_COND_TIMEDWAIT);
    return real(c, m, t);
}
RT_GUARD__FN int sem_timedwait(sem_t *restrict s, const struct timespec *restrict t)
{
    int (*real)(sem_t *, const struct timespec *);
    RT_GUARD__CHECK(RT_GUARD_SEM_TIMEDWAIT);
    RT_GUARD__REAL(real, RT_GUARD_SEM_TIMEDWAIT);
    return real(s, t);
}
RT_GUARD__FN int sched_yield(void)
{
    int (*real)(void);
    RT_GUARD__CHECK(RT_GUARD_SCHED_YIELD);
    RT_GUARD__REAL(real, RT_GUARD_SCHED_YIELD);
    return real();
}

/* ---- sleeps ---------------------------------------------------------------- */
RT_GUARD__FN int nanosleep(const struct timespec *req, struct timespec *rem)
{
    int (*real)(const struct timespec *, struct timespec *);
    RT_GUARD__CHECK(RT_GUARD_NANOSLEEP);
    RT_GUARD__REAL(real, RT_GUARD_NANOSLEEP);
    return real(req, rem);
}
RT_GUARD__FN int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                                 struct timespec *rem)
{
    int (*real)(clockid_t, int, const struct timespec *, struct timespec *);
    RT_GUARD__CHECK(RT_GUARD_CLOCK_NANOSLEEP);
    RT_GUARD__REAL(real, RT_GUARD_CLOCK_NANOSLEEP);
    return real(clk, flags, req, rem);
}
/* usleep left POSIX in 2008; glibc's takes a useconds_t (unsigned int). */
int usleep(unsigned int usec);
RT_GUARD__FN int usleep(unsigned int usec)
{
    int (*real)(unsigned int);
    RT_GUARD__CHECK(RT_GUARD_USLEEP);
    RT_GUARD__REAL(real, RT_GUARD_USLEEP);
    return real(usec);
}
RT_GUARD__FN unsigned int sleep(unsigned int s)
{
    unsigned int (*real)(unsigned int);
    RT_GUARD__CHECK(RT_GUARD_SLEEP);
    RT_GUARD__REAL(real, RT_GUARD_SLEEP);
    return real(s);
}

/* ---- file descriptors ------------------------------------------------------ */
RT_GUARD__FN ssize_t read(int fd, void *buf, size_t n)
{
    ssize_t (*real)(int, void *, size_t);
    RT_GUARD__CHECK(RT_GUARD_READ);
    RT_GUARD__REAL(real, RT_GUARD_READ);
    return real(fd, buf, n);
}
RT_GUARD__FN ssize_t write(int fd, const void *buf, size_t n)
{
    ssize_t (*real)(int, const void *, size_t);
    RT_GUARD__CHECK(RT_GUARD_WRITE);
    RT_GUARD__REAL(real, RT_GUARD_WRITE);
    return real(fd, buf, n);
}
/* The mode argument exists only with O_CREAT (or O_TMPFILE, which contains
 * O_DIRECTORY's bit and is checked whole). */
#ifdef O_TMPFILE
#define RT_GUARD__NEEDS_MODE(f) (((f) & O_CREAT) != 0 || ((f) & O_TMPFILE) == O_TMPFILE)
#else
#define RT_GUARD__NEEDS_MODE(f) (((f) & O_CREAT) != 0)
#endif
#define RT_GUARD__MODE(flags, mode) \
    do { \
        if (RT_GUARD__NEEDS_MODE(flags)) { \
            va_list ap; \
            va_start(ap, flags); \
            mode = va_arg(ap, unsigned int); \
            va_end(ap); \
        } \
    } while (0)
#define RT_GUARD__OPEN(name, s) \
    RT_GUARD__FN int name(const char *path, int flags, ...) \
    { \
        int (*real)(const char *, int, ...); \
        unsigned int mode = 0; \
        RT_GUARD__CHECK(s); \
        RT_GUARD__REAL(real, s); \
        RT_GUARD__MODE(flags, mode); \
        return real(path, flags, mode); \
    }
#define RT_GUARD__OPENAT(name, s) \
    RT_GUARD__FN int name(int dir, const char *path, int flags, ...) \
    { \
        int (*real)(int, const char *, int, ...); \
        unsigned int mode = 0; \
        RT_GUARD__CHECK(s); \
        RT_GUARD__REAL(real, s); \
        RT_GUARD__MODE(flags, mode); \
        return real(dir, path, flags, mode); \
    }
/* The *64 names are separate symbols of glibc (what _FILE_OFFSET_BITS=64
 * code, e.g. a library built that way, calls). */
int open64(const char *path, int flags, ...);
int openat64(int dir, const char *path, int flags, ...);
RT_GUARD__OPEN(open, RT_GUARD_OPEN)
RT_GUARD__OPEN(open64, RT_GUARD_OPEN64)
RT_GUARD__OPENAT(openat, RT_GUARD_OPENAT)
RT_GUARD__OPENAT(openat64, RT_GUARD_OPENAT64)
#undef RT_GUARD__OPEN
#undef RT_GUARD__OPENAT
#undef RT_GUARD__MODE
#undef RT_GUARD__NEEDS_MODE

RT_GUARD__FN int close(int fd)
{
    int (*real)(int);
    RT_GUARD__CHECK(RT_GUARD_CLOSE);
    RT_GUARD__REAL(real, RT_GUARD_CLOSE);
    return real(fd);
}
RT_GUARD__FN int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    int (*real)(struct pollfd *, nfds_t, int);
    RT_GUARD__CHECK(RT_GUARD_POLL);
    RT_GUARD__REAL(real, RT_GUARD_POLL);
    return real(fds, n, timeout);
}
RT_GUARD__FN int select(int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
                        struct timeval *restrict t)
{
    int (*real)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
    RT_GUARD__CHECK(RT_GUARD_SELECT);
    RT_GUARD__REAL(real, RT_GUARD_SELECT);
    return real(n, r, w, e, t);
}

/* ---- sockets ------------------------------------------------------------ */
/* With _GNU_SOURCE glibc declares the address arguments as transparent
 * unions; its macros give the declared type either way (and -Wpedantic
 * calls a definition through a transparent union "not truly compatible"). */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#ifdef __CONST_SOCKADDR_ARG
#define RT_GUARD__CSA __CONST_SOCKADDR_ARG
#define RT_GUARD__SA __SOCKADDR_ARG
#else
#define RT_GUARD__CSA const struct sockaddr *
#define RT_GUARD__SA struct sockaddr *
#endif
RT_GUARD__FN ssize_t send(int fd, const void *buf, size_t n, int fl)
{
    ssize_t (*real)(int, const void *, size_t, int);
    RT_GUARD__CHECK(RT_GUARD_SEND);
    RT_GUARD__REAL(real, RT_GUARD_SEND);
    return real(fd, buf, n, fl);
}
RT_GUARD__FN ssize_t sendto(int fd, const void *buf, size_t n, int fl, RT_GUARD__CSA to, socklen_t tl)
{
    ssize_t (*real)(int, const void *, size_t, int, RT_GUARD__CSA, socklen_t);
    RT_GUARD__CHECK(RT_GUARD_SENDTO);
    RT_GUARD__REAL(real, RT_GUARD_SENDTO);
    return real(fd, buf, n, fl, to, tl);
}
RT_GUARD__FN ssize_t sendmsg(int fd, const struct msghdr *m, int fl)
{
    ssize_t (*real)(int, const struct msghdr *, int);
    RT_GUARD__CHECK(RT_GUARD_SENDMSG);
    RT_GUARD__REAL(real, RT_GUARD_SENDMSG);
    return real(fd, m, fl);
}
RT_GUARD__FN ssize_t recv(int fd, void *buf, size_t n, int fl)
{
    ssize_t (*real)(int, void *, size_t, int);
    RT_GUARD__CHECK(RT_GUARD_RECV);
    RT_GUARD__REAL(real, RT_GUARD_RECV);
    return real(fd, buf, n, fl);
}
RT_GUARD__FN ssize_t recvfrom(int fd, void *restrict buf, size_t n, int fl, RT_GUARD__SA from,
                              socklen_t *restrict fl_len)
{
    ssize_t (*real)(int, void *, size_t, int, RT_GUARD__SA, socklen_t *);
    RT_GUARD__CHECK(RT_GUARD_RECVFROM);
    RT_GUARD__REAL(real, RT_GUARD_RECVFROM);
    return real(fd, buf, n, fl, from, fl_len);
}
RT_GUARD__FN ssize_t recvmsg(int fd, struct msghdr *m, int fl)
{
    ssize_t (*real)(int, struct msghdr *, int);
    RT_GUARD__CHECK(RT_GUARD_RECVMSG);
    RT_GUARD__REAL(real, RT_GUARD_RECVMSG);
    return real(fd, m, fl);
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#undef RT_GUARD__CSA
#undef RT_GUARD__SA

/* ---- stdio ---------------------------------------------------------------- */
/* glibc's printf family calls its vfprintf internally; printf("x\n") and
 * fprintf(f, "x") reach us as puts and fwrite after GCC's rewriting. */
FILE *fopen64(const char *restrict path, const char *restrict mode);
RT_GUARD__FN FILE *fopen(const char *restrict path, const char *restrict mode)
{
    FILE *(*real)(const char *, const char *);
    RT_GUARD__CHECK(RT_GUARD_FOPEN);
    RT_GUARD__REAL(real, RT_GUARD_FOPEN);
    return real(path, mode);
}
RT_GUARD__FN FILE *fopen64(const char *restrict path, const char *restrict mode)
{
    FILE *(*real)(const char *, const char *);
    RT_GUARD__CHECK(RT_GUARD_FOPEN64);
    RT_GUARD__REAL(real, RT_GUARD_FOPEN64);
    return real(path, mode);
}
RT_GUARD__FN int fclose(FILE *f)
{
    int (*real)(FILE *);
    RT_GUARD__CHECK(RT_GUARD_FCLOSE);
    RT_GUARD__REAL(real, RT_GUARD_FCLOSE);
    return real(f);
}
RT_GUARD__FN size_t fread(void *restrict p, size_t s, size_t n, FILE *restrict f)
{
    size_t (*real)(void *, size_t, size_t, FILE *);
    RT_GUARD__CHECK(RT_GUARD_FREAD);
    RT_GUARD__REAL(real, RT_GUARD_FREAD);
    return real(p, s, n, f);
}
RT_GUARD__FN size_t fwrite(const void *restrict p, size_t s, size_t n, FILE *restrict f)
{
    size_t (*real)(const void *, size_t, size_t, FILE *);
    RT_GUARD__CHECK(RT_GUARD_FWRITE);
    RT_GUARD__REAL(real, RT_GUARD_FWRITE);
    return real(p, s, n, f);
}
RT_GUARD__FN int fputs(const char *restrict s, FILE *restrict f)
{
    int (*real)(const char *, FILE *);
    RT_GUARD__CHECK(RT_GUARD_FPUTS);
    RT_GUARD__REAL(real, RT_GUARD_FPUTS);
    return real(s, f);
}
RT_GUARD__FN int puts(const char *s)
{
    int (*real)(const char *);
    RT_GUARD__CHECK(RT_GUARD_PUTS);
    RT_GUARD__REAL(real, RT_GUARD_PUTS);
    return real(s);
}
RT_GUARD__FN int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
{
    int (*real)(FILE *, const char *, va_list);
    RT_GUARD__CHECK(RT_GUARD_VFPRINTF);
    RT_GUARD__REAL(real, RT_GUARD_VFPRINTF);
    return real(f, fmt, ap);
}
RT_GUARD__FN int fprintf(FILE *restrict f, const char *restrict fmt, ...)
{
    int (*real)(FILE *, const char *, va_list);
    RT_GUARD__CHECK(RT_GUARD_FPRINTF);
    RT_GUARD__REAL(real, RT_GUARD_VFPRINTF);
    va_list ap;
    va_start(ap, fmt);
    int r = real(f, fmt, ap);
    va_end(ap);
    return r;
}
RT_GUARD__FN int printf(const char *restrict fmt, ...)
{
    int (*real)(FILE *, const char *, va_list);
    RT_GUARD__CHECK(RT_GUARD_PRINTF);
    RT_GUARD__REAL(real, RT_GUARD_VFPRINTF);
    va_list ap;
    va_start(ap, fmt);
    int r = real(stdout, fmt, ap);
    va_end(ap);
    return r;
}
RT_GUARD__FN int fflush(FILE *f)
{
    int (*real)(FILE *);
    RT_GUARD__CHECK(RT_GUARD_FFLUSH);
    RT_GUARD__REAL(real, RT_GUARD_FFLUSH);
    return real(f);
}

/* ---- OpenBLAS ------------------------------------------------------------- */
/* The ABI of Debian's cblas_sgemm (its enums and blasint are int), declared
 * here because tests do not see OpenBLAS's headers. */
void cblas_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);
RT_GUARD__FN void cblas_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha,
                              const float *A, int lda, const float *B, int ldb, float beta, float *C,
                              int ldc)
{
    void (*real)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *,
                 int);
    RT_GUARD__CHECK(RT_GUARD_CBLAS_SGEMM);
    RT_GUARD__REAL(real, RT_GUARD_CBLAS_SGEMM);
    real(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#undef RT_GUARD__REAL
#undef RT_GUARD__CHECK
#undef RT_GUARD__FN

#endif /* ICTAL_TEST_RT_GUARD_INTERPOSE_H */
