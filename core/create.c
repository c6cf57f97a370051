/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "core/base/strv.h"
#include "core/core-internal.h"
#include "core/guest-net.h"
#include "core/guest.h"
#include "core/idmap.h"
#include "storage/storage.h"
#include "templates/template.h"

/* Keys that lodge create sets itself; -c may not override them. */
static const char *const reserved_keys[] = { "name", "rootfs.backend", "rootfs.path",
                                             "rootfs.layer", "security.idmap.shifted" };

struct create_plan {
        const struct lodge_template_ops *tmpl;
        void *tmpl_state;
        const struct lodge_storage_ops *storage;
        struct lodge_config *cfg; /* the -c assignments, checked */
        struct provision prov;    /* --user, --ssh-key... read and checked */
        bool shift_ids;           /* the root can't be idmapped: own the files by the range */
};

static void create_plan_done(struct create_plan *pl)
{
        if (pl->tmpl && pl->tmpl_state)
                pl->tmpl->free_state(pl->tmpl_state);
        lodge_config_free(pl->cfg);
        provision_done(&pl->prov);
        *pl = (struct create_plan){ 0 };
}

static int plan_create(const char *name, const struct lodge_create_options *opts,
                       struct create_plan *ret, struct lodge_error **err)
{
        struct create_plan pl = { 0 };
        const char *tname = opts->template_name ? opts->template_name : "local";
        char *fallback_argv[] = { (char *)tname, NULL };
        int r;

        r = lodge_name_check(name, err);
        if (r < 0)
                return r;

        pl.tmpl = lodge_template_find(tname);
        if (!pl.tmpl)
                return lodge_error_set(
                        err, ENOENT, "unknown template '%s' (see 'lodge create --list-templates')",
                        tname);

        /* No --storage: the root's default, once it is open. */
        if (opts->storage && !(pl.storage = lodge_storage_find(opts->storage)))
                return lodge_error_set(err, EINVAL,
                                       "unknown storage backend '%s' (dir, overlay or btrfs)",
                                       opts->storage);

        r = lodge_config_new(&pl.cfg, err);
        if (r >= 0)
                r = lodge_config_set_all(pl.cfg, opts->config, err);
        /* Looked up in what the config parser made of them, spacing and all. */
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(reserved_keys); i++) {
                const char *v;

                if (lodge_config_get(pl.cfg, reserved_keys[i], &v, NULL) >= 0)
                        r = lodge_error_set(err, EINVAL, "key '%s' is set by lodge create",
                                            reserved_keys[i]);
        }
        if (r < 0) {
                create_plan_done(&pl);
                return lodge_error_prefix(err, r, "-c");
        }

        if (opts->template_argc > 0)
                r = pl.tmpl->parse(opts->template_argc, opts->template_argv, &pl.tmpl_state, err);
        else
                r = pl.tmpl->parse(1, fallback_argv, &pl.tmpl_state, err);
        if (r < 0) {
                create_plan_done(&pl);
                return lodge_error_prefix(err, r, "template '%s'", tname);
        }
        r = provision_load(opts, &pl.prov, err);
        if (r >= 0)
                r = provision_load_cloud_init(&pl.prov, pl.cfg, name, err);
        if (r < 0) {
                create_plan_done(&pl);
                return r;
        }

        *ret = pl;
        return 0;
}

int lodge_create_check(const char *name, const struct lodge_create_options *opts,
                       struct lodge_error **err)
{
        struct create_plan pl = { 0 };
        int r;

        r = plan_create(name, opts, &pl, err);
        if (r >= 0)
                create_plan_done(&pl);
        return r;
}

static const char *host_arch(char buf[static 65])
{
        struct utsname u;

        if (uname(&u) < 0)
                return "x86_64";
        snprintf(buf, 65, "%s", u.machine);
        return buf;
}

/* The final config: what lodge knows, then the image's keys, then -c (a
 * later key overrides an earlier one), checked once as a whole. */
static int build_config(const char *name, const struct create_plan *pl, const char *layer,
                        char *const *user, const struct lodge_template_result *res,
                        struct lodge_config **ret, struct lodge_error **err)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
        cleanup_strv char **all = NULL;
        char arch[65];
        const char *own[][2] = {
                { "name", name },
                { "arch", host_arch(arch) },
                { "rootfs.backend", pl->storage->name },
                { "rootfs.layer", layer },
        };
        int r;

        r = lodge_config_new(&cfg, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(own); i++) {
                char *a = NULL;

                if (!own[i][1])
                        continue;
                if (asprintf(&a, "%s=%s", own[i][0], own[i][1]) < 0)
                        return lodge_error_set(err, ENOMEM, "build config");
                if (strv_push(&all, a) < 0) {
                        free(a);
                        return lodge_error_set(err, ENOMEM, "build config");
                }
        }
        STRV_FOREACH (i, res->config)
                if (strv_extend(&all, *i) < 0)
                        return lodge_error_set(err, ENOMEM, "build config");
        STRV_FOREACH (i, user)
                if (strv_extend(&all, *i) < 0)
                        return lodge_error_set(err, ENOMEM, "build config");
        r = lodge_config_set_all(cfg, all, err);
        if (r >= 0)
                r = guest_net_fill_hwaddr(cfg, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cfg);
        return 0;
}

/* The fix-ups' view of the config: the name, and net.0 as the guest sees it. */
int create_guest_fixup(int rootfd, const char *name, const struct lodge_config *cfg,
                       struct lodge_error **err)
{
        struct lodge_guest_setup s = { .hostname = name };
        const char *type = NULL, *v = NULL;

        if (lodge_config_get(cfg, "net.0.type", &type, NULL) >= 0 && strcmp(type, "none") != 0) {
                s.ifname = "eth0";
                if (lodge_config_get(cfg, "net.0.name", &v, NULL) >= 0)
                        s.ifname = v;
                if (lodge_config_get(cfg, "net.0.ipv4", &v, NULL) >= 0) {
                        s.ipv4_dhcp = strcmp(v, "dhcp") == 0;
                        s.ipv4 = s.ipv4_dhcp ? NULL : v;
                }
                if (lodge_config_get(cfg, "net.0.ipv4.gateway", &v, NULL) >= 0)
                        s.ipv4_gateway = v;
                if (lodge_config_get(cfg, "net.0.ipv6", &v, NULL) >= 0) {
                        s.ipv6_auto = strcmp(v, "auto") == 0;
                        s.ipv6 = s.ipv6_auto ? NULL : v;
                }
        }
        return lodge_template_fixup(rootfd, &s, err);
}

static int check_interrupt(struct lodge_error **err)
{
        int sig = interrupt_pending();

        if (sig)
                return lodge_error_set(err, EINTR, "interrupted by signal %d", sig);
        return 0;
}

/* The rootfs: from the template's layer (made first when missing), or filled
 * by the template where the backend keeps a guest's own files. Returns a
 * view of the whole rootfs for the per-guest part (its directory, or an
 * overlay's scratch mount, to close before the backend's sync), and
 * the layer's name and lock. */
static int build_rootfs(const struct lodge_paths *p, const struct root_dirs *d,
                        const struct create_plan *pl, struct lodge_template_ctx *ctx, int tmpfd,
                        const char *tmp, char **ret_layer, int *ret_layer_lock,
                        struct lodge_template_result *res, struct lodge_error **err)
{
        const struct lodge_storage_ops *st = pl->storage;
        cleanup_free char *layer = NULL, *fill_path = NULL;
        cleanup_close int layerfd = -EBADF, fillfd = -EBADF, view = -EBADF;
        char view_path[64];
        int r;

        if (pl->tmpl->layer_key) {
                r = pl->tmpl->layer_key(ctx, pl->tmpl_state, &layer, err);
                if (r < 0)
                        return lodge_error_prefix(err, r, "template '%s'", pl->tmpl->name);
                layerfd =
                        layer_get(p, d, layer, pl->tmpl, pl->tmpl_state, ctx, ret_layer_lock, err);
                if (layerfd < 0)
                        return layerfd;
        }
        r = st->create(tmpfd, layerfd, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "storage '%s'", st->name);
        if (layerfd < 0) {
                if (asprintf(&fill_path, "%s/containers/%s/%s", p->root, tmp, st->fill_dir) < 0)
                        return lodge_error_set(err, ENOMEM, "build rootfs path");
                fillfd = open_dir_at(tmpfd, st->fill_dir);
                if (fillfd < 0)
                        return lodge_error_set(err, -fillfd, "open '%s'", st->fill_dir);
                ctx->rootfs_fd = fillfd;
                ctx->rootfs_path = fill_path;
                r = pl->tmpl->populate(ctx, pl->tmpl_state, res, err);
                if (r < 0)
                        return lodge_error_prefix(err, r, "template '%s'", pl->tmpl->name);
        }
        /* The whole rootfs, for the per-guest part: an overlay's only exists mounted. */
        view = lodge_storage_open_rootfs(st, tmpfd, layerfd, LODGE_VIEW_SCRATCH, err);
        if (view < 0)
                return lodge_error_prefix(err, view, "storage '%s'", st->name);
        if (layerfd >= 0) {
                snprintf(view_path, sizeof(view_path), "/proc/self/fd/%d", view);
                ctx->rootfs_fd = view;
                ctx->rootfs_path = view_path;
                ctx->layered = true;
                r = pl->tmpl->populate(ctx, pl->tmpl_state, res, err);
                ctx->rootfs_path = NULL;
                if (r < 0)
                        return lodge_error_prefix(err, r, "template '%s'", pl->tmpl->name);
        }
        *ret_layer = TAKE_PTR(layer);
        return TAKE_FD(view);
}

/* On a filesystem that can't be idmapped: the rootfs owned by the guest's
 * range on disk, once (its time said, with why). */
static int shift_rootfs(int tmpfd, const struct lodge_config *cfg,
                        const struct lodge_create_options *opts, struct lodge_template_result *res,
                        struct lodge_error **err)
{
        cleanup_close int rootfd = open_dir_at(tmpfd, "rootfs");
        struct timespec t0, t1;
        char *w = NULL;
        uint64_t n = 0;
        int r;

        if (rootfd < 0)
                return lodge_error_set(err, -rootfd, "open the rootfs");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = lodge_storage_shift(rootfd, 0, cfg->security.idmap_base, cfg->security.idmap_count,
                                opts->progress, opts->userdata, &n, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "shift the rootfs to the guest's ids");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (asprintf(&w,
                     "this filesystem can't be idmapped: the %llu files of the rootfs were "
                     "shifted to the guest's ids once (%.1f s; security.idmap.shifted = true)",
                     (unsigned long long)n,
                     (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9) < 0 ||
            strv_push(&res->warnings, w) < 0) {
                free(w);
                return lodge_error_set(err, ENOMEM, "warn");
        }
        return 0;
}

/* Fill the hidden directory tmp: rootfs, template, config. */
static int build_container(const struct lodge_paths *p, const struct root_dirs *d, const char *name,
                           const struct create_plan *pl, const struct lodge_create_options *opts,
                           int tmpfd, const char *tmp, int *ret_layer_lock,
                           struct lodge_template_result *res, struct lodge_error **err)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
        struct container_lock idmap_lock = CONTAINER_LOCK_NULL;
        cleanup_free char *layer = NULL;
        cleanup_close int rootfd = -EBADF;
        struct lodge_template_ctx ctx = {
                .name = name,
                .cache_dir = p->cache,
                .conf_path = p->conf,
                .progress = opts->progress,
                .userdata = opts->userdata,
        };
        int r;

        rootfd = build_rootfs(p, d, pl, &ctx, tmpfd, tmp, &layer, ret_layer_lock, res, err);
        if (rootfd < 0)
                return rootfd;
        r = check_interrupt(err);
        if (r < 0)
                return r;

        r = build_config(name, pl, layer, opts->config, res, &cfg, err);
        if (r >= 0)
                r = guest_net_check_addresses(p, name, cfg, err);
        if (r >= 0)
                r = rootfs_disk_limit(tmpfd, cfg, err);
        if (r < 0)
                return r;
        r = create_guest_fixup(rootfd, name, cfg, err);
        if (r >= 0 && !provision_is_empty(&pl->prov))
                r = lodge_template_provision(rootfd, &pl->prov.view, err);
        close(TAKE_FD(rootfd));
        if (r < 0)
                return r;
        /* Its id range, picked and written while no other create picks one. */
        r = container_lock(d->locks, IDMAP_LOCK, "pick an id range", &idmap_lock, err);
        if (r < 0)
                return r;
        r = idmap_assign(p, d->containers, name, cfg, err);
        if (r >= 0 && pl->shift_ids)
                r = lodge_config_set(cfg, "security.idmap.shifted", "true", err);
        if (r >= 0)
                r = lodge_config_write_new_at(cfg, tmpfd, "config", err);
        container_unlock(&idmap_lock);
        if (r >= 0 && pl->shift_ids)
                r = shift_rootfs(tmpfd, cfg, opts, res, err);
        if (r < 0)
                return r;

        /* The rename below must not become durable before the tree is. */
        return pl->storage->sync(tmpfd, err);
}

int create_hidden_dir(int containers, const char *name, char **ret, struct lodge_error **err)
{
        for (int attempt = 0; attempt < 16; attempt++) {
                cleanup_free char *tmp = NULL;
                unsigned rnd = 0;

                if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                        return lodge_error_set(err, EIO, "get random bytes");
                if (asprintf(&tmp, CREATE_PREFIX "%s-%08x", name, rnd) < 0)
                        return lodge_error_set(err, ENOMEM, "build directory name");
                if (mkdirat(containers, tmp, 0700) == 0) {
                        *ret = TAKE_PTR(tmp);
                        return 0;
                }
                if (errno != EEXIST)
                        return lodge_error_set(err, errno, "create directory '%s'", tmp);
        }
        return lodge_error_set(err, EEXIST, "create a temporary directory for '%s'", name);
}

static int create_locked(const struct lodge_paths *p, const struct root_dirs *d, const char *name,
                         const struct create_plan *pl, const struct lodge_create_options *opts,
                         struct lodge_template_result *res, struct lodge_error **err)
{
        cleanup_free char *tmp = NULL;
        cleanup_close int tmpfd = -EBADF, layer_lock = -EBADF;
        struct stat st;
        int r;

        if (fstatat(d->containers, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return lodge_error_set(err, EEXIST, "container '%s' already exists", name);

        r = create_hidden_dir(d->containers, name, &tmp, err);
        if (r < 0)
                return r;
        tmpfd = open_dir_at(d->containers, tmp);
        if (tmpfd < 0)
                r = lodge_error_set(err, -tmpfd, "open directory '%s'", tmp);
        else
                r = build_container(p, d, name, pl, opts, tmpfd, tmp, &layer_lock, res, err);
        if (r >= 0)
                r = check_interrupt(err);
        return create_finish(d, tmp, tmpfd, pl->storage, name, r, err);
}

int create_finish(const struct root_dirs *d, const char *tmp, int tmpfd,
                  const struct lodge_storage_ops *ops, const char *name, int r,
                  struct lodge_error **err)
{
        if (r >= 0 && renameat2(d->containers, tmp, d->containers, name, RENAME_NOREPLACE) < 0)
                r = lodge_error_set(err, errno, "move container '%s' into place", name);
        if (r < 0) {
                cleanup_error struct lodge_error *e = NULL;

                if (tmpfd >= 0 && ops)
                        (void)ops->destroy(tmpfd, NULL);
                if (rm_rf_at(d->containers, tmp, &e) < 0)
                        log_debug("removing '%s' failed: %s, ignoring", tmp, e->msg);
                return r;
        }
        if (fsync(d->containers) < 0)
                return lodge_error_set(err, errno, "sync the containers directory");
        return 0;
}

int lodge_container_create(const struct lodge_paths *p, const char *name,
                           const struct lodge_create_options *opts, char **ret_message,
                           char ***ret_warnings, struct lodge_error **err)
{
        CLEANUP(create_plan_done) struct create_plan pl = { 0 };
        CLEANUP(lodge_template_result_done) struct lodge_template_result res = { 0 };
        struct root_dirs d = ROOT_DIRS_NULL;
        struct container_lock l = CONTAINER_LOCK_NULL;
        int r;

        r = plan_create(name, opts, &pl, err);
        if (r < 0)
                return r;
        r = root_dirs_open(p, true, &d, err);
        if (r < 0)
                return r;
        state_gc(&d);
        if (!pl.storage)
                pl.storage = lodge_storage_find(lodge_storage_default(d.root));
        else if (strcmp(pl.storage->name, "btrfs") == 0 && !lodge_storage_is_btrfs(d.root))
                r = lodge_error_set(err, EOPNOTSUPP, "--storage btrfs: '%s' is not on btrfs",
                                    p->root);
        /* Before the long part: an unprivileged guest needs an idmapped rootfs, or
         * one of its own whose files are owned by its ids (dir). */
        if (r >= 0 && !pl.cfg->security.privileged && userns_idmap_probe(p->root) == 0) {
                if (strcmp(pl.storage->name, "dir") == 0)
                        pl.shift_ids = true;
                else
                        r = lodge_error_set(
                                err, EOPNOTSUPP,
                                "the filesystem of '%s' can't be idmapped, which an unprivileged "
                                "'%s' guest needs: use --storage dir (its files are then shifted "
                                "to its ids once, at create), -c security.privileged=true, or a "
                                "LODGE_ROOT on ext4, xfs, btrfs or tmpfs",
                                p->root, pl.storage->name);
        }
        if (r >= 0)
                r = container_lock(d.locks, name, "create", &l, err);
        if (r >= 0) {
                r = create_locked(p, &d, name, &pl, opts, &res, err);
                container_unlock(&l);
        }
        root_dirs_done(&d);
        if (r < 0)
                return r;
        if (ret_message)
                *ret_message = TAKE_PTR(res.message);
        if (ret_warnings)
                *ret_warnings = TAKE_PTR(res.warnings);
        return 0;
}
