/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netlink/errno.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "net/net-internal.h"
#include "net/net.h"
#include "tests/unit/lodge-test.h"

static struct ip_prefix p4(const char *s)
{
        struct ip_prefix p = { 0 };

        assert_int_equal(parse_ip_prefix(s, AF_INET, &p), 0);
        return p;
}

/* A parsed prefix that lives until a few more calls (enough for one assertion). */
static const struct ip_prefix *pp(const char *s)
{
        static struct ip_prefix ring[8];
        static unsigned next;

        ring[next % 8] = p4(s);
        return &ring[next++ % 8];
}

static void test_ifname_valid(void **state)
{
        (void)state;
        assert_true(lodge_net_ifname_valid("eth0"));
        assert_true(lodge_net_ifname_valid("lodgebr0"));
        assert_true(lodge_net_ifname_valid("a23456789012345"));
        assert_false(lodge_net_ifname_valid("a234567890123456")); /* 16 bytes */
        assert_false(lodge_net_ifname_valid(""));
        assert_false(lodge_net_ifname_valid(NULL));
        assert_false(lodge_net_ifname_valid("."));
        assert_false(lodge_net_ifname_valid(".."));
        assert_false(lodge_net_ifname_valid("a/b"));
        assert_false(lodge_net_ifname_valid("a:b"));
        assert_false(lodge_net_ifname_valid("a b"));
        assert_false(lodge_net_ifname_valid("a\nb"));
}

static void test_veth_names(void **state)
{
        char a[16], b[16], c[16], d[16], e[16];

        (void)state;
        lodge_net_veth_host_name(NULL, "web", 0, a);
        lodge_net_veth_host_name(NULL, "web", 0, b);
        lodge_net_veth_host_name(NULL, "web", 1, c);
        lodge_net_veth_host_name(NULL, "a-very-long-guest-name-that-exceeds-ifnamsiz", 0, d);
        /* Stable, distinct per interface, always a valid interface name. */
        assert_string_equal(a, b);
        assert_string_not_equal(a, c);
        /* another root's guest of the same name */
        lodge_net_veth_host_name("1a2b3c4d", "web", 0, e);
        assert_string_not_equal(a, e);
        assert_true(lodge_net_ifname_valid(a));
        assert_true(lodge_net_ifname_valid(d));
        assert_int_equal(strlen(d), 14);
        assert_true(strncmp(a, "lg", 2) == 0);
}

static void test_hwaddr_random(void **state)
{
        static const uint8_t oui[3] = { 0x00, 0x16, 0x3e };
        uint8_t a[6], b[6];

        (void)state;
        assert_int_equal(lodge_net_hwaddr_random(a, NULL), 0);
        assert_int_equal(lodge_net_hwaddr_random(b, NULL), 0);
        assert_memory_equal(a, oui, 3);
        assert_memory_not_equal(a, b, 6); /* 1 in 2^24 to fail */
}

static void test_ipam_check(void **state)
{
        struct ip_prefix gw = p4("10.100.3.1/24");
        struct ip_prefix used[] = { p4("10.100.3.20/24"), p4("10.100.3.21/24") };
        cleanup_error struct lodge_error *err = NULL;

        (void)state;
        assert_int_equal(lodge_net_ipam_check(&gw, pp("10.100.3.22/24"), used, 2, NULL), 0);
        assert_int_equal(lodge_net_ipam_check(&gw, pp("10.100.3.20/24"), used, 2, &err),
                         -EADDRINUSE);
        assert_non_null(strstr(err->msg, "10.100.3.20 is used by another guest"));
        lodge_error_free(&err);
        assert_int_equal(lodge_net_ipam_check(&gw, pp("10.100.3.1/24"), used, 2, &err),
                         -EADDRINUSE);
        assert_non_null(strstr(err->msg, "gateway"));
        lodge_error_free(&err);
        assert_int_equal(lodge_net_ipam_check(&gw, pp("10.100.4.5/24"), used, 2, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "not in the network's subnet 10.100.3.0/24"));
        lodge_error_free(&err);
        /* Same address, another prefix: not this network's. */
        assert_int_equal(lodge_net_ipam_check(&gw, pp("10.100.3.5/16"), used, 2, NULL), -EINVAL);
}

static void test_ipam_network_broadcast(void **state)
{
        struct ip_prefix gw = p4("10.100.3.1/24");
        cleanup_error struct lodge_error *err = NULL;

        (void)state;
        /* parse_ip_prefix refuses neither: the plan must. */
        assert_int_equal(lodge_net_ipam_check(&gw, pp("10.100.3.255/24"), NULL, 0, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "broadcast"));
        lodge_error_free(&err);
        assert_int_equal(lodge_net_ipam_check(&gw, pp("10.100.3.0/24"), NULL, 0, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "network address"));
}

static void test_overlaps(void **state)
{
        (void)state;
        assert_true(lodge_net_ipv4_overlaps(pp("10.0.0.0/8"), pp("10.100.3.0/24")));
        assert_true(lodge_net_ipv4_overlaps(pp("10.100.3.7/32"), pp("10.100.3.0/24")));
        assert_false(lodge_net_ipv4_overlaps(pp("10.100.4.0/24"), pp("10.100.3.0/24")));
}

static void test_subnet_pick(void **state)
{
        struct ip_prefix taken[] = { p4("0.0.0.0/0"), p4("10.100.0.0/23"), p4("10.100.2.0/24"),
                                     p4("192.0.2.0/24") };
        struct ip_prefix gw;
        char buf[INET_ADDRSTRLEN];

        (void)state;
        /* The default route is no subnet; the others are skipped. */
        assert_int_equal(lodge_net_subnet_pick(taken, ELEMENTSOF(taken), 0, &gw, NULL), 0);
        assert_string_equal(inet_ntop(AF_INET, &gw.addr.v4, buf, sizeof(buf)), "10.100.3.1");
        assert_int_equal(gw.prefixlen, 24);
        /* From another start: wraps around past the end. */
        assert_int_equal(lodge_net_subnet_pick(taken, ELEMENTSOF(taken), 155 * 256 - 1, &gw, NULL),
                         0);
        assert_string_equal(inet_ntop(AF_INET, &gw.addr.v4, buf, sizeof(buf)), "10.254.255.1");
        /* 10.0.0.0/8 taken: nothing left. */
        assert_int_equal(lodge_net_subnet_pick(pp("10.0.0.0/8"), 1, 7, &gw, NULL), -EADDRNOTAVAIL);
}

static void test_dhcp_range(void **state)
{
        char first[16], last[16];

        (void)state;
        assert_int_equal(lodge_net_dhcp_range(pp("10.100.3.1/24"), first, last, NULL), 0);
        assert_string_equal(first, "10.100.3.2");
        assert_string_equal(last, "10.100.3.254");
        assert_int_equal(lodge_net_dhcp_range(pp("10.100.3.1/30"), first, last, NULL), -EINVAL);
}

static void test_errno_of_libnl(void **state)
{
        cleanup_error struct lodge_error *err = NULL;

        (void)state;
        assert_int_equal(net_errno(-NLE_EXIST), EEXIST);
        assert_int_equal(net_errno(NLE_NODEV), ENODEV);
        assert_int_equal(net_errno(-NLE_PERM), EPERM);
        assert_int_equal(net_errno(-NLE_MSG_TRUNC), EPROTO); /* libnl's own */
        assert_int_equal(net_error(&err, -NLE_BUSY, "delete '%s'", "br0"), -EBUSY);
        assert_string_equal(err->msg, "delete 'br0': Object busy");
}

/* The error paths that need no privilege and change nothing: lookups. */
static void test_netlink_errors(void **state)
{
        CLEANUP(lodge_net_freep) struct lodge_net *n = NULL;
        cleanup_error struct lodge_error *err = NULL;
        struct lodge_net_guest_link g = { .name = "eth0", .netns_pid = 1 };

        (void)state;
        assert_int_equal(lodge_net_open(&n, NULL), 0);
        assert_int_equal(lodge_net_link_delete(n, "lgnosuchlink0", &err), -ENODEV);
        assert_string_equal(err->msg, "no interface 'lgnosuchlink0'");
        lodge_error_free(&err);
        assert_int_equal(lodge_net_bridge_check(n, "bad/name", &err), -EINVAL);
        lodge_error_free(&err);
        /* lo is no lodge bridge: neither used as one nor deleted. */
        assert_int_equal(lodge_net_bridge_check(n, "lo", &err), -EEXIST);
        assert_non_null(strstr(err->msg, "'lo' exists and is not a lodge bridge"));
        lodge_error_free(&err);
        assert_int_equal(lodge_net_bridge_delete(n, "lo", NULL), -EEXIST);
        assert_int_equal(lodge_net_veth_create(n, "lgtest0", "lgnosuchbr0", &g, &err), -ENODEV);
        assert_string_equal(err->msg, "no bridge 'lgnosuchbr0'");
        lodge_error_free(&err);
        assert_int_equal(lodge_net_veth_create(n, "lgtest0", "lo", &g, &err), -EINVAL);
        assert_string_equal(err->msg, "interface 'lo' is not a bridge");
}

static void test_network_roundtrip(void **state)
{
        struct lodge_net_network nw = { 0 }, back = { 0 };
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *text = NULL;

        (void)state;
        assert_int_equal(lodge_net_network_parse("lt0",
                                                 "version=1\nipv4=10.100.3.1/24\nipv6=none\n"
                                                 "nat=on\ndhcp=off\n",
                                                 &nw, NULL),
                         0);
        assert_string_equal(nw.name, "lt0");
        assert_true(nw.has_ipv4 && !nw.has_ipv6 && nw.nat && !nw.dhcp);
        assert_int_equal(nw.ipv4.prefixlen, 24);
        assert_int_equal(lodge_net_network_format(&nw, &text, NULL), 0);
        assert_string_equal(text, "version=1\nipv4=10.100.3.1/24\nipv6=none\nnat=on\ndhcp=off\n");
        assert_int_equal(lodge_net_network_parse("lt0", text, &back, NULL), 0);
        assert_memory_equal(&nw, &back, sizeof(nw));
        /* Refused: another version, a bad line, DHCP without IPv4, no version. */
        assert_int_equal(lodge_net_network_parse("lt0", "version=2\n", &nw, &err),
                         -EPROTONOSUPPORT);
        lodge_error_free(&err);
        assert_int_equal(lodge_net_network_parse("lt0", "version=1\nnat=maybe\n", &nw, &err),
                         -EINVAL);
        assert_non_null(strstr(err->msg, "line 2"));
        lodge_error_free(&err);
        assert_int_equal(lodge_net_network_parse("lt0", "version=1\nipv4=none\n", &nw, NULL),
                         -EINVAL); /* dhcp defaults on */
        assert_int_equal(lodge_net_network_parse("lt0", "ipv4=none\ndhcp=off\n", &nw, NULL),
                         -EINVAL);
}

static void test_nat_script(void **state)
{
        struct lodge_net_network nw = { .name = "lt0", .has_ipv4 = true, .nat = true };
        cleanup_free char *add = NULL, *del = NULL, *other = NULL;

        (void)state;
        nw.ipv4 = p4("10.100.3.1/24");
        assert_int_equal(lodge_net_nat_script(&nw, "lodge", true, &add, NULL), 0);
        /* Its own chains only, the subnet (not the gateway) masqueraded. */
        assert_non_null(strstr(add, "add table inet lodge\n"));
        assert_non_null(strstr(add, "flush chain inet lodge nat-lt0\n"));
        assert_non_null(strstr(add, "add rule inet lodge nat-lt0 ip saddr 10.100.3.0/24 ip daddr "
                                    "!= 10.100.3.0/24 masquerade\n"));
        assert_non_null(strstr(add, "add rule inet lodge fwd-lt0 iifname \"lt0\" accept\n"));
        assert_null(strstr(add, "delete"));
        assert_int_equal(lodge_net_nat_script(&nw, "lodge", false, &del, NULL), 0);
        assert_non_null(strstr(del, "delete chain inet lodge nat-lt0\n"));
        assert_non_null(strstr(del, "delete chain inet lodge fwd-lt0\n"));
        assert_null(strstr(del, "delete table"));
        /* Another root's table: nothing of "inet lodge" touched. */
        assert_int_equal(lodge_net_nat_script(&nw, "lodge-1a2b3c4d", true, &other, NULL), 0);
        assert_non_null(strstr(other, "add rule inet lodge-1a2b3c4d fwd-lt0 oifname \"lt0\" ct "
                                      "state established,related accept\n"));
        assert_null(strstr(other, "inet lodge "));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ifname_valid),
                cmocka_unit_test(test_veth_names),
                cmocka_unit_test(test_hwaddr_random),
                cmocka_unit_test(test_ipam_check),
                cmocka_unit_test(test_ipam_network_broadcast),
                cmocka_unit_test(test_overlaps),
                cmocka_unit_test(test_subnet_pick),
                cmocka_unit_test(test_dhcp_range),
                cmocka_unit_test(test_errno_of_libnl),
                cmocka_unit_test(test_netlink_errors),
                cmocka_unit_test(test_network_roundtrip),
                cmocka_unit_test(test_nat_script),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
