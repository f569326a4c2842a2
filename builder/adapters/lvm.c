/* lvm.c: see lvm.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/command.h"
#include "adapters/lvm.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"

void lv_list_free(struct lv *lvs, size_t n)
{
    for (size_t i = 0; lvs && i < n; i++) {
        free(lvs[i].name);
        free(lvs[i].pool_lv);
    }
    free(lvs);
}

/* S without blanks at both ends, as a new string. */
static char *trimmed(const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    return xstrndup(s, len); /* caller frees */
}

int lvm_parse_lvs(const char *text, struct lv **out, size_t *n)
{
    struct lv *lvs = NULL;
    size_t k = 0;

    *out = NULL;
    *n = 0;
    for (const char *line = text; line && *line;) {
        size_t len = strcspn(line, "\n");
        CLEANUP_FREE char *l = trimmed(line, len);
        line += len + (line[len] == '\n');
        if (!*l)
            continue;
        char *f[4] = { 0 };
        char *p = l;
        int nf = 0;
        for (; nf < 4; nf++) {
            f[nf] = p;
            char *bar = strchr(p, '|');
            if (!bar) {
                nf++;
                break;
            }
            *bar = '\0';
            p = bar + 1;
        }
        char *end;
        errno = 0;
        unsigned long long size = nf >= 3 ? strtoull(f[2], &end, 10) : 0;
        if (nf < 3 || !*f[0] || strlen(f[1]) < 2 || strlen(f[1]) > 10 || errno || end == f[2] || *end) {
            lv_list_free(lvs, k);
            return error("cannot read the output of lvs: unexpected line '%s'", l);
        }
        lvs = xreallocarray(lvs, k + 1, sizeof *lvs);
        lvs[k] = (struct lv){ .name = xstrdup(f[0]), .pool_lv = xstrdup(nf >= 4 ? f[3] : ""), .size = size };
        snprintf(lvs[k].attr, sizeof lvs[k].attr, "%s", f[1]);
        k++;
    }
    *out = lvs;
    *n = k;
    return 0;
}

int lvm_list(const char *vg, struct lv **out, size_t *n)
{
    struct command *cmd = command_new("lvs");
    CLEANUP_FREE char *text = NULL;
    int r;

    command_add(cmd, "--noheadings");
    command_add(cmd, "--nosuffix");
    command_add(cmd, "--units");
    command_add(cmd, "b");
    command_add(cmd, "--separator");
    command_add(cmd, "|");
    command_add(cmd, "-o");
    command_add(cmd, "lv_name,lv_attr,lv_size,pool_lv");
    command_add(cmd, vg);
    r = command_run(cmd, &text);
    command_free(cmd);
    if (r < 0)
        return error_replace("cannot list the logical volumes of volume group '%s': %s", vg, error_message());
    return lvm_parse_lvs(text, out, n);
}

const struct lv *lvm_find(const struct lv *lvs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(lvs[i].name, name) == 0)
            return &lvs[i];
    return NULL;
}

const struct lv *lvm_thin_pool(const struct lv *lvs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lvs[i].attr[0] == 't')
            return &lvs[i];
    return NULL;
}

const char *lvm_name_problem(const char *name)
{
    static const char *const reserved[] = { "_cdata", "_cmeta", "_corig", "_mlog", "_mimage", "_pmspare",
                                            "_rimage", "_rmeta", "_tdata", "_tmeta", "_vorigin", "_vdata" };

    if (!*name)
        return "is empty";
    if (name[0] == '-')
        return "starts with '-'";
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return "is '.' or '..'";
    if (strlen(name) > 127)
        return "is longer than 127 characters";
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' ||
              *p == '_' || *p == '.' || *p == '-'))
            return "has a character LVM does not allow (letters, digits and + _ . - only)";
    if (strncmp(name, "snapshot", 8) == 0 || strncmp(name, "pvmove", 6) == 0)
        return "starts with a word LVM reserves ('snapshot', 'pvmove')";
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (strstr(name, reserved[i]))
            return "contains a suffix LVM reserves for its own volumes";
    return NULL;
}

static int run(struct command *cmd)
{
    int r = command_run(cmd, NULL);

    command_free(cmd);
    return r;
}

int lvm_thin_snapshot(const char *vg, const char *origin, const char *thinpool, const char *name)
{
    struct command *cmd = command_new("lvcreate");

    command_add(cmd, "--quiet");
    command_add(cmd, "--snapshot");
    command_add(cmd, "--setactivationskip");
    command_add(cmd, "n");
    command_add(cmd, "--activate");
    command_add(cmd, "y");
    if (thinpool) {
        command_add(cmd, "--thinpool");
        command_addf(cmd, "%s/%s", vg, thinpool);
    }
    command_add(cmd, "--name");
    command_add(cmd, name);
    command_addf(cmd, "%s/%s", vg, origin);
    if (run(cmd) < 0)
        return error_replace("cannot make thin snapshot '%s' of '%s/%s': %s", name, vg, origin, error_message());
    return 0;
}

int lvm_extend(const char *vg, const char *name, uint64_t size)
{
    struct command *cmd = command_new("lvextend");

    command_add(cmd, "--quiet");
    command_add(cmd, "--size");
    command_addf(cmd, "%llub", (unsigned long long)size);
    command_addf(cmd, "%s/%s", vg, name);
    if (run(cmd) < 0)
        return error_replace("cannot grow logical volume '%s/%s': %s", vg, name, error_message());
    return 0;
}
