/* hello_trace — a tiny "service" instrumented with ctel.
 *
 * It handles three fake requests. Each request is a SERVER span with a
 * child span per step (auth, database query, render); the database step
 * records an event, one request fails and records an exception and an
 * ERROR status. It also shows W3C propagation: the incoming request carries
 * a traceparent header that the server span continues, and the outgoing call
 * injects one.
 *
 * Configuration comes from the standard variables. By default it exports
 * over OTLP/HTTP to http://localhost:4318 (a Collector, or `ctel sink
 * --print`), e.g.
 *   OTEL_SERVICE_NAME=checkout OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ./hello_trace
 * OTEL_TRACES_EXPORTER=console prints the spans as OTLP/JSON lines instead.
 * Exit status 0 when every span was exported.
 */
#include <ctel/ctel.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A minimal header map standing in for an HTTP library's headers. */
typedef struct headers {
    char names[8][64];
    char values[8][512];
    int count;
} headers;

static const char *headers_get(void *ud, const char *key)
{
    headers *h = ud;
    for (int i = 0; i < h->count; i++)
        if (strcasecmp(h->names[i], key) == 0)
            return h->values[i];
    return NULL;
}

static ctel_status headers_set(void *ud, const char *key, const char *value)
{
    headers *h = ud;
    if (h->count == 8)
        return CTEL_ERR_LIMIT;
    snprintf(h->names[h->count], sizeof h->names[0], "%s", key);
    snprintf(h->values[h->count], sizeof h->values[0], "%s", value);
    h->count++;
    return CTEL_OK;
}

static void work(long micros)
{
    struct timespec ts = {0, micros * 1000};
    nanosleep(&ts, NULL);
}

static void query_database(ctel_tracer *tracer, int order_id)
{
    ctel_span_start_options o = CTEL_SPAN_START_OPTIONS_INIT;
    o.kind = CTEL_SPAN_KIND_CLIENT;
    ctel_span *span = ctel_span_start(tracer, "SELECT orders", &o);
    ctel_span_set_attr_str(span, "db.system.name", "postgresql");
    ctel_span_set_attr_str(span, "db.query.text", "SELECT * FROM orders WHERE id = $1");
    ctel_span_set_attr_int(span, "app.order.id", order_id);
    work(800);
    ctel_attribute ev[] = {CTEL_ATTR_INT("db.response.returned_rows", 3)};
    ctel_span_add_event(span, "rows fetched", 0, ev, 1);
    ctel_span_end(span);
}

static void call_inventory(ctel_tracer *tracer, const ctel_propagator *prop)
{
    ctel_span_start_options o = CTEL_SPAN_START_OPTIONS_INIT;
    o.kind = CTEL_SPAN_KIND_CLIENT;
    ctel_span *span = ctel_span_start(tracer, "GET inventory", &o);
    ctel_span_set_attr_str(span, "http.request.method", "GET");
    ctel_span_set_attr_str(span, "server.address", "inventory.internal");
    ctel_context_token tok = ctel_span_make_current(span);
    headers out = {0};
    ctel_carrier carrier = {headers_get, NULL, headers_set, &out};
    ctel_propagator_inject(prop, NULL, &carrier);
    ctel_context_detach(tok);
    const char *tp = headers_get(&out, "traceparent");
    ctel_span_add_event(span, "sent traceparent", 0,
                        (ctel_attribute[]){CTEL_ATTR_STR("traceparent", tp ? tp : "")}, 1);
    work(500);
    ctel_span_set_attr_int(span, "http.response.status_code", 200);
    ctel_span_end(span);
}

static void handle_request(ctel_tracer *tracer, const ctel_propagator *prop, headers *incoming,
                           int order_id, bool fail)
{
    /* Continue the caller's trace if its traceparent is valid. */
    ctel_carrier in = {headers_get, NULL, NULL, incoming};
    ctel_context *parent = NULL;
    ctel_propagator_extract(prop, NULL, &in, &parent);

    ctel_span_start_options o = CTEL_SPAN_START_OPTIONS_INIT;
    o.kind = CTEL_SPAN_KIND_SERVER;
    o.parent = parent;
    ctel_span *req = ctel_span_start(tracer, "POST /checkout", &o);
    ctel_context_release(parent);
    ctel_span_set_attr_str(req, "http.request.method", "POST");
    ctel_span_set_attr_str(req, "url.path", "/checkout");
    ctel_context_token tok = ctel_span_make_current(req);

    ctel_span *auth = ctel_span_start(tracer, "authenticate", NULL);
    work(200);
    ctel_span_end(auth);

    query_database(tracer, order_id);
    call_inventory(tracer, prop);

    if (fail) {
        ctel_span_record_exception(req, "PaymentDeclined", "card declined by issuer", NULL,
                                   NULL, 0);
        ctel_span_set_status(req, CTEL_STATUS_ERROR, "payment declined");
        ctel_span_set_attr_int(req, "http.response.status_code", 402);
    } else {
        ctel_span_set_attr_int(req, "http.response.status_code", 200);
    }
    ctel_context_detach(tok);
    ctel_span_end(req);
}

int main(void)
{
    setenv("OTEL_SERVICE_NAME", "hello-trace", 0);

    ctel_sdk *sdk = NULL;
    ctel_status rc = ctel_sdk_create(NULL, &sdk);
    if (rc != CTEL_OK) {
        fprintf(stderr, "hello_trace: cannot start ctel: %s\n", ctel_status_str(rc));
        return 1;
    }
    ctel_tracer *tracer = ctel_sdk_tracer(sdk, "hello_trace", CTEL_VERSION_STRING, NULL);
    const ctel_propagator *prop = ctel_sdk_propagator(sdk);

    headers from_caller = {0};
    headers_set(&from_caller, "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    headers no_caller = {0};
    handle_request(tracer, prop, &from_caller, 1001, false);
    handle_request(tracer, prop, &no_caller, 1002, false);
    handle_request(tracer, prop, &no_caller, 1003, true);

    rc = ctel_sdk_shutdown(sdk, 5000);
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    /* With OTLP, "exported" means handed to the delivery pipeline: what the
     * Collector accepted is in the exporter's own stats. */
    ctel_otlp_exporter_stats os[4];
    size_t nos = ctel_sdk_otlp_stats(sdk, os, 4);
    uint64_t delivered = st.spans_exported;
    if (nos) {
        delivered = 0;
        for (size_t i = 0; i < nos && i < 4; i++)
            delivered += os[i].delivered;
    }
    fprintf(stderr,
            "hello_trace: %llu spans ended, %llu delivered, %llu dropped in the SDK "
            "(shutdown: %s)\n",
            (unsigned long long)st.spans_ended, (unsigned long long)delivered,
            (unsigned long long)(st.spans_dropped_queue_full + st.spans_dropped_export_failed +
                                 st.spans_dropped_shutdown),
            ctel_status_str(rc));
    ctel_sdk_destroy(sdk);
    return rc == CTEL_OK && delivered == st.spans_ended ? 0 : 1;
}
