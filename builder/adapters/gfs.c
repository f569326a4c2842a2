/* gfs.c: see gfs.h. */
#include <errno.h>
#include <guestfs.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cleanup.h"
#include "pure/edit.h"
#include "base/error.h"
#include "adapters/gfs.h"
#include "pure/meta.h"
#include "guest/sysprep.h"
#include "pure/util.h"

const char *const ssh_key_types[SSH_KEY_TYPES] = { "rsa", "ecdsa", "ed25519" };

/* A filesystem of the template, named so it can be found on any clone. */
struct fs_ref {
    int partnum;  /* > 0: partition N of the clone's disk */
    char *lv;     /* else "/dev/VG/LV" */
    char *type;   /* ext4, xfs, ... */
    char *mountpoint;
};

struct layout {
    struct fs_ref *mounts; /* root first, then fstab order */
    size_t nmounts;
    int last_partnum;       /* partition to grow */
    int gpt;
    int last_is_pv;
    int lvm;                /* the template has LVs: filter LVM per clone */
    char **swaps;           /* swap devices (found, not recorded in the cache) */
};

static void layout_release(struct layout *l)
{
    for (size_t i = 0; i < l->nmounts; i++) {
        free(l->mounts[i].lv);
        free(l->mounts[i].type);
        free(l->mounts[i].mountpoint);
    }
    free(l->mounts);
    strv_free(l->swaps);
    memset(l, 0, sizeof *l);
}

/* The layout and OS of a template are found once and recorded, keyed by
 * the template file's identity (device, inode, size, mtime): finding them
 * costs seconds of appliance time, and every later run reuses them. */
#define LAYOUT_CACHE_DIR "/var/cache/vmstamp/layouts"
#define LAYOUT_CACHE_VERSION 1

static char *layout_cache_path(const char *key)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    char *path;

    EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (asprintf(&path, "%s/%.32s.json", LAYOUT_CACHE_DIR, hex) < 0)
        abort();
    return path; /* caller frees */
}

static void json_add_str(struct json_object *o, const char *k, const char *v)
{
    if (v)
        json_object_object_add(o, k, json_object_new_string(v));
}

static void layout_cache_save(const char *key, const struct layout *l, const struct guest_os *os)
{
    CLEANUP_FREE char *path = layout_cache_path(key);
    CLEANUP_FREE char *tmp = NULL;
    struct json_object *o = json_object_new_object(), *mounts = json_object_new_array();

    json_object_object_add(o, "version", json_object_new_int(LAYOUT_CACHE_VERSION));
    json_add_str(o, "key", key);
    json_object_object_add(o, "last_partnum", json_object_new_int(l->last_partnum));
    json_object_object_add(o, "gpt", json_object_new_boolean(l->gpt));
    json_object_object_add(o, "last_is_pv", json_object_new_boolean(l->last_is_pv));
    json_object_object_add(o, "lvm", json_object_new_boolean(l->lvm));
    for (size_t i = 0; i < l->nmounts; i++) {
        struct json_object *m = json_object_new_object();
        json_object_object_add(m, "partnum", json_object_new_int(l->mounts[i].partnum));
        json_add_str(m, "lv", l->mounts[i].lv);
        json_add_str(m, "type", l->mounts[i].type);
        json_add_str(m, "mountpoint", l->mounts[i].mountpoint);
        json_object_array_add(mounts, m);
    }
    json_object_object_add(o, "mounts", mounts);
    json_add_str(o, "os_id", os->id);
    json_add_str(o, "os_version", os->version);
    json_add_str(o, "os_pretty", os->pretty);
    json_add_str(o, "root_fs", os->root_fs);
    mkdir("/var/cache/vmstamp", 0755);
    mkdir(LAYOUT_CACHE_DIR, 0755);
    if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
        abort();
    if (json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PRETTY) < 0 || rename(tmp, path) < 0) {
        debug("cannot record the template layout in %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    json_object_put(o);
}

static const char *json_str(struct json_object *o, const char *k)
{
    struct json_object *v;

    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

static int json_int(struct json_object *o, const char *k)
{
    struct json_object *v;

    return json_object_object_get_ex(o, k, &v) ? json_object_get_int(v) : 0;
}

static char *strdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* 0 and the recorded layout, or -1 (nothing recorded for this key). */
static int layout_cache_load(const char *key, struct layout *l, struct guest_os *os)
{
    CLEANUP_FREE char *path = layout_cache_path(key);
    struct json_object *o = json_object_from_file(path), *mounts;
    const char *k;
    int ret = -1;

    if (!o)
        return -1;
    k = json_str(o, "key");
    if (json_int(o, "version") != LAYOUT_CACHE_VERSION || !k || strcmp(k, key) != 0 ||
        !json_object_object_get_ex(o, "mounts", &mounts) || json_object_array_length(mounts) == 0)
        goto out;
    l->last_partnum = json_int(o, "last_partnum");
    l->gpt = json_int(o, "gpt");
    l->last_is_pv = json_int(o, "last_is_pv");
    l->lvm = json_int(o, "lvm");
    l->nmounts = json_object_array_length(mounts);
    l->mounts = calloc(l->nmounts, sizeof *l->mounts);
    for (size_t i = 0; i < l->nmounts; i++) {
        struct json_object *m = json_object_array_get_idx(mounts, i);
        l->mounts[i].partnum = json_int(m, "partnum");
        l->mounts[i].lv = strdup_or_null(json_str(m, "lv"));
        l->mounts[i].type = strdup_or_null(json_str(m, "type"));
        l->mounts[i].mountpoint = strdup_or_null(json_str(m, "mountpoint"));
        if (!l->mounts[i].type || !l->mounts[i].mountpoint ||
            (l->mounts[i].partnum <= 0 && !l->mounts[i].lv)) {
            layout_release(l);
            goto out;
        }
    }
    os->id = strdup_or_null(json_str(o, "os_id"));
    os->version = strdup_or_null(json_str(o, "os_version"));
    os->pretty = strdup_or_null(json_str(o, "os_pretty"));
    os->root_fs = strdup_or_null(json_str(o, "root_fs"));
    ret = 0;
out:
    json_object_put(o);
    return ret;
}

void guest_os_release(struct guest_os *os)
{
    free(os->id);
    free(os->version);
    free(os->pretty);
    free(os->root_fs);
    memset(os, 0, sizeof *os);
}

static int gerr(guestfs_h *g, const char *what)
{
    const char *m = guestfs_last_error(g);

    return error("%s: %s", what, m ? m : "libguestfs error");
}

/* Device name of a filesystem on the clone disk DEV; caller frees. */
static char *fs_device(const char *dev, const struct fs_ref *f)
{
    char *s;

    if (f->lv)
        return strdup(f->lv);
    if (asprintf(&s, "%s%d", dev, f->partnum) < 0)
        abort();
    return s;
}

static int supported_fs(const char *t)
{
    return t && (strcmp(t, "ext2") == 0 || strcmp(t, "ext3") == 0 || strcmp(t, "ext4") == 0 ||
                 strcmp(t, "xfs") == 0 || strcmp(t, "btrfs") == 0);
}

static int mount_fs(guestfs_h *g, const char *device, const char *type, const char *mp, int ro)
{
    const char *opts = strcmp(type, "xfs") == 0 ? (ro ? "ro,nouuid" : "nouuid") : (ro ? "ro" : "");

    if (guestfs_mount_options(g, opts, device, mp) == -1)
        return gerr(g, device);
    return 0;
}

/* Restrict LVM to one clone's disk (clones share VG names). */
static int lvm_only(guestfs_h *g, const char *dev)
{
    char *devs[] = { (char *)dev, NULL };

    /* lvm_set_filter rescans and activates what the filter lets through. */
    if (guestfs_lvm_set_filter(g, devs) == -1)
        return gerr(g, "lvm_set_filter");
    return 0;
}

static char *vfs_type_quiet(guestfs_h *g, const char *device)
{
    guestfs_push_error_handler(g, NULL, NULL);
    char *t = guestfs_vfs_type(g, device);
    guestfs_pop_error_handler(g);
    return t;
}

/* Resolve an fstab device spec to one of the candidates. */
static int resolve_spec(guestfs_h *g, const char *spec, char **cands, struct fs_ref *refs,
                        size_t ncand)
{
    for (size_t i = 0; i < ncand; i++) {
        if (strncmp(spec, "UUID=", 5) == 0 || strncmp(spec, "LABEL=", 6) == 0) {
            int uuid = spec[0] == 'U';
            guestfs_push_error_handler(g, NULL, NULL);
            char *v = uuid ? guestfs_vfs_uuid(g, cands[i]) : guestfs_vfs_label(g, cands[i]);
            guestfs_pop_error_handler(g);
            int hit = v && strcasecmp(v, spec + (uuid ? 5 : 6)) == 0;
            free(v);
            if (hit)
                return (int)i;
        } else if (strncmp(spec, "/dev/mapper/", 12) == 0 || (refs[i].lv && strcmp(spec, refs[i].lv) == 0)) {
            if (!refs[i].lv)
                continue;
            guestfs_push_error_handler(g, NULL, NULL);
            char *canon = guestfs_lvm_canonical_lv_name(g, spec);
            guestfs_pop_error_handler(g);
            int hit = canon && strcmp(canon, refs[i].lv) == 0;
            free(canon);
            if (hit || strcmp(spec, refs[i].lv) == 0)
                return (int)i;
        } else if (strncmp(spec, "/dev/", 5) == 0 && refs[i].partnum > 0) {
            size_t l = strlen(spec);
            size_t d = l;
            while (d > 0 && spec[d - 1] >= '0' && spec[d - 1] <= '9')
                d--;
            if (d < l && atoi(spec + d) == refs[i].partnum)
                return (int)i;
        }
    }
    return -1;
}

/* Find the template's layout on the first clone's disk DEV. */
/* The filesystems of disk DEV, which holds root, and the partition to grow.
 * ALONE: DEV is the only disk of the appliance (a template being made), so
 * its LVs are already active and no LVM filter is needed. ROOT_HINT: the
 * root device inspection found, tried first (NULL: try each in turn). */
static int find_layout(guestfs_h *g, const char *dev, int need_grow, int alone, const char *root_hint,
                       struct layout *l, struct guest_os *os, const char *template_name)
{
    CLEANUP_STRV char **parts = guestfs_list_partitions(g);
    CLEANUP_STRV char **lvs = NULL;
    char *cands[128];
    struct fs_ref refs[128];
    size_t ncand = 0;
    int root = -1, ret = -1;
    CLEANUP_FREE char *fstab = NULL;

    memset(refs, 0, sizeof refs);
    if (!parts)
        return gerr(g, "list_partitions");

    /* The partition to grow: the one that ends last (parted is slow: only
     * asked when a clone grows). */
    struct guestfs_partition_list *pl = NULL;
    char *ptype = NULL;
    if (need_grow) {
        guestfs_push_error_handler(g, NULL, NULL);
        pl = guestfs_part_list(g, dev);
        ptype = guestfs_part_get_parttype(g, dev);
        guestfs_pop_error_handler(g);
    }
    if (pl) {
        uint64_t end = 0;
        for (uint32_t i = 0; i < pl->len; i++)
            if (pl->val[i].part_end > end) {
                end = pl->val[i].part_end;
                l->last_partnum = pl->val[i].part_num;
            }
        guestfs_free_partition_list(pl);
    }
    l->gpt = ptype && strcmp(ptype, "gpt") == 0;
    free(ptype);

    size_t dl = strlen(dev);
    int has_pv = 0;
    for (size_t i = 0; parts[i] && ncand < 120; i++) {
        if (strncmp(parts[i], dev, dl) != 0 || parts[i][dl] < '0' || parts[i][dl] > '9')
            continue;
        char *t = vfs_type_quiet(g, parts[i]);
        int pn = atoi(parts[i] + dl);
        if (t && strcmp(t, "LVM2_member") == 0) {
            has_pv = 1;
            if (need_grow && pn == l->last_partnum)
                l->last_is_pv = 1;
        }
        if (t && strcmp(t, "swap") == 0)
            strv_append(&l->swaps, strdup(parts[i]));
        if (!supported_fs(t)) {
            free(t);
            continue;
        }
        cands[ncand] = strdup(parts[i]);
        refs[ncand].partnum = pn;
        refs[ncand].type = t;
        ncand++;
    }
    /* LVM is slow to rescan under TCG: only when the template has a PV.
     * Clones share VG names, so LVM sees one clone's disk at a time. */
    if (has_pv) {
        if (!alone && lvm_only(g, dev) < 0)
            return -1;
        lvs = guestfs_lvs(g);
        if (!lvs)
            return gerr(g, "lvs");
        l->lvm = lvs[0] != NULL;
    }
    for (size_t i = 0; lvs && lvs[i] && ncand < 120; i++) {
        char *t = vfs_type_quiet(g, lvs[i]);
        if (t && strcmp(t, "swap") == 0)
            strv_append(&l->swaps, strdup(lvs[i]));
        if (!supported_fs(t)) {
            free(t);
            continue;
        }
        cands[ncand] = strdup(lvs[i]);
        refs[ncand].lv = strdup(lvs[i]);
        refs[ncand].type = t;
        ncand++;
    }

    /* The root filesystem is the one with /etc/fstab: inspection's root first. */
    for (size_t i = 0; root_hint && i < ncand; i++)
        if (strcmp(cands[i], root_hint) == 0 && i > 0) {
            char *c = cands[0];
            struct fs_ref r = refs[0];
            cands[0] = cands[i];
            refs[0] = refs[i];
            cands[i] = c;
            refs[i] = r;
            break;
        }
    for (size_t i = 0; i < ncand && root < 0; i++) {
        guestfs_push_error_handler(g, NULL, NULL);
        int m = mount_fs(g, cands[i], refs[i].type, "/", 1);
        guestfs_pop_error_handler(g);
        error_clear();
        if (m < 0)
            continue;
        if (guestfs_is_file(g, "/etc/fstab") > 0 && guestfs_is_dir(g, "/etc") > 0) {
            root = (int)i;
            size_t sz;
            fstab = guestfs_read_file(g, "/etc/fstab", &sz);
            CLEANUP_FREE char *osr = NULL;
            if (guestfs_is_file(g, "/etc/os-release") > 0 || guestfs_is_file(g, "/usr/lib/os-release") > 0)
                osr = guestfs_read_file(g, guestfs_is_file(g, "/etc/os-release") > 0 ? "/etc/os-release"
                                                                                     : "/usr/lib/os-release", &sz);
            if (osr) {
                os->id = edit_os_release_get(osr, "ID");
                os->version = edit_os_release_get(osr, "VERSION_ID");
                os->pretty = edit_os_release_get(osr, "PRETTY_NAME");
            } else if (guestfs_is_file(g, "/etc/redhat-release") > 0) {
                os->id = strdup("rhel");
                os->pretty = guestfs_read_file(g, "/etc/redhat-release", &sz);
                if (os->pretty)
                    os->pretty[strcspn(os->pretty, "\n")] = '\0';
            } else if (guestfs_is_file(g, "/etc/debian_version") > 0) {
                os->id = strdup("debian");
                os->version = guestfs_read_file(g, "/etc/debian_version", &sz);
                if (os->version)
                    os->version[strcspn(os->version, "\n")] = '\0';
            }
        }
        guestfs_umount_all(g);
    }
    if (root < 0) {
        error("no Linux root filesystem (one holding /etc/fstab) found in template '%s': vmstamp customizes Linux guests",
              template_name);
        goto out;
    }
    if (!os->id)
        os->id = strdup("linux");
    if ((refs[root].lv ? asprintf(&os->root_fs, "%s on LV %s", refs[root].type, refs[root].lv + 5)
                       : asprintf(&os->root_fs, "%s on partition %d", refs[root].type, refs[root].partnum)) < 0)
        abort();

    l->mounts = calloc(ncand + 1, sizeof *l->mounts);
    l->mounts[0] = refs[root];
    l->mounts[0].lv = refs[root].lv ? strdup(refs[root].lv) : NULL;
    l->mounts[0].type = strdup(refs[root].type);
    l->mounts[0].mountpoint = strdup("/");
    l->nmounts = 1;

    /* Other fstab mounts that hold data we edit (/var, /home ...); not /boot. */
    for (char *line = fstab, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char spec[512], mp[512], type[64];
        if (line[0] == '#' || sscanf(line, "%511s %511s %63s", spec, mp, type) != 3)
            continue;
        if (mp[0] != '/' || strcmp(mp, "/") == 0 || strncmp(mp, "/boot", 5) == 0 || !supported_fs(type))
            continue;
        int k = resolve_spec(g, spec, cands, refs, ncand);
        if (k < 0 || k == root) {
            debug("fstab entry %s %s not found on the template disk; not mounted", spec, mp);
            continue;
        }
        struct fs_ref *m = &l->mounts[l->nmounts++];
        m->partnum = refs[k].partnum;
        m->lv = refs[k].lv ? strdup(refs[k].lv) : NULL;
        m->type = strdup(refs[k].type);
        m->mountpoint = strdup(mp);
    }
    /* Parents before children. */
    for (size_t i = 1; i < l->nmounts; i++)
        for (size_t j = i + 1; j < l->nmounts; j++)
            if (strlen(l->mounts[j].mountpoint) < strlen(l->mounts[i].mountpoint)) {
                struct fs_ref t = l->mounts[i];
                l->mounts[i] = l->mounts[j];
                l->mounts[j] = t;
            }
    ret = 0;
out:
    for (size_t i = 0; i < ncand; i++) {
        free(cands[i]);
        free(refs[i].lv);
        free(refs[i].type);
    }
    return ret;
}

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
        return gerr(g, "part_expand_gpt");
    total = guestfs_blockdev_getsz(g, dev);
    ss = guestfs_blockdev_getss(g, dev);
    if (total < 0 || ss <= 0)
        return gerr(g, "blockdev_getsz");
    int64_t sectors = total * 512 / ss;
    int64_t end = l->gpt ? sectors - 34 : sectors - 1;
    if (guestfs_part_resize(g, dev, l->last_partnum, end) == -1)
        return gerr(g, "part_resize");
    if (root->lv) {
        if (guestfs_pvresize(g, part) == -1)
            return gerr(g, "pvresize");
        if (guestfs_lvresize_free(g, root->lv, 100) == -1)
            return gerr(g, "lvresize_free");
    }
    fs = fs_device(dev, root);
    if (strncmp(root->type, "ext", 3) == 0) {
        if (guestfs_e2fsck(g, fs, GUESTFS_E2FSCK_CORRECT, 1, GUESTFS_E2FSCK_FORCEALL, 0, -1) == -1)
            return gerr(g, "e2fsck");
        if (guestfs_resize2fs(g, fs) == -1)
            return gerr(g, "resize2fs");
    } else {
        *grow_mounted = 1;
    }
    return 0;
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
    char *shadow;          /* only read when a password is set */
    int root_ssh_dir;
    char *authorized_keys; /* template's, or NULL */
    int selinux;
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
    free(s->shadow);
    free(s->authorized_keys);
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
    /* The pinned MAC: the first found, in mac_globs order. */
    for (size_t i = 0; i < s->nfiles && !s->old_mac[0]; i++)
        if (edit_find_pinned_mac(s->texts[i], s->old_mac) == 0)
            debug("template pins MAC %s in %s", s->old_mac, s->paths[i]);
    s->debian_like = os->id && (strcmp(os->id, "debian") == 0 || strcmp(os->id, "ubuntu") == 0);
    s->dbus_id_is_file =
        guestfs_is_file_opts(g, "/var/lib/dbus/machine-id", GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 0, -1) > 0;
    s->ssh_dir = guestfs_is_dir(g, "/etc/ssh") > 0;
    if (s->ssh_dir) {
        CLEANUP_STRV char **keys = guestfs_glob_expand(g, "/etc/ssh/ssh_host_*_key");
        for (size_t i = 0; keys && keys[i]; i++)
            for (int t = 0; t < SSH_KEY_TYPES; t++) {
                char p[128];
                snprintf(p, sizeof p, "/etc/ssh/ssh_host_%s_key", ssh_key_types[t]);
                if (strcmp(keys[i], p) == 0)
                    s->have_key[t] = 1;
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
        return gerr(g, path);
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
            return gerr(g, remote);
    }
    return 0;
}

static int set_ssh_keys(guestfs_h *g, const struct snapshot *s, struct clone_job *job, int *created)
{
    int any = 0;

    if (!s->ssh_dir)
        return 0;
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
            return gerr(g, "/root/.ssh");
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
            return gerr(g, path);
    }
    return 0;
}

static int customize_one(guestfs_h *g, const char *dev, int first, int filtered, const struct layout *l,
                         struct clone_job *job, const struct customize_opts *opts,
                         const struct guest_os *os, struct snapshot *snap)
{
    int grow_mounted = 0, created = 0;
    char idline[34];

    /* LVM sees this clone's disk only (unless the layout was just found on
     * it, which left the filter so, or it is the only disk). */
    if (l->lvm && !filtered && lvm_only(g, dev) < 0)
        return -1;
    if (job->grow && grow(g, dev, l, &grow_mounted) < 0)
        return -1;
    for (size_t i = 0; i < l->nmounts; i++) {
        CLEANUP_FREE char *fsdev = fs_device(dev, &l->mounts[i]);
        if (mount_fs(g, fsdev, l->mounts[i].type, l->mounts[i].mountpoint, 0) < 0)
            return -1;
    }
    if (grow_mounted) {
        const char *t = l->mounts[0].type;
        if (strcmp(t, "xfs") == 0) {
            if (guestfs_xfs_growfs(g, "/", GUESTFS_XFS_GROWFS_DATASEC, 1, -1) == -1)
                return gerr(g, "xfs_growfs");
        } else if (strcmp(t, "btrfs") == 0) {
            if (guestfs_btrfs_filesystem_resize(g, "/", -1) == -1)
                return gerr(g, "btrfs filesystem resize");
        }
    }
    if (job->grow) {
        struct guestfs_statvfs *sv = guestfs_statvfs(g, "/");
        if (sv) {
            job->rootfs_bytes = (uint64_t)sv->blocks * (uint64_t)sv->frsize;
            guestfs_free_statvfs(sv);
        }
    }
    if (first && take_snapshot(g, os, opts, snap) < 0)
        return -1;

    struct clone_edit e = { snap->old_hostname, job->hostname, snap->old_mac, job->mac, snap->debian_like };
    for (size_t i = 0; i < snap->nfiles; i++) {
        CLEANUP_FREE char *text = edit_guest_file(snap->paths[i], snap->texts[i], &e);
        if (text && write_guest(g, snap->paths[i], text, strlen(text)) < 0)
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
        return gerr(g, "/.autorelabel");
    if (guestfs_umount_all(g) == -1)
        return gerr(g, "umount_all");
    return 0;
}

static guestfs_h *open_handle(enum accel accel)
{
    guestfs_h *g = guestfs_create();

    if (!g) {
        error("cannot create a libguestfs handle");
        return NULL;
    }
    guestfs_set_error_handler(g, NULL, NULL);
    guestfs_set_pgroup(g, 1); /* Ctrl-C reaches us, not the appliance */
    if (accel == ACCEL_TCG)
        guestfs_set_backend_setting(g, "force_tcg", "1");
    if (verbose > 1) {
        guestfs_set_verbose(g, 1);
        guestfs_set_trace(g, 1);
    }
    return g;
}

struct gfs_session {
    guestfs_h *g;
};

struct gfs_session *gfs_launch(const struct clone_job *jobs, size_t n, enum accel accel)
{
    guestfs_h *g = open_handle(accel);
    struct gfs_session *s;
    struct timespec t0, t1;

    if (!g)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (guestfs_add_drive_opts(g, jobs[i].disk_path, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2",
                                   GUESTFS_ADD_DRIVE_OPTS_CACHEMODE, "unsafe", -1) == -1) {
            gerr(g, jobs[i].disk_path);
            guestfs_close(g);
            return NULL;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (guestfs_launch(g) == -1) {
        gerr(g, "cannot launch the libguestfs appliance (run 'vmstamp doctor')");
        guestfs_close(g);
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    debug("appliance launched in %.1f s", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    s = calloc(1, sizeof *s);
    s->g = g;
    return s;
}

void gfs_close(struct gfs_session *s)
{
    if (!s)
        return;
    guestfs_close(s->g);
    free(s);
}

int gfs_customize(struct gfs_session *s, struct clone_job *jobs, size_t n,
                  const struct customize_opts *opts, struct guest_os *os)
{
    guestfs_h *g = s->g;
    CLEANUP_STRV char **devices = NULL;
    struct layout l = { 0 };
    struct snapshot snap = { 0 };
    struct timespec t0, t1;
    int ret = -1;

    memset(os, 0, sizeof *os);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    devices = guestfs_list_devices(g);
    if (!devices) {
        gerr(g, "list_devices");
        goto out;
    }
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
        if (find_layout(g, devices[0], need_grow || opts->layout_key, alone, NULL, &l, os,
                        opts->template_name ? opts->template_name : jobs[0].disk_path) < 0)
            goto out;
        if (opts->layout_key)
            layout_cache_save(opts->layout_key, &l, os);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    info("vmstamp: template: %s, root %s (%s in %.1f s)", os->pretty ? os->pretty : os->id, os->root_fs,
         cached ? "recorded layout read" : "layout found",
         (t0.tv_sec - t1.tv_sec) + (t0.tv_nsec - t1.tv_nsec) / 1e9);
    for (size_t i = 0; i < n; i++) {
        if (opts->cancel && *opts->cancel) {
            error("interrupted");
            goto out;
        }
        if (customize_one(g, devices[i], i == 0, alone || (i == 0 && !cached), &l, &jobs[i], opts, os, &snap) < 0) {
            error_replace("cannot customize clone '%s': %s", jobs[i].name,
                          error_message() ? error_message() : "unknown error");
            goto out;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        info("vmstamp: customized %s (%zu/%zu) in %.2f s", jobs[i].name, i + 1, n,
             (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
        t0 = t1;
    }
    if (guestfs_shutdown(g) == -1) {
        gerr(g, "cannot flush the clone disks (appliance shutdown)");
        goto out;
    }
    ret = 0;
out:
    layout_release(&l);
    snapshot_release(&snap);
    return ret;
}

int gfs_test_launch(enum accel accel, double *seconds)
{
    guestfs_h *g = open_handle(accel);
    struct timespec t0, t1;
    int ret = 0;

    if (!g)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (guestfs_add_drive_scratch(g, 16 * 1024 * 1024, -1) == -1 || guestfs_launch(g) == -1 ||
        guestfs_shutdown(g) == -1)
        ret = gerr(g, "libguestfs appliance");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    guestfs_close(g);
    return ret;
}

/* ---- templates ------------------------------------------------------------ */

char *layout_key(const char *path)
{
    struct stat st;
    char *key;

    if (stat(path, &st) < 0)
        return NULL;
    if (asprintf(&key, "%s dev=%llu ino=%llu size=%lld mtime=%lld.%09ld", path,
                 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, (long long)st.st_size,
                 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec) < 0)
        abort();
    return key; /* caller frees */
}

struct prepared {
    struct layout l;
    struct guest_os os;
};

struct gfs_session *gfs_launch_template(const char *work_disk, const char *format, enum accel accel)
{
    guestfs_h *g = open_handle(accel);
    struct gfs_session *s;

    if (!g)
        return NULL;
    /* discard: fstrim and blkdiscard turn free space into zero clusters
     * of the work overlay, which qemu-img convert then drops. */
    if (guestfs_add_drive_opts(g, work_disk, GUESTFS_ADD_DRIVE_OPTS_FORMAT, format,
                               GUESTFS_ADD_DRIVE_OPTS_DISCARD, "besteffort",
                               GUESTFS_ADD_DRIVE_OPTS_CACHEMODE, "unsafe", -1) == -1 ||
        guestfs_launch(g) == -1) {
        gerr(g, "cannot launch the libguestfs appliance (run 'vmstamp doctor')");
        guestfs_close(g);
        return NULL;
    }
    s = calloc(1, sizeof *s);
    s->g = g;
    return s;
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

static int shrink_unmounted(guestfs_h *g, char **swaps)
{
    /* Swap (as the layout search found it: list_filesystems would probe
     * every device again, seconds under TCG): discard the contents, keep
     * the header (UUID and label). */
    char **fs = swaps;
    for (size_t i = 0; fs && fs[i]; i++) {
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
        if (!discarded)
            continue; /* no discard: leave the swap as it is */
        if (guestfs_mkswap_opts_argv(g, fs[i], &o) == -1)
            return gerr(g, fs[i]);
        debug("template: swap %s discarded, header kept", fs[i]);
    }
    /* Free extents of every VG: a temporary LV, discarded, removed. */
    CLEANUP_STRV char **vgs = guestfs_vgs(g);
    for (size_t i = 0; vgs && vgs[i]; i++) {
        char lv[300];
        snprintf(lv, sizeof lv, "/dev/%s/vmstamp_free", vgs[i]);
        guestfs_push_error_handler(g, NULL, NULL);
        int r = guestfs_lvcreate_free(g, "vmstamp_free", vgs[i], 100);
        guestfs_pop_error_handler(g);
        if (r == -1)
            continue; /* no free extents */
        guestfs_push_error_handler(g, NULL, NULL);
        guestfs_blkdiscard(g, lv);
        guestfs_pop_error_handler(g);
        if (guestfs_lvremove(g, lv) == -1)
            return gerr(g, lv);
        debug("template: free space of VG %s discarded", vgs[i]);
    }
    return 0;
}

int gfs_prepare_template(struct gfs_session *s, const int *selected_ops, int inspect,
                         struct template_meta *m, void **layout)
{
    guestfs_h *g = s->g;
    CLEANUP_STRV char **devices = guestfs_list_devices(g);
    struct prepared *p = calloc(1, sizeof *p);
    struct sysprep_ctx ctx = { .g = g };
    int ret = -1;

    *layout = NULL;
    if (!devices || !devices[0]) {
        gerr(g, "list_devices");
        goto out;
    }
    if (inspect && inspect_into(g, m) < 0)
        goto out;
    if (find_layout(g, devices[0], 1, 1, m->root, &p->l, &p->os, m->source ? m->source : "the disk") < 0)
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
        CLEANUP_FREE char *dev = fs_device("/dev/sda", &p->l.mounts[i]);
        if (asprintf(&m->filesystems[nfs++], "%s %s %s", dev, p->l.mounts[i].type,
                     p->l.mounts[i].mountpoint) < 0)
            abort();
        if (mount_fs(g, dev, p->l.mounts[i].type, p->l.mounts[i].mountpoint, 0) < 0)
            goto out;
    }
    if (sysprep_run(&ctx, selected_ops, 0) < 0)
        goto out;
    info("vmstamp: sysprep: %zu files removed or emptied", ctx.removed);
    /* Trim deepest mounts first. */
    for (size_t i = p->l.nmounts; i-- > 0;) {
        /* Without discard (a raw --in-place disk on some filesystems) the
         * template is only bigger, not wrong. */
        guestfs_push_error_handler(g, NULL, NULL);
        if (guestfs_fstrim(g, p->l.mounts[i].mountpoint, -1) == -1)
            warning("cannot trim %s (%s): the template will be larger", p->l.mounts[i].mountpoint,
                    guestfs_last_error(g) ? guestfs_last_error(g) : "no discard");
        guestfs_pop_error_handler(g);
    }
    if (guestfs_umount_all(g) == -1) {
        gerr(g, "umount_all");
        goto out;
    }
    if (sysprep_run(&ctx, selected_ops, 1) < 0 || shrink_unmounted(g, p->l.swaps) < 0)
        goto out;
    int64_t size = guestfs_blockdev_getsize64(g, devices[0]);
    if (size > 0)
        m->min_size = (uint64_t)size;
    if (guestfs_shutdown(g) == -1) {
        gerr(g, "cannot flush the template (appliance shutdown)");
        goto out;
    }
    *layout = p;
    p = NULL;
    ret = 0;
out:
    if (p) {
        layout_release(&p->l);
        guest_os_release(&p->os);
        free(p);
    }
    return ret;
}

void gfs_record_layout(const char *key, void *layout, const char *os_name)
{
    struct prepared *p = layout;

    if (!p)
        return;
    if (key) {
        if (os_name && !p->os.pretty)
            p->os.pretty = strdup(os_name);
        layout_cache_save(key, &p->l, &p->os);
    }
    layout_release(&p->l);
    guest_os_release(&p->os);
    free(p);
}
