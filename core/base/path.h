/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <sys/types.h>

/* Open path below rootfd as if rootfd were "/": symlinks, ".." and absolute
 * paths are resolved inside it (openat2 RESOLVE_IN_ROOT), magic links and
 * mount crossings are refused. Without openat2 (ENOSYS) a fallback walks the
 * path and refuses every symlink and "..". flags get O_CLOEXEC added. Returns
 * an fd or -errno. Use this for every host-side access into a guest rootfs. */
int open_in_root(int rootfd, const char *path, int flags, mode_t mode);

/* Like open_in_root(), but the last component must not be a symlink either. */
int open_in_root_nofollow(int rootfd, const char *path, int flags, mode_t mode);

/* Open path below rootfd refusing every symlink on the way (RESOLVE_IN_ROOT |
 * RESOLVE_NO_SYMLINKS) but crossing mounts: for mount targets inside a guest
 * rootfs, which must be plain directories and files (runc CVE-2019-19921). */
int open_in_root_nosymlinks(int rootfd, const char *path, int flags, mode_t mode);

/* Open a directory that must not be a symlink itself. Returns an fd or -errno. */
int open_dir_at(int dirfd, const char *path);

/* A DIR stream reading the directory dirfd from its start, through an open
 * file of its own (dirfd, which may be O_PATH, is left as it is). NULL with
 * errno set. */
DIR *opendir_fd(int dirfd);

/* mkdir -p below dirfd for a relative path, each component created with mode
 * and never followed through a symlink. Returns an fd of the last directory
 * (O_DIRECTORY) or -errno. */
int mkdir_p_at(int dirfd, const char *path, mode_t mode);

/* Is s a single path component (no '/', not "", ".", "..")? */
bool filename_is_valid(const char *s);

/* Test hook: make open_in_root() act as if openat2 were missing (P-07). */
void path_force_no_openat2(bool on);

/* One of lodge's helper programs (lodge-monitor, lodge-fetch): next to the
 * running executable (a build tree), else in libexecdir; only when it is a
 * regular executable file of root's that no one else may write. Opens it
 * O_PATH|O_CLOEXEC and copies its path to ret_path (PATH_MAX bytes, may be
 * NULL). Returns the fd, -ENOENT when there is none, or -EPERM when the only
 * one found is not safe to run. */
int libexec_open(const char *name, const char *libexecdir, char *ret_path);
