/* fuzz.h: what the libFuzzer targets share (tests/fuzz/fuzz-*.c). Each
 * target feeds one family of parsers of outside input; the parsers get a
 * NUL-terminated copy of the bytes (text parsers stop at a NUL, as they do
 * on a file read with read_file), and everything they return is freed, so
 * LeakSanitizer reports a leak as a crash. */
#ifndef VMSTAMP_FUZZ_H
#define VMSTAMP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* DATA as a string (caller frees). */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The end of one run: the recorded error message goes, so the next run's
 * parsers record (and format) theirs, and nothing stays allocated. */
static inline void fuzz_done(void)
{
    /* FUZZ_VERBOSE=1: say it, to see what a seed reaches. */
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz: %s\n", error_message() ? error_message() : "no error recorded");
    error_clear();
}

/* A property the parser promises did not hold: a bug even without a
 * sanitizer report. Aborts, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* The values after "#fuzz-KEY " on the lines of TEXT that start with it,
 * at most MAX, NULL-terminated (caller frees with fuzz_strv_free): the
 * targets' way to take parameters from the input while the input stays a
 * file of its format (in most of them, those lines are comments). */
static inline char **fuzz_params(const char *text, const char *key, size_t max)
{
    size_t klen = strlen(key), n = 0;
    char **v = calloc(max + 1, sizeof *v);

    if (!v)
        abort();
    for (const char *p = text; p && *p && n < max; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "#fuzz-", 6) != 0 || strncmp(p + 6, key, klen) != 0 || p[6 + klen] != ' ')
            continue;
        const char *val = p + 7 + klen;
        size_t len = strcspn(val, "\r\n");
        if (!(v[n] = strndup(val, len)))
            abort();
        n++;
    }
    return v;
}

static inline void fuzz_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* The first such value, or NULL. Caller frees. */
static inline char *fuzz_param(const char *text, const char *key)
{
    char **v = fuzz_params(text, key, 1);
    char *s = v[0];

    free(v);
    return s;
}

#endif
