/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/interrupt.h"
#include "tests/unit/lodge-test.h"

/* Two open files of one lock (flock's locks belong to the open file). */
static void open_twice(const struct lodge_tmpdir *t, int *a, int *b)
{
        *a = openat(t->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        *b = openat(t->dirfd, "lock", O_RDWR | O_CLOEXEC);
        assert_true(*a >= 0 && *b >= 0);
}

/* Before any signal: a free lock is got, a held one is refused without
 * LOCK_NB's waiting, and a wait for it ends when an interrupt signal comes. */
static void test_flock_wait_interrupted(void **state)
{
        cleanup_close int a = -EBADF, b = -EBADF;
        pid_t parent = getpid(), child;
        int status;

        open_twice(*state, &a, &b);
        assert_int_equal(interrupt_flock(a, LOCK_EX), 0);
        assert_int_equal(interrupt_flock(b, LOCK_SH | LOCK_NB), -EWOULDBLOCK);
        assert_int_equal(interrupt_pending(), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                /* Until the parent sleeps in its wait for the lock (not a timing: it
                 * can't be got, so the parent waits however late this comes). */
                for (int i = 0; i < 500; i++) {
                        char path[64], st[256] = "";
                        cleanup_close int fd = -EBADF;

                        snprintf(path, sizeof(path), "/proc/%d/stat", (int)parent);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd >= 0 && read(fd, st, sizeof(st) - 1) > 0 && strstr(st, ") S "))
                                break;
                        usleep(10000);
                }
                _exit(kill(parent, SIGINT) == 0 ? 0 : 1);
        }
        assert_int_equal(interrupt_flock(b, LOCK_EX), -EINTR);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_int_equal(status, 0);
        assert_int_equal(interrupt_pending(), SIGINT);
}

/* Once a signal came: a free lock is still got (clean-up needs it), a held
 * one is given up at once instead of waited for. */
static void test_flock_after_interrupt(void **state)
{
        cleanup_close int a = -EBADF, b = -EBADF;

        assert_int_equal(interrupt_pending(), SIGINT);
        open_twice(*state, &a, &b);
        assert_int_equal(interrupt_flock(a, LOCK_SH), 0);
        assert_int_equal(interrupt_flock(b, LOCK_SH), 0);
        assert_int_equal(interrupt_flock(b, LOCK_EX), -EINTR);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_flock_wait_interrupted, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_flock_after_interrupt, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
        };

        interrupt_install();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
