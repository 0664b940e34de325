/* tools/ctel/probe.c — `ctel probe`: is the Collector reachable and accepting
 * OTLP? For people and for orchestrators' exec readiness probes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ctel/ctel.h>

#include "tools/ctel/commands.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: ctel probe [--endpoint URL | --traces-endpoint URL] [--timeout MS]\n"
            "                  [--protocol http/protobuf|http/json] [--quiet]\n"
            "\n"
            "Sends one minimal OTLP export that carries no telemetry (a resource with no\n"
            "spans) and reports whether the receiver accepted it.\n"
            "\n"
            "  --endpoint URL         base URL of the receiver, as OTEL_EXPORTER_OTLP_ENDPOINT\n"
            "                         (\"/v1/traces\" is appended)\n"
            "  --traces-endpoint URL  the full traces URL, used as is, as\n"
            "                         OTEL_EXPORTER_OTLP_TRACES_ENDPOINT\n"
            "  --timeout MS           give up after MS milliseconds (default: the export\n"
            "                         timeout, OTEL_EXPORTER_OTLP[_TRACES]_TIMEOUT or 10000)\n"
            "  --protocol P           http/protobuf (default) or http/json\n"
            "  --quiet                print nothing; the exit status says it all\n"
            "  --help                 this text\n"
            "\n"
            "Everything not given comes from the OTEL_EXPORTER_OTLP_* variables (headers,\n"
            "TLS files, compression), as for the exporter.\n"
            "\n"
            "Exit status: 0 ready; 1 not ready (one line says why: refused, dns, tls,\n"
            "timeout, http-status, connection, config, other); 2 usage error.\n");
}

int ctel_cmd_probe(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"traces-endpoint", required_argument, NULL, 't'},
        {"timeout", required_argument, NULL, 'T'},
        {"protocol", required_argument, NULL, 'p'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ctel_otlp_options o = CTEL_OTLP_OPTIONS_INIT;
    char *url = NULL;
    long timeout = 0;
    bool quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'e': {
            free(url);
            size_t n = strlen(optarg);
            url = malloc(n + sizeof "/v1/traces");
            if (!url)
                return 1;
            snprintf(url, n + sizeof "/v1/traces", "%s%s", optarg,
                     n && optarg[n - 1] == '/' ? "v1/traces" : "/v1/traces");
            o.endpoint = url;
            break;
        }
        case 't':
            o.endpoint = optarg;
            break;
        case 'T': {
            char *end;
            timeout = strtol(optarg, &end, 10);
            if (*end || end == optarg || timeout <= 0 || timeout > 3600000) {
                fprintf(stderr, "ctel probe: --timeout wants milliseconds (1..3600000), got "
                                "'%s'\n", optarg);
                free(url);
                return 2;
            }
            break;
        }
        case 'p':
            if (!strcmp(optarg, "http/protobuf")) {
                o.protocol = CTEL_OTLP_HTTP_PROTOBUF;
            } else if (!strcmp(optarg, "http/json")) {
                o.protocol = CTEL_OTLP_HTTP_JSON;
            } else {
                fprintf(stderr, "ctel probe: --protocol is http/protobuf or http/json, got "
                                "'%s'\n", optarg);
                free(url);
                return 2;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            free(url);
            return 0;
        default:
            usage(stderr);
            free(url);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ctel probe: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        free(url);
        return 2;
    }
    ctel_probe_result r;
    ctel_status rc = ctel_otlp_probe(&o, (uint32_t)timeout, &r);
    free(url);
    if (rc != CTEL_OK) {
        if (!quiet)
            printf("not ready: probe failed: %s\n", ctel_status_str(rc));
        return 1;
    }
    if (!quiet) {
        if (r.ready)
            printf("ready: %s answered HTTP %d in %u ms\n", r.endpoint, r.http_status,
                   r.latency_ms);
        else
            printf("not ready: %s: %s: %s (after %u ms)\n", r.endpoint,
                   ctel_probe_reason_str(r.reason), r.message, r.latency_ms);
    }
    return r.ready ? 0 : 1;
}
