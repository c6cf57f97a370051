/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Images from an image server, like lxc-create -t download and incus
 * launch images:…: the server's index (simplestreams, else LXC's), the
 * newest build of dist/release/arch/variant, downloaded into the cache
 * (image-get.c) and checked, then unpacked as the local template does. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"

void image_request_done(struct image_request *rq)
{
        if (!rq)
                return;
        free(rq->server);
        free(rq->dist);
        free(rq->release);
        free(rq->arch);
        free(rq->variant);
        free(rq->keyring);
        free(rq->ca);
        *rq = (struct image_request){ 0 };
}

/* The arguments, and once layer_key has found it, the image. */
struct download_state {
        struct image_request rq;
        struct lodge_image img;
        bool have_img, downloaded;
        char **warnings;
};

static void download_free_state(void *state)
{
        struct download_state *s = state;

        if (!s)
                return;
        image_request_done(&s->rq);
        lodge_image_done(&s->img);
        strv_free(s->warnings);
        free(s);
}

int image_request_parse(int argc, char **argv, bool need_image, struct image_request *rq,
                        struct lodge_error **err)
{
        static const struct option options[] = {
                { "dist", required_argument, NULL, 'd' },
                { "release", required_argument, NULL, 'r' },
                { "arch", required_argument, NULL, 'a' },
                { "variant", required_argument, NULL, 'V' },
                { "server", required_argument, NULL, 's' },
                { "keyring", required_argument, NULL, 'k' },
                { "ca", required_argument, NULL, 'C' },
                { "protocol", required_argument, NULL, 'p' },
                { "no-verify", no_argument, NULL, 'N' },
                { "refresh", no_argument, NULL, 'R' },
                { "allow-redirect-host", no_argument, NULL, 'H' },
                { 0 },
        };
        char *protocol = NULL;
        int c, r = 0;

        optind = 0;
        opterr = 0;
        while (r >= 0 && (c = getopt_long(argc, argv, "+:d:r:a:", options, NULL)) >= 0) {
                switch (c) {
                case 'd':
                        r = template_set_once(&rq->dist, "--dist", optarg, err);
                        break;
                case 'r':
                        r = template_set_once(&rq->release, "--release", optarg, err);
                        break;
                case 'a':
                        r = template_set_once(&rq->arch, "--arch", optarg, err);
                        break;
                case 'V':
                        r = template_set_once(&rq->variant, "--variant", optarg, err);
                        break;
                case 's':
                        r = template_set_once(&rq->server, "--server", optarg, err);
                        break;
                case 'k':
                        r = template_set_once(&rq->keyring, "--keyring", optarg, err);
                        break;
                case 'C':
                        r = template_set_once(&rq->ca, "--ca", optarg, err);
                        break;
                case 'p':
                        r = template_set_once(&protocol, "--protocol", optarg, err);
                        break;
                case 'N':
                        rq->no_verify = true;
                        break;
                case 'R':
                        rq->refresh = true;
                        break;
                case 'H':
                        rq->allow_host_change = true;
                        break;
                case ':':
                        r = lodge_error_set(err, EINVAL, "option '%s' needs a value",
                                            argv[optind - 1]);
                        break;
                default:
                        if (optopt)
                                r = lodge_error_set(err, EINVAL, "unknown option '-%c'", optopt);
                        else
                                r = lodge_error_set(err, EINVAL, "unknown option '%s'",
                                                    argv[optind - 1]);
                }
        }
        if (r >= 0 && protocol) {
                if (strcmp(protocol, "simplestreams") == 0)
                        rq->protocol = IMAGE_PROTOCOL_SIMPLESTREAMS;
                else if (strcmp(protocol, "lxc") == 0)
                        rq->protocol = IMAGE_PROTOCOL_LXC;
                else
                        r = lodge_error_set(err, EINVAL, "--protocol '%s': simplestreams or lxc",
                                            protocol);
        }
        free(protocol);
        if (r < 0)
                return r;
        if (optind < argc)
                return lodge_error_set(err, EINVAL, "unexpected argument '%s'", argv[optind]);
        if (need_image && (!rq->dist || !rq->release))
                return lodge_error_set(err, EINVAL, "--dist and --release are required");
        if (rq->server && strncmp(rq->server, "https://", 8) != 0 &&
            strncmp(rq->server, "http://", 7) != 0 && strncmp(rq->server, "file:///", 8) != 0)
                return lodge_error_set(err, EINVAL,
                                       "--server '%s': an https://, http:// or file:/// URL",
                                       rq->server);
        if (rq->server && strpbrk(rq->server, " \t\r\n?#"))
                return lodge_error_set(err, EINVAL, "--server '%s': not a plain URL", rq->server);
        if (rq->arch && !image_arch_debian(rq->arch))
                return lodge_error_set(err, EINVAL, "--arch '%s': an unknown architecture",
                                       rq->arch);
        return 0;
}

static int download_parse(int argc, char **argv, void **ret_state, struct lodge_error **err)
{
        struct download_state *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return lodge_error_set(err, ENOMEM, "parse arguments");
        r = image_request_parse(argc, argv, true, &s->rq, err);
        if (r < 0) {
                download_free_state(s);
                return r;
        }
        *ret_state = s;
        return 0;
}

/* Unpack a cached image, holding the cache's lock shared so that no prune
 * or remove takes it away meanwhile. */
static int unpack_cached(const struct lodge_template_ctx *ctx, int images_fd,
                         const struct lodge_image *img, struct lodge_template_result *res,
                         struct lodge_error **err)
{
        cleanup_close int lock = cache_lock(images_fd, false, err);
        cleanup_close int dir = -EBADF, rootfs = -EBADF, meta = -EBADF;
        int r;

        if (lock < 0)
                return lock;
        dir = openat(images_fd, img->fingerprint, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dir < 0)
                return lodge_error_set(err, errno, "image '%.12s'", img->fingerprint);
        rootfs = openat(dir, "rootfs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (rootfs < 0)
                return lodge_error_set(err, errno, "image '%.12s': rootfs", img->fingerprint);
        if (img->meta != LODGE_IMAGE_META_NONE) {
                meta = openat(dir, "meta", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (meta < 0)
                        return lodge_error_set(err, errno, "image '%.12s': meta", img->fingerprint);
        }
        r = image_unpack(ctx, rootfs, "rootfs", img->meta == LODGE_IMAGE_META_LXC ? meta : -EBADF,
                         "meta", res, err);
        if (r >= 0 && res && img->meta == LODGE_IMAGE_META_INCUS)
                r = incus_meta_apply(meta, ctx->rootfs_fd, ctx->name, &res->warnings, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "image '%.12s'", img->fingerprint);
        return 0;
}

/* The image, from the cache or the server, once per create. */
static int resolve(const struct lodge_template_ctx *ctx, struct download_state *s,
                   struct lodge_error **err)
{
        if (s->have_img)
                return 0;
        if (!ctx->cache_dir)
                return lodge_error_set(err, EINVAL, "no image cache directory");
        int r = image_get(ctx->cache_dir, ctx->conf_path, &s->rq, ctx->progress, ctx->userdata,
                          &s->img, &s->downloaded, &s->warnings, err);
        if (r < 0)
                return r;
        s->have_img = true;
        return 0;
}

/* Unpack the image (the tree, with res NULL: a layer), then note its use. */
static int unpack(const struct lodge_template_ctx *ctx, struct download_state *s,
                  struct lodge_template_result *res, struct lodge_error **err)
{
        cleanup_close int images_fd = -EBADF;
        int r;

        r = resolve(ctx, s, err);
        if (r < 0)
                return r;
        images_fd = cache_open(ctx->cache_dir, false, err);
        if (images_fd < 0)
                return images_fd;
        r = unpack_cached(ctx, images_fd, &s->img, res, err);
        if (r < 0 && s->downloaded && !ctx->layered && r != -EINTR && r != -ENOSPC &&
            r != -ENOMEM) {
                /* What the server sent can't be unpacked (a hostile or broken
                 * tarball): not kept to be tried again. */
                cleanup_close int lock = cache_lock(images_fd, true, NULL);

                if (lock >= 0)
                        (void)cache_remove_locked(images_fd, s->img.fingerprint, NULL);
        }
        if (r < 0)
                return r;
        s->img.last_used = (int64_t)time(NULL);
        (void)cache_update(images_fd, &s->img, NULL); /* a hint for prune only */
        return 0;
}

static int download_populate(const struct lodge_template_ctx *ctx, void *state,
                             struct lodge_template_result *res, struct lodge_error **err)
{
        struct download_state *s = state;
        int r = unpack(ctx, s, res, err);

        if (r < 0)
                return r;
        STRV_FOREACH (w, s->warnings)
                if (strv_extend(&res->warnings, *w) < 0)
                        return lodge_error_set(err, ENOMEM, "warnings");
        return 0;
}

/* An image's layer is named by its fingerprint: the same bytes, the same tree. */
static int download_layer_key(const struct lodge_template_ctx *ctx, void *state, char **ret_key,
                              struct lodge_error **err)
{
        struct download_state *s = state;
        int r = resolve(ctx, s, err);

        if (r < 0)
                return r;
        if (asprintf(ret_key, "download-%s", s->img.fingerprint) < 0)
                return lodge_error_set(err, ENOMEM, "name the layer");
        return 0;
}

static int download_populate_layer(const struct lodge_template_ctx *ctx, void *state,
                                   struct lodge_error **err)
{
        return unpack(ctx, state, NULL, err);
}

const struct lodge_template_ops template_download_ops = {
        .name = "download",
        .summary = "an image from an image server (simplestreams or LXC), cached",
        .usage = "--dist DIST --release RELEASE [--arch ARCH] [--variant VARIANT] [OPTIONS]\n"
                 "  -d, --dist DIST       distribution, e.g. debian\n"
                 "  -r, --release REL     release, e.g. bookworm\n"
                 "  -a, --arch ARCH       architecture (default: the host's; amd64 or x86_64…)\n"
                 "      --variant V       image variant (default: default)\n"
                 "      --server URL      https://, http:// or file:/// (default: image.server\n"
                 "                        in lodge.conf, else images.linuxcontainers.org)\n"
                 "      --protocol P      simplestreams or lxc (default: try simplestreams, then\n"
                 "                        lxc)\n"
                 "      --keyring FILE    OpenPGP keyring that signs an LXC server's files\n"
                 "                        (default: image.keyring in lodge.conf)\n"
                 "      --ca FILE         CA bundle for https (default: the system's)\n"
                 "      --no-verify       skip signature and hash checks (warns)\n"
                 "      --refresh         ask the server even when the cached image is fresh\n"
                 "      --allow-redirect-host  follow redirects to other hosts\n",
        .parse = download_parse,
        .populate = download_populate,
        .free_state = download_free_state,
        .layer_key = download_layer_key,
        .populate_layer = download_populate_layer,
};
