/* fuzz-treeinfo: an installer ISO's .treeinfo (adapters/iso.c,
 * iso_treeinfo_parse): the kernel and initrd it names. */
#include "adapters/iso.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    char *kernel = NULL, *initrd = NULL;

    if (iso_treeinfo_parse(text, &kernel, &initrd) == 0) {
        FUZZ_CHECK(kernel && *kernel && initrd && *initrd);
        /* Relative to the ISO's root. */
        FUZZ_CHECK(kernel[0] != '/' && initrd[0] != '/');
    } else {
        FUZZ_CHECK(!kernel && !initrd);
    }
    free(kernel);
    free(initrd);
    free(text);
    fuzz_done();
    return 0;
}
