/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* lodge.conf ($LODGE_CONF, default /etc/lodge/lodge.conf): the host's
 * defaults, read by one reader for every module that has keys there.
 * "key = value" lines, '#' comments, blank lines; the keys:
 *
 *   idmap.pool                                 BASE:COUNT, the host ids guests' ranges
 *                                              come from (default: root's in /etc/subuid)
 *   image.server, image.keyring, image.ca      create -t download, image pull
 *   network.default                            the default network's name (a bridge)
 *   network.default.ipv4, network.default.ipv6 its subnets when made on first use
 *                                              (as lodge network create --ipv4/--ipv6)
 *
 * A key given twice: the last one counts. */

#include "core/base/error.h"

struct host_conf {
        char *idmap_pool; /* "BASE:COUNT": where guests' id ranges come from */
        char *image_ca;
        char *image_keyring;
        char *image_server;
        char *network_default;
        char *network_default_ipv4;
        char *network_default_ipv6;
};

/* Read path into *ret (every key NULL when not set; a missing file sets
 * none). -EINVAL for a line that isn't "key = value", an unknown key or an
 * empty value, the error naming the file, the line and the key. Call
 * host_conf_done() on *ret either way. */
int host_conf_read(const char *path, struct host_conf *ret, struct lodge_error **err);

void host_conf_done(struct host_conf *c);
