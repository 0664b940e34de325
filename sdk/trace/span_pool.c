/* sdk/trace/span_pool.c — recycling span records without locks on the hot
 * path, and without moving them between cores.
 *
 * Each thread keeps two magazines (stacks of up to CTEL__MAG_SIZE records)
 * and has a home depot (one of CTEL__POOL_HOMES, assigned round-robin). Span
 * start pops from the thread's magazines; only when both are empty does it
 * trade a whole magazine with its home depot under that depot's mutex: one
 * lock per 64 spans.
 *
 * The export worker returns each record to the depot of the thread that
 * ended it (the home travels with the queued pointer), so a record's memory
 * goes back to the core that last wrote it instead of bouncing between
 * application threads. Once the pool holds as many records as are in
 * flight, nothing is allocated. A thread that exits hands its magazines back.
 */
#include "sdk/internal.h"
#include "sdk/trace/span_internal.h"

#include <pthread.h>

typedef ctel__magazine magazine;

typedef struct depot {
    _Alignas(CTEL_CACHELINE) pthread_mutex_t lock;
    magazine *full;  /* magazines with CTEL__MAG_SIZE records */
    magazine *empty; /* magazines with none */
} depot;

static depot g_depots[CTEL__POOL_HOMES];
static pthread_once_t g_depots_once = PTHREAD_ONCE_INIT;
static _Atomic uint32_t g_next_home;

typedef ctel__thread_cache thread_cache;

CTEL__TLS ctel__thread_cache ctel__t_cache;
#define t_cache ctel__t_cache
/* The worker's partly filled magazines, one per home it returns records to. */
static CTEL__TLS magazine *t_returns[CTEL__POOL_HOMES];
static pthread_key_t g_exit_key;

void ctel__span_free_chunks(ctel_span *s)
{
    ctel__chunk *c = s->chunks;
    while (c) {
        ctel__chunk *next = c->next;
        ctel__free(c);
        c = next;
    }
    s->chunks = NULL;
}

static void free_records(magazine *m)
{
    for (uint32_t i = 0; i < m->n; i++) {
        ctel_span *s = m->items[i];
        ctel__span_free_chunks(s);
        ctel__free(s->mem);
    }
    m->n = 0;
}

/* Called with d->lock held. */
static void depot_put(depot *d, magazine *m)
{
    if (m->n != CTEL__MAG_SIZE && m->n != 0) {
        /* Partial magazines only come from exiting threads: free their
         * records rather than track odd sizes. */
        free_records(m);
    }
    if (m->n == CTEL__MAG_SIZE) {
        m->next = d->full;
        d->full = m;
    } else {
        m->next = d->empty;
        d->empty = m;
    }
}

static void thread_exit(void *arg)
{
    (void)arg;
    depot *d = &g_depots[t_cache.home];
    pthread_mutex_lock(&d->lock);
    if (t_cache.cur)
        depot_put(d, t_cache.cur);
    if (t_cache.spare)
        depot_put(d, t_cache.spare);
    pthread_mutex_unlock(&d->lock);
    t_cache.cur = t_cache.spare = NULL;
    for (uint32_t h = 0; h < CTEL__POOL_HOMES; h++) {
        if (!t_returns[h])
            continue;
        pthread_mutex_lock(&g_depots[h].lock);
        depot_put(&g_depots[h], t_returns[h]);
        pthread_mutex_unlock(&g_depots[h].lock);
        t_returns[h] = NULL;
    }
}

static void init_depots(void)
{
    for (uint32_t h = 0; h < CTEL__POOL_HOMES; h++)
        pthread_mutex_init(&g_depots[h].lock, NULL);
    (void)pthread_key_create(&g_exit_key, thread_exit);
}

/* fork(): the depots' locks are held across it (taken after ctel's threads
 * are parked), so the child never inherits one locked by a thread it does
 * not have; the child re-initialises them. */
void ctel__span_pool_fork_lock(void)
{
    pthread_once(&g_depots_once, init_depots);
    for (uint32_t h = 0; h < CTEL__POOL_HOMES; h++)
        pthread_mutex_lock(&g_depots[h].lock);
}

void ctel__span_pool_fork_unlock(void)
{
    for (uint32_t h = CTEL__POOL_HOMES; h-- > 0;)
        pthread_mutex_unlock(&g_depots[h].lock);
}

void ctel__span_pool_fork_child(void)
{
    for (uint32_t h = 0; h < CTEL__POOL_HOMES; h++)
        pthread_mutex_init(&g_depots[h].lock, NULL);
}

static void register_thread(void)
{
    pthread_once(&g_depots_once, init_depots);
    t_cache.home = (uint8_t)(atomic_fetch_add_explicit(&g_next_home, 1, memory_order_relaxed) %
                             CTEL__POOL_HOMES);
    /* Any non-NULL value makes the destructor run at thread exit. */
    (void)pthread_setspecific(g_exit_key, &t_cache);
    t_cache.registered = true;
}

static magazine *new_magazine(void)
{
    magazine *m = ctel__malloc(sizeof *m);
    if (m) {
        m->next = NULL;
        m->n = 0;
    }
    return m;
}

/* A record on a cache line of its own (the allocator hook only promises
 * malloc's alignment). */
static ctel_span *new_record(void)
{
    char *mem = ctel__malloc(sizeof(ctel_span) + CTEL__SPAN_ALIGN - 1);
    if (!mem)
        return NULL;
    uintptr_t p = ((uintptr_t)mem + CTEL__SPAN_ALIGN - 1) & ~(uintptr_t)(CTEL__SPAN_ALIGN - 1);
    ctel_span *s = (ctel_span *)p;
    s->mem = mem;
    s->chunks = NULL;
    return s;
}

/* Takes a full magazine from depot `d`, giving `give` (empty, may be NULL)
 * in exchange. */
static magazine *trade_full(depot *d, magazine *give)
{
    pthread_mutex_lock(&d->lock);
    magazine *full = d->full;
    if (full) {
        d->full = full->next;
        if (give) {
            give->next = d->empty;
            d->empty = give;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return full;
}

ctel_span *ctel__span_pool_get_slow(void)
{
    thread_cache *tc = &t_cache;
    if (tc->spare && tc->spare->n) {
        magazine *t = tc->cur;
        tc->cur = tc->spare;
        tc->spare = t;
        return tc->cur->items[--tc->cur->n];
    }
    if (!tc->registered)
        register_thread();
    /* Home first; then take from the others before allocating, so records
     * that went to another home are not stranded there. */
    for (uint32_t i = 0; i < CTEL__POOL_HOMES; i++) {
        magazine *full = trade_full(&g_depots[(tc->home + i) % CTEL__POOL_HOMES], tc->cur);
        if (full) {
            tc->cur = full;
            return full->items[--full->n];
        }
    }
    return new_record();
}

/* Pushes a full magazine into depot `d` and returns an empty one (taken from
 * the depot or allocated; NULL when out of memory). */
static magazine *swap_full_for_empty(depot *d, magazine *full)
{
    pthread_mutex_lock(&d->lock);
    full->next = d->full;
    d->full = full;
    magazine *empty = d->empty;
    if (empty)
        d->empty = empty->next;
    pthread_mutex_unlock(&d->lock);
    if (!empty)
        empty = new_magazine();
    if (empty)
        empty->n = 0;
    return empty;
}

static void drop_record(ctel_span *s)
{
    ctel__span_free_chunks(s);
    ctel__free(s->mem);
}

void ctel__span_pool_put_slow(ctel_span *s)
{
    thread_cache *tc = &t_cache;
    if (tc->spare && tc->spare->n < CTEL__MAG_SIZE) {
        magazine *t = tc->cur;
        tc->cur = tc->spare;
        tc->spare = t;
        tc->cur->items[tc->cur->n++] = s;
        return;
    }
    if (!tc->registered)
        register_thread();
    if (!tc->cur || !tc->spare) {
        magazine *m = new_magazine();
        if (!m) {
            drop_record(s);
            return;
        }
        if (tc->cur)
            tc->spare = tc->cur;
        tc->cur = m;
        m->items[m->n++] = s;
        return;
    }
    /* Both full: one goes to the home depot. */
    magazine *empty = swap_full_for_empty(&g_depots[tc->home], tc->cur);
    tc->cur = empty;
    if (!empty) {
        drop_record(s);
        return;
    }
    empty->items[empty->n++] = s;
}

void ctel__span_pool_return(ctel_span *s, unsigned home)
{
    home %= CTEL__POOL_HOMES;
    magazine *m = t_returns[home];
    if (CTEL_LIKELY(m && m->n < CTEL__MAG_SIZE)) {
        m->items[m->n++] = s;
        return;
    }
    if (!t_cache.registered)
        register_thread();
    m = m ? swap_full_for_empty(&g_depots[home], m) : new_magazine();
    t_returns[home] = m;
    if (!m) {
        drop_record(s);
        return;
    }
    m->items[m->n++] = s;
}

void ctel__span_pool_trim(void)
{
    pthread_once(&g_depots_once, init_depots);
    for (uint32_t h = 0; h < CTEL__POOL_HOMES; h++) {
        depot *d = &g_depots[h];
        pthread_mutex_lock(&d->lock);
        magazine *full = d->full, *empty = d->empty;
        d->full = d->empty = NULL;
        pthread_mutex_unlock(&d->lock);
        while (full) {
            magazine *next = full->next;
            free_records(full);
            ctel__free(full);
            full = next;
        }
        while (empty) {
            magazine *next = empty->next;
            ctel__free(empty);
            empty = next;
        }
    }
    /* The calling thread's own caches go too. */
    thread_cache *tc = &t_cache;
    magazine *mine[2 + CTEL__POOL_HOMES] = {tc->cur, tc->spare};
    tc->cur = tc->spare = NULL;
    for (uint32_t h = 0; h < CTEL__POOL_HOMES; h++) {
        mine[2 + h] = t_returns[h];
        t_returns[h] = NULL;
    }
    for (size_t i = 0; i < CTEL_ARRAY_LEN(mine); i++) {
        if (mine[i]) {
            free_records(mine[i]);
            ctel__free(mine[i]);
        }
    }
}
