/* sdk/pipeline/delivery.h — the resilience layer every exporter's requests
 * go through, whatever the transport (HTTP now, gRPC later) and the signal.
 *
 * The exporter encodes a batch into a request and submits it; submit never
 * blocks. A sender thread delivers requests in order:
 *   retry      retryable outcomes (connection failures, timeouts, 429, 502,
 *              503, 504) are retried with exponential backoff and jitter
 *              (retry.h), Retry-After honoured, all attempts of a request
 *              within its budget (the export call's timeout; each attempt
 *              is also bounded by the transport's own timeout);
 *   breaker    after repeated failed attempts no attempt is made for a
 *              cool-down (breaker.h);
 *   fallback   requests that cannot be delivered (breaker open, retries
 *              exhausted, shutdown deadline) go to the disk spill when one
 *              is configured, else are dropped and counted; while the breaker
 *              is open the queue keeps draining to disk. Spilled requests are
 *              replayed oldest first once the endpoint accepts again, rate
 *              limited and interleaved with fresh ones.
 * The in-memory queue is bounded in bytes: when full, the incoming request
 * goes to disk (with a spill) or the oldest queued one is dropped (keeping the
 * newest data). With a spill, submit writes the request itself only while
 * the disk is idle (no write, no read of the sender's under way); otherwise
 * it never waits: the request goes to an overflow list, bounded like the
 * queue, that the sender writes to disk one request in turn with its other
 * work (beyond the bound the overflow's oldest are dropped, counted as
 * dropped_queue_full).
 * A disk that hangs in a write submit started itself holds the caller (the
 * export worker: application threads never wait, spans beyond the batch
 * queue are dropped and counted).
 *
 * Accounting, in items (spans, data points, log records), exact:
 *   submitted + recovered = delivered + rejected + dropped_* + queued
 *                           + in_flight + on_disk
 * (recovered: found on disk from an earlier process.)
 *
 * Thread-safety: submit, flush, stats and shutdown may be called from any
 * thread; the transport is only used by the sender thread (and interrupted
 * from shutdown, and from fork's prepare). Stats and the breaker's state
 * never wait for the delivery's lock: they copy a snapshot the sender and
 * submitters publish whenever they let go of it, so a health endpoint or
 * readiness probe answers even while the sender waits on a slow disk.
 *
 * fork() (sdk/common/fork.h): prepare parks the sender; an attempt it cuts
 * short is not counted and its request returns to the queue head. A child
 * starts with an empty queue, zero counters, no spill (the parent's stays
 * the parent's) and a sender of its own. */
#ifndef CTEL_PIPELINE_DELIVERY_H
#define CTEL_PIPELINE_DELIVERY_H

#include "sdk/internal.h"
#include "sdk/common/buf.h"
#include "sdk/pipeline/retry.h"

typedef struct ctel__delivery ctel__delivery;

/* The outcome of one attempt, as the transport reports it. */
typedef struct ctel__send_result {
    ctel_status status;     /* OK, UNAVAILABLE, TIMEOUT, REJECTED, SHUTDOWN (interrupted) */
    int http_status;        /* 0 without an answer */
    int64_t retry_after_ms; /* -1 if none */
    uint64_t rejected;      /* items the receiver refused in a partial success */
    char message[256];
} ctel__send_result;

typedef struct ctel__delivery_transport {
    void *state;
    /* One attempt, at most timeout_ms (never 0 here). */
    void (*send)(void *state, const void *body, size_t len, uint32_t items, uint32_t timeout_ms,
                 ctel__send_result *res);
    /* Makes a send in progress return at once (and later ones, until off). */
    void (*interrupt)(void *state, bool on);
} ctel__delivery_transport;

typedef struct ctel__delivery_options {
    const char *name;          /* for diagnostics, e.g. "traces to http://host:4318/v1/traces" */
    size_t max_queue_bytes;    /* in-memory bound (0: 8 MiB) */
    ctel__retry_policy retry;
    const char *spill_dir;     /* the stream's directory; NULL: no spill */
    uint64_t spill_max_bytes;  /* 0: 256 MiB */
    uint64_t spill_max_age_ms; /* 0: none */
    bool spill_drop_newest;
    uint32_t replay_per_second; /* spilled requests replayed per second at most (0: 20) */
} ctel__delivery_options;

typedef struct ctel__delivery_stats {
    uint64_t submitted, recovered;
    uint64_t delivered, rejected;
    uint64_t dropped_queue_full, dropped_retries_exhausted, dropped_spill_full,
        dropped_spill_age, dropped_shutdown;
    uint64_t corrupt_spill_records; /* skipped; their items cannot be known */
    uint64_t retried;               /* items re-sent (once per retry) */
    uint64_t spilled, replayed;     /* items written to disk / delivered from disk */
    uint64_t queued, queued_bytes, in_flight, on_disk;
    uint64_t requests, requests_failed;
    ctel_breaker_state breaker_state;
    uint64_t breaker_opens;
    uint64_t next_attempt_unix_ns; /* while the breaker is open; else 0 */
    uint64_t last_success_unix_ns; /* 0 if never */
    int last_http_status;
    char last_error[256];
} ctel__delivery_stats;

/* Starts the sender thread. The transport must outlive the delivery. A spill
 * directory that cannot be opened (in use, unwritable) is reported and the
 * delivery runs without one. CTEL_ERR_NO_MEMORY; thread creation failure →
 * CTEL_ERR_INTERNAL. */
ctel_status ctel__delivery_create(const ctel__delivery_options *opts,
                                  const ctel__delivery_transport *transport,
                                  ctel__delivery **out);

/* Hands over one encoded request (body->data is taken over and *body reset;
 * on every return). Never blocks on the network, nor on disk work under
 * way; with a full queue and an idle disk it writes the request to the
 * spill itself (see above). CTEL_OK: queued or spilled;
 * CTEL_ERR_QUEUE_FULL: an older request (or this one) was dropped to make room
 * (counted); CTEL_ERR_SHUTDOWN after shutdown (not taken, not counted: the caller's). */
/* `budget_ms` bounds all attempts of this request together, counted from the
 * first (0: only the retry policy's attempt limit bounds them). */
ctel_status ctel__delivery_submit(ctel__delivery *d, ctel__buf *body, uint32_t items,
                                  uint32_t budget_ms);

/* The delivery's disk spill (NULL without one). For tests that hold its lock
 * to stand for a disk that does not answer. */
struct ctel__spill *ctel__delivery_spill(ctel__delivery *d);

/* Gives `b` (which must be empty: data NULL) a buffer of an earlier,
 * settled request if one is kept, so encoding does not allocate anew. */
void ctel__delivery_reuse_buffer(ctel__delivery *d, ctel__buf *b);

/* Waits until everything submitted before the call is delivered, rejected,
 * dropped or spilled (later submissions are not waited for). CTEL_OK;
 * CTEL_ERR_TIMEOUT; CTEL_ERR_UNAVAILABLE at once when the request in progress
 * waits out a backoff or Retry-After (a flush does not sit it out; the retry
 * happens on schedule), or when the breaker is open and, with no spill,
 * requests wait in memory for it. */
ctel_status ctel__delivery_flush(ctel__delivery *d, uint32_t timeout_ms);

/* Delivers what it can within timeout_ms, then interrupts the transport;
 * what is left is spilled (with a spill) or dropped and counted. Returns
 * within the deadline plus a few milliseconds (plus the time to write the
 * queue to disk, at most 2 s more: a sender still writing then is given up
 * on, logged). CTEL_OK when everything was delivered and no write is under
 * way; CTEL_ERR_TIMEOUT otherwise. Once only (then CTEL_ERR_SHUTDOWN). */
ctel_status ctel__delivery_shutdown(ctel__delivery *d, uint32_t timeout_ms);

/* The counters as of the last time a thread that changed them let go of
 * the delivery's lock (exact at a quiet moment); never waits for the lock. */
void ctel__delivery_get_stats(ctel__delivery *d, ctel__delivery_stats *out);

/* The breaker's state, from the same snapshot (cheap; for readiness). */
ctel_breaker_state ctel__delivery_breaker_state(ctel__delivery *d, uint64_t *next_attempt_unix_ns);

/* Shuts down (if not yet, with a 5 s deadline) and frees. Waits up to 2 s
 * more for the sender and for spill writes submitters started; if one never
 * returns (a disk or a name lookup that does not answer) the delivery is
 * leaked, with an error logged, instead of freed under it, and false is
 * returned: the transport must then be leaked too (the sender may still be
 * in it). NULL: no-op, true. */
bool ctel__delivery_destroy(ctel__delivery *d);

#endif
