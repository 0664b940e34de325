/* tools/ctel/commands.h — the subcommands of the `ctel` command. Each takes
 * the arguments after its name (argv[0] is the subcommand's name) and returns
 * the process exit status: 0 success, 1 failure, 2 usage error. */
#ifndef CTEL_TOOLS_COMMANDS_H
#define CTEL_TOOLS_COMMANDS_H

int ctel_cmd_sink(int argc, char **argv);
int ctel_cmd_gen(int argc, char **argv);
int ctel_cmd_probe(int argc, char **argv);

#endif
