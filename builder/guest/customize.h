/* customize.h: customize many clones in ONE libguestfs appliance launch.
 *
 * The caller puts every clone disk (qcow2) on one session
 * (gfs_launch_disks) and launches once. The guest layout (guest/layout.h)
 * is found once, on the first clone, or read from its record, and reused
 * for the rest by partition number and LV name; the template's
 * configuration files are read once, from the first clone, and every clone
 * only gets writes: host name, MAC, machine-id, SSH host keys, root
 * password, authorized key, and a grown partition and root filesystem. */
#ifndef VMSTAMP_CUSTOMIZE_H
#define VMSTAMP_CUSTOMIZE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "adapters/gfs.h"
#include "guest/layout.h"
#include "pure/netconf.h"

#define SSH_KEY_TYPES 3 /* rsa, ecdsa, ed25519 */

/* Key types vmstamp generates for each clone. */
extern const char *const ssh_key_types[SSH_KEY_TYPES];

struct clone_job {
    /* in */
    const char *name;
    const char *disk_path;    /* qcow2, or raw if DISK_FORMAT says so */
    const char *disk_format;  /* "raw" (an LVM logical volume); NULL: "qcow2" */
    const char *hostname;
    const char *mac;
    int grow;                 /* the virtual disk was enlarged: grow partition and fs */
    const char *keys_dir;     /* ssh_host_<type>_key{,.pub} made for this clone */
    const struct static_ipv4 *ipv4; /* NULL: keep the template's (DHCP) */
    uint64_t disk_size;       /* virtual bytes (clones that grow alike share one grow) */
    int linked;               /* a qcow2 overlay of the template: its own clusters are what changed */
    const struct fs_ref *grown_root; /* the disk starts as the recorded grown template
                                      * (layout_grown_load): its root is there; NULL: no */
    /* out */
    char machine_id[33];
    uint64_t rootfs_bytes;    /* size of the root filesystem after growing */
    int keys_installed[SSH_KEY_TYPES]; /* which host key types went in */
};

struct customize_opts {
    const char *root_password; /* plaintext, hashed per clone; NULL: keep */
    const char *ssh_pubkey;    /* authorized_keys line(s) for root; NULL: none */
    const char *template_name; /* for messages */
    const char *layout_key;    /* template identity: record/reuse its layout; NULL: find it */
    volatile int *cancel;      /* set (by a signal handler) to stop between clones */
    /* Called before clone I is customized (its SSH host keys may still be
     * in the making): -1 (error recorded) stops. NULL: none. */
    int (*before_clone)(void *ctx, const struct clone_job *job);
    void *ctx;
    struct customize_progress *progress; /* shared by batches; NULL: per-clone lines only */
};

/* Clones done across batches customizing at once (one appliance each), for
 * one progress line with N/M and an ETA on a terminal (a line per clone
 * otherwise). Initialize with customize_progress_init. */
struct customize_progress {
    pthread_mutex_t lock;
    size_t done, total;
    struct timespec t0; /* the first clone began */
    int started;
};
void customize_progress_init(struct customize_progress *p, size_t total);
/* End the progress line (a summary line in its place). */
void customize_progress_end(struct customize_progress *p);

/* Find (or read) the layout on the first disk, customize every clone, flush
 * (appliance shutdown). Clones that grow to the same size: the first linked
 * one grows (partition, PV, LV, filesystem), then the byte ranges that
 * changed (its own clusters, qemu-img map) are copied onto the others in
 * the appliance, which mount their grown root straight from the disk: one
 * LVM rescan and grow for all of them, not one per clone. OS: what was
 * found in the template (caller releases it with guest_os_release, also on
 * error). */
int gfs_customize(struct gfs_session *s, struct clone_job *jobs, size_t n,
                  const struct customize_opts *opts, struct guest_os *os);

#endif
