/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "storage/storage.h"

#include <string.h>

#include "storage/storage-internal.h"

static const struct lodge_storage_ops *const backends[] = {
        &storage_dir_ops,
};

const struct lodge_storage_ops *lodge_storage_find(const char *name)
{
        for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
                if (strcmp(backends[i]->name, name) == 0)
                        return backends[i];
        return NULL;
}
