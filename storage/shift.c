/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shifting a tree's ownership from one id range to another, for a guest in a
 * user namespace on a filesystem that can't be idmapped: owners, ACL entries
 * and file capabilities' root id move; setuid and setgid bits, which chown
 * drops, are put back. Nothing is followed through a symlink. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/interrupt.h"
#include "core/base/path.h"
#include "storage/storage-internal.h"

/* The on-disk ACL format (linux/posix_acl_xattr.h). */
#define ACL_XATTR_VERSION 2
#define ACL_USER 0x02
#define ACL_GROUP 0x08

struct shift {
        uint32_t from, to, count;
        struct lodge_error **err;
        lodge_storage_progress_cb progress;
        void *userdata;
        uint64_t done;
};

static bool in_range(const struct shift *s, uint32_t id)
{
        return id >= s->from && id - s->from < s->count;
}

static uint32_t moved(const struct shift *s, uint32_t id)
{
        return in_range(s, id) ? id - s->from + s->to : id;
}

/* ACL entries naming a user or group of the range. */
static int shift_acl(const struct shift *s, const char *path, const char *name)
{
        unsigned char buf[4 + 8 * 1024];
        ssize_t n = getxattr(path, name, buf, sizeof(buf));

        if (n < 0)
                return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
        if (n < 4 || le32toh(*(uint32_t *)buf) != ACL_XATTR_VERSION || (n - 4) % 8)
                return -EINVAL;
        for (ssize_t off = 4; off < n; off += 8) {
                uint16_t tag;
                uint32_t id;

                memcpy(&tag, buf + off, 2);
                memcpy(&id, buf + off + 4, 4);
                tag = le16toh(tag);
                if (tag == ACL_USER || tag == ACL_GROUP) {
                        id = htole32(moved(s, le32toh(id)));
                        memcpy(buf + off + 4, &id, 4);
                }
        }
        return setxattr(path, name, buf, (size_t)n, 0) < 0 ? -errno : 0;
}

/* File capabilities belong to a root id: v2 (host root's) becomes v3 of the
 * range's root, a v3 of the range moves. Read before the chown, which drops
 * them; written after it. */
static int read_caps(const char *path, struct vfs_ns_cap_data *caps, ssize_t *ret_len)
{
        ssize_t n = getxattr(path, "security.capability", caps, sizeof(*caps));

        *ret_len = n < 0 ? 0 : n;
        if (n < 0)
                return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
        return 0;
}

static int write_caps(const struct shift *s, const char *path, struct vfs_ns_cap_data *caps,
                      ssize_t len)
{
        uint32_t magic = le32toh(caps->magic_etc) & VFS_CAP_REVISION_MASK;

        if (len == XATTR_CAPS_SZ_2 && magic == VFS_CAP_REVISION_2) {
                caps->magic_etc = htole32((le32toh(caps->magic_etc) & ~VFS_CAP_REVISION_MASK) |
                                          VFS_CAP_REVISION_3);
                caps->rootid = htole32(moved(s, 0));
                len = XATTR_CAPS_SZ_3;
        } else if (len == XATTR_CAPS_SZ_3 && magic == VFS_CAP_REVISION_3) {
                caps->rootid = htole32(moved(s, le32toh(caps->rootid)));
        } else {
                return 0; /* nothing we know how to move: left off */
        }
        return setxattr(path, "security.capability", caps, (size_t)len, 0) < 0 ? -errno : 0;
}

static int shift_entry(struct shift *s, int dirfd, const char *name, const struct stat *st)
{
        struct vfs_ns_cap_data caps;
        cleanup_close int fd = -EBADF;
        char path[64];
        ssize_t caps_len = 0;
        int r;

        if (!in_range(s, st->st_uid) && !in_range(s, st->st_gid) && !S_ISDIR(st->st_mode) &&
            !S_ISREG(st->st_mode))
                return 0;
        if (S_ISLNK(st->st_mode))
                return fchownat(dirfd, name, moved(s, st->st_uid), moved(s, st->st_gid),
                                AT_SYMLINK_NOFOLLOW) < 0
                               ? -errno
                               : 0;
        /* Through an O_PATH fd's magic link: the node itself, never opened. */
        fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (S_ISREG(st->st_mode) && (r = read_caps(path, &caps, &caps_len)) < 0)
                return r;
        if (fchownat(fd, "", moved(s, st->st_uid), moved(s, st->st_gid), AT_EMPTY_PATH) < 0)
                return -errno;
        if (st->st_mode & (S_ISUID | S_ISGID) && chmod(path, st->st_mode & 07777) < 0)
                return -errno;
        r = shift_acl(s, path, "system.posix_acl_access");
        if (r >= 0 && S_ISDIR(st->st_mode))
                r = shift_acl(s, path, "system.posix_acl_default");
        if (r >= 0 && caps_len > 0)
                r = write_caps(s, path, &caps, caps_len);
        return r;
}

static int shift_one(int dirfd, const char *name, const struct stat *st, void *userdata)
{
        struct shift *s = userdata;
        int r;

        if (interrupt_pending())
                return -EINTR;
        r = shift_entry(s, dirfd, name, st);
        if (r < 0 && s->err && !*s->err)
                lodge_error_set(s->err, -r, "shift the owner of '%s'", name);
        if (++s->done % 1024 == 0 && s->progress)
                s->progress("shifting ownership", s->done, 0, s->userdata);
        return r;
}

int lodge_storage_shift(int rootfd, uint32_t from, uint32_t to, uint32_t count,
                        lodge_storage_progress_cb progress, void *userdata, uint64_t *ret_n,
                        struct lodge_error **err)
{
        struct shift s = { .from = from,
                           .to = to,
                           .count = count,
                           .err = err,
                           .progress = progress,
                           .userdata = userdata };
        struct stat st;
        int r;

        if (fstat(rootfd, &st) < 0)
                return lodge_error_set(err, errno, "stat the rootfs");
        r = shift_entry(&s, rootfd, ".", &st);
        if (r < 0)
                return lodge_error_set(err, -r, "shift the owner of the rootfs");
        r = storage_walk(rootfd, shift_one, &s);
        if (r == -EINTR)
                return lodge_error_set(err, EINTR, "interrupted by signal %d", interrupt_pending());
        if (r < 0)
                return r;
        if (ret_n)
                *ret_n = s.done;
        return 0;
}
