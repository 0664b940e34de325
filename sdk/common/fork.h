/* sdk/common/fork.h — fork() support: one pthread_atfork registration and a
 * registry of the live objects that own threads or connections (OTLP
 * exporters, deliveries, batch processors, SDKs).
 *
 * fork() copies only the calling thread. Around it ctel:
 *   prepare  parks every sender and batch worker outside any lock and any
 *            send (an HTTP attempt in progress is interrupted and its request
 *            put back, uncounted), then takes the locks that must be free in
 *            the child;
 *   parent   releases them and lets the threads run on;
 *   child    re-initialises locks and condition variables, drops what the
 *            parent owned (queued spans and requests, counters, kept-alive
 *            connections, the disk spill) and starts fresh threads; the SDK's
 *            resource gets the child's process.pid.
 * Parking is bounded: a thread that does not park within
 * CTEL__FORK_PARK_MS (all objects together) is reported, and its object is
 * treated as shut down in the child (its thread may have been in the middle
 * of a call whose state the child cannot trust).
 *
 * Hooks run in the forking thread with the registry lock held, so they must
 * not register or unregister anything. In the child only that thread exists
 * and no other ctel code runs until the hooks return. */
#ifndef CTEL_COMMON_FORK_H
#define CTEL_COMMON_FORK_H

#include "sdk/internal.h"

#include <pthread.h>

#define CTEL__FORK_PARK_MS 2000

/* Hook order: every pass runs over the ranks in this order. Exporters come
 * first so that their transports are marked as pausing before the
 * deliveries interrupt them, and are fresh before the senders restart. */
typedef enum ctel__fork_rank {
    CTEL__FORK_RANK_EXPORTER = 0,
    CTEL__FORK_RANK_DELIVERY = 1,
    CTEL__FORK_RANK_PROCESSOR = 2,
    CTEL__FORK_RANK_SDK = 3,
    CTEL__FORK_RANKS
} ctel__fork_rank;

typedef struct ctel__fork_ops {
    /* prepare, first pass: stop the object's thread at a safe point, waiting
     * at most until `deadline_ns` (monotonic). May take and release the
     * object's own locks. */
    void (*park)(void *obj, uint64_t deadline_ns);
    /* prepare, second pass: take the locks that stay held across fork(). */
    void (*lock)(void *obj);
    /* after fork() in the parent: release them, resume the thread. */
    void (*parent)(void *obj);
    /* after fork() in the child: see above. */
    void (*child)(void *obj);
} ctel__fork_ops;

typedef struct ctel__fork_entry {
    struct ctel__fork_entry *prev, *next;
    const ctel__fork_ops *ops;
    void *obj;
    ctel__fork_rank rank;
    bool registered;
} ctel__fork_entry;

/* Adds `e` (embedded in `obj`) to the registry; the first call installs the
 * pthread_atfork handlers. Idempotent. Not from a fork hook. */
void ctel__fork_register(ctel__fork_entry *e, ctel__fork_rank rank, const ctel__fork_ops *ops,
                         void *obj);
/* Removes `e` (no-op if not registered). Waits for a fork in progress. */
void ctel__fork_unregister(ctel__fork_entry *e);

/* In a child hook: the pid of the process that forked (taken in prepare). */
int64_t ctel__fork_parent_pid(void);

/* Re-initialises a mutex / a condition variable in a forked child, whatever
 * state the parent's threads left it in (never destroyed: a thread that no
 * longer exists may be counted as its owner or waiter). */
void ctel__fork_reinit_mutex(pthread_mutex_t *m);
void ctel__fork_reinit_cond(pthread_cond_t *c, bool monotonic);

/* A copy of `r` whose process.pid is `pid` — only when `r` carries
 * process.pid == `old_pid` (a pid the user set to something else is kept):
 * *out is then a new reference; else *out is NULL. CTEL_ERR_NO_MEMORY.
 * (sdk/resource/resource.c) */
ctel_status ctel__resource_replace_pid(const ctel_resource *r, int64_t old_pid, int64_t pid,
                                       ctel_resource **out);

#endif
