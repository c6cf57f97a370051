/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: which device nodes a guest may use. Its cgroup denies every
 * device but an allow-list: the nodes a system container needs, mknod of any
 * node (which by itself opens nothing), and each host device passed in on
 * purpose with device.N. cgroup v1 takes the rules as text (devices.allow),
 * cgroup2 as a BPF_PROG_TYPE_CGROUP_DEVICE program. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"

/* Access bits, as the kernel's BPF_DEVCG_ACC_*. */
#define DEV_ACC_MKNOD 1u
#define DEV_ACC_READ 2u
#define DEV_ACC_WRITE 4u
#define DEV_ACC_ALL (DEV_ACC_MKNOD | DEV_ACC_READ | DEV_ACC_WRITE)
#define DEV_ANY UINT32_MAX /* every major or minor */

struct dev_rule {
        char type;       /* 'c', 'b', or 'a' for both */
        uint32_t major;  /* or DEV_ANY */
        uint32_t minor;  /* or DEV_ANY */
        unsigned access; /* DEV_ACC_* */
};

/* The allow-list every guest gets (n rules): null, zero, full, random,
 * urandom, tty, console, ptmx, the ptys, net/tun and fuse read and write,
 * and mknod of any character or block node. No other block device, and no
 * mem, kmem or port. */
const struct dev_rule *dev_default_rules(size_t *ret_n);

/* "c 1:3 rwm", "b *:* m": a rule as cgroup v1's devices.allow reads it. */
void dev_rule_format(const struct dev_rule *r, char buf[static 40]);

/* The standard nodes of every guest's /dev (made, or in a user namespace the
 * host's, bound) and its links. */
struct dev_std_node {
        const char *name;
        unsigned maj, min;
};
struct dev_std_link {
        const char *name, *target;
};
extern const struct dev_std_node dev_std_nodes[6];
extern const struct dev_std_link dev_std_links[5];

/* Is target (below /dev/, without it: "tty1", "pts/3") lodge's own in every
 * guest: a standard node or link, the console, a tty, or in a mount lodge
 * makes there (pts, shm, mqueue)? A device.N may not take its place. */
bool dev_target_reserved(const char *target);

/* A host device passed in on purpose: device.N = "PATH [TARGET]". */
struct dev_node {
        char *path;   /* the host's node: "/dev/net/tun" */
        char *target; /* where it appears, below the guest's /dev: "net/tun" */
        mode_t mode;  /* S_IFCHR or S_IFBLK, and the permission bits */
        dev_t rdev;
};

/* Parse value and look at the host's node (through symlinks, as
 * /dev/disk/by-id/ has them): -ENOENT when it doesn't exist, -EINVAL when it
 * isn't a character or block device or TARGET isn't below /dev/. */
int dev_node_parse(const char *value, struct dev_node *ret, struct lodge_error **err);
void dev_node_done(struct dev_node *n);

/* The rule that lets the guest use exactly this node (rwm). */
struct dev_rule dev_node_rule(const struct dev_node *n);

/* Make the node at its target below devfd (the guest's fresh /dev), with the
 * same type, numbers and mode, owned by root; parent directories are made,
 * no symlink is followed, a node already there is replaced. */
int dev_node_make(int devfd, const struct dev_node *n, struct lodge_error **err);

/* cgroup2: the program that allows exactly rules, in *ret (malloc'd, *ret_n
 * instructions, each 8 bytes as the kernel's struct bpf_insn). */
int dev_bpf_build(const struct dev_rule *rules, size_t n, void **ret, size_t *ret_n);

/* Load that program and attach it to a cgroup2 cgroup (a directory fd), with
 * BPF_F_ALLOW_MULTI, so that programs attached below it (the guest's own)
 * can only narrow it; then detach the device programs attached there before
 * (an earlier call's), so the new list is in force before the old one goes.
 * -EOPNOTSUPP when the kernel has no cgroup BPF. */
int dev_bpf_attach(int cgroup_fd, const struct dev_rule *rules, size_t n, struct lodge_error **err);
