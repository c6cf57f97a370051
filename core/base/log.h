/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "core/base/error.h"

enum lodge_log_level {
        LODGE_LOG_ERROR,
        LODGE_LOG_WARN,
        LODGE_LOG_INFO,
        LODGE_LOG_DEBUG,
};

/* The log level is one of the two sanctioned globals (the other: parsed CLI options). */
void lodge_log_set_level(enum lodge_log_level level);

/* Parse "error", "warn", "info", "debug" (LODGE_LOG_LEVEL); returns -EINVAL otherwise. */
int lodge_log_level_from_string(const char *s);

void lodge_log(enum lodge_log_level level, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#define log_error(...) lodge_log(LODGE_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) lodge_log(LODGE_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) lodge_log(LODGE_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) lodge_log(LODGE_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

/* Print "lodge: <msg>: <strerror(code)>" at error level, free it, return -code.
 * Only cmd/ and top-level entry points call this. Control characters in the
 * message are escaped, so a hostile name can't forge log lines. */
int log_error_consume(struct lodge_error **err);
