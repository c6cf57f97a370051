/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A guest's rootfs as a detached mount, whatever its backend: what start
 * mounts for the guest, and what create, copy and info look into. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/core-internal.h"
#include "storage/storage.h"

const char *rootfs_backend_name(enum lodge_backend b)
{
        switch (b) {
        case LODGE_BACKEND_OVERLAY:
                return "overlay";
        case LODGE_BACKEND_BTRFS:
                return "btrfs";
        case LODGE_BACKEND_DIR:
        default:
                return "dir";
        }
}

int rootfs_layer_open(const struct lodge_paths *p, const struct lodge_config *cfg,
                      struct lodge_error **err)
{
        cleanup_free char *path = NULL;
        cleanup_close int layers = -EBADF;
        int fd;

        if (!cfg->rootfs_layer)
                return -EBADF;
        if (asprintf(&path, "%s/layers", p->root) < 0)
                return lodge_error_set(err, ENOMEM, "build the layers path");
        layers = open_dir_at(AT_FDCWD, path);
        fd = layers < 0 ? layers : lodge_storage_layer_open(layers, cfg->rootfs_layer);
        if (fd < 0)
                return lodge_error_set(err, -fd, "open the guest's layer '%s'", cfg->rootfs_layer);
        return fd;
}

int rootfs_disk_limit(int cdirfd, const struct lodge_config *cfg, struct lodge_error **err)
{
        const struct lodge_storage_ops *ops = lodge_storage_find(rootfs_backend_name(cfg->backend));

        /* No limit: one set before goes (quotas may be off: nothing to remove). */
        if (!cfg->limits.disk) {
                if (ops->set_disk_limit && !cfg->rootfs_path)
                        (void)ops->set_disk_limit(cdirfd, 0, NULL);
                return 0;
        }
        if (!ops->set_disk_limit || cfg->rootfs_path)
                return lodge_error_set(err, EOPNOTSUPP,
                                       "limits.disk: the '%s' backend can't enforce it (btrfs with "
                                       "quotas can)",
                                       cfg->rootfs_path ? "rootfs.path" : ops->name);
        return ops->set_disk_limit(cdirfd, cfg->limits.disk, err);
}

bool rootfs_merged(const struct lodge_config *cfg)
{
        return !cfg->rootfs_path && lodge_storage_find(rootfs_backend_name(cfg->backend))->merged;
}

int rootfs_open(const struct lodge_paths *p, int cdirfd, const struct lodge_config *cfg,
                enum lodge_storage_view view, struct lodge_error **err)
{
        const struct lodge_storage_ops *ops = lodge_storage_find(rootfs_backend_name(cfg->backend));
        cleanup_close int layer = -EBADF;
        int fd;

        if (cfg->rootfs_path) {
                fd = open(cfg->rootfs_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                return fd < 0 ? lodge_error_set(err, errno, "open the rootfs '%s'",
                                                cfg->rootfs_path)
                              : fd;
        }
        if (ops->merged && cfg->rootfs_layer && (layer = rootfs_layer_open(p, cfg, err)) < 0)
                return layer;
        return lodge_storage_open_rootfs(ops, cdirfd, layer, view, err);
}

int rootfs_view(const struct lodge_paths *p, int cdirfd, const struct lodge_config *cfg,
                const struct lodge_storage_idmap *idmap, enum lodge_storage_view view,
                struct lodge_error **err)
{
        const struct lodge_storage_ops *ops = lodge_storage_find(rootfs_backend_name(cfg->backend));
        cleanup_close int layer = -EBADF;
        int r;

        if (cfg->rootfs_path) {
                cleanup_close int dir = open(cfg->rootfs_path, O_PATH | O_DIRECTORY | O_CLOEXEC);

                if (dir < 0)
                        return lodge_error_set(err, errno, "open the rootfs '%s'",
                                               cfg->rootfs_path);
                return lodge_storage_tree_clone(dir, "", idmap ? idmap->userns_fd : -EBADF,
                                                view == LODGE_VIEW_READ, err);
        }
        if (cfg->rootfs_layer) {
                layer = rootfs_layer_open(p, cfg, err);
                if (layer < 0)
                        return layer;
        }
        r = ops->open_tree(cdirfd, layer, idmap, view, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "storage '%s'", ops->name);
        return r;
}
