/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: the per-guest monitor process. */

#include <sys/types.h>

#include "core/cgroup.h"
#include "core/config.h"
#include "core/container.h"

#define CONSOLE_RING_SIZE (128 * 1024)
#define MONITOR_SOCKET "monitor.sock"

/* What the monitor tells the client once init runs (code 0) or failed. */
struct start_report {
        int code;
        pid_t init_pid;
        char msg[1024];
};

struct monitor_args {
        const struct lodge_paths *paths;
        const char *name;
        const struct lodge_config *cfg;
        const char *rootfs;
        char **argv; /* init */
        char **envp;
        int stop_signal;
        int report_fd; /* pipe to the waiting client, closed once reported */
        int rundir_fd;
};

/* Runs in a forked, detached process: starts the guest, reports to the
 * client, serves monitor.sock (console viewers, the console log), reaps init
 * (starting it again when the guest rebooted), records how it ended, and
 * removes its cgroups and run files. Never returns. */
_Noreturn void monitor_main(const struct monitor_args *a);
