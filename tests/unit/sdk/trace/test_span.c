/* Tests for sdk/trace/span.c: the span API as recorded into exported data. */
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    ctel_sdk *sdk;
    ctel_tracer *tracer;
    ctel_memory_exporter *mem;
} fixture;

static fixture make(ctel_sampler_kind kind, const ctel_span_limits *limits)
{
    fixture f = {0};
    ctel_span_exporter *exp = NULL;
    assert_int_equal(ctel_memory_exporter_create(0, &f.mem, &exp), CTEL_OK);
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_simple_processor_create(exp, &proc), CTEL_OK);
    ctel_sampler *sampler = NULL;
    assert_int_equal(ctel_sampler_create(kind, 1.0, &sampler), CTEL_OK);
    ctel_sdk_options o = CTEL_SDK_OPTIONS_INIT;
    o.sampler = sampler;
    o.span_processors = &proc;
    o.span_processor_count = 1;
    o.service_name = "span-tests";
    if (limits)
        o.span_limits = *limits;
    assert_int_equal(ctel_sdk_create(&o, &f.sdk), CTEL_OK);
    f.tracer = ctel_sdk_tracer(f.sdk, "test-scope", "1.2.3", "https://example.test/schema");
    assert_non_null(f.tracer);
    return f;
}

static const ctel_attribute *find_attr(const ctel_attribute *a, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].key_len == strlen(key) && memcmp(a[i].key, key, a[i].key_len) == 0)
            return &a[i];
    return NULL;
}

static bool zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void test_root_span_fields(void **state)
{
    (void)state;
    fixture f = make(CTEL_SAMPLER_ALWAYS_ON, NULL);
    ctel_span_start_options o = CTEL_SPAN_START_OPTIONS_INIT;
    o.kind = CTEL_SPAN_KIND_SERVER;
    o.start_time_unix_nano = 1000;
    ctel_span *s = ctel_span_start(f.tracer, "root", &o);
    assert_true(ctel_span_is_recording(s));
    ctel_span_context sc = ctel_span_get_context(s);
    assert_true(ctel_span_context_is_valid(&sc));
    assert_true(sc.trace_flags & CTEL_TRACE_FLAG_SAMPLED);
    assert_true(sc.trace_flags & CTEL_TRACE_FLAG_RANDOM);
    assert_false(sc.is_remote);
    ctel_span_end_at(s, 5000);
    assert_int_equal(ctel_memory_exporter_count(f.mem), 1);
    const ctel_span_data *d = NULL;
    assert_int_equal(ctel_memory_exporter_get(f.mem, 0, &d), CTEL_OK);
    assert_string_equal(d->name, "root");
    assert_int_equal(d->name_len, 4);
    assert_int_equal(d->kind, CTEL_SPAN_KIND_SERVER);
    assert_int_equal(d->start_time_unix_nano, 1000);
    assert_int_equal(d->end_time_unix_nano, 5000);
    assert_false(d->has_parent);
    assert_true(zero(d->parent_span_id, 8));
    assert_memory_equal(d->context.trace_id, sc.trace_id, 16);
    assert_memory_equal(d->context.span_id, sc.span_id, 8);
    assert_int_equal(d->status_code, CTEL_STATUS_UNSET);
    assert_string_equal(d->scope->name, "test-scope");
    assert_string_equal(d->scope->version, "1.2.3");
    assert_string_equal(d->scope->schema_url, "https://example.test/schema");
    assert_non_null(d->resource);
    const ctel_value *svc = ctel_resource_find(d->resource, "service.name");
    assert_non_null(svc);
    assert_string_equal(svc->u.string.ptr, "span-tests");
    ctel_sdk_destroy(f.sdk);
}

static void test_clock_times_are_ordered(void **state)
{
    (void)state;
    fixture f = make(CTEL_SAMPLER_ALWAYS_ON, NULL);
    uint64_t before = ctel_now_unix_nano();
    ctel_span *s = ctel_span_start(f.tracer, "timed", NULL);
    ctel_span_end(s);
    uint64_t after = ctel_now_unix_nano();
    const ctel_span_data *d = ctel_memory_exporter_find(f.mem, "timed");
    assert_non_null(d);
    /* The span clock may be the TSC re-anchored to the wall clock: allow a
     * millisecond of calibration error against the system clock. */
    assert_true(d->start_time_unix_nano + 1000000 >= before);
    assert_true(d->end_time_unix_nano <= after + 1000000);
    assert_true(d->end_time_unix_nano >= d->start_time_unix_nano);
    ctel_sdk_destroy(f.sdk);
}

static void test_parent_from_current_explicit_and_root(void **state)
{
    (void)state;
    fixture f = make(CTEL_SAMPLER_ALWAYS_ON, NULL);
    ctel_span *parent = ctel_span_start(f.tracer, "parent", NULL);
    ctel_span_context psc = ctel_span_get_context(parent);
    ctel_context_token tok = ctel_span_make_current(parent);
    assert_ptr_equal(ctel_span_current(), parent);

    ctel_span *child = ctel_span_start(f.tracer, "child", NULL);
    ctel_span_start_options ro = CTEL_SPAN_START_OPTIONS_INIT;
    ro.root = true;
    ctel_span *root = ctel_span_start(f.tracer, "forced-root", &ro);
    ctel_span_end(root);
    ctel_span_end(child);
    assert_int_equal(ctel_context_detach(tok), CTEL_OK);
    assert_null(ctel_span_current());

    /* An explicit parent context wins over the (now empty) current one. */
    ctel_context *pctx = ctel_context_with_span(NULL, parent);
    assert_non_null(pctx);
    ctel_span_start_options eo = CTEL_SPAN_START_OPTIONS_INIT;
    eo.parent = pctx;
    ctel_span *explicit_child = ctel_span_start(f.tracer, "explicit-child", &eo);
    ctel_span_end(explicit_child);
    ctel_context_release(pctx);
    ctel_span_end(parent);

    const ctel_span_data *c = ctel_memory_exporter_find(f.mem, "child");
    const ctel_span_data *r = ctel_memory_exporter_find(f.mem, "forced-root");
    const ctel_span_data *e = ctel_memory_exporter_find(f.mem, "explicit-child");
    assert_non_null(c);
    assert_non_null(r);
    assert_non_null(e);
    assert_true(c->has_parent);
    assert_false(c->parent_is_remote);
    assert_memory_equal(c->context.trace_id, psc.trace_id, 16);
    assert_memory_equal(c->parent_span_id, psc.span_id, 8);
    assert_false(r->has_parent);
    assert_memory_not_equal(r->context.trace_id, psc.trace_id, 16);
    assert_true(e->has_parent);
    assert_memory_equal(e->parent_span_id, psc.span_id, 8);
    assert_memory_equal(e->context.trace_id, psc.trace_id, 16);
    ctel_sdk_destroy(f.sdk);
}

static void test_remote_parent_and_tracestate_inherited(void **state)
{
    (void)state;
    fixture f = make(CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, NULL);
    ctel_span_context remote = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
                                {1, 1, 2, 2, 3, 3, 4, 4},
                                CTEL_TRACE_FLAG_SAMPLED,
                                true};
    ctel_context *ctx = ctel_context_with_span_context(NULL, &remote, "vendor=abc,other=1");
    ctel_context_token tok = ctel_context_attach(ctx);
    ctel_span *s = ctel_span_start(f.tracer, "server", NULL);
    ctel_span_context sc = ctel_span_get_context(s);
    /* The parent had no random flag: the child must not claim one. */
    assert_false(sc.trace_flags & CTEL_TRACE_FLAG_RANDOM);
    ctel_span_end(s);
    assert_int_equal(ctel_context_detach(tok), CTEL_OK);
    ctel_context_release(ctx);
    const ctel_span_data *d = ctel_memory_exporter_find(f.mem, "server");
    assert_non_null(d);
    assert_true(d->has_parent);
    assert_true(d->parent_is_remote);
    assert_memory_equal(d->context.trace_id, remote.trace_id, 16);
    assert_memory_equal(d->parent_span_id, remote.span_id, 8);
    assert_string_equal(d->trace_state, "vendor=abc,other=1");
    assert_int_equal(d->trace_state_len, strlen("vendor=abc,other=1"));
    ctel_sdk_destroy(f.sdk);
}

static void test_attributes_all_types_and_overwrite(void **state)
{
    (void)state;
    fixture f = make(CTEL_SAMPLER_ALWAYS_ON, NULL);
    ctel_span *s = ctel_span_start(f.tracer, "attrs", NULL);
    char key[32], val[32];
    snprintf(key, sizeof key, "%s", "str.key");
    snprintf(val, sizeof val, "%s", "hello");
    assert_int_equal(ctel_span_set_attr_str(s, key, val), CTEL_OK);
    /* The caller's buffers are copied before the call returns. */
    memset(key, 'x', sizeof key - 1);
    memset(val, 'y', sizeof val - 1);
    assert_int_equal(ctel_span_set_attr_int(s, "int.key", -42), CTEL_OK);
    assert_int_equal(ctel_span_set_attr_double(s, "double.key", 2.5), CTEL_OK);
    assert_int_equal(ctel_span_set_attr_bool(s, "bool.key", true), CTEL_OK);
    uint8_t bytes[3] = {0, 0xff, 7};
    ctel_value bv = {.type = CTEL_VALUE_BYTES};
    bv.u.bytes.ptr = bytes;
    bv.u.bytes.len = 3;
    assert_int_equal(ctel_span_set_attribute(s, "bytes.key", &bv), CTEL_OK);
    ctel_value items[2] = {ctel_value_str("a"), ctel_value_int(7)};
    ctel_value av = {.type = CTEL_VALUE_ARRAY};
    av.u.array.items = items;
    av.u.array.count = 2;
    assert_int_equal(ctel_span_set_attribute(s, "array.key", &av), CTEL_OK);
    ctel_attribute kv[1] = {CTEL_ATTR_STR("inner", "v")};
    ctel_value kvv = {.type = CTEL_VALUE_KVLIST};
    kvv.u.kvlist.items = kv;
    kvv.u.kvlist.count = 1;
    assert_int_equal(ctel_span_set_attribute(s, "kv.key", &kvv), CTEL_OK);
    /* Overwrite keeps one entry with the new value. */
    assert_int_equal(ctel_span_set_attr_int(s, "int.key", 43), CTEL_OK);
    assert_int_equal(ctel_span_set_attr_str(s, "int.key", "now a string"), CTEL_OK);
    assert_int_equal(ctel_span_set_attr_str(s, NULL, "x"), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_span_set_attr_str(s, "k", NULL), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_span_set_attr_str(s, "", "x"), CTEL_ERR_INVALID_ARGUMENT);
    ctel_span_end(s);

    const ctel_span_data *d = ctel_memory_exporter_find(f.mem, "attrs");
    assert_non_null(d);
    assert_int_equal(d->attribute_count, 7);
    assert_int_equal(d->dropped_attributes_count, 0);
    const ctel_attribute *a = find_attr(d->attributes, d->attribute_count, "str.key");
    assert_non_null(a);
    assert_int_equal(a->value.type, CTEL_VALUE_STRING);
    assert_string_equal(a->value.u.string.ptr, "hello");
    a = find_attr(d->attributes, d->attribute_count, "int.key");
    assert_int_equal(a->value.type, CTEL_VALUE_STRING);
    assert_string_equal(a->value.u.string.ptr, "now a string");
    a = find_attr(d->attributes, d->attribute_count, "double.key");
    assert_true(a->value.u.real == 2.5);
    a = find_attr(d->attributes, d->attribute_count, "bool.key");
    assert_true(a->value.u.boolean);
    a = find_attr(d->attributes, d->attribute_count, "bytes.key");
    assert_int_equal(a->value.u.bytes.len, 3);
    assert_memory_equal(a->value.u.bytes.ptr, bytes, 3);
    a = find_attr(d->attributes, d->attribute_count, "array.key");
    assert_int_equal(a->value.u.array.count, 2);
    assert_string_equal(a->value.u.array.items[0].u.string.ptr, "a");
    assert_int_equal(a->value.u.array.items[1].u.integer, 7);
    a = find_attr(d->attributes, d->attribute_count, "kv.key");
    assert_int_equal(a->value.u.kvlist.count, 1);
    assert_string_equal(a->value.u.kvlist.items[0].key, "inner");
    ctel_sdk_destroy(f.sdk);
}

static void test_attribute_limits(void **state)
{
    (void)state;
    ctel_span_limits lim = CTEL_SPAN_LIMITS_INIT;
    lim.attribute_count = 2;
    lim.attribute_value_length = 2;
    fixture f = make(CTEL_SAMPLER_ALWAYS_ON, &lim);
    ctel_span *s = ctel_span_start(f.tracer, "limited", NULL);
    assert_int_equal(ctel_span_set_attr_str(s, "a", "h\xc3\xa9llo"), CTEL_OK);
    assert_int_equal(ctel_span_set_attr_int(s, "b", 1), CTEL_OK);
    assert_int_equal(ctel_span_set_attr_int(s, "c", 2), CTEL_ERR_LIMIT);
    assert_int_equal(ctel_span_set_attr_int(s, "d", 3), CTEL_ERR_LIMIT);
    /* Replacing an existing key is not an addition. */
    assert_int_equal(ctel_span_set_attr_int(s, "b", 9), CTEL_OK);
    ctel_span_end(s);
    const ctel_span_data *d = ctel_memory_exporter_find(f.mem, "limited");
    assert_int_equal(d->attribute_count, 2);
    assert_int_equal(d->dropped_attributes_count, 2);
    const ctel_attribute *a = find_attr(d->attributes, 2, "a");
    /* Two characters, the second a two-byte UTF-8 sequence kept whole. */
    assert_int_equal(a->value.u.string.len, 3);
    assert_string_equal(a->value.u.string.ptr, "h\xc3\xa9");
    assert_int_equal(find_attr(d->attributes, 2, "b")->value.u.integer, 9);
    ctel_sdk_destroy(f.sdk);
}

static void test_many_attributes_overflow_inline_storage(void **state)
{
    (void)state;
    fixture f = make(CTEL_SAMPLER_ALWAYS_ON, NULL);
    for (int round = 0; round < 3; round++) {
        ctel_span *s = ctel_span_start(f.tracer, "big", NULL);
        char key[32], val[300];
        memset(val, 'v', sizeof val - 1);
        val[sizeof val - 1] = '\0';
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "key.%d", i);
            assert_int_equal(ctel_span_set_attr_str(s, key, val), CTEL_OK);
        }
        ctel_span_end(s);
    }
    assert_int_equal(ctel_memory_exporter_count(f.mem), 3);
    const ctel_span_data *d = NULL;
    assert_int_equal(ctel_memory_exporter_get(f.mem, 2, &d), CTEL_OK);
    assert_int_equal(d->attribute_count, 100);
    const ctel_attribute *a = find_attr(d->attributes, d->attribute_count, "key.99");
    assert_non_null(a);
    assert_int_equal(a->value.u.string.len, 299);
    ctel_sdk_destroy(f.sdk);
}

static void test_events_links_and_limits(void **state)
{
    (void)state;
    ctel_span_limits lim = CTEL_SPAN_LIMITS_INIT;
    lim.event_count = 2;
    lim.link_count = 1;
    lim.attributes_per_event = 1;
    lim.attributes_per_link = 1;
    fixture f = make(CTEL_SAMPLER_ALWAYS_ON, &lim);
    ctel_span_context other = {{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9},
                               {8, 8, 8, 8, 8, 8, 8, 8},
                               1,
                               true};
    ctel_attribute la[2] = {CTEL_ATTR_STR("l1", "x"), CTEL_ATTR_INT("l2", 2)};
    ctel_link link = {other, "k=v", la, 2};
    ctel_span_start_options o = CTEL_SPAN_START_OPTIONS_INIT;
    o.links = &link;
    o.link_count = 1;
    ctel_span *s = ctel_span_start(f.tracer, "evented", &o);
    ctel_attribute ea[2] = {CTEL_ATTR_STR("e1", "x"), CTEL_ATTR_INT("e2", 2)};
    assert_int_equal(ctel_span_add_event(s, "first", 77, ea, 2), CTEL_OK);
    assert_int_equal(ctel_span_add_event(s, "second", 0, NULL, 0), CTEL_OK);
    assert_int_equal(ctel_span_add_event(s, "third", 0, NULL, 0), CTEL_ERR_LIMIT);
    assert_int_equal(ctel_span_add_link(s, &link), CTEL_ERR_LIMIT);
    ctel_link invalid = {{{0}, {0}, 0, false}, NULL, NULL, 0};
    assert_int_equal(ctel_span_add_link(s, &invalid), CTEL_ERR_INVALID_ARGUMENT);
    ctel_span_end(s);
    const ctel_span_data *d = ctel_memory_exporter_find(f.mem, "evented");
    assert_int_equal(d->event_count, 2);
    assert_int_equal(d->dropped_events_count, 1);
    assert_string_equal(d->events[0].name, "first");
    assert_int_equal(d->events[0].time_unix_nano, 77);
    assert_int_equal(d->events[0].attribute_count, 1);
    assert_int_equal(d->events[0].dropped_attributes_count, 1);
    assert_string_equal(d->events[1].name, "second");
    assert_true(d->events[1].time_unix_nano >= d->start_time_unix_nano);
    assert_int_equal(d->link_count, 1);
    assert_int_equal(d->dropped_links_count, 1);
    assert_memory_equal(d->links[0].context.span_id, other.span_id, 8);
    assert_string_equal(d->links[0].trace_state, "k=v");
    assert_int_equal(d->links[0].attribute_count, 1);
    assert_int_equal(d->links[0].dropped_attributes_count, 1);
    ctel_sdk_destroy(f.sdk);
}

static void test_status_rules_exception_and_rename(void **state)
{
    (void)state;
    fixture f = make(CTEL_SAMPLER_ALWAYS_ON, NULL);
    ctel_span *s = ctel_span_start(f.tracer, "before", NULL);
    ctel_span_set_status(s, CTEL_STATUS_ERROR, "boom");
    ctel_span_set_status(s, CTEL_STATUS_UNSET, NULL); /* ignored */
    assert_int_equal(ctel_span_record_exception(s, "IOError", "disk full", "at main()", NULL, 0),
                     CTEL_OK);
    assert_int_equal(ctel_span_update_name(s, "after"), CTEL_OK);
    ctel_span_end(s);
    const ctel_span_data *d = ctel_memory_exporter_find(f.mem, "after");
    assert_non_null(d);
    assert_int_equal(d->status_code, CTEL_STATUS_ERROR);
    assert_string_equal(d->status_message, "boom");
    assert_int_equal(d->event_count, 1);
    assert_string_equal(d->events[0].name, "exception");
    assert_string_equal(find_attr(d->events[0].attributes, d->events[0].attribute_count,
                                  "exception.type")->value.u.string.ptr,
                        "IOError");
    assert_string_equal(find_attr(d->events[0].attributes, d->events[0].attribute_count,
                                  "exception.message")->value.u.string.ptr,
                        "disk full");
    assert_non_null(find_attr(d->events[0].attributes, d->events[0].attribute_count,
                              "exception.stacktrace"));

    ctel_span *ok = ctel_span_start(f.tracer, "ok", NULL);
    ctel_span_set_status(ok, CTEL_STATUS_OK, "ignored description");
    ctel_span_set_status(ok, CTEL_STATUS_ERROR, "too late"); /* OK is final */
    ctel_span_end(ok);
    d = ctel_memory_exporter_find(f.mem, "ok");
    assert_int_equal(d->status_code, CTEL_STATUS_OK);
    assert_string_equal(d->status_message, "");
    ctel_sdk_destroy(f.sdk);
}

static void test_unsampled_span_carries_context_only(void **state)
{
    (void)state;
    fixture f = make(CTEL_SAMPLER_ALWAYS_OFF, NULL);
    ctel_span *s = ctel_span_start(f.tracer, "dropped", NULL);
    assert_non_null(s);
    assert_false(ctel_span_is_recording(s));
    ctel_span_context sc = ctel_span_get_context(s);
    assert_true(ctel_span_context_is_valid(&sc));
    assert_false(sc.trace_flags & CTEL_TRACE_FLAG_SAMPLED);
    assert_int_equal(ctel_span_set_attr_str(s, "k", "v"), CTEL_OK);
    assert_int_equal(ctel_span_add_event(s, "e", 0, NULL, 0), CTEL_OK);
    /* A child of an unsampled span continues its trace. */
    ctel_context_token tok = ctel_span_make_current(s);
    ctel_span *child = ctel_span_start(f.tracer, "child", NULL);
    ctel_span_context csc = ctel_span_get_context(child);
    assert_memory_equal(csc.trace_id, sc.trace_id, 16);
    ctel_span_end(child);
    ctel_context_detach(tok);
    ctel_span_end(s);
    assert_int_equal(ctel_memory_exporter_count(f.mem), 0);
    ctel_sdk_destroy(f.sdk);
}

static void test_null_and_invalid_handles_are_safe(void **state)
{
    (void)state;
    ctel_span *s = ctel_span_start(NULL, "x", NULL);
    assert_non_null(s);
    assert_false(ctel_span_is_recording(s));
    ctel_span_context sc = ctel_span_get_context(s);
    assert_false(ctel_span_context_is_valid(&sc));
    assert_int_equal(ctel_span_set_attr_str(s, "k", "v"), CTEL_OK);
    ctel_span_set_status(s, CTEL_STATUS_ERROR, "x");
    ctel_span_end(s);
    ctel_span_end(s); /* the shared invalid span tolerates repeats */
    assert_int_equal(ctel_span_set_attr_int(NULL, "k", 1), CTEL_OK);
    assert_false(ctel_span_is_recording(NULL));
    ctel_span_end(NULL);
    ctel_span_end_at(NULL, 5);
    assert_null(ctel_sdk_tracer(NULL, "x", NULL, NULL));
}

static void test_disabled_sdk_is_noop(void **state)
{
    (void)state;
    ctel_span_exporter *exp = NULL;
    ctel_memory_exporter *mem = NULL;
    assert_int_equal(ctel_memory_exporter_create(0, &mem, &exp), CTEL_OK);
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_simple_processor_create(exp, &proc), CTEL_OK);
    setenv("OTEL_SDK_DISABLED", "TRUE", 1);
    ctel_sdk_options o = CTEL_SDK_OPTIONS_INIT;
    o.span_processors = &proc;
    o.span_processor_count = 1;
    ctel_sdk *sdk = NULL;
    assert_int_equal(ctel_sdk_create(&o, &sdk), CTEL_OK);
    unsetenv("OTEL_SDK_DISABLED");
    assert_true(ctel_sdk_is_disabled(sdk));
    ctel_tracer *t = ctel_sdk_tracer(sdk, "x", NULL, NULL);
    ctel_span *s = ctel_span_start(t, "noop", NULL);
    assert_false(ctel_span_is_recording(s));
    ctel_span_context sc = ctel_span_get_context(s);
    assert_true(ctel_span_context_is_valid(&sc)); /* still propagates */
    ctel_span_end(s);
    assert_int_equal(ctel_memory_exporter_count(mem), 0);
    ctel_sdk_destroy(sdk);
}

static void test_spans_after_shutdown_are_not_recorded(void **state)
{
    (void)state;
    fixture f = make(CTEL_SAMPLER_ALWAYS_ON, NULL);
    ctel_span *inflight = ctel_span_start(f.tracer, "inflight", NULL);
    assert_int_equal(ctel_sdk_shutdown(f.sdk, 1000), CTEL_OK);
    assert_int_equal(ctel_sdk_shutdown(f.sdk, 1000), CTEL_ERR_SHUTDOWN);
    ctel_span *late = ctel_span_start(f.tracer, "late", NULL);
    assert_false(ctel_span_is_recording(late));
    ctel_span_end(late);
    ctel_span_end(inflight);
    ctel_sdk_stats st;
    assert_int_equal(ctel_sdk_stats_get(f.sdk, &st), CTEL_OK);
    assert_int_equal(st.spans_dropped_shutdown, 1);
    assert_int_equal(ctel_memory_exporter_count(f.mem), 0);
    ctel_sdk_destroy(f.sdk);
}

static void test_ending_a_current_span_keeps_scope_parent(void **state)
{
    (void)state;
    fixture f = make(CTEL_SAMPLER_ALWAYS_ON, NULL);
    ctel_span *outer = ctel_span_start(f.tracer, "outer", NULL);
    ctel_span_context osc = ctel_span_get_context(outer);
    ctel_context_token tok = ctel_span_make_current(outer);
    ctel_span_end(outer); /* ended while still current */
    assert_null(ctel_span_current());
    /* Reuse records so a dangling pointer would be caught by ASan/asserts. */
    for (int i = 0; i < 200; i++)
        ctel_span_end(ctel_span_start(f.tracer, "filler", NULL));
    ctel_span *inner = ctel_span_start(f.tracer, "inner", NULL);
    ctel_span_end(inner);
    assert_int_equal(ctel_context_detach(tok), CTEL_OK);
    const ctel_span_data *d = ctel_memory_exporter_find(f.mem, "inner");
    assert_non_null(d);
    assert_memory_equal(d->parent_span_id, osc.span_id, 8);
    assert_memory_equal(d->context.trace_id, osc.trace_id, 16);
    ctel_sdk_destroy(f.sdk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_span_fields),
        cmocka_unit_test(test_clock_times_are_ordered),
        cmocka_unit_test(test_parent_from_current_explicit_and_root),
        cmocka_unit_test(test_remote_parent_and_tracestate_inherited),
        cmocka_unit_test(test_attributes_all_types_and_overwrite),
        cmocka_unit_test(test_attribute_limits),
        cmocka_unit_test(test_many_attributes_overflow_inline_storage),
        cmocka_unit_test(test_events_links_and_limits),
        cmocka_unit_test(test_status_rules_exception_and_rename),
        cmocka_unit_test(test_unsampled_span_carries_context_only),
        cmocka_unit_test(test_null_and_invalid_handles_are_safe),
        cmocka_unit_test(test_disabled_sdk_is_noop),
        cmocka_unit_test(test_spans_after_shutdown_are_not_recorded),
        cmocka_unit_test(test_ending_a_current_span_keeps_scope_parent),
    };
    return cmocka_run_group_tests_name("sdk/trace/span", tests, NULL, NULL);
}
