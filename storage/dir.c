/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/stat.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "storage/storage-internal.h"

/* The plain backend: the rootfs is a directory inside the container's, a
 * copy of its layer (reflinked where the filesystem can). */

static int dir_create(int cdirfd, int layerfd, struct lodge_error **err)
{
        if (layerfd >= 0)
                return storage_copy_dir_to(layerfd, cdirfd, "rootfs", false, err);
        if (mkdirat(cdirfd, "rootfs", 0755) < 0)
                return lodge_error_set(err, errno, "create directory 'rootfs'");
        return 0;
}

static int dir_open_tree(int cdirfd, int layerfd, const struct lodge_storage_idmap *idmap,
                         enum lodge_storage_view view, struct lodge_error **err)
{
        (void)layerfd;
        return lodge_storage_tree_clone(cdirfd, "rootfs", idmap ? idmap->userns_fd : -EBADF,
                                        view == LODGE_VIEW_READ, err);
}

static int dir_clone(int srcfd, int dstfd, bool cow_only, bool read_only, struct lodge_error **err)
{
        cleanup_close int rootfd = open_dir_at(srcfd, "rootfs");

        (void)read_only;
        if (rootfd < 0)
                return lodge_error_set(err, -rootfd, "open the rootfs");
        return storage_copy_dir_to(rootfd, dstfd, "rootfs", cow_only, err);
}

static int dir_destroy(int dirfd, struct lodge_error **err)
{
        return rm_rf_at(dirfd, "rootfs", err);
}

const struct lodge_storage_ops storage_dir_ops = {
        .name = "dir",
        .fill_dir = "rootfs",
        .create = dir_create,
        .open_tree = dir_open_tree,
        .sync = storage_syncfs,
        .clone = dir_clone,
        .destroy = dir_destroy,
};
