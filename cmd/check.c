/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/json.h"

static int run_check(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "format", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        enum cmd_format fmt = CMD_FORMAT_TABLE;
        struct lodge_check_item *l = NULL;
        bool missing = false;
        size_t n = 0;
        int c;

        (void)g;
        while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        if (cmd_parse_format(optarg, &fmt) < 0)
                                return cmd_usage_error(&cmd_check, "unknown format '%s'", optarg);
                        break;
                case 'h':
                        cmd_help(&cmd_check, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&cmd_check);
                }
        }
        if (optind != argc)
                return cmd_usage_error(&cmd_check, "unexpected argument '%s'", argv[optind]);
        if (lodge_check(&g->paths, &l, &n, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);

        if (fmt == CMD_FORMAT_JSON) {
                fputc('[', stdout);
                for (size_t i = 0; i < n; i++) {
                        fputs(i ? ",{\"layer\":" : "{\"layer\":", stdout);
                        json_print_string(stdout, l[i].layer);
                        fputs(",\"state\":", stdout);
                        json_print_string(stdout, lodge_check_state_to_string(l[i].state));
                        fputs(",\"detail\":", stdout);
                        json_print_string(stdout, l[i].detail);
                        fputc('}', stdout);
                }
                fputs("]\n", stdout);
        } else {
                printf("%-16s %-8s %s\n", "LAYER", "STATE", "DETAIL");
                for (size_t i = 0; i < n; i++)
                        printf("%-16s %-8s %s\n", l[i].layer,
                               lodge_check_state_to_string(l[i].state), l[i].detail);
        }
        for (size_t i = 0; i < n; i++)
                missing |= l[i].state == LODGE_CHECK_MISSING;
        lodge_check_free(l, n);
        return missing ? CMD_EXIT_FAILURE : CMD_EXIT_OK;
}

const struct lodge_cmd cmd_check = {
        .name = "check",
        .summary = "Show what confines a guest on this host, layer by layer",
        .usage = "[--format table|json]",
        .options = "  -f, --format FORMAT     table (default) or json\n"
                   "\n"
                   "States: ok; warn (guests run, with less protection than lodge aims for);\n"
                   "missing (guests can't start here; the exit status is then 1).\n",
        .run = run_check,
};
