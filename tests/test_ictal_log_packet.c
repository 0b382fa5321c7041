/*
 * test_ictal_log_packet — ictal-log's packet walker (clients/ictal-log/
 * log_packet.c) and the whole receive path in-process: bare messages,
 * bundles, nested bundles and their timetags; every structural defect
 * refused with the bundle as a whole; and random and mutated packets pushed
 * through walker → liblo → osc_proto_decode → the writers (log_out.c) without
 * a crash or a sanitizer report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log_out.h"
#include "log_packet.h"
#include "osc_proto.h"
#include "test_util.h"

struct seen {
    int n;
    struct logpkt_msg m[16];
    char path[16][32];
};

static void collect(void *user, const struct logpkt_msg *m)
{
    struct seen *s = user;
    if (s->n < 16) {
        s->m[s->n] = *m;
        snprintf(s->path[s->n], sizeof s->path[0], "%s", (const char *)m->data);
    }
    s->n++;
}

static lo_message status(void)
{
    const struct osc_status st = { { "t", "1.1" }, 1, "running", 2, 1, 1, 1.0, 0, 1, 1,
                                   1, 1, 1, 1, 1, 0, 0, 0, 2, 64, 256, "m" };
    return osc_proto_status_message(&st);
}

static lo_message stop(double t)
{
    const struct osc_stop sp = { { "t", "1.1" }, 8, t, "gate" };
    return osc_proto_stop_message(&sp);
}

static uint8_t *serialise_bundle(lo_bundle b, size_t *n)
{
    uint8_t *p = lo_bundle_serialise(b, NULL, n);
    lo_bundle_free_recursive(b);
    assert_non_null(p);
    return p;
}

static void test_messages_and_bundles(void **state)
{
    (void)state;
    struct seen s = { 0 };
    char why[128];
    int nb = -1;
    /* a bare message */
    size_t n;
    lo_message m = stop(1.0);
    uint8_t *p = lo_message_serialise(m, "/ictal/stop", NULL, &n);
    lo_message_free(m);
    assert_int_equal(logpkt_walk(p, n, collect, &s, &nb, why, sizeof why), 1);
    assert_int_equal(nb, 0);
    assert_int_equal(s.n, 1);
    assert_true(s.m[0].data == p && s.m[0].size == n);
    assert_int_equal(s.m[0].has_timetag, 0);
    assert_int_equal(s.m[0].depth, 0);
    free(p);

    /* a bundle of three, in order, with its timetag */
    lo_timetag tt = osc_proto_timetag(1.7e9 + 0.25);
    lo_bundle b = lo_bundle_new(tt);
    lo_bundle_add_message(b, "/ictal/stop", stop(1.0));
    lo_bundle_add_message(b, "/ictal/status", status());
    lo_bundle_add_message(b, "/a", lo_message_new());
    p = serialise_bundle(b, &n);
    memset(&s, 0, sizeof s);
    assert_int_equal(logpkt_walk(p, n, collect, &s, &nb, why, sizeof why), 3);
    assert_int_equal(nb, 1);
    assert_string_equal(s.path[0], "/ictal/stop");
    assert_string_equal(s.path[1], "/ictal/status");
    assert_string_equal(s.path[2], "/a");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.m[i].has_timetag, 1);
        assert_int_equal(s.m[i].tt.sec, tt.sec);
        assert_int_equal(s.m[i].tt.frac, tt.frac);
        assert_int_equal(s.m[i].depth, 1);
    }
    free(p);

    /* nested: each message gets its innermost bundle's timetag; "immediately" is none */
    lo_bundle outer = lo_bundle_new(osc_proto_timetag(1000.0));
    lo_bundle inner = lo_bundle_new(osc_proto_timetag(2000.0));
    lo_bundle now = lo_bundle_new((lo_timetag){ 0, 1 });
    lo_bundle_add_message(inner, "/in", lo_message_new());
    lo_bundle_add_message(now, "/now", lo_message_new());
    lo_bundle_add_message(outer, "/out", lo_message_new());
    lo_bundle_add_bundle(outer, inner);
    lo_bundle_add_bundle(inner, now);
    p = serialise_bundle(outer, &n);
    memset(&s, 0, sizeof s);
    assert_int_equal(logpkt_walk(p, n, collect, &s, &nb, why, sizeof why), 3);
    assert_int_equal(nb, 3);
    for (int i = 0; i < 3; i++) {
        if (strcmp(s.path[i], "/out") == 0) {
            assert_true(osc_proto_timetag_unix(s.m[i].tt) == 1000.0);
            assert_int_equal(s.m[i].depth, 1);
        } else if (strcmp(s.path[i], "/in") == 0) {
            assert_true(osc_proto_timetag_unix(s.m[i].tt) == 2000.0);
            assert_int_equal(s.m[i].depth, 2);
        } else {
            assert_string_equal(s.path[i], "/now");
            assert_int_equal(s.m[i].has_timetag, 0);
            assert_int_equal(s.m[i].depth, 3);
        }
    }
    free(p);

    /* an empty bundle holds no message and is fine */
    uint8_t empty[16] = "#bundle";
    memset(&s, 0, sizeof s);
    assert_int_equal(logpkt_walk(empty, sizeof empty, collect, &s, &nb, why, sizeof why), 0);
    assert_int_equal(s.n, 0);
}

/* A bundle nested `levels` deep around one empty message "/x". */
static size_t nest(uint8_t *buf, int levels)
{
    size_t total = (size_t)levels * 20 + 8;
    for (int d = 0; d < levels; d++) {
        uint8_t *h = buf + (size_t)d * 20;
        memcpy(h, "#bundle", 8);
        memset(h + 8, 0, 8);
        uint32_t size = (uint32_t)(total - (size_t)d * 20 - 20);
        h[16] = (uint8_t)(size >> 24);
        h[17] = (uint8_t)(size >> 16);
        h[18] = (uint8_t)(size >> 8);
        h[19] = (uint8_t)size;
    }
    memcpy(buf + (size_t)levels * 20, "/x\0\0,\0\0\0", 8);
    return total;
}

static void test_broken_packets(void **state)
{
    (void)state;
    char why[128];
    struct seen s = { 0 };
    assert_int_equal(logpkt_walk(NULL, 0, collect, &s, NULL, why, sizeof why), -1);
    assert_non_null(strstr(why, "empty"));
    assert_int_equal(logpkt_walk((const uint8_t *)"/ab", 3, collect, &s, NULL, why, sizeof why),
                     -1);
    assert_non_null(strstr(why, "multiple of 4"));
    assert_int_equal(logpkt_walk((const uint8_t *)"#bundle\0\0\0\0\0", 12, collect, &s, NULL,
                                 why, sizeof why), -1);
    assert_non_null(strstr(why, "timetag"));
    assert_int_equal(logpkt_walk((const uint8_t *)"#bundlX\0", 8, collect, &s, NULL, why,
                                 sizeof why), -1);

    /* two good messages, then an element running past the end: nothing is visited */
    lo_bundle b = lo_bundle_new(osc_proto_timetag(5.0));
    lo_bundle_add_message(b, "/ictal/stop", stop(1.0));
    lo_bundle_add_message(b, "/ictal/stop", stop(2.0));
    size_t n;
    uint8_t *p = serialise_bundle(b, &n);
    uint8_t *q = malloc(n + 8);
    memcpy(q, p, n);
    memcpy(q + n, "\0\0\0\x40/ab\0", 8);
    assert_int_equal(logpkt_walk(q, n + 8, collect, &s, NULL, why, sizeof why), -1);
    assert_non_null(strstr(why, "beyond"));
    assert_int_equal(s.n, 0);
    memcpy(q + n, "\0\0\0\0/ab\0", 8);
    assert_int_equal(logpkt_walk(q, n + 8, collect, &s, NULL, why, sizeof why), -1);
    assert_non_null(strstr(why, "zero"));
    memcpy(q + n, "\0\0\0\x03/ab\0", 8);
    assert_int_equal(logpkt_walk(q, n + 8, collect, &s, NULL, why, sizeof why), -1);
    assert_non_null(strstr(why, "multiple of 4"));
    memcpy(q + n, "\0\0\0\x04", 4); /* its size, then the packet ends */
    assert_int_equal(logpkt_walk(q, n + 4, collect, &s, NULL, why, sizeof why), -1);
    assert_non_null(strstr(why, "beyond"));
    assert_int_equal(s.n, 0);
    free(q);
    free(p);

    /* nesting: LOGPKT_MAX_DEPTH levels are fine, one more is refused */
    uint8_t buf[20 * (LOGPKT_MAX_DEPTH + 2) + 8];
    size_t len = nest(buf, LOGPKT_MAX_DEPTH);
    int nb = 0;
    assert_int_equal(logpkt_walk(buf, len, collect, &s, &nb, why, sizeof why), 1);
    assert_int_equal(nb, LOGPKT_MAX_DEPTH);
    assert_int_equal(s.m[0].depth, LOGPKT_MAX_DEPTH);
    len = nest(buf, LOGPKT_MAX_DEPTH + 1);
    s.n = 0;
    assert_int_equal(logpkt_walk(buf, len, collect, &s, &nb, why, sizeof why), -1);
    assert_non_null(strstr(why, "nested"));
    assert_int_equal(s.n, 0);
}

/* ---- the receive path under random input ------------------------------------------- */

struct fuzz {
    struct logout *out;
    unsigned ok, rejected, broken;
};

static void fuzz_msg(void *user, const struct logpkt_msg *pm)
{
    struct fuzz *f = user;
    void *data = (void *)(uintptr_t)pm->data;
    const char *path = lo_get_path(data, (ssize_t)pm->size);
    if (!path) {
        f->broken++;
        return;
    }
    lo_message lm = lo_message_deserialise(data, pm->size, NULL);
    if (!lm) {
        f->broken++;
        return;
    }
    struct osc_decoded d;
    char why[256];
    if (osc_proto_decode(path, lo_message_get_types(lm), lo_message_get_argv(lm),
                         lo_message_get_argc(lm), &d, why, sizeof why) == OSC_DECODE_OK) {
        const struct logout_meta meta = { 1.7e9, pm->has_timetag,
                                          osc_proto_timetag_unix(pm->tt) };
        assert_true(logout_message(f->out, &d, &meta, 1.0 + f->ok) >= 0);
        f->ok++;
    } else {
        assert_true(why[0] != '\0');
        f->rejected++;
    }
    lo_message_free(lm);
}

static void test_fuzz_receive_path(void **state)
{
    (void)state;
    char jsonl[512], csv[512], err[256];
    test_path(jsonl, sizeof jsonl, "fuzz.jsonl");
    test_path(csv, sizeof csv, "fuzz-{source}-{stream}.csv_bi");
    remove(jsonl);
    const struct logout_cfg cfg = {
        .jsonl = true, .csv_bi = true, .jsonl_path = jsonl, .csv_pattern = csv,
        .status = true, .prob = true, .dedup_max = 1000,
    };
    struct fuzz f = { 0 };
    f.out = logout_open(&cfg, err, sizeof err);
    assert_non_null(f.out);

    /* seeds: one of each message, records with many channels, bundles */
    const char *labels[40];
    static char names[40][16];
    for (int c = 0; c < 40; c++) {
        snprintf(names[c], sizeof names[c], "C%d-X%d", c, c + 1);
        labels[c] = names[c];
    }
    struct ictal_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ICTAL_EVENT_FINAL;
    ev.id = 3;
    ev.segment = 1;
    ev.n_channels = 40;
    ev.channels[0] = 0xffffffffffu;
    ev.end_frame = ev.emit_frame = 16;
    ev.end_sample = ev.emit_sample = 512;
    ev.end_s = ev.emit_s = 2.0;
    ev.confidence = ev.peak = 0.5f;
    ev.method = ICTAL_CONFIDENCE_PERCENTILE;
    ev.percentile = 90;
    const struct osc_prob pr = { { "s", "1.1" }, 1, 32, 0.125, 0.5f, 0.5f, 3, 1 };
    const struct osc_xrun xr = { { "s", "1.1" }, 1, 10.0f, 32, 0.125, 64 };
    const struct osc_quality ql = { { "s", "1.1" }, 1, "C1", "flat|clipped", "", 9, 0.1, 39 };
    const struct osc_start st = { { "s", "1.1" }, 1, "m", 256, 256, 8, "A,B,C", 1.5 };
    const struct osc_annotation an = { "p", "r.edf", 1.0, 2.0, "seizure" };
    struct { lo_message m; const char *path; } seeds[] = {
        { osc_proto_record_message("s", "1.1", &ev, labels, 40), "/ictal/event" },
        { osc_proto_prob_message(&pr), "/ictal/prob" },
        { status(), "/ictal/status" },
        { osc_proto_xrun_message(&xr), "/ictal/xrun" },
        { osc_proto_quality_message(&ql), "/ictal/quality" },
        { osc_proto_start_message(&st), "/ictal/start" },
        { stop(2.0), "/ictal/stop" },
        { osc_proto_annotation_message(&an), "/ictal/annotation" },
    };
    enum { NS = sizeof seeds / sizeof seeds[0] };
    uint8_t *packets[NS + 1];
    size_t sizes[NS + 1];
    lo_bundle all = lo_bundle_new(osc_proto_timetag(1.7e9));
    for (int i = 0; i < NS; i++) {
        packets[i] = lo_message_serialise(seeds[i].m, seeds[i].path, NULL, &sizes[i]);
        lo_bundle_add_message(all, seeds[i].path, seeds[i].m);
    }
    packets[NS] = serialise_bundle(all, &sizes[NS]);
    for (int i = 0; i <= NS; i++) { /* every seed is valid as it is */
        int k = logpkt_walk(packets[i], sizes[i], fuzz_msg, &f, NULL, NULL, 0);
        assert_int_equal(k, i == NS ? NS : 1);
    }
    assert_int_equal(f.ok, 2 * NS);

    struct test_rng rng;
    test_rng_seed(&rng, 0x1C7A1106);
    uint8_t buf[8192];
    unsigned walked = 0, refused = 0;
    for (int round = 0; round < 40000; round++) {
        size_t n;
        if (round % 10 == 0) { /* random bytes, sometimes with a plausible start */
            n = (size_t)test_rng_range(&rng, 0, 512);
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)test_rng_next(&rng);
            if (n >= 8 && round % 20 == 0)
                memcpy(buf, test_rng_range(&rng, 0, 1) ? "#bundle" : "/ictal/", 8);
        } else { /* a seed with bytes flipped, cut or extended */
            int i = (int)test_rng_range(&rng, 0, NS);
            n = sizes[i];
            memcpy(buf, packets[i], n);
            int flips = (int)test_rng_range(&rng, 0, 3);
            for (int k = 0; k < flips; k++)
                buf[test_rng_range(&rng, 0, (int64_t)n - 1)] = (uint8_t)test_rng_next(&rng);
            /* now and then cut or extend, mostly by whole 4-byte words */
            int64_t cut = round % 3 ? 0 : test_rng_range(&rng, -16, 16) * (round % 4 ? 4 : 1);
            if (cut < 0 && (size_t)-cut < n)
                n -= (size_t)-cut;
            else if (cut > 0 && n + (size_t)cut < sizeof buf)
                n += (size_t)cut;
        }
        /* the walker reads exactly n bytes: give it a private copy ASan can fence */
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        if (logpkt_walk(copy, n, fuzz_msg, &f, NULL, NULL, 0) < 0)
            refused++;
        else
            walked++;
        free(copy);
    }
    print_message("walked %u, refused %u; messages ok %u, rejected %u, broken %u\n", walked,
                  refused, f.ok, f.rejected, f.broken);
    /* the mix exercised every path */
    assert_true(walked > 1000 && refused > 1000);
    assert_true(f.ok > 1000 && f.rejected > 1000 && f.broken > 1000);
    for (int i = 0; i <= NS; i++)
        free(packets[i]);
    assert_int_equal(logout_close(f.out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_and_bundles),
        cmocka_unit_test(test_broken_packets),
        cmocka_unit_test(test_fuzz_receive_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
