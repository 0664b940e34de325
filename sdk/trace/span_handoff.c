/* sdk/trace/span_handoff.c — ended spans handed to the export worker in
 * blocks of 64 (see span_handoff.h).
 *
 * Locks: the registry lock (g_lock) guards the list of live hand-offs and
 * each one's list of entries; an entry's lock guards which block the entry
 * holds (`out`) and the block's `taken`. Order: registry, then entry, then
 * the pool's depot locks. A thread takes its entry's lock once per full
 * block; the worker takes the registry lock and each entry's lock only when
 * it collects (flush, shutdown, the schedule delay).
 */
#include "sdk/trace/span_handoff.h"

#include <pthread.h>
#include <sched.h>

struct ctel__handoff_entry {
    pthread_mutex_t lock;
    ctel__magazine *out; /* the thread's block (under lock; the thread reads
                            it without, being its only writer) */
    bool exited;         /* the thread is gone: forget the entry */
    ctel__handoff_entry *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static ctel__handoff *g_live; /* under g_lock */
static _Atomic uint64_t g_next_id = 1;
static pthread_key_t g_exit_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

CTEL__TLS ctel__handoff_thread ctel__t_handoff;
#define t_handoff ctel__t_handoff

/* A thread that found its hand-off taken by another processor does not ask
 * again (under the registry lock) for this many of that processor's spans;
 * it remembers up to REFUSED_SLOTS such processors (a thread ending spans
 * for several SDKs in turn would otherwise ask for all but one each time). */
#define RETRY_AFTER 4096
#define REFUSED_SLOTS 4
static CTEL__TLS struct {
    uint64_t id;
    uint32_t left;
} t_refused[REFUSED_SLOTS];
static CTEL__TLS unsigned t_refused_next;

static void thread_exit(void *arg);

static void make_key(void)
{
    (void)pthread_key_create(&g_exit_key, thread_exit);
}

ctel_status ctel__handoff_init(ctel__handoff *h, uint64_t max_spans, uint64_t max_batch,
                               void (*wake)(void *ctx), void *ctx)
{
    memset(h, 0, sizeof *h);
    uint64_t blocks = max_spans / CTEL__MAG_SIZE;
    if (blocks < 2 || max_batch < CTEL__MAG_SIZE)
        return CTEL_OK; /* disabled: id 0 */
    ctel_status rc = ctel__span_queue_init(&h->queue, blocks);
    if (rc != CTEL_OK)
        return rc;
    h->orphan_wake = max_batch;
    h->orphan_limit = max_spans;
    h->wake = wake;
    h->wake_ctx = ctx;
    pthread_once(&g_key_once, make_key);
    h->id = atomic_fetch_add(&g_next_id, 1);
    pthread_mutex_lock(&g_lock);
    h->next = g_live;
    g_live = h;
    pthread_mutex_unlock(&g_lock);
    return CTEL_OK;
}

/* Called with g_lock held. */
static ctel__handoff *find_live(uint64_t id)
{
    for (ctel__handoff *h = g_live; h; h = h->next)
        if (h->id == id)
            return h;
    return NULL;
}

/* Spans in `m` the worker has not collected. */
static uint32_t untaken(const ctel__magazine *m)
{
    return m->n - m->taken;
}

/* Disposes of block `m`, which no entry holds any more and which will not
 * be queued. Spans the worker collected from it may still be in an export
 * that has not finished: such a block is left on the retired list, which
 * the worker gives back after its exports (ctel__handoff_release_retired).
 * `locked`: the caller holds g_lock. */
static void dispose(ctel__handoff *h, ctel__magazine *m, bool locked)
{
    if (m->taken == 0) {
        ctel__span_pool_give_block(m);
        return;
    }
    if (!locked)
        pthread_mutex_lock(&g_lock);
    m->next = h->retired;
    h->retired = m;
    if (!locked)
        pthread_mutex_unlock(&g_lock);
}

/* Queues block `m`, which no entry holds any more; when the queue is full
 * its untaken spans are dropped and counted, and it is disposed of.
 * Returns whether it was queued. */
static bool queue_block(ctel__handoff *h, ctel__magazine *m, bool locked, uint64_t *depth)
{
    /* counted before the push: the worker may pop it at once */
    uint32_t k = untaken(m);
    atomic_fetch_add_explicit(&h->queued_spans, k, memory_order_relaxed);
    if (ctel__span_queue_push(&h->queue, m, depth))
        return true;
    atomic_fetch_sub_explicit(&h->queued_spans, k, memory_order_relaxed);
    *depth = untaken(m);
    atomic_fetch_add_explicit(&h->dropped, untaken(m), memory_order_relaxed);
    dispose(h, m, locked);
    return false;
}

/* The calling thread's entry is marked for the worker to forget. Its block
 * stays in it for the worker to collect, unless exited threads already left
 * more than orphan_limit spans that way: then it is queued (or dropped and
 * counted when the queue is full). The worker is woken when the spans left
 * behind reach a batch; `wake` is called without g_lock (the worker's own
 * lock comes before g_lock, see sdk/common/fork.c), so destroy waits for
 * `exiting` to fall back to zero. */
static void thread_exit(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_lock);
    ctel__handoff *h = t_handoff.id ? find_live(t_handoff.id) : NULL;
    bool wake = false;
    if (h) {
        ctel__handoff_entry *e = t_handoff.entry;
        pthread_mutex_lock(&e->lock);
        ctel__magazine *m = e->out;
        uint64_t before = atomic_load_explicit(&h->orphaned, memory_order_relaxed);
        uint32_t left = m ? untaken(m) : 0;
        bool keep = left && before + left <= h->orphan_limit;
        if (!keep)
            e->out = NULL;
        e->exited = true;
        pthread_mutex_unlock(&e->lock);
        uint64_t depth;
        if (keep) {
            atomic_store_explicit(&h->orphaned, before + left, memory_order_relaxed);
            wake = before < h->orphan_wake && before + left >= h->orphan_wake && h->wake;
        } else if (left) {
            (void)queue_block(h, m, true, &depth);
        } else if (m) {
            dispose(h, m, true);
        }
        if (wake)
            h->exiting++;
    }
    t_handoff.id = 0;
    t_handoff.entry = NULL;
    t_handoff.block = NULL;
    pthread_mutex_unlock(&g_lock);
    if (wake) {
        h->wake(h->wake_ctx);
        pthread_mutex_lock(&g_lock);
        h->exiting--;
        pthread_mutex_unlock(&g_lock);
    }
}

/* Makes `h` the calling thread's hand-off, unless another live processor
 * has it. */
static bool attach(ctel__handoff *h)
{
    unsigned slot = t_refused_next;
    for (unsigned i = 0; i < REFUSED_SLOTS; i++) {
        if (t_refused[i].id != h->id)
            continue;
        if (t_refused[i].left) {
            t_refused[i].left--;
            return false;
        }
        slot = i; /* asks again below; a refusal reuses the slot */
    }
    t_handoff.registry_checks++;
    pthread_mutex_lock(&g_lock);
    if (t_handoff.id && find_live(t_handoff.id)) {
        pthread_mutex_unlock(&g_lock);
        if (slot == t_refused_next)
            t_refused_next = (t_refused_next + 1) % REFUSED_SLOTS;
        t_refused[slot].id = h->id;
        t_refused[slot].left = RETRY_AFTER;
        return false;
    }
    /* The thread's previous hand-off, if any, was destroyed with its entry. */
    ctel__handoff_entry *e = ctel__calloc(1, sizeof *e);
    if (!e) {
        pthread_mutex_unlock(&g_lock);
        return false;
    }
    pthread_mutex_init(&e->lock, NULL);
    e->next = h->entries;
    h->entries = e;
    t_handoff.id = h->id;
    t_handoff.entry = e;
    t_handoff.block = NULL;
    pthread_mutex_unlock(&g_lock);
    /* Any non-NULL value makes thread_exit run. */
    (void)pthread_setspecific(g_exit_key, &t_handoff);
    return true;
}

ctel__handoff_result ctel__handoff_put_slow(ctel__handoff *h, ctel_span *s, uint64_t *depth)
{
    if (h->id == 0)
        return CTEL__HANDOFF_UNAVAILABLE;
    if (t_handoff.id != h->id && !attach(h))
        return CTEL__HANDOFF_UNAVAILABLE;
    ctel__handoff_entry *e = t_handoff.entry;
    ctel__magazine *m = t_handoff.block;
    if (!m) {
        m = ctel__span_pool_take_block();
        if (!m)
            return CTEL__HANDOFF_UNAVAILABLE;
        pthread_mutex_lock(&e->lock);
        e->out = m;
        pthread_mutex_unlock(&e->lock);
        t_handoff.block = m;
    }
    uint32_t n = m->n;
    m->items[n] = s;
    __atomic_store_n(&m->n, n + 1, __ATOMIC_RELEASE);
    if (n + 1 < CTEL__MAG_SIZE)
        return CTEL__HANDOFF_KEPT;
    /* Full: swap in a fresh block (none when memory is short: the next span
     * tries again), then queue this one, which the worker can no longer
     * reach through the entry. */
    ctel__magazine *next = ctel__span_pool_take_block();
    pthread_mutex_lock(&e->lock);
    e->out = next;
    pthread_mutex_unlock(&e->lock);
    t_handoff.block = next;
    return queue_block(h, m, false, depth) ? CTEL__HANDOFF_PUSHED : CTEL__HANDOFF_DROPPED;
}

size_t ctel__handoff_pop(ctel__handoff *h, ctel__magazine **out, size_t max)
{
    if (h->id == 0)
        return 0;
    size_t n = ctel__span_queue_pop(&h->queue, (void **)out, max);
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += untaken(out[i]);
    if (k)
        atomic_fetch_sub_explicit(&h->queued_spans, k, memory_order_relaxed);
    return n;
}

size_t ctel__handoff_collect(ctel__handoff *h, ctel_span ***buf, size_t *cap)
{
    if (h->id == 0)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&g_lock);
    for (ctel__handoff_entry **pe = &h->entries; *pe;) {
        ctel__handoff_entry *e = *pe;
        pthread_mutex_lock(&e->lock);
        ctel__magazine *m = e->out;
        uint32_t taken_before = m ? m->taken : 0;
        if (m) {
            uint32_t end = __atomic_load_n(&m->n, __ATOMIC_ACQUIRE);
            if (end > m->taken && n + (end - m->taken) > *cap) {
                size_t want = (n + (end - m->taken)) * 2 + 64;
                ctel_span **grown = ctel__realloc(*buf, want * sizeof **buf);
                if (grown) {
                    *buf = grown;
                    *cap = want;
                }
            }
            while (m->taken < end && n < *cap)
                (*buf)[n++] = m->items[m->taken++];
        }
        /* An exited thread's entry goes once its block is all collected;
         * the block is disposed of like a full one (retired: its spans are
         * in this export). */
        bool gone = e->exited && (!m || m->taken == m->n);
        if (e->exited && m)
            atomic_store_explicit(&h->orphaned,
                                  atomic_load_explicit(&h->orphaned, memory_order_relaxed) -
                                      (m->taken - taken_before),
                                  memory_order_relaxed);
        pthread_mutex_unlock(&e->lock);
        if (gone) {
            *pe = e->next;
            if (m)
                dispose(h, m, true);
            pthread_mutex_destroy(&e->lock);
            ctel__free(e);
        } else {
            pe = &e->next;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return n;
}

void ctel__handoff_release_retired(ctel__handoff *h)
{
    if (h->id == 0)
        return;
    pthread_mutex_lock(&g_lock);
    ctel__magazine *m = h->retired;
    h->retired = NULL;
    pthread_mutex_unlock(&g_lock);
    while (m) {
        ctel__magazine *next = m->next;
        ctel__span_pool_give_block(m);
        m = next;
    }
}

uint64_t ctel__handoff_queued_blocks(const ctel__handoff *h)
{
    return h->id ? ctel__span_queue_size(&h->queue) : 0;
}

uint64_t ctel__handoff_waiting_spans(ctel__handoff *h)
{
    if (h->id == 0)
        return 0;
    uint64_t n = 0;
    pthread_mutex_lock(&g_lock);
    for (ctel__handoff_entry *e = h->entries; e; e = e->next) {
        pthread_mutex_lock(&e->lock);
        const ctel__magazine *m = e->out;
        if (m)
            n += __atomic_load_n(&m->n, __ATOMIC_ACQUIRE) - m->taken;
        pthread_mutex_unlock(&e->lock);
    }
    pthread_mutex_unlock(&g_lock);
    return n + atomic_load_explicit(&h->queued_spans, memory_order_relaxed);
}

static void give_back(void *item)
{
    ctel__span_pool_give_block(item);
}

void ctel__handoff_destroy(ctel__handoff *h, uint64_t *unexported)
{
    *unexported = 0;
    if (h->id == 0)
        return;
    pthread_mutex_lock(&g_lock);
    for (ctel__handoff **p = &g_live; *p; p = &(*p)->next) {
        if (*p == h) {
            *p = h->next;
            break;
        }
    }
    /* an exiting thread may still be waking the worker (gone by now) */
    while (h->exiting) {
        pthread_mutex_unlock(&g_lock);
        sched_yield();
        pthread_mutex_lock(&g_lock);
    }
    ctel__handoff_entry *e = h->entries;
    h->entries = NULL;
    pthread_mutex_unlock(&g_lock);
    ctel__handoff_release_retired(h);
    while (e) {
        ctel__handoff_entry *next = e->next;
        if (e->out) {
            *unexported += untaken(e->out);
            ctel__span_pool_give_block(e->out);
        }
        pthread_mutex_destroy(&e->lock);
        ctel__free(e);
        e = next;
    }
    ctel__magazine *left[64];
    size_t n;
    while ((n = ctel__span_queue_pop(&h->queue, (void **)left, CTEL_ARRAY_LEN(left))) > 0) {
        for (size_t i = 0; i < n; i++) {
            *unexported += untaken(left[i]);
            ctel__span_pool_give_block(left[i]);
        }
    }
    ctel__span_queue_destroy(&h->queue);
    h->id = 0;
}

void ctel__handoff_fork_lock(void)
{
    pthread_mutex_lock(&g_lock);
}

void ctel__handoff_fork_unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

void ctel__handoff_fork_child_global(void)
{
    ctel__fork_reinit_mutex(&g_lock);
    /* The forking thread's block, if any, is given back below with the
     * others: it holds the parent's spans. */
    t_handoff.block = NULL;
}

void ctel__handoff_fork_child(ctel__handoff *h)
{
    if (h->id == 0)
        return;
    for (ctel__handoff_entry *e = h->entries; e; e = e->next) {
        ctel__fork_reinit_mutex(&e->lock);
        if (e->out)
            ctel__span_pool_give_block(e->out);
        e->out = NULL;
        /* only the forking thread exists here */
        e->exited = e != t_handoff.entry;
    }
    ctel__span_queue_abandon(&h->queue, give_back);
    for (ctel__magazine *m = h->retired, *next; m; m = next) {
        next = m->next;
        ctel__span_pool_give_block(m);
    }
    h->retired = NULL;
    atomic_store(&h->orphaned, 0);
    atomic_store(&h->queued_spans, 0);
    h->exiting = 0;
}
