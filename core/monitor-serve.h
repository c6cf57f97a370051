/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: what the monitor does while the guest runs: keep the
 * console's last output, serve monitor.sock, pass SIGTERM on as the guest's
 * stop signal, and wait for init to end. It needs nothing but libc and
 * core/base, so that it can also run as the small static lodge-monitor
 * executable the monitor becomes once init runs (a process of its own
 * instead of a copy of the whole client: ~0.5 MiB resident instead of ~2). */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_RING_SIZE (128 * 1024)
#define MONITOR_SOCKET "monitor.sock"
#define MONITOR_MAX_VIEWERS 16
/* A guest's /dev/tty1.. (ptys of its own devpts, their masters held here). */
#define MONITOR_TTYS 4

/* The console's last CONSOLE_RING_SIZE bytes, in a memfd so that it outlives
 * the execs between the monitor and lodge-monitor. */
struct console_ring {
        uint32_t pos, len;
        uint32_t lock; /* held across each read of the console and its copies:
                        * the keeper and the monitor may both read for a moment */
        char data[CONSOLE_RING_SIZE];
};

/* A new ring (fd: its memfd), or map the one in fd. */
int console_ring_create(struct console_ring **ret, int *ret_fd);
int console_ring_map(int fd, struct console_ring **ret);
void console_ring_unmap(struct console_ring *r);
void console_ring_add(struct console_ring *r, const char *buf, size_t n);
/* The ring in order, oldest first, into buf (CONSOLE_RING_SIZE bytes). */
size_t console_ring_copy(const struct console_ring *r, char *buf);

/* What a viewer is connected to: a request not read yet, the console, or
 * /dev/ttyN (N = 1..MONITOR_TTYS). */
#define VIEWER_REQUEST (-1)
#define VIEWER_CONSOLE 0

struct monitor_viewer {
        int fd;
        int target; /* VIEWER_REQUEST, VIEWER_CONSOLE or a tty's number */
};

/* One of the guest's ttys: the master, and a slave held open so that the
 * master never reports a hang-up while no guest process has the tty open. */
struct monitor_tty {
        int master, slave;
};

struct monitor_serve {
        const char *name; /* for log lines */
        int pidfd;        /* init, our child */
        int master;       /* console pty master */
        int listen_fd;    /* monitor.sock */
        int sigfd;        /* SIGTERM */
        int stop_signal;  /* what SIGTERM becomes for init */
        pid_t keeper;     /* console_keeper_start()'s child still reading, or 0 */
        int keeper_stop;  /* its stop fd */
        struct console_ring *ring;
        struct monitor_viewer viewers[MONITOR_MAX_VIEWERS];
        size_t n_viewers;
        struct monitor_tty tty[MONITOR_TTYS]; /* tty[0] is /dev/tty1 */
        size_t n_ttys;
};

/* Serve until init exits; returns its waitid() status (init reaped). A
 * console keeper (keeper > 0) is stopped once this reads the console too, and
 * reaped: the handoff leaves no moment when nobody reads. */
siginfo_t monitor_serve(struct monitor_serve *s);

/* A child process that keeps reading the console into the ring (and to the
 * console viewers) while the monitor execs: console output nobody reads is
 * lost when a guest process flushes or hangs up the console. monitor_serve()
 * takes over from it (s->keeper); console_keeper_stop() stops and reaps it
 * where nobody is to take over. */
pid_t console_keeper_start(const struct monitor_serve *s, int *ret_stop_fd);
void console_keeper_stop(pid_t pid, int stop_fd);

/* Between the monitor (lodge) and lodge-monitor, across execve, the
 * descriptors are at these numbers: the fixed ones, then each tty's master
 * and slave from MONITOR_FD_TTYS up, then the viewers (from
 * monitor_fd_viewers(TTYS) up); and the arguments are:
 *   lodge-monitor MONITOR_PROTOCOL ROOT NAME STOP_SIGNAL TTYS VIEWERS KEEPER_PID
 *   lodge --root ROOT __monitor MONITOR_PROTOCOL NAME SI_CODE SI_STATUS TTYS VIEWERS
 * the second once init has ended, through MONITOR_FD_LODGE. TTYS: how many
 * ttys (0..MONITOR_TTYS). VIEWERS: one character per viewer (monitor_viewers_format()),
 * or "-" for none. KEEPER_PID: the console keeper, whose stop fd follows the
 * viewers' (0: none). */
#define MONITOR_PROTOCOL "2"
enum {
        MONITOR_FD_PIDFD = 3,
        MONITOR_FD_MASTER,
        MONITOR_FD_SLAVE,
        MONITOR_FD_LISTEN,
        MONITOR_FD_SIGNAL,
        MONITOR_FD_RING,
        MONITOR_FD_RUNDIR,
        MONITOR_FD_LODGE, /* O_PATH of the lodge executable */
        MONITOR_FD_TTYS,
};

static inline int monitor_fd_viewers(size_t n_ttys)
{
        return MONITOR_FD_TTYS + 2 * (int)n_ttys;
}

/* The viewers as that argument says them ('r': a request, 'c': the console,
 * '1'..: a tty), into buf (MONITOR_MAX_VIEWERS + 2 bytes); and back: the
 * viewers' targets set in s (their fds from first up), s->n_ttys set
 * already. -EINVAL for a bad list, or a tty s doesn't have. */
void monitor_viewers_format(const struct monitor_serve *s, char *buf);
int monitor_viewers_parse(struct monitor_serve *s, const char *list, int first);

/* The count of TTYS, checked; their fds set in s (from MONITOR_FD_TTYS up). */
int monitor_ttys_parse(struct monitor_serve *s, const char *arg);

/* Move the n fds in fds[] to first, first+1, ... (not close-on-exec) and
 * close every other fd from 3 up. fds[] is updated. */
int monitor_fds_arrange(int *fds, size_t n, int first);
