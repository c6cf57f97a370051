/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "core/seccomp-policy.h"

/* Built without libseccomp (-Dseccomp=disabled): only "none" can be honoured. */
int seccomp_prepare(const struct lodge_config_security *sec, struct seccomp_filter **ret,
                    struct lodge_error **err)
{
        if (sec->seccomp != LODGE_SECCOMP_NONE)
                return lodge_error_set(err, EOPNOTSUPP,
                                       "seccomp: this lodge was built without libseccomp "
                                       "(set security.seccomp = none to run without a filter)");
        *ret = NULL;
        return 0;
}

void seccomp_filter_free(struct seccomp_filter *f)
{
        (void)f; /* never made here */
}

int seccomp_apply(const struct seccomp_filter *f, struct lodge_error **err)
{
        (void)f; /* always NULL: seccomp_prepare() makes none */
        (void)err;
        return 0;
}
