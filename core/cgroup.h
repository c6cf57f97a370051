/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: a guest's cgroups on cgroup2, hybrid and legacy hosts. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"
#include "core/config.h"

#define CG_MAX_HIER 16

/* One mounted hierarchy of the host. */
struct cg_hier {
        char *mount;       /* "/sys/fs/cgroup/memory" */
        char *controllers; /* "memory", "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
        bool v2;
};

struct cg_host {
        struct cg_hier h[CG_MAX_HIER];
        size_t n;
        int v2; /* index of the cgroup2 hierarchy, -1 when none */
};

/* Parse /proc/self/mountinfo text. Hierarchies mounted twice count once. */
int cg_host_parse(const char *mountinfo, struct cg_host *ret, struct lodge_error **err);
/* The host's hierarchies, from /proc/self/mountinfo. -ENOENT when none. */
int cg_host_detect(struct cg_host *ret, struct lodge_error **err);
/* The hierarchies as mountinfo lines that cg_host_parse() reads back: saved
 * by the monitor in the run directory, so that attach needn't have the
 * kernel print every mount of the host to find them. */
int cg_host_format(const struct cg_host *h, char **ret);
/* cg_host_parse() of such a file; -ENOENT when it is missing or lists none. */
int cg_host_load_at(int dirfd, const char *name, struct cg_host *ret, struct lodge_error **err);
void cg_host_done(struct cg_host *h);

/* Index of the hierarchy that has controller c ("memory"), or -1. On a
 * cgroup2-only host it is the cgroup2 hierarchy when c is enabled there. */
int cg_host_find(const struct cg_host *h, const char *controller);

/* A guest's cgroup: "<base>" holds the limits, "<base>/guest" holds the
 * guest and is the root of its cgroup namespace, so guest root can't raise
 * its own limits (it only sees and writes below them). */
struct cg_guest {
        const struct cg_host *host; /* borrowed */
        char *base;                 /* relative to each hierarchy: "lodge/web" */
};

/* "lodge/NAME" for the default root; roots elsewhere get their own prefix
 * ("lodge-TAG/NAME", TAG from struct lodge_paths) so two installations never
 * share cgroups. */
int cg_guest_init(struct cg_guest *g, const struct cg_host *host, const char *tag, const char *name,
                  struct lodge_error **err);
void cg_guest_done(struct cg_guest *g);

/* Create base and base/guest in every hierarchy (cpuset copies its parent's
 * cpus/mems; on cgroup2 controllers are enabled down the path). A leftover
 * of a crashed run is removed first when empty; -EBUSY when processes are in it.
 * base gets the default device allow-list (dev.h) before anything can run in
 * it: v1 devices.deny/allow, or on cgroup2 a device program; -EOPNOTSUPP when
 * the host can do neither. */
int cg_guest_create(const struct cg_guest *g, struct lodge_error **err);

/* cg_guest_create() in two halves, for a start that clones the guest's first
 * process between them: _v2 removes a leftover (or fails as above) and makes
 * the cgroup2 cgroups (the ones clone3 places the process in), with the
 * device program when there is no v1 devices controller; _v1 makes the v1
 * hierarchies' cgroups. The process may join the v1 cgroups only after _v1. */
int cg_guest_create_v2(const struct cg_guest *g, struct lodge_error **err);
int cg_guest_create_v1(const struct cg_guest *g, struct lodge_error **err);

/* An O_PATH fd of base/guest in the cgroup2 hierarchy, for clone3's
 * CLONE_INTO_CGROUP; -ENOENT when the host has no cgroup2 hierarchy. */
/* Give the guest's own cgroup ("<base>/guest": the root of its cgroup
 * namespace) in every hierarchy to uid:gid, with the files that let it make
 * and manage its own subtree: for a guest whose root is uid in its user
 * namespace, e.g. systemd. */
int cg_guest_delegate(const struct cg_guest *g, uid_t uid, gid_t gid, struct lodge_error **err);

int cg_guest_v2_fd(const struct cg_guest *g);

/* Move the calling single-threaded process into base/guest in the
 * hierarchies which says (CG_JOIN_V1, CG_JOIN_V2: the latter is not needed
 * when clone3 already placed it there). On v1 it writes "0" to "tasks":
 * moving only the current thread skips the global threadgroup lock, whose RCU
 * grace period otherwise costs ~10 ms on an idle host. */
#define CG_JOIN_V1 1U
#define CG_JOIN_V2 2U
int cg_guest_join_self(const struct cg_guest *g, unsigned which, struct lodge_error **err);

/* The same for a process that can't reach the host's hierarchies any more
 * (its root pivoted): base/guest's "tasks" in v1 hierarchy i, opened for it
 * by the host (-EINVAL when i isn't a v1 hierarchy), and the join through
 * such an fd: "0" written to it, the caller's own thread moved. */
int cg_guest_open_tasks(const struct cg_guest *g, size_t i, struct lodge_error **err);
int cg_join_by_fd(int tasks_fd, struct lodge_error **err);

/* Write the limits of the config onto base. Knobs the host doesn't have are
 * reported in *ret_warnings (may be NULL) rather than failing, except the
 * memory and pids limits, which must hold. The host devices of device.N are
 * allowed on top of the default list; -EINVAL or -ENOENT (with the key in the
 * message) when one isn't a device node. */
int cg_guest_apply_limits(const struct cg_guest *g, const struct lodge_config_limits *l,
                          char ***ret_warnings, struct lodge_error **err);
/* The same on cgroups cg_guest_create() has just made: the limits left unset
 * keep the kernel's defaults, which the writes above would only repeat. */
int cg_guest_apply_new_limits(const struct cg_guest *g, const struct lodge_config_limits *l,
                              char ***ret_warnings, struct lodge_error **err);

int cg_guest_freeze(const struct cg_guest *g, bool frozen, struct lodge_error **err);

/* Is the guest frozen (or freezing) right now? */
bool cg_guest_frozen(const struct cg_guest *g);

struct cg_stats {
        uint64_t memory; /* bytes in use */
        uint64_t cpu_ns; /* CPU time used */
        uint64_t pids;   /* tasks */
        uint64_t oom_kills;
};
int cg_guest_stats(const struct cg_guest *g, struct cg_stats *ret, struct lodge_error **err);

/* SIGKILL every process in the guest's cgroups. */
int cg_guest_kill(const struct cg_guest *g, struct lodge_error **err);

/* Is any process left in the guest's cgroups? */
bool cg_guest_populated(const struct cg_guest *g);

/* Remove base and everything below it (sub-cgroups the guest made included)
 * in every hierarchy, waiting briefly for exiting processes. */
int cg_guest_destroy(const struct cg_guest *g, struct lodge_error **err);

/* Remove the parent the root's guests share ("lodge-TAG"), in each hierarchy
 * where it is empty. cg_guest_destroy() leaves it in the cpuset hierarchy
 * (see keeps_parent()); destroy calls this once a root has no guest left. */
void cg_guest_remove_parent(const struct cg_guest *g);
