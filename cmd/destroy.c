/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/base/interrupt.h"

static int run_destroy(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "force", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        bool force = false;
        const char *name;
        int c;

        while ((c = getopt_long(argc, argv, "fh", longopts, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'h':
                        cmd_help(&cmd_destroy, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&cmd_destroy);
                }
        }
        if (optind != argc - 1)
                return cmd_usage_error(&cmd_destroy, "expected one container name");
        name = argv[optind];
        if (lodge_name_check(name, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);

        interrupt_install();
        if (lodge_container_destroy(&g->paths, name, force, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_destroy = {
        .name = "destroy",
        .summary = "Remove a container and everything that belongs to it",
        .usage = "NAME [-f|--force]",
        .options = "  -f, --force             stop the container first if it is running\n",
        .run = run_destroy,
};
