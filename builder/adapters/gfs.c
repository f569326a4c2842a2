/* gfs.c: see gfs.h. */
#include <guestfs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/appliance.h"
#include "adapters/gfs.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/util.h"

struct gfs_session {
    guestfs_h *g;
    size_t ndisks;
};

int gfs_error(guestfs_h *g, const char *what)
{
    const char *m = guestfs_last_error(g);

    /* One line: libguestfs adds its generic debugging advice (export
     * LIBGUESTFS_DEBUG=1 ..., the FAQ) on the lines after its message. */
    if (!m)
        m = "libguestfs error";
    /* What libguestfs says to every call after its appliance died (the
     * call that met the death may have been one whose failure is allowed). */
    if (strstr(m, "call launch before using this function"))
        return error("%s: %s", what, GFS_GONE);
    return error("%s: %.*s", what, (int)strcspn(m, "\n"), m);
}

int gfs_alive(guestfs_h *g)
{
    return guestfs_is_ready(g) == 1;
}

int gfs_shutdown(guestfs_h *g, const char *what)
{
    /* guestfs_shutdown returns 0 on a handle whose appliance is gone: what
     * it had not yet written to the disks is lost, so that is an error. */
    if (!gfs_alive(g))
        return error("%s: %s", what, GFS_GONE);
    if (guestfs_shutdown(g) == -1)
        return gfs_error(g, what);
    return 0;
}

static guestfs_h *open_handle(enum accel accel)
{
    guestfs_h *g = guestfs_create();

    if (!g) {
        error("cannot create a libguestfs handle");
        return NULL;
    }
    guestfs_set_error_handler(g, NULL, NULL);
    guestfs_set_pgroup(g, 1); /* Ctrl-C reaches us, not the appliance */
    if (accel == ACCEL_TCG)
        guestfs_set_backend_setting(g, "force_tcg", "1");
    if (verbose > 1) {
        guestfs_set_verbose(g, 1);
        guestfs_set_trace(g, 1);
    }
    return g;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Point G at the clone appliance (adapters/appliance.h), made once per
 * process (batches launch from several threads). It only saves time: on
 * any failure, or with VMSTAMP_APPLIANCE=stock, G keeps libguestfs's. */
static void use_clone_appliance(guestfs_h *g)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int tried;
    static char *path, *cache;
    static int lock_fd = -1; /* held for the life of the process: the directory stays */
    const char *env = getenv("VMSTAMP_APPLIANCE");

    if (env && strcmp(env, "stock") == 0)
        return;
    pthread_mutex_lock(&lock);
    if (!tried) {
        char *stock = appliance_stock_supermin(guestfs_get_path(g));
        tried = 1;
        if (!stock)
            debug("libguestfs's appliance has no supermin.d: the clone appliance is libguestfs's");
        else if (appliance_prepare(APPLIANCE_DIR, stock, &path, &cache, &lock_fd) < 0)
            debug("the clone appliance is libguestfs's: %s", error_message());
        else
            debug("clone appliance: %s (supermin.d of %s plus udev rule overrides)", path, stock);
        error_clear();
        free(stock);
    }
    pthread_mutex_unlock(&lock);
    if (path && (guestfs_set_path(g, path) == -1 || guestfs_set_cachedir(g, cache) == -1)) {
        guestfs_set_path(g, NULL);
        guestfs_set_cachedir(g, NULL);
    }
}

/* MEMSIZE_MB 0: libguestfs's default. CLONES: the clone appliance. */
static struct gfs_session *launch(const struct gfs_disk *disks, size_t n, enum accel accel, int memsize_mb,
                                  int clones)
{
    guestfs_h *g = open_handle(accel);
    struct gfs_session *s;
    struct timespec t0;

    if (!g)
        return NULL;
    if (clones)
        use_clone_appliance(g);
    for (size_t i = 0; i < n; i++) {
        struct guestfs_add_drive_opts_argv o = {
            .bitmask = GUESTFS_ADD_DRIVE_OPTS_FORMAT_BITMASK | GUESTFS_ADD_DRIVE_OPTS_CACHEMODE_BITMASK,
            .format = disks[i].format,
            .cachemode = "unsafe",
        };
        if (disks[i].discard) {
            o.bitmask |= GUESTFS_ADD_DRIVE_OPTS_DISCARD_BITMASK;
            o.discard = "besteffort";
        }
        if (guestfs_add_drive_opts_argv(g, disks[i].path, &o) == -1) {
            gfs_error(g, disks[i].path);
            guestfs_close(g);
            return NULL;
        }
    }
    if (memsize_mb > 0 && guestfs_set_memsize(g, memsize_mb) == -1) {
        gfs_error(g, "set_memsize");
        guestfs_close(g);
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (guestfs_launch(g) == -1) {
        gfs_error(g, "cannot launch the libguestfs appliance (run 'vmstamp doctor')");
        guestfs_close(g);
        return NULL;
    }
    debug("appliance launched in %.1f s", seconds_since(&t0));
    s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->g = g;
    s->ndisks = n;
    return s; /* caller frees: gfs_close */
}

struct gfs_session *gfs_launch_disks(const struct gfs_disk *disks, size_t n, enum accel accel)
{
    /* Customizing clones needs little memory; a smaller guest boots faster
     * under TCG (~1 s less than libguestfs's default 1280 MiB here). Each
     * drive adds a little kernel memory. */
    return launch(disks, n, accel, CLONE_APPLIANCE_MIB + 2 * (int)(n < 1000 ? n : 1000), 1);
}

struct gfs_session *gfs_launch_template(const char *work_disk, const char *format, enum accel accel)
{
    /* discard: fstrim and blkdiscard turn free space into zero clusters
     * of the work overlay, which qemu-img convert then drops. */
    struct gfs_disk d = { .path = work_disk, .format = format, .discard = 1 };

    return launch(&d, 1, accel, 0, 0);
}

void gfs_close(struct gfs_session *s)
{
    if (!s)
        return;
    guestfs_close(s->g);
    free(s);
}

char **gfs_devices(struct gfs_session *s)
{
    char **v = xcalloc(s->ndisks + 1, sizeof *v);

    for (size_t i = 0; i < s->ndisks; i++) {
        char name[16];
        drive_device_name(i, name);
        v[i] = xstrdup(name);
    }
    return v;
}

guestfs_h *gfs_handle(struct gfs_session *s)
{
    return s->g;
}

pid_t gfs_appliance_pid(struct gfs_session *s)
{
    /* An error (not launched, a backend without a local process) is not
     * the caller's concern: it has nothing to journal. */
    int pid = s ? guestfs_get_pid(s->g) : -1;

    return pid > 0 ? (pid_t)pid : 0;
}

int gfs_test_launch(enum accel accel, double *seconds)
{
    guestfs_h *g = open_handle(accel);
    struct timespec t0;
    int ret = 0;

    if (!g)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (guestfs_add_drive_scratch(g, 16 * 1024 * 1024, -1) == -1 || guestfs_launch(g) == -1 ||
        guestfs_shutdown(g) == -1)
        ret = gfs_error(g, "libguestfs appliance");
    *seconds = seconds_since(&t0);
    guestfs_close(g);
    return ret;
}
