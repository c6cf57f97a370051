/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/strv.h"

static char *join_ipv4(char *const *l)
{
        size_t len = 1;
        char *s;

        STRV_FOREACH (a, l)
                len += strlen(*a) + 2;
        s = calloc(1, len);
        if (!s)
                return NULL;
        STRV_FOREACH (a, l) {
                if (*s)
                        strcat(s, ", ");
                strcat(s, *a);
        }
        return s;
}

static void print_table(const struct lodge_container_info *l, size_t n)
{
        int wname = 4, wstate = 5, wback = 7;

        for (size_t i = 0; i < n; i++) {
                int a = (int)strlen(l[i].name);
                int b = (int)strlen(lodge_state_to_string(l[i].state));
                int c = l[i].backend ? (int)strlen(l[i].backend) : 1;

                wname = a > wname ? a : wname;
                wstate = b > wstate ? b : wstate;
                wback = c > wback ? c : wback;
        }
        printf("%-*s  %-*s  %-*s  %-20s  %-9s  %s\n", wname, "NAME", wstate, "STATE", wback,
               "BACKEND", "IPV4", "AUTOSTART", "SECURITY");
        for (size_t i = 0; i < n; i++) {
                cleanup_free char *ip = join_ipv4(l[i].ipv4);

                printf("%-*s  %-*s  %-*s  %-20s  %-9s  %s\n", wname, l[i].name, wstate,
                       lodge_state_to_string(l[i].state), wback, l[i].backend ? l[i].backend : "-",
                       ip && *ip ? ip : "-", l[i].autostart ? "yes" : "no",
                       l[i].state == LODGE_STATE_BROKEN ? "-"
                       : l[i].privileged                ? "PRIVILEGED"
                                                        : "userns");
        }
}

static int run_list(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "format", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        enum cmd_format format = CMD_FORMAT_TABLE;
        struct lodge_container_info *l = NULL;
        size_t n = 0;
        int c;

        while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        if (cmd_parse_format(optarg, &format) < 0)
                                return cmd_usage_error(&cmd_list, "unknown format '%s'", optarg);
                        break;
                case 'h':
                        cmd_help(&cmd_list, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&cmd_list);
                }
        }
        if (optind != argc)
                return cmd_usage_error(&cmd_list, "unexpected argument '%s'", argv[optind]);

        if (lodge_container_list(&g->paths, &l, &n, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);
        if (format == CMD_FORMAT_JSON) {
                fputc('[', stdout);
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                fputc(',', stdout);
                        cmd_json_container(stdout, &l[i]);
                }
                fputs("]\n", stdout);
        } else {
                print_table(l, n);
        }
        lodge_container_list_free(l, n);
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_list = {
        .name = "list",
        .summary = "List containers and their state",
        .usage = "[--format table|json]",
        .options = "  -f, --format FORMAT     table (default) or json\n",
        .run = run_list,
};
