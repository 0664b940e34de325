/* Tests for sdk/resource/resource.c: creation, merge, the default resource
 * and OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME. */
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *str(const ctel_resource *r, const char *key)
{
    const ctel_value *v = ctel_resource_find(r, key);
    return v && v->type == CTEL_VALUE_STRING ? v->u.string.ptr : NULL;
}

static ctel_resource *dflt(void)
{
    ctel_resource *r = NULL;
    assert_int_equal(ctel_resource_create_default(NULL, &r), CTEL_OK);
    return r;
}

static void test_default_attributes(void **state)
{
    (void)state;
    unsetenv("OTEL_SERVICE_NAME");
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    ctel_resource *r = dflt();
    assert_string_equal(str(r, "telemetry.sdk.name"), "ctel");
    assert_string_equal(str(r, "telemetry.sdk.language"), "c");
    assert_string_equal(str(r, "telemetry.sdk.version"), CTEL_VERSION_STRING);
    const ctel_value *pid = ctel_resource_find(r, "process.pid");
    assert_non_null(pid);
    assert_int_equal(pid->type, CTEL_VALUE_INT);
    assert_int_equal(pid->u.integer, getpid());
    assert_non_null(str(r, "host.name"));
    extern char *program_invocation_short_name;
    char want[300];
    snprintf(want, sizeof want, "unknown_service:%s", program_invocation_short_name);
    assert_string_equal(str(r, "service.name"), want);
    assert_string_equal(str(r, "process.executable.name"), program_invocation_short_name);
    assert_string_equal(ctel_resource_schema_url(r), "");
    ctel_resource_release(r);
}

static void test_service_name_precedence(void **state)
{
    (void)state;
    setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,team=core", 1);
    ctel_resource *r = dflt();
    assert_string_equal(str(r, "service.name"), "from-attrs");
    assert_string_equal(str(r, "team"), "core");
    ctel_resource_release(r);
    setenv("OTEL_SERVICE_NAME", "from-name", 1);
    r = dflt();
    assert_string_equal(str(r, "service.name"), "from-name");
    ctel_resource_release(r);
    /* The user's resource wins over both. */
    ctel_attribute a = CTEL_ATTR_STR("service.name", "from-code");
    ctel_resource *user = NULL;
    assert_int_equal(ctel_resource_create(&a, 1, "https://schema.test/1", &user), CTEL_OK);
    assert_int_equal(ctel_resource_create_default(user, &r), CTEL_OK);
    assert_string_equal(str(r, "service.name"), "from-code");
    assert_string_equal(ctel_resource_schema_url(r), "https://schema.test/1");
    ctel_resource_release(r);
    ctel_resource_release(user);
    unsetenv("OTEL_SERVICE_NAME");
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
}

static void test_resource_attributes_decoding(void **state)
{
    (void)state;
    setenv("OTEL_RESOURCE_ATTRIBUTES", " k1 = a%2Cb%3Dc ,k%20two=v2,,empty=", 1);
    ctel_resource *r = dflt();
    assert_string_equal(str(r, "k1"), "a,b=c");
    assert_string_equal(str(r, "k two"), "v2");
    assert_string_equal(str(r, "empty"), "");
    ctel_resource_release(r);
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
}

static void test_malformed_resource_attributes_discarded_whole(void **state)
{
    (void)state;
    static const char *const bad[] = {"good=1,bad%G1=2", "good=1,v=%4", "good=1,noequals",
                                      "good=1,=nokey", "good=1,v=cut%00here",
                                      "good=1,%00=v"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("OTEL_RESOURCE_ATTRIBUTES", bad[i], 1);
        ts_log_capture_start();
        ctel_resource *r = dflt();
        ts_log_capture_stop();
        if (ctel_resource_find(r, "good"))
            fail_msg("\"%s\" was partly applied", bad[i]);
        assert_true(ts_log_contains("OTEL_RESOURCE_ATTRIBUTES"));
        assert_string_equal(str(r, "telemetry.sdk.name"), "ctel"); /* never fatal */
        ctel_resource_release(r);
    }
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
}

static void test_create_copies_and_dedupes(void **state)
{
    (void)state;
    char key[16] = "k", val[16] = "v1";
    ctel_attribute a[3] = {{key, 1, ctel_value_str(val)}, CTEL_ATTR_INT("n", 1),
                           CTEL_ATTR_STR("k", "v2")};
    ctel_resource *r = NULL;
    assert_int_equal(ctel_resource_create(a, 3, NULL, &r), CTEL_OK);
    memset(key, 'X', sizeof key - 1);
    memset(val, 'Y', sizeof val - 1);
    assert_int_equal(ctel_resource_attribute_count(r), 2);
    assert_string_equal(str(r, "k"), "v2");
    ctel_resource *again = ctel_resource_retain(r);
    ctel_resource_release(r);
    assert_string_equal(str(again, "k"), "v2"); /* still alive */
    ctel_resource_release(again);
    ctel_attribute empty_key = CTEL_ATTR_STR("", "x");
    empty_key.key_len = 0;
    assert_int_equal(ctel_resource_create(&empty_key, 1, NULL, &r), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel_resource_create(NULL, 1, NULL, &r), CTEL_ERR_INVALID_ARGUMENT);
    ctel_resource_release(NULL);
}

static void test_merge_rules(void **state)
{
    (void)state;
    ctel_attribute ba[2] = {CTEL_ATTR_STR("a", "base"), CTEL_ATTR_STR("b", "base")};
    ctel_attribute ua[1] = {CTEL_ATTR_STR("b", "upd")};
    ctel_resource *base = NULL, *upd = NULL, *m = NULL;
    assert_int_equal(ctel_resource_create(ba, 2, "https://s/1", &base), CTEL_OK);
    assert_int_equal(ctel_resource_create(ua, 1, NULL, &upd), CTEL_OK);
    assert_int_equal(ctel_resource_merge(base, upd, &m), CTEL_OK);
    assert_string_equal(str(m, "a"), "base");
    assert_string_equal(str(m, "b"), "upd");
    assert_string_equal(ctel_resource_schema_url(m), "https://s/1"); /* empty takes the other */
    ctel_resource_release(m);
    ctel_resource_release(upd);
    assert_int_equal(ctel_resource_create(ua, 1, "https://s/2", &upd), CTEL_OK);
    ts_log_capture_start();
    assert_int_equal(ctel_resource_merge(base, upd, &m), CTEL_OK);
    ts_log_capture_stop();
    assert_true(ts_log_contains("schema URL"));
    assert_string_equal(ctel_resource_schema_url(m), "https://s/2");
    ctel_resource_release(m);
    assert_int_equal(ctel_resource_merge(NULL, NULL, &m), CTEL_OK);
    assert_int_equal(ctel_resource_attribute_count(m), 0);
    ctel_resource_release(m);
    ctel_resource_release(upd);
    ctel_resource_release(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_attributes),
        cmocka_unit_test(test_service_name_precedence),
        cmocka_unit_test(test_resource_attributes_decoding),
        cmocka_unit_test(test_malformed_resource_attributes_discarded_whole),
        cmocka_unit_test(test_create_copies_and_dedupes),
        cmocka_unit_test(test_merge_rules),
    };
    return cmocka_run_group_tests_name("sdk/resource/resource", tests, NULL, NULL);
}
