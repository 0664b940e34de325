/* sdk/pipeline/spill_internal.h — pieces of the disk spill shared between
 * spill.c (the store), spill_segment.c (record framing, segment files) and
 * spill_crc.c (CRC-32C), and visible to their tests. Not an API. */
#ifndef CTEL_PIPELINE_SPILL_INTERNAL_H
#define CTEL_PIPELINE_SPILL_INTERNAL_H

#include "sdk/internal.h"
#include "sdk/common/buf.h"

/* ---- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) ------------------
 * `crc` is the value returned for the data before (0 to start), so a CRC can
 * be computed piecewise: crc32c(crc32c(0, a), b) == crc32c(0, a || b).
 * ctel__crc32c picks the SSE4.2 instruction when the CPU has it, else the
 * table-driven software version; both give identical results. */
uint32_t ctel__crc32c(uint32_t crc, const void *data, size_t len);
uint32_t ctel__crc32c_sw(uint32_t crc, const void *data, size_t len);
/* True if ctel__crc32c_hw may be called on this CPU. */
bool ctel__crc32c_hw_available(void);
/* The SSE4.2 version; only call it when ctel__crc32c_hw_available(). */
uint32_t ctel__crc32c_hw(uint32_t crc, const void *data, size_t len);

/* ---- record framing -----------------------------------------------------------
 *   0 magic u32 | 4 payload length u32 | 8 items u32 | 12 created unix ns u64 |
 *  20 CRC-32C of bytes 4..20 and the payload u32 | 24 payload
 * all little-endian. */
#define CTEL__SPILL_MAGIC 0x50535443u /* "CTSP" on disk */
#define CTEL__SPILL_HDR 24u

typedef struct ctel__spill_rec {
    uint32_t len;
    uint32_t items;
    uint64_t created_unix_ns;
    uint64_t next; /* offset just past the record */
} ctel__spill_rec;

/* Fills the 24-byte header of a record holding `payload`. */
void ctel__spill_hdr_encode(uint8_t hdr[CTEL__SPILL_HDR], const void *payload, uint32_t len,
                            uint32_t items, uint64_t created_unix_ns);

/* Reads and checks the record starting at `off` of the segment open on `fd`,
 * whose valid bytes end at `end`. On CTEL_OK the payload is in `payload`
 * (reset first, NUL-terminated) and *rec describes the record. CTEL_ERR_PARSE:
 * the bytes at `off` are not a whole valid record (torn, bad magic, length
 * beyond `end`, CRC mismatch, or a read error, which is logged).
 * CTEL_ERR_NO_MEMORY: the payload did not fit in memory. */
ctel_status ctel__spill_rec_read(int fd, uint64_t off, uint64_t end, ctel__buf *payload,
                                 ctel__spill_rec *rec);

/* After a bad record at `bad_off`: the offset of the next valid record of the
 * segment (found by scanning for the magic and checking the CRC of each
 * candidate), or `end` when there is none. `scratch` holds candidate payloads. */
uint64_t ctel__spill_resync(int fd, uint64_t bad_off, uint64_t end, ctel__buf *scratch);

/* ---- segment files -------------------------------------------------------------- */
#define CTEL__SPILL_SEG_NAME_MAX 32 /* "seg-" + 16 hex + ".ctsp" + NUL = 26 */

/* The file name of segment `seq` (within the stream directory). */
void ctel__spill_seg_name(char out[CTEL__SPILL_SEG_NAME_MAX], uint64_t seq);
/* True if `name` is exactly a segment name ("seg-" + 16 lowercase hex digits
 * + ".ctsp"); *seq gets its sequence number. */
bool ctel__spill_seg_name_parse(const char *name, uint64_t *seq);

/* mkdir -p with mode 0700 for the components it creates. CTEL_ERR_IO (with
 * errno set) if a component cannot be created or the result is not a
 * directory. */
ctel_status ctel__spill_mkdirs(const char *dir);

/* Little-endian helpers. */
static inline void ctel__spill_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void ctel__spill_put64(uint8_t *p, uint64_t v)
{
    ctel__spill_put32(p, (uint32_t)v);
    ctel__spill_put32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t ctel__spill_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ctel__spill_get64(const uint8_t *p)
{
    return (uint64_t)ctel__spill_get32(p) | (uint64_t)ctel__spill_get32(p + 4) << 32;
}

/* ---- the store (spill.c: writing and reading; spill_open.c: open, close) ----
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
#include "sdk/pipeline/spill.h"

#include <pthread.h>
#include <unistd.h>

#define CTEL__SPILL_CURSOR_NAME "cursor"
#define CTEL__SPILL_LOCK_NAME "LOCK"
/* cursor file: magic u32 | segment seq u64 | offset u64 | CRC-32C of the
 * first 20 bytes u32, rewritten in place with one pwrite. */
#define CTEL__SPILL_CURSOR_MAGIC 0x52435443u /* "CTCR" on disk */
#define CTEL__SPILL_CURSOR_BYTES 24

typedef struct ctel__spill_seg {
    uint64_t seq;
    uint64_t size;
    uint64_t records; /* unread valid records */
    uint64_t items;
    bool counted; /* scanned at open: its corruption is already in the stats */
} ctel__spill_seg;

struct ctel__spill {
    pthread_mutex_t mu;
    char *dir;
    uint64_t max_bytes, segment_bytes, max_age_ns;
    bool drop_newest;
    int dir_fd, lock_fd, cursor_fd;
    ctel__spill_seg *segs;
    size_t nsegs, cap_segs;
    uint64_t next_seq;
    int wfd;
    uint64_t wsynced; /* bytes of the segment being written handed to writeback */
    int rfd;          /* open on segs[0] (rfd_seq) or -1 */
    uint64_t rfd_seq;
    uint64_t roff;   /* next unread byte of segs[0] */
    bool peek_valid; /* the last peek: record at (peek_seq, peek_off) */
    uint64_t peek_seq, peek_off, peek_next, token, token_counter;
    uint32_t peek_items;
    ctel__buf scratch;
    ctel__spill_stats st;
    /* `st` as of the end of the last operation, for ctel__spill_get_stats:
     * a leaf lock held only to copy, so a stats reader never waits for the
     * disk I/O done under `mu`. */
    pthread_mutex_t st_lock;
    ctel__spill_stats st_pub;
};

/* Publishes s->st for readers. Called with `mu` held at the end of every
 * operation that changes the stats. */
static inline void ctel__spill_publish_stats(ctel__spill *s)
{
    pthread_mutex_lock(&s->st_lock);
    s->st_pub = s->st;
    pthread_mutex_unlock(&s->st_lock);
}

static inline void ctel__spill_close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static inline bool ctel__spill_is_writing(const ctel__spill *s, size_t i)
{
    return s->wfd >= 0 && i + 1 == s->nsegs;
}

/* Appends an empty segment `seq` to s->segs. */
ctel_status ctel__spill_segs_push(ctel__spill *s, uint64_t seq);
/* Deletes the file of segment `seq` (logged if that fails). */
void ctel__spill_unlink_seg(ctel__spill *s, uint64_t seq);
/* Removes segs[0] (fully read, or dropped when `dropped`: its unread records
 * count as dropped_full) from the list and the disk; the reader moves to the
 * start of the next segment. */
void ctel__spill_finish_front(ctel__spill *s, bool dropped);
/* Persists the reader's position (one pwrite; failures logged). */
void ctel__spill_write_cursor(ctel__spill *s);

#endif
