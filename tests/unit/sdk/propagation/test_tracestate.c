/* Tests for sdk/propagation/tracestate.c: validation and truncation. */
#include "support/test_support.h"
#include "sdk/propagation/w3c.h"

#include <stdio.h>
#include <string.h>

static bool norm(const char *v, char *out, size_t cap)
{
    ctel__buf b = CTEL__BUF_INIT;
    bool ok = ctel__tracestate_normalize(v, strlen(v), &b);
    snprintf(out, cap, "%s", b.data ? b.data : "");
    ctel__buf_free(&b);
    return ok;
}

static void test_valid_lists_are_normalised(void **state)
{
    (void)state;
    char out[1024];
    assert_true(norm("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", out, sizeof out));
    assert_string_equal(out, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    assert_true(norm("  a=1 ,\t, b=2  ,", out, sizeof out)); /* OWS, empty members */
    assert_string_equal(out, "a=1,b=2");
    assert_true(norm("tenant@system=x,0digit=y,k_-*/=v", out, sizeof out));
    assert_true(norm("k=va lue", out, sizeof out)); /* inner space allowed */
    assert_true(norm("k=value ", out, sizeof out)); /* trailing OWS is not the value's */
    assert_string_equal(out, "k=value");
    assert_true(norm("", out, sizeof out));
    assert_string_equal(out, "");
}

static void test_invalid_lists_are_discarded_whole(void **state)
{
    (void)state;
    char out[1024];
    static const char *const bad[] = {
        "foo=",           /* empty value */
        "foo=bar=baz",    /* '=' in value */
        "Foo=bar",        /* upper-case key */
        "@foo=bar",       /* key starting with @ */
        "foo",            /* no '=' */
        "=bar",           /* empty key */
        "k=v\x01",        /* control character */
        "k=v\x7f",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (norm(bad[i], out, sizeof out))
            fail_msg("accepted invalid tracestate \"%s\"", bad[i]);
        assert_string_equal(out, "");
    }
    /* A 257-character key. */
    char key[300];
    memset(key, 'a', 257);
    memcpy(key + 257, "=v", 3);
    assert_false(norm(key, out, sizeof out));
    /* 256 is the maximum. */
    memset(key, 'a', 256);
    memcpy(key + 256, "=v", 3);
    assert_true(norm(key, out, sizeof out));
}

static void test_member_limit(void **state)
{
    (void)state;
    char list[1024] = "";
    size_t n = 0;
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%sk%d=v", i ? "," : "", i);
    char out[1024];
    assert_true(norm(list, out, sizeof out));
    snprintf(list + n, sizeof list - n, ",k32=v"); /* the 33rd */
    assert_false(norm(list, out, sizeof out));
}

static void test_truncation_drops_long_members_then_from_the_right(void **state)
{
    (void)state;
    /* 10 members of 60 chars (610 total) plus one of 130 chars in the middle. */
    char list[2048] = "";
    size_t n = 0;
    char val[200];
    for (int i = 0; i < 10; i++) {
        memset(val, 'x', 56);
        val[56] = '\0';
        n += (size_t)snprintf(list + n, sizeof list - n, "%sk%d=%s", i ? "," : "", i, val);
        if (i == 4) {
            memset(val, 'L', 126);
            val[126] = '\0';
            n += (size_t)snprintf(list + n, sizeof list - n, ",big=%s", val);
        }
    }
    ctel__buf b = CTEL__BUF_INIT;
    assert_int_equal(ctel__tracestate_truncate(list, n, &b), CTEL_OK);
    assert_true(b.len <= 512);
    assert_null(strstr(b.data, "big="));       /* the >128 member went first */
    assert_non_null(strstr(b.data, "k0="));    /* left members kept */
    assert_null(strstr(b.data, "k9="));        /* then from the right */
    assert_true(b.data[b.len - 1] != ',');
    ctel__buf_free(&b);
    /* Short lists pass unchanged. */
    assert_int_equal(ctel__tracestate_truncate("a=1,b=2", 7, &b), CTEL_OK);
    assert_string_equal(b.data, "a=1,b=2");
    ctel__buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_lists_are_normalised),
        cmocka_unit_test(test_invalid_lists_are_discarded_whole),
        cmocka_unit_test(test_member_limit),
        cmocka_unit_test(test_truncation_drops_long_members_then_from_the_right),
    };
    return cmocka_run_group_tests_name("sdk/propagation/tracestate", tests, NULL, NULL);
}
