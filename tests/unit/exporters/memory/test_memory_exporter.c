/* Tests for exporters/memory/memory_exporter.c: deep copies, limits, clear. */
#include "support/test_support.h"

#include <string.h>

static void test_deep_copy_limit_and_clear(void **state)
{
    (void)state;
    ctel_memory_exporter *mem = NULL;
    ctel_span_exporter *exp = NULL;
    assert_int_equal(ctel_memory_exporter_create(2, &mem, &exp), CTEL_OK);
    char name[16] = "span-a", key[16] = "k", val[16] = "v", evname[16] = "ev", ts[16] = "a=b";
    ctel_attribute attrs[1] = {{key, 1, ctel_value_str(val)}};
    ctel_span_event_data ev = {evname, 2, 5, attrs, 1, 0};
    ctel_span_link_data lk = {{{1}, {1}, 1, false}, ts, 3, attrs, 1, 0};
    ctel_scope_info scope = {"scope", "1", "", NULL, 0};
    ctel_span_data d;
    memset(&d, 0, sizeof d);
    d.name = name;
    d.name_len = strlen(name);
    d.attributes = attrs;
    d.attribute_count = 1;
    d.events = &ev;
    d.event_count = 1;
    d.links = &lk;
    d.link_count = 1;
    d.trace_state = "";
    d.status_message = "";
    d.scope = &scope;
    const ctel_span_data *spans[3] = {&d, &d, &d};
    assert_int_equal(ctel_span_exporter_export(exp, spans, 1, 0), CTEL_OK);
    /* Scribble over everything the caller owned. */
    memset(name, 'x', sizeof name - 1);
    memset(key, 'x', sizeof key - 1);
    memset(val, 'x', sizeof val - 1);
    memset(evname, 'x', sizeof evname - 1);
    memset(ts, 'x', sizeof ts - 1);
    const ctel_span_data *got = ctel_memory_exporter_find(mem, "span-a");
    assert_non_null(got);
    assert_string_equal(got->attributes[0].key, "k");
    assert_string_equal(got->attributes[0].value.u.string.ptr, "v");
    assert_string_equal(got->events[0].name, "ev");
    assert_string_equal(got->links[0].trace_state, "a=b");
    assert_string_equal(got->links[0].attributes[0].key, "k");
    assert_string_equal(got->scope->name, "scope");
    /* max_spans = 2: two more only fit one. */
    assert_int_equal(ctel_span_exporter_export(exp, spans, 2, 0), CTEL_ERR_LIMIT);
    assert_int_equal(ctel_memory_exporter_count(mem), 2);
    assert_int_equal(ctel_memory_exporter_dropped(mem), 1);
    const ctel_span_data *second = NULL;
    assert_int_equal(ctel_memory_exporter_get(mem, 1, &second), CTEL_OK);
    assert_int_equal(ctel_memory_exporter_get(mem, 2, &second), CTEL_ERR_NOT_FOUND);
    ctel_memory_exporter_clear(mem);
    assert_int_equal(ctel_memory_exporter_count(mem), 0);
    assert_null(ctel_memory_exporter_find(mem, "span-a"));
    ctel_span_exporter_destroy(exp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deep_copy_limit_and_clear),
    };
    return cmocka_run_group_tests_name("exporters/memory/memory_exporter", tests, NULL, NULL);
}
