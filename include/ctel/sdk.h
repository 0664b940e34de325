/* ctel/sdk.h — one object that owns the whole SDK: resource, sampler, limits,
 * span processors, propagator.
 *
 * No hidden globals: the application creates a ctel_sdk and passes it (or
 * its tracers) around. ctel_sdk_set_global() is an opt-in convenience.
 *
 * Configuration precedence, per field: explicit option > OTEL_* environment
 * variable > specification default. Malformed environment values are
 * reported through the diagnostics and ignored, never fatal.
 */
#ifndef CTEL_SDK_H
#define CTEL_SDK_H

#include "export.h"
#include "otlp.h"
#include "propagation.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctel_sdk_options {
    /* OTEL_SDK_DISABLED=true (or this set to 1) gives a working no-op SDK:
     * spans are non-recording, nothing is exported, context still propagates.
     * -1: from the environment; 0: enabled; 1: disabled. */
    int disabled;
    /* Merged over the default resource (see ctel_resource_create_default);
     * retained, not taken. May be NULL. */
    const ctel_resource *resource;
    /* Overrides OTEL_SERVICE_NAME and everything else for service.name. */
    const char *service_name;
    /* NULL: from OTEL_TRACES_SAMPLER(_ARG). Ownership passes to the SDK
     * (also when creation fails). */
    ctel_sampler *sampler;
    /* Span limits (CTEL_SPAN_LIMITS_INIT: all from env / defaults). */
    ctel_span_limits span_limits;
    /* Span processors, in call order. Ownership of each passes to the SDK
     * (also when creation fails). When none is given, one is built from
     * OTEL_TRACES_EXPORTER (otlp, the default: OTLP/HTTP, see ctel/otlp.h |
     * console | none) wrapped in a batch processor (OTEL_BSP_*). */
    ctel_span_processor *const *span_processors;
    size_t span_processor_count;
    /* NULL: from OTEL_PROPAGATORS. Ownership passes to the SDK. */
    ctel_propagator *propagator;
} ctel_sdk_options;

#define CTEL_SDK_OPTIONS_INIT {-1, NULL, NULL, NULL, CTEL_SPAN_LIMITS_INIT, NULL, 0, NULL}

/* Creates an SDK. `opts` NULL = everything from the environment.
 * Starts the batch processors' worker threads.
 * Returns CTEL_ERR_INVALID_ARGUMENT (NULL out), CTEL_ERR_NO_MEMORY, or the
 * error of a processor that failed to start; *out is NULL on failure.
 * Thread-safety: any thread. */
CTEL_API ctel_status ctel_sdk_create(const ctel_sdk_options *opts, ctel_sdk **out);

/* Exports everything ended before the call, waiting at most `timeout_ms`
 * (0 = no limit). Returns CTEL_OK, CTEL_ERR_TIMEOUT, or the first exporter
 * failure. Thread-safety: any thread. */
CTEL_API ctel_status ctel_sdk_force_flush(ctel_sdk *sdk, uint32_t timeout_ms);

/* Flushes, stops the workers and shuts the exporters down, returning within
 * `timeout_ms` (0 = no limit) even if an exporter hangs; spans still queued
 * then are counted as dropped. Afterwards spans are non-recording. A second
 * call returns CTEL_ERR_SHUTDOWN. Thread-safety: any thread. */
CTEL_API ctel_status ctel_sdk_shutdown(ctel_sdk *sdk, uint32_t timeout_ms);

/* Shuts down (with a 5 s deadline) if not yet done, then frees the SDK, its
 * tracers, processors, exporters and propagator. If an export is still
 * running after a timed-out shutdown, waits up to 10 s more for it to return;
 * a worker still blocked after that is left running and its memory is not
 * freed (logged), rather than freed under it. Every span must have been
 * ended. NULL: no-op. Thread-safety: no other call on this SDK may run. */
CTEL_API void ctel_sdk_destroy(ctel_sdk *sdk);

/* The SDK's resource (owned by the SDK) and propagator (owned by the SDK). */
CTEL_API const ctel_resource *ctel_sdk_resource(const ctel_sdk *sdk);
CTEL_API const ctel_propagator *ctel_sdk_propagator(const ctel_sdk *sdk);

/* True when the SDK is the no-op SDK (OTEL_SDK_DISABLED). */
CTEL_API bool ctel_sdk_is_disabled(const ctel_sdk *sdk);

/* Counters since creation, summed over all span processors. Exact: every
 * ended sampled span is exactly one of exported, dropped or still queued. */
typedef struct ctel_sdk_stats {
    /* Sampled spans ended and handed to span processors; always equals
     * exported + every dropped_* + queued. */
    uint64_t spans_ended;
    uint64_t spans_exported;       /* accepted by an exporter */
    uint64_t spans_dropped_queue_full;
    uint64_t spans_dropped_export_failed; /* exporter returned an error */
    uint64_t spans_dropped_shutdown;      /* still queued when shutdown's deadline passed */
    uint64_t spans_queued;         /* waiting for export now (queues, threads' blocks) */
    uint64_t export_calls;         /* calls to exporters */
    uint64_t export_failures;      /* of which failed */
} ctel_sdk_stats;

/* Fills *out. Thread-safety: any thread; counters are read individually, so a
 * snapshot taken while spans flow may be momentarily inconsistent. */
CTEL_API ctel_status ctel_sdk_stats_get(const ctel_sdk *sdk, ctel_sdk_stats *out);

/* The stats of each OTLP exporter behind the SDK's span processors, in
 * processor order: where every span handed to them went (delivered,
 * rejected, dropped by reason, queued, on disk), the breaker, the last error.
 * Fills out[0 .. min(n, cap)) and returns n, the number of OTLP exporters.
 * Any thread. */
CTEL_API size_t ctel_sdk_otlp_stats(const ctel_sdk *sdk, ctel_otlp_exporter_stats *out,
                                   size_t cap);

/* Readiness: is every configured OTLP endpoint reachable and accepting
 * OTLP? Probes each (one minimal export that carries no telemetry, within
 * timeout_ms; 0 = the exporter's timeout), except those whose circuit breaker
 * is open, which are not ready without a probe. Verdicts are cached for
 * CTEL_READY_CACHE_MS (default 1000 ms), so frequent callers (health
 * endpoints, orchestrator probes) stay cheap. Fills out[0 .. min(n, cap))
 * with each endpoint's verdict, reason, latency and breaker state, and
 * returns n; *all_ready (may be NULL) is true when every endpoint is ready
 * (also when there is none). Blocking up to timeout_ms per endpoint; any
 * thread. */
CTEL_API size_t ctel_sdk_ready(ctel_sdk *sdk, uint32_t timeout_ms, ctel_probe_result *out,
                               size_t cap, bool *all_ready);

/* Opt-in global: set (not owned; NULL clears) and get. Thread-safety: any. */
CTEL_API void ctel_sdk_set_global(ctel_sdk *sdk);
CTEL_API ctel_sdk *ctel_sdk_global(void);

#ifdef __cplusplus
}
#endif
#endif /* CTEL_SDK_H */
