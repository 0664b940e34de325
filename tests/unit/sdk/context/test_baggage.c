/* Tests for sdk/context/baggage.c: the immutable baggage container. */
#include "support/test_support.h"

#include <string.h>

static void test_set_get_replace_remove(void **state)
{
    (void)state;
    ctel_baggage *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    char name[8] = "user", value[8] = "alice";
    assert_int_equal(ctel_baggage_set(NULL, name, value, "ttl=1", &a), CTEL_OK);
    memset(name, 0, sizeof name);
    memset(value, 0, sizeof value);
    assert_string_equal(ctel_baggage_get(a, "user"), "alice");
    assert_int_equal(ctel_baggage_set(a, "user", "bob", NULL, &b), CTEL_OK);
    assert_string_equal(ctel_baggage_get(a, "user"), "alice"); /* a unchanged */
    assert_string_equal(ctel_baggage_get(b, "user"), "bob");
    assert_int_equal(ctel_baggage_count(b), 1);
    assert_int_equal(ctel_baggage_set(b, "User", "case", NULL, &c), CTEL_OK); /* case-sensitive */
    assert_int_equal(ctel_baggage_count(c), 2);
    const char *n, *v, *m;
    assert_int_equal(ctel_baggage_entry(c, 1, &n, &v, &m), CTEL_OK);
    assert_string_equal(n, "User");
    assert_string_equal(m, "");
    assert_int_equal(ctel_baggage_entry(c, 2, &n, &v, &m), CTEL_ERR_NOT_FOUND);
    assert_int_equal(ctel_baggage_remove(c, "user", &d), CTEL_OK);
    assert_null(ctel_baggage_get(d, "user"));
    assert_string_equal(ctel_baggage_get(d, "User"), "case");
    ctel_baggage_release(a);
    assert_int_equal(ctel_baggage_set(NULL, "", "x", NULL, &a), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_baggage_set(NULL, "k", NULL, NULL, &a), CTEL_ERR_INVALID_ARGUMENT);
    assert_null(a);
    assert_null(ctel_baggage_get(NULL, "k"));
    assert_int_equal(ctel_baggage_count(NULL), 0);
    ctel_baggage_release(b);
    ctel_baggage_release(c);
    ctel_baggage_release(d);
    ctel_baggage_release(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_replace_remove),
    };
    return cmocka_run_group_tests_name("sdk/context/baggage", tests, NULL, NULL);
}
