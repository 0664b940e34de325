/* Tests for tools/ctel/sink: a real sink on 127.0.0.1 (port 0), spoken to
 * with libcurl — decoding, answers, counters, discard, --print and --out
 * output, and the command line (the faults are in test_sink_handler.c). */
#include "sink_test_util.h"

/* ---- tests ---- */

static void test_protobuf_counted_and_kept(void **state)
{
    (void)state;
    fx *f = fx_keep();
    size_t len;
    uint8_t *body = make_pb(5, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, CT_PB);
    assert_int_equal(r.len, 0); /* an empty ExportTraceServiceResponse */
    assert_true(ctel_sink_wait_spans(f->sink, 5, 2000));

    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.spans, 5);
    assert_int_equal(st.bytes, len);
    assert_int_equal(st.bad_requests + st.failed + st.closed + st.rejected_spans, 0);

    assert_int_equal(ctel_sink_request_count(f->sink), 1);
    ctel_sink_request_info info;
    assert_true(ctel_sink_request(f->sink, 0, &info));
    assert_false(ctel_sink_request(f->sink, 1, &info));
    assert_string_equal(info.content_type, CT_PB);
    assert_string_equal(info.content_encoding, "");
    assert_string_equal(info.user_agent, "ctel-test/1.0");
    assert_int_equal(info.body_bytes, len);
    char buf[64];
    assert_true(ctel_sink_request_header(f->sink, 0, "x-ctel-test", buf, sizeof buf));
    assert_string_equal(buf, "yes");
    assert_false(ctel_sink_request_header(f->sink, 0, "x-absent", buf, sizeof buf));

    const req_msg *m = info.request;
    assert_int_equal(m->n_resource_spans, 1);
    const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = m->resource_spans[0];
    assert_string_equal(rs->resource->attributes[0]->value->string_value, "test-svc");
    assert_string_equal(rs->scope_spans[0]->scope->name, "ctel.test");
    assert_int_equal(rs->scope_spans[0]->n_spans, 5);
    const span_msg *s1 = rs->scope_spans[0]->spans[1];
    assert_memory_equal(s1->trace_id.data, trace_id, 16);
    assert_int_equal(s1->parent_span_id.len, 8);
    assert_int_equal(s1->parent_span_id.data[0], 0xab);
    assert_string_equal(s1->name, "child-1");
    assert_int_equal(s1->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
    assert_int_equal(s1->flags, 0x101);
    assert_int_equal(s1->attributes[0]->value->int_value, 1);
    assert_string_equal(s1->status->message, "boom");
    assert_int_equal(rs->scope_spans[0]->spans[0]->n_events, 1);

    ctel_sink_clear_requests(f->sink);
    assert_int_equal(ctel_sink_request_count(f->sink), 0);
    free(body);
    fx_stop(f);
}

static void test_gzip_body(void **state)
{
    (void)state;
    fx *f = fx_keep();
    size_t len, glen;
    uint8_t *body = make_pb(7, &len);
    uint8_t *gz = gzip_bytes(body, len, &glen);
    resp r;
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, "gzip", gz, glen, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.spans, 7);
    assert_int_equal(st.bytes, glen);
    ctel_sink_request_info info;
    assert_true(ctel_sink_request(f->sink, 0, &info));
    assert_string_equal(info.content_encoding, "gzip");
    assert_int_equal(info.body_bytes, glen);
    assert_string_equal(info.request->resource_spans[0]->scope_spans[0]->spans[6]->name, "child-6");

    /* Corrupt gzip: 400. */
    gz[glen / 2] ^= 0xff;
    gz[glen - 3] ^= 0xff;
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, "gzip", gz, glen, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 400);
    /* An unknown encoding: 415. */
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, "br", body, len, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 415);
    free(body);
    free(gz);
    fx_stop(f);
}

static void test_gzip_bomb_is_refused(void **state)
{
    (void)state;
    fx *f = fx_keep();
    size_t big = ((size_t)64 << 20) + 4096, glen;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    uint8_t *gz = gzip_bytes(zeros, big, &glen);
    free(zeros);
    resp r;
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, "gzip", gz, glen, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 413);
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.bad_requests, 1);
    free(gz);
    fx_stop(f);
}

static void test_json_body(void **state)
{
    (void)state;
    fx *f = fx_keep();
    resp r;
    assert_int_equal(http(f->port, NULL, "/v1/traces", "application/json; charset=utf-8", NULL,
                          json_req, strlen(json_req), 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, CT_JSON);
    assert_string_equal(r.body, "{}");
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.spans, 1);

    ctel_sink_request_info info;
    assert_true(ctel_sink_request(f->sink, 0, &info));
    assert_string_equal(info.content_type, "application/json; charset=utf-8");
    const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = info.request->resource_spans[0];
    assert_string_equal(rs->schema_url, "https://schema/r");
    assert_int_equal(rs->resource->dropped_attributes_count, 1);
    assert_string_equal(rs->scope_spans[0]->scope->version, "0.1");
    const span_msg *s = rs->scope_spans[0]->spans[0];
    assert_memory_equal(s->trace_id.data, trace_id, 16);
    assert_int_equal(s->span_id.len, 8);
    assert_int_equal(s->span_id.data[7], 0xb7);
    assert_int_equal(s->parent_span_id.len, 0);
    assert_string_equal(s->trace_state, "k=v");
    assert_int_equal(s->flags, 257);
    assert_int_equal(s->kind, 2);
    assert_true(s->start_time_unix_nano == 1700000000000000000ULL);
    assert_true(s->end_time_unix_nano == 1700000000012300000ULL);
    assert_int_equal(s->dropped_attributes_count, 2);
    assert_int_equal(s->dropped_events_count, 3);
    assert_int_equal(s->dropped_links_count, 4);
    assert_int_equal(s->n_attributes, 9);
    assert_string_equal(s->attributes[0]->value->string_value, "x");
    assert_true(s->attributes[1]->value->bool_value);
    assert_int_equal(s->attributes[2]->value->int_value, -42);
    assert_int_equal(s->attributes[3]->value->int_value, 7);
    assert_true(s->attributes[4]->value->double_value == 2.5);
    assert_int_equal(s->attributes[5]->value->bytes_value.len, 3);
    assert_int_equal(s->attributes[5]->value->bytes_value.data[2], 3);
    const Opentelemetry__Proto__Common__V1__ArrayValue *a = s->attributes[6]->value->array_value;
    assert_int_equal(a->n_values, 2);
    assert_string_equal(a->values[1]->string_value, "two");
    const Opentelemetry__Proto__Common__V1__KeyValueList *kl =
        s->attributes[7]->value->kvlist_value;
    assert_string_equal(kl->values[0]->key, "in");
    assert_int_equal(kl->values[0]->value->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    assert_int_equal(s->attributes[8]->value->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
    assert_int_equal(s->n_events, 1);
    assert_string_equal(s->events[0]->name, "ev");
    assert_true(s->events[0]->time_unix_nano == 1700000000001000000ULL);
    assert_int_equal(s->n_links, 1);
    assert_int_equal(s->links[0]->trace_id.data[15], 0x10);
    assert_int_equal(s->links[0]->flags, 1);
    assert_int_equal(s->status->code, 2);
    assert_string_equal(s->status->message, "bad");

    /* An empty request is fine. */
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_JSON, NULL, "{}", 2, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    fx_stop(f);
}

static void test_undecodable_bodies_are_400(void **state)
{
    (void)state;
    fx *f = fx_keep();
    resp r;
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02};
    assert_int_equal(post_pb(f->port, garbage, sizeof garbage, &r), CURLE_OK);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.content_type, CT_PB);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(st);
    assert_int_equal(st->code, 3);
    assert_true(strlen(st->message) > 0);
    google__rpc__status__free_unpacked(st, NULL);

    const char *bad_json[] = {
        "{\"resourceSpans\":[", /* syntax */
        "[1,2]",                /* not an object */
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"abcd\"}]}]}]}", /* id
                                                                                            length
                                                                                          */
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"spanId\":\"zz00000000000000\"}]}]}"
        "]}",                                                                  /* not hex */
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":5}]}]}]}", /* type */
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":\"12x\"}]}]}]"
        "}", /* int64 */
    };
    for (size_t i = 0; i < sizeof bad_json / sizeof *bad_json; i++) {
        assert_int_equal(http(f->port, NULL, "/v1/traces", CT_JSON, NULL, bad_json[i],
                              strlen(bad_json[i]), 0, &r),
                         CURLE_OK);
        assert_int_equal(r.status, 400);
        assert_string_equal(r.content_type, CT_JSON);
        json_t *doc = json_loads(r.body, 0, NULL);
        assert_non_null(doc);
        assert_int_equal(json_integer_value(json_object_get(doc, "code")), 3);
        assert_true(json_is_string(json_object_get(doc, "message")));
        json_decref(doc);
    }
    ctel_sink_stats s;
    ctel_sink_get_stats(f->sink, &s);
    assert_int_equal(s.bad_requests, 1 + sizeof bad_json / sizeof *bad_json);
    assert_int_equal(s.accepted, 0);
    assert_int_equal(s.spans, 0);
    assert_int_equal(ctel_sink_request_count(f->sink), 0);
    fx_stop(f);
}

static void test_routing_415_404_405(void **state)
{
    (void)state;
    fx *f = fx_keep();
    resp r;
    assert_int_equal(http(f->port, NULL, "/v1/traces", "text/plain", NULL, "x", 1, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 415);
    assert_int_equal(http(f->port, NULL, "/v1/traces", NULL, NULL, NULL, 0, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 415); /* curl sends form-urlencoded when unset */
    assert_int_equal(http(f->port, NULL, "/v1/metrics", CT_PB, NULL, "", 0, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_int_equal(http(f->port, NULL, "/", CT_PB, NULL, "", 0, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_int_equal(http(f->port, "GET", "/v1/traces", NULL, NULL, NULL, 0, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 405);
    assert_int_equal(http(f->port, "PUT", "/v1/traces", CT_PB, NULL, NULL, 0, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 405);
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.requests, 6);
    assert_int_equal(st.bad_requests, 6);
    assert_int_equal(st.accepted, 0);
    fx_stop(f);
}

static void test_discard_counts(void **state)
{
    (void)state;
    ctel_sink_options o = {NULL, 0, NULL, NULL, true, true, NULL, NULL};
    fx *f = fx_start(&o);
    size_t len, glen;
    uint8_t *body = make_pb(512, &len);
    uint8_t *gz = gzip_bytes(body, len, &glen);
    resp r;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
        assert_int_equal(r.status, 200);
    }
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, "gzip", gz, glen, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(
        http(f->port, NULL, "/v1/traces", CT_JSON, NULL, json_req, strlen(json_req), 0, &r),
        CURLE_OK);
    assert_int_equal(r.status, 200);
    /* Undecodable: a truncated body and garbage. */
    assert_int_equal(post_pb(f->port, body, len - 3, &r), CURLE_OK);
    assert_int_equal(r.status, 400);
    static const uint8_t garbage[] = {0x0a, 0x05, 0x12, 0x03, 0x12, 0x7f, 0x00};
    assert_int_equal(post_pb(f->port, garbage, sizeof garbage, &r), CURLE_OK);
    assert_int_equal(r.status, 400);
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_JSON, NULL, "{]", 2, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 400);

    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.requests, 8);
    assert_int_equal(st.accepted, 5);
    assert_int_equal(st.spans, 4 * 512 + 1);
    assert_int_equal(st.bad_requests, 3);
    assert_int_equal(ctel_sink_request_count(f->sink), 0); /* discard keeps nothing */
    free(body);
    free(gz);
    fx_stop(f);
}

static void test_print_shows_the_tree(void **state)
{
    (void)state;
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    assert_non_null(mem);
    ctel_sink_options o = {NULL, 0, mem, NULL, false, false, NULL, NULL};
    fx *f = fx_start(&o);
    size_t len;
    uint8_t *body = make_pb(3, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_true(ctel_sink_wait_spans(f->sink, 3, 2000));
    fx_stop(f);
    fclose(mem);
    assert_non_null(
        strstr(text, "resource service.name=test-svc: 3 spans (scope ctel.test 1.2.3)\n"));
    assert_non_null(strstr(text, "trace 4bf92f3577b34da6a3ce929d0e0e4736\n"));
    assert_non_null(strstr(text, "\n  root 12.30ms SERVER i=0\n"));
    assert_non_null(strstr(text, "\n    event cache.miss +500.00us\n"));
    assert_non_null(strstr(text, "\n    child-1 1.50ms ERROR: boom CLIENT i=1\n"));
    assert_non_null(strstr(text, "\n    child-2 1.50ms CLIENT i=2\n"));
    /* Children in start order, under the root. */
    assert_true(strstr(text, "child-1") < strstr(text, "child-2"));
    free(text);
    free(body);
}

static void test_print_every_value_type(void **state)
{
    (void)state;
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    ctel_sink_options o = {NULL, 0, mem, NULL, false, false, NULL, NULL};
    fx *f = fx_start(&o);
    resp r;
    assert_int_equal(
        http(f->port, NULL, "/v1/traces", CT_JSON, NULL, json_req, strlen(json_req), 0, &r),
        CURLE_OK);
    assert_int_equal(r.status, 200);
    fx_stop(f);
    fclose(mem);
    assert_non_null(strstr(
        text, "GET /cart 12.30ms ERROR: bad SERVER s=\"x\" b=true i=-42 i2=7 d=2.5 by=0x010203 "
              "a=[1, \"two\"] kv={in=false} e=<empty>\n"));
    assert_non_null(strstr(text, "event ev +1.00ms k=\"v\"\n"));
    free(text);
}

static void test_out_writes_json_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/ctel-sink-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ctel_sink_options o = {NULL, 0, NULL, path, false, false, NULL, NULL};
    fx *f = fx_start(&o);
    size_t len;
    uint8_t *body = make_pb(4, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(
        http(f->port, NULL, "/v1/traces", CT_JSON, NULL, json_req, strlen(json_req), 0, &r),
        CURLE_OK);
    fx_stop(f);

    FILE *in = fopen(path, "r");
    assert_non_null(in);
    char *line = NULL;
    size_t cap = 0;
    int lines = 0;
    while (getline(&line, &cap, in) > 0) {
        json_error_t je;
        json_t *doc = json_loads(line, 0, &je);
        if (!doc)
            fail_msg("line %d is not JSON: %s", lines + 1, je.text);
        json_t *rs = json_array_get(json_object_get(doc, "resourceSpans"), 0);
        json_t *spans =
            json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans");
        json_t *s0 = json_array_get(spans, 0);
        assert_string_equal(json_string_value(json_object_get(s0, "traceId")),
                            "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_true(json_is_string(json_object_get(s0, "startTimeUnixNano")));
        assert_int_equal(json_integer_value(json_object_get(s0, "kind")), 2);
        if (lines == 0) {
            assert_int_equal(json_array_size(spans), 4);
            json_t *s1 = json_array_get(spans, 1);
            assert_string_equal(json_string_value(json_object_get(s1, "parentSpanId")),
                                "ab00000000000000");
            assert_string_equal(json_string_value(json_object_get(s1, "spanId")),
                                "ab00000000000001");
            assert_string_equal(json_string_value(json_object_get(s1, "endTimeUnixNano")),
                                "1700000000001501000");
            assert_int_equal(
                json_integer_value(json_object_get(json_object_get(s1, "status"), "code")), 2);
            json_t *v =
                json_object_get(json_array_get(json_object_get(s1, "attributes"), 0), "value");
            assert_string_equal(json_string_value(json_object_get(v, "intValue")), "1");
        } else {
            /* The JSON request written back out reads the same. */
            json_t *attrs = json_object_get(s0, "attributes");
            json_t *by = json_object_get(json_array_get(attrs, 5), "value");
            assert_string_equal(json_string_value(json_object_get(by, "bytesValue")), "AQID");
            json_t *i = json_object_get(json_array_get(attrs, 2), "value");
            assert_string_equal(json_string_value(json_object_get(i, "intValue")), "-42");
            assert_int_equal(json_array_size(json_object_get(s0, "links")), 1);
            assert_int_equal(json_integer_value(json_object_get(s0, "droppedLinksCount")), 4);
        }
        json_decref(doc);
        lines++;
    }
    free(line);
    fclose(in);
    unlink(path);
    assert_int_equal(lines, 2);
    free(body);
}

static void test_wait_spans_times_out(void **state)
{
    (void)state;
    fx *f = fx_keep();
    long long t0 = now_ms();
    assert_false(ctel_sink_wait_spans(f->sink, 1, 100));
    assert_true(now_ms() - t0 >= 90);
    fx_stop(f);
}

static void test_taken_port_is_an_error(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_options o = {"127.0.0.1", f->port, NULL, NULL, false, false, NULL, NULL};
    ctel_sink *other = NULL;
    char err[256] = "";
    assert_int_equal(ctel_sink_start(&o, &other, err, sizeof err), -1);
    assert_null(other);
    assert_non_null(strstr(err, "in use"));
    ctel_sink_stop(NULL); /* harmless */
    fx_stop(f);
}

static void test_cli_usage(void **state)
{
    (void)state;
    char *bad[][3] = {
        {"sink", "--bogus", NULL}, {"sink", "--fail", "x:503"}, {"sink", "--http", "nohost"},
        {"sink", "--delay", "-5"}, {"sink", "--down-at", "3"},  {"sink", "--partial", "1"},
    };
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(ctel_cmd_sink(bad[i][2] ? 3 : 2, bad[i]), 2);
    char *discard_print[] = {"sink", "--discard", "--print"};
    assert_int_equal(ctel_cmd_sink(3, discard_print), 2);
    fclose(stderr);
    stderr = saved;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protobuf_counted_and_kept),
        cmocka_unit_test(test_gzip_body),
        cmocka_unit_test(test_gzip_bomb_is_refused),
        cmocka_unit_test(test_json_body),
        cmocka_unit_test(test_undecodable_bodies_are_400),
        cmocka_unit_test(test_routing_415_404_405),
        cmocka_unit_test(test_discard_counts),
        cmocka_unit_test(test_print_shows_the_tree),
        cmocka_unit_test(test_print_every_value_type),
        cmocka_unit_test(test_out_writes_json_lines),
        cmocka_unit_test(test_wait_spans_times_out),
        cmocka_unit_test(test_taken_port_is_an_error),
        cmocka_unit_test(test_cli_usage),
    };
    return cmocka_run_group_tests_name("tools/ctel/sink", tests, setup_group, teardown_group);
}
