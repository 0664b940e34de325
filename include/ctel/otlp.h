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
} ctel_otlp_options;

#define CTEL_OTLP_OPTIONS_INIT                                                                     \
    {NULL, CTEL_OTLP_PROTOCOL_DEFAULT, NULL, -1, CTEL_OTLP_COMPRESSION_DEFAULT, NULL, NULL, NULL,  \
     -1, 0}

/* An OTLP/HTTP span exporter (libcurl, one kept-alive connection). `opts`
 * may be NULL (everything from the environment). Each export sends one
 * request per max_request_bytes of encoded spans and returns:
 *   CTEL_OK               every request answered 2xx (spans the receiver
 *                         reported as rejected in partial_success are
 *                         counted in the stats and logged, not retried);
 *   CTEL_ERR_UNAVAILABLE  retryable: connection refused/reset/closed, DNS,
 *                         TLS, HTTP 429/502/503/504 (Retry-After recorded);
 *   CTEL_ERR_TIMEOUT      the per-request deadline passed;
 *   CTEL_ERR_REJECTED     any other HTTP status: the data will never be
 *                         accepted (the body's message is recorded).
 * This exporter does not retry by itself. Thread-safety: as any exporter,
 * one export at a time; the stats may be read from any thread.
 * Errors: CTEL_ERR_INVALID_ARGUMENT (out NULL), CTEL_ERR_NO_MEMORY,
 * CTEL_ERR_INTERNAL (libcurl could not be initialised). */
CTEL_API ctel_status ctel_otlp_http_exporter_create(const ctel_otlp_options *opts,
                                                    ctel_span_exporter **out);

/* What an OTLP exporter has done so far. */
typedef struct ctel_otlp_exporter_stats {
    uint64_t requests;           /* requests sent (answered or not) */
    uint64_t requests_failed;    /* ... that did not get a 2xx answer */
    uint64_t items_sent;         /* spans in requests answered 2xx, rejected included */
    uint64_t items_rejected;     /* spans the receiver reported in partial_success */
    uint64_t items_failed;       /* spans in requests that failed */
    uint64_t bytes_sent;         /* request bodies as sent (after compression) */
    uint64_t bytes_encoded;      /* request bodies before compression */
    int last_http_status;        /* of the last answer; 0 if it had none */
    ctel_status last_status;     /* of the last request */
    int64_t last_retry_after_ms; /* Retry-After of the last answer; -1 if none */
    char endpoint[256];          /* the URL in use (cut if longer) */
    char last_error[256];        /* why the last failed request failed; "" if none */
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
