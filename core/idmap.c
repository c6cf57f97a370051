/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/idmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/host-conf.h"
#include "core/base/parse.h"
#include "core/base/path.h"
#include "core/config.h"
#include "core/container.h"

static bool overlap(uint64_t a, uint64_t na, uint64_t b, uint64_t nb)
{
        return a < b + nb && b < a + na;
}

/* Root's first range in a subordinate id file: 1, 0 when it has none. */
static int root_range(const char *text, struct idmap_range *ret)
{
        for (const char *line = text; line && *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                char buf[128], *who, *base, *count, *save = NULL;
                uint64_t b, c;

                if (len < sizeof(buf)) {
                        memcpy(buf, line, len);
                        buf[len] = '\0';
                        who = strtok_r(buf, ":", &save);
                        base = strtok_r(NULL, ":", &save);
                        count = strtok_r(NULL, ":\r", &save);
                        if (who && base && count &&
                            (strcmp(who, "root") == 0 || strcmp(who, "0") == 0) &&
                            parse_u64_range(base, 1, UINT32_MAX - 1, &b) >= 0 &&
                            parse_u64_range(count, 1, UINT32_MAX, &c) >= 0 && b + c <= UINT32_MAX) {
                                *ret = (struct idmap_range){ (uint32_t)b, (uint32_t)c };
                                return 1;
                        }
                }
                line = end ? end + 1 : NULL;
        }
        return 0;
}

int idmap_pool_parse(const char *subuid, const char *subgid, struct idmap_range *ret,
                     struct lodge_error **err)
{
        struct idmap_range u = { 0 }, g = { 0 };
        bool has_u = subuid && root_range(subuid, &u) > 0;
        bool has_g = subgid && root_range(subgid, &g) > 0;
        uint64_t lo, hi;

        if (!has_u && !has_g) {
                *ret = (struct idmap_range){ IDMAP_POOL_DEFAULT_BASE, IDMAP_POOL_DEFAULT_COUNT };
                return 0;
        }
        if (!has_u || !has_g)
                return lodge_error_set(err, EINVAL,
                                       "root has a range in /etc/%s but none in /etc/%s: give it "
                                       "the same in both",
                                       has_u ? "subuid" : "subgid", has_u ? "subgid" : "subuid");
        /* One map serves uids and gids alike: the ids both ranges have. */
        lo = u.base > g.base ? u.base : g.base;
        hi = (uint64_t)u.base + u.count < (uint64_t)g.base + g.count ? (uint64_t)u.base + u.count
                                                                     : (uint64_t)g.base + g.count;
        if (hi < lo + IDMAP_SIZE)
                return lodge_error_set(err, EINVAL,
                                       "root's ranges in /etc/subuid (%u:%u) and /etc/subgid "
                                       "(%u:%u) share fewer than %u ids",
                                       u.base, u.count, g.base, g.count, IDMAP_SIZE);
        *ret = (struct idmap_range){ (uint32_t)lo, (uint32_t)(hi - lo) };
        return 0;
}

int idmap_pick(const char *name, const struct idmap_range *pool, const struct idmap_range *taken,
               size_t n_taken, uint32_t *ret_base)
{
        uint64_t slots = pool->count / IDMAP_SIZE;
        uint32_t hash = 2166136261u; /* FNV-1a */

        for (const char *c = name; *c; c++)
                hash = (hash ^ (unsigned char)*c) * 16777619u;
        for (uint64_t k = 0; k < slots; k++) {
                uint64_t base = pool->base + ((hash + k) % slots) * IDMAP_SIZE;
                bool free = true;

                for (size_t i = 0; free && i < n_taken; i++)
                        free = !overlap(base, IDMAP_SIZE, taken[i].base, taken[i].count);
                if (free) {
                        *ret_base = (uint32_t)base;
                        return 0;
                }
        }
        return -ENOSPC;
}

struct taken {
        struct idmap_range *r;
        size_t n;
};

static int take(struct taken *t, uint32_t base, uint32_t count)
{
        struct idmap_range *r = realloc(t->r, (t->n + 1) * sizeof(*r));

        if (!r)
                return -ENOMEM;
        r[t->n++] = (struct idmap_range){ base, count };
        t->r = r;
        return 0;
}

/* The ids in the third field of /etc/passwd and /etc/group lines, one each. */
static int take_host_ids(struct taken *t, const char *path)
{
        cleanup_free char *text = NULL;

        if (read_file_at(AT_FDCWD, path, 16 << 20, &text, NULL, NULL) < 0)
                return 0;
        for (char *line = text, *end; line && *line; line = end ? end + 1 : NULL) {
                const char *f = line;
                uint64_t id;

                end = strchr(line, '\n');
                if (end)
                        *end = '\0';
                for (int i = 0; i < 2 && f; i++) {
                        f = strchr(f, ':');
                        f = f ? f + 1 : NULL;
                }
                if (f) {
                        char buf[16];
                        size_t len = strcspn(f, ":");

                        if (len < sizeof(buf)) {
                                memcpy(buf, f, len);
                                buf[len] = '\0';
                                if (parse_u64_range(buf, 0, UINT32_MAX - 1, &id) >= 0 &&
                                    take(t, (uint32_t)id, 1) < 0)
                                        return -ENOMEM;
                        }
                }
        }
        return 0;
}

/* The ranges of the other guests of this root, those being made (in their
 * hidden directories, whose config is written under IDMAP_LOCK) too. */
static int take_guests(struct taken *t, int containers_dirfd, const char *name)
{
        cleanup_closedir DIR *d = opendir_fd(containers_dirfd);
        struct dirent *de;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
                cleanup_close int cdir = -EBADF;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                    strcmp(de->d_name, name) == 0)
                        continue;
                cdir = openat(containers_dirfd, de->d_name,
                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (cdir < 0 || lodge_config_load_at(cdir, "config", NULL, &cfg, NULL) < 0)
                        continue;
                if (cfg->security.has_idmap &&
                    take(t, cfg->security.idmap_base, cfg->security.idmap_count) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int check_free(int containers_dirfd, const char *name, const struct lodge_config *cfg,
                      struct lodge_error **err)
{
        struct taken t = { 0 };
        int r;

        if (!cfg->security.has_idmap || !cfg->security.idmap_isolated)
                return 0;
        r = take_guests(&t, containers_dirfd, name);
        for (size_t i = 0; r >= 0 && i < t.n; i++)
                if (overlap(cfg->security.idmap_base, cfg->security.idmap_count, t.r[i].base,
                            t.r[i].count))
                        r = lodge_error_set(err, EEXIST,
                                            "security.idmap %u:%u overlaps another guest's "
                                            "range, %u:%u",
                                            cfg->security.idmap_base, cfg->security.idmap_count,
                                            t.r[i].base, t.r[i].count);
        free(t.r);
        return r == -ENOMEM ? lodge_error_set(err, ENOMEM, "check the id range") : r;
}

/* idmap.pool in lodge.conf, else root's range in /etc/subuid and /etc/subgid. */
static int pool_get(const struct lodge_paths *p, struct idmap_range *ret, struct lodge_error **err)
{
        CLEANUP(host_conf_done) struct host_conf hc = { 0 };
        cleanup_free char *subuid = NULL, *subgid = NULL;
        uint32_t base, count;
        int n = 0, r;

        r = host_conf_read(p->conf, &hc, err);
        if (r < 0)
                return r;
        if (hc.idmap_pool) {
                if (sscanf(hc.idmap_pool, "%" SCNu32 ":%" SCNu32 "%n", &base, &count, &n) != 2 ||
                    hc.idmap_pool[n] || count < IDMAP_SIZE || base == 0 ||
                    (uint64_t)base + count > UINT32_MAX)
                        return lodge_error_set(err, EINVAL,
                                               "%s: idmap.pool '%s': BASE:COUNT, not from 0, at "
                                               "least %u ids",
                                               p->conf, hc.idmap_pool, IDMAP_SIZE);
                *ret = (struct idmap_range){ .base = base, .count = count };
                return 0;
        }
        (void)read_file_at(AT_FDCWD, "/etc/subuid", 1 << 20, &subuid, NULL, NULL);
        (void)read_file_at(AT_FDCWD, "/etc/subgid", 1 << 20, &subgid, NULL, NULL);
        return idmap_pool_parse(subuid, subgid, ret, err);
}

int idmap_assign(const struct lodge_paths *p, int containers_dirfd, const char *name,
                 struct lodge_config *cfg, struct lodge_error **err)
{
        cleanup_free char *value = NULL;
        struct taken t = { 0 };
        struct idmap_range pool;
        uint32_t base;
        int r;

        if (cfg->security.privileged)
                return 0;
        if (cfg->security.has_idmap)
                return check_free(containers_dirfd, name, cfg, err);
        r = pool_get(p, &pool, err);
        if (r < 0)
                return r;
        if (!cfg->security.idmap_isolated) {
                base = pool.base;
        } else {
                /* The first range is for the guests that share one. */
                r = take(&t, pool.base, IDMAP_SIZE);
                if (r >= 0)
                        r = take_guests(&t, containers_dirfd, name);
                if (r >= 0)
                        r = take_host_ids(&t, "/etc/passwd");
                if (r >= 0)
                        r = take_host_ids(&t, "/etc/group");
                if (r >= 0)
                        r = idmap_pick(name, &pool, t.r, t.n, &base);
                free(t.r);
                if (r == -ENOSPC)
                        return lodge_error_set(err, ENOSPC,
                                               "no free range of %u ids left in %u:%u for "
                                               "security.idmap",
                                               IDMAP_SIZE, pool.base, pool.count);
                if (r < 0)
                        return lodge_error_set(err, -r, "pick an id range");
        }
        if (asprintf(&value, "%u:%u", base, IDMAP_SIZE) < 0)
                return lodge_error_set(err, ENOMEM, "pick an id range");
        return lodge_config_set(cfg, "security.idmap", value, err);
}
