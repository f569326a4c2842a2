/* command.h: run external programs from an argv, never through a shell.
 *
 * The child gets stdin from /dev/null, fds above 2 closed, LC_ALL=C; its
 * stdout can be captured, its stderr is captured into the error message.
 * With -v the argv is printed before it runs. A dry-run sink records argv
 * lines instead of running anything (used by golden-file tests). */
#ifndef VMSTAMP_COMMAND_H
#define VMSTAMP_COMMAND_H

#include <stdio.h>

struct command;

struct command *command_new(const char *program);
void command_add(struct command *cmd, const char *arg);
void command_addf(struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Kill the child (SIGKILL) after this many seconds; command_timed_out() tells. */
void command_set_timeout(struct command *cmd, int seconds);
int command_timed_out(const struct command *cmd);
/* The argv as one printable line, each word quoted when needed. Caller frees. */
char *command_to_string(const struct command *cmd);
/* Run. Returns 0 when the program exits 0. Otherwise records
 * "PROGRAM failed: <last stderr line>" and returns -1. If out is not NULL it
 * receives the captured stdout (NUL-terminated, caller frees), also on failure. */
int command_run(struct command *cmd, char **out);
/* The exit status of the last run (-1 if killed by a signal or timeout). */
int command_exit_status(const struct command *cmd);
void command_free(struct command *cmd);

/* Dry run: when sink is not NULL, command_run() writes the argv line to sink
 * and returns 0 with an empty stdout. */
void command_set_dry_run(FILE *sink);

#endif
