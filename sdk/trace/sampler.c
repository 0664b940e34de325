/* sdk/trace/sampler.c — built-in and user-defined samplers, and the sampler
 * chosen by OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG. */
#include "sdk/internal.h"
#include "sdk/trace/sampler_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

ctel_sampling_decision ctel__sampler_should_sample(const ctel_sampler *s,
                                                   const ctel_sampling_params *p)
{
    if (!s)
        return CTEL_SAMPLING_RECORD_AND_SAMPLE;
    if (s->kind != CTEL__SAMPLER_CUSTOM)
        return ctel__sampler_builtin(s, p->parent, p->trace_id);
    ctel_sampling_decision d = s->ops.should_sample(s->user_data, p);
    if (d != CTEL_SAMPLING_DROP && d != CTEL_SAMPLING_RECORD_ONLY &&
        d != CTEL_SAMPLING_RECORD_AND_SAMPLE) {
        CTEL_LOG_LIMITED(CTEL_LOG_WARN, "sampler \"%s\" returned an invalid decision %d; "
                                        "dropping the span",
                         s->description, (int)d);
        d = CTEL_SAMPLING_DROP;
    }
    return d;
}

/* (1 - ratio) * 2^56, rounded; ratio 1 → 0 (all), ratio 0 → 2^56 (none). */
static uint64_t threshold_for(double ratio)
{
    double t = (1.0 - ratio) * 72057594037927936.0; /* 2^56 */
    if (t <= 0)
        return 0;
    if (t >= 72057594037927936.0)
        return 1ull << 56;
    return (uint64_t)(t + 0.5);
}

static char *describe(ctel_sampler_kind kind, double ratio)
{
    char ratio_desc[64];
    snprintf(ratio_desc, sizeof ratio_desc, "TraceIdRatioBased{%f}", ratio);
    const char *root = NULL;
    switch (kind) {
    case CTEL_SAMPLER_ALWAYS_ON:
        return ctel__strdup("AlwaysOnSampler");
    case CTEL_SAMPLER_ALWAYS_OFF:
        return ctel__strdup("AlwaysOffSampler");
    case CTEL_SAMPLER_TRACEIDRATIO:
        return ctel__strdup(ratio_desc);
    case CTEL_SAMPLER_PARENTBASED_ALWAYS_ON:
        root = "AlwaysOnSampler";
        break;
    case CTEL_SAMPLER_PARENTBASED_ALWAYS_OFF:
        root = "AlwaysOffSampler";
        break;
    case CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO:
        root = ratio_desc;
        break;
    }
    char buf[128];
    snprintf(buf, sizeof buf, "ParentBased{root=%s}", root ? root : "?");
    return ctel__strdup(buf);
}

ctel_status ctel_sampler_create(ctel_sampler_kind kind, double ratio, ctel_sampler **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if ((int)kind < CTEL_SAMPLER_ALWAYS_ON || kind > CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO)
        return CTEL_ERR_INVALID_ARGUMENT;
    bool uses_ratio = kind == CTEL_SAMPLER_TRACEIDRATIO ||
                      kind == CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO;
    if (uses_ratio && !(ratio >= 0.0 && ratio <= 1.0)) /* also rejects NaN */
        return CTEL_ERR_INVALID_ARGUMENT;
    ctel_sampler *s = ctel__calloc(1, sizeof *s);
    if (!s)
        return CTEL_ERR_NO_MEMORY;
    s->kind = (int)kind;
    s->ratio = uses_ratio ? ratio : 1.0;
    s->threshold = threshold_for(s->ratio);
    s->description = describe(kind, s->ratio);
    if (!s->description) {
        ctel__free(s);
        return CTEL_ERR_NO_MEMORY;
    }
    *out = s;
    return CTEL_OK;
}

ctel_status ctel_sampler_create_custom(const ctel_sampler_ops *ops, void *user_data,
                                       ctel_sampler **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!ops || !ops->should_sample)
        return CTEL_ERR_INVALID_ARGUMENT;
    ctel_sampler *s = ctel__calloc(1, sizeof *s);
    if (!s)
        return CTEL_ERR_NO_MEMORY;
    s->kind = CTEL__SAMPLER_CUSTOM;
    s->ops = *ops;
    s->user_data = user_data;
    s->description = ctel__strdup(ops->description ? ops->description : "CustomSampler");
    if (!s->description) {
        ctel__free(s);
        return CTEL_ERR_NO_MEMORY;
    }
    s->ops.description = s->description;
    *out = s;
    return CTEL_OK;
}

static const char *const k_sampler_names[] = {
    "always_on",          "always_off",          "traceidratio",
    "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
    "jaeger_remote",      "parentbased_jaeger_remote", "xray",
    NULL};

/* The ratio from OTEL_TRACES_SAMPLER_ARG, or 1.0 with a warning. */
static double ratio_from_env(void)
{
    const char *arg = ctel__env_get("OTEL_TRACES_SAMPLER_ARG");
    if (!arg)
        return 1.0;
    char *end = NULL;
    errno = 0;
    double r = strtod(arg, &end);
    while (end && (*end == ' ' || *end == '\t'))
        end++;
    if (end == arg || !end || *end != '\0' || errno != 0 || !(r >= 0.0 && r <= 1.0)) {
        ctel__log(CTEL_LOG_WARN, "OTEL_TRACES_SAMPLER_ARG=\"%.64s\" is not a ratio in [0, 1]; "
                                 "using 1.0",
                  arg);
        return 1.0;
    }
    return r;
}

ctel_status ctel_sampler_create_from_env(ctel_sampler **out)
{
    int idx = ctel__env_enum("OTEL_TRACES_SAMPLER", k_sampler_names);
    ctel_sampler_kind kind = CTEL_SAMPLER_PARENTBASED_ALWAYS_ON;
    if (idx >= 0 && idx <= CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO) {
        kind = (ctel_sampler_kind)idx;
    } else if (idx > CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO) {
        ctel__log(CTEL_LOG_WARN, "OTEL_TRACES_SAMPLER=%s is not supported by ctel; using "
                                 "parentbased_always_on",
                  k_sampler_names[idx]);
    }
    double ratio = 1.0;
    if (kind == CTEL_SAMPLER_TRACEIDRATIO || kind == CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO)
        ratio = ratio_from_env();
    return ctel_sampler_create(kind, ratio, out);
}

const char *ctel_sampler_description(const ctel_sampler *s)
{
    return s ? s->description : "";
}

void ctel_sampler_destroy(ctel_sampler *s)
{
    if (!s)
        return;
    if (s->kind == CTEL__SAMPLER_CUSTOM && s->ops.destroy)
        s->ops.destroy(s->user_data);
    ctel__free(s->description);
    ctel__free(s);
}
