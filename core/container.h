/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The front door of core/: everything cmd/ may call. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/config.h"
#include "templates/template.h" /* struct lodge_image */

/* Where lodge keeps things; see DESIGN.md "Paths and state". */
struct lodge_paths {
        char *root;   /* $LODGE_ROOT or --root, default /var/lib/lodge */
        char *cache;  /* $LODGE_CACHE, default /var/cache/lodge */
        char *rundir; /* $LODGE_RUNDIR, default /run/lodge */
        char *conf;   /* $LODGE_CONF, default /etc/lodge/lodge.conf */
        /* "" for the default root, else a hash of root: it keeps the host-wide
         * names of two roots' guests (cgroups, AppArmor profiles) apart. */
        char tag[9];
};

enum lodge_state {
        LODGE_STATE_STOPPED,
        LODGE_STATE_STARTING,
        LODGE_STATE_RUNNING,
        LODGE_STATE_STOPPING,
        LODGE_STATE_FROZEN,
        LODGE_STATE_BROKEN, /* the config can't be read */
};
const char *lodge_state_to_string(enum lodge_state s);

/* Fill from root_override (may be NULL), the environment, then defaults.
 * Relative paths are made absolute. */
int lodge_paths_init(struct lodge_paths *p, const char *root_override, struct lodge_error **err);
void lodge_paths_done(struct lodge_paths *p);

/* Container names: 1-63 characters of [A-Za-z0-9._-], starting with a letter
 * or digit. -EINVAL with the reason otherwise. */
int lodge_name_check(const char *name, struct lodge_error **err);

/* Progress of long work: done and total units (total 0: unknown). */
typedef void (*lodge_progress_cb)(const char *what, uint64_t done, uint64_t total, void *userdata);

/* Something the user should know that doesn't stop the operation (one line). */
typedef void (*lodge_warning_cb)(const char *msg, void *userdata);

struct lodge_create_options {
        const char *template_name; /* default "local" */
        int template_argc;         /* arguments after "--"; argv[0] is the template name */
        char **template_argv;
        char **config;       /* "KEY=VALUE" from -c, applied last */
        const char *storage; /* dir|overlay|btrfs; NULL: dir */
        lodge_progress_cb progress;
        void *userdata;
        /* First-boot provisioning; host paths are read at create. */
        const char *user;          /* a user to add (or use) */
        const char *password_hash; /* crypt(3) hash for user, else root */
        const char *ssh_key_file;  /* authorized key for user, else root */
        const char *timezone;
        const char *run_once_file;  /* a script the guest runs once, on its first boot */
        char **files;               /* "SRC:DEST": host file into the guest */
        const char *provision_file; /* the same as "key = value" lines; options win */
};

/* Check everything about a create that can be checked without writing:
 * name, template and its arguments, -c assignments, storage. Failures are
 * usage errors (-EINVAL, -ENOENT for an unknown template). */
int lodge_create_check(const char *name, const struct lodge_create_options *opts,
                       struct lodge_error **err);

/* Create a container. It appears only when complete: built in a hidden
 * directory, renamed into place at the end, removed on any failure or
 * interrupt (-EINTR). -EEXIST when the name is taken, -EBUSY when another
 * command holds its lock. *ret_message gets the image's create message or
 * NULL, *ret_warnings what the user should know (keys of the image that were
 * ignored); both may be NULL, both are owned by the caller. */
int lodge_container_create(const struct lodge_paths *p, const char *name,
                           const struct lodge_create_options *opts, char **ret_message,
                           char ***ret_warnings, struct lodge_error **err);

/* Copy the stopped guest src as a new guest dst (its own name, MACs, id range
 * and machine-id; a static address becomes dhcp/auto, said in *ret_warnings).
 * snapshot: only where the data can be shared (btrfs, overlay, reflinks),
 * else -EOPNOTSUPP. */
int lodge_container_copy(const struct lodge_paths *p, const char *src, const char *dst,
                         bool snapshot, char ***ret_warnings, struct lodge_error **err);

/* Letters, digits, '.', '_', '-' (not first), up to 64: -EINVAL with the reason. */
int lodge_snapshot_name_check(const char *snap, struct lodge_error **err);

struct lodge_snapshot {
        char *name;
        int64_t created; /* unix time */
        uint64_t size;   /* bytes of its own data */
};

/* Snapshot the guest's rootfs and config as snap (NULL: the first free
 * "snapN", returned in *ret_name, may be NULL). A running guest is refused
 * (-EBUSY) unless freeze: then it is frozen meanwhile. */
int lodge_container_snapshot(const struct lodge_paths *p, const char *name, const char *snap,
                             bool freeze, char **ret_name, struct lodge_error **err);
/* The guest's snapshots, oldest first. */
int lodge_container_snapshot_list(const struct lodge_paths *p, const char *name,
                                  struct lodge_snapshot **ret, size_t *ret_n,
                                  struct lodge_error **err);
void lodge_snapshot_list_free(struct lodge_snapshot *v, size_t n);
/* Put the snapshot's rootfs and config back; -EBUSY unless stopped. */
int lodge_container_restore(const struct lodge_paths *p, const char *name, const char *snap,
                            struct lodge_error **err);
int lodge_container_snapshot_delete(const struct lodge_paths *p, const char *name, const char *snap,
                                    struct lodge_error **err);

/* Remove a container and everything of it. -EBUSY when it is running and
 * force is false, -ENOENT when there's no such container. */
int lodge_container_destroy(const struct lodge_paths *p, const char *name, bool force,
                            struct lodge_error **err);

struct lodge_start_options {
        bool foreground; /* reserved: the console on the terminal until the guest stops */
        lodge_warning_cb
                warn; /* told, e.g., that a privileged guest runs unconfined; may be NULL */
        void *userdata;
};

/* Not for humans: lodge-monitor runs "lodge --root ROOT __monitor ARGS..."
 * once a guest's init has ended (core/monitor-serve.h); this takes it from
 * there and never returns, except on bad arguments. */
int lodge_monitor_resume(const struct lodge_paths *p, int argc, char **argv,
                         struct lodge_error **err);

/* Boot the container's init in new namespaces under a per-guest monitor.
 * Returns once init runs (-EBUSY when the container is already running), or
 * with the exact step that failed in the guest; a failed start leaves
 * nothing behind. -EOPNOTSUPP when security.apparmor.required is set and the
 * guest can't be confined by AppArmor here. */
int lodge_container_start(const struct lodge_paths *p, const char *name,
                          const struct lodge_start_options *opts, struct lodge_error **err);

struct lodge_stop_options {
        unsigned timeout; /* seconds to wait for a clean shutdown; 0: the default, 30 */
        bool kill;        /* SIGKILL at once */
};

/* Ask init to shut down with its own signal, SIGKILL it after the timeout,
 * and wait until the monitor has cleaned up. -ESRCH when not running. On
 * success *ret_ended (may be NULL) says how: "clean", "killed", … */
int lodge_container_stop(const struct lodge_paths *p, const char *name,
                         const struct lodge_stop_options *opts, char ret_ended[static 16],
                         struct lodge_error **err);

struct lodge_attach_options {
        const char *user; /* name or uid inside the guest; NULL: root */
        const char *cwd;  /* NULL: the user's home, else / */
        char **env;       /* "K=V" added to (or, with keep_env, over) the clean environment */
        bool keep_env;    /* start from the caller's environment instead */
        char **argv;      /* NULL: the user's login shell */
        /* lodge's own argv: where the guest's root could open /proc/PID/exe
         * of the command's process before it execs, lodge first runs itself
         * again from an unwritable copy (exe_reexec_unwritable()). */
        char *const *self_argv;
};

/* Run a command inside a running guest: in all its namespaces and cgroups,
 * with its capability bounding set and no_new_privs, a pty when stdin is a
 * terminal, plain stdio otherwise. *ret_status is the command's exit status
 * (128+N when killed by signal N; 127/126 when it can't be found/run). */
int lodge_container_attach(const struct lodge_paths *p, const char *name,
                           const struct lodge_attach_options *opts, int *ret_status,
                           struct lodge_error **err);

/* Freeze (all its processes stopped in place) or thaw a running guest. */
int lodge_container_freeze(const struct lodge_paths *p, const char *name, bool frozen,
                           struct lodge_error **err);

/* Wait until the container is in state (RUNNING, STOPPED, FROZEN), up to
 * timeout_ms (< 0: forever). -ETIMEDOUT otherwise. */
int lodge_container_wait(const struct lodge_paths *p, const char *name, enum lodge_state state,
                         int timeout_ms, struct lodge_error **err);

/* "RUNNING" (any case) to its enum; -EINVAL otherwise. */
int lodge_state_from_string(const char *s, enum lodge_state *ret);

/* Start every container with autostart set, lowest autostart.order first,
 * waiting autostart.delay seconds after each. Failures are collected in
 * *ret_failed ("NAME: why") and don't stop the others. */
int lodge_autostart(const struct lodge_paths *p, char ***ret_failed, struct lodge_error **err);

/* Connect the terminal to the guest's console (tty 0) or its /dev/ttyN
 * (tty 1..LODGE_TTYS) through its monitor (several viewers may share one;
 * Ctrl-a q detaches), or with log_only print the last 128 KiB of console
 * output, also of a guest that has stopped. */
#define LODGE_TTYS 4
int lodge_container_console(const struct lodge_paths *p, const char *name, int tty, bool log_only,
                            struct lodge_error **err);

/* One network interface of a running guest. */
struct lodge_iface_info {
        unsigned index;     /* N of net.N */
        char name[16];      /* inside the guest */
        char type[8];       /* "veth", "macvlan" */
        char link[16];      /* bridge or parent interface */
        char host_name[16]; /* the veth's host end; "" for macvlan */
        char hwaddr[18];
        unsigned mtu;
        char **ipv4, **ipv6; /* "ADDR/PREFIX", as configured in the guest now */
        uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets; /* as the guest counts them */
};

struct lodge_container_info {
        char *name;
        enum lodge_state state;
        char *path;    /* the container's directory */
        char *backend; /* "dir", … */
        char *arch;
        bool autostart;
        bool privileged;                  /* no user namespace: its root is the host's root */
        uint32_t idmap_base, idmap_count; /* its host ids, when not privileged */
        char **ipv4;      /* configured or live addresses, "ADDR/PREFIX" or "dhcp" */
        int64_t init_pid; /* 0 when not running */
        char *error;      /* why the state is BROKEN, else NULL */
        char *run_once;   /* create --run-once: "pending", "running", "exited N"; else NULL */
        /* live, when running */
        int64_t started_at; /* unix time */
        uint64_t memory;    /* bytes */
        uint64_t cpu_ns;
        uint64_t processes;
        uint64_t oom_kills;
        /* after a stop: clean, killed, crashed or failed; "" before the first start */
        char ended[16];
        /* the limits in force (from the config; cpuset owned by this struct) */
        struct lodge_config_limits limits;
        /* live, when running: its network interfaces (net.N.*) */
        struct lodge_iface_info *ifaces;
        size_t n_ifaces;
        /* lodge_container_info only: bytes on disk of its own data (an overlay's upper, a
         * btrfs subvolume's exclusive bytes where quotas are on), of its snapshots, and of
         * the layer it shares with other guests (layer NULL: none) */
        bool have_disk;
        uint64_t disk_own, disk_snapshots, disk_layer;
        char *layer;
};
void lodge_container_info_done(struct lodge_container_info *i);

int lodge_container_info(const struct lodge_paths *p, const char *name,
                         struct lodge_container_info *ret, struct lodge_error **err);

/* All containers sorted by name (hidden, half-made ones are never listed). */
int lodge_container_list(const struct lodge_paths *p, struct lodge_container_info **ret,
                         size_t *ret_n, struct lodge_error **err);
void lodge_container_list_free(struct lodge_container_info *l, size_t n);

/* The container's config, for show/get. Owned by the caller. */
int lodge_container_config_load(const struct lodge_paths *p, const char *name,
                                struct lodge_config **ret, struct lodge_error **err);

/* Set or (value NULL) unset one key under the container's lock, validated,
 * written atomically. */
int lodge_container_config_update(const struct lodge_paths *p, const char *name, const char *key,
                                  const char *value, struct lodge_error **err);

/* Templates, for "create --list-templates" and help: fills up to max
 * descriptions (static strings) and returns how many. */
struct lodge_template_desc {
        const char *name;
        const char *summary;
        const char *usage;
};
size_t lodge_templates_describe(struct lodge_template_desc *ret, size_t max);

/* Images in the cache ($LODGE_CACHE/images) and on image servers; see
 * templates/template.h for each. args are the download template's arguments
 * (argv[0] ignored). */
int lodge_image_list(const struct lodge_paths *p, struct lodge_image **ret, size_t *ret_n,
                     struct lodge_error **err);
/* The trees templates built and keep per recipe (lodge create -t debian). */
int lodge_image_template_cache_list(const struct lodge_paths *p,
                                    struct lodge_template_cache_entry **ret, size_t *ret_n,
                                    struct lodge_error **err);
int lodge_image_list_remote(const struct lodge_paths *p, int argc, char **argv,
                            struct lodge_image **ret, size_t *ret_n, struct lodge_error **err);
int lodge_image_pull(const struct lodge_paths *p, int argc, char **argv, lodge_progress_cb progress,
                     void *userdata, struct lodge_image *ret, char ***ret_warnings,
                     struct lodge_error **err);
int lodge_image_import(const struct lodge_paths *p, const char *rootfs, const char *meta,
                       char *const *aliases, struct lodge_image *ret, struct lodge_error **err);
int lodge_image_remove(const struct lodge_paths *p, const char *ref, struct lodge_error **err);
/* Returns how many images were removed; *ret_layers how many layers no guest
 * used (made again from the cache when needed). */
int lodge_image_prune(const struct lodge_paths *p, bool all, unsigned *ret_layers,
                      struct lodge_error **err);

/* What `lodge check` reports: each confinement layer and piece of kernel
 * support lodge uses, and whether this host (and this build) provides it. */
enum lodge_check_state {
        LODGE_CHECK_OK,
        LODGE_CHECK_WARN,    /* works, with less protection or speed than lodge aims for */
        LODGE_CHECK_MISSING, /* guests can't start here */
};

struct lodge_check_item {
        const char *layer;
        enum lodge_check_state state;
        char *detail;
};

const char *lodge_check_state_to_string(enum lodge_check_state s);
int lodge_check(const struct lodge_paths *p, struct lodge_check_item **ret, size_t *ret_n,
                struct lodge_error **err);
void lodge_check_free(struct lodge_check_item *l, size_t n);

/* ---- managed networks (lodge network …) ---- */

struct lodge_network_options {
        const char *ipv4; /* "ADDR/PREFIX" (the gateway's), "auto" (NULL: a free private /24) or
                             "none" */
        const char *ipv6; /* "ADDR/PREFIX" or "none" (NULL) */
        int nat;          /* 1 on, 0 off, < 0 default (off) */
        int dhcp;         /* 1 on, 0 off, < 0 default (on with IPv4) */
};

/* Define network name (a bridge of that name, lodge's) and bring it up:
 * bridge, gateway addresses, dnsmasq (DHCP, DNS for NAME.lodge), NAT in
 * nftables table "inet lodge". -EEXIST when defined, or when an interface of
 * that name exists; -EINVAL for bad options. Nothing is left on failure. */
int lodge_network_create(const struct lodge_paths *p, const char *name,
                         const struct lodge_network_options *opts, struct lodge_error **err);

/* Take a network down and remove its definition: -EBUSY while guests are on
 * its bridge, -ENOENT when there is no such network. */
int lodge_network_delete(const struct lodge_paths *p, const char *name, struct lodge_error **err);

struct lodge_network_info {
        char name[16];
        char ipv4[64], ipv6[64]; /* "ADDR/PREFIX" or "none" */
        bool nat, dhcp;
        bool up;         /* its bridge exists */
        unsigned guests; /* interfaces on its bridge */
        int dnsmasq_pid; /* 0: not running */
};

/* Every network, by name; *ret owned by the caller (free()). */
int lodge_network_list(const struct lodge_paths *p, struct lodge_network_info **ret, size_t *ret_n,
                       struct lodge_error **err);

/* One network; -ENOENT when there is none of that name. */
int lodge_network_show(const struct lodge_paths *p, const char *name,
                       struct lodge_network_info *ret, struct lodge_error **err);
