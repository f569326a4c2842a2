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
    /* The domain's UUID (random_uuid), written as <uuid> and, for clones,
     * as <vmstamp:uuid> too: the metadata is bound to this domain, so a
     * copy of it (virt-clone, virsh dumpxml | define) is not vmstamp's.
     * NULL: libvirt picks one (installs) */
    const char *uuid;
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

/* What vmstamp reads back from a domain's XML.
 *
 * Nothing here is trusted for being in the metadata: anyone who may define
 * domains (the libvirt group, not root) can write it. A domain is
 * vmstamp's own clone only when its <vmstamp:clone> names the domain's own
 * <uuid> (a copied or hand-written block names another, or none), and a
 * disk is the clone's only when the metadata names it and the domain's
 * <devices> use it. What to delete is decided from that, and then only
 * through a libvirt pool (pipeline/remove.h). */
struct clone_meta {
    int is_vmstamp;   /* has our <metadata> element, bound to this domain's UUID */
    int unbound;      /* has a <vmstamp:clone> element, but for another UUID or none: a copy */
    char *uuid;       /* the domain's own <uuid> */
    char *template_path;
    char *hostname;
    char *created;
    char *os_id;      /* libosinfo metadata, any domain */
    char **disks;     /* disks vmstamp made that the domain uses: in both the metadata and
                       * <devices> (NULL-terminated; empty unless is_vmstamp) */
    char **stray_disks; /* metadata disks the domain does not use (NULL-terminated): never removed */
    char **macs;      /* every interface MAC of the domain (NULL-terminated) */
    /* A fleet's clone: its <vmstamp:fleet> (NULL: not a fleet's). */
    char *fleet, *fleet_group, *fleet_plan, *fleet_hash, *fleet_ip;
    /* What drift is judged on. */
    unsigned long long memory_kib;
    unsigned vcpus;
    char *net_type;   /* first interface: "network", "bridge", "user" */
    char *net_source; /* its network or bridge name; NULL for user */
    /* Its <vmstamp:forward> elements (malformed ones left out, and the
     * first of them described in BAD_FORWARD: NULL when none). */
    struct port_forward *forwards;
    size_t nforwards;
    char *bad_forward;
};

int domxml_parse(const char *xml, struct clone_meta *meta);
/* The string value of XPATH in XML (first match), or NULL; caller frees. */
char *xml_get(const char *xml, const char *xpath);
void clone_meta_release(struct clone_meta *meta);

#endif
