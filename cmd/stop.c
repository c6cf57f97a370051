/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/log.h"
#include "core/base/parse.h"

static int run_stop(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "timeout", required_argument, NULL, 't' },
                { "kill", no_argument, NULL, 'k' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        struct lodge_stop_options opts = { 0 };
        char ended[16] = "";
        const char *name;
        uint64_t t;
        int c;

        while ((c = getopt_long(argc, argv, "t:kh", longopts, NULL)) >= 0) {
                switch (c) {
                case 't':
                        if (parse_u64_range(optarg, 1, 86400, &t) < 0)
                                return cmd_usage_error(&cmd_stop, "bad timeout '%s'", optarg);
                        opts.timeout = (unsigned)t;
                        break;
                case 'k':
                        opts.kill = true;
                        break;
                case 'h':
                        cmd_help(&cmd_stop, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&cmd_stop);
                }
        }
        if (optind != argc - 1)
                return cmd_usage_error(&cmd_stop, "expected one container name");
        name = argv[optind];
        if (lodge_name_check(name, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);
        if (lodge_container_stop(&g->paths, name, &opts, ended, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        if (!opts.kill && ended[0] && strcmp(ended, "clean") != 0)
                log_warn("%s: did not shut down cleanly (%s)", name, ended);
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_stop = {
        .name = "stop",
        .summary = "Shut a container down through its init, killing it after a timeout",
        .usage = "NAME [-t|--timeout SECONDS] [-k|--kill]",
        .options = "  -t, --timeout SECONDS   wait this long for a clean shutdown (default 30)\n"
                   "  -k, --kill              kill at once, no clean shutdown\n",
        .run = run_stop,
};
