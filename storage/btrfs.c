/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* btrfs: images unpacked into read-only subvolumes, guests and their
 * snapshots as snapshots of them. Everything goes through the subvolume
 * ioctls; no btrfs-progs. */
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "storage/storage-internal.h"

/* The inode number of every subvolume's root directory. */
#define BTRFS_SUBVOL_ROOT_INO 256

bool lodge_storage_is_btrfs(int dirfd)
{
        struct statfs sf;

        return fstatfs(dirfd, &sf) == 0 && sf.f_type == (typeof(sf.f_type))BTRFS_SUPER_MAGIC;
}

bool btrfs_is_subvol(int fd)
{
        struct stat st;

        return lodge_storage_is_btrfs(fd) && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
               st.st_ino == BTRFS_SUBVOL_ROOT_INO;
}

static int vol_args(struct btrfs_ioctl_vol_args_v2 *a, const char *name, struct lodge_error **err)
{
        *a = (struct btrfs_ioctl_vol_args_v2){ 0 };
        if (strlen(name) >= sizeof(a->name))
                return lodge_error_set(err, ENAMETOOLONG, "subvolume name '%s'", name);
        strcpy(a->name, name);
        return 0;
}

int btrfs_subvol_create(int dirfd, const char *name, struct lodge_error **err)
{
        struct btrfs_ioctl_vol_args_v2 a;
        int r = vol_args(&a, name, err);

        if (r < 0)
                return r;
        if (ioctl(dirfd, BTRFS_IOC_SUBVOL_CREATE_V2, &a) < 0)
                return lodge_error_set(err, errno, "create the btrfs subvolume '%s'", name);
        return 0;
}

int btrfs_subvol_snapshot(int srcfd, int dirfd, const char *name, bool read_only,
                          struct lodge_error **err)
{
        struct btrfs_ioctl_vol_args_v2 a;
        int r = vol_args(&a, name, err);

        if (r < 0)
                return r;
        a.fd = srcfd;
        a.flags = read_only ? BTRFS_SUBVOL_RDONLY : 0;
        if (ioctl(dirfd, BTRFS_IOC_SNAP_CREATE_V2, &a) < 0)
                return lodge_error_set(err, errno, "snapshot a btrfs subvolume as '%s'", name);
        return 0;
}

int btrfs_subvol_set_read_only(int fd, bool ro, struct lodge_error **err)
{
        __u64 flags = 0;

        if (ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) < 0)
                return lodge_error_set(err, errno, "read the flags of a btrfs subvolume");
        flags = ro ? (flags | BTRFS_SUBVOL_RDONLY) : (flags & ~(__u64)BTRFS_SUBVOL_RDONLY);
        if (ioctl(fd, BTRFS_IOC_SUBVOL_SETFLAGS, &flags) < 0)
                return lodge_error_set(err, errno, "make a btrfs subvolume %s",
                                       ro ? "read-only" : "writable");
        return 0;
}

/* The ioctl removes a subvolume at once, however large; one that holds other
 * subvolumes (a guest's own, or a read-only one) is emptied the slow way:
 * rm_rf_at() removes empty subvolumes with rmdir. */
int btrfs_subvol_remove(int dirfd, const char *name, struct lodge_error **err)
{
        struct btrfs_ioctl_vol_args_v2 a;
        cleanup_close int fd = -EBADF;
        int r = vol_args(&a, name, err);

        if (r < 0)
                return r;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : lodge_error_set(err, errno, "open '%s'", name);
        if (btrfs_is_subvol(fd)) {
                if (ioctl(dirfd, BTRFS_IOC_SNAP_DESTROY_V2, &a) == 0)
                        return 0;
                (void)btrfs_subvol_set_read_only(fd, false, NULL);
        }
        return rm_rf_at(dirfd, name, err);
}

int btrfs_subvol_exclusive(int fd, uint64_t *ret)
{
        struct btrfs_ioctl_fs_info_args fs = { 0 };
        struct btrfs_ioctl_ino_lookup_args ino = { .objectid = BTRFS_SUBVOL_ROOT_INO };
        char path[128], buf[32] = { 0 };
        cleanup_close int f = -EBADF;
        const uint8_t *u = fs.fsid;

        if (ioctl(fd, BTRFS_IOC_FS_INFO, &fs) < 0 || ioctl(fd, BTRFS_IOC_INO_LOOKUP, &ino) < 0)
                return -errno;
        snprintf(
                path, sizeof(path),
                "/sys/fs/btrfs/%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x"
                "/qgroups/0_%llu/exclusive",
                u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
                u[13], u[14], u[15], (unsigned long long)ino.treeid);
        f = open(path, O_RDONLY | O_CLOEXEC);
        if (f < 0)
                return -EOPNOTSUPP; /* quotas are off */
        if (read(f, buf, sizeof(buf) - 1) <= 0)
                return -EIO;
        *ret = strtoull(buf, NULL, 10);
        return 0;
}

static int btrfs_create(int cdirfd, int layerfd, struct lodge_error **err)
{
        if (!lodge_storage_is_btrfs(cdirfd))
                return lodge_error_set(err, EOPNOTSUPP, "the container directory is not on btrfs");
        if (layerfd >= 0)
                return btrfs_subvol_snapshot(layerfd, cdirfd, "rootfs", false, err);
        return btrfs_subvol_create(cdirfd, "rootfs", err);
}

static int btrfs_open_tree(int cdirfd, int layerfd, const struct lodge_storage_idmap *idmap,
                           enum lodge_storage_view view, struct lodge_error **err)
{
        (void)layerfd;
        return lodge_storage_tree_clone(cdirfd, "rootfs", idmap ? idmap->userns_fd : -EBADF,
                                        view == LODGE_VIEW_READ, err);
}

static int btrfs_clone(int srcfd, int dstfd, bool cow_only, bool read_only,
                       struct lodge_error **err)
{
        cleanup_close int rootfd = open_dir_at(srcfd, "rootfs");

        (void)cow_only; /* a snapshot is always copy-on-write */
        if (rootfd < 0)
                return lodge_error_set(err, -rootfd, "open the rootfs");
        if (!btrfs_is_subvol(rootfd))
                return lodge_error_set(err, EINVAL, "the rootfs is not a btrfs subvolume");
        return btrfs_subvol_snapshot(rootfd, dstfd, "rootfs", read_only, err);
}

static int btrfs_destroy(int dirfd, struct lodge_error **err)
{
        return btrfs_subvol_remove(dirfd, "rootfs", err);
}

/* A qgroup limit on what the rootfs subvolume refers to, as Incus' size. */
static int btrfs_set_disk_limit(int cdirfd, uint64_t bytes, struct lodge_error **err)
{
        struct btrfs_ioctl_qgroup_limit_args a = {
                .qgroupid = 0, /* the subvolume of the fd */
                .lim = { .flags = BTRFS_QGROUP_LIMIT_MAX_RFER,
                         .max_rfer = bytes ? bytes : (__u64)-1 },
        };
        cleanup_close int fd = open_dir_at(cdirfd, "rootfs");

        if (fd < 0)
                return lodge_error_set(err, -fd, "open the rootfs");
        if (ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &a) < 0)
                return lodge_error_set(err, errno,
                                       errno == ENOTCONN || errno == EINVAL
                                               ? "limits.disk needs btrfs quotas (btrfs quota "
                                                 "enable MOUNTPOINT)"
                                               : "set the btrfs quota limit");
        return 0;
}

const struct lodge_storage_ops storage_btrfs_ops = {
        .name = "btrfs",
        .fill_dir = "rootfs",
        .create = btrfs_create,
        .open_tree = btrfs_open_tree,
        .sync = storage_syncfs,
        .clone = btrfs_clone,
        .destroy = btrfs_destroy,
        .set_disk_limit = btrfs_set_disk_limit,
};
