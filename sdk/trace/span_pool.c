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
 *
 * A batch processor asked to preallocate (ctel_batch_options.preallocate)
 * puts records for its whole queue into the depots up front
 * (ctel__span_pool_reserve), so the pool never has to grow while spans pile
 * up behind a slow export worker.
 */
#include "sdk/internal.h"
#include "sdk/trace/span_internal.h"

#include <pthread.h>

typedef ctel__magazine magazine;

typedef struct depot {
    _Alignas(CTEL_CACHELINE) pthread_mutex_t lock;
    magazine *full;  /* magazines with CTEL__MAG_SIZE records */
    magazine *empty; /* magazines with none */
    /* Written under lock; read without it only to skip a depot with no
     * empty magazine when looking for one elsewhere. */
    _Atomic uint32_t nempty;
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
/* Records allocated and not yet freed (slow paths only). */
static _Atomic size_t g_records;

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
    atomic_fetch_sub_explicit(&g_records, m->n, memory_order_relaxed);
    m->n = 0;
}

/* Frees a chain of magazines (linked by `next`) and their records. */
static void free_magazines(magazine *m)
{
    while (m) {
        magazine *next = m->next;
        free_records(m);
        ctel__free(m->mem);
        m = next;
    }
}

/* Called with d->lock held. */
static void push_empty(depot *d, magazine *m)
{
    m->n = 0;
    m->next = d->empty;
    d->empty = m;
    atomic_store_explicit(&d->nempty, atomic_load_explicit(&d->nempty, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Called with d->lock held. */
static magazine *pop_empty(depot *d)
{
    magazine *m = d->empty;
    if (m) {
        d->empty = m->next;
        atomic_store_explicit(&d->nempty,
                              atomic_load_explicit(&d->nempty, memory_order_relaxed) - 1,
                              memory_order_relaxed);
    }
    return m;
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
        push_empty(d, m);
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

/* `size` bytes starting on a cache line (the allocator hook only promises
 * malloc's alignment); *mem receives the allocation to free. */
static void *line_alloc(size_t size, void **mem)
{
    char *raw = ctel__malloc(size + CTEL_CACHELINE - 1);
    *mem = raw;
    if (!raw)
        return NULL;
    return (void *)(((uintptr_t)raw + CTEL_CACHELINE - 1) & ~(uintptr_t)(CTEL_CACHELINE - 1));
}

static magazine *new_magazine(void)
{
    void *mem;
    magazine *m = line_alloc(sizeof(magazine), &mem);
    if (!m)
        return NULL;
    m->mem = mem;
    m->next = NULL;
    m->n = 0;
    m->home = 0;
    m->taken = 0;
    return m;
}

/* A record on a cache line of its own. */
_Static_assert(CTEL__SPAN_ALIGN == CTEL_CACHELINE, "records are line-aligned");
static ctel_span *new_record(void)
{
    void *mem;
    ctel_span *s = line_alloc(sizeof(ctel_span), &mem);
    if (!s)
        return NULL;
    s->mem = mem;
    s->chunks = NULL;
    atomic_fetch_add_explicit(&g_records, 1, memory_order_relaxed);
    return s;
}

/* An empty magazine: from depot `home`, else from another depot (empties
 * drift to the depots threads took full magazines from), else a new one.
 * NULL when out of memory. The first pass skips depots whose count says
 * they have none; the count is read without the lock, so before allocating
 * a second pass looks under each lock (only while the pool grows). */
static magazine *take_empty(uint32_t home)
{
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < CTEL__POOL_HOMES; i++) {
            depot *d = &g_depots[(home + i) % CTEL__POOL_HOMES];
            if (pass == 0 && !atomic_load_explicit(&d->nempty, memory_order_relaxed))
                continue;
            pthread_mutex_lock(&d->lock);
            magazine *m = pop_empty(d);
            pthread_mutex_unlock(&d->lock);
            if (m)
                return m;
        }
    }
    return new_magazine();
}

/* Takes a full magazine from depot `d`, giving `give` (empty, may be NULL)
 * in exchange. */
static magazine *trade_full(depot *d, magazine *give)
{
    pthread_mutex_lock(&d->lock);
    magazine *full = d->full;
    if (full) {
        d->full = full->next;
        if (give)
            push_empty(d, give);
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
    /* An empty `cur` is kept as the spare when there is none: the thread's
     * next block (ctel__span_pool_take_block) then costs no depot visit. */
    magazine *give = tc->cur;
    if (give && !tc->spare) {
        tc->spare = give;
        give = NULL;
    }
    /* Home first; then take from the others before allocating, so records
     * that went to another home are not stranded there. */
    for (uint32_t i = 0; i < CTEL__POOL_HOMES; i++) {
        magazine *full = trade_full(&g_depots[(tc->home + i) % CTEL__POOL_HOMES], give);
        if (full) {
            tc->cur = full;
            return full->items[--full->n];
        }
    }
    if (!give) { /* as it was: the empty magazine stays current */
        tc->cur = tc->spare;
        tc->spare = NULL;
    }
    return new_record();
}

/* Pushes a full magazine into depot `home` and returns an empty one (see
 * take_empty; NULL when out of memory). */
static magazine *swap_full_for_empty(uint32_t home, magazine *full)
{
    depot *d = &g_depots[home];
    pthread_mutex_lock(&d->lock);
    full->next = d->full;
    d->full = full;
    magazine *empty = pop_empty(d);
    pthread_mutex_unlock(&d->lock);
    if (!empty)
        empty = take_empty(home);
    if (empty)
        empty->n = 0;
    return empty;
}

static void drop_record(ctel_span *s)
{
    ctel__span_free_chunks(s);
    ctel__free(s->mem);
    atomic_fetch_sub_explicit(&g_records, 1, memory_order_relaxed);
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
        magazine *m = take_empty(tc->home);
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
    magazine *empty = swap_full_for_empty(tc->home, tc->cur);
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
    m = m ? swap_full_for_empty(home, m) : take_empty(home);
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
        atomic_store_explicit(&d->nempty, 0, memory_order_relaxed);
        pthread_mutex_unlock(&d->lock);
        free_magazines(full);
        free_magazines(empty);
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
            mine[i]->next = NULL; /* a thread's own, on no chain */
            free_magazines(mine[i]);
        }
    }
}

ctel_status ctel__span_pool_reserve(size_t records, size_t empties)
{
    pthread_once(&g_depots_once, init_depots);
    size_t nfull = (records + CTEL__MAG_SIZE - 1) / CTEL__MAG_SIZE;
    /* Everything is allocated before the depots see any of it, so a failure
     * leaves the pool as it was. */
    magazine *list = NULL;
    for (size_t i = 0; i < nfull + empties; i++) {
        magazine *m = new_magazine();
        if (!m)
            goto fail;
        m->next = list;
        list = m;
        while (i < nfull && m->n < CTEL__MAG_SIZE) {
            ctel_span *s = new_record();
            if (!s)
                goto fail;
            m->items[m->n++] = s;
        }
    }
    /* Spread over the homes: a thread takes from its own depot first and
     * from the others when that one is empty. */
    for (uint32_t h = 0; list; h = (h + 1) % CTEL__POOL_HOMES) {
        magazine *m = list;
        list = m->next;
        depot *d = &g_depots[h];
        pthread_mutex_lock(&d->lock);
        depot_put(d, m);
        pthread_mutex_unlock(&d->lock);
    }
    return CTEL_OK;
fail:
    free_magazines(list);
    return CTEL_ERR_NO_MEMORY;
}

void ctel__span_pool_release(size_t records, size_t empties)
{
    pthread_once(&g_depots_once, init_depots);
    magazine *out = NULL;
    /* Take whole magazines, going round the depots, until enough or none. */
    for (bool took = true; took && (records || empties);) {
        took = false;
        for (uint32_t h = 0; h < CTEL__POOL_HOMES && (records || empties); h++) {
            depot *d = &g_depots[h];
            pthread_mutex_lock(&d->lock);
            magazine *m = NULL;
            if (records && d->full) {
                m = d->full;
                d->full = m->next;
                records = records > m->n ? records - m->n : 0;
            } else if (empties && (m = pop_empty(d)) != NULL) {
                empties--;
            }
            pthread_mutex_unlock(&d->lock);
            if (m) {
                m->next = out;
                out = m;
                took = true;
            }
        }
    }
    free_magazines(out);
}

size_t ctel__span_pool_records(void)
{
    return atomic_load_explicit(&g_records, memory_order_relaxed);
}

ctel__magazine *ctel__span_pool_take_block(void)
{
    if (!t_cache.registered)
        register_thread();
    magazine *m = t_cache.spare;
    if (m && m->n == 0)
        t_cache.spare = NULL;
    else
        m = take_empty(t_cache.home);
    if (m) {
        m->n = 0;
        m->taken = 0;
        m->home = t_cache.home;
    }
    return m;
}

void ctel__span_pool_give_block(ctel__magazine *m)
{
    pthread_once(&g_depots_once, init_depots);
    depot *d = &g_depots[m->home % CTEL__POOL_HOMES];
    pthread_mutex_lock(&d->lock);
    depot_put(d, m);
    pthread_mutex_unlock(&d->lock);
}
