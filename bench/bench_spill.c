/* bench/bench_spill.c — throughput of the disk spill (sdk/pipeline/spill.c):
 * writing 64 KiB records (about 330 spans each once encoded) into a fresh
 * directory under /tmp, then replaying them with peek + consume. Default
 * segment size (8 MiB, fsync'ed at each rotation). The replay reads what the
 * write left in the page cache, as a spill replayed soon after it was written
 * does. Prints the median of --runs runs. */
#include "bench/bench_util.h"
#include "sdk/internal.h"

#include "sdk/pipeline/spill.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_BYTES (64 * 1024)
#define SPANS_PER_RECORD 330

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* One run: returns false on failure; *w and *r get seconds. */
static bool run_once(const uint8_t *payload, uint32_t records, double *w, double *r)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/ctel-bench-spill-XXXXXX");
    if (!mkdtemp(dir))
        return false;
    bool ok = false;
    ctel__spill_options o = {.dir = dir, .max_bytes = (uint64_t)records * (RECORD_BYTES + 64) * 2};
    ctel__spill *s = NULL;
    ctel__buf b = CTEL__BUF_INIT;
    if (ctel__spill_open(&o, &s) != CTEL_OK)
        goto out;
    uint64_t t0 = ctel__mono_ns();
    uint64_t now = ctel__now_ns();
    for (uint32_t i = 0; i < records; i++)
        if (ctel__spill_write(s, payload, RECORD_BYTES, SPANS_PER_RECORD, now) != CTEL_OK)
            goto out;
    uint64_t t1 = ctel__mono_ns();
    for (uint32_t i = 0; i < records; i++) {
        uint32_t items;
        uint64_t tok;
        if (ctel__spill_peek(s, &b, &items, &tok) != CTEL_OK || b.len != RECORD_BYTES ||
            ctel__spill_consume(s, tok) != CTEL_OK)
            goto out;
    }
    uint64_t t2 = ctel__mono_ns();
    *w = (double)(t1 - t0) / 1e9;
    *r = (double)(t2 - t1) / 1e9;
    ok = true;
out:
    ctel__buf_free(&b);
    ctel__spill_close(s);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return ok;
}

int main(int argc, char **argv)
{
    int mib = 256, runs = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
            mib = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_spill [--mib N] [--runs R]\n");
            return 2;
        }
    }
    if (mib < 1 || mib > 65536 || runs < 1 || runs > 101) {
        fprintf(stderr, "bench_spill: need --mib 1..65536 and --runs 1..101\n");
        return 2;
    }
    uint32_t records = (uint32_t)((uint64_t)mib * 1024 * 1024 / RECORD_BYTES);
    static uint8_t payload[RECORD_BYTES];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof payload; i++) { /* incompressible, like encoded spans */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        payload[i] = (uint8_t)x;
    }
    double w[101], r[101];
    for (int i = 0; i < runs; i++) {
        if (!run_once(payload, records, &w[i], &r[i])) {
            fprintf(stderr, "bench_spill: run %d failed\n", i);
            return 1;
        }
        fprintf(stderr, "run %d: write %.3f s, replay %.3f s for %u records\n", i, w[i], r[i],
                records);
    }
    double wm = bench_median(w, runs), rm = bench_median(r, runs);
    double mb = (double)records * RECORD_BYTES / 1e6;
    printf("BENCH spill_write %.0f MB/s\n", mb / wm);
    printf("BENCH spill_write_records %.0f records/s\n", records / wm);
    printf("BENCH spill_write_spans %.0f spans/s\n", records * (double)SPANS_PER_RECORD / wm);
    printf("BENCH spill_replay %.0f MB/s\n", mb / rm);
    printf("BENCH spill_replay_records %.0f records/s\n", records / rm);
    printf("BENCH spill_replay_spans %.0f spans/s\n", records * (double)SPANS_PER_RECORD / rm);
    return 0;
}
