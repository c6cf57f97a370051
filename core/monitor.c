/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/process.h"
#include "core/guest.h"
#include "core/run.h"

#define MAX_VIEWERS 16

struct viewer {
        int fd;
        bool console; /* else a one-shot request being read */
};

struct monitor {
        const struct monitor_args *a;
        int sigfd; /* SIGTERM: shut the guest down cleanly (a host shutdown sends it) */
        struct cg_host host;
        struct cg_guest cg;
        int master; /* pty master of /dev/console */
        int slave;  /* held open, so the master never hangs up when no guest process has
                     * the console open (poll would report POLLHUP forever) */
        int listen_fd;
        int pidfd;
        pid_t init_pid;
        struct viewer viewers[MAX_VIEWERS];
        size_t n_viewers;
        char *ring; /* the last CONSOLE_RING_SIZE bytes of console output */
        size_t ring_len, ring_pos;
};

static void ring_add(struct monitor *m, const char *buf, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                m->ring[m->ring_pos] = buf[i];
                m->ring_pos = (m->ring_pos + 1) % CONSOLE_RING_SIZE;
        }
        m->ring_len = m->ring_len + n > CONSOLE_RING_SIZE ? CONSOLE_RING_SIZE : m->ring_len + n;
}

/* The ring in order, oldest first, into buf (CONSOLE_RING_SIZE bytes). */
static size_t ring_copy(const struct monitor *m, char *buf)
{
        size_t start = (m->ring_pos + CONSOLE_RING_SIZE - m->ring_len) % CONSOLE_RING_SIZE;

        for (size_t i = 0; i < m->ring_len; i++)
                buf[i] = m->ring[(start + i) % CONSOLE_RING_SIZE];
        return m->ring_len;
}

static void save_console_log(struct monitor *m)
{
        cleanup_free char *buf = malloc(CONSOLE_RING_SIZE);
        size_t n;

        if (!buf)
                return;
        n = ring_copy(m, buf);
        (void)write_file_atomic_at(m->a->rundir_fd, "console.log", buf, n, 0600, NULL);
}

static void write_state(struct monitor *m, enum lodge_state st, const char *ended, int code)
{
        struct run_state s = {
                .state = st,
                .init_pid = st == LODGE_STATE_STOPPED ? 0 : m->init_pid,
                .init_start = st == LODGE_STATE_STOPPED ? 0 : proc_start_time(m->init_pid),
                .monitor_pid = getpid(),
                .monitor_start = proc_start_time(getpid()),
                .stop_signal = m->a->stop_signal,
                .started_at = time(NULL),
                .exit_code = code,
        };
        cleanup_error struct lodge_error *err = NULL;

        snprintf(s.ended, sizeof(s.ended), "%s", ended ? ended : "");
        if (run_state_write(m->a->rundir_fd, &s, &err) < 0)
                log_error("%s: %s", m->a->name, err->msg);
}

/* The console pty: the monitor keeps the master; the guest binds the slave
 * (by name, ret_name) on /dev/console. */
static int open_console(struct monitor *m, char ret_name[static 64], struct lodge_error **err)
{
        cleanup_close int master = -EBADF, slave = -EBADF;
        struct termios t;

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
            ptsname_r(master, ret_name, 64) != 0)
                return lodge_error_set(err, errno ? errno : EIO, "allocate the console pty");
        slave = open(ret_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return lodge_error_set(err, errno, "open the console pty '%s'", ret_name);
        if (tcgetattr(slave, &t) == 0) {
                t.c_oflag |= ONLCR;
                (void)tcsetattr(slave, TCSANOW, &t);
        }
        (void)fcntl(master, F_SETFL, O_NONBLOCK);
        m->master = TAKE_FD(master);
        m->slave = TAKE_FD(slave);
        return 0;
}

static int open_socket(struct monitor *m, struct lodge_error **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        cleanup_close int fd = -EBADF;
        char dir[64];
        int n;

        /* Bind through the run directory's fd: the path stays short. */
        snprintf(dir, sizeof(dir), "/proc/self/fd/%d/" MONITOR_SOCKET, m->a->rundir_fd);
        n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", dir);
        if (n >= (int)sizeof(sa.sun_path))
                return lodge_error_set(err, ENAMETOOLONG, "monitor socket path");
        (void)unlinkat(m->a->rundir_fd, MONITOR_SOCKET, 0);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return lodge_error_set(err, errno, "listen on the monitor socket");
        (void)fchmodat(m->a->rundir_fd, MONITOR_SOCKET, 0600, 0);
        m->listen_fd = TAKE_FD(fd);
        return 0;
}

/* Start the guest's first process and see it through to exec. */
static int launch(struct monitor *m, struct lodge_error **err)
{
        cleanup_close int cgfd = -EBADF;
        bool in_v2 = false;
        char console[64];
        int sv[2], r;
        struct guest_report rep = { 0 };
        char go = 1;
        ssize_t n;

        r = cg_guest_create(&m->cg, err);
        if (r < 0)
                return r;
        r = cg_guest_apply_limits(&m->cg, &m->a->cfg->limits, NULL, err);
        if (r < 0)
                return r;
        r = open_console(m, console, err);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return lodge_error_set(err, errno, "create the sync socket");

        /* Born in its cgroup2 cgroup where it can be: no migration to pay for. */
        cgfd = cg_guest_v2_fd(&m->cg);
        m->init_pid =
                clone_child(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET,
                            cgfd, &m->pidfd, &in_v2);
        if (m->init_pid < 0) {
                r = lodge_error_set(err, -m->init_pid, "clone the guest's first process");
                m->init_pid = 0;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (m->init_pid == 0) {
                struct guest_child c = {
                        .setup = { .name = m->a->name,
                                   .rootfs = m->a->rootfs,
                                   .cfg = m->a->cfg,
                                   .cgroups = &m->host,
                                   .cg = &m->cg,
                                   .in_v2_cgroup = in_v2,
                                   .console = console },
                        .sync_fd = sv[1],
                        .argv = m->a->argv,
                        .envp = m->a->envp,
                };

                close(sv[0]);
                guest_child_main(&c);
        }
        close(sv[1]);

        /* Host side, while the child waits (networking comes here). */
        r = 0;
        if (send(sv[0], &go, 1, MSG_NOSIGNAL) != 1)
                r = lodge_error_set(err, errno ? errno : EPIPE,
                                    "release the guest's first process");
        if (r >= 0) {
                /* EOF: init was exec'd; a report: the step that failed. */
                n = recv(sv[0], &rep, sizeof(rep), 0);
                if (n == (ssize_t)sizeof(rep) && rep.code > 0)
                        r = lodge_error_set(err, rep.code, "%s", rep.msg);
                else if (n < 0)
                        r = lodge_error_set(err, errno, "wait for the guest's first process");
        }
        close(sv[0]);
        return r;
}

static void viewer_drop(struct monitor *m, size_t i)
{
        close(m->viewers[i].fd);
        m->viewers[i] = m->viewers[--m->n_viewers];
}

static void on_console_output(struct monitor *m)
{
        char buf[4096];
        ssize_t n;

        while ((n = read(m->master, buf, sizeof(buf))) > 0) {
                ring_add(m, buf, (size_t)n);
                for (size_t i = 0; i < m->n_viewers; i++)
                        if (m->viewers[i].console &&
                            send(m->viewers[i].fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) <
                                    0 &&
                            errno != EAGAIN)
                                viewer_drop(m, i--);
        }
}

/* The first line a client sends says what it wants: "console" (then a
 * stream both ways) or "log" (the ring, then EOF). */
static void on_viewer_input(struct monitor *m, size_t i)
{
        struct viewer *v = &m->viewers[i];
        char buf[4096];
        ssize_t n = recv(v->fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n <= 0) {
                if (n == 0 || errno != EAGAIN)
                        viewer_drop(m, i);
                return;
        }
        if (v->console) {
                (void)write_all(m->master, buf, (size_t)n);
                return;
        }
        if (n >= 8 && memcmp(buf, "console\n", 8) == 0) {
                v->console = true;
                if (n > 8)
                        (void)write_all(m->master, buf + 8, (size_t)n - 8);
        } else if (n >= 4 && memcmp(buf, "log\n", 4) == 0) {
                cleanup_free char *ring = malloc(CONSOLE_RING_SIZE);

                if (ring) {
                        int fl = fcntl(v->fd, F_GETFL);

                        (void)fcntl(v->fd, F_SETFL, fl & ~O_NONBLOCK);
                        (void)write_all(v->fd, ring, ring_copy(m, ring));
                }
                viewer_drop(m, i);
        } else {
                viewer_drop(m, i);
        }
}

static void on_accept(struct monitor *m)
{
        int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd < 0)
                return;
        if (m->n_viewers >= MAX_VIEWERS) {
                close(fd);
                return;
        }
        m->viewers[m->n_viewers++] = (struct viewer){ .fd = fd };
}

/* Serve until init exits; returns its waitid() status. */
static siginfo_t serve(struct monitor *m)
{
        siginfo_t si = { 0 };

        for (;;) {
                struct pollfd pfd[4 + MAX_VIEWERS] = {
                        { .fd = m->pidfd, .events = POLLIN },
                        { .fd = m->master, .events = POLLIN },
                        { .fd = m->listen_fd, .events = POLLIN },
                        { .fd = m->sigfd, .events = POLLIN },
                };
                size_t nv = m->n_viewers;

                for (size_t i = 0; i < nv; i++)
                        pfd[4 + i] = (struct pollfd){ .fd = m->viewers[i].fd, .events = POLLIN };
                if (poll(pfd, 4 + nv, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error("%s: poll: %m", m->a->name);
                        sleep(1);
                        continue;
                }
                if (pfd[1].revents)
                        on_console_output(m);
                if (pfd[2].revents & POLLIN)
                        on_accept(m);
                if (pfd[3].revents & POLLIN) {
                        struct signalfd_siginfo ssi;

                        if (read(m->sigfd, &ssi, sizeof(ssi)) == (ssize_t)sizeof(ssi)) {
                                log_info("%s: SIGTERM: shutting the guest down", m->a->name);
                                (void)syscall(SYS_pidfd_send_signal, m->pidfd, m->a->stop_signal,
                                              NULL, 0);
                        }
                }
                for (size_t i = nv; i-- > 0;)
                        if (i < m->n_viewers && pfd[4 + i].revents)
                                on_viewer_input(m, i);
                if (pfd[0].revents & POLLIN) {
                        if (waitid(P_PIDFD, (id_t)m->pidfd, &si, WEXITED) == 0)
                                break;
                }
        }
        on_console_output(m); /* the last words */
        return si;
}

/* clean: init exited 0 or was stopped by reboot(2) (SIGINT: power off, SIGHUP:
 * restart, as the kernel does for a PID namespace); killed: SIGKILL. */
static const char *how_it_ended(const siginfo_t *si, bool *ret_reboot, int *ret_code)
{
        *ret_reboot = false;
        if (si->si_code == CLD_EXITED) {
                *ret_code = si->si_status;
                return si->si_status == 0 ? "clean" : "crashed";
        }
        *ret_code = -si->si_status;
        if (si->si_status == SIGINT)
                return "clean";
        if (si->si_status == SIGHUP) {
                *ret_reboot = true;
                return "clean";
        }
        return si->si_status == SIGKILL ? "killed" : "crashed";
}

static void teardown(struct monitor *m)
{
        cleanup_error struct lodge_error *err = NULL;

        (void)cg_guest_kill(&m->cg, NULL);
        if (cg_guest_destroy(&m->cg, &err) < 0)
                log_error("%s: %s", m->a->name, err->msg);
        if (m->pidfd >= 0)
                close(m->pidfd);
        if (m->master >= 0)
                close(m->master);
        if (m->slave >= 0)
                close(m->slave);
        m->pidfd = m->master = m->slave = -EBADF;
}

static void report(int *fd, int code, pid_t pid, const char *msg)
{
        struct start_report rep = { .code = code, .init_pid = pid };

        if (*fd < 0)
                return;
        snprintf(rep.msg, sizeof(rep.msg), "%s", msg ? msg : "");
        (void)write_all(*fd, &rep, sizeof(rep));
        close(*fd);
        *fd = -EBADF;
}

_Noreturn void monitor_main(const struct monitor_args *a)
{
        struct monitor m = {
                .a = a,
                .sigfd = -EBADF,
                .master = -EBADF,
                .slave = -EBADF,
                .listen_fd = -EBADF,
                .pidfd = -EBADF,
        };
        int report_fd = a->report_fd, devnull, code = 0;
        const char *ended = "failed";
        bool reboot = false;

        (void)setsid();
        (void)prctl(PR_SET_NAME, "lodge-monitor");
        signal(SIGPIPE, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        {
                sigset_t term;

                sigemptyset(&term);
                sigaddset(&term, SIGTERM);
                m.sigfd = signalfd(-1, &term, SFD_CLOEXEC | SFD_NONBLOCK);
                /* Blocked only once it can be read; the guest's child unblocks it. */
                if (m.sigfd >= 0)
                        sigprocmask(SIG_BLOCK, &term, NULL);
        }
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull >= 0) {
                (void)dup2(devnull, 0);
                (void)dup2(devnull, 1);
        }
        {
                int logfd = openat(a->rundir_fd, "monitor.log",
                                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

                (void)dup2(logfd >= 0 ? logfd : devnull, 2);
                if (logfd >= 0)
                        close(logfd);
        }

        m.ring = calloc(1, CONSOLE_RING_SIZE);
        do {
                cleanup_error struct lodge_error *err = NULL;
                siginfo_t si;
                int r;

                r = m.ring ? 0 : lodge_error_set(&err, ENOMEM, "allocate the console log");
                if (r >= 0 && m.host.n == 0)
                        r = cg_host_detect(&m.host, &err);
                if (r >= 0 && !m.cg.base)
                        r = cg_guest_init(&m.cg, &m.host, a->paths->root, a->name, &err);
                if (r >= 0 && m.listen_fd < 0)
                        r = open_socket(&m, &err);
                if (r >= 0)
                        r = launch(&m, &err);
                if (r < 0) {
                        log_error("%s: %s: %s", a->name, err->msg, strerror(err->code));
                        report(&report_fd, err->code, 0, err->msg);
                        if (m.init_pid > 0)
                                (void)kill(m.init_pid, SIGKILL);
                        if (m.pidfd >= 0)
                                (void)waitid(P_PIDFD, (id_t)m.pidfd, &si, WEXITED);
                        if (m.cg.base)
                                teardown(&m);
                        ended = "failed";
                        break;
                }
                write_state(&m, LODGE_STATE_RUNNING, NULL, 0);
                report(&report_fd, 0, m.init_pid, NULL);

                si = serve(&m);
                ended = how_it_ended(&si, &reboot, &code);
                teardown(&m);
                log_info("%s: init ended (%s, status %d)%s", a->name, ended, code,
                         reboot ? ", rebooting" : "");
        } while (reboot);

        save_console_log(&m);
        m.init_pid = 0;
        write_state(&m, LODGE_STATE_STOPPED, ended, code);
        (void)unlinkat(a->rundir_fd, MONITOR_SOCKET, 0);
        for (size_t i = 0; i < m.n_viewers; i++)
                close(m.viewers[i].fd);
        _exit(0);
}
