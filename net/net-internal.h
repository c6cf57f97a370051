/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* net-internal: what the files of net/ share. */

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "core/base/cleanup.h"
#include "net/net.h"

/* One NETLINK_ROUTE socket, bound to the network namespace it was made in. */
struct lodge_net {
        struct nl_sock *sk;
};

/* The errno of a libnl error code (negative or positive -NLE_*), as a
 * positive value: how a libnl failure leaves net/. */
int net_errno(int nlerr);

/* Fill err with "what: <libnl's text>" and the errno of nlerr; returns -errno. */
int net_error(struct lodge_error **err, int nlerr, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The link called name, from the kernel: 0 and *ret (rtnl_link_put), or
 * -ENODEV when there is none. */
int net_link_get(struct lodge_net *n, const char *name, struct rtnl_link **ret,
                 struct lodge_error **err);

DEFINE_CLEANUP_FUNC(struct nl_sock *, nl_socket_free)
DEFINE_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put)
DEFINE_CLEANUP_FUNC(struct nl_addr *, nl_addr_put)
DEFINE_CLEANUP_FUNC(struct nl_cache *, nl_cache_free)
