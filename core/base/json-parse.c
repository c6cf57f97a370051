/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small, strict JSON reader: a whole document into a tree. Recursive, with
 * the depth bounded, since its input comes from image servers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/json.h"

struct parser {
        const char *p, *end;
        unsigned depth;
};

static void value_done(struct json_value *v)
{
        for (size_t i = 0; i < v->n_items; i++)
                value_done(&v->items[i]);
        free(v->items);
        free(v->key);
        free(v->str);
}

void json_free(struct json_value *v)
{
        if (!v)
                return;
        value_done(v);
        free(v);
}

static void skip_ws(struct parser *ps)
{
        while (ps->p < ps->end &&
               (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
                ps->p++;
}

static int hex4(struct parser *ps, unsigned *ret)
{
        unsigned v = 0;

        if (ps->end - ps->p < 4)
                return -EINVAL;
        for (int i = 0; i < 4; i++) {
                char c = *ps->p++;

                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned)(c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* At the opening quote. The result is never longer than the input. */
static int parse_string(struct parser *ps, char **ret)
{
        const char *start = ++ps->p;
        char *out, *o;

        out = malloc((size_t)(ps->end - start) + 1);
        if (!out)
                return -ENOMEM;
        o = out;
        while (ps->p < ps->end && *ps->p != '"') {
                unsigned char c = (unsigned char)*ps->p;
                unsigned cp, lo;
                size_t n;

                if (c < 0x20)
                        goto bad;
                if (c != '\\') {
                        n = json_utf8_len((const unsigned char *)ps->p,
                                          (const unsigned char *)ps->end);
                        if (n == 0)
                                goto bad;
                        memcpy(o, ps->p, n);
                        o += n;
                        ps->p += n;
                        continue;
                }
                if (++ps->p >= ps->end)
                        goto bad;
                c = (unsigned char)*ps->p++;
                switch (c) {
                case '"':
                case '\\':
                case '/':
                        *o++ = (char)c;
                        break;
                case 'b':
                        *o++ = '\b';
                        break;
                case 'f':
                        *o++ = '\f';
                        break;
                case 'n':
                        *o++ = '\n';
                        break;
                case 'r':
                        *o++ = '\r';
                        break;
                case 't':
                        *o++ = '\t';
                        break;
                case 'u':
                        if (hex4(ps, &cp) < 0 || cp == 0 || (cp >= 0xdc00 && cp < 0xe000))
                                goto bad;
                        if (cp >= 0xd800 && cp < 0xdc00) {
                                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u')
                                        goto bad;
                                ps->p += 2;
                                if (hex4(ps, &lo) < 0 || lo < 0xdc00 || lo >= 0xe000)
                                        goto bad;
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        }
                        /* \uXXXX is 6 input bytes, at most 4 output bytes. */
                        o += put_utf8(o, cp);
                        break;
                default:
                        goto bad;
                }
        }
        if (ps->p >= ps->end)
                goto bad;
        ps->p++;
        *o = '\0';
        *ret = out;
        return 0;
bad:
        free(out);
        return -EINVAL;
}

static int parse_number(struct parser *ps, struct json_value *v)
{
        const char *s = ps->p;

        if (ps->p < ps->end && *ps->p == '-')
                ps->p++;
        if (ps->p >= ps->end)
                return -EINVAL;
        if (*ps->p == '0')
                ps->p++;
        else if (*ps->p >= '1' && *ps->p <= '9')
                while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
                        ps->p++;
        else
                return -EINVAL;
        if (ps->p < ps->end && *ps->p == '.') {
                ps->p++;
                if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
                        return -EINVAL;
                while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
                        ps->p++;
        }
        if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
                ps->p++;
                if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
                        ps->p++;
                if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
                        return -EINVAL;
                while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
                        ps->p++;
        }
        v->type = JSON_NUMBER;
        v->str = strndup(s, (size_t)(ps->p - s));
        return v->str ? 0 : -ENOMEM;
}

static int parse_value(struct parser *ps, struct json_value *v);

static int push(struct json_value *v, size_t *cap, struct json_value **ret)
{
        if (v->n_items == *cap) {
                size_t ncap = *cap ? *cap * 2 : 4;
                struct json_value *n = reallocarray(v->items, ncap, sizeof(*n));

                if (!n)
                        return -ENOMEM;
                v->items = n;
                *cap = ncap;
        }
        *ret = &v->items[v->n_items++];
        **ret = (struct json_value){ 0 };
        return 0;
}

/* At '[' or '{'. */
static int parse_container(struct parser *ps, struct json_value *v)
{
        char close = *ps->p == '[' ? ']' : '}';
        size_t cap = 0;
        int r;

        if (++ps->depth > JSON_MAX_DEPTH)
                return -E2BIG;
        v->type = close == ']' ? JSON_ARRAY : JSON_OBJECT;
        ps->p++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == close) {
                ps->p++;
                ps->depth--;
                return 0;
        }
        for (;;) {
                struct json_value *item;

                r = push(v, &cap, &item);
                if (r < 0)
                        return r;
                skip_ws(ps);
                if (close == '}') {
                        if (ps->p >= ps->end || *ps->p != '"')
                                return -EINVAL;
                        r = parse_string(ps, &item->key);
                        if (r < 0)
                                return r;
                        skip_ws(ps);
                        if (ps->p >= ps->end || *ps->p != ':')
                                return -EINVAL;
                        ps->p++;
                }
                r = parse_value(ps, item);
                if (r < 0)
                        return r;
                skip_ws(ps);
                if (ps->p >= ps->end)
                        return -EINVAL;
                if (*ps->p == ',') {
                        ps->p++;
                        continue;
                }
                if (*ps->p != close)
                        return -EINVAL;
                ps->p++;
                ps->depth--;
                return 0;
        }
}

static int literal(struct parser *ps, const char *word)
{
        size_t n = strlen(word);

        if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
                return -EINVAL;
        ps->p += n;
        return 0;
}

static int parse_value(struct parser *ps, struct json_value *v)
{
        skip_ws(ps);
        if (ps->p >= ps->end)
                return -EINVAL;
        switch (*ps->p) {
        case '{':
        case '[':
                return parse_container(ps, v);
        case '"':
                v->type = JSON_STRING;
                return parse_string(ps, &v->str);
        case 't':
                v->type = JSON_BOOL;
                v->boolean = true;
                return literal(ps, "true");
        case 'f':
                v->type = JSON_BOOL;
                return literal(ps, "false");
        case 'n':
                v->type = JSON_NULL;
                return literal(ps, "null");
        default:
                return parse_number(ps, v);
        }
}

int json_parse(const char *text, size_t len, struct json_value **ret)
{
        struct parser ps = { .p = text, .end = text + len };
        struct json_value *v = calloc(1, sizeof(*v));
        int r;

        if (!v)
                return -ENOMEM;
        r = parse_value(&ps, v);
        if (r >= 0) {
                skip_ws(&ps);
                if (ps.p != ps.end)
                        r = -EINVAL;
        }
        if (r < 0) {
                json_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
        if (!v || v->type != JSON_OBJECT)
                return NULL;
        for (size_t i = 0; i < v->n_items; i++)
                if (strcmp(v->items[i].key, key) == 0)
                        return &v->items[i];
        return NULL;
}

const char *json_get_string(const struct json_value *v, const char *key)
{
        const struct json_value *m = json_get(v, key);

        return m && m->type == JSON_STRING ? m->str : NULL;
}

int json_get_u64(const struct json_value *v, const char *key, uint64_t *ret)
{
        const struct json_value *m = json_get(v, key);
        uint64_t x = 0;

        if (!m || m->type != JSON_NUMBER || !m->str[0])
                return -EINVAL;
        for (const char *p = m->str; *p; p++) {
                uint64_t d = (uint64_t)(*p - '0');

                if (*p < '0' || *p > '9' || x > (UINT64_MAX - d) / 10)
                        return -EINVAL;
                x = x * 10 + d;
        }
        *ret = x;
        return 0;
}
