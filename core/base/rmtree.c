/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"

/* Deeper directories are moved up to the top of the removal instead of being
 * descended into, so the walk holds at most this many directory handles. */
#define RM_MAX_DEPTH 64

struct rm_ctx {
        int topfd; /* directory being emptied at depth 0 */
        dev_t dev;
        unsigned next_id; /* names of moved-up deep directories, never reused */
        bool moved;       /* something was moved up during the current top-level pass */
};

/* Clear FS_IMMUTABLE_FL/FS_APPEND_FL; only regular files and directories are
 * opened (opening a device or FIFO could have side effects). */
static void clear_flags_at(int dirfd, const char *name)
{
        cleanup_close int fd = -EBADF;
        struct stat st;
        int flags = 0;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return;
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
                return;
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return;
        if (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)) {
                flags &= ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
                (void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
        }
}

static void clear_dir_flags(int dirfd)
{
        int flags = 0;

        if (ioctl(dirfd, FS_IOC_GETFLAGS, &flags) == 0 &&
            (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL))) {
                flags &= ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
                (void)ioctl(dirfd, FS_IOC_SETFLAGS, &flags);
        }
}

static int unlink_one(int dirfd, const char *name, int flag)
{
        if (unlinkat(dirfd, name, flag) == 0 || errno == ENOENT)
                return 0;
        if (errno != EPERM)
                return -errno;
        /* A guest may have run chattr +i/+a on the entry or on its directory. */
        clear_dir_flags(dirfd);
        clear_flags_at(dirfd, name);
        if (unlinkat(dirfd, name, flag) == 0 || errno == ENOENT)
                return 0;
        return -errno;
}

static int empty_dir(struct rm_ctx *c, int dirfd, unsigned depth, struct lodge_error **err);

static int remove_entry(struct rm_ctx *c, int dirfd, const char *name, unsigned depth,
                        struct lodge_error **err)
{
        struct stat st;
        int r;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : lodge_error_set(err, errno, "stat '%s'", name);
        if (!S_ISDIR(st.st_mode)) {
                r = unlink_one(dirfd, name, 0);
                return r < 0 ? lodge_error_set(err, -r, "remove '%s'", name) : 0;
        }
        if (st.st_dev != c->dev)
                return lodge_error_set(err, EBUSY, "'%s' is a mount point, not removing it", name);

        if (depth >= RM_MAX_DEPTH) {
                char moved[64];

                snprintf(moved, sizeof(moved), ".rm-deep-%u", c->next_id++);
                if (renameat(dirfd, name, c->topfd, moved) < 0)
                        return lodge_error_set(err, errno, "move up deep directory '%s'", name);
                c->moved = true; /* the top-level loop picks it up in its next pass */
                return 0;
        }

        {
                cleanup_close int sub = open_dir_at(dirfd, name);

                if (sub < 0)
                        return lodge_error_set(err, -sub, "open directory '%s'", name);
                r = empty_dir(c, sub, depth + 1, err);
                if (r < 0)
                        return lodge_error_prefix(err, r, "%s", name);
        }
        r = unlink_one(dirfd, name, AT_REMOVEDIR);
        return r < 0 ? lodge_error_set(err, -r, "remove directory '%s'", name) : 0;
}

static int empty_dir(struct rm_ctx *c, int dirfd, unsigned depth, struct lodge_error **err)
{
        for (;;) {
                cleanup_closedir DIR *d = NULL;
                struct dirent *de;
                int fd, r;

                fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return lodge_error_set(err, errno, "duplicate directory handle");
                d = fdopendir(fd);
                if (!d) {
                        (void)close(fd);
                        return lodge_error_set(err, errno, "read directory");
                }
                rewinddir(d);
                while ((errno = 0, de = readdir(d))) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        r = remove_entry(c, dirfd, de->d_name, depth, err);
                        if (r < 0)
                                return r;
                }
                if (errno != 0)
                        return lodge_error_set(err, errno, "read directory");
                /* Deep directories moved into the top directory need another pass. */
                if (depth > 0 || !c->moved)
                        return 0;
                c->moved = false;
        }
}

int rm_rf_at(int dirfd, const char *name, struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;
        struct rm_ctx c = { 0 };
        struct stat st;
        int r;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return lodge_error_set(err, errno, "stat '%s'", name);
        }
        if (!S_ISDIR(st.st_mode)) {
                r = unlink_one(dirfd, name, 0);
                return r < 0 ? lodge_error_set(err, -r, "remove '%s'", name) : 0;
        }

        fd = open_dir_at(dirfd, name);
        if (fd < 0)
                return lodge_error_set(err, -fd, "open directory '%s'", name);
        c.topfd = fd;
        c.dev = st.st_dev;
        r = empty_dir(&c, fd, 0, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "remove '%s'", name);
        r = unlink_one(dirfd, name, AT_REMOVEDIR);
        if (r < 0)
                return lodge_error_set(err, -r, "remove directory '%s'", name);
        return 0;
}
