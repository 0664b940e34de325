/* Integration: stats and readiness answer, and the export worker keeps
 * handing batches over, while the export pipeline's sender is stuck writing
 * to a disk that does not answer. The Collector is down
 * (a closed port on loopback, real libcurl), the breaker is open and the
 * sender drains its queue into the disk spill; the test holds the spill's
 * lock, which is what a hung disk looks like to the sender (it waits there
 * holding the delivery's lock). A health endpoint calling
 * ctel_otlp_exporter_get_stats or ctel_sdk_ready from another thread must
 * still get its answer within its timeout. */
#include "support/test_support.h"
#include "exporters/otlp/otlp_exporter.h"
#include "sdk/pipeline/delivery.h"
#include "sdk/pipeline/spill_internal.h"
#include "tools/ctel/sink/sink.h"

#include <pthread.h>
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

static void test_stats_and_readiness_answer_while_the_disk_hangs(void **state)
{
    (void)state;
    char dir[] = "/tmp/ctel-disk-stall-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/traces", (unsigned)closed_port());
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.endpoint = url;
    o.timeout_ms = 500;
    o.spill_dir = dir;
    ctel_span_exporter *exp = NULL;
    assert_int_equal(ctel_otlp_http_exporter_create(&o, &exp), CTEL_OK);
    ctel_batch_options bo = CTEL_BATCH_OPTIONS_INIT;
    bo.schedule_delay_ms = 20;
    bo.export_timeout_ms = 500;
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_batch_processor_create(exp, &bo, &proc), CTEL_OK);
    ctel_sdk *sdk = ts_sdk_with_processor(proc);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "disk-stall", NULL, NULL);

    /* Refused attempts open the breaker (threshold 5, one attempt each). */
    ctel_otlp_exporter_stats st;
    for (int i = 0; i < 50; i++) {
        ts_end_spans(t, 10);
        ctel_sdk_force_flush(sdk, 2000);
        assert_int_equal(ctel_otlp_exporter_get_stats(exp, &st), CTEL_OK);
        if (st.breaker_state == CTEL_BREAKER_OPEN)
            break;
    }
    assert_int_equal(st.breaker_state, CTEL_BREAKER_OPEN);
    uint64_t spilled_before = st.spilled;

    /* The disk stops answering; more spans come and the sender, draining
     * them to disk, gets stuck there holding the delivery's lock. */
    ctel__spill *spill = ctel__delivery_spill(ctel__otlp_exporter_delivery(exp));
    assert_non_null(spill);
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

    /* Once the disk answers, the stuck requests land on it and the
     * accounting adds up. */
    assert_int_equal(ctel_sdk_force_flush(sdk, 5000), CTEL_OK);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(ctel_otlp_exporter_get_stats(exp, &st), CTEL_OK);
        if (!st.queued && !st.in_flight)
            break;
        sleep_ms(20);
    }
    assert_true(st.spilled > spilled_before);
    assert_int_equal(st.queued + st.in_flight, 0);
    assert_int_equal(st.submitted + st.recovered,
                     st.delivered + st.rejected + st.dropped_queue_full +
                         st.dropped_retries_exhausted + st.dropped_spill_full +
                         st.dropped_spill_age + st.dropped_shutdown + st.on_disk);
    ctel_sdk_stats_get(sdk, &ss);
    assert_int_equal(ss.spans_dropped_queue_full + ss.spans_dropped_export_failed, 0);
    assert_int_equal(st.submitted, ss.spans_exported);
    ctel_sdk_shutdown(sdk, 5000);
    ctel_sdk_destroy(sdk);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    setenv("CTEL_EXPORTER_RETRY_MAX_ATTEMPTS", "1", 1);
    setenv("CTEL_EXPORTER_BREAKER_MIN_COOLDOWN", "30000", 1);
    setenv("CTEL_EXPORTER_BREAKER_MAX_COOLDOWN", "30000", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_and_readiness_answer_while_the_disk_hangs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
