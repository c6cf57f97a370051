/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/base/parse.h"

/* A container's config file: "key = value" lines, "#" comments, one container
 * per file, every key of DESIGN.md known and type-checked. The parsed object
 * keeps the file's lines (comments and order survive set/unset) and a typed
 * view of them in the plain structs below. */

#define LODGE_CONFIG_MAX_NET 16
#define LODGE_CONFIG_MAX_MOUNT 64
#define LODGE_CONFIG_MAX_DEVICE 64
#define LODGE_CONFIG_MAX_SIZE (1024 * 1024) /* bytes a config file may have */

enum lodge_backend {
        LODGE_BACKEND_DIR,
        LODGE_BACKEND_OVERLAY,
        LODGE_BACKEND_BTRFS,
};

enum lodge_net_type {
        LODGE_NET_UNSET, /* no net.N.* key for this index */
        LODGE_NET_VETH,
        LODGE_NET_MACVLAN,
        LODGE_NET_NONE,
};

enum lodge_addr_mode {
        LODGE_ADDR_UNSET,
        LODGE_ADDR_STATIC, /* ADDR/PREFIX */
        LODGE_ADDR_DHCP,   /* ipv4 only */
        LODGE_ADDR_AUTO,   /* ipv6 only: SLAAC */
};

struct lodge_config_net {
        enum lodge_net_type type;
        char *link; /* host bridge or parent interface */
        char *name; /* inside the guest, default eth0 */
        bool has_hwaddr;
        uint8_t hwaddr[6];
        uint32_t mtu; /* 0: from the link */
        enum lodge_addr_mode ipv4_mode;
        struct ip_prefix ipv4;
        bool has_ipv4_gateway;
        struct ip_prefix ipv4_gateway;
        enum lodge_addr_mode ipv6_mode;
        struct ip_prefix ipv6;
        uint64_t limit_ingress; /* bits/s, 0: none */
        uint64_t limit_egress;
};

struct lodge_config_limits {
        uint64_t memory;      /* bytes, 0: unlimited */
        bool has_memory_swap; /* swap may legitimately be 0 */
        uint64_t memory_swap;
        uint32_t cpu_millis; /* thousandths of a core, 0: unlimited */
        uint32_t cpu_weight; /* 1..10000, 0: default */
        char *cpuset;
        uint64_t pids;      /* 0: default */
        uint32_t io_weight; /* 1..10000, 0: default */
        uint64_t disk;      /* bytes, 0: none */
        /* device.N = "PATH [TARGET]": host devices passed in on purpose. They are
         * here because they widen the device cgroup, a limit like the others. */
        char *devices[LODGE_CONFIG_MAX_DEVICE];
};

enum lodge_apparmor_mode {
        LODGE_APPARMOR_GENERATED,
        LODGE_APPARMOR_UNCONFINED,
        LODGE_APPARMOR_PROFILE, /* apparmor_profile names it */
};

enum lodge_seccomp_mode {
        LODGE_SECCOMP_DEFAULT,
        LODGE_SECCOMP_NONE,
        LODGE_SECCOMP_FILE, /* seccomp_path names it */
};

struct lodge_config_security {
        bool privileged;
        bool has_idmap;
        uint32_t idmap_base; /* "security.idmap = BASE:COUNT": guest 0 is host BASE */
        uint32_t idmap_count;
        bool idmap_isolated; /* default true */
        bool idmap_shifted;  /* the rootfs is owned by the range on disk, not idmapped */
        enum lodge_apparmor_mode apparmor;
        char *apparmor_profile;
        bool apparmor_required;
        enum lodge_seccomp_mode seccomp;
        char *seccomp_path;
        char **caps_drop; /* lowercase names without "cap_", e.g. "sys_admin" */
        char **caps_keep;
        bool nesting;
};

struct lodge_config {
        char *name;
        char *arch;
        bool autostart;
        int32_t autostart_order;
        uint32_t autostart_delay; /* seconds */

        char *rootfs_path;
        enum lodge_backend backend;
        char *rootfs_layer; /* the shared layer under $LODGE_ROOT/layers, or NULL */

        char *init_cmd;       /* NULL: /sbin/init */
        int init_stop_signal; /* 0: auto from the init */

        struct lodge_config_net net[LODGE_CONFIG_MAX_NET];
        struct lodge_config_limits limits;
        struct lodge_config_security security;

        char *mounts[LODGE_CONFIG_MAX_MOUNT]; /* "SOURCE TARGET [OPTIONS]" */

        char *cloud_init_user_data;
        char *cloud_init_meta_data;
        char *cloud_init_network_config;

        char *hook_pre_start;
        char *hook_start_host;
        char *hook_post_stop;

        char **environment; /* "KEY=VALUE" */

        struct lodge_config_doc *doc; /* the lines, private to config.c */
};

/* Parse text (len bytes, need not be NUL-terminated). filename is only used
 * in messages: "FILE:LINE: key 'K': why". On failure returns -EINVAL (or
 * -ENOMEM) and, when reterr_line is not NULL, sets it to the 1-based line.
 * Unknown keys, duplicate keys, bad values and control characters in values
 * are errors. The result is owned by the caller: lodge_config_free(). */
int lodge_config_parse(const char *text, size_t len, const char *filename,
                       struct lodge_config **ret, unsigned *reterr_line, struct lodge_error **err);

/* An empty config (no keys). */
int lodge_config_new(struct lodge_config **ret, struct lodge_error **err);

/* Read dirfd/name (a regular file of at most LODGE_CONFIG_MAX_SIZE bytes,
 * never followed through a symlink) and parse it. */
int lodge_config_load_at(int dirfd, const char *name, const char *display_name,
                         struct lodge_config **ret, struct lodge_error **err);

/* The same without the lines that set key: a config broken by its own line
 * for key (a value no longer accepted, a duplicate) can be loaded to set or
 * unset that key, which repairs it. */
int lodge_config_load_without_at(int dirfd, const char *name, const char *display_name,
                                 const char *key, struct lodge_config **ret,
                                 struct lodge_error **err);

/* Serialize to text (the original lines, with set/unset applied). */
int lodge_config_format(const struct lodge_config *cfg, char **ret, struct lodge_error **err);

/* Format and write atomically (temp + fsync + rename + fsync dir), mode 0600. */
int lodge_config_write_at(const struct lodge_config *cfg, int dirfd, const char *name,
                          struct lodge_error **err);
/* The same without the fsyncs: for a directory still hidden, which its
 * writer syncs as a whole before it is renamed into sight. */
int lodge_config_write_new_at(const struct lodge_config *cfg, int dirfd, const char *name,
                              struct lodge_error **err);

/* Raw text of a key as written, or -ENOENT when unset; -EINVAL for a key
 * that isn't known. *ret points into cfg. */
int lodge_config_get(const struct lodge_config *cfg, const char *key, const char **ret,
                     struct lodge_error **err);

/* Validate and set a key (replacing its line, or appending one); on failure
 * cfg is unchanged. Cross-key rules are checked too. */
int lodge_config_set(struct lodge_config *cfg, const char *key, const char *value,
                     struct lodge_error **err);

/* Remove a key; -ENOENT when it wasn't set, -EINVAL for an unknown key. */
int lodge_config_unset(struct lodge_config *cfg, const char *key, struct lodge_error **err);

/* "KEY=VALUE" (as given to -c) split and set. */
int lodge_config_set_assignment(struct lodge_config *cfg, const char *assignment,
                                struct lodge_error **err);

/* Apply several "KEY=VALUE" assignments (NULL-terminated) in order, a later
 * one overriding an earlier one of the same key, and check the rules between
 * keys once, on the result: so "net.0.ipv4" may come before "net.0.type".
 * On failure cfg is unchanged. */
int lodge_config_set_all(struct lodge_config *cfg, char *const *assignments,
                         struct lodge_error **err);

/* Is this a known key ("net.3.type", "environment.FOO" included)? */
bool lodge_config_key_known(const char *key);

/* Call cb for each key that is set, in file order, with its raw value. */
typedef int (*lodge_config_each_cb)(const char *key, const char *value, void *userdata);
int lodge_config_foreach(const struct lodge_config *cfg, lodge_config_each_cb cb, void *userdata);

void lodge_config_free(struct lodge_config *cfg);

/* Exposed for the unit test that checks the key table stays sorted. */
bool lodge_config_keys_sorted(void);

DEFINE_CLEANUP_FUNC(struct lodge_config *, lodge_config_free)
