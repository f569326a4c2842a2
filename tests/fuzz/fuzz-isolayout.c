/* fuzz-isolayout: which kernel and initrd vmstamp install boots from an
 * ISO's listing (adapters/iso.c, iso_find_boot: explicit paths, else
 * .treeinfo, else the known layouts of Fedora/RHEL, CentOS 7, Debian,
 * Ubuntu, SUSE). The input is the listing, one path a line as libarchive
 * names the regular files; a line "--- .treeinfo" ends it, and the rest is
 * the .treeinfo text; lines "#fuzz-kernel PATH" and "#fuzz-initrd PATH"
 * before it give --kernel and --initrd (used when both are there). */
#include "adapters/iso.h"
#include "fuzz.h"

#define MAX_FILES 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    char *treeinfo = strstr(text, "--- .treeinfo\n");
    char *kernel, *initrd;
    char **files = calloc(MAX_FILES + 1, sizeof *files);
    const char *k, *i;
    size_t n = 0;

    if (!files)
        abort();
    if (treeinfo) {
        *treeinfo = '\0';
        treeinfo += strlen("--- .treeinfo\n");
    }
    kernel = fuzz_param(text, "kernel");
    initrd = fuzz_param(text, "initrd");
    if (!kernel || !initrd) {
        free(kernel);
        free(initrd);
        kernel = initrd = NULL;
    }
    for (char *line = text, *next; line && *line && n < MAX_FILES; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        /* As list_files gives them: relative to the root. */
        while (*line == '/' || (line[0] == '.' && line[1] == '/'))
            line += *line == '/' ? 1 : 2;
        if (strncmp(line, "#fuzz-", 6) != 0)
            files[n++] = line;
    }

    if (iso_find_boot("fuzz.iso", files, treeinfo, kernel, initrd, &k, &i) == 0) {
        /* Both are entries of the listing. */
        int kin = 0, iin = 0;
        for (size_t j = 0; j < n; j++) {
            kin |= files[j] == k;
            iin |= files[j] == i;
        }
        FUZZ_CHECK(kin && iin);
    } else {
        FUZZ_CHECK(error_message() != NULL);
    }

    free(kernel);
    free(initrd);
    free(files);
    free(text);
    fuzz_done();
    return 0;
}
