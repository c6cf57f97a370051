/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sanctioned global: the process-wide log level, set once by cmd/main.c. */
static enum lodge_log_level max_level = LODGE_LOG_INFO;

void lodge_log_set_level(enum lodge_log_level level)
{
        max_level = level;
}

int lodge_log_level_from_string(const char *s)
{
        static const char *const names[] = { "error", "warn", "info", "debug" };

        for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(s, names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}

/* Write s with control characters escaped as \xNN. */
static void put_escaped(FILE *out, const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        fprintf(out, "\\x%02x", *p);
                else
                        fputc(*p, out);
        }
}

void lodge_log(enum lodge_log_level level, const char *file, int line, const char *fmt, ...)
{
        char *msg = NULL;
        va_list ap;
        int r;

        if (level > max_level)
                return;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;

        if (max_level >= LODGE_LOG_DEBUG)
                fprintf(stderr, "%s:%d: ", file, line);
        if (level == LODGE_LOG_WARN)
                fputs("lodge: warning: ", stderr);
        else if (level == LODGE_LOG_ERROR)
                fputs("lodge: ", stderr);
        put_escaped(stderr, msg);
        fputc('\n', stderr);
        free(msg);
}

int log_error_consume(struct lodge_error **err)
{
        int code;

        if (!err || !*err)
                return 0;

        code = (*err)->code;
        fputs("lodge: ", stderr);
        put_escaped(stderr, (*err)->msg ? (*err)->msg : "error");
        fprintf(stderr, ": %s\n", strerror(code));
        lodge_error_free(err);
        return -code;
}
