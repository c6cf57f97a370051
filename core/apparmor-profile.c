/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apparmor.h"
#include "core/base/cleanup.h"

/* The generated profile (security.apparmor = generated) makes a privileged
 * guest root-safe where the kernel mediates it: the guest may do what a
 * booting distribution does inside its own namespaces, but not write the
 * host-wide files of procfs and sysfs, nor reach them under another path (a
 * fresh procfs elsewhere, a bind or move of /proc or /sys, pivot_root), nor
 * talk to, signal or trace anything outside its own label but the
 * unconfined host. Paths are what the guest sees: AppArmor resolves them from
 * the root of the guest's mount namespace. */

#define MAX_KEEP 16
#define MAX_PATH 256

/* What a rule covers through complement(): every path below a directory
 * but the kept ones, each relative to it and made of [a-z0-9._/] only:
 * "a/b" keeps that entry (what is below it is still covered), "a/b*" the
 * entries of a/ whose names start with b, and "a/" followed by "**" all of
 * the tree a/. */
struct complement {
        const char *dir; /* ends in '/' */
        const char *keep[MAX_KEEP + 1];
};

/* /proc/sys: only what is per namespace (IPC, UTS, network) stays writable. */
static const struct complement proc_sys = {
        "/proc/sys/",
        { "kernel/shm*", "kernel/sem*", "kernel/msg*", "kernel/hostname", "kernel/domainname",
          "fs/mqueue/**", "net/**" },
};

/* /sys: the guest's own cgroups (its cgroup namespace is their root) and its
 * network devices (sysfs shows the guest's network namespace). */
static const struct complement sys = {
        "/sys/",
        { "fs/cgroup/**", "class/net/**", "devices/virtual/net/**" },
};

/* Sources a guest may bind or move elsewhere: anything but procfs and sysfs,
 * whose files would escape the rules above under another name. */
static const struct complement mount_sources = {
        "/",
        { "proc/**", "sys/**" },
};

static void emit(FILE *f, const char *head, const char *path, size_t len, const char *glob,
                 const char *tail)
{
        fprintf(f, "%s%.*s%s%s\n", head, (int)len, path, glob, tail);
}

static int by_char(const void *a, const void *b)
{
        return *(const char *)a - *(const char *)b;
}

/* One branch point: path[0..len) is a prefix of kept names, sfx[] what
 * remains of each after it. AppArmor's globs have no "except", so each way
 * of leaving the kept names here becomes a negated character class, like
 * /proc/sys/k[^e]* and what is below it. '*' and '?' never match '/'. */
static void complement_at(FILE *f, const char *head, const char *tail, char *path, size_t len,
                          const char *const *sfx, size_t n)
{
        bool at_start = path[len - 1] == '/', end = false;
        char set[MAX_KEEP + 1] = { 0 };
        size_t nset = 0;

        for (size_t i = 0; i < n; i++) {
                if (strcmp(sfx[i], "**") == 0)
                        return; /* all of it is kept */
                if (strcmp(sfx[i], "*") == 0) {
                        emit(f, head, path, len, "*/**", tail); /* the entries are, not below */
                        return;
                }
        }
        for (size_t i = 0; i < n; i++) {
                if (!sfx[i][0])
                        end = true;
                else if (!memchr(set, sfx[i][0], nset))
                        set[nset++] = sfx[i][0];
        }
        if (nset == 0) {
                if (at_start) { /* nothing kept below this directory */
                        emit(f, head, path, len, "**", tail);
                        return;
                }
                emit(f, head, path, len, "?*{,/**}", tail); /* longer names */
                emit(f, head, path, len, "/**", tail);      /* below the kept entry */
                return;
        }
        qsort(set, nset, 1, by_char);
        set[nset] = '\0';

        if (strcmp(set, "/") == 0) { /* a directory on the way */
                emit(f, head, path, len, "?*{,/**}", tail);
        } else if (!at_start && !end && !memchr(set, '/', nset)) {
                /* This name itself too: say "k", a prefix of "kernel" but another entry. */
                fprintf(f, "%s%.*s{,[^%s]*}{,/**}%s\n", head, (int)len, path, set, tail);
        } else {
                fprintf(f, "%s%.*s[^%s]*{,/**}%s\n", head, (int)len, path, set, tail);
        }
        if (end && !memchr(set, '/', nset))
                emit(f, head, path, len, "/**", tail); /* below the kept entry */

        for (size_t c = 0; c < nset; c++) {
                const char *sub[MAX_KEEP];
                size_t m = 0;

                for (size_t i = 0; i < n; i++)
                        if (sfx[i][0] == set[c])
                                sub[m++] = sfx[i] + 1;
                path[len] = set[c];
                complement_at(f, head, tail, path, len + 1, sub, m);
        }
}

/* "HEAD PATTERN TAIL" lines whose patterns together match every path below
 * c->dir except the kept ones. */
static void complement(FILE *f, const char *head, const struct complement *c, const char *prefix,
                       const char *tail)
{
        const char *sfx[MAX_KEEP];
        char path[MAX_PATH];
        size_t n = 0;
        int len;

        len = snprintf(path, sizeof(path), "%s%s", prefix, c->dir);
        for (; c->keep[n]; n++)
                sfx[n] = c->keep[n];
        if (len > 0 && (size_t)len < sizeof(path) - 64)
                complement_at(f, head, tail, path, (size_t)len, sfx, n);
}

int apparmor_profile_name(const char *tag, const char *name, char **ret, struct lodge_error **err)
{
        static const char ok[] =
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
        size_t len = name ? strlen(name) : 0;
        char *s;
        int r;

        /* Independent of lodge_name_check(): whatever names lodge ever
         * allows, only these reach policy text. None of them is special in a
         * quoted AppArmor name or glob, and the prefix keeps the result from
         * reading as a namespace (":ns:") or "unconfined". */
        if (len == 0 || len > 63 || strspn(name, ok) != len || name[0] == '.' || name[0] == '-')
                return lodge_error_set(err, EINVAL,
                                       "no AppArmor profile for container name '%.64s': only "
                                       "letters, digits, '.', '_' and '-' can be used",
                                       name ? name : "");
        if (tag && (strlen(tag) > 16 || strspn(tag, "0123456789abcdef") != strlen(tag)))
                return lodge_error_set(err, EINVAL, "AppArmor profile tag '%.16s': not hex", tag);
        r = tag && *tag ? asprintf(&s, APPARMOR_PROFILE_PREFIX_TAGGED "%s-%s", tag, name)
                        : asprintf(&s, APPARMOR_PROFILE_PREFIX "%s", name);
        if (r < 0)
                return lodge_error_set(err, ENOMEM, "AppArmor profile name");
        *ret = s;
        return 0;
}

int apparmor_label(const struct lodge_config_security *sec, const char *tag, const char *name,
                   char **ret, struct lodge_error **err)
{
        char *s = NULL;

        switch (sec->apparmor) {
        case LODGE_APPARMOR_UNCONFINED:
                break;
        case LODGE_APPARMOR_PROFILE:
                /* The config checked it: a letter or digit, then [A-Za-z0-9._/-]. */
                if (!sec->apparmor_profile || !sec->apparmor_profile[0])
                        return lodge_error_set(err, EINVAL, "security.apparmor: no profile name");
                s = strdup(sec->apparmor_profile);
                if (!s)
                        return lodge_error_set(err, ENOMEM, "AppArmor profile name");
                break;
        case LODGE_APPARMOR_GENERATED:
        default: {
                int r = apparmor_profile_name(tag, name, &s, err);

                if (r < 0)
                        return r;
                break;
        }
        }
        *ret = s;
        return 0;
}

/* Peers, signals, mounts of a booting distribution. */
static void write_base(FILE *f, const char *label)
{
        fputs("  network,\n"
              "  capability,\n"
              "  file,\n"
              "  umount,\n"
              "  dbus,\n"
              "\n"
              "  # The guest must not touch the policy that confines it.\n"
              "  deny capability mac_admin,\n"
              "  deny capability mac_override,\n"
              "\n"
              "  # Signals, tracing and unix sockets within the guest, and from the host.\n"
              "  signal (receive) peer=unconfined,\n",
              f);
        fprintf(f, "  signal peer=\"%s\",\n", label);
        fputs("  ptrace (readby, tracedby) peer=unconfined,\n", f);
        fprintf(f, "  ptrace peer=\"%s\",\n", label);
        fputs("  unix (receive) peer=(label=unconfined),\n", f);
        fprintf(f, "  unix peer=(label=\"%s\"),\n", label);
        fputs("\n"
              "  # Fresh filesystems of the guest's own, at their usual places.\n"
              "  mount fstype=tmpfs,\n"
              "  mount fstype=mqueue,\n"
              "  mount fstype=hugetlbfs,\n"
              "  mount fstype=fuse,\n"
              "  mount fstype=fuse.*,\n"
              "  mount fstype=fusectl -> /sys/fs/fuse/connections/,\n"
              "  mount fstype=proc -> /proc/,\n"
              "  mount fstype=sysfs -> /sys/,\n"
              "  mount fstype=cgroup -> /sys/fs/cgroup/{,**},\n"
              "  mount fstype=cgroup2 -> /sys/fs/cgroup/{,**},\n"
              "\n"
              "  # Propagation inside the guest's own mount namespace.\n",
              f);
        static const char *const propagation[] = { "slave",      "rslave",     "shared",
                                                   "rshared",    "private",    "rprivate",
                                                   "unbindable", "runbindable" };
        for (size_t i = 0; i < sizeof(propagation) / sizeof(*propagation); i++)
                fprintf(f, "  mount options=(rw,%s) -> /{,**},\n", propagation[i]);
        fputs("\n"
              "  # Making a mount more restricted (systemd's Protect*= for services),\n"
              "  # never less: a read-only bind of the host stays read-only. A superblock\n"
              "  # remount only where the filesystem is the guest's own.\n"
              "  mount options=(remount,bind,ro) options in (nosuid,nodev,noexec,noatime,"
              "nodiratime,relatime,strictatime,silent) -> /{,**},\n",
              f);
        static const char *const own_sb[] = { "/sys/",     "/sys/fs/cgroup/", "/run/",
                                              "/dev/shm/", "/dev/mqueue/",    "/tmp/" };
        for (size_t i = 0; i < sizeof(own_sb) / sizeof(*own_sb); i++)
                fprintf(f,
                        "  mount options=(remount,ro) options in (nosuid,nodev,noexec,noatime,"
                        "nodiratime,relatime,strictatime,silent) -> %s,\n",
                        own_sb[i]);
        fputs("  deny mount options=(ro,remount) -> /,\n"
              "  deny mount options=(ro,remount,silent) -> /,\n"
              "\n"
              "  # Bind and move mounts of anything but procfs and sysfs.\n",
              f);
        complement(f, "  mount options=(rw,bind) ", &mount_sources, "", ",");
        complement(f, "  mount options=(rw,rbind) ", &mount_sources, "", ",");
        complement(f, "  mount options=(rw,move) ", &mount_sources, "", ",");
}

/* Host-wide files of procfs and sysfs, and raw memory. */
static void write_denials(FILE *f)
{
        fputs("\n"
              "  # Host-wide kernel interfaces: never, not even reading.\n"
              "  deny /proc/sysrq-trigger rwklx,\n"
              "  deny /proc/kcore rwklx,\n"
              "  deny /proc/kmsg rwklx,\n"
              "  deny /proc/kpage* rwklx,\n"
              "  deny /proc/acpi/{,**} rwklx,\n"
              "  deny /proc/sys/fs/binfmt_misc/{,**} rwklx,\n"
              "  deny /proc/sys/kernel/core_pattern wklx,\n"
              "  deny /proc/sys/kernel/modprobe wklx,\n"
              "  deny /proc/{bus,irq,fs,driver,scsi}/** wklx,\n"
              "  deny /proc/mtrr wklx,\n"
              "  deny /sys/kernel/security/{,**} rwklx,\n"
              "  deny /sys/kernel/debug/{,**} rwklx,\n"
              "  deny /sys/kernel/tracing/{,**} rwklx,\n"
              "  deny /sys/firmware/efi/efivars/{,**} rwklx,\n"
              "  deny /dev/{mem,kmem,port} rwklx,\n"
              "  deny mount fstype=binfmt_misc,\n"
              "  deny mount fstype=securityfs,\n"
              "  deny mount fstype=debugfs,\n"
              "  deny mount fstype=tracefs,\n"
              "  deny mount fstype=efivarfs,\n"
              "\n"
              "  # Writes below /proc/sys but for what is per namespace.\n",
              f);
        complement(f, "  deny ", &proc_sys, "", " wklx,");
        fputs("\n"
              "  # Writes below /sys but for the guest's cgroups and network devices.\n",
              f);
        complement(f, "  deny ", &sys, "", " wklx,");
}

/* security.nesting: what a container manager inside the guest needs. It
 * mounts procfs and sysfs in its guests' trees and binds anything there, so
 * the rules above can be walked around: like LXC's and Incus's nesting
 * profiles, this one is no boundary for a privileged guest. */
static void write_nesting(FILE *f, const char *label)
{
        fputs("\n"
              "  # security.nesting: containers inside (not a boundary for a privileged guest).\n"
              "  pivot_root,\n"
              "  mount fstype=proc,\n"
              "  mount fstype=sysfs,\n"
              "  mount fstype=devpts,\n"
              "  mount fstype=overlay,\n"
              "  mount fstype=cgroup,\n"
              "  mount fstype=cgroup2,\n"
              "  mount options=(rw,bind),\n"
              "  mount options=(rw,rbind),\n"
              "  mount options=(rw,move),\n",
              f);
        fprintf(f, "  change_profile -> \"%s\",\n", label);
}

int apparmor_profile_generate(const char *tag, const char *name, bool nesting, char **ret,
                              struct lodge_error **err)
{
        cleanup_free char *label = NULL, *text = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        r = apparmor_profile_name(tag, name, &label, err);
        if (r < 0)
                return r;
        f = open_memstream(&text, &len);
        if (!f)
                return lodge_error_set(err, ENOMEM, "generate AppArmor profile '%s'", label);
        fprintf(f,
                "# AppArmor profile of lodge container '%s' (security.apparmor = generated%s).\n"
                "# Written by lodge at every start: changes here do not last.\n"
                "\n"
                "profile \"%s\" flags=(attach_disconnected,mediate_deleted) {\n",
                name, nesting ? ", security.nesting = true" : "", label);
        write_base(f, label);
        write_denials(f);
        if (nesting)
                write_nesting(f, label);
        fputs("}\n", f);
        r = ferror(f) ? -ENOMEM : 0;
        if (fclose(f) != 0 || r < 0)
                return lodge_error_set(err, ENOMEM, "generate AppArmor profile '%s'", label);
        *ret = TAKE_PTR(text);
        return 0;
}
