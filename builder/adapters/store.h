/* store.h: the template store. Images are volumes of a libvirt dir pool
 * (default 'vmstamp-templates' at /var/lib/vmstamp/templates), read-only
 * once made; each has a metadata entry (meta.h) in
 * /var/lib/vmstamp/index/<pool>/<name>.json (outside the pool directory,
 * which libvirt would list as volumes). */
#ifndef VMSTAMP_STORE_H
#define VMSTAMP_STORE_H

#include <libvirt/libvirt.h>

#include "pure/meta.h"

#define STORE_DEFAULT_POOL "vmstamp-templates"
#define STORE_DEFAULT_DIR "/var/lib/vmstamp/templates"
#define STORE_INDEX_ROOT "/var/lib/vmstamp/index"

struct store {
    virConnectPtr conn;
    char *pool;
    char *dir;   /* the pool's target path */
    char *index; /* metadata directory */
};

/* Open POOL (NULL: the default). The default pool is defined, started and
 * marked autostart when missing and CREATE is set. */
int store_open(virConnectPtr conn, const char *pool, int create, struct store *st);
void store_close(struct store *st);
char *store_image_path(const struct store *st, const char *name);
char *store_meta_path(const struct store *st, const char *name);
/* 1 if NAME has an image or a metadata entry in the store. */
int store_has(const struct store *st, const char *name);
/* 0 if NAME can name a template (domain_name_problem: no '/', no leading
 * '.'); else -1 recorded. Every name from outside goes through it. */
int store_check_name(const struct store *st, const char *name);
/* NAME's entry (its name checked, the entry a regular file of at most
 * 1 MiB, not a link, naming NAME itself). */
int store_load(const struct store *st, const char *name, struct template_meta *meta);
/* Write META's entry (temporary name, then rename). */
int store_save_meta(const struct store *st, const struct template_meta *meta);
/* Sorted template names (NULL-terminated). */
char **store_names(const struct store *st);
/* Before a byte of META's image is read: it is a regular file (not a
 * link, a FIFO, a device), of the size recorded, a qcow2 with no backing
 * or external data file. 0 or -1 recorded. */
int store_check_image(const struct store *st, const struct template_meta *meta);
/* store_check_image, then re-hash the image and compare with the
 * metadata. With USE_CACHE, a recorded successful check of the same file
 * (device, inode, size, mtime and ctime) counts. */
int store_verify(const struct store *st, const struct template_meta *meta, int use_cache);
/* Domains (vmstamp clones) whose template is IMAGE (NULL-terminated). */
char **store_clones_of(virConnectPtr conn, const char *image);

#endif
