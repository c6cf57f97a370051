/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: the per-guest monitor process. */

#include <sys/types.h>

#include "core/cgroup.h"
#include "core/config.h"
#include "core/container.h"
#include "core/monitor-serve.h"

struct seccomp_filter;

/* In the run directory: the guest's seccomp filter (seccomp_filter_save()),
 * and the config it was started with, for attach to confine as init was. */
#define SECCOMP_SAVED "seccomp.bpf"
#define CONFIG_SAVED "config"
/* And the host's cgroup hierarchies the guest's cgroups are in (cg_host_format()). */
#define CGROUPS_SAVED "cgroups"

/* What the monitor tells the client once init runs (code 0) or failed. */
struct start_report {
        int code;
        pid_t init_pid;
        char msg[1024];
};

/* What starting a guest takes, from its config (owned: monitor_args_done). */
struct monitor_args {
        const struct lodge_paths *paths;
        const char *name;
        struct lodge_config *cfg;
        /* From security.seccomp: a policy file's made by the client, the built-in
         * one by the monitor (send_seccomp() in monitor.c); NULL until then, or
         * for none. */
        struct seccomp_filter *seccomp;
        char *rootfs; /* where the guest's rootfs is mounted (an empty directory) */
        int cdirfd;   /* the container's directory (set by monitor_args_load) */
        char **argv;  /* init */
        char **envp;
        int stop_signal;
        int report_fd; /* pipe to the waiting client, closed once reported; or < 0 */
        int rundir_fd;
};

/* Fill a (paths, name, report_fd and rundir_fd already set) from the config in
 * the container's directory cdirfd; checks that init is in the rootfs. */
int monitor_args_load(struct monitor_args *a, int cdirfd, struct lodge_error **err);
void monitor_args_done(struct monitor_args *a);

/* An O_PATH fd of the lodge-monitor executable lodge uses, or -ENOENT. */
int monitor_exe_open(void);

/* Runs in a forked, detached process: starts the guest, reports to the
 * client, then becomes lodge-monitor (or serves monitor.sock itself when it
 * can't), reaps init (starting it again when the guest rebooted), records how
 * it ended, and removes its cgroups and run files. Never returns. */
_Noreturn void monitor_main(const struct monitor_args *a);

/* lodge-monitor execs lodge again once init has ended (with the descriptors
 * of MONITOR_FD_*): what monitor_main does from there on. ttys and viewers:
 * the arguments of that name in core/monitor-serve.h. Returns only on bad
 * arguments. */
int monitor_resume(const struct lodge_paths *p, const char *name, const siginfo_t *si,
                   const char *ttys, const char *viewers, struct lodge_error **err);
