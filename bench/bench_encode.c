/* bench_encode — the export worker's encoding cost per span: one batch of
 * 512 spans of the standard workload (bench/workload.h) encoded as an OTLP
 * ExportTraceServiceRequest by ctel's encoder, side by side with protobuf-c
 * packing the very same request from its generated structs (what a plain
 * protobuf-c encoder does after building them), and with the OTLP/JSON
 * encoder. Medians of --runs N rounds (default 7), 400 batches each.
 *
 * Prints BENCH encode_proto_ctel, encode_proto_protobufc_pack, encode_json
 * (ns/span) and the ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ctel/ctel.h>

#include "bench/bench_util.h"
#include "bench/workload.h"
#include "exporters/otlp/json/otlp_json.h"
#include "exporters/otlp/proto/otlp_proto.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define BATCH 512
#define ROUNDS_PER_RUN 400

int main(int argc, char **argv)
{
    int runs = 7;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
    }
    if (runs < 1 || runs > 99)
        runs = 7;
    /* a batch as the worker sees it: spans of one tracer, one resource */
    ctel_memory_exporter *mem = NULL;
    ctel_span_exporter *mexp = NULL;
    ctel_span_processor *proc = NULL;
    ctel_memory_exporter_create(0, &mem, &mexp);
    ctel_simple_processor_create(mexp, &proc);
    ctel_sdk *sdk = bench_sdk(proc, "bench-encode");
    ctel_tracer *t = ctel_sdk_tracer(sdk, "bench", "1.0", NULL);
    for (int i = 0; i < BATCH; i++)
        bench_one_span(t, 1);
    const ctel_span_data *spans[BATCH];
    for (int i = 0; i < BATCH; i++)
        ctel_memory_exporter_get(mem, (size_t)i, &spans[i]);
    /* the memory exporter copies the scope per span; a real batch shares one */
    static ctel_span_data copies[BATCH];
    for (int i = 0; i < BATCH; i++) {
        copies[i] = *spans[i];
        copies[i].scope = spans[0]->scope;
        copies[i].resource = spans[0]->resource;
        spans[i] = &copies[i];
    }

    ctel__buf b = CTEL__BUF_INIT;
    ctel__otlp_proto_encode_traces(spans, BATCH, &b);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, b.len, (const uint8_t *)b.data);
    if (!req)
        return 1;
    size_t plen = protobuf_c_message_get_packed_size(&req->base);
    uint8_t *packed = malloc(plen);
    double ours[99], pbc[99], json[99];
    for (int r = 0; r < runs; r++) {
        double t0 = bench_now_s();
        for (int k = 0; k < ROUNDS_PER_RUN; k++) {
            ctel__buf_reset(&b);
            ctel__otlp_proto_encode_traces(spans, BATCH, &b);
        }
        double t1 = bench_now_s();
        for (int k = 0; k < ROUNDS_PER_RUN; k++) {
            size_t n = protobuf_c_message_get_packed_size(&req->base);
            protobuf_c_message_pack(&req->base, packed);
            (void)n;
        }
        double t2 = bench_now_s();
        for (int k = 0; k < ROUNDS_PER_RUN; k++) {
            ctel__buf_reset(&b);
            ctel__otlp_json_encode_traces(spans, BATCH, &b);
        }
        double t3 = bench_now_s();
        double per = 1e9 / (ROUNDS_PER_RUN * (double)BATCH);
        ours[r] = (t1 - t0) * per;
        pbc[r] = (t2 - t1) * per;
        json[r] = (t3 - t2) * per;
    }
    double m_ours = bench_median(ours, runs), m_pbc = bench_median(pbc, runs),
           m_json = bench_median(json, runs);
    printf("BENCH encode_proto_ctel %.1f ns/span\n", m_ours);
    printf("BENCH encode_proto_protobufc_pack %.1f ns/span\n", m_pbc);
    printf("BENCH encode_json %.1f ns/span\n", m_json);
    printf("BENCH encode_proto_protobufc_vs_ctel %.2f ratio\n", m_pbc / m_ours);
    printf("BENCH encode_proto_bytes_per_span %.1f bytes/span\n", (double)plen / BATCH);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                            NULL);
    free(packed);
    ctel__buf_free(&b);
    ctel_sdk_shutdown(sdk, 1000);
    ctel_sdk_destroy(sdk);
    return 0;
}
