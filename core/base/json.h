/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Print s as a JSON string literal (quotes included), escaping what RFC 8259
 * requires. NULL prints null. Invalid UTF-8 bytes are written as \u00XX of
 * the byte, so output is always valid JSON. */
void json_print_string(FILE *f, const char *s);

/* Length of the valid UTF-8 sequence at p (before end): 1 to 4, or 0 when
 * there is none (also for overlong forms, surrogates, past U+10FFFF). */
size_t json_utf8_len(const unsigned char *p, const unsigned char *end);

/* A parsed JSON document (RFC 8259), for reading what servers publish. */
enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };
struct json_value {
        enum json_type type;
        char *key;                /* the member's name inside an object, else NULL */
        char *str;                /* a STRING's text (no NUL inside), a NUMBER's literal */
        bool boolean;             /* BOOL */
        struct json_value *items; /* ARRAY elements, OBJECT members */
        size_t n_items;
};
#define JSON_MAX_DEPTH 64

/* Parse len bytes of text (need not be NUL-terminated) into *ret, freed with
 * json_free(). -EINVAL for anything but one well-formed value (also for
 * strings holding \u0000 or invalid UTF-8), -E2BIG nested deeper than
 * JSON_MAX_DEPTH, -ENOMEM. */
int json_parse(const char *text, size_t len, struct json_value **ret);
void json_free(struct json_value *v);

/* The member key of an object (the first if repeated), or NULL; also NULL when
 * v is NULL or not an object. */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* The string member key of an object, or NULL when missing or not a string. */
const char *json_get_string(const struct json_value *v, const char *key);
/* An unsigned integer member (a NUMBER of digits only, no sign, fraction or
 * exponent, fitting in 64 bits): 0, else -EINVAL (also when missing). */
int json_get_u64(const struct json_value *v, const char *key, uint64_t *ret);
