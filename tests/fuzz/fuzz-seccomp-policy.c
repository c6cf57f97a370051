/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/seccomp-policy.h"

/* Invariants checked on every input:
 *  - parse either fails with -EINVAL ("fuzz:LINE: why", LINE within the
 *    input) or -EFBIG, or gives a policy whose rules are within the format's
 *    limits;
 *  - what the parser accepts, libseccomp compiles: no mistake is left to be
 *    found without its line in the guest's process. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* NOLINTBEGIN(bugprone-reserved-identifier): LeakSanitizer's hook has this name. */
const char *__lsan_default_suppressions(void);

/* libseccomp 2.5.4 loses some of its tree nodes (384 bytes) when three
 * rules for one syscall compare different arguments on several ABIs
 * ("[1 == 1]", "[1 == 2]", "[0 == 3]"): its leak, not ours, and bounded by
 * the rules of one short-lived command. Linked shared or static (then the
 * allocation is its zmalloc()). */
const char *__lsan_default_suppressions(void)
{
        return "leak:libseccomp.so\nleak:zmalloc\n";
}
/* NOLINTEND(bugprone-reserved-identifier) */

static void check_policy(const struct seccomp_policy *p)
{
        for (size_t i = 0; i < p->n_rules; i++) {
                const struct seccomp_rule *r = &p->rules[i];
                bool args[SECCOMP_ARGS_MAX] = { false };

                if (strnlen(r->name, SECCOMP_NAME_MAX) >= SECCOMP_NAME_MAX ||
                    r->n_cmp > SECCOMP_ARGS_MAX)
                        abort();
                if (r->action.kind == SECCOMP_ERRNO &&
                    (r->action.errnum < 1 || r->action.errnum > SECCOMP_ERRNO_MAX))
                        abort();
                for (unsigned c = 0; c < r->n_cmp; c++) {
                        if (r->cmp[c].arg >= SECCOMP_ARGS_MAX || args[r->cmp[c].arg])
                                abort();
                        args[r->cmp[c].arg] = true;
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        CLEANUP(seccomp_policy_freep) struct seccomp_policy *p = NULL;
        CLEANUP(seccomp_filter_freep) struct seccomp_filter *f = NULL;
        cleanup_error struct lodge_error *err = NULL;
        unsigned line = 0;
        int r;

        r = seccomp_policy_parse((const char *)data, size, "fuzz", size % 2, &p, &line, &err);
        if (r == -EFBIG)
                return 0;
        if (r < 0) {
                if (r != -EINVAL || p || !err || strncmp(err->msg, "fuzz:", 5) != 0 || line < 1 ||
                    line > size + 1)
                        abort();
                return 0;
        }
        check_policy(p);
        if (seccomp_filter_new(p, &f, &err) < 0)
                abort();
        return 0;
}
