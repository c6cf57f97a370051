/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* SIGINT, SIGTERM and SIGHUP set a flag instead of killing the process, so
 * long operations (extraction, downloads) can stop at a safe point and undo
 * their half-made state. Installed by cmd/ for mutating commands. */
void interrupt_install(void);

/* The signal that arrived, or 0. */
int interrupt_pending(void);
