/* cmd-list.c: vmstamp list. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "commands/cmd.h"
#include "pure/domxml.h"
#include "base/error.h"
#include "pure/util.h"
#include "adapters/virt.h"

static int cmp_dom(const void *a, const void *b)
{
    return strcmp(virDomainGetName(*(virDomainPtr const *)a), virDomainGetName(*(virDomainPtr const *)b));
}

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { "json", no_argument, NULL, 'j' },
                                          { NULL, 0, NULL, 0 } };
    virConnectPtr conn;
    virDomainPtr *doms = NULL;
    struct json_object *out = NULL, *arr = NULL;
    int all = 0, json = 0, c, n;

    while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
        if (c == 'a')
            all = 1;
        else if (c == 'j')
            json = 1;
        else
            return cmd_bad_usage("list", "unknown option");
    }
    if (optind != argc)
        return cmd_bad_usage("list", "unexpected argument '%s'", argv[optind]);
    conn = cmd_connect();
    if (!conn) {
        error_report();
        return EXIT_FAILURE;
    }
    n = virConnectListAllDomains(conn, &doms, 0);
    if (n < 0) {
        error("cannot list domains: %s", virt_error());
        error_report();
        virConnectClose(conn);
        return EXIT_FAILURE;
    }
    qsort(doms, (size_t)n, sizeof *doms, cmp_dom);
    if (json) {
        out = cmd_json_new();
        arr = json_object_new_array();
        json_object_object_add(out, "domains", arr);
    } else {
        printf("%-24s %-10s %-17s %-21s %s\n", "NAME", "STATE", "MAC", "DISK (USED/SIZE)", "TEMPLATE");
    }
    for (int i = 0; i < n; i++) {
        CLEANUP_FREE char *xml = virt_domain_xml(doms[i]);
        struct clone_meta meta = { 0 };
        virDomainInfo di = { 0 };
        char used[32] = "-", size[32] = "-", disk[64];
        virStorageVolInfo vi;
        int have_vi = 0;

        if (xml && domxml_parse(xml, &meta) == 0 && (meta.is_vmstamp || all)) {
            const char *mac = meta.macs && meta.macs[0] ? meta.macs[0] : NULL;
            virDomainGetInfo(doms[i], &di);
            if (meta.disks && meta.disks[0]) {
                virStorageVolPtr v = virStorageVolLookupByPath(conn, meta.disks[0]);
                if (v && virStorageVolGetInfo(v, &vi) == 0) {
                    have_vi = 1;
                    human_size(vi.allocation, used, sizeof used);
                    human_size(vi.capacity, size, sizeof size);
                }
                if (v)
                    virStorageVolFree(v);
            }
            if (json) {
                struct json_object *e = json_object_new_object();
                json_object_object_add(e, "name", json_object_new_string(virDomainGetName(doms[i])));
                json_object_object_add(e, "state", json_object_new_string(virt_state_name(di.state)));
                json_object_object_add(e, "mac", cmd_json_string(mac));
                json_object_object_add(e, "vmstamp", json_object_new_boolean(meta.is_vmstamp));
                json_object_object_add(e, "template", cmd_json_string(meta.is_vmstamp ? meta.template_path : NULL));
                json_object_object_add(e, "disk", cmd_json_string(meta.disks ? meta.disks[0] : NULL));
                json_object_object_add(e, "disk_allocation",
                                       have_vi ? json_object_new_int64((int64_t)vi.allocation) : NULL);
                json_object_object_add(e, "disk_capacity", have_vi ? json_object_new_int64((int64_t)vi.capacity) : NULL);
                json_object_object_add(e, "fleet", cmd_json_string(meta.fleet));
                json_object_array_add(arr, e);
            } else {
                snprintf(disk, sizeof disk, "%s/%s", used, size);
                printf("%-24s %-10s %-17s %-21s %s\n", virDomainGetName(doms[i]), virt_state_name(di.state),
                       mac ? mac : "-", disk, meta.is_vmstamp ? meta.template_path
                       : meta.unbound ? "(not vmstamp: a copy of a clone's metadata)"
                                      : "(not vmstamp)");
            }
        }
        clone_meta_release(&meta);
        error_clear();
        virDomainFree(doms[i]);
    }
    free(doms);
    virConnectClose(conn);
    if (out)
        cmd_json_print(out);
    return EXIT_SUCCESS;
}
