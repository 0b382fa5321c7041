/*
 * ictal-detect — real-time seizure detection as a JACK client.
 *
 *   ictal-detect -m models/x.safetensors --connect 'ictal-play:.*' --osc 127.0.0.1:9900
 *
 * EEG arrives on one input port per channel; the pipeline (ictal/pipeline.h,
 * the very code ictal-run runs offline) runs inside the JACK process
 * callback; probability and alarm leave as CV ports; records leave the
 * real-time thread through lock-free rings to the sender thread, which
 * speaks OSC (docs/osc.md), keeps the journal and the heartbeat.
 *
 * Life cycle (after jack-example-tools' simple_client.c, without its
 * globals and exit() in callbacks): configuration and model → client →
 * pipeline and rings sized for anything the server can do → ports with
 * metadata → callbacks → warm-up → mlockall → sender thread → activate →
 * connect → wait for a signal, the server's death, or (--exit-on-idle) the
 * end of the first stream → take the pipeline from the process thread,
 * flush → deactivate and close → drain the sender → report.
 *
 * Threads: signals are blocked in every thread (the mask is set before
 * libjack or the sender start theirs) and taken synchronously by main with
 * sigtimedwait. JACK callbacks only set atomics.
 *
 * Exit status: 0 stopped by a signal or --exit-on-idle; 1 a runtime failure
 * (no server, the server died or changed rate, ports, model, files); 2 usage
 * or configuration error. docs/ictal-detect.md has the details.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jack/jack.h>
#include <jack/statistics.h>

#include "detect.h"
#include "event_format.h"
#include "ictal/config.h"
#include "ictal/version.h"
#include "jack_client.h"
#include "prog_args.h"
#include "prog_log.h"
#include "report.h"
#include "sender.h"

#define PROG "ictal-detect"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Connection attempts, 100 ms apart, while peers become active. */
#define CONNECT_TRIES 100

static const struct ictal_config_option opts[] = {
    { "model", "detect.model", NULL },
    { "name", "detect.client_name", NULL },
    { "server", "jack.server", NULL },
    { "channels", "detect.channels", NULL },
    { "connect", "detect.connect", NULL },
    { "gate", "detect.gate", NULL },
    { "osc", "osc.targets", NULL },
    { "journal", "detect.journal", NULL },
    { "report", "detect.report", NULL },
    { "exit-on-idle", "detect.exit_on_idle", "true" },
    { "max-gap", "detect.max_gap", NULL },
    { "prob-rate", "osc.prob_rate", NULL },
    { "quiet", "detect.console", "false" },
    PROG_POSTPROC_OPTIONS
};
#define N_OPTS (sizeof opts / sizeof opts[0])

static const struct prog_short shorts[] = {
    { 'm', "--model", true }, { 'n', "--name", true }, { 's', "--server", true },
    { 'c', "--channels", true }, { 'h', "--help", false },
};
static const char *const lists[] = { "connect", "osc", "channels" };

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " --model MODEL.safetensors [OPTIONS]\n"
"Detect seizures in EEG arriving on JACK input ports, inside the process\n"
"cycle, and send the events as OSC (docs/osc.md). Each option sets the\n"
"configuration key in brackets (see ictal-config --print).\n"
"\n"
"  -m, --model FILE        model file (safetensors) [detect.model]\n"
"  -n, --name NAME         JACK client name (default ictal-detect) [detect.client_name]\n"
"  -s, --server NAME       JACK server (default $JACK_DEFAULT_SERVER) [jack.server]\n"
"  -c, --channels A,B,...  input port names, one per EEG channel (default: the\n"
"                          model's labels, else the ports --connect matches)\n"
"      --connect SPEC      connect the inputs to these ports: full names or\n"
"                          regular expressions ('ictal-play:.*'); repeatable\n"
"      --gate PORT         connect the gate input (default: a port named gate\n"
"                          among those --connect matches)\n"
"      --osc TARGET        send OSC to HOST:PORT, osc.udp://HOST:PORT/ or\n"
"                          osc.tcp://HOST:PORT/; repeatable (default 127.0.0.1:9900)\n"
"      --journal FILE      append every event to FILE (JSON Lines, fsync'd)\n"
"      --report DIR        write summary, latency, config and model reports at exit\n"
"      --exit-on-idle      exit once the first stream has ended (replays)\n"
"      --max-gap DUR       bridge frame-clock jumps up to DUR (default 10s)\n"
"      --prob-rate HZ      /ictal/prob messages per second of signal (0: none)\n"
"      --quiet             no event lines on stderr\n"
"      --threshold-on P, --threshold-off P, --n-on N, --n-off N, --opening DUR,\n"
"      --closing DUR, --min-duration DUR, --merge-gap DUR, --max-duration DUR,\n"
"      --confidence mean|peak|percentile, --percentile Q   post-processing\n"
"  -h, --help, --version\n");
    fputs(ictal_config_cli_help(), f);
}

/* ---- JACK callbacks: each only stores atomics ------------------------------------- */

/* libjack's own chatter ("Cannot read socket fd = 9", ...) repeats what we
 * report in our words; keep it for --set log.level=debug. */
static void on_jack_message(const char *msg)
{
    prog_log(PROG_LOG_DEBUG, "libjack: %s", msg);
}

static int on_xrun(void *arg)
{
    struct detect *d = arg;
    float delay = jack_get_xrun_delayed_usecs(d->client);
    uint32_t bits;
    memcpy(&bits, &delay, sizeof bits);
    atomic_store(&d->xrun_delay_bits, bits);
    atomic_fetch_add(&d->xruns, 1);
    return 0;
}

static void on_shutdown(jack_status_t code, const char *reason, void *arg)
{
    struct detect *d = arg;
    snprintf(d->shutdown_reason, sizeof d->shutdown_reason, "%s (status 0x%x)",
             reason && *reason ? reason : "no reason given", (unsigned)code);
    atomic_store(&d->shutdown, 1);
}

static int on_buffer_size(jack_nframes_t n, void *arg)
{
    struct detect *d = arg;
    atomic_store(&d->period, n);
    return 0;
}

static int on_sample_rate(jack_nframes_t rate, void *arg)
{
    struct detect *d = arg;
    if ((double)rate != d->rate)
        atomic_store(&d->rate_changed, (int)rate);
    return 0;
}

static void on_freewheel(int starting, void *arg)
{
    struct detect *d = arg;
    atomic_store(&d->freewheel, starting);
}

/* The probability and alarm outputs are `total_samples` behind the inputs;
 * the inputs are that much ahead of whatever plays our outputs. */
static void on_latency(jack_latency_callback_mode_t mode, void *arg)
{
    struct detect *d = arg;
    jack_nframes_t add = d->latency.total_samples;
    jack_latency_range_t r, acc = { UINT32_MAX, 0 };
    if (mode == JackCaptureLatency) {
        for (int c = 0; c < d->n_channels; c++) {
            jack_port_get_latency_range(d->in[c], mode, &r);
            acc.min = r.min < acc.min ? r.min : acc.min;
            acc.max = r.max > acc.max ? r.max : acc.max;
        }
        if (acc.min == UINT32_MAX)
            acc.min = 0;
        acc.min += add;
        acc.max += add;
        if (d->prob_out)
            jack_port_set_latency_range(d->prob_out, mode, &acc);
        if (d->alarm_out)
            jack_port_set_latency_range(d->alarm_out, mode, &acc);
    } else {
        jack_port_t *outs[2] = { d->prob_out, d->alarm_out };
        for (int i = 0; i < 2; i++) {
            if (!outs[i])
                continue;
            jack_port_get_latency_range(outs[i], mode, &r);
            acc.min = r.min < acc.min ? r.min : acc.min;
            acc.max = r.max > acc.max ? r.max : acc.max;
        }
        if (acc.min == UINT32_MAX)
            acc.min = 0;
        acc.min += add;
        acc.max += add;
        for (int c = 0; c < d->n_channels; c++)
            jack_port_set_latency_range(d->in[c], mode, &acc);
        jack_port_set_latency_range(d->gate, mode, &acc);
    }
}

/* ---- set-up --------------------------------------------------------------------- */

struct options {
    const char *model_path;
    const char *client_name;
    const char *server;
    bool start_server;
    const char *journal;
    const char *report;
    const char *gate;
    bool exit_on_idle;
    bool console;
    bool prob_port, alarm_port;
    bool mlock;
    int warmup_cycles;
    int event_queue, telemetry_queue;
    double max_gap, prob_rate, status_interval;
};

static void options_from_config(const struct ictal_config *cfg, struct options *o)
{
    memset(o, 0, sizeof *o);
    const char *s = ictal_config_get_string(cfg, "detect", "model");
    o->model_path = s && *s ? s : NULL;
    o->client_name = ictal_config_get_string(cfg, "detect", "client_name");
    s = ictal_config_get_string(cfg, "jack", "server");
    o->server = s && *s ? s : NULL;
    o->start_server = ictal_config_get_bool(cfg, "jack", "start_server");
    s = ictal_config_get_string(cfg, "detect", "journal");
    o->journal = s && *s ? s : NULL;
    s = ictal_config_get_string(cfg, "detect", "report");
    o->report = s && *s ? s : NULL;
    s = ictal_config_get_string(cfg, "detect", "gate");
    o->gate = s && *s ? s : NULL;
    o->exit_on_idle = ictal_config_get_bool(cfg, "detect", "exit_on_idle");
    o->console = ictal_config_get_bool(cfg, "detect", "console");
    o->prob_port = ictal_config_get_bool(cfg, "detect", "prob_port");
    o->alarm_port = ictal_config_get_bool(cfg, "detect", "alarm_port");
    o->mlock = ictal_config_get_bool(cfg, "rt", "mlockall");
    o->warmup_cycles = (int)ictal_config_get_int(cfg, "rt", "warmup_cycles");
    o->event_queue = (int)ictal_config_get_int(cfg, "rt", "event_queue");
    o->telemetry_queue = (int)ictal_config_get_int(cfg, "rt", "telemetry_queue");
    o->max_gap = ictal_config_get_double(cfg, "detect", "max_gap");
    o->prob_rate = ictal_config_get_double(cfg, "osc", "prob_rate");
    o->status_interval = ictal_config_get_double(cfg, "osc", "status_interval");
}

static const struct prog_cli cli = {
    .prog = PROG,
    .shorts = shorts,
    .n_shorts = sizeof shorts / sizeof shorts[0],
    .opts = opts,
    .n_opts = N_OPTS,
    .lists = lists,
    .n_lists = sizeof lists / sizeof lists[0],
    .model_key = "detect.model",
    .programs = ICTAL_CONFIG_PROG_DETECT,
    .usage = usage,
};

/* The `connect` items expanded to output ports, split into the gate (a port
 * whose short name is "gate") and the data ports. Returns the count of data
 * ports (malloc'd full names in *data), or -1 with a message. */
static int expand_connect(jack_client_t *c, const struct ictal_config *cfg, char ***data,
                          char **gate)
{
    const char *const *specs = NULL;
    size_t n_spec = ictal_config_get_list(cfg, "detect", "connect", &specs);
    *data = NULL;
    *gate = NULL;
    size_t cap = 0;
    int n = 0;
    for (size_t i = 0; i < n_spec; i++) {
        const char *spec = specs[i];
        const char **ports = NULL;
        jack_port_t *exact = jack_port_by_name(c, spec);
        const char *one[2] = { spec, NULL };
        if (!exact)
            ports = jack_get_ports(c, spec, NULL, JackPortIsOutput);
        const char *const *use = exact ? one : ports;
        if (!use || !use[0]) {
            prog_log_error("--connect %s: no output port matches (see jack_lsp)", spec);
            if (ports)
                jack_free(ports);
            return -1;
        }
        for (size_t k = 0; use[k]; k++) {
            const char *colon = strchr(use[k], ':');
            const char *shortname = colon ? colon + 1 : use[k];
            if (strcasecmp(shortname, "gate") == 0) {
                if (!*gate)
                    *gate = strdup(use[k]);
                continue;
            }
            if ((size_t)n == cap) {
                cap = cap ? 2 * cap : 64;
                char **more = realloc(*data, cap * sizeof *more);
                if (!more) {
                    if (ports)
                        jack_free(ports);
                    prog_log_error("out of memory");
                    return -1;
                }
                *data = more;
            }
            (*data)[n++] = strdup(use[k]);
        }
        if (ports)
            jack_free(ports);
    }
    return n;
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- the report -------------------------------------------------------------------- */

static int write_summary(const struct detect *d, const struct options *o, const char *dir,
                         const struct sender_stats *ss, const char *exit_reason, double wall_s)
{
    char path[PATH_MAX];
    FILE *f = report_open(dir, "summary.json", path, sizeof path);
    if (!f)
        return -1;
    struct ictal_timehist_snapshot *h = malloc(sizeof *h);
    if (!h) {
        fclose(f);
        return -1;
    }
    ictal_timehist_snapshot(d->cb_hist, h);
    fprintf(f, "{\n  \"program\": \"" PROG "\",\n  \"version\": \"%s\",\n  \"client\": ",
            ICTAL_VERSION_STRING);
    event_format_json_string(f, d->client_name);
    fprintf(f, ",\n  \"model\": ");
    event_format_json_string(f, o->model_path);
    fprintf(f, ",\n  \"channels\": ");
    report_json_labels(f, d->labels, (size_t)d->n_channels);
    fprintf(f, ",\n  \"n_channels\": %d,\n  \"rate\": ", d->n_channels);
    event_format_json_double(f, d->rate);
    fprintf(f, ",\n  \"model_rate\": ");
    event_format_json_double(f, d->model_rate);
    fprintf(f, ",\n  \"period\": %u", (unsigned)atomic_load(&d->period));
    fprintf(f, ",\n  \"cycles\": %llu", (unsigned long long)atomic_load(&d->cycles));
    fprintf(f, ",\n  \"streams\": %u,\n  \"xruns\": %d,\n  \"lost_samples\": %llu",
            (unsigned)d->rt.stream, atomic_load(&d->xruns),
            (unsigned long long)atomic_load(&d->lost_samples));
    fprintf(f, ",\n  \"records_made\": %llu,\n  \"records_dropped\": %llu,"
               "\n  \"telemetry_dropped\": %llu",
            (unsigned long long)atomic_load(&d->records),
            (unsigned long long)atomic_load(&d->ev_drops),
            (unsigned long long)atomic_load(&d->tel_drops));
    fprintf(f, ",\n  \"sender\": {\"records\": %llu, \"messages\": %llu, \"send_errors\": %llu, "
               "\"resent\": %llu, \"tcp_connects\": %llu, \"journal_errors\": %llu, "
               "\"prob_sent\": %llu}",
            (unsigned long long)ss->records, (unsigned long long)ss->messages,
            (unsigned long long)ss->send_errors, (unsigned long long)ss->resent,
            (unsigned long long)ss->tcp_connects, (unsigned long long)ss->journal_errors,
            (unsigned long long)ss->prob_sent);
    double period_us = (double)atomic_load(&d->period) / d->rate * 1e6;
    fprintf(f, ",\n  \"callback_us\": ");
    report_json_times_us(f, h);
    fprintf(f, ",\n  \"period_us\": ");
    report_json_round(f, period_us, 3);
    fprintf(f, ",\n  \"dsp_load_mean_pct\": ");
    report_json_round(f, period_us > 0 ? ictal_timehist_mean(h) / 1000.0 / period_us * 100 : 0, 3);
    fprintf(f, ",\n  \"dsp_load_max_pct\": ");
    report_json_round(f, period_us > 0 ? (double)h->max_ns / 1000.0 / period_us * 100 : 0, 3);
    fprintf(f, ",\n  \"declared_latency\": ");
    report_json_latency(f, &d->latency);
    fprintf(f, ",\n  \"wall_s\": ");
    report_json_round(f, wall_s, 3);
    fprintf(f, ",\n  \"exit\": ");
    event_format_json_string(f, exit_reason);
    fprintf(f, "\n}\n");
    free(h);
    return report_close(f, path);
}

static int write_latency(const struct detect *d, const char *dir)
{
    char path[PATH_MAX];
    FILE *f = report_open(dir, "latency_stats.json", path, sizeof path);
    struct ictal_timehist_snapshot *h = malloc(sizeof *h);
    if (!f || !h) {
        if (f)
            fclose(f);
        free(h);
        return -1;
    }
    ictal_timehist_snapshot(d->cb_hist, h);
    double period_us = (double)atomic_load(&d->period) / d->rate * 1e6;
    fprintf(f, "{\n  \"cycles\": %llu,\n  \"period_frames\": %u,\n  \"period_us\": ",
            (unsigned long long)h->n, (unsigned)atomic_load(&d->period));
    report_json_round(f, period_us, 3);
    fprintf(f, ",\n  \"callback_us\": ");
    report_json_times_us(f, h);
    fprintf(f, ",\n  \"percentile_resolution\": 0.008");
    /* The distribution, for plots: non-empty buckets as [µs, count]. */
    fprintf(f, ",\n  \"histogram_us\": [");
    int k = 0;
    for (size_t i = 0; i < ICTAL_TIMEHIST_BUCKETS; i++) {
        if (!h->count[i])
            continue;
        fprintf(f, "%s[", k++ ? ", " : "");
        report_json_round(f, ictal_timehist_bucket_mid(i) / 1000.0, 3);
        fprintf(f, ", %llu]", (unsigned long long)h->count[i]);
    }
    fprintf(f, "],\n  \"declared_latency\": ");
    report_json_latency(f, &d->latency);
    fprintf(f, "\n}\n");
    free(h);
    return report_close(f, path);
}

/* ---- main ------------------------------------------------------------------------------ */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t random_session(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

int main(int argc, char **argv)
{
    /* Before any thread exists: signals are taken by main alone. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct ictal_config *cfg = NULL;
    struct ictal_model *model = NULL;
    int status;
    int rc = prog_args_setup(&cli, argc, argv, &cfg, &model, NULL, &status);
    if (rc == 0 && !model) {
        fprintf(stderr, PROG ": no model: give --model FILE (detect.model) (see --help)\n");
        rc = -1;
        status = EXIT_USAGE;
    }
    if (rc != 0) {
        ictal_model_destroy(model);
        ictal_config_destroy(cfg);
        return status;
    }
    prog_log_setup(PROG, cfg);
    struct options o;
    options_from_config(cfg, &o);
    status = EXIT_FAIL;
    double t_start = mono_s();

    struct detect *d = calloc(1, sizeof *d);
    struct sender *snd = NULL;
    char **labels = NULL, **peers = NULL;
    char *gate_peer = NULL;
    int n_labels = 0, n_peers = 0;
    bool activated = false, server_dead = false;
    const char *exit_reason = "error";
    char why[512];
    static char client_name[128];
    struct ictal_error err;
    if (!d) {
        prog_log_error("out of memory");
        goto done;
    }
    d->model = model;
    const struct ictal_model_info *mi = ictal_model_info(model);
    d->model_name = mi->name;

    jack_set_error_function(on_jack_message);
    jack_set_info_function(on_jack_message);
    d->client = jack_client_open_named(o.client_name, o.server, o.start_server, why, sizeof why);
    if (!d->client) {
        prog_log_error("%s", why);
        goto done;
    }
    /* our copy: libjack's string dies with the client, the sender outlives it */
    snprintf(client_name, sizeof client_name, "%s", jack_get_client_name(d->client));
    d->client_name = client_name;
    d->rate = (double)jack_get_sample_rate(d->client);
    atomic_store(&d->period, jack_get_buffer_size(d->client));
    double ratio = mi->sample_rate / d->rate;
    if (!(ratio >= 1.0 / 256.0 && ratio <= 256.0)) {
        prog_log_error("JACK runs at %g Hz: the model's %g Hz cannot be reached (libsamplerate "
                       "converts ratios 1/256..256 only)", d->rate, mi->sample_rate);
        goto done;
    }

    /* Channels: --channels, else the model's labels, else what --connect finds. */
    n_peers = expand_connect(d->client, cfg, &peers, &gate_peer);
    if (n_peers < 0)
        goto done;
    const char *const *cfg_labels = NULL;
    size_t n_cfg = ictal_config_get_list(cfg, "detect", "channels", &cfg_labels);
    if (n_cfg > 0) {
        n_labels = (int)n_cfg;
        labels = calloc(n_cfg, sizeof *labels);
        for (size_t i = 0; labels && i < n_cfg; i++)
            labels[i] = strdup(cfg_labels[i]);
    } else if (mi->n_labels > 0) {
        n_labels = mi->n_labels;
        labels = calloc((size_t)n_labels, sizeof *labels);
        for (int i = 0; labels && i < n_labels; i++)
            labels[i] = strdup(mi->labels[i]);
    } else if (n_peers > 0) {
        n_labels = n_peers < mi->max_channels ? n_peers : mi->max_channels;
        if (n_peers > n_labels)
            prog_log_warning("--connect matches %d ports; the model takes at most %d: using the "
                             "first %d", n_peers, mi->max_channels, n_labels);
        labels = calloc((size_t)n_labels, sizeof *labels);
        for (int i = 0; labels && i < n_labels; i++)
            labels[i] = strdup(strchr(peers[i], ':') ? strchr(peers[i], ':') + 1 : peers[i]);
    } else {
        prog_log_error("no channels: the model %s names none; give --channels A,B,... or "
                       "--connect PORTS", o.model_path);
        status = EXIT_USAGE;
        goto done;
    }
    if (!labels) {
        prog_log_error("out of memory");
        goto done;
    }
    if (n_labels < mi->min_channels || n_labels > mi->max_channels) {
        prog_log_error("%d channel(s): the model %s takes %d..%d", n_labels, o.model_path,
                       mi->min_channels, mi->max_channels);
        status = EXIT_USAGE;
        goto done;
    }
    d->n_channels = n_labels;
    d->labels = (const char *const *)labels;

    /* The pipeline, sized for any period (pieces of DETECT_MAX_BLOCK). */
    struct ictal_pipeline_config pc;
    if (ictal_pipeline_config_from(&pc, cfg, model, n_labels, d->rate, DETECT_MAX_BLOCK, &err) < 0 ||
        !(d->p = ictal_pipeline_create(model, &pc, &err))) {
        prog_log_error("%s", err.msg);
        goto done;
    }
    d->model_rate = ictal_pipeline_model_rate(d->p);
    d->frame_rate = ictal_pipeline_frame_rate(d->p);
    d->hop = mi->hop;
    ictal_pipeline_latency(d->p, &d->latency);
    d->gap_limit = (uint64_t)llround(o.max_gap * d->rate);
    d->frames_per_prob = o.prob_rate > 0 ? (int)fmax(1.0, round(d->frame_rate / o.prob_rate)) : 0;
    d->session = random_session();
    d->fr_cap = ictal_pipeline_max_frames(d->p, DETECT_MAX_BLOCK);
    d->bufs = calloc((size_t)n_labels, sizeof *d->bufs);
    d->ptrs = calloc((size_t)n_labels, sizeof *d->ptrs);
    d->fr_prob = calloc(d->fr_cap ? d->fr_cap : 1, sizeof *d->fr_prob);
    d->fr_flags = calloc(d->fr_cap ? d->fr_cap : 1, 1);
    d->fr_alarm = calloc(d->fr_cap ? d->fr_cap : 1, 1);
    d->cb_hist = calloc(1, sizeof *d->cb_hist);
    d->in = calloc((size_t)n_labels, sizeof *d->in);
    if (!d->bufs || !d->ptrs || !d->fr_prob || !d->fr_flags || !d->fr_alarm || !d->cb_hist ||
        !d->in) {
        prog_log_error("out of memory");
        goto done;
    }
    ictal_timehist_init(d->cb_hist);
    detect_sink_init(d);
    d->ev_ring = ictal_ring_create_records((size_t)o.event_queue, sizeof(struct detect_rec), &err);
    d->tel_ring = d->ev_ring ? ictal_ring_create_records((size_t)o.telemetry_queue,
                                                         sizeof(struct detect_rec), &err)
                             : NULL;
    if (!d->tel_ring) {
        prog_log_error("%s", err.msg);
        goto done;
    }

    /* Ports, with metadata for patchbays. */
    for (int c = 0; c < n_labels; c++) {
        char pn[256];
        jack_client_port_name(d->client, labels[c], pn, sizeof pn);
        d->in[c] = jack_port_register(d->client, pn, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!d->in[c]) {
            prog_log_error("cannot register input port \"%s\" (a duplicate label?)", pn);
            goto done;
        }
        if (jack_client_describe_port(d->client, d->in[c], labels[c], true, c, "EEG", why,
                                      sizeof why) < 0)
            prog_log(PROG_LOG_DEBUG, "%s", why);
    }
    d->gate = jack_port_register(d->client, "gate", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    if (o.prob_port)
        d->prob_out = jack_port_register(d->client, "prob", JACK_DEFAULT_AUDIO_TYPE,
                                         JackPortIsOutput, 0);
    if (o.alarm_port)
        d->alarm_out = jack_port_register(d->client, "alarm", JACK_DEFAULT_AUDIO_TYPE,
                                          JackPortIsOutput, 0);
    if (!d->gate || (o.prob_port && !d->prob_out) || (o.alarm_port && !d->alarm_out)) {
        prog_log_error("cannot register the gate/prob/alarm ports");
        goto done;
    }
    jack_client_describe_port(d->client, d->gate, "Stream gate", true, n_labels, "control", why,
                              sizeof why);
    if (d->prob_out)
        jack_client_describe_port(d->client, d->prob_out, "Seizure probability", true, 0,
                                  "detection", why, sizeof why);
    if (d->alarm_out)
        jack_client_describe_port(d->client, d->alarm_out, "Seizure alarm", true, 1, "detection",
                                  why, sizeof why);

    if (jack_set_process_callback(d->client, detect_process, d) != 0 ||
        jack_set_xrun_callback(d->client, on_xrun, d) != 0 ||
        jack_set_buffer_size_callback(d->client, on_buffer_size, d) != 0 ||
        jack_set_sample_rate_callback(d->client, on_sample_rate, d) != 0 ||
        jack_set_freewheel_callback(d->client, on_freewheel, d) != 0 ||
        jack_set_latency_callback(d->client, on_latency, d) != 0) {
        prog_log_error("cannot set the JACK callbacks");
        goto done;
    }
    jack_on_info_shutdown(d->client, on_shutdown, d);

    /* Warm-up: every code path and page of the pipeline before the first
     * cycle, then back to the created state. */
    {
        size_t per = atomic_load(&d->period);
        float *zeros = calloc(per ? per : 1, sizeof *zeros);
        if (!zeros) {
            prog_log_error("out of memory");
            goto done;
        }
        for (int c = 0; c < n_labels; c++)
            d->ptrs[c] = zeros;
        for (int k = 0; k < o.warmup_cycles; k++) {
            struct ictal_pipeline_frames fr = { d->fr_prob, d->fr_flags, d->fr_alarm, d->fr_cap, 0 };
            for (size_t s = 0; s < per; s += DETECT_MAX_BLOCK)
                ictal_pipeline_process(d->p, d->ptrs,
                                       per - s < DETECT_MAX_BLOCK ? per - s : DETECT_MAX_BLOCK,
                                       NULL, &fr);
        }
        ictal_pipeline_reset(d->p);
        free(zeros);
    }
    if (ictal_ring_lock_memory(d->ev_ring, &err) < 0 ||
        ictal_ring_lock_memory(d->tel_ring, &err) < 0)
        prog_log(PROG_LOG_DEBUG, "%s", err.msg);
    if (o.mlock && jack_client_lock_memory(why, sizeof why) < 0)
        prog_log_warning("%s", why);

    /* The sender: OSC targets (or the [osc] host/port default), journal. */
    const char *const *cfg_targets = NULL;
    size_t n_targets = ictal_config_get_list(cfg, "osc", "targets", &cfg_targets);
    const char *targets[SENDER_MAX_TARGETS];
    char deftarget[300];
    int nt = 0;
    for (size_t i = 0; i < n_targets && nt < SENDER_MAX_TARGETS; i++)
        targets[nt++] = cfg_targets[i];
    if (n_targets > SENDER_MAX_TARGETS) {
        prog_log_error("at most %d OSC targets", SENDER_MAX_TARGETS);
        status = EXIT_USAGE;
        goto done;
    }
    if (nt == 0) {
        snprintf(deftarget, sizeof deftarget, "osc.%s://%s:%lld/",
                 ictal_config_get_enum(cfg, "osc", "protocol") == 1 ? "tcp" : "udp",
                 ictal_config_get_string(cfg, "osc", "host"),
                 (long long)ictal_config_get_int(cfg, "osc", "port"));
        targets[nt++] = deftarget;
    }
    struct sender_config sc = { targets, nt, o.journal, o.status_interval, o.console };
    snd = sender_create(d, &sc, why, sizeof why);
    if (!snd) {
        prog_log_error("%s", why);
        goto done;
    }
    if (o.report && report_make_dirs(o.report) < 0) {
        prog_log_error("%s: cannot create the report directory: %s", o.report, strerror(errno));
        goto done;
    }
    if (sender_start(snd) < 0) {
        prog_log_error("cannot start the sender thread");
        goto done;
    }

    if (jack_activate(d->client) != 0) {
        prog_log_error("cannot activate the JACK client");
        goto done;
    }
    activated = true;
    /* The gate before the data: a player that waits for its connections
     * must find its first samples gated, and an ungated stream must not
     * start on the data ports in between. */
    /* A peer that registered its ports may not be active yet (ictal-play
     * fills its read-ahead first): JACK refuses connections to it until it
     * is, so keep trying for a while. */
    const char *gsrc = o.gate ? o.gate : gate_peer;
    int tries = 0, crc = 0;
    do {
        if (tries++ > 0) {
            struct timespec ts = { 0, 100000000 };
            nanosleep(&ts, NULL);
        }
        crc = 0;
        if (gsrc) {
            int e = jack_connect(d->client, gsrc, jack_port_name(d->gate));
            if (e != 0 && e != EEXIST) {
                snprintf(why, sizeof why, "cannot connect %s to the gate input", gsrc);
                crc = -1;
            }
        }
        if (crc == 0 && n_peers > 0) {
            int n = n_peers < n_labels ? n_peers : n_labels;
            crc = jack_client_connect_ports(d->client, d->in, n, (const char *const *)peers,
                                            n_peers, why, sizeof why);
            if (crc > 0 || (crc == 0 && n < n_labels)) {
                prog_log_warning("%d of %d input(s) connected", n, n_labels);
                crc = 0;
            }
        }
    } while (crc < 0 && tries < CONNECT_TRIES);
    if (crc < 0) {
        prog_log_error("%s (tried for %.0f s)", why, CONNECT_TRIES / 10.0);
        goto done;
    }
    prog_log_info("%s: %d channel(s) at %g Hz, period %u, model %s (%g Hz, %g Hz frames), "
                  "declared latency %.3f s",
                  d->client_name, n_labels, d->rate, (unsigned)atomic_load(&d->period),
                  mi->name, d->model_rate, d->frame_rate, d->latency.total);

    /* Wait for the end. */
    enum detect_stop reason = STOP_SIGNAL;
    int rate_warned = 0;
    for (;;) {
        struct timespec ts = { 0, 100000000 };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            prog_log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
            exit_reason = "signal";
            status = EXIT_OK;
            break;
        }
        if (atomic_load(&d->shutdown)) {
            prog_log_error("the JACK server has gone away: %s; flushing pending events",
                           d->shutdown_reason);
            server_dead = true;
            reason = STOP_SHUTDOWN;
            exit_reason = "shutdown";
            status = EXIT_FAIL;
            break;
        }
        int nr = atomic_load(&d->rate_changed);
        if (nr && !rate_warned) {
            prog_log_error("the JACK sample rate changed from %g to %d Hz: this pipeline was built "
                           "for %g Hz; restart ictal-detect", d->rate, nr, d->rate);
            rate_warned = 1;
            exit_reason = "rate-change";
            status = EXIT_FAIL;
            break;
        }
        if (o.exit_on_idle && atomic_load(&d->streams_ended) > 0 &&
            atomic_load(&d->state) != DETECT_RUNNING) {
            prog_log_info("the stream has ended: exiting (--exit-on-idle)");
            reason = STOP_IDLE;
            exit_reason = "idle";
            status = EXIT_OK;
            break;
        }
        if (atomic_load(&d->ev_drops) > 0 && !rate_warned) {
            prog_log_error("%llu record(s) could not be queued (rt.event_queue too small): "
                           "they are lost", (unsigned long long)atomic_load(&d->ev_drops));
            rate_warned = 1;
        }
    }

    /* Take the pipeline from the process thread and end the stream here. */
    if (!detect_take_ownership(d, 2000))
        prog_log_warning("the process thread did not leave its cycle within 2 s");
    d->rt.cyc.frame_time = d->rt.expected;
    d->rt.cyc.usecs = jack_get_time();
    d->rt.cyc.nframes = 0;
    detect_end_stream(d, reason);
    atomic_store(&d->state, DETECT_STOPPED);

done:
    /* The sender first: it drains what main's flush queued and sends the
     * last status while the client still exists. */
    if (snd) {
        sender_stop(snd);
        struct sender_stats ss;
        sender_get_stats(snd, &ss);
        if (o.report && d && d->p) {
            if (write_summary(d, &o, o.report, &ss, exit_reason, mono_s() - t_start) < 0 ||
                write_latency(d, o.report) < 0 ||
                report_write_config_snapshot(o.report, cfg, ICTAL_CONFIG_PROG_DETECT) < 0 ||
                report_write_model_info(o.report, o.model_path, model, d->n_channels,
                                        ictal_pipeline_get_config(d->p)->gemm) < 0)
                status = EXIT_FAIL;
        }
        if (ss.journal_errors)
            status = EXIT_FAIL;
        sender_destroy(snd);
    }
    if (d && d->client) {
        /* jack2 1.9.21 wedges when a client closes while the server
         * freewheels or announces the end of it: a replay's player turns
         * freewheel off right after its last sample, so wait for that. */
        for (int i = 0; i < 500 && activated && !server_dead && atomic_load(&d->freewheel); i++) {
            struct timespec ts = { 0, 10000000 };
            nanosleep(&ts, NULL);
        }
        if (activated && !server_dead && atomic_load(&d->freewheel))
            prog_log_warning("the server still freewheels after 5 s; closing anyway");
        /* Metadata first, while every client still listens: jack2 1.9.21
         * notifies property changes with blocking writes, and a client that
         * is closing at the same moment no longer reads them. */
        if (!server_dead) {
            jack_client_forget_ports(d->client, d->in, d->n_channels);
            jack_port_t *others[3] = { d->gate, d->prob_out, d->alarm_out };
            jack_client_forget_ports(d->client, others, 3);
        }
        if (activated && !server_dead)
            jack_deactivate(d->client);
        if (!server_dead) {
            jack_client_close(d->client);
        } else if (jack_client_close_after_shutdown(d->client, 5.0) < 0) {
            /* Events, journal and report are written by now. */
            prog_log_error("libjack did not close the client within 5 s after the server died: "
                           "exiting without it");
            fflush(NULL);
            _exit(status);
        }
        d->client = NULL;
    }
    if (d) {
        if (d->p && atomic_load(&d->ev_drops) > 0)
            status = EXIT_FAIL;
        ictal_pipeline_destroy(d->p);
        ictal_ring_destroy(d->ev_ring);
        ictal_ring_destroy(d->tel_ring);
        free(d->bufs);
        free(d->ptrs);
        free(d->fr_prob);
        free(d->fr_flags);
        free(d->fr_alarm);
        free(d->cb_hist);
        free(d->in);
        free(d);
    }
    if (labels)
        free_names(labels, n_labels);
    if (peers)
        free_names(peers, n_peers);
    free(gate_peer);
    ictal_model_destroy(model);
    ictal_config_destroy(cfg);
    prog_log_close();
    return status;
}
