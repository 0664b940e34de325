/* sdk/pipeline/spill.c — the disk spill store (see spill.h): a directory of
 * append-only segments, read oldest first through a persisted cursor.
 *
 * Invariants, all under s->mu:
 *   - segs[] is sorted by sequence; the reader is always in segs[0], at roff
 *     (segments before the reader are deleted as soon as it leaves them);
 *   - when wfd >= 0 it is open on segs[nsegs - 1], the segment being written;
 *     segments found at open are never appended to (their tails may be torn);
 *   - segs[i].size is the end of the bytes readers may look at (whole records
 *     as far as we know) and sums to bytes_on_disk;
 *   - segs[i].records/items are the valid records not yet read, and sum to
 *     records_on_disk/items_on_disk.
 * Corruption found when opening is counted then; the reader later skips the
 * same bytes silently (seg.counted) so nothing is counted twice. */
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
#include <sys/uio.h>
#include <unistd.h>

#define DEFAULT_MAX_BYTES (256ull << 20)
#define DEFAULT_SEGMENT_BYTES (8ull << 20)
#define CURSOR_NAME "cursor"
#define LOCK_NAME "LOCK"
/* cursor file: magic u32 | segment seq u64 | offset u64 | CRC-32C of the
 * first 20 bytes u32, rewritten in place with one pwrite. */
#define CURSOR_MAGIC 0x52435443u /* "CTCR" on disk */
#define CURSOR_BYTES 24
/* Start writeback of the segment being written every this many bytes, so the
 * fsync at rotation finds little left to do and the disk works while we
 * write (without it, writing stalls for the whole segment at every fsync). */
#define WRITEBACK_BYTES (1u << 20)

typedef struct seg {
    uint64_t seq;
    uint64_t size;
    uint64_t records; /* unread valid records */
    uint64_t items;
    bool counted; /* scanned at open: its corruption is already in the stats */
} seg;

struct ctel__spill {
    pthread_mutex_t mu;
    char *dir;
    uint64_t max_bytes, segment_bytes, max_age_ns;
    bool drop_newest;
    int dir_fd, lock_fd, cursor_fd;
    seg *segs;
    size_t nsegs, cap_segs;
    uint64_t next_seq;
    int wfd;
    uint64_t wsynced; /* bytes of the segment being written handed to writeback */
    int rfd;          /* open on segs[0] (rfd_seq) or -1 */
    uint64_t rfd_seq;
    uint64_t roff;    /* next unread byte of segs[0] */
    bool peek_valid;  /* the last peek: record at (peek_seq, peek_off) */
    uint64_t peek_seq, peek_off, peek_next, token, token_counter;
    uint32_t peek_items;
    ctel__buf scratch;
    ctel__spill_stats st;
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static bool is_writing(const ctel__spill *s, size_t i)
{
    return s->wfd >= 0 && i + 1 == s->nsegs;
}

static ctel_status segs_push(ctel__spill *s, uint64_t seq)
{
    if (s->nsegs == s->cap_segs) {
        size_t cap = s->cap_segs ? s->cap_segs * 2 : 16;
        seg *p = ctel__realloc(s->segs, cap * sizeof *p);
        if (!p)
            return CTEL_ERR_NO_MEMORY;
        s->segs = p;
        s->cap_segs = cap;
    }
    s->segs[s->nsegs++] = (seg){.seq = seq};
    return CTEL_OK;
}

static void unlink_seg(ctel__spill *s, uint64_t seq)
{
    char name[CTEL__SPILL_SEG_NAME_MAX];
    ctel__spill_seg_name(name, seq);
    if (unlinkat(s->dir_fd, name, 0) != 0 && errno != ENOENT)
        CTEL_LOG_LIMITED(CTEL_LOG_WARN, "spill %s: cannot delete %s: %s", s->dir, name,
                         strerror(errno));
}

/* Removes segs[0] (fully read, or dropped when `dropped`) from the list and
 * the disk; the reader moves to the start of the next segment. Unread records
 * left in a fully read segment are ones lost to corruption (already counted
 * as corrupt), so they just leave the on-disk counts. */
static void finish_front(ctel__spill *s, bool dropped)
{
    seg g = s->segs[0];
    if (dropped) {
        s->st.records_dropped_full += g.records;
        s->st.items_dropped_full += g.items;
    }
    s->st.records_on_disk -= g.records;
    s->st.items_on_disk -= g.items;
    s->st.bytes_on_disk -= g.size;
    close_fd(&s->rfd);
    unlink_seg(s, g.seq);
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
    s->nsegs--;
    s->roff = 0;
    s->peek_valid = false;
}

/* One valid record of segs[0] was read (replayed or dropped for age). */
static void take_front_record(ctel__spill *s, uint32_t items)
{
    seg *g = &s->segs[0];
    if (g->records > 0) {
        g->records--;
        s->st.records_on_disk--;
    }
    uint64_t it = items <= g->items ? items : g->items;
    g->items -= it;
    s->st.items_on_disk -= it;
}

static void write_cursor(ctel__spill *s)
{
    uint8_t rec[CURSOR_BYTES] = {0};
    ctel__spill_put32(rec, CURSOR_MAGIC);
    ctel__spill_put64(rec + 4, s->nsegs ? s->segs[0].seq : s->next_seq);
    ctel__spill_put64(rec + 12, s->nsegs ? s->roff : 0);
    ctel__spill_put32(rec + 20, ctel__crc32c(0, rec, 20));
    ssize_t n = pwrite(s->cursor_fd, rec, sizeof rec, 0);
    if (n != (ssize_t)sizeof rec)
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "spill %s: cannot write the cursor (%s); records may be replayed twice",
                         s->dir, n < 0 ? strerror(errno) : "short write");
}

/* CTEL_OK with the cursor, CTEL_ERR_NOT_FOUND if there is none yet,
 * CTEL_ERR_PARSE if it is unreadable or corrupt. */
static ctel_status read_cursor(ctel__spill *s, uint64_t *seq, uint64_t *off)
{
    uint8_t rec[CURSOR_BYTES + 1];
    ssize_t n = pread(s->cursor_fd, rec, sizeof rec, 0);
    if (n == 0)
        return CTEL_ERR_NOT_FOUND;
    if (n != CURSOR_BYTES || ctel__spill_get32(rec) != CURSOR_MAGIC ||
        ctel__spill_get32(rec + 20) != ctel__crc32c(0, rec, 20))
        return CTEL_ERR_PARSE;
    *seq = ctel__spill_get64(rec + 4);
    *off = ctel__spill_get64(rec + 12);
    return CTEL_OK;
}

static ctel_status take_lock(ctel__spill *s)
{
    s->lock_fd = openat(s->dir_fd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        ctel__log(CTEL_LOG_ERROR, "spill %s: cannot open %s: %s", s->dir, LOCK_NAME,
                  strerror(errno));
        return CTEL_ERR_IO;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            ctel__log(CTEL_LOG_ERROR, "spill %s: cannot lock %s: %s", s->dir, LOCK_NAME,
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
        ctel__log(CTEL_LOG_DEBUG, "spill %s: cannot write our pid into %s", s->dir, LOCK_NAME);
    return CTEL_OK;
}

static int seg_cmp(const void *a, const void *b)
{
    uint64_t x = ((const seg *)a)->seq, y = ((const seg *)b)->seq;
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
            rc = segs_push(s, seq);
    }
    closedir(d);
    if (s->nsegs > 1)
        qsort(s->segs, s->nsegs, sizeof *s->segs, seg_cmp);
    return rc;
}

/* Counts the valid records of segment `g` from `from` on; corruption is
 * counted here, once. */
static ctel_status scan_segment(ctel__spill *s, seg *g, int fd, uint64_t from)
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
        seg g = s->segs[i];
        if (crc == CTEL_OK && g.seq < cseq) {
            unlink_seg(s, g.seq); /* consumed; the unlink was interrupted */
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
        close_fd(&s->wfd);
    }
    if (s->cursor_fd >= 0) {
        /* Nothing is written any more: drop fully read segments so a drained
         * stream leaves no files behind. */
        while (s->nsegs > 0 && s->roff >= s->segs[0].size)
            finish_front(s, false);
        write_cursor(s);
        fsync(s->cursor_fd);
        close_fd(&s->cursor_fd);
    }
    close_fd(&s->rfd);
    close_fd(&s->dir_fd);
    close_fd(&s->lock_fd); /* releases the flock */
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_destroy(&s->mu);
    ctel__buf_free(&s->scratch);
    ctel__free(s->segs);
    ctel__free(s->dir);
    ctel__free(s);
}

/* Frees a half-opened store without touching the cursor or segments. */
static void abandon(ctel__spill *s)
{
    close_fd(&s->cursor_fd);
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
    s->dir = ctel__strdup(opts->dir);
    if (!s->dir) {
        abandon(s);
        return CTEL_ERR_NO_MEMORY;
    }
    s->max_bytes = opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES;
    s->segment_bytes = opts->segment_bytes ? opts->segment_bytes : DEFAULT_SEGMENT_BYTES;
    if (s->segment_bytes > s->max_bytes / 2)
        s->segment_bytes = s->max_bytes / 2 ? s->max_bytes / 2 : 1;
    s->max_age_ns = opts->max_age_ms > UINT64_MAX / 1000000u ? UINT64_MAX
                                                              : opts->max_age_ms * 1000000u;
    s->drop_newest = opts->drop_newest;

    if (ctel__spill_mkdirs(s->dir) != CTEL_OK) {
        ctel__log(CTEL_LOG_ERROR, "spill: cannot create directory %s: %s", s->dir,
                  strerror(errno));
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
    s->cursor_fd = openat(s->dir_fd, CURSOR_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->cursor_fd < 0) {
        ctel__log(CTEL_LOG_ERROR, "spill %s: cannot open %s: %s", s->dir, CURSOR_NAME,
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
    *out = s;
    return CTEL_OK;
}

static ctel_status refuse(ctel__spill *s, uint32_t items, ctel_status rc)
{
    s->st.records_dropped_full++;
    s->st.items_dropped_full += items;
    return rc;
}

/* Closes the segment being written (fsync'ed) and starts the next one. */
static ctel_status rotate(ctel__spill *s)
{
    if (s->wfd >= 0) {
        if (fsync(s->wfd) != 0)
            CTEL_LOG_LIMITED(CTEL_LOG_WARN, "spill %s: fsync failed: %s", s->dir, strerror(errno));
        close_fd(&s->wfd);
    }
    int fd = -1;
    uint64_t seq = 0;
    for (int tries = 0; fd < 0 && tries < 16; tries++) {
        char name[CTEL__SPILL_SEG_NAME_MAX];
        seq = s->next_seq++;
        ctel__spill_seg_name(name, seq);
        fd = openat(s->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        CTEL_LOG_LIMITED(CTEL_LOG_ERROR, "spill %s: cannot create a segment: %s", s->dir,
                         strerror(errno));
        return CTEL_ERR_IO;
    }
    if (segs_push(s, seq) != CTEL_OK) {
        close(fd);
        unlink_seg(s, seq);
        return CTEL_ERR_NO_MEMORY;
    }
    /* The new name must survive a crash as well as the data we fsync. */
    fsync(s->dir_fd);
    s->wfd = fd;
    s->wsynced = 0;
    return CTEL_OK;
}

ctel_status ctel__spill_write(ctel__spill *s, const void *data, size_t len, uint32_t items,
                              uint64_t created_unix_ns)
{
    if (!s || !data || len == 0)
        return CTEL_ERR_INVALID_ARGUMENT;
    uint64_t need = CTEL__SPILL_HDR + (uint64_t)len;
    pthread_mutex_lock(&s->mu);
    ctel_status rc = CTEL_OK;
    if (len > UINT32_MAX || need > s->max_bytes) {
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "spill %s: a record of %zu bytes can never fit (max_bytes %" PRIu64
                         "); dropped",
                         s->dir, len, s->max_bytes);
        rc = refuse(s, items, CTEL_ERR_LIMIT);
        goto out;
    }
    if (s->drop_newest && s->st.bytes_on_disk + need > s->max_bytes) {
        CTEL_LOG_LIMITED(CTEL_LOG_WARN, "spill %s is full (%" PRIu64 " bytes); dropping new records",
                         s->dir, s->st.bytes_on_disk);
        rc = refuse(s, items, CTEL_ERR_LIMIT);
        goto out;
    }
    if (s->wfd < 0 || (s->segs[s->nsegs - 1].size > 0 &&
                       s->segs[s->nsegs - 1].size + need > s->segment_bytes)) {
        rc = rotate(s);
        if (rc != CTEL_OK) {
            refuse(s, items, rc);
            goto out;
        }
    }
    while (s->st.bytes_on_disk + need > s->max_bytes) {
        if (s->nsegs <= 1) { /* only the segment being written is left */
            rc = refuse(s, items, CTEL_ERR_LIMIT);
            goto out;
        }
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "spill %s is full: dropping its oldest segment (%" PRIu64 " unread records)",
                         s->dir, s->segs[0].records);
        finish_front(s, true);
    }

    seg *g = &s->segs[s->nsegs - 1];
    uint8_t hdr[CTEL__SPILL_HDR];
    ctel__spill_hdr_encode(hdr, data, (uint32_t)len, items, created_unix_ns);
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)data, len}};
    ssize_t n;
    do
        n = pwritev(s->wfd, iov, 2, (off_t)g->size);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)need) {
        int err = n < 0 ? errno : 0;
        /* Leave no partial record behind: the next write goes to g->size
         * anyway, but a torn tail would be counted corrupt after a restart. */
        if (ftruncate(s->wfd, (off_t)g->size) != 0)
            CTEL_LOG_LIMITED(CTEL_LOG_ERROR, "spill %s: cannot truncate a torn record: %s",
                             s->dir, strerror(errno));
        if (err)
            CTEL_LOG_LIMITED(CTEL_LOG_ERROR, "spill %s: writing a record of %" PRIu64
                             " bytes failed: %s; dropped", s->dir, need, strerror(err));
        else
            CTEL_LOG_LIMITED(CTEL_LOG_ERROR,
                             "spill %s: short write (%zd of %" PRIu64
                             " bytes; disk full or file size limit); record dropped",
                             s->dir, n, need);
        rc = refuse(s, items, CTEL_ERR_IO);
        goto out;
    }
    g->size += need;
#ifdef SYNC_FILE_RANGE_WRITE
    if (g->size - s->wsynced >= WRITEBACK_BYTES) {
        /* Asynchronous: only queues the dirty pages for writing. */
        sync_file_range(s->wfd, (off_t)s->wsynced, (off_t)(g->size - s->wsynced),
                        SYNC_FILE_RANGE_WRITE);
        s->wsynced = g->size;
    }
#endif
    g->records++;
    g->items += items;
    s->st.records_written++;
    s->st.items_written += items;
    s->st.bytes_written += need;
    s->st.records_on_disk++;
    s->st.items_on_disk += items;
    s->st.bytes_on_disk += need;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static ctel_status open_reader(ctel__spill *s)
{
    if (s->rfd >= 0 && s->rfd_seq == s->segs[0].seq)
        return CTEL_OK;
    close_fd(&s->rfd);
    char name[CTEL__SPILL_SEG_NAME_MAX];
    ctel__spill_seg_name(name, s->segs[0].seq);
    s->rfd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (s->rfd < 0) {
        CTEL_LOG_LIMITED(CTEL_LOG_ERROR, "spill %s: cannot open %s: %s", s->dir, name,
                         strerror(errno));
        return CTEL_ERR_IO;
    }
    s->rfd_seq = s->segs[0].seq;
    return CTEL_OK;
}

static void skip_corrupt(ctel__spill *s, uint64_t next)
{
    seg *g = &s->segs[0];
    if (!g->counted) {
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "spill %s: segment %016" PRIx64 " has a corrupt record at offset %" PRIu64
                         "; skipping %" PRIu64 " bytes",
                         s->dir, g->seq, s->roff, next - s->roff);
        s->st.records_corrupt++;
        s->st.bytes_corrupt += next - s->roff;
    }
    s->roff = next;
}

ctel_status ctel__spill_peek(ctel__spill *s, ctel__buf *out, uint32_t *items, uint64_t *token)
{
    if (!s || !out || !items || !token)
        return CTEL_ERR_INVALID_ARGUMENT;
    ctel__buf_reset(out);
    pthread_mutex_lock(&s->mu);
    ctel_status rc;
    for (;;) {
        if (s->nsegs == 0) {
            rc = CTEL_ERR_NOT_FOUND;
            break;
        }
        seg *g = &s->segs[0];
        if (s->roff >= g->size) {
            if (is_writing(s, 0)) {
                rc = CTEL_ERR_NOT_FOUND;
                break;
            }
            finish_front(s, false);
            continue;
        }
        if (open_reader(s) != CTEL_OK) {
            skip_corrupt(s, g->size); /* gone or unreadable: nothing to replay */
            continue;
        }
        ctel__spill_rec rec;
        rc = ctel__spill_rec_read(s->rfd, s->roff, g->size, out, &rec);
        if (rc == CTEL_ERR_NO_MEMORY)
            break;
        if (rc != CTEL_OK) {
            skip_corrupt(s, ctel__spill_resync(s->rfd, s->roff, g->size, &s->scratch));
            continue;
        }
        if (s->max_age_ns) {
            uint64_t now = ctel__now_ns();
            if (now > rec.created_unix_ns && now - rec.created_unix_ns > s->max_age_ns) {
                s->st.records_dropped_age++;
                s->st.items_dropped_age += rec.items;
                take_front_record(s, rec.items);
                s->roff = rec.next;
                continue;
            }
        }
        if (!s->peek_valid || s->peek_seq != g->seq || s->peek_off != s->roff) {
            s->peek_valid = true;
            s->peek_seq = g->seq;
            s->peek_off = s->roff;
            s->token = ++s->token_counter;
        }
        s->peek_next = rec.next;
        s->peek_items = rec.items;
        *items = rec.items;
        *token = s->token;
        break;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc != CTEL_OK)
        ctel__buf_reset(out);
    return rc;
}

ctel_status ctel__spill_consume(ctel__spill *s, uint64_t token)
{
    if (!s)
        return CTEL_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&s->mu);
    if (!s->peek_valid || token != s->token || s->nsegs == 0 || s->segs[0].seq != s->peek_seq ||
        s->roff != s->peek_off) {
        pthread_mutex_unlock(&s->mu);
        return CTEL_ERR_INVALID_ARGUMENT;
    }
    take_front_record(s, s->peek_items);
    s->st.records_replayed++;
    s->st.items_replayed += s->peek_items;
    s->roff = s->peek_next;
    s->peek_valid = false;
    if (s->roff >= s->segs[0].size && !is_writing(s, 0))
        finish_front(s, false);
    write_cursor(s);
    pthread_mutex_unlock(&s->mu);
    return CTEL_OK;
}

void ctel__spill_get_stats(ctel__spill *s, ctel__spill_stats *out)
{
    if (!out)
        return;
    if (!s) {
        memset(out, 0, sizeof *out);
        return;
    }
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}
