/*
 * test_model.c — the model file loader against valid and hostile files.
 * Hostile files are made here by mutating a small valid golden model
 * (tests/golden/linear.model.safetensors): every truncation, edited header
 * fields, overlapping/out-of-range offsets, wrong dtypes and shapes, bad
 * JSON, missing/unused tensors, NaN weights, absurd sizes and random byte
 * flips. Each must fail with a clear message (or, for harmless flips,
 * load) — never crash or read out of bounds (run under ASan/UBSan).
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

#include "ictal/engine.h"
#include "ictal/model.h"
#include "test_util.h"

static unsigned char *g_file;
static size_t g_len;

static int setup(void **state)
{
    (void)state;
    g_file = test_read_file(ICTAL_GOLDEN_DIR "/linear.model.safetensors", &g_len);
    return g_file ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(g_file);
    return 0;
}

static uint64_t hdr_len(const unsigned char *f)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | f[i];
    return v;
}

static void put_le64(unsigned char *f, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        f[i] = (unsigned char)(v >> (8 * i));
}

/* A copy of the golden file with the first occurrence of `from` in its JSON
 * header replaced by `to` (header length fixed up). */
static unsigned char *edit(const char *from, const char *to, size_t *len)
{
    size_t hl = (size_t)hdr_len(g_file);
    char *h = malloc(hl + 1);
    memcpy(h, g_file + 8, hl);
    h[hl] = 0;
    char *at = strstr(h, from);
    assert_non_null(at); /* the test itself must match the golden file */
    size_t nl = hl - strlen(from) + strlen(to);
    unsigned char *f = malloc(8 + nl + (g_len - 8 - hl));
    put_le64(f, nl);
    size_t pre = (size_t)(at - h);
    memcpy(f + 8, h, pre);
    memcpy(f + 8 + pre, to, strlen(to));
    memcpy(f + 8 + pre + strlen(to), at + strlen(from), hl - pre - strlen(from));
    memcpy(f + 8 + nl, g_file + 8 + hl, g_len - 8 - hl);
    *len = 8 + nl + (g_len - 8 - hl);
    free(h);
    return f;
}

/* Expect model parsing to fail with code and a message containing needle. */
static void expect_fail(const unsigned char *f, size_t len, int code, const char *needle)
{
    struct ictal_error err;
    ictal_error_clear(&err);
    struct ictal_model *m = ictal_model_parse(f, len, &err);
    if (m || err.code != code || !strstr(err.msg, needle))
        fail_msg("expected code %d with \"%s\", got %s code %d: %s", code, needle, m ? "a model" : "NULL",
                 err.code, err.msg);
}

static void expect_edit_fail(const char *from, const char *to, int code, const char *needle)
{
    size_t len;
    unsigned char *f = edit(from, to, &len);
    expect_fail(f, len, code, needle);
    free(f);
}

static void test_valid(void **state)
{
    (void)state;
    struct ictal_error err;
    struct ictal_model *m = ictal_model_parse(g_file, g_len, &err);
    assert_non_null(m);
    const struct ictal_model_info *in = ictal_model_info(m);
    assert_int_equal(in->format_version, 1);
    assert_int_equal(in->hop, 4);
    assert_true(fabs(in->frame_rate - 64.0) < 1e-12);
    assert_int_equal(in->aggregation, ICTAL_AGG_LOGSUMEXP);
    assert_int_equal(ictal_model_layer_count(m), 3);
    assert_int_equal(ictal_model_layer(m, 1)->type, ICTAL_LAYER_LINEAR);
    assert_null(ictal_model_layer(m, 1)->u.linear.bias == NULL ? (void *)1 : NULL) ;
    assert_null(ictal_model_layer(m, 2)->u.linear.bias);
    assert_int_equal(in->head_in, 5);
    assert_true(in->postproc.threshold_on == 0.8 && in->postproc.n_off == 4);
    assert_string_equal(in->postproc.confidence, "mean");
    assert_int_equal(in->n_params, 8 * 4 + 8 + 6 * 8 + 6 + 5 * 6 + 5 + 1);
    ictal_model_destroy(m);

    char path[512];
    test_path(path, sizeof path, "valid.safetensors");
    assert_int_equal(test_write_file(path, g_file, g_len), 0);
    m = ictal_model_load(path, &err);
    assert_non_null(m);
    ictal_model_destroy(m);
    assert_null(ictal_model_load(test_path(path, sizeof path, "nonexistent"), &err));
    assert_int_equal(err.code, ICTAL_ENOENT);
}

static void test_every_truncation(void **state)
{
    (void)state;
    for (size_t n = 0; n < g_len; n++) {
        struct ictal_error err;
        ictal_error_clear(&err);
        unsigned char *f = malloc(n ? n : 1);
        memcpy(f, g_file, n);
        struct ictal_model *m = ictal_model_parse(f, n, &err);
        if (m)
            fail_msg("truncated to %zu bytes but loaded", n);
        assert_true(err.code < 0 && err.msg[0]);
        free(f);
    }
}

static void test_header_length(void **state)
{
    (void)state;
    unsigned char *f = malloc(g_len);
    memcpy(f, g_file, g_len);
    put_le64(f, g_len); /* > file */
    expect_fail(f, g_len, ICTAL_EFORMAT, "header length");
    put_le64(f, UINT64_MAX);
    expect_fail(f, g_len, ICTAL_EFORMAT, "header length");
    put_le64(f, 0);
    expect_fail(f, g_len, ICTAL_EFORMAT, "header length");
    put_le64(f, hdr_len(g_file) - 5); /* cuts the JSON's closing braces */
    expect_fail(f, g_len, ICTAL_EFORMAT, "JSON");
    free(f);
    /* a NUL byte inside the header */
    f = malloc(g_len);
    memcpy(f, g_file, g_len);
    f[20] = 0;
    expect_fail(f, g_len, ICTAL_EFORMAT, "NUL");
    free(f);
}

static void test_container_fields(void **state)
{
    (void)state;
    expect_edit_fail("\"layers.1.weight\":{\"dtype\":\"F32\"", "\"layers.1.weight\":{\"dtype\":\"F16\"",
                     ICTAL_EUNSUPPORTED, "layers.1.weight");
    expect_edit_fail("\"layers.1.weight\":{\"dtype\":\"F32\"", "\"layers.1.weight\":{\"dtype\":\"Q9\"",
                     ICTAL_EFORMAT, "dtype");
    expect_edit_fail("\"layers.1.weight\":{\"dtype\":\"F32\"", "\"layers.1.weight\":{\"dtype\":32",
                     ICTAL_EFORMAT, "dtype");
    /* shape and byte count disagree */
    expect_edit_fail("\"shape\":[6,8]", "\"shape\":[6,9]", ICTAL_EFORMAT, "layers.1.weight");
    /* absurd sizes */
    expect_edit_fail("\"shape\":[6,8]", "\"shape\":[1048576,1048576]", ICTAL_ERANGE, "too large");
    expect_edit_fail("\"shape\":[6,8]", "\"shape\":[2000000,8]", ICTAL_EFORMAT, "shape[0]");
    expect_edit_fail("\"shape\":[6,8]", "\"shape\":[65536,65536,65536]", ICTAL_ERANGE, "too large");
    expect_edit_fail("\"shape\":[6,8]", "\"shape\":[-6,8]", ICTAL_EFORMAT, "shape[0]");
    expect_edit_fail("\"shape\":[6,8]", "\"shape\":[6.5,8]", ICTAL_EFORMAT, "shape[0]");
    expect_edit_fail("\"shape\":[6,8]", "\"shape\":[1,1,1,1,1,1,1,1,6,8]", ICTAL_EFORMAT, "rank");
    /* offsets */
    expect_edit_fail("[160,352]", "[160,352000]", ICTAL_EFORMAT, "outside");
    expect_edit_fail("[160,352]", "[352,160]", ICTAL_EFORMAT, "outside");
    expect_edit_fail("[160,352]", "[1e300,352]", ICTAL_EFORMAT, "data_offsets");
    expect_edit_fail("[160,352]", "[160]", ICTAL_EFORMAT, "data_offsets");
    expect_edit_fail("[160,352]", "[150,342]", ICTAL_EFORMAT, "overlap");
    expect_edit_fail("\"data_offsets\":[0,128]", "\"data_offsets\":[160,288]", ICTAL_EFORMAT, "overlap");
    /* structure */
    expect_edit_fail("{\"__metadata__\"", "[{\"__metadata__\"", ICTAL_EFORMAT, "JSON");
    expect_edit_fail("\"head.bias\":{", "\"head.bias\":[{", ICTAL_EFORMAT, "JSON");
    expect_edit_fail("\"head.bias\":{\"dtype\"", "\"head.bias\":7,\"x\":{\"dtype\"", ICTAL_EFORMAT, "not an object");
    expect_edit_fail("\"layers.2.weight\":", "\"layers.1.bias\":", ICTAL_EFORMAT, "twice");
    expect_edit_fail("{\"ictal\":\"", "{\"other\":1,\"ictal\":\"", ICTAL_EFORMAT, "__metadata__");
}

static void test_nan_weight(void **state)
{
    (void)state;
    unsigned char *f = malloc(g_len);
    memcpy(f, g_file, g_len);
    size_t data = 8 + (size_t)hdr_len(g_file);
    const float vals[] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++) {
        memcpy(f + data + 160 + 4 * 5, &vals[k], 4); /* layers.1.weight element 5 */
        expect_fail(f, g_len, ICTAL_EFORMAT, "layers.1.weight");
    }
    free(f);
}

static void test_architecture_fields(void **state)
{
    (void)state;
    expect_edit_fail("{\"ictal\":", "{\"ictl\":", ICTAL_EFORMAT, "ictal");
    expect_edit_fail("{\\\"format\\\": \\\"ictal-model\\\"", "{\\\"format\\\": \\\"other\\\"", ICTAL_EFORMAT,
                     "format");
    expect_edit_fail("\\\"format_version\\\": 1", "\\\"format_version\\\": 2", ICTAL_EUNSUPPORTED, "format_version");
    expect_edit_fail("\\\"format_version\\\": 1,", "", ICTAL_EFORMAT, "format_version");
    expect_edit_fail("{\\\"format\\\":", "{{\\\"format\\\":", ICTAL_EFORMAT, "not valid JSON");
    expect_edit_fail("\\\"frame_rate\\\": 64.0", "\\\"frame_rate\\\": 32.0", ICTAL_EFORMAT, "frame_rate");
    expect_edit_fail("\\\"sample_rate\\\": 256", "\\\"sample_rate\\\": -256", ICTAL_ERANGE, "sample_rate");
    expect_edit_fail("\\\"type\\\": \\\"linear\\\"", "\\\"type\\\": \\\"attention\\\"", ICTAL_EUNSUPPORTED,
                     "layers[1].type");
    expect_edit_fail("\\\"in\\\": 8, \\\"out\\\": 6", "\\\"in\\\": 7, \\\"out\\\": 6", ICTAL_EFORMAT,
                     "expected (6, 7)");
    expect_edit_fail("\\\"out\\\": 6, \\\"bias\\\": true", "\\\"out\\\": 7, \\\"bias\\\": true", ICTAL_EFORMAT,
                     "layers.1.weight");
    expect_edit_fail("\\\"out\\\": 6, \\\"bias\\\": true", "\\\"out\\\": 6000000, \\\"bias\\\": true", ICTAL_ERANGE,
                     "layers[1].out");
    expect_edit_fail("\\\"in\\\": 6, \\\"out\\\": 5, \\\"bias\\\": false", "\\\"in\\\": 6, \\\"out\\\": 5, \\\"bias\\\": true",
                     ICTAL_ENOENT, "layers.2.bias");
    expect_edit_fail("\\\"out\\\": 5, \\\"bias\\\": false", "\\\"out\\\": 5, \\\"bias\\\": 0", ICTAL_EFORMAT,
                     "layers[2].bias");
    expect_edit_fail("\\\"stride\\\": 4", "\\\"stride\\\": 0", ICTAL_ERANGE, "layers[0].stride");
    expect_edit_fail("\\\"kernel\\\": 4", "\\\"kernel\\\": 4.5", ICTAL_EFORMAT, "layers[0].kernel");
    expect_edit_fail("\\\"head\\\": {\\\"in\\\": 5}", "\\\"head\\\": {\\\"in\\\": 6}", ICTAL_EFORMAT, "head.in");
    expect_edit_fail("\\\"type\\\": \\\"logsumexp\\\"", "\\\"type\\\": \\\"median\\\"", ICTAL_EUNSUPPORTED,
                     "aggregation.type");
    expect_edit_fail("\\\"type\\\": \\\"logsumexp\\\"", "\\\"type\\\": \\\"attention\\\"", ICTAL_ENOENT, "attn.weight");
    /* every post-processing key is required and range-checked */
    static const char *const keys[] = {"threshold_on", "threshold_off", "n_on", "n_off", "opening", "closing",
                                       "min_duration", "merge_gap", "max_duration", "confidence",
                                       "confidence_percentile"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char from[64], to[64];
        snprintf(from, sizeof from, "\\\"%s\\\":", keys[i]);
        snprintf(to, sizeof to, "\\\"x%s\\\":", keys[i]);
        expect_edit_fail(from, to, ICTAL_EFORMAT, keys[i]);
    }
    expect_edit_fail("\\\"threshold_on\\\": 0.8", "\\\"threshold_on\\\": 1.5", ICTAL_ERANGE, "threshold_on");
    expect_edit_fail("\\\"threshold_on\\\": 0.8", "\\\"threshold_on\\\": 0.3", ICTAL_ERANGE, "threshold_off");
    expect_edit_fail("\\\"n_on\\\": 2", "\\\"n_on\\\": 0", ICTAL_ERANGE, "n_on");
    expect_edit_fail("\\\"confidence\\\": \\\"mean\\\"", "\\\"confidence\\\": \\\"mode\\\"", ICTAL_EFORMAT, "confidence");
    expect_edit_fail("\\\"prefilter\\\": []", "\\\"prefilter\\\": [{\\\"type\\\": \\\"notch\\\", \\\"freq_hz\\\": 500}]",
                     ICTAL_ERANGE, "prefilter[0].freq_hz");
    expect_edit_fail("\\\"policy\\\": \\\"any\\\"", "\\\"policy\\\": \\\"labels\\\"", ICTAL_EFORMAT, "labels");
    /* windowed mode: sizes must be multiples of the hop (4), step <= window */
    expect_edit_fail("\\\"prefilter\\\": []", "\\\"window\\\": {\\\"samples\\\": 510, \\\"step\\\": 128}, \\\"prefilter\\\": []",
                     ICTAL_EFORMAT, "window");
    expect_edit_fail("\\\"prefilter\\\": []", "\\\"window\\\": {\\\"samples\\\": 128, \\\"step\\\": 256}, \\\"prefilter\\\": []",
                     ICTAL_EFORMAT, "window");
    expect_edit_fail("\\\"prefilter\\\": []", "\\\"window\\\": {\\\"samples\\\": 128}, \\\"prefilter\\\": []",
                     ICTAL_EFORMAT, "window.step");
}

static void test_unused_and_missing(void **state)
{
    (void)state;
    /* rename a tensor: it is then both missing and unused */
    expect_edit_fail("\"head.bias\"", "\"head.biass\"", ICTAL_ENOENT, "head.bias");
    /* an extra tensor no layer uses */
    expect_edit_fail("\"head.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[516,520]}",
                     "\"head.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[516,520]},"
                     "\"extra\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
                     ICTAL_EFORMAT, "'extra' is not used");
}

/* Random byte flips (biased to the header, where the structure lives) in
 * three models of increasing complexity: each either loads or fails with a
 * message; ASan/UBSan catch any out-of-bounds access. */
static void test_random_flips(void **state)
{
    (void)state;
    static const char *const names[] = {"linear", "bimamba2", "mixed_1h"};
    for (size_t mi = 0; mi < 3; mi++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.model.safetensors", ICTAL_GOLDEN_DIR, names[mi]);
        size_t len;
        unsigned char *orig = test_read_file(path, &len);
        assert_non_null(orig);
        struct test_rng rng;
        test_rng_seed(&rng, 0x5eed + mi);
        unsigned char *f = malloc(len);
        int loaded = 0;
        for (int it = 0; it < 1500; it++) {
            memcpy(f, orig, len);
            int nflip = (int)test_rng_range(&rng, 1, 4);
            for (int k = 0; k < nflip; k++) {
                size_t lim = test_rng_unit(&rng) < 0.8 ? 8 + (size_t)hdr_len(orig) : len;
                f[test_rng_range(&rng, 0, (int64_t)lim - 1)] = (unsigned char)test_rng_next(&rng);
            }
            struct ictal_error err;
            ictal_error_clear(&err);
            struct ictal_model *m = ictal_model_parse(f, len, &err);
            if (m) {
                /* whatever still loads must also run: weights may now be
                 * huge, outputs NaN, but nothing may crash or overrun */
                loaded++;
                struct ictal_engine_config cfg = {.n_channels = 2, .gemm = ICTAL_ENGINE_GEMM_BUILTIN};
                struct ictal_engine *e = ictal_engine_create(m, &cfg, &err);
                if (e) {
                    static float zero[300];
                    const float *in[2] = {zero, zero};
                    float p[300], sc[600];
                    size_t got;
                    assert_int_equal(ictal_engine_process(e, in, 300, p, sc, 300, &got), 0);
                    ictal_engine_destroy(e);
                }
                ictal_model_destroy(m);
            } else {
                assert_true(err.code < 0);
                assert_true(err.msg[0] != 0);
            }
        }
        print_message("random flips, %s: %d of 1500 still loaded\n", names[mi], loaded);
        free(f);
        free(orig);
    }
}

/* Every committed golden model loads; layer-specific values are checked. */
static void test_golden_models(void **state)
{
    (void)state;
    static const char *const names[] = {"conv_basic", "conv_dilated_grouped", "linear", "layernorm", "rmsnorm",
                                        "acts", "lstm", "mamba2", "mamba2_groups", "bimamba2", "windowed",
                                        "default_1h", "mixed_1h"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        struct ictal_error err;
        snprintf(path, sizeof path, "%s/%s.model.safetensors", ICTAL_GOLDEN_DIR, names[i]);
        struct ictal_model *m = ictal_model_load(path, &err);
        if (!m)
            fail_msg("%s", err.msg);
        ictal_model_destroy(m);
    }
    /* Mamba-2 A_log that would overflow exp() */
    char path[512];
    struct ictal_error err;
    snprintf(path, sizeof path, "%s/mamba2.model.safetensors", ICTAL_GOLDEN_DIR);
    size_t len;
    unsigned char *f = test_read_file(path, &len);
    assert_non_null(f);
    struct ictal_tensorfile *tf = ictal_tensorfile_parse(f, len, NULL, &err);
    assert_non_null(tf);
    const struct ictal_tensor *t = ictal_tensorfile_get(tf, "layers.1.mixer.A_log");
    assert_non_null(t);
    uint64_t hl = hdr_len(f);
    /* find the tensor's first element in the data section by its bytes */
    size_t at = 0;
    for (size_t k = 8 + (size_t)hl; k + 4 <= len; k += 4)
        if (memcmp(f + k, &t->data[0], 4) == 0) {
            at = k;
            break;
        }
    ictal_tensorfile_destroy(tf);
    assert_true(at != 0);
    const float big = 81.0f;
    memcpy(f + at, &big, 4);
    struct ictal_model *m = ictal_model_parse(f, len, &err);
    assert_null(m);
    assert_int_equal(err.code, ICTAL_ERANGE);
    assert_non_null(strstr(err.msg, "A_log"));
    free(f);
}

static void test_tensorfile_api(void **state)
{
    (void)state;
    struct ictal_error err;
    struct ictal_tensorfile *tf = ictal_tensorfile_parse(g_file, g_len, "golden", &err);
    assert_non_null(tf);
    assert_int_equal(ictal_tensorfile_count(tf), 7);
    const struct ictal_tensor *t = ictal_tensorfile_get(tf, "layers.1.weight");
    assert_non_null(t);
    assert_int_equal(t->rank, 2);
    assert_int_equal(t->shape[0], 6);
    assert_int_equal(t->numel, 48);
    assert_int_equal((uintptr_t)t->data % sizeof(float), 0);
    assert_null(ictal_tensorfile_get(tf, "nope"));
    assert_null(ictal_tensorfile_at(tf, 7));
    assert_non_null(ictal_tensorfile_metadata(tf, "ictal"));
    assert_null(ictal_tensorfile_metadata(tf, "other"));
    ictal_tensorfile_destroy(tf);
    assert_null(ictal_tensorfile_parse(NULL, 10, NULL, &err));
    assert_int_equal(err.code, ICTAL_EINVAL);
    ictal_tensorfile_destroy(NULL);
    ictal_model_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_header_length),
        cmocka_unit_test(test_container_fields),
        cmocka_unit_test(test_nan_weight),
        cmocka_unit_test(test_architecture_fields),
        cmocka_unit_test(test_unused_and_missing),
        cmocka_unit_test(test_random_flips),
        cmocka_unit_test(test_tensorfile_api),
        cmocka_unit_test(test_golden_models),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
