/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/base/strv.h"
#include "core/core-internal.h"
#include "core/guest-net.h"
#include "core/guest.h"
#include "core/idmap.h"
#include "storage/storage.h"
#include "templates/template.h"

void lodge_container_info_done(struct lodge_container_info *i)
{
        free(i->name);
        free(i->path);
        free(i->backend);
        free(i->arch);
        free(i->error);
        free(i->run_once);
        free(i->layer);
        free(i->limits.cpuset);
        strv_free(i->ipv4);
        guest_net_ifaces_free(i->ifaces, i->n_ifaces);
        *i = (struct lodge_container_info){ 0 };
}

void lodge_container_list_free(struct lodge_container_info *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                lodge_container_info_done(&l[i]);
        free(l);
}

static int add_ipv4(const struct lodge_config *cfg, char ***l)
{
        for (unsigned i = 0; i < LODGE_CONFIG_MAX_NET; i++) {
                const struct lodge_config_net *n = &cfg->net[i];
                char addr[INET_ADDRSTRLEN], buf[INET_ADDRSTRLEN + 4];

                if (n->ipv4_mode == LODGE_ADDR_DHCP) {
                        if (strv_extend(l, "dhcp") < 0)
                                return -ENOMEM;
                } else if (n->ipv4_mode == LODGE_ADDR_STATIC) {
                        inet_ntop(AF_INET, &n->ipv4.addr.v4, addr, sizeof(addr));
                        snprintf(buf, sizeof(buf), "%s/%u", addr, n->ipv4.prefixlen);
                        if (strv_extend(l, buf) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* Fill i for the container directory containers/name. A config that can't be
 * read makes the container BROKEN, not the listing fail. */
static int fill_info(const struct lodge_paths *p, const struct root_dirs *d, const char *name,
                     struct lodge_container_info *ret, struct lodge_error **err)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
        cleanup_error struct lodge_error *cfg_err = NULL;
        cleanup_close int cdirfd = -EBADF;
        struct lodge_container_info i = { 0 };
        int r;

        cdirfd = container_dir_open(d, name, err);
        if (cdirfd < 0)
                return cdirfd;

        i.name = strdup(name);
        if (!i.name || asprintf(&i.path, "%s/containers/%s", p->root, name) < 0) {
                lodge_container_info_done(&i);
                return lodge_error_set(err, ENOMEM, "describe container");
        }

        r = lodge_config_load_at(cdirfd, "config", "config", &cfg, &cfg_err);
        if (r < 0) {
                i.state = LODGE_STATE_BROKEN;
                i.error = strdup(cfg_err->msg ? cfg_err->msg : "unreadable config");
                *ret = i;
                return 0;
        }
        i.backend = strdup(rootfs_backend_name(cfg->backend));
        i.arch = cfg->arch ? strdup(cfg->arch) : NULL;
        i.autostart = cfg->autostart;
        i.privileged = !guest_userns(&cfg->security);
        i.idmap_base = i.privileged ? 0 : cfg->security.idmap_base;
        i.idmap_count = i.privileged ? 0 : cfg->security.idmap_count;
        r = add_ipv4(cfg, &i.ipv4);
        if (r < 0 || !i.backend || (cfg->arch && !i.arch)) {
                lodge_container_info_done(&i);
                return lodge_error_set(err, ENOMEM, "describe container");
        }
        i.limits = cfg->limits;
        i.limits.cpuset = NULL;
        if (cfg->limits.cpuset && !(i.limits.cpuset = strdup(cfg->limits.cpuset))) {
                lodge_container_info_done(&i);
                return lodge_error_set(err, ENOMEM, "describe container");
        }

        {
                struct lodge_live_info live;

                r = live_state(p, name, &live, err);
                if (r < 0) {
                        lodge_container_info_done(&i);
                        return r;
                }
                i.state = live.state;
                i.init_pid = live.init_pid;
                i.started_at = live.started_at;
                i.memory = live.memory;
                i.cpu_ns = live.cpu_ns;
                i.processes = live.processes;
                i.oom_kills = live.oom_kills;
                memcpy(i.ended, live.ended, sizeof(i.ended));
        }
        {
                /* The --run-once script's state, from the rootfs (a missing one: none):
                 * a running guest's as it sees it, not a second mount of its layers. */
                char root[64];
                cleanup_close int rootfd = -EBADF;

                snprintf(root, sizeof(root), "/proc/%lld/root", (long long)i.init_pid);
                rootfd = i.init_pid > 0 ? open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)
                                        : rootfs_open(p, cdirfd, cfg, LODGE_VIEW_READ, NULL);
                if (rootfd >= 0)
                        (void)lodge_template_run_once_status(rootfd, &i.run_once, NULL);
        }
        /* Running: the addresses it has now (DHCP's too) rather than the config's. */
        if (i.init_pid > 0 &&
            guest_net_live(p, name, cfg, (pid_t)i.init_pid, &i.ifaces, &i.n_ifaces) >= 0) {
                cleanup_strv char **live = NULL;

                for (size_t k = 0; k < i.n_ifaces; k++)
                        STRV_FOREACH (a, i.ifaces[k].ipv4)
                                if (strv_extend(&live, *a) < 0) {
                                        lodge_container_info_done(&i);
                                        return lodge_error_set(err, ENOMEM, "describe container");
                                }
                if (live) {
                        strv_free(i.ipv4);
                        i.ipv4 = TAKE_PTR(live);
                }
        }
        *ret = i;
        return 0;
}

/* What the guest costs on disk, beside what it shares (a walk of its tree:
 * for info, not list). */
static void fill_disk(const struct lodge_paths *p, const struct root_dirs *d, const char *name,
                      struct lodge_container_info *i)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
        cleanup_close int cdirfd = container_dir_open(d, name, NULL), snaps = -EBADF;
        cleanup_close int layers = -EBADF;
        const char *data;
        uint64_t n;

        if (cdirfd < 0 || lodge_config_load_at(cdirfd, "config", "config", &cfg, NULL) < 0 ||
            cfg->rootfs_path)
                return;
        data = cfg->backend == LODGE_BACKEND_OVERLAY ? "overlay" : "rootfs";
        if (lodge_storage_usage(cdirfd, data, &i->disk_own, NULL) < 0)
                return;
        i->have_disk = true;
        snaps = open_dir_at(cdirfd, "snapshots");
        if (snaps >= 0 && lodge_storage_usage(snaps, ".", &n, NULL) >= 0)
                i->disk_snapshots = n;
        if (cfg->rootfs_layer && (layers = layers_dir_open(p, d, false, NULL)) >= 0) {
                i->layer = strdup(cfg->rootfs_layer);
                i->disk_layer = lodge_storage_layer_size(layers, cfg->rootfs_layer);
        }
}

int lodge_container_info(const struct lodge_paths *p, const char *name,
                         struct lodge_container_info *ret, struct lodge_error **err)
{
        struct root_dirs d = ROOT_DIRS_NULL;
        int r;

        r = container_dirs_open(p, name, &d, err);
        if (r < 0)
                return r;
        r = fill_info(p, &d, name, ret, err);
        if (r >= 0)
                fill_disk(p, &d, name, ret);
        root_dirs_done(&d);
        return r;
}

static int by_name(const void *a, const void *b)
{
        return strcmp(((const struct lodge_container_info *)a)->name,
                      ((const struct lodge_container_info *)b)->name);
}

int lodge_container_list(const struct lodge_paths *p, struct lodge_container_info **ret,
                         size_t *ret_n, struct lodge_error **err)
{
        struct lodge_container_info *l = NULL;
        struct root_dirs d = ROOT_DIRS_NULL;
        cleanup_closedir DIR *dir = NULL;
        struct dirent *de;
        size_t n = 0;
        int r;

        r = root_dirs_open(p, false, &d, err);
        if (r == -ENOENT) { /* nothing was ever created here */
                lodge_error_free(err);
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (r < 0)
                return r;

        dir = opendir_fd(d.containers);
        if (!dir) {
                r = lodge_error_set(err, errno, "read '%s/containers'", p->root);
                root_dirs_done(&d);
                return r;
        }
        while ((errno = 0, de = readdir(dir))) {
                struct lodge_container_info *nl;

                /* Hidden entries are creates and destroys in progress (or leftovers). */
                if (de->d_name[0] == '.' || lodge_name_check(de->d_name, NULL) < 0)
                        continue;
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                nl = realloc(l, (n + 1) * sizeof(*l));
                if (!nl) {
                        r = lodge_error_set(err, ENOMEM, "list containers");
                        break;
                }
                l = nl;
                r = fill_info(p, &d, de->d_name, &l[n], err);
                if (r == -ENOENT || r == -ENOTDIR) { /* destroyed meanwhile, or a stray file */
                        lodge_error_free(err);
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                n++;
        }
        if (r >= 0 && errno != 0)
                r = lodge_error_set(err, errno, "read '%s/containers'", p->root);
        root_dirs_done(&d);
        if (r < 0) {
                lodge_container_list_free(l, n);
                return r;
        }
        if (n > 1)
                qsort(l, n, sizeof(*l), by_name);
        *ret = l;
        *ret_n = n;
        return 0;
}

int lodge_container_config_load(const struct lodge_paths *p, const char *name,
                                struct lodge_config **ret, struct lodge_error **err)
{
        struct root_dirs d = ROOT_DIRS_NULL;
        cleanup_close int cdirfd = -EBADF;
        int r;

        r = container_dirs_open(p, name, &d, err);
        if (r < 0)
                return r;
        cdirfd = container_dir_open(&d, name, err);
        root_dirs_done(&d);
        if (cdirfd < 0)
                return cdirfd;
        return lodge_config_load_at(cdirfd, "config", "config", ret, err);
}

/* The config to change key in. One broken by its own line for key (a value
 * no longer accepted, the key twice) is loaded without it (*ret_repaired):
 * the change repairs it, and an unset is already done. */
static int load_for_update(int cdirfd, const char *key, struct lodge_config **ret,
                           bool *ret_repaired, struct lodge_error **err)
{
        cleanup_error struct lodge_error *first = NULL;
        int r;

        *ret_repaired = false;
        r = lodge_config_load_at(cdirfd, "config", "config", ret, &first);
        if (r == -EINVAL &&
            lodge_config_load_without_at(cdirfd, "config", "config", key, ret, NULL) >= 0) {
                *ret_repaired = true;
                return 0;
        }
        if (r < 0 && err) {
                lodge_error_free(err);
                *err = TAKE_PTR(first);
        }
        return r;
}

int lodge_container_config_update(const struct lodge_paths *p, const char *name, const char *key,
                                  const char *value, struct lodge_error **err)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
        bool repaired = false;
        struct container_lock l = CONTAINER_LOCK_NULL;
        struct root_dirs d = ROOT_DIRS_NULL;
        cleanup_close int cdirfd = -EBADF;
        int r;

        if (strcmp(key, "name") == 0 || strcmp(key, "rootfs.backend") == 0 ||
            strcmp(key, "rootfs.layer") == 0 || strcmp(key, "security.idmap.shifted") == 0)
                return lodge_error_set(err, EINVAL, "key '%s' can't be changed", key);
        r = container_dirs_open(p, name, &d, err);
        if (r < 0)
                return r;
        r = container_lock(d.locks, name, value ? "config set" : "config unset", &l, err);
        if (r < 0) {
                root_dirs_done(&d);
                return r;
        }
        r = cdirfd = container_dir_open(&d, name, err);
        if (r >= 0)
                r = load_for_update(cdirfd, key, &cfg, &repaired, err);
        /* Its files are owned by its range on disk: that range is for good. */
        if (r >= 0 && cfg->security.idmap_shifted &&
            (strcmp(key, "security.idmap") == 0 || strcmp(key, "security.privileged") == 0))
                r = lodge_error_set(err, EINVAL,
                                    "key '%s' can't be changed: the rootfs is owned by the "
                                    "guest's ids on disk (security.idmap.shifted)",
                                    key);
        if (r >= 0 && (value || !repaired))
                r = value ? lodge_config_set(cfg, key, value, err)
                          : lodge_config_unset(cfg, key, err);
        /* A new interface gets its MAC once, here (not on unset: that is how it goes). */
        if (r >= 0 && value && strncmp(key, "net.", 4) == 0 && strstr(key, ".type"))
                r = guest_net_fill_hwaddr(cfg, err);
        if (r >= 0 && strncmp(key, "net.", 4) == 0)
                r = guest_net_check_addresses(p, name, cfg, err);
        /* Refused where the backend can't enforce it; set at once where it can. */
        if (r >= 0 && strcmp(key, "limits.disk") == 0)
                r = rootfs_disk_limit(cdirfd, cfg, err);
        /* An unprivileged guest always has its range (one made privileged, turned back),
         * and one of its own unless it shares on purpose. */
        if (r >= 0 && strncmp(key, "security.", 9) == 0 && !cfg->security.privileged) {
                struct container_lock il = CONTAINER_LOCK_NULL;

                r = container_lock(d.locks, IDMAP_LOCK, "pick an id range", &il, err);
                if (r >= 0) {
                        r = idmap_assign(p, d.containers, name, cfg, err);
                        if (r >= 0)
                                r = lodge_config_write_at(cfg, cdirfd, "config", err);
                        container_unlock(&il);
                }
        } else if (r >= 0) {
                r = lodge_config_write_at(cfg, cdirfd, "config", err);
        }
        /* A running guest gets a changed limit at once. */
        if (r >= 0 && strncmp(key, "limits.", 7) == 0)
                r = live_apply_limits(p, name, cfg, NULL, err);
        if (r >= 0 && strncmp(key, "net.", 4) == 0 && strstr(key, ".limit."))
                r = guest_net_apply_limits(p->tag, name, cfg, err);
        container_unlock(&l);
        root_dirs_done(&d);
        return r;
}

size_t lodge_templates_describe(struct lodge_template_desc *ret, size_t max)
{
        const struct lodge_template_ops *const *all = lodge_template_all();
        size_t n = 0;

        for (; n < max && all[n]; n++)
                ret[n] = (struct lodge_template_desc){ all[n]->name, all[n]->summary,
                                                       all[n]->usage };
        return n;
}
