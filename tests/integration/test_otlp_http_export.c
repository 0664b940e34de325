/* Integration: the OTLP/HTTP span exporter against a real OTLP/HTTP receiver
 * (the ctel sink, in-process) over loopback, with real libcurl. */
#include "support/test_support.h"
#include "tools/ctel/sink/sink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------- */

static ctel_sink *start_sink(bool keep)
{
    ctel_sink_options so = {0};
    so.keep_requests = keep;
    ctel_sink *sink = NULL;
    char err[256];
    if (ctel_sink_start(&so, &sink, err, sizeof err) != 0)
        fail_msg("sink: %s", err);
    return sink;
}

static void sink_url(ctel_sink *sink, char *buf, size_t cap)
{
    snprintf(buf, cap, "http://127.0.0.1:%u/v1/traces", (unsigned)ctel_sink_port(sink));
}

/* An exporter to the sink with `o` (endpoint filled in). */
static ctel_span_exporter *exporter_to(ctel_sink *sink, ctel_otlp_options *o)
{
    static char url[128];
    sink_url(sink, url, sizeof url);
    o->endpoint = url;
    ctel_span_exporter *exp = NULL;
    assert_int_equal(ctel_otlp_http_exporter_create(o, &exp), CTEL_OK);
    return exp;
}

static ctel_otlp_exporter_stats stats_of(ctel_span_exporter *exp)
{
    ctel_otlp_exporter_stats st;
    assert_int_equal(ctel_otlp_exporter_get_stats(exp, &st), CTEL_OK);
    return st;
}

/* A few spans recorded into a memory exporter, to export by hand. */
typedef struct span_set {
    ctel_sdk *sdk;
    ctel_memory_exporter *mem;
    const ctel_span_data *spans[64];
    size_t n;
} span_set;

static void make_spans(span_set *s, size_t n)
{
    assert_true(n <= 64);
    ctel_span_exporter *mexp = NULL;
    assert_int_equal(ctel_memory_exporter_create(0, &s->mem, &mexp), CTEL_OK);
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_simple_processor_create(mexp, &proc), CTEL_OK);
    s->sdk = ts_sdk_with_processor(proc);
    ctel_tracer *t = ctel_sdk_tracer(s->sdk, "test", "1.0", NULL);
    for (size_t i = 0; i < n; i++) {
        ctel_span *sp = ctel_span_start(t, "op", NULL);
        ctel_span_set_attr_int(sp, "i", (int64_t)i);
        ctel_span_end(sp);
    }
    s->n = ctel_memory_exporter_count(s->mem);
    assert_int_equal(s->n, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ctel_memory_exporter_get(s->mem, i, &s->spans[i]), CTEL_OK);
}

static void free_spans(span_set *s)
{
    ctel_sdk_shutdown(s->sdk, 1000);
    ctel_sdk_destroy(s->sdk);
}

/* ---- field-by-field comparison of a sent span and a received one ---------- */

static bool bin_eq(ProtobufCBinaryData b, const uint8_t *p, size_t n)
{
    return b.len == n && (n == 0 || memcmp(b.data, p, n) == 0);
}

static void check_value(const ctel_value *v, const Opentelemetry__Proto__Common__V1__AnyValue *a);

static void check_attrs(const ctel_attribute *attrs, size_t n,
                        Opentelemetry__Proto__Common__V1__KeyValue *const *kv, size_t kn)
{
    assert_int_equal(kn, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strlen(kv[i]->key), attrs[i].key_len);
        assert_memory_equal(kv[i]->key, attrs[i].key, attrs[i].key_len);
        check_value(&attrs[i].value, kv[i]->value);
    }
}

static void check_value(const ctel_value *v, const Opentelemetry__Proto__Common__V1__AnyValue *a)
{
    assert_non_null(a);
    switch (v->type) {
    case CTEL_VALUE_EMPTY:
        assert_int_equal(a->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
        break;
    case CTEL_VALUE_STRING:
        assert_int_equal(a->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
        assert_int_equal(strlen(a->string_value), v->u.string.len);
        assert_memory_equal(a->string_value, v->u.string.ptr, v->u.string.len);
        break;
    case CTEL_VALUE_BOOL:
        assert_int_equal(a->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
        assert_int_equal(!!a->bool_value, v->u.boolean);
        break;
    case CTEL_VALUE_INT:
        assert_int_equal(a->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
        assert_true(a->int_value == v->u.integer);
        break;
    case CTEL_VALUE_DOUBLE:
        assert_int_equal(a->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
        assert_true(a->double_value == v->u.real);
        break;
    case CTEL_VALUE_BYTES:
        assert_int_equal(a->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
        assert_true(bin_eq(a->bytes_value, v->u.bytes.ptr, v->u.bytes.len));
        break;
    case CTEL_VALUE_ARRAY:
        assert_int_equal(a->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
        assert_int_equal(a->array_value->n_values, v->u.array.count);
        for (size_t i = 0; i < v->u.array.count; i++)
            check_value(&v->u.array.items[i], a->array_value->values[i]);
        break;
    case CTEL_VALUE_KVLIST:
        assert_int_equal(a->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
        check_attrs(v->u.kvlist.items, v->u.kvlist.count, a->kvlist_value->values,
                    a->kvlist_value->n_values);
        break;
    }
}

static void check_span(const ctel_span_data *d, const Opentelemetry__Proto__Trace__V1__Span *p)
{
    assert_true(bin_eq(p->trace_id, d->context.trace_id, 16));
    assert_true(bin_eq(p->span_id, d->context.span_id, 8));
    if (d->has_parent)
        assert_true(bin_eq(p->parent_span_id, d->parent_span_id, 8));
    else
        assert_int_equal(p->parent_span_id.len, 0);
    assert_int_equal(strlen(p->trace_state), d->trace_state_len);
    assert_memory_equal(p->trace_state, d->trace_state, d->trace_state_len);
    assert_int_equal(p->flags & 0xff, d->context.trace_flags);
    assert_true(p->flags & 0x100);
    assert_int_equal(!!(p->flags & 0x200), d->has_parent && d->parent_is_remote);
    assert_string_equal(p->name, d->name);
    assert_int_equal((int)p->kind, (int)d->kind);
    assert_true(p->start_time_unix_nano == d->start_time_unix_nano);
    assert_true(p->end_time_unix_nano == d->end_time_unix_nano);
    check_attrs(d->attributes, d->attribute_count, p->attributes, p->n_attributes);
    assert_int_equal(p->dropped_attributes_count, d->dropped_attributes_count);
    assert_int_equal(p->n_events, d->event_count);
    for (size_t i = 0; i < d->event_count; i++) {
        const ctel_span_event_data *e = &d->events[i];
        assert_string_equal(p->events[i]->name, e->name);
        assert_true(p->events[i]->time_unix_nano == e->time_unix_nano);
        check_attrs(e->attributes, e->attribute_count, p->events[i]->attributes,
                    p->events[i]->n_attributes);
        assert_int_equal(p->events[i]->dropped_attributes_count, e->dropped_attributes_count);
    }
    assert_int_equal(p->dropped_events_count, d->dropped_events_count);
    assert_int_equal(p->n_links, d->link_count);
    for (size_t i = 0; i < d->link_count; i++) {
        const ctel_span_link_data *l = &d->links[i];
        assert_true(bin_eq(p->links[i]->trace_id, l->context.trace_id, 16));
        assert_true(bin_eq(p->links[i]->span_id, l->context.span_id, 8));
        assert_string_equal(p->links[i]->trace_state, l->trace_state);
        check_attrs(l->attributes, l->attribute_count, p->links[i]->attributes,
                    p->links[i]->n_attributes);
        assert_int_equal(p->links[i]->dropped_attributes_count, l->dropped_attributes_count);
    }
    assert_int_equal(p->dropped_links_count, d->dropped_links_count);
    if (d->status_code == CTEL_STATUS_UNSET) {
        assert_true(!p->status || p->status->code == 0);
    } else {
        assert_non_null(p->status);
        assert_int_equal((int)p->status->code, (int)d->status_code);
        assert_string_equal(p->status->message, d->status_message);
    }
}

/* Checks that every span the sink kept matches one recorded in `mem`, and
 * that every recorded span arrived exactly once. */
static void check_all_received(ctel_sink *sink, ctel_memory_exporter *mem)
{
    size_t n = ctel_memory_exporter_count(mem);
    bool *seen = calloc(n, sizeof *seen);
    assert_non_null(seen);
    size_t received = 0;
    for (size_t r = 0; r < ctel_sink_request_count(sink); r++) {
        ctel_sink_request_info info;
        assert_true(ctel_sink_request(sink, r, &info));
        const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
            info.request;
        assert_non_null(req);
        for (size_t a = 0; a < req->n_resource_spans; a++) {
            const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[a];
            /* the resource carries the service name the SDK was given */
            bool has_service = false;
            for (size_t k = 0; rs->resource && k < rs->resource->n_attributes; k++)
                if (!strcmp(rs->resource->attributes[k]->key, "service.name"))
                    has_service = !strcmp(rs->resource->attributes[k]->value->string_value,
                                          "ctel-tests");
            assert_true(has_service);
            for (size_t b = 0; b < rs->n_scope_spans; b++) {
                const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[b];
                assert_string_equal(ss->scope->name, "roundtrip");
                assert_string_equal(ss->scope->version, "2.0");
                for (size_t c = 0; c < ss->n_spans; c++) {
                    const Opentelemetry__Proto__Trace__V1__Span *p = ss->spans[c];
                    size_t i = 0;
                    const ctel_span_data *d = NULL;
                    for (; i < n; i++) {
                        assert_int_equal(ctel_memory_exporter_get(mem, i, &d), CTEL_OK);
                        if (bin_eq(p->span_id, d->context.span_id, 8))
                            break;
                    }
                    if (i == n)
                        fail_msg("received a span that was never created");
                    assert_false(seen[i]);
                    seen[i] = true;
                    check_span(d, p);
                    received++;
                }
            }
        }
    }
    assert_int_equal(received, n);
    free(seen);
}

/* Creates `n` spans of every shape through an SDK with two processors: a
 * simple one into memory (the reference copy) and a batch one exporting to
 * the sink with `o`. Returns the SDK (shut down) and the memory exporter. */
static ctel_sdk *export_rich_spans(ctel_sink *sink, ctel_otlp_options *o, size_t n,
                                   ctel_memory_exporter **mem_out, ctel_span_exporter **otlp_out)
{
    ctel_span_exporter *mexp = NULL, *oexp = exporter_to(sink, o);
    *otlp_out = oexp;
    assert_int_equal(ctel_memory_exporter_create(0, mem_out, &mexp), CTEL_OK);
    ctel_span_processor *procs[2] = {NULL, NULL};
    assert_int_equal(ctel_simple_processor_create(mexp, &procs[0]), CTEL_OK);
    ctel_batch_options bo = CTEL_BATCH_OPTIONS_INIT;
    bo.max_queue_size = 65536;
    bo.max_export_batch_size = 128;
    bo.schedule_delay_ms = 50;
    assert_int_equal(ctel_batch_processor_create(oexp, &bo, &procs[1]), CTEL_OK);
    ctel_sampler *sampler = NULL;
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_ALWAYS_ON, 1.0, &sampler), CTEL_OK);
    ctel_sdk_options so = CTEL_SDK_OPTIONS_INIT;
    so.sampler = sampler;
    so.span_processors = procs;
    so.span_processor_count = 2;
    so.service_name = "ctel-tests";
    ctel_sdk *sdk = NULL;
    assert_int_equal(ctel_sdk_create(&so, &sdk), CTEL_OK);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "roundtrip", "2.0", NULL);

    static const uint8_t blob[] = {0, 1, 2, 0xfe, 0xff};
    const ctel_value arr_items[] = {ctel_value_str("a"), ctel_value_int(-7), ctel_value_bool(true),
                                    ctel_value_double(2.25)};
    const ctel_attribute kv_items[] = {CTEL_ATTR_STR("inner", "v"), CTEL_ATTR_INT("n", 1)};
    ctel_value arr = {.type = CTEL_VALUE_ARRAY, .u.array = {arr_items, 4}};
    ctel_value kvl = {.type = CTEL_VALUE_KVLIST, .u.kvlist = {kv_items, 2}};
    ctel_value bytes = {.type = CTEL_VALUE_BYTES, .u.bytes = {blob, sizeof blob}};
    ctel_value empty = {.type = CTEL_VALUE_EMPTY};

    /* a remote parent with a tracestate, as if extracted from traceparent */
    ctel_span_context remote = {.trace_flags = 1, .is_remote = true};
    memset(remote.trace_id, 0x4b, 16);
    memset(remote.span_id, 0x0a, 8);
    for (size_t i = 0; i < n; i++) {
        ctel_span_start_options so2 = CTEL_SPAN_START_OPTIONS_INIT;
        so2.kind = (ctel_span_kind)(i % 6);
        ctel_link link = {.context = remote, .trace_state = "vendor=abc"};
        ctel_attribute link_attr = CTEL_ATTR_STR("link.reason", "retry");
        link.attributes = &link_attr;
        link.attribute_count = 1;
        if (i % 3 == 0) {
            so2.links = &link;
            so2.link_count = 1;
        }
        ctel_span *root = ctel_span_start(t, i % 2 ? "GET /items" : "POST /orders", &so2);
        ctel_span_set_attr_str(root, "http.request.method", i % 2 ? "GET" : "POST");
        ctel_span_set_attr_int(root, "http.response.status_code", 200 + (int64_t)i);
        ctel_span_set_attr_double(root, "x.ratio", 0.5 + (double)i);
        ctel_span_set_attr_bool(root, "x.flag", i % 2 == 0);
        ctel_span_set_attribute(root, "x.array", &arr);
        ctel_span_set_attribute(root, "x.kvlist", &kvl);
        ctel_span_set_attribute(root, "x.bytes", &bytes);
        ctel_span_set_attribute(root, "x.empty", &empty);
        ctel_span_set_attr_str(root, "x.utf8", "caf\xc3\xa9 \xe2\x9c\x93 \"quoted\"\n");
        ctel_attribute ev[] = {CTEL_ATTR_INT("rows", (int64_t)i)};
        ctel_span_add_event(root, "fetched", 1700000000000000000ull + i, ev, 1);
        ctel_context_token tok = ctel_span_make_current(root);
        ctel_span *child = ctel_span_start(t, "child", NULL);
        if (i % 4 == 1)
            ctel_span_set_status(child, CTEL_STATUS_ERROR, "boom");
        else if (i % 4 == 2)
            ctel_span_set_status(child, CTEL_STATUS_OK, NULL);
        ctel_span_end(child);
        ctel_context_detach(tok);
        ctel_span_end(root);
    }
    assert_int_equal(ctel_sdk_shutdown(sdk, 10000), CTEL_OK);
    return sdk;
}

/* ---- tests -------------------------------------------------------------- */

static void roundtrip(ctel_otlp_protocol protocol, ctel_otlp_compression compression,
                      const char *want_type, const char *want_encoding)
{
    ctel_sink *sink = start_sink(true);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.protocol = protocol;
    o.compression = compression;
    o.headers = "x-api-key=s3cret,x-tenant=team%20a";
    ctel_memory_exporter *mem = NULL;
    ctel_span_exporter *oexp = NULL;
    const size_t n = 300;
    ctel_sdk *sdk = export_rich_spans(sink, &o, n, &mem, &oexp);
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    /* two spans per round, each handed to both processors */
    assert_int_equal(st.spans_ended, 2 * 2 * n);
    assert_int_equal(st.spans_exported, 2 * 2 * n);
    assert_true(ctel_sink_wait_spans(sink, 2 * n, 5000));
    ctel_sink_stats ss;
    ctel_sink_get_stats(sink, &ss);
    assert_int_equal(ss.spans, 2 * n);
    assert_int_equal(ss.bad_requests, 0);
    check_all_received(sink, mem);

    ctel_sink_request_info info;
    assert_true(ctel_sink_request(sink, 0, &info));
    assert_string_equal(info.content_type, want_type);
    assert_string_equal(info.content_encoding, want_encoding);
    assert_non_null(strstr(info.user_agent, "ctel/" CTEL_VERSION_STRING));
    assert_non_null(strstr(info.user_agent, "OTel-OTLP-Exporter-C/"));
    char h[64];
    assert_true(ctel_sink_request_header(sink, 0, "x-api-key", h, sizeof h));
    assert_string_equal(h, "s3cret");
    assert_true(ctel_sink_request_header(sink, 0, "X-Tenant", h, sizeof h));
    assert_string_equal(h, "team a");
    assert_false(ctel_sink_request_header(sink, 0, "Expect", h, sizeof h));

    /* the stats of the exporter agree with the receiver */
    ctel_otlp_exporter_stats es;
    assert_int_equal(ctel_otlp_exporter_get_stats(oexp, &es), CTEL_OK);
    assert_int_equal(es.items_sent, 2 * n);
    assert_int_equal(es.requests, ss.requests);
    assert_int_equal(es.requests_failed, 0);
    assert_int_equal(es.bytes_sent, ss.bytes);
    /* the pipeline's accounting: everything delivered, nothing pending */
    assert_int_equal(es.submitted, 2 * n);
    assert_int_equal(es.delivered, 2 * n);
    assert_int_equal(es.rejected + es.dropped_queue_full + es.dropped_retries_exhausted +
                         es.dropped_shutdown + es.queued + es.in_flight + es.on_disk + es.retried,
                     0);
    assert_int_equal(es.breaker_state, CTEL_BREAKER_CLOSED);
    assert_true(es.last_success_unix_ns > 0);
    /* gzip does compress: protobuf requests of these spans shrink 3.3-3.6x
     * when they hold 15-20 spans (as under ThreadSanitizer, whose slow
     * producers leave the worker small batches), so ask for 2x, not a
     * ratio such requests only just reach */
    if (compression == CTEL_OTLP_COMPRESSION_GZIP)
        assert_true(es.bytes_sent * 2 < es.bytes_encoded);
    else
        assert_int_equal(es.bytes_sent, es.bytes_encoded);
    ctel_sdk_destroy(sdk);
    ctel_sink_stop(sink);
}

static void test_roundtrip_protobuf(void **state)
{
    (void)state;
    roundtrip(CTEL_OTLP_HTTP_PROTOBUF, CTEL_OTLP_COMPRESSION_NONE, "application/x-protobuf", "");
}

static void test_roundtrip_protobuf_gzip(void **state)
{
    (void)state;
    roundtrip(CTEL_OTLP_HTTP_PROTOBUF, CTEL_OTLP_COMPRESSION_GZIP, "application/x-protobuf",
              "gzip");
}

static void test_roundtrip_json(void **state)
{
    (void)state;
    roundtrip(CTEL_OTLP_HTTP_JSON, CTEL_OTLP_COMPRESSION_NONE, "application/json", "");
}

static void test_roundtrip_json_gzip(void **state)
{
    (void)state;
    roundtrip(CTEL_OTLP_HTTP_JSON, CTEL_OTLP_COMPRESSION_GZIP, "application/json", "gzip");
}

/* Each HTTP status lands in the right class; Retry-After is captured. */
static void test_status_classes(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(false);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.direct = 1; /* one synchronous attempt: its outcome is what export returns */
    ctel_span_exporter *exp = exporter_to(sink, &o);
    span_set s;
    make_spans(&s, 3);
    static const struct {
        int status;
        ctel_status want;
    } cases[] = {
        {429, CTEL_ERR_UNAVAILABLE}, {502, CTEL_ERR_UNAVAILABLE}, {503, CTEL_ERR_UNAVAILABLE},
        {504, CTEL_ERR_UNAVAILABLE}, {400, CTEL_ERR_REJECTED},    {401, CTEL_ERR_REJECTED},
        {403, CTEL_ERR_REJECTED},    {404, CTEL_ERR_REJECTED},    {413, CTEL_ERR_REJECTED},
        {500, CTEL_ERR_REJECTED},    {501, CTEL_ERR_REJECTED},
    };
    uint64_t failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
        f.fail_count = 1;
        f.fail_status = cases[i].status;
        if (cases[i].status == 503)
            snprintf(f.retry_after, sizeof f.retry_after, "7");
        ctel_sink_set_faults(sink, &f);
        ts_log_capture_start();
        ctel_status rc = ctel_span_exporter_export(exp, s.spans, s.n, 5000);
        ts_log_capture_stop();
        if (rc != cases[i].want)
            fail_msg("HTTP %d: got %s", cases[i].status, ctel_status_str(rc));
        failed++;
        ctel_otlp_exporter_stats st = stats_of(exp);
        assert_int_equal(st.last_http_status, cases[i].status);
        assert_int_equal(st.last_status, cases[i].want);
        assert_int_equal(st.requests_failed, failed);
        assert_int_equal(st.items_failed, failed * s.n);
        char want[16];
        snprintf(want, sizeof want, "HTTP %d", cases[i].status);
        assert_non_null(strstr(st.last_error, want));
        if (i == 0) /* a diagnostic names the status (later ones are rate-limited) */
            assert_true(ts_log_contains(want));
        if (cases[i].status == 503)
            assert_int_equal(st.last_retry_after_ms, 7000);
        else
            assert_int_equal(st.last_retry_after_ms, -1);
    }
    /* Retry-After as an HTTP-date (RFC 9110) is understood too */
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.fail_count = 1;
    f.fail_status = 429;
    time_t when = time(NULL) + 5;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(f.retry_after, sizeof f.retry_after, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    ctel_sink_set_faults(sink, &f);
    ts_log_capture_start();
    assert_int_equal(ctel_span_exporter_export(exp, s.spans, s.n, 5000), CTEL_ERR_UNAVAILABLE);
    ts_log_capture_stop();
    failed++;
    ctel_otlp_exporter_stats hd = stats_of(exp);
    assert_true(hd.last_retry_after_ms >= 3000 && hd.last_retry_after_ms <= 6000);

    /* the fault is used up: the next export succeeds on the same connection */
    assert_int_equal(ctel_span_exporter_export(exp, s.spans, s.n, 5000), CTEL_OK);
    ctel_sink_stats ss;
    ctel_sink_get_stats(sink, &ss);
    assert_int_equal(ss.failed, failed);
    assert_int_equal(ss.spans, s.n);
    ctel_span_exporter_destroy(exp);
    free_spans(&s);
    ctel_sink_stop(sink);
}

/* partial_success: export succeeds (no retry), the rejected count is kept. */
static void test_partial_success(void **state)
{
    (void)state;
    for (int json = 0; json < 2; json++) {
        ctel_sink *sink = start_sink(false);
        ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.direct = 1; /* one synchronous attempt: its outcome is what export returns */
        o.protocol = json ? CTEL_OTLP_HTTP_JSON : CTEL_OTLP_HTTP_PROTOBUF;
        ctel_span_exporter *exp = exporter_to(sink, &o);
        span_set s;
        make_spans(&s, 5);
        ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
        f.partial_count = 1;
        f.partial_rejected = 3;
        ctel_sink_set_faults(sink, &f);
        ts_log_capture_start();
        assert_int_equal(ctel_span_exporter_export(exp, s.spans, s.n, 5000), CTEL_OK);
        ts_log_capture_stop();
        assert_true(ts_log_contains("rejected 3 of 5"));
        ctel_otlp_exporter_stats st = stats_of(exp);
        assert_int_equal(st.items_sent, 5);
        assert_int_equal(st.items_rejected, 3);
        assert_int_equal(st.requests_failed, 0);
        /* the next answer is a plain success */
        assert_int_equal(ctel_span_exporter_export(exp, s.spans, s.n, 5000), CTEL_OK);
        st = stats_of(exp);
        assert_int_equal(st.items_rejected, 3);
        assert_int_equal(st.items_sent, 10);
        ctel_span_exporter_destroy(exp);
        free_spans(&s);
        ctel_sink_stop(sink);
    }
}

/* A delaying receiver: the export gives up at its deadline. */
static void test_timeout(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(false);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.direct = 1; /* one synchronous attempt: its outcome is what export returns */
    o.timeout_ms = 300;
    ctel_span_exporter *exp = exporter_to(sink, &o);
    span_set s;
    make_spans(&s, 2);
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.delay_ms = 2000;
    ctel_sink_set_faults(sink, &f);
    uint64_t t0 = ctel_now_unix_nano();
    ts_log_capture_start();
    ctel_status rc = ctel_span_exporter_export(exp, s.spans, s.n, 0);
    ts_log_capture_stop();
    uint64_t ms = (ctel_now_unix_nano() - t0) / 1000000u;
    assert_int_equal(rc, CTEL_ERR_TIMEOUT);
    assert_true(ms >= 250 && ms < 1500);
    ctel_otlp_exporter_stats st = stats_of(exp);
    assert_int_equal(st.last_status, CTEL_ERR_TIMEOUT);
    assert_int_equal(st.last_http_status, 0);
    /* the caller's deadline wins when it is shorter than the configured one */
    ctel_span_exporter_destroy(exp);
    o.timeout_ms = 0; /* no limit of its own */
    exp = exporter_to(sink, &o);
    t0 = ctel_now_unix_nano();
    ts_log_capture_start();
    rc = ctel_span_exporter_export(exp, s.spans, s.n, 200);
    ts_log_capture_stop();
    ms = (ctel_now_unix_nano() - t0) / 1000000u;
    assert_int_equal(rc, CTEL_ERR_TIMEOUT);
    assert_true(ms >= 150 && ms < 1500);
    f.delay_ms = 0;
    ctel_sink_set_faults(sink, &f);
    ctel_span_exporter_destroy(exp);
    free_spans(&s);
    ctel_sink_stop(sink);
}

/* A receiver that closes the connection without answering, then recovers;
 * and one that is not there at all. */
static void test_closed_and_refused(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(false);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.direct = 1; /* one synchronous attempt: its outcome is what export returns */
    ctel_span_exporter *exp = exporter_to(sink, &o);
    span_set s;
    make_spans(&s, 4);
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.close_count = 1;
    ctel_sink_set_faults(sink, &f);
    ts_log_capture_start();
    assert_int_equal(ctel_span_exporter_export(exp, s.spans, s.n, 5000), CTEL_ERR_UNAVAILABLE);
    ts_log_capture_stop();
    ctel_otlp_exporter_stats st = stats_of(exp);
    assert_int_equal(st.last_http_status, 0);
    assert_int_equal(st.requests_failed, 1);
    assert_true(st.last_error[0] != '\0');
    assert_int_equal(ctel_span_exporter_export(exp, s.spans, s.n, 5000), CTEL_OK);
    ctel_sink_stats ss;
    ctel_sink_get_stats(sink, &ss);
    assert_int_equal(ss.closed, 1);
    assert_int_equal(ss.spans, 4);
    ctel_span_exporter_destroy(exp);
    uint16_t port = ctel_sink_port(sink);
    ctel_sink_stop(sink);

    /* nobody listens on that port any more */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/traces", (unsigned)port);
    o.endpoint = url;
    assert_int_equal(ctel_otlp_http_exporter_create(&o, &exp), CTEL_OK);
    ts_log_capture_start();
    assert_int_equal(ctel_span_exporter_export(exp, s.spans, s.n, 5000), CTEL_ERR_UNAVAILABLE);
    ts_log_capture_stop();
    st = stats_of(exp);
    assert_int_equal(st.items_failed, 4);
    assert_non_null(strstr(st.last_error, "onnect"));
    ctel_span_exporter_destroy(exp);
    free_spans(&s);
}

/* A 200 whose body is not an OTLP response: still delivered (2xx), noted. */
static void test_garbage_answer(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(false);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.direct = 1; /* one synchronous attempt: its outcome is what export returns */
    ctel_span_exporter *exp = exporter_to(sink, &o);
    span_set s;
    make_spans(&s, 2);
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.garbage_count = 1;
    ctel_sink_set_faults(sink, &f);
    ts_log_capture_start();
    assert_int_equal(ctel_span_exporter_export(exp, s.spans, s.n, 5000), CTEL_OK);
    ts_log_capture_stop();
    assert_true(ts_log_contains("undecodable"));
    ctel_otlp_exporter_stats st = stats_of(exp);
    assert_int_equal(st.items_sent, 2);
    assert_int_equal(st.items_rejected, 0);
    ctel_span_exporter_destroy(exp);
    free_spans(&s);
    ctel_sink_stop(sink);
}

/* Batches are split to stay under the request size limit; a span that alone
 * exceeds it is not sent and is counted. */
static void test_request_size_limit(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(true);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.direct = 1; /* one synchronous attempt: its outcome is what export returns */
    o.max_request_bytes = 1500;
    ctel_span_exporter *exp = exporter_to(sink, &o);
    span_set s;
    make_spans(&s, 60);
    assert_int_equal(ctel_span_exporter_export(exp, s.spans, s.n, 5000), CTEL_OK);
    ctel_sink_stats ss;
    ctel_sink_get_stats(sink, &ss);
    assert_int_equal(ss.spans, 60);
    assert_true(ss.requests >= 4);
    for (size_t i = 0; i < ctel_sink_request_count(sink); i++) {
        ctel_sink_request_info info;
        assert_true(ctel_sink_request(sink, i, &info));
        assert_true(info.body_bytes <= 1500);
    }
    ctel_span_exporter_destroy(exp);

    o.max_request_bytes = 40; /* smaller than any span */
    exp = exporter_to(sink, &o);
    ts_log_capture_start();
    assert_int_equal(ctel_span_exporter_export(exp, s.spans, 1, 5000), CTEL_ERR_REJECTED);
    ts_log_capture_stop();
    assert_true(ts_log_contains("request limit"));
    ctel_otlp_exporter_stats st = stats_of(exp);
    assert_int_equal(st.requests, 0);
    assert_int_equal(st.items_failed, 1);
    ctel_span_exporter_destroy(exp);
    free_spans(&s);
    ctel_sink_stop(sink);
}

/* ---- readiness probe ------------------------------------------------------- */

static void test_probe(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(true);
    char url[128];
    sink_url(sink, url, sizeof url);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.endpoint = url;
    ctel_probe_result r;
    for (int json = 0; json < 2; json++) {
        o.protocol = json ? CTEL_OTLP_HTTP_JSON : CTEL_OTLP_HTTP_PROTOBUF;
        assert_int_equal(ctel_otlp_probe(&o, 2000, &r), CTEL_OK);
        if (!r.ready)
            fail_msg("probe: %s", r.message);
        assert_int_equal(r.reason, CTEL_PROBE_OK);
        assert_int_equal(r.http_status, 200);
        assert_string_equal(r.endpoint, url);
    }
    /* the probe carried a resource and no telemetry */
    ctel_sink_stats ss;
    ctel_sink_get_stats(sink, &ss);
    assert_int_equal(ss.requests, 2);
    assert_int_equal(ss.spans, 0);
    ctel_sink_request_info info;
    assert_true(ctel_sink_request(sink, 0, &info));
    assert_int_equal(info.request->n_resource_spans, 1);
    assert_int_equal(info.request->resource_spans[0]->n_scope_spans, 0);
    assert_string_equal(info.request->resource_spans[0]->resource->attributes[0]->value->string_value,
                        "ctel-probe");

    /* answering 503: not ready, says so */
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.fail_count = -1;
    f.fail_status = 503;
    ctel_sink_set_faults(sink, &f);
    o.protocol = CTEL_OTLP_HTTP_PROTOBUF;
    assert_int_equal(ctel_otlp_probe(&o, 2000, &r), CTEL_OK);
    assert_false(r.ready);
    assert_int_equal(r.reason, CTEL_PROBE_HTTP_STATUS);
    assert_int_equal(r.http_status, 503);
    assert_non_null(strstr(r.message, "503"));
    ctel_sink_stop(sink);

    /* closed port: refused, quickly */
    assert_int_equal(ctel_otlp_probe(&o, 2000, &r), CTEL_OK);
    assert_false(r.ready);
    assert_int_equal(r.reason, CTEL_PROBE_REFUSED);
    assert_true(r.latency_ms < 1000);

    /* a socket that listens but never answers: timeout at the deadline */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/traces", (unsigned)ntohs(a.sin_port));
    assert_int_equal(ctel_otlp_probe(&o, 300, &r), CTEL_OK);
    assert_false(r.ready);
    assert_int_equal(r.reason, CTEL_PROBE_TIMEOUT);
    assert_true(r.latency_ms >= 250 && r.latency_ms < 1500);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_protobuf),
        cmocka_unit_test(test_roundtrip_protobuf_gzip),
        cmocka_unit_test(test_roundtrip_json),
        cmocka_unit_test(test_roundtrip_json_gzip),
        cmocka_unit_test(test_status_classes),
        cmocka_unit_test(test_partial_success),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_closed_and_refused),
        cmocka_unit_test(test_garbage_answer),
        cmocka_unit_test(test_request_size_limit),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
