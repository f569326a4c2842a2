/* install.c: see install.h. */
#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/accel.h"
#include "adapters/bundle.h"
#include "adapters/command.h"
#include "adapters/inject.h"
#include "adapters/iso.h"
#include "adapters/lvm.h"
#include "adapters/osinfo.h"
#include "adapters/qemuimg.h"
#include "adapters/virt.h"
#include "adapters/volume.h"
#include "base/cancel.h"
#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "base/fileio.h"
#include "base/journal.h"
#include "base/proc.h"
#include "pipeline/install.h"
#include "pipeline/qemuperm.h"
#include "pure/domxml.h"
#include "pure/installer.h"
#include "pure/kickstart.h"
#include "pure/util.h"

#define CONSOLE_TAIL 20

void install_result_release(struct install_result *res)
{
    if (!res)
        return;
    free(res->disk);
    free(res->pool);
    free(res->iso);
    free(res->console_log);
    free(res->os_variant);
    free(res->os_name);
    free(res->kickstart_sha256);
    memset(res, 0, sizeof *res);
}

/* The kickstart as the installer will see it: variables substituted, root
 * password set, linted. VARS: HOSTNAME=NAME first, NULL-terminated.
 * Returns the text (caller frees) or NULL; *SUM: SHA-256 of the file. */
static char *prepare_kickstart(const struct install_request *r, char *const *vars, char sum[65])
{
    CLEANUP_FREE char *text = NULL;
    CLEANUP_FREE char *subst = NULL;
    CLEANUP_FREE char *bad_line = NULL;
    struct ks_issue *issues = NULL;
    size_t n = 0, len = 0;
    struct stat st;

    if (stat(r->kickstart, &st) < 0) {
        error("kickstart '%s' not found", r->kickstart);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        error("kickstart '%s' is not a regular file", r->kickstart);
        return NULL;
    }
    text = read_file_limited(r->kickstart, READ_MAX_DOCUMENT, 0, "kickstart", "give a kickstart file", &len);
    if (!text)
        return NULL;
    if (digest_buffer_hex(DIGEST_SHA256, text, len, sum) < 0)
        return NULL;
    subst = ks_substitute(text, vars, &bad_line);
    if (!subst) {
        const char *m = error_message();
        if (m && strncmp(m, "kickstart line ", 15) == 0) {
            CLEANUP_FREE char *msg = xstrdup(m + 15);
            error_replace("kickstart '%s' line %s", r->kickstart, msg);
        } else {
            CLEANUP_FREE char *msg = xstrdup(m ? m : "cannot substitute variables");
            error_replace("kickstart '%s': %s", r->kickstart, msg);
        }
        return NULL;
    }
    /* Lint what the file says (line numbers are the file's). */
    if (ks_lint(subst, &issues, &n) < 0)
        return NULL;
    if (n > 0) {
        error("kickstart '%s' line %d: %s%s", r->kickstart, issues[0].line, issues[0].message,
              n > 1 ? " (and more: vmstamp kickstart lint)" : "");
        ks_issues_free(issues, n);
        return NULL;
    }
    ks_issues_free(issues, n);
    if (r->password_file) {
        CLEANUP_FREE char *password = read_password_file(r->password_file);
        CLEANUP_FREE char *hash = NULL;
        char *out;

        if (!password)
            return NULL;
        hash = hash_password(password);
        explicit_bzero(password, strlen(password));
        if (!hash)
            return NULL;
        out = ks_set_rootpw(subst, hash);
        if (!out)
            return NULL;
        free(subst);
        subst = out;
    }
    return steal_pointer(&subst); /* caller frees */
}

/* The ISO's checksum: checked before anything boots. */
static int check_sha256(const char *path, const char *want, const char *from)
{
    char hex[65];

    if (sha256_file(path, hex) < 0)
        return -1;
    if (cancel_check("nothing was created") < 0)
        return -1;
    if (strcasecmp(hex, want) != 0)
        return error("ISO '%s' has SHA-256 %s, not %s (%s): a corrupt or different download", path, hex, want,
                     from);
    return 0;
}

/* The serial console log, read as it grows. */
struct console {
    const char *path;
    off_t pos; /* bytes consumed */
    struct console_lines lines;
};

/* Read what was added; returns 1 if the log grew. */
static int console_poll(struct console *c)
{
    CLEANUP_CLOSE int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    char buf[16384];
    ssize_t n;
    int grew = 0;
    struct stat st;

    if (fd < 0)
        return 0;
    if (fstat(fd, &st) == 0 && st.st_size < c->pos) /* truncated (restart) */
        c->pos = 0;
    while ((n = pread(fd, buf, sizeof buf, c->pos)) > 0) {
        grew = 1;
        c->pos += n;
        console_feed(&c->lines, buf, (size_t)n);
    }
    return grew;
}

/* The last CONSOLE_TAIL lines of the log, to stderr. */
static void print_console_tail(const char *name, const char *path)
{
    CLEANUP_FREE char *text = read_file(path, NULL);
    const char *lines[CONSOLE_TAIL];
    size_t n;

    if (!text) { /* the install's error stays the recorded one (the first) */
        fprintf(stderr, "vmstamp: no console output from '%s' (%s)\n", name, path);
        return;
    }
    n = console_tail(text, lines, CONSOLE_TAIL);
    fprintf(stderr, "vmstamp: last %zu console line%s of '%s' (%s):\n", n, n == 1 ? "" : "s", name, path);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  | %s\n", lines[i]);
}

static time_t now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Poll the domain every 0.1 s until it is gone. Returns 0 when it shut
 * off on its own with no failure on the console; -1 (error recorded) and
 * *show_console when the console tells why. */
static int wait_install(virDomainPtr dom, const struct install_request *r, struct console *con, time_t t0,
                        int *show_console)
{
    int progress = isatty(STDERR_FILENO) && !quiet;
    long long last_wr = -1, last_io = -1;
    time_t last_activity = now_s();
    int ret = -1;
    CLEANUP_FREE char *mac = NULL; /* the NIC, for its counters */
    const char *failed = con->lines.failed, *last = con->lines.last;
    virConnectPtr conn = virDomainGetConnect(dom); /* (a libvirt call: it clears the last error, so not in an error()) */

    if (strcmp(r->network, "user") != 0) {
        CLEANUP_FREE char *xml = virt_domain_xml(dom);
        mac = xml ? xml_get(xml, "/domain/devices/interface/mac/@address") : NULL;
        error_clear();
    }

    *show_console = 0;
    for (;;) {
        struct timespec tick = { 0, 100 * 1000 * 1000 };
        nanosleep(&tick, NULL);
        if (cancel_requested()) {
            error_replace("interrupted: install of '%s' stopped, its disk removed", r->name);
            break;
        }
        time_t now = now_s();
        int active = virDomainIsActive(dom);
        if (active < 0 && virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
            error("cannot query install domain '%s': %s", r->name, virt_error_on(conn));
            break;
        }
        int grew = console_poll(con);
        if (active <= 0) { /* gone: powered off (or destroyed from outside) */
            /* virtlogd may still be writing the last lines: read until the
             * kernel's last word (or a failure) is there, at most 0.5 s. */
            for (int i = 0; i < 25 && !failed[0] && !console_final(last); i++) {
                struct timespec settle = { 0, 20 * 1000 * 1000 };
                nanosleep(&settle, NULL);
                console_poll(con);
            }
            if (failed[0]) {
                error("install of '%s' failed: console says \"%s\"", r->name, failed);
                *show_console = 1;
                break;
            }
            ret = 0;
            break;
        }
        /* qemu stops a guest whose disk write fails for want of space
         * (werror=enospc): nothing will move again, say why now. */
        int state, reason;
        if (virDomainGetState(dom, &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED &&
            reason == VIR_DOMAIN_PAUSED_IOERROR) {
            virDomainDiskError errs[4];
            int nerr = virDomainGetDiskErrors(dom, errs, 4, 0);
            int nospace = 0;
            for (int i = 0; i < nerr; i++) {
                nospace |= errs[i].error == VIR_DOMAIN_DISK_ERROR_NO_SPACE;
                free(errs[i].disk);
            }
            if (nospace) {
                uint64_t avail = 0;
                char av[32];
                virt_pool_available(virDomainGetConnect(dom), r->pool, &avail);
                error_clear();
                error("install of '%s' stopped: storage pool '%s' is out of space (%s free): free some space "
                      "or pass --pool", r->name, r->pool, human_size(avail, av, sizeof av));
            } else {
                error("install of '%s' stopped on a disk I/O error (%s): console log %s", r->name, r->pool,
                      con->path);
                *show_console = 1;
            }
            break;
        }
        /* Activity, as Oz counts it: bytes through the disk, read from the
         * CD-ROM, sent by the NIC (what the guest sends: a download sends
         * ACKs, while traffic that merely arrives does not prove the guest
         * alive; libvirt has no counters for a user-mode NIC). */
        virDomainBlockStatsStruct bs;
        virDomainInterfaceStatsStruct is;
        long long wr = last_wr, io = 0;
        if (virDomainBlockStats(dom, "vda", &bs, sizeof bs) == 0) {
            wr = bs.wr_bytes;
            io += bs.wr_bytes + bs.rd_bytes;
        }
        if (virDomainBlockStats(dom, "sda", &bs, sizeof bs) == 0)
            io += bs.rd_bytes;
        if (mac && virDomainInterfaceStats(dom, mac, &is, sizeof is) == 0)
            io += is.tx_bytes;
        if (grew || io != last_io)
            last_activity = now;
        last_wr = wr;
        last_io = io;
        if (failed[0]) {
            error("install of '%s' failed: console says \"%s\"", r->name, failed);
            *show_console = 1;
            break;
        }
        if (now - t0 >= r->timeout) {
            error("install of '%s' did not finish within %ld s (--timeout): console log %s", r->name, r->timeout,
                  con->path);
            *show_console = 1;
            break;
        }
        if (now - last_activity >= r->inactivity) {
            error("install of '%s' made no progress for %ld s (no disk, CD-ROM or network I/O, no console output; "
                  "--inactivity-timeout): console log %s", r->name, r->inactivity, con->path);
            *show_console = 1;
            break;
        }
        if (progress) {
            char el[32], wb[32];
            installer_elapsed((long)(now - t0), el, sizeof el);
            human_size(wr > 0 ? (uint64_t)wr : 0, wb, sizeof wb);
            fprintf(stderr, "\r\033[K%s: installing %s, %s written | %.50s", r->name, el, wb, last);
            fflush(stderr);
        }
    }
    if (progress) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    return ret;
}

/* 1 if any user can read PATH: the file is o+r and every directory above
 * it o+x. Then qemu reads the ISO without libvirt changing its owner. */
static int world_readable(const char *path)
{
    CLEANUP_FREE char *p = xstrdup(path);
    struct stat st;
    char *slash;

    if (stat(p, &st) < 0 || !(st.st_mode & S_IROTH))
        return 0;
    while ((slash = strrchr(p, '/')) && slash != p) {
        *slash = '\0';
        if (stat(p, &st) < 0 || !(st.st_mode & S_IXOTH))
            return 0;
    }
    return 1;
}

/* REQ with the defaults filled in, checked as a library caller may pass
 * anything (the command says the same things as usage errors first). */
static int settle_request(const struct install_request *req, struct install_request *r)
{
    *r = *req;
    if (!r->iso || !r->kickstart || !r->name)
        return error("install: an ISO, a kickstart and a name are needed");
    if (!r->size)
        r->size = 10ULL << 30;
    if (!r->memory_kib)
        r->memory_kib = 1024 * 1024;
    if (!r->vcpus)
        r->vcpus = 1;
    if (!r->pool)
        r->pool = "default";
    if (!r->network)
        r->network = "default";
    if (!r->timeout)
        r->timeout = 1800;
    if (!r->inactivity)
        r->inactivity = 300;
    if (!r->iso_sha256_from)
        r->iso_sha256_from = "--iso-sha256";
    if (!r->kernel != !r->initrd)
        return error("install of '%s': a kernel path needs an initrd path, and the other way round", r->name);
    if (r->extra_args && installer_args_name_kickstart(r->extra_args))
        return error("install of '%s': the extra kernel arguments name a kickstart (ks= or inst.ks=): vmstamp "
                     "injects the kickstart itself", r->name);
    if (r->iso_sha256 && !is_sha256_hex(r->iso_sha256))
        return error("invalid ISO checksum '%s' (%s): give 64 hex digits", r->iso_sha256, r->iso_sha256_from);
    if (!valid_domain_name(r->name))
        return error("invalid name '%s': use 1-64 letters, digits, '.', '_' or '-'", r->name);
    if (!valid_hostname(r->name))
        return error("invalid host name '%s' (RFC 1123): the name becomes @@HOSTNAME@@; use letters, digits and '-'",
                     r->name);
    return 0;
}

int install_run(virConnectPtr conn, const struct install_request *req, struct run *run,
                struct install_result *res)
{
    struct install_request r;
    char **vars = NULL;
    CLEANUP_FREE char *ks = NULL;
    CLEANUP_FREE char *volid = NULL;
    CLEANUP_FREE char *iso = NULL;
    struct pool_target target = { 0 };
    CLEANUP_FREE char *disk = NULL;
    CLEANUP_FREE char *tmpdir = NULL;
    CLEANUP_FREE char *initrd_ks = NULL;
    CLEANUP_FREE char *cmdline = NULL;
    CLEANUP_FREE char *xml = NULL;
    CLEANUP_FREE char *console_log = NULL;
    CLEANUP_FREE char *uri = NULL;
    struct iso_boot boot = { 0 };
    struct os_variant osv = { 0 };
    struct netspec net = { 0 };
    struct console con = { 0 };
    virDomainPtr dom = NULL;
    int ret = -1, rc, disk_step = -1, show_console = 0, tmp_made = 0;
    char ks_sum[65] = "";
    time_t t0 = 0;

    memset(res, 0, sizeof *res);
    cancel_push();
    if (settle_request(req, &r) < 0)
        goto fail;
    if (netspec_parse(r.network, &net) < 0)
        goto fail;
    /* HOSTNAME=NAME first: a later --var HOSTNAME=... wins. */
    vars = xcalloc(r.nvars + 2, sizeof *vars);
    vars[0] = xasprintf("HOSTNAME=%s", r.name);
    for (size_t i = 0; i < r.nvars; i++)
        vars[i + 1] = (char *)r.vars[i];

    /* Everything that can be checked without libvirt. */
    if (r.os_variant && os_variant_lookup(r.os_variant, &osv) < 0)
        goto fail;
    if (iso_volume_id(r.iso, &volid) < 0)
        goto fail;
    iso = realpath(r.iso, NULL);
    if (!iso) {
        error("ISO '%s' not found", r.iso);
        goto fail;
    }
    ks = prepare_kickstart(&r, vars, ks_sum);
    if (!ks)
        goto fail;
    if (r.iso_sha256 && check_sha256(iso, r.iso_sha256, r.iso_sha256_from) < 0)
        goto fail;

    /* The name and the volume are claimed before they are checked, so
     * two runs cannot both find them free. */
    if (run_claim_domain(run, conn, r.name) < 0)
        goto fail;
    rc = virt_domain_exists(conn, r.name);
    if (rc < 0)
        goto fail;
    if (rc) {
        error("domain '%s' already exists: pick another name or remove it (vmstamp rm %s)", r.name, r.name);
        goto fail;
    }
    if (virt_pool_target(conn, r.pool, &target) < 0)
        goto fail;
    if (target.logical) {
        /* An LVM pool: the installed system goes on a new (raw) LV. */
        const char *problem = lvm_name_problem(r.name);
        if (problem) {
            error("install name '%s' cannot name a logical volume: it %s; pick another name", r.name, problem);
            goto fail;
        }
        disk = xasprintf("%s/%s", target.path, r.name);
    } else {
        disk = xasprintf("%s/%s.qcow2", target.path, r.name);
    }
    console_log = xasprintf("/var/log/libvirt/qemu/%s-install.log", r.name);
    if (run_claim_path(run, "volume", disk) < 0)
        goto fail;
    if (target.logical) {
        rc = virt_pool_refresh(conn, r.pool) < 0 ? -1 : volume_exists(conn, r.pool, r.name, NULL);
        if (rc < 0)
            goto fail;
        if (rc) {
            error("volume '%s' already exists in pool '%s': remove it or pick another name", r.name, r.pool);
            goto fail;
        }
    } else if (access(disk, F_OK) == 0) {
        error("volume '%s.qcow2' already exists in pool '%s': remove it or pick another name", r.name, r.pool);
        goto fail;
    }
    if (virt_network_check(conn, &net) < 0)
        goto fail;
    {
        /* As virt-install does: a sparse disk may outgrow the pool. */
        uint64_t avail;
        char av[32], sz[32];
        if (virt_pool_available(conn, r.pool, &avail) == 0 && avail < r.size)
            warning("storage pool '%s' has %s free, less than the %s disk: the install fails if it fills the pool",
                    r.pool, human_size(avail, av, sizeof av), human_size(r.size, sz, sizeof sz));
        error_clear();
    }

    enum accel accel;
    {
        CLEANUP_FREE char *why = NULL;
        accel = accel_decide(&why);
        debug("accelerator: %s (%s)", accel_name(accel), why);
    }
    {
        /* What the install domain opens: the ISO, the disk (the kernel and
         * initrd go to a directory vmstamp makes, open to all). */
        const char *opened[] = { iso, disk };
        /* An LV is a block device libvirt labels for qemu: only the ISO. */
        if (qemuperm_check(conn, accel_domain_type(accel), opened, target.logical ? 1 : 2, r.fix_permissions) < 0)
            goto fail;
        if (!target.logical)
            qemuperm_selinux_warning(conn, r.pool, target.path);
    }
    if (cancel_check("nothing was created") < 0)
        goto fail;
    uri = virConnectGetURI(conn);
    if (!uri) {
        error("cannot get the libvirt connection's URI: %s", virt_error());
        goto fail;
    }

    /* Kernel and initrd, where qemu (libvirt-qemu) can read them; named
     * by the run, so recovery finds the directory of a run that died. */
    tmpdir = xasprintf("/var/tmp/vmstamp-install.%s", proc_run_id());
    {
        int step = journal_tree(run->journal, tmpdir);
        if (step < 0)
            goto fail;
        if (mkdir(tmpdir, 0755) < 0) {
            error("cannot create '%s': %s", tmpdir, strerror(errno));
            journal_drop(run->journal, step);
            goto fail;
        }
        tmp_made = 1;
        chmod(tmpdir, 0755);
    }
    t0 = now_s();
    if (iso_extract_boot(iso, r.kernel, r.initrd, tmpdir, &boot) < 0)
        goto fail;
    initrd_ks = xasprintf("%s/initrd.ks", tmpdir);
    /* initrd.ks holds the root password hash: owner only (libvirt hands
     * the file to qemu when the domain starts). */
    if (inject_file(boot.initrd, initrd_ks, 0600, "ks.cfg", ks, strlen(ks)) < 0)
        goto fail;
    unlink(boot.initrd);
    debug("read %llu bytes of ISO %s (kernel %s, initrd %s)", (unsigned long long)boot.bytes_read, iso,
          boot.kernel_path, boot.initrd_path);
    if (cancel_check("nothing was created") < 0)
        goto fail;

    /* The target disk, under its final name: journaled, then created
     * exclusively (a file that appeared meanwhile is not ours to remove). */
    if (journal_pool(run->journal, uri, r.pool) < 0)
        goto fail;
    if (target.logical) {
        /* Journaled, then made under its name through libvirt. */
        disk_step = journal_volume(run->journal, uri, r.pool, r.name);
        if (disk_step < 0)
            goto fail;
        rc = volume_create_lv(conn, r.pool, r.name, r.size, NULL, NULL);
        if (rc == VOLUME_EXISTED) {
            journal_drop(run->journal, disk_step);
            disk_step = -1;
        }
        if (rc < 0)
            goto fail;
    } else if ((disk_step = journal_file(run->journal, disk)) < 0) {
        goto fail;
    } else {
        int fd = open(disk, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            int err = errno;
            journal_drop(run->journal, disk_step);
            disk_step = -1;
            if (err == EEXIST)
                error("volume '%s.qcow2' already exists in pool '%s': remove it or pick another name", r.name,
                      r.pool);
            else
                error("cannot create '%s': %s", disk, strerror(err));
            goto fail;
        }
        close(fd);
    }
    if (!target.logical && qemuimg_create(disk, "qcow2", r.size) < 0)
        goto fail;
    if (!target.logical && chmod(disk, 0600) < 0) {
        error("cannot chmod '%s': %s", disk, strerror(errno));
        goto fail;
    }
    if (cancel_requested()) {
        error_replace("interrupted: install of '%s' stopped, its disk removed", r.name);
        goto fail;
    }

    cmdline = installer_cmdline(os_variant_ks_arg(&osv), boot.volume_id, r.extra_args);
    {
        /* The transient install domain: direct kernel boot, the ISO as a
         * CD-ROM, ended by the installer's power-off or first reboot. */
        struct domain_spec spec = {
            .name = r.name, .virt_type = accel_domain_type(accel), .machine = "q35", .memory_kib = r.memory_kib,
            .vcpus = r.vcpus, .disk_path = disk, .disk_format = target.logical ? "raw" : "qcow2",
            .disk_block = target.logical, .net = &net,
            .console_log = console_log, .kernel = boot.kernel, .initrd = initrd_ks, .cmdline = cmdline,
            .cdrom = iso, .cdrom_no_relabel = world_readable(iso), .on_reboot_destroy = 1,
            .os_id = osv.id,
        };
        xml = domxml_build(&spec);
        if (!xml)
            goto fail;
    }
    debug("install domain XML:\n%s", xml);
    con.path = console_log;
    if (journal_domain(run->journal, uri, r.name) < 0)
        goto fail;
    dom = virDomainCreateXML(conn, xml, 0);
    if (!dom) {
        error("cannot start install domain '%s': %s", r.name, virt_error());
        goto fail;
    }
    info("%s: installing %s from %s (%s, %s), console log %s", r.name, osv.name ? osv.name : "an OS", r.iso,
         boot.volume_id, accel_name(accel), console_log);

    if (wait_install(dom, &r, &con, t0, &show_console) < 0)
        goto fail;
    virDomainFree(dom);
    dom = NULL;

    if (virt_pool_refresh(conn, r.pool) < 0)
        goto fail;
    res->disk = steal_pointer(&disk);
    res->pool = xstrdup(r.pool);
    res->iso = steal_pointer(&iso);
    res->console_log = steal_pointer(&console_log);
    res->os_variant = xstrdup_or_null(osv.short_id);
    res->os_name = xstrdup_or_null(osv.name);
    res->kickstart_sha256 = xstrdup(ks_sum);
    res->elapsed = (long)(now_s() - t0);
    ret = 0;
    goto out;

fail:
    /* The domain goes now (it would write on); the disk is the run's to
     * remove, unless it is kept. */
    if (dom) {
        if (virDomainIsActive(dom) == 1)
            virDomainDestroy(dom);
        virDomainFree(dom);
        dom = NULL;
    }
    if (show_console)
        print_console_tail(r.name, console_log);
    if (disk_step >= 0 && r.keep_failed) {
        journal_drop(run->journal, disk_step);
        fprintf(stderr, "vmstamp: kept the disk of the failed install: %s (--keep-failed)\n", disk);
    }
out:
    if (tmp_made && remove_tree(tmpdir) < 0) {
        /* The run's journal still names it: rollback or recovery retries. */
        if (ret == 0) {
            warning("cannot remove '%s': %s", tmpdir, error_message());
            error_clear();
        } else {
            warning("cannot remove '%s'", tmpdir);
        }
    }
    if (ks)
        explicit_bzero(ks, strlen(ks));
    if (vars)
        free(vars[0]);
    free(vars);
    iso_boot_release(&boot);
    os_variant_release(&osv);
    netspec_release(&net);
    pool_target_release(&target);
    cancel_pop();
    return ret;
}

/* SIZE bytes as qemu-img and --size take it: 10G, 1536M, or bytes. */
static void add_size(struct command *cmd, const char *opt, uint64_t bytes, int bare_mib)
{
    command_add(cmd, opt);
    if (bare_mib && bytes % (1 << 20) == 0)
        command_addf(cmd, "%llu", (unsigned long long)(bytes >> 20));
    else if (bytes % (1ULL << 30) == 0)
        command_addf(cmd, "%lluG", (unsigned long long)(bytes >> 30));
    else if (bytes % (1 << 20) == 0)
        command_addf(cmd, "%lluM", (unsigned long long)(bytes >> 20));
    else if (bytes % 1024 == 0)
        command_addf(cmd, "%lluK", (unsigned long long)(bytes >> 10));
    else
        command_addf(cmd, "%llu", (unsigned long long)bytes);
}

static void add_opt(struct command *cmd, const char *opt, const char *value)
{
    if (value) {
        command_add(cmd, opt);
        command_add(cmd, value);
    }
}

char *install_command_line(const struct install_request *req)
{
    struct command *cmd = command_new("vmstamp");
    char *s;

    command_add(cmd, "install");
    add_opt(cmd, "--iso", req->iso);
    add_opt(cmd, "--kickstart", req->kickstart);
    add_opt(cmd, "--name", req->name);
    add_opt(cmd, "--os-variant", req->os_variant);
    if (req->size)
        add_size(cmd, "--size", req->size, 0);
    if (req->memory_kib)
        add_size(cmd, "--memory", req->memory_kib * 1024, 1); /* a bare number is MiB */
    if (req->vcpus) {
        command_add(cmd, "--vcpus");
        command_addf(cmd, "%u", req->vcpus);
    }
    add_opt(cmd, "--pool", req->pool);
    add_opt(cmd, "--network", req->network);
    add_opt(cmd, "--root-password-file", req->password_file);
    add_opt(cmd, "--kernel", req->kernel);
    add_opt(cmd, "--initrd", req->initrd);
    add_opt(cmd, "--extra-args", req->extra_args);
    add_opt(cmd, "--iso-sha256", req->iso_sha256);
    if (req->timeout) {
        command_add(cmd, "--timeout");
        command_addf(cmd, "%ld", req->timeout);
    }
    if (req->inactivity) {
        command_add(cmd, "--inactivity-timeout");
        command_addf(cmd, "%ld", req->inactivity);
    }
    if (req->keep_failed)
        command_add(cmd, "--keep-failed");
    for (size_t i = 0; i < req->nvars; i++)
        add_opt(cmd, "--var", req->vars[i]);
    s = command_to_string(cmd);
    command_free(cmd);
    return s; /* caller frees */
}
