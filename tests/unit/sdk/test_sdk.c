/* Tests for sdk/sdk.c: creation from options and environment, tracers,
 * ownership rules, stats, shutdown, the opt-in global. */
#include "support/test_support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_tracers_are_cached_per_scope(void **state)
{
    (void)state;
    ctel_sdk *sdk = ts_sdk_with_processor(NULL);
    ctel_tracer *a = ctel_sdk_tracer(sdk, "lib", "1.0", NULL);
    ctel_tracer *b = ctel_sdk_tracer(sdk, "lib", "1.0", "");
    ctel_tracer *c = ctel_sdk_tracer(sdk, "lib", "2.0", NULL);
    ctel_attribute attrs[1] = {CTEL_ATTR_STR("scope.attr", "x")};
    ctel_tracer *d = ctel_sdk_tracer_with_attributes(sdk, "other", NULL, NULL, attrs, 1);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_non_null(d);
    ts_log_capture_start();
    ctel_tracer *e = ctel_sdk_tracer(sdk, NULL, NULL, NULL);
    ts_log_capture_stop();
    assert_non_null(e);
    assert_true(ts_log_contains("empty instrumentation scope name"));
    ctel_sdk_destroy(sdk);
}

static void test_ownership_passes_even_on_failure(void **state)
{
    (void)state;
    ts_counting_exporter c = {0};
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_simple_processor_create(ts_counting_exporter_create(&c), &proc),
                     CTEL_OK);
    ctel_sdk_options o = CTEL_SDK_OPTIONS_INIT;
    o.span_processors = &proc;
    o.span_processor_count = 1;
    assert_int_equal(ctel_sdk_create(&o, NULL), CTEL_ERR_INVALID_ARGUMENT);
    assert_true(atomic_load(&c.destroyed));
    ctel_sdk_destroy(NULL);
}

static void test_env_traces_exporter_none_and_unknown(void **state)
{
    (void)state;
    setenv("OTEL_TRACES_EXPORTER", "none", 1);
    ctel_sdk *sdk = NULL;
    assert_int_equal(ctel_sdk_create(NULL, &sdk), CTEL_OK);
    ctel_span *s = ctel_span_start(ctel_sdk_tracer(sdk, "t", NULL, NULL), "x", NULL);
    ctel_span_end(s);
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    assert_int_equal(st.spans_ended, 0); /* no processor at all */
    ctel_sdk_destroy(sdk);

    setenv("OTEL_TRACES_EXPORTER", "zipkin-ish", 1);
    ts_log_capture_start();
    assert_int_equal(ctel_sdk_create(NULL, &sdk), CTEL_OK);
    ts_log_capture_stop();
    assert_true(ts_log_contains("OTEL_TRACES_EXPORTER"));
    assert_true(ts_log_contains("zipkin-ish"));
    ctel_sdk_destroy(sdk);
    unsetenv("OTEL_TRACES_EXPORTER");
}

static void test_env_traces_exporter_console_writes_otlp_json(void **state)
{
    (void)state;
    char path[] = "/tmp/ctel-sdk-console-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    setenv("OTEL_TRACES_EXPORTER", "Console", 1); /* case-insensitive */
    ctel_sdk *sdk = NULL;
    assert_int_equal(ctel_sdk_create(NULL, &sdk), CTEL_OK);
    unsetenv("OTEL_TRACES_EXPORTER");
    ctel_tracer *t = ctel_sdk_tracer(sdk, "console-test", NULL, NULL);
    ctel_span *s = ctel_span_start(t, "printed-span", NULL);
    ctel_span_end(s);
    assert_int_equal(ctel_sdk_force_flush(sdk, 5000), CTEL_OK);
    ctel_sdk_destroy(sdk);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    char buf[8192] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"resourceSpans\""));
    assert_non_null(strstr(buf, "printed-span"));
}

static void test_stats_and_shutdown(void **state)
{
    (void)state;
    ts_counting_exporter c = {0};
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_simple_processor_create(ts_counting_exporter_create(&c), &proc),
                     CTEL_OK);
    ctel_sdk *sdk = ts_sdk_with_processor(proc);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "t", NULL, NULL);
    for (int i = 0; i < 10; i++)
        ctel_span_end(ctel_span_start(t, "x", NULL));
    ctel_sdk_stats st;
    assert_int_equal(ctel_sdk_stats_get(sdk, &st), CTEL_OK);
    assert_int_equal(st.spans_exported, 10);
    assert_int_equal(st.export_calls, 10);
    assert_int_equal(st.spans_ended, 10);
    assert_int_equal(ctel_sdk_stats_get(NULL, &st), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_sdk_force_flush(sdk, 1000), CTEL_OK);
    assert_int_equal(ctel_sdk_shutdown(sdk, 1000), CTEL_OK);
    assert_true(atomic_load(&c.shut_down));
    assert_int_equal(ctel_sdk_shutdown(sdk, 1000), CTEL_ERR_SHUTDOWN);
    assert_int_equal(ctel_sdk_force_flush(sdk, 1000), CTEL_ERR_SHUTDOWN);
    ctel_sdk_destroy(sdk);
}

static void test_env_sdk_disabled_values(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        bool disabled, warns;
    } cases[] = {{"true", true, false},  {"TRUE", true, false}, {"false", false, false},
                 {"", false, false},     {"yes", false, true},  {"1", false, true}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("OTEL_SDK_DISABLED", cases[i].v, 1);
        ts_log_capture_start();
        ctel_sdk *sdk = NULL;
        assert_int_equal(ctel_sdk_create(NULL, &sdk), CTEL_OK);
        ts_log_capture_stop();
        if (ctel_sdk_is_disabled(sdk) != cases[i].disabled)
            fail_msg("OTEL_SDK_DISABLED=\"%s\"", cases[i].v);
        assert_int_equal(ts_log_contains("OTEL_SDK_DISABLED"), cases[i].warns);
        ctel_sdk_destroy(sdk);
    }
    unsetenv("OTEL_SDK_DISABLED");
    /* An explicit option overrides the environment. */
    setenv("OTEL_SDK_DISABLED", "true", 1);
    ctel_sdk_options o = CTEL_SDK_OPTIONS_INIT;
    o.disabled = 0;
    ctel_sdk *sdk = NULL;
    assert_int_equal(ctel_sdk_create(&o, &sdk), CTEL_OK);
    assert_false(ctel_sdk_is_disabled(sdk));
    ctel_sdk_destroy(sdk);
    unsetenv("OTEL_SDK_DISABLED");
}

static void test_global_is_opt_in(void **state)
{
    (void)state;
    assert_null(ctel_sdk_global());
    ctel_sdk *sdk = ts_sdk_with_processor(NULL);
    ctel_sdk_set_global(sdk);
    assert_ptr_equal(ctel_sdk_global(), sdk);
    ctel_sdk_destroy(sdk); /* clears the global it was */
    assert_null(ctel_sdk_global());
}

static void test_resource_and_propagator_present(void **state)
{
    (void)state;
    ctel_sdk *sdk = ts_sdk_with_processor(NULL);
    const ctel_resource *res = ctel_sdk_resource(sdk);
    assert_non_null(res);
    const ctel_value *v = ctel_resource_find(res, "telemetry.sdk.name");
    assert_non_null(v);
    assert_string_equal(v->u.string.ptr, "ctel");
    assert_non_null(ctel_sdk_propagator(sdk));
    assert_false(ctel_sdk_is_disabled(sdk));
    ctel_sdk_destroy(sdk);
}

int main(void)
{
    unsetenv("OTEL_SDK_DISABLED");
    unsetenv("OTEL_TRACES_EXPORTER");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracers_are_cached_per_scope),
        cmocka_unit_test(test_ownership_passes_even_on_failure),
        cmocka_unit_test(test_env_traces_exporter_none_and_unknown),
        cmocka_unit_test(test_env_traces_exporter_console_writes_otlp_json),
        cmocka_unit_test(test_stats_and_shutdown),
        cmocka_unit_test(test_env_sdk_disabled_values),
        cmocka_unit_test(test_global_is_opt_in),
        cmocka_unit_test(test_resource_and_propagator_present),
    };
    return cmocka_run_group_tests_name("sdk/sdk", tests, NULL, NULL);
}
