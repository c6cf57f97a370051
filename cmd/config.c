/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"

static int show(const struct lodge_global_opts *g, const char *name, const char *key)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *text = NULL;
        const char *value;

        if (lodge_container_config_load(&g->paths, name, &cfg, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        if (!key) {
                if (lodge_config_format(cfg, &text, &err) < 0)
                        return cmd_fail(&err, name, CMD_EXIT_FAILURE);
                fputs(text, stdout);
                return CMD_EXIT_OK;
        }
        if (lodge_config_get(cfg, key, &value, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        printf("%s\n", value);
        return CMD_EXIT_OK;
}

static int run_config(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *key = NULL;
        const char *name, *verb, *value = NULL;
        int c, nargs;

        /* "+": a value such as "-1" after the verb is not an option. */
        while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) >= 0) {
                if (c == 'h') {
                        cmd_help(&cmd_config, stdout);
                        return CMD_EXIT_OK;
                }
                return cmd_bad_option(&cmd_config);
        }
        nargs = argc - optind;
        if (nargs < 2)
                return cmd_usage_error(&cmd_config, "expected a container name and an action");
        name = argv[optind];
        verb = argv[optind + 1];
        if (lodge_name_check(name, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);

        if (strcmp(verb, "show") == 0) {
                if (nargs != 2)
                        return cmd_usage_error(&cmd_config, "show takes no arguments");
                return show(g, name, NULL);
        }
        if (strcmp(verb, "get") == 0) {
                if (nargs != 3)
                        return cmd_usage_error(&cmd_config, "get takes one key");
                return show(g, name, argv[optind + 2]);
        }
        if (strcmp(verb, "unset") == 0) {
                if (nargs != 3)
                        return cmd_usage_error(&cmd_config, "unset takes one key");
                key = strdup(argv[optind + 2]);
        } else if (strcmp(verb, "set") == 0) {
                if (nargs == 4) {
                        key = strdup(argv[optind + 2]);
                        value = argv[optind + 3];
                } else if (nargs == 3 && strchr(argv[optind + 2], '=')) {
                        /* "set KEY=VALUE" */
                        char *eq;

                        key = strdup(argv[optind + 2]);
                        if (key) {
                                eq = strchr(key, '=');
                                *eq = '\0';
                                value = argv[optind + 2] + (eq - key) + 1;
                        }
                } else {
                        return cmd_usage_error(&cmd_config, "set takes a key and a value");
                }
        } else {
                return cmd_usage_error(&cmd_config, "unknown action '%s'", verb);
        }
        if (!key) {
                fputs("lodge: out of memory\n", stderr);
                return CMD_EXIT_FAILURE;
        }
        if (lodge_container_config_update(&g->paths, name, key, value, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_config = {
        .name = "config",
        .summary = "Show or change a container's config",
        .usage = "NAME show\n"
                 "NAME get KEY\n"
                 "NAME set KEY VALUE\n"
                 "NAME set KEY=VALUE\n"
                 "NAME unset KEY",
        .run = run_config,
};
