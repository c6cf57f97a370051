/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/strv.h"
#include "core/config.h"
#include "tests/unit/lodge-test.h"

#define cleanup_config CLEANUP(lodge_config_freep)

static struct lodge_config *parse_ok(const char *text)
{
        cleanup_error struct lodge_error *err = NULL;
        struct lodge_config *cfg = NULL;
        int r;

        r = lodge_config_parse(text, strlen(text), "config", &cfg, NULL, &err);
        if (r < 0)
                print_message("parse failed: %s\n---\n%s---\n", err->msg, text);
        assert_int_equal(r, 0);
        assert_null(err);
        assert_non_null(cfg);
        return cfg;
}

/* Parsing len bytes of text fails with EINVAL on line, and the message starts
 * with msg. Returns false (after printing why) instead of asserting, so
 * table-driven tests name the case that broke. */
static bool parse_fails_len(const char *text, size_t len, unsigned line, const char *msg)
{
        cleanup_error struct lodge_error *err = NULL;
        struct lodge_config *cfg = NULL;
        unsigned errline = 4242;
        int r;

        r = lodge_config_parse(text, len, "config", &cfg, &errline, &err);
        if (r == 0) {
                lodge_config_free(cfg);
                print_message("accepted:\n%s\n", text);
                return false;
        }
        if (r != -EINVAL || !err || err->code != EINVAL || cfg || errline != line ||
            strncmp(err->msg, msg, strlen(msg)) != 0) {
                print_message("text:\n%s\ngot r=%d line=%u msg='%s'\nwant line=%u msg='%s'\n", text,
                              r, errline, err ? err->msg : "(null)", line, msg);
                return false;
        }
        return true;
}

static bool parse_fails(const char *text, unsigned line, const char *msg)
{
        return parse_fails_len(text, strlen(text), line, msg);
}

struct fail_case {
        const char *text;
        unsigned line;
        const char *msg;
};

static void check_fail_cases(const struct fail_case *cases, size_t n)
{
        bool ok = true;

        for (size_t i = 0; i < n; i++)
                ok &= parse_fails(cases[i].text, cases[i].line, cases[i].msg);
        assert_true(ok);
}

static char *format(const struct lodge_config *cfg)
{
        cleanup_error struct lodge_error *err = NULL;
        char *text = NULL;

        assert_int_equal(lodge_config_format(cfg, &text, &err), 0);
        assert_non_null(text);
        return text;
}

static void test_keys_sorted(void **state)
{
        (void)state;
        assert_true(lodge_config_keys_sorted());
}

static const char full_config[] = "# a container with every key\n"
                                  "name = web-1.example_x\n"
                                  "arch = amd64\n"
                                  "autostart = yes\n"
                                  "autostart.order = -5\n"
                                  "autostart.delay = 30\n"
                                  "rootfs.path = /var/lib/lodge/containers/web/rootfs\n"
                                  "rootfs.backend = overlay\n"
                                  "init.cmd = /lib/systemd/systemd --log-level=debug\n"
                                  "init.stop_signal = SIGRTMIN+3\n"
                                  "\n"
                                  "net.0.type = veth\n"
                                  "net.0.link = lodgebr0\n"
                                  "net.0.name = eth0\n"
                                  "net.0.hwaddr = 00:16:3e:12:34:56\n"
                                  "net.0.mtu = 1500\n"
                                  "net.0.ipv4 = 10.0.3.5/24\n"
                                  "net.0.ipv4.gateway = 10.0.3.1\n"
                                  "net.0.ipv6 = fd00::5/64\n"
                                  "net.0.limit.ingress = 100mbit\n"
                                  "net.0.limit.egress = 1mbps\n"
                                  "net.15.type = macvlan\n"
                                  "net.15.ipv4 = dhcp\n"
                                  "net.15.ipv6 = auto\n"
                                  "net.3.type = none\n"
                                  "\n"
                                  "limits.memory = 512M\n"
                                  "limits.memory.swap = 0\n"
                                  "limits.cpu = 1.5\n"
                                  "limits.cpu.weight = 200\n"
                                  "limits.cpuset = 0-3,8\n"
                                  "limits.pids = 4096\n"
                                  "limits.io.weight = 10000\n"
                                  "limits.disk = 10G\n"
                                  "security.privileged = false\n"
                                  "security.idmap = 100000:65536\n"
                                  "security.idmap.isolated = off\n"
                                  "security.apparmor = lodge-web\n"
                                  "security.apparmor.required = true\n"
                                  "security.seccomp = /etc/lodge/web.seccomp\n"
                                  "security.caps.drop = CAP_SYS_MODULE, sys_time  mknod,\n"
                                  "security.nesting = 1\n"
                                  "device.0 = /dev/fuse\n"
                                  "device.63 = /dev/net/tun /dev/tun0\n"
                                  "mount.0 = /srv/data /data ro,create=dir\n"
                                  "mount.1 = /srv/log /var/log\n"
                                  "cloud-init.user-data = #cloud-config\n"
                                  "cloud-init.meta-data = instance-id: web\n"
                                  "cloud-init.network-config = version: 2\n"
                                  "hook.pre-start = /usr/lib/lodge/hooks/pre\n"
                                  "hook.start-host = /usr/lib/lodge/hooks/host\n"
                                  "hook.post-stop = /usr/lib/lodge/hooks/post\n"
                                  "environment.LANG = C.UTF-8\n"
                                  "environment._X1 = a=b c\n"
                                  "environment.EMPTY =\n";

static void test_parse_every_key(void **state)
{
        cleanup_config struct lodge_config *cfg = parse_ok(full_config);
        static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x12, 0x34, 0x56 };
        const struct lodge_config_net *n0 = &cfg->net[0];

        (void)state;
        assert_string_equal(cfg->name, "web-1.example_x");
        assert_string_equal(cfg->arch, "amd64");
        assert_true(cfg->autostart);
        assert_int_equal(cfg->autostart_order, -5);
        assert_int_equal(cfg->autostart_delay, 30);
        assert_string_equal(cfg->rootfs_path, "/var/lib/lodge/containers/web/rootfs");
        assert_int_equal(cfg->backend, LODGE_BACKEND_OVERLAY);
        assert_string_equal(cfg->init_cmd, "/lib/systemd/systemd --log-level=debug");
        assert_int_equal(cfg->init_stop_signal, SIGRTMIN + 3);

        assert_int_equal(n0->type, LODGE_NET_VETH);
        assert_string_equal(n0->link, "lodgebr0");
        assert_string_equal(n0->name, "eth0");
        assert_true(n0->has_hwaddr);
        assert_memory_equal(n0->hwaddr, mac, 6);
        assert_int_equal(n0->mtu, 1500);
        assert_int_equal(n0->ipv4_mode, LODGE_ADDR_STATIC);
        assert_int_equal(n0->ipv4.family, AF_INET);
        assert_int_equal(n0->ipv4.prefixlen, 24);
        assert_int_equal(ntohl(n0->ipv4.addr.v4.s_addr), 0x0a000305);
        assert_true(n0->has_ipv4_gateway);
        assert_int_equal(ntohl(n0->ipv4_gateway.addr.v4.s_addr), 0x0a000301);
        assert_int_equal(n0->ipv6_mode, LODGE_ADDR_STATIC);
        assert_int_equal(n0->ipv6.family, AF_INET6);
        assert_int_equal(n0->ipv6.prefixlen, 64);
        assert_true(n0->limit_ingress == 100000000);
        assert_true(n0->limit_egress == 8000000);
        assert_int_equal(cfg->net[15].type, LODGE_NET_MACVLAN);
        assert_int_equal(cfg->net[15].ipv4_mode, LODGE_ADDR_DHCP);
        assert_int_equal(cfg->net[15].ipv6_mode, LODGE_ADDR_AUTO);
        assert_null(cfg->net[15].link);
        assert_int_equal(cfg->net[3].type, LODGE_NET_NONE);
        assert_int_equal(cfg->net[1].type, LODGE_NET_UNSET);
        assert_int_equal(cfg->net[1].ipv4_mode, LODGE_ADDR_UNSET);

        assert_true(cfg->limits.memory == UINT64_C(512) << 20);
        assert_true(cfg->limits.has_memory_swap);
        assert_true(cfg->limits.memory_swap == 0);
        assert_int_equal(cfg->limits.cpu_millis, 1500);
        assert_int_equal(cfg->limits.cpu_weight, 200);
        assert_string_equal(cfg->limits.cpuset, "0-3,8");
        assert_true(cfg->limits.pids == 4096);
        assert_int_equal(cfg->limits.io_weight, 10000);
        assert_true(cfg->limits.disk == UINT64_C(10) << 30);

        assert_false(cfg->security.privileged);
        assert_true(cfg->security.has_idmap);
        assert_int_equal(cfg->security.idmap_base, 100000);
        assert_int_equal(cfg->security.idmap_count, 65536);
        assert_false(cfg->security.idmap_isolated);
        assert_int_equal(cfg->security.apparmor, LODGE_APPARMOR_PROFILE);
        assert_string_equal(cfg->security.apparmor_profile, "lodge-web");
        assert_true(cfg->security.apparmor_required);
        assert_int_equal(cfg->security.seccomp, LODGE_SECCOMP_FILE);
        assert_string_equal(cfg->security.seccomp_path, "/etc/lodge/web.seccomp");
        assert_int_equal(strv_length(cfg->security.caps_drop), 3);
        assert_string_equal(cfg->security.caps_drop[0], "sys_module");
        assert_string_equal(cfg->security.caps_drop[1], "sys_time");
        assert_string_equal(cfg->security.caps_drop[2], "mknod");
        assert_null(cfg->security.caps_keep);
        assert_true(cfg->security.nesting);

        assert_string_equal(cfg->limits.devices[0], "/dev/fuse");
        assert_string_equal(cfg->limits.devices[63], "/dev/net/tun /dev/tun0");
        assert_null(cfg->limits.devices[1]);
        assert_string_equal(cfg->mounts[0], "/srv/data /data ro,create=dir");
        assert_string_equal(cfg->mounts[1], "/srv/log /var/log");
        assert_string_equal(cfg->cloud_init_user_data, "#cloud-config");
        assert_string_equal(cfg->cloud_init_meta_data, "instance-id: web");
        assert_string_equal(cfg->cloud_init_network_config, "version: 2");
        assert_string_equal(cfg->hook_pre_start, "/usr/lib/lodge/hooks/pre");
        assert_string_equal(cfg->hook_start_host, "/usr/lib/lodge/hooks/host");
        assert_string_equal(cfg->hook_post_stop, "/usr/lib/lodge/hooks/post");

        assert_int_equal(strv_length(cfg->environment), 3);
        assert_string_equal(cfg->environment[0], "LANG=C.UTF-8");
        assert_string_equal(cfg->environment[1], "_X1=a=b c");
        assert_string_equal(cfg->environment[2], "EMPTY=");
}

static void test_defaults(void **state)
{
        cleanup_error struct lodge_error *err = NULL;
        cleanup_config struct lodge_config *parsed = parse_ok("# nothing\n\n");
        cleanup_config struct lodge_config *fresh = NULL;
        cleanup_free char *text = NULL;

        (void)state;
        assert_int_equal(lodge_config_new(&fresh, &err), 0);
        for (int i = 0; i < 2; i++) {
                const struct lodge_config *cfg = i ? parsed : fresh;

                assert_null(cfg->name);
                assert_null(cfg->init_cmd);
                assert_int_equal(cfg->init_stop_signal, 0);
                assert_int_equal(cfg->backend, LODGE_BACKEND_DIR);
                assert_true(cfg->security.idmap_isolated);
                assert_false(cfg->security.has_idmap);
                assert_int_equal(cfg->security.apparmor, LODGE_APPARMOR_GENERATED);
                assert_int_equal(cfg->security.seccomp, LODGE_SECCOMP_DEFAULT);
                assert_false(cfg->limits.has_memory_swap);
                assert_null(cfg->environment);
                for (int n = 0; n < LODGE_CONFIG_MAX_NET; n++)
                        assert_int_equal(cfg->net[n].type, LODGE_NET_UNSET);
        }
        text = format(fresh);
        assert_string_equal(text, "");
}

static void test_keywords(void **state)
{
        cleanup_config struct lodge_config *cfg =
                parse_ok("init.stop_signal = auto\nsecurity.apparmor = unconfined\n"
                         "security.seccomp = none\nsecurity.caps.keep =\n"
                         "net.0.type = veth\nnet.0.ipv4 = 10.0.0.0/31\n"
                         "net.1.type = veth\nnet.1.ipv4 = 10.0.0.7/32\n");
        cleanup_config struct lodge_config *gen =
                parse_ok("security.apparmor = generated\nsecurity.seccomp = default\n"
                         "security.caps.keep = chown\ninit.stop_signal = PWR\n");

        (void)state;
        assert_int_equal(cfg->init_stop_signal, 0);
        assert_int_equal(cfg->security.apparmor, LODGE_APPARMOR_UNCONFINED);
        assert_null(cfg->security.apparmor_profile);
        assert_int_equal(cfg->security.seccomp, LODGE_SECCOMP_NONE);
        assert_null(cfg->security.seccomp_path);
        /* Set but empty (keep none) differs from unset (NULL). */
        assert_non_null(cfg->security.caps_keep);
        assert_null(cfg->security.caps_keep[0]);
        assert_int_equal(cfg->net[0].ipv4.prefixlen, 31);
        assert_int_equal(cfg->net[1].ipv4.prefixlen, 32);
        assert_int_equal(gen->security.apparmor, LODGE_APPARMOR_GENERATED);
        assert_int_equal(gen->security.seccomp, LODGE_SECCOMP_DEFAULT);
        assert_int_equal(strv_length(gen->security.caps_keep), 1);
        assert_int_equal(gen->init_stop_signal, SIGPWR);
}

static void test_bad_values(void **state)
{
        static const struct fail_case cases[] = {
                { "name = -web", 1, "config:1: key 'name': '-web' is not a container name" },
                { "name = .web", 1, "config:1: key 'name': '.web' is not a container name" },
                { "name = a b", 1, "config:1: key 'name': 'a b' is not a container name" },
                { "name = we/b", 1, "config:1: key 'name': 'we/b' is not a container name" },
                { "name = "
                  "a123456789012345678901234567890123456789012345678901234567890123",
                  1, "config:1: key 'name': 'a1234" },
                { "name =", 1, "config:1: key 'name': value is empty" },
                { "name = \t ", 1, "config:1: key 'name': value is empty" },
                { "arch = sparc", 1, "config:1: key 'arch': 'sparc' is not a known architecture" },
                { "arch = X86_64", 1, "config:1: key 'arch': 'X86_64' is not a known" },
                { "autostart = maybe", 1, "config:1: key 'autostart': 'maybe' is not a boolean" },
                { "autostart = TRUE", 1, "config:1: key 'autostart': 'TRUE' is not a boolean" },
                { "autostart.order = 1001", 1,
                  "config:1: key 'autostart.order': '1001' is out of range -1000..1000" },
                { "autostart.order = -1001", 1, "config:1: key 'autostart.order': '-1001' is out" },
                { "autostart.order = 1.5", 1,
                  "config:1: key 'autostart.order': '1.5' is not a number" },
                { "autostart.order = +1", 1, "config:1: key 'autostart.order': '+1' is not a" },
                { "autostart.delay = 86401", 1,
                  "config:1: key 'autostart.delay': '86401' is out of range 0..86400" },
                { "autostart.delay = -1", 1, "config:1: key 'autostart.delay': '-1' is not a" },
                { "rootfs.path = rel/path", 1,
                  "config:1: key 'rootfs.path': 'rel/path' is not an absolute path" },
                { "rootfs.path = /a/../b", 1,
                  "config:1: key 'rootfs.path': '/a/../b' contains a '..' component" },
                { "rootfs.path = /a/..", 1, "config:1: key 'rootfs.path': '/a/..' contains a" },
                { "rootfs.path = /a//b", 1, "config:1: key 'rootfs.path': '/a//b' contains '//'" },
                { "rootfs.path = /", 1,
                  "config:1: key 'rootfs.path': '/' is the host's root directory" },
                { "rootfs.backend = zfs", 1,
                  "config:1: key 'rootfs.backend': 'zfs' is not one of dir, overlay, btrfs" },
                { "init.cmd = sbin/init", 1,
                  "config:1: key 'init.cmd': 'sbin/init' does not start with an absolute path" },
                { "init.stop_signal = SIGFOO", 1,
                  "config:1: key 'init.stop_signal': 'SIGFOO' is not auto or a signal" },
                { "init.stop_signal = 0", 1, "config:1: key 'init.stop_signal': '0' is not" },
                { "net.0.type = bridge", 1,
                  "config:1: key 'net.0.type': 'bridge' is not one of veth, macvlan, none" },
                { "net.0.type = veth\nnet.0.link = abcdefghijklmnop", 2,
                  "config:2: key 'net.0.link': 'abcdefghijklmnop' is not an interface name" },
                { "net.0.type = veth\nnet.0.link = a/b", 2, "config:2: key 'net.0.link': 'a/b'" },
                { "net.0.type = veth\nnet.0.link = a:b", 2, "config:2: key 'net.0.link': 'a:b'" },
                { "net.0.type = veth\nnet.0.link = a b", 2, "config:2: key 'net.0.link': 'a b'" },
                { "net.0.type = veth\nnet.0.name = .", 2, "config:2: key 'net.0.name': '.' is" },
                { "net.0.type = veth\nnet.0.name = ..", 2, "config:2: key 'net.0.name': '..' is" },
                { "net.0.type = veth\nnet.0.hwaddr = 01:00:5e:00:00:01", 2,
                  "config:2: key 'net.0.hwaddr': '01:00:5e:00:00:01' is not a unicast MAC" },
                { "net.0.type = veth\nnet.0.mtu = 67", 2,
                  "config:2: key 'net.0.mtu': '67' is out of range 68..65535" },
                { "net.0.type = veth\nnet.0.mtu = 65536", 2, "config:2: key 'net.0.mtu': '65536'" },
                { "net.0.type = veth\nnet.0.ipv4 = 10.0.3.0/24", 2,
                  "config:2: key 'net.0.ipv4': '10.0.3.0/24' is the network address of its "
                  "subnet" },
                { "net.0.type = veth\nnet.0.ipv4 = 10.0.3.255/24", 2,
                  "config:2: key 'net.0.ipv4': '10.0.3.255/24' is the broadcast address" },
                { "net.0.type = veth\nnet.0.ipv4 = 0.0.0.0/0", 2,
                  "config:2: key 'net.0.ipv4': '0.0.0.0/0' is the network address" },
                { "net.0.type = veth\nnet.0.ipv4 = 10.0.3.5", 2,
                  "config:2: key 'net.0.ipv4': '10.0.3.5' is not dhcp or an IPv4 ADDR/PREFIX" },
                { "net.0.type = veth\nnet.0.ipv4 = 10.0.3.5/33", 2,
                  "config:2: key 'net.0.ipv4': '10.0.3.5/33' is not dhcp" },
                { "net.0.type = veth\nnet.0.ipv4 = fd00::1/64", 2,
                  "config:2: key 'net.0.ipv4': 'fd00::1/64' is not dhcp" },
                { "net.0.type = veth\nnet.0.ipv4 = auto", 2,
                  "config:2: key 'net.0.ipv4': 'auto' is not dhcp" },
                { "net.0.type = veth\nnet.0.ipv4.gateway = 10.0.3", 2,
                  "config:2: key 'net.0.ipv4.gateway': '10.0.3' is not an IPv4 address" },
                { "net.0.type = veth\nnet.0.ipv4.gateway = 10.0.3.1/24", 2,
                  "config:2: key 'net.0.ipv4.gateway': '10.0.3.1/24' is not an IPv4" },
                { "net.0.type = veth\nnet.0.ipv6 = dhcp", 2,
                  "config:2: key 'net.0.ipv6': 'dhcp' is not auto or an IPv6 ADDR/PREFIX" },
                { "net.0.type = veth\nnet.0.ipv6 = 10.0.0.1/24", 2,
                  "config:2: key 'net.0.ipv6': '10.0.0.1/24' is not auto" },
                { "net.0.type = veth\nnet.0.ipv6 = fd00::1/129", 2,
                  "config:2: key 'net.0.ipv6': 'fd00::1/129' is not auto" },
                { "net.0.type = veth\nnet.0.limit.ingress = 0mbit", 2,
                  "config:2: key 'net.0.limit.ingress': '0mbit' is not greater than 0" },
                { "net.0.type = veth\nnet.0.limit.egress = 10mb", 2,
                  "config:2: key 'net.0.limit.egress': '10mb' is not a rate" },
                { "net.0.type = veth\nnet.0.limit.egress = 99999999999tbit", 2,
                  "config:2: key 'net.0.limit.egress': '99999999999tbit' is too large" },
                { "name = web\n# memory\nlimits.memory = 64MiBB\n", 3,
                  "config:3: key 'limits.memory': '64MiBB' is not a size" },
                { "limits.memory = -1", 1, "config:1: key 'limits.memory': '-1' is not a size" },
                { "limits.memory = 0", 1,
                  "config:1: key 'limits.memory': '0' is less than the minimum of 4MiB" },
                { "limits.memory = 4194303", 1,
                  "config:1: key 'limits.memory': '4194303' is less" },
                { "limits.memory = 99999999999T", 1,
                  "config:1: key 'limits.memory': '99999999999T' is too large" },
                { "limits.memory.swap = -1", 1, "config:1: key 'limits.memory.swap': '-1' is not" },
                { "limits.cpu = 0", 1, "config:1: key 'limits.cpu': '0' is out of range" },
                { "limits.cpu = 1.2345", 1,
                  "config:1: key 'limits.cpu': '1.2345' is not a CPU count" },
                { "limits.cpu.weight = 0", 1,
                  "config:1: key 'limits.cpu.weight': '0' is out of range 1..10000" },
                { "limits.cpu.weight = 10001", 1, "config:1: key 'limits.cpu.weight': '10001'" },
                { "limits.cpuset = 3-1", 1, "config:1: key 'limits.cpuset': '3-1' is not a CPU" },
                { "limits.cpuset = 8192", 1,
                  "config:1: key 'limits.cpuset': '8192' names a CPU above 8191" },
                { "limits.pids = 0", 1,
                  "config:1: key 'limits.pids': '0' is out of range 1..4194304" },
                { "limits.pids = 4194305", 1, "config:1: key 'limits.pids': '4194305' is out" },
                { "limits.pids = -1", 1, "config:1: key 'limits.pids': '-1' is not a number" },
                { "limits.pids = max", 1, "config:1: key 'limits.pids': 'max' is not a number" },
                { "limits.io.weight = 0", 1, "config:1: key 'limits.io.weight': '0' is out" },
                { "limits.disk = 1048575", 1,
                  "config:1: key 'limits.disk': '1048575' is less than the minimum of 1MiB" },
                { "security.privileged = yes please", 1,
                  "config:1: key 'security.privileged': 'yes please' is not a boolean" },
                { "security.idmap = 0:65536", 1,
                  "config:1: key 'security.idmap': '0:65536' would map the host's root user" },
                { "security.idmap = 100000", 1,
                  "config:1: key 'security.idmap': '100000' is not BASE:COUNT" },
                { "security.idmap = 100000:0", 1,
                  "config:1: key 'security.idmap': '100000:0' has a COUNT out of range" },
                { "security.idmap = 1:4294967296", 1,
                  "config:1: key 'security.idmap': '1:4294967296' has a COUNT out of range" },
                { "security.idmap = 4294967295:1", 1,
                  "config:1: key 'security.idmap': '4294967295:1' goes past the last id" },
                { "security.idmap = 1:4294967295", 1,
                  "config:1: key 'security.idmap': '1:4294967295' goes past" },
                { "security.idmap = 99999999999999999999:1", 1,
                  "config:1: key 'security.idmap': '99999999999999999999:1' goes past" },
                { "security.idmap = a:1", 1, "config:1: key 'security.idmap': 'a:1' is not" },
                { "security.idmap = 1:1:1", 1, "config:1: key 'security.idmap': '1:1:1' is not" },
                { "security.idmap = -1:5", 1, "config:1: key 'security.idmap': '-1:5' is not" },
                { "security.apparmor = my profile", 1,
                  "config:1: key 'security.apparmor': 'my profile' is not an AppArmor profile" },
                { "security.apparmor = -x", 1, "config:1: key 'security.apparmor': '-x' is not" },
                { "security.apparmor = a\"b", 1, "config:1: key 'security.apparmor': 'a\"b'" },
                { "security.seccomp = rel", 1,
                  "config:1: key 'security.seccomp': 'rel' is not an absolute path" },
                { "security.caps.drop = sys_admn", 1,
                  "config:1: key 'security.caps.drop': 'sys_admn' is not a capability" },
                { "security.caps.drop = SYS_ADMIN,cap_sys_admin", 1,
                  "config:1: key 'security.caps.drop': 'cap_sys_admin' is listed twice" },
                { "security.caps.drop = , ,", 1,
                  "config:1: key 'security.caps.drop': ', ,' names no capability" },
                { "security.caps.drop = 12", 1, "config:1: key 'security.caps.drop': '12' is not" },
                { "security.caps.drop = cap_", 1, "config:1: key 'security.caps.drop': 'cap_' is" },
                { "security.caps.drop = sys_admin2", 1,
                  "config:1: key 'security.caps.drop': 'sys_admin2' is not" },
                { "security.caps.drop = sys-admin", 1,
                  "config:1: key 'security.caps.drop': 'sys-admin' is not" },
                { "security.caps.drop = all", 1, "config:1: key 'security.caps.drop': 'all' is" },
                { "security.caps.drop =", 1, "config:1: key 'security.caps.drop': value is empty" },
                { "device.0 = /dev/", 1, "config:1: key 'device.0': '/dev/' is not a path below" },
                { "device.0 = /etc/passwd", 1,
                  "config:1: key 'device.0': '/etc/passwd' is not a path below /dev/" },
                { "device.0 = dev/fuse", 1, "config:1: key 'device.0': 'dev/fuse' is not a path" },
                { "device.0 = /dev/../etc/shadow", 1,
                  "config:1: key 'device.0': '/dev/../etc/shadow' contains a '..' component" },
                { "device.0 = /dev/fuse fuse", 1,
                  "config:1: key 'device.0': 'fuse' is not an absolute path" },
                { "device.0 = /dev/fuse /etc/fuse", 1,
                  "config:1: key 'device.0': '/etc/fuse' is not a path below /dev/" },
                { "device.0 = /dev/tty1", 1,
                  "config:1: key 'device.0': '/dev/tty1' is lodge's own in every guest" },
                { "device.0 = /dev/sda /dev/null", 1,
                  "config:1: key 'device.0': '/dev/null' is lodge's own" },
                { "device.0 = /dev/sda /dev/pts/3", 1,
                  "config:1: key 'device.0': '/dev/pts/3' is lodge's own" },
                { "device.0 = /dev/sda /dev/shm", 1,
                  "config:1: key 'device.0': '/dev/shm' is lodge's own" },
                { "device.0 = /dev/sda /dev/fd/1", 1,
                  "config:1: key 'device.0': '/dev/fd/1' is lodge's own" },
                { "device.0 = /dev/a /b /c", 1,
                  "config:1: key 'device.0': '/dev/a /b /c' is not PATH [TARGET]" },
                { "mount.0 = /src", 1,
                  "config:1: key 'mount.0': '/src' is not SOURCE TARGET [OPTIONS]" },
                { "mount.0 = src /dst", 1, "config:1: key 'mount.0': 'src' is not an absolute" },
                { "mount.0 = /src dst", 1, "config:1: key 'mount.0': 'dst' is not an absolute" },
                { "mount.0 = /src /../x", 1, "config:1: key 'mount.0': '/../x' contains a '..'" },
                { "mount.0 = /a//b /c", 1, "config:1: key 'mount.0': '/a//b' contains '//'" },
                { "mount.0 = /a /b ro,rw", 1,
                  "config:1: key 'mount.0': 'ro,rw': 'ro' and 'rw' can't be combined" },
                { "mount.0 = /a /b create=dir,create=file", 1,
                  "config:1: key 'mount.0': 'create=dir,create=file': 'create=dir' and" },
                { "mount.0 = /a /b ro,ro", 1, "config:1: key 'mount.0': 'ro' is given twice" },
                { "mount.0 = /a /b bogus", 1,
                  "config:1: key 'mount.0': 'bogus' is not a list of ro, rw, create=dir" },
                { "mount.0 = /a /b ro,", 1, "config:1: key 'mount.0': 'ro,' is not a list" },
                { "mount.0 = /a /b ,ro", 1, "config:1: key 'mount.0': ',ro' is not a list" },
                { "mount.0 = /a /b RO", 1, "config:1: key 'mount.0': 'RO' is not a list" },
                { "mount.0 = /a /b ro rw", 1,
                  "config:1: key 'mount.0': '/a /b ro rw' is not SOURCE TARGET [OPTIONS]" },
                { "cloud-init.user-data =", 1,
                  "config:1: key 'cloud-init.user-data': value is empty" },
                { "hook.pre-start = hooks/x", 1,
                  "config:1: key 'hook.pre-start': 'hooks/x' is not an absolute path" },
                { "hook.post-stop = /usr/lib/hooks/", 1,
                  "config:1: key 'hook.post-stop': '/usr/lib/hooks/' is a directory" },
                { "hook.start-host = /a/../b", 1, "config:1: key 'hook.start-host': '/a/../b'" },
        };

        (void)state;
        check_fail_cases(cases, ELEMENTSOF(cases));
}

static void test_control_characters(void **state)
{
        static const struct fail_case cases[] = {
                { "name = we\x01"
                  "b",
                  1, "config:1: key 'name': value contains a control character" },
                { "name = web\r\n", 1, "config:1: key 'name': value contains a control" },
                { "# windows\r\nname = web\r\n", 2, "config:2: key 'name': value contains" },
                { "environment.A = a\tb", 1, "config:1: key 'environment.A': value contains" },
                { "environment.A = \x7f", 1, "config:1: key 'environment.A': value contains" },
                { "environment.A = \x1b[31mred", 1, "config:1: key 'environment.A': value" },
                { "init.cmd = /sbin/init\x0bx", 1, "config:1: key 'init.cmd': value contains" },
        };
        static const char nul[] = "name = web\nnet.0.type = ve\0th\n";

        (void)state;
        check_fail_cases(cases, ELEMENTSOF(cases));
        assert_true(parse_fails_len(nul, sizeof(nul) - 1, 2, "config:2: contains a NUL byte"));
        assert_true(parse_fails_len("\0", 1, 1, "config:1: contains a NUL byte"));
        assert_true(parse_fails_len("# \0 comment\n", 12, 1, "config:1: contains a NUL byte"));
}

static void test_unknown_keys(void **state)
{
        static const struct fail_case cases[] = {
                { "net.brige = br0", 1, "config:1: key 'net.brige': unknown key" },
                { "name = a\nhostname = b", 2, "config:2: key 'hostname': unknown key" },
                { "Name = a", 1, "config:1: key 'Name': unknown key" },
                { "net.01.type = veth", 1, "config:1: key 'net.01.type': unknown key" },
                { "net.00.type = veth", 1, "config:1: key 'net.00.type': unknown key" },
                { "net.16.type = veth", 1,
                  "config:1: key 'net.16.type': index 16 is out of range 0..15" },
                { "mount.64 = /a /b", 1,
                  "config:1: key 'mount.64': index 64 is out of range 0..63" },
                { "device.99999999999999999999 = /dev/x", 1,
                  "config:1: key 'device.99999999999999999999': index 99999999999999999999 is "
                  "out of range 0..63" },
                { "net.N.type = veth", 1, "config:1: key 'net.N.type': unknown key" },
                { "net.-1.type = veth", 1, "config:1: key 'net.-1.type': unknown key" },
                { "net.0.0 = x", 1, "config:1: key 'net.0.0': unknown key" },
                { "net..type = veth", 1, "config:1: key 'net..type': unknown key" },
                { "net.0 = veth", 1, "config:1: key 'net.0': unknown key" },
                { "name.0 = x", 1, "config:1: key 'name.0': unknown key" },
                { "mount.0.x = /a /b", 1, "config:1: key 'mount.0.x': unknown key" },
                { "limits.memory. = 1G", 1, "config:1: key 'limits.memory.': unknown key" },
                { "environment = x", 1, "config:1: key 'environment': unknown key" },
                { "environment. = x", 1,
                  "config:1: key 'environment.': '' is not an environment variable name" },
                { "environment.1X = x", 1,
                  "config:1: key 'environment.1X': '1X' is not an environment variable name" },
                { "environment.A-B = x", 1, "config:1: key 'environment.A-B': 'A-B' is not an" },
                { "environment.A B = x", 1, "config:1: key 'environment.A B': 'A B' is not an" },
                { "a.very.long.key.that.goes.on.and.on.and.on.and.on.and.on.and.on.and.on = 1", 1,
                  "config:1: key 'a.very.long.key" },
        };

        (void)state;
        check_fail_cases(cases, ELEMENTSOF(cases));
}

static void test_syntax(void **state)
{
        static const struct fail_case cases[] = {
                { "name web", 1, "config:1: expected 'key = value'" },
                { "name = web\n= web", 2, "config:2: expected 'key = value'" },
                { "  = web", 1, "config:1: expected 'key = value'" },
                { "name = web # a comment\n", 1, "config:1: key 'name': 'web # a comment' is" },
                { "name = a\n# c\n\nname = b\n", 4, "config:4: key 'name': already set on line 1" },
                { "environment.A = 1\nenvironment.B = 2\nenvironment.A = 3\nenvironment.B = 4", 3,
                  "config:3: key 'environment.A': already set on line 1" },
                /* The first error in file order wins, whatever its kind. */
                { "name = a\nname = b\nbogus = 1", 2, "config:2: key 'name': already set" },
                { "bogus = 1\nname = a\nname = b", 1, "config:1: key 'bogus': unknown key" },
        };
        cleanup_config struct lodge_config *cfg =
                parse_ok("  # indented comment\n\t\n   name\t=\t web  \n#x=y\n");

        (void)state;
        check_fail_cases(cases, ELEMENTSOF(cases));
        assert_string_equal(cfg->name, "web");
}

static void test_cross_key_rules(void **state)
{
        static const struct fail_case cases[] = {
                { "security.caps.drop = sys_admin\nsecurity.caps.keep = chown\n", 2,
                  "config:2: key 'security.caps.keep': can't be combined with "
                  "'security.caps.drop'" },
                { "security.caps.keep =\nname = x\nsecurity.caps.drop = chown\n", 3,
                  "config:3: key 'security.caps.drop': can't be combined with "
                  "'security.caps.keep'" },
                { "net.0.link = br0\n", 1, "config:1: key 'net.0.link': requires 'net.0.type'" },
                { "net.0.type = veth\nnet.1.mtu = 1500\n", 2,
                  "config:2: key 'net.1.mtu': requires 'net.1.type'" },
                { "net.0.type = none\nnet.0.link = br0\n", 2,
                  "config:2: key 'net.0.link': can't be used with 'net.0.type = none'" },
                { "net.0.type = veth\nnet.0.ipv4.gateway = 10.0.3.1\n", 2,
                  "config:2: key 'net.0.ipv4.gateway': requires a static 'net.0.ipv4'" },
                { "net.0.type = veth\nnet.0.ipv4 = dhcp\nnet.0.ipv4.gateway = 10.0.3.1\n", 3,
                  "config:3: key 'net.0.ipv4.gateway': requires a static 'net.0.ipv4'" },
                { "net.0.type = veth\nnet.0.ipv4 = 10.0.3.5/24\nnet.0.ipv4.gateway = 10.0.4.1\n", 3,
                  "config:3: key 'net.0.ipv4.gateway': '10.0.4.1' is outside the subnet of "
                  "'net.0.ipv4'" },
                { "net.0.type = veth\nnet.0.ipv4 = 10.0.3.5/24\nnet.0.ipv4.gateway = 10.0.3.5\n", 3,
                  "config:3: key 'net.0.ipv4.gateway': '10.0.3.5' is not a host of its subnet" },
                { "net.0.type = veth\nnet.0.ipv4 = 10.0.3.5/24\nnet.0.ipv4.gateway = 10.0.3.255\n",
                  3, "config:3: key 'net.0.ipv4.gateway': '10.0.3.255' is not a host" },
                { "net.0.type = veth\nnet.0.name = eth0\nnet.1.type = veth\nnet.1.name = eth0\n", 4,
                  "config:4: key 'net.1.name': 'eth0' is already used by 'net.0.name'" },
                { "net.1.type = veth\nnet.1.name = eth0\nnet.0.type = veth\nnet.0.name = eth0\n", 4,
                  "config:4: key 'net.0.name': 'eth0' is already used by 'net.1.name'" },
                /* Reported on the first line at fault in file order. */
                { "net.2.mtu = 1500\nsecurity.caps.drop = a\n", 2,
                  "config:2: key 'security.caps.drop': 'a' is not a capability" },
                { "security.caps.drop = chown\nsecurity.caps.keep = chown\nnet.2.mtu = 1500\n", 2,
                  "config:2: key 'security.caps.keep': can't be combined" },
        };
        cleanup_config struct lodge_config *ok =
                parse_ok("net.0.link = br0\nnet.0.type = veth\nnet.0.name = eth0\n"
                         "net.1.type = macvlan\nnet.1.name = eth1\n"
                         "net.2.type = none\nnet.2.name = eth2\n"
                         "net.3.type = veth\nnet.3.ipv4.gateway = 192.168.1.1\n"
                         "net.3.ipv4 = 192.168.0.10/23\n");

        (void)state;
        check_fail_cases(cases, ELEMENTSOF(cases));
        assert_null(ok->net[1].link); /* filled by a default network later */
}

static void test_format_round_trip(void **state)
{
        static const char *const texts[] = {
                full_config,
                "",
                "\n",
                "# only a comment\n",
                "  name\t=   web   \n\n\n# trailing comments\r\n#\x01\x7f control in a comment\n",
                "environment.A = x=y\n   \t\nname=web\n",
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                cleanup_config struct lodge_config *cfg = parse_ok(texts[i]);
                cleanup_config struct lodge_config *again = NULL;
                cleanup_free char *out = format(cfg);
                cleanup_free char *out2 = NULL;

                assert_string_equal(out, texts[i]);
                again = parse_ok(out);
                out2 = format(again);
                assert_string_equal(out2, out);
        }
}

static void test_format_adds_final_newline(void **state)
{
        cleanup_config struct lodge_config *cfg = parse_ok("# c\nname = web");
        cleanup_free char *out = format(cfg);

        (void)state;
        assert_string_equal(out, "# c\nname = web\n");
}

static void test_parse_uses_len(void **state)
{
        cleanup_error struct lodge_error *err = NULL;
        struct lodge_config *cfg = NULL;
        static const char text[] = "name = web\nbogus = 1\n";

        (void)state;
        /* Only the first line: no NUL terminator needed, the rest ignored. */
        assert_int_equal(lodge_config_parse(text, 10, NULL, &cfg, NULL, &err), 0);
        assert_string_equal(cfg->name, "web");
        lodge_config_free(cfg);
        cfg = NULL;
        assert_int_equal(lodge_config_parse(text, sizeof(text) - 1, NULL, &cfg, NULL, &err),
                         -EINVAL);
        assert_string_equal(err->msg, "config:2: key 'bogus': unknown key");
        assert_null(cfg);
}

static void test_parse_too_large(void **state)
{
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *big = malloc(LODGE_CONFIG_MAX_SIZE + 1);
        struct lodge_config *cfg = NULL;
        unsigned line = 99;

        (void)state;
        assert_non_null(big);
        memset(big, '\n', LODGE_CONFIG_MAX_SIZE + 1);
        assert_int_equal(lodge_config_parse(big, LODGE_CONFIG_MAX_SIZE + 1, "c", &cfg, &line, &err),
                         -EINVAL);
        assert_int_equal(line, 0);
        assert_null(cfg);
        assert_int_equal(
                lodge_config_parse(big, (size_t)LODGE_CONFIG_MAX_SIZE, "c", &cfg, &line, &err), 0);
        lodge_config_free(cfg);
}

static void test_many_environment_keys(void **state)
{
        const size_t n = 30000;
        cleanup_free char *text = malloc(n * 32);
        cleanup_config struct lodge_config *cfg = NULL;
        size_t len = 0;

        (void)state;
        assert_non_null(text);
        for (size_t i = 0; i < n; i++)
                len += (size_t)sprintf(text + len, "environment.V%zu = %zu\n", i, i);
        cfg = parse_ok(text);
        assert_int_equal(strv_length(cfg->environment), n);
        assert_string_equal(cfg->environment[n - 1], "V29999=29999");
        snprintf(text + len, n * 32 - len, "environment.V17 = again\n");
        assert_true(parse_fails(text, (unsigned)n + 1,
                                "config:30001: key 'environment.V17': already set on line 18"));
}

static void test_get(void **state)
{
        cleanup_config struct lodge_config *cfg =
                parse_ok("limits.memory =   512M  \nenvironment.E =\nmount.3 = /a  /b\n");
        cleanup_error struct lodge_error *err = NULL;
        const char *v = NULL;

        (void)state;
        assert_int_equal(lodge_config_get(cfg, "limits.memory", &v, &err), 0);
        assert_string_equal(v, "512M");
        assert_int_equal(lodge_config_get(cfg, "environment.E", &v, &err), 0);
        assert_string_equal(v, "");
        assert_int_equal(lodge_config_get(cfg, "mount.3", &v, &err), 0);
        assert_string_equal(v, "/a  /b");
        assert_string_equal(cfg->mounts[3], "/a  /b");

        v = NULL;
        assert_int_equal(lodge_config_get(cfg, "name", &v, &err), -ENOENT);
        assert_int_equal(err->code, ENOENT);
        assert_string_equal(err->msg, "key 'name': not set");
        assert_null(v);
        assert_int_equal(lodge_config_get(cfg, "environment.F", &v, &err), -ENOENT);
        assert_int_equal(lodge_config_get(cfg, "limits.memroy", &v, &err), -EINVAL);
        assert_string_equal(err->msg, "key 'limits.memroy': unknown key");
        assert_int_equal(lodge_config_get(cfg, "mount.03", &v, &err), -EINVAL);
        assert_null(v);
}

static void test_set_replaces_in_place(void **state)
{
        cleanup_config struct lodge_config *cfg =
                parse_ok("# my container\nname = web\n\n# memory\nlimits.memory = 1G\n"
                         "autostart = no\n");
        cleanup_config struct lodge_config *again = NULL;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *out = NULL;

        (void)state;
        assert_int_equal(lodge_config_set(cfg, "limits.memory", "  2G ", &err), 0);
        assert_null(err);
        assert_true(cfg->limits.memory == UINT64_C(2) << 30);
        assert_int_equal(lodge_config_set(cfg, "security.caps.keep", "", &err), 0);
        assert_int_equal(lodge_config_set(cfg, "net.2.type", "veth", &err), 0);
        assert_int_equal(lodge_config_set(cfg, "name", "db", &err), 0);
        out = format(cfg);
        assert_string_equal(out, "# my container\nname = db\n\n# memory\nlimits.memory = 2G\n"
                                 "autostart = no\nsecurity.caps.keep =\nnet.2.type = veth\n");
        assert_string_equal(cfg->name, "db");
        assert_non_null(cfg->security.caps_keep);
        assert_int_equal(cfg->net[2].type, LODGE_NET_VETH);

        /* What set wrote parses to the same thing. */
        again = parse_ok(out);
        assert_string_equal(again->name, "db");
}

/* A failed change leaves text and typed view exactly as they were. */
static void assert_set_fails(struct lodge_config *cfg, const char *key, const char *value, int r,
                             const char *msg)
{
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *before = format(cfg);
        cleanup_free char *after = NULL;
        cleanup_free char *name = cfg->name ? strdup(cfg->name) : NULL;
        uint64_t memory = cfg->limits.memory;
        int got = lodge_config_set(cfg, key, value, &err);

        if (got != r || !err || err->code != -r || strcmp(err->msg, msg) != 0) {
                print_message("set('%s', '%s'): r=%d msg='%s', want r=%d msg='%s'\n", key, value,
                              got, err ? err->msg : "(null)", r, msg);
                fail();
        }
        after = format(cfg);
        assert_string_equal(after, before);
        if (name)
                assert_string_equal(cfg->name, name);
        else
                assert_null(cfg->name);
        assert_true(cfg->limits.memory == memory);
}

static void test_set_rejects(void **state)
{
        cleanup_config struct lodge_config *cfg =
                parse_ok("name = web\nlimits.memory = 1G\nsecurity.caps.drop = chown\n"
                         "net.0.type = veth\nnet.0.link = br0\n");

        (void)state;
        assert_set_fails(cfg, "limits.memory", "64MiBB", -EINVAL,
                         "key 'limits.memory': '64MiBB' is not a size");
        assert_set_fails(cfg, "limits.memroy", "1G", -EINVAL, "key 'limits.memroy': unknown key");
        assert_set_fails(cfg, "net.16.type", "veth", -EINVAL,
                         "key 'net.16.type': index 16 is out of range 0..15");
        /* Newline injection: one value must never become two lines. */
        assert_set_fails(cfg, "name", "x\nsecurity.privileged = true", -EINVAL,
                         "key 'name': value contains a control character");
        assert_set_fails(cfg, "environment.A", "x\rsecurity.privileged = true", -EINVAL,
                         "key 'environment.A': value contains a control character");
        assert_set_fails(cfg, "name", "", -EINVAL, "key 'name': value is empty");
        assert_set_fails(cfg, " name", "x", -EINVAL, "key ' name': unknown key");
        assert_set_fails(cfg, "name = x\nprivileged", "x", -EINVAL,
                         "key 'name = x\nprivileged': unknown key");
        /* Cross-key rules. */
        assert_set_fails(cfg, "security.caps.keep", "chown", -EINVAL,
                         "key 'security.caps.keep': can't be combined with 'security.caps.drop'");
        assert_set_fails(cfg, "net.1.link", "br0", -EINVAL,
                         "key 'net.1.link': requires 'net.1.type'");
        assert_set_fails(cfg, "net.0.type", "none", -EINVAL,
                         "key 'net.0.link': can't be used with 'net.0.type = none'");
}

static void test_unset(void **state)
{
        cleanup_config struct lodge_config *cfg =
                parse_ok("# head\nname = web\n# mem\nlimits.memory = 1G\n"
                         "net.0.type = veth\nnet.0.link = br0\n");
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *out = NULL;
        cleanup_free char *out2 = NULL;

        (void)state;
        assert_int_equal(lodge_config_unset(cfg, "limits.memory", &err), 0);
        assert_true(cfg->limits.memory == 0);
        out = format(cfg);
        assert_string_equal(out,
                            "# head\nname = web\n# mem\nnet.0.type = veth\nnet.0.link = br0\n");

        assert_int_equal(lodge_config_unset(cfg, "limits.memory", &err), -ENOENT);
        assert_string_equal(err->msg, "key 'limits.memory': not set");
        assert_int_equal(lodge_config_unset(cfg, "limits.mem", &err), -EINVAL);
        assert_string_equal(err->msg, "key 'limits.mem': unknown key");

        /* Unsetting the type would orphan net.0.link: refused, nothing changes. */
        assert_int_equal(lodge_config_unset(cfg, "net.0.type", &err), -EINVAL);
        assert_string_equal(err->msg, "key 'net.0.link': requires 'net.0.type'");
        assert_int_equal(cfg->net[0].type, LODGE_NET_VETH);
        out2 = format(cfg);
        assert_string_equal(out2, out);

        assert_int_equal(lodge_config_unset(cfg, "net.0.link", &err), 0);
        assert_int_equal(lodge_config_unset(cfg, "net.0.type", &err), 0);
        assert_int_equal(lodge_config_unset(cfg, "name", &err), 0);
        assert_null(cfg->name);
        assert_int_equal(cfg->net[0].type, LODGE_NET_UNSET);
}

static void test_set_on_new(void **state)
{
        cleanup_config struct lodge_config *cfg = NULL;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *out = NULL;

        (void)state;
        assert_int_equal(lodge_config_new(&cfg, &err), 0);
        for (int i = 0; i < 50; i++) {
                assert_int_equal(lodge_config_set(cfg, "environment.FOO", "a b", &err), 0);
                assert_int_equal(lodge_config_set(cfg, "name", "c1", &err), 0);
        }
        assert_int_equal(lodge_config_set_assignment(cfg, "limits.memory=1G", &err), 0);
        assert_int_equal(lodge_config_set_assignment(cfg, " limits.cpu = 2 ", &err), 0);
        assert_int_equal(lodge_config_set_assignment(cfg, "environment.X=a=b", &err), 0);
        assert_int_equal(lodge_config_set_assignment(cfg, "environment.Y=", &err), 0);
        assert_int_equal(lodge_config_set_assignment(cfg, "limits.memory", &err), -EINVAL);
        assert_string_equal(err->msg, "'limits.memory' is not KEY=VALUE");
        assert_int_equal(lodge_config_set_assignment(cfg, "=1G", &err), -EINVAL);
        assert_string_equal(err->msg, "key '': unknown key");
        assert_int_equal(lodge_config_set_assignment(cfg, "limits.pids=0", &err), -EINVAL);
        assert_string_equal(err->msg, "key 'limits.pids': '0' is out of range 1..4194304");

        out = format(cfg);
        assert_string_equal(out, "environment.FOO = a b\nname = c1\nlimits.memory = 1G\n"
                                 "limits.cpu = 2\nenvironment.X = a=b\nenvironment.Y =\n");
        assert_int_equal(strv_length(cfg->environment), 3);
        assert_string_equal(cfg->environment[1], "X=a=b");
        assert_int_equal(cfg->limits.cpu_millis, 2000);
}

static void test_key_known(void **state)
{
        static const char *const known[] = {
                "name",          "net.0.type",         "net.15.ipv4.gateway", "mount.0",
                "mount.63",      "device.10",          "environment.PATH",    "environment._",
                "limits.cpuset", "security.caps.keep", "hook.start-host",
        };
        static const char *const unknown[] = {
                "",           "net.16.type", "net.01.type",  "mount.64",       "device.N",
                "net.N.type", "environment", "environment.", "environment.9A", "net.0",
                "names",      "NAME",        " name",        "name ",          "mount.1.2",
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (!lodge_config_key_known(known[i])) {
                        print_message("'%s' not known\n", known[i]);
                        fail();
                }
        for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
                if (lodge_config_key_known(unknown[i])) {
                        print_message("'%s' known\n", unknown[i]);
                        fail();
                }
}

struct collect {
        char buf[256];
        int stop_after;
        int calls;
};

static int collect_cb(const char *key, const char *value, void *userdata)
{
        struct collect *c = userdata;

        c->calls++;
        snprintf(c->buf + strlen(c->buf), sizeof(c->buf) - strlen(c->buf), "%s=%s;", key, value);
        return c->calls == c->stop_after ? -ECANCELED : 0;
}

static void test_foreach(void **state)
{
        cleanup_config struct lodge_config *cfg =
                parse_ok("# c\nname = web\n\nenvironment.A =\nlimits.memory = 1G\n");
        struct collect c = { .stop_after = -1 };

        (void)state;
        assert_int_equal(lodge_config_foreach(cfg, collect_cb, &c), 0);
        assert_string_equal(c.buf, "name=web;environment.A=;limits.memory=1G;");
        c = (struct collect){ .stop_after = 2 };
        assert_int_equal(lodge_config_foreach(cfg, collect_cb, &c), -ECANCELED);
        assert_int_equal(c.calls, 2);
}

static void test_write_and_load(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_config struct lodge_config *cfg = parse_ok(full_config);
        cleanup_config struct lodge_config *loaded = NULL;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *out = NULL;
        struct stat st;

        assert_int_equal(lodge_config_set(cfg, "name", "loaded", &err), 0);
        assert_int_equal(lodge_config_write_at(cfg, t->dirfd, "config", &err), 0);
        assert_int_equal(fstatat(t->dirfd, "config", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        assert_int_equal(lodge_config_load_at(t->dirfd, "config", "web/config", &loaded, &err), 0);
        assert_string_equal(loaded->name, "loaded");
        out = format(loaded);
        assert_non_null(strstr(out, "\nname = loaded\narch = amd64\n"));
        assert_string_equal(out + strlen(out) - 20, "environment.EMPTY =\n");
}

static void test_load_errors(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        struct lodge_config *cfg = NULL;
        cleanup_close int fd = -EBADF;
        cleanup_free char *big = NULL;

        assert_int_equal(lodge_config_load_at(t->dirfd, "missing", "web/missing", &cfg, &err),
                         -ENOENT);
        assert_non_null(strstr(err->msg, "web/missing"));

        assert_int_equal(symlinkat("/etc/passwd", t->dirfd, "link"), 0);
        assert_int_equal(lodge_config_load_at(t->dirfd, "link", NULL, &cfg, &err), -ELOOP);

        fd = openat(t->dirfd, "bad", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "name = ok\nname = again\n", 23), 23);
        assert_int_equal(lodge_config_load_at(t->dirfd, "bad", "web/config", &cfg, &err), -EINVAL);
        assert_string_equal(err->msg, "web/config:2: key 'name': already set on line 1");

        big = calloc(1, LODGE_CONFIG_MAX_SIZE + 1);
        assert_non_null(big);
        memset(big, '#', LODGE_CONFIG_MAX_SIZE + 1);
        assert_int_equal(pwrite(fd, big, LODGE_CONFIG_MAX_SIZE + 1, 0), LODGE_CONFIG_MAX_SIZE + 1);
        assert_int_equal(lodge_config_load_at(t->dirfd, "bad", NULL, &cfg, &err), -EFBIG);
        assert_null(cfg);
}

/* Loaded without a key's lines: a config broken by them parses, the rest as
 * written; one broken elsewhere still fails, naming that line. */
static void test_load_without(void **state)
{
        struct lodge_tmpdir *t = *state;
        static const char text[] = "name = web\n"
                                   "# kept\n"
                                   "device.0 = /dev/tty1\n"
                                   "limits.pids = 100\n"
                                   "device.0 = /dev/fuse\n";
        cleanup_error struct lodge_error *err = NULL;
        cleanup_config struct lodge_config *cfg = NULL;
        cleanup_free char *out = NULL;

        assert_int_equal(write_file_atomic_at(t->dirfd, "config", text, strlen(text), 0600, &err),
                         0);
        assert_int_equal(lodge_config_load_at(t->dirfd, "config", NULL, &cfg, &err), -EINVAL);
        assert_int_equal(
                lodge_config_load_without_at(t->dirfd, "config", NULL, "device.0", &cfg, &err), 0);
        out = format(cfg);
        assert_string_equal(out, "name = web\n# kept\nlimits.pids = 100\n");
        lodge_config_free(cfg);
        cfg = NULL;
        assert_int_equal(lodge_config_load_without_at(t->dirfd, "config", "web/config",
                                                      "limits.pids", &cfg, &err),
                         -EINVAL);
        assert_null(cfg);
        assert_string_equal(err->msg, "web/config:3: key 'device.0': '/dev/tty1' is lodge's own "
                                      "in every guest (standard nodes, console, tty1-4, pts, shm, "
                                      "mqueue): give the device another target, 'PATH TARGET'");
}

static void test_free_null(void **state)
{
        (void)state;
        lodge_config_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_keys_sorted),
                cmocka_unit_test(test_parse_every_key),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_keywords),
                cmocka_unit_test(test_bad_values),
                cmocka_unit_test(test_control_characters),
                cmocka_unit_test(test_unknown_keys),
                cmocka_unit_test(test_syntax),
                cmocka_unit_test(test_cross_key_rules),
                cmocka_unit_test(test_format_round_trip),
                cmocka_unit_test(test_format_adds_final_newline),
                cmocka_unit_test(test_parse_uses_len),
                cmocka_unit_test(test_parse_too_large),
                cmocka_unit_test(test_many_environment_keys),
                cmocka_unit_test(test_get),
                cmocka_unit_test(test_set_replaces_in_place),
                cmocka_unit_test(test_set_rejects),
                cmocka_unit_test(test_unset),
                cmocka_unit_test(test_set_on_new),
                cmocka_unit_test(test_key_known),
                cmocka_unit_test(test_foreach),
                cmocka_unit_test_setup_teardown(test_write_and_load, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_load_without, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_load_errors, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test(test_free_null),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
