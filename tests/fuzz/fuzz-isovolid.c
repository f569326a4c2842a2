/* fuzz-isovolid: the ISO 9660 volume id (adapters/iso.c, iso_volume_id),
 * read from an image whose primary volume descriptor (sector 16, offset
 * 32768) is the input: a memfd of 32 KiB of zeros and the input, opened by
 * its /proc/self/fd path as a file would be. */
#include <ctype.h>
#include <sys/mman.h>
#include <unistd.h>

#include "adapters/iso.h"
#include "fuzz.h"

#define VD_OFFSET 32768
#define MAX_VD 4096

static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *volid = NULL;

    if (fd < 0) {
        fd = memfd_create("fuzz-iso", MFD_CLOEXEC);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (size > MAX_VD)
        size = MAX_VD;
    if (ftruncate(fd, 0) < 0 || ftruncate(fd, VD_OFFSET) < 0 ||
        (size && pwrite(fd, data, size, VD_OFFSET) != (ssize_t)size))
        abort();
    if (iso_volume_id(path, &volid) == 0) {
        /* Printable, at most 32 bytes, no trailing blank. */
        size_t len = strlen(volid);
        FUZZ_CHECK(len >= 1 && len <= 32 && volid[len - 1] != ' ');
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK(isprint((unsigned char)volid[i]));
    } else {
        FUZZ_CHECK(volid == NULL && error_message() != NULL);
    }
    free(volid);
    fuzz_done();
    return 0;
}
