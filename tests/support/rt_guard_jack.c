/*
 * rt_guard_jack.c — librtguard_jack.so: the RT guard (rt_guard.h) for whole,
 * unmodified JACK client programs, loaded with LD_PRELOAD.
 *
 *   LD_PRELOAD=librtguard_jack.so ICTAL_RT_GUARD_REPORT=/tmp/rt-%p.json ictal-detect ...
 *
 * It interposes jack_set_process_callback: the program's callback is
 * registered behind a trampoline that arms the guard on entry, disarms on
 * return and counts the cycle. jack_set_freewheel_callback, jack_set_freewheel
 * and jack_activate are wrapped to know when the server freewheels (a
 * freewheel callback of our own is installed at activation when the program
 * has none). Environment:
 *
 *   ICTAL_RT_GUARD_REPORT     JSON report path; %p becomes the pid, %% a '%'.
 *                             Unset: a one-line summary on stderr at exit
 *                             (or abort) instead.
 *   ICTAL_RT_GUARD_FREEWHEEL  guard (default): arm in freewheel cycles too;
 *                             skip: do not arm while freewheeling (counted as
 *                             skipped) — for ictal-play, which may wait for its
 *                             disk thread then.
 *   ICTAL_RT_GUARD_ABORT=1    abort at the first violation (after writing
 *                             the report).
 *
 * The report is written (atomically: a temporary file renamed) when the
 * program calls jack_client_close and again by a destructor at exit, only by
 * processes that registered a process callback — so jackd, shells and tools
 * that inherit LD_PRELOAD write nothing. Nothing is written when the process
 * ends through _exit() or a signal it does not handle (SIGKILL, an unhandled
 * SIGTERM): then the last jack_client_close report, if any, is what remains.
 *
 * What runs on the RT thread: the trampoline (relaxed atomic counters, two
 * thread-local stores) and, only when the program violates, the recording of
 * rt_guard_violation. Everything else here runs on the program's own threads.
 * Limits: only callbacks registered through jack_set_process_callback are
 * guarded (jack_set_process_thread clients are counted as unguarded, and so
 * are clients beyond MAX_SLOTS and callbacks replaced on an active client);
 * programs that dlopen libjack and call it through dlsym'd pointers bypass
 * the wrappers.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#define RT_GUARD_INTERPOSE
#include "rt_guard.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jack/jack.h>

#define MAX_SLOTS 32

/* One JACK client of this process. Slots are claimed once and never reused:
 * a closed client's figures stay in the report. */
struct slot {
    _Atomic(jack_client_t *) client;
    atomic_int closed;
    /* The program's callbacks; written before jack_activate, read by the
     * trampolines after it (activation orders them). */
    JackProcessCallback cb;
    void *arg;
    JackFreewheelCallback fw_cb;
    void *fw_arg;
    bool has_process, fw_installed;
    atomic_bool active; /* between jack_activate and jack_deactivate/close */
    /* Freewheel as last notified, and "asked for by the program, not yet
     * notified" (jack_set_freewheel(c, 1) returns before the notification). */
    atomic_int fw_notified, fw_pending;
    atomic_ulong cycles, fw_guarded, fw_skipped, violations;
    char name[128];
};

static struct slot g_slot[MAX_SLOTS];
static atomic_int g_any;                 /* a process callback was registered */
static atomic_ulong g_process_threads;   /* jack_set_process_thread calls (unguarded) */
static atomic_ulong g_over_limit;        /* process callbacks beyond MAX_SLOTS (unguarded) */
static atomic_ulong g_late;              /* process callbacks replaced while active (unguarded) */
static bool g_skip_freewheel;
static char g_report[PATH_MAX];          /* template, "" = summary on stderr */
static char g_warning[256];              /* a bad environment setting, reported */
static pthread_mutex_t g_write_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local struct slot *t_slot; /* the slot whose callback runs on this thread */

/* ---- the real libjack functions ------------------------------------------ */

/* Looked up at start-up when libjack is already loaded (no dlsym, which
 * allocates, on whatever thread calls a wrapper later), else on first use. */
static const char *const g_jack_names[] = {
    "jack_get_client_name", "jack_set_process_callback", "jack_set_freewheel_callback",
    "jack_set_freewheel",   "jack_activate",             "jack_deactivate",
    "jack_set_process_thread", "jack_client_close",
};
#define N_JACK (sizeof g_jack_names / sizeof *g_jack_names)
static _Atomic(void *) g_jack[N_JACK];

static void *real_jack(const char *name)
{
    size_t i = 0;
    while (i < N_JACK && strcmp(g_jack_names[i], name) != 0)
        i++;
    void *p = i < N_JACK ? atomic_load(&g_jack[i]) : NULL;
    if (!p) {
        p = dlsym(RTLD_NEXT, name);
        if (!p) {
            const char *why = dlerror();
            fprintf(stderr, "rt_guard: %s: no definition after the preload (%s)\n", name, why ? why : "?");
        }
        else if (i < N_JACK)
            atomic_store(&g_jack[i], p);
    }
    return p;
}
/* Object pointer -> function pointer, portably. */
#define REAL_JACK(fn, name) \
    do { \
        void *p_ = real_jack(name); \
        memcpy(&(fn), &p_, sizeof p_); \
    } while (0)

static struct slot *find_slot(jack_client_t *c)
{
    for (int i = 0; i < MAX_SLOTS; i++)
        if (atomic_load(&g_slot[i].client) == c && !atomic_load(&g_slot[i].closed))
            return &g_slot[i];
    return NULL;
}

static struct slot *claim_slot(jack_client_t *c)
{
    struct slot *s = find_slot(c);
    for (int i = 0; !s && i < MAX_SLOTS; i++) {
        jack_client_t *none = NULL;
        if (atomic_compare_exchange_strong(&g_slot[i].client, &none, c))
            s = &g_slot[i];
    }
    return s;
}

static void copy_name(struct slot *s, jack_client_t *c)
{
    char *(*get_name)(jack_client_t *);
    REAL_JACK(get_name, "jack_get_client_name");
    const char *n = get_name ? get_name(c) : NULL;
    snprintf(s->name, sizeof s->name, "%s", n ? n : "?");
}

/* ---- trampolines ------------------------------------------------------------ */

static int process_tramp(jack_nframes_t n, void *arg)
{
    struct slot *s = arg;
    int fw = atomic_load(&s->fw_notified) | atomic_load(&s->fw_pending);
    if (fw && g_skip_freewheel) {
        atomic_fetch_add_explicit(&s->fw_skipped, 1, memory_order_relaxed);
        return s->cb(n, s->arg);
    }
    unsigned long k = atomic_fetch_add_explicit(&s->cycles, 1, memory_order_relaxed);
    if (fw)
        atomic_fetch_add_explicit(&s->fw_guarded, 1, memory_order_relaxed);
    int was = rt_guard__armed;
    struct slot *prev = t_slot;
    t_slot = s;
    rt_guard__tag = k;
    rt_guard__armed = 1;
    int rc = s->cb(n, s->arg);
    rt_guard__armed = was;
    t_slot = prev;
    return rc;
}

/* libjack's notification thread. Our flag changes before the program's own
 * callback runs, so whatever the program decides from its callback, the
 * trampoline has seen the change first. */
static void freewheel_tramp(int starting, void *arg)
{
    struct slot *s = arg;
    atomic_store(&s->fw_notified, starting ? 1 : 0);
    atomic_store(&s->fw_pending, 0);
    if (s->fw_cb)
        s->fw_cb(starting, s->fw_arg);
}

static void count_violation(enum rt_guard_sym sym)
{
    (void)sym;
    if (t_slot)
        atomic_fetch_add_explicit(&t_slot->violations, 1, memory_order_relaxed);
}

/* ---- the wrapped libjack API ------------------------------------------------ */

int jack_set_process_callback(jack_client_t *c, JackProcessCallback cb, void *arg)
{
    int (*real)(jack_client_t *, JackProcessCallback, void *);
    REAL_JACK(real, "jack_set_process_callback");
    if (!real)
        return -1;
    if (!cb)
        return real(c, cb, arg);
    struct slot *s = find_slot(c);
    if (s && atomic_load(&s->active)) {
        /* JACK refuses this on an active client; should it accept, that
         * callback would run without the guard: say so. */
        int rc = real(c, cb, arg);
        if (rc == 0)
            atomic_fetch_add(&g_late, 1);
        return rc;
    }
    s = claim_slot(c);
    if (!s) {
        atomic_fetch_add(&g_over_limit, 1);
        fprintf(stderr, "rt_guard: more than %d JACK clients: this one is not guarded\n", MAX_SLOTS);
        return real(c, cb, arg);
    }
    s->cb = cb;
    s->arg = arg;
    s->has_process = true;
    copy_name(s, c);
    atomic_store(&g_any, 1);
    return real(c, process_tramp, s);
}

int jack_set_freewheel_callback(jack_client_t *c, JackFreewheelCallback cb, void *arg)
{
    int (*real)(jack_client_t *, JackFreewheelCallback, void *);
    REAL_JACK(real, "jack_set_freewheel_callback");
    if (!real)
        return -1;
    struct slot *s = claim_slot(c);
    if (!s)
        return real(c, cb, arg);
    s->fw_cb = cb;
    s->fw_arg = arg;
    s->fw_installed = true;
    return real(c, freewheel_tramp, s);
}

int jack_set_freewheel(jack_client_t *c, int onoff)
{
    int (*real)(jack_client_t *, int);
    REAL_JACK(real, "jack_set_freewheel");
    if (!real)
        return -1;
    struct slot *s = find_slot(c);
    if (s && onoff)
        atomic_store(&s->fw_pending, 1);
    int rc = real(c, onoff);
    if (s && onoff && rc != 0)
        atomic_store(&s->fw_pending, 0);
    return rc;
}

int jack_activate(jack_client_t *c)
{
    int (*real)(jack_client_t *);
    REAL_JACK(real, "jack_activate");
    if (!real)
        return -1;
    struct slot *s = find_slot(c);
    if (s && s->has_process && !s->fw_installed) {
        int (*set_fw)(jack_client_t *, JackFreewheelCallback, void *);
        REAL_JACK(set_fw, "jack_set_freewheel_callback");
        if (set_fw && set_fw(c, freewheel_tramp, s) == 0)
            s->fw_installed = true;
        else
            fprintf(stderr, "rt_guard: %s: cannot follow freewheel mode\n", s->name);
    }
    int rc = real(c);
    if (s && rc == 0)
        atomic_store(&s->active, true);
    return rc;
}

int jack_deactivate(jack_client_t *c)
{
    int (*real)(jack_client_t *);
    REAL_JACK(real, "jack_deactivate");
    if (!real)
        return -1;
    int rc = real(c);
    struct slot *s = find_slot(c);
    if (s && rc == 0)
        atomic_store(&s->active, false);
    return rc;
}

int jack_set_process_thread(jack_client_t *c, JackThreadCallback cb, void *arg)
{
    int (*real)(jack_client_t *, JackThreadCallback, void *);
    REAL_JACK(real, "jack_set_process_thread");
    if (!real)
        return -1;
    atomic_fetch_add(&g_process_threads, 1);
    fprintf(stderr, "rt_guard: jack_set_process_thread is not guarded (reported as unguarded)\n");
    return real(c, cb, arg);
}

static void write_report(const char *when);

int jack_client_close(jack_client_t *c)
{
    int (*real)(jack_client_t *);
    REAL_JACK(real, "jack_client_close");
    if (!real)
        return -1;
    struct slot *s = find_slot(c);
    int rc = real(c); /* deactivates: no more callbacks after this */
    if (s) {
        atomic_store(&s->active, false);
        atomic_store(&s->closed, 1);
        write_report("jack_client_close");
    }
    return rc;
}

/* ---- the report ------------------------------------------------------------ */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void where_json(FILE *f, const void *pc)
{
    struct rt_guard_where w;
    if (rt_guard_where(pc, 1, &w) != 0) {
        fprintf(f, "{\"address\":\"0x%lx\",\"function\":\"\",\"object\":\"\"}",
                (unsigned long)(uintptr_t)pc);
        return;
    }
    fprintf(f, "{\"address\":\"0x%lx\",\"function\":", (unsigned long)(uintptr_t)pc);
    jstr(f, w.function);
    fprintf(f, ",\"object\":");
    jstr(f, w.object);
    fprintf(f, ",\"offset\":\"0x%lx\"}", (unsigned long)w.object_offset);
}

/* %p -> pid, %% -> %; anything else is kept. Returns 0, -1 if too long. */
static int expand_path(const char *tmpl, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = tmpl; *p; p++) {
        char num[24];
        const char *add = NULL;
        size_t n = 1;
        if (p[0] == '%' && p[1] == 'p') {
            snprintf(num, sizeof num, "%ld", (long)getpid());
            add = num;
            n = strlen(num);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            add = "%";
            p++;
        } else {
            add = p;
        }
        if (o + n >= cap)
            return -1;
        memcpy(out + o, add, n);
        o += n;
    }
    out[o] = '\0';
    return 0;
}

static void report_json(FILE *f, const char *when)
{
    unsigned long cycles = 0, fw_guarded = 0, fw_skipped = 0;
    for (int i = 0; i < MAX_SLOTS; i++) {
        struct slot *s = &g_slot[i];
        if (!atomic_load(&s->client) || !s->has_process)
            continue;
        cycles += atomic_load(&s->cycles);
        fw_guarded += atomic_load(&s->fw_guarded);
        fw_skipped += atomic_load(&s->fw_skipped);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    fprintf(f, "{\n  \"tool\": \"ictal-rt-guard\",\n  \"version\": 1,\n  \"available\": true,\n");
    fprintf(f, "  \"pid\": %ld,\n  \"program\": ", (long)getpid());
    jstr(f, exe);
    fprintf(f, ",\n  \"written_at\": ");
    jstr(f, when);
    fprintf(f, ",\n  \"freewheel_policy\": \"%s\",\n", g_skip_freewheel ? "skip" : "guard");
    fprintf(f, "  \"cycles\": %lu,\n  \"freewheel_cycles_guarded\": %lu,\n"
               "  \"freewheel_cycles_skipped\": %lu,\n  \"violations\": %lu,\n",
            cycles, fw_guarded, fw_skipped, rt_guard_violations());
    fprintf(f, "  \"by_symbol\": {");
    int first = 1;
    for (int s = 0; s < RT_GUARD_NSYM; s++) {
        unsigned long k = rt_guard_count((enum rt_guard_sym)s);
        if (!k)
            continue;
        fprintf(f, "%s\"%s\": %lu", first ? "" : ", ", rt_guard_symbol_name((enum rt_guard_sym)s), k);
        first = 0;
    }
    fprintf(f, "},\n  \"unguarded\": {\"process_threads\": %lu, \"clients_over_limit\": %lu, "
               "\"callbacks_replaced_while_active\": %lu},\n",
            atomic_load(&g_process_threads), atomic_load(&g_over_limit), atomic_load(&g_late));
    fprintf(f, "  \"clients\": [");
    first = 1;
    for (int i = 0; i < MAX_SLOTS; i++) {
        struct slot *s = &g_slot[i];
        if (!atomic_load(&s->client) || !s->has_process)
            continue;
        fprintf(f, "%s\n    {\"name\": ", first ? "" : ",");
        jstr(f, s->name);
        fprintf(f, ", \"cycles\": %lu, \"freewheel_cycles_guarded\": %lu, "
                   "\"freewheel_cycles_skipped\": %lu, \"violations\": %lu, \"closed\": %s}",
                atomic_load(&s->cycles), atomic_load(&s->fw_guarded), atomic_load(&s->fw_skipped),
                atomic_load(&s->violations), atomic_load(&s->closed) ? "true" : "false");
        first = 0;
    }
    fprintf(f, "%s],\n  \"first_violations\": [", first ? "" : "\n  ");
    unsigned nh = rt_guard_hits();
    first = 1;
    for (unsigned i = 0; i < nh; i++) {
        struct rt_guard_hit h;
        if (rt_guard_hit(i, &h) != 0)
            continue;
        struct rt_guard_where w;
        int ok = rt_guard_where(h.caller, 1, &w) == 0;
        fprintf(f, "%s\n    {\"symbol\": \"%s\", \"count\": %lu, \"cycle\": %lu, \"function\": ",
                first ? "" : ",", rt_guard_symbol_name(h.sym), h.count, h.tag);
        jstr(f, ok ? w.function : "");
        fprintf(f, ", \"object\": ");
        jstr(f, ok ? w.object : "");
        fprintf(f, ", \"offset\": \"0x%lx\", \"caller\": \"0x%lx\",\n     \"backtrace\": [",
                ok ? (unsigned long)w.object_offset : 0ul, (unsigned long)(uintptr_t)h.caller);
        for (int k = 0; k < h.n_frames; k++) {
            fprintf(f, "%s\n       ", k ? "," : "");
            where_json(f, h.frames[k]);
        }
        fprintf(f, "]}");
        first = 0;
    }
    fprintf(f, "%s],\n  \"warnings\": [", first ? "" : "\n  ");
    if (g_warning[0])
        jstr(f, g_warning);
    fprintf(f, "]\n}\n");
}

/* Off the RT path (or on it, disarmed, just before an abort). */
static void write_report(const char *when)
{
    if (!atomic_load(&g_any))
        return;
    int was = rt_guard__armed;
    rt_guard__armed = 0;
    pthread_mutex_lock(&g_write_lock);
    if (!g_report[0]) {
        /* One line per process: at exit (or abort), not at every close too. */
        if (strcmp(when, "jack_client_close") == 0)
            goto done;
        unsigned long cycles = 0;
        for (int i = 0; i < MAX_SLOTS; i++)
            cycles += atomic_load(&g_slot[i].cycles);
        char rep[512];
        fprintf(stderr, "rt_guard: pid %ld, %s: %lu cycles guarded, violations: %s\n",
                (long)getpid(), when, cycles, rt_guard_report(rep, sizeof rep));
    } else {
        char path[PATH_MAX], tmp[PATH_MAX + 32];
        if (expand_path(g_report, path, sizeof path) != 0) {
            fprintf(stderr, "rt_guard: ICTAL_RT_GUARD_REPORT is too long\n");
        } else {
            snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
            FILE *f = fopen(tmp, "w");
            if (!f) {
                fprintf(stderr, "rt_guard: cannot write the report %s: %s\n", tmp, strerror(errno));
            } else {
                report_json(f, when);
                if (fclose(f) != 0 || rename(tmp, path) != 0) {
                    fprintf(stderr, "rt_guard: cannot write the report %s: %s\n", path, strerror(errno));
                    unlink(tmp);
                }
            }
        }
    }
done:
    pthread_mutex_unlock(&g_write_lock);
    rt_guard__armed = was;
}

static void before_abort(enum rt_guard_sym s)
{
    (void)s;
    write_report("abort");
}

/* A forked child is not the JACK client: it must not report as one. */
static void forked_child(void)
{
    atomic_store(&g_any, 0);
}

__attribute__((constructor)) static void rt_guard_jack_init(void)
{
    const char *r = getenv("ICTAL_RT_GUARD_REPORT");
    if (r && *r) {
        if (strlen(r) >= sizeof g_report)
            fprintf(stderr, "rt_guard: ICTAL_RT_GUARD_REPORT is too long; summary on stderr instead\n");
        else
            snprintf(g_report, sizeof g_report, "%s", r);
    }
    const char *fw = getenv("ICTAL_RT_GUARD_FREEWHEEL");
    if (fw && strcmp(fw, "skip") == 0) {
        g_skip_freewheel = true;
    } else if (fw && *fw && strcmp(fw, "guard") != 0) {
        snprintf(g_warning, sizeof g_warning,
                 "ICTAL_RT_GUARD_FREEWHEEL=%.64s is neither 'guard' nor 'skip': freewheel cycles guarded",
                 fw);
        fprintf(stderr, "rt_guard: %s\n", g_warning);
    }
    for (size_t i = 0; i < N_JACK; i++) /* NULL when libjack is not loaded (yet) */
        atomic_store(&g_jack[i], dlsym(RTLD_NEXT, g_jack_names[i]));
    rt_guard__on_violation = count_violation;
    rt_guard__before_abort = before_abort;
    pthread_atfork(NULL, NULL, forked_child);
}

__attribute__((destructor)) static void rt_guard_jack_fini(void)
{
    write_report("exit");
}
