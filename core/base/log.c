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

/* s with control characters escaped as \xNN, after prefix and before suffix,
 * as one line written at once (stderr is unbuffered: one write, not one per
 * character, and never interleaved with another process' line). */
static void put_line(const char *prefix, const char *s, const char *suffix)
{
        size_t plen = strlen(prefix), slen = strlen(s), xlen = strlen(suffix), n = plen;
        char *buf = malloc(plen + slen * 4 + xlen + 2);

        if (!buf) {
                fprintf(stderr, "%s%s%s\n", prefix, "(out of memory)", suffix);
                return;
        }
        memcpy(buf, prefix, plen);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        n += (size_t)sprintf(buf + n, "\\x%02x", *p);
                else
                        buf[n++] = (char)*p;
        }
        memcpy(buf + n, suffix, xlen);
        n += xlen;
        buf[n++] = '\n';
        fwrite(buf, 1, n, stderr);
        free(buf);
}

static const char *level_prefix(enum lodge_log_level level)
{
        return level == LODGE_LOG_WARN    ? "lodge: warning: "
               : level == LODGE_LOG_ERROR ? "lodge: "
                                          : "";
}

void lodge_log(enum lodge_log_level level, const char *file, int line, const char *fmt, ...)
{
        char *msg = NULL, prefix[256];
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
                snprintf(prefix, sizeof(prefix), "%s:%d: %s", file, line, level_prefix(level));
        else
                snprintf(prefix, sizeof(prefix), "%s", level_prefix(level));
        put_line(prefix, msg, "");
        free(msg);
}

int log_error_consume(struct lodge_error **err)
{
        char suffix[128];
        int code;

        if (!err || !*err)
                return 0;

        code = (*err)->code;
        snprintf(suffix, sizeof(suffix), ": %s", strerror(code));
        put_line("lodge: ", (*err)->msg ? (*err)->msg : "error", suffix);
        lodge_error_free(err);
        return -code;
}
