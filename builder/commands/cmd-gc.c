/* cmd-gc.c: vmstamp gc. Undo what dead vmstamp runs left behind (their
 * journals), as every changing command does before it starts. */
#include <stdio.h>
#include <stdlib.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "commands/cmd.h"
#include "pipeline/run.h"

int cmd_gc(int argc, char **argv)
{
    int n;

    (void)argv;
    if (argc != 1)
        return cmd_bad_usage("gc", "'gc' takes no arguments");
    n = recover_dead_runs();
    if (n < 0) {
        error_report();
        return EXIT_FAILURE;
    }
    if (n == 0)
        info("vmstamp: no interrupted runs to recover");
    else
        printf("recovered %d interrupted run%s\n", n, n == 1 ? "" : "s");
    return EXIT_SUCCESS;
}
