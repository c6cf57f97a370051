/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LXC's image index (meta/1.0/index-system), as a hostile server sends it.
 * Invariants: a parse fails with an error set, or every entry has all its
 * fields, paths that stay in the server's tree, and is found again by its
 * own names. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/error.h"
#include "templates/templates-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No component of path is "." or ".." (or only dots), none is empty but a
 * trailing one, and there is at most one leading '/'. */
static bool stays_in_tree(const char *path)
{
        const char *p = path[0] == '/' ? path + 1 : path;

        for (;;) {
                size_t len = strcspn(p, "/");

                if (len == 0 || strspn(p, ".") >= len)
                        return len == 0 && *p == '\0' && p != path && p[-1] == '/';
                p += len;
                if (*p == '\0')
                        return true;
                p++;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct lodge_error *err = NULL;
        struct image_entry *v = NULL;
        size_t n = 0;
        int r;

        r = index_lxc_parse((const char *)data, size, &v, &n, &err);
        if (r < 0) {
                if (!err || err->code != -r || v)
                        abort();
                lodge_error_free(&err);
                return 0;
        }
        if (err)
                abort();
        for (size_t i = 0; i < n; i++) {
                const struct image_entry *e = &v[i];

                if (!e->dist || !e->release || !e->arch || !e->variant || !e->build ||
                    !image_path_ok(e->rootfs.path) || !image_path_ok(e->meta.path) ||
                    !stays_in_tree(e->rootfs.path) || !stays_in_tree(e->meta.path))
                        abort();
                if (!image_entry_find(v, n, e->dist, e->release, e->arch, e->variant))
                        abort();
        }
        image_entries_free(v, n);
        return 0;
}
