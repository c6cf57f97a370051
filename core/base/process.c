/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/process.h"

#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t clone_child(uint64_t ns_flags, int cgroup_fd, int *ret_pidfd, bool *ret_in_cgroup)
{
        struct clone_args args = {
                .flags = ns_flags | (ret_pidfd ? CLONE_PIDFD : 0) |
                         (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
                .pidfd = (uint64_t)(uintptr_t)ret_pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0,
        };
        long pid;

        pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid >= 0) {
                if (ret_in_cgroup)
                        *ret_in_cgroup = cgroup_fd >= 0;
                return (pid_t)pid;
        }
        if (errno != ENOSYS)
                return -errno;

        /* FIXME(kernel < 5.3): no clone3; clone's parent_tid slot takes the pidfd. */
        if (ret_in_cgroup)
                *ret_in_cgroup = false;
        pid = syscall(SYS_clone, (unsigned long)ns_flags | (ret_pidfd ? CLONE_PIDFD : 0) | SIGCHLD,
                      NULL, ret_pidfd, NULL, 0);
        return pid < 0 ? -errno : (pid_t)pid;
}
