/* exporters/otlp/otlp_exporter.h — what the SDK asks of its OTLP exporters:
 * readiness probes with the exporter's own configuration. */
#ifndef CTEL_OTLP_EXPORTER_H
#define CTEL_OTLP_EXPORTER_H

#include "exporters/otlp/otlp_config.h"

/* Probes `cfg`'s endpoint: one minimal export that carries no telemetry, on
 * a fresh connection, within timeout_ms (0: cfg->timeout_ms). Fills *out
 * (breaker_state CLOSED). CTEL_ERR_NO_MEMORY / CTEL_ERR_INTERNAL only. */
ctel_status ctel__otlp_probe_config(const ctel__otlp_config *cfg, uint32_t timeout_ms,
                                    ctel_probe_result *out);

/* Readiness of an OTLP exporter's endpoint: the probe's verdict (cached for
 * CTEL_READY_CACHE_MS, default 1000 ms) and the breaker's state. A breaker
 * that is open makes the endpoint not ready without probing.
 * CTEL_ERR_INVALID_ARGUMENT if `exp` is not an OTLP exporter. Any thread. */
ctel_status ctel__otlp_exporter_ready(const ctel_span_exporter *exp, uint32_t timeout_ms,
                                      ctel_probe_result *out);

/* The exporter's delivery pipeline (sdk/pipeline/delivery.h); NULL if `exp`
 * is not an OTLP exporter or sends directly. For tests that reach into it. */
struct ctel__delivery *ctel__otlp_exporter_delivery(const ctel_span_exporter *exp);

#endif
