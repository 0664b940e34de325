/* Tests for exporters/console/console_exporter.c: one valid OTLP/JSON line
 * per export call, appended to a file. */
#include "support/test_support.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_lines_per_export_to_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ctel-console-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ctel_span_exporter *exp = NULL;
    assert_int_equal(ctel_console_exporter_create(path, &exp), CTEL_OK);
    assert_string_equal(ctel_span_exporter_name(exp), "console");
    ctel_span_data d;
    memset(&d, 0, sizeof d);
    d.name = "line\nbreak";
    d.name_len = 10;
    d.context.trace_id[0] = 1;
    d.context.span_id[0] = 1;
    const ctel_span_data *spans[2] = {&d, &d};
    assert_int_equal(ctel_span_exporter_export(exp, spans, 2, 0), CTEL_OK);
    assert_int_equal(ctel_span_exporter_export(exp, spans, 1, 0), CTEL_OK);
    assert_int_equal(ctel_span_exporter_force_flush(exp, 100), CTEL_OK);
    assert_int_equal(ctel_span_exporter_shutdown(exp, 100), CTEL_OK);
    assert_int_equal(ctel_span_exporter_export(exp, spans, 1, 0), CTEL_ERR_SHUTDOWN);
    ctel_span_exporter_destroy(exp);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192];
    int lines = 0;
    size_t spans_seen = 0;
    while (fgets(line, sizeof line, f)) {
        json_error_t err;
        json_t *doc = json_loads(line, 0, &err);
        assert_non_null(doc);
        json_t *sp = json_object_get(
            json_array_get(json_object_get(json_array_get(json_object_get(doc, "resourceSpans"), 0),
                                           "scopeSpans"),
                           0),
            "spans");
        spans_seen += json_array_size(sp);
        assert_string_equal(json_string_value(json_object_get(json_array_get(sp, 0), "name")),
                            "line\nbreak");
        json_decref(doc);
        lines++;
    }
    fclose(f);
    unlink(path);
    assert_int_equal(lines, 2);
    assert_int_equal(spans_seen, 3);
}

static void test_unwritable_path_is_an_error(void **state)
{
    (void)state;
    ctel_span_exporter *exp = (ctel_span_exporter *)1;
    ts_log_capture_start();
    assert_int_equal(ctel_console_exporter_create("/nonexistent-dir/x/y.json", &exp), CTEL_ERR_IO);
    ts_log_capture_stop();
    assert_null(exp);
    assert_true(ts_log_contains("cannot open"));
    assert_int_equal(ctel_console_exporter_create("stderr", &exp), CTEL_OK);
    ctel_span_exporter_destroy(exp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_per_export_to_file),
        cmocka_unit_test(test_unwritable_path_is_an_error),
    };
    return cmocka_run_group_tests_name("exporters/console/console_exporter", tests, NULL, NULL);
}
