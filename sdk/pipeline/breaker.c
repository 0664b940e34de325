/* sdk/pipeline/breaker.c — the per-endpoint circuit breaker. */
#include "sdk/pipeline/breaker.h"

#include <stdarg.h>
#include <stdio.h>

#include "sdk/pipeline/retry.h"

void ctel__breaker_init(ctel__breaker *b, const char *name)
{
    memset(b, 0, sizeof *b);
    b->enabled = ctel__env_bool("CTEL_EXPORTER_BREAKER_ENABLED", true);
    b->state = CTEL_BREAKER_CLOSED;
    b->threshold = 5;
    b->min_cooldown_ms = 5000;
    b->max_cooldown_ms = 300000;
    int64_t v;
    if (ctel__env_int("CTEL_EXPORTER_BREAKER_FAILURE_THRESHOLD", 1, 1000, &v))
        b->threshold = (uint32_t)v;
    if (ctel__env_int("CTEL_EXPORTER_BREAKER_MIN_COOLDOWN", 1, 86400000, &v))
        b->min_cooldown_ms = (uint32_t)v;
    if (ctel__env_int("CTEL_EXPORTER_BREAKER_MAX_COOLDOWN", 1, 86400000, &v))
        b->max_cooldown_ms = (uint32_t)v;
    if (b->max_cooldown_ms < b->min_cooldown_ms)
        b->max_cooldown_ms = b->min_cooldown_ms;
    b->cooldown_ms = b->min_cooldown_ms;
    b->rng = (uint64_t)(uintptr_t)b ^ ctel__mono_ns();
    snprintf(b->name, sizeof b->name, "%s", name ? name : "");
}

static void say(ctel__breaker *b, ctel_log_level level, const char *fmt, ...) CTEL_PRINTF(3, 4);
static void say(ctel__breaker *b, ctel_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->pending_log, sizeof b->pending_log, fmt, ap);
    va_end(ap);
    b->pending_level = level;
}

bool ctel__breaker_take_log(ctel__breaker *b, ctel_log_level *level, char *buf, size_t cap)
{
    if (!b->pending_log[0])
        return false;
    *level = b->pending_level;
    snprintf(buf, cap, "%s", b->pending_log);
    b->pending_log[0] = '\0';
    return true;
}

static void open_now(ctel__breaker *b, uint64_t now_ns, const char *why)
{
    double u = (double)(ctel__jitter_next(&b->rng) >> 11) / 9007199254740992.0;
    uint64_t ms = (uint64_t)(b->cooldown_ms * (0.75 + 0.25 * u));
    b->state = CTEL_BREAKER_OPEN;
    b->open_until_ns = now_ns + ms * 1000000u;
    b->trial_in_flight = false;
    b->opens++;
    say(b, CTEL_LOG_WARN, "circuit breaker for %s: open (%s); no attempts for %llu ms", b->name,
        why, (unsigned long long)ms);
}

bool ctel__breaker_allow(ctel__breaker *b, uint64_t now_ns)
{
    if (!b->enabled)
        return true;
    switch (b->state) {
    case CTEL_BREAKER_CLOSED:
        return true;
    case CTEL_BREAKER_OPEN:
        if (now_ns < b->open_until_ns)
            return false;
        b->state = CTEL_BREAKER_HALF_OPEN;
        b->half_opens++;
        b->trial_in_flight = true;
        say(b, CTEL_LOG_INFO, "circuit breaker for %s: half-open; one trial export", b->name);
        return true;
    case CTEL_BREAKER_HALF_OPEN:
        if (b->trial_in_flight)
            return false;
        b->trial_in_flight = true;
        return true;
    }
    return true;
}

void ctel__breaker_success(ctel__breaker *b, uint64_t now_ns)
{
    (void)now_ns;
    b->failures = 0;
    if (b->state != CTEL_BREAKER_CLOSED) {
        b->state = CTEL_BREAKER_CLOSED;
        b->closes++;
        b->trial_in_flight = false;
        b->cooldown_ms = b->min_cooldown_ms;
        say(b, CTEL_LOG_INFO, "circuit breaker for %s: closed; exports resume", b->name);
    }
}

void ctel__breaker_failure(ctel__breaker *b, uint64_t now_ns)
{
    if (!b->enabled)
        return;
    if (b->state == CTEL_BREAKER_HALF_OPEN) {
        uint64_t next = (uint64_t)b->cooldown_ms * 2;
        b->cooldown_ms = next > b->max_cooldown_ms ? b->max_cooldown_ms : (uint32_t)next;
        open_now(b, now_ns, "the trial export failed");
        return;
    }
    if (b->state == CTEL_BREAKER_CLOSED && ++b->failures >= b->threshold) {
        char why[64];
        snprintf(why, sizeof why, "%u consecutive failed attempts", b->failures);
        b->failures = 0;
        b->cooldown_ms = b->min_cooldown_ms;
        open_now(b, now_ns, why);
    }
}

uint64_t ctel__breaker_next_attempt_ns(const ctel__breaker *b, uint64_t now_ns)
{
    if (b->enabled && b->state == CTEL_BREAKER_OPEN && b->open_until_ns > now_ns)
        return b->open_until_ns;
    return 0;
}

const char *ctel_breaker_state_str(ctel_breaker_state s)
{
    switch (s) {
    case CTEL_BREAKER_CLOSED: return "closed";
    case CTEL_BREAKER_OPEN: return "open";
    case CTEL_BREAKER_HALF_OPEN: return "half-open";
    }
    return "unknown";
}
