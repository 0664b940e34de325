/* sdk/pipeline/spill_segment.c — the disk spill's record framing and segment
 * files: encoding and checking records, resynchronising after a bad one,
 * segment names, and creating the stream directory. */
#include "sdk/internal.h"

#include "sdk/pipeline/spill_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

void ctel__spill_hdr_encode(uint8_t hdr[CTEL__SPILL_HDR], const void *payload, uint32_t len,
                            uint32_t items, uint64_t created_unix_ns)
{
    ctel__spill_put32(hdr, CTEL__SPILL_MAGIC);
    ctel__spill_put32(hdr + 4, len);
    ctel__spill_put32(hdr + 8, items);
    ctel__spill_put64(hdr + 12, created_unix_ns);
    uint32_t crc = ctel__crc32c(0, hdr + 4, 16);
    crc = ctel__crc32c(crc, payload, len);
    ctel__spill_put32(hdr + 20, crc);
}

/* pread until `len` bytes or end of file. Returns the bytes read, or -1. */
static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static void log_read_error(uint64_t off)
{
    CTEL_LOG_LIMITED(CTEL_LOG_ERROR, "spill: reading a segment at offset %" PRIu64 " failed: %s",
                     off, strerror(errno));
}

ctel_status ctel__spill_rec_read(int fd, uint64_t off, uint64_t end, ctel__buf *payload,
                                 ctel__spill_rec *rec)
{
    ctel__buf_reset(payload);
    if (off >= end || end - off < CTEL__SPILL_HDR)
        return CTEL_ERR_PARSE;
    uint8_t hdr[CTEL__SPILL_HDR];
    ssize_t n = pread_full(fd, hdr, sizeof hdr, off);
    if (n != (ssize_t)sizeof hdr) {
        if (n < 0)
            log_read_error(off);
        return CTEL_ERR_PARSE;
    }
    uint32_t len = ctel__spill_get32(hdr + 4);
    if (ctel__spill_get32(hdr) != CTEL__SPILL_MAGIC || len == 0 ||
        len > end - off - CTEL__SPILL_HDR)
        return CTEL_ERR_PARSE;
    if (ctel__buf_reserve(payload, len) != CTEL_OK)
        return CTEL_ERR_NO_MEMORY;
    n = pread_full(fd, payload->data, len, off + CTEL__SPILL_HDR);
    if (n != (ssize_t)len) {
        if (n < 0)
            log_read_error(off);
        payload->data[0] = '\0';
        return CTEL_ERR_PARSE;
    }
    payload->data[len] = '\0';
    uint32_t crc = ctel__crc32c(0, hdr + 4, 16);
    crc = ctel__crc32c(crc, payload->data, len);
    if (crc != ctel__spill_get32(hdr + 20)) {
        payload->data[0] = '\0';
        return CTEL_ERR_PARSE;
    }
    payload->len = len;
    rec->len = len;
    rec->items = ctel__spill_get32(hdr + 8);
    rec->created_unix_ns = ctel__spill_get64(hdr + 12);
    rec->next = off + CTEL__SPILL_HDR + len;
    return CTEL_OK;
}

uint64_t ctel__spill_resync(int fd, uint64_t bad_off, uint64_t end, ctel__buf *scratch)
{
    /* Scan windows of the segment for the magic; the window overlaps the
     * previous one by 3 bytes so a magic split across two reads is found. */
    enum { WINDOW = 64 * 1024 };
    uint8_t *win = ctel__malloc(WINDOW);
    if (!win)
        return end; /* no memory to search with: give up on this segment */
    uint8_t magic[4];
    ctel__spill_put32(magic, CTEL__SPILL_MAGIC);
    uint64_t pos = bad_off + 1;
    uint64_t found = end;
    while (pos + CTEL__SPILL_HDR <= end && found == end) {
        size_t want = end - pos < WINDOW ? (size_t)(end - pos) : WINDOW;
        ssize_t n = pread_full(fd, win, want, pos);
        if (n < 4) {
            if (n < 0)
                log_read_error(pos);
            break;
        }
        const uint8_t *p = win;
        size_t left = (size_t)n;
        while (left >= 4) {
            const uint8_t *m = memmem(p, left, magic, sizeof magic);
            if (!m)
                break;
            uint64_t cand = pos + (uint64_t)(m - win);
            ctel__spill_rec rec;
            if (ctel__spill_rec_read(fd, cand, end, scratch, &rec) == CTEL_OK) {
                found = cand;
                break;
            }
            left -= (size_t)(m - p) + 1;
            p = m + 1;
        }
        if ((size_t)n < want)
            break; /* the file is shorter than we thought */
        pos += (uint64_t)n - 3;
    }
    ctel__free(win);
    ctel__buf_reset(scratch);
    return found;
}

void ctel__spill_seg_name(char out[CTEL__SPILL_SEG_NAME_MAX], uint64_t seq)
{
    snprintf(out, CTEL__SPILL_SEG_NAME_MAX, "seg-%016" PRIx64 ".ctsp", seq);
}

bool ctel__spill_seg_name_parse(const char *name, uint64_t *seq)
{
    if (strncmp(name, "seg-", 4) != 0 || strlen(name) != 4 + 16 + 5 ||
        strcmp(name + 20, ".ctsp") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 4; i < 20; i++) {
        char c = name[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *seq = v;
    return true;
}

ctel_status ctel__spill_mkdirs(const char *dir)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return CTEL_ERR_IO;
    }
    /* Create each prefix ending before a '/', then the whole path. */
    for (char *p = path + 1;; p++) {
        bool last = *p == '\0';
        if (*p != '/' && !last)
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            *p = saved;
            return CTEL_ERR_IO;
        }
        *p = saved;
        if (last)
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return CTEL_ERR_IO;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return CTEL_ERR_IO;
    }
    return CTEL_OK;
}
