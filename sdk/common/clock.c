/* sdk/common/clock.c — mode selection and re-anchoring for clock.h. */
#include "sdk/internal.h"
#include "sdk/common/clock.h"

#include <stdio.h>
#include <stdlib.h>

ctel__clock_state ctel__clock;

/* Ticks between anchors before the first calibration: ~2^24 ticks is a few
 * milliseconds at any plausible TSC rate. */
#define CALIBRATION_TICKS (1ull << 24)

static int pick_mode(void)
{
#if CTEL__HAVE_TSC
    const char *env = getenv("CTEL_CLOCK");
    if (env && *env && ctel__str_ieq(env, "system"))
        return 1;
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (!f)
        return 1;
    char buf[32] = {0};
    bool tsc = fgets(buf, sizeof buf, f) && strncmp(buf, "tsc", 3) == 0 &&
               (buf[3] == '\n' || buf[3] == '\0');
    fclose(f);
    return tsc ? 2 : 1;
#else
    return 1;
#endif
}

uint64_t ctel__clock_slow(void)
{
    int mode = atomic_load_explicit(&ctel__clock.mode, memory_order_acquire);
    if (mode == 0) {
        mode = pick_mode();
        int expected = 0;
        if (atomic_compare_exchange_strong(&ctel__clock.mode, &expected, mode) && mode == 2) {
            /* First anchor; uncalibrated until the next one. */
            ctel__clock_anchor *a = &ctel__clock.anchors[0];
            atomic_store(&a->tsc, __rdtsc());
            atomic_store(&a->ns, ctel__now_ns());
            atomic_store(&a->mult, 0);
            atomic_store(&ctel__clock.refresh_ticks, CALIBRATION_TICKS);
            atomic_store(&ctel__clock.current, 0);
        }
        mode = atomic_load(&ctel__clock.mode);
    }
    uint64_t now = ctel__now_ns();
#if CTEL__HAVE_TSC
    if (mode != 2)
        return now;
    uint64_t tsc = __rdtsc();
    /* One thread re-anchors; the others use the system clock meanwhile. */
    if (atomic_exchange_explicit(&ctel__clock.refreshing, true, memory_order_acquire))
        return now;
    uint32_t cur = atomic_load(&ctel__clock.current);
    ctel__clock_anchor *old = &ctel__clock.anchors[cur];
    uint64_t otsc = atomic_load(&old->tsc), ons = atomic_load(&old->ns);
    if (tsc > otsc && now > ons && tsc - otsc >= CALIBRATION_TICKS) {
        uint64_t dt = tsc - otsc, dns = now - ons;
        uint64_t mult = (uint64_t)(((unsigned __int128)dns << 32) / dt);
        /* ~1 s of ticks between anchors from now on. */
        uint64_t per_second = (uint64_t)(((unsigned __int128)dt * 1000000000ull) / dns);
        ctel__clock_anchor *next = &ctel__clock.anchors[cur ^ 1u];
        atomic_store_explicit(&next->tsc, tsc, memory_order_relaxed);
        atomic_store_explicit(&next->ns, now, memory_order_relaxed);
        atomic_store_explicit(&next->mult, mult, memory_order_relaxed);
        atomic_store_explicit(&ctel__clock.refresh_ticks, per_second ? per_second : 1,
                              memory_order_relaxed);
        atomic_store_explicit(&ctel__clock.current, cur ^ 1u, memory_order_release);
    } else if (tsc < otsc) {
        /* The TSC went backwards (a migration the kernel did not hide):
         * re-anchor from scratch. */
        atomic_store(&old->tsc, tsc);
        atomic_store(&old->ns, now);
        atomic_store(&old->mult, 0);
    }
    atomic_store_explicit(&ctel__clock.refreshing, false, memory_order_release);
#endif
    return now;
}
