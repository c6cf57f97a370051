/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The front door of net/: links, addresses and networks over netlink. */

#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"

/* A valid Linux interface name: 1..15 bytes, no '/', ':' or whitespace, not "." or "..". */
bool lodge_net_ifname_valid(const char *name);

/* The host-side veth name of a guest's interface: "lg" + a hash of the guest
 * name and index, always a valid interface name, stable across restarts. */
void lodge_net_veth_host_name(const char *guest, unsigned index, char ret[16]);

/* Is netlink usable here (a NETLINK_ROUTE socket can be made)? */
int lodge_net_probe(struct lodge_error **err);
