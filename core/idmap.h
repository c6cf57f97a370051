/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: which host ids a guest in a user namespace gets
 * (security.idmap), picked at create. */

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"

struct lodge_config;
struct lodge_paths;

/* Every guest gets this many ids: 0..65535, as a distribution expects. */
#define IDMAP_SIZE 65536u

/* Where ranges come from when root has none in /etc/subuid and /etc/subgid:
 * what Incus uses then. */
#define IDMAP_POOL_DEFAULT_BASE 1000000u
#define IDMAP_POOL_DEFAULT_COUNT 1000000000u

struct idmap_range {
        uint32_t base, count;
};

/* Root's pool from the text of /etc/subuid and /etc/subgid (NULL: no such
 * file): its first range ("root:" or "0:") in each, where both overlap;
 * the default pool when root has none in either. -EINVAL (naming the
 * files) when root's ranges don't overlap or hold fewer than IDMAP_SIZE ids. */
int idmap_pool_parse(const char *subuid, const char *subgid, struct idmap_range *ret,
                     struct lodge_error **err);

/* The base of a free IDMAP_SIZE range in pool for name: the slot a hash of
 * the name points at, or the next free one after it, so that the same name
 * gets the same range while that is free. A slot is free when it overlaps
 * none of taken[0..n_taken). -ENOSPC when none is. */
int idmap_pick(const char *name, const struct idmap_range *pool, const struct idmap_range *taken,
               size_t n_taken, uint32_t *ret_base);

/* Before cfg is written (create, config set): unless the guest is
 * privileged, give it a range (security.idmap) from the pool (idmap.pool in
 * lodge.conf, else root's in /etc/subuid and /etc/subgid), free of
 * every other guest's (those being made too) and of the ids in /etc/passwd
 * and /etc/group; with security.idmap.isolated = false, the pool's first
 * range, which isolated guests never get, shared. A range it has (given by
 * hand) is checked instead: -EEXIST when isolated and overlapping another
 * guest's. The caller holds the lock
 * IDMAP_LOCK until cfg is written in the guest's (hidden) directory. */
#define IDMAP_LOCK ".idmap"

int idmap_assign(const struct lodge_paths *p, int containers_dirfd, const char *name,
                 struct lodge_config *cfg, struct lodge_error **err);
