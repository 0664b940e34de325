/* ctel/export.h — what exporters and span processors see, and the interfaces
 * to write your own.
 *
 * Pipeline: span end → span processors (simple: export synchronously; batch:
 * bounded queue + worker thread) → span exporter (console, in-memory, OTLP
 * over HTTP or gRPC, or yours).
 */
#ifndef CTEL_EXPORT_H
#define CTEL_EXPORT_H

#include "resource.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- read-only views of finished spans ------------------------------------
 * Everything a view points to is owned by ctel and valid only during the call
 * that received it (export, on_end). Copy what you keep. Strings are
 * NUL-terminated and also carry their length. */

typedef struct ctel_scope_info {
    const char *name;
    const char *version;    /* "" if none */
    const char *schema_url; /* "" if none */
    const ctel_attribute *attributes;
    size_t attribute_count;
} ctel_scope_info;

typedef struct ctel_span_event_data {
    const char *name;
    size_t name_len;
    uint64_t time_unix_nano;
    const ctel_attribute *attributes;
    uint32_t attribute_count;
    uint32_t dropped_attributes_count;
} ctel_span_event_data;

typedef struct ctel_span_link_data {
    ctel_span_context context;
    const char *trace_state; /* "" if none */
    size_t trace_state_len;
    const ctel_attribute *attributes;
    uint32_t attribute_count;
    uint32_t dropped_attributes_count;
} ctel_span_link_data;

typedef struct ctel_span_data {
    ctel_span_context context;
    uint8_t parent_span_id[8]; /* all zero for a root span */
    bool has_parent;
    bool parent_is_remote;
    const char *trace_state; /* "" if none */
    size_t trace_state_len;
    const char *name;
    size_t name_len;
    ctel_span_kind kind;
    uint64_t start_time_unix_nano;
    uint64_t end_time_unix_nano;
    const ctel_attribute *attributes;
    uint32_t attribute_count;
    uint32_t dropped_attributes_count;
    const ctel_span_event_data *events;
    uint32_t event_count;
    uint32_t dropped_events_count;
    const ctel_span_link_data *links;
    uint32_t link_count;
    uint32_t dropped_links_count;
    ctel_status_code status_code;
    const char *status_message; /* "" if none */
    size_t status_message_len;
    const ctel_resource *resource;
    const ctel_scope_info *scope;
} ctel_span_data;

/* ---- span exporters -------------------------------------------------------- */

typedef struct ctel_span_exporter ctel_span_exporter;

/* The operations of an exporter. ctel calls `export_spans` from one thread at
 * a time (never concurrently) and never after `shutdown`.
 *   export_spans: deliver `count` spans (count > 0) within `timeout_ms`
 *     (0 = no limit). Return CTEL_OK; CTEL_ERR_UNAVAILABLE or CTEL_ERR_TIMEOUT
 *     for a failure that may succeed later; CTEL_ERR_REJECTED for data that
 *     will never be accepted; other codes are treated as permanent.
 *   force_flush (may be NULL): finish anything buffered within timeout_ms.
 *   shutdown (may be NULL): flush and release network resources.
 *   destroy (may be NULL): free `state`. Called exactly once. */
typedef struct ctel_span_exporter_ops {
    const char *name; /* e.g. "console"; copied */
    ctel_status (*export_spans)(void *state, const ctel_span_data *const *spans, size_t count,
                                uint32_t timeout_ms);
    ctel_status (*force_flush)(void *state, uint32_t timeout_ms);
    ctel_status (*shutdown)(void *state, uint32_t timeout_ms);
    void (*destroy)(void *state);
} ctel_span_exporter_ops;

/* Wraps user operations into an exporter. `ops` is copied; `state` is owned by
 * the exporter from now on (passed to ops->destroy), even on failure.
 * CTEL_ERR_INVALID_ARGUMENT when ops or ops->export_spans is NULL. */
CTEL_API ctel_status ctel_span_exporter_create(const ctel_span_exporter_ops *ops, void *state,
                                               ctel_span_exporter **out);

/* Direct calls, for users who drive an exporter themselves. Same contract as
 * the ops; export returns CTEL_ERR_SHUTDOWN after shutdown. Not concurrently
 * on the same exporter. */
CTEL_API ctel_status ctel_span_exporter_export(ctel_span_exporter *exp,
                                               const ctel_span_data *const *spans, size_t count,
                                               uint32_t timeout_ms);
CTEL_API ctel_status ctel_span_exporter_force_flush(ctel_span_exporter *exp, uint32_t timeout_ms);
CTEL_API ctel_status ctel_span_exporter_shutdown(ctel_span_exporter *exp, uint32_t timeout_ms);

/* The exporter's name, e.g. "console". */
CTEL_API const char *ctel_span_exporter_name(const ctel_span_exporter *exp);

/* Shuts down (if not yet) and frees. NULL: no-op. Not while in use. */
CTEL_API void ctel_span_exporter_destroy(ctel_span_exporter *exp);

/* Console exporter: one OTLP/JSON ExportTraceServiceRequest per line per
 * batch. `path` NULL or "stdout" → stdout; "stderr" → stderr; otherwise the
 * file is opened for appending. CTEL_ERR_IO if the file cannot be opened. */
CTEL_API ctel_status ctel_console_exporter_create(const char *path, ctel_span_exporter **out);

/* In-memory exporter for tests: keeps copies of every exported span (up to
 * `max_spans`, 0 = unlimited; beyond it spans are counted as dropped and
 * export returns CTEL_ERR_LIMIT). Read with the functions below, from any
 * thread. */
typedef struct ctel_memory_exporter ctel_memory_exporter;
CTEL_API ctel_status ctel_memory_exporter_create(size_t max_spans, ctel_memory_exporter **mem,
                                                 ctel_span_exporter **out);
/* Number of spans held. */
CTEL_API size_t ctel_memory_exporter_count(ctel_memory_exporter *mem);
/* Copies out the view of span `index` (export order). The view stays valid
 * until ctel_memory_exporter_clear() or the exporter is destroyed. */
CTEL_API ctel_status ctel_memory_exporter_get(ctel_memory_exporter *mem, size_t index,
                                              const ctel_span_data **out);
/* The first held span named `name`, or NULL. */
CTEL_API const ctel_span_data *ctel_memory_exporter_find(ctel_memory_exporter *mem,
                                                         const char *name);
/* Spans refused because max_spans was reached. */
CTEL_API uint64_t ctel_memory_exporter_dropped(ctel_memory_exporter *mem);
CTEL_API void ctel_memory_exporter_clear(ctel_memory_exporter *mem);

/* ---- span processors ---------------------------------------------------- */

typedef struct ctel_span_processor ctel_span_processor;

/* Batch processor settings; start from CTEL_BATCH_OPTIONS_INIT (every field
 * -1: from the environment), as fields are added between 0.x versions. The
 * sizes and times: explicit value (> 0) > OTEL_BSP_* env > default;
 * max_export_batch_size is clamped to max_queue_size.
 *
 * preallocate (-1: CTEL_BSP_PREALLOCATE, default false; 0: no, whatever the
 * environment says; > 0: yes):
 * span records are recycled, and the record pool grows to the most spans
 * ever in flight at once, which is when the export worker falls behind and
 * the queue fills. Preallocating puts records for a full queue, one batch
 * being exported and the record caches of one application thread per CPU
 * (and the block each such thread is filling) into the pool when the SDK
 * starts, so that ending and starting spans never allocates, however far
 * the worker falls behind. Costs about 0.9 KiB per
 * record, held until the last SDK is destroyed: ~3.5 MiB with the default
 * queue of 2048 on 2 CPUs, ~60 MiB with a queue of 65,536 (CPUs: those
 * the process may run on). More application threads than CPUs, or many
 * spans open at once, can still grow the pool (by at most 128 records per
 * extra thread). Given back when the processor is destroyed. If the memory
 * cannot be had the SDK starts without it and says so in a warning. */
typedef struct ctel_batch_options {
    int32_t max_queue_size;        /* OTEL_BSP_MAX_QUEUE_SIZE, default 2048 */
    int32_t max_export_batch_size; /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE, default 512 */
    int32_t schedule_delay_ms;     /* OTEL_BSP_SCHEDULE_DELAY, default 5000 */
    int32_t export_timeout_ms;     /* OTEL_BSP_EXPORT_TIMEOUT, default 30000; env 0 = no limit */
    int32_t preallocate;           /* CTEL_BSP_PREALLOCATE, default false; see above */
} ctel_batch_options;

#define CTEL_BATCH_OPTIONS_INIT {-1, -1, -1, -1, -1}

/* A batch processor exporting through `exporter`, which it owns from now on
 * (destroyed with the processor, also when this call fails). Starts one
 * worker thread when the SDK is created. A full queue drops spans and counts
 * them (ctel_sdk_stats()); nothing on the span path blocks.
 *
 * How ended spans reach the worker: when this is the SDK's only processor
 * holding spans, each application thread collects the spans it ends in a
 * block of 64 of its own and queues the block when it is full (one queue
 * push per 64 spans); the worker also takes what a thread's block holds for
 * a flush, the shutdown and once per schedule delay, so spans wait no
 * longer than without blocks. The queue then holds max_queue_size / 64
 * blocks; a full queue drops a block's spans (those not yet taken) at once.
 * A thread uses blocks for one processor at a time (the first it ends a
 * span for); spans for any other processor are queued one by one into a
 * queue of max_queue_size spans. A thread's first span for a processor
 * allocates a small entry (once per thread). When a thread exits, the
 * worker collects its block where it is (no queue slot taken): at the next
 * flush or schedule delay, or as soon as exited threads have left a batch;
 * past max_queue_size such spans, an exiting thread's block is queued (and
 * dropped, counted, when the queue is full).
 * CTEL_ERR_INVALID_ARGUMENT for a NULL exporter; CTEL_ERR_NO_MEMORY. */
CTEL_API ctel_status ctel_batch_processor_create(ctel_span_exporter *exporter,
                                                 const ctel_batch_options *opts,
                                                 ctel_span_processor **out);

/* A simple processor: exports each span synchronously, on the thread that
 * ends it (serialised by a mutex). For tests and debugging, not production. */
CTEL_API ctel_status ctel_simple_processor_create(ctel_span_exporter *exporter,
                                                  ctel_span_processor **out);

/* A user-defined processor. `on_start` may be NULL; it sees the span being
 * started (it may set attributes on it). `on_end` sees each ended recording
 * span; the view is valid only during the call. Both are called on
 * application threads, concurrently. */
typedef struct ctel_span_processor_ops {
    void (*on_start)(void *state, ctel_span *span, const ctel_context *parent);
    void (*on_end)(void *state, const ctel_span_data *span);
    ctel_status (*force_flush)(void *state, uint32_t timeout_ms);
    ctel_status (*shutdown)(void *state, uint32_t timeout_ms);
    void (*destroy)(void *state);
} ctel_span_processor_ops;

CTEL_API ctel_status ctel_span_processor_create(const ctel_span_processor_ops *ops, void *state,
                                                ctel_span_processor **out);

/* Frees a processor that was never handed to an SDK. NULL: no-op. */
CTEL_API void ctel_span_processor_destroy(ctel_span_processor *proc);

#ifdef __cplusplus
}
#endif
#endif /* CTEL_EXPORT_H */
