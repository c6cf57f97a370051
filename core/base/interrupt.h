/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stdbool.h>

/* SIGINT, SIGTERM and SIGHUP set a flag instead of killing the process, so
 * long operations (extraction, downloads) can stop at a safe point and undo
 * their half-made state. Installed by cmd/ for mutating commands. */
void interrupt_install(void);

/* The signal that arrived, or 0. */
int interrupt_pending(void);

/* interrupt_pending() as a spawn_options.cancel callback. */
bool interrupt_cancel(void *unused);

/* The signals interrupt_install catches. A wait that must not miss one
 * blocks them, checks interrupt_pending(), and waits with them unblocked
 * (ppoll, pselect, sigsuspend): one that comes between the check and the
 * wait then interrupts the wait instead of going unseen. */
void interrupt_signals(sigset_t *ret);

/* flock(fd, op), but a wait for the lock is given up (-EINTR) once an
 * interrupt signal came, also before the wait; a free lock is taken all the
 * same (clean-up after an interrupt needs its locks). 0 or -errno. flock has
 * no form that unblocks signals as it waits: one that comes in the instant
 * between the check and the call is seen only once the lock is got. */
int interrupt_flock(int fd, int op);
