/* sdk/pipeline/breaker.h — the circuit breaker of one endpoint.
 *
 *   CLOSED --(threshold consecutive failed attempts)--> OPEN
 *   OPEN --(cool-down elapsed)--> HALF_OPEN: one real attempt decides
 *   HALF_OPEN --success--> CLOSED      HALF_OPEN --failure--> OPEN, cool-down x2
 * The cool-down starts at min_cooldown_ms, doubles on each re-open up to
 * max_cooldown_ms, with jitter (uniform in [75%, 100%]); a success resets it.
 * A failure is an attempt that could not reach an accepting receiver
 * (retryable outcome); a permanent rejection proves the receiver is up and
 * counts as a success here. Every transition is counted and leaves one
 * message for the owner to log (ctel__breaker_take_log).
 *
 * Not thread-safe: its owner (the delivery sender) serialises calls; time is
 * passed in (monotonic ns), so tests drive it without sleeping. */
#ifndef CTEL_PIPELINE_BREAKER_H
#define CTEL_PIPELINE_BREAKER_H

#include "sdk/internal.h"

typedef struct ctel__breaker {
    bool enabled;
    ctel_breaker_state state;
    uint32_t threshold;       /* default 5 */
    uint32_t min_cooldown_ms; /* default 5000 */
    uint32_t max_cooldown_ms; /* default 300000 */
    uint32_t failures;        /* consecutive, while CLOSED */
    uint32_t cooldown_ms;     /* of the current/next OPEN period */
    uint64_t open_until_ns;   /* monotonic, while OPEN */
    bool trial_in_flight;     /* HALF_OPEN: the one attempt is out */
    uint64_t opens, half_opens, closes;
    uint64_t rng;
    char name[96]; /* for diagnostics: the endpoint */
    /* The last transition's message, until taken: the owner logs it after
     * releasing its lock (a log handler may call back into ctel). */
    char pending_log[200];
    ctel_log_level pending_level;
} ctel__breaker;

/* Defaults, then CTEL_EXPORTER_BREAKER_ENABLED, _FAILURE_THRESHOLD (1..1000),
 * _MIN_COOLDOWN and _MAX_COOLDOWN (ms). */
void ctel__breaker_init(ctel__breaker *b, const char *name);

/* May an attempt be made now? OPEN past its cool-down turns HALF_OPEN and
 * allows exactly one (trial) attempt. */
bool ctel__breaker_allow(ctel__breaker *b, uint64_t now_ns);
/* The outcome of an attempt that was allowed. */
void ctel__breaker_success(ctel__breaker *b, uint64_t now_ns);
void ctel__breaker_failure(ctel__breaker *b, uint64_t now_ns);
/* Takes the message of the last transition (true), if any. */
bool ctel__breaker_take_log(ctel__breaker *b, ctel_log_level *level, char *buf, size_t cap);

/* When the next attempt may be made (monotonic ns; 0 when now). */
uint64_t ctel__breaker_next_attempt_ns(const ctel__breaker *b, uint64_t now_ns);

#endif
