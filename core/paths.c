/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/core-internal.h"

static int pick(const char *override, const char *env, const char *fallback, char **ret,
                struct lodge_error **err)
{
        const char *v = override;
        cleanup_free char *cwd = NULL;

        if (!v || !*v)
                v = secure_getenv(env);
        if (!v || !*v)
                v = fallback;
        if (v[0] == '/') {
                *ret = strdup(v);
        } else {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return lodge_error_set(err, errno, "get current directory for '%s'", v);
                if (asprintf(ret, "%s/%s", cwd, v) < 0)
                        *ret = NULL;
        }
        if (!*ret)
                return lodge_error_set(err, ENOMEM, "store path '%s'", v);
        if (strlen(*ret) >= PATH_MAX / 4)
                return lodge_error_set(err, ENAMETOOLONG, "path '%s' is too long", *ret);
        return 0;
}

int lodge_paths_init(struct lodge_paths *p, const char *root_override, struct lodge_error **err)
{
        struct lodge_paths n = { 0 };
        int r;

        r = pick(root_override, "LODGE_ROOT", "/var/lib/lodge", &n.root, err);
        if (r >= 0)
                r = pick(NULL, "LODGE_CACHE", "/var/cache/lodge", &n.cache, err);
        if (r >= 0)
                r = pick(NULL, "LODGE_RUNDIR", "/run/lodge", &n.rundir, err);
        if (r >= 0)
                r = pick(NULL, "LODGE_CONF", "/etc/lodge/lodge.conf", &n.conf, err);
        if (r < 0) {
                lodge_paths_done(&n);
                return r;
        }
        if (strcmp(n.root, "/var/lib/lodge") != 0) {
                uint32_t hash = 2166136261u; /* FNV-1a */

                for (const char *c = n.root; *c; c++)
                        hash = (hash ^ (unsigned char)*c) * 16777619u;
                snprintf(n.tag, sizeof(n.tag), "%08x", hash);
        }
        *p = n;
        return 0;
}

void lodge_paths_done(struct lodge_paths *p)
{
        free(p->root);
        free(p->cache);
        free(p->rundir);
        free(p->conf);
        *p = (struct lodge_paths){ 0 };
}

/* A directory lodge keeps state in must be ours alone. */
static int check_owned(int fd, const char *path, struct lodge_error **err)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "stat '%s'", path);
        if (st.st_uid != geteuid())
                return lodge_error_set(err, EPERM, "'%s' is owned by uid %u, not by uid %u", path,
                                       (unsigned)st.st_uid, (unsigned)geteuid());
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return lodge_error_set(err, EPERM,
                                       "'%s' is writable by group or others (mode %04o)", path,
                                       (unsigned)(st.st_mode & 07777));
        return 0;
}

/* mkdir -p for the parents of an absolute path: the admin owns those, so
 * symlinks among them are followed. */
static int mkdir_parents(const char *path)
{
        cleanup_free char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        for (char *s = strchr(copy + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                if (mkdir(copy, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        return 0;
}

int state_dir_open(const char *path, mode_t mode, bool create, struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;
        int r;

        if (create) {
                r = mkdir_parents(path);
                if (r < 0)
                        return lodge_error_set(err, -r, "create parents of '%s'", path);
                if (mkdir(path, mode) < 0 && errno != EEXIST)
                        return lodge_error_set(err, errno, "create directory '%s'", path);
        }
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ELOOP || errno == ENOTDIR)
                        return lodge_error_set(err, ELOOP, "'%s' is not a directory (a symlink?)",
                                               path);
                return lodge_error_set(err, errno, "open directory '%s'", path);
        }
        r = check_owned(fd, path, err);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

int state_subdir_open(int parent, const char *parent_path, const char *name, bool create,
                      struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;
        cleanup_free char *full = NULL;
        int r;

        if (asprintf(&full, "%s/%s", parent_path, name) < 0)
                return lodge_error_set(err, ENOMEM, "build path");
        if (create && mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
                return lodge_error_set(err, errno, "create directory '%s'", full);
        fd = open_dir_at(parent, name);
        if (fd < 0)
                return lodge_error_set(err, -fd, "open directory '%s'", full);
        r = check_owned(fd, full, err);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

void root_dirs_done(struct root_dirs *d)
{
        closep(&d->root);
        closep(&d->containers);
        closep(&d->locks);
        *d = (struct root_dirs)ROOT_DIRS_NULL;
}

int root_dirs_open(const struct lodge_paths *p, bool create, struct root_dirs *ret,
                   struct lodge_error **err)
{
        struct root_dirs d = ROOT_DIRS_NULL;
        int r;

        r = d.root = state_dir_open(p->root, 0711, create, err);
        if (r >= 0)
                r = d.containers = state_subdir_open(d.root, p->root, "containers", create, err);
        if (r >= 0)
                r = d.locks = state_subdir_open(d.root, p->root, "locks", create, err);
        if (r < 0) {
                root_dirs_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}

int container_dirs_open(const struct lodge_paths *p, const char *name, struct root_dirs *ret,
                        struct lodge_error **err)
{
        int r;

        r = lodge_name_check(name, err);
        if (r < 0)
                return r;
        r = root_dirs_open(p, false, ret, err);
        if (r == -ENOENT) {
                lodge_error_free(err);
                return lodge_error_set(err, ENOENT, "no such container");
        }
        return r;
}

int container_dir_open(const struct root_dirs *d, const char *name, struct lodge_error **err)
{
        int fd = open_dir_at(d->containers, name);

        if (fd == -ENOENT || fd == -ENOTDIR)
                return lodge_error_set(err, ENOENT, "no such container");
        if (fd < 0)
                return lodge_error_set(err, -fd, "open container directory");
        return fd;
}
