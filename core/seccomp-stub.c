/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "core/guest.h"

/* Built without libseccomp (-Dseccomp=disabled): only "none" can be honoured. */
int seccomp_apply(const struct lodge_config_security *sec, struct lodge_error **err)
{
        if (sec->seccomp == LODGE_SECCOMP_NONE)
                return 0;
        return lodge_error_set(err, EOPNOTSUPP,
                               "seccomp: this lodge was built without libseccomp "
                               "(set security.seccomp = none to run without a filter)");
}
