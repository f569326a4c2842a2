/* prepare.h: template preparation, in one appliance launch on a work
 * overlay: inspect (unless !inspect), find the layout (guest/layout.h), run
 * the selected sysprep operations, trim free space on every filesystem,
 * discard free LVM space and swap contents (swap headers kept). */
#ifndef VMSTAMP_PREPARE_H
#define VMSTAMP_PREPARE_H

#include "adapters/gfs.h"

struct template_meta;

/* Prepare the disk of S (gfs_launch_template), then shut the appliance
 * down (the overlay is flushed). Fills META's OS fields, root, expand,
 * filesystems, min_size. SELECTED_OPS: sysprep_select's choice. *LAYOUT
 * receives the layout clone needs (a struct template_layout *) for
 * gfs_record_layout(), which also frees it. CANCEL (may be NULL) is polled
 * between sysprep operations and between shrink steps: once set, -1 with
 * the error "interrupted". */
int prepare_template(struct gfs_session *s, const int *selected_ops, int inspect, volatile int *cancel,
                     struct template_meta *meta, void **layout);

#endif
