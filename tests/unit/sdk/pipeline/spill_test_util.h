/* tests/unit/sdk/pipeline/spill_test_util.h — helpers shared by the spill
 * tests (test_spill.c: in-process; test_spill_process.c: across processes). */
#ifndef CTEL_TEST_SPILL_UTIL_H
#define CTEL_TEST_SPILL_UTIL_H

#include "support/test_support.h"

#include "sdk/internal.h"
#include "sdk/pipeline/spill.h"
#include "sdk/pipeline/spill_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOUR_NS (3600ull * 1000000000ull)

/* ---- helpers ------------------------------------------------------------------ */

static inline int setup_dir(void **state)
{
    char *dir = malloc(64);
    if (!dir)
        return -1;
    snprintf(dir, 64, "/tmp/ctel-spill-XXXXXX");
    if (!mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    ts_log_capture_start();
    return 0;
}

static inline int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline int teardown_dir(void **state)
{
    ts_log_capture_stop();
    char *dir = *state;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return 0;
}

static inline ctel__spill_options opts_for(const char *dir, uint64_t max_bytes,
                                           uint64_t segment_bytes)
{
    ctel__spill_options o = {.dir = dir, .max_bytes = max_bytes, .segment_bytes = segment_bytes};
    return o;
}

static inline ctel__spill *must_open(const ctel__spill_options *o)
{
    ctel__spill *s = NULL;
    assert_int_equal(ctel__spill_open(o, &s), CTEL_OK);
    assert_non_null(s);
    return s;
}

/* Record i: `len` bytes, the index in the first 4, a pattern after. */
static inline void fill(uint8_t *p, size_t len, uint32_t i)
{
    for (size_t k = 0; k < len; k++)
        p[k] = (uint8_t)(i * 31 + k * 7);
    if (len >= 4)
        ctel__spill_put32(p, i);
}

static inline void write_rec(ctel__spill *s, uint32_t i, size_t len, uint32_t items,
                             uint64_t created)
{
    uint8_t buf[4096];
    assert_true(len <= sizeof buf);
    fill(buf, len, i);
    assert_int_equal(ctel__spill_write(s, buf, len, items, created), CTEL_OK);
}

/* Peeks, checks it is record i (content and items), consumes it. */
static inline void expect_rec(ctel__spill *s, uint32_t i, size_t len, uint32_t items)
{
    ctel__buf b = CTEL__BUF_INIT;
    uint32_t it = 0;
    uint64_t tok = 0;
    assert_int_equal(ctel__spill_peek(s, &b, &it, &tok), CTEL_OK);
    assert_int_equal(b.len, len);
    assert_int_equal(ctel__spill_get32((const uint8_t *)b.data), i);
    uint8_t want[4096];
    fill(want, len, i);
    assert_memory_equal(b.data, want, len);
    assert_int_equal(it, items);
    assert_int_equal(ctel__spill_consume(s, tok), CTEL_OK);
    ctel__buf_free(&b);
}

static inline void expect_empty(ctel__spill *s)
{
    ctel__buf b = CTEL__BUF_INIT;
    uint32_t it = 7;
    uint64_t tok = 0;
    assert_int_equal(ctel__spill_peek(s, &b, &it, &tok), CTEL_ERR_NOT_FOUND);
    assert_int_equal(b.len, 0);
    ctel__buf_free(&b);
}

/* Sequence numbers of the segment files in `dir`, sorted; returns the count. */
static inline size_t list_segs(const char *dir, uint64_t *seqs, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t seq;
        if (ctel__spill_seg_name_parse(e->d_name, &seq) && n < cap)
            seqs[n++] = seq;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && seqs[j - 1] > seqs[j]; j--) {
            uint64_t t = seqs[j];
            seqs[j] = seqs[j - 1];
            seqs[j - 1] = t;
        }
    return n;
}

static inline void seg_path(char *out, size_t cap, const char *dir, uint64_t seq)
{
    char name[CTEL__SPILL_SEG_NAME_MAX];
    ctel__spill_seg_name(name, seq);
    snprintf(out, cap, "%s/%s", dir, name);
}

static inline off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static inline void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    uint8_t c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static inline void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* ---- CRC and framing ------------------------------------------------------------- */

#endif
