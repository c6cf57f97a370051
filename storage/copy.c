/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A faithful copy of a tree whose content a guest controls: owners, modes,
 * times, xattrs (ACLs, file capabilities, overlayfs' own), device nodes and
 * overlayfs whiteouts, hard links. Every name is opened relative to its
 * parent's fd and never through a symlink, so nothing outside the source is
 * read and nothing outside the destination written. File data is reflinked
 * (FICLONE) where the filesystem can, else copied in the kernel. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/interrupt.h"
#include "core/base/path.h"
#include "storage/storage-internal.h"

/* Deeper than any real rootfs; it bounds the descriptors held open (two per level). */
#define COPY_MAX_DEPTH 256

struct link_entry {
        dev_t dev;
        ino_t ino;
        char *path; /* relative to the destination's root */
};

struct copy {
        int dst_root;
        bool cow_only;
        bool reflink_failed; /* FICLONE isn't possible here: don't try it on every file */
        void *links;         /* tsearch tree of struct link_entry */
        char path[PATH_MAX]; /* the current entry, relative to the roots */
        struct lodge_error **err;
};

static int link_cmp(const void *a, const void *b)
{
        const struct link_entry *x = a, *y = b;

        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return 0;
}

static void link_free(void *p)
{
        struct link_entry *e = p;

        free(e->path);
        free(e);
}

static int fail(struct copy *c, int e, const char *what)
{
        return lodge_error_set(c->err, e, "%s '/%s'", what, c->path);
}

static int copy_data(struct copy *c, int in, int out, off_t size)
{
        if (!c->reflink_failed) {
                if (ioctl(out, FICLONE, in) == 0)
                        return 0;
                if (errno != EOPNOTSUPP && errno != EXDEV && errno != EINVAL && errno != ENOTTY)
                        return fail(c, errno, "reflink");
                c->reflink_failed = true;
        }
        if (c->cow_only)
                return lodge_error_set(c->err, EOPNOTSUPP,
                                       "this filesystem can't share file data (no reflinks)");
        /* The data, extent by extent: holes stay holes. */
        for (off_t pos = 0; pos < size;) {
                off_t data = lseek(in, pos, SEEK_DATA), hole, at;

                if (data < 0 && errno == ENXIO)
                        break; /* only a hole is left */
                if (data < 0)
                        return fail(c, errno, "find the data of");
                hole = lseek(in, data, SEEK_HOLE);
                if (hole < 0)
                        return fail(c, errno, "find the holes of");
                for (at = data; at < hole;) {
                        off_t to = at;
                        ssize_t n = copy_file_range(in, &at, out, &to, (size_t)(hole - at), 0);

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return fail(c, errno, "copy");
                        if (n == 0)
                                break; /* the file shrank */
                }
                pos = hole;
        }
        if (ftruncate(out, size) < 0)
                return fail(c, errno, "set the size of");
        return 0;
}

/* Extended attributes, through the descriptors' magic links (an O_PATH fd of
 * a device node works: the link leads to the node, which is not opened). */
static int copy_xattrs(struct copy *c, int in, int out)
{
        char src[64], dst[64], names[65536], value[65536];
        ssize_t n;

        snprintf(src, sizeof(src), "/proc/self/fd/%d", in);
        snprintf(dst, sizeof(dst), "/proc/self/fd/%d", out);
        n = listxattr(src, names, sizeof(names));
        if (n < 0)
                return errno == ENOTSUP ? 0 : fail(c, errno, "list the xattrs of");
        for (char *name = names; name < names + n; name += strlen(name) + 1) {
                ssize_t v = getxattr(src, name, value, sizeof(value));

                if (v < 0 && errno == ENODATA)
                        continue;
                if (v < 0)
                        return fail(c, errno, "read an xattr of");
                if (setxattr(dst, name, value, (size_t)v, 0) < 0)
                        return lodge_error_set(c->err, errno, "set xattr '%s' on '/%s'", name,
                                               c->path);
        }
        return 0;
}

/* Owner, xattrs (after the owner: a chown drops file capabilities), mode
 * (after the owner: a chown drops setuid bits), then times, of dstdir/name
 * (a copy this process made, never a symlink unless the source was one). */
static int copy_attrs(struct copy *c, int in, int out, int dstdir, const char *name,
                      const struct stat *st)
{
        struct timespec t[2] = { st->st_atim, st->st_mtim };
        int r;

        if (fchownat(dstdir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return fail(c, errno, "set the owner of");
        if (S_ISLNK(st->st_mode)) {
                (void)utimensat(dstdir, name, t, AT_SYMLINK_NOFOLLOW);
                return 0;
        }
        r = copy_xattrs(c, in, out);
        if (r < 0)
                return r;
        if (fchmodat(dstdir, name, st->st_mode & 07777, 0) < 0)
                return fail(c, errno, "set the mode of");
        if (utimensat(dstdir, name, t, AT_SYMLINK_NOFOLLOW) < 0)
                return fail(c, errno, "set the times of");
        return 0;
}

/* A second name of an inode already copied: a hard link to its copy. */
static int copy_link(struct copy *c, int dst, const char *name, const struct stat *st,
                     bool *ret_done)
{
        struct link_entry key = { .dev = st->st_dev, .ino = st->st_ino }, *e;
        void *found;

        *ret_done = false;
        if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
                return 0;
        found = tfind(&key, &c->links, link_cmp);
        if (found) {
                e = *(struct link_entry **)found;
                if (linkat(c->dst_root, e->path, dst, name, 0) < 0)
                        return fail(c, errno, "hard link");
                *ret_done = true;
                return 0;
        }
        e = calloc(1, sizeof(*e));
        if (!e || !(e->path = strdup(c->path))) {
                free(e);
                return lodge_error_set(c->err, ENOMEM, "remember a hard link");
        }
        e->dev = st->st_dev;
        e->ino = st->st_ino;
        if (!tsearch(e, &c->links, link_cmp)) {
                link_free(e);
                return lodge_error_set(c->err, ENOMEM, "remember a hard link");
        }
        return 0;
}

static int copy_dir(struct copy *c, int src, int dst, int depth);

static int copy_entry(struct copy *c, int srcdir, int dstdir, const char *name, int depth)
{
        cleanup_close int in = -EBADF, out = -EBADF;
        size_t len = strlen(c->path);
        struct stat st;
        bool linked;
        int r;

        if (len + 1 + strlen(name) + 1 > sizeof(c->path))
                return fail(c, ENAMETOOLONG, "a name below");
        snprintf(c->path + len, sizeof(c->path) - len, "%s%s", len ? "/" : "", name);

        in = openat(srcdir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0 || fstat(in, &st) < 0) {
                r = fail(c, errno, "open");
                goto out;
        }
        r = copy_link(c, dstdir, name, &st, &linked);
        if (r < 0 || linked)
                goto out;

        if (S_ISDIR(st.st_mode)) {
                if (depth >= COPY_MAX_DEPTH) {
                        r = fail(c, ELOOP, "directories nest too deep at");
                        goto out;
                }
                close(in);
                in = openat(srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (in < 0 || mkdirat(dstdir, name, 0700) < 0 ||
                    (out = openat(dstdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
                            0) {
                        r = fail(c, errno, "copy the directory");
                        goto out;
                }
                r = copy_dir(c, in, out, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
                close(in);
                in = openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
                out = openat(dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             0600);
                if (in < 0 || out < 0) {
                        r = fail(c, errno, "copy the file");
                        goto out;
                }
                r = copy_data(c, in, out, st.st_size);
        } else if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(in, "", target, sizeof(target) - 1);

                if (n < 0 || (target[n] = 0, symlinkat(target, dstdir, name) < 0)) {
                        r = fail(c, errno, "copy the symlink");
                        goto out;
                }
                out = openat(dstdir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                r = out < 0 ? fail(c, errno, "open the copy of") : 0;
        } else {
                /* devices, fifos, sockets, overlayfs whiteouts (0:0 character devices) */
                if (mknodat(dstdir, name, st.st_mode, st.st_rdev) < 0 ||
                    (out = openat(dstdir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                        r = fail(c, errno, "copy the node");
                        goto out;
                }
                r = 0;
        }
        if (r >= 0)
                r = copy_attrs(c, in, out, dstdir, name, &st);
out:
        c->path[len] = 0;
        return r;
}

static int copy_dir(struct copy *c, int src, int dst, int depth)
{
        DIR *d = opendir_fd(src);
        struct dirent *de;
        int r = 0;

        if (!d)
                return fail(c, errno, "read the directory");
        for (errno = 0; r >= 0 && (de = readdir(d)); errno = 0) {
                int sig = interrupt_pending();

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (sig) {
                        r = lodge_error_set(c->err, EINTR, "interrupted by signal %d", sig);
                        break;
                }
                r = copy_entry(c, src, dst, de->d_name, depth);
        }
        if (r >= 0 && errno != 0)
                r = fail(c, errno, "read the directory");
        closedir(d);
        return r;
}

int storage_copy_tree(int srcfd, int dstfd, bool cow_only, struct lodge_error **err)
{
        struct copy c = { .dst_root = dstfd, .cow_only = cow_only, .err = err };
        struct stat st;
        int r;

        if (fstat(srcfd, &st) < 0)
                return lodge_error_set(err, errno, "stat the tree to copy");
        r = copy_dir(&c, srcfd, dstfd, 0);
        /* The root: through "." of its own fd. */
        if (r >= 0)
                r = copy_attrs(&c, srcfd, dstfd, dstfd, ".", &st);
        tdestroy(c.links, link_free);
        return r;
}

int storage_copy_dir_to(int srcfd, int dst, const char *name, bool cow_only,
                        struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;

        if (mkdirat(dst, name, 0700) < 0)
                return lodge_error_set(err, errno, "create directory '%s'", name);
        fd = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return lodge_error_set(err, errno, "open directory '%s'", name);
        return storage_copy_tree(srcfd, fd, cow_only, err);
}
