/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/apparmor.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/process.h"
#include "tests/unit/lodge-test.h"

#define PARSER "/usr/sbin/apparmor_parser"
#define FEATURES "/usr/share/apparmor-features/features"

/* Names lodge accepts, the awkward ones included (research/security.md N-08). */
static const char *const good_names[] = {
        "a",
        "web",
        "a.b_c-d",
        "9lives",
        "x..y",
        "a-",
        "A.B",
        "0.0.0.0",
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", /* 63 */
};

static const char *const bad_names[] = {
        "",
        "a\" flags=(complain) { capability, } profile \"b",
        "a b",
        "a\nb",
        "a{b}",
        "a*",
        "a?",
        "a[b]",
        "a/b",
        "a//b",
        "@{HOME}",
        "a,b",
        "a#b",
        "a\\b",
        ":ns:a",
        "a^b",
        ".hidden",
        "-a",
        "..",
        "\xc3\xbc",
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_x", /* 64 */
};

static void test_profile_name(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(good_names); i++) {
                cleanup_free char *label = NULL, *want = NULL;

                assert_int_equal(apparmor_profile_name(NULL, good_names[i], &label, NULL), 0);
                assert_true(asprintf(&want, "lodge-%s", good_names[i]) > 0);
                assert_string_equal(label, want);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad_names); i++) {
                cleanup_error struct lodge_error *err = NULL;
                char *label = (char *)"untouched";

                assert_int_equal(apparmor_profile_name(NULL, bad_names[i], &label, &err), -EINVAL);
                assert_string_equal(label, "untouched");
                assert_non_null(strstr(err->msg, "no AppArmor profile"));
        }
        assert_int_equal(apparmor_profile_name(NULL, NULL, &(char *){ NULL }, NULL), -EINVAL);
}

/* Another root's guests (a tag) never share a profile with the default
 * root's, whatever their names: "lodge." is no "lodge-" + name. */
static void test_profile_name_tagged(void **state)
{
        cleanup_free char *plain = NULL, *tagged = NULL, *lookalike = NULL;

        (void)state;
        assert_int_equal(apparmor_profile_name("", "web", &plain, NULL), 0);
        assert_string_equal(plain, "lodge-web");
        assert_int_equal(apparmor_profile_name("1a2b3c4d", "web", &tagged, NULL), 0);
        assert_string_equal(tagged, "lodge.1a2b3c4d-web");
        assert_int_equal(apparmor_profile_name(NULL, "1a2b3c4d-web", &lookalike, NULL), 0);
        assert_string_not_equal(lookalike, tagged);
        assert_int_equal(apparmor_profile_name("1a2b/..", "web", &(char *){ NULL }, NULL), -EINVAL);
}

/* Lines that start with prefix, counted. */
static size_t count_lines(const char *text, const char *prefix)
{
        size_t n = 0, len = strlen(prefix);

        for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
                if (strncmp(l, prefix, len) == 0)
                        n++;
        return n;
}

static void test_generate_one_profile(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(good_names); i++)
                for (int nesting = 0; nesting < 2; nesting++) {
                        cleanup_free char *text = NULL, *head = NULL, *peer = NULL;
                        size_t len;

                        assert_int_equal(apparmor_profile_generate(NULL, good_names[i], nesting,
                                                                   &text, NULL),
                                         0);
                        assert_true(asprintf(&head,
                                             "profile \"lodge-%s\" flags=(attach_disconnected,"
                                             "mediate_deleted) {\n",
                                             good_names[i]) > 0);
                        assert_true(asprintf(&peer, "  signal peer=\"lodge-%s\",\n",
                                             good_names[i]) > 0);
                        /* One profile, opened once and closed at the very end. */
                        assert_int_equal(count_lines(text, "profile "), 1);
                        assert_non_null(strstr(text, head));
                        assert_non_null(strstr(text, peer));
                        assert_int_equal(count_lines(text, "}"), 1);
                        len = strlen(text);
                        assert_true(len > 2 && strcmp(text + len - 2, "}\n") == 0);
                }
}

static void test_generate_refuses_bad_names(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad_names); i++) {
                cleanup_error struct lodge_error *err = NULL;
                char *text = NULL;

                assert_int_equal(apparmor_profile_generate(NULL, bad_names[i], false, &text, &err),
                                 -EINVAL);
                assert_null(text);
        }
}

static void test_generate_nesting(void **state)
{
        cleanup_free char *plain = NULL, *nest = NULL;

        (void)state;
        assert_int_equal(apparmor_profile_generate(NULL, "n", false, &plain, NULL), 0);
        assert_int_equal(apparmor_profile_generate(NULL, "n", true, &nest, NULL), 0);
        /* The default: no pivot_root, procfs and sysfs only at their places. */
        assert_null(strstr(plain, "pivot_root"));
        assert_null(strstr(plain, "change_profile"));
        assert_null(strstr(plain, "mount fstype=proc,"));
        assert_non_null(strstr(plain, "  mount fstype=proc -> /proc/,\n"));
        assert_non_null(strstr(plain, "  mount fstype=sysfs -> /sys/,\n"));
        /* Nesting: what a container manager inside needs. */
        assert_non_null(strstr(nest, "  pivot_root,\n"));
        assert_non_null(strstr(nest, "  mount fstype=proc,\n"));
        assert_non_null(strstr(nest, "  change_profile -> \"lodge-n\",\n"));
        /* Both: the host-wide files, and never the policy itself. */
        const char *const both[] = {
                "  deny /proc/sys/kernel/core_pattern wklx,\n",
                "  deny /proc/sysrq-trigger rwklx,\n",
                "  deny /proc/kcore rwklx,\n",
                "  deny /proc/sys/fs/binfmt_misc/{,**} rwklx,\n",
                "  deny /sys/kernel/security/{,**} rwklx,\n",
                "  deny capability mac_admin,\n",
                "  signal (receive) peer=unconfined,\n",
                "  ptrace peer=\"lodge-n\",\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(both); i++) {
                assert_non_null(strstr(plain, both[i]));
                assert_non_null(strstr(nest, both[i]));
        }
}

static void test_label(void **state)
{
        struct lodge_config_security sec = { 0 };
        char *label = (char *)"untouched";

        (void)state;
        sec.apparmor = LODGE_APPARMOR_UNCONFINED;
        assert_int_equal(apparmor_label(&sec, NULL, "web", &label, NULL), 0);
        assert_null(label);

        sec.apparmor = LODGE_APPARMOR_PROFILE;
        sec.apparmor_profile = (char *)"site//web";
        assert_int_equal(apparmor_label(&sec, NULL, "web", &label, NULL), 0);
        assert_string_equal(label, "site//web");
        free(label);

        sec.apparmor = LODGE_APPARMOR_GENERATED;
        assert_int_equal(apparmor_label(&sec, NULL, "web", &label, NULL), 0);
        assert_string_equal(label, "lodge-web");
        free(label);
        label = (char *)"untouched";
        assert_int_equal(apparmor_label(&sec, NULL, "a b", &label, NULL), -EINVAL);
        assert_string_equal(label, "untouched");
}

/* ---- what the rules match, with AppArmor's globs turned into regexes ---- */

/* AppArmor glob to an anchored POSIX ERE: '*' and '?' stop at '/', '**'
 * doesn't, {a,b} is an alternation, [..] a class. */
static char *glob_to_ere(const char *g)
{
        char *out = malloc(strlen(g) * 8 + 3), *o = out;
        int depth = 0;

        assert_non_null(out);
        *o++ = '^';
        for (const char *c = g; *c; c++) {
                if (c[0] == '*' && c[1] == '*') {
                        o = stpcpy(o, ".*");
                        c++;
                } else if (*c == '*') {
                        o = stpcpy(o, "[^/]*");
                } else if (*c == '?') {
                        o = stpcpy(o, "[^/]");
                } else if (*c == '{') {
                        *o++ = '(';
                        depth++;
                } else if (*c == '}') {
                        *o++ = ')';
                        depth--;
                } else if (*c == ',' && depth > 0) {
                        *o++ = '|';
                } else if (*c == '[') {
                        size_t n = strcspn(c, "]") + 1;

                        memcpy(o, c, n);
                        o += n;
                        c += n - 1;
                } else {
                        if (strchr(".+()|^$\\", *c))
                                *o++ = '\\';
                        *o++ = *c;
                }
        }
        *o++ = '$';
        *o = '\0';
        return out;
}

/* Does path match the glob of any line "HEAD GLOB TAIL" of the profile? */
static bool matched(const char *profile, const char *head, const char *tail, const char *path)
{
        size_t hl = strlen(head), tl = strlen(tail);
        bool hit = false;

        for (const char *l = profile; l && *l && !hit; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                size_t n = strcspn(l, "\n");
                cleanup_free char *glob = NULL, *ere = NULL;
                regex_t re;

                if (n < hl + tl || strncmp(l, head, hl) != 0 || strncmp(l + n - tl, tail, tl) != 0)
                        continue;
                glob = strndup(l + hl, n - hl - tl);
                ere = glob_to_ere(glob);
                assert_int_equal(regcomp(&re, ere, REG_EXTENDED | REG_NOSUB), 0);
                hit = regexec(&re, path, 0, NULL, 0) == 0;
                regfree(&re);
        }
        return hit;
}

static void test_rules_match(void **state)
{
        cleanup_free char *p = NULL;
        static const char *const writable[] = {
                "/proc/sys/kernel/hostname",
                "/proc/sys/kernel/domainname",
                "/proc/sys/kernel/shmmax",
                "/proc/sys/kernel/shm_rmid_forced",
                "/proc/sys/kernel/sem",
                "/proc/sys/kernel/msgmnb",
                "/proc/sys/net/ipv4/ip_forward",
                "/proc/sys/net/core/somaxconn",
                "/proc/sys/fs/mqueue/msg_max",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "/sys/fs/cgroup/cgroup.procs",
                "/sys/class/net/eth0/mtu",
                "/sys/devices/virtual/net/eth0/mtu",
                "/proc/1/oom_score_adj",
                "/etc/hostname",
                "/tmp/x",
        };
        static const char *const denied[] = {
                "/proc/sys/kernel/core_pattern",
                "/proc/sys/kernel/modprobe",
                "/proc/sys/kernel/hostnamex",
                "/proc/sys/kernel/h",
                "/proc/sys/kernel/random/boot_id",
                "/proc/sys/kernel/shmmax/x",
                "/proc/sys/k",
                "/proc/sys/kernelx/y",
                "/proc/sys/vm/drop_caches",
                "/proc/sys/fs/binfmt_misc/register",
                "/proc/sys/fs/suid_dumpable",
                "/proc/sys/fs/mqueuex",
                "/proc/sys/user/max_user_namespaces",
                "/proc/sys/netx",
                "/proc/sysrq-trigger",
                "/proc/bus/pci/00/00.0",
                "/proc/irq/1/smp_affinity",
                "/sys/power/state",
                "/sys/kernel/uevent_helper",
                "/sys/fs/bpf/x",
                "/sys/fs/cgroupx",
                "/sys/class/block/sda/x",
                "/sys/devices/system/cpu/cpu1/online",
                "/sys/devices/virtual/block/loop0/x",
                "/sys/module/x/parameters/y",
                "/sys/firmware/efi/efivars/x",
        };
        static const char *const bind_ok[] = { "/home/x", "/var/lib/x", "/p",     "/procs", "/s",
                                               "/system", "/dev/pts",   "/run/x", "/srv",   "/pr" };
        static const char *const bind_no[] = { "/",
                                               "/proc",
                                               "/proc/sys",
                                               "/proc/1/root",
                                               "/sys",
                                               "/sys/kernel",
                                               "/proc/sys/kernel/core_pattern" };

        (void)state;
        assert_int_equal(apparmor_profile_generate(NULL, "m", false, &p, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(writable); i++)
                if (matched(p, "  deny ", " wklx,", writable[i]) ||
                    matched(p, "  deny ", " rwklx,", writable[i]))
                        fail_msg("'%s' should be writable", writable[i]);
        for (size_t i = 0; i < ELEMENTSOF(denied); i++)
                if (!matched(p, "  deny ", " wklx,", denied[i]) &&
                    !matched(p, "  deny ", " rwklx,", denied[i]))
                        fail_msg("'%s' should not be writable", denied[i]);
        for (size_t i = 0; i < ELEMENTSOF(bind_ok); i++)
                if (!matched(p, "  mount options=(rw,bind) ", ",", bind_ok[i]) ||
                    !matched(p, "  mount options=(rw,move) ", ",", bind_ok[i]))
                        fail_msg("'%s' should be a bind source", bind_ok[i]);
        for (size_t i = 0; i < ELEMENTSOF(bind_no); i++)
                if (matched(p, "  mount options=(rw,bind) ", ",", bind_no[i]) ||
                    matched(p, "  mount options=(rw,rbind) ", ",", bind_no[i]) ||
                    matched(p, "  mount options=(rw,move) ", ",", bind_no[i]))
                        fail_msg("'%s' should not be a bind source", bind_no[i]);
}

/* ---- apparmor_parser, where installed: it compiles, and it is one profile ---- */

/* The output without the parser's note that there is no kernel interface. */
static char *drop_notes(char *out)
{
        char *w = out;

        for (char *l = out; *l;) {
                size_t n = strcspn(l, "\n") + (l[strcspn(l, "\n")] ? 1 : 0);

                if (strncmp(l, "Cache read/write disabled", 25) != 0) {
                        memmove(w, l, n);
                        w += n;
                }
                l += n;
        }
        *w = '\0';
        return out;
}

static void test_parser_accepts(void **state)
{
        struct lodge_tmpdir *t = *state;

        if (access(PARSER, X_OK) < 0 || access(FEATURES, R_OK) < 0)
                skip(); /* scripts/deps installs apparmor */
        for (size_t i = 0; i < ELEMENTSOF(good_names); i++)
                for (int nesting = 0; nesting < 2; nesting++) {
                        cleanup_free char *text = NULL, *file = NULL, *out = NULL, *want = NULL;
                        int r;

                        assert_int_equal(apparmor_profile_generate(NULL, good_names[i], nesting,
                                                                   &text, NULL),
                                         0);
                        assert_int_equal(
                                write_file_atomic_at(t->dirfd, "p", text, strlen(text), 0600, NULL),
                                0);
                        assert_true(asprintf(&file, "%s/p", t->path) > 0);
                        r = spawn_wait((char *[]){ PARSER, "-QK", "-M", FEATURES, file, NULL },
                                       &out);
                        if (r != 0)
                                fail_msg(
                                        "apparmor_parser refused the profile of '%s' (exit %d): %s",
                                        good_names[i], r, out);
                        free(out);
                        out = NULL;
                        assert_int_equal(spawn_wait((char *[]){ PARSER, "-N", file, NULL }, &out),
                                         0);
                        assert_true(asprintf(&want, "lodge-%s\n", good_names[i]) > 0);
                        assert_string_equal(drop_notes(out), want);
                }
}

/* ---- at start ---- */

struct warned {
        int n;
        char msg[1024];
};

static void on_warning(const char *msg, void *userdata)
{
        struct warned *w = userdata;

        w->n++;
        snprintf(w->msg, sizeof(w->msg), "%s", msg);
}

static void test_prepare_refusals_leave_nothing(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct lodge_paths p = { .root = t->path };
        struct lodge_config_security sec = { .apparmor = LODGE_APPARMOR_UNCONFINED,
                                             .apparmor_required = true };
        cleanup_error struct lodge_error *err = NULL;
        struct warned w = { 0 };
        struct stat st;

        assert_int_equal(apparmor_prepare(&p, t->dirfd, "web", &sec, on_warning, &w, &err),
                         -EINVAL);
        assert_non_null(strstr(err->msg, "security.apparmor.required"));
        lodge_error_free(&err);
        if (apparmor_host_check(NULL) == 0) {
                /* No AppArmor here: required refuses, generated or not. */
                sec.apparmor = LODGE_APPARMOR_GENERATED;
                assert_int_equal(apparmor_prepare(&p, t->dirfd, "web", &sec, on_warning, &w, &err),
                                 -EOPNOTSUPP);
                assert_non_null(strstr(err->msg, "can't be confined"));
        }
        assert_int_equal(w.n, 0);
        assert_int_equal(fstatat(t->dirfd, APPARMOR_DIR, &st, 0), -1);
        assert_int_equal(errno, ENOENT);
}

static void test_prepare_without_apparmor(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct lodge_paths p = { .root = t->path };
        struct lodge_config_security sec = { .apparmor = LODGE_APPARMOR_GENERATED };
        cleanup_free char *text = NULL, *want = NULL;
        struct warned w = { 0 };
        struct stat st;

        if (apparmor_host_check(NULL) != 0)
                skip(); /* with AppArmor it would load the profile: the integration tests' job */
        assert_int_equal(apparmor_prepare(&p, t->dirfd, "a.b", &sec, on_warning, &w, NULL), 0);
        /* Warned once, and the profile is there to be read and checked. */
        assert_int_equal(w.n, 1);
        assert_non_null(strstr(w.msg, "not root-safe"));
        assert_non_null(strstr(w.msg, "core_pattern"));
        assert_int_equal(fstatat(t->dirfd, APPARMOR_DIR, &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(fstatat(t->dirfd, APPARMOR_DIR "/lodge-a.b", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(
                read_file_at(t->dirfd, APPARMOR_DIR "/lodge-a.b", 1 << 20, &text, NULL, NULL), 0);
        assert_int_equal(apparmor_profile_generate(NULL, "a.b", false, &want, NULL), 0);
        assert_string_equal(text, want);

        /* unconfined: the same warning, no profile; destroy removes what is there. */
        sec.apparmor = LODGE_APPARMOR_UNCONFINED;
        assert_int_equal(apparmor_prepare(&p, t->dirfd, "u", &sec, on_warning, &w, NULL), 0);
        assert_int_equal(w.n, 2);
        assert_int_equal(fstatat(t->dirfd, APPARMOR_DIR "/lodge-u", &st, 0), -1);
        assert_int_equal(apparmor_remove(&p, t->dirfd, "a.b", NULL), 0);
        assert_int_equal(fstatat(t->dirfd, APPARMOR_DIR "/lodge-a.b", &st, 0), -1);
        assert_int_equal(apparmor_remove(&p, t->dirfd, "never", NULL), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_profile_name),
                cmocka_unit_test(test_profile_name_tagged),
                cmocka_unit_test(test_generate_one_profile),
                cmocka_unit_test(test_generate_refuses_bad_names),
                cmocka_unit_test(test_generate_nesting),
                cmocka_unit_test(test_label),
                cmocka_unit_test(test_rules_match),
                cmocka_unit_test_setup_teardown(test_parser_accepts, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_prepare_refusals_leave_nothing,
                                                lodge_tmpdir_setup, lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_prepare_without_apparmor, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
