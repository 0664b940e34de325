/* Tests for sdk/pipeline/breaker.c: the state machine driven with explicit
 * time, cool-down growth with jitter, logging and counting of transitions. */
#include "support/test_support.h"
#include "sdk/pipeline/breaker.h"

#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

static int clear_env(void **state)
{
    (void)state;
    unsetenv("CTEL_EXPORTER_BREAKER_ENABLED");
    unsetenv("CTEL_EXPORTER_BREAKER_FAILURE_THRESHOLD");
    unsetenv("CTEL_EXPORTER_BREAKER_MIN_COOLDOWN");
    unsetenv("CTEL_EXPORTER_BREAKER_MAX_COOLDOWN");
    return 0;
}

static void test_opens_after_threshold(void **state)
{
    (void)state;
    ctel__breaker b;
    ctel__breaker_init(&b, "http://127.0.0.1:1/v1/traces");
    uint64_t t = 1000 * MS;
    ts_log_capture_start();
    for (int i = 0; i < 4; i++) {
        assert_true(ctel__breaker_allow(&b, t));
        ctel__breaker_failure(&b, t);
        assert_int_equal(b.state, CTEL_BREAKER_CLOSED);
    }
    /* a success in between resets the count */
    assert_true(ctel__breaker_allow(&b, t));
    ctel__breaker_success(&b, t);
    for (int i = 0; i < 4; i++)
        ctel__breaker_failure(&b, t);
    assert_int_equal(b.state, CTEL_BREAKER_CLOSED);
    ctel__breaker_failure(&b, t);
    assert_int_equal(b.state, CTEL_BREAKER_OPEN);
    assert_int_equal(b.opens, 1);
    ts_log_capture_stop();
    /* nothing is logged under the owner's lock: the transition leaves one
     * message, naming the endpoint, for the owner to log */
    assert_int_equal(ts_log_count(), 0);
    ctel_log_level level;
    char msg[256];
    assert_true(ctel__breaker_take_log(&b, &level, msg, sizeof msg));
    assert_int_equal(level, CTEL_LOG_WARN);
    assert_non_null(strstr(msg, "open"));
    assert_non_null(strstr(msg, "127.0.0.1:1"));
    assert_false(ctel__breaker_take_log(&b, &level, msg, sizeof msg));

    /* no attempts during the cool-down: 5 s with jitter in [75%, 100%] */
    uint64_t next = ctel__breaker_next_attempt_ns(&b, t);
    assert_true(next >= t + 3750 * MS && next <= t + 5000 * MS);
    assert_false(ctel__breaker_allow(&b, t + 1));
    assert_false(ctel__breaker_allow(&b, next - 1));
    /* then one trial */
    assert_true(ctel__breaker_allow(&b, next));
    assert_int_equal(b.state, CTEL_BREAKER_HALF_OPEN);
    assert_false(ctel__breaker_allow(&b, next));
    assert_false(ctel__breaker_allow(&b, next + 1000 * MS));
    ctel__breaker_success(&b, next);
    assert_int_equal(b.state, CTEL_BREAKER_CLOSED);
    assert_true(ctel__breaker_take_log(&b, &level, msg, sizeof msg));
    assert_non_null(strstr(msg, "closed"));
    assert_int_equal(b.closes, 1);
    assert_int_equal(b.half_opens, 1);
    assert_true(ctel__breaker_allow(&b, next));
    assert_int_equal(ctel__breaker_next_attempt_ns(&b, next), 0);
}

static void test_cooldown_grows_and_resets(void **state)
{
    (void)state;
    ctel__breaker b;
    ctel__breaker_init(&b, "x");
    uint64_t t = 0;
    ts_log_capture_start();
    for (int i = 0; i < 5; i++)
        ctel__breaker_failure(&b, t);
    /* each failed trial doubles the cool-down: 5, 10, 20, ... capped at 300 s */
    const uint32_t want[] = {5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(b.state, CTEL_BREAKER_OPEN);
        assert_int_equal(b.cooldown_ms, want[i]);
        uint64_t next = ctel__breaker_next_attempt_ns(&b, t);
        assert_true(next - t >= (uint64_t)want[i] * 3 / 4 * MS && next - t <= want[i] * MS);
        t = next;
        assert_true(ctel__breaker_allow(&b, t));
        ctel__breaker_failure(&b, t);
    }
    assert_true(ctel__breaker_allow(&b, t + 301000 * MS));
    ctel__breaker_success(&b, t);
    assert_int_equal(b.cooldown_ms, 5000);
    ts_log_capture_stop();
    assert_int_equal(b.opens, 9);
}

static void test_env_and_disabled(void **state)
{
    (void)state;
    setenv("CTEL_EXPORTER_BREAKER_FAILURE_THRESHOLD", "2", 1);
    setenv("CTEL_EXPORTER_BREAKER_MIN_COOLDOWN", "100", 1);
    setenv("CTEL_EXPORTER_BREAKER_MAX_COOLDOWN", "150", 1);
    ctel__breaker b;
    ctel__breaker_init(&b, "x");
    assert_int_equal(b.threshold, 2);
    ts_log_capture_start();
    ctel__breaker_failure(&b, 0);
    ctel__breaker_failure(&b, 0);
    assert_int_equal(b.state, CTEL_BREAKER_OPEN);
    assert_true(ctel__breaker_next_attempt_ns(&b, 0) <= 100 * MS);
    assert_true(ctel__breaker_allow(&b, 100 * MS));
    ctel__breaker_failure(&b, 100 * MS);
    assert_int_equal(b.cooldown_ms, 150); /* capped */
    ts_log_capture_stop();

    setenv("CTEL_EXPORTER_BREAKER_ENABLED", "false", 1);
    ctel__breaker_init(&b, "x");
    for (int i = 0; i < 100; i++)
        ctel__breaker_failure(&b, 0);
    assert_true(ctel__breaker_allow(&b, 0));
    assert_int_equal(b.state, CTEL_BREAKER_CLOSED);

    clear_env(NULL);
    setenv("CTEL_EXPORTER_BREAKER_FAILURE_THRESHOLD", "zero", 1);
    ts_log_capture_start();
    ctel__breaker_init(&b, "x");
    ts_log_capture_stop();
    assert_int_equal(b.threshold, 5);
    assert_true(ts_log_contains("CTEL_EXPORTER_BREAKER_FAILURE_THRESHOLD"));
    assert_string_equal(ctel_breaker_state_str(CTEL_BREAKER_HALF_OPEN), "half-open");
    assert_string_equal(ctel_breaker_state_str(CTEL_BREAKER_OPEN), "open");
    assert_string_equal(ctel_breaker_state_str(CTEL_BREAKER_CLOSED), "closed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_opens_after_threshold, clear_env),
        cmocka_unit_test_setup(test_cooldown_grows_and_resets, clear_env),
        cmocka_unit_test_setup(test_env_and_disabled, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
