/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "core/base/cleanup.h"
#include "net/net.h"

DEFINE_CLEANUP_FUNC(struct nl_sock *, nl_socket_free)

int lodge_net_probe(struct lodge_error **err)
{
        CLEANUP(nl_socket_freep) struct nl_sock *sk = nl_socket_alloc();
        int r;

        if (!sk)
                return lodge_error_set(err, ENOMEM, "allocate netlink socket");
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return lodge_error_set(err, EPROTO, "connect to rtnetlink: %s", nl_geterror(r));
        return 0;
}
