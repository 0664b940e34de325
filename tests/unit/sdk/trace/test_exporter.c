/* Tests for sdk/trace/exporter.c: the exporter handle's lifecycle rules. */
#include "support/test_support.h"

#include <string.h>

static void test_lifecycle(void **state)
{
    (void)state;
    ts_counting_exporter c = {0};
    ctel_span_exporter *exp = ts_counting_exporter_create(&c);
    assert_string_equal(ctel_span_exporter_name(exp), "counting");
    ctel_span_data d;
    memset(&d, 0, sizeof d);
    d.name = "x";
    d.name_len = 1;
    const ctel_span_data *spans[1] = {&d};
    assert_int_equal(ctel_span_exporter_export(exp, spans, 1, 0), CTEL_OK);
    assert_int_equal(ctel_span_exporter_export(exp, spans, 0, 0), CTEL_OK); /* nothing to do */
    assert_int_equal(ctel_span_exporter_export(exp, NULL, 1, 0), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(atomic_load(&c.calls), 1);
    assert_int_equal(ctel_span_exporter_force_flush(exp, 10), CTEL_OK); /* no op given */
    assert_int_equal(ctel_span_exporter_shutdown(exp, 10), CTEL_OK);
    assert_true(atomic_load(&c.shut_down));
    assert_int_equal(ctel_span_exporter_shutdown(exp, 10), CTEL_ERR_SHUTDOWN);
    assert_int_equal(ctel_span_exporter_export(exp, spans, 1, 0), CTEL_ERR_SHUTDOWN);
    assert_int_equal(ctel_span_exporter_force_flush(exp, 10), CTEL_ERR_SHUTDOWN);
    assert_false(atomic_load(&c.destroyed));
    ctel_span_exporter_destroy(exp);
    assert_true(atomic_load(&c.destroyed));
    ctel_span_exporter_destroy(NULL);
}

static void destroy_flag(void *state)
{
    *(int *)state = 1;
}

static void test_invalid_ops_still_release_state(void **state)
{
    (void)state;
    int destroyed = 0;
    ctel_span_exporter_ops ops = {"bad", NULL, NULL, NULL, destroy_flag};
    ctel_span_exporter *exp = (ctel_span_exporter *)1;
    assert_int_equal(ctel_span_exporter_create(&ops, &destroyed, &exp), CTEL_ERR_INVALID_ARGUMENT);
    assert_null(exp);
    assert_int_equal(destroyed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_invalid_ops_still_release_state),
    };
    return cmocka_run_group_tests_name("sdk/trace/exporter", tests, NULL, NULL);
}
