/*
 * rt_guard.c — arming, counting and reporting for the RT guard (see
 * rt_guard.h). The interposers themselves are compiled into the test file
 * that defines RT_GUARD_INTERPOSE; this object only resolves the real
 * functions behind them and keeps the counters.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "rt_guard.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Thread_local volatile int rt_guard__armed;

/* Weak: NULL unless some file of the executable defined RT_GUARD_INTERPOSE. */
extern const int rt_guard__interposers __attribute__((weak));

static const char *const g_names[RT_GUARD_NSYM] = {
    [RT_GUARD_MALLOC] = "malloc",
    [RT_GUARD_CALLOC] = "calloc",
    [RT_GUARD_REALLOC] = "realloc",
    [RT_GUARD_FREE] = "free",
    [RT_GUARD_ALIGNED_ALLOC] = "aligned_alloc",
    [RT_GUARD_POSIX_MEMALIGN] = "posix_memalign",
    [RT_GUARD_MEMALIGN] = "memalign",
    [RT_GUARD_MUTEX_LOCK] = "pthread_mutex_lock",
    [RT_GUARD_MUTEX_TRYLOCK] = "pthread_mutex_trylock",
    [RT_GUARD_MUTEX_TIMEDLOCK] = "pthread_mutex_timedlock",
    [RT_GUARD_SPIN_LOCK] = "pthread_spin_lock",
    [RT_GUARD_SEM_WAIT] = "sem_wait",
    [RT_GUARD_SCHED_YIELD] = "sched_yield",
    [RT_GUARD_NANOSLEEP] = "nanosleep",
    [RT_GUARD_CLOCK_NANOSLEEP] = "clock_nanosleep",
    [RT_GUARD_USLEEP] = "usleep",
    [RT_GUARD_SLEEP] = "sleep",
    [RT_GUARD_READ] = "read",
    [RT_GUARD_WRITE] = "write",
    [RT_GUARD_OPEN] = "open",
    [RT_GUARD_OPENAT] = "openat",
    [RT_GUARD_CLOSE] = "close",
    [RT_GUARD_POLL] = "poll",
    [RT_GUARD_SELECT] = "select",
    [RT_GUARD_CBLAS_SGEMM] = "cblas_sgemm",
};

static atomic_ulong g_total;
static atomic_ulong g_by[RT_GUARD_NSYM];
static atomic_int g_last = -1;
static int g_abort; /* ICTAL_RT_GUARD_ABORT=1: abort at the first violation */
/* Real functions; the allocator ones stay NULL (the interposers call
 * __libc_*). Written at start-up, or lazily by whichever thread gets there
 * first (the same value). */
static _Atomic(void *) g_real[RT_GUARD_NSYM];

static void *resolve(enum rt_guard_sym s)
{
    void *p = dlsym(RTLD_NEXT, g_names[s]);
    if (p)
        atomic_store_explicit(&g_real[s], p, memory_order_relaxed);
    return p;
}

/* Before main, so that no lookup (dlsym allocates) happens on an armed
 * thread. Shared-library constructors may call pthread_mutex_lock before
 * this runs: rt_guard__real resolves lazily for them. */
__attribute__((constructor)) static void rt_guard_init(void)
{
    for (int s = RT_GUARD_MUTEX_LOCK; s < RT_GUARD_NSYM; s++)
        (void)resolve((enum rt_guard_sym)s);
    const char *a = getenv("ICTAL_RT_GUARD_ABORT");
    g_abort = a && a[0] == '1';
}

void *rt_guard__real(enum rt_guard_sym s)
{
    void *p = atomic_load_explicit(&g_real[s], memory_order_relaxed);
    if (!p && !(p = resolve(s))) {
        static const char msg[] = "rt_guard: a watched function has no real definition\n";
        fwrite(msg, 1, sizeof msg - 1, stderr);
        abort();
    }
    return p;
}

__attribute__((noinline)) void rt_guard_violation(enum rt_guard_sym s)
{
    atomic_fetch_add_explicit(&g_total, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_by[s], 1, memory_order_relaxed);
    atomic_store_explicit(&g_last, (int)s, memory_order_relaxed);
    if (g_abort)
        abort();
}

void rt_guard_arm(void) { rt_guard__armed = 1; }
void rt_guard_disarm(void) { rt_guard__armed = 0; }
int rt_guard_armed(void) { return rt_guard__armed; }

unsigned long rt_guard_violations(void) { return atomic_load(&g_total); }

unsigned long rt_guard_count(enum rt_guard_sym s)
{
    return (unsigned)s < RT_GUARD_NSYM ? atomic_load(&g_by[s]) : 0;
}

const char *rt_guard_symbol_name(enum rt_guard_sym s)
{
    return (unsigned)s < RT_GUARD_NSYM ? g_names[s] : "?";
}

const char *rt_guard_last(void)
{
    int s = atomic_load(&g_last);
    return s >= 0 ? g_names[s] : NULL;
}

const char *rt_guard_report(char *buf, size_t cap)
{
    if (!cap)
        return buf;
    buf[0] = '\0';
    size_t len = 0;
    for (int s = 0; s < RT_GUARD_NSYM; s++) {
        unsigned long n = atomic_load(&g_by[s]);
        if (!n || len >= cap)
            continue;
        int w = snprintf(buf + len, cap - len, "%s%s x%lu", len ? ", " : "", g_names[s], n);
        len += w > 0 ? (size_t)w : 0;
    }
    if (!buf[0])
        snprintf(buf, cap, "none");
    return buf;
}

void rt_guard_save(struct rt_guard_tally *t)
{
    t->total = atomic_load(&g_total);
    for (int s = 0; s < RT_GUARD_NSYM; s++)
        t->by_sym[s] = atomic_load(&g_by[s]);
    t->last = atomic_load(&g_last);
}

void rt_guard_restore(const struct rt_guard_tally *t)
{
    atomic_store(&g_total, t->total);
    for (int s = 0; s < RT_GUARD_NSYM; s++)
        atomic_store(&g_by[s], t->by_sym[s]);
    atomic_store(&g_last, t->last);
}

void rt_guard_clear(void)
{
    struct rt_guard_tally z;
    memset(&z, 0, sizeof z);
    z.last = -1;
    rt_guard_restore(&z);
}

const char *rt_guard_unavailable(void)
{
#ifdef RT_GUARD_SANITIZED
    return "sanitizer build: its runtime owns the allocator, the RT guard cannot interpose it";
#else
    static int checked, works;
    if (&rt_guard__interposers == NULL)
        return "no file of this test defines RT_GUARD_INTERPOSE before including rt_guard.h";
    if (!checked) {
        /* The guard must see what it is meant to see: one armed malloc. */
        struct rt_guard_tally t;
        rt_guard_save(&t);
        int was = rt_guard__armed;
        rt_guard_arm();
        void *volatile p = malloc(16);
        rt_guard__armed = was;
        free(p);
        works = atomic_load(&g_by[RT_GUARD_MALLOC]) == t.by_sym[RT_GUARD_MALLOC] + 1;
        rt_guard_restore(&t);
        checked = 1;
    }
    return works ? NULL : "an armed malloc was not seen (interposition failed)";
#endif
}
