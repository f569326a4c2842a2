/* inject.h: put a kickstart into a copy of an installer initrd by appending
 * a second newc cpio archive (gzip'd, owner 0:0) holding one file: the
 * kernel unpacks concatenated archives. The original initrd is not touched. */
#ifndef VMSTAMP_INJECT_H
#define VMSTAMP_INJECT_H

#include <stddef.h>

/* Copy SRC to DST (created with MODE, replaced if present) and append an
 * archive holding NAME (e.g. "ks.cfg", mode 0644, uid/gid 0) = DATA[LEN]. */
int inject_file(const char *src, const char *dst, int mode,
                const char *name, const char *data, size_t len);

#endif
