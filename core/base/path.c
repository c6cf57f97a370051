/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
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

#define MAX_HOPS 40

/* Resolve path below rootfd without openat2: components are opened one by one
 * with O_NOFOLLOW; a symlink is read and spliced in (an absolute target starts
 * again at rootfd); ".." never climbs above rootfd. With no_symlinks any
 * symlink is -ELOOP; without follow the last one is not followed. Magic links
 * can't be followed (readlink of /proc/self/fd/N gives an absolute path that
 * is resolved inside the root like any other). */
static int open_in_root_fallback(int rootfd, const char *path, int flags, mode_t mode, bool follow,
                                 bool no_symlinks)
{
        cleanup_free char *rest = strdup(path);
        int stack[256], depth = 0, hops = 0, r = -ENOENT;

        if (!rest)
                return -ENOMEM;
        stack[0] = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (stack[0] < 0)
                /* cppcheck-suppress memleak ; freed by its cleanup attribute */
                return -errno;

        for (;;) {
                char *p = rest, *slash, comp[256];
                size_t len;
                bool last;
                struct stat st;
                int fd;

                while (*p == '/')
                        p++;
                if (!*p) { /* the directory we stand in */
                        r = openat(stack[depth], ".", flags | O_CLOEXEC, mode);
                        r = r < 0 ? -errno : r;
                        break;
                }
                slash = strchr(p, '/');
                len = slash ? (size_t)(slash - p) : strlen(p);
                if (len >= sizeof(comp)) {
                        r = -ENAMETOOLONG;
                        break;
                }
                memcpy(comp, p, len);
                comp[len] = '\0';
                last = !slash || !slash[1 + strspn(slash + 1, "/")];
                /* rest becomes what follows comp */
                memmove(rest, slash ? slash + 1 : p + strlen(p),
                        strlen(slash ? slash + 1 : "") + 1);
                if (strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0) {
                        if (depth > 0)
                                (void)close(stack[depth--]);
                        continue;
                }
                if (last) {
                        fd = openat(stack[depth], comp, flags | O_CLOEXEC | O_NOFOLLOW, mode);
                        if (fd < 0 && errno != ELOOP) {
                                r = -errno;
                                break;
                        }
                        if (fd >= 0 &&
                            (!(flags & O_PATH) || fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode))) {
                                r = fd;
                                break;
                        }
                        if (fd >= 0)
                                (void)close(fd);
                        if (!follow || no_symlinks) {
                                r = -ELOOP;
                                break;
                        }
                } else {
                        fd = openat(stack[depth], comp,
                                    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd >= 0) {
                                if (depth + 1 >= (int)ELEMENTSOF(stack)) {
                                        (void)close(fd);
                                        r = -ELOOP;
                                        break;
                                }
                                stack[++depth] = fd;
                                continue;
                        }
                        if (errno != ENOTDIR && errno != ELOOP) {
                                r = -errno;
                                break;
                        }
                        if (no_symlinks) {
                                r = -ELOOP;
                                break;
                        }
                }

                /* comp may be a symlink: splice its target in front of the rest. */
                {
                        char target[4096];
                        cleanup_free char *joined = NULL;
                        ssize_t n = readlinkat(stack[depth], comp, target, sizeof(target) - 1);

                        if (n < 0) {
                                r = errno == EINVAL ? -ENOTDIR : -errno;
                                break;
                        }
                        if (++hops > MAX_HOPS) {
                                r = -ELOOP;
                                break;
                        }
                        target[n] = '\0';
                        if (asprintf(&joined, "%s/%s", target, rest) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        free(rest);
                        rest = TAKE_PTR(joined);
                        if (target[0] == '/')
                                while (depth > 0)
                                        (void)close(stack[depth--]);
                }
        }
        while (depth >= 0)
                (void)close(stack[depth--]);
        return r;
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
                struct stat st;

                /* EAGAIN: a mount or rename somewhere on the host raced the walk
                 * (RESOLVE_IN_ROOT can't vouch for the result then); try again. */
                for (int tries = 0; tries < 64; tries++) {
                        fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
                        if (fd >= 0 || errno != EAGAIN)
                                break;
                }
                if (fd < 0 && errno != ENOSYS)
                        return -errno;
                /* O_PATH|O_NOFOLLOW opens a trailing symlink itself, even with
                 * RESOLVE_NO_SYMLINKS: callers asked not to get one. */
                if (fd >= 0 && !follow && (flags & O_PATH) &&
                    (fstat((int)fd, &st) < 0 || S_ISLNK(st.st_mode))) {
                        (void)close((int)fd);
                        return -ELOOP;
                }
                if (fd >= 0)
                        return (int)fd;
        }
        /* FIXME(kernel < 5.6): no openat2 (or valgrind, which lacks it). */
        return open_in_root_fallback(rootfd, path, flags, mode, follow,
                                     (resolve & RESOLVE_NO_SYMLINKS) != 0);
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

DIR *opendir_fd(int dirfd)
{
        /* Its own open file, not a dup: a dup would share (and move) dirfd's offset. */
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (!d) {
                int e = errno;

                close(fd);
                errno = e;
        }
        return d;
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

int libexec_open(const char *name, const char *libexecdir, char *ret_path)
{
        char self[PATH_MAX], here[PATH_MAX + 64], installed[PATH_MAX + 64];
        const char *candidates[2] = { NULL, installed };
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        int r = -ENOENT;

        snprintf(installed, sizeof(installed), "%s/%s", libexecdir, name);
        if (n > 0) {
                char *slash;

                self[n] = '\0';
                slash = strrchr(self, '/');
                if (slash) {
                        *slash = '\0';
                        snprintf(here, sizeof(here), "%s/%s", self, name);
                        candidates[0] = here;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                struct stat st;
                int fd;

                if (!candidates[i])
                        continue;
                fd = open(candidates[i], O_PATH | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
                    !(st.st_mode & 022) && (st.st_mode & 0100)) {
                        if (ret_path)
                                snprintf(ret_path, PATH_MAX, "%s", candidates[i]);
                        return fd;
                }
                close(fd);
                r = -EPERM;
        }
        return r;
}
