/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/guest-net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "core/base/strv.h"
#include "core/core-internal.h"
#include "core/network.h"
#include "net/net.h"

#define DEFAULT_GUEST_IFNAME "eth0"

/* A veth without net.N.link goes on the default network (defname), made on
 * first use. */
static const char *link_of(const struct lodge_config_net *c, const char *defname)
{
        if (c->link || c->type != LODGE_NET_VETH)
                return c->link;
        return defname;
}

/* What was made for the guest on the host, recorded in GUEST_NET_LINKS as
 * "link NAME" (a host end) and "dns NETWORK" (its entries in a network's
 * dnsmasq) lines, so that whoever cleans up removes exactly those. */
struct made {
        char links[LODGE_CONFIG_MAX_NET][16];
        size_t n_links;
        char dns[LODGE_CONFIG_MAX_NET][16];
        size_t n_dns;
};

static int record(int rundirfd, const struct made *m, struct lodge_error **err)
{
        char buf[LODGE_CONFIG_MAX_NET * 2 * 24 + 1];
        size_t len = 0;

        for (size_t i = 0; i < m->n_links; i++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "link %s\n", m->links[i]);
        for (size_t i = 0; i < m->n_dns; i++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "dns %s\n", m->dns[i]);
        return write_file_replace_at(rundirfd, GUEST_NET_LINKS, buf, len, 0600, err);
}

static void dns_remove(const struct lodge_paths *p, const char *network, const char *guest)
{
        cleanup_free char *dir = NULL;
        cleanup_close int fd = network_run_dir(p, network, &dir, NULL);

        if (fd >= 0)
                lodge_net_dnsmasq_host_remove(dir, guest);
}

static void remove_made(const struct lodge_paths *p, const char *guest, struct lodge_net *n,
                        const struct made *m)
{
        for (size_t i = 0; i < m->n_links; i++) {
                (void)lodge_net_link_delete(n, m->links[i], NULL);
                lodge_net_tc_ifb_delete(n, m->links[i]);
        }
        for (size_t i = 0; i < m->n_dns; i++)
                dns_remove(p, m->dns[i], guest);
}

/* The guest other than self that has static IPv4 address addr on link:
 * 0 and its name in ret (size 64), or -ENOENT. */
static int address_owner(const struct lodge_paths *p, const char *self, const char *defname,
                         const char *link, const struct ip_prefix *addr, char ret[static 64],
                         struct lodge_error **err)
{
        cleanup_closedir DIR *d = NULL;
        struct root_dirs rd = ROOT_DIRS_NULL;
        int r;

        r = root_dirs_open(p, false, &rd, err);
        if (r < 0)
                return r;
        d = opendir_fd(rd.containers);
        root_dirs_done(&rd);
        if (!d)
                return lodge_error_set(err, errno, "list the containers");
        for (struct dirent *e; (e = readdir(d));) {
                CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;

                if (e->d_name[0] == '.' || strcmp(e->d_name, self) == 0 ||
                    lodge_container_config_load(p, e->d_name, &cfg, NULL) < 0)
                        continue;
                for (unsigned i = 0; i < LODGE_CONFIG_MAX_NET; i++) {
                        const struct lodge_config_net *c = &cfg->net[i];

                        if (c->type == LODGE_NET_VETH && c->ipv4_mode == LODGE_ADDR_STATIC &&
                            link_of(c, defname) && strcmp(link_of(c, defname), link) == 0 &&
                            c->ipv4.addr.v4.s_addr == addr->addr.v4.s_addr) {
                                snprintf(ret, 64, "%.63s", e->d_name); /* names have at most 63 */
                                return 0;
                        }
                }
        }
        return -ENOENT;
}

int guest_net_check_addresses(const struct lodge_paths *p, const char *name,
                              const struct lodge_config *cfg, struct lodge_error **err)
{
        char defname[16] = "";

        for (unsigned i = 0; i < LODGE_CONFIG_MAX_NET; i++) {
                const struct lodge_config_net *c = &cfg->net[i];
                struct lodge_net_network nw;
                char owner[64], a[INET_ADDRSTRLEN];
                int r;

                if (c->type != LODGE_NET_VETH || c->ipv4_mode != LODGE_ADDR_STATIC)
                        continue;
                /* Other guests' links may be the default network too. */
                if (!*defname) {
                        r = network_default_name(p, defname, err);
                        if (r < 0)
                                return r;
                }
                /* On a lodge network: a host of its subnet, not the gateway. */
                r = network_load(p, link_of(c, defname), &nw, NULL);
                if (r >= 0 && nw.has_ipv4)
                        r = lodge_net_ipam_check(&nw.ipv4, &c->ipv4, NULL, 0, err);
                else
                        r = 0;
                /* On any link: no other guest's. */
                if (r >= 0) {
                        r = address_owner(p, name, defname, link_of(c, defname), &c->ipv4, owner,
                                          err);
                        if (r >= 0)
                                r = lodge_error_set(
                                        err, EADDRINUSE, "%s is used by guest '%s'",
                                        inet_ntop(AF_INET, &c->ipv4.addr.v4, a, sizeof(a)), owner);
                        else if (r == -ENOENT)
                                r = 0;
                }
                if (r < 0)
                        return lodge_error_prefix(err, r, "net.%u.ipv4", i);
        }
        return 0;
}

/* The guest's end, inside its namespace: up, its static addresses, its
 * default route (via net.N.ipv4.gateway, or the managed network's gateway). */
static int configure_inside(struct lodge_net *in, const struct lodge_config_net *c,
                            const struct lodge_net_network *nw, struct lodge_error **err)
{
        const char *ifname = c->name ? c->name : DEFAULT_GUEST_IFNAME;
        const struct ip_prefix *gw = c->has_ipv4_gateway  ? &c->ipv4_gateway
                                     : nw && nw->has_ipv4 ? &nw->ipv4
                                                          : NULL;
        int r;

        r = lodge_net_link_up(in, ifname, err);
        if (r >= 0 && c->ipv4_mode == LODGE_ADDR_STATIC)
                r = lodge_net_addr_add(in, ifname, &c->ipv4, err);
        if (r >= 0 && c->ipv6_mode == LODGE_ADDR_STATIC)
                r = lodge_net_addr_add(in, ifname, &c->ipv6, err);
        if (r >= 0 && c->ipv4_mode == LODGE_ADDR_STATIC && gw)
                r = lodge_net_route_default_add(in, ifname, gw, err);
        /* IPv6 on a lodge network: via its gateway (SLAAC guests learn it from its RAs). */
        if (r >= 0 && c->ipv6_mode == LODGE_ADDR_STATIC && nw && nw->has_ipv6)
                r = lodge_net_route_default_add(in, ifname, &nw->ipv6, err);
        return r;
}

struct setup {
        const struct lodge_paths *p;
        const char *guest;
        char defname[16]; /* the default network */
        pid_t pid;
        struct lodge_net *host;
        struct made m;
};

static int make_link(struct setup *s, unsigned idx, const struct lodge_config_net *c,
                     struct lodge_net_network *nw, bool *ret_managed, struct lodge_error **err)
{
        struct lodge_net_guest_link g = {
                .name = c->name ? c->name : DEFAULT_GUEST_IFNAME,
                .netns_pid = s->pid,
                .has_hwaddr = c->has_hwaddr,
                .mtu = c->mtu,
        };
        char hostname[16];
        int r;

        memcpy(g.hwaddr, c->hwaddr, 6);
        *ret_managed = false;
        if (!link_of(c, s->defname))
                return lodge_error_set(err, EINVAL, "'net.%u.link' is not set", idx);
        if (c->type == LODGE_NET_MACVLAN)
                return lodge_net_macvlan_create(s->host, c->link, &g, err);

        r = network_load(s->p, link_of(c, s->defname), nw, NULL);
        if (r == -ENOENT && !c->link) {
                r = network_create_default(s->p, err);
                if (r >= 0)
                        r = network_load(s->p, link_of(c, s->defname), nw, err);
                if (r < 0)
                        return r;
        }
        if (r >= 0) {
                /* One of lodge's: up first (after a reboot: made again here). */
                r = network_up(s->p, s->host, nw, err);
                if (r < 0)
                        return r;
                *ret_managed = true;
        }
        lodge_net_veth_host_name(s->p->tag, s->guest, idx, hostname);
        r = lodge_net_veth_create(s->host, hostname, link_of(c, s->defname), &g, err);
        if (r < 0)
                return r;
        memcpy(s->m.links[s->m.n_links++], hostname, 16);
        if (c->limit_ingress || c->limit_egress) {
                r = lodge_net_tc_limits(s->host, hostname, c->limit_ingress, c->limit_egress, err);
                if (r < 0)
                        return r;
        }
        if (*ret_managed && nw->dhcp && c->has_hwaddr) {
                cleanup_free char *dir = NULL;
                cleanup_close int fd = network_run_dir(s->p, nw->name, &dir, err);

                if (fd < 0)
                        return fd;
                r = lodge_net_dnsmasq_host_set(dir, s->guest, c->hwaddr,
                                               c->ipv4_mode == LODGE_ADDR_STATIC ? &c->ipv4 : NULL,
                                               err);
                if (r < 0)
                        return r;
                memcpy(s->m.dns[s->m.n_dns++], nw->name, 16);
        }
        return 0;
}

static bool wants_link(const struct lodge_config_net *c)
{
        return c->type == LODGE_NET_VETH || c->type == LODGE_NET_MACVLAN;
}

static bool any_link(const struct lodge_config *cfg)
{
        for (unsigned i = 0; i < LODGE_CONFIG_MAX_NET; i++)
                if (wants_link(&cfg->net[i]))
                        return true;
        return false;
}

static int setup_all(struct setup *s, const struct lodge_config *cfg, int pidfd, int rundirfd,
                     struct lodge_error **err)
{
        CLEANUP(lodge_net_freep) struct lodge_net *in = NULL;
        struct lodge_net_network nws[LODGE_CONFIG_MAX_NET];
        bool managed[LODGE_CONFIG_MAX_NET] = { false };
        int r = 0;

        for (unsigned i = 0; r >= 0 && i < LODGE_CONFIG_MAX_NET; i++)
                if (wants_link(&cfg->net[i])) {
                        r = make_link(s, i, &cfg->net[i], &nws[i], &managed[i], err);
                        if (r < 0)
                                return lodge_error_prefix(err, r, "net.%u", i);
                }
        /* Recorded before anything else can fail: a monitor killed from here on
         * leaves its successor the list. */
        if (s->m.n_links + s->m.n_dns > 0) {
                r = record(rundirfd, &s->m, err);
                if (r < 0)
                        return r;
        }
        /* The loopback: the guest's first process brings it up itself. */
        if (!any_link(cfg))
                return 0;
        r = lodge_net_open_in(pidfd, &in, err);
        for (unsigned i = 0; r >= 0 && i < LODGE_CONFIG_MAX_NET; i++)
                if (wants_link(&cfg->net[i])) {
                        r = configure_inside(in, &cfg->net[i], managed[i] ? &nws[i] : NULL, err);
                        if (r < 0)
                                return lodge_error_prefix(err, r, "net.%u", i);
                }
        return r;
}

int guest_net_setup(const struct lodge_paths *p, const char *name, const struct lodge_config *cfg,
                    pid_t pid, int pidfd, int rundirfd, struct lodge_error **err)
{
        CLEANUP(lodge_net_freep) struct lodge_net *host = NULL;
        struct setup s = { .p = p, .guest = name, .pid = pid };
        bool any = false;
        int r;

        for (unsigned i = 0; i < LODGE_CONFIG_MAX_NET; i++)
                any |= wants_link(&cfg->net[i]);
        if (any) {
                r = network_default_name(p, s.defname, err);
                if (r < 0)
                        return r;
                r = guest_net_check_addresses(p, name, cfg, err);
                if (r < 0)
                        return r;
                r = lodge_net_open(&host, err);
                if (r < 0)
                        return r;
                s.host = host;
        }
        r = setup_all(&s, cfg, pidfd, rundirfd, err);
        if (r < 0 && host) {
                remove_made(p, name, host, &s.m);
                (void)unlinkat(rundirfd, GUEST_NET_LINKS, 0);
        }
        return r;
}

void guest_net_teardown(const struct lodge_paths *p, const char *name, int rundirfd)
{
        CLEANUP(lodge_net_freep) struct lodge_net *n = NULL;
        cleanup_free char *text = NULL;
        char *save = NULL;

        if (read_file_at(rundirfd, GUEST_NET_LINKS, 4096, &text, NULL, NULL) < 0)
                return;
        (void)lodge_net_open(&n, NULL);
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                if (strncmp(l, "link ", 5) == 0 && n && lodge_net_ifname_valid(l + 5)) {
                        (void)lodge_net_link_delete(n, l + 5, NULL);
                        lodge_net_tc_ifb_delete(n, l + 5);
                } else if (strncmp(l, "dns ", 4) == 0 && lodge_net_ifname_valid(l + 4) &&
                           l[4] != '.')
                        dns_remove(p, l + 4, name);
        }
        (void)unlinkat(rundirfd, GUEST_NET_LINKS, 0);
}

int guest_net_fill_hwaddr(struct lodge_config *cfg, struct lodge_error **err)
{
        for (unsigned i = 0; i < LODGE_CONFIG_MAX_NET; i++) {
                const struct lodge_config_net *c = &cfg->net[i];
                char key[32], value[18];
                uint8_t a[6];
                int r;

                if (!wants_link(c) || c->has_hwaddr)
                        continue;
                r = lodge_net_hwaddr_random(a, err);
                if (r < 0)
                        return r;
                snprintf(key, sizeof(key), "net.%u.hwaddr", i);
                snprintf(value, sizeof(value), "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2],
                         a[3], a[4], a[5]);
                r = lodge_config_set(cfg, key, value, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int guest_net_apply_limits(const char *tag, const char *name, const struct lodge_config *cfg,
                           struct lodge_error **err)
{
        CLEANUP(lodge_net_freep) struct lodge_net *n = NULL;
        int r;

        r = lodge_net_open(&n, err);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < LODGE_CONFIG_MAX_NET; i++) {
                const struct lodge_config_net *c = &cfg->net[i];
                char hostname[16];

                if (c->type != LODGE_NET_VETH)
                        continue;
                lodge_net_veth_host_name(tag, name, i, hostname);
                r = lodge_net_tc_limits(n, hostname, c->limit_ingress, c->limit_egress, err);
                if (r == -ENODEV) { /* not running: applied at its start */
                        lodge_error_free(err);
                        continue;
                }
                if (r < 0)
                        return lodge_error_prefix(err, r, "net.%u", i);
        }
        return 0;
}

static int iface_fill(struct lodge_net *in, const char *tag, const char *defname, const char *guest,
                      unsigned idx, const struct lodge_config_net *c, struct lodge_iface_info *ret)
{
        struct lodge_net_link_info li;
        const char *ifname = c->name ? c->name : DEFAULT_GUEST_IFNAME;

        *ret = (struct lodge_iface_info){ .index = idx };
        if (lodge_net_link_info(in, ifname, &li, NULL) < 0)
                return -ENODEV;
        snprintf(ret->name, sizeof(ret->name), "%s", ifname);
        snprintf(ret->type, sizeof(ret->type), "%s",
                 c->type == LODGE_NET_VETH ? "veth" : "macvlan");
        snprintf(ret->link, sizeof(ret->link), "%s",
                 link_of(c, defname) ? link_of(c, defname) : "");
        if (c->type == LODGE_NET_VETH)
                lodge_net_veth_host_name(tag, guest, idx, ret->host_name);
        snprintf(ret->hwaddr, sizeof(ret->hwaddr), "%02x:%02x:%02x:%02x:%02x:%02x", li.hwaddr[0],
                 li.hwaddr[1], li.hwaddr[2], li.hwaddr[3], li.hwaddr[4], li.hwaddr[5]);
        ret->mtu = li.mtu;
        ret->rx_bytes = li.rx_bytes;
        ret->tx_bytes = li.tx_bytes;
        ret->rx_packets = li.rx_packets;
        ret->tx_packets = li.tx_packets;
        if (lodge_net_addrs(in, ifname, AF_INET, &ret->ipv4, NULL) < 0 ||
            lodge_net_addrs(in, ifname, AF_INET6, &ret->ipv6, NULL) < 0)
                return -ENOMEM;
        return 0;
}

void guest_net_ifaces_free(struct lodge_iface_info *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                strv_free(v[i].ipv4);
                strv_free(v[i].ipv6);
        }
        free(v);
}

int guest_net_live(const struct lodge_paths *p, const char *name, const struct lodge_config *cfg,
                   pid_t pid, struct lodge_iface_info **ret, size_t *ret_n)
{
        CLEANUP(lodge_net_freep) struct lodge_net *in = NULL;
        struct lodge_iface_info *v;
        cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        char defname[16] = "";
        size_t n = 0;

        if (pidfd < 0 || lodge_net_open_in(pidfd, &in, NULL) < 0)
                return -ESRCH;
        /* A bad lodge.conf: no name shown for the default network. */
        (void)network_default_name(p, defname, NULL);
        v = calloc(LODGE_CONFIG_MAX_NET, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (unsigned i = 0; i < LODGE_CONFIG_MAX_NET; i++) {
                int r;

                if (!wants_link(&cfg->net[i]))
                        continue;
                r = iface_fill(in, p->tag, *defname ? defname : NULL, name, i, &cfg->net[i], &v[n]);
                if (r == -ENODEV)
                        continue;
                n++;
                if (r < 0) {
                        guest_net_ifaces_free(v, n);
                        return r;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}
