/* Integration: a process exporting to a Collector that is down spills to
 * disk and is killed with SIGKILL mid-run; the next process on the same spill
 * directory replays what the first one left, to a real OTLP/HTTP receiver.
 * The first process is the real `ctel gen` command. */
/* ctest-labels: no-tsan slow */
/* (no-tsan: it spawns a child process from a threaded test) */
#include "support/test_support.h"
#include "tools/ctel/sink/sink.h"

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static unsigned long long du_bytes(const char *dir)
{
    char cmd[256], out[64] = "0";
    snprintf(cmd, sizeof cmd, "du -sb %s 2>/dev/null | cut -f1", dir);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (!fgets(out, sizeof out, p))
            snprintf(out, sizeof out, "0");
        pclose(p);
    }
    return strtoull(out, NULL, 10);
}

static void test_kill9_then_replay(void **state)
{
    (void)state;
    /* a port nobody listens on, for now */
    ctel_sink_options so = {0};
    so.keep_requests = false;
    ctel_sink *sink = NULL;
    char err[256];
    assert_int_equal(ctel_sink_start(&so, &sink, err, sizeof err), 0);
    uint16_t port = ctel_sink_port(sink);
    ctel_sink_stop(sink);

    char dir[] = "/tmp/ctel-crash-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/traces", (unsigned)port);

    /* the first run: ctel gen, Collector down, spilling */
    char env_url[200], env_dir[200];
    snprintf(env_url, sizeof env_url, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=%s", url);
    snprintf(env_dir, sizeof env_dir, "CTEL_SPILL_DIR=%s", dir);
    char *envp[] = {env_url, env_dir, "OTEL_BSP_SCHEDULE_DELAY=50",
                    "OTEL_BSP_MAX_QUEUE_SIZE=65536", "OTEL_EXPORTER_OTLP_TIMEOUT=300",
                    "CTEL_EXPORTER_RETRY_INITIAL_BACKOFF=20", "CTEL_EXPORTER_RETRY_MAX_BACKOFF=50",
                    "CTEL_EXPORTER_BREAKER_MIN_COOLDOWN=60000", "OTEL_LOG_LEVEL=none", NULL};
    char *argv[] = {CTEL_TOOL_PATH, "gen", "traces", "--duration", "60", "--rate", "20000",
                    NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1 /* O_WRONLY */, 0);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, CTEL_TOOL_PATH, &fa, NULL, argv, envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    /* let it spill a good amount, then kill it without warning */
    for (int i = 0; i < 200 && du_bytes(dir) < 512 * 1024; i++)
        sleep_ms(50);
    assert_true(du_bytes(dir) >= 512 * 1024);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    /* the next run: the Collector is back, same directory */
    so.port = port;
    so.keep_requests = false;
    sink = NULL;
    for (int i = 0; i < 100 && ctel_sink_start(&so, &sink, err, sizeof err) != 0; i++)
        sleep_ms(50);
    assert_non_null(sink);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.endpoint = url;
    o.spill_dir = dir;
    ctel_span_exporter *exp = NULL;
    ts_log_capture_start();
    assert_int_equal(ctel_otlp_http_exporter_create(&o, &exp), CTEL_OK);
    ctel_otlp_exporter_stats es;
    assert_int_equal(ctel_otlp_exporter_get_stats(exp, &es), CTEL_OK);
    uint64_t recovered = es.recovered;
    assert_true(recovered > 1000);
    assert_true(ctel_sink_wait_spans(sink, recovered, 60000));
    for (int i = 0; i < 200; i++) {
        ctel_otlp_exporter_get_stats(exp, &es);
        if (!es.on_disk && es.delivered == recovered)
            break;
        sleep_ms(50);
    }
    ts_log_capture_stop();
    assert_true(ts_log_contains("earlier run"));
    assert_int_equal(es.on_disk, 0);
    assert_int_equal(es.delivered, recovered);
    assert_int_equal(es.replayed, recovered);
    ctel_sink_stats ss;
    ctel_sink_get_stats(sink, &ss);
    assert_int_equal(ss.spans, recovered);
    ctel_span_exporter_destroy(exp);
    ctel_sink_stop(sink);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_then_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
