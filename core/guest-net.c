/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/guest-net.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "net/net.h"

#define DEFAULT_GUEST_IFNAME "eth0"

struct made {
        char names[LODGE_CONFIG_MAX_NET][16];
        size_t n;
};

static int record(int rundirfd, const struct made *m, struct lodge_error **err)
{
        char buf[LODGE_CONFIG_MAX_NET * 16 + 1];
        size_t len = 0;

        for (size_t i = 0; i < m->n; i++) {
                size_t l = strlen(m->names[i]);

                memcpy(buf + len, m->names[i], l);
                buf[len + l] = '\n';
                len += l + 1;
        }
        return write_file_replace_at(rundirfd, GUEST_NET_LINKS, buf, len, 0600, err);
}

static void remove_made(struct lodge_net *n, const struct made *m)
{
        for (size_t i = 0; i < m->n; i++)
                (void)lodge_net_link_delete(n, m->names[i], NULL);
}

/* The guest's end, inside its namespace: up, its static addresses, its
 * default route. */
static int configure_inside(struct lodge_net *in, const struct lodge_config_net *c,
                            const char *ifname, unsigned idx, struct lodge_error **err)
{
        int r;

        r = lodge_net_link_up(in, ifname, err);
        if (r >= 0 && c->ipv4_mode == LODGE_ADDR_STATIC)
                r = lodge_net_addr_add(in, ifname, &c->ipv4, err);
        if (r >= 0 && c->ipv6_mode == LODGE_ADDR_STATIC)
                r = lodge_net_addr_add(in, ifname, &c->ipv6, err);
        if (r >= 0 && c->ipv4_mode == LODGE_ADDR_STATIC && c->has_ipv4_gateway)
                r = lodge_net_route_default_add(in, ifname, &c->ipv4_gateway, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "net.%u", idx);
        return 0;
}

static int make_link(struct lodge_net *host, const char *guest, unsigned idx,
                     const struct lodge_config_net *c, pid_t pid, struct made *m,
                     struct lodge_error **err)
{
        struct lodge_net_guest_link g = {
                .name = c->name ? c->name : DEFAULT_GUEST_IFNAME,
                .netns_pid = pid,
                .has_hwaddr = c->has_hwaddr,
                .mtu = c->mtu,
        };
        int r;

        memcpy(g.hwaddr, c->hwaddr, 6);
        if (!c->link)
                return lodge_error_set(err, EINVAL, "net.%u: 'net.%u.link' is not set", idx, idx);
        if (c->type == LODGE_NET_MACVLAN) {
                r = lodge_net_macvlan_create(host, c->link, &g, err);
        } else {
                char hostname[16];

                lodge_net_veth_host_name(guest, idx, hostname);
                r = lodge_net_veth_create(host, hostname, c->link, &g, err);
                if (r >= 0)
                        memcpy(m->names[m->n++], hostname, 16);
        }
        if (r < 0)
                return lodge_error_prefix(err, r, "net.%u", idx);
        return 0;
}

int guest_net_setup(const struct lodge_paths *p, const char *name, const struct lodge_config *cfg,
                    pid_t pid, int pidfd, int rundirfd, struct lodge_error **err)
{
        CLEANUP(lodge_net_freep) struct lodge_net *host = NULL;
        CLEANUP(lodge_net_freep) struct lodge_net *in = NULL;
        struct made m = { .n = 0 };
        bool any = false;
        int r = 0;

        (void)p;
        for (unsigned i = 0; i < LODGE_CONFIG_MAX_NET; i++)
                any |= cfg->net[i].type == LODGE_NET_VETH || cfg->net[i].type == LODGE_NET_MACVLAN;
        if (any) {
                r = lodge_net_open(&host, err);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; r >= 0 && i < LODGE_CONFIG_MAX_NET; i++) {
                const struct lodge_config_net *c = &cfg->net[i];

                if (c->type == LODGE_NET_VETH || c->type == LODGE_NET_MACVLAN)
                        r = make_link(host, name, i, c, pid, &m, err);
        }
        /* Recorded before anything else can fail: a monitor killed from here on
         * leaves its successor the list. */
        if (r >= 0 && m.n > 0)
                r = record(rundirfd, &m, err);
        if (r >= 0)
                r = lodge_net_open_in(pidfd, &in, err);
        if (r >= 0)
                r = lodge_net_link_up(in, "lo", err);
        for (unsigned i = 0; r >= 0 && i < LODGE_CONFIG_MAX_NET; i++) {
                const struct lodge_config_net *c = &cfg->net[i];

                if (c->type == LODGE_NET_VETH || c->type == LODGE_NET_MACVLAN)
                        r = configure_inside(in, c, c->name ? c->name : DEFAULT_GUEST_IFNAME, i,
                                             err);
        }
        if (r < 0 && host) {
                remove_made(host, &m);
                (void)unlinkat(rundirfd, GUEST_NET_LINKS, 0);
        }
        return r;
}

void guest_net_teardown(int rundirfd)
{
        CLEANUP(lodge_net_freep) struct lodge_net *n = NULL;
        cleanup_free char *text = NULL;
        char *save = NULL;
        size_t len = 0;

        if (read_file_at(rundirfd, GUEST_NET_LINKS, 4096, &text, &len, NULL) < 0)
                return;
        if (lodge_net_open(&n, NULL) >= 0)
                for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                        if (lodge_net_ifname_valid(l))
                                (void)lodge_net_link_delete(n, l, NULL);
        (void)unlinkat(rundirfd, GUEST_NET_LINKS, 0);
}
