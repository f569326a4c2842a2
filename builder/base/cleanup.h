/* cleanup.h: automatic cleanup attributes, in the style of libguestfs cleanups.h.
 * Only the C library here; libvirt handles are in base/cleanup-virt.h, libxml2
 * documents in base/cleanup-xml.h. */
#ifndef VMSTAMP_CLEANUP_H
#define VMSTAMP_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* From base/xalloc.h, which is not included here: files that still define
 * their own static xstrdup() must keep compiling. */
__attribute__((noreturn)) void xalloc_die(void);

static inline void cleanup_free(void *ptr)
{
    free(*(void **)ptr);
}

static inline void cleanup_fclose(FILE **fp)
{
    if (*fp)
        fclose(*fp);
}

static inline void cleanup_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

/* A NULL-terminated array of strings, each owned. */
static inline void strv_free(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

/* Append OWNED to the NULL-terminated array *V (which may be NULL). */
static inline void strv_append(char ***v, char *owned)
{
    size_t n = 0;

    while (*v && (*v)[n])
        n++;
    *v = realloc(*v, (n + 2) * sizeof **v);
    if (!*v)
        xalloc_die();
    (*v)[n] = owned;
    (*v)[n + 1] = NULL;
}

static inline void cleanup_strv(char ***v)
{
    strv_free(*v);
}

/* A temporary file: removed, then its name freed (a half-made overlay on an
 * error path). steal_pointer() the name to keep the file. */
static inline void cleanup_unlink_free(char **path)
{
    if (*path) {
        unlink(*path);
        free(*path);
    }
}

#define CLEANUP_FREE __attribute__((cleanup(cleanup_free)))
#define CLEANUP_FCLOSE __attribute__((cleanup(cleanup_fclose)))
#define CLEANUP_CLOSE __attribute__((cleanup(cleanup_close)))
#define CLEANUP_STRV __attribute__((cleanup(cleanup_strv)))
#define CLEANUP_UNLINK_FREE __attribute__((cleanup(cleanup_unlink_free)))

/* Hand ownership out of a CLEANUP_ variable. */
#define steal_pointer(pp) \
    ({ __typeof__(*(pp)) steal_tmp_ = *(pp); *(pp) = NULL; steal_tmp_; })

#endif
