/* Tests for sdk/common/env.c: the OTel rules for reading variables. */
#include "support/test_support.h"
#include "sdk/internal.h"

#include <stdlib.h>

#define VAR "CTEL_TEST_VAR"

static void test_empty_is_unset(void **state)
{
    (void)state;
    setenv(VAR, "", 1);
    assert_null(ctel__env_get(VAR));
    assert_true(ctel__env_bool(VAR, true));
    int64_t v = 7;
    assert_false(ctel__env_int(VAR, 0, 10, &v));
    assert_int_equal(v, 7);
    unsetenv(VAR);
    assert_null(ctel__env_get(VAR));
}

static void test_bool(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        bool dflt, want, warns;
    } cases[] = {
        {"true", false, true, false},  {"TRUE", false, true, false}, {" True ", false, true, false},
        {"false", true, false, false}, {"False", true, false, false}, {"1", true, false, true},
        {"yes", false, false, true},   {"truex", true, false, true}, {"t\x01", true, false, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv(VAR, cases[i].v, 1);
        ts_log_capture_start();
        bool got = ctel__env_bool(VAR, cases[i].dflt);
        ts_log_capture_stop();
        if (got != cases[i].want)
            fail_msg("%s: got %d", cases[i].v, got);
        assert_int_equal(ts_log_count() > 0, cases[i].warns);
        if (cases[i].warns)
            assert_true(ts_log_contains(VAR));
    }
    unsetenv(VAR);
    assert_true(ctel__env_bool(VAR, true));
    assert_false(ctel__env_bool(VAR, false));
}

static void test_int_and_duration(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        bool ok;
        int64_t want;
    } cases[] = {
        {"42", true, 42},          {" 42\t", true, 42},    {"0", true, 0},
        {"-1", false, 0},          {"abc", false, 0},      {"4x", false, 0},
        {"99999999999", false, 0}, {"1.5", false, 0},      {"2147483647", true, 2147483647},
        {"2147483648", false, 0},  {"+7", true, 7},        {"0x10", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv(VAR, cases[i].v, 1);
        int64_t v = -99;
        ts_log_capture_start();
        bool ok = ctel__env_int(VAR, 0, INT32_MAX, &v);
        ts_log_capture_stop();
        if (ok != cases[i].ok || (ok && v != cases[i].want))
            fail_msg("%s: ok=%d v=%lld", cases[i].v, ok, (long long)v);
        assert_int_equal(ts_log_count() > 0, !cases[i].ok);
        if (!ok)
            assert_int_equal(v, -99);
    }
    setenv(VAR, "-5", 1);
    int64_t d;
    ts_log_capture_start();
    assert_false(ctel__env_duration_ms(VAR, &d)); /* negative duration: default */
    ts_log_capture_stop();
    assert_true(ts_log_contains(VAR));
    setenv(VAR, "0", 1);
    assert_true(ctel__env_duration_ms(VAR, &d));
    assert_int_equal(d, 0);
    unsetenv(VAR);
}

static void test_enum(void **state)
{
    (void)state;
    static const char *const names[] = {"alpha", "beta", NULL};
    setenv(VAR, "BETA", 1);
    assert_int_equal(ctel__env_enum(VAR, names), 1);
    setenv(VAR, " alpha ", 1);
    assert_int_equal(ctel__env_enum(VAR, names), 0);
    setenv(VAR, "gamma", 1);
    ts_log_capture_start();
    assert_int_equal(ctel__env_enum(VAR, names), -1);
    ts_log_capture_stop();
    assert_true(ts_log_contains("gamma"));
    unsetenv(VAR);
    assert_int_equal(ctel__env_enum(VAR, names), -1);
}

static void test_untrusted_values_are_quoted_safely(void **state)
{
    (void)state;
    char long_value[300];
    memset(long_value, 'z', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    long_value[3] = '\n';
    setenv(VAR, long_value, 1);
    ts_log_capture_start();
    assert_false(ctel__env_bool(VAR, false));
    ts_log_capture_stop();
    assert_true(ts_log_contains("\\x0a")); /* the newline is escaped */
    assert_true(ts_log_contains("..."));   /* and the value cut short */
    unsetenv(VAR);
    assert_true(ctel__str_ieq("AbC", "aBc"));
    assert_false(ctel__str_ieq("abc", "abcd"));
    assert_true(ctel__mem_ieq("HEllo", "heLLo", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_unset),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_int_and_duration),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_untrusted_values_are_quoted_safely),
    };
    return cmocka_run_group_tests_name("sdk/common/env", tests, NULL, NULL);
}
