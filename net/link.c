/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/if.h>
#include <netlink/errno.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "net/net-internal.h"
#include "net/net.h"

/* lodge's bridges carry this alias (IFLA_IFALIAS, shown by "ip -d link"): a
 * bridge without it is someone else's, and lodge neither uses nor deletes it. */
#define LODGE_BRIDGE_ALIAS "lodge-managed"

static bool is_lodge_bridge(struct rtnl_link *link)
{
        const char *alias = rtnl_link_get_ifalias(link);
        const char *type = rtnl_link_get_type(link);

        return type && strcmp(type, "bridge") == 0 && alias &&
               strcmp(alias, LODGE_BRIDGE_ALIAS) == 0;
}

int lodge_net_bridge_check(struct lodge_net *n, const char *name, struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        r = net_link_get(n, name, &link, err);
        if (r < 0)
                return r;
        if (!is_lodge_bridge(link))
                return lodge_error_set(err, EEXIST,
                                       "interface '%s' exists and is not a lodge bridge", name);
        return 0;
}

static int link_set_up(struct lodge_net *n, struct rtnl_link *orig, const char *alias,
                       struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *chg = rtnl_link_alloc();
        int r;

        if (!chg)
                return lodge_error_set(err, ENOMEM, "allocate a link");
        rtnl_link_set_flags(chg, IFF_UP);
        if (alias)
                rtnl_link_set_ifalias(chg, alias);
        r = rtnl_link_change(n->sk, orig, chg, 0);
        if (r < 0)
                return net_error(err, r, "set interface '%s' up", rtnl_link_get_name(orig));
        return 0;
}

int lodge_net_bridge_create(struct lodge_net *n, const char *name, struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        if (!lodge_net_ifname_valid(name))
                return lodge_error_set(err, EINVAL, "'%s' is not a valid interface name", name);
        r = lodge_net_bridge_check(n, name, NULL);
        if (r >= 0) /* ours already (made by an earlier run): up, as it may not be */
                return lodge_net_link_up(n, name, err);
        if (r != -ENODEV)
                return lodge_net_bridge_check(n, name, err);
        link = rtnl_link_bridge_alloc();
        if (!link)
                return lodge_error_set(err, ENOMEM, "allocate a bridge");
        rtnl_link_set_name(link, name);
        r = rtnl_link_add(n->sk, link, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return net_error(err, r, "create bridge '%s'", name);
        rtnl_link_put(link);
        link = NULL;
        /* The alias can't be given at creation (the kernel ignores it there). */
        r = net_link_get(n, name, &link, err);
        if (r >= 0)
                r = link_set_up(n, link, LODGE_BRIDGE_ALIAS, err);
        if (r < 0)
                (void)rtnl_link_delete(n->sk, link);
        return r;
}

int lodge_net_bridge_delete(struct lodge_net *n, const char *name, struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        r = lodge_net_bridge_check(n, name, err);
        if (r < 0)
                return r;
        r = net_link_get(n, name, &link, err);
        if (r < 0)
                return r;
        r = rtnl_link_delete(n->sk, link);
        if (r < 0)
                return net_error(err, r, "delete bridge '%s'", name);
        return 0;
}

int lodge_net_link_delete(struct lodge_net *n, const char *name, struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        r = net_link_get(n, name, &link, err);
        if (r < 0)
                return r;
        r = rtnl_link_delete(n->sk, link);
        if (r < 0)
                return net_error(err, r, "delete interface '%s'", name);
        return 0;
}

int lodge_net_link_up(struct lodge_net *n, const char *name, struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        r = net_link_get(n, name, &link, err);
        if (r < 0)
                return r;
        if (rtnl_link_get_flags(link) & IFF_UP)
                return 0;
        return link_set_up(n, link, NULL, err);
}

int lodge_net_link_info(struct lodge_net *n, const char *name, struct lodge_net_link_info *ret,
                        struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        struct nl_addr *a;
        int r;

        r = net_link_get(n, name, &link, err);
        if (r < 0)
                return r;
        *ret = (struct lodge_net_link_info){
                .ifindex = rtnl_link_get_ifindex(link),
                .mtu = rtnl_link_get_mtu(link),
                .up = (rtnl_link_get_flags(link) & IFF_UP) != 0,
                .rx_bytes = rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES),
                .tx_bytes = rtnl_link_get_stat(link, RTNL_LINK_TX_BYTES),
                .rx_packets = rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS),
                .tx_packets = rtnl_link_get_stat(link, RTNL_LINK_TX_PACKETS),
        };
        a = rtnl_link_get_addr(link);
        if (a && nl_addr_get_len(a) == 6)
                memcpy(ret->hwaddr, nl_addr_get_binary_addr(a), 6);
        return 0;
}

/* The guest end's settings, on the link made in (or moved to) the guest. */
static int guest_end(struct rtnl_link *l, const struct lodge_net_guest_link *g, uint32_t mtu,
                     struct lodge_error **err)
{
        rtnl_link_set_name(l, g->name);
        rtnl_link_set_ns_pid(l, g->netns_pid);
        if (mtu)
                rtnl_link_set_mtu(l, mtu);
        if (g->has_hwaddr) {
                CLEANUP(nl_addr_putp) struct nl_addr *a = nl_addr_build(AF_LLC, g->hwaddr, 6);

                if (!a)
                        return lodge_error_set(err, ENOMEM, "allocate an address");
                rtnl_link_set_addr(l, a);
        }
        return 0;
}

int lodge_net_veth_create(struct lodge_net *n, const char *host, const char *bridge,
                          const struct lodge_net_guest_link *g, struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *br = NULL;
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        CLEANUP(rtnl_link_putp) struct rtnl_link *peer = NULL;
        uint32_t mtu = g->mtu;
        int r;

        if (!lodge_net_ifname_valid(host) || !lodge_net_ifname_valid(g->name))
                return lodge_error_set(err, EINVAL, "bad interface name");
        /* Any bridge: lodge's networks, or one the admin made (as LXC's link). */
        r = net_link_get(n, bridge, &br, err);
        if (r == -ENODEV)
                return lodge_error_set(err, ENODEV, "no bridge '%s'", bridge);
        if (r < 0)
                return r;
        if (!rtnl_link_get_type(br) || strcmp(rtnl_link_get_type(br), "bridge") != 0)
                return lodge_error_set(err, EINVAL, "interface '%s' is not a bridge", bridge);
        if (!mtu)
                mtu = rtnl_link_get_mtu(br);
        link = rtnl_link_veth_alloc();
        if (!link)
                return lodge_error_set(err, ENOMEM, "allocate a veth pair");
        peer = rtnl_link_veth_get_peer(link);
        rtnl_link_set_name(link, host);
        rtnl_link_set_mtu(link, mtu);
        rtnl_link_set_master(link, rtnl_link_get_ifindex(br));
        rtnl_link_set_flags(link, IFF_UP);
        r = guest_end(peer, g, mtu, err);
        if (r < 0)
                return r;
        /* One request: the pair, its host end up in the bridge, its guest end
         * named and addressed in the guest's namespace. */
        r = rtnl_link_add(n->sk, link, NLM_F_CREATE | NLM_F_EXCL);
        if (r == -NLE_EXIST)
                return lodge_error_set(err, EEXIST, "create veth '%s': an interface '%s' exists",
                                       host, host);
        if (r < 0)
                return net_error(err, r, "create veth '%s'", host);
        return 0;
}

int lodge_net_macvlan_create(struct lodge_net *n, const char *parent,
                             const struct lodge_net_guest_link *g, struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *p = NULL;
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        r = net_link_get(n, parent, &p, err);
        if (r < 0)
                return r;
        link = rtnl_link_macvlan_alloc();
        if (!link)
                return lodge_error_set(err, ENOMEM, "allocate a macvlan");
        rtnl_link_set_link(link, rtnl_link_get_ifindex(p));
        r = rtnl_link_macvlan_set_mode(link, rtnl_link_macvlan_str2mode("bridge"));
        if (r < 0)
                return net_error(err, r, "macvlan on '%s'", parent);
        r = guest_end(link, g, g->mtu, err);
        if (r < 0)
                return r;
        /* Made in the guest's namespace at once: the name can't clash with the host's. */
        r = rtnl_link_add(n->sk, link, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return net_error(err, r, "create macvlan on '%s'", parent);
        return 0;
}

struct ports_acc {
        int master;
        size_t n;
};

static void count_port(struct nl_object *obj, void *userdata)
{
        struct ports_acc *acc = userdata;

        if (rtnl_link_get_master((struct rtnl_link *)obj) == acc->master)
                acc->n++;
}

int lodge_net_bridge_ports(struct lodge_net *n, const char *name, struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *br = NULL;
        CLEANUP(nl_cache_freep) struct nl_cache *cache = NULL;
        struct ports_acc acc = { 0 };
        int r;

        r = net_link_get(n, name, &br, err);
        if (r < 0)
                return r;
        acc.master = rtnl_link_get_ifindex(br);
        r = rtnl_link_alloc_cache(n->sk, AF_UNSPEC, &cache);
        if (r < 0)
                return net_error(err, r, "list interfaces");
        nl_cache_foreach(cache, count_port, &acc);
        return (int)acc.n;
}
