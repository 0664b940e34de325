/* exporters/otlp/proto/otlp_proto_span.h — one Span message, written
 * directly from the span data (the hot path of the protobuf encoder). */
#ifndef CTEL_OTLP_PROTO_SPAN_H
#define CTEL_OTLP_PROTO_SPAN_H

#include "sdk/internal.h"

/* The exact size of the Span message body for `s`. */
size_t ctel__otlp_proto_span_size(const ctel_span_data *s);

/* Writes the body (ctel__otlp_proto_span_size(s) bytes) at p; returns the
 * end. */
uint8_t *ctel__otlp_proto_span_write(uint8_t *p, const ctel_span_data *s);

#endif
