/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/host-conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"

#define HOST_CONF_MAX (1U << 20)

struct conf_key {
        const char *name;
        size_t offset; /* of its char * in struct host_conf */
};

static const struct conf_key keys[] = {
        { "image.ca", offsetof(struct host_conf, image_ca) },
        { "image.keyring", offsetof(struct host_conf, image_keyring) },
        { "idmap.pool", offsetof(struct host_conf, idmap_pool) },
        { "image.server", offsetof(struct host_conf, image_server) },
        { "network.default", offsetof(struct host_conf, network_default) },
        { "network.default.ipv4", offsetof(struct host_conf, network_default_ipv4) },
        { "network.default.ipv6", offsetof(struct host_conf, network_default_ipv6) },
};

static const struct conf_key *key_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strcmp(keys[i].name, name) == 0)
                        return &keys[i];
        return NULL;
}

static char *trim(char *s)
{
        char *end;

        s += strspn(s, " \t");
        for (end = s + strlen(s); end > s && strchr(" \t\r", end[-1]); end--)
                ;
        *end = '\0';
        return s;
}

static int read_line(const char *path, unsigned lineno, char *line, struct host_conf *c,
                     struct lodge_error **err)
{
        char *k = trim(line), *eq, *v, **slot;
        const struct conf_key *key;

        if (*k == '#' || *k == '\0')
                return 0;
        eq = strchr(k, '=');
        if (!eq)
                return lodge_error_set(err, EINVAL, "'%s' line %u: not 'key = value'", path,
                                       lineno);
        *eq = '\0';
        k = trim(k);
        v = trim(eq + 1);
        key = key_find(k);
        if (!key)
                return lodge_error_set(err, EINVAL, "'%s' line %u: unknown key '%s'", path, lineno,
                                       k);
        if (!*v)
                return lodge_error_set(err, EINVAL, "'%s' line %u: '%s' is empty", path, lineno, k);
        slot = (char **)((char *)c + key->offset);
        free(*slot);
        *slot = strdup(v);
        if (!*slot)
                return lodge_error_set(err, ENOMEM, "read '%s'", path);
        return 0;
}

static bool is_dev_null(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

int host_conf_read(const char *path, struct host_conf *ret, struct lodge_error **err)
{
        cleanup_free char *text = NULL;
        char *next;
        unsigned lineno = 0;
        int r;

        *ret = (struct host_conf){ 0 };
        if (!path || is_dev_null(path))
                return 0; /* LODGE_CONF=/dev/null: none, as the idiom means */
        r = read_file_at(AT_FDCWD, path, HOST_CONF_MAX, &text, NULL, err);
        if (r == -ENOENT) {
                lodge_error_free(err);
                return 0;
        }
        if (r < 0)
                return r;
        /* Line by line, empty ones counted: the numbers are the editor's. */
        for (char *line = text; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                lineno++;
                r = read_line(path, lineno, line, ret, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

void host_conf_done(struct host_conf *c)
{
        free(c->image_ca);
        free(c->image_keyring);
        free(c->image_server);
        free(c->network_default);
        free(c->network_default_ipv4);
        free(c->network_default_ipv6);
        free(c->idmap_pool);
        *c = (struct host_conf){ 0 };
}
