/* tools/ctel/sink/sink.h — a local OTLP/HTTP receiver ("ctel sink") as an
 * in-process object: the `ctel sink` command runs one, and ctel's own tests
 * start one on 127.0.0.1 to export to over real HTTP.
 *
 * It answers like an OpenTelemetry Collector's OTLP/HTTP receiver:
 *   POST /v1/traces with Content-Type application/x-protobuf or
 *   application/json, optionally Content-Encoding gzip → 200 with an
 *   ExportTraceServiceResponse in the request's encoding;
 *   undecodable body → 400 (google.rpc.Status body); unknown content type →
 *   415; unknown path → 404; method other than POST → 405.
 * Fault injection (ctel_sink_set_faults) makes it misbehave on purpose.
 *
 * Thread-safety: every function may be called from any thread while the
 * sink runs, except ctel_sink_stop (once, not concurrently with others).
 * Requests are served on the sink's own threads. */
#ifndef CTEL_TOOLS_SINK_H
#define CTEL_TOOLS_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef struct ctel_sink ctel_sink;

typedef struct ctel_sink_options {
    const char *host;   /* address to bind; NULL = "127.0.0.1" */
    uint16_t port;      /* 0 = any free port (read it with ctel_sink_port) */
    FILE *print_to;     /* non-NULL: print each request's traces as trees */
    const char *out_path; /* non-NULL: append one OTLP/JSON line per request */
    bool discard;       /* count only: no decoding into messages, no keeping */
    bool keep_requests; /* keep decoded requests for ctel_sink_request() */
    /* HTTPS: the server's certificate chain and key, PEM text (copied). Both
     * NULL: plain HTTP. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
} ctel_sink_options;

/* Faults, applied to the requests that arrive after the call. Counters
 * (fail_count, close_count, partial_count) count down as requests use them;
 * -1 means "every request". */
typedef struct ctel_sink_faults {
    int fail_count;          /* answer this many requests with fail_status */
    int fail_status;         /* e.g. 503, 429, 400 */
    char retry_after[64];    /* "" = no Retry-After header; else sent verbatim */
    int delay_ms;            /* delay every answer by this much (0 = none) */
    int close_count;         /* close this many connections without an answer */
    int partial_count;       /* answer this many with partial_success */
    int64_t partial_rejected; /* rejected_spans in that partial_success */
    int garbage_count;       /* answer this many 200 with an undecodable body */
} ctel_sink_faults;

#define CTEL_SINK_FAULTS_NONE {0, 503, "", 0, 0, 0, 0, 0}

typedef struct ctel_sink_stats {
    uint64_t requests;       /* every request that reached the handler */
    uint64_t accepted;       /* answered 2xx with spans taken */
    uint64_t spans;          /* spans in accepted requests (minus rejected) */
    uint64_t rejected_spans; /* spans reported back as rejected (partial) */
    uint64_t failed;         /* answered with an injected failure status */
    uint64_t closed;         /* connections closed without an answer */
    uint64_t bad_requests;   /* 400/404/405/415 answers */
    uint64_t bytes;          /* request body bytes as received (compressed) */
} ctel_sink_stats;

/* What the sink saw of one request (kept when keep_requests is set). */
typedef struct ctel_sink_request_info {
    char content_type[64];
    char content_encoding[32];
    char user_agent[128];
    size_t body_bytes; /* as received */
    /* The decoded request; owned by the sink, valid until ctel_sink_stop or
     * ctel_sink_clear_requests. */
    const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *request;
} ctel_sink_request_info;

/* Starts listening. Returns 0, or -1 with a message in `err` (e.g. the port
 * is taken). */
int ctel_sink_start(const ctel_sink_options *opts, ctel_sink **out, char *err, size_t err_cap);
uint16_t ctel_sink_port(const ctel_sink *sink);
void ctel_sink_set_faults(ctel_sink *sink, const ctel_sink_faults *faults);
void ctel_sink_get_stats(ctel_sink *sink, ctel_sink_stats *out);
/* Waits until at least `spans` spans were accepted; false on timeout. */
bool ctel_sink_wait_spans(ctel_sink *sink, uint64_t spans, int timeout_ms);
/* Stops listening for `ms` milliseconds (connections are refused), then
 * listens again on the same port. Returns at once. */
void ctel_sink_go_down(ctel_sink *sink, int ms);
/* Kept requests (keep_requests): count, and info on request `i` (copied out). */
size_t ctel_sink_request_count(ctel_sink *sink);
bool ctel_sink_request(ctel_sink *sink, size_t i, ctel_sink_request_info *out);
/* The value of header `name` (case-insensitive) of kept request `i`, copied
 * into buf; false if absent. */
bool ctel_sink_request_header(ctel_sink *sink, size_t i, const char *name, char *buf, size_t cap);
void ctel_sink_clear_requests(ctel_sink *sink);
/* Stops and frees. NULL: no-op. */
void ctel_sink_stop(ctel_sink *sink);

#endif
