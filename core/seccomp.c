/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/seccomp-policy.h"

DEFINE_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release)

_Static_assert(SECCOMP_PROGRAM_MAX == BPF_MAXINSNS * sizeof(struct sock_filter),
               "SECCOMP_PROGRAM_MAX is the kernel's limit");

/* Compiled by libseccomp (ctx), or a BPF program saved at start (prog). */
struct seccomp_filter {
        scmp_filter_ctx ctx;
        struct sock_filter *prog;
        size_t n;
};

void seccomp_filter_free(struct seccomp_filter *f)
{
        if (!f)
                return;
        if (f->ctx)
                seccomp_release(f->ctx);
        free(f->prog);
        free(f);
}

static uint32_t scmp_action(const struct seccomp_action *a)
{
        switch (a->kind) {
        case SECCOMP_ALLOW:
                return SCMP_ACT_ALLOW;
        case SECCOMP_ERRNO:
                return SCMP_ACT_ERRNO((uint32_t)a->errnum);
        case SECCOMP_KILL:
                break;
        }
        return SCMP_ACT_KILL_PROCESS;
}

static enum scmp_compare scmp_op(enum seccomp_op op)
{
        switch (op) {
        case SECCOMP_OP_EQ:
                return SCMP_CMP_EQ;
        case SECCOMP_OP_NE:
                return SCMP_CMP_NE;
        case SECCOMP_OP_LT:
                return SCMP_CMP_LT;
        case SECCOMP_OP_LE:
                return SCMP_CMP_LE;
        case SECCOMP_OP_GT:
                return SCMP_CMP_GT;
        case SECCOMP_OP_GE:
                return SCMP_CMP_GE;
        case SECCOMP_OP_MASKED_EQ:
                break;
        }
        return SCMP_CMP_MASKED_EQ;
}

/* "FILE:LINE" of a rule, or where the built-in ones come from. */
static const char *rule_origin(const struct seccomp_policy *p, const struct seccomp_rule *rule,
                               char buf[static 300])
{
        if (!p->filename || rule->line == 0)
                return "lodge's default seccomp policy";
        snprintf(buf, 300, "%.250s:%u", p->filename, rule->line);
        return buf;
}

static int rule_add(scmp_filter_ctx ctx, const struct seccomp_policy *p,
                    const struct seccomp_rule *rule, struct lodge_error **err)
{
        struct scmp_arg_cmp cmp[SECCOMP_ARGS_MAX];
        uint32_t action = scmp_action(&rule->action);
        int nr = seccomp_syscall_resolve_name(rule->name);
        char buf[300];
        int r;

        if (nr == __NR_SCMP_ERROR)
                return 0; /* "name?" that this libseccomp doesn't know: the parser checked */
        /* libseccomp refuses rules that do what the default does anyway. */
        if (action == scmp_action(&p->default_action))
                return 0;
        for (unsigned i = 0; i < rule->n_cmp; i++) {
                const struct seccomp_cmp *c = &rule->cmp[i];

                cmp[i] = (struct scmp_arg_cmp){
                        .arg = c->arg,
                        .op = scmp_op(c->op),
                        .datum_a = c->op == SECCOMP_OP_MASKED_EQ ? c->mask : c->value,
                        .datum_b = c->op == SECCOMP_OP_MASKED_EQ ? c->value : 0,
                };
        }
        r = seccomp_rule_add_array(ctx, action, nr, rule->n_cmp, cmp);
        /* -EDOM, -EFAULT: not placeable on every ABI, which "name?" allows. */
        if (r < 0 && rule->optional && (r == -EDOM || r == -EFAULT))
                return 0;
        if (r < 0)
                return lodge_error_set(err, -r, "%s: seccomp rule for '%s'",
                                       rule_origin(p, rule, buf), rule->name);
        return 0;
}

/* A policy file can ask for more than the kernel loads: say so now, not in
 * the guest's process. */
static int check_size(scmp_filter_ctx ctx, const struct seccomp_policy *p, struct lodge_error **err)
{
        cleanup_close int fd = memfd_create("lodge-seccomp", MFD_CLOEXEC);
        struct stat st;
        int r;

        if (fd < 0)
                return lodge_error_set(err, errno, "seccomp: compile the filter");
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return lodge_error_set(err, -r, "%s: compile the seccomp filter", p->filename);
        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "seccomp: compile the filter");
        if ((size_t)st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return lodge_error_set(err, E2BIG,
                                       "%s: the seccomp filter needs %zu instructions, the "
                                       "kernel takes %d",
                                       p->filename, (size_t)st.st_size / sizeof(struct sock_filter),
                                       BPF_MAXINSNS);
        return 0;
}

int seccomp_filter_new(const struct seccomp_policy *p, struct seccomp_filter **ret,
                       struct lodge_error **err)
{
        static const uint32_t compat[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
        CLEANUP(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        struct seccomp_filter *f;
        int r;

        ctx = seccomp_init(scmp_action(&p->default_action));
        if (!ctx)
                return lodge_error_set(err, ENOMEM, "seccomp: create the filter");
        /* The guest can reach these too where the kernel has them: cover all. */
        if (seccomp_arch_native() == SCMP_ARCH_X86_64)
                for (size_t i = 0; i < ELEMENTSOF(compat); i++) {
                        r = seccomp_arch_add(ctx, compat[i]);
                        if (r < 0 && r != -EEXIST)
                                return lodge_error_set(err, -r, "seccomp: add an ABI");
                }
        /* Let processes without no_new_privs (setuid programs) keep working. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return lodge_error_set(err, -r, "seccomp: filter attributes");

        for (size_t i = 0; i < p->n_rules; i++) {
                r = rule_add(ctx, p, &p->rules[i], err);
                if (r < 0)
                        return r;
        }
        if (p->filename) {
                r = check_size(ctx, p, err);
                if (r < 0)
                        return r;
        }

        f = calloc(1, sizeof(*f));
        if (!f)
                return lodge_error_set(err, ENOMEM, "seccomp: create the filter");
        f->ctx = TAKE_PTR(ctx);
        *ret = f;
        return 0;
}

int seccomp_prepare(const struct lodge_config_security *sec, struct seccomp_filter **ret,
                    struct lodge_error **err)
{
        CLEANUP(seccomp_policy_freep) struct seccomp_policy *p = NULL;
        int r;

        switch (sec->seccomp) {
        case LODGE_SECCOMP_NONE:
                *ret = NULL;
                return 0;
        case LODGE_SECCOMP_FILE:
                r = seccomp_policy_load(sec->seccomp_path, sec->nesting, &p, err);
                break;
        case LODGE_SECCOMP_DEFAULT:
        default:
                r = seccomp_policy_default(sec->nesting, &p, err);
                break;
        }
        if (r < 0)
                return r;
        return seccomp_filter_new(p, ret, err);
}

int seccomp_apply_program(const void *prog, size_t len, struct lodge_error **err)
{
        struct sock_fprog fprog = { .filter = (struct sock_filter *)prog };

        if (len == 0)
                return 0;
        if (len % sizeof(struct sock_filter) != 0 || len > SECCOMP_PROGRAM_MAX)
                return lodge_error_set(err, EINVAL, "seccomp: a program of %zu bytes", len);
        fprog.len = (unsigned short)(len / sizeof(struct sock_filter));
        /* prctl: the same as seccomp(SECCOMP_SET_MODE_FILTER, 0), and known to
         * more tools (valgrind 3.19 has no seccomp(2)). */
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0)
                return lodge_error_set(err, errno, "seccomp: load the filter");
        return 0;
}

size_t seccomp_filter_program(const struct seccomp_filter *f, const void **ret)
{
        *ret = f ? f->prog : NULL;
        return f && f->prog ? f->n * sizeof(struct sock_filter) : 0;
}

int seccomp_apply(const struct seccomp_filter *f, struct lodge_error **err)
{
        int r;

        if (!f)
                return 0;
        if (f->prog)
                return seccomp_apply_program(f->prog, f->n * sizeof(struct sock_filter), err);
        r = seccomp_load(f->ctx);
        if (r < 0)
                return lodge_error_set(err, -r, "seccomp: load the filter");
        return 0;
}

int seccomp_filter_compile(struct seccomp_filter *f, struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;
        cleanup_free char *buf = NULL;
        struct stat st;
        int r;

        if (!f || f->prog)
                return 0;
        fd = memfd_create("lodge-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return lodge_error_set(err, errno, "seccomp: compile the filter");
        r = seccomp_export_bpf(f->ctx, fd);
        if (r < 0)
                return lodge_error_set(err, -r, "seccomp: compile the filter");
        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "seccomp: compile the filter");
        if (st.st_size == 0 || st.st_size % (off_t)sizeof(struct sock_filter) != 0 ||
            st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
                return lodge_error_set(err, E2BIG, "seccomp: a filter of %lld bytes",
                                       (long long)st.st_size);
        buf = malloc((size_t)st.st_size);
        if (!buf)
                return lodge_error_set(err, ENOMEM, "seccomp: compile the filter");
        if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
                return lodge_error_set(err, errno ? errno : EIO, "seccomp: compile the filter");
        f->prog = (struct sock_filter *)TAKE_PTR(buf);
        f->n = (size_t)st.st_size / sizeof(struct sock_filter);
        return 0;
}

int seccomp_filter_save(struct seccomp_filter *f, int dirfd, const char *name,
                        struct lodge_error **err)
{
        int r;

        if (!f)
                return write_file_replace_at(dirfd, name, "", 0, 0600, err);
        r = seccomp_filter_compile(f, err);
        if (r < 0)
                return r;
        return write_file_replace_at(dirfd, name, f->prog, f->n * sizeof(struct sock_filter), 0600,
                                     err);
}

int seccomp_filter_load_saved(int dirfd, const char *name, struct seccomp_filter **ret,
                              struct lodge_error **err)
{
        cleanup_free char *buf = NULL;
        struct seccomp_filter *f;
        size_t len = 0;
        int r;

        r = read_file_at(dirfd, name, BPF_MAXINSNS * sizeof(struct sock_filter), &buf, &len, NULL);
        if (r == -ENOENT)
                return r;
        if (r < 0 || len % sizeof(struct sock_filter) != 0)
                return lodge_error_set(err, r < 0 ? -r : EINVAL, "seccomp: the saved filter '%s'",
                                       name);
        if (len == 0) {
                *ret = NULL;
                return 0;
        }
        f = calloc(1, sizeof(*f));
        if (!f)
                return lodge_error_set(err, ENOMEM, "seccomp: the saved filter");
        f->prog = (struct sock_filter *)TAKE_PTR(buf);
        f->n = len / sizeof(struct sock_filter);
        *ret = f;
        return 0;
}
