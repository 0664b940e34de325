/* sdk/pipeline/delivery.c — the sender thread: queue, retry, breaker, spill,
 * replay, bounded shutdown, accounting. See delivery.h. */
#include "sdk/pipeline/delivery.h"

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "sdk/common/fork.h"
#include "sdk/pipeline/breaker.h"
#include "sdk/pipeline/spill.h"
#include "sdk/pipeline/spill_internal.h" /* spill_forget_after_fork */
#include "sdk/trace/config.h"           /* CTEL__DEFAULT_EXPORT_TIMEOUT_MS */

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

typedef enum outcome {
    OUT_DELIVERED,
    OUT_REJECTED,
    OUT_BREAKER_OPEN, /* no attempt allowed */
    OUT_EXHAUSTED,    /* retries or the deadline ran out */
    OUT_ABORTED,      /* shutdown interrupted it */
    OUT_PAUSED        /* a fork is parking the sender: not an attempt, try again */
} outcome;

struct ctel__delivery {
    ctel__delivery_options opts;
    char *name;
    ctel__delivery_transport tr;
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t lock;
    pthread_cond_t wake; /* the sender waits here */
    pthread_cond_t idle; /* flush/shutdown wait here */
    request *head, *tail;
    size_t queued_bytes;
    uint64_t queued_items;
    uint64_t in_flight_items; /* fresh request being sent */
    bool busy;                /* the sender holds a request */
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

static void free_request(request *r)
{
    if (r) {
        ctel__free(r->data);
        ctel__free(r);
    }
}

/* free_request, keeping the buffer for reuse when there is room. Lock held. */
static void release_request(ctel__delivery *d, request *r)
{
    if (r && r->data && r->cap && d->nspare < (int)(sizeof d->spare / sizeof d->spare[0])) {
        d->spare[d->nspare].data = r->data;
        d->spare[d->nspare].cap = r->cap;
        d->nspare++;
        r->data = NULL;
    }
    free_request(r);
}

/* Wait on `cv` until the monotonic time `until_ns` (UINT64_MAX: no limit). */
static void wait_until(pthread_cond_t *cv, pthread_mutex_t *m, uint64_t until_ns)
{
    if (until_ns == UINT64_MAX) {
        pthread_cond_wait(cv, m);
        return;
    }
    /* The condition variables use CLOCK_MONOTONIC (see create). */
    struct timespec ts = {(time_t)(until_ns / 1000000000u), (long)(until_ns % 1000000000u)};
    pthread_cond_timedwait(cv, m, &ts);
}

static void note_error(ctel__delivery *d, const ctel__send_result *res)
{
    d->st.last_http_status = res->http_status;
    snprintf(d->st.last_error, sizeof d->st.last_error, "%s", res->message);
}

/* ---- spill I/O -------------------------------------------------------------- */

/* Writes a request to disk. Called with the lock held, so that the items move
 * from "queued/in flight" to "on disk" in one step for stats readers (the
 * write lands in the page cache: no fsync per record). Takes `r`. */
static void spill_locked(ctel__delivery *d, request *r)
{
    if (ctel__spill_write(d->spill, r->data, r->len, r->items, ctel_now_unix_nano()) == CTEL_OK)
        d->st.spilled += r->items;
    /* a refused write is counted by the spill as dropped_full */
    release_request(d, r);
}

/* Copies the counters, the queue's size and the breaker's state for readers.
 * Stats and readiness are asked for by application threads and health
 * endpoints, which must never wait for what the delivery lock covers: disk
 * writes and fsyncs of the spill, and spill stats while the sender reads
 * the disk. So readers copy this snapshot under pub_lock instead, and every
 * thread that changes what they see publishes before it lets go of the
 * lock (unlock_and_log, sender_wait). Lock held; lock order: delivery, then
 * spill, then pub_lock. */
static void publish(ctel__delivery *d)
{
    ctel__delivery_stats s = d->st;
    s.queued = d->queued_items;
    s.queued_bytes = d->queued_bytes;
    s.in_flight = d->in_flight_items;
    s.breaker_state = d->breaker.state;
    s.breaker_opens = d->breaker.opens;
    s.next_attempt_unix_ns = 0; /* the reader's clock decides */
    if (d->spill) {
        ctel__spill_stats ss;
        ctel__spill_get_stats(d->spill, &ss);
        s.on_disk = ss.items_on_disk;
        s.dropped_spill_full = ss.items_dropped_full;
        s.dropped_spill_age = ss.items_dropped_age;
        s.corrupt_spill_records = ss.records_corrupt;
    }
    uint64_t open_until = ctel__breaker_next_attempt_ns(&d->breaker, 0);
    pthread_mutex_lock(&d->pub_lock);
    d->pub = s;
    d->pub_open_until_ns = open_until;
    pthread_mutex_unlock(&d->pub_lock);
}

/* Publishes, unlocks, then emits what the breaker wanted to say: the user's
 * log handler must never run under the delivery lock (it may ask for
 * stats). */
static void unlock_and_log(ctel__delivery *d)
{
    publish(d);
    ctel_log_level level;
    char msg[sizeof d->breaker.pending_log];
    bool have = ctel__breaker_take_log(&d->breaker, &level, msg, sizeof msg);
    pthread_mutex_unlock(&d->lock);
    if (have)
        ctel__log(level, "%s", msg);
}

/* The sender's waits: what it changed is published first. Lock held. */
static void sender_wait(ctel__delivery *d, uint64_t until_ns)
{
    publish(d);
    wait_until(&d->wake, &d->lock, until_ns);
}

/* The oldest spilled request, or NULL (none, or no spill). */
static request *peek_spill(ctel__delivery *d)
{
    if (!d->spill)
        return NULL;
    ctel__buf b = CTEL__BUF_INIT;
    uint32_t items = 0;
    uint64_t token = 0;
    if (ctel__spill_peek(d->spill, &b, &items, &token) != CTEL_OK) {
        ctel__buf_free(&b);
        return NULL;
    }
    request *r = ctel__calloc(1, sizeof *r);
    if (!r) {
        ctel__buf_free(&b);
        return NULL;
    }
    r->data = b.data;
    r->len = b.len;
    r->cap = b.cap;
    r->items = items;
    r->from_spill = true;
    r->token = token;
    return r;
}

/* ---- one request: attempts, retries, breaker -------------------------------- */

/* A replayed request gets the default export timeout (its own is gone). */
#define REPLAY_BUDGET_MS CTEL__DEFAULT_EXPORT_TIMEOUT_MS

/* When a request's attempts must be over: its own deadline, brought forward
 * by a shutdown in progress. Lock held. */
static uint64_t request_deadline(const ctel__delivery *d, uint64_t own)
{
    return d->stopping && d->stop_deadline_ns < own ? d->stop_deadline_ns : own;
}

static outcome deliver(ctel__delivery *d, request *r, uint64_t *rejected)
{
    uint64_t start = ctel__mono_ns();
    uint32_t budget_ms = r->from_spill ? REPLAY_BUDGET_MS : r->budget_ms;
    uint64_t own_deadline = budget_ms ? start + (uint64_t)budget_ms * 1000000u : UINT64_MAX;
    for (uint32_t attempt = 1;; attempt++) {
        pthread_mutex_lock(&d->lock);
        uint64_t now = ctel__mono_ns();
        uint64_t deadline = request_deadline(d, own_deadline);
        if (d->abort) {
            unlock_and_log(d);
            return OUT_ABORTED;
        }
        if (d->pause) {
            unlock_and_log(d);
            return OUT_PAUSED;
        }
        if (now >= deadline) {
            unlock_and_log(d);
            return d->stopping ? OUT_ABORTED : OUT_EXHAUSTED;
        }
        if (!ctel__breaker_allow(&d->breaker, now)) {
            unlock_and_log(d);
            return OUT_BREAKER_OPEN;
        }
        d->st.requests++;
        if (attempt > 1)
            d->st.retried += r->items;
        uint32_t pauses = d->pauses;
        unlock_and_log(d);

        uint64_t left = (deadline - now + 999999u) / 1000000u;
        uint32_t left_ms = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
        ctel__send_result res;
        memset(&res, 0, sizeof res);
        res.retry_after_ms = -1;
        d->tr.send(d->tr.state, r->data, r->len, r->items, left_ms ? left_ms : 1, &res);

        pthread_mutex_lock(&d->lock);
        now = ctel__mono_ns();
        if (res.status == CTEL_OK || res.status == CTEL_ERR_REJECTED) {
            /* the receiver answered: it is up */
            ctel__breaker_success(&d->breaker, now);
            if (res.status == CTEL_OK) {
                d->st.last_success_unix_ns = ctel_now_unix_nano();
                d->st.last_http_status = res.http_status;
            } else {
                d->st.requests_failed++;
                note_error(d, &res);
            }
            unlock_and_log(d);
            *rejected = res.status == CTEL_OK ? (res.rejected > r->items ? r->items : res.rejected)
                                              : r->items;
            return res.status == CTEL_OK ? OUT_DELIVERED : OUT_REJECTED;
        }
        if (res.status == CTEL_ERR_SHUTDOWN && !d->abort && (d->pause || d->pauses != pauses)) {
            /* cut short to park the sender for a fork: the attempt never
             * happened (no failure, no breaker); the request goes back. A
             * half-open breaker's trial was not made either: allow another. */
            if (d->breaker.state == CTEL_BREAKER_HALF_OPEN)
                d->breaker.trial_in_flight = false;
            d->st.requests--;
            if (attempt > 1)
                d->st.retried -= r->items;
            unlock_and_log(d);
            return OUT_PAUSED;
        }
        d->st.requests_failed++;
        note_error(d, &res);
        if (res.status == CTEL_ERR_SHUTDOWN || d->abort) {
            unlock_and_log(d);
            return OUT_ABORTED;
        }
        ctel__breaker_failure(&d->breaker, now);
        if (!ctel__retry_is_retryable(res.status) || !d->opts.retry.enabled ||
            attempt >= d->opts.retry.max_attempts) {
            unlock_and_log(d);
            return ctel__retry_is_retryable(res.status) ? OUT_EXHAUSTED : OUT_REJECTED;
        }
        uint64_t wait_ns = (uint64_t)ctel__retry_backoff_ms(&d->opts.retry, attempt,
                                                            res.retry_after_ms, &d->rng) *
                           1000000u;
        /* Wait out the backoff, but never past the deadline: shutdown moves
         * the deadline closer and wakes us, so it never sits out a backoff. */
        uint64_t wake_at = now + wait_ns;
        for (;;) {
            now = ctel__mono_ns();
            deadline = request_deadline(d, own_deadline);
            if (d->abort || (d->stopping && wake_at >= deadline)) {
                unlock_and_log(d);
                return OUT_ABORTED;
            }
            if (d->pause) {
                /* parked with the request back in the queue; the retry
                 * starts over after the fork (the breaker keeps its count) */
                unlock_and_log(d);
                return OUT_PAUSED;
            }
            if (wake_at >= deadline) {
                unlock_and_log(d);
                return OUT_EXHAUSTED;
            }
            if (now >= wake_at)
                break;
            d->in_backoff = true;
            pthread_cond_broadcast(&d->idle); /* a flush must not sit it out */
            sender_wait(d, wake_at);
            d->in_backoff = false;
        }
        unlock_and_log(d);
    }
}

/* Puts a request back at the head of the queue (it is the oldest). Lock held. */
static void push_head(ctel__delivery *d, request *r)
{
    r->next = d->head;
    d->head = r;
    if (!d->tail)
        d->tail = r;
    d->queued_bytes += r->len;
    d->queued_items += r->items;
}

/* Settles a request that was not delivered. Called with the lock held;
 * returns with it held (dropped around disk I/O). Takes `r`. */
static void undeliverable(ctel__delivery *d, request *r, outcome o)
{
    if (r->from_spill) {
        release_request(d, r); /* still on disk, replayed later */
        return;
    }
    if (d->spill) {
        spill_locked(d, r);
        return;
    }
    if (o == OUT_BREAKER_OPEN && !d->stopping) {
        /* no spill: keep it (at the head, it is the oldest) until the
         * breaker lets an attempt through; submit drops the oldest when the
         * queue is full */
        push_head(d, r);
        return;
    }
    if (o == OUT_EXHAUSTED)
        d->st.dropped_retries_exhausted += r->items;
    else
        d->st.dropped_shutdown += r->items;
    release_request(d, r);
}

static request *pop_head(ctel__delivery *d)
{
    request *r = d->head;
    if (r) {
        d->head = r->next;
        if (!d->head)
            d->tail = NULL;
        r->next = NULL;
        d->queued_bytes -= r->len;
        d->queued_items -= r->items;
    }
    return r;
}

static void *sender_main(void *arg)
{
    ctel__delivery *d = arg;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        if (d->abort)
            break;
        if (d->pause) {
            /* a fork is coming: wait here, holding nothing, until the parent
             * lets us go (see fork_park) */
            d->parked = true;
            pthread_cond_broadcast(&d->idle);
            while (d->pause && !d->abort)
                sender_wait(d, UINT64_MAX);
            d->parked = false;
            continue;
        }
        uint64_t now = ctel__mono_ns();
        uint64_t next_attempt = ctel__breaker_next_attempt_ns(&d->breaker, now);
        if (next_attempt) {
            /* breaker open: keep draining the queue to disk */
            if (d->spill && d->head) {
                spill_locked(d, pop_head(d));
                pthread_cond_broadcast(&d->idle);
                continue;
            }
            if (d->stopping && (!d->head || now >= d->stop_deadline_ns))
                break;
            pthread_cond_broadcast(&d->idle);
            uint64_t until = next_attempt;
            if (d->stopping && d->stop_deadline_ns < until)
                until = d->stop_deadline_ns;
            sender_wait(d, until);
            continue;
        }
        request *r = NULL;
        bool replay = false;
        if (d->spill && now >= d->next_replay_ns && (!d->head || d->replay_turn) &&
            !d->stopping) {
            unlock_and_log(d);
            r = peek_spill(d);
            pthread_mutex_lock(&d->lock);
            replay = r != NULL;
            if (!r)
                d->next_replay_ns = now + 1000000000u; /* nothing on disk: look again in 1 s */
        }
        if (!r)
            r = pop_head(d);
        if (!r) {
            if (d->stopping)
                break;
            pthread_cond_broadcast(&d->idle);
            sender_wait(d, d->spill ? d->next_replay_ns : UINT64_MAX);
            continue;
        }
        d->busy = true;
        if (!replay) {
            d->in_flight_items = r->items;
            d->in_flight_seq = r->seq;
        }
        unlock_and_log(d);

        uint64_t rejected = 0;
        outcome o = deliver(d, r, &rejected);

        pthread_mutex_lock(&d->lock);
        d->in_flight_items = 0;
        d->in_flight_seq = 0;
        if (o == OUT_PAUSED) {
            if (replay)
                release_request(d, r); /* still on disk, replayed later */
            else
                push_head(d, r);
            d->busy = false;
            pthread_cond_broadcast(&d->idle);
            continue;
        }
        if (replay) {
            bool settle = o == OUT_DELIVERED || o == OUT_REJECTED;
            if (o == OUT_EXHAUSTED) {
                /* a record that keeps failing on its own (the endpoint takes
                 * others) must not block the replay of the rest forever */
                d->replay_failures = d->replay_failing == r->token ? d->replay_failures + 1 : 1;
                d->replay_failing = r->token;
                if (d->replay_failures >= 5 && !ctel__breaker_next_attempt_ns(&d->breaker, 0)) {
                    settle = true;
                    o = OUT_EXHAUSTED;
                }
            }
            /* consume under the lock: the items leave "on disk" and enter
             * their bucket in one step. If the spill dropped the record
             * meanwhile (full), it already counted it: count nothing here. */
            if (settle && ctel__spill_consume(d->spill, r->token) != CTEL_OK) {
                release_request(d, r);
                d->busy = false;
                pthread_cond_broadcast(&d->idle);
                continue;
            }
            if (settle && o == OUT_EXHAUSTED) {
                ctel__log(CTEL_LOG_WARN, "%s: a spilled request failed 5 replays; dropped "
                                         "(%u items)", d->name, r->items);
                d->st.dropped_retries_exhausted += r->items;
                release_request(d, r);
                d->busy = false;
                pthread_cond_broadcast(&d->idle);
                continue;
            }
        }
        if (replay) {
            d->replay_turn = false;
            d->next_replay_ns = ctel__mono_ns() + 1000000000u / d->opts.replay_per_second;
        } else {
            d->replay_turn = true;
        }
        if (o == OUT_DELIVERED) {
            d->st.delivered += r->items - rejected;
            d->st.rejected += rejected;
            if (replay)
                d->st.replayed += r->items - rejected;
            release_request(d, r);
        } else if (o == OUT_REJECTED) {
            d->st.rejected += r->items;
            release_request(d, r);
        } else {
            undeliverable(d, r, o);
        }
        d->busy = false;
        pthread_cond_broadcast(&d->idle);
    }
    /* Leaving (shutdown): what is still queued goes to disk, or is dropped. */
    while (d->head) {
        request *r = pop_head(d);
        if (d->spill) {
            spill_locked(d, r);
        } else {
            d->st.dropped_shutdown += r->items;
            release_request(d, r);
        }
    }
    d->exited = true;
    pthread_cond_broadcast(&d->idle);
    unlock_and_log(d);
    return NULL;
}

/* ---- API ------------------------------------------------------------------- */

ctel_status ctel__delivery_submit(ctel__delivery *d, ctel__buf *body, uint32_t items,
                                  uint32_t budget_ms)
{
    request *r = ctel__calloc(1, sizeof *r);
    if (!r) {
        pthread_mutex_lock(&d->lock);
        d->st.submitted += items;
        d->st.dropped_queue_full += items;
        unlock_and_log(d);
        ctel__buf_free(body);
        return CTEL_ERR_NO_MEMORY;
    }
    r->data = body->data;
    r->len = body->len;
    r->cap = body->cap;
    r->items = items;
    r->budget_ms = budget_ms;
    *body = (ctel__buf)CTEL__BUF_INIT;
    bool warn_full = false;

    pthread_mutex_lock(&d->lock);
    if (d->stopping || d->exited) {
        /* not taken: the caller counts it */
        release_request(d, r);
        pthread_mutex_unlock(&d->lock);
        return CTEL_ERR_SHUTDOWN;
    }
    d->st.submitted += items;
    r->seq = ++d->next_seq;
    ctel_status rc = CTEL_OK;
    if (d->queued_bytes + r->len > d->opts.max_queue_bytes && d->head) {
        if (d->spill) {
            /* full: the newest goes straight to disk (the caller is the
             * export worker, never an application thread) */
            spill_locked(d, r);
            pthread_cond_broadcast(&d->idle);
            unlock_and_log(d);
            return CTEL_OK;
        }
        /* keep the newest: drop the oldest until it fits */
        while (d->head && d->queued_bytes + r->len > d->opts.max_queue_bytes) {
            request *old = pop_head(d);
            d->st.dropped_queue_full += old->items;
            release_request(d, old);
        }
        warn_full = true;
        rc = CTEL_ERR_QUEUE_FULL;
    }
    if (d->tail)
        d->tail->next = r;
    else
        d->head = r;
    d->tail = r;
    d->queued_bytes += r->len;
    d->queued_items += r->items;
    pthread_cond_signal(&d->wake);
    unlock_and_log(d);
    if (warn_full)
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "%s: export queue full (%zu bytes); oldest requests dropped: the "
                         "endpoint is slow or down (a spill directory would keep them)",
                         d->name, d->opts.max_queue_bytes);
    return rc;
}

ctel_status ctel__delivery_flush(ctel__delivery *d, uint32_t timeout_ms)
{
    uint64_t deadline = ctel__deadline_ns(timeout_ms);
    pthread_mutex_lock(&d->lock);
    uint64_t target = d->next_seq; /* everything submitted before the call */
    pthread_cond_signal(&d->wake);
    while (((d->head && d->head->seq <= target) ||
            (d->in_flight_seq && d->in_flight_seq <= target)) &&
           !d->exited) {
        /* breaker open without a spill: requests wait in memory for it, and
         * that is as far as a flush can take them */
        if (!d->spill && !d->in_flight_seq &&
            ctel__breaker_next_attempt_ns(&d->breaker, ctel__mono_ns()))
            break;
        /* the request in progress waits out a backoff (or the receiver's
         * Retry-After): a flush does not sit it out, nor hurry it */
        if (d->in_backoff) {
            pthread_mutex_unlock(&d->lock);
            return CTEL_ERR_UNAVAILABLE;
        }
        if (ctel__mono_ns() >= deadline) {
            unlock_and_log(d);
            return CTEL_ERR_TIMEOUT;
        }
        wait_until(&d->idle, &d->lock, deadline);
    }
    bool pending = d->head && d->head->seq <= target;
    pthread_mutex_unlock(&d->lock);
    return pending ? CTEL_ERR_UNAVAILABLE : CTEL_OK;
}

ctel_status ctel__delivery_shutdown(ctel__delivery *d, uint32_t timeout_ms)
{
    pthread_mutex_lock(&d->lock);
    if (d->shutdown_done) {
        pthread_mutex_unlock(&d->lock);
        return CTEL_ERR_SHUTDOWN;
    }
    d->shutdown_done = true;
    d->stopping = true;
    d->settled_at_stop = d->st.spilled + d->st.dropped_shutdown +
                         d->st.dropped_retries_exhausted + d->st.dropped_queue_full;
    d->stop_deadline_ns = ctel__deadline_ns(timeout_ms);
    pthread_cond_broadcast(&d->wake);
    while (!d->exited && ctel__mono_ns() < d->stop_deadline_ns)
        wait_until(&d->idle, &d->lock, d->stop_deadline_ns);
    if (!d->exited) {
        /* the deadline: cut the attempt in progress short */
        d->abort = true;
        pthread_cond_broadcast(&d->wake);
        pthread_mutex_unlock(&d->lock);
        d->tr.interrupt(d->tr.state, true);
        pthread_mutex_lock(&d->lock);
        while (!d->exited)
            pthread_cond_wait(&d->idle, &d->lock);
    }
    /* OK only if nothing was left over: no spill, no drop since the call */
    bool clean = !d->head && d->st.spilled + d->st.dropped_shutdown +
                                     d->st.dropped_retries_exhausted +
                                     d->st.dropped_queue_full ==
                                 d->settled_at_stop;
    pthread_mutex_unlock(&d->lock);
    if (d->thread_started) {
        pthread_join(d->thread, NULL);
        d->thread_started = false;
    }
    return clean ? CTEL_OK : CTEL_ERR_TIMEOUT;
}

void ctel__delivery_reuse_buffer(ctel__delivery *d, ctel__buf *b)
{
    if (b->data)
        return;
    pthread_mutex_lock(&d->lock);
    if (d->nspare) {
        d->nspare--;
        b->data = d->spare[d->nspare].data;
        b->cap = d->spare[d->nspare].cap;
        b->len = 0;
        b->data[0] = '\0';
    }
    pthread_mutex_unlock(&d->lock);
}

/* Readers: the published snapshot (see publish), never the delivery lock.
 * Returns when the breaker's cool-down ends (unix ns), 0 if it is not open
 * or the cool-down is over. */
static uint64_t read_published(ctel__delivery *d, ctel__delivery_stats *out)
{
    pthread_mutex_lock(&d->pub_lock);
    *out = d->pub;
    uint64_t open_until = d->pub_open_until_ns;
    pthread_mutex_unlock(&d->pub_lock);
    uint64_t now = ctel__mono_ns();
    return open_until > now ? ctel_now_unix_nano() + (open_until - now) : 0;
}

struct ctel__spill *ctel__delivery_spill(ctel__delivery *d)
{
    return d->spill;
}

void ctel__delivery_get_stats(ctel__delivery *d, ctel__delivery_stats *out)
{
    out->next_attempt_unix_ns = read_published(d, out);
}

ctel_breaker_state ctel__delivery_breaker_state(ctel__delivery *d, uint64_t *next_attempt_unix_ns)
{
    ctel__delivery_stats s;
    uint64_t next = read_published(d, &s);
    if (next_attempt_unix_ns)
        *next_attempt_unix_ns = next;
    return s.breaker_state;
}

/* Opens the spill at d->spill_opts; without one the delivery drops and
 * counts what it cannot deliver. */
static void open_spill(ctel__delivery *d, bool forked_child)
{
    ctel_status rc = ctel__spill_open(&d->spill_opts, &d->spill);
    if (rc != CTEL_OK) {
        d->spill = NULL;
        if (forked_child)
            ctel__log(CTEL_LOG_WARN, "%s: forked child (pid %ld) runs without a disk spill: %s "
                                     "is %s (the parent keeps it); undeliverable requests will "
                                     "be dropped and counted",
                      d->name, (long)getpid(), d->spill_dir,
                      rc == CTEL_ERR_LIMIT ? "in use" : ctel_status_str(rc));
        else
            ctel__log(CTEL_LOG_WARN, "%s: disk spill at %s unavailable (%s); undeliverable "
                                     "requests will be dropped and counted",
                      d->name, d->spill_dir, ctel_status_str(rc));
        return;
    }
    ctel__spill_stats ss;
    ctel__spill_get_stats(d->spill, &ss);
    d->st.recovered = ss.items_on_disk;
    if (ss.records_on_disk)
        ctel__log(CTEL_LOG_INFO, "%s: %llu requests (%llu items) left on disk by an "
                                 "earlier run will be replayed",
                  d->name, (unsigned long long)ss.records_on_disk,
                  (unsigned long long)ss.items_on_disk);
}

/* ---- fork (see sdk/common/fork.h) ------------------------------------------- */

/* Parks the sender: outside any lock, any send and any request (a request
 * being sent goes back to the queue head, uncounted). */
static void fork_park(void *obj, uint64_t deadline_ns)
{
    ctel__delivery *d = obj;
    pthread_mutex_lock(&d->lock);
    d->fork_parked = d->exited || !d->thread_started;
    d->fork_interrupted = false;
    if (d->fork_parked || pthread_equal(pthread_self(), d->thread)) {
        /* nothing to park; or fork() called from the sender itself (a log
         * handler, say): it cannot wait for itself, and the child will
         * treat this delivery as shut down */
        pthread_mutex_unlock(&d->lock);
        return;
    }
    d->pause = true;
    d->pauses++;
    d->fork_interrupted = true;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    /* an attempt in progress returns at once (CTEL_ERR_SHUTDOWN) */
    d->tr.interrupt(d->tr.state, true);
    pthread_mutex_lock(&d->lock);
    while (!d->parked && !d->exited && ctel__mono_ns() < deadline_ns)
        wait_until(&d->idle, &d->lock, deadline_ns);
    d->fork_parked = d->parked || d->exited;
    bool late = !d->fork_parked;
    pthread_mutex_unlock(&d->lock);
    if (late)
        ctel__log(CTEL_LOG_WARN, "%s: fork: the sender did not stop within %d ms; the child "
                                 "will run this exporter as shut down",
                  d->name, CTEL__FORK_PARK_MS);
}

static void fork_lock(void *obj)
{
    ctel__delivery *d = obj;
    pthread_mutex_lock(&d->lock);
    pthread_mutex_lock(&d->pub_lock); /* a reader may hold it */
}

static void fork_parent(void *obj)
{
    ctel__delivery *d = obj;
    /* The sender is parked, so no send can see the interrupt go off early.
     * A shutdown that wants it on meanwhile set `abort`: then it stays on. */
    if (d->fork_interrupted && !d->abort)
        d->tr.interrupt(d->tr.state, false);
    d->fork_interrupted = false;
    d->pause = false;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->pub_lock);
    pthread_mutex_unlock(&d->lock);
}

/* A forked child's copy of the parent's spill: close the child's
 * descriptors and free the memory, nothing more. ctel__spill_close would
 * fsync and rewrite the cursor in files the parent is using. Closing our
 * copy of the LOCK descriptor leaves the parent's flock in place: the lock
 * belongs to the open file description, which the parent still holds. */
static void spill_forget_after_fork(ctel__spill *s)
{
    ctel__spill_close_fd(&s->wfd);
    ctel__spill_close_fd(&s->rfd);
    ctel__spill_close_fd(&s->cursor_fd);
    ctel__spill_close_fd(&s->dir_fd);
    ctel__spill_close_fd(&s->lock_fd);
    ctel__buf_free(&s->scratch);
    ctel__free(s->segs);
    ctel__free(s->dir);
    ctel__free(s); /* s->mu is not destroyed: a vanished thread may own it */
}

/* The child keeps nothing of the parent's: queued requests are dropped
 * uncounted (the parent sends them), counters start at zero, the spill is
 * the parent's, and a fresh sender starts. */
static void fork_child(void *obj)
{
    ctel__delivery *d = obj;
    ctel__fork_reinit_mutex(&d->lock);
    ctel__fork_reinit_mutex(&d->pub_lock);
    ctel__fork_reinit_cond(&d->wake, true);
    ctel__fork_reinit_cond(&d->idle, true);
    while (d->head)
        free_request(pop_head(d));
    d->queued_bytes = 0;
    d->queued_items = 0;
    d->in_flight_items = 0;
    d->in_flight_seq = 0;
    d->busy = false;
    d->next_seq = 0;
    d->replay_failing = 0;
    d->replay_failures = 0;
    d->settled_at_stop = 0;
    d->next_replay_ns = 0;
    d->replay_turn = false;
    d->pause = false;
    d->parked = false;
    d->fork_interrupted = false;
    memset(&d->st, 0, sizeof d->st);
    ctel__breaker_init(&d->breaker, d->name);
    d->rng ^= (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ ctel__mono_ns();
    if (d->spill) {
        spill_forget_after_fork(d->spill);
        d->spill = NULL;
    }
    bool run = d->thread_started && !d->exited && !d->shutdown_done && d->fork_parked;
    /* the parent's sender does not exist here: never join it */
    d->thread_started = false;
    if (run) {
        if (d->spill_dir)
            open_spill(d, true);
        run = pthread_create(&d->thread, NULL, sender_main, d) == 0;
        if (run)
            d->thread_started = true;
        else
            ctel__log(CTEL_LOG_ERROR, "%s: forked child cannot start its sender thread", d->name);
    }
    if (!run) {
        /* shut down (or unusable) here: submit refuses, the caller counts */
        d->stopping = true;
        d->shutdown_done = true;
        d->exited = true;
    }
    publish(d); /* only this thread exists until the hooks return */
}

static const ctel__fork_ops k_fork_ops = {
    .park = fork_park,
    .lock = fork_lock,
    .parent = fork_parent,
    .child = fork_child,
};

ctel_status ctel__delivery_create(const ctel__delivery_options *opts,
                                  const ctel__delivery_transport *transport,
                                  ctel__delivery **out)
{
    *out = NULL;
    ctel__delivery *d = ctel__calloc(1, sizeof *d);
    if (!d)
        return CTEL_ERR_NO_MEMORY;
    d->opts = *opts;
    d->name = ctel__strdup(opts->name ? opts->name : "export");
    if (!d->name) {
        ctel__free(d);
        return CTEL_ERR_NO_MEMORY;
    }
    d->opts.name = d->name;
    d->opts.spill_dir = NULL; /* not kept */
    if (!d->opts.max_queue_bytes)
        d->opts.max_queue_bytes = 8u * 1024u * 1024u;
    if (!d->opts.replay_per_second)
        d->opts.replay_per_second = 20;
    if (d->opts.retry.max_attempts == 0)
        d->opts.retry.max_attempts = 1;
    d->tr = *transport;
    d->rng = (uint64_t)(uintptr_t)d ^ ctel__mono_ns();
    ctel__breaker_init(&d->breaker, d->name);

    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->pub_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->wake, &ca);
    pthread_cond_init(&d->idle, &ca);
    pthread_condattr_destroy(&ca);

    if (opts->spill_dir && *opts->spill_dir) {
        d->spill_dir = ctel__strdup(opts->spill_dir);
        if (!d->spill_dir) {
            pthread_cond_destroy(&d->wake);
            pthread_cond_destroy(&d->idle);
            pthread_mutex_destroy(&d->pub_lock);
            pthread_mutex_destroy(&d->lock);
            ctel__free(d->name);
            ctel__free(d);
            return CTEL_ERR_NO_MEMORY;
        }
        d->spill_opts = (ctel__spill_options){d->spill_dir, opts->spill_max_bytes, 0,
                                              opts->spill_max_age_ms, opts->spill_drop_newest};
        open_spill(d, false);
    }
    publish(d); /* the sender does not exist yet */
    if (pthread_create(&d->thread, NULL, sender_main, d) != 0) {
        ctel__spill_close(d->spill);
        pthread_cond_destroy(&d->wake);
        pthread_cond_destroy(&d->idle);
        pthread_mutex_destroy(&d->pub_lock);
        pthread_mutex_destroy(&d->lock);
        ctel__free(d->spill_dir);
        ctel__free(d->name);
        ctel__free(d);
        return CTEL_ERR_INTERNAL;
    }
    d->thread_started = true;
    ctel__fork_register(&d->fork_entry, CTEL__FORK_RANK_DELIVERY, &k_fork_ops, d);
    *out = d;
    return CTEL_OK;
}

void ctel__delivery_destroy(ctel__delivery *d)
{
    if (!d)
        return;
    ctel__fork_unregister(&d->fork_entry);
    if (!d->shutdown_done)
        (void)ctel__delivery_shutdown(d, 5000);
    else if (d->thread_started)
        pthread_join(d->thread, NULL);
    while (d->head)
        free_request(pop_head(d));
    ctel__spill_close(d->spill);
    for (int i = 0; i < d->nspare; i++)
        ctel__free(d->spare[i].data);
    pthread_cond_destroy(&d->wake);
    pthread_cond_destroy(&d->idle);
    pthread_mutex_destroy(&d->pub_lock);
    pthread_mutex_destroy(&d->lock);
    ctel__free(d->spill_dir);
    ctel__free(d->name);
    ctel__free(d);
}
