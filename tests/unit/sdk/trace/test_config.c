/* Tests for sdk/trace/config.c: every OTEL_BSP_* and span-limit variable,
 * valid, invalid and missing, and the precedence of explicit options. */
#include "support/test_support.h"
#include "sdk/trace/config.h"

#include <stdlib.h>

static const char *const k_vars[] = {
    "OTEL_ATTRIBUTE_COUNT_LIMIT",       "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",  "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",      "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_BSP_MAX_QUEUE_SIZE",          "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",          "OTEL_BSP_EXPORT_TIMEOUT",
};

static int clear(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_vars / sizeof k_vars[0]; i++)
        unsetenv(k_vars[i]);
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    ctel__span_limits l;
    ctel__span_limits_resolve(NULL, &l);
    assert_int_equal(l.attribute_count, 128);
    assert_int_equal(l.attribute_value_length, UINT32_MAX);
    assert_int_equal(l.event_count, 128);
    assert_int_equal(l.link_count, 128);
    assert_int_equal(l.attributes_per_event, 128);
    assert_int_equal(l.attributes_per_link, 128);
    ctel__batch_config b;
    ctel__batch_config_resolve(NULL, &b);
    assert_int_equal(b.max_queue_size, 2048);
    assert_int_equal(b.max_export_batch_size, 512);
    assert_int_equal(b.schedule_delay_ms, 5000);
    assert_int_equal(b.export_timeout_ms, 30000);
}

/* For each limit variable: a valid value is used; garbage, negatives and
 * overflow warn (naming the variable) and leave the default. */
static void check_limit(const char *var, size_t offset, uint32_t dflt)
{
    static const struct {
        const char *v;
        bool valid;
        uint32_t want;
    } cases[] = {{"7", true, 7},      {" 0 ", true, 0},     {"abc", false, 0},
                 {"-3", false, 0},    {"99999999999", false, 0}, {"12x", false, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv(var, cases[i].v, 1);
        ctel__span_limits l;
        ts_log_capture_start();
        ctel__span_limits_resolve(NULL, &l);
        ts_log_capture_stop();
        uint32_t got = *(uint32_t *)((char *)&l + offset);
        uint32_t want = cases[i].valid ? cases[i].want : dflt;
        if (got != want)
            fail_msg("%s=%s: got %u want %u", var, cases[i].v, got, want);
        if (!cases[i].valid && !ts_log_contains(var))
            fail_msg("%s=%s: no warning naming the variable", var, cases[i].v);
    }
    unsetenv(var);
}

static void test_each_limit_variable(void **state)
{
    (void)state;
    check_limit("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", offsetof(ctel__span_limits, attribute_count),
                128);
    check_limit("OTEL_ATTRIBUTE_COUNT_LIMIT", offsetof(ctel__span_limits, attribute_count), 128);
    check_limit("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                offsetof(ctel__span_limits, attribute_value_length), UINT32_MAX);
    check_limit("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                offsetof(ctel__span_limits, attribute_value_length), UINT32_MAX);
    check_limit("OTEL_SPAN_EVENT_COUNT_LIMIT", offsetof(ctel__span_limits, event_count), 128);
    check_limit("OTEL_SPAN_LINK_COUNT_LIMIT", offsetof(ctel__span_limits, link_count), 128);
    check_limit("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
                offsetof(ctel__span_limits, attributes_per_event), 128);
    check_limit("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
                offsetof(ctel__span_limits, attributes_per_link), 128);
}

static void test_limit_precedence(void **state)
{
    (void)state;
    setenv("OTEL_ATTRIBUTE_COUNT_LIMIT", "10", 1);
    setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "20", 1);
    ctel__span_limits l;
    ctel__span_limits_resolve(NULL, &l);
    assert_int_equal(l.attribute_count, 10);
    assert_int_equal(l.attribute_value_length, 20);
    assert_int_equal(l.attributes_per_event, 128); /* the general var is for attributes only */
    setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5", 1);
    ctel__span_limits_resolve(NULL, &l);
    assert_int_equal(l.attribute_count, 5); /* span-specific beats general */
    ctel_span_limits in = CTEL_SPAN_LIMITS_INIT;
    in.attribute_count = 3;
    in.attribute_value_length = CTEL_LIMIT_NONE;
    ctel__span_limits_resolve(&in, &l);
    assert_int_equal(l.attribute_count, 3); /* explicit beats env */
    assert_int_equal(l.attribute_value_length, UINT32_MAX);
    in.attribute_count = -7; /* invalid explicit: warn, fall back */
    ts_log_capture_start();
    ctel__span_limits_resolve(&in, &l);
    ts_log_capture_stop();
    assert_int_equal(l.attribute_count, 5);
    assert_true(ts_log_contains("attribute_count"));
}

static uint32_t batch_field(const ctel__batch_config *b, int which)
{
    switch (which) {
    case 0: return b->max_queue_size;
    case 1: return b->max_export_batch_size;
    case 2: return b->schedule_delay_ms;
    default: return b->export_timeout_ms;
    }
}

static void test_each_batch_variable(void **state)
{
    (void)state;
    static const struct {
        const char *var;
        uint32_t dflt;
        const char *good;
        uint32_t want;
        const char *bad[4];
    } vars[] = {
        {"OTEL_BSP_MAX_QUEUE_SIZE", 2048, "4096", 4096, {"0", "-1", "big", "1e3"}},
        {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, "100", 100, {"0", "-5", "x", "99999999999"}},
        {"OTEL_BSP_SCHEDULE_DELAY", 5000, "250", 250, {"0", "-1", "5s", " "}},
        {"OTEL_BSP_EXPORT_TIMEOUT", 30000, "0", 0, {"-1", "abc", "1.5", "30s"}},
    };
    for (int w = 0; w < 4; w++) {
        ctel__batch_config b;
        setenv(vars[w].var, vars[w].good, 1);
        ctel__batch_config_resolve(NULL, &b);
        assert_int_equal(batch_field(&b, w), vars[w].want);
        for (int i = 0; i < 4; i++) {
            setenv(vars[w].var, vars[w].bad[i], 1);
            ts_log_capture_start();
            ctel__batch_config_resolve(NULL, &b);
            ts_log_capture_stop();
            if (batch_field(&b, w) != vars[w].dflt)
                fail_msg("%s=%s: got %u", vars[w].var, vars[w].bad[i], batch_field(&b, w));
            /* Only "" counts as unset: " " is malformed and warns. */
            if (!ts_log_contains(vars[w].var))
                fail_msg("%s=%s: no warning", vars[w].var, vars[w].bad[i]);
        }
        unsetenv(vars[w].var);
    }
}

static void test_batch_clamp_and_explicit(void **state)
{
    (void)state;
    setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100", 1);
    setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500", 1);
    ctel__batch_config b;
    ts_log_capture_start();
    ctel__batch_config_resolve(NULL, &b);
    ts_log_capture_stop();
    assert_int_equal(b.max_queue_size, 100);
    assert_int_equal(b.max_export_batch_size, 100);
    assert_true(ts_log_contains("exceeds queue size"));
    ctel_batch_options o = CTEL_BATCH_OPTIONS_INIT;
    o.max_queue_size = 64;
    o.max_export_batch_size = 8;
    o.schedule_delay_ms = 10;
    o.export_timeout_ms = 0; /* explicit: no limit */
    ctel__batch_config_resolve(&o, &b);
    assert_int_equal(b.max_queue_size, 64);
    assert_int_equal(b.max_export_batch_size, 8);
    assert_int_equal(b.schedule_delay_ms, 10);
    assert_int_equal(b.export_timeout_ms, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear),
        cmocka_unit_test_setup(test_each_limit_variable, clear),
        cmocka_unit_test_setup(test_limit_precedence, clear),
        cmocka_unit_test_setup(test_each_batch_variable, clear),
        cmocka_unit_test_setup(test_batch_clamp_and_explicit, clear),
    };
    return cmocka_run_group_tests_name("sdk/trace/config", tests, clear, clear);
}
