/* tools/ctel/sink/sink_cmd.c — the `ctel sink` command: parses flags, runs a
 * sink until SIGINT/SIGTERM, prints a summary line. */
#include "tools/ctel/sink/sink_internal.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/ctel/commands.h"

static void sink_usage(FILE *to)
{
    fprintf(to,
            "usage: ctel sink [options]\n"
            "\n"
            "A local OTLP/HTTP trace receiver: POST /v1/traces, protobuf or JSON, gzip or\n"
            "identity. It answers like an OpenTelemetry Collector and can misbehave on purpose.\n"
            "\n"
            "options:\n"
            "  --http ADDR:PORT     listen there (default 127.0.0.1:4318; PORT 0 = any free\n"
            "                       port; IPv6 as [::1]:PORT). Binds only that address.\n"
            "  --ready-file FILE    once listening, write \"ADDR:PORT\\n\" to FILE\n"
            "  --print              print each request's traces as trees on stdout\n"
            "  --out FILE           append one OTLP/JSON line per request to FILE\n"
            "  --discard            only count spans (fastest; no --print or --out)\n"
            "  --tls-cert FILE      serve HTTPS with this certificate chain (PEM)...\n"
            "  --tls-key FILE       ...and this private key (PEM)\n"
            "\n"
            "faults (N is a number of requests, or \"all\"):\n"
            "  --fail N:STATUS[:RETRY_AFTER]\n"
            "                       answer N requests with STATUS (e.g. 503, 429), with a\n"
            "                       Retry-After header when RETRY_AFTER is given\n"
            "  --delay MS           delay every answer by MS milliseconds\n"
            "  --close N            close N connections without answering\n"
            "  --partial N:REJECTED answer N requests 200 with partial_success rejecting\n"
            "                       REJECTED spans\n"
            "  --garbage N          answer N requests 200 with an undecodable body\n"
            "  --down-at S:FOR_S    S seconds after start stop listening (connections are\n"
            "                       refused) for FOR_S seconds, then listen again\n"
            "\n"
            "  -h, --help           this help\n"
            "\n"
            "On SIGINT or SIGTERM the sink stops, prints one summary line to stderr and\n"
            "exits 0. Exit status 1: could not listen; 2: usage error.\n");
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* A request count: a number >= 0 or "all" (-1). */
static bool parse_count(const char *s, int *out)
{
    long v;
    if (!strcmp(s, "all")) {
        *out = -1;
        return true;
    }
    if (!parse_int(s, 0, INT_MAX, &v))
        return false;
    *out = (int)v;
    return true;
}

/* Splits "A:B..." at colons in a copy; returns the number of parts, or
 * max + 1 when there are more than max. */
static int split(const char *s, char *copy, size_t cap, char **parts, int max)
{
    snprintf(copy, cap, "%s", s);
    int n = 0;
    char *p = copy;
    for (;;) {
        if (n == max)
            return max + 1;
        parts[n++] = p;
        char *colon = strchr(p, ':');
        if (!colon)
            return n;
        *colon = '\0';
        p = colon + 1;
    }
}

/* "ADDR:PORT" or "[V6ADDR]:PORT". */
static bool parse_http(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        snprintf(host, cap, "%.*s", (int)(close - s - 1), s + 1);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return false;
        snprintf(host, cap, "%.*s", (int)(colon - s), s);
    }
    long p;
    if (!host[0] || !parse_int(colon + 1, 0, 65535, &p))
        return false;
    *port = (uint16_t)p;
    return true;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ctel sink: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    sink_usage(stderr);
    return 2;
}

static int write_ready_file(const char *path, const char *host, uint16_t port)
{
    /* Written whole, then renamed: a script polling for the file never
     * reads half a line. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    bool v6 = strchr(host, ':') != NULL;
    fprintf(f, "%s%s%s:%u\n", v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The whole of a small text file (a PEM), NUL-terminated; NULL with errno. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *n = cap <= (1u << 20) ? realloc(buf, cap) : NULL;
            if (!n) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            buf = n;
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

int ctel_cmd_sink(int argc, char **argv)
{
    char host[256] = "127.0.0.1";
    uint16_t port = 4318;
    const char *out_path = NULL, *ready_file = NULL, *tls_cert = NULL, *tls_key = NULL;
    bool print = false, discard = false;
    ctel_sink_faults faults = CTEL_SINK_FAULTS_NONE;
    long down_at = -1, down_for = 0;

    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (!strcmp(flag, "-h") || !strcmp(flag, "--help")) {
            sink_usage(stdout);
            return 0;
        }
        if (!strcmp(flag, "--print")) {
            print = true;
            continue;
        }
        if (!strcmp(flag, "--discard")) {
            discard = true;
            continue;
        }
        /* Every other flag takes a value: "--flag VALUE" or "--flag=VALUE". */
        char name[32];
        const char *val;
        const char *eq = strchr(flag, '=');
        if (eq && (size_t)(eq - flag) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - flag), flag);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", flag);
            val = NULL;
        }
        static const char *const valued[] = {"--http",    "--out",     "--ready-file",
                                             "--fail",    "--delay",   "--close",
                                             "--partial", "--garbage", "--down-at",
                                             "--tls-cert", "--tls-key"};
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
            known |= !strcmp(name, valued[k]);
        if (!known)
            return usage_error("unknown option '%s'", flag);
        if (!val) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", flag);
            val = argv[++i];
        }

        char copy[256];
        char *parts[3];
        long v;
        if (!strcmp(name, "--http")) {
            if (!parse_http(val, host, sizeof host, &port))
                return usage_error("--http wants ADDR:PORT, not '%s'", val);
        } else if (!strcmp(name, "--out")) {
            out_path = val;
        } else if (!strcmp(name, "--ready-file")) {
            ready_file = val;
        } else if (!strcmp(name, "--tls-cert")) {
            tls_cert = val;
        } else if (!strcmp(name, "--tls-key")) {
            tls_key = val;
        } else if (!strcmp(name, "--fail")) {
            /* RETRY_AFTER is the rest, verbatim: an HTTP-date has colons. */
            snprintf(copy, sizeof copy, "%s", val);
            char *status = strchr(copy, ':');
            char *retry = status ? strchr(status + 1, ':') : NULL;
            if (status)
                *status++ = '\0';
            if (retry)
                *retry++ = '\0';
            if (!status || !parse_count(copy, &faults.fail_count) ||
                !parse_int(status, 100, 599, &v))
                return usage_error("--fail wants N:STATUS[:RETRY_AFTER], not '%s'", val);
            faults.fail_status = (int)v;
            if (retry)
                snprintf(faults.retry_after, sizeof faults.retry_after, "%s", retry);
        } else if (!strcmp(name, "--delay")) {
            if (!parse_int(val, 0, INT_MAX, &v))
                return usage_error("--delay wants milliseconds, not '%s'", val);
            faults.delay_ms = (int)v;
        } else if (!strcmp(name, "--close")) {
            if (!parse_count(val, &faults.close_count))
                return usage_error("--close wants N or all, not '%s'", val);
        } else if (!strcmp(name, "--partial")) {
            if (split(val, copy, sizeof copy, parts, 2) != 2 ||
                !parse_count(parts[0], &faults.partial_count) ||
                !parse_int(parts[1], 0, LONG_MAX, &v))
                return usage_error("--partial wants N:REJECTED, not '%s'", val);
            faults.partial_rejected = v;
        } else if (!strcmp(name, "--garbage")) {
            if (!parse_count(val, &faults.garbage_count))
                return usage_error("--garbage wants N or all, not '%s'", val);
        } else if (!strcmp(name, "--down-at")) {
            if (split(val, copy, sizeof copy, parts, 2) != 2 ||
                !parse_int(parts[0], 0, 86400 * 365, &down_at) ||
                !parse_int(parts[1], 0, INT_MAX / 1000, &down_for))
                return usage_error("--down-at wants S:FOR_S, not '%s'", val);
        }
    }
    if (discard && (print || out_path))
        return usage_error("%s", "--discard only counts: it does not go with --print or --out");
    if (!tls_cert != !tls_key)
        return usage_error("%s", "HTTPS needs both --tls-cert and --tls-key");
    char *cert_pem = NULL, *key_pem = NULL;
    if (tls_cert && (!(cert_pem = read_text(tls_cert)) || !(key_pem = read_text(tls_key)))) {
        fprintf(stderr, "ctel sink: cannot read %s: %s\n", cert_pem ? tls_key : tls_cert,
                strerror(errno));
        free(cert_pem);
        return 1;
    }

    /* Decoding a request mallocs thousands of small pieces on a connection
     * thread's arena and frees them all; with glibc's default trim threshold
     * every request then hands the arena's pages back to the kernel and
     * faults them in again, which cost ~3x in decode throughput. */
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);

    /* The sink's threads inherit this mask, so the signals come to sigwait
     * here and nowhere else. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    ctel_sink_options opts = {host,  port,  print ? stdout : NULL, out_path, discard, false,
                              cert_pem, key_pem};
    ctel_sink *sink = NULL;
    char err[512];
    int start_rc = ctel_sink_start(&opts, &sink, err, sizeof err);
    free(cert_pem); /* the sink keeps copies */
    free(key_pem);
    if (start_rc != 0) {
        fprintf(stderr, "ctel sink: %s\n", err);
        return 1;
    }
    ctel_sink_set_faults(sink, &faults);
    uint16_t bound = ctel_sink_port(sink);
    bool v6 = strchr(host, ':') != NULL;
    fprintf(stderr, "ctel sink: listening on %s://%s%s%s:%u\n", tls_cert ? "https" : "http",
            v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)bound);
    if (ready_file && write_ready_file(ready_file, host, bound) != 0) {
        fprintf(stderr, "ctel sink: cannot write %s: %s\n", ready_file, strerror(errno));
        ctel_sink_stop(sink);
        return 1;
    }

    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    for (;;) {
        struct timespec wait = {1, 0};
        if (down_at >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long long left_ms =
                (long long)down_at * 1000 - ((long long)(now.tv_sec - started.tv_sec) * 1000 +
                                             (now.tv_nsec - started.tv_nsec) / 1000000);
            if (left_ms <= 0) {
                fprintf(stderr, "ctel sink: going down for %lds\n", down_for);
                ctel_sink_go_down(sink, (int)(down_for * 1000));
                down_at = -1;
                continue;
            }
            if (left_ms < 1000) {
                wait.tv_sec = 0;
                wait.tv_nsec = (long)left_ms * 1000000L;
            }
        }
        int sig = sigtimedwait(&sigs, NULL, &wait);
        if (sig == SIGINT || sig == SIGTERM)
            break;
    }

    ctel_sink_stats st;
    ctel_sink_get_stats(sink, &st);
    ctel_sink_stop(sink);
    fprintf(stderr,
            "ctel sink: %llu requests, %llu spans accepted, %llu requests accepted, %llu spans "
            "rejected, "
            "%llu failed, %llu closed, %llu bad requests, %llu bytes\n",
            (unsigned long long)st.requests, (unsigned long long)st.spans,
            (unsigned long long)st.accepted, (unsigned long long)st.rejected_spans,
            (unsigned long long)st.failed, (unsigned long long)st.closed,
            (unsigned long long)st.bad_requests, (unsigned long long)st.bytes);
    return 0;
}
