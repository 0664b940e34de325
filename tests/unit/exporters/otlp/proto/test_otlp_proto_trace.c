/* Tests for exporters/otlp/proto/otlp_proto_trace.c and otlp_proto_response.c:
 * what the encoder packs unpacks with protobuf-c into the same batch, field by
 * field; response bodies parse, and garbage never crashes. */
#include "support/test_support.h"
#include "conformance/rich_batch.h"
#include "exporters/otlp/proto/otlp_proto.h"

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pb_request;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;

/* ---- an allocator that can be told to fail (installed in main) ---- */

static long g_fail_at = -1; /* allocation number that fails; -1 = none */
static long g_allocs;

static void *t_malloc(size_t n, void *ud)
{
    (void)ud;
    if (g_fail_at >= 0 && g_allocs++ == g_fail_at)
        return NULL;
    return malloc(n);
}
static void *t_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    if (g_fail_at >= 0 && g_allocs++ == g_fail_at)
        return NULL;
    return realloc(p, n);
}
static void t_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

/* ---- helpers ---- */

static pb_request *encode_unpack(const ctel_span_data *const *spans, size_t n, ctel__buf *b)
{
    assert_int_equal(ctel__otlp_proto_encode_traces(spans, n, b), CTEL_OK);
    pb_request *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, b->len, (const uint8_t *)b->data);
    assert_non_null(req);
    /* Canonical bytes: what protobuf-c packs from the decoded tree is what
     * the encoder wrote (it frames the outer levels by hand). */
    size_t len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            req);
    assert_int_equal(len, b->len);
    uint8_t *repacked = malloc(len ? len : 1);
    assert_non_null(repacked);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(req, repacked);
    assert_memory_equal(repacked, b->data, len);
    free(repacked);
    return req;
}

static void free_req(pb_request *req)
{
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                            NULL);
}

static void check_str(const char *got, const char *want, size_t want_len)
{
    assert_non_null(got);
    assert_int_equal(strlen(got), want_len);
    assert_memory_equal(got, want ? want : "", want_len);
}

static void check_attrs(pb_kv **got, size_t n_got, const ctel_attribute *want, size_t n_want);

static void check_value(const pb_any *got, const ctel_value *want)
{
    assert_non_null(got);
    switch (want->type) {
    case CTEL_VALUE_EMPTY:
        assert_int_equal(got->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
        break;
    case CTEL_VALUE_STRING:
        assert_int_equal(got->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
        check_str(got->string_value, want->u.string.ptr, want->u.string.len);
        break;
    case CTEL_VALUE_BOOL:
        assert_int_equal(got->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
        assert_int_equal(!!got->bool_value, want->u.boolean);
        break;
    case CTEL_VALUE_INT:
        assert_int_equal(got->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
        assert_true(got->int_value == want->u.integer);
        break;
    case CTEL_VALUE_DOUBLE:
        assert_int_equal(got->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
        if (isnan(want->u.real))
            assert_true(isnan(got->double_value));
        else
            assert_true(got->double_value == want->u.real);
        break;
    case CTEL_VALUE_BYTES:
        assert_int_equal(got->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
        assert_int_equal(got->bytes_value.len, want->u.bytes.len);
        assert_memory_equal(got->bytes_value.data, want->u.bytes.ptr, want->u.bytes.len);
        break;
    case CTEL_VALUE_ARRAY:
        assert_int_equal(got->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
        assert_non_null(got->array_value);
        assert_int_equal(got->array_value->n_values, want->u.array.count);
        for (size_t i = 0; i < want->u.array.count; i++)
            check_value(got->array_value->values[i], &want->u.array.items[i]);
        break;
    case CTEL_VALUE_KVLIST:
        assert_int_equal(got->value_case,
                         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
        assert_non_null(got->kvlist_value);
        check_attrs(got->kvlist_value->values, got->kvlist_value->n_values, want->u.kvlist.items,
                    want->u.kvlist.count);
        break;
    default:
        fail_msg("unknown value type %d", (int)want->type);
    }
}

static void check_attrs(pb_kv **got, size_t n_got, const ctel_attribute *want, size_t n_want)
{
    assert_int_equal(n_got, n_want);
    for (size_t i = 0; i < n_want; i++) {
        check_str(got[i]->key, want[i].key, want[i].key_len);
        check_value(got[i]->value, &want[i].value);
    }
}

static uint32_t flags_of(uint8_t w3c, bool remote)
{
    return (uint32_t)w3c | 0x100u | (remote ? 0x200u : 0u);
}

/* Every field of one span against its source. */
static void check_span(const pb_span *p, const ctel_span_data *s)
{
    assert_int_equal(p->trace_id.len, 16);
    assert_memory_equal(p->trace_id.data, s->context.trace_id, 16);
    assert_int_equal(p->span_id.len, 8);
    assert_memory_equal(p->span_id.data, s->context.span_id, 8);
    if (s->has_parent) {
        assert_int_equal(p->parent_span_id.len, 8);
        assert_memory_equal(p->parent_span_id.data, s->parent_span_id, 8);
    } else {
        assert_int_equal(p->parent_span_id.len, 0);
    }
    check_str(p->trace_state, s->trace_state, s->trace_state_len);
    assert_int_equal(p->flags,
                     flags_of(s->context.trace_flags, s->has_parent && s->parent_is_remote));
    check_str(p->name, s->name, s->name_len);
    assert_int_equal(p->kind, s->kind);
    assert_true(p->start_time_unix_nano == s->start_time_unix_nano);
    assert_true(p->end_time_unix_nano == s->end_time_unix_nano);
    check_attrs(p->attributes, p->n_attributes, s->attributes, s->attribute_count);
    assert_int_equal(p->dropped_attributes_count, s->dropped_attributes_count);
    assert_int_equal(p->n_events, s->event_count);
    for (uint32_t i = 0; i < s->event_count; i++) {
        const ctel_span_event_data *e = &s->events[i];
        assert_true(p->events[i]->time_unix_nano == e->time_unix_nano);
        check_str(p->events[i]->name, e->name, e->name_len);
        check_attrs(p->events[i]->attributes, p->events[i]->n_attributes, e->attributes,
                    e->attribute_count);
        assert_int_equal(p->events[i]->dropped_attributes_count, e->dropped_attributes_count);
    }
    assert_int_equal(p->dropped_events_count, s->dropped_events_count);
    assert_int_equal(p->n_links, s->link_count);
    for (uint32_t i = 0; i < s->link_count; i++) {
        const ctel_span_link_data *l = &s->links[i];
        assert_memory_equal(p->links[i]->trace_id.data, l->context.trace_id, 16);
        assert_memory_equal(p->links[i]->span_id.data, l->context.span_id, 8);
        check_str(p->links[i]->trace_state, l->trace_state, l->trace_state_len);
        check_attrs(p->links[i]->attributes, p->links[i]->n_attributes, l->attributes,
                    l->attribute_count);
        assert_int_equal(p->links[i]->dropped_attributes_count, l->dropped_attributes_count);
        assert_int_equal(p->links[i]->flags,
                         flags_of(l->context.trace_flags, l->context.is_remote));
    }
    assert_int_equal(p->dropped_links_count, s->dropped_links_count);
    assert_non_null(p->status);
    assert_int_equal(p->status->code, s->status_code);
    check_str(p->status->message, s->status_message, s->status_message_len);
}

/* ---- tests ---- */

static void test_rich_batch_round_trip(void **state)
{
    (void)state;
    rich_batch rb;
    assert_int_equal(rich_batch_init(&rb), 0);
    ctel__buf b = CTEL__BUF_INIT;
    pb_request *req = encode_unpack(rb.ptrs, RB_SPANS, &b);

    /* Grouping: R0 {S0: 0, 3; S1: 1}, R1 {S0: 2; S1: 4} (see rich_batch.h). */
    static const int layout[2][2][3] = {{{0, 3, -1}, {1, -1, -1}}, {{2, -1, -1}, {4, -1, -1}}};
    assert_int_equal(req->n_resource_spans, 2);
    for (int r = 0; r < 2; r++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[r];
        assert_non_null(rs->resource);
        check_attrs(rs->resource->attributes, rs->resource->n_attributes,
                    ctel_resource_attributes(rb.res[r]), ctel_resource_attribute_count(rb.res[r]));
        assert_int_equal(rs->resource->dropped_attributes_count, 0);
        assert_string_equal(rs->schema_url, ctel_resource_schema_url(rb.res[r]));
        assert_int_equal(rs->n_scope_spans, 2);
        for (int s = 0; s < 2; s++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[s];
            const ctel_scope_info *sc = &rb.scopes[s];
            assert_non_null(ss->scope);
            assert_string_equal(ss->scope->name, sc->name);
            assert_string_equal(ss->scope->version, sc->version);
            check_attrs(ss->scope->attributes, ss->scope->n_attributes, sc->attributes,
                        sc->attribute_count);
            assert_string_equal(ss->schema_url, sc->schema_url);
            size_t n = 0;
            while (n < 3 && layout[r][s][n] >= 0)
                n++;
            assert_int_equal(ss->n_spans, n);
            for (size_t i = 0; i < n; i++)
                check_span(ss->spans[i], &rb.spans[layout[r][s][i]]);
        }
    }

    /* A few fields spelled out, so a shared misunderstanding between the
     * encoder and check_span cannot hide. */
    const pb_span *root = req->resource_spans[0]->scope_spans[0]->spans[0];
    assert_string_equal(root->name, "GET /checkout");
    assert_int_equal(root->flags, 0x101);
    assert_int_equal(root->kind,
                     OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
    assert_int_equal(root->links[0]->flags, 0x301);
    assert_int_equal(root->links[1]->flags, 0x100);
    assert_string_equal(root->links[0]->trace_state, "k=v");
    assert_int_equal(root->attributes[10]->value->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
    assert_true(isinf(root->attributes[6]->value->double_value));
    const pb_span *child = req->resource_spans[0]->scope_spans[1]->spans[0];
    assert_int_equal(child->flags, 0x301); /* remote parent */
    assert_int_equal(child->status->code,
                     OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
    assert_string_equal(child->status->message, "boom");
    const pb_span *local = req->resource_spans[1]->scope_spans[0]->spans[0];
    assert_int_equal(local->flags, 0x100); /* local parent, not sampled */
    assert_string_equal(req->resource_spans[1]->schema_url, "");

    free_req(req);
    ctel__buf_free(&b);
    rich_batch_free(&rb);
}

static void test_empty_batch(void **state)
{
    (void)state;
    ctel__buf b = CTEL__BUF_INIT;
    assert_int_equal(ctel__otlp_proto_encode_traces(NULL, 0, &b), CTEL_OK);
    assert_int_equal(b.len, 0); /* an empty message has no bytes */
    pb_request *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, 0, (const uint8_t *)"");
    assert_non_null(req);
    assert_int_equal(req->n_resource_spans, 0);
    free_req(req);
    ctel__buf_free(&b);
}

static void test_appends_to_buffer(void **state)
{
    (void)state;
    rich_batch rb;
    assert_int_equal(rich_batch_init(&rb), 0);
    ctel__buf alone = CTEL__BUF_INIT, b = CTEL__BUF_INIT;
    assert_int_equal(ctel__otlp_proto_encode_traces(rb.ptrs, RB_SPANS, &alone), CTEL_OK);
    assert_int_equal(ctel__buf_append_str(&b, "prefix"), CTEL_OK);
    assert_int_equal(ctel__otlp_proto_encode_traces(rb.ptrs, RB_SPANS, &b), CTEL_OK);
    assert_int_equal(b.len, 6 + alone.len);
    assert_memory_equal(b.data, "prefix", 6);
    assert_memory_equal(b.data + 6, alone.data, alone.len);
    assert_int_equal(b.data[b.len], '\0');
    ctel__buf_free(&alone);
    ctel__buf_free(&b);
    rich_batch_free(&rb);
}

/* Spans without resource or scope still land in a ResourceSpans/ScopeSpans
 * with empty (but present) resource and scope. */
static void test_null_resource_and_scope(void **state)
{
    (void)state;
    ctel_span_data d;
    memset(&d, 0, sizeof d);
    d.name = "bare";
    d.name_len = 4;
    d.context.span_id[0] = 1;
    const ctel_span_data *spans[2] = {&d, &d};
    ctel__buf b = CTEL__BUF_INIT;
    pb_request *req = encode_unpack(spans, 2, &b);
    assert_int_equal(req->n_resource_spans, 1);
    assert_non_null(req->resource_spans[0]->resource);
    assert_int_equal(req->resource_spans[0]->resource->n_attributes, 0);
    assert_int_equal(req->resource_spans[0]->n_scope_spans, 1);
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = req->resource_spans[0]->scope_spans[0];
    assert_non_null(ss->scope);
    assert_string_equal(ss->scope->name, "");
    assert_int_equal(ss->n_spans, 2);
    check_span(ss->spans[1], &d);
    free_req(req);
    ctel__buf_free(&b);
}

/* Many groups, interleaved: every span ends up in its (resource, scope)
 * group, in batch order, groups in order of first appearance. */
static void test_many_groups_interleaved(void **state)
{
    (void)state;
    enum { N = 1500, NRES = 3, NSCOPE = 7 };
    ctel_resource *res[NRES];
    ctel_scope_info scopes[NSCOPE];
    char scope_names[NSCOPE][8];
    for (int r = 0; r < NRES; r++) {
        ctel_attribute a = CTEL_ATTR_INT("r", r);
        assert_int_equal(ctel_resource_create(&a, 1, NULL, &res[r]), CTEL_OK);
    }
    for (int s = 0; s < NSCOPE; s++) {
        scope_names[s][0] = (char)('a' + s);
        scope_names[s][1] = '\0';
        scopes[s] = (ctel_scope_info){scope_names[s], "", "", NULL, 0};
    }
    static ctel_span_data d[N];
    static const ctel_span_data *ptrs[N];
    ctel_attribute attr = CTEL_ATTR_STR("k", "v");
    for (int i = 0; i < N; i++) {
        memset(&d[i], 0, sizeof d[i]);
        d[i].name = "s";
        d[i].name_len = 1;
        d[i].start_time_unix_nano = (uint64_t)i; /* identifies the span */
        d[i].resource = res[(i / 5) % NRES];
        d[i].scope = &scopes[(i * 3) % NSCOPE];
        d[i].attributes = &attr;
        d[i].attribute_count = 1;
        ptrs[i] = &d[i];
    }
    ctel__buf b = CTEL__BUF_INIT;
    pb_request *req = encode_unpack(ptrs, N, &b);
    assert_int_equal(req->n_resource_spans, NRES);
    size_t seen = 0;
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[r];
        assert_int_equal(rs->resource->attributes[0]->value->int_value, r); /* first appearance */
        assert_int_equal(rs->n_scope_spans, NSCOPE);
        uint64_t prev_first = 0;
        for (size_t s = 0; s < rs->n_scope_spans; s++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[s];
            assert_true(s == 0 || ss->spans[0]->start_time_unix_nano > prev_first);
            prev_first = ss->spans[0]->start_time_unix_nano;
            for (size_t i = 0; i < ss->n_spans; i++) {
                const ctel_span_data *src = &d[ss->spans[i]->start_time_unix_nano];
                assert_true(src->resource == res[r]);
                assert_string_equal(src->scope->name, ss->scope->name);
                assert_true(i == 0 || ss->spans[i]->start_time_unix_nano >
                                          ss->spans[i - 1]->start_time_unix_nano);
                assert_string_equal(ss->spans[i]->attributes[0]->value->string_value, "v");
                seen++;
            }
        }
    }
    assert_int_equal(seen, N);
    free_req(req);
    ctel__buf_free(&b);
    for (int r = 0; r < NRES; r++)
        ctel_resource_release(res[r]);
}

/* Length prefixes of every width: a span of a few bytes, one just under and
 * over 127 and 16383 bytes, one over 2 MiB (three prefix bytes at every level
 * above it). */
static void test_length_prefix_widths(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 90, 100, 110, 120, 130, 16300, 16400, 2200000};
    enum { N = CTEL_ARRAY_LEN(sizes) };
    char *big = malloc(2200001);
    assert_non_null(big);
    memset(big, 'x', 2200000);
    ctel_span_data d[N];
    ctel_attribute attrs[N];
    const ctel_span_data *ptrs[N];
    for (size_t i = 0; i < N; i++) {
        memset(&d[i], 0, sizeof d[i]);
        d[i].name = "n";
        d[i].name_len = 1;
        d[i].trace_state = "";
        d[i].status_message = "";
        big[sizes[i]] = '\0'; /* strings end at their length */
        attrs[i] = (ctel_attribute){"k", 1, {.type = CTEL_VALUE_STRING, .u.string = {NULL, 0}}};
        char *copy = malloc(sizes[i] + 1);
        assert_non_null(copy);
        memcpy(copy, big, sizes[i] + 1);
        attrs[i].value.u.string.ptr = copy;
        attrs[i].value.u.string.len = sizes[i];
        big[sizes[i]] = 'x';
        d[i].attributes = &attrs[i];
        d[i].attribute_count = sizes[i] ? 1 : 0;
        ptrs[i] = &d[i];
    }
    for (size_t n = 1; n <= N; n++) { /* growing batches: every total size too */
        ctel__buf b = CTEL__BUF_INIT;
        pb_request *req = encode_unpack(ptrs, n, &b);
        const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
            req->resource_spans[0]->scope_spans[0];
        assert_int_equal(ss->n_spans, n);
        for (size_t i = 0; i < n; i++)
            check_span(ss->spans[i], &d[i]);
        free_req(req);
        ctel__buf_free(&b);
    }
    for (size_t i = 0; i < N; i++)
        free((void *)attrs[i].value.u.string.ptr);
    free(big);
}

/* Out of memory at each allocation in turn: CTEL_ERR_NO_MEMORY, no crash,
 * no leak (the sanitizer build checks the last part). */
static void test_out_of_memory(void **state)
{
    (void)state;
    rich_batch rb;
    assert_int_equal(rich_batch_init(&rb), 0);
    int failures = 0;
    for (long n = 0; n < 10; n++) {
        ctel__buf b = CTEL__BUF_INIT;
        g_allocs = 0;
        g_fail_at = n;
        ctel_status rc = ctel__otlp_proto_encode_traces(rb.ptrs, RB_SPANS, &b);
        g_fail_at = -1;
        assert_true(rc == CTEL_OK || rc == CTEL_ERR_NO_MEMORY);
        failures += rc == CTEL_ERR_NO_MEMORY;
        ctel__buf_free(&b);
    }
    assert_int_equal(failures, 3); /* grouping scratch, struct block, output buffer */
    rich_batch_free(&rb);
}

/* ---- responses ---- */

static size_t pack_response(uint8_t *out, int64_t rejected, const char *msg)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    ps.rejected_spans = rejected;
    ps.error_message = (char *)msg;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    resp.partial_success = &ps;
    return protobuf_c_message_pack(&resp.base, out);
}

static void test_response_partial_success(void **state)
{
    (void)state;
    uint8_t body[128];
    size_t len = pack_response(body, 7, "7 spans had no name");
    int64_t rejected = -1;
    char msg[64];
    assert_int_equal(ctel__otlp_proto_parse_trace_response(body, len, &rejected, msg, sizeof msg),
                     CTEL_OK);
    assert_int_equal(rejected, 7);
    assert_string_equal(msg, "7 spans had no name");
    /* Truncated to the capacity, still terminated. */
    char small[5];
    assert_int_equal(
        ctel__otlp_proto_parse_trace_response(body, len, &rejected, small, sizeof small), CTEL_OK);
    assert_string_equal(small, "7 sp");
    /* msg_cap 0: nothing written. */
    char untouched = 'x';
    assert_int_equal(ctel__otlp_proto_parse_trace_response(body, len, &rejected, &untouched, 0),
                     CTEL_OK);
    assert_int_equal(untouched, 'x');
}

static void test_response_empty_is_success(void **state)
{
    (void)state;
    int64_t rejected = -1;
    char msg[16] = "junk";
    assert_int_equal(ctel__otlp_proto_parse_trace_response(NULL, 0, &rejected, msg, sizeof msg),
                     CTEL_OK);
    assert_int_equal(rejected, 0);
    assert_string_equal(msg, "");
    /* An empty partial_success message: nothing rejected either. */
    static const uint8_t empty_ps[2] = {0x0a, 0x00};
    assert_int_equal(ctel__otlp_proto_parse_trace_response(empty_ps, 2, &rejected, msg, sizeof msg),
                     CTEL_OK);
    assert_int_equal(rejected, 0);
    assert_string_equal(msg, "");
}

static void test_response_garbage_and_truncated(void **state)
{
    (void)state;
    int64_t rejected;
    char msg[32];
    static const uint8_t garbage[][6] = {
        {0x0a, 0x05, 'a', 'b', 0, 0},         /* length past the end */
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* runaway varint tag */
        {0x0a, 0x02, 0x10, 0x80, 0, 0},       /* truncated varint inside */
        {0x0f, 0, 0, 0, 0, 0},                /* wire type 7 does not exist */
    };
    static const size_t glen[] = {4, 6, 4, 1};
    for (size_t i = 0; i < CTEL_ARRAY_LEN(glen); i++)
        assert_int_equal(
            ctel__otlp_proto_parse_trace_response(garbage[i], glen[i], &rejected, msg, sizeof msg),
            CTEL_ERR_PARSE);
    /* Every prefix of a valid body: parses or is rejected, never crashes. */
    uint8_t body[128];
    size_t len = pack_response(body, 300, "partial failure");
    int rejected_prefixes = 0;
    for (size_t n = 1; n < len; n++) {
        uint8_t *copy = malloc(n); /* exact size, so ASan sees any overread */
        memcpy(copy, body, n);
        ctel_status rc = ctel__otlp_proto_parse_trace_response(copy, n, &rejected, msg, sizeof msg);
        assert_true(rc == CTEL_OK || rc == CTEL_ERR_PARSE);
        rejected_prefixes += rc == CTEL_ERR_PARSE;
        free(copy);
    }
    assert_int_equal(rejected_prefixes, (int)len - 1); /* the outer length covers everything */
}

static void test_status(void **state)
{
    (void)state;
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = 3;
    st.message = "bad request: span name empty";
    uint8_t body[128];
    size_t len = google__rpc__status__pack(&st, body);
    int32_t code = -1;
    char msg[64];
    assert_int_equal(ctel__otlp_proto_parse_status(body, len, &code, msg, sizeof msg), CTEL_OK);
    assert_int_equal(code, 3);
    assert_string_equal(msg, "bad request: span name empty");
    char small[4];
    assert_int_equal(ctel__otlp_proto_parse_status(body, len, &code, small, sizeof small), CTEL_OK);
    assert_string_equal(small, "bad");

    for (size_t n = 1; n < len; n++) {
        uint8_t *copy = malloc(n);
        memcpy(copy, body, n);
        ctel_status rc = ctel__otlp_proto_parse_status(copy, n, &code, msg, sizeof msg);
        assert_true(rc == CTEL_OK || rc == CTEL_ERR_PARSE);
        free(copy);
    }
    static const uint8_t garbage[] = {0x12, 0x7f, 'x'};
    assert_int_equal(ctel__otlp_proto_parse_status(garbage, sizeof garbage, &code, msg, sizeof msg),
                     CTEL_ERR_PARSE);
    /* Plain text (a proxy's error page) is not a Status. */
    static const char html[] = "<html><body>502 Bad Gateway</body></html>";
    assert_int_equal(ctel__otlp_proto_parse_status(html, sizeof html - 1, &code, msg, sizeof msg),
                     CTEL_ERR_PARSE);
}

int main(void)
{
    ctel_allocator a = {t_malloc, t_realloc, t_free, NULL};
    if (ctel_set_allocator(&a) != CTEL_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rich_batch_round_trip),
        cmocka_unit_test(test_empty_batch),
        cmocka_unit_test(test_appends_to_buffer),
        cmocka_unit_test(test_null_resource_and_scope),
        cmocka_unit_test(test_many_groups_interleaved),
        cmocka_unit_test(test_length_prefix_widths),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_response_partial_success),
        cmocka_unit_test(test_response_empty_is_success),
        cmocka_unit_test(test_response_garbage_and_truncated),
        cmocka_unit_test(test_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
