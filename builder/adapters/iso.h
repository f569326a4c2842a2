/* iso.h: read an installer ISO with libarchive (no mounting, never written):
 * its volume id, where its kernel and initrd are, and a copy of the two. */
#ifndef VMSTAMP_ISO_H
#define VMSTAMP_ISO_H

#include <stdint.h>

/* The ISO 9660 volume id (32 bytes at offset 32808, blanks trimmed).
 * A file that is not ISO 9660 gets "'PATH' is not an ISO 9660 image".
 * *volid: caller frees. */
int iso_volume_id(const char *path, char **volid);

/* Parse .treeinfo text (INI, pure): [general] arch (default x86_64), then
 * kernel= and initrd= of [images-<arch>], else of [images-x86_64].
 * Returns 0 with both set (caller frees), -1 (no error recorded) if the
 * file names no kernel/initrd pair. */
int iso_treeinfo_parse(const char *text, char **kernel, char **initrd);

/* The known layouts tried when there is no usable .treeinfo, as
 * {kernel, initrd} pairs, NULL-terminated. */
extern const char *const iso_known_layouts[][2];

/* The kernel and initrd to boot, from the listing FILES of ISO (the paths
 * of its regular files relative to its root, NULL-terminated; ISO names it
 * in messages) and the text of its .treeinfo (NULL: none): KERNEL and
 * INITRD when given (both, paths inside the ISO), else .treeinfo's pair,
 * else the first of iso_known_layouts present. Paths compare without case.
 * 0 with *K and *I pointing into FILES; -1 recorded when one is missing
 * (the paths tried listed). Pure. */
int iso_find_boot(const char *iso, char *const *files, const char *treeinfo, const char *kernel,
                  const char *initrd, const char **k, const char **i);

struct iso_boot {
    char *volume_id;
    char *kernel_path;  /* inside the ISO, e.g. "images/pxeboot/vmlinuz" */
    char *initrd_path;
    char *kernel;       /* extracted copies: DIR/vmlinuz, DIR/initrd */
    char *initrd;
    uint64_t bytes_read; /* bytes read from the ISO */
};

/* Find the kernel and initrd of ISO (kernel/initrd: explicit paths inside
 * the ISO, or NULL to discover them: .treeinfo, then the known layouts) and
 * extract them into DIR (mode 0644). Nothing found: one-line error listing
 * the paths tried. */
int iso_extract_boot(const char *iso, const char *kernel, const char *initrd,
                     const char *dir, struct iso_boot *out);
void iso_boot_release(struct iso_boot *b);

#endif
