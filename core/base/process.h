/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* fork()-like clone with namespace flags (CLONE_NEW*), returning a pidfd of
 * the child in *ret_pidfd (may be NULL), and born in the cgroup2 cgroup
 * cgroup_fd (< 0: none) when the kernel can (clone3 with CLONE_INTO_CGROUP;
 * *ret_in_cgroup says whether it was). Falls back to clone(2) where clone3
 * is missing (kernels before 5.3, valgrind). Returns the pid in the parent,
 * 0 in the child, -errno on failure. exit_signal is SIGCHLD. */
pid_t clone_child(uint64_t ns_flags, int cgroup_fd, int *ret_pidfd, bool *ret_in_cgroup);

/* vfork()-like: the child runs fn(arg) in the caller's memory, on a stack of
 * its own, while the caller waits for it to exec or exit; fn never returns.
 * Cheaper than a fork by its page tables: none is copied, no page is
 * faulted copy-on-write and none torn down at the exec. Born in the cgroup2
 * cgroup cgroup_fd (< 0: none) where clone3 can (x86_64); *ret_in_cgroup says
 * whether it was, set before fn runs. Shared memory means fn must not change
 * what the caller relies on, and a signal handler of the caller's would run
 * on that memory in the child: the caller must have none. Returns the child's
 * pid once it has exec'd or exited, or -errno. exit_signal is SIGCHLD.
 *
 * Under AddressSanitizer it forks (CLONE_VFORK_FORKS), and the caller doesn't
 * wait: ASan keeps per-thread state a child in the same memory would change
 * under it, and would count what the child allocated before its exec as the
 * caller's leaks. */
#if defined(__SANITIZE_ADDRESS__)
#define CLONE_VFORK_FORKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLONE_VFORK_FORKS 1
#endif
#endif
pid_t clone_vfork(int cgroup_fd, int (*fn)(void *), void *arg, bool *ret_in_cgroup);

/* The one way lodge runs an external program. argv[0] must be an absolute
 * path (never searched in PATH, never run through a shell). The program gets
 * a clean environment (PATH of the system directories and LC_ALL=C only),
 * stdin from /dev/null, no file descriptor but 0-2, no blocked or ignored
 * signals, SIGKILL when lodge dies (PR_SET_PDEATHSIG; a program it starts
 * itself is its own business), and its stdout and stderr go to one pipe, of
 * which the first
 * SPAWN_OUTPUT_MAX bytes are returned NUL-terminated in *ret_output (may be
 * NULL; the caller frees it). Waits for it. Returns its exit status (0-255;
 * 128+N when killed by signal N), or -errno when it couldn't be run: -EINVAL
 * for a relative argv[0], -ENOENT when there is no such program. */
#define SPAWN_OUTPUT_MAX 4096
int spawn_wait(char *const *argv, char **ret_output);

/* spawn_wait() with more: fds[i] (kept open by the caller) becomes fd 3 + i
 * in the program; with new_mount_ns it runs in a private mount namespace
 * (what it mounts is gone when it exits, also when it is killed); and on_line
 * (may be NULL) gets each line of its stdout and stderr as it comes, without
 * the newline (a line longer than SPAWN_LINE_MAX bytes comes in pieces). */
#define SPAWN_FDS_MAX 8
#define SPAWN_LINE_MAX 1024
struct spawn_options {
        const int *fds;
        size_t n_fds; /* at most SPAWN_FDS_MAX */
        bool new_mount_ns;
        void (*on_line)(const char *line, void *userdata);
        /* Asked before each wait for output, which one of interrupt_signals()
         * cuts short (may be NULL). With it, the program runs in a process
         * group of its own, and true kills the group (SIGKILL); the wait goes
         * on until the output pipe is closed. */
        bool (*cancel)(void *userdata);
        void *userdata;
};
int spawn_wait_opts(char *const *argv, const struct spawn_options *opts, char **ret_output);
