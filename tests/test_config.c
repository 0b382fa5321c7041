/* Configuration: defaults, layers and their sources, value types, the file
 * reader (line numbers, malformed lines), environment, profiles, validation
 * messages, the command-line helper, and the --print-config round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ictal/config.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------ */

static struct ictal_config *new_cfg(void)
{
    struct ictal_error err;
    struct ictal_config *cfg = ictal_config_create(&err);
    if (!cfg)
        fail_msg("create: %s", err.msg);
    return cfg;
}

/* True when some error message contains every one of the NULL-terminated
 * substrings. */
static bool has_error(const struct ictal_config *cfg, ...)
{
    for (size_t i = 0; i < ictal_config_error_count(cfg); i++) {
        const char *m = ictal_config_error_message(cfg, i);
        bool all = true;
        va_list ap;
        va_start(ap, cfg);
        for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
            all = all && strstr(m, s) != NULL;
        va_end(ap);
        if (all)
            return true;
    }
    return false;
}

#define assert_error(cfg, ...)                                                    \
    do {                                                                          \
        if (!has_error((cfg), __VA_ARGS__, (const char *)NULL)) {                 \
            ictal_config_print_errors((cfg), stderr, "got");                     \
            fail_msg("no error message containing all of: %s", #__VA_ARGS__);    \
        }                                                                         \
    } while (0)

static int load_text(struct ictal_config *cfg, const char *name, const char *text)
{
    return ictal_config_load_string(cfg, name, text, strlen(text), ICTAL_CONFIG_LAYER_USER);
}

static void write_text(const char *path, const char *text)
{
    assert_int_equal(test_write_file(path, text, strlen(text)), 0);
}

static void make_dir(const char *path)
{
    mkdir(path, 0700); /* may exist from an earlier run */
}

/* ---- defaults and getters ---------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    struct ictal_config *cfg = new_cfg();
    assert_true(ictal_config_get_double(cfg, "postproc", "threshold_on") == 0.5);
    assert_true(ictal_config_get_double(cfg, "postproc", "max_duration") == 300.0);
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_on"), 2);
    assert_string_equal(ictal_config_get_string(cfg, "postproc", "confidence"), "mean");
    assert_int_equal(ictal_config_get_enum(cfg, "postproc", "confidence"), 0);
    assert_true(ictal_config_get_bool(cfg, "rt", "mlockall"));
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "n_on"), "default");
    assert_int_equal(ictal_config_get_layer(cfg, "postproc", "n_on"), ICTAL_CONFIG_LAYER_DEFAULT);
    const char *const *items;
    assert_int_equal(ictal_config_get_list(cfg, "score", "metrics", &items), 4);
    assert_string_equal(items[3], "latency");
    assert_int_equal(ictal_config_get_list(cfg, "detect", "connect", &items), 0);
    /* Defaults are consistent: validation passes. */
    struct ictal_error err;
    assert_int_equal(ictal_config_validate(cfg, &err), 0);
    assert_int_equal(ictal_config_error_count(cfg), 0);
    ictal_config_destroy(cfg);
}

static void test_getter_misuse_gives_fallbacks(void **state)
{
    (void)state;
    struct ictal_config *cfg = new_cfg();
    assert_true(isnan(ictal_config_get_double(cfg, "postproc", "nope")));
    assert_true(isnan(ictal_config_get_double(cfg, "postproc", "confidence")));
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "threshold_on"), 0);
    assert_false(ictal_config_get_bool(cfg, "postproc", "n_on"));
    assert_int_equal(ictal_config_get_enum(cfg, "postproc", "n_on"), -1);
    assert_null(ictal_config_get_string(cfg, "nosection", "x"));
    assert_null(ictal_config_get_source(cfg, "postproc", "nope"));
    assert_int_equal(ictal_config_get_layer(cfg, "postproc", "nope"), -1);
    const char *const *items = (const char *const *)1;
    assert_int_equal(ictal_config_get_list(cfg, "postproc", "n_on", &items), 0);
    assert_null(items);
    /* get_double reads ints; get_string prints any type. */
    assert_true(ictal_config_get_double(cfg, "postproc", "n_off") == 4.0);
    assert_string_equal(ictal_config_get_string(cfg, "postproc", "min_duration"), "5s");
    assert_true(ictal_config_has_key("osc", "port"));
    assert_false(ictal_config_has_key("osc", "ports"));
    ictal_config_destroy(NULL);
    ictal_config_destroy(cfg);
}

/* ---- value types --------------------------------------------------------- */

static void test_value_types(void **state)
{
    (void)state;
    struct ictal_config *cfg = new_cfg();
    const enum ictal_config_layer L = ICTAL_CONFIG_LAYER_CLI;
    static const struct { const char *key, *text; double seconds; } durations[] = {
        { "postproc.opening", "250ms", 0.25 }, { "postproc.opening", "2min", 120 },
        { "postproc.opening", "1h", 3600 },    { "postproc.opening", " 5 s ", 5 },
        { "postproc.opening", "1500us", 0.0015 }, { "postproc.opening", "7", 7 },
        { "postproc.max_duration", "1d", 86400 }, { "postproc.opening", "2.5sec", 2.5 },
        { "postproc.opening", "5m", 300 },     { "postproc.max_duration", "1h30m", 5400 },
        { "postproc.opening", "2min 5s", 125 }, { "postproc.max_duration", "1h 30m 15s", 5415 },
        { "postproc.opening", "1e1s", 10 },    { "postproc.max_duration", "1h 30", 3630 },
    };
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        assert_int_equal(ictal_config_set_dotted(cfg, L, "t", durations[i].key, durations[i].text), 0);
        const char *dot = strchr(durations[i].key, '.');
        char sec[32];
        snprintf(sec, sizeof sec, "%.*s", (int)(dot - durations[i].key), durations[i].key);
        assert_float_equal(ictal_config_get_double(cfg, sec, dot + 1), durations[i].seconds, 1e-12);
    }
    assert_int_equal(ictal_config_error_count(cfg), 0);

    /* Booleans in their spellings. */
    static const char *const yes[] = { "true", "YES", "On", "1" }, *const no[] = { "false", "no", "OFF", "0" };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ictal_config_set(cfg, L, "t", "rt", "mlockall", no[i]), 0);
        assert_false(ictal_config_get_bool(cfg, "rt", "mlockall"));
        assert_int_equal(ictal_config_set(cfg, L, "t", "rt", "mlockall", yes[i]), 0);
        assert_true(ictal_config_get_bool(cfg, "rt", "mlockall"));
    }
    /* Enums: any case, stored canonical; index in the documented order. */
    assert_int_equal(ictal_config_set(cfg, L, "t", "postproc", "confidence", "PEAK"), 0);
    assert_string_equal(ictal_config_get_string(cfg, "postproc", "confidence"), "peak");
    assert_int_equal(ictal_config_get_enum(cfg, "postproc", "confidence"), 1);
    /* Lists: blanks dropped, choices canonical. */
    assert_int_equal(ictal_config_set(cfg, L, "t", "logger", "outputs", " JSONL ,console "), 0);
    assert_string_equal(ictal_config_get_string(cfg, "logger", "outputs"), "jsonl, console");
    assert_int_equal(ictal_config_set(cfg, L, "t", "osc", "targets",
                                      "10.0.0.2:9000, osc.udp://host:9001/"), 0);
    assert_int_equal(ictal_config_error_count(cfg), 0);

    /* Bad values: each is an error, the value stays. */
    static const struct { const char *key, *text; int code; const char *why; } bad[] = {
        { "postproc.n_on", "2.5", ICTAL_EINVAL, "not an integer" },
        { "postproc.n_on", "0", ICTAL_ERANGE, "out of range [1, 100000]" },
        { "postproc.n_on", "99999999999999999999", ICTAL_ERANGE, "out of range" },
        { "postproc.threshold_on", "nan", ICTAL_EINVAL, "not a number" },
        { "postproc.threshold_on", "0x1p-1", ICTAL_EINVAL, "not a number" },
        { "postproc.threshold_on", "1.01", ICTAL_ERANGE, "out of range [0, 1]" },
        { "postproc.threshold_on", "", ICTAL_EINVAL, "not a number" },
        { "postproc.opening", "-1s", ICTAL_ERANGE, "out of range" },
        { "postproc.opening", "5x", ICTAL_EINVAL, "not a duration" },
        { "postproc.opening", "1 30m", ICTAL_EINVAL, "not a duration" },
        { "postproc.opening", "1h-5m", ICTAL_EINVAL, "not a duration" },
        { "postproc.opening", "s", ICTAL_EINVAL, "not a duration" },
        { "postproc.max_duration", "0", ICTAL_ERANGE, "(0, 86400]" },
        { "postproc.confidence", "meen", ICTAL_EINVAL, "did you mean 'mean'" },
        { "rt.mlockall", "maybe", ICTAL_EINVAL, "not a boolean" },
        { "logger.outputs", "console, console", ICTAL_EINVAL, "given twice" },
        { "logger.outputs", "console,,jsonl", ICTAL_EINVAL, "item 2 of the list is empty" },
        { "logger.outputs", "jsnl", ICTAL_EINVAL, "did you mean 'jsonl'" },
        { "osc.targets", "localhost", ICTAL_EINVAL, "not host:port" },
        { "osc.targets", "h:70000", ICTAL_EINVAL, "not host:port" },
        { "detect.client_name", "", ICTAL_EINVAL, "must not be empty" },
        { "detect.model", "a;b", ICTAL_EINVAL, "contains ';'" },
        { "detect.model", "a\x01" "b", ICTAL_EINVAL, "control character" },
        { "detect.model", "\xff", ICTAL_EINVAL, "invalid UTF-8" },
        { "synth.rate", "100", ICTAL_ERANGE, "[128, 2048]" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ictal_config *c = new_cfg();
        int rc = ictal_config_set_dotted(c, L, "option --x", bad[i].key, bad[i].text);
        if (rc != bad[i].code)
            fail_msg("%s = '%s': got %d, want %d", bad[i].key, bad[i].text, rc, bad[i].code);
        assert_error(c, "option --x: ", bad[i].key, bad[i].why);
        assert_string_equal(ictal_config_get_source(c, "postproc", "n_on"), "default");
        ictal_config_destroy(c);
    }
    /* Doubles print so that they read back exactly. */
    assert_int_equal(ictal_config_set(cfg, L, "t", "postproc", "threshold_on", "0.1"), 0);
    assert_string_equal(ictal_config_get_string(cfg, "postproc", "threshold_on"), "0.1");
    assert_int_equal(ictal_config_set(cfg, L, "t", "pipeline", "notch", "60"), 0);
    assert_string_equal(ictal_config_get_string(cfg, "pipeline", "notch"), "60");
    ictal_config_destroy(cfg);
}

/* ---- layers --------------------------------------------------------------- */

/* Layers applied in a random order: the effective value is always the one of
 * the highest layer, the last call winning within a layer. */
static void test_layer_precedence_property(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0xC0F16);
    for (int round = 0; round < 300; round++) {
        struct ictal_config *cfg = new_cfg();
        int best_layer = 0;
        int64_t want = 2; /* default of n_on */
        int n = (int)test_rng_range(&rng, 1, 12);
        for (int j = 0; j < n; j++) {
            int layer = (int)test_rng_range(&rng, ICTAL_CONFIG_LAYER_MODEL, ICTAL_CONFIG_LAYER_CLI);
            int64_t v = test_rng_range(&rng, 1, 100000);
            char text[32], src[32];
            snprintf(text, sizeof text, "%lld", (long long)v);
            snprintf(src, sizeof src, "src-%d-%d", layer, j);
            assert_int_equal(ictal_config_set(cfg, (enum ictal_config_layer)layer, src, "postproc",
                                              "n_on", text), 0);
            if (layer >= best_layer) {
                best_layer = layer;
                want = v;
            }
        }
        assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_on"), want);
        assert_int_equal(ictal_config_get_layer(cfg, "postproc", "n_on"), best_layer);
        ictal_config_destroy(cfg);
    }
}

/* The real sources, each overriding the one below, with the right labels. */
static void test_layers_from_all_sources(void **state)
{
    (void)state;
    char sys[256], xdg[256], xdgi[512], path[1024];
    test_path(sys, sizeof sys, "layers-sys");
    test_path(xdg, sizeof xdg, "layers-xdg");
    snprintf(xdgi, sizeof xdgi, "%s/ictal", xdg);
    make_dir(sys);
    make_dir(xdg);
    make_dir(xdgi);
    /* Key k_i is set by every layer up to layer i, so it must come from layer i. */
    snprintf(path, sizeof path, "%s/ictal.conf", sys);
    write_text(path, "[postproc]\n"
                     "n_on = 12\n"          /* line 2: system */
                     "n_off = 12\n"
                     "merge_gap = 12\n"
                     "confidence_percentile = 12\n"
                     "threshold_on = 0.62\n"
                     "closing = 12\n");
    snprintf(path, sizeof path, "%s/ictal.conf", xdgi);
    write_text(path, "# user file\n"
                     "[postproc]\n"
                     "n_off = 13\n"         /* line 3: user */
                     "merge_gap = 13\n"
                     "confidence_percentile = 13\n"
                     "threshold_on = 0.63\n"
                     "closing = 13\n"
                     "[profile.pat]\n"
                     "postproc.merge_gap = 14\n"   /* line 9 */
                     "postproc.confidence_percentile = 14\n"
                     "postproc.threshold_on = 0.64\n"
                     "postproc.closing = 14\n");
    char xdgvar[600];
    snprintf(xdgvar, sizeof xdgvar, "XDG_CONFIG_HOME=%s", xdg);
    char *envp[] = { xdgvar, "HOME=/nonexistent", "ICTAL_PROFILE=pat",
                     "ICTAL_POSTPROC_CONFIDENCE_PERCENTILE=15", "ICTAL_POSTPROC_THRESHOLD_ON=0.65",
                     "ICTAL_POSTPROC_CLOSING=15", "ICTAL_TEST_UNRELATED=1", NULL };
    struct ictal_config *cfg = new_cfg();
    /* Command line first, as programs do. */
    char *argv[] = { "prog", "--threshold-on", "0.66", "input.edf", "--set", "postproc.closing=16",
                     NULL };
    int argc = 6;
    static const struct ictal_config_option opts[] = {
        { "threshold-on", "postproc.threshold_on", NULL },
    };
    struct ictal_config_cli cli;
    memset(&cli, 0, sizeof cli);
    cli.src.sysconfdir = sys;
    cli.src.envp = envp;
    assert_int_equal(ictal_config_parse_args(cfg, &argc, argv, opts, 1, &cli), 0);
    assert_int_equal(argc, 2);
    assert_string_equal(argv[1], "input.edf");
    assert_int_equal(ictal_config_load(cfg, &cli.src), 0);
    /* Model defaults arrive last but stay below the files. */
    const char *const model[] = { "postproc.n_on", "11", "postproc.min_duration", "11",
                                  "postproc.opening", "11" };
    assert_int_equal(ictal_config_set_model_defaults(cfg, "model m.safetensors", model, 3), 0);
    struct ictal_error err;
    assert_int_equal(ictal_config_validate(cfg, &err), 0);

    char want[700];
    assert_int_equal(ictal_config_get_layer(cfg, "postproc", "max_duration"), ICTAL_CONFIG_LAYER_DEFAULT);
    assert_true(ictal_config_get_double(cfg, "postproc", "opening") == 11);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "opening"), "model m.safetensors");
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_on"), 12);
    snprintf(want, sizeof want, "%s/ictal.conf:2", sys);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "n_on"), want);
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_off"), 13);
    snprintf(want, sizeof want, "%s/ictal.conf:3", xdgi);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "n_off"), want);
    assert_true(ictal_config_get_double(cfg, "postproc", "merge_gap") == 14);
    snprintf(want, sizeof want, "profile pat at %s/ictal.conf:9", xdgi);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "merge_gap"), want);
    assert_true(ictal_config_get_double(cfg, "postproc", "confidence_percentile") == 15);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "confidence_percentile"),
                        "environment ICTAL_POSTPROC_CONFIDENCE_PERCENTILE");
    assert_true(ictal_config_get_double(cfg, "postproc", "threshold_on") == 0.66);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "threshold_on"), "option --threshold-on");
    assert_true(ictal_config_get_double(cfg, "postproc", "closing") == 16);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "closing"), "option --set postproc.closing");
    ictal_config_destroy(cfg);

    /* --config replaces both files; HOME is the fallback when XDG is unset. */
    char home[256], cfgdir[512], only[512];
    test_path(home, sizeof home, "layers-home");
    make_dir(home);
    snprintf(cfgdir, sizeof cfgdir, "%s/.config", home);
    make_dir(cfgdir);
    snprintf(cfgdir, sizeof cfgdir, "%s/.config/ictal", home);
    make_dir(cfgdir);
    snprintf(path, sizeof path, "%s/ictal.conf", cfgdir);
    write_text(path, "[postproc]\nn_on = 21\n");
    test_path(only, sizeof only, "layers-only.conf");
    write_text(only, "[postproc]\nn_off = 22\n");
    char homevar[600];
    snprintf(homevar, sizeof homevar, "HOME=%s", home);
    char *envp2[] = { homevar, NULL };
    cfg = new_cfg();
    struct ictal_config_sources src;
    memset(&src, 0, sizeof src);
    src.sysconfdir = sys;
    src.envp = envp2;
    assert_int_equal(ictal_config_load(cfg, &src), 0);
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_on"), 21);
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_off"), 12); /* system file */
    ictal_config_destroy(cfg);
    cfg = new_cfg();
    src.config_files[0] = only;
    src.n_config_files = 1;
    assert_int_equal(ictal_config_load(cfg, &src), 0);
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_on"), 2);   /* default */
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_off"), 22);
    ictal_config_destroy(cfg);
}

static void test_missing_files(void **state)
{
    (void)state;
    char none[512];
    test_path(none, sizeof none, "missing-dir");
    char *envp[] = { "HOME=/nonexistent-home", NULL };
    struct ictal_config *cfg = new_cfg();
    struct ictal_config_sources src;
    memset(&src, 0, sizeof src);
    src.sysconfdir = none;
    src.envp = envp;
    /* Missing system and user files are fine. */
    assert_int_equal(ictal_config_load(cfg, &src), 0);
    assert_int_equal(ictal_config_error_count(cfg), 0);
    /* A missing --config file is not. */
    src.config_files[0] = "/nonexistent/ictal-test.conf";
    src.n_config_files = 1;
    assert_int_equal(ictal_config_load(cfg, &src), ICTAL_ENOENT);
    assert_error(cfg, "/nonexistent/ictal-test.conf", "cannot open");
    ictal_config_destroy(cfg);
    /* ICTAL_SYSCONFDIR from the environment moves the system file. */
    char dir[256], path[512];
    test_path(dir, sizeof dir, "sysconf-env");
    make_dir(dir);
    snprintf(path, sizeof path, "%s/ictal.conf", dir);
    write_text(path, "[osc]\nport = 9999\n");
    char var[600];
    snprintf(var, sizeof var, "ICTAL_SYSCONFDIR=%s", dir);
    char *envp2[] = { var, NULL };
    cfg = new_cfg();
    memset(&src, 0, sizeof src);
    src.envp = envp2;
    src.no_user_file = true;
    assert_int_equal(ictal_config_load(cfg, &src), 0);
    assert_int_equal(ictal_config_get_int(cfg, "osc", "port"), 9999);
    ictal_config_destroy(cfg);
}

/* ---- files -------------------------------------------------------------------- */

static void test_file_errors_name_file_and_line(void **state)
{
    (void)state;
    struct ictal_config *cfg = new_cfg();
    const char *text =
        "; comment\n"                                   /* 1 */
        "[postproc]\n"                                  /* 2 */
        "threshold_onn = 0.6\n"                         /* 3 */
        "n_on = three\n"                                /* 4 */
        "threshold_off = 7\n"                           /* 5 */
        "[postprocc]\n"                                 /* 6 */
        "x = 1\n"                                       /* 7: in the unknown section, silent */
        "[osc]\n"                                       /* 8 */
        "prob_rate = 4 ; rate\n"                        /* 9 */
        "threshold_on = 0.5\n"                          /* 10: wrong section */
        "[rt]\n"                                        /* 11 */
        "mlockall = true\n"                             /* 12 */
        "mlockall = false\n";                           /* 13 */
    assert_int_not_equal(load_text(cfg, "site.conf", text), 0);
    assert_error(cfg, "site.conf:3:", "unknown key 'threshold_onn' in [postproc]",
                 "did you mean postproc.threshold_on?");
    assert_error(cfg, "site.conf:4:", "postproc.n_on", "'three' is not an integer");
    assert_error(cfg, "site.conf:5:", "postproc.threshold_off", "out of range [0, 1]");
    assert_error(cfg, "site.conf:6:", "unknown section [postprocc]", "did you mean [postproc]?");
    assert_error(cfg, "site.conf:10:", "did you mean postproc.threshold_on?");
    assert_error(cfg, "site.conf:13:", "rt.mlockall is set twice", "line 12");
    assert_int_equal(ictal_config_error_count(cfg), 6);
    assert_true(ictal_config_get_double(cfg, "osc", "prob_rate") == 4);
    struct ictal_error err;
    assert_int_equal(ictal_config_validate(cfg, &err), ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "6 configuration errors"));
    ictal_config_destroy(cfg);
}

static void test_malformed_lines(void **state)
{
    (void)state;
    static const struct { const char *text; size_t len; const char *where, *why; } cases[] = {
        { "[postproc]\nthreshold_on 0.6\n", 0, "m.conf:2:", "expected 'key = value'" },
        { "[postproc\nn_on = 3\n", 0, "m.conf:1:", "unterminated section header" },
        { "[postproc] x\n", 0, "m.conf:1:", "unexpected text after ']'" },
        { "[]\n", 0, "m.conf:1:", "empty section name" },
        { "n_on = 3\n", 0, "m.conf:1:", "outside any [section]" },
        { "[postproc]\n= 3\n", 0, "m.conf:2:", "missing key name" },
        { "[postproc]\nn_on = 3\x01\n", 0, "m.conf:2:", "control character at column 9" },
        { "[postproc]\n\nn_on = \xc3\x28\n", 0, "m.conf:3:", "invalid UTF-8 at column 8" },
        { "[postproc]\nn_on = 3\0\n", 21, "m.conf:2:", "NUL byte" },
        { "[postproc]\nn_on = 3\n  4\n", 0, "m.conf:3:", "only lists may span lines" },
        { "[profile.a b]\npostproc.n_on = 3\n", 0, "m.conf:1:", "bad profile name" },
        { "[profile.p]\nn_on = 3\n", 0, "m.conf:2:", "written section.key" },
        { "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n", 0, "m.conf:1:", "too long" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ictal_config *cfg = new_cfg();
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        int rc = ictal_config_load_string(cfg, "m.conf", cases[i].text, len, ICTAL_CONFIG_LAYER_USER);
        if (rc == 0)
            fail_msg("case %zu accepted: %s", i, cases[i].text);
        assert_error(cfg, cases[i].where, cases[i].why);
        ictal_config_destroy(cfg);
    }
    /* A line longer than libinih's buffer is reported, not split in two. */
    char big[600];
    int n = snprintf(big, sizeof big, "[detect]\nmodel = ");
    memset(big + n, 'x', 400);
    snprintf(big + n + 400, sizeof big - (size_t)n - 400, "\nclient_name = ok\n");
    struct ictal_config *cfg = new_cfg();
    assert_int_not_equal(load_text(cfg, "long.conf", big), 0);
    assert_error(cfg, "long.conf:2:", "line is too long");
    assert_int_equal(ictal_config_error_count(cfg), 1);
    assert_string_equal(ictal_config_get_string(cfg, "detect", "client_name"), "ok");
    ictal_config_destroy(cfg);
}

static void test_well_formed_variants(void **state)
{
    (void)state;
    /* Empty file, comments only, BOM + CRLF, ':' separator, indented keys,
     * a list continued over lines with comments between. */
    static const char *const ok[] = { "", "\n\n", "# only\n; comments\n" };
    for (size_t i = 0; i < 3; i++) {
        struct ictal_config *cfg = new_cfg();
        assert_int_equal(load_text(cfg, "e.conf", ok[i]), 0);
        assert_int_equal(ictal_config_error_count(cfg), 0);
        ictal_config_destroy(cfg);
    }
    struct ictal_config *cfg = new_cfg();
    const char *text = "\xEF\xBB\xBF[postproc]\r\n"
                       "  threshold_on = 0.6\r\n"
                       "threshold_off: 0.2\r\n"
                       "\t[ detect ]\r\n"
                       "connect = a:1,\r\n"
                       "   b:2 ; second\r\n"
                       "# a comment inside\r\n"
                       "   c:3\r\n"
                       "model = m.st\r\n";
    assert_int_equal(load_text(cfg, "v.conf", text), 0);
    assert_int_equal(ictal_config_error_count(cfg), 0);
    assert_true(ictal_config_get_double(cfg, "postproc", "threshold_on") == 0.6);
    assert_true(ictal_config_get_double(cfg, "postproc", "threshold_off") == 0.2);
    const char *const *items;
    assert_int_equal(ictal_config_get_list(cfg, "detect", "connect", &items), 3);
    assert_string_equal(items[1], "b:2");
    assert_string_equal(items[2], "c:3");
    assert_string_equal(ictal_config_get_source(cfg, "detect", "connect"), "v.conf:5");
    assert_string_equal(ictal_config_get_string(cfg, "detect", "model"), "m.st");
    assert_string_equal(ictal_config_get_source(cfg, "detect", "model"), "v.conf:9");
    ictal_config_destroy(cfg);
}

/* Random garbage never crashes the reader and never yields a silent success
 * for lines that are not INI. */
static void test_random_bytes_fuzz(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0xF022);
    static const char alphabet[] = "[]=:;# \t\n\r.abcdeflnoprstu_0123456789\x01\xc3\xff";
    for (int round = 0; round < 2000; round++) {
        char text[300];
        size_t len = (size_t)test_rng_range(&rng, 0, sizeof text - 1);
        for (size_t i = 0; i < len; i++)
            text[i] = alphabet[test_rng_range(&rng, 0, (int64_t)sizeof alphabet - 2)];
        text[len] = '\0';
        struct ictal_config *cfg = new_cfg();
        int rc = ictal_config_load_string(cfg, "fuzz", text, len, ICTAL_CONFIG_LAYER_USER);
        assert_true(rc <= 0);
        assert_int_equal(rc == 0, ictal_config_error_count(cfg) == 0);
        ictal_config_destroy(cfg);
    }
}

/* ---- environment --------------------------------------------------------------- */

static void test_environment(void **state)
{
    (void)state;
    struct ictal_config *cfg = new_cfg();
    char *envp[] = { "ICTAL_POSTPROC_N_ON=5", "ICTAL_OSC_PORT=abc", "ICTAL_POSTPROC_TRESHOLD_ON=0.5",
                     "ICTAL_LOGGER_OUTPUTS=jsonl", "ICTAL_LOG_LEVEL=debug", "ICTAL_PROFILE=x",
                     "ICTAL_TEST_TMPDIR=/tmp", "ICTAL_JACKD=/usr/bin/jackd", "PATH=/bin", NULL };
    assert_int_not_equal(ictal_config_load_env(cfg, envp), 0);
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_on"), 5);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "n_on"), "environment ICTAL_POSTPROC_N_ON");
    assert_string_equal(ictal_config_get_string(cfg, "logger", "outputs"), "jsonl");
    assert_string_equal(ictal_config_get_string(cfg, "log", "level"), "debug");
    assert_error(cfg, "environment ICTAL_OSC_PORT: osc.port: 'abc' is not an integer");
    assert_error(cfg, "environment ICTAL_POSTPROC_TRESHOLD_ON", "did you mean postproc.threshold_on?");
    assert_int_equal(ictal_config_error_count(cfg), 2);
    ictal_config_destroy(cfg);
}

/* ---- profiles ------------------------------------------------------------------ */

static void test_profiles(void **state)
{
    (void)state;
    char a[512], b[512];
    test_path(a, sizeof a, "prof-a.conf");
    test_path(b, sizeof b, "prof-b.conf");
    write_text(a, "[postproc]\nthreshold_on = 0.6\nn_on = 3\n"
                  "[profile.patient07]\npostproc.threshold_on = 0.72\npostproc.n_on = 4\n"
                  "[profile.patient08]\npostproc.threshold_on = 0.8\n");
    write_text(b, "[postproc]\nthreshold_on = 0.65\n"
                  "[profile.patient07]\npostproc.n_on = 5\n");
    char *envp[] = { NULL };
    struct ictal_config_sources src;
    memset(&src, 0, sizeof src);
    src.config_files[0] = a;
    src.config_files[1] = b;
    src.n_config_files = 2;
    src.envp = envp;
    src.profile = "patient07";
    struct ictal_config *cfg = new_cfg();
    assert_int_equal(ictal_config_load(cfg, &src), 0);
    /* The profile beats both files; its entries from the later file win. */
    assert_true(ictal_config_get_double(cfg, "postproc", "threshold_on") == 0.72);
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_on"), 5);
    char want[700];
    snprintf(want, sizeof want, "profile patient07 at %s:4", b);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "n_on"), want);
    const char *names[4];
    assert_int_equal(ictal_config_profiles(cfg, names, 4), 2);
    assert_string_equal(names[0], "patient07");
    assert_string_equal(names[1], "patient08");
    ictal_config_destroy(cfg);

    /* No profile: the later file wins. */
    src.profile = NULL;
    cfg = new_cfg();
    assert_int_equal(ictal_config_load(cfg, &src), 0);
    assert_true(ictal_config_get_double(cfg, "postproc", "threshold_on") == 0.65);
    ictal_config_destroy(cfg);

    /* ICTAL_PROFILE selects; --profile beats it; the environment beats the profile. */
    char *envp2[] = { "ICTAL_PROFILE=patient08", "ICTAL_POSTPROC_N_ON=9", NULL };
    src.envp = envp2;
    cfg = new_cfg();
    assert_int_equal(ictal_config_load(cfg, &src), 0);
    assert_true(ictal_config_get_double(cfg, "postproc", "threshold_on") == 0.8);
    assert_int_equal(ictal_config_get_int(cfg, "postproc", "n_on"), 9);
    ictal_config_destroy(cfg);
    src.profile = "patient07";
    cfg = new_cfg();
    assert_int_equal(ictal_config_load(cfg, &src), 0);
    assert_true(ictal_config_get_double(cfg, "postproc", "threshold_on") == 0.72);
    ictal_config_destroy(cfg);

    /* Unknown profile: an error listing the defined ones, with a suggestion. */
    src.profile = "patient7";
    cfg = new_cfg();
    assert_int_equal(ictal_config_load(cfg, &src), ICTAL_ENOENT);
    assert_error(cfg, "option --profile: unknown profile 'patient7'", "defined: patient07, patient08",
                 "did you mean 'patient07'?");
    ictal_config_destroy(cfg);
    src.profile = NULL;
    char *envp3[] = { "ICTAL_PROFILE=nobody", NULL };
    src.envp = envp3;
    cfg = new_cfg();
    assert_int_equal(ictal_config_load(cfg, &src), ICTAL_ENOENT);
    assert_error(cfg, "environment ICTAL_PROFILE: unknown profile 'nobody'");
    ictal_config_destroy(cfg);
}

/* ---- contradictions ------------------------------------------------------------- */

static void test_contradictions(void **state)
{
    (void)state;
    struct ictal_config *cfg = new_cfg();
    assert_int_equal(load_text(cfg, "c.conf",
                               "[postproc]\nthreshold_on = 0.4\nthreshold_off = 0.6\n"
                               "min_duration = 10min\nmax_duration = 60\n"
                               "[pipeline]\nhighpass = 40\nlowpass = 30\nclip_uv = 5000\n"
                               "[logger]\noutputs = console, jsonl\n"), 0);
    assert_int_equal(ictal_config_set(cfg, ICTAL_CONFIG_LAYER_CLI, "option --jsonl", "logger",
                                      "jsonl_path", ""), 0);
    struct ictal_error err;
    assert_int_equal(ictal_config_validate(cfg, &err), ICTAL_EINVAL);
    assert_error(cfg, "postproc.threshold_off = 0.6 (from c.conf:3)", "at most",
                 "postproc.threshold_on = 0.4 (from c.conf:2)");
    assert_error(cfg, "postproc.min_duration = 600s (from c.conf:4)", "postproc.max_duration = 60s (from c.conf:5)");
    assert_error(cfg, "pipeline.highpass = 40", "below", "pipeline.lowpass = 30", "pass band");
    assert_error(cfg, "pipeline.clip_uv = 5000", "pipeline.implausible_uv = 3000 (from default)");
    assert_error(cfg, "logger.outputs includes jsonl (from c.conf:11)", "logger.jsonl_path is empty (from option --jsonl)");
    size_t n = ictal_config_error_count(cfg);
    assert_int_equal(n, 5);
    /* Validation is repeatable, and a higher layer can resolve a contradiction. */
    assert_int_equal(ictal_config_validate(cfg, &err), ICTAL_EINVAL);
    assert_int_equal(ictal_config_error_count(cfg), n);
    assert_int_equal(ictal_config_set(cfg, ICTAL_CONFIG_LAYER_CLI, "option --x", "postproc",
                                      "threshold_off", "0.4"), 0);
    assert_int_equal(ictal_config_validate(cfg, &err), ICTAL_EINVAL);
    assert_int_equal(ictal_config_error_count(cfg), n - 1);
    assert_false(has_error(cfg, "threshold_off", (const char *)NULL));
    ictal_config_destroy(cfg);

    /* Equal thresholds and lowpass off are fine. */
    cfg = new_cfg();
    assert_int_equal(load_text(cfg, "ok.conf", "[postproc]\nthreshold_on = 0.5\nthreshold_off = 0.5\n"
                                              "min_duration = 300\n[pipeline]\nhighpass = 40\n"), 0);
    assert_int_equal(ictal_config_validate(cfg, &err), 0);
    ictal_config_destroy(cfg);
}

/* ---- command line ---------------------------------------------------------------- */

static void test_parse_args(void **state)
{
    (void)state;
    static const struct ictal_config_option opts[] = {
        { "threshold-on", "postproc.threshold_on", NULL },
        { "freewheel", "play.freewheel", "true" },
        { "model", "run.model", NULL },
    };
    char *argv[] = { "prog", "-v", "--config", "a.conf", "--threshold-on=0.7", "in.edf",
                     "--freewheel", "--profile=p1", "--config=b.conf", "--print-config",
                     "--model", "m.st", "--unknown", "--", "--threshold-on", "0.9", NULL };
    int argc = 16;
    struct ictal_config *cfg = new_cfg();
    struct ictal_config_cli cli;
    memset(&cli, 0, sizeof cli);
    assert_int_equal(ictal_config_parse_args(cfg, &argc, argv, opts, 3, &cli), 0);
    assert_int_equal(argc, 7);
    assert_string_equal(argv[0], "prog");
    assert_string_equal(argv[1], "-v");
    assert_string_equal(argv[2], "in.edf");
    assert_string_equal(argv[3], "--unknown");
    assert_string_equal(argv[4], "--");
    assert_string_equal(argv[5], "--threshold-on");
    assert_string_equal(argv[6], "0.9");
    assert_null(argv[7]);
    assert_int_equal(cli.src.n_config_files, 2);
    assert_string_equal(cli.src.config_files[0], "a.conf");
    assert_string_equal(cli.src.config_files[1], "b.conf");
    assert_string_equal(cli.src.profile, "p1");
    assert_true(cli.print_config);
    assert_true(ictal_config_get_double(cfg, "postproc", "threshold_on") == 0.7);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "threshold_on"), "option --threshold-on");
    assert_true(ictal_config_get_bool(cfg, "play", "freewheel"));
    assert_string_equal(ictal_config_get_string(cfg, "run", "model"), "m.st");
    ictal_config_destroy(cfg);

    /* Errors name the option. */
    static const struct ictal_config_option badopts[] = {
        { "threshold-on", "postproc.threshold_on", NULL },
        { "freewheel", "play.freewheel", "true" },
        { "oops", "postproc.nothing", NULL },
    };
    char *argv2[] = { "prog", "--threshold-on", "2", "--freewheel=yes", "--set", "postproc.n_onn=3",
                      "--set", "novalue", "--set", "postproc.n_on=x", "--config", NULL };
    argc = 11;
    cfg = new_cfg();
    memset(&cli, 0, sizeof cli);
    assert_int_not_equal(ictal_config_parse_args(cfg, &argc, argv2, badopts, 3, &cli), 0);
    assert_int_equal(argc, 1);
    assert_error(cfg, "option --oops: maps to 'postproc.nothing'");
    assert_error(cfg, "option --threshold-on: postproc.threshold_on: 2 is out of range [0, 1]");
    assert_error(cfg, "option --freewheel: takes no value");
    assert_error(cfg, "option --set postproc.n_onn: unknown key 'n_onn'", "did you mean postproc.n_on?");
    assert_error(cfg, "option --set: 'novalue' is not section.key=value");
    assert_error(cfg, "option --set postproc.n_on: postproc.n_on: 'x' is not an integer");
    assert_error(cfg, "option --config: needs a value");
    assert_int_equal(ictal_config_error_count(cfg), 7);
    ictal_config_destroy(cfg);
}

static void test_setup_one_call(void **state)
{
    (void)state;
    char path[512];
    test_path(path, sizeof path, "setup.conf");
    write_text(path, "[postproc]\nthreshold_off = 0.45\n");
    char *argv[] = { "prog", "--config", path, "--threshold-on", "0.4", NULL };
    int argc = 5;
    static const struct ictal_config_option opts[] = {
        { "threshold-on", "postproc.threshold_on", NULL },
    };
    char *envp[] = { NULL };
    struct ictal_config *cfg = new_cfg();
    struct ictal_config_cli cli;
    memset(&cli, 0, sizeof cli);
    cli.src.envp = envp;
    struct ictal_error err;
    assert_int_equal(ictal_config_setup(cfg, &argc, argv, opts, 1, &cli, &err), ICTAL_EINVAL);
    assert_non_null(strstr(err.msg, "1 configuration error; first: postproc.threshold_off = 0.45"));
    assert_non_null(strstr(err.msg, "(from option --threshold-on)"));
    char out[512];
    test_path(out, sizeof out, "setup.errors");
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    assert_int_equal(ictal_config_print_errors(cfg, f, "ictal-run"), 1);
    fclose(f);
    char *text = test_read_file(out, NULL);
    assert_non_null(text);
    assert_true(strncmp(text, "ictal-run: postproc.threshold_off", 33) == 0);
    free(text);
    ictal_config_destroy(cfg);
}

/* ---- print-config round trip ------------------------------------------------------ */

/* A random valid value for key (section, key) of the given type. */
static void random_value(struct test_rng *r, const char *section, const char *key, char *buf, size_t cap)
{
    (void)section;
    (void)key;
    switch (test_rng_range(r, 0, 2)) {
    case 0: snprintf(buf, cap, "%.6f", test_rng_unit(r)); break;
    case 1: snprintf(buf, cap, "%.17g", test_rng_unit(r)); break;
    default: snprintf(buf, cap, "%lld", (long long)test_rng_range(r, 0, 1)); break;
    }
}

static void test_print_round_trip(void **state)
{
    (void)state;
    struct test_rng rng;
    test_rng_seed(&rng, 0x5EED);
    /* Keys of several types with values that are always in range. */
    static const struct { const char *sec, *key, *vals[4]; } pool[] = {
        { "postproc", "confidence", { "mean", "PEAK", "percentile", "Mean" } },
        { "postproc", "min_duration", { "250ms", "1.5min", "0.001", "7" } },
        { "detect", "connect", { "", "a:1", "x:y, z:w", "p:1,q:2,r:3" } },
        { "detect", "model", { "", "models/x.safetensors", "/a b/c d.st", "µ-model" } },
        { "rt", "mlockall", { "yes", "off", "1", "FALSE" } },
        { "logger", "outputs", { "console", "jsonl, csv_bi", "CSV_BI", "console,jsonl,csv_bi" } },
        { "synth", "seed", { "0", "4294967295", "12345", "+7" } },
        { "osc", "targets", { "", "h:1", "osc.udp://h:9/, osc.tcp://k:10", "1.2.3.4:65535" } },
    };
    static const enum ictal_config_layer layers[] = {
        ICTAL_CONFIG_LAYER_MODEL, ICTAL_CONFIG_LAYER_SYSTEM, ICTAL_CONFIG_LAYER_USER,
        ICTAL_CONFIG_LAYER_PROFILE, ICTAL_CONFIG_LAYER_ENV, ICTAL_CONFIG_LAYER_CLI };
    for (int round = 0; round < 200; round++) {
        struct ictal_config *a = new_cfg();
        for (int j = 0; j < 8; j++) {
            size_t p = (size_t)test_rng_range(&rng, 0, sizeof pool / sizeof pool[0] - 1);
            const char *v = pool[p].vals[test_rng_range(&rng, 0, 3)];
            enum ictal_config_layer l = layers[test_rng_range(&rng, 0, 5)];
            assert_int_equal(ictal_config_set(a, l, "src ; with ; semicolons\n", pool[p].sec, pool[p].key, v), 0);
        }
        /* Doubles that need all 17 digits. */
        char v[64];
        random_value(&rng, "postproc", "threshold_on", v, sizeof v);
        assert_int_equal(ictal_config_set(a, ICTAL_CONFIG_LAYER_ENV, "e", "postproc", "threshold_on", v), 0);
        assert_int_equal(ictal_config_set(a, ICTAL_CONFIG_LAYER_ENV, "e", "postproc", "threshold_off", "0"), 0);
        struct ictal_error err;
        assert_int_equal(ictal_config_validate(a, &err), 0);

        char *snap = ictal_config_snapshot(a, ICTAL_CONFIG_PROG_ALL);
        assert_non_null(snap);
        struct ictal_config *b = new_cfg();
        if (ictal_config_load_string(b, "snap", snap, strlen(snap), ICTAL_CONFIG_LAYER_USER) != 0) {
            ictal_config_print_errors(b, stderr, "reparse");
            fail_msg("snapshot does not parse:\n%s", snap);
        }
        /* Every key reads back with the same printed value; doubles bit-exact. */
        char *snap2 = ictal_config_snapshot(b, ICTAL_CONFIG_PROG_ALL);
        assert_non_null(snap2);
        const char *pa = strchr(snap, '['), *pb = strchr(snap2, '[');
        assert_non_null(pa);
        assert_non_null(pb);
        assert_true(ictal_config_get_double(a, "postproc", "threshold_on") ==
                    ictal_config_get_double(b, "postproc", "threshold_on"));
        assert_true(ictal_config_get_double(a, "postproc", "min_duration") ==
                    ictal_config_get_double(b, "postproc", "min_duration"));
        for (size_t p = 0; p < sizeof pool / sizeof pool[0]; p++)
            assert_string_equal(ictal_config_get_string(a, pool[p].sec, pool[p].key),
                                ictal_config_get_string(b, pool[p].sec, pool[p].key));
        /* Values agree line by line (the sources differ: now "snap:N"). */
        test_assert_same_lines_before(pa, pb, " ; ");
        free(snap);
        free(snap2);
        ictal_config_destroy(a);
        ictal_config_destroy(b);
    }
}

static void test_snapshot_per_program(void **state)
{
    (void)state;
    struct ictal_config *cfg = new_cfg();
    char *s = ictal_config_snapshot(cfg, ICTAL_CONFIG_PROG_SYNTH);
    assert_non_null(s);
    assert_non_null(strstr(s, "[synth]\n"));
    assert_non_null(strstr(s, "[log]\n"));
    assert_null(strstr(s, "[postproc]"));
    assert_null(strstr(s, "[detect]"));
    free(s);
    s = ictal_config_snapshot(cfg, ICTAL_CONFIG_PROG_RUN);
    assert_non_null(strstr(s, "[postproc]\nthreshold_on = 0.5"));
    assert_null(strstr(s, "[jack]"));
    free(s);
    ictal_config_destroy(cfg);
}

static void test_snapshot_json(void **state)
{
    (void)state;
    struct ictal_config *cfg = new_cfg();
    assert_int_equal(ictal_config_set(cfg, ICTAL_CONFIG_LAYER_CLI, "option --x", "detect", "connect",
                                      "a:1, b\"q:2"), 0);
    char *j = ictal_config_snapshot_json(cfg, ICTAL_CONFIG_PROG_DETECT);
    assert_non_null(j);
    static const char *const must[] = {
        "\"postproc\":{\"threshold_on\":{\"value\":0.5,\"source\":\"default\"}",
        "\"max_duration\":{\"value\":300,",
        "\"confidence\":{\"value\":\"mean\",",
        "\"mlockall\":{\"value\":true,",
        "\"connect\":{\"value\":[\"a:1\",\"b\\\"q:2\"],\"source\":\"option --x\"}",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        if (!strstr(j, must[i]))
            fail_msg("JSON lacks %s:\n%s", must[i], j);
    assert_null(strstr(j, "\"synth\""));
    free(j);
    ictal_config_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_getter_misuse_gives_fallbacks),
        cmocka_unit_test(test_value_types),
        cmocka_unit_test(test_layer_precedence_property),
        cmocka_unit_test(test_layers_from_all_sources),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_file_errors_name_file_and_line),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_well_formed_variants),
        cmocka_unit_test(test_random_bytes_fuzz),
        cmocka_unit_test(test_environment),
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_contradictions),
        cmocka_unit_test(test_parse_args),
        cmocka_unit_test(test_setup_one_call),
        cmocka_unit_test(test_print_round_trip),
        cmocka_unit_test(test_snapshot_per_program),
        cmocka_unit_test(test_snapshot_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
