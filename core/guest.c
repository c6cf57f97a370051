/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/guest.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/apparmor.h"
#include "core/base/cleanup.h"
#include "core/base/fdpass.h"
#include "core/monitor-serve.h"

static _Noreturn void fail(int sync_fd, struct lodge_error **err)
{
        struct guest_report rep = { .code = (*err)->code };

        snprintf(rep.msg, sizeof(rep.msg), "%s", (*err)->msg ? (*err)->msg : "guest setup");
        (void)send(sync_fd, &rep, sizeof(rep), MSG_NOSIGNAL);
        _exit(1);
}

/* The console becomes init's stdio, and as the kernel gives it to init, not
 * its controlling terminal: a getty takes that, which it couldn't steal from
 * init in a user namespace (TIOCSCTTY needs CAP_SYS_ADMIN over the host). */
static int setup_console(struct lodge_error **err)
{
        int fd;

        if (setsid() < 0)
                return lodge_error_set(err, errno, "setsid");
        fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return lodge_error_set(err, errno, "open /dev/console");
        for (int i = 0; i < 3; i++)
                if (dup2(fd, i) < 0)
                        return lodge_error_set(err, errno, "dup2 console");
        if (fd > 2)
                (void)close(fd);
        return 0;
}

/* /dev/tty1.. as LXC makes them: ptys of the guest's own devpts, each bound
 * on its /dev/ttyN, their masters sent to the monitor, which holds them (for
 * lodge console --tty N). A fresh devpts numbers them from 0, so ttyN is
 * pts/N-1 (init's $container_ttys says so to systemd). Nothing of the guest
 * has run yet: its /dev is the tmpfs just made. */
static int open_ttys(int sync_fd, struct lodge_error **err)
{
        for (int t = 0; t < MONITOR_TTYS; t++) {
                cleanup_close int master = -EBADF, node = -EBADF;
                char pts[32], tty[16];
                int unlock = 0, index = -1, r;

                snprintf(tty, sizeof(tty), "/dev/tty%d", t + 1);
                master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
                    ioctl(master, TIOCGPTN, &index) < 0)
                        return lodge_error_set(err, errno, "allocate a pty for %s", tty);
                if (index != t)
                        return lodge_error_set(err, EEXIST, "allocate a pty for %s: got pts/%d",
                                               tty, index);
                snprintf(pts, sizeof(pts), "/dev/pts/%d", index);
                node = open(tty, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
                if (node < 0 || mount(pts, tty, NULL, MS_BIND, NULL) < 0)
                        return lodge_error_set(err, errno, "bind %s on %s", pts, tty);
                r = fdpass_send(sync_fd, "t", 1, master);
                if (r < 0)
                        return lodge_error_set(err, -r, "hand %s to the monitor", tty);
        }
        return 0;
}

/* The loopback of its network namespace up, as every init expects: from
 * inside, while the monitor prepares the go, rather than over netlink from
 * the host. */
static int loopback_up(struct lodge_error **err)
{
        cleanup_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = { .ifr_name = "lo" };

        if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return lodge_error_set(err, errno, "bring up the loopback");
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return lodge_error_set(err, errno, "bring up the loopback");
        return 0;
}

/* The monitor's word that the v1 cgroups are made and limited (and given to
 * the guest's root): joined from inside, through the fds of their "tasks"
 * files (the host's paths are out of view once pivoted), then made the root
 * of what the guest sees. */
static int enter_cgroups(const struct guest_setup *s, void *userdata, struct lodge_error **err)
{
        int sync_fd = *(const int *)userdata;
        char ready = 0;

        /* One message per v1 hierarchy, with its "tasks" opened on the host;
         * then one without. */
        for (;;) {
                cleanup_close int fd = -EBADF;
                int r;

                if (fdpass_recv(sync_fd, &ready, 1, &fd) != 1)
                        _exit(1); /* the monitor gave up: nothing to report to */
                if (fd < 0)
                        break;
                r = cg_join_by_fd(fd, err);
                if (r < 0)
                        return r;
        }
        (void)s;
        if (unshare(CLONE_NEWCGROUP) < 0)
                return lodge_error_set(err, errno, "unshare the cgroup namespace");
        return 0;
}

/* The seccomp program, from the monitor, which compiles it while this process
 * mounts (send_seccomp() in monitor.c): "s", then the program's bytes (none:
 * no filter). Loaded last, right before exec. */
static int load_seccomp(int sync_fd, struct lodge_error **err)
{
        cleanup_free void *prog = malloc(SECCOMP_PROGRAM_MAX);
        char tag = 0;
        struct iovec iov[2] = { { &tag, 1 }, { prog, SECCOMP_PROGRAM_MAX } };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
        ssize_t n;

        if (!prog)
                return lodge_error_set(err, ENOMEM, "receive the seccomp filter");
        n = recvmsg(sync_fd, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0)
                _exit(1); /* the monitor gave up: nothing to report to */
        if (tag != 's' || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
                return lodge_error_set(err, EPROTO, "receive the seccomp filter");
        return seccomp_apply_program(prog, (size_t)n - 1, err);
}

_Noreturn void guest_child_main(const struct guest_child *c)
{
        cleanup_error struct lodge_error *err = NULL;
        const struct guest_setup *s = &c->setup;
        CLEANUP(guest_mounts_done) struct guest_mounts gm = GUEST_MOUNTS_NULL;
        char go = 0;
        int r;

        /* Die with the monitor until init runs; after exec init outlives it. */
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Its cgroup2 cgroup, unless clone3 placed it there. */
        if (!s->in_v2_cgroup && cg_guest_join_self(s->cg, CG_JOIN_V2, &err) < 0)
                fail(c->sync_fd, &err);
        if (loopback_up(&err) < 0)
                fail(c->sync_fd, &err);
        if (fdpass_recv(c->sync_fd, &go, 1, &gm.rootfs) != 1)
                _exit(1); /* the monitor gave up: nothing to report to */
        /* In a user namespace, the sources of mount.N follow, one message each. */
        for (size_t k = 0; guest_userns(&s->cfg->security) && k < ELEMENTSOF(gm.entry); k++) {
                char have = 0;

                if (!s->cfg->mounts[k])
                        continue;
                if (fdpass_recv(c->sync_fd, &have, 1, &gm.entry[k]) != 1)
                        _exit(1);
                if (!have)
                        gm.entry[k] = -ENOENT;
        }

        r = guest_mount_all(s, &gm, enter_cgroups, (void *)&c->sync_fd, &err);
        if (r >= 0 && sethostname(s->name, strlen(s->name)) < 0)
                r = lodge_error_set(&err, errno, "set the hostname");
        if (r >= 0)
                r = open_ttys(c->sync_fd, &err);
        if (r >= 0)
                r = setup_console(&err);
        if (r >= 0)
                r = caps_apply(&s->cfg->security, &err);
        if (r >= 0)
                r = load_seccomp(c->sync_fd, &err);
        if (r >= 0)
                r = apparmor_exec_label(&s->cfg->security, s->tag, s->name, &err);
        if (r < 0)
                fail(c->sync_fd, &err);

        (void)prctl(PR_SET_PDEATHSIG, 0);
        /* The monitor blocks SIGTERM for its signalfd; init starts with none blocked. */
        {
                sigset_t none;

                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
        }
        execve(c->argv[0], c->argv, c->envp);
        lodge_error_set(&err, errno, "exec init '%s'", c->argv[0]);
        fail(c->sync_fd, &err);
}
