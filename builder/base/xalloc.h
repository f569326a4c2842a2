/* xalloc.h: allocation that cannot fail. Running out of memory is not a
 * condition vmstamp recovers from (as in git's xmalloc, libvirt's g_new):
 * these print "vmstamp: out of memory" and abort(). */
#ifndef VMSTAMP_XALLOC_H
#define VMSTAMP_XALLOC_H

#include <stddef.h>

__attribute__((noreturn)) void xalloc_die(void);

void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
/* n * size, checked for overflow. */
void *xreallocarray(void *p, size_t n, size_t size) __attribute__((returns_nonnull));
void *xrealloc(void *p, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull, nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull, nonnull));
/* xstrdup that passes NULL through. */
char *xstrdup_or_null(const char *s) __attribute__((malloc));
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2), malloc, returns_nonnull));

#endif
