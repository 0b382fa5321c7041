/*
 * rt_guard_probe — a tiny JACK client that the RT-guard preload
 * (librtguard_jack.so) is tested on. Its process callback copies its input
 * port to its output port and, in a dirty mode, does one forbidden thing
 * every N cycles, each in its own (static, not exported) function so the
 * report must name it:
 *
 *   clean   nothing else                       malloc  malloc + free
 *   mutex   pthread_mutex_lock + unlock        sleep   nanosleep
 *   write   write(2) to /dev/null              osc     lo_send_message (liblo: sendto)
 *
 * Around it, what a real client does off the RT path: a busy thread that
 * allocates, locks and sleeps all the time (arming is per thread: never
 * counted), liblo, libsamplerate and OpenBLAS used at start-up, a freewheel
 * callback of its own.
 *
 *   rt_guard_probe [--mode M] [--every N] [--cycles N] [--server NAME]
 *                  [--name NAME] [--freewheel N] [--dirty-in always|freewheel]
 *                  [--exit normal|_exit]
 *
 * --freewheel N: after --cycles normal cycles, switch the server to freewheel
 * for N cycles, then back, and check that our freewheel callback saw both
 * changes. --dirty-in freewheel: the dirty thing only in freewheel cycles
 * (the probe's flag is raised after jack_set_freewheel(1) returns and lowered
 * before jack_set_freewheel(0) is called, so it never claims freewheel while
 * the guard does not). --exit _exit: leave with _exit(0) after closing the
 * client (no destructors: only the jack_client_close report remains).
 *
 * Exit status: 0 done, 1 setup or JACK error, 2 usage, 3 timed out.
 */
#define _GNU_SOURCE /* usleep-free sleeps, pthread */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <jack/jack.h>
#include <lo/lo.h>
#include <samplerate.h>

#define PROG "rt_guard_probe"

enum mode { M_CLEAN, M_MALLOC, M_MUTEX, M_SLEEP, M_WRITE, M_OSC };
static const char *const mode_names[] = {"clean", "malloc", "mutex", "sleep", "write", "osc"};

/* Settings, fixed before activation. */
static enum mode g_mode = M_CLEAN;
static unsigned long g_every = 4;
static unsigned long g_dirty_until = (unsigned long)-1; /* no dirty cycle from here on */
static bool g_dirty_in_freewheel;

static jack_port_t *g_in, *g_out;
static pthread_mutex_t g_rt_mutex = PTHREAD_MUTEX_INITIALIZER;
static int g_devnull = -1;
static lo_address g_osc_to;
static lo_message g_osc_msg;

static atomic_ulong g_cycles, g_fw_cycles, g_dirty_done;
static atomic_int g_fw;           /* probe's own view: freewheel requested and not yet undone */
static atomic_int g_fw_on_seen, g_fw_off_seen;
static atomic_int g_stop_busy;

/* ---- the forbidden things, one function each ------------------------------ */

static __attribute__((noinline)) void probe_dirty_malloc(void)
{
    void *volatile p = malloc(64);
    free(p);
}

static __attribute__((noinline)) void probe_dirty_mutex(void)
{
    pthread_mutex_lock(&g_rt_mutex);
    pthread_mutex_unlock(&g_rt_mutex);
}

static __attribute__((noinline)) void probe_dirty_sleep(void)
{
    struct timespec ts = {0, 10000};
    nanosleep(&ts, NULL);
}

/* The result is kept so the call is not a tail call (the return address
 * must point into this function). */
static volatile long g_sink;

static __attribute__((noinline)) void probe_dirty_write(void)
{
    g_sink = (long)write(g_devnull, "x", 1);
}

static __attribute__((noinline)) void probe_dirty_osc(void)
{
    g_sink = lo_send_message(g_osc_to, "/probe", g_osc_msg);
}

/* ---- JACK callbacks ----------------------------------------------------------- */

static int process(jack_nframes_t n, void *arg)
{
    (void)arg;
    static int prev_fw; /* only this thread */
    float *in = jack_port_get_buffer(g_in, n);
    float *out = jack_port_get_buffer(g_out, n);
    memcpy(out, in, n * sizeof *out);
    unsigned long k = atomic_fetch_add(&g_cycles, 1);
    int fw = atomic_load(&g_fw);
    if (fw)
        atomic_fetch_add(&g_fw_cycles, 1);
    bool dirty = g_mode != M_CLEAN && k % g_every == 0 && k < g_dirty_until &&
                 (!g_dirty_in_freewheel || (fw && prev_fw));
    prev_fw = fw;
    if (!dirty)
        return 0;
    switch (g_mode) {
    case M_MALLOC: probe_dirty_malloc(); break;
    case M_MUTEX: probe_dirty_mutex(); break;
    case M_SLEEP: probe_dirty_sleep(); break;
    case M_WRITE: probe_dirty_write(); break;
    case M_OSC: probe_dirty_osc(); break;
    case M_CLEAN: break;
    }
    atomic_fetch_add(&g_dirty_done, 1);
    return 0;
}

static void on_freewheel(int starting, void *arg)
{
    (void)arg;
    atomic_store(starting ? &g_fw_on_seen : &g_fw_off_seen, 1);
}

/* ---- everything else a client does off the RT path ---------------------------- */

static void *busy(void *arg)
{
    (void)arg;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    while (!atomic_load(&g_stop_busy)) {
        void *volatile p = malloc(256);
        free(p);
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* liblo, libsamplerate and OpenBLAS loaded and used, as ictal-detect does. */
static int warm_libraries(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) != 0) {
        fprintf(stderr, PROG ": UDP socket: %s\n", strerror(errno));
        return -1;
    }
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)ntohs(a.sin_port));
    g_osc_to = lo_address_new("127.0.0.1", port);
    g_osc_msg = lo_message_new();
    lo_message_add_int32(g_osc_msg, 1);
    if (!g_osc_to || lo_send_message(g_osc_to, "/probe/start", g_osc_msg) < 0) {
        fprintf(stderr, PROG ": liblo send failed\n");
        return -1;
    }
    /* s stays open: the callback's messages land in its buffer (or are dropped). */
    int err = 0;
    SRC_STATE *src = src_new(SRC_SINC_FASTEST, 1, &err);
    if (!src) {
        fprintf(stderr, PROG ": libsamplerate: %s\n", src_strerror(err));
        return -1;
    }
    src_delete(src);
    float A[16], B[16], C[16];
    for (int i = 0; i < 16; i++)
        A[i] = B[i] = (float)i;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 4, 4, 4, 1.0f, A, 4, B, 4, 0.0f, C, 4);
    return C[0] == 56.0f ? 0 : -1;
}

/* Wait until *counter reaches target (or flag is set when counter is NULL). */
static int wait_for(atomic_ulong *counter, unsigned long target, atomic_int *flag, double timeout_s)
{
    struct timespec t0, now, ts = {0, 1000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (counter ? atomic_load(counter) >= target : atomic_load(flag) != 0)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec) > timeout_s)
            return -1;
        nanosleep(&ts, NULL);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: " PROG " [--mode clean|malloc|mutex|sleep|write|osc] [--every N] [--cycles N]\n"
               "       [--server NAME] [--name NAME] [--freewheel N] [--dirty-in always|freewheel]\n"
               "       [--exit normal|_exit]\n");
}

static int parse_count(const char *opt, const char *v, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (!*v || *end || errno || x == 0 || x > 100000000ul || v[0] == '-') {
        fprintf(stderr, PROG ": %s wants a positive count, not '%s'\n", opt, v);
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long cycles = 40, fw_cycles = 0;
    const char *server = NULL, *name = NULL;
    bool use_exit = false;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, PROG ": %s: unknown option or missing value\n", o);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(o, "--mode") == 0) {
            size_t m = 0;
            while (m < sizeof mode_names / sizeof *mode_names && strcmp(v, mode_names[m]) != 0)
                m++;
            if (m == sizeof mode_names / sizeof *mode_names) {
                fprintf(stderr, PROG ": unknown mode '%s'\n", v);
                return 2;
            }
            g_mode = (enum mode)m;
        } else if (strcmp(o, "--every") == 0) {
            if (parse_count(o, v, &g_every))
                return 2;
        } else if (strcmp(o, "--cycles") == 0) {
            if (parse_count(o, v, &cycles))
                return 2;
        } else if (strcmp(o, "--freewheel") == 0) {
            if (parse_count(o, v, &fw_cycles))
                return 2;
        } else if (strcmp(o, "--dirty-in") == 0) {
            if (strcmp(v, "always") != 0 && strcmp(v, "freewheel") != 0) {
                fprintf(stderr, PROG ": --dirty-in wants always or freewheel, not '%s'\n", v);
                return 2;
            }
            g_dirty_in_freewheel = strcmp(v, "freewheel") == 0;
        } else if (strcmp(o, "--exit") == 0) {
            if (strcmp(v, "normal") != 0 && strcmp(v, "_exit") != 0) {
                fprintf(stderr, PROG ": --exit wants normal or _exit, not '%s'\n", v);
                return 2;
            }
            use_exit = strcmp(v, "_exit") == 0;
        } else if (strcmp(o, "--server") == 0) {
            server = v;
        } else if (strcmp(o, "--name") == 0) {
            name = v;
        } else {
            fprintf(stderr, PROG ": unknown option %s\n", o);
            usage(stderr);
            return 2;
        }
    }
    if (g_dirty_in_freewheel && !fw_cycles) {
        fprintf(stderr, PROG ": --dirty-in freewheel needs --freewheel N\n");
        return 2;
    }
    /* Without freewheel, exactly the cycles asked for may be dirty (more may
     * run before deactivation): counts in reports are then exact. */
    if (!fw_cycles)
        g_dirty_until = cycles;
    char defname[64];
    if (!name) {
        snprintf(defname, sizeof defname, "rtprobe-%ld", (long)getpid());
        name = defname;
    }
    g_devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (g_devnull < 0 || warm_libraries() != 0)
        return 1;

    jack_status_t st;
    jack_options_t opts = JackNoStartServer | JackUseExactName | (server ? JackServerName : 0);
    jack_client_t *c = jack_client_open(name, opts, &st, server);
    if (!c) {
        fprintf(stderr, PROG ": cannot open JACK client %s (status 0x%x)\n", name, (unsigned)st);
        return 1;
    }
    g_in = jack_port_register(c, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    g_out = jack_port_register(c, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    if (!g_in || !g_out || jack_set_process_callback(c, process, NULL) != 0 ||
        jack_set_freewheel_callback(c, on_freewheel, NULL) != 0) {
        fprintf(stderr, PROG ": JACK set-up failed\n");
        jack_client_close(c);
        return 1;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, busy, NULL) != 0) {
        fprintf(stderr, PROG ": cannot start the busy thread\n");
        jack_client_close(c);
        return 1;
    }
    int rc = 0;
    if (jack_activate(c) != 0) {
        fprintf(stderr, PROG ": cannot activate\n");
        rc = 1;
    }
    if (!rc && wait_for(&g_cycles, cycles, NULL, 60.0) != 0) {
        fprintf(stderr, PROG ": timed out after %lu of %lu cycles\n", atomic_load(&g_cycles), cycles);
        rc = 3;
    }
    if (!rc && fw_cycles) {
        if (jack_set_freewheel(c, 1) != 0) {
            fprintf(stderr, PROG ": jack_set_freewheel(1) failed\n");
            rc = 1;
        } else {
            atomic_store(&g_fw, 1);
            if (wait_for(&g_fw_cycles, fw_cycles, NULL, 60.0) != 0 ||
                wait_for(NULL, 0, &g_fw_on_seen, 10.0) != 0) {
                fprintf(stderr, PROG ": freewheel: %lu of %lu cycles, notified: %d\n",
                        atomic_load(&g_fw_cycles), fw_cycles, atomic_load(&g_fw_on_seen));
                rc = 3;
            }
            atomic_store(&g_fw, 0);
            if (jack_set_freewheel(c, 0) != 0) {
                fprintf(stderr, PROG ": jack_set_freewheel(0) failed\n");
                rc = 1;
            } else if (!rc && (wait_for(NULL, 0, &g_fw_off_seen, 10.0) != 0 ||
                               wait_for(&g_cycles, atomic_load(&g_cycles) + 4, NULL, 30.0) != 0)) {
                fprintf(stderr, PROG ": freewheel did not end (notified: %d)\n",
                        atomic_load(&g_fw_off_seen));
                rc = 3;
            }
        }
    }
    jack_deactivate(c);
    atomic_store(&g_stop_busy, 1);
    pthread_join(th, NULL);
    printf(PROG ": mode %s, %lu cycles, %lu in freewheel, %d dirty actions\n", mode_names[g_mode],
           atomic_load(&g_cycles), atomic_load(&g_fw_cycles), (int)atomic_load(&g_dirty_done));
    fflush(stdout);
    jack_client_close(c);
    lo_message_free(g_osc_msg);
    lo_address_free(g_osc_to);
    close(g_devnull);
    if (use_exit)
        _exit(rc);
    return rc;
}
