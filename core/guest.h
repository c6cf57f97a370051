/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: what runs inside the guest's first process before init. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"
#include "core/cgroup.h"
#include "core/config.h"
#include "core/seccomp-policy.h"

struct guest_setup {
        const char *name;   /* hostname */
        const char *tag;    /* struct lodge_paths' */
        const char *rootfs; /* absolute host path of the rootfs */
        const struct lodge_config *cfg;
        const struct cg_host *cgroups; /* the host's hierarchies, mirrored inside */
        const struct cg_guest *cg;     /* the guest's own cgroups, joined first */
        bool in_v2_cgroup;             /* clone3 put it into its cgroup2 cgroup already */
        const char *console;           /* host path of the pty for /dev/console, or NULL */
};

/* Make the guest's mount tree under rootfs and pivot into it: /proc (with
 * /proc/sys read-only but for net, and the dangerous files masked), /sys
 * read-only but for the guest's network devices, /sys/fs/cgroup showing only
 * the guest's own cgroups, /dev as a tmpfs with the standard nodes, devpts,
 * /dev/console on the pty, /dev/shm, /dev/mqueue, /run. Every target inside
 * the rootfs is resolved without following guest symlinks. Runs in the
 * child, in its new mount and cgroup namespaces. gm: from the monitor, the
 * rootfs as a detached mount from its storage backend (idmapped for a guest
 * in a user namespace; a privileged guest's plain rootfs is bound from its
 * path instead), and for a guest in a user namespace the sources of mount.N
 * (idmapped with "shift"); host device nodes are then bound, not made. */
struct guest_mounts {
        int rootfs; /* the rootfs as a detached mount, or -EBADF: bind the path */
        int entry[LODGE_CONFIG_MAX_MOUNT]; /* mount.N: -ENOENT, its optional source is missing */
};
#define GUEST_MOUNTS_NULL                                                                          \
        {                                                                                          \
                -EBADF,                                                                            \
                {                                                                                  \
                        [0 ... LODGE_CONFIG_MAX_MOUNT - 1] = -EBADF                                \
                }                                                                                  \
        }
void guest_mounts_done(struct guest_mounts *gm);
/* Called by guest_mount_all() right before it mounts the cgroup filesystems,
 * last, once everything else is mounted and the root pivoted: the process
 * must be in its cgroups and its own cgroup namespace when it returns. */
typedef int (*guest_cgroups_cb)(const struct guest_setup *s, void *userdata,
                                struct lodge_error **err);
int guest_mount_all(const struct guest_setup *s, const struct guest_mounts *gm,
                    guest_cgroups_cb enter_cgroups, void *userdata, struct lodge_error **err);

/* One mount.N value, parsed; buf holds the strings. */
struct mount_spec {
        char *buf, *source, *target; /* target relative to the guest's root */
        bool ro, optional, shift;
        char create; /* 'd', 'f', or 0: as the source is */
};
int mount_spec_parse(const char *value, struct mount_spec *ret, struct lodge_error **err);
void mount_spec_done(struct mount_spec *m);

/* What the guest child is told and tells back over its sync socket. */
struct guest_report {
        int code;       /* 0: never sent; an errno when setup failed */
        char msg[1024]; /* the step that failed, as for a lodge_error */
};

struct guest_child {
        struct guest_setup setup;
        int sync_fd; /* SOCK_SEQPACKET to the monitor */
        char **argv; /* init and its arguments */
        char **envp; /* init's environment */
};

/* The guest's first process, right after clone(): brings its loopback up,
 * waits for the monitor's go (its id maps written, its rootfs at hand),
 * mounts and pivots; then waits for the monitor's second word (its cgroups
 * made and limited, with the fds of their "tasks" files), joins them, enters
 * a cgroup namespace and mounts the cgroup filesystems; sets the hostname
 * and console, drops capabilities, and execs init. A failure is sent back as
 * a guest_report; success is the sync socket closing on exec. */
_Noreturn void guest_child_main(const struct guest_child *c);

/* Capabilities: drop the default set (sys_module, sys_time, sys_rawio,
 * mac_admin, mac_override, …) and security.caps.drop from the bounding set,
 * or everything but security.caps.keep; clear the inheritable and ambient
 * sets so that nothing is handed on by exec. */
int caps_apply(const struct lodge_config_security *sec, struct lodge_error **err);

/* ---- userns.c: guests in a user namespace of their own ---- */

/* Does the guest run in a user namespace (security.idmap set, and not
 * security.privileged)? */
bool guest_userns(const struct lodge_config_security *sec);

/* Map the guest's ids 0..count-1 to the host's base.. in pid's user
 * namespace, uids and gids alike. */
int userns_write_maps(pid_t pid, uint32_t base, uint32_t count, struct lodge_error **err);

/* A user namespace (its fd) with the guest's maps and 65536 mapped to host
 * root: for idmapping an overlay's upper layer, whose work files overlayfs
 * makes as its mounter. Nothing runs in it. */
int userns_new_writer(uint32_t base, uint32_t count, struct lodge_error **err);

/* A detached copy of the mount at path (not of those below it), for a guest
 * in a user namespace: with idmap, idmapped through pid's user namespace
 * (files owned by 0..count-1 on disk appear owned by the guest's own ids;
 * -EINVAL where the filesystem can't be), with ro read-only. Returns its fd;
 * -ENOENT (the error set too) when path doesn't exist. */
int userns_detached_tree(const char *path, pid_t pid, bool idmap, bool ro,
                         struct lodge_error **err);

/* Can the mount at path be idmapped (as userns_detached_tree() does)? 1: yes,
 * 0: not its filesystem, < 0 (-errno): couldn't tell. */
int userns_idmap_probe(const char *path);

/* Can an overlay guest be unprivileged at path: overlayfs over idmapped
 * layers (a trial mount in a temporary directory there)? 1, 0 or -errno. */
int userns_overlay_probe(const char *path);

/* Does the guest's bounding set keep this capability ("sys_ptrace")? */
bool caps_kept(const struct lodge_config_security *sec, const char *name);
