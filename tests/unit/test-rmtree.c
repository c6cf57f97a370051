/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "tests/unit/lodge-test.h"

static void touch(int dirfd, const char *name)
{
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        close(fd);
}

static void test_removes_tree_not_symlink_targets(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        struct stat st;

        assert_int_equal(mkdirat(t->dirfd, "victim", 0755), 0);
        touch(t->dirfd, "victim/keep");
        assert_int_equal(mkdirat(t->dirfd, "tree", 0755), 0);
        assert_int_equal(mkdirat(t->dirfd, "tree/a", 0755), 0);
        touch(t->dirfd, "tree/a/f");
        assert_int_equal(symlinkat("../../victim", t->dirfd, "tree/a/link"), 0);
        assert_int_equal(mkfifoat(t->dirfd, "tree/fifo", 0600), 0);
        /* A directory without any permission bits is still removed. */
        assert_int_equal(mkdirat(t->dirfd, "tree/locked", 0), 0);

        assert_int_equal(rm_rf_at(t->dirfd, "tree", &err), 0);
        assert_int_equal(fstatat(t->dirfd, "tree", &st, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(fstatat(t->dirfd, "victim/keep", &st, 0), 0);
        /* Missing is success. */
        assert_int_equal(rm_rf_at(t->dirfd, "tree", &err), 0);
}

static void test_deep_tree(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_close int cur = -EBADF;
        struct stat st;

        assert_int_equal(mkdirat(t->dirfd, "deep", 0755), 0);
        cur = open_dir_at(t->dirfd, "deep");
        for (int i = 0; i < 1000; i++) {
                int next;

                assert_int_equal(mkdirat(cur, "d", 0755), 0);
                touch(cur, "f");
                next = open_dir_at(cur, "d");
                assert_true(next >= 0);
                close(cur);
                cur = next;
        }
        assert_int_equal(rm_rf_at(t->dirfd, "deep", &err), 0);
        assert_int_equal(fstatat(t->dirfd, "deep", &st, 0), -1);
}

static void test_clears_immutable(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_close int fd = -EBADF;
        int flags = FS_IMMUTABLE_FL;
        struct stat st;

        if (geteuid() != 0)
                skip();
        assert_int_equal(mkdirat(t->dirfd, "tree", 0755), 0);
        touch(t->dirfd, "tree/immutable");
        fd = openat(t->dirfd, "tree/immutable", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
                skip(); /* the filesystem (tmpfs before 6.0…) may not support flags */
        closep(&fd);
        fd = -EBADF;
        assert_int_equal(rm_rf_at(t->dirfd, "tree", &err), 0);
        assert_int_equal(fstatat(t->dirfd, "tree", &st, 0), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_removes_tree_not_symlink_targets,
                                                lodge_tmpdir_setup, lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_deep_tree, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_clears_immutable, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
