/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Incus metadata.yaml's templates and a template's rendering, as a hostile
 * image sends them. Invariants: a parse fails with an error set, or gives
 * absolute paths with a template name each; a render either refuses or
 * leaves no "{{" of its own making. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/error.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1), **l = NULL, *out = NULL;
        struct lodge_error *err = NULL;
        int r;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        r = incus_templates_parse(text, &l, &err);
        if (r < 0) {
                if (!err || err->code != -r || l)
                        abort();
                lodge_error_free(&err);
        }
        STRV_FOREACH (e, l)
                if ((*e)[0] != '/' || !(*e + strlen(*e) + 1)[0])
                        abort();
        strv_free(l);
        r = incus_template_render(text, "name", &out);
        if (r >= 0 && strlen(out) > strlen(text) + 64 * size)
                abort();
        free(out);
        free(text);
        return 0;
}
