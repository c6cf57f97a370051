/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* overlayfs: the guest's layer as the read-only lower layer, shared by every
 * guest made from it, and the guest's own writes in overlay/upper. The mount
 * is made with the new mount API from descriptors, so no path is looked up
 * twice; an unprivileged guest's layers are idmapped mounts (overlayfs
 * itself can't be idmapped). */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "storage/storage-internal.h"

static int overlay_create(int cdirfd, int layerfd, struct lodge_error **err)
{
        static const struct {
                const char *path;
                mode_t mode;
        } dirs[] = {
                { "overlay", 0700 },
                { "overlay/upper", 0755 },
                { "overlay/work", 0700 },
                { "rootfs", 0755 }, /* where the guest's mount goes */
        };
        struct stat st;

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                if (mkdirat(cdirfd, dirs[i].path, dirs[i].mode) < 0)
                        return lodge_error_set(err, errno, "create directory '%s'", dirs[i].path);
        /* No layer: an empty one of its own below what the template writes. */
        if (layerfd < 0) {
                if (mkdirat(cdirfd, "overlay/lower", 0755) < 0)
                        return lodge_error_set(err, errno, "create directory 'overlay/lower'");
                return 0;
        }
        /* The merged root takes the upper's owner and mode: those of the layer's root. */
        if (fstat(layerfd, &st) < 0 ||
            fchownat(cdirfd, "overlay/upper", st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchmodat(cdirfd, "overlay/upper", st.st_mode & 07777, 0) < 0)
                return lodge_error_set(err, errno, "set up 'overlay/upper'");
        return 0;
}

/* Layers from descriptors (Linux 6.13), else their paths through /proc. */
static int set_layers(int fs, const int *lower, size_t n_lower, int upper, int work,
                      struct lodge_error **err)
{
        char paths[2][64], lowers[160] = "";
        bool by_fd = true;

        for (size_t i = 0; i < n_lower && by_fd; i++)
                if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, "lowerdir+", NULL, lower[i]) < 0) {
                        if (errno != EINVAL || i > 0)
                                return lodge_error_set(err, errno, "overlayfs: set a lower layer");
                        by_fd = false;
                }
        if (by_fd && upper >= 0 &&
            (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, "upperdir", NULL, upper) < 0 ||
             syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, "workdir", NULL, work) < 0))
                return lodge_error_set(err, errno, "overlayfs: set the upper layer");
        if (by_fd)
                return 0;
        for (size_t i = 0; i < n_lower; i++)
                snprintf(lowers + strlen(lowers), sizeof(lowers) - strlen(lowers),
                         "%s/proc/self/fd/%d", i ? ":" : "", lower[i]);
        snprintf(paths[0], sizeof(paths[0]), "/proc/self/fd/%d", upper);
        snprintf(paths[1], sizeof(paths[1]), "/proc/self/fd/%d", work);
        if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", lowers, 0) < 0 ||
            (upper >= 0 &&
             (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", paths[0], 0) < 0 ||
              syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", paths[1], 0) < 0)))
                return lodge_error_set(err, errno, "overlayfs: set the layers");
        return 0;
}

/* GUEST: the layer below, the guest's upper layer above. SCRATCH: the same,
 * "volatile" (no sync of the upper filesystem at every fsync and at the end:
 * ->sync does what is needed). READ: the upper as one more lower layer, no
 * work directory, nothing written: safe beside a running guest's mount. */
static int overlay_open_tree(int cdirfd, int layerfd, const struct lodge_storage_idmap *idmap,
                             enum lodge_storage_view view, struct lodge_error **err)
{
        cleanup_close int lower = -EBADF, own = -EBADF, upper = -EBADF, work = -EBADF;
        cleanup_close int fs = -EBADF;
        int userns = idmap ? idmap->userns_fd : -EBADF;
        int writer = idmap ? idmap->writer_userns_fd : -EBADF;
        int r, m;

        if (layerfd >= 0)
                lower = lodge_storage_tree_clone(layerfd, "", userns, true, err);
        else
                lower = lodge_storage_tree_clone(cdirfd, "overlay/lower", userns, true, err);
        if (lower < 0)
                return lower;
        if (idmap && writer < 0 && view != LODGE_VIEW_READ)
                return lodge_error_set(err, EINVAL, "overlayfs: no writer namespace to idmap with");
        /* upper and work must be on one mount */
        if (view == LODGE_VIEW_READ)
                own = lodge_storage_tree_clone(cdirfd, "overlay", userns, true, err);
        else if (writer >= 0)
                own = lodge_storage_tree_clone(cdirfd, "overlay", writer, false, err);
        else if ((own = open_dir_at(cdirfd, "overlay")) < 0)
                return lodge_error_set(err, -own, "open 'overlay'");
        if (own < 0)
                return own;
        upper = openat(own, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        work = openat(own, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (upper < 0 || work < 0)
                return lodge_error_set(err, errno, "open 'overlay/upper' and 'overlay/work'");

        fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return lodge_error_set(err, errno, "overlayfs: open a new mount");
        if (view == LODGE_VIEW_READ)
                r = set_layers(fs, (int[]){ upper, lower }, 2, -EBADF, -EBADF, err);
        else
                r = set_layers(fs, &lower, 1, upper, work, err);
        if (r < 0)
                return r;
        if (view == LODGE_VIEW_SCRATCH &&
            syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
                return lodge_error_set(err, errno, "overlayfs: set volatile");
        if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return lodge_error_set(err, errno, "overlayfs: create the mount (see dmesg)");
        m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                         view == LODGE_VIEW_READ ? MOUNT_ATTR_RDONLY : 0);
        if (m < 0)
                return lodge_error_set(err, errno, "overlayfs: mount");
        return m;
}

/* A fresh work directory (a volatile mount leaves a mark there that makes the
 * next mount fail), then every file lodge or the guest wrote. */
static int overlay_sync(int dirfd, struct lodge_error **err)
{
        cleanup_close int ov = open_dir_at(dirfd, "overlay");
        int r;

        if (ov < 0)
                return lodge_error_set(err, -ov, "open 'overlay'");
        r = rm_rf_at(ov, "work", err);
        if (r < 0)
                return r;
        if (mkdirat(ov, "work", 0700) < 0)
                return lodge_error_set(err, errno, "create directory 'overlay/work'");
        return storage_sync_tree(dirfd, "overlay", err);
}

static int overlay_clone(int srcfd, int dstfd, bool cow_only, bool read_only,
                         struct lodge_error **err)
{
        cleanup_close int src = -EBADF, dst = -EBADF;
        int r;

        /* The layer is shared: only the guest's own upper (and a private lower) are
         * copied, so every clone is cheap whatever cow_only says. */
        (void)cow_only;
        (void)read_only;
        src = open_dir_at(srcfd, "overlay");
        if (src < 0)
                return lodge_error_set(err, -src, "open 'overlay'");
        if (mkdirat(dstfd, "rootfs", 0755) < 0 || mkdirat(dstfd, "overlay", 0700) < 0 ||
            (dst = open_dir_at(dstfd, "overlay")) < 0 || mkdirat(dst, "work", 0700) < 0)
                return lodge_error_set(err, errno, "create directory 'overlay'");
        for (int i = 0; i < 2; i++) {
                const char *name = i == 0 ? "upper" : "lower";
                cleanup_close int fd = open_dir_at(src, name);

                if (fd == -ENOENT && i == 1)
                        break;
                if (fd < 0)
                        return lodge_error_set(err, -fd, "open 'overlay/%s'", name);
                r = storage_copy_dir_to(fd, dst, name, false, err);
                if (r < 0)
                        return lodge_error_prefix(err, r, "overlay/%s", name);
        }
        return 0;
}

static int overlay_destroy(int dirfd, struct lodge_error **err)
{
        int r = rm_rf_at(dirfd, "overlay", err);

        if (r < 0)
                return r;
        return rm_rf_at(dirfd, "rootfs", err);
}

const struct lodge_storage_ops storage_overlay_ops = {
        .name = "overlay",
        .fill_dir = "overlay/upper",
        .merged = true,
        .create = overlay_create,
        .open_tree = overlay_open_tree,
        .sync = overlay_sync,
        .clone = overlay_clone,
        .destroy = overlay_destroy,
};
