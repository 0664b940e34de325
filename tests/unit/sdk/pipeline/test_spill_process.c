/* Tests for sdk/pipeline/spill*.c across processes: a second process is
 * refused the lock, a process that dies without closing leaves its records
 * and cursor, a child whose writes fail (file size limit) truncates back. */
/* ctest-labels: no-tsan */
/* (no-tsan: these tests fork the multithreaded test process) */
#include "spill_test_util.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static void test_second_process_is_refused(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 0, 0);
    ctel__spill *s = must_open(&o);
    for (int round = 0; round < 2; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            ctel__spill *t = NULL;
            ctel_status rc = ctel__spill_open(&o, &t);
            if (rc == CTEL_OK)
                ctel__spill_close(t);
            _exit(rc);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (round == 0) {
            assert_int_equal(WEXITSTATUS(status), CTEL_ERR_LIMIT);
            ctel__spill_close(s); /* then the child may have it */
        } else {
            assert_int_equal(WEXITSTATUS(status), CTEL_OK);
        }
    }
}

/* A process killed without closing (here: _exit) leaves its records and its
 * cursor behind: the next process replays exactly what was not consumed. */
static void test_killed_process_leaves_records_and_cursor(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 1 << 20, 2048);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ctel__spill *s = NULL;
        if (ctel__spill_open(&o, &s) != CTEL_OK)
            _exit(1);
        uint8_t buf[300];
        for (uint32_t i = 0; i < 10; i++) {
            fill(buf, sizeof buf, i);
            if (ctel__spill_write(s, buf, sizeof buf, 2, ctel__now_ns()) != CTEL_OK)
                _exit(2);
        }
        ctel__buf b = CTEL__BUF_INIT;
        for (int i = 0; i < 3; i++) {
            uint32_t it;
            uint64_t tok;
            if (ctel__spill_peek(s, &b, &it, &tok) != CTEL_OK ||
                ctel__spill_consume(s, tok) != CTEL_OK)
                _exit(3);
        }
        _exit(0); /* no close: no fsync, no final cursor write */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ctel__spill *s = must_open(&o); /* the lock died with the process */
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_on_disk, 7);
    assert_int_equal(st.items_on_disk, 14);
    assert_int_equal(st.records_corrupt, 0);
    for (uint32_t i = 3; i < 10; i++)
        expect_rec(s, i, 300, 2);
    expect_empty(s);
    ctel__spill_close(s);
}

/* Run in a child: with a file size limit a write fails part way (short write,
 * then EFBIG). Returns 0 or the number of the failed check. */
static int efbig_child(const char *dir)
{
    signal(SIGXFSZ, SIG_IGN);
    ctel_set_log_handler(NULL, NULL);
    ctel_set_log_level(CTEL_LOG_NONE);
    ctel__spill_options o = opts_for(dir, 0, 0);
    ctel__spill *s = NULL;
    if (ctel__spill_open(&o, &s) != CTEL_OK)
        return 1;
    enum { LEN = 1000, REC = LEN + CTEL__SPILL_HDR };
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 3 * REC + REC / 2;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        return 2;
    uint8_t buf[LEN];
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < 3; i++) {
        fill(buf, LEN, i);
        if (ctel__spill_write(s, buf, LEN, 1, now) != CTEL_OK)
            return 3;
    }
    uint64_t seqs[4];
    if (list_segs(dir, seqs, 4) != 1)
        return 4;
    char path[256];
    seg_path(path, sizeof path, dir, seqs[0]);
    struct stat st;
    fill(buf, LEN, 3);
    /* Half the record fits under the limit: a short write. */
    if (ctel__spill_write(s, buf, LEN, 1, now) != CTEL_ERR_IO)
        return 5;
    if (stat(path, &st) != 0 || st.st_size != 3 * REC) /* truncated back */
        return 6;
    /* The limit right at the end of the segment: write() fails with EFBIG. */
    lim.rlim_cur = 3 * REC;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0 || ctel__spill_write(s, buf, LEN, 1, now) != CTEL_ERR_IO)
        return 7;
    if (stat(path, &st) != 0 || st.st_size != 3 * REC)
        return 13;
    ctel__spill_stats stats;
    ctel__spill_get_stats(s, &stats);
    if (stats.records_dropped_full != 2 || stats.items_dropped_full != 2 ||
        stats.records_written != 3 || stats.records_on_disk != 3)
        return 8;
    if (setrlimit(RLIMIT_FSIZE, &old) != 0)
        return 9;
    if (ctel__spill_write(s, buf, LEN, 1, now) != CTEL_OK) /* works again */
        return 10;
    for (uint32_t i = 0; i < 4; i++) {
        ctel__buf b = CTEL__BUF_INIT;
        uint32_t items;
        uint64_t tok;
        if (ctel__spill_peek(s, &b, &items, &tok) != CTEL_OK || b.len != LEN ||
            ctel__spill_get32((const uint8_t *)b.data) != i ||
            ctel__spill_consume(s, tok) != CTEL_OK)
            return 11;
        ctel__buf_free(&b);
    }
    ctel__spill_get_stats(s, &stats);
    if (stats.records_corrupt != 0 || stats.records_on_disk != 0)
        return 12;
    ctel__spill_close(s);
    return 0;
}

static void test_disk_refusal_truncates_and_recovers(void **state)
{
    const char *dir = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(efbig_child(dir));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The fds open right now, as a bitmap over 0..1023. */
int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)
    const struct CMUnitTest tests[] = {
        T(test_second_process_is_refused),
        T(test_killed_process_leaves_records_and_cursor),
        T(test_disk_refusal_truncates_and_recovers),
    };
#undef T
    return cmocka_run_group_tests_name("sdk/pipeline/spill_process", tests, NULL, NULL);
}
