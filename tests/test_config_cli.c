/* The ictal-config program end to end: exit status and messages of --check,
 * --print (with --config, --profile, --set and the environment), --markdown,
 * and usage errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test_util.h"

struct run { int status; char *out, *err; };

/* Run `env ENV ictal-config ARGS` (a shell fragment), capturing both streams. */
static struct run run_tool(const char *env, const char *args)
{
    char out[512], err[512], cmd[4096];
    test_path(out, sizeof out, "cli.out");
    test_path(err, sizeof err, "cli.err");
    snprintf(cmd, sizeof cmd, "env -u ICTAL_PROFILE HOME=/nonexistent XDG_CONFIG_HOME= %s '%s' %s >'%s' 2>'%s'",
             env, ICTAL_CONFIG_EXE, args, out, err);
    int st = system(cmd);
    struct run r = { -1, NULL, NULL };
    if (st != -1 && WIFEXITED(st))
        r.status = WEXITSTATUS(st);
    r.out = test_read_file(out, NULL);
    r.err = test_read_file(err, NULL);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static void test_check_reports_errors_and_exits_1(void **state)
{
    (void)state;
    char path[512], args[1024];
    test_path(path, sizeof path, "bad.conf");
    const char *text = "[postproc]\nthreshold_onn = 0.6\nmin_duration = 10min\nmax_duration = 1min\n"
                       "[profile.p1]\npostproc.threshold_off = 0.9\n";
    assert_int_equal(test_write_file(path, text, strlen(text)), 0);
    snprintf(args, sizeof args, "--check '%s'", path);
    struct run r = run_tool("", args);
    assert_int_equal(r.status, 1);
    char want[700];
    snprintf(want, sizeof want, "ictal-config: %s:2: unknown key 'threshold_onn' in [postproc] "
             "(did you mean postproc.threshold_on?)", path);
    if (!strstr(r.err, want))
        fail_msg("stderr lacks \"%s\":\n%s", want, r.err);
    assert_non_null(strstr(r.err, "postproc.min_duration = 600s"));
    run_free(&r);

    /* A file valid by itself whose profile contradicts it. */
    text = "[postproc]\nthreshold_on = 0.6\n[profile.p1]\npostproc.threshold_off = 0.9\n";
    assert_int_equal(test_write_file(path, text, strlen(text)), 0);
    r = run_tool("", args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "with profile p1: postproc.threshold_off = 0.9"));
    run_free(&r);

    text = "[postproc]\nthreshold_on = 0.6\n[profile.p1]\npostproc.threshold_off = 0.5\n";
    assert_int_equal(test_write_file(path, text, strlen(text)), 0);
    r = run_tool("", args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "valid (1 profile)"));
    run_free(&r);
}

static void test_print_layers_and_round_trip(void **state)
{
    (void)state;
    char path[512], saved[512], args[2048];
    test_path(path, sizeof path, "print.conf");
    test_path(saved, sizeof saved, "saved.conf");
    const char *text = "[postproc]\nthreshold_on = 0.7\n[profile.night]\npostproc.n_on = 6\n";
    assert_int_equal(test_write_file(path, text, strlen(text)), 0);
    snprintf(args, sizeof args, "--print --program run --config '%s' --profile night --set postproc.closing=3s",
             path);
    struct run r = run_tool("ICTAL_POSTPROC_N_OFF=8", args);
    assert_int_equal(r.status, 0);
    char want[700];
    snprintf(want, sizeof want, "threshold_on = 0.7                       ; %s:2\n", path);
    if (!strstr(r.out, want))
        fail_msg("stdout lacks \"%s\":\n%s", want, r.out);
    assert_non_null(strstr(r.out, "n_on = 6                                 ; profile night at "));
    assert_non_null(strstr(r.out, "n_off = 8                                ; environment ICTAL_POSTPROC_N_OFF\n"));
    assert_non_null(strstr(r.out, "closing = 3s                             ; option --set postproc.closing\n"));
    assert_null(strstr(r.out, "[jack]"));
    /* Saved output fed back gives the same values. */
    assert_int_equal(test_write_file(saved, r.out, strlen(r.out)), 0);
    char *first = r.out;
    r.out = NULL;
    run_free(&r);
    snprintf(args, sizeof args, "--print --program run --config '%s'", saved);
    r = run_tool("", args);
    assert_int_equal(r.status, 0);
    for (const char *a = strchr(first, '['), *b = strchr(r.out, '['); a && b;) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        if (!ea || !eb)
            break;
        const char *ca = strstr(a, " ; "), *cb = strstr(b, " ; ");
        size_t na = ca && ca < ea ? (size_t)(ca - a) : (size_t)(ea - a);
        size_t nb = cb && cb < eb ? (size_t)(cb - b) : (size_t)(eb - b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        a = ea + 1;
        b = eb + 1;
    }
    free(first);
    run_free(&r);
}

static void test_print_errors_exit_1(void **state)
{
    (void)state;
    struct run r = run_tool("", "--print --config /nonexistent/x.conf");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "ictal-config: /nonexistent/x.conf: cannot open config file"));
    run_free(&r);
    r = run_tool("ICTAL_OSC_PORT=0", "--print --set postproc.n_on=0");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "environment ICTAL_OSC_PORT: osc.port: 0 is out of range [1, 65535]"));
    assert_non_null(strstr(r.err, "option --set postproc.n_on: postproc.n_on: 0 is out of range"));
    assert_string_equal(r.out, "");
    run_free(&r);
}

static void test_usage_and_markdown(void **state)
{
    (void)state;
    struct run r = run_tool("", "");
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run_tool("", "--bogus");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unexpected argument '--bogus'"));
    run_free(&r);
    r = run_tool("", "--markdown");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "# Configuration\n"));
    run_free(&r);
    r = run_tool("", "--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--print-config"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_reports_errors_and_exits_1),
        cmocka_unit_test(test_print_layers_and_round_trip),
        cmocka_unit_test(test_print_errors_exit_1),
        cmocka_unit_test(test_usage_and_markdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
