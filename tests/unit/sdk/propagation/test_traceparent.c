/* Tests for sdk/propagation/traceparent.c: the W3C traceparent rules. */
#include "support/test_support.h"
#include "sdk/propagation/w3c.h"

#include <string.h>

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SID "00f067aa0ba902b7"

static bool parse(const char *v, ctel_span_context *sc)
{
    return ctel__traceparent_parse(v, strlen(v), sc);
}

static void test_valid_version_00(void **state)
{
    (void)state;
    ctel_span_context sc;
    assert_true(parse("00-" TID "-" SID "-01", &sc));
    char hex[33];
    ctel_trace_id_to_hex(sc.trace_id, hex);
    assert_string_equal(hex, TID);
    ctel_span_id_to_hex(sc.span_id, hex);
    assert_string_equal(hex, SID);
    assert_int_equal(sc.trace_flags, CTEL_TRACE_FLAG_SAMPLED);
    assert_true(sc.is_remote);
    assert_true(parse("00-" TID "-" SID "-00", &sc));
    assert_int_equal(sc.trace_flags, 0);
    /* Unknown flag bits are dropped; sampled and random are kept. */
    assert_true(parse("00-" TID "-" SID "-ff", &sc));
    assert_int_equal(sc.trace_flags, CTEL_TRACE_FLAG_SAMPLED | CTEL_TRACE_FLAG_RANDOM);
    /* Surrounding spaces and tabs are accepted. */
    assert_true(parse(" \t00-" TID "-" SID "-01\t ", &sc));
}

static void test_invalid_values_are_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "00",
        "ff-" TID "-" SID "-01",                      /* version ff */
        "0g-" TID "-" SID "-01",                      /* version not hex */
        "0-" TID "-" SID "-01",                       /* short version */
        "00-" TID "-" SID "-01-extra",                /* v00 with extra fields */
        "00-" TID "-" SID "-01.",                     /* v00 trailing data */
        "00-00000000000000000000000000000000-" SID "-01", /* zero trace id */
        "00-" TID "-0000000000000000-01",             /* zero span id */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01", /* upper-case hex */
        "00-" TID "-00F067AA0BA902B7-01",
        "00-" TID "-" SID "-0G",                      /* flags not hex */
        "00-" TID "-" SID "-1",                       /* short flags */
        "00-4bf92f3577b34da6a3ce929d0e0e473-" SID "-01", /* short trace id */
        "00-" TID "-00f067aa0ba902b-01",              /* short span id */
        "00_" TID "-" SID "-01",                      /* wrong separator */
        "00-" TID "_" SID "-01",
        "00-" TID "-" SID "_01",
        "cc-" TID "-" SID "-01.anything",             /* higher version, bad suffix */
        "cc-" TID "-" SID,                            /* higher version, too short */
        "00-" TID "-" SID "-01 x",                    /* junk after OWS */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctel_span_context sc;
        if (parse(bad[i], &sc))
            fail_msg("accepted invalid traceparent \"%s\"", bad[i]);
    }
    ctel_span_context sc;
    assert_false(ctel__traceparent_parse(NULL, 0, &sc));
}

static void test_higher_versions_parse_known_fields(void **state)
{
    (void)state;
    ctel_span_context sc;
    assert_true(parse("cc-" TID "-" SID "-01", &sc));
    assert_true(parse("cc-" TID "-" SID "-01-what-the-future-holds", &sc));
    assert_int_equal(sc.trace_flags, CTEL_TRACE_FLAG_SAMPLED);
    char out[CTEL__TRACEPARENT_LEN + 1];
    ctel__traceparent_format(&sc, out);
    /* Re-emitted as version 00. */
    assert_string_equal(out, "00-" TID "-" SID "-01");
}

static void test_format_round_trip(void **state)
{
    (void)state;
    ctel_span_context sc = {{0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff},
                            {1, 2, 3, 4, 5, 6, 7, 8},
                            CTEL_TRACE_FLAG_SAMPLED | CTEL_TRACE_FLAG_RANDOM | 0x80,
                            false};
    char out[CTEL__TRACEPARENT_LEN + 1];
    ctel__traceparent_format(&sc, out);
    assert_string_equal(out, "00-deadbeef000102030405060708090aff-0102030405060708-03");
    ctel_span_context back;
    assert_true(parse(out, &back));
    assert_memory_equal(back.trace_id, sc.trace_id, 16);
    assert_memory_equal(back.span_id, sc.span_id, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_version_00),
        cmocka_unit_test(test_invalid_values_are_rejected),
        cmocka_unit_test(test_higher_versions_parse_known_fields),
        cmocka_unit_test(test_format_round_trip),
    };
    return cmocka_run_group_tests_name("sdk/propagation/traceparent", tests, NULL, NULL);
}
