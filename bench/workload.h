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

#endif
