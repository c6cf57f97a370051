/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/apparmor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/apparmor.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/process.h"

#define PROC_ROOT_INO 1

static const char *const parsers[] = { "/usr/sbin/apparmor_parser", "/sbin/apparmor_parser" };

int apparmor_host_check(const char **ret_why)
{
        const char *why;
        int e;

        if (aa_is_enabled() == 1)
                return 1;
        e = errno;
        switch (e) {
        case ENOSYS:
                why = "the kernel has no AppArmor";
                break;
        case ECANCELED:
                why = "AppArmor is turned off in the kernel";
                break;
        case ENOENT:
                if (ret_why)
                        *ret_why = "AppArmor is on, but securityfs isn't mounted";
                return -ENOENT;
        default:
                if (ret_why)
                        *ret_why = "AppArmor is on, but lodge can't use it here";
                return e > 0 ? -e : -EIO;
        }
        if (ret_why)
                *ret_why = why;
        return 0;
}

/* apparmor_parser's complaint on one line, for an error message. */
static void one_line(char *s)
{
        size_t n = strlen(s);

        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = '\0';
        for (char *c = s; *c; c++)
                if (*c == '\n' || *c == '\t')
                        *c = ' ';
}

int apparmor_load(const char *file, const char *cache_dir, struct lodge_error **err)
{
        cleanup_free char *out = NULL;
        const char *parser = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(parsers) && !parser; i++)
                if (access(parsers[i], X_OK) == 0)
                        parser = parsers[i];
        if (!parser)
                return lodge_error_set(err, ENOENT,
                                       "apparmor_parser is missing (install the apparmor package)");
        r = spawn_wait((char *[]){ (char *)parser, "--replace", "--write-cache", "--cache-loc",
                                   (char *)cache_dir, "--", (char *)file, NULL },
                       &out);
        if (r < 0)
                return lodge_error_set(err, -r, "run '%s'", parser);
        if (r != 0) {
                one_line(out);
                return lodge_error_set(err, EINVAL, "apparmor_parser refused '%s' (exit %d): %s",
                                       file, r, out && *out ? out : "no message");
        }
        return 0;
}

int apparmor_unload(const char *profile, struct lodge_error **err)
{
        aa_kernel_interface *kif = NULL;
        int r, e;

        if (aa_kernel_interface_new(&kif, NULL, NULL) < 0)
                return lodge_error_set(err, errno ? errno : EIO,
                                       "open AppArmor's kernel interface");
        r = aa_kernel_interface_remove_policy(kif, profile);
        e = errno;
        aa_kernel_interface_unref(kif);
        if (r < 0)
                return lodge_error_set(err, e ? e : EIO, "unload AppArmor profile '%s'", profile);
        return 0;
}

/* The root of a procfs, not something the guest mounted over /proc. */
static int open_proc(struct lodge_error **err)
{
        cleanup_close int fd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct statfs sfs;
        struct stat st;

        if (fd < 0)
                return lodge_error_set(err, errno, "open /proc");
        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "stat /proc");
        if (sfs.f_type != PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO)
                return lodge_error_set(err, EXDEV, "/proc is not the root of a procfs");
        return TAKE_FD(fd);
}

/* thread-self/attr/... below procfd, never crossing a mount: a file the guest
 * bound over it is refused (EXDEV), not written to. */
static int attr_open(int procfd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        struct statfs sfs;
        int fd;

        for (int tries = 0; tries < 64; tries++) { /* EAGAIN: a mount or rename raced */
                fd = (int)syscall(SYS_openat2, procfd, path, &how, sizeof(how));
                if (fd >= 0 || errno != EAGAIN)
                        break;
        }
        if (fd >= 0 || errno != ENOSYS)
                return fd >= 0 ? fd : -errno;
        /* FIXME(kernel < 5.6): no openat2; at least what was opened is procfs. */
        fd = openat(procfd, path, flags | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) {
                close(fd);
                return -EXDEV;
        }
        return fd;
}

/* Read a small attr file; -errno on failure. */
static int attr_read(int procfd, const char *path, char *buf, size_t size)
{
        cleanup_close int fd = attr_open(procfd, path, O_RDONLY);
        ssize_t n;

        if (fd < 0)
                return fd;
        n = read_all(fd, buf, size - 1);
        if (n < 0)
                return (int)n;
        buf[n] = '\0';
        return 0;
}

/* Where this thread's AppArmor attributes are, or NULL when AppArmor isn't
 * active for it. Decided by the kernel, not by a file the guest could fake. */
static const char *attr_dir(int procfd)
{
        char cur[256];
        int r;

        r = attr_read(procfd, "thread-self/attr/apparmor/current", cur, sizeof(cur));
        if (r >= 0)
                return "thread-self/attr/apparmor";
        if (r != -ENOENT)
                return NULL; /* EINVAL: built in, but not enabled */
        /* FIXME(kernel < 5.8): attr/ is shared by the LSMs; AppArmor's labels
         * read "unconfined" or "NAME (MODE)", SELinux's "user:role:type:level". */
        if (attr_read(procfd, "thread-self/attr/current", cur, sizeof(cur)) < 0)
                return NULL;
        cur[strcspn(cur, "\n")] = '\0';
        if (strcmp(cur, "unconfined") == 0 ||
            (strlen(cur) > 2 && cur[strlen(cur) - 1] == ')' && strstr(cur, " (")))
                return "thread-self/attr";
        return NULL;
}

int apparmor_exec_label(const struct lodge_config_security *sec, const char *tag, const char *name,
                        struct lodge_error **err)
{
        cleanup_free char *label = NULL, *cmd = NULL;
        cleanup_close int procfd = -EBADF, fd = -EBADF;
        char path[64], back[512];
        const char *dir;
        size_t len;
        int r;

        r = apparmor_label(sec, tag, name, &label, err);
        if (r < 0 || !label)
                return r;
        procfd = open_proc(err);
        if (procfd < 0)
                return lodge_error_prefix(err, procfd, "set AppArmor label '%s'", label);
        dir = attr_dir(procfd);
        if (!dir) /* no AppArmor here: the start said so, or refused */
                return 0;

        snprintf(path, sizeof(path), "%s/exec", dir);
        fd = attr_open(procfd, path, O_WRONLY);
        if (fd < 0)
                return lodge_error_set(err, -fd, "set AppArmor label '%s': open '/proc/%s'", label,
                                       path);
        if (asprintf(&cmd, "exec %s", label) < 0) {
                cmd = NULL; /* undefined on failure */
                return lodge_error_set(err, ENOMEM, "set AppArmor label '%s'", label);
        }
        /* One write: the kernel takes the command whole or not at all. */
        if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
                return lodge_error_set(err, errno ? errno : EIO, "set AppArmor label '%s'", label);

        /* Trust, but check: the next exec runs under it ("NAME (enforce)"). */
        r = attr_read(procfd, path, back, sizeof(back));
        if (r < 0)
                return lodge_error_set(err, -r, "read back AppArmor label '%s'", label);
        len = strlen(label);
        if (strncmp(back, label, len) != 0 || (back[len] && back[len] != ' ' && back[len] != '\n'))
                return lodge_error_set(err, EPERM,
                                       "AppArmor label '%s' did not stick (it reads '%s')", label,
                                       back);
        return 0;
}
