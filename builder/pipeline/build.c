/* build.c: see build.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/osinfo.h"
#include "adapters/store.h"
#include "adapters/virt.h"
#include "adapters/volume.h"
#include "base/cancel.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/xalloc.h"
#include "guest/sysprep.h"
#include "pipeline/build.h"
#include "pipeline/install.h"
#include "pipeline/template.h"
#include "pure/definition.h"
#include "pure/meta.h"
#include "pure/util.h"

void build_result_release(struct build_result *res)
{
    if (!res)
        return;
    free(res->name);
    free(res->iso);
    free(res->kickstart);
    free(res->image);
    free(res->install_disk);
    memset(res, 0, sizeof *res);
}

/* What the definition names beyond its own syntax: the os_variant in
 * osinfo-db, the sysprep operations; each error names the key's line. */
static int check_definition(const struct definition *d)
{
    if (d->os_variant) {
        struct os_variant v;
        if (os_variant_lookup(d->os_variant, &v) < 0) {
            CLEANUP_FREE char *msg = xstrdup(error_message() ? error_message() : "?");
            error_clear();
            return definition_error(d, DEF_OS_VARIANT, "%s", msg);
        }
        os_variant_release(&v);
    }
    if (d->operations) {
        CLEANUP_FREE int *selected = xcalloc(sysprep_nops, sizeof *selected);
        if (sysprep_select(d->operations, selected) < 0) {
            CLEANUP_FREE char *msg = xstrdup(error_message() ? error_message() : "?");
            error_clear();
            return definition_error(d, DEF_OPERATIONS, "%s", msg);
        }
    }
    return 0;
}

/* The template name, claimed and checked before the install (which takes
 * minutes); template_create claims it again (already ours). */
static int check_template_name(virConnectPtr conn, const char *name, struct run *run)
{
    struct store st;
    CLEANUP_FREE char *image = NULL;
    int r;

    if (store_open(conn, NULL, 0, &st) < 0) { /* no store yet: made with the template */
        error_clear();
        return 0;
    }
    image = store_image_path(&st, name);
    r = run_claim_path(run, "template", image);
    if (r == 0 && store_has(&st, name))
        r = error("template '%s' already exists in store '%s': remove it (vmstamp template rm %s) or pick "
                  "another name", name, st.pool, name);
    store_close(&st);
    return r;
}

static void set(char **field, char *owned)
{
    free(*field);
    *field = owned;
}

/* How the template was installed, into its index entry. */
static int record_install(virConnectPtr conn, const char *name, const struct build_request *req,
                          const struct install_request *ir, const struct install_result *ires)
{
    struct store st;
    struct template_meta m;
    int r = -1;

    if (store_open(conn, NULL, 0, &st) < 0)
        return -1;
    if (store_load(&st, name, &m) == 0) {
        struct template_install *in = &m.install;
        set(&in->command, install_command_line(ir));
        set(&in->definition, realpath(req->definition, NULL));
        set(&in->iso, xstrdup(ires->iso));
        set(&in->iso_sha256, xstrdup_or_null(ir->iso_sha256));
        set(&in->os_variant, xstrdup_or_null(ir->os_variant));
        set(&in->kickstart, realpath(ir->kickstart, NULL));
        set(&in->kickstart_sha256, xstrdup(ires->kickstart_sha256));
        r = store_save_meta(&st, &m);
        template_meta_release(&m);
    }
    store_close(&st);
    return r;
}

int build_run(virConnectPtr conn, const struct build_request *req, struct run *run, struct build_result *res)
{
    struct definition d;
    struct install_result ires = { 0 };
    struct template_result tres = { 0 };
    struct install_request ir;
    struct template_request tr;
    CLEANUP_FREE char *ks = NULL;
    CLEANUP_FREE char *iso = NULL;
    CLEANUP_FREE char *install_name = NULL;
    CLEANUP_FREE char *sha_from = NULL;
    CLEANUP_FREE char *stopped = NULL;
    CLEANUP_FREE const char **vars = NULL;
    const char *name;
    int ret = -1;

    memset(res, 0, sizeof *res);
    if (definition_load(req->definition, &d) < 0)
        return -1;
    name = req->name ? req->name : d.name;
    if (req->name && !valid_domain_name(req->name)) {
        error("invalid template name '%s': use 1-64 letters, digits, '.', '_' or '-'", req->name);
        goto out;
    }
    if (!req->iso && !d.iso) {
        error("%s: no 'iso' key: add 'iso:' or pass --iso", d.path);
        goto out;
    }
    if (!req->iso && d.iso_sha256_unset) {
        error("%s:%d: iso_sha256 is not set: copy it from the distribution's CHECKSUM file", d.path,
              d.line[DEF_ISO_SHA256]);
        goto out;
    }
    if (check_definition(&d) < 0)
        goto out;
    ks = definition_resolve(&d, d.kickstart);
    iso = req->iso ? xstrdup(req->iso) : definition_resolve(&d, d.iso);
    install_name = xasprintf("%s-install", name);
    stopped = xasprintf("build of '%s' stopped, nothing kept", name);
    sha_from = xasprintf("iso_sha256, %s:%d", d.path, d.line[DEF_ISO_SHA256]);
    if (check_template_name(conn, name, run) < 0)
        goto out;

    /* 1. install, into POOL/NAME-install.qcow2; the template's host name
     * is not the install's */
    vars = xcalloc(req->nvars + 1, sizeof *vars);
    vars[0] = "HOSTNAME=localhost.localdomain";
    for (size_t i = 0; i < req->nvars; i++)
        vars[i + 1] = req->vars[i];
    ir = (struct install_request){
        .iso = iso, .kickstart = ks, .name = install_name, .size = d.size, .memory_kib = d.memory_kib,
        .vcpus = d.vcpus, .pool = req->pool, .network = req->network, .vars = vars, .nvars = req->nvars + 1,
        .password_file = req->password_file, .os_variant = d.os_variant,
        .iso_sha256 = req->iso ? NULL : d.iso_sha256, .iso_sha256_from = sha_from,
        .fix_permissions = req->fix_permissions,
    };
    info("vmstamp: build %s: installing from %s", name, iso);
    if (install_run(conn, &ir, run, &ires) < 0)
        goto out;
    if (cancel_check(stopped) < 0)
        goto out;

    /* 2. the template, from the installed disk */
    tr = (struct template_request){
        .name = name, .from = ires.disk, .operations = d.operations ? d.operations : "defaults",
    };
    info("vmstamp: build %s: making the template", name);
    if (template_create(conn, &tr, run, &tres) < 0 || cancel_check(stopped) < 0)
        goto out;

    /* 3. the installed disk goes (its journal step then finds nothing) */
    if (req->keep_install) {
        res->install_disk = xstrdup(ires.disk);
    } else if (is_block_device(ires.disk)) {
        /* An LV of an LVM pool: through libvirt (unlink would drop its /dev link only). */
        if (volume_delete(conn, ires.pool, strrchr(ires.disk, '/') + 1) < 0) {
            warning("cannot remove the installed disk '%s': %s", ires.disk, error_message());
            error_clear();
        }
    } else if (unlink(ires.disk) < 0) {
        warning("cannot remove the installed disk '%s': %s", ires.disk, strerror(errno));
    } else if (virt_pool_refresh(conn, ires.pool) < 0) {
        error_clear();
    }

    /* 4. how it was installed, in the template's index entry */
    if (record_install(conn, name, req, &ir, &ires) < 0) {
        warning("template '%s' was built, but its install record was not saved: %s", name, error_message());
        error_clear();
    }
    res->name = xstrdup(name);
    res->iso = steal_pointer(&iso);
    res->kickstart = steal_pointer(&ks);
    res->image = xstrdup_or_null(tres.image);
    res->install_elapsed = ires.elapsed;
    ret = 0;
out:
    template_result_release(&tres);
    install_result_release(&ires);
    definition_release(&d);
    return ret;
}
