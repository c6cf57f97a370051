/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* fork()-like clone with namespace flags (CLONE_NEW*), returning a pidfd of
 * the child in *ret_pidfd (may be NULL), and born in the cgroup2 cgroup
 * cgroup_fd (< 0: none) when the kernel can (clone3 with CLONE_INTO_CGROUP;
 * *ret_in_cgroup says whether it was). Falls back to clone(2) where clone3
 * is missing (kernels before 5.3, valgrind). Returns the pid in the parent,
 * 0 in the child, -errno on failure. exit_signal is SIGCHLD. */
pid_t clone_child(uint64_t ns_flags, int cgroup_fd, int *ret_pidfd, bool *ret_in_cgroup);
