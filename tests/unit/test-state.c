/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/core-internal.h"
#include "tests/unit/lodge-test.h"

static void test_names(void **state)
{
        static const char *const good[] = { "a", "web", "web-1", "A.b_c-d", "0abc", "x123456789" };
        static const char *const bad[] = { "",        ".",        "..", "../escaped",
                                           "a/b",     "-leading", "_x", "sp ace",
                                           "q\"uote", "üñí",      "*",  "nl\nlxc.x=1",
                                           ".hidden", "a\tb" };
        char long_name[80];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_int_equal(lodge_name_check(good[i], NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                cleanup_error struct lodge_error *err = NULL;

                assert_int_equal(lodge_name_check(bad[i], &err), -EINVAL);
                assert_non_null(strstr(err->msg, "invalid container name"));
        }
        memset(long_name, 'a', 63);
        long_name[63] = '\0';
        assert_int_equal(lodge_name_check(long_name, NULL), 0);
        long_name[63] = 'a';
        long_name[64] = '\0';
        assert_int_equal(lodge_name_check(long_name, NULL), -EINVAL);
}

static void test_lock_excludes_and_cleans_up(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct container_lock a = CONTAINER_LOCK_NULL, b = CONTAINER_LOCK_NULL;
        cleanup_error struct lodge_error *err = NULL;
        struct stat st;

        assert_int_equal(container_lock(t->dirfd, "web", "create", &a, &err), 0);
        assert_int_equal(container_trylock(t->dirfd, "web", "destroy", &b, &err), -EBUSY);
        assert_non_null(strstr(err->msg, "locked by pid"));
        assert_non_null(strstr(err->msg, "(create)"));
        container_unlock(&a);
        /* Released locks leave nothing behind. */
        assert_int_equal(fstatat(t->dirfd, "web", &st, 0), -1);
        assert_int_equal(container_trylock(t->dirfd, "web", "destroy", &b, NULL), 0);
        container_unlock(&b);
}

static void test_lock_waits_for_other_process(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct container_lock l = CONTAINER_LOCK_NULL;
        cleanup_error struct lodge_error *err = NULL;
        int ready[2];
        char c;
        pid_t pid;

        assert_int_equal(pipe(ready), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct container_lock held = CONTAINER_LOCK_NULL;

                if (container_lock(t->dirfd, "db", "start", &held, NULL) < 0)
                        _exit(1);
                (void)write(ready[1], "x", 1);
                usleep(300 * 1000);
                container_unlock(&held);
                _exit(0);
        }
        assert_int_equal(read(ready[0], &c, 1), 1);

        /* A timeout of 0 says who holds it ... */
        setenv("LODGE_LOCK_TIMEOUT", "0", 1);
        assert_int_equal(container_lock(t->dirfd, "db", "destroy", &l, &err), -EBUSY);
        assert_non_null(strstr(err->msg, "(start)"));
        /* ... and a longer one waits until the holder is done. */
        setenv("LODGE_LOCK_TIMEOUT", "10", 1);
        assert_int_equal(container_lock(t->dirfd, "db", "destroy", &l, NULL), 0);
        container_unlock(&l);
        unsetenv("LODGE_LOCK_TIMEOUT");
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        close(ready[0]);
        close(ready[1]);
}

static void paths_in(const struct lodge_tmpdir *t, struct lodge_paths *p)
{
        assert_int_equal(asprintf(&p->root, "%s/root", t->path) > 0, 1);
        assert_int_equal(asprintf(&p->rundir, "%s/run", t->path) > 0, 1);
        p->cache = strdup("/nonexistent");
        p->conf = strdup("/nonexistent");
}

static void test_root_dirs_refuse_hostile(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct lodge_paths p = { 0 };
        struct root_dirs d = ROOT_DIRS_NULL;
        cleanup_error struct lodge_error *err = NULL;

        paths_in(t, &p);
        /* Not there yet and not asked to create: ENOENT. */
        assert_int_equal(root_dirs_open(&p, false, &d, NULL), -ENOENT);

        /* A symlink planted where the root goes is never followed. */
        assert_int_equal(symlinkat("/etc", t->dirfd, "root"), 0);
        assert_int_equal(root_dirs_open(&p, true, &d, &err), -ELOOP);
        assert_int_equal(unlinkat(t->dirfd, "root", 0), 0);
        lodge_error_free(&err);

        /* A world-writable directory is not ours alone. */
        assert_int_equal(mkdirat(t->dirfd, "root", 0777), 0);
        assert_int_equal(fchmodat(t->dirfd, "root", 0777, 0), 0);
        assert_int_equal(root_dirs_open(&p, true, &d, &err), -EPERM);
        assert_non_null(strstr(err->msg, "writable"));
        assert_int_equal(fchmodat(t->dirfd, "root", 0711, 0), 0);

        assert_int_equal(root_dirs_open(&p, true, &d, NULL), 0);
        root_dirs_done(&d);
        lodge_paths_done(&p);
}

static void write_state(const struct lodge_tmpdir *t, const char *name, const char *text)
{
        cleanup_close int fd = -EBADF;
        char path[256];

        snprintf(path, sizeof(path), "run/%s", name);
        (void)mkdirat(t->dirfd, "run", 0700);
        (void)mkdirat(t->dirfd, path, 0700);
        fd = openat(t->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write_file_atomic_at(fd, "state", text, strlen(text), 0644, NULL), 0);
}

static void test_state_read(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct lodge_paths p = { 0 };
        cleanup_error struct lodge_error *err = NULL;
        enum lodge_state st;
        int64_t pid;
        char text[128];

        paths_in(t, &p);
        assert_int_equal(state_read(&p, "none", &st, &pid, NULL), 0);
        assert_int_equal(st, LODGE_STATE_STOPPED);

        snprintf(text, sizeof(text), "version=1\nstate=RUNNING\npid=%d\n", (int)getpid());
        write_state(t, "live", text);
        assert_int_equal(state_read(&p, "live", &st, &pid, NULL), 0);
        assert_int_equal(st, LODGE_STATE_RUNNING);
        assert_int_equal(pid, getpid());

        /* A state file outliving its init (a reboot, a kill -9) means stopped. */
        write_state(t, "dead", "version=1\nstate=RUNNING\npid=2147483646\n");
        assert_int_equal(state_read(&p, "dead", &st, &pid, NULL), 0);
        assert_int_equal(st, LODGE_STATE_STOPPED);

        write_state(t, "future", "version=2\nstate=RUNNING\n");
        assert_int_equal(state_read(&p, "future", &st, &pid, &err), -EPROTO);
        assert_non_null(strstr(err->msg, "unknown version"));
        lodge_error_free(&err);

        write_state(t, "garbage", "state=RUNNING\n");
        assert_int_equal(state_read(&p, "garbage", &st, &pid, &err), -EPROTO);
        lodge_paths_done(&p);
}

static void test_gc_removes_only_abandoned(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct lodge_paths p = { 0 };
        struct root_dirs d = ROOT_DIRS_NULL;
        struct container_lock l = CONTAINER_LOCK_NULL;
        struct stat st;

        paths_in(t, &p);
        assert_int_equal(root_dirs_open(&p, true, &d, NULL), 0);
        assert_int_equal(mkdirat(d.containers, ".create-old-0000abcd", 0700), 0);
        assert_int_equal(mkdirat(d.containers, ".create-old-0000abcd/rootfs", 0700), 0);
        assert_int_equal(mkdirat(d.containers, ".destroy-gone-12345678", 0700), 0);
        assert_int_equal(mkdirat(d.containers, ".create-busy-11111111", 0700), 0);
        assert_int_equal(mkdirat(d.containers, ".unrelated", 0700), 0);
        assert_int_equal(container_lock(d.locks, "busy", "create", &l, NULL), 0);

        state_gc(&d);
        assert_int_equal(fstatat(d.containers, ".create-old-0000abcd", &st, 0), -1);
        assert_int_equal(fstatat(d.containers, ".destroy-gone-12345678", &st, 0), -1);
        /* A create in progress keeps its directory; unknown entries are left alone. */
        assert_int_equal(fstatat(d.containers, ".create-busy-11111111", &st, 0), 0);
        assert_int_equal(fstatat(d.containers, ".unrelated", &st, 0), 0);
        container_unlock(&l);
        root_dirs_done(&d);
        lodge_paths_done(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test_setup_teardown(test_lock_excludes_and_cleans_up,
                                                lodge_tmpdir_setup, lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_lock_waits_for_other_process,
                                                lodge_tmpdir_setup, lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_root_dirs_refuse_hostile, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_state_read, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_gc_removes_only_abandoned, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
