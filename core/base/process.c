/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/process.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/fileio.h"

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

/* In the child: set up and exec, or report errno through errfd and exit. */
static _Noreturn void spawn_child(char *const *argv, bool new_mount_ns, pid_t parent, int outfd,
                                  int errfd)
{
        static char *const envp[] = {
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
                NULL
        };
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t none;
        int null, e;

        /* Dispositions set to "ignore" and the signal mask survive exec. */
        for (int sig = 1; sig < NSIG; sig++)
                (void)sigaction(sig, &dfl, NULL);
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);

        /* Never outlive lodge (killed, it can't clean up after us): a debootstrap left
         * running would write into a build directory the next builder removes. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
                e = errno ? errno : ESRCH;
                (void)write(errfd, &e, sizeof(e));
                _exit(127);
        }
        if (new_mount_ns &&
            (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)) {
                e = errno;
                (void)write(errfd, &e, sizeof(e));
                _exit(127);
        }
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0 && dup2(null, 0) >= 0 && dup2(outfd, 1) >= 0 && dup2(outfd, 2) >= 0) {
                /* Whatever the caller had open: nothing but 0-2 (and errfd, until exec). */
                (void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
                execve(argv[0], argv, envp);
        }
        e = errno;
        (void)write(errfd, &e, sizeof(e));
        _exit(127);
}

/* Read to the end, keeping the start, so the child never blocks on a full pipe. */
static size_t read_output(int fd, char out[static SPAWN_OUTPUT_MAX + 1])
{
        size_t len = 0;

        for (;;) {
                char buf[4096];
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (len < SPAWN_OUTPUT_MAX) {
                        size_t take = (size_t)n < SPAWN_OUTPUT_MAX - len ? (size_t)n
                                                                         : SPAWN_OUTPUT_MAX - len;
                        memcpy(out + len, buf, take);
                        len += take;
                }
        }
        out[len] = '\0';
        return len;
}

/* Fork the child; *ret_outfd reads its output, *ret_errfd its exec errno. */
static pid_t spawn_start(char *const *argv, bool new_mount_ns, int *ret_outfd, int *ret_errfd)
{
        int outp[2], errp[2], e;
        pid_t pid, parent;

        if (!argv || !argv[0] || argv[0][0] != '/')
                return -EINVAL;
        if (pipe2(outp, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(errp, O_CLOEXEC) < 0) {
                e = errno;
                close(outp[0]);
                close(outp[1]);
                return -e;
        }
        parent = getpid();
        pid = fork();
        if (pid < 0) {
                e = errno;
                close(outp[0]);
                close(outp[1]);
                close(errp[0]);
                close(errp[1]);
                return -e;
        }
        if (pid == 0)
                spawn_child(argv, new_mount_ns, parent, outp[1], errp[1]);
        close(outp[1]);
        close(errp[1]);
        *ret_outfd = outp[0];
        *ret_errfd = errp[0];
        return pid;
}

/* After the output's end: the exec error (as -errno) or the exit status. */
static int spawn_finish(pid_t pid, int errfd)
{
        int status, e = 0;

        if (read_all(errfd, &e, sizeof(e)) != (ssize_t)sizeof(e))
                e = 0;
        close(errfd);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (e > 0)
                return -e;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int spawn_wait(char *const *argv, char **ret_output)
{
        char out[SPAWN_OUTPUT_MAX + 1];
        int outfd = -EBADF, errfd = -EBADF, r;
        pid_t pid;

        pid = spawn_start(argv, false, &outfd, &errfd);
        if (pid < 0)
                return pid;
        (void)read_output(outfd, out);
        close(outfd);
        r = spawn_finish(pid, errfd);
        if (r < 0)
                return r;
        if (ret_output) {
                char *copy = strdup(out);

                if (!copy)
                        return -ENOMEM;
                *ret_output = copy;
        }
        return r;
}

int spawn_wait_lines(char *const *argv, const struct spawn_options *opts)
{
        char line[SPAWN_LINE_MAX + 1];
        size_t len = 0;
        int outfd = -EBADF, errfd = -EBADF;
        pid_t pid;

        pid = spawn_start(argv, opts->new_mount_ns, &outfd, &errfd);
        if (pid < 0)
                return pid;
        for (;;) {
                char buf[4096];
                ssize_t n = read(outfd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] != '\n' && len < SPAWN_LINE_MAX) {
                                line[len++] = buf[i];
                                continue;
                        }
                        line[len] = '\0';
                        if (opts->on_line)
                                opts->on_line(line, opts->userdata);
                        len = 0;
                        if (buf[i] != '\n')
                                line[len++] = buf[i];
                }
        }
        if (len > 0 && opts->on_line) {
                line[len] = '\0';
                opts->on_line(line, opts->userdata);
        }
        close(outfd);
        return spawn_finish(pid, errfd);
}
