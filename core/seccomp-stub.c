/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

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

size_t seccomp_filter_program(const struct seccomp_filter *f, const void **ret)
{
        (void)f; /* always NULL: seccomp_prepare() makes none */
        *ret = NULL;
        return 0;
}

int seccomp_apply_program(const void *prog, size_t len, struct lodge_error **err)
{
        (void)prog;
        if (len == 0)
                return 0;
        return lodge_error_set(err, EOPNOTSUPP, "seccomp: this lodge was built without libseccomp");
}

int seccomp_filter_compile(struct seccomp_filter *f, struct lodge_error **err)
{
        (void)f; /* always NULL: seccomp_prepare() makes none */
        (void)err;
        return 0;
}

int seccomp_filter_save(struct seccomp_filter *f, int dirfd, const char *name,
                        struct lodge_error **err)
{
        (void)f;
        (void)err;
        (void)unlinkat(dirfd, name, 0); /* attach then prepares its own: "none" */
        return 0;
}

int seccomp_filter_load_saved(int dirfd, const char *name, struct seccomp_filter **ret,
                              struct lodge_error **err)
{
        (void)dirfd;
        (void)name;
        (void)ret;
        (void)err;
        return -ENOENT;
}
