/* tests/fuzz/fuzz_spill.c — a spill directory an earlier process left, with
 * a segment file of arbitrary bytes (torn writes, bit rot, another
 * program's file) and, when the first input byte is odd, a cursor file
 * made of the next 24 bytes. Opening must scan it without crashing; replay
 * must end (every record peeked is consumed, corrupt stretches skipped);
 * the counters must stay sane; and the spill must still take and give back
 * a new record. */
#include "fuzz_util.h"

#include "sdk/pipeline/spill.h"
#include "sdk/pipeline/spill_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

static void write_file(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(write(fd, data, len) == (ssize_t)len);
    close(fd);
}

/* The spill directory holds plain files only (LOCK, cursor, segments). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    FUZZ_CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            FUZZ_CHECK(unlinkat(dirfd(d), e->d_name, 0) == 0);
    }
    closedir(d);
    FUZZ_CHECK(rmdir(dir) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet_diagnostics();
    char dir[] = "/tmp/ctel-fuzz-spill-XXXXXX";
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    if (size > 0 && (data[0] & 1) && size >= 1 + CTEL__SPILL_CURSOR_BYTES) {
        write_file(dir, CTEL__SPILL_CURSOR_NAME, data + 1, CTEL__SPILL_CURSOR_BYTES);
        data += 1 + CTEL__SPILL_CURSOR_BYTES;
        size -= 1 + CTEL__SPILL_CURSOR_BYTES;
    }
    char seg[CTEL__SPILL_SEG_NAME_MAX];
    ctel__spill_seg_name(seg, 1);
    write_file(dir, seg, data, size);

    ctel__spill_options o = {.dir = dir, .max_bytes = 1u << 20, .segment_bytes = 1u << 16};
    ctel__spill *s = NULL;
    ctel_status rc = ctel__spill_open(&o, &s);
    FUZZ_CHECK(rc == CTEL_OK || rc == CTEL_ERR_NO_MEMORY);
    if (rc == CTEL_OK) {
        ctel__spill_stats st;
        ctel__spill_get_stats(s, &st);
        /* what the scan counted can only come from the bytes given */
        FUZZ_CHECK(st.records_on_disk <= size / CTEL__SPILL_HDR + 1);
        FUZZ_CHECK(st.bytes_on_disk <= size);
        ctel__buf b = CTEL__BUF_INIT;
        uint32_t items;
        uint64_t token;
        size_t replayed = 0;
        while (ctel__spill_peek(s, &b, &items, &token) == CTEL_OK) {
            FUZZ_CHECK(b.len > 0 && b.len <= size);
            FUZZ_CHECK(ctel__spill_consume(s, token) == CTEL_OK);
            FUZZ_CHECK(++replayed <= size / CTEL__SPILL_HDR + 1);
        }
        ctel__spill_get_stats(s, &st);
        FUZZ_CHECK(st.records_on_disk == 0);
        FUZZ_CHECK(st.items_on_disk < (1ull << 40)); /* no wrap below zero */
        /* still usable */
        FUZZ_CHECK(ctel__spill_write(s, "after", 5, 7, 1) == CTEL_OK);
        FUZZ_CHECK(ctel__spill_peek(s, &b, &items, &token) == CTEL_OK);
        FUZZ_CHECK(items == 7 && b.len == 5 && !memcmp(b.data, "after", 5));
        FUZZ_CHECK(ctel__spill_consume(s, token) == CTEL_OK);
        ctel__buf_free(&b);
        ctel__spill_close(s);
    }
    remove_dir(dir);
    return 0;
}
