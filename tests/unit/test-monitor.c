/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/monitor-serve.h"
#include "tests/unit/lodge-test.h"

/* The ring keeps the last CONSOLE_RING_SIZE bytes in order, across wraps and
 * writes larger than itself, and a second mapping (another process, after an
 * exec) sees the same. */
static void test_console_ring(void **state)
{
        struct console_ring *r = NULL, *again = NULL;
        cleanup_free char *big = malloc(CONSOLE_RING_SIZE * 2 + 7);
        cleanup_free char *out = malloc(CONSOLE_RING_SIZE);
        int fd = -1;

        (void)state;
        assert_non_null(big);
        assert_non_null(out);
        assert_int_equal(console_ring_create(&r, &fd), 0);
        assert_int_equal(console_ring_copy(r, out), 0);

        console_ring_add(r, "hello ", 6);
        console_ring_add(r, "world", 5);
        assert_int_equal(console_ring_copy(r, out), 11);
        assert_memory_equal(out, "hello world", 11);

        /* Past the end: the oldest bytes go, the order stays. */
        for (size_t i = 0; i < CONSOLE_RING_SIZE * 2 + 7; i++)
                big[i] = (char)('a' + i % 26);
        console_ring_add(r, big, CONSOLE_RING_SIZE - 3);
        assert_int_equal(console_ring_copy(r, out), CONSOLE_RING_SIZE);
        assert_memory_equal(out, "world" + 2, 3);
        assert_memory_equal(out + 3, big, 10); /* "abc..." right after "rld" */
        assert_memory_equal(out + CONSOLE_RING_SIZE - 1, big + CONSOLE_RING_SIZE - 4, 1);

        /* Larger than the ring at once: its last CONSOLE_RING_SIZE bytes. */
        console_ring_add(r, big, CONSOLE_RING_SIZE * 2 + 7);
        assert_int_equal(console_ring_copy(r, out), CONSOLE_RING_SIZE);
        assert_memory_equal(out, big + CONSOLE_RING_SIZE + 7, CONSOLE_RING_SIZE);

        assert_int_equal(console_ring_map(fd, &again), 0);
        console_ring_add(again, "!", 1);
        assert_int_equal(console_ring_copy(r, out), CONSOLE_RING_SIZE);
        assert_int_equal(out[CONSOLE_RING_SIZE - 1], '!');
        console_ring_unmap(again);
        console_ring_unmap(r);

        /* Not a ring: a file of another size. */
        assert_int_equal(ftruncate(fd, 4096), 0);
        assert_int_equal(console_ring_map(fd, &again), -EINVAL);
        close(fd);
}

/* Descriptors land at first, first+1, ... whatever their numbers were (also
 * when a target number is one of them), and nothing else stays open. */
static void test_fds_arrange(void **state)
{
        int a = open("/dev/null", O_RDONLY | O_CLOEXEC), b = open("/dev/zero", O_RDONLY);
        int c = dup(b), stray = open("/dev/null", O_RDONLY);
        int fds[3], first = 20;
        struct stat st_a, st_b, st;

        (void)state;
        assert_true(a >= 0 && b >= 0 && c >= 0 && stray >= 0);
        assert_int_equal(fstat(a, &st_a), 0);
        assert_int_equal(fstat(b, &st_b), 0);
        /* b goes where a is wanted and a where c is: moves must not clobber. */
        assert_int_equal(dup2(b, first), first);
        close(b);
        fds[0] = first; /* /dev/zero */
        fds[1] = a;     /* /dev/null */
        fds[2] = c;     /* /dev/zero */
        assert_int_equal(monitor_fds_arrange(fds, 3, first), 0);
        assert_int_equal(fds[0], first);
        assert_int_equal(fds[2], first + 2);
        assert_int_equal(fstat(first, &st), 0);
        assert_true(st.st_rdev == st_b.st_rdev);
        assert_int_equal(fstat(first + 1, &st), 0);
        assert_true(st.st_rdev == st_a.st_rdev);
        assert_int_equal(fcntl(first + 1, F_GETFD), 0); /* kept across exec */
        assert_int_equal(fcntl(stray, F_GETFD), -1);
        for (int i = 0; i < 3; i++)
                close(first + i);
        assert_int_equal(fcntl(first + 3, F_GETFD), -1);
}

/* The viewers and ttys as lodge-monitor's arguments carry them across an
 * exec: each viewer's target round-trips, fds follow the ttys', and a bad
 * list or count is refused. */
static void test_viewers_args(void **state)
{
        struct monitor_serve s = { 0 }, back = { 0 };
        char buf[MONITOR_MAX_VIEWERS + 2];

        (void)state;
        monitor_viewers_format(&s, buf);
        assert_string_equal(buf, "-");
        assert_int_equal(monitor_viewers_parse(&back, buf, 20), 0);
        assert_int_equal(back.n_viewers, 0);

        assert_int_equal(monitor_ttys_parse(&s, "4"), 0);
        assert_int_equal(s.n_ttys, 4);
        assert_int_equal(s.tty[0].master, MONITOR_FD_TTYS);
        assert_int_equal(s.tty[3].slave, MONITOR_FD_TTYS + 7);
        assert_int_equal(monitor_fd_viewers(s.n_ttys), MONITOR_FD_TTYS + 8);
        s.viewers[0] = (struct monitor_viewer){ .fd = 40, .target = VIEWER_CONSOLE };
        s.viewers[1] = (struct monitor_viewer){ .fd = 41, .target = VIEWER_REQUEST };
        s.viewers[2] = (struct monitor_viewer){ .fd = 42, .target = 4 };
        s.n_viewers = 3;
        monitor_viewers_format(&s, buf);
        assert_string_equal(buf, "cr4");
        assert_int_equal(monitor_viewers_parse(&back, buf, 20), -EINVAL); /* back has no tty */
        assert_int_equal(monitor_ttys_parse(&back, "4"), 0);
        assert_int_equal(monitor_viewers_parse(&back, buf, monitor_fd_viewers(4)), 0);
        assert_int_equal(back.n_viewers, 3);
        assert_int_equal(back.viewers[0].target, VIEWER_CONSOLE);
        assert_int_equal(back.viewers[1].target, VIEWER_REQUEST);
        assert_int_equal(back.viewers[2].target, 4);
        assert_int_equal(back.viewers[2].fd, monitor_fd_viewers(4) + 2);

        assert_int_equal(monitor_viewers_parse(&back, "c5", 20), -EINVAL);
        assert_int_equal(monitor_viewers_parse(&back, "x", 20), -EINVAL);
        assert_int_equal(monitor_viewers_parse(&back, "ccccccccccccccccc", 20), -EINVAL);
        assert_int_equal(monitor_ttys_parse(&back, "5"), -EINVAL);
        assert_int_equal(monitor_ttys_parse(&back, "1x"), -EINVAL);
        assert_int_equal(monitor_ttys_parse(&back, ""), -EINVAL);
        assert_int_equal(monitor_ttys_parse(&back, "0"), 0);
        assert_int_equal(back.n_ttys, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_console_ring),
                cmocka_unit_test(test_fds_arrange),
                cmocka_unit_test(test_viewers_args),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
