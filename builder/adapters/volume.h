/* volume.h: libvirt storage volumes on any host, through the libvirt API
 * only (streams for the bytes): nothing but libvirtd is needed on the host
 * a fleet puts its template on.
 *
 * Uploads and downloads use sparse streams: holes of the local file are
 * sent as "hole" messages, not bytes, so a 10 GiB raw image with 40 MiB of
 * data sends about 40 MiB. A libvirt (9.0) quirk this works around: a
 * sparse upload into an existing file writes the holes by seeking, so they
 * keep what the file had there; a qcow2 volume libvirt creates starts with
 * its own header, L1 and refcount clusters (about 192 KiB), and a hole of
 * the uploaded file in that range would keep them. Holes that fall inside
 * the fresh volume's own extent are therefore sent as zeros. */
#ifndef VMSTAMP_VOLUME_H
#define VMSTAMP_VOLUME_H

#include <libvirt/libvirt.h>
#include <stdint.h>

/* volume_upload's return when the volume was already there: nothing was
 * made, the error is recorded; a caller that journaled the volume drops
 * that step (journal_drop), it is not ours to delete. */
#define VOLUME_EXISTED (-2)

/* 1 if POOL on CONN holds volume NAME (its path in *PATH if PATH; caller
 * frees), 0 if not, -1 error (recorded; a pool not found or not active). */
int volume_exists(virConnectPtr conn, const char *pool, const char *name, char **path);

/* Create volume NAME in POOL (a dir, fs or netfs pool) with FORMAT ("qcow2"
 * or "raw"), CAPACITY (bytes: the image's virtual size) and permissions
 * MODE (e.g. 0600, 0444), and upload the local file LOCAL into it as it is
 * (virStorageVolUpload, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM): the volume's
 * bytes are LOCAL's. Interrupted (base/cancel.h) between chunks. *PATH
 * (if PATH): the volume's path on that host; caller frees. *SENT (if SENT):
 * the data bytes sent (holes not counted).
 * 0; -1 (recorded) after removing what it made; VOLUME_EXISTED when a
 * volume NAME was there already ("volume 'NAME' already exists in pool
 * 'POOL' on URI"). */
int volume_upload(virConnectPtr conn, const char *pool, const char *name, const char *local, const char *format,
                  uint64_t capacity, unsigned mode, char **path);
int volume_upload_sent(virConnectPtr conn, const char *pool, const char *name, const char *local,
                       const char *format, uint64_t capacity, unsigned mode, char **path, uint64_t *sent);

/* Create logical volume NAME of CAPACITY bytes in POOL (a libvirt
 * 'logical' pool), through libvirt: a plain LV, or with BACKING (the path
 * of an LV in the same volume group) a thick LVM snapshot of it whose
 * copy-on-write area is CAPACITY bytes (libvirt runs lvcreate -s). *PATH
 * (if PATH): its /dev path; caller frees. 0; -1 (recorded);
 * VOLUME_EXISTED when a volume NAME is there already. */
int volume_create_lv(virConnectPtr conn, const char *pool, const char *name, uint64_t capacity,
                     const char *backing, char **path);

/* SHA-256 (lowercase hex) of the volume's bytes (the file as stored, not
 * the guest's view of a qcow2), read back with virStorageVolDownload and a
 * sparse stream; holes are hashed as the zeros they read as. */
int volume_sha256(virConnectPtr conn, const char *pool, const char *name, char hex[65]);

/* Delete volume NAME from POOL: 1 deleted, 0 not there (nor the pool),
 * -1 error (recorded). */
int volume_delete(virConnectPtr conn, const char *pool, const char *name);

/* Delete a clone's disk PATH on CONN, only as a volume of one of CONN's
 * libvirt pools, through libvirt (pools are refreshed once if it is not
 * found at first: an LV made outside libvirt is listed only after one).
 * Never unlink()s: a path that no pool holds is not vmstamp's to remove
 * on the word of a domain's metadata, which non-root users can write.
 * 1 deleted, 0 kept (no pool holds it; *WHY, caller frees, says so in a
 * line for the user), -1 error (recorded). */
int volume_delete_disk(virConnectPtr conn, const char *path, char **why);

/* Whether POOL on CONN is the same storage as the local directory
 * LOCAL_DIR (then a local file can be put there instead of uploaded): a
 * uniquely named marker file is made in LOCAL_DIR, POOL refreshed, the
 * marker looked up by name in it, the marker removed, POOL refreshed again.
 * 1 shared, 0 not (LOCAL_DIR missing included), -1 error (recorded). */
int volume_pool_shared(virConnectPtr conn, const char *pool, const char *local_dir);

#endif
