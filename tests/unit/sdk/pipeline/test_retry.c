/* Tests for sdk/pipeline/retry.c: backoff growth, cap, jitter bounds,
 * Retry-After, and the CTEL_EXPORTER_RETRY_* variables. */
#include "support/test_support.h"
#include "sdk/pipeline/retry.h"

#include <stdlib.h>

static const char *const k_vars[] = {
    "CTEL_EXPORTER_RETRY_ENABLED", "CTEL_EXPORTER_RETRY_MAX_ATTEMPTS",
    "CTEL_EXPORTER_RETRY_INITIAL_BACKOFF", "CTEL_EXPORTER_RETRY_MAX_BACKOFF",
    "CTEL_EXPORTER_RETRY_BACKOFF_MULTIPLIER"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_vars / sizeof k_vars[0]; i++)
        unsetenv(k_vars[i]);
    return 0;
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    ctel__retry_policy p = CTEL__RETRY_POLICY_DEFAULT;
    uint64_t rng = 42;
    /* attempt n: backoff b = min(1000 * 1.5^(n-1), 5000), wait in [b/2, b] */
    const double b[] = {1000, 1500, 2250, 3375, 5000, 5000, 5000};
    for (uint32_t n = 1; n <= 7; n++) {
        uint32_t lo = UINT32_MAX, hi = 0;
        for (int i = 0; i < 2000; i++) {
            uint32_t w = ctel__retry_backoff_ms(&p, n, -1, &rng);
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
        }
        if (lo < (uint32_t)(b[n - 1] / 2) || hi > (uint32_t)b[n - 1])
            fail_msg("attempt %u: waits in [%u, %u], want within [%.0f, %.0f]", n, lo, hi,
                     b[n - 1] / 2, b[n - 1]);
        /* jitter really spreads the waits */
        assert_true(hi - lo > (uint32_t)(b[n - 1] / 4));
    }
}

static void test_retry_after(void **state)
{
    (void)state;
    ctel__retry_policy p = CTEL__RETRY_POLICY_DEFAULT;
    uint64_t rng = 7;
    /* a longer Retry-After wins over the backoff */
    assert_int_equal(ctel__retry_backoff_ms(&p, 1, 30000, &rng), 30000);
    /* a shorter one does not shorten the backoff */
    uint32_t w = ctel__retry_backoff_ms(&p, 3, 10, &rng);
    assert_true(w >= 1125 && w <= 2250);
    /* zero (retry now) keeps the backoff too */
    w = ctel__retry_backoff_ms(&p, 1, 0, &rng);
    assert_true(w >= 500 && w <= 1000);
}

static void test_retryable(void **state)
{
    (void)state;
    assert_true(ctel__retry_is_retryable(CTEL_ERR_UNAVAILABLE));
    assert_true(ctel__retry_is_retryable(CTEL_ERR_TIMEOUT));
    assert_false(ctel__retry_is_retryable(CTEL_ERR_REJECTED));
    assert_false(ctel__retry_is_retryable(CTEL_OK));
    assert_false(ctel__retry_is_retryable(CTEL_ERR_SHUTDOWN));
    assert_false(ctel__retry_is_retryable(CTEL_ERR_NO_MEMORY));
}

static void test_env(void **state)
{
    (void)state;
    ctel__retry_policy p;
    ts_log_capture_start();
    ctel__retry_policy_from_env(&p);
    ts_log_capture_stop();
    assert_true(p.enabled);
    assert_int_equal(p.max_attempts, 5);
    assert_int_equal(p.initial_ms, 1000);
    assert_int_equal(p.max_backoff_ms, 5000);
    assert_true(p.multiplier == 1.5);
    assert_int_equal(ts_log_count(), 0);

    setenv("CTEL_EXPORTER_RETRY_ENABLED", "false", 1);
    setenv("CTEL_EXPORTER_RETRY_MAX_ATTEMPTS", "3", 1);
    setenv("CTEL_EXPORTER_RETRY_INITIAL_BACKOFF", "200", 1);
    setenv("CTEL_EXPORTER_RETRY_MAX_BACKOFF", "800", 1);
    setenv("CTEL_EXPORTER_RETRY_BACKOFF_MULTIPLIER", "2.5", 1);
    ts_log_capture_start();
    ctel__retry_policy_from_env(&p);
    ts_log_capture_stop();
    assert_false(p.enabled);
    assert_int_equal(p.max_attempts, 3);
    assert_int_equal(p.initial_ms, 200);
    assert_int_equal(p.max_backoff_ms, 800);
    assert_true(p.multiplier == 2.5);
    assert_int_equal(ts_log_count(), 0);

    /* invalid values: warned, defaults kept */
    setenv("CTEL_EXPORTER_RETRY_ENABLED", "maybe", 1);
    setenv("CTEL_EXPORTER_RETRY_MAX_ATTEMPTS", "0", 1);
    setenv("CTEL_EXPORTER_RETRY_INITIAL_BACKOFF", "-1", 1);
    setenv("CTEL_EXPORTER_RETRY_MAX_BACKOFF", "5s", 1);
    setenv("CTEL_EXPORTER_RETRY_BACKOFF_MULTIPLIER", "0.5", 1);
    ts_log_capture_start();
    ctel__retry_policy_from_env(&p);
    ts_log_capture_stop();
    assert_int_equal(p.max_attempts, 5);
    assert_int_equal(p.initial_ms, 1000);
    assert_int_equal(p.max_backoff_ms, 5000);
    assert_true(p.multiplier == 1.5);
    assert_int_equal(ts_log_warning_count(), 5);
    assert_true(ts_log_contains("CTEL_EXPORTER_RETRY_BACKOFF_MULTIPLIER"));
    assert_true(ts_log_contains("CTEL_EXPORTER_RETRY_MAX_ATTEMPTS"));

    /* a max below the initial backoff is raised to it */
    clear_env(NULL);
    setenv("CTEL_EXPORTER_RETRY_INITIAL_BACKOFF", "3000", 1);
    setenv("CTEL_EXPORTER_RETRY_MAX_BACKOFF", "1000", 1);
    ts_log_capture_start();
    ctel__retry_policy_from_env(&p);
    ts_log_capture_stop();
    assert_int_equal(p.max_backoff_ms, 3000);
    assert_true(ts_log_contains("CTEL_EXPORTER_RETRY_MAX_BACKOFF"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_backoff_bounds, clear_env),
        cmocka_unit_test_setup(test_retry_after, clear_env),
        cmocka_unit_test_setup(test_retryable, clear_env),
        cmocka_unit_test_setup(test_env, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
