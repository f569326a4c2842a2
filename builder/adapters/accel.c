/* accel.c: see accel.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/accel.h"
#include "base/cleanup.h"
#include "adapters/command.h"
#include "base/error.h"
#include "base/fileio.h"
#include "pure/util.h"
#include "base/xalloc.h"

enum accel accel_requested = ACCEL_AUTO;

int accel_parse(const char *s, enum accel *out)
{
    if (strcmp(s, "kvm") == 0)
        *out = ACCEL_KVM;
    else if (strcmp(s, "tcg") == 0 || strcmp(s, "qemu") == 0)
        *out = ACCEL_TCG;
    else if (strcmp(s, "auto") == 0)
        *out = ACCEL_AUTO;
    else
        return error("invalid accelerator '%s': use kvm, tcg or auto", s);
    return 0;
}

const char *accel_name(enum accel a)
{
    return a == ACCEL_KVM ? "kvm" : a == ACCEL_TCG ? "tcg" : "auto";
}

const char *accel_domain_type(enum accel a)
{
    return a == ACCEL_KVM ? "kvm" : "qemu";
}

static char *boot_id(void)
{
    char *s = read_file("/proc/sys/kernel/random/boot_id", NULL);

    if (!s) {
        error_clear();
        return xstrdup("unknown");
    }
    s[strcspn(s, "\n")] = '\0';
    return s;
}

/* The newest /boot/vmlinuz-*; caller frees. */
static char *probe_kernel(void)
{
    DIR *d = opendir("/boot");
    struct dirent *e;
    char *best = NULL;

    if (!d)
        return NULL;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "vmlinuz-", 8) != 0)
            continue;
        if (!best || strverscmp(e->d_name, best) > 0) {
            free(best);
            best = xstrdup(e->d_name);
        }
    }
    closedir(d);
    if (best) {
        char *p;
        p = xasprintf("/boot/%s", best);
        free(best);
        return p;
    }
    return NULL;
}

static void set_why(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(char **why, const char *fmt, ...)
{
    va_list ap;

    if (!why)
        return;
    free(*why);
    va_start(ap, fmt);
    if (vasprintf(why, fmt, ap) < 0)
        xalloc_die();
    va_end(ap);
}

/* Best effort: a host where /run/vmstamp cannot be written probes every time. */
static void write_cache(enum accel a, const char *why)
{
    CLEANUP_FREE char *id = boot_id();
    CLEANUP_FREE char *line = NULL;
    int had_error = error_message() != NULL;

    line = xasprintf("%s %s %s\n", id, accel_name(a), why ? why : "");
    mkdir("/run/vmstamp", 0755);
    if (write_file_atomic(ACCEL_CACHE, line, strlen(line), 0644) < 0 && !had_error) {
        debug("cannot cache the accelerator: %s", error_message());
        error_clear();
    }
}

enum accel accel_probe(char **why)
{
    CLEANUP_FREE char *kernel = NULL;
    CLEANUP_FREE char *out = NULL;
    struct command *cmd;
    enum accel verdict = ACCEL_TCG;
    struct timespec t0, t1;
    int fd, r;

    /* Some hosts hide vmx/svm from /proc/cpuinfo yet give a working
     * /dev/kvm (and vice versa): only a booted guest decides. */
    fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        set_why(why, "/dev/kvm cannot be opened (%s): using TCG (software emulation)", strerror(errno));
        goto done;
    }
    close(fd);
    kernel = probe_kernel();
    if (!kernel) {
        verdict = ACCEL_KVM;
        set_why(why, "/dev/kvm usable; no /boot/vmlinuz-* to probe with, assuming KVM works");
        goto done;
    }
    cmd = command_new("qemu-system-x86_64");
    command_add(cmd, "-accel");
    command_add(cmd, "kvm");
    command_add(cmd, "-m");
    command_add(cmd, "256");
    command_add(cmd, "-nodefaults");
    command_add(cmd, "-display");
    command_add(cmd, "none");
    command_add(cmd, "-serial");
    command_add(cmd, "stdio");
    command_add(cmd, "-no-reboot");
    command_add(cmd, "-kernel");
    command_add(cmd, kernel);
    command_add(cmd, "-append");
    command_add(cmd, "console=ttyS0 panic=-1 loglevel=1 modprobe.blacklist=floppy");
    command_set_timeout(cmd, ACCEL_PROBE_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = command_run(cmd, &out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (command_timed_out(cmd)) {
        set_why(why, "a KVM guest hung (probe kernel killed after %d s): using TCG", ACCEL_PROBE_TIMEOUT);
    } else if (out && strstr(out, "Kernel panic")) {
        verdict = ACCEL_KVM;
        set_why(why, "a probe kernel booted under KVM in %.1f s", secs);
    } else {
        set_why(why, "a probe kernel did not boot under KVM (%s): using TCG",
                r < 0 && error_message() ? error_message() : "no console output");
    }
    error_clear();
    command_free(cmd);
done:
    write_cache(verdict, why ? *why : NULL);
    return verdict;
}

enum accel accel_decide(char **why)
{
    CLEANUP_FREE char *cache = NULL;
    CLEANUP_FREE char *id = NULL;

    if (accel_requested != ACCEL_AUTO) {
        set_why(why, "accelerator %s chosen with --accel", accel_name(accel_requested));
        return accel_requested;
    }
    cache = read_file(ACCEL_CACHE, NULL);
    error_clear();
    id = boot_id();
    if (cache) {
        size_t n = strlen(id);
        if (strncmp(cache, id, n) == 0 && cache[n] == ' ') {
            char *a = cache + n + 1;
            char *reason = strchr(a, ' ');
            if (reason) {
                *reason++ = '\0';
                reason[strcspn(reason, "\n")] = '\0';
                set_why(why, "%s (cached in %s)", reason, ACCEL_CACHE);
                return strcmp(a, "kvm") == 0 ? ACCEL_KVM : ACCEL_TCG;
            }
        }
    }
    info("vmstamp: probing whether KVM boots a guest on this host (once per boot)...");
    return accel_probe(why);
}
