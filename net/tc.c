/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/errno.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "net/net-internal.h"
#include "net/net.h"

/* A guest's traffic limits live on the host end of its veth, where the
 * guest can't reach them. What goes to the guest leaves the host end: a tbf
 * qdisc there shapes it (net.N.limit.ingress). What comes from the guest
 * enters the host end, where nothing can queue: a u32 filter on its ingress
 * qdisc redirects all of it (mirred) to an ifb device of the guest's own,
 * named after the veth ("li" for "lg"), and a tbf qdisc on the ifb's egress
 * shapes it (net.N.limit.egress). Only qdiscs, u32 and mirred: what every
 * kernel with traffic control has (unlike the police action). */

DEFINE_CLEANUP_FUNC(struct rtnl_qdisc *, rtnl_qdisc_put)

/* A bucket that holds 20 ms of traffic, and never less than a 64 KiB GSO
 * packet plus change: a tbf whose bucket is smaller than one packet stalls. */
static uint64_t bucket_bytes(uint64_t bits)
{
        uint64_t b = bits / 8 / 50;

        return b < 96ull * 1024 ? 96ull * 1024 : b;
}

static int qdisc_del(struct lodge_net *n, int ifindex, uint32_t parent)
{
        CLEANUP(rtnl_qdisc_putp) struct rtnl_qdisc *q = rtnl_qdisc_alloc();
        int r;

        if (!q)
                return -NLE_NOMEM;
        rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
        rtnl_tc_set_parent(TC_CAST(q), parent);
        r = rtnl_qdisc_delete(n->sk, q);
        /* None there is as good as removed. */
        return r == -NLE_OBJ_NOTFOUND || r == -NLE_INVAL || r == -NLE_NOATTR ? 0 : r;
}

static int tbf_add(struct lodge_net *n, int ifindex, uint64_t bits)
{
        CLEANUP(rtnl_qdisc_putp) struct rtnl_qdisc *q = rtnl_qdisc_alloc();
        uint64_t bytes = bits / 8;
        int rate = bytes > INT32_MAX ? INT32_MAX : (int)bytes;
        int bucket = (int)bucket_bytes(bits);

        if (!q)
                return -NLE_NOMEM;
        rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
        rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
        rtnl_tc_set_handle(TC_CAST(q), 0x00010000U /* 1: */);
        if (rtnl_tc_set_kind(TC_CAST(q), "tbf") < 0)
                return -NLE_OPNOTSUPP;
        rtnl_qdisc_tbf_set_rate(q, rate, bucket, 0);
        /* Room for 50 ms of queue beyond the bucket, then drops. */
        rtnl_qdisc_tbf_set_limit(q, bucket + (int)(bytes / 20));
        return rtnl_qdisc_add(n->sk, q, NLM_F_CREATE | NLM_F_REPLACE);
}

static int ingress_add(struct lodge_net *n, int ifindex)
{
        CLEANUP(rtnl_qdisc_putp) struct rtnl_qdisc *q = rtnl_qdisc_alloc();

        if (!q)
                return -NLE_NOMEM;
        rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
        rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
        rtnl_tc_set_handle(TC_CAST(q), 0xffff0000U /* ffff: */);
        if (rtnl_tc_set_kind(TC_CAST(q), "ingress") < 0)
                return -NLE_OPNOTSUPP;
        return rtnl_qdisc_add(n->sk, q, NLM_F_CREATE | NLM_F_EXCL);
}

/* The ifb of a veth's host end: "lg…" -> "li…". */
static void ifb_name(const char *host, char ret[16])
{
        snprintf(ret, 16, "li%s", strncmp(host, "lg", 2) == 0 ? host + 2 : host);
}

static int ifb_make(struct lodge_net *n, const char *name, int *ret_ifindex,
                    struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = rtnl_link_alloc();
        CLEANUP(rtnl_link_putp) struct rtnl_link *made = NULL;
        int r;

        if (!link)
                return lodge_error_set(err, ENOMEM, "allocate a link");
        rtnl_link_set_name(link, name);
        rtnl_link_set_flags(link, IFF_UP);
        r = rtnl_link_set_type(link, "ifb");
        if (r >= 0)
                r = rtnl_link_add(n->sk, link, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return net_error(err, r, "create ifb '%s'", name);
        r = net_link_get(n, name, &made, err);
        if (r < 0)
                return r;
        *ret_ifindex = rtnl_link_get_ifindex(made);
        return 0;
}

DEFINE_CLEANUP_FUNC(struct rtnl_cls *, rtnl_cls_put)
DEFINE_CLEANUP_FUNC(struct rtnl_act *, rtnl_act_put)

/* Everything entering ifindex, redirected to the egress of ifb_index. */
static int redirect_add(struct lodge_net *n, int ifindex, int ifb_index)
{
        CLEANUP(rtnl_cls_putp) struct rtnl_cls *cls = rtnl_cls_alloc();
        CLEANUP(rtnl_act_putp) struct rtnl_act *act = rtnl_act_alloc();
        int r;

        if (!cls || !act)
                return -NLE_NOMEM;
        rtnl_tc_set_ifindex(TC_CAST(cls), ifindex);
        rtnl_tc_set_parent(TC_CAST(cls), 0xffff0000U /* ffff: */);
        rtnl_cls_set_prio(cls, 1);
        rtnl_cls_set_protocol(cls, ETH_P_ALL);
        r = rtnl_tc_set_kind(TC_CAST(cls), "u32");
        if (r >= 0)
                r = rtnl_tc_set_kind(TC_CAST(act), "mirred");
        if (r < 0)
                return r;
        rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
        rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
        rtnl_mirred_set_ifindex(act, (uint32_t)ifb_index);
        /* u32 "match u32 0 0 at 0": every packet. */
        r = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0);
        if (r >= 0)
                r = rtnl_u32_set_cls_terminal(cls);
        if (r >= 0)
                r = rtnl_u32_add_action(cls, act);
        if (r >= 0)
                r = rtnl_cls_add(n->sk, cls, NLM_F_CREATE | NLM_F_EXCL);
        return r;
}

void lodge_net_tc_ifb_delete(struct lodge_net *n, const char *ifname)
{
        char ifb[16];

        ifb_name(ifname, ifb);
        (void)lodge_net_link_delete(n, ifb, NULL);
}

int lodge_net_tc_limits(struct lodge_net *n, const char *ifname, uint64_t to_guest_bits,
                        uint64_t from_guest_bits, struct lodge_error **err)
{
        CLEANUP(rtnl_link_putp) struct rtnl_link *link = NULL;
        int ifindex, r;

        r = net_link_get(n, ifname, &link, err);
        if (r < 0)
                return r;
        ifindex = rtnl_link_get_ifindex(link);
        /* Replaced whole: what was there goes first (with its filters). */
        r = qdisc_del(n, ifindex, TC_H_ROOT);
        if (r < 0)
                return net_error(err, r, "remove the qdisc of '%s'", ifname);
        r = qdisc_del(n, ifindex, TC_H_INGRESS);
        if (r < 0)
                return net_error(err, r, "remove the ingress qdisc of '%s'", ifname);
        if (to_guest_bits) {
                r = tbf_add(n, ifindex, to_guest_bits);
                if (r < 0)
                        return net_error(err, r, "limit the traffic to the guest on '%s'", ifname);
        }
        lodge_net_tc_ifb_delete(n, ifname);
        if (from_guest_bits) {
                char ifb[16];
                int ifb_index = 0;

                ifb_name(ifname, ifb);
                r = ifb_make(n, ifb, &ifb_index, err);
                if (r < 0)
                        return r;
                r = tbf_add(n, ifb_index, from_guest_bits);
                if (r >= 0)
                        r = ingress_add(n, ifindex);
                if (r >= 0)
                        r = redirect_add(n, ifindex, ifb_index);
                if (r < 0) {
                        (void)qdisc_del(n, ifindex, TC_H_INGRESS);
                        lodge_net_tc_ifb_delete(n, ifname);
                        return net_error(err, r, "limit the traffic from the guest on '%s'",
                                         ifname);
                }
        }
        return 0;
}
