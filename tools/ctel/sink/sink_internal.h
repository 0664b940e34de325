/* tools/ctel/sink/sink_internal.h — what the sink's source files share:
 * short names for the OTLP message types, body decoding, the zero-allocation
 * span counter, the tree printer and the OTLP/JSON writer. Every sink .c
 * includes this header first. */
#ifndef CTEL_TOOLS_SINK_INTERNAL_H
#define CTEL_TOOLS_SINK_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "tools/ctel/sink/sink.h"

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest ctel__sink_msg;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse ctel__sink_resp_msg;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess
    ctel__sink_partial_msg;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ctel__sink_rs;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ctel__sink_ss;
typedef Opentelemetry__Proto__Trace__V1__Span ctel__sink_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event ctel__sink_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link ctel__sink_link;
typedef Opentelemetry__Proto__Trace__V1__Status ctel__sink_status;
typedef Opentelemetry__Proto__Resource__V1__Resource ctel__sink_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope ctel__sink_scope;
typedef Opentelemetry__Proto__Common__V1__KeyValue ctel__sink_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue ctel__sink_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue ctel__sink_array;
typedef Opentelemetry__Proto__Common__V1__KeyValueList ctel__sink_kvlist;
typedef Opentelemetry__Proto__Common__V1__EntityRef ctel__sink_entity_ref;

/* Largest body the sink takes, as received and after inflating. */
#define CTEL__SINK_MAX_BODY_BYTES ((size_t)64 << 20)

/* ---- sink.c: the sink object ---- */
typedef struct ctel__sink_header {
    char *name;
    char *value;
} ctel__sink_header;

/* One kept request: the public info plus what backs it. */
typedef struct ctel__sink_kept {
    ctel_sink_request_info info;
    ctel__sink_msg *msg; /* info.request, owned */
    ctel__sink_header *headers;
    size_t n_headers;
} ctel__sink_kept;

struct ctel_sink {
    ctel_sink_options opts; /* host points at `host`; out_path not kept */
    char host[256];
    char *tls_cert, *tls_key; /* PEM copies (HTTPS), or NULL */
    struct sockaddr_storage addr; /* bound address, port filled in */
    socklen_t addr_len;
    uint16_t port;
    FILE *out; /* --out file, written under io_mu */

    /* mu guards everything below up to io_mu. */
    pthread_mutex_t mu;
    pthread_cond_t spans_cv; /* stats.spans went up, or stopping */
    pthread_cond_t wake_cv;  /* stopping / go-down: ends delays, drives control */
    ctel_sink_faults faults;
    ctel_sink_stats stats;
    ctel__sink_kept *kept;
    size_t n_kept, cap_kept;
    bool stopping;
    unsigned down_gen; /* bumped by each go_down: delayed answers give up */
    bool down_pending;
    int down_ms;

    pthread_mutex_t io_mu; /* print_to and out: one request's output at a time */

    pthread_mutex_t daemon_mu; /* daemon is swapped by the control thread */
    struct MHD_Daemon *daemon;
    pthread_t control;
};

/* CLOCK_MONOTONIC now + ms (the condition variables use that clock). */
void ctel__sink_deadline(struct timespec *ts, int ms);
/* Appends a kept request, taking ownership of its contents. s->mu held. */
void ctel__sink_keep(ctel_sink *s, ctel__sink_kept *k);

/* ---- sink_handler.c: MHD callbacks ---- */
enum MHD_Result ctel__sink_access(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls);
void ctel__sink_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe);

/* ---- sink_decode.c ---- */
enum {
    CTEL__SINK_OK = 0,
    CTEL__SINK_BAD = -1,      /* undecodable → 400 */
    CTEL__SINK_TOO_BIG = -2,  /* over CTEL__SINK_MAX_BODY_BYTES → 413 */
    CTEL__SINK_NO_MEMORY = -3 /* → 500 */
};

/* Inflates a gzip body into a new malloc'd buffer (*out, freed by the
 * caller; NUL-terminated one past *out_len, for JSON). Stops at `cap` bytes
 * with CTEL__SINK_TOO_BIG. */
int ctel__sink_gunzip(const uint8_t *in, size_t n, size_t cap, uint8_t **out, size_t *out_len);

/* Counts spans in a serialized ExportTraceServiceRequest without allocating:
 * walks field 1 (ResourceSpans) → field 2 (ScopeSpans) → field 2 (Span),
 * checking every tag, varint and length on the way (and the top-level fields
 * of each span). CTEL__SINK_OK or CTEL__SINK_BAD. */
int ctel__sink_count_spans_pb(const uint8_t *p, size_t n, uint64_t *spans);

/* Counts spans in an OTLP/JSON request (jansson parse, no message built). */
int ctel__sink_count_spans_json(const char *p, size_t n, uint64_t *spans, char *err,
                                size_t err_cap);

/* Spans in a decoded request. */
uint64_t ctel__sink_count_spans(const ctel__sink_msg *m);

/* ---- sink_jdecode.c ---- */
/* Decodes an OTLP/JSON ExportTraceServiceRequest into a message allocated
 * with malloc throughout, so protobuf_c_message_free_unpacked(m, NULL)
 * frees it like an unpacked one. NULL with a reason in `err` when the body is
 * not valid OTLP/JSON (or out of memory). */
ctel__sink_msg *ctel__sink_decode_json(const char *p, size_t n, char *err, size_t err_cap);

/* ---- sink_print.c ---- */
/* Prints the request's traces as indented trees (see sink_print.c). */
void ctel__sink_print(FILE *to, const ctel__sink_msg *m);
/* Human duration of `ns` nanoseconds into buf ("850ns", "1.5ms", "2.00s"). */
void ctel__sink_format_duration(uint64_t ns, char *buf, size_t cap);

/* ---- sink_json.c ---- */
/* The request as one line of OTLP/JSON (no newline), malloc'd; NULL when out
 * of memory. */
char *ctel__sink_to_json(const ctel__sink_msg *m);
/* Lowercase hex of `n` bytes into out (2n+1 bytes). */
void ctel__sink_hex(const uint8_t *p, size_t n, char *out);

#endif
