/* sdk/trace/config.h — span limits and batch processor settings, resolved
 * once from explicit options, OTEL_* environment variables and the
 * specification's defaults (in that order). Implemented in config.c. */
#ifndef CTEL_TRACE_CONFIG_H
#define CTEL_TRACE_CONFIG_H

#include "sdk/internal.h"

/* Resolved span limits; UINT32_MAX means "no limit". */
typedef struct ctel__span_limits {
    uint32_t attribute_count;
    uint32_t attribute_value_length;
    uint32_t event_count;
    uint32_t link_count;
    uint32_t attributes_per_event;
    uint32_t attributes_per_link;
} ctel__span_limits;

/* `in` may be NULL (all unset). A field >= 0 wins (CTEL_LIMIT_NONE = no
 * limit); CTEL_LIMIT_UNSET (or any other negative value, with a warning)
 * falls back to the model-specific env var, the general env var
 * (OTEL_ATTRIBUTE_COUNT_LIMIT / OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, for the
 * attribute fields only), then the default (128, or no limit for lengths). */
void ctel__span_limits_resolve(const ctel_span_limits *in, ctel__span_limits *out);

typedef struct ctel__batch_config {
    uint32_t max_queue_size;        /* >= 1 */
    uint32_t max_export_batch_size; /* 1 .. max_queue_size */
    uint32_t schedule_delay_ms;     /* >= 1 */
    uint32_t export_timeout_ms;     /* 0 = no limit */
    bool preallocate;               /* reserve pool records when started */
} ctel__batch_config;

/* The specification's default for OTEL_BSP_EXPORT_TIMEOUT. */
#define CTEL__DEFAULT_EXPORT_TIMEOUT_MS 30000u

/* `in` may be NULL. Explicit positive fields win; then OTEL_BSP_*; then
 * 2048 / 512 / 5000 / 30000. preallocate: explicit >= 0, else
 * CTEL_BSP_PREALLOCATE, else false. A batch size above the queue size is clamped
 * with a warning. Invalid values warn and fall back. */
void ctel__batch_config_resolve(const ctel_batch_options *in, ctel__batch_config *out);

#endif
