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
 * why sleep, usleep and the stdio functions are watched on their own.
 * The _FORTIFY_SOURCE variants (__read_chk, __printf_chk, ...) are not
 * watched.
 *
 * Arming is per thread (_Thread_local): only the thread running the RT path
 * counts — the test's main thread, or a JACK process callback that arms on
 * entry and disarms before returning. Counters are atomics, readable from any
 * thread. The first RT_GUARD_MAX_HITS violations are also recorded with the
 * caller's return address and a short backtrace (rt_guard_hit), resolved to
 * function names only when asked (rt_guard_where), never on the armed thread.
 *
 * Two ways to use it, one implementation (the interposers are in
 * rt_guard_interpose.h, the bookkeeping in rt_guard.c):
 *
 *  1. In a test executable, in exactly ONE source file:
 *
 *         #define RT_GUARD_INTERPOSE
 *         #include "rt_guard.h"
 *
 *     and elsewhere just #include "rt_guard.h". The interposers live in that
 *     file, not in rt_guard.c, on purpose: rt_guard.o sits in the
 *     ictal_testsupport static archive, and an archive member that defined
 *     malloc would be pulled into every test that calls malloc. As it is, only
 *     the tests that reference rt_guard_* link rt_guard.o, and only the file
 *     that asks for them gets the interposers.
 *
 *  2. In a whole, unmodified JACK client: librtguard_jack.so (rt_guard_jack.c)
 *     is rt_guard.c plus the interposers plus wrappers of
 *     jack_set_process_callback & co., loaded with LD_PRELOAD; it arms the
 *     guard around every process callback and writes a JSON report at exit.
 *     See docs/testing.md, "RT guard for whole programs".
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
#include <stdint.h>

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

/* The watched functions. Names (rt_guard_symbol_name) are the C names. */
enum rt_guard_sym {
    /* the allocator */
    RT_GUARD_MALLOC = 0,
    RT_GUARD_CALLOC,
    RT_GUARD_REALLOC,
    RT_GUARD_REALLOCARRAY,
    RT_GUARD_FREE,           /* free(NULL) is not counted */
    RT_GUARD_ALIGNED_ALLOC,
    RT_GUARD_POSIX_MEMALIGN,
    RT_GUARD_MEMALIGN,
    RT_GUARD_MMAP,
    RT_GUARD_MUNMAP,
    /* locks and waits */
    RT_GUARD_MUTEX_LOCK,     /* pthread_mutex_lock */
    RT_GUARD_MUTEX_TRYLOCK,
    RT_GUARD_MUTEX_TIMEDLOCK,
    RT_GUARD_SPIN_LOCK,      /* pthread_spin_lock */
    RT_GUARD_RWLOCK_RDLOCK,
    RT_GUARD_RWLOCK_WRLOCK,
    RT_GUARD_COND_WAIT,
    RT_GUARD_COND_TIMEDWAIT,
    RT_GUARD_SEM_WAIT,
    RT_GUARD_SEM_TIMEDWAIT,
    RT_GUARD_SCHED_YIELD,
    /* sleeps */
    RT_GUARD_NANOSLEEP,
    RT_GUARD_CLOCK_NANOSLEEP,
    RT_GUARD_USLEEP,
    RT_GUARD_SLEEP,
    /* file descriptors */
    RT_GUARD_READ,
    RT_GUARD_WRITE,
    RT_GUARD_OPEN,
    RT_GUARD_OPEN64,
    RT_GUARD_OPENAT,
    RT_GUARD_OPENAT64,
    RT_GUARD_CLOSE,
    RT_GUARD_POLL,
    RT_GUARD_SELECT,
    /* sockets (liblo sends with sendto/send) */
    RT_GUARD_SEND,
    RT_GUARD_SENDTO,
    RT_GUARD_SENDMSG,
    RT_GUARD_RECV,
    RT_GUARD_RECVFROM,
    RT_GUARD_RECVMSG,
    /* stdio (locks the stream, may write) */
    RT_GUARD_FOPEN,
    RT_GUARD_FOPEN64,
    RT_GUARD_FCLOSE,
    RT_GUARD_FREAD,
    RT_GUARD_FWRITE,
    RT_GUARD_FPUTS,
    RT_GUARD_PUTS,
    RT_GUARD_PRINTF,
    RT_GUARD_FPRINTF,
    RT_GUARD_VFPRINTF,
    RT_GUARD_FFLUSH,
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

/* "malloc x2, pthread_mutex_lock x1; first: malloc from foo (libx.so)"
 * ("none" when clean) into buf; returns buf. RT-safe: no (formats text,
 * resolves names): not for the armed thread. */
const char *rt_guard_report(char *buf, size_t cap);

/* ---- the first violations, recorded as they happen ----------------------- */
/* One hit per distinct call site (symbol and caller), in order of first
 * occurrence, with how often that site violated. */
#define RT_GUARD_MAX_HITS 16
#define RT_GUARD_HIT_FRAMES 12

struct rt_guard_hit {
    enum rt_guard_sym sym;
    const void *caller;     /* return address into the function that called sym */
    unsigned long tag;      /* rt_guard__tag of the thread at the first one (a cycle number) */
    unsigned long count;    /* violations at this call site so far */
    int n_frames;           /* frames[0..n_frames): backtrace from the caller outwards */
    void *frames[RT_GUARD_HIT_FRAMES];
};

/* How many hits are recorded and readable (at most RT_GUARD_MAX_HITS).
 * RT-safe: yes (an atomic load). */
unsigned rt_guard_hits(void);
/* Copy hit i into *out; 0, or -1 when there is no such hit (yet). Any thread.
 * RT-safe: yes (atomic loads and a copy). */
int rt_guard_hit(unsigned i, struct rt_guard_hit *out);

/* Where a code address is: the function (dynamic symbol through dladdr,
 * else the object file's .symtab, which names static functions too), the
 * object (shared library or executable path) and offsets. `ret` non-zero: pc
 * is a return address (looked up as pc - 1, inside the call). Returns 0 when
 * the object was found (function may still be ""), -1 when pc belongs to no
 * loaded object. RT-safe: no (opens and maps files; never on an armed
 * thread). */
struct rt_guard_where {
    char function[160];     /* "" when unknown */
    char object[512];
    uintptr_t object_offset; /* pc relative to the object's load address (for addr2line) */
    uintptr_t function_offset; /* pc - function start, when function is known */
};
int rt_guard_where(const void *pc, int ret, struct rt_guard_where *w);

/* All counters, to put back after a self-check that violates on purpose. */
struct rt_guard_tally {
    unsigned long total;
    unsigned long by_sym[RT_GUARD_NSYM];
    int last;
    unsigned hits;
    unsigned long hit_counts[RT_GUARD_MAX_HITS];
};
void rt_guard_save(struct rt_guard_tally *t);
void rt_guard_restore(const struct rt_guard_tally *t);
void rt_guard_clear(void);

/* Called for every violation (a place for a breakpoint); caller is the
 * return address of the watched function. Runs on the violating thread:
 * counts, records the first hit of a call site (backtrace, warmed up at
 * start-up), and aborts when ICTAL_RT_GUARD_ABORT=1. */
void rt_guard_violation(enum rt_guard_sym s, const void *caller);

/* ---- internals shared with the interposers and the JACK preload ---------- */
/* volatile: a store around a call to malloc must not be dropped (GCC knows
 * malloc reads no program memory). */
extern _Thread_local volatile int rt_guard__armed;
/* Recorded with each hit; the JACK preload sets it to the cycle number. */
extern _Thread_local unsigned long rt_guard__tag;
/* Optional hooks of the JACK preload (NULL in test executables): per-client
 * counting, and a last report before ICTAL_RT_GUARD_ABORT=1 aborts. Both run
 * on the violating thread, disarmed. Set them before any thread arms. */
extern void (*rt_guard__on_violation)(enum rt_guard_sym s);
extern void (*rt_guard__before_abort)(enum rt_guard_sym s);
/* The real function behind s, resolved at start-up (dlsym RTLD_NEXT);
 * aborts if there is none. */
void *rt_guard__real(enum rt_guard_sym s);
/* Defined by the RT_GUARD_INTERPOSE block (weak reference in rt_guard.c). */
extern const int rt_guard__interposers;

#ifdef __cplusplus
}
#endif

/* ---- the interposers (one file per executable, or the preload library) -- */
#if defined(RT_GUARD_INTERPOSE) && !defined(RT_GUARD_SANITIZED) && !defined(RT_GUARD__DEFINED)
#define RT_GUARD__DEFINED 1
#include "rt_guard_interpose.h"
#endif

#endif /* ICTAL_TEST_RT_GUARD_H */
