/* exporters/otlp/proto/otlp_proto_response.c — the Collector's answers to an
 * OTLP/HTTP (protobuf) export: ExportTraceServiceResponse on success,
 * google.rpc.Status on failure. Bodies come from the network: anything that
 * does not unpack is CTEL_ERR_PARSE, never a crash. */
#include "sdk/internal.h"
#include "exporters/otlp/proto/otlp_proto.h"

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

static void copy_msg(char *msg, size_t msg_cap, const char *s)
{
    if (!msg || !msg_cap)
        return;
    size_t n = s ? strlen(s) : 0;
    if (n >= msg_cap)
        n = msg_cap - 1;
    if (n)
        memcpy(msg, s, n);
    msg[n] = '\0';
}

ctel_status ctel__otlp_proto_parse_trace_response(const void *body, size_t len, int64_t *rejected,
                                                  char *msg, size_t msg_cap)
{
    if (rejected)
        *rejected = 0;
    copy_msg(msg, msg_cap, "");
    if (len == 0)
        return CTEL_OK; /* an empty message: everything accepted */
    if (!body)
        return CTEL_ERR_PARSE;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *resp =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            ctel__protobuf_allocator(), len, body);
    if (!resp)
        return CTEL_ERR_PARSE;
    if (resp->partial_success) {
        if (rejected)
            *rejected = resp->partial_success->rejected_spans;
        copy_msg(msg, msg_cap, resp->partial_success->error_message);
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
        resp, ctel__protobuf_allocator());
    return CTEL_OK;
}

ctel_status ctel__otlp_proto_parse_status(const void *body, size_t len, int32_t *code, char *msg,
                                          size_t msg_cap)
{
    if (code)
        *code = 0;
    copy_msg(msg, msg_cap, "");
    if (len == 0)
        return CTEL_OK; /* all defaults: code 0, no message */
    if (!body)
        return CTEL_ERR_PARSE;
    Google__Rpc__Status *st = google__rpc__status__unpack(ctel__protobuf_allocator(), len, body);
    if (!st)
        return CTEL_ERR_PARSE;
    if (code)
        *code = st->code;
    copy_msg(msg, msg_cap, st->message);
    google__rpc__status__free_unpacked(st, ctel__protobuf_allocator());
    return CTEL_OK;
}
