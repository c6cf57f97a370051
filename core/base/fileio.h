/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "core/base/error.h"

/* write(2) until done, retrying on EINTR. Returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);

/* read(2) until len bytes or EOF; returns the byte count or -errno. */
ssize_t read_all(int fd, void *buf, size_t len);

/* Replace dirfd/name with buf so that readers see either the old or the new
 * content, never a mix, and the new content survives power loss once this
 * returns 0. name must be a plain file name (no '/'); dirfd must be a real
 * directory fd (O_RDONLY|O_DIRECTORY: not O_PATH, not AT_FDCWD) so it can be fsync()ed. */
int write_file_atomic_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                         struct lodge_error **err);

/* The same, without waiting for the disk: readers still see the old or the new
 * content, but after a crash either may be there. For runtime state, which a
 * reboot makes stale anyway (run state, console log, saved filters): an fsync
 * on a disk-backed run directory costs ~10 ms. */
int write_file_replace_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                          struct lodge_error **err);

/* write_file_replace_at() in two steps, for content that can be written before
 * it may be seen: into a temporary sibling of name now (its name in *ret_tmp,
 * the caller's to free), then renameat(dirfd, tmp, dirfd, name) to put it in
 * place, or unlinkat(dirfd, tmp, 0) to drop it. */
int write_file_prepare_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                          char **ret_tmp, struct lodge_error **err);

/* Read a whole regular file (never a symlink, FIFO or device: opened with
 * O_NOFOLLOW|O_NONBLOCK and checked with fstat) of at most max bytes into a
 * NUL-terminated buffer owned by the caller. -EFBIG when larger than max,
 * -EINVAL when not a regular file. *ret_len may be NULL. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
                 struct lodge_error **err);
