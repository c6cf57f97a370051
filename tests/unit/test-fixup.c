/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/base/fileio.h"
#include "templates/template.h"
#include "tests/unit/lodge-test.h"

static void put(int dirfd, const char *path, const char *content)
{
        cleanup_close int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, content, strlen(content)), 0);
}

static char *get(int dirfd, const char *path)
{
        char *buf = NULL;

        assert_int_equal(read_file_at(dirfd, path, 1 << 20, &buf, NULL, NULL), 0);
        return buf;
}

/* Where the symlink at path points, asserted to be one. */
static void assert_link(int dirfd, const char *path, const char *expected)
{
        char target[256];
        ssize_t n = readlinkat(dirfd, path, target, sizeof(target) - 1);

        assert_true(n > 0);
        target[n] = '\0';
        assert_string_equal(target, expected);
}

/* A Debian-like systemd tree: /sbin/init -> /lib/systemd/systemd, ifupdown. */
static void make_systemd_tree(int d)
{
        static const char *const dirs[] = { "etc", "etc/network", "etc/network/if-up.d", "sbin",
                                            "lib", "lib/systemd", "etc/systemd" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                assert_int_equal(mkdirat(d, dirs[i], 0755), 0);
        put(d, "lib/systemd/systemd", "");
        assert_int_equal(symlinkat("/lib/systemd/systemd", d, "sbin/init"), 0);
        put(d, "etc/hosts", "127.0.0.1 localhost\n127.0.1.1 LXC_NAME\n10.1.1.1 other\n");
}

static void test_fixup_systemd_static(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *hostname = NULL, *hosts = NULL, *ifaces = NULL, *resolv = NULL,
                          *id = NULL;
        struct lodge_guest_setup s = {
                .hostname = "web",
                .ifname = "eth0",
                .ipv4 = "10.0.3.5/24",
                .ipv4_gateway = "10.0.3.1",
        };

        make_systemd_tree(t->dirfd);
        assert_int_equal(lodge_template_fixup(t->dirfd, &s, &err), 0);
        hostname = get(t->dirfd, "etc/hostname");
        assert_string_equal(hostname, "web\n");
        hosts = get(t->dirfd, "etc/hosts");
        assert_non_null(strstr(hosts, "127.0.1.1\tweb\n"));
        assert_null(strstr(hosts, "LXC_NAME"));
        assert_non_null(strstr(hosts, "10.1.1.1 other\n"));
        ifaces = get(t->dirfd, "etc/network/interfaces");
        /* lodge sets the address from the host: ifupdown must keep it, not add it again */
        assert_non_null(strstr(ifaces, "iface eth0 inet manual\n"));
        assert_null(strstr(ifaces, "inet static"));
        resolv = get(t->dirfd, "etc/resolv.conf");
        assert_non_null(strstr(resolv, "nameserver 10.0.3.1\n"));
        id = get(t->dirfd, "etc/machine-id");
        assert_int_equal(strlen(id), 33);
        assert_int_equal(strspn(id, "0123456789abcdef"), 32);
        assert_link(t->dirfd, "etc/systemd/system/systemd-udevd.service", "/dev/null");
        /* The directory is made: a debootstrap tree has no /etc/systemd/system-generators. */
        assert_link(t->dirfd, "etc/systemd/system-generators/systemd-cryptsetup-generator",
                    "/dev/null");
}

/* A resolver manager's symlink stays; busybox's ifup gets no "source" line. */
static void test_fixup_keeps_resolv_symlink(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *ifaces = NULL;
        struct lodge_guest_setup s = { .hostname = "u", .ifname = "eth0", .ipv4_dhcp = true };

        assert_int_equal(mkdirat(t->dirfd, "etc", 0755), 0);
        assert_int_equal(mkdirat(t->dirfd, "etc/network", 0755), 0);
        assert_int_equal(mkdirat(t->dirfd, "etc/network/if-up.d", 0755), 0);
        assert_int_equal(
                symlinkat("../run/systemd/resolve/stub-resolv.conf", t->dirfd, "etc/resolv.conf"),
                0);
        assert_int_equal(lodge_template_fixup(t->dirfd, &s, &err), 0);
        assert_link(t->dirfd, "etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf");
        ifaces = get(t->dirfd, "etc/network/interfaces");
        assert_null(strstr(ifaces, "source"));
        assert_non_null(strstr(ifaces, "auto eth0\niface eth0 inet dhcp\n"));
}

static void test_fixup_machine_id_differs(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *a = NULL, *b = NULL;
        struct lodge_guest_setup s = { .hostname = "a" };

        assert_int_equal(mkdirat(t->dirfd, "etc", 0755), 0);
        assert_int_equal(lodge_template_fixup(t->dirfd, &s, &err), 0);
        a = get(t->dirfd, "etc/machine-id");
        assert_int_equal(lodge_template_fixup(t->dirfd, &s, &err), 0);
        b = get(t->dirfd, "etc/machine-id");
        assert_string_not_equal(a, b);
}

/* A guest's symlinks are resolved inside its rootfs: /etc pointing at an
 * absolute host path never sends a write to the host (the fix-up refuses,
 * as /etc is then no directory inside the rootfs), and /etc/hostname
 * pointing out is replaced, not written through. */
static void test_fixup_never_writes_through_symlinks(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *outside = NULL, *victim = NULL, *got = NULL, *mine = NULL;
        cleanup_close int rootfd = -EBADF;
        struct lodge_guest_setup s = { .hostname = "evil" };
        struct stat st;

        assert_int_equal(mkdirat(t->dirfd, "outside", 0755), 0);
        assert_int_equal(mkdirat(t->dirfd, "rootfs", 0755), 0);
        assert_true(asprintf(&outside, "%s/outside", t->path) > 0);
        assert_true(asprintf(&victim, "%s/outside/hostname", t->path) > 0);
        put(t->dirfd, "outside/hostname", "host\n");
        rootfd = openat(t->dirfd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(rootfd >= 0);

        assert_int_equal(symlinkat(outside, rootfd, "etc"), 0); /* /etc -> a host path */
        assert_int_equal(lodge_template_fixup(rootfd, &s, &err), -ENOTDIR);
        got = get(t->dirfd, "outside/hostname");
        assert_string_equal(got, "host\n");
        assert_int_equal(fstatat(t->dirfd, "outside/machine-id", &st, 0), -1);
        assert_int_equal(fstatat(t->dirfd, "outside/hosts", &st, 0), -1);

        assert_int_equal(unlinkat(rootfd, "etc", 0), 0);
        assert_int_equal(mkdirat(rootfd, "etc", 0755), 0);
        assert_int_equal(symlinkat(victim, rootfd, "etc/hostname"), 0); /* the file itself */
        lodge_error_free(&err);
        assert_int_equal(lodge_template_fixup(rootfd, &s, &err), 0);
        free(got);
        got = get(t->dirfd, "outside/hostname");
        assert_string_equal(got, "host\n");
        mine = get(rootfd, "etc/hostname");
        assert_string_equal(mine, "evil\n");
}

static void test_fixup_sysvinit_inittab(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *tab = NULL;
        struct lodge_guest_setup s = { .hostname = "sv" };

        assert_int_equal(mkdirat(t->dirfd, "etc", 0755), 0);
        assert_int_equal(mkdirat(t->dirfd, "sbin", 0755), 0);
        put(t->dirfd, "sbin/init", "");
        put(t->dirfd, "etc/inittab",
            "id:2:initdefault:\n"
            "1:2345:respawn:/sbin/getty --noclear 38400 tty1\n"
            "2:23:respawn:/sbin/getty 38400 tty2\n"
            "pf::powerwait:/etc/init.d/powerfail start\n");
        assert_int_equal(lodge_template_fixup(t->dirfd, &s, &err), 0);
        tab = get(t->dirfd, "etc/inittab");
        assert_non_null(strstr(tab, "\n1:2345:respawn:/sbin/getty --noclear 38400 tty1\n"));
        assert_non_null(strstr(tab, "#2:23:respawn"));
        assert_non_null(strstr(tab, "pf::powerwait:/sbin/shutdown -t1 -a -h now\n"));
        assert_null(strstr(tab, "powerfail"));
        assert_non_null(strstr(tab, "respawn:/sbin/getty --noclear 38400 console\n"));
        /* Again: nothing changes. */
        assert_int_equal(lodge_template_fixup(t->dirfd, &s, &err), 0);
        {
                cleanup_free char *again = get(t->dirfd, "etc/inittab");

                assert_string_equal(again, tab);
        }
}

/* busybox (an Alpine image's inittab): gettys on the console and tty1 only,
 * serial lines commented, the console's added; no powerwait line. */
static void test_fixup_busybox_inittab(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *tab = NULL;
        struct lodge_guest_setup s = { .hostname = "al" };

        assert_int_equal(mkdirat(t->dirfd, "etc", 0755), 0);
        assert_int_equal(mkdirat(t->dirfd, "bin", 0755), 0);
        assert_int_equal(mkdirat(t->dirfd, "sbin", 0755), 0);
        put(t->dirfd, "bin/busybox", "");
        assert_int_equal(symlinkat("/bin/busybox", t->dirfd, "sbin/init"), 0);
        put(t->dirfd, "etc/inittab",
            "::sysinit:/sbin/openrc sysinit\n"
            "tty1::respawn:/sbin/getty 38400 tty1\n"
            "tty2::respawn:/sbin/getty 38400 tty2\n"
            "::respawn:/sbin/getty 38400 /dev/tty6\n"
            "ttyS0::respawn:/sbin/getty -L 0 ttyS0 vt100\n"
            "#ttyS1::respawn:/sbin/getty -L 0 ttyS1 vt100\n"
            "::shutdown:/sbin/openrc shutdown\n");
        assert_int_equal(lodge_template_fixup(t->dirfd, &s, &err), 0);
        tab = get(t->dirfd, "etc/inittab");
        assert_non_null(strstr(tab, "\ntty1::respawn:/sbin/getty 38400 tty1\n"));
        assert_non_null(strstr(tab, "#tty2::respawn"));
        assert_non_null(strstr(tab, "#::respawn:/sbin/getty 38400 /dev/tty6"));
        assert_non_null(strstr(tab, "#ttyS0::respawn"));
        assert_non_null(strstr(tab, "\n#ttyS1::respawn"));
        assert_null(strstr(tab, "##"));
        assert_non_null(strstr(tab, "\nconsole::respawn:/sbin/getty -L 0 console vt100\n"));
        assert_null(strstr(tab, "powerwait"));
        assert_non_null(strstr(tab, "::shutdown:/sbin/openrc shutdown\n"));
}

/* openrc: rc_sys set when the image sets none, an image's own kept. */
static void test_fixup_openrc_rc_sys(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *conf = NULL, *again = NULL;
        struct lodge_guest_setup s = { .hostname = "orc" };

        assert_int_equal(mkdirat(t->dirfd, "etc", 0755), 0);
        assert_int_equal(mkdirat(t->dirfd, "sbin", 0755), 0);
        put(t->dirfd, "sbin/openrc", "");
        put(t->dirfd, "etc/rc.conf", "#rc_sys=\"\"\nrc_parallel=\"NO\"");
        assert_int_equal(lodge_template_fixup(t->dirfd, &s, &err), 0);
        conf = get(t->dirfd, "etc/rc.conf");
        assert_non_null(strstr(conf, "#rc_sys=\"\"\nrc_parallel=\"NO\"\n"));
        assert_non_null(strstr(conf, "\nrc_sys=\"systemd-nspawn\"\n"));
        assert_int_equal(lodge_template_fixup(t->dirfd, &s, &err), 0);
        again = get(t->dirfd, "etc/rc.conf");
        assert_string_equal(again, conf); /* set once */

        put(t->dirfd, "etc/rc.conf", "  rc_sys=\"lxc\"\n");
        assert_int_equal(lodge_template_fixup(t->dirfd, &s, &err), 0);
        free(conf);
        conf = get(t->dirfd, "etc/rc.conf");
        assert_string_equal(conf, "  rc_sys=\"lxc\"\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fixup_systemd_static, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_fixup_keeps_resolv_symlink, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_fixup_machine_id_differs, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_fixup_never_writes_through_symlinks,
                                                lodge_tmpdir_setup, lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_fixup_busybox_inittab, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_fixup_sysvinit_inittab, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_fixup_openrc_rc_sys, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
