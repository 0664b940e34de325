/* tools/ctel/main.c — the `ctel` command: dispatches to its subcommands. */
#include <stdio.h>
#include <string.h>

#include <ctel/ctel.h>

#include "tools/ctel/commands.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: ctel <command> [options]\n"
            "\n"
            "commands:\n"
            "  sink    a local OTLP/HTTP receiver: print, record or count what arrives,\n"
            "          with fault injection for rehearsing Collector outages\n"
            "  gen     a load generator that exports spans through the ctel SDK\n"
            "  probe   is the Collector reachable and accepting OTLP? (exit 0 ready,\n"
            "          1 not ready, 2 usage error) — for exec readiness probes\n"
            "\n"
            "  ctel <command> --help   the command's options\n"
            "  ctel --version          ctel's version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("ctel %s\n", ctel_version());
        return 0;
    }
    if (!strcmp(cmd, "sink"))
        return ctel_cmd_sink(argc - 1, argv + 1);
    if (!strcmp(cmd, "gen"))
        return ctel_cmd_gen(argc - 1, argv + 1);
    if (!strcmp(cmd, "probe"))
        return ctel_cmd_probe(argc - 1, argv + 1);
    fprintf(stderr, "ctel: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
