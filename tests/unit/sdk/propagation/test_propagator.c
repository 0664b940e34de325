/* Tests for sdk/propagation/propagator.c: inject/extract through a carrier,
 * OTEL_PROPAGATORS, and the W3C rules as seen end to end. */
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A header list that, like HTTP, may hold one name several times. */
typedef struct headers {
    const char *name[16];
    char value[16][9000];
    int n;
} headers;

static const char *h_get(void *ud, const char *key)
{
    headers *h = ud;
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], key) == 0)
            return h->value[i];
    return NULL;
}

static size_t h_get_all(void *ud, const char *key, const char **vals, size_t max)
{
    headers *h = ud;
    size_t n = 0;
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], key) == 0) {
            if (n < max)
                vals[n] = h->value[i];
            n++;
        }
    return n;
}

static ctel_status h_set(void *ud, const char *key, const char *value)
{
    headers *h = ud;
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], key) == 0) {
            snprintf(h->value[i], sizeof h->value[i], "%s", value);
            return CTEL_OK;
        }
    h->name[h->n] = key[0] == 't' ? (key[5] == 'p' ? "traceparent" : "tracestate") : "baggage";
    snprintf(h->value[h->n], sizeof h->value[0], "%s", value);
    h->n++;
    return CTEL_OK;
}

static void add(headers *h, const char *name, const char *value)
{
    h->name[h->n] = name;
    snprintf(h->value[h->n], sizeof h->value[0], "%s", value);
    h->n++;
}

static ctel_propagator *prop(const char *list)
{
    ctel_propagator *p = NULL;
    assert_int_equal(ctel_propagator_create(list, &p), CTEL_OK);
    return p;
}

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

/* Extracts `in` with the default propagators over `parent`; `all` selects
 * whether the carrier offers get_all (duplicate headers visible) or get. */
static ctel_context *extract_from(headers *in, const ctel_context *parent, bool all)
{
    ctel_propagator *p = prop(NULL);
    ctel_carrier c = {h_get, all ? h_get_all : NULL, NULL, in};
    ctel_context *ctx = NULL;
    assert_int_equal(ctel_propagator_extract(p, parent, &c, &ctx), CTEL_OK);
    assert_non_null(ctx);
    ctel_propagator_destroy(p);
    return ctx;
}

static void test_extract_then_inject_round_trip(void **state)
{
    (void)state;
    static headers in, out;
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    add(&in, "Traceparent", TP);
    add(&in, "tracestate", "rojo=00f067aa0ba902b7");
    add(&in, "tracestate", " congo=t61rcWkgMzE"); /* a second field: joined */
    add(&in, "baggage", "user=alice;ttl=3,tier=gold");
    ctel_propagator *p = prop("tracecontext,baggage");
    ctel_carrier c = {h_get, h_get_all, h_set, &in};
    ctel_context *ctx = NULL;
    assert_int_equal(ctel_propagator_extract(p, NULL, &c, &ctx), CTEL_OK);
    ctel_span_context sc;
    assert_true(ctel_context_span_context(ctx, &sc));
    assert_true(sc.is_remote);
    assert_string_equal(ctel_context_trace_state(ctx), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    assert_string_equal(ctel_baggage_get(ctel_context_baggage(ctx), "user"), "alice");

    ctel_carrier oc = {h_get, NULL, h_set, &out};
    assert_int_equal(ctel_propagator_inject(p, ctx, &oc), CTEL_OK);
    assert_string_equal(h_get(&out, "traceparent"), TP);
    assert_string_equal(h_get(&out, "tracestate"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    assert_string_equal(h_get(&out, "baggage"), "user=alice;ttl=3,tier=gold");
    ctel_context_release(ctx);
    ctel_propagator_destroy(p);
}

static void test_bad_traceparent_drops_tracestate_keeps_baggage(void **state)
{
    (void)state;
    static headers in;
    memset(&in, 0, sizeof in);
    add(&in, "traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01");
    add(&in, "tracestate", "rojo=1");
    add(&in, "baggage", "k=v");
    ctel_context *ctx = extract_from(&in, NULL, true);
    ctel_span_context sc;
    assert_false(ctel_context_span_context(ctx, &sc));
    assert_string_equal(ctel_context_trace_state(ctx), "");
    assert_string_equal(ctel_baggage_get(ctel_context_baggage(ctx), "k"), "v");
    ctel_context_release(ctx);
}

static void test_duplicate_traceparent_is_invalid(void **state)
{
    (void)state;
    static headers in;
    memset(&in, 0, sizeof in);
    add(&in, "traceparent", TP);
    add(&in, "traceparent", TP);
    ctel_context *ctx = extract_from(&in, NULL, true);
    ctel_span_context sc;
    assert_false(ctel_context_span_context(ctx, &sc));
    ctel_context_release(ctx);
}

static void test_bad_tracestate_keeps_traceparent(void **state)
{
    (void)state;
    static headers in;
    memset(&in, 0, sizeof in);
    add(&in, "traceparent", TP);
    add(&in, "tracestate", "UPPER=1");
    ctel_context *ctx = extract_from(&in, NULL, false); /* get only */
    ctel_span_context sc;
    assert_true(ctel_context_span_context(ctx, &sc));
    assert_string_equal(ctel_context_trace_state(ctx), "");
    ctel_context_release(ctx);
}

static void test_extract_keeps_parent_baggage_and_overrides(void **state)
{
    (void)state;
    static headers in;
    memset(&in, 0, sizeof in);
    add(&in, "baggage", "shared=new,extra=1");
    ctel_baggage *bg = NULL;
    assert_int_equal(ctel_baggage_set(NULL, "shared", "old", NULL, &bg), CTEL_OK);
    ctel_baggage *bg2 = NULL;
    assert_int_equal(ctel_baggage_set(bg, "local", "x", NULL, &bg2), CTEL_OK);
    ctel_context *parent = ctel_context_with_baggage(NULL, bg2);
    ctel_baggage_release(bg);
    ctel_baggage_release(bg2);
    ctel_context *ctx = extract_from(&in, parent, false);
    const ctel_baggage *out = ctel_context_baggage(ctx);
    assert_string_equal(ctel_baggage_get(out, "shared"), "new");
    assert_string_equal(ctel_baggage_get(out, "local"), "x");
    assert_string_equal(ctel_baggage_get(out, "extra"), "1");
    ctel_context_release(ctx);
    ctel_context_release(parent);
}

static void test_inject_from_current_span_and_nothing_when_empty(void **state)
{
    (void)state;
    static headers out;
    memset(&out, 0, sizeof out);
    ctel_propagator *p = prop(NULL);
    ctel_carrier c = {h_get, NULL, h_set, &out};
    assert_int_equal(ctel_propagator_inject(p, NULL, &c), CTEL_OK);
    assert_int_equal(out.n, 0); /* no context: no headers, not even empty ones */

    ctel_sdk *sdk = ts_sdk_with_processor(NULL);
    ctel_span *s = ctel_span_start(ctel_sdk_tracer(sdk, "p", NULL, NULL), "s", NULL);
    ctel_context_token tok = ctel_span_make_current(s);
    assert_int_equal(ctel_propagator_inject(p, NULL, &c), CTEL_OK);
    ctel_context_detach(tok);
    ctel_span_context sc = ctel_span_get_context(s);
    char tid[33];
    ctel_trace_id_to_hex(sc.trace_id, tid);
    const char *tp = h_get(&out, "traceparent");
    assert_non_null(tp);
    assert_int_equal(strlen(tp), 55);
    assert_memory_equal(tp + 3, tid, 32);
    assert_string_equal(tp + 53, "03"); /* sampled + random */
    assert_null(h_get(&out, "tracestate"));
    ctel_span_end(s);
    ctel_sdk_destroy(sdk);
    ctel_propagator_destroy(p);
}

static void test_propagator_selection(void **state)
{
    (void)state;
    static headers in;
    memset(&in, 0, sizeof in);
    add(&in, "traceparent", TP);
    add(&in, "baggage", "k=v");
    ctel_carrier c = {h_get, NULL, NULL, &in};

    ts_log_capture_start();
    setenv("OTEL_PROPAGATORS", " Baggage , b3 ,baggage", 1);
    ctel_propagator *p = prop(NULL);
    unsetenv("OTEL_PROPAGATORS");
    ts_log_capture_stop();
    assert_true(ts_log_contains("b3"));
    const char *const *f = ctel_propagator_fields(p);
    assert_string_equal(f[0], "baggage");
    assert_null(f[1]);
    ctel_context *ctx = NULL;
    assert_int_equal(ctel_propagator_extract(p, NULL, &c, &ctx), CTEL_OK);
    ctel_span_context sc;
    assert_false(ctel_context_span_context(ctx, &sc)); /* tracecontext not enabled */
    assert_string_equal(ctel_baggage_get(ctel_context_baggage(ctx), "k"), "v");
    ctel_context_release(ctx);
    ctel_propagator_destroy(p);

    p = prop("none");
    assert_null(ctel_propagator_fields(p)[0]);
    assert_int_equal(ctel_propagator_extract(p, NULL, &c, &ctx), CTEL_OK);
    assert_null(ctel_context_baggage(ctx));
    ctel_context_release(ctx);
    ctel_propagator_destroy(p);

    setenv("OTEL_PROPAGATORS", "", 1); /* empty = unset = default */
    p = prop(NULL);
    unsetenv("OTEL_PROPAGATORS");
    assert_string_equal(ctel_propagator_fields(p)[0], "traceparent");
    assert_string_equal(ctel_propagator_fields(p)[2], "baggage");
    ctel_propagator_destroy(p);

    assert_int_equal(ctel_propagator_extract(NULL, NULL, &c, &ctx), CTEL_ERR_INVALID_ARGUMENT);
    assert_null(ctx);
    assert_int_equal(ctel_propagator_inject(NULL, NULL, &c), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_propagator_create(NULL, NULL), CTEL_ERR_INVALID_ARGUMENT);
    ctel_propagator_destroy(NULL);
}

int main(void)
{
    unsetenv("OTEL_PROPAGATORS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_then_inject_round_trip),
        cmocka_unit_test(test_bad_traceparent_drops_tracestate_keeps_baggage),
        cmocka_unit_test(test_duplicate_traceparent_is_invalid),
        cmocka_unit_test(test_bad_tracestate_keeps_traceparent),
        cmocka_unit_test(test_extract_keeps_parent_baggage_and_overrides),
        cmocka_unit_test(test_inject_from_current_span_and_nothing_when_empty),
        cmocka_unit_test(test_propagator_selection),
    };
    return cmocka_run_group_tests_name("sdk/propagation/propagator", tests, NULL, NULL);
}
