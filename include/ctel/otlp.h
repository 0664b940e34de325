/* ctel/otlp.h — exporting to an OpenTelemetry Collector (or any OTLP
 * receiver) over OTLP/HTTP, and asking whether it is reachable.
 *
 * Configuration: every field of ctel_otlp_options left at its INIT value is
 * taken from the standard environment variables, the signal-specific one
 * first (OTEL_EXPORTER_OTLP_TRACES_*), then the generic one
 * (OTEL_EXPORTER_OTLP_*), then the default. An invalid value is reported
 * through the diagnostics (naming the variable) and the default is used;
 * configuration is never fatal.
 *
 *   endpoint     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (a full URL, used as is)
 *                or OTEL_EXPORTER_OTLP_ENDPOINT (a base URL; "/v1/traces" is
 *                appended); default http://localhost:4318/v1/traces. A URL
 *                without scheme gets http:// when insecure, else https://.
 *   protocol     ..._PROTOCOL: http/protobuf (default) or http/json. grpc is
 *                not built yet: it is reported and http/protobuf is used.
 *   headers      ..._HEADERS: "key=value,key2=value2", values percent-decoded;
 *                a malformed pair is reported and skipped.
 *   timeout      ..._TIMEOUT in ms, default 10000 (0 = no limit).
 *   compression  ..._COMPRESSION: gzip or none (default).
 *   TLS          ..._CERTIFICATE (CA file), ..._CLIENT_KEY,
 *                ..._CLIENT_CERTIFICATE (PEM files, for mTLS).
 *   insecure     ..._INSECURE: only decides the scheme of an endpoint given
 *                without one (the URL's scheme wins otherwise).
 * ctel's own variables for the delivery pipeline:
 *   CTEL_SPILL_DIR            spill directory (default: none); each exporter
 *                             uses a subdirectory named after its signal and
 *                             endpoint, locked by one process at a time
 *   CTEL_SPILL_MAX_BYTES      default 268435456 (256 MiB)
 *   CTEL_SPILL_MAX_AGE        ms; older spilled requests are dropped (counted);
 *                             default 86400000 (24 h), 0 = no limit
 *   CTEL_SPILL_DROP           oldest (default) | newest: what goes when full
 *   CTEL_EXPORTER_QUEUE_BYTES in-memory request queue, default 4194304 (4 MiB)
 *   CTEL_EXPORTER_RETRY_ENABLED, _MAX_ATTEMPTS, _INITIAL_BACKOFF,
 *   _MAX_BACKOFF (ms), _BACKOFF_MULTIPLIER
 *   CTEL_EXPORTER_BREAKER_ENABLED, _FAILURE_THRESHOLD, _MIN_COOLDOWN,
 *   _MAX_COOLDOWN (ms)
 */
#ifndef CTEL_OTLP_H
#define CTEL_OTLP_H
#include "export.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctel_otlp_protocol {
    CTEL_OTLP_PROTOCOL_DEFAULT = 0, /* from the environment, else http/protobuf */
    CTEL_OTLP_HTTP_PROTOBUF = 1,
    CTEL_OTLP_HTTP_JSON = 2,
    CTEL_OTLP_GRPC = 3 /* not available yet: falls back to http/protobuf */
} ctel_otlp_protocol;

typedef enum ctel_otlp_compression {
    CTEL_OTLP_COMPRESSION_DEFAULT = 0, /* from the environment, else none */
    CTEL_OTLP_COMPRESSION_NONE = 1,
    CTEL_OTLP_COMPRESSION_GZIP = 2
} ctel_otlp_compression;

/* Strings are copied by the create/probe call; NULL = from the environment. */
typedef struct ctel_otlp_options {
    const char *endpoint;           /* full URL of the signal's endpoint, used as is */
    ctel_otlp_protocol protocol;
    const char *headers;            /* "k=v,k2=v2"; replaces the environment's list */
    int32_t timeout_ms;             /* < 0: environment/default 10000; 0: no limit */
    ctel_otlp_compression compression;
    const char *certificate;        /* CA bundle (PEM) to verify the server */
    const char *client_key;         /* PEM private key for mTLS */
    const char *client_certificate; /* PEM certificate for mTLS */
    int insecure;                   /* < 0: environment; 0 or 1 */
    int64_t max_request_bytes;      /* <= 0: 4 MiB. Batches are split to stay under
                                       it (measured before compression). */
    /* The resilience pipeline (see "Delivery" below). */
    int direct;                /* 1: no pipeline: each export is one synchronous
                                  attempt whose outcome export returns (tests,
                                  callers with their own retry). 0: pipeline. */
    const char *spill_dir;     /* NULL: CTEL_SPILL_DIR; "": no spill */
    int64_t spill_max_bytes;   /* <= 0: CTEL_SPILL_MAX_BYTES or 256 MiB */
    int spill_drop_newest;     /* < 0: CTEL_SPILL_DROP (oldest|newest), default oldest */
    int64_t queue_max_bytes;   /* <= 0: CTEL_EXPORTER_QUEUE_BYTES or 4 MiB */
} ctel_otlp_options;

#define CTEL_OTLP_OPTIONS_INIT                                                                     \
    {NULL, CTEL_OTLP_PROTOCOL_DEFAULT, NULL, -1, CTEL_OTLP_COMPRESSION_DEFAULT, NULL, NULL, NULL,  \
     -1, 0, 0, NULL, 0, -1, 0}

/* An OTLP/HTTP span exporter (libcurl, one kept-alive connection). `opts`
 * may be NULL (everything from the environment).
 *
 * Delivery (the default): export encodes the batch into requests (one per
 * max_request_bytes) and hands them to a sender thread; it returns CTEL_OK
 * once they are queued (or spilled), CTEL_ERR_QUEUE_FULL when older requests
 * had to be dropped to make room. The sender retries retryable outcomes with
 * exponential backoff and jitter (CTEL_EXPORTER_RETRY_*: 5 attempts, 1 s up
 * to 5 s, x1.5), honours Retry-After, and never spends more than the timeout
 * on one request; a circuit breaker (CTEL_EXPORTER_BREAKER_*: open after 5
 * failed attempts, cool-down 5 s doubling to 5 min) stops attempts to a dead
 * endpoint. Requests it cannot deliver go to the spill directory when one is
 * set (replayed oldest first when the endpoint is back, also by the next
 * process) or are dropped and counted. force_flush waits for what was
 * exported before it, but does not sit out a backoff or Retry-After (it
 * returns CTEL_ERR_UNAVAILABLE at once then; the retry stays on schedule);
 * shutdown delivers what it can by its deadline, then interrupts the attempt
 * in progress and spills or drops the rest. The stats below say where every
 * span went.
 *
 * Direct (opts->direct = 1): each export sends synchronously, once, and
 * returns:
 *   CTEL_OK               every request answered 2xx (spans the receiver
 *                         reported as rejected in partial_success are
 *                         counted in the stats and logged, not retried);
 *   CTEL_ERR_UNAVAILABLE  retryable: connection refused/reset/closed, DNS,
 *                         TLS, HTTP 429/502/503/504 (Retry-After recorded);
 *   CTEL_ERR_TIMEOUT      the per-request deadline passed;
 *   CTEL_ERR_REJECTED     any other HTTP status: the data will never be
 *                         accepted (the body's message is recorded).
 * Nothing is retried in direct mode. Thread-safety: as any exporter,
 * one export at a time; the stats may be read from any thread.
 * Errors: CTEL_ERR_INVALID_ARGUMENT (out NULL), CTEL_ERR_NO_MEMORY,
 * CTEL_ERR_INTERNAL (libcurl could not be initialised). */
CTEL_API ctel_status ctel_otlp_http_exporter_create(const ctel_otlp_options *opts,
                                                    ctel_span_exporter **out);

/* The circuit breaker of an endpoint (see docs/OPERATIONS.md). */
typedef enum ctel_breaker_state {
    CTEL_BREAKER_CLOSED = 0,   /* exports flow */
    CTEL_BREAKER_OPEN = 1,     /* the endpoint failed repeatedly: no attempts until
                                  the cool-down ends */
    CTEL_BREAKER_HALF_OPEN = 2 /* one trial export decides */
} ctel_breaker_state;

/* "closed", "open", "half-open". */
CTEL_API const char *ctel_breaker_state_str(ctel_breaker_state state);

/* What an OTLP exporter has done so far. The first block counts attempts
 * (HTTP requests); with the pipeline a retried request counts once per
 * attempt there. The second block is the pipeline's exact accounting of
 * spans (all zero in direct mode):
 *   submitted + recovered = delivered + rejected + dropped_* + queued
 *                           + in_flight + on_disk                        */
typedef struct ctel_otlp_exporter_stats {
    uint64_t requests;           /* attempts (answered or not) */
    uint64_t requests_failed;    /* ... that did not get a 2xx answer */
    uint64_t items_sent;         /* spans in attempts answered 2xx, rejected included */
    uint64_t items_rejected;     /* spans the receiver reported in partial_success */
    uint64_t items_failed;       /* spans in attempts that failed */
    uint64_t bytes_sent;         /* request bodies as sent (after compression) */
    uint64_t bytes_encoded;      /* request bodies before compression */
    int last_http_status;        /* of the last answer; 0 if it had none */
    ctel_status last_status;     /* of the last request */
    int64_t last_retry_after_ms; /* Retry-After of the last answer; -1 if none */
    char endpoint[256];          /* the URL in use (cut if longer) */
    char last_error[256];        /* why the last failed request failed; "" if none */

    /* pipeline, in spans */
    uint64_t submitted;          /* handed to the pipeline by export */
    uint64_t recovered;          /* found in the spill directory at start */
    uint64_t delivered;          /* accepted by the receiver */
    uint64_t rejected;           /* refused for good (4xx/5xx other than 429/502-504,
                                    partial_success) */
    uint64_t dropped_queue_full; /* oldest dropped from the full in-memory queue */
    uint64_t dropped_retries_exhausted; /* no spill: retries or deadline ran out */
    uint64_t dropped_spill_full; /* the spill directory was full */
    uint64_t dropped_spill_age;  /* spilled longer ago than the age limit */
    uint64_t dropped_shutdown;   /* no spill: still undelivered at shutdown's deadline */
    uint64_t corrupt_spill_records; /* torn/corrupted records skipped (spans unknown) */
    uint64_t retried;            /* spans re-sent, once per retry */
    uint64_t spilled;            /* written to the spill directory */
    uint64_t replayed;           /* delivered from the spill directory */
    uint64_t queued;             /* in the in-memory queue now */
    uint64_t queued_bytes;
    uint64_t in_flight;          /* in the attempt in progress */
    uint64_t on_disk;            /* in the spill directory now */
    ctel_breaker_state breaker_state;
    uint64_t breaker_opens;
    uint64_t next_attempt_unix_ns; /* while the breaker is open; else 0 */
    uint64_t last_success_unix_ns; /* 0 if never */
} ctel_otlp_exporter_stats;

/* Copies out the stats of an exporter made by ctel_otlp_http_exporter_create.
 * Any thread. CTEL_ERR_INVALID_ARGUMENT if `exp` is not such an exporter. */
CTEL_API ctel_status ctel_otlp_exporter_get_stats(const ctel_span_exporter *exp,
                                                  ctel_otlp_exporter_stats *out);

/* ---- readiness ------------------------------------------------------------ */

typedef enum ctel_probe_reason {
    CTEL_PROBE_OK = 0,          /* answered 2xx: ready */
    CTEL_PROBE_REFUSED = 1,     /* connection refused */
    CTEL_PROBE_DNS = 2,         /* host name did not resolve */
    CTEL_PROBE_TLS = 3,         /* TLS handshake or certificate failed */
    CTEL_PROBE_TIMEOUT = 4,     /* no answer within the deadline */
    CTEL_PROBE_HTTP_STATUS = 5, /* answered, but not 2xx */
    CTEL_PROBE_CONNECTION = 6,  /* connection reset or closed without an answer */
    CTEL_PROBE_CONFIG = 7,      /* the endpoint or options are unusable */
    CTEL_PROBE_OTHER = 8
} ctel_probe_reason;

typedef struct ctel_probe_result {
    bool ready;
    ctel_probe_reason reason;
    int http_status;     /* 0 if there was no answer */
    uint32_t latency_ms; /* from the start of the probe to its outcome */
    char endpoint[256];  /* the URL probed */
    char message[256];   /* one line: why, for humans */
    ctel_breaker_state breaker_state; /* of the exporter's pipeline (ctel_sdk_ready) */
    uint64_t next_attempt_unix_ns;    /* while the breaker is open; else 0 */
} ctel_probe_result;

/* A short name for a reason: "ok", "refused", "dns", "tls", "timeout",
 * "http-status", "connection", "config", "other". */
CTEL_API const char *ctel_probe_reason_str(ctel_probe_reason reason);

/* Is the OTLP/HTTP traces endpoint reachable and accepting OTLP? Sends one
 * minimal export that carries no telemetry (a resource with no spans: a
 * receiver stores nothing) on a fresh connection, within `timeout_ms` (0 =
 * the configured export timeout). Configuration as for the exporter. Fills
 * *out and returns CTEL_OK whatever the verdict; CTEL_ERR_INVALID_ARGUMENT if
 * out is NULL; CTEL_ERR_NO_MEMORY. Blocking; any thread. */
CTEL_API ctel_status ctel_otlp_probe(const ctel_otlp_options *opts, uint32_t timeout_ms,
                                     ctel_probe_result *out);

#ifdef __cplusplus
}
#endif
#endif /* CTEL_OTLP_H */
