/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"

static int run_console(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "log", no_argument, NULL, 'l' },
                { "tty", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        bool log_only = false;
        const char *name;
        int c, tty = 0;

        while ((c = getopt_long(argc, argv, "lt:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 'l':
                        log_only = true;
                        break;
                case 't':
                        if (optarg[0] < '0' || optarg[0] > '0' + LODGE_TTYS || optarg[1])
                                return cmd_usage_error(&cmd_console,
                                                       "--tty takes 0 (the console) to %d",
                                                       LODGE_TTYS);
                        tty = optarg[0] - '0';
                        break;
                case 'h':
                        cmd_help(&cmd_console, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&cmd_console);
                }
        }
        if (optind != argc - 1)
                return cmd_usage_error(&cmd_console, "expected one container name");
        if (log_only && tty > 0)
                return cmd_usage_error(&cmd_console, "--log is the console's only, not a tty's");
        name = argv[optind];
        if (lodge_name_check(name, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);
        if (lodge_container_console(&g->paths, name, tty, log_only, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_console = {
        .name = "console",
        .summary = "Connect to a container's console or one of its ttys (Ctrl-a q detaches)",
        .usage = "NAME [--tty N] [--log]",
        .options = "  -t, --tty N             the guest's /dev/ttyN (1-4; a getty waits on tty1)\n"
                   "                          instead of its /dev/console (0)\n"
                   "  -l, --log               print the last 128 KiB of console output and exit\n",
        .run = run_console,
};
