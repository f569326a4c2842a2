/* cmd-rm.c: vmstamp rm. Every name is checked before anything is removed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "commands/cmd.h"
#include "pure/domxml.h"
#include "base/error.h"
#include "adapters/portfwd.h"
#include "base/fileio.h"
#include "adapters/virt.h"
#include "adapters/volume.h"
#include "pipeline/run.h"

/* Remove clone META's disks: only those its <devices> use and a libvirt
 * pool holds (volume_delete_disk); what the metadata names besides, or no
 * pool holds, is kept and said in one line each. */
static int delete_disks(virConnectPtr conn, const char *name, const struct clone_meta *meta)
{
    int ret = 0;

    for (size_t d = 0; meta->stray_disks && meta->stray_disks[d]; d++)
        warning("%s: kept '%s': its vmstamp metadata names it, but the domain does not use it", name,
                meta->stray_disks[d]);
    for (size_t d = 0; meta->disks && meta->disks[d]; d++) {
        CLEANUP_FREE char *why = NULL;
        if (volume_delete_disk(conn, meta->disks[d], &why) < 0)
            ret = -1;
        else if (why)
            warning("%s: %s", name, why);
    }
    return ret;
}

int cmd_rm(int argc, char **argv)
{
    static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
    virConnectPtr conn;
    int force = 0, c, ret = EXIT_SUCCESS;

    while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
        if (c == 'f')
            force = 1;
        else
            return cmd_bad_usage("rm", "unknown option");
    }
    int n = argc - optind;
    if (n < 1)
        return cmd_bad_usage("rm", "missing NAME");
    conn = cmd_connect();
    if (!conn) {
        error_report();
        return EXIT_FAILURE;
    }
    /* What interrupted runs left is undone first (it may be what is asked for). */
    recover_dead_runs();
    error_clear();
    virDomainPtr *doms = calloc((size_t)n, sizeof *doms);
    struct clone_meta *metas = calloc((size_t)n, sizeof *metas);

    /* Check all first: nothing is removed unless every name can be. */
    for (int i = 0; i < n && ret == EXIT_SUCCESS; i++) {
        const char *name = argv[optind + i];
        virDomainInfo di;
        doms[i] = virDomainLookupByName(conn, name);
        if (!doms[i]) {
            error("domain '%s' not found (see 'vmstamp list')", name);
            ret = EXIT_FAILURE;
            break;
        }
        CLEANUP_FREE char *xml = virt_domain_xml(doms[i]);
        if (!xml || domxml_parse(xml, &metas[i]) < 0) {
            ret = EXIT_FAILURE;
            break;
        }
        if (metas[i].unbound && !force) {
            error("domain '%s' has vmstamp metadata that is not bound to it (a copy of a clone, e.g. by virt-clone, "
                  "or written by hand): it is not a vmstamp clone; use --force to undefine it (its disks are kept)",
                  name);
            ret = EXIT_FAILURE;
            break;
        }
        if (!metas[i].is_vmstamp && !force) {
            error("domain '%s' was not made by vmstamp: use --force to undefine it (its disks are kept)", name);
            ret = EXIT_FAILURE;
            break;
        }
        if (virDomainGetInfo(doms[i], &di) == 0 && di.state != VIR_DOMAIN_SHUTOFF && !force) {
            error("domain '%s' is running: stop it (virsh shutdown %s) or use --force", name, name);
            ret = EXIT_FAILURE;
        }
    }
    for (int i = 0; i < n && ret == EXIT_SUCCESS; i++) {
        const char *name = argv[optind + i];
        if (virt_domain_remove(doms[i]) < 0) {
            ret = EXIT_FAILURE;
            break;
        }
        if (metas[i].is_vmstamp && delete_disks(conn, name, &metas[i]) < 0)
            ret = EXIT_FAILURE;
        if (metas[i].is_vmstamp) {
            CLEANUP_FREE char *log = virt_console_log(name);
            unlink(log);
        }
        /* Stopping it ran the hook; its rules go here in any case. */
        if (metas[i].is_vmstamp && portfwd_forget(name, metas[i].uuid) < 0)
            ret = EXIT_FAILURE;
        info("vmstamp: removed %s", name);
    }
    for (int i = 0; i < n; i++) {
        if (doms[i])
            virDomainFree(doms[i]);
        clone_meta_release(&metas[i]);
    }
    free(doms);
    free(metas);
    if (ret != EXIT_SUCCESS)
        error_report();
    virConnectClose(conn);
    return ret;
}
