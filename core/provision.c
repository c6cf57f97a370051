/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lodge create's first-boot provisioning: the options and the --provision
 * file (the same options as "key = value" lines, paths relative to the file)
 * merged, the host files they name read, for templates/ to write in. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/strv.h"
#include "core/core-internal.h"

void provision_done(struct provision *p)
{
        free(p->user);
        free(p->password_hash);
        free(p->timezone);
        free(p->ssh_key);
        free(p->run_once);
        free(p->ssh_key_file);
        free(p->run_once_file);
        free(p->cloud_user_data);
        free(p->cloud_meta_data);
        free(p->cloud_network_config);
        strv_free(p->files);
        *p = (struct provision){ 0 };
}

static int set_string(char **slot, const char *v, struct lodge_error **err)
{
        char *c = strdup(v);

        if (!c)
                return lodge_error_set(err, ENOMEM, "provisioning");
        free(*slot);
        *slot = c;
        return 0;
}

/* A path from the provision file, relative to the file's directory. */
static int set_path(char **slot, const char *base, const char *v, struct lodge_error **err)
{
        char *c = NULL;

        if (v[0] == '/' || !base)
                return set_string(slot, v, err);
        if (asprintf(&c, "%s/%s", base, v) < 0)
                return lodge_error_set(err, ENOMEM, "provisioning");
        free(*slot);
        *slot = c;
        return 0;
}

/* "SRC:DEST" -> the pair, SRC relative to base. */
static int add_file(struct provision *p, const char *base, const char *spec,
                    struct lodge_error **err)
{
        cleanup_free char *src = NULL, *path = NULL;
        const char *colon = strrchr(spec, ':');
        int r;

        if (!colon || colon == spec || !colon[1])
                return lodge_error_set(err, EINVAL, "--file '%s': SRC:DEST", spec);
        src = strndup(spec, (size_t)(colon - spec));
        if (!src)
                return lodge_error_set(err, ENOMEM, "provisioning");
        r = set_path(&path, base, src, err);
        if (r < 0)
                return r;
        if (strv_extend(&p->files, path) < 0 || strv_extend(&p->files, colon + 1) < 0)
                return lodge_error_set(err, ENOMEM, "provisioning");
        return 0;
}

static int set_key(struct provision *p, const char *base, const char *key, const char *value,
                   struct lodge_error **err)
{
        if (strcmp(key, "user") == 0)
                return set_string(&p->user, value, err);
        if (strcmp(key, "password-hash") == 0)
                return set_string(&p->password_hash, value, err);
        if (strcmp(key, "timezone") == 0)
                return set_string(&p->timezone, value, err);
        if (strcmp(key, "ssh-key") == 0)
                return set_path(&p->ssh_key_file, base, value, err);
        if (strcmp(key, "run-once") == 0)
                return set_path(&p->run_once_file, base, value, err);
        if (strcmp(key, "file") == 0)
                return add_file(p, base, value, err);
        return lodge_error_set(err, EINVAL, "unknown key '%s'", key);
}

static char *trim(char *s)
{
        char *e;

        s += strspn(s, " \t");
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                *--e = '\0';
        return s;
}

static int read_provision_file(struct provision *p, const char *path, struct lodge_error **err)
{
        cleanup_free char *text = NULL, *copy = strdup(path);
        unsigned lineno = 0;
        const char *base;
        int r;

        if (!copy)
                return lodge_error_set(err, ENOMEM, "provisioning");
        base = dirname(copy);
        r = read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "--provision");
        for (char *line = text, *next; line && *line; line = next) {
                char *eq, *key, *value;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                lineno++;
                line = trim(line);
                if (!*line || *line == '#')
                        continue;
                eq = strchr(line, '=');
                if (!eq)
                        return lodge_error_set(err, EINVAL, "'%s' line %u: expected KEY = VALUE",
                                               path, lineno);
                *eq = '\0';
                key = trim(line);
                value = trim(eq + 1);
                r = set_key(p, base, key, value, err);
                if (r < 0)
                        return lodge_error_prefix(err, r, "'%s' line %u", path, lineno);
        }
        return 0;
}

static int read_input(const char *opt, const char *path, char **ret, struct lodge_error **err)
{
        int r = read_file_at(AT_FDCWD, path, 1 << 20, ret, NULL, err);

        if (r < 0)
                return lodge_error_prefix(err, r, "%s", opt);
        return 0;
}

int provision_load(const struct lodge_create_options *o, struct provision *ret,
                   struct lodge_error **err)
{
        struct provision p = { 0 };
        int r = 0;

        /* The file first: options on the command line win. */
        if (o->provision_file)
                r = read_provision_file(&p, o->provision_file, err);
        if (r >= 0 && o->user)
                r = set_string(&p.user, o->user, err);
        if (r >= 0 && o->password_hash)
                r = set_string(&p.password_hash, o->password_hash, err);
        if (r >= 0 && o->timezone)
                r = set_string(&p.timezone, o->timezone, err);
        if (r >= 0 && o->ssh_key_file)
                r = set_string(&p.ssh_key_file, o->ssh_key_file, err);
        if (r >= 0 && o->run_once_file)
                r = set_string(&p.run_once_file, o->run_once_file, err);
        STRV_FOREACH (f, o->files)
                if (r >= 0)
                        r = add_file(&p, NULL, *f, err);
        if (r >= 0 && p.ssh_key_file)
                r = read_input("--ssh-key", p.ssh_key_file, &p.ssh_key, err);
        if (r >= 0 && p.run_once_file)
                r = read_input("--run-once", p.run_once_file, &p.run_once, err);
        for (char **f = p.files; r >= 0 && f && f[0]; f += 2)
                if (access(f[0], R_OK) < 0)
                        r = lodge_error_set(err, errno, "--file: '%s'", f[0]);
        p.view = (struct lodge_guest_provision){
                .user = p.user,
                .password_hash = p.password_hash,
                .ssh_key = p.ssh_key,
                .timezone = p.timezone,
                .run_once = p.run_once,
                .files = p.files,
        };
        if (r >= 0)
                r = lodge_template_provision_check(&p.view, err);
        if (r < 0) {
                provision_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

bool provision_is_empty(const struct provision *p)
{
        return !p->user && !p->password_hash && !p->timezone && !p->ssh_key && !p->run_once &&
               !p->files && !p->cloud_user_data && !p->cloud_meta_data && !p->cloud_network_config;
}

/* cloud-init.KEY: "@FILE" is the content of a host file, read now; anything
 * else is the content itself. */
static int cloud_value(const struct lodge_config *cfg, const char *key, char **ret,
                       struct lodge_error **err)
{
        const char *v;
        int r;

        if (lodge_config_get(cfg, key, &v, NULL) < 0)
                return 0;
        if (v[0] != '@') {
                *ret = strdup(v);
                return *ret ? 0 : lodge_error_set(err, ENOMEM, "%s", key);
        }
        r = read_file_at(AT_FDCWD, v + 1, 1 << 20, ret, NULL, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "%s", key);
        return 0;
}

int provision_load_cloud_init(struct provision *p, const struct lodge_config *cfg, const char *name,
                              struct lodge_error **err)
{
        int r;

        r = cloud_value(cfg, "cloud-init.user-data", &p->cloud_user_data, err);
        if (r >= 0)
                r = cloud_value(cfg, "cloud-init.meta-data", &p->cloud_meta_data, err);
        if (r >= 0)
                r = cloud_value(cfg, "cloud-init.network-config", &p->cloud_network_config, err);
        p->view.cloud_user_data = p->cloud_user_data;
        p->view.cloud_meta_data = p->cloud_meta_data;
        p->view.cloud_network_config = p->cloud_network_config;
        p->view.hostname = name;
        return r;
}
