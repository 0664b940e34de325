/* sdk/pipeline/retry.c — backoff with jitter, Retry-After, env knobs. */
#include "sdk/pipeline/retry.h"

#include <stdio.h>
#include <stdlib.h>

void ctel__retry_policy_from_env(ctel__retry_policy *p)
{
    static const ctel__retry_policy dflt = CTEL__RETRY_POLICY_DEFAULT;
    *p = dflt;
    p->enabled = ctel__env_bool("CTEL_EXPORTER_RETRY_ENABLED", true);
    int64_t v;
    if (ctel__env_int("CTEL_EXPORTER_RETRY_MAX_ATTEMPTS", 1, 100, &v))
        p->max_attempts = (uint32_t)v;
    if (ctel__env_int("CTEL_EXPORTER_RETRY_INITIAL_BACKOFF", 1, 600000, &v))
        p->initial_ms = (uint32_t)v;
    if (ctel__env_int("CTEL_EXPORTER_RETRY_MAX_BACKOFF", 1, 3600000, &v))
        p->max_backoff_ms = (uint32_t)v;
    const char *m = ctel__env_get("CTEL_EXPORTER_RETRY_BACKOFF_MULTIPLIER");
    if (m) {
        /* locale-independent: digits, optional '.', digits */
        double val = 0, scale = 1;
        const char *q = m;
        bool ok = *q >= '0' && *q <= '9', dot = false;
        for (; ok && *q; q++) {
            if (*q == '.' && !dot) {
                dot = true;
            } else if (*q >= '0' && *q <= '9') {
                if (dot)
                    scale /= 10, val += (*q - '0') * scale;
                else
                    val = val * 10 + (*q - '0');
            } else {
                ok = false;
            }
        }
        if (ok && val >= 1.0 && val <= 10.0) {
            p->multiplier = val;
        } else {
            char quoted[80];
            ctel__env_quote(m, quoted, sizeof quoted);
            ctel__log(CTEL_LOG_WARN,
                      "CTEL_EXPORTER_RETRY_BACKOFF_MULTIPLIER=\"%s\" is not a number in [1, 10]; "
                      "using %.1f", quoted, p->multiplier);
        }
    }
    if (p->max_backoff_ms < p->initial_ms) {
        ctel__log(CTEL_LOG_WARN, "CTEL_EXPORTER_RETRY_MAX_BACKOFF (%u ms) is below the initial "
                                 "backoff (%u ms); using %u ms for both",
                  p->max_backoff_ms, p->initial_ms, p->initial_ms);
        p->max_backoff_ms = p->initial_ms;
    }
}

uint32_t ctel__retry_backoff_ms(const ctel__retry_policy *p, uint32_t attempt,
                                int64_t retry_after_ms, uint64_t *rng)
{
    double b = p->initial_ms;
    for (uint32_t i = 1; i < attempt && b < p->max_backoff_ms; i++)
        b *= p->multiplier;
    if (b > p->max_backoff_ms)
        b = p->max_backoff_ms;
    /* jitter: uniform in [b/2, b] */
    double u = (double)(ctel__jitter_next(rng) >> 11) / 9007199254740992.0; /* [0, 1) */
    uint64_t wait = (uint64_t)(b * (0.5 + 0.5 * u));
    if (retry_after_ms >= 0 && (uint64_t)retry_after_ms > wait)
        wait = (uint64_t)retry_after_ms;
    return wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait;
}
