/*
 * rt_guard.c — arming, counting, recording and reporting for the RT guard
 * (see rt_guard.h). The interposers themselves are compiled into the file
 * that defines RT_GUARD_INTERPOSE (a test, or the LD_PRELOAD library); this
 * object resolves the real functions behind them, keeps the counters and
 * records the first violations.
 *
 * On the armed thread only rt_guard_violation runs, and only when the code
 * under test has already broken the rules: it counts with relaxed atomics,
 * claims a hit slot with one fetch_add and fills it (backtrace() was warmed
 * up at start-up, so it neither loads libgcc_s nor allocates then). Names are
 * resolved later, by rt_guard_where, off the RT path.
 */
#define _GNU_SOURCE /* RTLD_NEXT, dladdr, dl_iterate_phdr */
#include "rt_guard.h"

#include <dlfcn.h>
#include <elf.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

_Thread_local volatile int rt_guard__armed;
_Thread_local unsigned long rt_guard__tag;
void (*rt_guard__on_violation)(enum rt_guard_sym s);
void (*rt_guard__before_abort)(enum rt_guard_sym s);

/* Weak: NULL unless some file of the executable defined RT_GUARD_INTERPOSE. */
extern const int rt_guard__interposers __attribute__((weak));

static const char *const g_names[RT_GUARD_NSYM] = {
    [RT_GUARD_MALLOC] = "malloc",
    [RT_GUARD_CALLOC] = "calloc",
    [RT_GUARD_REALLOC] = "realloc",
    [RT_GUARD_REALLOCARRAY] = "reallocarray",
    [RT_GUARD_FREE] = "free",
    [RT_GUARD_ALIGNED_ALLOC] = "aligned_alloc",
    [RT_GUARD_POSIX_MEMALIGN] = "posix_memalign",
    [RT_GUARD_MEMALIGN] = "memalign",
    [RT_GUARD_MMAP] = "mmap",
    [RT_GUARD_MUNMAP] = "munmap",
    [RT_GUARD_MUTEX_LOCK] = "pthread_mutex_lock",
    [RT_GUARD_MUTEX_TRYLOCK] = "pthread_mutex_trylock",
    [RT_GUARD_MUTEX_TIMEDLOCK] = "pthread_mutex_timedlock",
    [RT_GUARD_SPIN_LOCK] = "pthread_spin_lock",
    [RT_GUARD_RWLOCK_RDLOCK] = "pthread_rwlock_rdlock",
    [RT_GUARD_RWLOCK_WRLOCK] = "pthread_rwlock_wrlock",
    [RT_GUARD_COND_WAIT] = "pthread_cond_wait",
    [RT_GUARD_COND_TIMEDWAIT] = "pthread_cond_timedwait",
    [RT_GUARD_SEM_WAIT] = "sem_wait",
    [RT_GUARD_SEM_TIMEDWAIT] = "sem_timedwait",
    [RT_GUARD_SCHED_YIELD] = "sched_yield",
    [RT_GUARD_NANOSLEEP] = "nanosleep",
    [RT_GUARD_CLOCK_NANOSLEEP] = "clock_nanosleep",
    [RT_GUARD_USLEEP] = "usleep",
    [RT_GUARD_SLEEP] = "sleep",
    [RT_GUARD_READ] = "read",
    [RT_GUARD_WRITE] = "write",
    [RT_GUARD_OPEN] = "open",
    [RT_GUARD_OPEN64] = "open64",
    [RT_GUARD_OPENAT] = "openat",
    [RT_GUARD_OPENAT64] = "openat64",
    [RT_GUARD_CLOSE] = "close",
    [RT_GUARD_POLL] = "poll",
    [RT_GUARD_SELECT] = "select",
    [RT_GUARD_SEND] = "send",
    [RT_GUARD_SENDTO] = "sendto",
    [RT_GUARD_SENDMSG] = "sendmsg",
    [RT_GUARD_RECV] = "recv",
    [RT_GUARD_RECVFROM] = "recvfrom",
    [RT_GUARD_RECVMSG] = "recvmsg",
    [RT_GUARD_FOPEN] = "fopen",
    [RT_GUARD_FOPEN64] = "fopen64",
    [RT_GUARD_FCLOSE] = "fclose",
    [RT_GUARD_FREAD] = "fread",
    [RT_GUARD_FWRITE] = "fwrite",
    [RT_GUARD_FPUTS] = "fputs",
    [RT_GUARD_PUTS] = "puts",
    [RT_GUARD_PRINTF] = "printf",
    [RT_GUARD_FPRINTF] = "fprintf",
    [RT_GUARD_VFPRINTF] = "vfprintf",
    [RT_GUARD_FFLUSH] = "fflush",
    [RT_GUARD_CBLAS_SGEMM] = "cblas_sgemm",
};

/* The allocator interposers call __libc_* directly: no real function to
 * look up for these. */
static int uses_libc_alias(int s)
{
    return s <= RT_GUARD_MEMALIGN;
}

static atomic_ulong g_total;
static atomic_ulong g_by[RT_GUARD_NSYM];
static atomic_int g_last = -1;
static int g_abort; /* ICTAL_RT_GUARD_ABORT=1: abort at the first violation */
/* Real functions. Written at start-up, or lazily by whichever thread gets
 * there first (the same value). */
static _Atomic(void *) g_real[RT_GUARD_NSYM];

/* Hits: slots are claimed by fetch_add on g_claimed and published by
 * g_ready[i] (release) once filled. */
static struct rt_guard_hit g_hit[RT_GUARD_MAX_HITS];
static atomic_uint g_claimed;
static atomic_int g_ready[RT_GUARD_MAX_HITS];
static atomic_ulong g_hit_n[RT_GUARD_MAX_HITS]; /* violations at that call site */
static int g_backtrace_ok;

static void *resolve(enum rt_guard_sym s)
{
    /* dlsym may allocate: never count that against the caller. */
    int was = rt_guard__armed;
    rt_guard__armed = 0;
    void *p = dlsym(RTLD_NEXT, g_names[s]);
    rt_guard__armed = was;
    if (p)
        atomic_store_explicit(&g_real[s], p, memory_order_relaxed);
    return p;
}

/* Before main, so that no lookup (dlsym allocates) happens on an armed
 * thread. Shared-library constructors may call pthread_mutex_lock before
 * this runs: rt_guard__real resolves lazily for them. */
__attribute__((constructor)) static void rt_guard_init(void)
{
    for (int s = 0; s < RT_GUARD_NSYM; s++)
        if (!uses_libc_alias(s))
            (void)resolve((enum rt_guard_sym)s);
    const char *a = getenv("ICTAL_RT_GUARD_ABORT");
    g_abort = a && a[0] == '1';
    /* The first backtrace() loads libgcc_s (dlopen, malloc): do it now. */
    void *warm[2];
    g_backtrace_ok = backtrace(warm, 2) > 0;
}

/* Plain syscalls: write() and fwrite() are interposed themselves. */
static void say(const char *msg)
{
    (void)!syscall(SYS_write, 2, msg, strlen(msg));
}

void *rt_guard__real(enum rt_guard_sym s)
{
    void *p = atomic_load_explicit(&g_real[s], memory_order_relaxed);
    if (!p && !(p = resolve(s))) {
        say("rt_guard: a watched function has no real definition: ");
        say(g_names[s]);
        say("\n");
        abort();
    }
    return p;
}

static void record_hit(enum rt_guard_sym s, const void *caller)
{
    /* A call site already recorded: count it there, keep the slots for
     * other sites (a violation repeated every cycle would fill them all). */
    unsigned seen = rt_guard_hits();
    for (unsigned k = 0; k < seen; k++) {
        if (atomic_load_explicit(&g_ready[k], memory_order_acquire) && g_hit[k].sym == s &&
            g_hit[k].caller == caller) {
            atomic_fetch_add_explicit(&g_hit_n[k], 1, memory_order_relaxed);
            return;
        }
    }
    unsigned i = atomic_fetch_add_explicit(&g_claimed, 1, memory_order_relaxed);
    if (i >= RT_GUARD_MAX_HITS)
        return;
    struct rt_guard_hit *h = &g_hit[i];
    h->sym = s;
    h->caller = caller;
    h->tag = rt_guard__tag;
    h->n_frames = 0;
    if (g_backtrace_ok) {
        /* Frames: record_hit, rt_guard_violation, the interposer, then the
         * caller. Keep from the caller outwards. */
        void *f[RT_GUARD_HIT_FRAMES + 4];
        int n = backtrace(f, RT_GUARD_HIT_FRAMES + 4);
        int from = -1;
        for (int k = 0; k < n && from < 0; k++)
            if (f[k] == caller)
                from = k;
        if (from < 0)
            from = n > 3 ? 3 : n;
        for (int k = from; k < n && h->n_frames < RT_GUARD_HIT_FRAMES; k++)
            h->frames[h->n_frames++] = f[k];
    }
    atomic_store_explicit(&g_hit_n[i], 1, memory_order_relaxed);
    atomic_store_explicit(&g_ready[i], 1, memory_order_release);
}

__attribute__((noinline)) void rt_guard_violation(enum rt_guard_sym s, const void *caller)
{
    atomic_fetch_add_explicit(&g_total, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_by[s], 1, memory_order_relaxed);
    atomic_store_explicit(&g_last, (int)s, memory_order_relaxed);
    /* What follows calls other functions (backtrace, the hooks): disarmed,
     * so they are neither counted nor recursive. */
    int was = rt_guard__armed;
    rt_guard__armed = 0;
    record_hit(s, caller);
    if (rt_guard__on_violation)
        rt_guard__on_violation(s);
    if (g_abort) {
        if (rt_guard__before_abort)
            rt_guard__before_abort(s);
        say("rt_guard: ");
        say(g_names[s]);
        say(" called on an armed real-time thread; aborting (ICTAL_RT_GUARD_ABORT=1)\n");
        abort();
    }
    rt_guard__armed = was;
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

unsigned rt_guard_hits(void)
{
    unsigned n = atomic_load(&g_claimed);
    if (n > RT_GUARD_MAX_HITS)
        n = RT_GUARD_MAX_HITS;
    return n;
}

int rt_guard_hit(unsigned i, struct rt_guard_hit *out)
{
    if (i >= rt_guard_hits() || !atomic_load_explicit(&g_ready[i], memory_order_acquire))
        return -1;
    *out = g_hit[i];
    out->count = atomic_load_explicit(&g_hit_n[i], memory_order_relaxed);
    return 0;
}

/* ---- names for code addresses (never on the armed thread) ---------------- */

struct find_obj {
    uintptr_t pc;
    int found;
    uintptr_t bias;
    char name[512];
};

static int find_obj_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct find_obj *f = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (f->pc >= lo && f->pc - lo < ph->p_memsz) {
            f->found = 1;
            f->bias = info->dlpi_addr;
            snprintf(f->name, sizeof f->name, "%s", info->dlpi_name ? info->dlpi_name : "");
            return 1;
        }
    }
    return 0;
}

/* The function containing vaddr in the ELF file at path, from .symtab (or
 * .dynsym): every size and offset is checked against the file, which need
 * not be the file that was loaded (it may have been rebuilt meanwhile).
 * Returns 0 and fills name/start when found. */
static int elf_lookup(const char *path, uintptr_t vaddr, char *name, size_t cap, uintptr_t *start)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(ElfW(Ehdr))) {
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    const unsigned char *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return -1;
    int rc = -1;
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)(const void *)map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_shentsize != sizeof(ElfW(Shdr)) ||
        eh->e_shoff == 0 || eh->e_shoff > size || eh->e_shnum > (size - eh->e_shoff) / sizeof(ElfW(Shdr)))
        goto out;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(const void *)(map + eh->e_shoff);
    for (int pass = 0; pass < 2 && rc != 0; pass++) {
        unsigned want = pass == 0 ? SHT_SYMTAB : SHT_DYNSYM;
        for (unsigned i = 0; i < eh->e_shnum && rc != 0; i++) {
            if (sh[i].sh_type != want || sh[i].sh_entsize != sizeof(ElfW(Sym)) ||
                sh[i].sh_link >= eh->e_shnum)
                continue;
            const ElfW(Shdr) *ss = &sh[i], *str = &sh[sh[i].sh_link];
            if (ss->sh_offset > size || ss->sh_size > size - ss->sh_offset || str->sh_offset > size ||
                str->sh_size > size - str->sh_offset)
                continue;
            const ElfW(Sym) *sym = (const ElfW(Sym) *)(const void *)(map + ss->sh_offset);
            const char *strs = (const char *)(map + str->sh_offset);
            size_t nsym = ss->sh_size / sizeof(ElfW(Sym));
            for (size_t k = 0; k < nsym; k++) {
                unsigned type = ELF64_ST_TYPE(sym[k].st_info);
                if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym[k].st_shndx == SHN_UNDEF ||
                    vaddr < sym[k].st_value || vaddr - sym[k].st_value >= sym[k].st_size ||
                    sym[k].st_name >= str->sh_size)
                    continue;
                const char *nm = strs + sym[k].st_name;
                size_t len = strnlen(nm, str->sh_size - sym[k].st_name);
                if (len == str->sh_size - sym[k].st_name)
                    continue; /* not terminated inside the table */
                snprintf(name, cap, "%.*s", (int)len, nm);
                *start = (uintptr_t)sym[k].st_value;
                rc = 0;
                break;
            }
        }
    }
out:
    munmap((void *)(uintptr_t)map, size);
    return rc;
}

int rt_guard_where(const void *pc, int ret, struct rt_guard_where *w)
{
    memset(w, 0, sizeof *w);
    uintptr_t a = (uintptr_t)pc - (ret && pc ? 1 : 0);
    struct find_obj f = {.pc = a};
    dl_iterate_phdr(find_obj_cb, &f);
    if (!f.found)
        return -1;
    /* The main program has no name in the link map. */
    const char *file = f.name[0] ? f.name : "/proc/self/exe";
    if (f.name[0]) {
        snprintf(w->object, sizeof w->object, "%s", f.name);
    } else {
        ssize_t n = readlink("/proc/self/exe", w->object, sizeof w->object - 1);
        w->object[n > 0 ? n : 0] = '\0';
    }
    w->object_offset = a - f.bias;
    Dl_info di;
    if (dladdr((void *)a, &di) && di.dli_sname && di.dli_saddr) {
        snprintf(w->function, sizeof w->function, "%s", di.dli_sname);
        w->function_offset = a - (uintptr_t)di.dli_saddr;
        return 0;
    }
    uintptr_t start;
    if (elf_lookup(file, a - f.bias, w->function, sizeof w->function, &start) == 0)
        w->function_offset = a - f.bias - start;
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
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
    struct rt_guard_hit h;
    if (len && len < cap && rt_guard_hit(0, &h) == 0) {
        struct rt_guard_where w;
        if (rt_guard_where(h.caller, 1, &w) == 0)
            snprintf(buf + len, cap - len, "; first: %s from %s (%s+0x%lx)", g_names[h.sym],
                     w.function[0] ? w.function : "?", base_name(w.object),
                     (unsigned long)w.object_offset);
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
    t->hits = atomic_load(&g_claimed);
    for (unsigned i = 0; i < RT_GUARD_MAX_HITS; i++)
        t->hit_counts[i] = atomic_load(&g_hit_n[i]);
}

void rt_guard_restore(const struct rt_guard_tally *t)
{
    atomic_store(&g_total, t->total);
    for (int s = 0; s < RT_GUARD_NSYM; s++)
        atomic_store(&g_by[s], t->by_sym[s]);
    atomic_store(&g_last, t->last);
    for (unsigned i = 0; i < RT_GUARD_MAX_HITS; i++) {
        if (i >= t->hits)
            atomic_store(&g_ready[i], 0);
        atomic_store(&g_hit_n[i], t->hit_counts[i]);
    }
    atomic_store(&g_claimed, t->hits);
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
