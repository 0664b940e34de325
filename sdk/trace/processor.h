/* sdk/trace/processor.h — the span processor vtable shared by the simple,
 * batch and user-defined processors. */
#ifndef CTEL_TRACE_PROCESSOR_H
#define CTEL_TRACE_PROCESSOR_H

#include "sdk/trace/span_internal.h"

typedef struct ctel__processor_vt {
    void (*on_start)(struct ctel_span_processor *p, ctel_span *span, const ctel_context *parent);
    /* For retaining processors, on_end takes over one reference to the
     * ended span and releases it with ctel__span_release() when done. */
    void (*on_end)(struct ctel_span_processor *p, ctel_span *span);
    /* Starts threads; may be NULL. `sole_owner`: no other processor sees
     * ended spans, so records need no reference counting. */
    ctel_status (*start)(struct ctel_span_processor *p, bool sole_owner);
    ctel_status (*force_flush)(struct ctel_span_processor *p, uint64_t deadline_ns);
    ctel_status (*shutdown)(struct ctel_span_processor *p, uint64_t deadline_ns);
    void (*stats)(struct ctel_span_processor *p, ctel_sdk_stats *acc); /* adds; may be NULL */
    void (*destroy)(struct ctel_span_processor *p);
    /* The exporter this processor feeds, or NULL (user processors). */
    ctel_span_exporter *(*exporter)(struct ctel_span_processor *p);
    bool retains;
} ctel__processor_vt;

/* Every processor implementation embeds this first. */
struct ctel_span_processor {
    const ctel__processor_vt *vt;
};

#endif
