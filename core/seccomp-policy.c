/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/seccomp-policy.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"

/* lodge's built-in policy, the one list behind "security.seccomp = default"
 * and "include default". As strict as LXC's default, and then some
 * (research/security.md G-06, G-14, G-15, P-02). Names a kernel or ABI
 * doesn't have are skipped. */
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
        /* The new mount API: ENOSYS, so that mount(8), systemd and container
         * runtimes fall back to mount(2), which AppArmor mediates (it doesn't
         * mediate these on every kernel). Nested containers may use them. */
        { "fsopen", ENOSYS, .unless_nesting = true },
        { "fsconfig", ENOSYS, .unless_nesting = true },
        { "fsmount", ENOSYS, .unless_nesting = true },
        { "fspick", ENOSYS, .unless_nesting = true },
        { "move_mount", ENOSYS, .unless_nesting = true },
        { "open_tree", ENOSYS, .unless_nesting = true },
        { "mount_setattr", ENOSYS, .unless_nesting = true },
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

static const struct seccomp_rule *rule_find(const struct seccomp_policy *p, const char *name)
{
        for (size_t i = 0; i < p->n_rules; i++)
                if (strcmp(p->rules[i].name, name) == 0)
                        return &p->rules[i];
        return NULL;
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

/* ---- the policy file format (docs/seccomp.md) ---- */

struct parser {
        const char *filename;
        unsigned line;
        struct seccomp_policy *p;
        size_t cap;
        unsigned default_line; /* where "default" was, 0: not yet */
        unsigned include_line; /* where "include default" was, 0: not yet */
        size_t n_rules;        /* rule lines so far */
        size_t n_cmps;         /* argument comparisons so far */
        struct lodge_error **err;
};

/* "FILE:LINE: why", always -EINVAL. */
__attribute__((format(printf, 2, 3))) static int fail(struct parser *ps, const char *fmt, ...)
{
        char why[512];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        return lodge_error_set(ps->err, EINVAL, "%s:%u: %s", ps->filename, ps->line, why);
}

/* One line, without its newline. Tokens are words, "[", "]" and operators. */
struct cursor {
        const char *p, *end;
};

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

static bool is_word_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '?';
}

/* Past blanks, and at the end of the line or a comment? */
static bool at_end(struct cursor *c)
{
        while (c->p < c->end && is_blank(*c->p))
                c->p++;
        return c->p == c->end || *c->p == '#';
}

/* The next word (may be empty: then *c->p is what stands there instead). */
static size_t next_word(struct cursor *c, const char **ret)
{
        (void)at_end(c);
        *ret = c->p;
        while (c->p < c->end && is_word_char(*c->p))
                c->p++;
        return (size_t)(c->p - *ret);
}

static bool word_is(const char *w, size_t n, const char *lit)
{
        return n == strlen(lit) && memcmp(w, lit, n) == 0;
}

/* What stands at the cursor, for a message: "'x'", "the end of the line". */
static const char *describe(const struct cursor *c, char buf[static 32])
{
        unsigned char ch;

        if (c->p == c->end || *c->p == '#')
                return "the end of the line";
        ch = (unsigned char)*c->p;
        if (ch > 0x20 && ch < 0x7f)
                snprintf(buf, 32, "'%c'", ch);
        else
                snprintf(buf, 32, "byte 0x%02x", ch);
        return buf;
}

/* Words are made of is_word_char() characters only, so they print safely;
 * very long ones are cut. */
#define WORD_FMT "'%.*s%s'"
#define WORD_ARG(w, n) (int)((n) > 40 ? 40 : (n)), (w), ((n) > 40 ? "..." : "")

static int errno_from_name(const char *w, size_t n)
{
        static const struct {
                const char *name;
                int value;
        } aliases[] = {
                { "EWOULDBLOCK", EWOULDBLOCK },
                { "EDEADLOCK", EDEADLOCK },
                { "ENOTSUP", ENOTSUP },
        };

        /* glibc knows the names; errno values stop well before 256. */
        for (int e = 1; e < 256; e++) {
                const char *name = strerrorname_np(e);

                if (name && word_is(w, n, name))
                        return e;
        }
        for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
                if (word_is(w, n, aliases[i].name))
                        return aliases[i].value;
        return -1;
}

/* An unsigned decimal without leading zeros, or 0x and hex digits, up to max. */
static int parse_number(const char *w, size_t n, uint64_t max, uint64_t *ret)
{
        unsigned base = 10;
        uint64_t v = 0;
        size_t i = 0;

        if (n > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) {
                base = 16;
                i = 2;
        } else if (n == 0 || (n > 1 && w[0] == '0')) {
                return -EINVAL; /* "010": octal to C, decimal to others; say which */
        }
        for (; i < n; i++) {
                unsigned d;

                if (w[i] >= '0' && w[i] <= '9')
                        d = (unsigned)(w[i] - '0');
                else if (base == 16 && w[i] >= 'a' && w[i] <= 'f')
                        d = (unsigned)(w[i] - 'a' + 10);
                else if (base == 16 && w[i] >= 'A' && w[i] <= 'F')
                        d = (unsigned)(w[i] - 'A' + 10);
                else
                        return -EINVAL;
                if (v > (max - d) / base)
                        return -ERANGE;
                v = v * base + d;
        }
        *ret = v;
        return 0;
}

/* Words are not NUL-terminated: the text is whatever the file held. */
static bool all_digits(const char *w, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (w[i] < '0' || w[i] > '9')
                        return false;
        return true;
}

/* "allow", "kill", "errno NAME|N". */
static int parse_action(struct parser *ps, struct cursor *c, const char *after,
                        struct seccomp_action *ret)
{
        char buf[32];
        const char *w;
        size_t n = next_word(c, &w);
        uint64_t v;
        int r;

        if (n == 0)
                return fail(ps,
                            "expected an action after '%s' (allow, errno NAME|N or kill), got %s",
                            after, describe(c, buf));
        if (word_is(w, n, "allow")) {
                *ret = (struct seccomp_action){ .kind = SECCOMP_ALLOW };
                return 0;
        }
        if (word_is(w, n, "kill")) {
                *ret = (struct seccomp_action){ .kind = SECCOMP_KILL };
                return 0;
        }
        if (!word_is(w, n, "errno"))
                return fail(ps, "unknown action " WORD_FMT " (allow, errno NAME|N or kill)",
                            WORD_ARG(w, n));

        n = next_word(c, &w);
        if (n == 0)
                return fail(ps, "expected an errno name or number after 'errno', got %s",
                            describe(c, buf));
        if (w[0] >= '0' && w[0] <= '9') {
                r = all_digits(w, n) ? parse_number(w, n, UINT32_MAX, &v) : -EINVAL;
                if (r < 0 || v > SECCOMP_ERRNO_MAX)
                        return fail(ps, "errno " WORD_FMT " is not a number from 1 to %d",
                                    WORD_ARG(w, n), SECCOMP_ERRNO_MAX);
                if (v == 0)
                        return fail(ps, "errno 0 would make the call look successful without "
                                        "running it");
                *ret = (struct seccomp_action){ .kind = SECCOMP_ERRNO, .errnum = (int)v };
                return 0;
        }
        r = errno_from_name(w, n);
        if (r < 0)
                return fail(ps, "unknown errno name " WORD_FMT, WORD_ARG(w, n));
        *ret = (struct seccomp_action){ .kind = SECCOMP_ERRNO, .errnum = r };
        return 0;
}

static int parse_value(struct parser *ps, struct cursor *c, const char *what, uint32_t *ret)
{
        char buf[32];
        const char *w;
        size_t n = next_word(c, &w);
        uint64_t v;
        int r;

        if (n == 0)
                return fail(ps, "expected %s, got %s", what, describe(c, buf));
        r = parse_number(w, n, UINT64_MAX, &v);
        if (r == -ERANGE || (r == 0 && v > UINT32_MAX))
                return fail(ps,
                            "%s " WORD_FMT " is larger than 0xffffffff (the i386 ABI compares 32 "
                            "bits only)",
                            what, WORD_ARG(w, n));
        if (r < 0)
                return fail(ps, "%s " WORD_FMT " is not a number (decimal, or hex with 0x)", what,
                            WORD_ARG(w, n));
        *ret = (uint32_t)v;
        return 0;
}

/* The comparison operators, as written. */
static const struct {
        const char *text;
        enum seccomp_op op;
} ops[] = {
        { "==", SECCOMP_OP_EQ },       { "!=", SECCOMP_OP_NE }, { "<", SECCOMP_OP_LT },
        { "<=", SECCOMP_OP_LE },       { ">", SECCOMP_OP_GT },  { ">=", SECCOMP_OP_GE },
        { "&", SECCOMP_OP_MASKED_EQ },
};

/* "[ARG OP VALUE]" or "[ARG & MASK == VALUE]", blanks optional inside. */
static int parse_cmp(struct parser *ps, struct cursor *c, struct seccomp_cmp *ret)
{
        struct seccomp_cmp cmp = { 0 };
        const char *o;
        size_t n;
        uint32_t arg;
        bool found = false;
        char buf[32];
        int r;

        c->p++; /* '[' */
        r = parse_value(ps, c, "an argument number", &arg);
        if (r < 0)
                return r;
        if (arg >= SECCOMP_ARGS_MAX)
                return fail(ps, "argument %u: syscalls have arguments 0 to %d", arg,
                            SECCOMP_ARGS_MAX - 1);
        cmp.arg = arg;

        (void)at_end(c);
        for (o = c->p; c->p < c->end && *c->p != '\0' && strchr("=!<>&", *c->p); c->p++)
                ;
        n = (size_t)(c->p - o);
        if (n == 0)
                return fail(ps,
                            "expected an operator (==, !=, <, <=, >, >=, &) after argument %u, "
                            "got %s",
                            arg, describe(c, buf));
        for (size_t i = 0; i < ELEMENTSOF(ops) && !found; i++)
                if (word_is(o, n, ops[i].text)) {
                        cmp.op = ops[i].op;
                        found = true;
                }
        if (!found)
                return fail(ps, "unknown operator '%.*s' (==, !=, <, <=, >, >=, or & MASK ==)",
                            (int)n, o);

        if (cmp.op == SECCOMP_OP_MASKED_EQ) {
                r = parse_value(ps, c, "a mask", &cmp.mask);
                if (r < 0)
                        return r;
                (void)at_end(c);
                if (c->end - c->p < 2 || memcmp(c->p, "==", 2) != 0)
                        return fail(ps, "expected '==' after the mask, got %s", describe(c, buf));
                c->p += 2;
        }
        r = parse_value(ps, c, "a value", &cmp.value);
        if (r < 0)
                return r;
        if (at_end(c) || *c->p != ']')
                return fail(ps, "expected ']' to end the comparison, got %s", describe(c, buf));
        c->p++;
        *ret = cmp;
        return 0;
}

static bool action_equal(const struct seccomp_action *a, const struct seccomp_action *b)
{
        return a->kind == b->kind && (a->kind != SECCOMP_ERRNO || a->errnum == b->errnum);
}

/* The ABIs a filter covers: the native one and, on x86_64, i386 and x32. */
static size_t filter_arches(uint32_t ret[static 3])
{
        size_t n = 0;

        ret[n++] = seccomp_arch_native();
        if (ret[0] == SCMP_ARCH_X86_64) {
                ret[n++] = SCMP_ARCH_X86;
                ret[n++] = SCMP_ARCH_X32;
        }
        return n;
}

/* Known to libseccomp as a real syscall on one of the filter's ABIs? */
static bool syscall_known(const char *name)
{
        uint32_t arches[3];
        size_t n = filter_arches(arches);

        for (size_t i = 0; i < n; i++)
                if (seccomp_syscall_resolve_name_arch(arches[i], name) >= 0)
                        return true;
        return false;
}

/* The first operator of r other than == and "& MASK ==", or NULL. */
static const char *ordering_op(const struct seccomp_rule *r)
{
        for (unsigned i = 0; i < r->n_cmp; i++)
                if (r->cmp[i].op != SECCOMP_OP_EQ && r->cmp[i].op != SECCOMP_OP_MASKED_EQ)
                        for (size_t j = 0; j < ELEMENTSOF(ops); j++)
                                if (ops[j].op == r->cmp[i].op)
                                        return ops[j].text;
        return NULL;
}

/* libseccomp 2.5.4 loops forever in seccomp_rule_add() merging some rules
 * for one syscall that compare with !=, <, <=, > or >= ("[0 > 1] [1 >= 3]"
 * then "[0 > 1] [1 == 3]"), and where it doesn't, how the ranges combine is
 * hard to read off the file. One rule per syscall may use them all. */
static int check_several(struct parser *ps, const struct seccomp_rule *rule,
                         const struct seccomp_rule *prev)
{
        const char *op = ordering_op(rule);
        unsigned line = ps->line;

        for (size_t i = 0; !op && i < ps->p->n_rules; i++)
                if (strcmp(ps->p->rules[i].name, rule->name) == 0) {
                        op = ordering_op(&ps->p->rules[i]);
                        line = ps->p->rules[i].line;
                }
        if (!op)
                return 0;
        return fail(ps,
                    "several rules for '%s' (lines %u and %u) can only compare with == or "
                    "& MASK ==; line %u has '%s'",
                    rule->name, prev->line, ps->line, line, op);
}

static int check_rule(struct parser *ps, const struct seccomp_rule *rule)
{
        const struct seccomp_rule *prev;

        if (!rule->optional && !syscall_known(rule->name)) {
                if (seccomp_syscall_resolve_name(rule->name) == __NR_SCMP_ERROR)
                        return fail(ps,
                                    "unknown syscall '%s' (write '%s?' if it may be missing here)",
                                    rule->name, rule->name);
                return fail(ps,
                            "'%s' is not a syscall on %s (write '%s?' if it may be missing here)",
                            rule->name,
                            seccomp_arch_native() == SCMP_ARCH_X86_64 ? "x86_64, i386 or x32"
                                                                      : "this machine",
                            rule->name);
        }
        prev = rule_find(ps->p, rule->name);
        if (!prev)
                return 0;
        if (prev->n_cmp == 0 || rule->n_cmp == 0)
                return fail(ps,
                            "'%s' already has a rule on line %u (a syscall has one rule, or "
                            "several that all compare arguments)",
                            rule->name, prev->line);
        if (!action_equal(&prev->action, &rule->action))
                return fail(ps,
                            "'%s' has another action on line %u (the rules for one syscall share "
                            "their action)",
                            rule->name, prev->line);
        return check_several(ps, rule, prev);
}

/* "NAME[?] ACTION [CMP]...". */
static int parse_rule(struct parser *ps, struct cursor *c, const char *w, size_t n)
{
        struct seccomp_rule rule = { .line = ps->line };
        bool args[SECCOMP_ARGS_MAX] = { false };
        char buf[32];
        int r;

        if (n > 1 && w[n - 1] == '?') {
                rule.optional = true;
                n--;
        }
        for (size_t i = 0; i < n; i++)
                if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= '0' && w[i] <= '9') || w[i] == '_'))
                        return fail(ps, "unknown keyword or bad syscall name " WORD_FMT,
                                    WORD_ARG(w, n + rule.optional));
        if (n >= SECCOMP_NAME_MAX)
                return fail(ps, "syscall name " WORD_FMT " is too long", WORD_ARG(w, n));
        memcpy(rule.name, w, n);
        if (++ps->n_rules > SECCOMP_POLICY_MAX_RULES)
                return fail(ps, "more than %d rules", SECCOMP_POLICY_MAX_RULES);

        r = parse_action(ps, c, rule.name, &rule.action);
        if (r < 0)
                return r;
        while (!at_end(c)) {
                if (*c->p != '[')
                        return fail(ps,
                                    "expected '[ARG OP VALUE]' or the end of the line after the "
                                    "action, got %s",
                                    describe(c, buf));
                if (rule.n_cmp == SECCOMP_ARGS_MAX)
                        return fail(ps, "more than %d argument comparisons", SECCOMP_ARGS_MAX);
                r = parse_cmp(ps, c, &rule.cmp[rule.n_cmp]);
                if (r < 0)
                        return r;
                if (args[rule.cmp[rule.n_cmp].arg])
                        return fail(ps, "argument %u is compared twice", rule.cmp[rule.n_cmp].arg);
                args[rule.cmp[rule.n_cmp++].arg] = true;
                /* libseccomp's time to compile grows steeply with them (0.1 s for 256
                 * on one syscall, 35 s for 2048), and so would every start and attach. */
                if (++ps->n_cmps > SECCOMP_POLICY_MAX_CMPS)
                        return fail(ps, "more than %d argument comparisons",
                                    SECCOMP_POLICY_MAX_CMPS);
        }
        r = check_rule(ps, &rule);
        if (r < 0)
                return r;
        if (rule_append(ps->p, &ps->cap, &rule) < 0)
                return lodge_error_set(ps->err, ENOMEM, "%s: parse", ps->filename);
        return 0;
}

static int parse_header(struct parser *ps, struct cursor *c)
{
        char buf[32];
        const char *w;
        size_t n = next_word(c, &w);

        if (!word_is(w, n, "lodge-seccomp"))
                return fail(ps, "not a lodge seccomp policy: the first line must be "
                                "'lodge-seccomp 1'");
        n = next_word(c, &w);
        if (!word_is(w, n, "1"))
                return fail(ps, "unsupported format version " WORD_FMT " (this lodge reads 1)",
                            WORD_ARG(w, n));
        if (!at_end(c))
                return fail(ps, "unexpected %s after 'lodge-seccomp 1'", describe(c, buf));
        return 0;
}

static int parse_line(struct parser *ps, struct cursor *c)
{
        char buf[32];
        const char *w;
        size_t n;
        int r;

        if (at_end(c))
                return 0; /* blank or a comment */
        n = next_word(c, &w);
        if (n == 0)
                return fail(ps, "unexpected %s at the start of a line", describe(c, buf));

        if (word_is(w, n, "default")) {
                if (ps->default_line)
                        return fail(ps, "'default' is already set on line %u", ps->default_line);
                r = parse_action(ps, c, "default", &ps->p->default_action);
                if (r < 0)
                        return r;
                ps->default_line = ps->line;
        } else if (word_is(w, n, "include")) {
                n = next_word(c, &w);
                if (!word_is(w, n, "default"))
                        return fail(ps, "'include' takes only 'default' (lodge's built-in policy)");
                if (ps->include_line)
                        return fail(ps, "'include default' is already on line %u",
                                    ps->include_line);
                ps->include_line = ps->line;
        } else if (word_is(w, n, "lodge-seccomp")) {
                return fail(ps, "'lodge-seccomp' belongs on the first line only");
        } else {
                return parse_rule(ps, c, w, n);
        }
        if (!at_end(c))
                return fail(ps, "unexpected %s at the end of the line", describe(c, buf));
        return 0;
}

/* Refuse what could hide from a reader or a terminal: control characters
 * anywhere, comments included (a tab is a blank). Bytes from 0x80 are left
 * to the tokens, which take ASCII only, so UTF-8 is fine in comments. */
static int check_bytes(struct parser *ps, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)s[i];

                if (ch == '\r')
                        return fail(ps, "carriage return (DOS line endings are not accepted)");
                if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                        return fail(ps, "control character 0x%02x", ch);
        }
        return 0;
}

int seccomp_policy_parse(const char *text, size_t len, const char *filename, bool nesting,
                         struct seccomp_policy **ret, unsigned *reterr_line,
                         struct lodge_error **err)
{
        CLEANUP(seccomp_policy_freep) struct seccomp_policy *p = NULL;
        struct parser ps = { .filename = filename, .err = err };
        const char *s = text, *end = text + len;
        int r = 0;

        if (len > SECCOMP_POLICY_MAX_SIZE) {
                if (reterr_line)
                        *reterr_line = 0;
                return lodge_error_set(err, EFBIG, "%s: larger than %d bytes", filename,
                                       SECCOMP_POLICY_MAX_SIZE);
        }
        p = calloc(1, sizeof(*p));
        if (!p)
                return lodge_error_set(err, ENOMEM, "%s: parse", filename);
        p->default_action = (struct seccomp_action){ .kind = SECCOMP_ALLOW };
        ps.p = p;
        if (len == 0) {
                ps.line = 1;
                r = fail(&ps, "empty: the first line must be 'lodge-seccomp 1'");
        }
        while (r >= 0 && s < end) {
                const char *nl = memchr(s, '\n', (size_t)(end - s));
                struct cursor c = { .p = s, .end = nl ? nl : end };

                ps.line++;
                r = check_bytes(&ps, c.p, (size_t)(c.end - c.p));
                if (r >= 0)
                        r = ps.line == 1 ? parse_header(&ps, &c) : parse_line(&ps, &c);
                s = nl ? nl + 1 : end;
        }
        if (r < 0) {
                if (reterr_line)
                        *reterr_line = ps.line;
                return r;
        }
        if (ps.include_line && builtin_append(p, &ps.cap, nesting) < 0)
                return lodge_error_set(err, ENOMEM, "%s: parse", filename);
        p->filename = strdup(filename);
        if (!p->filename)
                return lodge_error_set(err, ENOMEM, "%s: parse", filename);
        *ret = TAKE_PTR(p);
        return 0;
}

int seccomp_policy_load(const char *path, bool nesting, struct seccomp_policy **ret,
                        struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;
        cleanup_free char *buf = NULL;
        struct stat st;
        ssize_t n;

        /* The admin's path on the host: symlinks are theirs to make. */
        fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return lodge_error_set(err, errno, "open seccomp policy '%s'", path);
        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "stat seccomp policy '%s'", path);
        if (!S_ISREG(st.st_mode))
                return lodge_error_set(err, EINVAL, "seccomp policy '%s' is not a regular file",
                                       path);
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return lodge_error_set(err, EPERM,
                                       "seccomp policy '%s' is owned by uid %u, not by root", path,
                                       (unsigned)st.st_uid);
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return lodge_error_set(err, EPERM,
                                       "seccomp policy '%s' is writable by group or others", path);
        if (st.st_size > SECCOMP_POLICY_MAX_SIZE)
                return lodge_error_set(err, EFBIG, "seccomp policy '%s' is larger than %d bytes",
                                       path, SECCOMP_POLICY_MAX_SIZE);

        /* One byte more than allowed: a file that grew since fstat() is caught. */
        buf = malloc(SECCOMP_POLICY_MAX_SIZE + 1);
        if (!buf)
                return lodge_error_set(err, ENOMEM, "read seccomp policy '%s'", path);
        n = read_all(fd, buf, SECCOMP_POLICY_MAX_SIZE + 1);
        if (n < 0)
                return lodge_error_set(err, (int)-n, "read seccomp policy '%s'", path);
        return seccomp_policy_parse(buf, (size_t)n, path, nesting, ret, NULL, err);
}
