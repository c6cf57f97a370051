/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Scope-bound cleanup. Every variable declared with one of these must be
 * initialised on the same line (NULL or -EBADF). */
#define CLEANUP(fn) __attribute__((cleanup(fn)))

/* Generate "fnp(type *p)" that calls fn(*p) when *p is set. "type" cannot be
 * parenthesised, hence the NOLINT. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define DEFINE_CLEANUP_FUNC(type, fn)                                                              \
        static inline void fn##p(type *p)                                                          \
        {                                                                                          \
                if (*p)                                                                            \
                        fn(*p);                                                                    \
        }
/* NOLINTEND(bugprone-macro-parentheses) */

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(const int *fd)
{
        if (*fd >= 0) {
                int saved = errno; /* never clobber errno from a cleanup */
                (void)close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f)
{
        if (*f)
                (void)fclose(*f);
}

static inline void closedirp(DIR **d)
{
        if (*d)
                (void)closedir(*d);
}

/* A child that was never handed off: kill it and reap it (crun's idea). */
static inline void killpidp(const pid_t *pid)
{
        if (*pid > 0) {
                int saved = errno;
                (void)kill(*pid, SIGKILL);
                while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                errno = saved;
        }
}

#define cleanup_free CLEANUP(freep)
#define cleanup_close CLEANUP(closep)
#define cleanup_fclose CLEANUP(fclosep)
#define cleanup_closedir CLEANUP(closedirp)
#define cleanup_pid CLEANUP(killpidp)

/* Hand ownership to someone else: returns the value, leaves the variable empty. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) take_tmp_ = (p);                                                     \
                (p) = NULL;                                                                        \
                take_tmp_;                                                                         \
        })

#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int take_tmp_ = (fd);                                                              \
                (fd) = -EBADF;                                                                     \
                take_tmp_;                                                                         \
        })

#define TAKE_PID(pid)                                                                              \
        ({                                                                                         \
                pid_t take_tmp_ = (pid);                                                           \
                (pid) = 0;                                                                         \
                take_tmp_;                                                                         \
        })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
