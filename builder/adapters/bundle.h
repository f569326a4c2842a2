/* bundle.h: signed template bundles, a .tar.zst of a template image, its
 * metadata and an Ed25519 signature over the metadata (libarchive + OpenSSL,
 * nothing run). The signature covers the metadata, and the metadata records
 * the image's SHA-256, so the signature covers the image too. */
#ifndef VMSTAMP_BUNDLE_H
#define VMSTAMP_BUNDLE_H

#include "base/digest.h"

/* The members of a bundle; bundle_export writes them in this order, bundle_import
 * takes them in any order. */
#define BUNDLE_META "metadata.json"
#define BUNDLE_SIG "metadata.json.sig"
#define BUNDLE_IMAGE "image.qcow2"
/* Largest metadata.json or metadata.json.sig bundle_import accepts. */
#define BUNDLE_SMALL_MAX (1024 * 1024)

/* Write OUT (a .tar.zst; written as OUT.tmp then renamed) holding exactly three
 * members: "metadata.json" (the bytes of META_JSON), "metadata.json.sig" (a raw
 * 64-byte Ed25519 signature over those bytes, made with the PEM private key file
 * SIGN_KEY) and "image.qcow2" (the file IMAGE, streamed). Members are regular
 * files, mode 0644, owner 0:0, mtime that of IMAGE. META_JSON must parse with
 * template_meta_from_json, its "sha256" must be IMAGE's and its "stored_size"
 * IMAGE's size, or nothing is written. On failure neither OUT nor OUT.tmp is
 * left behind. */
int bundle_export(const char *out, const char *image, const char *meta_json, const char *sign_key);

/* Read BUNDLE strictly and write its image to IMAGE_OUT (as IMAGE_OUT.tmp, renamed
 * only when every check passes, and never over an existing IMAGE_OUT; on failure
 * nothing is left behind). On success
 * *META_JSON_OUT (if not NULL) gets the metadata text, which the caller frees.
 * Refused, each with a one-line error naming the bundle: an archive that does not
 * read completely (truncated, corrupt, not zstd-compressed tar); any member but the
 * three above, a member given twice, a missing member, a member that is not a
 * regular file (symlink, hard link, directory, device, FIFO, sparse file...);
 * metadata.json or metadata.json.sig over BUNDLE_SMALL_MAX bytes; a signature that
 * does not verify against the PEM Ed25519 public key TRUST_KEY; metadata that
 * template_meta_from_json refuses or that has no "stored_size"; an image member
 * whose size is not the metadata's "stored_size" (checked before a byte of it is
 * written, so a decompression bomb writes nothing); an image whose SHA-256 is not
 * the metadata's "sha256". No image byte is written before the signature is
 * verified: an image member that comes before metadata.json or its signature is
 * skipped, and read in a second pass over BUNDLE (which must then be seekable). */
int bundle_import(const char *bundle, const char *trust_key, const char *image_out, char **meta_json_out);

/* sha256_file(), used with bundles, lives in base/digest.h. */

#endif
