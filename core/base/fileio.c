/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/fileio.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"

int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
        char *p = buf;
        size_t done = 0;

        while (done < len) {
                ssize_t n = read(fd, p + done, len - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        return (ssize_t)done;
}

/* Create ".<name>.<random>" next to the target, exclusively. */
static int open_tmp_sibling(int dirfd, const char *name, mode_t mode, char **ret_tmp)
{
        for (int attempt = 0; attempt < 16; attempt++) {
                cleanup_free char *tmp = NULL;
                unsigned int rnd = 0;
                int fd;

                if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                        return -EIO;
                if (asprintf(&tmp, ".%s.%08x", name, rnd) < 0)
                        return -ENOMEM;

                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
                if (fd >= 0) {
                        *ret_tmp = TAKE_PTR(tmp);
                        return fd;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

/* The new content in a temporary sibling of name, whose name is returned. */
static int write_sibling(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                         bool durable, char **ret_tmp, struct lodge_error **err)
{
        cleanup_free char *tmp = NULL;
        cleanup_close int fd = -EBADF;
        int r;

        fd = open_tmp_sibling(dirfd, name, mode, &tmp);
        if (fd < 0)
                return lodge_error_set(err, -fd, "create temporary file for '%s'", name);
        assert(tmp); /* open_tmp_sibling() sets it whenever it returns an fd */

        r = write_all(fd, buf, len);
        /* fchmod: the umask must not decide the mode of state files. */
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0 && durable && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(dirfd, tmp, 0);
                return lodge_error_set(err, -r, "write '%s'", name);
        }
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

static int write_replacing(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                           bool durable, struct lodge_error **err)
{
        cleanup_free char *tmp = NULL;
        int r;

        r = write_sibling(dirfd, name, buf, len, mode, durable, &tmp, err);
        if (r < 0)
                return r;
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                r = -errno;
                (void)unlinkat(dirfd, tmp, 0);
                return lodge_error_set(err, -r, "write '%s'", name);
        }

        /* Make the rename itself durable. */
        if (durable && fsync(dirfd) < 0)
                return lodge_error_set(err, errno, "sync directory of '%s'", name);
        return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                         struct lodge_error **err)
{
        return write_replacing(dirfd, name, buf, len, mode, true, err);
}

int write_file_replace_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                          struct lodge_error **err)
{
        return write_replacing(dirfd, name, buf, len, mode, false, err);
}

int write_file_prepare_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                          char **ret_tmp, struct lodge_error **err)
{
        return write_sibling(dirfd, name, buf, len, mode, false, ret_tmp, err);
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
                 struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;
        cleanup_free char *buf = NULL;
        struct stat st;
        ssize_t n = 0, r;
        size_t cap;
        char extra;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return lodge_error_set(err, errno, "open '%s'", path);
        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "stat '%s'", path);
        if (!S_ISREG(st.st_mode))
                return lodge_error_set(err, EINVAL, "'%s' is not a regular file", path);
        if ((unsigned long long)st.st_size > max)
                return lodge_error_set(err, EFBIG, "'%s' is larger than %zu bytes", path, max);

        /* Sized by the file where it says (procfs files say 0), grown as needed: a
         * generous max costs nothing until a file needs it. */
        cap = st.st_size > 0 && (size_t)st.st_size < max ? (size_t)st.st_size + 1 : 4096;
        if (cap > max)
                cap = max;
        for (;;) {
                char *nbuf = realloc(buf, cap + 1);

                if (!nbuf)
                        return lodge_error_set(err, ENOMEM, "read '%s'", path);
                buf = nbuf;
                r = read_all(fd, buf + n, cap - n);
                if (r < 0)
                        return lodge_error_set(err, (int)-r, "read '%s'", path);
                n += r;
                if ((size_t)n < cap)
                        break;
                if (cap == max) {
                        /* The file may have grown since fstat(). */
                        if (read_all(fd, &extra, 1) == 1)
                                return lodge_error_set(err, EFBIG, "'%s' is larger than %zu bytes",
                                                       path, max);
                        break;
                }
                cap = cap > max / 2 ? max : cap * 2;
        }
        buf[n] = '\0';
        if (ret_len)
                *ret_len = (size_t)n;
        *ret = TAKE_PTR(buf);
        return 0;
}
