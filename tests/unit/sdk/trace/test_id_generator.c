/* Tests for sdk/trace/id_generator.c: non-zero, distinct, per-thread, and
 * different in a forked child. */
#include "support/test_support.h"
#include "sdk/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_ids_nonzero_and_distinct(void **state)
{
    (void)state;
    enum { N = 100000 };
    uint64_t *ids = malloc(N * sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        uint8_t sid[8], tid[16];
        ctel__id_span(sid);
        ctel__id_trace(tid);
        memcpy(&ids[i], sid, 8);
        assert_true(ids[i] != 0);
        uint64_t a, b;
        memcpy(&a, tid, 8);
        memcpy(&b, tid + 8, 8);
        assert_true((a | b) != 0);
    }
    qsort(ids, N, sizeof *ids, cmp64);
    for (int i = 1; i < N; i++)
        assert_true(ids[i] != ids[i - 1]);
    free(ids);
}

static void *draw(void *arg)
{
    uint64_t *out = arg;
    for (int i = 0; i < 1000; i++) {
        uint8_t sid[8];
        ctel__id_span(sid);
        memcpy(&out[i], sid, 8);
    }
    return NULL;
}

static void test_threads_have_distinct_streams(void **state)
{
    (void)state;
    static uint64_t a[1000], b[1000];
    pthread_t t1, t2;
    pthread_create(&t1, NULL, draw, a);
    pthread_create(&t2, NULL, draw, b);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    int same = 0;
    for (int i = 0; i < 1000; i++)
        same += a[i] == b[i];
    assert_int_equal(same, 0);
}

static void test_forked_child_reseeds(void **state)
{
    (void)state;
    uint8_t warm[8];
    ctel__id_span(warm); /* the parent's generator is seeded before fork */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t ids[4][8];
        for (int i = 0; i < 4; i++)
            ctel__id_span(ids[i]);
        ssize_t w = write(fds[1], ids, sizeof ids);
        _exit(w == (ssize_t)sizeof ids ? 0 : 1);
    }
    uint8_t parent[4][8], child[4][8];
    for (int i = 0; i < 4; i++)
        ctel__id_span(parent[i]);
    close(fds[1]);
    assert_int_equal(read(fds[0], child, sizeof child), (ssize_t)sizeof child);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Without a re-seed the child would replay exactly the parent's stream. */
    assert_memory_not_equal(parent, child, sizeof parent);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            assert_memory_not_equal(parent[i], child[j], 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_nonzero_and_distinct),
        cmocka_unit_test(test_threads_have_distinct_streams),
        cmocka_unit_test(test_forked_child_reseeds),
    };
    return cmocka_run_group_tests_name("sdk/trace/id_generator", tests, NULL, NULL);
}
