/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image cache: $LODGE_CACHE/images/<fingerprint>/{rootfs,meta,info},
 * fingerprint = sha256(meta || rootfs) of what is stored. An image is staged
 * in a hidden .tmp-* directory and renamed into place only once checked and
 * complete, so a reader never sees half an image and an interrupted download
 * leaves none. Writers (commit, remove, prune) hold .lock exclusively; users
 * of an image (create) hold it shared while they read it.
 *
 * It lives in templates/ and not storage/ because it holds nothing but
 * downloaded or imported files that templates unpack, and templates/ may not
 * call storage/ (the download template needs it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/interrupt.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"

#define INFO_MAX (64U << 10)

void lodge_image_done(struct lodge_image *c)
{
        if (!c)
                return;
        free(c->fingerprint);
        free(c->source);
        free(c->protocol);
        free(c->dist);
        free(c->release);
        free(c->arch);
        free(c->variant);
        free(c->build);
        free(c->verified);
        strv_free(c->aliases);
        *c = (struct lodge_image){ 0 };
}

void lodge_image_list_free(struct lodge_image *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                lodge_image_done(&v[i]);
        free(v);
}

int cache_open(const char *cache_dir, bool create, struct lodge_error **err)
{
        cleanup_close int top = -EBADF;
        int fd;

        if (create) {
                cleanup_close int root = open("/", O_DIRECTORY | O_CLOEXEC);
                bool abs = cache_dir[0] == '/';

                if (abs && root < 0)
                        return lodge_error_set(err, errno, "open '/'");
                top = mkdir_p_at(abs ? root : AT_FDCWD, abs ? cache_dir + 1 : cache_dir, 0755);
                if (top < 0)
                        return lodge_error_set(err, -top, "image cache '%s'", cache_dir);
                fd = mkdir_p_at(top, "images", 0755);
        } else {
                top = open(cache_dir, O_DIRECTORY | O_CLOEXEC);
                if (top < 0)
                        return lodge_error_set(err, errno, "image cache '%s'", cache_dir);
                fd = open_dir_at(top, "images");
        }
        if (fd < 0)
                return lodge_error_set(err, -fd, "image cache '%s/images'", cache_dir);
        return fd;
}

int cache_lock(int images_fd, bool exclusive, struct lodge_error **err)
{
        int fd = openat(images_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        int r;

        if (fd < 0)
                return lodge_error_set(err, errno, "open the image cache's lock");
        r = interrupt_flock(fd, exclusive ? LOCK_EX : LOCK_SH);
        if (r < 0) {
                close(fd);
                if (r == -EINTR)
                        return lodge_error_set(err, EINTR,
                                               "interrupted waiting for the image cache's lock");
                return lodge_error_set(err, -r, "lock the image cache");
        }
        return fd;
}

static bool is_fingerprint(const char *s)
{
        if (!s || strlen(s) != 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static int set_str(char **slot, const char *v)
{
        free(*slot);
        *slot = strdup(v);
        return *slot ? 0 : -ENOMEM;
}

static int parse_info(char *text, struct lodge_image *c)
{
        char *save = NULL;
        int r = 0;

        for (char *line = strtok_r(text, "\n", &save); line && r >= 0;
             line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                const char *k = line, *v;

                if (!eq)
                        return -EINVAL;
                *eq = '\0';
                v = eq + 1;
                if (strcmp(k, "version") == 0 && strcmp(v, "1") != 0)
                        return -EPROTO;
                if (strcmp(k, "fingerprint") == 0)
                        r = set_str(&c->fingerprint, v);
                else if (strcmp(k, "source") == 0)
                        r = set_str(&c->source, v);
                else if (strcmp(k, "protocol") == 0)
                        r = set_str(&c->protocol, v);
                else if (strcmp(k, "dist") == 0)
                        r = set_str(&c->dist, v);
                else if (strcmp(k, "release") == 0)
                        r = set_str(&c->release, v);
                else if (strcmp(k, "arch") == 0)
                        r = set_str(&c->arch, v);
                else if (strcmp(k, "variant") == 0)
                        r = set_str(&c->variant, v);
                else if (strcmp(k, "build") == 0)
                        r = set_str(&c->build, v);
                else if (strcmp(k, "verified") == 0)
                        r = set_str(&c->verified, v);
                else if (strcmp(k, "size") == 0)
                        c->size = strtoull(v, NULL, 10);
                else if (strcmp(k, "created") == 0)
                        c->created = strtoll(v, NULL, 10);
                else if (strcmp(k, "expiry") == 0)
                        c->expiry = strtoll(v, NULL, 10);
                else if (strcmp(k, "last_used") == 0)
                        c->last_used = strtoll(v, NULL, 10);
                else if (strcmp(k, "meta") == 0)
                        c->meta = strcmp(v, "lxc") == 0     ? LODGE_IMAGE_META_LXC
                                  : strcmp(v, "incus") == 0 ? LODGE_IMAGE_META_INCUS
                                                            : LODGE_IMAGE_META_NONE;
                else if (strcmp(k, "alias") == 0)
                        r = strv_extend(&c->aliases, v);
        }
        if (r < 0)
                return r;
        return is_fingerprint(c->fingerprint) ? 0 : -EINVAL;
}

int cache_read(int images_fd, const char *fingerprint, struct lodge_image *ret,
               struct lodge_error **err)
{
        struct lodge_image c = { 0 };
        cleanup_free char *text = NULL, *path = NULL;
        size_t len;
        int r;

        if (!is_fingerprint(fingerprint))
                return lodge_error_set(err, EINVAL, "'%s' is not an image fingerprint",
                                       fingerprint);
        if (asprintf(&path, "%s/info", fingerprint) < 0)
                return lodge_error_set(err, ENOMEM, "image '%s'", fingerprint);
        r = read_file_at(images_fd, path, INFO_MAX, &text, &len, NULL);
        if (r < 0)
                return lodge_error_set(err, -r, "image '%.12s'", fingerprint);
        r = parse_info(text, &c);
        if (r >= 0 && (!c.fingerprint || strcmp(c.fingerprint, fingerprint) != 0))
                r = -EINVAL;
        if (r < 0) {
                lodge_image_done(&c);
                return lodge_error_set(err, -r, "image '%.12s': a bad info file", fingerprint);
        }
        *ret = c;
        return 0;
}

static int emit(FILE *f, const char *k, const char *v)
{
        if (!v)
                return 0;
        if (strchr(v, '\n'))
                return -EINVAL;
        fprintf(f, "%s=%s\n", k, v);
        return 0;
}

int cache_write_info(int dirfd, const struct lodge_image *c, struct lodge_error **err)
{
        cleanup_free char *buf = NULL;
        size_t len = 0;
        int r = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return lodge_error_set(err, ENOMEM, "image info");
        fputs("version=1\n", f);
        r |= emit(f, "fingerprint", c->fingerprint);
        r |= emit(f, "source", c->source);
        r |= emit(f, "protocol", c->protocol);
        r |= emit(f, "dist", c->dist);
        r |= emit(f, "release", c->release);
        r |= emit(f, "arch", c->arch);
        r |= emit(f, "variant", c->variant);
        r |= emit(f, "build", c->build);
        r |= emit(f, "verified", c->verified);
        r |= emit(f, "meta",
                  c->meta == LODGE_IMAGE_META_LXC     ? "lxc"
                  : c->meta == LODGE_IMAGE_META_INCUS ? "incus"
                                                      : "none");
        fprintf(f,
                "size=%" PRIu64 "\ncreated=%" PRId64 "\nexpiry=%" PRId64 "\nlast_used=%" PRId64
                "\n",
                c->size, c->created, c->expiry, c->last_used);
        STRV_FOREACH (a, c->aliases)
                r |= emit(f, "alias", *a);
        if (fclose(f) != 0)
                return lodge_error_set(err, ENOMEM, "image info");
        if (r)
                return lodge_error_set(err, EINVAL, "image info: a value holds a newline");
        return write_file_atomic_at(dirfd, "info", buf, len, 0644, err);
}

int cache_list(int images_fd, struct lodge_image **ret, size_t *ret_n, struct lodge_error **err)
{
        struct lodge_image *v = NULL;
        size_t n = 0;
        DIR *d = opendir_fd(images_fd);

        if (!d)
                return lodge_error_set(err, errno, "image cache");
        for (struct dirent *de = readdir(d); de; de = readdir(d)) {
                struct lodge_image c = { 0 }, *grown;

                if (!is_fingerprint(de->d_name) || cache_read(images_fd, de->d_name, &c, NULL) < 0)
                        continue; /* hidden staging directories, strays */
                grown = reallocarray(v, n + 1, sizeof(*v));
                if (!grown) {
                        lodge_image_done(&c);
                        lodge_image_list_free(v, n);
                        closedir(d);
                        return lodge_error_set(err, ENOMEM, "image cache");
                }
                v = grown;
                v[n++] = c;
        }
        closedir(d);
        *ret = v;
        *ret_n = n;
        return 0;
}

int cache_resolve(int images_fd, const char *ref, struct lodge_image *ret, struct lodge_error **err)
{
        struct lodge_image *v = NULL;
        size_t n = 0, hits = 0, hit = 0;
        int r;

        r = cache_list(images_fd, &v, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (strv_contains(v[i].aliases, ref) ||
                    (strlen(ref) >= 8 && strncmp(v[i].fingerprint, ref, strlen(ref)) == 0)) {
                        hits++;
                        hit = i;
                }
        if (hits == 1) {
                *ret = v[hit];
                v[hit] = (struct lodge_image){ 0 };
        }
        lodge_image_list_free(v, n);
        if (hits == 0)
                return lodge_error_set(err, ENOENT, "no image '%s' in the cache", ref);
        if (hits > 1)
                return lodge_error_set(err, EINVAL, "'%s' names more than one image", ref);
        return 0;
}

int cache_find(int images_fd, const char *source, const char *dist, const char *release,
               const char *arch, const char *variant, struct lodge_image *ret,
               struct lodge_error **err)
{
        struct lodge_image *v = NULL;
        size_t n = 0, best = SIZE_MAX;
        int r;

        r = cache_list(images_fd, &v, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const struct lodge_image *c = &v[i];

                if (!c->source || !c->dist || !c->release || !c->arch || !c->variant ||
                    strcmp(c->source, source) != 0 || strcmp(c->dist, dist) != 0 ||
                    strcmp(c->release, release) != 0 || !image_arch_equal(c->arch, arch) ||
                    strcmp(c->variant, variant) != 0)
                        continue;
                if (best == SIZE_MAX ||
                    (c->build && v[best].build && strcmp(c->build, v[best].build) > 0))
                        best = i;
        }
        if (best != SIZE_MAX) {
                *ret = v[best];
                v[best] = (struct lodge_image){ 0 };
        }
        lodge_image_list_free(v, n);
        return best == SIZE_MAX ? -ENOENT : 0;
}

int cache_stage(int images_fd, char ret_name[static 32], struct lodge_error **err)
{
        for (int attempt = 0; attempt < 16; attempt++) {
                unsigned rnd = 0;
                int fd;

                if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                        return lodge_error_set(err, EIO, "get random bytes");
                snprintf(ret_name, 32, CACHE_STAGE_PREFIX "%08x", rnd);
                if (mkdirat(images_fd, ret_name, 0700) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return lodge_error_set(err, errno, "create '%s' in the image cache",
                                               ret_name);
                }
                fd = open_dir_at(images_fd, ret_name);
                if (fd < 0)
                        return lodge_error_set(err, -fd, "open '%s'", ret_name);
                /* Held as long as the fd is open: prune leaves it alone. */
                (void)flock(fd, LOCK_EX | LOCK_NB);
                return fd;
        }
        return lodge_error_set(err, EEXIST, "create a staging directory in the image cache");
}

void cache_unstage(int images_fd, const char *name)
{
        (void)rm_rf_at(images_fd, name, NULL);
}

int cache_commit(int images_fd, const char *stage, int stage_fd, struct lodge_image *c,
                 struct lodge_error **err)
{
        cleanup_close int rootfs = openat(stage_fd, "rootfs", O_RDONLY | O_CLOEXEC);
        cleanup_close int meta = openat(stage_fd, "meta", O_RDONLY | O_CLOEXEC);
        cleanup_close int lock = -EBADF;
        int fds[2], nfds = 0, r;
        char fp[65];
        struct stat st;

        if (rootfs < 0)
                return lodge_error_set(err, errno, "staged image: no rootfs");
        if (meta >= 0)
                fds[nfds++] = meta;
        fds[nfds++] = rootfs;
        r = sha256_fds(fds, (size_t)nfds, fp, &c->size, err);
        if (r < 0)
                return r;
        r = set_str(&c->fingerprint, fp);
        if (r < 0)
                return lodge_error_set(err, ENOMEM, "image info");
        lock = cache_lock(images_fd, true, err);
        if (lock < 0)
                return lock;
        if (fstatat(images_fd, fp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                /* The same content is there already: keep it, with both names. */
                struct lodge_image old = { 0 };
                cleanup_close int dir = -EBADF;

                r = cache_read(images_fd, fp, &old, err);
                if (r < 0)
                        return r;
                STRV_FOREACH (a, c->aliases)
                        if (!strv_contains(old.aliases, *a) && strv_extend(&old.aliases, *a) < 0)
                                r = -ENOMEM;
                if (c->expiry > old.expiry || c->expiry == 0)
                        old.expiry = c->expiry;
                old.last_used = c->last_used;
                dir = open_dir_at(images_fd, fp);
                if (r >= 0 && dir >= 0)
                        r = cache_write_info(dir, &old, err);
                else if (r >= 0)
                        r = lodge_error_set(err, -dir, "open image '%.12s'", fp);
                lodge_image_done(&old);
                cache_unstage(images_fd, stage);
                return r < 0 ? (err && *err ? r : lodge_error_set(err, -r, "image info")) : 0;
        }
        r = cache_write_info(stage_fd, c, err);
        if (r < 0)
                return r;
        if (syncfs(stage_fd) < 0)
                return lodge_error_set(err, errno, "sync the image to disk");
        if (renameat2(images_fd, stage, images_fd, fp, RENAME_NOREPLACE) < 0)
                return lodge_error_set(err, errno, "move image '%.12s' into the cache", fp);
        if (fsync(images_fd) < 0)
                return lodge_error_set(err, errno, "sync the image cache");
        return 0;
}

int cache_update(int images_fd, const struct lodge_image *c, struct lodge_error **err)
{
        cleanup_close int lock = cache_lock(images_fd, true, err);
        cleanup_close int dir = -EBADF;
        struct stat st;

        if (lock < 0)
                return lock;
        if (fstatat(images_fd, c->fingerprint, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return lodge_error_set(err, errno, "image '%.12s'", c->fingerprint);
        dir = open_dir_at(images_fd, c->fingerprint);
        if (dir < 0)
                return lodge_error_set(err, -dir, "image '%.12s'", c->fingerprint);
        return cache_write_info(dir, c, err);
}

int cache_remove_locked(int images_fd, const char *fingerprint, struct lodge_error **err)
{
        char tmp[80];

        /* Out of sight first, then removed: never half an image under its name. */
        snprintf(tmp, sizeof(tmp), CACHE_STAGE_PREFIX "rm-%s", fingerprint);
        if (renameat(images_fd, fingerprint, images_fd, tmp) < 0)
                return lodge_error_set(err, errno, "remove image '%.12s'", fingerprint);
        return rm_rf_at(images_fd, tmp, err);
}

int cache_prune_stale(int images_fd, struct lodge_error **err)
{
        unsigned removed = 0;
        DIR *d = opendir_fd(images_fd);

        if (!d)
                return lodge_error_set(err, errno, "image cache");
        /* Staging directories whose owner is gone: what an interrupted
         * download or remove left behind. */
        for (struct dirent *de = readdir(d); de; de = readdir(d)) {
                cleanup_close int sfd = -EBADF;

                if (strncmp(de->d_name, CACHE_STAGE_PREFIX, strlen(CACHE_STAGE_PREFIX)) != 0)
                        continue;
                /* A staging directory, or a partial download (a file). */
                sfd = openat(images_fd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
                if (sfd < 0 || flock(sfd, LOCK_EX | LOCK_NB) < 0)
                        continue; /* a download still running */
                if (rm_rf_at(images_fd, de->d_name, NULL) >= 0)
                        removed++;
        }
        closedir(d);
        return (int)removed;
}
