/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "local" template: a rootfs tarball (and optionally an LXC meta tarball)
 * from the local disk. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "templates/templates-internal.h"

struct local_state {
        char *file;
        char *meta;
};

static void local_free_state(void *state)
{
        struct local_state *s = state;

        if (!s)
                return;
        free(s->file);
        free(s->meta);
        free(s);
}

static void local_state_freep(struct local_state **s)
{
        local_free_state(*s);
}

/* A missing or odd file is a usage error, caught before anything is made. */
static int check_file(const char *opt, const char *path, struct lodge_error **err)
{
        struct stat st;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT)
                        return lodge_error_set(err, ENOENT, "%s '%s' does not exist", opt, path);
                return lodge_error_set(err, errno, "%s '%s'", opt, path);
        }
        if (!S_ISREG(st.st_mode))
                return lodge_error_set(err, EINVAL, "%s '%s' is not a regular file", opt, path);
        return 0;
}

static int local_parse(int argc, char **argv, void **ret_state, struct lodge_error **err)
{
        static const struct option options[] = {
                { "file", required_argument, NULL, 'f' },
                { "meta", required_argument, NULL, 'm' },
                { 0 },
        };
        CLEANUP(local_state_freep) struct local_state *s = calloc(1, sizeof(*s));
        int c, r;

        if (!s)
                return lodge_error_set(err, ENOMEM, "parse arguments");
        optind = 0; /* a full reset: another parser ran before us */
        opterr = 0; /* the messages are ours */
        while ((c = getopt_long(argc, argv, "+:f:m:", options, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        r = template_set_once(&s->file, "--file", optarg, err);
                        break;
                case 'm':
                        r = template_set_once(&s->meta, "--meta", optarg, err);
                        break;
                case ':':
                        return lodge_error_set(err, EINVAL, "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        if (optopt)
                                return lodge_error_set(err, EINVAL, "unknown option '-%c'", optopt);
                        return lodge_error_set(err, EINVAL, "unknown option '%s'",
                                               argv[optind - 1]);
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc)
                return lodge_error_set(err, EINVAL, "unexpected argument '%s'", argv[optind]);
        if (!s->file)
                return lodge_error_set(err, EINVAL, "--file ROOTFS.tar is required");

        r = check_file("--file", s->file, err);
        if (r >= 0 && s->meta)
                r = check_file("--meta", s->meta, err);
        if (r < 0)
                return r;
        *ret_state = TAKE_PTR(s);
        return 0;
}

static int open_input(const char *opt, const char *path, struct lodge_error **err)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return lodge_error_set(err, errno, "%s: open '%s'", opt, path);
        return fd;
}

int image_unpack(const struct lodge_template_ctx *ctx, int rootfs_fd, const char *rootfs_name,
                 int meta_fd, const char *meta_name, struct lodge_template_result *res,
                 struct lodge_error **err)
{
        CLEANUP(image_meta_done) struct image_meta meta = { 0 };
        struct extract_options opts = { 0 };
        int r;

        /* The meta first: its excludes apply to the unpacking. */
        if (meta_fd >= 0) {
                r = meta_read(meta_fd, meta_name, &meta, err);
                if (r < 0)
                        return r;
        }

        opts.excludes = meta.excludes;
        opts.progress = ctx->progress;
        opts.userdata = ctx->userdata;
        if (!ctx->layered) {
                r = extract_archive(rootfs_fd, rootfs_name, ctx->rootfs_path, &opts, err);
                if (r < 0)
                        return r;
        }
        if (!res) /* a layer: the base tree only */
                return 0;

        r = meta_render_templates(ctx->rootfs_fd, ctx->name, meta.templates, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "'%s'", meta_name);

        res->config = TAKE_PTR(meta.config);
        res->warnings = TAKE_PTR(meta.warnings);
        res->message = TAKE_PTR(meta.create_message);
        return 0;
}

static int local_populate(const struct lodge_template_ctx *ctx, void *state,
                          struct lodge_template_result *res, struct lodge_error **err)
{
        const struct local_state *s = state;
        cleanup_close int meta_fd = -EBADF;
        cleanup_close int fd = -EBADF;

        if (s->meta) {
                meta_fd = open_input("--meta", s->meta, err);
                if (meta_fd < 0)
                        return meta_fd;
        }
        fd = open_input("--file", s->file, err);
        if (fd < 0)
                return fd;
        return image_unpack(ctx, fd, s->file, meta_fd, s->meta, res, err);
}

/* The tarballs' identity, not their content (hashing would cost time in
 * proportion to their size): device, inode, size and change time, which no
 * write can leave as it was. */
static int local_layer_key(const struct lodge_template_ctx *ctx, void *state, char **ret_key,
                           struct lodge_error **err)
{
        const struct local_state *s = state;
        struct stat st[2] = { 0 };
        int r;

        (void)ctx;
        for (int i = 0; i < 2; i++) {
                const char *path = i == 0 ? s->file : s->meta;

                if (path && stat(path, &st[i]) < 0)
                        return lodge_error_set(err, errno, "stat '%s'", path);
        }
        r = asprintf(ret_key, "local-%llx-%llx-%llx-%llx%09ld-%llx-%llx%09ld",
                     (unsigned long long)st[0].st_dev, (unsigned long long)st[0].st_ino,
                     (unsigned long long)st[0].st_size, (unsigned long long)st[0].st_ctim.tv_sec,
                     st[0].st_ctim.tv_nsec, (unsigned long long)st[1].st_ino,
                     (unsigned long long)st[1].st_ctim.tv_sec, st[1].st_ctim.tv_nsec);
        if (r < 0)
                return lodge_error_set(err, ENOMEM, "name the layer");
        return 0;
}

static int local_populate_layer(const struct lodge_template_ctx *ctx, void *state,
                                struct lodge_error **err)
{
        return local_populate(ctx, state, NULL, err);
}

const struct lodge_template_ops template_local_ops = {
        .name = "local",
        .summary = "unpack a rootfs tarball from the local disk",
        .usage = "--file ROOTFS.tar[.gz|.xz|.zst|.bz2] [--meta META.tar.xz]\n"
                 "  -f, --file ROOTFS   the root filesystem tarball (required); the compression\n"
                 "                      is detected from the content, not the name\n"
                 "  -m, --meta META     LXC image metadata: config (arch, init, environment),\n"
                 "                      templates (files that get the container name),\n"
                 "                      excludes-user and create-message\n",
        .parse = local_parse,
        .populate = local_populate,
        .free_state = local_free_state,
        .layer_key = local_layer_key,
        .populate_layer = local_populate_layer,
};
