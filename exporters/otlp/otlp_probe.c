/* exporters/otlp/otlp_probe.c — readiness: is the OTLP/HTTP endpoint
 * reachable and accepting OTLP? One minimal export on a fresh connection. */
#include <stdio.h>

#include "exporters/otlp/http/otlp_http.h"
#include "exporters/otlp/otlp_config.h"
#include "exporters/otlp/otlp_exporter.h"
#include "exporters/otlp/proto/otlp_proto.h"

const char *ctel_probe_reason_str(ctel_probe_reason r)
{
    switch (r) {
    case CTEL_PROBE_OK: return "ok";
    case CTEL_PROBE_REFUSED: return "refused";
    case CTEL_PROBE_DNS: return "dns";
    case CTEL_PROBE_TLS: return "tls";
    case CTEL_PROBE_TIMEOUT: return "timeout";
    case CTEL_PROBE_HTTP_STATUS: return "http-status";
    case CTEL_PROBE_CONNECTION: return "connection";
    case CTEL_PROBE_CONFIG: return "config";
    case CTEL_PROBE_OTHER: break;
    }
    return "other";
}

/* The probe's request: one ResourceSpans whose resource names the prober and
 * that holds no spans. Not empty (some receivers refuse an empty body), yet
 * it carries no telemetry, so a receiver stores nothing. Written out by hand
 * because it is constant: field 1 (resource_spans) { field 1 (resource) {
 * field 1 (attributes) { key "service.name", value { string_value "ctel-probe" } } } }. */
static const unsigned char probe_proto[] = {
    0x0a, 0x20, /* resource_spans, 32 bytes */
    0x0a, 0x1e, /* resource, 30 bytes */
    0x0a, 0x1c, /* attributes, 28 bytes */
    0x0a, 0x0c, 's', 'e', 'r', 'v', 'i', 'c', 'e', '.', 'n', 'a', 'm', 'e',
    0x12, 0x0c, /* value, 12 bytes */
    0x0a, 0x0a, 'c', 't', 'e', 'l', '-', 'p', 'r', 'o', 'b', 'e'};
static const char probe_json[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"ctel-probe\"}}]}}]}";

ctel_status ctel__otlp_probe_config(const ctel__otlp_config *cfg_in, uint32_t timeout_ms,
                                    ctel_probe_result *out)
{
    memset(out, 0, sizeof *out);
    uint64_t t0 = ctel__mono_ns();
    ctel__otlp_config cfg = *cfg_in; /* the transport copies what it keeps */
    snprintf(out->endpoint, sizeof out->endpoint, "%s", cfg.url);
    if (timeout_ms)
        cfg.timeout_ms = timeout_ms;
    bool json = cfg.protocol == CTEL_OTLP_HTTP_JSON;
    ctel__otlp_http *t = NULL;
    ctel_status rc = ctel__otlp_http_create(&cfg, &t);
    if (rc != CTEL_OK)
        return rc;
    ctel__otlp_http_result r;
    if (json)
        ctel__otlp_http_send(t, probe_json, sizeof probe_json - 1, 0, &r);
    else
        ctel__otlp_http_send(t, probe_proto, sizeof probe_proto, 0, &r);
    out->http_status = r.http_status;
    out->reason = r.reason;
    snprintf(out->message, sizeof out->message, "%s", r.message);
    if (r.status == CTEL_OK) {
        /* A 2xx from something that is not an OTLP receiver is not ready. */
        int64_t rejected = 0;
        char msg[128];
        bool otlp = json ? (r.body_len == 0 || r.body[0] == '{')
                         : ctel__otlp_proto_parse_trace_response(r.body, r.body_len, &rejected,
                                                                 msg, sizeof msg) == CTEL_OK;
        if (otlp) {
            out->ready = true;
            snprintf(out->message, sizeof out->message, "HTTP %d: accepting OTLP",
                     r.http_status);
        } else {
            out->reason = CTEL_PROBE_OTHER;
            snprintf(out->message, sizeof out->message,
                     "HTTP %d, but the answer is not an OTLP response", r.http_status);
        }
    }
    ctel__otlp_http_destroy(t);
    out->latency_ms = (uint32_t)((ctel__mono_ns() - t0) / 1000000u);
    return CTEL_OK;
}

ctel_status ctel_otlp_probe(const ctel_otlp_options *opts, uint32_t timeout_ms,
                            ctel_probe_result *out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    ctel__otlp_config cfg;
    ctel_status rc = ctel__otlp_config_resolve(opts, "TRACES", "v1/traces", &cfg);
    if (rc != CTEL_OK)
        return rc;
    rc = ctel__otlp_probe_config(&cfg, timeout_ms, out);
    ctel__otlp_config_free(&cfg);
    return rc;
}
