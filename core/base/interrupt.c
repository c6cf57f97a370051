/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/interrupt.h"

#include <signal.h>
#include <string.h>

/* A signal handler can only talk to the rest of the program through a global. */
static volatile sig_atomic_t pending;

static void on_signal(int sig)
{
        pending = sig;
}

void interrupt_install(void)
{
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
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
