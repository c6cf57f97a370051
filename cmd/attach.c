/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/log.h"
#include "core/base/strv.h"

/* Options may come before and after the name; "--" or the first other word
 * starts the command. Returns -1 to go on, else an exit status. */
static int parse_options(int argc, char **argv, struct lodge_attach_options *opts, char ***env)
{
        static const struct option longopts[] = {
                { "user", required_argument, NULL, 'u' }, { "cwd", required_argument, NULL, 'C' },
                { "env", required_argument, NULL, 'e' },  { "keep-env", no_argument, NULL, 'K' },
                { "help", no_argument, NULL, 'h' },       {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "+u:e:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 'u':
                        opts->user = optarg;
                        break;
                case 'C':
                        opts->cwd = optarg;
                        break;
                case 'e':
                        if (!strchr(optarg, '=') || optarg[0] == '=')
                                return cmd_usage_error(&cmd_attach, "-e wants KEY=VALUE, not '%s'",
                                                       optarg);
                        if (strv_extend(env, optarg) < 0) {
                                log_error("out of memory");
                                return CMD_EXIT_FAILURE;
                        }
                        break;
                case 'K':
                        opts->keep_env = true;
                        break;
                case 'h':
                        cmd_help(&cmd_attach, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&cmd_attach);
                }
        }
        return -1;
}

static int run_attach(int argc, char **argv, const struct lodge_global_opts *g)
{
        struct lodge_attach_options opts = { 0 };
        cleanup_error struct lodge_error *err = NULL;
        cleanup_strv char **env = NULL;
        const char *name;
        int status = 1, r, rest;

        r = parse_options(argc, argv, &opts, &env);
        if (r >= 0)
                return r;
        if (optind >= argc)
                return cmd_usage_error(&cmd_attach, "expected a container name");
        name = argv[optind];
        /* Again after the name, as from a new argv[0]. */
        rest = optind;
        optind = 0;
        r = parse_options(argc - rest, argv + rest, &opts, &env);
        if (r >= 0)
                return r;
        rest += optind;
        if (rest < argc)
                opts.argv = argv + rest;
        opts.env = env;
        opts.self_argv = g->argv;
        if (lodge_name_check(name, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);

        if (lodge_container_attach(&g->paths, name, &opts, &status, &err) < 0) {
                (void)cmd_fail(&err, name, CMD_EXIT_FAILURE);
                return status ? status : CMD_EXIT_FAILURE;
        }
        return status;
}

const struct lodge_cmd cmd_attach = {
        .name = "attach",
        .summary = "Run a command (default: a login shell) inside a running container",
        .usage = "NAME [-u USER] [--cwd DIR] [-e KEY=VALUE]... [--keep-env] [-- CMD ARGS...]",
        .options = "  -u, --user USER         run as this user of the guest (name or uid)\n"
                   "      --cwd DIR           start in DIR (default: the user's home)\n"
                   "  -e, --env KEY=VALUE     set a variable (repeatable)\n"
                   "      --keep-env          start from this environment, not a clean one\n"
                   "The command's exit status becomes lodge's.\n",
        .run = run_attach,
};
