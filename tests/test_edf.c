/* EDF reader: files written by EDFlib's writer (EDF+, BDF+) and by hand (plain
 * EDF/BDF, which EDFlib 1.23 cannot write) read back with the right metadata,
 * values within one quantisation step, bit-identical under any chunking, and
 * channel selection follows the label and rate policies of ictal/edf.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <edflib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/edf.h"
#include "test_util.h"

#define PI 3.14159265358979323846

static const char *const chbmit[23] = {
    "FP1-F7", "F7-T7",  "T7-P7",  "P7-O1",   "FP1-F3",    "F3-C3", "C3-P3",  "P3-O1",
    "FP2-F4", "F4-C4",  "C4-P4",  "P4-O2",   "FP2-F8",    "F8-T8", "T8-P8",  "P8-O2",
    "FZ-CZ",  "CZ-PZ",  "P7-T7",  "T7-FT9",  "FT9-FT10",  "FT10-T8", "T8-P8"};

/* Known deterministic physical signal of channel c at sample t (uV). */
static double wave(int c, long t, double fs)
{
    double f = 1.0 + 0.75 * c;
    return 180.0 * sin(2.0 * PI * f * (double)t / fs + 0.3 * c) + 40.0 * cos(0.07 * t) -
           5.0 * c;
}

/* ---- writers ------------------------------------------------------------ */

/* EDF+ (or BDF+) via EDFlib: nch channels, rates[c] samples/s, nrec 1-s records. */
static void write_edfplus(const char *path, int bdf, int nch, const char *const *labels,
                          const int *rates, int nrec, int with_annots)
{
    int h = edfopen_file_writeonly(path, bdf ? EDFLIB_FILETYPE_BDFPLUS : EDFLIB_FILETYPE_EDFPLUS,
                                   nch);
    assert_true(h >= 0);
    for (int c = 0; c < nch; c++) {
        assert_int_equal(edf_set_samplefrequency(h, c, rates[c]), 0);
        assert_int_equal(edf_set_physical_maximum(h, c, 500.0), 0);
        assert_int_equal(edf_set_physical_minimum(h, c, -500.0), 0);
        assert_int_equal(edf_set_digital_maximum(h, c, bdf ? 8388607 : 32767), 0);
        assert_int_equal(edf_set_digital_minimum(h, c, bdf ? -8388608 : -32768), 0);
        assert_int_equal(edf_set_label(h, c, labels[c]), 0);
        assert_int_equal(edf_set_physical_dimension(h, c, "uV"), 0);
        assert_int_equal(edf_set_transducer(h, c, "AgAgCl cup"), 0);
        assert_int_equal(edf_set_prefilter(h, c, "HP:0.5Hz LP:70Hz"), 0);
    }
    assert_int_equal(edf_set_startdatetime(h, 2020, 3, 4, 5, 6, 7), 0);
    assert_int_equal(edf_set_subsecond_starttime(h, 2500000), 0);
    assert_int_equal(edf_set_patientname(h, "Test Patient"), 0);
    assert_int_equal(edf_set_patientcode(h, "chb01"), 0);
    assert_int_equal(edf_set_equipment(h, "ictal-test"), 0);
    double *buf = malloc(4096 * sizeof *buf);
    assert_non_null(buf);
    for (int r = 0; r < nrec; r++)
        for (int c = 0; c < nch; c++) {
            for (int i = 0; i < rates[c]; i++)
                buf[i] = wave(c, (long)r * rates[c] + i, rates[c]);
            assert_int_equal(edfwrite_physical_samples(h, buf), 0);
        }
    free(buf);
    if (with_annots) {
        assert_int_equal(edfwrite_annotation_utf8(h, 25000, 30000, "seizure onset"), 0);
        assert_int_equal(edfwrite_annotation_utf8(h, 71234, -1, "eyes closed \xc3\xa9"), 0);
    }
    assert_int_equal(edfclose_file(h), 0);
}

static void field(char *dst, const char *s, size_t n)
{
    size_t k = strlen(s);
    assert_true(k <= n);
    memcpy(dst, s, k);
    memset(dst + k, ' ', n - k);
}

/* Plain EDF/BDF by hand. Digital value of channel c, sample t: dig(c, t). */
static long dig(int c, long t, long dmin, long dmax)
{
    long span = dmax - dmin + 1;
    return dmin + (long)(((unsigned long)(t * 7919 + c * 104729) * 2654435761u) % (unsigned long)span);
}

static void write_plain(const char *path, int bdf, int ns, const char *const *labels,
                        const int *spr, int nrec, const char *recdur)
{
    size_t hb = 256 * (size_t)(ns + 1);
    char *h = malloc(hb);
    assert_non_null(h);
    memset(h, ' ', hb);
    if (bdf) {
        h[0] = (char)0xFF;
        memcpy(h + 1, "BIOSEMI", 7);
    } else {
        field(h, "0", 8);
    }
    field(h + 8, "X F 01-JAN-1990 Plain_Patient", 80);
    field(h + 88, "Startdate 02-FEB-2021 plain recording", 80);
    field(h + 168, "02.02.21", 8);
    field(h + 176, "13.14.15", 8);
    char num[32];
    snprintf(num, sizeof num, "%zu", hb);
    field(h + 184, num, 8);
    field(h + 192, bdf ? "24BIT" : "", 44);
    snprintf(num, sizeof num, "%d", nrec);
    field(h + 236, num, 8);
    field(h + 244, recdur, 8);
    snprintf(num, sizeof num, "%d", ns);
    field(h + 252, num, 4);
    char *p = h + 256;
    long dmin = bdf ? -8388608 : -32768, dmax = bdf ? 8388607 : 32767;
    for (int i = 0; i < ns; i++) field(p + 16 * i, labels[i], 16);
    p += 16 * ns;
    for (int i = 0; i < ns; i++) field(p + 80 * i, "electrode", 80);
    p += 80 * ns;
    for (int i = 0; i < ns; i++) field(p + 8 * i, "uV", 8);
    p += 8 * ns;
    for (int i = 0; i < ns; i++) field(p + 8 * i, "-3200", 8);
    p += 8 * ns;
    for (int i = 0; i < ns; i++) field(p + 8 * i, "3200", 8);
    p += 8 * ns;
    snprintf(num, sizeof num, "%ld", dmin);
    for (int i = 0; i < ns; i++) field(p + 8 * i, num, 8);
    p += 8 * ns;
    snprintf(num, sizeof num, "%ld", dmax);
    for (int i = 0; i < ns; i++) field(p + 8 * i, num, 8);
    p += 8 * ns;
    for (int i = 0; i < ns; i++) field(p + 80 * i, "none", 80);
    p += 80 * ns;
    for (int i = 0; i < ns; i++) {
        snprintf(num, sizeof num, "%d", spr[i]);
        field(p + 8 * i, num, 8);
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(h, 1, hb, f), hb);
    for (int r = 0; r < nrec; r++)
        for (int c = 0; c < ns; c++)
            for (int i = 0; i < spr[c]; i++) {
                long v = dig(c, (long)r * spr[c] + i, dmin, dmax);
                unsigned long u = (unsigned long)v;
                unsigned char b[3] = {(unsigned char)(u & 0xFF), (unsigned char)((u >> 8) & 0xFF),
                                      (unsigned char)((u >> 16) & 0xFF)};
                assert_int_equal(fwrite(b, 1, bdf ? 3 : 2, f), (size_t)(bdf ? 3 : 2));
            }
    assert_int_equal(fclose(f), 0);
    free(h);
}

/* ---- helpers ------------------------------------------------------------ */

struct planar {
    size_t nch, n;
    float **ch;
};

static struct planar planar_new(size_t nch, size_t n)
{
    struct planar p = {nch, n, calloc(nch, sizeof(float *))};
    assert_non_null(p.ch);
    for (size_t c = 0; c < nch; c++) {
        p.ch[c] = calloc(n ? n : 1, sizeof(float));
        assert_non_null(p.ch[c]);
    }
    return p;
}

static void planar_free(struct planar *p)
{
    for (size_t c = 0; c < p->nch; c++)
        free(p->ch[c]);
    free(p->ch);
}

static struct ictal_edf *open_ok(const char *path)
{
    struct ictal_error err;
    struct ictal_edf *e = ictal_edf_open(path, &err);
    if (!e)
        fail_msg("open %s: %s", path, err.msg);
    return e;
}

/* ---- tests -------------------------------------------------------------- */

static void test_edfplus_chbmit_metadata_and_values(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "chbmit.edf");
    int rates[23];
    for (int c = 0; c < 23; c++) rates[c] = 256;
    write_edfplus(path, 0, 23, chbmit, rates, 10, 1);

    struct ictal_edf *e = open_ok(path);
    const struct ictal_edf_info *in = ictal_edf_info(e);
    assert_int_equal(in->type, ICTAL_EDF_TYPE_EDFPLUS_C);
    assert_string_equal(in->type_name, "EDF+C");
    assert_int_equal(in->n_signals, 23);
    assert_int_equal(in->year, 2020);
    assert_int_equal(in->month, 3);
    assert_int_equal(in->day, 4);
    assert_int_equal(in->hour, 5);
    assert_int_equal(in->minute, 6);
    assert_int_equal(in->second, 7);
    assert_int_equal(in->start_subsecond_100ns, 2500000);
    assert_int_equal(in->records, 10);
    assert_int_equal(in->record_duration_100ns, ICTAL_EDF_TIME_UNITS_PER_S);
    assert_int_equal(in->duration_100ns, 10 * ICTAL_EDF_TIME_UNITS_PER_S);
    assert_true(in->duration_s == 10.0);
    assert_string_equal(in->patient_code, "chb01");
    assert_string_equal(in->patient_name, "Test Patient");
    assert_string_equal(in->equipment, "ictal-test");
    for (size_t c = 0; c < 23; c++) {
        const struct ictal_edf_signal *s = ictal_edf_signal(e, c);
        assert_non_null(s);
        assert_string_equal(s->label, chbmit[c]);
        assert_string_equal(s->unit, "uV");
        assert_string_equal(s->transducer, "AgAgCl cup");
        assert_string_equal(s->prefilter, "HP:0.5Hz LP:70Hz");
        assert_true(s->rate == 256.0);
        assert_int_equal(s->samples, 2560);
        assert_int_equal(s->file_index, c);
        assert_int_equal(s->dig_min, -32768);
        assert_int_equal(s->dig_max, 32767);
    }
    assert_null(ictal_edf_signal(e, 23));
    /* The annotation signal is the only skipped one. */
    assert_int_equal(ictal_edf_skipped_count(e), 1);
    assert_int_equal(ictal_edf_skipped(e, 0)->file_index, 23);
    assert_non_null(strstr(ictal_edf_skipped(e, 0)->reason, "annotation"));

    /* Annotations round trip (written in 100 us units). */
    assert_int_equal(in->n_annotations, 2);
    const struct ictal_edf_annotation *a0 = ictal_edf_annotation(e, 0);
    const struct ictal_edf_annotation *a1 = ictal_edf_annotation(e, 1);
    assert_string_equal(a0->text, "seizure onset");
    assert_int_equal(a0->onset_100ns, 25000000);
    assert_true(a0->has_duration);
    assert_int_equal(a0->duration_100ns, 30000000);
    assert_true(fabs(a0->duration_s - 3.0) < 1e-12);
    assert_string_equal(a1->text, "eyes closed \xc3\xa9");
    assert_int_equal(a1->onset_100ns, 71234000);
    assert_false(a1->has_duration);
    assert_null(ictal_edf_annotation(e, 2));

    /* Default selection: all 23 in file order, including the duplicate. */
    assert_int_equal(ictal_edf_selected_count(e), 23);
    assert_true(ictal_edf_rate(e) == 256.0);
    assert_int_equal(ictal_edf_length(e), 2560);
    struct planar p = planar_new(23, 2560);
    struct ictal_error err;
    assert_int_equal(ictal_edf_read(e, 0, 2560, p.ch, &err), 2560);
    /* One quantisation step, plus float32 rounding of values up to 500 uV. */
    double q = 1000.0 / 65535.0 + 4e-5;
    for (int c = 0; c < 23; c++)
        for (long t = 0; t < 2560; t++) {
            double d = fabs((double)p.ch[c][t] - wave(c, t, 256.0));
            if (d > q)
                fail_msg("channel %d sample %ld: read %.6f wrote %.6f", c, t, (double)p.ch[c][t],
                         wave(c, t, 256.0));
        }
    planar_free(&p);
    ictal_edf_close(e);
}

static void test_plain_edf_and_bdf_exact(void **state)
{
    (void)state;
    const char *const labels[3] = {"Fp1", "Cz", "O2"};
    const int spr[3] = {50, 50, 50};
    for (int bdf = 0; bdf <= 1; bdf++) {
        char path[512];
        test_path(path, sizeof path, bdf ? "plain.bdf" : "plain.edf");
        write_plain(path, bdf, 3, labels, spr, 4, "0.5");
        struct ictal_edf *e = open_ok(path);
        const struct ictal_edf_info *in = ictal_edf_info(e);
        assert_int_equal(in->type, bdf ? ICTAL_EDF_TYPE_BDF : ICTAL_EDF_TYPE_EDF);
        assert_string_equal(in->type_name, bdf ? "BDF" : "EDF");
        assert_string_equal(in->patient, "X F 01-JAN-1990 Plain_Patient");
        assert_int_equal(in->year, 2021);
        assert_int_equal(in->hour, 13);
        assert_int_equal(in->second, 15);
        assert_int_equal(in->record_duration_100ns, 5000000);
        assert_true(in->duration_s == 2.0);
        assert_int_equal(in->n_annotations, 0);
        assert_int_equal(ictal_edf_skipped_count(e), 0);
        assert_true(ictal_edf_signal(e, 1)->rate == 100.0);
        assert_int_equal(ictal_edf_length(e), 200);
        struct planar p = planar_new(3, 200);
        assert_int_equal(ictal_edf_read(e, 0, 1000, p.ch, NULL), 200); /* short at the end */
        long dmin = bdf ? -8388608 : -32768, dmax = bdf ? 8388607 : 32767;
        double bv = 6400.0 / (double)(dmax - dmin);
        double off = 3200.0 / bv - (double)dmax;
        for (int c = 0; c < 3; c++)
            for (long t = 0; t < 200; t++) {
                /* EDFlib's conversion, then float: must be exactly this. */
                float want = (float)(bv * (off + (double)dig(c, t, dmin, dmax)));
                assert_true(p.ch[c][t] == want);
            }
        planar_free(&p);
        ictal_edf_close(e);
    }
}

static void test_bdfplus_roundtrip(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "plus.bdf");
    const char *const labels[2] = {"EEG Fp1", "EEG Fp2"};
    const int rates[2] = {512, 512};
    write_edfplus(path, 1, 2, labels, rates, 3, 0);
    struct ictal_edf *e = open_ok(path);
    assert_int_equal(ictal_edf_info(e)->type, ICTAL_EDF_TYPE_BDFPLUS_C);
    assert_string_equal(ictal_edf_info(e)->type_name, "BDF+C");
    assert_true(ictal_edf_rate(e) == 512.0);
    struct planar p = planar_new(2, 1536);
    assert_int_equal(ictal_edf_read_next(e, 1536, p.ch, NULL), 1536);
    double q = 1000.0 / 16777215.0 + 4e-5;
    for (int c = 0; c < 2; c++)
        for (long t = 0; t < 1536; t++)
            assert_true(fabs((double)p.ch[c][t] - wave(c, t, 512.0)) <= q);
    /* Siena-style prefix: "Fp2" finds "EEG Fp2". */
    const char *sel[1] = {"fp2"};
    struct ictal_error err;
    assert_int_equal(ictal_edf_select(e, sel, 1, &err), 0);
    assert_string_equal(ictal_edf_selected(e, 0)->label, "EEG Fp2");
    planar_free(&p);
    ictal_edf_close(e);
}

/* Random chunkings and random spans give bit-identical samples. */
static void test_chunk_invariance_property(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "chunks.edf");
    const char *const labels[4] = {"A", "B", "C", "D"};
    const int rates[4] = {200, 200, 200, 200};
    write_edfplus(path, 0, 4, labels, rates, 7, 0);
    struct ictal_edf *e = open_ok(path);
    int64_t len = ictal_edf_length(e);
    assert_int_equal(len, 1400);
    struct planar whole = planar_new(4, (size_t)len), part = planar_new(4, (size_t)len);
    struct ictal_error err;
    assert_int_equal(ictal_edf_read(e, 0, (size_t)len, whole.ch, &err), len);

    struct test_rng rng;
    test_rng_seed(&rng, 0xED5EEDull);
    float *views[4];
    for (int trial = 0; trial < 40; trial++) {
        /* Sequential, chunks of 1..max samples (trial 0: all 1-sample chunks). */
        int64_t maxc = trial == 0 ? 1 : test_rng_range(&rng, 1, 600);
        assert_int_equal(ictal_edf_seek(e, 0, &err), 0);
        int64_t pos = 0;
        while (pos < len) {
            size_t n = (size_t)test_rng_range(&rng, 1, maxc);
            for (int c = 0; c < 4; c++) views[c] = part.ch[c] + pos;
            int64_t r = ictal_edf_read_next(e, n, views, &err);
            assert_true(r > 0);
            assert_int_equal(r, (int64_t)n < len - pos ? (int64_t)n : len - pos);
            pos += r;
            assert_int_equal(ictal_edf_tell(e), pos);
        }
        float *end_views[4] = {part.ch[0], part.ch[1], part.ch[2], part.ch[3]};
        assert_int_equal(ictal_edf_read_next(e, 10, end_views, &err), 0);
        for (int c = 0; c < 4; c++)
            assert_memory_equal(part.ch[c], whole.ch[c], (size_t)len * sizeof(float));

        /* Random spans by random access. */
        int64_t s = test_rng_range(&rng, 0, len);
        size_t n = (size_t)test_rng_range(&rng, 0, len);
        int64_t r = ictal_edf_read(e, s, n, part.ch, &err);
        int64_t want = (int64_t)n < len - s ? (int64_t)n : len - s;
        assert_int_equal(r, want);
        for (int c = 0; c < 4; c++)
            assert_memory_equal(part.ch[c], whole.ch[c] + s, (size_t)want * sizeof(float));
    }
    /* Out-of-range requests. */
    assert_int_equal(ictal_edf_read(e, len + 1, 1, part.ch, &err), ICTAL_ERANGE);
    assert_int_equal(ictal_edf_read(e, -1, 1, part.ch, &err), ICTAL_EINVAL);
    assert_int_equal(ictal_edf_seek(e, len + 1, &err), ICTAL_ERANGE);
    assert_int_equal(ictal_edf_read(e, 0, 1, NULL, &err), ICTAL_EINVAL);
    planar_free(&whole);
    planar_free(&part);
    ictal_edf_close(e);
}

static void test_select_labels_and_duplicates(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "select.edf");
    int rates[23];
    for (int c = 0; c < 23; c++) rates[c] = 256;
    write_edfplus(path, 0, 23, chbmit, rates, 2, 0);
    struct ictal_edf *e = open_ok(path);
    struct ictal_error err;

    const char *sel[5] = {"fp1 - f7", "Cz-Pz", "T8-P8#2", "t8-p8", " FT9-FT10 "};
    assert_int_equal(ictal_edf_select(e, sel, 5, &err), 0);
    assert_int_equal(ictal_edf_selected_count(e), 5);
    const size_t want[5] = {0, 17, 22, 14, 20};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(ictal_edf_selected(e, i)->index, want[i]);
    assert_null(ictal_edf_selected(e, 5));

    /* Reordered reads equal the default reads of the same signals. */
    struct planar a = planar_new(5, 512), all = planar_new(23, 512);
    assert_int_equal(ictal_edf_read(e, 0, 512, a.ch, &err), 512);
    assert_int_equal(ictal_edf_select(e, NULL, 0, &err), 0);
    assert_int_equal(ictal_edf_selected_count(e), 23);
    assert_int_equal(ictal_edf_read(e, 0, 512, all.ch, &err), 512);
    for (size_t i = 0; i < 5; i++)
        assert_memory_equal(a.ch[i], all.ch[want[i]], 512 * sizeof(float));

    /* Unknown label: ENOENT naming it and listing what exists. */
    const char *bad[2] = {"Fp1-F7", "C3-XX"};
    assert_int_equal(ictal_edf_select(e, bad, 2, &err), ICTAL_ENOENT);
    assert_non_null(strstr(err.msg, "\"C3-XX\""));
    assert_non_null(strstr(err.msg, "available"));
    assert_non_null(strstr(err.msg, "\"FT10-T8\""));
    assert_int_equal(ictal_edf_selected_count(e), 23); /* unchanged */
    /* Third occurrence does not exist. */
    const char *third[1] = {"T8-P8#3"};
    assert_int_equal(ictal_edf_select(e, third, 1, &err), ICTAL_ENOENT);
    assert_non_null(strstr(err.msg, "only 2"));
    assert_int_equal(ictal_edf_select(e, NULL, 2, &err), ICTAL_EINVAL);
    /* Same channel twice. */
    const char *twice[2] = {"CZ-PZ", "cz-pz"};
    assert_int_equal(ictal_edf_select(e, twice, 2, &err), ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "already selected"));
    planar_free(&a);
    planar_free(&all);
    ictal_edf_close(e);
}

static void test_ambiguous_and_prefixed_labels(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "ambig.edf");
    const char *const labels[4] = {"Fp1", "FP1", "EEG Cz", "EEG FP2-REF"};
    const int spr[4] = {10, 10, 10, 10};
    write_plain(path, 0, 4, labels, spr, 2, "1");
    struct ictal_edf *e = open_ok(path);
    struct ictal_error err;
    const char *amb[1] = {"fp1"};
    assert_int_equal(ictal_edf_select(e, amb, 1, &err), ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "ambiguous"));
    assert_non_null(strstr(err.msg, "\"fp1\""));
    const char *exact[4] = {"FP1", "Fp1", "cz", "fp2-ref"};
    assert_int_equal(ictal_edf_select(e, exact, 4, &err), 0);
    assert_int_equal(ictal_edf_selected(e, 0)->index, 1);
    assert_int_equal(ictal_edf_selected(e, 1)->index, 0);
    assert_int_equal(ictal_edf_selected(e, 2)->index, 2);
    assert_int_equal(ictal_edf_selected(e, 3)->index, 3);
    const char *k[1] = {"fp1#2"};
    assert_int_equal(ictal_edf_select(e, k, 1, &err), 0);
    assert_int_equal(ictal_edf_selected(e, 0)->index, 1);
    /* Query with the prefix, file without it. */
    const char *qp[1] = {"EEG Fp1"};
    assert_int_equal(ictal_edf_select(e, qp, 1, &err), 0);
    assert_int_equal(ictal_edf_selected(e, 0)->index, 0);
    ictal_edf_close(e);
}

static void test_mixed_rates(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "mixed.edf");
    const char *const labels[5] = {"EEG F3", "EEG F4", "ECG", "EEG C3", "EEG C4"};
    const int rates[5] = {256, 256, 128, 256, 256};
    write_edfplus(path, 0, 5, labels, rates, 6, 1);
    struct ictal_edf *e = open_ok(path);
    assert_true(ictal_edf_stream_rate(e) == 256.0);
    assert_int_equal(ictal_edf_selected_count(e), 4);
    const size_t want[4] = {0, 1, 3, 4};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ictal_edf_selected(e, i)->index, want[i]);
    assert_true(ictal_edf_signal(e, 2)->rate == 128.0);
    assert_int_equal(ictal_edf_signal(e, 2)->samples, 768);
    /* Skipped: ECG (rate) and the annotation signal, in file order. */
    assert_int_equal(ictal_edf_skipped_count(e), 2);
    assert_string_equal(ictal_edf_skipped(e, 0)->label, "ECG");
    assert_non_null(strstr(ictal_edf_skipped(e, 0)->reason, "rate 128 Hz"));
    assert_non_null(strstr(ictal_edf_skipped(e, 0)->reason, "256 Hz"));
    assert_non_null(strstr(ictal_edf_skipped(e, 1)->reason, "annotation"));
    assert_int_equal(ictal_edf_info(e)->n_annotations, 2);

    struct ictal_error err;
    const char *mix[2] = {"F3", "ECG"};
    assert_int_equal(ictal_edf_select(e, mix, 2, &err), ICTAL_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "\"ECG\""));
    assert_non_null(strstr(err.msg, "128 Hz"));
    assert_non_null(strstr(err.msg, "256 Hz"));
    /* A uniform selection of the other rate is fine. */
    const char *ecg[1] = {"ecg"};
    assert_int_equal(ictal_edf_select(e, ecg, 1, &err), 0);
    assert_true(ictal_edf_rate(e) == 128.0);
    assert_int_equal(ictal_edf_length(e), 768);
    float buf[768];
    float *out[1] = {buf};
    assert_int_equal(ictal_edf_read(e, 0, 768, out, &err), 768);
    assert_true(fabs((double)buf[100] - wave(2, 100, 128.0)) <= 1000.0 / 65535.0 + 4e-5);
    ictal_edf_close(e);
}

static void test_rate_tie_goes_to_higher(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "tie.edf");
    const char *const labels[4] = {"lo1", "hi1", "lo2", "hi2"};
    const int spr[4] = {64, 128, 64, 128};
    write_plain(path, 0, 4, labels, spr, 2, "1");
    struct ictal_edf *e = open_ok(path);
    assert_true(ictal_edf_stream_rate(e) == 128.0);
    assert_int_equal(ictal_edf_selected_count(e), 2);
    assert_string_equal(ictal_edf_selected(e, 0)->label, "hi1");
    assert_int_equal(ictal_edf_skipped_count(e), 2);
    ictal_edf_close(e);
}

static void test_already_open_is_state_error(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "twice.edf");
    const char *const labels[1] = {"A"};
    const int spr[1] = {8};
    write_plain(path, 0, 1, labels, spr, 1, "1");
    struct ictal_edf *e = open_ok(path);
    struct ictal_error err;
    assert_null(ictal_edf_open(path, &err));
    assert_int_equal(err.code, ICTAL_ESTATE);
    assert_non_null(strstr(err.msg, path));
    ictal_edf_close(e);
    ictal_edf_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edfplus_chbmit_metadata_and_values),
        cmocka_unit_test(test_plain_edf_and_bdf_exact),
        cmocka_unit_test(test_bdfplus_roundtrip),
        cmocka_unit_test(test_chunk_invariance_property),
        cmocka_unit_test(test_select_labels_and_duplicates),
        cmocka_unit_test(test_ambiguous_and_prefixed_labels),
        cmocka_unit_test(test_mixed_rates),
        cmocka_unit_test(test_rate_tie_goes_to_higher),
        cmocka_unit_test(test_already_open_is_state_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
