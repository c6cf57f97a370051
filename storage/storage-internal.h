/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/stat.h>

#include "storage/storage.h"

extern const struct lodge_storage_ops storage_dir_ops;
extern const struct lodge_storage_ops storage_overlay_ops;
extern const struct lodge_storage_ops storage_btrfs_ops;

/* Call fn for every entry below fd, depth first, a directory before what it
 * holds, never through a symlink or into a directory fn returns 1 for; the
 * first fn < 0 stops the walk and is returned. */
typedef int (*storage_walk_fn)(int dirfd, const char *name, const struct stat *st, void *userdata);
int storage_walk(int fd, storage_walk_fn fn, void *userdata);

/* The sync of dir and btrfs: the whole filesystem (what lodge wrote there is a
 * whole tree, or a snapshot and a few files). */
int storage_syncfs(int dirfd, struct lodge_error **err);

/* Make everything below dirfd/name durable, and dirfd/name in dirfd (overlay:
 * an upper layer holds only what the guest or lodge wrote). */
int storage_sync_tree(int dirfd, const char *name, struct lodge_error **err);

/* Copy the tree at srcfd into the empty directory dstfd (copy.c). */
int storage_copy_tree(int srcfd, int dstfd, bool cow_only, struct lodge_error **err);

/* Copy the directory srcfd to dst/name (which must not exist yet). */
int storage_copy_dir_to(int srcfd, int dst, const char *name, bool cow_only,
                        struct lodge_error **err);

/* btrfs subvolumes (btrfs.c): an empty one at dirfd/name; a snapshot of the
 * subvolume srcfd at dirfd/name; removing one (with what is nested in it). */
int btrfs_subvol_create(int dirfd, const char *name, struct lodge_error **err);
int btrfs_subvol_snapshot(int srcfd, int dirfd, const char *name, bool read_only,
                          struct lodge_error **err);
int btrfs_subvol_remove(int dirfd, const char *name, struct lodge_error **err);
int btrfs_subvol_set_read_only(int fd, bool ro, struct lodge_error **err);
bool btrfs_is_subvol(int fd);
/* The bytes only this subvolume holds: -EOPNOTSUPP without btrfs quotas. */
int btrfs_subvol_exclusive(int fd, uint64_t *ret);
