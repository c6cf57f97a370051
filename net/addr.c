/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/strv.h"
#include "net/net-internal.h"
#include "net/net.h"

DEFINE_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put)
DEFINE_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put)

static struct nl_addr *nl_addr_of(const struct ip_prefix *p)
{
        struct nl_addr *a = p->family == AF_INET ? nl_addr_build(AF_INET, &p->addr.v4, 4)
                                                 : nl_addr_build(AF_INET6, &p->addr.v6, 16);

        if (a)
                nl_addr_set_prefixlen(a, (int)p->prefixlen);
        return a;
}

static const char *str(const struct ip_prefix *p, char buf[static INET6_ADDRSTRLEN])
{
        return inet_ntop(p->family, &p->addr, buf, INET6_ADDRSTRLEN) ? buf : "?";
}

int lodge_net_addr_add(struct lodge_net *n, const char *ifname, const struct ip_prefix *p,
                       struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        CLEANUP(rtnl_addr_putp) struct rtnl_addr *addr = rtnl_addr_alloc();
        CLEANUP(nl_addr_putp) struct nl_addr *local = nl_addr_of(p);
        char buf[INET6_ADDRSTRLEN];
        int r;

        if (!addr || !local)
                return lodge_error_set(err, ENOMEM, "allocate an address");
        r = net_link_get(n, ifname, &link, err);
        if (r < 0)
                return r;
        rtnl_addr_set_ifindex(addr, rtnl_link_get_ifindex(link));
        /* lodge's plan keeps addresses unique: no seconds of duplicate detection, during
         * which a tentative IPv6 address could not be used (nor routed through). */
        if (p->family == AF_INET6)
                rtnl_addr_set_flags(addr, IFA_F_NODAD);
        r = rtnl_addr_set_local(addr, local);
        if (r >= 0)
                r = rtnl_addr_add(n->sk, addr, NLM_F_REPLACE);
        if (r < 0)
                return net_error(err, r, "add address %s/%u to '%s'", str(p, buf), p->prefixlen,
                                 ifname);
        return 0;
}

int lodge_net_route_default_add(struct lodge_net *n, const char *ifname,
                                const struct ip_prefix *gateway, struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        CLEANUP(rtnl_route_putp) struct rtnl_route *route = rtnl_route_alloc();
        CLEANUP(nl_addr_putp) struct nl_addr *dst = NULL;
        CLEANUP(nl_addr_putp) struct nl_addr *gw = nl_addr_of(gateway);
        struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
        char buf[INET6_ADDRSTRLEN];
        int r;

        if (!route || !gw || !nh) {
                rtnl_route_nh_free(nh);
                return lodge_error_set(err, ENOMEM, "allocate a route");
        }
        r = net_link_get(n, ifname, &link, err);
        if (r < 0) {
                rtnl_route_nh_free(nh);
                return r;
        }
        nl_addr_set_prefixlen(gw, gateway->family == AF_INET ? 32 : 128);
        rtnl_route_nh_set_gateway(nh, gw);
        rtnl_route_nh_set_ifindex(nh, rtnl_link_get_ifindex(link));
        rtnl_route_add_nexthop(route, nh); /* the route owns it now */
        r = nl_addr_parse("default", gateway->family, &dst);
        if (r >= 0)
                r = rtnl_route_set_dst(route, dst);
        if (r >= 0) {
                rtnl_route_set_family(route, (uint8_t)gateway->family);
                rtnl_route_set_table(route, RT_TABLE_MAIN);
                rtnl_route_set_protocol(route, RTPROT_STATIC);
                rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
                r = rtnl_route_add(n->sk, route, NLM_F_CREATE | NLM_F_REPLACE);
        }
        if (r < 0)
                return net_error(err, r, "add a default route via %s on '%s'", str(gateway, buf),
                                 ifname);
        return 0;
}

struct routes_acc {
        struct ip_prefix *v;
        size_t n, cap;
        bool nomem;
};

static void collect_route(struct nl_object *obj, void *userdata)
{
        struct routes_acc *acc = userdata;
        struct nl_addr *dst = rtnl_route_get_dst((struct rtnl_route *)obj);
        struct ip_prefix p = { .family = AF_INET };

        if (!dst || nl_addr_get_family(dst) != AF_INET || nl_addr_get_len(dst) != 4 || acc->nomem)
                return;
        memcpy(&p.addr.v4, nl_addr_get_binary_addr(dst), 4);
        p.prefixlen = nl_addr_get_prefixlen(dst);
        if (acc->n == acc->cap) {
                size_t cap = acc->cap ? acc->cap * 2 : 32;
                struct ip_prefix *v = reallocarray(acc->v, cap, sizeof(*v));

                if (!v) {
                        acc->nomem = true;
                        return;
                }
                acc->v = v;
                acc->cap = cap;
        }
        acc->v[acc->n++] = p;
}

int lodge_net_routes_ipv4(struct lodge_net *n, struct ip_prefix **ret, size_t *ret_n,
                          struct lodge_error **err)
{
        CLEANUP(nl_cache_freep) struct nl_cache *cache = NULL;
        struct routes_acc acc = { 0 };
        int r;

        /* Every table: a subnet routed by policy is as taken as one in main. */
        r = rtnl_route_alloc_cache(n->sk, AF_INET, 0, &cache);
        if (r < 0)
                return net_error(err, r, "list the IPv4 routes");
        nl_cache_foreach(cache, collect_route, &acc);
        if (acc.nomem) {
                free(acc.v);
                return lodge_error_set(err, ENOMEM, "list the IPv4 routes");
        }
        *ret = acc.v;
        *ret_n = acc.n;
        return 0;
}

struct addrs_acc {
        int ifindex;
        int family;
        char **l;
        bool nomem;
};

static void collect_addr(struct nl_object *obj, void *userdata)
{
        struct addrs_acc *acc = userdata;
        struct rtnl_addr *a = (struct rtnl_addr *)obj;
        struct nl_addr *local = rtnl_addr_get_local(a);
        char buf[INET6_ADDRSTRLEN + 8];

        if (acc->nomem || !local || rtnl_addr_get_ifindex(a) != acc->ifindex ||
            rtnl_addr_get_family(a) != acc->family)
                return;
        /* nl_addr2str prints the prefix where there is one: "10.0.3.5/24". */
        if (!nl_addr2str(local, buf, sizeof(buf)) || strv_extend(&acc->l, buf) < 0)
                acc->nomem = true;
}

int lodge_net_addrs(struct lodge_net *n, const char *ifname, int family, char ***ret,
                    struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        CLEANUP(nl_cache_freep) struct nl_cache *cache = NULL;
        struct addrs_acc acc = { .family = family };
        int r;

        r = net_link_get(n, ifname, &link, err);
        if (r < 0)
                return r;
        acc.ifindex = rtnl_link_get_ifindex(link);
        r = rtnl_addr_alloc_cache(n->sk, &cache);
        if (r < 0)
                return net_error(err, r, "list the addresses of '%s'", ifname);
        nl_cache_foreach(cache, collect_addr, &acc);
        if (acc.nomem) {
                strv_free(acc.l);
                return lodge_error_set(err, ENOMEM, "list the addresses of '%s'", ifname);
        }
        *ret = acc.l;
        return 0;
}
