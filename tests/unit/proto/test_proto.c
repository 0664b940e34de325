/* Tests for proto/: the schema compiled by protoc-c round-trips the OTLP
 * messages ctel sends, including presence of the oneof-wrapped optional
 * fields (histogram sum/min/max). */
#include "support/test_support.h"

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <stdlib.h>
#include <string.h>

static void test_trace_request_round_trip(void **state)
{
    (void)state;
    Opentelemetry__Proto__Trace__V1__Span span = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    uint8_t tid[16] = {1, 2, 3}, sid[8] = {4, 5, 6};
    span.trace_id.data = tid;
    span.trace_id.len = 16;
    span.span_id.data = sid;
    span.span_id.len = 8;
    span.name = "GET /x";
    span.kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    span.flags = 0x101;
    span.start_time_unix_nano = 1700000000000000000ull;
    span.end_time_unix_nano = 1700000000000000500ull;
    Opentelemetry__Proto__Trace__V1__Span *spans[1] = {&span};
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    ss.n_spans = 1;
    ss.spans = spans;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *sss[1] = {&ss};
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    rs.n_scope_spans = 1;
    rs.scope_spans = sss;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rss[1] = {&rs};
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.n_resource_spans = 1;
    req.resource_spans = rss;
    size_t len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &req);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, buf);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *back =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, len,
                                                                                         buf);
    assert_non_null(back);
    assert_int_equal(back->n_resource_spans, 1);
    Opentelemetry__Proto__Trace__V1__Span *b = back->resource_spans[0]->scope_spans[0]->spans[0];
    assert_string_equal(b->name, "GET /x");
    assert_memory_equal(b->trace_id.data, tid, 16);
    assert_memory_equal(b->span_id.data, sid, 8);
    assert_int_equal(b->kind, 2);
    assert_int_equal(b->flags, 0x101);
    assert_int_equal(b->end_time_unix_nano, 1700000000000000500ull);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(back,
                                                                                            NULL);
    free(buf);
}

static void test_histogram_optional_presence(void **state)
{
    (void)state;
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint dp =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT;
    dp.count = 3;
    dp.has_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_SUM_SUM;
    dp.sum = 0.0; /* set, and zero: presence must survive */
    uint8_t buf[256];
    size_t len = opentelemetry__proto__metrics__v1__histogram_data_point__pack(&dp, buf);
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *back =
        opentelemetry__proto__metrics__v1__histogram_data_point__unpack(NULL, len, buf);
    assert_non_null(back);
    assert_int_equal(back->has_sum_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_SUM_SUM);
    assert_true(back->sum == 0.0);
    assert_int_equal(back->has_min_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_MIN__NOT_SET);
    assert_int_equal(back->count, 3);
    opentelemetry__proto__metrics__v1__histogram_data_point__free_unpacked(back, NULL);
}

/* The oneof stands in for proto3 `optional`: bytes written by a peer using the
 * upstream schema must decode with presence intact, and ours must match them. */
static void test_histogram_sum_wire_bytes(void **state)
{
    (void)state;
    /* count (field 4, fixed64) = 2; sum (field 5, double) = 0.0 */
    static const uint8_t with_sum[] = {0x21, 2, 0, 0, 0, 0, 0, 0, 0, 0x29, 0, 0, 0, 0, 0, 0, 0, 0};
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *dp =
        opentelemetry__proto__metrics__v1__histogram_data_point__unpack(NULL, sizeof with_sum,
                                                                        with_sum);
    assert_non_null(dp);
    assert_int_equal(dp->count, 2);
    assert_int_equal(dp->has_sum_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_SUM_SUM);
    uint8_t out[64];
    size_t len = opentelemetry__proto__metrics__v1__histogram_data_point__pack(dp, out);
    assert_int_equal(len, sizeof with_sum);
    assert_memory_equal(out, with_sum, sizeof with_sum);
    opentelemetry__proto__metrics__v1__histogram_data_point__free_unpacked(dp, NULL);

    /* Without field 5 the sum is absent, not zero. */
    dp = opentelemetry__proto__metrics__v1__histogram_data_point__unpack(NULL, 9, with_sum);
    assert_non_null(dp);
    assert_int_equal(dp->has_sum_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_SUM__NOT_SET);
    opentelemetry__proto__metrics__v1__histogram_data_point__free_unpacked(dp, NULL);
}

/* An OTLP/HTTP error body: google.rpc.Status with one opaque detail. */
static void test_rpc_status_round_trip(void **state)
{
    (void)state;
    uint8_t detail_bytes[3] = {0x0a, 0x01, 0x31};
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = "type.googleapis.com/google.rpc.RetryInfo";
    any.value.data = detail_bytes;
    any.value.len = sizeof detail_bytes;
    Google__Protobuf__Any *details[1] = {&any};
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = 14; /* UNAVAILABLE */
    st.message = "collector overloaded";
    st.n_details = 1;
    st.details = details;
    uint8_t buf[256];
    size_t len = google__rpc__status__get_packed_size(&st);
    assert_true(len <= sizeof buf);
    assert_int_equal(google__rpc__status__pack(&st, buf), len);
    /* code is field 1 as a varint */
    assert_int_equal(buf[0], 0x08);
    assert_int_equal(buf[1], 14);
    Google__Rpc__Status *back = google__rpc__status__unpack(NULL, len, buf);
    assert_non_null(back);
    assert_int_equal(back->code, 14);
    assert_string_equal(back->message, "collector overloaded");
    assert_int_equal(back->n_details, 1);
    assert_string_equal(back->details[0]->type_url, "type.googleapis.com/google.rpc.RetryInfo");
    assert_int_equal(back->details[0]->value.len, sizeof detail_bytes);
    assert_memory_equal(back->details[0]->value.data, detail_bytes, sizeof detail_bytes);
    google__rpc__status__free_unpacked(back, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_request_round_trip),
        cmocka_unit_test(test_histogram_optional_presence),
        cmocka_unit_test(test_histogram_sum_wire_bytes),
        cmocka_unit_test(test_rpc_status_round_trip),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
