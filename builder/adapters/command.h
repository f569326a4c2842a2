/* command.h: run external programs from an argv, never through a shell.
 *
 * The child gets stdin from /dev/null, fds above 2 closed, LC_ALL=C; its
 * stdout can be captured, its stderr is captured into the error message.
 * With -v the argv is printed before it runs. A dry-run sink records argv
 * lines instead of running anything (used by golden-file tests); a dry-run
 * callback answers with canned output and exit status (libvirt's
 * virCommandSetDryRun), so tests drive the code that parses the output. */
#ifndef VMSTAMP_COMMAND_H
#define VMSTAMP_COMMAND_H

#include <stddef.h>
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
 * "PROGRAM failed (exit N): <stderr>" (all of stderr, its lines joined with
 * "; ", at most COMMAND_STDERR_MAX characters) and returns -1. If out is not
 * NULL it receives the captured stdout (NUL-terminated, caller frees), also
 * on failure. */
int command_run(struct command *cmd, char **out);
/* The exit status of the last run (-1 if killed by a signal or timeout). */
int command_exit_status(const struct command *cmd);
void command_free(struct command *cmd);

/* Dry run: when sink is not NULL, command_run() writes the argv line to sink
 * and (without a callback) returns 0 with an empty stdout. */
void command_set_dry_run(FILE *sink);

/* Dry run with answers: when FN is not NULL, command_run() runs nothing and
 * calls FN with the argv (NULL-terminated). FN may set *OUT and *ERR to
 * malloc'd text (the program's stdout and stderr; left NULL: empty) and
 * returns the exit status (0..255), which command_run() treats as a real
 * run's. NULL turns it off. */
typedef int (*command_dry_run_fn)(const char *const *argv, char **out, char **err, void *opaque);
void command_set_dry_run_callback(command_dry_run_fn fn, void *opaque);

/* The longest stderr text kept in an error message. */
#define COMMAND_STDERR_MAX 1000
/* Stderr text S as one line: lines trimmed, empty ones dropped, the rest
 * joined with "; ", cut to MAX characters with "..." (caller frees; "" for
 * NULL). Pure; unit-tested. */
char *command_stderr_summary(const char *s, size_t max);

#endif
