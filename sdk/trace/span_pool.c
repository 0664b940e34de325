/* sdk/trace/span_pool.c — recycling span records without locks on the hot
 * path.
 *
 * Each thread keeps two magazines (stacks of up to CTEL__MAG_SIZE records).
 * Span start pops from them; the export worker pushes recycled records into
 * its own. Only when a thread's magazines are both empty (or both full) does
 * it trade a whole magazine with the global depot under a mutex: one lock per
 * 64 spans on each side, and no allocation once the pool has grown to the
 * number of spans in flight. A thread that exits hands its magazines back.
 */
#include "sdk/internal.h"
#include "sdk/trace/span_internal.h"

#include <pthread.h>

typedef ctel__magazine magazine;

static struct {
    pthread_mutex_t lock;
    magazine *full;  /* magazines with CTEL__MAG_SIZE records */
    magazine *empty; /* magazines with none */
} g_depot = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL};

typedef ctel__thread_cache thread_cache;

CTEL__TLS ctel__thread_cache ctel__t_cache;
#define t_cache ctel__t_cache
static pthread_key_t g_exit_key;
static pthread_once_t g_exit_once = PTHREAD_ONCE_INIT;

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
        ctel__free(s);
    }
    m->n = 0;
}

/* Called with the depot lock held. */
static void depot_put(magazine *m)
{
    if (m->n == CTEL__MAG_SIZE) {
        m->next = g_depot.full;
        g_depot.full = m;
    } else if (m->n == 0) {
        m->next = g_depot.empty;
        g_depot.empty = m;
    } else {
        /* Partially filled magazines only come from exiting threads: free
         * their records rather than track odd sizes. */
        free_records(m);
        m->next = g_depot.empty;
        g_depot.empty = m;
    }
}

static void thread_exit(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_depot.lock);
    if (t_cache.cur)
        depot_put(t_cache.cur);
    if (t_cache.spare)
        depot_put(t_cache.spare);
    pthread_mutex_unlock(&g_depot.lock);
    t_cache.cur = t_cache.spare = NULL;
}

static void make_key(void)
{
    (void)pthread_key_create(&g_exit_key, thread_exit);
}

static void register_thread(void)
{
    pthread_once(&g_exit_once, make_key);
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

static ctel_span *new_record(void)
{
    ctel_span *s = ctel__malloc(sizeof *s);
    if (s)
        s->chunks = NULL;
    return s;
}

ctel_span *ctel__span_pool_get_slow(void)
{
    thread_cache *tc = &t_cache;
    if (CTEL_LIKELY(tc->cur && tc->cur->n))
        return tc->cur->items[--tc->cur->n];
    if (tc->spare && tc->spare->n) {
        magazine *t = tc->cur;
        tc->cur = tc->spare;
        tc->spare = t;
        return tc->cur->items[--tc->cur->n];
    }
    if (!tc->registered)
        register_thread();
    /* Both empty (or missing): trade an empty magazine for a full one. */
    pthread_mutex_lock(&g_depot.lock);
    magazine *full = g_depot.full;
    if (full) {
        g_depot.full = full->next;
        if (tc->cur) {
            tc->cur->next = g_depot.empty;
            g_depot.empty = tc->cur;
        }
        tc->cur = full;
    }
    pthread_mutex_unlock(&g_depot.lock);
    if (full)
        return tc->cur->items[--tc->cur->n];
    return new_record();
}

void ctel__span_pool_put_slow(ctel_span *s)
{
    thread_cache *tc = &t_cache;
    if (CTEL_LIKELY(tc->cur && tc->cur->n < CTEL__MAG_SIZE)) {
        tc->cur->items[tc->cur->n++] = s;
        return;
    }
    if (tc->spare && tc->spare->n < CTEL__MAG_SIZE) {
        magazine *t = tc->cur;
        tc->cur = tc->spare;
        tc->spare = t;
        tc->cur->items[tc->cur->n++] = s;
        return;
    }
    if (!tc->registered)
        register_thread();
    if (!tc->cur) {
        tc->cur = new_magazine();
        if (!tc->cur) {
            ctel__span_free_chunks(s);
            ctel__free(s);
            return;
        }
        tc->cur->items[tc->cur->n++] = s;
        return;
    }
    if (!tc->spare) {
        tc->spare = tc->cur;
        tc->cur = new_magazine();
        if (!tc->cur) {
            tc->cur = tc->spare;
            tc->spare = NULL;
            ctel__span_free_chunks(s);
            ctel__free(s);
            return;
        }
        tc->cur->items[tc->cur->n++] = s;
        return;
    }
    /* Both full: give one to the depot, take an empty one back. */
    pthread_mutex_lock(&g_depot.lock);
    magazine *full = tc->cur;
    full->next = g_depot.full;
    g_depot.full = full;
    magazine *empty = g_depot.empty;
    if (empty)
        g_depot.empty = empty->next;
    pthread_mutex_unlock(&g_depot.lock);
    if (!empty)
        empty = new_magazine();
    tc->cur = empty;
    if (!empty) {
        ctel__span_free_chunks(s);
        ctel__free(s);
        return;
    }
    empty->n = 0;
    empty->items[empty->n++] = s;
}

void ctel__span_pool_trim(void)
{
    pthread_mutex_lock(&g_depot.lock);
    magazine *full = g_depot.full, *empty = g_depot.empty;
    g_depot.full = g_depot.empty = NULL;
    pthread_mutex_unlock(&g_depot.lock);
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
    /* The calling thread's own cache goes too. */
    thread_cache *tc = &t_cache;
    if (tc->cur) {
        free_records(tc->cur);
        ctel__free(tc->cur);
        tc->cur = NULL;
    }
    if (tc->spare) {
        free_records(tc->spare);
        ctel__free(tc->spare);
        tc->spare = NULL;
    }
}
