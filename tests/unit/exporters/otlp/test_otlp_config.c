/* Tests for exporters/otlp/otlp_config.c: OTLP exporter settings from options
 * and the OTEL_EXPORTER_OTLP_* variables (valid, invalid and missing values). */
#include "support/test_support.h"
#include "exporters/otlp/otlp_config.h"

#include <stdlib.h>

static const char *const k_vars[] = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",           "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",           "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",         "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_INSECURE",           "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_vars / sizeof k_vars[0]; i++)
        unsetenv(k_vars[i]);
    return 0;
}

/* Resolves with `opts` (NULL = all from env) while capturing diagnostics. */
static void resolve(const ctel_otlp_options *opts, ctel__otlp_config *c)
{
    ts_log_capture_start();
    assert_int_equal(ctel__otlp_config_resolve(opts, "TRACES", "v1/traces", c), CTEL_OK);
    ts_log_capture_stop();
}

static void test_defaults(void **state)
{
    (void)state;
    ctel__otlp_config c;
    resolve(NULL, &c);
    assert_string_equal(c.url, "http://localhost:4318/v1/traces");
    assert_int_equal(c.protocol, CTEL_OTLP_HTTP_PROTOBUF);
    assert_int_equal(c.header_count, 0);
    assert_int_equal(c.timeout_ms, 10000);
    assert_false(c.gzip);
    assert_null(c.certificate);
    assert_null(c.client_key);
    assert_null(c.client_certificate);
    assert_false(c.insecure);
    assert_int_equal(c.max_request_bytes, 4 * 1024 * 1024);
    assert_int_equal(ts_log_count(), 0);
    ctel__otlp_config_free(&c);
}

static void test_endpoints(void **state)
{
    (void)state;
    static const struct {
        const char *generic, *signal, *want;
    } cases[] = {
        {"http://collector:4318", NULL, "http://collector:4318/v1/traces"},
        {"http://collector:4318/", NULL, "http://collector:4318/v1/traces"},
        {"https://gw.example:443/otlp", NULL, "https://gw.example:443/otlp/v1/traces"},
        {"https://gw.example:443/otlp/", NULL, "https://gw.example:443/otlp/v1/traces"},
        /* the signal variable is used as is, and wins over the generic one */
        {"http://ignored:1", "http://c:4318/custom/path", "http://c:4318/custom/path"},
        {NULL, "http://c:4318", "http://c:4318/"},
        {NULL, "http://c:4318/v1/traces", "http://c:4318/v1/traces"},
        /* no scheme: https unless insecure */
        {"collector:4318", NULL, "https://collector:4318/v1/traces"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clear_env(NULL);
        if (cases[i].generic)
            setenv("OTEL_EXPORTER_OTLP_ENDPOINT", cases[i].generic, 1);
        if (cases[i].signal)
            setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", cases[i].signal, 1);
        ctel__otlp_config c;
        resolve(NULL, &c);
        if (strcmp(c.url, cases[i].want))
            fail_msg("case %zu: got %s, want %s", i, c.url, cases[i].want);
        ctel__otlp_config_free(&c);
    }
    /* insecure decides the scheme of a scheme-less endpoint only */
    clear_env(NULL);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", 1);
    setenv("OTEL_EXPORTER_OTLP_INSECURE", "true", 1);
    ctel__otlp_config c;
    resolve(NULL, &c);
    assert_string_equal(c.url, "http://collector:4318/v1/traces");
    assert_true(c.insecure);
    ctel__otlp_config_free(&c);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318", 1);
    resolve(NULL, &c);
    assert_string_equal(c.url, "https://collector:4318/v1/traces");
    ctel__otlp_config_free(&c);
    /* invalid insecure value: warned, false */
    setenv("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "yes", 1);
    resolve(NULL, &c);
    assert_false(c.insecure);
    assert_true(ts_log_contains("OTEL_EXPORTER_OTLP_TRACES_INSECURE"));
    ctel__otlp_config_free(&c);
    /* the option wins over both variables and is used as is */
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env:1/x", 1);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.endpoint = "http://127.0.0.1:9/v1/traces";
    resolve(&o, &c);
    assert_string_equal(c.url, "http://127.0.0.1:9/v1/traces");
    ctel__otlp_config_free(&c);
}

static void test_protocol(void **state)
{
    (void)state;
    static const struct {
        const char *generic, *signal;
        ctel_otlp_protocol want;
        const char *warning; /* substring of the expected warning, or NULL */
    } cases[] = {
        {"http/json", NULL, CTEL_OTLP_HTTP_JSON, NULL},
        {"HTTP/PROTOBUF", NULL, CTEL_OTLP_HTTP_PROTOBUF, NULL},
        {"http/protobuf", "http/json", CTEL_OTLP_HTTP_JSON, NULL},
        {"grpc", NULL, CTEL_OTLP_HTTP_PROTOBUF, "grpc"},
        {"thrift", NULL, CTEL_OTLP_HTTP_PROTOBUF, "OTEL_EXPORTER_OTLP_PROTOCOL"},
        {NULL, "json", CTEL_OTLP_HTTP_PROTOBUF, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clear_env(NULL);
        if (cases[i].generic)
            setenv("OTEL_EXPORTER_OTLP_PROTOCOL", cases[i].generic, 1);
        if (cases[i].signal)
            setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", cases[i].signal, 1);
        ctel__otlp_config c;
        resolve(NULL, &c);
        if (c.protocol != cases[i].want)
            fail_msg("case %zu: got %d", i, (int)c.protocol);
        if (cases[i].warning) {
            if (!ts_log_contains(cases[i].warning))
                fail_msg("case %zu: no warning with %s in: %s", i, cases[i].warning,
                         ts_log_text());
        } else {
            assert_int_equal(ts_log_count(), 0);
        }
        ctel__otlp_config_free(&c);
    }
    clear_env(NULL);
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.protocol = CTEL_OTLP_HTTP_JSON;
    ctel__otlp_config c;
    resolve(&o, &c);
    assert_int_equal(c.protocol, CTEL_OTLP_HTTP_JSON);
    ctel__otlp_config_free(&c);
}

static void test_headers(void **state)
{
    (void)state;
    setenv("OTEL_EXPORTER_OTLP_HEADERS",
           "api-key=secret, x-tenant = team%20a ,,empty=,novalue,bad key=v,"
           "inject=a%0d%0aX-Evil: 1,pct=%zz,=nokey,ok2=a%3Db",
           1);
    ctel__otlp_config c;
    resolve(NULL, &c);
    assert_int_equal(c.header_count, 4);
    assert_string_equal(c.headers[0], "api-key: secret");
    assert_string_equal(c.headers[1], "x-tenant: team a");
    assert_string_equal(c.headers[2], "empty: ");
    assert_string_equal(c.headers[3], "ok2: a=b");
    /* each malformed member warned once, naming the variable */
    assert_int_equal(ts_log_warning_count(), 5);
    assert_true(ts_log_contains("OTEL_EXPORTER_OTLP_HEADERS"));
    assert_true(ts_log_contains("control character"));
    assert_true(ts_log_contains("percent-escape"));
    ctel__otlp_config_free(&c);

    /* the signal variable replaces the generic list */
    setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "only=this", 1);
    resolve(NULL, &c);
    assert_int_equal(c.header_count, 1);
    assert_string_equal(c.headers[0], "only: this");
    ctel__otlp_config_free(&c);

    /* and the option replaces both */
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.headers = "a=1,b=2";
    resolve(&o, &c);
    assert_int_equal(c.header_count, 2);
    assert_string_equal(c.headers[1], "b: 2");
    ctel__otlp_config_free(&c);
}

static void test_timeout_compression_tls(void **state)
{
    (void)state;
    ctel__otlp_config c;
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", 1);
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP", 1);
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/etc/key.pem", 1);
    setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/cert.pem", 1);
    resolve(NULL, &c);
    assert_int_equal(c.timeout_ms, 2500);
    assert_true(c.gzip);
    assert_string_equal(c.certificate, "/etc/ca.pem");
    assert_string_equal(c.client_key, "/etc/key.pem");
    assert_string_equal(c.client_certificate, "/etc/cert.pem");
    assert_int_equal(ts_log_count(), 0);
    ctel__otlp_config_free(&c);

    /* the signal variables win; 0 means no limit */
    setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none", 1);
    resolve(NULL, &c);
    assert_int_equal(c.timeout_ms, 0);
    assert_false(c.gzip);
    ctel__otlp_config_free(&c);

    /* invalid values: warned, defaults used */
    clear_env(NULL);
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "-5", 1);
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", 1);
    resolve(NULL, &c);
    assert_int_equal(c.timeout_ms, 10000);
    assert_false(c.gzip);
    assert_true(ts_log_contains("OTEL_EXPORTER_OTLP_TIMEOUT"));
    assert_true(ts_log_contains("OTEL_EXPORTER_OTLP_COMPRESSION"));
    ctel__otlp_config_free(&c);
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", 1);
    resolve(NULL, &c);
    assert_int_equal(c.timeout_ms, 10000);
    assert_true(ts_log_contains("OTEL_EXPORTER_OTLP_TIMEOUT"));
    ctel__otlp_config_free(&c);

    /* options override the environment */
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    o.timeout_ms = 77;
    o.compression = CTEL_OTLP_COMPRESSION_GZIP;
    o.certificate = "/opt/ca.pem";
    o.max_request_bytes = 1000;
    resolve(&o, &c);
    assert_int_equal(c.timeout_ms, 77);
    assert_true(c.gzip);
    assert_string_equal(c.certificate, "/opt/ca.pem");
    assert_int_equal(c.max_request_bytes, 1000);
    ctel__otlp_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_endpoints, clear_env),
        cmocka_unit_test_setup(test_protocol, clear_env),
        cmocka_unit_test_setup(test_headers, clear_env),
        cmocka_unit_test_setup(test_timeout_compression_tls, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
