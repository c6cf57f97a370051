/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/core-internal.h"
#include "core/monitor.h"
#include "core/run.h"

#define CTRL_A 0x01

/* Connect to monitor.sock through the run directory's fd, so the socket path
 * fits sun_path whatever $LODGE_RUNDIR is. */
static int monitor_connect(int rundirfd, struct lodge_error **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" MONITOR_SOCKET, rundirfd);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return lodge_error_set(err, errno, "connect to the monitor");
        return TAKE_FD(fd);
}

static int print_log(int rundirfd, struct lodge_error **err)
{
        cleanup_close int fd = monitor_connect(rundirfd, NULL);
        cleanup_free char *text = NULL;
        char buf[16384];
        size_t len = 0;
        ssize_t n;
        int r;

        if (fd >= 0) {
                if (write_all(fd, "log\n", 4) < 0)
                        return lodge_error_set(err, errno, "ask the monitor for the log");
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        (void)write_all(STDOUT_FILENO, buf, (size_t)n);
                return 0;
        }
        /* Stopped: the log the monitor left. */
        r = read_file_at(rundirfd, "console.log", CONSOLE_RING_SIZE, &text, &len, err);
        if (r == -ENOENT) {
                lodge_error_free(err);
                return lodge_error_set(err, ENOENT, "no console log (never started)");
        }
        if (r < 0)
                return r;
        (void)write_all(STDOUT_FILENO, text, len);
        return 0;
}

/* Terminal → console, minding the escape: Ctrl-a q detaches, Ctrl-a a sends
 * a Ctrl-a. Returns false once the user detached. */
static bool forward_input(int sock, const char *buf, size_t n, bool *escape)
{
        for (size_t i = 0; i < n; i++) {
                char c = buf[i];

                if (*escape) {
                        *escape = false;
                        if (c == 'q')
                                return false;
                        if (c != 'a')
                                continue;
                        c = CTRL_A;
                } else if (c == CTRL_A) {
                        *escape = true;
                        continue;
                }
                if (write_all(sock, &c, 1) < 0)
                        return false;
        }
        return true;
}

static int attach_console(int rundirfd, const char *name, int ttynum, struct lodge_error **err)
{
        cleanup_close int sock = monitor_connect(rundirfd, err);
        struct termios saved, raw;
        bool restore = false, escape = false, tty = isatty(STDIN_FILENO);
        char buf[4096], what[16];
        int len;

        if (sock < 0)
                return sock;
        if (ttynum == 0) {
                snprintf(what, sizeof(what), "console");
                len = snprintf(buf, sizeof(buf), "console\n");
        } else {
                snprintf(what, sizeof(what), "tty%d", ttynum);
                len = snprintf(buf, sizeof(buf), "tty %d\n", ttynum);
        }
        if (write_all(sock, buf, (size_t)len) < 0)
                return lodge_error_set(err, errno, "ask the monitor for the %s", what);
        if (tty)
                fprintf(stderr, "Connected to the %s of '%s'; type Ctrl-a q to detach.\r\n", what,
                        name);
        if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
                raw = saved;
                cfmakeraw(&raw);
                restore = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
        }
        for (bool in_open = true;;) {
                struct pollfd p[2] = {
                        { .fd = sock, .events = POLLIN },
                        { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                };
                ssize_t n;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents) {
                        n = read(sock, buf, sizeof(buf));
                        if (n <= 0)
                                break; /* the guest stopped */
                        (void)write_all(STDOUT_FILENO, buf, (size_t)n);
                }
                if (p[1].revents) {
                        n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n <= 0)
                                in_open = false;
                        else if (!forward_input(sock, buf, (size_t)n, &escape))
                                break;
                }
        }
        if (restore)
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (tty)
                fprintf(stderr, "\nDetached from the %s.\n", what);
        return 0;
}

int lodge_container_console(const struct lodge_paths *p, const char *name, int tty, bool log_only,
                            struct lodge_error **err)
{
        cleanup_close int rundirfd = -EBADF;
        struct run_state st;
        int r;

        r = lodge_name_check(name, err);
        if (r < 0)
                return r;
        if (tty < 0 || tty > LODGE_TTYS)
                return lodge_error_set(err, EINVAL, "no tty %d: a guest has tty1 to tty%d", tty,
                                       LODGE_TTYS);
        if (tty > 0 && log_only)
                return lodge_error_set(err, EINVAL, "only the console has a log");
        r = run_state_read(p, name, &st, err);
        if (r < 0)
                return r;
        rundirfd = run_dir_open(p, name, false, err);
        if (rundirfd < 0) {
                if (rundirfd != -ENOENT)
                        return rundirfd;
                lodge_error_free(err);
                return lodge_error_set(err, ENOENT,
                                       log_only ? "no console log (never started)"
                                                : "container is not running");
        }
        if (log_only)
                return print_log(rundirfd, err);
        if (st.state == LODGE_STATE_STOPPED)
                return lodge_error_set(err, ESRCH, "container is not running");
        return attach_console(rundirfd, name, tty, err);
}
