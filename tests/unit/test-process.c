/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/process.h"
#include "tests/unit/lodge-test.h"

#define SH "/bin/sh"

static void test_spawn_status_and_output(void **state)
{
        cleanup_free char *out = NULL;

        (void)state;
        assert_int_equal(spawn_wait((char *[]){ "/bin/true", NULL }, NULL), 0);
        assert_int_equal(spawn_wait((char *[]){ "/bin/false", NULL }, NULL), 1);
        assert_int_equal(
                spawn_wait((char *[]){ SH, "-c", "echo out; echo err >&2; exit 3", NULL }, &out),
                3);
        assert_string_equal(out, "out\nerr\n");
        freep(&out);
        out = NULL;
        assert_int_equal(spawn_wait((char *[]){ SH, "-c", "kill -TERM $$", NULL }, NULL),
                         128 + SIGTERM);
}

static void test_spawn_refuses(void **state)
{
        (void)state;
        /* Never searched in PATH, and a missing program is told apart from a failing one. */
        assert_int_equal(spawn_wait((char *[]){ "sh", "-c", "true", NULL }, NULL), -EINVAL);
        assert_int_equal(spawn_wait((char *[]){ "/nonexistent/program", NULL }, NULL), -ENOENT);
}

/* Nothing of the caller's reaches the program: environment, fds, stdin, the
 * signal mask and ignored signals (research/security.md H-05, H-06). */
static void test_spawn_clean(void **state)
{
        cleanup_free char *out = NULL;
        sigset_t block, saved;
        int fd;

        (void)state;
        assert_int_equal(setenv("LD_PRELOAD", "/tmp/evil.so", 1), 0);
        fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC, on purpose */
        assert_true(fd >= 0);
        assert_int_equal(dup2(fd, 42), 42);
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        assert_int_equal(sigprocmask(SIG_BLOCK, &block, &saved), 0);
        signal(SIGINT, SIG_IGN);

        assert_int_equal(spawn_wait((char *[]){ SH, "-c",
                                                "env | sort; [ -e /proc/self/fd/42 ] && echo fd42; "
                                                "grep -E '^Sig(Blk|Ign)' /proc/self/status; "
                                                "cat",
                                                NULL },
                                    &out),
                         0);
        assert_non_null(strstr(out, "LC_ALL=C\n"));
        assert_non_null(strstr(out, "PATH=/usr/local/sbin:"));
        assert_null(strstr(out, "LD_PRELOAD"));
        assert_null(strstr(out, "fd42"));
        assert_non_null(strstr(out, "SigBlk:\t0000000000000000"));
        assert_non_null(strstr(out, "SigIgn:\t0000000000000000"));

        signal(SIGINT, SIG_DFL);
        sigprocmask(SIG_SETMASK, &saved, NULL);
        close(42);
        close(fd);
        unsetenv("LD_PRELOAD");
}

static void test_spawn_output_is_capped(void **state)
{
        cleanup_free char *out = NULL;

        (void)state;
        /* Much more than the cap: read to the end (no deadlock), keep the start. */
        assert_int_equal(spawn_wait((char *[]){ SH, "-c",
                                                "i=0; while [ $i -lt 2000 ]; do "
                                                "echo 0123456789abcdef; i=$((i+1)); done",
                                                NULL },
                                    &out),
                         0);
        assert_int_equal(strlen(out), SPAWN_OUTPUT_MAX);
        assert_memory_equal(out, "0123456789abcdef\n0123", 21);
}

struct lines {
        char got[8][64];
        unsigned n;
        size_t longest;
        char last[64];
};

static void on_line(const char *line, void *userdata)
{
        struct lines *l = userdata;

        if (l->n < 8)
                snprintf(l->got[l->n], sizeof(l->got[0]), "%s", line);
        l->n++;
        if (strlen(line) > l->longest)
                l->longest = strlen(line);
        snprintf(l->last, sizeof(l->last), "%s", line);
}
static void test_spawn_lines(void **state)
{
        struct lines l = { 0 };
        struct spawn_options opts = { .on_line = on_line, .userdata = &l };

        (void)state;
        /* 3000 lines (far beyond any buffer), then one of 2500 bytes in pieces,
         * then a last one without a newline, on stderr. */
        assert_int_equal(spawn_wait_opts((char *[]){ SH, "-c",
                                                     "i=0; while [ $i -lt 3000 ]; do "
                                                     "echo line$i; i=$((i+1)); done; "
                                                     "printf '%2500s\\n' x; "
                                                     "printf 'the end' >&2; exit 4",
                                                     NULL },
                                         &opts, NULL),
                         4);
        assert_int_equal(l.n, 3000 + 3 + 1);
        assert_int_equal(l.longest, SPAWN_LINE_MAX);
        assert_string_equal(l.last, "the end");
        assert_int_equal(spawn_wait_opts((char *[]){ "/nonexistent/program", NULL }, &opts, NULL),
                         -ENOENT);
}

/* Is pid gone (or a zombie, reparented to init and not yet reaped)? */
static bool gone(pid_t pid)
{
        char path[64], st[256] = "";
        cleanup_fclose FILE *f = NULL;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        f = fopen(path, "re");
        return !f || !fgets(st, sizeof(st), f) || strstr(st, ") Z ");
}

/* A spawned program dies with lodge: a child spawns "sleep", then is killed. */
static void test_spawn_dies_with_parent(void **state)
{
        char buf[32] = "";
        pid_t child, sleeper;
        int p[2];
        bool dead = false;

        (void)state;
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                /* Spawn closes all but 0-2 in the program: it reports through our fd 200. */
                char *argv[] = { SH, "-c", "echo $$ >/proc/$PPID/fd/200; exec sleep 60", NULL };

                if (dup2(p[1], 200) < 0)
                        _exit(1);
                (void)spawn_wait(argv, NULL);
                _exit(0);
        }
        close(p[1]);
        assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
        close(p[0]);
        sleeper = (pid_t)atoi(buf);
        assert_true(sleeper > 0);
        assert_int_equal(kill(child, SIGKILL), 0);
        assert_int_equal(waitpid(child, NULL, 0), child);
        for (int i = 0; i < 100 && !dead; i++) {
                dead = gone(sleeper);
                if (!dead)
                        usleep(20000);
        }
        if (!dead)
                (void)kill(sleeper, SIGKILL);
        assert_true(dead);
}

/* fds become 3, 4, … even when they are 3 and 4 swapped; lines come one by one. */
static void test_spawn_fds_and_lines(void **state)
{
        cleanup_close int a = open("/dev/null", O_RDONLY | O_CLOEXEC);
        cleanup_close int b = -EBADF;
        struct lines l = { 0 };
        int p[2], fds[2];
        struct spawn_options so = { .fds = fds, .n_fds = 2, .on_line = on_line, .userdata = &l };
        char buf[16] = { 0 };

        (void)state;
        assert_true(a >= 0);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        b = p[0];
        fds[0] = p[1]; /* the write end becomes 3 */
        fds[1] = a;    /* /dev/null becomes 4 */
        assert_int_equal(spawn_wait_opts((char *[]){ SH, "-c",
                                                     "echo one; echo hi >&3; printf 'two\\nthree';"
                                                     "[ -r /dev/fd/4 ] && ! [ -e /dev/fd/5 ]",
                                                     NULL },
                                         &so, NULL),
                         0);
        close(p[1]);
        assert_int_equal(read(b, buf, sizeof(buf) - 1), 3);
        assert_string_equal(buf, "hi\n");
        assert_int_equal(l.n, 3);
        assert_string_equal(l.got[0], "one");
        assert_string_equal(l.got[1], "two");
        assert_string_equal(l.got[2], "three");
        so.n_fds = SPAWN_FDS_MAX + 1;
        assert_int_equal(spawn_wait_opts((char *[]){ "/bin/true", NULL }, &so, NULL), -EINVAL);
}

/* A signal that comes while a line is handled (not while the wait blocks)
 * is still seen: the program is killed, and so is what it started, not
 * waited for to their end. */
static volatile sig_atomic_t cancel_sig;

static void on_cancel_sig(int sig)
{
        cancel_sig = sig;
}

static void raise_on_line(const char *line, void *userdata)
{
        pid_t *first = userdata;

        if (*first == 0)
                *first = (pid_t)atoi(line);
        if (!cancel_sig)
                (void)raise(SIGINT);
}

static bool cancel_asked(void *userdata)
{
        (void)userdata;
        return cancel_sig != 0;
}

static void test_spawn_cancel(void **state)
{
        struct sigaction sa = { .sa_handler = on_cancel_sig }, old;
        pid_t sleeper = 0;
        struct spawn_options so = { .on_line = raise_on_line,
                                    .cancel = cancel_asked,
                                    .userdata = &sleeper };
        sigset_t mask;

        (void)state;
        sigemptyset(&sa.sa_mask);
        assert_int_equal(sigaction(SIGINT, &sa, &old), 0);
        /* A child of its own (not holding the output), then a line now and then
         * for 20 s; the signal comes in the first line's handler. */
        assert_int_equal(spawn_wait_opts((char *[]){ SH, "-c",
                                                     "sleep 60 >/dev/null 2>&1 & echo $!; "
                                                     "i=0; while [ $i -lt 100 ]; do "
                                                     "echo $i; sleep 0.2; i=$((i+1)); done",
                                                     NULL },
                                         &so, NULL),
                         128 + SIGKILL);
        assert_int_equal(cancel_sig, SIGINT);
        assert_true(sleeper > 0);
        for (int i = 0; i < 100 && !gone(sleeper); i++)
                usleep(20000);
        if (!gone(sleeper))
                (void)kill(sleeper, SIGKILL);
        assert_true(gone(sleeper));
        /* The mask is the caller's again. */
        assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
        assert_false(sigismember(&mask, SIGINT));
        assert_int_equal(sigaction(SIGINT, &old, NULL), 0);
}

static volatile int vfork_mark;

static int vfork_exit(void *arg)
{
        vfork_mark = *(int *)arg;
        _exit(*(int *)arg);
}

static int vfork_exec(void *arg)
{
        execv(SH, (char *[]){ SH, "-c", arg, NULL });
        _exit(127);
}

static int vfork_deep(void *arg)
{
        volatile char buf[128 << 10];

        (void)arg;
        for (size_t i = 0; i < sizeof(buf); i += 4096)
                buf[i] = 1;
        _exit(buf[0] == 1 ? 0 : 1);
}

static int wait_status(pid_t pid)
{
        int status;
        pid_t r = waitpid(pid, &status, 0);

        if (r <= 0)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_clone_vfork(void **state)
{
        bool in_cgroup = true;
        int code = 7;
        pid_t pid;

        (void)state;
        vfork_mark = 0;
        pid = clone_vfork(-1, vfork_exit, &code, &in_cgroup);
        assert_true(pid > 0);
        assert_false(in_cgroup);
#ifndef CLONE_VFORK_FORKS
        assert_int_equal(vfork_mark, 7); /* it ran in this memory, done when the call returned */
#endif
        assert_int_equal(wait_status(pid), 7);

        pid = clone_vfork(-1, vfork_exec, "exit 5", &in_cgroup);
        assert_true(pid > 0);
        assert_int_equal(wait_status(pid), 5);
        /* A stack of its own with room: 128 KiB of it used. */
        pid = clone_vfork(-1, vfork_deep, NULL, &in_cgroup);
        assert_true(pid > 0);
        assert_int_equal(wait_status(pid), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spawn_status_and_output),
                cmocka_unit_test(test_spawn_refuses),
                cmocka_unit_test(test_spawn_fds_and_lines),
                cmocka_unit_test(test_spawn_clean),
                cmocka_unit_test(test_spawn_output_is_capped),
                cmocka_unit_test(test_spawn_lines),
                cmocka_unit_test(test_spawn_dies_with_parent),
                cmocka_unit_test(test_spawn_cancel),
                cmocka_unit_test(test_clone_vfork),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
