/* tools/ctel/probe.c — `ctel probe` (placeholder). */
#include <stdio.h>

#include "tools/ctel/commands.h"

int ctel_cmd_probe(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ctel probe: not built yet\n");
    return 1;
}
