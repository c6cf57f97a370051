/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image commands that work on the cache alone: list, import, remove,
 * prune. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"

int lodge_template_image_list(const char *cache_dir, struct lodge_image **ret, size_t *ret_n,
                              struct lodge_error **err)
{
        cleanup_close int images_fd = cache_open(cache_dir, false, NULL);

        if (images_fd < 0) {
                /* No cache yet: no images. */
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        return cache_list(images_fd, ret, ret_n, err);
}

/* Copy a local file into the staging directory as name. */
static int copy_in(const char *path, int stage_fd, const char *name, struct lodge_error **err)
{
        char abs[PATH_MAX], url[PATH_MAX + 8];
        struct fetch_options fo = { 0 };
        cleanup_close int fd = -EBADF;

        if (!realpath(path, abs))
                return lodge_error_set(err, errno, "'%s'", path);
        snprintf(url, sizeof(url), "file://%s", abs);
        fd = openat(stage_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return lodge_error_set(err, errno, "create '%s' in the image cache", name);
        return fetch_url(url, fd, &fo, err);
}

static int check_aliases(int images_fd, char *const *aliases, struct lodge_error **err)
{
        STRV_FOREACH (a, aliases) {
                CLEANUP(lodge_image_done) struct lodge_image other = { 0 };
                size_t len = strlen(*a);

                if (len == 0 || len > 128 || strpbrk(*a, " \t\n/") ||
                    (len >= 8 && strspn(*a, "0123456789abcdef") == len))
                        return lodge_error_set(err, EINVAL,
                                               "alias '%s': 1-128 characters, no blanks or '/', "
                                               "not like a fingerprint",
                                               *a);
                if (cache_resolve(images_fd, *a, &other, NULL) >= 0 &&
                    strv_contains(other.aliases, *a))
                        return lodge_error_set(err, EEXIST, "alias '%s' names image '%.12s'", *a,
                                               other.fingerprint);
        }
        return 0;
}

int lodge_template_image_import(const char *cache_dir, const char *rootfs, const char *meta,
                                char *const *aliases, struct lodge_image *ret,
                                struct lodge_error **err)
{
        CLEANUP(lodge_image_done) struct lodge_image c = { 0 };
        cleanup_close int images_fd = -EBADF, stage_fd = -EBADF;
        char stage[32];
        int r;

        images_fd = cache_open(cache_dir, true, err);
        if (images_fd < 0)
                return images_fd;
        r = check_aliases(images_fd, aliases, err);
        if (r < 0)
                return r;
        stage_fd = cache_stage(images_fd, stage, err);
        if (stage_fd < 0)
                return stage_fd;
        r = copy_in(rootfs, stage_fd, "rootfs", err);
        if (r >= 0 && meta) {
                r = copy_in(meta, stage_fd, "meta", err);
                if (r >= 0) {
                        CLEANUP(image_meta_done) struct image_meta m = { 0 };
                        cleanup_close int fd = openat(stage_fd, "meta", O_RDONLY | O_CLOEXEC);

                        /* Refused now rather than at every create. */
                        r = fd < 0 ? lodge_error_set(err, errno, "'%s'", meta)
                                   : meta_read(fd, meta, &m, err);
                }
        }
        c.meta = meta ? LODGE_IMAGE_META_LXC : LODGE_IMAGE_META_NONE;
        c.source = strdup("import");
        c.protocol = strdup("import");
        c.verified = strdup("none");
        c.created = c.last_used = (int64_t)time(NULL);
        STRV_FOREACH (a, aliases)
                if (r >= 0 && strv_extend(&c.aliases, *a) < 0)
                        r = -ENOMEM;
        if (r >= 0 && (!c.source || !c.protocol || !c.verified))
                r = -ENOMEM;
        if (r == -ENOMEM && !(err && *err))
                r = lodge_error_set(err, ENOMEM, "import");
        if (r >= 0)
                r = cache_commit(images_fd, stage, stage_fd, &c, err);
        if (r < 0) {
                cache_unstage(images_fd, stage);
                return r;
        }
        *ret = c;
        c = (struct lodge_image){ 0 };
        return 0;
}

int lodge_template_image_resolve(const char *cache_dir, const char *ref, struct lodge_image *ret,
                                 struct lodge_error **err)
{
        cleanup_close int images_fd = cache_open(cache_dir, false, NULL);
        cleanup_close int lock = -EBADF;

        if (images_fd < 0)
                return lodge_error_set(err, ENOENT, "no image '%s' in the cache", ref);
        lock = cache_lock(images_fd, false, err);
        if (lock < 0)
                return lock;
        return cache_resolve(images_fd, ref, ret, err);
}

int lodge_template_image_remove(const char *cache_dir, const char *ref, struct lodge_error **err)
{
        CLEANUP(lodge_image_done) struct lodge_image c = { 0 };
        cleanup_close int images_fd = cache_open(cache_dir, false, NULL);
        cleanup_close int lock = -EBADF;
        int r;

        if (images_fd < 0)
                return lodge_error_set(err, ENOENT, "no image '%s' in the cache", ref);
        lock = cache_lock(images_fd, true, err);
        if (lock < 0)
                return lock;
        r = cache_resolve(images_fd, ref, &c, err);
        if (r < 0)
                return r;
        return cache_remove_locked(images_fd, c.fingerprint, err);
}

static bool same(const char *a, const char *b)
{
        return a && b && strcmp(a, b) == 0;
}

/* Has a newer build of the same image from the same server been cached? */
static bool superseded(const struct lodge_image *v, size_t n, size_t i)
{
        const struct lodge_image *a = &v[i];

        for (size_t j = 0; j < n; j++) {
                const struct lodge_image *b = &v[j];

                if (j != i && same(a->source, b->source) && same(a->dist, b->dist) &&
                    same(a->release, b->release) && same(a->arch, b->arch) &&
                    same(a->variant, b->variant) && a->build && b->build &&
                    strcmp(b->build, a->build) > 0)
                        return true;
        }
        return false;
}

int lodge_template_image_prune(const char *cache_dir, bool all, struct lodge_error **err)
{
        cleanup_close int images_fd = cache_open(cache_dir, false, NULL);
        cleanup_close int lock = -EBADF;
        struct lodge_image *v = NULL;
        int64_t now = (int64_t)time(NULL);
        size_t n = 0;
        int r, removed = 0;

        if (images_fd < 0)
                return 0;
        lock = cache_lock(images_fd, true, err);
        if (lock < 0)
                return lock;
        r = cache_prune_stale(images_fd, err);
        if (r < 0)
                return r;
        r = cache_list(images_fd, &v, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (!all && (v[i].expiry == 0 || v[i].expiry > now) && !superseded(v, n, i))
                        continue;
                r = cache_remove_locked(images_fd, v[i].fingerprint, err);
                if (r >= 0)
                        removed++;
        }
        lodge_image_list_free(v, n);
        return r < 0 ? r : removed;
}
