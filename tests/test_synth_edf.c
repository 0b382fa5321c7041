/*
 * test_synth_edf.c — ictal_synth_write and ictal/edfwrite.h: the EDF+ file read
 * back through EDFlib (header, labels, units, ranges, start time, patient
 * fields, samples within one digital step, annotations equal to the ground
 * truth), the sidecars (CSV_BI, CSV, events.tsv), byte-identical files for
 * identical configurations, and writer errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <edflib.h>

#include "ictal/edfwrite.h"
#include "ictal/synth.h"
#include "test_util.h"

static void config(struct ictal_synth_config *c, int rate, int montage, uint64_t seed)
{
    ictal_synth_config_default(c);
    c->duration_s = 60;
    c->sample_rate = rate;
    c->montage = montage;
    c->seed = seed;
    c->n_seizures = 2;
    c->artifact_rate = 6;
    c->seizure_min_s = 8;
    c->seizure_max_s = 15;
}

static void paths(const char *stem, char *edf, char *bi, char *csv, char *tsv)
{
    char name[256];
    snprintf(name, sizeof name, "%s.edf", stem);
    test_path(edf, 512, name);
    snprintf(name, sizeof name, "%s.csv_bi", stem);
    test_path(bi, 512, name);
    snprintf(name, sizeof name, "%s.csv", stem);
    test_path(csv, 512, name);
    snprintf(name, sizeof name, "%s_events.tsv", stem);
    test_path(tsv, 512, name);
}

static void write_rec(const struct ictal_synth_config *c, const char *stem)
{
    char edf[512], bi[512], csv[512], tsv[512];
    paths(stem, edf, bi, csv, tsv);
    struct ictal_error err;
    struct ictal_synth *s = ictal_synth_create(c, &err);
    assert_non_null(s);
    struct ictal_synth_output o = {
        .edf_path = edf, .csv_bi_path = bi, .csv_path = csv, .tsv_path = tsv,
        .subject = "syn07", .recording = stem,
        .year = 2021, .month = 3, .day = 4, .hour = 5, .minute = 6, .second = 7,
    };
    if (ictal_synth_write(s, &o, &err) != 0)
        fail_msg("write: %s", err.msg);
    ictal_synth_destroy(s);
}

static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            n++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

static void round_trip(int rate, int montage, uint64_t seed)
{
    struct ictal_synth_config c;
    config(&c, rate, montage, seed);
    write_rec(&c, "rt");
    char edf[512], bi[512], csv[512], tsv[512];
    paths("rt", edf, bi, csv, tsv);

    /* reference: the same configuration generated in memory */
    struct ictal_synth *s = ictal_synth_create(&c, NULL);
    assert_non_null(s);
    int nch = ictal_synth_channels(s);
    int64_t n = ictal_synth_total_samples(s);
    float *x = malloc(sizeof(float) * (size_t)n * (size_t)nch);
    assert_non_null(x);
    assert_int_equal(ictal_synth_generate(s, x, (size_t)n, (size_t)n), n);

    struct edf_hdr_struct *h = calloc(1, sizeof *h);
    assert_non_null(h);
    int rc = edfopen_file_readonly(edf, h, EDFLIB_READ_ALL_ANNOTATIONS);
    if (rc != 0)
        fail_msg("EDFlib cannot read %s: filetype %d", edf, h->filetype);
    assert_int_equal(h->filetype, EDFLIB_FILETYPE_EDFPLUS);
    assert_int_equal(h->edfsignals, nch);
    assert_int_equal(h->datarecords_in_file, 60);
    assert_int_equal(h->file_duration, 60LL * EDFLIB_TIME_DIMENSION);
    assert_int_equal(h->startdate_year, 2021);
    assert_int_equal(h->startdate_month, 3);
    assert_int_equal(h->startdate_day, 4);
    assert_int_equal(h->starttime_hour, 5);
    assert_int_equal(h->starttime_minute, 6);
    assert_int_equal(h->starttime_second, 7);
    assert_string_equal(h->patientcode, "syn07");
    assert_true(strstr(h->equipment, "ictal-synth") != NULL);
    for (int ch = 0; ch < nch; ch++) {
        char lab[17];
        snprintf(lab, sizeof lab, "%s", h->signalparam[ch].label);
        for (int k = (int)strlen(lab) - 1; k >= 0 && lab[k] == ' '; k--)
            lab[k] = '\0';
        assert_string_equal(lab, ictal_synth_label(s, ch));
        assert_int_equal(h->signalparam[ch].smp_in_datarecord, rate);
        assert_int_equal(h->signalparam[ch].smp_in_file, n);
        assert_int_equal(h->signalparam[ch].dig_min, -32768);
        assert_int_equal(h->signalparam[ch].dig_max, 32767);
        assert_true(h->signalparam[ch].phys_max == ICTAL_SYNTH_CLIP_UV);
        assert_true(h->signalparam[ch].phys_min == -4096.0);
        assert_true(strncmp(h->signalparam[ch].physdimension, "uV", 2) == 0);
        /* samples within half a digital step (0.0625 uV) of the generated ones */
        double *buf = malloc(sizeof(double) * (size_t)n);
        assert_non_null(buf);
        assert_int_equal(edfread_physical_samples(h->handle, ch, (int)n, buf), n);
        double worst = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double d = fabs(buf[i] - x[(size_t)ch * (size_t)n + (size_t)i]);
            worst = d > worst ? d : worst;
        }
        assert_true(worst <= 0.0625 + 1e-9);
        free(buf);
    }
    /* annotations are the ground truth, one per event, 100 us resolution */
    const struct ictal_synth_event *ev = ictal_synth_events(s);
    size_t ne = ictal_synth_event_count(s);
    assert_true(ne >= 3);
    assert_int_equal(h->annotations_in_file, (long long)ne);
    for (size_t i = 0; i < ne; i++) {
        struct edf_annotation_struct a;
        assert_int_equal(edf_get_annotation(h->handle, (int)i, &a), 0);
        double on = (double)a.onset / EDFLIB_TIME_DIMENSION;
        double du = (double)a.duration_l / EDFLIB_TIME_DIMENSION;
        assert_true(fabs(on - ev[i].onset_s) < 1.5e-4);
        assert_true(fabs(du - ev[i].duration_s) < 1.5e-4);
        assert_true(strncmp(a.annotation, ictal_synth_kind_label(ev[i].kind),
                            strlen(ictal_synth_kind_label(ev[i].kind))) == 0);
    }
    edfclose_file(h->handle);
    free(h);

    /* sidecars */
    size_t len;
    char *t = test_read_file(bi, &len);
    assert_non_null(t);
    assert_true(strncmp(t, "# version = csv_v1.0.0\n# bname = rt\n# duration = 60.0000 secs\n", 60) == 0);
    assert_int_equal(count_lines(t, "channel,start_time,stop_time,label,confidence"), 1);
    assert_int_equal(count_lines(t, "TERM,"), 2);
    /* each TERM row matches a seizure */
    int k = 0;
    for (size_t i = 0; i < ne; i++) {
        if (!ictal_synth_kind_is_seizure(ev[i].kind))
            continue;
        char row[128];
        snprintf(row, sizeof row, "TERM,%.4f,%.4f,seiz,1.0000\n", ev[i].onset_s,
                 ev[i].onset_s + ev[i].duration_s);
        assert_non_null(strstr(t, row));
        k++;
    }
    assert_int_equal(k, 2);
    free(t);
    t = test_read_file(csv, &len);
    assert_non_null(t);
    int rows = 0;
    for (size_t i = 0; i < ne; i++)
        if (ev[i].kind < ICTAL_SYNTH_STATE_DROWSY)
            rows += __builtin_popcount(ev[i].channels);
    assert_int_equal(count_lines(t, "#"), 4);
    /* every line after the header is a row; rows = sum of involved channels */
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += t[i] == '\n';
    assert_int_equal(lines, 5 + rows);
    free(t);
    t = test_read_file(tsv, &len);
    assert_non_null(t);
    assert_int_equal(count_lines(t, "onset\tduration\teventType\tconfidence\tchannels\tdateTime\t"
                                    "recordingDuration\n"), 1);
    assert_int_equal(count_lines(t, "2021"), 0);
    assert_non_null(strstr(t, "\t2021-03-04 05:06:07\t60.0000\n"));
    int sz_rows = 0;
    const char *p = t;
    while ((p = strstr(p, "\tsz_")) != NULL) {
        sz_rows++;
        p++;
    }
    assert_int_equal(sz_rows, 2);
    free(t);
    free(x);
    ictal_synth_destroy(s);
}

static void test_round_trip_chbmit_256(void **state)
{
    (void)state;
    round_trip(256, ICTAL_SYNTH_MONTAGE_CHBMIT, 7);
}

static void test_round_trip_referential_other_rates(void **state)
{
    (void)state;
    round_trip(500, ICTAL_SYNTH_MONTAGE_REFERENTIAL, 8);
    round_trip(128, ICTAL_SYNTH_MONTAGE_CHBMIT, 9);
}

static void test_byte_identical(void **state)
{
    (void)state;
    struct ictal_synth_config c;
    config(&c, 256, ICTAL_SYNTH_MONTAGE_CHBMIT, 42);
    write_rec(&c, "a");
    write_rec(&c, "b");
    char ea[512], eb[512], x1[512], x2[512], x3[512];
    paths("a", ea, x1, x2, x3);
    paths("b", eb, x1, x2, x3);
    size_t la, lb;
    char *a = test_read_file(ea, &la), *b = test_read_file(eb, &lb);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    /* a different seed changes the data */
    c.seed = 43;
    write_rec(&c, "b");
    b = test_read_file(eb, &lb);
    a = test_read_file(ea, &la);
    assert_int_equal(la, lb);
    assert_true(memcmp(a, b, la) != 0);
    free(a);
    free(b);
}

static void test_no_seizure_tsv_has_bckg(void **state)
{
    (void)state;
    struct ictal_synth_config c;
    config(&c, 256, ICTAL_SYNTH_MONTAGE_CHBMIT, 5);
    c.n_seizures = 0;
    write_rec(&c, "bg");
    char edf[512], bi[512], csv[512], tsv[512];
    paths("bg", edf, bi, csv, tsv);
    size_t len;
    char *t = test_read_file(tsv, &len);
    assert_non_null(t);
    assert_non_null(strstr(t, "\n0.0000\t60.0000\tbckg\tn/a\tn/a\t2021-03-04 05:06:07\t60.0000\n"));
    free(t);
    t = test_read_file(bi, &len);
    assert_int_equal(count_lines(t, "TERM"), 0);
    free(t);
}

static void test_write_errors(void **state)
{
    (void)state;
    struct ictal_error err;
    struct ictal_synth_config c;
    config(&c, 256, ICTAL_SYNTH_MONTAGE_CHBMIT, 1);
    c.duration_s = 10.5; /* not whole seconds */
    c.n_seizures = 0;
    struct ictal_synth *s = ictal_synth_create(&c, &err);
    assert_non_null(s);
    char edf[512];
    test_path(edf, sizeof edf, "half.edf");
    struct ictal_synth_output o = {.edf_path = edf, .year = 2020, .month = 1, .day = 1};
    assert_int_equal(ictal_synth_write(s, &o, &err), ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "whole seconds"));
    ictal_synth_destroy(s);
    /* unwritable path */
    c.duration_s = 5;
    s = ictal_synth_create(&c, &err);
    o.edf_path = "/nonexistent-dir/x.edf";
    assert_int_equal(ictal_synth_write(s, &o, &err), ICTAL_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.edf"));
    ictal_synth_destroy(s);
    /* the writer validates its header */
    const char *labels[] = {"A", "B"};
    struct ictal_edfwrite_config wc = {
        .path = edf, .n_signals = 2, .sample_rate = 256, .labels = labels,
        .phys_min = -100, .phys_max = 100, .dig_min = -32768, .dig_max = 32767,
        .year = 1970, .month = 1, .day = 1, .max_annotations = 1, .expected_records = 1,
    };
    assert_null(ictal_edfwrite_create(&wc, &err));
    assert_int_equal(err.code, ICTAL_ERANGE);
    assert_non_null(strstr(err.msg, "1970"));
    wc.year = 2000;
    wc.phys_min = 100;
    assert_null(ictal_edfwrite_create(&wc, &err));
    assert_int_equal(err.code, ICTAL_ERANGE);
    wc.phys_min = -100;
    const char *longlab[] = {"A", "THIS-LABEL-IS-TOO-LONG"};
    wc.labels = longlab;
    assert_null(ictal_edfwrite_create(&wc, &err));
    assert_non_null(strstr(err.msg, "signal 1"));
    wc.labels = labels;
    /* a valid file: annotation budget enforced, values clamped to the rail */
    struct ictal_edfwrite *w = ictal_edfwrite_create(&wc, &err);
    assert_non_null(w);
    float rec[2 * 256];
    for (int i = 0; i < 512; i++)
        rec[i] = i < 256 ? 1e6f : -1e6f;
    rec[0] = 50.0f;
    assert_int_equal(ictal_edfwrite_annotation(w, 0.5, 0.25, "one", &err), 0);
    assert_int_equal(ictal_edfwrite_annotation(w, 0.6, -1, "two", &err), ICTAL_ERANGE);
    assert_int_equal(ictal_edfwrite_record(w, rec, 256, &err), 0);
    assert_int_equal(ictal_edfwrite_close(w, &err), 0);
    struct edf_hdr_struct *h = calloc(1, sizeof *h);
    assert_int_equal(edfopen_file_readonly(edf, h, EDFLIB_READ_ALL_ANNOTATIONS), 0);
    int dig[256];
    assert_int_equal(edfread_digital_samples(h->handle, 0, 256, dig), 256);
    assert_int_equal(dig[1], 32767);
    assert_int_equal(dig[0], (int)lround(-32768 + (50.0 + 100.0) * 65535.0 / 200.0));
    assert_int_equal(edfread_digital_samples(h->handle, 1, 256, dig), 256);
    assert_int_equal(dig[5], -32768);
    assert_int_equal(h->annotations_in_file, 1);
    edfclose_file(h->handle);
    free(h);
    assert_int_equal(ictal_edfwrite_close(NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_chbmit_256),
        cmocka_unit_test(test_round_trip_referential_other_rates),
        cmocka_unit_test(test_byte_identical),
        cmocka_unit_test(test_no_seizure_tsv_has_bckg),
        cmocka_unit_test(test_write_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
