/* sdk/common/clock.h — the span timestamp clock.
 *
 * Reading CLOCK_REALTIME through the vDSO costs 25-30 ns on the virtual
 * machines ctel targets, and on some of them (kvm-clock) it does not scale:
 * two threads reading it at once pay ~70 ns each. A span needs two readings.
 * ctel therefore reads the TSC (~12 ns) and converts with an anchor pair
 * (TSC, CLOCK_REALTIME) that is re-taken every 100 ms, so wall-clock steps
 * are followed within 100 ms; the rate comes from CLOCK_MONOTONIC, which
 * is never stepped.
 *
 * The TSC is used where the kernel's own clock is built on it: clocksource
 * "tsc", or "kvm-clock" / "hyperv_clocksource_tsc_page" on a CPU with an
 * invariant TSC (flags constant_tsc and nonstop_tsc). A rate is trusted only
 * when two consecutive calibrations (~8 ms each) agree within 1 %, and an
 * anchor is never used for more than 2^31 ticks. Each re-anchor checks the
 * TSC's prediction against CLOCK_MONOTONIC; two failed checks (a TSC that
 * jumps, runs backwards or differs between CPUs) with no passed one between
 * them switch the process to clock_gettime for good, with a warning.
 * CTEL_CLOCK=system always uses clock_gettime; CTEL_CLOCK=tsc uses the TSC
 * whatever the clocksource.
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

/* One anchor: readers extrapolate from it for up to `limit` ticks. */
typedef struct ctel__clock_anchor {
    _Atomic uint64_t tsc;
    _Atomic uint64_t ns;    /* CLOCK_REALTIME at `tsc` */
    _Atomic uint64_t mono;  /* CLOCK_MONOTONIC at `tsc` */
    _Atomic uint64_t mult;  /* ns per tick, 32.32 fixed point; 0 = not calibrated */
    _Atomic uint64_t limit; /* ticks after `tsc` this anchor is good for */
} ctel__clock_anchor;

/* The anchors are double-buffered: anchors[gen & 1] is current; the
 * re-anchoring thread fills the other one and then increments `gen`. A
 * reader that sees `gen` change while it reads takes the slow path. */
typedef struct ctel__clock_state {
    _Atomic int mode; /* CTEL__CLOCK_* */
    _Atomic uint64_t gen;
    ctel__clock_anchor anchors[2];
    _Atomic bool refreshing; /* one thread re-anchors at a time */
    /* under `refreshing`: */
    uint32_t bad_checks;     /* failed checks since the last passed one */
    uint64_t candidate_mult; /* a calibration waiting for another that agrees */
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
        uint64_t gen = atomic_load_explicit(&ctel__clock.gen, memory_order_acquire);
        const ctel__clock_anchor *a = &ctel__clock.anchors[gen & 1u];
        uint64_t base_tsc = atomic_load_explicit(&a->tsc, memory_order_relaxed);
        uint64_t mult = atomic_load_explicit(&a->mult, memory_order_relaxed);
        uint64_t limit = atomic_load_explicit(&a->limit, memory_order_relaxed);
        uint64_t base_ns = atomic_load_explicit(&a->ns, memory_order_relaxed);
        uint64_t delta = __rdtsc() - base_tsc; /* huge when the TSC is behind */
        atomic_thread_fence(memory_order_acquire);
        if (CTEL_LIKELY(mult != 0 && delta < limit &&
                        atomic_load_explicit(&ctel__clock.gen, memory_order_relaxed) == gen))
            return base_ns + (uint64_t)(((unsigned __int128)delta * mult) >> 32);
    }
#endif
    return ctel__clock_slow();
}

#endif
