/* cmd-doctor.c: vmstamp doctor, one line per check, like virt-host-validate. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "adapters/accel.h"
#include "base/cleanup.h"
#include "commands/cmd.h"
#include "base/xalloc.h"
#include "adapters/command.h"
#include "base/error.h"
#include "adapters/gfs.h"
#include "pipeline/qemuperm.h"
#include "pure/util.h"
#include "adapters/virt.h"
#include "pipeline/run.h"

static int failures;
static struct json_object *checks; /* --json: the lines, as objects */

static void line(const char *status, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void line(const char *status, const char *check, const char *fmt, ...)
{
    va_list ap;

    if (strcmp(status, "fail") == 0)
        failures++;
    if (checks) {
        char *detail = NULL;
        struct json_object *e = json_object_new_object();
        va_start(ap, fmt);
        if (vasprintf(&detail, fmt, ap) < 0)
            xalloc_die();
        va_end(ap);
        json_object_object_add(e, "check", json_object_new_string(check));
        json_object_object_add(e, "status", json_object_new_string(status));
        json_object_object_add(e, "detail", json_object_new_string(detail));
        json_object_array_add(checks, e);
        free(detail);
        return;
    }
    printf("%-5s %-28s ", status, check);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

int cmd_doctor(int argc, char **argv)
{
    static const struct option opts[] = {
        { "pool", required_argument, NULL, 'p' },
        { "network", required_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    const char *pool = "default", *network = "default";
    CLEANUP_FREE char *why = NULL;
    CLEANUP_FREE char *cpuinfo = NULL;
    CLEANUP_FREE char *pool_dir = NULL;
    enum accel accel;
    virConnectPtr conn;
    int c, fd, json = 0;

    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'p')
            pool = optarg;
        else if (c == 'n')
            network = optarg;
        else if (c == 'j')
            json = 1;
        else
            return cmd_bad_usage("doctor", "unknown option");
    }
    if (optind != argc)
        return cmd_bad_usage("doctor", "unexpected argument '%s'", argv[optind]);
    failures = 0;
    checks = json ? json_object_new_array() : NULL;

    cpuinfo = read_file("/proc/cpuinfo", NULL);
    error_clear();
    if (cpuinfo && (strstr(cpuinfo, " vmx") || strstr(cpuinfo, " svm")))
        line("ok", "cpu virtualization", "%s flag present", strstr(cpuinfo, " vmx") ? "vmx" : "svm");
    else
        line("warn", "cpu virtualization", "no vmx/svm flag in /proc/cpuinfo (the KVM probe below decides)");

    fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        line("ok", "/dev/kvm", "present and usable");
        close(fd);
    } else {
        line("warn", "/dev/kvm", "%s: guests run under TCG (slow)", strerror(errno));
    }

    if (accel_requested != ACCEL_AUTO) {
        accel = accel_requested;
        line("ok", "accelerator", "%s (chosen with --accel)", accel_name(accel));
    } else {
        accel = accel_probe(&why);
        line(accel == ACCEL_KVM ? "ok" : "warn", "kvm boots a guest", "%s", why);
    }

    struct command *cmd = command_new("qemu-img");
    command_add(cmd, "--version");
    CLEANUP_FREE char *ver = NULL;
    if (command_run(cmd, &ver) == 0) {
        ver[strcspn(ver, "\n")] = '\0';
        line("ok", "qemu-img", "%s", ver);
    } else {
        line("fail", "qemu-img", "not runnable: install qemu-utils");
    }
    command_free(cmd);
    error_clear();

    conn = cmd_connect();
    if (!conn) {
        line("fail", "libvirtd reachable", "%s", error_message());
        error_clear();
    } else {
        unsigned long v = 0;
        CLEANUP_FREE char *uri = virConnectGetURI(conn);
        virConnectGetLibVersion(conn, &v);
        line("ok", "libvirtd reachable", "%s (libvirt %lu.%lu.%lu)", uri ? uri : "?", v / 1000000, v / 1000 % 1000,
             v % 1000);
        if (virt_pool_dir(conn, pool, &pool_dir) == 0)
            line("ok", "storage pool", "'%s' active at %s", pool, pool_dir);
        else
            line("fail", "storage pool", "%s", error_message());
        error_clear();
        /* SELinux enforcing: each pool's directory must be virt_image_t
         * (nothing is said on hosts without SELinux). */
        virStoragePoolPtr *pools = NULL;
        int np = virConnectListAllStoragePools(conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
        for (int i = 0; i < np; i++) {
            const char *name = virStoragePoolGetName(pools[i]);
            CLEANUP_FREE char *dir = NULL;
            if (virt_pool_dir(conn, name, &dir) == 0) {
                CLEANUP_FREE char *advice = qemuperm_selinux_advice(conn, name, dir);
                if (advice)
                    line("warn", "selinux pool label", "%s", advice);
            }
            error_clear();
            virStoragePoolFree(pools[i]);
        }
        free(pools);
        virNetworkPtr net = virNetworkLookupByName(conn, network);
        if (!net) {
            line("warn", "network", "'%s' not defined: clones need --network user or bridge:BR", network);
        } else {
            if (virNetworkIsActive(net) == 1)
                line("ok", "network", "'%s' active", network);
            else
                line("warn", "network", "'%s' defined but inactive: 'virsh net-start %s' before starting clones on it",
                     network, network);
            virNetworkFree(net);
        }
        virConnectClose(conn);
    }

    double secs = 0;
    if (gfs_test_launch(accel, &secs) == 0)
        line("ok", "libguestfs appliance", "launched in %.1f s (%s)", secs, accel_name(accel));
    else
        line("fail", "libguestfs appliance", "%s", error_message());
    error_clear();

    struct statvfs sv;
    const char *dir = pool_dir ? pool_dir : "/var/lib/libvirt/images";
    if (statvfs(dir, &sv) == 0) {
        char buf[32];
        uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
        line(avail < (5ULL << 30) ? "warn" : "ok", "free disk", "%s free in %s",
             human_size(avail, buf, sizeof buf), dir);
    } else {
        line("warn", "free disk", "cannot stat %s: %s", dir, strerror(errno));
    }
    {
        /* Interrupted runs (kill -9, a crash, power loss) whose work the next
         * changing command, or 'vmstamp gc', undoes. */
        CLEANUP_STRV char **stale = stale_journals();
        size_t n = 0;
        while (stale[n])
            n++;
        if (n)
            line("warn", "journal", "%zu interrupted run%s left work behind (%s%s): run 'vmstamp gc'", n,
                 n == 1 ? "" : "s", stale[0], n > 1 ? ", ..." : "");
        else
            line("ok", "journal", "no interrupted runs (%s)", JOURNAL_DIR);
    }
    if (checks) {
        struct json_object *out = cmd_json_new();
        json_object_object_add(out, "checks", checks);
        json_object_object_add(out, "accelerator", json_object_new_string(accel_name(accel)));
        json_object_object_add(out, "ok", json_object_new_boolean(!failures));
        checks = NULL;
        cmd_json_print(out);
    } else {
        printf("accelerator: %s\n", accel_name(accel));
    }
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
