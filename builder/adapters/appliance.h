/* appliance.h: the clone appliance, libguestfs's own with less udev work.
 *
 * Each drive added to a libguestfs appliance costs boot time under TCG,
 * mostly in udev: for every disk and partition the stock rules run blkid
 * and scsi_id, create /dev/disk/by-{id,uuid,label} links, start an LVM
 * pvscan (and a vgchange, which fails on the clones' duplicate PVs), and
 * watch the device so that every close after a write is processed again.
 * Customizing clones needs none of that; guestfsd needs /dev/disk/by-path.
 *
 * So the clone appliance is libguestfs's supermin appliance plus one more
 * base image, a tarball that overrides, in /etc/udev/rules.d (udev's
 * documented way to replace a rule file of the same name):
 * 60-persistent-storage.rules (by-path links only), and empties
 * 60-block.rules, 64-btrfs.rules, 64-md-raid-assembly.rules, 69-lvm.rules
 * and 96-e2scrub.rules; and /etc/mdadm.conf, which has mdadm scan no
 * device (the init runs "mdadm -As" twice, which otherwise opens every
 * disk and partition; vmstamp's layouts never have md arrays). Everything
 * else (the kernel, the packages, init,
 * the daemon, the device-mapper rules LVM waits on) is libguestfs's own,
 * but for one small static program, /usr/sbin/udevadm, that answers
 * "udevadm settle -E FILE" itself when FILE exists (udevadm would return
 * at once too) and hands every other call to udevadm: guestfsd runs that
 * for every drive at start and before every call naming a device, and
 * starting udevadm costs ~30 ms each under TCG (a shell script ~half).
 * supermin builds it once per host into its own cache directory, and
 * again when libguestfs or any package changes (its --if-newer check).
 *
 * The directory is DIR/<key>/ (supermin.d/ of symlinks to libguestfs's
 * files plus zz-vmstamp-udev.tar.gz; cache/ for the built appliance),
 * where the key is a digest of libguestfs's supermin.d (its path and
 * entries) and of the overrides. */
#ifndef VMSTAMP_APPLIANCE_H
#define VMSTAMP_APPLIANCE_H

#define APPLIANCE_DIR "/var/cache/vmstamp/appliance"
/* A directory being made: APPLIANCE_TMP_PREFIX + the run's id
 * (proc_run_id); recovery removes a dead run's (pipeline/run.c). */
#define APPLIANCE_TMP_PREFIX ".tmp."

/* The stock supermin.d directory in libguestfs's appliance PATH (a
 * colon-separated list, as guestfs_get_path returns it), or NULL when
 * none of its elements has one (a fixed appliance: left alone). Caller
 * frees. */
char *appliance_stock_supermin(const char *path);

/* 1 when the appliance of a host whose files are under ROOT ("" for this
 * one) gets the /usr/sbin/udevadm program (adapters/appliance-helper.h):
 * only where udevadm is /usr/bin/udevadm or /bin/udevadm (the program runs
 * it) and neither /usr/sbin/udevadm nor /sbin/udevadm exists; else 0. */
int appliance_udevadm_shadow(const char *root);

/* Make (or find) the tuned appliance's directory under ROOT for the stock
 * supermin.d STOCK: built in ROOT/APPLIANCE_TMP_PREFIX<run id> and renamed
 * into place, so two runs at once agree and kill -9 leaves at most that
 * temporary directory (which recovery removes). The directory is locked
 * (flock, shared) from before it is there under its name: on success
 * *LOCK_FD holds that lock, and the caller keeps it open as long as it
 * may launch the appliance. When this run makes a new key's directory it
 * removes the other keys' (older libguestfs or vmstamp) that no run holds
 * locked: a run of another vmstamp version launching from one is not
 * pulled from under (its appliance files gone mid-launch). On success sets
 * *PATH (for guestfs_set_path) and *CACHE (for guestfs_set_cachedir), both
 * caller frees; -1 with an error recorded otherwise. */
int appliance_prepare(const char *root, const char *stock, char **path, char **cache, int *lock_fd);

#endif
