/* tests/support/test_support.c — see test_support.h. */
#include "support/test_support.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_buf[64 * 1024];
static size_t g_len;
static size_t g_count;
static size_t g_warnings;

static void capture(ctel_log_level level, const char *msg, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&g_lock);
    size_t n = strlen(msg);
    if (g_len + n + 2 < sizeof g_buf) {
        memcpy(g_buf + g_len, msg, n);
        g_len += n;
        g_buf[g_len++] = '\n';
        g_buf[g_len] = '\0';
    }
    g_count++;
    if (level >= CTEL_LOG_WARN)
        g_warnings++;
    pthread_mutex_unlock(&g_lock);
}

void ts_log_capture_start(void)
{
    pthread_mutex_lock(&g_lock);
    g_len = 0;
    g_count = 0;
    g_warnings = 0;
    g_buf[0] = '\0';
    pthread_mutex_unlock(&g_lock);
    ctel_set_log_level(CTEL_LOG_DEBUG);
    ctel_set_log_handler(capture, NULL);
}

void ts_log_capture_stop(void)
{
    ctel_set_log_handler(NULL, NULL);
    ctel_set_log_level(CTEL_LOG_INFO);
}

bool ts_log_contains(const char *needle)
{
    pthread_mutex_lock(&g_lock);
    bool found = strstr(g_buf, needle) != NULL;
    pthread_mutex_unlock(&g_lock);
    return found;
}

size_t ts_log_count(void)
{
    pthread_mutex_lock(&g_lock);
    size_t n = g_count;
    pthread_mutex_unlock(&g_lock);
    return n;
}

static ctel_status counting_export(void *state, const ctel_span_data *const *spans, size_t n,
                                   uint32_t timeout_ms)
{
    (void)timeout_ms;
    ts_counting_exporter *c = state;
    unsigned d = atomic_load(&c->delay_ms);
    if (d) {
        struct timespec ts = {(time_t)(d / 1000), (long)(d % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        /* Touch every span: a recycled record would show up under ASan. */
        if (spans[i]->name_len != strlen(spans[i]->name))
            return CTEL_ERR_INTERNAL;
    }
    atomic_fetch_add(&c->calls, 1);
    unsigned long m = atomic_load(&c->max_batch);
    while (n > m && !atomic_compare_exchange_weak(&c->max_batch, &m, n)) {
    }
    int fail = atomic_load(&c->fail_with);
    if (fail)
        return (ctel_status)fail;
    atomic_fetch_add(&c->spans, n);
    return CTEL_OK;
}

static ctel_status counting_shutdown(void *state, uint32_t timeout_ms)
{
    (void)timeout_ms;
    atomic_store(&((ts_counting_exporter *)state)->shut_down, true);
    return CTEL_OK;
}

static void counting_destroy(void *state)
{
    atomic_store(&((ts_counting_exporter *)state)->destroyed, true);
}

ctel_span_exporter *ts_counting_exporter_create(ts_counting_exporter *state)
{
    ctel_span_exporter_ops ops = {"counting", counting_export, NULL, counting_shutdown,
                                  counting_destroy};
    ctel_span_exporter *exp = NULL;
    assert_int_equal(ctel_span_exporter_create(&ops, state, &exp), CTEL_OK);
    return exp;
}

ctel_sdk *ts_sdk_with_processor(ctel_span_processor *proc)
{
    ctel_sampler *sampler = NULL;
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_ALWAYS_ON, 1.0, &sampler), CTEL_OK);
    ctel_sdk_options o = CTEL_SDK_OPTIONS_INIT;
    o.sampler = sampler;
    o.span_processors = &proc;
    o.span_processor_count = proc ? 1 : 0;
    o.service_name = "ctel-tests";
    ctel_sdk *sdk = NULL;
    assert_int_equal(ctel_sdk_create(&o, &sdk), CTEL_OK);
    assert_non_null(sdk);
    return sdk;
}

size_t ts_log_warning_count(void)
{
    pthread_mutex_lock(&g_lock);
    size_t n = g_warnings;
    pthread_mutex_unlock(&g_lock);
    return n;
}

const char *ts_log_text(void)
{
    return g_buf;
}

void ts_end_spans(ctel_tracer *t, int n)
{
    for (int i = 0; i < n; i++) {
        ctel_span *s = ctel_span_start(t, "op", NULL);
        ctel_span_set_attr_int(s, "i", i);
        ctel_span_end(s);
    }
}
