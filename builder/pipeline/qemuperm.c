/* qemuperm.c: see qemuperm.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/perms.h"
#include "adapters/selinux.h"
#include "adapters/virt.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/xalloc.h"
#include "pipeline/qemuperm.h"
#include "pure/dac.h"
#include "pure/util.h"

#define QEMU_CONF "/etc/libvirt/qemu.conf"

/* One path: fix what blocks it (FIX) or name it. */
static int check_path(const struct perms_user *u, const char *given, int read, int fix)
{
    CLEANUP_FREE char *path = realpath_or_parent(given);
    CLEANUP_FREE char *granted = NULL;

    /* Each round fixes one directory: at most one per level. */
    for (int round = 0; round < 256; round++) {
        CLEANUP_FREE char *blocker = NULL;
        int r = perms_blocker(u, path, read, &blocker);
        if (r <= 0)
            return r;
        CLEANUP_FREE char *q = shell_quote(blocker);
        if (r == 1 && granted && strcmp(granted, blocker) == 0)
            return error("qemu runs as user %s and still cannot search '%s' after the ACL entry u:%s:x on %s: check "
                         "its mount (ACL support, root squash) and its mode",
                         u->name, blocker, u->name, q);
        if (r == 2)
            return error("qemu runs as user %s and cannot read '%s' (libvirt's dynamic_ownership is off): run "
                         "'setfacl -m u:%s:r %s'",
                         u->name, path, u->name, q);
        if (!fix)
            return error("qemu runs as user %s and cannot search '%s', so it cannot open '%s': run "
                         "'setfacl -m u:%s:x %s' or give --fix-permissions",
                         u->name, blocker, path, u->name, q);
        if (perms_grant_search(u, blocker) < 0) {
            CLEANUP_FREE char *why = xstrdup(error_message() ? error_message() : "setfacl failed");
            return error_replace("cannot give user %s search permission on '%s': %s", u->name, blocker, why);
        }
        /* Not 'setfacl -m', which recomputes the mask (perms_grant_search). */
        info("vmstamp: gave user %s search permission on %s (ACL entry u:%s:x, the mask widened by x alone)",
             u->name, blocker, u->name);
        free(granted);
        granted = steal_pointer(&blocker);
    }
    return error("cannot make '%s' searchable for user %s", path, u->name);
}

int qemuperm_check(virConnectPtr conn, const char *virt_type, const char *const *paths, size_t n, int fix)
{
    CLEANUP_FREE char *uri = virConnectGetURI(conn);
    CLEANUP_FREE char *caps = NULL;
    CLEANUP_FREE char *conf = NULL;
    struct perms_user u;
    uid_t uid;
    gid_t gid;
    int r = 0;

    if (!uri || !dac_uri_is_local(uri) || geteuid() != 0) {
        debug("qemu's access to the domain's files not checked (%s)", uri ? uri : "no URI");
        return 0;
    }
    caps = virt_capabilities(conn);
    if (!caps)
        return -1;
    int l = dac_label_from_caps(caps, virt_type, &uid, &gid);
    if (l < 0)
        return -1;
    if (l > 0) {
        debug("no DAC label for %s domains on %s: qemu's access not checked", virt_type, uri);
        return 0;
    }
    conf = read_file(QEMU_CONF, NULL);
    error_clear(); /* no qemu.conf: libvirt's defaults */
    int read = !dac_dynamic_ownership(conf);
    perms_user_init(&u, uid, gid);
    for (size_t i = 0; i < n && r == 0; i++)
        r = check_path(&u, paths[i], read, fix);
    perms_user_release(&u);
    return r;
}

char *qemuperm_selinux_advice(virConnectPtr conn, const char *pool, const char *dir)
{
    CLEANUP_FREE char *uri = virConnectGetURI(conn);

    if (!uri || !dac_uri_is_local(uri))
        return NULL; /* another host's paths are not this machine's */
    return selinux_check_pool(pool, dir); /* caller frees */
}

void qemuperm_selinux_warning(virConnectPtr conn, const char *pool, const char *dir)
{
    CLEANUP_FREE char *advice = qemuperm_selinux_advice(conn, pool, dir);

    if (advice)
        warning("%s", advice);
}
