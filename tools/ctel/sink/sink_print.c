/* tools/ctel/sink/sink_print.c — `ctel sink --print`: each request's spans
 * as indented trees.
 *
 *   resource service.name=checkout: 3 spans (scope ctel.example 1.0)
 *   trace 4bf92f3577b34da6a3ce929d0e0e4736
 *     GET /cart 12.3ms OK SERVER http.method="GET" http.status_code=200
 *       event exception +1.20ms exception.message="boom"
 *       db.query 1.20ms ERROR: timeout CLIENT db.system="postgres"
 *
 * Spans are grouped by trace id; a span goes under the span of the same
 * request whose span id is its parent_span_id; the others are roots. Spans
 * are ordered by start time. When the request has more than one resource,
 * each span line ends with its service.name in brackets. */
#include "tools/ctel/sink/sink_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void ctel__sink_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void ctel__sink_format_duration(uint64_t ns, char *buf, size_t cap)
{
    if (ns < 1000)
        snprintf(buf, cap, "%" PRIu64 "ns", ns);
    else if (ns < 1000000)
        snprintf(buf, cap, "%.2fus", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, cap, "%.2fms", (double)ns / 1e6);
    else if (ns < UINT64_C(60000000000))
        snprintf(buf, cap, "%.2fs", (double)ns / 1e9);
    else
        snprintf(buf, cap, "%" PRIu64 "m%02" PRIu64 "s", ns / UINT64_C(60000000000),
                 ns / UINT64_C(1000000000) % 60);
}

static void print_value(FILE *to, const ctel__sink_any *v, int depth);

static void print_kvs(FILE *to, ctel__sink_kv *const *kvs, size_t n, const char *sep, int depth)
{
    for (size_t i = 0; i < n; i++) {
        if (!kvs[i])
            continue;
        fprintf(to, "%s%s=", i ? sep : "", kvs[i]->key ? kvs[i]->key : "");
        print_value(to, kvs[i]->value, depth);
    }
}

static void print_value(FILE *to, const ctel__sink_any *v, int depth)
{
    if (depth > 16) {
        fputs("...", to);
        return;
    }
    if (!v) {
        fputs("<empty>", to);
        return;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        fprintf(to, "\"%s\"", v->string_value ? v->string_value : "");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        fputs(v->bool_value ? "true" : "false", to);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        fprintf(to, "%" PRId64, v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        fprintf(to, "%g", v->double_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        fputs("0x", to);
        for (size_t i = 0; i < v->bytes_value.len; i++)
            fprintf(to, "%02x", v->bytes_value.data[i]);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        fputc('[', to);
        for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++) {
            if (i)
                fputs(", ", to);
            print_value(to, v->array_value->values[i], depth + 1);
        }
        fputc(']', to);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        fputc('{', to);
        if (v->kvlist_value)
            print_kvs(to, v->kvlist_value->values, v->kvlist_value->n_values, ", ", depth + 1);
        fputc('}', to);
        break;
    default:
        fputs("<empty>", to);
        break;
    }
}

static const char *service_name(const ctel__sink_rs *rs)
{
    const ctel__sink_resource *r = rs ? rs->resource : NULL;
    for (size_t i = 0; r && i < r->n_attributes; i++) {
        const ctel__sink_kv *kv = r->attributes[i];
        if (kv && kv->key && !strcmp(kv->key, "service.name") && kv->value &&
            kv->value->value_case ==
                OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
            return kv->value->string_value;
    }
    return "unknown_service";
}

static const char *kind_name(int kind)
{
    static const char *const names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                        "CLIENT",      "PRODUCER", "CONSUMER"};
    return kind >= 0 && kind < 6 ? names[kind] : "KIND?";
}

typedef struct pspan {
    const ctel__sink_span *span;
    const char *service;
    long parent;      /* index in the sorted array, -1 = root */
    long first_child; /* children, in start order */
    long next_sibling;
    bool printed;
} pspan;

static int bytes_cmp(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->data, b->data, n) : 0;
    if (c)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Trace id, then start time: traces print together, children in order. */
static int by_trace_start(const void *pa, const void *pb)
{
    const ctel__sink_span *a = ((const pspan *)pa)->span, *b = ((const pspan *)pb)->span;
    int c = bytes_cmp(&a->trace_id, &b->trace_id);
    if (c)
        return c;
    return (a->start_time_unix_nano > b->start_time_unix_nano) -
           (a->start_time_unix_nano < b->start_time_unix_nano);
}

static int by_ids(const void *pa, const void *pb, void *base)
{
    const ctel__sink_span *a = ((const pspan *)base)[*(const long *)pa].span;
    const ctel__sink_span *b = ((const pspan *)base)[*(const long *)pb].span;
    int c = bytes_cmp(&a->trace_id, &b->trace_id);
    return c ? c : bytes_cmp(&a->span_id, &b->span_id);
}

static void print_span(FILE *to, const pspan *p, int depth, bool many_resources)
{
    const ctel__sink_span *s = p->span;
    char dur[32];
    if (s->end_time_unix_nano >= s->start_time_unix_nano && s->start_time_unix_nano)
        ctel__sink_format_duration(s->end_time_unix_nano - s->start_time_unix_nano, dur,
                                   sizeof dur);
    else
        snprintf(dur, sizeof dur, "?");
    fprintf(to, "%*s%s %s", 2 * depth, "", s->name && s->name[0] ? s->name : "<unnamed>", dur);
    if (s->status &&
        s->status->code == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK)
        fputs(" OK", to);
    else if (s->status &&
             s->status->code ==
                 OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR)
        fprintf(to, " ERROR%s%s", s->status->message && s->status->message[0] ? ": " : "",
                s->status->message ? s->status->message : "");
    fprintf(to, " %s", kind_name((int)s->kind));
    if (s->n_attributes) {
        fputc(' ', to);
        print_kvs(to, s->attributes, s->n_attributes, " ", 0);
    }
    if (many_resources)
        fprintf(to, " [%s]", p->service);
    fputc('\n', to);
    for (size_t i = 0; i < s->n_events; i++) {
        const ctel__sink_event *e = s->events[i];
        if (!e)
            continue;
        char at[32];
        if (e->time_unix_nano >= s->start_time_unix_nano && s->start_time_unix_nano) {
            ctel__sink_format_duration(e->time_unix_nano - s->start_time_unix_nano, at, sizeof at);
        } else {
            snprintf(at, sizeof at, "?");
        }
        fprintf(to, "%*sevent %s +%s", 2 * depth + 2, "", e->name ? e->name : "", at);
        if (e->n_attributes) {
            fputc(' ', to);
            print_kvs(to, e->attributes, e->n_attributes, " ", 0);
        }
        fputc('\n', to);
    }
}

/* Depth-first from one root with an explicit stack: deep chains of spans do
 * not recurse. */
static void print_tree(FILE *to, pspan *ps, long root, long *stack, int *depths, bool many)
{
    size_t top = 0;
    stack[top] = root;
    depths[top++] = 1;
    while (top) {
        top--;
        long i = stack[top];
        int depth = depths[top];
        if (ps[i].printed)
            continue;
        ps[i].printed = true;
        print_span(to, &ps[i], depth, many);
        /* Push children in reverse so the earliest pops first. */
        size_t first = top;
        for (long c = ps[i].first_child; c >= 0; c = ps[c].next_sibling) {
            stack[top] = c;
            depths[top++] = depth + 1;
        }
        for (size_t a = first, b = top; b > a + 1; a++, b--) {
            long t = stack[a];
            stack[a] = stack[b - 1];
            stack[b - 1] = t;
        }
    }
}

void ctel__sink_print(FILE *to, const ctel__sink_msg *m)
{
    size_t n = ctel__sink_count_spans(m);
    for (size_t r = 0; r < m->n_resource_spans; r++) {
        const ctel__sink_rs *rs = m->resource_spans[r];
        size_t count = 0;
        for (size_t j = 0; j < rs->n_scope_spans; j++)
            count += rs->scope_spans[j]->n_spans;
        fprintf(to, "resource service.name=%s: %zu span%s", service_name(rs), count,
                count == 1 ? "" : "s");
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const ctel__sink_scope *sc = rs->scope_spans[j]->scope;
            if (sc && sc->name && sc->name[0])
                fprintf(to, "%s%s%s%s", j ? ", " : " (scope ", sc->name,
                        sc->version && sc->version[0] ? " " : "", sc->version ? sc->version : "");
            else
                fprintf(to, "%s<unnamed>", j ? ", " : " (scope ");
            if (j + 1 == rs->n_scope_spans)
                fputc(')', to);
        }
        fputc('\n', to);
    }
    if (n == 0)
        return;
    pspan *ps = calloc(n, sizeof *ps);
    long *ids = calloc(n, sizeof *ids);
    long *stack = calloc(n, sizeof *stack);
    int *depths = calloc(n, sizeof *depths);
    if (!ps || !ids || !stack || !depths) {
        fprintf(to, "(out of memory printing %zu spans)\n", n);
        goto done;
    }
    size_t k = 0;
    for (size_t r = 0; r < m->n_resource_spans; r++) {
        const ctel__sink_rs *rs = m->resource_spans[r];
        const char *svc = service_name(rs);
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const ctel__sink_ss *ss = rs->scope_spans[j];
            for (size_t s = 0; s < ss->n_spans; s++) {
                ps[k].span = ss->spans[s];
                ps[k].service = svc;
                k++;
            }
        }
    }
    qsort(ps, n, sizeof *ps, by_trace_start);
    for (size_t i = 0; i < n; i++) {
        ids[i] = (long)i;
        ps[i].first_child = ps[i].next_sibling = -1;
    }
    qsort_r(ids, n, sizeof *ids, by_ids, ps);
    /* Link children in reverse start order so each list ends up in order. */
    for (size_t i = n; i-- > 0;) {
        const ctel__sink_span *s = ps[i].span;
        ps[i].parent = -1;
        if (!s->parent_span_id.len)
            continue;
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            const ctel__sink_span *c = ps[ids[mid]].span;
            int cmp = bytes_cmp(&c->trace_id, &s->trace_id);
            if (!cmp)
                cmp = bytes_cmp(&c->span_id, &s->parent_span_id);
            if (cmp < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < n && !bytes_cmp(&ps[ids[lo]].span->trace_id, &s->trace_id) &&
            !bytes_cmp(&ps[ids[lo]].span->span_id, &s->parent_span_id) && ids[lo] != (long)i) {
            long p = ids[lo];
            ps[i].parent = p;
            ps[i].next_sibling = ps[p].first_child;
            ps[p].first_child = (long)i;
        }
    }
    bool many = m->n_resource_spans > 1;
    const ProtobufCBinaryData *trace = NULL;
    for (size_t i = 0; i < n; i++) {
        if (ps[i].parent >= 0)
            continue;
        if (!trace || bytes_cmp(trace, &ps[i].span->trace_id)) {
            trace = &ps[i].span->trace_id;
            char hex[2 * 64 + 1];
            ctel__sink_hex(trace->data, trace->len < 64 ? trace->len : 64, hex);
            fprintf(to, "trace %s\n", hex[0] ? hex : "<no trace id>");
        }
        print_tree(to, ps, (long)i, stack, depths, many);
    }
    /* Spans only reachable through a parent cycle. */
    for (size_t i = 0; i < n; i++) {
        if (!ps[i].printed) {
            fputs("(in a parent cycle)\n", to);
            print_tree(to, ps, (long)i, stack, depths, many);
        }
    }
done:
    free(ps);
    free(ids);
    free(stack);
    free(depths);
}
