/* exporters/otlp/http/otlp_http.c — OTLP/HTTP transport on libcurl. */
#include "exporters/otlp/http/otlp_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "exporters/otlp/proto/otlp_proto.h"

#define RESPONSE_CAP (4u * 1024u * 1024u) /* OTLP: responses up to 4 MiB */

struct ctel__otlp_http {
    CURLM *multi; /* drives `curl` so a send can be interrupted at once */
    CURL *curl;
    _Atomic bool interrupted;
    struct curl_slist *headers;
    ctel__otlp_config cfg; /* owned copies of url, headers, TLS paths */
    const char *content_type;
    ctel__buf response;
    bool response_overflow;
    ctel__buf packed; /* gzip output, reused */
    z_stream z;
    bool z_ready;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    /* Once per process, never cleaned up: other users of libcurl in the
     * application may still need it when ctel is gone. */
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    ctel__otlp_http *t = ud;
    size_t n = size * nmemb;
    if (t->response.len + n > RESPONSE_CAP) {
        t->response_overflow = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return ctel__buf_append(&t->response, ptr, n) == CTEL_OK ? n : 0;
}

static ctel_status copy_config(const ctel__otlp_config *src, ctel__otlp_config *dst)
{
    *dst = *src;
    dst->url = ctel__strdup(src->url);
    dst->certificate = ctel__strdup(src->certificate);
    dst->client_key = ctel__strdup(src->client_key);
    dst->client_certificate = ctel__strdup(src->client_certificate);
    dst->spill_dir = NULL; /* the transport has no use for it */
    dst->headers = NULL;
    dst->header_count = 0;
    bool ok = dst->url && (!src->certificate || dst->certificate) &&
              (!src->client_key || dst->client_key) &&
              (!src->client_certificate || dst->client_certificate);
    if (ok && src->header_count) {
        dst->headers = ctel__calloc(src->header_count, sizeof *dst->headers);
        ok = dst->headers != NULL;
        for (size_t i = 0; ok && i < src->header_count; i++) {
            dst->headers[i] = ctel__strdup(src->headers[i]);
            ok = dst->headers[i] != NULL;
            dst->header_count = i + 1;
        }
    }
    if (!ok) {
        ctel__otlp_config_free(dst);
        return CTEL_ERR_NO_MEMORY;
    }
    return CTEL_OK;
}

static bool add_header(ctel__otlp_http *t, const char *line)
{
    struct curl_slist *n = curl_slist_append(t->headers, line);
    if (!n)
        return false;
    t->headers = n;
    return true;
}

/* Options of the easy handle (at creation, and on the fresh handle a forked
 * child gets). */
static void configure(ctel__otlp_http *t)
{
    CURL *c = t->curl;
    curl_easy_setopt(c, CURLOPT_URL, t->cfg.url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
    /* No signals from libcurl: timeouts must not use SIGALRM in a threaded
     * program (the threaded resolver keeps DNS timeouts working). */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075700 /* 7.87.0 */
    /* Do not wait for a DNS lookup in flight when a transfer ends early
     * (interrupted at shutdown, or timed out). */
    curl_easy_setopt(c, CURLOPT_QUICK_EXIT, 1L);
#endif
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (t->cfg.certificate)
        curl_easy_setopt(c, CURLOPT_CAINFO, t->cfg.certificate);
    if (t->cfg.client_certificate)
        curl_easy_setopt(c, CURLOPT_SSLCERT, t->cfg.client_certificate);
    if (t->cfg.client_key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, t->cfg.client_key);
}

ctel_status ctel__otlp_http_create(const ctel__otlp_config *cfg, ctel__otlp_http **out)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        ctel__log(CTEL_LOG_ERROR, "OTLP/HTTP: libcurl could not be initialised: %s",
                  curl_easy_strerror(curl_init_rc));
        return CTEL_ERR_INTERNAL;
    }
    ctel__otlp_http *t = ctel__calloc(1, sizeof *t);
    if (!t)
        return CTEL_ERR_NO_MEMORY;
    if (copy_config(cfg, &t->cfg) != CTEL_OK) {
        ctel__free(t);
        return CTEL_ERR_NO_MEMORY;
    }
    t->content_type = t->cfg.protocol == CTEL_OTLP_HTTP_JSON ? "application/json"
                                                             : "application/x-protobuf";
    t->curl = curl_easy_init();
    t->multi = curl_multi_init();
    if (!t->curl || !t->multi) {
        ctel__otlp_http_destroy(t);
        return CTEL_ERR_NO_MEMORY;
    }
    char line[128];
    snprintf(line, sizeof line, "Content-Type: %s", t->content_type);
    bool ok = add_header(t, line);
    /* ctel first, then the form the OTLP exporter spec recommends. */
    snprintf(line, sizeof line, "User-Agent: ctel/%s OTel-OTLP-Exporter-C/%s", ctel_version(),
             ctel_version());
    ok = ok && add_header(t, line);
    ok = ok && add_header(t, "Expect:"); /* no 100-continue round trip */
    if (t->cfg.gzip)
        ok = ok && add_header(t, "Content-Encoding: gzip");
    for (size_t i = 0; ok && i < t->cfg.header_count; i++)
        ok = add_header(t, t->cfg.headers[i]);
    if (!ok) {
        ctel__otlp_http_destroy(t);
        return CTEL_ERR_NO_MEMORY;
    }
    configure(t);
    *out = t;
    return CTEL_OK;
}

void ctel__otlp_http_after_fork_child(ctel__otlp_http *t)
{
    /* The inherited handles are deliberately leaked, never cleaned up: the
     * multi handle's connection cache holds the parent's kept-alive TCP (or
     * TLS) connection, whose socket the child shares, and a cleanup could
     * write to it (a TLS close_notify, an HTTP/2 GOAWAY) or shut it down under
     * the parent. Fresh handles open a connection of the child's own. */
    t->curl = curl_easy_init();
    t->multi = curl_multi_init();
    if (t->curl)
        configure(t);
    if (!t->curl || !t->multi)
        ctel__log(CTEL_LOG_ERROR, "OTLP/HTTP: forked child cannot create libcurl handles for %s; "
                                  "its exports will fail",
                  t->cfg.url);
    atomic_store_explicit(&t->interrupted, false, memory_order_release);
}

const char *ctel__otlp_http_url(const ctel__otlp_http *t)
{
    return t->cfg.url;
}

const char *ctel__otlp_http_content_type(const ctel__otlp_http *t)
{
    return t->content_type;
}

void ctel__otlp_http_destroy(ctel__otlp_http *t)
{
    if (!t)
        return;
    if (t->curl)
        curl_easy_cleanup(t->curl);
    if (t->multi)
        curl_multi_cleanup(t->multi);
    curl_slist_free_all(t->headers);
    if (t->z_ready)
        deflateEnd(&t->z);
    ctel__buf_free(&t->response);
    ctel__buf_free(&t->packed);
    ctel__otlp_config_free(&t->cfg);
    ctel__free(t);
}

/* gzip into t->packed with one reused deflate state. Level 1: the export
 * worker's time matters more than the last few percent of ratio. */
static ctel_status gzip_body(ctel__otlp_http *t, const void *in, size_t len)
{
    if (!t->z_ready) {
        memset(&t->z, 0, sizeof t->z);
        if (deflateInit2(&t->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return CTEL_ERR_NO_MEMORY;
        t->z_ready = true;
    } else if (deflateReset(&t->z) != Z_OK) {
        return CTEL_ERR_INTERNAL;
    }
    ctel__buf_reset(&t->packed);
    uLong bound = deflateBound(&t->z, (uLong)len);
    if (ctel__buf_reserve(&t->packed, bound) != CTEL_OK)
        return CTEL_ERR_NO_MEMORY;
    t->z.next_in = (Bytef *)(uintptr_t)in;
    t->z.avail_in = (uInt)len;
    t->z.next_out = (Bytef *)t->packed.data;
    t->z.avail_out = (uInt)bound;
    if (deflate(&t->z, Z_FINISH) != Z_STREAM_END)
        return CTEL_ERR_INTERNAL;
    t->packed.len = bound - t->z.avail_out;
    return CTEL_OK;
}

/* Printable, single-line copy of untrusted text. */
static void copy_text(char *dst, size_t cap, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[o++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    dst[o] = '\0';
    while (o && dst[o - 1] == ' ')
        dst[--o] = '\0';
}

/* The message of an error body: google.rpc.Status (protobuf), JSON
 * {"code":..,"message":..}, or plain text. */
static void error_message(ctel__otlp_http *t, ctel__otlp_http_result *res)
{
    char *ct = NULL;
    curl_easy_getinfo(t->curl, CURLINFO_CONTENT_TYPE, &ct);
    char msg[200] = "";
    if (res->body_len && ct && !strncmp(ct, "application/x-protobuf", 22)) {
        int32_t code = 0;
        if (ctel__otlp_proto_parse_status(res->body, res->body_len, &code, msg, sizeof msg) !=
            CTEL_OK)
            snprintf(msg, sizeof msg, "(undecodable google.rpc.Status body, %zu bytes)",
                     res->body_len);
    } else if (res->body_len && ct && !strncmp(ct, "application/json", 16)) {
        json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
        json_t *m = j ? json_object_get(j, "message") : NULL;
        if (json_is_string(m))
            copy_text(msg, sizeof msg, json_string_value(m), json_string_length(m));
        else
            copy_text(msg, sizeof msg, res->body, res->body_len);
        json_decref(j);
    } else if (res->body_len) {
        copy_text(msg, sizeof msg, res->body, res->body_len);
    }
    snprintf(res->message, sizeof res->message, "HTTP %d%s%s", res->http_status,
             msg[0] ? ": " : "", msg);
}

static void classify_curl_error(ctel__otlp_http *t, CURLcode cc, ctel__otlp_http_result *res)
{
    const char *detail = t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc);
    res->status = CTEL_ERR_UNAVAILABLE;
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        res->reason = CTEL_PROBE_REFUSED;
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        res->reason = CTEL_PROBE_DNS;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        res->reason = CTEL_PROBE_TIMEOUT;
        res->status = CTEL_ERR_TIMEOUT;
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
        res->reason = CTEL_PROBE_TLS;
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        res->reason = CTEL_PROBE_CONNECTION;
        break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        res->reason = CTEL_PROBE_CONFIG;
        res->status = CTEL_ERR_REJECTED;
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        res->reason = CTEL_PROBE_OTHER;
        res->status = CTEL_ERR_SHUTDOWN;
        detail = "interrupted (shutting down)";
        break;
    case CURLE_WRITE_ERROR:
        if (t->response_overflow) {
            res->reason = CTEL_PROBE_OTHER;
            res->status = CTEL_ERR_REJECTED; /* OTLP: an oversized answer is not retried */
            detail = "response larger than 4 MiB";
        } else {
            res->reason = CTEL_PROBE_OTHER;
        }
        break;
    default:
        res->reason = CTEL_PROBE_OTHER;
        break;
    }
    snprintf(res->message, sizeof res->message, "%s", detail);
}

/* Runs the transfer on the multi handle, polling so that
 * ctel__otlp_http_interrupt() can end it at once. The connection stays in the
 * multi handle's cache between sends (keep-alive). */
static CURLcode perform(ctel__otlp_http *t)
{
    if (atomic_load_explicit(&t->interrupted, memory_order_acquire))
        return CURLE_ABORTED_BY_CALLBACK;
    if (curl_multi_add_handle(t->multi, t->curl) != CURLM_OK)
        return CURLE_FAILED_INIT;
    CURLcode cc = CURLE_OK;
    int running = 1;
    for (;;) {
        if (curl_multi_perform(t->multi, &running) != CURLM_OK) {
            cc = CURLE_FAILED_INIT;
            break;
        }
        if (!running) {
            int left;
            CURLMsg *m;
            while ((m = curl_multi_info_read(t->multi, &left)))
                if (m->msg == CURLMSG_DONE && m->easy_handle == t->curl)
                    cc = m->data.result;
            break;
        }
        if (atomic_load_explicit(&t->interrupted, memory_order_acquire)) {
            cc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (curl_multi_poll(t->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
            cc = CURLE_FAILED_INIT;
            break;
        }
    }
    curl_multi_remove_handle(t->multi, t->curl);
    return cc;
}

void ctel__otlp_http_interrupt(ctel__otlp_http *t, bool on)
{
    atomic_store_explicit(&t->interrupted, on, memory_order_release);
    if (on && t->multi)
        curl_multi_wakeup(t->multi);
}

ctel_status ctel__otlp_http_send(ctel__otlp_http *t, const void *body, size_t len,
                                 uint32_t timeout_ms, ctel__otlp_http_result *res)
{
    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    if (CTEL_UNLIKELY(!t->curl || !t->multi)) { /* see ctel__otlp_http_after_fork_child */
        res->status = CTEL_ERR_UNAVAILABLE;
        res->reason = CTEL_PROBE_OTHER;
        res->body = "";
        snprintf(res->message, sizeof res->message, "no libcurl handle (out of memory)");
        return res->status;
    }
    uint64_t t0 = ctel__mono_ns();
    const void *payload = body;
    size_t plen = len;
    if (t->cfg.gzip) {
        ctel_status rc = gzip_body(t, body, len);
        if (rc != CTEL_OK) {
            res->status = rc;
            res->reason = CTEL_PROBE_OTHER;
            snprintf(res->message, sizeof res->message, "gzip compression failed");
            return rc;
        }
        payload = t->packed.data;
        plen = t->packed.len;
    }
    uint32_t limit = t->cfg.timeout_ms;
    if (timeout_ms && (!limit || timeout_ms < limit))
        limit = timeout_ms;
    CURL *c = t->curl;
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)plen);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)limit);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)limit);
    ctel__buf_reset(&t->response);
    t->response_overflow = false;
    t->errbuf[0] = '\0';
    res->wire_bytes = plen;

    /* A peer that closes the connection must not kill the process with
     * SIGPIPE: block it around the transfer and swallow one raised here. */
    sigset_t pipe_set, old_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    CURLcode cc = perform(t);
    if (!was_pending) {
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            struct timespec zero = {0, 0};
            while (sigtimedwait(&pipe_set, NULL, &zero) == -1 && errno == EINTR) {
            }
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);

    res->body = t->response.data ? t->response.data : "";
    res->body_len = t->response.len;
    res->latency_ms = (uint32_t)((ctel__mono_ns() - t0) / 1000000u);
    if (cc != CURLE_OK) {
        classify_curl_error(t, cc, res);
        return res->status;
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    res->http_status = (int)code;
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
        res->retry_after_ms = (int64_t)retry_after * 1000;
    if (code >= 200 && code < 300) {
        res->status = CTEL_OK;
        res->reason = CTEL_PROBE_OK;
        return CTEL_OK;
    }
    res->reason = CTEL_PROBE_HTTP_STATUS;
    /* OTLP/HTTP: only these are worth retrying; any other status means the
     * data will never be accepted. */
    res->status = (code == 429 || code == 502 || code == 503 || code == 504)
                      ? CTEL_ERR_UNAVAILABLE
                      : CTEL_ERR_REJECTED;
    error_message(t, res);
    return res->status;
}
