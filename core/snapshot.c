/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Snapshots: containers/NAME/snapshots/SNAP/ holds the backend's copy of the
 * rootfs (a read-only btrfs snapshot, an overlay's upper, a reflinked or
 * plain copy), the config as it was, and "created". Each is made in a hidden
 * directory and renamed into place; a restore builds the snapshot's copy
 * beside the guest's data and exchanges the two, so a crash leaves either
 * the old rootfs or the restored one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "core/core-internal.h"
#include "storage/storage.h"

#define SNAP_TMP ".new-"
#define SNAP_NAME_MAX 64

int lodge_snapshot_name_check(const char *snap, struct lodge_error **err)
{
        size_t n = strlen(snap);

        if (n == 0 || n > SNAP_NAME_MAX || snap[0] == '.' || snap[0] == '-' ||
            strspn(snap, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
                return lodge_error_set(err, EINVAL,
                                       "bad snapshot name '%s' (letters, digits, '.', '_', '-'; "
                                       "up to %d)",
                                       snap, SNAP_NAME_MAX);
        return 0;
}

struct snap_ctx {
        struct root_dirs d;
        struct container_lock lock;
        int cdirfd;
        struct lodge_config *cfg;
        const struct lodge_storage_ops *ops;
};

static void snap_ctx_done(struct snap_ctx *c)
{
        lodge_config_freep(&c->cfg);
        if (c->cdirfd >= 0)
                close(c->cdirfd);
        container_unlock(&c->lock);
        root_dirs_done(&c->d);
}

static int snap_ctx_open(const struct lodge_paths *p, const char *name, const char *what,
                         struct snap_ctx *c, struct lodge_error **err)
{
        int r;

        *c = (struct snap_ctx){ .d = ROOT_DIRS_NULL,
                                .lock = CONTAINER_LOCK_NULL,
                                .cdirfd = -EBADF };
        r = container_dirs_open(p, name, &c->d, err);
        if (r >= 0)
                r = container_lock(c->d.locks, name, what, &c->lock, err);
        if (r >= 0)
                r = c->cdirfd = container_dir_open(&c->d, name, err);
        if (r >= 0)
                r = lodge_config_load_at(c->cdirfd, "config", "config", &c->cfg, err);
        if (r >= 0 && c->cfg->rootfs_path)
                r = lodge_error_set(err, EOPNOTSUPP,
                                    "the rootfs is kept outside lodge (rootfs.path)");
        if (r < 0) {
                snap_ctx_done(c);
                return r;
        }
        c->ops = lodge_storage_find(rootfs_backend_name(c->cfg->backend));
        return 0;
}

/* Remove a snapshot directory (or a hidden one) with its backend data. */
static int snap_remove(const struct snap_ctx *c, int snaps, const char *snap,
                       struct lodge_error **err)
{
        cleanup_close int fd = open_dir_at(snaps, snap);
        int r;

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return lodge_error_set(err, -fd, "open snapshot '%s'", snap);
        r = c->ops->destroy(fd, err);
        if (r < 0)
                return r;
        return rm_rf_at(snaps, snap, err);
}

/* The first free "snapN". */
static int snap_pick_name(int snaps, char ret[static SNAP_NAME_MAX + 1])
{
        for (unsigned i = 0; i < 100000; i++) {
                struct stat st;

                snprintf(ret, SNAP_NAME_MAX + 1, "snap%u", i);
                if (fstatat(snaps, ret, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
                        return 0;
        }
        return -ENOSPC;
}

static int snapshot_locked(const struct lodge_paths *p, const char *name, struct snap_ctx *c,
                           int snaps, const char *snap, struct lodge_error **err)
{
        cleanup_free char *tmp = NULL, *config = NULL;
        cleanup_close int tmpfd = -EBADF;
        char created[32];
        unsigned rnd = 0;
        size_t len = 0;
        int r;

        (void)p;
        (void)name;
        if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return lodge_error_set(err, EIO, "get random bytes");
        if (asprintf(&tmp, SNAP_TMP "%s-%08x", snap, rnd) < 0)
                return lodge_error_set(err, ENOMEM, "name the snapshot");
        if (mkdirat(snaps, tmp, 0700) < 0)
                return lodge_error_set(err, errno, "create the snapshot's directory");
        r = tmpfd = open_dir_at(snaps, tmp);
        if (r < 0)
                r = lodge_error_set(err, -r, "open the snapshot's directory");
        if (r >= 0)
                r = c->ops->clone(c->cdirfd, tmpfd, false, true, err);
        if (r >= 0)
                r = read_file_at(c->cdirfd, "config", LODGE_CONFIG_MAX_SIZE, &config, &len, err);
        if (r >= 0)
                r = write_file_atomic_at(tmpfd, "config", config, len, 0600, err);
        snprintf(created, sizeof(created), "%lld\n", (long long)time(NULL));
        if (r >= 0)
                r = write_file_atomic_at(tmpfd, "created", created, strlen(created), 0600, err);
        if (r >= 0)
                r = c->ops->sync(tmpfd, err);
        if (r >= 0 && renameat2(snaps, tmp, snaps, snap, RENAME_NOREPLACE) < 0)
                r = lodge_error_set(err, errno == EEXIST ? EEXIST : errno,
                                    "move snapshot '%s' into place", snap);
        if (r < 0) {
                (void)snap_remove(c, snaps, tmp, NULL);
                return r;
        }
        return 0;
}

/* Remove what interrupted snapshots and restores left (we hold the lock). */
static void snap_gc(const struct snap_ctx *c, int snaps)
{
        cleanup_closedir DIR *dir = opendir_fd(snaps);
        struct dirent *de;

        while (dir && (de = readdir(dir)))
                if (strncmp(de->d_name, SNAP_TMP, strlen(SNAP_TMP)) == 0)
                        (void)snap_remove(c, snaps, de->d_name, NULL);
}

int lodge_container_snapshot(const struct lodge_paths *p, const char *name, const char *snap,
                             bool freeze, char **ret_name, struct lodge_error **err)
{
        CLEANUP(snap_ctx_done) struct snap_ctx c;
        cleanup_close int snaps = -EBADF;
        char picked[SNAP_NAME_MAX + 1];
        bool thaw = false;
        enum lodge_state st;
        int r;

        if (snap && (r = lodge_snapshot_name_check(snap, err)) < 0)
                return r;
        r = snap_ctx_open(p, name, "snapshot", &c, err);
        if (r < 0)
                return r;
        r = state_read(p, name, &st, NULL, err);
        if (r < 0)
                return r;
        if (st == LODGE_STATE_RUNNING) {
                if (!freeze)
                        return lodge_error_set(err, EBUSY,
                                               "container is running: a snapshot of it would not "
                                               "be consistent (stop it, or use --freeze)");
                r = lodge_container_freeze(p, name, true, err);
                if (r < 0)
                        return r;
                thaw = true;
        }
        snaps = state_subdir_open(c.cdirfd, "snapshots", "snapshots", true, err);
        if (snaps < 0) {
                r = snaps;
                goto out;
        }
        snap_gc(&c, snaps);
        if (!snap) {
                r = snap_pick_name(snaps, picked);
                if (r < 0) {
                        r = lodge_error_set(err, -r, "pick a snapshot name");
                        goto out;
                }
                snap = picked;
        } else if (faccessat(snaps, snap, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                r = lodge_error_set(err, EEXIST, "snapshot '%s' already exists", snap);
                goto out;
        }
        r = snapshot_locked(p, name, &c, snaps, snap, err);
        if (r >= 0 && ret_name && !(*ret_name = strdup(snap)))
                r = lodge_error_set(err, ENOMEM, "name the snapshot");
out:
        if (thaw) {
                cleanup_error struct lodge_error *e = NULL;

                if (lodge_container_freeze(p, name, false, &e) < 0)
                        log_warn("%s: thaw after the snapshot: %s", name, e->msg);
        }
        return r;
}

/* The guest's snapshots directory and a stream reading it; 0 when it has none. */
static int snaps_open(int cdirfd, DIR **ret, struct lodge_error **err)
{
        int fd = open_dir_at(cdirfd, "snapshots");

        *ret = NULL;
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return lodge_error_set(err, -fd, "open the snapshots directory");
        *ret = opendir_fd(fd);
        if (!*ret) {
                close(fd);
                return lodge_error_set(err, errno, "read the snapshots directory");
        }
        return fd;
}

void lodge_snapshot_list_free(struct lodge_snapshot *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i].name);
        free(v);
}

static int snap_cmp(const void *a, const void *b)
{
        const struct lodge_snapshot *x = a, *y = b;

        if (x->created != y->created)
                return x->created < y->created ? -1 : 1;
        return strcmp(x->name, y->name);
}

int lodge_container_snapshot_list(const struct lodge_paths *p, const char *name,
                                  struct lodge_snapshot **ret, size_t *ret_n,
                                  struct lodge_error **err)
{
        struct root_dirs d = ROOT_DIRS_NULL;
        cleanup_close int cdirfd = -EBADF, snaps = -EBADF;
        cleanup_closedir DIR *dir = NULL;
        struct lodge_snapshot *v = NULL;
        struct dirent *de;
        size_t n = 0;
        int r;

        *ret = NULL;
        *ret_n = 0;
        r = container_dirs_open(p, name, &d, err);
        if (r >= 0)
                r = cdirfd = container_dir_open(&d, name, err);
        root_dirs_done(&d);
        if (r < 0)
                return r;
        r = snaps = snaps_open(cdirfd, &dir, err);
        if (r <= 0)
                return r;
        while ((de = readdir(dir))) {
                cleanup_free char *created = NULL;
                cleanup_close int sfd = -EBADF;
                struct lodge_snapshot *nv;
                uint64_t size = 0;

                if (de->d_name[0] == '.')
                        continue;
                sfd = open_dir_at(snaps, de->d_name);
                if (sfd < 0)
                        continue;
                nv = realloc(v, (n + 1) * sizeof(*v));
                if (!nv) {
                        lodge_snapshot_list_free(v, n);
                        return lodge_error_set(err, ENOMEM, "list snapshots");
                }
                v = nv;
                v[n] = (struct lodge_snapshot){ .name = strdup(de->d_name) };
                if (!v[n].name) {
                        lodge_snapshot_list_free(v, n);
                        return lodge_error_set(err, ENOMEM, "list snapshots");
                }
                if (read_file_at(sfd, "created", 64, &created, NULL, NULL) >= 0)
                        v[n].created = strtoll(created, NULL, 10);
                for (int i = 0; i < 2; i++)
                        if (lodge_storage_usage(sfd, i ? "overlay" : "rootfs", &size, NULL) >= 0)
                                v[n].size += size;
                n++;
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), snap_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* The backend's data of the container: what a restore exchanges. */
static const char *const data_names[] = { "rootfs", "overlay" };

int lodge_container_restore(const struct lodge_paths *p, const char *name, const char *snap,
                            struct lodge_error **err)
{
        CLEANUP(snap_ctx_done) struct snap_ctx c;
        cleanup_close int snaps = -EBADF, sfd = -EBADF, tmpfd = -EBADF;
        cleanup_free char *tmp = NULL, *config = NULL;
        unsigned rnd = 0;
        enum lodge_state st;
        size_t len = 0;
        int r;

        r = lodge_snapshot_name_check(snap, err);
        if (r < 0)
                return r;
        r = snap_ctx_open(p, name, "restore", &c, err);
        if (r < 0)
                return r;
        r = state_read(p, name, &st, NULL, err);
        if (r < 0)
                return r;
        if (st != LODGE_STATE_STOPPED)
                return lodge_error_set(err, EBUSY, "container is %s: stop it first",
                                       lodge_state_to_string(st));
        snaps = open_dir_at(c.cdirfd, "snapshots");
        sfd = snaps < 0 ? snaps : open_dir_at(snaps, snap);
        if (sfd < 0)
                return lodge_error_set(err, sfd == -ENOENT ? ENOENT : -sfd, "no snapshot '%s'",
                                       snap);
        snap_gc(&c, snaps);
        r = read_file_at(sfd, "config", LODGE_CONFIG_MAX_SIZE, &config, &len, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "snapshot '%s'", snap);

        /* The snapshot's copy, beside the snapshots, then exchanged with the live data. */
        if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return lodge_error_set(err, EIO, "get random bytes");
        if (asprintf(&tmp, SNAP_TMP "restore-%08x", rnd) < 0)
                return lodge_error_set(err, ENOMEM, "name the restore");
        if (mkdirat(snaps, tmp, 0700) < 0 || (tmpfd = open_dir_at(snaps, tmp)) < 0)
                return lodge_error_set(err, errno, "create the restore's directory");
        r = c.ops->clone(sfd, tmpfd, false, false, err);
        if (r >= 0)
                r = c.ops->sync(tmpfd, err);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(data_names); i++) {
                const char *dn = data_names[i];

                if (faccessat(tmpfd, dn, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (renameat2(tmpfd, dn, c.cdirfd, dn, RENAME_EXCHANGE) < 0 &&
                    (errno != ENOENT || renameat2(tmpfd, dn, c.cdirfd, dn, RENAME_NOREPLACE) < 0))
                        r = lodge_error_set(err, errno, "put the restored '%s' in place", dn);
        }
        if (r >= 0)
                r = write_file_atomic_at(c.cdirfd, "config", config, len, 0600, err);
        /* The old data (or a failed restore's) goes. */
        (void)snap_remove(&c, snaps, tmp, NULL);
        return r;
}

int lodge_container_snapshot_delete(const struct lodge_paths *p, const char *name, const char *snap,
                                    struct lodge_error **err)
{
        CLEANUP(snap_ctx_done) struct snap_ctx c;
        cleanup_close int snaps = -EBADF;
        int r;

        r = lodge_snapshot_name_check(snap, err);
        if (r < 0)
                return r;
        r = snap_ctx_open(p, name, "snapshot-delete", &c, err);
        if (r < 0)
                return r;
        snaps = open_dir_at(c.cdirfd, "snapshots");
        if (snaps < 0 || faccessat(snaps, snap, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                return lodge_error_set(err, ENOENT, "no snapshot '%s'", snap);
        return snap_remove(&c, snaps, snap, err);
}

int snapshots_destroy(int cdirfd, const struct lodge_storage_ops *ops, struct lodge_error **err)
{
        struct snap_ctx c = { .ops = ops };
        cleanup_closedir DIR *dir = NULL;
        cleanup_close int snaps = -EBADF;
        struct dirent *de;
        int r;

        r = snaps = snaps_open(cdirfd, &dir, err);
        if (r <= 0)
                return r;
        while (r >= 0 && (de = readdir(dir)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        r = snap_remove(&c, snaps, de->d_name, err);
        return r;
}
