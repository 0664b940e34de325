/* sdk/common/clock.h — the span timestamp clock.
 *
 * Reading CLOCK_REALTIME through the vDSO costs 25-30 ns on the virtual
 * machines ctel targets, and on some of them (kvm-clock) it does not scale:
 * two threads reading it at once pay ~70 ns each. A span needs two readings.
 * ctel therefore reads the TSC (~12 ns) and converts with an anchor pair
 * (TSC, CLOCK_REALTIME) that is re-taken every second, so wall-clock steps
 * are followed within a second; the rate comes from CLOCK_MONOTONIC, which
 * is never stepped.
 *
 * The TSC is used where the kernel's own clock is built on it: clocksource
 * "tsc", or "kvm-clock" / "hyperv_clocksource_tsc_page" on a CPU with an
 * invariant TSC (flags constant_tsc and nonstop_tsc). Each re-anchor checks
 * the TSC's prediction against CLOCK_MONOTONIC; two bad checks in a row (a
 * TSC that jumps, runs backwards or differs between CPUs) switch the process
 * to clock_gettime for good, with a warning. CTEL_CLOCK=system always uses
 * clock_gettime; CTEL_CLOCK=tsc uses the TSC whatever the clocksource.
 */
#ifndef CTEL_COMMON_CLOCK_H
#define CTEL_COMMON_CLOCK_H

#include "sdk/internal.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#define CTEL__HAVE_TSC 1
#else
#define CTEL__HAVE_TSC 0
#endif

enum { CTEL__CLOCK_UNKNOWN = 0, CTEL__CLOCK_SYSTEM = 1, CTEL__CLOCK_TSC = 2 };

typedef struct ctel__clock_anchor {
    _Atomic uint64_t tsc;
    _Atomic uint64_t ns;   /* CLOCK_REALTIME at `tsc` */
    _Atomic uint64_t mono; /* CLOCK_MONOTONIC at `tsc` */
    _Atomic uint64_t mult; /* ns per tick, 32.32 fixed point; 0 = not calibrated */
} ctel__clock_anchor;

typedef struct ctel__clock_state {
    _Atomic int mode;         /* CTEL__CLOCK_* */
    _Atomic uint32_t current; /* index into anchors */
    ctel__clock_anchor anchors[2];
    _Atomic uint64_t refresh_ticks;
    _Atomic bool refreshing;
    uint32_t bad_checks; /* consecutive failed checks, under `refreshing` */
} ctel__clock_state;

extern ctel__clock_state ctel__clock;

/* The slow path: decides the mode, calibrates, re-anchors, checks. */
uint64_t ctel__clock_slow(void);

/* The mode for a CTEL_CLOCK value (NULL = unset), the current clocksource
 * name and the CPU flags line (either NULL when unreadable). Pure; exposed
 * for tests. An unknown CTEL_CLOCK value is reported through *bad_env. */
int ctel__clock_choose(const char *env, const char *clocksource, const char *cpu_flags,
                       bool *bad_env);

/* Tests: forget the mode so the next reading decides again. */
void ctel__clock_reset(void);

/* Nanoseconds since the Unix epoch. Thread-safety: any thread, lock-free. */
static inline uint64_t ctel__clock_ns(void)
{
#if CTEL__HAVE_TSC
    if (CTEL_LIKELY(atomic_load_explicit(&ctel__clock.mode, memory_order_relaxed) ==
                    CTEL__CLOCK_TSC)) {
        const ctel__clock_anchor *a =
            &ctel__clock.anchors[atomic_load_explicit(&ctel__clock.current, memory_order_acquire)];
        uint64_t base_tsc = atomic_load_explicit(&a->tsc, memory_order_relaxed);
        uint64_t mult = atomic_load_explicit(&a->mult, memory_order_relaxed);
        uint64_t tsc = __rdtsc();
        uint64_t delta = tsc - base_tsc;
        if (CTEL_LIKELY(mult != 0 &&
                        delta < atomic_load_explicit(&ctel__clock.refresh_ticks,
                                                     memory_order_relaxed)))
            return atomic_load_explicit(&a->ns, memory_order_relaxed) +
                   (uint64_t)(((unsigned __int128)delta * mult) >> 32);
    }
#endif
    return ctel__clock_slow();
}

#endif
