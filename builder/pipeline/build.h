/* build.h: the build pipeline: a template definition (pure/definition.h)
 * run end to end in one run: install into POOL/NAME-install.qcow2, the
 * template made from that disk, the disk removed, and how it was installed
 * written into the template's index entry. One journal holds it all, so a
 * failure or Ctrl-C at any point (between the steps too) leaves nothing. */
#ifndef VMSTAMP_PIPELINE_BUILD_H
#define VMSTAMP_PIPELINE_BUILD_H

#include <libvirt/libvirt.h>
#include <stddef.h>

#include "pipeline/run.h"

struct build_request {
    const char *definition;      /* the YAML file */
    const char *iso;             /* instead of the definition's (its checksum is then not checked) */
    const char *name;            /* template name instead of the definition's */
    const char *network;         /* for the install; NULL: default */
    const char *pool;            /* for the install disk; NULL: default */
    const char *password_file;   /* root password for the install */
    const char *const *vars;     /* NVARS kickstart variables "KEY=VALUE" */
    size_t nvars;
    int keep_install;            /* keep POOL/NAME-install.qcow2 */
    int fix_permissions;         /* install_request.fix_permissions */
};

struct build_result {
    char *name;      /* the template */
    char *iso;       /* the ISO installed from */
    char *kickstart; /* the kickstart file, resolved */
    char *image;     /* the template image in the store */
    char *install_disk; /* kept install disk (keep_install), else NULL */
    long install_elapsed; /* seconds */
};

void build_result_release(struct build_result *res);
/* Build REQ on CONN; every side effect is journaled in RUN (the caller
 * commits). 0, or -1 with one line recorded ("FILE:LINE: KEY: ..." for a
 * problem in the definition). */
int build_run(virConnectPtr conn, const struct build_request *req, struct run *run, struct build_result *res);

#endif
