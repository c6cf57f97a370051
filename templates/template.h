/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The front door of templates/: how a rootfs comes to be. A template only
 * fills the directory it is handed; core/ orchestrates storage, template and
 * config. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"

typedef void (*lodge_template_progress_cb)(const char *what, uint64_t done, uint64_t total,
                                           void *userdata);

struct lodge_template_ctx {
        const char *name;                    /* the container's name */
        int rootfs_fd;                       /* O_DIRECTORY of the empty rootfs to fill */
        const char *rootfs_path;             /* the same directory, by path */
        const char *cache_dir;               /* $LODGE_CACHE: what a template builds or downloads */
        const char *conf_path;               /* $LODGE_CONF (image.server, image.keyring) */
        lodge_template_progress_cb progress; /* may be NULL */
        void *userdata;
        /* The rootfs already holds the template's layer (see layer_key): populate only
         * adds what is this guest's own. */
        bool layered;
};

/* What a template learned about the guest besides its files. */
struct lodge_template_result {
        char **config;   /* "key=value" lodge keys, e.g. from an image's meta */
        char **warnings; /* for the user: things ignored or changed */
        char *message;   /* a create message to print, or NULL */
};
void lodge_template_result_done(struct lodge_template_result *r);

struct lodge_template_ops {
        const char *name;
        const char *summary; /* one line */
        const char *usage;   /* its own arguments, for "create -t NAME --help" */
        /* Parse argv (argv[0] is the template name) into a private state,
         * before anything is written. -EINVAL with the reason for bad usage. */
        int (*parse)(int argc, char **argv, void **ret_state, struct lodge_error **err);
        int (*populate)(const struct lodge_template_ctx *ctx, void *state,
                        struct lodge_template_result *res, struct lodge_error **err);
        void (*free_state)(void *state);
        /* Optional: the name of the shared, read-only base tree ("layer") these
         * arguments make, once its source is at hand (downloaded, debootstrapped):
         * the same name always means the same files ([A-Za-z0-9._-], up to 128).
         * populate_layer fills ctx->rootfs_fd with it; many guests then share it,
         * and populate runs with ctx->layered on each guest's view of it. */
        int (*layer_key)(const struct lodge_template_ctx *ctx, void *state, char **ret_key,
                         struct lodge_error **err);
        int (*populate_layer)(const struct lodge_template_ctx *ctx, void *state,
                              struct lodge_error **err);
};

/* NULL when unknown. */
const struct lodge_template_ops *lodge_template_find(const char *name);

/* The NULL-terminated list of all templates. */
const struct lodge_template_ops *const *lodge_template_all(void);

/* Who the guest is, for the fix-ups (from the container's config). */
struct lodge_guest_setup {
        const char *hostname;
        const char *ifname;       /* net.0's name in the guest; NULL: no network */
        bool ipv4_dhcp;           /* net.0.ipv4 = dhcp */
        const char *ipv4;         /* "ADDR/PREFIX" when static, else NULL */
        const char *ipv4_gateway; /* may be NULL */
        bool ipv6_auto;           /* net.0.ipv6 = auto (SLAAC) */
        const char *ipv6;         /* "ADDR/PREFIX" when static, else NULL */
};

/* What every guest gets after its template, written into the rootfs rootfd
 * (resolved inside it, never through a guest's symlink): /etc/hostname, the
 * 127.0.1.1 line of /etc/hosts, a fresh /etc/machine-id, the network config
 * of net.0 (ifupdown, or systemd-networkd when that is what the guest has),
 * /etc/resolv.conf, and per init: systemd units that can't work in a
 * container masked, sysvinit's getty on the console only and SIGPWR a
 * shutdown now, and openrc's rc_sys when the image sets none. Nothing is
 * synced to disk: the caller syncs the tree before the guest becomes visible,
 * as it does for provisioning. */
int lodge_template_fixup(int rootfd, const struct lodge_guest_setup *s, struct lodge_error **err);

/* One base tree in the cache of templates that build them (debian). */
struct lodge_template_cache_entry {
        char *template;  /* "debian" */
        char *key;       /* the entry's directory: "bookworm-amd64-systemd-<hash>" */
        char *recipe;    /* "word value" lines: release, arch, variant, init, packages... */
        uint64_t size;   /* bytes of the cached tarball */
        int64_t created; /* unix time */
};

/* The entries under cache_dir ($LODGE_CACHE), for "lodge image list", by
 * template and key: *ret (free with lodge_template_cache_entries_free) and
 * *ret_n; none when there is no cache yet. */
int lodge_template_cache_list(const char *cache_dir, struct lodge_template_cache_entry **ret,
                              size_t *ret_n, struct lodge_error **err);
void lodge_template_cache_entries_free(struct lodge_template_cache_entry *e, size_t n);

/* First-boot provisioning (lodge create --user, --ssh-key...). Strings are
 * contents, not paths, except files: host path and guest path pairs. */
struct lodge_guest_provision {
        const char *user;          /* made when missing (uid/gid from 1000, home 0700) */
        const char *password_hash; /* crypt(3) hash for user, else for root */
        const char *ssh_key;       /* authorized_keys line(s) for user, else root */
        const char *timezone;      /* "Europe/Paris" */
        const char *run_once;      /* a script run once in the guest on its first boot */
        char **files;              /* "SRC", "DEST", ... NULL-terminated */
        /* cloud-init NoCloud seed (contents); meta-data defaults to the instance
         * id and hostname of the guest when user-data is given alone */
        const char *cloud_user_data;
        const char *cloud_meta_data;
        const char *cloud_network_config;
        const char *hostname; /* for the default meta-data */
};

/* Check the values (names, hash form, time zone name, absolute DESTs):
 * -EINVAL with the reason. */
int lodge_template_provision_check(const struct lodge_guest_provision *p, struct lodge_error **err);

/* Write it into the rootfs rootfd. A --file DEST that is a symlink in the
 * guest is refused (-ELOOP); every path is resolved inside the rootfs. A
 * cloud-init seed for a guest without cloud-init is -EOPNOTSUPP. */
int lodge_template_provision(int rootfd, const struct lodge_guest_provision *p,
                             struct lodge_error **err);

/* The --run-once script's state in a rootfs: "pending", "running" (started,
 * no status yet: it won't run again) or "exited N"; -ENOENT when there is
 * none. */
int lodge_template_run_once_status(int rootfd, char **ret, struct lodge_error **err);
/* ---- images: the cache of downloaded and imported images (cache.c) ---- */

enum lodge_image_meta { LODGE_IMAGE_META_NONE, LODGE_IMAGE_META_LXC, LODGE_IMAGE_META_INCUS };

struct lodge_image {
        char *fingerprint;                             /* sha256(meta || rootfs), 64 hex digits */
        char *source;                                  /* the server's URL, or "import" */
        char *protocol;                                /* "lxc", "simplestreams", "import" */
        char *dist, *release, *arch, *variant, *build; /* may be NULL (imports) */
        char *verified;                                /* "gpg", "sha256", "none" */
        char **aliases;
        enum lodge_image_meta meta;
        uint64_t size;                      /* rootfs + meta bytes */
        int64_t created, expiry, last_used; /* unix time; expiry 0: never */
};
void lodge_image_done(struct lodge_image *c);
void lodge_image_list_free(struct lodge_image *v, size_t n);

/* The images in cache_dir, in no particular order. */
int lodge_template_image_list(const char *cache_dir, struct lodge_image **ret, size_t *ret_n,
                              struct lodge_error **err);

/* The newest image of each product a server offers (argv: --server URL,
 * --protocol, --keyring, --no-verify, --ca; argv[0] is ignored); only
 * dist/release/arch/variant/build/source/protocol are set. */
int lodge_template_image_remote(const char *conf_path, int argc, char **argv,
                                struct lodge_image **ret, size_t *ret_n, struct lodge_error **err);

/* Download an image into the cache as "create -t download" would (argv as
 * its template arguments, argv[0] ignored), or find it fresh there. */
int lodge_template_image_pull(const char *cache_dir, const char *conf_path, int argc, char **argv,
                              lodge_template_progress_cb progress, void *userdata,
                              struct lodge_image *ret, char ***ret_warnings,
                              struct lodge_error **err);

/* Copy a rootfs tarball (and an LXC meta tarball, may be NULL) into the
 * cache under the given aliases (NULL-terminated, may be NULL). An alias
 * already naming another image is -EEXIST. */
int lodge_template_image_import(const char *cache_dir, const char *rootfs, const char *meta,
                                char *const *aliases, struct lodge_image *ret,
                                struct lodge_error **err);

/* The cached image an alias or fingerprint prefix names: -ENOENT, -EINVAL
 * when ambiguous. */
int lodge_template_image_resolve(const char *cache_dir, const char *ref, struct lodge_image *ret,
                                 struct lodge_error **err);

/* Remove an image by alias or fingerprint prefix: -ENOENT, -EINVAL when
 * ambiguous. */
int lodge_template_image_remove(const char *cache_dir, const char *ref, struct lodge_error **err);

/* Remove expired images, and those of which a newer build from the same
 * server is cached (all of them with all), and what interrupted downloads
 * left; returns how many images went. */
int lodge_template_image_prune(const char *cache_dir, bool all, struct lodge_error **err);
