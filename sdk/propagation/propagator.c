/* sdk/propagation/propagator.c — the composite propagator: W3C trace
 * context and/or W3C baggage, chosen by name or OTEL_PROPAGATORS. */
#include "sdk/internal.h"
#include "sdk/propagation/w3c.h"

enum { PROP_TRACECONTEXT = 1, PROP_BAGGAGE = 2 };

struct ctel_propagator {
    unsigned kinds;
};

static const char *const k_fields_all[] = {"traceparent", "tracestate", "baggage", NULL};
static const char *const k_fields_tc[] = {"traceparent", "tracestate", NULL};
static const char *const k_fields_bg[] = {"baggage", NULL};
static const char *const k_fields_none[] = {NULL};

ctel_status ctel_propagator_create(const char *list, ctel_propagator **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    const char *source = "argument";
    if (!list || !*list) {
        list = ctel__env_get("OTEL_PROPAGATORS");
        source = "OTEL_PROPAGATORS";
    }
    if (!list)
        list = "tracecontext,baggage";
    unsigned kinds = 0;
    bool none = false;
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t n = (size_t)(end - start);
        if (n == 0)
            continue;
        if (n == 12 && ctel__mem_ieq(start, "tracecontext", 12))
            kinds |= PROP_TRACECONTEXT;
        else if (n == 7 && ctel__mem_ieq(start, "baggage", 7))
            kinds |= PROP_BAGGAGE;
        else if (n == 4 && ctel__mem_ieq(start, "none", 4))
            none = true;
        else
            ctel__log(CTEL_LOG_WARN, "%s: propagator \"%.*s\" is not supported by ctel; skipped "
                                     "(supported: tracecontext, baggage, none)",
                      source, (int)(n > 64 ? 64 : n), start);
    }
    if (none && kinds)
        ctel__log(CTEL_LOG_WARN, "%s: \"none\" given together with other propagators; using "
                                 "the others",
                  source);
    ctel_propagator *prop = ctel__calloc(1, sizeof *prop);
    if (!prop)
        return CTEL_ERR_NO_MEMORY;
    prop->kinds = kinds;
    *out = prop;
    return CTEL_OK;
}

void ctel_propagator_destroy(ctel_propagator *prop)
{
    ctel__free(prop);
}

const char *const *ctel_propagator_fields(const ctel_propagator *prop)
{
    if (!prop)
        return k_fields_none;
    switch (prop->kinds) {
    case PROP_TRACECONTEXT | PROP_BAGGAGE: return k_fields_all;
    case PROP_TRACECONTEXT: return k_fields_tc;
    case PROP_BAGGAGE: return k_fields_bg;
    default: return k_fields_none;
    }
}

ctel_status ctel_propagator_inject(const ctel_propagator *prop, const ctel_context *ctx,
                                   const ctel_carrier *carrier)
{
    if (!prop || !carrier || !carrier->set)
        return CTEL_ERR_INVALID_ARGUMENT;
    ctel_context *own = NULL;
    if (!ctx) {
        own = ctel_context_current();
        if (!own)
            return CTEL_ERR_NO_MEMORY;
        ctx = own;
    }
    ctel_status rc = CTEL_OK;
    ctel__buf buf = CTEL__BUF_INIT;
    ctel_span_context sc;
    if ((prop->kinds & PROP_TRACECONTEXT) && ctel_context_span_context(ctx, &sc) &&
        ctel_span_context_is_valid(&sc)) {
        char tp[CTEL__TRACEPARENT_LEN + 1];
        ctel__traceparent_format(&sc, tp);
        rc = carrier->set(carrier->user_data, "traceparent", tp);
        const char *ts = ctel_context_trace_state(ctx);
        if (rc == CTEL_OK && *ts) {
            rc = ctel__tracestate_truncate(ts, strlen(ts), &buf);
            if (rc == CTEL_OK && buf.len)
                rc = carrier->set(carrier->user_data, "tracestate", buf.data);
        }
    }
    const ctel_baggage *bg = ctel_context_baggage(ctx);
    if (rc == CTEL_OK && (prop->kinds & PROP_BAGGAGE) && ctel_baggage_count(bg)) {
        ctel__buf_reset(&buf);
        size_t omitted = 0;
        rc = ctel__baggage_format(bg, &buf, &omitted);
        if (omitted)
            CTEL_LOG_LIMITED(CTEL_LOG_WARN, "baggage: %zu entries not propagated (invalid name, "
                                            "or past 64 members / 8192 bytes)",
                             omitted);
        if (rc == CTEL_OK && buf.len)
            rc = carrier->set(carrier->user_data, "baggage", buf.data);
    }
    ctel__buf_free(&buf);
    ctel_context_release(own);
    return rc;
}

/* All values of a header joined with ','. *count receives how many header
 * fields carried it. Returns CTEL_ERR_NO_MEMORY or CTEL_OK. */
static ctel_status read_header(const ctel_carrier *c, const char *key, ctel__buf *out,
                               size_t *count)
{
    *count = 0;
    if (c->get_all) {
        const char *vals[8];
        size_t n = c->get_all(c->user_data, key, vals, CTEL_ARRAY_LEN(vals));
        *count = n;
        for (size_t i = 0; i < n && i < CTEL_ARRAY_LEN(vals); i++) {
            if (!vals[i])
                continue;
            if (out->len && ctel__buf_append_char(out, ',') != CTEL_OK)
                return CTEL_ERR_NO_MEMORY;
            if (ctel__buf_append_str(out, vals[i]) != CTEL_OK)
                return CTEL_ERR_NO_MEMORY;
        }
        return CTEL_OK;
    }
    const char *v = c->get ? c->get(c->user_data, key) : NULL;
    if (!v)
        return CTEL_OK;
    *count = 1;
    return ctel__buf_append_str(out, v);
}

ctel_status ctel_propagator_extract(const ctel_propagator *prop, const ctel_context *parent,
                                    const ctel_carrier *carrier, ctel_context **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!prop || !carrier || (!carrier->get && !carrier->get_all))
        return CTEL_ERR_INVALID_ARGUMENT;
    ctel__buf hdr = CTEL__BUF_INIT, ts = CTEL__BUF_INIT;
    ctel_status rc = CTEL_OK;
    ctel_context *ctx = parent ? ctel_context_retain(parent) : ctel_context_with_baggage(NULL, NULL);
    if (!ctx)
        return CTEL_ERR_NO_MEMORY;

    if (prop->kinds & PROP_TRACECONTEXT) {
        size_t n = 0;
        ctel_span_context sc;
        rc = read_header(carrier, "traceparent", &hdr, &n);
        if (rc == CTEL_OK && n == 1 && ctel__traceparent_parse(hdr.data, hdr.len, &sc)) {
            ctel__buf_reset(&hdr);
            size_t tn = 0;
            rc = read_header(carrier, "tracestate", &hdr, &tn);
            /* A bad tracestate is dropped alone; the traceparent stands. */
            if (rc == CTEL_OK && tn && !ctel__tracestate_normalize(hdr.data, hdr.len, &ts))
                ctel__log(CTEL_LOG_DEBUG, "tracestate is malformed; dropped");
            if (rc == CTEL_OK) {
                ctel_context *next = ctel_context_with_span_context(ctx, &sc, ts.data);
                if (!next) {
                    rc = CTEL_ERR_NO_MEMORY;
                } else {
                    ctel_context_release(ctx);
                    ctx = next;
                }
            }
        } else if (rc == CTEL_OK && n) {
            ctel__log(CTEL_LOG_DEBUG, "traceparent is malformed or repeated (%zu fields); the "
                                      "trace is not continued",
                      n);
        }
    }
    if (rc == CTEL_OK && (prop->kinds & PROP_BAGGAGE)) {
        size_t n = 0;
        ctel__buf_reset(&hdr);
        rc = read_header(carrier, "baggage", &hdr, &n);
        if (rc == CTEL_OK && n) {
            ctel_baggage *bg = NULL;
            ctel_status prc = ctel__baggage_parse(hdr.data, hdr.len, ctel_context_baggage(ctx),
                                                  &bg);
            if (prc == CTEL_OK) {
                ctel_context *next = ctel_context_with_baggage(ctx, bg);
                ctel_baggage_release(bg);
                if (!next) {
                    rc = CTEL_ERR_NO_MEMORY;
                } else {
                    ctel_context_release(ctx);
                    ctx = next;
                }
            } else if (prc == CTEL_ERR_NO_MEMORY) {
                rc = prc;
            } else {
                ctel__log(CTEL_LOG_DEBUG, "baggage header is malformed; no baggage extracted");
            }
        }
    }
    ctel__buf_free(&hdr);
    ctel__buf_free(&ts);
    if (rc != CTEL_OK) {
        ctel_context_release(ctx);
        return rc;
    }
    *out = ctx;
    return CTEL_OK;
}
