/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/base/strv.h"

static int list_templates(FILE *out)
{
        struct lodge_template_desc d[32];
        size_t n = lodge_templates_describe(d, ELEMENTSOF(d));

        for (size_t i = 0; i < n; i++)
                fprintf(out, "%-12s %s\n", d[i].name, d[i].summary);
        return CMD_EXIT_OK;
}

static int template_help(const char *name, FILE *out)
{
        struct lodge_template_desc d[32];
        size_t n = lodge_templates_describe(d, ELEMENTSOF(d));

        for (size_t i = 0; i < n; i++)
                if (strcmp(d[i].name, name) == 0) {
                        fprintf(out, "\ntemplate '%s': %s\n%s", d[i].name, d[i].summary,
                                d[i].usage);
                        return CMD_EXIT_OK;
                }
        fprintf(stderr, "lodge: create: unknown template '%s'\n", name);
        return CMD_EXIT_USAGE;
}

static void print_result(const char *message, char **warnings)
{
        STRV_FOREACH (w, warnings)
                log_warn("%s", *w);
        if (message && *message) {
                fputs(message, stdout);
                if (message[strlen(message) - 1] != '\n')
                        fputc('\n', stdout);
        }
}

static int run_create(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "template", required_argument, NULL, 't' },
                { "storage", required_argument, NULL, 's' },
                { "config", required_argument, NULL, 'c' },
                { "list-templates", no_argument, NULL, 'L' },
                { "user", required_argument, NULL, 'U' },
                { "ssh-key", required_argument, NULL, 'K' },
                { "password-hash", required_argument, NULL, 'P' },
                { "timezone", required_argument, NULL, 'Z' },
                { "file", required_argument, NULL, 'F' },
                { "run-once", required_argument, NULL, 'O' },
                { "provision", required_argument, NULL, 'V' },
                { "start", no_argument, NULL, 'S' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct lodge_create_options opts = { 0 };
        cleanup_error struct lodge_error *err = NULL;
        cleanup_strv char **config = NULL, **warnings = NULL, **files = NULL;
        cleanup_free char *message = NULL;
        cleanup_free char **targv = NULL;
        struct cmd_progress progress;
        bool help = false, start = false;
        const char *name;
        int dashdash = argc, c;

        /* Everything after "--" belongs to the template, untouched by getopt. */
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--") == 0) {
                        dashdash = i;
                        break;
                }

        while ((c = getopt_long(dashdash, argv, "t:s:c:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 't':
                        opts.template_name = optarg;
                        break;
                case 's':
                        opts.storage = optarg;
                        break;
                case 'c':
                        if (strv_extend(&config, optarg) < 0) {
                                log_error("out of memory");
                                return CMD_EXIT_FAILURE;
                        }
                        break;
                case 'L':
                        return list_templates(stdout);
                case 'U':
                        opts.user = optarg;
                        break;
                case 'K':
                        opts.ssh_key_file = optarg;
                        break;
                case 'P':
                        opts.password_hash = optarg;
                        break;
                case 'Z':
                        opts.timezone = optarg;
                        break;
                case 'F':
                        if (strv_extend(&files, optarg) < 0) {
                                log_error("out of memory");
                                return CMD_EXIT_FAILURE;
                        }
                        break;
                case 'O':
                        opts.run_once_file = optarg;
                        break;
                case 'V':
                        opts.provision_file = optarg;
                        break;
                case 'S':
                        start = true;
                        break;
                case 'h':
                        help = true;
                        break;
                default:
                        return cmd_bad_option(&cmd_create);
                }
        }
        if (help) {
                cmd_help(&cmd_create, stdout);
                return opts.template_name ? template_help(opts.template_name, stdout) : CMD_EXIT_OK;
        }
        if (optind != dashdash - 1)
                return cmd_usage_error(&cmd_create, "expected one container name");
        name = argv[optind];

        opts.template_argc = 1 + (dashdash < argc ? argc - dashdash - 1 : 0);
        targv = calloc((size_t)opts.template_argc + 1, sizeof(char *));
        if (!targv) {
                log_error("out of memory");
                return CMD_EXIT_FAILURE;
        }
        targv[0] = (char *)(opts.template_name ? opts.template_name : "local");
        for (int i = 1; i < opts.template_argc; i++)
                targv[i] = argv[dashdash + i];
        opts.template_argv = targv;
        opts.config = config;
        opts.files = files;

        /* Bad names, keys and template arguments are usage errors, found before
         * anything is written. */
        if (lodge_create_check(name, &opts, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_USAGE);

        cmd_progress_init(&progress, g);
        opts.progress = cmd_progress_cb;
        opts.userdata = &progress;
        interrupt_install();
        if (lodge_container_create(&g->paths, name, &opts, &message, &warnings, &err) < 0) {
                cmd_progress_done(&progress);
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        }
        cmd_progress_done(&progress);
        print_result(message, warnings);
        log_info("created container '%s'", name);
        if (start) {
                struct lodge_start_options so = { .warn = cmd_warn, .userdata = (void *)name };

                if (lodge_container_start(&g->paths, name, &so, &err) < 0)
                        return cmd_fail(&err, name, CMD_EXIT_FAILURE);
                log_info("started container '%s'", name);
        }
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_create = {
        .name = "create",
        .summary = "Create a container from a template",
        .usage = "NAME [-t TEMPLATE] [--storage dir|overlay|btrfs] [-c KEY=VALUE]... [-- TEMPLATE "
                 "ARGS...]\n"
                 "--list-templates\n"
                 "-t TEMPLATE --help",
        .options = "  -t, --template NAME     how to make the rootfs (default: local)\n"
                   "  -s, --storage BACKEND   where the rootfs lives: dir (a copy of the image),\n"
                   "                          overlay (the image shared below the guest's own\n"
                   "                          writes), btrfs (a snapshot of it); default: btrfs\n"
                   "                          on btrfs, else dir\n"
                   "  -c, --config KEY=VALUE  set a config key (repeatable)\n"
                   "      --list-templates    list the templates\n"
                   "First boot (files written into the new guest):\n"
                   "      --user NAME         add a user (uid from 1000, home 0700, in 'sudo')\n"
                   "      --ssh-key FILE      an authorized SSH key for the user, else for root\n"
                   "      --password-hash H   a crypt(3) hash (mkpasswd) for the user, else root\n"
                   "      --timezone TZ       /etc/localtime and /etc/timezone (Europe/Paris)\n"
                   "      --file SRC:DEST     copy a host file in (DEST may not be a symlink)\n"
                   "      --run-once SCRIPT   run once in the guest at its first boot; output on\n"
                   "                          the console, status in 'lodge info'\n"
                   "      --provision FILE    the same as 'key = value' lines (user, ssh-key,\n"
                   "                          password-hash, timezone, file, run-once)\n"
                   "      --start             start the guest once created\n",
        .run = run_create,
};
