/* gfs.h: customize many clones in ONE libguestfs appliance launch.
 *
 * All clone disks go on one handle. The guest layout (root filesystem,
 * fstab mounts, partition to grow) is found once, on the first clone, and
 * reused for the rest by partition number and LV name. Clones share
 * filesystem UUIDs and VG names, so LVM is filtered to one clone's disk at a
 * time, filesystems are mounted by device and XFS with nouuid. */
#ifndef VMSTAMP_GFS_H
#define VMSTAMP_GFS_H

#include <stdint.h>

#include "adapters/accel.h"

#define SSH_KEY_TYPES 3 /* rsa, ecdsa, ed25519 */

struct clone_job {
    /* in */
    const char *name;
    const char *disk_path;
    const char *hostname;
    const char *mac;
    int grow;                 /* the virtual disk was enlarged: grow partition and fs */
    const char *keys_dir;     /* ssh_host_<type>_key{,.pub} made for this clone */
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
};

/* What was found in the template (filled by gfs_customize). */
struct guest_os {
    char *id;         /* os-release ID: centos, rocky, debian, ubuntu... */
    char *version;    /* VERSION_ID */
    char *pretty;     /* PRETTY_NAME */
    char *root_fs;    /* e.g. "xfs on LV centos/root" */
};

void guest_os_release(struct guest_os *os);

/* Key types vmstamp generates for each clone. */
extern const char *const ssh_key_types[SSH_KEY_TYPES];

/* Add every clone disk to one handle and launch the appliance. */
struct gfs_session *gfs_launch(const struct clone_job *jobs, size_t n, enum accel accel);
/* Find the layout on the first disk, customize every clone, flush. */
int gfs_customize(struct gfs_session *s, struct clone_job *jobs, size_t n,
                  const struct customize_opts *opts, struct guest_os *os);
void gfs_close(struct gfs_session *s);

/* Launch and shut down an empty appliance (doctor). */
int gfs_test_launch(enum accel accel, double *seconds);

#endif

/* Template preparation, in one appliance launch on a work overlay:
 * inspect (unless !inspect), run the selected sysprep operations, trim free
 * space on every filesystem, discard free LVM space, keep swap headers.
 * Fills META's OS fields, root, expand, filesystems, min_size. The layout
 * clone needs is kept in *LAYOUT for gfs_record_layout(). */
struct template_meta;
struct gfs_session *gfs_launch_template(const char *work_disk, const char *format, enum accel accel);
int gfs_prepare_template(struct gfs_session *s, const int *selected_ops, int inspect,
                         struct template_meta *meta, void **layout);
/* Record LAYOUT for the template file identified by KEY (see layout_key);
 * frees LAYOUT. */
void gfs_record_layout(const char *key, void *layout, const char *os_name);
/* The identity key of a template file: path, device, inode, size, mtime. */
char *layout_key(const char *path);
