/* template.h: the template pipeline: create (sysprep + shrink into the
 * store) and import (a signed bundle into the store), both ending in one
 * store commit. */
#ifndef VMSTAMP_PIPELINE_TEMPLATE_H
#define VMSTAMP_PIPELINE_TEMPLATE_H

#include <libvirt/libvirt.h>

#include "pure/meta.h"
#include "pipeline/run.h"

struct template_request {
    const char *name;
    const char *from;        /* disk image path or shut-off domain */
    const char *pool;        /* store pool; NULL: default */
    const char *operations;  /* sysprep spec; NULL: "defaults" */
    int in_place;
    int no_inspect;
};

struct template_result {
    struct template_meta meta;
    char *image; /* path in the store */
};

void template_result_release(struct template_result *res);
/* Make the template; every side effect is journaled in RUN (the caller
 * commits). */
int template_create(virConnectPtr conn, const struct template_request *req, struct run *run,
                    struct template_result *res);

struct import_request {
    const char *bundle;    /* FILE.tar.zst */
    const char *trust_key; /* Ed25519 public key (PEM) */
    const char *pool;      /* store pool; NULL: default */
};

/* Verify a signed bundle and add it to the store. */
int template_import(virConnectPtr conn, const struct import_request *req, struct run *run,
                    struct template_result *res);
/* Remove template NAME (refused while linked clones use it), with its
 * layout-cache entry. */
int template_remove(virConnectPtr conn, const char *pool, const char *name, struct run *run);

#endif
