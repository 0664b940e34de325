/* Tests for sdk/common/alloc.c: the allocator hook is honoured everywhere —
 * after a whole SDK lifecycle every byte ctel took has come back through the
 * same hook. */
#include "support/test_support.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long g_live;
static _Atomic long g_total;

static void *c_malloc(size_t n, void *ud)
{
    assert_ptr_equal(ud, &g_total);
    void *p = malloc(n);
    if (p) {
        atomic_fetch_add(&g_live, 1);
        atomic_fetch_add(&g_total, 1);
    }
    return p;
}
static void *c_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    void *q = realloc(p, n);
    if (q && !p) {
        atomic_fetch_add(&g_live, 1);
    }
    atomic_fetch_add(&g_total, 1);
    return q;
}
static void c_free(void *p, void *ud)
{
    (void)ud;
    if (p)
        atomic_fetch_sub(&g_live, 1);
    free(p);
}

static void test_rejects_incomplete_allocator(void **state)
{
    (void)state;
    ctel_allocator bad = {c_malloc, NULL, c_free, NULL};
    assert_int_equal(ctel_set_allocator(&bad), CTEL_ERR_INVALID_ARGUMENT);
}

static void test_every_allocation_returns(void **state)
{
    (void)state;
    ctel_allocator a = {c_malloc, c_realloc, c_free, &g_total};
    assert_int_equal(ctel_set_allocator(&a), CTEL_OK);
    ts_counting_exporter c = {0};
    ctel_span_processor *proc = NULL;
    ctel_batch_options bo = CTEL_BATCH_OPTIONS_INIT;
    bo.max_queue_size = 256;
    assert_int_equal(ctel_batch_processor_create(ts_counting_exporter_create(&c), &bo, &proc),
                     CTEL_OK);
    ctel_sdk *sdk = ts_sdk_with_processor(proc);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "alloc", "1", NULL);
    for (int i = 0; i < 5000; i++) {
        ctel_span *s = ctel_span_start(t, "s", NULL);
        char big[600];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        ctel_span_set_attr_str(s, "big", big); /* forces an overflow chunk */
        ctel_context *ctx = ctel_context_with_span(NULL, s);
        ctel_context_release(ctx);
        ctel_span_end(s);
    }
    assert_int_equal(ctel_sdk_force_flush(sdk, 10000), CTEL_OK);
    ctel_sdk_destroy(sdk);
    assert_true(atomic_load(&g_total) > 0);
    assert_int_equal(atomic_load(&g_live), 0);
    /* Too late to swap allocators now. */
    assert_int_equal(ctel_set_allocator(NULL), CTEL_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_incomplete_allocator),
        cmocka_unit_test(test_every_allocation_returns),
    };
    return cmocka_run_group_tests_name("sdk/common/alloc", tests, NULL, NULL);
}
