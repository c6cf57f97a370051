/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The front door of storage/: where a guest's root filesystem lives. A
 * backend works inside the container's directory it is handed. */

#include "core/base/error.h"

struct lodge_storage_ops {
        const char *name;
        /* Make an empty, writable rootfs at cdirfd/"rootfs"; returns its fd. */
        int (*create)(int cdirfd, struct lodge_error **err);
        /* Remove the backend's data in cdirfd (the caller removes the rest). */
        int (*destroy)(int cdirfd, struct lodge_error **err);
};

/* NULL when unknown. */
const struct lodge_storage_ops *lodge_storage_find(const char *name);
