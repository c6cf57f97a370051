/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: a guest's network interfaces, made from the host side (step
 * 3 of the launch sequence, while the guest's first process waits). */

#include <sys/types.h>

#include "core/base/error.h"
#include "core/config.h"
#include "core/container.h"

/* In the run directory: the host-side interfaces made for the guest, one a
 * line, so that whoever cleans up removes exactly those. */
#define GUEST_NET_LINKS "net.links"

/* Make the guest's interfaces (net.N.*) into the network namespace of pid
 * (pidfd): veth pairs on their bridges, macvlans, and set them up there with
 * their static addresses and default routes; loopback is set up in every
 * guest. Managed networks the guest uses are brought up first. On failure
 * nothing made here is left. */
int guest_net_setup(const struct lodge_paths *p, const char *name, const struct lodge_config *cfg,
                    pid_t pid, int pidfd, int rundirfd, struct lodge_error **err);

/* Remove the host-side interfaces and network entries recorded in rundirfd
 * (errors are ignored: a guest's namespace going away takes its veth pairs
 * with it). */
void guest_net_teardown(const struct lodge_paths *p, const char *name, int rundirfd);

/* Refuse a static net.N.ipv4 that another guest has on the same link, or
 * that isn't a host of its managed network's subnet other than the gateway:
 * -EADDRINUSE, -EINVAL. */
int guest_net_check_addresses(const struct lodge_paths *p, const char *name,
                              const struct lodge_config *cfg, struct lodge_error **err);

/* Give each veth and macvlan interface of cfg without net.N.hwaddr a random
 * one of lodge's range (00:16:3e), set in cfg: done once, when the guest is
 * created or gets the interface, so that its MAC (and its DHCP lease) stays. */
int guest_net_fill_hwaddr(struct lodge_config *cfg, struct lodge_error **err);

/* Set the traffic limits of cfg (net.N.limit.*) on the guest's veth pairs
 * now, when it runs (no-op for those that don't exist). */
int guest_net_apply_limits(const char *tag, const char *name, const struct lodge_config *cfg,
                           struct lodge_error **err);

/* The live state of a running guest's interfaces (init is pid), seen from
 * inside its network namespace: -ESRCH when that can't be entered. *ret is
 * freed with guest_net_ifaces_free(). */
int guest_net_live(const struct lodge_paths *p, const char *name, const struct lodge_config *cfg,
                   pid_t pid, struct lodge_iface_info **ret, size_t *ret_n);
void guest_net_ifaces_free(struct lodge_iface_info *v, size_t n);
