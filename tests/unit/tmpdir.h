/* tmpdir.h: a cmocka fixture for unit tests that need a scratch directory:
 * *state is its path (owned), removed with everything in it afterwards. */
#ifndef VMSTAMP_TEST_TMPDIR_H
#define VMSTAMP_TEST_TMPDIR_H

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fileio.h"

static inline int tmpdir_setup(void **state)
{
    char tmpl[] = "/tmp/vmstamp-unit-XXXXXX";
    char *dir = mkdtemp(tmpl);

    if (!dir)
        return -1;
    *state = strdup(dir);
    return *state ? 0 : -1;
}

static inline int tmpdir_teardown(void **state)
{
    int r = remove_tree(*state);

    free(*state);
    error_clear();
    return r;
}

#endif
