/* exporters/otlp/http/otlp_http.h — the OTLP/HTTP transport on libcurl: one
 * easy handle (so one kept-alive connection) per endpoint, POSTing encoded
 * bodies and classifying the answer. Signal-neutral: the signal's exporter
 * encodes the request and parses the 2xx body (its partial_success). */
#ifndef CTEL_OTLP_HTTP_H
#define CTEL_OTLP_HTTP_H

#include "exporters/otlp/otlp_config.h"
#include "sdk/common/buf.h"

typedef struct ctel__otlp_http ctel__otlp_http;

/* The outcome of one request. `body` points into the transport and stays
 * valid until its next send or destroy. */
typedef struct ctel__otlp_http_result {
    ctel_status status;       /* OK (2xx), UNAVAILABLE, TIMEOUT, REJECTED, or
                                 SHUTDOWN (interrupted) */
    ctel_probe_reason reason; /* what happened, in the probe's terms */
    int http_status;          /* 0 without an answer */
    int64_t retry_after_ms;   /* Retry-After of the answer, -1 if none */
    uint32_t latency_ms;
    size_t wire_bytes;        /* request body bytes sent (after compression) */
    const char *body;         /* response body (NUL-terminated), capped at 4 MiB */
    size_t body_len;
    char message[256];        /* why it failed, or the body's message; "" if none */
} ctel__otlp_http_result;

/* Creates a transport for `cfg` (copied). CTEL_ERR_NO_MEMORY,
 * CTEL_ERR_INTERNAL when libcurl cannot be initialised. */
ctel_status ctel__otlp_http_create(const ctel__otlp_config *cfg, ctel__otlp_http **out);

/* POSTs `len` bytes (gzip-compressed first if configured) and waits for the
 * answer, at most min(configured timeout, timeout_ms) (0 = no limit for
 * either). Never raises SIGPIPE or SIGALRM in the calling thread. Not
 * concurrently on one transport. Returns res->status. */
ctel_status ctel__otlp_http_send(ctel__otlp_http *t, const void *body, size_t len,
                                 uint32_t timeout_ms, ctel__otlp_http_result *res);

/* Interrupts the send in progress (it returns CTEL_ERR_SHUTDOWN within
 * milliseconds) and makes later sends return CTEL_ERR_SHUTDOWN at once, until
 * called again with on=false. Any thread. */
void ctel__otlp_http_interrupt(ctel__otlp_http *t, bool on);

/* In a forked child (only the forking thread runs): gives the transport
 * fresh libcurl handles — so a connection of its own — and clears the
 * interrupt. The inherited handles are leaked on purpose (see the .c). */
void ctel__otlp_http_after_fork_child(ctel__otlp_http *t);

/* The URL in use. */
const char *ctel__otlp_http_url(const ctel__otlp_http *t);
/* The Content-Type the transport sends ("application/x-protobuf" or
 * "application/json"). */
const char *ctel__otlp_http_content_type(const ctel__otlp_http *t);

void ctel__otlp_http_destroy(ctel__otlp_http *t);

#endif
