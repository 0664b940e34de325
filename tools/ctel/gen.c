/* tools/ctel/gen.c — `ctel gen traces`: a load generator that creates spans
 * with the ctel SDK itself, configured by the standard OTEL_* variables, and
 * says at the end whether anything was lost. */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ctel/ctel.h>

#include "tools/ctel/commands.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: ctel gen traces [--count N | --duration S] [--rate PER_SEC] [--workers N]\n"
            "                       [--shutdown-timeout MS]\n"
            "\n"
            "Creates spans through the ctel SDK (each: a SERVER span \"GET /api/v1/items\" with\n"
            "four attributes) and exports them as the OTEL_* variables say (by default\n"
            "OTLP/HTTP to http://localhost:4318; e.g. OTEL_EXPORTER_OTLP_ENDPOINT,\n"
            "OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_SERVICE_NAME).\n"
            "\n"
            "  --count N              spans in all (default 1000 when --duration is not given)\n"
            "  --duration S           run for S seconds instead (fractions allowed)\n"
            "  --rate PER_SEC         spans per second over all workers (default: unlimited)\n"
            "  --workers N            threads creating spans (default 1)\n"
            "  --shutdown-timeout MS  how long the final flush may take (default 30000)\n"
            "  --help                 this text\n"
            "\n"
            "At the end it prints created / exported / dropped counts and the rates. Exit\n"
            "status: 0 when every sampled span was exported, 1 when any was lost, 2 usage.\n");
}

typedef struct gen_worker {
    pthread_t thread;
    ctel_tracer *tracer;
    uint64_t count;       /* spans to make; 0 = until the deadline */
    double rate;          /* spans per second for this worker; 0 = unlimited */
    uint64_t deadline_ns; /* monotonic; 0 = none */
    uint64_t made;
} gen_worker;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void one_span(ctel_tracer *t)
{
    ctel_span_start_options o = CTEL_SPAN_START_OPTIONS_INIT;
    o.kind = CTEL_SPAN_KIND_SERVER;
    ctel_span *s = ctel_span_start(t, "GET /api/v1/items", &o);
    ctel_span_set_attr_str(s, "http.request.method", "GET");
    ctel_span_set_attr_int(s, "http.response.status_code", 200);
    ctel_span_set_attr_str(s, "url.path", "/api/v1/items");
    ctel_span_set_attr_double(s, "x.ratio", 0.5);
    ctel_span_end(s);
}

static void *worker_main(void *arg)
{
    gen_worker *w = arg;
    uint64_t start = mono_ns();
    for (uint64_t i = 0; w->count == 0 || i < w->count; i++) {
        if (w->rate > 0) {
            /* Pace to the schedule: span i is due at start + i / rate. */
            uint64_t due = start + (uint64_t)((double)i * 1e9 / w->rate);
            uint64_t now = mono_ns();
            if (w->deadline_ns && due >= w->deadline_ns)
                break;
            if (due > now) {
                struct timespec ts = {(time_t)((due - now) / 1000000000u),
                                      (long)((due - now) % 1000000000u)};
                nanosleep(&ts, NULL);
            }
        } else if (w->deadline_ns && (i & 1023) == 0 && mono_ns() >= w->deadline_ns) {
            break;
        }
        one_span(w->tracer);
        w->made++;
    }
    return NULL;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '-' || end == s || *end || v == 0 || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_pos_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || v > 1e12)
        return false;
    *out = v;
    return true;
}

int ctel_cmd_gen(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "traces") != 0) {
        fprintf(stderr, "ctel gen: say what to generate: 'ctel gen traces'\n");
        usage(stderr);
        return 2;
    }
    static const struct option longopts[] = {
        {"count", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"rate", required_argument, NULL, 'r'},
        {"workers", required_argument, NULL, 'w'},
        {"shutdown-timeout", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t count = 0, workers = 1, shutdown_ms = 30000;
    double duration = 0, rate = 0;
    int c;
    optind = 1;
    argc--, argv++; /* past "gen": argv[0] is now "traces" */
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'c': ok = parse_u64(optarg, UINT64_MAX / 2, &count); break;
        case 'd': ok = parse_pos_double(optarg, &duration); break;
        case 'r': ok = parse_pos_double(optarg, &rate); break;
        case 'w': ok = parse_u64(optarg, 256, &workers); break;
        case 's': ok = parse_u64(optarg, 3600000, &shutdown_ms); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            fprintf(stderr, "ctel gen: invalid value '%s' for --%s\n", optarg,
                    longopts[c == 'c' ? 0 : c == 'd' ? 1 : c == 'r' ? 2 : c == 'w' ? 3 : 4].name);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ctel gen: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (count && duration > 0) {
        fprintf(stderr, "ctel gen: give --count or --duration, not both\n");
        return 2;
    }
    if (!count && !(duration > 0))
        count = 1000;

    setenv("OTEL_SERVICE_NAME", "ctel-gen", 0);
    ctel_sdk *sdk = NULL;
    ctel_status rc = ctel_sdk_create(NULL, &sdk);
    if (rc != CTEL_OK) {
        fprintf(stderr, "ctel gen: cannot start the SDK: %s\n", ctel_status_str(rc));
        return 1;
    }
    ctel_tracer *tracer = ctel_sdk_tracer(sdk, "ctel-gen", ctel_version(), NULL);
    gen_worker *ws = calloc(workers, sizeof *ws);
    if (!ws) {
        ctel_sdk_destroy(sdk);
        return 1;
    }
    uint64_t start = mono_ns();
    uint64_t deadline = duration > 0 ? start + (uint64_t)(duration * 1e9) : 0;
    uint64_t started = 0;
    for (uint64_t i = 0; i < workers; i++) {
        ws[i].tracer = tracer;
        ws[i].count = count ? count / workers + (i < count % workers) : 0;
        ws[i].rate = rate > 0 ? rate / (double)workers : 0;
        ws[i].deadline_ns = deadline;
        if (count && ws[i].count == 0)
            continue;
        if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "ctel gen: cannot start worker %llu\n", (unsigned long long)i);
            break;
        }
        started = i + 1;
    }
    uint64_t made = 0;
    for (uint64_t i = 0; i < started; i++) {
        if (count && ws[i].count == 0)
            continue;
        pthread_join(ws[i].thread, NULL);
        made += ws[i].made;
    }
    uint64_t produced_ns = mono_ns() - start;
    rc = ctel_sdk_shutdown(sdk, (uint32_t)shutdown_ms);
    uint64_t total_ns = mono_ns() - start;
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    /* What the OTLP exporters made of the spans handed to them. */
    ctel_otlp_exporter_stats os[8];
    size_t nos = ctel_sdk_otlp_stats(sdk, os, 8);
    ctel_sdk_destroy(sdk);
    free(ws);

    uint64_t dropped = st.spans_dropped_queue_full + st.spans_dropped_export_failed +
                       st.spans_dropped_shutdown;
    uint64_t delivered = st.spans_exported, lost_after = 0;
    if (nos) {
        delivered = 0;
        for (size_t i = 0; i < nos && i < 8; i++) {
            uint64_t pipeline_dropped = os[i].dropped_queue_full +
                                        os[i].dropped_retries_exhausted +
                                        os[i].dropped_shutdown + os[i].dropped_spill_full +
                                        os[i].dropped_spill_age;
            delivered += os[i].delivered;
            lost_after += os[i].rejected + pipeline_dropped;
            printf("ctel gen: %s: delivered %llu, rejected %llu, dropped %llu (queue full "
                   "%llu, retries exhausted %llu, shutdown %llu, spill full %llu), spilled "
                   "%llu, on disk %llu, retried %llu, breaker %s\n",
                   os[i].endpoint, (unsigned long long)os[i].delivered,
                   (unsigned long long)os[i].rejected,
                   (unsigned long long)pipeline_dropped,
                   (unsigned long long)os[i].dropped_queue_full,
                   (unsigned long long)os[i].dropped_retries_exhausted,
                   (unsigned long long)os[i].dropped_shutdown,
                   (unsigned long long)os[i].dropped_spill_full,
                   (unsigned long long)os[i].spilled, (unsigned long long)os[i].on_disk,
                   (unsigned long long)os[i].retried,
                   ctel_breaker_state_str(os[i].breaker_state));
        }
    }
    printf("ctel gen: created %llu spans (%llu sampled) in %.3f s (%.0f spans/s)\n",
           (unsigned long long)made, (unsigned long long)st.spans_ended, produced_ns / 1e9,
           produced_ns ? made / (produced_ns / 1e9) : 0.0);
    printf("ctel gen: delivered %llu, lost %llu (in the SDK: queue full %llu, export failed "
           "%llu, shutdown %llu; after export: %llu); %.0f spans/s delivered end to end; "
           "shutdown: %s\n",
           (unsigned long long)delivered, (unsigned long long)(dropped + lost_after),
           (unsigned long long)st.spans_dropped_queue_full,
           (unsigned long long)st.spans_dropped_export_failed,
           (unsigned long long)st.spans_dropped_shutdown, (unsigned long long)lost_after,
           total_ns ? delivered / (total_ns / 1e9) : 0.0, ctel_status_str(rc));
    /* Spilled spans are not lost (a later run replays them), but they did not
     * arrive either: say so, and count them as not delivered. */
    bool lost = dropped != 0 || lost_after != 0 || delivered != st.spans_ended;
    if (lost)
        printf("ctel gen: NOT DELIVERED %llu spans\n",
               (unsigned long long)(st.spans_ended > delivered ? st.spans_ended - delivered : 0));
    return lost ? 1 : 0;
}
