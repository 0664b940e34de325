/* Integration: while the export pipeline's sender is stuck writing to a
 * disk that does not answer, stats and readiness still answer and the
 * export worker keeps handing batches over; while the disk is merely slow,
 * every span stays counted exactly once in every stats snapshot. The
 * Collector is down (a closed port on loopback, real libcurl), the breaker
 * is open and the sender drains its queue into the disk spill; the test
 * holds the spill's lock, which is what a hung disk looks like to a writer
 * (the sender waits there with the delivery's lock let go). A health
 * endpoint calling ctel_otlp_exporter_get_stats or ctel_sdk_ready from
 * another thread must still get its answer within its timeout. */
#include "support/test_support.h"
#include "exporters/otlp/otlp_exporter.h"
#include "sdk/pipeline/delivery.h"
#include "sdk/pipeline/spill_internal.h"
#include "tools/ctel/sink/sink.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A loopback port nobody listens on: a sink's, after it stopped. */
static uint16_t closed_port(void)
{
    ctel_sink_options so = {0};
    ctel_sink *sink = NULL;
    char err[256];
    assert_int_equal(ctel_sink_start(&so, &sink, err, sizeof err), 0);
    uint16_t port = ctel_sink_port(sink);
    ctel_sink_stop(sink);
    return port;
}

typedef struct health_call {
    ctel_sdk *sdk;
    ctel_span_exporter *exp;
    _Atomic bool done;
    ctel_status stats_rc;
    ctel_otlp_exporter_stats st;
    size_t endpoints;
    bool all_ready;
    ctel_probe_result pr;
} health_call;

/* What a health endpoint does: counters, then readiness (200 ms budget). */
static void *health_endpoint(void *p)
{
    health_call *h = p;
    h->stats_rc = ctel_otlp_exporter_get_stats(h->exp, &h->st);
    h->endpoints = ctel_sdk_ready(h->sdk, 200, &h->pr, 1, &h->all_ready);
    atomic_store(&h->done, true);
    return NULL;
}

/* Every span handed to the pipeline in exactly one place. */
static void assert_accounted(const ctel_otlp_exporter_stats *st)
{
    uint64_t placed = st->delivered + st->rejected + st->dropped_queue_full +
                      st->dropped_retries_exhausted + st->dropped_spill_full +
                      st->dropped_spill_age + st->dropped_shutdown + st->queued + st->in_flight +
                      st->on_disk;
    if (st->submitted + st->recovered != placed)
        fail_msg("submitted %llu + recovered %llu != %llu accounted for (queued %llu, in flight "
                 "%llu, on disk %llu, spilled %llu)",
                 (unsigned long long)st->submitted, (unsigned long long)st->recovered,
                 (unsigned long long)placed, (unsigned long long)st->queued,
                 (unsigned long long)st->in_flight, (unsigned long long)st->on_disk,
                 (unsigned long long)st->spilled);
}

typedef struct stalled {
    char dir[64];
    ctel_span_exporter *exp;
    ctel_sdk *sdk;
    ctel_tracer *tracer;
    ctel__spill *spill;
    uint64_t spilled_before;
} stalled;

/* An OTLP/HTTP exporter with a spill, to a Collector that is down, behind a
 * batch processor exporting every 20 ms; returns once the breaker is open.
 * queue_bytes: the pipeline's memory queue (0: the default). */
static void start_with_the_collector_down(stalled *x, int64_t queue_bytes)
{
    snprintf(x->dir, sizeof x->dir, "/tmp/ctel-disk-stall-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/traces", (unsigned)closed_port());
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.endpoint = url;
    o.timeout_ms = 500;
    o.spill_dir = x->dir;
    if (queue_bytes)
        o.queue_max_bytes = queue_bytes;
    assert_int_equal(ctel_otlp_http_exporter_create(&o, &x->exp), CTEL_OK);
    ctel_batch_options bo = CTEL_BATCH_OPTIONS_INIT;
    bo.schedule_delay_ms = 20;
    bo.export_timeout_ms = 500;
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_batch_processor_create(x->exp, &bo, &proc), CTEL_OK);
    x->sdk = ts_sdk_with_processor(proc);
    x->tracer = ctel_sdk_tracer(x->sdk, "disk-stall", NULL, NULL);

    /* Refused attempts open the breaker (threshold 5, one attempt each). */
    ctel_otlp_exporter_stats st;
    for (int i = 0; i < 50; i++) {
        ts_end_spans(x->tracer, 10);
        ctel_sdk_force_flush(x->sdk, 2000);
        assert_int_equal(ctel_otlp_exporter_get_stats(x->exp, &st), CTEL_OK);
        if (st.breaker_state == CTEL_BREAKER_OPEN)
            break;
    }
    assert_int_equal(st.breaker_state, CTEL_BREAKER_OPEN);
    x->spilled_before = st.spilled;
    x->spill = ctel__delivery_spill(ctel__otlp_exporter_delivery(x->exp));
    assert_non_null(x->spill);
}

/* The disk answers again: everything lands on it and adds up. */
static void finish(stalled *x)
{
    ctel_otlp_exporter_stats st;
    assert_int_equal(ctel_sdk_force_flush(x->sdk, 5000), CTEL_OK);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(ctel_otlp_exporter_get_stats(x->exp, &st), CTEL_OK);
        if (!st.queued && !st.in_flight)
            break;
        sleep_ms(20);
    }
    assert_true(st.spilled > x->spilled_before);
    assert_int_equal(st.queued + st.in_flight, 0);
    assert_accounted(&st);
    ctel_sdk_stats ss;
    ctel_sdk_stats_get(x->sdk, &ss);
    assert_int_equal(ss.spans_dropped_queue_full + ss.spans_dropped_export_failed, 0);
    assert_int_equal(st.submitted, ss.spans_exported);
    ctel_sdk_shutdown(x->sdk, 5000);
    ctel_sdk_destroy(x->sdk);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", x->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_stats_and_readiness_answer_while_the_disk_hangs(void **state)
{
    (void)state;
    stalled x;
    start_with_the_collector_down(&x, 0);
    ctel_sdk *sdk = x.sdk;
    ctel_span_exporter *exp = x.exp;
    ctel_tracer *t = x.tracer;
    ctel__spill *spill = x.spill;

    /* The disk stops answering; more spans come and the sender, draining
     * them to disk, gets stuck in the write. */
    pthread_mutex_lock(&spill->mu);
    ts_end_spans(t, 100);
    sleep_ms(300); /* the batch worker exports after 20 ms; the sender spills */

    health_call h = {.sdk = sdk, .exp = exp};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, health_endpoint, &h), 0);
    uint64_t t0 = mono_ms();
    while (!atomic_load(&h.done) && mono_ms() - t0 < 3000)
        sleep_ms(5);
    uint64_t waited = mono_ms() - t0;
    bool answered = atomic_load(&h.done);
    /* The export worker keeps handing batches to the pipeline meanwhile
     * (they wait in its memory queue), instead of waiting for the disk. */
    ctel_sdk_stats ss;
    ctel_sdk_stats_get(sdk, &ss);
    uint64_t handed = ss.spans_exported;
    ts_end_spans(t, 200);
    bool kept_handing = false;
    for (uint64_t t1 = mono_ms(); !kept_handing && mono_ms() - t1 < 2000; sleep_ms(10)) {
        ctel_sdk_stats_get(sdk, &ss);
        kept_handing = ss.spans_exported >= handed + 200;
    }
    pthread_mutex_unlock(&spill->mu); /* the disk is back */
    pthread_join(tid, NULL);

    if (!answered)
        fail_msg("stats and readiness did not answer within 3 s while the disk hung");
    assert_true(waited < 1000);
    assert_int_equal(h.stats_rc, CTEL_OK);
    assert_int_equal(h.st.breaker_state, CTEL_BREAKER_OPEN);
    assert_int_equal(h.endpoints, 1);
    assert_false(h.all_ready);
    assert_false(h.pr.ready);
    assert_int_equal(h.pr.breaker_state, CTEL_BREAKER_OPEN);
    assert_true(kept_handing);
    /* The snapshot the health endpoint got shows the stuck write's spans in
     * flight, and every span in one place. */
    assert_true(h.st.in_flight > 0);
    assert_accounted(&h.st);
    finish(&x);
}

/* A disk that answers slowly: one write at a time gets through, then the
 * next waits 30 ms, longer than the export worker takes to submit the next
 * request, so requests queue up and the sender drains them one slow write
 * after another. */
typedef struct slow_disk {
    ctel__spill *spill;
    _Atomic bool stop;
} slow_disk;

static uint64_t writes_done(ctel__spill *spill)
{
    ctel__spill_stats st;
    ctel__spill_get_stats(spill, &st);
    return st.records_written + st.records_refused;
}

static void *be_slow(void *p)
{
    slow_disk *sd = p;
    while (!atomic_load(&sd->stop)) {
        pthread_mutex_lock(&sd->spill->mu);
        uint64_t before = writes_done(sd->spill);
        sleep_ms(30);
        pthread_mutex_unlock(&sd->spill->mu);
        /* let one write through (if one is waiting) */
        for (uint64_t t0 = mono_ms(); writes_done(sd->spill) == before && mono_ms() - t0 < 5;)
            sched_yield();
    }
    return NULL;
}

/* The sender drains request after request to a slow disk while the export
 * worker submits more: stats snapshots taken all the while (as a health
 * endpoint polling) each count every span exactly once, writes under way
 * included. */
static void test_accounting_holds_while_the_disk_is_slow(void **state)
{
    (void)state;
    stalled x;
    start_with_the_collector_down(&x, 0);
    /* static: a failed assertion leaves this function while the thread
     * still runs */
    static slow_disk sd;
    sd.spill = x.spill;
    atomic_store(&sd.stop, false);
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, be_slow, &sd), 0);
    unsigned snapshots = 0, with_writes = 0;
    uint64_t spilled_at_start = x.spilled_before, spilled = 0;
    for (uint64_t t0 = mono_ms(); mono_ms() - t0 < 1500;) {
        ts_end_spans(x.tracer, 20);
        for (int i = 0; i < 5; i++) {
            ctel_otlp_exporter_stats st;
            assert_int_equal(ctel_otlp_exporter_get_stats(x.exp, &st), CTEL_OK);
            assert_accounted(&st);
            snapshots++;
            with_writes += st.in_flight > 0;
            spilled = st.spilled;
            sleep_ms(2);
        }
    }
    atomic_store(&sd.stop, true);
    pthread_join(tid, NULL);
    /* it did drain many requests through writes that waited for the disk */
    assert_true(with_writes > 10);
    assert_true(spilled > spilled_at_start + 200);
    fprintf(stderr, "%u snapshots, %u with writes under way\n", snapshots, with_writes);
    finish(&x);
}

/* The memory queue fills while the disk hangs: submit waits a little for
 * the stuck write, then drops the oldest request (counted) instead of
 * holding the export worker until the disk answers. */
static void test_full_queue_and_a_hung_disk_do_not_hold_the_worker(void **state)
{
    (void)state;
    stalled x;
    start_with_the_collector_down(&x, 4096);
    pthread_mutex_lock(&x.spill->mu);
    ctel_sdk_stats ss;
    ctel_sdk_stats_get(x.sdk, &ss);
    uint64_t handed_before = ss.spans_exported;
    for (int i = 0; i < 60; i++) { /* 600 spans over ~1.2 s */
        ts_end_spans(x.tracer, 10);
        sleep_ms(20);
    }
    /* batches of ~10 spans, each at most ~200 ms behind the last */
    bool kept_handing = false;
    for (uint64_t t1 = mono_ms(); !kept_handing && mono_ms() - t1 < 3000; sleep_ms(10)) {
        ctel_sdk_stats_get(x.sdk, &ss);
        kept_handing = ss.spans_exported >= handed_before + 600;
    }
    ctel_otlp_exporter_stats st;
    assert_int_equal(ctel_otlp_exporter_get_stats(x.exp, &st), CTEL_OK);
    pthread_mutex_unlock(&x.spill->mu);
    if (!kept_handing)
        fail_msg("the export worker handed over %llu of 600 spans in 4 s while the disk hung",
                 (unsigned long long)(ss.spans_exported - handed_before));
    assert_true(st.dropped_queue_full > 0);
    assert_true(st.in_flight > 0);
    assert_accounted(&st);
    finish(&x);
}

int main(void)
{
    setenv("CTEL_EXPORTER_RETRY_MAX_ATTEMPTS", "1", 1);
    setenv("CTEL_EXPORTER_BREAKER_MIN_COOLDOWN", "30000", 1);
    setenv("CTEL_EXPORTER_BREAKER_MAX_COOLDOWN", "30000", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_and_readiness_answer_while_the_disk_hangs),
        cmocka_unit_test(test_accounting_holds_while_the_disk_is_slow),
        cmocka_unit_test(test_full_queue_and_a_hung_disk_do_not_hold_the_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
