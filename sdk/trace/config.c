/* sdk/trace/config.c — span limits and batch settings: explicit option >
 * model-specific env var > general env var > default. */
#include "sdk/internal.h"
#include "sdk/trace/config.h"

/* An explicit limit, or the first env var that is set and valid, or dflt. */
static uint32_t limit(int32_t explicit_value, const char *field, const char *specific,
                      const char *general, uint32_t dflt)
{
    if (explicit_value >= 0)
        return explicit_value == CTEL_LIMIT_NONE ? UINT32_MAX : (uint32_t)explicit_value;
    if (explicit_value != CTEL_LIMIT_UNSET)
        ctel__log(CTEL_LOG_WARN, "span limits: %s=%d is negative; using the environment or "
                                 "default",
                  field, (int)explicit_value);
    int64_t v;
    if (specific && ctel__env_int(specific, 0, INT32_MAX, &v))
        return (uint32_t)v;
    if (general && ctel__env_int(general, 0, INT32_MAX, &v))
        return (uint32_t)v;
    return dflt;
}

void ctel__span_limits_resolve(const ctel_span_limits *in, ctel__span_limits *out)
{
    ctel_span_limits unset = CTEL_SPAN_LIMITS_INIT;
    if (!in)
        in = &unset;
    out->attribute_count = limit(in->attribute_count, "attribute_count",
                                 "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
                                 128);
    out->attribute_value_length =
        limit(in->attribute_value_length, "attribute_value_length",
              "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
              UINT32_MAX);
    out->event_count = limit(in->event_count, "event_count", "OTEL_SPAN_EVENT_COUNT_LIMIT", NULL,
                             128);
    out->link_count = limit(in->link_count, "link_count", "OTEL_SPAN_LINK_COUNT_LIMIT", NULL, 128);
    out->attributes_per_event = limit(in->attributes_per_event, "attributes_per_event",
                                      "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", NULL, 128);
    out->attributes_per_link = limit(in->attributes_per_link, "attributes_per_link",
                                     "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", NULL, 128);
}

static uint32_t setting(int32_t explicit_value, const char *env, int64_t min, uint32_t dflt,
                        bool duration)
{
    if (explicit_value > 0 || (explicit_value == 0 && min == 0))
        return (uint32_t)explicit_value;
    if (explicit_value != -1)
        ctel__log(CTEL_LOG_WARN, "batch options: %d is out of range for %s; using the "
                                 "environment or default",
                  (int)explicit_value, env);
    int64_t v;
    bool ok = duration ? ctel__env_duration_ms(env, &v) : ctel__env_int(env, min, INT32_MAX, &v);
    if (ok && v < min) {
        ctel__log(CTEL_LOG_WARN, "%s=%lld is below %lld; using %u", env, (long long)v,
                  (long long)min, dflt);
        ok = false;
    }
    return ok ? (uint32_t)v : dflt;
}

void ctel__batch_config_resolve(const ctel_batch_options *in, ctel__batch_config *out)
{
    ctel_batch_options unset = CTEL_BATCH_OPTIONS_INIT;
    if (!in)
        in = &unset;
    out->max_queue_size = setting(in->max_queue_size, "OTEL_BSP_MAX_QUEUE_SIZE", 1, 2048, false);
    out->max_export_batch_size =
        setting(in->max_export_batch_size, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, 512, false);
    /* A zero delay would make the worker spin: at least 1 ms. */
    out->schedule_delay_ms = setting(in->schedule_delay_ms, "OTEL_BSP_SCHEDULE_DELAY", 1, 5000,
                                     true);
    out->export_timeout_ms = setting(in->export_timeout_ms, "OTEL_BSP_EXPORT_TIMEOUT", 0,
                                     CTEL__DEFAULT_EXPORT_TIMEOUT_MS,
                                     true);
    if (in->preallocate < -1)
        ctel__log(CTEL_LOG_WARN, "batch options: preallocate=%d is below -1; using the "
                                 "environment or default",
                  (int)in->preallocate);
    out->preallocate = in->preallocate >= 0 ? in->preallocate > 0
                                            : ctel__env_bool("CTEL_BSP_PREALLOCATE", false);
    if (out->max_export_batch_size > out->max_queue_size) {
        ctel__log(CTEL_LOG_WARN, "batch size %u exceeds queue size %u; using %u",
                  out->max_export_batch_size, out->max_queue_size, out->max_queue_size);
        out->max_export_batch_size = out->max_queue_size;
    }
}
