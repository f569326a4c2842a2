/* domxml.h: libvirt domain XML for clones, built and read with libxml2 (pure). */
#ifndef VMSTAMP_DOMXML_H
#define VMSTAMP_DOMXML_H

#include <stddef.h>
#include <stdint.h>

#include "pure/forward.h"

#define VMSTAMP_XMLNS "http://vmstamp.org/xmlns/clone/1.0"
#define LIBOSINFO_XMLNS "http://libosinfo.org/xmlns/libvirt/domain/1.0"

enum net_kind { NET_NETWORK, NET_USER, NET_BRIDGE };

struct netspec {
    enum net_kind kind;
    char *source; /* network or bridge name; NULL for user */
};

/* "default", "network:NAME", "bridge:BR", "user" -> netspec. */
int netspec_parse(const char *s, struct netspec *out);
void netspec_release(struct netspec *n);

struct domain_spec {
    const char *name;
    /* <description>, as virt-install --metadata description= writes it
     * (virsh desc, virt-manager); NULL: none */
    const char *description;
    const char *virt_type;   /* "kvm" or "qemu" */
    const char *machine;     /* "q35"; NULL: libvirt's default (pc) */
    uint64_t memory_kib;
    unsigned vcpus;
    const char *disk_path;
    const char *disk_format; /* "qcow2" */
    int disk_block;          /* DISK_PATH is a block device (an LVM LV): <disk type='block'>, <source dev=> */
    const struct netspec *net;
    const char *mac;         /* NULL: libvirt picks one */
    const char *console_log; /* serial console log file, or NULL */
    /* Installs: direct kernel boot (all three, or none: boot from disk),
     * the ISO as a read-only CD-ROM, and the first reboot ends the domain. */
    const char *kernel, *initrd, *cmdline;
    const char *cdrom;
    int cdrom_no_relabel;    /* the qemu user can read it as it is: no chown */
    int on_reboot_destroy;
    /* osinfo id of the guest OS, recorded as virt-install does:
     * <libosinfo:os id="http://centos.org/centos/7.0"/>; NULL: none */
    const char *os_id;
    /* vmstamp metadata (clones); NULL template_path: none */
    const char *template_path;
    const char *hostname;
    const char *created;     /* ISO 8601 */
    const struct fleet_owner *fleet; /* a fleet's clone; NULL: none */
    /* Port forwards to this clone (pure/forward.h), recorded as
     * <vmstamp:forward proto= host= guest= address=/>; vmstamp's libvirt
     * hook reads them back. */
    const struct port_forward *forwards;
    size_t nforwards;
};

/* Who owns a fleet clone, recorded in its domain as
 * <vmstamp:fleet name= group= plan= hash= ip=/> inside <vmstamp:clone>, so
 * status and destroy read ownership from libvirt, not from a local file. */
struct fleet_owner {
    const char *name;  /* the fleet */
    const char *group; /* the group's name pattern */
    const char *plan;  /* the plan file's absolute path */
    const char *hash;  /* SHA-256 of the plan file */
    const char *ip;    /* the planned address; NULL: none */
};

/* Returns a newly allocated XML document, or NULL (error recorded). */
char *domxml_build(const struct domain_spec *spec);

/* What vmstamp reads back from a domain's XML. */
struct clone_meta {
    int is_vmstamp;   /* has our <metadata> element */
    char *template_path;
    char *hostname;
    char *created;
    char *os_id;      /* libosinfo metadata, any domain */
    char **disks;     /* disk source paths vmstamp made (NULL-terminated) */
    char **macs;      /* every interface MAC of the domain (NULL-terminated) */
    /* A fleet's clone: its <vmstamp:fleet> (NULL: not a fleet's). */
    char *fleet, *fleet_group, *fleet_plan, *fleet_hash, *fleet_ip;
    /* What drift is judged on. */
    unsigned long long memory_kib;
    unsigned vcpus;
    char *net_type;   /* first interface: "network", "bridge", "user" */
    char *net_source; /* its network or bridge name; NULL for user */
    /* Its <vmstamp:forward> elements (malformed ones skipped). */
    struct port_forward *forwards;
    size_t nforwards;
};

int domxml_parse(const char *xml, struct clone_meta *meta);
/* The string value of XPATH in XML (first match), or NULL; caller frees. */
char *xml_get(const char *xml, const char *xpath);
void clone_meta_release(struct clone_meta *meta);

#endif
