/* tools/ctel/sink/sink_json.c — `ctel sink --out`: a request as one line of
 * OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions): lowerCamelCase
 * names, trace/span ids as lowercase hex, enums as integers, 64-bit integers
 * as decimal strings, bytes as base64; fields at their default are left out. */
#include "tools/ctel/sink/sink_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

typedef struct jw {
    bool ok; /* false once any allocation failed */
} jw;

static void put(jw *w, json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        w->ok = false;
}

static void push(jw *w, json_t *a, json_t *v)
{
    if (!v || json_array_append_new(a, v) != 0)
        w->ok = false;
}

static json_t *u64_str(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return json_string(buf);
}

static void put_str(jw *w, json_t *o, const char *key, const char *s)
{
    if (s && s[0])
        put(w, o, key, json_string(s));
}

static void put_u32(jw *w, json_t *o, const char *key, uint32_t v)
{
    if (v)
        put(w, o, key, json_integer(v));
}

static void put_id(jw *w, json_t *o, const char *key, const ProtobufCBinaryData *id, bool always)
{
    if (!id->len && !always)
        return;
    char *hex = malloc(2 * id->len + 1);
    if (!hex) {
        w->ok = false;
        return;
    }
    ctel__sink_hex(id->data, id->len, hex);
    put(w, o, key, json_string(hex));
    free(hex);
}

static json_t *base64(const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    json_t *s = json_string(out);
    free(out);
    return s;
}

static json_t *kvs_json(jw *w, ctel__sink_kv *const *kvs, size_t n);

static json_t *any_json(jw *w, const ctel__sink_any *v)
{
    json_t *o = json_object();
    if (!o || !v)
        return o;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        put(w, o, "stringValue", json_string(v->string_value ? v->string_value : ""));
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        put(w, o, "boolValue", json_boolean(v->bool_value));
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: {
        char buf[24];
        snprintf(buf, sizeof buf, "%" PRId64, v->int_value);
        put(w, o, "intValue", json_string(buf));
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (isnan(v->double_value))
            put(w, o, "doubleValue", json_string("NaN"));
        else if (isinf(v->double_value))
            put(w, o, "doubleValue", json_string(v->double_value > 0 ? "Infinity" : "-Infinity"));
        else
            put(w, o, "doubleValue", json_real(v->double_value));
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        put(w, o, "bytesValue", base64(v->bytes_value.data, v->bytes_value.len));
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
        json_t *a = json_object(), *vals = json_array();
        for (size_t i = 0; vals && v->array_value && i < v->array_value->n_values; i++)
            push(w, vals, any_json(w, v->array_value->values[i]));
        put(w, a, "values", vals);
        put(w, o, "arrayValue", a);
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        json_t *kl = json_object();
        put(w, kl, "values",
            kvs_json(w, v->kvlist_value ? v->kvlist_value->values : NULL,
                     v->kvlist_value ? v->kvlist_value->n_values : 0));
        put(w, o, "kvlistValue", kl);
        break;
    }
    default:
        break;
    }
    return o;
}

static json_t *kvs_json(jw *w, ctel__sink_kv *const *kvs, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *kv = json_object();
        put(w, kv, "key", json_string(kvs[i]->key ? kvs[i]->key : ""));
        put(w, kv, "value", any_json(w, kvs[i]->value));
        push(w, a, kv);
    }
    return a;
}

static void put_attrs(jw *w, json_t *o, ctel__sink_kv *const *kvs, size_t n, uint32_t dropped)
{
    if (n)
        put(w, o, "attributes", kvs_json(w, kvs, n));
    put_u32(w, o, "droppedAttributesCount", dropped);
}

static json_t *span_json(jw *w, const ctel__sink_span *s)
{
    json_t *o = json_object();
    put_id(w, o, "traceId", &s->trace_id, true);
    put_id(w, o, "spanId", &s->span_id, true);
    put_str(w, o, "traceState", s->trace_state);
    put_id(w, o, "parentSpanId", &s->parent_span_id, false);
    put_u32(w, o, "flags", s->flags);
    put(w, o, "name", json_string(s->name ? s->name : ""));
    if (s->kind)
        put(w, o, "kind", json_integer(s->kind));
    put(w, o, "startTimeUnixNano", u64_str(s->start_time_unix_nano));
    put(w, o, "endTimeUnixNano", u64_str(s->end_time_unix_nano));
    put_attrs(w, o, s->attributes, s->n_attributes, s->dropped_attributes_count);
    if (s->n_events) {
        json_t *evs = json_array();
        for (size_t i = 0; evs && i < s->n_events; i++) {
            const ctel__sink_event *e = s->events[i];
            json_t *eo = json_object();
            put(w, eo, "timeUnixNano", u64_str(e->time_unix_nano));
            put(w, eo, "name", json_string(e->name ? e->name : ""));
            put_attrs(w, eo, e->attributes, e->n_attributes, e->dropped_attributes_count);
            push(w, evs, eo);
        }
        put(w, o, "events", evs);
    }
    put_u32(w, o, "droppedEventsCount", s->dropped_events_count);
    if (s->n_links) {
        json_t *ls = json_array();
        for (size_t i = 0; ls && i < s->n_links; i++) {
            const ctel__sink_link *l = s->links[i];
            json_t *lo = json_object();
            put_id(w, lo, "traceId", &l->trace_id, true);
            put_id(w, lo, "spanId", &l->span_id, true);
            put_str(w, lo, "traceState", l->trace_state);
            put_attrs(w, lo, l->attributes, l->n_attributes, l->dropped_attributes_count);
            put_u32(w, lo, "flags", l->flags);
            push(w, ls, lo);
        }
        put(w, o, "links", ls);
    }
    put_u32(w, o, "droppedLinksCount", s->dropped_links_count);
    if (s->status) {
        json_t *st = json_object();
        put_str(w, st, "message", s->status->message);
        if (s->status->code)
            put(w, st, "code", json_integer(s->status->code));
        put(w, o, "status", st);
    }
    return o;
}

static json_t *resource_json(jw *w, const ctel__sink_resource *r)
{
    json_t *o = json_object();
    put_attrs(w, o, r->attributes, r->n_attributes, r->dropped_attributes_count);
    if (r->n_entity_refs) {
        json_t *refs = json_array();
        for (size_t i = 0; refs && i < r->n_entity_refs; i++) {
            const ctel__sink_entity_ref *e = r->entity_refs[i];
            json_t *eo = json_object();
            put_str(w, eo, "schemaUrl", e->schema_url);
            put_str(w, eo, "type", e->type);
            json_t *ids = json_array(), *desc = json_array();
            for (size_t k = 0; ids && k < e->n_id_keys; k++)
                push(w, ids, json_string(e->id_keys[k]));
            for (size_t k = 0; desc && k < e->n_description_keys; k++)
                push(w, desc, json_string(e->description_keys[k]));
            put(w, eo, "idKeys", ids);
            put(w, eo, "descriptionKeys", desc);
            push(w, refs, eo);
        }
        put(w, o, "entityRefs", refs);
    }
    return o;
}

char *ctel__sink_to_json(const ctel__sink_msg *m)
{
    jw w = {true};
    json_t *root = json_object();
    json_t *rss = json_array();
    for (size_t r = 0; rss && r < m->n_resource_spans; r++) {
        const ctel__sink_rs *rs = m->resource_spans[r];
        json_t *ro = json_object();
        if (rs->resource)
            put(&w, ro, "resource", resource_json(&w, rs->resource));
        json_t *sss = json_array();
        for (size_t j = 0; sss && j < rs->n_scope_spans; j++) {
            const ctel__sink_ss *ss = rs->scope_spans[j];
            json_t *so = json_object();
            if (ss->scope) {
                json_t *sc = json_object();
                put_str(&w, sc, "name", ss->scope->name);
                put_str(&w, sc, "version", ss->scope->version);
                put_attrs(&w, sc, ss->scope->attributes, ss->scope->n_attributes,
                          ss->scope->dropped_attributes_count);
                put(&w, so, "scope", sc);
            }
            json_t *spans = json_array();
            for (size_t k = 0; spans && k < ss->n_spans; k++)
                push(&w, spans, span_json(&w, ss->spans[k]));
            put(&w, so, "spans", spans);
            put_str(&w, so, "schemaUrl", ss->schema_url);
            push(&w, sss, so);
        }
        put(&w, ro, "scopeSpans", sss);
        put_str(&w, ro, "schemaUrl", rs->schema_url);
        push(&w, rss, ro);
    }
    put(&w, root, "resourceSpans", rss);
    char *text = w.ok && root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return text;
}
