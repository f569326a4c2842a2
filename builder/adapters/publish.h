/* publish.h: write templates out as a repository the stock virt-builder(1)
 * can install from (virt-builder --source file:///DIR/index ...).
 *
 * The repository is DIR/index (virt-builder's index format, see "Creating
 * and signing the index file" in virt-builder(1)) plus one xz-compressed
 * image per template, DIR/<name>.qcow2.xz. Nothing is signed: users pass
 * --no-check-signature, and the sha512 in the index checks each image. */
#ifndef VMSTAMP_PUBLISH_H
#define VMSTAMP_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "pure/meta.h"

/* Write (or update) a virt-builder repository in DIR (made if missing) for
 * the N templates: for each, an xz-compressed copy of its image
 * DIR/<name>.qcow2.xz (xz -T2 -6, through command.h, into a private temp
 * directory in DIR, then renamed), and one DIR/index listing exactly these
 * N templates, sorted by name (written beside and renamed: write_file_atomic).
 * Files in DIR for templates not listed are left alone. IMAGES[i] is the
 * image path of METAS[i]. The .xz files and the index get mode 0644. */
int publish_repository(const char *dir, const struct template_meta *metas,
                       const char *const *images, size_t n);

/* The index text for the given entries, sorted by name (pure; caller frees;
 * NULL and an error recorded for a name virt-builder cannot take as a
 * section name, a duplicate name, a value with a line break, a zero size or
 * a checksum that is not 128 hex digits). XZ_SIZES[i] and XZ_SHA512[i]
 * describe the compressed file of METAS[i]. */
char *publish_index_text(const struct template_meta *metas, const uint64_t *xz_sizes,
                         const char *const *xz_sha512, size_t n);

#endif
