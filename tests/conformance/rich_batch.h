/* tests/conformance/rich_batch.h — one batch of spans that uses every field
 * of ctel_span_data and every attribute value type, with fixed ids and time
 * stamps. The conformance program (write_batch.c) encodes it for the
 * official schema to decode; the protobuf encoder's unit test checks it field
 * by field. tests/conformance/expected_batch.txtpb is this batch written out
 * by hand: change both together.
 *
 * Layout (resource, scope) of the five spans, in batch order:
 *   0 "GET /checkout"   R0 S0   server, root, every value type, events, links
 *   1 "SELECT orders"   R0 S1   client, remote parent, status ERROR "boom"
 *   2 "charge"          R1 S0   internal, local parent, escaped strings
 *   3 "late.consumer"   R0 S0   consumer, root, after R1 appeared
 *   4 "publish"         R1 S1   producer, root, no trace state
 * so the request holds R0 {S0: spans 0 and 3, S1: span 1} and
 * R1 {S0: span 2, S1: span 4}. */
#ifndef CTEL_TEST_RICH_BATCH_H
#define CTEL_TEST_RICH_BATCH_H

#include <ctel/ctel.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#define RB_T0 1700000000000000000ull /* 2023-11-14T22:13:20Z */
#define RB_SPANS 5

typedef struct rich_batch {
    ctel_resource *res[2];
    ctel_scope_info scopes[2];
    ctel_span_data spans[RB_SPANS];
    const ctel_span_data *ptrs[RB_SPANS];
} rich_batch;

/* ---- values (file-scope so the views stay valid) ---- */

static const uint8_t rb_bytes[5] = {0xde, 0xad, 0xbe, 0xef, 0x00};
static const ctel_value rb_inner_array[1] = {{.type = CTEL_VALUE_INT, .u.integer = 7}};
static const ctel_value rb_array[6] = {
    {.type = CTEL_VALUE_STRING, .u.string = {"a", 1}},
    {.type = CTEL_VALUE_INT, .u.integer = 1},
    {.type = CTEL_VALUE_DOUBLE, .u.real = 2.5},
    {.type = CTEL_VALUE_BOOL, .u.boolean = false},
    {.type = CTEL_VALUE_EMPTY},
    {.type = CTEL_VALUE_ARRAY, .u.array = {rb_inner_array, 1}},
};
static const ctel_attribute rb_deep_kv[1] = {
    {"deep", 4, {.type = CTEL_VALUE_INT, .u.integer = 9}},
};
static const ctel_attribute rb_kvlist[3] = {
    {"inner.str", 9, {.type = CTEL_VALUE_STRING, .u.string = {"x", 1}}},
    {"inner.kv", 8, {.type = CTEL_VALUE_KVLIST, .u.kvlist = {rb_deep_kv, 1}}},
    {"inner.empty", 11, {.type = CTEL_VALUE_EMPTY}},
};

static const ctel_attribute rb_span0_attrs[11] = {
    {"str", 3, {.type = CTEL_VALUE_STRING, .u.string = {"hello", 5}}},
    {"str.empty", 9, {.type = CTEL_VALUE_STRING, .u.string = {"", 0}}},
    {"bool", 4, {.type = CTEL_VALUE_BOOL, .u.boolean = true}},
    {"int", 3, {.type = CTEL_VALUE_INT, .u.integer = -42}},
    {"int.min", 7, {.type = CTEL_VALUE_INT, .u.integer = INT64_MIN}},
    {"double", 6, {.type = CTEL_VALUE_DOUBLE, .u.real = 3.25}},
    {"double.neg_inf", 14, {.type = CTEL_VALUE_DOUBLE, .u.real = -INFINITY}},
    {"bytes", 5, {.type = CTEL_VALUE_BYTES, .u.bytes = {rb_bytes, 5}}},
    {"array", 5, {.type = CTEL_VALUE_ARRAY, .u.array = {rb_array, 6}}},
    {"kvlist", 6, {.type = CTEL_VALUE_KVLIST, .u.kvlist = {rb_kvlist, 3}}},
    {"empty", 5, {.type = CTEL_VALUE_EMPTY}},
};
static const ctel_attribute rb_event0_attrs[1] = {
    {"cache.key", 9, {.type = CTEL_VALUE_STRING, .u.string = {"user:1", 6}}},
};
static const ctel_attribute rb_link0_attrs[1] = {
    {"link.kind", 9, {.type = CTEL_VALUE_STRING, .u.string = {"follows", 7}}},
};
static const ctel_attribute rb_span2_attrs[2] = {
    {"escaped", 7, {.type = CTEL_VALUE_STRING, .u.string = {"tab\t\"q\" back\\slash", 18}}},
    {"utf8", 4, {.type = CTEL_VALUE_STRING, .u.string = {"h\xc3\xa9llo \xe2\x9c\x93", 10}}},
};
static const ctel_attribute rb_scope0_attrs[1] = {
    {"scope.kind", 10, {.type = CTEL_VALUE_STRING, .u.string = {"http", 4}}},
};
static const ctel_attribute rb_res0_attrs[3] = {
    {"service.name", 12, {.type = CTEL_VALUE_STRING, .u.string = {"checkout", 8}}},
    {"process.pid", 11, {.type = CTEL_VALUE_INT, .u.integer = 4242}},
    {"host.arch", 9, {.type = CTEL_VALUE_STRING, .u.string = {"amd64", 5}}},
};
static const ctel_attribute rb_res1_attrs[2] = {
    {"service.name", 12, {.type = CTEL_VALUE_STRING, .u.string = {"payments", 8}}},
    {"deployment.canary", 17, {.type = CTEL_VALUE_BOOL, .u.boolean = true}},
};

static const ctel_span_event_data rb_events[2] = {
    {"cache.miss", 10, RB_T0 + 100, rb_event0_attrs, 1, 1},
    {"retry", 5, RB_T0 + 200, NULL, 0, 0},
};
/* Link 0: remote, sampled, trace state, attributes. Link 1: local, not
 * sampled, nothing else. */
static const ctel_span_link_data rb_links[2] = {
    {{{0x5b, 0x8e, 0xfe, 0xf1, 0x2c, 0x4d, 0x3f, 0x4a, 0x9b, 0x1c, 0x7d, 0x2e, 0x6f, 0x8a, 0x90,
       0x01},
      {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88},
      1,
      true},
     "k=v",
     3,
     rb_link0_attrs,
     1,
     4},
    {{{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
       0x10},
      {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11},
      0,
      false},
     "",
     0,
     NULL,
     0,
     0},
};

static inline void rb_ids(ctel_span_data *d, uint8_t trace_seed, uint8_t span_seed)
{
    for (int i = 0; i < 16; i++)
        d->context.trace_id[i] = (uint8_t)(trace_seed + i);
    for (int i = 0; i < 8; i++)
        d->context.span_id[i] = (uint8_t)(span_seed + i);
}

static inline void rb_name(ctel_span_data *d, const char *name)
{
    d->name = name;
    d->name_len = strlen(name);
    d->trace_state = "";
    d->status_message = "";
}

/* Fills `b`; returns 0, or -1 if a resource could not be created. */
static inline int rich_batch_init(rich_batch *b)
{
    memset(b, 0, sizeof *b);
    if (ctel_resource_create(rb_res0_attrs, 3, "https://opentelemetry.io/schemas/1.24.0",
                             &b->res[0]) != CTEL_OK ||
        ctel_resource_create(rb_res1_attrs, 2, NULL, &b->res[1]) != CTEL_OK)
        return -1;
    b->scopes[0] = (ctel_scope_info){"ctel.test.http", "1.2.3",
                                     "https://opentelemetry.io/schemas/1.21.0", rb_scope0_attrs, 1};
    b->scopes[1] = (ctel_scope_info){"ctel.test.db", "", "", NULL, 0};

    ctel_span_data *d = &b->spans[0];
    rb_name(d, "GET /checkout");
    rb_ids(d, 0x10, 0xa0);
    d->context.trace_flags = 1;
    d->trace_state = "vendor=a,other=b";
    d->trace_state_len = 16;
    d->kind = CTEL_SPAN_KIND_SERVER;
    d->start_time_unix_nano = RB_T0;
    d->end_time_unix_nano = RB_T0 + 1000;
    d->attributes = rb_span0_attrs;
    d->attribute_count = 11;
    d->dropped_attributes_count = 2;
    d->events = rb_events;
    d->event_count = 2;
    d->dropped_events_count = 3;
    d->links = rb_links;
    d->link_count = 2;
    d->dropped_links_count = 5;
    d->status_code = CTEL_STATUS_OK;
    d->resource = b->res[0];
    d->scope = &b->scopes[0];

    d = &b->spans[1];
    rb_name(d, "SELECT orders");
    rb_ids(d, 0x10, 0xb0);
    d->context.trace_flags = 1;
    d->has_parent = true;
    d->parent_is_remote = true;
    memcpy(d->parent_span_id, b->spans[0].context.span_id, 8);
    d->kind = CTEL_SPAN_KIND_CLIENT;
    d->start_time_unix_nano = RB_T0 + 10;
    d->end_time_unix_nano = RB_T0 + 900;
    d->status_code = CTEL_STATUS_ERROR;
    d->status_message = "boom";
    d->status_message_len = 4;
    d->resource = b->res[0];
    d->scope = &b->scopes[1];

    d = &b->spans[2];
    rb_name(d, "charge");
    rb_ids(d, 0x20, 0xc0);
    d->has_parent = true;
    d->parent_span_id[0] = 0xff;
    d->parent_span_id[7] = 0x01;
    d->trace_state = "p=1";
    d->trace_state_len = 3;
    d->kind = CTEL_SPAN_KIND_INTERNAL;
    d->start_time_unix_nano = RB_T0 + 2000;
    d->end_time_unix_nano = RB_T0 + 3000;
    d->attributes = rb_span2_attrs;
    d->attribute_count = 2;
    d->resource = b->res[1];
    d->scope = &b->scopes[0];

    d = &b->spans[3];
    rb_name(d, "late.consumer");
    rb_ids(d, 0x30, 0xd0);
    d->kind = CTEL_SPAN_KIND_CONSUMER;
    d->start_time_unix_nano = RB_T0 + 5000;
    d->end_time_unix_nano = RB_T0 + 5000;
    d->resource = b->res[0];
    d->scope = &b->scopes[0];

    d = &b->spans[4];
    rb_name(d, "publish");
    rb_ids(d, 0x40, 0xe0);
    d->context.trace_flags = 1;
    d->kind = CTEL_SPAN_KIND_PRODUCER;
    d->start_time_unix_nano = RB_T0 + 6000;
    d->end_time_unix_nano = RB_T0 + 7000;
    d->resource = b->res[1];
    d->scope = &b->scopes[1];

    for (int i = 0; i < RB_SPANS; i++)
        b->ptrs[i] = &b->spans[i];
    return 0;
}

static inline void rich_batch_free(rich_batch *b)
{
    ctel_resource_release(b->res[0]);
    ctel_resource_release(b->res[1]);
}

#endif
