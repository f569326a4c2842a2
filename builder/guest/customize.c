/* customize.c: see customize.h. */
#include <guestfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/gfs.h"
#include "adapters/qemuimg.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "guest/customize.h"
#include "guest/layout.h"
#include "pure/edit.h"
#include "pure/netconf.h"
#include "pure/util.h"

const char *const ssh_key_types[SSH_KEY_TYPES] = { "rsa", "ecdsa", "ed25519" };

/* Grow the last partition, the PV and root LV, and an unmounted ext fs.
 * XFS and btrfs grow once mounted (*grow_mounted set). */
static int grow(guestfs_h *g, const char *dev, const struct layout *l, int *grow_mounted)
{
    const struct fs_ref *root = &l->mounts[0];
    CLEANUP_FREE char *part = NULL;
    CLEANUP_FREE char *fs = NULL;
    int64_t total, ss;

    *grow_mounted = 0;
    if (l->last_partnum <= 0)
        return error("cannot grow disk '%s': it has no partition table", dev);
    if (!l->gpt && l->last_partnum > 4)
        return error("cannot grow the template's last partition: it is a logical partition (%d); use a template whose root is on a primary partition",
                     l->last_partnum);
    if (!(root->partnum == l->last_partnum || (root->lv && l->last_is_pv)))
        return error("cannot grow the root filesystem: it is not on the last partition (%d) of the template disk",
                     l->last_partnum);
    if (asprintf(&part, "%s%d", dev, l->last_partnum) < 0)
        abort();
    if (l->gpt && guestfs_part_expand_gpt(g, dev) == -1)
        return gfs_error(g, "part_expand_gpt");
    total = guestfs_blockdev_getsz(g, dev);
    ss = guestfs_blockdev_getss(g, dev);
    if (total < 0 || ss <= 0)
        return gfs_error(g, "blockdev_getsz");
    int64_t sectors = total * 512 / ss;
    int64_t end = sectors - 1;
    if (l->gpt) {
        /* The last usable LBA as the moved header says, not sectors - 34. */
        size_t n = 0;
        uint64_t last;
        CLEANUP_FREE char *hdr = guestfs_pread_device(g, dev, (int)ss, ss, &n);
        if (!hdr)
            return gfs_error(g, "pread_device");
        if (gpt_last_usable_lba((const unsigned char *)hdr, n, &last) < 0)
            return -1;
        end = (int64_t)last;
    }
    if (guestfs_part_resize(g, dev, l->last_partnum, end) == -1)
        return gfs_error(g, "part_resize");
    if (root->lv) {
        if (guestfs_pvresize(g, part) == -1)
            return gfs_error(g, "pvresize");
        if (guestfs_lvresize_free(g, root->lv, 100) == -1)
            return gfs_error(g, "lvresize_free");
    }
    fs = layout_fs_device(dev, root);
    if (strncmp(root->type, "ext", 3) == 0) {
        if (guestfs_e2fsck(g, fs, GUESTFS_E2FSCK_CORRECT, 1, GUESTFS_E2FSCK_FORCEALL, 0, -1) == -1)
            return gfs_error(g, "e2fsck");
        if (guestfs_resize2fs(g, fs) == -1)
            return gfs_error(g, "resize2fs");
    } else {
        *grow_mounted = 1;
    }
    return 0;
}

static int is_nm_keyfile(const char *path)
{
    return strncmp(path, "/etc/NetworkManager/system-connections/", 39) == 0;
}

static char *read_guest(guestfs_h *g, const char *path)
{
    size_t sz;

    if (guestfs_is_file_opts(g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 0, -1) <= 0)
        return NULL;
    return guestfs_read_file(g, path, &sz);
}

static void trim(char *s)
{
    size_t n = strlen(s);

    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* Files that may pin the NIC's MAC; ifcfg-* also carry DHCP_HOSTNAME. */
static const char *mac_globs[] = {
    "/etc/sysconfig/network-scripts/ifcfg-*",
    "/etc/NetworkManager/system-connections/*",
    "/etc/netplan/*.yaml",
    "/etc/systemd/network/*.link",
    "/etc/systemd/network/*.network",
    "/etc/udev/rules.d/*persistent-net.rules",
    "/etc/network/interfaces",
    "/etc/network/interfaces.d/*",
    NULL,
};

static const char *hostname_files[] = {
    "/etc/hostname", "/etc/sysconfig/network", "/etc/hosts", "/etc/HOSTNAME", "/etc/mailname", NULL,
};

/* The template's configuration, read once from the first clone: every clone
 * starts from the same bytes, so the rest only get writes. */
struct snapshot {
    char **paths;          /* files to edit (NULL-terminated) */
    char **texts;          /* their template contents */
    size_t nfiles;
    char *old_hostname;
    char old_mac[18];
    int debian_like;
    int dbus_id_is_file;   /* /var/lib/dbus/machine-id is a copy, not a symlink */
    int ssh_dir;
    int have_key[SSH_KEY_TYPES];
    /* The template's host keys of other types (dsa, the SSH-1 ssh_host_key,
     * whatever a later OpenSSH adds): removed from every clone, never
     * copied into it (NULL-terminated). */
    char **other_keys;
    /* The NetworkManager connections' UUIDs: new ones in every clone. */
    char (*nm_uuids)[37];
    size_t nnm;
    char *shadow;          /* only read when a password is set */
    int root_ssh_dir;
    char *authorized_keys; /* template's, or NULL */
    int selinux;
    /* Static IPv4 (a clone's --ip): the files that configure the NIC, by
     * format (NETCONF_NONE for the others, one per path), and its name. */
    enum netconf_format *net_format;
    size_t nnet;
    char *net_ifname;      /* "": named by none of them (matched by MAC) */
    unsigned net_flags;
};

static void snapshot_release(struct snapshot *s)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->paths[i]);
        free(s->texts[i]);
    }
    free(s->paths);
    free(s->texts);
    free(s->old_hostname);
    strv_free(s->other_keys);
    free(s->nm_uuids);
    free(s->shadow);
    free(s->authorized_keys);
    free(s->net_format);
    free(s->net_ifname);
    memset(s, 0, sizeof *s);
}

static void snapshot_add(guestfs_h *g, struct snapshot *s, const char *path)
{
    for (size_t i = 0; i < s->nfiles; i++)
        if (strcmp(s->paths[i], path) == 0)
            return;
    char *text = read_guest(g, path);
    if (!text) {
        /* /etc/hostname is written even when the template lacks it. */
        if (strcmp(path, "/etc/hostname") != 0)
            return;
        text = strdup("");
    }
    s->paths = realloc(s->paths, (s->nfiles + 2) * sizeof *s->paths);
    s->texts = realloc(s->texts, (s->nfiles + 2) * sizeof *s->texts);
    s->paths[s->nfiles] = strdup(path);
    s->texts[s->nfiles] = text;
    s->nfiles++;
    s->paths[s->nfiles] = NULL;
}

/* Which of the template's files configure its NIC (the one the file
 * pinning the MAC names, else the first one named), so a clone's static
 * IPv4 address goes into each of them, in its format. Files configuring
 * another interface are left alone. */
static void find_net_files(struct snapshot *s, const struct guest_os *os, size_t pinned)
{
    char **names = calloc(s->nfiles + 1, sizeof *names);
    const char *ifname = NULL;

    s->net_format = calloc(s->nfiles + 1, sizeof *s->net_format);
    if (!names || !s->net_format)
        abort();
    for (size_t i = 0; i < s->nfiles; i++) {
        enum netconf_format f = netconf_format_of(s->paths[i]);
        if (f != NETCONF_NONE && (names[i] = netconf_interface(f, s->paths[i], s->texts[i])))
            s->net_format[i] = f;
    }
    if (pinned < s->nfiles && names[pinned] && *names[pinned])
        ifname = names[pinned];
    for (size_t i = 0; i < s->nfiles && !ifname; i++)
        if (names[i] && *names[i])
            ifname = names[i];
    for (size_t i = 0; i < s->nfiles; i++) {
        if (!names[i])
            continue;
        if (*names[i] && ifname && strcmp(names[i], ifname) != 0) {
            debug("%s configures %s, not the NIC (%s): a static address (--ip) would not go there", s->paths[i],
                  names[i], ifname);
            s->net_format[i] = NETCONF_NONE;
            continue;
        }
        debug("the NIC (%s) is configured in %s (%s): a static address (--ip) goes there",
              ifname ? ifname : "matched by MAC", s->paths[i], netconf_format_name(s->net_format[i]));
        s->nnet++;
    }
    s->net_ifname = strdup(ifname ? ifname : "");
    s->net_flags = netconf_netplan_legacy(os->id, os->version) ? NETCONF_NETPLAN_LEGACY : 0;
    for (size_t i = 0; i < s->nfiles; i++)
        free(names[i]);
    free(names);
}

static int take_snapshot(guestfs_h *g, const struct guest_os *os, const struct customize_opts *opts,
                         struct snapshot *s)
{
    memset(s, 0, sizeof *s);
    for (int k = 0; hostname_files[k]; k++)
        snapshot_add(g, s, hostname_files[k]);
    for (int k = 0; mac_globs[k]; k++) {
        CLEANUP_STRV char **files = guestfs_glob_expand(g, mac_globs[k]);
        for (size_t i = 0; files && files[i]; i++)
            snapshot_add(g, s, files[i]);
    }
    /* Old host name: /etc/hostname, else HOSTNAME= of sysconfig/network. */
    for (size_t i = 0; i < s->nfiles; i++) {
        if (strcmp(s->paths[i], "/etc/hostname") == 0 && s->texts[i][0]) {
            s->old_hostname = strdup(s->texts[i]);
            trim(s->old_hostname);
        }
    }
    for (size_t i = 0; i < s->nfiles && (!s->old_hostname || !*s->old_hostname); i++)
        if (strcmp(s->paths[i], "/etc/sysconfig/network") == 0) {
            free(s->old_hostname);
            s->old_hostname = edit_os_release_get(s->texts[i], "HOSTNAME");
        }
    /* NetworkManager connection UUIDs (a clone sharing one is a second
     * instance of the template's connection to NetworkManager). */
    for (size_t i = 0; i < s->nfiles; i++) {
        char u[37];
        if (is_nm_keyfile(s->paths[i]) && edit_keyfile_uuid(s->texts[i], u) == 0) {
            s->nm_uuids = xreallocarray(s->nm_uuids, s->nnm + 1, sizeof *s->nm_uuids);
            memcpy(s->nm_uuids[s->nnm++], u, 37);
        }
    }
    /* The pinned MAC: the first found, in mac_globs order. */
    size_t pinned = s->nfiles;
    for (size_t i = 0; i < s->nfiles && !s->old_mac[0]; i++)
        if (edit_find_pinned_mac(s->texts[i], s->old_mac) == 0) {
            debug("template pins MAC %s in %s", s->old_mac, s->paths[i]);
            pinned = i;
        }
    find_net_files(s, os, pinned);
    s->debian_like = os->id && (strcmp(os->id, "debian") == 0 || strcmp(os->id, "ubuntu") == 0);
    s->dbus_id_is_file =
        guestfs_is_file_opts(g, "/var/lib/dbus/machine-id", GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 0, -1) > 0;
    s->ssh_dir = guestfs_is_dir(g, "/etc/ssh") > 0;
    if (s->ssh_dir) {
        CLEANUP_STRV char **keys = guestfs_glob_expand(g, "/etc/ssh/ssh_host_*key");
        size_t nother = 0;
        s->other_keys = xcalloc(1, sizeof *s->other_keys);
        for (size_t i = 0; keys && keys[i]; i++) {
            int known = 0;
            for (int t = 0; t < SSH_KEY_TYPES; t++) {
                char p[128];
                snprintf(p, sizeof p, "/etc/ssh/ssh_host_%s_key", ssh_key_types[t]);
                if (strcmp(keys[i], p) == 0)
                    s->have_key[t] = known = 1;
            }
            if (!known) {
                s->other_keys = xreallocarray(s->other_keys, nother + 2, sizeof *s->other_keys);
                s->other_keys[nother++] = xstrdup(keys[i]);
                s->other_keys[nother] = NULL;
            }
        }
    }
    if (opts->root_password) {
        s->shadow = read_guest(g, "/etc/shadow");
        if (!s->shadow)
            return error("cannot set the root password: the template has no /etc/shadow");
    }
    if (opts->ssh_pubkey) {
        s->root_ssh_dir = guestfs_is_dir(g, "/root/.ssh") > 0;
        s->authorized_keys = s->root_ssh_dir ? read_guest(g, "/root/.ssh/authorized_keys") : NULL;
    }
    {
        CLEANUP_FREE char *cfg = read_guest(g, "/etc/selinux/config");
        CLEANUP_FREE char *mode = cfg ? edit_os_release_get(cfg, "SELINUX") : NULL;
        s->selinux = mode && strcmp(mode, "disabled") != 0;
    }
    return 0;
}

static int write_guest(guestfs_h *g, const char *path, const char *data, size_t len)
{
    /* Over an existing file this keeps its inode, mode, owner and label. */
    if (guestfs_write(g, path, data, len) == -1)
        return gfs_error(g, path);
    return 0;
}

static int put_host_file(guestfs_h *g, const char *local, const char *remote, int exists, int mode,
                         int *created)
{
    size_t len;
    CLEANUP_FREE char *data = read_file(local, &len);

    if (!data)
        return -1;
    if (write_guest(g, remote, data, len) < 0)
        return -1;
    if (!exists) {
        *created = 1;
        if (guestfs_chmod(g, mode, remote) == -1)
            return gfs_error(g, remote);
    }
    return 0;
}

static int set_ssh_keys(guestfs_h *g, const struct snapshot *s, struct clone_job *job, int *created)
{
    int any = 0;

    if (!s->ssh_dir)
        return 0;
    /* A private key vmstamp makes no new one of would be every clone's and
     * the template's at once: it goes, with its public half. */
    for (size_t i = 0; s->other_keys && s->other_keys[i]; i++) {
        CLEANUP_FREE char *pub = xasprintf("%s.pub", s->other_keys[i]);
        debug("removing the template's host key %s (no new one of its type is made)", s->other_keys[i]);
        if (guestfs_rm_f(g, s->other_keys[i]) == -1 || guestfs_rm_f(g, pub) == -1)
            return gfs_error(g, s->other_keys[i]);
    }
    for (int t = 0; t < SSH_KEY_TYPES; t++)
        any |= s->have_key[t];
    for (int t = 0; t < SSH_KEY_TYPES; t++) {
        if (any && !s->have_key[t])
            continue;
        char local[4096], remote[128];
        snprintf(local, sizeof local, "%s/ssh_host_%s_key", job->keys_dir, ssh_key_types[t]);
        snprintf(remote, sizeof remote, "/etc/ssh/ssh_host_%s_key", ssh_key_types[t]);
        if (put_host_file(g, local, remote, s->have_key[t], 0600, created) < 0)
            return -1;
        strcat(local, ".pub");
        strcat(remote, ".pub");
        if (put_host_file(g, local, remote, s->have_key[t], 0644, created) < 0)
            return -1;
        job->keys_installed[t] = 1;
    }
    return 0;
}

static int set_root_password(guestfs_h *g, const struct snapshot *s, const char *password)
{
    CLEANUP_FREE char *hash = hash_password(password);
    CLEANUP_FREE char *text = NULL;

    if (!hash)
        return -1;
    text = edit_shadow(s->shadow, "root", hash);
    if (!text)
        return error("cannot set the root password: /etc/shadow has no root entry");
    return write_guest(g, "/etc/shadow", text, strlen(text));
}

static int add_authorized_key(guestfs_h *g, const struct snapshot *s, const char *pubkey, int *created)
{
    CLEANUP_FREE char *text = NULL;
    const char *old = s->authorized_keys;
    const char *path = "/root/.ssh/authorized_keys";

    if (old && strstr(old, pubkey))
        return 0;
    if (!s->root_ssh_dir) {
        if (guestfs_mkdir_mode(g, "/root/.ssh", 0700) == -1)
            return gfs_error(g, "/root/.ssh");
        *created = 1;
    }
    size_t ol = old ? strlen(old) : 0;
    if (asprintf(&text, "%s%s%s", old ? old : "", ol && old[ol - 1] != '\n' ? "\n" : "", pubkey) < 0)
        abort();
    if (write_guest(g, path, text, strlen(text)) < 0)
        return -1;
    if (!old) {
        *created = 1;
        if (guestfs_chmod(g, 0600, path) == -1)
            return gfs_error(g, path);
    }
    return 0;
}

/* An XFS or btrfs root mounted at / takes the space its grown partition or
 * LV now has (ext grows unmounted, in grow()). */
static int grow_mounted_fs(guestfs_h *g, const char *type)
{
    if (strcmp(type, "xfs") == 0 && guestfs_xfs_growfs(g, "/", GUESTFS_XFS_GROWFS_DATASEC, 1, -1) == -1)
        return gfs_error(g, "xfs_growfs");
    if (strcmp(type, "btrfs") == 0 && guestfs_btrfs_filesystem_resize(g, "/", -1) == -1)
        return gfs_error(g, "btrfs filesystem resize");
    return 0;
}

/* DO_GROW: grow the clone's disk here (JOB->grow says it is to be grown,
 * which it may be already). GROWN: the clone's disk holds the grown state
 * already (copied from the clone that grew, or it is that clone): its root
 * is mounted from there, its other filesystems from their places, which
 * did not move. */
static int customize_one(guestfs_h *g, const char *dev, int first, int filtered, const struct layout *l,
                         struct clone_job *job, int do_grow, const struct fs_ref *grown,
                         const struct customize_opts *opts, const struct guest_os *os, struct snapshot *snap)
{
    int grow_mounted = 0, created = 0;
    char idline[34];

    /* A clone that does not grow, with every LV mounted a known linear
     * run, mounts its LVs straight from its PV: no LVM rescan. */
    int direct = l->lvm && l->direct && !job->grow && !filtered;
    if (grown) {
        if (layout_mount_ref(g, dev, grown, 1, 0) < 0)
            return -1;
        for (size_t i = 1; i < l->nmounts; i++)
            if (layout_mount_ref(g, dev, &l->mounts[i], 1, 0) < 0)
                return -1;
    } else if (direct) {
        /* A second try of them all, 0.2 s later, before the LVM rescan:
         * clones fell back to it now and then under load (twice in one
         * day), for a passing reason, perhaps the loop device of the clone
         * before still going away in the appliance's kernel. */
        for (int tries = 0, ok = 0; !ok && direct; tries++) {
            if (tries)
                nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 * 1000 }, NULL);
            ok = 1;
            for (size_t i = 0; i < l->nmounts && ok; i++) {
                guestfs_push_error_handler(g, NULL, NULL);
                int m = layout_mount_ref(g, dev, &l->mounts[i], 1, 0);
                guestfs_pop_error_handler(g);
                if (m < 0) {
                    debug("%s; %s", error_message() ? error_message() : "mount failed",
                          tries ? "mounting through LVM instead" : "trying once more");
                    error_clear();
                    if (guestfs_umount_all(g) == -1)
                        return gfs_error(g, "umount_all");
                    ok = 0;
                    direct = tries == 0;
                }
            }
        }
    }
    if (!direct && !grown) {
        /* LVM sees this clone's disk only (unless the layout was just found
         * on it, which left the filter so, or it is the only disk). */
        if (l->lvm && !filtered && layout_lvm_only(g, dev) < 0)
            return -1;
        if (do_grow && grow(g, dev, l, &grow_mounted) < 0)
            return -1;
        for (size_t i = 0; i < l->nmounts; i++)
            if (layout_mount_ref(g, dev, &l->mounts[i], 0, 0) < 0)
                return -1;
    }
    if (grow_mounted && grow_mounted_fs(g, l->mounts[0].type) < 0)
        return -1;
    if (job->grow) {
        struct guestfs_statvfs *sv = guestfs_statvfs(g, "/");
        if (sv) {
            job->rootfs_bytes = (uint64_t)sv->blocks * (uint64_t)sv->frsize;
            guestfs_free_statvfs(sv);
        }
    }
    if (first && take_snapshot(g, os, opts, snap) < 0)
        return -1;

    if (job->ipv4 && snap->nnet == 0)
        return error("the template has no network configuration for an Ethernet NIC that vmstamp can give a "
                     "static address (ifcfg-*, a NetworkManager keyfile, netplan, a systemd-networkd .network "
                     "file or /etc/network/interfaces): clone it without --ip, or add one to the template");
    struct clone_edit e = { snap->old_hostname, job->hostname, snap->old_mac, job->mac, snap->debian_like };
    CLEANUP_FREE char (*nm_new)[37] = snap->nnm ? xcalloc(snap->nnm, sizeof *nm_new) : NULL;
    for (size_t k = 0; k < snap->nnm; k++)
        if (random_uuid(nm_new[k]) < 0)
            return -1;
    for (size_t i = 0; i < snap->nfiles; i++) {
        CLEANUP_FREE char *text = edit_guest_file(snap->paths[i], snap->texts[i], &e);
        CLEANUP_FREE char *net = NULL;
        if (snap->nnm && is_nm_keyfile(snap->paths[i])) {
            char *renamed = edit_replace_uuids(text ? text : snap->texts[i], snap->nm_uuids, nm_new, snap->nnm);
            if (renamed) {
                free(text);
                text = renamed;
            }
        }
        if (job->ipv4 && snap->net_format[i] != NETCONF_NONE) {
            net = netconf_write(snap->net_format[i], snap->paths[i], text ? text : snap->texts[i],
                                *snap->net_ifname ? snap->net_ifname : NULL, job->mac, job->ipv4, snap->net_flags);
            if (!net)
                return -1;
        }
        const char *out = net ? net : text;
        if (out && write_guest(g, snap->paths[i], out, strlen(out)) < 0)
            return -1;
    }
    if (random_machine_id(job->machine_id) < 0)
        return -1;
    snprintf(idline, sizeof idline, "%s\n", job->machine_id);
    if (write_guest(g, "/etc/machine-id", idline, 33) < 0)
        return -1;
    if (snap->dbus_id_is_file && write_guest(g, "/var/lib/dbus/machine-id", idline, 33) < 0)
        return -1;
    if (job->keys_dir && set_ssh_keys(g, snap, job, &created) < 0)
        return -1;
    if (opts->root_password && set_root_password(g, snap, opts->root_password) < 0)
        return -1;
    if (opts->ssh_pubkey && add_authorized_key(g, snap, opts->ssh_pubkey, &created) < 0)
        return -1;
    /* SELinux guests relabel the files vmstamp created at first boot. */
    if (created && snap->selinux && guestfs_touch(g, "/.autorelabel") == -1)
        return gfs_error(g, "/.autorelabel");
    if (guestfs_umount_all(g) == -1)
        return gfs_error(g, "umount_all");
    return 0;
}

/* ---- one grow for many clones --------------------------------------------- */

/* Changed ranges closer than this are copied in one call (a call costs
 * more than a few MiB of copying under TCG). */
#define REPLAY_MERGE_GAP (4 * 1024 * 1024)

/* The other filesystems mount where they were (partitions, or LVs that are
 * known linear runs), so a clone whose root was grown elsewhere needs no
 * LVM. */
static int replay_possible(const struct layout *l)
{
    for (size_t i = 1; i < l->nmounts; i++)
        if (l->mounts[i].lv && !l->mounts[i].lv_size)
            return 0;
    return l->nmounts > 0;
}

/* Where the grown root of disk DEV lies, from the start of the disk: a
 * clone given the same bytes mounts it with a loop over the whole disk
 * (its partition devices keep the sizes the kernel read at boot). */
static int grown_root_ref(guestfs_h *g, const char *dev, const struct layout *l, struct fs_ref *out)
{
    const struct fs_ref *root = &l->mounts[0];
    struct fs_ref run = { 0 };
    int partnum = root->partnum;
    uint64_t off = 0, size = 0;

    /* A btrfs filesystem is open through one device: its other subvolumes
     * (/home in @home) cannot then be mounted from the partition. */
    for (size_t i = 1; i < l->nmounts; i++)
        if (l->mounts[i].subvol && l->mounts[i].partnum == root->partnum &&
            ((!l->mounts[i].lv && !root->lv) || (l->mounts[i].lv && root->lv && !strcmp(l->mounts[i].lv, root->lv))))
            return error("btrfs subvolumes of the root's filesystem are mounted too");

    if (root->lv) {
        if (layout_lv_run(g, dev, root->lv, &run) < 0)
            return -1;
        partnum = run.pv_partnum;
        off = run.lv_offset;
        size = run.lv_size;
    }
    if (partnum > 0) {
        struct guestfs_partition_list *pl = guestfs_part_list(g, dev);
        int found = 0;
        if (!pl)
            return gfs_error(g, "part_list");
        for (uint32_t k = 0; k < pl->len; k++) {
            if (pl->val[k].part_num != partnum)
                continue;
            off += pl->val[k].part_start;
            if (!root->lv)
                size = pl->val[k].part_size;
            found = 1;
        }
        guestfs_free_partition_list(pl);
        if (!found)
            return error("partition %d not found on %s after the grow", partnum, dev);
    }
    *out = (struct fs_ref){ .lv = strdup(root->lv ? root->lv : "the root partition"), .type = strdup(root->type),
                            .subvol = root->subvol ? xstrdup(root->subvol) : NULL,
                            .mountpoint = strdup(root->mountpoint), .pv_partnum = 0, .lv_offset = off,
                            .lv_size = size };
    if (!out->lv || !out->type || !out->mountpoint)
        abort();
    return 0;
}

/* Clone I grows (LVM filtered to it unless FILTERED), its filesystem too;
 * then every later clone growing to the same size gets the ranges that
 * changed, copied in the appliance. *ROOT: where the grown root lies;
 * DONE[j] set for I and each clone that got the copy. 1 if done, 0 if
 * the grown root cannot be mounted that way (clone I is grown then,
 * GROWN_ONLY set: the others grow themselves), -1 on error. */
static int grow_for_all(guestfs_h *g, char **devices, size_t i, struct clone_job *jobs, size_t n,
                        const struct layout *l, const char *layout_key, int filtered, struct fs_ref *root,
                        int *done, int *grown_only)
{
    const char *dev = devices[i];
    int grow_mounted = 0;
    struct timespec t0, t1;
    CLEANUP_FREE struct extent *ext = NULL;
    size_t next = 0, copies = 0;
    uint64_t bytes = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (l->lvm && !filtered && layout_lvm_only(g, dev) < 0)
        return -1;
    if (grow(g, dev, l, &grow_mounted) < 0)
        return -1;
    *grown_only = 1;
    if (grow_mounted) {
        if (layout_mount_ref(g, dev, &l->mounts[0], 0, 0) < 0 || grow_mounted_fs(g, l->mounts[0].type) < 0)
            return -1;
        if (guestfs_umount_all(g) == -1)
            return gfs_error(g, "umount_all");
    }
    guestfs_push_error_handler(g, NULL, NULL);
    int r = grown_root_ref(g, dev, l, root);
    guestfs_pop_error_handler(g);
    if (r < 0) {
        debug("%s: the grown root is not one run on the disk (%s); each clone grows itself", jobs[i].name,
              error_message() ? error_message() : "LVM");
        error_clear();
        return 0;
    }
    /* The guest's flush makes qemu write the overlay's metadata out (also
     * with cache=unsafe), so qemu-img can read which clusters it holds. */
    if (guestfs_sync(g) == -1)
        return gfs_error(g, "sync");
    /* Later runs start their clones of this size from a copy of it. */
    if (layout_key)
        layout_grown_save(layout_key, jobs[i].disk_size, jobs[i].disk_path, root);
    done[i] = 1;
    int peers = 0;
    for (size_t j = i + 1; j < n; j++)
        peers |= jobs[j].grow && !done[j] && !jobs[j].grown_root && jobs[j].disk_size == jobs[i].disk_size;
    if (!peers)
        return 1;
    if (qemuimg_map_own(jobs[i].disk_path, REPLAY_MERGE_GAP, &ext, &next) < 0)
        return -1;
    for (size_t k = 0; k < next; k++)
        bytes += ext[k].length;
    for (size_t j = i + 1; j < n; j++) {
        if (!jobs[j].grow || done[j] || jobs[j].grown_root || jobs[j].disk_size != jobs[i].disk_size)
            continue;
        for (size_t k = 0; k < next; k++) {
            struct guestfs_copy_device_to_device_argv o = {
                .bitmask = GUESTFS_COPY_DEVICE_TO_DEVICE_SRCOFFSET_BITMASK |
                           GUESTFS_COPY_DEVICE_TO_DEVICE_DESTOFFSET_BITMASK |
                           GUESTFS_COPY_DEVICE_TO_DEVICE_SIZE_BITMASK,
                .srcoffset = (int64_t)ext[k].start, .destoffset = (int64_t)ext[k].start,
                .size = (int64_t)ext[k].length,
            };
            if (guestfs_copy_device_to_device_argv(g, dev, devices[j], &o) == -1)
                return gfs_error(g, "copy the grown disk's changes");
        }
        /* Read back through the same device (a loop over the whole disk):
         * its page cache is the one written. */
        done[j] = 1;
        copies++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    debug("grew %s and copied its changes (%zu ranges, %llu KiB) onto %zu more clone(s) in %.2f s", jobs[i].name,
          next, (unsigned long long)(bytes / 1024), copies,
          (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 1;
}

/* ---- progress ---------------------------------------------------------------- */

void customize_progress_init(struct customize_progress *p, size_t total)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->total = total;
}

static double since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void progress_begin(struct customize_progress *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    if (!p->started) {
        p->started = 1;
        clock_gettime(CLOCK_MONOTONIC, &p->t0);
    }
    pthread_mutex_unlock(&p->lock);
}

/* A clone is done: on a terminal the one line "customized N/M, ETA m:ss",
 * else (or -v) a line per clone. */
static void progress_step(struct customize_progress *p, const char *name, size_t i, size_t n, double secs)
{
    if (!p) {
        info("vmstamp: customized %s (%zu/%zu) in %.2f s", name, i + 1, n, secs);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->done++;
    double el = since(&p->t0);
    double eta = p->done ? el / (double)p->done * (double)(p->total - p->done) : 0;
    if (progress_shown())
        progress_line("vmstamp: customized %zu/%zu, %.1f s per clone, ETA %d:%02d", p->done, p->total,
                      el / (double)p->done, (int)(eta + 0.5) / 60, (int)(eta + 0.5) % 60);
    else
        info("vmstamp: customized %s (%zu/%zu) in %.2f s", name, p->done, p->total, secs);
    pthread_mutex_unlock(&p->lock);
}

void customize_progress_end(struct customize_progress *p)
{
    if (p->started && p->done && progress_shown()) {
        progress_clear();
        info("vmstamp: customized %zu clone(s) in %.1f s", p->done, since(&p->t0));
    }
    pthread_mutex_destroy(&p->lock);
}

int gfs_customize(struct gfs_session *s, struct clone_job *jobs, size_t n,
                  const struct customize_opts *opts, struct guest_os *os)
{
    guestfs_h *g = gfs_handle(s);
    CLEANUP_STRV char **devices = NULL;
    struct layout l = { 0 };
    struct snapshot snap = { 0 };
    struct timespec t0, t1;
    int *grown = NULL;             /* the disk holds the grown state already */
    struct fs_ref *roots = NULL;   /* [i]: the grown root, when clone i grew for others */
    const struct fs_ref **root_of = NULL; /* [i]: where clone i's grown root lies, or NULL */
    int ret = -1;

    memset(os, 0, sizeof *os);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    devices = gfs_devices(s);
    int need_grow = 0, cached = 0;
    /* One clone: its disk is the appliance's only one, LVM already sees
     * just it (the filter is for clones sharing VG names). */
    int alone = n == 1;
    for (size_t i = 0; i < n; i++)
        need_grow |= jobs[i].grow;
    if (opts->layout_key && layout_cache_load(opts->layout_key, &l, os) == 0) {
        cached = 1;
    } else {
        /* What gets recorded must serve a later --size too. */
        if (layout_find(g, devices[0], need_grow || opts->layout_key, alone, NULL, &l, os,
                        opts->template_name ? opts->template_name : jobs[0].disk_path) < 0)
            goto out;
        if (opts->layout_key)
            layout_cache_save(opts->layout_key, &l, os);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    info("vmstamp: template: %s, root %s (%s in %.1f s)", os->pretty ? os->pretty : os->id, os->root_fs,
         cached ? "recorded layout read" : "layout found",
         (t0.tv_sec - t1.tv_sec) + (t0.tv_nsec - t1.tv_nsec) / 1e9);
    progress_begin(opts->progress);
    grown = calloc(n, sizeof *grown);
    roots = calloc(n, sizeof *roots);
    root_of = calloc(n, sizeof *root_of);
    if (!grown || !roots || !root_of)
        abort();
    for (size_t i = 0; i < n; i++) {
        int filtered = alone || (i == 0 && !cached);
        if (opts->cancel && *opts->cancel) {
            error("interrupted");
            goto out;
        }
        if (opts->before_clone && opts->before_clone(opts->ctx, &jobs[i]) < 0)
            goto out;
        /* A clone made from the recorded grown template has its grown root. */
        if (jobs[i].grow && jobs[i].grown_root && !grown[i]) {
            grown[i] = 1;
            root_of[i] = jobs[i].grown_root;
        }
        /* The first linked clone of its size grows for the later ones (and
         * for later runs, recorded). */
        if (jobs[i].grow && !grown[i] && jobs[i].linked && replay_possible(&l)) {
            int grown_only = 0;
            int r = grow_for_all(g, devices, i, jobs, n, &l, opts->layout_key, filtered, &roots[i], grown,
                                 &grown_only);
            if (r < 0) {
                error_replace("cannot customize clone '%s': %s", jobs[i].name,
                              error_message() ? error_message() : "unknown error");
                goto out;
            }
            if (r > 0)
                for (size_t j = i + 1; j < n; j++)
                    if (grown[j] && !root_of[j] && jobs[j].disk_size == jobs[i].disk_size)
                        root_of[j] = &roots[i];
            if (r > 0)
                root_of[i] = &roots[i];
            else if (grown_only)
                grown[i] = 1, filtered = 1; /* grown, and LVM filtered to it: the rest as usual */
        }
        if (customize_one(g, devices[i], i == 0, filtered, &l, &jobs[i], jobs[i].grow && !grown[i], root_of[i],
                          opts, os, &snap) < 0) {
            error_replace("cannot customize clone '%s': %s", jobs[i].name,
                          error_message() ? error_message() : "unknown error");
            goto out;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        progress_step(opts->progress, jobs[i].name, i, n,
                      (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
        t0 = t1;
    }
    if (gfs_shutdown(g, "cannot flush the clone disks (appliance shutdown)") < 0)
        goto out;
    ret = 0;
out:
    for (size_t i = 0; roots && i < n; i++)
        layout_fs_ref_release(&roots[i]);
    free(roots);
    free(root_of);
    free(grown);
    layout_release(&l);
    snapshot_release(&snap);
    return ret;
}
