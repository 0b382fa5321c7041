/*
 * rt_guard.h — the real-time guard of the test suite: fails a test when the
 * code under test calls the allocator, takes a lock, sleeps, does file or
 * socket I/O, or enters OpenBLAS while the guard is armed on its thread.
 *
 * How: the test executable defines (interposes) malloc & co. itself; each
 * definition counts a violation when the calling thread has armed the guard,
 * then forwards to the real function (glibc's __libc_* allocator, the next
 * definition found by dlsym(RTLD_NEXT) for the rest). Calls from inside
 * shared libraries (libsamplerate, libjack, OpenBLAS, libc's own public
 * entry points) go through the executable's definitions too; calls that
 * glibc makes internally (printf's write, sleep's nanosleep) do not, which is
 * why sleep and usleep are watched on their own.
 *
 * Arming is per thread (_Thread_local): only the thread running the RT path
 * counts — the test's main thread, or a JACK process callback that arms on
 * entry and disarms before returning. Counters are atomics, readable from any
 * thread.
 *
 * Use, in exactly ONE source file of a test executable:
 *
 *     #define RT_GUARD_INTERPOSE
 *     #include "rt_guard.h"
 *
 * and elsewhere just #include "rt_guard.h". The interposers live in that
 * file, not in rt_guard.c, on purpose: rt_guard.o sits in the
 * ictal_testsupport static archive, and an archive member that defined malloc
 * would be pulled into every test that calls malloc. As it is, only the tests
 * that reference rt_guard_* link rt_guard.o, and only the file that asks for
 * them gets the interposers.
 *
 * Not available (rt_guard_unavailable() says why; report the test as
 * skipped, not passed): in ASan/TSan builds, whose runtimes own the allocator
 * and the lock functions, and when no file defined RT_GUARD_INTERPOSE.
 *
 * Debugging a violation: `break rt_guard_violation` in gdb, or run with
 * ICTAL_RT_GUARD_ABORT=1 to abort at the first one (the core's backtrace
 * shows the caller).
 */
#ifndef ICTAL_TEST_RT_GUARD_H
#define ICTAL_TEST_RT_GUARD_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RT_GUARD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define RT_GUARD_SANITIZED 1
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The watched functions. */
enum rt_guard_sym {
    RT_GUARD_MALLOC = 0,
    RT_GUARD_CALLOC,
    RT_GUARD_REALLOC,
    RT_GUARD_FREE,           /* free(NULL) is not counted */
    RT_GUARD_ALIGNED_ALLOC,
    RT_GUARD_POSIX_MEMALIGN,
    RT_GUARD_MEMALIGN,
    RT_GUARD_MUTEX_LOCK,     /* pthread_mutex_lock */
    RT_GUARD_MUTEX_TRYLOCK,
    RT_GUARD_MUTEX_TIMEDLOCK,
    RT_GUARD_SPIN_LOCK,      /* pthread_spin_lock */
    RT_GUARD_SEM_WAIT,
    RT_GUARD_SCHED_YIELD,
    RT_GUARD_NANOSLEEP,
    RT_GUARD_CLOCK_NANOSLEEP,
    RT_GUARD_USLEEP,
    RT_GUARD_SLEEP,
    RT_GUARD_READ,
    RT_GUARD_WRITE,
    RT_GUARD_OPEN,
    RT_GUARD_OPENAT,
    RT_GUARD_CLOSE,
    RT_GUARD_POLL,
    RT_GUARD_SELECT,
    RT_GUARD_CBLAS_SGEMM,    /* OpenBLAS locks its buffer pool on every call (docs/engine.md) */
    RT_GUARD_NSYM
};

/* NULL when the guard works in this executable, else why not
 * ("sanitizer build ...", "no file defined RT_GUARD_INTERPOSE"). Also checks,
 * once, that an armed malloc is really seen. Call it unarmed. */
const char *rt_guard_unavailable(void);
static inline int rt_guard_available(void) { return rt_guard_unavailable() == NULL; }

/* Arm / disarm the calling thread. Both are a store to a thread-local flag:
 * safe inside a JACK process callback. */
void rt_guard_arm(void);
void rt_guard_disarm(void);
int rt_guard_armed(void);

/* Violations since start (or rt_guard_clear), all threads. */
unsigned long rt_guard_violations(void);
unsigned long rt_guard_count(enum rt_guard_sym s);
const char *rt_guard_symbol_name(enum rt_guard_sym s);
/* The latest function hit, or NULL when none. */
const char *rt_guard_last(void);

/* "malloc x2, pthread_mutex_lock x1" ("none" when clean) into buf; returns
 * buf. Not for the armed thread (formats text). */
const char *rt_guard_report(char *buf, size_t cap);

/* All counters, to put back after a self-check that violates on purpose. */
struct rt_guard_tally {
    unsigned long total;
    unsigned long by_sym[RT_GUARD_NSYM];
    int last;
};
void rt_guard_save(struct rt_guard_tally *t);
void rt_guard_restore(const struct rt_guard_tally *t);
void rt_guard_clear(void);

/* Called for every violation (a place for a breakpoint). */
void rt_guard_violation(enum rt_guard_sym s);

/* ---- internals shared with the interposers ---------------------------- */
/* volatile: a store around a call to malloc must not be dropped (GCC knows
 * malloc reads no program memory). */
extern _Thread_local volatile int rt_guard__armed;
/* The real function behind s, resolved at start-up (dlsym RTLD_NEXT);
 * aborts if there is none. */
void *rt_guard__real(enum rt_guard_sym s);
/* Defined by the RT_GUARD_INTERPOSE block (weak reference in rt_guard.c). */
extern const int rt_guard__interposers;

#ifdef __cplusplus
}
#endif

/* ---- the interposers (one file per executable) -------------------------- */
#if defined(RT_GUARD_INTERPOSE) && !defined(RT_GUARD_SANITIZED) && !defined(RT_GUARD__DEFINED)
#define RT_GUARD__DEFINED 1

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

const int rt_guard__interposers = 1;

#define RT_GUARD__CHECK(s) \
    do { \
        if (rt_guard__armed) \
            rt_guard_violation(s); \
    } while (0)
/* Object pointer -> function pointer, portably. */
#define RT_GUARD__REAL(fn, s) \
    do { \
        void *rt_guard_p_ = rt_guard__real(s); \
        memcpy(&(fn), &rt_guard_p_, sizeof rt_guard_p_); \
    } while (0)

/* glibc's allocator under its own names: no dlsym (which allocates) needed. */
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

void *malloc(size_t n)
{
    RT_GUARD__CHECK(RT_GUARD_MALLOC);
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t s)
{
    RT_GUARD__CHECK(RT_GUARD_CALLOC);
    return __libc_calloc(n, s);
}
void *realloc(void *p, size_t n)
{
    RT_GUARD__CHECK(RT_GUARD_REALLOC);
    return __libc_realloc(p, n);
}
void free(void *p)
{
    if (p)
        RT_GUARD__CHECK(RT_GUARD_FREE);
    __libc_free(p);
}
void *aligned_alloc(size_t a, size_t n)
{
    RT_GUARD__CHECK(RT_GUARD_ALIGNED_ALLOC);
    return __libc_memalign(a, n);
}
void *memalign(size_t a, size_t n);
void *memalign(size_t a, size_t n)
{
    RT_GUARD__CHECK(RT_GUARD_MEMALIGN);
    return __libc_memalign(a, n);
}
int posix_memalign(void **out, size_t a, size_t n)
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

int pthread_mutex_lock(pthread_mutex_t *m)
{
    int (*real)(pthread_mutex_t *);
    RT_GUARD__CHECK(RT_GUARD_MUTEX_LOCK);
    RT_GUARD__REAL(real, RT_GUARD_MUTEX_LOCK);
    return real(m);
}
int pthread_mutex_trylock(pthread_mutex_t *m)
{
    int (*real)(pthread_mutex_t *);
    RT_GUARD__CHECK(RT_GUARD_MUTEX_TRYLOCK);
    RT_GUARD__REAL(real, RT_GUARD_MUTEX_TRYLOCK);
    return real(m);
}
int pthread_mutex_timedlock(pthread_mutex_t *restrict m, const struct timespec *restrict t)
{
    int (*real)(pthread_mutex_t *, const struct timespec *);
    RT_GUARD__CHECK(RT_GUARD_MUTEX_TIMEDLOCK);
    RT_GUARD__REAL(real, RT_GUARD_MUTEX_TIMEDLOCK);
    return real(m, t);
}
int pthread_spin_lock(pthread_spinlock_t *l)
{
    int (*real)(pthread_spinlock_t *);
    RT_GUARD__CHECK(RT_GUARD_SPIN_LOCK);
    RT_GUARD__REAL(real, RT_GUARD_SPIN_LOCK);
    return real(l);
}
int sem_wait(sem_t *s)
{
    int (*real)(sem_t *);
    RT_GUARD__CHECK(RT_GUARD_SEM_WAIT);
    RT_GUARD__REAL(real, RT_GUARD_SEM_WAIT);
    return real(s);
}
int sched_yield(void)
{
    int (*real)(void);
    RT_GUARD__CHECK(RT_GUARD_SCHED_YIELD);
    RT_GUARD__REAL(real, RT_GUARD_SCHED_YIELD);
    return real();
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    int (*real)(const struct timespec *, struct timespec *);
    RT_GUARD__CHECK(RT_GUARD_NANOSLEEP);
    RT_GUARD__REAL(real, RT_GUARD_NANOSLEEP);
    return real(req, rem);
}
int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
    int (*real)(clockid_t, int, const struct timespec *, struct timespec *);
    RT_GUARD__CHECK(RT_GUARD_CLOCK_NANOSLEEP);
    RT_GUARD__REAL(real, RT_GUARD_CLOCK_NANOSLEEP);
    return real(clk, flags, req, rem);
}
/* usleep left POSIX in 2008; glibc's takes a useconds_t (unsigned int). */
int usleep(unsigned int usec);
int usleep(unsigned int usec)
{
    int (*real)(unsigned int);
    RT_GUARD__CHECK(RT_GUARD_USLEEP);
    RT_GUARD__REAL(real, RT_GUARD_USLEEP);
    return real(usec);
}
unsigned int sleep(unsigned int s)
{
    unsigned int (*real)(unsigned int);
    RT_GUARD__CHECK(RT_GUARD_SLEEP);
    RT_GUARD__REAL(real, RT_GUARD_SLEEP);
    return real(s);
}

ssize_t read(int fd, void *buf, size_t n)
{
    ssize_t (*real)(int, void *, size_t);
    RT_GUARD__CHECK(RT_GUARD_READ);
    RT_GUARD__REAL(real, RT_GUARD_READ);
    return real(fd, buf, n);
}
ssize_t write(int fd, const void *buf, size_t n)
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
int open(const char *path, int flags, ...)
{
    int (*real)(const char *, int, ...);
    unsigned int mode = 0;
    RT_GUARD__CHECK(RT_GUARD_OPEN);
    RT_GUARD__REAL(real, RT_GUARD_OPEN);
    if (RT_GUARD__NEEDS_MODE(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, unsigned int);
        va_end(ap);
    }
    return real(path, flags, mode);
}
int openat(int dir, const char *path, int flags, ...)
{
    int (*real)(int, const char *, int, ...);
    unsigned int mode = 0;
    RT_GUARD__CHECK(RT_GUARD_OPENAT);
    RT_GUARD__REAL(real, RT_GUARD_OPENAT);
    if (RT_GUARD__NEEDS_MODE(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, unsigned int);
        va_end(ap);
    }
    return real(dir, path, flags, mode);
}
int close(int fd)
{
    int (*real)(int);
    RT_GUARD__CHECK(RT_GUARD_CLOSE);
    RT_GUARD__REAL(real, RT_GUARD_CLOSE);
    return real(fd);
}
int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    int (*real)(struct pollfd *, nfds_t, int);
    RT_GUARD__CHECK(RT_GUARD_POLL);
    RT_GUARD__REAL(real, RT_GUARD_POLL);
    return real(fds, n, timeout);
}
int select(int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e, struct timeval *restrict t)
{
    int (*real)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
    RT_GUARD__CHECK(RT_GUARD_SELECT);
    RT_GUARD__REAL(real, RT_GUARD_SELECT);
    return real(n, r, w, e, t);
}

/* The ABI of Debian's cblas_sgemm (its enums and blasint are int), declared
 * here because tests do not see OpenBLAS's headers. */
void cblas_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);
void cblas_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    void (*real)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *,
                 int);
    RT_GUARD__CHECK(RT_GUARD_CBLAS_SGEMM);
    RT_GUARD__REAL(real, RT_GUARD_CBLAS_SGEMM);
    real(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#undef RT_GUARD__NEEDS_MODE
#undef RT_GUARD__REAL
#undef RT_GUARD__CHECK
#endif /* RT_GUARD_INTERPOSE */

#endif /* ICTAL_TEST_RT_GUARD_H */
