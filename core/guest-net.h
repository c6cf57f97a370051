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

/* Remove the host-side interfaces recorded in rundirfd (errors are ignored:
 * a guest's namespace going away takes its veth pairs with it). */
void guest_net_teardown(int rundirfd);
