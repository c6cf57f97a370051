/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The lodge executable as a guest may see it. A process that lodge puts into
 * a guest's PID namespace runs lodge's own code until it execs, and while it
 * does, the guest's root can open /proc/PID/exe: the host's lodge binary. Kept
 * open until every lodge process has exited (no more ETXTBSY), such a handle
 * could be reopened for writing and the next lodge run as host root would run
 * the guest's code (the runc CVE-2019-5736 pattern). */

#include <stdbool.h>

#include "core/base/error.h"

/* Can nobody write the file behind fd (an executable): is it on a read-only
 * mount, or a memfd sealed against writes? */
bool exe_fd_unwritable(int fd);

/* Make sure this process runs from an executable nobody can write: if it
 * doesn't yet, exec itself again with argv and the same environment from a
 * read-only, detached bind mount of its own binary (open_tree), or where
 * that can't be made, from a sealed in-memory copy. Returns 0 when it already
 * does; doesn't return on success otherwise. */
int exe_reexec_unwritable(char *const *argv, struct lodge_error **err);
