/* sdk/trace/span_handoff.h — application threads hand ended spans to a batch
 * processor's export worker 64 at a time.
 *
 * Each thread appends the spans it ends to a block of its own (a pool
 * magazine, see span_internal.h): two stores to cache lines no other core
 * writes. A full block goes into the processor's block queue with one push;
 * the worker exports its spans and gives the whole block back to the pool,
 * where it is the next full magazine that thread starts spans from. The
 * worker never writes a line an application thread will write or read next,
 * and a thread pays one queue push per 64 spans.
 *
 * Spans in a block that is not full yet are not lost or delayed past the
 * schedule: when a flush, the shutdown or the schedule delay asks for
 * everything, the worker collects what each thread has appended since the
 * last time (ctel__handoff_collect), under a per-thread lock the thread
 * itself takes only when its block is full. Collected spans stay in their
 * block, marked taken, until the block comes back whole.
 *
 * A thread hands spans to one processor this way at a time (the first it
 * ends a span for); for any other, and when memory for a block is short,
 * ctel__handoff_put says CTEL__HANDOFF_UNAVAILABLE and the caller queues
 * the span on its own.
 *
 * When a thread exits, its block stays where the worker collects it (the
 * thread's entry), so a thread that ended a few spans takes no queue slot
 * for them. Once exited threads leave a batch of spans behind, the worker is
 * woken to collect them; beyond the queue's size in spans, an exiting
 * thread's block is queued instead (or dropped and counted when the queue
 * is full), so memory stays bounded however many threads come and go.
 *
 * Only for processors that are the sole holders of the spans they are given
 * (blocks go back to the pool with their records).
 */
#ifndef CTEL_TRACE_SPAN_HANDOFF_H
#define CTEL_TRACE_SPAN_HANDOFF_H

#include "sdk/trace/span_internal.h"
#include "sdk/trace/span_queue.h"

typedef struct ctel__handoff_entry ctel__handoff_entry;

typedef struct ctel__handoff {
    uint64_t id;            /* never reused; 0: hand-off disabled */
    ctel__span_queue queue; /* full blocks (and exited threads' past the limit) */
    /* Every field below is under the module's registry lock. */
    ctel__handoff_entry *entries; /* one per thread that handed spans over */
    ctel__magazine *retired;      /* blocks to give back after the exports */
    struct ctel__handoff *next;   /* the live hand-offs */
    uint32_t exiting;             /* threads in thread_exit's wake call */
    /* Spans dropped because the block queue was full (a whole block's
     * untaken spans at a time), read by stats. */
    _Atomic uint64_t dropped;
    /* Spans exited threads left in their blocks, not yet collected (written
     * under the registry lock, read without). */
    _Atomic uint64_t orphaned;
    /* Untaken spans in queued blocks, for stats. */
    _Atomic uint64_t queued_spans;
    uint64_t orphan_wake;    /* orphaned spans that make the worker collect */
    uint64_t orphan_limit;   /* beyond this, an exiting thread queues its block */
    void (*wake)(void *ctx); /* wakes the worker; any thread, no lock held */
    void *wake_ctx;
} ctel__handoff;

/* The calling thread's hand-off: which processor's (id) and its entry. */
typedef struct ctel__handoff_thread {
    uint64_t id;
    ctel__handoff_entry *entry;
    ctel__magazine *block;    /* the entry's current block (a copy, see put) */
    uint64_t registry_checks; /* times it asked for a hand-off (for tests) */
} ctel__handoff_thread;

extern CTEL__TLS ctel__handoff_thread ctel__t_handoff;

/* Sets `h` up for a processor whose queue holds up to `max_spans` spans and
 * whose export batches hold up to `max_batch`: blocks are used only when the
 * queue holds at least two of them and a batch at least one; otherwise `h`
 * stays disabled (put says unavailable) and the call succeeds. `wake(ctx)`
 * is called by an exiting thread, without any of this module's locks, when
 * exited threads have left `max_batch` spans for the worker to collect (see
 * ctel__handoff_orphans_waiting); it must not block for long.
 * CTEL_ERR_NO_MEMORY. */
ctel_status ctel__handoff_init(ctel__handoff *h, uint64_t max_spans, uint64_t max_batch,
                               void (*wake)(void *ctx), void *ctx);

/* After the worker has stopped: gives back every block still queued or held
 * for a thread, with their records; *unexported receives how many of their
 * spans were never collected. Threads must no longer end spans for this
 * processor; a thread exiting meanwhile is waited for (its wake call). */
void ctel__handoff_destroy(ctel__handoff *h, uint64_t *unexported);

typedef enum ctel__handoff_result {
    CTEL__HANDOFF_KEPT,        /* appended to the thread's block */
    CTEL__HANDOFF_PUSHED,      /* appended; the block was full and is queued */
    CTEL__HANDOFF_DROPPED,     /* appended; the block was full, the queue too:
                                  its untaken spans were dropped and counted */
    CTEL__HANDOFF_UNAVAILABLE, /* not taken: queue the span some other way */
} ctel__handoff_result;

ctel__handoff_result ctel__handoff_put_slow(ctel__handoff *h, ctel_span *s, uint64_t *depth);

/* Application thread: hands `s` over. *depth receives the depth in blocks of
 * the shard a full block went to (PUSHED), or the spans dropped (DROPPED). */
static inline ctel__handoff_result ctel__handoff_put(ctel__handoff *h, ctel_span *s,
                                                     uint64_t *depth)
{
    ctel__handoff_thread *t = &ctel__t_handoff;
    ctel__magazine *m = t->block;
    if (CTEL_LIKELY(t->id == h->id && m)) {
        uint32_t n = m->n;
        if (CTEL_LIKELY(n + 1 < CTEL__MAG_SIZE)) {
            m->items[n] = s;
            /* the worker may collect up to here at any time */
            __atomic_store_n(&m->n, n + 1, __ATOMIC_RELEASE);
            return CTEL__HANDOFF_KEPT;
        }
    }
    return ctel__handoff_put_slow(h, s, depth);
}

/* Worker: pops up to `max` queued blocks. */
size_t ctel__handoff_pop(ctel__handoff *h, ctel__magazine **out, size_t max);

/* Worker: appends to *buf (grown as needed, owned by the caller and freed
 * with ctel__free) the spans threads have appended to their blocks since the
 * last collect, and forgets the entries of threads that have exited once
 * their spans are all collected. Returns
 * the number appended; those spans go back to the pool with their block,
 * never on their own. Fewer than asked when memory is short (the rest stay
 * for the next collect or their block). */
size_t ctel__handoff_collect(ctel__handoff *h, ctel_span ***buf, size_t *cap);

/* Worker, once every span it has collected so far is exported: gives back
 * the blocks threads could not queue (queue full, or nothing left to
 * export at thread exit) while some of their spans were being exported. */
void ctel__handoff_release_retired(ctel__handoff *h);

/* Whether exited threads have left a batch of spans in their blocks: the
 * worker should collect now rather than at the schedule delay. */
static inline bool ctel__handoff_orphans_waiting(const ctel__handoff *h)
{
    return h->id && atomic_load_explicit(&h->orphaned, memory_order_relaxed) >= h->orphan_wake;
}

/* Blocks queued (a block holds up to CTEL__MAG_SIZE spans). */
uint64_t ctel__handoff_queued_blocks(const ctel__handoff *h);

/* For stats: spans waiting for the worker — in queued blocks and in
 * threads' blocks (live or exited) not yet collected. Takes the registry
 * lock and each entry's lock in turn: for stats, not for a hot path. A
 * snapshot: threads may append meanwhile. */
uint64_t ctel__handoff_waiting_spans(ctel__handoff *h);

/* fork(): the registry lock is held across fork() (ctel__handoff_fork_lock
 * and the others in sdk/internal.h, called by sdk/common/fork.c); in the
 * child, ctel__handoff_fork_child gives back the parent's blocks (their
 * spans are the parent's to export) and starts `h` empty. */
void ctel__handoff_fork_child(ctel__handoff *h);

#endif
