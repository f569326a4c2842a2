/* selinux.c (adapters): see adapters/selinux.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "adapters/selinux.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "pure/selinux.h"

#define ENFORCE_FILE "/sys/fs/selinux/enforce"

char *selinux_check_pool(const char *pool, const char *dir)
{
    CLEANUP_FREE char *enforce = NULL;
    char ctx[256];
    ssize_t n;

    if (access(ENFORCE_FILE, F_OK) != 0)
        return NULL; /* no SELinux */
    enforce = read_file(ENFORCE_FILE, NULL);
    if (!enforce) {
        error_clear();
        return NULL;
    }
    n = getxattr(dir, "security.selinux", ctx, sizeof ctx - 1);
    if (n <= 0)
        return NULL;
    ctx[n] = '\0';
    return selinux_pool_advice(enforce, pool, dir, ctx); /* caller frees */
}
