/* Tests for exporters/otlp/json/otlp_json_trace.c and json_writer.c: the
 * output parses as JSON and carries every field by the OTLP JSON rules. */
#include "support/test_support.h"
#include "exporters/otlp/json/otlp_json.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

static json_t *encode(const ctel_span_data *const *spans, size_t n)
{
    ctel__buf b = CTEL__BUF_INIT;
    assert_int_equal(ctel__otlp_json_encode_traces(spans, n, &b), CTEL_OK);
    json_error_t err;
    json_t *doc = json_loadb(b.data, b.len, 0, &err);
    if (!doc)
        fail_msg("invalid JSON (%s): %s", err.text, b.data);
    ctel__buf_free(&b);
    return doc;
}

static json_t *attr(json_t *list, const char *key)
{
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "key")), key) == 0)
            return json_object_get(a, "value");
    }
    return NULL;
}

static void test_every_span_field(void **state)
{
    (void)state;
    ctel_resource *res = NULL;
    ctel_attribute ra = CTEL_ATTR_STR("service.name", "svc");
    assert_int_equal(ctel_resource_create(&ra, 1, "https://schema/r", &res), CTEL_OK);
    ctel_attribute sattrs[1] = {CTEL_ATTR_BOOL("scope.flag", true)};
    ctel_scope_info scope = {"lib", "1.0", "https://schema/s", sattrs, 1};
    uint8_t bytes[4] = {0xde, 0xad, 0xbe, 0xef};
    ctel_value arr_items[2] = {ctel_value_str("x"), ctel_value_int(-5)};
    ctel_attribute kv_items[1] = {CTEL_ATTR_DOUBLE("inner", 1.5)};
    ctel_attribute attrs[8] = {
        CTEL_ATTR_STR("s", "tab\there \"q\" \\ \x01 ok"),
        CTEL_ATTR_INT("min", INT64_MIN),
        CTEL_ATTR_INT("max", INT64_MAX),
        CTEL_ATTR_DOUBLE("nan", NAN),
        CTEL_ATTR_DOUBLE("inf", -INFINITY),
        {"bytes", 5, {.type = CTEL_VALUE_BYTES, .u.bytes = {bytes, 4}}},
        {"arr", 3, {.type = CTEL_VALUE_ARRAY, .u.array = {arr_items, 2}}},
        {"kv", 2, {.type = CTEL_VALUE_KVLIST, .u.kvlist = {kv_items, 1}}},
    };
    ctel_attribute eattrs[1] = {CTEL_ATTR_STR("bad.utf8", "a\xff" "b")};
    ctel_span_event_data ev = {"ev", 2, 1700000000000000123ull, eattrs, 1, 2};
    ctel_span_link_data link = {{{0xaa}, {0xbb}, 1, true}, "k=v", 3, NULL, 0, 4};
    ctel_span_data d;
    memset(&d, 0, sizeof d);
    for (int i = 0; i < 16; i++)
        d.context.trace_id[i] = (uint8_t)(0x10 + i);
    for (int i = 0; i < 8; i++) {
        d.context.span_id[i] = (uint8_t)(0xa0 + i);
        d.parent_span_id[i] = (uint8_t)(0x01 + i);
    }
    d.context.trace_flags = 1;
    d.has_parent = true;
    d.parent_is_remote = true;
    d.trace_state = "vendor=1";
    d.trace_state_len = 8;
    d.name = "GET /x";
    d.name_len = 6;
    d.kind = CTEL_SPAN_KIND_SERVER;
    d.start_time_unix_nano = 1700000000000000000ull;
    d.end_time_unix_nano = 1700000000000000999ull;
    d.attributes = attrs;
    d.attribute_count = 8;
    d.dropped_attributes_count = 3;
    d.events = &ev;
    d.event_count = 1;
    d.dropped_events_count = 5;
    d.links = &link;
    d.link_count = 1;
    d.dropped_links_count = 6;
    d.status_code = CTEL_STATUS_ERROR;
    d.status_message = "boom";
    d.status_message_len = 4;
    d.resource = res;
    d.scope = &scope;
    const ctel_span_data *spans[1] = {&d};
    json_t *doc = encode(spans, 1);

    json_t *rs = json_array_get(json_object_get(doc, "resourceSpans"), 0);
    assert_string_equal(json_string_value(json_object_get(rs, "schemaUrl")), "https://schema/r");
    json_t *rattrs = json_object_get(json_object_get(rs, "resource"), "attributes");
    assert_string_equal(json_string_value(json_object_get(attr(rattrs, "service.name"),
                                                          "stringValue")),
                        "svc");
    json_t *ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);
    assert_string_equal(json_string_value(json_object_get(ss, "schemaUrl")), "https://schema/s");
    json_t *sc = json_object_get(ss, "scope");
    assert_string_equal(json_string_value(json_object_get(sc, "name")), "lib");
    assert_string_equal(json_string_value(json_object_get(sc, "version")), "1.0");
    assert_true(json_is_true(json_object_get(attr(json_object_get(sc, "attributes"), "scope.flag"),
                                             "boolValue")));
    json_t *sp = json_array_get(json_object_get(ss, "spans"), 0);
    assert_string_equal(json_string_value(json_object_get(sp, "traceId")),
                        "101112131415161718191a1b1c1d1e1f");
    assert_string_equal(json_string_value(json_object_get(sp, "spanId")), "a0a1a2a3a4a5a6a7");
    assert_string_equal(json_string_value(json_object_get(sp, "parentSpanId")), "0102030405060708");
    assert_string_equal(json_string_value(json_object_get(sp, "traceState")), "vendor=1");
    assert_string_equal(json_string_value(json_object_get(sp, "name")), "GET /x");
    assert_int_equal(json_integer_value(json_object_get(sp, "kind")), 2); /* integer enum */
    assert_int_equal(json_integer_value(json_object_get(sp, "flags")), 0x301);
    assert_string_equal(json_string_value(json_object_get(sp, "startTimeUnixNano")),
                        "1700000000000000000");
    assert_string_equal(json_string_value(json_object_get(sp, "endTimeUnixNano")),
                        "1700000000000000999");
    assert_int_equal(json_integer_value(json_object_get(sp, "droppedAttributesCount")), 3);
    assert_int_equal(json_integer_value(json_object_get(sp, "droppedEventsCount")), 5);
    assert_int_equal(json_integer_value(json_object_get(sp, "droppedLinksCount")), 6);
    json_t *a = json_object_get(sp, "attributes");
    assert_string_equal(json_string_value(json_object_get(attr(a, "s"), "stringValue")),
                        "tab\there \"q\" \\ \x01 ok");
    assert_string_equal(json_string_value(json_object_get(attr(a, "min"), "intValue")),
                        "-9223372036854775808");
    assert_string_equal(json_string_value(json_object_get(attr(a, "max"), "intValue")),
                        "9223372036854775807");
    assert_string_equal(json_string_value(json_object_get(attr(a, "nan"), "doubleValue")), "NaN");
    assert_string_equal(json_string_value(json_object_get(attr(a, "inf"), "doubleValue")),
                        "-Infinity");
    assert_string_equal(json_string_value(json_object_get(attr(a, "bytes"), "bytesValue")),
                        "3q2+7w==");
    json_t *arr = json_object_get(json_object_get(attr(a, "arr"), "arrayValue"), "values");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "intValue")),
                        "-5");
    json_t *kv = json_object_get(json_object_get(attr(a, "kv"), "kvlistValue"), "values");
    assert_true(json_real_value(json_object_get(attr(kv, "inner"), "doubleValue")) == 1.5);
    json_t *e = json_array_get(json_object_get(sp, "events"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "name")), "ev");
    assert_string_equal(json_string_value(json_object_get(e, "timeUnixNano")),
                        "1700000000000000123");
    assert_int_equal(json_integer_value(json_object_get(e, "droppedAttributesCount")), 2);
    assert_string_equal(json_string_value(json_object_get(
                            attr(json_object_get(e, "attributes"), "bad.utf8"), "stringValue")),
                        "a\xef\xbf\xbd" "b");
    json_t *l = json_array_get(json_object_get(sp, "links"), 0);
    assert_string_equal(json_string_value(json_object_get(l, "traceState")), "k=v");
    assert_int_equal(json_integer_value(json_object_get(l, "flags")), 0x301);
    assert_int_equal(json_integer_value(json_object_get(l, "droppedAttributesCount")), 4);
    json_t *st = json_object_get(sp, "status");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 2);
    assert_string_equal(json_string_value(json_object_get(st, "message")), "boom");
    json_decref(doc);
    ctel_resource_release(res);
}

static void test_grouping_by_resource_and_scope(void **state)
{
    (void)state;
    ctel_resource *r1 = NULL, *r2 = NULL;
    ctel_attribute a1 = CTEL_ATTR_STR("service.name", "one");
    ctel_attribute a2 = CTEL_ATTR_STR("service.name", "two");
    assert_int_equal(ctel_resource_create(&a1, 1, NULL, &r1), CTEL_OK);
    assert_int_equal(ctel_resource_create(&a2, 1, NULL, &r2), CTEL_OK);
    ctel_scope_info s1 = {"s1", "", "", NULL, 0}, s2 = {"s2", "", "", NULL, 0};
    ctel_span_data d[5];
    const ctel_span_data *ptrs[5];
    const ctel_resource *rs[5] = {r1, r2, r1, r1, r2};
    const ctel_scope_info *ss[5] = {&s1, &s1, &s2, &s1, &s1};
    static const char *const names[5] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        memset(&d[i], 0, sizeof d[i]);
        d[i].name = names[i];
        d[i].name_len = 1;
        d[i].context.trace_id[0] = 1;
        d[i].context.span_id[0] = 1;
        d[i].resource = rs[i];
        d[i].scope = ss[i];
        ptrs[i] = &d[i];
    }
    json_t *doc = encode(ptrs, 5);
    json_t *list = json_object_get(doc, "resourceSpans");
    assert_int_equal(json_array_size(list), 2);
    json_t *first = json_array_get(list, 0);
    json_t *scopes = json_object_get(first, "scopeSpans");
    assert_int_equal(json_array_size(scopes), 2);
    json_t *s1spans = json_object_get(json_array_get(scopes, 0), "spans");
    assert_int_equal(json_array_size(s1spans), 2); /* a and d */
    assert_string_equal(json_string_value(json_object_get(json_array_get(s1spans, 1), "name")),
                        "d");
    assert_null(json_object_get(json_array_get(s1spans, 0), "parentSpanId")); /* root */
    assert_null(json_object_get(json_array_get(s1spans, 0), "kind"));         /* 0 omitted */
    json_t *second = json_array_get(list, 1);
    assert_int_equal(json_array_size(json_object_get(
                         json_array_get(json_object_get(second, "scopeSpans"), 0), "spans")),
                     2); /* b and e */
    json_decref(doc);
    ctel_resource_release(r1);
    ctel_resource_release(r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_span_field),
        cmocka_unit_test(test_grouping_by_resource_and_scope),
    };
    return cmocka_run_group_tests_name("exporters/otlp/json/otlp_json_trace", tests, NULL, NULL);
}
