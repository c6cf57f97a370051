/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Getting images: the server's index in either protocol, the files it names
 * downloaded and checked (sha256 and size for simplestreams, gpgv signatures
 * for LXC's), then committed to the cache; and the image commands (list,
 * pull, import, remove, prune) on top. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/host-conf.h"
#include "core/base/interrupt.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"

#define DEFAULT_SERVER "https://images.linuxcontainers.org"
#define INDEX_MAX (16ULL << 20)
#define IMAGES_JSON_MAX (64ULL << 20)
#define SIG_MAX (64ULL << 10)
#define FILE_MAX (16ULL << 30) /* when the index gives no size */
#define DEFAULT_TTL ((int64_t)24 * 3600)

/* The settings of a request after lodge.conf and the defaults. */
struct image_plan {
        const struct image_request *rq;
        char server[2048];
        char arch[64];
        const char *variant;
        char *conf_server, *conf_keyring, *conf_ca;
        const char *keyring, *ca;
        struct fetch_options fo;
};

static void image_plan_done(struct image_plan *pl)
{
        free(pl->conf_server);
        free(pl->conf_keyring);
        free(pl->conf_ca);
}

/* image.server, image.keyring and image.ca from lodge.conf (core/base/host-conf.h,
 * which checks the whole file). A missing file is fine. */
static int conf_read(const char *path, struct image_plan *pl, struct lodge_error **err)
{
        struct host_conf c;
        int r;

        r = host_conf_read(path, &c, err);
        if (r >= 0) {
                pl->conf_server = TAKE_PTR(c.image_server);
                pl->conf_keyring = TAKE_PTR(c.image_keyring);
                pl->conf_ca = TAKE_PTR(c.image_ca);
        }
        host_conf_done(&c);
        return r;
}

static int plan_request(const char *conf_path, const struct image_request *rq,
                        struct image_plan *pl, struct lodge_error **err)
{
        const char *server, *arch = rq->arch;
        struct utsname u;
        size_t n;
        int r;

        pl->rq = rq;
        r = conf_read(conf_path, pl, err);
        if (r < 0)
                return r;
        server = rq->server ? rq->server : pl->conf_server ? pl->conf_server : DEFAULT_SERVER;
        if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0 &&
            strncmp(server, "file:///", 8) != 0)
                return lodge_error_set(err, EINVAL, "image server '%s': not an http(s) or file URL",
                                       server);
        n = strlen(server);
        while (n > 0 && server[n - 1] == '/')
                n--;
        if (n >= sizeof(pl->server))
                return lodge_error_set(err, EINVAL, "image server URL too long");
        memcpy(pl->server, server, n);
        pl->server[n] = '\0';
        if (!arch && uname(&u) == 0)
                arch = u.machine;
        arch = image_arch_debian(arch) ? image_arch_debian(arch) : arch ? arch : "amd64";
        if (strlen(arch) >= sizeof(pl->arch))
                return lodge_error_set(err, EINVAL, "architecture '%s' too long", arch);
        memcpy(pl->arch, arch, strlen(arch) + 1);
        pl->variant = rq->variant ? rq->variant : "default";
        pl->keyring = rq->keyring ? rq->keyring : pl->conf_keyring;
        pl->ca = rq->ca ? rq->ca : pl->conf_ca;
        pl->fo = (struct fetch_options){ .ca = pl->ca, .allow_host_change = rq->allow_host_change };
        return 0;
}

static char *url_of(const struct image_plan *pl, const char *path)
{
        char *u = NULL;

        while (*path == '/')
                path++;
        if (asprintf(&u, "%s/%s", pl->server, path) < 0)
                return NULL;
        return u;
}

static int memfd_with(const char *buf, size_t len, struct lodge_error **err)
{
        int fd = memfd_create("lodge-index", MFD_CLOEXEC);

        if (fd < 0)
                return lodge_error_set(err, errno, "memfd_create");
        if (write_all(fd, buf, len) < 0) {
                close(fd);
                return lodge_error_set(err, EIO, "memfd write");
        }
        return fd;
}

/* The detached signature url.asc of what data_fd holds, checked. */
static int check_signature(const struct image_plan *pl, const char *url, int data_fd,
                           const char *what, struct lodge_error **err)
{
        cleanup_free char *sig_url = NULL, *sig = NULL;
        cleanup_close int sig_fd = -EBADF;
        size_t len = 0;
        int r;

        if (asprintf(&sig_url, "%s.asc", url) < 0)
                return lodge_error_set(err, ENOMEM, "signature URL");
        r = fetch_to_memory(sig_url, SIG_MAX, &pl->fo, &sig, &len, err);
        if (r == -ENOENT)
                return lodge_error_set(err, EBADMSG, "%s is not signed (no '%s')", what, sig_url);
        if (r < 0)
                return r;
        sig_fd = memfd_with(sig, len, err);
        if (sig_fd < 0)
                return sig_fd;
        return verify_signature(data_fd, sig_fd, pl->keyring, what, err);
}

static int index_lxc(const struct image_plan *pl, struct image_entry **ret, size_t *ret_n,
                     struct lodge_error **err)
{
        cleanup_free char *url = url_of(pl, "meta/1.0/index-system"), *buf = NULL;
        size_t len = 0;
        int r;

        if (!url)
                return lodge_error_set(err, ENOMEM, "index URL");
        r = fetch_to_memory(url, INDEX_MAX, &pl->fo, &buf, &len, err);
        if (r < 0)
                return r;
        if (!pl->rq->no_verify) {
                cleanup_close int fd = memfd_with(buf, len, err);

                if (fd < 0)
                        return fd;
                r = check_signature(pl, url, fd, "the LXC index", err);
                if (r < 0)
                        return r;
        }
        return index_lxc_parse(buf, len, ret, ret_n, err);
}

static int index_ss(const struct image_plan *pl, struct image_entry **ret, size_t *ret_n,
                    struct lodge_error **err)
{
        cleanup_free char *url = url_of(pl, "streams/v1/index.json"), *buf = NULL, *path = NULL;
        cleanup_free char *images_url = NULL;
        size_t len = 0;
        int r;

        if (!url)
                return lodge_error_set(err, ENOMEM, "index URL");
        r = fetch_to_memory(url, INDEX_MAX, &pl->fo, &buf, &len, err);
        if (r < 0)
                return r;
        r = index_ss_images_path(buf, len, &path, err);
        if (r < 0)
                return r;
        images_url = url_of(pl, path);
        if (!images_url)
                return lodge_error_set(err, ENOMEM, "index URL");
        free(buf);
        buf = NULL;
        r = fetch_to_memory(images_url, IMAGES_JSON_MAX, &pl->fo, &buf, &len, err);
        if (r < 0)
                return r;
        return index_ss_parse(buf, len, ret, ret_n, err);
}

/* Simplestreams first, LXC's index when the server has no simplestreams. */
static int fetch_index(const struct image_plan *pl, enum image_protocol *ret_proto,
                       struct image_entry **ret, size_t *ret_n, struct lodge_error **err)
{
        enum image_protocol p = pl->rq->protocol;
        int r;

        if (p != IMAGE_PROTOCOL_LXC) {
                cleanup_error struct lodge_error *e = NULL;

                r = index_ss(pl, ret, ret_n, &e);
                if (r >= 0 || p == IMAGE_PROTOCOL_SIMPLESTREAMS || r != -ENOENT) {
                        if (r < 0) {
                                *err = TAKE_PTR(e);
                                return r;
                        }
                        *ret_proto = IMAGE_PROTOCOL_SIMPLESTREAMS;
                        return r;
                }
        }
        r = index_lxc(pl, ret, ret_n, err);
        if (r >= 0)
                *ret_proto = IMAGE_PROTOCOL_LXC;
        return r;
}

/* The partial download images_fd/part, created if needed, locked. Another
 * lodge downloading the same file holds it: wait for it, and when it has
 * moved the file away meanwhile (into its image), start a new one. */
static int open_partial(int images_fd, const char *part, struct lodge_error **err)
{
        for (;;) {
                cleanup_close int fd = -EBADF;
                struct stat a, b;
                int r;

                fd = openat(images_fd, part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return lodge_error_set(err, errno, "create '%s' in the image cache", part);
                r = interrupt_flock(fd, LOCK_EX);
                if (r == -EINTR)
                        return lodge_error_set(err, EINTR, "interrupted");
                if (r < 0)
                        return lodge_error_set(err, -r, "lock '%s'", part);
                if (fstat(fd, &a) == 0 && fstatat(images_fd, part, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
                    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                        return TAKE_FD(fd);
        }
}

/* Download one file of the image into the staging directory as name, and
 * check it. A partial download is kept (hidden, for the next try to resume)
 * only when interrupted. */
static int download_file(const struct image_plan *pl, int images_fd, int stage_fd,
                         const struct image_file *f, const char *name, bool lxc,
                         lodge_template_progress_cb progress, void *userdata,
                         struct lodge_error **err)
{
        cleanup_free char *url = url_of(pl, f->path);
        cleanup_close int fd = -EBADF;
        struct fetch_options fo = pl->fo;
        const char *base = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
        char part[64], h[65];
        int r;

        if (!url)
                return lodge_error_set(err, ENOMEM, "image URL");
        {
                cleanup_close int ufd = memfd_with(url, strlen(url), err);

                if (ufd < 0)
                        return ufd;
                r = sha256_fds(&ufd, 1, h, NULL, err);
                if (r < 0)
                        return r;
        }
        snprintf(part, sizeof(part), CACHE_STAGE_PREFIX "part-%.32s", h);
        fd = open_partial(images_fd, part, err);
        if (fd < 0)
                return fd;
        fo.resume = true;
        fo.max_size = f->size ? f->size : FILE_MAX;
        fo.what = base;
        fo.progress = progress;
        fo.userdata = userdata;
        r = fetch_url(url, fd, &fo, err);
        if (r >= 0 && !pl->rq->no_verify) {
                if (lxc)
                        r = check_signature(pl, url, fd, base, err);
                else
                        r = verify_file(fd, f, base, err);
        }
        if (r < 0) {
                if (r != -EINTR)
                        (void)unlinkat(images_fd, part, 0);
                return r;
        }
        if (renameat(images_fd, part, stage_fd, name) < 0)
                return lodge_error_set(err, errno, "move '%s' into the image", base);
        return 0;
}

static int set_field(char **slot, const char *v, struct lodge_error **err)
{
        if (!v)
                return 0;
        *slot = strdup(v);
        return *slot ? 0 : lodge_error_set(err, ENOMEM, "image info");
}

static int64_t meta_expiry(int stage_fd)
{
        CLEANUP(image_meta_done) struct image_meta m = { 0 };
        cleanup_close int fd = openat(stage_fd, "meta", O_RDONLY | O_CLOEXEC);

        if (fd < 0 || meta_read(fd, "meta", &m, NULL) < 0)
                return 0;
        return m.expiry;
}

static int download_image(const struct image_plan *pl, int images_fd, enum image_protocol proto,
                          const struct image_entry *e, lodge_template_progress_cb progress,
                          void *userdata, struct lodge_image *ret, struct lodge_error **err)
{
        CLEANUP(lodge_image_done) struct lodge_image c = { 0 };
        bool lxc = proto == IMAGE_PROTOCOL_LXC;
        cleanup_close int stage_fd = -EBADF;
        char stage[32];
        int64_t now = (int64_t)time(NULL), expiry;
        int r;

        stage_fd = cache_stage(images_fd, stage, err);
        if (stage_fd < 0)
                return stage_fd;
        r = download_file(pl, images_fd, stage_fd, &e->rootfs, "rootfs", lxc, progress, userdata,
                          err);
        if (r >= 0 && e->meta.path)
                r = download_file(pl, images_fd, stage_fd, &e->meta, "meta", lxc, progress,
                                  userdata, err);
        if (r >= 0 && e->fingerprint && !pl->rq->no_verify) {
                cleanup_close int m = openat(stage_fd, "meta", O_RDONLY | O_CLOEXEC);
                cleanup_close int rf = openat(stage_fd, "rootfs", O_RDONLY | O_CLOEXEC);
                const int fds[2] = { m, rf };
                char fp[65];

                r = sha256_fds(fds, 2, fp, NULL, err);
                if (r >= 0 && strcmp(fp, e->fingerprint) != 0)
                        r = lodge_error_set(err, EBADMSG,
                                            "the image's fingerprint %s is not the index's %s", fp,
                                            e->fingerprint);
        }
        c.meta = !e->meta.path             ? LODGE_IMAGE_META_NONE
                 : (lxc || e->meta_is_lxc) ? LODGE_IMAGE_META_LXC
                                           : LODGE_IMAGE_META_INCUS;
        if (r >= 0)
                r = set_field(&c.source, pl->server, err);
        if (r >= 0)
                r = set_field(&c.protocol, lxc ? "lxc" : "simplestreams", err);
        if (r >= 0)
                r = set_field(&c.dist, e->dist, err);
        if (r >= 0)
                r = set_field(&c.release, e->release, err);
        if (r >= 0)
                r = set_field(&c.arch, e->arch, err);
        if (r >= 0)
                r = set_field(&c.variant, e->variant, err);
        if (r >= 0)
                r = set_field(&c.build, e->build, err);
        if (r >= 0)
                r = set_field(&c.verified,
                              pl->rq->no_verify ? "none"
                              : lxc             ? "gpg"
                                                : "sha256",
                              err);
        if (r < 0) {
                cache_unstage(images_fd, stage);
                return r;
        }
        expiry = c.meta == LODGE_IMAGE_META_LXC ? meta_expiry(stage_fd) : 0;
        c.created = c.last_used = now;
        c.expiry = expiry > now ? expiry : now + DEFAULT_TTL;
        r = cache_commit(images_fd, stage, stage_fd, &c, err);
        if (r < 0) {
                cache_unstage(images_fd, stage);
                return r;
        }
        *ret = c;
        c = (struct lodge_image){ 0 };
        return 0;
}

int image_get(const char *cache_dir, const char *conf_path, const struct image_request *rq,
              lodge_template_progress_cb progress, void *userdata, struct lodge_image *ret,
              bool *ret_downloaded, char ***ret_warnings, struct lodge_error **err)
{
        CLEANUP(image_plan_done) struct image_plan pl = { 0 };
        CLEANUP(lodge_image_done) struct lodge_image cached = { 0 };
        struct image_entry *v = NULL;
        size_t n = 0;
        cleanup_close int images_fd = -EBADF;
        enum image_protocol proto = IMAGE_PROTOCOL_AUTO;
        const struct image_entry *e;
        int64_t now = (int64_t)time(NULL);
        bool have;
        int r;

        r = plan_request(conf_path, rq, &pl, err);
        if (r < 0)
                return r;
        if (rq->no_verify && strv_extend(ret_warnings, "--no-verify: the image's signatures and "
                                                       "hashes are not checked") < 0)
                return lodge_error_set(err, ENOMEM, "warnings");
        images_fd = cache_open(cache_dir, true, err);
        if (images_fd < 0)
                return images_fd;
        have = cache_find(images_fd, pl.server, rq->dist, rq->release, pl.arch, pl.variant, &cached,
                          NULL) >= 0;
        if (have && !rq->refresh && (cached.expiry == 0 || cached.expiry > now)) {
                *ret = cached;
                cached = (struct lodge_image){ 0 };
                return 0;
        }

        r = fetch_index(&pl, &proto, &v, &n, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "image server '%s'", pl.server);
        e = image_entry_find(v, n, rq->dist, rq->release, pl.arch, pl.variant);
        if (!e) {
                r = lodge_error_set(err, ENOENT, "image server '%s' has no image %s/%s/%s/%s",
                                    pl.server, rq->dist, rq->release, pl.arch, pl.variant);
        } else if (have && cached.build && strcmp(cached.build, e->build) == 0) {
                /* Up to date: good for another while, without a download. */
                cached.expiry = now + DEFAULT_TTL;
                r = cache_update(images_fd, &cached, err);
                if (r >= 0) {
                        *ret = cached;
                        cached = (struct lodge_image){ 0 };
                }
        } else {
                r = download_image(&pl, images_fd, proto, e, progress, userdata, ret, err);
                if (r >= 0 && ret_downloaded)
                        *ret_downloaded = true;
                if (r < 0)
                        r = lodge_error_prefix(err, r, "image %s/%s/%s/%s", rq->dist, rq->release,
                                               pl.arch, pl.variant);
        }
        image_entries_free(v, n);
        return r;
}

int lodge_template_image_remote(const char *conf_path, int argc, char **argv,
                                struct lodge_image **ret, size_t *ret_n, struct lodge_error **err)
{
        CLEANUP(image_request_done) struct image_request rq = { 0 };
        CLEANUP(image_plan_done) struct image_plan pl = { 0 };
        struct image_entry *v = NULL;
        struct lodge_image *out;
        enum image_protocol proto = IMAGE_PROTOCOL_AUTO;
        size_t n = 0;
        int r;

        r = image_request_parse(argc, argv, false, &rq, err);
        if (r < 0)
                return r;
        r = plan_request(conf_path, &rq, &pl, err);
        if (r < 0)
                return r;
        r = fetch_index(&pl, &proto, &v, &n, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "image server '%s'", pl.server);
        out = calloc(n + 1, sizeof(*out));
        for (size_t i = 0; out && i < n; i++) {
                out[i] = (struct lodge_image){
                        .dist = TAKE_PTR(v[i].dist),
                        .release = TAKE_PTR(v[i].release),
                        .arch = TAKE_PTR(v[i].arch),
                        .variant = TAKE_PTR(v[i].variant),
                        .build = TAKE_PTR(v[i].build),
                        .source = strdup(pl.server),
                        .protocol = strdup(proto == IMAGE_PROTOCOL_LXC ? "lxc" : "simplestreams"),
                        .size = v[i].rootfs.size + v[i].meta.size,
                };
        }
        image_entries_free(v, n);
        if (!out)
                return lodge_error_set(err, ENOMEM, "image list");
        *ret = out;
        *ret_n = n;
        return 0;
}

int lodge_template_image_pull(const char *cache_dir, const char *conf_path, int argc, char **argv,
                              lodge_template_progress_cb progress, void *userdata,
                              struct lodge_image *ret, char ***ret_warnings,
                              struct lodge_error **err)
{
        CLEANUP(image_request_done) struct image_request rq = { 0 };
        int r;

        r = image_request_parse(argc, argv, true, &rq, err);
        if (r < 0)
                return r;
        return image_get(cache_dir, conf_path, &rq, progress, userdata, ret, NULL, ret_warnings,
                         err);
}
