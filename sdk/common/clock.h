/* sdk/common/clock.h — the span timestamp clock.
 *
 * Reading CLOCK_REALTIME through the vDSO costs ~25 ns on the machines ctel
 * targets and a span needs two readings. Where the kernel itself keeps time
 * with the TSC (current clocksource "tsc"), ctel reads the TSC (~10 ns) and
 * converts with an anchor pair (TSC, CLOCK_REALTIME) that is re-taken every
 * second, so wall-clock steps are followed within a second and the rate
 * error is that of a one-second calibration. Anywhere else, and with
 * CTEL_CLOCK=system, it is clock_gettime(CLOCK_REALTIME).
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

typedef struct ctel__clock_anchor {
    _Atomic uint64_t tsc;
    _Atomic uint64_t ns;
    _Atomic uint64_t mult; /* ns per tick, 32.32 fixed point; 0 = not calibrated */
} ctel__clock_anchor;

typedef struct ctel__clock_state {
    _Atomic int mode; /* 0 unknown, 1 system clock, 2 TSC */
    _Atomic uint32_t current; /* index into anchors */
    ctel__clock_anchor anchors[2];
    _Atomic uint64_t refresh_ticks;
    _Atomic bool refreshing;
} ctel__clock_state;

extern ctel__clock_state ctel__clock;

/* The slow path: decides the mode, calibrates, re-anchors. */
uint64_t ctel__clock_slow(void);

/* Nanoseconds since the Unix epoch. Thread-safety: any thread, lock-free. */
static inline uint64_t ctel__clock_ns(void)
{
#if CTEL__HAVE_TSC
    if (CTEL_LIKELY(atomic_load_explicit(&ctel__clock.mode, memory_order_relaxed) == 2)) {
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
