/* xalloc.c: see xalloc.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"

void xalloc_die(void)
{
    static const char msg[] = "vmstamp: out of memory\n";

    /* write(2), not stdio: nothing here may allocate. */
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing more to do */
    }
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        xalloc_die();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        xalloc_die();
    return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
    size_t bytes;
    void *q;

    if (n && size > (size_t)-1 / n)
        xalloc_die();
    bytes = n * size;
    q = realloc(p, bytes ? bytes : 1);
    if (!q)
        xalloc_die();
    return q;
}

void *xrealloc(void *p, size_t size)
{
    return xreallocarray(p, 1, size);
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);

    if (!p)
        xalloc_die();
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (!p)
        xalloc_die();
    return p;
}

char *xstrdup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        xalloc_die();
    return s;
}
