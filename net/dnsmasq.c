/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/process.h"
#include "net/net.h"

/* One dnsmasq per managed network, its files in the network's run
 * directory 'dir': dnsmasq.pid, dnsmasq.log, and two
 * directories it watches (inotify): dhcp-hosts/ (one "MAC,[IP,]NAME" file per
 * guest: its name, and its static address kept from others) and hosts/ ("IP
 * NAME" for static guests, so that they resolve too). dnsmasq drops its
 * privileges (to nobody) after it starts, so these stay readable by all:
 * names and addresses, nothing secret. Its lease file is elsewhere, in the
 * network's state that outlives a reboot: dnsmasq opens it before it gives
 * up root, and keeps it open. */

#define PIDFILE "dnsmasq.pid"

static const char *dnsmasq_path(void)
{
        /* A test seam, as LODGE_ROOT is: which dnsmasq to run. */
        const char *e = getenv("LODGE_DNSMASQ");

        return e && *e ? e : "/usr/sbin/dnsmasq";
}

int lodge_net_dnsmasq_pid(const char *dir)
{
        char path[4096], cmd[8192], want[4200];
        cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_free char *text = NULL;
        ssize_t n;
        long pid;
        int fd;

        if (dfd < 0 || read_file_at(dfd, PIDFILE, 64, &text, NULL, NULL) < 0)
                return -ESRCH;
        pid = strtol(text, NULL, 10);
        if (pid <= 1 || pid > 1 << 22)
                return -ESRCH;
        /* A pid file outlives its process: it must be our dnsmasq, of this directory. */
        snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -ESRCH;
        n = read_all(fd, cmd, sizeof(cmd) - 1);
        close(fd);
        if (n <= 0)
                return -ESRCH;
        cmd[n] = '\0';
        snprintf(want, sizeof(want), "--pid-file=%s/" PIDFILE, dir);
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1)
                if (strcmp(cmd + i, want) == 0)
                        return (int)pid;
        return -ESRCH;
}

static int make_dirs(const char *dir, struct lodge_error **err)
{
        cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (dfd < 0)
                return lodge_error_set(err, errno, "open '%s'", dir);
        if ((mkdirat(dfd, "dhcp-hosts", 0755) < 0 && errno != EEXIST) ||
            (mkdirat(dfd, "hosts", 0755) < 0 && errno != EEXIST))
                return lodge_error_set(err, errno, "create the host directories in '%s'", dir);
        return 0;
}

/* With an IPv6 subnet: router advertisements on it (SLAAC, the gateway as
 * default router and DNS server), and dnsmasq listening there too. */
static int ipv6_args(const struct lodge_net_network *nw, char **argv, size_t *k)
{
        char gw6[INET6_ADDRSTRLEN];

        if (!nw->has_ipv6)
                return 0;
        inet_ntop(AF_INET6, &nw->ipv6.addr.v6, gw6, sizeof(gw6));
        if (asprintf(&argv[(*k)++], "--listen-address=%s", gw6) < 0 ||
            asprintf(&argv[(*k)++], "--enable-ra") < 0 ||
            asprintf(&argv[(*k)++], "--dhcp-range=::,constructor:%s,ra-stateless,ra-names",
                     nw->name) < 0)
                return -ENOMEM;
        return 0;
}

/* DHCP on the IPv4 subnet from its .2 up, DNS on the gateway's address. */
static int ipv4_args(const struct lodge_net_network *nw, char **argv, size_t *k,
                     struct lodge_error **err)
{
        char gw[INET_ADDRSTRLEN], first[16], last[16];
        int r;

        if (!nw->has_ipv4)
                return 0;
        r = lodge_net_dhcp_range(&nw->ipv4, first, last, err);
        if (r < 0)
                return r;
        inet_ntop(AF_INET, &nw->ipv4.addr.v4, gw, sizeof(gw));
        if (asprintf(&argv[(*k)++], "--listen-address=%s", gw) < 0 ||
            asprintf(&argv[(*k)++], "--dhcp-range=%s,%s,1h", first, last) < 0 ||
            asprintf(&argv[(*k)++], "--dhcp-authoritative") < 0 ||
            asprintf(&argv[(*k)++], "--dhcp-no-override") < 0 ||
            /* Static addresses are kept from others by dhcp-hosts/: no 3 s ping first. */
            asprintf(&argv[(*k)++], "--no-ping") < 0)
                return lodge_error_set(err, ENOMEM, "dnsmasq arguments");
        return 0;
}

int lodge_net_dnsmasq_start(const struct lodge_net_network *nw, const char *dir, const char *leases,
                            struct lodge_error **err)
{
        char *argv[32] = { 0 };
        cleanup_free char *out = NULL;
        size_t k = 0;
        int r;

        if (lodge_net_dnsmasq_pid(dir) > 0)
                return 0;
        if (!nw->has_ipv4 && !nw->has_ipv6)
                return lodge_error_set(err, EINVAL, "dnsmasq for '%s': no subnet to serve",
                                       nw->name);
        r = make_dirs(dir, err);
        if (r < 0)
                return r;
        argv[k++] = (char *)dnsmasq_path();
        r = ipv4_args(nw, argv, &k, err);
        if (r >= 0 &&
            (asprintf(&argv[k++], "--conf-file=/dev/null") < 0 ||
             asprintf(&argv[k++], "--interface=%s", nw->name) < 0 ||
             asprintf(&argv[k++], "--bind-interfaces") < 0 ||
             asprintf(&argv[k++], "--except-interface=lo") < 0 ||
             asprintf(&argv[k++], "--no-hosts") < 0 || asprintf(&argv[k++], "--strict-order") < 0 ||
             asprintf(&argv[k++], "--pid-file=%s/" PIDFILE, dir) < 0 ||
             asprintf(&argv[k++], "--dhcp-leasefile=%s", leases) < 0 ||
             asprintf(&argv[k++], "--log-facility=%s/dnsmasq.log", dir) < 0 ||
             asprintf(&argv[k++], "--domain=lodge") < 0 ||
             asprintf(&argv[k++], "--local=/lodge/") < 0 ||
             asprintf(&argv[k++], "--expand-hosts") < 0 ||
             asprintf(&argv[k++], "--dhcp-hostsdir=%s/dhcp-hosts", dir) < 0 ||
             asprintf(&argv[k++], "--hostsdir=%s/hosts", dir) < 0 || ipv6_args(nw, argv, &k) < 0))
                r = lodge_error_set(err, ENOMEM, "dnsmasq arguments");
        /* dnsmasq forks into the background once it listens: its exit is the answer. */
        if (r >= 0) {
                r = spawn_wait(argv, &out);
                if (r == -ENOENT)
                        r = lodge_error_set(err, ENOENT, "run '%s': not installed", argv[0]);
                else if (r < 0)
                        r = lodge_error_set(err, -r, "run '%s'", argv[0]);
                else if (r > 0) {
                        size_t l = out ? strlen(out) : 0;

                        while (l > 0 && (out[l - 1] == '\n' || out[l - 1] == ' '))
                                out[--l] = '\0';
                        r = lodge_error_set(err, EIO, "dnsmasq for '%s' failed (exit %d): %s",
                                            nw->name, r, out && *out ? out : "no output");
                }
        }
        for (size_t i = 1; i < k; i++)
                free(argv[i]);
        return r < 0 ? r : 0;
}

int lodge_net_dnsmasq_probe(char **ret_version, struct lodge_error **err)
{
        char *argv[] = { (char *)dnsmasq_path(), "--version", NULL };
        cleanup_free char *out = NULL;
        char *nl;
        int r;

        r = spawn_wait(argv, &out);
        if (r == -ENOENT)
                return lodge_error_set(err, ENOENT, "'%s' is not installed", argv[0]);
        if (r < 0)
                return lodge_error_set(err, -r, "run '%s'", argv[0]);
        if (r > 0)
                return lodge_error_set(err, EIO, "'%s --version' failed (exit %d)", argv[0], r);
        /* "Dnsmasq version 2.90  Copyright (c) ...": the first line's start. */
        nl = out ? strstr(out, "  ") : NULL;
        if (nl)
                *nl = '\0';
        if (out && (nl = strchr(out, '\n')))
                *nl = '\0';
        *ret_version = TAKE_PTR(out);
        if (!*ret_version && !(*ret_version = strdup("")))
                return lodge_error_set(err, ENOMEM, "dnsmasq");
        return 0;
}

int lodge_net_dnsmasq_stop(const char *dir, struct lodge_error **err)
{
        int pid = lodge_net_dnsmasq_pid(dir);

        if (pid <= 0)
                return 0;
        if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
                return lodge_error_set(err, errno, "stop dnsmasq (pid %d)", pid);
        /* Gone before the caller removes its directory (or starts another). */
        for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
                nanosleep(&(struct timespec){ .tv_nsec = 10L * 1000 * 1000 }, NULL);
        if (kill(pid, 0) == 0)
                return lodge_error_set(err, ETIMEDOUT, "dnsmasq (pid %d) won't stop", pid);
        return 0;
}

int lodge_net_dnsmasq_host_set(const char *dir, const char *guest, const uint8_t hwaddr[6],
                               const struct ip_prefix *addr, struct lodge_error **err)
{
        cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        cleanup_close int hfd = -EBADF, dhfd = -EBADF;
        char ip[INET_ADDRSTRLEN] = "", line[512];
        int n, r;

        if (dfd < 0)
                return lodge_error_set(err, errno, "open '%s'", dir);
        r = make_dirs(dir, err);
        if (r < 0)
                return r;
        hfd = openat(dfd, "hosts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        dhfd = openat(dfd, "dhcp-hosts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (hfd < 0 || dhfd < 0)
                return lodge_error_set(err, errno, "open the host directories in '%s'", dir);
        if (addr)
                inet_ntop(AF_INET, &addr->addr.v4, ip, sizeof(ip));
        n = snprintf(line, sizeof(line), "%02x:%02x:%02x:%02x:%02x:%02x,%s%s%s\n", hwaddr[0],
                     hwaddr[1], hwaddr[2], hwaddr[3], hwaddr[4], hwaddr[5], ip, *ip ? "," : "",
                     guest);
        r = write_file_replace_at(dhfd, guest, line, (size_t)n, 0644, err);
        if (r >= 0 && addr) {
                n = snprintf(line, sizeof(line), "%s %s\n", ip, guest);
                r = write_file_replace_at(hfd, guest, line, (size_t)n, 0644, err);
        } else if (r >= 0)
                (void)unlinkat(hfd, guest, 0);
        return r;
}

void lodge_net_dnsmasq_host_remove(const char *dir, const char *guest)
{
        cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        cleanup_close int hfd = -EBADF, dhfd = -EBADF;

        if (dfd < 0)
                return;
        hfd = openat(dfd, "hosts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        dhfd = openat(dfd, "dhcp-hosts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (hfd >= 0)
                (void)unlinkat(hfd, guest, 0);
        if (dhfd >= 0)
                (void)unlinkat(dhfd, guest, 0);
}
