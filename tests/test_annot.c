/* Annotation readers (ictal/annot.h): each format on small texts, malformed
 * inputs of each reader (a clear error naming FILE:LINE), implausible values
 * (an error, or cut with a warning), and the real CHB-MIT and Siena files of
 * the shared data (skipped when ICTAL_SHARED_DATA is absent), with seizure
 * counts and onsets/offsets read by hand from those files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/annot.h"
#include "test_util.h"

#define EPS 1e-9

static struct ictal_annot *parse(const char *path, const char *text, bool clip,
                                 struct ictal_error *err)
{
    struct ictal_annot_options o = { .format = ICTAL_ANNOT_AUTO, .clip_implausible = clip };
    return ictal_annot_parse(path, text, strlen(text), &o, err);
}

static struct ictal_annot *parse_ok(const char *path, const char *text)
{
    struct ictal_error err;
    struct ictal_annot *a = parse(path, text, false, &err);
    if (!a)
        fail_msg("%s: %s", path, err.msg);
    return a;
}

/* The text must fail with `code` and a message containing `where` (e.g.
 * "x.csv_bi:7:") and `what`. */
static void parse_fails(const char *path, const char *text, int code, const char *where,
                        const char *what)
{
    struct ictal_error err;
    struct ictal_annot *a = parse(path, text, false, &err);
    if (a) {
        ictal_annot_destroy(a);
        fail_msg("%s: parsed, expected an error at %s (%s)", path, where, what);
    }
    if (err.code != code || !strstr(err.msg, where) || !strstr(err.msg, what))
        fail_msg("%s: got [%d] '%s', expected [%d] '%s' ... '%s'", path, err.code, err.msg, code,
                 where, what);
}

static void ev_is(const struct ictal_annot_recording *r, size_t i, double s, double e)
{
    assert_true(i < r->n_events);
    if (fabs(r->events[i].start_s - s) > EPS || fabs(r->events[i].end_s - e) > EPS)
        fail_msg("%s event %zu: [%g, %g), expected [%g, %g)", r->name, i, r->events[i].start_s,
                 r->events[i].end_s, s, e);
}

/* ---- CSV_BI ------------------------------------------------------------------ */

#define CSV_HEAD "# version = csv_v1.0.0\n# bname = rec7\n# duration = 600.0000 secs\n#\n" \
                 "channel,start_time,stop_time,label,confidence\n"

static void test_csv_bi(void **state)
{
    (void)state;
    /* rows out of order and a bckg row: two seizures, sorted */
    struct ictal_annot *a = parse_ok("d/rec7.ictal.csv_bi",
        CSV_HEAD "TERM,300.5000,320.2500,seiz,0.9\nTERM,0.0000,100.0000,bckg,1.0\n"
                 "TERM,10.0000,20.0000,seiz,1.0000\n");
    assert_int_equal(ictal_annot_get_format(a), ICTAL_ANNOT_CSV_BI);
    assert_int_equal(ictal_annot_count(a), 1);
    const struct ictal_annot_recording *r = ictal_annot_recording(a, 0);
    assert_string_equal(r->name, "rec7");
    assert_true(fabs(r->duration_s - 600) < EPS);
    assert_int_equal(r->n_events, 2);
    ev_is(r, 0, 10, 20);
    ev_is(r, 1, 300.5, 320.25);
    assert_int_equal(r->events[0].line, 8);
    assert_false(r->has_alarms);
    assert_null(r->subject);
    ictal_annot_destroy(a);
    /* CRLF, no bname (the file name gives the recording), no duration, an
     * event at the very end */
    a = parse_ok("x/chb01_03.csv_bi",
                 "channel,start_time,stop_time,label,confidence\r\nTERM,1,2,seiz,1\r\n");
    r = ictal_annot_recording(a, 0);
    assert_string_equal(r->name, "chb01_03");
    assert_true(isnan(r->duration_s));
    ev_is(r, 0, 1, 2);
    ictal_annot_destroy(a);
    /* a header only: no seizures */
    a = parse_ok("e.csv_bi", CSV_HEAD);
    assert_int_equal(ictal_annot_recording(a, 0)->n_events, 0);
    ictal_annot_destroy(a);
    /* seizure ending exactly at the recording end is fine */
    a = parse_ok("e.csv_bi", CSV_HEAD "TERM,590,600,seiz,1\n");
    ev_is(ictal_annot_recording(a, 0), 0, 590, 600);
    ictal_annot_destroy(a);
}

static void test_csv_bi_malformed(void **state)
{
    (void)state;
    parse_fails("m.csv_bi", CSV_HEAD "TERM,1,2,musc,1\n", ICTAL_EFORMAT, "m.csv_bi:6:",
                "label 'musc' is neither seiz nor bckg");
    parse_fails("m.csv_bi", CSV_HEAD "TERM,1,2,seiz,1\nTERM,x,2,seiz,1\n", ICTAL_EFORMAT,
                "m.csv_bi:7:", "not numbers");
    parse_fails("m.csv_bi", CSV_HEAD "TERM,5,5,seiz,1\n", ICTAL_EFORMAT, "m.csv_bi:6:",
                "not after its start");
    parse_fails("m.csv_bi", CSV_HEAD "TERM,1,2,seiz\n", ICTAL_EFORMAT, "m.csv_bi:6:",
                "4 fields where the column line has 5");
    parse_fails("m.csv_bi", "# duration = 10 secs\nTERM,1,2,seiz,1\n", ICTAL_EFORMAT,
                "m.csv_bi:2:", "expected the column line");
    parse_fails("m.csv_bi", "# version = csv_v1.0.0\n", ICTAL_EFORMAT, "m.csv_bi:",
                "no column line");
    parse_fails("m.csv_bi", "# version = csv_v1.0.0\n# duration = abc secs\n", ICTAL_EFORMAT,
                "m.csv_bi:2:", "duration 'abc secs'");
    parse_fails("m.csv_bi", CSV_HEAD "TERM,1,inf,seiz,1\n", ICTAL_EFORMAT, "m.csv_bi:6:",
                "not numbers");
    parse_fails("m.csv_bi", CSV_HEAD "TERM,0x10,20,seiz,1\n", ICTAL_EFORMAT, "m.csv_bi:6:",
                "not numbers");
    /* implausible: after the recording end, before its start */
    parse_fails("m.csv_bi", CSV_HEAD "TERM,590,610,seiz,1\n", ICTAL_ERANGE, "m.csv_bi:6:",
                "ends at 610.0000 s, 10.0000 s after the recording end 600.0000 s: implausible");
    parse_fails("m.csv_bi", CSV_HEAD "TERM,-5,10,seiz,1\n", ICTAL_ERANGE, "m.csv_bi:6:",
                "starts 5.0000 s before the recording");
    parse_fails("m.csv_bi", CSV_HEAD "TERM,600,610,seiz,1\n", ICTAL_ERANGE, "m.csv_bi:6:",
                "not before the recording end");
    /* a NUL byte: not text */
    struct ictal_error err;
    const char nul[] = "channel,start_time,stop_time,label\nTERM,1\0,2,seiz\n";
    assert_null(ictal_annot_parse("n.csv_bi", nul, sizeof nul - 1, NULL, &err));
    assert_int_equal(err.code, ICTAL_EFORMAT);
    assert_non_null(strstr(err.msg, "n.csv_bi:2: NUL byte"));
}

static void test_clip(void **state)
{
    (void)state;
    struct ictal_error err;
    struct ictal_annot *a = parse("c.csv_bi",
        CSV_HEAD "TERM,590,610,seiz,1\nTERM,-5,10,seiz,1\nTERM,700,710,seiz,1\n", true, &err);
    assert_non_null(a);
    const struct ictal_annot_recording *r = ictal_annot_recording(a, 0);
    /* cut to [0,10) and [590,600); the one wholly after the end is dropped */
    assert_int_equal(r->n_events, 2);
    ev_is(r, 0, 0, 10);
    ev_is(r, 1, 590, 600);
    assert_int_equal(ictal_annot_warning_count(a), 3);
    assert_non_null(strstr(ictal_annot_warning(a, 0), "c.csv_bi:6:"));
    assert_non_null(strstr(ictal_annot_warning(a, 0), "cut to the recording"));
    assert_non_null(strstr(ictal_annot_warning(a, 2), "dropped"));
    assert_null(ictal_annot_warning(a, 3));
    ictal_annot_destroy(a);
}

/* ---- events.tsv ---------------------------------------------------------------- */

#define TSV_HEAD "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration\n"

static void test_tsv(void **state)
{
    (void)state;
    struct ictal_annot *a = parse_ok("bids/sub-07/ses-01/eeg/sub-07_ses-01_task-szMonitoring_run-03_events.tsv",
        TSV_HEAD "113.6328\t144.5469\tsz_foc\tn/a\tFP2-F4\t2020-01-01 09:00:00\t600.0000\n"
                 "411.4102\t142.8438\tsz\tn/a\tn/a\t2020-01-01 09:00:00\t600.0000\n");
    assert_int_equal(ictal_annot_get_format(a), ICTAL_ANNOT_TSV);
    const struct ictal_annot_recording *r = ictal_annot_recording(a, 0);
    assert_string_equal(r->name, "sub-07_ses-01_task-szMonitoring_run-03");
    assert_string_equal(r->subject, "sub-07");
    assert_true(fabs(r->duration_s - 600) < EPS);
    ev_is(r, 0, 113.6328, 113.6328 + 144.5469);
    ev_is(r, 1, 411.4102, 411.4102 + 142.8438);
    ictal_annot_destroy(a);
    /* SzCORE's "no seizure" file: one bckg row over the whole recording */
    a = parse_ok("rec_events.tsv", TSV_HEAD "0.0000\t120.0000\tbckg\tn/a\tn/a\t"
                                  "2020-01-01 09:00:00\t120.0000\n");
    r = ictal_annot_recording(a, 0);
    assert_string_equal(r->name, "rec");
    assert_int_equal(r->n_events, 0);
    assert_true(fabs(r->duration_s - 120) < EPS);
    ictal_annot_destroy(a);
    /* minimal columns, no recordingDuration */
    a = parse_ok("m_events.tsv", "onset\tduration\teventType\n5\t10\tsz_gen\n");
    r = ictal_annot_recording(a, 0);
    assert_true(isnan(r->duration_s));
    ev_is(r, 0, 5, 15);
    ictal_annot_destroy(a);
}

static void test_tsv_malformed(void **state)
{
    (void)state;
    parse_fails("t_events.tsv", "onset\tduration\ttrial_type\n1\t2\tsz\n", ICTAL_EFORMAT,
                "t_events.tsv:1:", "onset, duration and eventType");
    parse_fails("t_events.tsv", TSV_HEAD "1\t2\tsz\tn/a\tn/a\tx\t600\n3\t2\tartifact\tn/a\tn/a\tx\t600\n",
                ICTAL_EFORMAT, "t_events.tsv:3:", "eventType 'artifact'");
    parse_fails("t_events.tsv", TSV_HEAD "1\t-2\tsz\tn/a\tn/a\tx\t600\n", ICTAL_EFORMAT,
                "t_events.tsv:2:", "negative duration");
    parse_fails("t_events.tsv", TSV_HEAD "1\t2\tsz\tn/a\tn/a\tx\t600\n5\t2\tsz\tn/a\tn/a\tx\t601\n",
                ICTAL_EFORMAT, "t_events.tsv:3:", "recordingDuration 601 differs");
    parse_fails("t_events.tsv", TSV_HEAD "1\t2\tsz\tn/a\n", ICTAL_EFORMAT, "t_events.tsv:2:",
                "4 tab-separated fields where the header has 7");
    parse_fails("t_events.tsv", TSV_HEAD "n/a\t2\tsz\tn/a\tn/a\tx\t600\n", ICTAL_EFORMAT,
                "t_events.tsv:2:", "not numbers");
    parse_fails("t_events.tsv", TSV_HEAD "1\t0\tsz\tn/a\tn/a\tx\t600\n", ICTAL_EFORMAT,
                "t_events.tsv:2:", "not after its start");
    parse_fails("t_events.tsv", "", ICTAL_EFORMAT, "t_events.tsv", "no header line");
    /* the duration comes from a later row: the event is still checked */
    parse_fails("t_events.tsv", TSV_HEAD "590\t20\tsz\tn/a\tn/a\tx\tn/a\n"
                                "0\t600\tbckg\tn/a\tn/a\tx\t600\n",
                ICTAL_ERANGE, "t_events.tsv:2:", "after the recording end");
}

/* ---- CHB-MIT ---------------------------------------------------------------------- */

static void test_chbmit(void **state)
{
    (void)state;
    struct ictal_annot *a = parse_ok("ds/chb99-summary.txt",
        "Data Sampling Rate: 256 Hz\n*************************\n\n"
        "Channels in EDF Files:\n**********************\nChannel 1: FP1-F7\n\n"
        "File Name: chb99_01.edf\nFile Start Time: 23:30:00\nFile End Time: 24:30:00\n"
        "Number of Seizures in File: 2\n"
        "Seizure 1 Start Time: 100 seconds\nSeizure 1 End Time: 150 seconds\n"
        "Seizure 2 Start Time:  3000 seconds\nSeizure 2 End Time:  3600 seconds\n\n"
        "File Name: chb99_02.edf\nFile Start Time: 00:30:07\nFile End Time: 1:30:00\n"
        "Number of Seizures in File: 0\n\n"
        "File Name: chb99_03.edf\nFile Start Time: 23:50:00\nFile End Time: 0:50:00\n"
        "Number of Seizures in File: 1\n"
        "Seizure Start Time: 7 seconds\nSeizure End Time: 8 seconds\n");
    assert_int_equal(ictal_annot_get_format(a), ICTAL_ANNOT_CHBMIT);
    assert_int_equal(ictal_annot_count(a), 3);
    const struct ictal_annot_recording *r = ictal_annot_find(a, "chb99_01");
    assert_non_null(r);
    assert_string_equal(r->file, "chb99_01.edf");
    assert_string_equal(r->subject, "chb99");
    /* 23:30:00 → 24:30:00: 3600 s */
    assert_true(fabs(r->duration_s - 3600) < EPS);
    assert_int_equal(r->n_events, 2);
    ev_is(r, 0, 100, 150);
    ev_is(r, 1, 3000, 3600);
    assert_int_equal(r->line, 8);
    /* 00:30:07 → 1:30:00: 3593 s */
    r = ictal_annot_find(a, "chb99_02");
    assert_true(fabs(r->duration_s - 3593) < EPS);
    assert_int_equal(r->n_events, 0);
    /* over midnight written as 0:50:00: 3600 s */
    r = ictal_annot_find(a, "chb99_03");
    assert_true(fabs(r->duration_s - 3600) < EPS);
    ev_is(r, 0, 7, 8);
    assert_null(ictal_annot_find(a, "chb99_04"));
    ictal_annot_destroy(a);
}

static void test_chbmit_malformed(void **state)
{
    (void)state;
    const char *f1 = "File Name: c_01.edf\nFile Start Time: 10:00:00\nFile End Time: 11:00:00\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%sNumber of Seizures in File: 2\n"
             "Seizure 1 Start Time: 10 seconds\nSeizure 1 End Time: 20 seconds\n", f1);
    parse_fails("c-summary.txt", buf, ICTAL_EFORMAT, "c-summary.txt:4:",
                "'Number of Seizures in File: 2' but 1 seizure(s) listed");
    snprintf(buf, sizeof buf, "%sNumber of Seizures in File: 1\n"
             "Seizure 1 Start Time: 10 seconds\n\nFile Name: c_02.edf\n", f1);
    parse_fails("c-summary.txt", buf, ICTAL_EFORMAT, "c-summary.txt:5:",
                "seizure start time without an end time");
    snprintf(buf, sizeof buf, "%sSeizure 1 End Time: 20 seconds\n", f1);
    parse_fails("c-summary.txt", buf, ICTAL_EFORMAT, "c-summary.txt:4:",
                "end time without a start time");
    snprintf(buf, sizeof buf, "%sSeizure 1 Start Time: ten seconds\n", f1);
    parse_fails("c-summary.txt", buf, ICTAL_EFORMAT, "c-summary.txt:4:",
                "expected a number of seconds");
    parse_fails("c-summary.txt", "File Name: c_01.edf\nFile Start Time: 10:61:00\n",
                ICTAL_EFORMAT, "c-summary.txt:2:", "not a clock time");
    parse_fails("c-summary.txt", "Seizure 1 Start Time: 10 seconds\nFile Name: x.edf\n",
                ICTAL_EFORMAT, "c-summary.txt:1:", "before any File Name");
    snprintf(buf, sizeof buf, "%sSeizure 1 Start Time: 3500 seconds\n"
             "Seizure 1 End Time: 3700 seconds\n", f1);
    parse_fails("c-summary.txt", buf, ICTAL_ERANGE, "c-summary.txt:4:",
                "100.0000 s after the recording end 3600.0000 s: implausible");
    snprintf(buf, sizeof buf, "%s\n%s", f1, f1);
    parse_fails("c-summary.txt", buf, ICTAL_EFORMAT, "c-summary.txt:5:", "listed twice");
    parse_fails("c-summary.txt", "Data Sampling Rate: 256 Hz\nFile Name: \n", ICTAL_EFORMAT,
                "c-summary.txt:2:", "without a name");
}

/* ---- Siena -------------------------------------------------------------------------- */

static void test_siena(void **state)
{
    (void)state;
    /* over midnight: registration 23.50.00 → 00.40.00 (3000 s); seizure
     * 00.10.00 → 00.11.30 is [1200, 1290) s. A second seizure of the same
     * file in a later block; "Start time:" / "End time:" spellings. */
    struct ictal_annot *a = parse_ok("s/Seizures-list-PN99.txt",
        "PN99\r\n\r\nData Sampling Rate: 512 Hz\r\nChannel 1: Fp1      \r\n\r\n"
        "Seizure n 1\nFile name: PN99-1.edf \nRegistration start time: 23.50.00\n"
        "Registration end time:  00.40.00\nSeizure start time: 00.10.00 \n"
        "Seizure end time:00.11.30\n\n"
        "Seizure n 2\nFile name: PN99-1.edf\nRegistration start time: 23.50.00\n"
        "Registration end time: 00.40.00\nStart time: 23:55:00\nEnd time: 23:56:10\n\n"
        "Seizure n 3\nFile name: PN99-2.edf\nRegistration start time: 08.00.00\n"
        "Registration end time: 09.00.00\nSeizure start time: 08.59.00\n"
        "Seizure end time: 09.00.00\n");
    assert_int_equal(ictal_annot_get_format(a), ICTAL_ANNOT_SIENA);
    assert_int_equal(ictal_annot_count(a), 2);
    const struct ictal_annot_recording *r = ictal_annot_find(a, "PN99-1");
    assert_non_null(r);
    assert_string_equal(r->subject, "PN99");
    assert_string_equal(r->file, "PN99-1.edf");
    assert_true(fabs(r->duration_s - 3000) < EPS);
    assert_int_equal(r->n_events, 2);
    ev_is(r, 0, 300, 370);   /* 23:55:00 - 23.50.00 */
    ev_is(r, 1, 1200, 1290);
    r = ictal_annot_find(a, "PN99-2");
    ev_is(r, 0, 3540, 3600); /* ends exactly at the registration end */
    ictal_annot_destroy(a);
}

static void test_siena_malformed(void **state)
{
    (void)state;
    const char *head = "Seizure n 1\nFile name: PN98-1.edf\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%sRegistration start time:1 6.49.25\n", head);
    parse_fails("Seizures-list-PN98.txt", buf, ICTAL_EFORMAT, "Seizures-list-PN98.txt:3:",
                "'1 6.49.25' is not a clock time HH.MM.SS");
    snprintf(buf, sizeof buf, "%sSeizure start time: 10.00.00\n", head);
    parse_fails("Seizures-list-PN98.txt", buf, ICTAL_EFORMAT, "Seizures-list-PN98.txt:3:",
                "without a registration start time");
    snprintf(buf, sizeof buf, "%sRegistration start time: 10.00.00\nRegistration end time: "
             "11.00.00\nSeizure start time: 10.30.00\n", head);
    parse_fails("Seizures-list-PN98.txt", buf, ICTAL_EFORMAT, "Seizures-list-PN98.txt:5:",
                "seizure start time without an end time");
    snprintf(buf, sizeof buf, "%sRegistration start time: 10.00.00\nRegistration end time: "
             "11.00.00\nSeizure start time: 10.30.00\nSeizure end time: 10.20.00\n", head);
    parse_fails("Seizures-list-PN98.txt", buf, ICTAL_EFORMAT, "Seizures-list-PN98.txt:5:",
                "not after its start");
    /* the PN00 quirk in miniature: an end an hour late */
    snprintf(buf, sizeof buf, "%sRegistration start time: 18.15.44\nRegistration end time: "
             "18.57.13\nSeizure start time: 18.28.29\nSeizure end time: 19.29.29\n", head);
    parse_fails("Seizures-list-PN98.txt", buf, ICTAL_ERANGE, "Seizures-list-PN98.txt:6:",
                "seizure end 19.29.29 lies 1936 s after the registration end 18.57.13 (a "
                "seizure of 3660 s in a recording of 2489 s): implausible");
    parse_fails("Seizures-list-PN98.txt", "Seizure start time: 10.00.00\n", ICTAL_EFORMAT,
                "Seizures-list-PN98.txt:1:", "before any 'File name:'");
    struct ictal_error err;
    struct ictal_annot *a = parse("Seizures-list-PN98.txt", buf, true, &err);
    assert_non_null(a);
    ev_is(ictal_annot_recording(a, 0), 0, 765, 2489);
    assert_int_equal(ictal_annot_warning_count(a), 1);
    assert_non_null(strstr(ictal_annot_warning(a, 0), "cut at the registration end"));
    ictal_annot_destroy(a);
}

/* ---- ictal JSON Lines ------------------------------------------------------------------ */

static void test_jsonl(void **state)
{
    (void)state;
    struct ictal_annot *a = parse_ok("out/whatever.jsonl",
        "{\"file\":\"dir/rec.edf\",\"kind\":\"alarm\",\"id\":1,\"start_s\":14.125,\"end_s\":17.375,\"emit_s\":17.25}\n"
        "{\"file\":\"dir/rec.edf\",\"kind\":\"alarm\",\"id\":2,\"start_s\":100,\"end_s\":103,\"emit_s\":103}\n"
        "{\"file\":\"dir/rec.edf\",\"kind\":\"cancel\",\"id\":2,\"start_s\":100,\"end_s\":104}\n"
        "{\"file\":\"dir/rec.edf\",\"kind\":\"final\",\"id\":1,\"segment\":1,\"start_s\":14.125,\"end_s\":74.125,\"emit_s\":80}\n"
        "\n"
        "{\"file\":\"dir/rec.edf\",\"kind\":\"final\",\"id\":1,\"segment\":2,\"start_s\":74.125,\"end_s\":80.5,\"emit_s\":90}\n"
        "{\"file\":\"dir/rec.edf\",\"kind\":\"mystery\",\"frames\":10}\n"
        "{\"file\":\"dir/rec.edf\",\"kind\":\"alarm\",\"id\":3,\"start_s\":200,\"end_s\":204,\"emit_s\":203.5}\n");
    assert_int_equal(ictal_annot_get_format(a), ICTAL_ANNOT_JSONL);
    assert_int_equal(ictal_annot_count(a), 1);
    const struct ictal_annot_recording *r = ictal_annot_recording(a, 0);
    assert_string_equal(r->name, "rec");
    assert_string_equal(r->file, "dir/rec.edf");
    assert_true(r->has_alarms);
    assert_int_equal(r->n_events, 2);
    ev_is(r, 0, 14.125, 74.125);
    ev_is(r, 1, 74.125, 80.5);
    /* alarm 2 was cancelled; alarm 1's event is its finals' union; alarm 3
     * has no final: its own span, and a warning */
    assert_int_equal(r->n_alarms, 2);
    assert_true(r->alarms[0].id == 1 && fabs(r->alarms[0].emit_s - 17.25) < EPS);
    assert_true(r->alarms[0].has_final && fabs(r->alarms[0].start_s - 14.125) < EPS &&
                fabs(r->alarms[0].end_s - 80.5) < EPS);
    assert_true(r->alarms[1].id == 3 && !r->alarms[1].has_final &&
                fabs(r->alarms[1].end_s - 204) < EPS);
    assert_int_equal(ictal_annot_warning_count(a), 2);
    assert_non_null(strstr(ictal_annot_warning(a, 0), "whatever.jsonl:7: record kind \"mystery\""));
    assert_non_null(strstr(ictal_annot_warning(a, 1), "whatever.jsonl:8: alarm #3"));
    ictal_annot_destroy(a);
    /* no "file": the name comes from the path; an empty file is a valid
     * hypothesis without events */
    a = parse_ok("out/rec2.ictal.jsonl", "{\"kind\":\"final\",\"id\":1,\"start_s\":1,\"end_s\":2}\n");
    assert_string_equal(ictal_annot_recording(a, 0)->name, "rec2");
    ictal_annot_destroy(a);
    a = parse_ok("out/rec3.ictal.jsonl", "");
    assert_int_equal(ictal_annot_count(a), 1);
    r = ictal_annot_recording(a, 0);
    assert_string_equal(r->name, "rec3");
    assert_true(r->has_alarms && r->n_events == 0 && r->n_alarms == 0);
    ictal_annot_destroy(a);
    /* an ictal-detect journal: streams instead of files, start/stop/xrun
     * records (quiet), the stop record gives the stream's length */
    a = parse_ok("journal.jsonl",
        "{\"source\":\"ictal-detect\",\"stream\":\"s1\",\"kind\":\"start\",\"model\":\"m\"}\n"
        "{\"source\":\"ictal-detect\",\"stream\":\"s1\",\"kind\":\"final\",\"id\":1,\"start_s\":5,\"end_s\":9}\n"
        "{\"source\":\"ictal-detect\",\"stream\":\"s1\",\"kind\":\"xrun\",\"count\":1}\n"
        "{\"source\":\"ictal-detect\",\"stream\":\"s1\",\"kind\":\"stop\",\"frames\":80,\"t_s\":10.5}\n");
    r = ictal_annot_recording(a, 0);
    assert_string_equal(r->name, "s1");
    assert_true(fabs(r->duration_s - 10.5) < EPS);
    ev_is(r, 0, 5, 9);
    assert_int_equal(ictal_annot_warning_count(a), 0);
    ictal_annot_destroy(a);
    /* two recordings in one journal */
    a = parse_ok("j.jsonl", "{\"file\":\"a.edf\",\"kind\":\"final\",\"id\":1,\"start_s\":1,\"end_s\":2}\n"
                            "{\"file\":\"b.edf\",\"kind\":\"final\",\"id\":1,\"start_s\":3,\"end_s\":4}\n");
    assert_int_equal(ictal_annot_count(a), 2);
    ev_is(ictal_annot_find(a, "b"), 0, 3, 4);
    ictal_annot_destroy(a);
}

static void test_jsonl_malformed(void **state)
{
    (void)state;
    parse_fails("j.jsonl", "{\"kind\":\"final\",\"start_s\":1,\"end_s\":2}\n{\"kind\":\"final\",",
                ICTAL_EFORMAT, "j.jsonl:2:", "not a JSON object");
    parse_fails("j.jsonl", "[1,2]\n", ICTAL_EFORMAT, "j.jsonl:1:", "not a JSON object");
    parse_fails("j.jsonl", "{\"start_s\":1}\n", ICTAL_EFORMAT, "j.jsonl:1:", "no \"kind\"");
    parse_fails("j.jsonl", "\n\n{\"kind\":\"final\",\"start_s\":1}\n", ICTAL_EFORMAT, "j.jsonl:3:",
                "final record without numeric \"start_s\" and \"end_s\"");
    parse_fails("j.jsonl", "{\"kind\":\"alarm\",\"start_s\":1,\"end_s\":2,\"emit_s\":2}\n",
                ICTAL_EFORMAT, "j.jsonl:1:", "alarm record without numeric \"id\"");
    parse_fails("j.jsonl", "{\"kind\":\"cancel\"}\n", ICTAL_EFORMAT, "j.jsonl:1:",
                "cancel record without a valid \"id\"");
    parse_fails("j.jsonl", "{\"kind\":\"final\",\"file\":7,\"start_s\":1,\"end_s\":2}\n",
                ICTAL_EFORMAT, "j.jsonl:1:", "\"file\" is not a string");
    parse_fails("j.jsonl", "{\"kind\":\"final\",\"start_s\":3,\"end_s\":2}\n", ICTAL_EFORMAT,
                "j.jsonl:1:", "not after its start");
    parse_fails("j.jsonl", "{\"kind\":\"alarm\",\"id\":1,\"start_s\":3,\"end_s\":2,\"emit_s\":3}\n",
                ICTAL_EFORMAT, "j.jsonl:1:", "needs 0 <= start <= end");
}

/* ---- names, formats, files -------------------------------------------------------------- */

static void test_names_and_formats(void **state)
{
    (void)state;
    char b[64];
    static const char *const cases[][2] = {
        { "out/rec.ictal.jsonl", "rec" },
        { "rec.ictal.csv_bi", "rec" },
        { "a/b/sub-01_ses-01_task-szMonitoring_run-00_events.tsv",
          "sub-01_ses-01_task-szMonitoring_run-00" },
        { "sub-01_ses-01_task-szMonitoring_run-00_eeg.edf", "sub-01_ses-01_task-szMonitoring_run-00" },
        { "chb05_06.edf", "chb05_06" },
        { "/x/PN00-1.edf", "PN00-1" },
        { "rec_events.tsv", "rec" },
        { "plain", "plain" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(ictal_annot_recording_name(cases[i][0], b, sizeof b), cases[i][1]);
    assert_string_equal(ictal_annot_recording_name("abcdefgh.edf", b, 4), "abc");
    assert_int_equal(ictal_annot_format_from_name("CSV_BI"), ICTAL_ANNOT_CSV_BI);
    assert_int_equal(ictal_annot_format_from_name("siena"), ICTAL_ANNOT_SIENA);
    assert_int_equal(ictal_annot_format_from_name("xml"), -1);
    assert_string_equal(ictal_annot_format_name(ICTAL_ANNOT_JSONL), "jsonl");
    /* contents say nothing known */
    parse_fails("notes.txt", "hello\n", ICTAL_EUNSUPPORTED, "notes.txt", "cannot tell");
    /* a named format overrides detection: a CSV_BI read as TSV fails there */
    struct ictal_error err;
    struct ictal_annot_options o = { .format = ICTAL_ANNOT_TSV };
    const char *t = CSV_HEAD;
    assert_null(ictal_annot_parse("x.csv_bi", t, strlen(t), &o, &err));
    assert_non_null(strstr(err.msg, "x.csv_bi:1:"));
    /* files: a missing one, and a real one round trip */
    char path[512];
    test_path(path, sizeof path, "no-such.csv_bi");
    assert_null(ictal_annot_read(path, NULL, &err));
    assert_int_equal(err.code, ICTAL_ENOENT);
    assert_non_null(strstr(err.msg, "cannot open"));
    test_path(path, sizeof path, "rt.csv_bi");
    const char *txt = CSV_HEAD "TERM,1,2,seiz,1\n";
    assert_int_equal(test_write_file(path, txt, strlen(txt)), 0);
    struct ictal_annot *a = ictal_annot_read(path, NULL, &err);
    assert_non_null(a);
    ev_is(ictal_annot_recording(a, 0), 0, 1, 2);
    ictal_annot_destroy(a);
    ictal_annot_destroy(NULL);
}

/* ---- the real files -------------------------------------------------------------------- */

static struct ictal_annot *read_shared(const char *rel, bool clip, struct ictal_error *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/annotations/%s", test_shared_data(), rel);
    struct ictal_annot_options o = { .clip_implausible = clip };
    return ictal_annot_read(path, &o, err);
}

static size_t total_seizures(const struct ictal_annot *a)
{
    size_t n = 0;
    for (size_t i = 0; i < ictal_annot_count(a); i++)
        n += ictal_annot_recording(a, i)->n_events;
    return n;
}

static void test_real_chbmit(void **state)
{
    (void)state;
    if (!test_shared_data())
        skip();
    struct ictal_error err;
    struct ictal_annot *a = read_shared("chbmit/chb05-summary.txt", false, &err);
    if (!a)
        fail_msg("%s", err.msg);
    /* chb05_01 .. chb05_39, seizures in 06, 13, 16, 17, 22 */
    assert_int_equal(ictal_annot_count(a), 39);
    assert_int_equal(total_seizures(a), 5);
    const struct ictal_annot_recording *r = ictal_annot_find(a, "chb05_06");
    assert_string_equal(r->subject, "chb05");
    ev_is(r, 0, 417, 532);
    assert_true(fabs(r->duration_s - 3600) < EPS);    /* 22:21:25 → 23:21:25 */
    ev_is(ictal_annot_find(a, "chb05_13"), 0, 1086, 1196);
    ev_is(ictal_annot_find(a, "chb05_22"), 0, 2348, 2465);
    /* chb05_01: 17:20:05 → 18:20:15 = 3610 s; chb05_07 ends "24:21:32";
     * chb05_08 runs 00:21:39 → 1:21:39 */
    assert_true(fabs(ictal_annot_find(a, "chb05_01")->duration_s - 3610) < EPS);
    assert_true(fabs(ictal_annot_find(a, "chb05_07")->duration_s - 3600) < EPS);
    assert_true(fabs(ictal_annot_find(a, "chb05_08")->duration_s - 3600) < EPS);
    ictal_annot_destroy(a);

    a = read_shared("chbmit/chb08-summary.txt", false, &err);
    if (!a)
        fail_msg("%s", err.msg);
    /* 02 03 04 05 10..24 29: 20 files, seizures in 02 05 11 13 21 */
    assert_int_equal(ictal_annot_count(a), 20);
    assert_int_equal(total_seizures(a), 5);
    ev_is(ictal_annot_find(a, "chb08_02"), 0, 2670, 2841);
    ev_is(ictal_annot_find(a, "chb08_21"), 0, 2083, 2347);
    /* 13:51:25 → 14:51:48 */
    assert_true(fabs(ictal_annot_find(a, "chb08_29")->duration_s - 3623) < EPS);
    assert_null(ictal_annot_find(a, "chb08_01"));
    ictal_annot_destroy(a);
}

static void test_real_siena(void **state)
{
    (void)state;
    if (!test_shared_data())
        skip();
    struct ictal_error err;
    /* PN00-3's end 19.29.29 (line 58) is an hour after its recording: an
     * error naming the line, the times and the durations */
    assert_null(read_shared("siena/Seizures-list-PN00.txt", false, &err));
    assert_int_equal(err.code, ICTAL_ERANGE);
    assert_non_null(strstr(err.msg, "Seizures-list-PN00.txt:58: PN00-3.edf: seizure end 19.29.29 "
                                    "lies 1936 s after the registration end 18.57.13"));
    struct ictal_annot *a = read_shared("siena/Seizures-list-PN00.txt", true, &err);
    if (!a)
        fail_msg("%s", err.msg);
    assert_int_equal(ictal_annot_count(a), 5);
    assert_int_equal(total_seizures(a), 5);
    assert_int_equal(ictal_annot_warning_count(a), 1);
    const struct ictal_annot_recording *r = ictal_annot_find(a, "PN00-1");
    assert_string_equal(r->subject, "PN00");
    /* registration 19.39.33 → 20.22.58 (2605 s), seizure 19.58.36-19.59.46 */
    assert_true(fabs(r->duration_s - 2605) < EPS);
    ev_is(r, 0, 1143, 1213);
    /* 02.18.17 → 02.56.19 (2282 s), seizure 02.38.37-02.39.31 */
    r = ictal_annot_find(a, "PN00-2");
    assert_true(fabs(r->duration_s - 2282) < EPS);
    ev_is(r, 0, 1220, 1274);
    /* cut at the registration end */
    ev_is(ictal_annot_find(a, "PN00-3"), 0, 765, 2489);
    /* 22.22.04, seizure 22.37.08-22.38.15 */
    ev_is(ictal_annot_find(a, "PN00-5"), 0, 904, 971);
    ictal_annot_destroy(a);

    a = read_shared("siena/Seizures-list-PN16.txt", false, &err);
    if (!a)
        fail_msg("%s", err.msg);
    assert_int_equal(ictal_annot_count(a), 2);
    assert_int_equal(total_seizures(a), 2);
    /* 20.45.21 → 23.03.11 (8270 s); 22.45.05-22.47.08 */
    r = ictal_annot_find(a, "PN16-1");
    assert_true(fabs(r->duration_s - 8270) < EPS);
    ev_is(r, 0, 7184, 7307);
    /* 00.53.55 → 03.28.52 (9297 s); 03.16.49-03.18.36 ("end time:03.18.36") */
    r = ictal_annot_find(a, "PN16-2");
    assert_true(fabs(r->duration_s - 9297) < EPS);
    ev_is(r, 0, 8574, 8681);
    ictal_annot_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_bi),        cmocka_unit_test(test_csv_bi_malformed),
        cmocka_unit_test(test_clip),          cmocka_unit_test(test_tsv),
        cmocka_unit_test(test_tsv_malformed), cmocka_unit_test(test_chbmit),
        cmocka_unit_test(test_chbmit_malformed), cmocka_unit_test(test_siena),
        cmocka_unit_test(test_siena_malformed), cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_jsonl_malformed), cmocka_unit_test(test_names_and_formats),
        cmocka_unit_test(test_real_chbmit),   cmocka_unit_test(test_real_siena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
