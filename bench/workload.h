/* bench/workload.h — the span every span benchmark measures (issue 2's
 * workload), defined once so the wall-time and instruction-count benchmarks
 * cannot drift apart. */
#ifndef CTEL_BENCH_WORKLOAD_H
#define CTEL_BENCH_WORKLOAD_H

#include <ctel/ctel.h>

/* Start + end a span; with `attrs`, the four attributes of the workload in
 * between (no-ops on a non-recording span). */
static inline void bench_one_span(ctel_tracer *t, int attrs)
{
    ctel_span *s = ctel_span_start(t, "GET /api/v1/items", NULL);
    if (attrs) {
        ctel_span_set_attr_str(s, "http.request.method", "GET");
        ctel_span_set_attr_int(s, "http.response.status_code", 200);
        ctel_span_set_attr_str(s, "url.path", "/api/v1/items");
        ctel_span_set_attr_double(s, "x.ratio", 0.5);
    }
    ctel_span_end(s);
}

/* An SDK sampling every span into `proc` (taken), for the export benchmarks.
 * Exits the benchmark on failure. */
#include <stdio.h>
#include <stdlib.h>
static inline ctel_sdk *bench_sdk(ctel_span_processor *proc, const char *service_name)
{
    ctel_sampler *sampler = NULL;
    ctel_sdk_options so = CTEL_SDK_OPTIONS_INIT;
    ctel_sdk *sdk = NULL;
    if (ctel_sampler_create(CTEL_SAMPLER_ALWAYS_ON, 1.0, &sampler) != CTEL_OK) {
        ctel_span_processor_destroy(proc);
        fprintf(stderr, "bench: cannot create the sampler\n");
        exit(1);
    }
    so.sampler = sampler;
    so.span_processors = &proc;
    so.span_processor_count = 1;
    so.service_name = service_name;
    if (ctel_sdk_create(&so, &sdk) != CTEL_OK) {
        fprintf(stderr, "bench: cannot create the SDK\n");
        exit(1);
    }
    return sdk;
}

#endif
