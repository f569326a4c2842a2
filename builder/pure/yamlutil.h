/* yamlutil.h: what the YAML readers (definition.c, fleetplan.c) share:
 * errors as "PATH:LINE: message", libyaml's syntax errors in that form,
 * reading the file, and a small tree of the document in which every node
 * keeps its line (for nested formats; pure, unit-tested through them). */
#ifndef VMSTAMP_YAMLUTIL_H
#define VMSTAMP_YAMLUTIL_H

#include <stddef.h>
#include <yaml.h>

/* Record "PATH:LINE: message" (LINE 0: "PATH: message") and return -1.
 * Control characters but tab (a quoted value's line breaks) are written
 * as \n, \r, \xHH: the message is one line. */
int yamlutil_error_at(const char *path, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Record libyaml's error after yaml_parser_parse() failed on TEXT (the
 * whole input): "PATH:LINE: invalid YAML: problem (context on line N)".
 * Returns -1. */
int yamlutil_parser_error(const char *path, const char *text, const yaml_parser_t *parser);
/* A plain empty, "~" or "null" scalar. */
int yamlutil_is_null(const yaml_event_t *ev);
/* Read PATH, a YAML text file, whole; WHAT names it in messages ("fleet
 * plan") and HINT follows "not found: ". NULL on error (recorded):
 * "WHAT 'PATH' not found: HINT". Caller frees. */
char *yamlutil_read(const char *path, const char *what, const char *hint);

/* The tree. */
enum ynode_kind { YNODE_SCALAR, YNODE_MAP, YNODE_LIST };

struct ynode {
    enum ynode_kind kind;
    size_t line;          /* 1-based, where the node starts */
    char *value;          /* scalar: its text ("" for a null) */
    int null;             /* scalar: plain empty, "~" or "null" */
    size_t n;             /* map: pairs; list: items */
    struct ynode **items; /* list items, or map values */
    char **keys;          /* map: the keys (all scalars) */
    size_t *key_lines;    /* map: each key's line */
};

/* Parse TEXT (the contents of PATH) into *ROOT: NULL for an empty
 * document. Refused, each as one line naming PATH and the line: syntax
 * errors, a second document ("a second YAML document: WHAT is one
 * mapping"), aliases, keys that are not scalars, a key given twice in one
 * mapping ("KEY: given twice (first on line N)"). 0, or -1 recorded. */
int ynode_load(const char *path, const char *text, const char *what, struct ynode **root);
void ynode_free(struct ynode *n);
/* The kind as a phrase: "a single value", "a mapping", "a list". */
const char *ynode_kind_phrase(const struct ynode *n);

#endif
