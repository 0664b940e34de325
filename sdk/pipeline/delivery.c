/* sdk/pipeline/delivery.c — the delivery's API: submit, flush, shutdown,
 * the snapshot stats and readiness readers copy, create and destroy. The
 * sender thread is in delivery_sender.c, the fork hooks in delivery_fork.c.
 * See delivery.h. */
#include "sdk/pipeline/delivery_internal.h"

#include <stdio.h>
#include <unistd.h>

void ctel__delivery_free_request(request *r)
{
    if (r) {
        ctel__free(r->data);
        ctel__free(r);
    }
}

/* Frees `r`, keeping its buffer for reuse when there is room. Lock held. */
void ctel__delivery_release_request(ctel__delivery *d, request *r)
{
    if (r && r->data && r->cap && d->nspare < (int)(sizeof d->spare / sizeof d->spare[0])) {
        d->spare[d->nspare].data = r->data;
        d->spare[d->nspare].cap = r->cap;
        d->nspare++;
        r->data = NULL;
    }
    ctel__delivery_free_request(r);
}

/* a - b, or 0 if b is ahead (it never is: both grow under rules that keep
 * b behind; a wrapped gauge would be worse than a missed item). */
static uint64_t behind(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* Copies the counters, the queue's size and the breaker's state for readers.
 * Stats and readiness are asked for by application threads and health
 * endpoints, which must never wait for what the delivery lock covers. So
 * readers copy this snapshot under pub_lock instead, and every thread that
 * changes what they see publishes before it lets go of the lock
 * (unlock_and_log here, sender_wait and spill_request in
 * delivery_sender.c). Lock held; lock order: delivery, then the spill's
 * stats lock, then pub_lock.
 *
 * Spill writes and consumes run with the lock let go, so the spill's stats
 * move on their own. Each item is counted exactly once all the same: the
 * spill publishes its stats as one copy, in which an item handed over is
 * either still on its way (spill_requested_items is ahead of written +
 * refused: in flight), on disk, or dropped; and a consumed one is in flight
 * until the sender settles it (items_replayed ahead of
 * replay_settled_items). */
void ctel__delivery_publish(ctel__delivery *d)
{
    ctel__delivery_stats s = d->st;
    s.queued = d->queue.items;
    s.queued_bytes = d->queue.bytes;
    s.in_flight = d->in_flight_items + d->overflow.items;
    s.breaker_state = d->breaker.state;
    s.breaker_opens = d->breaker.opens;
    s.next_attempt_unix_ns = 0; /* the reader's clock decides */
    if (d->spill) {
        ctel__spill_stats ss;
        ctel__spill_get_stats(d->spill, &ss);
        s.in_flight += behind(d->spill_requested_items, ss.items_written + ss.items_refused);
        s.in_flight += behind(ss.items_replayed, d->replay_settled_items);
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
void ctel__delivery_unlock_and_log(ctel__delivery *d)
{
    ctel__delivery_publish(d);
    ctel_log_level level;
    char msg[sizeof d->breaker.pending_log];
    bool have = ctel__breaker_take_log(&d->breaker, &level, msg, sizeof msg);
    pthread_mutex_unlock(&d->lock);
    if (have)
        ctel__log(level, "%s", msg);
}

/* ---- API ------------------------------------------------------------------- */

/* After shutdown's deadline, how long it waits for the sender to finish (an
 * interrupted attempt returns at once; a write to a disk that does not
 * answer may not), and destroy for the sender and writes under way, before
 * giving up on them. */
#define STOP_GRACE_MS 2000

static bool queue_full(const ctel__delivery *d, size_t len)
{
    return d->queue.head && d->queue.bytes + len > d->opts.max_queue_bytes;
}

/* The sender is writing to the spill or reading from it, with the lock let
 * go: on a disk that does not answer that can last. */
static bool disk_busy(const ctel__delivery *d)
{
    return d->spilling || d->reading;
}

/* Appends `r` to `l` (the queue or the overflow), first dropping the oldest
 * requests (counted) until it fits in opts.max_queue_bytes: the newest data
 * is kept. Returns whether any was dropped. Lock held. */
static bool append_keeping_newest(ctel__delivery *d, req_list *l, request *r)
{
    bool dropped = false;
    while (l->head && l->bytes + r->len > d->opts.max_queue_bytes) {
        request *old = list_pop(l);
        d->st.dropped_queue_full += old->items;
        ctel__delivery_release_request(d, old);
        dropped = true;
    }
    list_append(l, r);
    pthread_cond_signal(&d->wake);
    return dropped;
}

ctel_status ctel__delivery_submit(ctel__delivery *d, ctel__buf *body, uint32_t items,
                                  uint32_t budget_ms)
{
    request *r = ctel__calloc(1, sizeof *r);
    if (!r) {
        pthread_mutex_lock(&d->lock);
        d->st.submitted += items;
        d->st.dropped_queue_full += items;
        ctel__delivery_unlock_and_log(d);
        ctel__buf_free(body);
        return CTEL_ERR_NO_MEMORY;
    }
    r->data = body->data;
    r->len = body->len;
    r->cap = body->cap;
    r->items = items;
    r->budget_ms = budget_ms;
    *body = (ctel__buf)CTEL__BUF_INIT;

    pthread_mutex_lock(&d->lock);
    if (d->stopping || d->exited) {
        /* not taken: the caller counts it */
        ctel__delivery_release_request(d, r);
        pthread_mutex_unlock(&d->lock);
        return CTEL_ERR_SHUTDOWN;
    }
    d->st.submitted += items;
    r->seq = ++d->next_seq;
    if (queue_full(d, r->len) && d->spill && !disk_busy(d)) {
        /* full: the newest goes straight to disk (the caller is the export
         * worker, never an application thread); the overflow, if any, is
         * the sender's to write */
        ctel__delivery_spill_request(d, r);
        ctel__delivery_unlock_and_log(d);
        return CTEL_OK;
    }
    /* Full, and the disk busy with the sender's work, which may be stuck on
     * a disk that does not answer: the export worker does not wait for it.
     * The newest waits in the overflow, which the sender writes to disk in
     * turn with its other work. */
    bool to_overflow = queue_full(d, r->len) && d->spill;
    bool dropped = append_keeping_newest(d, to_overflow ? &d->overflow : &d->queue, r);
    ctel__delivery_unlock_and_log(d);
    if (dropped && to_overflow)
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "%s: export queue full (%zu bytes) and as many again wait to be "
                         "written to the disk spill; oldest of those dropped: the endpoint "
                         "is slow or down and the disk is slow or not answering",
                         d->name, d->opts.max_queue_bytes);
    else if (dropped)
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "%s: export queue full (%zu bytes); oldest requests dropped: the "
                         "endpoint is slow or down (a spill directory would keep them)",
                         d->name, d->opts.max_queue_bytes);
    return dropped ? CTEL_ERR_QUEUE_FULL : CTEL_OK;
}

ctel_status ctel__delivery_flush(ctel__delivery *d, uint32_t timeout_ms)
{
    uint64_t deadline = ctel__deadline_ns(timeout_ms);
    pthread_mutex_lock(&d->lock);
    uint64_t target = d->next_seq; /* everything submitted before the call */
    pthread_cond_signal(&d->wake);
    /* (a request being written to disk may be older than the call) */
    while (((d->queue.head && d->queue.head->seq <= target) ||
            (d->overflow.head && d->overflow.head->seq <= target) ||
            (d->in_flight_seq && d->in_flight_seq <= target) ||
            ctel__delivery_writing_through(d, target)) &&
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
            ctel__delivery_unlock_and_log(d);
            return CTEL_ERR_TIMEOUT;
        }
        wait_until(&d->idle, &d->lock, deadline);
    }
    bool pending = d->queue.head && d->queue.head->seq <= target;
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
    /* the sender, and a write to disk a submitter started */
    while ((!d->exited || d->spilling) && ctel__mono_ns() < d->stop_deadline_ns)
        wait_until(&d->idle, &d->lock, d->stop_deadline_ns);
    if (!d->exited) {
        /* the deadline: cut the attempt in progress short */
        d->abort = true;
        pthread_cond_broadcast(&d->wake);
        pthread_mutex_unlock(&d->lock);
        d->tr.interrupt(d->tr.state, true);
        pthread_mutex_lock(&d->lock);
        uint64_t grace = ctel__deadline_ns(STOP_GRACE_MS);
        while (!d->exited && ctel__mono_ns() < grace)
            wait_until(&d->idle, &d->lock, grace);
    }
    bool exited = d->exited;
    /* OK only if nothing was left over: no spill, no drop since the call */
    bool clean = exited && !d->spilling && !d->queue.head && !d->overflow.head &&
                 d->st.spilled + d->st.dropped_shutdown + d->st.dropped_retries_exhausted +
                         d->st.dropped_queue_full ==
                     d->settled_at_stop;
    pthread_mutex_unlock(&d->lock);
    if (!exited)
        ctel__log(CTEL_LOG_ERROR, "%s: shutdown: the sender is still busy %d ms after the "
                                  "deadline (a disk spill write that does not return?)",
                  d->name, STOP_GRACE_MS);
    else if (d->thread_started) {
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
void ctel__delivery_open_spill(ctel__delivery *d, bool forked_child)
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
        ctel__delivery_open_spill(d, false);
    }
    ctel__delivery_publish(d); /* the sender does not exist yet */
    if (pthread_create(&d->thread, NULL, ctel__delivery_sender_main, d) != 0) {
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
    ctel__fork_register(&d->fork_entry, CTEL__FORK_RANK_DELIVERY, &ctel__delivery_fork_ops, d);
    *out = d;
    return CTEL_OK;
}

bool ctel__delivery_destroy(ctel__delivery *d)
{
    if (!d)
        return true;
    ctel__fork_unregister(&d->fork_entry);
    if (!d->shutdown_done)
        (void)ctel__delivery_shutdown(d, 5000);
    /* Nothing may still use `d`: the sender (after a shutdown that gave up
     * on it) or a write to disk a submitter started may be stuck on a disk
     * or a name lookup that never answers; then `d` is leaked, not freed
     * under them. */
    pthread_mutex_lock(&d->lock);
    uint64_t until = ctel__deadline_ns(STOP_GRACE_MS);
    while ((!d->exited || d->spilling) && ctel__mono_ns() < until)
        wait_until(&d->idle, &d->lock, until);
    bool busy = !d->exited || d->spilling;
    pthread_mutex_unlock(&d->lock);
    if (busy) {
        ctel__log(CTEL_LOG_ERROR, "%s: destroy: the sender or a disk spill write has not "
                                  "returned; leaking the export pipeline instead of freeing "
                                  "memory in use",
                  d->name);
        if (d->thread_started)
            pthread_detach(d->thread);
        return false;
    }
    if (d->thread_started)
        pthread_join(d->thread, NULL);
    while (d->queue.head)
        ctel__delivery_free_request(list_pop(&d->queue));
    while (d->overflow.head)
        ctel__delivery_free_request(list_pop(&d->overflow));
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
    return true;
}
