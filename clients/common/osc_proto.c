/*
 * osc_proto.c — encoding and validating decoding of the ictal OSC protocol
 * (docs/osc.md, osc_proto.h).
 */
#include "osc_proto.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The one table both directions use: docs/osc.md's addresses and type tags. */
#define RECORD_NAMES "source stream id segment start_frame end_frame emit_frame start_sample " \
                     "end_sample emit_sample start_s end_s emit_s duration_s confidence method " \
                     "percentile peak channels flags"
static const struct {
    const char *address;
    const char *types;
    const char *names;   /* argument names, separated by single blanks */
} specs[OSC_MSG_COUNT] = {
    [OSC_MSG_ALARM]      = { "/ictal/alarm", "ssiihhhhhhddddfsffss", RECORD_NAMES },
    [OSC_MSG_CANCEL]     = { "/ictal/cancel", "ssiihhhhhhddddfsffss", RECORD_NAMES },
    [OSC_MSG_EVENT]      = { "/ictal/event", "ssiihhhhhhddddfsffss", RECORD_NAMES },
    [OSC_MSG_PROB]       = { "/ictal/prob", "sshhdffii",
                             "source stream frame sample t_s p p_max frame_flags alarm" },
    [OSC_MSG_STATUS]     = { "/ictal/status", "ssisihhdifffffffhhiiids",
                             "source stream version state n_channels frames input_samples t_s "
                             "xruns dsp_load jack_load cb_p50_us cb_p95_us cb_p99_us cb_max_us "
                             "cb_max_all_us telemetry_drops records alarm good_channels period "
                             "rate model" },
    [OSC_MSG_XRUN]       = { "/ictal/xrun", "ssifhdh",
                             "source stream count delayed_us sample t_s lost_samples" },
    [OSC_MSG_QUALITY]    = { "/ictal/quality", "ssissshdi",
                             "source stream channel label flags previous sample t_s "
                             "good_channels" },
    [OSC_MSG_START]      = { "/ictal/start", "ssisdddsd",
                             "source stream version model input_rate model_rate frame_rate "
                             "channels latency_s" },
    [OSC_MSG_STOP]       = { "/ictal/stop", "sshds", "source stream frames t_s reason" },
    [OSC_MSG_ANNOTATION] = { "/ictal/annotation", "ssdds",
                             "source file onset_s duration_s text" },
};

const char *osc_proto_address(enum osc_msg m)
{
    return (unsigned)m < OSC_MSG_COUNT ? specs[m].address : "";
}

const char *osc_proto_types(enum osc_msg m)
{
    return (unsigned)m < OSC_MSG_COUNT ? specs[m].types : "";
}

const char *osc_proto_arg_name(enum osc_msg m, int i, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return "";
    buf[0] = '\0';
    if ((unsigned)m >= OSC_MSG_COUNT || i < 0)
        return buf;
    const char *p = specs[m].names;
    for (int k = 0; k < i && p; k++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (p) {
        size_t n = strcspn(p, " ");
        if (n >= cap)
            n = cap - 1;
        memcpy(buf, p, n);
        buf[n] = '\0';
    }
    return buf;
}

enum osc_msg osc_proto_msg_of_kind(enum ictal_event_kind kind)
{
    switch (kind) {
    case ICTAL_EVENT_ALARM:  return OSC_MSG_ALARM;
    case ICTAL_EVENT_CANCEL: return OSC_MSG_CANCEL;
    case ICTAL_EVENT_FINAL:  break;
    }
    return OSC_MSG_EVENT;
}

/* ---- time ------------------------------------------------------------------ */

#define NTP_UNIX_OFFSET 2208988800.0 /* seconds from 1900-01-01 to 1970-01-01 */

lo_timetag osc_proto_timetag(double unix_s)
{
    lo_timetag t = { 0, 1 }; /* "immediately", for nonsense input */
    if (!isfinite(unix_s) || unix_s < 0)
        return t;
    double ntp = unix_s + NTP_UNIX_OFFSET;
    double sec = floor(ntp);
    if (sec >= 4294967296.0)
        return t;
    double frac = ldexp(ntp - sec, 32);
    t.sec = (uint32_t)sec;
    t.frac = frac >= 4294967295.0 ? 4294967295u : (uint32_t)frac;
    return t;
}

double osc_proto_timetag_unix(lo_timetag t)
{
    return (double)t.sec - NTP_UNIX_OFFSET + ldexp((double)t.frac, -32);
}

/* ---- encoding -------------------------------------------------------------- */

const char *osc_proto_join_labels(const char *const *labels, int n, size_t max_bytes,
                                  char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return "";
    if (max_bytes > cap)
        max_bytes = cap;
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *l = labels[i] ? labels[i] : "";
        size_t ll = strlen(l);
        /* What must still fit after this label if it is not the last: ",+N". */
        char tail[24];
        int tl = i + 1 < n ? snprintf(tail, sizeof tail, ",+%d", n - i - 1) : 0;
        size_t need = (i > 0 ? 1 : 0) + ll;
        if (len + need + (size_t)tl + 1 > max_bytes) {
            /* Cut here: say how many are left out. */
            tl = snprintf(tail, sizeof tail, "%s+%d", i > 0 ? "," : "", n - i);
            if (len + (size_t)tl + 1 <= max_bytes) {
                memcpy(buf + len, tail, (size_t)tl + 1);
            }
            return buf;
        }
        if (i > 0)
            buf[len++] = ',';
        /* A ',' inside a label would split it in two at the receiver. */
        for (size_t k = 0; k < ll; k++)
            buf[len + k] = l[k] == ',' ? ';' : l[k];
        len += ll;
        buf[len] = '\0';
    }
    return buf;
}

/* The channels of a record as labels, each a pointer into `labels` or into
 * `names` for channels without a label ("ch<c+1>"). */
static int record_labels(const struct ictal_event *ev, const char *const *labels, int n_labels,
                         const char **out, char (*names)[16], int max)
{
    int k = 0;
    int nc = ev->n_channels < ICTAL_EVENT_MAX_CHANNELS ? ev->n_channels : ICTAL_EVENT_MAX_CHANNELS;
    for (int c = 0; c < nc && k < max; c++) {
        if (!ictal_event_has_channel(ev, c))
            continue;
        if (labels && c < n_labels && labels[c]) {
            out[k] = labels[c];
        } else {
            snprintf(names[k], sizeof names[k], "ch%d", c + 1);
            out[k] = names[k];
        }
        k++;
    }
    return k;
}

static lo_message record_build(const char *source, const char *stream,
                               const struct ictal_event *ev, const char *channels)
{
    lo_message m = lo_message_new();
    if (!m)
        return NULL;
    char flags[128];
    ictal_event_flags_string(ev->flags, flags, sizeof flags);
    int rc = 0;
    rc |= lo_message_add_string(m, source ? source : "");
    rc |= lo_message_add_string(m, stream ? stream : "");
    rc |= lo_message_add_int32(m, (int32_t)ev->id);
    rc |= lo_message_add_int32(m, ev->segment);
    rc |= lo_message_add_int64(m, ev->start_frame);
    rc |= lo_message_add_int64(m, ev->end_frame);
    rc |= lo_message_add_int64(m, ev->emit_frame);
    rc |= lo_message_add_int64(m, ev->start_sample);
    rc |= lo_message_add_int64(m, ev->end_sample);
    rc |= lo_message_add_int64(m, ev->emit_sample);
    rc |= lo_message_add_double(m, ev->start_s);
    rc |= lo_message_add_double(m, ev->end_s);
    rc |= lo_message_add_double(m, ev->emit_s);
    rc |= lo_message_add_double(m, ev->end_s - ev->start_s);
    rc |= lo_message_add_float(m, ev->confidence);
    rc |= lo_message_add_string(m, ictal_confidence_name(ev->method));
    rc |= lo_message_add_float(m, ev->percentile);
    rc |= lo_message_add_float(m, ev->peak);
    rc |= lo_message_add_string(m, channels);
    rc |= lo_message_add_string(m, flags);
    if (rc != 0) {
        lo_message_free(m);
        return NULL;
    }
    return m;
}

/* Bytes a bundle adds around one message: "#bundle\0", the timetag, and the
 * element size. */
#define BUNDLE_OVERHEAD 20

lo_message osc_proto_record_message(const char *source, const char *stream,
                                    const struct ictal_event *ev,
                                    const char *const *labels, int n_labels)
{
    /* Measure the message without channels, then give the list what is left. */
    lo_message probe = record_build(source, stream, ev, "");
    if (!probe)
        return NULL;
    size_t fixed = lo_message_length(probe, specs[osc_proto_msg_of_kind(ev->kind)].address);
    lo_message_free(probe);
    size_t budget = ICTAL_OSC_MAX_PACKET > fixed + BUNDLE_OVERHEAD + 4
                        ? ICTAL_OSC_MAX_PACKET - fixed - BUNDLE_OVERHEAD - 4 + 1
                        : 1;

    static const int max_names = ICTAL_EVENT_MAX_CHANNELS;
    const char *names_ptr[ICTAL_EVENT_MAX_CHANNELS];
    static _Thread_local char gen[ICTAL_EVENT_MAX_CHANNELS][16];
    int k = record_labels(ev, labels, n_labels, names_ptr, gen, max_names);
    char joined[ICTAL_OSC_MAX_PACKET];
    osc_proto_join_labels(names_ptr, k, budget, joined, sizeof joined);
    return record_build(source, stream, ev, joined);
}

#define ADD(call) rc |= (call)
#define FINISH()                    \
    do {                            \
        if (rc != 0) {              \
            lo_message_free(m);     \
            return NULL;            \
        }                           \
        return m;                   \
    } while (0)
#define S(x) ((x) ? (x) : "")

lo_message osc_proto_prob_message(const struct osc_prob *p)
{
    lo_message m = lo_message_new();
    if (!m)
        return NULL;
    int rc = 0;
    ADD(lo_message_add_string(m, S(p->h.source)));
    ADD(lo_message_add_string(m, S(p->h.stream)));
    ADD(lo_message_add_int64(m, p->frame));
    ADD(lo_message_add_int64(m, p->sample));
    ADD(lo_message_add_double(m, p->t_s));
    ADD(lo_message_add_float(m, p->p));
    ADD(lo_message_add_float(m, p->p_max));
    ADD(lo_message_add_int32(m, p->frame_flags));
    ADD(lo_message_add_int32(m, p->alarm));
    FINISH();
}

lo_message osc_proto_status_message(const struct osc_status *s)
{
    lo_message m = lo_message_new();
    if (!m)
        return NULL;
    int rc = 0;
    ADD(lo_message_add_string(m, S(s->h.source)));
    ADD(lo_message_add_string(m, S(s->h.stream)));
    ADD(lo_message_add_int32(m, s->version));
    ADD(lo_message_add_string(m, S(s->state)));
    ADD(lo_message_add_int32(m, s->n_channels));
    ADD(lo_message_add_int64(m, s->frames));
    ADD(lo_message_add_int64(m, s->input_samples));
    ADD(lo_message_add_double(m, s->t_s));
    ADD(lo_message_add_int32(m, s->xruns));
    ADD(lo_message_add_float(m, s->dsp_load));
    ADD(lo_message_add_float(m, s->jack_load));
    ADD(lo_message_add_float(m, s->cb_p50_us));
    ADD(lo_message_add_float(m, s->cb_p95_us));
    ADD(lo_message_add_float(m, s->cb_p99_us));
    ADD(lo_message_add_float(m, s->cb_max_us));
    ADD(lo_message_add_float(m, s->cb_max_all_us));
    ADD(lo_message_add_int64(m, s->telemetry_drops));
    ADD(lo_message_add_int64(m, s->records));
    ADD(lo_message_add_int32(m, s->alarm));
    ADD(lo_message_add_int32(m, s->good_channels));
    ADD(lo_message_add_int32(m, s->period));
    ADD(lo_message_add_double(m, s->rate));
    ADD(lo_message_add_string(m, S(s->model)));
    FINISH();
}

lo_message osc_proto_xrun_message(const struct osc_xrun *x)
{
    lo_message m = lo_message_new();
    if (!m)
        return NULL;
    int rc = 0;
    ADD(lo_message_add_string(m, S(x->h.source)));
    ADD(lo_message_add_string(m, S(x->h.stream)));
    ADD(lo_message_add_int32(m, x->count));
    ADD(lo_message_add_float(m, x->delayed_us));
    ADD(lo_message_add_int64(m, x->sample));
    ADD(lo_message_add_double(m, x->t_s));
    ADD(lo_message_add_int64(m, x->lost_samples));
    FINISH();
}

lo_message osc_proto_quality_message(const struct osc_quality *q)
{
    lo_message m = lo_message_new();
    if (!m)
        return NULL;
    int rc = 0;
    ADD(lo_message_add_string(m, S(q->h.source)));
    ADD(lo_message_add_string(m, S(q->h.stream)));
    ADD(lo_message_add_int32(m, q->channel));
    ADD(lo_message_add_string(m, S(q->label)));
    ADD(lo_message_add_string(m, S(q->flags)));
    ADD(lo_message_add_string(m, S(q->previous)));
    ADD(lo_message_add_int64(m, q->sample));
    ADD(lo_message_add_double(m, q->t_s));
    ADD(lo_message_add_int32(m, q->good_channels));
    FINISH();
}

lo_message osc_proto_start_message(const struct osc_start *s)
{
    lo_message m = lo_message_new();
    if (!m)
        return NULL;
    int rc = 0;
    ADD(lo_message_add_string(m, S(s->h.source)));
    ADD(lo_message_add_string(m, S(s->h.stream)));
    ADD(lo_message_add_int32(m, s->version));
    ADD(lo_message_add_string(m, S(s->model)));
    ADD(lo_message_add_double(m, s->input_rate));
    ADD(lo_message_add_double(m, s->model_rate));
    ADD(lo_message_add_double(m, s->frame_rate));
    ADD(lo_message_add_string(m, S(s->channels)));
    ADD(lo_message_add_double(m, s->latency_s));
    FINISH();
}

lo_message osc_proto_stop_message(const struct osc_stop *s)
{
    lo_message m = lo_message_new();
    if (!m)
        return NULL;
    int rc = 0;
    ADD(lo_message_add_string(m, S(s->h.source)));
    ADD(lo_message_add_string(m, S(s->h.stream)));
    ADD(lo_message_add_int64(m, s->frames));
    ADD(lo_message_add_double(m, s->t_s));
    ADD(lo_message_add_string(m, S(s->reason)));
    FINISH();
}

lo_message osc_proto_annotation_message(const struct osc_annotation *a)
{
    lo_message m = lo_message_new();
    if (!m)
        return NULL;
    int rc = 0;
    ADD(lo_message_add_string(m, S(a->source)));
    ADD(lo_message_add_string(m, S(a->file)));
    ADD(lo_message_add_double(m, a->onset_s));
    ADD(lo_message_add_double(m, a->duration_s));
    ADD(lo_message_add_string(m, S(a->text)));
    FINISH();
}

/* ---- decoding -------------------------------------------------------------- */

/* liblo's argv[i] point into the message data, 4-byte aligned only: a
 * member access through lo_arg (a union with 8-byte members) would be
 * misaligned, so values are copied out with memcpy. */
struct dec {
    lo_arg **argv;
    char *why;
    size_t cap;
    int bad;     /* OSC_DECODE_* of the first failure, 0 while fine */
};

static void fail(struct dec *d, int code, const char *fmt, ...)
{
    if (d->bad)
        return;
    d->bad = code;
    if (d->why && d->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->why, d->cap, fmt, ap);
        va_end(ap);
    }
}

/* Text a receiver can print and store: no control characters. (Invalid
 * UTF-8 is left to the writers, which replace it: see event_format.h.) */
static const char *str_arg(struct dec *d, int i, const char *name, int allow_empty)
{
    const char *s = (const char *)d->argv[i];
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            fail(d, OSC_DECODE_INVALID, "argument %d (%s): control character 0x%02x in text", i,
                 name, *p);
            return "";
        }
    }
    if (!allow_empty && !*s)
        fail(d, OSC_DECODE_INVALID, "argument %d (%s): empty", i, name);
    return s;
}

static int64_t h_arg(struct dec *d, int i, const char *name, int64_t min)
{
    int64_t v;
    memcpy(&v, d->argv[i], sizeof v);
    if (v < min)
        fail(d, OSC_DECODE_INVALID, "argument %d (%s): %lld is below %lld", i, name, (long long)v,
             (long long)min);
    return v;
}

static int32_t i_arg(struct dec *d, int i, const char *name, int32_t min, int32_t max)
{
    int32_t v;
    memcpy(&v, d->argv[i], sizeof v);
    if (v < min || v > max)
        fail(d, OSC_DECODE_INVALID, "argument %d (%s): %d is outside [%d, %d]", i, name, (int)v,
             (int)min, (int)max);
    return v;
}

static double d_arg(struct dec *d, int i, const char *name, double min, double max)
{
    double v;
    memcpy(&v, d->argv[i], sizeof v);
    if (!isfinite(v) || v < min || v > max)
        fail(d, OSC_DECODE_INVALID, "argument %d (%s): %g is outside [%g, %g]", i, name, v, min,
             max);
    return v;
}

static float f_arg(struct dec *d, int i, const char *name, double min, double max)
{
    float v;
    memcpy(&v, d->argv[i], sizeof v);
    if (!isfinite(v) || v < min || v > max)
        fail(d, OSC_DECODE_INVALID, "argument %d (%s): %g is outside [%g, %g]", i, name, (double)v,
             min, max);
    return v;
}

static int one_of(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static void header(struct dec *d, struct osc_header *h, int allow_empty_stream)
{
    h->source = str_arg(d, 0, "source", 0);
    h->stream = str_arg(d, 1, "stream", allow_empty_stream);
    if (strlen(h->stream) >= ICTAL_OSC_STREAM_MAX)
        fail(d, OSC_DECODE_INVALID, "argument 1 (stream): longer than %d bytes",
             ICTAL_OSC_STREAM_MAX - 1);
}

static int count_labels(const char *joined)
{
    if (!*joined)
        return 0;
    int n = 1;
    for (const char *p = joined; *p; p++)
        n += *p == ',';
    return n;
}

#define BIG 1e15 /* seconds: far beyond any stream, small enough to be exact */

static void decode_record(struct dec *d, enum osc_msg msg, struct osc_record *r)
{
    static const char *const methods[] = { "mean", "peak", "percentile", NULL };
    struct ictal_event *ev = &r->ev;
    memset(r, 0, sizeof *r);
    header(d, &r->h, 0);
    ev->kind = msg == OSC_MSG_ALARM ? ICTAL_EVENT_ALARM
             : msg == OSC_MSG_CANCEL ? ICTAL_EVENT_CANCEL : ICTAL_EVENT_FINAL;
    ev->id = (uint64_t)i_arg(d, 2, "id", 1, INT32_MAX);
    if (msg == OSC_MSG_EVENT)
        ev->segment = i_arg(d, 3, "segment", 1, INT32_MAX);
    else
        ev->segment = i_arg(d, 3, "segment", 0, 0);
    ev->start_frame = h_arg(d, 4, "start_frame", 0);
    ev->end_frame = h_arg(d, 5, "end_frame", ev->start_frame);
    ev->emit_frame = h_arg(d, 6, "emit_frame", 0);
    ev->start_sample = h_arg(d, 7, "start_sample", 0);
    ev->end_sample = h_arg(d, 8, "end_sample", ev->start_sample);
    ev->emit_sample = h_arg(d, 9, "emit_sample", 0);
    ev->start_s = d_arg(d, 10, "start_s", 0, BIG);
    ev->end_s = d_arg(d, 11, "end_s", ev->start_s, BIG);
    ev->emit_s = d_arg(d, 12, "emit_s", 0, BIG);
    d_arg(d, 13, "duration_s", 0, BIG);
    ev->confidence = f_arg(d, 14, "confidence", 0, 1);
    const char *method = str_arg(d, 15, "method", 0);
    int mi = one_of(method, methods);
    if (mi < 0)
        fail(d, OSC_DECODE_INVALID, "argument 15 (method): unknown method \"%s\"", method);
    ev->method = (enum ictal_confidence)(mi + 1);
    ev->percentile = f_arg(d, 16, "percentile", 0, 100);
    ev->peak = f_arg(d, 17, "peak", 0, 1);
    r->channels = str_arg(d, 18, "channels", 1);
    int k = count_labels(r->channels);
    if (k > ICTAL_EVENT_MAX_CHANNELS)
        k = ICTAL_EVENT_MAX_CHANNELS;
    ev->n_channels = k;
    for (int c = 0; c < k; c++)
        ev->channels[c / 64] |= (uint64_t)1 << (c % 64);
    ev->flags = ictal_event_flags_parse(str_arg(d, 19, "flags", 1), NULL);
}

int osc_proto_decode(const char *path, const char *types, lo_arg **argv, int argc,
                     struct osc_decoded *out, char *why, size_t why_cap)
{
    struct dec d = { argv, why, why_cap, 0 };
    if (why && why_cap)
        why[0] = '\0';
    if (!path || !out) {
        fail(&d, OSC_DECODE_MALFORMED, "no address");
        return d.bad;
    }
    int msg = -1;
    for (int i = 0; i < OSC_MSG_COUNT; i++)
        if (strcmp(path, specs[i].address) == 0)
            msg = i;
    if (msg < 0) {
        fail(&d, OSC_DECODE_UNKNOWN, "unknown address %s", path);
        return d.bad;
    }
    const char *want = specs[msg].types;
    size_t n = strlen(want);
    if (!types)
        types = "";
    if (strncmp(types, want, n) != 0 || argc < (int)n || (argc > 0 && !argv)) {
        /* Name the first argument that is missing or of another type. */
        size_t k = 0;
        while (k < n && types[k] == want[k])
            k++;
        char name[32];
        osc_proto_arg_name((enum osc_msg)msg, (int)k, name, sizeof name);
        if (k < n && types[k])
            fail(&d, OSC_DECODE_MALFORMED,
                 "argument %zu (%s): type '%c' where '%c' was expected (type tag \",%.64s\", "
                 "expected \",%s\")", k, name, types[k], want[k], types, want);
        else if (k < n)
            fail(&d, OSC_DECODE_MALFORMED,
                 "argument %zu (%s) is missing: %zu argument(s) where %zu were expected "
                 "(type tag \",%.64s\", expected \",%s\")", k, name, strlen(types), n, types,
                 want);
        else
            fail(&d, OSC_DECODE_MALFORMED, "%d argument(s) do not match type tag \",%.64s\"",
                 argc, types);
        return d.bad;
    }
    memset(out, 0, sizeof *out);
    out->msg = (enum osc_msg)msg;
    static const char *const states[] = { "running", "freewheel", "waiting", "stopped", NULL };
    static const char *const reasons[] = { "signal", "shutdown", "gate", "disconnect", "gap",
                                           "idle", NULL };
    switch ((enum osc_msg)msg) {
    case OSC_MSG_ALARM:
    case OSC_MSG_CANCEL:
    case OSC_MSG_EVENT:
        decode_record(&d, (enum osc_msg)msg, &out->u.record);
        break;
    case OSC_MSG_PROB: {
        struct osc_prob *p = &out->u.prob;
        header(&d, &p->h, 0);
        p->frame = h_arg(&d, 2, "frame", 0);
        p->sample = h_arg(&d, 3, "sample", 0);
        p->t_s = d_arg(&d, 4, "t_s", 0, BIG);
        p->p = f_arg(&d, 5, "p", 0, 1);
        p->p_max = f_arg(&d, 6, "p_max", 0, 1);
        p->frame_flags = i_arg(&d, 7, "frame_flags", 0, (int32_t)ICTAL_FRAME_FLAGS_MASK);
        p->alarm = i_arg(&d, 8, "alarm", 0, 1);
        break;
    }
    case OSC_MSG_STATUS: {
        struct osc_status *s = &out->u.status;
        header(&d, &s->h, 1);
        memcpy(&s->version, argv[2], sizeof s->version);
        if (s->version > ICTAL_OSC_VERSION) {
            fail(&d, OSC_DECODE_NEWER, "argument 2 (version): protocol %d is newer than %d",
                 (int)s->version, ICTAL_OSC_VERSION);
            return d.bad;
        }
        i_arg(&d, 2, "version", 1, ICTAL_OSC_VERSION);
        s->state = str_arg(&d, 3, "state", 0);
        if (one_of(s->state, states) < 0)
            fail(&d, OSC_DECODE_INVALID, "argument 3 (state): unknown state \"%s\"", s->state);
        s->n_channels = i_arg(&d, 4, "n_channels", 0, ICTAL_EVENT_MAX_CHANNELS);
        s->frames = h_arg(&d, 5, "frames", 0);
        s->input_samples = h_arg(&d, 6, "input_samples", 0);
        s->t_s = d_arg(&d, 7, "t_s", 0, BIG);
        s->xruns = i_arg(&d, 8, "xruns", 0, INT32_MAX);
        s->dsp_load = f_arg(&d, 9, "dsp_load", 0, 1e6);
        s->jack_load = f_arg(&d, 10, "jack_load", 0, 1e6);
        s->cb_p50_us = f_arg(&d, 11, "cb_p50_us", 0, 1e12);
        s->cb_p95_us = f_arg(&d, 12, "cb_p95_us", 0, 1e12);
        s->cb_p99_us = f_arg(&d, 13, "cb_p99_us", 0, 1e12);
        s->cb_max_us = f_arg(&d, 14, "cb_max_us", 0, 1e12);
        s->cb_max_all_us = f_arg(&d, 15, "cb_max_all_us", 0, 1e12);
        s->telemetry_drops = h_arg(&d, 16, "telemetry_drops", 0);
        s->records = h_arg(&d, 17, "records", 0);
        s->alarm = i_arg(&d, 18, "alarm", 0, 1);
        s->good_channels = i_arg(&d, 19, "good_channels", 0, ICTAL_EVENT_MAX_CHANNELS);
        s->period = i_arg(&d, 20, "period", 0, 1 << 24);
        s->rate = d_arg(&d, 21, "rate", 0, 1e7);
        s->model = str_arg(&d, 22, "model", 1);
        break;
    }
    case OSC_MSG_XRUN: {
        struct osc_xrun *x = &out->u.xrun;
        header(&d, &x->h, 1);
        x->count = i_arg(&d, 2, "count", 0, INT32_MAX);
        x->delayed_us = f_arg(&d, 3, "delayed_us", 0, 1e12);
        x->sample = h_arg(&d, 4, "sample", 0);
        x->t_s = d_arg(&d, 5, "t_s", 0, BIG);
        x->lost_samples = h_arg(&d, 6, "lost_samples", 0);
        break;
    }
    case OSC_MSG_QUALITY: {
        struct osc_quality *q = &out->u.quality;
        header(&d, &q->h, 0);
        q->channel = i_arg(&d, 2, "channel", 0, ICTAL_EVENT_MAX_CHANNELS - 1);
        q->label = str_arg(&d, 3, "label", 1);
        q->flags = str_arg(&d, 4, "flags", 1);
        q->previous = str_arg(&d, 5, "previous", 1);
        q->sample = h_arg(&d, 6, "sample", 0);
        q->t_s = d_arg(&d, 7, "t_s", 0, BIG);
        q->good_channels = i_arg(&d, 8, "good_channels", 0, ICTAL_EVENT_MAX_CHANNELS);
        break;
    }
    case OSC_MSG_START: {
        struct osc_start *s = &out->u.start;
        header(&d, &s->h, 0);
        memcpy(&s->version, argv[2], sizeof s->version);
        if (s->version > ICTAL_OSC_VERSION) {
            fail(&d, OSC_DECODE_NEWER, "argument 2 (version): protocol %d is newer than %d",
                 (int)s->version, ICTAL_OSC_VERSION);
            return d.bad;
        }
        i_arg(&d, 2, "version", 1, ICTAL_OSC_VERSION);
        s->model = str_arg(&d, 3, "model", 1);
        s->input_rate = d_arg(&d, 4, "input_rate", 1e-3, 1e7);
        s->model_rate = d_arg(&d, 5, "model_rate", 1e-3, 1e7);
        s->frame_rate = d_arg(&d, 6, "frame_rate", 1e-6, 1e7);
        s->channels = str_arg(&d, 7, "channels", 1);
        s->latency_s = d_arg(&d, 8, "latency_s", 0, BIG);
        break;
    }
    case OSC_MSG_STOP: {
        struct osc_stop *s = &out->u.stop;
        header(&d, &s->h, 0);
        s->frames = h_arg(&d, 2, "frames", 0);
        s->t_s = d_arg(&d, 3, "t_s", 0, BIG);
        s->reason = str_arg(&d, 4, "reason", 0);
        if (one_of(s->reason, reasons) < 0)
            fail(&d, OSC_DECODE_INVALID, "argument 4 (reason): unknown reason \"%s\"", s->reason);
        break;
    }
    case OSC_MSG_ANNOTATION: {
        struct osc_annotation *a = &out->u.annotation;
        a->source = str_arg(&d, 0, "source", 0);
        a->file = str_arg(&d, 1, "file", 1);
        a->onset_s = d_arg(&d, 2, "onset_s", 0, BIG);
        a->duration_s = d_arg(&d, 3, "duration_s", -1, BIG);
        a->text = str_arg(&d, 4, "text", 1);
        break;
    }
    case OSC_MSG_COUNT:
        break;
    }
    return d.bad ? d.bad : OSC_DECODE_OK;
}

int osc_proto_split_labels(const char *joined, char *buf, size_t cap, const char **labels, int max)
{
    if (!joined || !buf || cap == 0 || max <= 0)
        return 0;
    size_t len = strlen(joined);
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, joined, len);
    buf[len] = '\0';
    if (len == 0)
        return 0;
    int n = 0;
    char *s = buf;
    for (;;) {
        char *comma = strchr(s, ',');
        if (comma)
            *comma = '\0';
        if (n < max)
            labels[n++] = s;
        if (!comma)
            break;
        s = comma + 1;
    }
    return n;
}
