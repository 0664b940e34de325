/* Tests for sdk/common/buf.c. */
#include "support/test_support.h"

#include <string.h>
#include "sdk/common/buf.h"

static void test_growth_and_format(void **state)
{
    (void)state;
    ctel__buf b = CTEL__BUF_INIT;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ctel__buf_appendf(&b, "%d,", i), CTEL_OK);
    assert_int_equal(b.data[b.len], '\0');
    assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
    char big[600];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    size_t before = b.len;
    assert_int_equal(ctel__buf_appendf(&b, "<%s>", big), CTEL_OK); /* > small buffer */
    assert_int_equal(b.len, before + 601);
    ctel__buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(ctel__buf_append(&b, "ab", 2), CTEL_OK);
    assert_int_equal(ctel__buf_append_char(&b, 'c'), CTEL_OK);
    assert_string_equal(b.data, "abc");
    assert_int_equal(ctel__buf_reserve(&b, SIZE_MAX), CTEL_ERR_NO_MEMORY);
    assert_string_equal(b.data, "abc");
    ctel__buf_free(&b);
    assert_null(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_growth_and_format)};
    return cmocka_run_group_tests_name("sdk/common/buf", tests, NULL, NULL);
}
