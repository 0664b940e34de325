/* Tests for sdk/common/log.c: OTEL_LOG_LEVEL, the handler, rate limiting. */
#include "support/test_support.h"
#include "sdk/internal.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* OTEL_LOG_LEVEL is read once per process: check other values in children.
 * Returns the child's exit status: bit 0 = warn enabled, bit 1 = info
 * enabled, bit 2 = debug enabled. */
static int level_in_child(const char *value)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (value)
            setenv("OTEL_LOG_LEVEL", value, 1);
        else
            unsetenv("OTEL_LOG_LEVEL");
        int bits = (ctel__log_enabled(CTEL_LOG_WARN) ? 1 : 0) |
                   (ctel__log_enabled(CTEL_LOG_INFO) ? 2 : 0) |
                   (ctel__log_enabled(CTEL_LOG_DEBUG) ? 4 : 0);
        _exit(bits);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_env_level_filters(void **state)
{
    (void)state;
    /* main() set OTEL_LOG_LEVEL=error before the first diagnostic. */
    ctel_set_log_handler(NULL, NULL);
    assert_false(ctel__log_enabled(CTEL_LOG_WARN));
    assert_true(ctel__log_enabled(CTEL_LOG_ERROR));
    assert_false(ctel__log_enabled(CTEL_LOG_NONE));
}

static void test_env_level_values_in_fresh_processes(void **state)
{
    (void)state;
    assert_int_equal(level_in_child(NULL), 1 | 2);      /* default: info */
    assert_int_equal(level_in_child("debug"), 1 | 2 | 4);
    assert_int_equal(level_in_child("Warn"), 1);
    assert_int_equal(level_in_child("none"), 0);
    assert_int_equal(level_in_child("loud"), 1 | 2);    /* invalid: info */
    assert_int_equal(level_in_child(""), 1 | 2);        /* empty = unset */
}

static void test_handler_receives_messages(void **state)
{
    (void)state;
    ts_log_capture_start(); /* sets level debug */
    ctel__log(CTEL_LOG_WARN, "value %d of %s", 42, "x");
    assert_true(ts_log_contains("value 42 of x"));
    ts_log_capture_stop();
    ctel_set_log_level(CTEL_LOG_NONE);
    assert_false(ctel__log_enabled(CTEL_LOG_ERROR));
    ctel_set_log_level((ctel_log_level)99); /* ignored */
    assert_false(ctel__log_enabled(CTEL_LOG_ERROR));
}

static void test_rate_limited_site(void **state)
{
    (void)state;
    ts_log_capture_start();
    for (int i = 0; i < 100; i++)
        CTEL_LOG_LIMITED(CTEL_LOG_WARN, "flood %d", i);
    assert_int_equal(ts_log_count(), CTEL__LOG_BURST);
    assert_true(ts_log_contains("flood 0"));
    assert_false(ts_log_contains("flood 5"));
    ts_log_capture_stop();
}

/* Once the window has passed, the next message gets through and says how
 * many were suppressed in between. */
static void test_rate_limited_site_reports_suppressed(void **state)
{
    (void)state;
    static ctel__log_site site;
    ts_log_capture_start();
    for (int i = 0; i < CTEL__LOG_BURST + 7; i++)
        ctel__log_limited(&site, CTEL_LOG_WARN, "burst %d", i);
    assert_int_equal(ts_log_count(), CTEL__LOG_BURST);
    atomic_store(&site.window_start_ns, 0); /* the window is over */
    ctel__log_limited(&site, CTEL_LOG_WARN, "after");
    assert_int_equal(ts_log_count(), CTEL__LOG_BURST + 1);
    assert_true(ts_log_contains("after (7 similar messages suppressed)"));
    ts_log_capture_stop();
}

static void test_long_messages_are_truncated_not_overflowed(void **state)
{
    (void)state;
    ts_log_capture_start();
    char big[4000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ctel__log(CTEL_LOG_ERROR, "%s", big);
    assert_int_equal(ts_log_count(), 1);
    ts_log_capture_stop();
}

static void test_status_strings(void **state)
{
    (void)state;
    assert_string_equal(ctel_status_str(CTEL_OK), "ok");
    assert_string_equal(ctel_status_str(CTEL_ERR_UNAVAILABLE), "unavailable (retryable)");
    assert_string_equal(ctel_status_str((ctel_status)1234), "unknown status");
    for (int s = 0; s <= CTEL_ERR_INTERNAL; s++)
        assert_string_not_equal(ctel_status_str((ctel_status)s), "unknown status");
    assert_string_equal(ctel_version(), CTEL_VERSION_STRING);
}

int main(void)
{
    setenv("OTEL_LOG_LEVEL", "ERROR", 1);
    const struct CMUnitTest tests[] = {
        /* First: the children must fork before this process reads the level. */
        cmocka_unit_test(test_env_level_values_in_fresh_processes),
        cmocka_unit_test(test_env_level_filters),
        cmocka_unit_test(test_handler_receives_messages),
        cmocka_unit_test(test_rate_limited_site),
        cmocka_unit_test(test_rate_limited_site_reports_suppressed),
        cmocka_unit_test(test_long_messages_are_truncated_not_overflowed),
        cmocka_unit_test(test_status_strings),
    };
    return cmocka_run_group_tests_name("sdk/common/log", tests, NULL, NULL);
}
