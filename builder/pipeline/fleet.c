/* fleet.c: `vmstamp fleet` as a pipeline (see fleet.h).
 *
 * apply: lock the fleet, connect every host (one that cannot be reached is
 * named and skipped), read what the fleet owns from each host's domain
 * metadata, classify every planned clone (keep, drift, create) and every
 * owned one the plan no longer names (stray, or removed with --prune),
 * check everything a creation needs (template, pools, networks, address
 * collisions), then: reserve the addresses, make every new clone of every
 * host in one appliance launch (clone_plan per host and group, one
 * clone_run_many), upload what goes to hosts whose pools are not this
 * machine's, and write the fleet's known_hosts. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/command.h"
#include "adapters/qemuimg.h"
#include "adapters/store.h"
#include "adapters/portfwd.h"
#include "adapters/virt.h"
#include "adapters/virtnet.h"
#include "adapters/volume.h"
#include "base/cancel.h"
#include "base/cleanup-virt.h"
#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/proc.h"
#include "base/xalloc.h"
#include "pipeline/clone.h"
#include "pipeline/fleet.h"
#include "pure/domxml.h"
#include "pure/edit.h"
#include "pure/installer.h"
#include "pure/netxml.h"

struct owned {
    char *name;
    struct clone_meta meta;
    int state; /* virDomainState */
    int used;  /* matched to a planned clone */
};

struct host {
    const char *name;
    char *uri;
    virConnectPtr conn;
    char *error;      /* unreachable, or failed during the apply */
    struct owned *owned;
    size_t nowned;
    int sees_store;   /* -1: not asked yet */
    int uploaded;     /* the template was sent to it in this apply */
};

struct ctx {
    const struct fleet_plan *plan;
    const struct fleet_opts *o;
    struct host *hosts;
    size_t nhosts;
    char plan_path[PATH_MAX];
    char plan_hash[65];
    /* The template, here. */
    char *tpl_path;
    char *tpl_name;   /* for copies on other hosts: NAME-SHA12.qcow2 */
    char *tpl_format;
    char tpl_sha[65];
    uint64_t tpl_size;
    int tpl_in_store;
};

/* The recorded error, taken (so another can be recorded in its place). */
static char *take_error(void)
{
    char *m = xstrdup(error_message() ? error_message() : "failed");
    error_clear();
    return m;
}

const char *fleet_action_name(enum fleet_action a)
{
    static const char *const names[] = { "keep", "create", "drift", "remove", "stray", "failed" };
    return names[a];
}

static void progress(const struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct ctx *x, const char *fmt, ...)
{
    char line[256];
    va_list ap;

    if (!x->o->progress)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    x->o->progress(x->o->progress_ctx, line);
}

void fleet_report_release(struct fleet_report *rep)
{
    for (size_t i = 0; i < rep->n; i++) {
        struct fleet_row *r = &rep->rows[i];
        free(r->name);
        free(r->host);
        free(r->state);
        free(r->ip_seen);
        free(r->template);
        free(r->drift);
    }
    free(rep->rows);
    strv_free(rep->host_errors);
    free(rep->known_hosts);
    memset(rep, 0, sizeof *rep);
}

static struct fleet_row *add_row(struct fleet_report *rep)
{
    rep->rows = xrealloc(rep->rows, (rep->n + 1) * sizeof *rep->rows);
    struct fleet_row *r = &rep->rows[rep->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static void host_error(struct fleet_report *rep, struct host *h, const char *msg)
{
    size_t n = 0;

    if (h->error)
        return;
    h->error = xstrdup(msg);
    while (rep->host_errors && rep->host_errors[n])
        n++;
    rep->host_errors = xrealloc(rep->host_errors, (n + 2) * sizeof *rep->host_errors);
    /* libvirt's messages often name the connection already. */
    rep->host_errors[n] = strstr(msg, h->uri) ? xasprintf("host '%s': %s", h->name, msg)
                                              : xasprintf("host '%s' (%s): %s", h->name, h->uri, msg);
    rep->host_errors[n + 1] = NULL;
}

/* What the fleet owns on H: every domain whose metadata names it. */
static int scan_host(struct ctx *x, struct host *h)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(h->conn, &doms, 0);

    if (n < 0)
        return error("cannot list the domains: %s", virt_error());
    for (int i = 0; i < n; i++) {
        CLEANUP_FREE char *xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
        struct clone_meta meta;
        if (xml && domxml_parse(xml, &meta) == 0) {
            /* Only a clone whose metadata is bound to it: a copy (virt-clone)
             * or a hand-written block claims nothing. */
            if (meta.is_vmstamp && meta.fleet && strcmp(meta.fleet, x->plan->fleet) == 0) {
                h->owned = xrealloc(h->owned, (h->nowned + 1) * sizeof *h->owned);
                struct owned *o = &h->owned[h->nowned++];
                int st = 0, reason;
                memset(o, 0, sizeof *o);
                o->name = xstrdup(virDomainGetName(doms[i]));
                o->meta = meta;
                if (virDomainGetState(doms[i], &st, &reason, 0) < 0)
                    st = VIR_DOMAIN_NOSTATE;
                o->state = st;
            } else {
                clone_meta_release(&meta);
            }
        }
        error_clear();
        virDomainFree(doms[i]);
    }
    free(doms);
    return 0;
}

static void ctx_release(struct ctx *x)
{
    for (size_t i = 0; i < x->nhosts; i++) {
        struct host *h = &x->hosts[i];
        for (size_t j = 0; j < h->nowned; j++) {
            free(h->owned[j].name);
            clone_meta_release(&h->owned[j].meta);
        }
        free(h->owned);
        free(h->uri);
        free(h->error);
        if (h->conn)
            virConnectClose(h->conn);
    }
    free(x->hosts);
    free(x->tpl_path);
    free(x->tpl_name);
    free(x->tpl_format);
}

/* Connect every host of the plan (or the -c host) and read what the fleet
 * owns there. A host that fails is recorded in REP and skipped. */
static int ctx_open(struct ctx *x, const struct fleet_plan *plan, const struct fleet_opts *o,
                    struct fleet_report *rep)
{
    memset(x, 0, sizeof *x);
    x->plan = plan;
    x->o = o;
    if (!realpath(plan->path, x->plan_path))
        return error("fleet plan '%s' not found: %s", plan->path, strerror(errno));
    /* The text that was parsed, not the file read again (it may have
     * changed since, or been swapped for a FIFO). */
    memcpy(x->plan_hash, plan->sha256, sizeof x->plan_hash);
    x->nhosts = plan->nhosts ? plan->nhosts : 1;
    x->hosts = xcalloc(x->nhosts, sizeof *x->hosts);
    for (size_t i = 0; i < x->nhosts; i++) {
        struct host *h = &x->hosts[i];
        h->sees_store = -1;
        if (plan->nhosts) {
            h->name = plan->hosts[i].name;
            h->uri = xstrdup(plan->hosts[i].uri);
        } else {
            const char *u = o->uri ? o->uri : getenv("LIBVIRT_DEFAULT_URI");
            h->name = "default";
            h->uri = xstrdup(u && *u ? u : "qemu:///system");
        }
        progress(x, "fleet %s: connecting to %s", plan->fleet, h->name);
        h->conn = virt_connect(h->uri);
        if (!h->conn || scan_host(x, h) < 0) {
            host_error(rep, h, error_message() ? error_message() : "cannot connect");
            error_clear();
        }
    }
    return 0;
}

/* Whether H is this machine's own libvirtd (its files are ours to see). */
static int host_is_local(const struct host *h)
{
    return strncmp(h->uri, "qemu:///", 8) == 0;
}

static struct host *clone_host(struct ctx *x, const struct fleet_clone *c)
{
    return &x->hosts[c->host < 0 ? 0 : c->host];
}

static struct owned *find_owned(struct host *h, const char *name)
{
    for (size_t i = 0; i < h->nowned; i++)
        if (strcmp(h->owned[i].name, name) == 0)
            return &h->owned[i];
    return NULL;
}

static uint64_t plan_memory(const struct fleet_clone *c)
{
    return c->memory_kib ? c->memory_kib : CLONE_DEFAULT_MEMORY_KIB;
}

static const char *plan_network(const struct fleet_clone *c)
{
    return c->network ? c->network : CLONE_DEFAULT_NETWORK;
}

/* How O differs from the plan (NULL: it does not). */
static char *drift_of(const struct fleet_clone *c, const struct owned *o, const struct host *planned,
                      const struct host *actual)
{
    char buf[512] = "";
    size_t len = 0;
    unsigned vcpus = c->vcpus ? c->vcpus : CLONE_DEFAULT_VCPUS;
    struct netspec ns = { 0 };

#define ADD(...) (len += (size_t)snprintf(buf + len, len < sizeof buf ? sizeof buf - len : 0, __VA_ARGS__))
    if (planned != actual)
        ADD("%shost %s, plan %s", len ? "; " : "", actual->name, planned->name);
    if (o->meta.memory_kib != plan_memory(c))
        ADD("%smemory %llu MiB, plan %llu MiB", len ? "; " : "", o->meta.memory_kib / 1024,
            (unsigned long long)plan_memory(c) / 1024);
    if (o->meta.vcpus != vcpus)
        ADD("%svcpus %u, plan %u", len ? "; " : "", o->meta.vcpus, vcpus);
    if (c->mac[0] && (!o->meta.macs || !o->meta.macs[0] || strcasecmp(o->meta.macs[0], c->mac) != 0))
        ADD("%smac %s, plan %s", len ? "; " : "", o->meta.macs && o->meta.macs[0] ? o->meta.macs[0] : "none",
            c->mac);
    if (netspec_parse(plan_network(c), &ns) == 0) {
        const char *kind = ns.kind == NET_NETWORK ? "network" : ns.kind == NET_BRIDGE ? "bridge" : "user";
        if (!o->meta.net_type || strcmp(o->meta.net_type, kind) != 0 ||
            (ns.source && (!o->meta.net_source || strcmp(o->meta.net_source, ns.source) != 0)))
            ADD("%snetwork %s, plan %s", len ? "; " : "", o->meta.net_source ? o->meta.net_source : "none",
                plan_network(c));
        netspec_release(&ns);
    }
    error_clear();
#undef ADD
    return len ? xstrdup(buf) : NULL;
}

/* The template, here: a store name (its recorded SHA-256) or a disk path. */
static int resolve_template(struct ctx *x, virConnectPtr conn)
{
    const struct fleet_plan *p = x->plan;
    struct store st;
    struct template_meta tm;
    struct image_info info;
    const char *base;

    if (conn && !strchr(p->template, '/') && store_open(conn, NULL, 0, &st) == 0) {
        if (store_load(&st, p->template, &tm) == 0) {
            /* Not a byte read of a FIFO, a device or a file not the size recorded. */
            if (store_check_image(&st, &tm) < 0) {
                CLEANUP_FREE char *why = take_error();
                template_meta_release(&tm);
                store_close(&st);
                return fleet_plan_error(p, FLEET_TEMPLATE, "%s", why);
            }
            x->tpl_path = store_image_path(&st, p->template);
            snprintf(x->tpl_sha, sizeof x->tpl_sha, "%s", tm.sha256);
            x->tpl_in_store = 1;
            template_meta_release(&tm);
        }
        store_close(&st);
    }
    error_clear();
    if (!x->tpl_path) {
        char real[PATH_MAX];
        if (!realpath(p->template, real))
            return fleet_plan_error(p, FLEET_TEMPLATE, "template '%s' not found: give a store template (vmstamp "
                                    "template list) or a disk image path", p->template);
        x->tpl_path = xstrdup(real);
    }
    int info_r = qemuimg_info(x->tpl_path, &info);
    if (info_r < 0) {
        CLEANUP_FREE char *why = take_error();
        /* A missing backing file, or qemu-img failing, is named in WHY. */
        if (info_r == QEMUIMG_NAMED)
            return fleet_plan_error(p, FLEET_TEMPLATE, "template '%s': %s", p->template, why);
        return fleet_plan_error(p, FLEET_TEMPLATE, "template '%s' is not a disk image: %s", p->template, why);
    }
    x->tpl_format = xstrdup(info.format);
    x->tpl_size = info.virtual_size;
    image_info_release(&info);
    base = strrchr(p->template, '/') ? strrchr(p->template, '/') + 1 : p->template;
    x->tpl_name = xstrndup(base, strcspn(base, "."));
    return 0;
}

static const char *template_sha(struct ctx *x)
{
    if (!x->tpl_sha[0] && sha256_file(x->tpl_path, x->tpl_sha) < 0)
        return NULL;
    return x->tpl_sha;
}

/* Whether H's libvirt sees our template store (it is this machine's
 * daemon, or shares the store's storage): then clones there may be backed
 * by the store's image itself. */
static int host_sees_store(struct ctx *x, struct host *h)
{
    if (h->sees_store >= 0)
        return h->sees_store;
    h->sees_store = 0;
    if (x->tpl_in_store) {
        CLEANUP_FREE char *dir = NULL;
        if (virt_pool_dir(h->conn, STORE_DEFAULT_POOL, &dir) == 0 && strcmp(dir, STORE_DEFAULT_DIR) == 0)
            h->sees_store = volume_pool_shared(h->conn, STORE_DEFAULT_POOL, dir) == 1;
    } else {
        /* A disk path: valid for this machine's own daemon only. */
        h->sees_store = host_is_local(h);
    }
    error_clear();
    return h->sees_store;
}

/* ---- checks before anything is made ---------------------------------- */

/* The networks and pools the new clones of host HI use, checked there:
 * each error is the plan's (file:line). */
static int check_host(struct ctx *x, size_t hi, const struct fleet_report *rep)
{
    const struct fleet_plan *p = x->plan;
    struct host *h = &x->hosts[hi];
    char **seen_nets = NULL, **seen_pools = NULL;
    size_t nnets = 0, npools = 0;
    int ret = -1;

    for (size_t i = 0; i < p->nclones; i++) {
        const struct fleet_clone *c = &p->clones[i];
        if (clone_host(x, c) != h || rep->rows[i].action != FLEET_CREATE)
            continue;
        const char *pool = c->pool ? c->pool : CLONE_DEFAULT_POOL;
        int dup = 0;
        for (size_t k = 0; k < npools; k++)
            dup |= strcmp(seen_pools[k], pool) == 0;
        if (!dup) {
            CLEANUP_FREE char *dir = NULL;
            if (virt_pool_dir(h->conn, pool, &dir) < 0) {
                CLEANUP_FREE char *why = take_error();
                fleet_group_error(p, c->group, FG_POOL, "on host '%s': %s", h->name, why);
                goto out;
            }
            seen_pools = xrealloc(seen_pools, (npools + 1) * sizeof *seen_pools);
            seen_pools[npools++] = xstrdup(pool);
        }
        struct netspec ns;
        if (netspec_parse(plan_network(c), &ns) < 0) {
            CLEANUP_FREE char *why = take_error();
            fleet_group_error(p, c->group, FG_NETWORK, "%s", why);
            goto out;
        }
        if (ns.kind != NET_NETWORK) {
            if (virt_network_check(h->conn, &ns) < 0) {
                CLEANUP_FREE char *why = take_error();
                fleet_group_error(p, c->group, FG_NETWORK, "on host '%s': %s", h->name, why);
                netspec_release(&ns);
                goto out;
            }
            netspec_release(&ns);
            continue;
        }
        dup = 0;
        for (size_t k = 0; k < nnets; k++)
            dup |= strcmp(seen_nets[k], ns.source) == 0;
        if (dup) {
            netspec_release(&ns);
            continue;
        }
        seen_nets = xrealloc(seen_nets, (nnets + 1) * sizeof *seen_nets);
        seen_nets[nnets++] = xstrdup(ns.source);
        struct netxml nx;
        if (virtnet_read(h->conn, ns.source, &nx) < 0) {
            error_clear();
            fleet_group_error(p, c->group, FG_NETWORK, "network '%s' not found on host '%s' (%s): define it "
                              "there or name another", ns.source, h->name, h->uri);
            netspec_release(&ns);
            goto out;
        }
        struct fleet_reservation *res = xcalloc(nx.nhosts + 1, sizeof *res);
        for (size_t k = 0; k < nx.nhosts; k++)
            res[k] = (struct fleet_reservation){ .mac = nx.hosts[k].mac[0] ? nx.hosts[k].mac : NULL,
                                                 .ip = nx.hosts[k].ip, .name = nx.hosts[k].name };
        struct fleet_network fn = { .name = ns.source, .address = nx.address, .prefix = nx.prefix,
                                    .dhcp_start = nx.dhcp_start, .dhcp_end = nx.dhcp_end,
                                    .reserved = res, .nreserved = nx.nhosts };
        int r = nx.address ? fleet_check_network(p, x->plan->nhosts ? (int)hi : -1, &fn) : 0;
        free(res);
        netxml_release(&nx);
        netspec_release(&ns);
        if (r < 0)
            goto out;
    }
    ret = 0;
out:
    for (size_t k = 0; k < nnets; k++)
        free(seen_nets[k]);
    for (size_t k = 0; k < npools; k++)
        free(seen_pools[k]);
    free(seen_nets);
    free(seen_pools);
    return ret;
}

/* ---- the rows -------------------------------------------------------- */

/* One row per planned clone (in plan order), then the owned strays. A
 * planned name held on its host by a domain that is not the fleet's is an
 * error (nothing is made). */
static int classify(struct ctx *x, struct fleet_report *rep, int for_apply)
{
    const struct fleet_plan *p = x->plan;

    for (size_t i = 0; i < p->nclones; i++) {
        const struct fleet_clone *c = &p->clones[i];
        struct host *h = clone_host(x, c);
        struct fleet_row *r = add_row(rep);
        struct owned *o = NULL;
        struct host *at = h;
        r->name = xstrdup(c->name);
        r->host = xstrdup(h->name);
        r->template = xstrdup(p->template);
        snprintf(r->ip, sizeof r->ip, "%s", c->ip_text);
        snprintf(r->mac, sizeof r->mac, "%s", c->mac);
        if (!h->error)
            o = find_owned(h, c->name);
        for (size_t k = 0; !o && k < x->nhosts; k++)
            if (!x->hosts[k].error && (o = find_owned(&x->hosts[k], c->name)))
                at = &x->hosts[k];
        if (o) {
            o->used = 1;
            r->state = xstrdup(virt_state_name(o->state));
            if (!r->mac[0] && o->meta.macs && o->meta.macs[0])
                snprintf(r->mac, sizeof r->mac, "%s", o->meta.macs[0]);
            r->drift = drift_of(c, o, h, at);
            r->action = r->drift ? FLEET_DRIFT : FLEET_KEEP;
            if (at != h) {
                free(r->host);
                r->host = xstrdup(at->name);
            }
            continue;
        }
        if (h->error) {
            r->state = xstrdup("unreachable");
            r->action = FLEET_FAILED;
            continue;
        }
        r->state = xstrdup("missing");
        r->action = FLEET_CREATE;
        if (for_apply) {
            int e = virt_domain_exists(h->conn, c->name);
            if (e < 0)
                return -1;
            if (e)
                return fleet_group_error(p, c->group, FG_NAME, "domain '%s' exists on host '%s' and is not fleet "
                                         "'%s''s: remove or rename it, or rename the group", c->name, h->name,
                                         p->fleet);
        }
    }
    for (size_t k = 0; k < x->nhosts; k++) {
        struct host *h = &x->hosts[k];
        for (size_t j = 0; j < h->nowned; j++) {
            struct owned *o = &h->owned[j];
            if (o->used)
                continue;
            struct fleet_row *r = add_row(rep);
            r->name = xstrdup(o->name);
            r->host = xstrdup(h->name);
            r->state = xstrdup(virt_state_name(o->state));
            r->template = xstrdup(o->meta.template_path ? o->meta.template_path : "");
            if (o->meta.fleet_ip)
                snprintf(r->ip, sizeof r->ip, "%s", o->meta.fleet_ip);
            if (o->meta.macs && o->meta.macs[0])
                snprintf(r->mac, sizeof r->mac, "%s", o->meta.macs[0]);
            r->action = x->o->prune ? FLEET_REMOVE : FLEET_STRAY;
        }
    }
    for (size_t i = 0; i < rep->n; i++)
        rep->count[rep->rows[i].action]++;
    return 0;
}

/* ---- removing what the fleet owns ------------------------------------ */

/* Rewrite the fleet's known_hosts: without the lines of the N NAMES, with
 * ADD (those names' new lines, or NULL). In RUN (NULL: not journaled) the
 * NAMES' lines are journaled first (rollback and recovery take them out
 * again), and the file is written through a temporary file of this run's,
 * journaled too. */
static int known_hosts_update(const struct ctx *x, struct run *run, char **names, size_t n, const char *add,
                              char **path_out)
{
    CLEANUP_FREE char *path = xasprintf("%s/%s.known_hosts", FLEET_STATE_DIR, x->plan->fleet);
    CLEANUP_FREE char *old = NULL;
    CLEANUP_FREE char *kept = NULL;
    CLEANUP_FREE char *out = NULL;
    int r;

    if (mkdir_p(FLEET_STATE_DIR, 0755) < 0)
        return -1;
    old = read_file(path, NULL);
    error_clear();
    kept = edit_known_hosts_drop(old, names, n);
    out = xasprintf("%s%s", kept, add ? add : "");
    if (!run) {
        r = write_file_atomic(path, out, strlen(out), 0644);
    } else {
        CLEANUP_FREE char *tmp = xasprintf("%s.%s.tmp", path, proc_run_id());
        r = 0;
        for (size_t k = 0; k < n && r == 0; k++)
            r = journal_knownhost(run->journal, path, names[k]) < 0 ? -1 : 0;
        if (r == 0 && journal_file(run->journal, tmp) < 0)
            r = -1;
        if (r == 0)
            r = write_file_atomic_via(path, tmp, out, strlen(out), 0644);
    }
    if (r == 0 && path_out)
        *path_out = xstrdup(path);
    return r;
}

/* Remove owned clone O from H: the domain, its disks (through the host's
 * pools), its DHCP and DNS entries. */
static int remove_owned(struct host *h, struct owned *o)
{
    CLEANUP_DOMAIN virDomainPtr dom = virDomainLookupByName(h->conn, o->name);

    /* Errors name the domain; host_error() adds the host. */
    if (dom && virt_domain_remove(dom) < 0)
        return -1;
    /* Only the disks its devices use, and only through the host's pools
     * (volume_delete_disk): the metadata alone never names what goes. */
    for (size_t k = 0; o->meta.stray_disks && o->meta.stray_disks[k]; k++)
        warning("%s on host '%s': kept '%s': its vmstamp metadata names it, but the domain does not use it",
                o->name, h->name, o->meta.stray_disks[k]);
    for (size_t k = 0; o->meta.disks && o->meta.disks[k]; k++) {
        CLEANUP_FREE char *why = NULL;
        if (volume_delete_disk(h->conn, o->meta.disks[k], &why) < 0)
            return -1;
        if (why)
            warning("%s on host '%s': %s", o->name, h->name, why);
    }
    if (host_is_local(h)) {
        CLEANUP_FREE char *log = virt_console_log(o->name);
        unlink(log);
        /* Stopping it ran the hook; its port forwards go here in any case. */
        if (portfwd_forget(o->name, o->meta.uuid) < 0)
            return -1;
    }
    if (o->meta.fleet_ip && o->meta.net_type && strcmp(o->meta.net_type, "network") == 0 && o->meta.net_source &&
        o->meta.macs && o->meta.macs[0]) {
        uint32_t ip;
        if (ipv4_parse(o->meta.fleet_ip, &ip) == 0 &&
            virtnet_unreserve(h->conn, o->meta.net_source, o->meta.macs[0], ip, o->name, o->meta.hostname) < 0)
            return -1;
    }
    error_clear();
    return 0;
}

static int remove_rows(struct ctx *x, struct fleet_report *rep, int all)
{
    char **names = xcalloc(rep->n + 1, sizeof *names);
    size_t nn = 0;
    int ret = 0;

    for (size_t k = 0; k < x->nhosts; k++) {
        struct host *h = &x->hosts[k];
        if (h->error)
            continue;
        for (size_t j = 0; j < h->nowned; j++) {
            struct owned *o = &h->owned[j];
            if (!all && o->used)
                continue;
            progress(x, "fleet %s: removing %s from %s", x->plan->fleet, o->name, h->name);
            if (remove_owned(h, o) < 0) {
                host_error(rep, h, error_message());
                error_clear();
                ret = -1;
                continue;
            }
            names[nn++] = o->name;
        }
    }
    /* destroy: every name of the plan too (lines a dead run left). */
    if (all) {
        names = xrealloc(names, (nn + x->plan->nclones + 1) * sizeof *names);
        for (size_t i = 0; i < x->plan->nclones; i++)
            names[nn++] = x->plan->clones[i].name;
    }
    if (nn && known_hosts_update(x, NULL, names, nn, NULL, NULL) < 0)
        ret = -1;
    free(names);
    return ret;
}

/* ---- making the missing clones ---------------------------------------- */

struct batch {
    struct host *host;
    size_t group;
    struct clone_spec *specs;
    struct fleet_owner *owners;
    struct static_ipv4 *ipv4;
    size_t *clone_index; /* into plan->clones */
    size_t n;
    struct clone_request req;
    char *pool_dir;
    char *host_template;
    char *template_arg;
    struct clone_plan *cp;
};

/* Linked clones on H whose pool is not this machine's (STAGED) or not in
 * sight of the store: the template's copy there, NAME-SHA12.qcow2, sent
 * once (sparse) and its SHA-256 checked there; a copy already there with
 * that name (so that checksum) is used as it is. */
static char *template_on_host(struct ctx *x, struct host *h, const char *pool, const char *pool_dir, int staged,
                              struct run *run)
{
    const char *sha = template_sha(x);
    char *path = NULL;
    char hex[65];

    if (!sha)
        return NULL;
    CLEANUP_FREE char *vol = xasprintf("%s-%.12s.%s", x->tpl_name, sha, x->tpl_format);
    int there = volume_exists(h->conn, pool, vol, &path);
    if (there < 0)
        return NULL;
    if (there)
        return path;
    if (!staged) {
        /* The pool is in sight here: a local copy of the same bytes (so
         * the same format and name as an upload), nothing sent. */
        CLEANUP_FREE char *dst = xasprintf("%s/%s", pool_dir, vol);
        CLEANUP_FREE char *tmp = xasprintf("%s/.%s.vmstamp-tmp", pool_dir, vol);
        progress(x, "fleet %s: copying template to pool '%s' of %s", x->plan->fleet, pool, h->name);
        if (journal_file(run->journal, tmp) < 0)
            return NULL;
        struct command *cp = command_new("cp");
        command_add(cp, "--sparse=always");
        command_add(cp, "--");
        command_add(cp, x->tpl_path);
        command_add(cp, tmp);
        int r = command_run(cp, NULL);
        command_free(cp);
        if (r < 0)
            return NULL;
        if (chmod(tmp, 0444) < 0 || journal_file(run->journal, dst) < 0 || rename_noreplace(tmp, dst) != 0) {
            if (!error_message())
                error("cannot put the template copy '%s' in place: %s", dst, strerror(errno));
            return NULL;
        }
        virt_pool_refresh(h->conn, pool);
        error_clear();
        return xstrdup(dst);
    }
    progress(x, "fleet %s: uploading template %s to %s", x->plan->fleet, x->tpl_name, h->name);
    int step = journal_volume(run->journal, h->uri, pool, vol);
    if (step < 0)
        return NULL;
    int up = volume_upload(h->conn, pool, vol, x->tpl_path, x->tpl_format, x->tpl_size, 0444, &path);
    if (up == VOLUME_EXISTED)
        journal_drop(run->journal, step); /* another run's upload: not ours to remove */
    if (up < 0)
        return NULL;
    if (volume_sha256(h->conn, pool, vol, hex) < 0) {
        free(path);
        return NULL;
    }
    if (strcmp(hex, sha) != 0) {
        error("the template copy on host '%s' has SHA-256 %s, not %s: the upload was damaged; apply again", h->name,
              hex, sha);
        free(path);
        return NULL;
    }
    h->uploaded = 1;
    return path;
}

static void batches_free(struct batch *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(b[i].specs);
        free(b[i].owners);
        free(b[i].ipv4);
        free(b[i].clone_index);
        free(b[i].pool_dir);
        free(b[i].host_template);
        free(b[i].template_arg);
        clone_plan_free(b[i].cp);
    }
    free(b);
}

/* Static addresses for clones on bridges: from the plan's ip, prefix,
 * gateway and dns. */
static void fill_ipv4(const struct fleet_clone *c, struct static_ipv4 *s)
{
    memset(s, 0, sizeof *s);
    s->address = c->ip;
    s->prefix = c->prefix;
    s->gateway = c->gateway;
    for (size_t k = 0; k < c->ndns && k < NETCONF_MAX_DNS; k++)
        s->dns[s->ndns++] = c->dns[k];
}

/* Addresses before anything boots: a DHCP host and a DNS host entry per
 * clone on a libvirt network (LIVE|CONFIG when it runs). Run in a thread
 * beside the clone run (two virNetworkUpdate calls per clone cost about as
 * much as customizing it); a host whose entries fail is failed. */
struct reserve_args {
    const struct fleet_plan *p;
    struct batch *b;
    size_t nb;
    struct run *run;
    struct fleet_report *rep;
};

static void *reserve_addresses(void *arg)
{
    struct reserve_args *a = arg;
    const struct fleet_plan *p = a->p;

    for (size_t k = 0; k < a->nb; k++) {
        struct batch *bt = &a->b[k];
        struct host *h = bt->host;
        for (size_t j = 0; j < bt->n && bt->cp && !h->error; j++) {
            const struct fleet_clone *c = &p->clones[bt->clone_index[j]];
            struct netspec ns;
            if (cancel_flag() && *cancel_flag())
                return NULL;
            if (!c->ip || netspec_parse(plan_network(c), &ns) < 0) {
                error_clear();
                continue;
            }
            if (ns.kind == NET_NETWORK) {
                CLEANUP_FREE char *hostname = c->hostname ? xstrdup(c->hostname) : xstrdup(c->name);
                int step = journal_nethost(a->run->journal, h->uri, ns.source, c->mac, c->ip_text, c->name, hostname);
                int added = 0;
                if (step >= 0 && virtnet_reserve_added(h->conn, ns.source, c->mac, c->ip, c->name, hostname, &added) == 0
                    && !added)
                    journal_drop(a->run->journal, step); /* there before this run: not ours to remove */
                else if (step < 0 || !added) {
                    host_error(a->rep, h, error_message() ? error_message() : "failed");
                    error_clear();
                }
            }
            netspec_release(&ns);
        }
    }
    return NULL;
}

static int create_missing(struct ctx *x, struct run *run, struct fleet_report *rep)
{
    const struct fleet_plan *p = x->plan;
    struct batch *b = NULL;
    size_t nb = 0;
    CLEANUP_FREE char *stage = NULL;
    int ret = -1;
    size_t total = 0;

    /* One batch per host and group (the clone pipeline's settings are per request). */
    for (size_t i = 0; i < p->nclones; i++) {
        const struct fleet_clone *c = &p->clones[i];
        struct host *h = clone_host(x, c);
        if (rep->rows[i].action != FLEET_CREATE || h->error)
            continue;
        struct batch *bt = NULL;
        for (size_t k = 0; k < nb && !bt; k++)
            if (b[k].host == h && b[k].group == c->group)
                bt = &b[k];
        if (!bt) {
            b = xrealloc(b, (nb + 1) * sizeof *b);
            bt = &b[nb++];
            memset(bt, 0, sizeof *bt);
            bt->host = h;
            bt->group = c->group;
            bt->specs = xcalloc(p->nclones, sizeof *bt->specs);
            bt->owners = xcalloc(p->nclones, sizeof *bt->owners);
            bt->ipv4 = xcalloc(p->nclones, sizeof *bt->ipv4);
            bt->clone_index = xcalloc(p->nclones, sizeof *bt->clone_index);
        }
        size_t k = bt->n++;
        bt->clone_index[k] = i;
        bt->owners[k] = (struct fleet_owner){ .name = p->fleet, .group = p->groups[c->group].name,
                                              .plan = x->plan_path, .hash = x->plan_hash,
                                              .ip = c->ip ? c->ip_text : NULL };
        bt->specs[k] = (struct clone_spec){ .name = c->name, .hostname = NULL, .mac = c->mac[0] ? c->mac : NULL,
                                            .owner = &bt->owners[k], .forwards = c->forwards,
                                            .nforwards = c->nforwards };
        struct netspec ns;
        if (c->ip && c->prefix && netspec_parse(plan_network(c), &ns) == 0) {
            if (ns.kind == NET_BRIDGE) {
                fill_ipv4(c, &bt->ipv4[k]);
                bt->specs[k].ipv4 = &bt->ipv4[k];
            }
            netspec_release(&ns);
        }
        error_clear();
        total++;
    }
    if (!nb)
        return 0;

    /* Disks for other hosts are made here first. */
    for (size_t k = 0; k < nb; k++) {
        struct batch *bt = &b[k];
        struct host *h = bt->host;
        const struct fleet_clone *c = &p->clones[bt->clone_index[0]];
        const char *pool = c->pool ? c->pool : CLONE_DEFAULT_POOL;
        int staged;
        if (virt_pool_dir(h->conn, pool, &bt->pool_dir) < 0)
            goto host_fail;
        staged = !(access(bt->pool_dir, F_OK) == 0 && volume_pool_shared(h->conn, pool, bt->pool_dir) == 1);
        error_clear();
        if (staged && !stage) {
            stage = xasprintf("/var/lib/vmstamp/stage/%s", proc_run_id());
            if (mkdir_p("/var/lib/vmstamp/stage", 0700) < 0 || journal_tree(run->journal, stage) < 0)
                goto out;
            if (mkdir(stage, 0700) < 0) {
                error("cannot create '%s': %s", stage, strerror(errno));
                goto out;
            }
        }
        if (!c->full && (staged || !host_sees_store(x, h))) {
            bt->host_template = template_on_host(x, h, pool, bt->pool_dir, staged, run);
            if (!bt->host_template)
                goto host_fail;
        }
        bt->template_arg = xstrdup(x->tpl_path);
        bt->req = (struct clone_request){
            .template = bt->template_arg, .clones = bt->specs, .n = bt->n, .domain = c->domain, .full = c->full,
            .size = c->size, .pool = pool, .network = plan_network(c), .memory_kib = plan_memory(c),
            .vcpus = c->vcpus, .ssh_key_file = c->ssh_key, .stage_dir = staged ? stage : NULL,
            .host_template = bt->host_template, .parallel = x->o->parallel,
            .fix_permissions = x->o->fix_permissions, .description = c->description,
        };
        bt->cp = clone_plan(h->conn, &bt->req, run);
        if (!bt->cp) {
            /* The clone pipeline's checks: the plan's, made nothing yet. */
            CLEANUP_FREE char *why = take_error();
            fleet_group_error(p, bt->group, FG_NAME, "on host '%s': %s", h->name, why);
            goto out;
        }
        continue;
    host_fail:
        host_error(rep, h, error_message() ? error_message() : "failed");
        error_clear();
    }

    /* Every clone of every host: one appliance launch. */
    {
        struct clone_plan **plans = xcalloc(nb, sizeof *plans);
        struct clone_result **results = xcalloc(nb, sizeof *results);
        char **errs = xcalloc(nb, sizeof *errs);
        size_t *which = xcalloc(nb, sizeof *which);
        size_t np = 0;
        for (size_t k = 0; k < nb; k++)
            if (b[k].cp && !b[k].host->error) {
                which[np] = k;
                plans[np++] = b[k].cp;
            }
        progress(x, "fleet %s: making %zu clone(s) on %zu host(s)", p->fleet, total, x->nhosts);
        struct reserve_args ra = { .p = p, .b = b, .nb = nb, .run = run, .rep = rep };
        pthread_t rt;
        int threaded = pthread_create(&rt, NULL, reserve_addresses, &ra) == 0;
        if (!threaded)
            reserve_addresses(&ra);
        int r = np ? clone_run_many(plans, np, run, results, errs) : 0;
        /* Nothing of the run starts a clone: the entries are all in before
         * any clone can boot. */
        if (threaded)
            pthread_join(rt, NULL);
        CLEANUP_FREE char *lines = NULL;
        size_t lines_size = 0;
        FILE *kh = open_memstream(&lines, &lines_size);
        if (!kh)
            xalloc_die();
        CLEANUP_FREE char **made = xcalloc(total + 1, sizeof *made);
        size_t nmade = 0;
        for (size_t m = 0; r == 0 && m < np; m++) {
            struct batch *bt = &b[which[m]];
            if (errs[m]) {
                host_error(rep, bt->host, errs[m]);
                continue;
            }
            if (bt->host->error) /* its addresses failed: undone with the host */
                continue;
            for (size_t j = 0; j < bt->n; j++) {
                struct clone_result *res = &results[m][j];
                const struct fleet_clone *c = &p->clones[bt->clone_index[j]];
                struct fleet_row *row = &rep->rows[bt->clone_index[j]];
                snprintf(row->mac, sizeof row->mac, "%s", res->mac);
                free(row->state);
                row->state = xstrdup("shut-off");
                made[nmade++] = res->name;
                for (int t = 0; t < CLONE_KEY_TYPES; t++) {
                    if (!res->key_lines[t])
                        continue;
                    fprintf(kh, "%s,%s%s%s %s\n", res->name, res->hostname, c->ip ? "," : "", c->ip ? c->ip_text : "",
                            res->key_lines[t]);
                }
            }
        }
        fclose(kh);
        if (r == 0 && nmade)
            known_hosts_update(x, run, made, nmade, lines, &rep->known_hosts);
        for (size_t m = 0; m < np; m++) {
            if (results[m])
                clone_results_free(results[m], b[which[m]].n);
            free(errs[m]);
        }
        free(plans);
        free(results);
        free(errs);
        free(which);
        if (r < 0)
            goto out;
    }
    ret = 0;
out:
    if (stage && ret == 0)
        remove_tree(stage);
    batches_free(b, nb);
    return ret;
}

/* Hosts that failed: what this run made there is undone now, or left in
 * the journal for the next run if the host cannot be reached. */
static void undo_failed_hosts(struct ctx *x, struct run *run, struct fleet_report *rep)
{
    for (size_t k = 0; k < x->nhosts; k++) {
        struct host *h = &x->hosts[k];
        if (!h->error)
            continue;
        for (size_t i = 0; i < rep->n; i++)
            if (strcmp(rep->rows[i].host, h->name) == 0 && rep->rows[i].action == FLEET_CREATE) {
                rep->count[FLEET_CREATE]--;
                rep->count[FLEET_FAILED]++;
                rep->rows[i].action = FLEET_FAILED;
            }
        run_undo_uri(run, h->uri);
        error_clear();
    }
}

static int reconcile(struct ctx *x, struct fleet_report *rep)
{
    const struct fleet_plan *p = x->plan;

    for (size_t i = 0; i < p->nclones; i++) {
        const struct fleet_clone *c = &p->clones[i];
        struct fleet_row *r = &rep->rows[i];
        struct host *h = clone_host(x, c);
        if (r->action != FLEET_DRIFT || h->error || strcmp(r->host, h->name) != 0)
            continue;
        CLEANUP_DOMAIN virDomainPtr dom = virDomainLookupByName(h->conn, c->name);
        unsigned vcpus = c->vcpus ? c->vcpus : CLONE_DEFAULT_VCPUS;
        if (!dom || virDomainSetMaxMemory(dom, plan_memory(c)) < 0 ||
            virDomainSetMemoryFlags(dom, plan_memory(c), VIR_DOMAIN_AFFECT_CONFIG) < 0 ||
            virDomainSetVcpusFlags(dom, vcpus, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM) < 0 ||
            virDomainSetVcpusFlags(dom, vcpus, VIR_DOMAIN_AFFECT_CONFIG) < 0)
            return error("cannot reconcile '%s' on host '%s': %s", c->name, h->name, virt_error());
    }
    return 0;
}

static int lock_fleet(const struct fleet_plan *p, const struct fleet_opts *o, struct run *run)
{
    pid_t holder = 0;

    for (;;) {
        if (claim(run->claims, "fleets", "fleet", p->fleet, &holder) == 0)
            return 0;
        if (holder == 0)
            return -1;
        if (!o->wait_lock)
            return error("fleet '%s' is being changed by another vmstamp run (pid %d): wait for it, or give "
                         "--wait-lock", p->fleet, (int)holder);
        if (cancel_check("nothing was changed") < 0)
            return -1;
        usleep(200 * 1000);
    }
}

static int start_all(struct ctx *x, struct fleet_report *rep);
static int wait_all(struct ctx *x, struct fleet_report *rep);

int fleet_apply(const struct fleet_plan *plan, const struct fleet_opts *o, struct run *run,
                struct fleet_report *rep)
{
    struct ctx x;
    int ret = -1, committed = 0;

    memset(rep, 0, sizeof *rep);
    if (!o->dry_run && lock_fleet(plan, o, run) < 0)
        return -1;
    if (ctx_open(&x, plan, o, rep) < 0)
        goto out;
    if (classify(&x, rep, 1) < 0)
        goto out;
    if (rep->count[FLEET_CREATE]) {
        struct host *any = NULL;
        for (size_t k = 0; k < x.nhosts && !any; k++)
            if (!x.hosts[k].error)
                any = &x.hosts[k];
        if (resolve_template(&x, any ? any->conn : NULL) < 0)
            goto out;
        for (size_t k = 0; k < x.nhosts; k++)
            if (!x.hosts[k].error && check_host(&x, k, rep) < 0)
                goto out;
    }
    if (o->dry_run) {
        ret = 0;
        goto out;
    }
    if (rep->count[FLEET_REMOVE] && remove_rows(&x, rep, 0) < 0)
        error_clear();
    if (create_missing(&x, run, rep) < 0)
        goto out;
    if (o->reconcile && reconcile(&x, rep) < 0)
        goto out;
    undo_failed_hosts(&x, run, rep);
    /* What the hosts that worked made stays, whatever the others did. */
    if (run_commit(run) < 0)
        goto out;
    committed = 1;
    for (size_t k = 0; k < x.nhosts; k++)
        rep->uploads += x.hosts[k].uploaded && !x.hosts[k].error; /* a failed host's copy was rolled back */
    if (o->start || o->wait) {
        if (start_all(&x, rep) < 0 || (o->wait && wait_all(&x, rep) < 0))
            goto out;
    }
    if (rep->host_errors && rep->host_errors[0]) {
        size_t n = 0;
        while (rep->host_errors[n])
            n++;
        error("%zu host(s) failed; the others are done: apply again when %s back", n, n > 1 ? "they are" : "it is");
        goto out;
    }
    ret = 0;
out:
    if (ret < 0 && !committed) {
        /* Nothing of this run stays (run_end undoes it): no rows to show,
         * only the errors. */
        char **host_errors = rep->host_errors;
        rep->host_errors = NULL;
        fleet_report_release(rep);
        rep->host_errors = host_errors;
    }
    ctx_release(&x);
    return ret;
}

/* ---- power, addresses, status ---------------------------------------- */

static void row_host_conn(struct ctx *x, const struct fleet_row *r, struct host **hp)
{
    *hp = NULL;
    for (size_t k = 0; k < x->nhosts; k++)
        if (strcmp(x->hosts[k].name, r->host) == 0 && !x->hosts[k].error)
            *hp = &x->hosts[k];
}

static int row_live(const struct fleet_row *r)
{
    return r->action == FLEET_KEEP || r->action == FLEET_DRIFT || r->action == FLEET_CREATE;
}

static int start_all(struct ctx *x, struct fleet_report *rep)
{
    int ret = 0;

    for (size_t i = 0; i < rep->n; i++) {
        struct fleet_row *r = &rep->rows[i];
        struct host *h;
        if (!row_live(r))
            continue;
        row_host_conn(x, r, &h);
        if (!h)
            continue;
        CLEANUP_DOMAIN virDomainPtr dom = virDomainLookupByName(h->conn, r->name);
        if (!dom)
            continue; /* a --dry-run create */
        if (virDomainIsActive(dom) == 1)
            continue;
        if (virDomainCreate(dom) < 0) {
            host_error(rep, h, virt_error());
            ret = -1;
            continue;
        }
        free(r->state);
        r->state = xstrdup("running");
    }
    if (ret < 0)
        error("cannot start every clone: see the hosts named");
    return ret;
}

/* The address each row's clone has: its DHCP lease on its network (by
 * MAC), else what the guest agent says. */
static void fill_addresses(struct ctx *x, struct fleet_report *rep)
{
    for (size_t k = 0; k < x->nhosts; k++) {
        struct host *h = &x->hosts[k];
        if (h->error)
            continue;
        virNetworkPtr *all = NULL;
        int nn = virConnectListAllNetworks(h->conn, &all, VIR_CONNECT_LIST_NETWORKS_ACTIVE);
        for (int j = 0; j < nn; j++) {
            struct virtnet_lease *leases = NULL;
            size_t nl = 0;
            if (virtnet_leases(h->conn, virNetworkGetName(all[j]), &leases, &nl) == 0) {
                for (size_t i = 0; i < rep->n; i++) {
                    struct fleet_row *r = &rep->rows[i];
                    if (strcmp(r->host, h->name) != 0 || !r->mac[0] || r->ip_seen)
                        continue;
                    for (size_t l = 0; l < nl; l++)
                        if (strcasecmp(leases[l].mac, r->mac) == 0) {
                            char a[16];
                            r->ip_seen = xstrdup(ipv4_format(leases[l].ip, a));
                        }
                }
                virtnet_leases_free(leases, nl);
            }
            error_clear();
            virNetworkFree(all[j]);
        }
        free(all);
        /* The guest agent, for clones no lease names (bridges, static). */
        for (size_t i = 0; i < rep->n; i++) {
            struct fleet_row *r = &rep->rows[i];
            if (strcmp(r->host, h->name) != 0 || r->ip_seen || !row_live(r))
                continue;
            CLEANUP_DOMAIN virDomainPtr dom = virDomainLookupByName(h->conn, r->name);
            virDomainInterfacePtr *ifs = NULL;
            int ni;
            if (!dom || virDomainIsActive(dom) != 1)
                continue;
            ni = virDomainInterfaceAddresses(dom, &ifs, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, 0);
            for (int f = 0; f < ni; f++) {
                if (!r->ip_seen && ifs[f]->hwaddr && strcasecmp(ifs[f]->hwaddr, r->mac) == 0)
                    for (unsigned a = 0; a < ifs[f]->naddrs && !r->ip_seen; a++)
                        if (ifs[f]->addrs[a].type == VIR_IP_ADDR_TYPE_IPV4)
                            r->ip_seen = xstrdup(ifs[f]->addrs[a].addr);
                virDomainInterfaceFree(ifs[f]);
            }
            free(ifs);
            error_clear();
        }
    }
}

/* The last 20 lines of a clone's console log (this machine's only), each
 * as "  | LINE" as install shows them; NULL without a log. */
static char *last_console_lines(const char *name)
{
    CLEANUP_FREE char *path = virt_console_log(name);
    CLEANUP_FREE char *text = read_file(path, NULL);
    const char *lines[20];
    char *out = NULL;
    size_t size = 0;

    error_clear();
    if (!text)
        return NULL;
    size_t n = console_tail(text, lines, 20);
    FILE *f = open_memstream(&out, &size);
    if (!f)
        xalloc_die();
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s  | %s", i ? "\n" : "", lines[i]);
    fclose(f);
    return out;
}

/* Whether row I's address can be seen from the hosts: a planned clone
 * with a planned address, or on a libvirt network (a lease). One on
 * user-mode networking without an address is not waited for. */
static int awaited(const struct ctx *x, size_t i)
{
    const struct fleet_clone *c;

    if (i >= x->plan->nclones)
        return 0; /* an owned clone the plan no longer names */
    c = &x->plan->clones[i];
    return c->ip || strcmp(plan_network(c), "user") != 0;
}

static int wait_all(struct ctx *x, struct fleet_report *rep)
{
    unsigned timeout = x->o->timeout ? x->o->timeout : 600;
    struct timespec t0, now;
    size_t want = 0, have = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        want = have = 0;
        for (size_t i = 0; i < rep->n; i++) {
            free(rep->rows[i].ip_seen);
            rep->rows[i].ip_seen = NULL;
        }
        fill_addresses(x, rep);
        for (size_t i = 0; i < rep->n; i++) {
            struct fleet_row *r = &rep->rows[i];
            if (!awaited(x, i))
                continue;
            want++;
            if (r->ip_seen && (!r->ip[0] || strcmp(r->ip, r->ip_seen) == 0))
                have++;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long el = now.tv_sec - t0.tv_sec;
        progress(x, "fleet %s: waiting for addresses: %zu/%zu (%lds)", x->plan->fleet, have, want, el);
        if (have == want)
            return 0;
        if (el >= (long)timeout || cancel_check("the clones keep running") < 0)
            break;
        sleep(1);
    }
    rep->missing_ip = (unsigned)(want - have);
    CLEANUP_FREE char *names = xstrdup("");
    CLEANUP_FREE char *tail = NULL;
    for (size_t i = 0; i < rep->n; i++) {
        struct fleet_row *r = &rep->rows[i];
        if (!awaited(x, i) || (r->ip_seen && (!r->ip[0] || strcmp(r->ip, r->ip_seen) == 0)))
            continue;
        char *n = xasprintf("%s%s%s", names, *names ? ", " : "", r->name);
        free(names);
        names = n;
        if (!tail && (tail = last_console_lines(r->name))) {
            /* Above the error, as install shows them: the error stays one line. */
            progress_clear();
            fprintf(stderr, "vmstamp: last console lines of '%s':\n%s\n", r->name, tail);
        }
    }
    if (tail)
        return error("no address after %u s for %s: see the last console lines of the first above", timeout, names);
    return error("no address after %u s for %s: check its network (vmstamp fleet status)", timeout, names);
}

int fleet_status(const struct fleet_plan *plan, const struct fleet_opts *o, struct fleet_report *rep)
{
    struct ctx x;
    int ret = -1;

    memset(rep, 0, sizeof *rep);
    if (ctx_open(&x, plan, o, rep) == 0 && classify(&x, rep, 0) == 0) {
        for (size_t i = 0; i < rep->n; i++)
            if (rep->rows[i].action == FLEET_CREATE)
                rep->rows[i].state = (free(rep->rows[i].state), xstrdup("missing"));
        fill_addresses(&x, rep);
        ret = 0;
    }
    ctx_release(&x);
    return ret;
}

int fleet_wait(const struct fleet_plan *plan, const struct fleet_opts *o, struct fleet_report *rep)
{
    struct ctx x;
    int ret = -1;

    memset(rep, 0, sizeof *rep);
    if (ctx_open(&x, plan, o, rep) == 0 && classify(&x, rep, 0) == 0 && start_all(&x, rep) == 0 &&
        wait_all(&x, rep) == 0)
        ret = 0;
    ctx_release(&x);
    return ret;
}

static int stop_all(struct ctx *x, struct fleet_report *rep)
{
    unsigned timeout = x->o->timeout ? x->o->timeout : 60;
    struct timespec t0, now;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        size_t running = 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int late = now.tv_sec - t0.tv_sec >= (long)timeout;
        for (size_t i = 0; i < rep->n; i++) {
            struct fleet_row *r = &rep->rows[i];
            struct host *h;
            row_host_conn(x, r, &h);
            if (!h || r->action == FLEET_CREATE)
                continue;
            CLEANUP_DOMAIN virDomainPtr dom = virDomainLookupByName(h->conn, r->name);
            if (!dom || virDomainIsActive(dom) != 1) {
                free(r->state);
                r->state = xstrdup("shut-off");
                continue;
            }
            running++;
            if (late)
                virDomainDestroy(dom);
            else if (now.tv_sec == t0.tv_sec)
                virDomainShutdown(dom);
            error_clear();
        }
        progress(x, "fleet %s: stopping: %zu running", x->plan->fleet, running);
        if (!running)
            return 0;
        if (late) {
            sleep(1);
            continue;
        }
        if (cancel_check("some clones still run") < 0)
            return -1;
        sleep(1);
    }
}

int fleet_power(const struct fleet_plan *plan, const struct fleet_opts *o, enum fleet_power what,
                struct run *run, struct fleet_report *rep)
{
    struct ctx x;
    int ret = -1;

    memset(rep, 0, sizeof *rep);
    if (what == FLEET_DESTROY && lock_fleet(plan, o, run) < 0)
        return -1;
    if (ctx_open(&x, plan, o, rep) < 0 || classify(&x, rep, 0) < 0)
        goto out;
    switch (what) {
    case FLEET_START:
        ret = start_all(&x, rep);
        break;
    case FLEET_STOP:
        ret = stop_all(&x, rep);
        break;
    case FLEET_DESTROY:
        ret = remove_rows(&x, rep, 1);
        if (ret == 0) {
            CLEANUP_FREE char *path = xasprintf("%s/%s.known_hosts", FLEET_STATE_DIR, plan->fleet);
            struct stat st;
            if (stat(path, &st) == 0 && st.st_size == 0)
                unlink(path);
        }
        for (size_t i = 0; i < rep->n; i++)
            if (rep->rows[i].action != FLEET_CREATE && rep->rows[i].action != FLEET_FAILED)
                rep->rows[i].state = (free(rep->rows[i].state), xstrdup("removed"));
        break;
    }
    if (ret == 0 && rep->host_errors && rep->host_errors[0]) {
        error("some hosts failed: run it again when they are back");
        ret = -1;
    }
out:
    ctx_release(&x);
    return ret;
}
