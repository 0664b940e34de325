/* Tests for tools/ctel/sink/sink_handler.c's fault injection, against a
 * real sink on 127.0.0.1 spoken to with libcurl: failures with Retry-After,
 * closed connections, delays (and stopping during one), partial success,
 * garbage answers, going down and coming back. */
#include "sink_test_util.h"

static void test_fail_fault_with_retry_after(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.fail_count = 2;
    faults.fail_status = 503;
    snprintf(faults.retry_after, sizeof faults.retry_after, "7");
    ctel_sink_set_faults(f->sink, &faults);
    size_t len;
    uint8_t *body = make_pb(3, &len);
    resp r;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
        assert_int_equal(r.status, 503);
        assert_string_equal(r.retry_after, "7");
        Google__Rpc__Status *st = google__rpc__status__unpack(NULL, r.len, (const uint8_t *)r.body);
        assert_non_null(st);
        assert_int_equal(st->code, 14);
        google__rpc__status__free_unpacked(st, NULL);
    }
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.retry_after, "");

    /* "all", a 429 without Retry-After, in JSON. */
    ctel_sink_faults all = CTEL_SINK_FAULTS_NONE;
    all.fail_count = -1;
    all.fail_status = 429;
    ctel_sink_set_faults(f->sink, &all);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(http(f->port, NULL, "/v1/traces", CT_JSON, NULL, "{}", 2, 0, &r),
                         CURLE_OK);
        assert_int_equal(r.status, 429);
        assert_string_equal(r.retry_after, "");
    }
    ctel_sink_set_faults(f->sink, NULL);
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);

    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.requests, 7);
    assert_int_equal(st.failed, 5);
    assert_int_equal(st.accepted, 2);
    assert_int_equal(st.spans, 6);
    free(body);
    fx_stop(f);
}

static void test_close_fault(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.close_count = 1;
    ctel_sink_set_faults(f->sink, &faults);
    size_t len;
    uint8_t *body = make_pb(2, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_GOT_NOTHING);
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.closed, 1);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.spans, 2);
    free(body);
    fx_stop(f);
}

typedef struct multi_result {
    long long elapsed_ms;
    int ok;
} multi_result;

static void test_delay_fault(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.delay_ms = 1500;
    ctel_sink_set_faults(f->sink, &faults);
    size_t len;
    uint8_t *body = make_pb(1, &len);
    resp r;
    assert_int_equal(http(f->port, NULL, "/v1/traces", CT_PB, NULL, body, len, 200, &r),
                     CURLE_OPERATION_TIMEDOUT);

    /* Delays run side by side: three delayed requests at once take about
     * one delay, not three. */
    faults.delay_ms = 1000;
    ctel_sink_set_faults(f->sink, &faults);
    CURLM *m = curl_multi_init();
    CURL *e[3];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: " CT_PB);
    for (int i = 0; i < 3; i++) {
        e[i] = curl_easy_init();
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/traces", (unsigned)f->port);
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e[i], CURLOPT_POSTFIELDSIZE, (long)len);
        curl_easy_setopt(e[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e[i], CURLOPT_TIMEOUT_MS, 10000L);
        curl_multi_add_handle(m, e[i]);
    }
    long long t0 = now_ms();
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    long long took = now_ms() - t0;
    int done = 0;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
        if (msg->msg == CURLMSG_DONE && msg->data.result == CURLE_OK)
            done++;
    }
    for (int i = 0; i < 3; i++) {
        long code = 0;
        curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &code);
        assert_int_equal(code, 200);
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(h);
    assert_int_equal(done, 3);
    assert_true(took >= 950);
    assert_true(took < 2500); /* one after another would be 3000 */

    ctel_sink_set_faults(f->sink, NULL);
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    free(body);
    fx_stop(f);
}

typedef struct bg_post {
    uint16_t port;
    CURLcode rc;
} bg_post;

static void *bg_post_run(void *arg)
{
    bg_post *b = arg;
    resp *r = malloc(sizeof *r);
    b->rc = http(b->port, NULL, "/v1/traces", CT_JSON, NULL, "{}", 2, 20000, r);
    free(r);
    return NULL;
}

static void test_stop_does_not_wait_for_a_delayed_answer(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.delay_ms = 30000;
    ctel_sink_set_faults(f->sink, &faults);
    bg_post b = {f->port, CURLE_OK};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bg_post_run, &b), 0);
    for (int i = 0; i < 200; i++) {
        ctel_sink_stats st;
        ctel_sink_get_stats(f->sink, &st);
        if (st.requests)
            break;
        usleep(10000);
    }
    long long t0 = now_ms();
    fx_stop(f);
    long long took = now_ms() - t0;
    pthread_join(t, NULL);
    assert_true(took < 3000);
    assert_int_not_equal(b.rc, CURLE_OK);
}

static void test_partial_success(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.partial_count = 1;
    faults.partial_rejected = 2;
    ctel_sink_set_faults(f->sink, &faults);
    size_t len;
    uint8_t *body = make_pb(5, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    resp_msg *rm =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(rm);
    assert_non_null(rm->partial_success);
    assert_int_equal(rm->partial_success->rejected_spans, 2);
    assert_true(strlen(rm->partial_success->error_message) > 0);
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(rm,
                                                                                             NULL);

    /* Used up: the next answer is a plain success. */
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.len, 0);

    /* JSON requests get the JSON form. */
    faults.partial_count = 1;
    faults.partial_rejected = 1;
    ctel_sink_set_faults(f->sink, &faults);
    assert_int_equal(
        http(f->port, NULL, "/v1/traces", CT_JSON, NULL, json_req, strlen(json_req), 0, &r),
        CURLE_OK);
    json_t *doc = json_loads(r.body, 0, NULL);
    assert_non_null(doc);
    json_t *rej = json_object_get(json_object_get(doc, "partialSuccess"), "rejectedSpans");
    assert_string_equal(json_string_value(rej), "1");
    json_decref(doc);

    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.accepted, 3);
    assert_int_equal(st.rejected_spans, 3);
    assert_int_equal(st.spans, 3 + 5 + 0);
    free(body);
    fx_stop(f);
}

static void test_garbage_fault(void **state)
{
    (void)state;
    fx *f = fx_keep();
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    faults.garbage_count = 1;
    ctel_sink_set_faults(f->sink, &faults);
    size_t len;
    uint8_t *body = make_pb(2, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(r.len > 0);
    assert_null(opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
        NULL, r.len, (const uint8_t *)r.body));
    assert_null(json_loadb(r.body, r.len, 0, NULL));
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    assert_int_equal(r.len, 0);
    ctel_sink_stats st;
    ctel_sink_get_stats(f->sink, &st);
    assert_int_equal(st.accepted, 2);
    assert_int_equal(st.spans, 4);
    free(body);
    fx_stop(f);
}

static void test_go_down_refuses_then_comes_back(void **state)
{
    (void)state;
    fx *f = fx_keep();
    size_t len;
    uint8_t *body = make_pb(1, &len);
    resp r;
    assert_int_equal(post_pb(f->port, body, len, &r), CURLE_OK);
    long long t0 = now_ms();
    ctel_sink_go_down(f->sink, 1500);
    /* The control thread stops the server promptly. */
    CURLcode rc = CURLE_OK;
    for (int i = 0; i < 100 && rc != CURLE_COULDNT_CONNECT; i++) {
        usleep(10000);
        rc = post_pb(f->port, body, len, &r);
    }
    assert_int_equal(rc, CURLE_COULDNT_CONNECT);
    assert_true(now_ms() - t0 < 1400);
    /* Back on the same port after the outage. */
    for (int i = 0; i < 100 && rc != CURLE_OK; i++) {
        usleep(50000);
        rc = post_pb(f->port, body, len, &r);
    }
    assert_int_equal(rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(now_ms() - t0 >= 1450);
    assert_int_equal(ctel_sink_port(f->sink), f->port);
    free(body);
    fx_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_fault_with_retry_after),
        cmocka_unit_test(test_close_fault),
        cmocka_unit_test(test_delay_fault),
        cmocka_unit_test(test_stop_does_not_wait_for_a_delayed_answer),
        cmocka_unit_test(test_partial_success),
        cmocka_unit_test(test_garbage_fault),
        cmocka_unit_test(test_go_down_refuses_then_comes_back),
    };
    return cmocka_run_group_tests_name("tools/ctel/sink/handler", tests, setup_group,
                                       teardown_group);
}
