/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/cleanup.h"

/* Set only by tests to exercise the fallback path; never written in production. */
static bool no_openat2;

void path_force_no_openat2(bool on)
{
        no_openat2 = on;
}

bool filename_is_valid(const char *s)
{
        return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* Walk path component by component, refusing symlinks and "..". */
static int open_in_root_fallback(int rootfd, const char *path, int flags, mode_t mode)
{
        cleanup_free char *copy = strdup(path);
        cleanup_close int cur = -EBADF;
        char *save = NULL, *comp, *next;
        int fd;

        if (!copy)
                return -ENOMEM;
        cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                /* cppcheck-suppress memleak ; freed by its cleanup attribute */
                return -errno;

        comp = strtok_r(copy, "/", &save);
        if (!comp) /* the root itself */
                return TAKE_FD(cur);
        for (; comp; comp = next) {
                next = strtok_r(NULL, "/", &save);
                if (strcmp(comp, ".") == 0 && next)
                        continue;
                if (strcmp(comp, "..") == 0)
                        return -EXDEV;
                if (!next)
                        break;
                fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return errno == ENOTDIR ? -ELOOP : -errno;
                closep(&cur);
                cur = fd;
        }
        fd = openat(cur, comp, flags | O_CLOEXEC | O_NOFOLLOW, mode);
        return fd < 0 ? -errno : fd;
}

static int open_in_root_full(int rootfd, const char *path, int flags, mode_t mode, bool follow,
                             uint64_t resolve)
{
        struct open_how how = {
                .flags = (unsigned)flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = resolve,
        };
        long fd;

        if (!no_openat2) {
                fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
                if (fd >= 0)
                        return (int)fd;
                if (errno != ENOSYS)
                        return -errno;
        }
        /* FIXME(kernel < 5.6): no openat2; the fallback is stricter (no symlinks at all). */
        return open_in_root_fallback(rootfd, path, flags, mode);
}

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

int open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
        return open_in_root_full(rootfd, path, flags, mode, true, IN_ROOT);
}

int open_in_root_nofollow(int rootfd, const char *path, int flags, mode_t mode)
{
        return open_in_root_full(rootfd, path, flags, mode, false, IN_ROOT);
}

int open_in_root_nosymlinks(int rootfd, const char *path, int flags, mode_t mode)
{
        /* The fallback walker refuses symlinks anyway and doesn't check mounts. */
        return open_in_root_full(rootfd, path, flags, mode, false,
                                 RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
}

int open_dir_at(int dirfd, const char *path)
{
        int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

int mkdir_p_at(int dirfd, const char *path, mode_t mode)
{
        cleanup_free char *copy = strdup(path);
        cleanup_close int cur = -EBADF;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                /* cppcheck-suppress memleak ; freed by its cleanup attribute */
                return -errno;
        for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                int fd;

                if (strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0)
                        return -EINVAL;
                if (mkdirat(cur, comp, mode) < 0 && errno != EEXIST)
                        return -errno;
                fd = open_dir_at(cur, comp);
                if (fd < 0)
                        return fd == -ENOTDIR ? -ELOOP : fd;
                closep(&cur);
                cur = fd;
        }
        return TAKE_FD(cur);
}
