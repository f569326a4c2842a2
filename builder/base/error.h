/* error.h: record one error message; modules return -1, only main/cmd_* exit. */
#ifndef VMSTAMP_ERROR_H
#define VMSTAMP_ERROR_H

#include <stdarg.h>

/* Record a message (printf format) and return -1, so callers write
 * `return error("template '%s' not found", path);`. A later error does not
 * overwrite an earlier one until error_clear(): the first cause wins. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like error() but always replaces the recorded message. */
int error_replace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *error_message(void); /* NULL if none recorded */
/* S with each control character but tab (below 0x20, and 0x7f) written
 * out as \n, \r or \xNN, so a value quoted into a message keeps it one line;
 * error() and error_replace() record their message so. Returns a malloc'ed
 * string (NULL only when out of memory). */
char *error_escape(const char *s);
void error_clear(void);
/* Print "vmstamp: error: MSG" to stderr (or a generic line if none). */
void error_report(void);

/* Diagnostics: -v and -q set these. */
extern int verbose;
extern int quiet;
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* stderr unless -q */
void debug(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* stderr if -v */
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line of progress, rewritten in place on a terminal (stderr a tty,
 * neither -q nor -v); the next diagnostic replaces it. progress_shown():
 * whether it is (callers print a line per step otherwise). */
int progress_shown(void);
void progress_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_clear(void);

#endif
