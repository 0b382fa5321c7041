/* Error codes and reports: every code has its own description, reports are
 * filled, truncated safely and tolerate a NULL report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ictal/error.h"

static void test_codes_have_distinct_descriptions(void **state)
{
    (void)state;
    for (int a = ICTAL_ESERVER; a <= ICTAL_OK; a++) {
        assert_string_not_equal(ictal_strerror(a), "unknown error");
        for (int b = ICTAL_ESERVER; b < a; b++)
            assert_string_not_equal(ictal_strerror(a), ictal_strerror(b));
    }
    assert_string_equal(ictal_strerror(-999), "unknown error");
    assert_string_equal(ictal_strerror(5), "unknown error");
}

static void test_set_fills_and_returns_code(void **state)
{
    (void)state;
    struct ictal_error err;
    ictal_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
    int rc = ictal_error_set(&err, ICTAL_EFORMAT, "%s: signal %d: bad label", "x.edf", 3);
    assert_int_equal(rc, ICTAL_EFORMAT);
    assert_int_equal(err.code, ICTAL_EFORMAT);
    assert_string_equal(err.msg, "x.edf: signal 3: bad label");
}

static void test_set_truncates_long_messages(void **state)
{
    (void)state;
    struct ictal_error err;
    char big[2 * ICTAL_ERROR_MSG_MAX];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ictal_error_set(&err, ICTAL_EINVAL, "%s", big);
    assert_int_equal(strlen(err.msg), ICTAL_ERROR_MSG_MAX - 1);
}

static void test_null_report_is_allowed(void **state)
{
    (void)state;
    assert_int_equal(ictal_error_set(NULL, ICTAL_EIO, "ignored %d", 1), ICTAL_EIO);
    ictal_error_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_have_distinct_descriptions),
        cmocka_unit_test(test_set_fills_and_returns_code),
        cmocka_unit_test(test_set_truncates_long_messages),
        cmocka_unit_test(test_null_report_is_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
