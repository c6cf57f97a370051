/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/config-internal.h"

/* The document is the truth: a list of lines kept as written. The typed
 * struct is a view rebuilt from all lines after every change, so set/unset
 * can't drift from what parse would make of the written file, and a change
 * that fails leaves the old document and view in place. */

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

static void line_done(struct conf_line *l)
{
        free(l->text);
        free(l->key);
        free(l->value);
        *l = (struct conf_line){ 0 };
}

static void doc_free(struct lodge_config_doc *doc)
{
        if (!doc)
                return;
        for (size_t i = 0; i < doc->n_lines; i++)
                line_done(&doc->lines[i]);
        free(doc->lines);
        free(doc);
}

DEFINE_CLEANUP_FUNC(struct lodge_config_doc *, doc_free)

/* Classify one line (len bytes, without its newline) and split a
 * "key = value" line. On failure l holds nothing. */
static int line_init(struct conf_line *l, const char *text, size_t len)
{
        const char *s, *eq, *key_end, *v, *e;

        *l = (struct conf_line){ .kind = CONF_LINE_BLANK };
        if (len > 0 && memchr(text, '\0', len)) {
                l->kind = CONF_LINE_NUL;
                len = strnlen(text, len);
        }
        l->text = strndup(text, len);
        if (!l->text)
                return -ENOMEM;
        if (l->kind == CONF_LINE_NUL)
                return 0;

        for (s = l->text; is_blank(*s); s++)
                ;
        if (*s == '\0')
                return 0;
        if (*s == '#') {
                l->kind = CONF_LINE_COMMENT;
                return 0;
        }
        eq = strchr(s, '=');
        if (!eq || eq == s) {
                l->kind = CONF_LINE_SYNTAX;
                return 0;
        }
        for (key_end = eq; key_end > s && is_blank(key_end[-1]); key_end--)
                ;
        for (v = eq + 1; is_blank(*v); v++)
                ;
        for (e = l->text + len; e > v && is_blank(e[-1]); e--)
                ;
        l->kind = CONF_LINE_KEY;
        l->key = strndup(s, (size_t)(key_end - s));
        l->value = strndup(v, (size_t)(e - v));
        if (!l->key || !l->value) {
                line_done(l);
                return -ENOMEM;
        }
        return 0;
}

static int line_copy(struct conf_line *l, const struct conf_line *from)
{
        *l = (struct conf_line){
                .text = strdup(from->text),
                .key = from->key ? strdup(from->key) : NULL,
                .value = from->value ? strdup(from->value) : NULL,
                .kind = from->kind,
        };
        if (!l->text || (from->key && !l->key) || (from->value && !l->value)) {
                line_done(l);
                return -ENOMEM;
        }
        return 0;
}

static struct lodge_config_doc *doc_new(size_t n_lines)
{
        struct lodge_config_doc *doc = calloc(1, sizeof(*doc));

        if (!doc)
                return NULL;
        doc->lines = calloc(n_lines ? n_lines : 1, sizeof(struct conf_line));
        if (!doc->lines) {
                free(doc);
                return NULL;
        }
        return doc;
}

static int doc_from_text(const char *text, size_t len, struct lodge_config_doc **ret)
{
        CLEANUP(doc_freep) struct lodge_config_doc *doc = NULL;
        size_t n = 0;

        for (const char *p = text, *end = text + len; p < end; n++) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                p = nl ? nl + 1 : end;
        }
        doc = doc_new(n);
        if (!doc)
                return -ENOMEM;
        for (const char *p = text, *end = text + len; p < end;) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
                int r;

                r = line_init(&doc->lines[doc->n_lines], p, l);
                if (r < 0)
                        return r;
                doc->n_lines++;
                p = nl ? nl + 1 : end;
        }
        *ret = TAKE_PTR(doc);
        return 0;
}

/* A copy of doc with line idx replaced by text, removed (text NULL) or, for
 * idx == n_lines, text appended. */
static int doc_edit(const struct lodge_config_doc *old, size_t idx, const char *text,
                    struct lodge_config_doc **ret)
{
        CLEANUP(doc_freep) struct lodge_config_doc *doc = doc_new(old->n_lines + 1);

        if (!doc)
                return -ENOMEM;
        for (size_t i = 0; i <= old->n_lines; i++) {
                struct conf_line *l = &doc->lines[doc->n_lines];
                int r = 0;

                if (i == idx && text)
                        r = line_init(l, text, strlen(text));
                else if (i == idx || i == old->n_lines)
                        continue;
                else
                        r = line_copy(l, &old->lines[i]);
                if (r < 0)
                        return r;
                doc->n_lines++;
        }
        *ret = TAKE_PTR(doc);
        return 0;
}

static size_t doc_find(const struct lodge_config_doc *doc, const char *key)
{
        for (size_t i = 0; i < doc->n_lines; i++)
                if (doc->lines[i].kind == CONF_LINE_KEY && strcmp(doc->lines[i].key, key) == 0)
                        return i;
        return SIZE_MAX;
}

struct key_ref {
        const char *key;
        size_t line;
};

static int key_ref_cmp(const void *a, const void *b)
{
        const struct key_ref *x = a, *y = b;
        int c = strcmp(x->key, y->key);

        if (c != 0)
                return c;
        return x->line < y->line ? -1 : x->line > y->line;
}

/* The first line (in file order) that repeats a key of an earlier line, and
 * that earlier line; *ret_dup is SIZE_MAX when there is none. Sorting keeps
 * this O(n log n): a file may have tens of thousands of environment keys. */
static int find_duplicate(const struct lodge_config_doc *doc, size_t *ret_dup, size_t *ret_first)
{
        cleanup_free struct key_ref *refs = NULL;
        size_t n = 0;

        *ret_dup = SIZE_MAX;
        refs = calloc(doc->n_lines ? doc->n_lines : 1, sizeof(*refs));
        if (!refs)
                return -ENOMEM;
        for (size_t i = 0; i < doc->n_lines; i++)
                if (doc->lines[i].kind == CONF_LINE_KEY)
                        refs[n++] = (struct key_ref){ doc->lines[i].key, i };
        qsort(refs, n, sizeof(*refs), key_ref_cmp);
        for (size_t i = 1; i < n; i++)
                if (strcmp(refs[i - 1].key, refs[i].key) == 0 && refs[i].line < *ret_dup) {
                        *ret_dup = refs[i].line;
                        *ret_first = refs[i - 1].line;
                }
        return 0;
}

static struct lodge_config *config_alloc(void)
{
        struct lodge_config *cfg = calloc(1, sizeof(*cfg));

        if (cfg)
                cfg->security.idmap_isolated = true; /* the default when unset */
        return cfg;
}

/* Add "FILE:LINE" to an error about line idx (0-based). Without a filename
 * (set/unset) the error stays "key 'K': why". */
static int fail_at(struct lodge_error **err, int r, const char *filename, size_t idx,
                   unsigned *reterr_line)
{
        if (!filename)
                return r;
        if (reterr_line)
                *reterr_line = (unsigned)(idx + 1);
        return lodge_error_prefix(err, r, "%s:%zu", filename, idx + 1);
}

static int build_line(struct lodge_config *cfg, const struct conf_line *l, size_t dup, size_t first,
                      size_t idx, struct conf_build *b, struct lodge_error **err)
{
        const struct conf_key *k;
        unsigned index;
        int r;

        switch (l->kind) {
        case CONF_LINE_BLANK:
        case CONF_LINE_COMMENT:
                return 0;
        case CONF_LINE_NUL:
                return lodge_error_set(err, EINVAL, "contains a NUL byte");
        case CONF_LINE_SYNTAX:
                return lodge_error_set(err, EINVAL, "expected 'key = value'");
        case CONF_LINE_KEY:
                break;
        }
        if (idx == dup)
                return lodge_error_set(err, EINVAL, "key '%s': already set on line %zu", l->key,
                                       first + 1);
        r = config_key_resolve(l->key, &k, &index, err);
        if (r >= 0)
                r = config_store(cfg, k, index, l->key, l->value, b, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "key '%s'", l->key);
        return 0;
}

/* The typed view of doc: every line stored, then the rules between keys. */
static int build(const struct lodge_config_doc *doc, const char *filename,
                 struct lodge_config **ret, unsigned *reterr_line, struct lodge_error **err)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = config_alloc();
        struct conf_build b = { 0 };
        size_t dup = SIZE_MAX, first = 0, bad = 0;
        int r;

        if (!cfg)
                return lodge_error_set(err, ENOMEM, "out of memory");
        r = find_duplicate(doc, &dup, &first);
        if (r < 0)
                return lodge_error_set(err, -r, "out of memory");
        for (size_t i = 0; i < doc->n_lines; i++) {
                r = build_line(cfg, &doc->lines[i], dup, first, i, &b, err);
                if (r < 0)
                        return fail_at(err, r, filename, i, reterr_line);
        }
        r = config_check_cross(cfg, doc, &bad, err);
        if (r < 0)
                return fail_at(err, r, filename, bad, reterr_line);
        *ret = TAKE_PTR(cfg);
        return 0;
}

/* Drop the lines that set key. */
static void doc_drop_key(struct lodge_config_doc *doc, const char *key)
{
        size_t n = 0;

        for (size_t i = 0; i < doc->n_lines; i++) {
                if (doc->lines[i].kind == CONF_LINE_KEY && strcmp(doc->lines[i].key, key) == 0)
                        line_done(&doc->lines[i]);
                else
                        doc->lines[n++] = doc->lines[i];
        }
        doc->n_lines = n;
}

/* Parse text, without the lines that set without (when not NULL). */
static int parse(const char *text, size_t len, const char *filename, const char *without,
                 struct lodge_config **ret, unsigned *reterr_line, struct lodge_error **err)
{
        CLEANUP(doc_freep) struct lodge_config_doc *doc = NULL;
        struct lodge_config *cfg = NULL;
        int r;

        if (!filename)
                filename = "config";
        if (len > (size_t)LODGE_CONFIG_MAX_SIZE) {
                if (reterr_line)
                        *reterr_line = 0;
                return lodge_error_set(err, EINVAL, "%s: larger than %d bytes", filename,
                                       LODGE_CONFIG_MAX_SIZE);
        }
        r = doc_from_text(text, len, &doc);
        if (r < 0)
                return lodge_error_set(err, -r, "%s: out of memory", filename);
        if (without)
                doc_drop_key(doc, without);
        r = build(doc, filename, &cfg, reterr_line, err);
        if (r < 0)
                return r;
        cfg->doc = TAKE_PTR(doc);
        *ret = cfg;
        return 0;
}

int lodge_config_parse(const char *text, size_t len, const char *filename,
                       struct lodge_config **ret, unsigned *reterr_line, struct lodge_error **err)
{
        return parse(text, len, filename, NULL, ret, reterr_line, err);
}

int lodge_config_new(struct lodge_config **ret, struct lodge_error **err)
{
        CLEANUP(lodge_config_freep) struct lodge_config *cfg = config_alloc();

        if (!cfg)
                return lodge_error_set(err, ENOMEM, "out of memory");
        cfg->doc = doc_new(0);
        if (!cfg->doc)
                return lodge_error_set(err, ENOMEM, "out of memory");
        *ret = TAKE_PTR(cfg);
        return 0;
}

int lodge_config_load_without_at(int dirfd, const char *name, const char *display_name,
                                 const char *key, struct lodge_config **ret,
                                 struct lodge_error **err)
{
        cleanup_free char *text = NULL;
        size_t len = 0;
        int r;

        if (!display_name)
                display_name = name;
        r = read_file_at(dirfd, name, (size_t)LODGE_CONFIG_MAX_SIZE, &text, &len, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "load '%s'", display_name);
        return parse(text, len, display_name, key, ret, NULL, err);
}

int lodge_config_load_at(int dirfd, const char *name, const char *display_name,
                         struct lodge_config **ret, struct lodge_error **err)
{
        return lodge_config_load_without_at(dirfd, name, display_name, NULL, ret, err);
}

int lodge_config_format(const struct lodge_config *cfg, char **ret, struct lodge_error **err)
{
        const struct lodge_config_doc *doc = cfg->doc;
        size_t total = 1;
        char *buf, *p;

        for (size_t i = 0; i < doc->n_lines; i++)
                total += strlen(doc->lines[i].text) + 1;
        buf = malloc(total);
        if (!buf)
                return lodge_error_set(err, ENOMEM, "format config: out of memory");
        p = buf;
        for (size_t i = 0; i < doc->n_lines; i++) {
                size_t n = strlen(doc->lines[i].text);

                memcpy(p, doc->lines[i].text, n);
                p += n;
                *p++ = '\n';
        }
        *p = '\0';
        *ret = buf;
        return 0;
}

static int config_write(const struct lodge_config *cfg, int dirfd, const char *name, bool sync,
                        struct lodge_error **err)
{
        cleanup_free char *text = NULL;
        int r;

        r = lodge_config_format(cfg, &text, err);
        if (r < 0)
                return r;
        assert(text);
        return (sync ? write_file_atomic_at : write_file_replace_at)(dirfd, name, text,
                                                                     strlen(text), 0600, err);
}

int lodge_config_write_at(const struct lodge_config *cfg, int dirfd, const char *name,
                          struct lodge_error **err)
{
        return config_write(cfg, dirfd, name, true, err);
}

int lodge_config_write_new_at(const struct lodge_config *cfg, int dirfd, const char *name,
                              struct lodge_error **err)
{
        return config_write(cfg, dirfd, name, false, err);
}

/* The line of a known key that is set: -EINVAL unknown, -ENOENT not set. */
static int find_set_key(const struct lodge_config *cfg, const char *key, size_t *ret,
                        struct lodge_error **err)
{
        const struct conf_key *k;
        unsigned index;
        size_t i;
        int r;

        r = config_key_resolve(key, &k, &index, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "key '%s'", key);
        i = doc_find(cfg->doc, key);
        if (i == SIZE_MAX)
                return lodge_error_set(err, ENOENT, "key '%s': not set", key);
        *ret = i;
        return 0;
}

int lodge_config_get(const struct lodge_config *cfg, const char *key, const char **ret,
                     struct lodge_error **err)
{
        size_t i;
        int r;

        r = find_set_key(cfg, key, &i, err);
        if (r < 0)
                return r;
        *ret = cfg->doc->lines[i].value;
        return 0;
}

/* Make doc (taken) the config's document if it builds; else keep the old. */
static int commit(struct lodge_config *cfg, struct lodge_config_doc *doc, struct lodge_error **err)
{
        CLEANUP(doc_freep) struct lodge_config_doc *d = doc;
        struct lodge_config *fresh = NULL;
        int r;

        r = build(d, NULL, &fresh, NULL, err);
        if (r < 0)
                return r;
        assert(fresh);
        config_free_fields(cfg);
        doc_free(cfg->doc);
        *cfg = *fresh;
        cfg->doc = TAKE_PTR(d);
        free(fresh);
        return 0;
}

/* A copy of doc with key set to value (its line replaced, or appended). */
static int doc_set(const struct lodge_config_doc *old, const char *key, const char *value,
                   struct lodge_config_doc **ret, struct lodge_error **err)
{
        cleanup_free char *text = NULL;
        const struct conf_key *k;
        unsigned index;
        size_t i, len;
        int r;

        r = config_key_resolve(key, &k, &index, err);
        if (r < 0)
                return lodge_error_prefix(err, r, "key '%s'", key);

        /* Trimmed as the parser would trim the written line. */
        while (is_blank(*value))
                value++;
        for (len = strlen(value); len > 0 && is_blank(value[len - 1]); len--)
                ;
        if (len == 0)
                r = asprintf(&text, "%s =", key);
        else
                r = asprintf(&text, "%s = %.*s", key, (int)len, value);
        if (r < 0) {
                text = NULL;
                return lodge_error_set(err, ENOMEM, "key '%s': out of memory", key);
        }

        i = doc_find(old, key);
        r = doc_edit(old, i == SIZE_MAX ? old->n_lines : i, text, ret);
        if (r < 0)
                return lodge_error_set(err, -r, "key '%s': out of memory", key);
        return 0;
}

int lodge_config_set(struct lodge_config *cfg, const char *key, const char *value,
                     struct lodge_error **err)
{
        struct lodge_config_doc *doc = NULL;
        int r;

        r = doc_set(cfg->doc, key, value, &doc, err);
        if (r < 0)
                return r;
        return commit(cfg, doc, err);
}

/* "KEY=VALUE" → key (allocated) and a pointer to the value inside a. */
static int split_assignment(const char *a, char **ret_key, const char **ret_value,
                            struct lodge_error **err)
{
        const char *eq = strchr(a, '='), *s = a, *e = eq;

        if (!eq)
                return lodge_error_set(err, EINVAL, "'%s' is not KEY=VALUE", a);
        while (s < e && is_blank(*s))
                s++;
        while (e > s && is_blank(e[-1]))
                e--;
        *ret_key = strndup(s, (size_t)(e - s));
        if (!*ret_key)
                return lodge_error_set(err, ENOMEM, "out of memory");
        *ret_value = eq + 1;
        return 0;
}

int lodge_config_set_all(struct lodge_config *cfg, char *const *assignments,
                         struct lodge_error **err)
{
        CLEANUP(doc_freep) struct lodge_config_doc *doc = NULL;

        for (size_t n = 0; assignments && assignments[n]; n++) {
                cleanup_free char *key = NULL;
                struct lodge_config_doc *next = NULL;
                const char *value;
                int r;

                r = split_assignment(assignments[n], &key, &value, err);
                if (r >= 0)
                        r = doc_set(doc ? doc : cfg->doc, key, value, &next, err);
                if (r < 0)
                        return r;
                doc_free(doc);
                doc = next;
        }
        /* The rules between keys hold for the result, not for each step. */
        return doc ? commit(cfg, TAKE_PTR(doc), err) : 0;
}

int lodge_config_unset(struct lodge_config *cfg, const char *key, struct lodge_error **err)
{
        CLEANUP(doc_freep) struct lodge_config_doc *doc = NULL;
        size_t i;
        int r;

        r = find_set_key(cfg, key, &i, err);
        if (r < 0)
                return r;
        r = doc_edit(cfg->doc, i, NULL, &doc);
        if (r < 0)
                return lodge_error_set(err, -r, "key '%s': out of memory", key);
        return commit(cfg, TAKE_PTR(doc), err);
}

int lodge_config_set_assignment(struct lodge_config *cfg, const char *assignment,
                                struct lodge_error **err)
{
        cleanup_free char *key = NULL;
        const char *value;
        int r;

        r = split_assignment(assignment, &key, &value, err);
        if (r < 0)
                return r;
        return lodge_config_set(cfg, key, value, err);
}

bool lodge_config_key_known(const char *key)
{
        const struct conf_key *k;
        unsigned index;

        return config_key_resolve(key, &k, &index, NULL) >= 0;
}

int lodge_config_foreach(const struct lodge_config *cfg, lodge_config_each_cb cb, void *userdata)
{
        for (size_t i = 0; i < cfg->doc->n_lines; i++) {
                const struct conf_line *l = &cfg->doc->lines[i];
                int r;

                if (l->kind != CONF_LINE_KEY)
                        continue;
                r = cb(l->key, l->value, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

void lodge_config_free(struct lodge_config *cfg)
{
        if (!cfg)
                return;
        config_free_fields(cfg);
        doc_free(cfg->doc);
        free(cfg);
}
