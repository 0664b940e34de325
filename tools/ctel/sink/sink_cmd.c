/* tools/ctel/sink/sink_cmd.c — `ctel sink` (placeholder until the sink lands). */
#include <stdio.h>

#include "tools/ctel/commands.h"

int ctel_cmd_sink(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ctel sink: not built yet\n");
    return 1;
}
