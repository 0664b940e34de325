/* sdk/trace/batch_worker.c — the batch processor's export worker: sleeps
 * until a batch is queued, the schedule delay passes, a flush or the
 * shutdown asks, or exited threads have left a batch of spans in their
 * blocks; then drains the queues into batches and calls the exporter, never
 * concurrently. Busy, it polls instead of waiting to be signalled, so
 * producers running flat out pay for no wake-up.
 */
#include "sdk/trace/batch_processor.h"

#include <time.h>

/* Batches up to this size keep their home tags on the worker's stack. */
#define CTEL__MAX_BATCH_ON_STACK 4096
/* Queued blocks going into one export batch, at most. */
#define CTEL__MAX_BLOCKS_PER_BATCH 64

/* Polling while busy: every 10-100 us (see ctel__batch_worker_main), for up
 * to 20 polls without a full batch. */
#define BUSY_POLL_NS 100000L
#define BUSY_POLL_MIN_NS 10000L
#define BUSY_POLLS 20

/* Whether the worker has a reason to run before its schedule delay. */
static bool work_waiting(const ctel__batch_processor *bp)
{
    return ctel__batch_queued_spans(bp) >= bp->wake_depth ||
           ctel__handoff_orphans_waiting(&bp->handoff);
}

/* Calls the exporter with `n` spans and counts the outcome (or drops them
 * once a timed-out shutdown has abandoned the queue). Worker thread only. */
static ctel_status export_spans(ctel__batch_processor *bp, ctel_span **spans, size_t n)
{
    ctel_status rc = CTEL_OK;
    if (atomic_load_explicit(&bp->abandoned, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&bp->dropped_shutdown, n, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&bp->export_calls, 1, memory_order_relaxed);
        rc = ctel_span_exporter_export(bp->exporter, (const ctel_span_data *const *)spans, n,
                                       bp->cfg.export_timeout_ms);
        if (rc == CTEL_OK) {
            atomic_fetch_add_explicit(&bp->exported, n, memory_order_relaxed);
        } else {
            atomic_fetch_add_explicit(&bp->export_failures, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&bp->dropped_failed, n, memory_order_relaxed);
            CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                             "batch processor: exporter \"%s\" failed (%s); "
                             "%zu spans dropped",
                             ctel_span_exporter_name(bp->exporter), ctel_status_str(rc), n);
        }
    }
    return rc;
}

/* Exports `n` popped spans (tagged pointers, untagged in place) and releases
 * them. Worker thread only. */
static ctel_status export_batch(ctel__batch_processor *bp, ctel_span **spans, size_t n)
{
    uint8_t homes[CTEL__MAX_BATCH_ON_STACK];
    uint8_t *home = n <= CTEL__MAX_BATCH_ON_STACK ? homes : ctel__malloc(n);
    for (size_t i = 0; i < n; i++) {
        unsigned h;
        spans[i] = ctel__bp_untag(spans[i], &h);
        if (home)
            home[i] = (uint8_t)h;
    }
    ctel_status rc = export_spans(bp, spans, n);
    /* As the only holder the worker recycles records without reading them,
     * so their cache lines stay with the application threads. */
    if (bp->sole_owner && home) {
        for (size_t i = 0; i < n; i++)
            ctel__span_pool_return(spans[i], home[i]);
    } else if (bp->sole_owner) {
        for (size_t i = 0; i < n; i++)
            ctel__span_pool_put(spans[i]);
    } else {
        for (size_t i = 0; i < n; i++)
            ctel__span_release(spans[i]);
    }
    if (home != homes)
        ctel__free(home);
    return rc;
}

/* Fills `buf` with up to a batch of spans: first collected spans from
 * *next on, then, once every collected span has a place, the spans of whole
 * queued blocks (kept in blocks[], *nb of them, to be given back after the
 * export). In that order because a collected span stays in its block: the
 * block must not go back to the pool before the span is exported. Returns
 * the count. */
static size_t fill_batch(ctel__batch_processor *bp, ctel_span **buf, ctel__magazine **blocks,
                         size_t *nb, size_t collected, size_t *next)
{
    size_t max = bp->cfg.max_export_batch_size;
    size_t n = collected - *next < max ? collected - *next : max;
    if (n)
        memcpy(buf, bp->collected + *next, n * sizeof *buf);
    *next += n;
    *nb = 0;
    if (*next < collected)
        return n;
    size_t from_blocks = 0;
    while (*nb < CTEL__MAX_BLOCKS_PER_BATCH && n + CTEL__MAG_SIZE <= max &&
           ctel__handoff_pop(&bp->handoff, &blocks[*nb], 1) == 1) {
        ctel__magazine *m = blocks[(*nb)++];
        uint32_t k = m->n - m->taken; /* what no collect has taken */
        memcpy(buf + n, m->items + m->taken, k * sizeof *buf);
        n += k;
        from_blocks += k;
    }
    atomic_fetch_add_explicit(&bp->handed_over, from_blocks, memory_order_relaxed);
    return n;
}

/* Exports what is queued now; with `collect`, also what threads hold in
 * blocks not yet full. *total counts the spans. Returns the first failure.
 * Unless `all`, stops once it has exported as many spans as were queued
 * when it began: under a sustained overload the queues never empty, and the
 * worker must come back to its loop to collect partial blocks on schedule.
 * With `all` (shutdown) it goes on until both queues are empty. Stops early
 * (*cut) when a fork wants the worker parked: producers running flat out
 * could otherwise keep it here past the fork's deadline. */
static ctel_status drain(ctel__batch_processor *bp, ctel_span **buf, bool collect, bool all,
                         uint64_t *total, bool *cut)
{
    ctel_status first = CTEL_OK;
    *total = 0;
    *cut = false;
    size_t collected = 0, next = 0;
    if (collect) {
        collected = ctel__handoff_collect(&bp->handoff, &bp->collected, &bp->collected_cap);
        atomic_fetch_add_explicit(&bp->handed_over, collected, memory_order_relaxed);
    }
    /* (a queued block counts as full: the budget errs on the long side) */
    uint64_t budget = all ? UINT64_MAX : ctel__batch_queued_spans(bp) + collected;
    for (;;) {
        ctel_status rc = CTEL_OK;
        size_t n = ctel__span_queue_pop(&bp->queue, (void **)buf, bp->cfg.max_export_batch_size);
        if (n) {
            rc = export_batch(bp, buf, n);
        } else {
            /* Blocks and collected spans share batches: a flush or the
             * schedule makes one request of them, not two. Collected spans
             * go back to the pool with their blocks, never on their own. */
            ctel__magazine *blocks[CTEL__MAX_BLOCKS_PER_BATCH];
            size_t nb;
            n = fill_batch(bp, buf, blocks, &nb, collected, &next);
            if (n == 0 && nb == 0)
                break;
            if (n)
                rc = export_spans(bp, buf, n);
            for (size_t i = 0; i < nb; i++)
                ctel__span_pool_give_block(blocks[i]);
        }
        *total += n;
        if (rc != CTEL_OK && first == CTEL_OK)
            first = rc;
        /* (collected spans are exported first: they are marked taken, and
         * a few batches at most) */
        if (CTEL_UNLIKELY(atomic_load_explicit(&bp->pausing, memory_order_relaxed)) &&
            next == collected) {
            *cut = true;
            break;
        }
        if (*total >= budget && next == collected)
            break;
    }
    /* every collected span is exported now */
    ctel__handoff_release_retired(&bp->handoff);
    return first;
}

void *ctel__batch_worker_main(void *arg)
{
    ctel__batch_processor *bp = arg;
    ctel_span **buf = ctel__malloc(bp->cfg.max_export_batch_size * sizeof *buf);
    uint64_t delay_ns = (uint64_t)bp->cfg.schedule_delay_ms * 1000000ull;
    uint64_t next_export = ctel__mono_ns() + delay_ns;

    /* While spans arrive in full batches the worker polls instead of waiting
     * to be signalled: application threads then never pay for a wake-up
     * system call. After BUSY_POLLS polls without a batch it goes back to
     * sleeping until signalled or the delay passes. */
    unsigned busy_polls = 0;
    long poll_ns = BUSY_POLL_NS;
    ctel_status carried = CTEL_OK; /* first failure of a drain cut short by a fork */
    uint64_t last_drain = ctel__mono_ns();
    pthread_mutex_lock(&bp->lock);
    for (;;) {
        if (CTEL_UNLIKELY(bp->pause)) {
            /* a fork is coming: wait here, outside any export, until the
             * parent lets us go (see fork_park) */
            bp->parked = true;
            pthread_cond_broadcast(&bp->done_cv);
            while (bp->pause)
                pthread_cond_wait(&bp->wake_cv, &bp->lock);
            bp->parked = false;
            continue;
        }
        /* Sleep until: stop, a flush request, a full batch, or the delay. */
        while (!bp->stop && !bp->pause && bp->flush_requested == bp->flush_done &&
               !work_waiting(bp)) {
            uint64_t now = ctel__mono_ns();
            if (now >= next_export)
                break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            if (busy_polls) {
                busy_polls--;
                ts.tv_nsec += poll_ns;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                (void)pthread_cond_timedwait(&bp->wake_cv, &bp->lock, &ts);
                continue;
            }
            uint64_t wait = next_export - now;
            ts.tv_sec += (time_t)(wait / 1000000000ull);
            ts.tv_nsec += (long)(wait % 1000000000ull);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            atomic_store_explicit(&bp->worker_sleeping, true, memory_order_release);
            /* Re-check after announcing sleep: a producer that pushed before
             * seeing the flag will not signal. */
            if (work_waiting(bp)) {
                atomic_store_explicit(&bp->worker_sleeping, false, memory_order_relaxed);
                break;
            }
            (void)pthread_cond_timedwait(&bp->wake_cv, &bp->lock, &ts);
            atomic_store_explicit(&bp->worker_sleeping, false, memory_order_relaxed);
        }
        if (CTEL_UNLIKELY(bp->pause))
            continue;
        bool stop = bp->stop;
        uint64_t flush_gen = bp->flush_requested;
        /* Spans in threads' blocks not yet full are collected for a flush,
         * for the shutdown, once per schedule delay, and when exited threads
         * have left a batch of them. */
        bool collect = stop || flush_gen != bp->flush_done || ctel__mono_ns() >= next_export ||
                       ctel__handoff_orphans_waiting(&bp->handoff);
        pthread_mutex_unlock(&bp->lock);

        ctel_status rc = CTEL_ERR_NO_MEMORY;
        uint64_t drained = 0;
        bool cut = false;
        if (buf)
            rc = drain(bp, buf, collect, stop, &drained, &cut);
        if (carried != CTEL_OK)
            rc = carried;
        carried = CTEL_OK;
        uint64_t now = ctel__mono_ns();
        if (drained >= bp->wake_depth) {
            busy_polls = BUSY_POLLS;
            /* Poll no slower than a quarter of the queue fills at the rate
             * just seen: nobody signals a polling worker, so the interval
             * alone must keep the queue from overflowing. */
            uint64_t dt = now - last_drain;
            uint64_t quarter = bp->cfg.max_queue_size / 4 + 1;
            uint64_t fill_ns = dt / drained * quarter;
            poll_ns = fill_ns < BUSY_POLL_MIN_NS ? BUSY_POLL_MIN_NS
                      : fill_ns > BUSY_POLL_NS   ? BUSY_POLL_NS
                                                 : (long)fill_ns;
        }
        last_drain = now;
        if (collect)
            next_export = ctel__mono_ns() + delay_ns;

        pthread_mutex_lock(&bp->lock);
        if (CTEL_UNLIKELY(cut)) {
            /* park first; the flush or stop is finished after the fork */
            carried = rc;
            continue;
        }
        if (flush_gen != bp->flush_done) {
            bp->flush_done = flush_gen;
            bp->flush_result = rc;
            pthread_cond_broadcast(&bp->done_cv);
        }
        if (stop)
            break;
    }
    bp->worker_exited = true;
    pthread_cond_broadcast(&bp->done_cv);
    pthread_mutex_unlock(&bp->lock);
    ctel__free(buf);
    return NULL;
}
