/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: run state of a started guest and its monitor. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"
#include "core/container.h"

/* $LODGE_RUNDIR/NAME/state, written atomically by the client and monitor:
 * "version=1" first, then key=value lines. */
struct run_state {
        enum lodge_state state;
        pid_t init_pid;      /* host pid of the guest's init */
        uint64_t init_start; /* its start time (clock ticks since boot), against pid reuse */
        pid_t monitor_pid;
        uint64_t monitor_start;
        int stop_signal;    /* what makes this init shut down cleanly */
        int64_t started_at; /* unix time */
        char ended[16];     /* after a stop: clean, killed, crashed, failed */
        int exit_code;      /* init's exit status, or -signal */
        bool stale;         /* said running, but init is gone: nobody recorded the end */
};

/* Open (and with create, make) $LODGE_RUNDIR/NAME, 0700. */
int run_dir_open(const struct lodge_paths *p, const char *name, bool create,
                 struct lodge_error **err);

int run_state_write(int rundirfd, const struct run_state *s, struct lodge_error **err);
/* The same in two steps (write_file_prepare_at()): the file ready under
 * *ret_tmp, to be renamed to "state" (RUN_STATE_FILE) when it becomes true. */
#define RUN_STATE_FILE "state"
int run_state_prepare(int rundirfd, const struct run_state *s, char **ret_tmp,
                      struct lodge_error **err);

/* Read the state file; a missing one is a stopped guest. The state is
 * corrected to STOPPED when its init is gone (or is another process by now). */
int run_state_read(const struct lodge_paths *p, const char *name, struct run_state *ret,
                   struct lodge_error **err);

/* Start time of pid from /proc/PID/stat (field 22), 0 when it is gone or a zombie. */
uint64_t proc_start_time(pid_t pid);

/* Is pid still the process that started at start? */
bool proc_alive(pid_t pid, uint64_t start);

/* Stop a running guest; the caller holds its lock. See lodge_container_stop(). */
int stop_locked(const struct lodge_paths *p, const char *name, const struct lodge_stop_options *o,
                char ended[static 16], struct lodge_error **err);
