/* sdk/pipeline/delivery_internal.h — the delivery's state, shared by its
 * files and by no one else:
 *   delivery.c         the API, the snapshot readers copy, create/destroy;
 *   delivery_sender.c  the sender thread: attempts, retries, breaker, spill
 *                      and replay;
 *   delivery_fork.c    the fork hooks.
 * Every field is guarded by `lock` unless its comment says otherwise. */
#ifndef CTEL_PIPELINE_DELIVERY_INTERNAL_H
#define CTEL_PIPELINE_DELIVERY_INTERNAL_H

#include "sdk/pipeline/delivery.h"

#include <pthread.h>

#include "sdk/common/fork.h"
#include "sdk/pipeline/breaker.h"
#include "sdk/pipeline/spill.h"

typedef struct request {
    struct request *next;
    char *data;
    size_t len;
    size_t cap; /* of data, for recycling */
    uint32_t items;
    uint32_t budget_ms; /* all attempts; 0: no limit but the attempt count */
    uint64_t seq;       /* submit order (fresh requests), for flush */
    bool from_spill;
    uint64_t token; /* spill record, when from_spill */
} request;

/* A FIFO of requests with their total size and items. */
typedef struct req_list {
    request *head, *tail;
    size_t bytes;
    uint64_t items;
} req_list;

struct ctel__delivery {
    ctel__delivery_options opts;
    char *name;
    ctel__delivery_transport tr;
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t lock;
    pthread_cond_t wake; /* the sender waits here */
    pthread_cond_t idle; /* flush/shutdown wait here */
    req_list queue; /* oldest first, bounded by opts.max_queue_bytes */
    uint64_t in_flight_items; /* fresh request being sent */
    bool busy;                /* the sender holds a request */
    /* Overflow: requests that found the queue full while the sender was
     * busy with the disk, waiting for it to write them to the spill (only
     * with one); in flight meanwhile. Bounded like the queue. */
    req_list overflow;
    bool overflow_turn; /* the sender writes an overflow request next */
    /* Requests being written to disk with the lock let go (linked by
     * `next`: the sender's, and a submitter's when the disk was idle), and
     * how many. */
    request *writing;
    uint32_t spilling;
    bool reading; /* the sender peeks or consumes with the lock let go */
    /* Items handed to spill writes, ever; the spill's written + refused
     * items fall behind it by those on their way (in flight). */
    uint64_t spill_requested_items;
    /* Items the spill counts as replayed (consumed) that the sender has
     * settled as delivered, rejected or dropped; behind the spill's count
     * while a consume runs with the lock let go (in flight). */
    uint64_t replay_settled_items;
    uint64_t next_seq;        /* of the next submitted request */
    bool in_backoff;          /* the sender waits out a backoff / Retry-After */
    uint64_t in_flight_seq;   /* fresh request being delivered; 0: none */
    uint64_t replay_failing;  /* token of a replayed record that keeps failing */
    uint32_t replay_failures;
    uint64_t settled_at_stop; /* spilled + dropped when shutdown began */
    bool stopping;            /* shutdown requested */
    uint64_t stop_deadline_ns;
    bool abort;         /* the shutdown deadline passed: stop now */
    bool exited;        /* the sender thread has finished */
    bool shutdown_done; /* shutdown was called */

    ctel__breaker breaker;
    ctel__spill *spill;
    uint64_t next_replay_ns;
    bool replay_turn;
    uint64_t rng;
    ctel__delivery_stats st; /* counters owned here; spill ones merged on read */
    /* Request buffers kept for the next encode: without them every batch
     * would map and unmap ~100 KB, and the page faults and TLB shootdowns
     * land on the application's threads too. */
    struct {
        char *data;
        size_t cap;
    } spare[4];
    int nspare;

    /* What stats and readiness readers see (see publish): guarded by
     * pub_lock, a leaf lock held only to copy. */
    pthread_mutex_t pub_lock;
    ctel__delivery_stats pub;
    uint64_t pub_open_until_ns; /* the breaker's cool-down end while open; else 0 */

    /* fork() (see sdk/common/fork.h), all under lock */
    ctel__fork_entry fork_entry;
    bool pause;            /* prepare asks the sender to park */
    bool parked;           /* it waits in its park: no lock, no send, no request */
    bool fork_parked;      /* prepare saw it park (or exit) in time */
    bool fork_interrupted; /* prepare turned the transport's interrupt on */
    uint32_t pauses;       /* forks begun: an attempt that straddles one is paused */
    char *spill_dir;       /* owned copy: a forked child opens a spill of its own */
    ctel__spill_options spill_opts;
};

/* Wait on `cv` until the monotonic time `until_ns` (UINT64_MAX: no limit). */
static inline void wait_until(pthread_cond_t *cv, pthread_mutex_t *m, uint64_t until_ns)
{
    if (until_ns == UINT64_MAX) {
        pthread_cond_wait(cv, m);
        return;
    }
    /* The condition variables use CLOCK_MONOTONIC (see create). */
    struct timespec ts = {(time_t)(until_ns / 1000000000u), (long)(until_ns % 1000000000u)};
    pthread_cond_timedwait(cv, m, &ts);
}

/* Puts a request back at the head of `l` (it is the oldest). Lock held. */
static inline void list_push_head(req_list *l, request *r)
{
    r->next = l->head;
    l->head = r;
    if (!l->tail)
        l->tail = r;
    l->bytes += r->len;
    l->items += r->items;
}

/* Appends a request to `l` (it is the newest). Lock held. */
static inline void list_append(req_list *l, request *r)
{
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->bytes += r->len;
    l->items += r->items;
}

/* Takes the oldest request off `l` (NULL: empty). Lock held. */
static inline request *list_pop(req_list *l)
{
    request *r = l->head;
    if (r) {
        l->head = r->next;
        if (!l->head)
            l->tail = NULL;
        r->next = NULL;
        l->bytes -= r->len;
        l->items -= r->items;
    }
    return r;
}

/* delivery.c */
void ctel__delivery_free_request(request *r);
/* Frees `r`, keeping its buffer for reuse when there is room. Lock held. */
void ctel__delivery_release_request(ctel__delivery *d, request *r);
/* Copies what stats and readiness readers see (see delivery.c). Lock held. */
void ctel__delivery_publish(ctel__delivery *d);
/* Publishes, unlocks, then logs what the breaker wanted to say. */
void ctel__delivery_unlock_and_log(ctel__delivery *d);
/* Opens the spill at d->spill_opts, or reports why not (d->spill NULL). */
void ctel__delivery_open_spill(ctel__delivery *d, bool forked_child);

/* delivery_sender.c */
/* Writes a request to disk; lock held, let go for the write (see there).
 * Takes `r`. */
void ctel__delivery_spill_request(ctel__delivery *d, request *r);
/* A write under way holds a request submitted at or before `seq` (UINT64_MAX:
 * any write). Lock held. */
bool ctel__delivery_writing_through(const ctel__delivery *d, uint64_t seq);
void *ctel__delivery_sender_main(void *arg);

/* delivery_fork.c */
extern const ctel__fork_ops ctel__delivery_fork_ops;

#endif
