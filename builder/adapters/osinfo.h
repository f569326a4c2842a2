/* osinfo.h: what virt-install's --os-variant means, from osinfo-db through
 * libosinfo: the OS's full id (recorded in domain metadata, as virt-install
 * does) and how its installer wants the kickstart named. */
#ifndef VMSTAMP_OSINFO_H
#define VMSTAMP_OSINFO_H

struct os_variant {
    char *short_id;  /* "centos7.0"; NULL for "generic" */
    char *id;        /* "http://centos.org/centos/7.0"; NULL for "generic" */
    char *name;      /* "CentOS 7" */
    int legacy_ks;   /* anaconda before Fedora 34 / RHEL 9: ks=, not inst.ks= */
};

/* SPEC: a short id ("rocky9"), "short-id=ID" / "name=ID", "id=URI", a full
 * id URI, or "generic" (no OS: no metadata, inst.ks=). 0, or -1 with a
 * one-line error naming SPEC. */
int os_variant_lookup(const char *spec, struct os_variant *out);
void os_variant_release(struct os_variant *v);

/* The kickstart argument for the kernel command line: "ks" or "inst.ks". */
const char *os_variant_ks_arg(const struct os_variant *v);

#endif
