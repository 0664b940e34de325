/* Tests for sdk/propagation/baggage_header.c: W3C baggage parsing, encoding
 * and limits. */
#include "support/test_support.h"
#include "sdk/propagation/w3c.h"

#include <stdio.h>
#include <string.h>

static ctel_baggage *parse(const char *v, ctel_status *rc)
{
    ctel_baggage *bg = NULL;
    *rc = ctel__baggage_parse(v, strlen(v), NULL, &bg);
    return bg;
}

static void test_parse_members_properties_and_ows(void **state)
{
    (void)state;
    ctel_status rc;
    ctel_baggage *bg = parse(" userId = alice , serverNode=DF%2028 ;prop1; k=v,isProduction=false",
                             &rc);
    assert_int_equal(rc, CTEL_OK);
    assert_int_equal(ctel_baggage_count(bg), 3);
    assert_string_equal(ctel_baggage_get(bg, "userId"), "alice");
    assert_string_equal(ctel_baggage_get(bg, "serverNode"), "DF 28");
    assert_string_equal(ctel_baggage_get(bg, "isProduction"), "false");
    const char *name, *value, *meta;
    assert_int_equal(ctel_baggage_entry(bg, 1, &name, &value, &meta), CTEL_OK);
    assert_string_equal(meta, "prop1; k=v");
    ctel_baggage_release(bg);
}

static void test_last_duplicate_wins_and_values_may_hold_equals(void **state)
{
    (void)state;
    ctel_status rc;
    ctel_baggage *bg = parse("k=1,k=2,b64=YWJj==", &rc);
    assert_int_equal(rc, CTEL_OK);
    assert_string_equal(ctel_baggage_get(bg, "k"), "2");
    assert_string_equal(ctel_baggage_get(bg, "b64"), "YWJj==");
    ctel_baggage_release(bg);
}

static void test_malformed_header_applies_nothing(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "novalue",         /* no '=' */
        "=v",              /* empty key */
        "bad key=v",       /* space in key */
        "k=v\"q",          /* '"' is not a baggage-octet */
        "k=v\\",           /* backslash */
        "k=%zz",           /* bad escape */
        "k=%4",            /* short escape */
        "k=cut%00here",    /* NUL: the value would end there */
        "good=1,bad",      /* one bad member poisons the header */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctel_status rc;
        ctel_baggage *bg = parse(bad[i], &rc);
        if (rc != CTEL_ERR_PARSE || bg != NULL)
            fail_msg("accepted malformed baggage \"%s\"", bad[i]);
    }
}

static void test_invalid_utf8_becomes_replacement_char(void **state)
{
    (void)state;
    ctel_status rc;
    ctel_baggage *bg = parse("k=a%FFb,e=%E2%82%AC", &rc);
    assert_int_equal(rc, CTEL_OK);
    assert_string_equal(ctel_baggage_get(bg, "k"), "a\xef\xbf\xbd" "b");
    assert_string_equal(ctel_baggage_get(bg, "e"), "\xe2\x82\xac"); /* euro sign */
    ctel_baggage_release(bg);
}

static void test_extract_limits_drop_whole_members(void **state)
{
    (void)state;
    char hdr[8192 * 2];
    size_t n = 0;
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(hdr + n, sizeof hdr - n, "%sk%d=v", i ? "," : "", i);
    ctel_status rc;
    ctel_baggage *bg = parse(hdr, &rc);
    assert_int_equal(rc, CTEL_OK);
    assert_int_equal(ctel_baggage_count(bg), 64);
    assert_non_null(ctel_baggage_get(bg, "k63"));
    assert_null(ctel_baggage_get(bg, "k64"));
    ctel_baggage_release(bg);
}

static void test_format_encodes_and_respects_limits(void **state)
{
    (void)state;
    ctel_baggage *bg = NULL, *next = NULL;
    assert_int_equal(ctel_baggage_set(NULL, "user", "a b,c;d%e=f", "ttl=30", &bg), CTEL_OK);
    ctel__buf b = CTEL__BUF_INIT;
    size_t omitted = 0;
    assert_int_equal(ctel__baggage_format(bg, &b, &omitted), CTEL_OK);
    assert_string_equal(b.data, "user=a%20b%2Cc%3Bd%25e=f;ttl=30");
    assert_int_equal(omitted, 0);
    /* Round trip through the parser. */
    ctel_baggage *back = NULL;
    assert_int_equal(ctel__baggage_parse(b.data, b.len, NULL, &back), CTEL_OK);
    assert_string_equal(ctel_baggage_get(back, "user"), "a b,c;d%e=f");
    ctel_baggage_release(back);
    /* Names that are not tokens are not sent. */
    assert_int_equal(ctel_baggage_set(bg, "bad name", "x", NULL, &next), CTEL_OK);
    ctel_baggage_release(bg);
    bg = next;
    ctel__buf_reset(&b);
    assert_int_equal(ctel__baggage_format(bg, &b, &omitted), CTEL_OK);
    assert_int_equal(omitted, 1);
    ctel_baggage_release(bg);
    /* 8192 bytes: a value of 5000 bytes fits once, not twice. */
    char big[5001];
    memset(big, 'v', 5000);
    big[5000] = '\0';
    bg = NULL;
    assert_int_equal(ctel_baggage_set(NULL, "a", big, NULL, &bg), CTEL_OK);
    assert_int_equal(ctel_baggage_set(bg, "b", big, NULL, &next), CTEL_OK);
    ctel_baggage_release(bg);
    ctel__buf_reset(&b);
    assert_int_equal(ctel__baggage_format(next, &b, &omitted), CTEL_OK);
    assert_int_equal(omitted, 1);
    assert_true(b.len <= 8192);
    assert_int_equal(strncmp(b.data, "a=", 2), 0);
    ctel_baggage_release(next);
    ctel__buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_members_properties_and_ows),
        cmocka_unit_test(test_last_duplicate_wins_and_values_may_hold_equals),
        cmocka_unit_test(test_malformed_header_applies_nothing),
        cmocka_unit_test(test_invalid_utf8_becomes_replacement_char),
        cmocka_unit_test(test_extract_limits_drop_whole_members),
        cmocka_unit_test(test_format_encodes_and_respects_limits),
    };
    return cmocka_run_group_tests_name("sdk/propagation/baggage_header", tests, NULL, NULL);
}
