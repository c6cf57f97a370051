/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LXC's image index (meta/1.0/index-system), as a hostile server sends it.
 * Invariants: a parse fails with an error set, or every entry has all its
 * fields, paths that stay in the server's tree, and is found again by its
 * own names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/error.h"
#include "templates/templates-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
                    strstr(e->rootfs.path, ".."))
                        abort();
                if (!image_entry_find(v, n, e->dist, e->release, e->arch, e->variant))
                        abort();
        }
        image_entries_free(v, n);
        return 0;
}
