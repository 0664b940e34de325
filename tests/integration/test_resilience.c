/* Integration: the export pipeline (retry, circuit breaker, disk spill and
 * replay, bounded shutdown, accounting, readiness) against a real OTLP/HTTP
 * receiver on loopback (the ctel sink, in-process) and its injected faults.
 * Every test asserts counts. */
/* ctest-labels: slow */
#include "support/test_support.h"
#include "tools/ctel/sink/sink.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- rig: a sink, an SDK with a batch processor and a pipelined exporter -- */

typedef struct rig {
    ctel_sink *sink;
    ctel_sdk *sdk;
    ctel_span_exporter *exp;
    ctel_tracer *t;
    char url[128];
    uint64_t created;
} rig;

static uint64_t now_ms(void)
{
    return ctel_now_unix_nano() / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static ctel_sink *start_sink(uint16_t port)
{
    ctel_sink_options so = {0};
    so.port = port;
    ctel_sink *sink = NULL;
    char err[256];
    for (int i = 0; i < 100; i++) { /* a port just released may take a moment */
        if (ctel_sink_start(&so, &sink, err, sizeof err) == 0)
            return sink;
        sleep_ms(50);
    }
    fail_msg("sink: %s", err);
    return NULL;
}

/* `o` may set spill and queue options; the endpoint is 127.0.0.1:port. */
static void rig_start_port(rig *r, uint16_t port, ctel_otlp_options *o, int export_timeout_ms)
{
    memset(r, 0, sizeof *r);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%u/v1/traces", (unsigned)port);
    o->endpoint = r->url;
    assert_int_equal(ctel_otlp_http_exporter_create(o, &r->exp), CTEL_OK);
    ctel_batch_options bo = CTEL_BATCH_OPTIONS_INIT;
    bo.max_queue_size = 65536;
    bo.max_export_batch_size = 256;
    bo.schedule_delay_ms = 20;
    bo.export_timeout_ms = export_timeout_ms;
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_batch_processor_create(r->exp, &bo, &proc), CTEL_OK);
    r->sdk = ts_sdk_with_processor(proc);
    r->t = ctel_sdk_tracer(r->sdk, "resilience", "1.0", NULL);
}

static void rig_start(rig *r, ctel_sink *sink, ctel_otlp_options *o, int export_timeout_ms)
{
    rig_start_port(r, ctel_sink_port(sink), o, export_timeout_ms);
    r->sink = sink;
}

static void make_spans(rig *r, int n)
{
    ts_end_spans(r->t, n);
    r->created += (uint64_t)n;
}

static ctel_otlp_exporter_stats stats(rig *r)
{
    ctel_otlp_exporter_stats st;
    assert_int_equal(ctel_otlp_exporter_get_stats(r->exp, &st), CTEL_OK);
    return st;
}

static ctel_sink_stats sink_stats(ctel_sink *s)
{
    ctel_sink_stats st;
    ctel_sink_get_stats(s, &st);
    return st;
}

/* Makes the sink answer the next `count` requests (-1: all) with `status`,
 * and a Retry-After of `retry_after` when not NULL. */
static void sink_fail(ctel_sink *sink, int count, int status, const char *retry_after)
{
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.fail_count = count;
    f.fail_status = status;
    if (retry_after)
        snprintf(f.retry_after, sizeof f.retry_after, "%s", retry_after);
    ctel_sink_set_faults(sink, &f);
}

/* The accounting identity of the pipeline, at a quiet moment. */
static void check_invariant(const ctel_otlp_exporter_stats *st)
{
    uint64_t left = st->submitted + st->recovered;
    uint64_t right = st->delivered + st->rejected + st->dropped_queue_full +
                     st->dropped_retries_exhausted + st->dropped_spill_full +
                     st->dropped_spill_age + st->dropped_shutdown + st->queued + st->in_flight +
                     st->on_disk;
    if (left != right)
        fail_msg("submitted %llu + recovered %llu != delivered %llu + rejected %llu + dropped "
                 "(queue %llu, retries %llu, spill full %llu, age %llu, shutdown %llu) + queued "
                 "%llu + in flight %llu + on disk %llu",
                 (unsigned long long)st->submitted, (unsigned long long)st->recovered,
                 (unsigned long long)st->delivered, (unsigned long long)st->rejected,
                 (unsigned long long)st->dropped_queue_full,
                 (unsigned long long)st->dropped_retries_exhausted,
                 (unsigned long long)st->dropped_spill_full,
                 (unsigned long long)st->dropped_spill_age,
                 (unsigned long long)st->dropped_shutdown, (unsigned long long)st->queued,
                 (unsigned long long)st->in_flight, (unsigned long long)st->on_disk);
}

/* Every span the SDK ended reached the exporter (nothing lost before it). */
static void check_sdk_handed_all(rig *r)
{
    ctel_sdk_stats s;
    ctel_sdk_stats_get(r->sdk, &s);
    assert_int_equal(s.spans_ended, r->created);
    assert_int_equal(s.spans_dropped_queue_full + s.spans_dropped_export_failed +
                         s.spans_dropped_shutdown,
                     0);
}

static void rig_stop(rig *r)
{
    ctel_sdk_shutdown(r->sdk, 5000);
    ctel_sdk_destroy(r->sdk);
    r->sdk = NULL;
}

static char *make_tmpdir(void)
{
    static char buf[4][64];
    static int k;
    char *d = buf[k++ % 4];
    snprintf(d, 64, "/tmp/ctel-resilience-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static bool wait_for_spans(ctel_sink *s, uint64_t n, int timeout_ms)
{
    return ctel_sink_wait_spans(s, n, timeout_ms);
}

/* ---- outages ------------------------------------------------------------- */

/* The Collector is down for 10 s in the middle of a run. With a spill
 * directory every span arrives; duplicates are bounded. */
static void test_outage_with_spill(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    char *dir = make_tmpdir();
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.timeout_ms = 500;
    o.spill_dir = dir;
    rig r;
    rig_start(&r, sink, &o, 2000);
    uint64_t t0 = now_ms();
    bool went_down = false;
    ts_log_capture_start();
    while (now_ms() - t0 < 13000) {
        make_spans(&r, 20);
        if (!went_down && now_ms() - t0 >= 1500) {
            ctel_sink_go_down(sink, 10000);
            went_down = true;
        }
        /* every snapshot adds up, while requests are spilled, replayed and
         * consumed off the pipeline's lock */
        ctel_otlp_exporter_stats now = stats(&r);
        check_invariant(&now);
        sleep_ms(10);
    }
    ts_log_capture_stop();
    assert_true(ts_log_contains("open")); /* the breaker opened, and said so */
    /* everything arrives once the sink is back: fresh spans and replays */
    assert_int_equal(ctel_sdk_force_flush(r.sdk, 10000), CTEL_OK);
    if (!wait_for_spans(sink, r.created, 30000)) {
        ctel_otlp_exporter_stats st = stats(&r);
        fail_msg("received %llu of %llu (on disk %llu)",
                 (unsigned long long)sink_stats(sink).spans, (unsigned long long)r.created,
                 (unsigned long long)st.on_disk);
    }
    /* the spill drains completely, and the sender settles every answer */
    for (int i = 0; i < 1000; i++) {
        ctel_otlp_exporter_stats now = stats(&r);
        check_invariant(&now);
        if (!now.on_disk && now.delivered >= r.created)
            break;
        sleep_ms(20);
    }
    ctel_otlp_exporter_stats st = stats(&r);
    check_sdk_handed_all(&r);
    check_invariant(&st);
    assert_int_equal(st.submitted, r.created);
    assert_int_equal(st.delivered, r.created);
    assert_int_equal(st.on_disk, 0);
    assert_true(st.spilled > 0);
    assert_int_equal(st.replayed, st.spilled);
    assert_true(st.breaker_opens >= 1);
    assert_int_equal(st.breaker_state, CTEL_BREAKER_CLOSED);
    uint64_t received = sink_stats(sink).spans;
    /* duplicates: only requests whose answer was lost while the sink went
     * down can come twice; at most a couple of batches */
    assert_true(received >= r.created);
    assert_true(received - r.created <= 2 * 256);
    rig_stop(&r);
    ctel_sink_stop(sink);
    rm_rf(dir);
}

/* Without a spill directory the newest data is kept up to the queue bound;
 * the rest is dropped and counted exactly. */
static void test_outage_without_spill(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.timeout_ms = 500;
    o.spill_dir = "";
    o.queue_max_bytes = 32 * 1024;
    rig r;
    rig_start(&r, sink, &o, 2000);
    /* healthy first: one request's worth (the queue holds about three) */
    make_spans(&r, 100);
    assert_true(wait_for_spans(sink, 100, 5000));
    /* and its answer settled, so going down cannot cut it (and duplicate it) */
    assert_int_equal(ctel_sdk_force_flush(r.sdk, 5000), CTEL_OK);
    ctel_sink_go_down(sink, 3000);
    ts_log_capture_start();
    uint64_t t0 = now_ms();
    while (now_ms() - t0 < 2500) {
        make_spans(&r, 50);
        sleep_ms(10);
    }
    ts_log_capture_stop();
    sleep_ms(1000); /* back up */
    make_spans(&r, 100);
    ctel_sdk_force_flush(r.sdk, 10000);
    for (int i = 0; i < 100 && (stats(&r).queued || stats(&r).in_flight); i++)
        sleep_ms(100);
    ctel_otlp_exporter_stats st = stats(&r);
    check_sdk_handed_all(&r);
    check_invariant(&st);
    assert_int_equal(st.submitted, r.created);
    assert_int_equal(st.queued + st.in_flight + st.on_disk + st.spilled, 0);
    assert_true(st.dropped_queue_full + st.dropped_retries_exhausted > 0);
    assert_true(st.delivered < r.created);
    /* the receiver got exactly what was counted delivered (refused
     * connections cannot duplicate) */
    assert_int_equal(sink_stats(sink).spans, st.delivered);
    rig_stop(&r);
    ctel_sink_stop(sink);
}

/* ---- throttling, resets, slow receivers, partial success ------------------ */

static void test_retry_after_honoured(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.spill_dir = "";
    rig r;
    rig_start(&r, sink, &o, 10000);
    sink_fail(sink, 1, 503, "1");
    uint64_t t0 = now_ms();
    ts_log_capture_start();
    make_spans(&r, 10);
    assert_true(wait_for_spans(sink, 10, 5000));
    ts_log_capture_stop();
    uint64_t took = now_ms() - t0;
    ctel_sdk_force_flush(r.sdk, 5000); /* the sender has settled the answer */
    /* the backoff alone would be 25-100 ms here; Retry-After said 1 s */
    assert_true(took >= 1000);
    assert_true(took < 3000);
    ctel_otlp_exporter_stats st = stats(&r);
    assert_int_equal(st.delivered, 10);
    assert_int_equal(st.retried, 10);
    assert_int_equal(st.last_retry_after_ms, -1); /* the last answer was a 200 */
    assert_int_equal(sink_stats(sink).failed, 1);
    check_invariant(&st);
    rig_stop(&r);
    ctel_sink_stop(sink);
}

/* force_flush does not sit out a backoff: it returns at once, and the retry
 * still happens when the receiver said. */
static void test_flush_does_not_sit_out_backoff(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.spill_dir = "";
    rig r;
    rig_start(&r, sink, &o, 10000);
    sink_fail(sink, 1, 503, "2");
    ts_log_capture_start();
    make_spans(&r, 10);
    /* wait until the first attempt failed and the backoff began */
    for (int i = 0; i < 200 && sink_stats(sink).failed == 0; i++)
        sleep_ms(10);
    sleep_ms(50);
    uint64_t t0 = now_ms();
    ctel_status rc = ctel_sdk_force_flush(r.sdk, 10000);
    uint64_t took = now_ms() - t0;
    assert_int_not_equal(rc, CTEL_OK);
    assert_true(took < 500);
    /* the retry comes after Retry-After, not before */
    assert_int_equal(sink_stats(sink).spans, 0);
    assert_true(wait_for_spans(sink, 10, 5000));
    ts_log_capture_stop();
    assert_true(now_ms() - t0 >= 1500);
    ctel_sdk_force_flush(r.sdk, 5000);
    ctel_otlp_exporter_stats st = stats(&r);
    assert_int_equal(st.delivered, 10);
    assert_int_equal(st.retried, 10);
    check_invariant(&st);
    rig_stop(&r);
    ctel_sink_stop(sink);
}

static void test_throttled_and_reset(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.spill_dir = "";
    rig r;
    rig_start(&r, sink, &o, 10000);
    /* one connection closed without an answer, then 429 twice, then OK */
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.close_count = 1;
    f.fail_count = 2;
    f.fail_status = 429;
    ctel_sink_set_faults(sink, &f);
    ts_log_capture_start();
    make_spans(&r, 30);
    assert_true(wait_for_spans(sink, 30, 10000));
    ctel_sdk_force_flush(r.sdk, 5000);
    ts_log_capture_stop();
    ctel_otlp_exporter_stats st = stats(&r);
    assert_int_equal(st.delivered, 30);
    assert_int_equal(st.retried, 3 * 30);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.requests_failed, 3);
    ctel_sink_stats ss = sink_stats(sink);
    assert_int_equal(ss.closed, 1);
    assert_int_equal(ss.failed, 2);
    assert_int_equal(ss.spans, 30);
    check_invariant(&st);
    rig_stop(&r);
    ctel_sink_stop(sink);
}

/* A receiver slower than the timeout: attempts time out, are retried within
 * the export budget, then the request is dropped (no spill) and counted. */
static void test_slow_receiver(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.timeout_ms = 300;
    o.spill_dir = "";
    rig r;
    rig_start(&r, sink, &o, 1500);
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.delay_ms = 3000;
    ctel_sink_set_faults(sink, &f);
    ts_log_capture_start();
    make_spans(&r, 40);
    /* (a flush returns while the sender waits out a backoff: poll instead) */
    ctel_otlp_exporter_stats st = stats(&r);
    for (int i = 0; i < 100 && st.dropped_retries_exhausted < 40; i++) {
        sleep_ms(50);
        st = stats(&r);
    }
    ts_log_capture_stop();
    assert_int_equal(st.dropped_retries_exhausted, 40);
    assert_int_equal(st.delivered, 0);
    assert_true(st.requests >= 2 && st.requests <= 5); /* retried, within 1.5 s */
    assert_int_equal(st.last_status, CTEL_ERR_TIMEOUT);
    check_invariant(&st);
    f.delay_ms = 0;
    ctel_sink_set_faults(sink, &f);
    rig_stop(&r);
    ctel_sink_stop(sink);
}

/* A slow receiver (it answers, after 400 ms) with a spill and a small
 * memory queue: what finds the queue full goes to disk (written by submit
 * while the sender waits for an answer, or through the overflow while the
 * sender is at the disk itself), and nothing is lost; once the receiver is
 * quick again the disk is replayed and every span arrives. */
static void test_slow_receiver_overflows_to_disk(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    char *dir = make_tmpdir();
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.timeout_ms = 2000;
    o.spill_dir = dir;
    o.queue_max_bytes = 8 * 1024;
    rig r;
    rig_start(&r, sink, &o, 10000);
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.delay_ms = 400;
    ctel_sink_set_faults(sink, &f);
    for (uint64_t t0 = now_ms(); now_ms() - t0 < 2000;) {
        make_spans(&r, 20);
        ctel_otlp_exporter_stats now = stats(&r);
        check_invariant(&now);
        sleep_ms(20);
    }
    ctel_otlp_exporter_stats st = stats(&r);
    assert_true(st.spilled > 0);             /* the overflow went to disk */
    assert_int_equal(st.dropped_queue_full, 0); /* and nothing was dropped */
    f.delay_ms = 0;
    ctel_sink_set_faults(sink, &f);
    assert_int_equal(ctel_sdk_force_flush(r.sdk, 10000), CTEL_OK);
    for (int i = 0; i < 1000; i++) {
        st = stats(&r);
        check_invariant(&st);
        if (!st.on_disk && !st.queued && !st.in_flight && st.delivered >= r.created)
            break;
        sleep_ms(20);
    }
    check_sdk_handed_all(&r);
    assert_int_equal(st.delivered, r.created);
    assert_int_equal(st.replayed, st.spilled);
    assert_int_equal(st.dropped_queue_full + st.dropped_retries_exhausted, 0);
    assert_true(wait_for_spans(sink, r.created, 10000));
    rig_stop(&r);
    ctel_sink_stop(sink);
    rm_rf(dir);
}

static void test_partial_success_and_garbage(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    rig r;
    rig_start(&r, sink, &o, 10000);
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.partial_count = 1;
    f.partial_rejected = 7;
    ctel_sink_set_faults(sink, &f);
    ts_log_capture_start();
    make_spans(&r, 20);
    assert_int_equal(ctel_sdk_force_flush(r.sdk, 5000), CTEL_OK);
    f = (ctel_sink_faults)CTEL_SINK_FAULTS_NONE;
    f.garbage_count = 1;
    ctel_sink_set_faults(sink, &f);
    make_spans(&r, 20);
    assert_int_equal(ctel_sdk_force_flush(r.sdk, 5000), CTEL_OK);
    f = (ctel_sink_faults)CTEL_SINK_FAULTS_NONE;
    f.fail_count = 1;
    f.fail_status = 400; /* permanent: not retried */
    ctel_sink_set_faults(sink, &f);
    make_spans(&r, 20);
    assert_int_equal(ctel_sdk_force_flush(r.sdk, 5000), CTEL_OK);
    ts_log_capture_stop();
    ctel_otlp_exporter_stats st = stats(&r);
    assert_int_equal(st.rejected, 7 + 20);
    assert_int_equal(st.delivered, 20 - 7 + 20);
    assert_int_equal(st.retried, 0);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.breaker_state, CTEL_BREAKER_CLOSED);
    check_invariant(&st);
    rig_stop(&r);
    ctel_sink_stop(sink);
}

/* ---- the spill directory's bounds and damage ------------------------------- */

static void test_spill_full(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    uint16_t port = ctel_sink_port(sink);
    ctel_sink_stop(sink); /* nobody listens: everything goes to disk */
    sink = NULL;
    char *dir = make_tmpdir();
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.spill_dir = dir;
    o.spill_max_bytes = 128 * 1024;
    rig r;
    rig_start_port(&r, port, &o, 500);
    ts_log_capture_start();
    for (int i = 0; i < 40; i++) {
        make_spans(&r, 250);
        sleep_ms(20);
    }
    ctel_sdk_force_flush(r.sdk, 10000);
    ctel_otlp_exporter_stats st = stats(&r);
    for (int i = 0; i < 100 && (st.queued || st.in_flight); i++) {
        sleep_ms(50);
        st = stats(&r);
    }
    ts_log_capture_stop();
    check_sdk_handed_all(&r);
    check_invariant(&st);
    assert_int_equal(st.submitted, r.created);
    assert_int_equal(st.delivered, 0);
    assert_true(st.dropped_spill_full > 0);
    assert_true(st.on_disk > 0);
    assert_true(st.on_disk < r.created);
    /* what is on disk fits the bound */
    char cmd[256], out[64] = "";
    snprintf(cmd, sizeof cmd, "du -sb %s | cut -f1", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(fgets(out, sizeof out, p));
    pclose(p);
    assert_true(strtoull(out, NULL, 10) <= 128 * 1024 + 16 * 1024); /* + cursor, lock, dirs */
    rig_stop(&r);
    rm_rf(dir);
}

/* Finds the first segment file under dir (one stream subdirectory). */
static bool find_segment(const char *dir, char *path, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d))) {
        if (strncmp(e->d_name, "traces-", 7))
            continue;
        char sub[300];
        snprintf(sub, sizeof sub, "%.40s/%.250s", dir, e->d_name);
        DIR *s = opendir(sub);
        struct dirent *f;
        while (s && (f = readdir(s)))
            if (strstr(f->d_name, ".ctsp")) {
                snprintf(path, cap, "%.300s/%.250s", sub, f->d_name);
                found = true;
                break;
            }
        if (s)
            closedir(s);
    }
    closedir(d);
    return found;
}

/* Spans spilled by one exporter are replayed by the next one on the same
 * directory; a corrupted record is detected, counted and skipped. */
static void test_replay_and_corruption(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    uint16_t port = ctel_sink_port(sink);
    char *dir = make_tmpdir();
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.spill_dir = dir;
    rig r;
    rig_start(&r, sink, &o, 500);
    ctel_sink_stop(sink); /* down from now on */
    ts_log_capture_start();
    for (int i = 0; i < 10; i++)
        make_spans(&r, 256);
    ctel_sdk_shutdown(r.sdk, 3000);
    ts_log_capture_stop();
    ctel_otlp_exporter_stats st = stats(&r);
    check_invariant(&st);
    assert_int_equal(st.on_disk, 2560);
    assert_int_equal(st.spilled, 2560);
    ctel_sdk_destroy(r.sdk);

    /* damage one byte in the middle of the segment (inside a record) */
    char seg[600];
    assert_true(find_segment(dir, seg, sizeof seg));
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    struct stat sb;
    fstat(fd, &sb);
    off_t at = sb.st_size / 2;
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0xff;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);

    /* the next run, same directory, the receiver is back */
    sink = start_sink(port);
    ctel_otlp_options o2 = CTEL_OTLP_OPTIONS_INIT;
    o2.spill_dir = dir;
    rig r2;
    ts_log_capture_start();
    rig_start(&r2, sink, &o2, 5000);
    st = stats(&r2);
    /* the damaged record is not counted as recoverable */
    assert_true(st.recovered < 2560);
    assert_true(st.recovered >= 2560 - 2 * 256);
    assert_true(st.corrupt_spill_records >= 1);
    assert_true(wait_for_spans(sink, st.recovered, 15000));
    for (int i = 0; i < 100 && (stats(&r2).on_disk || stats(&r2).delivered < st.recovered); i++)
        sleep_ms(50);
    ts_log_capture_stop();
    st = stats(&r2);
    check_invariant(&st);
    assert_int_equal(st.replayed, st.recovered);
    assert_int_equal(st.delivered, st.recovered);
    assert_int_equal(sink_stats(sink).spans, st.recovered);
    rig_stop(&r2);
    ctel_sink_stop(sink);
    rm_rf(dir);
}

/* ---- the breaker ------------------------------------------------------------ */

static void test_breaker_quiet_while_open(void **state)
{
    (void)state;
    setenv("CTEL_EXPORTER_BREAKER_MIN_COOLDOWN", "1500", 1);
    setenv("CTEL_EXPORTER_RETRY_MAX_ATTEMPTS", "1", 1);
    ctel_sink *sink = start_sink(0);
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.fail_count = -1;
    f.fail_status = 503;
    ctel_sink_set_faults(sink, &f);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.spill_dir = "";
    rig r;
    rig_start(&r, sink, &o, 2000);
    setenv("CTEL_EXPORTER_BREAKER_MIN_COOLDOWN", "300", 1); /* main()'s value */
    unsetenv("CTEL_EXPORTER_RETRY_MAX_ATTEMPTS");
    ts_log_capture_start();
    for (int i = 0; i < 5; i++) { /* five failed exports */
        make_spans(&r, 10);
        ctel_sdk_force_flush(r.sdk, 3000);
    }
    ctel_otlp_exporter_stats st = stats(&r);
    assert_int_equal(st.breaker_state, CTEL_BREAKER_OPEN);
    assert_int_equal(st.breaker_opens, 1);
    assert_true(st.next_attempt_unix_ns > ctel_now_unix_nano());
    uint64_t requests = sink_stats(sink).requests;
    assert_int_equal(requests, 5);
    /* while open: more spans, flushes and readiness checks reach nobody */
    for (int i = 0; i < 5; i++) {
        make_spans(&r, 10);
        ctel_sdk_force_flush(r.sdk, 100);
        sleep_ms(100);
    }
    ctel_probe_result pr;
    bool all = true;
    assert_int_equal(ctel_sdk_ready(r.sdk, 1000, &pr, 1, &all), 1);
    assert_false(all);
    assert_false(pr.ready);
    assert_int_equal(pr.breaker_state, CTEL_BREAKER_OPEN);
    assert_non_null(strstr(pr.message, "breaker"));
    assert_int_equal(sink_stats(sink).requests, requests);
    st = stats(&r);
    assert_int_equal(st.queued, 50); /* kept in memory (no spill) */
    /* the receiver recovers: the trial export closes the breaker */
    f.fail_count = 0;
    ctel_sink_set_faults(sink, &f);
    assert_true(wait_for_spans(sink, 50, 5000));
    ctel_sdk_force_flush(r.sdk, 5000);
    ts_log_capture_stop();
    assert_true(ts_log_contains("half-open"));
    assert_true(ts_log_contains("closed"));
    st = stats(&r);
    assert_int_equal(st.breaker_state, CTEL_BREAKER_CLOSED);
    assert_int_equal(st.delivered, 50);
    assert_int_equal(st.dropped_retries_exhausted, 50);
    check_invariant(&st);
    rig_stop(&r);
    ctel_sink_stop(sink);
}

/* ---- shutdown -------------------------------------------------------------- */

static void shutdown_against_hung_receiver(bool spill)
{
    ctel_sink *sink = start_sink(0);
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.delay_ms = 10000;
    ctel_sink_set_faults(sink, &f);
    char *dir = spill ? make_tmpdir() : NULL;
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.spill_dir = spill ? dir : "";
    rig r;
    rig_start(&r, sink, &o, 30000);
    make_spans(&r, 100);
    sleep_ms(200); /* the request is in flight, the receiver sits on it */
    make_spans(&r, 100);
    ts_log_capture_start();
    uint64_t t0 = now_ms();
    ctel_sdk_shutdown(r.sdk, 500);
    uint64_t took = now_ms() - t0;
    ts_log_capture_stop();
    assert_true(took < 500 + 100);
    ctel_otlp_exporter_stats st = stats(&r);
    check_invariant(&st);
    assert_int_equal(st.submitted, 200);
    assert_int_equal(st.delivered, 0);
    if (spill) {
        assert_int_equal(st.spilled, 200);
        assert_int_equal(st.on_disk, 200);
    } else {
        assert_int_equal(st.dropped_shutdown, 200);
    }
    ctel_sdk_destroy(r.sdk);
    f.delay_ms = 0;
    ctel_sink_set_faults(sink, &f);
    ctel_sink_stop(sink);
    if (dir)
        rm_rf(dir);
}

static void test_shutdown_bounded(void **state)
{
    (void)state;
    shutdown_against_hung_receiver(false);
    shutdown_against_hung_receiver(true);
}

/* ---- readiness -------------------------------------------------------------- */

static void test_readiness(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink(0);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    rig r;
    rig_start(&r, sink, &o, 5000);
    ctel_probe_result pr[2];
    bool all = false;
    assert_int_equal(ctel_sdk_ready(r.sdk, 1000, pr, 2, &all), 1);
    assert_true(all);
    assert_true(pr[0].ready);
    assert_int_equal(pr[0].reason, CTEL_PROBE_OK);
    assert_string_equal(pr[0].endpoint, r.url);
    assert_int_equal(pr[0].breaker_state, CTEL_BREAKER_CLOSED);
    /* cached: a second call within the TTL does not probe again */
    assert_int_equal(ctel_sdk_ready(r.sdk, 1000, pr, 2, &all), 1);
    assert_int_equal(sink_stats(sink).requests, 1);
    assert_int_equal(sink_stats(sink).spans, 0); /* the probe carries no spans */
    /* the receiver goes away: after the TTL, not ready, and why */
    ctel_sink_go_down(sink, 3000);
    sleep_ms(1100);
    assert_int_equal(ctel_sdk_ready(r.sdk, 1000, pr, 2, &all), 1);
    assert_false(all);
    assert_false(pr[0].ready);
    assert_int_equal(pr[0].reason, CTEL_PROBE_REFUSED);
    rig_stop(&r);
    ctel_sink_stop(sink);
}

int main(void)
{
    /* short backoffs and cool-downs so the tests take seconds */
    setenv("CTEL_EXPORTER_RETRY_INITIAL_BACKOFF", "50", 1);
    setenv("CTEL_EXPORTER_RETRY_MAX_BACKOFF", "200", 1);
    setenv("CTEL_EXPORTER_BREAKER_MAX_COOLDOWN", "1500", 1);
    setenv("CTEL_EXPORTER_BREAKER_MIN_COOLDOWN", "300", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_honoured),
        cmocka_unit_test(test_flush_does_not_sit_out_backoff),
        cmocka_unit_test(test_throttled_and_reset),
        cmocka_unit_test(test_slow_receiver),
        cmocka_unit_test(test_slow_receiver_overflows_to_disk),
        cmocka_unit_test(test_partial_success_and_garbage),
        cmocka_unit_test(test_shutdown_bounded),
        cmocka_unit_test(test_readiness),
        cmocka_unit_test(test_breaker_quiet_while_open),
        cmocka_unit_test(test_spill_full),
        cmocka_unit_test(test_replay_and_corruption),
        cmocka_unit_test(test_outage_without_spill),
        cmocka_unit_test(test_outage_with_spill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
