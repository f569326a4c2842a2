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

#include <stddef.h>
#include <stdint.h>

#include "adapters/gfs.h"
#include "guest/layout.h"
#include "pure/netconf.h"

#define SSH_KEY_TYPES 3 /* rsa, ecdsa, ed25519 */

/* Key types vmstamp generates for each clone. */
extern const char *const ssh_key_types[SSH_KEY_TYPES];

struct clone_job {
    /* in */
    const char *name;
    const char *disk_path;    /* qcow2 */
    const char *hostname;
    const char *mac;
    int grow;                 /* the virtual disk was enlarged: grow partition and fs */
    const char *keys_dir;     /* ssh_host_<type>_key{,.pub} made for this clone */
    const struct static_ipv4 *ipv4; /* NULL: keep the template's (DHCP) */
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

/* Find (or read) the layout on the first disk, customize every clone, flush
 * (appliance shutdown). OS: what was found in the template (caller releases
 * it with guest_os_release, also on error). */
int gfs_customize(struct gfs_session *s, struct clone_job *jobs, size_t n,
                  const struct customize_opts *opts, struct guest_os *os);

#endif
