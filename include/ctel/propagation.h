/* ctel/propagation.h — inject context into, and extract it from, carriers such
 * as HTTP headers: W3C Trace Context (traceparent/tracestate) and W3C Baggage.
 *
 * A carrier is any header container, reached through callbacks, so ctel works
 * with libcurl slists, libmicrohttpd connections or your own maps.
 * Malformed input never fails an extract: the part that is malformed is
 * ignored exactly as the W3C specifications say (a bad traceparent drops the
 * trace context and its tracestate; a bad tracestate is dropped alone; a bad
 * baggage header adds no baggage), and a debug diagnostic says why.
 */
#ifndef CTEL_PROPAGATION_H
#define CTEL_PROPAGATION_H

#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Callbacks onto a header container. Keys are lower-case header names
 * ("traceparent"); `get` should match them case-insensitively. */
typedef struct ctel_carrier {
    /* The value for `key`, or NULL if absent. If the container holds several
     * fields with that name, return them joined with "," — or provide
     * `get_all`. The pointer must stay valid until the extract returns. */
    const char *(*get)(void *user_data, const char *key);
    /* Optional: stores up to `max` values for `key` into `values` and returns
     * how many fields with that name exist (may exceed `max`). When present
     * it is used instead of `get`, so duplicate traceparent headers are seen
     * (they make the trace context invalid). */
    size_t (*get_all)(void *user_data, const char *key, const char **values, size_t max);
    /* Sets `key` to `value` (both NUL-terminated, valid only during the call),
     * replacing any previous value. Returns CTEL_OK or an error that aborts
     * the inject. */
    ctel_status (*set)(void *user_data, const char *key, const char *value);
    void *user_data;
} ctel_carrier;

typedef struct ctel_propagator ctel_propagator;

/* Creates a composite propagator from a comma-separated list of names, as in
 * OTEL_PROPAGATORS: "tracecontext", "baggage", "none". Names are
 * case-insensitive, surrounding spaces are ignored and duplicates are
 * removed. An unknown name (b3, jaeger, ...) is skipped with a warning.
 * `list` NULL or "" means the environment variable, and if it is unset or
 * empty, the default "tracecontext,baggage".
 * Returns CTEL_ERR_NO_MEMORY or CTEL_OK (never fails for a bad list).
 * Thread-safety: any thread; the result may be used by any thread. */
CTEL_API ctel_status ctel_propagator_create(const char *list, ctel_propagator **out);

/* Writes the context `ctx` (NULL = the calling thread's current context) into
 * `carrier`: a valid traceparent (only if the context has a valid span
 * context), tracestate (only if non-empty), baggage (only if non-empty and
 * within the W3C limits: 64 members, 8192 bytes; members beyond are left out
 * whole and a diagnostic is logged).
 * Returns the carrier's error if `set` failed, CTEL_ERR_INVALID_ARGUMENT for
 * a NULL propagator or carrier, CTEL_ERR_NO_MEMORY, or CTEL_OK.
 * Thread-safety: any thread. */
CTEL_API ctel_status ctel_propagator_inject(const ctel_propagator *prop, const ctel_context *ctx,
                                            const ctel_carrier *carrier);

/* Reads `carrier` and returns in *out a new context: `parent` (NULL = empty)
 * updated with whatever valid trace context and baggage were found (the span
 * context is marked remote). When nothing valid is found *out is a new
 * reference to an equivalent of `parent`. Release it with
 * ctel_context_release().
 * Returns CTEL_ERR_INVALID_ARGUMENT for NULL arguments, CTEL_ERR_NO_MEMORY,
 * or CTEL_OK — malformed headers are not an error.
 * Thread-safety: any thread. */
CTEL_API ctel_status ctel_propagator_extract(const ctel_propagator *prop,
                                             const ctel_context *parent,
                                             const ctel_carrier *carrier, ctel_context **out);

/* The header names this propagator may set, NULL-terminated, static. */
CTEL_API const char *const *ctel_propagator_fields(const ctel_propagator *prop);

CTEL_API void ctel_propagator_destroy(ctel_propagator *prop); /* NULL: no-op */

#ifdef __cplusplus
}
#endif
#endif /* CTEL_PROPAGATION_H */
