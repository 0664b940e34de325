/* exporters/otlp/proto/otlp_proto_span.c — the Span message written straight
 * from ctel_span_data, the export worker's per-span hot path.
 *
 * The rest of the request (resources, scopes) goes through protobuf-c. Spans
 * are written here because building protobuf-c structs for every span,
 * attribute and value and letting protobuf-c pack them costs its size pass
 * plus a strlen of every string at each nesting level; here the lengths the
 * span data already carries give exact sizes in one cheap pass. The bytes
 * are the ones protobuf-c produces for the same message (fields in field
 * number order, proto3 defaults omitted, the oneof member always written,
 * status always present): the unit test decodes every batch with protobuf-c
 * and checks that re-packing it gives the same bytes. */
#include "exporters/otlp/proto/otlp_proto_span.h"
#include "exporters/otlp/proto/pb_wire.h"

#define TAG CTEL__PB_TAG
#define vlen ctel__pb_varint_len
#define put_varint ctel__pb_put_varint
#define ld ctel__pb_ld
#define put_bytes ctel__pb_put_bytes

static uint8_t *put_fixed64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put_fixed32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

/* ---- AnyValue / KeyValue ---------------------------------------------------- */

static size_t kv_size(const ctel_attribute *a);

static size_t value_size(const ctel_value *v)
{
    size_t n = 0;
    switch (v->type) {
    case CTEL_VALUE_STRING:
        return ld(v->u.string.len);
    case CTEL_VALUE_BOOL:
        return 2;
    case CTEL_VALUE_INT:
        return 1 + vlen((uint64_t)v->u.integer);
    case CTEL_VALUE_DOUBLE:
        return 9;
    case CTEL_VALUE_BYTES:
        return ld(v->u.bytes.len);
    case CTEL_VALUE_ARRAY:
        for (size_t i = 0; i < v->u.array.count; i++)
            n += ld(value_size(&v->u.array.items[i]));
        return ld(n);
    case CTEL_VALUE_KVLIST:
        for (size_t i = 0; i < v->u.kvlist.count; i++)
            n += ld(kv_size(&v->u.kvlist.items[i]));
        return ld(n);
    case CTEL_VALUE_EMPTY:
        break;
    }
    return 0;
}

static size_t kv_size(const ctel_attribute *a)
{
    return (a->key_len ? ld(a->key_len) : 0) + ld(value_size(&a->value));
}

static uint8_t *put_kv(uint8_t *p, const ctel_attribute *a);

/* The AnyValue body (its one member). */
static uint8_t *put_value(uint8_t *p, const ctel_value *v)
{
    size_t n = 0;
    switch (v->type) {
    case CTEL_VALUE_STRING:
        return put_bytes(p, TAG(1, 2), v->u.string.ptr, v->u.string.len);
    case CTEL_VALUE_BOOL:
        *p++ = TAG(2, 0);
        *p++ = v->u.boolean ? 1 : 0;
        return p;
    case CTEL_VALUE_INT:
        *p++ = TAG(3, 0);
        return put_varint(p, (uint64_t)v->u.integer);
    case CTEL_VALUE_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->u.real, sizeof bits);
        *p++ = TAG(4, 1);
        return put_fixed64(p, bits);
    }
    case CTEL_VALUE_BYTES:
        return put_bytes(p, TAG(7, 2), v->u.bytes.ptr, v->u.bytes.len);
    case CTEL_VALUE_ARRAY:
        for (size_t i = 0; i < v->u.array.count; i++)
            n += ld(value_size(&v->u.array.items[i]));
        *p++ = TAG(5, 2);
        p = put_varint(p, n);
        for (size_t i = 0; i < v->u.array.count; i++) {
            *p++ = TAG(1, 2); /* ArrayValue.values */
            p = put_varint(p, value_size(&v->u.array.items[i]));
            p = put_value(p, &v->u.array.items[i]);
        }
        return p;
    case CTEL_VALUE_KVLIST:
        for (size_t i = 0; i < v->u.kvlist.count; i++)
            n += ld(kv_size(&v->u.kvlist.items[i]));
        *p++ = TAG(6, 2);
        p = put_varint(p, n);
        for (size_t i = 0; i < v->u.kvlist.count; i++)
            p = put_kv(p, &v->u.kvlist.items[i]); /* KeyValueList.values = 1 */
        return p;
    case CTEL_VALUE_EMPTY:
        break;
    }
    return p;
}

/* One KeyValue as a field numbered 1 (attributes, values), tag included. */
static uint8_t *put_kv_field(uint8_t *p, uint8_t tag, const ctel_attribute *a)
{
    *p++ = tag;
    p = put_varint(p, kv_size(a));
    if (a->key_len)
        p = put_bytes(p, TAG(1, 2), a->key, a->key_len);
    *p++ = TAG(2, 2);
    p = put_varint(p, value_size(&a->value));
    return put_value(p, &a->value);
}

static uint8_t *put_kv(uint8_t *p, const ctel_attribute *a)
{
    return put_kv_field(p, TAG(1, 2), a);
}

static size_t attrs_size(const ctel_attribute *a, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += ld(kv_size(&a[i]));
    return s;
}

static uint8_t *put_attrs(uint8_t *p, uint8_t tag, const ctel_attribute *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p = put_kv_field(p, tag, &a[i]);
    return p;
}

/* ---- Span ------------------------------------------------------------------ */

static uint32_t span_flags(uint8_t trace_flags, bool remote)
{
    /* W3C flags in bits 0-7, 0x100: "is remote" is known, 0x200: remote */
    return (uint32_t)trace_flags | 0x100u | (remote ? 0x200u : 0u);
}

static size_t u32_size(uint32_t v)
{
    return v ? 1 + vlen(v) : 0;
}

static size_t event_size(const ctel_span_event_data *e)
{
    return (e->time_unix_nano ? 9 : 0) + (e->name_len ? ld(e->name_len) : 0) +
           attrs_size(e->attributes, e->attribute_count) + u32_size(e->dropped_attributes_count);
}

static size_t link_size(const ctel_span_link_data *l)
{
    return ld(16) + ld(8) + (l->trace_state_len ? ld(l->trace_state_len) : 0) +
           attrs_size(l->attributes, l->attribute_count) + u32_size(l->dropped_attributes_count) +
           5;
}

static size_t status_size(const ctel_span_data *s)
{
    return (s->status_message_len ? ld(s->status_message_len) : 0) +
           u32_size((uint32_t)s->status_code);
}

size_t ctel__otlp_proto_span_size(const ctel_span_data *s)
{
    size_t n = ld(16) + ld(8);
    if (s->trace_state_len)
        n += ld(s->trace_state_len);
    if (s->has_parent)
        n += ld(8);
    if (s->name_len)
        n += ld(s->name_len);
    n += u32_size((uint32_t)s->kind);
    n += s->start_time_unix_nano ? 9 : 0;
    n += s->end_time_unix_nano ? 9 : 0;
    n += attrs_size(s->attributes, s->attribute_count);
    n += u32_size(s->dropped_attributes_count);
    for (uint32_t i = 0; i < s->event_count; i++)
        n += ld(event_size(&s->events[i]));
    n += u32_size(s->dropped_events_count);
    for (uint32_t i = 0; i < s->link_count; i++)
        n += ld(link_size(&s->links[i]));
    n += u32_size(s->dropped_links_count);
    n += ld(status_size(s));
    return n + 2 + 4; /* flags: field 16 takes a two-byte tag */
}

static uint8_t *put_u32(uint8_t *p, uint8_t tag, uint32_t v)
{
    if (!v)
        return p;
    *p++ = tag;
    return put_varint(p, v);
}

uint8_t *ctel__otlp_proto_span_write(uint8_t *p, const ctel_span_data *s)
{
    p = put_bytes(p, TAG(1, 2), s->context.trace_id, 16);
    p = put_bytes(p, TAG(2, 2), s->context.span_id, 8);
    if (s->trace_state_len)
        p = put_bytes(p, TAG(3, 2), s->trace_state, s->trace_state_len);
    if (s->has_parent)
        p = put_bytes(p, TAG(4, 2), s->parent_span_id, 8);
    if (s->name_len)
        p = put_bytes(p, TAG(5, 2), s->name, s->name_len);
    p = put_u32(p, TAG(6, 0), (uint32_t)s->kind);
    if (s->start_time_unix_nano) {
        *p++ = TAG(7, 1);
        p = put_fixed64(p, s->start_time_unix_nano);
    }
    if (s->end_time_unix_nano) {
        *p++ = TAG(8, 1);
        p = put_fixed64(p, s->end_time_unix_nano);
    }
    p = put_attrs(p, TAG(9, 2), s->attributes, s->attribute_count);
    p = put_u32(p, TAG(10, 0), s->dropped_attributes_count);
    for (uint32_t i = 0; i < s->event_count; i++) {
        const ctel_span_event_data *e = &s->events[i];
        *p++ = TAG(11, 2);
        p = put_varint(p, event_size(e));
        if (e->time_unix_nano) {
            *p++ = TAG(1, 1);
            p = put_fixed64(p, e->time_unix_nano);
        }
        if (e->name_len)
            p = put_bytes(p, TAG(2, 2), e->name, e->name_len);
        p = put_attrs(p, TAG(3, 2), e->attributes, e->attribute_count);
        p = put_u32(p, TAG(4, 0), e->dropped_attributes_count);
    }
    p = put_u32(p, TAG(12, 0), s->dropped_events_count);
    for (uint32_t i = 0; i < s->link_count; i++) {
        const ctel_span_link_data *l = &s->links[i];
        *p++ = TAG(13, 2);
        p = put_varint(p, link_size(l));
        p = put_bytes(p, TAG(1, 2), l->context.trace_id, 16);
        p = put_bytes(p, TAG(2, 2), l->context.span_id, 8);
        if (l->trace_state_len)
            p = put_bytes(p, TAG(3, 2), l->trace_state, l->trace_state_len);
        p = put_attrs(p, TAG(4, 2), l->attributes, l->attribute_count);
        p = put_u32(p, TAG(5, 0), l->dropped_attributes_count);
        *p++ = TAG(6, 5);
        p = put_fixed32(p, span_flags(l->context.trace_flags, l->context.is_remote));
    }
    p = put_u32(p, TAG(14, 0), s->dropped_links_count);
    *p++ = TAG(15, 2); /* status, always present */
    p = put_varint(p, status_size(s));
    if (s->status_message_len)
        p = put_bytes(p, TAG(2, 2), s->status_message, s->status_message_len);
    p = put_u32(p, TAG(3, 0), (uint32_t)s->status_code);
    *p++ = 0x85; /* field 16, fixed32: (16 << 3 | 5) as a two-byte varint */
    *p++ = 0x01;
    return put_fixed32(p, span_flags(s->context.trace_flags, s->has_parent && s->parent_is_remote));
}
