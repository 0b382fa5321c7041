#include "log_out.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event_format.h"
#include "prog_log.h"

#define MAX_STREAMS 4096
#define CSV_MIN_INTERVAL 1.0  /* s between two rewrites of one stream's file */
#define ERROR_INTERVAL 10.0   /* s between two reports of one output's write errors */

struct stream {
    char *source, *id;
    uint64_t hash;
    uint64_t *keys;            /* open addressing, 0 = empty; cap_keys a power of 2 */
    size_t n_keys, cap_keys;
    struct ictal_event *finals;
    size_t n_finals, cap_finals;
    double duration;           /* s the stream reached so far */
    bool stopped;
    double stopped_at, last_seen;  /* CLOCK_MONOTONIC */
    char *csv_path;            /* NULL until its first write */
    bool csv_dirty;
    double csv_written;
};

struct logout {
    struct logout_cfg cfg;
    FILE *jsonl;
    bool jsonl_stdout;
    struct stream **streams;
    size_t n_streams;
    size_t total_keys;
    double err_last[2];        /* last report of a JSON Lines / CSV_BI error */
};

/* ---- small helpers ------------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return mix64(h ^ 0xff);
}

static void report(struct logout *o, int which, double now, const char *what, const char *path)
{
    if (o->err_last[which] != 0 && now - o->err_last[which] < ERROR_INTERVAL)
        return;
    o->err_last[which] = now;
    prog_log_error("%s: cannot write %s: %s", path, what, strerror(errno ? errno : EIO));
}

/* fsync, where the file can be synced: a pipe, FIFO or /dev/null cannot
 * (EINVAL), and that is no failure. */
static int sync_file(FILE *f)
{
    return fsync(fileno(f)) == 0 || errno == EINVAL ? 0 : -1;
}

/* A stream or source id as part of a file name: [A-Za-z0-9._-] kept, the
 * rest '_', no leading '.'. */
static void name_part(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap && n < 64; s++, n++) {
        unsigned char c = (unsigned char)*s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (c == '.' && n > 0);
        out[n] = ok ? (char)c : '_';
    }
    out[n] = '\0';
}

/* ---- streams and duplicate keys --------------------------------------------------- */

static void stream_free(struct stream *s)
{
    if (!s)
        return;
    free(s->source);
    free(s->id);
    free(s->keys);
    free(s->finals);
    free(s->csv_path);
    free(s);
}

static int write_csv(struct logout *o, struct stream *s, double now);

static void forget_stream(struct logout *o, size_t i, double now)
{
    struct stream *s = o->streams[i];
    if (s->csv_dirty)
        write_csv(o, s, now);
    o->total_keys -= s->n_keys;
    stream_free(s);
    o->streams[i] = o->streams[--o->n_streams];
}

/* Make room: forget the stream that stopped longest ago, else the least
 * recently active one (never `keep`). Returns false when there is none. */
static bool evict_one(struct logout *o, const struct stream *keep, double now)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < o->n_streams; i++) {
        const struct stream *s = o->streams[i];
        if (s == keep)
            continue;
        if (best == SIZE_MAX) {
            best = i;
            continue;
        }
        const struct stream *b = o->streams[best];
        if (s->stopped != b->stopped ? s->stopped
                                     : (s->stopped ? s->stopped_at < b->stopped_at
                                                   : s->last_seen < b->last_seen))
            best = i;
    }
    if (best == SIZE_MAX)
        return false;
    const struct stream *b = o->streams[best];
    prog_log(PROG_LOG_DEBUG, "forgetting stream %s %s (%zu record key(s))", b->source, b->id,
             b->n_keys);
    forget_stream(o, best, now);
    return true;
}

static struct stream *find_stream(struct logout *o, const char *source, const char *id,
                                   double now)
{
    uint64_t h = hash_str(hash_str(0xcbf29ce484222325u, source), id);
    for (size_t i = 0; i < o->n_streams; i++) {
        struct stream *s = o->streams[i];
        if (s->hash == h && strcmp(s->source, source) == 0 && strcmp(s->id, id) == 0) {
            s->last_seen = now;
            return s;
        }
    }
    if (o->n_streams == MAX_STREAMS)
        evict_one(o, NULL, now);
    struct stream *s = calloc(1, sizeof *s);
    if (!s || !(s->source = strdup(source)) || !(s->id = strdup(id))) {
        stream_free(s);
        return NULL;
    }
    s->hash = h;
    s->last_seen = now;
    o->streams[o->n_streams++] = s;
    return s;
}

static uint64_t record_key(const struct ictal_event *ev)
{
    /* kind 1..3 in the top bits: never 0, the empty slot */
    return (uint64_t)ev->kind << 62 | (ev->id & 0x7fffffffu) << 31 |
           ((uint64_t)(uint32_t)ev->segment & 0x7fffffffu);
}

static size_t key_slot(const uint64_t *keys, size_t cap, uint64_t key)
{
    size_t i = (size_t)mix64(key) & (cap - 1);
    while (keys[i] != 0 && keys[i] != key)
        i = (i + 1) & (cap - 1);
    return i;
}

/* Add key to s. Returns 1 when it was new, 0 when seen before, -1 when out of
 * memory (the record is then logged, not remembered). */
static int remember(struct logout *o, struct stream *s, uint64_t key, double now)
{
    if (s->cap_keys && s->keys[key_slot(s->keys, s->cap_keys, key)] == key)
        return 0;
    while (o->total_keys >= o->cfg.dedup_max && evict_one(o, s, now))
        ;
    if (o->total_keys >= o->cfg.dedup_max && s->n_keys > 0) {
        /* this one stream holds them all: start its set afresh */
        o->total_keys -= s->n_keys;
        s->n_keys = 0;
        memset(s->keys, 0, s->cap_keys * sizeof *s->keys);
    }
    if (2 * (s->n_keys + 1) > s->cap_keys) {
        size_t cap = s->cap_keys ? 2 * s->cap_keys : 64;
        uint64_t *k = calloc(cap, sizeof *k);
        if (!k)
            return -1;
        for (size_t i = 0; i < s->cap_keys; i++)
            if (s->keys[i])
                k[key_slot(k, cap, s->keys[i])] = s->keys[i];
        free(s->keys);
        s->keys = k;
        s->cap_keys = cap;
    }
    s->keys[key_slot(s->keys, s->cap_keys, key)] = key;
    s->n_keys++;
    o->total_keys++;
    return 1;
}

static void reach(struct stream *s, double t)
{
    if (isfinite(t) && t > s->duration)
        s->duration = t;
}

/* ---- CSV_BI ------------------------------------------------------------------------ */

/* The stream's file name from the pattern; a name another stream already
 * has gets "-2", "-3", ... before its extension. */
static char *csv_path_for(const struct logout *o, const struct stream *s)
{
    char src[72], id[72], path[PATH_MAX];
    name_part(s->source, src, sizeof src);
    name_part(s->id, id, sizeof id);
    size_t n = 0;
    for (const char *p = o->cfg.csv_pattern; *p && n + 1 < sizeof path;) {
        const char *put = NULL;
        if (strncmp(p, "{source}", 8) == 0) {
            put = src;
            p += 8;
        } else if (strncmp(p, "{stream}", 8) == 0) {
            put = id;
            p += 8;
        }
        if (put) {
            size_t k = strlen(put);
            if (n + k >= sizeof path)
                return NULL;
            memcpy(path + n, put, k);
            n += k;
        } else {
            path[n++] = *p++;
        }
    }
    path[n] = '\0';
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base + 1 : path, '.');
    size_t stem = dot ? (size_t)(dot - path) : n;
    char try[PATH_MAX + 16];
    for (int k = 1; k < 10000; k++) {
        if (k == 1)
            snprintf(try, sizeof try, "%s", path);
        else
            snprintf(try, sizeof try, "%.*s-%d%s", (int)stem, path, k, path + stem);
        bool taken = false;
        for (size_t i = 0; i < o->n_streams && !taken; i++)
            taken = o->streams[i] != s && o->streams[i]->csv_path &&
                    strcmp(o->streams[i]->csv_path, try) == 0;
        if (!taken)
            return strdup(try);
    }
    return NULL;
}

static int fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Rewrite s's CSV_BI file atomically. Returns 0 or -1 (reported). */
static int write_csv(struct logout *o, struct stream *s, double now)
{
    s->csv_dirty = false;
    s->csv_written = now;
    if (!s->csv_path && !(s->csv_path = csv_path_for(o, s))) {
        errno = ENAMETOOLONG;
        report(o, 1, now, "the CSV_BI file", o->cfg.csv_pattern);
        return -1;
    }
    char tmp[PATH_MAX + 16], bname[NAME_MAX + 1];
    snprintf(tmp, sizeof tmp, "%s.tmp", s->csv_path);
    event_format_bname(s->csv_path, bname, sizeof bname);
    errno = 0;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        report(o, 1, now, "the CSV_BI file", tmp);
        return -1;
    }
    int rc = event_format_csv_bi(f, bname, s->duration, s->finals, s->n_finals);
    if (fflush(f) != 0 || ferror(f))
        rc = -1;
    if (rc == 0 && o->cfg.fsync && fsync(fileno(f)) != 0)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, s->csv_path) != 0)
        rc = -1;
    if (rc == 0 && o->cfg.fsync)
        fsync_dir_of(s->csv_path); /* best effort: some file systems refuse */
    if (rc != 0) {
        report(o, 1, now, "the CSV_BI file", s->csv_path);
        unlink(tmp);
    }
    return rc;
}

/* A final record joined s: rewrite now, or soon when it was just written. */
static int csv_changed(struct logout *o, struct stream *s, double now, bool at_once)
{
    if (!o->cfg.csv_bi)
        return 0;
    if (at_once || s->csv_written == 0 || now - s->csv_written >= CSV_MIN_INTERVAL)
        return write_csv(o, s, now);
    s->csv_dirty = true;
    return 0;
}

/* ---- console -------------------------------------------------------------------------- */

static const char *kind_color(enum osc_msg m)
{
    switch (m) {
    case OSC_MSG_ALARM: return "\033[1;31m";  /* bold red */
    case OSC_MSG_EVENT: return "\033[1;33m";  /* bold yellow */
    case OSC_MSG_CANCEL: return "\033[2m";    /* dim */
    case OSC_MSG_XRUN: return "\033[35m";     /* magenta */
    default: return NULL;
    }
}

/* "14:03:21 source stream  " then text (one line, its newline dropped),
 * coloured by kind on a terminal. */
static int console_line(struct logout *o, enum osc_msg m, const char *source, const char *stream,
                        const struct logout_meta *meta, const char *text)
{
    time_t t = (time_t)floor(meta->received_unix);
    struct tm tm;
    char clock[16] = "--:--:--";
    if (localtime_r(&t, &tm))
        strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    const char *on = o->cfg.color ? kind_color(m) : NULL;
    size_t n = strcspn(text, "\n");
    printf("%s %s %s  %s%.*s%s\n", clock, source, stream[0] ? stream : "-", on ? on : "", (int)n,
           text, on ? "\033[0m" : "");
    return fflush(stdout) != 0 || ferror(stdout) ? -1 : 0;
}

static int console_printf(struct logout *o, enum osc_msg m, const char *source, const char *stream,
                          const struct logout_meta *meta, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

static int console_printf(struct logout *o, enum osc_msg m, const char *source, const char *stream,
                          const struct logout_meta *meta, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return console_line(o, m, source, stream, meta, text);
}

/* Labels in a ','-joined list, counting a trailing "+N" as N. */
static int count_joined(const char *joined)
{
    if (!*joined)
        return 0;
    const char *last = strrchr(joined, ',');
    last = last ? last + 1 : joined;
    int n = 1;
    for (const char *p = joined; *p; p++)
        n += *p == ',';
    if (last[0] == '+')
        n += atoi(last + 1) - 1;
    return n;
}

/* ---- JSON Lines --------------------------------------------------------------------------- */

static void json_head(FILE *f, const char *source, const char *stream, const char *kind)
{
    fputs("{\"source\":", f);
    event_format_json_string(f, source);
    if (stream) {
        fputs(",\"stream\":", f);
        event_format_json_string(f, stream);
    }
    if (kind) {
        fputs(",\"kind\":", f);
        event_format_json_string(f, kind);
    }
}

static void json_num(FILE *f, const char *name, double v)
{
    fprintf(f, ",\"%s\":", name);
    event_format_json_double(f, v);
}

static void json_str(FILE *f, const char *name, const char *v)
{
    fprintf(f, ",\"%s\":", name);
    event_format_json_string(f, v);
}

/* "a|b" (or "a,b" with sep ',') as a JSON array of strings. */
static void json_list(FILE *f, const char *name, const char *joined, char sep)
{
    fprintf(f, ",\"%s\":[", name);
    int k = 0;
    for (const char *p = joined; *p;) {
        size_t n = strcspn(p, sep == ',' ? "," : "|");
        char item[256];
        snprintf(item, sizeof item, "%.*s", (int)(n < 255 ? n : 255), p);
        if (k++)
            fputc(',', f);
        event_format_json_string(f, item);
        p += n + (p[n] ? 1 : 0);
    }
    fputc(']', f);
}

static void json_tail(FILE *f, const struct logout_meta *m)
{
    fputs(",\"timetag_unix\":", f);
    if (m->has_timetag)
        event_format_json_double(f, m->timetag_unix);
    else
        fputs("null", f);
    fputs(",\"received_unix\":", f);
    event_format_json_double(f, m->received_unix);
    fputs("}\n", f);
}

/* Finish a JSON Lines record: flush, and fsync when it is an event record. */
static int json_done(struct logout *o, bool durable, double now)
{
    int rc = fflush(o->jsonl) != 0 || ferror(o->jsonl) ? -1 : 0;
    if (rc == 0 && durable && o->cfg.fsync && !o->jsonl_stdout && sync_file(o->jsonl) != 0)
        rc = -1;
    if (rc != 0) {
        report(o, 0, now, "the JSON Lines file", o->cfg.jsonl_path);
        clearerr(o->jsonl);
    }
    return rc;
}

/* ---- records ----------------------------------------------------------------------------- */

/* What an event_format writer makes of ev, as a malloc'd string (NULL when
 * out of memory). */
static char *format_record(int (*fmt)(FILE *, const struct ictal_event *,
                                      const struct event_format_ctx *),
                           const struct ictal_event *ev, const struct event_format_ctx *ctx,
                           size_t *len)
{
    char *text = NULL;
    FILE *mem = open_memstream(&text, len);
    if (!mem)
        return NULL;
    int rc = fmt(mem, ev, ctx);
    if (fclose(mem) != 0 || rc != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static int log_record(struct logout *o, enum osc_msg msg, const struct osc_record *r,
                      const struct logout_meta *m, double now)
{
    struct stream *s = find_stream(o, r->h.source, r->h.stream, now);
    if (s) {
        int fresh = remember(o, s, record_key(&r->ev), now);
        if (fresh == 0)
            return LOGOUT_DUPLICATE;
        reach(s, r->ev.end_s);
        reach(s, r->ev.emit_s);
    }
    /* the channel labels, in the order sent; a trailing "+N" stays a label */
    size_t len = strlen(r->channels);
    char *buf = malloc(len + 1);
    static const char *labels[ICTAL_EVENT_MAX_CHANNELS];
    int k = buf ? osc_proto_split_labels(r->channels, buf, len + 1, labels,
                                         ICTAL_EVENT_MAX_CHANNELS)
                : 0;
    struct ictal_event ev = r->ev;
    if (ev.n_channels > k) /* only when out of memory */
        ev.n_channels = k;
    const struct event_format_ctx ctx = {
        .source = r->h.source, .stream = r->h.stream, .labels = labels, .n_labels = k,
    };
    int rc = 0;

    if (o->jsonl) {
        size_t tlen = 0;
        char *text = format_record(event_format_jsonl, &ev, &ctx, &tlen);
        if (text && tlen > 2) {
            /* event_format's object, "source" and "stream" first, without
             * its "}\n": the times follow */
            fwrite(text, 1, tlen - 2, o->jsonl);
            json_tail(o->jsonl, m);
            rc |= json_done(o, true, now);
        } else {
            errno = ENOMEM;
            report(o, 0, now, "the JSON Lines file", o->cfg.jsonl_path);
            rc = -1;
        }
        free(text);
    }
    if (o->cfg.console) {
        size_t tlen = 0;
        char *text = format_record(event_format_console, &ev, &ctx, &tlen);
        rc |= text ? console_line(o, msg, r->h.source, r->h.stream, m, text) : -1;
        free(text);
    }
    free(buf);

    if (s && msg == OSC_MSG_EVENT && o->cfg.csv_bi) {
        if (s->n_finals == s->cap_finals) {
            size_t cap = s->cap_finals ? 2 * s->cap_finals : 16;
            struct ictal_event *v = realloc(s->finals, cap * sizeof *v);
            if (v) {
                s->finals = v;
                s->cap_finals = cap;
            }
        }
        if (s->n_finals < s->cap_finals)
            s->finals[s->n_finals++] = r->ev;
        rc |= csv_changed(o, s, now, false);
    }
    return rc ? -1 : LOGOUT_WRITTEN;
}

/* ---- the other messages -------------------------------------------------------------- */

static int log_start(struct logout *o, const struct osc_start *st, const struct logout_meta *m,
                     double now)
{
    int rc = 0;
    if (o->jsonl) {
        FILE *f = o->jsonl;
        json_head(f, st->h.source, st->h.stream, "start");
        fprintf(f, ",\"version\":%d", (int)st->version);
        json_str(f, "model", st->model);
        json_num(f, "input_rate", st->input_rate);
        json_num(f, "model_rate", st->model_rate);
        json_num(f, "frame_rate", st->frame_rate);
        json_list(f, "channels", st->channels, ',');
        json_num(f, "latency_s", st->latency_s);
        json_tail(f, m);
        rc |= json_done(o, true, now);
    }
    if (o->cfg.console)
        rc |= console_printf(o, OSC_MSG_START, st->h.source, st->h.stream, m,
                             "START  model %s  %d channel(s) at %g Hz (model %g Hz, %g frames/s)"
                             "  latency %.3f s",
                             st->model[0] ? st->model : "-", count_joined(st->channels),
                             st->input_rate, st->model_rate, st->frame_rate, st->latency_s);
    return rc;
}

static int log_stop(struct logout *o, const struct osc_stop *sp, const struct logout_meta *m,
                    double now)
{
    int rc = 0;
    struct stream *s = find_stream(o, sp->h.source, sp->h.stream, now);
    if (o->jsonl) {
        json_head(o->jsonl, sp->h.source, sp->h.stream, "stop");
        fprintf(o->jsonl, ",\"frames\":%lld", (long long)sp->frames);
        json_num(o->jsonl, "t_s", sp->t_s);
        json_str(o->jsonl, "reason", sp->reason);
        json_tail(o->jsonl, m);
        rc |= json_done(o, true, now);
    }
    if (o->cfg.console) {
        char hms[32];
        rc |= console_printf(o, OSC_MSG_STOP, sp->h.source, sp->h.stream, m,
                             "STOP   after %s (%.3f s, %lld frames)  reason %s",
                             event_format_hms(sp->t_s, hms, sizeof hms), sp->t_s,
                             (long long)sp->frames, sp->reason);
    }
    if (s) {
        reach(s, sp->t_s);
        s->stopped = true;
        s->stopped_at = now;
        rc |= csv_changed(o, s, now, true);
    }
    return rc;
}

static int log_status(struct logout *o, const struct osc_status *st, const struct logout_meta *m,
                      double now)
{
    int rc = 0;
    if (st->h.stream[0]) {
        struct stream *s = find_stream(o, st->h.source, st->h.stream, now);
        if (s)
            reach(s, st->t_s);
    }
    if (o->jsonl && o->cfg.status) {
        FILE *f = o->jsonl;
        json_head(f, st->h.source, st->h.stream, "status");
        fprintf(f, ",\"version\":%d", (int)st->version);
        json_str(f, "state", st->state);
        fprintf(f, ",\"n_channels\":%d,\"frames\":%lld,\"input_samples\":%lld", (int)st->n_channels,
                (long long)st->frames, (long long)st->input_samples);
        json_num(f, "t_s", st->t_s);
        fprintf(f, ",\"xruns\":%d", (int)st->xruns);
        const float loads[] = { st->dsp_load, st->jack_load, st->cb_p50_us, st->cb_p95_us,
                                st->cb_p99_us, st->cb_max_us, st->cb_max_all_us };
        static const char *const names[] = { "dsp_load", "jack_load", "cb_p50_us", "cb_p95_us",
                                             "cb_p99_us", "cb_max_us", "cb_max_all_us" };
        for (int i = 0; i < 7; i++) {
            fprintf(f, ",\"%s\":", names[i]);
            event_format_json_float(f, loads[i]);
        }
        fprintf(f, ",\"telemetry_drops\":%lld,\"records\":%lld,\"alarm\":%s,\"good_channels\":%d"
                   ",\"period\":%d",
                (long long)st->telemetry_drops, (long long)st->records,
                st->alarm ? "true" : "false", (int)st->good_channels, (int)st->period);
        json_num(f, "rate", st->rate);
        json_str(f, "model", st->model);
        json_tail(f, m);
        rc |= json_done(o, false, now);
    }
    if (o->cfg.console && (o->cfg.status || o->cfg.console_status)) {
        char hms[32];
        rc |= console_printf(o, OSC_MSG_STATUS, st->h.source, st->h.stream, m,
                             "STATUS %s  t %s  frames %lld  xruns %d  dsp %.1f%%  cb p99 %.0f us"
                             " max %.0f us  drops %lld  records %lld  good %d/%d%s",
                             st->state, event_format_hms(st->t_s, hms, sizeof hms),
                             (long long)st->frames, (int)st->xruns, (double)st->dsp_load,
                             (double)st->cb_p99_us, (double)st->cb_max_us,
                             (long long)st->telemetry_drops, (long long)st->records,
                             (int)st->good_channels, (int)st->n_channels,
                             st->alarm ? "  ALARM" : "");
    }
    return rc;
}

static int log_prob(struct logout *o, const struct osc_prob *p, const struct logout_meta *m,
                    double now)
{
    int rc = 0;
    char fl[128];
    ictal_event_flags_string((uint32_t)p->frame_flags, fl, sizeof fl);
    if (o->jsonl) {
        FILE *f = o->jsonl;
        json_head(f, p->h.source, p->h.stream, "prob");
        fprintf(f, ",\"frame\":%lld,\"sample\":%lld", (long long)p->frame, (long long)p->sample);
        json_num(f, "t_s", p->t_s);
        fputs(",\"p\":", f);
        event_format_json_float(f, p->p);
        fputs(",\"p_max\":", f);
        event_format_json_float(f, p->p_max);
        json_list(f, "frame_flags", fl, '|');
        fprintf(f, ",\"alarm\":%s", p->alarm ? "true" : "false");
        json_tail(f, m);
        rc |= json_done(o, false, now);
    }
    if (o->cfg.console) {
        char hms[32];
        rc |= console_printf(o, OSC_MSG_PROB, p->h.source, p->h.stream, m,
                             "PROB   t %s  p %.3f  max %.3f%s%s%s",
                             event_format_hms(p->t_s, hms, sizeof hms), (double)p->p,
                             (double)p->p_max, fl[0] ? "  [" : "", fl, fl[0] ? "]" : "");
    }
    return rc;
}

static int log_xrun(struct logout *o, const struct osc_xrun *x, const struct logout_meta *m,
                    double now)
{
    int rc = 0;
    if (o->jsonl) {
        json_head(o->jsonl, x->h.source, x->h.stream, "xrun");
        fprintf(o->jsonl, ",\"count\":%d,\"delayed_us\":", (int)x->count);
        event_format_json_float(o->jsonl, x->delayed_us);
        fprintf(o->jsonl, ",\"sample\":%lld", (long long)x->sample);
        json_num(o->jsonl, "t_s", x->t_s);
        fprintf(o->jsonl, ",\"lost_samples\":%lld", (long long)x->lost_samples);
        json_tail(o->jsonl, m);
        rc |= json_done(o, true, now);
    }
    if (o->cfg.console) {
        char hms[32];
        rc |= console_printf(o, OSC_MSG_XRUN, x->h.source, x->h.stream, m,
                             "XRUN   #%d  at %s (%.3f s)  late %.0f us  lost %lld sample(s)",
                             (int)x->count, event_format_hms(x->t_s, hms, sizeof hms), x->t_s,
                             (double)x->delayed_us, (long long)x->lost_samples);
    }
    return rc;
}

static int log_quality(struct logout *o, const struct osc_quality *q, const struct logout_meta *m,
                       double now)
{
    int rc = 0;
    if (o->jsonl) {
        json_head(o->jsonl, q->h.source, q->h.stream, "quality");
        fprintf(o->jsonl, ",\"channel\":%d", (int)q->channel);
        json_str(o->jsonl, "label", q->label);
        json_list(o->jsonl, "flags", q->flags, '|');
        json_list(o->jsonl, "previous", q->previous, '|');
        fprintf(o->jsonl, ",\"sample\":%lld", (long long)q->sample);
        json_num(o->jsonl, "t_s", q->t_s);
        fprintf(o->jsonl, ",\"good_channels\":%d", (int)q->good_channels);
        json_tail(o->jsonl, m);
        rc |= json_done(o, true, now);
    }
    if (o->cfg.console) {
        char hms[32];
        rc |= console_printf(o, OSC_MSG_QUALITY, q->h.source, q->h.stream, m,
                             "QUALITY ch %d %s: %s (was %s)  %d good  at %s", (int)q->channel,
                             q->label[0] ? q->label : "-", q->flags[0] ? q->flags : "ok",
                             q->previous[0] ? q->previous : "ok", (int)q->good_channels,
                             event_format_hms(q->t_s, hms, sizeof hms));
    }
    return rc;
}

static int log_annotation(struct logout *o, const struct osc_annotation *a,
                          const struct logout_meta *m, double now)
{
    int rc = 0;
    if (o->jsonl) {
        json_head(o->jsonl, a->source, NULL, "annotation");
        json_str(o->jsonl, "file", a->file);
        json_num(o->jsonl, "onset_s", a->onset_s);
        json_num(o->jsonl, "duration_s", a->duration_s < 0 ? NAN : a->duration_s); /* none: null */
        json_str(o->jsonl, "text", a->text);
        json_tail(o->jsonl, m);
        rc |= json_done(o, true, now);
    }
    if (o->cfg.console) {
        char hms[32], dur[32] = "-";
        if (a->duration_s >= 0)
            snprintf(dur, sizeof dur, "%.3f s", a->duration_s);
        rc |= console_printf(o, OSC_MSG_ANNOTATION, a->source, a->file, m,
                             "ANNOT  onset %s (%.3f s)  duration %s  \"%s\"",
                             event_format_hms(a->onset_s, hms, sizeof hms), a->onset_s, dur,
                             a->text);
    }
    return rc;
}

/* ---- the interface ------------------------------------------------------------------ */

static int open_jsonl(struct logout *o, char *err, size_t cap)
{
    if (strcmp(o->cfg.jsonl_path, "-") == 0) {
        o->jsonl = stdout;
        o->jsonl_stdout = true;
        return 0;
    }
    o->jsonl = fopen(o->cfg.jsonl_path, "a");
    if (!o->jsonl) {
        snprintf(err, cap, "%s: cannot open the JSON Lines file: %s", o->cfg.jsonl_path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

struct logout *logout_open(const struct logout_cfg *cfg, char *err, size_t cap)
{
    struct logout *o = calloc(1, sizeof *o);
    if (o)
        o->streams = calloc(MAX_STREAMS, sizeof *o->streams);
    if (!o || !o->streams) {
        free(o);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    o->cfg = *cfg;
    if (cfg->jsonl && open_jsonl(o, err, cap) < 0) {
        logout_close(o);
        return NULL;
    }
    if (cfg->csv_bi) {
        /* the directory must take files now, not at the first event */
        char dir[PATH_MAX];
        const char *slash = strrchr(cfg->csv_pattern, '/');
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash == cfg->csv_pattern ? 1 : slash - cfg->csv_pattern),
                     cfg->csv_pattern);
        if (!strchr(dir, '{') && access(dir, W_OK | X_OK) != 0) {
            snprintf(err, cap, "%s: cannot write CSV_BI files into %s: %s", cfg->csv_pattern, dir,
                     strerror(errno));
            logout_close(o);
            return NULL;
        }
    }
    return o;
}

int logout_message(struct logout *o, const struct osc_decoded *d, const struct logout_meta *m,
                   double now)
{
    int rc;
    switch (d->msg) {
    case OSC_MSG_ALARM:
    case OSC_MSG_CANCEL:
    case OSC_MSG_EVENT: return log_record(o, d->msg, &d->u.record, m, now);
    case OSC_MSG_PROB:
        if (!o->cfg.prob)
            return LOGOUT_SKIPPED;
        rc = log_prob(o, &d->u.prob, m, now);
        break;
    case OSC_MSG_STATUS:
        rc = log_status(o, &d->u.status, m, now);
        if (rc == 0 && !o->cfg.status && !(o->cfg.console && o->cfg.console_status))
            return LOGOUT_SKIPPED;
        break;
    case OSC_MSG_XRUN: rc = log_xrun(o, &d->u.xrun, m, now); break;
    case OSC_MSG_QUALITY: rc = log_quality(o, &d->u.quality, m, now); break;
    case OSC_MSG_START: rc = log_start(o, &d->u.start, m, now); break;
    case OSC_MSG_STOP: rc = log_stop(o, &d->u.stop, m, now); break;
    case OSC_MSG_ANNOTATION: rc = log_annotation(o, &d->u.annotation, m, now); break;
    default: rc = 0; break;
    }
    return rc ? -1 : LOGOUT_WRITTEN;
}

int logout_tick(struct logout *o, double now)
{
    int failed = 0;
    for (size_t i = 0; i < o->n_streams; i++) {
        struct stream *s = o->streams[i];
        if (s->csv_dirty && now - s->csv_written >= CSV_MIN_INTERVAL)
            failed += write_csv(o, s, now) < 0;
    }
    return failed;
}

int logout_reopen(struct logout *o, char *err, size_t cap)
{
    if (!o->jsonl || o->jsonl_stdout)
        return 0;
    FILE *old = o->jsonl;
    if (open_jsonl(o, err, cap) < 0) {
        o->jsonl = old; /* keep writing where we were */
        return -1;
    }
    bool bad = fflush(old) != 0 || (o->cfg.fsync && sync_file(old) != 0);
    bad |= fclose(old) != 0;
    if (bad) {
        snprintf(err, cap, "%s: cannot write the JSON Lines file before reopening it: %s",
                 o->cfg.jsonl_path, strerror(errno));
        return -1;
    }
    return 0;
}

size_t logout_streams(const struct logout *o)
{
    return o->n_streams;
}

size_t logout_keys(const struct logout *o)
{
    return o->total_keys;
}

int logout_close(struct logout *o)
{
    if (!o)
        return 0;
    int failed = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    for (size_t i = 0; i < o->n_streams && o->cfg.csv_bi; i++)
        failed += write_csv(o, o->streams[i], now) < 0;
    for (size_t i = 0; i < o->n_streams; i++)
        stream_free(o->streams[i]); /* after: a file name is checked against all others */
    free(o->streams);
    if (o->jsonl) {
        if (o->jsonl_stdout) {
            failed += fflush(stdout) != 0;
        } else {
            bool bad = fflush(o->jsonl) != 0 || ferror(o->jsonl);
            if (!bad && o->cfg.fsync)
                bad = sync_file(o->jsonl) != 0;
            bad |= fclose(o->jsonl) != 0;
            if (bad)
                prog_log_error("%s: cannot write the JSON Lines file: %s", o->cfg.jsonl_path,
                               strerror(errno));
            failed += bad;
        }
    }
    free(o);
    return failed;
}
