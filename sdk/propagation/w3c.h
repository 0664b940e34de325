/* sdk/propagation/w3c.h — W3C Trace Context and Baggage header codecs:
 * pure functions over explicit buffers, used by the propagator. */
#ifndef CTEL_PROPAGATION_W3C_H
#define CTEL_PROPAGATION_W3C_H

#include "sdk/internal.h"
#include "sdk/common/buf.h"

/* ---- traceparent (traceparent.c) ---- */

#define CTEL__TRACEPARENT_LEN 55

/* Parses a traceparent value (surrounding spaces/tabs allowed). Version 00
 * must be exactly 55 characters; a higher version (not ff) may carry more
 * after a '-', which is ignored. Lower-case hex only; all-zero ids invalid.
 * On success fills *out (flags keep only the sampled and random bits,
 * is_remote = true) and returns true. */
bool ctel__traceparent_parse(const char *value, size_t len, ctel_span_context *out);

/* Writes "00-<trace>-<span>-<flags>" and a NUL into out. */
void ctel__traceparent_format(const ctel_span_context *sc, char out[CTEL__TRACEPARENT_LEN + 1]);

/* ---- tracestate (tracestate.c) ---- */

#define CTEL__TRACESTATE_MAX_MEMBERS 32
#define CTEL__TRACESTATE_PROPAGATE_CHARS 512

/* Validates a tracestate value (several headers already joined with ',')
 * and appends its normalised form (members without surrounding whitespace
 * or empty members, joined with ',') to `out`. Returns false, appending
 * nothing, if any member is malformed or there are more than 32. */
bool ctel__tracestate_normalize(const char *value, size_t len, ctel__buf *out);

/* For inject: appends `value` (already normalised) to `out`, cut to at most
 * 512 characters by removing whole members — first those longer than 128
 * characters, then from the right. */
ctel_status ctel__tracestate_truncate(const char *value, size_t len, ctel__buf *out);

/* ---- baggage (baggage_header.c) ---- */

#define CTEL__BAGGAGE_MAX_MEMBERS 64
#define CTEL__BAGGAGE_MAX_BYTES 8192

/* Parses a baggage header value into a new baggage built on `base` (which
 * may be NULL; extracted names replace base entries). Any malformed member
 * makes the whole header invalid: *out = NULL and CTEL_ERR_PARSE (nothing
 * applied). Members past 64 or 8192 bytes are dropped whole. */
ctel_status ctel__baggage_parse(const char *value, size_t len, const ctel_baggage *base,
                                ctel_baggage **out);

/* Appends the baggage header value for `bg` to `out`: values and metadata
 * kept as given (metadata is opaque), values percent-encoded; entries that
 * would pass 64 members or 8192 bytes are left out whole (counted in
 * *omitted). */
ctel_status ctel__baggage_format(const ctel_baggage *bg, ctel__buf *out, size_t *omitted);

#endif
