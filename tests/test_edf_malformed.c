/* EDF reader diagnosis: every malformation in the corpus gets its own code and
 * a message that proves the specific diagnosis and names the file. The corpus
 * is generated here by mutating a valid EDF+ file written by EDFlib (nothing
 * binary is committed). A random-mutation loop checks nothing crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <edflib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/edf.h"
#include "test_util.h"

/* The base file: EDF+, signals "Fp1", "Cz" at 100 Hz + the annotation signal,
 * 4 one-second records. ns = 3, so header = 1024 bytes and the per-signal
 * fields start at these offsets (field width in brackets): */
#define NS 3
#define OFF_LABEL 256                 /* [16] */
#define OFF_TRANS (OFF_LABEL + 16 * NS) /* [80] */
#define OFF_UNIT (OFF_TRANS + 80 * NS)  /* [8] */
#define OFF_PMIN (OFF_UNIT + 8 * NS)
#define OFF_PMAX (OFF_PMIN + 8 * NS)
#define OFF_DMIN (OFF_PMAX + 8 * NS)
#define OFF_DMAX (OFF_DMIN + 8 * NS)
#define OFF_PREF (OFF_DMAX + 8 * NS)    /* [80] */
#define OFF_SPR (OFF_PREF + 80 * NS)    /* [8] */

static unsigned char *base;
static size_t base_len;

static int setup(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "base.edf");
    int h = edfopen_file_writeonly(path, EDFLIB_FILETYPE_EDFPLUS, 2);
    if (h < 0)
        return -1;
    const char *labels[2] = {"Fp1", "Cz"};
    for (int c = 0; c < 2; c++) {
        edf_set_samplefrequency(h, c, 100);
        edf_set_physical_maximum(h, c, 500.0);
        edf_set_physical_minimum(h, c, -500.0);
        edf_set_digital_maximum(h, c, 32767);
        edf_set_digital_minimum(h, c, -32768);
        edf_set_label(h, c, labels[c]);
        edf_set_physical_dimension(h, c, "uV");
    }
    edf_set_startdatetime(h, 2021, 1, 2, 3, 4, 5);
    double buf[100];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 2; c++) {
            for (int i = 0; i < 100; i++)
                buf[i] = (double)((r * 100 + i) % 50) * (c ? -3.0 : 3.0);
            if (edfwrite_physical_samples(h, buf) != 0)
                return -1;
        }
    edfwrite_annotation_utf8(h, 10000, -1, "marker");
    if (edfclose_file(h) != 0)
        return -1;
    base = test_read_file(path, &base_len);
    return base ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(base);
    return 0;
}

/* A copy of the base file. */
static unsigned char *copy_base(void)
{
    unsigned char *b = malloc(base_len);
    assert_non_null(b);
    memcpy(b, base, base_len);
    return b;
}

/* Overwrite the field at off (width w) with s, space-padded. */
static void put(unsigned char *b, size_t off, size_t w, const char *s)
{
    size_t n = strlen(s);
    assert_true(n <= w);
    memcpy(b + off, s, n);
    memset(b + off + n, ' ', w - n);
}

/* Write data (len bytes) as <tmp>/name and expect open to fail with code and a
 * message containing every substring given (and the path). */
static void expect_bytes(const char *name, const void *data, size_t len, int code, ...)
{
    char path[512];
    test_path(path, sizeof path, name);
    assert_int_equal(test_write_file(path, data, len), 0);
    struct ictal_error err;
    struct ictal_edf *e = ictal_edf_open(path, &err);
    if (e) {
        ictal_edf_close(e);
        fail_msg("%s: opened, expected error %d", name, code);
    }
    if (err.code != code)
        fail_msg("%s: code %d, expected %d; message: %s", name, err.code, code, err.msg);
    if (!strstr(err.msg, path))
        fail_msg("%s: message does not name the file: %s", name, err.msg);
    va_list ap;
    va_start(ap, code);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        if (!strstr(err.msg, s))
            fail_msg("%s: message lacks \"%s\": %s", name, s, err.msg);
    va_end(ap);
}

static void expect_field(const char *name, size_t off, size_t w, const char *val, int code,
                         const char *s1, const char *s2)
{
    unsigned char *b = copy_base();
    put(b, off, w, val);
    expect_bytes(name, b, base_len, code, s1, s2, (const char *)NULL);
    free(b);
}

static void test_base_is_valid(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "base.edf");
    struct ictal_error err;
    struct ictal_edf *e = ictal_edf_open(path, &err);
    if (!e)
        fail_msg("%s", err.msg);
    assert_int_equal(ictal_edf_info(e)->n_signals, 2);
    assert_true(base_len > 1024 && (base_len - 1024) % 4 == 0); /* 4 whole records */
    ictal_edf_close(e);
}

static void test_not_edf(void **state)
{
    (void)state;
    static const char text[] = "Hello, this is a text file, not a recording.\n";
    expect_bytes("text.edf", text, sizeof text - 1, ICTAL_EFORMAT, "not an EDF or BDF file",
                 "\"Hello, t\"", (const char *)NULL);
    unsigned char *b = copy_base();
    memcpy(b, "\xff" "BIOSEMX", 8);
    expect_bytes("biosemx.bdf", b, base_len, ICTAL_EFORMAT, "not an EDF or BDF file",
                 "0xff", (const char *)NULL);
    free(b);
}

static void test_empty_file(void **state)
{
    (void)state;
    expect_bytes("empty.edf", "", 0, ICTAL_EFORMAT, "empty file (0 bytes)", (const char *)NULL);
}

static void test_directory_and_missing(void **state)
{
    (void)state;
    struct ictal_error err;
    const char *dir = test_tmpdir();
    assert_null(ictal_edf_open(dir, &err));
    assert_int_equal(err.code, ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "is a directory"));
    assert_non_null(strstr(err.msg, dir));

    char path[512];
    test_path(path, sizeof path, "does-not-exist.edf");
    assert_null(ictal_edf_open(path, &err));
    assert_int_equal(err.code, ICTAL_ENOENT);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file"));

    assert_null(ictal_edf_open(NULL, &err));
    assert_int_equal(err.code, ICTAL_EINVAL);
}

static void test_truncated_headers(void **state)
{
    (void)state;
    expect_bytes("trunc_fixed.edf", base, 100, ICTAL_EFORMAT, "truncated header",
                 "has 100 bytes", (const char *)NULL);
    expect_bytes("trunc_sig.edf", base, 600, ICTAL_EFORMAT, "truncated signal header",
                 "needs 1024", (const char *)NULL);
}

static void test_truncated_data(void **state)
{
    (void)state;
    expect_bytes("trunc_data.edf", base, base_len - 50, ICTAL_EFORMAT, "truncated data",
                 "declares 4 data records", "only 3 complete records", (const char *)NULL);
    unsigned char *b = malloc(base_len + 7);
    assert_non_null(b);
    memcpy(b, base, base_len);
    memset(b + base_len, 0, 7);
    expect_bytes("trailing.edf", b, base_len + 7, ICTAL_EFORMAT, "7 unexpected bytes",
                 (const char *)NULL);
    free(b);
}

static void test_record_counts(void **state)
{
    (void)state;
    expect_field("zero_signals.edf", 252, 4, "0", ICTAL_EFORMAT, "zero signals", NULL);
    expect_field("unfinalised.edf", 236, 8, "-1", ICTAL_EFORMAT, "not finalised", NULL);
    expect_field("neg_records.edf", 236, 8, "-7", ICTAL_EFORMAT, "negative (-7)", NULL);
    expect_field("no_records.edf", 236, 8, "0", ICTAL_EFORMAT, "no data", NULL);
    expect_field("absurd_records.edf", 236, 8, "99999999", ICTAL_EFORMAT,
                 "declares 99999999 data records", "only 4 complete");
    expect_field("nonnum_records.edf", 236, 8, "12x", ICTAL_EFORMAT,
                 "number of data records", "\"12x\", not an integer");
    expect_field("bad_duration.edf", 244, 8, "one", ICTAL_EFORMAT, "data record duration",
                 "not a decimal number");
    expect_field("zero_duration.edf", 244, 8, "0", ICTAL_EFORMAT, "data record duration",
                 "must be positive");
}

static void test_signal_count_vs_header_size(void **state)
{
    (void)state;
    expect_field("ns_mismatch.edf", 252, 4, "2", ICTAL_EFORMAT, "says 1024 bytes",
                 "disagree");
    expect_field("hdr_mismatch.edf", 184, 8, "768", ICTAL_EFORMAT, "says 768 bytes",
                 "disagree");
    expect_field("ns_huge.edf", 252, 4, "9999", ICTAL_EUNSUPPORTED, "9999 signals", NULL);
}

static void test_digital_and_physical_ranges(void **state)
{
    (void)state;
    expect_field("digmin_ge_max.edf", OFF_DMIN + 8, 8, "32767", ICTAL_EFORMAT,
                 "signal 2 (\"Cz\")", "digital minimum 32767 >= digital maximum 32767");
    expect_field("digmax_range.edf", OFF_DMAX, 8, "99999", ICTAL_ERANGE, "signal 1 (\"Fp1\")",
                 "16-bit EDF sample range");
    expect_field("phys_equal.edf", OFF_PMIN, 8, "500", ICTAL_EFORMAT, "signal 1 (\"Fp1\")",
                 "physical minimum equals physical maximum (500)");
    expect_field("phys_nonnum.edf", OFF_PMAX + 8, 8, "5OO", ICTAL_EFORMAT,
                 "signal 2 (\"Cz\") physical maximum", "\"5OO\", not a decimal number");
    expect_field("dig_empty.edf", OFF_DMIN, 8, "", ICTAL_EFORMAT,
                 "signal 1 (\"Fp1\") digital minimum", "is empty");
}

static void test_odd_label_bytes(void **state)
{
    (void)state;
    unsigned char *b = copy_base();
    b[OFF_LABEL + 16 + 1] = 0x07; /* "Cz" -> "C\a" */
    char off[32];
    snprintf(off, sizeof off, "offset %d", OFF_LABEL + 16 + 1);
    expect_bytes("label_bel.edf", b, base_len, ICTAL_EFORMAT, "signal 2 label",
                 "byte 0x07", off, "\"C?\"", (const char *)NULL);
    b[OFF_LABEL + 16 + 1] = 'z';
    b[OFF_UNIT] = 0xB5; /* Latin-1 micro sign in "uV" */
    expect_bytes("unit_latin1.edf", b, base_len, ICTAL_EFORMAT,
                 "signal 1 (\"Fp1\") physical dimension", "byte 0xb5", (const char *)NULL);
    free(b);
}

static void test_samples_per_record(void **state)
{
    (void)state;
    expect_field("spr_zero.edf", OFF_SPR, 8, "0", ICTAL_EFORMAT,
                 "signal 1 (\"Fp1\") samples per data record is 0", "at least 1");
    expect_field("spr_neg.edf", OFF_SPR + 8, 8, "-5", ICTAL_EFORMAT,
                 "signal 2 (\"Cz\") samples per data record is -5", NULL);
    expect_field("spr_frac.edf", OFF_SPR, 8, "1.5", ICTAL_EFORMAT,
                 "samples per data record", "not an integer");
    expect_field("spr_overflow.edf", OFF_SPR, 8, "99999999", ICTAL_ERANGE,
                 "one data record would be", "the limit is 10485760 bytes");
}

static void test_dates_and_discontinuous(void **state)
{
    (void)state;
    expect_field("bad_date.edf", 168, 8, "32.13.21", ICTAL_EFORMAT, "start date",
                 "expected dd.mm.yy");
    expect_field("bad_time.edf", 176, 8, "12:00:00", ICTAL_EFORMAT, "start time",
                 "expected hh.mm.ss");
    expect_field("edfplusd.edf", 192, 44, "EDF+D", ICTAL_EUNSUPPORTED, "discontinuous",
                 "EDF+D");
    expect_field("edfplusx.edf", 192, 44, "EDF+X", ICTAL_EFORMAT, "\"EDF+X\"", NULL);
}

static void test_numeric_leading_space(void **state)
{
    (void)state;
    expect_field("spr_space.edf", OFF_SPR, 8, " 100", ICTAL_EFORMAT,
                 "signal 1 (\"Fp1\") samples per data record", "starts with a space");
}

static void test_edfplus_subfields(void **state)
{
    (void)state;
    expect_field("plus_patient.edf", 8, 80, "chb01", ICTAL_EFORMAT, "EDF+ local patient field",
                 "single subfield");
    expect_field("plus_sex.edf", 8, 80, "chb01 Q X Name", ICTAL_EFORMAT,
                 "EDF+ local patient field", "(sex) must be M, F or X");
    expect_field("plus_recording.edf", 88, 80, "Recorded yesterday", ICTAL_EFORMAT,
                 "EDF+ local recording field", "must start with \"Startdate \"");
    expect_field("plus_date.edf", 88, 80, "Startdate 05-JAN-2021 X X X", ICTAL_EFORMAT,
                 "start date 05-JAN-2021 disagrees", "02.01.21");
    /* Annotation signal (signal 3) rules. */
    expect_field("annot_transducer.edf", OFF_TRANS + 80 * 2, 80, "cup", ICTAL_EFORMAT,
                 "signal 3 (\"EDF Annotations\")", "blank transducer");
}

/* A header that passes our checks but data EDFlib rejects (the time-keeping
 * TAL of record 2 says +7 s instead of +1 s): EDFlib's code, our message. */
static void test_edflib_rejection_is_explained(void **state)
{
    (void)state;
    unsigned char *b = copy_base();
    size_t rec = (base_len - 1024) / 4, at = 1024 + rec + 400;
    assert_memory_equal(b + at, "+1\x14\x14", 4);
    b[at + 1] = '7';
    expect_bytes("bad_tal.edf", b, base_len, ICTAL_EFORMAT, "EDFlib rejected",
                 "time-keeping", (const char *)NULL);
    free(b);
}

/* Random byte mutations of the file never crash, and a failure always comes
 * with a code and a message naming the file. */
static void test_random_mutations_never_crash(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0xBADEDFull);
    char path[512];
    test_path(path, sizeof path, "fuzz.edf");
    static const unsigned char pool[] = {' ', '0', '9', '-', '.', '+', 'e', 'A', 0, 0xFF, 0x7F};
    int opened = 0;
    /* ICTAL_EDF_FUZZ_ITERS runs a longer soak by hand. */
    const char *env = getenv("ICTAL_EDF_FUZZ_ITERS");
    int iters = env ? atoi(env) : 600;
    for (int it = 0; it < iters; it++) {
        unsigned char *b = copy_base();
        size_t len = base_len;
        int nmut = (int)test_rng_range(&rng, 1, 4);
        for (int m = 0; m < nmut; m++) {
            /* Mostly the header; sometimes the data records, where EDFlib
             * parses the annotation TALs. */
            size_t at = (size_t)(test_rng_range(&rng, 0, 3)
                                     ? test_rng_range(&rng, 0, 1023)
                                     : test_rng_range(&rng, 1024, (int64_t)base_len - 1));
            b[at] = test_rng_range(&rng, 0, 1)
                        ? pool[test_rng_range(&rng, 0, (int64_t)sizeof pool - 1)]
                        : (unsigned char)test_rng_range(&rng, 0, 255);
        }
        if (test_rng_range(&rng, 0, 7) == 0)
            len = (size_t)test_rng_range(&rng, 0, (int64_t)base_len);
        assert_int_equal(test_write_file(path, b, len), 0);
        struct ictal_error err;
        struct ictal_edf *e = ictal_edf_open(path, &err);
        if (e) {
            opened++;
            float x[400], y[400];
            float *out[2] = {x, y};
            if (ictal_edf_selected_count(e) <= 2)
                (void)ictal_edf_read(e, 0, 400, out, &err);
            ictal_edf_close(e);
        } else {
            assert_true(err.code < 0);
            if (!strstr(err.msg, path))
                fail_msg("iteration %d: message lacks the path: %s", it, err.msg);
        }
        free(b);
    }
    /* Most single-byte changes in padding keep the file valid. */
    assert_true(opened > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_is_valid),
        cmocka_unit_test(test_not_edf),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_directory_and_missing),
        cmocka_unit_test(test_truncated_headers),
        cmocka_unit_test(test_truncated_data),
        cmocka_unit_test(test_record_counts),
        cmocka_unit_test(test_signal_count_vs_header_size),
        cmocka_unit_test(test_digital_and_physical_ranges),
        cmocka_unit_test(test_odd_label_bytes),
        cmocka_unit_test(test_samples_per_record),
        cmocka_unit_test(test_dates_and_discontinuous),
        cmocka_unit_test(test_numeric_leading_space),
        cmocka_unit_test(test_edfplus_subfields),
        cmocka_unit_test(test_edflib_rejection_is_explained),
        cmocka_unit_test(test_random_mutations_never_crash),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
