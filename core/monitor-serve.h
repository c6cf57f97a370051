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

struct monitor_viewer {
        int fd;
        bool console; /* else a one-shot request being read */
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
 * descriptors are at these numbers (console viewers from MONITOR_FD_VIEWERS
 * up), and the arguments are:
 *   lodge-monitor MONITOR_PROTOCOL ROOT NAME STOP_SIGNAL VIEWERS KEEPER_PID
 *   lodge --root ROOT __monitor MONITOR_PROTOCOL NAME SI_CODE SI_STATUS VIEWERS
 * the second once init has ended, through MONITOR_FD_LODGE. VIEWERS: one
 * character per viewer, 'c' for a console stream, 'r' for a request not read
 * yet, or "-" for none. KEEPER_PID: the console keeper, whose stop fd follows
 * the viewers' (0: none). */
#define MONITOR_PROTOCOL "1"
enum {
        MONITOR_FD_PIDFD = 3,
        MONITOR_FD_MASTER,
        MONITOR_FD_SLAVE,
        MONITOR_FD_LISTEN,
        MONITOR_FD_SIGNAL,
        MONITOR_FD_RING,
        MONITOR_FD_RUNDIR,
        MONITOR_FD_LODGE, /* O_PATH of the lodge executable */
        MONITOR_FD_VIEWERS,
};

/* Move the n fds in fds[] to first, first+1, ... (not close-on-exec) and
 * close every other fd from 3 up. fds[] is updated. */
int monitor_fds_arrange(int *fds, size_t n, int first);
