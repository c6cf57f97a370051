/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image commands: the cache and the servers are templates/' business;
 * core gives them the paths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/core-internal.h"

int lodge_image_list(const struct lodge_paths *p, struct lodge_image **ret, size_t *ret_n,
                     struct lodge_error **err)
{
        return lodge_template_image_list(p->cache, ret, ret_n, err);
}

int lodge_image_template_cache_list(const struct lodge_paths *p,
                                    struct lodge_template_cache_entry **ret, size_t *ret_n,
                                    struct lodge_error **err)
{
        return lodge_template_cache_list(p->cache, ret, ret_n, err);
}

int lodge_image_list_remote(const struct lodge_paths *p, int argc, char **argv,
                            struct lodge_image **ret, size_t *ret_n, struct lodge_error **err)
{
        return lodge_template_image_remote(p->conf, argc, argv, ret, ret_n, err);
}

int lodge_image_pull(const struct lodge_paths *p, int argc, char **argv, lodge_progress_cb progress,
                     void *userdata, struct lodge_image *ret, char ***ret_warnings,
                     struct lodge_error **err)
{
        return lodge_template_image_pull(p->cache, p->conf, argc, argv, progress, userdata, ret,
                                         ret_warnings, err);
}

int lodge_image_import(const struct lodge_paths *p, const char *rootfs, const char *meta,
                       char *const *aliases, struct lodge_image *ret, struct lodge_error **err)
{
        return lodge_template_image_import(p->cache, rootfs, meta, aliases, ret, err);
}

/* Its layer goes with it, unless a guest is made from it: then neither goes. */
int lodge_image_remove(const struct lodge_paths *p, const char *ref, struct lodge_error **err)
{
        CLEANUP(lodge_image_done) struct lodge_image img = { 0 };
        cleanup_free char *key = NULL;
        struct root_dirs d = ROOT_DIRS_NULL;
        int r;

        r = lodge_template_image_resolve(p->cache, ref, &img, err);
        if (r < 0)
                return r;
        if (asprintf(&key, "download-%s", img.fingerprint) < 0)
                return lodge_error_set(err, ENOMEM, "name the layer");
        r = root_dirs_open(p, false, &d, err);
        if (r == -ENOENT) {
                lodge_error_free(err);
                r = 0;
        } else if (r >= 0) {
                r = layer_remove(p, &d, key, false, err);
                root_dirs_done(&d);
        }
        if (r < 0)
                return lodge_error_prefix(err, r, "image '%s' is in use", ref);
        return lodge_template_image_remove(p->cache, img.fingerprint, err);
}

/* The layers no guest uses go too: they are made again from the cache. */
int lodge_image_prune(const struct lodge_paths *p, bool all, unsigned *ret_layers,
                      struct lodge_error **err)
{
        struct root_dirs d = ROOT_DIRS_NULL;
        int r, n;

        *ret_layers = 0;
        n = lodge_template_image_prune(p->cache, all, err);
        if (n < 0)
                return n;
        r = root_dirs_open(p, false, &d, err);
        if (r == -ENOENT) {
                lodge_error_free(err);
                return n;
        }
        if (r >= 0) {
                r = layers_prune(p, &d, ret_layers, err);
                root_dirs_done(&d);
        }
        return r < 0 ? r : n;
}
