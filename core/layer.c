/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Layers: the unpacked images that guests share ($LODGE_ROOT/layers/KEY),
 * made once by the template's populate_layer. Each is guarded by a lock file
 * beside it (layers/.lock-KEY, kept: removing a lock file races with its
 * takers): held exclusive while it is made or removed, shared by a create
 * from the moment it opens the layer until its guest, which names the layer
 * in its config, is in place. So a layer in use is never removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/base/path.h"
#include "core/core-internal.h"
#include "storage/storage.h"

#define LAYER_LOCK_PREFIX ".lock-"

int layers_dir_open(const struct lodge_paths *p, const struct root_dirs *d, bool create,
                    struct lodge_error **err)
{
        return state_subdir_open(d->root, p->root, "layers", create, err);
}

/* The lock of layer key, taken shared or exclusive (waiting: a layer is made
 * in seconds, and Ctrl-C interrupts the wait). */
static int layer_lock(int layers, const char *key, bool exclusive, bool wait,
                      struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;
        char name[256];
        int r;

        snprintf(name, sizeof(name), LAYER_LOCK_PREFIX "%s", key);
        fd = openat(layers, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return lodge_error_set(err, errno, "open the lock of layer '%s'", key);
        r = interrupt_flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB));
        if (r == -EWOULDBLOCK)
                return -EBUSY;
        if (r == -EINTR)
                return lodge_error_set(err, EINTR, "interrupted waiting for layer '%s'", key);
        if (r < 0)
                return lodge_error_set(err, -r, "lock layer '%s'", key);
        return TAKE_FD(fd);
}

int layer_hold(const struct lodge_paths *p, const struct root_dirs *d, const char *key,
               struct lodge_error **err)
{
        cleanup_close int layers = layers_dir_open(p, d, true, err);

        if (layers < 0)
                return layers;
        return layer_lock(layers, key, false, true, err);
}

/* What a killed build of key left (its lock is ours: no build is live). */
static void remove_unfinished(int layers, const char *key)
{
        cleanup_closedir DIR *dir = opendir_fd(layers);
        struct dirent *de;
        char prefix[256];

        snprintf(prefix, sizeof(prefix), LODGE_STORAGE_LAYER_TMP "%s-", key);
        while (dir && (de = readdir(dir)))
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
                    strlen(de->d_name) == strlen(prefix) + 8)
                        (void)lodge_storage_layer_remove(layers, de->d_name, NULL);
}

static int layer_build(const struct lodge_paths *p, int layers, const char *key,
                       const struct lodge_template_ops *t, void *state,
                       const struct lodge_template_ctx *base, struct lodge_error **err)
{
        cleanup_free char *tmp = NULL, *path = NULL;
        cleanup_close int fd = -EBADF;
        struct lodge_template_ctx ctx = *base;
        int r;

        remove_unfinished(layers, key);
        fd = lodge_storage_layer_begin(layers, key, &tmp, err);
        if (fd < 0)
                return fd;
        if (asprintf(&path, "%s/layers/%s/rootfs", p->root, tmp) < 0) {
                r = lodge_error_set(err, ENOMEM, "build the layer's path");
        } else {
                log_debug("making layer '%s'", key);
                ctx.rootfs_fd = fd;
                ctx.rootfs_path = path;
                ctx.layered = false;
                r = t->populate_layer(&ctx, state, err);
                if (r < 0)
                        r = lodge_error_prefix(err, r, "template '%s'", t->name);
        }
        if (r >= 0 && interrupt_pending())
                r = lodge_error_set(err, EINTR, "interrupted by signal %d", interrupt_pending());
        if (r >= 0)
                r = lodge_storage_layer_commit(layers, tmp, key, err);
        if (r < 0)
                (void)lodge_storage_layer_remove(layers, tmp, NULL);
        return r;
}

int layer_get(const struct lodge_paths *p, const struct root_dirs *d, const char *key,
              const struct lodge_template_ops *t, void *state, const struct lodge_template_ctx *ctx,
              int *ret_lock, struct lodge_error **err)
{
        cleanup_close int layers = -EBADF, lock = -EBADF;
        int fd, r;

        layers = layers_dir_open(p, d, true, err);
        if (layers < 0)
                return layers;
        for (;;) {
                lock = layer_lock(layers, key, false, true, err);
                if (lock < 0)
                        return lock;
                fd = lodge_storage_layer_open(layers, key);
                if (fd >= 0) {
                        *ret_lock = TAKE_FD(lock);
                        return fd;
                }
                if (fd != -ENOENT)
                        return lodge_error_set(err, -fd, "open layer '%s'", key);
                /* Made by whoever takes the lock exclusive first; then shared again. */
                close(TAKE_FD(lock));
                lock = layer_lock(layers, key, true, true, err);
                if (lock < 0)
                        return lock;
                fd = lodge_storage_layer_open(layers, key);
                if (fd >= 0)
                        close(fd); /* made meanwhile */
                else if (fd != -ENOENT)
                        return lodge_error_set(err, -fd, "open layer '%s'", key);
                else if ((r = layer_build(p, layers, key, t, state, ctx, err)) < 0)
                        return r;
                close(TAKE_FD(lock));
        }
}

/* The first guest whose config names layer key, else NULL. */
static int layer_user(const struct root_dirs *d, const char *key, char **ret,
                      struct lodge_error **err)
{
        cleanup_closedir DIR *dir = opendir_fd(d->containers);
        struct dirent *de;

        *ret = NULL;
        if (!dir)
                return lodge_error_set(err, errno, "read the containers directory");
        while ((de = readdir(dir))) {
                CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
                cleanup_close int cdir = -EBADF;

                if (de->d_name[0] == '.')
                        continue; /* creates in progress hold the layer's lock */
                cdir = open_dir_at(d->containers, de->d_name);
                if (cdir < 0 || lodge_config_load_at(cdir, "config", "config", &cfg, NULL) < 0)
                        continue;
                if (cfg->rootfs_layer && strcmp(cfg->rootfs_layer, key) == 0) {
                        *ret = strdup(de->d_name);
                        return *ret ? 1 : lodge_error_set(err, ENOMEM, "name a guest");
                }
        }
        return 0;
}

int layer_remove(const struct lodge_paths *p, const struct root_dirs *d, const char *key, bool wait,
                 struct lodge_error **err)
{
        cleanup_close int layers = -EBADF, lock = -EBADF;
        cleanup_free char *user = NULL;
        int r;

        layers = layers_dir_open(p, d, false, err);
        if (layers == -ENOENT) {
                lodge_error_free(err);
                return 0;
        }
        if (layers < 0)
                return layers;
        lock = layer_lock(layers, key, true, wait, err);
        if (lock == -EBUSY)
                return lodge_error_set(err, EBUSY, "layer '%s' is being used by a create", key);
        if (lock < 0)
                return lock;
        r = layer_user(d, key, &user, err);
        if (r < 0)
                return r;
        if (r > 0)
                return lodge_error_set(err, EBUSY, "it is the base of guest '%s' (%s)", user, key);
        return lodge_storage_layer_remove(layers, key, err);
}

int layers_prune(const struct lodge_paths *p, const struct root_dirs *d, unsigned *ret_n,
                 struct lodge_error **err)
{
        cleanup_close int layers = -EBADF;
        cleanup_closedir DIR *dir = NULL;
        struct dirent *de;
        unsigned n = 0;

        *ret_n = 0;
        layers = layers_dir_open(p, d, false, err);
        if (layers == -ENOENT) {
                lodge_error_free(err);
                return 0;
        }
        if (layers < 0)
                return layers;
        dir = opendir_fd(layers);
        if (!dir)
                return lodge_error_set(err, errno, "read the layers directory");
        while ((de = readdir(dir))) {
                cleanup_error struct lodge_error *e = NULL;
                const char *name = de->d_name;

                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
                    strncmp(name, LAYER_LOCK_PREFIX, strlen(LAYER_LOCK_PREFIX)) == 0)
                        continue;
                if (strncmp(name, LODGE_STORAGE_LAYER_TMP, strlen(LODGE_STORAGE_LAYER_TMP)) == 0) {
                        /* Left by an interrupted create: its key's lock is free. */
                        char key[256];
                        const char *dash = strrchr(name, '-');
                        size_t len =
                                dash ? (size_t)(dash - name) - strlen(LODGE_STORAGE_LAYER_TMP) : 0;
                        cleanup_close int lock = -EBADF;

                        if (!dash || len == 0 || len >= sizeof(key))
                                continue;
                        memcpy(key, name + strlen(LODGE_STORAGE_LAYER_TMP), len);
                        key[len] = 0;
                        lock = layer_lock(layers, key, true, false, &e);
                        if (lock >= 0 && lodge_storage_layer_remove(layers, name, &e) >= 0)
                                n++;
                        continue;
                }
                if (layer_remove(p, d, name, false, &e) >= 0)
                        n++;
                else
                        log_debug("layer '%s' stays: %s", name, e->msg);
        }
        *ret_n = n;
        return 0;
}
