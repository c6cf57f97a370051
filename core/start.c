/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/apparmor.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "core/base/strv.h"
#include "core/cgroup.h"
#include "core/core-internal.h"
#include "core/guest-net.h"
#include "core/idmap.h"
#include "core/monitor.h"
#include "core/run.h"
#include "core/seccomp-policy.h"

#define DEFAULT_INIT "/sbin/init"
#define GUEST_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Split init.cmd on spaces. */
static int init_argv(const struct lodge_config *cfg, char ***ret)
{
        cleanup_free char *copy = strdup(cfg->init_cmd ? cfg->init_cmd : DEFAULT_INIT);
        cleanup_strv char **argv = NULL;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
                if (strv_extend(&argv, w) < 0)
                        return -ENOMEM;
        if (!argv)
                return -EINVAL;
        *ret = TAKE_PTR(argv);
        return 0;
}

/* container_ttys: the ttys systemd's getty generator starts a getty on
 * (container-getty@N.service for pts/N), unless environment.container_ttys
 * says otherwise: tty1 (pts/0) only, as the fix-ups give sysvinit's and
 * busybox's inittabs. */
static int init_envp(const struct lodge_config *cfg, char ***ret)
{
        cleanup_strv char **envp = NULL;
        bool ttys = false;

        if (strv_extend(&envp, "container=lodge") < 0 || strv_extend(&envp, GUEST_PATH) < 0 ||
            strv_extend(&envp, "TERM=linux") < 0)
                return -ENOMEM;
        STRV_FOREACH (e, cfg->environment) {
                if (strv_extend(&envp, *e) < 0)
                        return -ENOMEM;
                ttys = ttys || strncmp(*e, "container_ttys=", 15) == 0;
        }
        if (!ttys && strv_extend(&envp, "container_ttys=pts/0") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(envp);
        return 0;
}

/* The init must exist in the rootfs (symlinks resolved inside it); its
 * name tells its clean-shutdown signal: systemd SIGRTMIN+3, busybox SIGUSR2,
 * anything else (sysvinit) SIGPWR. */
static int check_init(const struct monitor_args *a, int cdirfd, const char *init, int configured,
                      int *ret_signal, struct lodge_error **err)
{
        cleanup_close int rootfd = -EBADF, fd = -EBADF;
        char link[64], target[4096];
        const char *base;
        struct stat st;
        ssize_t n;

        rootfd = rootfs_open(a->paths, cdirfd, a->cfg, LODGE_VIEW_READ, err);
        if (rootfd < 0)
                return rootfd;
        fd = open_in_root(rootfd, init, O_PATH, 0);
        if (fd < 0)
                return lodge_error_set(err, -fd, "init '%s' in the rootfs", init);
        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "init '%s' in the rootfs", init);
        if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                return lodge_error_set(err, EACCES,
                                       "init '%s' in the rootfs is not an executable file", init);
        if (configured > 0) {
                *ret_signal = configured;
                return 0;
        }
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (strcmp(base, "systemd") == 0)
                *ret_signal = SIGRTMIN + 3;
        else if (strstr(base, "busybox"))
                *ret_signal = SIGUSR2;
        else
                *ret_signal = SIGPWR;
        return 0;
}

/* Close every fd from 'from' up, except the n in keep. */
static void close_fds_except(int from, const int *keep, size_t n)
{
        int lo = from;

        for (;;) {
                int next = -1;

                for (size_t i = 0; i < n; i++)
                        if (keep[i] >= lo && (next < 0 || keep[i] < next))
                                next = keep[i];
                if (next < 0) {
                        (void)syscall(SYS_close_range, (unsigned)lo, ~0U, 0);
                        return;
                }
                if (next > lo)
                        (void)syscall(SYS_close_range, (unsigned)lo, (unsigned)next - 1, 0);
                lo = next + 1;
        }
}

/* Fork the monitor and wait for its report. Forked once: it starts its own
 * session at once (monitor_main()), and is this client's child only until
 * the client returns, then init's (or a subreaper's), as a grandchild would
 * have been; the second fork that makes it nobody's child from the start
 * cost another copy of the client on the start's path. */
static int spawn_monitor(const struct monitor_args *proto, struct lodge_error **err)
{
        struct monitor_args a = *proto;
        struct start_report rep = { 0 };
        int pipefd[2];
        pid_t pid;
        ssize_t n;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return lodge_error_set(err, errno, "create a pipe");
        pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return lodge_error_set(err, errno, "fork the monitor");
        }
        if (pid == 0) {
                close(pipefd[0]);
                /* Nothing of the client's but what the monitor needs: above all not
                 * the container's lock, which it would otherwise hold for the life
                 * of the guest if the client died before releasing it. */
                a.report_fd = fcntl(pipefd[1], F_DUPFD_CLOEXEC, 3);
                a.rundir_fd = fcntl(proto->rundir_fd, F_DUPFD_CLOEXEC, 3);
                a.cdirfd = fcntl(proto->cdirfd, F_DUPFD_CLOEXEC, 3);
                if (a.report_fd < 0 || a.rundir_fd < 0 || a.cdirfd < 0)
                        _exit(1);
                close_fds_except(3, (int[]){ a.report_fd, a.rundir_fd, a.cdirfd }, 3);
                monitor_main(&a);
        }
        close(pipefd[1]);
        n = read_all(pipefd[0], &rep, sizeof(rep));
        close(pipefd[0]);
        if (n != (ssize_t)sizeof(rep)) {
                (void)waitpid(pid, NULL, WNOHANG);
                return lodge_error_set(err, EIO, "the monitor died before init started");
        }
        if (rep.code != 0) {
                rep.msg[sizeof(rep.msg) - 1] = '\0';
                return lodge_error_set(err, rep.code > 0 ? rep.code : EIO, "%s", rep.msg);
        }
        return 0;
}

int monitor_args_load(struct monitor_args *a, int cdirfd, struct lodge_error **err)
{
        int r;

        r = lodge_config_load_at(cdirfd, "config", "config", &a->cfg, err);
        if (r < 0)
                return r;
        if (a->cfg->rootfs_path)
                a->rootfs = strdup(a->cfg->rootfs_path);
        else if (asprintf(&a->rootfs, "%s/containers/%s/rootfs", a->paths->root, a->name) < 0)
                a->rootfs = NULL;
        if (!a->rootfs || init_argv(a->cfg, &a->argv) < 0 || init_envp(a->cfg, &a->envp) < 0)
                return lodge_error_set(err, ENOMEM, "start");
        r = check_init(a, cdirfd, a->argv[0], a->cfg->init_stop_signal, &a->stop_signal, err);
        if (r >= 0)
                r = rootfs_disk_limit(cdirfd, a->cfg, err);
        if (r < 0)
                return r;
        a->cdirfd = fcntl(cdirfd, F_DUPFD_CLOEXEC, 3);
        if (a->cdirfd < 0)
                return lodge_error_set(err, errno, "keep the container directory open");
        /* A broken policy file refuses the start here, before anything is made;
         * after a reboot the monitor reads it again, as the config. The built-in
         * policy, which can't be broken, is made by the monitor while the guest's
         * first process mounts (send_seccomp()). */
        if (a->cfg->security.seccomp != LODGE_SECCOMP_FILE)
                return 0;
        return seccomp_prepare(&a->cfg->security, &a->seccomp, err);
}

void monitor_args_done(struct monitor_args *a)
{
        lodge_config_freep(&a->cfg);
        seccomp_filter_freep(&a->seccomp);
        free(a->rootfs);
        if (a->cdirfd >= 0)
                close(a->cdirfd);
        a->cdirfd = -EBADF;
        strv_free(a->argv);
        strv_free(a->envp);
        a->rootfs = NULL;
        a->argv = a->envp = NULL;
}

/* An unprivileged guest's range, as the config says now (edited by hand, or
 * another guest's changed since): never a missing one (it would run
 * privileged), never one overlapping another isolated guest's. */
static int check_idmap(const struct lodge_paths *p, const struct root_dirs *d, const char *name,
                       struct lodge_config *cfg, struct lodge_error **err)
{
        if (cfg->security.privileged)
                return 0;
        if (!cfg->security.has_idmap)
                return lodge_error_set(err, EINVAL,
                                       "security.idmap is missing: 'lodge config %s set "
                                       "security.privileged false' picks one",
                                       name);
        return idmap_assign(p, d->containers, name, cfg, err);
}

static int start_locked(const struct lodge_paths *p, const struct root_dirs *d, const char *name,
                        const struct lodge_start_options *opts, struct lodge_error **err)
{
        struct monitor_args a = { .paths = p, .name = name, .report_fd = -EBADF, .cdirfd = -EBADF };
        cleanup_close int cdirfd = -EBADF, rundirfd = -EBADF;
        struct run_state st;
        int r;

        cdirfd = container_dir_open(d, name, err);
        if (cdirfd < 0)
                return cdirfd;
        r = run_state_read(p, name, &st, err);
        if (r < 0)
                return r;
        if (st.state != LODGE_STATE_STOPPED)
                return lodge_error_set(err, EBUSY, "container is already %s",
                                       st.state == LODGE_STATE_RUNNING
                                               ? "running"
                                               : lodge_state_to_string(st.state));
        r = monitor_args_load(&a, cdirfd, err);
        if (r >= 0)
                r = check_idmap(p, d, name, a.cfg, err);
        if (r >= 0)
                r = apparmor_prepare(p, d->root, name, &a.cfg->security, opts ? opts->warn : NULL,
                                     opts ? opts->userdata : NULL, err);
        if (r >= 0) {
                rundirfd = run_dir_open(p, name, true, err);
                r = rundirfd;
        }
        if (r >= 0) {
                a.rundir_fd = rundirfd;
                r = spawn_monitor(&a, err);
        }
        monitor_args_done(&a);
        return r;
}

int lodge_container_start(const struct lodge_paths *p, const char *name,
                          const struct lodge_start_options *opts, struct lodge_error **err)
{
        struct root_dirs d = ROOT_DIRS_NULL;
        struct container_lock l = CONTAINER_LOCK_NULL;
        int r;

        r = container_dirs_open(p, name, &d, err);
        if (r < 0)
                return r;
        r = container_lock(d.locks, name, "start", &l, err);
        if (r >= 0) {
                r = start_locked(p, &d, name, opts, err);
                container_unlock(&l);
        }
        root_dirs_done(&d);
        return r;
}

/* ---- stop ---- */

static int pidfd_open_checked(pid_t pid, uint64_t start)
{
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);

        /* Opened first, then checked: the pidfd can't start naming another process. */
        if (fd >= 0 && !proc_alive(pid, start)) {
                close(fd);
                return -ESRCH;
        }
        return fd < 0 ? -errno : fd;
}

/* Wait for a pidfd to report exit, up to ms (-1: forever). True when it did. */
static bool wait_exit(int pidfd, int ms)
{
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
        struct timespec t0, now;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                int left = ms;

                if (ms >= 0) {
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        left = ms - (int)((now.tv_sec - t0.tv_sec) * 1000 +
                                          (now.tv_nsec - t0.tv_nsec) / 1000000);
                        if (left < 0)
                                left = 0;
                }
                int r = poll(&pfd, 1, left);
                if (r > 0)
                        return true;
                if (r == 0)
                        return false;
                if (errno != EINTR)
                        return false;
        }
}

/* The monitor is gone (kill -9): do its cleanup. */
static void cleanup_without_monitor(const struct lodge_paths *p, const char *name,
                                    const struct run_state *old, const char *ended)
{
        cleanup_close int rundirfd = run_dir_open(p, name, false, NULL);
        struct run_state s = { .state = LODGE_STATE_STOPPED, .stop_signal = old->stop_signal };
        struct cg_host host = { .v2 = -1 };
        struct cg_guest g = { 0 };

        if (cg_host_detect(&host, NULL) >= 0 && cg_guest_init(&g, &host, p->tag, name, NULL) >= 0) {
                (void)cg_guest_kill(&g, NULL);
                (void)cg_guest_destroy(&g, NULL);
        }
        cg_guest_done(&g);
        cg_host_done(&host);
        snprintf(s.ended, sizeof(s.ended), "%s", ended);
        if (rundirfd >= 0) {
                guest_net_teardown(p, name, rundirfd);
                (void)run_state_write(rundirfd, &s, NULL);
                (void)unlinkat(rundirfd, MONITOR_SOCKET, 0);
        }
}

int stop_locked(const struct lodge_paths *p, const char *name, const struct lodge_stop_options *o,
                char ended[static 16], struct lodge_error **err)
{
        cleanup_close int pidfd = -EBADF, monfd = -EBADF;
        unsigned timeout = o->timeout ? o->timeout : 30;
        const char *how = "clean";
        struct run_state st, after;
        int r;

        r = run_state_read(p, name, &st, err);
        if (r < 0)
                return r;
        if (st.state == LODGE_STATE_STOPPED)
                return lodge_error_set(err, ESRCH, "container is not running");
        monfd = pidfd_open_checked(st.monitor_pid, st.monitor_start);
        if (st.state == LODGE_STATE_STOPPING) {
                how = "crashed"; /* init ended by itself; the monitor says how */
        } else {
                pidfd = pidfd_open_checked(st.init_pid, st.init_start);
                if (pidfd < 0)
                        return lodge_error_set(err, -pidfd, "open init (pid %d)", (int)st.init_pid);
                /* Frozen, init can't act on its stop signal, nor (cgroup v1) die of
                 * SIGKILL: thawed first, as LXC and Incus do. */
                r = live_thaw(p, name, err);
                if (r < 0)
                        return r;
                if (!o->kill &&
                    syscall(SYS_pidfd_send_signal, pidfd, st.stop_signal ? st.stop_signal : SIGPWR,
                            NULL, 0) < 0 &&
                    errno != ESRCH)
                        return lodge_error_set(err, errno, "signal init");
                if (o->kill || !wait_exit(pidfd, (int)timeout * 1000)) {
                        how = "killed";
                        if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 &&
                            errno != ESRCH)
                                return lodge_error_set(err, errno, "kill init");
                        if (!wait_exit(pidfd, 10000))
                                return lodge_error_set(err, ETIMEDOUT, "init (pid %d) won't die",
                                                       (int)st.init_pid);
                }
        }
        /* The monitor records how it ended and removes cgroups and run files;
         * if it is gone (or died midway), do that here. */
        if (monfd >= 0 && !wait_exit(monfd, 30000))
                return lodge_error_set(err, ETIMEDOUT, "the monitor didn't finish");
        if (run_state_read(p, name, &after, NULL) >= 0 && !after.stale && after.ended[0])
                how = after.ended;
        else
                cleanup_without_monitor(p, name, &st, how);
        snprintf(ended, 16, "%s", how);
        return 0;
}

int lodge_container_stop(const struct lodge_paths *p, const char *name,
                         const struct lodge_stop_options *opts, char ret_ended[static 16],
                         struct lodge_error **err)
{
        struct root_dirs d = ROOT_DIRS_NULL;
        struct container_lock l = CONTAINER_LOCK_NULL;
        char ended[16] = "";
        int r;

        r = container_dirs_open(p, name, &d, err);
        if (r < 0)
                return r;
        r = container_lock(d.locks, name, "stop", &l, err);
        if (r >= 0) {
                struct stat s;

                if (fstatat(d.containers, name, &s, AT_SYMLINK_NOFOLLOW) < 0)
                        r = lodge_error_set(err, ENOENT, "no such container");
                else
                        r = stop_locked(p, name, opts, ended, err);
                container_unlock(&l);
        }
        root_dirs_done(&d);
        if (r >= 0 && ret_ended)
                snprintf(ret_ended, 16, "%s", ended);
        return r;
}
