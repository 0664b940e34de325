/* bench_otlp_http — end-to-end throughput of the export path: spans of the
 * standard workload (bench/workload.h) through the batch processor and the
 * OTLP/HTTP exporter (protobuf, one export thread) to a receiver on loopback
 * (`ctel sink --discard`, started by scripts/bench.sh).
 *
 *   bench_otlp_http --endpoint http://127.0.0.1:PORT/v1/traces
 *                   [--spans N] [--gzip] [--direct] [--queue N] [--tag NAME]
 *
 * --rate N: pace the producer at N spans/s (bursts of 256) instead of flat
 * out: the question becomes "is a rate of N sustained without drops?".
 * --direct: the exporter sends synchronously on the batch worker (one export
 * thread in all); by default the worker encodes and the pipeline's sender
 * thread sends (retry, breaker, spill).
 *
 * The producer runs flat out on one thread. Prints:
 *   BENCH otlp_http<tag>_delivered  spans accepted by the receiver per second,
 *                                    first span to the end of shutdown
 *   BENCH otlp_http<tag>_dropped     percent of spans not delivered (dropped at
 *                                    the SDK's queue or the pipeline's)
 *   BENCH otlp_http<tag>_wire        bytes on the wire per span
 *   BENCH otlp_http<tag>_peak_rss    peak resident memory of the process, MiB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <ctel/ctel.h>

#include "bench/bench_util.h"
#include "bench/workload.h"

int main(int argc, char **argv)
{
    const char *endpoint = NULL, *tag = "";
    long long spans = 1000000, queue = 0;
    double rate = 0;
    bool gzip = false, direct = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--endpoint") && i + 1 < argc)
            endpoint = argv[++i];
        else if (!strcmp(argv[i], "--spans") && i + 1 < argc)
            spans = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--queue") && i + 1 < argc)
            queue = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--tag") && i + 1 < argc)
            tag = argv[++i];
        else if (!strcmp(argv[i], "--gzip"))
            gzip = true;
        else if (!strcmp(argv[i], "--direct"))
            direct = true;
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            rate = atof(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s --endpoint URL [--spans N] [--rate N] [--gzip] [--direct] "
                    "[--queue N] [--tag NAME]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!endpoint || spans <= 0) {
        fprintf(stderr, "%s: --endpoint URL is required (scripts/bench.sh starts a sink)\n",
                argv[0]);
        return 2;
    }
    ctel_otlp_options oo = CTEL_OTLP_OPTIONS_INIT;
    oo.endpoint = endpoint;
    oo.compression = gzip ? CTEL_OTLP_COMPRESSION_GZIP : CTEL_OTLP_COMPRESSION_NONE;
    oo.direct = direct;
    oo.spill_dir = "";
    ctel_span_exporter *exp = NULL;
    if (ctel_otlp_http_exporter_create(&oo, &exp) != CTEL_OK)
        return 1;
    ctel_batch_options bo = CTEL_BATCH_OPTIONS_INIT;
    if (queue > 0)
        bo.max_queue_size = (int32_t)queue;
    ctel_span_processor *proc = NULL;
    if (ctel_batch_processor_create(exp, &bo, &proc) != CTEL_OK)
        return 1;
    ctel_sdk *sdk = bench_sdk(proc, "bench-otlp-http");
    ctel_tracer *t = ctel_sdk_tracer(sdk, "bench", "1.0", NULL);

    double t0 = bench_now_s();
    if (rate > 0) {
        /* in blocks of 256 (the last one short), paced to `rate` */
        for (long long done = 0; done < spans;) {
            long long block = spans - done < 256 ? spans - done : 256;
            for (long long i = 0; i < block; i++)
                bench_one_span(t, 1);
            done += block;
            bench_sleep_until(t0 + (double)done / rate);
        }
    } else {
        for (long long i = 0; i < spans; i++)
            bench_one_span(t, 1);
    }
    double produced = bench_now_s() - t0;
    ctel_status rc = ctel_sdk_shutdown(sdk, 60000);
    double total = bench_now_s() - t0;

    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    /* the exporter is owned by the processor, which the SDK still holds */
    ctel_otlp_exporter_stats es;
    ctel_otlp_exporter_get_stats(exp, &es);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* Delivered: accepted by the receiver. In direct mode that is what the
     * SDK exported; with the pipeline, what the pipeline delivered (it may
     * also drop from its own queue when the sender falls behind). */
    uint64_t delivered = direct ? st.spans_exported : es.delivered;
    uint64_t lost = (uint64_t)spans - delivered;
    double dropped = 100.0 * (double)lost / (double)spans;
    fprintf(stderr,
            "otlp_http%s: %lld spans produced in %.3f s, delivered %llu in %.3f s (SDK queue "
            "full %llu, pipeline queue full %llu), %llu requests (%llu failed), %llu bytes sent "
            "(%llu encoded), shutdown %s\n",
            tag, spans, produced, (unsigned long long)delivered, total,
            (unsigned long long)st.spans_dropped_queue_full,
            (unsigned long long)es.dropped_queue_full, (unsigned long long)es.requests,
            (unsigned long long)es.requests_failed, (unsigned long long)es.bytes_sent,
            (unsigned long long)es.bytes_encoded, ctel_status_str(rc));
    printf("BENCH otlp_http%s_delivered %.0f spans/s\n", tag, (double)delivered / total);
    printf("BENCH otlp_http%s_dropped %.2f %%\n", tag, dropped);
    printf("BENCH otlp_http%s_wire %.1f bytes/span\n", tag,
           es.items_sent ? (double)es.bytes_sent / (double)es.items_sent : 0.0);
    printf("BENCH otlp_http%s_peak_rss %.1f MiB\n", tag, (double)ru.ru_maxrss / 1024.0);
    ctel_sdk_destroy(sdk);
    return es.requests_failed ? 1 : 0;
}
