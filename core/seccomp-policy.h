/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: the guest's seccomp policy (security.seccomp), from lodge's
 * built-in default or a policy file (docs/seccomp.md), and the filter made
 * from it for init and attach. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/config.h"

#define SECCOMP_POLICY_MAX_SIZE 262144 /* bytes of a policy file: 256 KiB */
#define SECCOMP_POLICY_MAX_RULES 1024  /* rule lines of a policy file */
#define SECCOMP_POLICY_MAX_CMPS 256    /* argument comparisons in all its rules */
#define SECCOMP_NAME_MAX 64            /* with the NUL; syscall names are shorter */
#define SECCOMP_ARGS_MAX 6             /* a syscall's arguments, 0..5 */
#define SECCOMP_ERRNO_MAX 4094         /* the largest errno libseccomp can return */

enum seccomp_action_kind {
        SECCOMP_ALLOW,
        SECCOMP_ERRNO, /* fail with errnum, without running the call */
        SECCOMP_KILL,  /* kill the whole process (SIGSYS) */
};

struct seccomp_action {
        enum seccomp_action_kind kind;
        int errnum; /* SECCOMP_ERRNO: 1..SECCOMP_ERRNO_MAX */
};

enum seccomp_op {
        SECCOMP_OP_EQ,
        SECCOMP_OP_NE,
        SECCOMP_OP_LT,
        SECCOMP_OP_LE,
        SECCOMP_OP_GT,
        SECCOMP_OP_GE,
        SECCOMP_OP_MASKED_EQ, /* (arg & mask) == value */
};

/* "[arg OP value]". Values fit 32 bits: libseccomp would cut a larger one
 * down for the i386 ABI and compare something else there. */
struct seccomp_cmp {
        unsigned arg;
        enum seccomp_op op;
        uint32_t mask; /* SECCOMP_OP_MASKED_EQ only */
        uint32_t value;
};

/* "name action [cmp]...": the action applies when every comparison holds. */
struct seccomp_rule {
        char name[SECCOMP_NAME_MAX];
        bool optional; /* "name?": may be unknown here, then it is skipped */
        struct seccomp_action action;
        unsigned n_cmp;
        struct seccomp_cmp cmp[SECCOMP_ARGS_MAX];
        unsigned line; /* in the file; 0: from lodge's built-in default */
};

/* What to do with each syscall: the first rule list entry naming it (rules
 * for one syscall share their action), else default_action. */
struct seccomp_policy {
        char *filename; /* for messages: "FILE:LINE: ..." */
        struct seccomp_action default_action;
        struct seccomp_rule *rules;
        size_t n_rules;
};

/* lodge's built-in policy ("security.seccomp = default"): module loading,
 * kexec, handles to host inodes, userfaultfd, perf events, raw I/O ports,
 * swap, acct and, unless nesting, bpf fail with EPERM; the kernel keyring
 * with ENOSYS (so that systemd and others fall back); all else is allowed.
 * Free *ret with seccomp_policy_free(). */
int seccomp_policy_default(bool nesting, struct seccomp_policy **ret, struct lodge_error **err);

/* Parse len bytes of a policy file (docs/seccomp.md). "include default"
 * takes the built-in rules for the given nesting. filename is only for
 * messages. Every error is -EINVAL (-EFBIG when longer than
 * SECCOMP_POLICY_MAX_SIZE, -ENOMEM) with "FILE:LINE: why" and the line in
 * *reterr_line (may be NULL). Free *ret with seccomp_policy_free(). */
int seccomp_policy_parse(const char *text, size_t len, const char *filename, bool nesting,
                         struct seccomp_policy **ret, unsigned *reterr_line,
                         struct lodge_error **err);

/* Read and parse a policy file: a regular file (symlinks are followed) of
 * at most SECCOMP_POLICY_MAX_SIZE bytes, owned by root or by the caller and
 * writable by no one else (-EPERM otherwise: whoever can write it chooses
 * what the guest may do). */
int seccomp_policy_load(const char *path, bool nesting, struct seccomp_policy **ret,
                        struct lodge_error **err);

void seccomp_policy_free(struct seccomp_policy *p);
DEFINE_CLEANUP_FUNC(struct seccomp_policy *, seccomp_policy_free)

/* A compiled filter, ready to load. */
struct seccomp_filter;

/* Compile p for the native, i386 and x32 ABIs alike (a filter for x86_64
 * only is bypassed through int 0x80). -E2BIG when a policy file needs more
 * than the kernel's 4096 BPF instructions; libseccomp's errors say which
 * rule ("FILE:LINE"). */
int seccomp_filter_new(const struct seccomp_policy *p, struct seccomp_filter **ret,
                       struct lodge_error **err);

/* On the host, before the guest's namespaces are entered (the policy file
 * is a host path): read, check and compile the filter security.seccomp asks
 * for. *ret is NULL for "none". Everything a policy can get wrong fails
 * here, with -EINVAL and "FILE:LINE: why", so that a broken policy refuses
 * to start before anything was made. Built without libseccomp: -EOPNOTSUPP
 * unless "none". */
int seccomp_prepare(const struct lodge_config_security *sec, struct seccomp_filter **ret,
                    struct lodge_error **err);

void seccomp_filter_free(struct seccomp_filter *f);
DEFINE_CLEANUP_FUNC(struct seccomp_filter *, seccomp_filter_free)

/* Turn f into its BPF program once (NULL: nothing to do), so that the
 * processes that load it (seccomp_apply()) don't each generate it again. */
int seccomp_filter_compile(struct seccomp_filter *f, struct lodge_error **err);

/* The BPF program of f (NULL: an empty file, no filter) as file name in
 * dirfd, for attach: it then loads what the guest runs under, without
 * compiling the policy again (and as it was at start, not as it is now). */
int seccomp_filter_save(struct seccomp_filter *f, int dirfd, const char *name,
                        struct lodge_error **err);

/* What seccomp_filter_save() wrote, ready to apply (*ret NULL: no filter).
 * -ENOENT when there is no such file. */
int seccomp_filter_load_saved(int dirfd, const char *name, struct seccomp_filter **ret,
                              struct lodge_error **err);

/* In the guest's process, last before exec: load the filter (NULL: none).
 * Needs CAP_SYS_ADMIN or no_new_privs. */
int seccomp_apply(const struct seccomp_filter *f, struct lodge_error **err);

/* The most a BPF program takes: the kernel's 4096 instructions of 8 bytes. */
#define SECCOMP_PROGRAM_MAX (4096 * 8)

/* The compiled program of f (seccomp_filter_compile() first), *ret its
 * bytes; 0 for f NULL, no filter. For handing it to another process. */
size_t seccomp_filter_program(const struct seccomp_filter *f, const void **ret);

/* Load a program as seccomp_filter_program() gave it, len bytes (0: none),
 * as seccomp_apply() does. */
int seccomp_apply_program(const void *prog, size_t len, struct lodge_error **err);
