/*
 * test_osc_proto.c — the OSC protocol module (clients/common/osc_proto.c)
 * against itself, liblo and docs/osc.md:
 *   - every message type survives encode → lo_message_serialise →
 *     lo_message_deserialise → osc_proto_decode with identical values;
 *   - docs/osc.md's address tables (type tags, argument names and types, and
 *     the oscdump/oscsend examples) agree with osc_proto_address/types/arg_name,
 *     so the page cannot drift from the code;
 *   - the decoder rejects wrong type tags, short arity, non-finite and
 *     out-of-range values, unknown methods/states/reasons and control
 *     characters with a reason naming the argument, accepts extra trailing
 *     arguments, and tells unknown addresses and newer versions apart;
 *   - channel lists are cut at a label boundary with ",+N" so a record naming
 *     1024 long labels still fits ICTAL_OSC_MAX_PACKET as a bundle;
 *   - split_labels inverts join_labels; timetags convert both ways.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "osc_proto.h"
#include "test_util.h"

/* ---- helpers ----------------------------------------------------------------- */

/* A decoded message and the liblo message its strings point into. */
struct rt {
    lo_message m;
    int rc;
    struct osc_decoded d;
    char why[256];
};

/* Serialise m for `path`, free it, deserialise the bytes and decode them. */
static void roundtrip(lo_message m, const char *path, struct rt *out)
{
    assert_non_null(m);
    size_t size = 0;
    void *bytes = lo_message_serialise(m, path, NULL, &size);
    assert_non_null(bytes);
    assert_true(size > 0 && size % 4 == 0);
    lo_message_free(m);
    int res = 0;
    out->m = lo_message_deserialise(bytes, size, &res);
    assert_non_null(out->m);
    const char *got_path = lo_get_path(bytes, (ssize_t)size);
    assert_non_null(got_path);
    assert_string_equal(got_path, path);
    out->rc = osc_proto_decode(got_path, lo_message_get_types(out->m),
                               lo_message_get_argv(out->m), lo_message_get_argc(out->m), &out->d,
                               out->why, sizeof out->why);
    free(bytes);
}

static void rt_free(struct rt *r)
{
    lo_message_free(r->m);
    r->m = NULL;
}

/* A message from a type string and one text per argument (numbers parsed by
 * type; "nan", "inf" allowed). */
static lo_message build(const char *types, const char *const *vals)
{
    lo_message m = lo_message_new();
    assert_non_null(m);
    for (size_t i = 0; types[i]; i++) {
        const char *v = vals[i];
        switch (types[i]) {
        case 's': lo_message_add_string(m, v); break;
        case 'i': lo_message_add_int32(m, (int32_t)strtol(v, NULL, 10)); break;
        case 'h': lo_message_add_int64(m, (int64_t)strtoll(v, NULL, 10)); break;
        case 'f': lo_message_add_float(m, strtof(v, NULL)); break;
        case 'd': lo_message_add_double(m, strtod(v, NULL)); break;
        default: fail_msg("type %c", types[i]);
        }
    }
    return m;
}

static struct ictal_event sample_event(enum ictal_event_kind kind, enum ictal_confidence method)
{
    struct ictal_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.id = 7;
    ev.segment = kind == ICTAL_EVENT_FINAL ? 2 : 0;
    ev.n_channels = 8;
    ev.channels[0] = (1u << 0) | (1u << 2) | (1u << 5);
    ev.start_frame = 87;
    ev.end_frame = 540;
    ev.emit_frame = 645;
    ev.start_sample = 2784;
    ev.end_sample = 17280;
    ev.emit_sample = 20609;
    ev.start_s = 10.875;
    ev.end_s = 67.5;
    ev.emit_s = 80.50390625;
    ev.confidence = 0.6522991f;
    ev.peak = 0.7265877f;
    ev.method = method;
    ev.percentile = method == ICTAL_CONFIDENCE_PERCENTILE ? 87.5f : 0.0f;
    ev.flags = ICTAL_EVENT_SEGMENTED | ICTAL_FRAME_XRUN | ICTAL_FRAME_SCRUBBED;
    return ev;
}

static const char *const labels8[] = { "FP1-F7", "F7-T7", "T7-P7", "P7-O1",
                                       "FP1-F3", "F3-C3", "C3-P3", "P3-O1" };

/* ---- round trips ------------------------------------------------------------- */

static void test_roundtrip_records(void **state)
{
    (void)state;
    static const enum ictal_event_kind kinds[] = { ICTAL_EVENT_ALARM, ICTAL_EVENT_CANCEL,
                                                   ICTAL_EVENT_FINAL };
    for (int k = 0; k < 3; k++) {
        for (int meth = ICTAL_CONFIDENCE_MEAN; meth <= ICTAL_CONFIDENCE_PERCENTILE; meth++) {
            struct ictal_event ev = sample_event(kinds[k], (enum ictal_confidence)meth);
            enum osc_msg msg = osc_proto_msg_of_kind(ev.kind);
            struct rt r;
            roundtrip(osc_proto_record_message("ictal-detect", "5f3a09c1.1", &ev, labels8, 8),
                      osc_proto_address(msg), &r);
            assert_int_equal(r.rc, OSC_DECODE_OK);
            assert_int_equal(r.d.msg, msg);
            const struct osc_record *rec = &r.d.u.record;
            assert_string_equal(rec->h.source, "ictal-detect");
            assert_string_equal(rec->h.stream, "5f3a09c1.1");
            assert_string_equal(rec->channels, "FP1-F7,T7-P7,F3-C3");
            const struct ictal_event *g = &rec->ev;
            assert_int_equal(g->kind, ev.kind);
            assert_int_equal(g->id, ev.id);
            assert_int_equal(g->segment, ev.segment);
            assert_int_equal(g->start_frame, ev.start_frame);
            assert_int_equal(g->end_frame, ev.end_frame);
            assert_int_equal(g->emit_frame, ev.emit_frame);
            assert_int_equal(g->start_sample, ev.start_sample);
            assert_int_equal(g->end_sample, ev.end_sample);
            assert_int_equal(g->emit_sample, ev.emit_sample);
            assert_true(g->start_s == ev.start_s && g->end_s == ev.end_s &&
                        g->emit_s == ev.emit_s);
            assert_true(g->confidence == ev.confidence && g->peak == ev.peak);
            assert_int_equal(g->method, ev.method);
            assert_true(g->percentile == ev.percentile);
            assert_int_equal(g->flags, ev.flags);
            /* the channels become bits 0..k-1 of the k labels sent */
            assert_int_equal(g->n_channels, 3);
            assert_int_equal(g->channels[0], 7);
            rt_free(&r);
        }
    }
}

static void test_roundtrip_others(void **state)
{
    (void)state;
    struct rt r;

    const struct osc_prob p = { { "det", "0badf00d.2" }, 123456789012LL, 3950617968384LL,
                                482253.171875, 0.25f, 0.875f, 5, 1 };
    roundtrip(osc_proto_prob_message(&p), "/ictal/prob", &r);
    assert_int_equal(r.rc, OSC_DECODE_OK);
    assert_int_equal(r.d.msg, OSC_MSG_PROB);
    const struct osc_prob *gp = &r.d.u.prob;
    assert_string_equal(gp->h.source, "det");
    assert_string_equal(gp->h.stream, "0badf00d.2");
    assert_true(gp->frame == p.frame && gp->sample == p.sample && gp->t_s == p.t_s);
    assert_true(gp->p == p.p && gp->p_max == p.p_max);
    assert_true(gp->frame_flags == p.frame_flags && gp->alarm == p.alarm);
    rt_free(&r);

    const struct osc_status s = {
        { "det", "" }, 1, "waiting", 23, 99, 4242, 1.5, 3, 12.5f, 40.25f, 100.5f, 200.25f,
        300.125f, 400.0625f, 900.5f, 7, 11, 0, 21, 64, 256.0, "default_1h"
    };
    roundtrip(osc_proto_status_message(&s), "/ictal/status", &r);
    assert_int_equal(r.rc, OSC_DECODE_OK);
    const struct osc_status *gs = &r.d.u.status;
    assert_string_equal(gs->h.stream, "");
    assert_int_equal(gs->version, 1);
    assert_string_equal(gs->state, "waiting");
    assert_true(gs->n_channels == 23 && gs->frames == 99 && gs->input_samples == 4242);
    assert_true(gs->t_s == 1.5 && gs->xruns == 3);
    assert_true(gs->dsp_load == s.dsp_load && gs->jack_load == s.jack_load);
    assert_true(gs->cb_p50_us == s.cb_p50_us && gs->cb_p95_us == s.cb_p95_us &&
                gs->cb_p99_us == s.cb_p99_us && gs->cb_max_us == s.cb_max_us &&
                gs->cb_max_all_us == s.cb_max_all_us);
    assert_true(gs->telemetry_drops == 7 && gs->records == 11 && gs->alarm == 0);
    assert_true(gs->good_channels == 21 && gs->period == 64 && gs->rate == 256.0);
    assert_string_equal(gs->model, "default_1h");
    rt_free(&r);

    const struct osc_xrun x = { { "det", "0badf00d.2" }, 4, 1234.5f, 5000, 19.53125, 640 };
    roundtrip(osc_proto_xrun_message(&x), "/ictal/xrun", &r);
    assert_int_equal(r.rc, OSC_DECODE_OK);
    const struct osc_xrun *gx = &r.d.u.xrun;
    assert_true(gx->count == 4 && gx->delayed_us == x.delayed_us && gx->sample == 5000 &&
                gx->t_s == x.t_s && gx->lost_samples == 640);
    rt_free(&r);

    const struct osc_quality q = { { "det", "0badf00d.2" }, 22, "T8-P8#2", "flat|clipped", "",
                                   48000, 1.0, 22 };
    roundtrip(osc_proto_quality_message(&q), "/ictal/quality", &r);
    assert_int_equal(r.rc, OSC_DECODE_OK);
    const struct osc_quality *gq = &r.d.u.quality;
    assert_true(gq->channel == 22 && gq->sample == 48000 && gq->t_s == 1.0 &&
                gq->good_channels == 22);
    assert_string_equal(gq->label, "T8-P8#2");
    assert_string_equal(gq->flags, "flat|clipped");
    assert_string_equal(gq->previous, "");
    rt_free(&r);

    const struct osc_start st = { { "det", "0badf00d.3" }, 1, "default_1h", 48000.0, 256.0,
                                  8.0, "FP1-F7,F7-T7", 3.125 };
    roundtrip(osc_proto_start_message(&st), "/ictal/start", &r);
    assert_int_equal(r.rc, OSC_DECODE_OK);
    const struct osc_start *gt = &r.d.u.start;
    assert_true(gt->version == 1 && gt->input_rate == 48000.0 && gt->model_rate == 256.0 &&
                gt->frame_rate == 8.0 && gt->latency_s == 3.125);
    assert_string_equal(gt->model, "default_1h");
    assert_string_equal(gt->channels, "FP1-F7,F7-T7");
    rt_free(&r);

    const struct osc_stop sp = { { "det", "0badf00d.3" }, 2400, 300.0, "signal" };
    roundtrip(osc_proto_stop_message(&sp), "/ictal/stop", &r);
    assert_int_equal(r.rc, OSC_DECODE_OK);
    const struct osc_stop *gsp = &r.d.u.stop;
    assert_true(gsp->frames == 2400 && gsp->t_s == 300.0);
    assert_string_equal(gsp->reason, "signal");
    rt_free(&r);

    const struct osc_annotation a = { "ictal-play", "rec.edf", 12.25, -1.0, "seizure onset \xc3\xa9" };
    roundtrip(osc_proto_annotation_message(&a), "/ictal/annotation", &r);
    assert_int_equal(r.rc, OSC_DECODE_OK);
    const struct osc_annotation *ga = &r.d.u.annotation;
    assert_string_equal(ga->source, "ictal-play");
    assert_string_equal(ga->file, "rec.edf");
    assert_true(ga->onset_s == 12.25 && ga->duration_s == -1.0);
    assert_string_equal(ga->text, a.text);
    rt_free(&r);
}

/* ---- docs/osc.md agrees with the code --------------------------------------------- */

static int msg_of_address(const char *addr, size_t n)
{
    for (int m = 0; m < OSC_MSG_COUNT; m++) {
        const char *a = osc_proto_address((enum osc_msg)m);
        if (strlen(a) == n && strncmp(a, addr, n) == 0)
            return m;
    }
    return -1;
}

/* Trim blanks of a table cell in place. */
static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

static void test_doc_tables(void **state)
{
    (void)state;
    size_t len;
    char *doc = test_read_file(ICTAL_OSC_DOC, &len);
    assert_non_null(doc);

    int heading[OSC_MSG_COUNT];       /* messages named by the current ### heading */
    int n_heading = 0;
    int pending[OSC_MSG_COUNT];       /* messages whose table follows */
    int n_pending = 0;
    const char *pending_types = NULL;
    int row = 0;
    int typed[OSC_MSG_COUNT] = { 0 }; /* type tag lines seen per message */
    int rows_ok[OSC_MSG_COUNT] = { 0 };
    int examples = 0;

    char *save = NULL;
    for (char *line = strtok_r(doc, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        /* oscdump/oscsend examples: "/ictal/NAME TYPES ..." */
        for (const char *p = strstr(line, "/ictal/"); p; p = strstr(p + 1, "/ictal/")) {
            size_t an = 7 + strspn(p + 7, "abcdefghijklmnopqrstuvwxyz");
            int m = msg_of_address(p, an);
            if (m >= 0 && p[an] == ' ') {
                /* a type tag word: only type letters, 5 or more (every tag is) */
                size_t tn = strspn(p + an + 1, "sihfd");
                const char *want = osc_proto_types((enum osc_msg)m);
                if (tn >= 5 && p[an + 1 + tn] == ' ') {
                    if (strlen(want) != tn || strncmp(p + an + 1, want, tn) != 0)
                        fail_msg("docs/osc.md example: %.*s %.*s, the code's type tag is %s",
                                 (int)an, p, (int)tn, p + an + 1, want);
                    examples++;
                }
            }
        }
        if (strncmp(line, "### ", 4) == 0) {
            n_heading = 0;
            for (const char *p = strstr(line, "`/ictal/"); p; p = strstr(p + 1, "`/ictal/")) {
                const char *e = strchr(p + 1, '`');
                assert_non_null(e);
                int m = msg_of_address(p + 1, (size_t)(e - p - 1));
                if (m < 0)
                    fail_msg("docs/osc.md heading names an address the code does not know: %s",
                             line);
                heading[n_heading++] = m;
            }
            n_pending = 0;
            continue;
        }
        const char *tt = strstr(line, "ype tag `,");
        if (tt) {
            const char *types = tt + 10;
            size_t tn = strcspn(types, "`");
            n_pending = 0;
            if (line[0] == '`') { /* "`start`, type tag ..." */
                char addr[64];
                size_t nn = strcspn(line + 1, "`");
                snprintf(addr, sizeof addr, "/ictal/%.*s", (int)nn, line + 1);
                int m = msg_of_address(addr, strlen(addr));
                assert_true(m >= 0);
                pending[n_pending++] = m;
            } else {
                for (int i = 0; i < n_heading; i++)
                    pending[n_pending++] = heading[i];
            }
            assert_true(n_pending > 0);
            for (int i = 0; i < n_pending; i++) {
                const char *want = osc_proto_types((enum osc_msg)pending[i]);
                if (strlen(want) != tn || strncmp(types, want, tn) != 0)
                    fail_msg("docs/osc.md: %s has type tag \",%.*s\", the code \",%s\"",
                             osc_proto_address((enum osc_msg)pending[i]), (int)tn, types, want);
                typed[pending[i]]++;
            }
            pending_types = osc_proto_types((enum osc_msg)pending[0]);
            row = 0;
            continue;
        }
        if (n_pending > 0 && line[0] == '|' && line[1] == ' ' && line[2] >= '0' &&
            line[2] <= '9') {
            /* | # | name | type | meaning | */
            char *cells[5] = { 0 };
            int nc = 0;
            for (char *c = line + 1; nc < 5 && c;) {
                char *bar = strchr(c, '|');
                if (bar)
                    *bar = '\0';
                cells[nc++] = trim(c);
                c = bar ? bar + 1 : NULL;
            }
            assert_true(nc >= 3);
            assert_int_equal(atoi(cells[0]), row);
            assert_true((size_t)row < strlen(pending_types));
            if (strlen(cells[2]) != 1 || cells[2][0] != pending_types[row])
                fail_msg("docs/osc.md: %s argument %d has type '%s', the code '%c'",
                         osc_proto_address((enum osc_msg)pending[0]), row, cells[2],
                         pending_types[row]);
            for (int i = 0; i < n_pending; i++) {
                char name[32];
                osc_proto_arg_name((enum osc_msg)pending[i], row, name, sizeof name);
                if (strcmp(name, cells[1]) != 0)
                    fail_msg("docs/osc.md: %s argument %d is named '%s', the code '%s'",
                             osc_proto_address((enum osc_msg)pending[i]), row, cells[1], name);
                if ((size_t)row + 1 == strlen(pending_types))
                    rows_ok[pending[i]]++;
            }
            row++;
        }
    }
    for (int m = 0; m < OSC_MSG_COUNT; m++) {
        if (typed[m] != 1 || rows_ok[m] != 1)
            fail_msg("docs/osc.md: %s: %d type tag line(s), %d complete table(s); want 1 and 1",
                     osc_proto_address((enum osc_msg)m), typed[m], rows_ok[m]);
        char name[32];
        /* the name table ends where the type tag ends */
        assert_string_equal(osc_proto_arg_name((enum osc_msg)m,
                                               (int)strlen(osc_proto_types((enum osc_msg)m)),
                                               name, sizeof name), "");
    }
    assert_true(examples >= 2); /* the oscdump and the oscsend example */
    free(doc);
}

/* ---- the decoder refuses what it must ------------------------------------------------ */

static const char *const valid_record[] = {
    "ictal-detect", "5f3a09c1.1", "1", "1", "87", "540", "645", "2784", "17280", "20609",
    "10.875", "67.5", "80.5", "56.625", "0.65", "mean", "0", "0.73", "FP1-F7,F7-T7", ""
};
static const char *const valid_prob[] = { "d", "1.1", "5", "160", "0.625", "0.5", "0.75", "0", "0" };
static const char *const valid_status[] = {
    "d", "1.1", "1", "running", "23", "10", "480", "1.25", "0", "5", "7", "10", "20", "30", "40",
    "50", "0", "0", "0", "23", "64", "256", "m"
};
static const char *const valid_xrun[] = { "d", "1.1", "1", "120.5", "500", "1.95", "0" };
static const char *const valid_quality[] = { "d", "1.1", "3", "C3-P3", "flat", "", "1000", "3.9", "22" };
static const char *const valid_start[] = { "d", "1.1", "1", "m", "256", "256", "8", "A,B", "2" };
static const char *const valid_stop[] = { "d", "1.1", "80", "10", "gate" };
static const char *const valid_annotation[] = { "p", "rec.edf", "12", "-1", "seizure" };

static const char *const *valid_args(enum osc_msg m)
{
    switch (m) {
    case OSC_MSG_ALARM:
    case OSC_MSG_CANCEL:
    case OSC_MSG_EVENT: return valid_record;
    case OSC_MSG_PROB: return valid_prob;
    case OSC_MSG_STATUS: return valid_status;
    case OSC_MSG_XRUN: return valid_xrun;
    case OSC_MSG_QUALITY: return valid_quality;
    case OSC_MSG_START: return valid_start;
    case OSC_MSG_STOP: return valid_stop;
    case OSC_MSG_ANNOTATION: return valid_annotation;
    case OSC_MSG_COUNT: break;
    }
    return NULL;
}

/* Decode message m's valid arguments with argument `arg` replaced by `text`
 * of type `type` (0: unchanged); arg -1 changes nothing; `drop` removes that
 * many arguments from the end. */
static void decode_mutated(enum osc_msg m, int arg, char type, const char *text, int drop,
                           struct rt *r)
{
    const char *vals[32];
    char types[33];
    const char *want = osc_proto_types(m);
    size_t n = strlen(want);
    memcpy(types, want, n + 1);
    for (size_t i = 0; i < n; i++)
        vals[i] = valid_args(m)[i];
    if (arg >= 0) {
        vals[arg] = text;
        if (type)
            types[arg] = type;
    }
    types[n - (size_t)drop] = '\0';
    roundtrip(build(types, vals), osc_proto_address(m), r);
}

static void test_decode_valid_tables(void **state)
{
    (void)state;
    for (int m = 0; m < OSC_MSG_COUNT; m++) {
        struct rt r;
        decode_mutated((enum osc_msg)m, -1, 0, NULL, 0, &r);
        /* alarm and cancel carry segment 0 */
        if (m == OSC_MSG_ALARM || m == OSC_MSG_CANCEL) {
            rt_free(&r);
            decode_mutated((enum osc_msg)m, 3, 0, "0", 0, &r);
        }
        if (r.rc != OSC_DECODE_OK)
            fail_msg("%s: %s", osc_proto_address((enum osc_msg)m), r.why);
        assert_string_equal(r.why, "");
        rt_free(&r);
    }
}

static void test_decode_rejects(void **state)
{
    (void)state;
    static const struct {
        enum osc_msg m;
        int arg;
        char type;
        const char *text;
        int drop;
        int code;
        const char *why; /* must appear in the reason, after "argument N (name)" */
    } cases[] = {
        /* type tags and arity */
        { OSC_MSG_EVENT, 4, 'i', "87", 0, OSC_DECODE_MALFORMED, "type 'i' where 'h'" },
        { OSC_MSG_EVENT, 14, 'd', "0.5", 0, OSC_DECODE_MALFORMED, "type 'd' where 'f'" },
        { OSC_MSG_EVENT, 0, 'i', "1", 0, OSC_DECODE_MALFORMED, "type 'i' where 's'" },
        { OSC_MSG_ALARM, -1, 0, NULL, 1, OSC_DECODE_MALFORMED, "is missing" },
        { OSC_MSG_STATUS, -1, 0, NULL, 1, OSC_DECODE_MALFORMED, "is missing" },
        { OSC_MSG_STOP, -1, 0, NULL, 5, OSC_DECODE_MALFORMED, "is missing" },
        { OSC_MSG_PROB, 5, 'd', "0.5", 0, OSC_DECODE_MALFORMED, "where 'f'" },
        /* values */
        { OSC_MSG_EVENT, 0, 0, "", 0, OSC_DECODE_INVALID, "empty" },
        { OSC_MSG_EVENT, 1, 0, "0123456789012345678901234567890123456789", 0,
          OSC_DECODE_INVALID, "longer than" },
        { OSC_MSG_EVENT, 2, 0, "0", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_EVENT, 3, 0, "0", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_CANCEL, 3, 0, "1", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_EVENT, 4, 0, "-1", 0, OSC_DECODE_INVALID, "below" },
        { OSC_MSG_EVENT, 5, 0, "86", 0, OSC_DECODE_INVALID, "below" },
        { OSC_MSG_EVENT, 8, 0, "100", 0, OSC_DECODE_INVALID, "below" },
        { OSC_MSG_EVENT, 10, 0, "nan", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_EVENT, 11, 0, "inf", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_EVENT, 11, 0, "10", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_EVENT, 12, 0, "-inf", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_EVENT, 13, 0, "-1", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_EVENT, 14, 0, "1.5", 0, OSC_DECODE_INVALID, "1.5 is outside [0, 1]" },
        { OSC_MSG_EVENT, 14, 0, "nan", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_EVENT, 15, 0, "median", 0, OSC_DECODE_INVALID, "unknown method \"median\"" },
        { OSC_MSG_EVENT, 16, 0, "100.5", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_EVENT, 17, 0, "-0.25", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_EVENT, 18, 0, "FP1-F7,\x01", 0, OSC_DECODE_INVALID, "control character 0x01" },
        { OSC_MSG_EVENT, 19, 0, "xrun\x7f", 0, OSC_DECODE_INVALID, "control character 0x7f" },
        { OSC_MSG_ALARM, 0, 0, "det\x1b[31m", 0, OSC_DECODE_INVALID, "control character 0x1b" },
        { OSC_MSG_PROB, 5, 0, "1.0001", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_PROB, 6, 0, "inf", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_PROB, 7, 0, "256", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_PROB, 8, 0, "2", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_PROB, 1, 0, "", 0, OSC_DECODE_INVALID, "empty" },
        { OSC_MSG_STATUS, 2, 0, "0", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_STATUS, 3, 0, "sleeping", 0, OSC_DECODE_INVALID, "unknown state \"sleeping\"" },
        { OSC_MSG_STATUS, 9, 0, "nan", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_STATUS, 21, 0, "-48000", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_STATUS, 22, 0, "m\n", 0, OSC_DECODE_INVALID, "control character 0x0a" },
        { OSC_MSG_XRUN, 2, 0, "-1", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_XRUN, 3, 0, "-5", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_XRUN, 6, 0, "-1", 0, OSC_DECODE_INVALID, "below" },
        { OSC_MSG_QUALITY, 2, 0, "1024", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_QUALITY, 7, 0, "nan", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_START, 4, 0, "0", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_START, 8, 0, "-1", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_STOP, 4, 0, "crash", 0, OSC_DECODE_INVALID, "unknown reason \"crash\"" },
        { OSC_MSG_STOP, 3, 0, "inf", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_ANNOTATION, 0, 0, "", 0, OSC_DECODE_INVALID, "empty" },
        { OSC_MSG_ANNOTATION, 3, 0, "-2", 0, OSC_DECODE_INVALID, "outside" },
        { OSC_MSG_ANNOTATION, 4, 0, "a\tb", 0, OSC_DECODE_INVALID, "control character 0x09" },
        /* versions */
        { OSC_MSG_STATUS, 2, 0, "2", 0, OSC_DECODE_NEWER, "newer" },
        { OSC_MSG_START, 2, 0, "99", 0, OSC_DECODE_NEWER, "newer" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rt r;
        decode_mutated(cases[i].m, cases[i].arg, cases[i].type, cases[i].text, cases[i].drop, &r);
        const char *addr = osc_proto_address(cases[i].m);
        if (r.rc != cases[i].code)
            fail_msg("case %zu (%s arg %d): code %d, want %d (%s)", i, addr, cases[i].arg, r.rc,
                     cases[i].code, r.why);
        int arg = cases[i].arg;
        if (cases[i].drop) /* the first missing argument */
            arg = (int)strlen(osc_proto_types(cases[i].m)) - cases[i].drop;
        char name[32], prefix[64];
        osc_proto_arg_name(cases[i].m, arg, name, sizeof name);
        assert_true(name[0] != '\0');
        snprintf(prefix, sizeof prefix, "argument %d (%s)", arg, name);
        if (strncmp(r.why, prefix, strlen(prefix)) != 0 || !strstr(r.why, cases[i].why))
            fail_msg("case %zu (%s): reason \"%s\", want \"%s...%s...\"", i, addr, r.why, prefix,
                     cases[i].why);
        rt_free(&r);
    }
}

static void test_decode_unknown_and_extra(void **state)
{
    (void)state;
    struct rt r;
    /* unknown addresses, inside and outside /ictal/ */
    static const char *const paths[] = { "/ictal/events", "/ictal", "/other/thing", "/" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        roundtrip(build("s", (const char *const[]){ "x" }), paths[i], &r);
        assert_int_equal(r.rc, OSC_DECODE_UNKNOWN);
        assert_non_null(strstr(r.why, paths[i]));
        rt_free(&r);
    }
    /* extra trailing arguments of any type are accepted and ignored */
    const char *vals[40];
    char types[40];
    for (int m = 0; m < OSC_MSG_COUNT; m++) {
        const char *want = osc_proto_types((enum osc_msg)m);
        size_t n = strlen(want);
        memcpy(types, want, n);
        for (size_t i = 0; i < n; i++)
            vals[i] = valid_args((enum osc_msg)m)[i];
        if (m == OSC_MSG_ALARM || m == OSC_MSG_CANCEL)
            vals[3] = "0";
        static const char extra_t[] = "sihfd";
        static const char *const extra_v[] = { "later", "-5", "1", "nan", "inf" };
        for (size_t i = 0; i < 5; i++) {
            types[n + i] = extra_t[i];
            vals[n + i] = extra_v[i];
        }
        types[n + 5] = '\0';
        roundtrip(build(types, vals), osc_proto_address((enum osc_msg)m), &r);
        if (r.rc != OSC_DECODE_OK)
            fail_msg("%s with extra arguments: %s", osc_proto_address((enum osc_msg)m), r.why);
        assert_int_equal(r.d.msg, m);
        rt_free(&r);
    }
    /* no type tag / no arguments at all at a known address */
    roundtrip(lo_message_new(), "/ictal/stop", &r);
    assert_int_equal(r.rc, OSC_DECODE_MALFORMED);
    assert_non_null(strstr(r.why, "argument 0 (source) is missing"));
    rt_free(&r);
    /* NULL address or output */
    char why[64];
    struct osc_decoded d;
    assert_int_equal(osc_proto_decode(NULL, "", NULL, 0, &d, why, sizeof why),
                     OSC_DECODE_MALFORMED);
    assert_int_equal(osc_proto_decode("/ictal/stop", NULL, NULL, 0, &d, why, sizeof why),
                     OSC_DECODE_MALFORMED);
}

/* ---- channel lists ----------------------------------------------------------------- */

static void test_channels_cut_to_fit(void **state)
{
    (void)state;
    enum { N = ICTAL_EVENT_MAX_CHANNELS };
    static char names[N][48];
    const char *labels[N];
    for (int c = 0; c < N; c++) {
        snprintf(names[c], sizeof names[c], "channel-%04d-with-a-rather-long-label-xyz", c);
        labels[c] = names[c];
    }
    struct ictal_event ev = sample_event(ICTAL_EVENT_FINAL, ICTAL_CONFIDENCE_MEAN);
    ev.n_channels = N;
    memset(ev.channels, 0xff, sizeof ev.channels);
    lo_message m = osc_proto_record_message("a-long-source-name-of-some-detector",
                                            "5f3a09c1.12345", &ev, labels, N);
    assert_non_null(m);
    /* inside a bundle, as ictal-detect sends it */
    lo_bundle b = lo_bundle_new(osc_proto_timetag(1.7e9));
    assert_int_equal(lo_bundle_add_message(b, "/ictal/event", m), 0);
    size_t blen = lo_bundle_length(b);
    assert_true(blen <= ICTAL_OSC_MAX_PACKET);
    assert_true(blen > ICTAL_OSC_MAX_PACKET - 64); /* and the room is used */
    struct rt r;
    size_t size = 0;
    void *bytes = lo_message_serialise(m, "/ictal/event", NULL, &size);
    lo_bundle_free_recursive(b);
    r.m = lo_message_deserialise(bytes, size, NULL);
    assert_non_null(r.m);
    r.rc = osc_proto_decode("/ictal/event", lo_message_get_types(r.m), lo_message_get_argv(r.m),
                            lo_message_get_argc(r.m), &r.d, r.why, sizeof r.why);
    free(bytes);
    assert_int_equal(r.rc, OSC_DECODE_OK);
    /* whole labels in order, then "+N" for the rest */
    static char buf[ICTAL_OSC_MAX_PACKET];
    const char *got[N];
    int k = osc_proto_split_labels(r.d.u.record.channels, buf, sizeof buf, got, N);
    assert_true(k > 10 && k < N);
    for (int i = 0; i < k - 1; i++)
        assert_string_equal(got[i], labels[i]);
    assert_true(got[k - 1][0] == '+');
    assert_int_equal(atoi(got[k - 1] + 1), N - (k - 1));
    assert_int_equal(r.d.u.record.ev.n_channels, k);
    rt_free(&r);

    /* a short list is not cut */
    ev.n_channels = 3;
    memset(ev.channels, 0, sizeof ev.channels);
    ev.channels[0] = 5;
    roundtrip(osc_proto_record_message("d", "1.1", &ev, labels8, 8), "/ictal/event", &r);
    assert_int_equal(r.rc, OSC_DECODE_OK);
    assert_string_equal(r.d.u.record.channels, "FP1-F7,T7-P7");
    rt_free(&r);
    /* channels without a label are named ch<c+1>; commas in labels cannot split one */
    const char *odd[] = { "A,B" };
    ev.channels[0] = 3;
    ev.n_channels = 2;
    roundtrip(osc_proto_record_message("d", "1.1", &ev, odd, 1), "/ictal/event", &r);
    assert_int_equal(r.rc, OSC_DECODE_OK);
    assert_string_equal(r.d.u.record.channels, "A;B,ch2");
    rt_free(&r);
}

static void test_join_split_inverse(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x05C1AB);
    static char store[64][24];
    const char *labels[64], *back[64];
    char joined[2048], buf[2048];
    for (int round = 0; round < 500; round++) {
        int n = (int)test_rng_range(&rng, 0, 64);
        for (int i = 0; i < n; i++) {
            int len = (int)test_rng_range(&rng, 1, 20);
            for (int j = 0; j < len; j++)
                store[i][j] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-#_ "[test_rng_range(&rng, 0, 39)];
            store[i][len] = '\0';
            labels[i] = store[i];
        }
        /* the whole list fits: split gives back every label */
        osc_proto_join_labels(labels, n, sizeof joined, joined, sizeof joined);
        int k = osc_proto_split_labels(joined, buf, sizeof buf, back, 64);
        assert_int_equal(k, n);
        for (int i = 0; i < n; i++)
            assert_string_equal(back[i], labels[i]);
        /* cut short: a prefix of whole labels, then "+rest", within the limit */
        size_t max = (size_t)test_rng_range(&rng, 1, 200);
        osc_proto_join_labels(labels, n, max, joined, sizeof joined);
        assert_true(strlen(joined) + 1 <= max);
        k = osc_proto_split_labels(joined, buf, sizeof buf, back, 64);
        if (k > 0 && back[k - 1][0] == '+') {
            assert_int_equal(atoi(back[k - 1] + 1), n - (k - 1));
            for (int i = 0; i < k - 1; i++)
                assert_string_equal(back[i], labels[i]);
        } else if (max >= 8) { /* room for "+NN": only a complete list ends without one */
            assert_int_equal(k, n);
        }
    }
    /* at most `max` labels come back */
    const char *few[2];
    assert_int_equal(osc_proto_split_labels("a,b,c", buf, sizeof buf, few, 2), 2);
    assert_int_equal(osc_proto_split_labels("", buf, sizeof buf, few, 2), 0);
}

/* ---- time ------------------------------------------------------------------------- */

static void test_timetag_roundtrip(void **state)
{
    (void)state;
    static const double times[] = { 0.0, 1.0, 0.5, 1700000000.123456, 1754000000.999999,
                                    2085978495.0, 4294967295.0 - 2208988800.0 - 1.0 };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        lo_timetag t = osc_proto_timetag(times[i]);
        double back = osc_proto_timetag_unix(t);
        assert_true(fabs(back - times[i]) < 1e-6);
    }
    /* the NTP epoch offset, exactly */
    lo_timetag t = osc_proto_timetag(0.0);
    assert_int_equal(t.sec, 2208988800u);
    assert_int_equal(t.frac, 0);
    t = osc_proto_timetag(1.5);
    assert_int_equal(t.sec, 2208988801u);
    assert_int_equal(t.frac, 0x80000000u);
    /* nonsense becomes "immediately" */
    static const double bad[] = { -1.0, NAN, INFINITY, 1e12 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = osc_proto_timetag(bad[i]);
        assert_int_equal(t.sec, 0);
        assert_int_equal(t.frac, 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_records),
        cmocka_unit_test(test_roundtrip_others),
        cmocka_unit_test(test_doc_tables),
        cmocka_unit_test(test_decode_valid_tables),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_decode_unknown_and_extra),
        cmocka_unit_test(test_channels_cut_to_fit),
        cmocka_unit_test(test_join_split_inverse),
        cmocka_unit_test(test_timetag_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
