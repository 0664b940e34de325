/* ctel/context.h — span context, baggage, and the context that carries them
 * across calls and threads.
 *
 * Two ways to carry context:
 *  - implicitly, per thread: ctel_span_make_current() / ctel_context_attach()
 *    push onto the calling thread's context stack and return a token that
 *    must be handed back, in LIFO order, on the same thread;
 *  - explicitly: a ctel_context value (immutable, reference counted) that
 *    code hopping threads (callbacks, event loops, thread pools) captures
 *    with ctel_context_current() and passes along.
 */
#ifndef CTEL_CONTEXT_H
#define CTEL_CONTEXT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* W3C trace flags (bit 0 sampled, bit 1 random trace id, Level 2). */
#define CTEL_TRACE_FLAG_SAMPLED 0x01u
#define CTEL_TRACE_FLAG_RANDOM 0x02u

/* The identity of a span, passed by value. Valid when both IDs are non-zero. */
typedef struct ctel_span_context {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t trace_flags; /* CTEL_TRACE_FLAG_* */
    bool is_remote;      /* extracted from a carrier rather than created here */
} ctel_span_context;

/* True if trace and span IDs are both non-zero. Thread-safety: any. */
CTEL_API bool ctel_span_context_is_valid(const ctel_span_context *sc);

/* Lower-case hex encodings; `out` must hold 33 / 17 bytes (NUL included). */
CTEL_API void ctel_trace_id_to_hex(const uint8_t trace_id[16], char out[33]);
CTEL_API void ctel_span_id_to_hex(const uint8_t span_id[8], char out[17]);

/* ---- baggage ---------------------------------------------------------------
 * An immutable set of name/value pairs (each with optional opaque metadata).
 * Names and values are case-sensitive; a name maps to one value. */
typedef struct ctel_baggage ctel_baggage;

/* Returns a new baggage equal to `base` (NULL = empty) with `name` set to
 * `value` (replacing any previous value) and `metadata` (may be NULL). All
 * strings are copied. CTEL_ERR_INVALID_ARGUMENT for an empty or NULL name or
 * NULL value; CTEL_ERR_NO_MEMORY. Thread-safety: any thread. */
CTEL_API ctel_status ctel_baggage_set(const ctel_baggage *base, const char *name,
                                      const char *value, const char *metadata,
                                      ctel_baggage **out);

/* Returns a new baggage equal to `base` without `name` (a copy if absent). */
CTEL_API ctel_status ctel_baggage_remove(const ctel_baggage *base, const char *name,
                                         ctel_baggage **out);

/* The value for `name`, or NULL. Valid while `bg` is retained. NULL bg: NULL. */
CTEL_API const char *ctel_baggage_get(const ctel_baggage *bg, const char *name);

/* Iteration in insertion order. count(NULL) is 0. `metadata` may be "" .
 * Returns CTEL_ERR_NOT_FOUND when index >= count. */
CTEL_API size_t ctel_baggage_count(const ctel_baggage *bg);
CTEL_API ctel_status ctel_baggage_entry(const ctel_baggage *bg, size_t index, const char **name,
                                        const char **value, const char **metadata);

CTEL_API ctel_baggage *ctel_baggage_retain(const ctel_baggage *bg);
CTEL_API void ctel_baggage_release(const ctel_baggage *bg); /* NULL: no-op */

/* ---- context ---------------------------------------------------------------
 * An immutable snapshot: an optional span context (+ its W3C tracestate) and
 * an optional baggage. Reference counted; share freely between threads. */
typedef struct ctel_context ctel_context;

/* A new context holding what is current on the calling thread: the innermost
 * current span's context (or attached context's span context) and the
 * current baggage. Returns NULL only when out of memory.
 * Thread-safety: any thread (reads only its own thread state). */
CTEL_API ctel_context *ctel_context_current(void);

/* A new context equal to `parent` (NULL = empty) with its span context
 * replaced. `trace_state` is the W3C tracestate header value to carry (copied;
 * NULL or "" for none; not validated here). NULL on out of memory or NULL sc. */
CTEL_API ctel_context *ctel_context_with_span_context(const ctel_context *parent,
                                                      const ctel_span_context *sc,
                                                      const char *trace_state);

/* A new context equal to `parent` (NULL = empty) with `baggage` (retained). */
CTEL_API ctel_context *ctel_context_with_baggage(const ctel_context *parent,
                                                 const ctel_baggage *baggage);

/* Accessors. The span-context getter returns false (and zeroes *out) when the
 * context holds none. The strings/baggage returned are owned by the context. */
CTEL_API bool ctel_context_span_context(const ctel_context *ctx, ctel_span_context *out);
CTEL_API const char *ctel_context_trace_state(const ctel_context *ctx); /* "" if none */
CTEL_API const ctel_baggage *ctel_context_baggage(const ctel_context *ctx); /* may be NULL */

CTEL_API ctel_context *ctel_context_retain(const ctel_context *ctx);
CTEL_API void ctel_context_release(const ctel_context *ctx); /* NULL: no-op */

/* ---- the calling thread's context stack ----------------------------------- */

/* A token for one push; hand it back to ctel_context_detach(). */
typedef struct ctel_context_token {
    uint32_t depth;
    uint32_t check;
} ctel_context_token;

/* Makes `ctx` current on the calling thread (the stack retains it) until the
 * returned token is detached. NULL ctx pushes an empty context (so spans
 * started inside become roots). Allocates only when the stack outgrows its
 * previous high-water mark; on out of memory the push is refused, a
 * diagnostic is logged and the returned token is inert (detaching it is a
 * no-op). Thread-safety: affects only the calling thread. */
CTEL_API ctel_context_token ctel_context_attach(const ctel_context *ctx);

/* Pops back to just below the push `token` came from. Detaching out of order
 * pops the newer entries too, logs a warning and returns
 * CTEL_ERR_INVALID_ARGUMENT; a token from another thread, or one already
 * detached, changes nothing and returns CTEL_ERR_INVALID_ARGUMENT.
 * Thread-safety: the thread that attached. */
CTEL_API ctel_status ctel_context_detach(ctel_context_token token);

/* The calling thread's current baggage (borrowed; valid until the entry that
 * holds it is detached), or NULL. */
CTEL_API const ctel_baggage *ctel_baggage_current(void);

#ifdef __cplusplus
}
#endif
#endif /* CTEL_CONTEXT_H */
