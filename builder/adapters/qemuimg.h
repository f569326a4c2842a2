/* qemuimg.h: qemu-img, run as a subprocess (argv only), in one place.
 * Relative paths get "./" so a name like "json:..." is never parsed as a
 * protocol; backing formats are always given; info is read as JSON. */
#ifndef VMSTAMP_QEMUIMG_H
#define VMSTAMP_QEMUIMG_H

#include <stddef.h>
#include <stdint.h>

struct image_info {
    char *format;          /* "qcow2", "raw", ... */
    uint64_t virtual_size; /* bytes */
    uint64_t actual_size;  /* bytes allocated on the host */
    char *backing;         /* backing file name or NULL */
    char *backing_full;    /* that name as qemu-img resolves it (relative to the image), or NULL */
};

void image_info_release(struct image_info *info);
/* Reads PATH's header. 0; or QEMUIMG_NOT_IMAGE when PATH is no disk image
 * (a raw file under 1 MiB, or one qemu-img cannot read: its reason is in
 * the message), and QEMUIMG_NAMED when the message names the trouble for
 * the caller to keep: an image whose backing file is missing ("image
 * 'PATH' needs its backing file 'BACKING', which is missing: restore it or
 * give another template"), or qemu-img itself failing. Both < 0, with a
 * one-line error. */
#define QEMUIMG_NOT_IMAGE (-1)
#define QEMUIMG_NAMED (-2)
int qemuimg_info(const char *path, struct image_info *info);
/* Parse qemu-img info --output=json text (pure; unit-tested). */
int qemuimg_parse_info(const char *json, struct image_info *info);
/* Linked clone: qcow2 overlay of BACKING (format BACKING_FMT), SIZE bytes (0: same). */
int qemuimg_create_overlay(const char *path, const char *backing,
                           const char *backing_fmt, uint64_t size);
/* Full copy to a sparse qcow2 (zero clusters dropped). */
int qemuimg_convert(const char *src, const char *src_fmt, const char *dst);
/* The guest view of SRC written as raw bytes over the start of DST, which
 * exists (a block device: an LVM logical volume at least as big): convert
 * -n, so nothing is created; zeros are written as zeros (holes where the
 * device can discard them). */
int qemuimg_write_raw(const char *src, const char *src_fmt, const char *dst);
int qemuimg_resize(const char *path, const char *fmt, uint64_t size);
/* Point the qcow2 overlay PATH at BACKING (format BACKING_FMT) without
 * reading either (rebase -u): for an overlay made here against a template
 * whose copy on another host lives at BACKING. */
int qemuimg_rebase_unsafe(const char *path, const char *backing, const char *backing_fmt);
/* A new empty image of FORMAT, SIZE bytes (an existing PATH is overwritten). */
int qemuimg_create(const char *path, const char *format, uint64_t size);
/* qemu-img check -U (a template, which clones only read): a qcow2 with
 * corruptions (a truncated copy, say) gets "template 'PATH' is damaged:
 * qemu-img check found N errors (C corruptions, ...): re-create or re-import
 * it"; leaked clusters alone are harmless and pass; raw images have nothing
 * to check. */
int qemuimg_check(const char *path, const char *format);
/* What a qemu-img check --output=json result says is wrong ("qemu-img check
 * found 581 errors (581 corruptions)"), or NULL if nothing that matters
 * (leaks only) or JSON is not a check result. Pure; caller frees. */
char *qemuimg_check_problem(const char *json);

/* The qcow2 header fields naming the backing file (offset 8: u64 BE offset
 * of the name, offset 16: u32 BE its length), from the first LEN bytes of
 * the image. 0 (offset and size 0 when there is none), -1 if HEADER is not
 * a qcow2 header. Pure; unit-tested. */
#define QCOW2_HEADER_MIN 20
int qcow2_backing_location(const void *header, size_t len, uint64_t *offset, uint32_t *size);
/* The backing file name recorded in the qcow2 image PATH (read from its
 * header, without qemu-img, so it works when the backing file is gone):
 * *BACKING is NULL if there is none, else the name (caller frees). */
int qcow2_read_backing(const char *path, char **backing);

/* "./name" for a relative path, path unchanged otherwise. Caller frees. */
char *qemuimg_safe_path(const char *path);

/* Compressed copy (zstd where qemu-img supports it), both cores (-m 2 -W). */
int qemuimg_convert_compressed(const char *src, const char *src_fmt, const char *dst);
/* 1 if the error just recorded is qemu-img running out of space on the
 * target ("No space left on device"), for the caller to name the place. */
int qemuimg_out_of_space(void);

/* A byte range of a disk's guest view. */
struct extent {
    uint64_t start, length;
};
/* Where the qcow2 overlay PATH differs from its backing file: the guest
 * ranges its own layer holds (data or zero clusters), adjacent ones and
 * ones less than MERGE_GAP bytes apart joined (qemu-img map -U, so PATH
 * may be open in a running qemu, which writes its metadata out on every
 * guest flush, also with cache=unsafe). *OUT: N ranges, caller frees. */
int qemuimg_map_own(const char *path, uint64_t merge_gap, struct extent **out, size_t *n);
/* Parse qemu-img map --output=json text into those ranges (the entries of
 * depth 0 that are present). Pure; unit-tested. */
int qemuimg_parse_map_own(const char *json, uint64_t merge_gap, struct extent **out, size_t *n);

#endif
