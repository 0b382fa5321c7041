/*
 * test_synth_cli.c — the ictal-synth program: --help, an error naming the
 * option for every kind of bad value, identical files for identical command
 * lines, the --dataset patient data set with its CHB-MIT-style summary, and
 * the shared configuration (issue 8): --print-config with the source of each
 * value (option, FILE:LINE, environment, profile, system and user files),
 * layering, errors naming the file and line or variable with nothing written,
 * and --profile selecting a configuration profile.
 * Runs the binary built in ICTAL_BUILD_DIR/tools. The system and user config
 * files are redirected into the scratch directory (ICTAL_SYSCONFDIR,
 * XDG_CONFIG_HOME) so the machine's own files never take part.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_util.h"

static char prog[1024];

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("ICTAL_BUILD_DIR");
    if (!b)
        return -1;
    snprintf(prog, sizeof prog, "%s/tools/ictal-synth", b);
    return 0;
}

/* Run `env ENV ictal-synth ARGS` (shell words) in the scratch directory,
 * stdout/stderr into files there; returns the exit status and the captured
 * stderr. The system config directory is T/etc and the user's is T/xdg. */
static int run_env(const char *env, const char *args, char *err, size_t cap)
{
    char out[512], errp[512], cmd[4096];
    test_path(out, sizeof out, "stdout.txt");
    test_path(errp, sizeof errp, "stderr.txt");
    snprintf(cmd, sizeof cmd,
             "cd '%s' && env -u ICTAL_PROFILE ICTAL_SYSCONFDIR='%s/etc' XDG_CONFIG_HOME='%s/xdg' "
             "%s '%s' %s >'%s' 2>'%s'",
             test_tmpdir(), test_tmpdir(), test_tmpdir(), env ? env : "", prog, args, out, errp);
    int st = system(cmd);
    size_t len = 0;
    char *e = test_read_file(errp, &len);
    if (err && cap) {
        size_t n = e ? (len < cap - 1 ? len : cap - 1) : 0;
        if (n)
            memcpy(err, e, n);
        err[n] = '\0';
    }
    free(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run(const char *args, char *err, size_t cap)
{
    return run_env(NULL, args, err, cap);
}

/* A file of the scratch directory as a string (NULL if missing). */
static char *read_text(const char *name)
{
    char p[512];
    return test_read_file(test_path(p, sizeof p, name), NULL);
}

static void write_text(const char *name, const char *text)
{
    char p[512];
    assert_int_equal(test_write_file(test_path(p, sizeof p, name), text, strlen(text)), 0);
}

static bool exists(const char *name)
{
    char p[512];
    struct stat st;
    return stat(test_path(p, sizeof p, name), &st) == 0;
}

/* The --print-config line of `key` must read "key = VALUE ... ; SOURCE". */
static void expect_line(const char *out, const char *key, const char *value, const char *source)
{
    char head[128];
    snprintf(head, sizeof head, "\n%s = ", key);
    const char *l = strstr(out, head);
    if (!l)
        fail_msg("no line for %s in:\n%s", key, out);
    l += strlen(head);
    const char *eol = strchr(l, '\n');
    size_t n = eol ? (size_t)(eol - l) : strlen(l);
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)n, l);
    const char *semi = strstr(line, " ; ");
    if (!semi)
        fail_msg("%s: no source comment in '%s'", key, line);
    size_t vl = (size_t)(semi - line);
    while (vl > 0 && line[vl - 1] == ' ')
        vl--;
    if (strlen(value) != vl || strncmp(line, value, vl) != 0 || strcmp(semi + 3, source) != 0)
        fail_msg("%s: got '%s', want value '%s' from '%s'", key, line, value, source);
}

/* Run a --print-config and return its stdout (exit status must be 0). */
static char *print_config(const char *env, const char *args)
{
    char cmd[2048], err[2048];
    snprintf(cmd, sizeof cmd, "--print-config %s", args);
    int rc = run_env(env, cmd, err, sizeof err);
    if (rc != 0)
        fail_msg("ictal-synth %s: exit %d, stderr '%s'", cmd, rc, err);
    char *out = read_text("stdout.txt");
    assert_non_null(out);
    return out;
}

static void expect_bad(const char *args, int code, const char *must_name)
{
    char err[2048];
    int rc = run(args, err, sizeof err);
    if (rc != code || !strstr(err, must_name))
        fail_msg("ictal-synth %s: exit %d (want %d), stderr '%s' should name '%s'", args, rc, code,
                 err, must_name);
}

static void test_help_and_errors(void **state)
{
    (void)state;
    char err[2048];
    assert_int_equal(run("--help", err, sizeof err), 0);
    char out[512];
    size_t len;
    char *o = test_read_file(test_path(out, sizeof out, "stdout.txt"), &len);
    assert_non_null(o);
    assert_true(len > 500);
    assert_non_null(memchr(o, '-', len));
    free(o);
    expect_bad("-o x.edf --rate 100", 2, "--rate");
    expect_bad("-o x.edf --rate 256.5", 2, "--rate");
    expect_bad("-o x.edf --duration 1x", 2, "--duration");
    expect_bad("-o x.edf --duration 25h", 2, "--duration");
    expect_bad("-o x.edf --duration 0", 2, "--duration");
    expect_bad("-o x.edf --duration 10.5s", 2, "--duration");
    expect_bad("-o x.edf --montage banana", 2, "--montage");
    expect_bad("-o x.edf --seizures -1", 2, "--seizures");
    expect_bad("-o x.edf --seed abc", 2, "--seed");
    expect_bad("-o x.edf --patient -3", 2, "--patient");
    expect_bad("-o x.edf --files 0", 2, "--files");
    expect_bad("-o x.edf --hum 2000", 2, "--hum");
    expect_bad("-o x.edf --subject 'a b'", 2, "--subject");
    expect_bad("-o x.edf --seizure-min 2", 2, "--seizure-min");
    expect_bad("-o x.edf --no-sleep=yes", 2, "--no-sleep");
    expect_bad("-o x.edf --set synth.ratee=512", 2, "did you mean synth.rate");
    expect_bad("-o x.edf --seizure-type tonic", 2, "--seizure-type");
    expect_bad("-o x.edf --mains 55", 2, "--mains");
    expect_bad("-o x.edf --artifacts 100", 2, "--artifacts");
    expect_bad("-o x.edf --artifact-kinds blink,sneeze", 2, "--artifact-kinds");
    expect_bad("-o x.edf --start 1970-01-01T00:00:00", 2, "--start");
    expect_bad("-o x.edf --seizure-min 20 --seizure-max 10", 2, "--seizure-max");
    expect_bad("-o x.edf --frobnicate", 2, "--frobnicate");
    expect_bad("-o", 2, "-o");
    expect_bad("-r", 2, "-r");
    expect_bad("-o x.edf extra", 2, "extra");
    expect_bad("-o x.edf --dataset d", 2, "exclude each other");
    expect_bad("--duration 10", 2, "no output");
    /* well-formed but impossible: the library's message names the field */
    expect_bad("-o x.edf --duration 30 --seizures 10", 1, "seizures");
    expect_bad("-o /nonexistent-dir/x.edf --duration 5 --seizures 0", 1, "/nonexistent-dir/x");
}

static void test_identical_runs(void **state)
{
    (void)state;
#define ARGS "--duration 30 --montage referential --seizures 1 --seed 7 " \
             "--seizure-min 5 --seizure-max 8 --artifacts 4 -q -o "
    const char *a1 = ARGS "one.edf", *a2 = ARGS "two.edf";
    assert_int_equal(run(a1, NULL, 0), 0);
    assert_int_equal(run(a2, NULL, 0), 0);
    const char *ext[] = {".edf", ".csv_bi", ".csv", "_events.tsv"};
    for (int i = 0; i < 4; i++) {
        char p1[512], p2[512], n1[64], n2[64];
        snprintf(n1, sizeof n1, "one%s", ext[i]);
        snprintf(n2, sizeof n2, "two%s", ext[i]);
        size_t l1, l2;
        char *b1 = test_read_file(test_path(p1, sizeof p1, n1), &l1);
        char *b2 = test_read_file(test_path(p2, sizeof p2, n2), &l2);
        assert_non_null(b1);
        assert_non_null(b2);
        if (i == 0 || i == 3) { /* the CSVs carry their own base name */
            assert_int_equal(l1, l2);
            assert_memory_equal(b1, b2, l1);
        }
        free(b1);
        free(b2);
    }
}

static void test_dataset(void **state)
{
    (void)state;
    assert_int_equal(run("--dataset pset --patient 12 --files 3 --duration 2m --seizures 1 "
                         "--seizure-min 10 --seizure-max 20 -q", NULL, 0), 0);
    char p[512];
    size_t len;
    char *raw = test_read_file(test_path(p, sizeof p, "pset/syn12-summary.txt"), &len);
    assert_non_null(raw);
    char *t = malloc(len + 1);
    memcpy(t, raw, len);
    t[len] = '\0';
    free(raw);
    assert_true(strncmp(t, "Data Sampling Rate: 256 Hz\n*************************\n\n"
                           "Channels in EDF Files:\n**********************\nChannel 1: FP1-F7\n",
                        100) == 0);
    assert_non_null(strstr(t, "Channel 15: T8-P8\n"));
    assert_non_null(strstr(t, "Channel 23: T8-P8\n"));
    assert_non_null(strstr(t, "File Name: syn12_01.edf\nFile Start Time: 09:00:00\n"
                              "File End Time: 09:02:00\nNumber of Seizures in File: 1\n"
                              "Seizure 1 Start Time: "));
    assert_non_null(strstr(t, "File Name: syn12_03.edf\n"));
    int n = 0;
    for (const char *q = t; (q = strstr(q, "Seizure 1 End Time: ")) != NULL; q++)
        n++;
    assert_int_equal(n, 3);
    free(t);
    for (int f = 1; f <= 3; f++) {
        char name[64];
        snprintf(name, sizeof name, "pset/syn12_%02d_events.tsv", f);
        char *e = test_read_file(test_path(p, sizeof p, name), &len);
        assert_non_null(e);
        free(e);
    }
}

/* Each layer shows up in --print-config with its source; higher layers win. */
static void test_print_config_sources(void **state)
{
    (void)state;
    /* command line, long and short options, "later wins" in order */
    char *o = print_config(NULL, "--rate 512 -d 90 --seed=9 --no-sleep -q");
    expect_line(o, "rate", "512", "option --rate");
    expect_line(o, "duration", "90s", "option --duration");
    expect_line(o, "seed", "9", "option --seed");
    expect_line(o, "sleep", "false", "option --no-sleep");
    expect_line(o, "montage", "chbmit", "default");
    expect_line(o, "start", "2020-01-01T09:00:00", "default");
    assert_non_null(strstr(o, "\n[synth]\n"));
    assert_non_null(strstr(o, "\n[log]\nlevel = info"));
    assert_null(strstr(o, "[postproc]")); /* only the sections ictal-synth uses */
    free(o);
    o = print_config(NULL, "-r 512 --rate 1024 --set synth.seizures=4");
    expect_line(o, "rate", "1024", "option --rate");
    expect_line(o, "seizures", "4", "option --set synth.seizures");
    free(o);
    o = print_config(NULL, "--rate 1024 -r512");
    expect_line(o, "rate", "512", "option --rate");
    free(o);

    /* --config FILE with FILE:LINE; a profile from it; environment; option */
    write_text("a.conf", "# synth settings\n[synth]\nrate = 1024\nmontage = referential\n"
                         "start = 2021-02-03T04:05:06\n\n[log]\ntimestamps = yes\n\n"
                         "[profile.fast]\nsynth.duration = 20s\nsynth.rate = 2048\n"
                         "synth.seizures = 0\n");
    o = print_config(NULL, "--config a.conf");
    expect_line(o, "rate", "1024", "a.conf:3");
    expect_line(o, "montage", "referential", "a.conf:4");
    expect_line(o, "start", "2021-02-03T04:05:06", "a.conf:5");
    expect_line(o, "timestamps", "true", "a.conf:8");
    expect_line(o, "duration", "3600s", "default");
    free(o);
    o = print_config(NULL, "--config a.conf --profile fast");
    expect_line(o, "duration", "20s", "profile fast at a.conf:11");
    expect_line(o, "rate", "2048", "profile fast at a.conf:12");
    expect_line(o, "montage", "referential", "a.conf:4");
    free(o);
    o = print_config("ICTAL_PROFILE=fast ICTAL_SYNTH_SEED=77 ICTAL_SYNTH_RATE=128",
                     "--config a.conf");
    expect_line(o, "duration", "20s", "profile fast at a.conf:11");
    expect_line(o, "seed", "77", "environment ICTAL_SYNTH_SEED");
    expect_line(o, "rate", "128", "environment ICTAL_SYNTH_RATE");
    free(o);
    o = print_config("ICTAL_SYNTH_SEED=77 ICTAL_SYNTH_RATE=128", "--config a.conf -s 5");
    expect_line(o, "seed", "5", "option --seed");
    expect_line(o, "rate", "128", "environment ICTAL_SYNTH_RATE");
    free(o);

    /* the system file, then the user's ($XDG_CONFIG_HOME) on top */
    char p[512];
    mkdir(test_path(p, sizeof p, "etc"), 0777);
    mkdir(test_path(p, sizeof p, "xdg"), 0777);
    mkdir(test_path(p, sizeof p, "xdg/ictal"), 0777);
    write_text("etc/ictal.conf", "[synth]\nhum = 3\nseizures = 2\n");
    write_text("xdg/ictal/ictal.conf", "[synth]\nhum = 4.5\n");
    o = print_config(NULL, "");
    char src[600];
    snprintf(src, sizeof src, "%s/etc/ictal.conf:3", test_tmpdir());
    expect_line(o, "seizures", "2", src);
    snprintf(src, sizeof src, "%s/xdg/ictal/ictal.conf:2", test_tmpdir());
    expect_line(o, "hum", "4.5", src);
    free(o);
    o = print_config(NULL, "--config a.conf"); /* --config replaces both */
    expect_line(o, "hum", "0", "default");
    free(o);
    remove(test_path(p, sizeof p, "etc/ictal.conf"));
    remove(test_path(p, sizeof p, "xdg/ictal/ictal.conf"));

    /* the printout is a config file: fed back, it gives the same values */
    o = print_config(NULL, "--config a.conf --profile fast --seed 31 --artifact-kinds pop,clip");
    write_text("saved.conf", o);
    free(o);
    o = print_config(NULL, "--config saved.conf");
    char *line = strstr(o, "\nseed = 31 ");
    assert_non_null(line);
    assert_non_null(strstr(o, "\nduration = 20s "));
    assert_non_null(strstr(o, "\nartifact_kinds = pop, clip "));
    assert_non_null(strstr(o, "\nmontage = referential "));
    free(o);
    assert_false(exists("x.edf"));
}

/* Bad values from a file, a profile or the environment name where they came
 * from, exit 2 and write nothing. */
static void test_config_errors(void **state)
{
    (void)state;
    char err[2048];
    char p[512];
    /* leftovers of an earlier run must not pass for output of this one */
    remove(test_path(p, sizeof p, "bad.edf"));
    remove(test_path(p, sizeof p, "bad_events.tsv"));
    write_text("bad.conf", "[synth]\nseizures = 2\nrate = 100\n");
    int rc = run("--config bad.conf -o bad.edf", err, sizeof err);
    if (rc != 2 || !strstr(err, "bad.conf:3") || !strstr(err, "synth.rate"))
        fail_msg("exit %d, stderr '%s'", rc, err);
    assert_false(exists("bad.edf"));
    assert_false(exists("bad_events.tsv"));

    /* a check of ictal-synth's own (whole seconds) names FILE:LINE too */
    write_text("bad2.conf", "[synth]\n\nduration = 10.5s\n");
    rc = run("--config bad2.conf -o bad.edf", err, sizeof err);
    if (rc != 2 || !strstr(err, "bad2.conf:3") || !strstr(err, "whole seconds"))
        fail_msg("exit %d, stderr '%s'", rc, err);
    assert_false(exists("bad.edf"));

    write_text("bad3.conf", "[synth]\nmontag = chbmit\n[profile.p]\nsynth.start = yesterday\n");
    rc = run("--config bad3.conf --dataset badset", err, sizeof err);
    if (rc != 2 || !strstr(err, "bad3.conf:2") || !strstr(err, "did you mean synth.montage"))
        fail_msg("exit %d, stderr '%s'", rc, err);
    assert_false(exists("badset"));
    write_text("bad3.conf", "[synth]\n[profile.p]\nsynth.start = yesterday\n");
    rc = run("--config bad3.conf --profile p --dataset badset", err, sizeof err);
    if (rc != 2 || !strstr(err, "profile p at bad3.conf:3") || !strstr(err, "synth.start"))
        fail_msg("exit %d, stderr '%s'", rc, err);
    assert_false(exists("badset"));

    rc = run_env("ICTAL_SYNTH_MONTAGE=banana", "-o bad.edf", err, sizeof err);
    if (rc != 2 || !strstr(err, "ICTAL_SYNTH_MONTAGE"))
        fail_msg("exit %d, stderr '%s'", rc, err);
    rc = run_env("ICTAL_SYNTH_SEIZURE_MIN=20 ICTAL_SYNTH_SEIZURE_MAX=10", "-o bad.edf", err,
                 sizeof err);
    if (rc != 2 || !strstr(err, "environment ICTAL_SYNTH_SEIZURE_MAX"))
        fail_msg("exit %d, stderr '%s'", rc, err);
    rc = run("--config missing.conf -o bad.edf", err, sizeof err);
    if (rc != 2 || !strstr(err, "missing.conf"))
        fail_msg("exit %d, stderr '%s'", rc, err);
    assert_false(exists("bad.edf"));
    /* --print-config validates too */
    expect_bad("--print-config --rate 4096", 2, "--rate");
}

/* --profile selects a configuration profile (not a data-set directory any
 * more), and the profile's values reach the generated recording. */
static void test_profile_selects_config(void **state)
{
    (void)state;
    char err[2048];
    char p[512];
    mkdir(test_path(p, sizeof p, "olddir"), 0777);
    int rc = run("--profile olddir --files 2 --duration 10", err, sizeof err);
    if (rc != 2 || !strstr(err, "unknown profile 'olddir'") || !strstr(err, "--dataset"))
        fail_msg("exit %d, stderr '%s'", rc, err);
    assert_false(exists("olddir/syn01-summary.txt"));

    remove(test_path(p, sizeof p, "short.edf"));
    write_text("p.conf", "[profile.short]\nsynth.duration = 12\nsynth.rate = 512\n"
                         "synth.seizures = 0\nsynth.subject = pat07\n");
    assert_int_equal(run("--config p.conf --profile short -o short.edf", err, sizeof err), 0);
    char *o = read_text("stdout.txt");
    assert_non_null(o);
    assert_non_null(strstr(o, "short.edf: 23 channels, 512 Hz, 12 s, 0 seizure(s)"));
    free(o);
    size_t len;
    char *edf = test_read_file(test_path(p, sizeof p, "short.edf"), &len);
    assert_non_null(edf);
    assert_true(len > 256);
    assert_memory_equal(edf + 8, "pat07 ", 6); /* EDF+ patient code */
    free(edf);
}

/* [log] applies to ictal-synth's error messages. */
static void test_log_settings(void **state)
{
    (void)state;
    char err[2048];
    int rc = run("--set log.timestamps=true --set log.color=never "
                 "-o /nonexistent-dir/x.edf --duration 5 --seizures 0", err, sizeof err);
    assert_int_equal(rc, 1);
    /* "YYYY-MM-DDTHH:MM:SS ictal-synth: ..." */
    if (!(strlen(err) > 20 && err[4] == '-' && err[10] == 'T' &&
          strncmp(err + 20, "ictal-synth: ", 13) == 0))
        fail_msg("stderr '%s'", err);
    rc = run("-o /nonexistent-dir/x.edf --duration 5 --seizures 0", err, sizeof err);
    assert_int_equal(rc, 1);
    assert_int_equal(strncmp(err, "ictal-synth: ", 13), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_errors),
        cmocka_unit_test(test_identical_runs),
        cmocka_unit_test(test_dataset),
        cmocka_unit_test(test_print_config_sources),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_profile_selects_config),
        cmocka_unit_test(test_log_settings),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
