/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* snapshot, snapshot-list, restore, snapshot-delete. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cmd/cmd.h"
#include "core/base/interrupt.h"

/* Options --help/-h (and for snapshot --freeze, for the list --format); the
 * positional arguments must be between min and max, a container name and a
 * snapshot name. Returns -1 to go on, else the exit status (0 after --help). */
static int parse(const struct lodge_cmd *cmd, int argc, char **argv, int min, int max, bool *freeze,
                 enum cmd_format *format)
{
        static const struct option longopts[] = {
                { "freeze", no_argument, NULL, 'f' },
                { "format", required_argument, NULL, 'F' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                if (c == 'h') {
                        cmd_help(cmd, stdout);
                        return CMD_EXIT_OK;
                } else if (c == 'f' && freeze) {
                        *freeze = true;
                } else if (c == 'F' && format) {
                        if (cmd_parse_format(optarg, format) < 0)
                                return cmd_usage_error(cmd, "--format: table or json");
                } else {
                        return cmd_bad_option(cmd);
                }
        }
        if (argc - optind < min || argc - optind > max)
                return cmd_usage_error(cmd, "expected %s", cmd->usage);
        if (lodge_name_check(argv[optind], &err) < 0 ||
            (optind + 1 < argc && lodge_snapshot_name_check(argv[optind + 1], &err) < 0))
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);
        return -1;
}

#define PARSE(cmd, min, max, freeze, format)                                                       \
        do {                                                                                       \
                int _r = parse(cmd, argc, argv, min, max, freeze, format);                         \
                if (_r >= 0)                                                                       \
                        return _r;                                                                 \
        } while (0)

static int run_snapshot(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *made = NULL;
        bool freeze = false;

        PARSE(&cmd_snapshot, 1, 2, &freeze, NULL);
        interrupt_install();
        if (lodge_container_snapshot(&g->paths, argv[optind],
                                     optind + 1 < argc ? argv[optind + 1] : NULL, freeze, &made,
                                     &err) < 0)
                return cmd_fail(&err, argv[optind], CMD_EXIT_FAILURE);
        if (!g->quiet)
                printf("made snapshot '%s' of '%s'\n", made, argv[optind]);
        return CMD_EXIT_OK;
}

static int run_snapshot_list(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;
        enum cmd_format format = CMD_FORMAT_TABLE;
        struct lodge_snapshot *v = NULL;
        size_t n = 0;

        PARSE(&cmd_snapshot_list, 1, 1, NULL, &format);
        if (lodge_container_snapshot_list(&g->paths, argv[optind], &v, &n, &err) < 0)
                return cmd_fail(&err, argv[optind], CMD_EXIT_FAILURE);
        if (format == CMD_FORMAT_JSON) {
                fputc('[', stdout);
                for (size_t i = 0; i < n; i++)
                        printf("%s{\"name\":\"%s\",\"created\":%lld,\"size\":%llu}", i ? "," : "",
                               v[i].name, (long long)v[i].created, (unsigned long long)v[i].size);
                fputs("]\n", stdout);
        } else {
                printf("%-24s %-20s %s\n", "NAME", "CREATED", "SIZE");
                for (size_t i = 0; i < n; i++) {
                        char when[32] = "-";
                        time_t t = (time_t)v[i].created;
                        struct tm tm;

                        if (t && localtime_r(&t, &tm))
                                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                        printf("%-24s %-20s %.1f MiB\n", v[i].name, when,
                               (double)v[i].size / (1 << 20));
                }
        }
        lodge_snapshot_list_free(v, n);
        return CMD_EXIT_OK;
}

static int run_restore(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;

        PARSE(&cmd_restore, 2, 2, NULL, NULL);
        interrupt_install();
        if (lodge_container_restore(&g->paths, argv[optind], argv[optind + 1], &err) < 0)
                return cmd_fail(&err, argv[optind], CMD_EXIT_FAILURE);
        if (!g->quiet)
                printf("restored '%s' from snapshot '%s'\n", argv[optind], argv[optind + 1]);
        return CMD_EXIT_OK;
}

static int run_snapshot_delete(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;

        PARSE(&cmd_snapshot_delete, 2, 2, NULL, NULL);
        if (lodge_container_snapshot_delete(&g->paths, argv[optind], argv[optind + 1], &err) < 0)
                return cmd_fail(&err, argv[optind], CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_snapshot = {
        .name = "snapshot",
        .summary = "Snapshot a container's rootfs and config",
        .usage = "NAME [SNAP] [--freeze]",
        .options = "      --freeze            freeze a running container while it is taken\n"
                   "                          (a running one is refused without it)\n",
        .run = run_snapshot,
};

const struct lodge_cmd cmd_snapshot_list = {
        .name = "snapshot-list",
        .summary = "List a container's snapshots",
        .usage = "NAME [--format table|json]",
        .options = "      --format FORMAT     table (default) or json\n",
        .run = run_snapshot_list,
};

const struct lodge_cmd cmd_restore = {
        .name = "restore",
        .summary = "Put a stopped container back as it was in a snapshot",
        .usage = "NAME SNAP",
        .run = run_restore,
};

const struct lodge_cmd cmd_snapshot_delete = {
        .name = "snapshot-delete",
        .summary = "Remove a snapshot",
        .usage = "NAME SNAP",
        .run = run_snapshot_delete,
};
