/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/exe.h"
#include "tests/unit/lodge-test.h"

static void test_unwritable(void **state)
{
        const struct lodge_tmpdir *t = *state;
        cleanup_close int file = -EBADF, mem = -EBADF;

        file = openat(t->dirfd, "exe", O_RDWR | O_CREAT | O_CLOEXEC, 0755);
        assert_true(file >= 0);
        assert_false(exe_fd_unwritable(file));

        mem = memfd_create("exe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        assert_true(mem >= 0);
        assert_int_equal(write(mem, "x", 1), 1);
        assert_false(exe_fd_unwritable(mem));
        /* A write seal alone isn't enough: without F_SEAL_SEAL it could be lifted... */
        assert_int_equal(fcntl(mem, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW), 0);
        assert_false(exe_fd_unwritable(mem));
        assert_int_equal(fcntl(mem, F_ADD_SEALS, F_SEAL_SEAL), 0);
        assert_true(exe_fd_unwritable(mem));
        assert_int_equal(write(mem, "y", 1), -1);
}

/* The test runs itself again through exe_reexec_unwritable(): as root from a
 * read-only bind mount, otherwise from a sealed copy. The new process checks
 * where it runs from, and calls it again, which must now return at once. */
static void test_reexec(void **state)
{
        char self[] = "/proc/self/exe", arg[] = "reexec-child";
        int status;
        pid_t pid;

        (void)state;
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void)exe_reexec_unwritable((char *[]){ self, arg, NULL }, NULL);
                _exit(99);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static int reexec_child(char **argv)
{
        cleanup_close int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

        if (fd < 0 || !exe_fd_unwritable(fd))
                return 1;
        return exe_reexec_unwritable(argv, NULL) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unwritable, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test(test_reexec),
        };

        if (argc == 2 && strcmp(argv[1], "reexec-child") == 0)
                return reexec_child(argv);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
