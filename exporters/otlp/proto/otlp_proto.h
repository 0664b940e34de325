/* exporters/otlp/proto/otlp_proto.h — OTLP protobuf encoding of span batches
 * and decoding of the Collector's answers, with protobuf-c over the schema in
 * proto/. Transport-neutral: the HTTP exporter, the gRPC exporter (later) and
 * the disk spill all carry the bytes these functions produce. */
#ifndef CTEL_OTLP_PROTO_H
#define CTEL_OTLP_PROTO_H

#include "sdk/internal.h"
#include "sdk/common/buf.h"

/* Appends one serialized ExportTraceServiceRequest for `count` spans (count
 * may be 0: an empty request), grouped by resource and then by
 * instrumentation scope (pointer identity, in order of first appearance).
 * Every field of ctel_span_data is carried over. Not thread-safe per buffer;
 * reentrant otherwise. CTEL_ERR_NO_MEMORY on allocation failure (the buffer
 * then holds a partial message: reset it). */
ctel_status ctel__otlp_proto_encode_traces(const ctel_span_data *const *spans, size_t count,
                                           ctel__buf *out);

/* Parses an ExportTraceServiceResponse body (empty = success with nothing
 * rejected). On CTEL_OK `*rejected` is partial_success.rejected_spans and
 * `msg` (capacity msg_cap, always NUL-terminated when msg_cap > 0) holds
 * partial_success.error_message or "". CTEL_ERR_PARSE when the body is not a
 * valid ExportTraceServiceResponse. */
ctel_status ctel__otlp_proto_parse_trace_response(const void *body, size_t len,
                                                  int64_t *rejected, char *msg, size_t msg_cap);

/* Parses a google.rpc.Status body (the error body of OTLP/HTTP): `*code` and
 * its message into `msg` (NUL-terminated, truncated to msg_cap). CTEL_ERR_PARSE
 * when the body is not a valid Status. */
ctel_status ctel__otlp_proto_parse_status(const void *body, size_t len, int32_t *code, char *msg,
                                          size_t msg_cap);

#endif
