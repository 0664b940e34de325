/* tools/ctel/sink/sink_jdecode.c — OTLP/JSON → ExportTraceServiceRequest.
 *
 * The OTLP/JSON rules: lowerCamelCase names (the proto names are accepted
 * too, as protobuf's JSON mapping does), trace and span ids as hex, enums as
 * integers (their names are accepted too), 64-bit integers as strings or
 * numbers, bytes as base64, unknown fields ignored, null = absent.
 *
 * Every object is malloc'd and hooked into its parent before it is filled,
 * so on any error the whole tree is freed with
 * protobuf_c_message_free_unpacked(root, NULL). */
#include "tools/ctel/sink/sink_internal.h"
#include "sdk/internal.h" /* ctel__hex_value */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

typedef struct jd {
    char *err;
    size_t err_cap;
} jd;

__attribute__((format(printf, 2, 3))) static bool jd_fail(jd *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, d->err_cap, fmt, ap);
    va_end(ap);
    return false;
}

static bool jd_oom(jd *d)
{
    return jd_fail(d, "out of memory");
}

/* The member `camel` (or its proto name `snake`); NULL when absent or null. */
static const json_t *jget(const json_t *o, const char *camel, const char *snake)
{
    const json_t *v = json_object_get(o, camel);
    if (!v && snake)
        v = json_object_get(o, snake);
    return json_is_null(v) ? NULL : v;
}

static bool jd_string(jd *d, const json_t *o, const char *camel, const char *snake, char **out)
{
    const json_t *v = jget(o, camel, snake);
    if (!v)
        return true;
    if (!json_is_string(v))
        return jd_fail(d, "%s: must be a string", camel);
    char *s = strndup(json_string_value(v), json_string_length(v));
    if (!s)
        return jd_oom(d);
    *out = s;
    return true;
}

/* A 64-bit integer given as a JSON number or a decimal string. */
static bool jd_int64(jd *d, const json_t *v, const char *what, bool is_signed, uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (!is_signed && i < 0)
            return jd_fail(d, "%s: must not be negative", what);
        *out = (uint64_t)i;
        return true;
    }
    if (json_is_real(v)) {
        /* Range first, then integrality (no libm: the cast truncates). */
        double x = json_real_value(v);
        bool in_range = is_signed ? (x >= -9.2e18 && x <= 9.2e18) : (x >= 0 && x <= 1.8e19);
        if (!in_range)
            return jd_fail(d, "%s: must be a 64-bit integer", what);
        uint64_t u = is_signed ? (uint64_t)(int64_t)x : (uint64_t)x;
        if ((is_signed ? (double)(int64_t)u : (double)u) != x)
            return jd_fail(d, "%s: must be an integer", what);
        *out = u;
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        if (is_signed) {
            long long x = strtoll(s, &end, 10);
            *out = (uint64_t)x;
        } else {
            if (s[0] == '-')
                return jd_fail(d, "%s: must not be negative", what);
            *out = strtoull(s, &end, 10);
        }
        if (errno || end == s || *end)
            return jd_fail(d, "%s: '%s' is not an integer", what, s);
        return true;
    }
    return jd_fail(d, "%s: must be an integer or a decimal string", what);
}

static bool jd_u64(jd *d, const json_t *o, const char *camel, const char *snake, uint64_t *out)
{
    const json_t *v = jget(o, camel, snake);
    return !v || jd_int64(d, v, camel, false, out);
}

static bool jd_u32(jd *d, const json_t *o, const char *camel, const char *snake, uint32_t *out)
{
    const json_t *v = jget(o, camel, snake);
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffffffffLL)
        return jd_fail(d, "%s: must be an unsigned 32-bit integer", camel);
    *out = (uint32_t)json_integer_value(v);
    return true;
}

/* An enum: its number, or one of its names (names[i] is value i). */
static bool jd_enum(jd *d, const json_t *o, const char *name, const char *const *names, int count,
                    int *out)
{
    const json_t *v = jget(o, name, NULL);
    if (!v)
        return true;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < INT32_MIN || i > INT32_MAX)
            return jd_fail(d, "%s: out of range", name);
        *out = (int)i;
        return true;
    }
    if (json_is_string(v)) {
        for (int i = 0; i < count; i++) {
            if (!strcmp(json_string_value(v), names[i])) {
                *out = i;
                return true;
            }
        }
    }
    return jd_fail(d, "%s: must be an enum number", name);
}

/* A trace or span id: "" (absent) or exactly 2*len hex digits. */
static bool jd_id(jd *d, const json_t *o, const char *camel, const char *snake, size_t len,
                  ProtobufCBinaryData *out)
{
    const json_t *v = jget(o, camel, snake);
    if (!v)
        return true;
    if (!json_is_string(v))
        return jd_fail(d, "%s: must be a hex string", camel);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0)
        return true;
    if (n != 2 * len)
        return jd_fail(d, "%s: '%s' is not %zu hex digits", camel, s, 2 * len);
    uint8_t *b = malloc(len);
    if (!b)
        return jd_oom(d);
    for (size_t i = 0; i < len; i++) {
        int hi = ctel__hex_value(s[2 * i]), lo = ctel__hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return jd_fail(d, "%s: '%s' is not hex", camel, s);
        }
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    out->data = b;
    out->len = len;
    return true;
}

static int jd_b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional. */
static bool jd_base64(jd *d, const char *s, size_t n, ProtobufCBinaryData *out)
{
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return jd_fail(d, "bytesValue: not base64");
    uint8_t *b = malloc(n / 4 * 3 + 3);
    if (!b)
        return jd_oom(d);
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = jd_b64val(s[i]);
        if (v < 0) {
            free(b);
            return jd_fail(d, "bytesValue: not base64");
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (uint8_t)(acc >> bits);
        }
    }
    out->data = b;
    out->len = o;
    return true;
}

static bool jd_is_array(jd *d, const json_t *v, const char *what)
{
    return !v || json_is_array(v) || jd_fail(d, "%s: must be an array", what);
}

/* Fills parent->field (an array of message pointers) from a JSON array,
 * counting parent->n_field up as elements are hooked in. */
#define JD_ARRAY(d, arr, parent, field, parse)                                                     \
    do {                                                                                           \
        const json_t *arr_ = (arr);                                                                \
        if (!jd_is_array(d, arr_, #field))                                                         \
            return false;                                                                          \
        size_t cnt_ = json_array_size(arr_);                                                       \
        if (cnt_) {                                                                                \
            (parent)->field = calloc(cnt_, sizeof *(parent)->field);                               \
            if (!(parent)->field)                                                                  \
                return jd_oom(d);                                                                  \
            for (size_t i_ = 0; i_ < cnt_; i_++) {                                                 \
                bool ok_ = parse(d, json_array_get(arr_, i_), &(parent)->field[i_]);               \
                if ((parent)->field[i_])                                                           \
                    (parent)->n_##field++;                                                         \
                if (!ok_)                                                                          \
                    return false;                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Allocates and initialises *out, or fails. */
#define JD_NEW(d, out, init_fn)                                                                    \
    do {                                                                                           \
        *(out) = malloc(sizeof **(out));                                                           \
        if (!*(out))                                                                               \
            return jd_oom(d);                                                                      \
        init_fn(*(out));                                                                           \
    } while (0)

static bool jd_object(jd *d, const json_t *v, const char *what)
{
    return json_is_object(v) || jd_fail(d, "%s: must be an object", what);
}

static bool jd_kv(jd *d, const json_t *v, ctel__sink_kv **out);

static bool jd_any(jd *d, const json_t *v, ctel__sink_any **out)
{
    JD_NEW(d, out, opentelemetry__proto__common__v1__any_value__init);
    ctel__sink_any *a = *out;
    if (!jd_object(d, v, "value"))
        return false;
    const json_t *x;
    if ((x = jget(v, "stringValue", "string_value"))) {
        if (!json_is_string(x))
            return jd_fail(d, "stringValue: must be a string");
        char *s = strndup(json_string_value(x), json_string_length(x));
        if (!s)
            return jd_oom(d);
        a->string_value = s;
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    } else if ((x = jget(v, "boolValue", "bool_value"))) {
        if (!json_is_boolean(x))
            return jd_fail(d, "boolValue: must be true or false");
        a->bool_value = json_is_true(x);
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    } else if ((x = jget(v, "intValue", "int_value"))) {
        uint64_t u;
        if (!jd_int64(d, x, "intValue", true, &u))
            return false;
        a->int_value = (int64_t)u;
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    } else if ((x = jget(v, "doubleValue", "double_value"))) {
        if (json_is_number(x)) {
            a->double_value = json_number_value(x);
        } else if (json_is_string(x) && !strcmp(json_string_value(x), "NaN")) {
            a->double_value = NAN;
        } else if (json_is_string(x) && !strcmp(json_string_value(x), "Infinity")) {
            a->double_value = INFINITY;
        } else if (json_is_string(x) && !strcmp(json_string_value(x), "-Infinity")) {
            a->double_value = -INFINITY;
        } else {
            return jd_fail(d, "doubleValue: must be a number");
        }
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    } else if ((x = jget(v, "bytesValue", "bytes_value"))) {
        if (!json_is_string(x))
            return jd_fail(d, "bytesValue: must be a base64 string");
        ProtobufCBinaryData b = {0, NULL};
        if (!jd_base64(d, json_string_value(x), json_string_length(x), &b))
            return false;
        a->bytes_value = b;
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    } else if ((x = jget(v, "arrayValue", "array_value"))) {
        if (!jd_object(d, x, "arrayValue"))
            return false;
        ctel__sink_array *arr;
        JD_NEW(d, &arr, opentelemetry__proto__common__v1__array_value__init);
        a->array_value = arr;
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        JD_ARRAY(d, jget(x, "values", NULL), arr, values, jd_any);
    } else if ((x = jget(v, "kvlistValue", "kvlist_value"))) {
        if (!jd_object(d, x, "kvlistValue"))
            return false;
        ctel__sink_kvlist *kl;
        JD_NEW(d, &kl, opentelemetry__proto__common__v1__key_value_list__init);
        a->kvlist_value = kl;
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
        JD_ARRAY(d, jget(x, "values", NULL), kl, values, jd_kv);
    }
    return true;
}

static bool jd_kv(jd *d, const json_t *v, ctel__sink_kv **out)
{
    JD_NEW(d, out, opentelemetry__proto__common__v1__key_value__init);
    ctel__sink_kv *kv = *out;
    if (!jd_object(d, v, "attribute") || !jd_string(d, v, "key", NULL, &kv->key))
        return false;
    const json_t *val = jget(v, "value", NULL);
    return !val || jd_any(d, val, &kv->value);
}

static bool jd_entity_ref(jd *d, const json_t *v, ctel__sink_entity_ref **out)
{
    JD_NEW(d, out, opentelemetry__proto__common__v1__entity_ref__init);
    ctel__sink_entity_ref *e = *out;
    if (!jd_object(d, v, "entityRef") ||
        !jd_string(d, v, "schemaUrl", "schema_url", &e->schema_url) ||
        !jd_string(d, v, "type", NULL, &e->type))
        return false;
    const char *names[2][2] = {{"idKeys", "id_keys"}, {"descriptionKeys", "description_keys"}};
    for (int k = 0; k < 2; k++) {
        const json_t *arr = jget(v, names[k][0], names[k][1]);
        if (!jd_is_array(d, arr, names[k][0]))
            return false;
        size_t n = json_array_size(arr);
        if (!n)
            continue;
        char ***field = k == 0 ? &e->id_keys : &e->description_keys;
        size_t *count = k == 0 ? &e->n_id_keys : &e->n_description_keys;
        *field = calloc(n, sizeof **field);
        if (!*field)
            return jd_oom(d);
        for (size_t i = 0; i < n; i++) {
            const json_t *s = json_array_get(arr, i);
            if (!json_is_string(s))
                return jd_fail(d, "%s: must hold strings", names[k][0]);
            (*field)[i] = strdup(json_string_value(s));
            if (!(*field)[i])
                return jd_oom(d);
            (*count)++;
        }
    }
    return true;
}

static bool jd_event(jd *d, const json_t *v, ctel__sink_event **out)
{
    JD_NEW(d, out, opentelemetry__proto__trace__v1__span__event__init);
    ctel__sink_event *e = *out;
    if (!jd_object(d, v, "event") ||
        !jd_u64(d, v, "timeUnixNano", "time_unix_nano", &e->time_unix_nano) ||
        !jd_string(d, v, "name", NULL, &e->name) ||
        !jd_u32(d, v, "droppedAttributesCount", "dropped_attributes_count",
                &e->dropped_attributes_count))
        return false;
    JD_ARRAY(d, jget(v, "attributes", NULL), e, attributes, jd_kv);
    return true;
}

static bool jd_link(jd *d, const json_t *v, ctel__sink_link **out)
{
    JD_NEW(d, out, opentelemetry__proto__trace__v1__span__link__init);
    ctel__sink_link *l = *out;
    if (!jd_object(d, v, "link") || !jd_id(d, v, "traceId", "trace_id", 16, &l->trace_id) ||
        !jd_id(d, v, "spanId", "span_id", 8, &l->span_id) ||
        !jd_string(d, v, "traceState", "trace_state", &l->trace_state) ||
        !jd_u32(d, v, "droppedAttributesCount", "dropped_attributes_count",
                &l->dropped_attributes_count) ||
        !jd_u32(d, v, "flags", NULL, &l->flags))
        return false;
    JD_ARRAY(d, jget(v, "attributes", NULL), l, attributes, jd_kv);
    return true;
}

static const char *const jd_kinds[] = {
    "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
};
static const char *const jd_codes[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

static bool jd_span(jd *d, const json_t *v, ctel__sink_span **out)
{
    JD_NEW(d, out, opentelemetry__proto__trace__v1__span__init);
    ctel__sink_span *sp = *out;
    int kind = 0;
    if (!jd_object(d, v, "span") || !jd_id(d, v, "traceId", "trace_id", 16, &sp->trace_id) ||
        !jd_id(d, v, "spanId", "span_id", 8, &sp->span_id) ||
        !jd_string(d, v, "traceState", "trace_state", &sp->trace_state) ||
        !jd_id(d, v, "parentSpanId", "parent_span_id", 8, &sp->parent_span_id) ||
        !jd_u32(d, v, "flags", NULL, &sp->flags) || !jd_string(d, v, "name", NULL, &sp->name) ||
        !jd_enum(d, v, "kind", jd_kinds, 6, &kind) ||
        !jd_u64(d, v, "startTimeUnixNano", "start_time_unix_nano", &sp->start_time_unix_nano) ||
        !jd_u64(d, v, "endTimeUnixNano", "end_time_unix_nano", &sp->end_time_unix_nano) ||
        !jd_u32(d, v, "droppedAttributesCount", "dropped_attributes_count",
                &sp->dropped_attributes_count) ||
        !jd_u32(d, v, "droppedEventsCount", "dropped_events_count", &sp->dropped_events_count) ||
        !jd_u32(d, v, "droppedLinksCount", "dropped_links_count", &sp->dropped_links_count))
        return false;
    sp->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)kind;
    JD_ARRAY(d, jget(v, "attributes", NULL), sp, attributes, jd_kv);
    JD_ARRAY(d, jget(v, "events", NULL), sp, events, jd_event);
    JD_ARRAY(d, jget(v, "links", NULL), sp, links, jd_link);
    const json_t *st = jget(v, "status", NULL);
    if (st) {
        if (!jd_object(d, st, "status"))
            return false;
        ctel__sink_status *s;
        JD_NEW(d, &s, opentelemetry__proto__trace__v1__status__init);
        sp->status = s;
        int code = 0;
        if (!jd_string(d, st, "message", NULL, &s->message) ||
            !jd_enum(d, st, "code", jd_codes, 3, &code))
            return false;
        s->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)code;
    }
    return true;
}

static bool jd_scope_spans(jd *d, const json_t *v, ctel__sink_ss **out)
{
    JD_NEW(d, out, opentelemetry__proto__trace__v1__scope_spans__init);
    ctel__sink_ss *ss = *out;
    if (!jd_object(d, v, "scopeSpans") ||
        !jd_string(d, v, "schemaUrl", "schema_url", &ss->schema_url))
        return false;
    const json_t *sc = jget(v, "scope", NULL);
    if (sc) {
        if (!jd_object(d, sc, "scope"))
            return false;
        ctel__sink_scope *scope;
        JD_NEW(d, &scope, opentelemetry__proto__common__v1__instrumentation_scope__init);
        ss->scope = scope;
        if (!jd_string(d, sc, "name", NULL, &scope->name) ||
            !jd_string(d, sc, "version", NULL, &scope->version) ||
            !jd_u32(d, sc, "droppedAttributesCount", "dropped_attributes_count",
                    &scope->dropped_attributes_count))
            return false;
        JD_ARRAY(d, jget(sc, "attributes", NULL), scope, attributes, jd_kv);
    }
    JD_ARRAY(d, jget(v, "spans", NULL), ss, spans, jd_span);
    return true;
}

static bool jd_resource_spans(jd *d, const json_t *v, ctel__sink_rs **out)
{
    JD_NEW(d, out, opentelemetry__proto__trace__v1__resource_spans__init);
    ctel__sink_rs *rs = *out;
    if (!jd_object(d, v, "resourceSpans") ||
        !jd_string(d, v, "schemaUrl", "schema_url", &rs->schema_url))
        return false;
    const json_t *r = jget(v, "resource", NULL);
    if (r) {
        if (!jd_object(d, r, "resource"))
            return false;
        ctel__sink_resource *res;
        JD_NEW(d, &res, opentelemetry__proto__resource__v1__resource__init);
        rs->resource = res;
        if (!jd_u32(d, r, "droppedAttributesCount", "dropped_attributes_count",
                    &res->dropped_attributes_count))
            return false;
        JD_ARRAY(d, jget(r, "attributes", NULL), res, attributes, jd_kv);
        JD_ARRAY(d, jget(r, "entityRefs", "entity_refs"), res, entity_refs, jd_entity_ref);
    }
    JD_ARRAY(d, jget(v, "scopeSpans", "scope_spans"), rs, scope_spans, jd_scope_spans);
    return true;
}

static bool jd_request(jd *d, const json_t *v, ctel__sink_msg *m)
{
    if (!json_is_object(v))
        return jd_fail(d, "the request is not a JSON object");
    JD_ARRAY(d, jget(v, "resourceSpans", "resource_spans"), m, resource_spans, jd_resource_spans);
    return true;
}

ctel__sink_msg *ctel__sink_decode_json(const char *p, size_t n, char *err, size_t err_cap)
{
    jd d = {err, err_cap};
    json_error_t je;
    json_t *root = json_loadb(p, n, 0, &je);
    if (!root) {
        snprintf(err, err_cap, "invalid JSON: %s (line %d)", je.text, je.line);
        return NULL;
    }
    ctel__sink_msg *m = malloc(sizeof *m);
    if (!m) {
        json_decref(root);
        jd_oom(&d);
        return NULL;
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(m);
    bool ok = jd_request(&d, root, m);
    json_decref(root);
    if (!ok) {
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return NULL;
    }
    return m;
}
