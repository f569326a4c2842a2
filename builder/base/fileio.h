/* fileio.h: files written so that a crash leaves the old or the new one,
 * never half of either; renames that never replace what another run made. */
#ifndef VMSTAMP_FILEIO_H
#define VMSTAMP_FILEIO_H

#include <stddef.h>
#include <sys/stat.h>
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
/* Limits of the files vmstamp reads whole. */
#define READ_MAX_PUBKEY (16u * 1024)          /* an SSH public key */
#define READ_MAX_PASSWORD (4u * 1024)         /* a root password file */
#define READ_MAX_DOCUMENT (1024u * 1024)      /* a plan, a definition, an index entry, a kickstart */
#define READ_MAX_DEFAULT (16u * 1024 * 1024)  /* anything else (read_file) */

/* read_file_limited's flags. */
#define READ_NOFOLLOW 1 /* PATH itself must not be a symbolic link */
#define READ_ANY_TYPE 2 /* PATH may be a pipe or a device (/dev/stdin); only the limit holds */

/* Read the whole file PATH (NUL-terminated, its length in *LEN if LEN),
 * refusing, before a byte is read, anything but a regular file (the open
 * never blocks on a FIFO) and, while reading, more than MAX bytes; the
 * cancel flag is checked between chunks. WHAT names the file in messages
 * ("ssh key"), FIX says what to give instead ("give a public key file"):
 * "ssh key '/dev/zero' is not a regular file: give a public key file".
 * NULL on error (recorded). */
char *read_file_limited(const char *path, size_t max, int flags, const char *what, const char *fix,
                        size_t *len);
/* The same on the open file FD (PATH names it in messages); FD stays open. */
char *read_fd_limited(int fd, const char *path, size_t max, int flags, const char *what, const char *fix,
                      size_t *len);
/* Open PATH for reading without blocking on a FIFO or following a last
 * symbolic link, and check it is a regular file (*ST filled from the fd).
 * The fd, or -1 with an error recorded: "WHAT 'PATH' is not a regular
 * file: FIX". */
int open_regular(const char *path, const char *what, const char *fix, struct stat *st);
/* "16 KiB", "1 MiB", "300 bytes" into BUF. */
const char *size_words(size_t n, char buf[32]);
/* Read a whole regular file of at most READ_MAX_DEFAULT bytes
 * (NUL-terminated); NULL on error (recorded). */
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
