/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading and writing files inside a guest's rootfs from the host: every path
 * is resolved inside the rootfs (open_in_root), so a symlink the guest made
 * can never send a write to the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "templates/templates-internal.h"

/* "/etc/x/y" -> dir "/etc/x" (caller frees), base "y". */
static int split_path(const char *path, char **ret_dir, const char **ret_base)
{
        const char *slash = strrchr(path, '/');
        char *dir;

        if (!slash || !filename_is_valid(slash + 1))
                return -EINVAL;
        dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        if (!dir)
                return -ENOMEM;
        *ret_dir = dir;
        *ret_base = slash + 1;
        return 0;
}

int guest_open_dir(int rootfd, const char *path, bool create, mode_t mode)
{
        cleanup_free char *dir = NULL;
        cleanup_close int parent = -EBADF;
        const char *base;
        int fd, r;

        fd = open_in_root(rootfd, path, O_RDONLY | O_DIRECTORY, 0);
        if (fd >= 0 || fd != -ENOENT || !create)
                return fd;
        r = split_path(path, &dir, &base);
        if (r < 0)
                return r;
        parent = guest_open_dir(rootfd, dir, true, mode);
        if (parent < 0)
                return parent;
        if (mkdirat(parent, base, mode) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* The directory holding path in the guest, made when missing; *ret_base
 * points into path. what ("write", "symlink") is for the errors. */
static int open_parent(int rootfd, const char *path, const char *what, const char **ret_base,
                       struct lodge_error **err)
{
        cleanup_free char *dir = NULL;
        int fd, r;

        r = split_path(path, &dir, ret_base);
        if (r < 0)
                return lodge_error_set(err, -r, "%s '%s' in the guest", what, path);
        fd = guest_open_dir(rootfd, dir, true, 0755);
        if (fd < 0)
                return lodge_error_set(err, -fd, "%s '%s' in the guest: directory", what, path);
        return fd;
}

int guest_write_file(int rootfd, const char *path, const char *content, mode_t mode,
                     struct lodge_error **err)
{
        return guest_write_data(rootfd, path, content, strlen(content), mode, err);
}

int guest_write_data(int rootfd, const char *path, const void *data, size_t len, mode_t mode,
                     struct lodge_error **err)
{
        cleanup_close int dirfd = -EBADF;
        const char *base;
        int r;

        dirfd = open_parent(rootfd, path, "write", &base, err);
        if (dirfd < 0)
                return dirfd;
        /* A file (or symlink) there is replaced by rename, never written through.
         * Not synced one by one: a guest being made is synced as a whole
         * (syncfs) before it is renamed into sight. */
        r = write_file_replace_at(dirfd, base, data, len, mode, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "in the guest");
        return 0;
}

int guest_update_file(int rootfd, const char *path, const char *content, mode_t mode,
                      struct lodge_error **err)
{
        cleanup_close int dirfd = -EBADF;
        const char *base;
        struct stat st;
        int r;

        dirfd = open_parent(rootfd, path, "write", &base, err);
        if (dirfd < 0)
                return dirfd;
        if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                st = (struct stat){ .st_mode = S_IFREG | mode };
        r = write_file_replace_at(dirfd, base, content, strlen(content), st.st_mode & 07777, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "in the guest");
        /* The new file is root's until here: never more open than the old one. */
        if ((st.st_uid != 0 || st.st_gid != 0) &&
            fchownat(dirfd, base, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return lodge_error_set(err, errno, "chown '%s' in the guest", path);
        if ((st.st_mode & 07000) && fchmodat(dirfd, base, st.st_mode & 07777, 0) < 0)
                return lodge_error_set(err, errno, "chmod '%s' in the guest", path);
        return 0;
}

int guest_read_file(int rootfd, const char *path, size_t max, char **ret, struct lodge_error **err)
{
        cleanup_free char *dir = NULL;
        cleanup_close int dirfd = -EBADF;
        const char *base;
        int r;

        r = split_path(path, &dir, &base);
        if (r < 0)
                return lodge_error_set(err, -r, "read '%s' in the guest", path);
        dirfd = open_in_root(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
        if (dirfd < 0)
                return lodge_error_set(err, -dirfd, "read '%s' in the guest", path);
        return read_file_at(dirfd, base, max, ret, NULL, err);
}

int guest_symlink(int rootfd, const char *path, const char *target, struct lodge_error **err)
{
        cleanup_close int dirfd = -EBADF;
        const char *base;
        char tmp[64];
        unsigned rnd = 0;
        int r;

        dirfd = open_parent(rootfd, path, "symlink", &base, err);
        if (dirfd < 0)
                return dirfd;
        if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return lodge_error_set(err, EIO, "get random bytes");
        snprintf(tmp, sizeof(tmp), ".#lodge-link-%08x", rnd);
        if (symlinkat(target, dirfd, tmp) < 0)
                return lodge_error_set(err, errno, "symlink '%s' in the guest", path);
        if (renameat(dirfd, tmp, dirfd, base) < 0) {
                r = -errno;
                (void)unlinkat(dirfd, tmp, 0);
                return lodge_error_set(err, -r, "symlink '%s' in the guest", path);
        }
        return 0;
}

bool guest_exists(int rootfd, const char *path)
{
        cleanup_close int fd = open_in_root(rootfd, path, O_PATH, 0);

        return fd >= 0;
}

bool guest_is_symlink(int rootfd, const char *path)
{
        cleanup_close int fd = open_in_root_nofollow(rootfd, path, O_PATH | O_NOFOLLOW, 0);
        struct stat st;

        /* openat2 refuses the last component (-ELOOP), or hands out the link itself. */
        return fd == -ELOOP || (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode));
}
