/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "net/net.h"
#include "tests/unit/lodge-test.h"

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
        char a[16], b[16], c[16], d[16];

        (void)state;
        lodge_net_veth_host_name("web", 0, a);
        lodge_net_veth_host_name("web", 0, b);
        lodge_net_veth_host_name("web", 1, c);
        lodge_net_veth_host_name("a-very-long-guest-name-that-exceeds-ifnamsiz", 0, d);
        /* Stable, distinct per interface, always a valid interface name. */
        assert_string_equal(a, b);
        assert_string_not_equal(a, c);
        assert_true(lodge_net_ifname_valid(a));
        assert_true(lodge_net_ifname_valid(d));
        assert_int_equal(strlen(d), 14);
        assert_true(strncmp(a, "lg", 2) == 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ifname_valid),
                cmocka_unit_test(test_veth_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
