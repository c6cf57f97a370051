/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: lodge's managed networks, as guests' starts and stops see them. */

#include "core/base/error.h"
#include "core/container.h"

struct lodge_net;
struct lodge_net_network;

/* The networks' lock ($LODGE_ROOT/networks/.lock), held while one is
 * created, deleted or brought up. Returns the fd (close() releases it). */
int network_lock(const struct lodge_paths *p, struct lodge_error **err);

/* The definition of network name: -ENOENT when lodge manages no network of
 * that name (a bridge of the admin's). */
int network_load(const struct lodge_paths *p, const char *name, struct lodge_net_network *ret,
                 struct lodge_error **err);

/* The network's run directory, $LODGE_RUNDIR/.networks/NAME (made when
 * missing, mode 0711: dnsmasq reads its host files after giving up root).
 * Its lease file is kept in $LODGE_ROOT/networks/.leases/NAME instead. */
int network_run_dir(const struct lodge_paths *p, const char *name, char **ret_path,
                    struct lodge_error **err);

/* Bring a defined network up (bridge, addresses, dnsmasq, NAT); idempotent,
 * and cheap when it is up already. Takes the networks' lock. */
int network_up(const struct lodge_paths *p, struct lodge_net *n, const struct lodge_net_network *nw,
               struct lodge_error **err);

/* Bring up every defined network (autostart); failures are collected as
 * "network NAME: why" in *failed. */
int networks_up_all(const struct lodge_paths *p, char ***failed, struct lodge_error **err);

/* The default network, for veth interfaces without net.N.link:
 * network.default in lodge.conf ($LODGE_CONF), else "lodgebr0" for the
 * default root and "lodgebr" + the root's tag for another. -EINVAL for a bad
 * lodge.conf or name. */
int network_default_name(const struct lodge_paths *p, char ret[static 16],
                         struct lodge_error **err);

/* Create the default network on first use: network.default.ipv4 and .ipv6
 * of lodge.conf (as --ipv4/--ipv6; default a free private /24, no IPv6),
 * DHCP, no NAT (that is asked for by creating it first: lodge network create
 * lodgebr0 --nat on). Made by another start meanwhile is fine. */
int network_create_default(const struct lodge_paths *p, struct lodge_error **err);
