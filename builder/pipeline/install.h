/* install.h: the install pipeline. An unattended install from an installer
 * ISO, the way virt-install --location does it:
 *   1. check everything first (ISO, kickstart, password, checksum, name,
 *      pool, network): a mistake creates nothing;
 *   2. copy the kernel and initrd out of the ISO (libarchive, no mount)
 *      into /var/tmp/vmstamp-install.<run id>, append a cpio holding ks.cfg
 *      to the initrd copy;
 *   3. create POOL/NAME.qcow2 and boot a transient domain from the kernel,
 *      the ISO as a read-only CD-ROM, the console logged to a file;
 *   4. wait for it to power off, watching I/O and the console: timeouts,
 *      "INSTALLER: error:", kernel panics and a full pool fail the install.
 * The disk, the domain, the temporary directory and the pool refresh are
 * journaled in the caller's run: a failure or Ctrl-C leaves them for the
 * run's rollback (the domain is destroyed and the directory removed at
 * once), except a disk kept by keep_failed. The ISO is never modified. */
#ifndef VMSTAMP_PIPELINE_INSTALL_H
#define VMSTAMP_PIPELINE_INSTALL_H

#include <libvirt/libvirt.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/run.h"

/* Zero means the default for numbers, NULL for strings. */
struct install_request {
    const char *iso;
    const char *kickstart;       /* file; @@HOSTNAME@@ becomes NAME */
    const char *name;            /* domain, host and volume name */
    uint64_t size;               /* bytes; default 10 GiB */
    uint64_t memory_kib;         /* default 1 GiB */
    unsigned vcpus;              /* default 1 */
    const char *pool;            /* default "default" */
    const char *network;         /* netspec; default "default" */
    const char *const *vars;     /* NVARS "KEY=VALUE", after HOSTNAME=NAME (the last for a KEY wins) */
    size_t nvars;
    const char *password_file;   /* root password, first line, mode 0600 */
    const char *kernel, *initrd; /* paths inside the ISO (both or neither) */
    const char *extra_args;      /* kernel arguments; may not name a kickstart */
    const char *iso_sha256;      /* 64 hex digits the ISO must hash to */
    const char *iso_sha256_from; /* where that came from, for the mismatch
                                  * message; default "--iso-sha256" */
    const char *os_variant;      /* osinfo id */
    long timeout, inactivity;    /* seconds; default 1800, 300 */
    int keep_failed;             /* a failed install keeps its disk */
    int fix_permissions;         /* qemu's user gets search permission on the directories
                                  * above the ISO and the pool it cannot search
                                  * (pipeline/qemuperm.h); 0: they are an error */
};

struct install_result {
    char *disk;        /* POOL_DIR/NAME.qcow2 */
    char *pool;        /* the pool's name */
    char *iso;         /* the ISO's real path */
    char *console_log; /* /var/log/libvirt/qemu/NAME-install.log */
    char *os_variant;  /* osinfo short id, or NULL */
    char *os_name;     /* "CentOS 7", or NULL */
    char *kickstart_sha256; /* of the kickstart file as read */
    long elapsed;      /* seconds, from the first extraction to power-off */
};

void install_result_release(struct install_result *res);

/* Install REQ on CONN. Every side effect is journaled in RUN (the caller
 * commits or ends it): 0, or -1 with one line recorded; the console tail
 * and a --keep-failed note are printed to stderr. */
int install_run(virConnectPtr conn, const struct install_request *req, struct run *run,
                struct install_result *res);

/* The same install as a vmstamp command line (as a build records it);
 * defaults are left out. Caller frees. */
char *install_command_line(const struct install_request *req);

#endif
