/* exporters/otlp/proto/otlp_proto_trace.c — spans to a protobuf
 * ExportTraceServiceRequest, through the protobuf-c structs of proto/.
 *
 * Spans are written by otlp_proto_span.c; only resources and scopes (once
 * per group) go through protobuf-c structs. This runs on the export worker
 * for every batch, so it allocates twice per call whatever the batch holds:
 * one scratch block for the grouping, and one block for the resource and
 * scope structs, carved up with a bump pointer. Strings are not copied: the
 * structs point into the span data, which outlives the call (protobuf-c
 * measures them with strlen: resource and scope strings are NUL-terminated). */
#include "sdk/internal.h"
#include "exporters/otlp/proto/otlp_proto.h"
#include "exporters/otlp/proto/otlp_proto_span.h"
#include "exporters/otlp/proto/pb_wire.h"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array;
typedef Opentelemetry__Proto__Common__V1__KeyValueList pb_kvlist;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event pb_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link pb_link;
typedef Opentelemetry__Proto__Trace__V1__Status pb_status;

/* Every struct above holds pointers or 64-bit members; 8-byte steps keep
 * them all aligned. The sizing pass and the bump allocator round alike. */
#define ARENA_ALIGN 8u
#define ASZ(n) (((n) + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1))

typedef struct arena {
    char *next;
    char *end;
} arena;

/* The sizing pass guarantees the block is big enough; running out means the
 * two passes disagree, a bug, which the caller reports as CTEL_ERR_INTERNAL
 * instead of writing past the block. */
static void *bump(arena *a, size_t n)
{
    n = ASZ(n);
    if (CTEL_UNLIKELY((size_t)(a->end - a->next) < n))
        return NULL;
    void *p = a->next;
    a->next += n;
    return p;
}

/* ---- sizing pass --------------------------------------------------------- */

static size_t attrs_size(const ctel_attribute *attrs, size_t n);

static size_t value_size(const ctel_value *v)
{
    switch (v->type) {
    case CTEL_VALUE_ARRAY: {
        size_t sz = ASZ(sizeof(pb_array)) + ASZ(v->u.array.count * sizeof(pb_any *)) +
                    ASZ(v->u.array.count * sizeof(pb_any));
        for (size_t i = 0; i < v->u.array.count; i++)
            sz += value_size(&v->u.array.items[i]);
        return sz;
    }
    case CTEL_VALUE_KVLIST:
        return ASZ(sizeof(pb_kvlist)) + attrs_size(v->u.kvlist.items, v->u.kvlist.count);
    default:
        return 0; /* scalars live inside the AnyValue itself */
    }
}

/* A KeyValue* array, the KeyValues, their AnyValues, and what those hold. */
static size_t attrs_size(const ctel_attribute *attrs, size_t n)
{
    if (!n)
        return 0;
    size_t sz = ASZ(n * sizeof(pb_kv *)) + ASZ(n * sizeof(pb_kv)) + ASZ(n * sizeof(pb_any));
    for (size_t i = 0; i < n; i++)
        if (attrs[i].value.type >= CTEL_VALUE_ARRAY)
            sz += value_size(&attrs[i].value);
    return sz;
}

/* ---- build pass ---------------------------------------------------------- */

static char *str_or_empty(const char *s)
{
    return (char *)(s ? s : "");
}

static int fill_attrs(arena *a, const ctel_attribute *attrs, size_t n, pb_kv ***out_list);

static int fill_value(arena *a, pb_any *out, const ctel_value *v)
{
    *out = (pb_any)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    switch (v->type) {
    case CTEL_VALUE_STRING:
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        out->string_value = str_or_empty(v->u.string.ptr);
        return 0;
    case CTEL_VALUE_BOOL:
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        out->bool_value = v->u.boolean;
        return 0;
    case CTEL_VALUE_INT:
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        out->int_value = v->u.integer;
        return 0;
    case CTEL_VALUE_DOUBLE:
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        out->double_value = v->u.real;
        return 0;
    case CTEL_VALUE_BYTES:
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
        out->bytes_value.len = v->u.bytes.len;
        out->bytes_value.data = (uint8_t *)v->u.bytes.ptr;
        return 0;
    case CTEL_VALUE_ARRAY: {
        size_t n = v->u.array.count;
        pb_array *arr = bump(a, sizeof *arr);
        pb_any **ptrs = bump(a, n * sizeof *ptrs);
        pb_any *vals = bump(a, n * sizeof *vals);
        if (!arr || (n && (!ptrs || !vals)))
            return -1;
        *arr = (pb_array)OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
        for (size_t i = 0; i < n; i++) {
            ptrs[i] = &vals[i];
            if (fill_value(a, &vals[i], &v->u.array.items[i]) != 0)
                return -1;
        }
        arr->n_values = n;
        arr->values = n ? ptrs : NULL;
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        out->array_value = arr;
        return 0;
    }
    case CTEL_VALUE_KVLIST: {
        pb_kvlist *kvl = bump(a, sizeof *kvl);
        if (!kvl)
            return -1;
        *kvl = (pb_kvlist)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
        if (fill_attrs(a, v->u.kvlist.items, v->u.kvlist.count, &kvl->values) != 0)
            return -1;
        kvl->n_values = v->u.kvlist.count;
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
        out->kvlist_value = kvl;
        return 0;
    }
    default:
        return 0; /* CTEL_VALUE_EMPTY: an AnyValue with no value set */
    }
}

static int fill_attrs(arena *a, const ctel_attribute *attrs, size_t n, pb_kv ***out_list)
{
    *out_list = NULL;
    if (!n)
        return 0;
    pb_kv **ptrs = bump(a, n * sizeof *ptrs);
    pb_kv *kvs = bump(a, n * sizeof *kvs);
    pb_any *vals = bump(a, n * sizeof *vals);
    if (!ptrs || !kvs || !vals)
        return -1;
    for (size_t i = 0; i < n; i++) {
        kvs[i] = (pb_kv)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
        kvs[i].key = str_or_empty(attrs[i].key);
        kvs[i].value = &vals[i];
        ptrs[i] = &kvs[i];
        if (fill_value(a, &vals[i], &attrs[i].value) != 0)
            return -1;
    }
    *out_list = ptrs;
    return 0;
}

/* Span/link flags: W3C flags in bits 0-7, 0x100 = "is-remote is known",
 * 0x200 = remote (trace.proto's SpanFlags), as in the JSON encoder. */

/* ---- grouping ------------------------------------------------------------ */

/* One ScopeSpans: spans sharing a (resource, scope) pair, chained through
 * span_next in batch order. Groups are created in order of first appearance
 * and chained per resource in that order. */
typedef struct scope_group {
    const ctel_scope_info *scope;
    uint32_t res;        /* index of the resource group */
    uint32_t first_span; /* chain through grouping.span_next */
    uint32_t last_span;
    uint32_t next; /* next scope group of the same resource */
    pb_scope *msg;
    size_t scope_len; /* packed InstrumentationScope */
    size_t len;       /* size of the ScopeSpans body */
} scope_group;

typedef struct res_group {
    const ctel_resource *res;
    uint32_t first_sg;
    uint32_t last_sg;
    pb_resource *msg;
    size_t resource_len; /* packed Resource */
    size_t len;          /* size of the ResourceSpans body */
} res_group;

#define NONE UINT32_MAX

typedef struct grouping {
    res_group *rg;
    scope_group *sg;
    uint32_t *span_next;
    const ctel_span_data *const *data; /* the batch */
    size_t *span_len;                  /* exact size of each Span body */
    uint32_t n_rg, n_sg;
} grouping;

static void group_spans(grouping *g, const ctel_span_data *const *spans, size_t count)
{
    uint32_t k = NONE;
    for (uint32_t i = 0; i < count; i++) {
        const ctel_resource *res = spans[i]->resource;
        const ctel_scope_info *scope = spans[i]->scope;
        /* Batches usually hold one resource and a few scopes, often in runs:
         * try the previous span's group before scanning. */
        if (k == NONE || g->sg[k].scope != scope || g->rg[g->sg[k].res].res != res) {
            for (k = 0; k < g->n_sg; k++)
                if (g->sg[k].scope == scope && g->rg[g->sg[k].res].res == res)
                    break;
            if (k == g->n_sg) {
                uint32_t r;
                for (r = 0; r < g->n_rg; r++)
                    if (g->rg[r].res == res)
                        break;
                if (r == g->n_rg) {
                    g->rg[r] = (res_group){res, k, NONE, NULL, 0, 0};
                    g->n_rg++;
                } else {
                    g->sg[g->rg[r].last_sg].next = k;
                }
                g->rg[r].last_sg = k;
                g->sg[k] = (scope_group){scope, r, i, NONE, NONE, NULL, 0, 0};
                g->n_sg++;
            } else {
                g->span_next[g->sg[k].last_span] = i;
            }
        } else {
            g->span_next[g->sg[k].last_span] = i;
        }
        g->sg[k].last_span = i;
        g->span_next[i] = NONE;
    }
}

static size_t groups_size(const grouping *g)
{
    size_t sz = 0;
    for (uint32_t r = 0; r < g->n_rg; r++) {
        const ctel_resource *res = g->rg[r].res;
        sz += ASZ(sizeof(pb_resource)) +
              attrs_size(ctel_resource_attributes(res), ctel_resource_attribute_count(res));
    }
    for (uint32_t k = 0; k < g->n_sg; k++) {
        const ctel_scope_info *sc = g->sg[k].scope;
        sz += ASZ(sizeof(pb_scope));
        if (sc)
            sz += attrs_size(sc->attributes, sc->attribute_count);
    }
    return sz;
}

static int build_groups(arena *a, grouping *g)
{
    for (uint32_t r = 0; r < g->n_rg; r++) {
        const ctel_resource *res = g->rg[r].res;
        pb_resource *pr = bump(a, sizeof *pr);
        if (!pr)
            return -1;
        *pr = (pb_resource)OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
        size_t nattrs = ctel_resource_attribute_count(res);
        if (fill_attrs(a, ctel_resource_attributes(res), nattrs, &pr->attributes) != 0)
            return -1;
        pr->n_attributes = nattrs;
        g->rg[r].msg = pr;
    }
    for (uint32_t k = 0; k < g->n_sg; k++) {
        const ctel_scope_info *sc = g->sg[k].scope;
        pb_scope *ps = bump(a, sizeof *ps);
        if (!ps)
            return -1;
        *ps = (pb_scope)OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
        if (sc) {
            ps->name = str_or_empty(sc->name);
            ps->version = str_or_empty(sc->version);
            if (fill_attrs(a, sc->attributes, sc->attribute_count, &ps->attributes) != 0)
                return -1;
            ps->n_attributes = sc->attribute_count;
        }
        g->sg[k].msg = ps;
    }
    return 0;
}

/* ---- framing ---------------------------------------------------------------
 * The three outer levels (request, ResourceSpans, ScopeSpans) are written
 * here around Resource and InstrumentationScope (packed by protobuf-c) and
 * the spans (otlp_proto_span.c). Every size is exact, so each length prefix
 * is written once, before its body: no level is moved to fit its prefix. */

/* Field tags of trace_service.proto and trace.proto (all length-delimited). */
#define TAG_REQUEST_RESOURCE_SPANS 0x0a /* ExportTraceServiceRequest.resource_spans = 1 */
#define TAG_RS_RESOURCE 0x0a            /* ResourceSpans.resource = 1 */
#define TAG_RS_SCOPE_SPANS 0x12         /* ResourceSpans.scope_spans = 2 */
#define TAG_RS_SCHEMA_URL 0x1a          /* ResourceSpans.schema_url = 3 */
#define TAG_SS_SCOPE 0x0a               /* ScopeSpans.scope = 1 */
#define TAG_SS_SPANS 0x12               /* ScopeSpans.spans = 2 */
#define TAG_SS_SCHEMA_URL 0x1a          /* ScopeSpans.schema_url = 3 */

static const char *scope_schema(const scope_group *sg)
{
    return sg->scope && sg->scope->schema_url ? sg->scope->schema_url : "";
}

static const char *res_schema(const res_group *rg)
{
    const char *url = ctel_resource_schema_url(rg->res);
    return url ? url : "";
}

/* A schema_url field, absent when empty (proto3). */
static size_t url_size(const char *url)
{
    size_t n = strlen(url);
    return n ? ctel__pb_ld(n) : 0;
}

/* Exact sizes of every level, bottom up (span sizes are in g->span_len);
 * returns the request's size. */
static size_t measure(grouping *g)
{
    size_t total = 0;
    for (uint32_t r = 0; r < g->n_rg; r++) {
        res_group *rg = &g->rg[r];
        rg->resource_len = protobuf_c_message_get_packed_size(&rg->msg->base);
        size_t rlen = ctel__pb_ld(rg->resource_len) + url_size(res_schema(rg));
        for (uint32_t k = rg->first_sg; k != NONE; k = g->sg[k].next) {
            scope_group *sg = &g->sg[k];
            sg->scope_len = protobuf_c_message_get_packed_size(&sg->msg->base);
            size_t slen = ctel__pb_ld(sg->scope_len) + url_size(scope_schema(sg));
            for (uint32_t i = sg->first_span; i != NONE; i = g->span_next[i])
                slen += ctel__pb_ld(g->span_len[i]);
            sg->len = slen;
            rlen += ctel__pb_ld(slen);
        }
        rg->len = rlen;
        total += ctel__pb_ld(rlen);
    }
    return total;
}

/* Writes the request measure() sized; returns its end. */
static uint8_t *write_request(const grouping *g, uint8_t *p)
{
    for (uint32_t r = 0; r < g->n_rg; r++) {
        const res_group *rg = &g->rg[r];
        *p++ = TAG_REQUEST_RESOURCE_SPANS;
        p = ctel__pb_put_varint(p, rg->len);
        *p++ = TAG_RS_RESOURCE;
        p = ctel__pb_put_varint(p, rg->resource_len);
        p += protobuf_c_message_pack(&rg->msg->base, p);
        for (uint32_t k = rg->first_sg; k != NONE; k = g->sg[k].next) {
            const scope_group *sg = &g->sg[k];
            *p++ = TAG_RS_SCOPE_SPANS;
            p = ctel__pb_put_varint(p, sg->len);
            *p++ = TAG_SS_SCOPE;
            p = ctel__pb_put_varint(p, sg->scope_len);
            p += protobuf_c_message_pack(&sg->msg->base, p);
            for (uint32_t i = sg->first_span; i != NONE; i = g->span_next[i]) {
                *p++ = TAG_SS_SPANS;
                p = ctel__pb_put_varint(p, g->span_len[i]);
                p = ctel__otlp_proto_span_write(p, g->data[i]);
            }
            const char *url = scope_schema(sg);
            if (*url)
                p = ctel__pb_put_bytes(p, TAG_SS_SCHEMA_URL, url, strlen(url));
        }
        const char *url = res_schema(rg);
        if (*url)
            p = ctel__pb_put_bytes(p, TAG_RS_SCHEMA_URL, url, strlen(url));
    }
    return p;
}

ctel_status ctel__otlp_proto_encode_traces(const ctel_span_data *const *spans, size_t count,
                                           ctel__buf *out)
{
    if (count == 0) { /* the empty message has no bytes */
        ctel_status rc = ctel__buf_reserve(out, 0);
        if (rc == CTEL_OK)
            out->data[out->len] = '\0';
        return rc;
    }
    if (count >= NONE)
        return CTEL_ERR_INVALID_ARGUMENT;

    /* Scratch for the grouping and sizes: at most `count` groups of each. */
    size_t scratch = ASZ(count * sizeof(res_group)) + ASZ(count * sizeof(scope_group)) +
                     ASZ(count * sizeof(uint32_t)) + ASZ(count * sizeof(size_t));
    char *gmem = ctel__malloc(scratch);
    if (!gmem)
        return CTEL_ERR_NO_MEMORY;
    grouping g = {0};
    g.rg = (res_group *)gmem;
    g.sg = (scope_group *)(gmem + ASZ(count * sizeof(res_group)));
    g.span_next = (uint32_t *)((char *)g.sg + ASZ(count * sizeof(scope_group)));
    g.span_len = (size_t *)((char *)g.span_next + ASZ(count * sizeof(uint32_t)));
    group_spans(&g, spans, count);

    g.data = spans;
    size_t total = groups_size(&g);
    for (size_t i = 0; i < count; i++)
        g.span_len[i] = ctel__otlp_proto_span_size(spans[i]);
    char *block = ctel__malloc(total);
    if (!block) {
        ctel__free(gmem);
        return CTEL_ERR_NO_MEMORY;
    }
    arena a = {block, block + total};
    ctel_status rc = CTEL_OK;
    if (build_groups(&a, &g) != 0)
        rc = CTEL_ERR_INTERNAL;
    if (rc == CTEL_ERR_INTERNAL)
        ctel__log(CTEL_LOG_ERROR, "otlp proto: encoder sizing mismatch (a ctel bug)");

    if (rc == CTEL_OK) {
        size_t size = measure(&g);
        rc = ctel__buf_reserve(out, size);
        if (rc == CTEL_OK) {
            uint8_t *start = (uint8_t *)out->data + out->len;
            size_t written = (size_t)(write_request(&g, start) - start);
            if (written != size) { /* the sizing and writing passes disagree */
                ctel__log(CTEL_LOG_ERROR, "otlp proto: encoder size mismatch (a ctel bug)");
                rc = CTEL_ERR_INTERNAL;
            } else {
                out->len += size;
                out->data[out->len] = '\0';
            }
        }
    }
    ctel__free(block);
    ctel__free(gmem);
    return rc;
}
