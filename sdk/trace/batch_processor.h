/* sdk/trace/batch_processor.h — the batch processor's state, shared by
 * batch_processor.c (the application side, flush, shutdown, fork, stats)
 * and batch_worker.c (the export worker). Private to the SDK.
 */
#ifndef CTEL_TRACE_BATCH_PROCESSOR_H
#define CTEL_TRACE_BATCH_PROCESSOR_H

#include "sdk/internal.h"
#include "sdk/common/fork.h"
#include "sdk/trace/processor.h"
#include "sdk/trace/span_handoff.h"
#include "sdk/trace/span_queue.h"

#include <pthread.h>

typedef struct ctel__batch_processor {
    struct ctel_span_processor base;
    ctel_span_exporter *exporter;
    ctel__batch_config cfg;
    ctel__span_queue queue; /* spans queued one by one */
    ctel__handoff handoff;  /* spans handed over in blocks */
    uint64_t wake_depth;    /* per-shard depth that wakes a sleeping worker */

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t wake_cv; /* worker waits here */
    pthread_cond_t done_cv; /* flush/shutdown callers wait here */
    _Atomic bool worker_sleeping;
    bool stop;                /* under lock */
    bool worker_exited;       /* under lock */
    uint64_t flush_requested; /* generation, under lock */
    uint64_t flush_done;      /* generation, under lock */
    ctel_status flush_result; /* under lock */
    _Atomic bool shut_down;   /* no more spans accepted */
    _Atomic bool abandoned;   /* shutdown deadline passed: drop what is left */
    bool sole_owner;          /* the SDK hands ended spans to no one else */
    size_t reserved_records;  /* preallocated into the pool at start, */
    size_t reserved_empties;  /* given back at destroy */
    /* Worker only: spans collected from threads' blocks (see drain). */
    ctel_span **collected;
    size_t collected_cap;
    _Atomic uint64_t handed_over; /* spans taken from blocks, for stats */

    /* Counters: written by one side each, read by stats. */
    _Atomic uint64_t dropped_full;
    _Atomic uint64_t dropped_after_shutdown;
    _Atomic uint64_t exported;
    _Atomic uint64_t dropped_failed;
    _Atomic uint64_t dropped_shutdown;
    _Atomic uint64_t export_calls;
    _Atomic uint64_t export_failures;

    /* fork() (see sdk/common/fork.h), under lock */
    ctel__fork_entry fork_entry;
    bool pause;           /* prepare asks the worker to park */
    _Atomic bool pausing; /* the same, read by drain without the lock */
    bool parked;          /* it waits in its park, outside any export */
    bool fork_parked;     /* prepare saw it park (or exit) in time */
} ctel__batch_processor;

/* Queued pointers: the record (pool records are CTEL__SPAN_ALIGN-aligned)
 * with the home depot of the thread that ended it in bits 1-4; bit 0 is the
 * queue's own. */
_Static_assert(CTEL__SPAN_ALIGN >= 2 * CTEL__POOL_HOMES, "home tag needs free pointer bits");
#define CTEL__BP_HOME_MASK ((uintptr_t)(CTEL__POOL_HOMES - 1) << 1)

static inline void *ctel__bp_tag(ctel_span *s, unsigned home)
{
    return (void *)((uintptr_t)s | ((uintptr_t)home << 1));
}

static inline ctel_span *ctel__bp_untag(void *p, unsigned *home)
{
    *home = (unsigned)(((uintptr_t)p & CTEL__BP_HOME_MASK) >> 1);
    return (ctel_span *)((uintptr_t)p & ~CTEL__BP_HOME_MASK);
}

/* Spans waiting in the two queues (a queued block counted as full). */
static inline uint64_t ctel__batch_queued_spans(const ctel__batch_processor *bp)
{
    return ctel__span_queue_size(&bp->queue) +
           ctel__handoff_queued_blocks(&bp->handoff) * CTEL__MAG_SIZE;
}

/* The export worker's thread (batch_worker.c): runs until `stop`, parks for
 * fork() when `pause` asks. `arg` is the processor. */
void *ctel__batch_worker_main(void *arg);

#endif
