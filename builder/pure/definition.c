/* definition.c: see definition.h. Parsed from libyaml's events, so each
 * value keeps its line (the marks are 0-based). */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/definition.h"
#include "pure/installer.h"
#include "pure/util.h"
#include "pure/yamlutil.h"

static const char *const key_names[DEF_NKEYS] = {
    [DEF_NAME] = "name",
    [DEF_ISO] = "iso",
    [DEF_ISO_SHA256] = "iso_sha256",
    [DEF_KICKSTART] = "kickstart",
    [DEF_OS_VARIANT] = "os_variant",
    [DEF_SIZE] = "size",
    [DEF_MEMORY] = "memory",
    [DEF_VCPUS] = "vcpus",
    [DEF_OPERATIONS] = "operations",
};

const char *definition_key_name(enum definition_key key)
{
    return key < DEF_NKEYS ? key_names[key] : "?";
}

static int find_key(const char *s)
{
    for (int k = 0; k < DEF_NKEYS; k++)
        if (strcmp(key_names[k], s) == 0)
            return k;
    return -1;
}

void definition_release(struct definition *d)
{
    if (!d)
        return;
    free(d->path);
    free(d->name);
    free(d->iso);
    free(d->iso_sha256);
    free(d->kickstart);
    free(d->os_variant);
    free(d->operations);
    memset(d, 0, sizeof *d);
}

int definition_error(const struct definition *d, enum definition_key key, const char *fmt, ...)
{
    CLEANUP_FREE char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    return yamlutil_error_at(d->path, key < DEF_NKEYS ? (size_t)d->line[key] : 0, "%s: %s", definition_key_name(key), msg);
}

/* SET-ME, TODO, CHANGEME...: a word in capitals that cannot be hex. */
static int placeholder(const char *s)
{
    int non_hex = 0;

    for (const char *p = s; *p; p++) {
        if (!isupper((unsigned char)*p) && *p != '-' && *p != '_' && *p != ' ')
            return 0;
        non_hex |= !isxdigit((unsigned char)*p);
    }
    return non_hex;
}

/* Store the scalar V (at LINE) for KEY (a list item is appended). */
static int set_value(struct definition *d, int key, const char *v, size_t line)
{
    const char *kn = key_names[key];
    char *end;

    if (key == DEF_ISO_SHA256) {
        if (!*v || placeholder(v)) {
            d->iso_sha256_unset = 1;
            return 0;
        }
        if (!is_sha256_hex(v))
            return yamlutil_error_at(d->path, line, "%s: '%s' is not 64 hex digits: copy it from the distribution's "
                            "CHECKSUM file", kn, v);
        d->iso_sha256 = xstrdup(v);
        for (char *p = d->iso_sha256; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        return 0;
    }
    if (!*v)
        return yamlutil_error_at(d->path, line, "%s: no value", kn);
    switch (key) {
    case DEF_NAME:
        if (!valid_domain_name(v))
            return yamlutil_error_at(d->path, line, "%s: '%s' is not a valid name: use 1-64 letters, digits, '.', '_' or '-'",
                            kn, v);
        d->name = xstrdup(v);
        break;
    case DEF_ISO: d->iso = xstrdup(v); break;
    case DEF_KICKSTART: d->kickstart = xstrdup(v); break;
    case DEF_OS_VARIANT: d->os_variant = xstrdup(v); break;
    case DEF_SIZE:
        if (parse_size(v, &d->size) < 0 || d->size < 64 * 1024 * 1024) {
            error_clear();
            d->size = 0;
            return yamlutil_error_at(d->path, line, "%s: '%s' is not a disk size: use e.g. 10G (at least 64M)", kn, v);
        }
        break;
    case DEF_MEMORY:
        if (parse_memory(v, &d->memory_kib) < 0) {
            error_clear();
            return yamlutil_error_at(d->path, line, "%s: '%s' is not a memory size: give MiB (2048) or a size (2G)", kn, v);
        }
        break;
    case DEF_VCPUS: {
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (errno || *end || !isdigit((unsigned char)v[0]) || n == 0 || n > 512)
            return yamlutil_error_at(d->path, line, "%s: '%s' is not a number of CPUs: give 1 to 512", kn, v);
        d->vcpus = (unsigned)n;
        break;
    }
    case DEF_OPERATIONS: {
        char *joined;
        joined = xasprintf("%s%s%s", d->operations ? d->operations : "", d->operations ? "," : "", v);
        free(d->operations);
        d->operations = joined;
        break;
    }
    }
    return 0;
}

int definition_parse(const char *path, const char *text, struct definition *d)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    enum { TOP, KEY, VALUE, LIST, DONE } state = TOP;
    int key = -1, ret = -1, end = 0, docs = 0;
    size_t list_items = 0;

    memset(d, 0, sizeof *d);
    d->path = xstrdup(path);
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    while (!end) {
        if (!yaml_parser_parse(&parser, &ev)) {
            yamlutil_parser_error(path, text, &parser);
            goto out;
        }
        size_t line = ev.start_mark.line + 1;
        int r = 0;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            end = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                r = yamlutil_error_at(path, line, "a second YAML document: a definition is one mapping");
            break;
        case YAML_ALIAS_EVENT:
            r = yamlutil_error_at(path, line, "YAML aliases are not part of the format: write the value");
            break;
        case YAML_MAPPING_START_EVENT:
            if (state == TOP)
                state = KEY;
            else if (state == KEY)
                r = yamlutil_error_at(path, line, "a mapping as a key is not part of the format");
            else
                r = yamlutil_error_at(path, line, "%s: a mapping is not allowed here: give %s", key_names[key],
                             key == DEF_OPERATIONS ? "one value or a list of values" : "one value");
            break;
        case YAML_MAPPING_END_EVENT:
            state = DONE;
            break;
        case YAML_SEQUENCE_START_EVENT:
            if (state == TOP)
                r = yamlutil_error_at(path, line, "a list: a definition is a mapping (name: ..., kickstart: ...)");
            else if (state == KEY)
                r = yamlutil_error_at(path, line, "a list as a key is not part of the format");
            else if (state == LIST)
                r = yamlutil_error_at(path, line, "%s: a list inside a list is not part of the format", key_names[key]);
            else if (key != DEF_OPERATIONS)
                r = yamlutil_error_at(path, line, "%s: a list is not allowed here: give one value (only 'operations' "
                             "may be a list)", key_names[key]);
            else {
                state = LIST; /* its line stays the key's */
                list_items = 0;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
            if (list_items == 0)
                r = yamlutil_error_at(path, (size_t)d->line[key], "%s: an empty list: give 'none' to run no operation", key_names[key]);
            state = KEY;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            if (state == TOP && yamlutil_is_null(&ev)) {
                state = DONE; /* an empty document: the missing keys are said below */
            } else if (state == TOP) {
                r = yamlutil_error_at(path, line, "a single value: a definition is a mapping (name: ..., kickstart: ...)");
            } else if (state == KEY) {
                key = find_key(v);
                if (key < 0)
                    r = yamlutil_error_at(path, line, "unknown key '%s' (known: name, iso, iso_sha256, kickstart, os_variant, "
                                 "size, memory, vcpus, operations)", v);
                else if (d->line[key])
                    r = yamlutil_error_at(path, line, "%s: given twice (first on line %d)", v, d->line[key]);
                else {
                    d->line[key] = (int)line;
                    state = VALUE;
                }
            } else if (state == VALUE) {
                d->line[key] = (int)line;
                r = set_value(d, key, yamlutil_is_null(&ev) ? "" : v, line);
                state = KEY;
            } else if (state == LIST) {
                list_items++;
                r = set_value(d, key, yamlutil_is_null(&ev) ? "" : v, line);
            }
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (r < 0)
            goto out;
    }
    if (!d->line[DEF_NAME] || !d->line[DEF_KICKSTART]) {
        yamlutil_error_at(path, 0, "missing key '%s': a definition needs at least 'name' and 'kickstart'",
                 !d->line[DEF_NAME] ? "name" : "kickstart");
        goto out;
    }
    ret = 0;
out:
    yaml_parser_delete(&parser);
    if (ret < 0)
        definition_release(d);
    return ret;
}

int definition_load(const char *path, struct definition *d)
{
    CLEANUP_FREE char *text = NULL;

    memset(d, 0, sizeof *d);
    text = yamlutil_read(path, "template definition", "give a YAML file (see templates/)");
    if (!text)
        return -1;
    return definition_parse(path, text, d);
}

char *definition_resolve(const struct definition *d, const char *p)
{
    CLEANUP_FREE char *copy = xstrdup(d->path);
    char *s;

    if (p[0] == '/')
        return xstrdup(p);
    s = xasprintf("%s/%s", dirname(copy), p);
    return s; /* caller frees */
}
