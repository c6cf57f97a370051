/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "core/apparmor.h"

/* Built without libapparmor (-Dapparmor=disabled): profiles are still
 * generated, but never loaded or applied; the start says so, or refuses
 * with security.apparmor.required. */

int apparmor_host_check(const char **ret_why)
{
        if (ret_why)
                *ret_why = "this lodge was built without AppArmor support";
        return 0;
}

int apparmor_load(const char *file, const char *cache_dir, struct lodge_error **err)
{
        return lodge_error_set(err, EOPNOTSUPP, "load '%s': built without AppArmor support", file);
}

int apparmor_unload(const char *profile, struct lodge_error **err)
{
        return lodge_error_set(err, EOPNOTSUPP, "unload '%s': built without AppArmor support",
                               profile);
}

int apparmor_exec_label(const struct lodge_config_security *sec, const char *tag, const char *name,
                        struct lodge_error **err)
{
        return 0;
}
