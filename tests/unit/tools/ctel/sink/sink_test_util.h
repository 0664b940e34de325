/* tests/unit/tools/ctel/sink/sink_test_util.h — what the sink tests share:
 * an HTTP client on libcurl, request builders, a sink fixture. */
#ifndef CTEL_TEST_SINK_UTIL_H
#define CTEL_TEST_SINK_UTIL_H

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

static inline size_t on_body(char *p, size_t sz, size_t n, void *ud)
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

static inline void header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
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

static inline size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    header_value(p, sz * n, "Content-Type", r->content_type, sizeof r->content_type);
    header_value(p, sz * n, "Retry-After", r->retry_after, sizeof r->retry_after);
    return sz * n;
}

/* method NULL = POST. */
static inline CURLcode http(uint16_t port, const char *method, const char *path, const char *ct,
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

static inline CURLcode post_pb(uint16_t port, const uint8_t *body, size_t len, resp *r)
{
    return http(port, NULL, "/v1/traces", CT_PB, NULL, body, len, 0, r);
}

/* ---- requests ---- */

static const uint8_t trace_id[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};

/* A packed request with n spans of one trace: span 0 is the root (SERVER,
 * with an event), every other span its child (CLIENT); span 1 has status
 * ERROR "boom". Attributes: i = index, svc-level service.name = test-svc. */
static inline uint8_t *make_pb(size_t n, size_t *len)
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

static inline uint8_t *gzip_bytes(const void *in, size_t n, size_t *out_len)
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

static inline fx *fx_start(const ctel_sink_options *o)
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

static inline void fx_stop(fx *f)
{
    ctel_sink_stop(f->sink);
    free(f);
}

static inline fx *fx_keep(void)
{
    ctel_sink_options o = {NULL, 0, NULL, NULL, false, true, NULL, NULL};
    return fx_start(&o);
}

static inline long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int setup_group(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static inline int teardown_group(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

#endif
