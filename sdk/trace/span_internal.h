/* sdk/trace/span_internal.h — the span record, the tracer and the SDK as the
 * trace pipeline sees them. */
#ifndef CTEL_TRACE_SPAN_INTERNAL_H
#define CTEL_TRACE_SPAN_INTERNAL_H

#include "sdk/internal.h"
#include "sdk/common/fork.h"
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

/* Pool records start on a cache line: a span touches one line fewer, and
 * the batch processor keeps tags in the low bits of queued pointers. */
#define CTEL__SPAN_ALIGN 64

/* One span. `data` is the exporters' read-only view and stays first so a
 * record pointer is also a view pointer. Records are recycled through the
 * pool (span_pool.c): only the fields span start sets are reinitialised. */
struct ctel_span {
    ctel_span_data data;
    void *mem; /* the allocation the record is aligned within (pool records) */
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
    /* The decision for a root span when the sampler's answer does not
     * depend on the trace id (always_on/off and their parent-based forms):
     * CTEL_SAMPLING_* or -1 when the sampler must be asked. */
    int root_decision;
    /* on_end hands the record to `retaining` processors; when a non-retaining
     * one runs after a retaining one the ender holds a reference of its own. */
    uint32_t retaining;
    bool end_own_ref;
    ctel_propagator *propagator;
    pthread_mutex_t tracers_lock;
    struct ctel_tracer **tracers;
    size_t ntracers;
    size_t tracers_cap;
    /* fork(): a child switches `resource` to one with its own process.pid;
     * the ones it replaced stay alive (ended spans may point at them) until
     * destroy. */
    ctel__fork_entry fork_entry;
    ctel_resource **retired_resources;
    size_t nretired_resources;
};

/* Thread-local state on the hot path uses the initial-exec TLS model so that
 * libctel.so reaches it without a __tls_get_addr call. */
#define CTEL__TLS _Thread_local __attribute__((tls_model("initial-exec")))

/* ---- span pool (span_pool.c) ----
 * Per-thread magazines over a global depot. get() returns an uninitialised
 * record (fields from its previous life) or NULL on out of memory. The fast
 * paths are inline; the slow paths trade magazines with the depot. */
#define CTEL__MAG_SIZE 64

/* A magazine is also the unit a batch processor's application threads hand
 * ended spans over in (span_handoff.h): `home` is then the depot of the
 * thread that filled it and `taken` how many of its spans the export worker
 * has already collected. Magazines start on a cache line (their address
 * carries tags in a queue, like records). */
typedef struct ctel__magazine {
    struct ctel__magazine *next;
    uint32_t n;
    uint32_t home;
    uint32_t taken;
    void *mem; /* the allocation the magazine is aligned within */
    ctel_span *items[CTEL__MAG_SIZE];
} ctel__magazine;

/* Depots records are returned to; a power of two at most 16 so the home
 * fits in the 4 low bits of a (16-byte aligned) record pointer. */
#define CTEL__POOL_HOMES 16

typedef struct ctel__thread_cache {
    ctel__magazine *cur;
    ctel__magazine *spare;
    bool registered;
    uint8_t home; /* this thread's depot */
} ctel__thread_cache;

extern CTEL__TLS ctel__thread_cache ctel__t_cache;

ctel_span *ctel__span_pool_get_slow(void);
void ctel__span_pool_put_slow(ctel_span *span);

/* Overflow arena chunks of a recycled record are freed when the record is
 * taken again, on the application thread that reuses it: returning a record
 * (on the export worker) then never touches its memory. */
void ctel__span_free_chunks(ctel_span *span);

static inline ctel_span *ctel__span_pool_get(void)
{
    ctel__magazine *m = ctel__t_cache.cur;
    ctel_span *s = CTEL_LIKELY(m && m->n) ? m->items[--m->n] : ctel__span_pool_get_slow();

    if (CTEL_UNLIKELY(s && s->chunks))
        ctel__span_free_chunks(s);
    return s;
}

static inline void ctel__span_pool_put(ctel_span *span)
{
    ctel__magazine *m = ctel__t_cache.cur;
    if (CTEL_LIKELY(m && m->n < CTEL__MAG_SIZE)) {
        m->items[m->n++] = span;
        return;
    }
    ctel__span_pool_put_slow(span);
}
/* The calling thread's home depot (0 until the thread first used the pool). */
static inline unsigned ctel__span_pool_home(void)
{
    return ctel__t_cache.home;
}

/* Returns an ended record to depot `home` (the export worker's path): it
 * goes back to the thread that ended it without the worker touching it. */
void ctel__span_pool_return(ctel_span *span, unsigned home);

/* Frees the records parked in the depots and the calling thread's caches
 * (not those cached by other threads). */
void ctel__span_pool_trim(void);

/* Adds `records` records (rounded up to whole magazines) and `empties` empty
 * magazines to the depots, so that many more spans can be in flight before
 * the pool allocates. All or nothing: CTEL_ERR_NO_MEMORY leaves the pool as
 * it was. Any thread. */
ctel_status ctel__span_pool_reserve(size_t records, size_t empties);

/* Gives back up to `records` records (whole magazines) and `empties` empty
 * magazines parked in the depots, for a reserve no longer wanted; records
 * in flight or cached by threads stay in the pool. Any thread. */
void ctel__span_pool_release(size_t records, size_t empties);

/* An empty magazine for a thread to hand ended spans over in, its `home`
 * set to the calling thread's depot; NULL when out of memory. */
ctel__magazine *ctel__span_pool_take_block(void);

/* Gives back a magazine and the records in it (every one of them ended and
 * no longer referenced): a full one goes to depot `home` as it is, a partly
 * filled one has its records freed. Any thread. */
void ctel__span_pool_give_block(ctel__magazine *m);

/* Records the pool has allocated and not freed (in flight, parked or cached). */
size_t ctel__span_pool_records(void);

/* Drops a processor's reference to an ended span; the last one recycles it. */
void ctel__span_release(ctel_span *span);

/* The calling thread's context stack (context.c). Resolves the parent for a
 * new span when no explicit parent is given: returns true and fills *sc and
 * the tracestate when the current context has a valid span context. */
bool ctel__context_current_parent(ctel_span_context *sc, const char **trace_state,
                                  size_t *trace_state_len);
/* Called by span end: the ended span must not stay referenced by the stack.
 * ctel__t_context_depth is the calling thread's stack depth, read inline so
 * the common case (nothing current) costs one load. */
extern CTEL__TLS uint32_t ctel__t_context_depth;
void ctel__context_forget_span_slow(ctel_span *span);
static inline void ctel__context_forget_span(ctel_span *span)
{
    if (CTEL_UNLIKELY(ctel__t_context_depth != 0))
        ctel__context_forget_span_slow(span);
}

/* Attribute/value copying into a span's arena (span_attrs.c). */
void *ctel__span_arena_alloc(ctel_span *span, size_t size);
ctel_status ctel__span_copy_str(ctel_span *span, const char *s, size_t len, const char **out);
/* Sets or replaces key in (attrs, *count) bounded by cap/limit; used for span,
 * event and link attribute lists. */
ctel_status ctel__span_put_attr(ctel_span *span, ctel_attribute **attrs, uint32_t *count,
                                uint32_t *cap, uint32_t limit, uint32_t *dropped, const char *key,
                                size_t key_len, const ctel_value *value);

#endif
