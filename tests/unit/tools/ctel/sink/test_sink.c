/* Tests for tools/ctel/sink: a real sink on 127.0.0.1 (port 0), spoken to
 * with libcurl — decoding, answers, counters, every fault, discard, --print
 * and --out output, and the command line. */
#include "support/test_support.h"
#include "tools/ctel/commands.h"
#include "tools/ctel/sink/sink.h"

#include "google/rpc/status.pb-c.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define CT_PB "application/x-protobuf"
#define CT_JSON "application/json"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req_msg;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp_msg;
typedef Opentelemetry__Proto__Trace__V1__Span span_msg;
typedef Opentelemetry__Proto__Common__V1__KeyValue kv_msg;
typedef Opentelemetry__Proto__Common__V1__AnyValue any_msg;

/* ---- HTTP client ---- */

typedef struct resp {
    long status;
    char body[16384];
    size_t len;
    char content_type[128];
    char retry_after[64];
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    size_t take = sz * n;
    if (take > sizeof r->body - 1 - r->len)
        take = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, p, take);
    r->len += take;
    r->body[r->len] = '\0';
    return sz * n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t k = strlen(name);
    if (n <= k + 1 || strncasecmp(line, name, k) || line[k] != ':')
        return;
    const char *v = line + k + 1;
    size_t vn = n - k - 1;
    while (vn && (*v == ' ' || *v == '\t'))
        v++, vn--;
    while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n'))
        vn--;
    snprintf(out, cap, "%.*s", (int)vn, v);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    header_value(p, sz * n, "Content-Type", r->content_type, sizeof r->content_type);
    header_value(p, sz * n, "Retry-After", r->retry_after, sizeof r->retry_after);
    return sz * n;
}

/* method NULL = POST. */
static CURLcode http(uint16_t port, const char *method, const char *path, const char *ct,
                     const char *ce, const void *body, size_t len, long timeout_ms, resp *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, path);
    struct curl_slist *h = NULL;
    char line[160];
    if (ct) {
        snprintf(line, sizeof line, "Content-Type: %s", ct);
        h = curl_slist_append(h, line);
    }
    if (ce) {
        snprintf(line, sizeof line, "Content-Encoding: %s", ce);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "X-Ctel-Test: yes");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ctel-test/1.0");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (!method || !strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (!strcmp(method, "GET")) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

static CURLcode post_pb(uint16_t port, const uint8_t *body, size_t len, resp *r)
{
    return http(port, NULL, "/v1/traces", CT_PB, NULL, body, len, 0, r);
}

/* ---- requests ---- */

static const uint8_t trace_id[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};

/* A packed request with n spans of one trace: span 0 is the root (SERVER,
 * with an event), every other span its child (CLIENT); span 1 has status
 * ERROR "boom". Attributes: i = index, svc-level service.name = test-svc. */
static uint8_t *make_pb(size_t n, size_t *len)
{
    Opentelemetry__Proto__Common__V1__AnyValue svc_v =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    svc_v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    svc_v.string_value = (char *)"test-svc";
    kv_msg svc = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    svc.key = (char *)"service.name";
    svc.value = &svc_v;
    kv_msg *res_attrs[1] = {&svc};
    Opentelemetry__Proto__Resource__V1__Resource res =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = res_attrs;
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope.name = (char *)"ctel.test";
    scope.version = (char *)"1.2.3";

    span_msg *spans = calloc(n, sizeof *spans);
    span_msg **span_ptrs = calloc(n, sizeof *span_ptrs);
    any_msg *vals = calloc(n, sizeof *vals);
    kv_msg *kvs = calloc(n, sizeof *kvs);
    kv_msg **kv_ptrs = calloc(n, sizeof *kv_ptrs);
    uint8_t(*ids)[8] = calloc(n, sizeof *ids);
    char(*names)[32] = calloc(n, sizeof *names);
    assert_true(spans && span_ptrs && vals && kvs && kv_ptrs && ids && names);

    Opentelemetry__Proto__Trace__V1__Span__Event ev =
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
    ev.name = (char *)"cache.miss";
    ev.time_unix_nano = 1700000000000500000ULL;
    Opentelemetry__Proto__Trace__V1__Span__Event *evs[1] = {&ev};
    Opentelemetry__Proto__Trace__V1__Status err = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    err.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    err.message = (char *)"boom";

    for (size_t i = 0; i < n; i++) {
        span_msg *s = &spans[i];
        opentelemetry__proto__trace__v1__span__init(s);
        ids[i][0] = 0xab;
        ids[i][6] = (uint8_t)(i >> 8);
        ids[i][7] = (uint8_t)i;
        s->trace_id.data = (uint8_t *)trace_id;
        s->trace_id.len = 16;
        s->span_id.data = ids[i];
        s->span_id.len = 8;
        if (i > 0) {
            s->parent_span_id.data = ids[0];
            s->parent_span_id.len = 8;
        }
        snprintf(names[i], sizeof names[i], i ? "child-%zu" : "root", i);
        s->name = names[i];
        s->kind = i ? OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT
                    : OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
        s->start_time_unix_nano = 1700000000000000000ULL + i * 1000;
        s->end_time_unix_nano = s->start_time_unix_nano + (i ? 1500000 : 12300000);
        s->flags = 0x101;
        opentelemetry__proto__common__v1__any_value__init(&vals[i]);
        vals[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        vals[i].int_value = (int64_t)i;
        opentelemetry__proto__common__v1__key_value__init(&kvs[i]);
        kvs[i].key = (char *)"i";
        kvs[i].value = &vals[i];
        kv_ptrs[i] = &kvs[i];
        s->n_attributes = 1;
        s->attributes = &kv_ptrs[i];
        if (i == 0) {
            s->n_events = 1;
            s->events = evs;
        }
        if (i == 1)
            s->status = &err;
        span_ptrs[i] = s;
    }
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    ss.scope = &scope;
    ss.n_spans = n;
    ss.spans = span_ptrs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp[1] = {&ss};
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    rs.resource = &res;
    rs.n_scope_spans = 1;
    rs.scope_spans = ssp;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp[1] = {&rs};
    req_msg req = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.n_resource_spans = 1;
    req.resource_spans = rsp;

    *len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &req);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, buf);
    free(spans);
    free(span_ptrs);
    free(vals);
    free(kvs);
    free(kv_ptrs);
    free(ids);
    free(names);
    return buf;
}

static uint8_t *gzip_bytes(const void *in, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static const char json_req[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
    "\"stringValue\":\"json-svc\"}}],"
    "\"droppedAttributesCount\":1},\"schemaUrl\":\"https://schema/"
    "r\",\"scopeSpans\":[{\"scope\":{\"name\":\"js\",\"version\":\"0.1\"},"
    "\"spans\":[{\"traceId\":\"4BF92F3577B34DA6A3CE929D0E0E4736\",\"spanId\":\"00f067aa0ba902b7\","
    "\"parentSpanId\":\"\","
    "\"traceState\":\"k=v\",\"flags\":257,\"name\":\"GET "
    "/cart\",\"kind\":2,\"startTimeUnixNano\":\"1700000000000000000\","
    "\"endTimeUnixNano\":1700000000012300000,\"droppedAttributesCount\":2,\"droppedEventsCount\":3,"
    "\"droppedLinksCount\":4,"
    "\"attributes\":[{\"key\":\"s\",\"value\":{\"stringValue\":\"x\"}},{\"key\":\"b\",\"value\":{"
    "\"boolValue\":true}},"
    "{\"key\":\"i\",\"value\":{\"intValue\":\"-42\"}},{\"key\":\"i2\",\"value\":{\"intValue\":7}},"
    "{\"key\":\"d\",\"value\":{\"doubleValue\":2.5}},{\"key\":\"by\",\"value\":{\"bytesValue\":"
    "\"AQID\"}},"
    "{\"key\":\"a\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},{\"stringValue\":"
    "\"two\"}]}}},"
    "{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"in\",\"value\":{"
    "\"boolValue\":false}}]}}},"
    "{\"key\":\"e\",\"value\":{}}],"
    "\"events\":[{\"timeUnixNano\":\"1700000000001000000\",\"name\":\"ev\",\"attributes\":[{"
    "\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}}]}],"
    "\"links\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\","
    "\"flags\":1}],"
    "\"status\":{\"code\":2,\"message\":\"bad\"},\"unknownField\":[1,2]}]}]}]}";

/* ---- fixture ---- */

typedef struct fx {
    ctel_sink *sink;
    uint16_t port;
} fx;

static fx *fx_start(const ctel_sink_options *o)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char err[256];
    int rc = ctel_sink_start(o, &f->sink, err, sizeof err);
    if (rc != 0)
        fail_msg("sink: %s", err);
    f->port = ctel_sink_port(f->sink);
    assert_true(f->port != 0);
    return f;
}

static void fx_stop(fx *f)
{
    ctel_sink_stop(f->sink);
    free(f);
}

static fx *fx_keep(void)
{
    ctel_sink_options o = {NULL, 0, NULL, NULL, false, true, NULL, NULL};
    return fx_start(&o);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup_group(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown_group(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

/* ---- tests ---- */

static void test_protobuf_counted_and_kept(void **state)
{
    (void)state;
    fx *f = fx_keep();
    size_t len;
    uint8_t *body = make_pb(5, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, CT_PB);
    assert_int_equal(r.len, 0); /* an empty ExportTraceServiceResponse */
    assert_true(ctel_sink_wait_spans(f->sink, 5, 2000));

    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.spans, 5);
    assert_int_equal(st.bytes, len);
    assert_int_equal(st.bad_requests + st.failed + st.closed + st.rejected_spans, 0);

    assert_int_equal(ctel_sink_request_count(f->sink), 1);
    ctel_sink_request_info info;
    assert_true(ctel_sink_request(f->sink, 0, &info));
    assert_false(ctel_sink_request(f->sink, 1, &info));
    assert_string_equal(info.content_type, CT_PB);
    assert_string_equal(info.content_encoding, "");
    assert_string_equal(info.user_agent, "ctel-test/1.0");
    assert_int_equal(info.body_bytes, len);
    char buf[64];
    assert_true(ctel_sink_request_header(f->sink, 0, "x-ctel-test", buf, sizeof buf));
    assert_string_equal(buf, "yes");
    assert_false(ctel_sink_request_header(f->sink, 0, "x-absent", buf, sizeof buf));

    const req_msg *m = info.request;
    assert_int_equal(m->n_resource_spans, 1);
    const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = m->resource_spans[0];
    assert_string_equal(rs->resource->attributes[0]->value->string_value, "test-svc");
    assert_string_equal(rs->scope_spans[0]->scope->name, "ctel.test");
    assert_int_equal(rs->scope_spans[0]->n_spans, 5);
    const span_msg *s1 = rs->scope_spans[0]->spans[1];
    assert_memory_equal(s1->trace_id.data, trace_id, 16);
    assert_int_equal(s1->parent_span_id.len, 8);
    assert_int_equal(s1->parent_span_id.data[0], 0xab);
    assert_string_equal(s1->name, "child-1");
    assert_int_equal(s1->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
    assert_int_equal(s1->flags, 0x101);
    assert_int_equal(s1->attributes[0]->value->int_value, 1);
    assert_string_equal(s1->status->message, "boom");
    assert_int_equal(rs->scope_spans[0]->spans[0]->n_events, 1);

    ctel_sink_clear_requests(f->sink);
    assert_int_equal(ctel_sink_request_count(f->sink), 0);
    free(body);
    fx_stop(f);
}

static void test_gzip_body(void **state)
{
    (void)state;
    fx *f = fx_keep();
    size_t len, glen;
    uint8_t *body = make_pb(7, &len);
    uint8_t *gz = gzip_bytes(body, len, &glen);
    resp r;
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, "gzip", gz, glen, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.spans, 7);
    assert_int_equal(st.bytes, glen);
    ctel_sink_request_info info;
    assert_true(ctel_sink_request(f->sink, 0, &info));
    assert_string_equal(info.content_encoding, "gzip");
    assert_int_equal(info.body_bytes, glen);
    assert_string_equal(info.request->resource_spans[0]->scope_spans[0]->spans[6]->name, "child-6");

    /* Corrupt gzip: 400. */
    gz[glen / 2] ^= 0xff;
    gz[glen - 3] ^= 0xff;
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, "gzip", gz, glen, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 400);
    /* An unknown encoding: 415. */
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, "br", body, len, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 415);
    free(body);
    free(gz);
    fx_stop(f);
}

static void test_gzip_bomb_is_refused(void **state)
{
    (void)state;
    fx *f = fx_keep();
    size_t big = ((size_t)64 << 20) + 4096, glen;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    uint8_t *gz = gzip_bytes(zeros, big, &glen);
    free(zeros);
    resp r;
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, "gzip", gz, glen, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 413);
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.bad_requests, 1);
    free(gz);
    fx_stop(f);
}

static void test_json_body(void **state)
{
    (void)state;
    fx *f = fx_keep();
    resp r;
    assert_int_equal(http(f->port, NULL, "/v1/traces", "application/json; charset=utf-8", NULL,
                          json_req, strlen(json_req), 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, CT_JSON);
    assert_string_equal(r.body, "{}");
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.spans, 1);

    ctel_sink_request_info info;
    assert_true(ctel_sink_request(f->sink, 0, &info));
    assert_string_equal(info.content_type, "application/json; charset=utf-8");
    const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = info.request->resource_spans[0];
    assert_string_equal(rs->schema_url, "https://schema/r");
    assert_int_equal(rs->resource->dropped_attributes_count, 1);
    assert_string_equal(rs->scope_spans[0]->scope->version, "0.1");
    const span_msg *s = rs->scope_spans[0]->spans[0];
    assert_memory_equal(s->trace_id.data, trace_id, 16);
    assert_int_equal(s->span_id.len, 8);
    assert_int_equal(s->span_id.data[7], 0xb7);
    assert_int_equal(s->parent_span_id.len, 0);
    assert_string_equal(s->trace_state, "k=v");
    assert_int_equal(s->flags, 257);
    assert_int_equal(s->kind, 2);
    assert_true(s->start_time_unix_nano == 1700000000000000000ULL);
    assert_true(s->end_time_unix_nano == 1700000000012300000ULL);
    assert_int_equal(s->dropped_attributes_count, 2);
    assert_int_equal(s->dropped_events_count, 3);
    assert_int_equal(s->dropped_links_count, 4);
    assert_int_equal(s->n_attributes, 9);
    assert_string_equal(s->attributes[0]->value->string_value, "x");
    assert_true(s->attributes[1]->value->bool_value);
    assert_int_equal(s->attributes[2]->value->int_value, -42);
    assert_int_equal(s->attributes[3]->value->int_value, 7);
    assert_true(s->attributes[4]->value->double_value == 2.5);
    assert_int_equal(s->attributes[5]->value->bytes_value.len, 3);
    assert_int_equal(s->attributes[5]->value->bytes_value.data[2], 3);
    const Opentelemetry__Proto__Common__V1__ArrayValue *a = s->attributes[6]->value->array_value;
    assert_int_equal(a->n_values, 2);
    assert_string_equal(a->values[1]->string_value, "two");
    const Opentelemetry__Proto__Common__V1__KeyValueList *kl =
        s->attributes[7]->value->kvlist_value;
    assert_string_equal(kl->values[0]->key, "in");
    assert_int_equal(kl->values[0]->value->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    assert_int_equal(s->attributes[8]->value->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
    assert_int_equal(s->n_events, 1);
    assert_string_equal(s->events[0]->name, "ev");
    assert_true(s->events[0]->time_unix_nano == 1700000000001000000ULL);
    assert_int_equal(s->n_links, 1);
    assert_int_equal(s->links[0]->trace_id.data[15], 0x10);
    assert_int_equal(s->links[0]->flags, 1);
    assert_int_equal(s->status->code, 2);
    assert_string_equal(s->status->message, "bad");

    /* An empty request is fine. */
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_JSON, NULL, "{}", 2, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    fx_stop(f);
}

static void test_undecodable_bodies_are_400(void **state)
{
    (void)state;
    fx *f = fx_keep();
    resp r;
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02};
    assert_int_equal(post_pb(f->port, garbage, sizeof garbage, &r), CURLE_OK);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.content_type, CT_PB);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(st);
    assert_int_equal(st->code, 3);
    assert_true(strlen(st->message) > 0);
    google__rpc__status__free_unpacked(st, NULL);

    const char *bad_json[] =
        {
            "{\"resourceSpans\":[", /* syntax */
            "[1,2]",                /* not an object */
            "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"abcd\"}]}]}]}", /* id
                                                                                                length
                                                                                              */
            "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"spanId\":\"zz00000000000000\"}]}]}"
            "]}",                                                                  /* not hex */
            "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":5}]}]}]}", /* type */
            "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":\"12x\"}]}]}]"
            "}", /* int64 */
        };
    for (size_t i = 0; i < sizeof bad_json / sizeof *bad_json; i++) {
        assert_int_equal(http(f->port, NULL, "/v1/traces", CT_JSON, NULL, bad_json[i],
                              strlen(bad_json[i]), 0, &r),
                         CURLE_OK);
        assert_int_equal(r.status, 400);
        assert_string_equal(r.content_type, CT_JSON);
        json_t *doc = json_loads(r.body, 0, NULL);
        assert_non_null(doc);
        assert_int_equal(json_integer_value(json_object_get(doc, "code")), 3);
        assert_true(json_is_string(json_object_get(doc, "message")));
        json_decref(doc);
    }
    ctel_sink_stats s;
    ctel_sink_get_stats(f->sink, &s);
    assert_int_equal(s.bad_requests, 1 + sizeof bad_json / sizeof *bad_json);
    assert_int_equal(s.accepted, 0);
    assert_int_equal(s.spans, 0);
    assert_int_equal(ctel_sink_request_count(f->sink), 0);
    fx_stop(f);
}

static void test_routing_415_404_405(void **state)
{
    (void)state;
    fx *f = fx_keep();
    resp r;
    assert_int_equal(http(f->port, NULL, "/v1/traces", "text/plain", NULL, "x", 1, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 415);
    assert_int_equal(http(f->port, NULL, "/v1/traces", NULL, NULL, NULL, 0, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 415); /* curl sends form-urlencoded when unset */
    assert_int_equal(http(f->port, NULL, "/v1/metrics", CT_PB, NULL, "", 0, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_int_equal(http(f->port, NULL, "/", CT_PB, NULL, "", 0, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_int_equal(http(f->port, "GET", "/v1/traces", NULL, NULL, NULL, 0, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 405);
    assert_int_equal(http(f->port, "PUT", "/v1/traces", CT_PB, NULL, NULL, 0, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 405);
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.requests, 6);
    assert_int_equal(st.bad_requests, 6);
    assert_int_equal(st.accepted, 0);
    fx_stop(f);
}

static void test_fail_fault_with_retry_after(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.fail_count = 2;
    faults.fail_status = 503;
    snprintf(faults.retry_after, sizeof faults.retry_after, "7");
    ctel_sink_set_faults(f->sink, &faults);
    size_t len;
    uint8_t *body = make_pb(3, &len);
    resp r;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
        assert_int_equal(r.status, 503);
        assert_string_equal(r.retry_after, "7");
        Google__Rpc__Status *st = google__rpc__status__unpack(NULL, r.len, (const uint8_t *)r.body);
        assert_non_null(st);
        assert_int_equal(st->code, 14);
        google__rpc__status__free_unpacked(st, NULL);
    }
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.retry_after, "");

    /* "all", a 429 without Retry-After, in JSON. */
    ctel_sink_faults all = CTEL_SINK_FAULTS_NONE;
    all.fail_count = -1;
    all.fail_status = 429;
    ctel_sink_set_faults(f->sink, &all);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(http(f->port, NULL, "/v1/traces", CT_JSON, NULL, "{}", 2, 0, &r),
                         CURLE_OK);
        assert_int_equal(r.status, 429);
        assert_string_equal(r.retry_after, "");
    }
    ctel_sink_set_faults(f->sink, NULL);
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);

    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.requests, 7);
    assert_int_equal(st.failed, 5);
    assert_int_equal(st.accepted, 2);
    assert_int_equal(st.spans, 6);
    free(body);
    fx_stop(f);
}

static void test_close_fault(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.close_count = 1;
    ctel_sink_set_faults(f->sink, &faults);
    size_t len;
    uint8_t *body = make_pb(2, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_GOT_NOTHING);
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.closed, 1);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.spans, 2);
    free(body);
    fx_stop(f);
}

typedef struct multi_result {
    long long elapsed_ms;
    int ok;
} multi_result;

static void test_delay_fault(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.delay_ms = 1500;
    ctel_sink_set_faults(f->sink, &faults);
    size_t len;
    uint8_t *body = make_pb(1, &len);
    resp r;
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, NULL, body, len, 200, &r),
                     CURLE_OPERATION_TIMEDOUT);

    /* Delays run side by side: three delayed requests at once take about
     * one delay, not three. */
    faults.delay_ms = 1000;
    ctel_sink_set_faults(f->sink, &faults);
    CURLM *m = curl_multi_init();
    CURL *e[3];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: " CT_PB);
    for (int i = 0; i < 3; i++) {
        e[i] = curl_easy_init();
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/traces", (unsigned)f->port);
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e[i], CURLOPT_POSTFIELDSIZE, (long)len);
        curl_easy_setopt(e[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e[i], CURLOPT_TIMEOUT_MS, 10000L);
        curl_multi_add_handle(m, e[i]);
    }
    long long t0 = now_ms();
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    long long took = now_ms() - t0;
    int done = 0;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
        if (msg->msg == CURLMSG_DONE && msg->data.result == CURLE_OK)
            done++;
    }
    for (int i = 0; i < 3; i++) {
        long code = 0;
        curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &code);
        assert_int_equal(code, 200);
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(h);
    assert_int_equal(done, 3);
    assert_true(took >= 950);
    assert_true(took < 2500); /* one after another would be 3000 */

    ctel_sink_set_faults(f->sink, NULL);
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    free(body);
    fx_stop(f);
}

typedef struct bg_post {
    uint16_t port;
    CURLcode rc;
} bg_post;

static void *bg_post_run(void *arg)
{
    bg_post *b = arg;
    resp *r = malloc(sizeof *r);
    b->rc = http(b->port, NULL, "/v1/traces", CT_JSON, NULL, "{}", 2, 20000, r);
    free(r);
    return NULL;
}

static void test_stop_does_not_wait_for_a_delayed_answer(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.delay_ms = 30000;
    ctel_sink_set_faults(f->sink, &faults);
    bg_post b = {f->port, CURLE_OK};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bg_post_run, &b), 0);
    for (int i = 0; i < 200; i++) {
        ctel_sink_stats st;
        ctel_sink_get_stats(f->sink, &st);
        if (st.requests)
            break;
        usleep(10000);
    }
    long long t0 = now_ms();
    fx_stop(f);
    long long took = now_ms() - t0;
    pthread_join(t, NULL);
    assert_true(took < 3000);
    assert_int_not_equal(b.rc, CURLE_OK);
}

static void test_partial_success(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.partial_count = 1;
    faults.partial_rejected = 2;
    ctel_sink_set_faults(f->sink, &faults);
    size_t len;
    uint8_t *body = make_pb(5, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    resp_msg *rm =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(rm);
    assert_non_null(rm->partial_success);
    assert_int_equal(rm->partial_success->rejected_spans, 2);
    assert_true(strlen(rm->partial_success->error_message) > 0);
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(rm,
                                                                                             NULL);

    /* Used up: the next answer is a plain success. */
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.len, 0);

    /* JSON requests get the JSON form. */
    faults.partial_count = 1;
    faults.partial_rejected = 1;
    ctel_sink_set_faults(f->sink, &faults);
    assert_int_equal(
        http(f->port, NULL, "/v1/traces", CT_JSON, NULL, json_req, strlen(json_req), 0, &r),
        CURLE_OK);
    json_t *doc = json_loads(r.body, 0, NULL);
    assert_non_null(doc);
    json_t *rej = json_object_get(json_object_get(doc, "partialSuccess"), "rejectedSpans");
    assert_string_equal(json_string_value(rej), "1");
    json_decref(doc);

    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.accepted, 3);
    assert_int_equal(st.rejected_spans, 3);
    assert_int_equal(st.spans, 3 + 5 + 0);
    free(body);
    fx_stop(f);
}

static void test_garbage_fault(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.garbage_count = 1;
    ctel_sink_set_faults(f->sink, &faults);
    size_t len;
    uint8_t *body = make_pb(2, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(r.len > 0);
    assert_null(opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
        NULL, r.len, (const uint8_t *)r.body));
    assert_null(json_loadb(r.body, r.len, 0, NULL));
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.len, 0);
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.accepted, 2);
    assert_int_equal(st.spans, 4);
    free(body);
    fx_stop(f);
}

static void test_go_down_refuses_then_comes_back(void **state)
{
    (void)state;
    fx *f = fx_keep();
    size_t len;
    uint8_t *body = make_pb(1, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    long long t0 = now_ms();
    ctel_sink_go_down(f->sink, 1500);
    /* The control thread stops the server promptly. */
    CURLcode rc = CURLE_OK;
    for (int i = 0; i < 100 && rc != CURLE_COULDNT_CONNECT; i++) {
        usleep(10000);
        rc = post_pb(f->port, body, len, &r);
    }
    assert_int_equal(rc, CURLE_COULDNT_CONNECT);
    assert_true(now_ms() - t0 < 1400);
    /* Back on the same port after the outage. */
    for (int i = 0; i < 100 && rc != CURLE_OK; i++) {
        usleep(50000);
        rc = post_pb(f->port, body, len, &r);
    }
    assert_int_equal(rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(now_ms() - t0 >= 1450);
    assert_int_equal(ctel_sink_port(f->sink), f->port);
    free(body);
    fx_stop(f);
}

static void test_discard_counts(void **state)
{
    (void)state;
    ctel_sink_options o = {NULL, 0, NULL, NULL, true, true, NULL, NULL};
    fx *f = fx_start(&o);
    size_t len, glen;
    uint8_t *body = make_pb(512, &len);
    uint8_t *gz = gzip_bytes(body, len, &glen);
    resp r;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
        assert_int_equal(r.status, 200);
    }
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, "gzip", gz, glen, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(
        http(f->port, NULL, "/v1/traces", CT_JSON, NULL, json_req, strlen(json_req), 0, &r),
        CURLE_OK);
    assert_int_equal(r.status, 200);
    /* Undecodable: a truncated body and garbage. */
    assert_int_equal(post_pb(f->port, body, len - 3, &r), CURLE_OK);
    assert_int_equal(r.status, 400);
    static const uint8_t garbage[] = {0x0a, 0x05, 0x12, 0x03, 0x12, 0x7f, 0x00};
    assert_int_equal(post_pb(f->port, garbage, sizeof garbage, &r), CURLE_OK);
    assert_int_equal(r.status, 400);
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_JSON, NULL, "{]", 2, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 400);

    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.requests, 8);
    assert_int_equal(st.accepted, 5);
    assert_int_equal(st.spans, 4 * 512 + 1);
    assert_int_equal(st.bad_requests, 3);
    assert_int_equal(ctel_sink_request_count(f->sink), 0); /* discard keeps nothing */
    free(body);
    free(gz);
    fx_stop(f);
}

static void test_print_shows_the_tree(void **state)
{
    (void)state;
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    assert_non_null(mem);
    ctel_sink_options o = {NULL, 0, mem, NULL, false, false, NULL, NULL};
    fx *f = fx_start(&o);
    size_t len;
    uint8_t *body = make_pb(3, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_true(ctel_sink_wait_spans(f->sink, 3, 2000));
    fx_stop(f);
    fclose(mem);
    assert_non_null(
        strstr(text, "resource service.name=test-svc: 3 spans (scope ctel.test 1.2.3)\n"));
    assert_non_null(strstr(text, "trace 4bf92f3577b34da6a3ce929d0e0e4736\n"));
    assert_non_null(strstr(text, "\n  root 12.30ms SERVER i=0\n"));
    assert_non_null(strstr(text, "\n    event cache.miss +500.00us\n"));
    assert_non_null(strstr(text, "\n    child-1 1.50ms ERROR: boom CLIENT i=1\n"));
    assert_non_null(strstr(text, "\n    child-2 1.50ms CLIENT i=2\n"));
    /* Children in start order, under the root. */
    assert_true(strstr(text, "child-1") < strstr(text, "child-2"));
    free(text);
    free(body);
}

static void test_print_every_value_type(void **state)
{
    (void)state;
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    ctel_sink_options o = {NULL, 0, mem, NULL, false, false, NULL, NULL};
    fx *f = fx_start(&o);
    resp r;
    assert_int_equal(
        http(f->port, NULL, "/v1/traces", CT_JSON, NULL, json_req, strlen(json_req), 0, &r),
        CURLE_OK);
    assert_int_equal(r.status, 200);
    fx_stop(f);
    fclose(mem);
    assert_non_null(strstr(
        text, "GET /cart 12.30ms ERROR: bad SERVER s=\"x\" b=true i=-42 i2=7 d=2.5 by=0x010203 "
              "a=[1, \"two\"] kv={in=false} e=<empty>\n"));
    assert_non_null(strstr(text, "event ev +1.00ms k=\"v\"\n"));
    free(text);
}

static void test_out_writes_json_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/ctel-sink-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ctel_sink_options o = {NULL, 0, NULL, path, false, false, NULL, NULL};
    fx *f = fx_start(&o);
    size_t len;
    uint8_t *body = make_pb(4, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(
        http(f->port, NULL, "/v1/traces", CT_JSON, NULL, json_req, strlen(json_req), 0, &r),
        CURLE_OK);
    fx_stop(f);

    FILE *in = fopen(path, "r");
    assert_non_null(in);
    char *line = NULL;
    size_t cap = 0;
    int lines = 0;
    while (getline(&line, &cap, in) > 0) {
        json_error_t je;
        json_t *doc = json_loads(line, 0, &je);
        if (!doc)
            fail_msg("line %d is not JSON: %s", lines + 1, je.text);
        json_t *rs = json_array_get(json_object_get(doc, "resourceSpans"), 0);
        json_t *spans =
            json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans");
        json_t *s0 = json_array_get(spans, 0);
        assert_string_equal(json_string_value(json_object_get(s0, "traceId")),
                            "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_true(json_is_string(json_object_get(s0, "startTimeUnixNano")));
        assert_int_equal(json_integer_value(json_object_get(s0, "kind")), 2);
        if (lines == 0) {
            assert_int_equal(json_array_size(spans), 4);
            json_t *s1 = json_array_get(spans, 1);
            assert_string_equal(json_string_value(json_object_get(s1, "parentSpanId")),
                                "ab00000000000000");
            assert_string_equal(json_string_value(json_object_get(s1, "spanId")),
                                "ab00000000000001");
            assert_string_equal(json_string_value(json_object_get(s1, "endTimeUnixNano")),
                                "1700000000001501000");
            assert_int_equal(
                json_integer_value(json_object_get(json_object_get(s1, "status"), "code")), 2);
            json_t *v =
                json_object_get(json_array_get(json_object_get(s1, "attributes"), 0), "value");
            assert_string_equal(json_string_value(json_object_get(v, "intValue")), "1");
        } else {
            /* The JSON request written back out reads the same. */
            json_t *attrs = json_object_get(s0, "attributes");
            json_t *by = json_object_get(json_array_get(attrs, 5), "value");
            assert_string_equal(json_string_value(json_object_get(by, "bytesValue")), "AQID");
            json_t *i = json_object_get(json_array_get(attrs, 2), "value");
            assert_string_equal(json_string_value(json_object_get(i, "intValue")), "-42");
            assert_int_equal(json_array_size(json_object_get(s0, "links")), 1);
            assert_int_equal(json_integer_value(json_object_get(s0, "droppedLinksCount")), 4);
        }
        json_decref(doc);
        lines++;
    }
    free(line);
    fclose(in);
    unlink(path);
    assert_int_equal(lines, 2);
    free(body);
}

static void test_wait_spans_times_out(void **state)
{
    (void)state;
    fx *f = fx_keep();
    long long t0 = now_ms();
    assert_false(ctel_sink_wait_spans(f->sink, 1, 100));
    assert_true(now_ms() - t0 >= 90);
    fx_stop(f);
}

static void test_taken_port_is_an_error(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_options o = {"127.0.0.1", f->port, NULL, NULL, false, false, NULL, NULL};
    ctel_sink *other = NULL;
    char err[256] = "";
    assert_int_equal(ctel_sink_start(&o, &other, err, sizeof err), -1);
    assert_null(other);
    assert_non_null(strstr(err, "in use"));
    ctel_sink_stop(NULL); /* harmless */
    fx_stop(f);
}

static void test_cli_usage(void **state)
{
    (void)state;
    char *bad[][3] = {
        {"sink", "--bogus", NULL}, {"sink", "--fail", "x:503"}, {"sink", "--http", "nohost"},
        {"sink", "--delay", "-5"}, {"sink", "--down-at", "3"},  {"sink", "--partial", "1"},
    };
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(ctel_cmd_sink(bad[i][2] ? 3 : 2, bad[i]), 2);
    char *discard_print[] = {"sink", "--discard", "--print"};
    assert_int_equal(ctel_cmd_sink(3, discard_print), 2);
    fclose(stderr);
    stderr = saved;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protobuf_counted_and_kept),
        cmocka_unit_test(test_gzip_body),
        cmocka_unit_test(test_gzip_bomb_is_refused),
        cmocka_unit_test(test_json_body),
        cmocka_unit_test(test_undecodable_bodies_are_400),
        cmocka_unit_test(test_routing_415_404_405),
        cmocka_unit_test(test_fail_fault_with_retry_after),
        cmocka_unit_test(test_close_fault),
        cmocka_unit_test(test_delay_fault),
        cmocka_unit_test(test_stop_does_not_wait_for_a_delayed_answer),
        cmocka_unit_test(test_partial_success),
        cmocka_unit_test(test_garbage_fault),
        cmocka_unit_test(test_go_down_refuses_then_comes_back),
        cmocka_unit_test(test_discard_counts),
        cmocka_unit_test(test_print_shows_the_tree),
        cmocka_unit_test(test_print_every_value_type),
        cmocka_unit_test(test_out_writes_json_lines),
        cmocka_unit_test(test_wait_spans_times_out),
        cmocka_unit_test(test_taken_port_is_an_error),
        cmocka_unit_test(test_cli_usage),
    };
    return cmocka_run_group_tests_name("tools/ctel/sink", tests, setup_group, teardown_group);
}
