/* ctest-labels: no-tsan */
/* (no-tsan: it forks a multithreaded process, which ThreadSanitizer does not
 * support; the children would report nonsense or hang.)
 *
 * fork() with live export threads (sdk/common/fork.c and its hooks): the
 * parent's sender and batch worker are parked around the fork, the child
 * starts its own and exports under its own process.pid, and neither process
 * counts or sends what belongs to the other. Real fork, real HTTP to the
 * in-process sink on 127.0.0.1. */
#include "support/test_support.h"
#include "tools/ctel/sink/sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct rig {
    ctel_sink *sink;
    ctel_sdk *sdk;
    ctel_tracer *t;
    char url[128];
} rig;

static void rig_start(rig *r, int timeout_ms, const char *spill_dir)
{
    memset(r, 0, sizeof *r);
    ctel_sink_options so = {0};
    so.keep_requests = true;
    char err[256];
    if (ctel_sink_start(&so, &r->sink, err, sizeof err) != 0)
        fail_msg("sink: %s", err);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%u/v1/traces",
             (unsigned)ctel_sink_port(r->sink));
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.endpoint = r->url;
    o.timeout_ms = timeout_ms;
    o.spill_dir = spill_dir ? spill_dir : "";
    o.direct = 0;
    ctel_span_exporter *exp = NULL;
    assert_int_equal(ctel_otlp_http_exporter_create(&o, &exp), CTEL_OK);
    ctel_batch_options bo = CTEL_BATCH_OPTIONS_INIT;
    bo.max_queue_size = 8192;
    bo.max_export_batch_size = 64;
    bo.schedule_delay_ms = 10;
    bo.export_timeout_ms = 30000;
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_batch_processor_create(exp, &bo, &proc), CTEL_OK);
    r->sdk = ts_sdk_with_processor(proc);
    r->t = ctel_sdk_tracer(r->sdk, "fork-test", "1.0", NULL);
}

static void make_spans(rig *r, const char *prefix, int n)
{
    char name[64];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        ctel_span_end(ctel_span_start(r->t, name, NULL));
    }
}

static void set_delay(ctel_sink *sink, int ms)
{
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.delay_ms = ms;
    ctel_sink_set_faults(sink, &f);
}

/* Waits until the sink has seen more than `before` requests: one is then in
 * the sink's hands (held there by a delay fault). */
static bool wait_request_in_flight(ctel_sink *sink, uint64_t before, int timeout_ms)
{
    uint64_t t0 = now_ms();
    for (;;) {
        ctel_sink_stats st;
        ctel_sink_get_stats(sink, &st);
        if (st.requests > before)
            return true;
        if (now_ms() - t0 > (uint64_t)timeout_ms)
            return false;
        sleep_ms(2);
    }
}

static ctel_otlp_exporter_stats otlp_stats(const ctel_sdk *sdk)
{
    ctel_otlp_exporter_stats st;
    memset(&st, 0, sizeof st);
    (void)ctel_sdk_otlp_stats(sdk, &st, 1);
    return st;
}

static int64_t resource_pid(const ctel_resource *res)
{
    const ctel_value *v = ctel_resource_find(res, "process.pid");
    return v && v->type == CTEL_VALUE_INT ? v->u.integer : -1;
}

/* ---- the child's side: no cmocka in here, an exit code instead ------------ */

static int g_child_failures;

#define CHILD_CHECK_EQ(a, b)                                                                       \
    do {                                                                                           \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);             \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "child %ld: %s:%d: %s == %llu, expected %s == %llu\n", (long)getpid(), \
                    __FILE__, __LINE__, #a, a_, #b, b_);                                           \
            g_child_failures++;                                                                    \
        }                                                                                          \
    } while (0)

/* The child's stats hold its own `n` spans and nothing of the parent's. */
static void child_check_own_counts(ctel_sdk *sdk, uint64_t n)
{
    ctel_sdk_stats s;
    ctel_sdk_stats_get(sdk, &s);
    CHILD_CHECK_EQ(s.spans_ended, n);
    CHILD_CHECK_EQ(s.spans_exported, n);
    CHILD_CHECK_EQ(s.spans_dropped_queue_full + s.spans_dropped_export_failed +
                       s.spans_dropped_shutdown + s.spans_queued,
                   0);
    CHILD_CHECK_EQ(s.export_failures, 0);
    ctel_otlp_exporter_stats o = otlp_stats(sdk);
    CHILD_CHECK_EQ(o.submitted, n);
    CHILD_CHECK_EQ(o.delivered, n);
    CHILD_CHECK_EQ(o.items_sent, n);
    CHILD_CHECK_EQ(o.recovered + o.rejected + o.dropped_queue_full + o.dropped_retries_exhausted +
                       o.dropped_spill_full + o.dropped_spill_age + o.dropped_shutdown,
                   0);
    CHILD_CHECK_EQ(o.queued + o.in_flight + o.on_disk + o.spilled + o.retried, 0);
    CHILD_CHECK_EQ(o.requests_failed + o.items_failed, 0);
}

/* ---- inspecting what the sink received ------------------------------------- */

typedef struct seen_span {
    char id[8];
    bool child;
    int64_t pid;
} seen_span;

/* Distinct spans (by span id) the sink kept; a request interrupted by the
 * fork may have been received and then sent again, so duplicates are
 * folded. Checks every span's process.pid against its origin. */
static void count_received(ctel_sink *sink, int64_t parent_pid, int64_t child_pid,
                           size_t *parent_spans, size_t *child_spans)
{
    size_t cap = 65536, n = 0;
    seen_span *seen = calloc(cap, sizeof *seen);
    assert_non_null(seen);
    size_t reqs = ctel_sink_request_count(sink);
    for (size_t i = 0; i < reqs; i++) {
        ctel_sink_request_info info;
        assert_true(ctel_sink_request(sink, i, &info));
        const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *rq =
            info.request;
        for (size_t a = 0; rq && a < rq->n_resource_spans; a++) {
            const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = rq->resource_spans[a];
            int64_t pid = -1;
            for (size_t k = 0; rs->resource && k < rs->resource->n_attributes; k++) {
                const Opentelemetry__Proto__Common__V1__KeyValue *kv = rs->resource->attributes[k];
                if (!strcmp(kv->key, "process.pid") && kv->value &&
                    kv->value->value_case ==
                        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE)
                    pid = kv->value->int_value;
            }
            for (size_t b = 0; b < rs->n_scope_spans; b++) {
                const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[b];
                for (size_t c = 0; c < ss->n_spans; c++) {
                    const Opentelemetry__Proto__Trace__V1__Span *sp = ss->spans[c];
                    assert_int_equal(sp->span_id.len, 8);
                    bool child = !strncmp(sp->name, "child-", 6);
                    if (child && pid != child_pid)
                        fail_msg("span %s carries process.pid %lld, expected the child's %lld",
                                 sp->name, (long long)pid, (long long)child_pid);
                    if (!child && pid != parent_pid)
                        fail_msg("span %s carries process.pid %lld, expected the parent's %lld",
                                 sp->name, (long long)pid, (long long)parent_pid);
                    bool dup = false;
                    for (size_t d = 0; d < n && !dup; d++)
                        dup = !memcmp(seen[d].id, sp->span_id.data, 8);
                    if (dup)
                        continue;
                    assert_true(n < cap);
                    memcpy(seen[n].id, sp->span_id.data, 8);
                    seen[n].child = child;
                    seen[n].pid = pid;
                    n++;
                }
            }
        }
    }
    *parent_spans = *child_spans = 0;
    for (size_t d = 0; d < n; d++)
        (*(seen[d].child ? child_spans : parent_spans))++;
    free(seen);
}

static int wait_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status))
        fail_msg("child %ld did not exit normally (status 0x%x)", (long)pid, status);
    return WEXITSTATUS(status);
}

/* ---- tests ------------------------------------------------------------------ */

#define PARENT_BEFORE 300
#define PARENT_IN_FLIGHT 64
#define PARENT_AFTER 200
#define CHILD_SPANS 250

/* Spans flow and an export is held in flight by the sink when the parent
 * forks. The child exports exactly its own spans under its own pid; the
 * parent delivers exactly its own, the interrupted request included, and
 * counts nothing twice. */
static void test_fork_child_and_parent_export_their_own(void **state)
{
    (void)state;
    rig r;
    rig_start(&r, 10000, NULL);
    int64_t parent_pid = (int64_t)getpid();
    assert_int_equal(resource_pid(ctel_sdk_resource(r.sdk)), parent_pid);

    make_spans(&r, "parent-before", PARENT_BEFORE);
    assert_true(ctel_sink_wait_spans(r.sink, PARENT_BEFORE, 10000));
    assert_int_equal(ctel_sdk_force_flush(r.sdk, 10000), CTEL_OK);

    /* one export held by the sink, more spans queued behind it */
    ctel_sink_stats before;
    ctel_sink_get_stats(r.sink, &before);
    set_delay(r.sink, 300);
    make_spans(&r, "parent-inflight", PARENT_IN_FLIGHT);
    assert_true(wait_request_in_flight(r.sink, before.requests, 5000));
    make_spans(&r, "parent-queued", 50);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (resource_pid(ctel_sdk_resource(r.sdk)) != (int64_t)getpid()) {
            fprintf(stderr, "child: the SDK's resource still has process.pid %lld\n",
                    (long long)resource_pid(ctel_sdk_resource(r.sdk)));
            g_child_failures++;
        }
        /* nothing of the parent's is counted here */
        child_check_own_counts(r.sdk, 0);
        make_spans(&r, "child", CHILD_SPANS);
        CHILD_CHECK_EQ(ctel_sdk_shutdown(r.sdk, 20000), CTEL_OK);
        child_check_own_counts(r.sdk, CHILD_SPANS);
        ctel_sdk_destroy(r.sdk);
        _exit(g_child_failures ? 1 : 0);
    }
    /* the parent runs on while the child exports */
    assert_int_equal(resource_pid(ctel_sdk_resource(r.sdk)), parent_pid);
    assert_int_equal(wait_child(pid), 0);
    make_spans(&r, "parent-after", PARENT_AFTER);
    assert_int_equal(ctel_sdk_shutdown(r.sdk, 20000), CTEL_OK);

    uint64_t parent_total = PARENT_BEFORE + PARENT_IN_FLIGHT + 50 + PARENT_AFTER;
    ctel_sdk_stats s;
    ctel_sdk_stats_get(r.sdk, &s);
    assert_int_equal(s.spans_ended, parent_total);
    assert_int_equal(s.spans_exported, parent_total);
    assert_int_equal(s.spans_dropped_queue_full + s.spans_dropped_export_failed +
                         s.spans_dropped_shutdown + s.spans_queued,
                     0);
    ctel_otlp_exporter_stats o = otlp_stats(r.sdk);
    assert_int_equal(o.submitted, parent_total);
    assert_int_equal(o.delivered, parent_total);
    assert_int_equal(o.items_sent, parent_total);
    assert_int_equal(
        o.dropped_queue_full + o.dropped_retries_exhausted + o.dropped_shutdown + o.rejected, 0);
    /* the attempt cut short by the fork is not a failure, nor a retry */
    assert_int_equal(o.requests_failed, 0);
    assert_int_equal(o.items_failed, 0);
    assert_int_equal(o.retried, 0);
    assert_int_equal(o.breaker_opens, 0);

    set_delay(r.sink, 0);
    assert_true(ctel_sink_wait_spans(r.sink, parent_total + CHILD_SPANS, 10000));
    size_t from_parent = 0, from_child = 0;
    count_received(r.sink, parent_pid, (int64_t)pid, &from_parent, &from_child);
    assert_int_equal(from_parent, parent_total);
    assert_int_equal(from_child, CHILD_SPANS);
    ctel_sdk_destroy(r.sdk);
    ctel_sink_stop(r.sink);
}

/* An endpoint that hangs must not hang fork(): prepare interrupts the
 * attempt in progress. The parent then delivers the request as soon as the
 * endpoint answers again, without counting the interrupted attempt. */
static void test_fork_while_endpoint_hangs_returns_promptly(void **state)
{
    (void)state;
    rig r;
    rig_start(&r, 30000, NULL);
    set_delay(r.sink, 10000);
    make_spans(&r, "parent", 100);
    assert_true(wait_request_in_flight(r.sink, 0, 5000));
    /* the request in the sink's hands keeps its 10 s delay (the sink reads
     * the fault on arrival); the one sent again after the fork gets none */
    set_delay(r.sink, 0);

    uint64_t t0 = now_ms();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_check_own_counts(r.sdk, 0);
        CHILD_CHECK_EQ(ctel_sdk_shutdown(r.sdk, 5000), CTEL_OK);
        child_check_own_counts(r.sdk, 0);
        ctel_sdk_destroy(r.sdk);
        _exit(g_child_failures ? 1 : 0);
    }
    uint64_t fork_ms = now_ms() - t0;
    assert_int_equal(wait_child(pid), 0);
    if (fork_ms > 1000)
        fail_msg("fork() took %llu ms with an export hanging", (unsigned long long)fork_ms);

    assert_int_equal(ctel_sdk_force_flush(r.sdk, 5000), CTEL_OK);
    ctel_otlp_exporter_stats o = otlp_stats(r.sdk);
    assert_int_equal(o.submitted, 100);
    assert_int_equal(o.delivered, 100);
    assert_int_equal(o.requests_failed, 0);
    assert_int_equal(o.retried, 0);
    assert_int_equal(o.dropped_retries_exhausted + o.dropped_shutdown + o.dropped_queue_full, 0);
    /* the sink still holds the interrupted request; it answers nothing once
     * stopped, so only the re-sent copy counts */
    assert_true(ctel_sink_wait_spans(r.sink, 100, 5000));
    assert_int_equal(ctel_sdk_shutdown(r.sdk, 5000), CTEL_OK);
    ctel_sdk_destroy(r.sdk);
    ctel_sink_stop(r.sink);
}

/* The spill directory stays the parent's: the child closes its copy without
 * touching the parent's files or lock, runs without a spill, and still
 * delivers its own spans. */
static bool lock_is_held(const char *spill_root)
{
    DIR *dir = opendir(spill_root);
    assert_non_null(dir);
    struct dirent *e;
    char path[1024] = "";
    while ((e = readdir(dir)))
        if (!strncmp(e->d_name, "traces-", 7))
            snprintf(path, sizeof path, "%s/%s/LOCK", spill_root, e->d_name);
    closedir(dir);
    assert_true(path[0] != '\0');
    int fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    bool held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

static void test_fork_child_leaves_the_spill_to_the_parent(void **state)
{
    (void)state;
    char root[] = "/tmp/ctel-fork-spill-XXXXXX";
    assert_non_null(mkdtemp(root));
    rig r;
    rig_start(&r, 10000, root);
    make_spans(&r, "parent", 100);
    assert_true(ctel_sink_wait_spans(r.sink, 100, 10000));
    assert_true(lock_is_held(root));

    ts_log_capture_start();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!ts_log_contains("forked child")) {
            fprintf(stderr, "child: no word about running without the spill\n");
            g_child_failures++;
        }
        make_spans(&r, "child", 100);
        CHILD_CHECK_EQ(ctel_sdk_shutdown(r.sdk, 10000), CTEL_OK);
        child_check_own_counts(r.sdk, 100);
        ctel_sdk_destroy(r.sdk);
        _exit(g_child_failures ? 1 : 0);
    }
    ts_log_capture_stop();
    assert_int_equal(wait_child(pid), 0);
    /* the child's exit closed its copies; the parent's lock is still there */
    assert_true(lock_is_held(root));
    make_spans(&r, "parent-after", 50);
    assert_int_equal(ctel_sdk_shutdown(r.sdk, 10000), CTEL_OK);
    ctel_otlp_exporter_stats o = otlp_stats(r.sdk);
    assert_int_equal(o.delivered, 150);
    assert_int_equal(o.spilled, 0);
    assert_true(ctel_sink_wait_spans(r.sink, 250, 10000));
    ctel_sdk_destroy(r.sdk);
    assert_false(lock_is_held(root));
    ctel_sink_stop(r.sink);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fork_child_and_parent_export_their_own),
        cmocka_unit_test(test_fork_while_endpoint_hangs_returns_promptly),
        cmocka_unit_test(test_fork_child_leaves_the_spill_to_the_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
