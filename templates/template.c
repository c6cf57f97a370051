/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "templates/template.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/strv.h"
#include "templates/templates-internal.h"

static const struct lodge_template_ops *const templates[] = {
        &template_local_ops,
        &template_busybox_ops,
        &template_debian_ops,
        &template_download_ops,
        NULL,
};

const struct lodge_template_ops *lodge_template_find(const char *name)
{
        for (size_t i = 0; templates[i]; i++)
                if (strcmp(templates[i]->name, name) == 0)
                        return templates[i];
        return NULL;
}

const struct lodge_template_ops *const *lodge_template_all(void)
{
        return templates;
}

void lodge_template_result_done(struct lodge_template_result *r)
{
        strv_free(r->config);
        strv_free(r->warnings);
        free(r->message);
        *r = (struct lodge_template_result){ 0 };
}

int template_set_once(char **slot, const char *opt, const char *value, struct lodge_error **err)
{
        if (*slot)
                return lodge_error_set(err, EINVAL, "%s given twice", opt);
        *slot = strdup(value);
        if (!*slot)
                return lodge_error_set(err, ENOMEM, "%s", opt);
        return 0;
}
