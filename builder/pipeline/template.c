/* template.c: the template pipeline. create: sysprep and shrink a disk on
 * a throw-away overlay in one appliance launch, compress it into the store;
 * import: a signed bundle into the store. Both end in store_commit(), which
 * never replaces an existing template. Every side effect is journaled. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/accel.h"
#include "adapters/bundle.h"
#include "adapters/gfs.h"
#include "adapters/osinfo.h"
#include "adapters/qemuimg.h"
#include "adapters/store.h"
#include "adapters/virt.h"
#include "base/cancel.h"
#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "base/fileio.h"
#include "base/proc.h"
#include "guest/layout.h"
#include "guest/prepare.h"
#include "guest/sysprep.h"
#include "pipeline/template.h"
#include "pure/domxml.h"
#include "pure/util.h"

void template_result_release(struct template_result *res)
{
    template_meta_release(&res->meta);
    free(res->image);
    res->image = NULL;
}

/* The disk of domain NAME, refusing a running domain; NULL if no such domain. */
static char *domain_disk(virConnectPtr conn, const char *name, int *is_domain)
{
    virDomainPtr dom = virDomainLookupByName(conn, name);
    CLEANUP_FREE char *xml = NULL;
    char *disk;

    *is_domain = dom != NULL;
    error_clear();
    if (!dom)
        return NULL;
    if (virDomainIsActive(dom) == 1) {
        error("domain '%s' is running: shut it down before making a template of it", name);
        virDomainFree(dom);
        return NULL;
    }
    xml = virt_domain_xml(dom);
    virDomainFree(dom);
    disk = xml ? xml_get(xml, "/domain/devices/disk[@device='disk'][1]/source/@file") : NULL;
    /* A block device (an LV of an LVM pool): read as the raw image it is. */
    if (!disk && xml)
        disk = xml_get(xml, "/domain/devices/disk[@device='disk'][1]/source/@dev");
    if (!disk && xml)
        error("domain '%s' has no file or block device disk to make a template of", name);
    return disk;
}

/* A running domain that uses PATH as a disk, or NULL. */
static char *running_user_of(virConnectPtr conn, const char *path)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    char *who = NULL;
    CLEANUP_FREE char *needle = NULL;

    needle = xasprintf("'%s'", path);
    for (int i = 0; i < n; i++) {
        char *xml = virDomainGetXMLDesc(doms[i], 0);
        if (!who && xml && strstr(xml, needle))
            who = xstrdup(virDomainGetName(doms[i]));
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    return who;
}

/* Claim NAME in store ST and check it is free. */
static int claim_name(const struct store *st, const char *name, struct run *run)
{
    CLEANUP_FREE char *image = store_image_path(st, name);

    if (run_claim_path(run, "template", image) < 0)
        return -1;
    if (store_has(st, name))
        return error("template '%s' already exists in store '%s': remove it (vmstamp template rm %s) or pick "
                     "another name", name, st->pool, name);
    return 0;
}

/* A temporary image path in the store for NAME, created exclusively and
 * journaled first. Caller frees. */
static char *store_tmp_image(const struct store *st, const char *name, struct run *run)
{
    char *tmp;
    int fd, step;

    tmp = xasprintf("%s/.%s.qcow2.vmstamp-tmp", st->dir, name);
    step = journal_file(run->journal, tmp);
    if (step < 0) {
        free(tmp);
        return NULL;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        journal_drop(run->journal, step);
        error(e == EEXIST ? "'%s' already exists (another program's?): remove it and try again"
                          : "cannot create '%s': %s", tmp, strerror(e));
        free(tmp);
        return NULL;
    }
    close(fd);
    return tmp;
}

/* The one store commit: metadata, then the image under its name, neither
 * ever replacing what is there. *IMAGE: the image's path (caller frees). */
static int store_commit(virConnectPtr conn, const struct store *st, const struct template_meta *meta,
                        const char *tmp_image, struct run *run, char **image)
{
    CLEANUP_FREE char *mp = store_meta_path(st, meta->name);
    CLEANUP_FREE char *json = template_meta_to_json(meta);
    CLEANUP_FREE char *uri = virConnectGetURI(conn);
    int step, r;

    *image = store_image_path(st, meta->name);
    if (!json || claim_name(st, meta->name, run) < 0)
        return -1;
    if (journal_pool(run->journal, uri ? uri : "qemu:///system", st->pool) < 0)
        return -1;
    step = journal_file(run->journal, mp);
    if (step < 0)
        return -1;
    r = create_file_atomic(mp, json, strlen(json), 0644);
    if (r != 0) {
        journal_drop(run->journal, step);
        if (r > 0)
            return error("template '%s' already exists in store '%s': remove it (vmstamp template rm %s) or pick "
                         "another name", meta->name, st->pool, meta->name);
        return -1;
    }
    step = journal_file(run->journal, *image);
    if (step < 0)
        return -1;
    if (chmod(tmp_image, 0444) < 0)
        return error("cannot chmod '%s': %s", tmp_image, strerror(errno));
    r = rename_noreplace(tmp_image, *image);
    if (r != 0) {
        journal_drop(run->journal, step);
        if (r > 0)
            return error("template image '%s' already exists: remove it or pick another name", *image);
        return -1;
    }
    fsync_parent(*image);
    virt_pool_refresh(conn, st->pool);
    error_clear();
    return 0;
}

static int fill_image_fields(const char *tmp_image, struct template_meta *meta)
{
    struct image_info out_info;
    struct stat sb;
    char sum[65];

    if (qemuimg_info(tmp_image, &out_info) < 0 || sha256_file(tmp_image, sum) < 0 || stat(tmp_image, &sb) < 0)
        return -1;
    meta->format = xstrdup("qcow2");
    meta->virtual_size = out_info.virtual_size;
    meta->stored_size = (uint64_t)sb.st_size;
    meta->sha256 = xstrdup(sum);
    image_info_release(&out_info);
    return 0;
}

int template_create(virConnectPtr conn, const struct template_request *req, struct run *run,
                    struct template_result *res)
{
    const char *name = req->name, *from = req->from, *problem;
    int selected[128];
    struct store st = { 0 };
    struct template_meta *meta = &res->meta;
    struct image_info src = { 0 };
    CLEANUP_FREE char *source = NULL;
    CLEANUP_FREE char *work_dir = NULL;
    CLEANUP_FREE char *work = NULL;
    CLEANUP_FREE char *tmp_image = NULL;
    CLEANUP_FREE char *key = NULL;
    struct gfs_session *gs = NULL;
    void *layout = NULL;
    int ret = -1;
    const char *what = "template not made";

    memset(res, 0, sizeof *res);
    if ((problem = domain_name_problem(name)))
        return error("invalid template name '%s': %s", name, problem);
    if (sysprep_select(req->operations ? req->operations : "defaults", selected) < 0)
        return -1;
    /* The source: a disk image path, or the disk of a shut-off domain. */
    {
        char real[PATH_MAX];
        int is_domain = 0;
        if (strncmp(from, "/dev/", 5) == 0 && is_block_device(from)) {
            source = xstrdup(from); /* /dev/VG/LV by that name, as domains use it */
        } else if (realpath(from, real)) {
            source = xstrdup(real);
        } else if (strchr(from, '/') && (source = virt_volume_path(conn, from))) {
            /* POOL/VOLUME: a libvirt volume (VG/LV of an LVM pool). */
        } else {
            error_clear();
            source = domain_disk(conn, from, &is_domain);
            if (!source) {
                if (!is_domain)
                    error("source '%s' not found: give a disk image path or a shut-off libvirt domain", from);
                goto out;
            }
        }
    }
    int info_r = qemuimg_info(source, &src);
    if (info_r < 0) {
        if (info_r == QEMUIMG_NOT_IMAGE) /* else it names a missing backing file or qemu-img's failure */
            error_replace("source '%s' is not a disk image: give a qcow2 or raw disk, or a domain", from);
        goto out;
    }
    {
        CLEANUP_FREE char *user = running_user_of(conn, source);
        if (user) {
            error("source '%s' is in use by running domain '%s': shut it down first", from, user);
            goto out;
        }
    }
    if (store_open(conn, req->pool, 1, &st) < 0 || claim_name(&st, name, run) < 0)
        goto out;
    if (cancel_check(what) < 0)
        goto out;

    /* Work on a throw-away overlay: the source is never written (unless
     * --in-place). Its directory is named after this run, for recovery. */
    if (req->in_place) {
        work = xstrdup(source);
    } else {
        /* mkdtemp under root's own directory: no one can make it first. */
        work_dir = run_work_dir(run, "vmstamp-work.");
        if (!work_dir)
            goto out;
        work = xasprintf("%s/overlay.qcow2", work_dir);
        if (qemuimg_create_overlay(work, source, src.format, 0) < 0)
            goto out;
    }
    meta->name = xstrdup(name);
    meta->source = xstrdup(source);
    {
        CLEANUP_FREE char *why = NULL;
        enum accel accel = accel_decide(&why);
        gs = gfs_launch_template(work, req->in_place ? src.format : "qcow2", accel);
    }
    if (!gs || cancel_check(what) < 0)
        goto out;
    {
        pid_t ap = gfs_appliance_pid(gs);
        if (ap > 0 && journal_process(run->journal, ap) < 0)
            goto out;
    }
    if (prepare_template(gs, selected, !req->no_inspect, cancel_flag(), meta, &layout) < 0 ||
        cancel_check(what) < 0)
        goto out;
    gfs_close(gs);
    gs = NULL;
    if (meta->os) {
        /* Clones' domains name the OS as virt-install would (libosinfo). */
        struct os_variant v;
        if (os_variant_lookup(meta->os, &v) == 0)
            meta->os_id = steal_pointer(&v.id);
        else
            debug("osinfo-db does not know '%s': clones get no libosinfo metadata", meta->os);
        error_clear();
        os_variant_release(&v);
    }

    tmp_image = store_tmp_image(&st, name, run);
    if (!tmp_image)
        goto out;
    info("vmstamp: compressing into %s/%s.qcow2", st.dir, name);
    if (qemuimg_convert_compressed(work, req->in_place ? src.format : "qcow2", tmp_image) < 0) {
        if (qemuimg_out_of_space())
            error_replace("template '%s' does not fit in store '%s' (%s: no space left on device): free some "
                          "space there or pass --pool", name, st.pool, st.dir);
        goto out;
    }
    if (cancel_check(what) < 0)
        goto out;
    if (fill_image_fields(tmp_image, meta) < 0)
        goto out;
    {
        time_t now = time(NULL);
        char created[32];
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        meta->created = xstrdup(created);
        size_t k = 0;
        meta->operations = xcalloc(sysprep_nops + 1, sizeof *meta->operations);
        for (size_t i = 0; i < sysprep_nops; i++)
            if (selected[i])
                meta->operations[k++] = xstrdup(sysprep_ops[i].name);
    }
    if (cancel_check(what) < 0 || store_commit(conn, &st, meta, tmp_image, run, &res->image) < 0)
        goto out;
    key = layout_key(res->image);
    gfs_record_layout(key, layout, meta->product);
    layout = NULL;
    ret = 0;
out:
    gfs_close(gs);
    gfs_record_layout(NULL, layout, NULL);
    if (work_dir && remove_tree(work_dir) < 0 && ret == 0)
        error_clear(); /* the journal step removes it otherwise; harmless */
    image_info_release(&src);
    store_close(&st);
    if (ret < 0) {
        template_result_release(res);
        if (cancel_requested())
            error_replace("interrupted: template '%s' not made", name);
    }
    return ret;
}

int template_import(virConnectPtr conn, const struct import_request *req, struct run *run,
                    struct template_result *res)
{
    struct store st = { 0 };
    struct image_info ii = { 0 };
    CLEANUP_FREE char *tmp = NULL;
    CLEANUP_FREE char *json = NULL;
    const char *bundle = req->bundle, *problem;
    int ret = -1, step;

    memset(res, 0, sizeof *res);
    if (store_open(conn, req->pool, 1, &st) < 0)
        goto out;
    tmp = xasprintf("%s/.import-%s.qcow2.vmstamp-tmp", st.dir, proc_run_id());
    step = journal_file(run->journal, tmp);
    if (step < 0)
        goto out;
    if (bundle_import(bundle, req->trust_key, tmp, &json) < 0 || cancel_check("template not imported") < 0)
        goto out;
    if (template_meta_from_json(json, &res->meta) < 0) {
        error_replace("bundle '%s': its metadata is not a vmstamp template's", bundle);
        goto out;
    }
    /* The metadata is signed, but its name becomes a path: check it again. */
    if ((problem = domain_name_problem(res->meta.name))) {
        error("bundle '%s': template name '%s' is not a valid name (%s)", bundle, res->meta.name, problem);
        goto out;
    }
    if (claim_name(&st, res->meta.name, run) < 0)
        goto out;
    /* A qcow2 with a backing file would make clones read a host file. */
    if (qemuimg_info(tmp, &ii) < 0 || strcmp(ii.format, "qcow2") != 0 || ii.backing) {
        error_replace("bundle '%s': the image is not a standalone qcow2", bundle);
        goto out;
    }
    if (store_commit(conn, &st, &res->meta, tmp, run, &res->image) < 0)
        goto out;
    ret = 0;
out:
    image_info_release(&ii);
    store_close(&st);
    if (ret < 0)
        template_result_release(res);
    return ret;
}

int template_remove(virConnectPtr conn, const char *pool, const char *name, struct run *run)
{
    struct store st = { 0 };
    struct template_meta m = { 0 };
    CLEANUP_FREE char *img = NULL;
    CLEANUP_FREE char *mp = NULL;
    CLEANUP_FREE char *ver = NULL;
    CLEANUP_STRV char **clones = NULL;
    int ret = -1, busy = -1;

    if (store_open(conn, pool, 0, &st) < 0 || store_load(&st, name, &m) < 0)
        goto out;
    img = store_image_path(&st, m.name);
    mp = store_meta_path(&st, m.name);
    if (run_claim_path(run, "template", img) < 0)
        goto out;
    /* A clone or fleet run making clones of it holds it shared (clone.c). */
    busy = open(img, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY); /* a FIFO must not block it */
    if (busy >= 0 && flock(busy, LOCK_EX | LOCK_NB) < 0) {
        error("template '%s' is in use by a vmstamp run making clones of it: wait for it to finish", m.name);
        goto out;
    }
    clones = store_clones_of(conn, img);
    if (clones[0]) {
        error("template '%s' is used by %s%s: remove its clones first (vmstamp rm ...)", m.name, clones[0],
              clones[1] ? " and others" : "");
        goto out;
    }
    ver = xasprintf("%s/.%s.verified", st.index, m.name);
    layout_forget(img);
    chmod(img, 0644);
    if (unlink(img) < 0 && errno != ENOENT) {
        chmod(img, 0444);
        error("cannot remove %s: %s", img, strerror(errno));
        goto out;
    }
    unlink(mp);
    unlink(ver);
    fsync_parent(mp);
    virt_pool_refresh(conn, st.pool);
    error_clear();
    ret = 0;
out:
    if (busy >= 0)
        close(busy);
    template_meta_release(&m);
    store_close(&st);
    return ret;
}
