/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/cgroup.h"
#include "core/core-internal.h"
#include "core/run.h"

/* Operations on a running guest's cgroups: freeze, thaw, live limits, stats. */

struct live {
        struct cg_host host;
        struct cg_guest cg;
        struct run_state st;
};

static void live_done(struct live *l)
{
        cg_guest_done(&l->cg);
        cg_host_done(&l->host);
}

/* The guest must be running; its cgroups are found. Filled in place: l->cg
 * points into l->host. On failure l needs only live_done(). */
static int live_open(const struct lodge_paths *p, const char *name, struct live *l,
                     struct lodge_error **err)
{
        int r;

        *l = (struct live){ .host = { .v2 = -1 } };
        r = run_state_read(p, name, &l->st, err);
        if (r < 0)
                return r;
        if (l->st.state == LODGE_STATE_STOPPED)
                return lodge_error_set(err, ESRCH, "container is not running");
        r = cg_host_detect(&l->host, err);
        if (r >= 0)
                r = cg_guest_init(&l->cg, &l->host, p->tag, name, err);
        return r;
}

int lodge_container_freeze(const struct lodge_paths *p, const char *name, bool frozen,
                           struct lodge_error **err)
{
        struct live l;
        int r;

        r = lodge_name_check(name, err);
        if (r < 0)
                return r;
        r = live_open(p, name, &l, err);
        if (r >= 0)
                r = cg_guest_freeze(&l.cg, frozen, err);
        live_done(&l);
        return r;
}

int live_thaw(const struct lodge_paths *p, const char *name, struct lodge_error **err)
{
        struct live l;
        int r;

        r = live_open(p, name, &l, err);
        if (r >= 0 && cg_guest_frozen(&l.cg))
                r = cg_guest_freeze(&l.cg, false, err);
        live_done(&l);
        return r;
}

int live_state(const struct lodge_paths *p, const char *name, struct lodge_live_info *ret,
               struct lodge_error **err)
{
        struct lodge_live_info i = { .state = LODGE_STATE_STOPPED };
        struct cg_stats s;
        struct live l;
        int r;

        r = live_open(p, name, &l, err);
        if (r == -ESRCH) {
                lodge_error_free(err);
                i.state = l.st.state;
                snprintf(i.ended, sizeof(i.ended), "%s", l.st.ended);
                live_done(&l);
                *ret = i;
                return 0;
        }
        if (r < 0) {
                live_done(&l);
                return r;
        }
        i.state = cg_guest_frozen(&l.cg) ? LODGE_STATE_FROZEN : l.st.state;
        i.init_pid = l.st.init_pid;
        i.started_at = l.st.started_at;
        if (cg_guest_stats(&l.cg, &s, NULL) >= 0) {
                i.memory = s.memory;
                i.cpu_ns = s.cpu_ns;
                i.processes = s.pids;
                i.oom_kills = s.oom_kills;
        }
        live_done(&l);
        *ret = i;
        return 0;
}

int live_apply_limits(const struct lodge_paths *p, const char *name, const struct lodge_config *cfg,
                      char ***ret_warnings, struct lodge_error **err)
{
        struct live l;
        int r;

        r = live_open(p, name, &l, err);
        if (r == -ESRCH) { /* not running: the next start applies them */
                lodge_error_free(err);
                r = 0;
        } else if (r >= 0) {
                r = cg_guest_apply_limits(&l.cg, &cfg->limits, ret_warnings, err);
        }
        live_done(&l);
        return r;
}

int lodge_container_wait(const struct lodge_paths *p, const char *name, enum lodge_state state,
                         int timeout_ms, struct lodge_error **err)
{
        struct timespec t0, now;
        int r;

        r = lodge_name_check(name, err);
        if (r < 0)
                return r;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                struct lodge_live_info i;

                r = live_state(p, name, &i, err);
                if (r < 0)
                        return r;
                if (i.state == state)
                        return 0;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (timeout_ms >= 0 &&
                    (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >=
                            timeout_ms)
                        return lodge_error_set(err, ETIMEDOUT, "still %s, not %s",
                                               lodge_state_to_string(i.state),
                                               lodge_state_to_string(state));
                nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
        }
}
