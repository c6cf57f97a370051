/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Descriptors handed between processes over a unix socket (SCM_RIGHTS). */

#include <stddef.h>
#include <sys/types.h>

/* Send len bytes of buf (at least one), and fd with them when fd >= 0.
 * Returns 0 or -errno. */
int fdpass_send(int sock, const void *buf, size_t len, int fd);

/* Receive up to len bytes into buf, and a descriptor sent with them into
 * *ret_fd (close-on-exec; -EBADF when none came). Returns the byte count (0:
 * the peer closed) or -errno. */
ssize_t fdpass_recv(int sock, void *buf, size_t len, int *ret_fd);
