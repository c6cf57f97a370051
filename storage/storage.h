/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The front door of storage/: where a guest's root filesystem lives, and the
 * shared, read-only layers that guests are made from.
 *
 * A container directory holds its backend's data:
 *   dir      rootfs/                 a plain tree (a copy of its layer, reflinked where it can)
 *   overlay  overlay/upper, work     the guest's own writes over its layer (or over an empty
 *                                    overlay/lower when its template makes no layer)
 *   btrfs    rootfs/                 a subvolume (a writable snapshot of its layer)
 * and snapshots/SNAP/ the same data of each snapshot (read-only subvolumes on btrfs).
 *
 * A layer, $LODGE_ROOT/layers/KEY/, holds rootfs/ (a subvolume where the root is on btrfs)
 * and a "size" file; it is never written once made. */

#include <stdbool.h>
#include <stdint.h>

#include "core/base/error.h"

/* User namespaces to idmap a guest's rootfs through: userns maps 0..65535 to
 * the guest's range; writer additionally maps 65536 to host root, for what
 * overlayfs makes as its mounter (its work files): the guest never gets it. */
struct lodge_storage_idmap {
        int userns_fd;
        int writer_userns_fd;
};

/* What a mount of a guest's rootfs is for. */
enum lodge_storage_view {
        LODGE_VIEW_GUEST,   /* the guest's own: writable, synced as any filesystem */
        LODGE_VIEW_READ,    /* lodge looking in: read-only */
        LODGE_VIEW_SCRATCH, /* lodge writing a few files (create, copy): not synced by the
                             * mount; ->sync makes them durable once it is closed */
};

struct lodge_storage_ops {
        const char *name;
        /* Where a template writes when there is no layer: relative to the container dir. */
        const char *fill_dir;
        /* The rootfs exists only as a mount (open_tree); else it is the directory "rootfs". */
        bool merged;
        /* Make the backend's data in the empty container dir cdirfd: from a layer (its
         * O_DIRECTORY fd), or empty (layerfd < 0) for a template to fill at fill_dir. */
        int (*create)(int cdirfd, int layerfd, struct lodge_error **err);
        /* The rootfs as the guest sees it, as a detached mount (open_tree/fsmount). The
         * layer is that of create (-EBADF: none). With an idmap the tree (or its layers)
         * is idmapped, so that ids 0..65535 on disk appear as the guest's. */
        int (*open_tree)(int cdirfd, int layerfd, const struct lodge_storage_idmap *idmap,
                         enum lodge_storage_view view, struct lodge_error **err);
        /* Make what lodge wrote in dirfd (a container or snapshot dir) durable; no mount
         * of it may be open but a guest's. */
        int (*sync)(int dirfd, struct lodge_error **err);
        /* Copy the data of src into the empty dst (a container dir or a snapshot dir);
         * cow_only refuses a full copy (copy --snapshot). read_only makes the copy read-only
         * where the backend can (btrfs snapshots). */
        int (*clone)(int srcfd, int dstfd, bool cow_only, bool read_only, struct lodge_error **err);
        /* Remove the backend's data in dirfd (the caller removes the rest). */
        int (*destroy)(int dirfd, struct lodge_error **err);
        /* Limit the bytes the rootfs refers to (0: no limit); NULL where it can't be. */
        int (*set_disk_limit)(int cdirfd, uint64_t bytes, struct lodge_error **err);
};

/* NULL when unknown. */
const struct lodge_storage_ops *lodge_storage_find(const char *name);

/* A detached clone of the mount of dirfd/name (name "": dirfd itself), not of
 * the mounts below it; idmapped through userns_fd when >= 0, read-only with ro. */
int lodge_storage_tree_clone(int dirfd, const char *name, int userns_fd, bool ro,
                             struct lodge_error **err);

/* The rootfs in the container dir cdirfd to look into or write a few files
 * in: the directory "rootfs", or a merged backend's mount (open_tree, no
 * idmap, with the layer it was made from). */
int lodge_storage_open_rootfs(const struct lodge_storage_ops *ops, int cdirfd, int layerfd,
                              enum lodge_storage_view view, struct lodge_error **err);

/* The default backend for a root: btrfs where dirfd is on btrfs, else dir. */
const char *lodge_storage_default(int dirfd);

/* Is the filesystem of dirfd btrfs? */
bool lodge_storage_is_btrfs(int dirfd);

/* Bytes in blocks used by the tree at dirfd/name (not crossing mounts; hard links once);
 * for a btrfs subvolume the bytes only it holds, known with quotas on (else -EOPNOTSUPP). */
int lodge_storage_usage(int dirfd, const char *name, uint64_t *ret, struct lodge_error **err);

typedef void (*lodge_storage_progress_cb)(const char *what, uint64_t done, uint64_t total,
                                          void *userdata);

/* Move the ownership of the tree rootfd from ids from..from+count-1 to
 * to..to+count-1: owners, ACL entries, file capabilities' root id (v2 ones
 * become v3 of the new root); setuid/setgid bits kept. For a guest in a user
 * namespace on a filesystem that can't be idmapped. *ret_n (may be NULL):
 * how many entries were seen. */
int lodge_storage_shift(int rootfd, uint32_t from, uint32_t to, uint32_t count,
                        lodge_storage_progress_cb progress, void *userdata, uint64_t *ret_n,
                        struct lodge_error **err);

/* ---- layers ---- */

/* Is key a valid layer name ([A-Za-z0-9._-], 1 to 128, not starting with '.')? */
bool lodge_storage_layer_key_valid(const char *key);

/* The layer's rootfs at layersfd/key/rootfs: an O_DIRECTORY fd, or -ENOENT. */
int lodge_storage_layer_open(int layersfd, const char *key);

/* Start a layer: a hidden directory under layersfd with an empty rootfs (a subvolume on
 * btrfs). Returns the rootfs' fd for a template to fill; *ret_tmp names the hidden dir. */
int lodge_storage_layer_begin(int layersfd, const char *key, char **ret_tmp,
                              struct lodge_error **err);

/* Seal a filled layer (read-only on btrfs, its size recorded) and move it into place. */
int lodge_storage_layer_commit(int layersfd, const char *tmp, const char *key,
                               struct lodge_error **err);

/* Remove a layer, or a hidden one that was never committed. A missing one is success. */
int lodge_storage_layer_remove(int layersfd, const char *name, struct lodge_error **err);

/* The recorded size of a layer in bytes (0 when unknown). */
uint64_t lodge_storage_layer_size(int layersfd, const char *key);

/* The prefix of hidden layer directories (left by an interrupted create). */
#define LODGE_STORAGE_LAYER_TMP ".new-"
