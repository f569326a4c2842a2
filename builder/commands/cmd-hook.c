/* cmd-hook.c: vmstamp hook qemu DOMAIN OP SUBOP EXTRA, run by libvirt
 * through vmstamp's hook script (adapters/portfwd.h) with the domain XML
 * on stdin. It must not call back into libvirt (the daemon waits for it);
 * a non-zero exit on start stops the domain from starting, with this
 * command's stderr in libvirt's error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "commands/cmd.h"
#include "pipeline/forward.h"

#define HOOK_XML_MAX (16u << 20)

int cmd_hook(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[1], "qemu") != 0)
        return cmd_bad_usage("hook", "give qemu DOMAIN OP [SUBOP [EXTRA]] (libvirt's hook arguments) and the "
                                     "domain XML on stdin");
    const char *name = argv[2], *op = argv[3];
    if (strcmp(op, "start") != 0 && strcmp(op, "stopped") != 0 && strcmp(op, "reconnect") != 0)
        return EXIT_SUCCESS;
    size_t len = 0;
    CLEANUP_FREE char *xml = read_file_limited("/dev/stdin", HOOK_XML_MAX, READ_ANY_TYPE, "domain XML", NULL, &len);
    if (!xml) {
        error_report();
        return EXIT_FAILURE;
    }
    if (len > HOOK_XML_MAX) {
        fprintf(stderr, "vmstamp hook: the XML of domain '%s' on stdin is too long\n", name);
        return EXIT_FAILURE;
    }
    int r = forward_hook(name, op, xml);
    if (r < 0) {
        error_report();
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
