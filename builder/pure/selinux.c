/* selinux.c: see selinux.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "pure/selinux.h"
#include "pure/util.h"

char *selinux_context_type(const char *context)
{
    const char *p = context, *type;
    size_t len;

    if (!p)
        return NULL;
    for (int field = 0; field < 2; field++) {
        p = strchr(p, ':');
        if (!p)
            return NULL;
        p++;
    }
    type = p;
    len = strcspn(type, ":");
    if (!len || !type[len])
        return NULL; /* no level after it: not a full context */
    return xstrndup(type, len); /* caller frees */
}

int selinux_parse_ls_z(const char *line, char **context, char **dir)
{
    const char *p = line, *sp;
    size_t len;

    *context = *dir = NULL;
    while (*p == ' ' || *p == '\t')
        p++;
    sp = p + strcspn(p, " \t");
    if (!*sp || sp == p)
        return -1;
    CLEANUP_FREE char *ctx = xstrndup(p, (size_t)(sp - p));
    CLEANUP_FREE char *type = selinux_context_type(ctx);
    if (!type)
        return -1;
    while (*sp == ' ' || *sp == '\t')
        sp++;
    len = strcspn(sp, "\n");
    while (len && isspace((unsigned char)sp[len - 1]))
        len--;
    if (!len)
        return -1;
    *context = steal_pointer(&ctx); /* caller frees */
    *dir = xstrndup(sp, len);       /* caller frees */
    return 0;
}

char *selinux_pool_advice(const char *enforce, const char *pool, const char *dir, const char *context)
{
    CLEANUP_FREE char *type = selinux_context_type(context);

    if (!enforce || strtol(enforce, NULL, 10) != 1 || !type || strcmp(type, SELINUX_IMAGE_TYPE) == 0)
        return NULL;
    /* A network filesystem has one label for all of it: a boolean lets
     * qemu use it instead. */
    if (strcmp(type, "nfs_t") == 0 || strcmp(type, "cifs_t") == 0)
        return xasprintf("storage pool '%s': directory %s is on %s (SELinux type %s), which cannot be relabelled: "
                         "run setsebool -P %s 1",
                         pool, dir, strcmp(type, "nfs_t") == 0 ? "NFS" : "CIFS", type,
                         strcmp(type, "nfs_t") == 0 ? "virt_use_nfs" : "virt_use_samba"); /* caller frees */
    CLEANUP_FREE char *spec = xasprintf("%s(/.*)?", dir);
    CLEANUP_FREE char *qspec = shell_quote(spec);
    CLEANUP_FREE char *qdir = shell_quote(dir);
    return xasprintf("storage pool '%s': directory %s has SELinux type %s, so qemu cannot open images in it: "
                     "run semanage fcontext -a -t " SELINUX_IMAGE_TYPE " %s and restorecon -R %s",
                     pool, dir, type, qspec, qdir); /* caller frees */
}
