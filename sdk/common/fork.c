/* sdk/common/fork.c — the fork registry and its pthread_atfork handlers
 * (see fork.h). */
#include "sdk/common/fork.h"

#include <unistd.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static ctel__fork_entry *g_head; /* under g_lock */
static int64_t g_parent_pid;     /* set in prepare, under g_lock */

static void run_pass(int pass, uint64_t deadline_ns)
{
    for (int rank = 0; rank < CTEL__FORK_RANKS; rank++) {
        for (ctel__fork_entry *e = g_head; e; e = e->next) {
            if ((int)e->rank != rank)
                continue;
            const ctel__fork_ops *ops = e->ops;
            switch (pass) {
            case 0:
                if (ops->park)
                    ops->park(e->obj, deadline_ns);
                break;
            case 1:
                if (ops->lock)
                    ops->lock(e->obj);
                break;
            case 2:
                if (ops->parent)
                    ops->parent(e->obj);
                break;
            default:
                if (ops->child)
                    ops->child(e->obj);
                break;
            }
        }
    }
}

static void on_prepare(void)
{
    pthread_mutex_lock(&g_lock);
    g_parent_pid = (int64_t)getpid();
    /* One budget for all objects: a fork must not take N times as long. */
    run_pass(0, ctel__deadline_ns(CTEL__FORK_PARK_MS));
    run_pass(1, 0);
    /* Global locks last: application threads may still take them briefly.
     * The log lock first: a user's log handler (run under it) may end spans,
     * which takes a pool lock; the pool never logs under its locks. */
    ctel__log_fork_lock();
    ctel__handoff_fork_lock();
    ctel__span_pool_fork_lock();
}

static void on_parent(void)
{
    ctel__span_pool_fork_unlock();
    ctel__handoff_fork_unlock();
    ctel__log_fork_unlock();
    run_pass(2, 0);
    pthread_mutex_unlock(&g_lock);
}

static void on_child(void)
{
    /* first: the child hooks release records into the pool and log */
    ctel__log_fork_child();
    ctel__clock_fork_child();
    ctel__span_pool_fork_child();
    ctel__handoff_fork_child_global();
    run_pass(3, 0);
    ctel__fork_reinit_mutex(&g_lock);
}

static void install(void)
{
    int err = pthread_atfork(on_prepare, on_parent, on_child);
    if (err != 0) {
        ctel__log(CTEL_LOG_WARN,
                  "fork: pthread_atfork failed (%s); after fork() a child "
                  "would inherit ctel's queues without its threads",
                  strerror(err));
    }
}

void ctel__fork_register(ctel__fork_entry *e, ctel__fork_rank rank, const ctel__fork_ops *ops,
                         void *obj)
{
    pthread_once(&g_once, install);
    pthread_mutex_lock(&g_lock);
    if (!e->registered) {
        e->rank = rank;
        e->ops = ops;
        e->obj = obj;
        e->prev = NULL;
        e->next = g_head;
        if (g_head)
            g_head->prev = e;
        g_head = e;
        e->registered = true;
    }
    pthread_mutex_unlock(&g_lock);
}

void ctel__fork_unregister(ctel__fork_entry *e)
{
    pthread_mutex_lock(&g_lock);
    if (e->registered) {
        if (e->prev)
            e->prev->next = e->next;
        else
            g_head = e->next;
        if (e->next)
            e->next->prev = e->prev;
        e->prev = e->next = NULL;
        e->registered = false;
    }
    pthread_mutex_unlock(&g_lock);
}

int64_t ctel__fork_parent_pid(void)
{
    return g_parent_pid;
}

void ctel__fork_reinit_mutex(pthread_mutex_t *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(m, NULL);
}

void ctel__fork_reinit_cond(pthread_cond_t *c, bool monotonic)
{
    memset(c, 0, sizeof *c);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    if (monotonic)
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
}
