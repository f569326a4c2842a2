/* cmd-install.c: vmstamp install. An unattended install from an installer
 * ISO, the way virt-install --location does it, as one transaction:
 *   1. check everything first (ISO, kickstart, password, checksum, name,
 *      pool, network): a mistake creates nothing;
 *   2. copy the kernel and initrd out of the ISO (libarchive, no mount),
 *      append a cpio holding ks.cfg to the initrd copy;
 *   3. create POOL/NAME.qcow2 and boot a transient domain from the kernel,
 *      the ISO as a read-only CD-ROM, the console logged to a file;
 *   4. wait for it to power off, watching disk writes and the console:
 *      timeouts, "INSTALLER: error:" and kernel panics fail the install.
 * A failure or Ctrl-C destroys the domain and deletes the disk (unless
 * --keep-failed). The ISO is never modified. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/accel.h"
#include "adapters/bundle.h"
#include "base/cleanup.h"
#include "commands/cmd.h"
#include "adapters/command.h"
#include "pure/domxml.h"
#include "base/error.h"
#include "adapters/inject.h"
#include "adapters/iso.h"
#include "pure/kickstart.h"
#include "adapters/osinfo.h"
#include "pure/util.h"
#include "adapters/virt.h"

#define MAX_VARS 128
#define CONSOLE_TAIL 20

static volatile int interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct install_opts {
    const char *iso;
    const char *kickstart;
    const char *name;
    uint64_t size;
    uint64_t memory_kib;
    unsigned vcpus;
    const char *pool;
    const char *network;
    const char *vars[MAX_VARS + 2]; /* HOSTNAME=NAME first, then --var, NULL */
    size_t nvars;
    const char *password_file;
    const char *kernel, *initrd;
    const char *extra_args;
    const char *iso_sha256;
    const char *os_variant;
    long timeout, inactivity;
    int keep_failed;
};

static int parse_seconds(const char *opt, const char *s, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    if (errno || *end || end == s || *out < 1 || *out > 7 * 86400)
        return cmd_bad_usage("install", "invalid --%s '%s': give seconds (1 to 604800)", opt, s);
    return 0;
}

static int once(const char *opt, const void *cur)
{
    if (cur)
        return cmd_bad_usage("install", "--%s given twice", opt);
    return 0;
}

/* 1 if ARGS has a word ks=... or inst.ks=... */
static int extra_args_name_kickstart(const char *args)
{
    for (const char *p = args; *p;) {
        size_t n;
        p += strspn(p, " \t");
        n = strcspn(p, " \t");
        if ((n >= 3 && strncmp(p, "ks=", 3) == 0) || (n >= 8 && strncmp(p, "inst.ks=", 8) == 0))
            return 1;
        p += n;
    }
    return 0;
}

static int parse_options(int argc, char **argv, struct install_opts *o)
{
    enum { O_ISO = 256, O_KS, O_NAME, O_SIZE, O_MEM, O_VCPUS, O_POOL, O_NET, O_VAR, O_PW,
           O_KERNEL, O_INITRD, O_EXTRA, O_SHA, O_TIMEOUT, O_INACT, O_KEEP, O_OSV };
    static const struct option opts[] = {
        { "iso", required_argument, NULL, O_ISO },
        { "kickstart", required_argument, NULL, O_KS },
        { "name", required_argument, NULL, O_NAME },
        { "size", required_argument, NULL, O_SIZE },
        { "memory", required_argument, NULL, O_MEM },
        { "vcpus", required_argument, NULL, O_VCPUS },
        { "pool", required_argument, NULL, O_POOL },
        { "network", required_argument, NULL, O_NET },
        { "var", required_argument, NULL, O_VAR },
        { "root-password-file", required_argument, NULL, O_PW },
        { "kernel", required_argument, NULL, O_KERNEL },
        { "initrd", required_argument, NULL, O_INITRD },
        { "extra-args", required_argument, NULL, O_EXTRA },
        { "iso-sha256", required_argument, NULL, O_SHA },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "inactivity-timeout", required_argument, NULL, O_INACT },
        { "keep-failed", no_argument, NULL, O_KEEP },
        { "os-variant", required_argument, NULL, O_OSV },
        { NULL, 0, NULL, 0 },
    };
    int c, r, have_size = 0, have_mem = 0, have_vcpus = 0, have_to = 0, have_inact = 0;
    char *end;

    o->memory_kib = 1024 * 1024;
    o->vcpus = 1;
    o->timeout = 1800;
    o->inactivity = 300;
    o->nvars = 1; /* slot 0: HOSTNAME=NAME */
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        r = 0;
        switch (c) {
        case O_ISO: r = once("iso", o->iso); o->iso = optarg; break;
        case O_KS: r = once("kickstart", o->kickstart); o->kickstart = optarg; break;
        case O_NAME: r = once("name", o->name); o->name = optarg; break;
        case O_SIZE:
            r = once("size", have_size ? "" : NULL);
            have_size = 1;
            if (!r && (parse_size(optarg, &o->size) < 0 || o->size < 64 * 1024 * 1024)) {
                error_clear();
                r = cmd_bad_usage("install", "invalid --size '%s': use e.g. 10G (at least 64M)", optarg);
            }
            break;
        case O_MEM:
            r = once("memory", have_mem ? "" : NULL);
            have_mem = 1;
            if (!r && parse_memory(optarg, &o->memory_kib) < 0) {
                error_report();
                r = 2;
            }
            break;
        case O_VCPUS:
            r = once("vcpus", have_vcpus ? "" : NULL);
            have_vcpus = 1;
            o->vcpus = (unsigned)strtoul(optarg, &end, 10);
            if (!r && (*end || o->vcpus == 0 || o->vcpus > 512))
                r = cmd_bad_usage("install", "invalid --vcpus '%s': give 1 to 512", optarg);
            break;
        case O_POOL: r = once("pool", o->pool); o->pool = optarg; break;
        case O_NET: r = once("network", o->network); o->network = optarg; break;
        case O_VAR:
            if (o->nvars > MAX_VARS)
                return cmd_bad_usage("install", "too many --var options (at most %d)", MAX_VARS);
            if (!strchr(optarg, '='))
                return cmd_bad_usage("install", "invalid --var '%s': use KEY=VALUE", optarg);
            o->vars[o->nvars++] = optarg;
            break;
        case O_PW: r = once("root-password-file", o->password_file); o->password_file = optarg; break;
        case O_KERNEL: r = once("kernel", o->kernel); o->kernel = optarg; break;
        case O_INITRD: r = once("initrd", o->initrd); o->initrd = optarg; break;
        case O_EXTRA: r = once("extra-args", o->extra_args); o->extra_args = optarg; break;
        case O_SHA:
            r = once("iso-sha256", o->iso_sha256);
            o->iso_sha256 = optarg;
            if (!r && (strlen(optarg) != 64 || strspn(optarg, "0123456789abcdefABCDEF") != 64))
                r = cmd_bad_usage("install", "invalid --iso-sha256 '%s': give 64 hex digits", optarg);
            break;
        case O_TIMEOUT:
            r = once("timeout", have_to ? "" : NULL);
            have_to = 1;
            if (!r)
                r = parse_seconds("timeout", optarg, &o->timeout);
            break;
        case O_INACT:
            r = once("inactivity-timeout", have_inact ? "" : NULL);
            have_inact = 1;
            if (!r)
                r = parse_seconds("inactivity-timeout", optarg, &o->inactivity);
            break;
        case O_KEEP: o->keep_failed = 1; break;
        case O_OSV: r = once("os-variant", o->os_variant); o->os_variant = optarg; break;
        default:
            return cmd_bad_usage("install", "unknown option");
        }
        if (r)
            return r;
    }
    if (optind < argc)
        return cmd_bad_usage("install", "unexpected argument '%s': give the name with --name", argv[optind]);
    if (!o->iso)
        return cmd_bad_usage("install", "missing --iso ISO");
    if (!o->kickstart)
        return cmd_bad_usage("install", "missing --kickstart FILE");
    if (!o->name)
        return cmd_bad_usage("install", "missing --name NAME");
    if (!o->kernel != !o->initrd)
        return cmd_bad_usage("install", "--kernel and --initrd go together");
    if (o->extra_args && extra_args_name_kickstart(o->extra_args))
        return cmd_bad_usage("install", "--extra-args names a kickstart (ks= or inst.ks=): vmstamp injects "
                             "--kickstart itself; drop it from --extra-args");
    if (!o->pool)
        o->pool = "default";
    if (!o->network)
        o->network = "default";
    if (!o->size)
        o->size = 10ULL << 30;
    return 0;
}

/* The kickstart as the installer will see it: variables substituted, root
 * password set, linted. Returns the text (caller frees) or NULL. */
static char *prepare_kickstart(const struct install_opts *o)
{
    CLEANUP_FREE char *text = NULL;
    CLEANUP_FREE char *subst = NULL;
    CLEANUP_FREE char *bad_line = NULL;
    struct ks_issue *issues = NULL;
    size_t n = 0;
    struct stat st;

    if (stat(o->kickstart, &st) < 0) {
        error("kickstart '%s' not found", o->kickstart);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        error("kickstart '%s' is not a regular file", o->kickstart);
        return NULL;
    }
    text = read_file(o->kickstart, NULL);
    if (!text)
        return NULL;
    subst = ks_substitute(text, (char *const *)o->vars, &bad_line);
    if (!subst) {
        const char *m = error_message();
        if (m && strncmp(m, "kickstart line ", 15) == 0) {
            CLEANUP_FREE char *msg = strdup(m + 15);
            error_replace("kickstart '%s' line %s", o->kickstart, msg);
        } else {
            CLEANUP_FREE char *msg = strdup(m ? m : "cannot substitute variables");
            error_replace("kickstart '%s': %s", o->kickstart, msg);
        }
        return NULL;
    }
    /* Lint what the file says (line numbers are the file's). */
    if (ks_lint(subst, &issues, &n) < 0)
        return NULL;
    if (n > 0) {
        error("kickstart '%s' line %d: %s%s", o->kickstart, issues[0].line, issues[0].message,
              n > 1 ? " (and more: vmstamp kickstart lint)" : "");
        ks_issues_free(issues, n);
        return NULL;
    }
    ks_issues_free(issues, n);
    if (o->password_file) {
        CLEANUP_FREE char *password = read_password_file(o->password_file);
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

/* --iso-sha256: checked before anything boots. */
static int check_sha256(const char *path, const char *want)
{
    char hex[65];

    if (sha256_file(path, hex) < 0)
        return -1;
    if (interrupted)
        return error("interrupted: nothing was created");
    if (strcasecmp(hex, want) != 0)
        return error("ISO '%s' has SHA-256 %s, not %s (--iso-sha256): a corrupt or different download", path,
                     hex, want);
    return 0;
}

/* Kernel command line: the kickstart in the initrd (ks= or inst.ks=, as the
 * OS variant's anaconda wants), the ISO by its label. */
static char *kernel_cmdline(const char *ks_arg, const char *volid, const char *extra)
{
    char *s = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&s, &len);

    if (!fp)
        abort();
    fprintf(fp, "%s=file:/ks.cfg inst.stage2=hd:LABEL=", ks_arg);
    for (const char *p = volid; *p; p++)
        if (*p == ' ')
            fputs("\\x20", fp);
        else
            fputc(*p, fp);
    fputs(" console=ttyS0,115200", fp);
    if (extra && *extra)
        fprintf(fp, " %s", extra);
    fclose(fp);
    return s; /* caller frees */
}

/* The serial console log, read as it grows. */
struct console {
    const char *path;
    off_t pos;          /* bytes consumed */
    char line[512];     /* the line being read */
    size_t len;
    char last[512];     /* last non-empty complete line */
    char failed[512];   /* first line that says the install failed */
};

static int console_failure(const char *line)
{
    return strstr(line, "INSTALLER: error:") != NULL || strstr(line, "Kernel panic") != NULL;
}

/* The kernel's last line when the guest powers off, halts or reboots. */
static int console_final(const char *line)
{
    return strstr(line, "reboot: Power down") != NULL || strstr(line, "reboot: System halted") != NULL ||
           strstr(line, "reboot: Restarting system") != NULL;
}

static void console_end_line(struct console *c)
{
    c->line[c->len] = '\0';
    /* Drop carriage returns and other control bytes (escape sequences). */
    size_t k = 0;
    for (size_t i = 0; i < c->len; i++)
        if ((unsigned char)c->line[i] >= 0x20 && c->line[i] != 0x7f)
            c->line[k++] = c->line[i];
    c->line[k] = '\0';
    if (k > 0)
        memcpy(c->last, c->line, k + 1);
    if (!c->failed[0] && console_failure(c->line))
        memcpy(c->failed, c->line, k + 1);
    c->len = 0;
}

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
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                console_end_line(c);
            } else if (c->len < sizeof c->line - 1) {
                c->line[c->len++] = buf[i];
            }
        }
    }
    return grew;
}

/* The last CONSOLE_TAIL lines of the log, to stderr. */
static void print_console_tail(const char *name, const char *path)
{
    CLEANUP_FREE char *text = read_file(path, NULL);
    const char *lines[CONSOLE_TAIL];
    size_t n = 0;

    if (!text) {
        fprintf(stderr, "vmstamp: no console output from '%s' (%s)\n", name, path);
        return;
    }
    for (char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        char *end = nl ? nl : p + strlen(p);
        *end = '\0';
        for (char *q = p; *q; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t')
                *q = ' ';
        while (end > p && end[-1] == ' ')
            *--end = '\0';
        if (*p) {
            if (n == CONSOLE_TAIL) {
                memmove(lines, lines + 1, (CONSOLE_TAIL - 1) * sizeof *lines);
                n--;
            }
            lines[n++] = p;
        }
        if (!nl)
            break;
    }
    fprintf(stderr, "vmstamp: last %zu console line%s of '%s' (%s):\n", n, n == 1 ? "" : "s", name, path);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  | %s\n", lines[i]);
}

static void format_elapsed(long s, char *buf, size_t len)
{
    if (s >= 3600)
        snprintf(buf, len, "%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
    else if (s >= 60)
        snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, len, "%lds", s);
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
static int wait_install(virDomainPtr dom, const struct install_opts *o, struct console *con,
                        time_t t0, int *show_console)
{
    int progress = isatty(STDERR_FILENO) && !quiet;
    long long last_wr = -1, last_io = -1;
    time_t last_activity = now_s();
    int ret = -1;
    CLEANUP_FREE char *mac = NULL; /* the NIC, for its counters */

    if (strcmp(o->network, "user") != 0) {
        CLEANUP_FREE char *xml = virt_domain_xml(dom);
        mac = xml ? xml_get(xml, "/domain/devices/interface/mac/@address") : NULL;
        error_clear();
    }

    *show_console = 0;
    for (;;) {
        struct timespec tick = { 0, 100 * 1000 * 1000 };
        nanosleep(&tick, NULL);
        if (interrupted) {
            error_replace("interrupted: install of '%s' stopped, its disk removed", o->name);
            break;
        }
        time_t now = now_s();
        int active = virDomainIsActive(dom);
        if (active < 0 && virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
            error("cannot query install domain '%s': %s", o->name, virt_error());
            break;
        }
        int grew = console_poll(con);
        if (active <= 0) { /* gone: powered off (or destroyed from outside) */
            /* virtlogd may still be writing the last lines: read until the
             * kernel's last word (or a failure) is there, at most 0.5 s. */
            for (int i = 0; i < 25 && !con->failed[0] && !console_final(con->last); i++) {
                struct timespec settle = { 0, 20 * 1000 * 1000 };
                nanosleep(&settle, NULL);
                console_poll(con);
            }
            if (con->failed[0]) {
                error("install of '%s' failed: console says \"%s\"", o->name, con->failed);
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
                virt_pool_available(virDomainGetConnect(dom), o->pool, &avail);
                error_clear();
                error("install of '%s' stopped: storage pool '%s' is out of space (%s free): free some space "
                      "or pass --pool", o->name, o->pool, human_size(avail, av, sizeof av));
            } else {
                error("install of '%s' stopped on a disk I/O error (%s): console log %s", o->name, o->pool,
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
        if (con->failed[0]) {
            error("install of '%s' failed: console says \"%s\"", o->name, con->failed);
            *show_console = 1;
            break;
        }
        if (now - t0 >= o->timeout) {
            error("install of '%s' did not finish within %ld s (--timeout): console log %s",
                  o->name, o->timeout, con->path);
            *show_console = 1;
            break;
        }
        if (now - last_activity >= o->inactivity) {
            error("install of '%s' made no progress for %ld s (no disk, CD-ROM or network I/O, no console output; "
                  "--inactivity-timeout): console log %s", o->name, o->inactivity, con->path);
            *show_console = 1;
            break;
        }
        if (progress) {
            char el[32], wb[32];
            format_elapsed((long)(now - t0), el, sizeof el);
            human_size(wr > 0 ? (uint64_t)wr : 0, wb, sizeof wb);
            fprintf(stderr, "\r\033[K%s: installing %s, %s written | %.50s", o->name, el, wb, con->last);
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
    CLEANUP_FREE char *p = strdup(path);
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

static void remove_dir(const char *dir, const struct iso_boot *b, const char *initrd_ks)
{
    if (b->kernel)
        unlink(b->kernel);
    if (b->initrd)
        unlink(b->initrd);
    if (initrd_ks)
        unlink(initrd_ks);
    if (rmdir(dir) < 0 && errno != ENOENT)
        warning("cannot remove '%s': %s", dir, strerror(errno));
}

int cmd_install(int argc, char **argv)
{
    struct install_opts o = { 0 };
    CLEANUP_FREE char *hostvar = NULL;
    CLEANUP_FREE char *ks = NULL;
    CLEANUP_FREE char *volid = NULL;
    CLEANUP_FREE char *iso = NULL;
    CLEANUP_FREE char *pool_dir = NULL;
    CLEANUP_FREE char *disk = NULL;
    CLEANUP_FREE char *tmpdir = NULL;
    CLEANUP_FREE char *initrd_ks = NULL;
    CLEANUP_FREE char *cmdline = NULL;
    CLEANUP_FREE char *xml = NULL;
    CLEANUP_FREE char *console_log = NULL;
    struct iso_boot boot = { 0 };
    struct os_variant osv = { 0 };
    struct netspec net = { 0 };
    struct console con = { 0 };
    struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    int ret = EXIT_FAILURE, r, signals_set = 0, disk_made = 0, show_console = 0;
    time_t t0;

    r = parse_options(argc, argv, &o);
    if (r)
        return r;
    if (netspec_parse(o.network, &net) < 0) {
        error_report();
        return 2;
    }
    if (!valid_domain_name(o.name)) {
        error("invalid name '%s': use 1-64 letters, digits, '.', '_' or '-'", o.name);
        goto fail;
    }
    if (!valid_hostname(o.name)) {
        error("invalid host name '%s' (RFC 1123): the name becomes @@HOSTNAME@@; use letters, digits and '-'",
              o.name);
        goto fail;
    }
    if (asprintf(&hostvar, "HOSTNAME=%s", o.name) < 0)
        abort();
    o.vars[0] = hostvar;
    o.vars[o.nvars] = NULL;

    /* Everything that can be checked without libvirt. */
    if (o.os_variant && os_variant_lookup(o.os_variant, &osv) < 0)
        goto fail;
    if (iso_volume_id(o.iso, &volid) < 0)
        goto fail;
    {
        char real[PATH_MAX];
        if (!realpath(o.iso, real)) {
            error("ISO '%s' not found", o.iso);
            goto fail;
        }
        iso = strdup(real);
    }
    ks = prepare_kickstart(&o);
    if (!ks)
        goto fail;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    signals_set = 1;

    if (o.iso_sha256 && check_sha256(iso, o.iso_sha256) < 0)
        goto fail;

    conn = cmd_connect();
    if (!conn)
        goto fail;
    r = virt_domain_exists(conn, o.name);
    if (r < 0)
        goto fail;
    if (r) {
        error("domain '%s' already exists: pick another name or remove it (vmstamp rm %s)", o.name, o.name);
        goto fail;
    }
    if (virt_pool_dir(conn, o.pool, &pool_dir) < 0)
        goto fail;
    if (asprintf(&disk, "%s/%s.qcow2", pool_dir, o.name) < 0 ||
        asprintf(&console_log, "/var/log/libvirt/qemu/%s-install.log", o.name) < 0)
        abort();
    if (access(disk, F_OK) == 0) {
        error("volume '%s.qcow2' already exists in pool '%s': remove it or pick another name", o.name, o.pool);
        goto fail;
    }
    if (virt_network_check(conn, &net) < 0)
        goto fail;
    {
        /* As virt-install does: a sparse disk may outgrow the pool. */
        uint64_t avail;
        char av[32], sz[32];
        if (virt_pool_available(conn, o.pool, &avail) == 0 && avail < o.size)
            warning("storage pool '%s' has %s free, less than the %s disk: the install fails if it fills the pool",
                    o.pool, human_size(avail, av, sizeof av), human_size(o.size, sz, sizeof sz));
        error_clear();
    }

    enum accel accel;
    {
        CLEANUP_FREE char *why = NULL;
        accel = accel_decide(&why);
        debug("accelerator: %s (%s)", accel_name(accel), why);
    }
    if (interrupted) {
        error("interrupted: nothing was created");
        goto fail;
    }

    /* Kernel and initrd, where qemu (libvirt-qemu) can read them. */
    tmpdir = strdup("/var/tmp/vmstamp-install.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        error("cannot create a directory in /var/tmp: %s", strerror(errno));
        free(tmpdir);
        tmpdir = NULL;
        goto fail;
    }
    chmod(tmpdir, 0755);
    t0 = now_s();
    if (iso_extract_boot(iso, o.kernel, o.initrd, tmpdir, &boot) < 0)
        goto fail;
    if (asprintf(&initrd_ks, "%s/initrd.ks", tmpdir) < 0)
        abort();
    /* initrd.ks holds the root password hash: owner only (libvirt hands
     * the file to qemu when the domain starts). */
    if (inject_file(boot.initrd, initrd_ks, 0600, "ks.cfg", ks, strlen(ks)) < 0)
        goto fail;
    unlink(boot.initrd);
    debug("read %llu bytes of ISO %s (kernel %s, initrd %s)", (unsigned long long)boot.bytes_read, iso,
          boot.kernel_path, boot.initrd_path);
    if (interrupted) {
        error("interrupted: nothing was created");
        goto fail;
    }

    /* The target disk, under its final name, claimed first (O_EXCL) so a
     * concurrent install of the same name cannot share it. */
    {
        int fd = open(disk, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            if (errno == EEXIST)
                error("volume '%s.qcow2' already exists in pool '%s': remove it or pick another name",
                      o.name, o.pool);
            else
                error("cannot create '%s': %s", disk, strerror(errno));
            goto fail;
        }
        close(fd);
        disk_made = 1;
    }
    {
        struct command *cmd = command_new("qemu-img");
        command_add(cmd, "create");
        command_add(cmd, "-q");
        command_add(cmd, "-f");
        command_add(cmd, "qcow2");
        command_add(cmd, disk);
        command_addf(cmd, "%llu", (unsigned long long)o.size);
        r = command_run(cmd, NULL);
        command_free(cmd);
        if (r < 0)
            goto fail;
        if (chmod(disk, 0600) < 0) {
            error("cannot chmod '%s': %s", disk, strerror(errno));
            goto fail;
        }
    }
    if (interrupted) {
        error_replace("interrupted: install of '%s' stopped, its disk removed", o.name);
        goto fail;
    }

    cmdline = kernel_cmdline(os_variant_ks_arg(&osv), boot.volume_id, o.extra_args);
    {
        /* The transient install domain: direct kernel boot, the ISO as a
         * CD-ROM, ended by the installer's power-off or first reboot. */
        struct domain_spec spec = {
            .name = o.name, .virt_type = accel_domain_type(accel), .machine = "q35", .memory_kib = o.memory_kib,
            .vcpus = o.vcpus, .disk_path = disk, .disk_format = "qcow2", .net = &net,
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
    dom = virDomainCreateXML(conn, xml, 0);
    if (!dom) {
        error("cannot start install domain '%s': %s", o.name, virt_error());
        goto fail;
    }
    info("%s: installing %s from %s (%s, %s), console log %s", o.name, osv.name ? osv.name : "an OS",
         o.iso, boot.volume_id, accel_name(accel), console_log);

    if (wait_install(dom, &o, &con, t0, &show_console) < 0)
        goto fail;
    virDomainFree(dom);
    dom = NULL;

    if (virt_pool_refresh(conn, o.pool) < 0)
        goto fail;
    printf("%s: installed in %ld s, disk %s/%s.qcow2\n", o.name, (long)(now_s() - t0), o.pool, o.name);
    ret = EXIT_SUCCESS;
    goto out;

fail:
    if (dom) {
        if (virDomainIsActive(dom) == 1)
            virDomainDestroy(dom);
        virDomainFree(dom);
        dom = NULL;
    }
    if (show_console)
        print_console_tail(o.name, console_log);
    if (disk_made) {
        if (o.keep_failed) {
            fprintf(stderr, "vmstamp: kept the disk of the failed install: %s (--keep-failed)\n", disk);
        } else {
            unlink(disk);
        }
        virt_pool_refresh(conn, o.pool);
    }
    error_report();
out:
    if (tmpdir)
        remove_dir(tmpdir, &boot, initrd_ks);
    if (signals_set) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
    }
    if (ks)
        explicit_bzero(ks, strlen(ks));
    iso_boot_release(&boot);
    os_variant_release(&osv);
    netspec_release(&net);
    if (conn)
        virConnectClose(conn);
    return ret;
}
