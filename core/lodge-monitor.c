/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lodge-monitor: what a guest's monitor becomes once the guest's init runs
 * (core/monitor.c, become_small). It serves the console and monitor.sock and
 * waits for init to end, then execs lodge again (through the descriptor it
 * was given) to record how the guest ended, clean up, or boot it again after
 * a reboot. Statically linked where the toolchain allows, it keeps ~0.5 MiB
 * resident per guest where a copy of the client kept ~2. Not for humans:
 * its arguments and descriptors are described in core/monitor-serve.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/monitor-serve.h"

static int parse_int(const char *s, int lo, int hi, int *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < lo || v > hi)
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

int main(int argc, char **argv)
{
        struct monitor_serve s = {
                .pidfd = MONITOR_FD_PIDFD,
                .master = MONITOR_FD_MASTER,
                .listen_fd = MONITOR_FD_LISTEN,
                .sigfd = MONITOR_FD_SIGNAL,
        };
        int fds[MONITOR_FD_TTYS - 3 + 2 * MONITOR_TTYS + MONITOR_MAX_VIEWERS];
        char viewers[MONITOR_MAX_VIEWERS + 2], code[16], status[16], ttys[4];
        const char *root, *name;
        siginfo_t si;
        size_t n = 0;
        int keeper, r;

        lodge_log_set_level(LODGE_LOG_INFO);
        /* PROTOCOL ROOT NAME STOP_SIGNAL TTYS VIEWERS KEEPER_PID */
        if (argc != 8 || strcmp(argv[1], MONITOR_PROTOCOL) != 0 ||
            parse_int(argv[7], 0, INT_MAX, &keeper) < 0 ||
            parse_int(argv[4], 1, SIGRTMAX, &s.stop_signal) < 0 ||
            monitor_ttys_parse(&s, argv[5]) < 0 ||
            monitor_viewers_parse(&s, argv[6], monitor_fd_viewers(s.n_ttys)) < 0) {
                fprintf(stderr, "lodge-monitor: started by lodge only, which gives it its "
                                "descriptors and arguments\n");
                return 2;
        }
        root = argv[2];
        name = argv[3];
        s.name = name;
        r = console_ring_map(MONITOR_FD_RING, &s.ring);
        if (r < 0) {
                log_error("%s: map the console log: %s", name, strerror(-r));
                return 1;
        }
        /* The console is ours to read from now on: monitor_serve() takes over. */
        s.keeper = keeper;
        s.keeper_stop = keeper > 0 ? monitor_fd_viewers(s.n_ttys) + (int)s.n_viewers : -1;

        si = monitor_serve(&s);
        console_ring_unmap(s.ring);

        /* Back to lodge, with the descriptors where it expects them. */
        for (int fd = MONITOR_FD_PIDFD; fd < monitor_fd_viewers(s.n_ttys); fd++)
                fds[n++] = fd;
        for (size_t i = 0; i < s.n_viewers; i++)
                fds[n++] = s.viewers[i].fd;
        monitor_viewers_format(&s, viewers);
        r = monitor_fds_arrange(fds, n, MONITOR_FD_PIDFD);
        if (r < 0) {
                log_error("%s: arrange descriptors for lodge: %s", name, strerror(-r));
                return 1;
        }
        snprintf(code, sizeof(code), "%d", si.si_code);
        snprintf(status, sizeof(status), "%d", si.si_status);
        snprintf(ttys, sizeof(ttys), "%zu", s.n_ttys);
        {
                char *args[] = {
                        "lodge",      "--root", (char *)root, "__monitor", MONITOR_PROTOCOL,
                        (char *)name, code,     status,       ttys,        viewers,
                        NULL
                };

                (void)syscall(SYS_execveat, MONITOR_FD_LODGE, "", args, environ, AT_EMPTY_PATH);
        }
        log_error("%s: run lodge to clean up after the guest: %m", name);
        return 1;
}
