/* qemuimg.h: qemu-img, run as a subprocess (argv only), in one place.
 * Relative paths get "./" so a name like "json:..." is never parsed as a
 * protocol; backing formats are always given; info is read as JSON. */
#ifndef VMSTAMP_QEMUIMG_H
#define VMSTAMP_QEMUIMG_H

#include <stdint.h>

struct image_info {
    char *format;          /* "qcow2", "raw", ... */
    uint64_t virtual_size; /* bytes */
    uint64_t actual_size;  /* bytes allocated on the host */
    char *backing;         /* backing file name or NULL */
};

void image_info_release(struct image_info *info);
/* Reads PATH's header; a file that is not a disk image gets a one-line error. */
int qemuimg_info(const char *path, struct image_info *info);
/* Parse qemu-img info --output=json text (pure; unit-tested). */
int qemuimg_parse_info(const char *json, struct image_info *info);
/* Linked clone: qcow2 overlay of BACKING (format BACKING_FMT), SIZE bytes (0: same). */
int qemuimg_create_overlay(const char *path, const char *backing,
                           const char *backing_fmt, uint64_t size);
/* Full copy to a sparse qcow2 (zero clusters dropped). */
int qemuimg_convert(const char *src, const char *src_fmt, const char *dst);
int qemuimg_resize(const char *path, const char *fmt, uint64_t size);
/* qemu-img check: a qcow2 with corruptions (a truncated copy, say) gets a
 * one-line error naming it; leaked clusters are harmless and pass; raw
 * images have nothing to check. */
int qemuimg_check(const char *path, const char *format);

/* "./name" for a relative path, path unchanged otherwise. Caller frees. */
char *qemuimg_safe_path(const char *path);

#endif
/* Compressed copy (zstd where qemu-img supports it), both cores (-m 2 -W). */
int qemuimg_convert_compressed(const char *src, const char *src_fmt, const char *dst);
