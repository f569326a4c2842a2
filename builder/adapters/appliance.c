/* appliance.c: see appliance.h. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/appliance.h"
#include "adapters/appliance-helper.h"
#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/proc.h"
#include "base/xalloc.h"

#define TARBALL "zz-vmstamp-udev.tar.gz"
#define RULES_DIR "etc/udev/rules.d/"
#define KEY_LEN 16

/* What the clone appliance's udev does differently (see appliance.h). */
static const struct {
    const char *name;
    const char *text;
} overrides[] = {
    { "60-persistent-storage.rules",
      "# vmstamp clone appliance: only the by-path links guestfsd needs\n"
      "# (no blkid, no scsi_id, no by-id/by-uuid/by-label links).\n"
      "ACTION==\"remove\", GOTO=\"vmstamp_storage_end\"\n"
      "SUBSYSTEM!=\"block\", GOTO=\"vmstamp_storage_end\"\n"
      "KERNEL!=\"sd*|vd*\", GOTO=\"vmstamp_storage_end\"\n"
      "ENV{DEVTYPE}==\"partition\", IMPORT{parent}=\"ID_PATH\"\n"
      "ENV{DEVTYPE}==\"disk\", DEVPATH!=\"*/virtual/*\", IMPORT{builtin}=\"path_id\"\n"
      "ENV{DEVTYPE}==\"disk\", ENV{ID_PATH}==\"?*\", SYMLINK+=\"disk/by-path/$env{ID_PATH}\"\n"
      "ENV{DEVTYPE}==\"partition\", ENV{ID_PATH}==\"?*\", SYMLINK+=\"disk/by-path/$env{ID_PATH}-part%n\"\n"
      "LABEL=\"vmstamp_storage_end\"\n" },
    { "60-block.rules", "# vmstamp clone appliance: no inotify watch on disks\n" },
    { "64-btrfs.rules", "# vmstamp clone appliance: empty\n" },
    { "64-md-raid-assembly.rules", "# vmstamp clone appliance: empty (init assembles arrays)\n" },
    { "69-lvm.rules", "# vmstamp clone appliance: no pvscan per device (init scans once)\n" },
    { "96-e2scrub.rules", "# vmstamp clone appliance: empty\n" },
};
#define N_OVERRIDES (sizeof overrides / sizeof overrides[0])

/* The init runs "mdadm -As" twice, and mdadm without a configuration file
 * opens every disk and partition to look for array members: ~15 ms a disk
 * (with its partitions) each time under TCG. The clone appliance only
 * mounts partitions and LVs (guest/layout.c finds no root on an array), so
 * mdadm is told to scan no device. /etc/mdadm.conf is the first file mdadm
 * reads. */
#define MDADM_CONF "etc/mdadm.conf"
static const char mdadm_conf[] = "# vmstamp clone appliance: scan no device, assemble no array\n"
                                 "DEVICE /dev/vmstamp-no-device\n"
                                 "AUTO -all\n";

/* guestfsd runs "udevadm [--debug] settle -E FILE" for every drive at
 * start and before every call naming a device: udevadm returns 0 at once
 * when FILE exists (it pings udevd first, which does not change that
 * answer, then checks FILE before it waits), but starting it costs ~30 ms
 * under TCG. A small static program (builder/helpers/udevadm.c, embedded:
 * adapters/appliance-helper.h) answers that case itself and hands every
 * other call to /usr/bin/udevadm or /bin/udevadm; it starts in about two
 * thirds of the time a shell script does (~65 ms against ~100 ms, timed in
 * the appliance under load). It goes in /usr/sbin, ahead of /bin and
 * /usr/bin in the appliance's PATH, and only on hosts (whose packages the
 * appliance is made of) where udevadm is in /usr/bin or /bin and nothing
 * is in its place yet (appliance_udevadm_shadow). */
#define UDEVADM_SHADOW "usr/sbin/udevadm"

int appliance_udevadm_shadow(const char *root)
{
    static const char *const taken[] = { "/usr/sbin/udevadm", "/sbin/udevadm" };
    static const char *const real[] = { "/usr/bin/udevadm", "/bin/udevadm" };
    CLEANUP_FREE char *canon = *root ? realpath(root, NULL) : xstrdup("");
    size_t rl = canon ? strlen(canon) : 0;
    struct stat st;

    if (!canon)
        return 0;

    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
        CLEANUP_FREE char *p = xasprintf("%s%s", root, taken[i]);
        if (lstat(p, &st) == 0)
            return 0;
    }
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
        CLEANUP_FREE char *p = xasprintf("%s%s", root, real[i]);
        CLEANUP_FREE char *r = realpath(p, NULL);
        const char *in = r && strncmp(r, canon, rl) == 0 ? r + rl : NULL; /* as the appliance sees it */
        if (in && (strncmp(in, "/usr/bin/", 9) == 0 || strncmp(in, "/bin/", 5) == 0) && stat(r, &st) == 0 &&
            S_ISREG(st.st_mode) && (st.st_mode & 0111))
            return 1;
    }
    return 0;
}

static size_t helper_len(void)
{
    return (size_t)(appliance_udevadm_helper_end - appliance_udevadm_helper);
}

char *appliance_stock_supermin(const char *path)
{
    CLEANUP_FREE char *copy = xstrdup(path ? path : "");
    char *save = NULL;

    for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
        CLEANUP_FREE char *d = xasprintf("%s/supermin.d", p);
        struct stat st;
        if (stat(d, &st) == 0 && S_ISDIR(st.st_mode))
            return realpath(d, NULL); /* caller frees */
    }
    return NULL;
}

static int visible(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* The stock directory's entries, sorted; -1 with an error recorded. */
static int list_stock(const char *stock, struct dirent ***names)
{
    int n = scandir(stock, names, visible, alphasort);

    if (n < 0)
        return error("cannot read libguestfs's appliance directory '%s': %s", stock, strerror(errno));
    return n;
}

static void free_names(struct dirent **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int key_of(const char *stock, struct dirent **names, int n, int shadow, char key[KEY_LEN + 1])
{
    CLEANUP_DIGEST struct digest *d = digest_new(DIGEST_SHA256);
    char hex[SHA256_HEX_LEN + 1];

    if (!d)
        return -1;
    digest_update(d, stock, strlen(stock) + 1);
    for (int i = 0; i < n; i++)
        digest_update(d, names[i]->d_name, strlen(names[i]->d_name) + 1);
    for (size_t i = 0; i < N_OVERRIDES; i++) {
        digest_update(d, overrides[i].name, strlen(overrides[i].name) + 1);
        digest_update(d, overrides[i].text, strlen(overrides[i].text) + 1);
    }
    digest_update(d, mdadm_conf, sizeof mdadm_conf);
    if (shadow)
        digest_update(d, appliance_udevadm_helper, helper_len());
    if (digest_finish_hex(d, hex) < 0)
        return -1;
    memcpy(key, hex, KEY_LEN);
    key[KEY_LEN] = '\0';
    return 0;
}

static int tar_entry(struct archive *a, const char *name, mode_t type, mode_t perm, const void *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    int r;

    if (!e)
        return -1;
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, time(NULL), 0);
    r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return -1;
    return len && archive_write_data(a, data, len) != (la_ssize_t)len ? -1 : 0;
}

static int write_tarball(const char *path, int shadow)
{
    struct archive *a = archive_write_new();
    int r = 0;

    if (!a)
        return error("cannot write '%s': out of memory", path);
    if (archive_write_add_filter_gzip(a) != ARCHIVE_OK || archive_write_set_format_ustar(a) != ARCHIVE_OK ||
        archive_write_open_filename(a, path) != ARCHIVE_OK || tar_entry(a, "etc/", AE_IFDIR, 0755, NULL, 0) < 0 ||
        tar_entry(a, "etc/udev/", AE_IFDIR, 0755, NULL, 0) < 0 || tar_entry(a, RULES_DIR, AE_IFDIR, 0755, NULL, 0) < 0)
        r = -1;
    for (size_t i = 0; r == 0 && i < N_OVERRIDES; i++) {
        CLEANUP_FREE char *name = xasprintf(RULES_DIR "%s", overrides[i].name);
        r = tar_entry(a, name, AE_IFREG, 0644, overrides[i].text, strlen(overrides[i].text));
    }
    if (r == 0)
        r = tar_entry(a, MDADM_CONF, AE_IFREG, 0644, mdadm_conf, strlen(mdadm_conf));
    if (r == 0 && shadow &&
        (tar_entry(a, "usr/", AE_IFDIR, 0755, NULL, 0) < 0 || tar_entry(a, "usr/sbin/", AE_IFDIR, 0755, NULL, 0) < 0 ||
         tar_entry(a, UDEVADM_SHADOW, AE_IFREG, 0755, appliance_udevadm_helper, helper_len()) < 0))
        r = -1;
    if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
        r = -1;
    if (r < 0)
        error("cannot write '%s': %s", path, archive_error_string(a) ? archive_error_string(a) : "libarchive error");
    archive_write_free(a);
    return r;
}

/* Build the directory in TMP: supermin.d/ (symlinks + the tarball), cache/. */
static int build(const char *tmp, const char *stock, struct dirent **names, int n, int shadow)
{
    CLEANUP_FREE char *sd = xasprintf("%s/supermin.d", tmp);
    CLEANUP_FREE char *cache = xasprintf("%s/cache", tmp);
    CLEANUP_FREE char *tar = xasprintf("%s/" TARBALL, sd);

    if (mkdir(tmp, 0755) < 0 || mkdir(sd, 0755) < 0 || mkdir(cache, 0755) < 0)
        return error("cannot make '%s': %s", tmp, strerror(errno));
    for (int i = 0; i < n; i++) {
        CLEANUP_FREE char *from = xasprintf("%s/%s", stock, names[i]->d_name);
        CLEANUP_FREE char *to = xasprintf("%s/%s", sd, names[i]->d_name);
        if (symlink(from, to) < 0)
            return error("cannot link '%s': %s", to, strerror(errno));
    }
    return write_tarball(tar, shadow);
}

/* Remove every key's directory under ROOT but KEEP's, unless a run uses it
 * (holds its lock, appliance_prepare): renamed to a temporary name of this
 * run first, so a kill -9 in the middle leaves what recovery removes. */
static void remove_other_keys(const char *root, const char *keep)
{
    DIR *d = opendir(root);
    struct dirent *e;
    unsigned n = 0;

    if (!d)
        return;
    while ((e = readdir(d))) {
        CLEANUP_FREE char *p = NULL, *gone = NULL;
        if (strlen(e->d_name) != KEY_LEN || strspn(e->d_name, "0123456789abcdef") != KEY_LEN ||
            strcmp(e->d_name, keep) == 0)
            continue;
        p = xasprintf("%s/%s", root, e->d_name);
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) { /* nobody uses it */
            gone = xasprintf("%s/" APPLIANCE_TMP_PREFIX "%s.%u", root, proc_run_id(), n++);
            if (rename(p, gone) == 0 && remove_tree(gone) < 0)
                error_clear(); /* a cache: recovery or the next run tries again */
        }
        close(fd);
    }
    closedir(d);
}

/* DIR, locked shared on FD (open, O_CLOEXEC): 0, or -1 when DIR is no
 * longer the directory FD names (removed or replaced meanwhile). */
static int lock_dir(const char *dir, int *fd)
{
    struct stat a, b;
    CLEANUP_FREE char *sd = xasprintf("%s/supermin.d", dir);

    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return -1;
    if (flock(*fd, LOCK_SH) == 0 && fstat(*fd, &a) == 0 && stat(dir, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino && stat(sd, &b) == 0)
        return 0;
    close(*fd);
    *fd = -1;
    return -1;
}

int appliance_prepare(const char *root, const char *stock, char **path, char **cache, int *lock_fd)
{
    struct dirent **names = NULL;
    char key[KEY_LEN + 1];
    CLEANUP_FREE char *dir = NULL;
    int shadow = appliance_udevadm_shadow("");
    int n, r = 0, made = 0, fd = -1;

    *path = *cache = NULL;
    *lock_fd = -1;
    if ((n = list_stock(stock, &names)) < 0)
        return -1;
    if (key_of(stock, names, n, shadow, key) < 0 || mkdir_p(root, 0755) < 0) {
        free_names(names, n);
        return -1;
    }
    dir = xasprintf("%s/%s", root, key);
    /* Use the directory there, or make it and rename it into place, locked
     * from the start; a few tries, as another run may remove or make it. */
    for (int tries = 0; r == 0 && fd < 0 && tries < 5; tries++) {
        if (lock_dir(dir, &fd) == 0)
            break;
        CLEANUP_FREE char *tmp = xasprintf("%s/" APPLIANCE_TMP_PREFIX "%s", root, proc_run_id());
        r = build(tmp, stock, names, n, shadow);
        if (r == 0 && lock_dir(tmp, &fd) < 0)
            r = error("cannot lock '%s': %s", tmp, strerror(errno));
        if (r == 0 && rename(tmp, dir) == 0) {
            made = 1;
        } else if (r == 0 && errno != EEXIST && errno != ENOTEMPTY) {
            r = error("cannot rename '%s' to '%s': %s", tmp, dir, strerror(errno));
        } else if (fd >= 0) { /* another run made it first: the same; use theirs */
            close(fd);
            fd = -1;
        }
        if (!made)
            remove_tree(tmp);
    }
    free_names(names, n);
    if (r == 0 && fd < 0)
        r = error("cannot use the clone appliance's directory '%s': it keeps changing", dir);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (made)
        remove_other_keys(root, key);
    *lock_fd = fd;
    *path = xstrdup(dir);                /* caller frees */
    *cache = xasprintf("%s/cache", dir); /* caller frees */
    return 0;
}
