/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/config.h"
#include "core/seccomp-policy.h"
#include "tests/unit/lodge-test.h"

#define cleanup_policy CLEANUP(seccomp_policy_freep)
#define cleanup_filter CLEANUP(seccomp_filter_freep)

/* What lodge's built-in policy has, without and with security.nesting (which
 * drops bpf and the seven calls of the new mount API). */
#define N_BUILTIN 27
#define N_NESTING_ALLOWS 8

/* A copy of len bytes in a buffer of exactly that size: files are not
 * NUL-terminated, and the ASan build sees every read past their end. */
static char *exact_copy(const char *text, size_t len)
{
        char *copy = malloc(len ? len : 1);

        assert_non_null(copy);
        memcpy(copy, text, len);
        return copy;
}

static struct seccomp_policy *parse_ok(const char *text)
{
        cleanup_error struct lodge_error *err = NULL;
        char *copy = exact_copy(text, strlen(text));
        struct seccomp_policy *p = NULL;
        int r;

        r = seccomp_policy_parse(copy, strlen(text), "policy", false, &p, NULL, &err);
        free(copy);
        if (r < 0)
                print_message("parse failed: %s\n---\n%s---\n", err->msg, text);
        assert_int_equal(r, 0);
        assert_null(err);
        assert_non_null(p);
        return p;
}

/* Parsing len bytes fails with EINVAL on line, and the message is
 * "policy:LINE: " followed by msg. Returns false after saying why, so that
 * table-driven tests name the case that broke. */
static bool parse_fails_len(const char *text, size_t len, unsigned line, const char *msg)
{
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *copy = exact_copy(text, len);
        struct seccomp_policy *p = NULL;
        unsigned errline = 4242;
        char want[512];
        int r;

        snprintf(want, sizeof(want), "policy:%u: %s", line, msg);
        r = seccomp_policy_parse(copy, len, "policy", false, &p, &errline, &err);
        if (r == 0) {
                seccomp_policy_free(p);
                print_message("accepted:\n%s\n", text);
                return false;
        }
        if (r != -EINVAL || !err || err->code != EINVAL || p || errline != line ||
            strncmp(err->msg, want, strlen(want)) != 0) {
                print_message("text:\n%s\ngot r=%d line=%u msg='%s'\nwant line=%u msg='%s'\n", text,
                              r, errline, err ? err->msg : "(null)", line, want);
                return false;
        }
        return true;
}

static bool parse_fails(const char *text, unsigned line, const char *msg)
{
        return parse_fails_len(text, strlen(text), line, msg);
}

static bool has(const struct seccomp_policy *p, const char *name)
{
        for (size_t i = 0; i < p->n_rules; i++)
                if (strcmp(p->rules[i].name, name) == 0)
                        return true;
        return false;
}

/* The first rule for name, which must be there. */
__attribute__((returns_nonnull)) static const struct seccomp_rule *
find(const struct seccomp_policy *p, const char *name)
{
        for (size_t i = 0; i < p->n_rules; i++)
                if (strcmp(p->rules[i].name, name) == 0)
                        return &p->rules[i];
        fail_msg("no rule for '%s'", name);
        abort();
}

static void test_parse_good(void **state)
{
        cleanup_policy struct seccomp_policy *p = NULL;
        const struct seccomp_rule *r;

        (void)state;
        p = parse_ok("lodge-seccomp 1   # a comment after the header\n"
                     "# a whole-line comment, \xc3\xa9t\xc3\xa9 in UTF-8\n"
                     "\n"
                     "   \t\n"
                     "default errno EPERM\n"
                     "read allow\n"
                     "\twrite\tallow\t# tabs are blanks\n"
                     "uname errno ENOSYS\n"
                     "getcwd errno 95\n"
                     "reboot kill\n"
                     "no_such_call_anywhere? errno EACCES\n"
                     "ipc errno EWOULDBLOCK\n"
                     "kexec_file_load errno 77"); /* no final newline */
        assert_string_equal(p->filename, "policy");
        assert_int_equal(p->default_action.kind, SECCOMP_ERRNO);
        assert_int_equal(p->default_action.errnum, EPERM);
        assert_int_equal(p->n_rules, 8);

        r = find(p, "read");
        assert_int_equal(r->action.kind, SECCOMP_ALLOW);
        assert_int_equal(r->line, 6);
        assert_false(r->optional);
        assert_int_equal(r->n_cmp, 0);
        assert_int_equal(find(p, "write")->line, 7);
        assert_int_equal(find(p, "uname")->action.kind, SECCOMP_ERRNO);
        assert_int_equal(find(p, "uname")->action.errnum, ENOSYS);
        assert_int_equal(find(p, "getcwd")->action.errnum, 95);
        assert_int_equal(find(p, "reboot")->action.kind, SECCOMP_KILL);
        r = find(p, "no_such_call_anywhere");
        assert_true(r->optional);
        assert_int_equal(r->action.errnum, EACCES);
        assert_int_equal(find(p, "ipc")->action.errnum, EAGAIN); /* i386 only: known */
        assert_int_equal(find(p, "kexec_file_load")->line, 13);  /* not on i386: fine */
        assert_int_equal(find(p, "kexec_file_load")->action.errnum, 77);
}

static void test_parse_defaults_to_allow(void **state)
{
        cleanup_policy struct seccomp_policy *p = parse_ok("lodge-seccomp 1\n");

        (void)state;
        assert_int_equal(p->default_action.kind, SECCOMP_ALLOW);
        assert_int_equal(p->n_rules, 0);
}

static void test_default_policy(void **state)
{
        cleanup_error struct lodge_error *err = NULL;
        cleanup_policy struct seccomp_policy *p = NULL, *nested = NULL;

        (void)state;
        assert_int_equal(seccomp_policy_default(false, &p, &err), 0);
        assert_int_equal(p->default_action.kind, SECCOMP_ALLOW);
        assert_null(p->filename);
        assert_int_equal(p->n_rules, N_BUILTIN);
        assert_int_equal(find(p, "kexec_load")->action.errnum, EPERM);
        assert_int_equal(find(p, "bpf")->action.errnum, EPERM);
        assert_int_equal(find(p, "keyctl")->action.errnum, ENOSYS);
        for (size_t i = 0; i < p->n_rules; i++) {
                assert_int_equal(p->rules[i].line, 0);
                assert_int_equal(p->rules[i].n_cmp, 0);
        }

        assert_int_equal(seccomp_policy_default(true, &nested, &err), 0);
        assert_int_equal(nested->n_rules, N_BUILTIN - N_NESTING_ALLOWS);
        assert_false(has(nested, "bpf"));
        assert_false(has(nested, "fsopen"));
        assert_int_equal(find(p, "fsopen")->action.errnum, ENOSYS);
        assert_int_equal(find(p, "mount_setattr")->action.errnum, ENOSYS);
}

/* The built-in list has no typos: every name is a syscall here even
 * without "?" (true for this libseccomp; the list itself stays optional). */
static void test_default_names_are_syscalls(void **state)
{
        cleanup_policy struct seccomp_policy *def = NULL, *p = NULL;
        cleanup_error struct lodge_error *err = NULL;
        char text[4096];
        int n = snprintf(text, sizeof(text), "lodge-seccomp 1\n");

        (void)state;
        assert_int_equal(seccomp_policy_default(false, &def, &err), 0);
        for (size_t i = 0; i < def->n_rules; i++)
                n += snprintf(text + n, sizeof(text) - (size_t)n, "%s errno EPERM\n",
                              def->rules[i].name);
        p = parse_ok(text);
        assert_int_equal(p->n_rules, N_BUILTIN);
}

static void test_include_default(void **state)
{
        cleanup_error struct lodge_error *err = NULL;
        cleanup_policy struct seccomp_policy *p = NULL, *q = NULL, *n = NULL;

        (void)state;
        /* lodge's default plus one more denial, in two lines. */
        p = parse_ok("lodge-seccomp 1\ninclude default\nuname errno EHOSTDOWN\n");
        assert_int_equal(p->default_action.kind, SECCOMP_ALLOW);
        assert_int_equal(p->n_rules, N_BUILTIN + 1);
        assert_int_equal(find(p, "uname")->action.errnum, EHOSTDOWN);
        assert_int_equal(find(p, "uname")->line, 3);
        assert_int_equal(find(p, "init_module")->action.errnum, EPERM);
        assert_int_equal(find(p, "init_module")->line, 0);
        assert_int_equal(find(p, "add_key")->action.errnum, ENOSYS);

        /* The file's own rules replace the built-in ones for the same syscall, wherever
         * the include stands. */
        q = parse_ok("lodge-seccomp 1\nbpf allow\nkeyctl errno EPERM [0 == 1]\n"
                     "include default\ndefault kill\n");
        assert_int_equal(q->default_action.kind, SECCOMP_KILL);
        assert_int_equal(q->n_rules, N_BUILTIN);
        assert_int_equal(find(q, "bpf")->action.kind, SECCOMP_ALLOW);
        assert_int_equal(find(q, "keyctl")->action.errnum, EPERM);
        assert_int_equal(find(q, "keyctl")->n_cmp, 1);
        for (size_t i = 0; i < q->n_rules; i++)
                if (strcmp(q->rules[i].name, "keyctl") == 0)
                        assert_int_equal(q->rules[i].line, 3);

        /* With security.nesting, "include default" leaves bpf and the mount API alone,
         * as "default" does. */
        assert_int_equal(seccomp_policy_parse("lodge-seccomp 1\ninclude default\n", 32, "p", true,
                                              &n, NULL, &err),
                         0);
        assert_int_equal(n->n_rules, N_BUILTIN - N_NESTING_ALLOWS);
        assert_false(has(n, "bpf"));
}

static void test_argument_comparisons(void **state)
{
        cleanup_policy struct seccomp_policy *p = NULL;
        const struct seccomp_rule *r;

        (void)state;
        p = parse_ok(
                "lodge-seccomp 1\n"
                "clone errno EPERM [0 & 0x10000000 == 0x10000000]\n"
                "personality errno EINVAL [0 != 0] [1 < 2] [2 <= 3] [3 > 4] [4 >= 5] [5 == 6]\n"
                "ioctl errno ENOTTY [1==0x5412]\n"
                "ioctl errno ENOTTY [ 1 == 0x541C ]\n"
                "socket errno EAFNOSUPPORT [0&0xffffffff==40]\n"
                "setsockopt errno EPERM [4 == 4294967295] [3 == 0xFFFFFFFF]\n"
                "getcwd errno ERANGE [1 <= 7] [0 > 1] [2 >= 3] [3 < 4]\n"
                "fcntl errno EPERM [1 == 1]\n"
                "fcntl errno EPERM [1 & 0xf == 2] [0 == 3]\n");
        assert_int_equal(p->n_rules, 9);

        r = find(p, "clone");
        assert_int_equal(r->n_cmp, 1);
        assert_int_equal(r->cmp[0].arg, 0);
        assert_int_equal(r->cmp[0].op, SECCOMP_OP_MASKED_EQ);
        assert_int_equal(r->cmp[0].mask, 0x10000000);
        assert_int_equal(r->cmp[0].value, 0x10000000);

        r = find(p, "personality");
        assert_int_equal(r->n_cmp, 6);
        {
                static const enum seccomp_op ops[] = {
                        SECCOMP_OP_NE, SECCOMP_OP_LT, SECCOMP_OP_LE,
                        SECCOMP_OP_GT, SECCOMP_OP_GE, SECCOMP_OP_EQ
                };

                for (unsigned i = 0; i < 6; i++) {
                        assert_int_equal(r->cmp[i].arg, i);
                        assert_int_equal(r->cmp[i].op, ops[i]);
                        assert_int_equal(r->cmp[i].value, i + 1 - (i == 0));
                }
        }
        assert_int_equal(p->rules[2].cmp[0].value, 0x5412);
        assert_int_equal(p->rules[3].cmp[0].value, 0x541c);
        assert_int_equal(find(p, "socket")->cmp[0].mask, 0xffffffff);
        assert_int_equal(find(p, "socket")->cmp[0].value, 40);
        assert_int_equal(find(p, "setsockopt")->cmp[0].arg, 4);
        assert_int_equal(find(p, "setsockopt")->cmp[0].value, 0xffffffff);
        assert_int_equal(find(p, "setsockopt")->cmp[1].value, 0xffffffff);
}

static void test_parse_errors(void **state)
{
        static const struct {
                const char *text;
                unsigned line;
                const char *msg;
        } cases[] = {
                /* The header. */
                { "", 1, "empty: the first line must be 'lodge-seccomp 1'" },
                { "\n", 1, "not a lodge seccomp policy" },
                { "# comment first\nlodge-seccomp 1\n", 1, "not a lodge seccomp policy" },
                { "2\ndenylist\n", 1, "not a lodge seccomp policy" },
                { "lodge-seccomp\n", 1, "unsupported format version '' (this lodge reads 1)" },
                { "lodge-seccomp 2\n", 1, "unsupported format version '2' (this lodge reads 1)" },
                { "lodge-seccomp 1 2\n", 1, "unexpected '2' after 'lodge-seccomp 1'" },
                { "lodge-seccomp 1\nlodge-seccomp 1\n", 2, "'lodge-seccomp' belongs on the first" },
                /* Directives. */
                { "lodge-seccomp 1\ndefault\n", 2, "expected an action after 'default'" },
                { "lodge-seccomp 1\ndefault deny\n", 2, "unknown action 'deny'" },
                { "lodge-seccomp 1\ndefault allow now\n", 2, "unexpected 'n' at the end" },
                { "lodge-seccomp 1\ndefault kill\n\ndefault allow\n", 4,
                  "'default' is already set on line 2" },
                { "lodge-seccomp 1\ninclude\n", 2, "'include' takes only 'default'" },
                { "lodge-seccomp 1\ninclude /etc/passwd\n", 2, "'include' takes only 'default'" },
                { "lodge-seccomp 1\ninclude default\ninclude default\n", 3,
                  "'include default' is already on line 2" },
                { "lodge-seccomp 1\ninclude default default\n", 2, "unexpected 'd' at the end" },
                /* Names. */
                { "lodge-seccomp 1\nunmae errno EPERM\n", 2,
                  "unknown syscall 'unmae' (write 'unmae?' if it may be missing here)" },
                { "lodge-seccomp 1\narm_fadvise64_64 errno EPERM\n", 2,
                  "'arm_fadvise64_64' is not a syscall on x86_64, i386 or x32" },
                { "lodge-seccomp 1\nUname errno EPERM\n", 2,
                  "unknown keyword or bad syscall name 'Uname'" },
                { "lodge-seccomp 1\nun-ame errno EPERM\n", 2, "unknown keyword or bad syscall" },
                { "lodge-seccomp 1\n?uname errno EPERM\n", 2, "unknown keyword or bad syscall" },
                { "lodge-seccomp 1\n?\?\n", 2, "unknown keyword or bad syscall name '?\?'" },
                { "lodge-seccomp 1\n[0 == 1]\n", 2, "unexpected '[' at the start of a line" },
                { "lodge-seccomp 1\nuname: errno EPERM\n", 2, "expected an action after 'uname'" },
                { "lodge-seccomp 1\n"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa? "
                  "allow\n",
                  2, "syscall name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is too long" },
                /* Actions. */
                { "lodge-seccomp 1\nuname\n", 2,
                  "expected an action after 'uname' (allow, errno NAME|N or kill), got the end "
                  "of the line" },
                { "lodge-seccomp 1\nuname # deny it\n", 2, "expected an action after 'uname'" },
                { "lodge-seccomp 1\nuname deny\n", 2,
                  "unknown action 'deny' (allow, errno NAME|N or kill)" },
                { "lodge-seccomp 1\nuname errno\n", 2, "expected an errno name or number" },
                { "lodge-seccomp 1\nuname errno EFOO\n", 2, "unknown errno name 'EFOO'" },
                { "lodge-seccomp 1\nuname errno eperm\n", 2, "unknown errno name 'eperm'" },
                { "lodge-seccomp 1\nuname errno 0\n", 2, "errno 0 would make the call look" },
                { "lodge-seccomp 1\nuname errno 0", 2, "errno 0 would make the call look" },
                { "lodge-seccomp 1\nuname errno 12345", 2, "errno '12345' is not a number" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 1", 2, "expected ']' to end" },
                { "lodge-seccomp 1\nuname errno EPERM [0 ==", 2, "expected a value, got the end" },
                { "lodge-seccomp 1\nuname errno EPERM [0 &", 2, "expected a mask, got the end" },
                { "lodge-seccomp 1\nuname errno EPERM [0 & 1 =", 2,
                  "expected '==' after the mask" },
                { "lodge-seccomp 1\nuname errno EPERM [0", 2, "expected an operator" },
                { "lodge-seccomp 1\nuname errno EPERM [", 2, "expected an argument number" },
                { "lodge-seccomp 1\nuname errno", 2, "expected an errno name or number" },
                { "lodge-seccomp 1\nuname", 2, "expected an action after 'uname'" },
                { "lodge-seccomp", 1, "unsupported format version ''" },
                { "lodge-seccomp 1\nuname errno 4095\n", 2,
                  "errno '4095' is not a number from 1 to 4094" },
                { "lodge-seccomp 1\nuname errno 99999999999999999999\n", 2, "errno '9999" },
                { "lodge-seccomp 1\nuname errno 01\n", 2, "errno '01' is not a number" },
                { "lodge-seccomp 1\nuname errno 0x1\n", 2, "errno '0x1' is not a number" },
                { "lodge-seccomp 1\nuname errno -1\n", 2, "unknown errno name '-1'" },
                { "lodge-seccomp 1\nuname errno EPERM EPERM\n", 2,
                  "expected '[ARG OP VALUE]' or the end of the line after the action, got 'E'" },
                { "lodge-seccomp 1\nuname allow kill\n", 2, "expected '[ARG OP VALUE]'" },
                /* Several rules for one syscall. */
                { "lodge-seccomp 1\nuname errno EPERM\n#\nuname errno EPERM\n", 4,
                  "'uname' already has a rule on line 2" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 1]\nuname errno EPERM\n", 3,
                  "'uname' already has a rule on line 2" },
                { "lodge-seccomp 1\nuname errno EPERM\nuname errno EPERM [0 == 1]\n", 3,
                  "'uname' already has a rule on line 2" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 1]\nuname errno EACCES [0 == 2]\n", 3,
                  "'uname' has another action on line 2 (the rules for one syscall share" },
                { "lodge-seccomp 1\nuname? kill\nuname allow\n", 3, "'uname' already has a rule" },
                /* libseccomp 2.5.4 loops forever on this one (found by fuzz-seccomp-policy). */
                { "lodge-seccomp 1\ngetcwd errno 76 [1 <= 7] [0 > 1] [2 >= 3] [3 < 4]\n# c 1\n"
                  "getcwd errno 76 [1 <= 7] [0 > 1] [2 == 3] [3 < 4]\n",
                  4,
                  "several rules for 'getcwd' (lines 2 and 4) can only compare with == or & MASK "
                  "==; line 4 has '<='" },
                { "lodge-seccomp 1\ngetcwd errno 1 [0 == 1]\ngetcwd errno 1 [0 == 2] [1 != 2]\n", 3,
                  "several rules for 'getcwd' (lines 2 and 3) can only compare with == or & "
                  "MASK ==; line 3 has '!='" },
                { "lodge-seccomp 1\ngetcwd errno 1 [0 == 1]\ngetcwd errno 1 [1 == 2]\n"
                  "getcwd errno 1 [0 > 2]\n",
                  4,
                  "several rules for 'getcwd' (lines 2 and 4) can only compare with == or & "
                  "MASK ==; line 4 has '>'" },
                /* Comparisons. */
                { "lodge-seccomp 1\nuname errno EPERM [6 == 1]\n", 3 - 1,
                  "argument 6: syscalls have arguments 0 to 5" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 1] [0 != 2]\n", 2,
                  "argument 0 is compared twice" },
                { "lodge-seccomp 1\nuname errno EPERM [0 =< 1]\n", 2,
                  "unknown operator '=<' (==, !=, <, <=, >, >=, or & MASK ==)" },
                { "lodge-seccomp 1\nuname errno EPERM [0 &= 1 == 1]\n", 2,
                  "unknown operator '&='" },
                { "lodge-seccomp 1\nuname errno EPERM [0 = 1]\n", 2, "unknown operator '='" },
                { "lodge-seccomp 1\nuname errno EPERM [0 1]\n", 2,
                  "expected an operator (==, !=, <, <=, >, >=, &) after argument 0, got '1'" },
                { "lodge-seccomp 1\nuname errno EPERM [0 & 1]\n", 2,
                  "expected '==' after the mask, got ']'" },
                { "lodge-seccomp 1\nuname errno EPERM [0 & 1 != 1]\n", 2,
                  "expected '==' after the mask, got '!'" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 1\n", 2,
                  "expected ']' to end the comparison, got the end of the line" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 1 # no\n", 2,
                  "expected ']' to end the comparison, got the end of the line" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 1 2]\n", 2,
                  "expected ']' to end the comparison, got '2'" },
                { "lodge-seccomp 1\nuname errno EPERM []\n", 2,
                  "expected an argument number, got ']'" },
                { "lodge-seccomp 1\nuname errno EPERM [0 ==]\n", 2, "expected a value, got ']'" },
                { "lodge-seccomp 1\nuname errno EPERM [a == 1]\n", 2,
                  "an argument number 'a' is not a number (decimal, or hex with 0x)" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == -1]\n", 2,
                  "a value '-1' is not a number" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 010]\n", 2,
                  "a value '010' is not a number" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 0x]\n", 2, "a value '0x' is not" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 0xg]\n", 2, "a value '0xg' is not" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 0x100000000]\n", 2,
                  "a value '0x100000000' is larger than 0xffffffff (the i386 ABI compares 32 "
                  "bits only)" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 4294967296]\n", 2,
                  "a value '4294967296' is larger than 0xffffffff" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 99999999999999999999999]\n", 2,
                  "a value '99999999999999999999999' is larger than 0xffffffff" },
                { "lodge-seccomp 1\nuname errno EPERM [0 & 0x1ffffffff == 1]\n", 2,
                  "a mask '0x1ffffffff' is larger than 0xffffffff" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == 1]]\n", 2,
                  "expected '[ARG OP VALUE]' or the end of the line after the action, got ']'" },
                /* Bytes. */
                { "lodge-seccomp 1\r\n", 1, "carriage return (DOS line endings are not accepted)" },
                { "lodge-seccomp 1\nuname errno EPERM\r\n", 2, "carriage return" },
                { "lodge-seccomp 1\n# bell \a in a comment\n", 2, "control character 0x07" },
                { "lodge-seccomp 1\n\x1b[2Juname allow\n", 2, "control character 0x1b" },
                { "lodge-seccomp 1\nuname\x7f errno EPERM\n", 2, "control character 0x7f" },
                { "lodge-seccomp 1\nuname\v errno EPERM\n", 2, "control character 0x0b" },
                { "lodge-seccomp 1\nuname\f errno EPERM\n", 2, "control character 0x0c" },
                { "lodge-seccomp 1\nuname errno EPERM # caf\xc3\xa9\n\xc3\xa9 allow\n", 3,
                  "unexpected byte 0xc3 at the start of a line" },
                { "lodge-seccomp 1\nuname errno EPERM [0 == \xff]\n", 2,
                  "expected a value, got byte 0xff" },
        };
        bool ok = true;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                ok &= parse_fails(cases[i].text, cases[i].line, cases[i].msg);
        /* NUL bytes count as what they are, not as the end of the text. */
        {
                static const char nul2[] = "lodge-seccomp 1\nuname\0 errno EPERM\n";
                static const char nul1[] = "lodge-seccomp 1\0\n";

                ok &= parse_fails_len(nul2, sizeof(nul2) - 1, 2, "control character 0x00");
                ok &= parse_fails_len(nul1, sizeof(nul1) - 1, 1, "control character 0x00");
        }
        assert_true(ok);
}

static void test_too_many_rules(void **state)
{
        cleanup_policy struct seccomp_policy *p = NULL, *q = NULL;
        size_t size = 64 + (SECCOMP_POLICY_MAX_RULES + 1) * 40;
        cleanup_free char *text = malloc(size);
        char *s = text;

        (void)state;
        assert_non_null(text);
        /* Rule lines: "name?" that exist nowhere are rules too. */
        s += sprintf(s, "lodge-seccomp 1\n");
        for (unsigned i = 0; i < SECCOMP_POLICY_MAX_RULES; i++)
                s += sprintf(s, "nosuchcall%u? errno EPERM\n", i);
        p = parse_ok(text);
        assert_int_equal(p->n_rules, SECCOMP_POLICY_MAX_RULES);
        sprintf(s, "uname errno EPERM\n");
        assert_true(parse_fails(text, SECCOMP_POLICY_MAX_RULES + 2, "more than 1024 rules"));

        /* Argument comparisons, all rules together. */
        s = text;
        s += sprintf(s, "lodge-seccomp 1\nuname errno EPERM [0 == 1] [1 == 2]\n");
        for (unsigned i = 2; i < SECCOMP_POLICY_MAX_CMPS; i++)
                s += sprintf(s, "read errno EPERM [0 == %u]\n", i);
        q = parse_ok(text);
        assert_int_equal(q->n_rules, SECCOMP_POLICY_MAX_CMPS - 1);
        sprintf(s, "getcwd errno EPERM [1 == 7]\n");
        assert_true(parse_fails(text, SECCOMP_POLICY_MAX_CMPS + 1,
                                "more than 256 argument comparisons"));
}

static size_t append(char *buf, size_t len, size_t size, const char *s)
{
        size_t n = strlen(s);

        if (len + n > size)
                return len;
        for (size_t i = 0; i < n; i++) /* no NUL: buf is a policy's bytes */
                buf[len + i] = s[i];
        return len + n;
}

/* Mostly one of the first n_good entries of a, sometimes any. */
#define PICK(seed, a, n_good)                                                                      \
        ((a)[(size_t)rand_r(seed) % (rand_r(seed) % 8 ? (n_good) : ELEMENTSOF(a))])

/* A policy made of likely and unlikely pieces, sometimes with bytes changed. */
static size_t random_policy(char *buf, size_t size, unsigned *seed)
{
        static const char *const names[] = {
                "uname",
                "getcwd",
                "read",
                "clone",
                "ipc",
                "socketcall",
                "kexec_file_load",
                "bpf",
                "nosuch?",
                "uname?",
                "unmae",
                "Uname",
                "arm_fadvise64_64",
                "default",
        };
        static const char *const actions[] = {
                "allow",   "kill",       "errno EPERM", "errno 1", "errno 4094", "errno ENOSYS",
                "errno 0", "errno 4095", "errno EFOO",  "deny",    "",
        };
        static const char *const ops[] = {
                "==", "!=", "<", "<=", ">", ">=", "& 0xff ==", "&", "="
        };
        static const char *const values[] = { "0",  "1", "0x10", "0xffffffff", "0x100000000", "07",
                                              "-1", "x", "" };
        static const char *const args[] = { "0", "1", "2", "5", "6" };
        static const char *const blanks[] = { " ", "\t", "  ", "" };
        size_t len =
                append(buf, 0, size, rand_r(seed) % 50 ? "lodge-seccomp 1\n" : "lodge-seccomp 2\n");
        unsigned lines = (unsigned)rand_r(seed) % 8;

        for (unsigned l = 0; l < lines; l++) {
                char text[200];
                int n = 0;

                switch (rand_r(seed) % 8) {
                case 0:
                        n = snprintf(text, sizeof(text), "default %s", PICK(seed, actions, 6));
                        break;
                case 1:
                        n = snprintf(text, sizeof(text), "include default");
                        break;
                case 2:
                        n = snprintf(text, sizeof(text), "# %s", PICK(seed, names, 14));
                        break;
                default:
                        n = snprintf(text, sizeof(text), "%s%s%s", PICK(seed, names, 10),
                                     PICK(seed, blanks, 3), PICK(seed, actions, 6));
                        for (int c = rand_r(seed) % 4 - 1; c > 0; c--)
                                n += snprintf(text + n, sizeof(text) - (size_t)n, " [%s%s%s%s%s]",
                                              PICK(seed, args, 4), PICK(seed, blanks, 4),
                                              PICK(seed, ops, 7), PICK(seed, blanks, 4),
                                              PICK(seed, values, 4));
                        break;
                }
                if (n >= 0 && (size_t)n < sizeof(text) - 1) {
                        text[n] = '\n';
                        text[n + 1] = '\0';
                        len = append(buf, len, size, text);
                }
        }
        for (int c = rand_r(seed) % 6 == 0 ? 1 + rand_r(seed) % 2 : 0; c > 0 && len > 0; c--)
                buf[(size_t)rand_r(seed) % len] = (char)rand_r(seed);
        return len;
}

static void test_huge_and_garbage(void **state)
{
        cleanup_error struct lodge_error *err = NULL;
        struct seccomp_policy *p = NULL;
        static char text[SECCOMP_POLICY_MAX_SIZE + 1];
        size_t big = sizeof(text);
        unsigned line = 4242, seed = 12345, n_ok = 0;
        char buf[512];

        (void)state;
        /* Too long: refused whole, whatever it holds. */
        memset(text, '\n', big);
        text[snprintf(text, big, "lodge-seccomp 1")] = '\n';
        assert_int_equal(seccomp_policy_parse(text, big, "policy", false, &p, &line, &err), -EFBIG);
        assert_string_equal(err->msg, "policy: larger than 262144 bytes");
        assert_null(p);
        lodge_error_free(&err);
        /* Just short enough: blank lines are fine. */
        assert_int_equal(seccomp_policy_parse(text, big - 1, "policy", false, &p, &line, &err), 0);
        seccomp_policy_free(p);
        p = NULL;

        /* Random policies, some with a byte or two changed, and random bytes: an error
         * with a line number, or a policy that compiles, never a crash (the ASan build
         * watches the reads). */
        for (unsigned round = 0; round < 6000; round++) {
                cleanup_filter struct seccomp_filter *f = NULL;
                size_t len;
                int r;

                if (round % 4 == 3) {
                        len = (size_t)rand_r(&seed) % sizeof(buf);
                        for (size_t i = 0; i < len; i++)
                                buf[i] = (char)rand_r(&seed);
                } else {
                        len = random_policy(buf, sizeof(buf), &seed);
                }
                line = 4242;
                r = seccomp_policy_parse(buf, len, "policy", round % 2 == 0, &p, &line, &err);
                if (r == 0) {
                        assert_non_null(p);
                        r = seccomp_filter_new(p, &f, &err);
                        if (r < 0)
                                fail_msg("accepted, but doesn't compile: %s\n%.*s", err->msg,
                                         (int)len, buf);
                        seccomp_policy_free(p);
                        p = NULL;
                        n_ok++;
                        continue;
                }
                assert_int_equal(r, -EINVAL);
                assert_null(p);
                assert_true(line >= 1 && line <= len + 1);
                assert_non_null(strstr(err->msg, "policy:"));
                lodge_error_free(&err);
        }
        /* Not all refused at the first hurdle: a fair share are policies. */
        if (n_ok < 600)
                fail_msg("only %u of 6000 were policies", n_ok);
}

/* The examples in docs/seccomp.md are policies that parse. */
static void test_docs_examples(void **state)
{
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *doc = NULL;
        const char *s;
        unsigned n = 0;

        (void)state;
        assert_int_equal(
                read_file_at(AT_FDCWD, LODGE_SRCDIR "/docs/seccomp.md", 1 << 20, &doc, NULL, &err),
                0);
        for (s = doc; (s = strstr(s, "```\nlodge-seccomp 1\n")); n++) {
                const char *end = strstr(s + 4, "```");
                cleanup_policy struct seccomp_policy *p = NULL;
                unsigned line = 0;

                assert_non_null(end);
                s += 4;
                if (seccomp_policy_parse(s, (size_t)(end - s), "example", false, &p, &line, &err) <
                    0)
                        fail_msg("example %u: %s", n + 1, err->msg);
                s = end + 3;
        }
        assert_int_equal(n, 4);
}

static void write_file(int dirfd, const char *name, const char *text, mode_t mode)
{
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(close(fd), 0);
}

static void test_load(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        struct seccomp_policy *p = NULL;
        char path[256];

        write_file(t->dirfd, "good", "lodge-seccomp 1\ninclude default\nuname errno EPERM\n", 0644);
        snprintf(path, sizeof(path), "%s/good", t->path);
        assert_int_equal(seccomp_policy_load(path, false, &p, &err), 0);
        assert_string_equal(p->filename, path);
        assert_int_equal(p->n_rules, N_BUILTIN + 1);
        seccomp_policy_free(p);
        p = NULL;

        assert_int_equal(symlinkat("good", t->dirfd, "link"), 0);
        snprintf(path, sizeof(path), "%s/link", t->path);
        assert_int_equal(seccomp_policy_load(path, false, &p, &err), 0);
        seccomp_policy_free(p);
        p = NULL;

        write_file(t->dirfd, "bad", "lodge-seccomp 1\n\nuname errno EPERM [0 == 1\n", 0600);
        snprintf(path, sizeof(path), "%s/bad", t->path);
        assert_int_equal(seccomp_policy_load(path, false, &p, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "/bad:3: expected ']'"));
        assert_null(p);
        lodge_error_free(&err);

        /* Whoever can write it chooses what the guest may do. */
        write_file(t->dirfd, "open", "lodge-seccomp 1\n", 0664);
        snprintf(path, sizeof(path), "%s/open", t->path);
        assert_int_equal(seccomp_policy_load(path, false, &p, &err), -EPERM);
        assert_non_null(strstr(err->msg, "is writable by group or others"));
        lodge_error_free(&err);
        write_file(t->dirfd, "open", "lodge-seccomp 1\n", 0646);
        assert_int_equal(seccomp_policy_load(path, false, &p, &err), -EPERM);
        lodge_error_free(&err);

        snprintf(path, sizeof(path), "%s/missing", t->path);
        assert_int_equal(seccomp_policy_load(path, false, &p, &err), -ENOENT);
        assert_non_null(strstr(err->msg, "open seccomp policy '"));
        lodge_error_free(&err);

        assert_int_equal(seccomp_policy_load(t->path, false, &p, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "is not a regular file"));
        lodge_error_free(&err);

        /* A FIFO would block a reader forever: refused without reading. */
        assert_int_equal(mkfifoat(t->dirfd, "fifo", 0600), 0);
        snprintf(path, sizeof(path), "%s/fifo", t->path);
        assert_int_equal(seccomp_policy_load(path, false, &p, &err), -EINVAL);
        lodge_error_free(&err);
        assert_int_equal(seccomp_policy_load("/dev/zero", false, &p, &err), -EINVAL);
        lodge_error_free(&err);
        assert_null(p);
}

static void test_load_too_big(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        struct seccomp_policy *p = NULL;
        char path[256];
        int fd;

        fd = openat(t->dirfd, "big", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, SECCOMP_POLICY_MAX_SIZE + 1), 0);
        close(fd);
        snprintf(path, sizeof(path), "%s/big", t->path);
        assert_int_equal(seccomp_policy_load(path, false, &p, &err), -EFBIG);
        assert_non_null(strstr(err->msg, "is larger than 262144 bytes"));
        assert_null(p);
}

/* seccomp_prepare() compiles what security.seccomp says, on the host. */
static void test_prepare(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        struct lodge_config_security sec = { .seccomp = LODGE_SECCOMP_NONE };
        struct seccomp_filter *f = NULL;
        char path[256];

        assert_int_equal(seccomp_prepare(&sec, &f, &err), 0);
        assert_null(f);
        sec.seccomp = LODGE_SECCOMP_DEFAULT;
        assert_int_equal(seccomp_prepare(&sec, &f, &err), 0);
        assert_non_null(f);
        seccomp_filter_free(f);
        f = NULL;

        write_file(t->dirfd, "p", "lodge-seccomp 1\ninclude default\nuname errno EPERM\n", 0644);
        snprintf(path, sizeof(path), "%s/p", t->path);
        sec = (struct lodge_config_security){ .seccomp = LODGE_SECCOMP_FILE, .seccomp_path = path };
        assert_int_equal(seccomp_prepare(&sec, &f, &err), 0);
        assert_non_null(f);
        seccomp_filter_free(f);
        f = NULL;

        /* An allow-list whose rules say what the default says, and a kill default. */
        write_file(t->dirfd, "p",
                   "lodge-seccomp 1\ndefault errno EPERM\nread allow\nwrite errno EPERM\n"
                   "include default\n",
                   0644);
        assert_int_equal(seccomp_prepare(&sec, &f, &err), 0);
        seccomp_filter_free(f);
        f = NULL;
        write_file(t->dirfd, "p", "lodge-seccomp 1\ndefault kill\nread allow\nexit_group allow\n",
                   0644);
        assert_int_equal(seccomp_prepare(&sec, &f, &err), 0);
        seccomp_filter_free(f);
        f = NULL;

        write_file(t->dirfd, "p", "lodge-seccomp 1\nuname errno\n", 0644);
        assert_int_equal(seccomp_prepare(&sec, &f, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "/p:2: expected an errno"));
        assert_null(f);
}

/* In a child with no_new_privs (no privilege needed): load the filter a
 * policy file compiles to and see what the calls get. */
static int run_filtered(const char *dir, const char *policy, int (*fn)(void))
{
        char path[256];
        pid_t pid;
        int status;

        snprintf(path, sizeof(path), "%s/policy", dir);
        {
                int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

                assert_true(fd >= 0);
                assert_int_equal(write(fd, policy, strlen(policy)), (ssize_t)strlen(policy));
                close(fd);
        }
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct lodge_config_security sec = { .seccomp = LODGE_SECCOMP_FILE,
                                                     .seccomp_path = path };
                struct lodge_error *err = NULL;
                struct seccomp_filter *f = NULL;

                (void)setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 }); /* "kill" dumps */
                if (seccomp_prepare(&sec, &f, &err) < 0 ||
                    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_apply(f, &err) < 0)
                        _exit(200);
                _exit(fn());
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status))
                return 1000 + WTERMSIG(status);
        return WEXITSTATUS(status);
}

static int try_uname(void)
{
        return syscall(SYS_uname, NULL) < 0 ? errno : 0;
}

static int try_getcwd_7(void)
{
        char buf[4096];

        /* Denied when the size is 7: the rule compares argument 1. */
        if (syscall(SYS_getcwd, buf, 7) >= 0 || errno != EHOSTDOWN)
                return 1;
        return syscall(SYS_getcwd, buf, sizeof(buf)) < 0 ? 2 : 0;
}

static int try_getppid(void)
{
        (void)syscall(SYS_getppid);
        return 0;
}

static void test_filter_works(void **state)
{
        struct lodge_tmpdir *t = *state;

        /* Allowed, the call itself fails on the NULL buffer. */
        assert_int_equal(run_filtered(t->path, "lodge-seccomp 1\n", try_uname), EFAULT);
        assert_int_equal(run_filtered(t->path,
                                      "lodge-seccomp 1\ninclude default\nuname errno EHOSTDOWN\n",
                                      try_uname),
                         EHOSTDOWN);
        assert_int_equal(run_filtered(t->path, "lodge-seccomp 1\nuname errno 77\n", try_uname), 77);
        assert_int_equal(run_filtered(t->path, "lodge-seccomp 1\ngetcwd errno EHOSTDOWN [1 == 7]\n",
                                      try_getcwd_7),
                         0);
        assert_int_equal(run_filtered(t->path,
                                      "lodge-seccomp 1\ngetcwd errno EHOSTDOWN [1 & 0xff == 7]\n",
                                      try_getcwd_7),
                         0);
        assert_int_equal(run_filtered(t->path, "lodge-seccomp 1\ngetppid kill\n", try_getppid),
                         1000 + SIGSYS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_good),
                cmocka_unit_test(test_parse_defaults_to_allow),
                cmocka_unit_test(test_default_policy),
                cmocka_unit_test(test_default_names_are_syscalls),
                cmocka_unit_test(test_include_default),
                cmocka_unit_test(test_argument_comparisons),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_too_many_rules),
                cmocka_unit_test(test_huge_and_garbage),
                cmocka_unit_test(test_docs_examples),
                cmocka_unit_test_setup_teardown(test_load, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_load_too_big, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_prepare, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_filter_works, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
