/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lodge copy: a new guest from a stopped one, as create makes one: in a
 * hidden directory renamed into place at the end, so that an interrupted
 * copy (even kill -9) leaves the source as it was and no half guest. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "core/base/strv.h"
#include "core/core-internal.h"
#include "core/guest-net.h"
#include "core/idmap.h"
#include "storage/storage.h"

static int warn(char ***warnings, struct lodge_error **err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int warn(char ***warnings, struct lodge_error **err, const char *fmt, ...)
{
        char *w = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&w, fmt, ap);
        va_end(ap);
        if (n < 0 || strv_push(warnings, w) < 0) {
                free(n < 0 ? NULL : w);
                return lodge_error_set(err, ENOMEM, "warn");
        }
        return 0;
}

/* Who the copy is: its name, new MACs, no static address of the source's,
 * its own id range (picked by the caller). */
static int copy_config(const char *src, const char *dst, struct lodge_config *cfg, char ***warnings,
                       struct lodge_error **err)
{
        int r;

        free(cfg->name);
        cfg->name = strdup(dst);
        if (!cfg->name)
                return lodge_error_set(err, ENOMEM, "copy the config");
        for (unsigned i = 0; i < LODGE_CONFIG_MAX_NET; i++) {
                static const char *const addr[][2] = { { "ipv4", "dhcp" }, { "ipv6", "auto" } };
                char key[64];
                const char *v;

                if (cfg->net[i].type == LODGE_NET_UNSET)
                        continue;
                snprintf(key, sizeof(key), "net.%u.hwaddr", i);
                r = lodge_config_get(cfg, key, &v, NULL) < 0 ? 0
                                                             : lodge_config_unset(cfg, key, err);
                for (size_t k = 0; r >= 0 && k < ELEMENTSOF(addr); k++) {
                        snprintf(key, sizeof(key), "net.%u.%s", i, addr[k][0]);
                        if (lodge_config_get(cfg, key, &v, NULL) < 0 || strcmp(v, addr[k][1]) == 0)
                                continue;
                        r = warn(warnings, err, "%s was %s in '%s': '%s' gets %s", key, v, src, dst,
                                 addr[k][1]);
                        if (r >= 0)
                                r = lodge_config_set(cfg, key, addr[k][1], err);
                }
                if (r < 0)
                        return r;
        }
        r = guest_net_fill_hwaddr(cfg, err);
        if (r < 0)
                return r;
        if (cfg->security.has_idmap)
                return lodge_config_unset(cfg, "security.idmap", err);
        return 0;
}

static int shift_copy(int tmpfd, uint32_t from, const struct lodge_config *cfg,
                      struct lodge_error **err)
{
        cleanup_close int rootfd = open_dir_at(tmpfd, "rootfs");

        if (rootfd < 0)
                return lodge_error_set(err, -rootfd, "open the copy's rootfs");
        return lodge_storage_shift(rootfd, from, cfg->security.idmap_base,
                                   cfg->security.idmap_count, NULL, NULL, NULL, err);
}

static int copy_locked(const struct lodge_paths *p, const struct root_dirs *d, const char *src,
                       const char *dst, bool snapshot, char ***warnings, struct lodge_error **err)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
        const struct lodge_storage_ops *ops;
        struct container_lock idmap_lock = CONTAINER_LOCK_NULL;
        cleanup_close int srcfd = -EBADF, tmpfd = -EBADF, view = -EBADF, hold = -EBADF;
        cleanup_free char *tmp = NULL;
        enum lodge_state st;
        struct stat sb;
        uint32_t old_base;
        int r;

        if (fstatat(d->containers, dst, &sb, AT_SYMLINK_NOFOLLOW) == 0)
                return lodge_error_set(err, EEXIST, "container '%s' already exists", dst);
        srcfd = container_dir_open(d, src, err);
        if (srcfd < 0)
                return srcfd;
        r = state_read(p, src, &st, NULL, err);
        if (r < 0)
                return r;
        if (st != LODGE_STATE_STOPPED)
                return lodge_error_set(err, EBUSY, "'%s' is %s: stop it first", src,
                                       lodge_state_to_string(st));
        r = lodge_config_load_at(srcfd, "config", "config", &cfg, err);
        if (r < 0)
                return r;
        if (cfg->rootfs_path)
                return lodge_error_set(err, EOPNOTSUPP,
                                       "'%s' keeps its rootfs outside lodge (rootfs.path)", src);
        ops = lodge_storage_find(rootfs_backend_name(cfg->backend));
        if (cfg->rootfs_layer) {
                hold = layer_hold(p, d, cfg->rootfs_layer, err);
                if (hold < 0)
                        return hold;
        }
        old_base = cfg->security.idmap_base;
        r = copy_config(src, dst, cfg, warnings, err);
        if (r < 0)
                return r;

        r = create_hidden_dir(d->containers, dst, &tmp, err);
        if (r < 0)
                return r;
        tmpfd = open_dir_at(d->containers, tmp);
        if (tmpfd < 0)
                r = lodge_error_set(err, -tmpfd, "open directory '%s'", tmp);
        if (r >= 0) {
                r = ops->clone(srcfd, tmpfd, snapshot, false, err);
                if (r < 0)
                        r = lodge_error_prefix(err, r, "copy the rootfs of '%s'", src);
        }
        if (r >= 0)
                r = view = rootfs_open(p, tmpfd, cfg, LODGE_VIEW_SCRATCH, err);
        if (r >= 0)
                r = create_guest_fixup(view, dst, cfg, err);
        if (view >= 0)
                close(TAKE_FD(view));
        if (r >= 0)
                r = container_lock(d->locks, IDMAP_LOCK, "pick an id range", &idmap_lock, err);
        if (r >= 0) {
                r = idmap_assign(p, d->containers, dst, cfg, err);
                if (r >= 0)
                        r = lodge_config_write_new_at(cfg, tmpfd, "config", err);
                container_unlock(&idmap_lock);
        }
        /* Owned by the source's ids on disk: by its own from now. */
        if (r >= 0 && cfg->security.idmap_shifted)
                r = shift_copy(tmpfd, old_base, cfg, err);
        if (r >= 0)
                r = ops->sync(tmpfd, err);
        return create_finish(d, tmp, tmpfd, ops, dst, r, err);
}

int lodge_container_copy(const struct lodge_paths *p, const char *src, const char *dst,
                         bool snapshot, char ***ret_warnings, struct lodge_error **err)
{
        struct root_dirs d = ROOT_DIRS_NULL;
        struct container_lock ls = CONTAINER_LOCK_NULL, ld = CONTAINER_LOCK_NULL;
        cleanup_strv char **warnings = NULL;
        int r;

        r = lodge_name_check(dst, err);
        if (r < 0)
                return r;
        r = container_dirs_open(p, src, &d, err);
        if (r < 0)
                return r;
        state_gc(&d);
        r = container_lock(d.locks, src, "copy", &ls, err);
        if (r >= 0) {
                r = container_lock(d.locks, dst, "create", &ld, err);
                if (r >= 0) {
                        r = copy_locked(p, &d, src, dst, snapshot, &warnings, err);
                        container_unlock(&ld);
                }
                container_unlock(&ls);
        }
        root_dirs_done(&d);
        if (r >= 0 && ret_warnings)
                *ret_warnings = TAKE_PTR(warnings);
        return r;
}
