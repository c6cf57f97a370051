/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/json.h"

#include <stddef.h>

/* Length of a valid UTF-8 sequence at p, or 0 when p does not start one. */
static size_t utf8_len(const unsigned char *p)
{
        size_t n;

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
        for (size_t i = 1; i < n; i++)
                if ((p[i] & 0xc0) != 0x80)
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
                        n = utf8_len(p);
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
