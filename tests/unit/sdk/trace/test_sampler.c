/* Tests for sdk/trace/sampler.c: built-in decisions, OTEL_TRACES_SAMPLER(_ARG),
 * custom samplers. */
#include "support/test_support.h"
#include "sdk/internal.h"
#include "sdk/trace/sampler_internal.h"

#include <stdlib.h>
#include <string.h>

static ctel_sampling_decision decide(const ctel_sampler *s, const ctel_span_context *parent,
                                     const uint8_t tid[16])
{
    ctel_sampling_params p = {parent, tid, "n", CTEL_SPAN_KIND_INTERNAL, NULL, 0, NULL, 0};
    return ctel__sampler_should_sample(s, &p);
}

static void tid_with_random(uint8_t tid[16], uint64_t r56)
{
    memset(tid, 0xab, 9);
    for (int i = 15; i >= 9; i--) {
        tid[i] = (uint8_t)(r56 & 0xff);
        r56 >>= 8;
    }
}

static void test_always_on_off(void **state)
{
    (void)state;
    ctel_sampler *on = NULL, *off = NULL;
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_ALWAYS_ON, 0, &on), CTEL_OK);
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_ALWAYS_OFF, 0, &off), CTEL_OK);
    uint8_t tid[16] = {1};
    assert_int_equal(decide(on, NULL, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    assert_int_equal(decide(off, NULL, tid), CTEL_SAMPLING_DROP);
    assert_string_equal(ctel_sampler_description(on), "AlwaysOnSampler");
    assert_string_equal(ctel_sampler_description(off), "AlwaysOffSampler");
    ctel_sampler_destroy(on);
    ctel_sampler_destroy(off);
}

static void test_ratio_threshold_boundaries_and_rate(void **state)
{
    (void)state;
    ctel_sampler *s = NULL;
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_TRACEIDRATIO, 0.25, &s), CTEL_OK);
    assert_string_equal(ctel_sampler_description(s), "TraceIdRatioBased{0.250000}");
    uint8_t tid[16];
    uint64_t t = (3ull << 54); /* 0.75 * 2^56: the threshold for 0.25 */
    tid_with_random(tid, t - 1);
    assert_int_equal(decide(s, NULL, tid), CTEL_SAMPLING_DROP);
    tid_with_random(tid, t);
    assert_int_equal(decide(s, NULL, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    /* Deterministic and close to the ratio over many random ids. */
    int sampled = 0, n = 200000;
    for (int i = 0; i < n; i++) {
        ctel__id_trace(tid);
        ctel_sampling_decision d = decide(s, NULL, tid);
        assert_int_equal(d, decide(s, NULL, tid));
        sampled += d == CTEL_SAMPLING_RECORD_AND_SAMPLE;
    }
    double rate = (double)sampled / n;
    assert_true(rate > 0.235 && rate < 0.265);
    ctel_sampler_destroy(s);

    ctel_sampler *none = NULL, *all = NULL;
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_TRACEIDRATIO, 0.0, &none), CTEL_OK);
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_TRACEIDRATIO, 1.0, &all), CTEL_OK);
    tid_with_random(tid, (1ull << 56) - 1);
    assert_int_equal(decide(none, NULL, tid), CTEL_SAMPLING_DROP);
    tid_with_random(tid, 0);
    assert_int_equal(decide(all, NULL, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    ctel_sampler_destroy(none);
    ctel_sampler_destroy(all);

    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_TRACEIDRATIO, 1.5, &s),
                     CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_TRACEIDRATIO, -0.1, &s),
                     CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_sampler_create((ctel_sampler_kind)42, 1, &s), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_ALWAYS_ON, 1, NULL),
                     CTEL_ERR_INVALID_ARGUMENT);
}

static void test_parent_based(void **state)
{
    (void)state;
    ctel_sampler *pb = NULL, *pboff = NULL;
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1, &pb), CTEL_OK);
    assert_int_equal(ctel_sampler_create(CTEL_SAMPLER_PARENTBASED_ALWAYS_OFF, 1, &pboff),
                     CTEL_OK);
    assert_string_equal(ctel_sampler_description(pb), "ParentBased{root=AlwaysOnSampler}");
    uint8_t tid[16] = {9};
    ctel_span_context parent = {{9}, {1}, 0, false};
    for (int remote = 0; remote < 2; remote++) {
        parent.is_remote = remote;
        parent.trace_flags = CTEL_TRACE_FLAG_SAMPLED;
        assert_int_equal(decide(pb, &parent, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
        assert_int_equal(decide(pboff, &parent, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
        parent.trace_flags = 0;
        assert_int_equal(decide(pb, &parent, tid), CTEL_SAMPLING_DROP);
        assert_int_equal(decide(pboff, &parent, tid), CTEL_SAMPLING_DROP);
    }
    assert_int_equal(decide(pb, NULL, tid), CTEL_SAMPLING_RECORD_AND_SAMPLE);
    assert_int_equal(decide(pboff, NULL, tid), CTEL_SAMPLING_DROP);
    ctel_sampler_destroy(pb);
    ctel_sampler_destroy(pboff);
}

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
    assert_int_equal(ctel_sampler_create_from_env(&s), CTEL_OK);
    unsetenv("OTEL_TRACES_SAMPLER");
    unsetenv("OTEL_TRACES_SAMPLER_ARG");
    return s;
}

static void expect_env(const char *name, const char *arg, const char *desc, bool warns)
{
    ts_log_capture_start();
    ctel_sampler *s = from_env(name, arg);
    ts_log_capture_stop();
    if (strcmp(ctel_sampler_description(s), desc) != 0)
        fail_msg("OTEL_TRACES_SAMPLER=%s ARG=%s gave %s, want %s", name ? name : "(unset)",
                 arg ? arg : "(unset)", ctel_sampler_description(s), desc);
    if (warns != (ts_log_count() > 0))
        fail_msg("OTEL_TRACES_SAMPLER=%s ARG=%s: warning expected=%d", name ? name : "(unset)",
                 arg ? arg : "(unset)", warns);
    ctel_sampler_destroy(s);
}

static void test_env(void **state)
{
    (void)state;
    expect_env(NULL, NULL, "ParentBased{root=AlwaysOnSampler}", false);
    expect_env("", NULL, "ParentBased{root=AlwaysOnSampler}", false);
    expect_env("always_on", NULL, "AlwaysOnSampler", false);
    expect_env("ALWAYS_OFF", NULL, "AlwaysOffSampler", false);
    expect_env(" traceidratio ", "0.5", "TraceIdRatioBased{0.500000}", false);
    expect_env("traceidratio", NULL, "TraceIdRatioBased{1.000000}", false);
    expect_env("traceidratio", "2", "TraceIdRatioBased{1.000000}", true);
    expect_env("traceidratio", "-0.5", "TraceIdRatioBased{1.000000}", true);
    expect_env("traceidratio", "abc", "TraceIdRatioBased{1.000000}", true);
    expect_env("traceidratio", "0.1x", "TraceIdRatioBased{1.000000}", true);
    expect_env("parentbased_always_off", NULL, "ParentBased{root=AlwaysOffSampler}", false);
    expect_env("parentbased_traceidratio", "0.25",
               "ParentBased{root=TraceIdRatioBased{0.250000}}", false);
    expect_env("always_on", "garbage", "AlwaysOnSampler", false); /* ARG unused: ignored */
    expect_env("jaeger_remote", NULL, "ParentBased{root=AlwaysOnSampler}", true);
    expect_env("xray", NULL, "ParentBased{root=AlwaysOnSampler}", true);
    expect_env("bogus", NULL, "ParentBased{root=AlwaysOnSampler}", true);
}

typedef struct custom_state {
    int calls;
    int destroyed;
} custom_state;

static ctel_sampling_decision custom_decide(void *ud, const ctel_sampling_params *p)
{
    custom_state *cs = ud;
    cs->calls++;
    return strcmp(p->name, "keep") == 0 ? CTEL_SAMPLING_RECORD_ONLY : CTEL_SAMPLING_DROP;
}

static void custom_destroy(void *ud)
{
    ((custom_state *)ud)->destroyed++;
}

static void test_custom_sampler_and_record_only(void **state)
{
    (void)state;
    custom_state cs = {0, 0};
    ctel_sampler_ops ops = {custom_decide, "MySampler", custom_destroy};
    ctel_sampler *s = NULL;
    assert_int_equal(ctel_sampler_create_custom(&ops, &cs, &s), CTEL_OK);
    assert_string_equal(ctel_sampler_description(s), "MySampler");

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

    assert_int_equal(ctel_sampler_create_custom(NULL, NULL, &s), CTEL_ERR_INVALID_ARGUMENT);
    ctel_sampler_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_always_on_off),
        cmocka_unit_test(test_ratio_threshold_boundaries_and_rate),
        cmocka_unit_test(test_parent_based),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_custom_sampler_and_record_only),
    };
    return cmocka_run_group_tests_name("sdk/trace/sampler", tests, NULL, NULL);
}
