/* clone.c: the clone pipeline (see clone.h).
 *
 * Plan: every check before any work, names/volumes/MACs claimed across
 * processes first so the checks cannot go stale. Run: disks under
 * temporary names (exclusive creates), one appliance launch for every
 * clone, renames that never replace, then the domains; each step journaled
 * before it happens, so a failure, Ctrl-C or kill -9 leaves nothing.
 *
 * Into an LVM (logical) pool each clone's disk is a new LV under its final
 * name (a volume claimed by path and journaled before lvcreate, so a
 * half-made one is removed like any step): a raw copy (--full), or a
 * snapshot of the template's LV, thin when LVM can, thick otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapters/accel.h"
#include "adapters/command.h"
#include "adapters/gfs.h"
#include "adapters/portfwd.h"
#include "adapters/lvm.h"
#include "adapters/qemuimg.h"
#include "adapters/store.h"
#include "adapters/virt.h"
#include "adapters/volume.h"
#include "base/cancel.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "base/fileio.h"
#include "base/proc.h"
#include "guest/customize.h"
#include "guest/layout.h"
#include "pipeline/clone.h"
#include "pipeline/forward.h"
#include "pipeline/qemuperm.h"
#include "pure/domxml.h"
#include "pure/fleetplan.h"
#include "pure/util.h"

struct planned {
    char *name;
    char *hostname;
    char mac[18];
    char uuid[37];     /* the domain's, bound into its metadata */
    char *disk;        /* final path */
    char *tmp_disk;    /* while being made */
    char *console_log;
    char *keys_dir;
    char *volume;      /* NAME.qcow2 */
    struct port_forward *forwards; /* with the clone's address */
    size_t nforwards;
};

struct clone_plan {
    virConnectPtr conn;
    char *uri;
    struct clone_request req; /* pointers into the caller's request */
    struct planned *c;
    size_t n;
    char *template;        /* resolved path */
    char *template_arg;
    char *os_id;           /* libosinfo id of a store template */
    char *layout_key;
    struct image_info tinfo;
    struct netspec net;
    char *pool;
    char *password;
    char *ssh_key;
    enum accel accel;
    uint64_t disk_size;    /* virtual size of each clone disk */
    int grow;
    /* Linked clones that grow: the template grown to this size, recorded
     * by an earlier run (layout_grown_load), or NULL. */
    char *grown_overlay;
    struct fs_ref grown_root;
    /* The pool; into a logical one, how each clone's LV is made. */
    struct pool_target target;
    enum { LV_NONE, LV_FULL, LV_THICK, LV_THIN } lv;
    char *template_lv;     /* LV_THICK, LV_THIN: the template's LV in the pool's VG */
    char *thinpool;        /* LV_THIN of a read-only non-thin template (external origin); NULL: the template's own */
    uint64_t cow_size;     /* LV_THICK: the snapshot's copy-on-write bytes */
    char *kind;            /* what the results say the clones are */
};

void clone_plan_free(struct clone_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->c[i].name);
        free(p->c[i].hostname);
        free(p->c[i].disk);
        free(p->c[i].tmp_disk);
        free(p->c[i].console_log);
        free(p->c[i].keys_dir);
        free(p->c[i].volume);
        free(p->c[i].forwards);
    }
    free(p->c);
    free(p->uri);
    free(p->template);
    free(p->template_arg);
    free(p->os_id);
    free(p->layout_key);
    free(p->grown_overlay);
    layout_fs_ref_release(&p->grown_root);
    free(p->pool);
    pool_target_release(&p->target);
    free(p->template_lv);
    free(p->thinpool);
    free(p->kind);
    if (p->password) {
        explicit_bzero(p->password, strlen(p->password));
        free(p->password);
    }
    free(p->ssh_key);
    image_info_release(&p->tinfo);
    netspec_release(&p->net);
    free(p);
}

void clone_results_free(struct clone_result *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++) {
        free(r[i].name);
        free(r[i].hostname);
        free(r[i].disk);
        free(r[i].kind);
        for (int t = 0; t < CLONE_KEY_TYPES; t++) {
            free(r[i].key_fingerprints[t]);
            free(r[i].key_lines[t]);
        }
    }
    free(r);
}

static char *read_ssh_key(const char *path)
{
    char *text = read_file_limited(path, READ_MAX_PUBKEY, 0, "ssh key", "give a public key file", NULL);

    if (!text)
        return NULL;
    if (strncmp(text, "ssh-", 4) != 0 && strncmp(text, "ecdsa-", 6) != 0 && strncmp(text, "sk-", 3) != 0) {
        free(text);
        error("'%s' is not an SSH public key: give the .pub file", path);
        return NULL;
    }
    return text;
}

static int mac_in(char **macs, const char *mac)
{
    for (size_t i = 0; macs && macs[i]; i++)
        if (strcasecmp(macs[i], mac) == 0)
            return 1;
    return 0;
}

/* The template: a store name, a pool volume or a path, which must be an
 * intact disk image whose backing chain (if any) is all there. */
static int resolve_template(struct clone_plan *p)
{
    const char *arg = p->req.template;
    int from_store = 0, r;

    if (!strchr(arg, '/') && access(arg, F_OK) != 0) {
        struct store st;
        struct template_meta tm;
        if (store_open(p->conn, p->req.template_pool, 0, &st) == 0 && store_load(&st, arg, &tm) == 0) {
            /* Verified against its recorded SHA-256 (cached while its size and mtime hold). */
            int v = store_verify(&st, &tm, 1);
            if (v == 0) {
                from_store = 1;
                p->template = store_image_path(&st, arg);
                p->os_id = steal_pointer(&tm.os_id);
            }
            template_meta_release(&tm);
            store_close(&st);
            if (v < 0)
                return -1;
        } else {
            store_close(&st);
            if (p->req.template_pool)
                return -1;
            error_clear();
        }
    }
    if (!p->template)
        p->template = virt_volume_path(p->conn, arg);
    error_clear();
    /* A block device under /dev (an LV, /dev/VG/LV) keeps its name: an LVM
     * pool knows it by that, not by its /dev/dm-N. */
    if (!p->template && strncmp(arg, "/dev/", 5) == 0 && access(arg, F_OK) == 0)
        p->template = xstrdup(arg);
    if (!p->template) {
        char real[PATH_MAX];
        if (!realpath(arg, real))
            return error("template '%s' not found: give a disk image path or POOL/VOLUME", arg);
        p->template = xstrdup(real);
    }
    p->layout_key = layout_key(p->template);
    /* A missing backing file, or qemu-img failing, is named by qemuimg_info: keep that. */
    if ((r = qemuimg_info(p->template, &p->tinfo)) < 0) {
        if (r == QEMUIMG_NOT_IMAGE)
            error_replace("template '%s' is not a disk image: give a qcow2 or raw disk image", arg);
        return -1;
    }
    /* A damaged image would clone "fine" and boot into nothing. A store
     * template's SHA-256 was just verified (or its verification is cached
     * with its size and mtime): it is the image template create checked. */
    if (!from_store && qemuimg_check(p->template, p->tinfo.format) < 0)
        return -1;
    return 0;
}

/* The files qemu will open for these clones, checked as its user before
 * anything is made: their disks (in the pool's directory) and, for linked
 * clones, the template and every backing file under it. Clones made here
 * for another host's pool are that host's business. */
static int check_qemu_access(struct clone_plan *p)
{
    CLEANUP_STRV char **paths = NULL;
    size_t n = 0;

    /* An LVM pool's clone disk is a block device libvirt labels for qemu
     * when the domain starts; qemu never opens its template (a snapshot's
     * origin is device-mapper's business). */
    if (p->req.stage_dir || p->target.logical)
        return 0;
    strv_append(&paths, xstrdup(p->c[0].disk));
    if (!p->req.full) {
        /* The chain the clone will have: its template's copy in sight of
         * the host when there is one (the same bytes, so the same chain). */
        const char *top = p->req.host_template ? p->req.host_template : p->template;
        struct image_info ti = { 0 };
        char *next = NULL;
        if (top == p->template)
            next = p->tinfo.backing_full ? xstrdup(p->tinfo.backing_full) : NULL;
        else if (qemuimg_info(top, &ti) == 0 && ti.backing_full)
            next = xstrdup(ti.backing_full);
        error_clear();
        image_info_release(&ti);
        strv_append(&paths, xstrdup(top));
        for (int depth = 0; next && next[0] == '/' && depth < 32; depth++) {
            struct image_info bi = { 0 };
            strv_append(&paths, next);
            next = NULL;
            if (qemuimg_info(paths[depth + 2], &bi) == 0 && bi.backing_full)
                next = xstrdup(bi.backing_full);
            error_clear(); /* resolve_template read the chain already */
            image_info_release(&bi);
        }
        free(next);
    }
    while (paths[n])
        n++;
    return qemuperm_check(p->conn, accel_domain_type(p->accel), (const char *const *)paths, n,
                          p->req.fix_permissions);
}

/* Clone I's name, host name and MAC, checked against the others. */
static int plan_clone(struct clone_plan *p, size_t i)
{
    struct planned *c = &p->c[i];
    const struct clone_spec *s = &p->req.clones[i];
    const char *problem;

    c->name = xstrdup(s->name);
    if ((problem = domain_name_problem(c->name)))
        return error("invalid clone name '%s': %s", c->name, problem);
    for (size_t j = 0; j < i; j++)
        if (strcmp(p->c[j].name, c->name) == 0)
            return error("clone name '%s' given twice", c->name);
    const char *h = s->hostname ? s->hostname : c->name;
    if (p->req.domain) {
        c->hostname = xasprintf("%s.%s", h, p->req.domain);
    } else {
        c->hostname = xstrdup(h);
    }
    if ((problem = hostname_problem(c->hostname)))
        return error("invalid host name '%s' (RFC 1123): %s", c->hostname, problem);
    if (s->mac) {
        if (parse_mac(s->mac, c->mac) < 0)
            return error("invalid MAC address '%s' for '%s': use six hex pairs like 52:54:00:12:34:56 (unicast)",
                         s->mac, c->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->c[j].mac, c->mac) == 0)
                return error("MAC %s given twice: each clone needs its own", c->mac);
    }
    if (s->nforwards) {
        char addr[16] = "";
        if (s->ipv4)
            ipv4_format(s->ipv4->address, addr);
        else if (s->owner && s->owner->ip)
            snprintf(addr, sizeof addr, "%s", s->owner->ip);
        if (!addr[0])
            return error("port forwards to '%s' need its address: give it a static one (--ip ADDRESS/PREFIX, or "
                         "ip: in a fleet plan)", c->name);
        c->forwards = xcalloc(s->nforwards, sizeof *c->forwards);
        c->nforwards = s->nforwards;
        for (size_t k = 0; k < s->nforwards; k++) {
            c->forwards[k] = s->forwards[k];
            memcpy(c->forwards[k].address, addr, sizeof addr);
        }
    }
    return 0;
}

/* Host names are one whatever the case (DNS, DHCP): two that differ only
 * in case are refused, as in a fleet plan (pure/fleetplan.h). */
static int check_hostnames(const struct clone_plan *p)
{
    CLEANUP_FREE const char **hosts = xcalloc(p->n ? p->n : 1, sizeof *hosts);
    size_t k, earlier = 0;

    for (size_t i = 0; i < p->n; i++)
        hosts[i] = p->c[i].hostname;
    if ((k = names_case_clash(hosts, p->n, &earlier)) == p->n)
        return 0;
    /* (Never the same: names are not given twice, --hostname is for one.) */
    return error("host names '%s' and '%s' differ only in case, which DNS and DHCP ignore: pick names that differ "
                 "in more than case", hosts[earlier], hosts[k]);
}

/* Whether domain NAME, which exists, is one vmstamp made (its metadata). */
static int made_by_vmstamp(virConnectPtr conn, const char *name)
{
    virDomainPtr dom = virDomainLookupByName(conn, name);
    CLEANUP_FREE char *xml = dom ? virt_domain_xml(dom) : NULL;
    struct clone_meta meta;
    int r = 0;

    if (xml && domxml_parse(xml, &meta) == 0) {
        r = meta.is_vmstamp;
        clone_meta_release(&meta);
    }
    if (dom)
        virDomainFree(dom);
    error_clear(); /* only for the advice: unknown is "not ours" */
    return r;
}

/* Claim name, volume and MAC of clone I, then check them: a claim held by
 * another run, or a name, volume or MAC already in use, is an error. */
static int claim_clone(struct clone_plan *p, size_t i, char **taken, struct run *run)
{
    struct planned *c = &p->c[i];

    if (run_claim_domain(run, p->conn, c->name) < 0)
        return -1;
    int exists = virt_domain_exists(p->conn, c->name);
    if (exists < 0)
        return -1;
    if (exists && made_by_vmstamp(p->conn, c->name))
        return error("domain '%s' already exists: pick another name or remove it (vmstamp rm %s)", c->name,
                     c->name);
    if (exists) /* vmstamp rm refuses it without --force */
        return error("domain '%s' already exists and was not made by vmstamp: pick another name, or undefine it "
                     "(vmstamp rm --force %s; its disks are kept)", c->name, c->name);
    if (p->req.stage_dir) {
        /* Another host's pool: claimed under its URI, looked up there. */
        CLEANUP_FREE char *what = xasprintf("%s:%s", p->uri, c->disk);
        if (run_claim_path(run, "volume", what) < 0)
            return -1;
        int there = volume_exists(p->conn, p->pool, c->volume, NULL);
        if (there < 0)
            return -1;
        if (there)
            return error("volume '%s' already exists in pool '%s' on %s: remove it or pick another name",
                         c->volume, p->pool, p->uri);
    } else if (p->target.logical) {
        if (run_claim_path(run, "volume", c->disk) < 0)
            return -1;
        int there = volume_exists(p->conn, p->pool, c->volume, NULL);
        if (there < 0)
            return -1;
        if (there)
            return error("volume '%s' already exists in pool '%s': remove it or pick another name", c->volume,
                         p->pool);
    } else {
        if (run_claim_path(run, "volume", c->disk) < 0)
            return -1;
        if (access(c->disk, F_OK) == 0)
            return error("volume '%s.qcow2' already exists in pool '%s': remove it or pick another name",
                         c->name, p->pool);
    }
    if (c->mac[0]) {
        if (run_claim_mac(run, p->conn, c->mac) < 0)
            return -1;
        if (mac_in(taken, c->mac))
            return error("MAC %s is already used by another domain: pick another --mac/--ip", c->mac);
        return 0;
    }
    for (int tries = 0; tries < 100; tries++) {
        int dup = 0;
        pid_t holder;
        if (random_mac(c->mac) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            dup |= strcmp(p->c[j].mac, c->mac) == 0;
        if (dup || mac_in(taken, c->mac))
            continue;
        CLEANUP_FREE char *uri = virConnectGetURI(p->conn);
        if (claim(run->claims, uri ? uri : "?", "mac", c->mac, &holder) == 0)
            return 0;
        if (holder == 0)
            return -1;
    }
    return error("cannot find an unused MAC address for '%s'", c->name);
}

/* Into an LVM (logical) pool: the clone names as LV names, and how each
 * clone's LV is made (see clone.h). */
static int plan_lvm(struct clone_plan *p)
{
    const char *vg = p->target.vg, *problem;
    struct lv *lvs = NULL;
    size_t nlv = 0, dl = strlen(p->target.path);
    const char *name = NULL;
    char a[32], b[32];
    int ret = -1;

    if (p->req.stage_dir)
        return error("storage pool '%s' on %s is an LVM (logical) pool: vmstamp puts clones on another host in "
                     "dir, fs or netfs pools only; pick one of those", p->pool, p->uri);
    for (size_t i = 0; i < p->n; i++)
        if ((problem = lvm_name_problem(p->c[i].name)))
            return error("clone name '%s' cannot name a logical volume: it %s; pick another name", p->c[i].name,
                         problem);
    if (virt_pool_refresh(p->conn, p->pool) < 0 || lvm_list(vg, &lvs, &nlv) < 0)
        return -1;
    if (p->req.full) {
        p->lv = LV_FULL;
        p->kind = xstrdup("full, LV");
        ret = 0;
        goto out;
    }
    /* Linked: an LVM snapshot of the template, which must be an LV here. */
    if (strncmp(p->template, p->target.path, dl) == 0 && p->template[dl] == '/' && !strchr(p->template + dl + 1, '/'))
        name = p->template + dl + 1;
    const struct lv *t = name ? lvm_find(lvs, nlv, name) : NULL;
    if (!t) {
        error("template '%s' is not a logical volume of volume group '%s' (pool '%s'): a linked clone there is an "
              "LVM snapshot of the template's LV; give --full to copy the template into a new LV",
              p->req.template, vg, p->pool);
        goto out;
    }
    if (strcmp(p->tinfo.format, "raw") != 0) {
        error("template '%s' holds a %s image, and an LVM snapshot of it would too: give --full to copy it into a "
              "raw LV", p->req.template, p->tinfo.format);
        goto out;
    }
    p->template_lv = xstrdup(t->name);
    const struct lv *tp = lvm_thin_pool(lvs, nlv);
    if (t->attr[0] == 'V') {
        p->lv = LV_THIN;
        p->kind = xstrdup("linked, thin LVM snapshot");
    } else if (tp && t->attr[1] == 'r') {
        p->lv = LV_THIN;
        p->thinpool = xstrdup(tp->name);
        p->kind = xasprintf("linked, thin LVM snapshot in %s", tp->name);
    } else {
        p->lv = LV_THICK;
        if (p->grow) {
            error("--size %s is bigger than template '%s' (%s), and a thick LVM snapshot cannot grow past its "
                  "origin: give --full%s", human_size(p->req.size, a, sizeof a), p->req.template,
                  human_size(p->tinfo.virtual_size, b, sizeof b),
                  tp ? ", or make the template read-only (lvchange -pr) for thin snapshots"
                     : ", or add a thin pool to the volume group for thin snapshots");
            goto out;
        }
        p->cow_size = p->req.snapshot_size ? p->req.snapshot_size : t->size;
        p->kind = xasprintf("linked, thick LVM snapshot, COW %s", human_size(p->cow_size, a, sizeof a));
    }
    ret = 0;
out:
    if (ret == 0 && p->req.snapshot_size && p->lv != LV_THICK)
        ret = error("--snapshot-size is for thick LVM snapshots, and these clones are %s: drop it", p->kind);
    lv_list_free(lvs, nlv);
    return ret;
}

/* After the claims: an LV of a clone's name that libvirt does not list
 * (inactive, or a thin pool's own) is as much in the way. */
static int check_lvs_free(struct clone_plan *p)
{
    struct lv *lvs = NULL;
    size_t nlv = 0;
    int ret = 0;

    if (lvm_list(p->target.vg, &lvs, &nlv) < 0)
        return -1;
    for (size_t i = 0; i < p->n && ret == 0; i++)
        if (lvm_find(lvs, nlv, p->c[i].name))
            ret = error("logical volume '%s' already exists in volume group '%s': remove it or pick another name",
                        p->c[i].name, p->target.vg);
    lv_list_free(lvs, nlv);
    return ret;
}

struct clone_plan *clone_plan(virConnectPtr conn, const struct clone_request *req, struct run *run)
{
    struct clone_plan *p = xcalloc(1, sizeof *p);
    CLEANUP_STRV char **taken = NULL;
    p->conn = conn;
    p->req = *req;
    p->n = req->n;
    p->pool = xstrdup(req->pool ? req->pool : CLONE_DEFAULT_POOL);
    p->uri = virConnectGetURI(conn);
    if (!p->uri)
        p->uri = xstrdup("qemu:///system");
    if (!req->memory_kib)
        p->req.memory_kib = CLONE_DEFAULT_MEMORY_KIB;
    if (!req->vcpus)
        p->req.vcpus = CLONE_DEFAULT_VCPUS;
    if (req->n == 0) {
        error("no clones to make");
        goto fail;
    }
    if (req->stage_dir && !req->full && !req->host_template) {
        error("linked clones for %s need the template's path on that host", p->uri);
        goto fail;
    }
    if (req->n > CLONE_MAX) {
        error("too many clones (%zu): at most %d per run", req->n, CLONE_MAX);
        goto fail;
    }
    if (netspec_parse(req->network ? req->network : CLONE_DEFAULT_NETWORK, &p->net) < 0)
        goto fail;
    p->c = xcalloc(req->n, sizeof *p->c);

    /* What needs neither libvirt nor the template. */
    for (size_t i = 0; i < p->n; i++)
        if (plan_clone(p, i) < 0)
            goto fail;
    if (check_hostnames(p) < 0)
        goto fail;
    if (req->password_file && !(p->password = read_password_file(req->password_file)))
        goto fail;
    if (req->ssh_key_file && !(p->ssh_key = read_ssh_key(req->ssh_key_file)))
        goto fail;

    if (resolve_template(p) < 0)
        goto fail;
    p->grow = req->size > p->tinfo.virtual_size;
    p->disk_size = p->grow ? req->size : p->tinfo.virtual_size;
    if (req->size && req->size < p->tinfo.virtual_size) {
        char a[32], b[32];
        error("--size %s is smaller than template '%s' (%s): clones can only grow",
              human_size(req->size, a, sizeof a), req->template,
              human_size(p->tinfo.virtual_size, b, sizeof b));
        goto fail;
    }
    {
        CLEANUP_FREE char *why = NULL;
        p->accel = accel_decide(&why);
        debug("accelerator: %s (%s)", accel_name(p->accel), why);
    }
    {
        unsigned max = 0;
        if (virt_max_vcpus(conn, accel_domain_type(p->accel), &max) == 0 && max && p->req.vcpus > max) {
            error("--vcpus %u is more than this host's %s guests can have (%u): give at most %u", p->req.vcpus,
                  accel_domain_type(p->accel), max, max);
            goto fail;
        }
        error_clear();
    }
    if (virt_pool_target(conn, p->pool, &p->target) < 0 || virt_network_check(conn, &p->net) < 0)
        goto fail;
    const char *pool_dir = p->target.path;
    if (p->target.logical && plan_lvm(p) < 0)
        goto fail;
    if (!p->target.logical && req->snapshot_size) {
        error("--snapshot-size is for linked clones into an LVM (logical) pool, and pool '%s' is not one: drop it",
              p->pool);
        goto fail;
    }
    if (p->grow && !req->full && !p->target.logical && p->layout_key &&
        layout_grown_load(p->layout_key, p->disk_size, &p->grown_overlay, &p->grown_root) == 0)
        debug("clones start from the recorded template grown to %llu bytes (%s)",
              (unsigned long long)p->disk_size, p->grown_overlay);
    for (size_t i = 0; i < p->n; i++) {
        struct planned *c = &p->c[i];
        if (p->target.logical) {
            /* An LV under its final name: claimed, journaled, then made. */
            c->volume = xstrdup(c->name);
            c->disk = xasprintf("%s/%s", pool_dir, c->volume);
            c->tmp_disk = xstrdup(c->disk);
        } else {
            c->volume = xasprintf("%s.qcow2", c->name);
            c->disk = xasprintf("%s/%s", pool_dir, c->volume);
            if (req->stage_dir)
                c->tmp_disk = xasprintf("%s/%s", req->stage_dir, c->volume);
            else
                c->tmp_disk = xasprintf("%s/.%s.qcow2.vmstamp-tmp", pool_dir, c->name);
        }
        c->console_log = virt_console_log(c->name);
    }

    /* Names, volumes and MACs: claimed across processes, then checked. */
    taken = virt_all_macs(conn);
    if (!taken)
        goto fail;
    for (size_t i = 0; i < p->n; i++)
        if (claim_clone(p, i, taken, run) < 0)
            goto fail;
    {
        struct forward_set *sets = xcalloc(p->n, sizeof *sets);
        for (size_t i = 0; i < p->n; i++)
            sets[i] = (struct forward_set){ .domain = p->c[i].name, .f = p->c[i].forwards, .n = p->c[i].nforwards,
                                            .network = p->net.kind == NET_NETWORK ? p->net.source : NULL };
        int r = forward_plan_check(conn, sets, p->n);
        free(sets);
        if (r < 0)
            goto fail;
    }
    if (p->target.logical && check_lvs_free(p) < 0)
        goto fail;
    /* Last, once everything else holds: --fix-permissions changes the host. */
    if (check_qemu_access(p) < 0)
        goto fail;
    if (!req->stage_dir && !p->target.logical)
        qemuperm_selinux_warning(conn, p->pool, pool_dir);
    debug("clone plan ready: %zu clone(s) of %s", p->n, p->template);
    return p;

fail:
    clone_plan_free(p);
    return NULL;
}

/* Every clone of every plan, in order. */
struct slot {
    struct clone_plan *p;
    struct planned *c;
    size_t plan, index;
};

/* SSH host keys for every clone, made in a child while the appliances
 * boot and while the clones are customized: each clone's directory gets
 * ".ready" once its keys are whole, and a clone waits for that only when
 * its turn comes. The child holds the only write end of a pipe, so its
 * end (exit or kill) is seen as end-of-file. It dies with us (kill -9
 * included). */
struct keygen {
    pid_t pid;
    int fd; /* read end */
};

static int keygen_start(const struct slot *slots, size_t n, struct keygen *kg)
{
    pid_t parent = getpid();
    int fds[2];

    kg->pid = -1;
    kg->fd = -1;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return error("cannot create a pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return error("cannot fork: %s", strerror(errno));
    }
    if (pid != 0) {
        close(fds[1]);
        kg->pid = pid;
        kg->fd = fds[0];
        return 0;
    }
    close(fds[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    for (size_t i = 0; i < n; i++) {
        for (int t = 0; t < SSH_KEY_TYPES; t++) {
            struct command *cmd = command_new("ssh-keygen");
            command_add(cmd, "-q");
            command_add(cmd, "-t");
            command_add(cmd, ssh_key_types[t]);
            if (strcmp(ssh_key_types[t], "rsa") == 0) {
                command_add(cmd, "-b");
                command_add(cmd, "3072");
            }
            command_add(cmd, "-N");
            command_add(cmd, "");
            command_add(cmd, "-C");
            command_addf(cmd, "root@%s", slots[i].c->hostname);
            command_add(cmd, "-f");
            command_addf(cmd, "%s/ssh_host_%s_key", slots[i].c->keys_dir, ssh_key_types[t]);
            if (command_run(cmd, NULL) < 0) {
                fprintf(stderr, "vmstamp: error: %s\n", error_message());
                _exit(1);
            }
            command_free(cmd);
        }
        char ready[PATH_MAX];
        snprintf(ready, sizeof ready, "%s/.ready", slots[i].c->keys_dir);
        int fd = open(ready, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            _exit(1);
        close(fd);
    }
    _exit(0);
}

static int keygen_wait(struct keygen *kg)
{
    int status;

    if (kg->fd >= 0)
        close(kg->fd);
    kg->fd = -1;
    if (kg->pid <= 0)
        return 0;
    while (waitpid(kg->pid, &status, 0) < 0)
        if (errno != EINTR)
            return error("cannot wait for ssh-keygen: %s", strerror(errno));
    kg->pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return error("cannot generate SSH host keys with ssh-keygen (is openssh-client installed?)");
    return 0;
}

static void keygen_stop(struct keygen *kg)
{
    if (kg->pid > 0) {
        kill(kg->pid, SIGKILL);
        waitpid(kg->pid, NULL, 0);
    }
    kg->pid = -1;
    if (kg->fd >= 0)
        close(kg->fd);
    kg->fd = -1;
}

/* customize_opts.before_clone: the clone's keys are there (a batch thread
 * may call this while others do). */
static int keys_ready(void *ctx, const struct clone_job *job)
{
    const struct keygen *kg = ctx;
    char ready[PATH_MAX];

    snprintf(ready, sizeof ready, "%s/.ready", job->keys_dir);
    for (;;) {
        if (access(ready, F_OK) == 0)
            return 0;
        if (cancel_flag() && *cancel_flag())
            return error("interrupted");
        struct pollfd pf = { .fd = kg->fd, .events = POLLIN };
        int r = poll(&pf, 1, 20);
        if (r < 0 && errno != EINTR)
            return error("cannot wait for ssh-keygen: %s", strerror(errno));
        if (r > 0 && access(ready, F_OK) != 0)
            return error("cannot generate SSH host keys with ssh-keygen (is openssh-client installed?)");
    }
}

/* The fingerprint and known_hosts key of each host key that went in. */
static void collect_keys(const struct planned *c, const struct clone_job *job, struct clone_result *r)
{
    for (int t = 0; t < SSH_KEY_TYPES && t < CLONE_KEY_TYPES; t++) {
        if (!job->keys_installed[t])
            continue;
        char pub[PATH_MAX];
        snprintf(pub, sizeof pub, "%s/ssh_host_%s_key.pub", c->keys_dir, ssh_key_types[t]);
        struct command *cmd = command_new("ssh-keygen");
        char *out = NULL;
        command_add(cmd, "-l");
        command_add(cmd, "-f");
        command_add(cmd, pub);
        if (command_run(cmd, &out) == 0) {
            out[strcspn(out, "\n")] = '\0';
            r->key_fingerprints[t] = steal_pointer(&out);
        }
        free(out);
        error_clear();
        command_free(cmd);
        CLEANUP_FREE char *key = read_file(pub, NULL);
        if (key) {
            char type[64], b64[8192];
            if (sscanf(key, "%63s %8191s", type, b64) == 2)
                r->key_lines[t] = xasprintf("%s %s", type, b64);
        }
        error_clear();
    }
}

/* Make the LV of clone C in a logical pool under its final name, journaled
 * first (undone by deleting the volume through libvirt). */
static int make_lv(struct clone_plan *p, struct planned *c, struct run *run)
{
    int step = journal_volume(run->journal, p->uri, p->pool, c->volume);
    int r;

    if (step < 0)
        return -1;
    switch (p->lv) {
    case LV_FULL:
        r = volume_create_lv(p->conn, p->pool, c->volume, p->disk_size, NULL, NULL);
        break;
    case LV_THICK:
        r = volume_create_lv(p->conn, p->pool, c->volume, p->cow_size, p->template, NULL);
        break;
    default:
        r = lvm_thin_snapshot(p->target.vg, p->template_lv, p->thinpool, c->volume);
        if (r < 0 && strstr(error_message(), "already exists"))
            r = VOLUME_EXISTED;
        break;
    }
    if (r == VOLUME_EXISTED)
        journal_drop(run->journal, step); /* not ours: leave it */
    if (r < 0)
        return -1;
    if (p->lv == LV_FULL)
        return qemuimg_write_raw(p->template, p->tinfo.format, c->disk);
    if (p->lv == LV_THIN && p->grow)
        return lvm_extend(p->target.vg, c->volume, p->disk_size);
    return 0;
}

/* Make disk I under its temporary name: claimed by an exclusive create,
 * journaled first. */
static int make_disk(struct clone_plan *p, struct planned *c, struct run *run)
{
    if (p->target.logical)
        return make_lv(p, c, run);
    int step = journal_file(run->journal, c->tmp_disk);
    int fd, r;

    if (step < 0)
        return -1;
    fd = open(c->tmp_disk, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        journal_drop(run->journal, step); /* not ours: leave it */
        if (e == EEXIST)
            return error("'%s' already exists (another program's?): remove it and try again", c->tmp_disk);
        return error("cannot create '%s': %s", c->tmp_disk, strerror(e));
    }
    close(fd);
    if (p->req.full) {
        r = qemuimg_convert(p->template, p->tinfo.format, c->tmp_disk);
        if (r == 0 && p->grow)
            r = qemuimg_resize(c->tmp_disk, "qcow2", p->req.size);
    } else if (p->grown_overlay) {
        /* The recorded grown template: an overlay of the same template. */
        r = copy_file(p->grown_overlay, c->tmp_disk, 0);
    } else {
        r = qemuimg_create_overlay(c->tmp_disk, p->template, p->tinfo.format, p->grow ? p->req.size : 0);
    }
    if (r < 0 && qemuimg_out_of_space()) {
        CLEANUP_FREE char *dir = xstrdup(c->tmp_disk);
        *strrchr(dir, '/') = '\0'; /* tmp_disk is an absolute path */
        return error_replace("clone '%s' does not fit in %s (no space left on device): free some space there or "
                             "pick another pool", c->name, dir);
    }
    if (r < 0)
        return -1;
    /* The disk will hold private host keys and the password hash: owner
     * only (libvirt hands it to qemu when the domain starts). */
    if (chmod(c->tmp_disk, 0600) < 0)
        return error("cannot chmod '%s': %s", c->tmp_disk, strerror(errno));
    return 0;
}

/* Clones per appliance before a second one in parallel pays for its boot. */
#define BATCH_MIN 8

/* One appliance's share of the clones. */
struct batch {
    struct clone_plan *p;
    struct run *run;
    struct clone_job *jobs; /* its own copies */
    size_t *slot;           /* jobs[i] is clone slot[i] of the run */
    size_t n;
    struct customize_opts copts;
    int ret;
    char *err;              /* its error (error state is per thread) */
};

static int customize_batch(struct batch *b)
{
    struct gfs_disk *disks = xcalloc(b->n, sizeof *disks);
    struct guest_os os = { 0 };
    int r = -1;

    for (size_t i = 0; i < b->n; i++)
        disks[i] = (struct gfs_disk){ .path = b->jobs[i].disk_path,
                                      .format = b->jobs[i].disk_format ? b->jobs[i].disk_format : "qcow2" };
    struct gfs_session *gs = gfs_launch_disks(disks, b->n, b->p->accel);
    free(disks);
    if (gs) {
        /* A kill -9 from here on leaves the appliance to recovery. */
        pid_t ap = gfs_appliance_pid(gs);
        if (ap > 0 && journal_process(b->run->journal, ap) < 0) {
            gfs_close(gs);
            gs = NULL;
        }
    }
    if (gs && !*cancel_flag())
        r = gfs_customize(gs, b->jobs, b->n, &b->copts, &os);
    else if (gs)
        error("interrupted");
    gfs_close(gs);
    guest_os_release(&os);
    return r;
}

static void *batch_thread(void *arg)
{
    struct batch *b = arg;

    b->ret = customize_batch(b);
    if (b->ret < 0)
        b->err = xstrdup(error_message() ? error_message() : "unknown error");
    error_clear();
    return NULL;
}

/* How many appliances: PARALLEL (at most one per clone), else one per
 * core but one (the SSH key generation runs beside them, ~0.5 s of CPU
 * per clone for RSA 3072) when each gets BATCH_MIN clones or more; and
 * one per CLONE_MAX clones at least. */
static size_t batch_count(size_t n, unsigned parallel)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t need = (n + CLONE_MAX - 1) / CLONE_MAX, want;

    if (parallel) {
        want = parallel < n ? parallel : n;
    } else {
        want = n / BATCH_MIN;
        if (cpus < 2)
            cpus = 2;
        if (want > (size_t)cpus - 1)
            want = (size_t)cpus - 1;
    }
    return need > want ? need : want ? want : 1;
}

/* Customize every clone: batches of clones (every B-th one) in B
 * appliances at once, each clone as soon as its host keys are made. */
static int customize_all(struct clone_plan *p, struct run *run, struct clone_job *jobs, size_t n,
                         struct keygen *kg)
{
    size_t nb = batch_count(n, p->req.parallel);
    struct batch *b = xcalloc(nb, sizeof *b);
    pthread_t *tid = xcalloc(nb, sizeof *tid);
    int *started = xcalloc(nb, sizeof *started);
    struct customize_progress prog;
    int ret = 0;

    customize_progress_init(&prog, n);
    for (size_t k = 0; k < nb; k++) {
        b[k] = (struct batch){ .p = p, .run = run,
                               .jobs = xcalloc(n / nb + 1, sizeof *b[k].jobs),
                               .slot = xcalloc(n / nb + 1, sizeof *b[k].slot) };
        b[k].copts = (struct customize_opts){
            .root_password = p->password, .ssh_pubkey = p->ssh_key, .template_name = p->req.template,
            .layout_key = p->layout_key, .cancel = cancel_flag(), .before_clone = keys_ready, .ctx = kg,
            .progress = &prog,
        };
    }
    for (size_t j = 0; j < n; j++) {
        struct batch *t = &b[j % nb];
        t->slot[t->n] = j;
        t->jobs[t->n++] = jobs[j];
    }
    if (nb > 1)
        debug("%zu clones in %zu appliances at once", n, nb);
    if (nb == 1) {
        batch_thread(&b[0]);
    } else {
        for (size_t k = 0; k < nb; k++) {
            int e = pthread_create(&tid[k], NULL, batch_thread, &b[k]);
            if (e) {
                b[k].ret = -1;
                b[k].err = xasprintf("cannot start a thread: %s", strerror(e));
                continue;
            }
            started[k] = 1;
        }
        for (size_t k = 0; k < nb; k++)
            if (started[k])
                pthread_join(tid[k], NULL);
    }
    customize_progress_end(&prog);
    for (size_t k = 0; k < nb; k++) {
        if (b[k].ret < 0 && ret == 0)
            ret = error("%s", b[k].err);
        for (size_t i = 0; i < b[k].n; i++) {
            struct clone_job *to = &jobs[b[k].slot[i]], *from = &b[k].jobs[i];
            memcpy(to->machine_id, from->machine_id, sizeof to->machine_id);
            to->rootfs_bytes = from->rootfs_bytes;
            memcpy(to->keys_installed, from->keys_installed, sizeof to->keys_installed);
        }
        free(b[k].jobs);
        free(b[k].slot);
        free(b[k].err);
    }
    if (ret == 0 && keygen_wait(kg) < 0)
        ret = -1;
    free(started);
    free(tid);
    free(b);
    return ret;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A staged disk into its pool on another host: pointed at the template's
 * copy there (linked), then uploaded; the local file goes. */
static int upload_disk(struct clone_plan *p, struct planned *c, struct run *run)
{
    CLEANUP_FREE char *path = NULL;

    if (!p->req.full && qemuimg_rebase_unsafe(c->tmp_disk, p->req.host_template, p->tinfo.format) < 0)
        return -1;
    int step = journal_volume(run->journal, p->uri, p->pool, c->volume);
    if (step < 0)
        return -1;
    int up = volume_upload(p->conn, p->pool, c->volume, c->tmp_disk, "qcow2", p->disk_size, 0600, &path);
    if (up < 0) {
        /* Not made by us if it was already there: leave it. */
        if (up == VOLUME_EXISTED)
            journal_drop(run->journal, step);
        return -1;
    }
    if (path && strcmp(path, c->disk) != 0) {
        free(c->disk);
        c->disk = steal_pointer(&path);
    }
    if (unlink(c->tmp_disk) < 0 && errno != ENOENT)
        return error("cannot remove '%s': %s", c->tmp_disk, strerror(errno));
    return 0;
}

size_t clone_plan_count(const struct clone_plan *p)
{
    return p->n;
}

int clone_run(struct clone_plan *p, struct run *run, struct clone_result **results)
{
    return clone_run_many(&p, 1, run, results, NULL);
}

/* A step for plan K failed: with HOST_ERRORS, every plan for its host is
 * given up (the error kept for it) and the others go on; else all fail. */
static int host_failed(struct clone_plan **plans, size_t nplans, size_t k, char **host_errors)
{
    if (!host_errors)
        return -1;
    for (size_t m = 0; m < nplans; m++)
        if (!host_errors[m] && strcmp(plans[m]->uri, plans[k]->uri) == 0)
            host_errors[m] = xstrdup(error_message() ? error_message() : "failed");
    error_clear();
    return 0;
}

/* The template as the run found it. Linked clones are overlays of it and
 * full ones copies: if it is removed, replaced or written to while they are
 * made, they would hold a mix of two images. A shared flock on it keeps
 * `vmstamp template rm` (which takes it exclusively) off meanwhile; a
 * change by anything else is found by its identity, size and mtime. */
struct template_seen {
    int fd;
    struct stat st;
};

static int template_hold(const char *path, struct template_seen *t)
{
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0)
        return error("cannot open template '%s': %s", path, strerror(errno));
    if (fstat(t->fd, &t->st) < 0)
        return error("cannot stat template '%s': %s", path, strerror(errno));
    if (flock(t->fd, LOCK_SH | LOCK_NB) < 0)
        return error("template '%s' is being removed by another vmstamp run: wait for it, or pick another", path);
    return 0;
}

/* 0 if PATH is still the file T saw; else an error saying what happened. */
static int template_same(const char *path, const struct template_seen *t)
{
    struct stat st;

    if (t->fd < 0 || !S_ISREG(t->st.st_mode)) /* a block device (an LV): its node's times say nothing */
        return 0;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            return error("template '%s' was removed while the clones were made: nothing was kept; put it back "
                         "and run again", path);
        return error("cannot stat template '%s': %s", path, strerror(errno));
    }
    if (st.st_dev != t->st.st_dev || st.st_ino != t->st.st_ino)
        return error("template '%s' was replaced by another file while the clones were made: nothing was kept; "
                     "run again", path);
    if (st.st_size != t->st.st_size || st.st_mtim.tv_sec != t->st.st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != t->st.st_mtim.tv_nsec)
        return error("template '%s' was written to while the clones were made: nothing was kept; run again once "
                     "nothing writes to it", path);
    return 0;
}

int clone_run_many(struct clone_plan **plans, size_t nplans, struct run *run, struct clone_result **results,
                   char **host_errors)
{
    struct template_seen tseen = { .fd = -1 };
    size_t n = 0;
    struct slot *slots = NULL;
    struct clone_job *jobs = NULL;
    virDomainPtr *doms = NULL;
    char *forwarded = NULL; /* forwarded[j]: clone j's forwards were added */
    struct clone_result **res = xcalloc(nplans, sizeof *res);
    CLEANUP_FREE char *keys_root = NULL;
    struct keygen keygen = { .pid = -1, .fd = -1 };
    int ret = -1;
    char created[32];
    const char *what = "clones rolled back";

    for (size_t k = 0; k < nplans; k++) {
        results[k] = NULL;
        if (host_errors)
            host_errors[k] = NULL;
        n += plans[k]->n;
    }
    for (size_t k = 1; k < nplans; k++) {
        if (strcmp(plans[k]->template, plans[0]->template) != 0 || !same(plans[k]->password, plans[0]->password)
            || !same(plans[k]->ssh_key, plans[0]->ssh_key)) {
            error("clones made in one launch need one template, root password and SSH key");
            goto out;
        }
    }
    slots = xcalloc(n ? n : 1, sizeof *slots);
    jobs = xcalloc(n ? n : 1, sizeof *jobs);
    doms = xcalloc(n ? n : 1, sizeof *doms);
    forwarded = xcalloc(n ? n : 1, sizeof *forwarded);
    for (size_t k = 0, j = 0; k < nplans; k++)
        for (size_t i = 0; i < plans[k]->n; i++, j++)
            slots[j] = (struct slot){ .p = plans[k], .c = &plans[k]->c[i], .plan = k, .index = i };
    if (cancel_check(what) < 0)
        goto out;
    if (n && template_hold(plans[0]->template, &tseen) < 0)
        goto out;

    /* Private host keys: a directory named after this run, so recovery
     * finds it even if we die before the journal names it. */
    if (mkdir("/run/vmstamp", 0755) < 0 && errno != EEXIST) {
        error("cannot create /run/vmstamp: %s", strerror(errno));
        goto out;
    }
    keys_root = xasprintf("/run/vmstamp/keys.%s", proc_run_id());
    if (journal_tree(run->journal, keys_root) < 0)
        goto out;
    if (mkdir(keys_root, 0700) < 0) {
        error("cannot create a private directory for SSH host keys (%s): %s", keys_root, strerror(errno));
        goto out;
    }
    for (size_t j = 0; j < n; j++) {
        struct planned *c = slots[j].c;
        free(c->keys_dir);
        c->keys_dir = xasprintf("%s/%zu", keys_root, j);
        if (mkdir(c->keys_dir, 0700) < 0) {
            error("cannot create '%s': %s", c->keys_dir, strerror(errno));
            goto out;
        }
    }
    if (keygen_start(slots, n, &keygen) < 0)
        goto out;

    for (size_t k = 0; k < nplans; k++)
        if (!plans[k]->req.stage_dir && journal_pool(run->journal, plans[k]->uri, plans[k]->pool) < 0)
            goto out;
    for (size_t j = 0; j < n; j++) {
        struct clone_plan *p = slots[j].p;
        struct planned *c = slots[j].c;
        if (cancel_check(what) < 0 || make_disk(p, c, run) < 0)
            goto out;
        jobs[j] = (struct clone_job){ .name = c->name, .disk_path = c->tmp_disk, .hostname = c->hostname,
                                      .mac = c->mac, .grow = p->grow, .keys_dir = c->keys_dir,
                                      .disk_size = p->disk_size, .linked = !p->req.full && !p->target.logical,
                                      .disk_format = p->target.logical ? "raw" : NULL,
                                      .grown_root = p->grown_overlay ? &p->grown_root : NULL,
                                      .ipv4 = p->req.clones[slots[j].index].ipv4 };
    }
    /* Full clones are copies by now; linked ones stay overlays of it. */
    if (template_same(plans[0]->template, &tseen) < 0)
        goto out;
    if (customize_all(plans[0], run, jobs, n, &keygen) < 0 || cancel_check(what) < 0)
        goto out;
    if (!plans[0]->req.full && template_same(plans[0]->template, &tseen) < 0)
        goto out;

    /* Into place: a rename that never replaces (a name claimed by us
     * cannot be another run's, but a file put there by hand is kept), or
     * an upload into another host's pool. */
    for (size_t j = 0; j < n; j++) {
        struct clone_plan *p = slots[j].p;
        struct planned *c = slots[j].c;
        if (cancel_check(what) < 0)
            goto out;
        if (host_errors && host_errors[slots[j].plan])
            continue;
        if (p->req.stage_dir) {
            if (upload_disk(p, c, run) < 0 && host_failed(plans, nplans, slots[j].plan, host_errors) < 0)
                goto out;
            continue;
        }
        if (p->target.logical)
            continue; /* made under its name */
        /* Made against the template here, backed there by its copy in sight of that host. */
        if (p->req.host_template && !p->req.full &&
            qemuimg_rebase_unsafe(c->tmp_disk, p->req.host_template, p->tinfo.format) < 0)
            goto out;
        int step = journal_file(run->journal, c->disk);
        if (step < 0)
            goto out;
        int r = rename_noreplace(c->tmp_disk, c->disk);
        if (r != 0) {
            journal_drop(run->journal, step);
            if (r > 0)
                error("volume '%s.qcow2' appeared in pool '%s' while the clone was made: kept it; remove it or "
                      "pick another name", c->name, p->pool);
            goto out;
        }
    }
    for (size_t k = 0; k < nplans; k++)
        if (!(host_errors && host_errors[k]) && virt_pool_refresh(plans[k]->conn, plans[k]->pool) < 0 &&
            host_failed(plans, nplans, k, host_errors) < 0)
            goto out;

    {
        time_t now = time(NULL);
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    }
    /* Forwards: vmstamp's hook in place before the first domain is defined. */
    for (size_t j = 0; j < n; j++) {
        if (slots[j].c->nforwards && !(host_errors && host_errors[slots[j].plan])) {
            if (forward_prepare() < 0)
                goto out;
            break;
        }
    }
    for (size_t j = 0; j < n; j++) {
        struct clone_plan *p = slots[j].p;
        struct planned *c = slots[j].c;
        if (host_errors && host_errors[slots[j].plan])
            continue;
        if (random_uuid(c->uuid) < 0)
            goto out;
        struct domain_spec spec = {
            .name = c->name, .uuid = c->uuid, .description = p->req.description, .virt_type = accel_domain_type(p->accel),
            .memory_kib = p->req.memory_kib,
            .vcpus = p->req.vcpus, .disk_path = c->disk, .disk_format = p->target.logical ? "raw" : "qcow2",
            .disk_block = p->target.logical, .net = &p->net,
            .mac = c->mac, .console_log = c->console_log,
            .template_path = p->req.host_template ? p->req.host_template : p->template,
            .hostname = c->hostname, .created = created, .os_id = p->os_id,
            .fleet = p->req.clones[slots[j].index].owner,
            .forwards = c->forwards, .nforwards = c->nforwards,
        };
        CLEANUP_FREE char *xml = domxml_build(&spec);
        if (!xml || cancel_check(what) < 0)
            goto out;
        debug("domain XML of %s:\n%s", c->name, xml);
        /* The console log is the host's file: ours to remove only here. */
        if (!p->req.stage_dir && journal_file(run->journal, c->console_log) < 0)
            goto out;
        /* Root's grant of the low and forced ports its metadata records (the hook trusts no metadata). */
        if (forward_flagged(c->forwards, c->nforwards)) {
            CLEANUP_FREE char *grant = portfwd_grant_path(c->uuid);
            if (!grant || journal_file(run->journal, grant) < 0 || portfwd_grant(c->uuid, c->forwards, c->nforwards) < 0)
                goto out;
        }
        int step = journal_domain(run->journal, p->uri, c->name);
        if (step < 0)
            goto out;
        doms[j] = virDomainDefineXML(p->conn, xml);
        if (!doms[j]) {
            journal_drop(run->journal, step);
            error("cannot define domain '%s' on %s: %s", c->name, p->uri, virt_error_on(p->conn));
            if (host_failed(plans, nplans, slots[j].plan, host_errors) < 0)
                goto out;
            continue;
        }
        if (p->req.autostart && virDomainSetAutostart(doms[j], 1) < 0) {
            error("cannot set autostart on '%s': %s", c->name, virt_error());
            if (host_failed(plans, nplans, slots[j].plan, host_errors) < 0)
                goto out;
        }
    }
    for (size_t j = 0; j < n; j++) {
        if (!slots[j].p->req.start || !doms[j] || (host_errors && host_errors[slots[j].plan]))
            continue;
        if (cancel_check(what) < 0)
            goto out;
        if (virDomainCreate(doms[j]) < 0) {
            error("cannot start domain '%s' on %s: %s", slots[j].c->name, slots[j].p->uri, virt_error());
            if (host_failed(plans, nplans, slots[j].plan, host_errors) < 0)
                goto out;
            continue;
        }
        /* The hook added them if libvirt had already loaded it; this is a
         * no-op then, and covers a hook the daemon is still reloading. */
        if (slots[j].c->nforwards) {
            forwarded[j] = 1;
            if (portfwd_add(slots[j].c->name, slots[j].c->uuid, slots[j].c->forwards, slots[j].c->nforwards) < 0 &&
                host_failed(plans, nplans, slots[j].plan, host_errors) < 0)
                goto out;
        }
    }

    /* (after the defines, so none is defined onto a template that changed meanwhile) */
    if (!plans[0]->req.full && template_same(plans[0]->template, &tseen) < 0)
        goto out;
    for (size_t k = 0; k < nplans; k++)
        if (!(host_errors && host_errors[k]))
            res[k] = xcalloc(plans[k]->n ? plans[k]->n : 1, sizeof **res);
    for (size_t j = 0; j < n; j++) {
        if (!res[slots[j].plan])
            continue;
        struct clone_plan *p = slots[j].p;
        struct planned *c = slots[j].c;
        struct clone_result *r = &res[slots[j].plan][slots[j].index];
        r->name = xstrdup(c->name);
        r->hostname = xstrdup(c->hostname);
        memcpy(r->mac, c->mac, sizeof r->mac);
        memcpy(r->machine_id, jobs[j].machine_id, sizeof r->machine_id);
        r->disk = xstrdup(c->disk);
        r->disk_size = p->disk_size;
        r->kind = xstrdup(p->kind ? p->kind : p->req.full ? "full" : "linked");
        r->started = p->req.start;
        collect_keys(c, &jobs[j], r);
    }
    for (size_t k = 0; k < nplans; k++)
        results[k] = steal_pointer(&res[k]);
    ret = 0;

out:
    /* qemu-img or the appliance failing on a template that went or changed
     * meanwhile: that is the cause to name. */
    if (ret < 0 && tseen.fd >= 0) {
        CLEANUP_FREE char *why = error_message() ? xstrdup(error_message()) : NULL;
        error_clear();
        if (template_same(plans[0]->template, &tseen) == 0 && why)
            error("%s", why);
    }
    if (tseen.fd >= 0)
        close(tseen.fd);
    /* Rolled back: the domains go (and the hook with them removes their
     * rules); these are removed here too, in case it is not loaded yet. */
    for (size_t j = 0; j < n && forwarded; j++)
        if (forwarded[j] && (ret < 0 || (host_errors && host_errors[slots[j].plan]))) {
            CLEANUP_FREE char *why = error_message() ? xstrdup(error_message()) : NULL;
            portfwd_remove(slots[j].c->name, slots[j].c->uuid, slots[j].c->forwards, slots[j].c->nforwards);
            error_clear();
            if (why)
                error("%s", why);
        }
    free(forwarded);
    keygen_stop(&keygen);
    /* The private keys are in the disks now (or unused): never left on the host. */
    if (keys_root && remove_tree(keys_root) < 0 && ret == 0) {
        warning("cannot remove the private key directory %s: %s", keys_root, error_message());
        error_clear();
    }
    for (size_t j = 0; j < n && doms; j++)
        if (doms[j])
            virDomainFree(doms[j]);
    for (size_t k = 0; k < nplans; k++)
        if (res[k])
            clone_results_free(res[k], plans[k]->n);
    free(res);
    if (ret < 0 && host_errors)
        for (size_t k = 0; k < nplans; k++) {
            free(host_errors[k]);
            host_errors[k] = NULL;
        }
    free(doms);
    free(jobs);
    free(slots);
    return ret;
}
