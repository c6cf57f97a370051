/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fdpass.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/path.h"
#include "core/base/process.h"
#include "core/core-internal.h"
#include "core/guest-net.h"
#include "core/guest.h"
#include "core/run.h"
#include "storage/storage.h"

struct monitor {
        struct monitor_args *a;
        struct monitor_serve s; /* pidfd, console master, socket, SIGTERM, ring, viewers */
        int ring_fd;
        int slave;    /* held open, so the master never hangs up when no guest process has
                       * the console open (poll would report POLLHUP forever) */
        int lodge_fd; /* O_PATH of the lodge executable, for lodge-monitor to come back */
        struct cg_host host;
        struct cg_guest cg;
        pid_t init_pid;
        uint64_t init_start; /* init_pid's, read once it is cloned */
        char *running_tmp;   /* prepare_running()'s file, or NULL */
        int held[2];         /* the replaced monitor.log and state, until the client's answer */
};

_Static_assert(MONITOR_TTYS == LODGE_TTYS, "the monitor holds every tty a guest has");

#define MONITOR_NULL(args)                                                                         \
        {                                                                                          \
                .a = (args),                                                                       \
                .s = { .name = (args)->name,                                                       \
                       .pidfd = -EBADF,                                                            \
                       .master = -EBADF,                                                           \
                       .listen_fd = -EBADF,                                                        \
                       .sigfd = -EBADF,                                                            \
                       .keeper_stop = -EBADF },                                                    \
                .ring_fd = -EBADF, .slave = -EBADF, .lodge_fd = -EBADF, .host = { .v2 = -1 },      \
                .held = { -EBADF, -EBADF },                                                        \
        }

static void save_console_log(struct monitor *m)
{
        cleanup_free char *buf = NULL;
        size_t n;

        if (!m->s.ring || !(buf = malloc(CONSOLE_RING_SIZE)))
                return;
        n = console_ring_copy(m->s.ring, buf);
        (void)write_file_replace_at(m->a->rundir_fd, "console.log", buf, n, 0600, NULL);
}

static struct run_state state_of(struct monitor *m, enum lodge_state st, const char *ended,
                                 int code)
{
        struct run_state s = {
                .state = st,
                .init_pid = st == LODGE_STATE_STOPPED ? 0 : m->init_pid,
                .init_start = st == LODGE_STATE_STOPPED ? 0 : m->init_start,
                .monitor_pid = getpid(),
                .monitor_start = proc_start_time(getpid()),
                .stop_signal = st == LODGE_STATE_STOPPED ? 0 : m->a->stop_signal,
                .started_at = time(NULL),
                .exit_code = code,
        };

        snprintf(s.ended, sizeof(s.ended), "%s", ended ? ended : "");
        return s;
}

static void write_state(struct monitor *m, enum lodge_state st, const char *ended, int code)
{
        struct run_state s = state_of(m, st, ended, code);
        cleanup_error struct lodge_error *err = NULL;

        if (run_state_write(m->a->rundir_fd, &s, &err) < 0)
                log_error("%s: %s", m->a->name, err->msg);
}

/* A file about to be replaced (renamed over, or unlinked and made anew) is
 * held open meanwhile, so that its inode is let go when release_held() closes
 * it, once the client has its answer: freeing a file's blocks waits for the
 * disk (the discard, on a filesystem mounted with it), and ext4 can make the
 * last close of a replaced file wait for its data to be written first. */
static void hold(struct monitor *m, size_t i, int fd)
{
        if (m->held[i] >= 0)
                close(m->held[i]);
        m->held[i] = fd;
}

static void release_held(struct monitor *m)
{
        for (size_t i = 0; i < ELEMENTSOF(m->held); i++)
                hold(m, i, -EBADF);
}

/* The state "running", written while the guest's first process finishes
 * (the client hears of the start only once it is in place). */
static void prepare_running(struct monitor *m)
{
        struct run_state s = state_of(m, LODGE_STATE_RUNNING, NULL, 0);

        free(m->running_tmp);
        m->running_tmp = NULL;
        if (run_state_prepare(m->a->rundir_fd, &s, &m->running_tmp, NULL) < 0)
                m->running_tmp = NULL; /* written at once instead */
}

static void drop_running(struct monitor *m)
{
        if (m->running_tmp)
                (void)unlinkat(m->a->rundir_fd, m->running_tmp, 0);
        free(m->running_tmp);
        m->running_tmp = NULL;
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
        m->s.master = TAKE_FD(master);
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
        m->s.listen_fd = TAKE_FD(fd);
        return 0;
}

/* The rootfs idmapped through the guest's user namespace; an overlay's
 * upper layer through one that also maps overlayfs' own work files. */
static int userns_rootfs(struct monitor *m, struct guest_mounts *gm, struct lodge_error **err)
{
        const struct lodge_config_security *sec = &m->a->cfg->security;
        struct lodge_storage_idmap idmap = { .userns_fd = -EBADF, .writer_userns_fd = -EBADF };
        char ns[64];
        int r;

        snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)m->init_pid);
        idmap.userns_fd = open(ns, O_RDONLY | O_CLOEXEC);
        if (idmap.userns_fd < 0)
                return lodge_error_set(err, errno, "open the guest's user namespace");
        if (m->a->cfg->backend == LODGE_BACKEND_OVERLAY) {
                r = idmap.writer_userns_fd =
                        userns_new_writer(sec->idmap_base, sec->idmap_count, err);
                if (r < 0) {
                        close(idmap.userns_fd);
                        return r;
                }
        }
        /* Shifted: its files are owned by its ids on disk already. */
        r = rootfs_view(m->a->paths, m->a->cdirfd, m->a->cfg, sec->idmap_shifted ? NULL : &idmap,
                        LODGE_VIEW_GUEST, err);
        close(idmap.userns_fd);
        if (idmap.writer_userns_fd >= 0)
                close(idmap.writer_userns_fd);
        if (r < 0)
                return r;
        gm->rootfs = r;
        return 0;
}

/* In a user namespace, while its first process waits: its id maps, its
 * console its root's, and its rootfs idmapped through the maps (sent along
 * with the go). */
static int setup_userns(struct monitor *m, struct guest_mounts *gm, struct lodge_error **err)
{
        const struct lodge_config_security *sec = &m->a->cfg->security;
        int r;

        r = userns_write_maps(m->init_pid, sec->idmap_base, sec->idmap_count, err);
        if (r < 0)
                return r;
        r = userns_rootfs(m, gm, err);
        if (r < 0)
                return r;
        for (size_t k = 0; k < ELEMENTSOF(gm->entry); k++) {
                CLEANUP(mount_spec_done) struct mount_spec spec = { 0 };

                if (!m->a->cfg->mounts[k])
                        continue;
                r = mount_spec_parse(m->a->cfg->mounts[k], &spec, err);
                if (r >= 0)
                        r = userns_detached_tree(spec.source, m->init_pid, spec.shift, spec.ro,
                                                 err);
                if (r == -ENOENT && spec.optional) {
                        lodge_error_free(err);
                        continue; /* the guest skips it */
                }
                if (r < 0)
                        return lodge_error_prefix(err, r, "mount.%zu", k);
                gm->entry[k] = r;
        }
        /* root:tty inside; tty is gid 5 in every distribution lodge knows */
        if (fchown(m->slave, sec->idmap_base, sec->idmap_base + 5) < 0)
                return lodge_error_set(err, errno, "give the console to the guest's root");
        return 0;
}

/* For attach, to confine as init is: the config the guest starts with (the
 * container's own may be changed meanwhile), the host's cgroup layout, and
 * the filter it runs under, loaded as it is, not compiled again from the
 * config. Not fsync'ed: they matter only while the guest runs. */
static int save_for_attach(struct monitor *m, struct lodge_error **err)
{
        cleanup_free char *text = NULL;
        int r;

        r = lodge_config_format(m->a->cfg, &text, err);
        if (r >= 0)
                r = write_file_replace_at(m->a->rundir_fd, CONFIG_SAVED, text, strlen(text), 0600,
                                          err);
        if (r < 0)
                return lodge_error_prefix(err, r, "save the config in the run directory");
        free(text);
        text = NULL;
        /* Attach falls back to the mountinfo without it. */
        if (cg_host_format(&m->host, &text) < 0 ||
            write_file_replace_at(m->a->rundir_fd, CGROUPS_SAVED, text, strlen(text), 0600, NULL) <
                    0)
                (void)unlinkat(m->a->rundir_fd, CGROUPS_SAVED, 0);
        /* Attach compiles it from the saved config without it. */
        if (seccomp_filter_save(m->a->seccomp, m->a->rundir_fd, SECCOMP_SAVED, err) < 0) {
                log_warn("%s: %s: %s", m->a->name, (*err)->msg, strerror((*err)->code));
                lodge_error_free(err);
        }
        return 0;
}

/* The seccomp program the guest's first process loads last, made here, while
 * it mounts, rather than before the clone on the start's path: from the
 * built-in policy (a policy file's was read and checked by the client, to
 * refuse a broken one before anything was made), compiled once and sent at
 * every boot. One message: "s" and the program, or "s" alone for none. */
static int send_seccomp(struct monitor *m, int sync, struct lodge_error **err)
{
        const void *prog = NULL;
        struct iovec iov[2] = { { "s", 1 }, { NULL, 0 } };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
        int r = 0;

        if (!m->a->seccomp)
                r = seccomp_prepare(&m->a->cfg->security, &m->a->seccomp, err);
        if (r >= 0)
                r = seccomp_filter_compile(m->a->seccomp, err);
        if (r < 0)
                return r;
        iov[1].iov_len = seccomp_filter_program(m->a->seccomp, &prog);
        iov[1].iov_base = (void *)prog;
        if (sendmsg(sync, &mh, MSG_NOSIGNAL) != (ssize_t)(1 + iov[1].iov_len))
                return lodge_error_set(err, errno, "hand the seccomp filter to the guest");
        return 0;
}

/* While the guest's first process mounts: its v1 cgroups (given to its
 * root in a user namespace), its limits, its network; then the word that
 * lets it join them, and its seccomp filter. */
static int setup_while_mounting(struct monitor *m, int sync, struct lodge_error **err)
{
        const struct lodge_config_security *sec = &m->a->cfg->security;
        struct timespec t0, t1;
        char ready = 1;
        int r;

        r = cg_guest_create_v1(&m->cg, err);
        if (r >= 0)
                r = cg_guest_apply_new_limits(&m->cg, &m->a->cfg->limits, NULL, err);
        if (r >= 0 && guest_userns(sec))
                r = cg_guest_delegate(&m->cg, sec->idmap_base, sec->idmap_base, err);
        if (r < 0)
                return r;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = guest_net_setup(m->a->paths, m->a->name, m->a->cfg, m->init_pid, m->s.pidfd,
                            m->a->rundir_fd, err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        log_debug("%s: network set up in %ld us", m->a->name,
                  (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
        if (r < 0)
                return r;
        /* The word: one message per v1 hierarchy, with the fd of its "tasks",
         * for a child that has pivoted away from the host's paths. */
        for (size_t i = 0; i < m->host.n; i++) {
                cleanup_close int fd = -EBADF;

                if (m->host.h[i].v2)
                        continue;
                fd = cg_guest_open_tasks(&m->cg, i, err);
                if (fd < 0)
                        return fd;
                r = fdpass_send(sync, &ready, 1, fd);
                if (r < 0)
                        return lodge_error_set(err, -r, "release the guest's first process");
        }
        if (send(sync, &ready, 1, MSG_NOSIGNAL) != 1)
                return lodge_error_set(err, errno, "release the guest's first process");
        return send_seccomp(m, sync, err);
}

/* A tty master from the guest's first process: held, with a slave of its
 * own (see struct monitor_tty). */
static int add_tty(struct monitor *m, int master, struct lodge_error **err)
{
        size_t t = m->s.n_ttys;
        int slave;

        if (t >= MONITOR_TTYS) {
                close(master);
                return lodge_error_set(err, EPROTO, "the guest sent too many ttys");
        }
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0) {
                close(master);
                return lodge_error_set(err, errno, "open /dev/tty%zu", t + 1);
        }
        (void)fcntl(master, F_SETFL, O_NONBLOCK);
        m->s.tty[m->s.n_ttys++] = (struct monitor_tty){ .master = master, .slave = slave };
        return 0;
}

/* What the guest's first process says until it execs init: the masters of
 * its ttys ("t", one each), then EOF (init was exec'd) or a report (the step
 * that failed, which also explains a failure r of the monitor's once the
 * child had given up). A child that ended without reading the monitor's word
 * leaves ECONNRESET ahead of its report: it failed, and its report, if any,
 * follows. Once r is a failure, only what is there already is read. */
static int child_result(struct monitor *m, int sync, int r, struct lodge_error **err)
{
        bool reset = false;

        if (r < 0)
                (void)fcntl(sync, F_SETFL, O_NONBLOCK);
        for (;;) {
                struct guest_report rep = { 0 };
                int fd = -EBADF;
                ssize_t n = fdpass_recv(sync, &rep, sizeof(rep), &fd);

                if (n == 1 && fd >= 0) {
                        if (r < 0)
                                close(fd);
                        else
                                r = add_tty(m, fd, err);
                        continue;
                }
                if (fd >= 0)
                        close(fd);
                if (n == -ECONNRESET && !reset) {
                        reset = true;
                        (void)fcntl(sync, F_SETFL, O_NONBLOCK);
                        continue;
                }
                if (n == (ssize_t)sizeof(rep) && rep.code > 0) {
                        lodge_error_free(err);
                        return lodge_error_set(err, rep.code, "%s", rep.msg);
                }
                if (n < 0 && r >= 0)
                        return lodge_error_set(err, reset ? ECONNRESET : (int)-n,
                                               "wait for the guest's first process");
                return r;
        }
}

/* Start the guest's first process and see it through to exec. */
static int launch(struct monitor *m, struct lodge_error **err)
{
        const struct lodge_config_security *sec = &m->a->cfg->security;
        bool userns = guest_userns(sec);
        CLEANUP(guest_mounts_done) struct guest_mounts gm = GUEST_MOUNTS_NULL;
        cleanup_close int cgfd = -EBADF;
        bool in_v2 = false;
        char console[64];
        int sv[2], r;
        char go = 1;

        /* The v1 cgroups come later, while the child mounts (setup_while_mounting). */
        r = cg_guest_create_v2(&m->cg, err);
        if (r < 0)
                return r;
        r = open_console(m, console, err);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return lodge_error_set(err, errno, "create the sync socket");

        /* Born in its cgroup2 cgroup where it can be: no migration to pay for. */
        cgfd = cg_guest_v2_fd(&m->cg);
        m->init_pid = clone_child(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID |
                                          CLONE_NEWNET | (userns ? CLONE_NEWUSER : 0),
                                  cgfd, &m->s.pidfd, &in_v2);
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
                                   .tag = m->a->paths->tag,
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
        /* Read now: once the child execs, /proc/PID/stat waits for the exec. */
        m->init_start = proc_start_time(m->init_pid);

        /* Host side, while the child waits: its user namespace; an overlay's
         * mount (a privileged guest binds a plain rootfs itself). */
        r = 0;
        if (userns)
                r = setup_userns(m, &gm, err);
        else if (rootfs_merged(m->a->cfg))
                r = gm.rootfs = rootfs_view(m->a->paths, m->a->cdirfd, m->a->cfg, NULL,
                                            LODGE_VIEW_GUEST, err);
        if (r >= 0 && (r = fdpass_send(sv[0], &go, 1, gm.rootfs)) < 0)
                r = lodge_error_set(err, -r, "release the guest's first process");
        for (size_t k = 0; r >= 0 && userns && k < ELEMENTSOF(gm.entry); k++) {
                char have = gm.entry[k] >= 0;

                if (m->a->cfg->mounts[k] && (r = fdpass_send(sv[0], &have, 1, gm.entry[k])) < 0)
                        r = lodge_error_set(err, -r, "hand mount.%zu to the guest", k);
        }
        if (r >= 0)
                r = setup_while_mounting(m, sv[0], err);
        if (r >= 0)
                r = save_for_attach(m, err);
        if (r >= 0)
                prepare_running(m);
        r = child_result(m, sv[0], r, err);
        close(sv[0]);
        return r;
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
        guest_net_teardown(m->a->paths, m->a->name, m->a->rundir_fd);
        if (m->s.pidfd >= 0)
                close(m->s.pidfd);
        if (m->s.master >= 0)
                close(m->s.master);
        if (m->slave >= 0)
                close(m->slave);
        m->s.pidfd = m->s.master = m->slave = -EBADF;
        for (size_t t = 0; t < m->s.n_ttys; t++) {
                close(m->s.tty[t].master);
                close(m->s.tty[t].slave);
        }
        m->s.n_ttys = 0;
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

/* init has ended: record how, and remove what the guest had. True when it
 * rebooted and is to be started again. */
static bool init_ended(struct monitor *m, const siginfo_t *si, const char **ret_how, int *ret_code)
{
        bool reboot;

        *ret_how = how_it_ended(si, &reboot, ret_code);
        teardown(m);
        log_info("%s: init ended (%s, status %d)%s", m->a->name, *ret_how, *ret_code,
                 reboot ? ", rebooting" : "");
        return reboot;
}

static _Noreturn void finish(struct monitor *m, const char *how, int code)
{
        save_console_log(m);
        m->init_pid = 0;
        write_state(m, LODGE_STATE_STOPPED, how, code);
        (void)unlinkat(m->a->rundir_fd, MONITOR_SOCKET, 0);
        (void)unlinkat(m->a->rundir_fd, SECCOMP_SAVED, 0);
        (void)unlinkat(m->a->rundir_fd, CONFIG_SAVED, 0);
        (void)unlinkat(m->a->rundir_fd, CGROUPS_SAVED, 0);
        for (size_t i = 0; i < m->s.n_viewers; i++)
                close(m->s.viewers[i].fd);
        _exit(0);
}

static void keeper_stop(struct monitor *m)
{
        if (m->s.keeper > 0)
                console_keeper_stop(m->s.keeper, m->s.keeper_stop);
        m->s.keeper = 0;
        m->s.keeper_stop = -EBADF;
}

/* lodge-monitor, next to the lodge executable (a build tree) or installed in
 * LODGE_LIBEXECDIR; root's, and writable by no one else. */
int monitor_exe_open(void)
{
        int fd = libexec_open("lodge-monitor", LODGE_LIBEXECDIR, NULL);

        if (fd == -EPERM)
                log_warn("lodge-monitor: not root's or writable by others: not used");
        return fd < 0 ? -ENOENT : fd;
}

/* Once init runs, all that is left to do until it ends is serving: become
 * lodge-monitor, which does only that, so that what stays resident for each
 * guest is a small static executable and not a copy of the client. Returns
 * when that can't be done; the monitor then serves itself. */
static void become_small(struct monitor *m)
{
        int fds[MONITOR_FD_TTYS - 3 + 2 * MONITOR_TTYS + MONITOR_MAX_VIEWERS + 2];
        char viewers[MONITOR_MAX_VIEWERS + 2], sig[16], ttys[4], keeper_arg[16];
        size_t n = 0, nt = m->s.n_ttys, nv = m->s.n_viewers;
        int exe, r;

        exe = monitor_exe_open();
        if (exe < 0 || m->lodge_fd < 0 || m->ring_fd < 0) {
                log_debug("%s: no lodge-monitor here: the monitor serves the guest itself",
                          m->a->name);
                if (exe >= 0)
                        close(exe);
                return;
        }
        fds[n++] = m->s.pidfd;
        fds[n++] = m->s.master;
        fds[n++] = m->slave;
        fds[n++] = m->s.listen_fd;
        fds[n++] = m->s.sigfd;
        fds[n++] = m->ring_fd;
        fds[n++] = m->a->rundir_fd;
        fds[n++] = m->lodge_fd;
        for (size_t t = 0; t < nt; t++) {
                fds[n++] = m->s.tty[t].master;
                fds[n++] = m->s.tty[t].slave;
        }
        for (size_t i = 0; i < nv; i++)
                fds[n++] = m->s.viewers[i].fd;
        monitor_viewers_format(&m->s, viewers);
        if (m->s.keeper > 0)
                fds[n++] = m->s.keeper_stop;
        fds[n++] = exe;
        r = monitor_fds_arrange(fds, n, MONITOR_FD_PIDFD);
        if (r < 0) {
                /* Nothing was moved or closed yet. */
                log_error("%s: make room for lodge-monitor's descriptors: %s", m->a->name,
                          strerror(-r));
                close(exe);
                return;
        }
        m->s.pidfd = fds[0];
        m->s.master = fds[1];
        m->slave = fds[2];
        m->s.listen_fd = fds[3];
        m->s.sigfd = fds[4];
        m->ring_fd = fds[5];
        m->a->rundir_fd = fds[6];
        m->lodge_fd = fds[7];
        for (size_t t = 0; t < nt; t++)
                m->s.tty[t] =
                        (struct monitor_tty){ .master = fds[8 + 2 * t], .slave = fds[9 + 2 * t] };
        for (size_t i = 0; i < nv; i++)
                m->s.viewers[i].fd = fds[8 + 2 * nt + i];
        if (m->s.keeper > 0)
                m->s.keeper_stop = fds[n - 2];
        exe = fds[n - 1];
        (void)fcntl(exe, F_SETFD, FD_CLOEXEC);

        snprintf(sig, sizeof(sig), "%d", m->a->stop_signal);
        snprintf(ttys, sizeof(ttys), "%zu", nt);
        snprintf(keeper_arg, sizeof(keeper_arg), "%d", (int)m->s.keeper);
        {
                char *argv[] = { "lodge-monitor",
                                 MONITOR_PROTOCOL,
                                 m->a->paths->root,
                                 (char *)m->a->name,
                                 sig,
                                 ttys,
                                 viewers,
                                 keeper_arg,
                                 NULL };

                (void)syscall(SYS_execveat, exe, "", argv, environ, AT_EMPTY_PATH);
        }
        log_error("%s: run lodge-monitor: %m; the monitor serves the guest itself", m->a->name);
        close(exe);
}

/* Start the guest (again, after a reboot), report to the client, and see it
 * through to its end. */
static _Noreturn void run(struct monitor *m, int report_fd)
{
        const char *how = "failed";
        int code = 0;

        for (;;) {
                cleanup_error struct lodge_error *err = NULL;
                siginfo_t si;
                int r = 0;

                if (m->host.n == 0)
                        r = cg_host_detect(&m->host, &err);
                if (r >= 0 && !m->cg.base)
                        r = cg_guest_init(&m->cg, &m->host, m->a->paths->tag, m->a->name, &err);
                if (r >= 0 && m->s.listen_fd < 0)
                        r = open_socket(m, &err);
                /* Not the last run's program for an attach meanwhile: it then compiles
                 * its own. (This run's is saved once made, save_for_attach().) */
                (void)unlinkat(m->a->rundir_fd, SECCOMP_SAVED, 0);
                if (r >= 0)
                        r = launch(m, &err);
                if (r < 0) {
                        drop_running(m);
                        keeper_stop(m);
                        log_error("%s: %s: %s", m->a->name, err->msg, strerror(err->code));
                        if (m->init_pid > 0)
                                (void)kill(m->init_pid, SIGKILL);
                        if (m->s.pidfd >= 0)
                                (void)waitid(P_PIDFD, (id_t)m->s.pidfd, &si, WEXITED);
                        if (m->cg.base)
                                teardown(m);
                        /* The client hears of it once nothing of the start is left. */
                        m->init_pid = 0;
                        write_state(m, LODGE_STATE_STOPPED, "failed", 0);
                        (void)unlinkat(m->a->rundir_fd, MONITOR_SOCKET, 0);
                        report(&report_fd, err->code, 0, err->msg);
                        release_held(m);
                        how = "failed";
                        break;
                }
                hold(m, 1,
                     openat(m->a->rundir_fd, RUN_STATE_FILE,
                            O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
                if (!m->running_tmp || renameat(m->a->rundir_fd, m->running_tmp, m->a->rundir_fd,
                                                RUN_STATE_FILE) < 0) {
                        drop_running(m);
                        write_state(m, LODGE_STATE_RUNNING, NULL, 0);
                }
                free(m->running_tmp);
                m->running_tmp = NULL;
                report(&report_fd, 0, m->init_pid, NULL);
                release_held(m);

                /* Reading the console while the monitor execs lodge-monitor (an
                 * ASan build's exec can take longer than the guest takes to boot to
                 * its getty, whose vhangup() flushes what nobody read). Started once
                 * the client has its answer, off the start's path: until then the
                 * pty holds what init wrote. */
                m->s.keeper = console_keeper_start(&m->s, &m->s.keeper_stop);
                if (m->s.keeper < 0) {
                        log_warn("%s: start the console keeper: %s", m->a->name,
                                 strerror(-m->s.keeper));
                        m->s.keeper = 0;
                }
                become_small(m);
                /* Serving here: monitor_serve() takes over from the keeper. */
                si = monitor_serve(&m->s);
                if (!init_ended(m, &si, &how, &code))
                        break;
        }
        finish(m, how, code);
}

/* The process: its own session, no terminal, stderr to monitor.log, SIGTERM
 * through a signalfd (a host shutdown sends it). */
static void setup_process(struct monitor *m)
{
        sigset_t term;
        int devnull, logfd;

        (void)setsid();
        (void)prctl(PR_SET_NAME, "lodge-monitor");
        signal(SIGPIPE, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        m->s.sigfd = signalfd(-1, &term, SFD_CLOEXEC | SFD_NONBLOCK);
        /* Blocked only once it can be read; the guest's child unblocks it. */
        if (m->s.sigfd >= 0)
                sigprocmask(SIG_BLOCK, &term, NULL);
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull >= 0) {
                (void)dup2(devnull, 0);
                (void)dup2(devnull, 1);
        }
        /* The last run's log (its end, at least, is there) is replaced by an empty
         * one, not truncated: a truncation on a disk-backed run directory can wait
         * for the journal, and frees the blocks, which waits for the disk; the
         * old one is let go once the client has its answer (hold()). */
        logfd = openat(m->a->rundir_fd, "monitor.log",
                       O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (logfd >= 0) {
                struct stat st;

                if (fstat(logfd, &st) < 0 || st.st_size > 0) {
                        if (unlinkat(m->a->rundir_fd, "monitor.log", 0) == 0)
                                hold(m, 0, TAKE_FD(logfd));
                        else
                                (void)ftruncate(logfd, 0);
                }
        }
        if (logfd < 0)
                logfd = openat(m->a->rundir_fd, "monitor.log",
                               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        (void)dup2(logfd >= 0 ? logfd : devnull, 2);
        if (logfd >= 0)
                close(logfd);
        if (devnull > 2)
                close(devnull);
}

_Noreturn void monitor_main(const struct monitor_args *args)
{
        struct monitor_args a = *args;
        struct monitor m = MONITOR_NULL(&a);
        int r;

        setup_process(&m);
        m.lodge_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
        r = console_ring_create(&m.s.ring, &m.ring_fd);
        if (r < 0) {
                report(&a.report_fd, -r, 0, "allocate the console log");
                finish(&m, "failed", 0);
        }
        run(&m, a.report_fd);
}

int monitor_resume(const struct lodge_paths *p, const char *name, const siginfo_t *si,
                   const char *ttys, const char *viewers, struct lodge_error **err)
{
        struct monitor_args a = {
                .paths = p,
                .name = name,
                .report_fd = -EBADF,
                .rundir_fd = MONITOR_FD_RUNDIR,
                .cdirfd = -EBADF,
        };
        struct monitor m = MONITOR_NULL(&a);
        struct root_dirs d = ROOT_DIRS_NULL;
        cleanup_close int cdirfd = -EBADF;
        const char *how;
        int code, r;

        if (monitor_ttys_parse(&m.s, ttys) < 0)
                return lodge_error_set(err, EINVAL, "bad tty count '%s'", ttys);
        if (monitor_viewers_parse(&m.s, viewers, monitor_fd_viewers(m.s.n_ttys)) < 0)
                return lodge_error_set(err, EINVAL, "bad viewer list '%s'", viewers);
        m.s.pidfd = MONITOR_FD_PIDFD;
        m.s.master = MONITOR_FD_MASTER;
        m.slave = MONITOR_FD_SLAVE;
        m.s.listen_fd = MONITOR_FD_LISTEN;
        m.s.sigfd = MONITOR_FD_SIGNAL;
        m.ring_fd = MONITOR_FD_RING;
        m.lodge_fd = MONITOR_FD_LODGE;
        if (console_ring_map(m.ring_fd, &m.s.ring) < 0)
                m.s.ring = NULL;
        r = cg_host_detect(&m.host, err);
        if (r >= 0)
                r = cg_guest_init(&m.cg, &m.host, p->tag, name, err);
        if (r < 0) {
                log_error("%s: %s: %s", name, (*err)->msg, strerror((*err)->code));
                lodge_error_free(err);
                finish(&m, "failed", 0);
        }
        if (!init_ended(&m, si, &how, &code))
                finish(&m, how, code);

        /* A reboot: the guest starts again from its config as it is now. */
        r = container_dirs_open(p, name, &d, err);
        if (r >= 0)
                r = cdirfd = container_dir_open(&d, name, err);
        if (r >= 0)
                r = monitor_args_load(&a, cdirfd, err);
        root_dirs_done(&d);
        if (r < 0) {
                log_error("%s: restart: %s: %s", name, (*err)->msg, strerror((*err)->code));
                lodge_error_free(err);
                finish(&m, "failed", 0);
        }
        run(&m, -EBADF);
}

int lodge_monitor_resume(const struct lodge_paths *p, int argc, char **argv,
                         struct lodge_error **err)
{
        siginfo_t si = { 0 };
        const char *ttys = NULL;
        char *end;
        long code, status;

        /* PROTOCOL NAME SI_CODE SI_STATUS TTYS VIEWERS; protocol 1, of a
         * lodge-monitor started before an upgrade, had no TTYS. */
        if (argc == 5 && strcmp(argv[0], "1") == 0)
                ttys = "0";
        else if (argc != 6 || strcmp(argv[0], MONITOR_PROTOCOL) != 0)
                return lodge_error_set(err, EINVAL, "started by lodge-monitor only");
        if (lodge_name_check(argv[1], err) < 0)
                return -EINVAL;
        errno = 0;
        code = strtol(argv[2], &end, 10);
        if (errno || *end || end == argv[2])
                return lodge_error_set(err, EINVAL, "bad si_code '%s'", argv[2]);
        status = strtol(argv[3], &end, 10);
        if (errno || *end || end == argv[3] || status < INT_MIN || status > INT_MAX)
                return lodge_error_set(err, EINVAL, "bad si_status '%s'", argv[3]);
        si.si_code = (int)code;
        si.si_status = (int)status;
        return monitor_resume(p, argv[1], &si, ttys ? ttys : argv[4], argv[argc - 1], err);
}
