/*
 * ictal-play — play an EDF/EDF+/BDF recording into the JACK graph: one output
 * port per signal (named by its label) and a `gate` port, paced by JACK in
 * real time or, with --freewheel, as fast as the graph runs.
 *
 *   ictal-play rec.edf
 *   ictal-play --connect 'ictal-detect:.*' --freewheel rec.edf
 *   ictal-play --channels FP1-F7,F7-T7 --start 10m --loop --osc 127.0.0.1:9900 rec.edf
 *
 * The lifecycle is jack-example-tools' capture_client.c in reverse: open the
 * client, register ports, allocate and prefill everything, activate, only
 * then connect; the process thread only copies from rings (play_rt.c), the
 * disk thread reads ahead (play_disk.c), the OSC thread sends annotations
 * (play_osc.c). Unlike capture_client.c: no globals shared with callbacks
 * (they get a struct), no exit() in the shutdown callback (it sets a flag and
 * wakes main), nothing but a flag and sem_post in the signal handler.
 *
 * The samples on the ports are the floats ictal-run feeds its pipeline:
 * ictal_edf_read, then ictal_edf_scale by ictal_edf_unit_to_uv (µV).
 *
 * Exit status: 0 done (end of the recording, or SIGINT/SIGTERM); 1 bad input
 * or runtime error (file, channels, no JACK server, connections, disk);
 * 2 usage or configuration error; 3 the JACK server shut down under us.
 * docs/ictal-play.md has the details.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jack/jack.h>

#include "ictal/config.h"
#include "ictal/edf.h"
#include "ictal/version.h"
#include "jack_client.h"
#include "play.h"
#include "prog_args.h"
#include "prog_log.h"

#define PROG "ictal-play"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_SHUTDOWN = 3 };

/* Record and note rings: depth. */
#define NOTES_DEPTH 1024
#define SEEKS_DEPTH 64
/* The smallest read-ahead in periods, and in samples. */
#define MIN_RING_PERIODS 8
#define MIN_RING_SAMPLES 1024

/* ---- options --------------------------------------------------------------- */

static const struct ictal_config_option play_opts[] = {
    { "name", "play.client_name", NULL },
    { "server", "jack.server", NULL },
    { "channels", "play.signals", NULL },
    { "connect", "play.connect", NULL },
    { "gate-connect", "play.gate_connect", NULL },
    { "start", "play.start", NULL },
    { "loop", "play.loop", "true" },
    { "freewheel", "play.freewheel", "true" },
    { "transport", "play.transport", "true" },
    { "wait", "play.wait", "true" },
    { "hold", "play.hold", "true" },
    { "osc", "play.osc", NULL },
    { "read-ahead", "play.read_ahead", NULL },
    { "resampler", "play.resampler", NULL },
};
#define N_PLAY_OPTS (sizeof play_opts / sizeof play_opts[0])

/* Options whose repetitions add to one list key. */
static const char *const list_opts[] = { "channels", "connect", "gate-connect", "osc" };

static const struct prog_short short_opts[] = {
    { 'n', "--name", true },
    { 's', "--server", true },
    { 'h', "--help", false },
};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTIONS] RECORDING.edf\n"
"Play an EDF/EDF+/BDF recording into JACK: one output port per signal, named\n"
"by its label, carrying microvolts, plus a `gate` port (1 on every sample from\n"
"the file, 0 otherwise). Each option sets the configuration key in brackets.\n"
"\n"
"  -n, --name NAME         JACK client name (default ictal-play) [play.client_name]\n"
"  -s, --server NAME       JACK server (default $JACK_DEFAULT_SERVER or the\n"
"                          default server) [jack.server]\n"
"      --channels A,B,...  signals to play, by label, in this order (\"T8-P8#2\":\n"
"                          the second T8-P8); default every signal at the\n"
"                          file's main rate [play.signals]\n"
"      --connect SPEC      connect the outputs to these input ports: full names\n"
"                          or regular expressions (comma list or repeated;\n"
"                          e.g. 'ictal-detect:.*'); implies --wait [play.connect]\n"
"      --gate-connect SPEC connect the gate there (default: an input named\n"
"                          `gate` on a client --connect reached) [play.gate_connect]\n"
"      --wait              start playing in the first cycle in which every\n"
"                          output is connected [play.wait]\n"
"      --start DUR         begin at this offset into the file (90, 1m30s, ...)\n"
"                          [play.start]\n"
"      --loop              play again from --start at the end (one gate-0 pad\n"
"                          sample between passes) [play.loop]\n"
"      --freewheel         switch JACK to freewheel while playing: as fast as the\n"
"                          graph runs, lossless and deterministic [play.freewheel]\n"
"      --transport         follow JACK transport: play while rolling, seek on\n"
"                          locate [play.transport]\n"
"      --hold              at the end, stay (outputs 0, gate 0) until SIGINT or\n"
"                          SIGTERM instead of exiting [play.hold]\n"
"      --osc TARGET        send the file's annotations as /ictal/annotation to\n"
"                          host:port or osc.udp://host:port/ (repeatable) [play.osc]\n"
"      --read-ahead DUR    disk read-ahead (default 2 s; at least 8 periods)\n"
"                          [play.read_ahead]\n"
"      --resampler NAME    sinc_best, sinc_medium, sinc_fastest, linear,\n"
"                          zero_order_hold: used when the file's rate differs\n"
"                          from JACK's [play.resampler]\n"
"  -h, --help              this help\n"
"      --version           print the version\n"
"\n%s"
"\nSee docs/ictal-play.md. Exit status: 0 done (or stopped by SIGINT/SIGTERM),\n"
"1 bad input or runtime error, 2 usage or configuration error, 3 the JACK\n"
"server shut down.\n",
            ictal_config_cli_help());
}

struct play_options {
    const char *file;
    const char *client_name;
    const char *server;
    bool start_server;
    const char *const *signals;
    size_t n_signals;
    const char *const *connect;
    size_t n_connect;
    const char *const *gate_connect;
    size_t n_gate_connect;
    const char *const *osc;
    size_t n_osc;
    double start_s, read_ahead_s;
    bool loop, freewheel, transport, wait, hold, mlock;
    double load_warn;                 /* per cent of the period */
    const char *resampler;
};

static void options_from_config(const struct ictal_config *cfg, struct play_options *o)
{
    const char *s = ictal_config_get_string(cfg, "play", "file");
    o->file = s && s[0] ? s : NULL;
    o->client_name = ictal_config_get_string(cfg, "play", "client_name");
    s = ictal_config_get_string(cfg, "jack", "server");
    o->server = s && s[0] ? s : NULL;
    o->start_server = ictal_config_get_bool(cfg, "jack", "start_server");
    o->n_signals = ictal_config_get_list(cfg, "play", "signals", &o->signals);
    o->n_connect = ictal_config_get_list(cfg, "play", "connect", &o->connect);
    o->n_gate_connect = ictal_config_get_list(cfg, "play", "gate_connect", &o->gate_connect);
    o->n_osc = ictal_config_get_list(cfg, "play", "osc", &o->osc);
    o->start_s = ictal_config_get_double(cfg, "play", "start");
    o->read_ahead_s = ictal_config_get_double(cfg, "play", "read_ahead");
    o->loop = ictal_config_get_bool(cfg, "play", "loop");
    o->freewheel = ictal_config_get_bool(cfg, "play", "freewheel");
    o->transport = ictal_config_get_bool(cfg, "play", "transport");
    o->wait = ictal_config_get_bool(cfg, "play", "wait") || o->n_connect > 0;
    o->hold = ictal_config_get_bool(cfg, "play", "hold");
    o->mlock = ictal_config_get_bool(cfg, "rt", "mlockall");
    o->load_warn = ictal_config_get_double(cfg, "rt", "load_warn");
    o->resampler = ictal_config_get_string(cfg, "play", "resampler");
}

/* Command line and configuration. Returns 0 to go on, 1 when done (help,
 * version, print-config: *status says how it went), or -1 on error with
 * *status set. */
static const struct prog_cli play_cli = {
    .prog = PROG,
    .shorts = short_opts,
    .n_shorts = sizeof short_opts / sizeof short_opts[0],
    .opts = play_opts,
    .n_opts = N_PLAY_OPTS,
    .lists = list_opts,
    .n_lists = sizeof list_opts / sizeof list_opts[0],
    .operand = true,
    .operand_key = "play.file",
    .programs = ICTAL_CONFIG_PROG_PLAY,
    .usage = usage,
};

static int setup(int argc, char **argv, struct ictal_config **cfgp, struct play_options *o,
                 int *status)
{
    memset(o, 0, sizeof *o);
    int rc = prog_args_setup(&play_cli, argc, argv, cfgp, NULL, NULL, status);
    if (rc != 0)
        return rc;
    struct ictal_config *cfg = *cfgp;
    *status = EXIT_USAGE;
    options_from_config(cfg, o);
    if (!o->file) {
        fprintf(stderr, PROG ": no recording: give an EDF/BDF file (see --help)\n");
        return -1;
    }
    return 0;
}

/* ---- signals and JACK callbacks ------------------------------------------------ */

static struct play_shared *sig_shared;

static void on_signal(int sig)
{
    /* async-signal-safe: an atomic store and sem_post */
    if (sig_shared) {
        atomic_store_explicit(&sig_shared->signal_no, sig, memory_order_relaxed);
        sem_post(&sig_shared->main_wake);
    }
}

/* JACK's notification thread: the server is gone. No JACK call, no exit(). */
static void on_shutdown(jack_status_t code, const char *reason, void *arg)
{
    struct play_shared *sh = arg;
    snprintf(sh->shutdown_reason, sizeof sh->shutdown_reason, "%s (status 0x%x)",
             reason && *reason ? reason : "no reason given", (unsigned)code);
    atomic_store_explicit(&sh->shutdown, true, memory_order_release);
    atomic_store_explicit(&sh->quit, true, memory_order_release);
    sem_post(&sh->main_wake);
    sem_post(&sh->data_ready);
}

/* libjack's own messages ("Cannot connect to server socket", ...) only at
 * debug level: ictal-play says what went wrong in one line of its own. */
static void on_jack_message(const char *msg)
{
    prog_log(PROG_LOG_DEBUG, "libjack: %s", msg);
}

static void on_freewheel(int starting, void *arg)
{
    struct play_shared *sh = arg;
    atomic_store_explicit(&sh->freewheeling, starting != 0, memory_order_release);
}

static int on_xrun(void *arg)
{
    struct play_shared *sh = arg;
    atomic_fetch_add_explicit(&sh->xruns, 1, memory_order_relaxed);
    return 0;
}

/* ---- channels and ports -------------------------------------------------------- */

/* A data signal's label, with "#k" when it is the k-th (k > 1) data signal
 * of that label in the file: what ictal_edf_select() takes to address it
 * (ictal-run shows the same names). */
static void file_label(const struct ictal_edf *edf, const struct ictal_edf_signal *s, char *buf,
                       size_t cap)
{
    int k = 1;
    for (size_t j = 0; j < s->index; j++) {
        const struct ictal_edf_signal *t = ictal_edf_signal(edf, j);
        k += t && strcmp(t->label, s->label) == 0;
    }
    if (k > 1)
        snprintf(buf, cap, "%s#%d", s->label, k);
    else
        snprintf(buf, cap, "%s", s->label);
}

#define NAME_CAP 320

/* Register one output per selected channel plus the gate. Port short names:
 * the label (with "#k" for duplicates) made JACK-safe; a name that collides
 * with an earlier one or with "gate" gets "#k" appended. */
static int register_ports(struct play_shared *sh, struct ictal_edf *edf)
{
    jack_client_t *c = sh->client;
    char (*names)[NAME_CAP] = calloc((size_t)sh->n_ch + 1, sizeof *names);
    if (!names) {
        prog_log_error("out of memory");
        return -1;
    }
    int rc = 0;
    bool meta_warned = false;
    for (int i = 0; i < sh->n_ch && rc == 0; i++) {
        const struct ictal_edf_signal *s = ictal_edf_selected(edf, (size_t)i);
        char label[64], base[NAME_CAP];
        file_label(edf, s, label, sizeof label);
        jack_client_port_name(c, label, base, sizeof base);
        snprintf(names[i], NAME_CAP, "%s", base);
        for (int k = 2;; k++) {
            bool clash = strcmp(names[i], "gate") == 0;
            for (int j = 0; j < i && !clash; j++)
                clash = strcmp(names[i], names[j]) == 0;
            if (!clash)
                break;
            if (k > 999) { /* only if JACK's name limit cuts the suffix off */
                prog_log_error("signal %s: no free port name like %s", label, base);
                free(names);
                return -1;
            }
            char tmp[NAME_CAP + 16];
            snprintf(tmp, sizeof tmp, "%s#%d", base, k);
            jack_client_port_name(c, tmp, names[i], NAME_CAP);
        }
        if (strcmp(names[i], base) != 0)
            prog_log_warning("signal %s: port name %s is taken, using %s", label, base, names[i]);
        sh->ports[i] = jack_port_register(c, names[i], JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput,
                                          0);
        if (!sh->ports[i]) {
            prog_log_error("cannot register the output port %s:%s (signal %s)",
                           jack_get_client_name(c), names[i], label);
            rc = -1;
            break;
        }
        char why[256];
        if (jack_client_describe_port(c, sh->ports[i], s->label, true, i, "EEG", why,
                                      sizeof why) != 0 && !meta_warned) {
            prog_log_warning("port metadata: %s", why);
            meta_warned = true;
        }
    }
    if (rc == 0) {
        sh->gate = jack_port_register(c, "gate", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        if (!sh->gate) {
            prog_log_error("cannot register the output port %s:gate", jack_get_client_name(c));
            rc = -1;
        } else {
            char why[256];
            if (jack_client_describe_port(c, sh->gate, "gate", true, sh->n_ch, NULL, why,
                                          sizeof why) != 0 && !meta_warned)
                prog_log_warning("port metadata: %s", why);
        }
    }
    free(names);
    return rc;
}

/* The part after the first ':' of a full port name. */
static const char *short_of(const char *full)
{
    const char *colon = strchr(full, ':');
    return colon ? colon + 1 : full;
}

struct name_list {
    char **v;
    size_t n, cap;
};

static int name_list_add(struct name_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static void name_list_free(struct name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Expand the --connect specs into input port names (JACK order), leaving out
 * ports named "gate" (they get the gate, not EEG) unless named exactly.
 * Returns 0 or -1 (message printed). */
static int expand_specs(jack_client_t *c, const char *const *spec, size_t n, const char *opt,
                        struct name_list *out)
{
    for (size_t s = 0; s < n; s++) {
        jack_port_t *exact = jack_port_by_name(c, spec[s]);
        if (exact && (jack_port_flags(exact) & JackPortIsInput)) {
            if (name_list_add(out, spec[s]) < 0)
                goto oom;
            continue;
        }
        const char **found = jack_get_ports(c, spec[s], NULL, JackPortIsInput);
        size_t k = 0, added = 0;
        for (; found && found[k]; k++) {
            if (strcasecmp(short_of(found[k]), "gate") == 0)
                continue;
            if (name_list_add(out, found[k]) < 0) {
                jack_free(found);
                goto oom;
            }
            added++;
        }
        if (found)
            jack_free(found);
        if (added == 0) {
            prog_log_error("%s %s: no input port matches (see jack_lsp)", opt, spec[s]);
            return -1;
        }
    }
    return 0;
oom:
    prog_log_error("out of memory");
    return -1;
}

/* The gate's peers: --gate-connect, else an input named "gate" on each client
 * the data ports go to. */
static int gate_peers(jack_client_t *c, const struct play_options *o,
                      const struct name_list *data_peers, struct name_list *out)
{
    if (o->n_gate_connect > 0) {
        for (size_t s = 0; s < o->n_gate_connect; s++) {
            jack_port_t *exact = jack_port_by_name(c, o->gate_connect[s]);
            if (exact && (jack_port_flags(exact) & JackPortIsInput)) {
                if (name_list_add(out, o->gate_connect[s]) < 0)
                    return -1;
                continue;
            }
            const char **found = jack_get_ports(c, o->gate_connect[s], NULL, JackPortIsInput);
            size_t k = 0;
            for (; found && found[k]; k++)
                if (name_list_add(out, found[k]) < 0) {
                    jack_free(found);
                    return -1;
                }
            if (found)
                jack_free(found);
            if (k == 0) {
                prog_log_error("--gate-connect %s: no input port matches (see jack_lsp)",
                               o->gate_connect[s]);
                return -1;
            }
        }
        return 0;
    }
    for (size_t i = 0; i < data_peers->n; i++) {
        const char *full = data_peers->v[i];
        const char *colon = strchr(full, ':');
        if (!colon)
            continue;
        char name[NAME_CAP];
        snprintf(name, sizeof name, "%.*s:gate", (int)(colon - full), full);
        jack_port_t *p = jack_port_by_name(c, name);
        if (p && (jack_port_flags(p) & JackPortIsInput) && name_list_add(out, name) < 0)
            return -1;
    }
    return 0;
}

/* Connections after activation: the gate first (so that once every data port
 * is connected, the gate already is), then the data ports. Returns 0, or -1
 * when a spec matched nothing or a connection failed (message printed). */
static int connect_outputs(struct play_shared *sh, const struct play_options *o)
{
    if (o->n_connect == 0 && o->n_gate_connect == 0)
        return 0;
    jack_client_t *c = sh->client;
    struct name_list data = { 0 }, gate = { 0 };
    int rc = 0;
    char why[512];
    if (expand_specs(c, o->connect, o->n_connect, "--connect", &data) < 0)
        rc = -1;
    if (rc == 0 && gate_peers(c, o, &data, &gate) < 0)
        rc = -1;
    if (rc == 0 && o->n_connect > 0)
        atomic_store_explicit(&sh->require_gate, gate.n > 0, memory_order_release);
    if (rc == 0 && gate.n > 0) {
        for (size_t i = 0; i < gate.n && rc == 0; i++) {
            int e = jack_connect(c, jack_port_name(sh->gate), gate.v[i]);
            if (e != 0 && e != EEXIST) {
                prog_log_error("cannot connect %s to %s", jack_port_name(sh->gate), gate.v[i]);
                rc = -1;
            } else {
                prog_log(PROG_LOG_DEBUG, "connected %s to %s", jack_port_name(sh->gate),
                         gate.v[i]);
            }
        }
    }
    if (rc == 0 && data.n > 0) {
        int e = jack_client_connect_ports(c, sh->ports, sh->n_ch,
                                          (const char *const *)data.v, (int)data.n, why,
                                          sizeof why);
        if (e < 0) {
            prog_log_error("--connect: %s", why);
            rc = -1;
        } else if (e > 0) {
            prog_log_warning("--connect: %s; playback waits until every output is connected",
                             why);
        } else {
            prog_log(PROG_LOG_DEBUG, "connected %d output(s) to %zu peer port(s)", sh->n_ch,
                     data.n);
        }
    }
    name_list_free(&data);
    name_list_free(&gate);
    return rc;
}

/* ---- leaving ---------------------------------------------------------------------- */

/* Most time given to the clients connected to us to leave on their own at the
 * end of the recording, and to a client that has begun to (disconnected from
 * us) to finish closing. */
#define LINGER_CONNECTED_MS 2000
#define LINGER_CLOSING_MS 5000
#define LINGER_POLL_MS 20

/* jack2 1.9.21 can deadlock when two clients tear down at the same time: in
 * jack_client_close libjack stops the client's notification thread before it
 * asks the server to close it, and the server writes notifications with
 * blocking writes; if another client's teardown (disconnections, port
 * unregistrations, metadata removal: a few dozen notifications) fills the
 * closing client's socket meanwhile, the server blocks for good and every
 * client with it. A consumer that exits when the gate falls (ictal-detect
 * --exit-on-idle) tears down exactly when a replay ends, so at the end of the
 * recording let the clients connected to us go first: wait while they are
 * still connected (at most LINGER_CONNECTED_MS: a consumer that stays is
 * not leaving), and once they have disconnected, until they are gone (at
 * most LINGER_CLOSING_MS). Meanwhile ictal-play only asks the server
 * questions, which notify nobody. */
static void let_peers_go(struct play_shared *sh)
{
    jack_client_t *c = sh->client;
    struct name_list peers = { 0 };
    for (int i = 0; i <= sh->n_ch; i++) {
        jack_port_t *p = i < sh->n_ch ? sh->ports[i] : sh->gate;
        const char **conn = jack_port_get_all_connections(c, p);
        for (size_t k = 0; conn && conn[k]; k++) {
            const char *colon = strchr(conn[k], ':');
            char name[NAME_CAP];
            snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - conn[k]) : 0, conn[k]);
            if (name[0] && name_list_add(&peers, name) < 0)
                break;
        }
        if (conn)
            jack_free(conn);
    }
    uint64_t t0 = play_now_ns(), t_closing = 0;
    const char *how = "none was connected";
    while (peers.n > 0) {
        if (atomic_load(&sh->signal_no) || atomic_load(&sh->shutdown)) {
            how = "interrupted";
            break;
        }
        bool connected = false, alive = false;
        for (int i = 0; i <= sh->n_ch && !connected; i++)
            connected = jack_port_connected(i < sh->n_ch ? sh->ports[i] : sh->gate) > 0;
        for (size_t k = 0; k < peers.n && !alive; k++) {
            char *uuid = jack_get_uuid_for_client_name(c, peers.v[k]);
            alive = uuid != NULL;
            if (uuid)
                jack_free(uuid);
        }
        uint64_t now = play_now_ns();
        if (!alive) {
            how = "they left";
            break;
        }
        if (connected && now - t0 > (uint64_t)LINGER_CONNECTED_MS * 1000000u) {
            how = "they stay";
            break;
        }
        if (!connected && t_closing == 0)
            t_closing = now;
        if (t_closing && now - t_closing > (uint64_t)LINGER_CLOSING_MS * 1000000u) {
            how = "disconnected, still there";
            break;
        }
        play_wait(&sh->main_wake, LINGER_POLL_MS);
    }
    prog_log(PROG_LOG_DEBUG, "waited %.3f s for %zu connected client(s) to leave first: %s",
             (double)(play_now_ns() - t0) * 1e-9, peers.n, how);
    name_list_free(&peers);
}

/* ---- main ------------------------------------------------------------------------- */

static size_t next_pow2(size_t v)
{
    size_t p = 1;
    while (p < v && p < ICTAL_RING_MAX_CAPACITY)
        p <<= 1;
    return p;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The one-line summary on stderr (log level info). */
static void summary(const struct play_shared *sh, const char *file, double wall_s)
{
    uint64_t played = atomic_load(&sh->played), periods = atomic_load(&sh->periods);
    uint64_t ur = atomic_load(&sh->underruns), urs = atomic_load(&sh->underrun_samples);
    uint64_t pads = atomic_load(&sh->pads), xr = atomic_load(&sh->xruns);
    double played_s = (double)played / sh->jack_rate;
    struct ictal_timehist_snapshot *snap = malloc(sizeof *snap);
    double p50 = 0, p99 = 0, mx = 0;
    if (snap) {
        ictal_timehist_snapshot(sh->hist, snap);
        p50 = ictal_timehist_percentile(snap, 50) * 1e-3;
        p99 = ictal_timehist_percentile(snap, 99) * 1e-3;
        mx = (double)snap->max_ns * 1e-3;
        free(snap);
    }
    char urtext[64];
    if (ur)
        snprintf(urtext, sizeof urtext, "%llu underrun(s) (%llu samples)",
                 (unsigned long long)ur, (unsigned long long)urs);
    else
        snprintf(urtext, sizeof urtext, "0 underruns");
    prog_log_info("%s: played %.3f s (%llu samples x %d channels at %g Hz) in %llu periods, %s, "
                  "%llu pad(s), %llu xrun(s); x%.1f real time; callback p50 %.1f us, p99 %.1f "
                  "us, max %.1f us",
                  file, played_s, (unsigned long long)played, sh->n_ch, sh->jack_rate,
                  (unsigned long long)periods, urtext, (unsigned long long)pads,
                  (unsigned long long)xr, wall_s > 0 ? played_s / wall_s : 0.0, p50, p99, mx);
    uint64_t re = atomic_load(&sh->ring_errors);
    if (re)
        prog_log_error("internal error: %llu ring operation(s) failed in the process callback",
                       (unsigned long long)re);
}

int main(int argc, char **argv)
{
    struct ictal_config *cfg = NULL;
    struct play_options o;
    int status;
    if (setup(argc, argv, &cfg, &o, &status) != 0) {
        ictal_config_destroy(cfg);
        return status;
    }
    prog_log_setup(PROG, cfg);
    status = EXIT_FAIL;

    struct ictal_error err;
    struct play_shared sh;
    memset(&sh, 0, sizeof sh);
    struct ictal_edf *edf = NULL;
    double *gains = NULL;
    struct play_disk *disk = NULL;
    struct play_rt *rt = NULL;
    struct play_osc *osc = NULL;
    pthread_t disk_tid, osc_tid;
    bool disk_running = false, osc_running = false, sems = false, active = false;
    bool fw_on = false;
    char why[512];

    /* The recording first: a bad file or channel needs no JACK server. */
    edf = ictal_edf_open(o.file, &err);
    if (!edf) {
        prog_log_error("%s", err.msg);
        goto done;
    }
    if (o.n_signals > 0 && ictal_edf_select(edf, o.signals, o.n_signals, &err) < 0) {
        prog_log_error("--channels: %s", err.msg);
        goto done;
    }
    sh.n_ch = (int)ictal_edf_selected_count(edf);
    sh.file_rate = ictal_edf_rate(edf);
    sh.file_len = ictal_edf_length(edf);
    if (sh.n_ch == 0 || sh.file_len <= 0 || !(sh.file_rate > 0)) {
        prog_log_error("%s: nothing to play (%s)", o.file,
                       sh.n_ch == 0 ? "no data signal at the stream rate" : "no samples");
        goto done;
    }
    double file_s = (double)sh.file_len / sh.file_rate;
    sh.start = (int64_t)llround(o.start_s * sh.file_rate);
    if (sh.start >= sh.file_len) {
        prog_log_error("--start %g s is at or beyond the end of %s (%.3f s)", o.start_s, o.file,
                       file_s);
        goto done;
    }
    gains = malloc((size_t)sh.n_ch * sizeof *gains);
    sh.ports = calloc((size_t)sh.n_ch, sizeof *sh.ports);
    sh.data = calloc((size_t)sh.n_ch, sizeof *sh.data);
    sh.hist = calloc(1, sizeof *sh.hist);
    if (!gains || !sh.ports || !sh.data || !sh.hist) {
        prog_log_error("out of memory");
        goto done;
    }
    for (int c = 0; c < sh.n_ch; c++) {
        const struct ictal_edf_signal *s = ictal_edf_selected(edf, (size_t)c);
        bool known;
        gains[c] = ictal_edf_unit_to_uv(s->unit, &known);
        if (!known)
            prog_log_warning("%s: signal %s has unit '%s': played as uV", o.file, s->label,
                             s->unit);
    }
    sh.gains = gains;
    sh.edf = edf;
    if (ictal_resampler_quality_parse(o.resampler, &sh.quality) < 0) {
        prog_log_error("play.resampler: unknown converter '%s'", o.resampler);
        goto done;
    }
    const struct ictal_edf_info *info = ictal_edf_info(edf);
    sh.n_annots = o.n_osc > 0 ? info->n_annotations : 0;
    if (sh.n_annots > UINT32_MAX / 2)
        sh.n_annots = UINT32_MAX / 2;
    sh.annots = calloc(sh.n_annots ? sh.n_annots : 1, sizeof *sh.annots);
    if (!sh.annots) {
        prog_log_error("out of memory for %zu annotations", sh.n_annots);
        goto done;
    }
    for (size_t i = 0; i < sh.n_annots; i++) {
        const struct ictal_edf_annotation *a = ictal_edf_annotation(edf, i);
        sh.annots[i].onset_s = a->onset_s;
        sh.annots[i].duration_s = a->has_duration ? a->duration_s : -1.0;
        snprintf(sh.annots[i].text, sizeof sh.annots[i].text, "%s", a->text);
    }
    sh.loop = o.loop;
    sh.transport = o.transport;
    sh.freewheel_wanted = o.freewheel;
    sh.wait_connect = o.wait;
    /* Who connects decides whether the gate must be connected before the
     * start: others (plain --wait) may connect it after the data ports, as
     * ictal-detect --connect does, so wait for it too; when we connect
     * (--connect), connect_outputs() requires it only if it has a peer. */
    atomic_store(&sh.require_gate, o.wait && o.n_connect == 0);
    sh.hold = o.hold;

    if (sem_init(&sh.disk_wake, 0, 0) != 0 || sem_init(&sh.data_ready, 0, 0) != 0 ||
        sem_init(&sh.main_wake, 0, 0) != 0 || sem_init(&sh.osc_wake, 0, 0) != 0) {
        prog_log_error("sem_init: %s", strerror(errno));
        goto done;
    }
    sems = true;

    /* SIGINT/SIGTERM go to main only: blocked before libjack and our threads
     * start (they inherit the mask), unblocked in main below. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    sig_shared = &sh;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* libjack writes to the server's socket: when the server dies first,
     * that must be an error return (then the shutdown path), not a kill. */
    signal(SIGPIPE, SIG_IGN);

    jack_set_error_function(on_jack_message);
    jack_set_info_function(on_jack_message);
    sh.client = jack_client_open_named(o.client_name, o.server, o.start_server, why, sizeof why);
    if (!sh.client) {
        prog_log_error("%s", why);
        goto done;
    }
    sh.jack_rate = (double)jack_get_sample_rate(sh.client);
    jack_nframes_t period = jack_get_buffer_size(sh.client);
    sh.ratio = sh.jack_rate / sh.file_rate;
    if (sh.ratio != 1.0 && !(sh.ratio >= 1.0 / 256.0 && sh.ratio <= 256.0)) {
        prog_log_error("%s: signal rate %g Hz cannot be converted to JACK's %g Hz "
                       "(libsamplerate converts ratios 1/256..256 only)",
                       o.file, sh.file_rate, sh.jack_rate);
        goto done;
    }
    sh.n_out = sh.ratio == 1.0
                   ? sh.file_len - sh.start
                   : (int64_t)ceil((double)(sh.file_len - sh.start) * sh.ratio - 1e-9);
    if (register_ports(&sh, edf) < 0)
        goto done;
    sh.slow_ns = (uint64_t)(o.load_warn / 100.0 * (double)period / sh.jack_rate * 1e9);

    /* Rings: read-ahead, at least MIN_RING_PERIODS periods. */
    double want = o.read_ahead_s * sh.jack_rate;
    size_t min_samples = (size_t)period * MIN_RING_PERIODS;
    if (min_samples < MIN_RING_SAMPLES)
        min_samples = MIN_RING_SAMPLES;
    size_t samples = want > (double)(ICTAL_RING_MAX_CAPACITY / sizeof(float))
                         ? ICTAL_RING_MAX_CAPACITY / sizeof(float)
                         : (size_t)ceil(want);
    if (samples < min_samples)
        samples = min_samples;
    size_t bytes = next_pow2(samples * sizeof(float));
    sh.ring_samples = bytes / sizeof(float);
    for (int c = 0; c < sh.n_ch; c++)
        if (!(sh.data[c] = ictal_ring_create(bytes, &err))) {
            prog_log_error("sample ring of %zu bytes for %d channel(s): %s", bytes, sh.n_ch,
                           err.msg);
            goto done;
        }
    sh.recs = ictal_ring_create_records(sh.ring_samples / 64 + 256, sizeof(struct play_rec),
                                        &err);
    sh.seeks = sh.recs ? ictal_ring_create_records(SEEKS_DEPTH, sizeof(struct play_seek), &err)
                       : NULL;
    sh.notes = sh.seeks ? ictal_ring_create_records(NOTES_DEPTH, sizeof(struct play_note), &err)
                        : NULL;
    if (!sh.notes) {
        prog_log_error("record rings: %s", err.msg);
        goto done;
    }
    if (!(disk = play_disk_create(&sh, why, sizeof why))) {
        prog_log_error("%s", why);
        goto done;
    }
    if (!(rt = play_rt_create(&sh))) {
        prog_log_error("out of memory");
        goto done;
    }
    if (o.n_osc > 0 &&
        !(osc = play_osc_create(&sh, o.osc, o.n_osc, jack_get_client_name(sh.client),
                                base_name(o.file), why, sizeof why))) {
        prog_log_error("%s", why);
        goto done;
    }

    if (jack_set_process_callback(sh.client, play_rt_process, rt) != 0 ||
        jack_set_freewheel_callback(sh.client, on_freewheel, &sh) != 0 ||
        jack_set_xrun_callback(sh.client, on_xrun, &sh) != 0) {
        prog_log_error("cannot set the JACK callbacks");
        goto done;
    }
    jack_on_info_shutdown(sh.client, on_shutdown, &sh);

    if (o.mlock && jack_client_lock_memory(why, sizeof why) != 0)
        prog_log_warning("%s", why);

    if (pthread_create(&disk_tid, NULL, play_disk_thread, disk) != 0) {
        prog_log_error("cannot start the disk thread");
        goto done;
    }
    disk_running = true;
    if (osc) {
        if (pthread_create(&osc_tid, NULL, play_osc_thread, osc) != 0) {
            prog_log_error("cannot start the OSC thread");
            goto done;
        }
        osc_running = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    /* Prefill before the first cycle. */
    while (!atomic_load_explicit(&sh.prefilled, memory_order_acquire) &&
           !atomic_load(&sh.signal_no) && !atomic_load(&sh.shutdown))
        play_wait(&sh.main_wake, 200);
    if (atomic_load(&sh.disk_failed)) {
        prog_log_error("%s: %s", o.file, sh.disk_error);
        goto done;
    }
    if (atomic_load(&sh.signal_no)) {
        status = EXIT_OK;
        goto done;
    }
    prog_log(PROG_LOG_DEBUG,
             "%s: %d channel(s) at %g Hz, %.3f s from %.3f s; JACK %g Hz, period %u; "
             "%zu-sample rings (%.2f s)%s",
             o.file, sh.n_ch, sh.file_rate, file_s - (double)sh.start / sh.file_rate,
             (double)sh.start / sh.file_rate, sh.jack_rate, (unsigned)period, sh.ring_samples,
             (double)sh.ring_samples / sh.jack_rate,
             sh.ratio != 1.0 ? "; converting the rate" : "");

    if (jack_activate(sh.client) != 0) {
        if (atomic_load(&sh.shutdown)) {
            prog_log_error("the JACK server shut down: %s", sh.shutdown_reason);
            status = EXIT_SHUTDOWN;
        } else {
            prog_log_error("cannot activate the JACK client");
        }
        goto done;
    }
    active = true;
    if (connect_outputs(&sh, &o) < 0)
        goto done;
    if (o.wait)
        prog_log(PROG_LOG_DEBUG, "waiting until every output is connected");

    /* Main loop: react to what the other threads report. */
    uint64_t t_wall0 = 0, last_ur = 0, last_slow = 0, last_warn = 0;
    bool held = false;
    for (;;) {
        play_wait(&sh.main_wake, 250);
        if (atomic_load(&sh.shutdown)) {
            prog_log_error("the JACK server shut down: %s", sh.shutdown_reason);
            status = EXIT_SHUTDOWN;
            break;
        }
        if (atomic_load(&sh.signal_no)) {
            prog_log(PROG_LOG_DEBUG, "signal %d: stopping", atomic_load(&sh.signal_no));
            status = EXIT_OK;
            break;
        }
        if (atomic_load(&sh.disk_failed)) {
            prog_log_error("%s: %s", o.file, sh.disk_error);
            break;
        }
        if (o.freewheel && !fw_on && !atomic_load(&sh.fw_refused) &&
            atomic_load_explicit(&sh.ready, memory_order_acquire)) {
            if (jack_set_freewheel(sh.client, 1) != 0) {
                prog_log_warning("JACK refused to enter freewheel mode: playing in real time");
                atomic_store_explicit(&sh.fw_refused, true, memory_order_release);
            } else {
                fw_on = true;
                prog_log(PROG_LOG_DEBUG, "freewheel on");
            }
        }
        if (atomic_load_explicit(&sh.started, memory_order_acquire) && t_wall0 == 0) {
            t_wall0 = atomic_load(&sh.t_start_ns);
            prog_log(PROG_LOG_DEBUG, "playback started");
        }
        /* warnings at most once a second, with what accumulated */
        bool may_warn = play_now_ns() - last_warn >= 1000000000u;
        uint64_t slow = atomic_load(&sh.slow_cycles);
        if (slow != last_slow && may_warn) {
            last_warn = play_now_ns();
            prog_log_warning("%llu process cycle(s) took more than %g%% of the period "
                             "(%.0f us) (%llu so far)",
                             (unsigned long long)(slow - last_slow), o.load_warn,
                             (double)sh.slow_ns * 1e-3, (unsigned long long)slow);
            last_slow = slow;
        }
        uint64_t ur = atomic_load(&sh.underrun_samples);
        if (ur != last_ur && may_warn) {
            last_warn = play_now_ns();
            prog_log_warning("underrun: %llu sample(s) were not read in time (%llu so far)",
                             (unsigned long long)(ur - last_ur), (unsigned long long)ur);
            last_ur = ur;
        }
        /* Freewheel off as soon as the last sample is out: a consumer that
         * leaves when the gate falls must not close while the server
         * freewheels (jack2 1.9.21 then wedges its freewheel driver, or
         * times out the notification that ends freewheel); it should wait
         * for its freewheel callback (docs/ictal-play.md). */
        if (fw_on && atomic_load_explicit(&sh.at_end, memory_order_acquire) &&
            jack_set_freewheel(sh.client, 0) == 0) {
            fw_on = false;
            prog_log(PROG_LOG_DEBUG, "freewheel off");
        }
        if (atomic_load_explicit(&sh.finished, memory_order_acquire) && !held) {
            let_peers_go(&sh);
            if (!o.hold) {
                status = EXIT_OK;
                break;
            }
            uint64_t t1 = atomic_load(&sh.t_end_ns);
            summary(&sh, base_name(o.file), t1 > t_wall0 ? (double)(t1 - t_wall0) * 1e-9 : 0);
            prog_log_info("end of the recording: holding (gate 0) until SIGINT or SIGTERM");
            held = true;
        }
    }
    if (!held) {
        uint64_t t1 = atomic_load(&sh.t_end_ns);
        if (t1 == 0)
            t1 = play_now_ns();
        summary(&sh, base_name(o.file),
                t_wall0 && t1 > t_wall0 ? (double)(t1 - t_wall0) * 1e-9 : 0);
    }

done:
    if (sh.client && !atomic_load(&sh.shutdown)) {
        if (fw_on)
            jack_set_freewheel(sh.client, 0);
        if (active)
            jack_deactivate(sh.client);
    }
    if (sems) {
        atomic_store(&sh.quit, true);
        sem_post(&sh.disk_wake);
        sem_post(&sh.osc_wake);
        sem_post(&sh.data_ready);
    }
    if (disk_running)
        pthread_join(disk_tid, NULL);
    if (osc_running) {
        pthread_join(osc_tid, NULL);
        uint64_t sent, failed;
        play_osc_counts(osc, &sent, &failed);
        prog_log(failed ? PROG_LOG_WARNING : PROG_LOG_DEBUG,
                 "OSC: %llu annotation message(s) sent, %llu failed", (unsigned long long)sent,
                 (unsigned long long)failed);
        if (atomic_load(&sh.note_drops))
            prog_log_warning("OSC: %llu annotation(s) dropped (queue full)",
                             (unsigned long long)atomic_load(&sh.note_drops));
    }
    if (sh.client) {
        if (!atomic_load(&sh.shutdown)) {
            jack_client_forget_ports(sh.client, sh.ports, sh.n_ch);
            jack_client_forget_ports(sh.client, &sh.gate, 1);
        }
        if (!atomic_load(&sh.shutdown)) {
            jack_client_close(sh.client);
        } else if (jack_client_close_after_shutdown(sh.client, 5.0) < 0) {
            prog_log_error("libjack did not close the client within 5 s after the server died: "
                           "exiting without it");
            fflush(NULL);
            _exit(status);
        }
    }
    sig_shared = NULL;
    play_osc_destroy(osc);
    play_rt_destroy(rt);
    play_disk_destroy(disk);
    if (sh.data)
        for (int c = 0; c < sh.n_ch; c++)
            ictal_ring_destroy(sh.data[c]);
    ictal_ring_destroy(sh.recs);
    ictal_ring_destroy(sh.seeks);
    ictal_ring_destroy(sh.notes);
    if (sems) {
        sem_destroy(&sh.disk_wake);
        sem_destroy(&sh.data_ready);
        sem_destroy(&sh.main_wake);
        sem_destroy(&sh.osc_wake);
    }
    free(sh.data);
    free(sh.ports);
    free(sh.annots);
    free(sh.hist);
    free(gains);
    ictal_edf_close(edf);
    ictal_config_destroy(cfg);
    prog_log_close();
    return status;
}
