/*
 * test_ictal_log_send — the OSC peer test_ictal_log.sh drives ictal-log with.
 *
 *   test_ictal_log_send replay udp|tcp PORT SOURCE STREAM RUN.jsonl DURATION
 *       /ictal/start, every record of an ictal-run JSON Lines file as a bundle
 *       timetagged "now" through liblo's own sender (lo_send_bundle, UDP or
 *       TCP), then /ictal/stop with t_s DURATION.
 *   test_ictal_log_send nested PORT
 *       UDP bundles: nested (the inner timetag counts), future-timetagged (must
 *       be logged at once), "immediately"-timetagged (no timetag). Prints the
 *       timetags sent as JSON.
 *   test_ictal_log_send resend PORT SOURCE STREAM
 *       TCP with our own framing, frames split across writes: records, a
 *       disconnect, a new connection that resends them all (as ictal-detect
 *       does) and adds new ones.
 *   test_ictal_log_send barrage PORT SEED MAX_PACKET TCP_TIMEOUT
 *       Malformed and hostile traffic over UDP and TCP (random bytes,
 *       truncated and mutated packets, broken bundles, wrong types, bad values,
 *       oversize packets, half-open and stalled connections), interleaved with
 *       valid records and one duplicate. Prints the counters ictal-log must
 *       end with, as JSON; each hand-made case is checked to land in the
 *       category it was made for.
 *   test_ictal_log_send big PORT
 *       Datagrams near the UDP limit: an event naming 5000 channels, and a
 *       bundle of nine events naming 1000 each.
 *   test_ictal_log_send flood PORT N
 *       N valid /ictal/prob datagrams as fast as the socket takes them.
 *
 * Exit 0, or 1 with a message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <lo/lo.h>

#include "log_packet.h"
#include "osc_proto.h"
#include "test_util.h"

static int g_port;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("test_ictal_log_send: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- raw transport -------------------------------------------------------------------- */

static struct sockaddr_in server_addr(void)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int g_udp = -1;
static unsigned g_udp_sent;

static void udp_send(const void *p, size_t n)
{
    if (g_udp < 0 && (g_udp = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
        die("socket: %s", strerror(errno));
    struct sockaddr_in a = server_addr();
    if (sendto(g_udp, p, n, 0, (struct sockaddr *)&a, sizeof a) != (ssize_t)n)
        die("sendto (%zu bytes): %s", n, strerror(errno));
    /* pace: never fill the server's receive buffer (its drops would be uncountable here) */
    if (++g_udp_sent % 16 == 0)
        test_sleep_ms(2);
}

static int tcp_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = server_addr();
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect to port %d: %s", g_port, strerror(errno));
    return fd;
}

static void tcp_write(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write: %s", strerror(errno));
        b += w;
        n -= (size_t)w;
    }
}

static void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One OSC 1.0 stream frame; split > 0 writes it in pieces of that size. */
static void tcp_frame(int fd, const void *p, size_t n, size_t split)
{
    uint8_t hdr[4];
    be32_put(hdr, (uint32_t)n);
    if (!split) {
        tcp_write(fd, hdr, 4);
        tcp_write(fd, p, n);
        return;
    }
    uint8_t *all = malloc(n + 4);
    memcpy(all, hdr, 4);
    memcpy(all + 4, p, n);
    for (size_t off = 0; off < n + 4; off += split) {
        tcp_write(fd, all + off, n + 4 - off < split ? n + 4 - off : split);
        test_sleep_ms(5);
    }
    free(all);
}

/* ---- messages ------------------------------------------------------------------------ */

struct bytes {
    uint8_t *p;
    size_t n;
};

static struct bytes msg_bytes(lo_message m, const char *path)
{
    struct bytes b;
    b.p = lo_message_serialise(m, path, NULL, &b.n);
    lo_message_free(m);
    return b;
}

static struct bytes bundle_bytes(lo_timetag tt, lo_message m, const char *path)
{
    lo_bundle bu = lo_bundle_new(tt);
    lo_bundle_add_message(bu, path, m);
    struct bytes b;
    b.p = lo_bundle_serialise(bu, NULL, &b.n);
    lo_bundle_free_recursive(bu);
    return b;
}

static struct ictal_event record(enum ictal_event_kind kind, int id, int segment, double t0)
{
    struct ictal_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.id = (uint64_t)id;
    ev.segment = segment;
    ev.n_channels = 4;
    ev.channels[0] = 0x5;
    ev.start_frame = (int64_t)(t0 * 8);
    ev.end_frame = ev.start_frame + 80;
    ev.emit_frame = ev.end_frame + 20;
    ev.start_sample = ev.start_frame * 32;
    ev.end_sample = ev.end_frame * 32;
    ev.emit_sample = ev.emit_frame * 32;
    ev.start_s = (double)ev.start_frame / 8;
    ev.end_s = (double)ev.end_frame / 8;
    ev.emit_s = (double)ev.emit_frame / 8;
    ev.confidence = 0.75f;
    ev.peak = 0.875f;
    ev.method = ICTAL_CONFIDENCE_MEAN;
    return ev;
}

static const char *const labels4[] = { "FP1-F7", "F7-T7", "T7-P7", "P7-O1" };

static lo_message record_msg(const char *source, const char *stream, const struct ictal_event *ev)
{
    lo_message m = osc_proto_record_message(source, stream, ev, labels4, 4);
    if (!m)
        die("out of memory");
    return m;
}

static const char *record_path(const struct ictal_event *ev)
{
    return osc_proto_address(osc_proto_msg_of_kind(ev->kind));
}

static lo_message start_msg(const char *source, const char *stream)
{
    const struct osc_start s = { { source, stream }, 1, "test-model", 256.0, 256.0, 8.0,
                                 "FP1-F7,F7-T7,T7-P7,P7-O1", 2.5 };
    return osc_proto_start_message(&s);
}

static lo_message stop_msg(const char *source, const char *stream, double t_s)
{
    const struct osc_stop s = { { source, stream }, (int64_t)(t_s * 8), t_s, "idle" };
    return osc_proto_stop_message(&s);
}

static lo_message status_msg(const char *source, const char *stream, int version, const char *state)
{
    const struct osc_status s = { { source, stream }, version, state, 4, 80, 2560, 10.0, 0,
                                  5.0f, 7.0f, 10, 20, 30, 40, 50, 0, 0, 0, 4, 64, 256.0, "m" };
    return osc_proto_status_message(&s);
}

/* ---- replay -------------------------------------------------------------------------- */

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v))
        die("record without number %s", k);
    return v->valuedouble;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v))
        die("record without string %s", k);
    return v->valuestring;
}

static int mode_replay(int argc, char **argv)
{
    if (argc != 8)
        die("replay udp|tcp PORT SOURCE STREAM RUN.jsonl DURATION");
    bool tcp = strcmp(argv[2], "tcp") == 0;
    const char *source = argv[4], *stream = argv[5];
    size_t len;
    char *text = test_read_file(argv[6], &len);
    if (!text)
        die("%s: cannot read", argv[6]);
    lo_address to = lo_address_new_with_proto(tcp ? LO_TCP : LO_UDP, "127.0.0.1", argv[3]);
    if (!to)
        die("lo_address_new_with_proto failed");

    lo_bundle b = lo_bundle_new(osc_proto_timetag(unix_now()));
    lo_bundle_add_message(b, "/ictal/start", start_msg(source, stream));
    if (lo_send_bundle(to, b) < 0)
        die("lo_send_bundle: %s", lo_address_errstr(to));
    lo_bundle_free_recursive(b);

    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        if (!o)
            die("%s: a line is not JSON", argv[6]);
        struct ictal_event ev;
        memset(&ev, 0, sizeof ev);
        const char *kind = jstr(o, "kind");
        ev.kind = strcmp(kind, "alarm") == 0    ? ICTAL_EVENT_ALARM
                  : strcmp(kind, "cancel") == 0 ? ICTAL_EVENT_CANCEL
                                                : ICTAL_EVENT_FINAL;
        ev.id = (uint64_t)jnum(o, "id");
        ev.segment = (int32_t)jnum(o, "segment");
        ev.start_frame = (int64_t)jnum(o, "start_frame");
        ev.end_frame = (int64_t)jnum(o, "end_frame");
        ev.emit_frame = (int64_t)jnum(o, "emit_frame");
        ev.start_sample = (int64_t)jnum(o, "start_sample");
        ev.end_sample = (int64_t)jnum(o, "end_sample");
        ev.emit_sample = (int64_t)jnum(o, "emit_sample");
        ev.start_s = jnum(o, "start_s");
        ev.end_s = jnum(o, "end_s");
        ev.emit_s = jnum(o, "emit_s");
        ev.confidence = (float)jnum(o, "confidence");
        ev.peak = (float)jnum(o, "peak");
        ev.percentile = (float)jnum(o, "percentile");
        const char *method = jstr(o, "method");
        ev.method = strcmp(method, "peak") == 0         ? ICTAL_CONFIDENCE_PEAK
                    : strcmp(method, "percentile") == 0 ? ICTAL_CONFIDENCE_PERCENTILE
                                                        : ICTAL_CONFIDENCE_MEAN;
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "channels");
        const char *labels[ICTAL_EVENT_MAX_CHANNELS];
        int k = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, ch) if (k < ICTAL_EVENT_MAX_CHANNELS && cJSON_IsString(it))
            labels[k++] = it->valuestring;
        ev.n_channels = k;
        for (int c = 0; c < k; c++)
            ev.channels[c / 64] |= (uint64_t)1 << (c % 64);
        char flags[256] = "";
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "flags"))
        {
            if (flags[0])
                strcat(flags, "|");
            strncat(flags, it->valuestring, sizeof flags - strlen(flags) - 2);
        }
        ev.flags = ictal_event_flags_parse(flags, NULL);
        lo_message m = osc_proto_record_message(source, stream, &ev, labels, k);
        b = lo_bundle_new(osc_proto_timetag(unix_now()));
        lo_bundle_add_message(b, record_path(&ev), m);
        if (lo_send_bundle(to, b) < 0)
            die("lo_send_bundle: %s", lo_address_errstr(to));
        lo_bundle_free_recursive(b);
        cJSON_Delete(o);
        n++;
    }
    b = lo_bundle_new(osc_proto_timetag(unix_now()));
    lo_bundle_add_message(b, "/ictal/stop", stop_msg(source, stream, atof(argv[7])));
    if (lo_send_bundle(to, b) < 0)
        die("lo_send_bundle: %s", lo_address_errstr(to));
    lo_bundle_free_recursive(b);
    lo_address_free(to);
    free(text);
    printf("{\"records\":%d}\n", n);
    return 0;
}

/* ---- nested bundles and timetags ------------------------------------------------------ */

static int mode_nested(void)
{
    double now = unix_now();
    /* outer (now - 10 s) holds inner (now - 5 s) with a final record, and a status */
    lo_bundle outer = lo_bundle_new(osc_proto_timetag(now - 10));
    lo_bundle inner = lo_bundle_new(osc_proto_timetag(now - 5));
    struct ictal_event ev = record(ICTAL_EVENT_FINAL, 1, 1, 10);
    lo_bundle_add_message(inner, "/ictal/event", record_msg("nest", "0000000a.1", &ev));
    lo_bundle_add_bundle(outer, inner);
    lo_bundle_add_message(outer, "/ictal/status", status_msg("nest", "0000000a.1", 1, "running"));
    struct bytes b;
    b.p = lo_bundle_serialise(outer, NULL, &b.n);
    lo_bundle_free_recursive(outer);
    udp_send(b.p, b.n);
    free(b.p);
    /* an hour in the future: logged at once all the same */
    ev = record(ICTAL_EVENT_ALARM, 2, 0, 100);
    b = bundle_bytes(osc_proto_timetag(now + 3600), record_msg("nest", "0000000a.1", &ev),
                     "/ictal/alarm");
    udp_send(b.p, b.n);
    free(b.p);
    /* "immediately": no timetag */
    ev = record(ICTAL_EVENT_CANCEL, 2, 0, 100);
    b = bundle_bytes((lo_timetag){ 0, 1 }, record_msg("nest", "0000000a.1", &ev), "/ictal/cancel");
    udp_send(b.p, b.n);
    free(b.p);
    printf("{\"inner\":%.6f,\"future\":%.6f}\n", now - 5, now + 3600);
    return 0;
}

/* ---- resend over TCP ------------------------------------------------------------------ */

static void send_record(int fd, const char *source, const char *stream, struct ictal_event ev,
                        size_t split)
{
    struct bytes b = bundle_bytes(osc_proto_timetag(unix_now()), record_msg(source, stream, &ev),
                                  record_path(&ev));
    tcp_frame(fd, b.p, b.n, split);
    free(b.p);
}

static int mode_resend(int argc, char **argv)
{
    if (argc != 5)
        die("resend PORT SOURCE STREAM");
    const char *src = argv[3], *st = argv[4];
    const struct ictal_event a1 = record(ICTAL_EVENT_ALARM, 1, 0, 10);
    const struct ictal_event f1 = record(ICTAL_EVENT_FINAL, 1, 1, 10);
    const struct ictal_event a2 = record(ICTAL_EVENT_ALARM, 2, 0, 50);
    const struct ictal_event f2 = record(ICTAL_EVENT_FINAL, 2, 1, 50);
    int fd = tcp_connect();
    struct bytes b = msg_bytes(start_msg(src, st), "/ictal/start");
    tcp_frame(fd, b.p, b.n, 0);
    free(b.p);
    send_record(fd, src, st, a1, 0);
    send_record(fd, src, st, f1, 3);   /* in 3-byte pieces */
    send_record(fd, src, st, a2, 0);
    close(fd);
    test_sleep_ms(100);
    fd = tcp_connect();                /* the reconnect: everything again */
    send_record(fd, src, st, a1, 0);
    send_record(fd, src, st, f1, 0);
    send_record(fd, src, st, a2, 1);   /* byte by byte */
    send_record(fd, src, st, f2, 0);   /* then what is new */
    b = msg_bytes(stop_msg(src, st, 60.0), "/ictal/stop");
    tcp_frame(fd, b.p, b.n, 0);
    free(b.p);
    close(fd);
    return 0;
}

/* A message from a type string and one text per argument. */
static lo_message build_msg(const char *types, const char *const *vals)
{
    lo_message m = lo_message_new();
    for (size_t i = 0; types[i]; i++) {
        switch (types[i]) {
        case 's': lo_message_add_string(m, vals[i]); break;
        case 'i': lo_message_add_int32(m, (int32_t)strtol(vals[i], NULL, 10)); break;
        case 'h': lo_message_add_int64(m, (int64_t)strtoll(vals[i], NULL, 10)); break;
        case 'f': lo_message_add_float(m, strtof(vals[i], NULL)); break;
        case 'd': lo_message_add_double(m, strtod(vals[i], NULL)); break;
        default: die("type %c", types[i]);
        }
    }
    return m;
}

static struct bytes build(const char *path, const char *types, const char *const *vals)
{
    return msg_bytes(build_msg(types, vals), path);
}

/* ---- big datagrams -------------------------------------------------------------------- */

/* An event naming 5000 channels (a 30 kB list; receivers keep 1024), then a
 * bundle of 9 events with 6 kB lists: a 56 kB datagram. */
static int mode_big(void)
{
    enum { N = 5000 };
    char *list = malloc(N * 8);
    size_t len = 0;
    for (int c = 0; c < N; c++)
        len += (size_t)sprintf(list + len, "%sC%04d", c ? "," : "", c);
    const char *vals[] = { "big", "00000010.1", "1", "1", "87", "540", "645", "2784", "17280",
                           "20609", "10.875", "67.5", "80.5", "56.625", "0.65", "mean", "0",
                           "0.73", list, "" };
    struct bytes b = build("/ictal/event", "ssiihhhhhhddddfsffss", vals);
    udp_send(b.p, b.n);
    size_t first = b.n;
    free(b.p);
    list[6 * 1000 - 1] = '\0'; /* 1000 labels */
    lo_bundle bu = lo_bundle_new(osc_proto_timetag(unix_now()));
    char ids[9][4];
    for (int i = 0; i < 9; i++) {
        snprintf(ids[i], sizeof ids[i], "%d", i + 2);
        vals[2] = ids[i];
        lo_bundle_add_message(bu, "/ictal/event", build_msg("ssiihhhhhhddddfsffss", vals));
    }
    b.p = lo_bundle_serialise(bu, NULL, &b.n);
    lo_bundle_free_recursive(bu);
    udp_send(b.p, b.n);
    printf("{\"first\":%zu,\"bundle\":%zu}\n", first, b.n);
    free(b.p);
    free(list);
    return 0;
}

/* ---- barrage ------------------------------------------------------------------------------ */

/* What ictal-log must count, found the way it finds it: packet structure
 * (log_packet.h), liblo's parsing, osc_proto_decode, duplicate keys. */
struct expect {
    uint64_t packets, messages, bundles, malformed, wrong_types, invalid, unknown, newer;
    uint64_t oversize, duplicates, tcp_connections, tcp_truncated, tcp_timeouts;
    uint64_t valid[OSC_MSG_COUNT];
    char keys[4096][96];
    int n_keys;
};

static struct expect E;
static size_t g_max_packet;

static void classify_msg(void *user, const struct logpkt_msg *pm)
{
    struct expect *e = user;
    e->messages++;
    void *data = (void *)(uintptr_t)pm->data;
    const char *path = lo_get_path(data, (ssize_t)pm->size);
    if (!path || path[0] != '/') {
        e->malformed++;
        return;
    }
    lo_message lm = lo_message_deserialise(data, pm->size, NULL);
    if (!lm) {
        e->malformed++;
        return;
    }
    struct osc_decoded d;
    int rc = osc_proto_decode(path, lo_message_get_types(lm), lo_message_get_argv(lm),
                              lo_message_get_argc(lm), &d, NULL, 0);
    switch (rc) {
    case OSC_DECODE_OK:
        e->valid[d.msg]++;
        if (d.msg == OSC_MSG_ALARM || d.msg == OSC_MSG_CANCEL || d.msg == OSC_MSG_EVENT) {
            char key[96];
            snprintf(key, sizeof key, "%.40s|%.31s|%d|%llu|%d", d.u.record.h.source,
                     d.u.record.h.stream, (int)d.msg, (unsigned long long)d.u.record.ev.id,
                     (int)d.u.record.ev.segment);
            bool seen = false;
            for (int i = 0; i < e->n_keys && !seen; i++)
                seen = strcmp(e->keys[i], key) == 0;
            if (seen)
                e->duplicates++;
            else if (e->n_keys < 4096)
                strcpy(e->keys[e->n_keys++], key);
            else
                die("too many distinct records for the expectation");
        }
        break;
    case OSC_DECODE_UNKNOWN: e->unknown++; break;
    case OSC_DECODE_MALFORMED: e->wrong_types++; break;
    case OSC_DECODE_INVALID: e->invalid++; break;
    case OSC_DECODE_NEWER: e->newer++; break;
    default: die("decode returned %d", rc);
    }
    lo_message_free(lm);
}

static void classify(const uint8_t *p, size_t n)
{
    E.packets++;
    if (n > g_max_packet) {
        E.oversize++;
        return;
    }
    int bundles = 0;
    if (logpkt_walk(p, n, classify_msg, &E, &bundles, NULL, 0) < 0)
        E.malformed++;
    E.bundles += (uint64_t)bundles;
}

/* Send over UDP, expecting `counter` to grow by one (NULL: whatever it is). */
static void udp_case(const char *what, const uint64_t *counter, const void *p, size_t n)
{
    uint64_t before = counter ? *counter : 0;
    classify(p, n);
    if (counter && *counter != before + 1)
        die("barrage case '%s' does not land in its category", what);
    udp_send(p, n);
}

static void udp_case_free(const char *what, const uint64_t *counter, struct bytes b)
{
    udp_case(what, counter, b.p, b.n);
    free(b.p);
}

static const char *const ev_vals[] = {
    "barrage", "0000000b.1", "1", "1", "87", "540", "645", "2784", "17280", "20609",
    "10.875", "67.5", "80.5", "56.625", "0.65", "mean", "0", "0.73", "FP1-F7,F7-T7", ""
};
#define EV_TYPES "ssiihhhhhhddddfsffss"

/* The valid event with argument i replaced by v (type t, 0: same). */
static struct bytes event_with(int i, char t, const char *v)
{
    const char *vals[20];
    char types[] = EV_TYPES;
    memcpy(vals, ev_vals, sizeof vals);
    if (i >= 0) {
        vals[i] = v;
        if (t)
            types[i] = t;
    }
    return build("/ictal/event", types, vals);
}

static int mode_barrage(int argc, char **argv)
{
    if (argc != 6)
        die("barrage PORT SEED MAX_PACKET TCP_TIMEOUT");
    struct test_rng rng;
    rng.s = strtoull(argv[3], NULL, 0) | 1; /* fixed here: the expectation must not move */
    g_max_packet = strtoull(argv[4], NULL, 10);
    double tcp_timeout = atof(argv[5]);
    double now = unix_now();
    uint8_t buf[70000];

    /* random bytes that are neither an address nor a bundle */
    for (int k = 0; k < 60; k++) {
        size_t n = (size_t)test_rng_range(&rng, 1, 300);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)test_rng_next(&rng);
        if (buf[0] == '/' || buf[0] == '#')
            buf[0] = 'x';
        udp_case("random bytes", &E.malformed, buf, n);
    }
    /* a valid event cut short anywhere */
    struct bytes ev = event_with(-1, 0, NULL);
    for (size_t n = 1; n < ev.n; n += n < 40 ? 1 : 7)
        udp_case("truncated", &E.malformed, ev.p, n);
    udp_case("valid event", &E.valid[OSC_MSG_EVENT], ev.p, ev.n);
    udp_case("duplicate event", &E.duplicates, ev.p, ev.n);

    /* broken bundles */
    struct bytes bu = bundle_bytes(osc_proto_timetag(now), record_msg("barrage", "0000000b.2",
                                   &(struct ictal_event){ 0 }), "/ictal/event");
    memcpy(buf, bu.p, bu.n);
    be32_put(buf + 16, (uint32_t)(bu.n - 20 + 4)); /* element beyond the end */
    udp_case("element too long", &E.malformed, buf, bu.n);
    be32_put(buf + 16, 0);
    udp_case("element size 0", &E.malformed, buf, bu.n);
    be32_put(buf + 16, (uint32_t)(bu.n - 20 - 2));
    udp_case("element size unaligned", &E.malformed, buf, bu.n);
    udp_case("bundle cut in its timetag", &E.malformed, bu.p, 12);
    memcpy(buf, "#bundlX", 8);
    udp_case("bad bundle tag", &E.malformed, buf, 16);
    free(bu.p);
    /* bundles 20 deep around a valid status */
    size_t off = 0, n = 20 * 20;
    struct bytes st = msg_bytes(status_msg("barrage", "0000000b.3", 1, "running"), "/ictal/status");
    for (int d = 0; d < 20; d++, off += 20) {
        memcpy(buf + off, "#bundle", 8);
        be32_put(buf + off + 8, 0);
        be32_put(buf + off + 12, 1);
        be32_put(buf + off + 16, (uint32_t)(n - off - 20 + st.n));
    }
    memcpy(buf + n, st.p, st.n);
    udp_case("bundles nested too deep", &E.malformed, buf, n + st.n);
    /* 3 deep is fine */
    memmove(buf, buf + 17 * 20, 3 * 20 + st.n);
    udp_case("nested 3 deep", &E.valid[OSC_MSG_STATUS], buf, 3 * 20 + st.n);
    free(st.p);

    /* OSC encodings liblo refuses */
    static const uint8_t no_nul[] = "/ictal/stop\0,s\0\0abcd";
    udp_case("string without NUL", &E.malformed, no_nul, 20);
    static const uint8_t bad_tag[] = "/ictal/stop\0,q\0\0\0\0\0\0";
    udp_case("unknown type", &E.malformed, bad_tag, 20);
    static const uint8_t big_blob[] = "/ictal/stop\0,b\0\0\x7f\xff\xff\xf0\0\0\0\0";
    udp_case("blob larger than the packet", &E.malformed, big_blob, 24);
    static const uint8_t no_path[] = "abc\0,\0\0\0";
    udp_case("address without /", &E.malformed, no_path, 8);

    /* wrong type tags and arity */
    udp_case_free("int for int64", &E.wrong_types, event_with(4, 'i', "87"));
    udp_case_free("double for float", &E.wrong_types, event_with(14, 'd', "0.5"));
    const char *vals[20];
    memcpy(vals, ev_vals, sizeof vals);
    udp_case_free("short arity", &E.wrong_types, build("/ictal/event", "ssiihhhhhhddddfsffs", vals));
    udp_case_free("no arguments", &E.wrong_types, build("/ictal/stop", "", vals));
    /* impossible values */
    udp_case_free("NaN confidence", &E.invalid, event_with(14, 0, "nan"));
    udp_case_free("Inf start", &E.invalid, event_with(10, 0, "inf"));
    udp_case_free("confidence 1.5", &E.invalid, event_with(14, 0, "1.5"));
    udp_case_free("unknown method", &E.invalid, event_with(15, 0, "median"));
    udp_case_free("control character", &E.invalid, event_with(0, 0, "bar\033[2Jrage"));
    udp_case_free("empty source", &E.invalid, event_with(0, 0, ""));
    udp_case_free("end before start", &E.invalid, event_with(5, 0, "3"));
    udp_case_free("unknown state", &E.invalid,
                  msg_bytes(status_msg("barrage", "", 1, "dancing"), "/ictal/status"));
    /* unknown addresses and versions */
    udp_case_free("unknown /ictal address", &E.unknown, build("/ictal/nope", "s", vals));
    udp_case_free("foreign address", &E.unknown, build("/foo/bar", "", vals));
    udp_case_free("newer status", &E.newer,
                  msg_bytes(status_msg("barrage", "", 2, "running"), "/ictal/status"));
    /* over the size limit */
    memset(buf, 0, g_max_packet + 100);
    memcpy(buf, ev.p, ev.n);
    udp_case("oversize datagram", &E.oversize, buf, g_max_packet + 100);

    /* mutated valid packets: bytes flipped anywhere, any outcome */
    for (int k = 0; k < 400; k++) {
        struct ictal_event r = record((enum ictal_event_kind)test_rng_range(&rng, 1, 3),
                                      (int)test_rng_range(&rng, 1, 50), 0, 30);
        if (r.kind == ICTAL_EVENT_FINAL)
            r.segment = 1;
        struct bytes m = k % 3 == 0 ? msg_bytes(record_msg("mut", "0000000c.1", &r), record_path(&r))
                         : k % 3 == 1 ? bundle_bytes(osc_proto_timetag(now),
                                                     record_msg("mut", "0000000c.1", &r),
                                                     record_path(&r))
                                      : msg_bytes(start_msg("mut", "0000000c.1"), "/ictal/start");
        int flips = (int)test_rng_range(&rng, 1, 4);
        for (int f = 0; f < flips; f++)
            m.p[test_rng_range(&rng, 0, (int64_t)m.n - 1)] = (uint8_t)test_rng_next(&rng);
        udp_case("mutation", NULL, m.p, m.n);
        free(m.p);
    }

    /* TCP A: good, garbage, empty and oversize frames, then good again */
    int fd = tcp_connect();
    E.tcp_connections++;
    classify(ev.p, ev.n); /* a duplicate by now */
    tcp_frame(fd, ev.p, ev.n, 0);
    for (int i = 0; i < 64; i++)
        buf[i] = (uint8_t)test_rng_next(&rng);
    buf[0] = 'x';
    classify(buf, 64);
    tcp_frame(fd, buf, 64, 0);
    classify(buf, 0);
    tcp_frame(fd, buf, 0, 0);
    size_t big = g_max_packet + 4096;
    memset(buf, '#', big);
    classify(buf, big);
    tcp_frame(fd, buf, big, 0);
    struct ictal_event r = record(ICTAL_EVENT_FINAL, 77, 1, 5);
    struct bytes good = bundle_bytes(osc_proto_timetag(now), record_msg("barrage", "0000000b.4", &r),
                                     "/ictal/event");
    uint64_t before = E.valid[OSC_MSG_EVENT];
    classify(good.p, good.n);
    if (E.valid[OSC_MSG_EVENT] != before + 1)
        die("the record after the oversize frame is not valid");
    tcp_frame(fd, good.p, good.n, 7);
    free(good.p);
    close(fd);
    /* TCP B: a frame cut short, then the connection closes */
    fd = tcp_connect();
    E.tcp_connections++;
    E.tcp_truncated++;
    be32_put(buf, 200);
    memset(buf + 4, 'a', 50);
    tcp_write(fd, buf, 54);
    close(fd);
    /* TCP C: half a length header */
    fd = tcp_connect();
    E.tcp_connections++;
    E.tcp_truncated++;
    tcp_write(fd, buf, 2);
    close(fd);
    /* TCP E: a huge declared size */
    fd = tcp_connect();
    E.tcp_connections++;
    E.packets++;
    E.oversize++;
    E.tcp_truncated++;
    be32_put(buf, 0xfffffff0u);
    tcp_write(fd, buf, 104);
    close(fd);
    /* TCP D: half a packet, then silence past the server's timeout */
    fd = tcp_connect();
    E.tcp_connections++;
    E.tcp_truncated++;
    E.tcp_timeouts++;
    be32_put(buf, 100);
    tcp_write(fd, buf, 30);
    test_sleep_ms((int)(tcp_timeout * 1000) + 1500);
    close(fd);
    free(ev.p);

    printf("{\"packets\":%llu,\"messages\":%llu,\"bundles\":%llu,\"malformed\":%llu,"
           "\"wrong_types\":%llu,\"invalid\":%llu,\"unknown\":%llu,\"newer\":%llu,"
           "\"oversize\":%llu,\"duplicates\":%llu,\"tcp_connections\":%llu,"
           "\"tcp_truncated\":%llu,\"tcp_timeouts\":%llu,\"by_address\":{",
           (unsigned long long)E.packets, (unsigned long long)E.messages,
           (unsigned long long)E.bundles, (unsigned long long)E.malformed,
           (unsigned long long)E.wrong_types, (unsigned long long)E.invalid,
           (unsigned long long)E.unknown, (unsigned long long)E.newer,
           (unsigned long long)E.oversize, (unsigned long long)E.duplicates,
           (unsigned long long)E.tcp_connections, (unsigned long long)E.tcp_truncated,
           (unsigned long long)E.tcp_timeouts);
    for (int m = 0; m < OSC_MSG_COUNT; m++)
        printf("%s\"%s\":%llu", m ? "," : "", osc_proto_address((enum osc_msg)m) + 7,
               (unsigned long long)E.valid[m]);
    printf("}}\n");
    return 0;
}

/* ---- flood ------------------------------------------------------------------------------ */

static int mode_flood(int argc, char **argv)
{
    if (argc != 4)
        die("flood PORT N");
    long n = atol(argv[3]);
    const struct osc_prob p = { { "flood", "0000000d.1" }, 1, 32, 0.125, 0.5f, 0.5f, 0, 0 };
    struct bytes b = msg_bytes(osc_proto_prob_message(&p), "/ictal/prob");
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = server_addr();
    for (long i = 0; i < n; i++)
        if (sendto(fd, b.p, b.n, 0, (struct sockaddr *)&a, sizeof a) != (ssize_t)b.n)
            die("sendto: %s", strerror(errno));
    close(fd);
    free(b.p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: MODE PORT ... (see the source)");
    const char *mode = argv[1];
    g_port = atoi(strcmp(mode, "replay") == 0 && argc > 3 ? argv[3] : argv[2]);
    if (g_port <= 0 || g_port > 65535)
        die("bad port");
    if (strcmp(mode, "replay") == 0)
        return mode_replay(argc, argv);
    if (strcmp(mode, "nested") == 0)
        return mode_nested();
    if (strcmp(mode, "resend") == 0)
        return mode_resend(argc, argv);
    if (strcmp(mode, "barrage") == 0)
        return mode_barrage(argc, argv);
    if (strcmp(mode, "flood") == 0)
        return mode_flood(argc, argv);
    if (strcmp(mode, "big") == 0)
        return mode_big();
    die("unknown mode %s", mode);
    return 1;
}
