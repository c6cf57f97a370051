/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/base/interrupt.h"
#include "core/base/strv.h"

static int run_copy(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "snapshot", no_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        cleanup_strv char **warnings = NULL;
        bool snapshot = false;
        int c;

        while ((c = getopt_long(argc, argv, "sh", longopts, NULL)) >= 0) {
                switch (c) {
                case 's':
                        snapshot = true;
                        break;
                case 'h':
                        cmd_help(&cmd_copy, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&cmd_copy);
                }
        }
        if (optind != argc - 2)
                return cmd_usage_error(&cmd_copy, "expected the source and the new name");
        if (lodge_name_check(argv[optind], &err) < 0 ||
            lodge_name_check(argv[optind + 1], &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);

        interrupt_install();
        if (lodge_container_copy(&g->paths, argv[optind], argv[optind + 1], snapshot, &warnings,
                                 &err) < 0)
                return cmd_fail(&err, argv[optind + 1], CMD_EXIT_FAILURE);
        STRV_FOREACH (w, warnings)
                cmd_warn(*w, argv[optind + 1]);
        if (!g->quiet)
                printf("copied '%s' to '%s'\n", argv[optind], argv[optind + 1]);
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_copy = {
        .name = "copy",
        .summary = "Make a new container from a stopped one (new name, MACs, ids, machine-id)",
        .usage = "SRC DST [-s|--snapshot]",
        .options = "  -s, --snapshot          share the data copy-on-write (btrfs, overlay, or a\n"
                   "                          filesystem with reflinks), never a full copy\n",
        .run = run_copy,
};
