/* sdk/trace/span_queue.c — sharded bounded MPSC rings (see span_queue.h).
 *
 * A producer reserves position p by advancing the shard's tail with a CAS,
 * but only while p is less than `limit` ahead of the consumer's head: the
 * slot's previous occupant (position p - ring size) has then been taken. It
 * publishes by storing item | lap bit, where the lap bit is bit log2(ring
 * size) of p. The consumer takes position h when the slot holds h's lap
 * bit; a slot still holding the previous lap's bit is empty or reserved but
 * not yet filled. The consumer never writes slots, so a slot's cache line
 * only travels from producer to consumer, and a slot is one word (eight
 * slots per line). `limit` lets shards have exact, non-power-of-two shares.
 */
#include "sdk/internal.h"
#include "sdk/trace/span_queue.h"

#include <unistd.h>

static _Atomic uint32_t g_next_thread_slot;
static _Thread_local uint32_t t_thread_slot; /* 0 = unassigned, else slot+1 */

static uint64_t pow2_at_least(uint64_t v)
{
    uint64_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

/* Zeroed memory whose cache lines are all its own: `size` bytes at a
 * CTEL_CACHELINE boundary, with no other allocation's bytes on the first or
 * last line. The heap only aligns to 16 bytes, and a shard's tail (written by
 * producers on every push) sharing a line with a neighbouring allocation's
 * hot data costs a cache-line transfer per span (seen as a two-thread
 * slowdown that came and went with unrelated struct size changes). */
static void *line_calloc(size_t size, void **mem)
{
    char *raw = ctel__calloc(1, size + 2 * CTEL_CACHELINE);
    *mem = raw;
    if (!raw)
        return NULL;
    uintptr_t p = ((uintptr_t)raw + CTEL_CACHELINE) & ~(uintptr_t)(CTEL_CACHELINE - 1);
    return (void *)p;
}

static inline uintptr_t lap_bit(const ctel__queue_shard *s, uint64_t pos)
{
    return (pos & (s->mask + 1)) ? 1u : 0u;
}

/* Every slot as if left over from the lap before position 0's. */
static void empty_slots(ctel__queue_shard *s)
{
    for (uint64_t j = 0; j <= s->mask; j++)
        atomic_store_explicit(&s->slots[j], lap_bit(s, j) ^ 1u, memory_order_relaxed);
}

ctel_status ctel__span_queue_init(ctel__span_queue *q, uint64_t capacity)
{
    memset(q, 0, sizeof *q);
    if (capacity == 0)
        return CTEL_ERR_INVALID_ARGUMENT;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t n = (uint32_t)pow2_at_least(cpus > 0 ? (uint64_t)cpus : 1);
    if (n > 16)
        n = 16;
    while (n > 1 && n > capacity)
        n >>= 1;
    q->shards = line_calloc(n * sizeof *q->shards, &q->shards_mem);
    if (!q->shards)
        return CTEL_ERR_NO_MEMORY;
    q->nshards = n;
    q->capacity = capacity;
    for (uint32_t i = 0; i < n; i++) {
        ctel__queue_shard *s = &q->shards[i];
        uint64_t share = capacity / n + (i < capacity % n ? 1 : 0);
        uint64_t ring = pow2_at_least(share);
        s->slots = line_calloc(ring * sizeof *s->slots, &s->slots_mem);
        if (!s->slots) {
            ctel__span_queue_destroy(q);
            return CTEL_ERR_NO_MEMORY;
        }
        s->mask = ring - 1;
        empty_slots(s);
        s->limit = share;
        atomic_init(&s->tail, 0);
        atomic_init(&s->head, 0);
    }
    return CTEL_OK;
}

void ctel__span_queue_destroy(ctel__span_queue *q)
{
    if (!q->shards)
        return;
    for (uint32_t i = 0; i < q->nshards; i++)
        ctel__free(q->shards[i].slots_mem);
    ctel__free(q->shards_mem);
    q->shards = NULL;
    q->shards_mem = NULL;
}

static bool shard_push(ctel__queue_shard *s, void *item, uint64_t *depth)
{
    uint64_t pos = atomic_load_explicit(&s->tail, memory_order_relaxed);
    for (;;) {
        uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
        if (CTEL_UNLIKELY((int64_t)(pos - head) < 0)) {
            /* our tail is older than the consumer's head: look again */
            pos = atomic_load_explicit(&s->tail, memory_order_relaxed);
            continue;
        }
        if (pos - head >= s->limit)
            return false;
        if (atomic_compare_exchange_weak_explicit(&s->tail, &pos, pos + 1, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            atomic_store_explicit(&s->slots[pos & s->mask], (uintptr_t)item | lap_bit(s, pos),
                                  memory_order_release);
            *depth = pos + 1 - head;
            return true;
        }
        /* A failed CAS reloaded pos. */
    }
}

bool ctel__span_queue_push(ctel__span_queue *q, void *item, uint64_t *depth)
{
    uint32_t slot = t_thread_slot;
    if (CTEL_UNLIKELY(slot == 0)) {
        slot = atomic_fetch_add_explicit(&g_next_thread_slot, 1, memory_order_relaxed) + 1;
        t_thread_slot = slot;
    }
    uint32_t mask = q->nshards - 1;
    uint32_t first = (slot - 1) & mask;
    if (CTEL_LIKELY(shard_push(&q->shards[first], item, depth)))
        return true;
    for (uint32_t i = 1; i < q->nshards; i++) {
        if (shard_push(&q->shards[(first + i) & mask], item, depth))
            return true;
    }
    return false;
}

static size_t shard_pop(ctel__queue_shard *s, void **out, size_t max)
{
    uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
    size_t n = 0;
    while (n < max) {
        uintptr_t v = atomic_load_explicit(&s->slots[head & s->mask], memory_order_acquire);
        if ((v & 1u) != lap_bit(s, head))
            break; /* empty, or a producer has reserved but not published */
        out[n++] = (void *)(v & ~(uintptr_t)1);
        head++;
    }
    /* Publishing the new head frees the slots: release orders it after the
     * reads above. */
    if (n)
        atomic_store_explicit(&s->head, head, memory_order_release);
    return n;
}

size_t ctel__span_queue_pop(ctel__span_queue *q, void **out, size_t max)
{
    size_t n = 0;
    /* Rotate the starting shard so one busy thread cannot starve others. */
    for (uint32_t i = 0; i < q->nshards && n < max; i++) {
        uint32_t idx = (q->next_consumer_shard + i) & (q->nshards - 1);
        n += shard_pop(&q->shards[idx], out + n, max - n);
    }
    q->next_consumer_shard = (q->next_consumer_shard + 1) & (q->nshards - 1);
    return n;
}

void ctel__span_queue_abandon(ctel__span_queue *q, void (*release)(void *item))
{
    for (uint32_t i = 0; i < q->nshards; i++) {
        ctel__queue_shard *sh = &q->shards[i];
        uint64_t head = atomic_load_explicit(&sh->head, memory_order_relaxed);
        uint64_t tail = atomic_load_explicit(&sh->tail, memory_order_relaxed);
        for (uint64_t pos = head; pos != tail; pos++) {
            uintptr_t v = atomic_load_explicit(&sh->slots[pos & sh->mask], memory_order_relaxed);
            if ((v & 1u) == lap_bit(sh, pos))
                release((void *)(v & ~(uintptr_t)1));
        }
        empty_slots(sh);
        atomic_store_explicit(&sh->head, 0, memory_order_relaxed);
        atomic_store_explicit(&sh->tail, 0, memory_order_relaxed);
    }
    q->next_consumer_shard = 0;
}

uint64_t ctel__span_queue_size(const ctel__span_queue *q)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < q->nshards; i++) {
        const ctel__queue_shard *s = &q->shards[i];
        uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
        uint64_t tail = atomic_load_explicit(&s->tail, memory_order_acquire);
        total += tail > head ? tail - head : 0;
    }
    return total;
}

uint64_t ctel__span_queue_pushed(const ctel__span_queue *q)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < q->nshards; i++)
        total += atomic_load_explicit(&q->shards[i].tail, memory_order_acquire);
    return total;
}
