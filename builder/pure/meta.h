/* meta.h: a template's recorded metadata (the store's index entry), read
 * and written as JSON (json-c). Pure; unit-tested. */
#ifndef VMSTAMP_META_H
#define VMSTAMP_META_H

#include <stdint.h>

/* How a template was installed (vmstamp build): enough to redo it. No
 * secrets: the kickstart is named by path and SHA-256, not copied. */
struct template_install {
    char *definition;       /* templates/rocky9.yaml, as given */
    char *iso;              /* path of the ISO */
    char *iso_sha256;
    char *os_variant;       /* osinfo short id, or NULL */
    char *kickstart;        /* path of the kickstart file */
    char *kickstart_sha256; /* of that file as it was read */
    char *command;          /* the vmstamp install command line */
};

struct template_meta {
    char *name;
    char *os;            /* osinfo short id: centos7.0, rocky9, debian12, ubuntu22.04 */
    char *os_id;         /* its osinfo-db id (http://rockylinux.org/rocky/9), if known */
    char *distro;        /* libguestfs inspection: centos, rocky, debian, ubuntu */
    int major, minor;
    char *product;       /* "Rocky Linux 9.3 (Blue Onyx)" */
    char *arch;          /* x86_64 */
    char *root;          /* root filesystem device as inspected: /dev/rl/root, /dev/sda1 */
    char *expand;        /* partition to grow on clone --size: /dev/sda2 */
    char *expand_lv;     /* LV to grow (LVM guests) or NULL */
    char **filesystems;  /* "device type mountpoint" lines, NULL-terminated */
    char *format;        /* image format: qcow2 */
    uint64_t virtual_size;
    uint64_t stored_size; /* bytes of the image file */
    uint64_t min_size;    /* smallest virtual size a clone may have */
    char *created;       /* ISO 8601 UTC */
    char **operations;   /* sysprep operations run, NULL-terminated */
    char *sha256;        /* of the image file, lowercase hex */
    char *source;        /* what it was made from */
    struct template_install install; /* all NULL unless built from an ISO */
};

/* JSON text of META (caller frees), pretty-printed. */
char *template_meta_to_json(const struct template_meta *meta);
/* Parse; missing optional fields stay NULL/0; name, format and sha256 are required. */
int template_meta_from_json(const char *json, struct template_meta *meta);
void template_meta_release(struct template_meta *meta);

#endif
