/* sdk/pipeline/retry.h — the retry policy of the export pipeline: which
 * outcomes are retried and how long to wait before the next attempt
 * (exponential backoff with jitter, Retry-After honoured, everything bounded
 * by the export deadline). Pure functions: the caller owns time and state. */
#ifndef CTEL_PIPELINE_RETRY_H
#define CTEL_PIPELINE_RETRY_H

#include "sdk/internal.h"

typedef struct ctel__retry_policy {
    bool enabled;
    uint32_t max_attempts;   /* attempts in all, the first included (>= 1) */
    uint32_t initial_ms;     /* backoff before the second attempt */
    uint32_t max_backoff_ms; /* cap of the exponential backoff */
    double multiplier;       /* growth per attempt (>= 1) */
} ctel__retry_policy;

/* The defaults of the official SDKs: 5 attempts, 1 s, 5 s, x1.5. */
#define CTEL__RETRY_POLICY_DEFAULT {true, 5, 1000, 5000, 1.5}

/* Reads CTEL_EXPORTER_RETRY_ENABLED (true/false), _MAX_ATTEMPTS (1..100),
 * _INITIAL_BACKOFF and _MAX_BACKOFF (ms), _BACKOFF_MULTIPLIER (1..10) over
 * the defaults; invalid values are reported and ignored. */
void ctel__retry_policy_from_env(ctel__retry_policy *p);

/* Whether an attempt that ended with `status` may succeed if repeated:
 * CTEL_ERR_UNAVAILABLE and CTEL_ERR_TIMEOUT. */
static inline bool ctel__retry_is_retryable(ctel_status status)
{
    return status == CTEL_ERR_UNAVAILABLE || status == CTEL_ERR_TIMEOUT;
}

/* The wait before attempt `attempt + 1` after attempt `attempt` (1-based)
 * failed: the exponential backoff min(initial * multiplier^(attempt-1), max)
 * with jitter (uniform in [50%, 100%] of it), or `retry_after_ms` when the
 * receiver gave one (>= 0) and it is longer. `rng` is the caller's state. */
uint32_t ctel__retry_backoff_ms(const ctel__retry_policy *p, uint32_t attempt,
                                int64_t retry_after_ms, uint64_t *rng);

/* A small xorshift step for jitter (not for IDs). */
static inline uint64_t ctel__jitter_next(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

#endif
