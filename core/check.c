/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lodge check: what this host and this build give a guest, layer by layer.
 * Each answer comes from asking the kernel (a syscall, /proc), not from
 * version numbers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/apparmor.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "core/cgroup.h"
#include "core/container.h"
#include "core/guest.h"
#include "core/monitor.h"
#include "net/net.h"
#include "storage/storage.h"

#define MAX_ITEMS 24

struct report {
        struct lodge_check_item *items;
        size_t n;
        int oom;
};

static void add(struct report *r, const char *layer, enum lodge_check_state st, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));
static void add(struct report *r, const char *layer, enum lodge_check_state st, const char *fmt,
                ...)
{
        va_list ap;
        char *d = NULL;

        va_start(ap, fmt);
        if (r->n >= MAX_ITEMS || vasprintf(&d, fmt, ap) < 0) {
                d = NULL;
                r->oom = 1;
        }
        va_end(ap);
        if (d)
                r->items[r->n++] =
                        (struct lodge_check_item){ .layer = layer, .state = st, .detail = d };
}

static void check_namespaces(struct report *r)
{
        static const char *const needed[] = { "mnt", "pid", "net", "uts", "ipc", "cgroup" };
        char missing[64] = "";

        for (size_t i = 0; i < ELEMENTSOF(needed); i++) {
                char path[32];

                snprintf(path, sizeof(path), "/proc/self/ns/%s", needed[i]);
                if (access(path, F_OK) < 0)
                        snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
                                 " %s", needed[i]);
        }
        if (*missing)
                add(r, "namespaces", LODGE_CHECK_MISSING, "the kernel lacks:%s", missing);
        else
                add(r, "namespaces", LODGE_CHECK_OK, "mount, PID, network, UTS, IPC and cgroup");
}

static void check_cgroups(struct report *r)
{
        struct cg_host h = { .v2 = -1 };
        char list[256] = "";
        bool v1 = false;
        int r_;

        r_ = cg_host_detect(&h, NULL);
        if (r_ < 0) {
                add(r, "cgroups", LODGE_CHECK_MISSING, "no cgroup filesystem is mounted");
                add(r, "device cgroup", LODGE_CHECK_MISSING, "no cgroup filesystem is mounted");
                return;
        }
        for (size_t i = 0; i < h.n; i++) {
                if (h.h[i].v2)
                        continue;
                v1 = true;
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", *list ? " " : "",
                         h.h[i].controllers);
        }
        {
                bool mem = cg_host_find(&h, "memory") >= 0, pids = cg_host_find(&h, "pids") >= 0;
                enum lodge_check_state st = mem && pids ? LODGE_CHECK_OK : LODGE_CHECK_WARN;
                const char *lack = !mem && !pids ? "; no memory and pids controllers: those limits "
                                                   "can't be set"
                                   : !mem  ? "; no memory controller: limits.memory can't be set"
                                   : !pids ? "; no pids controller: limits.pids can't be set"
                                           : "";

                if (v1 && h.v2 >= 0)
                        add(r, "cgroups", st, "hybrid: cgroup v1 (%s) and cgroup2 at %s%s", list,
                            h.h[h.v2].mount, lack);
                else if (v1)
                        add(r, "cgroups", st, "cgroup v1 (%s)%s", list, lack);
                else
                        add(r, "cgroups", st, "cgroup2 at %s%s", h.h[h.v2].mount, lack);
        }
        if (cg_host_find(&h, "devices") >= 0 && !h.h[cg_host_find(&h, "devices")].v2)
                add(r, "device cgroup", LODGE_CHECK_OK,
                    "cgroup v1 devices: every device denied but the standard nodes and device.N");
        else if (h.v2 >= 0)
                add(r, "device cgroup", LODGE_CHECK_OK,
                    "cgroup2 BPF device program: every device denied but the standard nodes and "
                    "device.N");
        else
                add(r, "device cgroup", LODGE_CHECK_MISSING,
                    "no devices controller and no cgroup2");
        cg_host_done(&h);
}

static void check_seccomp(struct report *r)
{
        cleanup_free char *status = NULL;

        if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 ||
            read_file_at(AT_FDCWD, "/proc/self/status", 1 << 16, &status, NULL, NULL) < 0 ||
            !strstr(status, "\nSeccomp_filters:"))
                add(r, "seccomp", LODGE_CHECK_WARN,
                    "the kernel can't filter system calls: guests run without a filter");
        else if (!HAVE_SECCOMP_BUILD)
                add(r, "seccomp", LODGE_CHECK_WARN,
                    "this lodge was built without libseccomp: guests start only with "
                    "security.seccomp = none, without a filter");
        else
                add(r, "seccomp", LODGE_CHECK_OK,
                    "default filter for init and attach, x86_64, i386 and x32 entry points");
}

static void check_apparmor(struct report *r)
{
        const char *why = NULL;
        int host = apparmor_host_check(&why);

        if (host > 0)
                add(r, "apparmor", LODGE_CHECK_OK,
                    "enforced: a generated profile per guest (lodge-NAME)");
        else
                add(r, "apparmor", LODGE_CHECK_WARN,
                    "not enforced: %s; a privileged guest's root can mount a fresh procfs or "
                    "sysfs and write host-wide files",
                    why ? why : "unavailable");
}

static void check_paths(struct report *r)
{
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
        int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

        if (fd >= 0 || errno != ENOSYS) {
                if (fd >= 0)
                        close(fd);
                add(r, "safe paths", LODGE_CHECK_OK,
                    "openat2: paths in a rootfs resolved inside it (RESOLVE_IN_ROOT)");
        } else {
                add(r, "safe paths", LODGE_CHECK_OK,
                    "no openat2: lodge's own in-root resolver is used (slower)");
        }
}

static void check_processes(struct report *r)
{
        int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

        if (fd < 0) {
                add(r, "pidfd", LODGE_CHECK_MISSING, "the kernel has no pidfd_open (Linux 5.3)");
                return;
        }
        close(fd);
        add(r, "pidfd", LODGE_CHECK_OK, "processes held by pidfd: no PID reuse races");
}

static void check_monitor(struct report *r)
{
        char link[64], path[4096];
        ssize_t n;
        int fd = monitor_exe_open();

        if (fd < 0) {
                add(r, "monitor", LODGE_CHECK_WARN,
                    "no lodge-monitor: each guest's monitor stays a copy of lodge (~2 MiB)");
                return;
        }
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, path, sizeof(path) - 1);
        path[n > 0 ? n : 0] = '\0';
        close(fd);
        add(r, "monitor", LODGE_CHECK_OK, "lodge-monitor: %s", path);
}

/* create -t download: lodge-fetch (the one program that links libcurl) and
 * gpgv, which checks LXC image servers' signatures. */
static void check_download(struct report *r)
{
        char path[PATH_MAX];
        int fd = libexec_open("lodge-fetch", LODGE_LIBEXECDIR, path);
        bool gpgv = access("/usr/bin/gpgv", X_OK) == 0;

        if (fd < 0) {
                add(r, "downloads", LODGE_CHECK_WARN,
                    "no lodge-fetch: create -t download reads file:// servers only");
                return;
        }
        close(fd);
        add(r, "downloads", gpgv ? LODGE_CHECK_OK : LODGE_CHECK_WARN, "lodge-fetch: %s; %s", path,
            gpgv ? "gpgv checks LXC servers' signatures"
                 : "no /usr/bin/gpgv: LXC servers' images need --no-verify");
}

static void check_userns(struct report *r)
{
        cleanup_free char *max = NULL;

        if (read_file_at(AT_FDCWD, "/proc/sys/user/max_user_namespaces", 64, &max, NULL, NULL) <
                    0 ||
            atol(max) <= 0)
                add(r, "user namespaces", LODGE_CHECK_MISSING,
                    "the kernel makes none: every guest's root is the host's root");
        else
                add(r, "user namespaces", LODGE_CHECK_OK,
                    "every guest but those with security.privileged = true (rootfs idmapped)");
}

/* What lodge's networks need besides netlink: dnsmasq (DHCP, DNS, router
 * advertisements) and nft (NAT), each asked, not just looked for. */
static void check_network_tools(struct report *r)
{
        cleanup_error struct lodge_error *e1 = NULL, *e2 = NULL;
        cleanup_free char *v1 = NULL, *v2 = NULL;
        char *nl;

        if (lodge_net_dnsmasq_probe(&v1, &e1) >= 0)
                add(r, "dnsmasq", LODGE_CHECK_OK,
                    "%s: DHCP, DNS and router advertisements on lodge's networks", v1);
        else
                add(r, "dnsmasq", LODGE_CHECK_WARN,
                    "%s: lodge's networks work only with --dhcp off (static addresses)", e1->msg);
        if (lodge_net_nft_probe(&v2, &e2) < 0 && (nl = strchr(e2->msg, '\n')))
                *nl = '\0'; /* nft's first line says it */
        if (!e2)
                add(r, "nftables", LODGE_CHECK_OK, "%s: NAT of lodge's networks (--nat on)", v2);
        else
                add(r, "nftables", LODGE_CHECK_WARN, "%s: lodge's networks can't have --nat on",
                    e2->msg);
}

const char *lodge_check_state_to_string(enum lodge_check_state s)
{
        return s == LODGE_CHECK_OK ? "ok" : s == LODGE_CHECK_WARN ? "warn" : "missing";
}

/* What each storage backend's guests need of their filesystem. */
static void check_idmap(struct report *r, const struct lodge_paths *p)
{
        cleanup_free char *at = strdup(p->root);
        struct stat st;
        int ok = -ENOMEM;

        /* Not made yet: where it will be. */
        while (at && stat(at, &st) < 0 && strrchr(at, '/') && strcmp(at, "/") != 0) {
                char *slash = strrchr(at, '/');

                slash[slash == at ? 1 : 0] = '\0';
        }
        if (at)
                ok = userns_idmap_probe(at);

        if (ok > 0) {
                int ov = userns_overlay_probe(at);
                cleanup_close int atfd = open(at, O_PATH | O_DIRECTORY | O_CLOEXEC);

                add(r, "idmapped mounts", LODGE_CHECK_OK, "dir: %s can be idmapped", p->root);
                if (ov > 0)
                        add(r, "idmapped mounts", LODGE_CHECK_OK,
                            "overlay: overlayfs over idmapped layers works here");
                else
                        add(r, "idmapped mounts", LODGE_CHECK_WARN,
                            "overlay: overlayfs over idmapped layers fails here (%s): only "
                            "privileged overlay guests can start",
                            ov == 0 ? "the kernel refuses it" : strerror(-ov));
                if (atfd >= 0 && lodge_storage_is_btrfs(atfd))
                        add(r, "idmapped mounts", LODGE_CHECK_OK,
                            "btrfs: %s is on btrfs, its subvolumes can be idmapped", p->root);
                else
                        add(r, "idmapped mounts", LODGE_CHECK_OK,
                            "btrfs: not used here (%s is not on btrfs)", p->root);
        } else if (ok == 0)
                add(r, "idmapped mounts", LODGE_CHECK_MISSING,
                    "dir: %s can't be idmapped: only privileged guests can be made there", p->root);
        else
                add(r, "idmapped mounts", LODGE_CHECK_WARN, "dir: %s: can't tell (%s)", p->root,
                    strerror(-ok));
}

int lodge_check(const struct lodge_paths *p, struct lodge_check_item **ret, size_t *ret_n,
                struct lodge_error **err)
{
        struct report r = { .items = calloc(MAX_ITEMS, sizeof(struct lodge_check_item)) };

        if (!r.items)
                return lodge_error_set(err, ENOMEM, "check");
        check_namespaces(&r);
        check_userns(&r);
        check_idmap(&r, p);
        check_cgroups(&r);
        add(&r, "capabilities", LODGE_CHECK_OK,
            "bounding set without sys_module, sys_rawio, sys_time, mac_admin, mac_override; "
            "no_new_privs for attach");
        check_seccomp(&r);
        check_apparmor(&r);
        check_paths(&r);
        check_processes(&r);
        check_monitor(&r);
        check_download(&r);
        check_network_tools(&r);
        if (r.oom) {
                lodge_check_free(r.items, r.n);
                return lodge_error_set(err, ENOMEM, "check");
        }
        *ret = r.items;
        *ret_n = r.n;
        return 0;
}

void lodge_check_free(struct lodge_check_item *l, size_t n)
{
        for (size_t i = 0; l && i < n; i++)
                free(l[i].detail);
        free(l);
}
