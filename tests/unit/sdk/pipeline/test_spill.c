/* Tests for sdk/pipeline/spill.c, spill_segment.c and spill_crc.c: the disk
 * spill store, its framing and its CRC, within one process (the tests across
 * processes are in test_spill_process.c, which does not run under TSan). */
#include "spill_test_util.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static void test_crc32c_known_values_and_hw_agrees(void **state)
{
    (void)state;
    assert_int_equal(ctel__crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(ctel__crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(ctel__crc32c_sw(0, "", 0), 0);
    uint8_t zeros[32] = {0};
    assert_int_equal(ctel__crc32c_sw(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    static uint8_t data[5000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 3));
    /* Piecewise equals whole, at every misalignment. */
    uint32_t whole = ctel__crc32c_sw(0, data, sizeof data);
    for (size_t cut = 0; cut < 20; cut++)
        assert_int_equal(
            ctel__crc32c_sw(ctel__crc32c_sw(0, data, cut), data + cut, sizeof data - cut), whole);
    if (!ctel__crc32c_hw_available()) {
        fprintf(stderr, "no SSE4.2: only the software CRC was checked\n");
        return;
    }
    assert_int_equal(ctel__crc32c_hw(0, "123456789", 9), 0xE3069283u);
    for (size_t start = 0; start < 9; start++)
        for (size_t len = 0; len + start <= sizeof data; len += 97)
            assert_int_equal(ctel__crc32c_hw(5, data + start, len),
                             ctel__crc32c_sw(5, data + start, len));
}

static void test_segment_names(void **state)
{
    (void)state;
    char name[CTEL__SPILL_SEG_NAME_MAX];
    ctel__spill_seg_name(name, 0x1234abcdull);
    assert_string_equal(name, "seg-000000001234abcd.ctsp");
    uint64_t seq = 0;
    assert_true(ctel__spill_seg_name_parse(name, &seq));
    assert_int_equal(seq, 0x1234abcdull);
    assert_false(ctel__spill_seg_name_parse("seg-000000001234ABCD.ctsp", &seq));
    assert_false(ctel__spill_seg_name_parse("seg-000000001234abc.ctsp", &seq));
    assert_false(ctel__spill_seg_name_parse("seg-000000001234abcd.ctspx", &seq));
    assert_false(ctel__spill_seg_name_parse("cursor", &seq));
}

/* ---- the store ---------------------------------------------------------------------- */

static void test_invalid_arguments(void **state)
{
    const char *dir = *state;
    ctel__spill *s = (ctel__spill *)1;
    assert_int_equal(ctel__spill_open(NULL, &s), CTEL_ERR_INVALID_ARGUMENT);
    assert_null(s);
    ctel__spill_options o = {0};
    assert_int_equal(ctel__spill_open(&o, &s), CTEL_ERR_INVALID_ARGUMENT);
    o.dir = "";
    assert_int_equal(ctel__spill_open(&o, &s), CTEL_ERR_INVALID_ARGUMENT);
    ctel__spill_close(NULL);

    /* A regular file where the directory should be. */
    char path[256];
    snprintf(path, sizeof path, "%s/file", dir);
    write_file(path, "x", 1);
    o.dir = path;
    assert_int_equal(ctel__spill_open(&o, &s), CTEL_ERR_IO);
    assert_true(ts_log_contains("cannot create directory"));

    o = opts_for(dir, 0, 0);
    s = must_open(&o);
    assert_int_equal(ctel__spill_write(s, "x", 0, 1, 0), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel__spill_write(s, NULL, 3, 1, 0), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel__spill_consume(s, 12345), CTEL_ERR_INVALID_ARGUMENT);
    expect_empty(s);
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_written, 0);
    /* refused, and counted: nothing handed to the spill goes uncounted */
    assert_int_equal(st.records_refused, 2);
    assert_int_equal(st.items_refused, 2);
    assert_int_equal(st.records_dropped_full, 2);
    ctel__spill_close(s);
}

static void test_creates_nested_directory_0700(void **state)
{
    const char *dir = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    ctel__spill_options o = opts_for(path, 0, 0);
    ctel__spill *s = must_open(&o);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    write_rec(s, 1, 10, 1, ctel__now_ns());
    expect_rec(s, 1, 10, 1);
    ctel__spill_close(s);
}

static void test_order_across_segments(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 1 << 20, 4096);
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < 50; i++)
        write_rec(s, i, 300 + i, i + 1, now);
    uint64_t seqs[64];
    size_t nseg = list_segs(dir, seqs, 64);
    assert_true(nseg >= 4);
    for (size_t k = 1; k < nseg; k++)
        assert_int_equal(seqs[k], seqs[k - 1] + 1);

    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_written, 50);
    assert_int_equal(st.items_written, 50 * 51 / 2);
    assert_int_equal(st.records_on_disk, 50);
    assert_int_equal(st.items_on_disk, 50 * 51 / 2);
    uint64_t framed = 0;
    for (uint32_t i = 0; i < 50; i++)
        framed += CTEL__SPILL_HDR + 300 + i;
    assert_int_equal(st.bytes_written, framed);
    assert_int_equal(st.bytes_on_disk, framed);

    for (uint32_t i = 0; i < 50; i++) {
        expect_rec(s, i, 300 + i, i + 1);
        if (i == 24) { /* fully read segments are deleted as the reader leaves them */
            uint64_t now_segs[64];
            assert_true(list_segs(dir, now_segs, 64) < nseg);
        }
    }
    expect_empty(s);
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_replayed, 50);
    assert_int_equal(st.items_replayed, 50 * 51 / 2);
    assert_int_equal(st.records_on_disk, 0);
    assert_int_equal(st.items_on_disk, 0);
    assert_int_equal(st.records_corrupt, 0);
    assert_int_equal(list_segs(dir, seqs, 64), 1); /* the one being written */
    ctel__spill_close(s);
    assert_int_equal(list_segs(dir, seqs, 64), 0); /* drained: nothing left */
}

static void test_peek_twice_returns_the_same(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 0, 0);
    ctel__spill *s = must_open(&o);
    write_rec(s, 1, 100, 5, ctel__now_ns());
    write_rec(s, 2, 200, 6, ctel__now_ns());
    ctel__buf a = CTEL__BUF_INIT, b = CTEL__BUF_INIT;
    uint32_t ia = 0, ib = 0;
    uint64_t ta = 0, tb = 0;
    assert_int_equal(ctel__spill_peek(s, &a, &ia, &ta), CTEL_OK);
    assert_int_equal(ctel__spill_peek(s, &b, &ib, &tb), CTEL_OK);
    assert_int_equal(ta, tb);
    assert_int_equal(ia, 5);
    assert_int_equal(ib, 5);
    assert_int_equal(a.len, 100);
    assert_int_equal(b.len, 100);
    assert_memory_equal(a.data, b.data, 100);
    assert_int_equal(ctel__spill_consume(s, ta + 1), CTEL_ERR_INVALID_ARGUMENT);
    assert_int_equal(ctel__spill_consume(s, ta), CTEL_OK);
    assert_int_equal(ctel__spill_consume(s, ta), CTEL_ERR_INVALID_ARGUMENT); /* already */
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_replayed, 1);
    assert_int_equal(st.items_replayed, 5);
    assert_int_equal(st.records_on_disk, 1);
    expect_rec(s, 2, 200, 6);
    ctel__buf_free(&a);
    ctel__buf_free(&b);
    ctel__spill_close(s);
}

static void test_restart_replays_exactly_the_unconsumed(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 1 << 20, 2048);
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < 20; i++)
        write_rec(s, i, 250, 2, now);
    for (uint32_t i = 0; i < 7; i++)
        expect_rec(s, i, 250, 2);
    ctel__spill_close(s);
    uint64_t seqs[64];
    size_t n = list_segs(dir, seqs, 64);
    assert_true(n >= 2);
    uint64_t top = seqs[n - 1];

    s = must_open(&o);
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_on_disk, 13);
    assert_int_equal(st.items_on_disk, 26);
    assert_int_equal(st.records_corrupt, 0);
    assert_true(ts_log_contains("13 records (26 items) to replay"));
    /* New records go to a new segment numbered after the existing ones. */
    write_rec(s, 100, 250, 1, now);
    n = list_segs(dir, seqs, 64);
    assert_int_equal(seqs[n - 1], top + 1);
    for (uint32_t i = 7; i < 10; i++)
        expect_rec(s, i, 250, 2);
    ctel__spill_close(s);

    s = must_open(&o);
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_on_disk, 11);
    for (uint32_t i = 10; i < 20; i++)
        expect_rec(s, i, 250, 2);
    expect_rec(s, 100, 250, 1);
    expect_empty(s);
    ctel__spill_close(s);
    assert_int_equal(list_segs(dir, seqs, 64), 0);

    /* Still monotonic after a full drain: the cursor remembers the sequence. */
    s = must_open(&o);
    write_rec(s, 200, 10, 1, now);
    n = list_segs(dir, seqs, 64);
    assert_int_equal(n, 1);
    assert_true(seqs[0] > top + 1);
    ctel__spill_close(s);
    s = must_open(&o);
    expect_rec(s, 200, 10, 1);
    expect_empty(s);
    ctel__spill_close(s);
}

/* 232-byte payloads make 256-byte records: 8 per 2 KiB segment, 32 in 8 KiB. */
#define REC_PAYLOAD 232
#define REC_BYTES (REC_PAYLOAD + CTEL__SPILL_HDR)

static void test_full_drops_oldest_segments(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 8192, 2048);
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < 100; i++) {
        write_rec(s, i, REC_PAYLOAD, 3, now);
        ctel__spill_stats st;
        ctel__spill_get_stats(s, &st);
        assert_true(st.bytes_on_disk <= 8192);
    }
    /* Segments of 8 records; starting the 5th..13th dropped the 1st..9th. */
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_written, 100);
    assert_int_equal(st.records_dropped_full, 72);
    assert_int_equal(st.items_dropped_full, 216);
    assert_int_equal(st.records_refused, 0); /* old records made room: every write landed */
    assert_int_equal(st.records_on_disk, 28);
    assert_int_equal(st.items_on_disk, 84);
    assert_int_equal(st.bytes_on_disk, 28 * REC_BYTES);
    assert_true(ts_log_contains("dropping its oldest segment"));
    for (uint32_t i = 72; i < 100; i++)
        expect_rec(s, i, REC_PAYLOAD, 3);
    expect_empty(s);
    ctel__spill_close(s);
}

static void test_full_drops_the_segment_being_read(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 8192, 2048);
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < 32; i++)
        write_rec(s, i, REC_PAYLOAD, 3, now);
    for (uint32_t i = 0; i < 3; i++)
        expect_rec(s, i, REC_PAYLOAD, 3);
    ctel__buf b = CTEL__BUF_INIT;
    uint32_t it;
    uint64_t tok;
    assert_int_equal(ctel__spill_peek(s, &b, &it, &tok), CTEL_OK); /* record 3, in flight */
    write_rec(s, 32, REC_PAYLOAD, 3, now); /* drops segment 1 with records 3..7 */
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_dropped_full, 5);
    assert_int_equal(st.items_dropped_full, 15);
    assert_int_equal(st.records_on_disk, 25);
    /* The peeked record is gone: its token no longer consumes anything. */
    assert_int_equal(ctel__spill_consume(s, tok), CTEL_ERR_INVALID_ARGUMENT);
    for (uint32_t i = 8; i <= 32; i++)
        expect_rec(s, i, REC_PAYLOAD, 3);
    expect_empty(s);
    ctel__spill_close(s);

    /* The cursor pointed into the dropped segment: a restart is still right. */
    s = must_open(&o);
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_on_disk, 0);
    ctel__buf_free(&b);
    ctel__spill_close(s);
}

static void test_drop_newest_refuses_and_counts(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 8192, 2048);
    o.drop_newest = true;
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < 32; i++)
        write_rec(s, i, REC_PAYLOAD, 3, now);
    uint8_t buf[REC_PAYLOAD];
    fill(buf, sizeof buf, 99);
    assert_int_equal(ctel__spill_write(s, buf, sizeof buf, 4, now), CTEL_ERR_LIMIT);
    assert_int_equal(ctel__spill_write(s, buf, 1, 4, now), CTEL_ERR_LIMIT);
    /* Bigger than max_bytes: refused whatever the mode. */
    static uint8_t huge[9000];
    assert_int_equal(ctel__spill_write(s, huge, sizeof huge, 10, now), CTEL_ERR_LIMIT);
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_dropped_full, 3);
    assert_int_equal(st.items_dropped_full, 18);
    assert_int_equal(st.records_refused, 3);
    assert_int_equal(st.items_refused, 18);
    assert_int_equal(st.records_written, 32);
    assert_int_equal(st.records_on_disk, 32);
    /* Reading out a whole segment frees its space. */
    for (uint32_t i = 0; i < 8; i++)
        expect_rec(s, i, REC_PAYLOAD, 3);
    write_rec(s, 32, REC_PAYLOAD, 3, now);
    for (uint32_t i = 8; i <= 32; i++)
        expect_rec(s, i, REC_PAYLOAD, 3);
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_dropped_full, 3);
    assert_int_equal(st.records_replayed, 33);
    ctel__spill_close(s);
}

static void test_age_limit_drops_old_records(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 0, 0);
    o.max_age_ms = 60 * 1000;
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    write_rec(s, 0, 50, 2, now - HOUR_NS);
    write_rec(s, 1, 50, 3, now - 2 * HOUR_NS);
    write_rec(s, 2, 50, 4, now);
    write_rec(s, 3, 50, 5, now - HOUR_NS);
    write_rec(s, 4, 50, 6, now + 1000); /* a clock a little ahead: not old */
    expect_rec(s, 2, 50, 4);
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_dropped_age, 2);
    assert_int_equal(st.items_dropped_age, 5);
    expect_rec(s, 4, 50, 6);
    expect_empty(s);
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_dropped_age, 3);
    assert_int_equal(st.items_dropped_age, 10);
    assert_int_equal(st.records_replayed, 2);
    assert_int_equal(st.records_on_disk, 0);
    assert_int_equal(st.items_on_disk, 0);
    ctel__spill_close(s);
}

static void test_torn_tail_is_counted_and_earlier_records_intact(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 0, 0);
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < 10; i++)
        write_rec(s, i, 500, 1, now);
    ctel__spill_close(s);
    uint64_t seqs[4];
    assert_int_equal(list_segs(dir, seqs, 4), 1);
    char path[256];
    seg_path(path, sizeof path, dir, seqs[0]);
    off_t size = file_size(path);
    assert_int_equal(size, 10 * (500 + CTEL__SPILL_HDR));
    /* What a kill -9 in the middle of the 10th write leaves. */
    assert_int_equal(truncate(path, size - 100), 0);

    s = must_open(&o);
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_on_disk, 9);
    assert_int_equal(st.items_on_disk, 9);
    assert_int_equal(st.records_corrupt, 1);
    assert_int_equal(st.bytes_corrupt, 500 + CTEL__SPILL_HDR - 100);
    write_rec(s, 10, 500, 1, now); /* goes to a new segment */
    for (uint32_t i = 0; i < 9; i++)
        expect_rec(s, i, 500, 1);
    expect_rec(s, 10, 500, 1);
    expect_empty(s);
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_corrupt, 1); /* not counted again by the reader */
    assert_int_equal(st.records_on_disk, 0);
    ctel__spill_close(s);

    /* A torn header (fewer than 24 bytes) is the same story. */
    s = must_open(&o);
    write_rec(s, 11, 500, 1, now);
    ctel__spill_close(s);
    assert_int_equal(list_segs(dir, seqs, 4), 1);
    seg_path(path, sizeof path, dir, seqs[0]);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "CTSP\x10\x00", 6), 6);
    close(fd);
    s = must_open(&o);
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_on_disk, 1);
    assert_int_equal(st.records_corrupt, 1);
    assert_int_equal(st.bytes_corrupt, 6);
    expect_rec(s, 11, 500, 1);
    expect_empty(s);
    ctel__spill_close(s);
}

/* The reader resynchronises: after a corrupt record it scans for the next
 * magic whose record has a valid CRC, so the rest of the segment survives. */
static void test_corrupt_middle_record_is_skipped_and_resynced(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 0, 0);
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < 10; i++)
        write_rec(s, i, 400, 2, now);
    ctel__spill_close(s);
    uint64_t seqs[4];
    assert_int_equal(list_segs(dir, seqs, 4), 1);
    char path[256];
    seg_path(path, sizeof path, dir, seqs[0]);
    const off_t rec = 400 + CTEL__SPILL_HDR;
    flip_byte(path, 5 * rec + CTEL__SPILL_HDR + 123); /* record 5's payload */
    flip_byte(path, 8 * rec + 1);                     /* record 8's magic */

    s = must_open(&o);
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_on_disk, 8);
    assert_int_equal(st.items_on_disk, 16);
    assert_int_equal(st.records_corrupt, 2);
    assert_int_equal(st.bytes_corrupt, 2 * rec);
    for (uint32_t i = 0; i < 10; i++)
        if (i != 5 && i != 8)
            expect_rec(s, i, 400, 2);
    expect_empty(s);
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_corrupt, 2);
    assert_int_equal(st.records_replayed, 8);
    ctel__spill_close(s);
}

/* Corruption appearing under a running store (a segment already closed for
 * writing) is found by the reader, counted once, and leaves the counts right. */
static void test_corruption_found_while_running(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 1 << 20, 4096);
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < 12; i++) /* 1000-byte records: 4 per segment */
        write_rec(s, i, 1000 - CTEL__SPILL_HDR, 1, now);
    uint64_t seqs[8];
    assert_int_equal(list_segs(dir, seqs, 8), 3);
    char path[256];
    seg_path(path, sizeof path, dir, seqs[0]);
    flip_byte(path, 1000 + 500); /* record 1 */
    seg_path(path, sizeof path, dir, seqs[1]);
    flip_byte(path, 3 * 1000 + 30); /* record 7, the last of its segment */
    for (uint32_t i = 0; i < 12; i++)
        if (i != 1 && i != 7)
            expect_rec(s, i, 1000 - CTEL__SPILL_HDR, 1);
    expect_empty(s);
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_corrupt, 2);
    assert_int_equal(st.bytes_corrupt, 2000);
    assert_int_equal(st.records_replayed, 10);
    assert_int_equal(st.records_on_disk, 0);
    assert_int_equal(st.items_on_disk, 0);
    ctel__spill_close(s);
}

static void test_garbage_file_named_like_a_segment(void **state)
{
    const char *dir = *state;
    char path[256];
    uint8_t junk[1000];
    memset(junk, 0xab, sizeof junk);
    seg_path(path, sizeof path, dir, 7);
    write_file(path, junk, sizeof junk);
    snprintf(path, sizeof path, "%s/seg-zz.ctsp", dir); /* not a segment name: ignored */
    write_file(path, junk, 10);
    snprintf(path, sizeof path, "%s/seg-0000000000000003.ctsp", dir); /* a directory */
    assert_int_equal(mkdir(path, 0700), 0);

    ctel__spill_options o = opts_for(dir, 0, 0);
    ctel__spill *s = must_open(&o);
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_on_disk, 0);
    assert_int_equal(st.records_corrupt, 1);
    assert_int_equal(st.bytes_corrupt, 1000);
    assert_int_equal(st.bytes_on_disk, 1000);
    write_rec(s, 1, 64, 1, ctel__now_ns());
    uint64_t seqs[4];
    assert_int_equal(list_segs(dir, seqs, 4), 3);
    assert_int_equal(seqs[2], 8); /* after the highest existing one */
    expect_rec(s, 1, 64, 1);
    expect_empty(s);
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_corrupt, 1);
    ctel__spill_close(s);
    snprintf(path, sizeof path, "%s/seg-zz.ctsp", dir);
    assert_int_equal(access(path, F_OK), 0);
    seg_path(path, sizeof path, dir, 7);
    assert_int_equal(access(path, F_OK), -1); /* read past, so deleted */
}

static void test_corrupt_cursor_replays_from_oldest(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 1 << 20, 2048);
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < 10; i++)
        write_rec(s, i, 300, 1, now);
    for (uint32_t i = 0; i < 4; i++) /* still within the first segment */
        expect_rec(s, i, 300, 1);
    ctel__spill_close(s);
    char path[256];
    snprintf(path, sizeof path, "%s/cursor", dir);
    assert_int_equal(file_size(path), 24);
    flip_byte(path, 7);

    s = must_open(&o);
    assert_true(ts_log_contains("cursor file is corrupt"));
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_on_disk, 10); /* duplicates, never loss */
    for (uint32_t i = 0; i < 10; i++)
        expect_rec(s, i, 300, 1);
    expect_empty(s);
    ctel__spill_close(s);

    /* A cursor of the wrong size is corrupt too. */
    s = must_open(&o);
    write_rec(s, 20, 300, 1, now);
    ctel__spill_close(s);
    write_file(path, "garbage", 7);
    s = must_open(&o);
    expect_rec(s, 20, 300, 1);
    ctel__spill_close(s);
}

static void test_second_open_is_refused(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 0, 0);
    ctel__spill *s = must_open(&o);
    ctel__spill *t = NULL;
    assert_int_equal(ctel__spill_open(&o, &t), CTEL_ERR_LIMIT);
    assert_null(t);
    char pid[64];
    snprintf(pid, sizeof pid, "in use by another spill (pid %ld)", (long)getpid());
    assert_true(ts_log_contains(pid));
    ctel__spill_close(s);
    t = must_open(&o); /* released by close */
    ctel__spill_close(t);
}

static void open_fds(bool *fds)
{
    for (int fd = 0; fd < 1024; fd++)
        fds[fd] = fcntl(fd, F_GETFD) >= 0;
}

static void test_fds_are_cloexec_and_released(void **state)
{
    const char *dir = *state;
    static bool before[1024], during[1024], after[1024];
    open_fds(before);
    ctel__spill_options o = opts_for(dir, 1 << 20, 2048);
    ctel__spill *s = must_open(&o);
    for (uint32_t i = 0; i < 20; i++)
        write_rec(s, i, 300, 1, ctel__now_ns());
    ctel__buf b = CTEL__BUF_INIT;
    uint32_t it;
    uint64_t tok;
    assert_int_equal(ctel__spill_peek(s, &b, &it, &tok), CTEL_OK); /* opens the reader */
    open_fds(during);
    int added = 0;
    for (int fd = 0; fd < 1024; fd++) {
        if (during[fd] && !before[fd]) {
            added++;
            assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        }
    }
    assert_true(added >= 4); /* directory, LOCK, cursor, writer, reader */
    ctel__buf_free(&b);
    ctel__spill_close(s);
    open_fds(after);
    assert_memory_equal(before, after, sizeof before);
}

static void test_record_bigger_than_a_segment(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 16384, 1024);
    ctel__spill *s = must_open(&o);
    uint64_t now = ctel__now_ns();
    write_rec(s, 0, 100, 1, now);
    write_rec(s, 1, 3000, 2, now); /* alone in a segment of its own */
    write_rec(s, 2, 100, 3, now);
    uint64_t seqs[8];
    assert_int_equal(list_segs(dir, seqs, 8), 3);
    expect_rec(s, 0, 100, 1);
    expect_rec(s, 1, 3000, 2);
    expect_rec(s, 2, 100, 3);
    expect_empty(s);
    ctel__spill_close(s);
}

/* ---- threads ------------------------------------------------------------------------------ */

#define THREAD_RECORDS 3000

static void *writer_main(void *arg)
{
    ctel__spill *s = arg;
    uint8_t buf[600];
    for (uint32_t i = 0; i < THREAD_RECORDS; i++) {
        size_t len = 16 + (i * 37) % (sizeof buf - 16);
        fill(buf, len, i);
        if (ctel__spill_write(s, buf, len, i % 7 + 1, ctel__now_ns()) != CTEL_OK)
            return (void *)1;
    }
    return NULL;
}

static void test_two_threads_write_and_read(void **state)
{
    const char *dir = *state;
    ctel__spill_options o = opts_for(dir, 64 << 20, 8192);
    ctel__spill *s = must_open(&o);
    pthread_t w;
    assert_int_equal(pthread_create(&w, NULL, writer_main, s), 0);
    ctel__buf b = CTEL__BUF_INIT;
    uint32_t next = 0;
    uint64_t items = 0;
    while (next < THREAD_RECORDS) {
        uint32_t it;
        uint64_t tok;
        ctel_status rc = ctel__spill_peek(s, &b, &it, &tok);
        if (rc == CTEL_ERR_NOT_FOUND) {
            sched_yield();
            continue;
        }
        assert_int_equal(rc, CTEL_OK);
        assert_int_equal(ctel__spill_get32((const uint8_t *)b.data), next);
        assert_int_equal(b.len, 16 + (next * 37) % (600 - 16));
        assert_int_equal(it, next % 7 + 1);
        assert_int_equal(ctel__spill_consume(s, tok), CTEL_OK);
        items += it;
        next++;
    }
    void *ret = (void *)2;
    pthread_join(w, &ret);
    assert_null(ret);
    expect_empty(s);
    ctel__spill_stats st;
    ctel__spill_get_stats(s, &st);
    assert_int_equal(st.records_written, THREAD_RECORDS);
    assert_int_equal(st.records_replayed, THREAD_RECORDS);
    assert_int_equal(st.items_replayed, items);
    assert_int_equal(st.records_on_disk, 0);
    assert_int_equal(st.records_corrupt, 0);
    ctel__buf_free(&b);
    ctel__spill_close(s);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_values_and_hw_agrees),
        cmocka_unit_test(test_segment_names),
        T(test_invalid_arguments),
        T(test_creates_nested_directory_0700),
        T(test_order_across_segments),
        T(test_peek_twice_returns_the_same),
        T(test_restart_replays_exactly_the_unconsumed),
        T(test_full_drops_oldest_segments),
        T(test_full_drops_the_segment_being_read),
        T(test_drop_newest_refuses_and_counts),
        T(test_age_limit_drops_old_records),
        T(test_torn_tail_is_counted_and_earlier_records_intact),
        T(test_corrupt_middle_record_is_skipped_and_resynced),
        T(test_corruption_found_while_running),
        T(test_garbage_file_named_like_a_segment),
        T(test_corrupt_cursor_replays_from_oldest),
        T(test_second_open_is_refused),
        T(test_fds_are_cloexec_and_released),
        T(test_record_bigger_than_a_segment),
        T(test_two_threads_write_and_read),
    };
#undef T
    return cmocka_run_group_tests_name("sdk/pipeline/spill", tests, NULL, NULL);
}
