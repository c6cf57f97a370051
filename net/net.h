/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The front door of net/: links, addresses and networks over netlink
 * (libnl-route-3, never "ip" or "tc"), and the address plans of lodge's
 * networks. Every function returns >= 0 or -errno with err filled; libnl's
 * own codes never leave net/. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/base/parse.h"

/* ---- names (ifname.c) ---- */

/* A valid Linux interface name: 1..15 bytes, no '/', ':' or whitespace, not "." or "..". */
bool lodge_net_ifname_valid(const char *name);

/* The host-side veth name of a guest's interface: "lg" + a hash of the
 * root's tag (struct lodge_paths; NULL or "" for the default root), the guest
 * name and index: always a valid interface name, stable across restarts,
 * apart for two roots' guests of one name. */
void lodge_net_veth_host_name(const char *tag, const char *guest, unsigned index, char ret[16]);

/* A random MAC in the range lodge uses, 00:16:3e:xx:xx:xx. */
int lodge_net_hwaddr_random(uint8_t ret[6], struct lodge_error **err);

/* ---- the netlink socket (netlink.c) ---- */

/* One rtnetlink socket, bound to the network namespace it was made in. */
struct lodge_net;

/* A socket in this process's network namespace. Owned: lodge_net_free(). */
int lodge_net_open(struct lodge_net **ret, struct lodge_error **err);

/* A socket in the network namespace of the process pidfd refers to (entered
 * with setns() for the moment it takes to make the socket, then left: the
 * caller must be single-threaded). */
int lodge_net_open_in(int pidfd, struct lodge_net **ret, struct lodge_error **err);

void lodge_net_free(struct lodge_net *n);
DEFINE_CLEANUP_FUNC(struct lodge_net *, lodge_net_free)

/* Is netlink usable here (a NETLINK_ROUTE socket can be made)? */
int lodge_net_probe(struct lodge_error **err);

/* ---- links (link.c) ---- */

/* Create bridge name, marked as lodge's (alias "lodge-managed"), and set it
 * up. A lodge bridge that exists already is fine; -EEXIST when an interface
 * of that name exists that isn't a lodge bridge. */
int lodge_net_bridge_create(struct lodge_net *n, const char *name, struct lodge_error **err);

/* 0 when name is a lodge bridge, -ENODEV when there is no such interface,
 * -EEXIST when there is one that isn't a lodge bridge. */
int lodge_net_bridge_check(struct lodge_net *n, const char *name, struct lodge_error **err);

/* Delete a lodge bridge (errors as lodge_net_bridge_check). */
int lodge_net_bridge_delete(struct lodge_net *n, const char *name, struct lodge_error **err);

/* How many interfaces are ports of bridge name (>= 0). */
int lodge_net_bridge_ports(struct lodge_net *n, const char *name, struct lodge_error **err);

/* Delete any interface; -ENODEV when there is none. */
int lodge_net_link_delete(struct lodge_net *n, const char *name, struct lodge_error **err);

/* Set an interface up (no-op when it is); -ENODEV when there is none. */
int lodge_net_link_up(struct lodge_net *n, const char *name, struct lodge_error **err);

struct lodge_net_link_info {
        int ifindex;
        unsigned mtu;
        bool up;
        uint8_t hwaddr[6];
        uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
};
int lodge_net_link_info(struct lodge_net *n, const char *name, struct lodge_net_link_info *ret,
                        struct lodge_error **err);

/* A guest's end of a link, made straight into its network namespace. */
struct lodge_net_guest_link {
        const char *name; /* inside the guest, e.g. "eth0" */
        pid_t netns_pid;  /* a process in the guest's network namespace */
        bool has_hwaddr;
        uint8_t hwaddr[6];
        uint32_t mtu; /* 0: the bridge's (veth) or the parent's (macvlan) */
};

/* A veth pair in one request: host end 'host' up in bridge 'bridge' (any
 * bridge), the peer named, addressed and sized in the guest's namespace.
 * -ENODEV when there is no such bridge, -EINVAL when it isn't a bridge,
 * -EEXIST when an interface 'host' exists already. */
int lodge_net_veth_create(struct lodge_net *n, const char *host, const char *bridge,
                          const struct lodge_net_guest_link *g, struct lodge_error **err);

/* A macvlan in bridge mode on host interface 'parent', made in the guest's
 * namespace. -ENODEV when there is no such parent. */
int lodge_net_macvlan_create(struct lodge_net *n, const char *parent,
                             const struct lodge_net_guest_link *g, struct lodge_error **err);

/* ---- traffic limits (tc.c) ---- */

/* Set the limits of a guest's interface on its host end ifname, replacing
 * what was there (0: none), in bits per second: to_guest_bits
 * (net.N.limit.ingress) as a tbf qdisc on ifname, from_guest_bits
 * (net.N.limit.egress) redirected from ifname's ingress to an ifb device of
 * its own ("li…" for "lg…") with a tbf qdisc. */
int lodge_net_tc_limits(struct lodge_net *n, const char *ifname, uint64_t to_guest_bits,
                        uint64_t from_guest_bits, struct lodge_error **err);

/* Remove the ifb device of host end ifname, if any (the veth's going
 * doesn't take it along). */
void lodge_net_tc_ifb_delete(struct lodge_net *n, const char *ifname);

/* ---- addresses and routes (addr.c) ---- */

/* Add (or replace) address p on interface ifname. */
int lodge_net_addr_add(struct lodge_net *n, const char *ifname, const struct ip_prefix *p,
                       struct lodge_error **err);

/* The default route of gateway's family via gateway on ifname. */
int lodge_net_route_default_add(struct lodge_net *n, const char *ifname,
                                const struct ip_prefix *gateway, struct lodge_error **err);

/* The addresses ("ADDR/PREFIX") of family on ifname, as a strv owned by the
 * caller (NULL when there are none). */
int lodge_net_addrs(struct lodge_net *n, const char *ifname, int family, char ***ret,
                    struct lodge_error **err);

/* The IPv4 destinations of every route in every table of this namespace
 * (the subnets in use here), as an array owned by the caller (free()). */
int lodge_net_routes_ipv4(struct lodge_net *n, struct ip_prefix **ret, size_t *ret_n,
                          struct lodge_error **err);

/* ---- address plans (ipam.c, no side effects) ---- */

/* Does prefix a overlap prefix b (IPv4)? */
bool lodge_net_ipv4_overlaps(const struct ip_prefix *a, const struct ip_prefix *b);

/* May a guest have static address addr on a network whose gateway (and
 * subnet) is gw, when used[0..n) are taken by other guests? -EINVAL when it
 * is outside the subnet, its network or broadcast address, or its prefix
 * differs; -EADDRINUSE when it is the gateway's or taken. */
int lodge_net_ipam_check(const struct ip_prefix *gw, const struct ip_prefix *addr,
                         const struct ip_prefix *used, size_t n, struct lodge_error **err);

/* A free private /24 for a new network, as its gateway 10.X.Y.1/24: the first
 * one from candidate 'start' on (10.X.Y with X in 100..254) that overlaps none
 * of taken[0..n). -EADDRNOTAVAIL when all are taken. */
int lodge_net_subnet_pick(const struct ip_prefix *taken, size_t n, unsigned start,
                          struct ip_prefix *ret_gateway, struct lodge_error **err);

/* The DHCP range of a network: its hosts after the gateway's first
 * neighbours, [network+2, broadcast-1], as dotted strings. -EINVAL when the
 * subnet is smaller than /29. */
int lodge_net_dhcp_range(const struct ip_prefix *gw, char ret_first[static 16],
                         char ret_last[static 16], struct lodge_error **err);

/* ---- managed networks (network.c, dnsmasq.c, nat.c) ---- */

/* A network lodge manages: a bridge of that name with the gateway's
 * addresses on it, optionally DHCP/DNS (dnsmasq) and NAT. */
struct lodge_net_network {
        char name[16]; /* the bridge */
        bool has_ipv4;
        struct ip_prefix ipv4; /* the gateway's address and the subnet's prefix */
        bool has_ipv6;
        struct ip_prefix ipv6;
        bool nat;
        bool dhcp; /* dnsmasq: DHCP and DNS (IPv4), router advertisements (IPv6) */
};

/* The definition file's text ("version=1", "ipv4=ADDR/PREFIX|none",
 * "ipv6=…", "nat=on|off", "dhcp=on|off" lines) to a network called name,
 * and back (the caller frees *ret). -EINVAL for a bad file. */
int lodge_net_network_parse(const char *name, const char *text, struct lodge_net_network *ret,
                            struct lodge_error **err);
int lodge_net_network_format(const struct lodge_net_network *nw, char **ret,
                             struct lodge_error **err);

/* "ADDR/PREFIX", or "none" when !has. */
void lodge_net_prefix_to_string(bool has, const struct ip_prefix *p, char ret[static 64]);

/* Make the bridge (or find lodge's) and put the gateway addresses on it;
 * idempotent. -EEXIST when an interface of that name isn't a lodge bridge. */
int lodge_net_network_up(struct lodge_net *n, const struct lodge_net_network *nw,
                         struct lodge_error **err);

/* dnsmasq for nw, unless it runs already: DHCP and DNS on its IPv4 subnet,
 * router advertisements (SLAAC) and DNS on its IPv6 one. Its files are in
 * directory dir (absolute), but for its lease file, leases (absolute: kept
 * where it outlives a reboot). -ENOENT when dnsmasq isn't installed, -EIO
 * when it fails (its message in err). The binary is $LODGE_DNSMASQ or
 * /usr/sbin/dnsmasq. */
int lodge_net_dnsmasq_start(const struct lodge_net_network *nw, const char *dir, const char *leases,
                            struct lodge_error **err);

/* Is dnsmasq there and runnable ("dnsmasq --version")? Its version line in
 * *ret_version (owned by the caller). -ENOENT when it isn't installed. */
int lodge_net_dnsmasq_probe(char **ret_version, struct lodge_error **err);

/* The pid of the dnsmasq of dir, or -ESRCH. */
int lodge_net_dnsmasq_pid(const char *dir);

/* Stop it and wait until it is gone (no-op when it doesn't run). */
int lodge_net_dnsmasq_stop(const char *dir, struct lodge_error **err);

/* Tell the dnsmasq of dir about a guest: its name for its MAC (DHCP and DNS),
 * and its static address addr (may be NULL), kept from other guests and
 * resolvable. Read by dnsmasq at once (inotify). */
int lodge_net_dnsmasq_host_set(const char *dir, const char *guest, const uint8_t hwaddr[6],
                               const struct ip_prefix *addr, struct lodge_error **err);
void lodge_net_dnsmasq_host_remove(const char *dir, const char *guest);

/* The nftables script that gives network nw its chains in table "inet
 * TABLE" (add: masquerading of its subnet to elsewhere, forwarding to and
 * from its bridge) or removes them (!add). Owned by the caller. */
int lodge_net_nat_script(const struct lodge_net_network *nw, const char *table, bool add,
                         char **ret, struct lodge_error **err);

/* Apply it with nft ($LODGE_NFT or /usr/sbin/nft), the script written to
 * dirfd (path dir) for it; removing the last network's chains removes the
 * table. The caller keeps others from changing the table meanwhile. */
int lodge_net_nat_set(const struct lodge_net_network *nw, const char *table, bool on, int dirfd,
                      const char *dir, struct lodge_error **err);

/* Is nft there, and can it talk to the kernel's nf_tables ("nft list
 * tables": needs CAP_NET_ADMIN)? Its version line in *ret_version (owned by
 * the caller). -ENOENT when it isn't installed, -EIO when it fails. */
int lodge_net_nft_probe(char **ret_version, struct lodge_error **err);

/* net.ipv4.ip_forward = 1 (asked for by a network with NAT). */
int lodge_net_ip_forward_enable(struct lodge_error **err);
