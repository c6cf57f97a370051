/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* meta_read() and meta_render_templates(): the LXC image metadata, with the
 * hostile configs of M-01 and the hostile templates of M-02. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"
#include "tests/unit/lodge-test.h"

struct member {
        const char *name;
        const char *text;
        size_t len; /* 0: strlen(text) */
};

static void make_meta(const struct lodge_tmpdir *t, const char *file, const struct member *m)
{
        struct archive *a = archive_write_new();
        char path[256];

        assert_non_null(a);
        snprintf(path, sizeof(path), "%s/%s", t->path, file);
        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        assert_true(archive_write_add_filter_xz(a) >= ARCHIVE_WARN);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (; m->name; m++) {
                struct archive_entry *e = archive_entry_new();
                size_t len = m->len ? m->len : strlen(m->text);

                archive_entry_set_pathname(e, m->name);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, (int64_t)len);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                assert_int_equal(archive_write_data(a, m->text, len), (la_ssize_t)len);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static int read_meta(const struct lodge_tmpdir *t, const char *file, struct image_meta *m,
                     struct lodge_error **err)
{
        cleanup_close int fd = openat(t->dirfd, file, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        return meta_read(fd, file, m, err);
}

static void test_read(void **state)
{
        struct lodge_tmpdir *t = *state;
        static const struct member members[] = {
                { "./", "" },
                { "./config", "# distrobuilder\n"
                              "lxc.include = LXC_TEMPLATE_CONFIG/common.conf\n"
                              "\n"
                              "lxc.arch = x86_64\n"
                              "lxc.environment = FOO=bar baz\n"
                              "lxc.signal.halt = SIGRTMIN+3\n"
                              "lxc.init.cmd = /sbin/init --log-level=info\n"
                              "lxc.arch\t=\tamd64\n" },
                { "./config-user", "lxc.include = LXC_TEMPLATE_CONFIG/userns.conf\n" },
                { "./templates", "/etc/hostname\n/etc/hosts\n\n" },
                { "./create-message", "You just created a Debian container.\n" },
                { "./excludes-user", "./dev/null\n./dev/zero\n" },
                { "./expiry", "1700000000\n" },
                { "./something-new", "ignored" },
                { NULL },
        };
        CLEANUP(image_meta_done) struct image_meta m = { 0 };
        cleanup_error struct lodge_error *err = NULL;

        make_meta(t, "meta.tar.xz", members);
        assert_int_equal(read_meta(t, "meta.tar.xz", &m, &err), 0);
        assert_int_equal(strv_length(m.config), 4);
        assert_string_equal(m.config[0], "arch=amd64"); /* the later line wins */
        assert_string_equal(m.config[1], "environment.FOO=bar baz");
        assert_string_equal(m.config[2], "init.stop_signal=SIGRTMIN+3");
        assert_string_equal(m.config[3], "init.cmd=/sbin/init --log-level=info");
        assert_null(m.warnings);
        assert_int_equal(strv_length(m.templates), 2);
        assert_string_equal(m.templates[0], "/etc/hostname");
        assert_string_equal(m.templates[1], "/etc/hosts");
        assert_int_equal(strv_length(m.excludes), 2);
        assert_string_equal(m.excludes[0], "./dev/null");
        assert_string_equal(m.create_message, "You just created a Debian container.\n");
        assert_true(m.expiry == 1700000000);
}

/* M-01: every dangerous key is reported and none reaches the config. */
static void test_hostile_keys(void **state)
{
        struct lodge_tmpdir *t = *state;
        static const struct member members[] = {
                { "config", "lxc.hook.pre-start = /bin/sh -c 'touch /pwned'\n"
                            "lxc.mount.entry = / host none bind 0 0\n"
                            "lxc.mount.entry = /etc etc none bind 0 0\n"
                            "lxc.apparmor.profile = unconfined\n"
                            "lxc.cap.drop =\n"
                            "lxc.seccomp.profile =\n"
                            "lxc.idmap = u 0 0 65536\n"
                            "lxc.include = /etc/lxc/evil.conf\n"
                            "lxc.include = /usr/share/lxc/config/../../../../etc/x\n"
                            "lxc.environment = HOME\n"
                            "lxc.environment = 1BAD=x\n"
                            "lxc.arch = vax\n"
                            "lxc.signal.halt = SIGNOPE\n"
                            "just garbage\n" },
                { NULL },
        };
        static const char *const expected[] = {
                "image config key 'lxc.hook.pre-start' is not supported, ignoring",
                "image config key 'lxc.mount.entry' is not supported, ignoring",
                "image config key 'lxc.apparmor.profile' is not supported, ignoring",
                "image config key 'lxc.cap.drop' is not supported, ignoring",
                "image config key 'lxc.seccomp.profile' is not supported, ignoring",
                "image config key 'lxc.idmap' is not supported, ignoring",
                "image config key 'lxc.include' is not supported, ignoring",
        };
        CLEANUP(image_meta_done) struct image_meta m = { 0 };
        cleanup_error struct lodge_error *err = NULL;
        size_t mounts = 0;

        make_meta(t, "meta.tar.xz", members);
        assert_int_equal(read_meta(t, "meta.tar.xz", &m, &err), 0);
        assert_null(m.config);
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                if (!strv_contains(m.warnings, expected[i]))
                        fail_msg("no warning '%s'", expected[i]);
        STRV_FOREACH (w, m.warnings)
                mounts += strstr(*w, "lxc.mount.entry") != NULL;
        assert_int_equal(mounts, 1); /* said once */
        assert_int_equal(strv_length(m.warnings), ELEMENTSOF(expected) + 4);
}

static void test_refuses_control_characters(void **state)
{
        struct lodge_tmpdir *t = *state;
        static const struct member esc_value[] = { { "config", "lxc.arch = x86_64\x1b[2J\n" },
                                                   { NULL } };
        static const struct member cr[] = { { "config", "lxc.arch = x86_64\r\n" }, { NULL } };
        static const struct member esc_message[] = { { "create-message", "hi\x1b]0;x\x07\n" },
                                                     { NULL } };
        static const struct member nul[] = { { "templates", "/etc/hostname\0/x\n", 16 }, { NULL } };
        static const struct member *const cases[] = { esc_value, cr, esc_message, nul };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                CLEANUP(image_meta_done) struct image_meta m = { 0 };
                cleanup_error struct lodge_error *err = NULL;

                make_meta(t, "meta.tar.xz", cases[i]);
                assert_int_equal(read_meta(t, "meta.tar.xz", &m, &err), -EINVAL);
                assert_non_null(strstr(err->msg, "'meta.tar.xz'"));
                assert_null(m.config);
        }
}

static void test_limits(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct member many[70] = { { NULL } };
        char names[66][16];
        cleanup_free char *big = malloc((1 << 20) + 2);

        assert_non_null(big);
        memset(big, 'a', (1 << 20) + 1);
        big[(1 << 20) + 1] = '\0';
        {
                const struct member members[] = { { "config", big }, { NULL } };
                CLEANUP(image_meta_done) struct image_meta m = { 0 };
                cleanup_error struct lodge_error *err = NULL;

                make_meta(t, "big.tar.xz", members);
                assert_int_equal(read_meta(t, "big.tar.xz", &m, &err), -EFBIG);
                assert_non_null(strstr(err->msg, "'config' is larger than"));
        }
        for (size_t i = 0; i < 65; i++) {
                snprintf(names[i], sizeof(names[i]), "junk%zu", i);
                many[i] = (struct member){ names[i], "x" };
        }
        {
                CLEANUP(image_meta_done) struct image_meta m = { 0 };
                cleanup_error struct lodge_error *err = NULL;

                make_meta(t, "many.tar.xz", many);
                assert_int_equal(read_meta(t, "many.tar.xz", &m, &err), -EFBIG);
                assert_non_null(strstr(err->msg, "more than 64 members"));
        }
}

static void test_bad_expiry_and_not_a_tar(void **state)
{
        struct lodge_tmpdir *t = *state;
        static const struct member expiry[] = { { "expiry", "tomorrow\n" }, { NULL } };
        CLEANUP(image_meta_done) struct image_meta m = { 0 };
        cleanup_error struct lodge_error *err = NULL;

        make_meta(t, "meta.tar.xz", expiry);
        assert_int_equal(read_meta(t, "meta.tar.xz", &m, &err), -EINVAL);
        lodge_error_free(&err);
        {
                cleanup_close int fd =
                        openat(t->dirfd, "junk.tar.xz", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

                assert_int_equal(write(fd, "<html>nope</html>\n", 18), 18);
        }
        assert_int_equal(read_meta(t, "junk.tar.xz", &m, &err), -EBADMSG);
        assert_non_null(strstr(err->msg, "'junk.tar.xz': not a tar archive"));
}

/* ---- templates ---- */

static void write_at(int dirfd, const char *path, const char *text, mode_t mode)
{
        cleanup_close int fd =
                openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(fchmod(fd, mode), 0);
}

static void assert_content(int dirfd, const char *path, const char *text)
{
        cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char buf[256] = { 0 };

        assert_true(fd >= 0);
        assert_true(read(fd, buf, sizeof(buf) - 1) >= 0);
        assert_string_equal(buf, text);
}

/* t/rootfs/etc, and t/outside/secret which no template may touch. */
static int rootfs_setup(void **state)
{
        struct lodge_tmpdir *t;

        if (lodge_tmpdir_setup(state) < 0)
                return -1;
        t = *state;
        if (mkdirat(t->dirfd, "rootfs", 0755) < 0 || mkdirat(t->dirfd, "rootfs/etc", 0755) < 0 ||
            mkdirat(t->dirfd, "outside", 0755) < 0)
                return -1;
        write_at(t->dirfd, "outside/secret", "root:secret\n", 0600);
        return 0;
}

static int render(const struct lodge_tmpdir *t, char **templates, struct lodge_error **err)
{
        cleanup_close int root = open_dir_at(t->dirfd, "rootfs");

        assert_true(root >= 0);
        return meta_render_templates(root, "web", templates, err);
}

static void test_render(void **state)
{
        struct lodge_tmpdir *t = *state;
        char *templates[] = { (char *)"/etc/hostname", (char *)"/etc/hosts", (char *)"/etc/missing",
                              (char *)"/nodir/x",      (char *)"etc/plain",  NULL };
        cleanup_error struct lodge_error *err = NULL;
        struct stat before, after;

        write_at(t->dirfd, "rootfs/etc/hostname", "LXC_NAME\n", 0644);
        write_at(t->dirfd, "rootfs/etc/hosts",
                 "127.0.1.1\tLXC_NAME\n# LXC_ROOTFS_PATH LXC_PATH LXC_NAMES LXC_\n", 0640);
        write_at(t->dirfd, "rootfs/etc/plain", "nothing to see\n", 0600);
        if (geteuid() == 0)
                assert_int_equal(fchownat(t->dirfd, "rootfs/etc/hosts", 123, 456, 0), 0);
        assert_int_equal(fstatat(t->dirfd, "rootfs/etc/plain", &before, 0), 0);

        assert_int_equal(render(t, templates, &err), 0);
        assert_content(t->dirfd, "rootfs/etc/hostname", "web\n");
        assert_content(t->dirfd, "rootfs/etc/hosts", "127.0.1.1\tweb\n# / / webS LXC_\n");
        assert_int_equal(fstatat(t->dirfd, "rootfs/etc/hosts", &after, 0), 0);
        assert_int_equal(after.st_mode & 07777, 0640);
        if (geteuid() == 0) {
                assert_int_equal(after.st_uid, 123);
                assert_int_equal(after.st_gid, 456);
        }
        /* Untouched when there is nothing to substitute. */
        assert_int_equal(fstatat(t->dirfd, "rootfs/etc/plain", &after, 0), 0);
        assert_true(before.st_ino == after.st_ino);
        /* No temporary file left behind. */
        {
                int fd = openat(t->dirfd, "rootfs/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                cleanup_closedir DIR *etc = fdopendir(fd);
                unsigned n = 0;

                assert_non_null(etc);
                while (readdir(etc))
                        n++;
                assert_int_equal(n, 5); /* ., .., hostname, hosts, plain */
        }
}

/* M-02: symlinks to host files, escapes by "..", FIFOs and devices. */
static void check_hostile_templates(const struct lodge_tmpdir *t)
{
        char target[256];

        snprintf(target, sizeof(target), "%s/outside/secret", t->path);
        assert_int_equal(symlinkat(target, t->dirfd, "rootfs/etc/hostname"), 0);
        {
                char *templates[] = { (char *)"/etc/hostname", NULL };
                cleanup_error struct lodge_error *err = NULL;

                assert_int_equal(render(t, templates, &err), -ELOOP);
                assert_non_null(strstr(err->msg, "template '/etc/hostname'"));
        }
        {
                /* Resolved inside the rootfs, where there's no such file. */
                char *templates[] = { (char *)"../../outside/secret", (char *)"/../outside/secret",
                                      NULL };
                cleanup_error struct lodge_error *err = NULL;
                int r = render(t, templates, &err);

                assert_true(r == 0 || r == -EXDEV); /* EXDEV: the no-openat2 fallback */
        }
        assert_int_equal(mkfifoat(t->dirfd, "rootfs/etc/hosts", 0644), 0);
        {
                char *templates[] = { (char *)"/etc/hosts", NULL };
                cleanup_error struct lodge_error *err = NULL;

                assert_int_equal(render(t, templates, &err), -EINVAL);
                assert_non_null(strstr(err->msg, "not a regular file"));
        }
        assert_int_equal(mkdirat(t->dirfd, "rootfs/etc/dir", 0755), 0);
        {
                char *templates[] = { (char *)"/etc/dir", NULL };
                cleanup_error struct lodge_error *err = NULL;

                assert_int_equal(render(t, templates, &err), -EINVAL);
        }
        assert_content(t->dirfd, "outside/secret", "root:secret\n");
}

static void test_render_hostile(void **state)
{
        check_hostile_templates(*state);
}

static void test_render_hostile_no_openat2(void **state)
{
        path_force_no_openat2(true);
        check_hostile_templates(*state);
        path_force_no_openat2(false);
}

#define ROOTFS_TEST(f) cmocka_unit_test_setup_teardown(f, rootfs_setup, lodge_tmpdir_teardown)
#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, lodge_tmpdir_setup, lodge_tmpdir_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                TMP_TEST(test_read),
                TMP_TEST(test_hostile_keys),
                TMP_TEST(test_refuses_control_characters),
                TMP_TEST(test_limits),
                TMP_TEST(test_bad_expiry_and_not_a_tar),
                ROOTFS_TEST(test_render),
                ROOTFS_TEST(test_render_hostile),
                ROOTFS_TEST(test_render_hostile_no_openat2),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
