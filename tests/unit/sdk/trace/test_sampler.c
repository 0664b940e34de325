/* Tests for sdk/trace/sampler.c: built-in decisions and descriptions, the
 * ratio threshold at its boundaries, parent-based delegation, every
 * OTEL_TRACES_SAMPLER(_ARG) case, and custom samplers. */
#include "support/test_support.h"
#include "sdk/internal.h"
#include "sdk/trace/sampler_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TWO56 (1ull << 56)
#define PB_TAIL                                                                                    \
    ",remoteParentSampled=AlwaysOnSampler,remoteParentNotSampled=AlwaysOffSampler,"               \
    "localParentSampled=AlwaysOnSampler,localParentNotSampled=AlwaysOffSampler}"
#define PB(root) "ParentBased{root=" root PB_TAIL

/* ---- diagnostics capture (tests/support) ---------------------------------------- */

static void capture_start(void)
{
    ts_log_capture_start();
}

/* The number of warnings since capture_start(). */
static int capture_stop(void)
{
    ts_log_capture_stop();
    return (int)ts_log_warning_count();
}

/* ---- helpers --------------------------------------------------------------------- */

static ctel_sampling_decision decide(const ctel_sampler *s, const ctel_span_context *parent,
                                     const uint8_t tid[16])
{
    ctel_sampling_params p = {parent, tid, "n", CTEL_SPAN_KIND_INTERNAL, NULL, 0, NULL, 0};
    return ctel__sampler_should_sample(s, &p);
}

/* A trace id whose random part (bytes 9..15, big-endian) is r56; the other
 * bytes hold `filler`, which the ratio decision must ignore. */
static void tid_with(uint8_t tid[16], uint64_t r56, uint8_t filler)
{
    memset(tid, filler, 9);
    for (int i = 15; i >= 9; i--) {
        tid[i] = (uint8_t)(r56 & 0xff);
        r56 >>= 8;
    }
}

static ctel_sampler *create(ctel_sampler_kind kind, double ratio)
{
    ctel_sampler *s = NULL;
    assert_int_equal(ctel_sampler_create(kind, ratio, &s), CTEL_OK);
    assert_non_null(s);
    return s;
}

static ctel_span_context parent_ctx(bool remote, uint8_t flags)
{
    ctel_span_context c;
    memset(&c, 0, sizeof c);
    memset(c.trace_id, 0x11, sizeof c.trace_id);
    memset(c.span_id, 0x22, sizeof c.span_id);
    c.trace_flags = flags;
    c.is_remote = remote;
    return c;
}

/* ---- built-in samplers ------------------------------------------------------------ */

static void test_always_on_off_ignore_parent(void **state)
{
    (void)state;
    ctel_sampler *on = create(CTEL_SAMPLER_ALWAYS_ON, 0);
    ctel_sampler *off = create(CTEL_SAMPLER_ALWAYS_OFF, 0);
    assert_string_equal(ctel_sampler_description(on), "AlwaysOnSampler");
    assert_string_equal(ctel_sampler_description(off), "AlwaysOffSampler");
    uint8_t tid[16];
    tid_with(tid, 0, 1);
    assert_int_equal(decide(on, NULL, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    assert_int_equal(decide(off, NULL, tid), CTEL_SAMPLING_DROP);
    for (int remote = 0; remote < 2; remote++) {
        for (uint8_t flags = 0; flags < 4; flags++) {
            ctel_span_context p = parent_ctx(remote, flags);
            assert_int_equal(decide(on, &p, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
            assert_int_equal(decide(off, &p, tid), CTEL_SAMPLING_DROP);
        }
    }
    ctel_sampler_destroy(on);
    ctel_sampler_destroy(off);
}

/* Sample iff R >= T = round((1 - r) * 2^56), R = trace id bytes 9..15. */
static void test_ratio_threshold_boundaries(void **state)
{
    (void)state;
    struct {
        double ratio;
        uint64_t threshold;
    } cases[] = {
        {0.25, 3ull << 54},
        {0.5, 1ull << 55},
        {1.0, 0},
        {0.0, TWO56},
        {ldexp(1, -56), TWO56 - 1},      /* the smallest ratio that samples anything */
        {ldexp(1, -57), TWO56},          /* (1 - r) * 2^56 = 2^56 - 0.5 rounds up: none */
        {ldexp(3, -58), TWO56 - 1},      /* 2^56 - 0.75 rounds to 2^56 - 1 */
        {1.0 - ldexp(1, -53), 8},        /* the largest ratio below 1 */
        {1e-10, TWO56 - 7205759},        /* 1e-10 * 2^56 = 7205759.40...: small ratios exact */
    };
    for (size_t i = 0; i < CTEL_ARRAY_LEN(cases); i++) {
        ctel_sampler *s = create(CTEL_SAMPLER_TRACEIDRATIO, cases[i].ratio);
        uint64_t t = cases[i].threshold;
        uint8_t tid[16];
        if (t > 0) {
            tid_with(tid, t - 1, 0xff);
            if (decide(s, NULL, tid) != CTEL_SAMPLING_DROP)
                fail_msg("ratio %.17g: R = T - 1 was sampled (T = %llu)", cases[i].ratio,
                         (unsigned long long)t);
        }
        if (t < TWO56) {
            tid_with(tid, t, 0x00);
            if (decide(s, NULL, tid) != CTEL_SAMPLING_RECORD_AND_SAMPLE)
                fail_msg("ratio %.17g: R = T was dropped (T = %llu)", cases[i].ratio,
                         (unsigned long long)t);
        }
        /* The extremes of R. */
        tid_with(tid, 0, 0xab);
        assert_int_equal(decide(s, NULL, tid),
                         t == 0 ? CTEL_SAMPLING_RECORD_AND_SAMPLE : CTEL_SAMPLING_DROP);
        tid_with(tid, TWO56 - 1, 0xab);
        assert_int_equal(decide(s, NULL, tid),
                         t < TWO56 ? CTEL_SAMPLING_RECORD_AND_SAMPLE : CTEL_SAMPLING_DROP);
        ctel_sampler_destroy(s);
    }
}

/* Byte 8 and the bytes before it are not part of the random value. */
static void test_ratio_reads_only_the_rightmost_seven_bytes(void **state)
{
    (void)state;
    ctel_sampler *s = create(CTEL_SAMPLER_TRACEIDRATIO, 0.5);
    uint8_t tid[16];
    for (int filler = 0; filler < 256; filler += 51) {
        tid_with(tid, (1ull << 55) - 1, (uint8_t)filler);
        assert_int_equal(decide(s, NULL, tid), CTEL_SAMPLING_DROP);
        tid_with(tid, 1ull << 55, (uint8_t)filler);
        assert_int_equal(decide(s, NULL, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    }
    /* Big-endian: the most significant byte of R is byte 9. */
    memset(tid, 0, sizeof tid);
    tid[9] = 0x80;
    assert_int_equal(decide(s, NULL, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    memset(tid, 0xff, sizeof tid);
    tid[9] = 0x7f;
    assert_int_equal(decide(s, NULL, tid), CTEL_SAMPLING_DROP);
    ctel_sampler_destroy(s);
}

static void test_ratio_rates_determinism_and_nesting(void **state)
{
    (void)state;
    ctel_sampler *none = create(CTEL_SAMPLER_TRACEIDRATIO, 0.0);
    ctel_sampler *tenth = create(CTEL_SAMPLER_TRACEIDRATIO, 0.1);
    ctel_sampler *quarter = create(CTEL_SAMPLER_TRACEIDRATIO, 0.25);
    ctel_sampler *all = create(CTEL_SAMPLER_TRACEIDRATIO, 1.0);
    assert_string_equal(ctel_sampler_description(quarter), "TraceIdRatioBased{0.250000}");
    assert_string_equal(ctel_sampler_description(tenth), "TraceIdRatioBased{0.100000}");
    assert_string_equal(ctel_sampler_description(none), "TraceIdRatioBased{0.000000}");
    assert_string_equal(ctel_sampler_description(all), "TraceIdRatioBased{1.000000}");
    enum { N = 200000 };
    int sampled = 0, sampled_tenth = 0;
    for (int i = 0; i < N; i++) {
        uint8_t tid[16];
        ctel__id_trace(tid);
        ctel_sampling_decision d = decide(quarter, NULL, tid);
        assert_int_equal(decide(quarter, NULL, tid), d); /* same id, same answer */
        sampled += d == CTEL_SAMPLING_RECORD_AND_SAMPLE;
        ctel_sampling_decision dt = decide(tenth, NULL, tid);
        sampled_tenth += dt == CTEL_SAMPLING_RECORD_AND_SAMPLE;
        /* A higher ratio samples every trace a lower one does. */
        if (dt == CTEL_SAMPLING_RECORD_AND_SAMPLE)
            assert_int_equal(d, CTEL_SAMPLING_RECORD_AND_SAMPLE);
        assert_int_equal(decide(none, NULL, tid), CTEL_SAMPLING_DROP);
        assert_int_equal(decide(all, NULL, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    }
    double rate = (double)sampled / N, rate_tenth = (double)sampled_tenth / N;
    if (rate < 0.235 || rate > 0.265)
        fail_msg("ratio 0.25 sampled %.4f", rate);
    if (rate_tenth < 0.085 || rate_tenth > 0.115)
        fail_msg("ratio 0.1 sampled %.4f", rate_tenth);
    ctel_sampler_destroy(none);
    ctel_sampler_destroy(tenth);
    ctel_sampler_destroy(quarter);
    ctel_sampler_destroy(all);
}

/* TraceIdRatioBased decides on the trace id alone, parent or not. */
static void test_ratio_ignores_parent_flag(void **state)
{
    (void)state;
    ctel_sampler *s = create(CTEL_SAMPLER_TRACEIDRATIO, 0.5);
    uint8_t lo[16], hi[16];
    tid_with(lo, 0, 0);
    tid_with(hi, TWO56 - 1, 0);
    ctel_span_context sampled = parent_ctx(true, CTEL_TRACE_FLAG_SAMPLED);
    ctel_span_context unsampled = parent_ctx(false, 0);
    assert_int_equal(decide(s, &sampled, lo), CTEL_SAMPLING_DROP);
    assert_int_equal(decide(s, &unsampled, hi), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    ctel_sampler_destroy(s);
}

static void test_parent_based_all_parent_cases(void **state)
{
    (void)state;
    ctel_sampler *pb_on = create(CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 0);
    ctel_sampler *pb_off = create(CTEL_SAMPLER_PARENTBASED_ALWAYS_OFF, 0);
    ctel_sampler *pb_ratio = create(CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.25);
    assert_string_equal(ctel_sampler_description(pb_on), PB("AlwaysOnSampler"));
    assert_string_equal(ctel_sampler_description(pb_off), PB("AlwaysOffSampler"));
    assert_string_equal(ctel_sampler_description(pb_ratio), PB("TraceIdRatioBased{0.250000}"));
    ctel_sampler *all[] = {pb_on, pb_off, pb_ratio};
    uint8_t lo[16], hi[16];
    tid_with(lo, 0, 0x33);          /* below every threshold but 0 */
    tid_with(hi, TWO56 - 1, 0x33);  /* at or above every threshold but 2^56 */

    /* Roots go to the root sampler. */
    assert_int_equal(decide(pb_on, NULL, lo), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    assert_int_equal(decide(pb_off, NULL, hi), CTEL_SAMPLING_DROP);
    assert_int_equal(decide(pb_ratio, NULL, lo), CTEL_SAMPLING_DROP);
    assert_int_equal(decide(pb_ratio, NULL, hi), CTEL_SAMPLING_RECORD_AND_SAMPLE);

    /* Children follow the parent's sampled bit whatever the root sampler,
     * the trace id, locality or other flag bits (the random flag, 0x02). */
    for (size_t k = 0; k < CTEL_ARRAY_LEN(all); k++) {
        for (int remote = 0; remote < 2; remote++) {
            for (uint8_t extra = 0; extra <= CTEL_TRACE_FLAG_RANDOM; extra += CTEL_TRACE_FLAG_RANDOM) {
                ctel_span_context sampled =
                    parent_ctx(remote, (uint8_t)(CTEL_TRACE_FLAG_SAMPLED | extra));
                ctel_span_context unsampled = parent_ctx(remote, extra);
                if (decide(all[k], &sampled, lo) != CTEL_SAMPLING_RECORD_AND_SAMPLE ||
                    decide(all[k], &sampled, hi) != CTEL_SAMPLING_RECORD_AND_SAMPLE)
                    fail_msg("%s: %s sampled parent (flags %u) not followed",
                             ctel_sampler_description(all[k]), remote ? "remote" : "local",
                             (unsigned)sampled.trace_flags);
                if (decide(all[k], &unsampled, lo) != CTEL_SAMPLING_DROP ||
                    decide(all[k], &unsampled, hi) != CTEL_SAMPLING_DROP)
                    fail_msg("%s: %s unsampled parent (flags %u) not followed",
                             ctel_sampler_description(all[k]), remote ? "remote" : "local",
                             (unsigned)unsampled.trace_flags);
            }
        }
    }
    ctel_sampler_destroy(pb_on);
    ctel_sampler_destroy(pb_off);
    ctel_sampler_destroy(pb_ratio);
}

static void test_create_rejects_bad_arguments_with_a_diagnostic(void **state)
{
    (void)state;
    struct {
        int kind;
        double ratio;
    } bad[] = {
        {CTEL_SAMPLER_TRACEIDRATIO, 1.5},
        {CTEL_SAMPLER_TRACEIDRATIO, -0.1},
        {CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO, NAN},
        {CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO, INFINITY},
        {42, 1.0},
        {-1, 1.0},
    };
    for (size_t i = 0; i < CTEL_ARRAY_LEN(bad); i++) {
        ctel_sampler *s = (ctel_sampler *)&bad; /* must be reset to NULL */
        capture_start();
        ctel_status st = ctel_sampler_create((ctel_sampler_kind)bad[i].kind, bad[i].ratio, &s);
        int warnings = capture_stop();
        assert_int_equal(st, CTEL_ERR_INVALID_ARGUMENT);
        assert_null(s);
        assert_int_equal(warnings, 1);
    }
    capture_start();
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_ALWAYS_ON, 1, NULL),
                     CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_sampler_create_from_env(NULL), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(capture_stop(), 2);

    /* The ratio means nothing to the other kinds, so any value is accepted. */
    ctel_sampler *s = create(CTEL_SAMPLER_PARENTBASED_ALWAYS_OFF, NAN);
    assert_string_equal(ctel_sampler_description(s), PB("AlwaysOffSampler"));
    ctel_sampler_destroy(s);
    ctel_sampler_destroy(NULL);
    assert_string_equal(ctel_sampler_description(NULL), "");
}

/* Without a sampler the specification's default applies; without
 * parameters nothing is recorded. Neither crashes. */
static void test_should_sample_null_inputs(void **state)
{
    (void)state;
    uint8_t tid[16];
    tid_with(tid, 0, 0);
    ctel_span_context unsampled = parent_ctx(true, 0);
    ctel_span_context sampled = parent_ctx(false, CTEL_TRACE_FLAG_SAMPLED);
    assert_int_equal(decide(NULL, NULL, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    assert_int_equal(decide(NULL, &sampled, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    assert_int_equal(decide(NULL, &unsampled, tid), CTEL_SAMPLING_DROP);
    ctel_sampler *on = create(CTEL_SAMPLER_ALWAYS_ON, 0);
    assert_int_equal(ctel__sampler_should_sample(on, NULL), CTEL_SAMPLING_DROP);
    assert_int_equal(decide(on, NULL, NULL), CTEL_SAMPLING_DROP);
    ctel_sampler_destroy(on);
}

/* ---- from the environment ---------------------------------------------------------- */

typedef struct env_case {
    const char *name;  /* OTEL_TRACES_SAMPLER; NULL = unset */
    const char *arg;   /* OTEL_TRACES_SAMPLER_ARG; NULL = unset */
    ctel_sampler_kind kind;
    double ratio;      /* the ratio the sampler must behave with */
    const char *desc;
    const char *warning; /* a substring of the one expected warning; NULL = none */
} env_case;

static const env_case k_env_cases[] = {
    /* missing and empty: the default, quietly */
    {NULL, NULL, CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"), NULL},
    {"", NULL, CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"), NULL},
    {NULL, "0.5", CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"), NULL},
    /* every supported value, in any case, trimmed */
    {"always_on", NULL, CTEL_SAMPLER_ALWAYS_ON, 1, "AlwaysOnSampler", NULL},
    {"ALWAYS_OFF", NULL, CTEL_SAMPLER_ALWAYS_OFF, 1, "AlwaysOffSampler", NULL},
    {"Always_On", NULL, CTEL_SAMPLER_ALWAYS_ON, 1, "AlwaysOnSampler", NULL},
    {" traceidratio\t", "0.5", CTEL_SAMPLER_TRACEIDRATIO, 0.5, "TraceIdRatioBased{0.500000}",
     NULL},
    {"parentbased_always_on", NULL, CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"),
     NULL},
    {"ParentBased_Always_Off", NULL, CTEL_SAMPLER_PARENTBASED_ALWAYS_OFF, 1,
     PB("AlwaysOffSampler"), NULL},
    {"PARENTBASED_TRACEIDRATIO", "0.25", CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.25,
     PB("TraceIdRatioBased{0.250000}"), NULL},
    /* the ratio: missing or empty → 1.0 quietly; every plain decimal form */
    {"traceidratio", NULL, CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}", NULL},
    {"traceidratio", "", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}", NULL},
    {"traceidratio", " 0.25\t", CTEL_SAMPLER_TRACEIDRATIO, 0.25, "TraceIdRatioBased{0.250000}",
     NULL},
    {"traceidratio", ".5", CTEL_SAMPLER_TRACEIDRATIO, 0.5, "TraceIdRatioBased{0.500000}", NULL},
    {"traceidratio", "1e-1", CTEL_SAMPLER_TRACEIDRATIO, 0.1, "TraceIdRatioBased{0.100000}",
     NULL},
    {"traceidratio", "+2.5E-1", CTEL_SAMPLER_TRACEIDRATIO, 0.25, "TraceIdRatioBased{0.250000}",
     NULL},
    {"traceidratio", "0", CTEL_SAMPLER_TRACEIDRATIO, 0, "TraceIdRatioBased{0.000000}", NULL},
    {"traceidratio", "1.", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}", NULL},
    {"traceidratio", "0.0001", CTEL_SAMPLER_TRACEIDRATIO, 0.0001,
     "TraceIdRatioBased{0.000100}", NULL},
    {"traceidratio", "00000000000000000000000000.12500000000000000000000000000000000",
     CTEL_SAMPLER_TRACEIDRATIO, 0.125, "TraceIdRatioBased{0.125000}", NULL},
    /* the ratio: out of range or not a number → warning, 1.0 */
    {"traceidratio", "2", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG=\"2\""},
    {"traceidratio", "-0.5", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG"},
    {"traceidratio", "1.0000001", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG"},
    {"traceidratio", "1e400", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG"},
    {"traceidratio", "abc", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG=\"abc\""},
    {"traceidratio", "0.1x", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG"},
    {"traceidratio", "0,5", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG"},
    {"traceidratio", "nan", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG"},
    {"traceidratio", "inf", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG"},
    {"traceidratio", "0x0.4", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG"},
    {"traceidratio", ".", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG"},
    {"traceidratio", "1e", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG"},
    {"traceidratio", "0.5\n", CTEL_SAMPLER_TRACEIDRATIO, 1, "TraceIdRatioBased{1.000000}",
     "OTEL_TRACES_SAMPLER_ARG=\"0.5\\x0a\""}, /* control bytes are escaped in the log */
    {"parentbased_traceidratio", "5", CTEL_SAMPLER_PARENTBASED_TRACEIDRATIO, 1,
     PB("TraceIdRatioBased{1.000000}"), "OTEL_TRACES_SAMPLER_ARG"},
    /* the argument of other samplers is ignored without a word */
    {"always_on", "garbage", CTEL_SAMPLER_ALWAYS_ON, 1, "AlwaysOnSampler", NULL},
    {"parentbased_always_off", "7", CTEL_SAMPLER_PARENTBASED_ALWAYS_OFF, 1,
     PB("AlwaysOffSampler"), NULL},
    /* known to the specification, not implemented → warning, the default */
    {"jaeger_remote", NULL, CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"),
     "jaeger_remote is not supported"},
    {"parentbased_jaeger_remote", "endpoint=http://localhost:14250",
     CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"),
     "parentbased_jaeger_remote is not supported"},
    {"XRay", NULL, CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"),
     "xray is not supported"},
    /* unknown → warning, the default */
    {"bogus", NULL, CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"),
     "OTEL_TRACES_SAMPLER=\"bogus\""},
    {"always_on_", NULL, CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"),
     "OTEL_TRACES_SAMPLER"},
    {"traceidratio=0.5", NULL, CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"),
     "OTEL_TRACES_SAMPLER"},
    {"parentbased_always_on_parentbased_always_on_parentbased_always_on_parentbased", NULL,
     CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, PB("AlwaysOnSampler"), "OTEL_TRACES_SAMPLER"},
};

static ctel_sampler *from_env(const char *name, const char *arg)
{
    if (name)
        setenv("OTEL_TRACES_SAMPLER", name, 1);
    else
        unsetenv("OTEL_TRACES_SAMPLER");
    if (arg)
        setenv("OTEL_TRACES_SAMPLER_ARG", arg, 1);
    else
        unsetenv("OTEL_TRACES_SAMPLER_ARG");
    ctel_sampler *s = NULL;
    ctel_status st = ctel_sampler_create_from_env(&s);
    unsetenv("OTEL_TRACES_SAMPLER");
    unsetenv("OTEL_TRACES_SAMPLER_ARG");
    assert_int_equal(st, CTEL_OK);
    assert_non_null(s);
    return s;
}

/* The environment's sampler must decide exactly as the expected one over
 * roots at and around its threshold and over every kind of parent. */
static void assert_same_decisions(const env_case *c, const ctel_sampler *got)
{
    ctel_sampler *want = create(c->kind, c->ratio);
    uint64_t t = want->threshold;
    const uint64_t rs[] = {0, 1, t ? t - 1 : 0, t < TWO56 ? t : TWO56 - 1, TWO56 / 2,
                           TWO56 - 1};
    const ctel_span_context parents[] = {
        parent_ctx(false, 0), parent_ctx(false, CTEL_TRACE_FLAG_SAMPLED),
        parent_ctx(true, 0), parent_ctx(true, CTEL_TRACE_FLAG_SAMPLED)};
    for (size_t i = 0; i < CTEL_ARRAY_LEN(rs); i++) {
        uint8_t tid[16];
        tid_with(tid, rs[i], 0x5a);
        for (int p = -1; p < (int)CTEL_ARRAY_LEN(parents); p++) {
            const ctel_span_context *parent = p < 0 ? NULL : &parents[p];
            if (decide(got, parent, tid) != decide(want, parent, tid))
                fail_msg("OTEL_TRACES_SAMPLER=%s ARG=%s: decision differs for R=%llu parent=%d",
                         c->name ? c->name : "(unset)", c->arg ? c->arg : "(unset)",
                         (unsigned long long)rs[i], p);
        }
    }
    ctel_sampler_destroy(want);
}

static void test_env_every_value(void **state)
{
    (void)state;
    for (size_t i = 0; i < CTEL_ARRAY_LEN(k_env_cases); i++) {
        const env_case *c = &k_env_cases[i];
        capture_start();
        ctel_sampler *s = from_env(c->name, c->arg);
        int warnings = capture_stop();
        const char *n = c->name ? c->name : "(unset)", *a = c->arg ? c->arg : "(unset)";
        if (strcmp(ctel_sampler_description(s), c->desc) != 0)
            fail_msg("OTEL_TRACES_SAMPLER=%s ARG=%s gave %s, want %s", n, a,
                     ctel_sampler_description(s), c->desc);
        if (warnings != (c->warning ? 1 : 0))
            fail_msg("OTEL_TRACES_SAMPLER=%s ARG=%s: %d warnings, want %d:\n%s", n, a, warnings,
                     c->warning ? 1 : 0, ts_log_text());
        if (c->warning && !ts_log_contains(c->warning))
            fail_msg("OTEL_TRACES_SAMPLER=%s ARG=%s: warning lacks \"%s\":\n%s", n, a,
                     c->warning, ts_log_text());
        assert_int_equal(s->kind, c->kind);
        assert_true(s->ratio == c->ratio);
        assert_same_decisions(c, s);
        ctel_sampler_destroy(s);
    }
}

/* ---- custom samplers ------------------------------------------------------------- */

typedef struct custom_state {
    int calls;
    int destroyed;
    void *destroyed_with;
    const ctel_sampling_params *last;
    ctel_sampling_decision answer;
} custom_state;

static ctel_sampling_decision custom_decide(void *ud, const ctel_sampling_params *p)
{
    custom_state *cs = ud;
    cs->calls++;
    cs->last = p;
    if (p->name && strcmp(p->name, "keep") == 0)
        return CTEL_SAMPLING_RECORD_ONLY;
    return cs->answer;
}

static void custom_destroy(void *ud)
{
    custom_state *cs = ud;
    cs->destroyed++;
    cs->destroyed_with = ud;
}

static void test_custom_sampler_user_data_and_destroy_once(void **state)
{
    (void)state;
    custom_state cs;
    memset(&cs, 0, sizeof cs);
    cs.answer = CTEL_SAMPLING_RECORD_AND_SAMPLE;
    char desc[] = "MySampler{x}";
    ctel_sampler_ops ops = {custom_decide, desc, custom_destroy};
    ctel_sampler *s = NULL;
    assert_int_equal(ctel_sampler_create_custom(&ops, &cs, &s), CTEL_OK);
    desc[0] = 'Z';          /* the description was copied... */
    ops.should_sample = NULL; /* ...and so were the ops */
    assert_string_equal(ctel_sampler_description(s), "MySampler{x}");

    uint8_t tid[16];
    tid_with(tid, 7, 7);
    ctel_span_context parent = parent_ctx(true, 0);
    ctel_attribute attr = {"k", 1, ctel_value_int(1)};
    ctel_sampling_params p = {&parent, tid, "work", CTEL_SPAN_KIND_SERVER, &attr, 1, NULL, 0};
    assert_int_equal(ctel__sampler_should_sample(s, &p), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    assert_int_equal(cs.calls, 1);
    assert_ptr_equal(cs.last, &p); /* the parameters reach the callback as given */
    cs.answer = CTEL_SAMPLING_DROP;
    assert_int_equal(ctel__sampler_should_sample(s, &p), CTEL_SAMPLING_DROP);
    p.name = "keep";
    assert_int_equal(ctel__sampler_should_sample(s, &p), CTEL_SAMPLING_RECORD_ONLY);
    assert_int_equal(cs.calls, 3);

    /* An answer outside the enum is a bug in the callback: drop, and say so. */
    p.name = "other";
    cs.answer = (ctel_sampling_decision)7;
    capture_start();
    assert_int_equal(ctel__sampler_should_sample(s, &p), CTEL_SAMPLING_DROP);
    assert_int_equal(capture_stop(), 1);
    assert_true(ts_log_contains("MySampler{x}"));

    assert_int_equal(cs.destroyed, 0);
    ctel_sampler_destroy(s);
    assert_int_equal(cs.destroyed, 1);
    assert_ptr_equal(cs.destroyed_with, &cs);

    /* Without a description or a destroy function. */
    ctel_sampler_ops bare = {custom_decide, NULL, NULL};
    assert_int_equal(ctel_sampler_create_custom(&bare, &cs, &s), CTEL_OK);
    assert_string_equal(ctel_sampler_description(s), "CustomSampler");
    ctel_sampler_destroy(s);
    assert_int_equal(cs.destroyed, 1);

    capture_start();
    s = (ctel_sampler *)&cs;
    assert_int_equal(ctel_sampler_create_custom(NULL, NULL, &s), CTEL_ERR_INVALID_ARGUMENT);
    assert_null(s);
    ctel_sampler_ops no_fn = {NULL, "x", custom_destroy};
    assert_int_equal(ctel_sampler_create_custom(&no_fn, &cs, &s), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_sampler_create_custom(&bare, &cs, NULL), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(capture_stop(), 3);
    assert_int_equal(cs.destroyed, 1); /* a failed create does not call destroy */
}

/* Through the SDK: a record-only span records but is not exported, the
 * callback runs once per span, and the SDK destroys the sampler once. */
static void test_custom_sampler_in_the_sdk(void **state)
{
    (void)state;
    custom_state cs;
    memset(&cs, 0, sizeof cs);
    cs.answer = CTEL_SAMPLING_DROP;
    ctel_sampler_ops ops = {custom_decide, "MySampler", custom_destroy};
    ctel_sampler *s = NULL;
    assert_int_equal(ctel_sampler_create_custom(&ops, &cs, &s), CTEL_OK);

    ctel_span_exporter *exp = NULL;
    ctel_memory_exporter *mem = NULL;
    assert_int_equal(ctel_memory_exporter_create(0, &mem, &exp), CTEL_OK);
    ctel_span_processor *proc = NULL;
    assert_int_equal(ctel_simple_processor_create(exp, &proc), CTEL_OK);
    ctel_sdk_options o = CTEL_SDK_OPTIONS_INIT;
    o.sampler = s;
    o.span_processors = &proc;
    o.span_processor_count = 1;
    ctel_sdk *sdk = NULL;
    assert_int_equal(ctel_sdk_create(&o, &sdk), CTEL_OK);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "c", NULL, NULL);
    ctel_span *keep = ctel_span_start(t, "keep", NULL);
    ctel_span *drop = ctel_span_start(t, "drop", NULL);
    assert_true(ctel_span_is_recording(keep)); /* record-only records... */
    assert_false(ctel_span_get_context(keep).trace_flags & CTEL_TRACE_FLAG_SAMPLED);
    assert_false(ctel_span_is_recording(drop));
    ctel_span_end(keep);
    ctel_span_end(drop);
    assert_int_equal(ctel_memory_exporter_count(mem), 0); /* ...but is not exported */
    assert_int_equal(cs.calls, 2);
    ctel_sdk_destroy(sdk);
    assert_int_equal(cs.destroyed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_always_on_off_ignore_parent),
        cmocka_unit_test(test_ratio_threshold_boundaries),
        cmocka_unit_test(test_ratio_reads_only_the_rightmost_seven_bytes),
        cmocka_unit_test(test_ratio_rates_determinism_and_nesting),
        cmocka_unit_test(test_ratio_ignores_parent_flag),
        cmocka_unit_test(test_parent_based_all_parent_cases),
        cmocka_unit_test(test_create_rejects_bad_arguments_with_a_diagnostic),
        cmocka_unit_test(test_should_sample_null_inputs),
        cmocka_unit_test(test_env_every_value),
        cmocka_unit_test(test_custom_sampler_user_data_and_destroy_once),
        cmocka_unit_test(test_custom_sampler_in_the_sdk),
    };
    return cmocka_run_group_tests_name("sdk/trace/sampler", tests, NULL, NULL);
}
