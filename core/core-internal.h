/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/container.h"
#include "storage/storage.h"
#include "templates/template.h"

/* ---- paths.c: lodge's own directories ---- */

/* The open state directories below the root: containers/ and locks/. */
struct root_dirs {
        int root;       /* $LODGE_ROOT */
        int containers; /* $LODGE_ROOT/containers */
        int locks;      /* $LODGE_ROOT/locks */
};
#define ROOT_DIRS_NULL                                                                             \
        {                                                                                          \
                -EBADF, -EBADF, -EBADF                                                             \
        }
void root_dirs_done(struct root_dirs *d);

/* Open (and with create, make) the root's directories. Each is created 0700
 * (the root 0711), never followed through a symlink, and refused when it is
 * writable by anyone else (a hostile pre-made directory). -ENOENT without
 * create when the root doesn't exist yet. */
int root_dirs_open(const struct lodge_paths *p, bool create, struct root_dirs *ret,
                   struct lodge_error **err);

/* For commands on one existing container: check the name, open the root's
 * directories; -ENOENT "no such container" when there is no root yet. */
int container_dirs_open(const struct lodge_paths *p, const char *name, struct root_dirs *ret,
                        struct lodge_error **err);

/* The container's directory; -ENOENT "no such container". */
int container_dir_open(const struct root_dirs *d, const char *name, struct lodge_error **err);

/* Open a lodge-owned directory at an absolute path with the same checks;
 * parents are made with mkdir -p semantics. */
int state_dir_open(const char *path, mode_t mode, bool create, struct lodge_error **err);

/* The same for parent/name (0700), parent_path/name in messages. */
int state_subdir_open(int parent, const char *parent_path, const char *name, bool create,
                      struct lodge_error **err);

/* ---- lock.c: per-container exclusive locks ---- */

struct container_lock {
        int fd;
        int locks_dirfd; /* borrowed */
        char *name;
};
#define CONTAINER_LOCK_NULL                                                                        \
        {                                                                                          \
                -EBADF, -EBADF, NULL                                                               \
        }

/* Take the exclusive lock of container name, waiting up to $LODGE_LOCK_TIMEOUT
 * seconds (default 5). what ("create", "destroy", …) is recorded so that a
 * waiter can say who holds it: -EBUSY "locked by pid N (what)". */
int container_lock(int locks_dirfd, const char *name, const char *what, struct container_lock *ret,
                   struct lodge_error **err);

/* Try once without waiting: 0 when taken, -EBUSY when held by someone. */
int container_trylock(int locks_dirfd, const char *name, const char *what,
                      struct container_lock *ret, struct lodge_error **err);

/* Release and remove the lock file (a waiter notices and retries). */
void container_unlock(struct container_lock *l);

/* ---- state.c: run state ---- */

/* The container's live state from $LODGE_RUNDIR/NAME/state; a missing file
 * or a dead init means stopped. ret_pid may be NULL. */
int state_read(const struct lodge_paths *p, const char *name, enum lodge_state *ret,
               int64_t *ret_pid, struct lodge_error **err);

/* Remove leftovers of create/destroy runs that were killed (hidden
 * ".create-NAME-*" and ".destroy-NAME-*" directories whose lock is free). */
void state_gc(const struct root_dirs *d);

/* ---- layer.c: the layers guests share ($LODGE_ROOT/layers) ---- */

int layers_dir_open(const struct lodge_paths *p, const struct root_dirs *d, bool create,
                    struct lodge_error **err);
/* The rootfs fd of layer key, made with the template when missing; *ret_lock
 * holds it (shared) until the caller's guest, naming it, is in place. */
int layer_get(const struct lodge_paths *p, const struct root_dirs *d, const char *key,
              const struct lodge_template_ops *t, void *state, const struct lodge_template_ctx *ctx,
              int *ret_lock, struct lodge_error **err);
/* Remove layer key unless a guest is made from it (-EBUSY naming it). */
int layer_remove(const struct lodge_paths *p, const struct root_dirs *d, const char *key, bool wait,
                 struct lodge_error **err);
/* Remove every layer no guest uses, and what interrupted creates left. */
int layers_prune(const struct lodge_paths *p, const struct root_dirs *d, unsigned *ret_n,
                 struct lodge_error **err);

/* ---- rootfs.c ---- */

const char *rootfs_backend_name(enum lodge_backend b);
/* The rootfs fd of the guest's layer; -EBADF when it has none. */
int rootfs_layer_open(const struct lodge_paths *p, const struct lodge_config *cfg,
                      struct lodge_error **err);
/* Enforce limits.disk on the guest in cdirfd where the backend can (none:
 * lift one); -EOPNOTSUPP where it can't. */
int rootfs_disk_limit(int cdirfd, const struct lodge_config *cfg, struct lodge_error **err);
/* Does the guest's rootfs exist only as a mount (overlay)? */
bool rootfs_merged(const struct lodge_config *cfg);
/* The guest's rootfs to look into: its directory, or a mount of it (overlay). */
int rootfs_open(const struct lodge_paths *p, int cdirfd, const struct lodge_config *cfg,
                enum lodge_storage_view view, struct lodge_error **err);
/* The guest's rootfs as a detached mount (idmapped with idmap). */
int rootfs_view(const struct lodge_paths *p, int cdirfd, const struct lodge_config *cfg,
                const struct lodge_storage_idmap *idmap, enum lodge_storage_view view,
                struct lodge_error **err);

/* Remove every snapshot in the container dir cdirfd (snapshot.c). */
struct lodge_storage_ops;
int snapshots_destroy(int cdirfd, const struct lodge_storage_ops *ops, struct lodge_error **err);

/* ---- create.c, for copy too ---- */

/* The per-guest files of a rootfs (hostname, machine-id, net.0's config...). */
int create_guest_fixup(int rootfd, const char *name, const struct lodge_config *cfg,
                       struct lodge_error **err);
/* Move the hidden directory tmp (tmpfd, may be < 0) into place as name, or
 * after a failure (r < 0, returned) remove it with its backend's data. */
int create_finish(const struct root_dirs *d, const char *tmp, int tmpfd,
                  const struct lodge_storage_ops *ops, const char *name, int r,
                  struct lodge_error **err);
/* A hidden directory CREATE_PREFIX NAME-random in containers, made 0700. */
int create_hidden_dir(int containers, const char *name, char **ret, struct lodge_error **err);
/* Hold layer key shared (a guest being made from it): an fd to close. */
int layer_hold(const struct lodge_paths *p, const struct root_dirs *d, const char *key,
               struct lodge_error **err);

#define CREATE_PREFIX ".create-"
#define DESTROY_PREFIX ".destroy-"

/* ---- control.c: a running guest's cgroups ---- */

struct lodge_live_info {
        enum lodge_state state; /* FROZEN when its freezer says so */
        int64_t init_pid;
        int64_t started_at;
        uint64_t memory, cpu_ns, processes, oom_kills;
        char ended[16];
};

/* Thaw a running container if it is frozen. */
int live_thaw(const struct lodge_paths *p, const char *name, struct lodge_error **err);

/* The live state of a container, from its run state and cgroups. */
int live_state(const struct lodge_paths *p, const char *name, struct lodge_live_info *ret,
               struct lodge_error **err);

/* Apply cfg's limits to the guest now, when it runs (no-op otherwise). */
int live_apply_limits(const struct lodge_paths *p, const char *name, const struct lodge_config *cfg,
                      char ***ret_warnings, struct lodge_error **err);

/* ---- provision.c: lodge create's first-boot options ---- */

struct provision {
        char *user, *password_hash, *timezone;
        char *ssh_key_file, *run_once_file; /* host paths */
        char *ssh_key, *run_once;           /* their contents */
        char **files;                       /* host SRC, guest DEST pairs */
        char *cloud_user_data, *cloud_meta_data, *cloud_network_config;
        struct lodge_guest_provision view; /* borrows the above */
};
void provision_done(struct provision *p);

/* Merge the --provision file (if any) with the options (which win), read the
 * key and the script, check everything. -EINVAL with the reason. */
int provision_load(const struct lodge_create_options *o, struct provision *ret,
                   struct lodge_error **err);
bool provision_is_empty(const struct provision *p);

/* The cloud-init.* keys of cfg (values "@FILE" read from the host) for the
 * NoCloud seed of guest name. */
int provision_load_cloud_init(struct provision *p, const struct lodge_config *cfg, const char *name,
                              struct lodge_error **err);
