/* sdk/pipeline/delivery_sender.c — the delivery's sender thread: takes
 * requests oldest first (interleaved with replays from the disk spill),
 * makes the attempts with retries and backoff, asks the circuit breaker,
 * and settles each request: delivered, rejected, spilled or dropped, each
 * counted. See delivery.h. */
#include "sdk/pipeline/delivery_internal.h"

#include <stdio.h>

#include "sdk/trace/config.h" /* CTEL__DEFAULT_EXPORT_TIMEOUT_MS */

typedef enum outcome {
    OUT_DELIVERED,
    OUT_REJECTED,
    OUT_BREAKER_OPEN, /* no attempt allowed */
    OUT_EXHAUSTED,    /* retries or the deadline ran out */
    OUT_ABORTED,      /* shutdown interrupted it */
    OUT_PAUSED        /* a fork is parking the sender: not an attempt, try again */
} outcome;

static void note_error(ctel__delivery *d, const ctel__send_result *res)
{
    d->st.last_http_status = res->http_status;
    snprintf(d->st.last_error, sizeof d->st.last_error, "%s", res->message);
}

/* ---- spill I/O -------------------------------------------------------------- */

/* Writes a request to disk. Called with the lock held, which it lets go
 * for the write: a write can wait for the disk (a segment rotation
 * fsyncs), and neither the export worker submitting the next batch nor
 * the snapshot readers must wait with it. Meanwhile the request is on
 * `writing` (flush waits for it) and its items count as in flight until the
 * spill's published stats show them written or refused (see
 * ctel__delivery_publish). Returns with the lock held, having woken the
 * threads waiting on `idle`. Takes `r`. */
void ctel__delivery_spill_request(ctel__delivery *d, request *r)
{
    d->spilling++;
    r->next = d->writing;
    d->writing = r;
    d->spill_requested_items += r->items;
    ctel__delivery_publish(d);
    pthread_mutex_unlock(&d->lock);
    ctel_status rc = ctel__spill_write(d->spill, r->data, r->len, r->items, ctel_now_unix_nano());
    pthread_mutex_lock(&d->lock);
    for (request **p = &d->writing; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    r->next = NULL;
    d->spilling--;
    if (rc == CTEL_OK)
        d->st.spilled += r->items;
    /* a refused write is counted by the spill as dropped_full */
    ctel__delivery_release_request(d, r);
    pthread_cond_broadcast(&d->idle);
}

bool ctel__delivery_writing_through(const ctel__delivery *d, uint64_t seq)
{
    for (const request *r = d->writing; r; r = r->next)
        if (r->seq <= seq)
            return true;
    return false;
}

/* The sender's waits: what it changed is published first. Lock held. */
static void sender_wait(ctel__delivery *d, uint64_t until_ns)
{
    ctel__delivery_publish(d);
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
            ctel__delivery_unlock_and_log(d);
            return OUT_ABORTED;
        }
        if (d->pause) {
            ctel__delivery_unlock_and_log(d);
            return OUT_PAUSED;
        }
        if (now >= deadline) {
            ctel__delivery_unlock_and_log(d);
            return d->stopping ? OUT_ABORTED : OUT_EXHAUSTED;
        }
        if (!ctel__breaker_allow(&d->breaker, now)) {
            ctel__delivery_unlock_and_log(d);
            return OUT_BREAKER_OPEN;
        }
        d->st.requests++;
        if (attempt > 1)
            d->st.retried += r->items;
        uint32_t pauses = d->pauses;
        ctel__delivery_unlock_and_log(d);

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
            ctel__delivery_unlock_and_log(d);
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
            ctel__delivery_unlock_and_log(d);
            return OUT_PAUSED;
        }
        d->st.requests_failed++;
        note_error(d, &res);
        if (res.status == CTEL_ERR_SHUTDOWN || d->abort) {
            ctel__delivery_unlock_and_log(d);
            return OUT_ABORTED;
        }
        ctel__breaker_failure(&d->breaker, now);
        if (!ctel__retry_is_retryable(res.status) || !d->opts.retry.enabled ||
            attempt >= d->opts.retry.max_attempts) {
            ctel__delivery_unlock_and_log(d);
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
                ctel__delivery_unlock_and_log(d);
                return OUT_ABORTED;
            }
            if (d->pause) {
                /* parked with the request back in the queue; the retry
                 * starts over after the fork (the breaker keeps its count) */
                ctel__delivery_unlock_and_log(d);
                return OUT_PAUSED;
            }
            if (wake_at >= deadline) {
                ctel__delivery_unlock_and_log(d);
                return OUT_EXHAUSTED;
            }
            if (now >= wake_at)
                break;
            d->in_backoff = true;
            pthread_cond_broadcast(&d->idle); /* a flush must not sit it out */
            sender_wait(d, wake_at);
            d->in_backoff = false;
        }
        ctel__delivery_unlock_and_log(d);
    }
}

/* Settles a request that was not delivered. Called with the lock held;
 * returns with it held (dropped around disk I/O). Takes `r`. */
static void undeliverable(ctel__delivery *d, request *r, outcome o)
{
    if (r->from_spill) {
        ctel__delivery_release_request(d, r); /* still on disk, replayed later */
        return;
    }
    if (d->spill) {
        ctel__delivery_spill_request(d, r);
        return;
    }
    if (o == OUT_BREAKER_OPEN && !d->stopping) {
        /* no spill: keep it (at the head, it is the oldest) until the
         * breaker lets an attempt through; submit drops the oldest when the
         * queue is full */
        list_push_head(&d->queue, r);
        return;
    }
    if (o == OUT_EXHAUSTED)
        d->st.dropped_retries_exhausted += r->items;
    else
        d->st.dropped_shutdown += r->items;
    ctel__delivery_release_request(d, r);
}

void *ctel__delivery_sender_main(void *arg)
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
        if (d->overflow.head && (d->overflow_turn || !d->queue.head)) {
            /* What found the queue full while the disk was busy goes to
             * disk, one request in turn with the rest of the work (or all
             * of it when there is no other): submits that keep coming
             * during the writes must not keep deliveries from ever
             * happening. */
            d->overflow_turn = false;
            ctel__delivery_spill_request(d, list_pop(&d->overflow));
            continue;
        }
        d->overflow_turn = true;
        uint64_t now = ctel__mono_ns();
        uint64_t next_attempt = ctel__breaker_next_attempt_ns(&d->breaker, now);
        if (next_attempt) {
            /* breaker open: keep draining the queue to disk */
            if (d->spill && d->queue.head) {
                ctel__delivery_spill_request(d, list_pop(&d->queue));
                continue;
            }
            if (d->stopping && (!d->queue.head || now >= d->stop_deadline_ns))
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
        if (d->spill && now >= d->next_replay_ns && (!d->queue.head || d->replay_turn) &&
            !d->stopping) {
            d->reading = true;
            ctel__delivery_unlock_and_log(d);
            r = peek_spill(d);
            pthread_mutex_lock(&d->lock);
            d->reading = false;
            replay = r != NULL;
            if (!r)
                d->next_replay_ns = now + 1000000000u; /* nothing on disk: look again in 1 s */
        }
        if (!r)
            r = list_pop(&d->queue);
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
        ctel__delivery_unlock_and_log(d);

        uint64_t rejected = 0;
        outcome o = deliver(d, r, &rejected);

        pthread_mutex_lock(&d->lock);
        d->in_flight_items = 0;
        d->in_flight_seq = 0;
        if (o == OUT_PAUSED) {
            if (replay)
                ctel__delivery_release_request(d, r); /* still on disk, replayed later */
            else
                list_push_head(&d->queue, r);
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
            /* Consume with the lock let go (it rewrites the cursor and may
             * delete a segment: disk I/O). Its items leave "on disk" in the
             * spill's stats and count as in flight until settled below
             * (replay_settled_items). If the spill dropped the record
             * meanwhile (full), it already counted it: count nothing here. */
            if (settle) {
                d->reading = true;
                ctel__delivery_unlock_and_log(d);
                ctel_status crc = ctel__spill_consume(d->spill, r->token);
                pthread_mutex_lock(&d->lock);
                d->reading = false;
                if (crc != CTEL_OK) {
                    ctel__delivery_release_request(d, r);
                    d->busy = false;
                    pthread_cond_broadcast(&d->idle);
                    continue;
                }
                d->replay_settled_items += r->items;
            }
            if (settle && o == OUT_EXHAUSTED) {
                uint32_t items = r->items;
                d->st.dropped_retries_exhausted += items;
                ctel__delivery_release_request(d, r);
                d->busy = false;
                pthread_cond_broadcast(&d->idle);
                /* the user's log handler never runs under the lock */
                ctel__delivery_unlock_and_log(d);
                ctel__log(CTEL_LOG_WARN, "%s: a spilled request failed 5 replays; dropped "
                                         "(%u items)", d->name, items);
                pthread_mutex_lock(&d->lock);
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
            ctel__delivery_release_request(d, r);
        } else if (o == OUT_REJECTED) {
            d->st.rejected += r->items;
            ctel__delivery_release_request(d, r);
        } else {
            undeliverable(d, r, o);
        }
        d->busy = false;
        pthread_cond_broadcast(&d->idle);
    }
    /* Leaving (shutdown): what is still queued goes to disk, or is dropped. */
    while (d->overflow.head)
        ctel__delivery_spill_request(d, list_pop(&d->overflow));
    while (d->queue.head) {
        request *r = list_pop(&d->queue);
        if (d->spill) {
            ctel__delivery_spill_request(d, r);
        } else {
            d->st.dropped_shutdown += r->items;
            ctel__delivery_release_request(d, r);
        }
    }
    d->exited = true;
    pthread_cond_broadcast(&d->idle);
    ctel__delivery_unlock_and_log(d);
    return NULL;
}
