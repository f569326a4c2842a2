/* meta.c: see meta.h. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/meta.h"

static void add_str(struct json_object *o, const char *k, const char *v)
{
    if (v)
        json_object_object_add(o, k, json_object_new_string(v));
}

static void add_strv(struct json_object *o, const char *k, char **v)
{
    struct json_object *a = json_object_new_array();

    for (size_t i = 0; v && v[i]; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    json_object_object_add(o, k, a);
}

char *template_meta_to_json(const struct template_meta *m)
{
    struct json_object *o = json_object_new_object();
    char *s;

    json_object_object_add(o, "version", json_object_new_int(1));
    add_str(o, "name", m->name);
    add_str(o, "os", m->os);
    add_str(o, "os_id", m->os_id);
    add_str(o, "distro", m->distro);
    json_object_object_add(o, "major", json_object_new_int(m->major));
    json_object_object_add(o, "minor", json_object_new_int(m->minor));
    add_str(o, "product", m->product);
    add_str(o, "arch", m->arch);
    add_str(o, "root", m->root);
    add_str(o, "expand", m->expand);
    add_str(o, "expand_lv", m->expand_lv);
    add_strv(o, "filesystems", m->filesystems);
    add_str(o, "format", m->format);
    json_object_object_add(o, "virtual_size", json_object_new_int64((int64_t)m->virtual_size));
    json_object_object_add(o, "stored_size", json_object_new_int64((int64_t)m->stored_size));
    json_object_object_add(o, "min_size", json_object_new_int64((int64_t)m->min_size));
    add_str(o, "created", m->created);
    add_strv(o, "operations", m->operations);
    add_str(o, "sha256", m->sha256);
    add_str(o, "source", m->source);
    if (m->install.command) {
        struct json_object *i = json_object_new_object();
        add_str(i, "definition", m->install.definition);
        add_str(i, "iso", m->install.iso);
        add_str(i, "iso_sha256", m->install.iso_sha256);
        add_str(i, "os_variant", m->install.os_variant);
        add_str(i, "kickstart", m->install.kickstart);
        add_str(i, "kickstart_sha256", m->install.kickstart_sha256);
        add_str(i, "command", m->install.command);
        json_object_object_add(o, "install", i);
    }
    s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s; /* caller frees */
}

static char *get_str(struct json_object *o, const char *k)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return xstrdup(json_object_get_string(v));
}

static char **get_strv(struct json_object *o, const char *k)
{
    struct json_object *a;
    size_t n;
    char **v;

    if (!json_object_object_get_ex(o, k, &a) || !json_object_is_type(a, json_type_array))
        return xcalloc(1, sizeof(char *));
    n = json_object_array_length(a);
    v = xcalloc(n + 1, sizeof *v);
    for (size_t i = 0, j = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(a, i);
        if (json_object_is_type(e, json_type_string))
            v[j++] = xstrdup(json_object_get_string(e));
    }
    return v;
}

static int64_t get_int(struct json_object *o, const char *k)
{
    struct json_object *v;

    return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

int template_meta_from_json(const char *json, struct template_meta *m)
{
    struct json_object *o = json_tokener_parse(json);

    memset(m, 0, sizeof *m);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return error("template metadata is not a JSON object");
    }
    m->name = get_str(o, "name");
    m->os = get_str(o, "os");
    m->os_id = get_str(o, "os_id");
    m->distro = get_str(o, "distro");
    m->major = (int)get_int(o, "major");
    m->minor = (int)get_int(o, "minor");
    m->product = get_str(o, "product");
    m->arch = get_str(o, "arch");
    m->root = get_str(o, "root");
    m->expand = get_str(o, "expand");
    m->expand_lv = get_str(o, "expand_lv");
    m->filesystems = get_strv(o, "filesystems");
    m->format = get_str(o, "format");
    m->virtual_size = (uint64_t)get_int(o, "virtual_size");
    m->stored_size = (uint64_t)get_int(o, "stored_size");
    m->min_size = (uint64_t)get_int(o, "min_size");
    m->created = get_str(o, "created");
    m->operations = get_strv(o, "operations");
    m->sha256 = get_str(o, "sha256");
    m->source = get_str(o, "source");
    struct json_object *i;
    if (json_object_object_get_ex(o, "install", &i) && json_object_is_type(i, json_type_object)) {
        m->install.definition = get_str(i, "definition");
        m->install.iso = get_str(i, "iso");
        m->install.iso_sha256 = get_str(i, "iso_sha256");
        m->install.os_variant = get_str(i, "os_variant");
        m->install.kickstart = get_str(i, "kickstart");
        m->install.kickstart_sha256 = get_str(i, "kickstart_sha256");
        m->install.command = get_str(i, "command");
    }
    json_object_put(o);
    if (!m->name || !m->format || !m->sha256 || strlen(m->sha256) != 64) {
        template_meta_release(m);
        return error("template metadata lacks name, format or a SHA-256");
    }
    return 0;
}

void template_meta_release(struct template_meta *m)
{
    free(m->name);
    free(m->os);
    free(m->os_id);
    free(m->distro);
    free(m->product);
    free(m->arch);
    free(m->root);
    free(m->expand);
    free(m->expand_lv);
    strv_free(m->filesystems);
    free(m->format);
    free(m->created);
    strv_free(m->operations);
    free(m->sha256);
    free(m->source);
    free(m->install.definition);
    free(m->install.iso);
    free(m->install.iso_sha256);
    free(m->install.os_variant);
    free(m->install.kickstart);
    free(m->install.kickstart_sha256);
    free(m->install.command);
    memset(m, 0, sizeof *m);
}
