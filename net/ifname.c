/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "net/net.h"

bool lodge_net_ifname_valid(const char *name)
{
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n >= 16 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (const unsigned char *p = (const unsigned char *)name; *p; p++)
                if (*p <= ' ' || *p == '/' || *p == ':' || *p >= 0x7f)
                        return false;
        return true;
}

/* FNV-1a, 64 bit: stable across builds and machines, unlike a seeded hash. */
static uint64_t fnv1a(const char *s, unsigned index)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ULL;
        }
        h ^= index;
        h *= 0x100000001b3ULL;
        return h;
}

void lodge_net_veth_host_name(const char *guest, unsigned index, char ret[16])
{
        /* "lg" + 12 hex digits: 48 bits of hash, within IFNAMSIZ. */
        snprintf(ret, 16, "lg%012llx", (unsigned long long)(fnv1a(guest, index) >> 16));
}
