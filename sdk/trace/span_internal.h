/* sdk/trace/span_internal.h — the span record, the tracer and the SDK as the
 * trace pipeline sees them. */
#ifndef CTEL_TRACE_SPAN_INTERNAL_H
#define CTEL_TRACE_SPAN_INTERNAL_H

#include "sdk/internal.h"
#include "sdk/trace/config.h"

#include <pthread.h>

enum {
    CTEL__SPAN_RECORDING = 1u,    /* sampled or record-only, not yet ended */
    CTEL__SPAN_STATIC = 2u,       /* the shared invalid span: never recycled */
    CTEL__SPAN_STATUS_FINAL = 4u, /* status set to OK: no further changes */
};

/* Sized so the benchmark's span (4 attributes, short strings) never leaves
 * the record: no allocation per span in steady state. */
#define CTEL__SPAN_INLINE_ATTRS 8
#define CTEL__SPAN_INLINE_BYTES 256

typedef struct ctel__chunk {
    struct ctel__chunk *next;
} ctel__chunk;

/* One span. `data` is the exporters' read-only view and stays first so a
 * record pointer is also a view pointer. Records are recycled through the
 * pool (span_pool.c): only the fields span start sets are reinitialised. */
struct ctel_span {
    ctel_span_data data;
    struct ctel_span *next; /* pool link */
    struct ctel_tracer *tracer;
    uint32_t flags;
    _Atomic uint32_t refs; /* processors still holding the ended span */
    uint32_t attr_cap;
    uint32_t event_cap;
    uint32_t link_cap;
    ctel_attribute *attrs;
    ctel_span_event_data *events;
    ctel_span_link_data *links;
    char *arena_pos;
    char *arena_end;
    ctel__chunk *chunks; /* overflow arena chunks, freed on recycle */
    ctel_attribute inline_attrs[CTEL__SPAN_INLINE_ATTRS];
    _Alignas(16) char inline_bytes[CTEL__SPAN_INLINE_BYTES];
};

struct ctel_tracer {
    struct ctel_sdk *sdk;
    ctel_scope_info scope; /* strings and attributes owned */
};

/* ---- processors (processor.h has the vtable) ---- */
struct ctel_span_processor;

struct ctel_sdk {
    bool disabled;
    _Atomic bool shut_down;
    ctel_resource *resource;
    ctel_sampler *sampler;
    ctel__span_limits limits;
    struct ctel_span_processor **procs;
    size_t nprocs;
    bool any_on_start;
    /* on_end hands the record to `retaining` processors; when a non-retaining
     * one runs after a retaining one the ender holds a reference of its own. */
    uint32_t retaining;
    bool end_own_ref;
    ctel_propagator *propagator;
    pthread_mutex_t tracers_lock;
    struct ctel_tracer **tracers;
    size_t ntracers;
    size_t tracers_cap;
};

/* ---- span pool (span_pool.c) ----
 * Per-thread magazines over a global depot. get() returns an uninitialised
 * record (fields from its previous life) or NULL on out of memory. */
ctel_span *ctel__span_pool_get(void);
void ctel__span_pool_put(ctel_span *span);
/* Frees the records parked in the depot (not those cached by threads). */
void ctel__span_pool_trim(void);

/* Drops a processor's reference to an ended span; the last one recycles it. */
void ctel__span_release(ctel_span *span);

/* The calling thread's context stack (context.c). Resolves the parent for a
 * new span when no explicit parent is given: returns true and fills *sc and
 * the tracestate when the current context has a valid span context. */
bool ctel__context_current_parent(ctel_span_context *sc, const char **trace_state,
                                  size_t *trace_state_len);
/* Called by span end: the ended span must not stay referenced by the stack. */
void ctel__context_forget_span(ctel_span *span);

/* Attribute/value copying into a span's arena (span_attrs.c). */
void *ctel__span_arena_alloc(ctel_span *span, size_t size);
ctel_status ctel__span_copy_str(ctel_span *span, const char *s, size_t len, const char **out);
/* Sets or replaces key in (attrs, *count) bounded by cap/limit; used for span,
 * event and link attribute lists. */
ctel_status ctel__span_put_attr(ctel_span *span, ctel_attribute **attrs, uint32_t *count,
                                uint32_t *cap, uint32_t limit, uint32_t *dropped,
                                const char *key, size_t key_len, const ctel_value *value);

#endif
