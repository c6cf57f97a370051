/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image commands: the cache and the servers are templates/' business;
 * core gives them the paths. */
#include "core/container.h"

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

int lodge_image_remove(const struct lodge_paths *p, const char *ref, struct lodge_error **err)
{
        return lodge_template_image_remove(p->cache, ref, err);
}

int lodge_image_prune(const struct lodge_paths *p, bool all, struct lodge_error **err)
{
        return lodge_template_image_prune(p->cache, all, err);
}
