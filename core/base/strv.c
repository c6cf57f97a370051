/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void strv_free(char **l)
{
        if (!l)
                return;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
}

size_t strv_length(char *const *l)
{
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

bool strv_contains(char *const *l, const char *s)
{
        STRV_FOREACH (p, l)
                if (strcmp(*p, s) == 0)
                        return true;
        return false;
}

int strv_push(char ***l, char *s)
{
        size_t n = strv_length(*l);
        char **nl = realloc(*l, (n + 2) * sizeof(char *));

        if (!nl)
                return -ENOMEM;
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_extend(char ***l, const char *s)
{
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        if (strv_push(l, copy) < 0) {
                free(copy);
                return -ENOMEM;
        }
        return 0;
}
