/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <seccomp.h>

#include "core/base/cleanup.h"
#include "core/guest.h"

DEFINE_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release)

/* As strict as LXC's default, and then some (research/security.md G-06, G-14,
 * G-15, P-02). Names a kernel or ABI doesn't have are skipped. */
static const char *const deny_eperm[] = {
        "kexec_load",  "kexec_file_load", "open_by_handle_at",
        "init_module", "finit_module",    "delete_module",
        "userfaultfd", "perf_event_open", "iopl",
        "ioperm",      "swapon",          "swapoff",
        "acct",        "lookup_dcookie",  "quotactl_fd",
        "nfsservctl",
};
static const char *const deny_enosys[] = { "keyctl", "add_key", "request_key" };

static int deny(scmp_filter_ctx ctx, const char *name, int errnum, struct lodge_error **err)
{
        int nr = seccomp_syscall_resolve_name(name);
        int r;

        if (nr == __NR_SCMP_ERROR)
                return 0; /* not a syscall anywhere libseccomp knows */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((unsigned)errnum), nr, 0);
        if (r < 0 && r != -EDOM && r != -EFAULT) /* -EDOM: not on every ABI */
                return lodge_error_set(err, -r, "seccomp: deny %s", name);
        return 0;
}

int seccomp_apply(const struct lodge_config_security *sec, struct lodge_error **err)
{
        CLEANUP(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        static const uint32_t arches[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
        int r;

        if (sec->seccomp == LODGE_SECCOMP_NONE)
                return 0;
        if (sec->seccomp == LODGE_SECCOMP_FILE)
                return lodge_error_set(err, EOPNOTSUPP,
                                       "security.seccomp: policy files are not supported yet");

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return lodge_error_set(err, ENOMEM, "seccomp: create the filter");
        /* The guest can reach these too where the kernel has them: cover all. */
        if (seccomp_arch_native() == SCMP_ARCH_X86_64)
                for (size_t i = 0; i < ELEMENTSOF(arches); i++) {
                        r = seccomp_arch_add(ctx, arches[i]);
                        if (r < 0 && r != -EEXIST)
                                return lodge_error_set(err, -r, "seccomp: add an ABI");
                }
        /* Let processes without no_new_privs (setuid programs) keep working. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return lodge_error_set(err, -r, "seccomp: filter attributes");

        for (size_t i = 0; i < ELEMENTSOF(deny_eperm); i++)
                if ((r = deny(ctx, deny_eperm[i], EPERM, err)) < 0)
                        return r;
        for (size_t i = 0; i < ELEMENTSOF(deny_enosys); i++)
                if ((r = deny(ctx, deny_enosys[i], ENOSYS, err)) < 0)
                        return r;
        if (!sec->nesting && (r = deny(ctx, "bpf", EPERM, err)) < 0)
                return r;

        r = seccomp_load(ctx);
        if (r < 0)
                return lodge_error_set(err, -r, "seccomp: load the filter");
        return 0;
}
