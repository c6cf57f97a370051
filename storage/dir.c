/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/stat.h>

#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "storage/storage-internal.h"

/* The plain backend: the rootfs is a directory inside the container's. */

static int dir_create(int cdirfd, struct lodge_error **err)
{
        int fd;

        if (mkdirat(cdirfd, "rootfs", 0755) < 0)
                return lodge_error_set(err, errno, "create directory 'rootfs'");
        fd = open_dir_at(cdirfd, "rootfs");
        if (fd < 0)
                return lodge_error_set(err, -fd, "open directory 'rootfs'");
        return fd;
}

static int dir_destroy(int cdirfd, struct lodge_error **err)
{
        return rm_rf_at(cdirfd, "rootfs", err);
}

const struct lodge_storage_ops storage_dir_ops = {
        .name = "dir",
        .create = dir_create,
        .destroy = dir_destroy,
};
