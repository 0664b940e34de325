/* Tests for sdk/trace/span_queue.c: exact capacity, order, wrap-around,
 * abandoning after a fork and many producers against one consumer. Items
 * are even numbers: bit 0 is the queue's. */
#include "support/test_support.h"
#include "sdk/trace/span_queue.h"

#include <pthread.h>

static void test_capacity_is_exact(void **state)
{
    (void)state;
    for (uint64_t cap = 1; cap <= 37; cap += 4) {
        ctel__span_queue q;
        assert_int_equal(ctel__span_queue_init(&q, cap), CTEL_OK);
        uint64_t depth;
        for (uint64_t i = 0; i < cap; i++)
            assert_true(ctel__span_queue_push(&q, (void *)(uintptr_t)(2 * i + 2), &depth));
        assert_false(ctel__span_queue_push(&q, (void *)2, &depth));
        assert_int_equal(ctel__span_queue_size(&q), cap);
        assert_int_equal(ctel__span_queue_pushed(&q), cap);
        ctel__span_queue_destroy(&q);
    }
    ctel__span_queue q;
    assert_int_equal(ctel__span_queue_init(&q, 0), CTEL_ERR_INVALID_ARGUMENT);
}

static void test_fifo_per_thread_and_wraparound(void **state)
{
    (void)state;
    ctel__span_queue q;
    /* 64 slots: at least 4 per shard whatever the CPU count (at most 16
     * shards); one thread's 3 items stay in its own shard, where order is
     * first-in first-out. */
    assert_int_equal(ctel__span_queue_init(&q, 64), CTEL_OK);
    uintptr_t next_in = 2, next_out = 2;
    void *out[8];
    uint64_t depth;
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 3; i++)
            {
            assert_true(ctel__span_queue_push(&q, (void *)next_in, &depth));
            next_in += 2;
        }
        size_t n = ctel__span_queue_pop(&q, out, 8);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++)
{
            assert_int_equal((uintptr_t)out[i], next_out);
            next_out += 2;
        }
    }
    assert_int_equal(ctel__span_queue_size(&q), 0);
    assert_int_equal(ctel__span_queue_pop(&q, out, 8), 0);
    ctel__span_queue_destroy(&q);
}

typedef struct prod_arg {
    ctel__span_queue *q;
    uintptr_t base;
    int n;
    _Atomic unsigned long *dropped;
} prod_arg;

static void *prod(void *p)
{
    prod_arg *a = p;
    uint64_t depth;
    for (int i = 0; i < a->n; i++)
        if (!ctel__span_queue_push(a->q, (void *)(a->base + 2 * (uintptr_t)i), &depth))
            atomic_fetch_add(a->dropped, 1);
    return NULL;
}

static void test_many_producers_one_consumer(void **state)
{
    (void)state;
    enum { P = 4, N = 50000 };
    ctel__span_queue q;
    assert_int_equal(ctel__span_queue_init(&q, 1000), CTEL_OK);
    _Atomic unsigned long dropped = 0;
    pthread_t tid[P];
    prod_arg args[P];
    static unsigned char seen[P][N];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < P; i++) {
        args[i] = (prod_arg){&q, (uintptr_t)(i + 1) << 32, N, &dropped};
        pthread_create(&tid[i], NULL, prod, &args[i]);
    }
    unsigned long got = 0;
    void *buf[256];
    int done = 0;
    while (done < 2) {
        size_t n = ctel__span_queue_pop(&q, buf, 256);
        for (size_t i = 0; i < n; i++) {
            uintptr_t v = (uintptr_t)buf[i];
            int who = (int)(v >> 32) - 1;
            assert_int_equal(v & 1u, 0);
            int idx = (int)((v & 0xffffffffu) / 2);
            assert_true(who >= 0 && who < P && idx < N);
            assert_int_equal(seen[who][idx], 0); /* never delivered twice */
            seen[who][idx] = 1;
        }
        got += n;
        if (got + atomic_load(&dropped) == (unsigned long)P * N)
            done++;
    }
    for (int i = 0; i < P; i++)
        pthread_join(tid[i], NULL);
    assert_int_equal(got + atomic_load(&dropped), (unsigned long)P * N);
    assert_int_equal(ctel__span_queue_pushed(&q), got);
    ctel__span_queue_destroy(&q);
}

static unsigned long g_abandoned_sum, g_abandoned_n;
static void count_abandoned(void *item)
{
    g_abandoned_sum += (uintptr_t)item;
    g_abandoned_n++;
}

/* A slot reserved but never filled (its producer vanished with a fork) is
 * skipped; published items are handed over; the queue then starts empty and
 * works across laps again. */
static void test_abandon(void **state)
{
    (void)state;
    ctel__span_queue q;
    /* at least 4 slots in shard 0 whatever the CPU count (at most 16
     * shards) */
    assert_int_equal(ctel__span_queue_init(&q, 64), CTEL_OK);
    ctel__queue_shard *sh = &q.shards[0];
    for (uint32_t i = 1; i < q.nshards; i++) /* one shard does it all */
        sh[i].limit = 0;
    uint64_t depth;
    void *out[64];
    /* advance into the second lap of shard 0 */
    for (int i = 0; i < 3; i++) {
        for (uintptr_t v = 2; v <= 2 * sh->limit; v += 2)
            assert_true(ctel__span_queue_push(&q, (void *)v, &depth));
        assert_int_equal(ctel__span_queue_pop(&q, out, 64), sh->limit);
    }
    assert_true(ctel__span_queue_push(&q, (void *)100, &depth));
    atomic_fetch_add(&sh->tail, 1); /* reserved, never published */
    assert_true(ctel__span_queue_push(&q, (void *)200, &depth));
    /* the consumer stops at the gap */
    assert_int_equal(ctel__span_queue_pop(&q, out, 64), 1);
    assert_int_equal((uintptr_t)out[0], 100);
    g_abandoned_sum = g_abandoned_n = 0;
    ctel__span_queue_abandon(&q, count_abandoned);
    assert_int_equal(g_abandoned_n, 1);
    assert_int_equal(g_abandoned_sum, 200);
    assert_int_equal(ctel__span_queue_size(&q), 0);
    assert_int_equal(ctel__span_queue_pop(&q, out, 64), 0);
    for (int i = 0; i < 5; i++) {
        assert_true(ctel__span_queue_push(&q, (void *)(uintptr_t)(10 + 2 * i), &depth));
        assert_int_equal(ctel__span_queue_pop(&q, out, 64), 1);
        assert_int_equal((uintptr_t)out[0], 10 + 2 * i);
    }
    ctel__span_queue_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity_is_exact),
        cmocka_unit_test(test_fifo_per_thread_and_wraparound),
        cmocka_unit_test(test_many_producers_one_consumer),
        cmocka_unit_test(test_abandon),
    };
    return cmocka_run_group_tests_name("sdk/trace/span_queue", tests, NULL, NULL);
}
