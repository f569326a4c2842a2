/* qemuimg.c: see qemuimg.h. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "adapters/command.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "adapters/qemuimg.h"

void image_info_release(struct image_info *info)
{
    if (!info)
        return;
    free(info->format);
    free(info->backing);
    free(info->backing_full);
    memset(info, 0, sizeof *info);
}

char *qemuimg_safe_path(const char *path)
{
    char *s;

    if (path[0] == '/' || (path[0] == '.' && path[1] == '/'))
        return xstrdup(path); /* caller frees */
    s = xasprintf("./%s", path);
    return s; /* caller frees */
}

int qemuimg_parse_info(const char *json, struct image_info *info)
{
    struct json_object *root = json_tokener_parse(json), *v;
    int ret = -1;

    memset(info, 0, sizeof *info);
    if (!root || !json_object_is_type(root, json_type_object))
        goto out;
    if (!json_object_object_get_ex(root, "format", &v))
        goto out;
    info->format = xstrdup_or_null(json_object_get_string(v));
    if (!info->format)
        goto out;
    if (!json_object_object_get_ex(root, "virtual-size", &v))
        goto out;
    info->virtual_size = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(root, "actual-size", &v))
        info->actual_size = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(root, "backing-filename", &v))
        info->backing = xstrdup_or_null(json_object_get_string(v));
    if (json_object_object_get_ex(root, "full-backing-filename", &v))
        info->backing_full = xstrdup_or_null(json_object_get_string(v));
    ret = 0;
out:
    json_object_put(root);
    if (ret < 0)
        image_info_release(info);
    return ret;
}

int qcow2_backing_location(const void *header, size_t len, uint64_t *offset, uint32_t *size)
{
    const unsigned char *h = header;
    uint64_t off = 0;
    uint32_t sz = 0;

    if (len < QCOW2_HEADER_MIN || memcmp(h, "QFI\xfb", 4) != 0)
        return -1;
    for (int i = 0; i < 8; i++)
        off = off << 8 | h[8 + i];
    for (int i = 0; i < 4; i++)
        sz = sz << 8 | h[16 + i];
    /* The specification keeps the name under 1024 bytes. */
    if (off == 0 || sz == 0) {
        off = 0;
        sz = 0;
    } else if (sz > 1023 || off < QCOW2_HEADER_MIN) {
        return -1;
    }
    *offset = off;
    *size = sz;
    return 0;
}

int qcow2_read_backing(const char *path, char **backing)
{
    CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char h[QCOW2_HEADER_MIN];
    uint64_t off;
    uint32_t sz;
    char *name;
    ssize_t n;

    *backing = NULL;
    if (fd < 0)
        return error("cannot open disk image '%s': %s", path, strerror(errno));
    n = pread(fd, h, sizeof h, 0);
    if (n < 0)
        return error("cannot read disk image '%s': %s", path, strerror(errno));
    if (qcow2_backing_location(h, (size_t)n, &off, &sz) < 0)
        return error("'%s' has no valid qcow2 header", path);
    if (sz == 0)
        return 0;
    name = xmalloc((size_t)sz + 1);
    n = pread(fd, name, sz, (off_t)off);
    if (n != (ssize_t)sz) {
        free(name);
        return error("'%s': its qcow2 header names a backing file beyond its end", path);
    }
    name[sz] = '\0';
    *backing = name; /* caller frees */
    return 0;
}

/* A backing name that is a file path (not "nbd://...", "json:{...}"). */
static int is_file_name(const char *name)
{
    return !strstr(name, "://") && strncmp(name, "json:", 5) != 0;
}

/* NAME as a path: as it is if absolute, else relative to IMAGE's directory
 * (how qemu resolves it). Caller frees. */
static char *resolve_backing(const char *image, const char *name)
{
    CLEANUP_FREE char *copy = xstrdup(image);

    if (name[0] == '/')
        return xstrdup(name);
    return xasprintf("%s/%s", dirname(copy), name); /* caller frees */
}

static int missing_backing(const char *path, const char *backing)
{
    return error("image '%s' needs its backing file '%s', which is missing: "
                 "restore it or give another template", path, backing);
}

/* After qemu-img info failed: if PATH is a qcow2 whose backing file is not
 * there, say so (older qemu-img opens the backing chain for info). */
static int explain_failure(const char *path)
{
    CLEANUP_FREE char *name = NULL;
    CLEANUP_FREE char *full = NULL;
    int r = qcow2_read_backing(path, &name);

    error_clear();
    if (r < 0 || !name || !is_file_name(name))
        return 0;
    full = resolve_backing(path, name);
    if (access(full, F_OK) == 0 || errno != ENOENT)
        return 0;
    return missing_backing(path, full);
}

/* The part of the recorded command error after "failed (exit N): ". */
static const char *command_reason(void)
{
    const char *m = error_message(), *p = m ? strstr(m, "): ") : NULL;

    return p ? p + 3 : "qemu-img could not read it";
}

int qemuimg_info(const char *path, struct image_info *info)
{
    CLEANUP_FREE char *safe = qemuimg_safe_path(path);
    CLEANUP_FREE char *out = NULL;
    struct command *cmd = command_new("qemu-img");
    int r;

    memset(info, 0, sizeof *info);
    command_add(cmd, "info");
    command_add(cmd, "--output=json");
    command_add(cmd, safe);
    r = command_run(cmd, &out);
    command_free(cmd);
    if (r < 0) {
        CLEANUP_FREE char *reason = xstrdup(command_reason());
        if (explain_failure(path) < 0)
            return QEMUIMG_NAMED;
        error("cannot read disk image '%s' (%s): check that it exists and is a disk image", path, reason);
        return QEMUIMG_NAMED;
    }
    if (qemuimg_parse_info(out, info) < 0) {
        error("cannot parse qemu-img info for '%s'", path);
        return QEMUIMG_NAMED;
    }
    /* qemu-img calls any file "raw": a raw image must at least look like a disk. */
    if (strcmp(info->format, "raw") == 0 && info->virtual_size < 1024 * 1024) {
        image_info_release(info);
        error("'%s' is not a disk image (raw and under 1 MiB): give a qcow2 or raw disk", path);
        return QEMUIMG_NOT_IMAGE;
    }
    /* qemu-img info does not open the backing file: a clone of this image would fail to start. */
    if (info->backing && is_file_name(info->backing)) {
        CLEANUP_FREE char *full = info->backing_full ? xstrdup(info->backing_full)
                                                     : resolve_backing(path, info->backing);
        if (access(full, F_OK) < 0 && errno == ENOENT) {
            image_info_release(info);
            missing_backing(path, full);
            return QEMUIMG_NAMED;
        }
    }
    return 0;
}

static int run(struct command *cmd)
{
    int r = command_run(cmd, NULL);

    command_free(cmd);
    return r;
}

int qemuimg_create_overlay(const char *path, const char *backing,
                           const char *backing_fmt, uint64_t size)
{
    CLEANUP_FREE char *safe = qemuimg_safe_path(path);
    CLEANUP_FREE char *safe_backing = qemuimg_safe_path(backing);
    struct command *cmd = command_new("qemu-img");

    command_add(cmd, "create");
    command_add(cmd, "-q");
    command_add(cmd, "-f");
    command_add(cmd, "qcow2");
    command_add(cmd, "-b");
    command_add(cmd, safe_backing);
    command_add(cmd, "-F");
    command_add(cmd, backing_fmt);
    command_add(cmd, safe);
    if (size)
        command_addf(cmd, "%llu", (unsigned long long)size);
    return run(cmd);
}

/* convert to qcow2; compressed: -c, zstd where supported, -W (out-of-order
 * writes, fine for a fresh target). */
static int convert(const char *src, const char *src_fmt, const char *dst, int compressed);

int qemuimg_convert(const char *src, const char *src_fmt, const char *dst)
{
    return convert(src, src_fmt, dst, 0);
}

int qemuimg_write_raw(const char *src, const char *src_fmt, const char *dst)
{
    CLEANUP_FREE char *safe_src = qemuimg_safe_path(src);
    CLEANUP_FREE char *safe_dst = qemuimg_safe_path(dst);
    struct command *cmd = command_new("qemu-img");

    command_add(cmd, "convert");
    command_add(cmd, "-q");
    command_add(cmd, "-n");
    command_add(cmd, "-f");
    command_add(cmd, src_fmt);
    command_add(cmd, "-O");
    command_add(cmd, "raw");
    command_add(cmd, "-m");
    command_add(cmd, "2");
    command_add(cmd, safe_src);
    command_add(cmd, safe_dst);
    return run(cmd);
}

int qemuimg_create(const char *path, const char *format, uint64_t size)
{
    CLEANUP_FREE char *safe = qemuimg_safe_path(path);
    struct command *cmd = command_new("qemu-img");

    command_add(cmd, "create");
    command_add(cmd, "-q");
    command_add(cmd, "-f");
    command_add(cmd, format);
    command_add(cmd, safe);
    command_addf(cmd, "%llu", (unsigned long long)size);
    return run(cmd);
}

int qemuimg_resize(const char *path, const char *fmt, uint64_t size)
{
    CLEANUP_FREE char *safe = qemuimg_safe_path(path);
    struct command *cmd = command_new("qemu-img");

    command_add(cmd, "resize");
    command_add(cmd, "-q");
    command_add(cmd, "-f");
    command_add(cmd, fmt);
    command_add(cmd, safe);
    command_addf(cmd, "%llu", (unsigned long long)size);
    return run(cmd);
}

int qemuimg_rebase_unsafe(const char *path, const char *backing, const char *backing_fmt)
{
    CLEANUP_FREE char *safe = qemuimg_safe_path(path);
    struct command *cmd = command_new("qemu-img");

    command_add(cmd, "rebase");
    command_add(cmd, "-q");
    command_add(cmd, "-u");
    command_add(cmd, "-f");
    command_add(cmd, "qcow2");
    command_add(cmd, "-b");
    command_add(cmd, backing);
    command_add(cmd, "-F");
    command_add(cmd, backing_fmt);
    command_add(cmd, safe);
    return run(cmd);
}

static int zstd_supported(void)
{
    static int cached = -1;
    struct command *cmd;
    CLEANUP_FREE char *out = NULL;

    if (cached >= 0)
        return cached;
    cmd = command_new("qemu-img");
    command_add(cmd, "create");
    command_add(cmd, "-f");
    command_add(cmd, "qcow2");
    command_add(cmd, "-o");
    command_add(cmd, "help");
    cached = command_run(cmd, &out) == 0 && strstr(out, "compression_type") != NULL;
    error_clear();
    command_free(cmd);
    return cached;
}

int qemuimg_convert_compressed(const char *src, const char *src_fmt, const char *dst)
{
    return convert(src, src_fmt, dst, 1);
}

int qemuimg_out_of_space(void)
{
    const char *m = error_message();

    return m && strstr(m, "qemu-img") && strstr(m, "No space left on device");
}

static int convert(const char *src, const char *src_fmt, const char *dst, int compressed)
{
    CLEANUP_FREE char *safe_src = qemuimg_safe_path(src);
    CLEANUP_FREE char *safe_dst = qemuimg_safe_path(dst);
    struct command *cmd = command_new("qemu-img");

    command_add(cmd, "convert");
    command_add(cmd, "-q");
    if (compressed)
        command_add(cmd, "-c");
    command_add(cmd, "-f");
    command_add(cmd, src_fmt);
    command_add(cmd, "-O");
    command_add(cmd, "qcow2");
    if (compressed && zstd_supported()) {
        command_add(cmd, "-o");
        command_add(cmd, "compression_type=zstd");
    }
    command_add(cmd, "-m");
    command_add(cmd, "2");
    if (compressed)
        command_add(cmd, "-W");
    command_add(cmd, safe_src);
    command_add(cmd, safe_dst);
    return run(cmd);
}

/* ", " between the non-zero parts of a check result. */
static void add_count(FILE *fp, long long n, const char *one, const char *many)
{
    if (!n)
        return;
    if (ftello(fp) > 0)
        fputs(", ", fp);
    fprintf(fp, "%lld %s", n, n == 1 ? one : many);
}

char *qemuimg_check_problem(const char *json)
{
    struct json_object *root = json ? json_tokener_parse(json) : NULL, *v;
    long long corruptions = 0, leaks = 0, errors = 0;
    CLEANUP_FREE char *parts = NULL;
    size_t len = 0;
    FILE *fp;

    if (!root)
        return NULL;
    if (json_object_object_get_ex(root, "corruptions", &v))
        corruptions = json_object_get_int64(v);
    if (json_object_object_get_ex(root, "leaks", &v))
        leaks = json_object_get_int64(v);
    if (json_object_object_get_ex(root, "check-errors", &v))
        errors = json_object_get_int64(v);
    json_object_put(root);
    /* Leaked clusters only waste space: not a problem. */
    if (!corruptions && !errors)
        return NULL;
    fp = open_memstream(&parts, &len);
    if (!fp)
        xalloc_die();
    add_count(fp, corruptions, "corruption", "corruptions");
    add_count(fp, leaks, "leaked cluster", "leaked clusters");
    add_count(fp, errors, "check error", "check errors");
    if (fclose(fp) != 0)
        xalloc_die();
    return xasprintf("qemu-img check found %lld error%s (%s)", corruptions + leaks + errors,
                     corruptions + leaks + errors == 1 ? "" : "s", parts); /* caller frees */
}

int qemuimg_check(const char *path, const char *format)
{
    CLEANUP_FREE char *safe = qemuimg_safe_path(path);
    CLEANUP_FREE char *out = NULL;
    CLEANUP_FREE char *problem = NULL;
    CLEANUP_FREE char *reason = NULL;
    struct command *cmd;
    int r, status;

    if (strcmp(format, "qcow2") != 0)
        return 0; /* raw has no metadata to check */
    cmd = command_new("qemu-img");
    command_add(cmd, "check");
    command_add(cmd, "-U");
    command_add(cmd, "-f");
    command_add(cmd, format);
    command_add(cmd, "--output=json");
    command_add(cmd, safe);
    r = command_run(cmd, &out);
    status = command_exit_status(cmd);
    command_free(cmd);
    /* 0: clean; 3: leaked clusters only (harmless); 63: no checks for this format. */
    if (r == 0 || status == 3 || status == 63) {
        error_clear();
        return 0;
    }
    reason = xstrdup(command_reason());
    error_clear();
    /* 2: corruptions; 1: the check itself failed (check-errors, or it could not open the image). */
    problem = qemuimg_check_problem(out);
    if (problem)
        return error("template '%s' is damaged: %s: re-create or re-import it", path, problem);
    return error("template '%s' cannot be checked: %s", path, reason);
}

int qemuimg_parse_map_own(const char *json, uint64_t merge_gap, struct extent **out, size_t *n)
{
    struct json_object *root = json ? json_tokener_parse(json) : NULL;
    struct extent *e = NULL;
    size_t ne = 0;
    int ret = -1;

    *out = NULL;
    *n = 0;
    if (!root || !json_object_is_type(root, json_type_array))
        goto out;
    size_t len = json_object_array_length(root);
    e = xcalloc(len ? len : 1, sizeof *e);
    for (size_t i = 0; i < len; i++) {
        struct json_object *m = json_object_array_get_idx(root, i), *v;
        if (!m || !json_object_object_get_ex(m, "depth", &v) || json_object_get_int(v) != 0)
            continue;
        if (json_object_object_get_ex(m, "present", &v) && !json_object_get_boolean(v))
            continue;
        uint64_t start, length;
        if (!json_object_object_get_ex(m, "start", &v))
            goto out;
        start = (uint64_t)json_object_get_int64(v);
        if (!json_object_object_get_ex(m, "length", &v))
            goto out;
        length = (uint64_t)json_object_get_int64(v);
        if (!length)
            continue;
        /* qemu-img lists ranges in order: join the near ones. */
        if (ne && start >= e[ne - 1].start + e[ne - 1].length &&
            start - (e[ne - 1].start + e[ne - 1].length) <= merge_gap) {
            e[ne - 1].length = start + length - e[ne - 1].start;
            continue;
        }
        e[ne++] = (struct extent){ start, length };
    }
    *out = e;
    *n = ne;
    e = NULL;
    ret = 0;
out:
    free(e);
    json_object_put(root);
    return ret;
}

int qemuimg_map_own(const char *path, uint64_t merge_gap, struct extent **out, size_t *n)
{
    CLEANUP_FREE char *safe = qemuimg_safe_path(path);
    CLEANUP_FREE char *json = NULL;
    struct command *cmd = command_new("qemu-img");

    command_add(cmd, "map");
    command_add(cmd, "-U");
    command_add(cmd, "-f");
    command_add(cmd, "qcow2");
    command_add(cmd, "--output=json");
    command_add(cmd, safe);
    int r = command_run(cmd, &json);
    command_free(cmd);
    if (r < 0)
        return -1;
    if (qemuimg_parse_map_own(json, merge_gap, out, n) < 0)
        return error("cannot read the allocation map of '%s' (qemu-img map)", path);
    return 0;
}
