/* yamlutil.c: see yamlutil.h. libyaml's marks are 0-based. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/xalloc.h"
#include "pure/yamlutil.h"

/* S with its control characters but tab written as \n, \r or \xHH, so
 * a message quoting a value (a YAML scalar may hold line breaks) stays one
 * line. Caller frees. */
static char *one_line(const char *s)
{
    char *out = xmalloc(4 * strlen(s) + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 0x20 && c != 0x7f) || c == '\t')
            *o++ = (char)c;
        else if (c == '\n' || c == '\r')
            o += sprintf(o, "\\%c", c == '\n' ? 'n' : 'r');
        else
            o += sprintf(o, "\\x%02x", c);
    }
    *o = '\0';
    return out; /* caller frees */
}

static int verror_at(const char *path, size_t line, const char *fmt, va_list ap)
{
    CLEANUP_FREE char *msg = NULL;
    CLEANUP_FREE char *text = NULL;

    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    if (line)
        text = xasprintf("%s:%zu: %s", path, line, msg);
    else
        text = xasprintf("%s: %s", path, msg);
    CLEANUP_FREE char *flat = one_line(text);
    return error("%s", flat);
}

int yamlutil_error_at(const char *path, size_t line, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = verror_at(path, line, fmt, ap);
    va_end(ap);
    return r;
}

int yamlutil_parser_error(const char *path, const char *text, const yaml_parser_t *parser)
{
    /* At the end of the file the mark is past the last line. */
    size_t pline = parser->problem_mark.line + 1;
    int at_end = parser->problem_mark.index >= strlen(text);
    const char *problem = parser->problem ? parser->problem : "cannot parse";

    if (at_end && parser->problem_mark.column == 0 && pline > 1)
        pline--;
    if (parser->problem && strstr(parser->problem, "end of stream"))
        at_end = 0; /* it says so already */
    if (parser->context)
        return yamlutil_error_at(path, pline, "invalid YAML: %s%s (%s on line %zu)", problem,
                                 at_end ? " at the end of the file" : "", parser->context,
                                 parser->context_mark.line + 1);
    return yamlutil_error_at(path, pline, "invalid YAML: %s%s", problem, at_end ? " at the end of the file" : "");
}

int yamlutil_is_null(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;

    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
            strcmp(v, "NULL") == 0);
}

char *yamlutil_read(const char *path, const char *what, const char *hint)
{
    size_t len = 0;
    /* A regular file of at most 1 MiB: not /dev/zero, not a FIFO. */
    char *text = read_file_limited(path, READ_MAX_DOCUMENT, 0, what, hint, &len);

    if (!text)
        return NULL;
    if (strlen(text) != len) {
        error("%s '%s' holds a NUL byte: it is not a YAML text file", what, path);
        free(text);
        return NULL;
    }
    return text; /* caller frees */
}

void ynode_free(struct ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        ynode_free(n->items[i]);
        if (n->keys)
            free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->key_lines);
    free(n->value);
    free(n);
}

const char *ynode_kind_phrase(const struct ynode *n)
{
    switch (n->kind) {
    case YNODE_MAP: return "a mapping";
    case YNODE_LIST: return "a list";
    default: return "a single value";
    }
}

#define YNODE_DEPTH 32

/* An open mapping or list; a mapping's key waits here for its value. */
struct frame {
    struct ynode *node;
    char *key;
    size_t key_line;
};

/* Attach the new node N (at LINE) under the innermost open node, or as the
 * root. N is owned by the tree afterwards, or freed here (a key). Returns
 * 1 if N was a key, 0 if attached, -1 on error (N freed). */
static int attach(const char *path, struct frame *stack, size_t depth, struct ynode **root, struct ynode *n)
{
    struct frame *f;

    if (depth == 0) {
        *root = n;
        return 0;
    }
    f = &stack[depth - 1];
    if (f->node->kind == YNODE_MAP && !f->key) {
        size_t line = n->line;
        if (n->kind != YNODE_SCALAR) {
            const char *kind = n->kind == YNODE_MAP ? "a mapping" : "a list";
            ynode_free(n);
            return yamlutil_error_at(path, line, "%s as a key is not part of the format", kind);
        }
        for (size_t i = 0; i < f->node->n; i++)
            if (strcmp(f->node->keys[i], n->value) == 0) {
                yamlutil_error_at(path, line, "%s: given twice (first on line %zu)", n->value,
                                  f->node->key_lines[i]);
                ynode_free(n);
                return -1;
            }
        f->key = n->value;
        f->key_line = line;
        n->value = NULL;
        ynode_free(n);
        return 1;
    }
    f->node->items = xreallocarray(f->node->items, f->node->n + 1, sizeof *f->node->items);
    f->node->items[f->node->n] = n;
    if (f->node->kind == YNODE_MAP) {
        f->node->keys = xreallocarray(f->node->keys, f->node->n + 1, sizeof *f->node->keys);
        f->node->key_lines = xreallocarray(f->node->key_lines, f->node->n + 1, sizeof *f->node->key_lines);
        f->node->keys[f->node->n] = f->key;
        f->node->key_lines[f->node->n] = f->key_line;
        f->key = NULL;
    }
    f->node->n++;
    return 0;
}

int ynode_load(const char *path, const char *text, const char *what, struct ynode **root)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct frame stack[YNODE_DEPTH];
    size_t depth = 0;
    int ret = -1, end = 0, docs = 0;

    *root = NULL;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    while (!end) {
        if (!yaml_parser_parse(&parser, &ev)) {
            yamlutil_parser_error(path, text, &parser);
            goto out;
        }
        size_t line = ev.start_mark.line + 1;
        struct ynode *n = NULL;
        int r = 0;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            end = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                r = yamlutil_error_at(path, line, "a second YAML document: %s is one mapping", what);
            break;
        case YAML_ALIAS_EVENT:
            r = yamlutil_error_at(path, line, "YAML aliases are not part of the format: write the value");
            break;
        case YAML_SCALAR_EVENT:
            n = xcalloc(1, sizeof *n);
            n->kind = YNODE_SCALAR;
            n->null = yamlutil_is_null(&ev);
            n->value = xstrdup(n->null ? "" : (const char *)ev.data.scalar.value);
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (depth == YNODE_DEPTH) {
                r = yamlutil_error_at(path, line, "nested too deeply: the format has at most %d levels",
                                      YNODE_DEPTH);
                break;
            }
            n = xcalloc(1, sizeof *n);
            n->kind = ev.type == YAML_MAPPING_START_EVENT ? YNODE_MAP : YNODE_LIST;
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        if (n) {
            n->line = line;
            r = attach(path, stack, depth, root, n);
            if (r == 0 && n->kind != YNODE_SCALAR)
                stack[depth++] = (struct frame){ .node = n };
        }
        yaml_event_delete(&ev);
        if (r < 0)
            goto out;
    }
    ret = 0;
out:
    yaml_parser_delete(&parser);
    while (depth > 0)
        free(stack[--depth].key);
    if (ret < 0) {
        ynode_free(*root);
        *root = NULL;
    }
    return ret;
}
