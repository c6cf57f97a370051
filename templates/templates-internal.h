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
