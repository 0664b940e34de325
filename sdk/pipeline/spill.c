/* sdk/pipeline/spill.c — the disk spill store (see spill.h): writing,
 * dropping when full, reading through the cursor. Opening and closing are in
 * spill_open.c, the framing in spill_segment.c; the invariants are listed in
 * spill_internal.h. */
#include "sdk/internal.h"

#include "sdk/pipeline/spill.h"
#include "sdk/pipeline/spill_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/uio.h>
#include <unistd.h>

/* Start writeback of the segment being written every this many bytes, so the
 * fsync at rotation finds little left to do and the disk works while we
 * write (without it, writing stalls for the whole segment at every fsync). */
#define WRITEBACK_BYTES (1u << 20)

ctel_status ctel__spill_segs_push(ctel__spill *s, uint64_t seq)
{
    if (s->nsegs == s->cap_segs) {
        size_t cap = s->cap_segs ? s->cap_segs * 2 : 16;
        ctel__spill_seg *p = ctel__realloc(s->segs, cap * sizeof *p);
        if (!p)
            return CTEL_ERR_NO_MEMORY;
        s->segs = p;
        s->cap_segs = cap;
    }
    s->segs[s->nsegs++] = (ctel__spill_seg){.seq = seq};
    return CTEL_OK;
}

void ctel__spill_unlink_seg(ctel__spill *s, uint64_t seq)
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
void ctel__spill_finish_front(ctel__spill *s, bool dropped)
{
    ctel__spill_seg g = s->segs[0];
    if (dropped) {
        s->st.records_dropped_full += g.records;
        s->st.items_dropped_full += g.items;
    }
    s->st.records_on_disk -= g.records;
    s->st.items_on_disk -= g.items;
    s->st.bytes_on_disk -= g.size;
    ctel__spill_close_fd(&s->rfd);
    ctel__spill_unlink_seg(s, g.seq);
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
    s->nsegs--;
    s->roff = 0;
    s->peek_valid = false;
}

/* One valid record of segs[0] was read (replayed or dropped for age). */
static void take_front_record(ctel__spill *s, uint32_t items)
{
    ctel__spill_seg *g = &s->segs[0];
    if (g->records > 0) {
        g->records--;
        s->st.records_on_disk--;
    }
    uint64_t it = items <= g->items ? items : g->items;
    g->items -= it;
    s->st.items_on_disk -= it;
}

void ctel__spill_write_cursor(ctel__spill *s)
{
    uint8_t rec[CTEL__SPILL_CURSOR_BYTES] = {0};
    ctel__spill_put32(rec, CTEL__SPILL_CURSOR_MAGIC);
    ctel__spill_put64(rec + 4, s->nsegs ? s->segs[0].seq : s->next_seq);
    ctel__spill_put64(rec + 12, s->nsegs ? s->roff : 0);
    ctel__spill_put32(rec + 20, ctel__crc32c(0, rec, 20));
    ssize_t n = pwrite(s->cursor_fd, rec, sizeof rec, 0);
    if (n != (ssize_t)sizeof rec)
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "spill %s: cannot write the cursor (%s); records may be replayed twice",
                         s->dir, n < 0 ? strerror(errno) : "short write");
}

static ctel_status refuse(ctel__spill *s, uint32_t items, ctel_status rc)
{
    s->st.records_dropped_full++;
    s->st.items_dropped_full += items;
    s->st.records_refused++;
    s->st.items_refused += items;
    return rc;
}

/* Closes the segment being written (fsync'ed) and starts the next one. */
static ctel_status rotate(ctel__spill *s)
{
    if (s->wfd >= 0) {
        if (fsync(s->wfd) != 0)
            CTEL_LOG_LIMITED(CTEL_LOG_WARN, "spill %s: fsync failed: %s", s->dir, strerror(errno));
        ctel__spill_close_fd(&s->wfd);
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
    if (ctel__spill_segs_push(s, seq) != CTEL_OK) {
        close(fd);
        ctel__spill_unlink_seg(s, seq);
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
    if (!s)
        return CTEL_ERR_INVALID_ARGUMENT;
    uint64_t need = CTEL__SPILL_HDR + (uint64_t)len;
    pthread_mutex_lock(&s->mu);
    ctel_status rc = CTEL_OK;
    if (!data || len == 0) {
        rc = refuse(s, items, CTEL_ERR_INVALID_ARGUMENT);
        goto out;
    }
    if (len > UINT32_MAX || need > s->max_bytes) {
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "spill %s: a record of %zu bytes can never fit (max_bytes %" PRIu64
                         "); dropped",
                         s->dir, len, s->max_bytes);
        rc = refuse(s, items, CTEL_ERR_LIMIT);
        goto out;
    }
    if (s->drop_newest && s->st.bytes_on_disk + need > s->max_bytes) {
        CTEL_LOG_LIMITED(CTEL_LOG_WARN,
                         "spill %s is full (%" PRIu64 " bytes); dropping new records", s->dir,
                         s->st.bytes_on_disk);
        rc = refuse(s, items, CTEL_ERR_LIMIT);
        goto out;
    }
    if (s->wfd < 0 ||
        (s->segs[s->nsegs - 1].size > 0 && s->segs[s->nsegs - 1].size + need > s->segment_bytes)) {
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
                         "spill %s is full: dropping its oldest segment (%" PRIu64
                         " unread records)",
                         s->dir, s->segs[0].records);
        ctel__spill_finish_front(s, true);
    }

    ctel__spill_seg *g = &s->segs[s->nsegs - 1];
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
            CTEL_LOG_LIMITED(CTEL_LOG_ERROR, "spill %s: cannot truncate a torn record: %s", s->dir,
                             strerror(errno));
        if (err)
            CTEL_LOG_LIMITED(CTEL_LOG_ERROR,
                             "spill %s: writing a record of %" PRIu64 " bytes failed: %s; dropped",
                             s->dir, need, strerror(err));
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
    ctel__spill_publish_stats(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static ctel_status open_reader(ctel__spill *s)
{
    if (s->rfd >= 0 && s->rfd_seq == s->segs[0].seq)
        return CTEL_OK;
    ctel__spill_close_fd(&s->rfd);
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
    ctel__spill_seg *g = &s->segs[0];
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
        ctel__spill_seg *g = &s->segs[0];
        if (s->roff >= g->size) {
            if (ctel__spill_is_writing(s, 0)) {
                rc = CTEL_ERR_NOT_FOUND;
                break;
            }
            ctel__spill_finish_front(s, false);
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
    ctel__spill_publish_stats(s);
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
    if (s->roff >= s->segs[0].size && !ctel__spill_is_writing(s, 0))
        ctel__spill_finish_front(s, false);
    ctel__spill_write_cursor(s);
    ctel__spill_publish_stats(s);
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
    pthread_mutex_lock(&s->st_lock);
    *out = s->st_pub;
    pthread_mutex_unlock(&s->st_lock);
}
