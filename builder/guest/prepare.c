/* prepare.c: see prepare.h. */
#include <guestfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/gfs.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "guest/layout.h"
#include "guest/prepare.h"
#include "guest/sysprep.h"
#include "pure/meta.h"

/* -1 with "interrupted" once CANCEL is set; else 0. */
static int check_cancel(volatile int *cancel)
{
    if (cancel && *cancel)
        return error("interrupted");
    return 0;
}

static int inspect_into(guestfs_h *g, struct template_meta *m)
{
    CLEANUP_STRV char **roots = guestfs_inspect_os(g);
    CLEANUP_FREE char *type = NULL;

    if (!roots || !roots[0])
        return error("no operating system found on the disk: a template must be an installed Linux guest (or use --no-inspect)");
    if (roots[1])
        return error("the disk holds %s and more operating systems: vmstamp templates hold one", roots[0]);
    type = guestfs_inspect_get_type(g, roots[0]);
    if (!type || strcmp(type, "linux") != 0)
        return error("the disk holds a %s guest: vmstamp templates are Linux guests", type ? type : "unknown");
    m->root = strdup(roots[0]);
    m->distro = guestfs_inspect_get_distro(g, roots[0]);
    m->major = guestfs_inspect_get_major_version(g, roots[0]);
    m->minor = guestfs_inspect_get_minor_version(g, roots[0]);
    m->product = guestfs_inspect_get_product_name(g, roots[0]);
    m->arch = guestfs_inspect_get_arch(g, roots[0]);
    m->os = guestfs_inspect_get_osinfo(g, roots[0]);
    if (m->os && strcmp(m->os, "unknown") == 0) {
        free(m->os);
        m->os = NULL;
    }
    return 0;
}

/* The selected sysprep operations that run with the filesystems mounted
 * (UNMOUNTED = 0) or not, one at a time, so CANCEL is seen between them. */
static int sysprep_each(struct sysprep_ctx *ctx, const int *selected, int unmounted, volatile int *cancel)
{
    CLEANUP_FREE int *one = calloc(sysprep_nops, sizeof *one);

    if (!one)
        abort();
    for (size_t i = 0; i < sysprep_nops; i++) {
        if (!selected[i] || sysprep_ops[i].unmounted != unmounted)
            continue;
        if (check_cancel(cancel) < 0)
            return -1;
        one[i] = 1;
        int r = sysprep_run(ctx, one, unmounted);
        one[i] = 0;
        if (r < 0)
            return -1;
    }
    return 0;
}

/* Trim the free space of every mounted filesystem, deepest mounts first. */
static int trim_mounted(guestfs_h *g, const struct layout *l, volatile int *cancel)
{
    for (size_t i = l->nmounts; i-- > 0;) {
        if (check_cancel(cancel) < 0)
            return -1;
        /* Without discard (a raw --in-place disk on some filesystems) the
         * template is only bigger, not wrong. */
        guestfs_push_error_handler(g, NULL, NULL);
        int r = guestfs_fstrim(g, l->mounts[i].mountpoint, -1);
        guestfs_pop_error_handler(g);
        if (r == -1 && !gfs_alive(g)) { /* not a want of discard: the appliance died */
            char what[300];
            snprintf(what, sizeof what, "shrink: fstrim %s", l->mounts[i].mountpoint);
            return gfs_error(g, what);
        }
        if (r == -1) {
            const char *m = guestfs_last_error(g) ? guestfs_last_error(g) : "no discard";
            warning("cannot trim %s (%.*s): the template will be larger", l->mounts[i].mountpoint,
                    (int)strcspn(m, "\n"), m);
        }
    }
    return 0;
}

static int shrink_unmounted(guestfs_h *g, char **swaps, volatile int *cancel)
{
    /* Swap (as the layout search found it: list_filesystems would probe
     * every device again, seconds under TCG): discard the contents, keep
     * the header (UUID and label). */
    char **fs = swaps;
    for (size_t i = 0; fs && fs[i]; i++) {
        if (check_cancel(cancel) < 0)
            return -1;
        guestfs_push_error_handler(g, NULL, NULL);
        CLEANUP_FREE char *uuid = guestfs_vfs_uuid(g, fs[i]);
        CLEANUP_FREE char *label = guestfs_vfs_label(g, fs[i]);
        guestfs_pop_error_handler(g);
        struct guestfs_mkswap_opts_argv o = { .bitmask = 0 };
        if (uuid && *uuid) {
            o.bitmask |= GUESTFS_MKSWAP_OPTS_UUID_BITMASK;
            o.uuid = uuid;
        }
        if (label && *label) {
            o.bitmask |= GUESTFS_MKSWAP_OPTS_LABEL_BITMASK;
            o.label = label;
        }
        guestfs_push_error_handler(g, NULL, NULL);
        int discarded = guestfs_blkdiscard(g, fs[i]) == 0;
        guestfs_pop_error_handler(g);
        if (!discarded && !gfs_alive(g))
            return gfs_error(g, "shrink: swap");
        if (!discarded)
            continue; /* no discard: leave the swap as it is */
        if (guestfs_mkswap_opts_argv(g, fs[i], &o) == -1)
            return gfs_error(g, fs[i]);
        debug("template: swap %s discarded, header kept", fs[i]);
    }
    /* Free extents of every VG: a temporary LV, discarded, removed. */
    CLEANUP_STRV char **vgs = guestfs_vgs(g);
    if (!vgs && !gfs_alive(g))
        return gfs_error(g, "shrink: vgs");
    for (size_t i = 0; vgs && vgs[i]; i++) {
        if (check_cancel(cancel) < 0)
            return -1;
        char lv[300];
        snprintf(lv, sizeof lv, "/dev/%s/vmstamp_free", vgs[i]);
        guestfs_push_error_handler(g, NULL, NULL);
        int r = guestfs_lvcreate_free(g, "vmstamp_free", vgs[i], 100);
        guestfs_pop_error_handler(g);
        if (r == -1 && !gfs_alive(g))
            return gfs_error(g, "shrink: lvcreate_free");
        if (r == -1)
            continue; /* no free extents */
        guestfs_push_error_handler(g, NULL, NULL);
        guestfs_blkdiscard(g, lv);
        guestfs_pop_error_handler(g);
        if (guestfs_lvremove(g, lv) == -1)
            return gfs_error(g, lv);
        debug("template: free space of VG %s discarded", vgs[i]);
    }
    return 0;
}

int prepare_template(struct gfs_session *s, const int *selected_ops, int inspect, volatile int *cancel,
                     struct template_meta *m, void **layout)
{
    guestfs_h *g = gfs_handle(s);
    CLEANUP_STRV char **devices = gfs_devices(s);
    struct template_layout *p = calloc(1, sizeof *p);
    struct sysprep_ctx ctx = { .g = g };
    int ret = -1;

    *layout = NULL;
    if (!p)
        abort();
    if (!devices[0]) {
        error("no disk to prepare");
        goto out;
    }
    if (check_cancel(cancel) < 0 || (inspect && inspect_into(g, m) < 0))
        goto out;
    if (check_cancel(cancel) < 0 ||
        layout_find(g, devices[0], 1, 1, m->root, &p->l, &p->os, m->source ? m->source : "the disk") < 0)
        goto out;
    if (!m->distro)
        m->distro = strdup(p->os.id);
    if (!m->product && p->os.pretty)
        m->product = strdup(p->os.pretty);
    ctx.distro = m->distro;
    if (p->l.last_partnum > 0 &&
        asprintf(&m->expand, "/dev/sda%d", p->l.last_partnum) < 0)
        abort();
    if (p->l.last_is_pv && p->l.mounts[0].lv)
        m->expand_lv = strdup(p->l.mounts[0].lv);
    size_t nfs = 0;
    m->filesystems = calloc(p->l.nmounts + 1, sizeof *m->filesystems);
    for (size_t i = 0; i < p->l.nmounts; i++) {
        CLEANUP_FREE char *dev = layout_fs_device("/dev/sda", &p->l.mounts[i]);
        m->filesystems[nfs++] = xasprintf("%s %s %s%s%s", dev, p->l.mounts[i].type, p->l.mounts[i].mountpoint,
                                          p->l.mounts[i].subvol ? " subvol=" : "",
                                          p->l.mounts[i].subvol ? p->l.mounts[i].subvol : "");
        if (layout_mount(g, dev, p->l.mounts[i].type, p->l.mounts[i].subvol, p->l.mounts[i].mountpoint, 0) < 0)
            goto out;
    }
    if (sysprep_each(&ctx, selected_ops, 0, cancel) < 0)
        goto out;
    info("vmstamp: sysprep: %zu files removed or emptied", ctx.removed);
    if (trim_mounted(g, &p->l, cancel) < 0)
        goto out;
    if (guestfs_umount_all(g) == -1) {
        gfs_error(g, "umount_all");
        goto out;
    }
    if (sysprep_each(&ctx, selected_ops, 1, cancel) < 0 || shrink_unmounted(g, p->l.swaps, cancel) < 0 ||
        check_cancel(cancel) < 0)
        goto out;
    int64_t size = guestfs_blockdev_getsize64(g, devices[0]);
    if (size > 0)
        m->min_size = (uint64_t)size;
    if (gfs_shutdown(g, "cannot flush the template (appliance shutdown)") < 0)
        goto out;
    *layout = p; /* caller frees: gfs_record_layout */
    p = NULL;
    ret = 0;
out:
    gfs_record_layout(NULL, p, NULL);
    return ret;
}
