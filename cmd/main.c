/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config.h"
#include "core/base/cleanup.h"
#include "core/base/log.h"

/* The only list of subcommands: help text and dispatch both come from here. */
static const struct lodge_cmd *const commands[] = {
        &cmd_create,        &cmd_start,     &cmd_stop,
        &cmd_restart,       &cmd_attach,    &cmd_console,
        &cmd_freeze,        &cmd_unfreeze,  &cmd_wait,
        &cmd_list,          &cmd_info,      &cmd_config,
        &cmd_destroy,       &cmd_copy,      &cmd_snapshot,
        &cmd_snapshot_list, &cmd_restore,   &cmd_snapshot_delete,
        &cmd_check,         &cmd_autostart, &cmd_version,
        &cmd_network,       &cmd_image,
};

static void usage(FILE *out)
{
        fputs("usage: lodge [--root DIR] [--debug] [--quiet] COMMAND [ARGS...]\n"
              "\n"
              "Manage system containers: Linux guests that boot their own init.\n"
              "\n"
              "commands:\n",
              out);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(out, "  %-15s %s\n", commands[i]->name, commands[i]->summary);
        fputs("  help         Show help for lodge or a command\n"
              "\n"
              "global options:\n"
              "  --root DIR      keep containers in DIR (default $LODGE_ROOT or /var/lib/lodge)\n"
              "  --debug         print debug messages\n"
              "  -q, --quiet     print only errors and warnings; no progress\n"
              "  -h, --help      show this help\n"
              "  -V, --version   show the version\n"
              "\n"
              "Run 'lodge COMMAND --help' for a command's options.\n",
              out);
}

static const struct lodge_cmd *find_command(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(name, commands[i]->name) == 0)
                        return commands[i];
        return NULL;
}

static int run_help(int argc, char **argv)
{
        const struct lodge_cmd *c;

        if (argc < 2) {
                usage(stdout);
                return CMD_EXIT_OK;
        }
        c = find_command(argv[1]);
        if (!c) {
                fprintf(stderr, "lodge: help: unknown command '%s'\n", argv[1]);
                return CMD_EXIT_USAGE;
        }
        cmd_help(c, stdout);
        return CMD_EXIT_OK;
}

static void set_log_level(const struct lodge_global_opts *g)
{
        const char *env = secure_getenv("LODGE_LOG_LEVEL");
        int level;

        if (g->debug)
                lodge_log_set_level(LODGE_LOG_DEBUG);
        else if (g->quiet)
                lodge_log_set_level(LODGE_LOG_WARN);
        else if (env && (level = lodge_log_level_from_string(env)) >= 0)
                lodge_log_set_level((enum lodge_log_level)level);
        else
                lodge_log_set_level(LODGE_LOG_INFO);
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "root", required_argument, NULL, 'r' }, { "debug", no_argument, NULL, 'd' },
                { "quiet", no_argument, NULL, 'q' },      { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },    {},
        };
        cleanup_error struct lodge_error *err = NULL;
        struct lodge_global_opts g = { .argv = argv };
        const struct lodge_cmd *c;
        const char *root = NULL;
        int opt, status;

        /* Descriptors a caller leaked to us must never reach a guest or a helper. */
        (void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

        /* "+": stop at the command; its options are its own. */
        while ((opt = getopt_long(argc, argv, "+qhV", longopts, NULL)) >= 0) {
                switch (opt) {
                case 'r':
                        root = optarg;
                        break;
                case 'd':
                        g.debug = true;
                        break;
                case 'q':
                        g.quiet = true;
                        break;
                case 'h':
                        usage(stdout);
                        return CMD_EXIT_OK;
                case 'V':
                        printf("lodge %s\n", LODGE_VERSION);
                        return CMD_EXIT_OK;
                default:
                        fputs("Try 'lodge --help' for more.\n", stderr);
                        return CMD_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return CMD_EXIT_USAGE;
        }
        set_log_level(&g);

        if (strcmp(argv[optind], "help") == 0)
                return run_help(argc - optind, argv + optind);
        c = find_command(argv[optind]);
        if (!c && strcmp(argv[optind], cmd_monitor.name) == 0)
                c = &cmd_monitor;
        if (!c) {
                fprintf(stderr, "lodge: unknown command '%s'\nTry 'lodge --help' for more.\n",
                        argv[optind]);
                return CMD_EXIT_USAGE;
        }
        if (root && !*root) {
                fputs("lodge: --root: empty directory name\n", stderr);
                return CMD_EXIT_USAGE;
        }
        if (lodge_paths_init(&g.paths, root, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);

        /* Each command parses its own options, from its own name on. */
        argc -= optind;
        argv += optind;
        optind = 0;
        status = c->run(argc, argv, &g);
        lodge_paths_done(&g.paths);
        return status;
}
