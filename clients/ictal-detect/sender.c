/*
 * sender.c — ictal-detect's non-real-time side of the rings: OSC to every
 * target, journal, console, heartbeat (sender.h).
 */
#include "sender.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <lo/lo.h>

#include "event_format.h"
#include "ictal/guard.h"
#include "osc_proto.h"
#include "prog_log.h"

#define IDLE_SLEEP_NS 5000000L   /* 5 ms between polls of empty rings */
#define RECONNECT_S 1.0
#define TCP_TIMEOUT_MS 250

struct target {
    int proto;                  /* LO_UDP or LO_TCP */
    char host[256], port[16];
    char text[300];             /* as given, for messages */
    lo_address udp;
    int fd;                     /* TCP socket, -1 while down */
    double next_try;            /* monotonic seconds */
    bool reported_down;
};

struct sender {
    struct detect *d;
    struct sender_config cfg;
    struct target t[SENDER_MAX_TARGETS];
    int nt;
    bool any_tcp;
    FILE *journal;
    const char *journal_path;
    pthread_t thread;
    bool started;
    _Atomic int stop;
    /* history for TCP resends: a circular buffer of START/EVENT/STOP records */
    struct detect_rec *hist;
    size_t hist_n, hist_head;
    struct ictal_timehist_snapshot *prev, *now, *diff;
    uint64_t cycles_prev;
    double next_status;
    double clock_offset;        /* CLOCK_REALTIME - JACK time, seconds */
    char channels_joined[ICTAL_OSC_MAX_PACKET];
    struct sender_stats st;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double real_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void measure_clock(struct sender *s)
{
    s->clock_offset = real_s() - (double)jack_get_time() * 1e-6;
}

/* ---- targets ---------------------------------------------------------------- */

static int parse_target(const char *spec, struct target *t, char *why, size_t cap)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
    snprintf(t->text, sizeof t->text, "%s", spec);
    if (strncmp(spec, "osc.", 4) == 0) {
        int proto = lo_url_get_protocol_id(spec);
        char *host = lo_url_get_hostname(spec), *port = lo_url_get_port(spec);
        int ok = (proto == LO_UDP || proto == LO_TCP) && host && port && port[0];
        if (ok) {
            t->proto = proto;
            snprintf(t->host, sizeof t->host, "%s", host[0] ? host : "127.0.0.1");
            snprintf(t->port, sizeof t->port, "%s", port);
        }
        free(host);
        free(port);
        if (!ok) {
            snprintf(why, cap, "OSC target \"%s\": want osc.udp://HOST:PORT/ or "
                               "osc.tcp://HOST:PORT/", spec);
            return -1;
        }
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= sizeof t->host ||
            strlen(colon + 1) >= sizeof t->port) {
            snprintf(why, cap, "OSC target \"%s\": want HOST:PORT", spec);
            return -1;
        }
        t->proto = LO_UDP;
        memcpy(t->host, spec, (size_t)(colon - spec));
        t->host[colon - spec] = '\0';
        snprintf(t->port, sizeof t->port, "%s", colon + 1);
    }
    char *end;
    long port = strtol(t->port, &end, 10);
    if (*end || port < 1 || port > 65535) {
        snprintf(why, cap, "OSC target \"%s\": port \"%s\" is not 1..65535", spec, t->port);
        return -1;
    }
    if (t->proto == LO_UDP) {
        t->udp = lo_address_new_with_proto(LO_UDP, t->host, t->port);
        if (!t->udp) {
            snprintf(why, cap, "OSC target \"%s\": cannot make an address", spec);
            return -1;
        }
    }
    return 0;
}

static void tcp_close(struct sender *s, struct target *t, const char *why)
{
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
        prog_log_warning("OSC target %s: connection lost (%s); retrying every %.0f s, "
                         "records are kept for it", t->text, why, RECONNECT_S);
    }
    t->next_try = mono_s() + RECONNECT_S;
    (void)s;
}

/* Non-blocking connect with a short timeout; the socket then sends with a
 * timeout too, so a stalled receiver costs at most TCP_TIMEOUT_MS. */
static int tcp_connect(struct target *t)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(t->host, t->port, &hints, &res) != 0 || !res)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0)
            continue;
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc < 0 && errno == EINPROGRESS) {
            struct pollfd p = { fd, POLLOUT, 0 };
            int err = 0;
            socklen_t len = sizeof err;
            if (poll(&p, 1, TCP_TIMEOUT_MS) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                rc = 0;
        }
        if (rc < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return -1;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    struct timeval tv = { 0, TCP_TIMEOUT_MS * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    t->fd = fd;
    return 0;
}

/* Has the peer closed? (A receiver never sends us anything.) */
static bool tcp_peer_gone(struct target *t)
{
    struct pollfd p = { t->fd, POLLIN, 0 };
    if (poll(&p, 1, 0) <= 0)
        return false;
    char b[64];
    ssize_t n = recv(t->fd, b, sizeof b, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* OSC 1.0 stream framing: the packet's length as 32-bit big-endian, then it. */
static int tcp_send(struct target *t, const void *data, size_t len)
{
    unsigned char hdr[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                             (unsigned char)(len >> 8), (unsigned char)len };
    const unsigned char *parts[2] = { hdr, data };
    size_t sizes[2] = { 4, len };
    for (int i = 0; i < 2; i++) {
        size_t off = 0;
        while (off < sizes[i]) {
            ssize_t n = send(t->fd, parts[i] + off, sizes[i] - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return -1;
            off += (size_t)n;
        }
    }
    return 0;
}

/* ---- encoding ------------------------------------------------------------------ */

/* Wall-clock time (Unix seconds) at which model-rate sample `sample` of the
 * record's stream entered the graph: its JACK frame is the stream's first
 * frame plus the sample converted to the input rate; the period holding
 * frames [frame_time, frame_time + nframes) was captured during the
 * nframes/rate seconds before its callback began. */
static double sample_time(const struct sender *s, const struct detect_rec *r, int64_t sample)
{
    const struct detect *d = s->d;
    double usecs = (double)r->cyc.usecs;
    if (r->cyc.nframes > 0 && sample >= 0) {
        double frame = (double)r->stream_frame0 + (double)sample * d->rate / d->model_rate;
        double behind = ((double)r->cyc.frame_time + r->cyc.nframes - frame) / d->rate;
        double period = r->cyc.nframes / d->rate;
        if (behind < 0)
            behind = 0;
        if (behind > period)
            behind = period;
        usecs -= behind * 1e6;
    }
    return usecs * 1e-6 + s->clock_offset;
}

static lo_message encode(struct sender *s, const struct detect_rec *r, double *t_unix)
{
    struct detect *d = s->d;
    char stream[ICTAL_OSC_STREAM_MAX];
    detect_stream_id(d, r->stream, stream, sizeof stream);
    struct osc_header h = { d->client_name, r->stream ? stream : "" };
    switch ((enum detect_rec_type)r->type) {
    case REC_EVENT:
        *t_unix = sample_time(s, r, r->u.ev.emit_sample);
        return osc_proto_record_message(h.source, h.stream, &r->u.ev, d->labels, d->n_channels);
    case REC_QUALITY: {
        char fl[96], prev[96];
        struct osc_quality q = {
            h, r->u.quality.channel,
            r->u.quality.channel >= 0 && r->u.quality.channel < d->n_channels
                ? d->labels[r->u.quality.channel] : "",
            ictal_quality_string(r->u.quality.flags, fl, sizeof fl),
            ictal_quality_string(r->u.quality.previous, prev, sizeof prev),
            (int64_t)r->u.quality.input_sample, (double)r->u.quality.input_sample / d->rate,
            r->u.quality.good_channels
        };
        *t_unix = sample_time(s, r, (int64_t)((double)r->u.quality.input_sample *
                                              d->model_rate / d->rate));
        return osc_proto_quality_message(&q);
    }
    case REC_XRUN: {
        struct osc_xrun x = { h, r->u.xrun.count, r->u.xrun.delayed_us, r->u.xrun.sample,
                              (double)r->u.xrun.sample / d->model_rate, r->u.xrun.lost };
        *t_unix = sample_time(s, r, r->u.xrun.sample);
        return osc_proto_xrun_message(&x);
    }
    case REC_START: {
        struct osc_start st = { h, ICTAL_OSC_VERSION, d->model_name, d->rate, d->model_rate,
                                d->frame_rate, s->channels_joined, d->latency.total };
        *t_unix = sample_time(s, r, 0);
        return osc_proto_start_message(&st);
    }
    case REC_STOP: {
        struct osc_stop st = { h, r->u.stop.frames, (double)r->u.stop.input_samples / d->rate,
                               detect_stop_name((enum detect_stop)r->u.stop.reason) };
        *t_unix = real_s();
        return osc_proto_stop_message(&st);
    }
    case REC_PROB: {
        struct osc_prob p = { h, r->u.prob.frame, r->u.prob.sample,
                              (double)r->u.prob.sample / d->model_rate, r->u.prob.p,
                              r->u.prob.p_max, r->u.prob.flags, r->u.prob.alarm };
        *t_unix = sample_time(s, r, r->u.prob.sample);
        return osc_proto_prob_message(&p);
    }
    }
    return NULL;
}

static const char *address_of(const struct detect_rec *r)
{
    switch ((enum detect_rec_type)r->type) {
    case REC_EVENT:   return osc_proto_address(osc_proto_msg_of_kind(r->u.ev.kind));
    case REC_QUALITY: return osc_proto_address(OSC_MSG_QUALITY);
    case REC_XRUN:    return osc_proto_address(OSC_MSG_XRUN);
    case REC_START:   return osc_proto_address(OSC_MSG_START);
    case REC_STOP:    return osc_proto_address(OSC_MSG_STOP);
    case REC_PROB:    return osc_proto_address(OSC_MSG_PROB);
    }
    return "/ictal/unknown";
}

/* Send one message in a bundle to one target (only) or all (only < 0).
 * Frees m. */
static void send_message(struct sender *s, const char *path, lo_message m, double t_unix,
                         int only)
{
    if (!m) {
        s->st.send_errors++;
        return;
    }
    lo_bundle b = lo_bundle_new(osc_proto_timetag(t_unix));
    if (!b || lo_bundle_add_message(b, path, m) != 0) {
        if (b)
            lo_bundle_free(b);
        lo_message_free(m);
        s->st.send_errors++;
        return;
    }
    s->st.messages++;
    void *data = NULL;
    size_t len = 0;
    for (int i = 0; i < s->nt; i++) {
        if (only >= 0 && i != only)
            continue;
        struct target *t = &s->t[i];
        if (t->proto == LO_UDP) {
            if (lo_send_bundle(t->udp, b) < 0)
                s->st.send_errors++;
            continue;
        }
        if (t->fd < 0)
            continue; /* down: the history catches it up on reconnection */
        if (!data && !(data = lo_bundle_serialise(b, NULL, &len))) {
            s->st.send_errors++;
            continue;
        }
        if (tcp_peer_gone(t) || tcp_send(t, data, len) < 0) {
            s->st.send_errors++;
            tcp_close(s, t, errno ? strerror(errno) : "closed by the peer");
        }
    }
    free(data);
    lo_bundle_free_recursive(b);
}

static void history_add(struct sender *s, const struct detect_rec *r)
{
    if (!s->any_tcp)
        return;
    size_t at = (s->hist_head + s->hist_n) % SENDER_HISTORY;
    if (s->hist_n == SENDER_HISTORY)
        s->hist_head = (s->hist_head + 1) % SENDER_HISTORY;
    else
        s->hist_n++;
    s->hist[at] = *r;
}

static void tcp_maintain(struct sender *s)
{
    double now = mono_s();
    for (int i = 0; i < s->nt; i++) {
        struct target *t = &s->t[i];
        if (t->proto != LO_TCP || t->fd >= 0 || now < t->next_try)
            continue;
        if (tcp_connect(t) < 0) {
            if (!t->reported_down)
                prog_log_warning("OSC target %s: cannot connect; retrying every %.0f s, "
                                 "records are kept for it", t->text, RECONNECT_S);
            t->reported_down = true;
            t->next_try = now + RECONNECT_S;
            continue;
        }
        t->reported_down = false;
        s->st.tcp_connects++;
        prog_log(PROG_LOG_DEBUG, "OSC target %s: connected; resending %zu record(s)", t->text,
                 s->hist_n);
        for (size_t k = 0; k < s->hist_n && t->fd >= 0; k++) {
            const struct detect_rec *r = &s->hist[(s->hist_head + k) % SENDER_HISTORY];
            double tt = 0;
            lo_message m = encode(s, r, &tt);
            send_message(s, address_of(r), m, tt, i);
            s->st.resent++;
        }
    }
}

/* ---- journal and console ----------------------------------------------------------- */

static void journal_sync(struct sender *s)
{
    if (fflush(s->journal) != 0 || fdatasync(fileno(s->journal)) != 0) {
        if (s->st.journal_errors++ == 0)
            prog_log_error("journal %s: %s", s->journal_path, strerror(errno));
    }
}

static void journal_record(struct sender *s, const struct detect_rec *r, const char *stream,
                           double t_unix)
{
    struct detect *d = s->d;
    FILE *f = s->journal;
    if (r->type == REC_EVENT) {
        struct event_format_ctx ctx = { NULL, d->client_name, stream, d->labels, d->n_channels, 0 };
        event_format_jsonl(f, &r->u.ev, &ctx);
    } else {
        fputs("{\"source\":", f);
        event_format_json_string(f, d->client_name);
        fputs(",\"stream\":", f);
        event_format_json_string(f, stream);
        if (r->type == REC_START) {
            fputs(",\"kind\":\"start\",\"model\":", f);
            event_format_json_string(f, d->model_name);
            fputs(",\"input_rate\":", f);
            event_format_json_double(f, d->rate);
            fputs(",\"model_rate\":", f);
            event_format_json_double(f, d->model_rate);
            fputs(",\"frame_rate\":", f);
            event_format_json_double(f, d->frame_rate);
            fputs(",\"latency_s\":", f);
            event_format_json_double(f, d->latency.total);
            fputs(",\"channels\":[", f);
            for (int c = 0; c < d->n_channels; c++) {
                if (c)
                    fputc(',', f);
                event_format_json_string(f, d->labels[c]);
            }
            fputc(']', f);
        } else if (r->type == REC_STOP) {
            fprintf(f, ",\"kind\":\"stop\",\"frames\":%lld,\"t_s\":", (long long)r->u.stop.frames);
            event_format_json_double(f, (double)r->u.stop.input_samples / d->rate);
            fputs(",\"reason\":", f);
            event_format_json_string(f, detect_stop_name((enum detect_stop)r->u.stop.reason));
        } else { /* REC_XRUN */
            fprintf(f, ",\"kind\":\"xrun\",\"count\":%d,\"sample\":%lld,\"lost_samples\":%lld,"
                       "\"delayed_us\":",
                    (int)r->u.xrun.count, (long long)r->u.xrun.sample, (long long)r->u.xrun.lost);
            event_format_json_float(f, r->u.xrun.delayed_us);
        }
        fputs(",\"time_unix\":", f);
        event_format_json_double(f, t_unix);
        fputs("}\n", f);
    }
    journal_sync(s);
}

static void console_record(struct sender *s, const struct detect_rec *r, const char *stream)
{
    struct detect *d = s->d;
    if (r->type == REC_EVENT) {
        struct event_format_ctx ctx = { NULL, NULL, NULL, d->labels, d->n_channels, 0 };
        fputs("ictal-detect: ", stderr);
        event_format_console(stderr, &r->u.ev, &ctx);
    } else if (r->type == REC_START) {
        prog_log_info("stream %s started: %d channel(s) at %g Hz, model %s", stream,
                      d->n_channels, d->rate, d->model_name);
    } else if (r->type == REC_STOP) {
        prog_log_info("stream %s ended (%s) after %.3f s, %lld frame(s)", stream,
                      detect_stop_name((enum detect_stop)r->u.stop.reason),
                      (double)r->u.stop.input_samples / d->rate, (long long)r->u.stop.frames);
    } else if (r->type == REC_XRUN) {
        char lost[96] = "";
        if (r->u.xrun.lost > 0 && (uint64_t)r->u.xrun.lost <= d->gap_limit)
            snprintf(lost, sizeof lost, "; %lld missing sample(s) bridged, sample clock kept",
                     (long long)r->u.xrun.lost);
        else if (r->u.xrun.lost != 0)
            snprintf(lost, sizeof lost, "; the frame clock jumped by %lld sample(s): stream "
                     "restarted", (long long)r->u.xrun.lost);
        if (r->u.xrun.count > 0)
            prog_log_warning("xrun #%d in the JACK graph, a latency violation (this client began a cycle %.1f ms late)%s",
                             (int)r->u.xrun.count, r->u.xrun.delayed_us / 1000.0, lost);
        else
            prog_log_warning("JACK frame clock discontinuity%s", lost);
    } else if (r->type == REC_QUALITY) {
        char fl[96];
        ictal_quality_string(r->u.quality.flags, fl, sizeof fl);
        prog_log(PROG_LOG_DEBUG, "channel %s: quality %s (%d good)",
                 r->u.quality.channel < d->n_channels ? d->labels[r->u.quality.channel] : "?",
                 fl[0] ? fl : "good", (int)r->u.quality.good_channels);
    }
}

/* ---- the loop ---------------------------------------------------------------------- */

static void handle(struct sender *s, const struct detect_rec *r, bool reliable)
{
    char stream[ICTAL_OSC_STREAM_MAX];
    detect_stream_id(s->d, r->stream, stream, sizeof stream);
    double t = 0;
    lo_message m = encode(s, r, &t);
    send_message(s, address_of(r), m, t, -1);
    if (!reliable) {
        s->st.prob_sent++;
        return;
    }
    s->st.records++;
    if (r->type == REC_EVENT || r->type == REC_START || r->type == REC_STOP)
        history_add(s, r);
    if (s->journal && r->type != REC_QUALITY)
        journal_record(s, r, stream, t);
    if (s->cfg.console)
        console_record(s, r, stream);
}

static void send_status(struct sender *s)
{
    struct detect *d = s->d;
    ictal_timehist_snapshot(d->cb_hist, s->now);
    ictal_timehist_diff(s->now, s->prev, s->diff);
    uint64_t cycles = atomic_load(&d->cycles);
    uint64_t dc = cycles - s->cycles_prev;
    s->cycles_prev = cycles;
    struct ictal_timehist_snapshot *tmp = s->prev;
    s->prev = s->now;
    s->now = tmp;
    double period_ns = (double)atomic_load(&d->period) / d->rate * 1e9;
    int state = atomic_load(&d->state);
    uint32_t stream_no = atomic_load(&d->stream_no);
    char stream[ICTAL_OSC_STREAM_MAX];
    detect_stream_id(d, stream_no, stream, sizeof stream);
    static const char *const states[] = { "waiting", "running", "stopped" };
    const char *st_name = state >= 0 && state <= 2 ? states[state] : "stopped";
    if (state == DETECT_RUNNING && atomic_load(&d->freewheel))
        st_name = "freewheel";
    bool alive = !atomic_load(&d->shutdown);
    struct osc_status os = {
        .h = { d->client_name, state == DETECT_RUNNING ? stream : "" },
        .version = ICTAL_OSC_VERSION,
        .state = st_name,
        .n_channels = d->n_channels,
        .frames = (int64_t)atomic_load(&d->stream_frames),
        .input_samples = (int64_t)atomic_load(&d->stream_input),
        .t_s = (double)atomic_load(&d->stream_input) / d->rate,
        .xruns = atomic_load(&d->xruns),
        .dsp_load = dc && period_ns > 0 ? (float)(100.0 * (double)s->diff->sum_ns /
                                                  ((double)dc * period_ns)) : 0.0f,
        .jack_load = alive && d->client ? jack_cpu_load(d->client) : 0.0f,
        .cb_p50_us = (float)(ictal_timehist_percentile(s->diff, 50) / 1000.0),
        .cb_p95_us = (float)(ictal_timehist_percentile(s->diff, 95) / 1000.0),
        .cb_p99_us = (float)(ictal_timehist_percentile(s->diff, 99) / 1000.0),
        .cb_max_us = (float)(ictal_timehist_top(s->diff) / 1000.0),
        .cb_max_all_us = (float)((double)s->prev->max_ns / 1000.0),
        .telemetry_drops = (int64_t)atomic_load(&d->tel_drops),
        .records = (int64_t)s->st.records,
        .alarm = atomic_load(&d->alarm),
        .good_channels = atomic_load(&d->good_channels),
        .period = (int32_t)atomic_load(&d->period),
        .rate = d->rate,
        .model = d->model_name,
    };
    if (!(os.jack_load >= 0))
        os.jack_load = 0;
    send_message(s, osc_proto_address(OSC_MSG_STATUS), osc_proto_status_message(&os), real_s(), -1);
}

static size_t drain(struct sender *s, struct ictal_ring *ring, bool reliable, size_t max)
{
    struct detect_rec r;
    size_t n = 0;
    while (n < max && ictal_ring_pop(ring, &r) == 0) {
        handle(s, &r, reliable);
        n++;
    }
    return n;
}

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    for (;;) {
        bool stopping = atomic_load(&s->stop);
        /* Reliable records first and all of them; telemetry in bounded bites. */
        size_t n = drain(s, s->d->ev_ring, true, SIZE_MAX);
        n += drain(s, s->d->tel_ring, false, 256);
        double now = mono_s();
        if (now >= s->next_status) {
            measure_clock(s);
            send_status(s);
            s->next_status += s->cfg.status_interval;
            if (s->next_status < now)
                s->next_status = now + s->cfg.status_interval;
        }
        if (s->any_tcp)
            tcp_maintain(s);
        if (stopping && n == 0 && ictal_ring_count(s->d->ev_ring) == 0 &&
            ictal_ring_count(s->d->tel_ring) == 0)
            break;
        if (n == 0) {
            struct timespec ts = { 0, IDLE_SLEEP_NS };
            nanosleep(&ts, NULL);
        }
    }
    send_status(s); /* the last word: final counters */
    return NULL;
}

/* ---- life cycle ----------------------------------------------------------------------- */

struct sender *sender_create(struct detect *d, const struct sender_config *cfg, char *why,
                             size_t why_cap)
{
    struct sender *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    s->d = d;
    s->cfg = *cfg;
    atomic_init(&s->stop, 0);
    if (cfg->n_targets > SENDER_MAX_TARGETS) {
        snprintf(why, why_cap, "at most %d OSC targets (got %d)", SENDER_MAX_TARGETS,
                 cfg->n_targets);
        free(s);
        return NULL;
    }
    for (int i = 0; i < cfg->n_targets; i++) {
        if (parse_target(cfg->targets[i], &s->t[i], why, why_cap) < 0) {
            s->nt = i;
            sender_destroy(s);
            return NULL;
        }
        s->nt = i + 1;
        if (s->t[i].proto == LO_TCP)
            s->any_tcp = true;
    }
    s->prev = calloc(1, sizeof *s->prev);
    s->now = calloc(1, sizeof *s->now);
    s->diff = calloc(1, sizeof *s->diff);
    s->hist = s->any_tcp ? calloc(SENDER_HISTORY, sizeof *s->hist) : NULL;
    if (!s->prev || !s->now || !s->diff || (s->any_tcp && !s->hist)) {
        snprintf(why, why_cap, "out of memory");
        sender_destroy(s);
        return NULL;
    }
    if (cfg->journal && cfg->journal[0]) {
        int fd = open(cfg->journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0 || !(s->journal = fdopen(fd, "a"))) {
            snprintf(why, why_cap, "journal %s: %s", cfg->journal, strerror(errno));
            if (fd >= 0)
                close(fd);
            sender_destroy(s);
            return NULL;
        }
        s->journal_path = cfg->journal;
    }
    osc_proto_join_labels(d->labels, d->n_channels, 2048, s->channels_joined,
                          sizeof s->channels_joined);
    return s;
}

int sender_start(struct sender *s)
{
    measure_clock(s);
    s->next_status = mono_s(); /* a first heartbeat at once */
    for (int i = 0; i < s->nt; i++)
        s->t[i].next_try = 0;
    if (pthread_create(&s->thread, NULL, sender_main, s) != 0)
        return -1;
    s->started = true;
    return 0;
}

void sender_stop(struct sender *s)
{
    if (!s || !s->started)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void sender_destroy(struct sender *s)
{
    if (!s)
        return;
    sender_stop(s);
    for (int i = 0; i < s->nt; i++) {
        if (s->t[i].udp)
            lo_address_free(s->t[i].udp);
        if (s->t[i].fd >= 0)
            close(s->t[i].fd);
    }
    if (s->journal && fclose(s->journal) != 0)
        prog_log_error("journal %s: %s", s->journal_path, strerror(errno));
    free(s->hist);
    free(s->prev);
    free(s->now);
    free(s->diff);
    free(s);
}

void sender_get_stats(const struct sender *s, struct sender_stats *st)
{
    *st = s->st;
}
