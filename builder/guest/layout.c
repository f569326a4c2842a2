/* layout.c: see layout.h. */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <guestfs.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/gfs.h"
#include "adapters/qemuimg.h"
#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "base/fileio.h"
#include "base/proc.h"
#include "guest/layout.h"
#include "pure/edit.h"

/* 2: LVs' linear runs (pv_partnum, lv_offset, lv_size) and direct. */
#define LAYOUT_CACHE_VERSION 2

void layout_release(struct layout *l)
{
    for (size_t i = 0; i < l->nmounts; i++) {
        free(l->mounts[i].lv);
        free(l->mounts[i].type);
        free(l->mounts[i].subvol);
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
    json_object_object_add(o, "direct", json_object_new_boolean(l->direct));
    for (size_t i = 0; i < l->nmounts; i++) {
        struct json_object *m = json_object_new_object();
        json_object_object_add(m, "partnum", json_object_new_int(l->mounts[i].partnum));
        json_add_str(m, "lv", l->mounts[i].lv);
        json_add_str(m, "type", l->mounts[i].type);
        json_add_str(m, "subvol", l->mounts[i].subvol);
        json_add_str(m, "mountpoint", l->mounts[i].mountpoint);
        if (l->mounts[i].lv_size) {
            json_object_object_add(m, "pv_partnum", json_object_new_int(l->mounts[i].pv_partnum));
            json_object_object_add(m, "lv_offset", json_object_new_int64((int64_t)l->mounts[i].lv_offset));
            json_object_object_add(m, "lv_size", json_object_new_int64((int64_t)l->mounts[i].lv_size));
        }
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

static uint64_t json_u64(struct json_object *o, const char *k)
{
    struct json_object *v;
    int64_t n = json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;

    return n > 0 ? (uint64_t)n : 0;
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
    l->direct = json_int(o, "direct");
    l->nmounts = json_object_array_length(mounts);
    l->mounts = calloc(l->nmounts, sizeof *l->mounts);
    for (size_t i = 0; i < l->nmounts; i++) {
        struct json_object *m = json_object_array_get_idx(mounts, i);
        l->mounts[i].partnum = json_int(m, "partnum");
        l->mounts[i].lv = strdup_or_null(json_str(m, "lv"));
        l->mounts[i].type = strdup_or_null(json_str(m, "type"));
        l->mounts[i].subvol = strdup_or_null(json_str(m, "subvol"));
        l->mounts[i].mountpoint = strdup_or_null(json_str(m, "mountpoint"));
        l->mounts[i].pv_partnum = json_int(m, "pv_partnum");
        l->mounts[i].lv_offset = json_u64(m, "lv_offset");
        l->mounts[i].lv_size = json_u64(m, "lv_size");
        if (l->mounts[i].lv && !l->mounts[i].lv_size)
            l->direct = 0;
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
            const char *ov = json_str(o, "overlay");
            if (ov && unlink(ov) < 0 && errno != ENOENT)
                debug("cannot remove the recorded grown template %s: %s", ov, strerror(errno));
            if (unlink(path) == 0)
                debug("recorded layout of %s removed (%s)", template_path, path);
            else
                debug("cannot remove the recorded layout %s: %s", path, strerror(errno));
        }
        json_object_put(o);
    }
    closedir(d);
}

/* ---- the grown record ------------------------------------------------------ */

void layout_fs_ref_release(struct fs_ref *f)
{
    free(f->lv);
    free(f->subvol);
    free(f->type);
    free(f->mountpoint);
    memset(f, 0, sizeof *f);
}

/* LAYOUT_CACHE_DIR/HASH.grown.{json,qcow2}, HASH of KEY and SIZE. */
static char *grown_path(const char *key, uint64_t size, const char *ext)
{
    CLEANUP_FREE char *id = xasprintf("%s grown=%llu", key, (unsigned long long)size);
    char hex[65];

    if (digest_buffer_hex(DIGEST_SHA256, id, strlen(id), hex) < 0)
        abort();
    return xasprintf("%s/%.32s.grown.%s", LAYOUT_CACHE_DIR, hex, ext); /* caller frees */
}

int layout_grown_load(const char *key, uint64_t size, char **overlay, struct fs_ref *root)
{
    CLEANUP_FREE char *jpath = grown_path(key, size, "json");
    CLEANUP_FREE char *qpath = grown_path(key, size, "qcow2");
    struct json_object *o = json_object_from_file(jpath);
    const char *k = o ? json_str(o, "key") : NULL;
    int ret = -1;
    struct stat st;

    memset(root, 0, sizeof *root);
    *overlay = NULL;
    if (!k || strcmp(k, key) != 0 || json_u64(o, "grown_size") != size || stat(qpath, &st) < 0 ||
        !S_ISREG(st.st_mode))
        goto out;
    root->lv = strdup_or_null(json_str(o, "root"));
    root->type = strdup_or_null(json_str(o, "type"));
    root->subvol = strdup_or_null(json_str(o, "subvol"));
    root->mountpoint = strdup_or_null(json_str(o, "mountpoint"));
    root->lv_offset = json_u64(o, "offset");
    root->lv_size = json_u64(o, "size");
    if (!root->lv || !root->type || !root->mountpoint || !root->lv_size) {
        layout_fs_ref_release(root);
        goto out;
    }
    *overlay = steal_pointer(&qpath);
    ret = 0;
out:
    json_object_put(o);
    return ret;
}

void layout_grown_save(const char *key, uint64_t size, const char *overlay, const struct fs_ref *root)
{
    CLEANUP_FREE char *jpath = grown_path(key, size, "json");
    CLEANUP_FREE char *qpath = grown_path(key, size, "qcow2");
    /* Named after this run (a dead run's is swept, pipeline/run.c), unique
     * within it: batches of one run record at once. */
    CLEANUP_FREE char *tmp = xasprintf("%s/%s%s.XXXXXX", LAYOUT_CACHE_DIR, LAYOUT_GROWN_TMP_PREFIX, proc_run_id());
    struct json_object *o = json_object_new_object();
    int fd = -1;

    if (mkdir_p(LAYOUT_CACHE_DIR, 0755) < 0 || (fd = mkostemp(tmp, O_CLOEXEC)) < 0 || close(fd) < 0 ||
        copy_file(overlay, tmp, 0) < 0 || qemuimg_check(tmp, "qcow2") < 0 || rename(tmp, qpath) < 0) {
        debug("cannot record the grown template in %s: %s", qpath, error_message() ? error_message() : strerror(errno));
        error_clear();
        if (fd >= 0)
            unlink(tmp);
        json_object_put(o);
        return;
    }
    json_object_object_add(o, "version", json_object_new_int(LAYOUT_CACHE_VERSION));
    json_add_str(o, "key", key);
    json_object_object_add(o, "grown_size", json_object_new_int64((int64_t)size));
    json_add_str(o, "overlay", qpath);
    json_add_str(o, "root", root->lv);
    json_add_str(o, "type", root->type);
    json_add_str(o, "subvol", root->subvol);
    json_add_str(o, "mountpoint", root->mountpoint);
    json_object_object_add(o, "offset", json_object_new_int64((int64_t)root->lv_offset));
    json_object_object_add(o, "size", json_object_new_int64((int64_t)root->lv_size));
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
    if (write_file_atomic(jpath, text, strlen(text), 0600) < 0) {
        debug("cannot record the grown template in %s: %s", jpath, error_message());
        error_clear();
        unlink(qpath);
    } else {
        debug("recorded the template grown to %llu bytes: %s", (unsigned long long)size, qpath);
    }
    json_object_put(o);
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

int layout_mount(guestfs_h *g, const char *device, const char *type, const char *subvol, const char *mp, int ro)
{
    const char *base = strcmp(type, "xfs") == 0 ? (ro ? "ro,nouuid" : "nouuid") : (ro ? "ro" : "");
    CLEANUP_FREE char *with = subvol ? xasprintf("%s%ssubvol=%s", base, *base ? "," : "", subvol) : NULL;
    const char *opts = with ? with : base;

    /* The type blkid found (supported_fs): mount(8) need not probe. */
    if (guestfs_mount_vfs(g, opts, type, device, mp) == -1)
        return gfs_error(g, device);
    return 0;
}

int layout_mount_ref(guestfs_h *g, const char *dev, const struct fs_ref *f, int direct, int ro)
{
    CLEANUP_FREE char *device = NULL;
    CLEANUP_FREE char *opts = NULL;
    int xfs = strcmp(f->type, "xfs") == 0;

    if (!direct || !f->lv || !f->lv_size) {
        device = layout_fs_device(dev, f);
        return layout_mount(g, device, f->type, f->subvol, f->mountpoint, ro);
    }
    /* The LV's run, straight from this clone's PV: mount(8) sets up (and,
     * at umount, frees) a loop device over that byte range. */
    if (f->pv_partnum > 0)
        device = xasprintf("%s%d", dev, f->pv_partnum);
    else
        device = xstrdup(dev);
    opts = xasprintf("loop,offset=%llu,sizelimit=%llu%s%s%s%s", (unsigned long long)f->lv_offset,
                     (unsigned long long)f->lv_size, ro ? ",ro" : "", xfs ? ",nouuid" : "",
                     f->subvol ? ",subvol=" : "", f->subvol ? f->subvol : "");
    if (guestfs_mount_vfs(g, opts, f->type, device, f->mountpoint) == -1)
        return gfs_error(g, f->lv);
    return 0;
}

/* ---- LVM metadata (vgmeta) ------------------------------------------------
 * The text format: NAME { ... }, key = value, key = [ v, ... ], "strings",
 * # comments. Just enough of it to find where an LV lies. */

struct span {
    const char *p, *e;
};

/* The next token of S (advancing S): a word, a "string" (quotes kept) or
 * one punctuation character; 0 at the end. */
static int meta_token(struct span *s, struct span *tok)
{
    const char *p = s->p;

    for (;;) {
        while (p < s->e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p < s->e && *p == '#') {
            while (p < s->e && *p != '\n')
                p++;
            continue;
        }
        break;
    }
    if (p >= s->e)
        return 0;
    tok->p = p;
    if (*p == '"') {
        for (p++; p < s->e && *p != '"'; p++)
            if (*p == '\\' && p + 1 < s->e)
                p++;
        if (p < s->e)
            p++;
    } else if (strchr("{}[]=,", *p)) {
        p++;
    } else {
        while (p < s->e && !strchr(" \t\r\n#\"{}[]=,", *p))
            p++;
    }
    tok->e = p;
    s->p = p;
    return 1;
}

static int tok_is(const struct span *t, const char *w)
{
    size_t n = strlen(w);

    return (size_t)(t->e - t->p) == n && memcmp(t->p, w, n) == 0;
}

/* At the top level of IN: section NAME's contents (OUT), or the value of
 * KEY (OUT: a word, a string with its quotes, or an array's contents). */
static int meta_find(struct span in, const char *name, int section, struct span *out)
{
    struct span t, prev = { NULL, NULL };
    int depth = 0;

    while (meta_token(&in, &t)) {
        char c = *t.p;
        if (depth == 0 && prev.p && tok_is(&prev, name) &&
            ((section && c == '{') || (!section && c == '='))) {
            if (!section) {
                if (!meta_token(&in, &t))
                    return -1;
                if (*t.p != '[') {
                    *out = t;
                    return 0;
                }
                out->p = in.p;
                while (meta_token(&in, &t) && *t.p != ']')
                    ;
                out->e = t.p;
                return 0;
            }
            out->p = in.p;
            for (int d = 1; meta_token(&in, &t);) {
                if (*t.p == '{')
                    d++;
                else if (*t.p == '}' && --d == 0) {
                    out->e = t.p;
                    return 0;
                }
            }
            return -1;
        }
        if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && depth > 0)
            depth--;
        prev = t;
    }
    return -1;
}

static int meta_u64(struct span in, const char *key, uint64_t *v)
{
    struct span t;
    char buf[32];

    if (meta_find(in, key, 0, &t) < 0 || t.e - t.p <= 0 || t.e - t.p >= (long)sizeof buf)
        return -1;
    memcpy(buf, t.p, (size_t)(t.e - t.p));
    buf[t.e - t.p] = '\0';
    char *end;
    errno = 0;
    unsigned long long n = strtoull(buf, &end, 10);
    if (errno || *end || end == buf)
        return -1;
    *v = n;
    return 0;
}

/* Where LV (/dev/VG/LV) lies on disk DEV when it is one linear run on one
 * PV, from the VG's metadata (LVM must see DEV's VG); 0 and F's run set,
 * or -1 (not a single run, or not understood: mount it through LVM). */
int layout_lv_run(guestfs_h *g, const char *dev, const char *lv, struct fs_ref *f)
{
    char vg[256], name[256];
    size_t len;
    struct span all, vgs, lvs, lvsec, seg, pvs, pv, t, st, stripes;
    uint64_t extent, count, start_ext, pe_start, nseg, nstripe;

    if (sscanf(lv, "/dev/%255[^/]/%255s", vg, name) != 2)
        return -1;
    guestfs_push_error_handler(g, NULL, NULL);
    CLEANUP_FREE char *meta = guestfs_vgmeta(g, vg, &len);
    guestfs_pop_error_handler(g);
    if (!meta)
        return -1;
    all.p = meta;
    all.e = meta + len;
    if (meta_find(all, vg, 1, &vgs) < 0 || meta_u64(vgs, "extent_size", &extent) < 0 ||
        meta_find(vgs, "logical_volumes", 1, &lvs) < 0 || meta_find(lvs, name, 1, &lvsec) < 0 ||
        meta_u64(lvsec, "segment_count", &nseg) < 0 || nseg != 1 ||
        meta_find(lvsec, "segment1", 1, &seg) < 0 || meta_u64(seg, "start_extent", &start_ext) < 0 ||
        start_ext != 0 || meta_u64(seg, "extent_count", &count) < 0 ||
        meta_find(seg, "type", 0, &t) < 0 || !tok_is(&t, "\"striped\"") ||
        meta_u64(seg, "stripe_count", &nstripe) < 0 || nstripe != 1 ||
        meta_find(seg, "stripes", 0, &stripes) < 0)
        return -1;
    /* stripes = [ "pv0", FIRST_EXTENT ] */
    struct span pvname, comma, first;
    if (!meta_token(&stripes, &pvname) || *pvname.p != '"' || pvname.e - pvname.p < 3 ||
        !meta_token(&stripes, &comma) || *comma.p != ',' || !meta_token(&stripes, &first))
        return -1;
    char pvkey[256], num[32];
    size_t kl = (size_t)(pvname.e - pvname.p) - 2, nl = (size_t)(first.e - first.p);
    if (kl >= sizeof pvkey || nl >= sizeof num)
        return -1;
    memcpy(pvkey, pvname.p + 1, kl);
    pvkey[kl] = '\0';
    memcpy(num, first.p, nl);
    num[nl] = '\0';
    char *end;
    unsigned long long first_ext = strtoull(num, &end, 10);
    if (*end || end == num)
        return -1;
    if (meta_find(vgs, "physical_volumes", 1, &pvs) < 0 || meta_find(pvs, pvkey, 1, &pv) < 0 ||
        meta_u64(pv, "pe_start", &pe_start) < 0 || meta_find(pv, "device", 0, &t) < 0)
        return -1;
    /* device = "/dev/sda2": the PV's place on this clone's disk. */
    size_t dl = strlen(dev);
    st.p = t.p + 1;
    st.e = t.e - 1;
    if (st.e - st.p < (long)dl || strncmp(st.p, dev, dl) != 0)
        return -1;
    int pn = 0;
    for (const char *q = st.p + dl; q < st.e; q++) {
        if (*q < '0' || *q > '9' || pn > 10000)
            return -1;
        pn = pn * 10 + (*q - '0');
    }
    if (st.e > st.p + dl && pn == 0)
        return -1;
    f->pv_partnum = pn;
    f->lv_offset = (pe_start + (uint64_t)first_ext * extent) * 512;
    f->lv_size = count * extent * 512;
    /* The size LVM reports must agree. */
    guestfs_push_error_handler(g, NULL, NULL);
    int64_t sz = guestfs_blockdev_getsize64(g, lv);
    guestfs_pop_error_handler(g);
    if (sz < 0 || (uint64_t)sz != f->lv_size) {
        f->pv_partnum = 0;
        f->lv_offset = f->lv_size = 0;
        return -1;
    }
    debug("%s: linear run of %llu bytes at byte %llu of %s", lv, (unsigned long long)f->lv_size,
          (unsigned long long)f->lv_offset, pn ? "partition" : "the disk");
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

/* With btrfs DEVICE's default subvolume mounted at / and no /etc/fstab
 * there: the subvolume that holds the root (/etc/fstab under /etc), as
 * Debian's and Ubuntu's installers (@, @rootfs) and Fedora (root) lay it
 * out; the shallowest one when several do (snapshots hold an /etc/fstab
 * too). Leaves DEVICE's top level mounted read-only at /. NULL: none;
 * caller frees. */
static char *btrfs_root_subvol(guestfs_h *g, const char *device)
{
    struct guestfs_btrfssubvolume_list *sl = NULL;
    char *best = NULL;
    int best_depth = 0;

    guestfs_push_error_handler(g, NULL, NULL);
    if (guestfs_umount_all(g) == 0 && guestfs_mount_vfs(g, "ro,subvolid=5", "btrfs", device, "/") == 0)
        sl = guestfs_btrfs_subvolume_list(g, "/");
    for (uint32_t i = 0; sl && i < sl->len; i++) {
        const char *p = sl->val[i].btrfssubvolume_path;
        CLEANUP_FREE char *fstab = xasprintf("/%s/etc/fstab", p);
        int depth = 0;
        for (const char *c = p; *c; c++)
            depth += *c == '/';
        if ((best && depth >= best_depth) || guestfs_is_file(g, fstab) <= 0)
            continue;
        free(best);
        best = xstrdup(p);
        best_depth = depth;
    }
    guestfs_pop_error_handler(g);
    if (sl)
        guestfs_free_btrfssubvolume_list(sl);
    return best; /* caller frees */
}

/* The subvol= option of an fstab options field OPTS (leading / dropped),
 * or NULL; caller frees. */
static char *fstab_subvol(const char *opts)
{
    for (const char *o = opts; o && *o;) {
        size_t n = strcspn(o, ",");
        if (n > 7 && strncmp(o, "subvol=", 7) == 0) {
            const char *v = o + 7;
            while (*v == '/' && v < o + n)
                v++;
            return v < o + n ? xstrndup(v, (size_t)(o + n - v)) : NULL;
        }
        o += n + (o[n] == ',');
    }
    return NULL;
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
        int m = layout_mount(g, cands[i], refs[i].type, NULL, "/", 1);
        guestfs_pop_error_handler(g);
        error_clear();
        if (m < 0)
            continue;
        /* A btrfs root in a subvolume other than the default one. */
        if (strcmp(refs[i].type, "btrfs") == 0 && guestfs_is_file(g, "/etc/fstab") <= 0) {
            refs[i].subvol = btrfs_root_subvol(g, cands[i]);
            guestfs_umount_all(g);
            if (!refs[i].subvol)
                continue;
            debug("%s: the root is in btrfs subvolume %s", cands[i], refs[i].subvol);
            if (layout_mount(g, cands[i], refs[i].type, refs[i].subvol, "/", 1) < 0) {
                error_clear();
                continue;
            }
        }
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

    /* At most the root and one mount per fstab line. */
    size_t nlines = 1;
    for (const char *c = fstab; c && *c; c++)
        nlines += *c == '\n';
    l->mounts = xcalloc(nlines + 1, sizeof *l->mounts);
    l->mounts[0] = refs[root];
    l->mounts[0].lv = refs[root].lv ? strdup(refs[root].lv) : NULL;
    l->mounts[0].type = strdup(refs[root].type);
    l->mounts[0].subvol = refs[root].subvol ? xstrdup(refs[root].subvol) : NULL;
    l->mounts[0].mountpoint = strdup("/");
    l->nmounts = 1;

    /* Other fstab mounts that hold data we edit (/var, /home ...); not /boot. */
    for (char *line = fstab, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char spec[512], mp[512], type[64], opts[512] = "";
        if (line[0] == '#' || sscanf(line, "%511s %511s %63s %511s", spec, mp, type, opts) < 3)
            continue;
        if (mp[0] != '/' || strcmp(mp, "/") == 0 || strncmp(mp, "/boot", 5) == 0 || !supported_fs(type))
            continue;
        int k = resolve_spec(g, spec, cands, refs, ncand);
        CLEANUP_FREE char *subvol = strcmp(type, "btrfs") == 0 ? fstab_subvol(opts) : NULL;
        /* Another subvolume of the root's btrfs (/home in @home) is a
         * mount of its own. */
        int other_subvol = k == root && subvol && !(refs[root].subvol && strcmp(subvol, refs[root].subvol) == 0);
        if (k < 0 || (k == root && !other_subvol)) {
            debug("fstab entry %s %s not found on the template disk; not mounted", spec, mp);
            continue;
        }
        struct fs_ref *m = &l->mounts[l->nmounts++];
        m->partnum = refs[k].partnum;
        m->lv = refs[k].lv ? strdup(refs[k].lv) : NULL;
        m->type = strdup(refs[k].type);
        m->subvol = steal_pointer(&subvol);
        m->mountpoint = strdup(mp);
    }
    /* Where each LV mounted lies: clones that do not grow then need no LVM. */
    l->direct = l->lvm;
    for (size_t i = 0; l->direct && i < l->nmounts; i++)
        if (l->mounts[i].lv && layout_lv_run(g, dev, l->mounts[i].lv, &l->mounts[i]) < 0) {
            debug("%s is not one linear run on one PV: clones mount it through LVM", l->mounts[i].lv);
            l->direct = 0;
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
        free(refs[i].subvol);
    }
    return ret;
}
