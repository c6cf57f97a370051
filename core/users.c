/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/users.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/parse.h"

/* Split one line into up to max ':'-separated fields (in place). */
static size_t fields(char *line, char **f, size_t max)
{
        size_t n = 0;

        f[n++] = line;
        for (char *p = line; *p && n < max; p++)
                if (*p == ':') {
                        *p = '\0';
                        f[n++] = p + 1;
                }
        return n;
}

static int parse_id(const char *s, uint32_t *ret)
{
        uint64_t v;

        /* 2^32-1 is (uid_t)-1, "no id": never valid. */
        if (parse_u64_range(s, 0, UINT32_MAX - 1, &v) < 0)
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

int users_lookup(const char *passwd, const char *who, struct guest_user *ret)
{
        uint32_t want = 0;
        bool by_uid = who[0] >= '0' && who[0] <= '9';
        const char *line = passwd;

        if (by_uid && parse_id(who, &want) < 0)
                return -EINVAL;
        if (!by_uid && (!*who || strlen(who) >= sizeof(ret->name) || strpbrk(who, ":\n")))
                return -EINVAL;

        while (line && *line) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                char buf[1024], *f[7];
                uint32_t uid, gid;

                if (len < sizeof(buf) && line[0] != '#') {
                        memcpy(buf, line, len);
                        buf[len] = '\0';
                        if (fields(buf, f, 7) == 7 && parse_id(f[2], &uid) == 0 &&
                            parse_id(f[3], &gid) == 0 &&
                            (by_uid ? uid == want : strcmp(f[0], who) == 0)) {
                                *ret = (struct guest_user){ .uid = uid, .gid = gid };
                                snprintf(ret->name, sizeof(ret->name), "%s", f[0]);
                                snprintf(ret->home, sizeof(ret->home), "%s",
                                         f[5][0] == '/' ? f[5] : "/");
                                snprintf(ret->shell, sizeof(ret->shell), "%s",
                                         f[6][0] == '/' ? f[6] : "/bin/sh");
                                return 0;
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        if (!by_uid)
                return -ENOENT;
        *ret = (struct guest_user){ .uid = want, .gid = want };
        snprintf(ret->name, sizeof(ret->name), "%s", who);
        snprintf(ret->home, sizeof(ret->home), "/");
        snprintf(ret->shell, sizeof(ret->shell), "/bin/sh");
        return 0;
}

size_t users_groups(const char *group, const char *name, gid_t primary, gid_t *ret, size_t max)
{
        const char *line = group;
        size_t n = 0;

        if (max == 0)
                return 0;
        ret[n++] = primary;
        while (line && *line && n < max) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                char buf[4096], *f[4], *save = NULL;
                uint32_t gid;

                if (len < sizeof(buf) && line[0] != '#') {
                        memcpy(buf, line, len);
                        buf[len] = '\0';
                        if (fields(buf, f, 4) == 4 && parse_id(f[2], &gid) == 0 && gid != primary)
                                for (char *m = strtok_r(f[3], ",", &save); m;
                                     m = strtok_r(NULL, ",", &save))
                                        if (strcmp(m, name) == 0) {
                                                ret[n++] = gid;
                                                break;
                                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        return n;
}
