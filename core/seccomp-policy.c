/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/seccomp-policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"

/* lodge's built-in policy, the one list behind "security.seccomp = default".
 * As strict as LXC's default, and then some (research/security.md G-06,
 * G-14, G-15, P-02). Names a kernel or ABI doesn't have are skipped. */
static const struct builtin_rule {
        const char *name;
        int errnum;
        bool unless_nesting; /* security.nesting = true allows it */
} builtin[] = {
        { "kexec_load", EPERM },
        { "kexec_file_load", EPERM },
        { "open_by_handle_at", EPERM },
        { "init_module", EPERM },
        { "finit_module", EPERM },
        { "delete_module", EPERM },
        { "userfaultfd", EPERM },
        { "perf_event_open", EPERM },
        { "iopl", EPERM },
        { "ioperm", EPERM },
        { "swapon", EPERM },
        { "swapoff", EPERM },
        { "acct", EPERM },
        { "lookup_dcookie", EPERM },
        { "quotactl_fd", EPERM },
        { "nfsservctl", EPERM },
        { "bpf", EPERM, .unless_nesting = true },
        /* ENOSYS, so that systemd and others fall back to working without. */
        { "keyctl", ENOSYS },
        { "add_key", ENOSYS },
        { "request_key", ENOSYS },
};

void seccomp_policy_free(struct seccomp_policy *p)
{
        if (!p)
                return;
        free(p->filename);
        free(p->rules);
        free(p);
}

static int rule_append(struct seccomp_policy *p, size_t *cap, const struct seccomp_rule *rule)
{
        if (p->n_rules == *cap) {
                size_t n = *cap ? *cap * 2 : 32;
                struct seccomp_rule *rules = reallocarray(p->rules, n, sizeof(*rules));

                if (!rules)
                        return -ENOMEM;
                p->rules = rules;
                *cap = n;
        }
        p->rules[p->n_rules++] = *rule;
        return 0;
}

/* The built-in rules, but for syscalls that p has rules of its own for. */
static int builtin_append(struct seccomp_policy *p, size_t *cap, bool nesting)
{
        size_t n_own = p->n_rules;

        for (size_t i = 0; i < ELEMENTSOF(builtin); i++) {
                struct seccomp_rule rule = {
                        .optional = true,
                        .action = { .kind = SECCOMP_ERRNO, .errnum = builtin[i].errnum },
                };
                bool own = false;

                if (nesting && builtin[i].unless_nesting)
                        continue;
                for (size_t j = 0; j < n_own && !own; j++)
                        own = strcmp(p->rules[j].name, builtin[i].name) == 0;
                if (own)
                        continue;
                snprintf(rule.name, sizeof(rule.name), "%s", builtin[i].name);
                if (rule_append(p, cap, &rule) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int seccomp_policy_default(bool nesting, struct seccomp_policy **ret, struct lodge_error **err)
{
        CLEANUP(seccomp_policy_freep) struct seccomp_policy *p = calloc(1, sizeof(*p));
        size_t cap = 0;

        if (!p || builtin_append(p, &cap, nesting) < 0)
                return lodge_error_set(err, ENOMEM, "seccomp: the default policy");
        p->default_action = (struct seccomp_action){ .kind = SECCOMP_ALLOW };
        *ret = TAKE_PTR(p);
        return 0;
}
