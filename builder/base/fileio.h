/* fileio.h: files written so that a crash leaves the old or the new one,
 * never half of either; renames that never replace what another run made. */
#ifndef VMSTAMP_FILEIO_H
#define VMSTAMP_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Write LEN bytes of DATA to PATH atomically: a temporary file beside it,
 * fsync, chmod MODE, rename over PATH, fsync the directory. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same through the temporary file TMP the caller named (and, in a run,
 * journaled first, so a kill -9 leaves nothing the run's recovery does not
 * know of); a TMP left by an earlier try is replaced. */
int write_file_atomic_via(const char *path, const char *tmp, const void *data, size_t len, mode_t mode);
/* Like write_file_atomic, but PATH must not exist yet: the file appears
 * complete or not at all, and an existing PATH is never replaced (EEXIST
 * is reported as 1, with nothing recorded, so the caller can name it). */
int create_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* rename(2) that never replaces: returns 1 (nothing recorded) if TO exists,
 * 0 on success, -1 on another error (recorded). */
int rename_noreplace(const char *from, const char *to);
/* fsync the directory that holds PATH (so a create/rename/unlink is durable). */
int fsync_parent(const char *path);
/* Read a whole file (NUL-terminated); NULL on error (recorded). */
char *read_file(const char *path, size_t *len);
/* Copy FROM's bytes into TO (TO_FLAGS: O_CREAT|O_EXCL to make it, 0 to
 * overwrite an existing file; opened without following a link, mode 0600
 * when made), fsynced. -1 recorded on error. */
int copy_file(const char *from, const char *to, int to_flags);
/* mkdir -p with MODE for created directories. */
int mkdir_p(const char *path, int mode);
/* rm -rf PATH (no error if missing); -1 recorded on failure. */
int remove_tree(const char *path);
/* PATH with its symlinks resolved, as the kernel walks it; for a file not
 * made yet, its directory's resolved with the last name kept; PATH itself
 * when its directory does not exist either. Caller frees. */
char *realpath_or_parent(const char *path);

/* 1 if PATH (followed through links) is a block device, else 0. */
int is_block_device(const char *path);

#endif
