/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* simplestreams index.json and images.json (and the JSON reader under them),
 * as a hostile server sends them. Invariants: a parse fails with an error
 * set, or every path stays in the server's tree and every item has a
 * well-formed sha256. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/error.h"
#include "core/base/json.h"
#include "templates/templates-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_file(const struct image_file *f)
{
        if (!image_path_ok(f->path) || strlen(f->sha256) != 64 ||
            strspn(f->sha256, "0123456789abcdef") != 64)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *text = (const char *)data;
        struct lodge_error *err = NULL;
        struct image_entry *v = NULL;
        struct json_value *doc = NULL;
        char *path = NULL;
        size_t n = 0;
        int r;

        if (json_parse(text, size, &doc) >= 0)
                json_free(doc);

        r = index_ss_images_path(text, size, &path, &err);
        if (r < 0) {
                if (!err || err->code != -r)
                        abort();
                lodge_error_free(&err);
        } else if (!image_path_ok(path)) {
                abort();
        }
        free(path);

        r = index_ss_parse(text, size, &v, &n, &err);
        if (r < 0) {
                if (!err || err->code != -r)
                        abort();
                lodge_error_free(&err);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                check_file(&v[i].rootfs);
                if (v[i].meta.path)
                        check_file(&v[i].meta);
        }
        image_entries_free(v, n);
        return 0;
}
