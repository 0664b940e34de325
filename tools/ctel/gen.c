/* tools/ctel/gen.c — `ctel gen` (placeholder). */
#include <stdio.h>

#include "tools/ctel/commands.h"

int ctel_cmd_gen(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ctel gen: not built yet\n");
    return 1;
}
