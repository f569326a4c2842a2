/* gfs.h: the libguestfs handle: made, given its disks, launched, closed.
 *
 * One launch of the appliance costs seconds (8-12 s under TCG), so callers
 * put every disk they need on one session and launch once. What is done
 * with the guest (its layout, customizing clones, preparing templates) is
 * the guest layer's (guest/layout.h, guest/customize.h, guest/prepare.h). */
#ifndef VMSTAMP_GFS_H
#define VMSTAMP_GFS_H

#include <guestfs.h>
#include <stddef.h>
#include <sys/types.h>

#include "adapters/accel.h"

struct gfs_session;

/* A disk to add: FORMAT (qcow2, raw), never probed. DISCARD: let fstrim
 * and blkdiscard reach the image (free space becomes zero clusters). All
 * disks are added with cache=unsafe: the session flushes at shutdown. */
struct gfs_disk {
    const char *path;
    const char *format;
    int discard;
};

/* Make a handle (errors recorded, not printed; own process group, so Ctrl-C
 * reaches us and not the appliance; TCG if ACCEL says so; traced under -vv),
 * add the N DISKS and launch the clone appliance (adapters/appliance.h:
 * libguestfs's, with less udev work per drive; libguestfs's own if that
 * cannot be made, or with VMSTAMP_APPLIANCE=stock). NULL on error
 * (recorded). */
struct gfs_session *gfs_launch_disks(const struct gfs_disk *disks, size_t n, enum accel accel);
/* The clones' appliance memory: this much, plus 2 MiB per drive. */
#define CLONE_APPLIANCE_MIB 512
/* One template work disk, with discard, in libguestfs's own appliance
 * (preparing a template may need what the clone appliance leaves out). */
struct gfs_session *gfs_launch_template(const char *work_disk, const char *format, enum accel accel);
/* Close the handle (kills the appliance if still up) and free S; NULL is fine. */
void gfs_close(struct gfs_session *s);

/* The session's handle, for the guest layer. */
guestfs_h *gfs_handle(struct gfs_session *s);
/* The drives' device names in the order they were added (NULL-terminated,
 * caller frees with the strv cleanup): libguestfs's documented naming, so no
 * list_devices call (it settles udev once per drive: ~70 ms each under TCG). */
char **gfs_devices(struct gfs_session *s);
/* The appliance's process id once launched (to journal it), 0 if unknown. */
pid_t gfs_appliance_pid(struct gfs_session *s);

/* Record "WHAT: <libguestfs's last error>" (its first line) and return -1;
 * "WHAT: GFS_GONE" if the appliance had died before the call. */
int gfs_error(guestfs_h *g, const char *what);
#define GFS_GONE "the libguestfs appliance died (its qemu exited or was killed): run the command again, or 'vmstamp doctor' if it keeps failing"
/* 1 while the appliance runs; 0 once it is gone (died, killed, shut down).
 * A caller that allows a call to fail asks this before going on. */
int gfs_alive(guestfs_h *g);
/* Shut the appliance down, flushing its disks; -1 (recorded as "WHAT: ...")
 * if that fails or the appliance had died before (its last writes lost). */
int gfs_shutdown(guestfs_h *g, const char *what);

/* Launch and shut down an empty appliance (doctor); *SECONDS: how long. */
int gfs_test_launch(enum accel accel, double *seconds);

#endif
