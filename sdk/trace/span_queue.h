/* sdk/trace/span_queue.h — the batch processor's bounded queue of ended spans.
 *
 * Many producers (application threads), one consumer (the export worker).
 * The queue is split into shards, each a bounded ring with its own cache
 * lines; a thread pushes into "its" shard (assigned round-robin on first
 * use), so threads on different cores do not contend. A push that finds its
 * shard full tries the others before reporting full, so the total capacity
 * is exactly the configured size. Push never blocks and never allocates.
 *
 * Items are pointers with bit 0 clear: the queue keeps a lap bit there, so a
 * slot is one word and only producers ever write it.
 */
#ifndef CTEL_TRACE_SPAN_QUEUE_H
#define CTEL_TRACE_SPAN_QUEUE_H

#include "sdk/internal.h"

typedef struct ctel__queue_shard {
    _Alignas(CTEL_CACHELINE) _Atomic uint64_t tail; /* producers reserve here */
    _Alignas(CTEL_CACHELINE) _Atomic uint64_t head; /* consumer position */
    _Alignas(CTEL_CACHELINE) _Atomic uintptr_t *slots; /* item | lap bit */
    uint64_t mask;  /* ring size - 1 (ring size is a power of two) */
    uint64_t limit; /* this shard's share of the capacity (<= ring size) */
    void *slots_mem; /* the allocation `slots` is aligned within */
} ctel__queue_shard;

typedef struct ctel__span_queue {
    ctel__queue_shard *shards; /* cache-line aligned, see span_queue.c */
    void *shards_mem;
    uint32_t nshards;
    uint32_t next_consumer_shard;
    uint64_t capacity;
} ctel__span_queue;

/* capacity >= 1. Shards: the number of CPUs rounded to a power of two,
 * at most 16 and at most `capacity`. */
ctel_status ctel__span_queue_init(ctel__span_queue *q, uint64_t capacity);
void ctel__span_queue_destroy(ctel__span_queue *q);

/* Producer side. `item` must have bit 0 clear. Returns false when every
 * shard is full. *depth receives the depth of the shard pushed into (for the
 * wake-up heuristic). */
bool ctel__span_queue_push(ctel__span_queue *q, void *item, uint64_t *depth);

/* Consumer side (one thread at a time): pops up to `max` items. */
size_t ctel__span_queue_pop(ctel__span_queue *q, void **out, size_t max);

/* Empties the queue without popping, for a forked child whose producers may
 * have vanished between reserving a slot and filling it: `release` gets each
 * item that was published; the queue restarts empty. */
void ctel__span_queue_abandon(ctel__span_queue *q, void (*release)(void *item));

/* Items pushed minus items popped (exact when producers are quiet). */
uint64_t ctel__span_queue_size(const ctel__span_queue *q);
/* Total successful pushes since creation. */
uint64_t ctel__span_queue_pushed(const ctel__span_queue *q);

#endif
