/* sdk/common/clock.c — mode selection, re-anchoring and the TSC's self-check
 * for clock.h. */
#include "sdk/internal.h"
#include "sdk/common/clock.h"

#include <sched.h>
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
/* Anchors are re-taken every 100 ms: a wall-clock step, or a TSC whose rate
 * changed under a migrated virtual machine, is caught within that. A sample
 * costs ~0.2 us, so this is ~2 us of one thread's time per second. */
#define ANCHOR_NS 100000000ull
/* Whatever a calibration says, an anchor is never used for more than 2^31
 * ticks (0.27 s at 8 GHz, 1 s at 2 GHz). */
#define MAX_ANCHOR_TICKS (1ull << 31)

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
 * held up in between (preemption would blur the anchor). False when the TSC
 * ran backwards every time. */
static bool sample(uint64_t *tsc, uint64_t *realtime, uint64_t *mono)
{
    uint64_t best_span = UINT64_MAX;
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = __rdtsc();
        uint64_t m = ctel__mono_ns();
        uint64_t r = ctel__now_ns();
        uint64_t t1 = __rdtsc();
        if (t1 >= t0 && t1 - t0 < best_span) {
            best_span = t1 - t0;
            *tsc = t0 + (t1 - t0) / 2;
            *mono = m;
            *realtime = r;
        }
    }
    return best_span != UINT64_MAX;
}

/* Makes a new anchor current (the one readers are not using). */
static void publish(uint64_t tsc, uint64_t ns, uint64_t mono, uint64_t mult, uint64_t limit)
{
    uint64_t gen = atomic_load_explicit(&ctel__clock.gen, memory_order_relaxed);
    ctel__clock_anchor *next = &ctel__clock.anchors[(gen + 1) & 1u];
    /* A reader that sees any of the stores below also sees `gen` as it is
     * now (pairs with the reader's acquire fence), so a reader still on the
     * anchor being overwritten finds `gen` changed and retries. */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&next->tsc, tsc, memory_order_relaxed);
    atomic_store_explicit(&next->ns, ns, memory_order_relaxed);
    atomic_store_explicit(&next->mono, mono, memory_order_relaxed);
    atomic_store_explicit(&next->mult, mult, memory_order_relaxed);
    atomic_store_explicit(&next->limit, limit, memory_order_relaxed);
    atomic_store_explicit(&ctel__clock.gen, gen + 1, memory_order_release);
}

/* Starts over from an uncalibrated anchor: readers use the system clock
 * until calibrations from it agree. */
static void restart(uint64_t tsc, uint64_t now, uint64_t mnow)
{
    publish(tsc, now, mnow, 0, CALIBRATION_TICKS);
}

/* Re-anchors at (tsc, now, mnow); one thread at a time (`refreshing`). */
static void reanchor(uint64_t tsc, uint64_t now, uint64_t mnow)
{
    uint64_t gen = atomic_load_explicit(&ctel__clock.gen, memory_order_relaxed);
    const ctel__clock_anchor *old = &ctel__clock.anchors[gen & 1u];
    uint64_t otsc = atomic_load(&old->tsc), omono = atomic_load(&old->mono);
    uint64_t omult = atomic_load(&old->mult);
    if (tsc <= otsc || mnow <= omono) {
        /* Backwards: another CPU's TSC is behind the one that anchored. */
        ctel__clock.bad_checks++;
        ctel__clock.candidate_mult = 0;
        restart(tsc, now, mnow);
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
            restart(tsc, now, mnow);
            return;
        }
        ctel__clock.bad_checks = 0; /* passed; a calibration alone proves nothing */
    }
    uint64_t mult = (uint64_t)(((unsigned __int128)dmono << 32) / dt);
    if (omult == 0) {
        /* Calibrating: trust a rate only when the next window agrees. */
        uint64_t cand = ctel__clock.candidate_mult;
        uint64_t diff = mult > cand ? mult - cand : cand - mult;
        ctel__clock.candidate_mult = mult;
        if (cand == 0 || diff > cand / 100) {
            restart(tsc, now, mnow);
            return;
        }
        ctel__clock.candidate_mult = 0;
    }
    /* ANCHOR_NS of ticks between anchors from now on, and never more than
     * MAX_ANCHOR_TICKS whatever the rate says. */
    uint64_t period = (uint64_t)(((unsigned __int128)dt * ANCHOR_NS) / dmono);
    uint64_t limit = period < MAX_ANCHOR_TICKS ? period : MAX_ANCHOR_TICKS;
    publish(tsc, now, mnow, mult ? mult : 1, limit ? limit : 1);
}

/* Decides the mode once; the thread that holds `refreshing` sets the first
 * anchor up. */
static int decide(void)
{
    while (atomic_exchange_explicit(&ctel__clock.refreshing, true, memory_order_acquire))
        sched_yield();
    int mode = atomic_load(&ctel__clock.mode);
    if (mode == CTEL__CLOCK_UNKNOWN) {
        mode = pick_mode();
        uint64_t tsc, ns, mono;
        if (mode == CTEL__CLOCK_TSC && !sample(&tsc, &ns, &mono)) {
            ctel__log(CTEL_LOG_WARN, "clock: the TSC runs backwards; span timestamps come from "
                                     "clock_gettime");
            mode = CTEL__CLOCK_SYSTEM;
        }
        if (mode == CTEL__CLOCK_TSC) {
            ctel__clock.bad_checks = 0;
            ctel__clock.candidate_mult = 0;
            restart(tsc, ns, mono);
        }
        atomic_store(&ctel__clock.mode, mode);
    }
    atomic_store_explicit(&ctel__clock.refreshing, false, memory_order_release);
    return mode;
}

#endif

uint64_t ctel__clock_slow(void)
{
#if CTEL__HAVE_TSC
    int mode = atomic_load_explicit(&ctel__clock.mode, memory_order_acquire);
    if (CTEL_UNLIKELY(mode == CTEL__CLOCK_UNKNOWN))
        mode = decide();
    if (mode != CTEL__CLOCK_TSC)
        return ctel__now_ns();
    /* One thread re-anchors; the others use the system clock meanwhile. */
    if (atomic_exchange_explicit(&ctel__clock.refreshing, true, memory_order_acquire))
        return ctel__now_ns();
    uint64_t tsc, now, mnow;
    if (!sample(&tsc, &now, &mnow)) {
        ctel__clock.bad_checks++;
        now = ctel__now_ns();
    } else if (atomic_load(&ctel__clock.mode) == CTEL__CLOCK_TSC)
        reanchor(tsc, now, mnow);
    if (ctel__clock.bad_checks >= CHECK_FAILURES_TO_GIVE_UP &&
        atomic_load(&ctel__clock.mode) == CTEL__CLOCK_TSC) {
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

void ctel__clock_fork_child(void)
{
    /* A thread of the parent may have been re-anchoring: nobody is now. */
    atomic_store(&ctel__clock.refreshing, false);
}

void ctel__clock_reset(void)
{
    while (atomic_exchange(&ctel__clock.refreshing, true))
        ;
    atomic_store(&ctel__clock.mode, CTEL__CLOCK_UNKNOWN);
    ctel__clock.bad_checks = 0;
    ctel__clock.candidate_mult = 0;
    atomic_store(&ctel__clock.refreshing, false);
}
