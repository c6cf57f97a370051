/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/network.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/host-conf.h"
#include "core/base/rmtree.h"
#include "core/base/strv.h"
#include "core/core-internal.h"
#include "net/net.h"

#define NETWORKS "networks"
#define NETWORKS_RUN ".networks" /* in the run directory: no container is called that */
#define LEASES ".leases"         /* in NETWORKS: no network is called that */

/* A network's name is its bridge's, and names its nftables chains: an
 * interface name of [A-Za-z0-9_.-], not starting with '.'. */
static bool name_ok(const char *name)
{
        return lodge_net_ifname_valid(name) && name[0] != '.' &&
               strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                       strlen(name);
}

static int networks_dir(const struct lodge_paths *p, bool create, struct lodge_error **err)
{
        cleanup_close int root = -EBADF;

        root = state_dir_open(p->root, 0711, create, err);
        if (root < 0)
                return root;
        return state_subdir_open(root, p->root, NETWORKS, create, err);
}

int network_lock(const struct lodge_paths *p, struct lodge_error **err)
{
        cleanup_close int dir = networks_dir(p, true, err);
        int fd;

        if (dir < 0)
                return dir;
        fd = openat(dir, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return lodge_error_set(err, errno, "open the networks' lock");
        for (int i = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; i++) {
                if (errno != EWOULDBLOCK || i >= 500) {
                        int e = errno == EWOULDBLOCK ? EBUSY : errno;

                        close(fd);
                        return lodge_error_set(err, e, "lock the networks");
                }
                nanosleep(&(struct timespec){ .tv_nsec = 10L * 1000 * 1000 }, NULL);
        }
        return fd;
}

int network_load(const struct lodge_paths *p, const char *name, struct lodge_net_network *ret,
                 struct lodge_error **err)
{
        cleanup_close int dir = -EBADF;
        cleanup_free char *text = NULL;
        int r;

        if (!name_ok(name))
                return lodge_error_set(err, EINVAL, "'%s' is not a valid network name", name);
        dir = networks_dir(p, false, NULL);
        if (dir < 0)
                return lodge_error_set(err, ENOENT, "no network '%s'", name);
        r = read_file_at(dir, name, 4096, &text, NULL, NULL);
        if (r == -ENOENT)
                return lodge_error_set(err, ENOENT, "no network '%s'", name);
        if (r < 0)
                return lodge_error_set(err, -r, "read network '%s'", name);
        return lodge_net_network_parse(name, text, ret, err);
}

int network_run_dir(const struct lodge_paths *p, const char *name, char **ret_path,
                    struct lodge_error **err)
{
        cleanup_free char *top = NULL, *path = NULL;
        cleanup_close int fd = -EBADF;

        if (asprintf(&top, "%s/" NETWORKS_RUN, p->rundir) < 0 ||
            asprintf(&path, "%s/%s", top, name) < 0)
                return lodge_error_set(err, ENOMEM, "network run directory");
        fd = state_dir_open(top, 0711, true, err);
        if (fd < 0)
                return fd;
        close(fd);
        fd = state_dir_open(path, 0711, true, err);
        if (fd < 0)
                return fd;
        *ret_path = TAKE_PTR(path);
        return TAKE_FD(fd);
}

/* The network's dnsmasq lease file, $LODGE_ROOT/networks/.leases/NAME: with
 * the definition, not in the run directory, so that guests keep their
 * addresses across a reboot. */
static int leases_path(const struct lodge_paths *p, const char *name, char **ret,
                       struct lodge_error **err)
{
        cleanup_close int dir = networks_dir(p, true, err);
        cleanup_close int fd = -EBADF;

        if (dir < 0)
                return dir;
        fd = state_subdir_open(dir, NETWORKS, LEASES, true, err);
        if (fd < 0)
                return fd;
        if (asprintf(ret, "%s/" NETWORKS "/" LEASES "/%s", p->root, name) < 0)
                return lodge_error_set(err, ENOMEM, "network '%s': lease file", name);
        return 0;
}

static void leases_remove(const struct lodge_paths *p, const char *name)
{
        cleanup_close int dir = networks_dir(p, false, NULL);
        cleanup_close int fd =
                dir < 0 ? -EBADF : state_subdir_open(dir, NETWORKS, LEASES, false, NULL);

        if (fd >= 0)
                (void)unlinkat(fd, name, 0);
}

/* The nftables table of this root's networks: "inet lodge", or for another
 * root "inet lodge-TAG", so that two roots, each under its own lock, never
 * remove the table under each other's chains. */
static void nft_table(const struct lodge_paths *p, char ret[static 16])
{
        snprintf(ret, 16, "lodge%s%s", *p->tag ? "-" : "", p->tag);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All definitions (name order), owned by the caller. */
static int load_all(const struct lodge_paths *p, struct lodge_net_network **ret, size_t *ret_n,
                    struct lodge_error **err)
{
        cleanup_free struct lodge_net_network *v = NULL;
        cleanup_closedir DIR *d = NULL;
        cleanup_strv char **names = NULL;
        size_t n = 0;
        int fd;

        fd = networks_dir(p, false, NULL);
        if (fd >= 0 && !(d = fdopendir(fd))) {
                close(fd);
                return lodge_error_set(err, errno, "list the networks");
        }
        for (struct dirent *e; d && (e = readdir(d));)
                if (e->d_name[0] != '.' && strv_extend(&names, e->d_name) < 0)
                        return lodge_error_set(err, ENOMEM, "list the networks");
        if (names)
                qsort(names, strv_length(names), sizeof(*names), cmp_str);
        v = calloc(strv_length(names) + 1, sizeof(*v));
        if (!v)
                return lodge_error_set(err, ENOMEM, "list the networks");
        STRV_FOREACH (name, names) {
                int r = network_load(p, *name, &v[n], err);

                if (r < 0)
                        return r;
                n++;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

static int up_locked(const struct lodge_paths *p, struct lodge_net *n,
                     const struct lodge_net_network *nw, struct lodge_error **err)
{
        cleanup_free char *dir = NULL, *leases = NULL;
        cleanup_close int dfd = -EBADF;
        char table[16];
        int r;

        r = lodge_net_network_up(n, nw, err);
        if (r < 0)
                return r;
        dfd = network_run_dir(p, nw->name, &dir, err);
        if (dfd < 0)
                return dfd;
        if (nw->nat) {
                nft_table(p, table);
                r = lodge_net_ip_forward_enable(err);
                /* Applied whole, once per boot of the network: not on every guest's start. */
                if (r >= 0 && faccessat(dfd, "nat.applied", F_OK, 0) < 0) {
                        r = lodge_net_nat_set(nw, table, true, dfd, dir, err);
                        if (r >= 0)
                                r = write_file_replace_at(dfd, "nat.applied", "", 0, 0600, err);
                }
                if (r < 0)
                        return r;
        }
        if (nw->dhcp) {
                r = leases_path(p, nw->name, &leases, err);
                if (r >= 0)
                        r = lodge_net_dnsmasq_start(nw, dir, leases, err);
        }
        return r;
}

int network_up(const struct lodge_paths *p, struct lodge_net *n, const struct lodge_net_network *nw,
               struct lodge_error **err)
{
        cleanup_close int lock = network_lock(p, err);
        int r;

        if (lock < 0)
                return lock;
        r = up_locked(p, n, nw, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "network '%s'", nw->name);
        return 0;
}

int networks_up_all(const struct lodge_paths *p, char ***failed, struct lodge_error **err)
{
        CLEANUP(lodge_net_freep) struct lodge_net *n = NULL;
        cleanup_free struct lodge_net_network *all = NULL;
        size_t k = 0;
        int r;

        r = load_all(p, &all, &k, err);
        if (r < 0 || k == 0)
                return r;
        r = lodge_net_open(&n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < k; i++) {
                cleanup_error struct lodge_error *e = NULL;
                char *line = NULL;

                if (network_up(p, n, &all[i], &e) >= 0)
                        continue;
                if (asprintf(&line, "%s", e->msg) < 0 || strv_push(failed, line) < 0) {
                        free(line);
                        return lodge_error_set(err, ENOMEM, "autostart");
                }
        }
        return 0;
}

/* ---- the front door: lodge network create|delete|list|show ---- */

/* A free private /24 for network name: no route of the host's, no other
 * network's subnet. */
static int subnet_auto(const struct lodge_paths *p, const char *name, struct lodge_net *n,
                       struct ip_prefix *ret, struct lodge_error **err)
{
        cleanup_free struct ip_prefix *routes = NULL;
        cleanup_free struct lodge_net_network *all = NULL;
        size_t k = 0, m = 0;
        unsigned start = 0;
        int r;

        /* From a point that depends on the name: two hosts seldom pick the same. */
        for (const char *c = name; *c; c++)
                start = start * 31u + (unsigned char)*c;
        r = lodge_net_routes_ipv4(n, &routes, &k, err);
        if (r < 0)
                return r;
        /* Also what other networks of lodge's hold, up or not. */
        r = load_all(p, &all, &m, err);
        if (r < 0)
                return r;
        if (m > 0) {
                struct ip_prefix *more = reallocarray(routes, k + m, sizeof(*routes));

                if (!more)
                        return lodge_error_set(err, ENOMEM, "pick a subnet");
                routes = more;
                for (size_t i = 0; i < m; i++)
                        if (all[i].has_ipv4)
                                routes[k++] = all[i].ipv4;
        }
        return lodge_net_subnet_pick(routes, k, start, ret, err);
}

static int options_to_network(const struct lodge_paths *p, const char *name,
                              const struct lodge_network_options *o, struct lodge_net *n,
                              struct lodge_net_network *nw, struct lodge_error **err)
{
        const char *v4 = o->ipv4 ? o->ipv4 : "auto", *v6 = o->ipv6 ? o->ipv6 : "none";
        int r;

        *nw = (struct lodge_net_network){ .nat = o->nat > 0 };
        snprintf(nw->name, sizeof(nw->name), "%s", name);
        if (strcmp(v4, "auto") == 0) {
                r = subnet_auto(p, name, n, &nw->ipv4, err);
                if (r < 0)
                        return r;
                nw->has_ipv4 = true;
        } else if (strcmp(v4, "none") != 0) {
                if (parse_ip_prefix(v4, AF_INET, &nw->ipv4) < 0 || nw->ipv4.prefixlen > 30 ||
                    nw->ipv4.prefixlen < 8)
                        return lodge_error_set(
                                err, EINVAL,
                                "--ipv4 '%s': not ADDR/PREFIX (/8 to /30), auto or none", v4);
                nw->has_ipv4 = true;
        }
        if (strcmp(v6, "none") != 0) {
                if (parse_ip_prefix(v6, AF_INET6, &nw->ipv6) < 0)
                        return lodge_error_set(err, EINVAL, "--ipv6 '%s': not ADDR/PREFIX or none",
                                               v6);
                nw->has_ipv6 = true;
        }
        nw->dhcp = o->dhcp < 0 ? nw->has_ipv4 || nw->has_ipv6 : o->dhcp > 0;
        if (nw->dhcp && !nw->has_ipv4 && !nw->has_ipv6)
                return lodge_error_set(err, EINVAL, "--dhcp on needs a subnet");
        if (nw->dhcp && nw->has_ipv4 && nw->ipv4.prefixlen > 29)
                return lodge_error_set(err, EINVAL, "--dhcp on needs a subnet of /29 or more");
        if (nw->nat && !nw->has_ipv4)
                return lodge_error_set(err, EINVAL, "--nat on needs an IPv4 subnet");
        return 0;
}

/* Everything of a network but its definition: dnsmasq, NAT, its files, the
 * bridge. Goes on after a failure (the first one is returned). */
static int take_down(const struct lodge_paths *p, struct lodge_net *n,
                     const struct lodge_net_network *nw, struct lodge_error **err)
{
        cleanup_free char *dir = NULL, *top = NULL;
        cleanup_close int dfd = network_run_dir(p, nw->name, &dir, err);
        cleanup_close int tfd = -EBADF;
        char table[16];
        int r = 0, q;

        nft_table(p, table);
        if (dfd >= 0) {
                r = lodge_net_dnsmasq_stop(dir, err);
                /* Its chains go with it; nft is not needed by networks that never had NAT. */
                if (nw->nat) {
                        q = lodge_net_nat_set(nw, table, false, dfd, dir, r < 0 ? NULL : err);
                        r = r < 0 ? r : q;
                }
                close(TAKE_FD(dfd));
        } else
                r = dfd;
        /* Its leases: once dnsmasq is gone (it rewrites the file). */
        if (r >= 0)
                leases_remove(p, nw->name);
        if (asprintf(&top, "%s/" NETWORKS_RUN, p->rundir) >= 0 &&
            (tfd = state_dir_open(top, 0711, false, NULL)) >= 0) {
                q = rm_rf_at(tfd, nw->name, r < 0 ? NULL : err);
                r = r < 0 ? r : q;
        }
        q = lodge_net_bridge_delete(n, nw->name, NULL);
        if (q < 0 && q != -ENODEV && r >= 0)
                r = lodge_net_bridge_delete(n, nw->name, err);
        return r;
}

static int create_locked(const struct lodge_paths *p, const char *name,
                         const struct lodge_network_options *o, int dir, struct lodge_error **err)
{
        CLEANUP(lodge_net_freep) struct lodge_net *n = NULL;
        cleanup_free char *text = NULL;
        struct lodge_net_network nw;
        struct stat st;
        int r;

        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return lodge_error_set(err, EEXIST, "network '%s' exists already", name);
        r = lodge_net_open(&n, err);
        if (r < 0)
                return r;
        /* Never take over an interface of somebody else's. */
        r = lodge_net_bridge_check(n, name, err);
        if (r == -ENODEV)
                lodge_error_free(err);
        else if (r >= 0)
                return lodge_error_set(err, EEXIST,
                                       "a lodge bridge '%s' exists without a definition in this "
                                       "root (another root's, or left over: delete it first)",
                                       name);
        else
                return r;
        r = options_to_network(p, name, o, n, &nw, err);
        if (r < 0)
                return r;
        r = lodge_net_network_format(&nw, &text, err);
        if (r >= 0)
                r = write_file_atomic_at(dir, name, text, strlen(text), 0644, err);
        if (r >= 0)
                r = up_locked(p, n, &nw, err);
        if (r < 0) {
                (void)unlinkat(dir, name, 0);
                (void)take_down(p, n, &nw, NULL);
        }
        return r;
}

int lodge_network_create(const struct lodge_paths *p, const char *name,
                         const struct lodge_network_options *o, struct lodge_error **err)
{
        cleanup_close int dir = -EBADF, lock = -EBADF;
        int r;

        if (!name_ok(name))
                return lodge_error_set(err, EINVAL,
                                       "'%s' is not a valid network name (1 to 15 of A-Z, a-z, "
                                       "0-9, '_', '.', '-', not starting with '.')",
                                       name);
        lock = network_lock(p, err);
        if (lock < 0)
                return lock;
        dir = networks_dir(p, true, err);
        if (dir < 0)
                return dir;
        r = create_locked(p, name, o, dir, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "network '%s'", name);
        return 0;
}

int lodge_network_delete(const struct lodge_paths *p, const char *name, struct lodge_error **err)
{
        CLEANUP(lodge_net_freep) struct lodge_net *n = NULL;
        cleanup_close int dir = -EBADF, lock = -EBADF;
        struct lodge_net_network nw;
        int r;

        lock = network_lock(p, err);
        if (lock < 0)
                return lock;
        r = network_load(p, name, &nw, err);
        if (r < 0)
                return r;
        r = lodge_net_open(&n, err);
        if (r < 0)
                return r;
        r = lodge_net_bridge_ports(n, name, NULL);
        if (r > 0)
                return lodge_error_set(err, EBUSY, "network '%s' is used by %d running guest%s",
                                       name, r, r == 1 ? "" : "s");
        dir = networks_dir(p, false, err);
        if (dir < 0)
                return dir;
        if (unlinkat(dir, name, 0) < 0)
                return lodge_error_set(err, errno, "remove network '%s'", name);
        (void)fsync(dir);
        r = take_down(p, n, &nw, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "network '%s'", name);
        return 0;
}

static int info_of(const struct lodge_paths *p, struct lodge_net *n,
                   const struct lodge_net_network *nw, struct lodge_network_info *ret)
{
        cleanup_free char *top = NULL;
        int ports;

        *ret = (struct lodge_network_info){ .nat = nw->nat, .dhcp = nw->dhcp, .dnsmasq_pid = 0 };
        snprintf(ret->name, sizeof(ret->name), "%s", nw->name);
        lodge_net_prefix_to_string(nw->has_ipv4, &nw->ipv4, ret->ipv4);
        lodge_net_prefix_to_string(nw->has_ipv6, &nw->ipv6, ret->ipv6);
        ret->up = n && lodge_net_bridge_check(n, nw->name, NULL) >= 0;
        ports = ret->up ? lodge_net_bridge_ports(n, nw->name, NULL) : 0;
        ret->guests = ports > 0 ? (unsigned)ports : 0;
        if (asprintf(&top, "%s/" NETWORKS_RUN "/%s", p->rundir, nw->name) < 0)
                return -ENOMEM;
        ret->dnsmasq_pid = lodge_net_dnsmasq_pid(top);
        if (ret->dnsmasq_pid < 0)
                ret->dnsmasq_pid = 0;
        return 0;
}

int lodge_network_list(const struct lodge_paths *p, struct lodge_network_info **ret, size_t *ret_n,
                       struct lodge_error **err)
{
        CLEANUP(lodge_net_freep) struct lodge_net *n = NULL;
        cleanup_free struct lodge_net_network *all = NULL;
        cleanup_free struct lodge_network_info *v = NULL;
        size_t k = 0;
        int r;

        r = load_all(p, &all, &k, err);
        if (r < 0)
                return r;
        v = calloc(k + 1, sizeof(*v));
        if (!v)
                return lodge_error_set(err, ENOMEM, "list the networks");
        (void)lodge_net_open(&n, NULL);
        for (size_t i = 0; i < k; i++)
                if (info_of(p, n, &all[i], &v[i]) < 0)
                        return lodge_error_set(err, ENOMEM, "list the networks");
        *ret = TAKE_PTR(v);
        *ret_n = k;
        return 0;
}

int lodge_network_show(const struct lodge_paths *p, const char *name,
                       struct lodge_network_info *ret, struct lodge_error **err)
{
        CLEANUP(lodge_net_freep) struct lodge_net *n = NULL;
        struct lodge_net_network nw;
        int r;

        r = network_load(p, name, &nw, err);
        if (r < 0)
                return r;
        (void)lodge_net_open(&n, NULL);
        if (info_of(p, n, &nw, ret) < 0)
                return lodge_error_set(err, ENOMEM, "network '%s'", name);
        return 0;
}

/* lodge.conf's network.default, else "lodgebr0", or for another root
 * "lodgebr" + its tag (15 characters): two roots never share a default
 * network, each defined in its own root. */
static int default_from_conf(const struct lodge_paths *p, const struct host_conf *c,
                             char ret[static 16], struct lodge_error **err)
{
        if (c->network_default && !name_ok(c->network_default))
                return lodge_error_set(err, EINVAL,
                                       "'%s': network.default '%s' is not a valid "
                                       "network name",
                                       p->conf, c->network_default);
        if (c->network_default)
                snprintf(ret, 16, "%s", c->network_default);
        else
                snprintf(ret, 16, "lodgebr%s", *p->tag ? p->tag : "0");
        return 0;
}

int network_default_name(const struct lodge_paths *p, char ret[static 16], struct lodge_error **err)
{
        struct host_conf c;
        int r;

        r = host_conf_read(p->conf, &c, err);
        if (r >= 0)
                r = default_from_conf(p, &c, ret, err);
        host_conf_done(&c);
        return r;
}

int network_create_default(const struct lodge_paths *p, struct lodge_error **err)
{
        struct host_conf c;
        char name[16] = "";
        int r;

        r = host_conf_read(p->conf, &c, err);
        if (r >= 0)
                r = default_from_conf(p, &c, name, err);
        if (r >= 0) {
                const struct lodge_network_options o = {
                        .ipv4 = c.network_default_ipv4,
                        .ipv6 = c.network_default_ipv6,
                        .nat = 0,
                        .dhcp = -1,
                };

                r = lodge_network_create(p, name, &o, err);
                if (r == -EEXIST &&
                    network_load(p, name, &(struct lodge_net_network){ 0 }, NULL) >= 0) {
                        lodge_error_free(err);
                        r = 0;
                }
        }
        host_conf_done(&c);
        return r;
}
