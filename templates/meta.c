/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LXC image metadata (meta.tar.xz): read in memory, mapped onto an allow-list
 * of lodge keys (M-01), and the "templates" files rewritten inside the rootfs
 * without ever leaving it (M-02). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/parse.h"
#include "core/base/path.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"

#define META_MAX_MEMBER_SIZE (1U << 20)
#define META_MAX_MEMBERS 64
#define TEMPLATE_MAX_SIZE (1U << 20)

DEFINE_CLEANUP_FUNC(struct archive *, archive_read_free)

void image_meta_done(struct image_meta *m)
{
        if (!m)
                return;
        strv_free(m->config);
        strv_free(m->warnings);
        strv_free(m->templates);
        strv_free(m->excludes);
        free(m->create_message);
        *m = (struct image_meta){ 0 };
}

/* The members we read; everything else in the tarball is ignored. config-user
 * is for unprivileged guests, which lodge doesn't make yet. */
enum member {
        MEMBER_CONFIG,
        MEMBER_TEMPLATES,
        MEMBER_CREATE_MESSAGE,
        MEMBER_EXCLUDES_USER,
        MEMBER_EXPIRY,
        MEMBER_COUNT,
};

static const char *const member_names[MEMBER_COUNT] = {
        [MEMBER_CONFIG] = "config",
        [MEMBER_TEMPLATES] = "templates",
        [MEMBER_CREATE_MESSAGE] = "create-message",
        [MEMBER_EXCLUDES_USER] = "excludes-user",
        [MEMBER_EXPIRY] = "expiry",
};

struct members {
        char *text[MEMBER_COUNT];
};

static void members_done(struct members *m)
{
        for (size_t i = 0; i < MEMBER_COUNT; i++)
                free(m->text[i]);
}

static int member_find(const char *path)
{
        while (path[0] == '.' && path[1] == '/')
                path += 2;
        while (path[0] == '/')
                path++;
        for (int i = 0; i < MEMBER_COUNT; i++)
                if (strcmp(path, member_names[i]) == 0)
                        return i;
        return -1;
}

static int archive_failure(struct archive *a, const char *name, struct lodge_error **err)
{
        const char *s = archive_error_string(a);
        int e = archive_errno(a);

        if (s && strstr(s, "Unrecognized archive format"))
                return lodge_error_set(err, EBADMSG, "'%s': not a tar archive", name);
        if (s && strcasestr(s, "truncated"))
                return lodge_error_set(err, EBADMSG, "'%s': truncated archive", name);
        if (e <= 0 || e == EILSEQ) /* ARCHIVE_ERRNO_MISC, ARCHIVE_ERRNO_FILE_FORMAT */
                e = EBADMSG;
        return lodge_error_set(err, e, "'%s': %s", name, s ? s : "read error");
}

static int read_member(struct archive *a, struct archive_entry *e, const char *name,
                       const char *member, char **ret, struct lodge_error **err)
{
        int64_t size = archive_entry_size(e);
        cleanup_free char *buf = NULL;
        size_t got = 0;

        if (size < 0 || size > META_MAX_MEMBER_SIZE)
                return lodge_error_set(err, EFBIG, "'%s': '%s' is larger than %u bytes", name,
                                       member, META_MAX_MEMBER_SIZE);
        buf = malloc((size_t)size + 1);
        if (!buf)
                return lodge_error_set(err, ENOMEM, "'%s': read '%s'", name, member);
        while (got < (size_t)size) {
                la_ssize_t n = archive_read_data(a, buf + got, (size_t)size - got);

                if (n < 0)
                        return archive_failure(a, name, err);
                if (n == 0)
                        return lodge_error_set(err, EBADMSG, "'%s': truncated archive", name);
                got += (size_t)n;
        }
        if (memchr(buf, '\0', got))
                return lodge_error_set(err, EINVAL, "'%s': '%s' contains a NUL byte", name, member);
        buf[got] = '\0';
        free(*ret); /* a later copy of the same member wins */
        *ret = TAKE_PTR(buf);
        return 0;
}

static int read_members(int archive_fd, const char *name, struct members *ret,
                        struct lodge_error **err)
{
        CLEANUP(archive_read_freep) struct archive *a = archive_read_new();

        if (!a || archive_support_builtin_filters(a) < 0 ||
            archive_read_support_format_tar(a) != ARCHIVE_OK)
                return lodge_error_set(err, ENOMEM, "'%s': set up libarchive", name);
        if (archive_read_open_fd(a, archive_fd, (size_t)64 << 10) != ARCHIVE_OK)
                return archive_failure(a, name, err);

        for (unsigned n = 0;; n++) {
                struct archive_entry *e;
                const char *path;
                int which, r;

                r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return archive_failure(a, name, err);
                if (n >= META_MAX_MEMBERS)
                        return lodge_error_set(err, EFBIG, "'%s': more than %d members", name,
                                               META_MAX_MEMBERS);
                path = archive_entry_pathname(e);
                which = path ? member_find(path) : -1;
                if (which < 0 || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
                        continue;
                r = read_member(a, e, name, member_names[which], &ret->text[which], err);
                if (r < 0)
                        return r;
        }
}

static bool has_control(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* Control characters other than newline and tab, e.g. terminal escapes. */
static bool has_control_but_newline(const char *s)
{
        for (; *s; s++)
                if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') || *s == 0x7f)
                        return true;
        return false;
}

static char *trim(char *s)
{
        size_t n;

        s += strspn(s, " \t");
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                s[--n] = '\0';
        return s;
}

/* Set "key=value" in the image config, replacing an earlier value. */
static int config_set(struct image_meta *m, const char *key, const char *value)
{
        cleanup_free char *line = NULL;
        size_t klen = strlen(key);

        if (asprintf(&line, "%s=%s", key, value) < 0)
                return -ENOMEM;
        for (char **p = m->config; p && *p; p++)
                if (strncmp(*p, key, klen) == 0 && (*p)[klen] == '=') {
                        free(*p);
                        *p = TAKE_PTR(line);
                        return 0;
                }
        if (strv_push(&m->config, line) < 0)
                return -ENOMEM;
        line = NULL;
        return 0;
}

static int warn(struct image_meta *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int warn(struct image_meta *m, const char *fmt, ...)
{
        cleanup_free char *w = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&w, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (strv_contains(m->warnings, w)) /* one "mount.entry" warning, not twenty */
                return 0;
        if (strv_push(&m->warnings, w) < 0)
                return -ENOMEM;
        w = NULL;
        return 0;
}

static int not_supported(struct image_meta *m, const char *key)
{
        return warn(m, "image config key '%s' is not supported, ignoring", key);
}

static int map_arch(struct image_meta *m, const char *key, const char *value)
{
        static const char *const known[] = {
                "x86_64", "amd64", "i686",    "i386",    "aarch64", "arm64",   "armv7l",
                "armhf",  "armel", "ppc64le", "ppc64el", "s390x",   "riscv64",
        };

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (strcmp(value, known[i]) == 0)
                        return config_set(m, "arch", value);
        return warn(m, "image config '%s' has an unknown architecture '%s', ignoring", key, value);
}

/* LXC's own shared config (common.conf, userns.conf): lodge has its own
 * defaults for what they set, so they are dropped without a word. Anything
 * else is a file the image wants read from the host: never. */
static int map_include(struct image_meta *m, const char *key, const char *value)
{
        static const char *const lxc_dirs[] = { "LXC_TEMPLATE_CONFIG/", "/usr/share/lxc/config/" };

        for (size_t i = 0; i < ELEMENTSOF(lxc_dirs); i++)
                if (strncmp(value, lxc_dirs[i], strlen(lxc_dirs[i])) == 0 && !strstr(value, ".."))
                        return 0;
        return not_supported(m, key);
}

static bool env_name_valid(const char *s, size_t n)
{
        if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9')))
                        return false;
        return true;
}

/* "K=V". LXC's bare "K" copies the variable from the host: not supported. */
static int map_environment(struct image_meta *m, const char *key, const char *value)
{
        const char *eq = strchr(value, '=');
        cleanup_free char *k = NULL;

        if (!eq || !env_name_valid(value, (size_t)(eq - value)))
                return warn(m, "image config '%s' is not NAME=VALUE with a valid name, ignoring",
                            key);
        if (asprintf(&k, "environment.%.*s", (int)(eq - value), value) < 0)
                return -ENOMEM;
        return config_set(m, k, eq + 1);
}

static int map_halt_signal(struct image_meta *m, const char *key, const char *value)
{
        char buf[16];
        int sig;

        if (parse_signal(value, &sig) < 0)
                return warn(m, "image config '%s' has an unknown signal '%s', ignoring", key,
                            value);
        return config_set(m, "init.stop_signal", signal_to_string(sig, buf));
}

static int map_init_cmd(struct image_meta *m, const char *key, const char *value)
{
        if (!*value)
                return warn(m, "image config '%s' is empty, ignoring", key);
        return config_set(m, "init.cmd", value);
}

/* M-01: the allow-list. Hooks, mounts, LSM, seccomp, capabilities, id maps
 * and every key not here are never applied, always reported. */
static const struct {
        const char *key;
        int (*map)(struct image_meta *m, const char *key, const char *value);
} config_keys[] = {
        { "lxc.arch", map_arch },
        { "lxc.environment", map_environment },
        { "lxc.include", map_include },
        { "lxc.init.cmd", map_init_cmd },
        { "lxc.signal.halt", map_halt_signal },
};

static int parse_config(char *text, const char *name, struct image_meta *m,
                        struct lodge_error **err)
{
        unsigned line = 0;

        /* strtok_r would merge empty lines and lose the line numbers. */
        for (char *l = text, *next; l; l = next) {
                const char *key, *value;
                char *eq;
                size_t i;
                int r = 0;

                line++;
                next = strchr(l, '\n');
                if (next)
                        *next++ = '\0';
                l = trim(l);
                if (!*l || *l == '#')
                        continue;
                eq = strchr(l, '=');
                if (eq) {
                        *eq = '\0';
                        key = trim(l);
                        value = trim(eq + 1);
                } else {
                        key = l;
                        value = "";
                }
                if (has_control(key) || has_control(value))
                        return lodge_error_set(err, EINVAL,
                                               "'%s': config line %u has a control character", name,
                                               line);
                if (!eq) {
                        r = warn(m, "image config line %u is not 'key = value', ignoring", line);
                        if (r < 0)
                                return lodge_error_set(err, ENOMEM, "'%s': config", name);
                        continue;
                }
                for (i = 0; i < ELEMENTSOF(config_keys); i++)
                        if (strcmp(key, config_keys[i].key) == 0)
                                break;
                r = i < ELEMENTSOF(config_keys) ? config_keys[i].map(m, key, value)
                                                : not_supported(m, key);
                if (r < 0)
                        return lodge_error_set(err, -r, "'%s': config line %u", name, line);
        }
        return 0;
}

/* One path per line; blank lines and "#" comments skipped. */
static int parse_lines(char *text, const char *name, const char *member, char ***ret,
                       struct lodge_error **err)
{
        unsigned line = 0;

        for (char *l = text, *next; l; l = next) {
                line++;
                next = strchr(l, '\n');
                if (next)
                        *next++ = '\0';
                l = trim(l);
                if (!*l || *l == '#')
                        continue;
                if (has_control(l))
                        return lodge_error_set(err, EINVAL,
                                               "'%s': %s line %u has a control character", name,
                                               member, line);
                if (strv_extend(ret, l) < 0)
                        return lodge_error_set(err, ENOMEM, "'%s': %s", name, member);
        }
        return 0;
}

static int parse_members(struct members *mem, const char *name, struct image_meta *m,
                         struct lodge_error **err)
{
        int r;

        if (mem->text[MEMBER_CONFIG]) {
                r = parse_config(mem->text[MEMBER_CONFIG], name, m, err);
                if (r < 0)
                        return r;
        }
        if (mem->text[MEMBER_TEMPLATES]) {
                r = parse_lines(mem->text[MEMBER_TEMPLATES], name, "templates", &m->templates, err);
                if (r < 0)
                        return r;
        }
        if (mem->text[MEMBER_EXCLUDES_USER]) {
                r = parse_lines(mem->text[MEMBER_EXCLUDES_USER], name, "excludes-user",
                                &m->excludes, err);
                if (r < 0)
                        return r;
        }
        if (mem->text[MEMBER_CREATE_MESSAGE]) {
                /* Printed on the user's terminal: no escape sequences. */
                if (has_control_but_newline(mem->text[MEMBER_CREATE_MESSAGE]))
                        return lodge_error_set(
                                err, EINVAL, "'%s': create-message has a control character", name);
                m->create_message = TAKE_PTR(mem->text[MEMBER_CREATE_MESSAGE]);
        }
        if (mem->text[MEMBER_EXPIRY]) {
                char *s = mem->text[MEMBER_EXPIRY];
                size_t n = strlen(s);

                while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
                        s[--n] = '\0';
                if (parse_i64_range(trim(s), 0, INT64_MAX, &m->expiry) < 0)
                        return lodge_error_set(err, EINVAL, "'%s': expiry is not a unix time",
                                               name);
        }
        return 0;
}

int meta_read(int archive_fd, const char *name, struct image_meta *ret, struct lodge_error **err)
{
        CLEANUP(members_done) struct members mem = { { NULL } };
        CLEANUP(image_meta_done) struct image_meta m = { 0 };
        int r;

        r = read_members(archive_fd, name, &mem, err);
        if (r < 0)
                return r;
        r = parse_members(&mem, name, &m, err);
        if (r < 0)
                return r;
        *ret = m;
        m = (struct image_meta){ 0 };
        return 0;
}

/* ---- templates ---- */

static const struct {
        const char *token;
        bool is_name; /* else "/" */
} template_tokens[] = {
        /* The guest sees its rootfs at "/" and has no view of the container
         * directory, so both paths render as "/". */
        { "LXC_NAME", true },
        { "LXC_ROOTFS_PATH", false },
        { "LXC_PATH", false },
};

/* Substitute the tokens; *ret is NULL when there was nothing to replace. */
static int render(const char *in, size_t len, const char *container_name, char **ret,
                  size_t *ret_len)
{
        cleanup_free char *out = NULL;
        size_t size = 0;
        bool changed = false;
        FILE *f;

        f = open_memstream(&out, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < len;) {
                const char *l = memchr(in + i, 'L', len - i);
                size_t t;

                if (!l) { /* no token can start in the rest */
                        (void)fwrite(in + i, 1, len - i, f);
                        break;
                }
                if (l > in + i) {
                        (void)fwrite(in + i, 1, (size_t)(l - (in + i)), f);
                        i = (size_t)(l - in);
                }
                for (t = 0; t < ELEMENTSOF(template_tokens); t++) {
                        size_t tl = strlen(template_tokens[t].token);

                        if (len - i >= tl && memcmp(in + i, template_tokens[t].token, tl) == 0)
                                break;
                }
                if (t == ELEMENTSOF(template_tokens)) {
                        (void)fputc(in[i++], f);
                        continue;
                }
                (void)fputs(template_tokens[t].is_name ? container_name : "/", f);
                i += strlen(template_tokens[t].token);
                changed = true;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (changed) {
                *ret = TAKE_PTR(out);
                *ret_len = size;
        } else
                *ret = NULL;
        return 0;
}

/* Write buf next to dirfd/base under a temporary name with the original's
 * owner and mode, then rename it over the original. */
static int replace_at(int dirfd, const char *base, const struct stat *st, const char *buf,
                      size_t len)
{
        for (int attempt = 0; attempt < 16; attempt++) {
                cleanup_free char *tmp = NULL;
                cleanup_close int fd = -EBADF;
                unsigned rnd = 0;
                int r = 0;

                if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                        return -EIO;
                if (asprintf(&tmp, ".%s.lodge-%08x", base, rnd) < 0)
                        return -ENOMEM;
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0 && errno == EEXIST)
                        continue;
                if (fd < 0)
                        return -errno;
                r = write_all(fd, buf, len);
                /* chown first: it clears set-id bits that fchmod then restores. */
                if (r >= 0 && fchown(fd, st->st_uid, st->st_gid) < 0)
                        r = -errno;
                if (r >= 0 && fchmod(fd, st->st_mode & 07777) < 0)
                        r = -errno;
                if (r >= 0 && renameat(dirfd, tmp, dirfd, base) < 0)
                        r = -errno;
                if (r < 0)
                        (void)unlinkat(dirfd, tmp, 0);
                return r;
        }
        return -EEXIST;
}

/* Split "/etc/hostname" into "/etc" and "hostname" (a copy and a pointer
 * into it); -EINVAL when there is no file name ("/", "etc/"). */
static int split_path(const char *path, char **ret_dir, const char **ret_base)
{
        char *copy = strdup(path), *slash;

        if (!copy)
                return -ENOMEM;
        slash = strrchr(copy, '/');
        *ret_base = slash ? path + (slash - copy) + 1 : path;
        if (slash)
                *slash = '\0';
        if (!filename_is_valid(*ret_base)) {
                free(copy);
                return -EINVAL;
        }
        if (!slash || !*copy) {
                free(copy);
                copy = strdup("/");
                if (!copy)
                        return -ENOMEM;
        }
        *ret_dir = copy;
        return 0;
}

static int render_one(int rootfd, const char *container_name, const char *path,
                      struct lodge_error **err)
{
        cleanup_free char *dir = NULL, *buf = NULL, *out = NULL;
        cleanup_close int dirfd = -EBADF, fd = -EBADF;
        const char *base;
        size_t out_len = 0;
        struct stat st;
        ssize_t n;
        int r;

        r = split_path(path, &dir, &base);
        if (r < 0)
                return lodge_error_set(err, -r, "template '%s': not a file path", path);
        dirfd = open_in_root(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
        if (dirfd == -ENOENT)
                return 0;
        if (dirfd < 0)
                return lodge_error_set(err, -dirfd, "template '%s': open its directory", path);
        /* O_NONBLOCK: a FIFO must not hang us. No following: a symlink (to a
         * host file, say) is refused with ELOOP. */
        fd = open_in_root_nofollow(dirfd, base, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
        if (fd == -ENOENT)
                return 0;
        if (fd == -ELOOP)
                return lodge_error_set(err, ELOOP, "template '%s': is a symlink, refusing", path);
        if (fd < 0)
                return lodge_error_set(err, -fd, "template '%s': open", path);
        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "template '%s': stat", path);
        if (!S_ISREG(st.st_mode))
                return lodge_error_set(err, EINVAL, "template '%s': not a regular file, refusing",
                                       path);
        if (st.st_size > TEMPLATE_MAX_SIZE)
                return lodge_error_set(err, EFBIG, "template '%s': larger than %u bytes", path,
                                       TEMPLATE_MAX_SIZE);

        buf = malloc(TEMPLATE_MAX_SIZE + 1);
        if (!buf)
                return lodge_error_set(err, ENOMEM, "template '%s': read", path);
        n = read_all(fd, buf, TEMPLATE_MAX_SIZE + 1);
        if (n < 0)
                return lodge_error_set(err, (int)-n, "template '%s': read", path);
        if (n > TEMPLATE_MAX_SIZE)
                return lodge_error_set(err, EFBIG, "template '%s': larger than %u bytes", path,
                                       TEMPLATE_MAX_SIZE);

        r = render(buf, (size_t)n, container_name, &out, &out_len);
        if (r < 0)
                return lodge_error_set(err, -r, "template '%s': render", path);
        if (!out)
                return 0; /* nothing to substitute: leave the file alone */
        r = replace_at(dirfd, base, &st, out, out_len);
        if (r < 0)
                return lodge_error_set(err, -r, "template '%s': write", path);
        return 0;
}

int meta_render_templates(int rootfd, const char *container_name, char *const *templates,
                          struct lodge_error **err)
{
        STRV_FOREACH (t, templates) {
                int r = render_one(rootfd, container_name, *t, err);

                if (r < 0)
                        return r;
        }
        return 0;
}
