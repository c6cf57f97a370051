/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: users of a guest, read from its own files. Never through
 * NSS: that would load the guest's libraries into a privileged host process. */

#include <stddef.h>
#include <sys/types.h>

struct guest_user {
        uid_t uid;
        gid_t gid;
        char name[64];
        char home[256];
        char shell[256];
};

/* Find who (a name, or a decimal uid) in passwd text. A uid that isn't listed
 * is still valid (gid = uid, home "/", shell "/bin/sh"), as for login(1)
 * without a passwd entry. -ENOENT for an unknown name, -EINVAL for a
 * malformed who. */
int users_lookup(const char *passwd, const char *who, struct guest_user *ret);

/* Supplementary groups of name from group text: gids whose member list has
 * it, plus primary. Returns how many were stored (at most max). */
size_t users_groups(const char *group, const char *name, gid_t primary, gid_t *ret, size_t max);
