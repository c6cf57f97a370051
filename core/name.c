/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "core/container.h"

int lodge_name_check(const char *name, struct lodge_error **err)
{
        size_t n;

        if (!name || !*name)
                return lodge_error_set(err, EINVAL, "invalid container name: empty");
        n = strlen(name);
        if (n > 63)
                return lodge_error_set(err, EINVAL,
                                       "invalid container name '%.20s…': longer than 63 characters",
                                       name);
        if (!isalnum((unsigned char)name[0]) || (unsigned char)name[0] >= 0x80)
                return lodge_error_set(err, EINVAL,
                                       "invalid container name '%s': must start with a letter "
                                       "or a digit",
                                       name);
        for (const char *c = name; *c; c++) {
                unsigned char u = (unsigned char)*c;

                if (u < 0x80 && (isalnum(u) || u == '.' || u == '_' || u == '-'))
                        continue;
                return lodge_error_set(err, EINVAL,
                                       "invalid container name '%s': only letters, digits, '.', "
                                       "'_' and '-' are allowed",
                                       name);
        }
        return 0;
}
