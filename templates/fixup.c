/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fix-ups every guest gets after its template, whatever made the tree:
 * its name, a machine id of its own, the network config that matches net.0,
 * a getty on the console and tty1, the units and generators that can't work in
 * a container masked, and openrc told it runs in a container. Only files are
 * written, inside the rootfs through guest-files.c; no host tool ever runs on
 * a guest path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "templates/templates-internal.h"

#define GENERATED "# Written by lodge from the container's config; lodge create rewrites it.\n"

/* Units that fail or do harm in a container: udev has no devices to manage,
 * the kernel's debug/config/tracing filesystems are the host's, and Debian's
 * getty-static starts gettys on tty2-6 (a guest's gettys are on its console
 * and tty1: $container_ttys, see core/start.c). */
static const char *const masked_units[] = {
        "systemd-udevd.service",         "systemd-udevd-control.socket",
        "systemd-udevd-kernel.socket",   "systemd-udev-trigger.service",
        "systemd-udev-settle.service",   "sys-kernel-config.mount",
        "sys-kernel-debug.mount",        "sys-kernel-tracing.mount",
        "sys-fs-fuse-connections.mount", "systemd-modules-load.service",
        "getty-static.service",          "systemd-hwdb-update.service",
};

/* Generators with nothing to do in a container, which systemd still forks and
 * execs at every boot and daemon-reload: they set up dm-crypt, dm-integrity
 * and dm-verity devices, the root disk's partitions and the resume from a
 * swap device, and a container has none of these devices. Where processes
 * are costly to start, a Debian guest's generator phase took 145 ms with
 * them and 88 without (bench/README.md). */
static const char *const masked_generators[] = {
        "systemd-cryptsetup-generator",       "systemd-gpt-auto-generator",
        "systemd-hibernate-resume-generator", "systemd-integritysetup-generator",
        "systemd-veritysetup-generator",
};

enum init_kind { INIT_OTHER, INIT_SYSTEMD, INIT_SYSVINIT, INIT_BUSYBOX };

static enum init_kind detect_init(int rootfd)
{
        cleanup_close int fd = open_in_root(rootfd, "/sbin/init", O_PATH, 0);
        char link[64], target[4096];
        const char *base;
        ssize_t n;

        if (fd < 0)
                return INIT_OTHER;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
                return INIT_OTHER;
        target[n] = '\0';
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (strcmp(base, "systemd") == 0)
                return INIT_SYSTEMD;
        if (strcmp(base, "busybox") == 0)
                return INIT_BUSYBOX;
        return guest_exists(rootfd, "/etc/inittab") ? INIT_SYSVINIT : INIT_OTHER;
}

static int write_hostname(int rootfd, const struct lodge_guest_setup *s, struct lodge_error **err)
{
        cleanup_free char *content = NULL, *old = NULL, *hosts = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        if (asprintf(&content, "%s\n", s->hostname) < 0)
                return lodge_error_set(err, ENOMEM, "write /etc/hostname");
        r = guest_update_file(rootfd, "/etc/hostname", content, 0644, err);
        if (r < 0)
                return r;

        /* /etc/hosts: the image's lines, but 127.0.1.1 names this guest. */
        r = guest_read_file(rootfd, "/etc/hosts", 1 << 20, &old, NULL);
        if (r < 0 && r != -ENOENT)
                old = NULL;
        f = open_memstream(&hosts, &len);
        if (!f)
                return lodge_error_set(err, ENOMEM, "write /etc/hosts");
        if (!old || !strstr(old, "localhost"))
                fputs("127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n", f);
        fprintf(f, "127.0.1.1\t%s\n", s->hostname);
        for (char *line = old, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (strncmp(line, "127.0.1.1", 9) != 0)
                        fprintf(f, "%s\n", line);
        }
        if (fclose(f) != 0)
                return lodge_error_set(err, ENOMEM, "write /etc/hosts");
        return guest_update_file(rootfd, "/etc/hosts", hosts, 0644, err);
}

/* A fresh id for each guest: two guests of one image must not share one
 * (journald, DHCP client ids and D-Bus key on it). */
static int write_machine_id(int rootfd, struct lodge_error **err)
{
        unsigned char b[16];
        char id[34];
        cleanup_close int fd = -EBADF;

        if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
                return lodge_error_set(err, EIO, "get random bytes for the machine id");
        b[6] = (b[6] & 0x0f) | 0x40; /* a v4 UUID, as systemd makes them */
        b[8] = (b[8] & 0x3f) | 0x80;
        for (size_t i = 0; i < sizeof(b); i++)
                snprintf(id + 2 * i, 3, "%02x", b[i]);
        id[32] = '\n';
        id[33] = '\0';
        if (!guest_exists(rootfd, "/etc"))
                return 0;
        fd = open_in_root_nofollow(rootfd, "/var/lib/dbus/machine-id", O_PATH, 0);
        if (fd >= 0) { /* a copy of its own; a symlink to /etc/machine-id is left */
                int r = guest_write_file(rootfd, "/var/lib/dbus/machine-id", id, 0444, err);

                if (r < 0)
                        return r;
        }
        return guest_write_file(rootfd, "/etc/machine-id", id, 0444, err);
}

static int write_ifupdown(int rootfd, const struct lodge_guest_setup *s, struct lodge_error **err)
{
        cleanup_free char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return lodge_error_set(err, ENOMEM, "write /etc/network/interfaces");
        fputs(GENERATED, f);
        /* Debian's ifupdown reads a directory of snippets; busybox's ifup knows no "source". */
        if (guest_exists(rootfd, "/etc/network/interfaces.d"))
                fputs("source /etc/network/interfaces.d/*\n\n", f);
        fputs("auto lo\niface lo inet loopback\n", f);
        if (s->ifname) {
                fprintf(f, "\nauto %s\n", s->ifname);
                /* A static address (and its route) is set from the host before init
                 * runs: "manual" keeps it, where "static" would add it again and fail. */
                if (s->ipv4_dhcp)
                        fprintf(f, "iface %s inet dhcp\n", s->ifname);
                else if (s->ipv4)
                        fprintf(f, "# %s: set by lodge (net.0.ipv4)\niface %s inet manual\n",
                                s->ipv4, s->ifname);
                else
                        fprintf(f, "iface %s inet manual\n", s->ifname);
                if (s->ipv6_auto)
                        fprintf(f, "iface %s inet6 auto\n", s->ifname);
                else if (s->ipv6)
                        fprintf(f, "# %s: set by lodge (net.0.ipv6)\niface %s inet6 manual\n",
                                s->ipv6, s->ifname);
        }
        if (fclose(f) != 0)
                return lodge_error_set(err, ENOMEM, "write /etc/network/interfaces");
        return guest_write_file(rootfd, "/etc/network/interfaces", buf, 0644, err);
}

static int write_networkd(int rootfd, const struct lodge_guest_setup *s, struct lodge_error **err)
{
        cleanup_free char *buf = NULL, *path = NULL;
        size_t len = 0;
        FILE *f;

        if (!s->ifname)
                return 0;
        f = open_memstream(&buf, &len);
        if (!f)
                return lodge_error_set(err, ENOMEM, "write the networkd config");
        fprintf(f, GENERATED "[Match]\nName=%s\n\n[Network]\n", s->ifname);
        if (s->ipv4_dhcp)
                fprintf(f, "DHCP=%s\n", s->ipv6_auto ? "yes" : "ipv4");
        if (!s->ipv4_dhcp && s->ipv4)
                fprintf(f, "Address=%s\n", s->ipv4);
        if (!s->ipv4_dhcp && s->ipv4 && s->ipv4_gateway)
                fprintf(f, "Gateway=%s\n", s->ipv4_gateway);
        if (s->ipv6)
                fprintf(f, "Address=%s\n", s->ipv6);
        fprintf(f, "IPv6AcceptRA=%s\n", s->ipv6_auto ? "yes" : "no");
        if (fclose(f) != 0)
                return lodge_error_set(err, ENOMEM, "write the networkd config");
        if (asprintf(&path, "/etc/systemd/network/10-lodge-%s.network", s->ifname) < 0)
                return lodge_error_set(err, ENOMEM, "write the networkd config");
        return guest_write_file(rootfd, path, buf, 0644, err);
}

static int write_network(int rootfd, const struct lodge_guest_setup *s, enum init_kind init,
                         struct lodge_error **err)
{
        cleanup_free char *resolv = NULL;
        int r = 0;

        if (guest_exists(rootfd, "/etc/network/if-up.d") || guest_exists(rootfd, "/sbin/ifup"))
                r = write_ifupdown(rootfd, s, err);
        else if (init == INIT_SYSTEMD &&
                 guest_exists(rootfd, "/lib/systemd/system/systemd-networkd.service"))
                r = write_networkd(rootfd, s, err);
        if (r < 0 || init == INIT_BUSYBOX)
                return r; /* busybox's rcS runs udhcpc where lodge set no address */

        /* A symlink is the guest's resolver manager's (systemd-resolved's stub,
         * resolvconf): left to it. */
        if (guest_is_symlink(rootfd, "/etc/resolv.conf"))
                return 0;
        /* Not the host's (debootstrap copies it): the DHCP client fills it, or the
         * gateway of a static address serves DNS, as the network's dnsmasq does. */
        if (s->ifname && !s->ipv4_dhcp && s->ipv4_gateway) {
                if (asprintf(&resolv, GENERATED "nameserver %s\n", s->ipv4_gateway) < 0)
                        return lodge_error_set(err, ENOMEM, "write /etc/resolv.conf");
        } else {
                resolv = strdup(s->ipv4_dhcp ? "" : GENERATED);
                if (!resolv)
                        return lodge_error_set(err, ENOMEM, "write /etc/resolv.conf");
        }
        return guest_write_file(rootfd, "/etc/resolv.conf", resolv, 0644, err);
}

/* A symlink to /dev/null in dir for each of the n names: what systemd reads
 * as masked, for units in /etc/systemd/system and generators in
 * /etc/systemd/system-generators alike. */
static int mask(int rootfd, const char *dir, const char *const *names, size_t n,
                struct lodge_error **err)
{
        for (size_t i = 0; i < n; i++) {
                cleanup_free char *path = NULL;
                int r;

                if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
                        return lodge_error_set(err, ENOMEM, "mask %s", names[i]);
                r = guest_symlink(rootfd, path, "/dev/null", err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A terminal's name ("tty1", "/dev/tty1", "console") at w, n bytes, into
 * buf without "/dev/"; false when the word isn't one. */
static bool tty_word(const char *w, size_t n, char buf[static 32])
{
        if (n > 5 && strncmp(w, "/dev/", 5) == 0) {
                w += 5;
                n -= 5;
        }
        if (n >= 32 ||
            !((n > 3 && strncmp(w, "tty", 3) == 0) || (n == 7 && strncmp(w, "console", 7) == 0)))
                return false;
        snprintf(buf, 32, "%.*s", (int)n, w);
        return true;
}

/* The terminal an inittab line's getty runs on: busybox's first field
 * names it (id:runlevels:action:process), or a word of the command does.
 * NULL when the line runs no getty, or on no terminal it names. */
static const char *getty_tty(const char *line, bool busybox, char buf[static 32])
{
        const char *w = line;

        if (!strstr(line, "getty"))
                return NULL;
        if (busybox && tty_word(line, strcspn(line, ":"), buf))
                return buf;
        for (int i = 0; i < 3 && w; i++) {
                w = strchr(w, ':');
                w = w ? w + 1 : NULL;
        }
        while (w && *w) {
                size_t n;

                w += strspn(w, " \t");
                n = strcspn(w, " \t");
                if (tty_word(w, n, buf))
                        return buf;
                w += n;
        }
        return NULL;
}

/* sysvinit's and busybox's: a getty on the console and on tty1 (a guest's
 * tty2-4 are there for who wants them; serial lines it has none), and for
 * sysvinit, SIGPWR (lodge stop) shuts down now, as LXC's debian template
 * does. */
static int fix_inittab(int rootfd, bool busybox, struct lodge_error **err)
{
        static const char *const add[2][2] = {
                { "co:2345:respawn:/sbin/getty --noclear 38400 console\n",
                  "1:2345:respawn:/sbin/getty --noclear 38400 tty1\n" },
                { "console::respawn:/sbin/getty -L 0 console vt100\n",
                  "tty1::respawn:/sbin/getty 38400 tty1\n" },
        };
        static const char powerwait[] = "pf::powerwait:/sbin/shutdown -t1 -a -h now\n";
        cleanup_free char *old = NULL, *buf = NULL;
        bool have[2] = { false, false }, pf = busybox;
        size_t len = 0;
        FILE *f;
        int r;

        r = guest_read_file(rootfd, "/etc/inittab", 1 << 20, &old, err);
        if (r < 0)
                return r;
        f = open_memstream(&buf, &len);
        if (!f)
                return lodge_error_set(err, ENOMEM, "write /etc/inittab");
        for (char *line = old, *next; line && *line; line = next) {
                char tty[32];
                const char *on;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                on = line[0] == '#' ? NULL : getty_tty(line, busybox, tty);
                if (!busybox && strncmp(line, "pf::powerwait:", 14) == 0) {
                        fputs(powerwait, f);
                        pf = true;
                } else if (on && strcmp(on, "console") != 0 && strcmp(on, "tty1") != 0) {
                        fprintf(f, "#%s\n", line);
                } else {
                        if (on)
                                have[strcmp(on, "tty1") == 0] = true;
                        fprintf(f, "%s\n", line);
                }
        }
        if (!pf)
                fputs(powerwait, f);
        for (int i = 0; i < 2; i++)
                if (!have[i])
                        fputs(add[busybox][i], f);
        if (fclose(f) != 0)
                return lodge_error_set(err, ENOMEM, "write /etc/inittab");
        return guest_update_file(rootfd, "/etc/inittab", buf, 0644, err);
}

/* openrc: a container whose cgroups lodge set up. As under systemd-nspawn,
 * openrc then leaves /sys/fs/cgroup alone (with "lxc" it tries to apply its
 * cgroup settings for each service and fails loudly where the tree is
 * read-only) and skips the services that make no sense in a container. An
 * image's own rc_sys is kept. */
static int fix_rc_conf(int rootfd, struct lodge_error **err)
{
        cleanup_free char *old = NULL, *buf = NULL;
        int r;

        if (!guest_exists(rootfd, "/sbin/openrc"))
                return 0;
        r = guest_read_file(rootfd, "/etc/rc.conf", 1 << 20, &old, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return lodge_error_set(err, -r, "read /etc/rc.conf");
        for (const char *l = old; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l + strspn(l, " \t"), "rc_sys=", 7) == 0)
                        return 0;
        if (asprintf(&buf,
                     "%s%s# lodge: the container's cgroups are set up for it\n"
                     "rc_sys=\"systemd-nspawn\"\n",
                     old, old[0] && old[strlen(old) - 1] != '\n' ? "\n" : "") < 0)
                return lodge_error_set(err, ENOMEM, "write /etc/rc.conf");
        return guest_update_file(rootfd, "/etc/rc.conf", buf, 0644, err);
}

int lodge_template_fixup(int rootfd, const struct lodge_guest_setup *s, struct lodge_error **err)
{
        enum init_kind init = detect_init(rootfd);
        int r;

        r = write_hostname(rootfd, s, err);
        if (r >= 0)
                r = write_machine_id(rootfd, err);
        if (r >= 0)
                r = write_network(rootfd, s, init, err);
        if (r >= 0 && init == INIT_SYSTEMD)
                r = mask(rootfd, "/etc/systemd/system", masked_units, ELEMENTSOF(masked_units),
                         err);
        if (r >= 0 && init == INIT_SYSTEMD)
                r = mask(rootfd, "/etc/systemd/system-generators", masked_generators,
                         ELEMENTSOF(masked_generators), err);
        if (r >= 0 && (init == INIT_SYSVINIT ||
                       (init == INIT_BUSYBOX && guest_exists(rootfd, "/etc/inittab"))))
                r = fix_inittab(rootfd, init == INIT_BUSYBOX, err);
        if (r >= 0)
                r = fix_rc_conf(rootfd, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "guest fix-ups");
        return 0;
}
