/* sysprep.h: the registry of sysprep operations, in the manner of
 * virt-sysprep's: {name, default on/off, description, what it does}.
 * Listing, --operations parsing and per-operation tests come from the table. */
#ifndef VMSTAMP_SYSPREP_H
#define VMSTAMP_SYSPREP_H

#include <guestfs.h>
#include <stddef.h>

struct sysprep_ctx {
    guestfs_h *g;          /* the guest's filesystems mounted at / */
    const char *distro;    /* libguestfs inspection: centos, rocky, debian, ubuntu... */
    size_t removed;        /* paths removed or emptied (for the summary and -v) */
};

struct sysprep_op {
    const char *name;
    int default_on;
    const char *description;
    const char *const *remove;   /* globs: each match removed (recursively) */
    const char *const *truncate; /* globs: each regular file emptied, kept */
    int (*perform)(struct sysprep_ctx *ctx); /* extra work, or NULL */
    int unmounted;               /* perform runs with the filesystems unmounted */
};

extern const struct sysprep_op sysprep_ops[];
extern const size_t sysprep_nops;

/* "defaults", "defaults,-tmp-files,+user-account", "machine-id,logfiles",
 * "all", "none". Fills selected[sysprep_nops] with 0/1. */
int sysprep_select(const char *spec, int *selected);
/* Run the selected operations, in table order: those on mounted
 * filesystems (unmounted = 0), or, after umount, the rest (unmounted = 1). */
int sysprep_run(struct sysprep_ctx *ctx, const int *selected, int unmounted);
const struct sysprep_op *sysprep_find(const char *name);

#endif
