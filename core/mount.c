/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "core/dev.h"
#include "core/guest.h"

/* Every target inside the rootfs is opened with open_in_root_nosymlinks() and
 * mounted on through /proc/self/fd/N, so a guest that plants "proc -> /" or
 * "dev -> /etc" can't get a host path mounted over (CVE-2015-1335 class).
 * A mount is always looked up again after it was made: an fd opened before
 * refers to the mount underneath. */

#define RO MS_RDONLY
#define SAFE (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static void fd_path(int fd, char buf[static 32])
{
        snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/* Open a target, making it (directory, or empty file) when missing. */
static int target_open(int rootfd, const char *path, bool dir, struct lodge_error **err)
{
        int fd = open_in_root_nosymlinks(rootfd, path, O_PATH | (dir ? O_DIRECTORY : 0), 0);
        struct stat st;

        if (fd == -ENOENT) {
                cleanup_free char *parent = strdup(path);
                cleanup_close int pfd = -EBADF;
                char *slash = parent ? strrchr(parent, '/') : NULL;
                const char *leaf = slash ? path + (slash - parent) + 1 : path;

                if (!parent)
                        return lodge_error_set(err, ENOMEM, "mount target '/%s'", path);
                if (slash)
                        *slash = '\0';
                pfd = slash ? open_in_root_nosymlinks(rootfd, parent, O_PATH | O_DIRECTORY, 0)
                            : fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
                if (pfd < 0)
                        return lodge_error_set(err, ENOTDIR,
                                               "mount target '/%s': its parent is not a directory",
                                               path);
                if ((dir ? mkdirat(pfd, leaf, 0755) : mknodat(pfd, leaf, S_IFREG | 0644, 0)) < 0 &&
                    errno != EEXIST)
                        return lodge_error_set(err, errno, "create mount target '/%s'", path);
                fd = open_in_root_nosymlinks(rootfd, path, O_PATH | (dir ? O_DIRECTORY : 0), 0);
        }
        if (fd == -ELOOP || fd == -ENOTDIR || fd == -EXDEV)
                return lodge_error_set(err, ELOOP, "'/%s' in the rootfs must be a %s, not a link",
                                       path, dir ? "directory" : "file");
        if (fd < 0)
                return lodge_error_set(err, -fd, "open mount target '/%s'", path);
        if (fstat(fd, &st) < 0 || (!dir && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))) {
                (void)close(fd);
                return lodge_error_set(err, EINVAL, "'/%s' in the rootfs must be a file", path);
        }
        return fd;
}

/* A new filesystem at target. */
static int fs_at(int rootfd, const char *type, const char *target, unsigned long flags,
                 const char *data, struct lodge_error **err)
{
        cleanup_close int fd = target_open(rootfd, target, true, err);
        char p[32];

        if (fd < 0)
                return fd;
        fd_path(fd, p);
        if (mount(type, p, type, flags, data) < 0)
                return lodge_error_set(err, errno, "mount %s on '/%s'", type, target);
        return 0;
}

/* Change the per-mount flags of the mount now on top of path. */
static int remount_at(int rootfd, const char *path, unsigned long flags, struct lodge_error **err)
{
        cleanup_close int fd = open_in_root_nosymlinks(rootfd, path, O_PATH, 0);
        char p[32];

        if (fd < 0)
                return lodge_error_set(err, -fd, "open '/%s'", path);
        fd_path(fd, p);
        if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
                return lodge_error_set(err, errno, "remount '/%s'", path);
        return 0;
}

/* Bind source (an fd path, or a host path) on target, then apply flags. */
static int bind_at(int rootfd, const char *source, const char *target, bool dir,
                   unsigned long flags, struct lodge_error **err)
{
        cleanup_close int fd = target_open(rootfd, target, dir, err);
        char p[32];

        if (fd < 0)
                return fd;
        fd_path(fd, p);
        if (mount(source, p, NULL, MS_BIND | MS_REC, NULL) < 0)
                return lodge_error_set(err, errno, "bind '%s' on '/%s'", source, target);
        return flags ? remount_at(rootfd, target, flags, err) : 0;
}

/* Bind a path of the rootfs onto itself, so it can get flags of its own. */
static int bind_self(int rootfd, const char *path, unsigned long flags, bool optional,
                     struct lodge_error **err)
{
        cleanup_close int fd = open_in_root_nosymlinks(rootfd, path, O_PATH, 0);
        char p[32];

        if (fd < 0) {
                if (optional && fd == -ENOENT)
                        return 0;
                return lodge_error_set(err, -fd, "open '/%s'", path);
        }
        fd_path(fd, p);
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
                return lodge_error_set(err, errno, "bind '/%s'", path);
        return flags ? remount_at(rootfd, path, flags, err) : 0;
}

/* Hide a /proc or /sys file or directory that tells too much about the host
 * or acts on all of it, where this kernel has one. A directory becomes an
 * empty read-only tmpfs; a file becomes /dev/null on a nodev mount, which
 * every open (read or write) fails with EACCES: a write to it mustn't look as
 * if it worked, nor a reader of /proc/kmsg spin on an endless empty file. */
static int mask(int rootfd, const char *path, struct lodge_error **err)
{
        cleanup_close int fd = open_in_root_nosymlinks(rootfd, path, O_PATH, 0);
        struct stat st;
        char p[32];

        if (fd < 0)
                return 0; /* not on this kernel */
        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "stat '/%s'", path);
        fd_path(fd, p);
        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", p, "tmpfs", RO | SAFE, "size=0,mode=555") < 0)
                        return lodge_error_set(err, errno, "mask '/%s'", path);
                return 0;
        }
        if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0)
                return lodge_error_set(err, errno, "mask '/%s'", path);
        return remount_at(rootfd, path, RO | SAFE, err);
}

static int mount_proc(int rootfd, struct lodge_error **err)
{
        /* runc's, nspawn's and LXC's lists: kernel memory and symbols, the
         * kernel log (reading it takes the host's messages away), keys, timers
         * and scheduler internals of every process on the host, the magic
         * SysRq key, and firmware and hardware tables. */
        static const char *const masked[] = {
                "proc/kcore",         "proc/kmsg",          "proc/kallsyms",    "proc/keys",
                "proc/key-users",     "proc/timer_list",    "proc/timer_stats", "proc/sched_debug",
                "proc/latency_stats", "proc/sysrq-trigger", "proc/acpi",        "proc/asound",
                "proc/scsi",
        };
        /* Knobs of the whole host's hardware: IRQ affinity, PCI config space,
         * drivers, filesystems. */
        static const char *const read_only[] = {
                "proc/bus",
                "proc/driver",
                "proc/fs",
                "proc/irq",
        };
        int r;

        r = fs_at(rootfd, "proc", "proc", SAFE, NULL, err);
        /* /proc/sys read-only, but for /proc/sys/net (the guest's own netns). */
        if (r >= 0)
                r = bind_self(rootfd, "proc/sys", 0, false, err);
        if (r >= 0)
                r = bind_self(rootfd, "proc/sys/net", 0, true, err);
        if (r >= 0)
                r = remount_at(rootfd, "proc/sys", RO | SAFE, err);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(read_only); i++)
                r = bind_self(rootfd, read_only[i], RO | SAFE, true, err);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(masked); i++)
                r = mask(rootfd, masked[i], err);
        return r;
}

/* The guest's cgroups: with its cgroup namespace, each hierarchy mounted
 * inside shows only the guest's own subtree, writable. */
static int mount_cgroups(int rootfd, const struct cg_host *h, struct lodge_error **err)
{
        int r;

        if (h->n == 1 && h->v2 == 0) /* cgroup2 only */
                return fs_at(rootfd, "cgroup2", "sys/fs/cgroup", SAFE, "nsdelegate", err);

        r = fs_at(rootfd, "tmpfs", "sys/fs/cgroup", SAFE, "mode=755,size=64k", err);
        if (r < 0)
                return r;
        /* The tmpfs just made, which only this process has seen: its
         * directories are made and opened in it directly. */
        cleanup_close int cg =
                open_in_root_nosymlinks(rootfd, "sys/fs/cgroup", O_PATH | O_DIRECTORY, 0);
        if (cg < 0)
                return lodge_error_set(err, -cg, "open '/sys/fs/cgroup'");
        for (size_t i = 0; i < h->n; i++) {
                const char *base = strrchr(h->h[i].mount, '/'), *type;
                cleanup_close int fd = -EBADF;
                char p[32];

                if (!base || !base[1] || strchr(base + 1, ' '))
                        continue;
                type = h->h[i].v2 ? "cgroup2" : "cgroup";
                if (mkdirat(cg, base + 1, 0755) < 0 && errno != EEXIST)
                        return lodge_error_set(err, errno, "create '/sys/fs/cgroup/%s'", base + 1);
                fd = openat(cg, base + 1, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return lodge_error_set(err, errno, "open '/sys/fs/cgroup/%s'", base + 1);
                fd_path(fd, p);
                if (mount(type, p, type, SAFE, h->h[i].v2 ? NULL : h->h[i].controllers) < 0)
                        return lodge_error_set(err, errno, "mount %s on '/sys/fs/cgroup/%s'", type,
                                               base + 1);
                /* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct", as systemd expects */
                if (strchr(base + 1, ',')) {
                        cleanup_free char *names = strdup(base + 1);
                        char *save = NULL;

                        for (char *c = names ? strtok_r(names, ",", &save) : NULL; c;
                             c = strtok_r(NULL, ",", &save))
                                (void)symlinkat(base + 1, cg, c);
                }
        }
        return remount_at(rootfd, "sys/fs/cgroup", RO | SAFE, err);
}

static int mount_sys(int rootfd, struct lodge_error **err)
{
        int r;

        /* A fresh sysfs in the guest's netns shows only its own interfaces. */
        r = fs_at(rootfd, "sysfs", "sys", SAFE, NULL, err);
        if (r >= 0)
                r = bind_self(rootfd, "sys/devices/virtual/net", 0, true, err);
        if (r >= 0)
                r = remount_at(rootfd, "sys", RO | SAFE, err);
        /* Firmware tables (ACPI, DMI serials, EFI variables) and the energy
         * counters of powercap (a side channel into other tenants), as runc. */
        if (r >= 0)
                r = mask(rootfd, "sys/firmware", err);
        if (r >= 0)
                r = mask(rootfd, "sys/devices/virtual/powercap", err);
        /* fusectl lists, and can abort, every FUSE connection of the host: a
         * mount point already there (as LXC does) keeps a booting systemd from
         * mounting it, and from spending the time. */
        if (r >= 0)
                r = bind_self(rootfd, "sys/fs/fuse/connections", RO | SAFE, true, err);
        return r;
}

static int make_node(int devfd, const char *name, mode_t mode, unsigned maj, unsigned min,
                     struct lodge_error **err)
{
        if (mknodat(devfd, name, S_IFCHR | mode, makedev(maj, min)) < 0)
                return lodge_error_set(err, errno, "create /dev/%s", name);
        /* mknod is subject to the umask */
        if (fchmodat(devfd, name, mode, 0) < 0)
                return lodge_error_set(err, errno, "chmod /dev/%s", name);
        return 0;
}

/* device.N in a user namespace, where mknod isn't allowed: the host's node,
 * bound (the guest's root opens it as the node's mode lets others). */
static int dev_node_bind(int rootfd, int devfd, const struct dev_node *n, struct lodge_error **err)
{
        cleanup_free char *target = NULL, *parent = NULL;
        char *slash;

        if (asprintf(&target, "dev/%s", n->target) < 0 || !(parent = strdup(n->target)))
                return lodge_error_set(err, ENOMEM, "device '%s'", n->path);
        slash = strrchr(parent, '/');
        if (slash) {
                cleanup_close int pfd = -EBADF;

                *slash = '\0';
                pfd = mkdir_p_at(devfd, parent, 0755);
                if (pfd < 0)
                        return lodge_error_set(err, -pfd, "create /dev/%s", parent);
        }
        return bind_at(rootfd, n->path, target, false, 0, err);
}

/* The standard nodes: made, or in a user namespace (where mknod isn't
 * allowed) the host's, bound. */
static int mount_dev(int rootfd, bool userns, const char *console, char *const *devices,
                     size_t n_devices, struct lodge_error **err)
{
        cleanup_close int devfd = -EBADF;
        int r;

        r = fs_at(rootfd, "tmpfs", "dev", MS_NOSUID | MS_NOEXEC, "mode=755,size=512k", err);
        if (r < 0)
                return r;
        devfd = open_in_root_nosymlinks(rootfd, "dev", O_RDONLY | O_DIRECTORY, 0);
        if (devfd < 0)
                return lodge_error_set(err, -devfd, "open /dev");
        for (size_t i = 0; i < ELEMENTSOF(dev_std_nodes); i++) {
                char host[32], target[32];

                snprintf(host, sizeof(host), "/dev/%s", dev_std_nodes[i].name);
                snprintf(target, sizeof(target), "dev/%s", dev_std_nodes[i].name);
                r = userns ? bind_at(rootfd, host, target, false, 0, err)
                           : make_node(devfd, dev_std_nodes[i].name, 0666, dev_std_nodes[i].maj,
                                       dev_std_nodes[i].min, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(dev_std_links); i++)
                if (symlinkat(dev_std_links[i].target, devfd, dev_std_links[i].name) < 0)
                        return lodge_error_set(err, errno, "create /dev/%s", dev_std_links[i].name);

        /* max: as LXC's pty.max; the ptys of every devpts but the host's share
         * kernel.pty.max - kernel.pty.reserve (3072 by default): one guest
         * mustn't take all of them from the others. */
        r = fs_at(rootfd, "devpts", "dev/pts", MS_NOSUID | MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620,gid=5,max=1024", err);
        if (r >= 0)
                r = fs_at(rootfd, "tmpfs", "dev/shm", SAFE, "mode=1777", err);
        if (r >= 0)
                r = fs_at(rootfd, "mqueue", "dev/mqueue", SAFE, NULL, err);
        /* By path: an fd opened before clone() belongs to the host's mount namespace. */
        if (r >= 0 && console)
                r = bind_at(rootfd, console, "dev/console", false, 0, err);
        /* device.N: the host's nodes, which the device cgroup lets through. */
        for (size_t k = 0; r >= 0 && k < n_devices; k++) {
                struct dev_node node = { 0 };

                if (!devices[k])
                        continue;
                r = dev_node_parse(devices[k], &node, err);
                if (r >= 0)
                        r = userns ? dev_node_bind(rootfd, devfd, &node, err)
                                   : dev_node_make(devfd, &node, err);
                dev_node_done(&node);
                if (r < 0)
                        return lodge_error_prefix(err, r, "device.%zu", k);
        }
        return r;
}

static int mount_run(int rootfd, struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;
        int r;

        r = fs_at(rootfd, "tmpfs", "run", MS_NOSUID | MS_NODEV, "mode=755,size=20%", err);
        if (r < 0)
                return r;
        /* systemd and others read how they are contained from here too. */
        fd = open_in_root_nosymlinks(rootfd, "run", O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0 || mkdirat(fd, "systemd", 0755) < 0)
                return lodge_error_set(err, fd < 0 ? -fd : errno, "create /run/systemd");
        {
                cleanup_close int sd = openat(fd, "systemd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (sd < 0)
                        return lodge_error_set(err, errno, "open /run/systemd");
                return write_file_replace_at(sd, "container", "lodge\n", 6, 0444, err);
        }
}

/* The per-mount flags of the mount an fd is on, for a bind remount that
 * mustn't drop them (nosuid, nodev, noexec of a host mount). */
static unsigned long mount_flags_of(int fd)
{
        static const struct {
                unsigned long st, ms;
        } map[] = {
                { ST_NOSUID, MS_NOSUID },         { ST_NODEV, MS_NODEV },
                { ST_NOEXEC, MS_NOEXEC },         { ST_NOATIME, MS_NOATIME },
                { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
        };
        unsigned long flags = 0;
        struct statvfs sv;

        if (fstatvfs(fd, &sv) < 0)
                return MS_NOSUID | MS_NODEV; /* can't tell: the safe side */
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (sv.f_flag & map[i].st)
                        flags |= map[i].ms;
        return flags;
}

void guest_mounts_done(struct guest_mounts *gm)
{
        if (gm->rootfs >= 0)
                close(gm->rootfs);
        for (size_t k = 0; k < ELEMENTSOF(gm->entry); k++)
                if (gm->entry[k] >= 0)
                        close(gm->entry[k]);
        *gm = (struct guest_mounts)GUEST_MOUNTS_NULL;
}

int mount_spec_parse(const char *value, struct mount_spec *ret, struct lodge_error **err)
{
        struct mount_spec m = { 0 };
        char *save = NULL, *opts;

        m.buf = strdup(value);
        if (!m.buf)
                return lodge_error_set(err, ENOMEM, "mount '%s'", value);
        m.source = strtok_r(m.buf, " ", &save);
        m.target = strtok_r(NULL, " ", &save);
        opts = strtok_r(NULL, " ", &save);
        if (!m.source || !m.target) {
                free(m.buf);
                return lodge_error_set(err, EINVAL, "'%s' is not SOURCE TARGET [OPTIONS]", value);
        }
        m.target += strspn(m.target, "/");
        for (char *o = opts ? strtok_r(opts, ",", &save) : NULL; o;
             o = strtok_r(NULL, ",", &save)) {
                if (strcmp(o, "ro") == 0)
                        m.ro = true;
                else if (strcmp(o, "optional") == 0)
                        m.optional = true;
                else if (strcmp(o, "create=dir") == 0)
                        m.create = 'd';
                else if (strcmp(o, "create=file") == 0)
                        m.create = 'f';
                else if (strcmp(o, "shift") == 0)
                        m.shift = true;
                else if (strcmp(o, "rw") != 0) {
                        free(m.buf);
                        return lodge_error_set(err, EINVAL, "unknown option '%s'", o);
                }
        }
        if (!*m.target) {
                free(m.buf);
                return lodge_error_set(err, EINVAL, "the target is the guest's root directory");
        }
        *ret = m;
        return 0;
}

void mount_spec_done(struct mount_spec *m)
{
        free(m->buf);
        *m = (struct mount_spec){ 0 };
}

/* mount.N = "SOURCE TARGET [OPTIONS]": a host path bound into the guest. The
 * source is the admin's and opened once: here, or (src >= 0) as a detached
 * mount by the monitor, for a guest in a user namespace. The target and its
 * missing parents are found and made in the rootfs without following any
 * symlink, so one the guest planted can't get a host path mounted over
 * (CVE-2015-1335). */
static int mount_entry(int rootfd, const char *value, int detached, struct lodge_error **err)
{
        CLEANUP(mount_spec_done) struct mount_spec m = { 0 };
        cleanup_close int own = -EBADF, parent = -EBADF;
        int src;
        char *target, *slash;
        struct stat st;
        char p[32];
        bool dir;
        int r;

        r = mount_spec_parse(value, &m, err);
        if (r < 0)
                return r;
        if (m.shift && detached < 0)
                return lodge_error_set(err, EINVAL,
                                       "'shift' is for a guest in a user namespace, not a "
                                       "privileged one");
        if (detached == -ENOENT) /* the monitor found no source, and it is optional */
                return 0;
        target = m.target;
        src = detached >= 0 ? detached : (own = open(m.source, O_PATH | O_CLOEXEC));
        if (src < 0 && errno == ENOENT && m.optional)
                return 0;
        if (src < 0 || fstat(src, &st) < 0)
                return lodge_error_set(err, errno, "source '%s'", m.source);
        dir = m.create ? m.create == 'd' : S_ISDIR(st.st_mode);

        slash = strrchr(target, '/');
        if (slash) {
                *slash = '\0';
                parent = mkdir_p_at(rootfd, target, 0755);
                if (parent < 0)
                        return lodge_error_set(err, parent == -ELOOP ? ELOOP : -parent,
                                               parent == -ELOOP
                                                       ? "'/%s' in the rootfs must be a directory, "
                                                         "not a link"
                                                       : "create '/%s' in the rootfs",
                                               target);
                *slash = '/';
        }
        {
                cleanup_close int fd = target_open(rootfd, target, dir, err);
                char t[32];

                if (fd < 0)
                        return fd;
                fd_path(src, p);
                fd_path(fd, t);
                /* Not recursive: what is mounted below the source stays on the host. The
                 * monitor's detached copy is already made so, and ro where asked. */
                if (detached >= 0) {
                        if (syscall(SYS_move_mount, src, "", fd, "",
                                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                                return lodge_error_set(err, errno, "mount '%s' on '/%s'", m.source,
                                                       target);
                        return 0;
                }
                if (mount(p, t, NULL, MS_BIND, NULL) < 0)
                        return lodge_error_set(err, errno, "bind '%s' on '/%s'", m.source, target);
        }
        return m.ro ? remount_at(rootfd, target, RO | mount_flags_of(src), err) : 0;
}

static int mount_entries(int rootfd, char *const *mounts, const int *detached, size_t n,
                         struct lodge_error **err)
{
        for (size_t k = 0; k < n; k++) {
                int r;

                if (!mounts[k])
                        continue;
                r = mount_entry(rootfd, mounts[k], detached ? detached[k] : -EBADF, err);
                if (r < 0)
                        return lodge_error_prefix(err, r, "mount.%zu", k);
        }
        return 0;
}

static int pivot(int rootfd, struct lodge_error **err)
{
        if (fchdir(rootfd) < 0)
                return lodge_error_set(err, errno, "enter the rootfs");
        /* pivot_root(".", ".") stacks the old root on top of the new one. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return lodge_error_set(err, errno, "pivot_root");
        if (umount2(".", MNT_DETACH) < 0)
                return lodge_error_set(err, errno, "detach the host's root");
        if (chdir("/") < 0)
                return lodge_error_set(err, errno, "chdir /");
        return 0;
}

int guest_mount_all(const struct guest_setup *s, const struct guest_mounts *gm,
                    guest_cgroups_cb enter_cgroups, void *userdata, struct lodge_error **err)
{
        int rootfs_fd = gm->rootfs;
        cleanup_close int rootfd = -EBADF;
        bool userns = guest_userns(&s->cfg->security);
        int r;

        /* Nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return lodge_error_set(err, errno, "make mounts private");
        /* pivot_root needs the rootfs to be a mount point. */
        if (rootfs_fd >= 0) {
                if (syscall(SYS_move_mount, rootfs_fd, "", AT_FDCWD, s->rootfs,
                            MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return lodge_error_set(err, errno, "mount the rootfs");
        } else if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
                return lodge_error_set(err, errno, "bind the rootfs");
        }
        rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (rootfd < 0)
                return lodge_error_set(err, errno, "open the rootfs");
        /* In its user namespace, with its maps written and its rootfs at hand
         * (the way there is the host root's alone): become its root, so that
         * what is made on the idmapped rootfs is stored as owned by 0. */
        if (userns && (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                return lodge_error_set(err, errno, "become root in the user namespace");

        r = mount_proc(rootfd, err);
        if (r >= 0)
                r = mount_sys(rootfd, err);
        if (r >= 0)
                r = mount_dev(rootfd, userns, s->console, s->cfg->limits.devices,
                              ELEMENTSOF(s->cfg->limits.devices), err);
        if (r >= 0)
                r = mount_run(rootfd, err);
        if (r >= 0)
                r = mount_entries(rootfd, s->cfg->mounts, userns ? gm->entry : NULL,
                                  ELEMENTSOF(s->cfg->mounts), err);
        if (r >= 0)
                r = pivot(rootfd, err);
        /* Last, once pivoted (the host may still be making the cgroups (v1)
         * meanwhile, and the old root's unmount waits for RCU): mounted once
         * joined, from inside its cgroup namespace, through rootfd. */
        if (r >= 0 && enter_cgroups)
                r = enter_cgroups(s, userdata, err);
        if (r >= 0)
                r = mount_cgroups(rootfd, s->cgroups, err);
        return r;
}
