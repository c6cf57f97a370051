/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/container.h"

/* Options shared by every subcommand, parsed once in main.c (the second
 * sanctioned global, passed down explicitly). */
struct lodge_global_opts {
        bool debug;
        bool quiet;
        struct lodge_paths paths;
        char *const *argv; /* lodge's own, whole, for a command that must exec itself again */
};

/* One of these per file in cmd/. run() returns a process exit status. */
struct lodge_cmd {
        const char *name;
        const char *summary; /* one line, shown by "lodge help" */
        const char *usage;   /* what follows "lodge NAME", one form per line */
        const char *options; /* option lines for --help, or NULL */
        int (*run)(int argc, char **argv, const struct lodge_global_opts *g);
};

extern const struct lodge_cmd cmd_attach, cmd_autostart, cmd_check, cmd_config, cmd_console,
        cmd_freeze, cmd_restart, cmd_unfreeze, cmd_wait, cmd_create, cmd_destroy, cmd_info,
        cmd_list, cmd_network, cmd_start, cmd_stop, cmd_version, cmd_monitor, cmd_image, cmd_copy,
        cmd_snapshot, cmd_snapshot_list, cmd_restore, cmd_snapshot_delete;

/* Exit statuses shared by all subcommands. */
enum {
        CMD_EXIT_OK = 0,
        CMD_EXIT_FAILURE = 1,
        CMD_EXIT_USAGE = 2,
};

/* Full help of a command: usage forms, summary, options. */
void cmd_help(const struct lodge_cmd *c, FILE *out);

/* "lodge: CMD: <msg>" and the usage forms on stderr; returns CMD_EXIT_USAGE. */
int cmd_usage_error(const struct lodge_cmd *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Print err prefixed with the container name ("lodge: NAME: …: why") and
 * return status (CMD_EXIT_FAILURE or CMD_EXIT_USAGE). */
int cmd_fail(struct lodge_error **err, const char *name, int status);

/* A lodge_warning_cb: "lodge: warning: NAME: msg", userdata the container name. */
void cmd_warn(const char *msg, void *userdata);

/* getopt_long's "missing/unknown option" already printed: add the usage. */
int cmd_bad_option(const struct lodge_cmd *c);

/* The documented, stable JSON object of one container (docs/cli.md). */
void cmd_json_container(FILE *out, const struct lodge_container_info *i);

enum cmd_format {
        CMD_FORMAT_TABLE,
        CMD_FORMAT_JSON,
};
/* "table" or "json"; -EINVAL otherwise. */
int cmd_parse_format(const char *s, enum cmd_format *ret);

/* Progress on stderr, only when it is a terminal and not --quiet. */
struct cmd_progress {
        bool enabled; /* the progress line, on a terminal */
        bool steps;   /* named steps (done and total 0) as lines where there is no terminal */
        uint64_t start_ms;
        uint64_t last_ms;
        bool shown;
};
void cmd_progress_init(struct cmd_progress *p, const struct lodge_global_opts *g);
void cmd_progress_cb(const char *what, uint64_t done, uint64_t total, void *userdata);
void cmd_progress_done(struct cmd_progress *p);
