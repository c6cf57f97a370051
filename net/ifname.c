/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

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
static uint64_t fnv1a(const char *tag, const char *s, unsigned index)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        /* The root's tag first, then '/': no guest name has one. */
        for (const char *t = tag ? tag : ""; *t; t++) {
                h ^= (unsigned char)*t;
                h *= 0x100000001b3ULL;
        }
        if (tag && *tag) {
                h ^= '/';
                h *= 0x100000001b3ULL;
        }
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ULL;
        }
        h ^= index;
        h *= 0x100000001b3ULL;
        return h;
}

void lodge_net_veth_host_name(const char *tag, const char *guest, unsigned index, char ret[16])
{
        /* "lg" + 12 hex digits: 48 bits of hash, within IFNAMSIZ. */
        snprintf(ret, 16, "lg%012llx", (unsigned long long)(fnv1a(tag, guest, index) >> 16));
}

int lodge_net_hwaddr_random(uint8_t ret[6], struct lodge_error **err)
{
        uint8_t r[3];

        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
                return lodge_error_set(err, errno ? errno : EIO, "read random bytes");
        ret[0] = 0x00;
        ret[1] = 0x16;
        ret[2] = 0x3e;
        memcpy(ret + 3, r, 3);
        return 0;
}
