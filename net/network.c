/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "net/net.h"

/* The definition file: "key=value" lines, version first.
 *
 *   version=1
 *   ipv4=10.100.3.1/24     (the bridge's address, i.e. the gateway; or "none")
 *   ipv6=none              (or ADDR/PREFIX)
 *   nat=off
 *   dhcp=on
 */

static int parse_prefix_or_none(const char *v, int family, bool *ret_has, struct ip_prefix *ret)
{
        if (strcmp(v, "none") == 0) {
                *ret_has = false;
                return 0;
        }
        *ret_has = true;
        return parse_ip_prefix(v, family, ret);
}

static int parse_line(char *line, struct lodge_net_network *nw, bool *seen_version)
{
        char *eq = strchr(line, '=');
        const char *k, *v;

        if (!eq)
                return -EINVAL;
        *eq = '\0';
        k = line;
        v = eq + 1;
        if (strcmp(k, "version") == 0) {
                if (strcmp(v, "1") != 0)
                        return -EPROTONOSUPPORT;
                *seen_version = true;
                return 0;
        }
        if (strcmp(k, "ipv4") == 0)
                return parse_prefix_or_none(v, AF_INET, &nw->has_ipv4, &nw->ipv4);
        if (strcmp(k, "ipv6") == 0)
                return parse_prefix_or_none(v, AF_INET6, &nw->has_ipv6, &nw->ipv6);
        if (strcmp(k, "nat") == 0)
                return parse_bool(v, &nw->nat);
        if (strcmp(k, "dhcp") == 0)
                return parse_bool(v, &nw->dhcp);
        return -EINVAL;
}

int lodge_net_network_parse(const char *name, const char *text, struct lodge_net_network *ret,
                            struct lodge_error **err)
{
        struct lodge_net_network nw = { .dhcp = true };
        cleanup_free char *copy = NULL;
        bool version = false;
        char *save = NULL;
        unsigned lineno = 0;

        if (!lodge_net_ifname_valid(name))
                return lodge_error_set(err, EINVAL, "'%s' is not a valid network (bridge) name",
                                       name);
        copy = strdup(text);
        if (!copy)
                return lodge_error_set(err, ENOMEM, "network '%s'", name);
        snprintf(nw.name, sizeof(nw.name), "%s", name);
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                int r;

                lineno++;
                r = parse_line(l, &nw, &version);
                if (r == -EPROTONOSUPPORT)
                        return lodge_error_set(err, EPROTONOSUPPORT,
                                               "network '%s': unknown version", name);
                if (r < 0)
                        return lodge_error_set(err, EINVAL, "network '%s': line %u is bad", name,
                                               lineno);
        }
        if (!version)
                return lodge_error_set(err, EINVAL, "network '%s': no version", name);
        if (nw.dhcp && !nw.has_ipv4 && !nw.has_ipv6)
                return lodge_error_set(err, EINVAL, "network '%s': DHCP needs a subnet", name);
        *ret = nw;
        return 0;
}

static void prefix_str(bool has, const struct ip_prefix *p, char ret[static 64])
{
        char a[INET6_ADDRSTRLEN];

        if (!has || !inet_ntop(p->family, &p->addr, a, sizeof(a)))
                snprintf(ret, 64, "none");
        else
                snprintf(ret, 64, "%s/%u", a, p->prefixlen);
}

int lodge_net_network_format(const struct lodge_net_network *nw, char **ret,
                             struct lodge_error **err)
{
        char v4[64], v6[64];

        prefix_str(nw->has_ipv4, &nw->ipv4, v4);
        prefix_str(nw->has_ipv6, &nw->ipv6, v6);
        if (asprintf(ret, "version=1\nipv4=%s\nipv6=%s\nnat=%s\ndhcp=%s\n", v4, v6,
                     nw->nat ? "on" : "off", nw->dhcp ? "on" : "off") < 0)
                return lodge_error_set(err, ENOMEM, "network '%s'", nw->name);
        return 0;
}

void lodge_net_prefix_to_string(bool has, const struct ip_prefix *p, char ret[static 64])
{
        prefix_str(has, p, ret);
}

int lodge_net_network_up(struct lodge_net *n, const struct lodge_net_network *nw,
                         struct lodge_error **err)
{
        int r;

        r = lodge_net_bridge_create(n, nw->name, err);
        if (r >= 0 && nw->has_ipv4)
                r = lodge_net_addr_add(n, nw->name, &nw->ipv4, err);
        if (r >= 0 && nw->has_ipv6)
                r = lodge_net_addr_add(n, nw->name, &nw->ipv6, err);
        return r;
}
