/* run.c: a run as one transaction: journal, claims, signals, recovery. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/appliance.h"
#include "adapters/virt.h"
#include "adapters/virtnet.h"
#include "adapters/volume.h"
#include "base/cancel.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "base/fileio.h"
#include "base/proc.h"
#include "guest/layout.h"
#include "pipeline/run.h"
#include "pure/edit.h"
#include "pure/fleetplan.h"

/* Connections the undo steps use, one per URI (a fleet's hosts: any
 * number). A host that could not be reached is remembered with its error,
 * so its other steps fail at once instead of each waiting to connect. */
struct undo_ctx {
    struct undo_conn {
        char *uri;
        virConnectPtr conn; /* NULL: unreachable, see error */
        char *error;
    } *conns;
    size_t nconns;
    const char *who; /* "run 1234 (clone a b)" when recovering; NULL: silent rollback */
    int removed;
    int wait_s; /* a failed run's own rollback: how long to wait for a libvirt daemon that went away */
};

/* A daemon restarted meanwhile (systemctl restart libvirtd) is back within
 * seconds: the run that lost it waits that long to undo its domains itself
 * rather than leave them to the next run. */
#define ROLLBACK_WAIT_S 15

static void removed(struct undo_ctx *u, const char *what, const char *name)
{
    u->removed++;
    if (u->who)
        info("vmstamp: recovered %s: removed %s %s", u->who, what, name);
}

static virConnectPtr undo_conn(struct undo_ctx *u, const char *uri)
{
    struct undo_conn *c;

    for (size_t i = 0; i < u->nconns; i++) {
        c = &u->conns[i];
        if (strcmp(c->uri, uri) == 0) {
            if (!c->conn)
                error("%s", c->error);
            return c->conn;
        }
    }
    u->conns = xreallocarray(u->conns, u->nconns + 1, sizeof *u->conns);
    c = &u->conns[u->nconns++];
    c->uri = xstrdup(uri);
    c->error = NULL;
    c->conn = virt_connect(uri); /* records "cannot connect to libvirt at 'URI': ..." */
    if (!c->conn && u->wait_s > 0 && !cancel_requested()) {
        debug("libvirt at '%s' cannot be reached: waiting up to %d s for it, to undo this run", uri, u->wait_s);
        for (int i = 0; i < u->wait_s * 4 && !c->conn && !cancel_requested(); i++) {
            struct timespec quarter = { 0, 250 * 1000 * 1000 };
            nanosleep(&quarter, NULL);
            c->conn = virConnectOpen(uri);
        }
        if (c->conn)
            debug("libvirt at '%s' is back", uri);
    }
    if (!c->conn) /* (as virt_connect words it: an earlier error may hold the recorded slot) */
        c->error = xasprintf("cannot connect to libvirt at '%s': %s", uri, virt_error());
    return c->conn;
}

static void undo_ctx_release(struct undo_ctx *u)
{
    for (size_t i = 0; i < u->nconns; i++) {
        free(u->conns[i].uri);
        free(u->conns[i].error);
        if (u->conns[i].conn)
            virConnectClose(u->conns[i].conn);
    }
    free(u->conns);
    u->conns = NULL;
    u->nconns = 0;
}

static int undo_file(void *ctx, const char *path)
{
    struct undo_ctx *u = ctx;
    struct stat st;

    if (lstat(path, &st) < 0)
        return 0;
    /* A dead run's appliance may still hold (and lock) the disk. */
    proc_kill_holders(path, "qemu");
    if (unlink(path) < 0 && errno != ENOENT)
        return error("cannot remove '%s': %s", path, strerror(errno));
    removed(u, "file", path);
    return 1;
}

static int undo_tree(void *ctx, const char *path)
{
    struct undo_ctx *u = ctx;
    struct stat st;

    if (lstat(path, &st) < 0)
        return 0;
    /* A dead template run's appliance may hold the work overlay in it. */
    CLEANUP_FREE char *below = xasprintf("%s/", path);
    proc_kill_holders(below, "qemu");
    if (remove_tree(path) < 0)
        return -1;
    removed(u, "directory", path);
    return 1;
}

static int undo_domain(void *ctx, const char *uri, const char *name)
{
    struct undo_ctx *u = ctx;
    virConnectPtr conn = undo_conn(u, uri);
    virDomainPtr dom;
    int r;

    if (!conn)
        return -1;
    dom = virDomainLookupByName(conn, name);
    if (!dom) {
        if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
            return 0;
        return error("cannot look up domain '%s' on %s: %s", name, uri, virt_error());
    }
    r = virt_domain_remove(dom);
    virDomainFree(dom);
    if (r == 0)
        removed(u, "domain", name);
    return r < 0 ? -1 : 1;
}

static int undo_process(void *ctx, pid_t pid, unsigned long long start)
{
    struct undo_ctx *u = ctx;
    char what[32];

    if (!proc_alive(pid, start))
        return 0;
    kill(pid, SIGKILL);
    for (int i = 0; i < 200 && proc_alive(pid, start); i++) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    snprintf(what, sizeof what, "%d", (int)pid);
    removed(u, "process", what);
    return 1;
}

static int undo_pool(void *ctx, const char *uri, const char *name)
{
    struct undo_ctx *u = ctx;
    virConnectPtr conn = undo_conn(u, uri);

    if (!conn)
        return -1;
    virt_pool_refresh(conn, name);
    error_clear(); /* a pool that went away has nothing to list */
    return 0;
}

/* A host that cannot be reached fails the undo with virt_connect's one line
 * naming the URI: the journal is kept for the next run, as for domains. */
static int undo_volume(void *ctx, const char *uri, const char *pool, const char *name)
{
    struct undo_ctx *u = ctx;
    virConnectPtr conn = undo_conn(u, uri);
    CLEANUP_FREE char *what = NULL;
    int r;

    if (!conn)
        return -1;
    r = volume_delete(conn, pool, name);
    if (r > 0) {
        what = xasprintf("%s/%s on %s", pool, name, uri);
        removed(u, "volume", what);
    }
    return r;
}

static int undo_nethost(void *ctx, const char *uri, const char *network, const char *mac, const char *ip,
                        const char *name, const char *hostname)
{
    struct undo_ctx *u = ctx;
    virConnectPtr conn;
    CLEANUP_FREE char *what = NULL;
    uint32_t addr;
    int r;

    if (ipv4_parse(ip, &addr) < 0)
        return -1;
    conn = undo_conn(u, uri);
    if (!conn)
        return -1;
    r = virtnet_unreserve(conn, network, mac, addr, name, hostname);
    if (r > 0) {
        what = xasprintf("of %s for %s%s%s%s%s%s in network %s on %s", ip, mac, name ? " " : "", name ? name : "",
                         hostname ? " (DNS " : "", hostname ? hostname : "", hostname ? ")" : "", network, uri);
        removed(u, "reservation", what);
    }
    return r;
}

/* A clone's lines in a fleet's known_hosts file go (the file is rewritten
 * only if it had any). */
static int undo_knownhost(void *ctx, const char *path, const char *name)
{
    struct undo_ctx *u = ctx;
    size_t len;
    CLEANUP_FREE char *text = read_file(path, &len);
    char *names[] = { (char *)name };

    if (!text) {
        error_clear();
        return 0; /* no file: no lines */
    }
    CLEANUP_FREE char *kept = edit_known_hosts_drop(text, names, 1);
    if (strlen(kept) == len)
        return 0;
    if (write_file_atomic(path, kept, strlen(kept), 0644) < 0)
        return -1;
    CLEANUP_FREE char *what = xasprintf("of %s in %s", name, path);
    removed(u, "known_hosts lines", what);
    return 1;
}

const struct journal_undo_ops run_undo_ops = {
    .file = undo_file, .tree = undo_tree, .domain = undo_domain, .process = undo_process, .pool = undo_pool,
    .volume = undo_volume, .nethost = undo_nethost, .knownhost = undo_knownhost,
};

/* The run id "<pid>-<start>" at the start of NAME (after PREFIX); 1 if that
 * run is dead, 0 if alive or not a run id. */
static int dead_run_name(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    int pid;
    unsigned long long start;
    char tail;

    if (strncmp(name, prefix, n) != 0 || sscanf(name + n, "%d-%llu%c", &pid, &start, &tail) < 2)
        return 0;
    return pid != getpid() && !proc_alive(pid, start);
}

/* Private directories (and the grown-template copy being recorded) named
 * after a dead run, whether or not its journal got as far as naming them. */
static void sweep_private_dirs(void)
{
    static const struct { const char *dir, *prefix, *what; } places[] = {
        { "/run/vmstamp", "keys.", "directory" },
        { RUN_WORK_ROOT, "vmstamp-work.", "directory" },
        { "/var/tmp", "vmstamp-work.", "directory" }, /* made there before */
        { "/var/tmp", "vmstamp-install.", "directory" },
        { LAYOUT_CACHE_DIR, LAYOUT_GROWN_TMP_PREFIX, "file" },
        { APPLIANCE_DIR, APPLIANCE_TMP_PREFIX, "directory" },
    };

    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        DIR *d = opendir(places[i].dir);
        struct dirent *e;
        if (!d)
            continue;
        while ((e = readdir(d))) {
            char path[PATH_MAX];
            if (!dead_run_name(e->d_name, places[i].prefix))
                continue;
            snprintf(path, sizeof path, "%s/%s", places[i].dir, e->d_name);
            if (remove_tree(path) == 0)
                info("vmstamp: recovered a dead run: removed %s %s", places[i].what, path);
            error_clear();
        }
        closedir(d);
    }
}

char *run_work_dir(struct run *r, const char *prefix)
{
    struct stat st;
    char *dir;

    if (mkdir(RUN_WORK_ROOT, 0700) < 0 && errno != EEXIST) {
        error("cannot create directory '%s': %s", RUN_WORK_ROOT, strerror(errno));
        return NULL;
    }
    /* Another user's directory, or one they can write in, would let them
     * put a link or a file where the run works: refused. */
    if (lstat(RUN_WORK_ROOT, &st) < 0) {
        error("cannot stat '%s': %s", RUN_WORK_ROOT, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
        error("'%s' is not a directory of root's alone (%s, owner uid %lu, mode %04o): remove it, vmstamp makes it "
              "again", RUN_WORK_ROOT, S_ISLNK(st.st_mode) ? "a symbolic link" : S_ISDIR(st.st_mode) ? "a directory"
              : "a file", (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
        return NULL;
    }
    dir = xasprintf("%s/%s%s.XXXXXX", RUN_WORK_ROOT, prefix, proc_run_id());
    if (!mkdtemp(dir)) {
        error("cannot create a work directory in %s: %s", RUN_WORK_ROOT, strerror(errno));
        free(dir);
        return NULL;
    }
    /* Named after the run: a kill -9 before this line is swept by name. */
    if (journal_tree(r->journal, dir) < 0) {
        rmdir(dir);
        free(dir);
        return NULL;
    }
    return dir; /* caller frees */
}

char **stale_journals(void)
{
    DIR *d = opendir(JOURNAL_DIR);
    struct dirent *e;
    char **out = NULL;

    if (d) {
        while ((e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0 && dead_run_name(e->d_name, "")) {
                char *p;
                p = xasprintf("%s/%s", JOURNAL_DIR, e->d_name);
                strv_append(&out, p);
            }
        }
        closedir(d);
    }
    if (!out)
        out = xcalloc(1, sizeof *out);
    return out;
}

static int recover_one(const char *path)
{
    CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct journal_record rec;
    struct undo_ctx u = { 0 };
    char who[256];
    int r;

    if (fd < 0)
        return 0; /* another run recovered it meanwhile */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return 0; /* another run is recovering it now */
    if (access(path, F_OK) < 0)
        return 0;
    if (journal_read(path, &rec) < 0) {
        /* A header torn by a crash: the run made nothing yet. */
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size < 4096) {
            error_clear();
            unlink(path);
            return 0;
        }
        return -1;
    }
    snprintf(who, sizeof who, "run %d (%.200s)", (int)rec.pid, rec.command ? rec.command : "?");
    u.who = who;
    r = journal_replay(&rec, &run_undo_ops, &u);
    undo_ctx_release(&u);
    journal_record_release(&rec);
    if (r < 0)
        return -1;
    if (unlink(path) < 0 && errno != ENOENT)
        return error("cannot remove journal '%s': %s", path, strerror(errno));
    fsync_parent(path);
    if (u.removed == 0)
        debug("recovered %s: nothing of it was left", who);
    return 1;
}

int recover_dead_runs(void)
{
    CLEANUP_STRV char **stale = stale_journals();
    int n = 0, ret = 0;

    for (size_t i = 0; stale[i]; i++) {
        int r = recover_one(stale[i]);
        if (r < 0) {
            CLEANUP_FREE char *msg = xstrdup(error_message() ? error_message() : "unknown error");
            error_clear();
            warning("cannot undo all of the dead run in '%s' (%s): run 'vmstamp gc' again", stale[i], msg);
            ret = -1;
        }
        n += r > 0;
    }
    sweep_private_dirs();
    claims_sweep_stale();
    return ret < 0 ? -1 : n;
}

struct run *run_begin(const char *command)
{
    struct run *r = xcalloc(1, sizeof *r);
    recover_dead_runs();
    error_clear();
    r->journal = journal_begin(NULL, command);
    if (!r->journal) {
        free(r);
        return NULL;
    }
    r->claims = claims_new();
    cancel_push();
    return r;
}

int run_commit(struct run *r)
{
    if (journal_commit(r->journal) < 0)
        return -1;
    r->committed = 1;
    return 0;
}

void run_end(struct run *r)
{
    if (!r)
        return;
    if (!r->committed) {
        struct undo_ctx u = { .wait_s = ROLLBACK_WAIT_S };
        /* Keep the first error: the rollback's own messages must not hide it. */
        CLEANUP_FREE char *msg = error_message() ? xstrdup(error_message()) : NULL;
        CLEANUP_FREE char *left = NULL;
        error_clear(); /* (the first error recorded wins: the rollback's own must be seen) */
        if (journal_rollback(r->journal, &run_undo_ops, &u) < 0)
            left = xstrdup(error_message() ? error_message() : "?");
        undo_ctx_release(&u);
        error_clear();
        /* Still one line: the cause, then what is left and who removes it. */
        if (msg && left)
            error("%s; not all undone (%s): 'vmstamp gc' or the next run removes the rest", msg, left);
        else if (left)
            warning("could not undo everything (the next vmstamp run tries again): %s", left);
        else if (msg)
            error("%s", msg);
    }
    journal_free(r->journal);
    claims_free(r->claims);
    cancel_pop();
    free(r);
}

static int claim_named(struct run *r, const char *scope, const char *kind, const char *value, const char *what)
{
    pid_t holder;

    if (claim(r->claims, scope, kind, value, &holder) == 0)
        return 0;
    if (holder > 0)
        return error("%s is being made by another vmstamp run (pid %d): pick another or wait for it", what,
                     (int)holder);
    if (holder < 0)
        return error("%s is being made by another vmstamp run: pick another or wait for it", what);
    return -1;
}

int run_claim_domain(struct run *r, struct _virConnect *conn, const char *name)
{
    CLEANUP_FREE char *uri = virConnectGetURI(conn);
    CLEANUP_FREE char *what = NULL;

    what = xasprintf("domain name '%s'", name);
    return claim_named(r, uri ? uri : "?", "domain", name, what);
}

int run_claim_mac(struct run *r, struct _virConnect *conn, const char *mac)
{
    CLEANUP_FREE char *uri = virConnectGetURI(conn);
    CLEANUP_FREE char *what = NULL;

    what = xasprintf("MAC %s", mac);
    return claim_named(r, uri ? uri : "?", "mac", mac, what);
}

int run_claim_path(struct run *r, const char *what, const char *path)
{
    CLEANUP_FREE char *w = NULL;

    w = xasprintf("%s '%s'", what, path);
    return claim_named(r, "files", "path", path, w);
}

int run_undo_uri(struct run *r, const char *uri)
{
    struct undo_ctx u = { 0 };
    int ret = journal_undo_uri(r->journal, uri, &run_undo_ops, &u);

    undo_ctx_release(&u);
    return ret;
}
