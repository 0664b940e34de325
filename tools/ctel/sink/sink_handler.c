/* tools/ctel/sink/sink_handler.c — one HTTP request to the sink: routing,
 * body collection, faults, decoding, counting, keeping and the answer a
 * Collector would give. Runs on MHD's per-connection threads. */
#include "tools/ctel/sink/sink_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#define SINK_CT_PROTOBUF "application/x-protobuf"
#define SINK_CT_JSON "application/json"

/* Per-request state (MHD's con_cls). */
typedef struct sink_req {
    int route; /* 0 served; else the status to answer (404, 405, 415) */
    const char *route_msg;
    bool json;
    bool gzip;
    bool too_big;
    uint8_t *body;
    size_t len, cap;
    size_t received; /* body bytes as received */
} sink_req;

/* 1 protobuf, 2 JSON, 0 anything else. Parameters (";charset=...") and case
 * are ignored. */
static int sink_content_kind(const char *ct)
{
    if (!ct)
        return 0;
    ct += strspn(ct, " \t");
    size_t n = strcspn(ct, "; \t");
    if (n == strlen(SINK_CT_PROTOBUF) && !strncasecmp(ct, SINK_CT_PROTOBUF, n))
        return 1;
    if (n == strlen(SINK_CT_JSON) && !strncasecmp(ct, SINK_CT_JSON, n))
        return 2;
    return 0;
}

/* 0 identity, 1 gzip, -1 unsupported. */
static int sink_encoding_kind(const char *ce)
{
    if (!ce)
        return 0;
    ce += strspn(ce, " \t");
    size_t n = strcspn(ce, " \t,");
    if (n == 0 || (n == 8 && !strncasecmp(ce, "identity", 8)))
        return 0;
    if (n == 4 && !strncasecmp(ce, "gzip", 4))
        return 1;
    return -1;
}

static void sink_route(struct MHD_Connection *c, const char *url, const char *method, sink_req *rq)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    int kind = sink_content_kind(ct);
    rq->json = kind == 2;
    if (strcmp(url, "/v1/traces") != 0) {
        rq->route = 404;
        rq->route_msg = "ctel sink serves only /v1/traces";
    } else if (strcmp(method, "POST") != 0) {
        rq->route = 405;
        rq->route_msg = "use POST";
    } else if (kind == 0) {
        rq->route = 415;
        rq->route_msg = "Content-Type must be application/x-protobuf or application/json";
    } else {
        int enc = sink_encoding_kind(
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING));
        if (enc < 0) {
            rq->route = 415;
            rq->route_msg = "Content-Encoding must be gzip or identity";
        }
        rq->gzip = enc == 1;
    }
}

static bool sink_append(sink_req *rq, const char *data, size_t n)
{
    if (rq->too_big)
        return true; /* answered 413 at the end; the rest is not kept */
    if (rq->len + n > CTEL__SINK_MAX_BODY_BYTES) {
        rq->too_big = true;
        return true;
    }
    if (rq->len + n > rq->cap) {
        size_t cap = rq->cap ? rq->cap : 16384;
        while (cap < rq->len + n)
            cap *= 2;
        uint8_t *grown = realloc(rq->body, cap);
        if (!grown)
            return false;
        rq->body = grown;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    return true;
}

static enum MHD_Result sink_send(struct MHD_Connection *c, unsigned status, bool json,
                                 const void *body, size_t len, const char *retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            json ? SINK_CT_JSON : SINK_CT_PROTOBUF);
    if (retry_after && retry_after[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
    if (status == 405)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The gRPC code a Collector puts in the Status body for an HTTP status. */
static int sink_grpc_code(unsigned status)
{
    switch (status) {
    case 400:
        return 3; /* INVALID_ARGUMENT */
    case 401:
        return 16; /* UNAUTHENTICATED */
    case 403:
        return 7; /* PERMISSION_DENIED */
    case 404:
        return 5; /* NOT_FOUND */
    case 405:
        return 12; /* UNIMPLEMENTED */
    case 413:
        return 8; /* RESOURCE_EXHAUSTED */
    case 415:
        return 3;
    case 429:
        return 8;
    case 502:
    case 503:
    case 504:
        return 14; /* UNAVAILABLE */
    default:
        return status >= 500 ? 13 : 2; /* INTERNAL : UNKNOWN */
    }
}

/* An error answer with a google.rpc.Status body in the request's encoding. */
static enum MHD_Result sink_send_status(struct MHD_Connection *c, unsigned status, bool json,
                                        const char *msg, const char *retry_after)
{
    int code = sink_grpc_code(status);
    if (json) {
        json_t *o = json_pack("{s:i,s:s}", "code", code, "message", msg);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        enum MHD_Result ret =
            sink_send(c, status, true, text ? text : "{}", text ? strlen(text) : 2, retry_after);
        free(text);
        return ret;
    }
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = code;
    st.message = (char *)msg;
    uint8_t buf[512];
    size_t n = google__rpc__status__get_packed_size(&st);
    if (n > sizeof buf) {
        st.message = (char *)"";
        n = google__rpc__status__get_packed_size(&st);
    }
    google__rpc__status__pack(&st, buf);
    return sink_send(c, status, false, buf, n, retry_after);
}

/* The plain success answers (an empty ExportTraceServiceResponse, protobuf
 * and JSON) are built once and queued on every connection: the same bytes
 * for every accepted request. Kept for the life of the process. */
static struct MHD_Response *g_plain_ok[2];
static pthread_once_t g_plain_ok_once = PTHREAD_ONCE_INIT;

static void make_plain_ok(void)
{
    for (int json = 0; json < 2; json++) {
        struct MHD_Response *r = MHD_create_response_from_buffer(
            json ? 2 : 0, json ? (void *)"{}" : (void *)"", MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    json ? SINK_CT_JSON : SINK_CT_PROTOBUF);
        g_plain_ok[json] = r;
    }
}

/* The success answer: an ExportTraceServiceResponse, with partial_success
 * when `partial` is set. */
static enum MHD_Result sink_send_ok(struct MHD_Connection *c, bool json, bool partial,
                                    int64_t rejected)
{
    if (!partial) {
        pthread_once(&g_plain_ok_once, make_plain_ok);
        if (g_plain_ok[json])
            return MHD_queue_response(c, 200, g_plain_ok[json]);
        return sink_send(c, 200, json, json ? "{}" : "", json ? 2 : 0, NULL);
    }
    char msg[96];
    snprintf(msg, sizeof msg, "ctel sink: %lld spans rejected (injected partial success)",
             (long long)rejected);
    if (json) {
        char text[256];
        int n = snprintf(
            text, sizeof text,
            "{\"partialSuccess\":{\"rejectedSpans\":\"%lld\",\"errorMessage\":\"%s\"}}",
            (long long)rejected, msg);
        return sink_send(c, 200, true, text, (size_t)n, NULL);
    }
    ctel__sink_partial_msg ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    ps.rejected_spans = rejected;
    ps.error_message = msg;
    ctel__sink_resp_msg resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    resp.partial_success = &ps;
    uint8_t buf[256];
    size_t n =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__get_packed_size(
            &resp);
    if (n > sizeof buf)
        return MHD_NO;
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&resp, buf);
    return sink_send(c, 200, false, buf, n, NULL);
}

/* Bytes that decode neither as protobuf (a length running past the end)
 * nor as JSON. */
static const char sink_garbage[] = "\x0a\xff\xff\xff\x7f<ctel sink garbage>";

/* Uses one of a fault's counted requests: -1 is "every request". */
static bool sink_take(int *count)
{
    if (*count < 0)
        return true;
    if (*count > 0) {
        (*count)--;
        return true;
    }
    return false;
}

typedef struct sink_headers {
    ctel__sink_header *v;
    size_t n, cap;
    bool oom;
} sink_headers;

static enum MHD_Result sink_collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                           const char *value)
{
    (void)kind;
    sink_headers *h = cls;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        ctel__sink_header *grown = realloc(h->v, cap * sizeof *grown);
        if (!grown) {
            h->oom = true;
            return MHD_NO;
        }
        h->v = grown;
        h->cap = cap;
    }
    char *k = strdup(key ? key : "");
    char *v = strdup(value ? value : "");
    if (!k || !v) {
        free(k);
        free(v);
        h->oom = true;
        return MHD_NO;
    }
    h->v[h->n].name = k;
    h->v[h->n].value = v;
    h->n++;
    return MHD_YES;
}

static void sink_header_copy(struct MHD_Connection *c, const char *name, char *buf, size_t cap)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(buf, cap, "%s", v ? v : "");
}

/* Waits out the delay fault; false when the sink stops or goes down first. */
static bool sink_delay(ctel_sink *s, int ms)
{
    struct timespec deadline;
    ctel__sink_deadline(&deadline, ms);
    pthread_mutex_lock(&s->mu);
    unsigned gen = s->down_gen;
    bool ok = true;
    while (!s->stopping && s->down_gen == gen) {
        if (pthread_cond_timedwait(&s->wake_cv, &s->mu, &deadline) == ETIMEDOUT)
            break;
    }
    if (s->stopping || s->down_gen != gen)
        ok = false;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static void sink_count_bad(ctel_sink *s)
{
    pthread_mutex_lock(&s->mu);
    s->stats.bad_requests++;
    pthread_mutex_unlock(&s->mu);
}

/* Decodes (or, discarding, only counts) the body. On success *msg may be
 * NULL (discard). Returns the HTTP status to answer on failure, 0 on
 * success, with a reason in `err`. */
static unsigned sink_decode(ctel_sink *s, sink_req *rq, ctel__sink_msg **msg, uint64_t *spans,
                            char *err, size_t err_cap)
{
    const uint8_t *body = rq->body ? rq->body : (const uint8_t *)"";
    size_t len = rq->len;
    uint8_t *inflated = NULL;
    *msg = NULL;
    *spans = 0;
    if (rq->gzip) {
        int rc = ctel__sink_gunzip(body, len, CTEL__SINK_MAX_BODY_BYTES, &inflated, &len);
        if (rc == CTEL__SINK_TOO_BIG) {
            snprintf(err, err_cap, "inflated body is over %zu bytes", CTEL__SINK_MAX_BODY_BYTES);
            return 413;
        }
        if (rc == CTEL__SINK_NO_MEMORY) {
            snprintf(err, err_cap, "out of memory");
            return 500;
        }
        if (rc != CTEL__SINK_OK) {
            snprintf(err, err_cap, "body is not valid gzip");
            return 400;
        }
        body = inflated;
    }
    unsigned status = 0;
    if (s->opts.discard) {
        int rc = rq->json
                     ? ctel__sink_count_spans_json((const char *)body, len, spans, err, err_cap)
                     : ctel__sink_count_spans_pb(body, len, spans);
        if (rc != CTEL__SINK_OK) {
            if (!rq->json)
                snprintf(err, err_cap, "body is not a valid protobuf ExportTraceServiceRequest");
            status = 400;
        }
    } else if (rq->json) {
        *msg = ctel__sink_decode_json((const char *)body, len, err, err_cap);
        if (!*msg)
            status = 400;
    } else {
        *msg = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, len, body);
        if (!*msg) {
            snprintf(err, err_cap, "body is not a valid protobuf ExportTraceServiceRequest");
            status = 400;
        }
    }
    if (*msg)
        *spans = ctel__sink_count_spans(*msg);
    free(inflated);
    return status;
}

static void sink_output(ctel_sink *s, const ctel__sink_msg *msg)
{
    if (!msg || (!s->opts.print_to && !s->out))
        return;
    char *line = s->out ? ctel__sink_to_json(msg) : NULL;
    pthread_mutex_lock(&s->io_mu);
    if (s->opts.print_to) {
        ctel__sink_print(s->opts.print_to, msg);
        fflush(s->opts.print_to);
    }
    if (s->out && line) {
        fputs(line, s->out);
        fputc('\n', s->out);
        fflush(s->out);
    }
    pthread_mutex_unlock(&s->io_mu);
    free(line);
}

static enum MHD_Result sink_answer(ctel_sink *s, struct MHD_Connection *c, sink_req *rq)
{
    pthread_mutex_lock(&s->mu);
    s->stats.requests++;
    s->stats.bytes += rq->received;
    if (rq->route) {
        s->stats.bad_requests++;
        pthread_mutex_unlock(&s->mu);
        return sink_send_status(c, (unsigned)rq->route, rq->json, rq->route_msg, NULL);
    }
    int delay_ms = s->faults.delay_ms;
    bool close_it = sink_take(&s->faults.close_count);
    bool fail = !close_it && sink_take(&s->faults.fail_count);
    int fail_status = s->faults.fail_status;
    char retry_after[sizeof s->faults.retry_after];
    memcpy(retry_after, s->faults.retry_after, sizeof retry_after);
    pthread_mutex_unlock(&s->mu);

    if (delay_ms > 0 && !sink_delay(s, delay_ms))
        return MHD_NO;
    if (close_it) {
        pthread_mutex_lock(&s->mu);
        s->stats.closed++;
        pthread_mutex_unlock(&s->mu);
        return MHD_NO;
    }
    if (fail) {
        pthread_mutex_lock(&s->mu);
        s->stats.failed++;
        pthread_mutex_unlock(&s->mu);
        if (fail_status < 100 || fail_status > 599)
            fail_status = 503;
        return sink_send_status(c, (unsigned)fail_status, rq->json, "ctel sink: injected failure",
                                retry_after);
    }
    if (rq->too_big) {
        sink_count_bad(s);
        return sink_send_status(c, 413, rq->json, "body is over the sink's limit", NULL);
    }

    char err[160] = "";
    ctel__sink_msg *msg = NULL;
    uint64_t spans = 0;
    unsigned status = sink_decode(s, rq, &msg, &spans, err, sizeof err);
    if (status) {
        sink_count_bad(s);
        return sink_send_status(c, status, rq->json, err, NULL);
    }
    sink_output(s, msg);

    ctel__sink_kept kept;
    memset(&kept, 0, sizeof kept);
    bool keep = msg && s->opts.keep_requests;
    if (keep) {
        sink_headers h = {NULL, 0, 0, false};
        MHD_get_connection_values(c, MHD_HEADER_KIND, sink_collect_header, &h);
        kept.headers = h.v;
        kept.n_headers = h.n;
        sink_header_copy(c, MHD_HTTP_HEADER_CONTENT_TYPE, kept.info.content_type,
                         sizeof kept.info.content_type);
        sink_header_copy(c, MHD_HTTP_HEADER_CONTENT_ENCODING, kept.info.content_encoding,
                         sizeof kept.info.content_encoding);
        sink_header_copy(c, MHD_HTTP_HEADER_USER_AGENT, kept.info.user_agent,
                         sizeof kept.info.user_agent);
        kept.info.body_bytes = rq->received;
        kept.info.request = msg;
        kept.msg = msg;
        msg = NULL;
    }

    pthread_mutex_lock(&s->mu);
    bool garbage = sink_take(&s->faults.garbage_count);
    bool partial = !garbage && sink_take(&s->faults.partial_count);
    int64_t rejected = s->faults.partial_rejected;
    uint64_t rej = 0;
    if (partial && rejected > 0)
        rej = (uint64_t)rejected < spans ? (uint64_t)rejected : spans;
    s->stats.accepted++;
    s->stats.spans += spans - rej;
    s->stats.rejected_spans += rej;
    if (keep)
        ctel__sink_keep(s, &kept);
    pthread_cond_broadcast(&s->spans_cv);
    pthread_mutex_unlock(&s->mu);
    if (msg)
        protobuf_c_message_free_unpacked(&msg->base, NULL);

    if (garbage)
        return sink_send(c, 200, rq->json, sink_garbage, sizeof sink_garbage - 1, NULL);
    return sink_send_ok(c, rq->json, partial, rejected);
}

enum MHD_Result ctel__sink_access(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    ctel_sink *s = cls;
    sink_req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        sink_route(c, url, method, rq);
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (!rq->route && cl) {
            /* Size the buffer once for the common case of a known length. */
            unsigned long long want = strtoull(cl, NULL, 10);
            if (want > 0 && want <= CTEL__SINK_MAX_BODY_BYTES) {
                rq->body = malloc((size_t)want);
                if (rq->body)
                    rq->cap = (size_t)want;
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        rq->received += *upload_size;
        if (!rq->route && !sink_append(rq, upload, *upload_size))
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    return sink_answer(s, c, rq);
}

void ctel__sink_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    sink_req *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}
