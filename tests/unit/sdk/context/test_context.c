/* Tests for sdk/context/context.c: context values and the per-thread stack. */
#include "support/test_support.h"

#include <pthread.h>
#include <string.h>

static const ctel_span_context k_sc = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
                                       {7, 7, 7, 7, 7, 7, 7, 7},
                                       CTEL_TRACE_FLAG_SAMPLED,
                                       true};

static void test_values_are_immutable_and_refcounted(void **state)
{
    (void)state;
    ctel_context *a = ctel_context_with_span_context(NULL, &k_sc, "x=1");
    assert_non_null(a);
    ctel_span_context out;
    assert_true(ctel_context_span_context(a, &out));
    assert_memory_equal(&out, &k_sc, sizeof out);
    assert_string_equal(ctel_context_trace_state(a), "x=1");
    assert_null(ctel_context_baggage(a));

    ctel_baggage *bg = NULL;
    assert_int_equal(ctel_baggage_set(NULL, "user", "alice", NULL, &bg), CTEL_OK);
    ctel_context *b = ctel_context_with_baggage(a, bg);
    ctel_baggage_release(bg); /* the context holds its own reference */
    assert_true(ctel_context_span_context(b, &out));
    assert_string_equal(ctel_context_trace_state(b), "x=1");
    assert_string_equal(ctel_baggage_get(ctel_context_baggage(b), "user"), "alice");
    assert_null(ctel_context_baggage(a)); /* a is unchanged */

    ctel_context *c = ctel_context_retain(b);
    assert_ptr_equal(c, b);
    ctel_context_release(b);
    assert_string_equal(ctel_baggage_get(ctel_context_baggage(c), "user"), "alice");
    ctel_context_release(c);
    ctel_context_release(a);
    ctel_context_release(NULL);

    assert_false(ctel_context_span_context(NULL, &out));
    assert_string_equal(ctel_context_trace_state(NULL), "");
    assert_null(ctel_context_with_span_context(NULL, NULL, NULL));
}

static void test_attach_detach_lifo_and_current(void **state)
{
    (void)state;
    ctel_context *ctx = ctel_context_with_span_context(NULL, &k_sc, NULL);
    ctel_baggage *bg = NULL;
    assert_int_equal(ctel_baggage_set(NULL, "k", "v", NULL, &bg), CTEL_OK);
    ctel_context *with_bg = ctel_context_with_baggage(ctx, bg);
    ctel_baggage_release(bg);

    assert_null(ctel_baggage_current());
    ctel_context_token t1 = ctel_context_attach(with_bg);
    assert_string_equal(ctel_baggage_get(ctel_baggage_current(), "k"), "v");
    ctel_context *cur = ctel_context_current();
    ctel_span_context out;
    assert_true(ctel_context_span_context(cur, &out));
    assert_memory_equal(out.span_id, k_sc.span_id, 8);
    ctel_context_release(cur);

    /* Attaching an empty context hides both span and baggage. */
    ctel_context_token t2 = ctel_context_attach(NULL);
    assert_null(ctel_baggage_current());
    cur = ctel_context_current();
    assert_false(ctel_context_span_context(cur, &out));
    ctel_context_release(cur);
    assert_int_equal(ctel_context_detach(t2), CTEL_OK);
    assert_string_equal(ctel_baggage_get(ctel_baggage_current(), "k"), "v");
    assert_int_equal(ctel_context_detach(t1), CTEL_OK);
    assert_null(ctel_baggage_current());

    /* The stack keeps its own reference. */
    ctel_context_token t3 = ctel_context_attach(with_bg);
    ctel_context_release(with_bg);
    ctel_context_release(ctx);
    assert_string_equal(ctel_baggage_get(ctel_baggage_current(), "k"), "v");
    assert_int_equal(ctel_context_detach(t3), CTEL_OK);
}

static void test_bad_detach_is_reported_not_fatal(void **state)
{
    (void)state;
    ts_log_capture_start();
    ctel_context_token a = ctel_context_attach(NULL);
    ctel_context_token b = ctel_context_attach(NULL);
    ctel_context_token c = ctel_context_attach(NULL);
    /* Out of order: pops b and c too, and says so. */
    assert_int_equal(ctel_context_detach(b), CTEL_ERR_INVALID_ARGUMENT);
    assert_true(ts_log_contains("out of order"));
    /* c is gone already: a stale token changes nothing. */
    assert_int_equal(ctel_context_detach(c), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_context_detach(b), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_context_detach(a), CTEL_OK);
    assert_int_equal(ctel_context_detach(a), CTEL_ERR_INVALID_ARGUMENT);
    ctel_context_token inert = {0, 0};
    assert_int_equal(ctel_context_detach(inert), CTEL_OK);
    ts_log_capture_stop();
}

static void test_deep_stack_grows(void **state)
{
    (void)state;
    ctel_context_token toks[300];
    for (int i = 0; i < 300; i++)
        toks[i] = ctel_context_attach(NULL);
    for (int i = 299; i >= 0; i--)
        assert_int_equal(ctel_context_detach(toks[i]), CTEL_OK);
}

static void *other_thread(void *arg)
{
    (void)arg;
    /* Another thread starts with an empty stack. */
    return (void *)(uintptr_t)(ctel_baggage_current() == NULL && ctel_span_current() == NULL);
}

static void test_stacks_are_per_thread(void **state)
{
    (void)state;
    ctel_baggage *bg = NULL;
    assert_int_equal(ctel_baggage_set(NULL, "k", "v", NULL, &bg), CTEL_OK);
    ctel_context *ctx = ctel_context_with_baggage(NULL, bg);
    ctel_baggage_release(bg);
    ctel_context_token t = ctel_context_attach(ctx);
    pthread_t tid;
    void *ret = NULL;
    pthread_create(&tid, NULL, other_thread, NULL);
    pthread_join(tid, &ret);
    assert_true((uintptr_t)ret);
    ctel_context_detach(t);
    ctel_context_release(ctx);
}

static void test_hex_helpers(void **state)
{
    (void)state;
    char th[33], sh[17];
    ctel_trace_id_to_hex(k_sc.trace_id, th);
    ctel_span_id_to_hex(k_sc.span_id, sh);
    assert_string_equal(th, "0102030405060708090a0b0c0d0e0f10");
    assert_string_equal(sh, "0707070707070707");
    ctel_span_context zero;
    memset(&zero, 0, sizeof zero);
    assert_false(ctel_span_context_is_valid(&zero));
    assert_false(ctel_span_context_is_valid(NULL));
    assert_true(ctel_span_context_is_valid(&k_sc));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_are_immutable_and_refcounted),
        cmocka_unit_test(test_attach_detach_lifo_and_current),
        cmocka_unit_test(test_bad_detach_is_reported_not_fatal),
        cmocka_unit_test(test_deep_stack_grows),
        cmocka_unit_test(test_stacks_are_per_thread),
        cmocka_unit_test(test_hex_helpers),
    };
    return cmocka_run_group_tests_name("sdk/context/context", tests, NULL, NULL);
}
