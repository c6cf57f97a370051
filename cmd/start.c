/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"

static int run_start(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "foreground", no_argument, NULL, 'F' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        struct lodge_start_options opts = { 0 };
        const char *name;
        int c;

        while ((c = getopt_long(argc, argv, "Fh", longopts, NULL)) >= 0) {
                switch (c) {
                case 'F':
                        opts.foreground = true;
                        break;
                case 'h':
                        cmd_help(&cmd_start, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&cmd_start);
                }
        }
        if (optind != argc - 1)
                return cmd_usage_error(&cmd_start, "expected one container name");
        name = argv[optind];
        if (lodge_name_check(name, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);
        opts.warn = cmd_warn;
        opts.userdata = (void *)name;
        if (lodge_container_start(&g->paths, name, &opts, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        /* Foreground: the console until the guest stops (Ctrl-a q leaves it running). */
        if (opts.foreground && lodge_container_console(&g->paths, name, 0, false, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_start = {
        .name = "start",
        .summary = "Boot a container's init; returns once it runs",
        .usage = "NAME [-F|--foreground]",
        .options = "  -F, --foreground        stay on the guest's console until it stops\n",
        .run = run_start,
};

static int run_monitor(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;

        lodge_monitor_resume(&g->paths, argc - 1, argv + 1, &err);
        return cmd_fail(&err, NULL, CMD_EXIT_USAGE);
}

/* Hidden: not in the command list; see lodge_monitor_resume(). */
const struct lodge_cmd cmd_monitor = {
        .name = "__monitor",
        .summary = "(internal) the monitor of a guest whose init has ended",
        .usage = "PROTOCOL NAME SI_CODE SI_STATUS TTYS VIEWERS",
        .run = run_monitor,
};
