/* Tests for sdk/trace/span_handoff.c through the batch processor: spans
 * handed over in blocks are exported exactly once — from full blocks, from
 * blocks a flush or the schedule collects while their thread is alive (also
 * while an overload keeps the worker busy), from the blocks of threads that
 * exited (many of them, with default sizes; memory bounded when the
 * exporter stalls) — and a thread whose hand-off belongs to another
 * processor queues its spans one by one. */
#include "support/test_support.h"
#include "sdk/trace/span_handoff.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* An exporter that keeps the span id of every span it is given, and counts
 * the spans named "idle". */
typedef struct recorder {
    pthread_mutex_t lock;
    uint64_t *ids;
    size_t n, cap;
    _Atomic size_t idle;
    _Atomic unsigned sleep_us; /* each export call takes this long */
} recorder;

static ctel_status record_export(void *state, const ctel_span_data *const *spans, size_t n,
                                 uint32_t timeout_ms)
{
    (void)timeout_ms;
    recorder *r = state;
    if (atomic_load(&r->sleep_us))
        usleep(atomic_load(&r->sleep_us));
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < n; i++) {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 1024;
            r->ids = realloc(r->ids, r->cap * sizeof *r->ids);
            if (!r->ids)
                abort();
        }
        uint64_t id;
        memcpy(&id, spans[i]->context.span_id, sizeof id);
        r->ids[r->n++] = id;
        if (spans[i]->name_len == 4 && memcmp(spans[i]->name, "idle", 4) == 0)
            atomic_fetch_add(&r->idle, 1);
    }
    pthread_mutex_unlock(&r->lock);
    return CTEL_OK;
}

static void recorder_init(recorder *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
}

static void recorder_free(recorder *r)
{
    free(r->ids);
    pthread_mutex_destroy(&r->lock);
}

static size_t recorded(recorder *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every span exported once: `want` ids, no two alike. */
static void assert_exported_once(recorder *r, size_t want)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n;
    qsort(r->ids, n, sizeof *r->ids, cmp_u64);
    size_t dups = 0;
    for (size_t i = 1; i < n; i++)
        dups += r->ids[i] == r->ids[i - 1];
    pthread_mutex_unlock(&r->lock);
    if (n != want || dups)
        fail_msg("exported %zu spans (%zu twice), want %zu once each", n, dups, want);
}

/* An SDK whose batch processor exports through `export` over `state`. */
static ctel_sdk *sdk_over(ctel_status (*export)(void *, const ctel_span_data *const *, size_t,
                                                uint32_t),
                          void *state, int queue, int batch, int delay_ms)
{
    ctel_span_exporter_ops ops = {"test", export, NULL, NULL, NULL};
    ctel_span_exporter *exp = NULL;
    assert_int_equal(ctel_span_exporter_create(&ops, state, &exp), CTEL_OK);
    ctel_batch_options bo = CTEL_BATCH_OPTIONS_INIT;
    bo.max_queue_size = queue;
    bo.max_export_batch_size = batch;
    bo.schedule_delay_ms = delay_ms;
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_batch_processor_create(exp, &bo, &proc), CTEL_OK);
    return ts_sdk_with_processor(proc);
}

static ctel_sdk *recording_sdk(recorder *r, int queue, int batch, int delay_ms)
{
    return sdk_over(record_export, r, queue, batch, delay_ms);
}

static void end_named(ctel_tracer *t, const char *name, int n)
{
    for (int i = 0; i < n; i++)
        ctel_span_end(ctel_span_start(t, name, NULL));
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- a live thread's block ----------------------------------------------- */

typedef struct stepper {
    ctel_tracer *tracer;
    pthread_barrier_t *step;
    int first, second;
} stepper;

/* Ends `first` spans, waits while the main thread flushes, ends `second`
 * more, waits again. */
static void *two_steps(void *p)
{
    stepper *s = p;
    end_named(s->tracer, "op", s->first);
    pthread_barrier_wait(s->step);
    pthread_barrier_wait(s->step);
    end_named(s->tracer, "op", s->second);
    pthread_barrier_wait(s->step);
    pthread_barrier_wait(s->step);
    return NULL;
}

/* A flush exports what a live thread holds in a block that is not full;
 * when that block fills later, the spans already exported are not exported
 * again. */
static void test_flush_collects_a_live_threads_block_once(void **state)
{
    (void)state;
    recorder r;
    recorder_init(&r);
    ctel_sdk *sdk = recording_sdk(&r, 4096, 512, 60000);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "handoff", NULL, NULL);
    pthread_barrier_t step;
    pthread_barrier_init(&step, NULL, 2);
    stepper s = {t, &step, 10, 60};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, two_steps, &s), 0);
    pthread_barrier_wait(&step); /* 10 ended, the thread is alive */
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    assert_int_equal(st.spans_queued, 10); /* counted while in the block */
    assert_int_equal(st.spans_ended, 10);
    assert_int_equal(ctel_sdk_force_flush(sdk, 10000), CTEL_OK);
    assert_int_equal(recorded(&r), 10);
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step); /* 60 more: the block filled and went */
    assert_int_equal(ctel_sdk_force_flush(sdk, 10000), CTEL_OK);
    assert_exported_once(&r, 70);
    pthread_barrier_wait(&step);
    pthread_join(tid, NULL);
    pthread_barrier_destroy(&step);

    ctel_sdk_stats_get(sdk, &st);
    assert_int_equal(st.spans_exported, 70);
    assert_int_equal(st.spans_queued, 0);
    ctel_sdk_destroy(sdk);
    recorder_free(&r);
}

/* ---- the schedule -------------------------------------------------------- */

typedef struct busy_arg {
    ctel_tracer *tracer;
    _Atomic bool stop;
} busy_arg;

static void *flat_out(void *p)
{
    busy_arg *a = p;
    while (!atomic_load(&a->stop))
        end_named(a->tracer, "busy", 256);
    return NULL;
}

static void *busy(void *p)
{
    busy_arg *a = p;
    while (!atomic_load(&a->stop)) {
        end_named(a->tracer, "busy", 256);
        usleep(200);
    }
    return NULL;
}

/* A thread that ended a few spans and went quiet has them exported within
 * about the schedule delay, even while another thread's full blocks keep
 * the worker busy (the worker collects once per delay, not only when it
 * has nothing else to do). */
static void test_schedule_collects_an_idle_threads_block_while_busy(void **state)
{
    (void)state;
    recorder r;
    recorder_init(&r);
    ctel_sdk *sdk = recording_sdk(&r, 65536, 512, 100);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "handoff", NULL, NULL);
    busy_arg b = {t, false};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, busy, &b), 0);
    while (recorded(&r) < 4096) /* the busy thread's blocks are flowing */
        usleep(1000);
    end_named(t, "idle", 5);
    uint64_t t0 = mono_ms();
    while (atomic_load(&r.idle) < 5 && mono_ms() - t0 < 3000)
        usleep(1000);
    uint64_t waited = mono_ms() - t0;
    size_t idle = atomic_load(&r.idle);
    atomic_store(&b.stop, true);
    pthread_join(tid, NULL);
    if (idle != 5)
        fail_msg("%zu of the idle thread's 5 spans exported after %llu ms (delay 100 ms)", idle,
                 (unsigned long long)waited);
    assert_true(waited < 2000);
    ctel_sdk_destroy(sdk);
    recorder_free(&r);
}

/* Under a sustained overload (a producer running flat out, an exporter
 * slower than it, the queue never empty) the worker still collects a quiet
 * thread's block on schedule: it comes back from exporting to its loop
 * instead of draining a queue that never empties. */
static void test_schedule_collects_an_idle_threads_block_under_overload(void **state)
{
    (void)state;
    recorder r;
    recorder_init(&r);
    atomic_store(&r.sleep_us, 2000); /* 512 spans per 2 ms at most */
    ctel_sdk *sdk = recording_sdk(&r, 4096, 512, 100);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "handoff", NULL, NULL);
    busy_arg b = {t, false};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, flat_out, &b), 0);
    uint64_t t0 = mono_ms();
    while (recorded(&r) < 4096 && mono_ms() - t0 < 10000)
        usleep(1000);
    end_named(t, "idle", 5);
    t0 = mono_ms();
    while (atomic_load(&r.idle) < 5 && mono_ms() - t0 < 3000)
        usleep(1000);
    uint64_t waited = mono_ms() - t0;
    size_t idle = atomic_load(&r.idle);
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    atomic_store(&b.stop, true);
    pthread_join(tid, NULL);
    if (idle != 5)
        fail_msg("%zu of the idle thread's 5 spans exported after %llu ms (delay 100 ms) "
                 "while the queue overflowed (%llu dropped)",
                 idle, (unsigned long long)waited, (unsigned long long)st.spans_dropped_queue_full);
    assert_true(waited < 2000);
    atomic_store(&r.sleep_us, 0);
    ctel_sdk_destroy(sdk);
    recorder_free(&r);
}

/* ---- threads that exit --------------------------------------------------- */

static void *end_ten_and_exit(void *p)
{
    end_named(p, "op", 10);
    return NULL;
}

static void *end_three_and_exit(void *p)
{
    end_named(p, "op", 3);
    return NULL;
}

/* `threads` threads, one after the other, each running `fn` over `t`. */
static void run_threads_in_turn(ctel_tracer *t, int threads, void *(*fn)(void *))
{
    for (int i = 0; i < threads; i++) {
        pthread_t tid;
        assert_int_equal(pthread_create(&tid, NULL, fn, t), 0);
        pthread_join(tid, NULL);
    }
}

/* The block of a thread that exits waits for the worker's next collect: a
 * hundred threads ending ten spans each have all their spans exported,
 * once. */
static void test_exited_threads_blocks_are_exported(void **state)
{
    (void)state;
    recorder r;
    recorder_init(&r);
    ctel_sdk *sdk = recording_sdk(&r, 65536, 512, 60000);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "handoff", NULL, NULL);
    run_threads_in_turn(t, 50, end_ten_and_exit);
    /* half of the entries are forgotten by this collect */
    assert_int_equal(ctel_sdk_force_flush(sdk, 10000), CTEL_OK);
    run_threads_in_turn(t, 50, end_ten_and_exit);
    assert_int_equal(ctel_sdk_force_flush(sdk, 10000), CTEL_OK);
    assert_exported_once(&r, 1000);
    ctel_sdk_destroy(sdk);
    recorder_free(&r);
}

/* Default sizes (a queue of 2048 spans, so room for 32 blocks): a hundred
 * threads that each end three spans and exit, all at once, lose none. An
 * exited thread's block waits for the worker where it is and takes no queue
 * slot for its three spans. */
static void test_many_short_lived_threads_lose_nothing_with_defaults(void **state)
{
    (void)state;
    recorder r;
    recorder_init(&r);
    ctel_sdk *sdk = recording_sdk(&r, -1, -1, -1);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "handoff", NULL, NULL);
    pthread_t tids[100];
    for (int i = 0; i < 100; i++)
        assert_int_equal(pthread_create(&tids[i], NULL, end_three_and_exit, t), 0);
    for (int i = 0; i < 100; i++)
        pthread_join(tids[i], NULL);
    assert_int_equal(ctel_sdk_force_flush(sdk, 10000), CTEL_OK);
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    assert_int_equal(st.spans_dropped_queue_full, 0);
    assert_exported_once(&r, 300);
    ctel_sdk_destroy(sdk);
    recorder_free(&r);
}

/* Spans exited threads leave behind wake the worker once they make a batch:
 * with a schedule delay of a minute and no flush, they are exported within
 * seconds. */
static void test_exited_threads_spans_wake_the_worker(void **state)
{
    (void)state;
    recorder r;
    recorder_init(&r);
    ctel_sdk *sdk = recording_sdk(&r, 2048, 512, 60000);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "handoff", NULL, NULL);
    run_threads_in_turn(t, 200, end_three_and_exit); /* 600 spans, one batch is 512 */
    uint64_t t0 = mono_ms();
    while (recorded(&r) < 512 && mono_ms() - t0 < 5000)
        usleep(1000);
    size_t early = recorded(&r);
    if (early < 512)
        fail_msg("%zu of 600 spans exported 5 s after their threads exited "
                 "(schedule delay 60 s, a batch is 512)",
                 early);
    assert_int_equal(ctel_sdk_force_flush(sdk, 10000), CTEL_OK);
    assert_exported_once(&r, 600);
    ctel_sdk_destroy(sdk);
    recorder_free(&r);
}

/* An exporter that blocks until opened, then records. */
typedef struct gate {
    recorder r;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool open;
    _Atomic int entered;
} gate;

static ctel_status gate_export(void *state, const ctel_span_data *const *spans, size_t n,
                               uint32_t timeout_ms)
{
    gate *g = state;
    atomic_fetch_add(&g->entered, 1);
    pthread_mutex_lock(&g->lock);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->lock);
    pthread_mutex_unlock(&g->lock);
    return record_export(&g->r, spans, n, timeout_ms);
}

/* While the exporter stalls, threads keep exiting: what they leave behind
 * is bounded by the queue size (256 spans here, four blocks), beyond it
 * their blocks are queued, then dropped and counted. Every span is either
 * exported once or counted as dropped. */
static void test_exited_threads_spans_are_bounded_while_the_exporter_stalls(void **state)
{
    (void)state;
    gate g = {0};
    recorder_init(&g.r);
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.cv, NULL);
    ctel_sdk *sdk = sdk_over(gate_export, &g, 256, 64, 60000);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "handoff", NULL, NULL);
    end_named(t, "op", 64); /* one full block: the worker takes it and stalls */
    uint64_t t0 = mono_ms();
    while (atomic_load(&g.entered) == 0 && mono_ms() - t0 < 10000)
        usleep(1000);
    assert_int_equal(atomic_load(&g.entered), 1);
    run_threads_in_turn(t, 100, end_ten_and_exit);
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    /* at most 256 left behind and four queued blocks of ten */
    assert_true(st.spans_dropped_queue_full >= 1000 - 256 - 4 * 10);
    /* nothing exported yet: every span not dropped is waiting, and counted
     * as queued exactly (blocks of ten count ten, left-behind spans count) */
    assert_int_equal(st.spans_exported, 0);
    assert_int_equal(st.spans_queued, 64 + 1000 - st.spans_dropped_queue_full);
    pthread_mutex_lock(&g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.lock);
    assert_int_equal(ctel_sdk_force_flush(sdk, 10000), CTEL_OK);
    ctel_sdk_stats_get(sdk, &st);
    assert_exported_once(&g.r, (size_t)st.spans_exported);
    assert_int_equal(st.spans_exported + st.spans_dropped_queue_full, 64 + 1000);
    assert_int_equal(st.spans_queued, 0);
    ctel_sdk_destroy(sdk);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.lock);
    recorder_free(&g.r);
}

/* ---- several processors -------------------------------------------------- */

/* One thread ends spans for two SDKs in turn: the first keeps the thread's
 * hand-off, the second gets its spans one by one; each exports exactly its
 * own. Once the first SDK is destroyed, a new one takes the hand-off over. */
static void test_a_second_processor_queues_span_by_span(void **state)
{
    (void)state;
    recorder r1, r2, r3;
    recorder_init(&r1);
    recorder_init(&r2);
    recorder_init(&r3);
    ctel_sdk *a = recording_sdk(&r1, 4096, 512, 60000);
    ctel_sdk *b = recording_sdk(&r2, 4096, 512, 60000);
    ctel_tracer *ta = ctel_sdk_tracer(a, "a", NULL, NULL);
    ctel_tracer *tb = ctel_sdk_tracer(b, "b", NULL, NULL);
    for (int i = 0; i < 300; i++) {
        end_named(ta, "op", 1);
        end_named(tb, "op", 2);
    }
    uint64_t first_id = ctel__t_handoff.id;
    assert_true(first_id != 0);
    assert_int_equal(ctel_sdk_force_flush(a, 10000), CTEL_OK);
    assert_int_equal(ctel_sdk_force_flush(b, 10000), CTEL_OK);
    assert_exported_once(&r1, 300);
    assert_exported_once(&r2, 600);
    ctel_sdk_destroy(a);

    ctel_sdk *c = recording_sdk(&r3, 4096, 512, 60000);
    ctel_tracer *tc = ctel_sdk_tracer(c, "c", NULL, NULL);
    end_named(tc, "op", 100);
    assert_true(ctel__t_handoff.id != 0 && ctel__t_handoff.id != first_id);
    assert_int_equal(ctel_sdk_force_flush(c, 10000), CTEL_OK);
    assert_exported_once(&r3, 100);
    ctel_sdk_destroy(b);
    ctel_sdk_destroy(c);
    recorder_free(&r1);
    recorder_free(&r2);
    recorder_free(&r3);
}

typedef struct four_sdks {
    ctel_tracer *t[4];
    uint64_t checks; /* registry checks the thread made */
} four_sdks;

/* The first SDK's spans, then 1000 rounds of one span for each of the
 * others, from a thread of its own. */
static void *round_robin(void *p)
{
    four_sdks *f = p;
    end_named(f->t[0], "op", 1);
    for (int i = 0; i < 1000; i++)
        for (int k = 1; k < 4; k++)
            end_named(f->t[k], "op", 1);
    f->checks = ctel__t_handoff.registry_checks;
    return NULL;
}

/* A thread ending spans for four SDKs in turn asks the hand-off registry
 * (a process-wide lock) once for each SDK that cannot have its hand-off,
 * not once per span. */
static void test_refusals_are_remembered_for_several_processors(void **state)
{
    (void)state;
    recorder r[4];
    ctel_sdk *sdk[4];
    four_sdks f = {0};
    for (int k = 0; k < 4; k++) {
        recorder_init(&r[k]);
        sdk[k] = recording_sdk(&r[k], 4096, 512, 60000);
        f.t[k] = ctel_sdk_tracer(sdk[k], "rr", NULL, NULL);
    }
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, round_robin, &f), 0);
    pthread_join(tid, NULL);
    if (f.checks > 4)
        fail_msg("the thread asked the registry %llu times for 3001 spans of four SDKs",
                 (unsigned long long)f.checks);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(ctel_sdk_force_flush(sdk[k], 10000), CTEL_OK);
        assert_exported_once(&r[k], k == 0 ? 1 : 1000);
        ctel_sdk_destroy(sdk[k]);
        recorder_free(&r[k]);
    }
}

/* ---- concurrency --------------------------------------------------------- */

enum { RACE_THREADS = 4, RACE_SPANS = 20000 };

typedef struct racer {
    ctel_tracer *tracer;
    ctel_sdk *sdk;
    _Atomic int *running;
} racer;

static void *race_end(void *p)
{
    racer *a = p;
    for (int i = 0; i < RACE_SPANS; i++) {
        end_named(a->tracer, "op", 1);
        if (i % 997 == 0)
            sched_yield();
    }
    atomic_fetch_sub(a->running, 1);
    return NULL;
}

/* Threads append to their blocks while another thread flushes over and
 * over, so collects race with appends and with full blocks being queued:
 * every span is exported exactly once. */
static void test_collects_racing_appends_export_each_span_once(void **state)
{
    (void)state;
    recorder r;
    recorder_init(&r);
    ctel_sdk *sdk = recording_sdk(&r, 65536, 512, 5);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "handoff", NULL, NULL);
    _Atomic int running = RACE_THREADS;
    pthread_t tid[RACE_THREADS];
    racer a = {t, sdk, &running};
    for (int i = 0; i < RACE_THREADS; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, race_end, &a), 0);
    int flushes = 0;
    while (atomic_load(&running) > 0) {
        assert_int_equal(ctel_sdk_force_flush(sdk, 10000), CTEL_OK);
        flushes++;
    }
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(tid[i], NULL);
    assert_int_equal(ctel_sdk_force_flush(sdk, 10000), CTEL_OK);
    assert_true(flushes > 1);
    assert_exported_once(&r, (size_t)RACE_THREADS * RACE_SPANS);
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    assert_int_equal(st.spans_exported, (uint64_t)RACE_THREADS * RACE_SPANS);
    assert_int_equal(st.spans_dropped_queue_full + st.spans_dropped_shutdown + st.spans_queued, 0);
    ctel_sdk_destroy(sdk);
    recorder_free(&r);
}

/* Spans a thread still holds when the SDK shuts down are exported by the
 * shutdown, not dropped. */
static void test_shutdown_collects_blocks(void **state)
{
    (void)state;
    recorder r;
    recorder_init(&r);
    ctel_sdk *sdk = recording_sdk(&r, 4096, 512, 60000);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "handoff", NULL, NULL);
    end_named(t, "op", 100); /* one full block, 36 in the next */
    assert_int_equal(ctel_sdk_shutdown(sdk, 10000), CTEL_OK);
    assert_exported_once(&r, 100);
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    assert_int_equal(st.spans_exported, 100);
    assert_int_equal(st.spans_dropped_shutdown, 0);
    ctel_sdk_destroy(sdk);
    recorder_free(&r);
}

/* ---- a full queue while collected spans are being exported --------------- */

/* An exporter that checks the spans it is given stay the same for the whole
 * call (a record reused under it would change its span id). */
typedef struct watcher {
    _Atomic unsigned delay_ms;
    _Atomic size_t changed, exported, calls_of_ten;
} watcher;

static ctel_status watch_export(void *state, const ctel_span_data *const *spans, size_t n,
                                uint32_t timeout_ms)
{
    (void)timeout_ms;
    watcher *w = state;
    uint64_t ids[512];
    if (n > 512)
        abort();
    for (size_t i = 0; i < n; i++)
        memcpy(&ids[i], spans[i]->context.span_id, 8);
    if (n == 10)
        atomic_fetch_add(&w->calls_of_ten, 1);
    usleep(atomic_load(&w->delay_ms) * 1000u);
    for (size_t i = 0; i < n; i++)
        if (memcmp(&ids[i], spans[i]->context.span_id, 8) != 0)
            atomic_fetch_add(&w->changed, 1);
    atomic_fetch_add(&w->exported, n);
    return CTEL_OK;
}

static void *flush_sdk(void *sdk)
{
    (void)ctel_sdk_force_flush(sdk, 30000);
    return NULL;
}

/* A flush collects 10 spans from the thread's block and exports them
 * slowly; meanwhile the block fills and the queue is full, so the block is
 * dropped: its records must not be reused before that export returns. */
static void test_dropped_block_waits_for_its_collected_spans(void **state)
{
    (void)state;
    watcher w = {0};
    atomic_store(&w.delay_ms, 300);
    ctel_sdk *sdk = sdk_over(watch_export, &w, 128 /* two blocks */, 64, 60000);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "handoff", NULL, NULL);

    end_named(t, "op", 3 * 64); /* the worker takes one block, two wait */
    end_named(t, "op", 10);
    pthread_t flusher;
    assert_int_equal(pthread_create(&flusher, NULL, flush_sdk, sdk), 0);
    uint64_t t0 = mono_ms();
    while (atomic_load(&w.calls_of_ten) == 0 && mono_ms() - t0 < 10000)
        usleep(1000);
    assert_int_equal(atomic_load(&w.calls_of_ten), 1); /* the 10 are being exported */
    end_named(t, "op", 54);                            /* the block fills; the queue is full */
    end_named(t, "op", 256);                           /* records come back to this thread */
    pthread_join(flusher, NULL);
    atomic_store(&w.delay_ms, 0);
    assert_int_equal(ctel_sdk_force_flush(sdk, 30000), CTEL_OK);
    assert_int_equal(atomic_load(&w.changed), 0);
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    assert_true(st.spans_dropped_queue_full >= 54);
    assert_int_equal(st.spans_exported, atomic_load(&w.exported));
    assert_int_equal(st.spans_exported + st.spans_dropped_queue_full, 3 * 64 + 10 + 54 + 256);
    ctel_sdk_destroy(sdk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_collects_a_live_threads_block_once),
        cmocka_unit_test(test_schedule_collects_an_idle_threads_block_while_busy),
        cmocka_unit_test(test_schedule_collects_an_idle_threads_block_under_overload),
        cmocka_unit_test(test_exited_threads_blocks_are_exported),
        cmocka_unit_test(test_many_short_lived_threads_lose_nothing_with_defaults),
        cmocka_unit_test(test_exited_threads_spans_wake_the_worker),
        cmocka_unit_test(test_exited_threads_spans_are_bounded_while_the_exporter_stalls),
        cmocka_unit_test(test_a_second_processor_queues_span_by_span),
        cmocka_unit_test(test_refusals_are_remembered_for_several_processors),
        cmocka_unit_test(test_collects_racing_appends_export_each_span_once),
        cmocka_unit_test(test_shutdown_collects_blocks),
        cmocka_unit_test(test_dropped_block_waits_for_its_collected_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
