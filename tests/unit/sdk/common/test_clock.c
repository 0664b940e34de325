/* Tests for sdk/common/clock.c: which clock is chosen, that TSC timestamps
 * agree with CLOCK_REALTIME, and that a TSC caught disagreeing with
 * CLOCK_MONOTONIC is given up for clock_gettime. */
#include "support/test_support.h"
#include "sdk/internal.h"
#include "sdk/common/clock.h"

#include <stdlib.h>
#include <time.h>

static const char *k_invariant = "flags\t\t: fpu vme tsc msr constant_tsc rep_good nopl nonstop_tsc "
                                 "cpuid tsc_known_freq pni";

static void test_choose(void **state)
{
    (void)state;
    static const struct {
        const char *env, *source, *flags;
        int want;
        bool bad_env;
    } cases[] = {
        {NULL, "tsc", NULL, CTEL__CLOCK_TSC, false},
        {NULL, "kvm-clock", "flags\t: fpu constant_tsc nonstop_tsc", CTEL__CLOCK_TSC, false},
        {NULL, "hyperv_clocksource_tsc_page", "flags: nonstop_tsc constant_tsc", CTEL__CLOCK_TSC,
         false},
        /* not invariant, or only one of the two flags */
        {NULL, "kvm-clock", "flags\t: fpu tsc", CTEL__CLOCK_SYSTEM, false},
        {NULL, "kvm-clock", "flags\t: fpu constant_tsc", CTEL__CLOCK_SYSTEM, false},
        /* whole words only */
        {NULL, "kvm-clock", "flags\t: xconstant_tsc nonstop_tscx", CTEL__CLOCK_SYSTEM, false},
        {NULL, "kvm-clock", NULL, CTEL__CLOCK_SYSTEM, false},
        /* clocks not built on the TSC */
        {NULL, "hpet", "flags\t: constant_tsc nonstop_tsc", CTEL__CLOCK_SYSTEM, false},
        {NULL, "xen", "flags\t: constant_tsc nonstop_tsc", CTEL__CLOCK_SYSTEM, false},
        {NULL, NULL, NULL, CTEL__CLOCK_SYSTEM, false},
        /* CTEL_CLOCK */
        {"system", "tsc", NULL, CTEL__CLOCK_SYSTEM, false},
        {"SYSTEM", "tsc", NULL, CTEL__CLOCK_SYSTEM, false},
        {"tsc", "hpet", NULL, CTEL__CLOCK_TSC, false},
        {"", "tsc", NULL, CTEL__CLOCK_TSC, false},
        {"fast", "tsc", NULL, CTEL__CLOCK_TSC, true},
        {"fast", "hpet", NULL, CTEL__CLOCK_SYSTEM, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool bad = !cases[i].bad_env;
        int got = ctel__clock_choose(cases[i].env, cases[i].source, cases[i].flags, &bad);
        int want = CTEL__HAVE_TSC ? cases[i].want : CTEL__CLOCK_SYSTEM;
        if (got != want || bad != cases[i].bad_env)
            fail_msg("case %zu (%s, %s): mode %d bad_env %d", i,
                     cases[i].env ? cases[i].env : "-", cases[i].source ? cases[i].source : "-",
                     got, bad);
    }
    bool bad;
    assert_int_equal(ctel__clock_choose(NULL, "kvm-clock", k_invariant, &bad),
                     CTEL__HAVE_TSC ? CTEL__CLOCK_TSC : CTEL__CLOCK_SYSTEM);
}

/* A bad CTEL_CLOCK value is reported once the clock decides. */
static void test_bad_env_warns(void **state)
{
    (void)state;
    setenv("CTEL_CLOCK", "quartz", 1);
    ctel__clock_reset();
    ts_log_capture_start();
    (void)ctel__clock_ns();
    ts_log_capture_stop();
    assert_true(ts_log_contains("CTEL_CLOCK=\"quartz\""));
    unsetenv("CTEL_CLOCK");
    ctel__clock_reset();
}

/* ctel__clock_ns() lies between two CLOCK_REALTIME readings taken around it
 * (with a margin for the TSC's one-second calibration). */
static void check_agrees(int readings, uint64_t margin_ns)
{
    for (int i = 0; i < readings; i++) {
        uint64_t before = ctel__now_ns();
        uint64_t c = ctel__clock_ns();
        uint64_t after = ctel__now_ns();
        if (c + margin_ns < before || c > after + margin_ns)
            fail_msg("reading %d: %llu not within [%llu, %llu] +- %llu ns", i,
                     (unsigned long long)c, (unsigned long long)before,
                     (unsigned long long)after, (unsigned long long)margin_ns);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void test_system_mode(void **state)
{
    (void)state;
    setenv("CTEL_CLOCK", "system", 1);
    ctel__clock_reset();
    check_agrees(20, 0);
    assert_int_equal(atomic_load(&ctel__clock.mode), CTEL__CLOCK_SYSTEM);
    unsetenv("CTEL_CLOCK");
    ctel__clock_reset();
}

#if CTEL__HAVE_TSC
static ctel__clock_anchor *current_anchor(void)
{
    return &ctel__clock.anchors[atomic_load(&ctel__clock.gen) & 1u];
}

/* Makes the next reading re-anchor. */
static void expire_anchor(void)
{
    atomic_store(&current_anchor()->limit, 1);
}

/* Reads until the TSC anchor is calibrated (a few ms of ticks). */
static void wait_calibrated(void)
{
    for (int i = 0; i < 2000; i++) {
        (void)ctel__clock_ns();
        if (atomic_load(&ctel__clock.mode) != CTEL__CLOCK_TSC)
            fail_msg("the TSC was given up during calibration");
        if (atomic_load(&current_anchor()->mult) != 0)
            return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("the TSC anchor was not calibrated within 2 s");
}

/* CTEL_CLOCK=tsc from a fresh start, with diagnostics captured, until the
 * TSC is calibrated. */
static void start_tsc(void)
{
    setenv("CTEL_CLOCK", "tsc", 1);
    ctel__clock_reset();
    ts_log_capture_start();
    wait_calibrated();
}

static void back_to_default(void)
{
    ts_log_capture_stop();
    unsetenv("CTEL_CLOCK");
    ctel__clock_reset();
}

/* Over many re-anchor periods (100 ms each) the TSC clock stays within 2 ms
 * of CLOCK_REALTIME and keeps the TSC. */
static void test_tsc_agrees(void **state)
{
    (void)state;
    start_tsc();
    check_agrees(1300, 2000000);
    assert_int_equal(atomic_load(&ctel__clock.mode), CTEL__CLOCK_TSC);
    assert_int_equal(ts_log_warning_count(), 0);
    back_to_default();
}

/* Makes the current anchor predict twice the elapsed time and forces a
 * re-anchor on the next reading. */
static void corrupt_rate(void)
{
    ctel__clock_anchor *a = current_anchor();
    atomic_store(&a->mult, atomic_load(&a->mult) * 2);
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    expire_anchor();
}

/* One failed check recalibrates; two in a row give the TSC up, with a
 * warning, and timestamps keep agreeing with CLOCK_REALTIME throughout. */
static void test_tsc_disagreeing_is_given_up(void **state)
{
    (void)state;
    start_tsc();
    corrupt_rate();
    check_agrees(1, 2000000);
    assert_int_equal(atomic_load(&ctel__clock.mode), CTEL__CLOCK_TSC);
    assert_int_equal(ctel__clock.bad_checks, 1);
    assert_int_equal(ts_log_warning_count(), 0);

    wait_calibrated();
    corrupt_rate();
    check_agrees(1, 2000000);
    assert_int_equal(atomic_load(&ctel__clock.mode), CTEL__CLOCK_SYSTEM);
    assert_true(ts_log_contains("TSC disagrees"));
    check_agrees(5, 0);
    back_to_default();
}

/* A passed check after a failed one clears the count: isolated glitches
 * (a paused VM, a migration) never add up to giving the TSC up. */
static void test_isolated_failures_do_not_add_up(void **state)
{
    (void)state;
    start_tsc();
    for (int round = 0; round < 3; round++) {
        corrupt_rate();
        (void)ctel__clock_ns();
        assert_int_equal(ctel__clock.bad_checks, 1);
        wait_calibrated();
        /* a clean re-anchor: the check passes */
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
        expire_anchor();
        (void)ctel__clock_ns();
        assert_int_equal(ctel__clock.bad_checks, 0);
        assert_int_equal(atomic_load(&ctel__clock.mode), CTEL__CLOCK_TSC);
    }
    back_to_default();
}
/* A rate is trusted only when two calibration windows agree: a window
 * spoiled by a TSC jump (here: a forged first window three times too fast)
 * leaves the clock uncalibrated (system clock) until two agree. */
static void test_calibration_needs_two_agreeing_windows(void **state)
{
    (void)state;
    start_tsc();
    /* start over from an uncalibrated anchor with a spoiled candidate */
    corrupt_rate();
    (void)ctel__clock_ns();
    assert_int_equal(atomic_load(&current_anchor()->mult), 0);
    ctel__clock.candidate_mult = 1;
    /* the next window disagrees with it: still uncalibrated */
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    check_agrees(1, 0);
    assert_int_equal(atomic_load(&current_anchor()->mult), 0);
    /* then two honest windows agree */
    wait_calibrated();
    check_agrees(50, 2000000);
    assert_int_equal(atomic_load(&ctel__clock.mode), CTEL__CLOCK_TSC);
    /* an anchor is never good for more than 2^31 ticks */
    assert_true(atomic_load(&current_anchor()->limit) <= (1ull << 31));
    back_to_default();
}

/* A reading on a CPU whose TSC is behind the anchor's (forged: the anchor's
 * TSC moved 10 ms of ticks ahead) counts as a failed check, restarts the
 * calibration and still returns the right time; a second one before any
 * check passes gives the TSC up. */
static void test_tsc_behind_the_anchor(void **state)
{
    (void)state;
    start_tsc();
    ctel__clock_anchor *a = current_anchor();
    uint64_t ahead = (uint64_t)(((unsigned __int128)10000000u << 32) / atomic_load(&a->mult));
    atomic_store(&a->tsc, __rdtsc() + ahead);
    check_agrees(1, 2000000);
    assert_int_equal(ctel__clock.bad_checks, 1);
    assert_int_equal(atomic_load(&ctel__clock.mode), CTEL__CLOCK_TSC);
    wait_calibrated();
    a = current_anchor();
    atomic_store(&a->tsc, __rdtsc() + ahead);
    check_agrees(1, 2000000);
    assert_int_equal(atomic_load(&ctel__clock.mode), CTEL__CLOCK_SYSTEM);
    assert_true(ts_log_contains("TSC disagrees"));
    back_to_default();
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choose),
        cmocka_unit_test(test_bad_env_warns),
        cmocka_unit_test(test_system_mode),
#if CTEL__HAVE_TSC
        cmocka_unit_test(test_tsc_agrees),
        cmocka_unit_test(test_tsc_disagreeing_is_given_up),
        cmocka_unit_test(test_isolated_failures_do_not_add_up),
        cmocka_unit_test(test_calibration_needs_two_agreeing_windows),
        cmocka_unit_test(test_tsc_behind_the_anchor),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
