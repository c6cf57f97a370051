/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"
#include "templates/template.h"

extern const struct lodge_template_ops template_local_ops;
extern const struct lodge_template_ops template_busybox_ops;
extern const struct lodge_template_ops template_debian_ops;

/* ---- recipe-cache.c: base trees built once per recipe ---- */

struct recipe {
        const char *cache_dir; /* $LODGE_CACHE */
        const char *template;  /* "debian" */
        const char *label;     /* readable start of the key: "bookworm-amd64-systemd" */
        const char *text;      /* the whole recipe, "word value" lines; hashed into the key */
        bool refresh;          /* rebuild even when cached */
        lodge_template_progress_cb progress;
        void *userdata;
};

/* Fill the empty directory tree (a path) with the recipe's base tree. */
typedef int (*recipe_build_cb)(const char *tree, void *userdata, struct lodge_error **err);

/* The cached tarball of the recipe's tree, built with cb when missing (or
 * rc->refresh), under a per-recipe lock so that concurrent builders of one
 * recipe build it once. Returns a read fd of the tarball or -errno. */
int recipe_cache_open(const struct recipe *rc, recipe_build_cb cb, void *userdata,
                      struct lodge_error **err);

/* ---- guest-files.c: files inside a guest's rootfs, resolved inside it ---- */

/* Open (and with create, make, parents too) the directory path inside the
 * rootfs. Returns an O_DIRECTORY fd or -errno. */
int guest_open_dir(int rootfd, const char *path, bool create, mode_t mode);

/* Replace path (absolute, inside the rootfs) with content, atomically; its
 * parents are made when missing. A symlink at path is replaced, never
 * followed. */
int guest_write_file(int rootfd, const char *path, const char *content, mode_t mode,
                     struct lodge_error **err);

/* The same for len bytes of data. */
int guest_write_data(int rootfd, const char *path, const void *data, size_t len, mode_t mode,
                     struct lodge_error **err);

/* Like guest_write_file(), but an existing regular file keeps its mode and
 * owner (/etc/shadow stays root:shadow 0640); mode is for a new file. */
int guest_update_file(int rootfd, const char *path, const char *content, mode_t mode,
                      struct lodge_error **err);

/* Read a regular file of at most max bytes (-ENOENT when missing). */
int guest_read_file(int rootfd, const char *path, size_t max, char **ret, struct lodge_error **err);

/* Make or replace path with a symlink to target. */
int guest_symlink(int rootfd, const char *path, const char *target, struct lodge_error **err);

/* Is the last component of path (its parents resolved inside the rootfs) a symlink? */
bool guest_is_symlink(int rootfd, const char *path);

/* Does path exist inside the rootfs (symlinks followed inside it)? */
bool guest_exists(int rootfd, const char *path);
extern const struct lodge_template_ops template_download_ops;

/* local.c: what every template that starts from tarballs does: read the LXC
 * meta tarball (meta_fd < 0: none), unpack the rootfs with its excludes
 * into ctx's rootfs, render its templates, and pass its config, warnings and
 * create message on in res. With ctx->layered the tree is there already: only
 * the meta's part; without res (filling a layer), only the tree. */
int image_unpack(const struct lodge_template_ctx *ctx, int rootfs_fd, const char *rootfs_name,
                 int meta_fd, const char *meta_name, struct lodge_template_result *res,
                 struct lodge_error **err);

/* ---- extract.c: unpacking untrusted archives safely ---- */

#define EXTRACT_DEFAULT_MAX_BYTES (64ULL << 30) /* sum of declared entry sizes */
#define EXTRACT_DEFAULT_MAX_ENTRIES 2000000ULL
#define EXTRACT_DEFAULT_MAX_DEPTH 256U

struct extract_options {
        uint64_t max_bytes;    /* 0: EXTRACT_DEFAULT_MAX_BYTES; also capped by free space */
        uint64_t max_entries;  /* 0: EXTRACT_DEFAULT_MAX_ENTRIES */
        unsigned max_depth;    /* 0: EXTRACT_DEFAULT_MAX_DEPTH */
        char *const *excludes; /* rootfs-relative paths to skip ("dev/null" or "./dev/null") */
        lodge_template_progress_cb progress; /* may be NULL */
        void *userdata;
};

/* Unpack the tar archive (plain, gz, xz, zst, bz2; the format is sniffed,
 * never taken from the name) read from archive_fd into the directory
 * dest_path, which must be empty. name is used in messages. Refuses the whole
 * archive on the first entry that would escape dest ("..", absolute paths,
 * through symlinks, hard links out), a block device, a character device
 * outside the standard set, or a size/count/depth budget exceeded; never
 * applies immutable/append-only flags; keeps owners, modes, xattrs (minus
 * trusted.* and security.* other than security.capability), ACLs, file
 * capabilities, hard links, timestamps, and sparse files sparse. On failure
 * dest may hold a partial tree: the caller removes it. */
int extract_archive(int archive_fd, const char *name, const char *dest_path,
                    const struct extract_options *opts, struct lodge_error **err);

/* Register on a libarchive reader the decompression filters that libarchive
 * runs in-process (gzip, bzip2, xz, lzma, lzip, zstd, lz4 when built in);
 * never one that would run an external program found in PATH. 0 or -ENOMEM. */
struct archive;
int archive_support_builtin_filters(struct archive *a);

/* ---- extract.c <-> extract-child.c: the sandboxed unpacking process ---- */

/* The child's one report, sent whole over a pipe (<= PIPE_BUF, so atomic). */
struct extract_status {
        int32_t code; /* 0: success, else a positive errno */
        char msg[2044];
};

struct extract_child_args {
        int data_fd;   /* read end of the decompressed tar stream */
        int status_fd; /* write end for the struct extract_status */
        int dest_fd;   /* O_DIRECTORY of the destination */
        pid_t parent;
        uint64_t max_bytes;
        uint64_t max_entries;
        unsigned max_depth;
        bool max_bytes_is_free_space; /* the byte budget is the destination's free space */
        char *const *excludes;
};

/* Runs in the forked child: sandbox itself (mount namespace, chroot into
 * dest_fd, no_new_privs, only the capabilities unpacking needs), unpack the
 * tar stream read from data_fd with lodge's entry filter, write one status
 * and _exit(). Never returns. */
_Noreturn void extract_child_run(const struct extract_child_args *args);

/* ---- meta.c: LXC image metadata (meta.tar.xz) ---- */

struct image_meta {
        char **config;    /* lodge "key=value" mapped from the image's LXC config */
        char **warnings;  /* LXC keys ignored or refused, for the user */
        char **templates; /* rootfs paths whose LXC_NAME etc. get substituted */
        char **excludes;  /* excludes-user: paths not to unpack */
        char *create_message;
        int64_t expiry; /* unix time, 0 when absent */
};
void image_meta_done(struct image_meta *m);

/* Read a meta tarball (config, config-user, templates, create-message,
 * excludes-user, expiry; each file at most 1 MiB, nothing written to disk). */
int meta_read(int archive_fd, const char *name, struct image_meta *ret, struct lodge_error **err);

/* Rewrite each template file inside the rootfs (resolved with open_in_root,
 * regular files only, replaced atomically) with LXC_NAME, LXC_ROOTFS_PATH and
 * LXC_PATH substituted: the container name, "/" and "/" (the guest sees its
 * rootfs as "/" and has no view of the container directory). A template path
 * that is missing is skipped; a symlink is -ELOOP, a FIFO, device or
 * directory -EINVAL. */
int meta_render_templates(int rootfd, const char *container_name, char *const *templates,
                          struct lodge_error **err);

/* ---- index.c: image-server indexes (LXC index-system, simplestreams) ---- */

struct image_file {
        char *path;      /* below the server's root, checked by image_path_ok() */
        char sha256[65]; /* lower-case hex; "" when the index gives none (LXC) */
        uint64_t size;   /* 0 when the index gives none */
};

struct image_entry {
        char *dist, *release, *arch, *variant, *build;
        struct image_file rootfs;
        struct image_file meta; /* path NULL when the image has none */
        bool meta_is_lxc;       /* an LXC meta tarball (else Incus metadata) */
        char *fingerprint;      /* simplestreams' sha256(meta || rootfs), or NULL */
};
void image_entry_done(struct image_entry *e);
void image_entries_free(struct image_entry *e, size_t n);

/* Is path one that stays in the server's tree: relative or with one leading
 * '/', components of [A-Za-z0-9._+:-] only, no "." or ".." component, no
 * empty one but a trailing slash, at most 1024 bytes. */
bool image_path_ok(const char *path);

/* Parse LXC's index (dist;release;arch;variant;build;path lines; '#' and
 * empty lines skipped). -EINVAL for a malformed line (with its number),
 * -EACCES for a path leaving the server's tree. *ret holds *ret_n entries,
 * freed with image_entries_free(). */
int index_lxc_parse(const char *buf, size_t len, struct image_entry **ret, size_t *ret_n,
                    struct lodge_error **err);

/* From simplestreams' index.json, the path of the image-downloads stream. */
int index_ss_images_path(const char *buf, size_t len, char **ret, struct lodge_error **err);

/* From simplestreams' images.json, each product's newest version that has a
 * root.tar.xz item, with that item and the metadata item (lxc.tar.xz, else
 * incus.tar.xz or lxd.tar.xz), both with sha256 and size. Products that are
 * no container image are skipped; -EACCES for a path leaving the tree. */
int index_ss_parse(const char *buf, size_t len, struct image_entry **ret, size_t *ret_n,
                   struct lodge_error **err);

const struct image_entry *image_entry_find(const struct image_entry *v, size_t n, const char *dist,
                                           const char *release, const char *arch,
                                           const char *variant);

/* Architecture names: "amd64" for "x86_64" or "amd64" (Debian's and the image
 * servers' spelling), "x86_64" for either (the kernel's); NULL when unknown.
 * image_arch_equal() compares through them. */
const char *image_arch_debian(const char *name);
const char *image_arch_kernel(const char *name);
bool image_arch_equal(const char *a, const char *b);

/* ---- verify.c: checking downloads ---- */

/* sha256 (lower-case hex) of the concatenated contents of fds, read from
 * offset 0 with pread; *ret_size (may be NULL) their total size. */
int sha256_fds(const int *fds, size_t n, char ret[static 65], uint64_t *ret_size,
               struct lodge_error **err);

/* fd against f's size and sha256 where the index gave them: -EBADMSG on a
 * mismatch. */
int verify_file(int fd, const struct image_file *f, const char *what, struct lodge_error **err);

/* data_fd against the detached signature sig_fd with gpgv and the keyring
 * (a binary keyring file, "gpg --export" or .gpg): -ENOKEY without keyring or
 * when signed by a key not in it, -EBADMSG for a bad or missing signature. */
int verify_signature(int data_fd, int sig_fd, const char *keyring, const char *what,
                     struct lodge_error **err);

/* ---- fetch.c: downloads ---- */

struct fetch_options {
        uint64_t max_size; /* bytes: the index's size, or a hard cap; 0: none */
        const char *ca;    /* CA bundle; NULL: the system's */
        bool allow_host_change;
        bool resume;      /* go on from what fd holds (a range request) */
        const char *what; /* for progress */
        lodge_template_progress_cb progress;
        void *userdata;
};

/* Download url (https://, http:// through lodge-fetch; file:// read here)
 * into fd, a regular file. Nothing but a complete 200 (or 206) body is ever
 * written. -EFBIG past max_size, -ENOENT for a 404, -EPERM for a refused
 * redirect, -ETIMEDOUT, -EINTR when interrupted, -EOPNOTSUPP without
 * lodge-fetch. */
int fetch_url(const char *url, int fd, const struct fetch_options *o, struct lodge_error **err);

/* The same into memory (at most max bytes, NUL-terminated). */
int fetch_to_memory(const char *url, uint64_t max, const struct fetch_options *o, char **ret,
                    size_t *ret_len, struct lodge_error **err);

/* ---- cache.c: the image cache ---- */

#define CACHE_STAGE_PREFIX ".tmp-"

/* $cache_dir/images as an O_DIRECTORY fd, made when create is true. */
int cache_open(const char *cache_dir, bool create, struct lodge_error **err);
/* The cache's lock (flock on images/.lock), shared or exclusive; returns
 * the fd that holds it. */
int cache_lock(int images_fd, bool exclusive, struct lodge_error **err);

int cache_read(int images_fd, const char *fingerprint, struct lodge_image *ret,
               struct lodge_error **err);
int cache_write_info(int dirfd, const struct lodge_image *c, struct lodge_error **err);
int cache_list(int images_fd, struct lodge_image **ret, size_t *ret_n, struct lodge_error **err);
/* By alias or fingerprint prefix (at least 8 characters): -ENOENT, or
 * -EINVAL when ambiguous. */
int cache_resolve(int images_fd, const char *ref, struct lodge_image *ret,
                  struct lodge_error **err);
/* The newest build cached from source for dist/release/arch/variant; -ENOENT
 * (without setting err) when none. */
int cache_find(int images_fd, const char *source, const char *dist, const char *release,
               const char *arch, const char *variant, struct lodge_image *ret,
               struct lodge_error **err);

/* A hidden staging directory (locked while its fd is open) for an image
 * being downloaded or imported; its name in ret_name. */
int cache_stage(int images_fd, char ret_name[static 32], struct lodge_error **err);
void cache_unstage(int images_fd, const char *name);
/* Fingerprint the staged rootfs (and meta), write c's info and move it into
 * place under the cache's lock; when that content is cached already, merge
 * c's aliases into it and drop the staging directory. Sets c->fingerprint
 * and c->size. */
int cache_commit(int images_fd, const char *stage, int stage_fd, struct lodge_image *c,
                 struct lodge_error **err);
/* Rewrite an image's info (aliases, expiry, last use). */
int cache_update(int images_fd, const struct lodge_image *c, struct lodge_error **err);
/* With the lock held exclusively. */
int cache_remove_locked(int images_fd, const char *fingerprint, struct lodge_error **err);
/* Remove staging directories nobody holds; returns how many. */
int cache_prune_stale(int images_fd, struct lodge_error **err);

/* ---- download.c, image-get.c: images from a server ---- */

enum image_protocol { IMAGE_PROTOCOL_AUTO, IMAGE_PROTOCOL_SIMPLESTREAMS, IMAGE_PROTOCOL_LXC };

struct image_request {
        char *server; /* NULL: image.server in lodge.conf, else the default */
        char *dist, *release;
        char *arch;    /* NULL: the host's */
        char *variant; /* NULL: "default" */
        char *keyring; /* NULL: image.keyring in lodge.conf */
        char *ca;
        enum image_protocol protocol;
        bool no_verify, refresh, allow_host_change;
};
void image_request_done(struct image_request *rq);

/* The download template's arguments (argv[0] is skipped); need_image: --dist
 * and --release are required. -EINVAL with the reason. */
int image_request_parse(int argc, char **argv, bool need_image, struct image_request *rq,
                        struct lodge_error **err);

/* The image rq names, from the cache when fresh there (no network), else
 * from the server, checked and cached (*ret_downloaded, may be NULL, set
 * true then). *ret_warnings gets what the user should know (--no-verify). */
int image_get(const char *cache_dir, const char *conf_path, const struct image_request *rq,
              lodge_template_progress_cb progress, void *userdata, struct lodge_image *ret,
              bool *ret_downloaded, char ***ret_warnings, struct lodge_error **err);

/* ---- incus-meta.c: Incus image metadata (incus.tar.xz) ---- */

/* The templates of metadata.yaml that apply at create: "PATH\0TEMPLATE"
 * pairs (PATH absolute in the guest, TEMPLATE a file in templates/).
 * -EINVAL for an entry that is not an absolute path. */
int incus_templates_parse(const char *yaml, char ***ret, struct lodge_error **err);

/* in with {{ container.name }} and {{ instance.name }} replaced by name;
 * -EOPNOTSUPP when it holds any other Pongo2 markup, -ENOMEM. */
int incus_template_render(const char *in, const char *name, char **ret);

/* Render the create templates of the Incus metadata tarball meta_fd into the
 * rootfs rootfd (files replaced atomically, never through a symlink; a
 * missing directory skips the file, as Incus does). A template lodge can't
 * render is left out and said in *warnings. */
int incus_meta_apply(int meta_fd, int rootfd, const char *name, char ***warnings,
                     struct lodge_error **err);

/* A template option that may be given once: a copy of value in *slot, or
 * -EINVAL "OPT given twice". */
int template_set_once(char **slot, const char *opt, const char *value, struct lodge_error **err);
