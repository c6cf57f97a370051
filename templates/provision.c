/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* First-boot provisioning written into a new guest's rootfs: a user (passwd,
 * shadow, group, home), a password hash, an SSH key, the time zone, files
 * copied in, and a script that the guest runs once, on its first boot. As
 * with the fix-ups, only files are written, resolved inside the rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "templates/templates-internal.h"

#define RUN_ONCE_DIR "/var/lib/lodge"
#define RUN_ONCE_SCRIPT RUN_ONCE_DIR "/run-once"
#define RUN_ONCE_WRAPPER RUN_ONCE_DIR "/first-boot"

struct account {
        unsigned uid, gid;
        char home[256];
};

static bool name_is_valid(const char *n)
{
        size_t len = strlen(n);

        return len > 0 && len <= 32 && strchr("abcdefghijklmnopqrstuvwxyz_", n[0]) &&
               strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

int lodge_template_provision_check(const struct lodge_guest_provision *p, struct lodge_error **err)
{
        if (p->user && !name_is_valid(p->user))
                return lodge_error_set(err, EINVAL,
                                       "--user '%s': a user name is [a-z_][a-z0-9_-]*, at most 32",
                                       p->user);
        if (p->password_hash && (p->password_hash[0] != '$' || strpbrk(p->password_hash, ":\n")))
                return lodge_error_set(err, EINVAL,
                                       "--password-hash: a crypt(3) hash ('$y$...', '$6$...'), "
                                       "as mkpasswd prints it");
        if (p->timezone &&
            (!*p->timezone || p->timezone[0] == '/' || strstr(p->timezone, "..") ||
             strspn(p->timezone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789_+-/") != strlen(p->timezone)))
                return lodge_error_set(err, EINVAL, "--timezone '%s' is not a time zone name",
                                       p->timezone);
        if (p->ssh_key && (strchr(p->ssh_key, '\0') == p->ssh_key || strstr(p->ssh_key, "PRIVATE")))
                return lodge_error_set(err, EINVAL,
                                       "--ssh-key: empty, or a private key (give the .pub)");
        for (char *const *f = p->files; f && f[0]; f += 2)
                if (f[1][0] != '/')
                        return lodge_error_set(err, EINVAL,
                                               "--file '%s:%s': the destination must be absolute",
                                               f[0], f[1]);
        return 0;
}

/* The user's passwd line: "name:x:uid:gid:gecos:home:shell". */
static bool find_account(const char *passwd, const char *name, struct account *ret)
{
        size_t n = strlen(name);

        for (const char *line = passwd; line && *line;
             line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                unsigned uid, gid;
                char home[256];

                if (strncmp(line, name, n) != 0 || line[n] != ':')
                        continue;
                if (sscanf(line + n, ":%*[^:]:%u:%u:%*[^:]:%255[^:]", &uid, &gid, home) != 3 &&
                    sscanf(line + n, ":%*[^:]:%u:%u::%255[^:]", &uid, &gid, home) != 3)
                        return false;
                ret->uid = uid;
                ret->gid = gid;
                snprintf(ret->home, sizeof(ret->home), "%s", home);
                return true;
        }
        return false;
}

/* The first id from 1000 that no line of file uses in field (3: uid/gid). */
static unsigned free_id(const char *a, const char *b)
{
        for (unsigned id = 1000;; id++) {
                char pat[32];
                bool used = false;

                snprintf(pat, sizeof(pat), ":%u:", id);
                for (const char *f = a; f && !used; f = f == a ? b : NULL)
                        for (const char *line = f; line && *line && !used;) {
                                const char *c = strchr(line, ':');

                                c = c ? strchr(c + 1, ':') : NULL; /* before the id field */
                                if (c && strncmp(c, pat, strlen(pat)) == 0)
                                        used = true;
                                line = strchr(line, '\n');
                                line = line ? line + 1 : NULL;
                        }
                if (!used)
                        return id;
        }
}

static int append_line(int rootfd, const char *path, const char *old, const char *line,
                       struct lodge_error **err)
{
        cleanup_free char *buf = NULL;
        size_t len = old ? strlen(old) : 0;

        if (asprintf(&buf, "%s%s%s\n", old ? old : "", len && old[len - 1] != '\n' ? "\n" : "",
                     line) < 0)
                return lodge_error_set(err, ENOMEM, "write '%s'", path);
        return guest_update_file(rootfd, path, buf, 0644, err);
}

/* Add " ,name" to the member list of group (when the guest has it). */
static int join_group(int rootfd, const char *group, const char *name, struct lodge_error **err)
{
        cleanup_free char *old = NULL, *buf = NULL;
        size_t glen = strlen(group), len = 0;
        bool found = false;
        FILE *f;

        if (guest_read_file(rootfd, "/etc/group", 1 << 20, &old, NULL) < 0)
                return 0;
        f = open_memstream(&buf, &len);
        if (!f)
                return lodge_error_set(err, ENOMEM, "write /etc/group");
        for (char *line = old, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (strncmp(line, group, glen) == 0 && line[glen] == ':') {
                        found = true;
                        fprintf(f, "%s%s%s\n", line, line[strlen(line) - 1] == ':' ? "" : ",",
                                name);
                } else {
                        fprintf(f, "%s\n", line);
                }
        }
        if (fclose(f) != 0)
                return lodge_error_set(err, ENOMEM, "write /etc/group");
        return found ? guest_update_file(rootfd, "/etc/group", buf, 0644, err) : 0;
}

/* Set the password hash field of name in /etc/shadow (adding the line when
 * missing). */
static int set_shadow(int rootfd, const char *name, const char *hash, struct lodge_error **err)
{
        cleanup_free char *old = NULL, *buf = NULL;
        size_t n = strlen(name), len = 0;
        bool found = false;
        FILE *f;
        int r;

        r = guest_read_file(rootfd, "/etc/shadow", 1 << 20, &old, err);
        if (r < 0 && r != -ENOENT)
                return r;
        f = open_memstream(&buf, &len);
        if (!f)
                return lodge_error_set(err, ENOMEM, "write /etc/shadow");
        for (char *line = old, *next; line && *line; line = next) {
                char *rest;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                rest = strncmp(line, name, n) == 0 && line[n] == ':' ? strchr(line + n + 1, ':')
                                                                     : NULL;
                if (rest) {
                        found = true;
                        fprintf(f, "%s:%s%s\n", name, hash, rest);
                } else {
                        fprintf(f, "%s\n", line);
                }
        }
        if (!found)
                fprintf(f, "%s:%s:%lld:0:99999:7:::\n", name, hash,
                        (long long)(time(NULL) / 86400));
        if (fclose(f) != 0)
                return lodge_error_set(err, ENOMEM, "write /etc/shadow");
        return guest_update_file(rootfd, "/etc/shadow", buf, 0640, err);
}

/* A directory of the user's, made when missing and owned by them. */
static int user_dir(int rootfd, const char *path, const struct account *a, mode_t mode,
                    struct lodge_error **err)
{
        cleanup_close int fd = guest_open_dir(rootfd, path, true, mode);

        if (fd < 0)
                return lodge_error_set(err, -fd, "create '%s' in the guest", path);
        if (fchown(fd, a->uid, a->gid) < 0 || fchmod(fd, mode) < 0)
                return lodge_error_set(err, errno, "chown '%s' in the guest", path);
        return 0;
}

static int add_user(int rootfd, const struct lodge_guest_provision *p, struct account *ret,
                    struct lodge_error **err)
{
        cleanup_free char *passwd = NULL, *group = NULL, *line = NULL, *gshadow = NULL;
        const char *shell;
        struct account a;
        int r;

        r = guest_read_file(rootfd, "/etc/passwd", 1 << 20, &passwd, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "--user");
        if (find_account(passwd, p->user, ret))
                return 0; /* there already: keys and password go to it */
        (void)guest_read_file(rootfd, "/etc/group", 1 << 20, &group, NULL);
        a.uid = free_id(passwd, NULL);
        a.gid = free_id(group, NULL) == a.uid ? a.uid : free_id(group, passwd);
        snprintf(a.home, sizeof(a.home), "/home/%s", p->user);
        shell = guest_exists(rootfd, "/bin/bash") ? "/bin/bash" : "/bin/sh";

        if (asprintf(&line, "%s:x:%u:%u::%s:%s", p->user, a.uid, a.gid, a.home, shell) < 0)
                return lodge_error_set(err, ENOMEM, "--user");
        r = append_line(rootfd, "/etc/passwd", passwd, line, err);
        free(line);
        line = NULL;
        if (r >= 0 && asprintf(&line, "%s:x:%u:", p->user, a.gid) < 0)
                r = lodge_error_set(err, ENOMEM, "--user");
        if (r >= 0)
                r = append_line(rootfd, "/etc/group", group, line, err);
        if (r >= 0 && guest_read_file(rootfd, "/etc/gshadow", 1 << 20, &gshadow, NULL) >= 0) {
                free(line);
                line = NULL;
                if (asprintf(&line, "%s:!::", p->user) < 0)
                        r = lodge_error_set(err, ENOMEM, "--user");
                else
                        r = append_line(rootfd, "/etc/gshadow", gshadow, line, err);
        }
        if (r >= 0)
                r = set_shadow(rootfd, p->user, "!", err);
        /* An admin, as cloud images make their first user. */
        if (r >= 0)
                r = join_group(rootfd, "sudo", p->user, err);
        if (r >= 0)
                r = user_dir(rootfd, a.home, &a, 0700, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "--user '%s'", p->user);
        *ret = a;
        return 0;
}

static int write_ssh_key(int rootfd, const struct account *a, const char *key,
                         struct lodge_error **err)
{
        cleanup_free char *dir = NULL, *path = NULL, *content = NULL, *old = NULL;
        cleanup_close int dfd = -EBADF;
        int r;

        if (asprintf(&dir, "%s/.ssh", a->home) < 0 ||
            asprintf(&path, "%s/authorized_keys", dir) < 0)
                return lodge_error_set(err, ENOMEM, "--ssh-key");
        r = user_dir(rootfd, dir, a, 0700, err);
        if (r < 0)
                return r;
        (void)guest_read_file(rootfd, path, 1 << 20, &old, NULL);
        if (asprintf(&content, "%s%s%s", old ? old : "", key,
                     key[strlen(key) - 1] == '\n' ? "" : "\n") < 0)
                return lodge_error_set(err, ENOMEM, "--ssh-key");
        r = guest_write_file(rootfd, path, content, 0600, err);
        if (r < 0)
                return r;
        dfd = guest_open_dir(rootfd, dir, false, 0);
        if (dfd < 0 || fchownat(dfd, "authorized_keys", a->uid, a->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return lodge_error_set(err, dfd < 0 ? -dfd : errno, "chown '%s' in the guest",
                                       path);
        return 0;
}

static int set_timezone(int rootfd, const char *tz, struct lodge_error **err)
{
        cleanup_free char *zone = NULL, *line = NULL;
        int r;

        if (asprintf(&zone, "/usr/share/zoneinfo/%s", tz) < 0 || asprintf(&line, "%s\n", tz) < 0)
                return lodge_error_set(err, ENOMEM, "--timezone");
        if (!guest_exists(rootfd, zone))
                return lodge_error_set(err, ENOENT, "--timezone '%s': the guest has no '%s'", tz,
                                       zone);
        r = guest_symlink(rootfd, "/etc/localtime", zone, err);
        if (r >= 0)
                r = guest_write_file(rootfd, "/etc/timezone", line, 0644, err);
        return r;
}

/* Copy the host file src to dest in the guest. dest's directories are
 * resolved inside the rootfs; dest itself must not be a symlink (the
 * copy would otherwise land wherever the guest pointed it). */
static int copy_in(int rootfd, const char *src, const char *dest, struct lodge_error **err)
{
        cleanup_close int in = -EBADF, probe = -EBADF;
        cleanup_free char *buf = NULL;
        struct stat st;
        size_t len = 0;
        ssize_t n;
        int r;

        if (guest_is_symlink(rootfd, dest))
                return lodge_error_set(err, ELOOP,
                                       "--file '%s': '%s' is a symlink in the guest; refused", src,
                                       dest);
        probe = open_in_root(rootfd, dest, O_PATH, 0);
        if (probe < 0 && probe != -ENOENT)
                return lodge_error_set(err, -probe, "--file '%s': '%s' in the guest", src, dest);
        if (probe >= 0 && (fstat(probe, &st) < 0 || !S_ISREG(st.st_mode)))
                return lodge_error_set(err, EINVAL,
                                       "--file '%s': '%s' in the guest is not a regular file", src,
                                       dest);
        in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0 || fstat(in, &st) < 0)
                return lodge_error_set(err, errno, "--file: open '%s'", src);
        if (!S_ISREG(st.st_mode) || st.st_size > (64 << 20))
                return lodge_error_set(err, EINVAL,
                                       "--file '%s': not a regular file of at most "
                                       "64 MiB",
                                       src);
        buf = malloc((size_t)st.st_size + 1); /* +1: never malloc(0) */
        if (!buf)
                return lodge_error_set(err, ENOMEM, "--file '%s'", src);
        while (len < (size_t)st.st_size && (n = read(in, buf + len, (size_t)st.st_size - len)) > 0)
                len += (size_t)n;
        r = guest_write_data(rootfd, dest, buf, len, st.st_mode & 0777, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "--file '%s'", src);
        return 0;
}

/* The first-boot hook: a wrapper that renames the script before running it
 * (so that it runs at most once, even when the boot is cut short), sends its
 * output to the console and leaves its exit status for "lodge info". */
static const char wrapper[] =
        "#!/bin/sh\n"
        "# lodge: run the --run-once script of 'lodge create', once, on the first boot.\n"
        "d=" RUN_ONCE_DIR "\n"
        "[ -e \"$d/run-once\" ] || exit 0\n"
        "mv -f \"$d/run-once\" \"$d/run-once.ran\" || exit 1\n"
        "echo \"lodge: run-once: starting\"\n"
        "\"$d/run-once.ran\"\n"
        "rc=$?\n"
        "echo \"$rc\" >\"$d/run-once.status.new\" && mv -f \"$d/run-once.status.new\" "
        "\"$d/run-once.status\"\n"
        "echo \"lodge: run-once: exit status $rc\"\n"
        "exit 0\n";

static const char unit[] = "# lodge: the --run-once script of 'lodge create'\n"
                           "[Unit]\n"
                           "Description=lodge run-once script\n"
                           "ConditionPathExists=" RUN_ONCE_SCRIPT "\n"
                           "After=network.target\n"
                           "\n"
                           "[Service]\n"
                           "Type=oneshot\n"
                           "ExecStart=" RUN_ONCE_WRAPPER "\n"
                           "StandardOutput=journal+console\n"
                           "StandardError=journal+console\n"
                           "TimeoutStartSec=infinity\n"
                           "\n"
                           "[Install]\n"
                           "WantedBy=multi-user.target\n";

static int install_run_once(int rootfd, const char *script, struct lodge_error **err)
{
        cleanup_free char *tab = NULL, *newtab = NULL;
        int r;

        r = guest_write_file(rootfd, RUN_ONCE_SCRIPT, script, 0700, err);
        if (r >= 0)
                r = guest_write_file(rootfd, RUN_ONCE_WRAPPER, wrapper, 0700, err);
        if (r < 0)
                return r;
        if (guest_exists(rootfd, "/etc/systemd/system") &&
            guest_exists(rootfd, "/lib/systemd/systemd")) {
                r = guest_write_file(rootfd, "/etc/systemd/system/lodge-run-once.service", unit,
                                     0644, err);
                if (r >= 0)
                        r = guest_symlink(rootfd,
                                          "/etc/systemd/system/multi-user.target.wants/"
                                          "lodge-run-once.service",
                                          "/etc/systemd/system/lodge-run-once.service", err);
                return r;
        }
        /* sysvinit and busybox init: a "once" entry of inittab, run when the
         * runlevel is entered (busybox: after sysinit), output to the console. */
        r = guest_read_file(rootfd, "/etc/inittab", 1 << 20, &tab, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "--run-once: neither systemd nor an inittab");
        if (strstr(tab, RUN_ONCE_WRAPPER))
                return 0;
        if (asprintf(&newtab, "%s%s%s\n", tab, tab[0] && tab[strlen(tab) - 1] != '\n' ? "\n" : "",
                     guest_exists(rootfd, "/bin/busybox") && !guest_exists(rootfd, "/sbin/telinit")
                             ? "::once:" RUN_ONCE_WRAPPER
                             : "lo:2345:once:" RUN_ONCE_WRAPPER " >/dev/console 2>&1") < 0)
                return lodge_error_set(err, ENOMEM, "--run-once");
        return guest_update_file(rootfd, "/etc/inittab", newtab, 0644, err);
}

/* cloud-init's NoCloud datasource, where Incus puts it: files in the seed
 * directory, found by ds-identify without any kernel command line. */
#define NOCLOUD_DIR "/var/lib/cloud/seed/nocloud-net"

static int seed_cloud_init(int rootfd, const struct lodge_guest_provision *p,
                           struct lodge_error **err)
{
        cleanup_free char *meta = NULL;
        char id[40] = "";
        cleanup_free char *mid = NULL;
        int r;

        if (!guest_exists(rootfd, "/usr/bin/cloud-init") && !guest_exists(rootfd, "/etc/cloud"))
                return lodge_error_set(err, EOPNOTSUPP,
                                       "cloud-init.*: the guest has no cloud-init (install it, "
                                       "e.g. -t debian -- --packages cloud-init)");
        if (!p->cloud_meta_data) {
                /* A new instance id per guest, so that a copy runs its first boot again. */
                if (guest_read_file(rootfd, "/etc/machine-id", 64, &mid, NULL) >= 0)
                        snprintf(id, sizeof(id), "%.32s", mid);
                if (asprintf(&meta, "instance-id: %s-%s\nlocal-hostname: %s\n",
                             p->hostname ? p->hostname : "lodge", id,
                             p->hostname ? p->hostname : "lodge") < 0)
                        return lodge_error_set(err, ENOMEM, "cloud-init meta-data");
        }
        r = guest_write_file(rootfd, NOCLOUD_DIR "/meta-data",
                             p->cloud_meta_data ? p->cloud_meta_data : meta, 0600, err);
        if (r >= 0)
                r = guest_write_file(
                        rootfd, NOCLOUD_DIR "/user-data",
                        p->cloud_user_data ? p->cloud_user_data : "#cloud-config\n{}\n", 0600, err);
        if (r >= 0 && p->cloud_network_config)
                r = guest_write_file(rootfd, NOCLOUD_DIR "/network-config", p->cloud_network_config,
                                     0600, err);
        /* Without a network-config cloud-init would write its fallback (DHCP on the
         * first interface) over what the fix-ups wrote for net.0 (a static address,
         * or none). */
        else if (r >= 0)
                r = guest_write_file(rootfd, "/etc/cloud/cloud.cfg.d/99-lodge-network.cfg",
                                     "# Written by lodge: the network config is net.0's (lodge "
                                     "create -c cloud-init.network-config=... gives it to "
                                     "cloud-init)\nnetwork: {config: disabled}\n",
                                     0644, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "cloud-init seed");
        return 0;
}

int lodge_template_provision(int rootfd, const struct lodge_guest_provision *p,
                             struct lodge_error **err)
{
        struct account a = { .uid = 0, .gid = 0, .home = "/root" };
        int r;

        r = lodge_template_provision_check(p, err);
        if (r < 0)
                return r;
        if (p->user)
                r = add_user(rootfd, p, &a, err);
        if (r >= 0 && p->password_hash)
                r = set_shadow(rootfd, p->user ? p->user : "root", p->password_hash, err);
        if (r >= 0 && p->ssh_key)
                r = write_ssh_key(rootfd, &a, p->ssh_key, err);
        if (r >= 0 && p->timezone)
                r = set_timezone(rootfd, p->timezone, err);
        for (char *const *f = p->files; r >= 0 && f && f[0]; f += 2)
                r = copy_in(rootfd, f[0], f[1], err);
        if (r >= 0 && p->run_once)
                r = install_run_once(rootfd, p->run_once, err);
        if (r >= 0 && (p->cloud_user_data || p->cloud_meta_data || p->cloud_network_config))
                r = seed_cloud_init(rootfd, p, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "provisioning");
        return 0;
}

int lodge_template_run_once_status(int rootfd, char **ret, struct lodge_error **err)
{
        cleanup_free char *status = NULL;
        const char *s;
        int r;

        r = guest_read_file(rootfd, RUN_ONCE_DIR "/run-once.status", 64, &status, NULL);
        if (r >= 0) {
                status[strcspn(status, "\n")] = '\0';
                if (asprintf(ret, "exited %s", status) < 0)
                        return lodge_error_set(err, ENOMEM, "run-once status");
                return 0;
        }
        if (guest_exists(rootfd, RUN_ONCE_SCRIPT))
                s = "pending";
        else if (guest_exists(rootfd, RUN_ONCE_DIR "/run-once.ran"))
                s = "running"; /* or cut short: it never runs again */
        else
                return -ENOENT;
        *ret = strdup(s);
        return *ret ? 0 : lodge_error_set(err, ENOMEM, "run-once status");
}
