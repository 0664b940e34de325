/* sdk/trace/batch_processor.c — ended spans go into a bounded queue; one
 * worker thread exports them in batches.
 *
 * Application side (on_end): when the processor is the spans' only holder,
 * the span goes into the ending thread's block and a full block into the
 * block queue (span_handoff.h); otherwise one queue push per span. A full
 * queue drops and counts. The worker is woken only when a shard has reached
 * the wake threshold while the worker sleeps, so a producer running flat
 * out pays for a wake-up once per batch at most, not per span.
 *
 * Worker (batch_worker.c): exports when a batch is full, when the schedule
 * delay has passed, or when a flush asks for it; never calls the exporter
 * concurrently. Flush and shutdown wait on a condition variable with their
 * deadline; a hung exporter makes them time out, never hang.
 */
#include "sdk/trace/batch_processor.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

/* How long destroy waits for an export that outlived the shutdown deadline. */
#define CTEL__DESTROY_WAIT_MS 10000

/* Signals the worker if it is asleep; of several callers, the one that
 * clears the flag signals. Any thread, no lock held. */
static void wake_worker(ctel__batch_processor *bp)
{
    if (atomic_load_explicit(&bp->worker_sleeping, memory_order_relaxed) &&
        atomic_exchange_explicit(&bp->worker_sleeping, false, memory_order_acq_rel)) {
        pthread_mutex_lock(&bp->lock);
        pthread_cond_signal(&bp->wake_cv);
        pthread_mutex_unlock(&bp->lock);
    }
}

/* A producer whose push left `depth` spans in its shard wakes a sleeping
 * worker once that is a batch. */
static inline void wake_if_sleeping(ctel__batch_processor *bp, uint64_t depth)
{
    if (CTEL_UNLIKELY(depth >= bp->wake_depth))
        wake_worker(bp);
}

/* The hand-off's call when exited threads have left a batch of spans in
 * their blocks (see ctel__handoff_init). */
static void wake_for_orphans(void *ctx)
{
    wake_worker(ctx);
}

static void bp_on_end(struct ctel_span_processor *p, ctel_span *s)
{
    ctel__batch_processor *bp = (ctel__batch_processor *)p;
    /* Record-only spans are for processors, never for exporters. */
    if (CTEL_UNLIKELY(!(s->data.context.trace_flags & CTEL_TRACE_FLAG_SAMPLED))) {
        ctel__span_release(s);
        return;
    }
    if (CTEL_UNLIKELY(atomic_load_explicit(&bp->shut_down, memory_order_relaxed))) {
        atomic_fetch_add_explicit(&bp->dropped_after_shutdown, 1, memory_order_relaxed);
        ctel__span_release(s);
        return;
    }
    uint64_t depth;
    if (CTEL_LIKELY(bp->sole_owner)) {
        switch (ctel__handoff_put(&bp->handoff, s, &depth)) {
        case CTEL__HANDOFF_KEPT:
            return;
        case CTEL__HANDOFF_PUSHED:
            wake_if_sleeping(bp, depth * CTEL__MAG_SIZE);
            return;
        case CTEL__HANDOFF_DROPPED: {
            uint64_t before = atomic_load_explicit(&bp->handoff.dropped, memory_order_relaxed);
            CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                             "batch processor: queue full (%u spans); dropping spans — the "
                             "exporter is not keeping up (%llu dropped so far; see "
                             "ctel_sdk_stats_get)",
                             bp->cfg.max_queue_size,
                             (unsigned long long)(before + atomic_load(&bp->dropped_full)));
            return;
        }
        case CTEL__HANDOFF_UNAVAILABLE:
            break;
        }
    }
    /* The ending thread's home depot rides in the pointer's low bits. */
    void *tagged = ctel__bp_tag(s, ctel__span_pool_home());
    if (CTEL_UNLIKELY(!ctel__span_queue_push(&bp->queue, tagged, &depth))) {
        uint64_t before = atomic_fetch_add_explicit(&bp->dropped_full, 1, memory_order_relaxed);
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "batch processor: queue full (%u spans); dropping spans — the exporter "
                         "is not keeping up (%llu dropped so far; see ctel_sdk_stats_get)",
                         bp->cfg.max_queue_size, (unsigned long long)before + 1);
        ctel__span_release(s);
        return;
    }
    wake_if_sleeping(bp, depth);
}
static void deadline_to_timespec(uint64_t deadline_ns, struct timespec *ts)
{
    uint64_t now = ctel__mono_ns();
    uint64_t wait = deadline_ns > now ? deadline_ns - now : 0;
    if (wait > 3600ull * 1000000000ull)
        wait = 3600ull * 1000000000ull;
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t)(wait / 1000000000ull);
    ts->tv_nsec += (long)(wait % 1000000000ull);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ---- fork (see sdk/common/fork.h) ------------------------------------------- */

/* Parks the worker outside any export call. In pipeline mode an export only
 * encodes and submits, so the wait is short; a direct exporter may hold the
 * worker in a network call for up to its timeout, past the deadline. */
static void fork_park(void *obj, uint64_t deadline_ns)
{
    ctel__batch_processor *bp = obj;
    pthread_mutex_lock(&bp->lock);
    bp->fork_parked = !bp->thread_started || bp->worker_exited;
    if (bp->fork_parked || pthread_equal(pthread_self(), bp->thread)) {
        /* nothing to park; or fork() from inside the exporter: the child
         * treats this processor as shut down */
        pthread_mutex_unlock(&bp->lock);
        return;
    }
    bp->pause = true;
    atomic_store_explicit(&bp->pausing, true, memory_order_relaxed);
    pthread_cond_broadcast(&bp->wake_cv);
    while (!bp->parked && !bp->worker_exited && ctel__mono_ns() < deadline_ns) {
        struct timespec ts;
        deadline_to_timespec(deadline_ns, &ts);
        (void)pthread_cond_timedwait(&bp->done_cv, &bp->lock, &ts);
    }
    bp->fork_parked = bp->parked || bp->worker_exited;
    bool late = !bp->fork_parked;
    pthread_mutex_unlock(&bp->lock);
    if (late)
        ctel__log(CTEL_LOG_WARN,
                  "batch processor: fork: exporter \"%s\" did not return within "
                  "%d ms; the child will run this processor as shut down",
                  ctel_span_exporter_name(bp->exporter), CTEL__FORK_PARK_MS);
}

static void fork_lock(void *obj)
{
    ctel__batch_processor *bp = obj;
    pthread_mutex_lock(&bp->lock);
}

static void fork_parent(void *obj)
{
    ctel__batch_processor *bp = obj;
    bp->pause = false;
    atomic_store_explicit(&bp->pausing, false, memory_order_relaxed);
    pthread_cond_broadcast(&bp->wake_cv);
    pthread_mutex_unlock(&bp->lock);
}

/* Releases a span the forked child found queued: it is the parent's (the
 * parent exports it), so it is neither exported nor counted here. */
static void release_parents_span(void *item)
{
    unsigned h;
    ctel__span_release(ctel__bp_untag(item, &h));
}

/* The child's processor: fresh locks, an empty queue, zero counters, its own
 * worker. */
static void fork_child(void *obj)
{
    ctel__batch_processor *bp = obj;
    ctel__fork_reinit_mutex(&bp->lock);
    ctel__fork_reinit_cond(&bp->wake_cv, false);
    ctel__fork_reinit_cond(&bp->done_cv, false);
    ctel__span_queue_abandon(&bp->queue, release_parents_span);
    ctel__handoff_fork_child(&bp->handoff);
    atomic_store(&bp->handed_over, 0);
    atomic_store(&bp->handoff.dropped, 0);
    atomic_store(&bp->dropped_full, 0);
    atomic_store(&bp->dropped_after_shutdown, 0);
    atomic_store(&bp->exported, 0);
    atomic_store(&bp->dropped_failed, 0);
    atomic_store(&bp->dropped_shutdown, 0);
    atomic_store(&bp->export_calls, 0);
    atomic_store(&bp->export_failures, 0);
    atomic_store(&bp->worker_sleeping, false);
    bp->flush_requested = 0;
    bp->flush_done = 0;
    bp->flush_result = CTEL_OK;
    bp->pause = false;
    atomic_store(&bp->pausing, false);
    bp->parked = false;
    bool run = bp->thread_started && !bp->worker_exited && !bp->stop &&
               !atomic_load(&bp->shut_down) && bp->fork_parked;
    bool was_running = bp->thread_started && !bp->worker_exited && !bp->stop;
    /* the parent's worker does not exist here: never join it */
    bp->thread_started = false;
    if (run) {
        bp->worker_exited = false;
        int err = pthread_create(&bp->thread, NULL, ctel__batch_worker_main, bp);
        if (err == 0)
            bp->thread_started = true;
        else
            ctel__log(CTEL_LOG_ERROR,
                      "batch processor: forked child cannot start its worker "
                      "thread (%s)",
                      strerror(err));
        run = err == 0;
    } else if (was_running) {
        ctel__log(CTEL_LOG_WARN,
                  "batch processor: forked child runs exporter \"%s\" as shut "
                  "down (its worker was busy at the fork)",
                  ctel_span_exporter_name(bp->exporter));
    }
    if (!run) {
        /* spans ended in the child are dropped and counted as after shutdown */
        bp->stop = true;
        bp->worker_exited = true;
        atomic_store(&bp->shut_down, true);
    }
}

static const ctel__fork_ops k_fork_ops = {
    .park = fork_park,
    .lock = fork_lock,
    .parent = fork_parent,
    .child = fork_child,
};

/* The CPUs this process may run on (its affinity mask, which containers
 * and taskset narrow), else the machine's. */
static size_t usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (size_t)CPU_COUNT(&set);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (size_t)cpus : 1;
}

/* ctel_batch_options.preallocate: records for every span that can be in
 * flight while the worker is behind — a full queue, the batch it is
 * exporting, the worker's partly filled magazine for each home and two
 * magazines cached by each of one application thread per usable CPU — and
 * empty magazines for all of those, so neither a record nor a magazine is
 * ever allocated. Spans open at once beyond those caches' slack are not
 * counted in. Not fatal when the memory is not there: the pool then grows
 * on demand as it does without the option. Given back (what is parked)
 * when the processor is destroyed, so SDKs created and destroyed in turn
 * (a configuration reload) do not add up. */
static void preallocate(ctel__batch_processor *bp)
{
    size_t threads = usable_cpus();
    size_t cached = (CTEL__POOL_HOMES + 3 * threads) * CTEL__MAG_SIZE;
    size_t records = (size_t)bp->cfg.max_queue_size + bp->cfg.max_export_batch_size + cached;
    /* the blocks queued and those threads fill are magazines too */
    size_t blocks = (size_t)bp->cfg.max_queue_size / CTEL__MAG_SIZE + 2 * threads;
    size_t empties = CTEL__POOL_HOMES + 4 * threads + 1 + blocks;
    ctel_status rc = ctel__span_pool_reserve(records, empties);
    if (rc == CTEL_OK) {
        bp->reserved_records = records;
        bp->reserved_empties = empties;
    } else
        ctel__log(CTEL_LOG_WARN,
                  "batch processor: cannot preallocate %zu span records (%zu KiB): "
                  "%s; the record pool grows on demand instead",
                  records, records * (sizeof(ctel_span) + CTEL__SPAN_ALIGN) / 1024,
                  ctel_status_str(rc));
}

static ctel_status bp_start(struct ctel_span_processor *p, bool sole_owner)
{
    ctel__batch_processor *bp = (ctel__batch_processor *)p;
    bp->sole_owner = sole_owner;
    if (bp->thread_started)
        return CTEL_OK;
    if (bp->cfg.preallocate)
        preallocate(bp);
    int err = pthread_create(&bp->thread, NULL, ctel__batch_worker_main, bp);
    if (err) {
        ctel__log(CTEL_LOG_ERROR, "batch processor: cannot start its worker thread (%s)",
                  strerror(err));
        return err == ENOMEM || err == EAGAIN ? CTEL_ERR_NO_MEMORY : CTEL_ERR_INTERNAL;
    }
    bp->thread_started = true;
    ctel__fork_register(&bp->fork_entry, CTEL__FORK_RANK_PROCESSOR, &k_fork_ops, bp);
    return CTEL_OK;
}

static ctel_status bp_force_flush(struct ctel_span_processor *p, uint64_t deadline_ns)
{
    ctel__batch_processor *bp = (ctel__batch_processor *)p;
    if (!bp->thread_started)
        return CTEL_OK;
    pthread_mutex_lock(&bp->lock);
    if (bp->worker_exited) {
        pthread_mutex_unlock(&bp->lock);
        return CTEL_ERR_SHUTDOWN;
    }
    uint64_t gen = ++bp->flush_requested;
    pthread_cond_signal(&bp->wake_cv);
    ctel_status rc = CTEL_OK;
    while (bp->flush_done < gen && !bp->worker_exited) {
        if (ctel__mono_ns() >= deadline_ns) {
            rc = CTEL_ERR_TIMEOUT;
            break;
        }
        struct timespec ts;
        deadline_to_timespec(deadline_ns, &ts);
        (void)pthread_cond_timedwait(&bp->done_cv, &bp->lock, &ts);
    }
    if (rc == CTEL_OK && bp->flush_done >= gen)
        rc = bp->flush_result;
    pthread_mutex_unlock(&bp->lock);
    if (rc == CTEL_OK)
        rc = ctel_span_exporter_force_flush(bp->exporter, 0);
    return rc;
}

static ctel_status bp_shutdown(struct ctel_span_processor *p, uint64_t deadline_ns)
{
    ctel__batch_processor *bp = (ctel__batch_processor *)p;
    if (atomic_exchange(&bp->shut_down, true))
        return CTEL_ERR_SHUTDOWN;
    ctel_status rc = CTEL_OK;
    if (bp->thread_started) {
        pthread_mutex_lock(&bp->lock);
        bp->stop = true;
        pthread_cond_signal(&bp->wake_cv);
        while (!bp->worker_exited) {
            if (ctel__mono_ns() >= deadline_ns) {
                rc = CTEL_ERR_TIMEOUT;
                break;
            }
            struct timespec ts;
            deadline_to_timespec(deadline_ns, &ts);
            (void)pthread_cond_timedwait(&bp->done_cv, &bp->lock, &ts);
        }
        pthread_mutex_unlock(&bp->lock);
    }
    if (rc == CTEL_ERR_TIMEOUT) {
        /* The exporter is stuck: whatever the worker still finds is dropped
         * and counted once the exporter returns. */
        atomic_store(&bp->abandoned, true);
        ctel__log(CTEL_LOG_WARN,
                  "batch processor: shutdown deadline passed while exporter \"%s\" "
                  "was busy; remaining spans are dropped",
                  ctel_span_exporter_name(bp->exporter));
        return rc;
    }
    uint64_t now = ctel__mono_ns();
    uint32_t left_ms = deadline_ns == UINT64_MAX ? 0
                       : deadline_ns > now       ? (uint32_t)((deadline_ns - now) / 1000000ull) + 1
                                                 : 1;
    ctel_status src = ctel_span_exporter_shutdown(bp->exporter, left_ms);
    return src != CTEL_OK && src != CTEL_ERR_SHUTDOWN ? src : CTEL_OK;
}

static void bp_stats(struct ctel_span_processor *p, ctel_sdk_stats *acc)
{
    ctel__batch_processor *bp = (ctel__batch_processor *)p;
    /* Spans handed over in blocks count as queued from the moment their
     * thread appends them to its block until exported or dropped. */
    uint64_t pushed = ctel__span_queue_pushed(&bp->queue) + atomic_load(&bp->handed_over) +
                      ctel__handoff_waiting_spans(&bp->handoff);
    uint64_t full = atomic_load(&bp->dropped_full) + atomic_load(&bp->handoff.dropped);
    uint64_t late = atomic_load(&bp->dropped_after_shutdown);
    uint64_t exported = atomic_load(&bp->exported);
    uint64_t failed = atomic_load(&bp->dropped_failed);
    uint64_t shut = atomic_load(&bp->dropped_shutdown);
    acc->spans_exported += exported;
    acc->spans_dropped_queue_full += full;
    acc->spans_dropped_export_failed += failed;
    acc->spans_dropped_shutdown += shut + late;
    uint64_t resolved = exported + failed + shut;
    acc->spans_queued += pushed > resolved ? pushed - resolved : 0;
    acc->export_calls += atomic_load(&bp->export_calls);
    acc->export_failures += atomic_load(&bp->export_failures);
}

static void bp_destroy(struct ctel_span_processor *p)
{
    ctel__batch_processor *bp = (ctel__batch_processor *)p;
    ctel__fork_unregister(&bp->fork_entry);
    if (!atomic_load(&bp->shut_down))
        (void)bp_shutdown(p, ctel__deadline_ns(5000));
    if (bp->thread_started) {
        /* After a timed-out shutdown the worker is still inside the exporter;
         * give the export a bounded time to return before giving up. */
        uint64_t deadline = ctel__deadline_ns(CTEL__DESTROY_WAIT_MS);
        pthread_mutex_lock(&bp->lock);
        while (!bp->worker_exited && ctel__mono_ns() < deadline) {
            struct timespec ts;
            deadline_to_timespec(deadline, &ts);
            (void)pthread_cond_timedwait(&bp->done_cv, &bp->lock, &ts);
        }
        bool exited = bp->worker_exited;
        pthread_mutex_unlock(&bp->lock);
        if (!exited) {
            /* The exporter never returned: freeing now would pull memory from
             * under the worker. Leave it running, detached. */
            ctel__log(CTEL_LOG_ERROR,
                      "batch processor: worker still blocked in exporter \"%s\"; "
                      "leaking it instead of freeing memory in use",
                      ctel_span_exporter_name(bp->exporter));
            pthread_detach(bp->thread);
            return;
        }
        pthread_join(bp->thread, NULL);
    }
    /* Anything still queued (worker never started) is released. */
    void *left[64];
    size_t n;
    while ((n = ctel__span_queue_pop(&bp->queue, left, CTEL_ARRAY_LEN(left))) > 0) {
        atomic_fetch_add(&bp->dropped_shutdown, n);
        for (size_t i = 0; i < n; i++) {
            unsigned h;
            ctel__span_release(ctel__bp_untag(left[i], &h));
        }
    }
    uint64_t unexported;
    ctel__handoff_destroy(&bp->handoff, &unexported);
    atomic_fetch_add(&bp->dropped_shutdown, unexported);
    ctel__free(bp->collected);
    ctel_span_exporter_destroy(bp->exporter);
    ctel__span_queue_destroy(&bp->queue);
    ctel__span_pool_release(bp->reserved_records, bp->reserved_empties);
    pthread_mutex_destroy(&bp->lock);
    pthread_cond_destroy(&bp->wake_cv);
    pthread_cond_destroy(&bp->done_cv);
    ctel__free(bp);
}

static ctel_span_exporter *bp_exporter(struct ctel_span_processor *p)
{
    return ((ctel__batch_processor *)p)->exporter;
}

static const ctel__processor_vt k_batch_vt = {
    .exporter = bp_exporter,
    .on_start = NULL,
    .on_end = bp_on_end,
    .start = bp_start,
    .force_flush = bp_force_flush,
    .shutdown = bp_shutdown,
    .stats = bp_stats,
    .destroy = bp_destroy,
    .retains = true,
};

ctel_status ctel_batch_processor_create(ctel_span_exporter *exporter,
                                        const ctel_batch_options *opts, ctel_span_processor **out)
{
    if (out)
        *out = NULL;
    if (!exporter || !out) {
        ctel_span_exporter_destroy(exporter);
        return CTEL_ERR_INVALID_ARGUMENT;
    }
    ctel__batch_processor *bp = ctel__calloc(1, sizeof *bp);
    if (!bp) {
        ctel_span_exporter_destroy(exporter);
        return CTEL_ERR_NO_MEMORY;
    }
    bp->base.vt = &k_batch_vt;
    bp->exporter = exporter;
    ctel__batch_config_resolve(opts, &bp->cfg);
    ctel_status rc = ctel__span_queue_init(&bp->queue, bp->cfg.max_queue_size);
    if (rc == CTEL_OK) {
        rc = ctel__handoff_init(&bp->handoff, bp->cfg.max_queue_size, bp->cfg.max_export_batch_size,
                                wake_for_orphans, bp);
        if (rc != CTEL_OK)
            ctel__span_queue_destroy(&bp->queue);
    }
    if (rc != CTEL_OK) {
        ctel_span_exporter_destroy(exporter);
        ctel__free(bp);
        return rc;
    }
    /* Producers wake the worker when their own shard holds a batch (or half
     * its share, for small shares); the worker sleeps only while the whole
     * queue holds less, so the two conditions agree and a wake-up is never
     * answered by going back to sleep. */
    uint64_t half = bp->queue.shards[0].limit / 2;
    bp->wake_depth = bp->cfg.max_export_batch_size;
    if (half && half < bp->wake_depth)
        bp->wake_depth = half;
    if (bp->wake_depth == 0)
        bp->wake_depth = 1;
    pthread_mutex_init(&bp->lock, NULL);
    pthread_cond_init(&bp->wake_cv, NULL);
    pthread_cond_init(&bp->done_cv, NULL);
    *out = &bp->base;
    return CTEL_OK;
}
