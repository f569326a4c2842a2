/* qemuimg.c: see qemuimg.h. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

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
    ret = 0;
out:
    json_object_put(root);
    if (ret < 0)
        image_info_release(info);
    return ret;
}

int qemuimg_info(const char *path, struct image_info *info)
{
    CLEANUP_FREE char *safe = qemuimg_safe_path(path);
    CLEANUP_FREE char *out = NULL;
    struct command *cmd = command_new("qemu-img");
    int r;

    command_add(cmd, "info");
    command_add(cmd, "--output=json");
    command_add(cmd, safe);
    r = command_run(cmd, &out);
    command_free(cmd);
    if (r < 0) {
        error_clear();
        return error("cannot read disk image '%s': check that it exists and is a disk image", path);
    }
    if (qemuimg_parse_info(out, info) < 0)
        return error("cannot parse qemu-img info for '%s'", path);
    /* qemu-img calls any file "raw": a raw image must at least look like a disk. */
    if (strcmp(info->format, "raw") == 0 && info->virtual_size < 1024 * 1024) {
        image_info_release(info);
        return error("'%s' is not a disk image (raw and under 1 MiB): give a qcow2 or raw disk", path);
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

int qemuimg_check(const char *path, const char *format)
{
    CLEANUP_FREE char *safe = qemuimg_safe_path(path);
    CLEANUP_FREE char *out = NULL;
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
    /* 0: clean; 3: leaked clusters only (harmless); 2: corruptions; 1: not checkable. */
    if (r == 0 || status == 3) {
        error_clear();
        return 0;
    }
    error_clear();
    struct json_object *root = out ? json_tokener_parse(out) : NULL, *v;
    long long corruptions = 0, errors = 0;
    if (root && json_object_object_get_ex(root, "corruptions", &v))
        corruptions = json_object_get_int64(v);
    if (root && json_object_object_get_ex(root, "check-errors", &v))
        errors = json_object_get_int64(v);
    json_object_put(root);
    if (corruptions || errors)
        return error("image '%s' is damaged: qemu-img check found %lld corruption%s and %lld error%s "
                     "(truncated or half-copied?): re-create or re-import it",
                     path, corruptions, corruptions == 1 ? "" : "s", errors, errors == 1 ? "" : "s");
    return error("image '%s' cannot be checked (qemu-img check exit %d): it may be damaged", path, status);
}
