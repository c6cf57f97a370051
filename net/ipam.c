/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "net/net.h"

static uint32_t mask_of(unsigned prefixlen)
{
        return prefixlen == 0 ? 0 : prefixlen >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefixlen);
}

static uint32_t host_of(const struct ip_prefix *p)
{
        return ntohl(p->addr.v4.s_addr);
}

static void dotted(uint32_t a, char ret[static 16])
{
        snprintf(ret, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

bool lodge_net_ipv4_overlaps(const struct ip_prefix *a, const struct ip_prefix *b)
{
        /* Two prefixes overlap when they agree on the shorter one's bits. */
        uint32_t m = mask_of(a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen);

        return (host_of(a) & m) == (host_of(b) & m);
}

int lodge_net_ipam_check(const struct ip_prefix *gw, const struct ip_prefix *addr,
                         const struct ip_prefix *used, size_t n, struct lodge_error **err)
{
        uint32_t m = mask_of(gw->prefixlen), a = host_of(addr);
        char s[16], net[16];

        dotted(a, s);
        dotted(host_of(gw) & m, net);
        if (addr->family != AF_INET || gw->family != AF_INET)
                return lodge_error_set(err, EINVAL, "not an IPv4 address");
        if (addr->prefixlen != gw->prefixlen || (a & m) != (host_of(gw) & m))
                return lodge_error_set(err, EINVAL, "%s/%u is not in the network's subnet %s/%u", s,
                                       addr->prefixlen, net, gw->prefixlen);
        if (gw->prefixlen < 31 && ((a & ~m) == 0 || (a & ~m) == ~m))
                return lodge_error_set(err, EINVAL, "%s is the %s address of %s/%u", s,
                                       (a & ~m) == 0 ? "network" : "broadcast", net, gw->prefixlen);
        if (a == host_of(gw))
                return lodge_error_set(err, EADDRINUSE, "%s is the network's gateway", s);
        for (size_t i = 0; i < n; i++)
                if (used[i].family == AF_INET && host_of(&used[i]) == a)
                        return lodge_error_set(err, EADDRINUSE, "%s is used by another guest", s);
        return 0;
}

int lodge_net_subnet_pick(const struct ip_prefix *taken, size_t n, unsigned start,
                          struct ip_prefix *ret_gateway, struct lodge_error **err)
{
        const unsigned count = 155 * 256; /* 10.100.0.0/24 .. 10.254.255.0/24 */

        for (unsigned i = 0; i < count; i++) {
                unsigned c = (start + i) % count;
                struct ip_prefix cand = { .family = AF_INET, .prefixlen = 24 };
                bool free_ = true;

                cand.addr.v4.s_addr =
                        htonl((10u << 24) | ((100 + c / 256) << 16) | ((c % 256) << 8) | 1);
                for (size_t j = 0; j < n && free_; j++)
                        /* A default route (0.0.0.0/0) is everywhere: not a subnet in use. */
                        if (taken[j].family == AF_INET && taken[j].prefixlen > 0 &&
                            lodge_net_ipv4_overlaps(&cand, &taken[j]))
                                free_ = false;
                if (free_) {
                        *ret_gateway = cand;
                        return 0;
                }
        }
        return lodge_error_set(err, EADDRNOTAVAIL,
                               "no free private /24 subnet in 10.100.0.0-10.254.255.255");
}

int lodge_net_dhcp_range(const struct ip_prefix *gw, char ret_first[static 16],
                         char ret_last[static 16], struct lodge_error **err)
{
        uint32_t m = mask_of(gw->prefixlen), net = host_of(gw) & m;

        if (gw->family != AF_INET || gw->prefixlen > 29)
                return lodge_error_set(err, EINVAL, "subnet /%u is too small for DHCP",
                                       gw->prefixlen);
        dotted(net + 2, ret_first);
        dotted((net | ~m) - 1, ret_last);
        return 0;
}
