/* ictal-synth → EDF+ → ictal's own EDF reader (ictal/edf.h): what the
 * simulator generated is exactly what every ictal program will read back.
 *
 * For both montages and a non-default rate: labels (CHB-MIT's duplicated
 * T8-P8 addressed as "T8-P8#2"), units, rate, length; every sample within
 * half a quantisation step (0.125 µV / 2) of the generator's float output,
 * read in random chunk sizes; and one EDF+ annotation per ground-truth event
 * at the same onset and duration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/edf.h"
#include "ictal/synth.h"
#include "test_util.h"

#define QUANTUM_UV 0.125

struct case_cfg {
    const char *name;
    int montage;
    int rate;
    double duration_s;
    int seizures;
    uint64_t seed;
};

static void roundtrip(const struct case_cfg *cc)
{
    struct ictal_error err;
    struct ictal_synth_config cfg;
    ictal_synth_config_default(&cfg);
    cfg.montage = cc->montage;
    cfg.sample_rate = cc->rate;
    cfg.duration_s = cc->duration_s;
    cfg.n_seizures = cc->seizures;
    cfg.seizure_min_s = 10;
    cfg.seizure_max_s = 20;
    cfg.artifact_rate = 3;
    cfg.seed = cc->seed;

    /* The reference: the generator's own float output, in memory. */
    struct ictal_synth *gen = ictal_synth_create(&cfg, &err);
    assert_non_null(gen);
    const int nch = ictal_synth_channels(gen);
    const int64_t total = ictal_synth_total_samples(gen);
    float *ref = malloc(sizeof(float) * (size_t)nch * (size_t)total);
    assert_non_null(ref);
    assert_int_equal(ictal_synth_generate(gen, ref, (size_t)total, (size_t)total), (size_t)total);

    /* The file, from an identical generator. */
    char path[512];
    char name[64];
    snprintf(name, sizeof name, "%s.edf", cc->name);
    test_path(path, sizeof path, name);
    struct ictal_synth *wr = ictal_synth_create(&cfg, &err);
    assert_non_null(wr);
    struct ictal_synth_output out = {
        .edf_path = path, .subject = "syn01", .recording = cc->name,
        .year = 2021, .month = 3, .day = 4, .hour = 10, .minute = 20, .second = 30,
    };
    assert_int_equal(ictal_synth_write(wr, &out, &err), 0);

    struct ictal_edf *edf = ictal_edf_open(path, &err);
    if (!edf)
        fail_msg("%s", err.msg);
    const struct ictal_edf_info *info = ictal_edf_info(edf);
    assert_int_equal(info->type, ICTAL_EDF_TYPE_EDFPLUS_C);
    assert_int_equal((int)info->n_signals, nch);
    assert_int_equal(info->year, 2021);
    assert_int_equal(info->minute, 20);
    assert_true(fabs(ictal_edf_rate(edf) - cc->rate) < 1e-9);
    assert_int_equal(ictal_edf_length(edf), total);

    /* Labels in the generator's order; select them back by label, so the
     * duplicate needs its "#2". */
    const char *labels[64];
    char dup[64][24];
    for (int c = 0; c < nch; c++) {
        const struct ictal_edf_signal *sig = ictal_edf_signal(edf, (size_t)c);
        assert_string_equal(sig->label, ictal_synth_label(gen, c));
        assert_string_equal(sig->unit, "uV");
        int earlier = 0;
        for (int k = 0; k < c; k++)
            earlier += strcmp(ictal_synth_label(gen, k), ictal_synth_label(gen, c)) == 0;
        snprintf(dup[c], sizeof dup[c], earlier ? "%s#%d" : "%s", ictal_synth_label(gen, c),
                 earlier + 1);
        labels[c] = dup[c];
    }
    /* Reverse order, then read; checks reordering by label as well. */
    const char *rev[64];
    for (int c = 0; c < nch; c++)
        rev[c] = labels[nch - 1 - c];
    if (ictal_edf_select(edf, rev, (size_t)nch, &err) != 0)
        fail_msg("%s", err.msg);

    float *got = malloc(sizeof(float) * (size_t)nch * (size_t)total);
    assert_non_null(got);
    float *bufs[64];
    struct test_rng rng;
    test_rng_seed(&rng, cc->seed * 7919u + 1u);
    int64_t pos = 0;
    while (pos < total) {
        size_t n = (size_t)test_rng_range(&rng, 1, 3000);
        for (int c = 0; c < nch; c++)
            bufs[c] = got + (size_t)(nch - 1 - c) * (size_t)total + pos;
        int64_t r = ictal_edf_read_next(edf, n, bufs, &err);
        assert_true(r > 0);
        pos += r;
    }
    assert_int_equal(ictal_edf_read_next(edf, 16, bufs, &err), 0);

    double worst = 0;
    for (size_t i = 0; i < (size_t)nch * (size_t)total; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (d > worst)
            worst = d;
    }
    assert_true(worst <= QUANTUM_UV / 2 + 1e-4);

    /* Annotations: one per ground-truth event, same onset and duration
     * (EDF+ keeps 100 ns; the generator's times are sample-exact). */
    size_t nev = ictal_synth_event_count(gen);
    const struct ictal_synth_event *ev = ictal_synth_events(gen);
    assert_int_equal(info->n_annotations, nev);
    int seizures = 0;
    for (size_t i = 0; i < nev; i++) {
        const struct ictal_edf_annotation *a = ictal_edf_annotation(edf, i);
        assert_non_null(a);
        assert_true(fabs(a->onset_s - ev[i].onset_s) < 1e-4);
        assert_true(a->has_duration);
        assert_true(fabs(a->duration_s - ev[i].duration_s) < 1e-4);
        assert_non_null(strstr(a->text, ictal_synth_kind_label(ev[i].kind)));
        seizures += ictal_synth_kind_is_seizure(ev[i].kind);
    }
    assert_int_equal(seizures, cc->seizures);

    free(got);
    free(ref);
    ictal_edf_close(edf);
    ictal_synth_destroy(wr);
    ictal_synth_destroy(gen);
}

static void test_chbmit_256(void **state)
{
    (void)state;
    const struct case_cfg cc = { "rt_chbmit", ICTAL_SYNTH_MONTAGE_CHBMIT, 256, 120, 2, 11 };
    roundtrip(&cc);
}

static void test_referential_500(void **state)
{
    (void)state;
    const struct case_cfg cc = { "rt_ref", ICTAL_SYNTH_MONTAGE_REFERENTIAL, 500, 90, 1, 12 };
    roundtrip(&cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chbmit_256),
        cmocka_unit_test(test_referential_500),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
