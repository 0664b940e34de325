/* exporters/otlp/otlp_trace_exporter.c — the OTLP/HTTP span exporter: encode
 * (protobuf or JSON), split to stay under the request size limit, send over
 * the HTTP transport, read partial_success, keep stats. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "exporters/otlp/http/otlp_http.h"
#include "exporters/otlp/json/otlp_json.h"
#include "exporters/otlp/otlp_config.h"
#include "exporters/otlp/otlp_exporter.h"
#include "exporters/otlp/proto/otlp_proto.h"
#include "sdk/common/fork.h"
#include "sdk/pipeline/delivery.h"

typedef struct otlp_trace_exporter {
    ctel__otlp_http *http;
    ctel_otlp_protocol protocol;
    size_t max_request_bytes;
    ctel__buf body;
    ctel__delivery *delivery; /* NULL in direct mode */
    ctel__otlp_config cfg;    /* as resolved at creation (readiness probes) */
    pthread_mutex_t lock;     /* guards stats and the readiness cache */
    ctel_otlp_exporter_stats stats;
    pthread_mutex_t probe_lock; /* one probe at a time */
    ctel_probe_result ready;    /* the last probe */
    uint64_t ready_at_ns;       /* when it was taken (monotonic); 0: never */
    uint64_t ready_ttl_ns;      /* how long it is reused (CTEL_READY_CACHE_MS) */
    ctel__fork_entry fork_entry;
    /* Set from fork's prepare until the fork is over, and counted: an
     * attempt that ends interrupted meanwhile (or after a fork began) was cut
     * short to park the sender and will be made again — it is no attempt for
     * the stats. */
    _Atomic bool fork_pausing;
    _Atomic uint32_t fork_pauses;
} otlp_trace_exporter;

static void note_failure(otlp_trace_exporter *x, const ctel__otlp_http_result *r, size_t spans)
{
    pthread_mutex_lock(&x->lock);
    x->stats.requests_failed++;
    x->stats.items_failed += spans;
    x->stats.last_status = r->status;
    x->stats.last_http_status = r->http_status;
    x->stats.last_retry_after_ms = r->retry_after_ms;
    snprintf(x->stats.last_error, sizeof x->stats.last_error, "%s", r->message);
    pthread_mutex_unlock(&x->lock);
}

/* partial_success of a 2xx answer, in the request's encoding. */
static void read_partial_success(otlp_trace_exporter *x, const ctel__otlp_http_result *r,
                                 int64_t *rejected, char *msg, size_t cap)
{
    *rejected = 0;
    msg[0] = '\0';
    if (!r->body_len)
        return;
    if (x->protocol == CTEL_OTLP_HTTP_JSON) {
        json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
        json_t *ps = j ? json_object_get(j, "partialSuccess") : NULL;
        json_t *n = ps ? json_object_get(ps, "rejectedSpans") : NULL;
        json_t *m = ps ? json_object_get(ps, "errorMessage") : NULL;
        if (json_is_integer(n))
            *rejected = json_integer_value(n);
        else if (json_is_string(n)) /* int64 travels as a string in OTLP/JSON */
            *rejected = strtoll(json_string_value(n), NULL, 10);
        if (json_is_string(m))
            snprintf(msg, cap, "%s", json_string_value(m));
        if (!j)
            snprintf(msg, cap, "(2xx answer with an undecodable JSON body)");
        json_decref(j);
    } else if (ctel__otlp_proto_parse_trace_response(r->body, r->body_len, rejected, msg, cap) !=
               CTEL_OK) {
        snprintf(msg, cap, "(2xx answer with an undecodable protobuf body, %zu bytes)",
                 r->body_len);
    }
}

/* One HTTP attempt with `n` spans: send, classify, read partial_success,
 * keep the stats. Used directly and as the pipeline's transport. */
static void attempt(otlp_trace_exporter *x, const void *body, size_t len, size_t n,
                    uint32_t timeout_ms, ctel__send_result *out)
{
    ctel__otlp_http_result r;
    uint32_t pauses = atomic_load_explicit(&x->fork_pauses, memory_order_acquire);
    ctel_status rc = ctel__otlp_http_send(x->http, body, len, timeout_ms, &r);
    memset(out, 0, sizeof *out);
    out->status = rc;
    out->http_status = r.http_status;
    out->retry_after_ms = r.retry_after_ms;
    snprintf(out->message, sizeof out->message, "%s", r.message);
    if (rc == CTEL_ERR_SHUTDOWN &&
        (atomic_load_explicit(&x->fork_pausing, memory_order_acquire) ||
         atomic_load_explicit(&x->fork_pauses, memory_order_acquire) != pauses))
        return;
    pthread_mutex_lock(&x->lock);
    x->stats.requests++;
    x->stats.bytes_sent += r.wire_bytes;
    x->stats.bytes_encoded += len;
    pthread_mutex_unlock(&x->lock);
    if (rc != CTEL_OK) {
        CTEL_LOG_LIMITED(CTEL_LOG_WARN, "OTLP traces: export of %zu spans to %s failed: %s", n,
                         ctel__otlp_http_url(x->http), r.message);
        note_failure(x, &r, n);
        return;
    }
    int64_t rejected = 0;
    char msg[200];
    read_partial_success(x, &r, &rejected, msg, sizeof msg);
    if (rejected < 0 || (uint64_t)rejected > n)
        rejected = rejected < 0 ? 0 : (int64_t)n;
    if (rejected || msg[0])
        CTEL_LOG_LIMITED(CTEL_LOG_WARN, "OTLP traces: receiver rejected %lld of %zu spans%s%s",
                         (long long)rejected, n, msg[0] ? ": " : "", msg);
    out->rejected = (uint64_t)rejected;
    pthread_mutex_lock(&x->lock);
    x->stats.items_sent += n;
    x->stats.items_rejected += (uint64_t)rejected;
    x->stats.last_status = CTEL_OK;
    x->stats.last_http_status = r.http_status;
    x->stats.last_retry_after_ms = r.retry_after_ms;
    pthread_mutex_unlock(&x->lock);
}

/* The pipeline's view of the transport. */
static void pipeline_send(void *state, const void *body, size_t len, uint32_t items,
                          uint32_t timeout_ms, ctel__send_result *res)
{
    attempt(state, body, len, items, timeout_ms, res);
}

static void pipeline_interrupt(void *state, bool on)
{
    otlp_trace_exporter *x = state;
    ctel__otlp_http_interrupt(x->http, on);
}

static ctel_status encode(otlp_trace_exporter *x, const ctel_span_data *const *spans, size_t n)
{
    if (x->delivery)
        ctel__delivery_reuse_buffer(x->delivery, &x->body); /* after a submit took ours */
    ctel__buf_reset(&x->body);
    return x->protocol == CTEL_OTLP_HTTP_JSON ? ctel__otlp_json_encode_traces(spans, n, &x->body)
                                              : ctel__otlp_proto_encode_traces(spans, n, &x->body);
}

/* Sends spans[0..n) as one request, or as several when the encoding exceeds
 * the size limit (split in halves). Stops at the first failure; *done counts
 * the spans whose requests were answered. */
static ctel_status send_spans(otlp_trace_exporter *x, const ctel_span_data *const *spans, size_t n,
                              uint64_t deadline_ns)
{
    ctel_status rc = encode(x, spans, n);
    if (rc != CTEL_OK) {
        ctel__otlp_http_result r = {.status = rc, .retry_after_ms = -1};
        snprintf(r.message, sizeof r.message, "encoding %zu spans failed: %s", n,
                 ctel_status_str(rc));
        note_failure(x, &r, n);
        return rc;
    }
    if (x->body.len > x->max_request_bytes) {
        if (n > 1) {
            size_t half = n / 2;
            rc = send_spans(x, spans, half, deadline_ns);
            if (rc != CTEL_OK) {
                pthread_mutex_lock(&x->lock);
                x->stats.items_failed += n - half; /* not attempted */
                pthread_mutex_unlock(&x->lock);
                return rc;
            }
            return send_spans(x, spans + half, n - half, deadline_ns);
        }
        /* OTLP: a request over the limit must not be sent; record the drop. */
        ctel__otlp_http_result r = {.status = CTEL_ERR_REJECTED, .retry_after_ms = -1};
        snprintf(r.message, sizeof r.message,
                 "span \"%.64s\" encodes to %zu bytes, over the %zu-byte request limit: dropped",
                 spans[0]->name, x->body.len, x->max_request_bytes);
        CTEL_LOG_LIMITED(CTEL_LOG_WARN, "OTLP traces: %s", r.message);
        note_failure(x, &r, 1);
        return CTEL_ERR_REJECTED;
    }
    if (x->delivery) {
        /* the pipeline takes the encoded request over */
        /* Queued, or spilled; a full queue dropped older requests, and a
         * request the pipeline had no memory for was dropped — both counted
         * by the pipeline, so not reported again as a failed export. */
        uint32_t budget = 0;
        if (deadline_ns != UINT64_MAX) {
            uint64_t now = ctel__mono_ns();
            budget = now < deadline_ns ? (uint32_t)((deadline_ns - now) / 1000000u) : 1;
            budget = budget ? budget : 1;
        }
        ctel_status qrc = ctel__delivery_submit(x->delivery, &x->body, (uint32_t)n, budget);
        return qrc == CTEL_ERR_QUEUE_FULL || qrc == CTEL_ERR_NO_MEMORY ? CTEL_OK : qrc;
    }
    uint32_t left = 0;
    if (deadline_ns != UINT64_MAX) {
        uint64_t now = ctel__mono_ns();
        if (now >= deadline_ns) {
            ctel__otlp_http_result r = {.status = CTEL_ERR_TIMEOUT, .retry_after_ms = -1};
            snprintf(r.message, sizeof r.message, "export deadline passed before sending");
            note_failure(x, &r, n);
            return CTEL_ERR_TIMEOUT;
        }
        left = (uint32_t)((deadline_ns - now + 999999u) / 1000000u);
    }
    ctel__send_result res;
    attempt(x, x->body.data, x->body.len, n, left, &res);
    return res.status;
}

static ctel_status otlp_export(void *state, const ctel_span_data *const *spans, size_t count,
                               uint32_t timeout_ms)
{
    otlp_trace_exporter *x = state;
    if (count == 0)
        return CTEL_OK; /* never send an empty request */
    return send_spans(x, spans, count, ctel__deadline_ns(timeout_ms));
}

static ctel_status otlp_force_flush(void *state, uint32_t timeout_ms)
{
    otlp_trace_exporter *x = state;
    return x->delivery ? ctel__delivery_flush(x->delivery, timeout_ms) : CTEL_OK;
}

static ctel_status otlp_shutdown(void *state, uint32_t timeout_ms)
{
    otlp_trace_exporter *x = state;
    return x->delivery ? ctel__delivery_shutdown(x->delivery, timeout_ms) : CTEL_OK;
}

static void otlp_destroy(void *state)
{
    otlp_trace_exporter *x = state;
    if (!x)
        return;
    ctel__fork_unregister(&x->fork_entry);
    /* before the transport it uses; a sender that never returned (logged)
     * may still be in the transport: then both stay allocated */
    if (!ctel__delivery_destroy(x->delivery))
        return;
    ctel__otlp_http_destroy(x->http);
    ctel__buf_free(&x->body);
    ctel__otlp_config_free(&x->cfg);
    pthread_mutex_destroy(&x->lock);
    pthread_mutex_destroy(&x->probe_lock);
    ctel__free(x);
}

/* ---- fork (see sdk/common/fork.h) ------------------------------------------- */

static void fork_park(void *obj, uint64_t deadline_ns)
{
    (void)deadline_ns;
    otlp_trace_exporter *x = obj;
    atomic_store_explicit(&x->fork_pausing, true, memory_order_release);
    atomic_fetch_add_explicit(&x->fork_pauses, 1, memory_order_acq_rel);
}

static void fork_parent(void *obj)
{
    otlp_trace_exporter *x = obj;
    atomic_store_explicit(&x->fork_pausing, false, memory_order_release);
}

/* The child's exporter: its own connection, its own stats. Runs before the
 * delivery's child hook starts the new sender. */
static void fork_child(void *obj)
{
    otlp_trace_exporter *x = obj;
    ctel__fork_reinit_mutex(&x->lock);
    ctel__fork_reinit_mutex(&x->probe_lock);
    char endpoint[sizeof x->stats.endpoint];
    memcpy(endpoint, x->stats.endpoint, sizeof endpoint);
    memset(&x->stats, 0, sizeof x->stats);
    memcpy(x->stats.endpoint, endpoint, sizeof endpoint);
    x->stats.last_retry_after_ms = -1;
    x->ready_at_ns = 0;
    ctel__otlp_http_after_fork_child(x->http);
    atomic_store_explicit(&x->fork_pausing, false, memory_order_release);
}

static const ctel__fork_ops k_fork_ops = {
    .park = fork_park,
    .parent = fork_parent,
    .child = fork_child,
};

/* The spill stream of this exporter: <dir>/traces-<FNV-1a of the URL>, so
 * exporters to different endpoints never share one. */
static ctel_status start_pipeline(otlp_trace_exporter *x, const ctel__otlp_config *cfg)
{
    char name[320], dir[1024];
    snprintf(name, sizeof name, "OTLP traces to %s", cfg->url);
    ctel__delivery_options o;
    memset(&o, 0, sizeof o);
    o.name = name;
    o.max_queue_bytes = cfg->queue_max_bytes;
    ctel__retry_policy_from_env(&o.retry);
    if (cfg->spill_dir) {
        uint64_t h = 0xcbf29ce484222325ull;
        for (const char *p = cfg->url; *p; p++)
            h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
        snprintf(dir, sizeof dir, "%s/traces-%016llx", cfg->spill_dir, (unsigned long long)h);
        o.spill_dir = dir;
        o.spill_max_bytes = cfg->spill_max_bytes;
        o.spill_max_age_ms = cfg->spill_max_age_ms;
        o.spill_drop_newest = cfg->spill_drop_newest;
    }
    ctel__delivery_transport t = {x, pipeline_send, pipeline_interrupt};
    return ctel__delivery_create(&o, &t, &x->delivery);
}

ctel_status ctel_otlp_http_exporter_create(const ctel_otlp_options *opts, ctel_span_exporter **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    ctel__otlp_config cfg;
    ctel_status rc = ctel__otlp_config_resolve(opts, "TRACES", "v1/traces", &cfg);
    if (rc != CTEL_OK)
        return rc;
    otlp_trace_exporter *x = ctel__calloc(1, sizeof *x);
    if (!x) {
        ctel__otlp_config_free(&cfg);
        return CTEL_ERR_NO_MEMORY;
    }
    pthread_mutex_init(&x->lock, NULL);
    pthread_mutex_init(&x->probe_lock, NULL);
    x->protocol = cfg.protocol;
    x->max_request_bytes = cfg.max_request_bytes;
    x->stats.last_retry_after_ms = -1;
    snprintf(x->stats.endpoint, sizeof x->stats.endpoint, "%s", cfg.url);
    rc = ctel__otlp_http_create(&cfg, &x->http);
    if (rc == CTEL_OK && !cfg.direct)
        rc = start_pipeline(x, &cfg);
    x->cfg = cfg; /* kept for readiness probes; freed with the exporter */
    int64_t ttl_ms = 1000; /* kept when the variable is unset or invalid */
    (void)ctel__env_int("CTEL_READY_CACHE_MS", 0, 3600000, &ttl_ms);
    x->ready_ttl_ns = (uint64_t)ttl_ms * 1000000u;
    if (rc != CTEL_OK) {
        otlp_destroy(x);
        return rc;
    }
    ctel__fork_register(&x->fork_entry, CTEL__FORK_RANK_EXPORTER, &k_fork_ops, x);
    static const ctel_span_exporter_ops ops = {
        .name = "otlp_http",
        .export_spans = otlp_export,
        .force_flush = otlp_force_flush,
        .shutdown = otlp_shutdown,
        .destroy = otlp_destroy,
    };
    return ctel_span_exporter_create(&ops, x, out);
}

ctel_status ctel_otlp_exporter_get_stats(const ctel_span_exporter *exp,
                                         ctel_otlp_exporter_stats *out)
{
    otlp_trace_exporter *x = ctel__span_exporter_state_of(exp, otlp_export);
    if (!x || !out)
        return CTEL_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&x->lock);
    *out = x->stats;
    pthread_mutex_unlock(&x->lock);
    if (x->delivery) {
        ctel__delivery_stats d;
        ctel__delivery_get_stats(x->delivery, &d);
        out->submitted = d.submitted;
        out->recovered = d.recovered;
        out->delivered = d.delivered;
        out->rejected = d.rejected;
        out->dropped_queue_full = d.dropped_queue_full;
        out->dropped_retries_exhausted = d.dropped_retries_exhausted;
        out->dropped_spill_full = d.dropped_spill_full;
        out->dropped_spill_age = d.dropped_spill_age;
        out->dropped_shutdown = d.dropped_shutdown;
        out->corrupt_spill_records = d.corrupt_spill_records;
        out->retried = d.retried;
        out->spilled = d.spilled;
        out->replayed = d.replayed;
        out->queued = d.queued;
        out->queued_bytes = d.queued_bytes;
        out->in_flight = d.in_flight;
        out->on_disk = d.on_disk;
        out->breaker_state = d.breaker_state;
        out->breaker_opens = d.breaker_opens;
        out->next_attempt_unix_ns = d.next_attempt_unix_ns;
        out->last_success_unix_ns = d.last_success_unix_ns;
    }
    return CTEL_OK;
}

struct ctel__delivery *ctel__otlp_exporter_delivery(const ctel_span_exporter *exp)
{
    otlp_trace_exporter *x = ctel__span_exporter_state_of(exp, otlp_export);
    return x ? x->delivery : NULL;
}

ctel_status ctel__otlp_exporter_ready(const ctel_span_exporter *exp, uint32_t timeout_ms,
                                      ctel_probe_result *out)
{
    otlp_trace_exporter *x = ctel__span_exporter_state_of(exp, otlp_export);
    if (!x || !out)
        return CTEL_ERR_INVALID_ARGUMENT;
    ctel_breaker_state bs = CTEL_BREAKER_CLOSED;
    uint64_t next = 0;
    if (x->delivery)
        bs = ctel__delivery_breaker_state(x->delivery, &next);
    if (bs == CTEL_BREAKER_OPEN && next) {
        /* the pipeline already knows: no probe while the breaker cools down
         * (once the cool-down is over, probe: traffic may have stopped, and
         * readiness must not stay red for want of a trial export) */
        memset(out, 0, sizeof *out);
        snprintf(out->endpoint, sizeof out->endpoint, "%s", x->cfg.url);
        out->reason = CTEL_PROBE_OTHER;
        pthread_mutex_lock(&x->lock);
        snprintf(out->message, sizeof out->message, "circuit breaker open after repeated "
                 "failures (last: %.180s)", x->stats.last_error);
        pthread_mutex_unlock(&x->lock);
        out->breaker_state = bs;
        out->next_attempt_unix_ns = next;
        return CTEL_OK;
    }
    pthread_mutex_lock(&x->probe_lock);
    uint64_t now = ctel__mono_ns();
    ctel_status rc = CTEL_OK;
    if (!x->ready_at_ns || now - x->ready_at_ns >= x->ready_ttl_ns) {
        ctel_probe_result r;
        rc = ctel__otlp_probe_config(&x->cfg, timeout_ms, &r);
        if (rc == CTEL_OK) {
            x->ready = r;
            x->ready_at_ns = ctel__mono_ns();
        }
    }
    *out = x->ready;
    pthread_mutex_unlock(&x->probe_lock);
    out->breaker_state = bs;
    out->next_attempt_unix_ns = next;
    return rc;
}
