/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/apparmor.h"
#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "core/cgroup.h"
#include "core/core-internal.h"
#include "core/run.h"
#include "storage/storage.h"

/* Rename the container out of sight first, so that list never shows a
 * half-removed one and a crash midway leaves a leftover that state_gc()
 * finishes, not a broken container. */
static int hide(int containers, const char *name, char **ret, struct lodge_error **err)
{
        for (int attempt = 0; attempt < 16; attempt++) {
                cleanup_free char *hidden = NULL;
                unsigned rnd = 0;

                if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                        return lodge_error_set(err, EIO, "get random bytes");
                if (asprintf(&hidden, DESTROY_PREFIX "%s-%08x", name, rnd) < 0)
                        return lodge_error_set(err, ENOMEM, "build directory name");
                if (renameat2(containers, name, containers, hidden, RENAME_NOREPLACE) == 0) {
                        *ret = TAKE_PTR(hidden);
                        return 0;
                }
                if (errno != EEXIST)
                        return lodge_error_set(err, errno, "move container '%s' aside", name);
        }
        return lodge_error_set(err, EEXIST, "move container '%s' aside", name);
}

/* Let the storage backend remove what it owns (subvolumes, layers). A config
 * that can't be read any more doesn't stop a destroy: the tree goes anyway. */
static int backend_destroy(int cdirfd, struct lodge_error **err)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
        const struct lodge_storage_ops *ops;

        if (lodge_config_load_at(cdirfd, "config", "config", &cfg, NULL) < 0)
                return 0;
        ops = lodge_storage_find(rootfs_backend_name(cfg->backend));
        if (!ops)
                return 0;
        int r = snapshots_destroy(cdirfd, ops, err);
        if (r < 0)
                return r;
        return ops->destroy(cdirfd, err);
}

/* No container, and none being made (a create or copy works in a hidden
 * directory in there). */
static bool dir_empty(int dirfd)
{
        cleanup_closedir DIR *dir = opendir_fd(dirfd);
        struct dirent *de;

        if (!dir)
                return false;
        while ((de = readdir(dir)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        return false;
        return true;
}

/* The root's last guest is gone: the cgroup parent its guests shared, which
 * stays in the cpuset hierarchy after a stop (core/cgroup.c), goes too. */
static void remove_cgroup_parent(const struct lodge_paths *p, const char *name)
{
        struct cg_host host = { .v2 = -1 };
        struct cg_guest g = { 0 };

        if (cg_host_detect(&host, NULL) >= 0 && cg_guest_init(&g, &host, p->tag, name, NULL) >= 0)
                cg_guest_remove_parent(&g);
        cg_guest_done(&g);
        cg_host_done(&host);
}

static int destroy_locked(const struct lodge_paths *p, const struct root_dirs *d, const char *name,
                          bool force, struct lodge_error **err)
{
        cleanup_free char *hidden = NULL, *run = NULL;
        cleanup_close int cdirfd = -EBADF;
        enum lodge_state st;
        struct stat s;
        int r;

        if (fstatat(d->containers, name, &s, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return lodge_error_set(err, ENOENT, "no such container");
                return lodge_error_set(err, errno, "stat container");
        }
        r = state_read(p, name, &st, NULL, err);
        if (r < 0)
                return r;
        if (st != LODGE_STATE_STOPPED) {
                char ended[16];

                if (!force)
                        return lodge_error_set(err, EBUSY,
                                               "container is %s (stop it first, or use --force)",
                                               lodge_state_to_string(st));
                r = stop_locked(p, name, &(struct lodge_stop_options){ .kill = true }, ended, err);
                if (r < 0 && r != -ESRCH)
                        return r;
                lodge_error_free(err);
        }
        r = apparmor_remove(p, d->root, name, err);
        if (r < 0)
                return r;

        r = hide(d->containers, name, &hidden, err);
        if (r < 0)
                return r;
        if (fsync(d->containers) < 0)
                log_debug("fsync of the containers directory failed: %m, ignoring");

        cdirfd = open_dir_at(d->containers, hidden);
        if (cdirfd >= 0) {
                r = backend_destroy(cdirfd, err);
                if (r < 0)
                        return r;
        }
        r = rm_rf_at(d->containers, hidden, err);
        if (r < 0)
                return r;

        /* Run state (console log) of a guest that is gone. */
        if (asprintf(&run, "%s/%s", p->rundir, name) >= 0)
                (void)rm_rf_at(AT_FDCWD, run, NULL);
        if (dir_empty(d->containers))
                remove_cgroup_parent(p, name);
        return 0;
}

int lodge_container_destroy(const struct lodge_paths *p, const char *name, bool force,
                            struct lodge_error **err)
{
        struct root_dirs d = ROOT_DIRS_NULL;
        struct container_lock l = CONTAINER_LOCK_NULL;
        int r;

        r = container_dirs_open(p, name, &d, err);
        if (r < 0)
                return r;
        state_gc(&d);
        r = container_lock(d.locks, name, "destroy", &l, err);
        if (r >= 0) {
                r = destroy_locked(p, &d, name, force, err);
                container_unlock(&l);
        }
        root_dirs_done(&d);
        return r;
}
