/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "busybox" template: a tiny guest made from the host's statically linked
 * busybox. busybox init is PID 1 (SIGUSR2 powers it off, as lodge stop sends),
 * rcS brings up lo and runs udhcpc on the interfaces that came up without an
 * address, and gettys wait on the console and tty1. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/base/process.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"

#define DEFAULT_BUSYBOX "/bin/busybox"

struct busybox_state {
        char *busybox;
};

static void busybox_free_state(void *state)
{
        struct busybox_state *s = state;

        if (!s)
                return;
        free(s->busybox);
        free(s);
}

static void busybox_state_freep(struct busybox_state **s)
{
        busybox_free_state(*s);
}

/* A dynamically linked busybox would find no libc in the guest: refuse any
 * ELF file with a program interpreter. */
static int check_static(int fd, const char *path, struct lodge_error **err)
{
        unsigned char ident[EI_NIDENT];
        Elf64_Ehdr eh;

        if (pread(fd, ident, sizeof(ident), 0) != (ssize_t)sizeof(ident) ||
            memcmp(ident, ELFMAG, SELFMAG) != 0)
                return lodge_error_set(err, EINVAL, "--busybox '%s' is not an ELF executable",
                                       path);
        if (ident[EI_CLASS] != ELFCLASS64)
                return lodge_error_set(err, EINVAL, "--busybox '%s': only 64-bit ELF is supported",
                                       path);
        if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
            eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 512)
                return lodge_error_set(err, EINVAL, "--busybox '%s': bad ELF header", path);
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;

                if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
                    (ssize_t)sizeof(ph))
                        return lodge_error_set(err, EINVAL, "--busybox '%s': bad ELF header", path);
                if (ph.p_type == PT_INTERP)
                        return lodge_error_set(err, EINVAL,
                                               "--busybox '%s' is dynamically linked: the guest "
                                               "needs a static busybox (busybox-static)",
                                               path);
        }
        return 0;
}

static int check_busybox(const char *path, struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;
        struct stat st;

        if (path[0] != '/')
                return lodge_error_set(err, EINVAL, "--busybox '%s' must be an absolute path",
                                       path);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return lodge_error_set(err, ENOENT,
                                               "'%s' does not exist (install busybox-static, or "
                                               "name one with --busybox)",
                                               path);
                return lodge_error_set(err, errno, "--busybox '%s'", path);
        }
        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "--busybox '%s'", path);
        if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                return lodge_error_set(err, EINVAL, "--busybox '%s' is not an executable file",
                                       path);
        return check_static(fd, path, err);
}

static int busybox_parse(int argc, char **argv, void **ret_state, struct lodge_error **err)
{
        static const struct option options[] = {
                { "busybox", required_argument, NULL, 'b' },
                { 0 },
        };
        CLEANUP(busybox_state_freep) struct busybox_state *s = calloc(1, sizeof(*s));
        const char *bin = DEFAULT_BUSYBOX;
        int c, r;

        if (!s)
                return lodge_error_set(err, ENOMEM, "parse arguments");
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:b:", options, NULL)) >= 0) {
                switch (c) {
                case 'b':
                        bin = optarg;
                        break;
                case ':':
                        return lodge_error_set(err, EINVAL, "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return lodge_error_set(err, EINVAL, "unknown option '%s'",
                                               argv[optind - 1]);
                }
        }
        if (optind < argc)
                return lodge_error_set(err, EINVAL, "unexpected argument '%s'", argv[optind]);
        r = check_busybox(bin, err);
        if (r < 0)
                return r;
        s->busybox = strdup(bin);
        if (!s->busybox)
                return lodge_error_set(err, ENOMEM, "parse arguments");
        *ret_state = TAKE_PTR(s);
        return 0;
}

static const char inittab[] =
        "# busybox init(8) as PID 1 of a lodge guest. /dev/console is a pty held by\n"
        "# lodge's monitor. SIGUSR2 (lodge stop) powers off, SIGTERM reboots.\n"
        "::sysinit:/etc/init.d/rcS\n"
        "console::respawn:/sbin/getty -L 0 console vt100\n"
        "tty1::respawn:/sbin/getty 38400 tty1\n"
        "::ctrlaltdel:/sbin/reboot\n"
        "::shutdown:/etc/init.d/rcK\n"
        "::restart:/sbin/init\n";

static const char rcS[] =
        "#!/bin/sh\n"
        "# sysinit: lodge has mounted /proc, /sys, /dev and /run already.\n"
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
        "export PATH\n"
        "[ -s /etc/hostname ] && hostname -F /etc/hostname\n"
        "ip link set lo up 2>/dev/null\n"
        "# DHCP on each interface that came up without an IPv4 address (net.N.ipv4 = dhcp);\n"
        "# udhcpc waits about 3 s for a lease, then keeps trying in the background.\n"
        "for iface in $(ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: *\\([^:@ ]*\\).*/\\1/p'); "
        "do\n"
        "\t[ \"$iface\" = lo ] && continue\n"
        "\tip link set \"$iface\" up 2>/dev/null || continue\n"
        "\tip -4 addr show dev \"$iface\" | grep -q 'inet ' && continue\n"
        "\tudhcpc -b -t 3 -T 1 -A 5 -i \"$iface\" -s /usr/share/udhcpc/default.script \\\n"
        "\t\t-p \"/run/udhcpc.$iface.pid\" -x \"hostname:$(hostname)\" \\\n"
        "\t\t>\"/run/udhcpc.$iface.log\" 2>&1\n"
        "done\n"
        "for f in /etc/rc.local.d/*; do [ -x \"$f\" ] && \"$f\"; done\n"
        "echo \"rcS: $(hostname) is up\"\n";

static const char rcK[] = "#!/bin/sh\n"
                          "# shutdown: no \"umount -a -r\", lodge tears the guest's mounts down.\n"
                          "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
                          "for p in /run/udhcpc.*.pid; do [ -f \"$p\" ] && kill \"$(cat "
                          "\"$p\")\" 2>/dev/null; done\n"
                          "sync\n";

static const char udhcpc_script[] =
        "#!/bin/sh\n"
        "# udhcpc event script: configure $interface from the lease with ip(8).\n"
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
        "RESOLV_CONF=/etc/resolv.conf\n"
        "case \"$1\" in\n"
        "deconfig)\n"
        "\tip -4 addr flush dev \"$interface\"\n"
        "\tip link set \"$interface\" up\n"
        "\t;;\n"
        "bound|renew)\n"
        "\tif ! ip -4 addr show dev \"$interface\" | grep -q \"inet $ip/${mask:-24} \"; then\n"
        "\t\tip -4 addr flush dev \"$interface\"\n"
        "\t\tip addr add \"$ip/${mask:-24}\" ${broadcast:+broadcast \"$broadcast\"} dev "
        "\"$interface\"\n"
        "\tfi\n"
        "\tfor gw in $router; do\n"
        "\t\tip route replace default via \"$gw\" dev \"$interface\"\n"
        "\t\tbreak\n"
        "\tdone\n"
        "\tif [ -n \"$dns\" ]; then\n"
        "\t\ttmp=\"$RESOLV_CONF.udhcpc.$$\"\n"
        "\t\t{\n"
        "\t\t\t[ -n \"$domain\" ] && echo \"search $domain\"\n"
        "\t\t\tfor ns in $dns; do echo \"nameserver $ns\"; done\n"
        "\t\t} >\"$tmp\" && mv -f \"$tmp\" \"$RESOLV_CONF\"\n"
        "\tfi\n"
        "\t;;\n"
        "esac\n"
        "exit 0\n";

static const struct {
        const char *path;
        const char *content;
        mode_t mode;
} files[] = {
        { "/etc/inittab", inittab, 0644 },
        { "/etc/init.d/rcS", rcS, 0755 },
        { "/etc/init.d/rcK", rcK, 0755 },
        { "/usr/share/udhcpc/default.script", udhcpc_script, 0755 },
        { "/etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
          0644 },
        { "/etc/group", "root:x:0:\ntty:x:5:\nusers:x:100:\nnogroup:x:65534:\n", 0644 },
        { "/etc/shadow", "root:!::0:99999:7:::\nnobody:*::0:99999:7:::\n", 0640 },
        { "/etc/profile",
          "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
          "export PS1='\\h:\\w\\$ '\n",
          0644 },
        { "/etc/os-release",
          "NAME=\"BusyBox\"\nID=busybox\nPRETTY_NAME=\"BusyBox (lodge busybox template)\"\n",
          0644 },
        { "/etc/resolv.conf", "", 0644 },
};

static const struct {
        const char *path;
        mode_t mode;
} dirs[] = {
        { "bin", 0755 },        { "sbin", 0755 },
        { "usr", 0755 },        { "usr/bin", 0755 },
        { "usr/sbin", 0755 },   { "usr/share", 0755 },
        { "etc", 0755 },        { "etc/init.d", 0755 },
        { "etc/udhcpc", 0755 }, { "etc/rc.local.d", 0755 },
        { "root", 0700 },       { "home", 0755 },
        { "tmp", 01777 },       { "proc", 0555 },
        { "sys", 0555 },        { "dev", 0755 },
        { "run", 0755 },        { "var", 0755 },
        { "var/log", 0755 },    { "var/tmp", 01777 },
        { "mnt", 0755 },
};

static int copy_busybox(int rootfd, const char *src, struct lodge_error **err)
{
        cleanup_close int in = -EBADF, bin = -EBADF, out = -EBADF;
        struct stat st;

        in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0 || fstat(in, &st) < 0)
                return lodge_error_set(err, errno, "open '%s'", src);
        bin = openat(rootfd, "bin", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (bin < 0)
                return lodge_error_set(err, errno, "open /bin in the guest");
        out = openat(bin, "busybox", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
        if (out < 0)
                return lodge_error_set(err, errno, "create /bin/busybox in the guest");
        for (off_t done = 0; done < st.st_size;) {
                ssize_t n = sendfile(out, in, &done, (size_t)(st.st_size - done));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return lodge_error_set(err, n < 0 ? errno : EIO, "copy '%s'", src);
        }
        if (fchmod(out, 0755) < 0)
                return lodge_error_set(err, errno, "chmod /bin/busybox in the guest");
        return 0;
}

struct applets {
        int rootfd;
        int r;
        unsigned n;
};

/* One line of "busybox --list-full": "usr/bin/wget". One relative symlink per
 * applet, so that the tree also makes sense seen from the host. */
static void add_applet(const char *line, void *userdata)
{
        struct applets *a = userdata;
        const char *slash = strrchr(line, '/');
        char dir[256], target[256] = "";
        cleanup_close int dirfd = -EBADF;

        if (a->r < 0 || !slash || slash - line >= (ptrdiff_t)sizeof(dir) ||
            !filename_is_valid(slash + 1) || strcmp(line, "bin/busybox") == 0 ||
            strcmp(line, "sbin/init") == 0)
                return; /* linuxrc and the like: not wanted in a container */
        memcpy(dir, line, (size_t)(slash - line));
        dir[slash - line] = '\0';
        if (strcmp(dir, "bin") == 0)
                snprintf(target, sizeof(target), "busybox");
        else
                for (const char *p = dir; p; p = strchr(p + 1, '/')) {
                        size_t n = strlen(target);

                        if (n + sizeof("../bin/busybox") > sizeof(target)) {
                                a->r = -ENAMETOOLONG;
                                return;
                        }
                        snprintf(target + n, sizeof(target) - n, "../%s",
                                 strchr(p + 1, '/') ? "" : "bin/busybox");
                }
        dirfd = mkdir_p_at(a->rootfd, dir, 0755);
        if (dirfd < 0) {
                a->r = dirfd;
                return;
        }
        if (symlinkat(target, dirfd, slash + 1) < 0 && errno != EEXIST) {
                a->r = -errno;
                return;
        }
        a->n++;
}

static int make_applets(int rootfd, const char *busybox, struct lodge_error **err)
{
        struct applets a = { .rootfd = rootfd };
        struct spawn_options opts = { .on_line = add_applet, .userdata = &a };
        char *argv[] = { (char *)busybox, "--list-full", NULL };
        int r;

        r = spawn_wait_opts(argv, &opts, NULL);
        if (r != 0)
                return lodge_error_set(err, r < 0 ? -r : EIO, "busybox --list-full: %s",
                                       r < 0 ? "could not run it" : "failed");
        if (a.r < 0)
                return lodge_error_set(err, -a.r, "make the busybox applet links");
        if (a.n < 10)
                return lodge_error_set(err, EINVAL, "busybox lists only %u applets", a.n);
        if (symlinkat("../bin/busybox", rootfd, "sbin/init") < 0)
                return lodge_error_set(err, errno, "symlink /sbin/init");
        return 0;
}

static int busybox_populate(const struct lodge_template_ctx *ctx, void *state,
                            struct lodge_template_result *res, struct lodge_error **err)
{
        const struct busybox_state *s = state;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                if (mkdirat(ctx->rootfs_fd, dirs[i].path, dirs[i].mode) < 0 && errno != EEXIST)
                        return lodge_error_set(err, errno, "create /%s in the guest", dirs[i].path);
                /* The umask must not take the sticky /tmp's bits away. */
                if (fchmodat(ctx->rootfs_fd, dirs[i].path, dirs[i].mode, AT_SYMLINK_NOFOLLOW) < 0 &&
                    errno != EOPNOTSUPP)
                        return lodge_error_set(err, errno, "chmod /%s in the guest", dirs[i].path);
        }
        if (symlinkat("../run", ctx->rootfs_fd, "var/run") < 0)
                return lodge_error_set(err, errno, "symlink /var/run in the guest");
        r = copy_busybox(ctx->rootfs_fd, s->busybox, err);
        if (r >= 0)
                r = make_applets(ctx->rootfs_fd, s->busybox, err);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(files); i++)
                r = guest_write_file(ctx->rootfs_fd, files[i].path, files[i].content, files[i].mode,
                                     err);
        if (r >= 0)
                r = guest_symlink(ctx->rootfs_fd, "/etc/udhcpc/default.script",
                                  "../../usr/share/udhcpc/default.script", err);
        if (r < 0)
                return r;
        if (strv_extend(&res->config, "init.cmd=/sbin/init") < 0)
                return lodge_error_set(err, ENOMEM, "build config");
        return 0;
}

const struct lodge_template_ops template_busybox_ops = {
        .name = "busybox",
        .summary = "a tiny guest from the host's static busybox (init, shell, udhcpc)",
        .usage = "[--busybox PATH]\n"
                 "  -b, --busybox PATH  the statically linked busybox to copy in\n"
                 "                      (default " DEFAULT_BUSYBOX ", from busybox-static)\n",
        .parse = busybox_parse,
        .populate = busybox_populate,
        .free_state = busybox_free_state,
};
