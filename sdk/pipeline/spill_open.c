/* sdk/pipeline/spill_open.c — opening the disk spill (directory, lock,
 * cursor, scan of the segments an earlier process left) and closing it. */
#include "sdk/internal.h"

#include "sdk/pipeline/spill.h"
#include "sdk/pipeline/spill_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_BYTES (256ull << 20)
#define DEFAULT_SEGMENT_BYTES (8ull << 20)

/* CTEL_OK with the cursor, CTEL_ERR_NOT_FOUND if there is none yet,
 * CTEL_ERR_PARSE if it is unreadable or corrupt. */
static ctel_status read_cursor(ctel__spill *s, uint64_t *seq, uint64_t *off)
{
    uint8_t rec[CTEL__SPILL_CURSOR_BYTES + 1];
    ssize_t n = pread(s->cursor_fd, rec, sizeof rec, 0);
    if (n == 0)
        return CTEL_ERR_NOT_FOUND;
    if (n != CTEL__SPILL_CURSOR_BYTES || ctel__spill_get32(rec) != CTEL__SPILL_CURSOR_MAGIC ||
        ctel__spill_get32(rec + 20) != ctel__crc32c(0, rec, 20))
        return CTEL_ERR_PARSE;
    *seq = ctel__spill_get64(rec + 4);
    *off = ctel__spill_get64(rec + 12);
    return CTEL_OK;
}

static ctel_status take_lock(ctel__spill *s)
{
    s->lock_fd = openat(s->dir_fd, CTEL__SPILL_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        ctel__log(CTEL_LOG_ERROR, "spill %s: cannot open %s: %s", s->dir, CTEL__SPILL_LOCK_NAME,
                  strerror(errno));
        return CTEL_ERR_IO;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            ctel__log(CTEL_LOG_ERROR, "spill %s: cannot lock %s: %s", s->dir, CTEL__SPILL_LOCK_NAME,
                      strerror(errno));
            return CTEL_ERR_IO;
        }
        char pid[24] = {0};
        ssize_t n = pread(s->lock_fd, pid, sizeof pid - 1, 0);
        size_t digits = 0;
        while (n > 0 && digits < (size_t)n && pid[digits] >= '0' && pid[digits] <= '9')
            digits++;
        pid[digits] = '\0';
        ctel__log(CTEL_LOG_ERROR, "spill %s is in use by another spill (pid %s); not opening it",
                  s->dir, digits ? pid : "unknown");
        return CTEL_ERR_LIMIT;
    }
    char pid[24];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, pid, (size_t)len, 0) != len)
        ctel__log(CTEL_LOG_DEBUG, "spill %s: cannot write our pid into %s", s->dir,
                  CTEL__SPILL_LOCK_NAME);
    return CTEL_OK;
}

static int seg_cmp(const void *a, const void *b)
{
    uint64_t x = ((const ctel__spill_seg *)a)->seq, y = ((const ctel__spill_seg *)b)->seq;
    return x < y ? -1 : x > y;
}

static ctel_status list_segments(ctel__spill *s)
{
    int fd = fcntl(s->dir_fd, F_DUPFD_CLOEXEC, 0);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        ctel__log(CTEL_LOG_ERROR, "spill %s: cannot list the directory: %s", s->dir,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        return CTEL_ERR_IO;
    }
    ctel_status rc = CTEL_OK;
    struct dirent *e;
    while (rc == CTEL_OK && (e = readdir(d)) != NULL) {
        uint64_t seq;
        if (ctel__spill_seg_name_parse(e->d_name, &seq))
            rc = ctel__spill_segs_push(s, seq);
    }
    closedir(d);
    if (s->nsegs > 1)
        qsort(s->segs, s->nsegs, sizeof *s->segs, seg_cmp);
    return rc;
}

/* Counts the valid records of segment `g` from `from` on; corruption is
 * counted here, once. */
static ctel_status scan_segment(ctel__spill *s, ctel__spill_seg *g, int fd, uint64_t from)
{
    uint64_t off = from;
    while (off < g->size) {
        ctel__spill_rec rec;
        ctel_status rc = ctel__spill_rec_read(fd, off, g->size, &s->scratch, &rec);
        if (rc == CTEL_ERR_NO_MEMORY)
            return rc;
        if (rc == CTEL_OK) {
            g->records++;
            g->items += rec.items;
            off = rec.next;
            continue;
        }
        uint64_t next = ctel__spill_resync(fd, off, g->size, &s->scratch);
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "spill %s: segment %016" PRIx64 " has a torn or corrupt record at offset "
                         "%" PRIu64 "; skipping %" PRIu64 " bytes",
                         s->dir, g->seq, off, next - off);
        s->st.records_corrupt++;
        s->st.bytes_corrupt += next - off;
        off = next;
    }
    g->counted = true;
    return CTEL_OK;
}

/* Applies the cursor to the listed segments and counts what is on disk. */
static ctel_status load_segments(ctel__spill *s)
{
    uint64_t cseq = 0, coff = 0;
    ctel_status crc = read_cursor(s, &cseq, &coff);
    if (crc == CTEL_ERR_PARSE)
        ctel__log(CTEL_LOG_WARN,
                  "spill %s: the cursor file is corrupt; replaying from the oldest segment "
                  "(records may be delivered twice)",
                  s->dir);
    size_t keep = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        ctel__spill_seg g = s->segs[i];
        if (crc == CTEL_OK && g.seq < cseq) {
            ctel__spill_unlink_seg(s, g.seq); /* consumed; the unlink was interrupted */
            continue;
        }
        uint64_t from = 0;
        if (keep == 0 && crc == CTEL_OK && g.seq == cseq)
            from = coff;
        char name[CTEL__SPILL_SEG_NAME_MAX];
        ctel__spill_seg_name(name, g.seq);
        int fd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ctel__log(CTEL_LOG_WARN, "spill %s: ignoring %s: %s", s->dir, name,
                      fd < 0 ? strerror(errno) : "not a regular file");
            if (fd >= 0)
                close(fd);
            continue;
        }
        g.size = (uint64_t)st.st_size;
        if (from > g.size) {
            ctel__log(CTEL_LOG_WARN,
                      "spill %s: the cursor is beyond the end of %s; replaying it from the start",
                      s->dir, name);
            from = 0;
        }
        ctel_status rc = scan_segment(s, &g, fd, from);
        close(fd);
        if (rc != CTEL_OK)
            return rc;
        if (keep == 0)
            s->roff = from;
        s->st.records_on_disk += g.records;
        s->st.items_on_disk += g.items;
        s->st.bytes_on_disk += g.size;
        s->segs[keep++] = g;
    }
    s->nsegs = keep;
    uint64_t top = keep ? s->segs[keep - 1].seq : 0;
    if (crc == CTEL_OK && cseq > top)
        top = cseq;
    s->next_seq = top + 1;
    ctel__buf_free(&s->scratch);
    if (s->st.records_on_disk > 0)
        ctel__log(CTEL_LOG_INFO, "spill %s: %" PRIu64 " records (%" PRIu64 " items) to replay",
                  s->dir, s->st.records_on_disk, s->st.items_on_disk);
    return CTEL_OK;
}

void ctel__spill_close(ctel__spill *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->wfd >= 0) {
        if (fsync(s->wfd) != 0)
            ctel__log(CTEL_LOG_WARN, "spill %s: fsync failed: %s", s->dir, strerror(errno));
        ctel__spill_close_fd(&s->wfd);
    }
    if (s->cursor_fd >= 0) {
        /* Nothing is written any more: drop fully read segments so a drained
         * stream leaves no files behind. */
        while (s->nsegs > 0 && s->roff >= s->segs[0].size)
            ctel__spill_finish_front(s, false);
        ctel__spill_write_cursor(s);
        fsync(s->cursor_fd);
        ctel__spill_close_fd(&s->cursor_fd);
    }
    ctel__spill_close_fd(&s->rfd);
    ctel__spill_close_fd(&s->dir_fd);
    ctel__spill_close_fd(&s->lock_fd); /* releases the flock */
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->st_lock);
    ctel__buf_free(&s->scratch);
    ctel__free(s->segs);
    ctel__free(s->dir);
    ctel__free(s);
}

/* Frees a half-opened store without touching the cursor or segments. */
static void abandon(ctel__spill *s)
{
    ctel__spill_close_fd(&s->cursor_fd);
    ctel__spill_close(s);
}

ctel_status ctel__spill_open(const ctel__spill_options *opts, ctel__spill **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!opts || !opts->dir || !*opts->dir)
        return CTEL_ERR_INVALID_ARGUMENT;
    ctel__spill *s = ctel__calloc(1, sizeof *s);
    if (!s)
        return CTEL_ERR_NO_MEMORY;
    s->dir_fd = s->lock_fd = s->cursor_fd = s->wfd = s->rfd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->st_lock, NULL);
    s->dir = ctel__strdup(opts->dir);
    if (!s->dir) {
        abandon(s);
        return CTEL_ERR_NO_MEMORY;
    }
    s->max_bytes = opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES;
    s->segment_bytes = opts->segment_bytes ? opts->segment_bytes : DEFAULT_SEGMENT_BYTES;
    if (s->segment_bytes > s->max_bytes / 2)
        s->segment_bytes = s->max_bytes / 2 ? s->max_bytes / 2 : 1;
    s->max_age_ns =
        opts->max_age_ms > UINT64_MAX / 1000000u ? UINT64_MAX : opts->max_age_ms * 1000000u;
    s->drop_newest = opts->drop_newest;

    if (ctel__spill_mkdirs(s->dir) != CTEL_OK) {
        ctel__log(CTEL_LOG_ERROR, "spill: cannot create directory %s: %s", s->dir, strerror(errno));
        abandon(s);
        return CTEL_ERR_IO;
    }
    s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0) {
        ctel__log(CTEL_LOG_ERROR, "spill: cannot open directory %s: %s", s->dir, strerror(errno));
        abandon(s);
        return CTEL_ERR_IO;
    }
    ctel_status rc = take_lock(s);
    if (rc != CTEL_OK) {
        abandon(s);
        return rc;
    }
    s->cursor_fd = openat(s->dir_fd, CTEL__SPILL_CURSOR_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->cursor_fd < 0) {
        ctel__log(CTEL_LOG_ERROR, "spill %s: cannot open %s: %s", s->dir, CTEL__SPILL_CURSOR_NAME,
                  strerror(errno));
        abandon(s);
        return CTEL_ERR_IO;
    }
    rc = list_segments(s);
    if (rc == CTEL_OK)
        rc = load_segments(s);
    if (rc != CTEL_OK) {
        abandon(s);
        return rc;
    }
    ctel__spill_publish_stats(s); /* what the segments on disk hold */
    *out = s;
    return CTEL_OK;
}
