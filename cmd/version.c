/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "config.h"

static int run_version(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        (void)g;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                if (c == 'h') {
                        cmd_help(&cmd_version, stdout);
                        return CMD_EXIT_OK;
                }
                return cmd_bad_option(&cmd_version);
        }
        if (optind != argc)
                return cmd_usage_error(&cmd_version, "unexpected argument '%s'", argv[optind]);
        printf("lodge %s\n", LODGE_VERSION);
        printf("features: apparmor %s, seccomp %s, download %s\n", HAVE_APPARMOR ? "yes" : "no",
               HAVE_SECCOMP ? "yes" : "no", HAVE_DOWNLOAD ? "yes" : "no");
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_version = {
        .name = "version",
        .summary = "Show the version and the features this build has",
        .usage = "",
        .run = run_version,
};
