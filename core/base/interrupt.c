/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/interrupt.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>

/* A signal handler can only talk to the rest of the program through a global. */
static volatile sig_atomic_t pending;

static void on_signal(int sig)
{
        pending = sig;
}

static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

void interrupt_install(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal; /* no SA_RESTART: blocking calls return EINTR */
        sigemptyset(&sa.sa_mask);
        for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                (void)sigaction(sigs[i], &sa, NULL);
}

int interrupt_pending(void)
{
        return pending;
}

bool interrupt_cancel(void *unused)
{
        (void)unused;
        return pending != 0;
}

void interrupt_signals(sigset_t *ret)
{
        sigemptyset(ret);
        for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                sigaddset(ret, sigs[i]);
}

int interrupt_flock(int fd, int op)
{
        if (flock(fd, op | LOCK_NB) == 0)
                return 0;
        if (errno != EWOULDBLOCK || (op & LOCK_NB))
                return -errno;
        for (;;) {
                if (interrupt_pending())
                        return -EINTR;
                if (flock(fd, op) == 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}
