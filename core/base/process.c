/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/process.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/interrupt.h"

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

#define VFORK_STACK (256 << 10)

#if defined(__x86_64__) && !defined(CLONE_VFORK_FORKS)
/* clone3 with the child calling fn(arg) on the stack args gives it, and
 * exiting with what it returns. The child can't return from a C function
 * the parent is also in: on the parent's stack it would overwrite the
 * parent's frames, on its own it would find no frame to return to. */
static long clone3_call(struct clone_args *args, int (*fn)(void *), void *arg)
{
        register long rax __asm__("rax") = SYS_clone3;
        register int (*r12)(void *) __asm__("r12") = fn;
        register void *r13 __asm__("r13") = arg;

        __asm__ volatile("syscall\n\t"
                         "test %%rax, %%rax\n\t"
                         "jnz 1f\n\t"
                         "xor %%ebp, %%ebp\n\t" /* the outermost frame */
                         "mov %%r13, %%rdi\n\t"
                         "call *%%r12\n\t"
                         "mov %%eax, %%edi\n\t"
                         "mov %[exit], %%eax\n\t"
                         "syscall\n\t"
                         "hlt\n"
                         "1:"
                         : "+r"(rax)
                         : "D"(args), "S"(sizeof(*args)), "r"(r12), "r"(r13), [exit] "i"(SYS_exit)
                         : "rcx", "r11", "memory");
        return rax;
}
#endif

pid_t clone_vfork(int cgroup_fd, int (*fn)(void *), void *arg, bool *ret_in_cgroup)
{
#ifdef CLONE_VFORK_FORKS
        pid_t pid = clone_child(0, cgroup_fd, NULL, ret_in_cgroup);

        if (pid == 0)
                _exit(fn(arg));
        return pid;
#else
        size_t page = (size_t)sysconf(_SC_PAGESIZE), size = VFORK_STACK + page;
        char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        long pid = -ENOSYS;

        if (stack == MAP_FAILED)
                return -errno;
        /* A guard page below: an overflow faults instead of writing on. */
        if (mprotect(stack, page, PROT_NONE) < 0) {
                pid = -errno;
                goto out;
        }
#if defined(__x86_64__)
        *ret_in_cgroup = cgroup_fd >= 0;
        pid = clone3_call(
                &(struct clone_args){
                        .flags = CLONE_VM | CLONE_VFORK | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
                        .exit_signal = SIGCHLD,
                        .stack = (uint64_t)(uintptr_t)stack,
                        .stack_size = size,
                        .cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0,
                },
                fn, arg);
#endif
        if (pid == -ENOSYS) {
                /* FIXME(other architectures, kernel < 5.3, valgrind): glibc's clone has
                 * no CLONE_INTO_CGROUP; the child joins its cgroup itself. */
                *ret_in_cgroup = false;
                pid = clone(fn, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
                if (pid < 0)
                        pid = -errno;
        }
out:
        (void)munmap(stack, size);
        return (pid_t)pid;
#endif
}

/* In the child: set up and exec, or report errno through errfd and exit.
 * fds[i] becomes fd 3 + i. */
static _Noreturn void spawn_child(char *const *argv, const struct spawn_options *opts, pid_t parent,
                                  int outfd, int errfd)
{
        const int *fds = opts ? opts->fds : NULL;
        size_t n_fds = opts ? opts->n_fds : 0;
        static char *const envp[] = {
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
                NULL
        };
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        int moved[SPAWN_FDS_MAX];
        sigset_t none;
        int null, e;

        /* Dispositions set to "ignore" and the signal mask survive exec. */
        for (int sig = 1; sig < NSIG; sig++)
                (void)sigaction(sig, &dfl, NULL);
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);

        /* Never outlive lodge (killed, it can't clean up after us): a debootstrap left
         * running would write into a build directory the next builder removes. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                goto fail;
        if (getppid() != parent) {
                errno = ESRCH;
                goto fail;
        }
        /* A cancel kills the program's whole group: its own children hold the
         * output pipe, and may write where the caller is about to clean up. */
        if (opts && opts->cancel && setpgid(0, 0) < 0)
                goto fail;
        if (opts && opts->new_mount_ns &&
            (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0))
                goto fail;
        /* Out of the way first: a caller's fd may well be 3 + j. */
        for (size_t i = 0; i < n_fds; i++) {
                moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + SPAWN_FDS_MAX);
                if (moved[i] < 0)
                        goto fail;
        }
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0 && dup2(null, 0) >= 0 && dup2(outfd, 1) >= 0 && dup2(outfd, 2) >= 0) {
                for (size_t i = 0; i < n_fds; i++)
                        if (dup2(moved[i], 3 + (int)i) < 0) /* dup2 clears FD_CLOEXEC */
                                goto fail;
                /* Whatever the caller had open: nothing but 0-2 and fds (and errfd, until exec). */
                (void)syscall(SYS_close_range, 3U + (unsigned)n_fds, ~0U, CLOSE_RANGE_CLOEXEC);
                execve(argv[0], argv, envp);
        }
fail:
        e = errno;
        (void)write(errfd, &e, sizeof(e));
        _exit(127);
}

/* Read to the end, keeping the start, so the child never blocks on a full
 * pipe; hand each line (in pieces of SPAWN_LINE_MAX) to on_line when there
 * is one. With a cancel callback, the interrupt signals are blocked but
 * while waiting for output: one that comes while a line is handled, or just
 * before the wait, then cuts the wait short instead of going unseen until
 * the program next writes (or forever, if it never does). */
static size_t read_output(int fd, pid_t pid, const struct spawn_options *opts,
                          char out[static SPAWN_OUTPUT_MAX + 1])
{
        char line[SPAWN_LINE_MAX + 1];
        size_t len = 0, llen = 0;
        bool cancellable = opts && opts->cancel, killed = false;
        sigset_t block, old;

        if (cancellable) {
                interrupt_signals(&block);
                (void)sigprocmask(SIG_BLOCK, &block, &old);
        }
        for (;;) {
                char buf[4096];
                ssize_t n;

                if (cancellable && !killed && opts->cancel(opts->userdata)) {
                        (void)kill(-pid, SIGKILL);
                        killed = true;
                }
                if (cancellable) {
                        struct pollfd p = { .fd = fd, .events = POLLIN };

                        if (ppoll(&p, 1, NULL, &old) < 0 && errno == EINTR)
                                continue;
                }
                n = read(fd, buf, sizeof(buf));
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
                for (ssize_t i = 0; opts && opts->on_line && i < n; i++) {
                        if (buf[i] != '\n' && llen < SPAWN_LINE_MAX) {
                                line[llen++] = buf[i];
                                continue;
                        }
                        line[llen] = '\0';
                        opts->on_line(line, opts->userdata);
                        llen = 0;
                        if (buf[i] != '\n') /* the next piece of a long line */
                                line[llen++] = buf[i];
                }
        }
        if (opts && opts->on_line && llen > 0) {
                line[llen] = '\0';
                opts->on_line(line, opts->userdata);
        }
        if (cancellable)
                (void)sigprocmask(SIG_SETMASK, &old, NULL);
        out[len] = '\0';
        return len;
}

int spawn_wait_opts(char *const *argv, const struct spawn_options *opts, char **ret_output)
{
        char out[SPAWN_OUTPUT_MAX + 1];
        int outp[2], errp[2], status, e = 0;
        pid_t pid, parent = getpid();

        if (!argv || !argv[0] || argv[0][0] != '/')
                return -EINVAL;
        if (opts && opts->n_fds > SPAWN_FDS_MAX)
                return -EINVAL;
        if (pipe2(outp, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(errp, O_CLOEXEC) < 0) {
                e = errno;
                close(outp[0]);
                close(outp[1]);
                return -e;
        }
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
                spawn_child(argv, opts, parent, outp[1], errp[1]);
        /* Also here, so the group is there before any kill of it (EACCES: the
         * program has exec'd, and so made it itself). */
        if (opts && opts->cancel)
                (void)setpgid(pid, pid);
        close(outp[1]);
        close(errp[1]);

        (void)read_output(outp[0], pid, opts, out);
        close(outp[0]);
        if (read_all(errp[0], &e, sizeof(e)) != (ssize_t)sizeof(e))
                e = 0;
        close(errp[0]);

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (e > 0)
                return -e;
        if (ret_output) {
                char *copy = strdup(out);

                if (!copy)
                        return -ENOMEM;
                *ret_output = copy;
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int spawn_wait(char *const *argv, char **ret_output)
{
        return spawn_wait_opts(argv, NULL, ret_output);
}
