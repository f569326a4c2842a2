/* error.c: the one recorded error message and diagnostic printing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

int verbose;
int quiet;
static _Thread_local char *last_error; /* per thread: batches customize in parallel */

static int record(int replace, const char *fmt, va_list ap)
{
    char *msg = NULL;

    if (last_error && !replace)
        return -1;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    free(last_error);
    last_error = msg;
    return -1;
}

int error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record(0, fmt, ap);
    va_end(ap);
    return -1;
}

int error_replace(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record(1, fmt, ap);
    va_end(ap);
    return -1;
}

const char *error_message(void)
{
    return last_error;
}

void error_clear(void)
{
    free(last_error);
    last_error = NULL;
}

void error_report(void)
{
    fprintf(stderr, "vmstamp: error: %s\n",
            last_error ? last_error : "unknown error (run with -v for details)");
    error_clear();
}

void info(const char *fmt, ...)
{
    va_list ap;

    if (quiet)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void debug(const char *fmt, ...)
{
    va_list ap;

    if (!verbose)
        return;
    fputs("vmstamp: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void warning(const char *fmt, ...)
{
    va_list ap;

    fputs("vmstamp: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
