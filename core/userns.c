/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "core/base/process.h"
#include "core/base/rmtree.h"
#include "core/guest.h"
#include "storage/storage.h"

bool guest_userns(const struct lodge_config_security *sec)
{
        return sec->has_idmap && !sec->privileged;
}

/* Write the same map text as pid's uid_map and gid_map. */
static int write_maps(pid_t pid, const char *text, struct lodge_error **err)
{
        static const char *const maps[] = { "uid_map", "gid_map" };
        size_t n = strlen(text);

        for (size_t i = 0; i < ELEMENTSOF(maps); i++) {
                char path[64];
                cleanup_close int fd = -EBADF;

                snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, maps[i]);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, text, n) != (ssize_t)n)
                        return lodge_error_set(err, errno, "write the guest's %s", maps[i]);
        }
        return 0;
}

int userns_write_maps(pid_t pid, uint32_t base, uint32_t count, struct lodge_error **err)
{
        char line[64];

        snprintf(line, sizeof(line), "0 %u %u\n", base, count);
        return write_maps(pid, line, err);
}

/* A new user namespace with these maps, held by an fd: a child waits in
 * it while its maps are written and the fd opened, then goes. */
static int userns_new(const char *maps, struct lodge_error **err)
{
        cleanup_close int userns = -EBADF;
        char ns[64];
        int sync[2], r;
        pid_t pid;

        if (pipe2(sync, O_CLOEXEC) < 0)
                return lodge_error_set(err, errno, "create a pipe");
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
                return lodge_error_set(err, (int)-pid, "create a user namespace");
        }
        snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)pid);
        r = write_maps(pid, maps, err);
        if (r >= 0 && (userns = open(ns, O_RDONLY | O_CLOEXEC)) < 0)
                r = lodge_error_set(err, errno, "open a user namespace");
        close(sync[1]);
        (void)waitpid(pid, NULL, 0);
        return r < 0 ? r : TAKE_FD(userns);
}

int userns_new_writer(uint32_t base, uint32_t count, struct lodge_error **err)
{
        char maps[96];

        snprintf(maps, sizeof(maps), "0 %u %u\n%u 0 1\n", base, count, count);
        return userns_new(maps, err);
}

int userns_detached_tree(const char *path, pid_t pid, bool idmap, bool ro, struct lodge_error **err)
{
        cleanup_close int userns = -EBADF;

        if (idmap) {
                char ns[64];

                snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)pid);
                userns = open(ns, O_RDONLY | O_CLOEXEC);
                if (userns < 0)
                        return lodge_error_set(err, errno, "open the guest's user namespace");
        }
        return lodge_storage_tree_clone(AT_FDCWD, path, userns, ro, err);
}

int userns_overlay_probe(const char *path)
{
        struct lodge_storage_idmap idmap = { .userns_fd = -EBADF, .writer_userns_fd = -EBADF };
        const struct lodge_storage_ops *ops = lodge_storage_find("overlay");
        cleanup_error struct lodge_error *e = NULL;
        cleanup_free char *tmp = NULL;
        cleanup_close int dir = -EBADF, layer = -EBADF, tree = -EBADF;
        int r;

        if (asprintf(&tmp, "%s/.lodge-probe-XXXXXX", path) < 0)
                return -ENOMEM;
        if (!mkdtemp(tmp))
                return -errno;
        dir = open_dir_at(AT_FDCWD, tmp);
        r = dir < 0 ? dir : mkdirat(dir, "layer", 0755) < 0 ? -errno : 0;
        if (r >= 0 && (layer = open_dir_at(dir, "layer")) < 0)
                r = layer;
        if (r >= 0)
                r = ops->create(dir, layer, &e);
        if (r >= 0)
                r = idmap.userns_fd = userns_new("0 65534 1\n", &e);
        if (r >= 0)
                r = idmap.writer_userns_fd = userns_new_writer(65534, 1, &e);
        if (r >= 0)
                r = tree = ops->open_tree(dir, layer, &idmap, LODGE_VIEW_GUEST, &e);
        if (idmap.userns_fd >= 0)
                close(idmap.userns_fd);
        if (idmap.writer_userns_fd >= 0)
                close(idmap.writer_userns_fd);
        (void)rm_rf_at(AT_FDCWD, tmp, NULL);
        if (r >= 0)
                return 1;
        return r == -EINVAL || r == -EOPNOTSUPP || r == -EROFS ? 0 : r;
}

int userns_idmap_probe(const char *path)
{
        cleanup_close int tree = -EBADF, userns = -EBADF;
        cleanup_error struct lodge_error *e = NULL;
        struct statfs sf;

        /* ext4 and xfs can be idmapped since Linux 5.12, btrfs since 5.15: no trial. */
        if (statfs(path, &sf) == 0 &&
            (sf.f_type == EXT4_SUPER_MAGIC || sf.f_type == XFS_SUPER_MAGIC ||
             sf.f_type == BTRFS_SUPER_MAGIC))
                return 1;

        userns = userns_new("0 65534 1\n", &e);
        if (userns < 0)
                return userns;
        tree = lodge_storage_tree_clone(AT_FDCWD, path, userns, false, &e);
        if (tree >= 0)
                return 1;
        return tree == -EINVAL ? 0 : tree;
}
