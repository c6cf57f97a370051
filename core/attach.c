/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
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
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "core/apparmor.h"
#include "core/base/cleanup.h"
#include "core/base/exe.h"
#include "core/base/fdpass.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "core/base/process.h"
#include "core/base/strv.h"
#include "core/cgroup.h"
#include "core/core-internal.h"
#include "core/guest.h"
#include "core/monitor.h"
#include "core/run.h"
#include "core/users.h"

#define GUEST_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_GROUPS 64

struct attach {
        const char *name;
        const char *tag; /* struct lodge_paths' */
        const struct lodge_attach_options *o;
        const struct lodge_config *cfg;
        const struct seccomp_filter *seccomp; /* made before entering the guest */
        const struct cg_guest *cg;
        int cg_v2_fd;      /* the guest's cgroup2 cgroup, for CLONE_INTO_CGROUP, or < 0 */
        bool in_v2_cgroup; /* the command's process was born there (clone3) */
        int pidfd;         /* the guest's init */
        bool userns;       /* the guest has a user namespace of its own */
        bool pty;
        /* Without a pty, the command's ends of the pipes that stand in for
         * the caller's stdin, stdout and stderr where those are terminals
         * (-1: passed as they are). A host terminal never reaches the guest:
         * through it, a guest process could read what is typed on the host
         * long after the command ended, or push input there (TIOCSTI). */
        int stdio[3];
        int sync; /* SOCK_SEQPACKET to the client */
        const char *term;
};

static _Noreturn void child_fail(int sync, struct lodge_error **err, int status)
{
        struct guest_report rep = { .code = (*err)->code };

        snprintf(rep.msg, sizeof(rep.msg), "%s", (*err)->msg ? (*err)->msg : "attach");
        (void)send(sync, &rep, sizeof(rep), MSG_NOSIGNAL);
        _exit(status);
}

static char *read_guest_file(const char *path)
{
        char *text = NULL;

        if (read_file_at(AT_FDCWD, path, 4 << 20, &text, NULL, NULL) < 0)
                return NULL;
        return text;
}

static int make_env(const struct attach *a, const struct guest_user *u, char ***ret)
{
        cleanup_strv char **env = NULL;

        if (a->o->keep_env) {
                for (char **p = environ; p && *p; p++)
                        if (strv_extend(&env, *p) < 0)
                                return -ENOMEM;
        } else {
                const char *fixed[] = { "PATH=" GUEST_PATH, "container=lodge" };

                for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                        if (strv_extend(&env, fixed[i]) < 0)
                                return -ENOMEM;
                const char *vars[][2] = {
                        { "TERM", a->term ? a->term : "dumb" },
                        { "HOME", u->home },
                        { "USER", u->name },
                        { "LOGNAME", u->name },
                };

                for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                        char *e = NULL;

                        if (asprintf(&e, "%s=%s", vars[i][0], vars[i][1]) < 0)
                                return -ENOMEM;
                        if (strv_push(&env, e) < 0) {
                                free(e);
                                return -ENOMEM;
                        }
                }
        }
        /* -e K=V replaces K */
        STRV_FOREACH (kv, a->o->env) {
                size_t klen = strcspn(*kv, "=");

                for (size_t i = 0; env && env[i]; i++)
                        if (strncmp(env[i], *kv, klen + 1) == 0) {
                                free(env[i]);
                                memmove(&env[i], &env[i + 1],
                                        (strv_length(env) - i) * sizeof(char *));
                                i--;
                        }
                if (strv_extend(&env, *kv) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(env);
        return 0;
}

/* execvpe() searches the caller's PATH; search the new environment's. */
static int exec_in_path(char **argv, char **envp)
{
        const char *path = GUEST_PATH;
        int saved = ENOENT;

        if (strchr(argv[0], '/')) {
                execve(argv[0], argv, envp);
                return -errno;
        }
        for (char **e = envp; e && *e; e++)
                if (strncmp(*e, "PATH=", 5) == 0)
                        path = *e + 5;
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, ":");
                char full[4096];

                if (n > 0 && snprintf(full, sizeof(full), "%.*s/%s", (int)n, p, argv[0]) <
                                     (int)sizeof(full)) {
                        execve(full, argv, envp);
                        if (errno != ENOENT && errno != ENOTDIR)
                                saved = errno;
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return -saved;
}

/* In the guest's namespaces, as the process that becomes the command. */
static _Noreturn void run_command(const struct attach *a, int slave)
{
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *passwd = NULL, *group = NULL;
        cleanup_strv char **env = NULL;
        struct guest_user u;
        gid_t groups[MAX_GROUPS];
        size_t ngroups;
        char *shell_argv[2] = { NULL, NULL }, login0[300];
        char **argv = a->o->argv;
        int r;

        if (slave >= 0) {
                if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
                        lodge_error_set(&err, errno, "make the pty the controlling terminal");
                        child_fail(a->sync, &err, 1);
                }
                for (int i = 0; i < 3; i++)
                        (void)dup2(slave, i);
                if (slave > 2)
                        close(slave);
        }
        for (int i = 0; i < 3; i++)
                if (a->stdio[i] >= 0)
                        (void)dup2(a->stdio[i], i);
        /* Only stdio and the sync socket (close-on-exec) reach the command. */
        (void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

        passwd = read_guest_file("/etc/passwd");
        r = users_lookup(passwd ? passwd : "", a->o->user ? a->o->user : "0", &u);
        if (r < 0) {
                lodge_error_set(&err, -r, "user '%s' in the guest", a->o->user ? a->o->user : "0");
                child_fail(a->sync, &err, 1);
        }
        group = read_guest_file("/etc/group");
        ngroups = users_groups(group ? group : "", u.name, u.gid, groups, MAX_GROUPS);

        if (chdir(a->o->cwd ? a->o->cwd : u.home) < 0) {
                if (a->o->cwd || chdir("/") < 0) {
                        lodge_error_set(&err, errno, "change to directory '%s'",
                                        a->o->cwd ? a->o->cwd : u.home);
                        child_fail(a->sync, &err, 1);
                }
        }
        if (make_env(a, &u, &env) < 0) {
                lodge_error_set(&err, ENOMEM, "build the environment");
                child_fail(a->sync, &err, 1);
        }
        if (!argv) { /* a login shell: argv[0] "-sh" */
                const char *base = strrchr(u.shell, '/');

                snprintf(login0, sizeof(login0), "-%s", base ? base + 1 : u.shell);
                shell_argv[0] = login0;
                argv = shell_argv;
        }

        r = caps_apply(&a->cfg->security, &err);
        if (r >= 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                r = lodge_error_set(&err, errno, "set no_new_privs");
        if (r >= 0)
                r = seccomp_apply(a->seccomp, &err);
        if (r >= 0)
                r = apparmor_exec_label(&a->cfg->security, a->tag, a->name, &err);
        if (r >= 0 && (setgroups(ngroups, groups) < 0 || setresgid(u.gid, u.gid, u.gid) < 0 ||
                       setresuid(u.uid, u.uid, u.uid) < 0))
                r = lodge_error_set(&err, errno, "become uid %u", (unsigned)u.uid);
        if (r < 0)
                child_fail(a->sync, &err, 1);

        /* For the escape tests: held where the process still runs lodge, confined. */
        if (getenv("LODGE_TEST_STOP_BEFORE_EXEC"))
                (void)raise(SIGSTOP);
        if (argv == shell_argv) {
                execve(u.shell, argv, env);
                r = -errno;
        } else {
                r = exec_in_path(argv, env);
        }
        lodge_error_set(&err, -r, "run '%s'", argv == shell_argv ? u.shell : argv[0]);
        child_fail(a->sync, &err, r == -ENOENT ? 127 : 126);
}

/* The namespaces the client enters itself, just long enough to clone the
 * command: so the command is born in the guest's PID namespace, and no helper
 * process has to fork it there. Mount and cgroup namespaces come later, in the
 * command's own process, once it has joined the guest's v1 cgroups by their
 * host paths (and a process outside the guest's cgroup namespace can be
 * cloned into its cgroup2 cgroup). */
static const struct {
        int type;
        const char *file; /* in /proc/self/ns, to come back */
} client_ns[] = {
        { CLONE_NEWPID, "pid_for_children" },
        { CLONE_NEWUTS, "uts" },
        { CLONE_NEWIPC, "ipc" },
        { CLONE_NEWNET, "net" },
};

/* The command's process, born in the guest's PID, UTS, IPC and network
 * namespaces (and its cgroup2 cgroup where clone3 could): joins the rest,
 * makes the pty and becomes the command. */
static _Noreturn int attach_child(void *arg)
{
        const struct attach *a = arg;
        cleanup_error struct lodge_error *err = NULL;
        int slave = -EBADF;

        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Until execve: no ptrace and no /proc/PID/exe or /proc/PID/mem for the
         * guest's processes. (Its memory is the client's until then: the client is
         * made undumpable too, and needs neither.) */
        (void)prctl(PR_SET_DUMPABLE, 0);
        if (cg_guest_join_self(a->cg, CG_JOIN_V1 | (a->in_v2_cgroup ? 0 : CG_JOIN_V2), &err) < 0)
                child_fail(a->sync, &err, 1);
        if (setns(a->pidfd, CLONE_NEWNS | CLONE_NEWCGROUP | (a->userns ? CLONE_NEWUSER : 0)) < 0) {
                lodge_error_set(&err, errno, "enter the guest's namespaces");
                child_fail(a->sync, &err, 1);
        }
        /* Its root, not the host's unmapped one: what it makes (its pty) is the guest's. */
        if (a->userns &&
            (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
                lodge_error_set(&err, errno, "become root in the guest's user namespace");
                child_fail(a->sync, &err, 1);
        }
        if (a->pty) {
                /* From the guest's own devpts, so the command's tty is one of its own. */
                cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);

                if (master < 0 || unlockpt(master) < 0 ||
                    (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0 ||
                    fdpass_send(a->sync, "M", 1, master) < 0) {
                        lodge_error_set(&err, errno, "allocate a pty in the guest");
                        child_fail(a->sync, &err, 1);
                }
        }
        run_command(a, slave);
}

/* Clone the command's process into the guest's PID, UTS, IPC and network
 * namespaces, and come back to the caller's own. */
static pid_t clone_into_guest(struct attach *child, struct lodge_error **err)
{
        int own[ELEMENTSOF(client_ns)], flags = 0, r = 0;
        pid_t pid = -1;

        for (size_t i = 0; i < ELEMENTSOF(client_ns); i++)
                own[i] = -EBADF;
        for (size_t i = 0; i < ELEMENTSOF(client_ns) && r >= 0; i++) {
                char path[64];

                snprintf(path, sizeof(path), "/proc/self/ns/%s", client_ns[i].file);
                own[i] = open(path, O_RDONLY | O_CLOEXEC);
                if (own[i] < 0)
                        r = lodge_error_set(err, errno, "open '%s'", path);
                flags |= client_ns[i].type;
        }
        if (r >= 0 && setns(child->pidfd, flags) < 0)
                r = lodge_error_set(err, errno, "enter the guest's namespaces");
        if (r >= 0) {
                /* Born in the guest's cgroup2 cgroup: no migration (and its RCU wait)
                 * to pay. In the client's memory until its exec: no page tables to
                 * copy, fault in and tear down (~1.5 ms of an attach's ~7.5 on a VM). */
                pid = clone_vfork(child->cg_v2_fd, attach_child, child, &child->in_v2_cgroup);
                if (pid < 0)
                        r = lodge_error_set(err, (int)-pid, "create the attached process");
                for (size_t i = 0; i < ELEMENTSOF(client_ns); i++)
                        if (setns(own[i], client_ns[i].type) < 0 && r >= 0)
                                r = lodge_error_set(err, errno, "return to the host's %s namespace",
                                                    client_ns[i].file);
        }
        for (size_t i = 0; i < ELEMENTSOF(client_ns); i++)
                if (own[i] >= 0)
                        close(own[i]);
        if (r < 0 && pid > 0) {
                (void)kill(pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
        }
        return r < 0 ? r : pid;
}

static int recv_fd_or_report(int sock, int *ret_fd, struct guest_report *rep)
{
        ssize_t n = fdpass_recv(sock, rep, sizeof(*rep), ret_fd);

        if (n < 0)
                return (int)n;
        if (*ret_fd >= 0)
                return 1;
        return n == (ssize_t)sizeof(*rep) ? 2 : 0; /* 2: a report; 0: closed */
}

/* Copy between the caller's terminal and the guest's pty until it closes. */
static void relay(int master, int sync, struct guest_report *rep, bool *reported)
{
        sigset_t mask;
        int sfd;
        char buf[8192];

        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        for (bool in_open = true;;) {
                struct pollfd p[4] = {
                        { .fd = master, .events = POLLIN },
                        { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = sfd, .events = POLLIN },
                        { .fd = sync, .events = POLLIN },
                };
                ssize_t n;

                if (poll(p, 4, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents) {
                        n = read(master, buf, sizeof(buf));
                        if (n <= 0)
                                break; /* EIO: every holder of the slave is gone */
                        (void)write_all(STDOUT_FILENO, buf, (size_t)n);
                }
                if (p[1].revents) {
                        n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n <= 0)
                                in_open = false;
                        else
                                (void)write_all(master, buf, (size_t)n);
                }
                if (p[2].revents) {
                        struct signalfd_siginfo si;
                        struct winsize ws;

                        (void)read(sfd, &si, sizeof(si));
                        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                                (void)ioctl(master, TIOCSWINSZ, &ws);
                }
                if (p[3].revents && !*reported) {
                        n = recv(sync, rep, sizeof(*rep), MSG_DONTWAIT);
                        if (n == (ssize_t)sizeof(*rep) && rep->code > 0)
                                *reported = true;
                        else if (n <= 0)
                                sync = -1; /* closed: the command was exec'd */
                }
        }
        if (sfd >= 0)
                close(sfd);
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
}

/* Without a pty: a pipe for each of the caller's stdio that is a terminal,
 * the command's end in child->stdio[i], the caller's in ret[i] (else -1). */
static int terminal_pipes(struct attach *child, int ret[3], struct lodge_error **err)
{
        for (int i = 0; i < 3; i++)
                child->stdio[i] = ret[i] = -1;
        for (int i = 0; i < 3; i++) {
                int p[2];

                if (child->pty || isatty(i) != 1)
                        continue;
                if (pipe2(p, O_CLOEXEC) < 0)
                        return lodge_error_set(err, errno, "create a pipe for the command");
                child->stdio[i] = p[i == 0 ? 0 : 1];
                ret[i] = p[i == 0 ? 1 : 0];
        }
        return 0;
}

static void close_pipes(int fds[3])
{
        for (int i = 0; i < 3; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
}

/* Copy between the caller's terminals and those pipes (fds: the caller's
 * ends) until the command has ended and what it wrote is out. */
static void relay_pipes(pid_t pid, int fds[3])
{
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        void (*pipe_handler)(int) = signal(SIGPIPE, SIG_IGN);
        char buf[8192];
        bool ended = false;

        for (;;) {
                struct pollfd p[4] = {
                        { .fd = fds[0] >= 0 ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = fds[1], .events = POLLIN },
                        { .fd = fds[2], .events = POLLIN },
                        { .fd = ended ? -1 : pidfd, .events = POLLIN },
                };
                bool data = false;

                if (fds[1] < 0 && fds[2] < 0 && (ended || pidfd < 0))
                        break;
                if (poll(p, 4, ended ? 0 : -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

                        if (n <= 0 || write_all(fds[0], buf, (size_t)n) < 0) {
                                close(fds[0]);
                                fds[0] = -1; /* EOF for the command */
                        }
                }
                for (int i = 1; i < 3; i++) {
                        ssize_t n;

                        if (!p[i].revents)
                                continue;
                        n = read(fds[i], buf, sizeof(buf));
                        if (n > 0) {
                                (void)write_all(i, buf, (size_t)n);
                                data = true;
                        } else {
                                close(fds[i]);
                                fds[i] = -1;
                        }
                }
                if (p[3].revents)
                        ended = true; /* what is left in the pipes is read without waiting */
                else if (ended && !data)
                        break; /* a process it left behind may hold them: not waited for */
        }
        if (pidfd >= 0)
                close(pidfd);
        signal(SIGPIPE, pipe_handler);
        close_pipes(fds);
}

static int run_attach(const struct attach *a, int *ret_status, struct lodge_error **err)
{
        struct guest_report rep = { 0 };
        struct termios saved, raw;
        bool reported = false, restore = false;
        int sv[2], master = -EBADF, status, r, relayed[3];
        struct attach child = *a;
        pid_t pid;

        r = terminal_pipes(&child, relayed, err);
        if (r < 0) {
                close_pipes(child.stdio);
                close_pipes(relayed);
                return r;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                close_pipes(child.stdio);
                close_pipes(relayed);
                return lodge_error_set(err, errno, "create the sync socket");
        }
        child.sync = sv[1];
        pid = clone_into_guest(&child, err);
        close_pipes(child.stdio);
        if (pid < 0) {
                close_pipes(relayed);
                close(sv[0]);
                close(sv[1]);
                return (int)pid;
        }
        close(sv[1]);
        if (relayed[0] >= 0 || relayed[1] >= 0 || relayed[2] >= 0)
                relay_pipes(pid, relayed);

        if (a->pty) {
                r = recv_fd_or_report(sv[0], &master, &rep);
                if (r == 2 && rep.code > 0)
                        reported = true;
                if (master >= 0) {
                        struct winsize ws;

                        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                                (void)ioctl(master, TIOCSWINSZ, &ws);
                        if (tcgetattr(STDIN_FILENO, &saved) == 0) {
                                raw = saved;
                                cfmakeraw(&raw);
                                restore = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
                        }
                        relay(master, sv[0], &rep, &reported);
                        if (restore)
                                (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
                        close(master);
                }
        }
        if (!reported) {
                ssize_t n = recv(sv[0], &rep, sizeof(rep), 0);

                reported = n == (ssize_t)sizeof(rep) && rep.code > 0;
        }
        close(sv[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return lodge_error_set(err, errno, "wait for the attached command");
        if (reported) {
                rep.msg[sizeof(rep.msg) - 1] = '\0';
                *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
                return lodge_error_set(err, rep.code, "%s", rep.msg);
        }
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

/* Until it execs, the command's process runs lodge's own executable inside
 * the guest. Can the guest's root open its /proc/PID/exe? It isn't dumpable,
 * so only with CAP_SYS_PTRACE over the host's root, which a guest in the
 * host's user namespace has unless it is dropped (in its own, its caps don't
 * reach a process of the host's); and not where the generated AppArmor
 * profile confines the guest, which lets it ptrace only its own processes.
 * (A named profile is the user's: not counted on.) */
static bool guest_root_reaches_exe(const struct lodge_config_security *sec)
{
        if (guest_userns(sec) || !caps_kept(sec, "sys_ptrace"))
                return false;
        return !(sec->apparmor == LODGE_APPARMOR_GENERATED && apparmor_host_check(NULL) == 1);
}

int lodge_container_attach(const struct lodge_paths *p, const char *name,
                           const struct lodge_attach_options *opts, int *ret_status,
                           struct lodge_error **err)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;
        CLEANUP(seccomp_filter_freep) struct seccomp_filter *seccomp = NULL;
        struct cg_host host = { .v2 = -1 };
        struct cg_guest cg = { 0 };
        cleanup_close int pidfd = -EBADF, cgfd = -EBADF, rundirfd = -EBADF;
        struct run_state st;
        int r;

        *ret_status = 1;
        r = run_state_read(p, name, &st, err);
        if (r < 0)
                return r;
        if (st.state != LODGE_STATE_RUNNING && st.state != LODGE_STATE_FROZEN)
                return lodge_error_set(err, ESRCH, "container is not running");
        /* Confined as init was: by the config it was started with. */
        rundirfd = run_dir_open(p, name, false, NULL);
        r = rundirfd >= 0 ? lodge_config_load_at(rundirfd, CONFIG_SAVED,
                                                 "the config it was started with", &cfg, err)
                          : -ENOENT;
        if (r == -ENOENT) {
                lodge_error_free(err);
                r = lodge_container_config_load(p, name, &cfg, err);
        }
        if (r < 0)
                return r;
        if (opts->self_argv && guest_root_reaches_exe(&cfg->security)) {
                r = exe_reexec_unwritable(opts->self_argv, err);
                if (r < 0)
                        return r;
        }
        pidfd = (int)syscall(SYS_pidfd_open, st.init_pid, 0);
        if (pidfd < 0 || !proc_alive(st.init_pid, st.init_start))
                return lodge_error_set(err, ESRCH, "container is not running");
        /* The filter the guest runs under, saved at start; else compiled from the
         * config (the policy file is a host path: read it while on the host). */
        r = rundirfd >= 0 ? seccomp_filter_load_saved(rundirfd, SECCOMP_SAVED, &seccomp, err)
                          : -ENOENT;
        if (r == -ENOENT)
                r = seccomp_prepare(&cfg->security, &seccomp, err);
        if (r < 0)
                return r;

        r = rundirfd >= 0 ? cg_host_load_at(rundirfd, CGROUPS_SAVED, &host, err) : -ENOENT;
        if (r == -ENOENT) {
                lodge_error_free(err);
                r = cg_host_detect(&host, err);
        }
        if (r >= 0)
                r = cg_guest_init(&cg, &host, p->tag, name, err);
        /* Its process would join the freezer's cgroup and stop there until a thaw. */
        if (r >= 0 && cg_guest_frozen(&cg))
                r = lodge_error_set(err, EBUSY, "container is frozen ('lodge unfreeze %s' first)",
                                    name);
        if (r >= 0)
                cgfd = cg_guest_v2_fd(&cg);
        if (r >= 0)
                r = run_attach(&(struct attach){ .name = name,
                                                 .tag = p->tag,
                                                 .o = opts,
                                                 .cfg = cfg,
                                                 .seccomp = seccomp,
                                                 .cg = &cg,
                                                 .cg_v2_fd = cgfd,
                                                 .pidfd = pidfd,
                                                 .userns = guest_userns(&cfg->security),
                                                 .pty = isatty(STDIN_FILENO) == 1 &&
                                                        isatty(STDOUT_FILENO) == 1,
                                                 .term = getenv("TERM") },
                               ret_status, err);
        cg_guest_done(&cg);
        cg_host_done(&host);
        return r;
}
