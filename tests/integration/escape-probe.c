/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run as root inside a guest (statically linked, so it needs nothing of the
 * distro's): tries what a guest must not be able to do to its host and prints
 * one line per attempt, "NAME ok" when it worked, "NAME denied ERRNO" when
 * not. Lines starting with "#" are notes.
 *
 *   probe all MAJOR MINOR HOSTPID   every attempt; MAJOR:MINOR is a host block
 *                                   device, HOSTPID a host process to signal
 *   probe open PATH                 open PATH read-write ("open")
 *   probe node c|b MAJOR MINOR      mknod such a node and open it ("node")
 *   probe exe PID                   take a handle on PID's executable and open it
 *                                   for writing ("exe_handle", "exe_write"), open
 *                                   its memory ("mem") and ptrace it ("ptrace")
 *   probe sti TEXT                  push TEXT as typed input into the terminal of
 *                                   each of fds 0-2 (TIOCSTI, "sti0".."sti2")
 *   probe ptys                      open /dev/ptmx until it fails: "# ptys N",
 *                                   then "ptys denied ERRNO" (or "ptys ok" at
 *                                   4096, where it gives up)
 *
 * It harms nothing even where an attempt gets through: host-wide files are
 * written their own content back; the cgroup release agent it may set is a
 * path that doesn't exist, on a hierarchy of its own with no cgroup that
 * could ever be released; signals go to a process the test started for it.
 * Mounts happen in a mount namespace of its own, gone when it exits. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

static void report(const char *name, int err)
{
        if (err)
                printf("%s denied %d\n", name, err);
        else
                printf("%s ok\n", name);
        fflush(stdout);
}

/* Write a file's own content back: a real write that changes nothing. */
static int rewrite(const char *path)
{
        char buf[4096];
        ssize_t n;
        int fd, err = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno;
        n = read(fd, buf, sizeof(buf));
        err = n < 0 ? errno : 0;
        close(fd);
        if (err)
                return err;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return errno;
        if (write(fd, buf, (size_t)n) != n)
                err = errno ? errno : EIO;
        close(fd);
        return err;
}

static int write_str(const char *path, const char *s)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

        if (fd < 0)
                return errno;
        if (write(fd, s, strlen(s)) < 0)
                err = errno;
        close(fd);
        return err;
}

/* Open only: reading /proc/kmsg would take the host's messages away. */
static int open_ro(const char *path)
{
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

        if (fd < 0)
                return errno;
        close(fd);
        return 0;
}

/* mknod a node in the private /tmp, then open and read it. */
static void node(const char *name, char type, unsigned maj, unsigned min, int flags)
{
        char path[64], mk[64], buf[512];
        int fd;

        snprintf(path, sizeof(path), "/tmp/%s", name);
        snprintf(mk, sizeof(mk), "%s_mknod", name);
        (void)unlink(path);
        if (mknod(path, (type == 'b' ? S_IFBLK : S_IFCHR) | 0600, makedev(maj, min)) < 0) {
                report(mk, errno);
                report(name, errno);
                return;
        }
        report(mk, 0);
        fd = open(path, flags | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
                report(name, errno);
        } else {
                if (read(fd, buf, sizeof(buf)) < 0)
                        printf("# %s: opened, read failed with %d\n", name, errno);
                report(name, 0);
                close(fd);
        }
        (void)unlink(path);
}

static int mount_err(const char *src, const char *target, const char *type, unsigned long flags,
                     const char *data)
{
        (void)mkdir(target, 0700);
        return mount(src, target, type, flags, data) < 0 ? errno : 0;
}

/* CVE-2022-0492: a cgroup v1 release agent runs as root on the host. */
static void release_agent(void)
{
        char path[64];
        int err;

        /* A hierarchy the host has: the guest's cgroup namespace roots it at
         * the guest's own cgroup, which has no release_agent. */
        err = mount_err("cgroup", "/tmp/cg1", "cgroup", 0, "pids");
        if (!err) {
                err = write_str("/tmp/cg1/release_agent", "/lodge-escape-probe-nonexistent");
                (void)umount2("/tmp/cg1", MNT_DETACH);
        }
        report("release_agent", err);

        /* A new hierarchy: its root is its namespace root too. */
        snprintf(path, sizeof(path), "none,name=lodgeprobe%d", (int)getpid());
        err = mount_err("cgroup", "/tmp/cg2", "cgroup", 0, path);
        report("release_agent_new_mount", err);
        if (!err) {
                err = write_str("/tmp/cg2/release_agent", "/lodge-escape-probe-nonexistent");
                report("release_agent_new", err);
                (void)write_str("/tmp/cg2/release_agent", "");
                (void)umount2("/tmp/cg2", MNT_DETACH);
        } else {
                report("release_agent_new", err);
        }
}

static void host_pid(pid_t pid)
{
        char path[64];
        struct stat st;
        DIR *d;
        struct dirent *de;
        int n = 0;

        snprintf(path, sizeof(path), "/proc/%d", (int)pid);
        report("proc_host_pid", stat(path, &st) < 0 ? errno : 0);
        report("kill_host", kill(pid, SIGTERM) < 0 ? errno : 0);
        d = opendir("/proc");
        while (d && (de = readdir(d)))
                if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
                        n++;
        if (d)
                closedir(d);
        printf("# processes seen in /proc: %d\n", n);
}

static int all(unsigned blk_maj, unsigned blk_min, pid_t hostpid)
{
        int err;

        node("blockdev", 'b', blk_maj, blk_min, O_RDONLY);
        node("mem", 'c', 1, 1, O_RDONLY);
        node("kmem", 'c', 1, 2, O_RDONLY);
        node("port", 'c', 1, 4, O_RDWR);
        report("devices_allow", write_str("/sys/fs/cgroup/devices/devices.allow", "a *:* rwm"));

        /* The clock: set the time zone to what it is (CAP_SYS_TIME is checked all the same). */
        {
                struct timeval tv;
                struct timezone tz;

                gettimeofday(&tv, &tz);
                report("settimeofday", settimeofday(NULL, &tz) < 0 ? errno : 0);
        }

        report("sysrq_trigger", write_str("/proc/sysrq-trigger", "h"));
        report("core_pattern", rewrite("/proc/sys/kernel/core_pattern"));
        report("hostname_sysctl", write_str("/proc/sys/kernel/hostname", "lodge-escaped"));
        report("kcore", open_ro("/proc/kcore"));
        report("kmsg", open_ro("/proc/kmsg"));
        report("kallsyms", open_ro("/proc/kallsyms"));
        report("sys_write", rewrite("/sys/module/printk/parameters/time"));
        host_pid(hostpid);
        release_agent();

        /* What only AppArmor or a user namespace stops in a privileged guest. */
        err = mount(NULL, "/sys", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    NULL) < 0
                      ? errno
                      : 0;
        report("sys_remount", err);
        report("sys_remount_write", rewrite("/sys/module/printk/parameters/time"));

        report("proc_sys_umount", umount2("/proc/sys", MNT_DETACH) < 0 ? errno : 0);
        report("proc_sys_umount_write", rewrite("/proc/sys/kernel/core_pattern"));

        err = mount_err("binfmt_misc", "/tmp/binfmt", "binfmt_misc", 0, NULL);
        if (!err) {
                int fd = open("/tmp/binfmt/register", O_WRONLY | O_CLOEXEC);

                err = fd < 0 ? errno : 0;
                if (fd >= 0)
                        close(fd);
        }
        report("binfmt_misc_register", err);

        /* A new procfs over the masked one: nothing of it is masked. */
        report("proc_new_mount",
               mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? errno
                                                                                          : 0);
        report("proc_new_sysrq_trigger", write_str("/proc/sysrq-trigger", "h"));
        report("proc_new_core_pattern", rewrite("/proc/sys/kernel/core_pattern"));
        return 0;
}

int main(int argc, char **argv)
{
        /* Mounts stay in this process; nodes go to a scratch tmpfs. */
        (void)mkdir("/tmp", 01777);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m,mode=700") < 0) {
                printf("# can't make a private scratch space: %s\n", strerror(errno));
                return 1;
        }
        if (argc == 5 && strcmp(argv[1], "all") == 0)
                return all((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), (pid_t)atoi(argv[4]));
        if (argc == 3 && strcmp(argv[1], "open") == 0) {
                int fd = open(argv[2], O_RDWR | O_CLOEXEC | O_NONBLOCK);

                report("open", fd < 0 ? errno : 0);
                return 0;
        }
        if (argc == 3 && strcmp(argv[1], "exe") == 0) {
                /* CVE-2019-5736: a handle on another process' executable, to write it. */
                char path[64];
                int fd, w;

                snprintf(path, sizeof(path), "/proc/%s/exe", argv[2]);
                fd = open(path, O_PATH | O_CLOEXEC);
                report("exe_handle", fd < 0 ? errno : 0);
                if (fd >= 0) {
                        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                        w = open(path, O_WRONLY | O_CLOEXEC);
                        report("exe_write", w < 0 ? errno : 0);
                }
                /* Its memory: an attach's is the host client's until the exec. */
                snprintf(path, sizeof(path), "/proc/%s/mem", argv[2]);
                fd = open(path, O_RDWR | O_CLOEXEC);
                report("mem", fd < 0 ? errno : 0);
                w = (int)ptrace(PTRACE_SEIZE, (pid_t)atoi(argv[2]), NULL, NULL);
                report("ptrace", w < 0 ? errno : 0);
                if (w == 0)
                        (void)ptrace(PTRACE_DETACH, (pid_t)atoi(argv[2]), NULL, NULL);
                return 0;
        }
        if (argc == 3 && strcmp(argv[1], "sti") == 0) {
                /* CVE-2016-10124: the caller's terminal, handed to the guest. */
                for (int fd = 0; fd < 3; fd++) {
                        char name[8];
                        int err = 0;

                        for (const char *t = argv[2]; *t && !err; t++)
                                if (ioctl(fd, TIOCSTI, t) < 0)
                                        err = errno;
                        snprintf(name, sizeof(name), "sti%d", fd);
                        report(name, err);
                }
                return 0;
        }
        if (argc == 2 && strcmp(argv[1], "ptys") == 0) {
                /* All the host's ptys but the reserved ones, taken by one guest. */
                int n = 0, err = 0;

                for (; n < 4096; n++)
                        if (open("/dev/ptmx", O_RDWR | O_NOCTTY) < 0) {
                                err = errno;
                                break;
                        }
                printf("# ptys %d\n", n);
                report("ptys", err);
                return 0;
        }
        if (argc == 5 && strcmp(argv[1], "node") == 0) {
                node("node", argv[2][0], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]), O_RDWR);
                return 0;
        }
        fprintf(stderr,
                "usage: probe all MAJOR MINOR HOSTPID | open PATH | node c|b MAJ MIN | exe PID | "
                "sti TEXT\n");
        return 2;
}
