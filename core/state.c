/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/parse.h"
#include "core/base/path.h"
#include "core/base/rmtree.h"
#include "core/core-internal.h"
#include "core/run.h"

const char *lodge_state_to_string(enum lodge_state s)
{
        static const char *const names[] = {
                [LODGE_STATE_STOPPED] = "STOPPED", [LODGE_STATE_STARTING] = "STARTING",
                [LODGE_STATE_RUNNING] = "RUNNING", [LODGE_STATE_STOPPING] = "STOPPING",
                [LODGE_STATE_FROZEN] = "FROZEN",   [LODGE_STATE_BROKEN] = "BROKEN",
        };

        if ((unsigned)s >= ELEMENTSOF(names))
                return "UNKNOWN";
        return names[s];
}

int lodge_state_from_string(const char *s, enum lodge_state *ret)
{
        for (int i = 0; i <= LODGE_STATE_BROKEN; i++)
                if (strcasecmp(s, lodge_state_to_string(i)) == 0) {
                        *ret = i;
                        return 0;
                }
        return -EINVAL;
}

uint64_t proc_start_time(pid_t pid)
{
        cleanup_free char *text = NULL;
        char path[64], state = 0;
        const char *p;
        unsigned long long start = 0;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (read_file_at(AT_FDCWD, path, 4096, &text, NULL, NULL) < 0)
                return 0;
        /* "pid (comm) state ...": comm may hold spaces and parentheses. */
        p = strrchr(text, ')');
        if (!p || sscanf(p + 2,
                         "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                         "%*d %*d %*d %llu",
                         &state, &start) != 2)
                return 0;
        /* A zombie has ended; only nobody reaped it (yet). */
        if (state == 'Z' || state == 'X')
                return 0;
        return start;
}

bool proc_alive(pid_t pid, uint64_t start)
{
        uint64_t now;

        if (pid <= 0)
                return false;
        now = proc_start_time(pid);
        return now != 0 && (start == 0 || now == start);
}

int run_dir_open(const struct lodge_paths *p, const char *name, bool create,
                 struct lodge_error **err)
{
        cleanup_close int top = -EBADF;
        int fd;

        top = state_dir_open(p->rundir, 0711, create, err);
        if (top < 0)
                return top;
        if (create && mkdirat(top, name, 0700) < 0 && errno != EEXIST)
                return lodge_error_set(err, errno, "create '%s/%s'", p->rundir, name);
        fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return lodge_error_set(err, errno, "open '%s/%s'", p->rundir, name);
        return fd;
}

static int format_state(const struct run_state *s, char buf[static 512])
{
        return snprintf(buf, 512,
                        "version=1\nstate=%s\ninit_pid=%d\ninit_start=%llu\nmonitor_pid=%d\n"
                        "monitor_start=%llu\nstop_signal=%d\nstarted_at=%lld\nended=%s\n"
                        "exit_code=%d\n",
                        lodge_state_to_string(s->state), (int)s->init_pid,
                        (unsigned long long)s->init_start, (int)s->monitor_pid,
                        (unsigned long long)s->monitor_start, s->stop_signal,
                        (long long)s->started_at, s->ended, s->exit_code);
}

int run_state_prepare(int rundirfd, const struct run_state *s, char **ret_tmp,
                      struct lodge_error **err)
{
        char buf[512];
        int n = format_state(s, buf);

        return write_file_prepare_at(rundirfd, RUN_STATE_FILE, buf, (size_t)n, 0644, ret_tmp, err);
}

int run_state_write(int rundirfd, const struct run_state *s, struct lodge_error **err)
{
        char buf[512];
        int n = format_state(s, buf);

        return write_file_replace_at(rundirfd, RUN_STATE_FILE, buf, (size_t)n, 0644, err);
}

static int parse_field(struct run_state *s, const char *key, const char *v)
{
        int64_t i;
        uint64_t u;

        if (strcmp(key, "state") == 0)
                return lodge_state_from_string(v, &s->state);
        if (strcmp(key, "ended") == 0) {
                snprintf(s->ended, sizeof(s->ended), "%s", v);
                return 0;
        }
        if (strcmp(key, "init_start") == 0 || strcmp(key, "monitor_start") == 0) {
                if (parse_u64_range(v, 0, UINT64_MAX, &u) < 0)
                        return -EINVAL;
                *(key[0] == 'i' ? &s->init_start : &s->monitor_start) = u;
                return 0;
        }
        if (parse_i64_range(v, INT64_MIN, INT64_MAX, &i) < 0)
                return -EINVAL;
        if (strcmp(key, "init_pid") == 0 || strcmp(key, "pid") == 0)
                s->init_pid = (pid_t)(i > 0 && i < INT32_MAX ? i : 0);
        else if (strcmp(key, "monitor_pid") == 0)
                s->monitor_pid = (pid_t)(i > 0 && i < INT32_MAX ? i : 0);
        else if (strcmp(key, "stop_signal") == 0)
                s->stop_signal = (int)(i > 0 && i < 128 ? i : 0);
        else if (strcmp(key, "started_at") == 0)
                s->started_at = i;
        else if (strcmp(key, "exit_code") == 0)
                s->exit_code = (int)(i > INT32_MIN && i < INT32_MAX ? i : 0);
        return 0; /* newer minor versions may add keys */
}

int run_state_read(const struct lodge_paths *p, const char *name, struct run_state *ret,
                   struct lodge_error **err)
{
        cleanup_free char *path = NULL, *text = NULL;
        struct run_state s = { .state = LODGE_STATE_STOPPED };
        bool versioned = false;
        char *save = NULL;
        int r;

        if (asprintf(&path, "%s/%s/state", p->rundir, name) < 0)
                return lodge_error_set(err, ENOMEM, "read state of '%s'", name);
        r = read_file_at(AT_FDCWD, path, 64 * 1024, &text, NULL, NULL);
        if (r == -ENOENT || r == -ENOTDIR) {
                *ret = s;
                return 0;
        }
        if (r < 0)
                return lodge_error_set(err, -r, "read '%s'", path);

        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');

                if (!eq)
                        continue;
                *eq = '\0';
                if (strcmp(line, "version") == 0) {
                        if (strcmp(eq + 1, "1") != 0 && strncmp(eq + 1, "1.", 2) != 0)
                                return lodge_error_set(err, EPROTO, "'%s': unknown version '%s'",
                                                       path, eq + 1);
                        versioned = true;
                } else if (parse_field(&s, line, eq + 1) < 0) {
                        return lodge_error_set(err, EPROTO, "'%s': bad %s '%s'", path, line,
                                               eq + 1);
                }
        }
        if (!versioned)
                return lodge_error_set(err, EPROTO, "'%s': no version line", path);

        /* Init gone: its monitor is recording how it ended and cleaning up (or
         * booting it again); with the monitor gone too (crash, kill -9, host
         * reboot), the state file is stale and the guest stopped. */
        if (s.state != LODGE_STATE_STOPPED && !proc_alive(s.init_pid, s.init_start)) {
                s.init_pid = 0;
                if (proc_alive(s.monitor_pid, s.monitor_start)) {
                        s.state = LODGE_STATE_STOPPING;
                } else {
                        s.state = LODGE_STATE_STOPPED;
                        s.stale = true;
                        if (!s.ended[0])
                                snprintf(s.ended, sizeof(s.ended), "crashed");
                }
        }
        *ret = s;
        return 0;
}

int state_read(const struct lodge_paths *p, const char *name, enum lodge_state *ret,
               int64_t *ret_pid, struct lodge_error **err)
{
        struct run_state s;
        int r;

        r = run_state_read(p, name, &s, err);
        if (r < 0)
                return r;
        *ret = s.state;
        if (ret_pid)
                *ret_pid = s.init_pid;
        return 0;
}

/* ".create-NAME-XXXXXXXX" → NAME */
static bool leftover_owner(const char *entry, char *name, size_t len)
{
        const char *rest, *dash;
        size_t n;

        if (strncmp(entry, CREATE_PREFIX, strlen(CREATE_PREFIX)) == 0)
                rest = entry + strlen(CREATE_PREFIX);
        else if (strncmp(entry, DESTROY_PREFIX, strlen(DESTROY_PREFIX)) == 0)
                rest = entry + strlen(DESTROY_PREFIX);
        else
                return false;
        dash = strrchr(rest, '-');
        if (!dash)
                return false;
        n = (size_t)(dash - rest);
        if (n == 0 || n >= len)
                return false;
        memcpy(name, rest, n);
        name[n] = '\0';
        return lodge_name_check(name, NULL) >= 0;
}

void state_gc(const struct root_dirs *d)
{
        cleanup_closedir DIR *dir = opendir_fd(d->containers);
        struct dirent *de;

        if (!dir)
                return;
        while ((de = readdir(dir))) {
                struct container_lock l = CONTAINER_LOCK_NULL;
                cleanup_error struct lodge_error *e = NULL;
                char name[64];

                if (!leftover_owner(de->d_name, name, sizeof(name)))
                        continue;
                /* Only when no live create/destroy of that name holds its lock. */
                if (container_trylock(d->locks, name, "cleanup", &l, NULL) < 0)
                        continue;
                if (rm_rf_at(d->containers, de->d_name, &e) < 0)
                        log_debug("removing leftover '%s' failed: %s, ignoring", de->d_name,
                                  e->msg);
                else
                        log_debug("removed leftover '%s' of an interrupted run", de->d_name);
                container_unlock(&l);
        }
}
