/* Tests for sdk/common/mul_fold.h: both products give known answers, and
 * the one for 32-bit targets agrees with the 128-bit one (where this build
 * has both) on edge cases and a million pseudo-random pairs. */
#include "support/test_support.h"
#include "sdk/internal.h"
#include "sdk/common/mul_fold.h"

/* a, b, (a*b >> 64) ^ (a*b mod 2^64) */
static const uint64_t known[][3] = {
    {0, 0xffffffffffffffffull, 0},
    {3, 5, 15},
    {1ull << 63, 2, 1},
    {0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull},
    {0x00000000ffffffffull, 0x0000000100000001ull, 0xffffffffffffffffull},
    {0xa0761d6478bd642full, 0xe7037ed1a0b428dbull, 0x1ff5c2923a788d2cull},
    {0x123456789abcdef0ull, 0xfedcba9876543210ull, 0x317228f48165bb22ull},
};

static void test_known_products(void **state)
{
    (void)state;
    for (size_t i = 0; i < CTEL_ARRAY_LEN(known); i++) {
        assert_int_equal(ctel__mul_fold_portable(known[i][0], known[i][1]), known[i][2]);
        assert_int_equal(ctel__mul_fold(known[i][0], known[i][1]), known[i][2]);
        assert_int_equal(ctel__mul_fold_portable(known[i][1], known[i][0]), known[i][2]);
    }
}

#ifdef __SIZEOF_INT128__
static uint64_t wide(uint64_t a, uint64_t b)
{
    unsigned __int128 m = (unsigned __int128)a * b;
    return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

static void test_portable_product_matches_the_wide_one(void **state)
{
    (void)state;
    static const uint64_t edges[] = {0,
                                     1,
                                     2,
                                     0xffffffffull,
                                     0x100000000ull,
                                     0xffffffff00000000ull,
                                     0x7fffffffffffffffull,
                                     0x8000000000000000ull,
                                     0xffffffffffffffffull};
    for (size_t i = 0; i < CTEL_ARRAY_LEN(edges); i++)
        for (size_t j = 0; j < CTEL_ARRAY_LEN(edges); j++)
            assert_int_equal(ctel__mul_fold_portable(edges[i], edges[j]),
                             wide(edges[i], edges[j]));
    uint64_t x = 0x243f6a8885a308d3ull;
    for (int i = 0; i < 1000000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t y = (x >> 29) ^ (x << 23) ^ (i & 1 ? 0xffffffff00000000ull : 0);
        assert_int_equal(ctel__mul_fold_portable(x, y), wide(x, y));
    }
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_products),
#ifdef __SIZEOF_INT128__
        cmocka_unit_test(test_portable_product_matches_the_wide_one),
#endif
    };
    return cmocka_run_group_tests_name("sdk/common/mul_fold", tests, NULL, NULL);
}
