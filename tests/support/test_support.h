/* tests/support/test_support.h — helpers shared by the unit tests: a
 * diagnostics capture and a counting exporter. */
#ifndef CTEL_TEST_SUPPORT_H
#define CTEL_TEST_SUPPORT_H

#include <ctel/ctel.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* Captures ctel diagnostics into a buffer (thread-safe). */
void ts_log_capture_start(void);
void ts_log_capture_stop(void);
/* True if any captured message contains `needle`. */
bool ts_log_contains(const char *needle);
size_t ts_log_count(void);
/* Messages at warn level or above since ts_log_capture_start(). */
size_t ts_log_warning_count(void);
/* Everything captured, one message per line (valid until the next capture). */
const char *ts_log_text(void);

/* A span exporter that counts spans and calls, can be made slow or failing,
 * and records the names of the last spans it saw. */
typedef struct ts_counting_exporter {
    _Atomic unsigned long spans;
    _Atomic unsigned long calls;
    _Atomic unsigned long max_batch;
    _Atomic unsigned delay_ms;        /* sleep per export call */
    _Atomic int fail_with;            /* 0 = succeed, else the status to return */
    _Atomic bool destroyed;
    _Atomic bool shut_down;
} ts_counting_exporter;

/* Creates an exporter over `state` (the caller owns `state`; it must outlive
 * the exporter). */
ctel_span_exporter *ts_counting_exporter_create(ts_counting_exporter *state);

/* An SDK with one processor and an always-on sampler; aborts the test on
 * failure. */
ctel_sdk *ts_sdk_with_processor(ctel_span_processor *proc);

/* Starts and ends `n` spans named "op", each with the attribute i = its
 * number. */
void ts_end_spans(ctel_tracer *t, int n);

#endif
