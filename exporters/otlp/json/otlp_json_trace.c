/* exporters/otlp/json/otlp_json_trace.c — spans to an OTLP/JSON
 * ExportTraceServiceRequest. */
#include "sdk/internal.h"
#include "exporters/otlp/json/otlp_json.h"

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        ctel_status rc_ = (expr);                                                                  \
        if (rc_ != CTEL_OK)                                                                        \
            return rc_;                                                                            \
    } while (0)

static ctel_status hex_field(ctel__buf *b, const char *key, const uint8_t *id, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char hex[33];
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[id[i] >> 4];
        hex[2 * i + 1] = digits[id[i] & 15];
    }
    TRY(ctel__buf_appendf(b, ",\"%s\":\"", key));
    TRY(ctel__buf_append(b, hex, 2 * n));
    return ctel__buf_append_char(b, '"');
}

static ctel_status attrs_field(ctel__buf *b, const ctel_attribute *a, size_t n, uint32_t dropped)
{
    if (n) {
        TRY(ctel__buf_append_str(b, ",\"attributes\":"));
        TRY(ctel__json_attributes(b, a, n));
    }
    if (dropped)
        TRY(ctel__buf_appendf(b, ",\"droppedAttributesCount\":%u", dropped));
    return CTEL_OK;
}

/* Span/link flags: W3C flags in bits 0-7, 0x100 = "is-remote is known",
 * 0x200 = remote (trace.proto's SpanFlags). */
static uint32_t otlp_flags(uint8_t trace_flags, bool remote)
{
    return (uint32_t)trace_flags | 0x100u | (remote ? 0x200u : 0u);
}

static ctel_status encode_span(ctel__buf *b, const ctel_span_data *s)
{
    TRY(ctel__buf_append_char(b, '{'));
    /* hex_field starts with a comma: open with the name instead. */
    TRY(ctel__buf_append_str(b, "\"name\":"));
    TRY(ctel__json_string(b, s->name, s->name_len));
    TRY(hex_field(b, "traceId", s->context.trace_id, 16));
    TRY(hex_field(b, "spanId", s->context.span_id, 8));
    if (s->trace_state_len) {
        TRY(ctel__buf_append_str(b, ",\"traceState\":"));
        TRY(ctel__json_string(b, s->trace_state, s->trace_state_len));
    }
    if (s->has_parent)
        TRY(hex_field(b, "parentSpanId", s->parent_span_id, 8));
    TRY(ctel__buf_appendf(b, ",\"flags\":%u", otlp_flags(s->context.trace_flags,
                                                          s->has_parent && s->parent_is_remote)));
    if (s->kind)
        TRY(ctel__buf_appendf(b, ",\"kind\":%d", (int)s->kind));
    TRY(ctel__buf_appendf(b, ",\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\"",
                          (unsigned long long)s->start_time_unix_nano,
                          (unsigned long long)s->end_time_unix_nano));
    TRY(attrs_field(b, s->attributes, s->attribute_count, s->dropped_attributes_count));
    if (s->event_count) {
        TRY(ctel__buf_append_str(b, ",\"events\":["));
        for (uint32_t i = 0; i < s->event_count; i++) {
            const ctel_span_event_data *e = &s->events[i];
            TRY(ctel__buf_appendf(b, "%s{\"timeUnixNano\":\"%llu\",\"name\":", i ? "," : "",
                                  (unsigned long long)e->time_unix_nano));
            TRY(ctel__json_string(b, e->name, e->name_len));
            TRY(attrs_field(b, e->attributes, e->attribute_count, e->dropped_attributes_count));
            TRY(ctel__buf_append_char(b, '}'));
        }
        TRY(ctel__buf_append_char(b, ']'));
    }
    if (s->dropped_events_count)
        TRY(ctel__buf_appendf(b, ",\"droppedEventsCount\":%u", s->dropped_events_count));
    if (s->link_count) {
        TRY(ctel__buf_append_str(b, ",\"links\":["));
        for (uint32_t i = 0; i < s->link_count; i++) {
            const ctel_span_link_data *l = &s->links[i];
            TRY(ctel__buf_appendf(b, "%s{\"flags\":%u", i ? "," : "",
                                  otlp_flags(l->context.trace_flags, l->context.is_remote)));
            TRY(hex_field(b, "traceId", l->context.trace_id, 16));
            TRY(hex_field(b, "spanId", l->context.span_id, 8));
            if (l->trace_state_len) {
                TRY(ctel__buf_append_str(b, ",\"traceState\":"));
                TRY(ctel__json_string(b, l->trace_state, l->trace_state_len));
            }
            TRY(attrs_field(b, l->attributes, l->attribute_count, l->dropped_attributes_count));
            TRY(ctel__buf_append_char(b, '}'));
        }
        TRY(ctel__buf_append_char(b, ']'));
    }
    if (s->dropped_links_count)
        TRY(ctel__buf_appendf(b, ",\"droppedLinksCount\":%u", s->dropped_links_count));
    TRY(ctel__buf_append_str(b, ",\"status\":{"));
    bool first = true;
    if (s->status_message_len) {
        TRY(ctel__buf_append_str(b, "\"message\":"));
        TRY(ctel__json_string(b, s->status_message, s->status_message_len));
        first = false;
    }
    if (s->status_code)
        TRY(ctel__buf_appendf(b, "%s\"code\":%d", first ? "" : ",", (int)s->status_code));
    return ctel__buf_append_str(b, "}}");
}

static ctel_status encode_scope(ctel__buf *b, const ctel_scope_info *sc)
{
    TRY(ctel__buf_append_str(b, "\"scope\":{"));
    bool comma = false;
    if (sc && sc->name && *sc->name) {
        TRY(ctel__buf_append_str(b, "\"name\":"));
        TRY(ctel__json_string(b, sc->name, strlen(sc->name)));
        comma = true;
    }
    if (sc && sc->version && *sc->version) {
        TRY(ctel__buf_append_str(b, comma ? ",\"version\":" : "\"version\":"));
        TRY(ctel__json_string(b, sc->version, strlen(sc->version)));
        comma = true;
    }
    if (sc && sc->attribute_count) {
        TRY(ctel__buf_append_str(b, comma ? ",\"attributes\":" : "\"attributes\":"));
        TRY(ctel__json_attributes(b, sc->attributes, sc->attribute_count));
    }
    return ctel__buf_append_char(b, '}');
}

ctel_status ctel__otlp_json_encode_traces(const ctel_span_data *const *spans, size_t count,
                                          ctel__buf *b)
{
    /* Group by resource, then scope, in order of first appearance. Batches
     * are small (hundreds of spans, a handful of groups), so a quadratic
     * scan over a "done" mark array beats building hash tables. */
    uint8_t stack_marks[512];
    uint8_t *done = count <= sizeof stack_marks ? stack_marks : ctel__calloc(count, 1);
    if (!done)
        return CTEL_ERR_NO_MEMORY;
    memset(done, 0, count <= sizeof stack_marks ? count : 0);
    ctel_status rc = ctel__buf_append_str(b, "{\"resourceSpans\":[");
    bool first_res = true;
    for (size_t r = 0; r < count && rc == CTEL_OK; r++) {
        if (done[r])
            continue;
        const ctel_resource *res = spans[r]->resource;
        rc = ctel__buf_append_str(b, first_res ? "{\"resource\":{" : ",{\"resource\":{");
        first_res = false;
        size_t nattrs = ctel_resource_attribute_count(res);
        if (rc == CTEL_OK && nattrs) {
            rc = ctel__buf_append_str(b, "\"attributes\":");
            if (rc == CTEL_OK)
                rc = ctel__json_attributes(b, ctel_resource_attributes(res), nattrs);
        }
        if (rc == CTEL_OK)
            rc = ctel__buf_append_str(b, "},\"scopeSpans\":[");
        bool first_scope = true;
        for (size_t s = r; s < count && rc == CTEL_OK; s++) {
            if (done[s] || spans[s]->resource != res)
                continue;
            const ctel_scope_info *scope = spans[s]->scope;
            rc = ctel__buf_append_str(b, first_scope ? "{" : ",{");
            first_scope = false;
            if (rc == CTEL_OK)
                rc = encode_scope(b, scope);
            if (rc == CTEL_OK)
                rc = ctel__buf_append_str(b, ",\"spans\":[");
            bool first_span = true;
            for (size_t i = s; i < count && rc == CTEL_OK; i++) {
                if (done[i] || spans[i]->resource != res || spans[i]->scope != scope)
                    continue;
                done[i] = 1;
                if (!first_span)
                    rc = ctel__buf_append_char(b, ',');
                first_span = false;
                if (rc == CTEL_OK)
                    rc = encode_span(b, spans[i]);
            }
            if (rc == CTEL_OK)
                rc = ctel__buf_append_char(b, ']');
            if (rc == CTEL_OK && scope && scope->schema_url && *scope->schema_url) {
                rc = ctel__buf_append_str(b, ",\"schemaUrl\":");
                if (rc == CTEL_OK)
                    rc = ctel__json_string(b, scope->schema_url, strlen(scope->schema_url));
            }
            if (rc == CTEL_OK)
                rc = ctel__buf_append_char(b, '}');
        }
        if (rc == CTEL_OK)
            rc = ctel__buf_append_char(b, ']');
        const char *url = ctel_resource_schema_url(res);
        if (rc == CTEL_OK && url && *url) {
            rc = ctel__buf_append_str(b, ",\"schemaUrl\":");
            if (rc == CTEL_OK)
                rc = ctel__json_string(b, url, strlen(url));
        }
        if (rc == CTEL_OK)
            rc = ctel__buf_append_char(b, '}');
    }
    if (rc == CTEL_OK)
        rc = ctel__buf_append_str(b, "]}");
    if (done != stack_marks)
        ctel__free(done);
    return rc;
}
