/* bench_span.c — the cost of a span on the application thread.
 *
 * Workload (issue 2): start + end a span with 4 attributes
 * (http.request.method="GET", http.response.status_code=200,
 * url.path="/api/v1/items", x.ratio=0.5) through the batch processor into an
 * exporter that discards; N spans split over T threads. Reported: wall time
 * per span (median of R runs), heap allocations per span in steady state
 * (counted through ctel_set_allocator), spans dropped, the 2-thread speed-up
 * measured in the same process, and the cost of an unsampled span, both with
 * the four attribute calls (no-ops on a non-recording span) and bare
 * (start + end only).
 *
 *   bench_span [--spans N] [--runs R] [--queue Q] [--pin] [--profile T] [--warmup N]
 *              [--preallocate 0|1]
 *
 * --pin puts application thread i on CPU i (the export worker is left to the
 * scheduler), which removes most run-to-run noise from thread placement.
 * --profile T runs only the sampled T-thread configuration (for perf record).
 * --warmup N sets the number of warm-up rounds before each measured one.
 * --preallocate 0 runs the batch processor without preallocated span records
 * (ctel_batch_options.preallocate, on by default here): the record pool then
 * grows whenever more spans than ever before are in flight.
 * The CPU time of the producers and of everything else (the export worker)
 * is reported per span: it is what the two-thread speed-up is made of.
 */
#include <ctel/ctel.h>

#include "bench/bench_util.h"
#include "bench/workload.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_ulong g_allocs;

static void *count_malloc(size_t n, void *ud)
{
    (void)ud;
    atomic_fetch_add_explicit(&g_allocs, 1, memory_order_relaxed);
    return malloc(n);
}
static void *count_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    atomic_fetch_add_explicit(&g_allocs, 1, memory_order_relaxed);
    return realloc(p, n);
}
static void count_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static ctel_status discard_export(void *state, const ctel_span_data *const *spans, size_t n,
                                  uint32_t timeout_ms)
{
    (void)timeout_ms;
    (void)spans;
    atomic_fetch_add_explicit((atomic_ulong *)state, n, memory_order_relaxed);
    return CTEL_OK;
}

typedef struct worker_arg {
    ctel_tracer *tracer;
    long spans;
    pthread_barrier_t *barrier;
    int cpu;            /* -1: not pinned */
    double cpu_s;       /* this thread's CPU time in the measured round */
    _Atomic long *left; /* shared split: spans not yet taken (NULL: `spans` each) */
} worker_arg;

static int g_pin; /* --pin: application threads on CPUs 0..T-1 */

static void pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static int g_bare; /* unsampled round without attribute calls */
static int g_preallocate = 1;

/* Rounds on the same threads: g_warmups warm-ups (3 unless --warmup N) as
 * large as the measured round (the record pool grows to the most spans ever
 * in flight), then the measured round. The main thread flushes between
 * rounds.
 *
 * Threads split a round's spans either in equal fixed shares, or (shared
 * split) by taking SPLIT_CHUNK spans at a time from a common count until
 * none are left. With fixed shares the round ends when the slower thread
 * ends: the export worker tends to run on one CPU, so one application
 * thread loses its time and the other CPU idles through the tail. The
 * shared split keeps both threads busy to the end (within one chunk, ~0.1
 * ms), which is the steady-state throughput of two threads. */
static int g_warmups = 3;
#define SPLIT_CHUNK 1000L
static void *worker(void *p)
{
    worker_arg *a = p;
    if (a->cpu >= 0)
        pin_to(a->cpu);
    for (int round = 0; round <= g_warmups; round++) {
        pthread_barrier_wait(a->barrier);
        double c0 = bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
        if (a->left) {
            long got;
            while ((got = atomic_fetch_sub(a->left, SPLIT_CHUNK)) > 0)
                for (long i = 0; i < (got < SPLIT_CHUNK ? got : SPLIT_CHUNK); i++)
                    bench_one_span(a->tracer, !g_bare);
        } else {
            for (long i = 0; i < a->spans; i++)
                bench_one_span(a->tracer, !g_bare);
        }
        a->cpu_s = bench_clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
        pthread_barrier_wait(a->barrier);
    }
    return NULL;
}

typedef struct run_result {
    double ns_per_span;
    double allocs_per_span;
    double worker_ns_per_span;   /* CPU of every thread but the producers */
    double producer_ns_per_span; /* the producers' CPU */
    unsigned long allocs;
    unsigned long dropped;
    unsigned long exported;
} run_result;

/* Control rounds: the same spans with no processor at all (the SDK built
 * with OTEL_TRACES_EXPORTER=none), so each record is recycled on the spot by
 * the thread that ended it. Their two-thread speed-up is what this machine
 * gives the span work itself; the batch pipeline's is measured against it. */
static int g_control;

static ctel_sdk *make_sdk(long queue, ctel_sampler_kind kind, atomic_ulong *sink)
{
    if (g_control) {
        ctel_sampler *sampler = NULL;
        ctel_sdk_options o = CTEL_SDK_OPTIONS_INIT;
        ctel_sdk *sdk = NULL;
        setenv("OTEL_TRACES_EXPORTER", "none", 1);
        if (ctel_sampler_create(kind, 1.0, &sampler) != CTEL_OK)
            exit(1);
        o.sampler = sampler;
        o.service_name = "bench";
        if (ctel_sdk_create(&o, &sdk) != CTEL_OK) {
            fprintf(stderr, "bench_span: sdk_create failed\n");
            exit(1);
        }
        unsetenv("OTEL_TRACES_EXPORTER");
        return sdk;
    }
    ctel_span_exporter_ops ops = {"discard", discard_export, NULL, NULL, NULL};
    ctel_span_exporter *exp = NULL;
    ctel_span_processor *proc = NULL;
    ctel_sampler *sampler = NULL;
    ctel_batch_options bo = CTEL_BATCH_OPTIONS_INIT;
    bo.max_queue_size = (int32_t)queue;
    bo.preallocate = g_preallocate;
    if (ctel_span_exporter_create(&ops, sink, &exp) != CTEL_OK ||
        ctel_batch_processor_create(exp, &bo, &proc) != CTEL_OK ||
        ctel_sampler_create(kind, 1.0, &sampler) != CTEL_OK) {
        fprintf(stderr, "bench_span: setup failed\n");
        exit(1);
    }
    ctel_sdk_options o = CTEL_SDK_OPTIONS_INIT;
    o.sampler = sampler;
    o.span_processors = &proc;
    o.span_processor_count = 1;
    o.service_name = "bench";
    ctel_sdk *sdk = NULL;
    if (ctel_sdk_create(&o, &sdk) != CTEL_OK) {
        fprintf(stderr, "bench_span: sdk_create failed\n");
        exit(1);
    }
    return sdk;
}

static run_result run(long spans, int threads, long queue, ctel_sampler_kind kind, bool shared)
{
    _Atomic long left = 0;
    atomic_ulong sink = 0;
    ctel_sdk *sdk = make_sdk(queue, kind, &sink);
    ctel_tracer *t = ctel_sdk_tracer(sdk, "bench", "1.0", NULL);

    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
    pthread_t tid[64];
    worker_arg args[64];
    for (int i = 0; i < threads; i++) {
        args[i] =
            (worker_arg){t, spans / threads, &barrier, g_pin ? i : -1, 0, shared ? &left : NULL};
        pthread_create(&tid[i], NULL, worker, &args[i]);
    }
    for (int round = 0; round < g_warmups; round++) {
        atomic_store(&left, spans);
        pthread_barrier_wait(&barrier);
        pthread_barrier_wait(&barrier);
        ctel_sdk_force_flush(sdk, 30000);
    }
    atomic_store(&left, spans);
    ctel_sdk_stats before;
    ctel_sdk_stats_get(sdk, &before);
    /* Measured round. */
    pthread_barrier_wait(&barrier);
    unsigned long a0 = atomic_load(&g_allocs);
    double t0 = bench_now_s(), p0 = bench_clock_s(CLOCK_PROCESS_CPUTIME_ID);
    pthread_barrier_wait(&barrier);
    double t1 = bench_now_s(), p1 = bench_clock_s(CLOCK_PROCESS_CPUTIME_ID);
    unsigned long a1 = atomic_load(&g_allocs);
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    ctel_sdk_force_flush(sdk, 30000);
    ctel_sdk_stats after;
    ctel_sdk_stats_get(sdk, &after);
    pthread_barrier_destroy(&barrier);
    ctel_sdk_destroy(sdk);

    long done = shared ? spans : (spans / threads) * threads;
    run_result r;
    r.ns_per_span = (t1 - t0) * 1e9 / (double)done;
    r.allocs_per_span = (double)(a1 - a0) / (double)done;
    r.allocs = a1 - a0;
    /* The process's CPU time in the round minus the producers': the export
     * worker's share (the main thread waits in the barrier). */
    double producers = 0;
    for (int i = 0; i < threads; i++)
        producers += args[i].cpu_s;
    r.worker_ns_per_span = (p1 - p0 - producers) * 1e9 / (double)done;
    r.producer_ns_per_span = producers * 1e9 / (double)done;
    r.dropped = (unsigned long)(after.spans_dropped_queue_full - before.spans_dropped_queue_full);
    r.exported = (unsigned long)(after.spans_exported - before.spans_exported);
    return r;
}

int main(int argc, char **argv)
{
    long spans = 1000000, queue = 65536;
    int runs = 5;
    int profile = 0; /* --profile T: only the sampled T-thread round, for perf */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--spans") && i + 1 < argc)
            spans = atol(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--queue") && i + 1 < argc)
            queue = atol(argv[++i]);
        else if (!strcmp(argv[i], "--pin"))
            g_pin = 1;
        else if (!strcmp(argv[i], "--profile") && i + 1 < argc)
            profile = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
            g_warmups = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--preallocate") && i + 1 < argc)
            g_preallocate = atoi(argv[++i]) != 0;
        else {
            fprintf(stderr,
                    "usage: bench_span [--spans N] [--runs R] [--queue Q] [--pin] [--profile T] "
                    "[--warmup N] [--preallocate 0|1]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 101 || spans < 1000 || g_warmups < 0 || g_warmups > 100) {
        fprintf(stderr, "bench_span: need --runs 1..101, --spans >= 1000, --warmup 0..100\n");
        return 2;
    }
    ctel_allocator al = {count_malloc, count_realloc, count_free, NULL};
    ctel_set_allocator(&al);

    double one[101], two[101], ratio[101], unsampled[101], bare[101], allocs1[101], allocs2[101],
        worker1[101], worker2[101], prod1[101], prod2[101], control1[101], control_ratio[101],
        efficiency[101], two_fixed[101], ratio_fixed[101];
    unsigned long dropped1 = 0, dropped2 = 0, lost = 0, total_allocs = 0;
    if (profile > 0 && profile <= 64) {
        for (int r = 0; r < runs; r++) {
            run_result a = run(spans, profile, queue, CTEL_SAMPLER_ALWAYS_ON, true);
            printf("BENCH span_4attrs_%dthreads_profile %.1f ns/span (producers %.1f, worker "
                   "%.1f CPU ns/span)\n",
                   profile, a.ns_per_span, a.producer_ns_per_span, a.worker_ns_per_span);
        }
        return 0;
    }
    /* Interleave configurations so machine noise hits them alike. */
    for (int r = 0; r < runs; r++) {
        run_result a = run(spans, 1, queue, CTEL_SAMPLER_ALWAYS_ON, false);
        run_result b = run(spans, 2, queue, CTEL_SAMPLER_ALWAYS_ON, true);
        run_result bf = run(spans, 2, queue, CTEL_SAMPLER_ALWAYS_ON, false);
        g_control = 1;
        run_result ca = run(spans, 1, queue, CTEL_SAMPLER_ALWAYS_ON, false);
        run_result cb = run(spans, 2, queue, CTEL_SAMPLER_ALWAYS_ON, true);
        g_control = 0;
        two_fixed[r] = bf.ns_per_span;
        ratio_fixed[r] = a.ns_per_span / bf.ns_per_span;
        control1[r] = ca.ns_per_span;
        control_ratio[r] = ca.ns_per_span / cb.ns_per_span;
        efficiency[r] = (a.ns_per_span / b.ns_per_span) / control_ratio[r];
        run_result c = run(spans, 1, queue, CTEL_SAMPLER_ALWAYS_OFF, false);
        g_bare = 1;
        run_result e = run(spans, 1, queue, CTEL_SAMPLER_ALWAYS_OFF, false);
        g_bare = 0;
        bare[r] = e.ns_per_span;
        one[r] = a.ns_per_span;
        two[r] = b.ns_per_span;
        /* Each ratio compares two rounds measured back to back, so a slow
         * period on the shared machine affects both sides alike. */
        ratio[r] = a.ns_per_span / b.ns_per_span;
        unsampled[r] = c.ns_per_span;
        worker1[r] = a.worker_ns_per_span;
        worker2[r] = b.worker_ns_per_span;
        prod1[r] = a.producer_ns_per_span;
        prod2[r] = b.producer_ns_per_span;
        allocs1[r] = a.allocs_per_span;
        allocs2[r] = b.allocs_per_span;
        total_allocs += a.allocs + b.allocs + bf.allocs + c.allocs;
        dropped1 += a.dropped;
        dropped2 += b.dropped + bf.dropped;
        long done2 = (spans / 2) * 2;
        lost += (unsigned long)labs(spans - (long)a.exported - (long)a.dropped) +
                (unsigned long)labs(spans - (long)b.exported - (long)b.dropped) +
                (unsigned long)labs(done2 - (long)bf.exported - (long)bf.dropped);
        fprintf(stderr,
                "run %d: 1t %.1f ns, 2t %.1f ns (fixed split %.1f), control 1t %.1f 2t %.1f, "
                "unsampled %.1f ns, dropped %lu/%lu\n",
                r + 1, a.ns_per_span, b.ns_per_span, bf.ns_per_span, ca.ns_per_span, cb.ns_per_span,
                c.ns_per_span, a.dropped, b.dropped + bf.dropped);
    }
    double m1 = bench_median(one, runs), m2 = bench_median(two, runs);
    printf("BENCH span_4attrs_1thread %.1f ns/span\n", m1);
    printf("BENCH span_4attrs_2threads %.1f ns/span\n", m2);
    printf("BENCH span_2threads_speedup %.2f x\n", bench_median(ratio, runs));
    printf("BENCH span_4attrs_2threads_fixed_split %.1f ns/span\n", bench_median(two_fixed, runs));
    printf("BENCH span_2threads_speedup_fixed_split %.2f x\n", bench_median(ratio_fixed, runs));
    printf("BENCH span_control_1thread %.1f ns/span\n", bench_median(control1, runs));
    printf("BENCH span_control_2threads_speedup %.2f x\n", bench_median(control_ratio, runs));
    printf("BENCH span_2threads_speedup_vs_control %.2f\n", bench_median(efficiency, runs));
    printf("BENCH span_unsampled %.1f ns/span\n", bench_median(unsampled, runs));
    printf("BENCH span_unsampled_bare %.1f ns/span\n", bench_median(bare, runs));
    printf("BENCH span_producer_cpu_1thread %.1f ns/span\n", bench_median(prod1, runs));
    printf("BENCH span_producer_cpu_2threads %.1f ns/span\n", bench_median(prod2, runs));
    printf("BENCH span_worker_cpu_1thread %.1f ns/span\n", bench_median(worker1, runs));
    printf("BENCH span_worker_cpu_2threads %.1f ns/span\n", bench_median(worker2, runs));
    printf("BENCH span_allocs_1thread %.4f allocs/span\n", bench_median(allocs1, runs));
    printf("BENCH span_allocs_2threads %.4f allocs/span\n", bench_median(allocs2, runs));
    printf("BENCH span_allocs_total %lu allocs\n", total_allocs);
    printf("BENCH span_dropped_1thread %lu spans\n", dropped1);
    printf("BENCH span_dropped_2threads %lu spans\n", dropped2);
    printf("BENCH span_unaccounted %lu spans\n", lost);
    return lost != 0;
}
