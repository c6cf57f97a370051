/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "net/net-internal.h"
#include "net/net.h"

int net_errno(int nlerr)
{
        static const struct {
                int nle, errnum;
        } map[] = {
                { NLE_INTR, EINTR },           { NLE_BAD_SOCK, EBADF },
                { NLE_AGAIN, EAGAIN },         { NLE_NOMEM, ENOMEM },
                { NLE_EXIST, EEXIST },         { NLE_INVAL, EINVAL },
                { NLE_RANGE, ERANGE },         { NLE_MSGSIZE, EMSGSIZE },
                { NLE_OPNOTSUPP, EOPNOTSUPP }, { NLE_AF_NOSUPPORT, EAFNOSUPPORT },
                { NLE_OBJ_NOTFOUND, ENOENT },  { NLE_NOADDR, EADDRNOTAVAIL },
                { NLE_BUSY, EBUSY },           { NLE_PROTO_MISMATCH, EPROTONOSUPPORT },
                { NLE_NOACCESS, EACCES },      { NLE_PERM, EPERM },
                { NLE_NODEV, ENODEV },
        };
        int code = nlerr < 0 ? -nlerr : nlerr;

        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (map[i].nle == code)
                        return map[i].errnum;
        return EPROTO; /* the rest are libnl's own: a message it couldn't make or read */
}

int net_error(struct lodge_error **err, int nlerr, const char *fmt, ...)
{
        cleanup_free char *what = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (n < 0)
                return lodge_error_set(err, ENOMEM, "netlink");
        return lodge_error_set(err, net_errno(nlerr), "%s: %s", what, nl_geterror(nlerr));
}

static int net_connect(struct lodge_net **ret, struct lodge_error **err)
{
        CLEANUP(nl_socket_freep) struct nl_sock *sk = nl_socket_alloc();
        struct lodge_net *n;
        int r;

        if (!sk)
                return lodge_error_set(err, ENOMEM, "allocate a netlink socket");
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return net_error(err, r, "connect to rtnetlink");
        n = calloc(1, sizeof(*n));
        if (!n)
                return lodge_error_set(err, ENOMEM, "allocate a netlink socket");
        n->sk = TAKE_PTR(sk);
        *ret = n;
        return 0;
}

int lodge_net_open(struct lodge_net **ret, struct lodge_error **err)
{
        return net_connect(ret, err);
}

int lodge_net_open_in(int pidfd, struct lodge_net **ret, struct lodge_error **err)
{
        cleanup_close int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        struct lodge_net *n = NULL;
        int r;

        if (self < 0)
                return lodge_error_set(err, errno, "open this process's network namespace");
        if (setns(pidfd, CLONE_NEWNET) < 0)
                return lodge_error_set(err, errno, "enter the guest's network namespace");
        /* The socket stays in the namespace it was made in. */
        r = net_connect(&n, err);
        if (setns(self, CLONE_NEWNET) < 0) {
                /* Never carry on in the guest's namespace. */
                lodge_net_free(n);
                lodge_error_free(err);
                return lodge_error_set(err, errno, "return to the host's network namespace");
        }
        if (r < 0)
                return r;
        *ret = n;
        return 0;
}

void lodge_net_free(struct lodge_net *n)
{
        if (!n)
                return;
        nl_socket_free(n->sk);
        free(n);
}

int lodge_net_probe(struct lodge_error **err)
{
        CLEANUP(lodge_net_freep) struct lodge_net *n = NULL;

        return lodge_net_open(&n, err);
}

int net_link_get(struct lodge_net *n, const char *name, struct rtnl_link **ret,
                 struct lodge_error **err)
{
        struct rtnl_link *link = NULL;
        int r;

        if (!lodge_net_ifname_valid(name))
                return lodge_error_set(err, EINVAL, "'%s' is not a valid interface name",
                                       name ? name : "");
        r = rtnl_link_get_kernel(n->sk, 0, name, &link);
        if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
                return lodge_error_set(err, ENODEV, "no interface '%s'", name);
        if (r < 0)
                return net_error(err, r, "look up interface '%s'", name);
        *ret = link;
        return 0;
}
