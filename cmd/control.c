/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/log.h"
#include "core/base/parse.h"
#include "core/base/strv.h"

/* The small verbs on a running guest: freeze, unfreeze, restart, wait, autostart. */

/* Parse "NAME" with only --help; returns the name, or NULL with *status set. */
static const char *one_name(const struct lodge_cmd *cmd, int argc, char **argv, int *status)
{
        static const struct option longopts[] = {
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                if (c == 'h') {
                        cmd_help(cmd, stdout);
                        *status = CMD_EXIT_OK;
                } else {
                        *status = cmd_bad_option(cmd);
                }
                return NULL;
        }
        if (optind != argc - 1) {
                *status = cmd_usage_error(cmd, "expected one container name");
                return NULL;
        }
        if (lodge_name_check(argv[optind], &err) < 0) {
                *status = cmd_fail(&err, NULL, CMD_EXIT_USAGE);
                return NULL;
        }
        return argv[optind];
}

static int freeze(int argc, char **argv, const struct lodge_global_opts *g, bool frozen)
{
        cleanup_error struct lodge_error *err = NULL;
        int status;
        const char *name = one_name(frozen ? &cmd_freeze : &cmd_unfreeze, argc, argv, &status);

        if (!name)
                return status;
        if (lodge_container_freeze(&g->paths, name, frozen, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

static int run_freeze(int argc, char **argv, const struct lodge_global_opts *g)
{
        return freeze(argc, argv, g, true);
}

static int run_unfreeze(int argc, char **argv, const struct lodge_global_opts *g)
{
        return freeze(argc, argv, g, false);
}

static int run_restart(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;
        char ended[16];
        int status;
        const char *name = one_name(&cmd_restart, argc, argv, &status);

        if (!name)
                return status;
        if (lodge_container_stop(&g->paths, name, &(struct lodge_stop_options){ 0 }, ended, &err) <
                    0 &&
            err->code != ESRCH)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        lodge_error_free(&err);
        if (lodge_container_start(
                    &g->paths, name,
                    &(struct lodge_start_options){ .warn = cmd_warn, .userdata = (void *)name },
                    &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

static int run_wait(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "timeout", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        enum lodge_state state;
        int timeout_ms = -1, c;
        uint64_t t;

        while ((c = getopt_long(argc, argv, "t:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 't':
                        if (parse_u64_range(optarg, 0, 86400, &t) < 0)
                                return cmd_usage_error(&cmd_wait, "bad timeout '%s'", optarg);
                        timeout_ms = (int)t * 1000;
                        break;
                case 'h':
                        cmd_help(&cmd_wait, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&cmd_wait);
                }
        }
        if (optind != argc - 2)
                return cmd_usage_error(&cmd_wait, "expected a container name and a state");
        if (lodge_name_check(argv[optind], &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);
        if (lodge_state_from_string(argv[optind + 1], &state) < 0 || state == LODGE_STATE_BROKEN)
                return cmd_usage_error(&cmd_wait, "unknown state '%s'", argv[optind + 1]);
        if (lodge_container_wait(&g->paths, argv[optind], state, timeout_ms, &err) < 0)
                return cmd_fail(&err, argv[optind], CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

static int run_autostart(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        cleanup_strv char **failed = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                if (c == 'h') {
                        cmd_help(&cmd_autostart, stdout);
                        return CMD_EXIT_OK;
                }
                return cmd_bad_option(&cmd_autostart);
        }
        if (optind != argc)
                return cmd_usage_error(&cmd_autostart, "unexpected argument '%s'", argv[optind]);
        if (lodge_autostart(&g->paths, &failed, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);
        STRV_FOREACH (f, failed)
                log_error("%s", *f);
        return failed ? CMD_EXIT_FAILURE : CMD_EXIT_OK;
}

const struct lodge_cmd cmd_freeze = {
        .name = "freeze",
        .summary = "Stop every process of a running container in place",
        .usage = "NAME",
        .run = run_freeze,
};

const struct lodge_cmd cmd_unfreeze = {
        .name = "unfreeze",
        .summary = "Let a frozen container run again",
        .usage = "NAME",
        .run = run_unfreeze,
};

const struct lodge_cmd cmd_restart = {
        .name = "restart",
        .summary = "Stop a container cleanly (if it runs) and start it again",
        .usage = "NAME",
        .run = run_restart,
};

const struct lodge_cmd cmd_wait = {
        .name = "wait",
        .summary = "Wait until a container is RUNNING, STOPPED or FROZEN",
        .usage = "NAME STATE [-t|--timeout SECONDS]",
        .options = "  -t, --timeout SECONDS   give up (exit 1) after this long\n",
        .run = run_wait,
};

const struct lodge_cmd cmd_autostart = {
        .name = "autostart",
        .summary = "Start the containers marked autostart, in their order (run at boot)",
        .usage = "",
        .run = run_autostart,
};
