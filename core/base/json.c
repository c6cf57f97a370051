/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/json.h"

#include <stddef.h>
#include <string.h>

size_t json_utf8_len(const unsigned char *p, const unsigned char *end)
{
        size_t n;
        unsigned cp;

        if (p[0] < 0x80)
                return 1;
        if ((p[0] & 0xe0) == 0xc0 && p[0] >= 0xc2)
                n = 2;
        else if ((p[0] & 0xf0) == 0xe0)
                n = 3;
        else if ((p[0] & 0xf8) == 0xf0 && p[0] <= 0xf4)
                n = 4;
        else
                return 0;
        if ((size_t)(end - p) < n)
                return 0;
        for (size_t i = 1; i < n; i++)
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
        cp = n == 2   ? 0
             : n == 3 ? (p[0] & 0x0fU) << 12 | (p[1] & 0x3fU) << 6
                      : (p[0] & 0x07U) << 18 | (p[1] & 0x3fU) << 12;
        if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        return n;
}

void json_print_string(FILE *f, const char *s)
{
        const unsigned char *p = (const unsigned char *)s;

        if (!s) {
                fputs("null", f);
                return;
        }
        fputc('"', f);
        while (*p) {
                size_t n;

                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f) {
                                fprintf(f, "\\u%04x", *p);
                                break;
                        }
                        n = json_utf8_len(p, p + strnlen((const char *)p, 4));
                        if (n == 0) {
                                fprintf(f, "\\u%04x", *p);
                                break;
                        }
                        fwrite(p, 1, n, f);
                        p += n;
                        continue;
                }
                p++;
        }
        fputc('"', f);
}
