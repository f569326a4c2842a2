/* forward.h (pipeline): port forwards of clones, planned and kept.
 *
 * Planned with the clones (forward_plan_check): every host port once on a
 * host, across the clones being made and every domain already defined
 * there (their vmstamp metadata). Made to work (forward_prepare): vmstamp's
 * libvirt hook on the host (adapters/portfwd.h). Kept by the hook
 * (forward_hook): rules added at start and reconnect, removed at stopped. */
#ifndef VMSTAMP_PIPELINE_FORWARD_H
#define VMSTAMP_PIPELINE_FORWARD_H

#include <libvirt/libvirt.h>
#include <stddef.h>

#include "pure/forward.h"

/* Check the forwards of SETS[0..N) (clones about to be made on CONN):
 * each host port used once among them and by no domain on CONN; CONN must
 * be this machine's (the hook lives on the host). -1 (recorded, one line
 * naming the port and who has it). */
int forward_plan_check(virConnectPtr conn, const struct forward_set *sets, size_t n);
/* vmstamp's hook installed on this machine (forward_plan_check made sure
 * the connection is its qemu:///system), the daemon told when the hook is
 * new. */
int forward_prepare(void);
/* The hook: libvirt's OP ("start", "stopped", "reconnect", others ignored)
 * for domain NAME, whose XML is XML: its recorded forwards added or
 * removed. */
int forward_hook(const char *name, const char *op, const char *xml);

#endif
