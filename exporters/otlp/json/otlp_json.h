/* exporters/otlp/json/otlp_json.h — OTLP/JSON encoding (the OTLP
 * specification's JSON mapping: hex trace/span ids, integer enums,
 * lowerCamelCase keys, 64-bit integers as decimal strings, default values
 * omitted). */
#ifndef CTEL_OTLP_JSON_H
#define CTEL_OTLP_JSON_H

#include "sdk/internal.h"
#include "sdk/common/buf.h"

/* Appends one ExportTraceServiceRequest object (no trailing newline) for
 * `count` spans, grouped by resource and then by instrumentation scope (by
 * pointer identity, in order of first appearance). On failure the buffer
 * holds a partial document: reset it. */
ctel_status ctel__otlp_json_encode_traces(const ctel_span_data *const *spans, size_t count,
                                          ctel__buf *out);

/* JSON building blocks, shared with the other signals' encoders. */
ctel_status ctel__json_string(ctel__buf *b, const char *s, size_t len);
ctel_status ctel__json_any_value(ctel__buf *b, const ctel_value *v);
ctel_status ctel__json_attributes(ctel__buf *b, const ctel_attribute *attrs, size_t count);

#endif
