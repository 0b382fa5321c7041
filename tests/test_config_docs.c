/* The generated documents cannot drift from the key table: docs/configuration.md
 * and rt-config/ictal.conf.example must equal what the table generates now
 * (regenerate with `cmake --build BUILD --target config-docs`), and the example
 * must itself be a valid config file that changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/config.h"
#include "test_util.h"

static void compare_with_file(const char *generated, const char *path)
{
    assert_non_null(generated);
    size_t len = 0;
    char *committed = test_read_file(path, &len);
    if (!committed)
        fail_msg("%s is missing; generate it with `cmake --build BUILD --target config-docs`", path);
    size_t glen = strlen(generated);
    if (len != glen || memcmp(committed, generated, len) != 0) {
        /* Point at the first differing line to make the failure actionable. */
        size_t i = 0, line = 1;
        while (i < len && i < glen && committed[i] == generated[i])
            line += committed[i++] == '\n';
        free(committed);
        fail_msg("%s differs from the key table at line %zu; regenerate it with "
                 "`cmake --build BUILD --target config-docs` (or ictal-config --markdown/--example -o FILE)",
                 path, line);
    }
    free(committed);
}

static void test_markdown_matches_table(void **state)
{
    (void)state;
    char *md = ictal_config_markdown();
    compare_with_file(md, ICTAL_CONFIG_DOCS_FILE);
    /* Every section appears as a heading; the postproc names are all there. */
    static const char *const must[] = { "### `[postproc]`", "### `[log]`", "### `[logger]`",
        "`threshold_on`", "`threshold_off`", "`n_on`", "`n_off`", "`opening`", "`closing`",
        "`min_duration`", "`merge_gap`", "`max_duration`", "`confidence`", "`confidence_percentile`" };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        if (!strstr(md, must[i]))
            fail_msg("docs lack %s", must[i]);
    free(md);
}

/* The INI sample in the docs is itself a valid config file. */
static void test_markdown_sample_is_valid(void **state)
{
    (void)state;
    char *md = ictal_config_markdown();
    assert_non_null(md);
    char *start = strstr(md, "```ini\n");
    assert_non_null(start);
    start += 7;
    char *end = strstr(start, "```");
    assert_non_null(end);
    struct ictal_error err;
    struct ictal_config *cfg = ictal_config_create(&err);
    assert_non_null(cfg);
    if (ictal_config_load_string(cfg, "docs-sample", start, (size_t)(end - start),
                                 ICTAL_CONFIG_LAYER_USER) != 0) {
        ictal_config_print_errors(cfg, stderr, "docs");
        fail_msg("the docs' INI sample does not load");
    }
    assert_int_equal(ictal_config_use_profile(cfg, "patient07", "test"), 0);
    assert_int_equal(ictal_config_validate(cfg, &err), 0);
    const char *const *items;
    assert_int_equal(ictal_config_get_list(cfg, "detect", "connect", &items), 3);
    assert_true(ictal_config_get_double(cfg, "postproc", "merge_gap") == 90);
    assert_true(ictal_config_get_double(cfg, "postproc", "threshold_on") == 0.72);
    ictal_config_destroy(cfg);
    free(md);
}

static void test_example_matches_table_and_is_valid(void **state)
{
    (void)state;
    char *ex = ictal_config_example();
    compare_with_file(ex, ICTAL_CONFIG_EXAMPLE_FILE);
    struct ictal_error err;
    struct ictal_config *cfg = ictal_config_create(&err);
    assert_non_null(cfg);
    assert_int_equal(ictal_config_load_string(cfg, "example", ex, strlen(ex), ICTAL_CONFIG_LAYER_USER), 0);
    assert_int_equal(ictal_config_validate(cfg, &err), 0);
    assert_string_equal(ictal_config_get_source(cfg, "postproc", "threshold_on"), "default");
    /* Uncommenting every key line gives the defaults again, from the file. */
    size_t n = strlen(ex);
    char *un = malloc(n + 1);
    assert_non_null(un);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        bool bol = i == 0 || ex[i - 1] == '\n';
        if (bol && ex[i] == ';' && strncmp(ex + i, ";[profile", 9) != 0 &&
            strncmp(ex + i, ";postproc.", 10) != 0)
            continue;
        un[o++] = ex[i];
    }
    un[o] = '\0';
    struct ictal_config *c2 = ictal_config_create(&err);
    assert_non_null(c2);
    if (ictal_config_load_string(c2, "uncommented", un, o, ICTAL_CONFIG_LAYER_USER) != 0) {
        ictal_config_print_errors(c2, stderr, "example");
        fail_msg("uncommented example does not load");
    }
    assert_int_equal(ictal_config_validate(c2, &err), 0);
    assert_int_equal(ictal_config_get_layer(c2, "postproc", "threshold_on"), ICTAL_CONFIG_LAYER_USER);
    char *s1 = ictal_config_snapshot(cfg, ICTAL_CONFIG_PROG_ALL);
    char *s2 = ictal_config_snapshot(c2, ICTAL_CONFIG_PROG_ALL);
    assert_non_null(s1);
    assert_non_null(s2);
    /* Same values: compare with the source comments cut off. */
    test_assert_same_lines_before(s1, s2, " ; ");
    free(s1);
    free(s2);
    free(un);
    free(ex);
    ictal_config_destroy(cfg);
    ictal_config_destroy(c2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markdown_matches_table),
        cmocka_unit_test(test_markdown_sample_is_valid),
        cmocka_unit_test(test_example_matches_table_and_is_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
