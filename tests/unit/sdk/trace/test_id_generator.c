/* Tests for sdk/trace/id_generator.c: IDs are non-zero, distinct and
 * uniform; each thread seeds once and makes no system call after; the
 * generation bump (ctel__id_reseed_all, a real fork) re-seeds; the seed
 * falls back to /dev/urandom and then to clocks and identity.
 *
 * getrandom() is defined below: the test executable's definition wins over
 * the C library's at link time, so the generator's calls land here, where
 * they are counted per thread and can be made to fail. */
#include "support/test_support.h"
#include "sdk/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the getrandom() seam ---------------------------------------------------- */

static _Atomic int g_getrandom_errno; /* 0: pass through; else fail with it */
static _Thread_local int t_getrandom_calls;
static _Thread_local unsigned t_getrandom_flags;

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    t_getrandom_calls++;
    t_getrandom_flags = flags;
    int e = atomic_load(&g_getrandom_errno);
    if (e) {
        errno = e;
        return -1;
    }
    return (ssize_t)syscall(SYS_getrandom, buf, len, flags);
}

/* ---- diagnostics capture (tests/support) ---------------------------------------- */

static void capture_start(void)
{
    ts_log_capture_start();
}

/* The number of warnings since capture_start(). */
static int capture_stop(void)
{
    ts_log_capture_stop();
    return (int)ts_log_warning_count();
}

/* ---- helpers ------------------------------------------------------------------- */

static int cmp64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp128(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

static bool all_distinct64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp64);
    for (size_t i = 1; i < n; i++)
        if (v[i] == v[i - 1])
            return false;
    return true;
}

static uint64_t span_id64(void)
{
    uint8_t sid[8];
    uint64_t v;
    ctel__id_span(sid);
    memcpy(&v, sid, 8);
    return v;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_ids_nonzero_and_distinct(void **state)
{
    (void)state;
    enum { N = 100000 };
    uint64_t *sids = malloc(2 * N * sizeof *sids);
    uint8_t(*tids)[16] = malloc(2 * (size_t)N * 16);
    assert_non_null(sids);
    assert_non_null(tids);
    static const uint8_t zero[16];
    for (int i = 0; i < N; i++) {
        sids[i] = span_id64();
        ctel__id_trace(tids[i]);
        uint8_t sid[8];
        ctel__id_root(tids[N + i], sid);
        memcpy(&sids[N + i], sid, 8);
        assert_true(sids[i] != 0 && sids[N + i] != 0);
        assert_memory_not_equal(tids[i], zero, 16);
        assert_memory_not_equal(tids[N + i], zero, 16);
    }
    assert_true(all_distinct64(sids, 2 * N));
    qsort(tids, 2 * N, 16, cmp128);
    for (int i = 1; i < 2 * N; i++)
        assert_memory_not_equal(tids[i], tids[i - 1], 16);
    free(sids);
    free(tids);
}

/* The ratio sampler and the W3C random flag rely on trace id bytes 9..15
 * being uniform: every one of those 56 bits must be set about half the time
 * (100k draws: one standard deviation is 0.16 %, the bound is 6). */
static void test_trace_id_random_part_is_uniform(void **state)
{
    (void)state;
    enum { N = 100000 };
    static int ones[16 * 8];
    memset(ones, 0, sizeof ones);
    for (int i = 0; i < N; i++) {
        uint8_t tid[16];
        ctel__id_trace(tid);
        for (int b = 0; b < 16 * 8; b++)
            ones[b] += (tid[b / 8] >> (b % 8)) & 1;
    }
    for (int b = 0; b < 16 * 8; b++) {
        double share = (double)ones[b] / N;
        if (share < 0.49 || share > 0.51)
            fail_msg("trace id bit %d is set in %.4f of ids", b, share);
    }
}

static void *draw_1000(void *arg)
{
    uint64_t *out = arg;
    for (int i = 0; i < 1000; i++)
        out[i] = span_id64();
    /* A fresh thread seeds exactly once, on its first ID, without blocking. */
    out[1000] = (uint64_t)t_getrandom_calls;
    out[1001] = t_getrandom_flags;
    return NULL;
}

static void test_threads_have_distinct_streams_and_seed_once(void **state)
{
    (void)state;
    enum { T = 4 };
    static uint64_t ids[T][1002];
    pthread_t th[T];
    for (int i = 0; i < T; i++)
        assert_int_equal(pthread_create(&th[i], NULL, draw_1000, ids[i]), 0);
    for (int i = 0; i < T; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    static uint64_t all[T * 1000];
    for (int i = 0; i < T; i++) {
        assert_int_equal(ids[i][1000], 1);
        assert_true(ids[i][1001] & GRND_NONBLOCK);
        memcpy(all + i * 1000, ids[i], 1000 * sizeof(uint64_t));
    }
    assert_true(all_distinct64(all, T * 1000));
}

static void test_no_system_call_after_seeding(void **state)
{
    (void)state;
    (void)span_id64(); /* seeded by now, whatever ran before */
    int before = t_getrandom_calls;
    for (int i = 0; i < 10000; i++) {
        uint8_t tid[16], sid[8];
        ctel__id_root(tid, sid);
        ctel__id_span(sid);
    }
    assert_int_equal(t_getrandom_calls, before);
}

typedef struct reseed_ctx {
    pthread_barrier_t drawn, bumped;
    int calls_before, calls_after_one, calls_after_many;
} reseed_ctx;

static void *reseed_worker(void *arg)
{
    reseed_ctx *c = arg;
    (void)span_id64();
    c->calls_before = t_getrandom_calls;
    pthread_barrier_wait(&c->drawn);
    pthread_barrier_wait(&c->bumped); /* the main thread bumps in between */
    (void)span_id64();
    c->calls_after_one = t_getrandom_calls;
    for (int i = 0; i < 100; i++)
        (void)span_id64();
    c->calls_after_many = t_getrandom_calls;
    return NULL;
}

static void test_reseed_all_reaches_every_thread_once(void **state)
{
    (void)state;
    reseed_ctx c;
    memset(&c, 0, sizeof c);
    assert_int_equal(pthread_barrier_init(&c.drawn, NULL, 2), 0);
    assert_int_equal(pthread_barrier_init(&c.bumped, NULL, 2), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reseed_worker, &c), 0);
    pthread_barrier_wait(&c.drawn);
    ctel__id_reseed_all();
    pthread_barrier_wait(&c.bumped);
    /* This thread re-seeds too. */
    int before = t_getrandom_calls;
    (void)span_id64();
    (void)span_id64();
    assert_int_equal(t_getrandom_calls, before + 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(c.calls_before, 1);
    assert_int_equal(c.calls_after_one, 2);
    assert_int_equal(c.calls_after_many, 2);
    pthread_barrier_destroy(&c.drawn);
    pthread_barrier_destroy(&c.bumped);
}

/* getrandom() failing the way it does early in boot (EAGAIN with
 * GRND_NONBLOCK), on an old kernel (ENOSYS) or under seccomp (EPERM):
 * /dev/urandom takes over quietly. */
static void test_getrandom_failure_falls_back_to_urandom(void **state)
{
    (void)state;
    static const int errs[] = {EAGAIN, ENOSYS, EPERM};
    for (size_t e = 0; e < CTEL_ARRAY_LEN(errs); e++) {
        uint64_t ids[2000];
        atomic_store(&g_getrandom_errno, errs[e]);
        capture_start();
        ctel__id_reseed_all();
        int before = t_getrandom_calls;
        for (int i = 0; i < 1000; i++)
            ids[i] = span_id64();
        int after = t_getrandom_calls;
        /* Another re-seed from /dev/urandom must start a different stream. */
        ctel__id_reseed_all();
        for (int i = 1000; i < 2000; i++)
            ids[i] = span_id64();
        int warnings = capture_stop();
        atomic_store(&g_getrandom_errno, 0);
        assert_int_equal(after, before + 1);
        assert_int_equal(warnings, 0);
        for (int i = 0; i < 2000; i++)
            assert_true(ids[i] != 0);
        assert_true(all_distinct64(ids, 2000));
    }
}

/* In a child: no getrandom(), and no file descriptor left for /dev/urandom
 * (RLIMIT_NOFILE at the lowest free descriptor). The generator must warn
 * and still hand out non-zero, distinct IDs. Writes 16 IDs to `fd`; exit
 * status 0 when all held. */
static void no_entropy_child(int fd)
{
    atomic_store(&g_getrandom_errno, ENOSYS);
    capture_start();
    int lowest = dup(0);
    if (lowest < 0)
        _exit(10);
    close(lowest);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        _exit(11);
    rl.rlim_cur = (rlim_t)lowest;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        _exit(12);
    uint64_t ids[1000];
    for (int i = 0; i < 1000; i++)
        ids[i] = span_id64();
    int warnings = capture_stop();
    ssize_t w = write(fd, ids, 16 * sizeof ids[0]);
    if (w != (ssize_t)(16 * sizeof ids[0]))
        _exit(13);
    if (warnings != 1 || !ts_log_contains("getrandom"))
        _exit(14);
    for (int i = 0; i < 1000; i++)
        if (ids[i] == 0)
            _exit(15);
    _exit(all_distinct64(ids, 1000) ? 0 : 16);
}

static void test_no_entropy_source_warns_and_stays_unique(void **state)
{
    (void)state;
    uint64_t got[2][16];
    for (int k = 0; k < 2; k++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            no_entropy_child(fds[1]);
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], got[k], sizeof got[k]), (ssize_t)sizeof got[k]);
        close(fds[0]);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    /* Two processes seeded from the fallback in quick succession still differ. */
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            assert_true(got[0][i] != got[1][j]);
}

static void test_forked_child_reseeds(void **state)
{
    (void)state;
    (void)span_id64(); /* the parent's generator is seeded before fork */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        int before = t_getrandom_calls;
        uint8_t ids[4][8], tids[4][16];
        for (int i = 0; i < 4; i++) {
            ctel__id_span(ids[i]);
            ctel__id_trace(tids[i]);
        }
        int reseeds = t_getrandom_calls - before;
        bool ok = write(fds[1], ids, sizeof ids) == (ssize_t)sizeof ids &&
                  write(fds[1], tids, sizeof tids) == (ssize_t)sizeof tids &&
                  write(fds[1], &reseeds, sizeof reseeds) == (ssize_t)sizeof reseeds;
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    uint8_t parent[4][8], child[4][8], ptids[4][16], ctids[4][16];
    for (int i = 0; i < 4; i++) {
        ctel__id_span(parent[i]);
        ctel__id_trace(ptids[i]);
    }
    int child_reseeds = -1;
    assert_int_equal(read(fds[0], child, sizeof child), (ssize_t)sizeof child);
    assert_int_equal(read(fds[0], ctids, sizeof ctids), (ssize_t)sizeof ctids);
    assert_int_equal(read(fds[0], &child_reseeds, sizeof child_reseeds),
                     (ssize_t)sizeof child_reseeds);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The child re-seeded exactly once, on its first ID... */
    assert_int_equal(child_reseeds, 1);
    /* ...so it does not replay the parent's stream. */
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            assert_memory_not_equal(parent[i], child[j], 8);
            assert_memory_not_equal(ptids[i], ctids[j], 16);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_nonzero_and_distinct),
        cmocka_unit_test(test_trace_id_random_part_is_uniform),
        cmocka_unit_test(test_threads_have_distinct_streams_and_seed_once),
        cmocka_unit_test(test_no_system_call_after_seeding),
        cmocka_unit_test(test_reseed_all_reaches_every_thread_once),
        cmocka_unit_test(test_getrandom_failure_falls_back_to_urandom),
        cmocka_unit_test(test_no_entropy_source_warns_and_stays_unique),
        cmocka_unit_test(test_forked_child_reseeds),
    };
    return cmocka_run_group_tests_name("sdk/trace/id_generator", tests, NULL, NULL);
}
