/* Tests for proto/: the schema compiled by protoc-c round-trips the OTLP
 * messages ctel sends, including presence of the oneof-wrapped optional
 * fields (histogram sum/min/max). */
#include "support/test_support.h"

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
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
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
    size_t len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_request_round_trip),
        cmocka_unit_test(test_histogram_optional_presence),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
