/* sdk/trace/sampler_internal.h — the sampler as the span-start path calls it.
 * Implemented in sampler.c. */
#ifndef CTEL_TRACE_SAMPLER_INTERNAL_H
#define CTEL_TRACE_SAMPLER_INTERNAL_H

#include "sdk/internal.h"

/* The decision for a span about to start. params->parent is NULL for a root
 * span (no valid parent span context). Built-in samplers are dispatched
 * without an indirect call. Thread-safety: any thread, lock-free. */
ctel_sampling_decision ctel__sampler_should_sample(const ctel_sampler *sampler,
                                                   const ctel_sampling_params *params);

#endif
