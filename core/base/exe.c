/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/exe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/cleanup.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: say so, or a vm.memfd_noexec host refuses */
#endif

extern char **environ;

#define EXE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

bool exe_fd_unwritable(int fd)
{
        struct statvfs sv;
        int seals;

        if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
                return true;
        seals = fcntl(fd, F_GET_SEALS);
        return seals >= 0 && (seals & EXE_SEALS) == EXE_SEALS;
}

/* A detached bind mount of the binary itself, made read-only. Nothing can
 * remount it rw but through mount_setattr() on a handle to it, which the
 * guests' seccomp filter refuses (new mount API) and needs CAP_SYS_ADMIN. */
static int open_readonly_bind(void)
{
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                               MOUNT_ATTR_NODEV };
        cleanup_close int fd = -EBADF;

        fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return -errno;
        return exe_fd_unwritable(fd) ? TAKE_FD(fd) : -EROFS;
}

/* FIXME(kernel < 5.12): no mount_setattr; also where lodge may not mount. */
static int open_sealed_copy(void)
{
        cleanup_close int src = -EBADF, fd = -EBADF;
        struct stat st;
        off_t off = 0;

        src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (src < 0 || fstat(src, &st) < 0)
                return -errno;
        fd = memfd_create("lodge", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && errno == EINVAL) /* before 6.3 */
                fd = memfd_create("lodge", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        while (off < st.st_size) {
                ssize_t n = sendfile(fd, src, &off, (size_t)(st.st_size - off));

                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n == 0)
                        return -EIO;
        }
        if (fcntl(fd, F_ADD_SEALS, EXE_SEALS) < 0)
                return -errno;
        return exe_fd_unwritable(fd) ? TAKE_FD(fd) : -EIO;
}

int exe_reexec_unwritable(char *const *argv, struct lodge_error **err)
{
        cleanup_close int self = -EBADF, fd = -EBADF;

        self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return lodge_error_set(err, errno, "open /proc/self/exe");
        if (exe_fd_unwritable(self))
                return 0;

        /* Each is checked before the exec, so that the new process can't loop. */
        fd = open_readonly_bind();
        if (fd < 0)
                fd = open_sealed_copy();
        if (fd < 0)
                return lodge_error_set(err, -fd, "make an unwritable copy of the lodge executable");
        (void)syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
        return lodge_error_set(err, errno, "exec the unwritable copy of the lodge executable");
}
