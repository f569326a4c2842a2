/* definition.h: template definitions (templates/NAME.yaml, read with libyaml;
 * pure, unit-tested). A flat mapping:
 *   name: rocky9              (required; a domain name)
 *   iso: /path/to.iso         (relative paths are relative to the file)
 *   iso_sha256: 64 hex digits (placeholders such as SET-ME: "not set")
 *   kickstart: ../kickstart/rocky9.ks   (required)
 *   os_variant: rocky9        (an osinfo id; looked up by the build)
 *   size: 10G                 (at least 64M)
 *   memory: 2048              (MiB, or a size such as 2G)
 *   vcpus: 2                  (1 to 512)
 *   operations: defaults      (sysprep spec, or a list joined with ',')
 * Every error names the file, the line and the key:
 *   "templates/x.yaml:4: iso_sha256: 'abc' is not 64 hex digits: ..." */
#ifndef VMSTAMP_DEFINITION_H
#define VMSTAMP_DEFINITION_H

#include <stdint.h>

enum definition_key {
    DEF_NAME,
    DEF_ISO,
    DEF_ISO_SHA256,
    DEF_KICKSTART,
    DEF_OS_VARIANT,
    DEF_SIZE,
    DEF_MEMORY,
    DEF_VCPUS,
    DEF_OPERATIONS,
    DEF_NKEYS
};

struct definition {
    char *path;         /* the file, as given (for messages and paths) */
    char *name;
    char *iso;          /* as written (see definition_resolve) */
    char *iso_sha256;   /* lowercase; NULL if absent or a placeholder */
    int iso_sha256_unset; /* the key is there with a placeholder (SET-ME, empty) */
    char *kickstart;    /* as written */
    char *os_variant;
    uint64_t size;       /* bytes; 0: not given */
    uint64_t memory_kib; /* 0: not given */
    unsigned vcpus;      /* 0: not given */
    char *operations;    /* "a,b,c"; NULL: not given */
    int line[DEF_NKEYS]; /* 1-based line of each key's value; 0: absent */
};

/* The key's name as written in a definition ("iso_sha256"). */
const char *definition_key_name(enum definition_key key);
/* Parse TEXT, the contents of the file PATH (used in messages and to
 * resolve paths). 0, or -1 with "PATH:LINE: KEY: problem" recorded (and
 * *D released). */
int definition_parse(const char *path, const char *text, struct definition *d);
/* Read PATH and parse it; a missing file: "template definition 'PATH' not
 * found: give a YAML file (see templates/)". */
int definition_load(const char *path, struct definition *d);
void definition_release(struct definition *d);
/* A path from the definition, relative to the definition's directory
 * (absolute paths unchanged). Caller frees. */
char *definition_resolve(const struct definition *d, const char *p);
/* Record "PATH:LINE: KEY: MESSAGE" (or "PATH: KEY: ..." for an absent key)
 * and return -1: for problems found later (an unknown os_variant). */
int definition_error(const struct definition *d, enum definition_key key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
