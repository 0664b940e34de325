/* bench_resilience — what an outage costs the application thread: span
 * start + end with four attributes (bench/workload.h) through the batch
 * processor and the OTLP/HTTP exporter's pipeline, with the Collector
 *   healthy   a receiver on loopback (`ctel sink --discard`, from bench.sh)
 *   hung      a socket that accepts and never answers (every attempt times out)
 *   down      a closed port; the breaker is open by the time we measure
 *   spill     down, with a spill directory: undeliverable requests go to disk
 * The producer is paced (bursts of 64 spans, RATE spans/s in all, default
 * 200,000/s: well within what the exporter drains) so no span is dropped at
 * the queue in any mode; the time inside the bursts is what a span costs the
 * application. Modes alternate within each round; medians over the rounds.
 *
 *   bench_resilience --endpoint http://127.0.0.1:PORT/v1/traces [--runs N]
 *                    [--spans N] [--rate PER_SEC]
 *
 * Prints BENCH resilience_<mode> <ns> ns/span and the ratio to healthy. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ctel/ctel.h>

#include "bench/bench_util.h"
#include "bench/workload.h"

/* A loopback socket that listens and never accepts: connects succeed (the
 * kernel queues them), answers never come. */
static int hung_listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64))
        return -1;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static uint16_t closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd); /* nobody listens there now */
    return ntohs(a.sin_port);
}

static double g_rate = 200000;

/* One measurement: a fresh SDK exporting to `url`, warmed up, then `spans`
 * spans in paced bursts; returns the busy ns per span on this thread. */
static double run_once(const char *url, const char *spill_dir, long spans)
{
    ctel_otlp_options oo = CTEL_OTLP_OPTIONS_INIT;
    oo.endpoint = url;
    oo.timeout_ms = 1000;
    oo.spill_dir = spill_dir ? spill_dir : "";
    ctel_span_exporter *exp = NULL;
    if (ctel_otlp_http_exporter_create(&oo, &exp) != CTEL_OK)
        exit(1);
    ctel_span_processor *proc = NULL;
    ctel_batch_options bo = CTEL_BATCH_OPTIONS_INIT;
    if (ctel_batch_processor_create(exp, &bo, &proc) != CTEL_OK)
        exit(1);
    ctel_sdk *sdk = bench_sdk(proc, "bench-resilience");
    ctel_tracer *t = ctel_sdk_tracer(sdk, "bench", "1.0", NULL);
    /* warm-up: pools filled, failures seen, breaker open where it will be */
    for (int i = 0; i < 2000; i++)
        bench_one_span(t, 1);
    struct timespec pause = {0, 300 * 1000000L};
    nanosleep(&pause, NULL);
    double busy = 0, start = bench_now_s();
    for (long done = 0; done < spans; done += 64) {
        double b0 = bench_now_s();
        for (int i = 0; i < 64; i++)
            bench_one_span(t, 1);
        double b1 = bench_now_s();
        busy += b1 - b0;
        bench_sleep_until(start + (double)(done + 64) / g_rate);
    }
    ctel_sdk_stats st;
    ctel_sdk_stats_get(sdk, &st);
    if (st.spans_dropped_queue_full)
        fprintf(stderr, "warning: %llu spans dropped at the queue; lower --rate\n",
                (unsigned long long)st.spans_dropped_queue_full);
    double ns = busy * 1e9 / (double)(spans - spans % 64 + (spans % 64 ? 64 : 0));
    ctel_sdk_shutdown(sdk, 200);
    ctel_sdk_destroy(sdk);
    return ns;
}

int main(int argc, char **argv)
{
    const char *healthy = NULL;
    int runs = 5;
    long spans = 200000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--endpoint") && i + 1 < argc)
            healthy = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--spans") && i + 1 < argc)
            spans = atol(argv[++i]);
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            g_rate = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s --endpoint URL [--runs N] [--spans N] [--rate N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!healthy || runs < 1 || runs > 99 || spans < 64 || !(g_rate > 0)) {
        fprintf(stderr, "%s: --endpoint URL of a receiver is required\n", argv[0]);
        return 2;
    }
    setenv("OTEL_LOG_LEVEL", "none", 0); /* outage diagnostics are not the subject */
    uint16_t hung_port = 0;
    int hung_fd = hung_listener(&hung_port);
    if (hung_fd < 0)
        return 1;
    char hung[64], down[64], dir[] = "/tmp/ctel-bench-spill-XXXXXX";
    snprintf(hung, sizeof hung, "http://127.0.0.1:%u/v1/traces", (unsigned)hung_port);
    snprintf(down, sizeof down, "http://127.0.0.1:%u/v1/traces", (unsigned)closed_port());
    if (!mkdtemp(dir))
        return 1;
    enum { MODES = 4 };
    const char *names[MODES] = {"healthy", "hung", "down", "spill"};
    double res[MODES][99];
    for (int r = 0; r < runs; r++) {
        res[0][r] = run_once(healthy, NULL, spans);
        res[1][r] = run_once(hung, NULL, spans);
        res[2][r] = run_once(down, NULL, spans);
        /* a fresh directory each round: every spill round starts empty */
        char round_dir[sizeof dir + 16];
        snprintf(round_dir, sizeof round_dir, "%s/%d", dir, r);
        if (mkdir(round_dir, 0700) != 0)
            return 1;
        res[3][r] = run_once(down, round_dir, spans);
        fprintf(stderr, "round %d: healthy %.1f, hung %.1f, down %.1f, spill %.1f ns/span\n", r + 1,
                res[0][r], res[1][r], res[2][r], res[3][r]);
    }
    double med[MODES];
    for (int m = 0; m < MODES; m++) {
        med[m] = bench_median(res[m], runs);
        printf("BENCH resilience_%s %.1f ns/span\n", names[m], med[m]);
    }
    for (int m = 1; m < MODES; m++)
        printf("BENCH resilience_%s_vs_healthy %.3f ratio\n", names[m], med[m] / med[0]);
    close(hung_fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
