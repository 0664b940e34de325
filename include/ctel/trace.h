/* ctel/trace.h — tracers, spans, samplers and span limits.
 *
 * The hot path: ctel_span_start() → ctel_span_set_attr_*() → ctel_span_end().
 * None of these block, and in steady state none allocates (span records come
 * from a recycled per-thread pool). They never return NULL and never crash
 * on a NULL or non-recording span: a span that is not recorded (unsampled,
 * SDK disabled or shut down, out of memory) accepts every call as a no-op and
 * still carries a valid span context for propagation.
 */
#ifndef CTEL_TRACE_H
#define CTEL_TRACE_H

#include "context.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctel_sdk ctel_sdk;
typedef struct ctel_tracer ctel_tracer;
typedef struct ctel_span ctel_span;

/* OTLP span kinds (same numbers as the OTLP schema). */
typedef enum ctel_span_kind {
    CTEL_SPAN_KIND_UNSPECIFIED = 0,
    CTEL_SPAN_KIND_INTERNAL = 1,
    CTEL_SPAN_KIND_SERVER = 2,
    CTEL_SPAN_KIND_CLIENT = 3,
    CTEL_SPAN_KIND_PRODUCER = 4,
    CTEL_SPAN_KIND_CONSUMER = 5
} ctel_span_kind;

/* OTLP status codes (same numbers as the OTLP schema). */
typedef enum ctel_status_code {
    CTEL_STATUS_UNSET = 0,
    CTEL_STATUS_OK = 1,
    CTEL_STATUS_ERROR = 2
} ctel_status_code;

/* ---- tracers -------------------------------------------------------------- */

/* The tracer for an instrumentation scope. Tracers are cached: the same
 * (name, version, schema_url) returns the same tracer. Strings are copied;
 * `name` NULL or "" is accepted (with a warning) as "". Attributes, if any,
 * are copied on first creation. Returns NULL only when `sdk` is NULL or
 * memory is exhausted — and ctel_span_start(NULL, ...) is safe.
 * The tracer is owned by the SDK and valid until ctel_sdk_destroy().
 * Thread-safety: any thread. */
CTEL_API ctel_tracer *ctel_sdk_tracer(ctel_sdk *sdk, const char *name, const char *version,
                                      const char *schema_url);
CTEL_API ctel_tracer *ctel_sdk_tracer_with_attributes(ctel_sdk *sdk, const char *name,
                                                      const char *version, const char *schema_url,
                                                      const ctel_attribute *attrs, size_t count);

/* ---- spans ---------------------------------------------------------------- */

/* A link to another span, as input to ctel_span_start()/ctel_span_add_link(). */
typedef struct ctel_link {
    ctel_span_context context;
    const char *trace_state; /* W3C tracestate of the linked span; may be NULL */
    const ctel_attribute *attributes;
    size_t attribute_count;
} ctel_link;

typedef struct ctel_span_start_options {
    ctel_span_kind kind;                 /* default INTERNAL */
    const ctel_context *parent;          /* NULL: the calling thread's current context */
    bool root;                           /* true: ignore any parent, start a new trace */
    uint64_t start_time_unix_nano;       /* 0: now */
    const ctel_attribute *attributes;    /* copied; seen by the sampler */
    size_t attribute_count;
    const ctel_link *links;              /* copied; seen by the sampler */
    size_t link_count;
} ctel_span_start_options;

#define CTEL_SPAN_START_OPTIONS_INIT {CTEL_SPAN_KIND_INTERNAL, NULL, false, 0, NULL, 0, NULL, 0}

/* Starts a span named `name` (copied; NULL is taken as ""). `opts` may be
 * NULL for the defaults. The parent is opts->parent, else the thread's
 * current span/context; a child inherits trace id and tracestate. The
 * tracer's sampler decides whether the span is recorded.
 * Never returns NULL. The caller owns the span until ctel_span_end(), which
 * must be called exactly once (from any thread); the handle is invalid after.
 * Thread-safety: any thread; one span must not be used by two threads at
 * once. */
CTEL_API ctel_span *ctel_span_start(ctel_tracer *tracer, const char *name,
                                    const ctel_span_start_options *opts);

/* Ends the span now / at `end_time_unix_nano` (0 = now) and hands it to the
 * span processors. Never blocks: if the export queue is full the span is
 * dropped and counted. A span still current on this thread stays usable as a
 * parent for spans started before its scope is detached. NULL: no-op. */
CTEL_API void ctel_span_end(ctel_span *span);
CTEL_API void ctel_span_end_at(ctel_span *span, uint64_t end_time_unix_nano);

/* Attribute setters. Keys and values are copied. Setting an existing key
 * replaces its value. Returns CTEL_OK (also for non-recording spans),
 * CTEL_ERR_LIMIT when the attribute count limit drops it (counted in the
 * span's dropped_attributes_count), CTEL_ERR_INVALID_ARGUMENT for a NULL/empty
 * key or NULL value, CTEL_ERR_NO_MEMORY. String values longer than the
 * attribute value length limit are truncated (at a UTF-8 boundary). */
CTEL_API ctel_status ctel_span_set_attribute(ctel_span *span, const char *key,
                                             const ctel_value *value);
CTEL_API ctel_status ctel_span_set_attributes(ctel_span *span, const ctel_attribute *attrs,
                                              size_t count);
CTEL_API ctel_status ctel_span_set_attr_str(ctel_span *span, const char *key, const char *value);
CTEL_API ctel_status ctel_span_set_attr_int(ctel_span *span, const char *key, int64_t value);
CTEL_API ctel_status ctel_span_set_attr_double(ctel_span *span, const char *key, double value);
CTEL_API ctel_status ctel_span_set_attr_bool(ctel_span *span, const char *key, bool value);

/* Adds an event at `time_unix_nano` (0 = now) with optional attributes
 * (copied). Over the event count limit the event is dropped and counted
 * (CTEL_ERR_LIMIT). */
CTEL_API ctel_status ctel_span_add_event(ctel_span *span, const char *name,
                                         uint64_t time_unix_nano, const ctel_attribute *attrs,
                                         size_t count);

/* Adds a link after start (copied). Over the link count limit: CTEL_ERR_LIMIT.
 * A link whose span context is invalid is accepted only if it carries a
 * tracestate or attributes (as the specification says). */
CTEL_API ctel_status ctel_span_add_link(ctel_span *span, const ctel_link *link);

/* Records an exception as an event named "exception" with exception.type,
 * exception.message and exception.stacktrace (each may be NULL) plus `attrs`.
 * Does not change the status: call ctel_span_set_status() too if the
 * exception ends the operation. */
CTEL_API ctel_status ctel_span_record_exception(ctel_span *span, const char *type,
                                                const char *message, const char *stacktrace,
                                                const ctel_attribute *attrs, size_t count);

/* Sets the status. `description` (copied) is kept only with ERROR. OK is
 * final; UNSET never overrides a set status. */
CTEL_API void ctel_span_set_status(ctel_span *span, ctel_status_code code,
                                   const char *description);

/* Replaces the span's name (copied). */
CTEL_API ctel_status ctel_span_update_name(ctel_span *span, const char *name);

/* True while the span is recorded and not yet ended. NULL: false. */
CTEL_API bool ctel_span_is_recording(const ctel_span *span);

/* The span's context (valid even for non-recording spans; all-zero for NULL). */
CTEL_API ctel_span_context ctel_span_get_context(const ctel_span *span);

/* Makes `span` the calling thread's current span until the token is detached
 * with ctel_context_detach(). Allocates nothing in steady state. */
CTEL_API ctel_context_token ctel_span_make_current(ctel_span *span);

/* The span of the innermost entry of this thread's context stack: the span
 * passed to the most recent ctel_span_make_current() still attached. NULL
 * when the stack is empty, when the innermost entry is an attached context,
 * or when that span has already ended (its context still parents new spans).
 * Borrowed: do not end it unless you started it. Thread-safety: reads only
 * the calling thread's state. */
CTEL_API ctel_span *ctel_span_current(void);

/* A new context equal to `parent` (NULL = empty) holding `span`'s context and
 * tracestate. For handing a span's context to another thread. NULL on OOM. */
CTEL_API ctel_context *ctel_context_with_span(const ctel_context *parent, const ctel_span *span);

/* ---- samplers ------------------------------------------------------------- */

typedef struct ctel_sampler ctel_sampler;

typedef enum ctel_sampler_kind {
    CTEL_SAMPLER_ALWAYS_ON = 0,
    CTEL_SAMPLER_ALWAYS_OFF = 1,
    CTEL_SAMPLER_TRACEIDRATIO = 2,
    CTEL_SAMPLER_PARENTBASED_ALWAYS_ON = 3,
    CTEL_SAMPLER_PARENTBASED_ALWAYS_OFF = 4,
    CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO = 5
} ctel_sampler_kind;

typedef enum ctel_sampling_decision {
    CTEL_SAMPLING_DROP = 0,             /* not recorded, not sampled */
    CTEL_SAMPLING_RECORD_ONLY = 1,      /* recorded, not exported as sampled */
    CTEL_SAMPLING_RECORD_AND_SAMPLE = 2 /* recorded and sampled */
} ctel_sampling_decision;

/* What a sampler sees. Every pointer is valid only during the call. */
typedef struct ctel_sampling_params {
    const ctel_span_context *parent; /* NULL when starting a root span */
    const uint8_t *trace_id;         /* 16 bytes: the parent's or a new one */
    const char *name;
    ctel_span_kind kind;
    const ctel_attribute *attributes;
    size_t attribute_count;
    const ctel_link *links;
    size_t link_count;
} ctel_sampling_params;

/* A user-defined sampler. `should_sample` is called on the application thread
 * that starts the span, concurrently from many threads: keep it fast and
 * thread-safe. */
typedef struct ctel_sampler_ops {
    ctel_sampling_decision (*should_sample)(void *user_data, const ctel_sampling_params *params);
    const char *description; /* copied; e.g. "MySampler{...}" */
    void (*destroy)(void *user_data); /* may be NULL */
} ctel_sampler_ops;

/* A built-in sampler. `ratio` is used by the *TRACEIDRATIO kinds only and must
 * be within [0, 1]; otherwise CTEL_ERR_INVALID_ARGUMENT. */
CTEL_API ctel_status ctel_sampler_create(ctel_sampler_kind kind, double ratio,
                                         ctel_sampler **out);

/* A sampler from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG; unknown or
 * unsupported values warn and give the default parentbased_always_on; an
 * invalid ratio warns and gives 1.0. Only fails with CTEL_ERR_NO_MEMORY. */
CTEL_API ctel_status ctel_sampler_create_from_env(ctel_sampler **out);

/* A user-defined sampler (`ops` is copied). */
CTEL_API ctel_status ctel_sampler_create_custom(const ctel_sampler_ops *ops, void *user_data,
                                                ctel_sampler **out);

/* "AlwaysOnSampler", "AlwaysOffSampler", "TraceIdRatioBased{0.250000}" (six
 * decimals), "ParentBased{root=<root's description>,remoteParentSampled=
 * AlwaysOnSampler,remoteParentNotSampled=AlwaysOffSampler,localParentSampled=
 * AlwaysOnSampler,localParentNotSampled=AlwaysOffSampler}" (one line, no
 * spaces), or a custom sampler's own. Owned by the sampler; "" for NULL. */
CTEL_API const char *ctel_sampler_description(const ctel_sampler *sampler);

CTEL_API void ctel_sampler_destroy(ctel_sampler *sampler); /* NULL: no-op */

/* ---- limits --------------------------------------------------------------- */

#define CTEL_LIMIT_UNSET (-1)
#define CTEL_LIMIT_NONE INT32_MAX /* no limit */

/* Span limits. Each field: explicit value (>= 0) > the span-specific env var
 * > the general env var > the default. */
typedef struct ctel_span_limits {
    /* OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT > OTEL_ATTRIBUTE_COUNT_LIMIT > 128 */
    int32_t attribute_count;
    /* OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT > OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT
     * > no limit; applies to string values and to each string in an array */
    int32_t attribute_value_length;
    int32_t event_count;          /* OTEL_SPAN_EVENT_COUNT_LIMIT > 128 */
    int32_t link_count;           /* OTEL_SPAN_LINK_COUNT_LIMIT > 128 */
    int32_t attributes_per_event; /* OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT > 128 */
    int32_t attributes_per_link;  /* OTEL_LINK_ATTRIBUTE_COUNT_LIMIT > 128 */
} ctel_span_limits;

#define CTEL_SPAN_LIMITS_INIT                                                                      \
    {CTEL_LIMIT_UNSET, CTEL_LIMIT_UNSET, CTEL_LIMIT_UNSET,                                         \
     CTEL_LIMIT_UNSET, CTEL_LIMIT_UNSET, CTEL_LIMIT_UNSET}

#ifdef __cplusplus
}
#endif
#endif /* CTEL_TRACE_H */
