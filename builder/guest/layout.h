/* layout.h: where a template's filesystems are, found once and recorded.
 *
 * The layout (root filesystem, the fstab mounts vmstamp edits, the
 * partition to grow) is found on a launched handle by partition number and
 * LV name, so it serves any clone of the template: clones share filesystem
 * UUIDs and VG names, so LVM is filtered to one clone's disk at a time and
 * XFS is mounted with nouuid. An LV that is one linear run of extents on
 * one PV is also recorded as that run (byte offset and size in its PV), so
 * a clone that does not grow mounts it straight from its PV through a loop
 * device (mount -o loop,offset=,sizelimit=) instead of rescanning LVM for
 * every clone.
 *
 * Finding it costs seconds of appliance time, so it is recorded in
 * LAYOUT_CACHE_DIR, keyed by the template file's identity (layout_key:
 * path, device, inode, size, mtime), and every later run reads it back. */
#ifndef VMSTAMP_LAYOUT_H
#define VMSTAMP_LAYOUT_H

#include <guestfs.h>
#include <stddef.h>
#include <stdint.h>

#define LAYOUT_CACHE_DIR "/var/cache/vmstamp/layouts"
/* A grown template being recorded: LAYOUT_CACHE_DIR/grown.RUNID.XXXXXX. */
#define LAYOUT_GROWN_TMP_PREFIX "grown."

/* A filesystem of the template, named so it can be found on any clone. */
struct fs_ref {
    int partnum;  /* > 0: partition N of the clone's disk */
    char *lv;     /* else "/dev/VG/LV" */
    char *type;   /* ext4, xfs, ... */
    char *subvol; /* btrfs: the subvolume mounted (subvol=), NULL: the default one */
    char *mountpoint;
    /* An LV that is one linear run on one PV: where it lies (lv_size 0:
     * unknown, mount it through LVM). */
    int pv_partnum;       /* the PV: partition N of the clone's disk, 0: the whole disk */
    uint64_t lv_offset;   /* bytes from the PV's start */
    uint64_t lv_size;     /* bytes */
};

struct layout {
    struct fs_ref *mounts; /* root first, then parents before children */
    size_t nmounts;
    int last_partnum;       /* partition to grow */
    int gpt;
    int last_is_pv;
    int lvm;                /* the template has LVs: filter LVM per clone */
    int direct;             /* every LV mounted is a known linear run: a clone
                             * that does not grow needs no LVM (layout_mount_ref) */
    char **swaps;           /* swap devices (found, not recorded in the cache) */
};

/* What was found in the template (recorded with its layout). */
struct guest_os {
    char *id;         /* os-release ID: centos, rocky, debian, ubuntu... */
    char *version;    /* VERSION_ID */
    char *pretty;     /* PRETTY_NAME */
    char *root_fs;    /* e.g. "xfs on LV centos/root" */
};

void layout_release(struct layout *l);
void guest_os_release(struct guest_os *os);

/* Find the layout on disk DEV ("/dev/sda") of launched handle G, and the OS
 * from the root filesystem's os-release. NEED_GROW: also find the partition
 * to grow (parted is slow). ALONE: DEV is the appliance's only disk, so its
 * LVs are active already and no LVM filter is set (else the filter is left
 * on DEV). ROOT_HINT: the root device inspection found, tried first (NULL:
 * each in turn). A root filesystem lacking /usr, /etc, /bin or /lib is
 * refused (a damaged image). TEMPLATE_NAME: for messages. Filesystems are
 * left unmounted. Each LV mounted that is one linear run on one PV gets
 * its run (from the VG's metadata, guestfs_vgmeta); L->direct says all
 * did. */
int layout_find(guestfs_h *g, const char *dev, int need_grow, int alone, const char *root_hint,
                struct layout *l, struct guest_os *os, const char *template_name);

/* Device name of filesystem F on the clone disk DEV; caller frees. */
char *layout_fs_device(const char *dev, const struct fs_ref *f);
/* Mount DEVICE of fs TYPE at MP (read-only if RO; XFS with nouuid; btrfs
 * subvolume SUBVOL, NULL: the default one). */
int layout_mount(guestfs_h *g, const char *device, const char *type, const char *subvol, const char *mp, int ro);
/* Mount filesystem F of the clone disk DEV at its mount point; DIRECT (and
 * F an LV with a known run): straight from its PV, LVM untouched. */
int layout_mount_ref(guestfs_h *g, const char *dev, const struct fs_ref *f, int direct, int ro);
/* Restrict LVM to disk DEV (rescans, activates what the filter lets through). */
int layout_lvm_only(guestfs_h *g, const char *dev);

/* The identity key of a template file: path, device, inode, size, mtime;
 * NULL if it cannot be stat'ed. Caller frees. */
char *layout_key(const char *path);
/* 0 and the layout and OS recorded for KEY, or -1 (nothing usable there). */
int layout_cache_load(const char *key, struct layout *l, struct guest_os *os);
/* Record L and OS for KEY; a failure only costs a later search (-v says). */
void layout_cache_save(const char *key, const struct layout *l, const struct guest_os *os);
/* Remove what is recorded for the template file at TEMPLATE_PATH (every key
 * of that path: the file may be gone or changed already). */
void layout_forget(const char *template_path);

/* A layout found while preparing a template, with its OS (guest/prepare.h
 * hands it out as void *). */
struct template_layout {
    struct layout l;
    struct guest_os os;
};

/* Record LAYOUT (a struct template_layout *) for the template file
 * identified by KEY (see layout_key; NULL: record nothing), OS_NAME naming
 * the OS if nothing better was found; frees LAYOUT. */
void gfs_record_layout(const char *key, void *layout, const char *os_name);

/* Where LV ("/dev/VG/LV") lies on disk DEV when it is one linear run on
 * one PV, from the VG's metadata (LVM must see DEV's VG): 0 and F's
 * pv_partnum, lv_offset and lv_size set, or -1 (not one run, not
 * understood; nothing recorded). */
int layout_lv_run(guestfs_h *g, const char *dev, const char *lv, struct fs_ref *f);

/* A template grown to SIZE bytes, recorded beside its layout: a qcow2
 * overlay of the template (its path as the backing file) holding only what
 * growing changed (partition table, PV, LV, filesystem), taken from the
 * first clone that grew before anything of that clone was written, and
 * where the grown root lies from the start of the disk (ROOT: pv_partnum
 * 0, lv_offset, lv_size). A later linked clone of that size starts as a
 * copy of it and mounts its root from there: no grow per clone.
 * layout_grown_load: 0 with *OVERLAY (caller frees) and *ROOT (release
 * with layout_fs_ref_release), -1 if none. layout_grown_save copies
 * OVERLAY (a running appliance's disk, flushed) and keeps it only if
 * qemu-img check finds it whole; failures are only logged (-v).
 * layout_forget removes these records too. */
int layout_grown_load(const char *key, uint64_t size, char **overlay, struct fs_ref *root);
void layout_grown_save(const char *key, uint64_t size, const char *overlay, const struct fs_ref *root);
void layout_fs_ref_release(struct fs_ref *f);

#endif
