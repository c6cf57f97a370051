/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/process.h"
#include "core/guest.h"

bool guest_userns(const struct lodge_config_security *sec)
{
        return sec->has_idmap && !sec->privileged;
}

int userns_write_maps(pid_t pid, uint32_t base, uint32_t count, struct lodge_error **err)
{
        static const char *const maps[] = { "uid_map", "gid_map" };
        char line[64];
        int n;

        n = snprintf(line, sizeof(line), "0 %u %u\n", base, count);
        for (size_t i = 0; i < ELEMENTSOF(maps); i++) {
                char path[64];
                cleanup_close int fd = -EBADF;

                snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, maps[i]);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, line, (size_t)n) != n)
                        return lodge_error_set(err, errno, "write the guest's %s", maps[i]);
        }
        return 0;
}

int userns_detached_tree(const char *path, pid_t pid, bool idmap, bool ro, struct lodge_error **err)
{
        struct mount_attr attr = { .attr_set = (idmap ? MOUNT_ATTR_IDMAP : 0) |
                                               (ro ? MOUNT_ATTR_RDONLY : 0) };
        cleanup_close int fd = -EBADF, userns = -EBADF;

        fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (fd < 0)
                return lodge_error_set(err, errno, "clone the mount of '%s'", path);
        if (idmap) {
                char ns[64];

                snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)pid);
                userns = open(ns, O_RDONLY | O_CLOEXEC);
                if (userns < 0)
                        return lodge_error_set(err, errno, "open the guest's user namespace");
                attr.userns_fd = (uint64_t)userns;
        }
        if (attr.attr_set &&
            syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return lodge_error_set(err, errno,
                                       idmap && errno == EINVAL
                                               ? "idmap the mount of '%s': its filesystem can't "
                                                 "be idmapped here"
                                               : "set up the mount of '%s'",
                                       path);
        return TAKE_FD(fd);
}

int userns_idmap_probe(const char *path)
{
        cleanup_close int tree = -EBADF, userns = -EBADF;
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };
        char ns[64];
        int sync[2], r;
        pid_t pid;

        if (pipe2(sync, O_CLOEXEC) < 0)
                return -errno;
        /* A user namespace to map through: a child that waits in one. */
        pid = clone_child(CLONE_NEWUSER, -EBADF, NULL, NULL);
        if (pid == 0) {
                char c;

                close(sync[1]);
                (void)read(sync[0], &c, 1);
                _exit(0);
        }
        close(sync[0]);
        if (pid < 0) {
                close(sync[1]);
                return (int)pid;
        }
        snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)pid);
        r = userns_write_maps(pid, 65534, 1, NULL);
        if (r >= 0 && (userns = open(ns, O_RDONLY | O_CLOEXEC)) < 0)
                r = -errno;
        close(sync[1]);
        (void)waitpid(pid, NULL, 0);
        if (r < 0)
                return r;
        tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return -errno;
        attr.userns_fd = (uint64_t)userns;
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0)
                return 1;
        return errno == EINVAL ? 0 : -errno;
}
