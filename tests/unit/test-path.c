/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "tests/unit/lodge-test.h"

/* A rootfs with an escaping symlink; the host side is t->dirfd/outside. */
static int rootfs_setup(void **state)
{
        struct lodge_tmpdir *t;
        int fd;

        if (lodge_tmpdir_setup(state) < 0)
                return -1;
        t = *state;
        if (mkdirat(t->dirfd, "outside", 0755) < 0 || mkdirat(t->dirfd, "root", 0755) < 0 ||
            mkdirat(t->dirfd, "root/etc", 0755) < 0)
                return -1;
        fd = openat(t->dirfd, "outside/secret", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return -1;
        close(fd);
        fd = openat(t->dirfd, "root/etc/hostname", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return -1;
        close(fd);
        if (symlinkat("../../outside/secret", t->dirfd, "root/etc/rel") < 0 ||
            symlinkat("/etc/hostname", t->dirfd, "root/etc/abs") < 0 ||
            symlinkat("../..", t->dirfd, "root/up") < 0 ||
            symlinkat("loop", t->dirfd, "root/loop") < 0)
                return -1;
        return 0;
}

static void check_in_root(const struct lodge_tmpdir *t)
{
        cleanup_close int root = open_dir_at(t->dirfd, "root");
        cleanup_close int fd = -EBADF;
        struct stat a, b;

        assert_true(root >= 0);
        /* An absolute symlink resolves inside the rootfs, not on the host. */
        fd = open_in_root(root, "etc/abs", O_RDONLY, 0);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &a), 0);
        assert_int_equal(fstatat(root, "etc/hostname", &b, 0), 0);
        assert_true(a.st_ino == b.st_ino);
        closep(&fd);
        fd = -EBADF;
        /* O_PATH too: the link is followed, not returned. */
        fd = open_in_root(root, "etc/abs", O_PATH, 0);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &a), 0);
        assert_true(S_ISREG(a.st_mode));
        closep(&fd);
        fd = -EBADF;
        /* Loops end, and the no-symlinks form refuses any link on the way. */
        assert_int_equal(open_in_root(root, "loop/x", O_RDONLY, 0), -ELOOP);
        assert_int_equal(open_in_root_nosymlinks(root, "etc/abs", O_PATH, 0), -ELOOP);
        assert_int_equal(open_in_root_nosymlinks(root, "up/etc/hostname", O_PATH, 0), -ELOOP);
        fd = open_in_root_nosymlinks(root, "etc/hostname", O_PATH, 0);
        assert_true(fd >= 0);
        closep(&fd);
        fd = -EBADF;
        /* "../../outside/secret" can't climb out. */
        fd = open_in_root(root, "etc/rel", O_RDONLY, 0);
        assert_true(fd < 0);
        fd = open_in_root(root, "up/outside/secret", O_RDONLY, 0);
        assert_true(fd < 0);
        fd = open_in_root(root, "../outside/secret", O_RDONLY, 0);
        assert_true(fd < 0);
        fd = -EBADF;
        /* The nofollow form refuses a final symlink. */
        assert_true(open_in_root_nofollow(root, "etc/abs", O_RDONLY, 0) < 0);
        fd = open_in_root_nofollow(root, "etc/hostname", O_RDONLY, 0);
        assert_true(fd >= 0);
}

static void test_open_in_root(void **state)
{
        check_in_root(*state);
}

static void test_open_in_root_fallback(void **state)
{
        path_force_no_openat2(true);
        check_in_root(*state);
        path_force_no_openat2(false);
}

static void test_mkdir_p_at(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_close int fd = -EBADF;

        fd = mkdir_p_at(t->dirfd, "a/b/c", 0755);
        assert_true(fd >= 0);
        closep(&fd);
        fd = -EBADF;
        assert_int_equal(symlinkat("/", t->dirfd, "a/link"), 0);
        assert_int_equal(mkdir_p_at(t->dirfd, "a/link/x", 0755), -ELOOP);
        assert_int_equal(mkdir_p_at(t->dirfd, "a/../x", 0755), -EINVAL);
}

static void test_filename_is_valid(void **state)
{
        (void)state;
        assert_true(filename_is_valid("config"));
        assert_false(filename_is_valid(""));
        assert_false(filename_is_valid("."));
        assert_false(filename_is_valid(".."));
        assert_false(filename_is_valid("a/b"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_in_root, rootfs_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_open_in_root_fallback, rootfs_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_mkdir_p_at, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test(test_filename_is_valid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
