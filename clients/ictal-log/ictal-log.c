/*
 * ictal-log — the OSC server that records what ictal-detect (and ictal-play)
 * send: messages under /ictal/ over UDP and TCP in, console lines, JSON Lines and
 * CSV_BI out (docs/ictal-log.md, docs/osc.md).
 *
 *   ictal-log                                   # console, UDP+TCP on 127.0.0.1:9900
 *   ictal-log -o console,jsonl,csv_bi --jsonl events.jsonl --csv-bi 'out/{stream}.csv_bi'
 *
 * It trusts nothing it receives: every packet's framing (log_packet.h), every
 * message's OSC encoding (liblo's lo_message_deserialise) and every message's
 * address, type tag and values (osc_proto_decode) are checked; what fails is
 * counted by category, named in a rate-limited diagnostic with its sender,
 * and dropped, and the server goes on. Event records are deduplicated
 * (log_out.h); each is flushed, and fsynced when logger.fsync says so.
 *
 * One thread: a poll() loop over the sockets (log_net.h) and a self-pipe that
 * the signal handlers write to (SIGINT/SIGTERM: stop; SIGUSR1: write the
 * stats file; SIGHUP: reopen the JSON Lines file).
 *
 * Exit status: 0 stopped by a signal, everything written; 1 a socket could not
 * be bound, an output could not be opened or some record could not be
 * written; 2 usage or configuration error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event_format.h"
#include "ictal/config.h"
#include "ictal/version.h"
#include "log_net.h"
#include "log_out.h"
#include "log_packet.h"
#include "osc_proto.h"
#include "prog_args.h"
#include "prog_log.h"

#define PROG "ictal-log"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Diagnostics for bad messages: the first DIAG_BURST, then one per DIAG_PERIOD s. */
#define DIAG_BURST 10
#define DIAG_PERIOD 10.0
#define TICK_MS 250

/* ---- options ----------------------------------------------------------------------- */

static const struct ictal_config_option log_opts[] = {
    { "port", "osc.port", NULL },
    { "host", "osc.host", NULL },
    { "udp-only", "logger.transports", "udp" },
    { "tcp-only", "logger.transports", "tcp" },
    { "outputs", "logger.outputs", NULL },
    { "jsonl", "logger.jsonl_path", NULL },
    { "csv-bi", "logger.csv_path", NULL },
    { "no-fsync", "logger.fsync", "false" },
    { "telemetry", "logger.telemetry", NULL },
    { "verbose", "logger.verbose", "true" },
    { "stats-interval", "logger.stats_interval", NULL },
    { "stats-json", "logger.stats_path", NULL },
    { "max-message-bytes", "logger.max_message_bytes", NULL },
};
#define N_LOG_OPTS (sizeof log_opts / sizeof log_opts[0])

static const struct prog_short short_opts[] = {
    { 'p', "--port", true }, { 'o', "--outputs", true }, { 'v', "--verbose", false },
    { 'h', "--help", false },
};
/* List keys whose option may be repeated: -o console -o jsonl. */
static const char *const list_opts[] = { "outputs", "telemetry" };

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTIONS]\n"
"Receive ictal's OSC messages (docs/osc.md) over UDP and TCP and write the seizure\n"
"events: console lines, JSON Lines, CSV_BI. Malformed messages are counted and\n"
"reported, never trusted. Each option sets the configuration key in brackets.\n"
"\n"
"  -p, --port N            port of both servers (default 9900) [osc.port]\n"
"      --host ADDR         address to bind (default 127.0.0.1) [osc.host]\n"
"      --udp-only, --tcp-only   run one server only [logger.transports]\n"
"  -o, --outputs LIST      console, jsonl, csv_bi; a list or repeated (default\n"
"                          console) [logger.outputs]\n"
"      --jsonl FILE        JSON Lines file, appended; - for stdout [logger.jsonl_path]\n"
"      --csv-bi PATTERN    CSV_BI file per stream, with {stream} and optionally\n"
"                          {source} (default {source}-{stream}.csv_bi)\n"
"                          [logger.csv_path]\n"
"      --no-fsync          flush only, no fsync after events [logger.fsync]\n"
"      --telemetry LIST    also log status and/or prob messages [logger.telemetry]\n"
"  -v, --verbose           status heartbeats on the console, counters every\n"
"                          --stats-interval (default 60 s) [logger.verbose]\n"
"      --stats-json FILE   counters as JSON: when listening, on SIGUSR1, at exit\n"
"                          [logger.stats_path]\n"
"      --max-message-bytes N   largest packet accepted [logger.max_message_bytes]\n"
"  -h, --help              this help\n"
"      --version           print the version\n"
"\n%s"
"\nSignals: SIGINT/SIGTERM stop cleanly, SIGUSR1 writes the stats file, SIGHUP\n"
"reopens the JSON Lines file. See docs/ictal-log.md. Exit status: 0 stopped\n"
"cleanly, 1 bind, open or write failure, 2 usage or configuration error.\n",
            ictal_config_cli_help());
}

static bool list_has(const struct ictal_config *cfg, const char *sec, const char *key,
                     const char *item)
{
    const char *const *items = NULL;
    size_t n = ictal_config_get_list(cfg, sec, key, &items);
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i], item) == 0)
            return true;
    return false;
}

/* Command line and configuration. Returns 0 to go on, 1 when done (help,
 * version, print-config; *status says how it went), -1 on error (*status). */
static const struct prog_cli log_cli = {
    .prog = PROG,
    .shorts = short_opts,
    .n_shorts = sizeof short_opts / sizeof short_opts[0],
    .opts = log_opts,
    .n_opts = N_LOG_OPTS,
    .lists = list_opts,
    .n_lists = sizeof list_opts / sizeof list_opts[0],
    .programs = ICTAL_CONFIG_PROG_LOG,
    .usage = usage,
};

static int setup(int argc, char **argv, struct ictal_config **cfgp, int *status)
{
    int rc = prog_args_setup(&log_cli, argc, argv, cfgp, NULL, NULL, status);
    if (rc != 0)
        return rc;
    struct ictal_config *cfg = *cfgp;
    *status = EXIT_USAGE;
    if (ictal_config_get_list(cfg, "logger", "outputs", NULL) == 0) {
        fprintf(stderr, PROG ": logger.outputs (from %s) is empty: nothing would be written\n",
                ictal_config_get_source(cfg, "logger", "outputs"));
        return -1;
    }
    if (ictal_config_get_list(cfg, "logger", "transports", NULL) == 0) {
        fprintf(stderr, PROG ": logger.transports (from %s) is empty: no server to run\n",
                ictal_config_get_source(cfg, "logger", "transports"));
        return -1;
    }
    if (list_has(cfg, "logger", "outputs", "csv_bi") &&
        !strstr(ictal_config_get_string(cfg, "logger", "csv_path"), "{stream}")) {
        fprintf(stderr, PROG ": logger.csv_path = %s (from %s) has no {stream}: every stream "
                        "needs a CSV_BI file of its own\n",
                ictal_config_get_string(cfg, "logger", "csv_path"),
                ictal_config_get_source(cfg, "logger", "csv_path"));
        return -1;
    }
    return 0;
}

/* ---- counters ---------------------------------------------------------------------- */

struct counters {
    uint64_t packets, bytes, bundles, messages;
    uint64_t by_msg[OSC_MSG_COUNT];    /* valid messages per address */
    uint64_t malformed;                /* not OSC: framing, encoding, address */
    uint64_t wrong_types, invalid, unknown, newer;   /* osc_proto_decode's verdicts */
    uint64_t duplicates, oversize;
    uint64_t tcp_connections, tcp_refused, tcp_truncated, tcp_timeouts;
    uint64_t kernel_drops, io_errors;
    uint64_t written, write_errors;
};

static const char *msg_name(int m)
{
    return osc_proto_address((enum osc_msg)m) + 7; /* after "/ictal/" */
}

struct app {
    struct lognet *net;
    struct logout *out;
    struct counters c;
    const char *stats_path;
    bool started;                     /* the servers were up */
    int udp_port, tcp_port;           /* bound ports, -1: not running */
    size_t streams, keys;             /* logout's, kept for the last stats file */
    bool verbose;
    double stats_interval;
    double t0;                        /* CLOCK_MONOTONIC at start */
    /* diagnostics */
    unsigned diag_printed;
    uint64_t diag_suppressed;
    double diag_last;
    /* the packet being handled */
    const struct lognet_peer *peer;
    double received_unix;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One line about something bad a peer sent, rate-limited. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void diag(struct app *a, const struct lognet_peer *peer, const char *fmt, ...)
{
    double now = mono_now();
    if (a->diag_printed >= DIAG_BURST && now - a->diag_last < DIAG_PERIOD) {
        a->diag_suppressed++;
        return;
    }
    char msg[512], who[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lognet_peer_string(peer, who, sizeof who);
    if (a->diag_suppressed)
        prog_log_warning("%s: %s (and %llu more bad message(s) not shown)", who, msg,
                         (unsigned long long)a->diag_suppressed);
    else
        prog_log_warning("%s: %s", who, msg);
    a->diag_printed++;
    a->diag_last = now;
    a->diag_suppressed = 0;
}

static void counters_line(const struct app *a, const char *when)
{
    const struct counters *c = &a->c;
    char by[512] = "";
    size_t n = 0;
    for (int m = 0; m < OSC_MSG_COUNT && n < sizeof by; m++)
        if (c->by_msg[m])
            n += (size_t)snprintf(by + n, sizeof by - n, "%s%s %llu", n ? ", " : "", msg_name(m),
                                  (unsigned long long)c->by_msg[m]);
    prog_log_info("%s: %llu packet(s), %llu message(s)%s%s%s; rejected: %llu malformed, %llu "
                  "wrong type tag, %llu invalid, %llu unknown address, %llu newer version, "
                  "%llu oversize; %llu duplicate(s); TCP: %llu connection(s), %llu refused, "
                  "%llu truncated; %llu written, %llu write error(s)",
                  when, (unsigned long long)c->packets, (unsigned long long)c->messages,
                  by[0] ? " (" : "", by, by[0] ? ")" : "", (unsigned long long)c->malformed,
                  (unsigned long long)c->wrong_types, (unsigned long long)c->invalid,
                  (unsigned long long)c->unknown, (unsigned long long)c->newer,
                  (unsigned long long)c->oversize, (unsigned long long)c->duplicates,
                  (unsigned long long)c->tcp_connections, (unsigned long long)c->tcp_refused,
                  (unsigned long long)c->tcp_truncated, (unsigned long long)c->written,
                  (unsigned long long)c->write_errors);
    if (c->kernel_drops)
        prog_log_warning("the kernel dropped %llu UDP datagram(s): the receive buffer was full",
                         (unsigned long long)c->kernel_drops);
}

/* The counters as JSON, replacing the file atomically. */
static void write_stats(const struct app *a, bool final)
{
    if (!a->stats_path)
        return;
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", a->stats_path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        prog_log_error("%s: cannot write the stats file: %s", tmp, strerror(errno));
        return;
    }
    const struct counters *c = &a->c;
    fprintf(f, "{\"program\":\"" PROG "\",\"version\":\"%s\",\"pid\":%ld,\"final\":%s,"
               "\"udp_port\":%d,\"tcp_port\":%d,\"uptime_s\":",
            ICTAL_VERSION_STRING, (long)getpid(), final ? "true" : "false", a->udp_port,
            a->tcp_port);
    event_format_json_double(f, (double)(long long)((mono_now() - a->t0) * 1000) / 1000);
    fputs(",\"counters\":{", f);
    const struct { const char *name; uint64_t v; } items[] = {
        { "packets", c->packets }, { "bytes", c->bytes }, { "bundles", c->bundles },
        { "messages", c->messages }, { "malformed", c->malformed },
        { "wrong_types", c->wrong_types }, { "invalid", c->invalid },
        { "unknown", c->unknown }, { "newer", c->newer }, { "duplicates", c->duplicates },
        { "oversize", c->oversize }, { "tcp_connections", c->tcp_connections },
        { "tcp_refused", c->tcp_refused }, { "tcp_truncated", c->tcp_truncated },
        { "tcp_timeouts", c->tcp_timeouts }, { "udp_kernel_drops", c->kernel_drops },
        { "io_errors", c->io_errors }, { "written", c->written },
        { "write_errors", c->write_errors },
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        fprintf(f, "%s\"%s\":%llu", i ? "," : "", items[i].name, (unsigned long long)items[i].v);
    fputs(",\"by_address\":{", f);
    for (int m = 0; m < OSC_MSG_COUNT; m++)
        fprintf(f, "%s\"%s\":%llu", m ? "," : "", msg_name(m), (unsigned long long)c->by_msg[m]);
    fprintf(f, "}},\"tcp_open\":%d,\"streams\":%zu,\"dedup_keys\":%zu}\n",
            a->net ? lognet_connections(a->net) : 0, a->out ? logout_streams(a->out) : a->streams,
            a->out ? logout_keys(a->out) : a->keys);
    bool bad = fflush(f) != 0 || ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, a->stats_path) != 0) {
        prog_log_error("%s: cannot write the stats file: %s", a->stats_path, strerror(errno));
        unlink(tmp);
    }
}

/* ---- what arrives ------------------------------------------------------------------ */

static void on_message(void *user, const struct logpkt_msg *pm)
{
    struct app *a = user;
    a->c.messages++;
    /* liblo wants non-const pointers; it only reads (deserialise copies) */
    void *data = (void *)(uintptr_t)pm->data;
    const char *path = lo_get_path(data, (ssize_t)pm->size);
    if (!path || path[0] != '/') {
        a->c.malformed++;
        diag(a, a->peer, "malformed message: no valid OSC address");
        return;
    }
    int res = 0;
    lo_message lm = lo_message_deserialise(data, pm->size, &res);
    if (!lm) {
        a->c.malformed++;
        diag(a, a->peer, "%.64s: malformed OSC message (liblo error %d: type tag or arguments "
                         "do not match the bytes)", path, res);
        return;
    }
    struct osc_decoded d;
    char why[256];
    int rc = osc_proto_decode(path, lo_message_get_types(lm), lo_message_get_argv(lm),
                              lo_message_get_argc(lm), &d, why, sizeof why);
    switch (rc) {
    case OSC_DECODE_OK: {
        a->c.by_msg[d.msg]++;
        const struct logout_meta meta = {
            a->received_unix, pm->has_timetag,
            pm->has_timetag ? osc_proto_timetag_unix(pm->tt) : 0.0,
        };
        int w = logout_message(a->out, &d, &meta, mono_now());
        if (w == LOGOUT_DUPLICATE)
            a->c.duplicates++;
        else if (w < 0)
            a->c.write_errors++;
        else if (w == LOGOUT_WRITTEN)
            a->c.written++;
        break;
    }
    case OSC_DECODE_UNKNOWN: a->c.unknown++; break;
    case OSC_DECODE_MALFORMED: a->c.wrong_types++; break;
    case OSC_DECODE_INVALID: a->c.invalid++; break;
    case OSC_DECODE_NEWER: a->c.newer++; break;
    default: a->c.malformed++; break;
    }
    if (rc != OSC_DECODE_OK)
        diag(a, a->peer, "%.64s: %s", path, why);
    lo_message_free(lm);
}

static void on_packet(void *user, const uint8_t *data, size_t n, const struct lognet_peer *peer)
{
    struct app *a = user;
    a->c.packets++;
    a->c.bytes += n;
    a->peer = peer;
    a->received_unix = unix_now();
    char why[160];
    int bundles = 0;
    if (logpkt_walk(data, n, on_message, a, &bundles, why, sizeof why) < 0) {
        a->c.malformed++;
        diag(a, peer, "malformed packet: %s", why);
    }
    a->c.bundles += (uint64_t)bundles;
}

static void on_note(void *user, enum lognet_note what, const struct lognet_peer *peer, uint64_t n,
                    const char *why)
{
    struct app *a = user;
    char who[96];
    switch (what) {
    case LOGNET_TCP_ACCEPTED:
        a->c.tcp_connections++;
        prog_log(PROG_LOG_DEBUG, "%s: connected", lognet_peer_string(peer, who, sizeof who));
        break;
    case LOGNET_TCP_CLOSED:
        prog_log(PROG_LOG_DEBUG, "%s: disconnected", lognet_peer_string(peer, who, sizeof who));
        break;
    case LOGNET_TCP_REFUSED:
        a->c.tcp_refused++;
        diag(a, peer, "connection refused: %llu connection(s) open already "
                      "(logger.max_connections)", (unsigned long long)n);
        break;
    case LOGNET_OVERSIZE:
        a->c.packets++;
        a->c.oversize++;
        diag(a, peer, "packet of %llu bytes dropped: larger than logger.max_message_bytes",
             (unsigned long long)n);
        break;
    case LOGNET_TRUNCATED:
        a->c.tcp_truncated++;
        diag(a, peer, "connection ended inside a packet (%llu byte(s) missing)",
             (unsigned long long)n);
        break;
    case LOGNET_TIMEOUT:
        a->c.tcp_timeouts++;
        diag(a, peer, "connection closed: %s", why ? why : "timeout");
        break;
    case LOGNET_KERNEL_DROPS:
        a->c.kernel_drops += n;
        break;
    case LOGNET_IO_ERROR:
        a->c.io_errors++;
        prog_log_error("socket: %s", why ? why : "error");
        break;
    }
}

/* ---- signals ------------------------------------------------------------------------- */

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(sig_pipe[1], &b, 1) < 0) {
        /* the pipe is full: enough wake-ups are pending */
    }
    errno = saved;
}

static int signals_setup(void)
{
    if (pipe(sig_pipe) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(sig_pipe[i], F_SETFL, fcntl(sig_pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    static const int sigs[] = { SIGINT, SIGTERM, SIGUSR1, SIGHUP };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return -1;
    sa.sa_handler = SIG_IGN; /* a peer that vanishes must not kill us */
    return sigaction(SIGPIPE, &sa, NULL);
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    struct ictal_config *cfg = NULL;
    int status;
    if (setup(argc, argv, &cfg, &status) != 0) {
        ictal_config_destroy(cfg);
        return status;
    }
    prog_log_setup(PROG, cfg);
    status = EXIT_FAIL;

    struct app a;
    memset(&a, 0, sizeof a);
    a.t0 = mono_now();
    const char *sp = ictal_config_get_string(cfg, "logger", "stats_path");
    a.stats_path = sp && sp[0] ? sp : NULL;
    a.verbose = ictal_config_get_bool(cfg, "logger", "verbose");
    a.stats_interval = ictal_config_get_double(cfg, "logger", "stats_interval");
    const struct lognet_handler handler = { on_packet, on_note, &a };
    struct pollfd *fds = NULL;
    char err[512];

    int color = ictal_config_get_enum(cfg, "log", "color"); /* auto|always|never */
    const struct logout_cfg ocfg = {
        .console = list_has(cfg, "logger", "outputs", "console"),
        .jsonl = list_has(cfg, "logger", "outputs", "jsonl"),
        .csv_bi = list_has(cfg, "logger", "outputs", "csv_bi"),
        .jsonl_path = ictal_config_get_string(cfg, "logger", "jsonl_path"),
        .csv_pattern = ictal_config_get_string(cfg, "logger", "csv_path"),
        .fsync = ictal_config_get_bool(cfg, "logger", "fsync"),
        .color = color == 1 || (color == 0 && isatty(STDOUT_FILENO)),
        .console_status = a.verbose,
        .status = list_has(cfg, "logger", "telemetry", "status"),
        .prob = list_has(cfg, "logger", "telemetry", "prob"),
        .dedup_max = (size_t)ictal_config_get_int(cfg, "logger", "dedup_max"),
    };
    const struct lognet_cfg ncfg = {
        .host = ictal_config_get_string(cfg, "osc", "host"),
        .port = (int)ictal_config_get_int(cfg, "osc", "port"),
        .udp = list_has(cfg, "logger", "transports", "udp"),
        .tcp = list_has(cfg, "logger", "transports", "tcp"),
        .max_packet = (size_t)ictal_config_get_int(cfg, "logger", "max_message_bytes"),
        .max_connections = (int)ictal_config_get_int(cfg, "logger", "max_connections"),
        .tcp_timeout = ictal_config_get_double(cfg, "logger", "tcp_timeout"),
    };

    if (signals_setup() != 0) {
        prog_log_error("cannot set up signal handling: %s", strerror(errno));
        goto done;
    }
    if (!(a.net = lognet_open(&ncfg, err, sizeof err)) ||
        !(a.out = logout_open(&ocfg, err, sizeof err))) {
        prog_log_error("%s", err);
        goto done;
    }
    size_t max_fds = 1 + lognet_max_pollfds(a.net);
    if (!(fds = calloc(max_fds, sizeof *fds))) {
        prog_log_error("out of memory");
        goto done;
    }
    if (ncfg.udp && ncfg.tcp)
        prog_log_info("listening on %s port %d, UDP and TCP", ncfg.host, ncfg.port);
    else
        prog_log_info("listening on %s port %d, %s only", ncfg.host, ncfg.port,
                      ncfg.udp ? "UDP" : "TCP");
    a.udp_port = lognet_port(a.net, false);
    a.tcp_port = lognet_port(a.net, true);
    a.started = true;
    write_stats(&a, false); /* also tells scripts that the servers are up */

    double next_stats = a.t0 + a.stats_interval;
    bool quit = false;
    while (!quit) {
        fds[0] = (struct pollfd){ sig_pipe[0], POLLIN, 0 };
        size_t n = 1 + lognet_pollfds(a.net, fds + 1, max_fds - 1);
        int r = poll(fds, n, TICK_MS);
        if (r < 0 && errno != EINTR) {
            prog_log_error("poll: %s", strerror(errno));
            break;
        }
        double now = mono_now();
        if (r > 0 && fds[0].revents) {
            unsigned char sigs[16];
            ssize_t k = read(sig_pipe[0], sigs, sizeof sigs);
            for (ssize_t i = 0; i < k; i++) {
                if (sigs[i] == SIGINT || sigs[i] == SIGTERM) {
                    quit = true;
                } else if (sigs[i] == SIGUSR1) {
                    write_stats(&a, false);
                } else if (sigs[i] == SIGHUP) {
                    if (logout_reopen(a.out, err, sizeof err) != 0) {
                        prog_log_error("%s", err);
                        a.c.write_errors++;
                    } else {
                        prog_log_info("reopened the JSON Lines file");
                    }
                }
            }
        }
        if (r > 0)
            lognet_service(a.net, fds + 1, n - 1, now, &handler);
        else
            lognet_service(a.net, NULL, 0, now, &handler); /* stalled connections */
        a.c.write_errors += (uint64_t)logout_tick(a.out, now);
        if (a.verbose && now >= next_stats) {
            counters_line(&a, "so far");
            next_stats = now + a.stats_interval;
        }
    }

    /* What is queued in the sockets already was sent before we were told to
     * stop: take it. */
    for (int round = 0; round < 256; round++) {
        size_t n = lognet_pollfds(a.net, fds, max_fds);
        if (poll(fds, n, 0) <= 0)
            break;
        lognet_service(a.net, fds, n, mono_now(), &handler);
    }
    lognet_close(a.net, &handler);
    a.net = NULL;
    a.streams = logout_streams(a.out);
    a.keys = logout_keys(a.out);
    a.c.write_errors += (uint64_t)logout_close(a.out);
    a.out = NULL;
    status = a.c.write_errors ? EXIT_FAIL : EXIT_OK;
    counters_line(&a, "stopped");
    if (a.c.write_errors)
        prog_log_error("%llu record(s) or file(s) could not be written",
                       (unsigned long long)a.c.write_errors);

done:
    if (a.started)
        write_stats(&a, true);
    lognet_close(a.net, NULL);
    logout_close(a.out);
    free(fds);
    prog_log_close();
    ictal_config_destroy(cfg);
    return status;
}
