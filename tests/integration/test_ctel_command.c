/* Integration: the `ctel` command's probe and gen against a real OTLP/HTTP
 * receiver (the ctel sink, in-process) over loopback. */
/* ctest-labels: no-tsan */
/* (no-tsan: it runs the ctel command with system(), a fork of a threaded process) */
#include "support/test_support.h"
#include "tools/ctel/sink/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static ctel_sink *start_sink(void)
{
    ctel_sink_options so = {0};
    ctel_sink *sink = NULL;
    char err[256];
    if (ctel_sink_start(&so, &sink, err, sizeof err) != 0)
        fail_msg("sink: %s", err);
    return sink;
}

static int run(const char *cmd)
{
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_ctel_probe_and_gen(void **state)
{
    (void)state;
    ctel_sink *sink = start_sink();
    char cmd[512];
    unsigned port = ctel_sink_port(sink);
    snprintf(cmd, sizeof cmd, "%s probe --endpoint http://127.0.0.1:%u --timeout 2000 >/dev/null",
             CTEL_TOOL_PATH, port);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s probe --quiet --timeout nonsense 2>/dev/null", CTEL_TOOL_PATH);
    assert_int_equal(run(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s probe --no-such-flag 2>/dev/null", CTEL_TOOL_PATH);
    assert_int_equal(run(cmd), 2);

    /* gen: 5000 spans over OTLP/HTTP, all of them arrive, exit 0 */
    snprintf(cmd, sizeof cmd,
             "OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%u "
             "OTEL_BSP_MAX_QUEUE_SIZE=65536 %s gen traces --count 5000 --workers 2 >/dev/null",
             port, CTEL_TOOL_PATH);
    assert_int_equal(run(cmd), 0);
    assert_true(ctel_sink_wait_spans(sink, 5000, 5000));
    ctel_sink_stats ss;
    ctel_sink_get_stats(sink, &ss);
    assert_int_equal(ss.spans, 5000);

    /* while the receiver answers 503, gen reports the loss and exits 1 */
    ctel_sink_faults f = CTEL_SINK_FAULTS_NONE;
    f.fail_count = -1;
    f.fail_status = 503;
    ctel_sink_set_faults(sink, &f);
    snprintf(cmd, sizeof cmd,
             "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%u OTEL_EXPORTER_OTLP_TIMEOUT=1000 "
             "%s gen traces --count 10 "
             ">/dev/null 2>&1", port, CTEL_TOOL_PATH);
    assert_int_equal(run(cmd), 1);
    snprintf(cmd, sizeof cmd, "%s probe --endpoint http://127.0.0.1:%u >/dev/null",
             CTEL_TOOL_PATH, port);
    assert_int_equal(run(cmd), 1);
    ctel_sink_stop(sink);
    /* and with nobody listening */
    assert_int_equal(run(cmd), 1);
}

/* Every command documents its flags; --version names ctel's version. */
static void test_help_and_version(void **state)
{
    (void)state;
    static const struct {
        const char *args, *needle;
    } cases[] = {
        {"--help", "probe"},
        {"sink --help", "--fail N:STATUS"},
        {"sink --help", "--down-at"},
        {"gen --help", "--workers"},
        {"gen traces --help", "--rate"},
        {"probe --help", "--timeout"},
        {"--version", "ctel " CTEL_VERSION_STRING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[256], line[512];
        snprintf(cmd, sizeof cmd, "%s %s", CTEL_TOOL_PATH, cases[i].args);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        bool found = false;
        while (fgets(line, sizeof line, p))
            found = found || strstr(line, cases[i].needle) != NULL;
        int st = pclose(p);
        if (!found || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("ctel %s: exit %d, \"%s\" %s", cases[i].args, WEXITSTATUS(st),
                     cases[i].needle, found ? "found" : "missing");
    }
    /* unknown commands and flags are usage errors */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s frobnicate 2>/dev/null", CTEL_TOOL_PATH);
    assert_int_equal(run(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s sink --no-such-flag 2>/dev/null", CTEL_TOOL_PATH);
    assert_int_equal(run(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s gen traces --count 0 2>/dev/null", CTEL_TOOL_PATH);
    assert_int_equal(run(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s gen 2>/dev/null", CTEL_TOOL_PATH);
    assert_int_equal(run(cmd), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_ctel_probe_and_gen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
