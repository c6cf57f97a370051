/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "core/config.h"

/* Shared between config.c (the document: lines, parse, set/unset, write) and
 * config-keys.c (the key table, typed stores and cross-key rules). */

enum conf_line_kind {
        CONF_LINE_BLANK,   /* empty or only spaces and tabs */
        CONF_LINE_COMMENT, /* first non-blank byte is '#' */
        CONF_LINE_KEY,     /* key = value */
        CONF_LINE_SYNTAX,  /* neither: no '=' or an empty key */
        CONF_LINE_NUL,     /* contains a NUL byte; text is cut there */
};

struct conf_line {
        char *text; /* as written, without its newline */
        char *key;  /* trimmed; CONF_LINE_KEY only */
        char *value;
        enum conf_line_kind kind;
};

struct lodge_config_doc {
        struct conf_line *lines;
        size_t n_lines;
};

struct conf_key;

/* State of one typed build of a config from its lines. */
struct conf_build {
        size_t n_env; /* entries in cfg->environment */
        size_t env_cap;
};

/* Find the table line of a key: 0, or -EINVAL with the reason in err
 * ("unknown key", an index out of range, a bad environment name).
 * *ret_index is the N of "net.N.type", "mount.N", "device.N", else 0. */
int config_key_resolve(const char *key, const struct conf_key **ret, unsigned *ret_index,
                       struct lodge_error **err);

/* Check value for key (resolved to k and index) and store it in cfg. The
 * message in err is the reason only; callers add "key 'K'". */
int config_store(struct lodge_config *cfg, const struct conf_key *k, unsigned index,
                 const char *key, const char *value, struct conf_build *b,
                 struct lodge_error **err);

/* The rules between keys, checked once all lines are stored. On failure
 * *ret_line is the index (0-based) of the line at fault and err says
 * "key 'K': why". */
int config_check_cross(const struct lodge_config *cfg, const struct lodge_config_doc *doc,
                       size_t *ret_line, struct lodge_error **err);

/* Free what the typed fields own (not cfg->doc, not cfg itself). */
void config_free_fields(struct lodge_config *cfg);

/* Value forms (config-values.c), used as the validators of string keys. Each
 * returns 0, or -EINVAL (-ENOMEM) with the reason in err:
 * "'VALUE' is not an absolute path". */
int config_check_name(const char *value, struct lodge_error **err);
int config_check_arch(const char *value, struct lodge_error **err);
/* Absolute, no "//", no ".." component. */
int config_check_abs_path(const char *value, struct lodge_error **err);
/* An absolute path other than "/". */
int config_check_rootfs_path(const char *value, struct lodge_error **err);
int config_check_layer(const char *value, struct lodge_error **err);
/* An absolute path not ending in "/". */
int config_check_hook(const char *value, struct lodge_error **err);
/* A command line whose first word is an absolute path. */
int config_check_init_cmd(const char *value, struct lodge_error **err);
/* 1-15 bytes, no '/', ':' or space, not "." or "..". */
int config_check_ifname(const char *value, struct lodge_error **err);
int config_check_cpuset(const char *value, struct lodge_error **err);
/* [A-Za-z0-9][A-Za-z0-9._/-]{0,254} */
int config_check_apparmor_profile(const char *value, struct lodge_error **err);
/* "PATH [TARGET]": PATH below /dev/, both clean absolute paths. */
int config_check_device(const char *value, struct lodge_error **err);
/* "SOURCE TARGET [OPTIONS]": clean absolute paths without whitespace, options
 * a comma list of ro, rw, create=dir, create=file, optional, shift. */
int config_check_mount(const char *value, struct lodge_error **err);

/* One capability name as written ("SYS_ADMIN", "cap_sys_admin") to its
 * lowercase name without "cap_" ("sys_admin") in *ret, owned by the caller.
 * -EINVAL when libcap doesn't know it, -ENOMEM. */
int config_cap_normalize(const char *token, char **ret);
