/* sdk/trace/sampler.c — built-in and user-defined samplers, and the sampler
 * chosen by OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG.
 *
 * Descriptions are stable (users grep logs for them; tests hold them):
 *   AlwaysOnSampler
 *   AlwaysOffSampler
 *   TraceIdRatioBased{R}   R with six decimals, e.g. TraceIdRatioBased{0.250000}
 *   ParentBased{root=ROOT,remoteParentSampled=AlwaysOnSampler,
 *     remoteParentNotSampled=AlwaysOffSampler,localParentSampled=AlwaysOnSampler,
 *     localParentNotSampled=AlwaysOffSampler}   (one line, no spaces)
 * The parent-based form names all five delegates, in the order the
 * specification lists them, so that it reads like the other OpenTelemetry
 * SDKs' and stays right if the delegates ever become configurable.
 *
 * The ratio is parsed and printed without strtod()/"%f": both follow
 * LC_NUMERIC, and a service that calls setlocale(LC_ALL, "") in a locale
 * whose decimal separator is ',' must still read "0.25" as a quarter.
 */
#include "sdk/internal.h"
#include "sdk/trace/sampler_internal.h"

#include <stdio.h>

ctel_sampling_decision ctel__sampler_should_sample(const ctel_sampler *s,
                                                   const ctel_sampling_params *p)
{
    if (CTEL_UNLIKELY(!p || !p->trace_id))
        return CTEL_SAMPLING_DROP;
    if (CTEL_UNLIKELY(!s)) {
        /* No sampler: behave as the specification's default,
         * ParentBased{root=AlwaysOn}. */
        if (p->parent && !(p->parent->trace_flags & CTEL_TRACE_FLAG_SAMPLED))
            return CTEL_SAMPLING_DROP;
        return CTEL_SAMPLING_RECORD_AND_SAMPLE;
    }
    if (CTEL_LIKELY(s->kind != CTEL__SAMPLER_CUSTOM))
        return ctel__sampler_builtin(s, p->parent, p->trace_id);
    ctel_sampling_decision d = s->ops.should_sample(s->user_data, p);
    if (CTEL_UNLIKELY(d != CTEL_SAMPLING_DROP && d != CTEL_SAMPLING_RECORD_ONLY &&
                      d != CTEL_SAMPLING_RECORD_AND_SAMPLE)) {
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "sampler \"%s\" returned an invalid decision %d; dropping the span",
                         s->description, (int)d);
        d = CTEL_SAMPLING_DROP;
    }
    return d;
}

#define TWO_POW_56 72057594037927936.0

/* T = round((1 - ratio) * 2^56), computed as 2^56 - n where n is ratio * 2^56
 * rounded half down: the same number, but ratio * 2^56 is exact (a power-of-
 * two scale) whereas 1 - ratio drops the low bits of a small ratio. Ratio 1
 * gives 0 (every trace), ratio 0 gives 2^56 (none: R < 2^56 always). A larger
 * ratio never gives a larger T, so it samples a superset of the traces. */
static uint64_t threshold_for(double ratio)
{
    double x = ratio * TWO_POW_56;
    if (!(x > 0.0))
        return 1ull << 56;
    if (x >= TWO_POW_56)
        return 0;
    uint64_t n = (uint64_t)x;       /* floor: x is positive */
    if (x - (double)n > 0.5)        /* exact: both are doubles near each other */
        n++;
    return (1ull << 56) - n;
}

/* "TraceIdRatioBased{0.250000}" for a ratio in [0, 1], from an integer count
 * of millionths so that no locale can change the separator. */
static void describe_ratio(double ratio, char *buf, size_t cap)
{
    uint32_t micro = (uint32_t)(ratio * 1e6 + 0.5);
    snprintf(buf, cap, "TraceIdRatioBased{%u.%06u}", micro / 1000000u, micro % 1000000u);
}

static char *describe(ctel_sampler_kind kind, double ratio)
{
    char ratio_desc[48];
    describe_ratio(ratio, ratio_desc, sizeof ratio_desc);
    const char *root;
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
    default:
        root = ratio_desc;
        break;
    }
    char buf[256];
    snprintf(buf, sizeof buf,
             "ParentBased{root=%s,remoteParentSampled=AlwaysOnSampler,"
             "remoteParentNotSampled=AlwaysOffSampler,localParentSampled=AlwaysOnSampler,"
             "localParentNotSampled=AlwaysOffSampler}",
             root);
    return ctel__strdup(buf);
}

ctel_status ctel_sampler_create(ctel_sampler_kind kind, double ratio, ctel_sampler **out)
{
    if (!out) {
        ctel__log(CTEL_LOG_WARN, "ctel_sampler_create: `out` is NULL");
        return CTEL_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    if ((int)kind < CTEL_SAMPLER_ALWAYS_ON || kind > CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO) {
        ctel__log(CTEL_LOG_WARN, "ctel_sampler_create: unknown sampler kind %d", (int)kind);
        return CTEL_ERR_INVALID_ARGUMENT;
    }
    bool uses_ratio =
        kind == CTEL_SAMPLER_TRACEIDRATIO || kind == CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO;
    if (uses_ratio && !(ratio >= 0.0 && ratio <= 1.0)) { /* also rejects NaN */
        ctel__log(CTEL_LOG_WARN, "ctel_sampler_create: ratio %g is not within [0, 1]", ratio);
        return CTEL_ERR_INVALID_ARGUMENT;
    }
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
    if (!out) {
        ctel__log(CTEL_LOG_WARN, "ctel_sampler_create_custom: `out` is NULL");
        return CTEL_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    if (!ops || !ops->should_sample) {
        ctel__log(CTEL_LOG_WARN, "ctel_sampler_create_custom: no should_sample function");
        return CTEL_ERR_INVALID_ARGUMENT;
    }
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

/* ---- from the environment ---------------------------------------------------- */

/* Indices up to CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO equal ctel_sampler_kind;
 * the rest are names the specification knows and ctel does not implement. */
static const char *const k_sampler_names[] = {
    "always_on",     "always_off",
    "traceidratio",  "parentbased_always_on",
    "parentbased_always_off", "parentbased_traceidratio",
    "jaeger_remote", "parentbased_jaeger_remote",
    "xray",          NULL};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A plain decimal number — [+-]digits[.digits][(e|E)[+-]digits] with at
 * least one mantissa digit, spaces/tabs around — into *out. No hex, inf or
 * nan. Exact for the usual inputs ("0.25", "1e-3": at most 15 significant
 * digits and 22 decimal places); within an ulp or so otherwise. */
static bool parse_decimal(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    bool neg = *s == '-';
    if (*s == '+' || *s == '-')
        s++;
    uint64_t mant = 0;
    int sig = 0; /* significant digits in mant; 19 always fit in 64 bits */
    int exp10 = 0;
    bool any = false;
    for (; is_digit(*s); s++) {
        any = true;
        if (sig < 19) {
            mant = mant * 10 + (uint64_t)(*s - '0');
            sig += mant != 0;
        } else {
            exp10++;
        }
    }
    if (*s == '.') {
        for (s++; is_digit(*s); s++) {
            any = true;
            if (sig < 19) {
                mant = mant * 10 + (uint64_t)(*s - '0');
                sig += mant != 0;
                exp10--;
            }
        }
    }
    if (!any)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        bool eneg = *s == '-';
        if (*s == '+' || *s == '-')
            s++;
        if (!is_digit(*s))
            return false;
        int e = 0;
        for (; is_digit(*s); s++)
            if (e < 100000)
                e = e * 10 + (*s - '0');
        exp10 += eneg ? -e : e;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s != '\0')
        return false;

    double v = (double)mant;
    if (mant != 0 && exp10 < 0 && exp10 >= -22) {
        double p = 1.0; /* 10^k is exact in a double up to k = 22 */
        for (int i = 0; i < -exp10; i++)
            p *= 10.0;
        v /= p; /* one correctly rounded division */
    } else if (mant != 0) {
        for (; exp10 > 0 && v < 1e300; exp10--)
            v *= 10.0;
        for (; exp10 < 0 && v != 0.0; exp10++)
            v /= 10.0;
    }
    *out = neg ? -v : v;
    return true;
}

/* The ratio from OTEL_TRACES_SAMPLER_ARG: unset gives 1.0; anything but a
 * number within [0, 1] warns and gives 1.0. */
static double ratio_from_env(void)
{
    const char *arg = ctel__env_get("OTEL_TRACES_SAMPLER_ARG");
    if (!arg)
        return 1.0;
    double r = 0;
    if (parse_decimal(arg, &r) && r >= 0.0 && r <= 1.0)
        return r;
    char q[80];
    ctel__env_quote(arg, q, sizeof q);
    ctel__log(CTEL_LOG_WARN, "OTEL_TRACES_SAMPLER_ARG=\"%s\" is not a ratio within [0, 1]; "
                             "using 1.0",
              q);
    return 1.0;
}

ctel_status ctel_sampler_create_from_env(ctel_sampler **out)
{
    if (!out) {
        ctel__log(CTEL_LOG_WARN, "ctel_sampler_create_from_env: `out` is NULL");
        return CTEL_ERR_INVALID_ARGUMENT;
    }
    /* Unset gives -1 quietly; an unknown value gives -1 and env.c's warning. */
    int idx = ctel__env_enum("OTEL_TRACES_SAMPLER", k_sampler_names);
    ctel_sampler_kind kind = CTEL_SAMPLER_PARENTBASED_ALWAYS_ON;
    if (idx >= 0 && idx <= CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO) {
        kind = (ctel_sampler_kind)idx;
    } else if (idx > CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO) {
        ctel__log(CTEL_LOG_WARN, "OTEL_TRACES_SAMPLER=%s is not supported by ctel; using "
                                 "parentbased_always_on",
                  k_sampler_names[idx]);
    }
    /* The argument means something only to the ratio samplers; elsewhere it
     * is ignored without a word, as the specification says. */
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
