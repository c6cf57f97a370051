/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Incus image metadata (incus.tar.xz, what simplestreams servers give): the
 * "templates:" of metadata.yaml that apply at create, rendered from their
 * templates/NAME.tpl with the container's name. Only what the images of
 * images.linuxcontainers.org use for names is rendered ({{ container.name }}
 * and {{ instance.name }}); a template with any other Pongo2 markup is left
 * out with a warning, never half-rendered. Files are written inside the
 * rootfs only (open_in_root), replaced atomically, symlinks never followed. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"

#define MEMBER_MAX (1U << 20)
#define MEMBERS_MAX 256

DEFINE_CLEANUP_FUNC(struct archive *, archive_read_free)

/* metadata.yaml, and each templates/NAME as "templates/NAME\0text" in a strv. */
static int read_incus(int fd, char **ret_yaml, char ***ret_tpls, struct lodge_error **err)
{
        CLEANUP(archive_read_freep) struct archive *a = archive_read_new();
        cleanup_free char *yaml = NULL;
        cleanup_strv char **tpls = NULL;

        if (!a || archive_support_builtin_filters(a) < 0 ||
            archive_read_support_format_tar(a) != ARCHIVE_OK)
                return lodge_error_set(err, ENOMEM, "set up libarchive");
        if (archive_read_open_fd(a, fd, (size_t)64 << 10) != ARCHIVE_OK)
                return lodge_error_set(err, EBADMSG, "Incus metadata: not a tar archive");
        for (unsigned n = 0;; n++) {
                struct archive_entry *e;
                const char *path;
                int64_t size;
                cleanup_free char *buf = NULL;
                size_t got = 0;
                int r = archive_read_next_header(a, &e);

                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK || n >= MEMBERS_MAX)
                        return lodge_error_set(err, EBADMSG, "Incus metadata: a bad archive");
                path = archive_entry_pathname(e);
                if (!path || archive_entry_filetype(e) != AE_IFREG)
                        continue;
                while (path[0] == '.' && path[1] == '/')
                        path += 2;
                if (strcmp(path, "metadata.yaml") != 0 &&
                    (strncmp(path, "templates/", 10) != 0 || !filename_is_valid(path + 10)))
                        continue;
                size = archive_entry_size(e);
                if (size < 0 || size > MEMBER_MAX)
                        return lodge_error_set(err, EFBIG, "Incus metadata: '%s' too large", path);
                buf = malloc(strlen(path) + 1 + (size_t)size + 1);
                if (!buf)
                        return lodge_error_set(err, ENOMEM, "Incus metadata");
                memcpy(buf, path, strlen(path) + 1);
                while (got < (size_t)size) {
                        la_ssize_t k = archive_read_data(a, buf + strlen(path) + 1 + got,
                                                         (size_t)size - got);

                        if (k <= 0)
                                return lodge_error_set(err, EBADMSG,
                                                       "Incus metadata: '%s' truncated", path);
                        got += (size_t)k;
                }
                buf[strlen(path) + 1 + got] = '\0';
                if (memchr(buf + strlen(path) + 1, '\0', got))
                        return lodge_error_set(err, EINVAL, "Incus metadata: '%s' holds a NUL",
                                               path);
                if (strcmp(path, "metadata.yaml") == 0) {
                        free(yaml);
                        yaml = strdup(buf + strlen(path) + 1);
                        if (!yaml)
                                return lodge_error_set(err, ENOMEM, "Incus metadata");
                } else if (strv_push(&tpls, TAKE_PTR(buf)) < 0) {
                        return lodge_error_set(err, ENOMEM, "Incus metadata");
                }
        }
        if (!yaml)
                return lodge_error_set(err, EINVAL, "Incus metadata: no metadata.yaml");
        *ret_yaml = TAKE_PTR(yaml);
        *ret_tpls = TAKE_PTR(tpls);
        return 0;
}

static size_t indent_of(const char *line)
{
        return strspn(line, " ");
}

/* "key: value" or "key:" at p; copies the unquoted key, points at the value. */
static bool key_value(const char *p, char *key, size_t keylen, const char **ret_value)
{
        const char *colon;
        size_t n;

        if (*p == '"' || *p == '\'') {
                const char *end = strchr(p + 1, *p);

                if (!end || end[1] != ':')
                        return false;
                n = (size_t)(end - p - 1);
                p++;
                colon = end + 1;
        } else {
                colon = strstr(p, ":");
                if (!colon)
                        return false;
                n = (size_t)(colon - p);
        }
        if (n == 0 || n >= keylen || (colon[1] != '\0' && colon[1] != ' '))
                return false;
        memcpy(key, p, n);
        key[n] = '\0';
        *ret_value = colon + 1 + strspn(colon + 1, " ");
        return true;
}

int incus_templates_parse(const char *yaml, char ***ret, struct lodge_error **err)
{
        cleanup_free char *copy = yaml ? strdup(yaml) : NULL;
        cleanup_strv char **out = NULL;
        char *save = NULL, path[1024] = "", tpl[256] = "";
        bool in_templates = false, in_when = false, create = false;
        int r = 0;

        if (!yaml) {
                *ret = NULL;
                return 0;
        }
        if (!copy)
                return lodge_error_set(err, ENOMEM, "metadata.yaml");
        /* One entry ends where the next begins (or the section does). */
        for (char *line = strtok_r(copy, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
                size_t ind = line ? indent_of(line) : 0;
                const char *p = line ? line + ind : NULL, *v = NULL;
                char key[1024];
                bool entry_ends = !line || (in_templates && ind <= 2 && *p && *p != '#');

                if (line && (*p == '\0' || *p == '#'))
                        continue;
                if (entry_ends && path[0]) {
                        if (create && tpl[0]) {
                                char *pair = NULL;

                                if (asprintf(&pair, "%s%c%s", path, '\0', tpl) < 0 ||
                                    strv_push(&out, pair) < 0) {
                                        free(pair);
                                        return lodge_error_set(err, ENOMEM, "metadata.yaml");
                                }
                        }
                        path[0] = tpl[0] = '\0';
                        create = in_when = false;
                }
                if (!line)
                        break;
                if (ind == 0) {
                        in_templates = strcmp(p, "templates:") == 0;
                        continue;
                }
                if (!in_templates)
                        continue;
                if (ind == 2) {
                        if (!key_value(p, key, sizeof(key), &v) || *v || key[0] != '/')
                                return lodge_error_set(
                                        err, EINVAL, "metadata.yaml: a bad template entry '%s'", p);
                        snprintf(path, sizeof(path), "%s", key);
                        continue;
                }
                if (p[0] == '-' && in_when) {
                        create |= strcmp(p + 1 + strspn(p + 1, " "), "create") == 0;
                        continue;
                }
                in_when = false;
                if (!key_value(p, key, sizeof(key), &v))
                        continue;
                if (strcmp(key, "when") == 0) {
                        in_when = *v == '\0';
                        create |= *v == '[' && strstr(v, "create");
                } else if (strcmp(key, "template") == 0) {
                        snprintf(tpl, sizeof(tpl), "%s", v);
                }
        }
        *ret = TAKE_PTR(out);
        return r;
}

/* Replace {{ container.name }} and {{ instance.name }}; -EOPNOTSUPP for any
 * other markup. */
int incus_template_render(const char *in, const char *name, char **ret)
{
        static const char *const vars[] = { "container.name", "instance.name" };
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        int r = 0;

        if (!f)
                return -ENOMEM;
        for (const char *p = in; *p;) {
                const char *open = strstr(p, "{{"), *close;
                bool known = false;

                if (strstr(p, "{%") || strstr(p, "{#")) {
                        r = -EOPNOTSUPP;
                        break;
                }
                if (!open) {
                        fputs(p, f);
                        break;
                }
                fwrite(p, 1, (size_t)(open - p), f);
                close = strstr(open, "}}");
                if (!close) {
                        r = -EOPNOTSUPP;
                        break;
                }
                for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                        const char *q = open + 2 + strspn(open + 2, " ");
                        size_t n = strlen(vars[i]);

                        if (strncmp(q, vars[i], n) == 0 && q + n + strspn(q + n, " ") == close)
                                known = true;
                }
                if (!known) {
                        r = -EOPNOTSUPP;
                        break;
                }
                fputs(name, f);
                p = close + 2;
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(out);
                return r;
        }
        *ret = out;
        return 0;
}

static int write_in_root(int rootfd, const char *path, const char *text, struct lodge_error **err)
{
        cleanup_free char *dir = strdup(path);
        cleanup_close int dirfd = -EBADF;
        const char *base;
        char *slash;
        struct stat st;
        mode_t mode = 0644;

        if (!dir)
                return lodge_error_set(err, ENOMEM, "template '%s'", path);
        slash = strrchr(dir, '/');
        if (!slash || !filename_is_valid(slash + 1))
                /* cppcheck-suppress memleak ; dir is freed by its cleanup attribute */
                return lodge_error_set(err, EINVAL, "template '%s': not a file path", path);
        base = path + (slash - dir) + 1;
        *slash = '\0';
        dirfd = open_in_root(rootfd, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY, 0);
        if (dirfd == -ENOENT)
                return 0; /* as Incus: nothing to write into */
        if (dirfd < 0)
                return lodge_error_set(err, -dirfd, "template '%s': open its directory", path);
        if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISDIR(st.st_mode))
                        return lodge_error_set(err, EISDIR, "template '%s'", path);
                if (S_ISREG(st.st_mode))
                        mode = st.st_mode & 07777 & ~(mode_t)06000;
        }
        /* A temporary file and a rename: a symlink there is replaced, not followed. */
        return write_file_atomic_at(dirfd, base, text, strlen(text), mode, err);
}

int incus_meta_apply(int meta_fd, int rootfd, const char *name, char ***warnings,
                     struct lodge_error **err)
{
        cleanup_free char *yaml = NULL;
        cleanup_strv char **tpls = NULL, **entries = NULL;
        int r;

        r = read_incus(meta_fd, &yaml, &tpls, err);
        if (r >= 0)
                r = incus_templates_parse(yaml, &entries, err);
        if (r < 0)
                return r;
        STRV_FOREACH (e, entries) {
                const char *path = *e, *tname = *e + strlen(*e) + 1;
                const char *text = NULL;
                cleanup_free char *out = NULL, *w = NULL;

                STRV_FOREACH (t, tpls)
                        if (strcmp(*t + strlen("templates/"), tname) == 0)
                                text = *t + strlen(*t) + 1;
                if (!text)
                        r = -ENOENT;
                else
                        r = incus_template_render(text, name, &out);
                if (r == -ENOMEM)
                        return lodge_error_set(err, ENOMEM, "template '%s'", path);
                if (r < 0) {
                        if (asprintf(&w, "image template for '%s' not applied: %s", path,
                                     r == -ENOENT ? "its file is missing"
                                                  : "it needs more than the container name") < 0 ||
                            strv_push(warnings, TAKE_PTR(w)) < 0)
                                return lodge_error_set(err, ENOMEM, "warnings");
                        continue;
                }
                r = write_in_root(rootfd, path, out, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
