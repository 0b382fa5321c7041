/*
 * ictal-rtcheck — is this machine set up for real-time EEG with ictal?
 *
 *   ictal-rtcheck [--json] [--verbose] [--server NAME] [--root DIR]
 *   ictal-rtcheck --print-config [--config F] [--profile P] [--set k=v]
 *
 * Checks, each with a status (OK, WARN, FAIL), the value found and concrete
 * advice: kernel preemption model, real-time priority and locked-memory
 * limits of the caller, audio group, RT throttling, CPU frequency governor,
 * threaded IRQs, swap, whether jackd runs (and with SCHED_FIFO threads),
 * running ictal-detect clients (RT thread, locked memory), CPU isolation,
 * clock source, transparent huge pages. docs/realtime.md explains each.
 *
 * --root DIR reads /proc, /sys, /etc/group, /etc/passwd and /boot from DIR
 * instead of / (tests build fake trees): then the limits, capabilities and
 * groups are those in DIR/proc/self/{limits,status}, not the caller's.
 * --server NAME looks for that JACK server only; default [jack] server, else
 * $JACK_DEFAULT_SERVER, else any jackd.
 *
 * Reads files only; changes nothing. Anything missing or malformed in /proc
 * or /sys becomes a value saying so, never a crash.
 *
 * Exit status: 0 no FAIL, 1 at least one FAIL, 2 usage or configuration error.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ictal/config.h"
#include "prog_log.h"

#define PROG "ictal-rtcheck"

/* What the advice recommends (rt-config/: jackd -P 70, limits 95/unlimited). */
#define WANT_RTPRIO 70
#define WANT_MEMLOCK_MIB 512
#define WANT_SWAPPINESS 10

enum status { ST_OK = 0, ST_WARN = 1, ST_FAIL = 2 };
static const char *const status_names[] = {"OK", "WARN", "FAIL"};

struct check {
    const char *id, *title;
    enum status st;
    char value[512];
    char advice[1024];
};

#define MAX_CHECKS 16
#define MAX_GROUPS 256

struct ctx {
    char root[PATH_MAX]; /* "" for the real / */
    bool fake;
    const char *server;  /* NULL: any jackd */
    char cmdline[4096];  /* kernel parameters (before " -- ") */
    bool rt_kernel;
    /* of the caller (or DIR/proc/self/status) */
    bool have_status;
    unsigned long long cap_eff;
    long uid, gid;
    long groups[MAX_GROUPS];
    int n_groups;
    struct check checks[MAX_CHECKS];
    int n_checks;
};

/* ---- small helpers ------------------------------------------------------------ */

static void set(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

static struct check *add(struct ctx *c, const char *id, const char *title)
{
    struct check *k = &c->checks[c->n_checks++];
    memset(k, 0, sizeof *k);
    k->id = id;
    k->title = title;
    return k;
}

/* Printable ASCII only (values come from files anyone can fake); trailing
 * blanks and newlines dropped. */
static void clean(char *s)
{
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = (*p == '\n' || *p == '\t') ? ' ' : '?';
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
}

static void path_of(const struct ctx *c, const char *rel, char *out, size_t cap)
{
    set(out, cap, "%s%s", c->root, rel);
}

/* Read a (small) file below the root: bytes read (NUL-terminated, NULs kept
 * in the count), or -1. */
static long read_raw(const struct ctx *c, const char *rel, char *buf, size_t cap)
{
    char p[PATH_MAX + 256];
    path_of(c, rel, p, sizeof p);
    FILE *f = fopen(p, "r");
    if (!f) {
        buf[0] = '\0';
        return -1;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

/* A text file, cleaned: 0, or -1 when it cannot be read. */
static int read_text(const struct ctx *c, const char *rel, char *buf, size_t cap)
{
    if (read_raw(c, rel, buf, cap) < 0)
        return -1;
    clean(buf);
    return 0;
}

static bool is_dir(const struct ctx *c, const char *rel)
{
    char p[PATH_MAX + 256];
    struct stat st;
    path_of(c, rel, p, sizeof p);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* Kernel command line: is `word` a parameter (alone or word=...)? Copies the
 * value after '=' into val when given. */
static bool param(const struct ctx *c, const char *word, char *val, size_t cap)
{
    size_t wl = strlen(word);
    const char *p = c->cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if ((size_t)(e - p) >= wl && strncmp(p, word, wl) == 0 && (p + wl == e || p[wl] == '=')) {
            if (val) {
                const char *v = p[wl] == '=' ? p + wl + 1 : e;
                snprintf(val, cap, "%.*s", (int)(e - v), v);
            }
            return true;
        }
        p = e;
    }
    return false;
}

static void fmt_bytes(unsigned long long b, char *out, size_t cap)
{
    if (b >= 1ull << 30)
        snprintf(out, cap, "%.1f GiB", (double)b / (double)(1ull << 30));
    else if (b >= 1ull << 20)
        snprintf(out, cap, "%.0f MiB", (double)b / (double)(1ull << 20));
    else
        snprintf(out, cap, "%llu KiB", b >> 10);
}

/* ---- the caller: status (uid, groups, capabilities) ------------------------ */

static void load_status(struct ctx *c)
{
    char buf[8192];
    if (read_raw(c, "/proc/self/status", buf, sizeof buf) < 0)
        return;
    c->uid = c->gid = -1;
    char *sv;
    for (char *line = strtok_r(buf, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv)) {
        if (strncmp(line, "CapEff:", 7) == 0) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(line + 7, &end, 16);
            if (!errno && end != line + 7) {
                c->cap_eff = v;
                c->have_status = true;
            }
        } else if (strncmp(line, "Uid:", 4) == 0) {
            c->uid = strtol(line + 4, NULL, 10);
        } else if (strncmp(line, "Gid:", 4) == 0) {
            c->gid = strtol(line + 4, NULL, 10);
        } else if (strncmp(line, "Groups:", 7) == 0) {
            char *p = line + 7, *end;
            while (c->n_groups < MAX_GROUPS) {
                long g = strtol(p, &end, 10);
                if (end == p)
                    break;
                c->groups[c->n_groups++] = g;
                p = end;
            }
        }
    }
}

#define CAP_IPC_LOCK_BIT 14
#define CAP_SYS_NICE_BIT 23

static bool has_cap(const struct ctx *c, int bit)
{
    return c->have_status && (c->cap_eff >> bit & 1u);
}

/* User name of the uid (from DIR/etc/passwd); "USER" when unknown. */
static void user_name(const struct ctx *c, char *out, size_t cap)
{
    snprintf(out, cap, "USER");
    char buf[65536];
    if (c->uid < 0 || read_raw(c, "/etc/passwd", buf, sizeof buf) < 0)
        return;
    char *sv;
    for (char *line = strtok_r(buf, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv)) {
        char *f1 = strchr(line, ':'), *f2 = f1 ? strchr(f1 + 1, ':') : NULL;
        if (!f2)
            continue;
        char *end;
        long uid = strtol(f2 + 1, &end, 10);
        if (end != f2 + 1 && *end == ':' && uid == c->uid) {
            *f1 = '\0';
            snprintf(out, cap, "%s", line);
            clean(out);
            return;
        }
    }
}

/* ---- kernel ------------------------------------------------------------------ */

static void check_kernel(struct ctx *c, char *banner, size_t bcap)
{
    struct check *k = add(c, "kernel", "kernel preemption");
    char rt[16], version[256], release[128], cfgfile[PATH_MAX], dyn[128], pre[64];
    c->rt_kernel = read_text(c, "/sys/kernel/realtime", rt, sizeof rt) == 0 && strcmp(rt, "1") == 0;
    if (read_text(c, "/proc/sys/kernel/version", version, sizeof version) != 0 && !c->fake) {
        struct utsname u;
        if (uname(&u) == 0)
            snprintf(version, sizeof version, "%s", u.version);
    }
    if (read_text(c, "/proc/sys/kernel/osrelease", release, sizeof release) != 0 && !c->fake) {
        struct utsname u;
        if (uname(&u) == 0)
            snprintf(release, sizeof release, "%s", u.release);
    }
    snprintf(banner, bcap, "Linux %s, %s", release[0] ? release : "?", version[0] ? version : "?");

    /* The build: tokens of the version string, else /boot/config-RELEASE. */
    bool v_rt = false, v_dyn = false, v_full = false;
    for (char *t = version; *t;) {
        while (*t == ' ')
            t++;
        size_t n = strcspn(t, " ");
        v_rt |= n == 10 && strncmp(t, "PREEMPT_RT", 10) == 0;
        v_dyn |= n == 15 && strncmp(t, "PREEMPT_DYNAMIC", 15) == 0;
        v_full |= n == 7 && strncmp(t, "PREEMPT", 7) == 0;
        t += n;
    }
    const char *cfg_default = NULL;
    static char cfg[262144];
    snprintf(cfgfile, sizeof cfgfile, "/boot/config-%s", release);
    if (release[0] && !strchr(release, '/') && read_raw(c, cfgfile, cfg, sizeof cfg) > 0) {
        v_rt |= strstr(cfg, "\nCONFIG_PREEMPT_RT=y") != NULL;
        v_dyn |= strstr(cfg, "\nCONFIG_PREEMPT_DYNAMIC=y") != NULL;
        if (strstr(cfg, "\nCONFIG_PREEMPT=y"))
            cfg_default = "full";
        else if (strstr(cfg, "\nCONFIG_PREEMPT_VOLUNTARY=y"))
            cfg_default = "voluntary";
        else if (strstr(cfg, "\nCONFIG_PREEMPT_NONE=y"))
            cfg_default = "none";
    }
    bool have_pre = param(c, "preempt", pre, sizeof pre);
    /* debugfs (root only): "none voluntary (full) lazy" marks the current one. */
    dyn[0] = '\0';
    char dbg[256];
    if (read_text(c, "/sys/kernel/debug/sched/preempt", dbg, sizeof dbg) == 0) {
        char *o = strchr(dbg, '('), *e = o ? strchr(o, ')') : NULL;
        if (o && e && e - o - 1 < (long)sizeof dyn)
            snprintf(dyn, sizeof dyn, "%.*s", (int)(e - o - 1), o + 1);
    }

    const char *mode;
    char how[160];
    if (c->rt_kernel || v_rt) {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "PREEMPT_RT%s", c->rt_kernel ? " (/sys/kernel/realtime = 1)" : "");
        set(k->advice, sizeof k->advice,
            "A real-time kernel: interrupt handlers run as threads and nearly all kernel code is "
            "preemptible, so jackd's SCHED_FIFO threads get the CPU within tens of microseconds.");
        return;
    }
    if (v_dyn) {
        if (dyn[0]) {
            mode = dyn;
            snprintf(how, sizeof how, "current, from sched/preempt");
        } else if (have_pre) {
            mode = pre;
            snprintf(how, sizeof how, "preempt=%s on the command line", pre);
        } else if (cfg_default) {
            mode = cfg_default;
            snprintf(how, sizeof how, "the build's default");
        } else {
            mode = "voluntary";
            snprintf(how, sizeof how, "no preempt= parameter; the usual build default");
        }
        set(k->value, sizeof k->value, "PREEMPT_DYNAMIC, mode %s (%s)", mode, how);
    } else if (v_full) {
        mode = "full";
        set(k->value, sizeof k->value, "PREEMPT (full preemption)");
    } else {
        mode = cfg_default ? cfg_default : "voluntary";
        set(k->value, sizeof k->value, "%s preemption (no PREEMPT in the version string)", mode);
    }
    k->st = ST_WARN;
    if (strcmp(mode, "full") == 0 || strcmp(mode, "lazy") == 0)
        set(k->advice, sizeof k->advice,
            "Full preemption is fine for EEG periods (64 frames at 256 Hz = 250 ms). For short "
            "periods (128 frames at 48 kHz = 2.7 ms) or hard guarantees, use a PREEMPT_RT kernel "
            "(Debian: linux-image-rt-amd64 or linux-image-rt-arm64).");
    else
        set(k->advice, sizeof k->advice,
            "Kernel code runs unpreempted until it yields: latency spikes of milliseconds under "
            "I/O load. %s or install a PREEMPT_RT kernel (Debian: linux-image-rt-amd64). EEG "
            "periods of 250 ms tolerate this kernel; audio-rate periods do not.",
            v_dyn ? "Boot with preempt=full (add it to GRUB_CMDLINE_LINUX in /etc/default/grub, "
                    "run update-grub, reboot),"
                  : "Use a kernel built with CONFIG_PREEMPT or PREEMPT_DYNAMIC (then preempt=full),");
}

/* ---- limits ------------------------------------------------------------------ */

/* From DIR/proc/self/limits: soft and hard of the line starting with `name`;
 * RLIM_INFINITY for "unlimited". 0, or -1 (and why) when absent or garbled. */
static int limit_from_file(const struct ctx *c, const char *name, rlim_t *soft, rlim_t *hard, char *why,
                           size_t wcap)
{
    char buf[8192];
    if (read_raw(c, "/proc/self/limits", buf, sizeof buf) < 0) {
        set(why, wcap, "cannot read %s/proc/self/limits", c->root);
        return -1;
    }
    size_t nl = strlen(name);
    char *sv;
    for (char *line = strtok_r(buf, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv)) {
        if (strncmp(line, name, nl) != 0)
            continue;
        char *p = line + nl;
        rlim_t v[2];
        for (int i = 0; i < 2; i++) {
            while (*p == ' ')
                p++;
            if (strncmp(p, "unlimited", 9) == 0) {
                v[i] = RLIM_INFINITY;
                p += 9;
                continue;
            }
            char *end;
            errno = 0;
            unsigned long long x = strtoull(p, &end, 10);
            if (end == p || errno || *p == '-') {
                set(why, wcap, "%s/proc/self/limits: '%s' line garbled", c->root, name);
                return -1;
            }
            v[i] = (rlim_t)x;
            p = end;
        }
        *soft = v[0];
        *hard = v[1];
        return 0;
    }
    set(why, wcap, "%s/proc/self/limits: no '%s' line", c->root, name);
    return -1;
}

static int get_limit(const struct ctx *c, int res, const char *name, rlim_t *soft, rlim_t *hard, char *why,
                     size_t wcap)
{
    if (c->fake)
        return limit_from_file(c, name, soft, hard, why, wcap);
    struct rlimit rl;
    if (getrlimit(res, &rl) != 0) {
        set(why, wcap, "getrlimit: %s", strerror(errno));
        return -1;
    }
    *soft = rl.rlim_cur;
    *hard = rl.rlim_max;
    return 0;
}

static const char *limits_advice(void)
{
    return "Install rt-config/99-ictal-realtime.conf into /etc/security/limits.d/, add the user to the "
           "audio group and log in again (PAM applies limits at login). Services get their limits "
           "from the unit instead: LimitRTPRIO=95 and LimitMEMLOCK=infinity (rt-config/*.service).";
}

static void check_rtprio(struct ctx *c)
{
    struct check *k = add(c, "rtprio", "real-time priority");
    rlim_t soft, hard;
    char why[256];
    if (get_limit(c, RLIMIT_RTPRIO, "Max realtime priority", &soft, &hard, why, sizeof why) != 0) {
        k->st = ST_WARN;
        set(k->value, sizeof k->value, "unknown (%s)", why);
        set(k->advice, sizeof k->advice, "Check with `ulimit -r` as the user that runs jackd. %s",
            limits_advice());
        return;
    }
    char s[32], h[32];
    snprintf(s, sizeof s, soft == RLIM_INFINITY ? "unlimited" : "%llu", (unsigned long long)soft);
    snprintf(h, sizeof h, hard == RLIM_INFINITY ? "unlimited" : "%llu", (unsigned long long)hard);
    bool nice = has_cap(c, CAP_SYS_NICE_BIT);
    set(k->value, sizeof k->value, "RLIMIT_RTPRIO %s (hard %s)%s", s, h,
        nice ? ", CAP_SYS_NICE: any priority" : "");
    if (nice || (soft != RLIM_INFINITY ? soft >= WANT_RTPRIO : true)) {
        k->st = ST_OK;
        set(k->advice, sizeof k->advice,
            "jackd -R -P 70 and its clients may use SCHED_FIFO up to this priority.%s",
            nice ? " The capability belongs to this process (root?); a service user needs the "
                   "limit or LimitRTPRIO=." : "");
    } else if (soft == 0) {
        k->st = ST_FAIL;
        set(k->advice, sizeof k->advice,
            "No real-time scheduling allowed: jackd -R falls back to normal scheduling and every "
            "cycle competes with all other processes. %s", limits_advice());
    } else {
        k->st = ST_WARN;
        set(k->advice, sizeof k->advice,
            "Below %d: start jackd with -P lower than %llu, or raise the limit%s. %s", WANT_RTPRIO,
            (unsigned long long)soft,
            hard == RLIM_INFINITY || hard >= WANT_RTPRIO ? " (the hard limit allows it: ulimit -r 95)" : "",
            limits_advice());
    }
}

static void check_memlock(struct ctx *c)
{
    struct check *k = add(c, "memlock", "locked memory");
    rlim_t soft, hard;
    char why[256];
    if (get_limit(c, RLIMIT_MEMLOCK, "Max locked memory", &soft, &hard, why, sizeof why) != 0) {
        k->st = ST_WARN;
        set(k->value, sizeof k->value, "unknown (%s)", why);
        set(k->advice, sizeof k->advice, "Check with `ulimit -l`. %s", limits_advice());
        return;
    }
    char s[32], h[32];
    if (soft == RLIM_INFINITY)
        snprintf(s, sizeof s, "unlimited");
    else
        fmt_bytes((unsigned long long)soft, s, sizeof s);
    if (hard == RLIM_INFINITY)
        snprintf(h, sizeof h, "unlimited");
    else
        fmt_bytes((unsigned long long)hard, h, sizeof h);
    bool ipc = has_cap(c, CAP_IPC_LOCK_BIT);
    set(k->value, sizeof k->value, "RLIMIT_MEMLOCK %s (hard %s)%s", s, h, ipc ? ", CAP_IPC_LOCK: no limit" : "");
    if (ipc || soft == RLIM_INFINITY || soft >= (rlim_t)WANT_MEMLOCK_MIB << 20) {
        k->st = ST_OK;
        set(k->advice, sizeof k->advice,
            "ictal-detect can mlockall() before activation (rt.mlockall), so its process callback "
            "never waits for a page to be read back.");
    } else {
        k->st = ST_WARN;
        set(k->advice, sizeof k->advice,
            "mlockall() locks every mapping of the process (libraries, thread stacks, OpenBLAS "
            "buffers, the model): below %d MiB it fails and ictal-detect runs with pageable "
            "memory (a page fault in the callback costs milliseconds). Raise it to unlimited. %s",
            WANT_MEMLOCK_MIB, limits_advice());
    }
}

/* ---- groups ------------------------------------------------------------------ */

static void check_audio_group(struct ctx *c)
{
    struct check *k = add(c, "audio_group", "audio group");
    char user[64];
    user_name(c, user, sizeof user);
    char buf[65536];
    long gid = -1;
    bool listed = false;
    if (read_raw(c, "/etc/group", buf, sizeof buf) >= 0) {
        char *sv, *sm;
        for (char *line = strtok_r(buf, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv)) {
            if (strncmp(line, "audio:", 6) != 0)
                continue;
            char *f2 = strchr(line + 6, ':');
            char *end;
            if (!f2 || (gid = strtol(f2 + 1, &end, 10), end == f2 + 1 || *end != ':')) {
                gid = -1;
                break;
            }
            for (char *m = strtok_r(end + 1, ",", &sm); m; m = strtok_r(NULL, ",", &sm))
                listed |= strcmp(m, user) == 0;
            break;
        }
    }
    if (gid < 0) {
        k->st = ST_WARN;
        set(k->value, sizeof k->value, "no audio group in %s/etc/group", c->root);
        set(k->advice, sizeof k->advice,
            "rt-config/99-ictal-realtime.conf grants its limits to @audio: create the group "
            "(groupadd -r audio) or edit the file to name the group your distribution uses "
            "(e.g. realtime, pipewire).");
        return;
    }
    bool member = c->gid == gid;
    for (int i = 0; i < c->n_groups; i++)
        member |= c->groups[i] == gid;
    if (member) {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "%s is in audio (gid %ld)", user, gid);
        set(k->advice, sizeof k->advice, "The limits of 99-ictal-realtime.conf apply at login.");
    } else if (listed) {
        k->st = ST_WARN;
        set(k->value, sizeof k->value, "%s is listed in audio (gid %ld) but this session is not", user, gid);
        set(k->advice, sizeof k->advice, "Log out and in again (or reboot) so the membership and its "
                                         "limits take effect.");
    } else {
        k->st = ST_WARN;
        set(k->value, sizeof k->value, "%s is not in audio (gid %ld)", user, gid);
        set(k->advice, sizeof k->advice,
            "sudo usermod -aG audio %s, then log in again: the real-time limits of "
            "99-ictal-realtime.conf are granted to @audio. (The systemd units run as user ictal, "
            "which rt-config/ictal.sysusers puts in audio.)",
            user);
    }
}

/* ---- scheduler settings --------------------------------------------------------- */

static void check_throttling(struct ctx *c)
{
    struct check *k = add(c, "rt_throttling", "RT throttling");
    char rt[64], per[64];
    if (read_text(c, "/proc/sys/kernel/sched_rt_runtime_us", rt, sizeof rt) != 0) {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "unknown (no sched_rt_runtime_us)");
        return;
    }
    char *end;
    long runtime = strtol(rt, &end, 10);
    if (end == rt || *end) {
        k->st = ST_WARN;
        set(k->value, sizeof k->value, "sched_rt_runtime_us = '%s' (not a number)", rt);
        set(k->advice, sizeof k->advice, "sysctl kernel.sched_rt_runtime_us=950000 (the default).");
        return;
    }
    long period = 1000000;
    if (read_text(c, "/proc/sys/kernel/sched_rt_period_us", per, sizeof per) == 0) {
        long p = strtol(per, &end, 10);
        if (end != per && !*end && p > 0)
            period = p;
    }
    if (runtime < 0) {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "off (sched_rt_runtime_us = -1)");
        set(k->advice, sizeof k->advice,
            "Real-time tasks may take the whole CPU: a runaway SCHED_FIFO thread can freeze the "
            "machine. 950000 (95 %%) is the safer default.");
    } else if (runtime == 0) {
        k->st = ST_FAIL;
        set(k->value, sizeof k->value, "sched_rt_runtime_us = 0: real-time tasks never run");
        set(k->advice, sizeof k->advice, "sysctl kernel.sched_rt_runtime_us=950000 (rt-config/99-ictal-sysctl.conf).");
    } else if ((double)runtime < 0.9 * (double)period) {
        k->st = ST_WARN;
        set(k->value, sizeof k->value, "%ld of every %ld us (%.0f %%)", runtime, period,
            100.0 * (double)runtime / (double)period);
        set(k->advice, sizeof k->advice,
            "Real-time tasks are stopped after this share of each period: a long cycle would be "
            "cut off. sysctl kernel.sched_rt_runtime_us=950000 (the default).");
    } else {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "%ld of every %ld us (%.0f %%)", runtime, period,
            100.0 * (double)runtime / (double)period);
        set(k->advice, sizeof k->advice, "The default: 5 %% of each second stays for normal tasks.");
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void check_governor(struct ctx *c)
{
    struct check *k = add(c, "cpu_governor", "CPU frequency governor");
    char p[PATH_MAX + 256];
    path_of(c, "/sys/devices/system/cpu", p, sizeof p);
    DIR *d = opendir(p);
    int ncpu = 0, nfreq = 0, nperf = 0;
    /* governor name -> count, few distinct ones */
    char names[8][32];
    int counts[8], nnames = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, "cpu", 3) != 0 || !all_digits(e->d_name + 3))
                continue;
            ncpu++;
            char rel[300], gov[64];
            set(rel, sizeof rel, "/sys/devices/system/cpu/%s/cpufreq/scaling_governor", e->d_name);
            if (read_text(c, rel, gov, sizeof gov) != 0 || !gov[0])
                continue;
            nfreq++;
            nperf += strcmp(gov, "performance") == 0;
            int i = 0;
            while (i < nnames && strcmp(names[i], gov) != 0)
                i++;
            if (i == nnames && nnames < 8) {
                set(names[nnames], sizeof names[nnames], "%s", gov);
                counts[nnames++] = 0;
            }
            if (i < nnames)
                counts[i]++;
        }
        closedir(d);
    }
    if (!nfreq) {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "no cpufreq on %d CPU%s (fixed frequency or a virtual machine)",
            ncpu, ncpu == 1 ? "" : "s");
        set(k->advice, sizeof k->advice,
            "Nothing to set here. On a virtual machine the host's governor and CPU sharing decide.");
        return;
    }
    char list[256] = "";
    const char *sorted[8];
    for (int i = 0; i < nnames; i++)
        sorted[i] = names[i];
    qsort(sorted, (size_t)nnames, sizeof *sorted, cmp_str);
    for (int i = 0; i < nnames; i++) {
        int n = 0;
        for (int j = 0; j < nnames; j++)
            if (names[j] == sorted[i])
                n = counts[j];
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s on %d", i ? ", " : "", sorted[i], n);
    }
    set(k->value, sizeof k->value, "%s of %d CPU%s with cpufreq", list, nfreq, nfreq == 1 ? "" : "s");
    if (nperf == nfreq) {
        k->st = ST_OK;
        set(k->advice, sizeof k->advice, "Full clock all the time: cycle times do not depend on how "
                                         "idle the machine was before.");
    } else {
        k->st = ST_WARN;
        set(k->advice, sizeof k->advice,
            "Ramping governors raise the clock only after load arrives, so a cycle after a quiet "
            "spell runs slow. sudo cpupower frequency-set -g performance (Debian package "
            "linux-cpupower); make it permanent with GOVERNOR=performance in "
            "/etc/default/cpufrequtils or a oneshot unit.");
    }
}

static int count_irq_threads(const struct ctx *c)
{
    char p[PATH_MAX + 256];
    path_of(c, "/proc", p, sizeof p);
    DIR *d = opendir(p);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!all_digits(e->d_name))
            continue;
        char rel[300], comm[64];
        snprintf(rel, sizeof rel, "/proc/%s/comm", e->d_name);
        if (read_text(c, rel, comm, sizeof comm) == 0 && strncmp(comm, "irq/", 4) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void check_irqs(struct ctx *c)
{
    struct check *k = add(c, "irq_threads", "threaded IRQs");
    bool flag = param(c, "threadirqs", NULL, 0);
    int n = count_irq_threads(c);
    char nt[64];
    if (n >= 0)
        snprintf(nt, sizeof nt, "%d irq/ thread%s visible", n, n == 1 ? "" : "s");
    else
        snprintf(nt, sizeof nt, "irq threads unknown");
    if (c->rt_kernel || flag) {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "%s, %s", c->rt_kernel ? "forced (PREEMPT_RT)" : "threadirqs", nt);
        set(k->advice, sizeof k->advice,
            "Interrupt handlers run as SCHED_FIFO threads (priority 50): raise the one of the "
            "amplifier's bus (irq/NN-xhci_hcd, irq/NN-snd_*) above jackd with rtirq-init or "
            "chrt -f -p 85 PID, and keep unrelated ones (network, disk) below.");
    } else {
        k->st = ST_WARN;
        set(k->value, sizeof k->value, "not threaded (no threadirqs parameter), %s", nt);
        set(k->advice, sizeof k->advice,
            "Interrupt handlers run in hard-IRQ context, above every real-time thread. Add "
            "threadirqs to GRUB_CMDLINE_LINUX (/etc/default/grub, update-grub, reboot), then give "
            "the EEG interface's IRQ thread a priority above jackd (rtirq-init).");
    }
}

static void check_swap(struct ctx *c)
{
    struct check *k = add(c, "swap", "swap");
    char buf[8192], sw[32];
    int devices = 0;
    unsigned long long kib = 0;
    if (read_raw(c, "/proc/swaps", buf, sizeof buf) >= 0) {
        int line_no = 0;
        char *sv;
        for (char *line = strtok_r(buf, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv)) {
            if (line_no++ == 0 || !*line)
                continue; /* the header */
            devices++;
            /* Filename Type Size Used Priority */
            char name[256], type[32];
            unsigned long long size;
            if (sscanf(line, "%255s %31s %llu", name, type, &size) == 3)
                kib += size;
        }
    } else {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "unknown (no %s/proc/swaps)", c->root);
        return;
    }
    long swappiness = -1;
    if (read_text(c, "/proc/sys/vm/swappiness", sw, sizeof sw) == 0) {
        char *end;
        long v = strtol(sw, &end, 10);
        if (end != sw && !*end && v >= 0)
            swappiness = v;
    }
    char sws[32];
    snprintf(sws, sizeof sws, swappiness >= 0 ? "%ld" : "unknown", swappiness);
    if (!devices) {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "off (swappiness %s)", sws);
        set(k->advice, sizeof k->advice, "Nothing can be paged out to disk.");
        return;
    }
    char size[32];
    fmt_bytes(kib << 10, size, sizeof size);
    set(k->value, sizeof k->value, "on: %d device%s, %s, swappiness %s", devices, devices == 1 ? "" : "s",
        size, sws);
    if (swappiness >= 0 && swappiness <= WANT_SWAPPINESS) {
        k->st = ST_OK;
        set(k->advice, sizeof k->advice,
            "Swap is used only under memory pressure; ictal-detect locks its memory anyway.");
    } else {
        k->st = ST_WARN;
        set(k->advice, sizeof k->advice,
            "Memory that is not locked (jackd's, ictal-log's, a shell's) may be paged out and a "
            "later touch stalls for milliseconds. sudo sysctl vm.swappiness=%d (persist: "
            "rt-config/99-ictal-sysctl.conf in /etc/sysctl.d/), and keep ictal-detect's "
            "rt.mlockall on.",
            WANT_SWAPPINESS);
    }
}

/* ---- processes -------------------------------------------------------------------- */

struct proc_rt {
    int threads, fifo, rr;
    int max_prio;
};

/* rt_priority (field 40) and policy (field 41) of a /proc/.../stat line. */
static int stat_sched(const char *s, long *prio, long *policy)
{
    const char *p = strrchr(s, ')');
    if (!p)
        return -1;
    p++;
    int field = 2; /* ')' closes field 2 (comm) */
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        field++;
        char *end;
        long v = strtol(p, &end, 10);
        if (field == 40 || field == 41) {
            if (end == p || (*end && *end != ' '))
                return -1;
            *(field == 40 ? prio : policy) = v;
            if (field == 41)
                return 0;
        }
        p += strcspn(p, " ");
    }
    return -1;
}

#define SCHED_FIFO_ID 1
#define SCHED_RR_ID 2

static void scan_threads(const struct ctx *c, const char *pid, struct proc_rt *r)
{
    memset(r, 0, sizeof *r);
    char rel[300], p[PATH_MAX + 320];
    snprintf(rel, sizeof rel, "/proc/%s/task", pid);
    path_of(c, rel, p, sizeof p);
    DIR *d = opendir(p);
    char buf[2048];
    long prio, pol;
    if (!d) { /* no task/ (a minimal fake tree): the main thread only */
        snprintf(rel, sizeof rel, "/proc/%s/stat", pid);
        if (read_raw(c, rel, buf, sizeof buf) >= 0 && stat_sched(buf, &prio, &pol) == 0) {
            r->threads = 1;
            r->fifo = pol == SCHED_FIFO_ID;
            r->rr = pol == SCHED_RR_ID;
            r->max_prio = (r->fifo || r->rr) ? (int)prio : 0;
        }
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!all_digits(e->d_name))
            continue;
        snprintf(rel, sizeof rel, "/proc/%s/task/%s/stat", pid, e->d_name);
        if (read_raw(c, rel, buf, sizeof buf) < 0 || stat_sched(buf, &prio, &pol) != 0)
            continue;
        r->threads++;
        if (pol == SCHED_FIFO_ID || pol == SCHED_RR_ID) {
            r->fifo += pol == SCHED_FIFO_ID;
            r->rr += pol == SCHED_RR_ID;
            if (prio > r->max_prio && prio <= 99)
                r->max_prio = (int)prio;
        }
    }
    closedir(d);
}

/* jackd's command line: server options before -d/--driver, driver after. */
struct jackd_args {
    char name[128];
    bool realtime_flag, no_realtime;
    char driver[256];
};

static void parse_jackd(const char *args, size_t len, struct jackd_args *j)
{
    memset(j, 0, sizeof *j);
    snprintf(j->name, sizeof j->name, "default");
    const char *a[64];
    int n = 0;
    for (size_t o = 0; o < len && n < 64;) {
        a[n++] = args + o;
        o += strlen(args + o) + 1;
    }
    int i = 1;
    for (; i < n; i++) {
        const char *s = a[i];
        if (strcmp(s, "-d") == 0 || strcmp(s, "--driver") == 0 || strncmp(s, "--driver=", 9) == 0 ||
            (strncmp(s, "-d", 2) == 0 && s[2]))
            break;
        if ((strcmp(s, "-n") == 0 || strcmp(s, "--name") == 0) && i + 1 < n)
            snprintf(j->name, sizeof j->name, "%s", a[++i]);
        else if (strncmp(s, "--name=", 7) == 0)
            snprintf(j->name, sizeof j->name, "%s", s + 7);
        else if (strncmp(s, "-n", 2) == 0 && s[2])
            snprintf(j->name, sizeof j->name, "%s", s + 2);
        else if (strcmp(s, "-R") == 0 || strcmp(s, "--realtime") == 0)
            j->realtime_flag = true;
        else if (strcmp(s, "-r") == 0 || strcmp(s, "--no-realtime") == 0)
            j->no_realtime = true;
    }
    for (; i < n; i++) {
        size_t l = strlen(j->driver);
        snprintf(j->driver + l, sizeof j->driver - l, "%s%s", l ? " " : "", a[i]);
    }
    clean(j->name);
    clean(j->driver);
}

static void check_jackd(struct ctx *c)
{
    struct check *k = add(c, "jackd", "JACK server");
    char p[PATH_MAX + 256];
    path_of(c, "/proc", p, sizeof p);
    DIR *d = opendir(p);
    int found = 0, rt_ok = 0, others = 0;
    enum status worst = ST_OK;
    char list[400] = "", other_names[160] = "", problem[512] = "";
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!all_digits(e->d_name))
                continue;
            char rel[300], comm[64], args[4096];
            snprintf(rel, sizeof rel, "/proc/%s/comm", e->d_name);
            if (read_text(c, rel, comm, sizeof comm) != 0 ||
                (strcmp(comm, "jackd") != 0 && strcmp(comm, "jackdbus") != 0))
                continue;
            snprintf(rel, sizeof rel, "/proc/%s/cmdline", e->d_name);
            long len = read_raw(c, rel, args, sizeof args);
            struct jackd_args j;
            parse_jackd(args, len > 0 ? (size_t)len : 0, &j);
            if (c->server && strcmp(j.name, c->server) != 0) {
                size_t l = strlen(other_names);
                if (others++ < 4)
                    snprintf(other_names + l, sizeof other_names - l, "%s%s", l ? ", " : "", j.name);
                continue;
            }
            found++;
            struct proc_rt r;
            scan_threads(c, e->d_name, &r);
            char one[200];
            bool rt = r.fifo + r.rr > 0;
            if (!r.threads) {
                if (worst < ST_WARN)
                    worst = ST_WARN;
                set(one, sizeof one, "'%s' (pid %s): scheduling unknown (no readable task stat)", j.name,
                    e->d_name);
            } else if (rt) {
                rt_ok++;
                set(one, sizeof one, "'%s' (pid %s): %d SCHED_%s thread%s, priority %d%s%s", j.name,
                         e->d_name, r.fifo + r.rr, r.fifo ? "FIFO" : "RR", r.fifo + r.rr == 1 ? "" : "s",
                         r.max_prio, j.driver[0] ? ", " : "", j.driver);
            } else {
                worst = ST_FAIL;
                set(one, sizeof one, "'%s' (pid %s): no real-time thread%s", j.name, e->d_name,
                         j.no_realtime ? " (started with --no-realtime)" : "");
                if (!problem[0])
                    snprintf(problem, sizeof problem, "%s", j.no_realtime ? "norealtime" : "denied");
            }
            if (found <= 3) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", l ? "; " : "", one);
            }
        }
        closedir(d);
    }
    if (!found) {
        k->st = ST_WARN;
        if (c->server)
            set(k->value, sizeof k->value, "no jackd named '%s' running%s%s%s", c->server,
                others ? " (others: " : "", other_names, others ? ")" : "");
        else
            set(k->value, sizeof k->value, "no jackd running");
        set(k->advice, sizeof k->advice,
            "Start the server, then run this check again: sudo systemctl start jackd-eeg@dummy "
            "(or @alsa; rt-config/), or by hand jackd -R -P 70 -n eeg -d dummy -r 256 -p 64.");
        return;
    }
    if (found > 3) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "; and %d more", found - 3);
    }
    set(k->value, sizeof k->value, "%s", list);
    k->st = worst;
    if (worst == ST_OK)
        set(k->advice, sizeof k->advice,
            "The server runs real-time; its clients' process threads get SCHED_FIFO from it.");
    else if (worst == ST_WARN)
        set(k->advice, sizeof k->advice,
            "Could not read the threads' scheduling from %s/proc/PID/task/*/stat; check with "
            "ps -eLo pid,cls,rtprio,comm | grep jackd (FF = SCHED_FIFO).", c->root);
    else if (strcmp(problem, "norealtime") == 0)
        set(k->advice, sizeof k->advice,
            "A server started with -r/--no-realtime gives its clients normal threads: restart it "
            "with -R -P 70 (rt-config/jackd-eeg@.service).%s",
            rt_ok ? " (Private test servers of the test suite run this way on purpose.)" : "");
    else
        set(k->advice, sizeof k->advice,
            "jackd asked for real-time scheduling and did not get it (its log says \"Cannot use "
            "real-time scheduling\"): the user running it lacks an rtprio limit of at least its "
            "-P priority. Log in again after installing 99-ictal-realtime.conf, or set "
            "LimitRTPRIO=95 in the unit.");
}

/* "VmLck:  123 kB" of /proc/PID/status, in kB; -1 unknown. */
static long vm_locked_kb(const struct ctx *c, const char *pid)
{
    char rel[300], buf[8192];
    snprintf(rel, sizeof rel, "/proc/%s/status", pid);
    if (read_raw(c, rel, buf, sizeof buf) < 0)
        return -1;
    const char *p = strstr(buf, "\nVmLck:");
    if (!p)
        return -1;
    char *end;
    long v = strtol(p + 7, &end, 10);
    return end == p + 7 ? -1 : v;
}

static void check_detect(struct ctx *c)
{
    struct check *k = add(c, "ictal_detect", "ictal-detect clients");
    char p[PATH_MAX + 256];
    path_of(c, "/proc", p, sizeof p);
    DIR *d = opendir(p);
    int found = 0, not_rt = 0, not_locked = 0;
    char list[400] = "";
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!all_digits(e->d_name))
                continue;
            char rel[300], comm[64];
            snprintf(rel, sizeof rel, "/proc/%s/comm", e->d_name);
            if (read_text(c, rel, comm, sizeof comm) != 0 || strcmp(comm, "ictal-detect") != 0)
                continue;
            found++;
            struct proc_rt r;
            scan_threads(c, e->d_name, &r);
            long lck = vm_locked_kb(c, e->d_name);
            bool rt = r.fifo + r.rr > 0;
            not_rt += !rt && r.threads > 0;
            not_locked += lck == 0;
            if (found <= 3) {
                char one[160], lk[32];
                if (lck < 0)
                    snprintf(lk, sizeof lk, "unknown");
                else
                    fmt_bytes((unsigned long long)lck << 10, lk, sizeof lk);
                set(one, sizeof one, "pid %s: %s, %s locked", e->d_name,
                    rt ? "real-time process thread"
                       : (r.threads ? "no real-time thread" : "scheduling unknown"), lk);
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", l ? "; " : "", one);
            }
        }
        closedir(d);
    }
    if (!found) {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "none running");
        set(k->advice, sizeof k->advice, "Run the check again while ictal-detect runs to see its "
                                         "process thread and locked memory.");
        return;
    }
    set(k->value, sizeof k->value, "%s", list);
    if (not_rt) {
        k->st = ST_FAIL;
        set(k->advice, sizeof k->advice,
            "The process thread is not SCHED_FIFO: the JACK server it joined runs without "
            "real-time scheduling (see the JACK server check), so detection competes with every "
            "other process.");
    } else if (not_locked) {
        k->st = ST_WARN;
        set(k->advice, sizeof k->advice,
            "Memory is not locked: set rt.mlockall = true and raise the memlock limit "
            "(LimitMEMLOCK=infinity in ictal-detect.service).");
    } else {
        k->st = ST_OK;
        set(k->advice, sizeof k->advice, "Real-time process thread and locked memory.");
    }
}

/* ---- CPU, clock, memory ---------------------------------------------------------- */

static void check_isolation(struct ctx *c)
{
    struct check *k = add(c, "cpu_isolation", "CPU isolation");
    char iso[128] = "", nohz[128] = "", nocb[128] = "", siso[128] = "", snohz[128] = "";
    param(c, "isolcpus", iso, sizeof iso);
    param(c, "nohz_full", nohz, sizeof nohz);
    param(c, "rcu_nocbs", nocb, sizeof nocb);
    read_text(c, "/sys/devices/system/cpu/isolated", siso, sizeof siso);
    read_text(c, "/sys/devices/system/cpu/nohz_full", snohz, sizeof snohz);
    if (strcmp(snohz, "(null)") == 0)
        snohz[0] = '\0';
    k->st = ST_OK;
    if (!iso[0] && !nohz[0] && !siso[0] && !snohz[0]) {
        set(k->value, sizeof k->value, "none");
        set(k->advice, sizeof k->advice,
            "Optional. For the shortest periods, reserve a core: isolcpus=3 nohz_full=3 "
            "rcu_nocbs=3 on the kernel command line, then run jackd there (taskset -c 3, or "
            "CPUAffinity=3 in the unit).");
        return;
    }
    set(k->value, sizeof k->value, "isolated CPUs %s, nohz_full %s%s%s", siso[0] ? siso : (iso[0] ? iso : "none"),
        snohz[0] ? snohz : (nohz[0] ? nohz : "none"), nocb[0] ? ", rcu_nocbs " : "", nocb);
    set(k->advice, sizeof k->advice,
        "Isolated CPUs run only what is pinned there: put jackd on them (taskset -c, or "
        "CPUAffinity= in jackd-eeg@.service) or they help nobody.");
}

static void check_clocksource(struct ctx *c)
{
    struct check *k = add(c, "clocksource", "clock source");
    char cur[64], avail[256];
    if (read_text(c, "/sys/devices/system/clocksource/clocksource0/current_clocksource", cur, sizeof cur) != 0 ||
        !cur[0]) {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "unknown");
        return;
    }
    read_text(c, "/sys/devices/system/clocksource/clocksource0/available_clocksource", avail, sizeof avail);
    set(k->value, sizeof k->value, "%s%s%s%s", cur, avail[0] ? " (available: " : "", avail, avail[0] ? ")" : "");
    if (strcmp(cur, "hpet") == 0 || strcmp(cur, "acpi_pm") == 0 || strcmp(cur, "jiffies") == 0 ||
        strcmp(cur, "pit") == 0) {
        k->st = ST_WARN;
        set(k->advice, sizeof k->advice,
            "Every clock read (JACK's frame time, ictal's callback timing) becomes a slow hardware "
            "access. The kernel usually falls back from tsc because it found it unstable "
            "(dmesg | grep -i tsc): check BIOS power settings; clocksource=tsc tsc=reliable only "
            "where the TSC is known good.");
    } else {
        k->st = ST_OK;
        set(k->advice, sizeof k->advice, "A fast clock source (read without a system call).");
    }
}

static void check_thp(struct ctx *c)
{
    struct check *k = add(c, "transparent_hugepages", "transparent huge pages");
    char en[128], mode[32] = "";
    if (read_text(c, "/sys/kernel/mm/transparent_hugepage/enabled", en, sizeof en) != 0) {
        k->st = ST_OK;
        set(k->value, sizeof k->value, "not available");
        return;
    }
    char *o = strchr(en, '['), *e = o ? strchr(o, ']') : NULL;
    if (o && e && e - o - 1 < (long)sizeof mode)
        snprintf(mode, sizeof mode, "%.*s", (int)(e - o - 1), o + 1);
    if (!mode[0]) {
        k->st = ST_WARN;
        set(k->value, sizeof k->value, "unreadable ('%s')", en);
        set(k->advice, sizeof k->advice, "Expected a setting like 'always [madvise] never'.");
        return;
    }
    set(k->value, sizeof k->value, "%s", mode);
    if (strcmp(mode, "always") == 0) {
        k->st = ST_WARN;
        set(k->advice, sizeof k->advice,
            "khugepaged and fault-time compaction can stall a thread for milliseconds: echo madvise "
            "| sudo tee /sys/kernel/mm/transparent_hugepage/enabled (permanent: "
            "transparent_hugepage=madvise on the kernel command line).");
    } else {
        k->st = ST_OK;
        set(k->advice, sizeof k->advice, "Huge pages only where a program asks for them.");
    }
}

/* ---- output ------------------------------------------------------------------------ */

static void print_text(const struct ctx *c, const char *banner, bool color, bool verbose)
{
    static const char *const col[] = {"\033[32m", "\033[33m", "\033[1;31m"};
    printf("ictal-rtcheck: real-time readiness of %s (%s)\n\n", c->fake ? c->root : "this machine", banner);
    int n[3] = {0, 0, 0};
    for (int i = 0; i < c->n_checks; i++) {
        const struct check *k = &c->checks[i];
        n[k->st]++;
        printf("  %s%-4s%s  %-24s %s\n", color ? col[k->st] : "", status_names[k->st], color ? "\033[0m" : "",
               k->title, k->value);
        if (k->advice[0] && (k->st != ST_OK || verbose)) {
            /* Wrap the advice at ~72 columns under the value. */
            const char *a = k->advice;
            bool firstline = true;
            while (*a) {
                size_t w = strlen(a);
                if (w > 72) {
                    w = 72;
                    while (w > 20 && a[w] != ' ')
                        w--;
                }
                printf("        %s %.*s\n", firstline ? "->" : "  ", (int)w, a);
                firstline = false;
                a += w;
                while (*a == ' ')
                    a++;
            }
        }
    }
    printf("\n%d OK, %d WARN, %d FAIL%s\n", n[0], n[1], n[2],
           n[2] ? ": not ready for real-time use" : (n[1] ? "" : ": ready"));
}

static int print_json(const struct ctx *c, const char *banner)
{
    cJSON *o = cJSON_CreateObject();
    int n[3] = {0, 0, 0};
    cJSON_AddStringToObject(o, "tool", "ictal-rtcheck");
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "root", c->fake ? c->root : "/");
    cJSON_AddStringToObject(o, "kernel", banner);
    if (c->server)
        cJSON_AddStringToObject(o, "server", c->server);
    else
        cJSON_AddNullToObject(o, "server");
    cJSON *arr = cJSON_AddArrayToObject(o, "checks");
    for (int i = 0; i < c->n_checks; i++) {
        const struct check *k = &c->checks[i];
        n[k->st]++;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", k->id);
        cJSON_AddStringToObject(e, "title", k->title);
        cJSON_AddStringToObject(e, "status", status_names[k->st]);
        cJSON_AddStringToObject(e, "value", k->value);
        cJSON_AddStringToObject(e, "advice", k->advice);
        cJSON_AddItemToArray(arr, e);
    }
    cJSON *s = cJSON_AddObjectToObject(o, "summary");
    cJSON_AddNumberToObject(s, "ok", n[0]);
    cJSON_AddNumberToObject(s, "warn", n[1]);
    cJSON_AddNumberToObject(s, "fail", n[2]);
    cJSON_AddNumberToObject(o, "exit_status", n[2] ? 1 : 0);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) {
        prog_log_error("out of memory");
        return -1;
    }
    puts(text);
    cJSON_free(text);
    return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [--json] [--verbose] [--server NAME] [--root DIR]\n"
            "       " PROG " --print-config\n"
            "Check whether this machine is set up for real-time EEG with ictal: kernel\n"
            "preemption, real-time and memory-lock limits, audio group, RT throttling, CPU\n"
            "governor, threaded IRQs, swap, jackd and ictal-detect scheduling, CPU isolation,\n"
            "clock source, transparent huge pages. Each check: OK, WARN or FAIL, the value\n"
            "found and what to do (docs/realtime.md).\n"
            "  --json          one JSON object on stdout instead of text\n"
            "  -v, --verbose   advice for the OK checks too\n"
            "  --server NAME   the JACK server to look for (default: [jack] server, else\n"
            "                  $JACK_DEFAULT_SERVER, else any jackd)\n"
            "  --root DIR      read /proc, /sys, /etc and /boot below DIR (a saved or fake\n"
            "                  tree; limits and groups then come from DIR/proc/self/)\n"
            "  -h, --help      this help\n"
            "\n%s"
            "  " PROG " uses [log] (colour, how errors are printed) and [jack] server.\n"
            "\nExit status: 0 no FAIL, 1 at least one FAIL, 2 usage or configuration error.\n",
            ictal_config_cli_help());
}

static int take_value(int argc, char **argv, int *i, const char *opt, const char **out)
{
    size_t ol = strlen(opt);
    if (strncmp(argv[*i], opt, ol) == 0 && argv[*i][ol] == '=') {
        *out = argv[*i] + ol + 1;
        return 1;
    }
    if (strcmp(argv[*i], opt) != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, PROG ": %s needs a value\n", opt);
        return -1;
    }
    *out = argv[++*i];
    return 1;
}

int main(int argc, char **argv)
{
    struct ictal_error err;
    struct ictal_config *cfg = ictal_config_create(&err);
    if (!cfg) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    struct ictal_config_cli cli;
    memset(&cli, 0, sizeof cli);
    int cfg_rc = ictal_config_setup(cfg, &argc, argv, NULL, 0, &cli, &err);
    bool json = false, verbose = false;
    const char *root = NULL, *server = NULL;
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        int t;
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            ictal_config_destroy(cfg);
            return 0;
        } else if ((t = take_value(argc, argv, &i, "--root", &root)) != 0) {
            bad = t < 0;
        } else if ((t = take_value(argc, argv, &i, "--server", &server)) != 0) {
            bad = t < 0;
        } else {
            fprintf(stderr, PROG ": unknown %s %s\n", argv[i][0] == '-' ? "option" : "argument", argv[i]);
            bad = 1;
        }
    }
    if (cfg_rc != 0)
        ictal_config_print_errors(cfg, stderr, PROG);
    if (bad || cfg_rc != 0) {
        if (bad)
            fprintf(stderr, "Try '" PROG " --help'.\n");
        ictal_config_destroy(cfg);
        return 2;
    }
    if (cli.print_config) {
        int rc = ictal_config_print(cfg, stdout, ICTAL_CONFIG_PROG_TOOLS);
        ictal_config_destroy(cfg);
        return rc == 0 ? 0 : 2;
    }
    prog_log_setup(PROG, cfg);
    int color_mode = ictal_config_get_enum(cfg, "log", "color"); /* auto|always|never */
    static struct ctx c; /* large: not on the stack */
    memset(&c, 0, sizeof c);
    if (!server) {
        const char *s = ictal_config_get_string(cfg, "jack", "server");
        if (s && *s)
            server = s;
        else if ((s = getenv("JACK_DEFAULT_SERVER")) && *s)
            server = s;
    }
    char server_copy[128];
    if (server) {
        if (!*server || strlen(server) >= sizeof server_copy) {
            prog_log_error("--server: a JACK server name of 1 to %zu characters", sizeof server_copy - 1);
            ictal_config_destroy(cfg);
            return 2;
        }
        snprintf(server_copy, sizeof server_copy, "%s", server);
        c.server = server_copy;
    }
    ictal_config_destroy(cfg);

    if (root) {
        struct stat st;
        if (!*root) {
            prog_log_error("--root: an empty directory name");
            return 2;
        }
        if (stat(root, &st) != 0) {
            prog_log_error("--root %s: %s", root, strerror(errno));
            return 2;
        }
        if (!S_ISDIR(st.st_mode)) {
            prog_log_error("--root %s: not a directory", root);
            return 2;
        }
        if (strlen(root) >= sizeof c.root - 1) {
            prog_log_error("--root: path too long");
            return 2;
        }
        snprintf(c.root, sizeof c.root, "%s", root);
        size_t l = strlen(c.root);
        while (l > 1 && c.root[l - 1] == '/')
            c.root[--l] = '\0';
        if (strcmp(c.root, "/") == 0)
            c.root[0] = '\0';
        else
            c.fake = true;
        if (c.fake && !is_dir(&c, "/proc") && !is_dir(&c, "/sys"))
            prog_log_warning("--root %s has neither proc/ nor sys/: most checks will say unknown", c.root);
    }

    /* Kernel parameters end at " -- " (the rest goes to init). */
    char cl[sizeof c.cmdline];
    if (read_text(&c, "/proc/cmdline", cl, sizeof cl) == 0) {
        char *dd = strstr(cl, " -- ");
        if (dd)
            *dd = '\0';
        else if (strncmp(cl, "-- ", 3) == 0 || strcmp(cl, "--") == 0)
            cl[0] = '\0';
        snprintf(c.cmdline, sizeof c.cmdline, "%s", cl);
    }
    load_status(&c);

    char banner[400];
    check_kernel(&c, banner, sizeof banner);
    check_rtprio(&c);
    check_memlock(&c);
    check_audio_group(&c);
    check_throttling(&c);
    check_governor(&c);
    check_irqs(&c);
    check_swap(&c);
    check_jackd(&c);
    check_detect(&c);
    check_isolation(&c);
    check_clocksource(&c);
    check_thp(&c);

    int fails = 0;
    for (int i = 0; i < c.n_checks; i++)
        fails += c.checks[i].st == ST_FAIL;
    if (json) {
        if (print_json(&c, banner) != 0)
            return 2;
    } else {
        bool color = color_mode == 1 || (color_mode == 0 && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
        print_text(&c, banner, color, verbose);
    }
    if (fflush(stdout) != 0) {
        prog_log_error("write error on standard output");
        return 2;
    }
    return fails ? 1 : 0;
}
