/* inventory.c: see inventory.h. */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/inventory.h"

int inventory_format_parse(const char *s, enum inventory_format *f)
{
    if (strcmp(s, "yaml") == 0)
        *f = INVENTORY_YAML;
    else if (strcmp(s, "ini") == 0)
        *f = INVENTORY_INI;
    else if (strcmp(s, "json") == 0)
        *f = INVENTORY_JSON;
    else
        return error("invalid --format '%s': give yaml, ini or json", s);
    return 0;
}

char *inventory_group_name(const char *pattern, const char *prefix)
{
    size_t n = strlen(pattern), k = 0;
    char *out = xmalloc(strlen(prefix) + n + 2);

    k = (size_t)sprintf(out, "%s", prefix);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)pattern[i];
        if (c == '%') { /* the conversion: %d, %02d, %%... */
            i++;
            while (i < n && (isdigit((unsigned char)pattern[i]) || pattern[i] == '0' || pattern[i] == '-'))
                i++;
            /* what joined it to the name goes with it: web-%02d -> web */
            while (k > strlen(prefix) && out[k - 1] == '_')
                k--;
            continue;
        }
        c = isalnum(c) ? c : '_';
        if (c == '_' && (k == strlen(prefix) || out[k - 1] == '_'))
            continue; /* no leading or doubled _ */
        out[k++] = (char)c;
    }
    while (k > strlen(prefix) && out[k - 1] == '_')
        k--;
    out[k] = '\0';
    if (k == strlen(prefix) || isdigit((unsigned char)out[strlen(prefix)])) {
        char *g = xasprintf("%sg%s", prefix, out + strlen(prefix));
        free(out);
        return g; /* caller frees */
    }
    return out; /* caller frees */
}

/* The groups of H[0..N) in order of first appearance: plan groups, then
 * hosts (host_NAME), each with the indexes of its members. */
struct group {
    char *name;
    size_t *members;
    size_t n;
};

static size_t collect_groups(const struct inventory_host *h, size_t n, struct group **out)
{
    struct group *g = xcalloc(2 * n + 1, sizeof *g);
    size_t ng = 0;

    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            char *name = pass == 0 ? inventory_group_name(h[i].group, "") : inventory_group_name(h[i].host, "host_");
            size_t k = 0;
            while (k < ng && strcmp(g[k].name, name) != 0)
                k++;
            if (k == ng) {
                g[ng].name = name;
                g[ng].members = xcalloc(n, sizeof *g[ng].members);
                ng++;
            } else {
                free(name);
            }
            g[k].members[g[k].n++] = i;
        }
    *out = g;
    return ng;
}

static void groups_free(struct group *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].name);
        free(g[i].members);
    }
    free(g);
}

static int has_address(const struct inventory_host *h)
{
    return h->address && *h->address;
}

/* A YAML double-quoted scalar. */
static void yq(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

char *inventory_render(const struct inventory_host *h, size_t n, enum inventory_format format, const char *user,
                       const char *known_hosts)
{
    struct group *g;
    size_t ng = collect_groups(h, n, &g);
    CLEANUP_FREE char *ssh_args = xasprintf("-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes", known_hosts);
    char *buf = NULL;
    size_t len = 0;

    if (format == INVENTORY_JSON) {
        struct json_object *top = json_object_new_object(), *meta = json_object_new_object();
        struct json_object *hostvars = json_object_new_object(), *all = json_object_new_object();
        struct json_object *children = json_object_new_array(), *vars = json_object_new_object();
        for (size_t i = 0; i < n; i++) {
            struct json_object *v = json_object_new_object();
            if (has_address(&h[i]))
                json_object_object_add(v, "ansible_host", json_object_new_string(h[i].address));
            json_object_object_add(hostvars, h[i].name, v);
        }
        json_object_object_add(meta, "hostvars", hostvars);
        json_object_object_add(top, "_meta", meta);
        json_object_object_add(vars, "ansible_user", json_object_new_string(user));
        json_object_object_add(vars, "ansible_ssh_common_args", json_object_new_string(ssh_args));
        for (size_t k = 0; k < ng; k++) {
            struct json_object *grp = json_object_new_object(), *hosts = json_object_new_array();
            for (size_t m = 0; m < g[k].n; m++)
                json_object_array_add(hosts, json_object_new_string(h[g[k].members[m]].name));
            json_object_object_add(grp, "hosts", hosts);
            json_object_object_add(top, g[k].name, grp);
            json_object_array_add(children, json_object_new_string(g[k].name));
        }
        json_object_object_add(all, "children", children);
        json_object_object_add(all, "vars", vars);
        json_object_object_add(top, "all", all);
        char *text = xasprintf("%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY |
                                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(top);
        groups_free(g, ng);
        return text; /* caller frees */
    }
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        xalloc_die();
    if (format == INVENTORY_YAML) {
        fprintf(f, "all:\n  vars:\n    ansible_user: ");
        yq(f, user);
        fprintf(f, "\n    ansible_ssh_common_args: ");
        yq(f, ssh_args);
        fprintf(f, "\n  children:\n");
        for (size_t k = 0; k < ng; k++) {
            fprintf(f, "    %s:\n      hosts:\n", g[k].name);
            for (size_t m = 0; m < g[k].n; m++) {
                const struct inventory_host *x = &h[g[k].members[m]];
                fprintf(f, "        %s:\n", x->name);
                if (has_address(x)) {
                    fprintf(f, "          ansible_host: ");
                    yq(f, x->address);
                    fputc('\n', f);
                }
            }
        }
    } else {
        for (size_t k = 0; k < ng; k++) {
            fprintf(f, "[%s]\n", g[k].name);
            for (size_t m = 0; m < g[k].n; m++) {
                const struct inventory_host *x = &h[g[k].members[m]];
                if (has_address(x))
                    fprintf(f, "%s ansible_host=%s\n", x->name, x->address);
                else
                    fprintf(f, "%s\n", x->name);
            }
            fputc('\n', f);
        }
        fprintf(f, "[all:vars]\nansible_user=%s\nansible_ssh_common_args='%s'\n", user, ssh_args);
    }
    fclose(f);
    groups_free(g, ng);
    return buf; /* caller frees */
}

char *ssh_config_render(const struct inventory_host *h, size_t n, const char *user, const char *known_hosts)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        xalloc_die();
    for (size_t i = 0; i < n; i++) {
        if (!has_address(&h[i]))
            continue;
        fprintf(f,
                "Host %s\n    HostName %s\n    User %s\n    UserKnownHostsFile %s\n"
                "    StrictHostKeyChecking yes\n\n",
                h[i].name, h[i].address, user, known_hosts);
    }
    fclose(f);
    return buf; /* caller frees */
}
