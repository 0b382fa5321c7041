/*
 * test_ictal_play.c — ictal-play end to end against a private jackd.
 *
 * A capture client in this process (input ports named like ictal-play's
 * outputs, plus `gate`) records every sample that arrives with gate >= 0.5,
 * the gate's edges, and the transport frame of each sample; ictal-play runs
 * as a child process. The recordings are written here with the EDF+ writer
 * and the expected samples come from ictal_edf_read + ictal_edf_scale, which
 * is what ictal-run feeds its pipeline: in freewheel the captured samples
 * must equal them bit for bit.
 *
 *   test_ictal_play a    256 Hz / 64: bit-exact freewheel replays, --start,
 *                        --loop pads, channels, port names and metadata,
 *                        --wait, name clash, real time, OSC, server death
 *   test_ictal_play b    rate conversion (512 Hz server), transport (1024 Hz)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jack/jack.h>
#include <jack/metadata.h>
#include <jack/transport.h>
#include <jack/uuid.h>
#include <lo/lo.h>

#include "ictal/edf.h"
#include "ictal/edfwrite.h"
#include "ictal/error.h"
#include "jack_fixture.h"
#include "test_util.h"

extern char **environ;

#define PI 3.14159265358979323846

/* ---- small helpers -------------------------------------------------------------- */

/* A recording: n channels at `rate` Hz, `seconds` long; sample i of channel
 * c is value(c, i) (µV, written through the 16-bit EDF+ writer, so the file
 * holds it quantised). Annotations optional. */
struct annot_spec {
    double onset, duration; /* duration < 0: none */
    const char *text;
};

static void write_edf(const char *path, int n, int rate, int seconds, const char *const *labels,
                      double (*value)(int c, int64_t i), const struct annot_spec *an, int n_an)
{
    struct ictal_edfwrite_config wc;
    memset(&wc, 0, sizeof wc);
    wc.path = path;
    wc.n_signals = n;
    wc.sample_rate = rate;
    wc.labels = labels;
    wc.phys_dim = "uV";
    wc.phys_min = -3276.8;
    wc.phys_max = 3276.7;
    wc.dig_min = -32768;
    wc.dig_max = 32767;
    wc.year = 2020;
    wc.month = 1;
    wc.day = 1;
    wc.hour = 9;
    wc.max_annotations = n_an > 0 ? n_an : 1;
    wc.expected_records = seconds;
    struct ictal_error err;
    struct ictal_edfwrite *w = ictal_edfwrite_create(&wc, &err);
    if (!w)
        fail_msg("edfwrite %s: %s", path, err.msg);
    float *rec = malloc((size_t)n * (size_t)rate * sizeof *rec);
    assert_non_null(rec);
    for (int s = 0; s < seconds; s++) {
        for (int c = 0; c < n; c++)
            for (int i = 0; i < rate; i++)
                rec[c * rate + i] = (float)value(c, (int64_t)s * rate + i);
        assert_int_equal(ictal_edfwrite_record(w, rec, (size_t)rate, &err), 0);
    }
    free(rec);
    for (int k = 0; k < n_an; k++)
        assert_int_equal(ictal_edfwrite_annotation(w, an[k].onset, an[k].duration, an[k].text,
                                                   &err), 0);
    assert_int_equal(ictal_edfwrite_close(w, &err), 0);
}

/* What ictal-run would feed the pipeline: the selection's samples in µV.
 * Returns n_sel planes of *len floats (caller frees with free_planes). */
static float **expected(const char *path, const char *const *sel, size_t n_sel, int64_t *len)
{
    struct ictal_error err;
    struct ictal_edf *e = ictal_edf_open(path, &err);
    if (!e)
        fail_msg("%s", err.msg);
    if (n_sel)
        assert_int_equal(ictal_edf_select(e, sel, n_sel, &err), 0);
    size_t n = ictal_edf_selected_count(e);
    int64_t L = ictal_edf_length(e);
    float **p = calloc(n, sizeof *p);
    assert_non_null(p);
    for (size_t c = 0; c < n; c++) {
        p[c] = malloc((size_t)L * sizeof **p);
        assert_non_null(p[c]);
    }
    assert_int_equal(ictal_edf_read(e, 0, (size_t)L, p, &err), L);
    for (size_t c = 0; c < n; c++) {
        bool known;
        ictal_edf_scale(p[c], (size_t)L, ictal_edf_unit_to_uv(ictal_edf_selected(e, c)->unit,
                                                               &known));
    }
    ictal_edf_close(e);
    *len = L;
    return p;
}

static void free_planes(float **p, size_t n)
{
    if (!p)
        return;
    for (size_t c = 0; c < n; c++)
        free(p[c]);
    free(p);
}

static bool same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* ---- ictal-play as a child process ------------------------------------------------ */

static pid_t g_child;

/* Run ICTAL_PLAY_EXE with args (NULL-terminated, without argv[0]); stderr
 * into `log`. */
static pid_t spawn_play(const char *log, const char *const *args)
{
    char *argv[40]; /* posix_spawn takes char *const[]: copies */
    int n = 0;
    argv[n++] = strdup(ICTAL_PLAY_EXE);
    for (int i = 0; args[i] && n < 39; i++)
        argv[n++] = strdup(args[i]);
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int e = posix_spawn(&pid, ICTAL_PLAY_EXE, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < n; i++)
        free(argv[i]);
    if (e != 0)
        fail_msg("posix_spawn %s: %s", ICTAL_PLAY_EXE, strerror(e));
    g_child = pid;
    return pid;
}

/* Exit status of the child within timeout_s (-1: killed after the timeout,
 * 128+N: died of signal N). */
static int wait_play(pid_t pid, double timeout_s)
{
    double t0 = test_now_s();
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (test_now_s() - t0 > timeout_s) {
            test_dump_stacks(pid);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            g_child = 0;
            return -1;
        }
        test_sleep_ms(10);
    }
    g_child = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *slurp(const char *path)
{
    size_t len;
    char *s = test_read_file(path, &len);
    return s ? s : strdup("");
}

static void print_log(const char *path)
{
    char *s = slurp(path);
    print_message("---- %s ----\n%s----\n", path, s);
    free(s);
}

/* ---- the capture client ------------------------------------------------------------ */

#define MAXCH 8
#define CAP ((size_t)1 << 20)
#define MAX_EDGES 256

struct edge {
    uint64_t total; /* sample index since the client started */
    size_t n;       /* gate-1 samples recorded before it */
};

struct cap {
    jack_client_t *c;
    char name[64];
    int n_in;
    jack_port_t *in[MAXCH], *gate;
    float *data[MAXCH];       /* (n_in, CAP) gate-1 samples */
    int64_t *tframe;          /* (CAP) transport frame of each, -1 when not rolling */
    _Atomic size_t n;
    _Atomic uint64_t total, cycles, overflow, nonzero_gate0, xruns;
    _Atomic int rises, falls;
    struct edge rise[MAX_EDGES], fall[MAX_EDGES];
    bool hi;                  /* callback only */
    _Atomic jack_nframes_t last_frame;
    _Atomic int last_state;
    atomic_bool freewheeling;
};

static struct cap g_cap;

/* Port metadata as set on *our* server. jack2 1.9.21 keeps the metadata of
 * every server of a user in one Berkeley DB (/dev/shm/jack_db-<uid>), keyed
 * by port UUID, and a port's UUID is its index on its server: a server running
 * alongside (another test) overwrites or deletes ours through its own ports,
 * and one that exits removes the DB files (processes that opened them keep a
 * copy nobody else sees). Property-change notifications come from our own
 * server, though: the capture client records each with the value read at
 * that moment. */
#define MAX_PROPS 128
static struct {
    pthread_mutex_t mu;
    int n;
    struct {
        jack_uuid_t subject;
        char key[96];
        char value[64];
    } e[MAX_PROPS];
} g_props = { PTHREAD_MUTEX_INITIALIZER, 0, { { 0, "", "" } } };

static void cap_property(jack_uuid_t subject, const char *key, jack_property_change_t change,
                         void *arg)
{
    (void)arg;
    if (change == PropertyDeleted || !key)
        return;
    char *value = NULL, *type = NULL;
    int got = jack_get_property(subject, key, &value, &type);
    pthread_mutex_lock(&g_props.mu);
    if (g_props.n < MAX_PROPS) {
        int k = g_props.n++;
        g_props.e[k].subject = subject;
        snprintf(g_props.e[k].key, sizeof g_props.e[k].key, "%s", key);
        snprintf(g_props.e[k].value, sizeof g_props.e[k].value, "%s",
                 got == 0 && value ? value : "");
    }
    pthread_mutex_unlock(&g_props.mu);
    if (value)
        jack_free(value);
    if (type)
        jack_free(type);
}

/* Was key set on port p (as our server announced it)? Waits up to 10 s.
 * 1: with the value want; 0: with a value that could not be read (another
 * server's exit removed the shared DB, /dev/shm/jack_db-<uid>, between
 * ictal-play's write and our read); -1: never, or to another value. */
static int port_prop_is(jack_port_t *p, const char *key, const char *want)
{
    jack_uuid_t u = jack_port_uuid(p);
    double t0 = test_now_s(), t_seen = 0;
    int best = -1;
    do {
        pthread_mutex_lock(&g_props.mu);
        for (int k = 0; k < g_props.n; k++) {
            if (jack_uuid_compare(g_props.e[k].subject, u) != 0 ||
                strcmp(g_props.e[k].key, key) != 0)
                continue;
            if (strcmp(g_props.e[k].value, want) == 0)
                best = 1;
            else if (!g_props.e[k].value[0] && best < 0)
                best = 0;
        }
        pthread_mutex_unlock(&g_props.mu);
        if (best == 1)
            return 1;
        if (best == 0 && t_seen == 0)
            t_seen = test_now_s();
        if (best == 0 && test_now_s() - t_seen > 0.5)
            return 0; /* announced, unreadable: no use waiting */
        test_sleep_ms(20);
    } while (test_now_s() - t0 < 10);
    return best;
}

static int cap_process(jack_nframes_t nf, void *arg)
{
    struct cap *k = arg;
    const float *in[MAXCH];
    for (int c = 0; c < k->n_in; c++)
        in[c] = jack_port_get_buffer(k->in[c], nf);
    const float *g = jack_port_get_buffer(k->gate, nf);
    jack_position_t pos;
    jack_transport_state_t st = jack_transport_query(k->c, &pos);
    size_t n = atomic_load_explicit(&k->n, memory_order_relaxed);
    uint64_t total = atomic_load_explicit(&k->total, memory_order_relaxed);
    for (jack_nframes_t i = 0; i < nf; i++) {
        bool hi = g[i] >= 0.5f;
        if (hi != k->hi) {
            _Atomic int *cnt = hi ? &k->rises : &k->falls;
            int e = atomic_load_explicit(cnt, memory_order_relaxed);
            if (e < MAX_EDGES) {
                struct edge *ed = hi ? &k->rise[e] : &k->fall[e];
                ed->total = total + i;
                ed->n = n;
            }
            atomic_store_explicit(cnt, e + 1, memory_order_release);
            k->hi = hi;
        }
        if (hi) {
            if (n < CAP) {
                for (int c = 0; c < k->n_in; c++)
                    k->data[c][n] = in[c][i];
                k->tframe[n] = st == JackTransportRolling ? (int64_t)pos.frame + i : -1;
                n++;
            } else {
                atomic_fetch_add_explicit(&k->overflow, 1, memory_order_relaxed);
            }
        } else {
            for (int c = 0; c < k->n_in; c++)
                if (in[c][i] != 0.0f) {
                    atomic_fetch_add_explicit(&k->nonzero_gate0, 1, memory_order_relaxed);
                    break;
                }
        }
    }
    atomic_store_explicit(&k->n, n, memory_order_release);
    atomic_store_explicit(&k->total, total + nf, memory_order_relaxed);
    atomic_store_explicit(&k->last_frame, pos.frame, memory_order_relaxed);
    atomic_store_explicit(&k->last_state, (int)st, memory_order_relaxed);
    atomic_fetch_add_explicit(&k->cycles, 1, memory_order_release);
    return 0;
}

static void cap_freewheel(int starting, void *arg)
{
    struct cap *k = arg;
    atomic_store(&k->freewheeling, starting != 0);
}

static int cap_xrun(void *arg)
{
    struct cap *k = arg;
    atomic_fetch_add_explicit(&k->xruns, 1, memory_order_relaxed);
    return 0;
}

/* Close the JACK client, keep what it recorded. Like a consumer that exits
 * when the gate falls (ictal-detect --exit-on-idle), it first waits until
 * the server no longer freewheels: jack2 1.9.21 wedges when a client closes
 * during freewheel or while the end of freewheel is being announced. */
static void cap_leave(void)
{
    double t0 = test_now_s();
    while (g_cap.c && atomic_load(&g_cap.freewheeling) && test_now_s() - t0 < 20)
        test_sleep_ms(5);
    if (g_cap.c)
        jack_client_close(g_cap.c);
    g_cap.c = NULL;
}

static void cap_close(void)
{
    struct cap *k = &g_cap;
    cap_leave();
    for (int c = 0; c < MAXCH; c++)
        free(k->data[c]);
    free(k->tframe);
    memset(k, 0, sizeof *k);
}

/* Open and activate a capture client with input ports `names` + "gate". */
static void cap_open(const char *base, const char *const *names, int n)
{
    struct cap *k = &g_cap;
    cap_close();
    assert_true(n <= MAXCH);
    jackfix_client_name(k->name, sizeof k->name, base);
    jack_status_t st = 0;
    k->c = jack_client_open(k->name, JackNoStartServer, &st);
    if (!k->c)
        fail_msg("capture client %s: status 0x%x", k->name, (unsigned)st);
    k->n_in = n;
    for (int c = 0; c < n; c++) {
        k->in[c] = jack_port_register(k->c, names[c], JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        assert_non_null(k->in[c]);
        k->data[c] = calloc(CAP, sizeof(float));
        assert_non_null(k->data[c]);
    }
    k->gate = jack_port_register(k->c, "gate", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    assert_non_null(k->gate);
    k->tframe = calloc(CAP, sizeof *k->tframe);
    assert_non_null(k->tframe);
    assert_int_equal(jack_set_process_callback(k->c, cap_process, k), 0);
    assert_int_equal(jack_set_xrun_callback(k->c, cap_xrun, k), 0);
    assert_int_equal(jack_set_freewheel_callback(k->c, cap_freewheel, k), 0);
    pthread_mutex_lock(&g_props.mu);
    g_props.n = 0;
    pthread_mutex_unlock(&g_props.mu);
    assert_int_equal(jack_set_property_change_callback(k->c, cap_property, k), 0);
    assert_int_equal(jack_activate(k->c), 0);
}

static size_t cap_n(void)
{
    return atomic_load_explicit(&g_cap.n, memory_order_acquire);
}

/* Wait until the capture holds at least n samples (false on timeout). */
static bool cap_wait_n(size_t n, double timeout_s)
{
    double t0 = test_now_s();
    while (cap_n() < n) {
        if (test_now_s() - t0 > timeout_s)
            return false;
        test_sleep_ms(5);
    }
    return true;
}

static void cap_wait_cycles(uint64_t k, double timeout_s)
{
    uint64_t c0 = atomic_load(&g_cap.cycles);
    double t0 = test_now_s();
    while (atomic_load(&g_cap.cycles) < c0 + k && test_now_s() - t0 < timeout_s)
        test_sleep_ms(5);
}

/* ---- fixture ---------------------------------------------------------------------- */

static struct jackfix g_fx;
static unsigned g_rate = 256, g_period = 64;

static int setup_server(void **state)
{
    (void)state;
    /* 96 idle dummy capture ports: our clients' ports get indices from 96
     * on, and with them metadata UUIDs that other tests' servers (whose
     * ports start at index 0) hardly ever use (see g_props) */
    struct jackfix_config cfg = { .rate = g_rate, .period = g_period, .capture = 96,
                                  .name_hint = "play" };
    /* ictal-play reads no system or user configuration in tests */
    char d[1024];
    setenv("ICTAL_SYSCONFDIR", test_path(d, sizeof d, "no-sysconf"), 1);
    setenv("XDG_CONFIG_HOME", test_path(d, sizeof d, "no-xdg"), 1);
    unsetenv("ICTAL_PROFILE");
    return jackfix_start(&g_fx, &cfg) == 0 ? 0 : -1;
}

static int teardown_server(void **state)
{
    (void)state;
    if (g_child > 0) {
        kill(g_child, SIGKILL);
        waitpid(g_child, NULL, 0);
        g_child = 0;
    }
    cap_close();
    jackfix_stop(&g_fx);
    return 0;
}

/* A client name for ictal-play unique to this test process and run. */
static void play_name(char *buf, size_t cap, const char *base)
{
    static int k;
    char b[32];
    snprintf(b, sizeof b, "%s%d", base, ++k);
    jackfix_client_name(buf, cap, b);
}

/* After each test: a child a failing test left behind, and the capture
 * client (the next test opens its own). */
static int teardown_test(void **state)
{
    (void)state;
    if (g_child > 0) {
        kill(g_child, SIGKILL);
        waitpid(g_child, NULL, 0);
        g_child = 0;
    }
    cap_close();
    return 0;
}

/* ---- recordings ------------------------------------------------------------------- */

/* Values that differ in every sample and channel (a pseudo-random walk in
 * 0.1 µV steps, exactly representable after the EDF round trip). */
static double v_noise(int c, int64_t i)
{
    uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull + (uint64_t)c * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 29;
    return ((double)(int)(x % 20001) - 10000.0) * 0.1;
}

static const char *const LABELS4[] = { "FP1-F7", "F7-T7", "T8-P8", "T8-P8" };
/* the port names ictal-play gives them (duplicate label: #2) */
static const char *const PORTS4[] = { "FP1-F7", "F7-T7", "T8-P8", "T8-P8#2" };

/* Check gate-1 samples [from, from+n) of the capture against exp[c][off..]. */
static void check_run(float **exp, int n_ch, size_t from, size_t n, int64_t off)
{
    for (size_t j = 0; j < n; j++)
        for (int c = 0; c < n_ch; c++)
            if (!same_float(g_cap.data[c][from + j], exp[c][off + (int64_t)j]))
                fail_msg("channel %d, captured sample %zu (file sample %lld): got %.9g, "
                         "expected %.9g",
                         c, from + j, (long long)(off + (int64_t)j), g_cap.data[c][from + j],
                         exp[c][off + (int64_t)j]);
}

/* ---- group exact: freewheel replays are bit-exact ----------------------------------- */

static char g_file4[1024];

static void make_file4(void)
{
    test_path(g_file4, sizeof g_file4, "four.edf");
    write_edf(g_file4, 4, 256, 20, LABELS4, v_noise, NULL, 0);
}

static void test_freewheel_exact(void **state)
{
    (void)state;
    make_file4();
    int64_t L;
    float **exp = expected(g_file4, NULL, 0, &L);
    assert_int_equal(L, 20 * 256);
    cap_open("cap", PORTS4, 4);
    char name[64], spec[128], log[1024];
    play_name(name, sizeof name, "play");
    snprintf(spec, sizeof spec, "%s:.*", g_cap.name);
    test_path(log, sizeof log, "exact.log");
    const char *args[] = { "-n", name, "--freewheel", "--connect", spec, g_file4, NULL };
    int rc = wait_play(spawn_play(log, args), 60);
    if (rc != 0)
        print_log(log);
    assert_int_equal(rc, 0);
    assert_int_equal(cap_n(), (size_t)L);
    check_run(exp, 4, 0, (size_t)L, 0);
    /* one stream: one rising edge before the first sample, one falling edge
     * right after the last */
    assert_int_equal(atomic_load(&g_cap.rises), 1);
    assert_int_equal(atomic_load(&g_cap.falls), 1);
    assert_int_equal(g_cap.fall[0].total - g_cap.rise[0].total, (uint64_t)L);
    assert_int_equal(atomic_load(&g_cap.nonzero_gate0), 0);
    char *txt = slurp(log);
    if (!strstr(txt, "played 20.000 s (5120 samples x 4 channels at 256 Hz)") ||
        !strstr(txt, "0 underruns"))
        fail_msg("summary line: %s", txt);
    /* one line on stderr: the summary */
    assert_non_null(strchr(txt, '\n'));
    assert_null(strchr(strchr(txt, '\n') + 1, '\n'));
    free(txt);
    free_planes(exp, 4);
}

static void test_freewheel_start(void **state)
{
    (void)state;
    make_file4();
    int64_t L;
    float **exp = expected(g_file4, NULL, 0, &L);
    cap_open("cap", PORTS4, 4);
    char name[64], spec[128], log[1024];
    play_name(name, sizeof name, "play");
    snprintf(spec, sizeof spec, "%s:.*", g_cap.name);
    test_path(log, sizeof log, "start.log");
    const char *args[] = { "-n", name, "--freewheel", "--connect", spec, "--start", "5s",
                           "--set", "log.level=debug", g_file4, NULL };
    pid_t pid = spawn_play(log, args);
    /* Like ictal-detect --exit-on-idle, leave when the gate falls: ictal-play
     * lets us go first (jack2 can deadlock on two teardowns at once) */
    double t0 = test_now_s();
    while (atomic_load(&g_cap.falls) < 1 && test_now_s() - t0 < 60)
        test_sleep_ms(5);
    cap_leave();
    int rc = wait_play(pid, 60);
    if (rc != 0)
        print_log(log);
    assert_int_equal(rc, 0);
    /* it waited until we were gone ("they left"), or we were gone already
     * when it looked */
    char *dbg = slurp(log);
    if (!strstr(dbg, "for 1 connected client(s) to leave first: they left") &&
        !strstr(dbg, "for 0 connected client(s) to leave first: none was connected"))
        fail_msg("ictal-play did not wait for the capture client to leave: %s", dbg);
    free(dbg);
    assert_int_equal(cap_n(), (size_t)(L - 5 * 256));
    check_run(exp, 4, 0, cap_n(), 5 * 256);
    assert_int_equal(atomic_load(&g_cap.rises), 1);
    assert_int_equal(atomic_load(&g_cap.falls), 1);
    free_planes(exp, 4);
}

static void test_freewheel_loop(void **state)
{
    (void)state;
    make_file4();
    int64_t L;
    float **exp = expected(g_file4, NULL, 0, &L);
    cap_open("cap", PORTS4, 4);
    char name[64], spec[128], log[1024];
    play_name(name, sizeof name, "play");
    snprintf(spec, sizeof spec, "%s:.*", g_cap.name);
    test_path(log, sizeof log, "loop.log");
    const char *args[] = { "-n", name, "--freewheel", "--loop", "--start", "15",
                           "--connect", spec, g_file4, NULL };
    pid_t pid = spawn_play(log, args);
    const size_t pass = 5 * 256;
    bool got = cap_wait_n(3 * pass + 10, 30);
    kill(pid, SIGTERM);
    int rc = wait_play(pid, 30);
    if (!got || rc != 0)
        print_log(log);
    assert_true(got);
    assert_int_equal(rc, 0); /* SIGTERM: a clean stop */
    /* passes of exactly `pass` samples, each from --start, separated by
     * exactly one gate-0 sample */
    size_t n = cap_n();
    int rises = atomic_load(&g_cap.rises), falls = atomic_load(&g_cap.falls);
    assert_true(rises >= 4);
    assert_true(falls >= 3);
    for (int e = 0; e < 3; e++)
        if (g_cap.fall[e].n - g_cap.rise[e].n != pass ||
            g_cap.rise[e + 1].total - g_cap.fall[e].total != 1) {
            print_log(log);
            for (int k = 0; k < 4; k++)
                print_message("edge %d: rise at %llu (n %zu), fall at %llu (n %zu)\n", k,
                              (unsigned long long)g_cap.rise[k].total, g_cap.rise[k].n,
                              (unsigned long long)g_cap.fall[k].total, g_cap.fall[k].n);
            print_message("capture xruns: %llu\n", (unsigned long long)atomic_load(&g_cap.xruns));
            break;
        }
    for (int e = 0; e < 3; e++) {
        assert_int_equal(g_cap.fall[e].n - g_cap.rise[e].n, pass);
        assert_int_equal(g_cap.rise[e + 1].total - g_cap.fall[e].total, 1);
    }
    for (size_t j = 0; j < n; j += pass)
        check_run(exp, 4, j, n - j < pass ? n - j : pass, 15 * 256);
    char *txt = slurp(log);
    assert_non_null(strstr(txt, "pad(s)"));
    free(txt);
    free_planes(exp, 4);
}

static const char *prop(jack_port_t *p, const char *key, char *buf, size_t cap)
{
    char *value = NULL, *type = NULL;
    buf[0] = '\0';
    if (jack_get_property(jack_port_uuid(p), key, &value, &type) == 0) {
        snprintf(buf, cap, "%s", value);
        jack_free(value);
        if (type)
            jack_free(type);
    }
    return buf;
}

/* Channel selection, port names, order and metadata; --wait starts only
 * when every output is connected; a second instance under the same name
 * fails cleanly. */
static void test_channels_wait_metadata(void **state)
{
    (void)state;
    make_file4();
    int64_t L;
    const char *sel[] = { "T8-P8#2", "fp1-f7" };
    float **exp = expected(g_file4, sel, 2, &L);
    const char *capn[] = { "a", "b" };
    cap_open("cap", capn, 2);
    char name[64], log[1024];
    play_name(name, sizeof name, "play");
    test_path(log, sizeof log, "wait.log");
    const char *args[] = { "-n", name, "--channels", "T8-P8#2", "--channels", "fp1-f7", "--wait",
                           g_file4, NULL };
    pid_t pid = spawn_play(log, args);

    /* the ports appear, in selection order, then the gate */
    char pat[128];
    snprintf(pat, sizeof pat, "^%s:", name);
    const char **ports = NULL;
    double t0 = test_now_s();
    while (test_now_s() - t0 < 20) {
        ports = jack_get_ports(g_cap.c, pat, NULL, JackPortIsOutput);
        if (ports && ports[0] && ports[1] && ports[2])
            break;
        if (ports)
            jack_free(ports);
        ports = NULL;
        test_sleep_ms(20);
    }
    if (!ports)
        print_log(log);
    assert_non_null(ports);
    char full[3][128];
    snprintf(full[0], sizeof full[0], "%s:T8-P8#2", name);
    snprintf(full[1], sizeof full[1], "%s:FP1-F7", name);
    snprintf(full[2], sizeof full[2], "%s:gate", name);
    assert_string_equal(ports[0], full[0]);
    assert_string_equal(ports[1], full[1]);
    assert_string_equal(ports[2], full[2]);
    assert_null(ports[3]);
    jack_free(ports);

    char buf[256];
    jack_port_t *p0 = jack_port_by_name(g_cap.c, full[0]);
    jack_port_t *p1 = jack_port_by_name(g_cap.c, full[1]);
    jack_port_t *pg = jack_port_by_name(g_cap.c, full[2]);
    assert_non_null(p0);
    assert_non_null(p1);
    assert_non_null(pg);
    /* the metadata, as our server announced it */
    const struct {
        int port;
        const char *key, *value;
    } want[] = {
        { 0, JACK_METADATA_PRETTY_NAME, "T8-P8" }, { 0, JACK_METADATA_SIGNAL_TYPE, "CV" },
        { 0, JACK_METADATA_ORDER, "0" },          { 0, JACK_METADATA_PORT_GROUP, "EEG" },
        { 1, JACK_METADATA_PRETTY_NAME, "FP1-F7" }, { 1, JACK_METADATA_ORDER, "1" },
        { 1, JACK_METADATA_SIGNAL_TYPE, "CV" },   { 2, JACK_METADATA_SIGNAL_TYPE, "CV" },
        { 2, JACK_METADATA_ORDER, "2" },
    };
    jack_port_t *pp[3] = { p0, p1, pg };
    int unreadable = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int r = port_prop_is(pp[want[i].port], want[i].key, want[i].value);
        unreadable += r == 0;
        if (r < 0)
            fail_msg("port %s: %s was not set to \"%s\" (now \"%s\")", full[want[i].port],
                     want[i].key, want[i].value,
                     prop(pp[want[i].port], want[i].key, buf, sizeof buf));
    }
    if (unreadable)
        print_message("note: %d of %zu metadata values were set but unreadable here (the shared "
                      "metadata DB was removed by another JACK server meanwhile)\n",
                      unreadable, sizeof want / sizeof want[0]);

    /* a second client under the same name: exit 1, one clear line */
    char log2[1024];
    test_path(log2, sizeof log2, "dup.log");
    const char *args2[] = { "-n", name, g_file4, NULL };
    int rc2 = wait_play(spawn_play(log2, args2), 30);
    char *txt2 = slurp(log2);
    if (rc2 != 1 || !strstr(txt2, "already has a client named"))
        fail_msg("second instance: status %d, stderr: %s", rc2, txt2);
    free(txt2);

    /* every data port connected but not the gate: still waiting (someone
     * else connects, and may connect the gate last); with the capture's gate
     * input unconnected, any sample played would count as nonzero_gate0 */
    char gate_in[128], a_in[128], b_in[128];
    snprintf(gate_in, sizeof gate_in, "%s:gate", g_cap.name);
    snprintf(a_in, sizeof a_in, "%s:a", g_cap.name);
    snprintf(b_in, sizeof b_in, "%s:b", g_cap.name);
    assert_int_equal(jack_connect(g_cap.c, full[0], a_in), 0);
    assert_int_equal(jack_connect(g_cap.c, full[1], b_in), 0);
    cap_wait_cycles(4, 10);
    assert_int_equal(atomic_load(&g_cap.nonzero_gate0), 0);
    assert_int_equal(cap_n(), 0);
    /* the gate too: playback starts (in real time here) */
    assert_int_equal(jack_connect(g_cap.c, full[2], gate_in), 0);
    bool got = cap_wait_n(256, 20);
    kill(pid, SIGTERM);
    int rc = wait_play(pid, 30);
    if (!got || rc != 0)
        print_log(log);
    assert_true(got);
    assert_int_equal(rc, 0);
    check_run(exp, 2, 0, cap_n(), 0);
    assert_int_equal(atomic_load(&g_cap.rises), 1);
    assert_int_equal(atomic_load(&g_cap.nonzero_gate0), 0);
    /* the ports went away with the client */
    assert_null(jack_port_by_name(g_cap.c, full[0]));
    free_planes(exp, 2);
}

/* ---- group rate: a 256 Hz file into a 512 Hz server ---------------------------------- */

static double v_sines(int c, int64_t i)
{
    double t = (double)i / 256.0;
    return c == 0 ? 100.0 * sin(2 * PI * 10.0 * t) : 50.0 * sin(2 * PI * 3.0 * t + 0.5);
}

static void test_rate_conversion(void **state)
{
    (void)state;
    char file[1024];
    test_path(file, sizeof file, "sines.edf");
    const char *labels[] = { "C3", "C4" };
    write_edf(file, 2, 256, 10, labels, v_sines, NULL, 0);
    cap_open("cap", labels, 2);
    char name[64], spec[128], log[1024];
    play_name(name, sizeof name, "play");
    snprintf(spec, sizeof spec, "%s:.*", g_cap.name);
    test_path(log, sizeof log, "rate.log");
    const char *args[] = { "-n", name, "--freewheel", "--connect", spec, file, NULL };
    int rc = wait_play(spawn_play(log, args), 60);
    if (rc != 0)
        print_log(log);
    assert_int_equal(rc, 0);
    /* exactly twice the samples, one stream */
    assert_int_equal(cap_n(), 2 * 10 * 256);
    assert_int_equal(atomic_load(&g_cap.rises), 1);
    assert_int_equal(atomic_load(&g_cap.falls), 1);
    /* output j stands for t = j / 512 s: the same sines, away from the ends
     * (the converter's filter sees zeros beyond them) */
    double max_err[2] = { 0, 0 };
    for (size_t j = 256; j < cap_n() - 256; j++)
        for (int c = 0; c < 2; c++) {
            double want = (c == 0 ? 100.0 * sin(2 * PI * 10.0 * j / 512.0)
                                                      : 50.0 * sin(2 * PI * 3.0 * j / 512.0 +
                                                                   0.5));
            double e = fabs(g_cap.data[c][j] - want);
            if (e > max_err[c])
                max_err[c] = e;
        }
    print_message("rate conversion 256 -> 512 Hz: max |error| %.4f uV (10 Hz), %.4f uV (3 Hz)\n",
                  max_err[0], max_err[1]);
    assert_true(max_err[0] < 0.25); /* of 100 uV; a one-sample shift is ~12 uV */
    assert_true(max_err[1] < 0.25); /* of 50 uV */
    char *txt = slurp(log);
    assert_non_null(strstr(txt, "(5120 samples x 2 channels at 512 Hz)"));
    free(txt);
}

/* ---- group realtime: 256 Hz / 64, a short file arrives complete ---------------------- */

static void test_realtime_complete(void **state)
{
    (void)state;
    char file[1024];
    test_path(file, sizeof file, "short.edf");
    const char *labels[] = { "Cz", "Pz" };
    write_edf(file, 2, 256, 3, labels, v_noise, NULL, 0);
    int64_t L;
    float **exp = expected(file, NULL, 0, &L);
    cap_open("cap", labels, 2);
    char name[64], spec[128], log[1024];
    play_name(name, sizeof name, "play");
    snprintf(spec, sizeof spec, "%s:.*", g_cap.name);
    test_path(log, sizeof log, "realtime.log");
    const char *args[] = { "-n", name, "--connect", spec, file, NULL };
    int rc = wait_play(spawn_play(log, args), 60);
    if (rc != 0)
        print_log(log);
    assert_int_equal(rc, 0);
    assert_int_equal(cap_n(), (size_t)L);
    check_run(exp, 2, 0, (size_t)L, 0);
    assert_int_equal(atomic_load(&g_cap.rises), 1);
    assert_int_equal(atomic_load(&g_cap.falls), 1);
    char *txt = slurp(log);
    if (!strstr(txt, " 0 underruns"))
        fail_msg("expected 0 underruns: %s", txt);
    free(txt);
    free_planes(exp, 2);
}

/* ---- group transport: start, stop, locate -------------------------------------------- */

/* Channel 0 names its own position: sample i is (i mod 30000) * 0.1 - 1500 µV. */
static double v_ramp(int c, int64_t i)
{
    return c == 0 ? (double)(i % 30000) * 0.1 - 1500.0 : v_noise(c, i);
}

static void test_transport(void **state)
{
    (void)state;
    const int rate = 1024;
    char file[1024];
    test_path(file, sizeof file, "ramp.edf");
    const char *labels[] = { "ramp", "x" };
    write_edf(file, 2, rate, 30, labels, v_ramp, NULL, 0);
    int64_t L;
    float **exp = expected(file, NULL, 0, &L);
    cap_open("cap", labels, 2);
    jack_transport_stop(g_cap.c);
    jack_transport_locate(g_cap.c, 0);
    cap_wait_cycles(3, 10);

    char name[64], spec[128], log[1024];
    play_name(name, sizeof name, "play");
    snprintf(spec, sizeof spec, "%s:.*", g_cap.name);
    test_path(log, sizeof log, "transport.log");
    const char *args[] = { "-n", name, "--transport", "--connect", spec, file, NULL };
    pid_t pid = spawn_play(log, args);
    /* connected, transport stopped: nothing plays */
    char full[128];
    snprintf(full, sizeof full, "%s:gate", g_cap.name);
    jack_port_t *gin = jack_port_by_name(g_cap.c, full);
    double t0 = test_now_s();
    while (jack_port_connected(gin) <= 0 && test_now_s() - t0 < 20)
        test_sleep_ms(10);
    cap_wait_cycles(6, 10);
    assert_int_equal(cap_n(), 0);

    /* roll from 0 */
    jack_transport_start(g_cap.c);
    bool ok1 = cap_wait_n(rate, 20);
    jack_transport_stop(g_cap.c);
    cap_wait_cycles(3, 10);
    size_t n1 = cap_n();
    cap_wait_cycles(4, 10);
    assert_int_equal(cap_n(), n1); /* stopped: nothing more */

    /* locate while stopped, then roll: plays from there */
    jack_transport_locate(g_cap.c, 10000);
    cap_wait_cycles(8, 10);
    jack_transport_start(g_cap.c);
    bool ok2 = cap_wait_n(n1 + (size_t)rate, 20);
    size_t n2 = cap_n();
    /* locate while rolling */
    jack_transport_locate(g_cap.c, 20000);
    bool ok3 = cap_wait_n(n2 + (size_t)rate, 20);
    jack_transport_stop(g_cap.c);
    cap_wait_cycles(3, 10);
    kill(pid, SIGTERM);
    int rc = wait_play(pid, 30);
    if (!ok1 || !ok2 || !ok3 || rc != 0)
        print_log(log);
    assert_true(ok1 && ok2 && ok3);
    assert_int_equal(rc, 0);

    /* every sample that played is the file's sample at its transport frame */
    size_t n = cap_n(), bad = 0, first_bad = 0;
    for (size_t j = 0; j < n; j++) {
        int64_t f = g_cap.tframe[j];
        if (f < 0 || f >= L || !same_float(g_cap.data[0][j], exp[0][f]) ||
            !same_float(g_cap.data[1][j], exp[1][f])) {
            if (!bad++)
                first_bad = j;
        }
    }
    uint64_t xr = atomic_load(&g_cap.xruns);
    if (bad && xr == 0)
        fail_msg("%zu of %zu samples are not the file's sample at their transport frame "
                 "(first: captured %zu, frame %lld, value %.9g)",
                 bad, n, first_bad, (long long)g_cap.tframe[first_bad], g_cap.data[0][first_bad]);
    /* the first roll starts at frame 0; the second at the located 10000 (the
     * seek was served while stopped); the third somewhere after 20000 */
    assert_int_equal(g_cap.tframe[0], 0);
    assert_int_equal(g_cap.tframe[n1], 10000);
    int rises = atomic_load(&g_cap.rises);
    assert_true(rises >= 3);
    bool saw_20000 = false;
    for (size_t j = n2; j < n; j++)
        if (g_cap.tframe[j] >= 20000 && g_cap.tframe[j] < 20000 + rate)
            saw_20000 = true;
    assert_true(saw_20000);
    for (size_t j = n2; j < n; j++)
        if (g_cap.tframe[j] >= 20000) {
            print_message("after the locate to 20000 while rolling: first sample at frame %lld\n",
                          (long long)g_cap.tframe[j]);
            break;
        }
    free_planes(exp, 2);
}

/* ---- group osc: annotations arrive as /ictal/annotation ----------------------------- */

#define MAX_MSGS 16
static struct {
    int n;
    char source[64], file[128];
    double onset[MAX_MSGS], duration[MAX_MSGS];
    char text[MAX_MSGS][64];
    double tt[MAX_MSGS]; /* bundle timetag, Unix seconds */
    double bundle_tt;
    int bad;
} g_osc;
static pthread_mutex_t g_osc_mu = PTHREAD_MUTEX_INITIALIZER;

static int osc_bundle_start(lo_timetag t, void *user)
{
    (void)user;
    pthread_mutex_lock(&g_osc_mu);
    g_osc.bundle_tt = (double)t.sec - 2208988800.0 + (double)t.frac / 4294967296.0;
    pthread_mutex_unlock(&g_osc_mu);
    return 0;
}

static int osc_bundle_end(void *user)
{
    (void)user;
    return 0;
}

static int osc_annotation(const char *path, const char *types, lo_arg **argv, int argc,
                          lo_message msg, void *user)
{
    (void)path;
    (void)msg;
    (void)user;
    pthread_mutex_lock(&g_osc_mu);
    if (argc != 5 || strcmp(types, "ssdds") != 0) {
        g_osc.bad++;
    } else if (g_osc.n < MAX_MSGS) {
        int k = g_osc.n++;
        /* liblo's arguments may be misaligned for lo_arg: read by bytes */
        snprintf(g_osc.source, sizeof g_osc.source, "%s", (const char *)argv[0]);
        snprintf(g_osc.file, sizeof g_osc.file, "%s", (const char *)argv[1]);
        memcpy(&g_osc.onset[k], argv[2], sizeof(double));
        memcpy(&g_osc.duration[k], argv[3], sizeof(double));
        snprintf(g_osc.text[k], sizeof g_osc.text[k], "%s", (const char *)argv[4]);
        g_osc.tt[k] = g_osc.bundle_tt;
        g_osc.bundle_tt = 0;
    }
    pthread_mutex_unlock(&g_osc_mu);
    return 0;
}

static void osc_error(int num, const char *m, const char *where)
{
    print_error("liblo error %d: %s (%s)\n", num, m ? m : "", where ? where : "");
}

static int osc_count(void)
{
    pthread_mutex_lock(&g_osc_mu);
    int n = g_osc.n;
    pthread_mutex_unlock(&g_osc_mu);
    return n;
}

static void run_osc(lo_server_thread st, const char *file, const char *start, int expect_n)
{
    pthread_mutex_lock(&g_osc_mu);
    memset(&g_osc, 0, sizeof g_osc);
    pthread_mutex_unlock(&g_osc_mu);
    const char *labels[] = { "Cz" };
    cap_open("cap", labels, 1);
    char name[64], spec[128], log[1024], target[128];
    play_name(name, sizeof name, "play");
    snprintf(spec, sizeof spec, "%s:.*", g_cap.name);
    snprintf(target, sizeof target, "osc.udp://127.0.0.1:%d/", lo_server_thread_get_port(st));
    test_path(log, sizeof log, "osc.log");
    struct timespec w0;
    clock_gettime(CLOCK_REALTIME, &w0);
    const char *args[] = { "-n", name, "--freewheel", "--connect", spec, "--osc", target,
                           "--start", start, file, NULL };
    int rc = wait_play(spawn_play(log, args), 60);
    if (rc != 0)
        print_log(log);
    assert_int_equal(rc, 0);
    struct timespec w1;
    clock_gettime(CLOCK_REALTIME, &w1);
    double t0 = test_now_s();
    while (osc_count() < expect_n && test_now_s() - t0 < 5)
        test_sleep_ms(10);
    test_sleep_ms(100); /* nothing more may come */
    pthread_mutex_lock(&g_osc_mu);
    assert_int_equal(g_osc.bad, 0);
    assert_int_equal(g_osc.n, expect_n);
    assert_string_equal(g_osc.source, name);
    assert_string_equal(g_osc.file, "annot.edf");
    double a = (double)w0.tv_sec + w0.tv_nsec * 1e-9 - 1.0;
    double b = (double)w1.tv_sec + w1.tv_nsec * 1e-9 + 0.1;
    for (int k = 0; k < g_osc.n; k++)
        if (!(g_osc.tt[k] >= a && g_osc.tt[k] <= b))
            fail_msg("annotation %d: timetag %.3f outside the run [%.3f, %.3f]", k, g_osc.tt[k],
                     a, b);
    pthread_mutex_unlock(&g_osc_mu);
}

static void test_osc_annotations(void **state)
{
    (void)state;
    char file[1024];
    test_path(file, sizeof file, "annot.edf");
    const char *labels[] = { "Cz" };
    const struct annot_spec an[] = {
        { 1.0, 2.0, "eyes closed" },
        { 5.5, 3.0, "seizure" },
        { 8.25, -1, "note" },
    };
    write_edf(file, 1, 256, 10, labels, v_noise, an, 3);
    lo_server_thread st = lo_server_thread_new_with_proto(NULL, LO_UDP, osc_error);
    assert_non_null(st);
    lo_server_thread_add_method(st, "/ictal/annotation", NULL, osc_annotation, NULL);
    lo_server_add_bundle_handlers(lo_server_thread_get_server(st), osc_bundle_start,
                                  osc_bundle_end, NULL);
    assert_int_equal(lo_server_thread_start(st), 0);

    /* the whole file: all three, in onset order */
    run_osc(st, file, "0", 3);
    pthread_mutex_lock(&g_osc_mu);
    assert_string_equal(g_osc.text[0], "eyes closed");
    assert_true(fabs(g_osc.onset[0] - 1.0) < 1e-6 && fabs(g_osc.duration[0] - 2.0) < 1e-6);
    assert_string_equal(g_osc.text[1], "seizure");
    assert_true(fabs(g_osc.onset[1] - 5.5) < 1e-6 && fabs(g_osc.duration[1] - 3.0) < 1e-6);
    assert_string_equal(g_osc.text[2], "note");
    assert_true(fabs(g_osc.onset[2] - 8.25) < 1e-6 && g_osc.duration[2] == -1.0);
    pthread_mutex_unlock(&g_osc_mu);

    /* from 6 s: the seizure is in progress (sent at the start), the note
     * follows; eyes closed ended before */
    run_osc(st, file, "6s", 2);
    pthread_mutex_lock(&g_osc_mu);
    assert_string_equal(g_osc.text[0], "seizure");
    assert_true(fabs(g_osc.onset[0] - 5.5) < 1e-6);
    assert_string_equal(g_osc.text[1], "note");
    pthread_mutex_unlock(&g_osc_mu);

    lo_server_thread_stop(st);
    lo_server_thread_free(st);
}

/* ---- group shutdown: the server dies under ictal-play --------------------------------- */

static void test_server_death(void **state)
{
    (void)state;
    make_file4();
    cap_open("cap", PORTS4, 4);
    char name[64], spec[128], log[1024];
    play_name(name, sizeof name, "play");
    snprintf(spec, sizeof spec, "%s:.*", g_cap.name);
    test_path(log, sizeof log, "shutdown.log");
    const char *args[] = { "-n", name, "--connect", spec, g_file4, NULL };
    pid_t pid = spawn_play(log, args);
    bool got = cap_wait_n(64, 20);
    jackfix_stop(&g_fx);
    int rc = wait_play(pid, 30);
    char *txt = slurp(log);
    if (!got || rc != 3 || !strstr(txt, "the JACK server shut down"))
        fail_msg("status %d after the server died (played: %d); stderr: %s", rc, got, txt);
    free(txt);
    cap_close();
}

/* Two entries, one server at a time each (jack2 allows 8 servers per
 * machine, shared with every other test running): "a" at 256 Hz / 64, "b"
 * at other rates. Fixtures run one after the other in a process; every
 * client is closed in between. */
int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "a";
    int failed = 0;
    if (strcmp(part, "a") == 0) {
        const struct CMUnitTest exact[] = {
            cmocka_unit_test_teardown(test_freewheel_exact, teardown_test),
            cmocka_unit_test_teardown(test_freewheel_start, teardown_test),
            cmocka_unit_test_teardown(test_freewheel_loop, teardown_test),
            cmocka_unit_test_teardown(test_channels_wait_metadata, teardown_test),
            cmocka_unit_test_teardown(test_realtime_complete, teardown_test),
            cmocka_unit_test_teardown(test_osc_annotations, teardown_test),
        };
        failed += cmocka_run_group_tests_name("ictal-play at 256 Hz / 64", exact, setup_server,
                                              teardown_server);
        const struct CMUnitTest death[] = {
            cmocka_unit_test_teardown(test_server_death, teardown_test),
        };
        failed += cmocka_run_group_tests_name("ictal-play: server death", death, setup_server,
                                              teardown_server);
        return failed;
    }
    if (strcmp(part, "b") == 0) {
        g_rate = 512;
        const struct CMUnitTest rate[] = {
            cmocka_unit_test_teardown(test_rate_conversion, teardown_test),
        };
        failed += cmocka_run_group_tests_name("ictal-play: 256 Hz file, 512 Hz server", rate,
                                              setup_server, teardown_server);
        g_rate = 1024;
        const struct CMUnitTest transport[] = {
            cmocka_unit_test_teardown(test_transport, teardown_test),
        };
        failed += cmocka_run_group_tests_name("ictal-play: transport at 1024 Hz / 64", transport,
                                              setup_server, teardown_server);
        return failed;
    }
    fprintf(stderr, "usage: test_ictal_play a|b\n");
    return 2;
}
