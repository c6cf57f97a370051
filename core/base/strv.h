/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated arrays of owned strings. A NULL strv is an empty one. */

void strv_free(char **l);
size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Append a copy of s; returns 0 or -ENOMEM (l unchanged on failure). */
int strv_extend(char ***l, const char *s);
/* Append s itself, taking ownership on success only. */
int strv_push(char ***l, char *s);

static inline void strv_freep(char ***l)
{
        strv_free(*l);
}
#define cleanup_strv __attribute__((cleanup(strv_freep)))

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)
