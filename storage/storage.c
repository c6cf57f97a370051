/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "storage/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "storage/storage-internal.h"

static const struct lodge_storage_ops *const backends[] = {
        &storage_dir_ops,
        &storage_overlay_ops,
        &storage_btrfs_ops,
};

const struct lodge_storage_ops *lodge_storage_find(const char *name)
{
        for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
                if (strcmp(backends[i]->name, name) == 0)
                        return backends[i];
        return NULL;
}

int lodge_storage_open_rootfs(const struct lodge_storage_ops *ops, int cdirfd, int layerfd,
                              enum lodge_storage_view view, struct lodge_error **err)
{
        int fd;

        if (ops->merged)
                return ops->open_tree(cdirfd, layerfd, NULL, view, err);
        fd = open_dir_at(cdirfd, "rootfs");
        return fd < 0 ? lodge_error_set(err, -fd, "open the rootfs") : fd;
}

const char *lodge_storage_default(int dirfd)
{
        return lodge_storage_is_btrfs(dirfd) ? "btrfs" : "dir";
}

int lodge_storage_tree_clone(int dirfd, const char *name, int userns_fd, bool ro,
                             struct lodge_error **err)
{
        struct mount_attr attr = { .attr_set = (userns_fd >= 0 ? MOUNT_ATTR_IDMAP : 0) |
                                               (ro ? MOUNT_ATTR_RDONLY : 0),
                                   .userns_fd = (uint64_t)(userns_fd >= 0 ? userns_fd : 0) };
        cleanup_close int fd = -EBADF;

        fd = (int)syscall(SYS_open_tree, dirfd, name,
                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                  (name[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH));
        if (fd < 0)
                return lodge_error_set(err, errno, "clone the mount of '%s'", name[0] ? name : ".");
        if (attr.attr_set &&
            syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return lodge_error_set(err, errno,
                                       userns_fd >= 0 && errno == EINVAL
                                               ? "idmap the mount of '%s': its filesystem can't "
                                                 "be idmapped here"
                                               : "set up the mount of '%s'",
                                       name[0] ? name : ".");
        return TAKE_FD(fd);
}

#define WALK_MAX_DEPTH 4096

static int walk_dir(int fd, storage_walk_fn fn, void *userdata, int depth)
{
        DIR *d = opendir_fd(fd);
        struct dirent *de;
        int r = 0;

        if (!d)
                return -errno;
        while (r >= 0 && (de = readdir(d))) {
                struct stat st;
                int sub;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                r = fn(fd, de->d_name, &st, userdata);
                if (r != 0 || !S_ISDIR(st.st_mode)) {
                        r = r > 0 ? 0 : r;
                        continue;
                }
                if (depth >= WALK_MAX_DEPTH) {
                        r = -ELOOP;
                        break;
                }
                sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        r = -errno;
                        break;
                }
                r = walk_dir(sub, fn, userdata, depth + 1);
                close(sub);
        }
        closedir(d);
        return r;
}

int storage_walk(int fd, storage_walk_fn fn, void *userdata)
{
        return walk_dir(fd, fn, userdata, 0);
}

int storage_syncfs(int dirfd, struct lodge_error **err)
{
        if (syncfs(dirfd) < 0)
                return lodge_error_set(err, errno, "sync to disk");
        return 0;
}

/* Write a regular file's data (flags: SYNC_FILE_RANGE_WRITE to start it, and
 * again with the WAITs to wait for it: the writes overlap); its blocks are
 * allocated in the filesystem's running transaction. Never opens a device. */
static int write_out(int dirfd, const char *name, const struct stat *st, void *userdata)
{
        unsigned flags = *(const unsigned *)userdata;
        int fd, r = 0;

        if (!S_ISREG(st->st_mode))
                return 0;
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || sync_file_range(fd, 0, 0, flags) < 0)
                r = -errno;
        if (fd >= 0)
                close(fd);
        return r;
}

/* ext4 and xfs journal metadata in order: once the data is written, one
 * fsync commits every change made before it (and flushes the disk's cache),
 * where an fsync per file and directory would pay a commit or a flush each.
 * Elsewhere, syncfs. */
int storage_sync_tree(int dirfd, const char *name, struct lodge_error **err)
{
        cleanup_close int fd = open_dir_at(dirfd, name);
        struct statfs sf;
        int r;

        if (fd < 0)
                return lodge_error_set(err, -fd, "open '%s'", name);
        if (fstatfs(fd, &sf) < 0)
                return lodge_error_set(err, errno, "stat the filesystem of '%s'", name);
        if (sf.f_type != EXT4_SUPER_MAGIC && sf.f_type != XFS_SUPER_MAGIC)
                return storage_syncfs(fd, err);
        r = storage_walk(fd, write_out, &(unsigned){ SYNC_FILE_RANGE_WRITE });
        if (r >= 0)
                r = storage_walk(fd, write_out,
                                 &(unsigned){ SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                              SYNC_FILE_RANGE_WAIT_AFTER });
        if (r >= 0 && fsync(dirfd) < 0)
                r = -errno;
        if (r < 0)
                return lodge_error_set(err, -r, "sync '%s' to disk", name);
        return 0;
}

/* ---- usage ---- */

struct usage {
        dev_t dev;
        uint64_t bytes;
        void *seen; /* inodes with more than one link, counted once */
};

static int ino_cmp(const void *a, const void *b)
{
        ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;

        return x < y ? -1 : x > y;
}

/* Its blocks, once per inode; not what is on another filesystem (1: not below). */
static int usage_entry(int dirfd, const char *name, const struct stat *st, void *userdata)
{
        struct usage *u = userdata;

        (void)dirfd;
        (void)name;
        if (st->st_dev != u->dev)
                return 1;
        if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
                ino_t *ino = malloc(sizeof(*ino));
                void *slot;

                if (!ino)
                        return -ENOMEM;
                *ino = st->st_ino;
                slot = tsearch(ino, &u->seen, ino_cmp);
                if (!slot) {
                        free(ino);
                        return -ENOMEM;
                }
                if (*(ino_t **)slot != ino) {
                        free(ino);
                        return 0;
                }
        }
        u->bytes += (uint64_t)st->st_blocks * 512;
        return 0;
}

static int usage_walk(int fd, uint64_t *ret, struct lodge_error **err)
{
        struct usage u = { 0 };
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "stat a tree to measure");
        u.dev = st.st_dev;
        u.bytes = (uint64_t)st.st_blocks * 512;
        r = storage_walk(fd, usage_entry, &u);
        tdestroy(u.seen, free);
        if (r < 0)
                return lodge_error_set(err, -r, "measure a tree");
        *ret = u.bytes;
        return 0;
}

int lodge_storage_usage(int dirfd, const char *name, uint64_t *ret, struct lodge_error **err)
{
        cleanup_close int fd = open_dir_at(dirfd, name);
        int r;

        if (fd < 0)
                return lodge_error_set(err, -fd, "open '%s'", name);
        /* A snapshot shares its extents: what a walk finds is not what it costs. */
        if (btrfs_is_subvol(fd)) {
                r = btrfs_subvol_exclusive(fd, ret);
                if (r < 0)
                        return lodge_error_set(err, -r, "measure '%s' (btrfs needs quotas on)",
                                               name);
                return 0;
        }
        return usage_walk(fd, ret, err);
}

/* ---- layers ---- */

bool lodge_storage_layer_key_valid(const char *key)
{
        size_t n = strlen(key);

        if (n == 0 || n > 128 || key[0] == '.')
                return false;
        return strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
               n;
}

int lodge_storage_layer_open(int layersfd, const char *key)
{
        cleanup_close int dir = -EBADF;

        if (!lodge_storage_layer_key_valid(key))
                return -EINVAL;
        dir = open_dir_at(layersfd, key);
        if (dir < 0)
                return dir;
        return open_dir_at(dir, "rootfs");
}

int lodge_storage_layer_begin(int layersfd, const char *key, char **ret_tmp,
                              struct lodge_error **err)
{
        cleanup_free char *tmp = NULL;
        cleanup_close int dir = -EBADF;
        unsigned rnd = 0;
        int r, fd;

        if (!lodge_storage_layer_key_valid(key))
                return lodge_error_set(err, EINVAL, "bad layer name '%s'", key);
        if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return lodge_error_set(err, EIO, "get random bytes");
        if (asprintf(&tmp, LODGE_STORAGE_LAYER_TMP "%s-%08x", key, rnd) < 0)
                return lodge_error_set(err, ENOMEM, "build a layer name");
        if (mkdirat(layersfd, tmp, 0700) < 0)
                return lodge_error_set(err, errno, "create the layer directory '%s'", tmp);
        dir = open_dir_at(layersfd, tmp);
        if (dir < 0)
                r = lodge_error_set(err, -dir, "open the layer directory '%s'", tmp);
        else if (lodge_storage_is_btrfs(dir))
                r = btrfs_subvol_create(dir, "rootfs", err);
        else
                r = mkdirat(dir, "rootfs", 0755) < 0
                            ? lodge_error_set(err, errno, "create the layer's rootfs")
                            : 0;
        if (r >= 0 && (fd = open_dir_at(dir, "rootfs")) < 0)
                r = lodge_error_set(err, -fd, "open the layer's rootfs");
        if (r < 0) {
                (void)lodge_storage_layer_remove(layersfd, tmp, NULL);
                return r;
        }
        *ret_tmp = TAKE_PTR(tmp);
        return fd;
}

int lodge_storage_layer_commit(int layersfd, const char *tmp, const char *key,
                               struct lodge_error **err)
{
        cleanup_close int dir = open_dir_at(layersfd, tmp), rootfd = -EBADF;
        char size[32];
        uint64_t bytes = 0;
        int r;

        if (dir < 0)
                return lodge_error_set(err, -dir, "open the layer directory '%s'", tmp);
        rootfd = open_dir_at(dir, "rootfs");
        if (rootfd < 0)
                return lodge_error_set(err, -rootfd, "open the layer's rootfs");
        r = usage_walk(rootfd, &bytes, err);
        if (r < 0)
                return r;
        snprintf(size, sizeof(size), "%" PRIu64 "\n", bytes);
        r = write_file_atomic_at(dir, "size", size, strlen(size), 0644, err);
        if (r < 0)
                return r;
        if (btrfs_is_subvol(rootfd)) {
                r = btrfs_subvol_set_read_only(rootfd, true, err);
                if (r < 0)
                        return r;
        }
        if (syncfs(dir) < 0)
                return lodge_error_set(err, errno, "sync the layer to disk");
        if (renameat2(layersfd, tmp, layersfd, key, RENAME_NOREPLACE) < 0)
                return lodge_error_set(err, errno, "move the layer '%s' into place", key);
        if (fsync(layersfd) < 0)
                return lodge_error_set(err, errno, "sync the layers directory");
        return 0;
}

int lodge_storage_layer_remove(int layersfd, const char *name, struct lodge_error **err)
{
        cleanup_close int dir = open_dir_at(layersfd, name);
        int r;

        if (dir == -ENOENT)
                return 0;
        if (dir < 0)
                return lodge_error_set(err, -dir, "open the layer '%s'", name);
        r = btrfs_subvol_remove(dir, "rootfs", err);
        if (r < 0)
                return r;
        return rm_rf_at(layersfd, name, err);
}

uint64_t lodge_storage_layer_size(int layersfd, const char *key)
{
        cleanup_close int dir = -EBADF;
        cleanup_free char *text = NULL;

        if (!lodge_storage_layer_key_valid(key))
                return 0;
        dir = open_dir_at(layersfd, key);
        if (dir < 0 || read_file_at(dir, "size", 64, &text, NULL, NULL) < 0)
                return 0;
        return strtoull(text, NULL, 10);
}
