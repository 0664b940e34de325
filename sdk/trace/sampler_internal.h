/* sdk/trace/sampler_internal.h — the sampler as the span-start path calls it.
 * Implemented in sampler.c; the built-in decisions are inline here so that
 * span start needs neither a parameter struct nor an indirect call. */
#ifndef CTEL_TRACE_SAMPLER_INTERNAL_H
#define CTEL_TRACE_SAMPLER_INTERNAL_H

#include "sdk/internal.h"

#define CTEL__SAMPLER_CUSTOM 100

struct ctel_sampler {
    int kind;           /* ctel_sampler_kind, or CTEL__SAMPLER_CUSTOM */
    uint64_t threshold; /* ratio kinds: sample iff the trace id's 56 random bits >= this */
    double ratio;
    ctel_sampler_ops ops; /* custom */
    void *user_data;      /* custom */
    char *description;
};

/* The trace id's rightmost 7 bytes as a big-endian number: the W3C Level 2
 * random part. One 8-byte load and a byte swap (compilers do not turn the
 * byte-by-byte loop into this on their own); byte 8 is masked off. */
static inline uint64_t ctel__trace_id_random56(const uint8_t trace_id[16])
{
    uint64_t r;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&r, trace_id + 8, 8);
    r = __builtin_bswap64(r);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    memcpy(&r, trace_id + 8, 8);
#else
    r = 0;
    for (int i = 8; i < 16; i++)
        r = (r << 8) | trace_id[i];
#endif
    return r & ((1ull << 56) - 1);
}

static inline ctel_sampling_decision ctel__ratio_decision(const struct ctel_sampler *s,
                                                          const uint8_t trace_id[16])
{
    return ctel__trace_id_random56(trace_id) >= s->threshold ? CTEL_SAMPLING_RECORD_AND_SAMPLE
                                                             : CTEL_SAMPLING_DROP;
}

/* The decision of a built-in sampler (kind != CTEL__SAMPLER_CUSTOM). `parent`
 * is NULL for a root span. */
static inline ctel_sampling_decision ctel__sampler_builtin(const struct ctel_sampler *s,
                                                           const ctel_span_context *parent,
                                                           const uint8_t trace_id[16])
{
    switch (s->kind) {
    case CTEL_SAMPLER_ALWAYS_ON:
        return CTEL_SAMPLING_RECORD_AND_SAMPLE;
    case CTEL_SAMPLER_ALWAYS_OFF:
        return CTEL_SAMPLING_DROP;
    case CTEL_SAMPLER_TRACEIDRATIO:
        return ctel__ratio_decision(s, trace_id);
    default:
        break;
    }
    /* ParentBased: follow a parent's sampled flag (local or remote alike, the
     * specification's defaults); roots go to the configured root sampler. */
    if (parent)
        return (parent->trace_flags & CTEL_TRACE_FLAG_SAMPLED) ? CTEL_SAMPLING_RECORD_AND_SAMPLE
                                                               : CTEL_SAMPLING_DROP;
    switch (s->kind) {
    case CTEL_SAMPLER_PARENTBASED_ALWAYS_ON:
        return CTEL_SAMPLING_RECORD_AND_SAMPLE;
    case CTEL_SAMPLER_PARENTBASED_ALWAYS_OFF:
        return CTEL_SAMPLING_DROP;
    default:
        return ctel__ratio_decision(s, trace_id);
    }
}

/* The decision for a span about to start, for any sampler. params->parent is
 * NULL for a root span. Thread-safety: any thread, lock-free. */
ctel_sampling_decision ctel__sampler_should_sample(const ctel_sampler *sampler,
                                                   const ctel_sampling_params *params);

#endif
