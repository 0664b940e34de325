/* sdk/pipeline/spill.h — the disk spill: requests that could not be delivered
 * (breaker open, retries exhausted, shutdown deadline), kept on disk already
 * encoded, until they can be replayed oldest first.
 *
 * Layout: one directory per stream (a signal + endpoint), holding segment
 * files "seg-<16 hex digits sequence>.ctsp" written append-only, a "cursor"
 * file (the replay position: segment sequence + offset, rewritten on
 * consume), and a "LOCK" file held with flock() while open, so two processes
 * never share a stream. Each record is framed:
 *     magic u32 | payload length u32 | items u32 | created unix ns u64 |
 *     CRC-32C of (length, items, created, payload) u32 | payload
 * (little-endian). A torn or corrupted record (short read, bad magic, length
 * beyond the segment, CRC mismatch) is counted and skipped: replay resumes at
 * the next segment. Never fatal. (As implemented, ctel resynchronises within
 * the segment: it scans for the next magic whose record has a valid CRC and
 * resumes there, so one bad record costs only itself; each skipped stretch
 * counts as one corrupt record. Corruption in segments left by an earlier
 * process is counted when they are scanned at open, not again at replay.)
 *
 * Bounds: the total size of segments on disk stays <= max_bytes. When a write
 * would exceed it: drop_newest=false drops whole oldest segments (their
 * unread records and items counted as dropped_full); drop_newest=true refuses
 * the new record (counted). Records older than max_age_ms are dropped at
 * peek (counted as dropped_age).
 *
 * Thread-safety: every function may be called from any thread (one internal
 * mutex). Durability: records survive the process being killed (they are in
 * the page cache once write returns); segments are fsync'ed when rotated and
 * on close, so an OS crash loses at most the open segment's tail. */
#ifndef CTEL_PIPELINE_SPILL_H
#define CTEL_PIPELINE_SPILL_H

#include "sdk/internal.h"
#include "sdk/common/buf.h"

typedef struct ctel__spill ctel__spill;

typedef struct ctel__spill_options {
    const char *dir;          /* the stream's directory; created (0700) if missing */
    uint64_t max_bytes;       /* 0: 256 MiB */
    uint64_t segment_bytes;   /* 0: 8 MiB (clamped to <= max_bytes / 2) */
    uint64_t max_age_ms;      /* 0: no age limit */
    bool drop_newest;         /* when full: false = drop oldest, true = refuse new */
} ctel__spill_options;

typedef struct ctel__spill_stats {
    uint64_t records_written, items_written, bytes_written; /* bytes include framing */
    uint64_t records_replayed, items_replayed;  /* consumed after peek */
    uint64_t records_dropped_full, items_dropped_full;
    uint64_t records_refused, items_refused;    /* writes refused (also in dropped_full) */
    uint64_t records_dropped_age, items_dropped_age;
    uint64_t records_corrupt;                   /* torn/corrupted, skipped */
    uint64_t bytes_corrupt;                     /* bytes skipped with them */
    uint64_t records_on_disk, items_on_disk;    /* unread right now */
    uint64_t bytes_on_disk;                     /* segment bytes right now */
} ctel__spill_stats;

/* Opens (or creates) the stream at opts->dir and takes its lock. Existing
 * segments (left by an earlier process) are scanned so their records count as
 * on disk and are replayed first. Errors: CTEL_ERR_INVALID_ARGUMENT (no dir),
 * CTEL_ERR_IO (cannot create/read the directory; the message is logged),
 * CTEL_ERR_LIMIT ("in use": another process holds the lock; logged with its
 * pid when known), CTEL_ERR_NO_MEMORY. */
ctel_status ctel__spill_open(const ctel__spill_options *opts, ctel__spill **out);

/* Appends one record (len > 0) holding `items` telemetry items created at
 * `created_unix_ns`. CTEL_OK; CTEL_ERR_LIMIT when it was refused or cannot
 * fit at all (counted as dropped_full); CTEL_ERR_IO when the disk refused
 * (e.g. ENOSPC: the record is counted as dropped_full and the segment is
 * truncated back to its last whole record); CTEL_ERR_INVALID_ARGUMENT for
 * no data (counted as dropped_full; s NULL: not counted). Every call with a
 * spill ends in items_written or items_refused, published together with
 * items_on_disk / items_dropped_full, so a caller can tell how many items it
 * handed over are still on their way. */
ctel_status ctel__spill_write(ctel__spill *s, const void *data, size_t len, uint32_t items,
                              uint64_t created_unix_ns);

/* Copies the oldest unread, valid, young-enough record into `out` (reset
 * first) and its item count into *items; *token identifies it for
 * ctel__spill_consume. Corrupted and too-old records on the way are skipped
 * and counted. CTEL_ERR_NOT_FOUND when nothing is left. Does not consume:
 * peeking twice returns the same record. */
ctel_status ctel__spill_peek(ctel__spill *s, ctel__buf *out, uint32_t *items, uint64_t *token);

/* Marks the record `token` (from the last peek) as delivered: advances and
 * persists the cursor; a fully read segment is deleted. CTEL_ERR_INVALID_ARGUMENT
 * if token is not the current oldest record. */
ctel_status ctel__spill_consume(ctel__spill *s, uint64_t token);

/* The stats as of the end of the last operation; never waits for one under
 * way (nor for its disk I/O). */
void ctel__spill_get_stats(ctel__spill *s, ctel__spill_stats *out);

/* Flushes, releases the lock, frees. NULL: no-op. Unread records stay on disk
 * for the next process. */
void ctel__spill_close(ctel__spill *s);

#endif
