/* Integration: OTLP/HTTP over TLS to the ctel sink serving HTTPS on
 * loopback, with a throwaway CA made by openssl for the test:
 * OTEL_EXPORTER_OTLP_CERTIFICATE (and the option) verify the server; without
 * it the handshake fails and is classified as TLS; a client certificate that
 * cannot be loaded is reported, not fatal. */
#include "support/test_support.h"
#include "tools/ctel/sink/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_dir[64];
static char *g_cert_pem, *g_key_pem;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* A CA and a server certificate for 127.0.0.1 signed by it (EC P-256). */
static int make_certs(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/ctel-tls-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout ca.key -out ca.pem -days 2 -subj '/CN=ctel test CA' >/dev/null 2>&1 && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout server.key -out server.csr -subj '/CN=127.0.0.1' >/dev/null 2>&1 && "
             "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
             "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out server.pem -days 2 -extfile san.ext >/dev/null 2>&1",
             g_dir);
    if (system(cmd) != 0)
        return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/server.pem", g_dir);
    g_cert_pem = slurp(path);
    snprintf(path, sizeof path, "%s/server.key", g_dir);
    g_key_pem = slurp(path);
    return 0;
}

static int remove_certs(void **state)
{
    (void)state;
    free(g_cert_pem);
    free(g_key_pem);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static ctel_sink *start_https_sink(void)
{
    ctel_sink_options so = {0};
    so.tls_cert_pem = g_cert_pem;
    so.tls_key_pem = g_key_pem;
    ctel_sink *sink = NULL;
    char err[256];
    if (ctel_sink_start(&so, &sink, err, sizeof err) != 0)
        fail_msg("sink: %s", err);
    return sink;
}

/* Five spans recorded in memory, to export by hand. */
static ctel_sdk *record_spans(ctel_memory_exporter **mem, const ctel_span_data *out[5])
{
    ctel_span_exporter *mexp = NULL;
    assert_int_equal(ctel_memory_exporter_create(0, mem, &mexp), CTEL_OK);
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_simple_processor_create(mexp, &proc), CTEL_OK);
    ctel_sdk *sdk = ts_sdk_with_processor(proc);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "tls", NULL, NULL);
    for (int i = 0; i < 5; i++)
        ctel_span_end(ctel_span_start(t, "secure op", NULL));
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(ctel_memory_exporter_get(*mem, i, &out[i]), CTEL_OK);
    return sdk;
}

static void test_verified_with_ca(void **state)
{
    (void)state;
    ctel_sink *sink = start_https_sink();
    char url[128], ca[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/v1/traces", (unsigned)ctel_sink_port(sink));
    snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
    ctel_memory_exporter *mem;
    const ctel_span_data *spans[5];
    ctel_sdk *sdk = record_spans(&mem, spans);

    /* the CA from the option */
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.endpoint = url;
    o.certificate = ca;
    o.direct = 1;
    ctel_span_exporter *exp = NULL;
    assert_int_equal(ctel_otlp_http_exporter_create(&o, &exp), CTEL_OK);
    assert_int_equal(ctel_span_exporter_export(exp, spans, 5, 5000), CTEL_OK);
    ctel_span_exporter_destroy(exp);

    /* the CA from OTEL_EXPORTER_OTLP_CERTIFICATE, through the pipeline */
    setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca, 1);
    ctel_otlp_options o2 = CTEL_OTLP_OPTIONS_INIT;
    o2.endpoint = url;
    assert_int_equal(ctel_otlp_http_exporter_create(&o2, &exp), CTEL_OK);
    assert_int_equal(ctel_span_exporter_export(exp, spans, 5, 5000), CTEL_OK);
    assert_int_equal(ctel_span_exporter_force_flush(exp, 5000), CTEL_OK);
    ctel_otlp_exporter_stats st;
    assert_int_equal(ctel_otlp_exporter_get_stats(exp, &st), CTEL_OK);
    assert_int_equal(st.delivered, 5);
    ctel_span_exporter_destroy(exp);

    /* the probe, with the same configuration */
    ctel_probe_result pr;
    assert_int_equal(ctel_otlp_probe(&o2, 3000, &pr), CTEL_OK);
    assert_true(pr.ready);
    unsetenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE");

    ctel_sink_stats ss;
    ctel_sink_get_stats(sink, &ss);
    assert_int_equal(ss.spans, 10);
    ctel_sdk_shutdown(sdk, 1000);
    ctel_sdk_destroy(sdk);
    ctel_sink_stop(sink);
}

static void test_unverified_server_is_refused(void **state)
{
    (void)state;
    ctel_sink *sink = start_https_sink();
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/v1/traces", (unsigned)ctel_sink_port(sink));
    ctel_memory_exporter *mem;
    const ctel_span_data *spans[5];
    ctel_sdk *sdk = record_spans(&mem, spans);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.endpoint = url;
    o.direct = 1;
    ctel_span_exporter *exp = NULL;
    assert_int_equal(ctel_otlp_http_exporter_create(&o, &exp), CTEL_OK);
    ts_log_capture_start();
    /* a self-made CA is not among the system's: the handshake fails */
    assert_int_equal(ctel_span_exporter_export(exp, spans, 5, 5000), CTEL_ERR_UNAVAILABLE);
    ts_log_capture_stop();
    ctel_span_exporter_destroy(exp);
    ctel_probe_result pr;
    assert_int_equal(ctel_otlp_probe(&o, 3000, &pr), CTEL_OK);
    assert_false(pr.ready);
    assert_int_equal(pr.reason, CTEL_PROBE_TLS);
    assert_string_equal(ctel_probe_reason_str(pr.reason), "tls");

    /* a client certificate that cannot be loaded: reported as TLS, no crash */
    char ca[128];
    snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
    o.certificate = ca;
    o.client_certificate = "/nonexistent/client.pem";
    o.client_key = "/nonexistent/client.key";
    assert_int_equal(ctel_otlp_probe(&o, 3000, &pr), CTEL_OK);
    assert_false(pr.ready);
    assert_int_equal(pr.reason, CTEL_PROBE_TLS);

    ctel_sink_stats ss;
    ctel_sink_get_stats(sink, &ss);
    assert_int_equal(ss.spans, 0);
    ctel_sdk_shutdown(sdk, 1000);
    ctel_sdk_destroy(sdk);
    ctel_sink_stop(sink);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verified_with_ca),
        cmocka_unit_test(test_unverified_server_is_refused),
    };
    return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
