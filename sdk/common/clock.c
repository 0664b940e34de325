/* sdk/common/clock.c — mode selection, re-anchoring and the TSC's self-check
 * for clock.h. */
#include "sdk/internal.h"
#include "sdk/common/clock.h"

#include <stdio.h>
#include <stdlib.h>

ctel__clock_state ctel__clock;

/* Ticks between anchors before the first calibration: ~2^24 ticks is a few
 * milliseconds at any plausible TSC rate. */
#define CALIBRATION_TICKS (1ull << 24)

/* A re-anchor fails its check when the TSC's prediction of CLOCK_MONOTONIC
 * is off by more than 2000 ppm of the interval plus 200 us (NTP slews at
 * most 500 ppm; the slack covers a thread preempted between the readings). */
#define CHECK_PPM 2000u
#define CHECK_SLACK_NS 200000u
#define CHECK_FAILURES_TO_GIVE_UP 2u

static bool has_word(const char *line, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = line; (p = strstr(p, word)) != NULL; p += n) {
        bool start = p == line || p[-1] == ' ' || p[-1] == '\t' || p[-1] == ':';
        char end = p[n];
        if (start && (end == '\0' || end == ' ' || end == '\t' || end == '\n'))
            return true;
    }
    return false;
}

int ctel__clock_choose(const char *env, const char *clocksource, const char *cpu_flags,
                       bool *bad_env)
{
    *bad_env = false;
    if (env && *env) {
        if (ctel__str_ieq(env, "system"))
            return CTEL__CLOCK_SYSTEM;
        if (ctel__str_ieq(env, "tsc"))
            return CTEL__HAVE_TSC ? CTEL__CLOCK_TSC : CTEL__CLOCK_SYSTEM;
        *bad_env = true; /* and decide as if unset */
    }
    if (!CTEL__HAVE_TSC || !clocksource)
        return CTEL__CLOCK_SYSTEM;
    if (strcmp(clocksource, "tsc") == 0)
        return CTEL__CLOCK_TSC;
    bool tsc_based = strcmp(clocksource, "kvm-clock") == 0 ||
                     strcmp(clocksource, "hyperv_clocksource_tsc_page") == 0;
    if (tsc_based && cpu_flags && has_word(cpu_flags, "constant_tsc") &&
        has_word(cpu_flags, "nonstop_tsc"))
        return CTEL__CLOCK_TSC;
    return CTEL__CLOCK_SYSTEM;
}

#if CTEL__HAVE_TSC
/* First line of `path` starting with `prefix` (the whole first line when
 * prefix is ""), without its newline; false when there is none. */
static bool read_line(const char *path, const char *prefix, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool found = false;
    size_t plen = strlen(prefix);
    while (fgets(buf, (int)cap, f)) {
        if (strncmp(buf, prefix, plen) == 0) {
            buf[strcspn(buf, "\n")] = '\0';
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

static int pick_mode(void)
{
    char source[64], flags[4096];
    bool have_source =
        read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", "", source,
                  sizeof source);
    bool have_flags = read_line("/proc/cpuinfo", "flags", flags, sizeof flags);
    bool bad_env;
    const char *env = getenv("CTEL_CLOCK");
    int mode = ctel__clock_choose(env, have_source ? source : NULL, have_flags ? flags : NULL,
                                  &bad_env);
    if (bad_env)
        ctel__log(CTEL_LOG_WARN, "CTEL_CLOCK=\"%s\" is not \"system\" or \"tsc\"; ignored", env);
    return mode;
}

/* A TSC reading between two clock readings, retried when the thread was
 * held up in between (preemption would blur the anchor). */
static uint64_t sample(uint64_t *realtime, uint64_t *mono)
{
    uint64_t best_span = UINT64_MAX, best_tsc = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = __rdtsc();
        uint64_t m = ctel__mono_ns();
        uint64_t r = ctel__now_ns();
        uint64_t t1 = __rdtsc();
        if (t1 >= t0 && t1 - t0 < best_span) {
            best_span = t1 - t0;
            best_tsc = t0 + (t1 - t0) / 2;
            *mono = m;
            *realtime = r;
        }
    }
    if (best_span == UINT64_MAX) { /* the TSC ran backwards three times */
        *mono = ctel__mono_ns();
        *realtime = ctel__now_ns();
        return 0;
    }
    return best_tsc;
}

static void start_anchor(ctel__clock_anchor *a, uint64_t tsc, uint64_t ns, uint64_t mono)
{
    atomic_store_explicit(&a->tsc, tsc, memory_order_relaxed);
    atomic_store_explicit(&a->ns, ns, memory_order_relaxed);
    atomic_store_explicit(&a->mono, mono, memory_order_relaxed);
    atomic_store_explicit(&a->mult, 0, memory_order_relaxed);
    atomic_store_explicit(&ctel__clock.refresh_ticks, CALIBRATION_TICKS, memory_order_relaxed);
}

/* Starts over from an uncalibrated anchor: readers use the system clock
 * until the next re-anchor has calibrated it. */
static void restart(uint32_t cur, uint64_t tsc, uint64_t now, uint64_t mnow)
{
    start_anchor(&ctel__clock.anchors[cur ^ 1u], tsc, now, mnow);
    atomic_store_explicit(&ctel__clock.current, cur ^ 1u, memory_order_release);
}

/* Re-anchors from `old`; called by one thread at a time (`refreshing`). */
static void reanchor(uint32_t cur, uint64_t tsc, uint64_t now, uint64_t mnow)
{
    ctel__clock_anchor *old = &ctel__clock.anchors[cur];
    uint64_t otsc = atomic_load(&old->tsc), omono = atomic_load(&old->mono);
    uint64_t omult = atomic_load(&old->mult);
    if (tsc <= otsc || mnow <= omono) {
        /* Backwards: another CPU's TSC is behind this one's, or the sample
         * failed. Start over; a second time in a row gives up on the TSC. */
        if (++ctel__clock.bad_checks < CHECK_FAILURES_TO_GIVE_UP)
            restart(cur, tsc, now, mnow);
        return;
    }
    uint64_t dt = tsc - otsc, dmono = mnow - omono;
    if (dt < CALIBRATION_TICKS)
        return; /* too close to the last anchor to learn anything */
    if (omult != 0) {
        uint64_t predicted = omono + (uint64_t)(((unsigned __int128)dt * omult) >> 32);
        uint64_t err = predicted > mnow ? predicted - mnow : mnow - predicted;
        if (err > dmono / (1000000u / CHECK_PPM) + CHECK_SLACK_NS) {
            ctel__clock.bad_checks++;
            ctel__log(CTEL_LOG_DEBUG, "clock: TSC prediction off by %llu us over %llu ms",
                      (unsigned long long)(err / 1000u), (unsigned long long)(dmono / 1000000u));
            /* Recalibrate from here before trusting the TSC again. */
            restart(cur, tsc, now, mnow);
            return;
        }
    }
    if (omult != 0)
        ctel__clock.bad_checks = 0; /* passed; a calibration alone proves nothing */
    uint64_t mult = (uint64_t)(((unsigned __int128)dmono << 32) / dt);
    /* ~1 s of ticks between anchors from now on. */
    uint64_t per_second = (uint64_t)(((unsigned __int128)dt * 1000000000ull) / dmono);
    ctel__clock_anchor *next = &ctel__clock.anchors[cur ^ 1u];
    atomic_store_explicit(&next->tsc, tsc, memory_order_relaxed);
    atomic_store_explicit(&next->ns, now, memory_order_relaxed);
    atomic_store_explicit(&next->mono, mnow, memory_order_relaxed);
    atomic_store_explicit(&next->mult, mult ? mult : 1, memory_order_relaxed);
    atomic_store_explicit(&ctel__clock.refresh_ticks, per_second ? per_second : 1,
                          memory_order_relaxed);
    atomic_store_explicit(&ctel__clock.current, cur ^ 1u, memory_order_release);
}

#endif

uint64_t ctel__clock_slow(void)
{
#if CTEL__HAVE_TSC
    int mode = atomic_load_explicit(&ctel__clock.mode, memory_order_acquire);
    if (mode == CTEL__CLOCK_UNKNOWN) {
        mode = pick_mode();
        int expected = CTEL__CLOCK_UNKNOWN;
        if (mode == CTEL__CLOCK_TSC &&
            !atomic_exchange_explicit(&ctel__clock.refreshing, true, memory_order_acquire)) {
            /* First anchor; uncalibrated (system clock) until the next. */
            uint64_t ns, mono, tsc = sample(&ns, &mono);
            ctel__clock.bad_checks = 0;
            start_anchor(&ctel__clock.anchors[0], tsc, ns, mono);
            atomic_store(&ctel__clock.current, 0);
            (void)atomic_compare_exchange_strong(&ctel__clock.mode, &expected, mode);
            atomic_store_explicit(&ctel__clock.refreshing, false, memory_order_release);
        } else if (mode != CTEL__CLOCK_TSC) {
            (void)atomic_compare_exchange_strong(&ctel__clock.mode, &expected, mode);
        }
        mode = atomic_load(&ctel__clock.mode);
    }
    if (mode != CTEL__CLOCK_TSC)
        return ctel__now_ns();
    /* One thread re-anchors; the others use the system clock meanwhile. */
    if (atomic_exchange_explicit(&ctel__clock.refreshing, true, memory_order_acquire))
        return ctel__now_ns();
    uint64_t now, mnow, tsc = sample(&now, &mnow);
    reanchor(atomic_load(&ctel__clock.current), tsc, now, mnow);
    if (ctel__clock.bad_checks >= CHECK_FAILURES_TO_GIVE_UP) {
        atomic_store(&ctel__clock.mode, CTEL__CLOCK_SYSTEM);
        ctel__log(CTEL_LOG_WARN, "clock: the TSC disagrees with CLOCK_MONOTONIC (it jumps, runs "
                                 "backwards or differs between CPUs); span timestamps now come "
                                 "from clock_gettime (set CTEL_CLOCK=system to start that way)");
    }
    atomic_store_explicit(&ctel__clock.refreshing, false, memory_order_release);
    return now;
#else
    return ctel__now_ns();
#endif
}

void ctel__clock_reset(void)
{
    while (atomic_exchange(&ctel__clock.refreshing, true))
        ;
    atomic_store(&ctel__clock.mode, CTEL__CLOCK_UNKNOWN);
    ctel__clock.bad_checks = 0;
    atomic_store(&ctel__clock.refreshing, false);
}
