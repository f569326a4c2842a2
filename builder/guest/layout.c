/* layout.c: see layout.h. */
#include <dirent.h>
#include <errno.h>
#include <guestfs.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/gfs.h"
#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "base/fileio.h"
#include "guest/layout.h"
#include "pure/edit.h"

#define LAYOUT_CACHE_VERSION 1

void layout_release(struct layout *l)
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

void guest_os_release(struct guest_os *os)
{
    free(os->id);
    free(os->version);
    free(os->pretty);
    free(os->root_fs);
    memset(os, 0, sizeof *os);
}

/* ---- the record ------------------------------------------------------------ */

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

static char *layout_cache_path(const char *key)
{
    char hex[65];

    if (digest_buffer_hex(DIGEST_SHA256, key, strlen(key), hex) < 0)
        abort(); /* OpenSSL without SHA-256: nothing works */
    return xasprintf("%s/%.32s.json", LAYOUT_CACHE_DIR, hex); /* caller frees */
}

static void json_add_str(struct json_object *o, const char *k, const char *v)
{
    if (v)
        json_object_object_add(o, k, json_object_new_string(v));
}

void layout_cache_save(const char *key, const struct layout *l, const struct guest_os *os)
{
    CLEANUP_FREE char *path = layout_cache_path(key);
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
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
    if (mkdir_p(LAYOUT_CACHE_DIR, 0755) < 0 || write_file_atomic(path, text, strlen(text), 0644) < 0) {
        debug("cannot record the template layout in %s: %s", path, error_message());
        error_clear();
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

int layout_cache_load(const char *key, struct layout *l, struct guest_os *os)
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

void layout_forget(const char *template_path)
{
    CLEANUP_FREE char *prefix = NULL;
    DIR *d = opendir(LAYOUT_CACHE_DIR);
    struct dirent *e;

    if (!d)
        return; /* nothing recorded */
    if (asprintf(&prefix, "%s dev=", template_path) < 0)
        abort();
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        CLEANUP_FREE char *path = NULL;
        if (asprintf(&path, "%s/%s", LAYOUT_CACHE_DIR, e->d_name) < 0)
            abort();
        struct json_object *o = json_object_from_file(path);
        const char *k = o ? json_str(o, "key") : NULL;
        if (k && strncmp(k, prefix, strlen(prefix)) == 0) {
            if (unlink(path) == 0)
                debug("recorded layout of %s removed (%s)", template_path, path);
            else
                debug("cannot remove the recorded layout %s: %s", path, strerror(errno));
        }
        json_object_put(o);
    }
    closedir(d);
}

void gfs_record_layout(const char *key, void *layout, const char *os_name)
{
    struct template_layout *p = layout;

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

/* ---- the search ------------------------------------------------------------ */

char *layout_fs_device(const char *dev, const struct fs_ref *f)
{
    char *s;

    if (f->lv)
        return strdup(f->lv);
    if (asprintf(&s, "%s%d", dev, f->partnum) < 0)
        abort();
    return s; /* caller frees */
}

static int supported_fs(const char *t)
{
    return t && (strcmp(t, "ext2") == 0 || strcmp(t, "ext3") == 0 || strcmp(t, "ext4") == 0 ||
                 strcmp(t, "xfs") == 0 || strcmp(t, "btrfs") == 0);
}

int layout_mount(guestfs_h *g, const char *device, const char *type, const char *mp, int ro)
{
    const char *opts = strcmp(type, "xfs") == 0 ? (ro ? "ro,nouuid" : "nouuid") : (ro ? "ro" : "");

    if (guestfs_mount_options(g, opts, device, mp) == -1)
        return gfs_error(g, device);
    return 0;
}

int layout_lvm_only(guestfs_h *g, const char *dev)
{
    char *devs[] = { (char *)dev, NULL };

    /* lvm_set_filter rescans and activates what the filter lets through. */
    if (guestfs_lvm_set_filter(g, devs) == -1)
        return gfs_error(g, "lvm_set_filter");
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

/* FSTAB (not modified) has an entry mounted at MP. */
static int fstab_mounts(const char *fstab, const char *mp)
{
    for (const char *line = fstab; line && *line;) {
        const char *next = strchr(line, '\n');
        char spec[512], at[512];
        if (line[0] != '#' && sscanf(line, "%511s %511s", spec, at) == 2 && strcmp(at, mp) == 0)
            return 1;
        line = next ? next + 1 : NULL;
    }
    return 0;
}

/* The directories every Linux root holds, beyond /etc (the search checked
 * it), as "/bin or /usr/bin" (usr-merged systems link /bin -> usr/bin, so
 * symlinks are followed). A root without one is a damaged or truncated
 * image, better refused than customized. With /usr on its own filesystem
 * (SEPARATE_USR) only its mount point can be seen. Returns what is
 * missing (a static string), or NULL. */
static const char *missing_system_dir(guestfs_h *g, int separate_usr)
{
    static const char *const need[][3] = {
        { "/usr", NULL, "/usr" },
        { "/bin", "/usr/bin", "/bin or /usr/bin" },
        { "/lib", "/usr/lib", "/lib or /usr/lib" },
    };

    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (guestfs_is_dir_opts(g, need[i][0], GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1) > 0)
            continue;
        if (need[i][1] && (separate_usr ||
                           guestfs_is_dir_opts(g, need[i][1], GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1) > 0))
            continue;
        return need[i][2];
    }
    return NULL;
}

int layout_find(guestfs_h *g, const char *dev, int need_grow, int alone, const char *root_hint,
                struct layout *l, struct guest_os *os, const char *template_name)
{
    CLEANUP_STRV char **parts = guestfs_list_partitions(g);
    CLEANUP_STRV char **lvs = NULL;
    char *cands[128];
    struct fs_ref refs[128];
    size_t ncand = 0;
    int root = -1, ret = -1;
    const char *missing = NULL;
    CLEANUP_FREE char *fstab = NULL;

    memset(refs, 0, sizeof refs);
    if (!parts)
        return gfs_error(g, "list_partitions");

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
        if (!alone && layout_lvm_only(g, dev) < 0)
            goto out;
        lvs = guestfs_lvs(g);
        if (!lvs) {
            gfs_error(g, "lvs");
            goto out;
        }
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
        int m = layout_mount(g, cands[i], refs[i].type, "/", 1);
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
            missing = missing_system_dir(g, fstab_mounts(fstab, "/usr"));
        }
        guestfs_umount_all(g);
    }
    if (root < 0) {
        error("no Linux root filesystem (one holding /etc/fstab) found in template '%s': vmstamp customizes Linux guests",
              template_name);
        goto out;
    }
    if (missing) {
        error("template '%s': root filesystem %s has no %s: the image is damaged or truncated (run qemu-img check)",
              template_name, cands[root], missing);
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
