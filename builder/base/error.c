/* error.c: the one recorded error message and diagnostic printing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"

int verbose;
int quiet;
static _Thread_local char *last_error; /* per thread: batches customize in parallel */

char *error_escape(const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    char *out, *o;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p < 0x20 && *p != '\t') || *p == 0x7f ? 4 : 1;
    out = o = malloc(n + 1);
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 0x20 && *p != 0x7f) || *p == '\t') { /* a tab keeps the line (as yamlutil's one_line) */
            *o++ = (char)*p;
            continue;
        }
        *o++ = '\\';
        switch (*p) {
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        default:
            *o++ = 'x';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 0xf];
        }
    }
    *o = '\0';
    return out;
}

static int record(int replace, const char *fmt, va_list ap)
{
    char *msg = NULL;

    if (last_error && !replace)
        return -1;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    free(last_error);
    /* One line, whatever the values quoted into it hold. */
    last_error = msg ? error_escape(msg) : NULL;
    free(msg);
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
    progress_clear();
    fprintf(stderr, "vmstamp: error: %s\n",
            last_error ? last_error : "unknown error (run with -v for details)");
    error_clear();
}

/* The progress line: one line on a terminal, rewritten in place; any other
 * diagnostic first clears it (threads print too: one lock). */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int line_up;

static void say(const char *prefix, const char *fmt, va_list ap)
{
    pthread_mutex_lock(&out_lock);
    if (line_up) {
        fputs("\r\033[K", stderr);
        line_up = 0;
    }
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&out_lock);
}

int progress_shown(void)
{
    static int tty = -1;

    if (tty < 0)
        tty = isatty(STDERR_FILENO);
    return tty && !quiet && !verbose;
}

void progress_line(const char *fmt, ...)
{
    va_list ap;

    if (!progress_shown())
        return;
    pthread_mutex_lock(&out_lock);
    fputs("\r\033[K", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
    line_up = 1;
    pthread_mutex_unlock(&out_lock);
}

void progress_clear(void)
{
    pthread_mutex_lock(&out_lock);
    if (line_up) {
        fputs("\r\033[K", stderr);
        line_up = 0;
    }
    pthread_mutex_unlock(&out_lock);
}

void info(const char *fmt, ...)
{
    va_list ap;

    if (quiet)
        return;
    va_start(ap, fmt);
    say("", fmt, ap);
    va_end(ap);
}

void debug(const char *fmt, ...)
{
    va_list ap;

    if (!verbose)
        return;
    va_start(ap, fmt);
    say("vmstamp: ", fmt, ap);
    va_end(ap);
}

static void say_line(const char *prefix, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    say(prefix, fmt, ap);
    va_end(ap);
}

void warning(const char *fmt, ...)
{
    va_list ap;
    char *raw = NULL;

    /* One line, like errors: a value quoted into it (a path from a
     * domain's metadata) may hold a newline or a terminal escape. */
    va_start(ap, fmt);
    int n = vasprintf(&raw, fmt, ap);
    va_end(ap);
    char *line = n < 0 ? NULL : error_escape(raw);
    say_line("vmstamp: warning: ", "%s", line ? line : "(out of memory)");
    free(line);
    free(raw);
}
