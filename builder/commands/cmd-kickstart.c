/* cmd-kickstart.c: vmstamp kickstart lint|render. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "commands/cmd.h"
#include "base/error.h"
#include "pure/kickstart.h"
#include "pure/util.h"

/* Report the recorded error about FILE on one line. */
static void file_error(const char *file)
{
    const char *msg = error_message();

    if (msg && strstr(msg, file))
        fprintf(stderr, "vmstamp: error: %s\n", msg);
    else
        fprintf(stderr, "vmstamp: error: %s: %s\n", file, msg ? msg : "unknown error");
    error_clear();
}

/* vmstamp kickstart lint FILE...: "FILE:LINE: message" per issue, on stdout. */
static int kickstart_lint(int argc, char **argv)
{
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    int c, ret = EXIT_SUCCESS;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1)
        return cmd_bad_usage("kickstart", "unknown option '%s' for 'kickstart lint'", argv[optind - 1]);
    if (optind >= argc)
        return cmd_bad_usage("kickstart", "usage: vmstamp kickstart lint FILE...");
    for (int i = optind; i < argc; i++) {
        CLEANUP_FREE char *text = read_file_limited(argv[i], READ_MAX_DOCUMENT, 0, "kickstart", "give a kickstart file", NULL);
        struct ks_issue *issues;
        size_t n;

        if (!text || ks_lint(text, &issues, &n) < 0) {
            file_error(argv[i]);
            ret = EXIT_FAILURE;
            continue;
        }
        for (size_t j = 0; j < n; j++)
            printf("%s:%d: %s\n", argv[i], issues[j].line, issues[j].message);
        if (n > 0)
            ret = EXIT_FAILURE;
        ks_issues_free(issues, n);
    }
    return ret;
}

/* vmstamp kickstart render FILE [--var K=V]...: the substituted kickstart. */
static int kickstart_render(int argc, char **argv)
{
    enum { O_VAR = 256 };
    static const struct option opts[] = { { "var", required_argument, NULL, O_VAR }, { NULL, 0, NULL, 0 } };
    CLEANUP_FREE char **vars = calloc((size_t)argc + 1, sizeof *vars);
    CLEANUP_FREE char *text = NULL;
    CLEANUP_FREE char *out = NULL;
    size_t nvars = 0;
    int c;

    if (!vars)
        abort();
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == ':')
            return cmd_bad_usage("kickstart", "option '%s' needs a value", argv[optind - 1]);
        if (c != O_VAR)
            return cmd_bad_usage("kickstart", "unknown option '%s' for 'kickstart render'", argv[optind - 1]);
        if (!strchr(optarg, '='))
            return cmd_bad_usage("kickstart", "--var '%s': expected KEY=VALUE", optarg);
        vars[nvars++] = optarg; /* argv strings: not owned */
    }
    if (argc - optind != 1)
        return cmd_bad_usage("kickstart", "usage: vmstamp kickstart render FILE [--var KEY=VALUE]...");
    text = read_file_limited(argv[optind], READ_MAX_DOCUMENT, 0, "kickstart", "give a kickstart file", NULL);
    if (text)
        out = ks_substitute(text, vars, NULL);
    if (!out) {
        file_error(argv[optind]);
        return EXIT_FAILURE;
    }
    fputs(out, stdout);
    return EXIT_SUCCESS;
}

int cmd_kickstart(int argc, char **argv)
{
    if (argc < 2)
        return cmd_bad_usage("kickstart", "missing subcommand (lint, render)");
    optind = 0;
    if (strcmp(argv[1], "lint") == 0)
        return kickstart_lint(argc - 1, argv + 1);
    if (strcmp(argv[1], "render") == 0)
        return kickstart_render(argc - 1, argv + 1);
    return cmd_bad_usage("kickstart", "unknown subcommand '%s'", argv[1]);
}
