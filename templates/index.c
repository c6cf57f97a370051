/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image-server indexes, both protocols: LXC's meta/1.0/index-system lines and
 * simplestreams' streams/v1/index.json + images.json. Everything here is
 * hostile input: each field is checked before it is kept, and every path is
 * one that stays inside the server's tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "templates/templates-internal.h"

#define FIELD_MAX 128
#define PATH_MAX_LEN 1024

DEFINE_CLEANUP_FUNC(struct json_value *, json_free)

/* Kernel, Debian and image-server spellings of one architecture. */
static const struct {
        const char *kernel, *debian;
} arches[] = {
        { "x86_64", "amd64" },    { "aarch64", "arm64" },       { "armv7l", "armhf" },
        { "i686", "i386" },       { "ppc64le", "ppc64el" },     { "s390x", "s390x" },
        { "riscv64", "riscv64" }, { "loongarch64", "loong64" },
};

const char *image_arch_debian(const char *name)
{
        for (size_t i = 0; name && i < ELEMENTSOF(arches); i++)
                if (strcmp(name, arches[i].kernel) == 0 || strcmp(name, arches[i].debian) == 0)
                        return arches[i].debian;
        if (name && (strcmp(name, "x86") == 0 || strcmp(name, "i386") == 0))
                return "i386";
        return NULL;
}

const char *image_arch_kernel(const char *name)
{
        for (size_t i = 0; name && i < ELEMENTSOF(arches); i++)
                if (strcmp(name, arches[i].kernel) == 0 || strcmp(name, arches[i].debian) == 0)
                        return arches[i].kernel;
        return NULL;
}

bool image_arch_equal(const char *a, const char *b)
{
        const char *da = image_arch_debian(a), *db = image_arch_debian(b);

        if (da && db)
                return strcmp(da, db) == 0;
        return a && b && strcmp(a, b) == 0;
}

void image_entry_done(struct image_entry *e)
{
        if (!e)
                return;
        free(e->dist);
        free(e->release);
        free(e->arch);
        free(e->variant);
        free(e->build);
        free(e->rootfs.path);
        free(e->meta.path);
        free(e->fingerprint);
        *e = (struct image_entry){ 0 };
}

void image_entries_free(struct image_entry *e, size_t n)
{
        for (size_t i = 0; e && i < n; i++)
                image_entry_done(&e[i]);
        free(e);
}

/* A name field: printable, no separators that mean something to us or to a
 * shell or a path. */
static bool field_ok(const char *s, size_t n, bool allow_colon)
{
        if (n == 0 || n > FIELD_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == '+' || (allow_colon && c == ':'))
                        continue;
                return false;
        }
        /* ".", "..", and "..." too: all dots is no name a server needs. */
        for (size_t i = 0; i < n; i++)
                if (s[i] != '.')
                        return true;
        return false;
}

bool image_path_ok(const char *path)
{
        size_t n = path ? strlen(path) : 0;
        const char *p = path;

        if (n == 0 || n > PATH_MAX_LEN)
                return false;
        /* One leading slash is the server's root; a second would be a
         * scheme-relative URL. */
        if (p[0] == '/')
                p++;
        if (*p == '/' || *p == '\0')
                return false;
        while (*p) {
                const char *end = strchr(p, '/');
                size_t len = end ? (size_t)(end - p) : strlen(p);

                if (!field_ok(p, len, true))
                        return false;
                p += len;
                if (*p == '/')
                        p++;
        }
        return true;
}

static char *join(const char *dir, const char *file)
{
        size_t n = strlen(dir);
        char *s = NULL;

        if (asprintf(&s, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", file) < 0)
                return NULL;
        return s;
}

/* dist;release;arch;variant;build;path, one per line. */
static int lxc_line(const char *line, size_t len, struct image_entry *e)
{
        const char *f[6];
        size_t fl[6], nf = 0;
        const char *p = line, *end = line + len;

        while (nf < 6) {
                /* The last field is the rest of the line: one more ';' is an error. */
                const char *semi = nf < 5 ? memchr(p, ';', (size_t)(end - p)) : NULL;

                f[nf] = p;
                fl[nf] = semi ? (size_t)(semi - p) : (size_t)(end - p);
                nf++;
                if (!semi)
                        break;
                p = semi + 1;
        }
        if (nf != 6 || memchr(f[5], ';', fl[5]))
                return -EINVAL;
        for (size_t i = 0; i < 5; i++)
                if (!field_ok(f[i], fl[i], i == 4))
                        return -EINVAL;
        if (fl[5] == 0 || fl[5] > PATH_MAX_LEN)
                return -EINVAL;
        e->dist = strndup(f[0], fl[0]);
        e->release = strndup(f[1], fl[1]);
        e->arch = strndup(f[2], fl[2]);
        e->variant = strndup(f[3], fl[3]);
        e->build = strndup(f[4], fl[4]);
        {
                cleanup_free char *dir = strndup(f[5], fl[5]);

                if (!dir || !e->dist || !e->release || !e->arch || !e->variant || !e->build)
                        return -ENOMEM;
                if (!image_path_ok(dir))
                        return -EACCES;
                e->rootfs.path = join(dir, "rootfs.tar.xz");
                e->meta.path = join(dir, "meta.tar.xz");
        }
        if (!e->rootfs.path || !e->meta.path)
                return -ENOMEM;
        return 0;
}

int index_lxc_parse(const char *buf, size_t len, struct image_entry **ret, size_t *ret_n,
                    struct lodge_error **err)
{
        struct image_entry *v = NULL;
        size_t n = 0, lineno = 0;
        const char *p = buf, *end = buf + len;
        int r = 0;

        if (memchr(buf, '\0', len))
                return lodge_error_set(err, EINVAL, "the LXC index holds a NUL byte");
        while (p < end && r >= 0) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
                struct image_entry *grown;

                lineno++;
                if (l > 0 && p[l - 1] == '\r')
                        l--;
                if (l == 0 || p[0] == '#') {
                        p = nl ? nl + 1 : end;
                        continue;
                }
                grown = reallocarray(v, n + 1, sizeof(*v));
                if (!grown) {
                        r = lodge_error_set(err, ENOMEM, "LXC index");
                        break;
                }
                v = grown;
                v[n] = (struct image_entry){ 0 };
                r = lxc_line(p, l, &v[n]);
                n++;
                if (r == -EACCES)
                        r = lodge_error_set(err, EACCES,
                                            "LXC index line %zu: a path outside the server's tree",
                                            lineno);
                else if (r == -ENOMEM)
                        r = lodge_error_set(err, ENOMEM, "LXC index");
                else if (r < 0)
                        r = lodge_error_set(err, EINVAL, "LXC index line %zu: malformed", lineno);
                p = nl ? nl + 1 : end;
        }
        if (r < 0) {
                image_entries_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int index_ss_images_path(const char *buf, size_t len, char **ret, struct lodge_error **err)
{
        CLEANUP(json_freep) struct json_value *doc = NULL;
        const struct json_value *idx;
        int r;

        r = json_parse(buf, len, &doc);
        if (r < 0)
                return lodge_error_set(err, -r, "simplestreams index.json: not valid JSON");
        idx = json_get(doc, "index");
        if (!idx || idx->type != JSON_OBJECT)
                return lodge_error_set(err, EINVAL, "simplestreams index.json: no 'index'");
        for (size_t i = 0; i < idx->n_items; i++) {
                const struct json_value *s = &idx->items[i];
                const char *dt = json_get_string(s, "datatype"), *path = json_get_string(s, "path");

                if (!dt || strcmp(dt, "image-downloads") != 0)
                        continue;
                if (!path || !image_path_ok(path))
                        return lodge_error_set(err, EACCES,
                                               "simplestreams index.json: a bad or escaping path");
                *ret = strdup(path);
                return *ret ? 0 : lodge_error_set(err, ENOMEM, "simplestreams index.json");
        }
        return lodge_error_set(err, ENOENT, "simplestreams index.json: no image-downloads stream");
}

static bool is_sha256(const char *s)
{
        if (!s || strlen(s) != 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static int ss_item(const struct json_value *it, struct image_file *f)
{
        const char *path = json_get_string(it, "path"), *sha = json_get_string(it, "sha256");

        if (!path || !image_path_ok(path))
                return -EACCES;
        if (!is_sha256(sha) || json_get_u64(it, "size", &f->size) < 0)
                return -EINVAL;
        memcpy(f->sha256, sha, 65);
        f->path = strdup(path);
        return f->path ? 0 : -ENOMEM;
}

/* The newest version of a product (version keys sort as build serials) that
 * has a rootfs tarball; its rootfs and metadata items. */
static int ss_product(const struct json_value *prod, struct image_entry *e)
{
        const struct json_value *versions = json_get(prod, "versions"), *best = NULL;
        const struct json_value *root = NULL, *meta = NULL;
        const char *fields[4] = { json_get_string(prod, "os"), json_get_string(prod, "release"),
                                  json_get_string(prod, "arch"), json_get_string(prod, "variant") };
        int r;

        for (size_t i = 0; i < 4; i++)
                if (!fields[i] || !field_ok(fields[i], strlen(fields[i]), false))
                        return -EINVAL;
        if (!versions || versions->type != JSON_OBJECT)
                return -EINVAL;
        for (size_t i = 0; i < versions->n_items; i++) {
                const struct json_value *v = &versions->items[i];
                const struct json_value *items = json_get(v, "items");
                const struct json_value *rt = NULL, *mt = NULL;

                if (!field_ok(v->key, strlen(v->key), true) || !items || items->type != JSON_OBJECT)
                        continue;
                for (size_t j = 0; j < items->n_items; j++) {
                        const char *ft = json_get_string(&items->items[j], "ftype");

                        if (ft && strcmp(ft, "root.tar.xz") == 0)
                                rt = &items->items[j];
                        else if (ft && (strcmp(ft, "lxc.tar.xz") == 0 ||
                                        (!mt && (strcmp(ft, "incus.tar.xz") == 0 ||
                                                 strcmp(ft, "lxd.tar.xz") == 0))))
                                mt = &items->items[j];
                }
                if (rt && (!best || strcmp(v->key, best->key) > 0)) {
                        best = v;
                        root = rt;
                        meta = mt;
                }
        }
        if (!best)
                return -ENOENT;
        e->dist = strdup(fields[0]);
        e->release = strdup(fields[1]);
        e->arch = strdup(fields[2]);
        e->variant = strdup(fields[3]);
        e->build = strdup(best->key);
        if (!e->dist || !e->release || !e->arch || !e->variant || !e->build)
                return -ENOMEM;
        /* Lower-case os names ("Debian" in lxc-ci's feed; "debian" on the CLI). */
        for (char *c = e->dist; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char)(*c - 'A' + 'a');
        r = ss_item(root, &e->rootfs);
        if (r >= 0 && meta) {
                const char *ft = json_get_string(meta, "ftype"),
                           *comb = json_get_string(meta, "combined_rootxz_sha256");

                r = ss_item(meta, &e->meta);
                e->meta_is_lxc = ft && strcmp(ft, "lxc.tar.xz") == 0;
                if (r >= 0 && is_sha256(comb)) {
                        e->fingerprint = strdup(comb);
                        if (!e->fingerprint)
                                r = -ENOMEM;
                }
        }
        return r;
}

int index_ss_parse(const char *buf, size_t len, struct image_entry **ret, size_t *ret_n,
                   struct lodge_error **err)
{
        CLEANUP(json_freep) struct json_value *doc = NULL;
        const struct json_value *products;
        struct image_entry *v = NULL;
        size_t n = 0;
        int r;

        r = json_parse(buf, len, &doc);
        if (r < 0)
                return lodge_error_set(err, -r, "simplestreams images.json: not valid JSON");
        products = json_get(doc, "products");
        if (!products || products->type != JSON_OBJECT)
                return lodge_error_set(err, EINVAL, "simplestreams images.json: no 'products'");
        v = calloc(products->n_items + 1, sizeof(*v));
        if (!v)
                return lodge_error_set(err, ENOMEM, "simplestreams images.json");
        for (size_t i = 0; i < products->n_items; i++) {
                r = ss_product(&products->items[i], &v[n]);
                if (r == -ENOENT || r == -EINVAL) {
                        /* Not a container image, or not one we can read: not listed. */
                        image_entry_done(&v[n]);
                        continue;
                }
                n++;
                if (r < 0) {
                        image_entries_free(v, n);
                        if (r == -EACCES)
                                return lodge_error_set(err, EACCES,
                                                       "simplestreams product '%s': a path "
                                                       "outside the server's tree",
                                                       products->items[i].key);
                        return lodge_error_set(err, -r, "simplestreams images.json");
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

const struct image_entry *image_entry_find(const struct image_entry *v, size_t n, const char *dist,
                                           const char *release, const char *arch,
                                           const char *variant)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].dist, dist) == 0 && strcmp(v[i].release, release) == 0 &&
                    image_arch_equal(v[i].arch, arch) && strcmp(v[i].variant, variant) == 0)
                        return &v[i];
        return NULL;
}
