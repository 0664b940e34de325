/* sdk/pipeline/delivery_fork.c — fork() and the delivery (see
 * sdk/common/fork.h): prepare parks the sender outside any lock, send and
 * request; the child starts over with nothing of the parent's. */
#include "sdk/pipeline/delivery_internal.h"

#include <unistd.h>

#include "sdk/pipeline/spill_internal.h" /* spill_forget_after_fork */

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
    while (d->queue.head)
        ctel__delivery_free_request(list_pop(&d->queue));
    d->in_flight_items = 0;
    /* A write under way is the parent's; its thread does not exist here,
     * so nothing would free its copy of the request. */
    while (d->writing) {
        request *r = d->writing;
        d->writing = r->next;
        ctel__delivery_free_request(r);
    }
    d->spilling = 0;
    d->reading = false;
    while (d->overflow.head) /* the parent writes them */
        ctel__delivery_free_request(list_pop(&d->overflow));
    d->spill_requested_items = 0; /* a spill of the child's own starts at zero */
    d->replay_settled_items = 0;
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
            ctel__delivery_open_spill(d, true);
        run = pthread_create(&d->thread, NULL, ctel__delivery_sender_main, d) == 0;
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
    ctel__delivery_publish(d); /* only this thread exists until the hooks return */
}

const ctel__fork_ops ctel__delivery_fork_ops = {
    .park = fork_park,
    .lock = fork_lock,
    .parent = fork_parent,
    .child = fork_child,
};
