/* lvm.h: what vmstamp asks LVM itself, for libvirt 'logical' pools.
 *
 * libvirt's logical backend makes plain LVs and thick snapshots (a volume
 * with a <backingStore>, see volume_create_lv) and deletes any LV; it does
 * not list an LV's kind, make thin snapshots or grow LVs. Those go through
 * the LVM tools here, run by the command object (argv only, LC_ALL=C). */
#ifndef VMSTAMP_LVM_H
#define VMSTAMP_LVM_H

#include <stddef.h>
#include <stdint.h>

/* One logical volume of a volume group, as lvs reports it. */
struct lv {
    char *name;
    char attr[11]; /* lv_attr: [0] 'V' thin volume, 't' thin pool, 's' snapshot, 'o' origin, '-' plain; [1] 'r' read-only */
    char *pool_lv; /* a thin volume's thin pool; "" otherwise */
    uint64_t size; /* bytes */
};

void lv_list_free(struct lv *lvs, size_t n);
/* Parse `lvs --noheadings --nosuffix --units b --separator '|' -o
 * lv_name,lv_attr,lv_size,pool_lv` output. Pure; unit-tested. */
int lvm_parse_lvs(const char *text, struct lv **out, size_t *n);
/* The LVs of volume group VG (lvs). */
int lvm_list(const char *vg, struct lv **out, size_t *n);
/* LV NAME in LVS, or NULL. */
const struct lv *lvm_find(const struct lv *lvs, size_t n, const char *name);
/* The first thin pool in LVS, or NULL. */
const struct lv *lvm_thin_pool(const struct lv *lvs, size_t n);
/* Why NAME cannot be an LV name (LVM's rules: letters, digits, "+_.-", not
 * starting with '-', not "." or "..", none of its reserved words), or NULL.
 * Pure; unit-tested. */
const char *lvm_name_problem(const char *name);

/* A thin snapshot NAME of LV ORIGIN in VG: ORIGIN a thin volume (THINPOOL
 * NULL), or a read-only LV used as the external origin of a new thin
 * volume in thin pool THINPOOL. Made active and without LVM's
 * activation-skip flag (-kn), so it comes up at boot like any LV. */
int lvm_thin_snapshot(const char *vg, const char *origin, const char *thinpool, const char *name);
/* Grow LV VG/NAME to SIZE bytes (rounded up to the VG's extent size). */
int lvm_extend(const char *vg, const char *name, uint64_t size);

#endif
