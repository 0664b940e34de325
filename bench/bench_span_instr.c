/* bench_span_instr.c — the span API's cost in instructions, for
 * `valgrind --tool=callgrind`, whose counts repeat exactly where wall time on
 * a shared machine does not. scripts/bench.sh runs it and prints
 * "BENCH span_*_instructions N instr/span".
 *
 * The spans go to a processor that does nothing, so only the application
 * thread's work is counted: start, 4 attributes (as in bench_span), end, and
 * the record's return to the thread's pool.
 *
 *   bench_span_instr sampled|unsampled|unsampled_bare [N]
 * The measured loop is the function measured_loop(); count it with
 *   valgrind --tool=callgrind --toggle-collect=measured_loop ...
 */
#include <ctel/ctel.h>

#include "bench/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void noop_end(void *state, const ctel_span_data *span)
{
    (void)state;
    (void)span;
}

__attribute__((noinline)) static void measured_loop(ctel_tracer *t, long n, int attrs)
{
    for (long i = 0; i < n; i++)
        bench_one_span(t, attrs);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_span_instr sampled|unsampled|unsampled_bare [N]\n");
        return 2;
    }
    bool sampled = strcmp(argv[1], "sampled") == 0;
    int attrs = strcmp(argv[1], "unsampled_bare") != 0;
    long n = argc > 2 ? atol(argv[2]) : 100000;
    ctel_span_processor_ops ops = {NULL, noop_end, NULL, NULL, NULL};
    ctel_span_processor *proc = NULL;
    ctel_sampler *sampler = NULL;
    if (ctel_span_processor_create(&ops, NULL, &proc) != CTEL_OK ||
        ctel_sampler_create(sampled ? CTEL_SAMPLER_ALWAYS_ON : CTEL_SAMPLER_ALWAYS_OFF, 1.0,
                            &sampler) != CTEL_OK)
        return 1;
    ctel_sdk_options o = CTEL_SDK_OPTIONS_INIT;
    o.sampler = sampler;
    o.span_processors = &proc;
    o.span_processor_count = 1;
    o.service_name = "bench";
    ctel_sdk *sdk = NULL;
    if (ctel_sdk_create(&o, &sdk) != CTEL_OK)
        return 1;
    ctel_tracer *t = ctel_sdk_tracer(sdk, "bench", "1.0", NULL);
    measured_loop(t, 1000, attrs); /* warm the pool and the clock */
    measured_loop(t, n, attrs);
    ctel_sdk_destroy(sdk);
    printf("%ld\n", n + 1000);
    return 0;
}
