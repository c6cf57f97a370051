/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cache of base trees that templates build (debootstrap): one directory
 * per recipe under $LODGE_CACHE/templates/TEMPLATE/, named by a readable
 * label and a hash of the recipe, holding rootfs.tar and the recipe itself.
 * Builders of one recipe are serialised by a flock on KEY.lock; a build is
 * made in a hidden .build-KEY-* directory and renamed into place, so a key
 * directory appears complete or not at all; a killed builder's leftovers are
 * removed by the next one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/interrupt.h"
#include "core/base/path.h"
#include "core/base/process.h"
#include "core/base/rmtree.h"
#include "templates/templates-internal.h"

#define CACHE_SUBDIR "templates"
#define TAR_NAME "rootfs.tar"
#define RECIPE_NAME "recipe"
#define BUILD_PREFIX ".build-"

static uint64_t fnv1a64(const char *s)
{
        uint64_t h = 14695981039346656037ULL;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

static void progress(const struct recipe *rc, const char *what)
{
        if (rc->progress)
                rc->progress(what, 0, 0, rc->userdata);
}

/* $LODGE_CACHE/templates/TEMPLATE, made when missing. */
static int open_template_dir(const struct recipe *rc, struct lodge_error **err)
{
        cleanup_close int cache = -EBADF;
        cleanup_free char *sub = NULL;
        int fd;

        if (!rc->cache_dir)
                return lodge_error_set(err, EINVAL, "no cache directory");
        if (mkdir(rc->cache_dir, 0755) < 0 && errno != EEXIST)
                return lodge_error_set(err, errno, "create the cache '%s'", rc->cache_dir);
        cache = open(rc->cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cache < 0)
                return lodge_error_set(err, errno, "open the cache '%s'", rc->cache_dir);
        if (asprintf(&sub, CACHE_SUBDIR "/%s", rc->template) < 0)
                return lodge_error_set(err, ENOMEM, "build cache path");
        fd = mkdir_p_at(cache, sub, 0755);
        if (fd < 0)
                return lodge_error_set(err, -fd, "create '%s/%s'", rc->cache_dir, sub);
        return fd;
}

static int lock_key(int dirfd, const struct recipe *rc, const char *key, struct lodge_error **err)
{
        cleanup_free char *name = NULL;
        cleanup_close int fd = -EBADF;
        int r;

        if (asprintf(&name, "%s.lock", key) < 0)
                return lodge_error_set(err, ENOMEM, "build lock name");
        fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return lodge_error_set(err, errno, "open the cache lock '%s'", name);
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                return TAKE_FD(fd);
        if (errno != EWOULDBLOCK)
                return lodge_error_set(err, errno, "lock '%s'", name);
        progress(rc, "waiting for another build of this recipe");
        r = interrupt_flock(fd, LOCK_EX);
        if (r == -EINTR)
                return lodge_error_set(err, EINTR,
                                       "interrupted waiting for another build of this recipe");
        if (r < 0)
                return lodge_error_set(err, -r, "lock '%s'", name);
        return TAKE_FD(fd);
}

/* Is key/ a complete entry for exactly this recipe (not a hash collision)? */
static bool cached(int dirfd, const char *key, const char *text)
{
        cleanup_close int kfd = open_dir_at(dirfd, key);
        cleanup_free char *have = NULL;
        struct stat st;

        if (kfd < 0 || fstatat(kfd, TAR_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return false;
        if (read_file_at(kfd, RECIPE_NAME, 1 << 16, &have, NULL, NULL) < 0)
                return false;
        return strcmp(have, text) == 0;
}

static void remove_stale_builds(int dirfd, const char *key)
{
        cleanup_closedir DIR *d = NULL;
        cleanup_free char *prefix = NULL;
        int fd;

        if (asprintf(&prefix, BUILD_PREFIX "%s-", key) < 0)
                return;
        fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
                        (void)rm_rf_at(dirfd, de->d_name, NULL);
}

static int find_tar(char **ret)
{
        static const char *const candidates[] = { "/usr/bin/tar", "/bin/tar" };

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (access(candidates[i], X_OK) == 0) {
                        *ret = strdup(candidates[i]);
                        return *ret ? 0 : -ENOMEM;
                }
        return -ENOENT;
}

/* Our own freshly built tree (no guest has run in it) into one uncompressed
 * tarball: the cache entry is one file, and every guest is unpacked from it by
 * the safe extractor, the same path as -t local. */
static int pack(const char *tree, const char *tarball, struct lodge_error **err)
{
        cleanup_free char *tar = NULL, *out = NULL;
        int r;

        if (find_tar(&tar) < 0)
                return lodge_error_set(err, ENOENT, "pack the tree: tar not found");
        char *argv[] = { tar,
                         "--create",
                         "--numeric-owner",
                         "--xattrs",
                         "--xattrs-include=*",
                         "--acls",
                         "--sort=name",
                         "--one-file-system",
                         "--file",
                         (char *)tarball,
                         "--directory",
                         (char *)tree,
                         ".",
                         NULL };
        r = spawn_wait(argv, &out);
        if (r < 0)
                return lodge_error_set(err, -r, "pack the tree: run '%s'", tar);
        if (r != 0)
                return lodge_error_set(err, EIO, "pack the tree: tar failed (exit %d): %s", r,
                                       out ? out : "");
        return 0;
}

/* Build into dirfd/.build-KEY-*, then publish as dirfd/key. */
static int build(int dirfd, const struct recipe *rc, const char *key, recipe_build_cb cb,
                 void *userdata, struct lodge_error **err)
{
        cleanup_free char *tmpl = NULL, *bpath = NULL, *tree = NULL, *tarball = NULL;
        cleanup_close int bfd = -EBADF;
        const char *bname;
        int r;

        remove_stale_builds(dirfd, key);
        if (asprintf(&tmpl, "%s/" CACHE_SUBDIR "/%s/" BUILD_PREFIX "%s-XXXXXX", rc->cache_dir,
                     rc->template, key) < 0)
                return lodge_error_set(err, ENOMEM, "build path");
        if (!mkdtemp(tmpl))
                return lodge_error_set(err, errno, "create a build directory in '%s'",
                                       rc->cache_dir);
        bpath = TAKE_PTR(tmpl);
        bname = strrchr(bpath, '/') + 1;
        bfd = open_dir_at(dirfd, bname);
        if (bfd < 0)
                r = lodge_error_set(err, -bfd, "open '%s'", bpath);
        else if (mkdirat(bfd, "rootfs", 0755) < 0 || mkdirat(bfd, "out", 0755) < 0)
                r = lodge_error_set(err, errno, "create directories in '%s'", bpath);
        else if (asprintf(&tree, "%s/rootfs", bpath) < 0 ||
                 asprintf(&tarball, "%s/out/" TAR_NAME, bpath) < 0)
                r = lodge_error_set(err, ENOMEM, "build path");
        else
                r = cb(tree, userdata, err);
        if (r >= 0) {
                progress(rc, "packing the tree for the cache");
                r = pack(tree, tarball, err);
        }
        if (r >= 0) {
                cleanup_close int out = open_dir_at(bfd, "out");

                r = out < 0 ? lodge_error_set(err, -out, "open '%s/out'", bpath)
                            : write_file_atomic_at(out, RECIPE_NAME, rc->text, strlen(rc->text),
                                                   0644, err);
                if (r >= 0 && syncfs(out) < 0)
                        r = lodge_error_set(err, errno, "sync the cache");
        }
        if (r >= 0) {
                /* --refresh: swap the new entry in, then remove the old one. */
                if (renameat2(bfd, "out", dirfd, key, RENAME_NOREPLACE) < 0) {
                        if (errno != EEXIST ||
                            renameat2(bfd, "out", dirfd, key, RENAME_EXCHANGE) < 0)
                                r = lodge_error_set(err, errno, "publish the cache entry '%s'",
                                                    key);
                }
                if (r >= 0 && fsync(dirfd) < 0)
                        r = lodge_error_set(err, errno, "sync the cache directory");
        }
        (void)rm_rf_at(dirfd, bname, NULL);
        return r;
}

int recipe_cache_open(const struct recipe *rc, recipe_build_cb cb, void *userdata,
                      struct lodge_error **err)
{
        cleanup_close int dirfd = -EBADF, lockfd = -EBADF, kfd = -EBADF;
        char key[256];
        int fd, r;

        snprintf(key, sizeof(key), "%s-%016" PRIx64, rc->label, fnv1a64(rc->text));
        if (!filename_is_valid(key))
                return lodge_error_set(err, EINVAL, "cache key '%s'", key);
        dirfd = open_template_dir(rc, err);
        if (dirfd < 0)
                return dirfd;
        lockfd = lock_key(dirfd, rc, key, err);
        if (lockfd < 0)
                return lockfd;
        if (rc->refresh || !cached(dirfd, key, rc->text)) {
                r = build(dirfd, rc, key, cb, userdata, err);
                if (r < 0)
                        return r;
        } else {
                progress(rc, "using the cached tree");
        }
        kfd = open_dir_at(dirfd, key);
        if (kfd < 0)
                return lodge_error_set(err, -kfd, "open the cache entry '%s'", key);
        /* Open while locked: a later --refresh replaces the entry, not this file. */
        fd = openat(kfd, TAR_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return lodge_error_set(err, errno, "open the cache entry '%s'", key);
        return fd;
}

void lodge_template_cache_entries_free(struct lodge_template_cache_entry *e, size_t n)
{
        for (size_t i = 0; e && i < n; i++) {
                free(e[i].template);
                free(e[i].key);
                free(e[i].recipe);
        }
        free(e);
}

static int list_template(int tdir, const char *template, struct lodge_template_cache_entry **all,
                         size_t *n, struct lodge_error **err)
{
        cleanup_closedir DIR *d = NULL;
        int fd = fcntl(tdir, F_DUPFD_CLOEXEC, 3);

        if (fd < 0)
                return lodge_error_set(err, errno, "read the cache of '%s'", template);
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return lodge_error_set(err, errno, "read the cache of '%s'", template);
        }
        for (struct dirent *de; (de = readdir(d));) {
                cleanup_close int kfd = -EBADF;
                struct lodge_template_cache_entry e = { 0 }, *grown;
                struct stat st;

                if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                        continue; /* hidden builds, locks */
                kfd = open_dir_at(tdir, de->d_name);
                if (kfd < 0 || fstatat(kfd, TAR_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    read_file_at(kfd, RECIPE_NAME, 1 << 16, &e.recipe, NULL, NULL) < 0)
                        continue; /* not an entry of ours */
                e.template = strdup(template);
                e.key = strdup(de->d_name);
                e.size = (uint64_t)st.st_size;
                e.created = (int64_t)st.st_mtime;
                grown = reallocarray(*all, *n + 1, sizeof(**all));
                if (!e.template || !e.key || !grown) {
                        if (grown)
                                *all = grown;
                        free(e.template);
                        free(e.key);
                        free(e.recipe);
                        return lodge_error_set(err, ENOMEM, "list the cache");
                }
                *all = grown;
                (*all)[(*n)++] = e;
        }
        return 0;
}

static int cmp_entry(const void *a, const void *b)
{
        const struct lodge_template_cache_entry *x = a, *y = b;
        int c = strcmp(x->template, y->template);

        return c ? c : strcmp(x->key, y->key);
}

int lodge_template_cache_list(const char *cache_dir, struct lodge_template_cache_entry **ret,
                              size_t *ret_n, struct lodge_error **err)
{
        struct lodge_template_cache_entry *all = NULL;
        cleanup_closedir DIR *d = NULL;
        size_t n = 0;
        int r = 0;

        {
                cleanup_free char *path = NULL;

                if (asprintf(&path, "%s/" CACHE_SUBDIR, cache_dir) < 0)
                        return lodge_error_set(err, ENOMEM, "list the cache");
                d = opendir(path);
                if (!d && errno != ENOENT)
                        return lodge_error_set(err, errno, "list the cache '%s'", path);
        }
        for (struct dirent *de; r >= 0 && d && (de = readdir(d));) {
                cleanup_close int tdir = -EBADF;

                if (de->d_name[0] == '.')
                        continue;
                tdir = open_dir_at(dirfd(d), de->d_name);
                if (tdir >= 0)
                        r = list_template(tdir, de->d_name, &all, &n, err);
        }
        if (r < 0) {
                lodge_template_cache_entries_free(all, n);
                return r;
        }
        if (n > 1)
                qsort(all, n, sizeof(*all), cmp_entry);
        *ret = all;
        *ret_n = n;
        return 0;
}
