/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Downloads: http(s) through lodge-fetch (the only program that links
 * libcurl, run unprivileged), file:// read here. The caller opens the file
 * that gets the bytes and checks them; nothing here trusts the server. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/interrupt.h"
#include "core/base/path.h"
#include "core/base/process.h"
#include "templates/templates-internal.h"

struct fetch_run {
        const struct fetch_options *o;
        int code;      /* from the last "error" line */
        char msg[512]; /* its message */
        bool ok;
};

static void on_line(const char *line, void *userdata)
{
        struct fetch_run *run = userdata;
        unsigned long long done, total;
        int code, n = 0;

        if (sscanf(line, "progress %llu %llu", &done, &total) == 2) {
                if (run->o->progress)
                        run->o->progress(run->o->what ? run->o->what : "download", done, total,
                                         run->o->userdata);
        } else if (strncmp(line, "ok ", 3) == 0) {
                run->ok = true;
        } else if (sscanf(line, "error %d %n", &code, &n) == 1 && n > 0) {
                run->ok = false;
                run->code = code > 0 && code < 4096 ? code : EIO;
                snprintf(run->msg, sizeof(run->msg), "%s", line + n);
        }
}

/* A number from the environment (tests make the timeouts short), or def. */
static unsigned env_unsigned(const char *name, unsigned def)
{
        const char *s = getenv(name);
        char *end;
        unsigned long v;

        if (!s || !*s)
                return def;
        errno = 0;
        v = strtoul(s, &end, 10);
        return errno || *end || v > 86400 * 1000UL ? def : (unsigned)v;
}

static int fetch_file(const char *path, int fd, uint64_t max, struct lodge_error **err)
{
        cleanup_close int in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        uint64_t total = 0;
        struct stat st;

        if (in < 0)
                return lodge_error_set(err, errno, "open '%s'", path);
        if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
                return lodge_error_set(err, EINVAL, "'%s' is not a regular file", path);
        if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return lodge_error_set(err, errno, "truncate the download");
        for (;;) {
                char buf[65536];
                ssize_t n = read(in, buf, sizeof(buf));
                int r;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return lodge_error_set(err, errno, "read '%s'", path);
                if (n == 0)
                        return 0;
                if (interrupt_pending())
                        return lodge_error_set(err, EINTR, "interrupted");
                total += (uint64_t)n;
                if (max && total > max)
                        return lodge_error_set(err, EFBIG,
                                               "'%s': more than the expected %" PRIu64 " bytes",
                                               path, max);
                r = write_all(fd, buf, (size_t)n);
                if (r < 0)
                        return lodge_error_set(err, -r, "write the download");
        }
}

int fetch_url(const char *url, int fd, const struct fetch_options *o, struct lodge_error **err)
{
        char exe[PATH_MAX], a_max[32], a_ct[16], a_lst[16], a_ret[16], a_del[16];
        const char *argv[24];
        struct fetch_run run = { .o = o };
        int fds[2] = { fd, -EBADF };
        struct spawn_options so = { .fds = fds,
                                    .n_fds = 1,
                                    .on_line = on_line,
                                    .cancel = interrupt_cancel,
                                    .userdata = &run };
        cleanup_close int exe_fd = -EBADF, ca_fd = -EBADF;
        size_t n = 0;
        int r;

        if (strncmp(url, "file://", 7) == 0) {
                if (url[7] != '/')
                        return lodge_error_set(err, EINVAL, "'%s': not an absolute file URL", url);
                return fetch_file(url + 7, fd, o->max_size, err);
        }
        if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
                return lodge_error_set(err, EINVAL, "'%s': not an http, https or file URL", url);

        exe_fd = libexec_open("lodge-fetch", LODGE_LIBEXECDIR, exe);
        if (exe_fd < 0)
                return lodge_error_set(err, EOPNOTSUPP,
                                       "no lodge-fetch (downloads are not built in, or it is not "
                                       "root's)");
        snprintf(a_max, sizeof(a_max), "%" PRIu64, o->max_size);
        snprintf(a_ct, sizeof(a_ct), "%u", env_unsigned("LODGE_FETCH_CONNECT_TIMEOUT", 30));
        snprintf(a_lst, sizeof(a_lst), "%u", env_unsigned("LODGE_FETCH_LOW_SPEED_TIME", 30));
        snprintf(a_ret, sizeof(a_ret), "%u", env_unsigned("LODGE_FETCH_RETRIES", 3));
        snprintf(a_del, sizeof(a_del), "%u", env_unsigned("LODGE_FETCH_RETRY_DELAY_MS", 1000));
        argv[n++] = exe;
        argv[n++] = "--max-size";
        argv[n++] = a_max;
        argv[n++] = "--connect-timeout";
        argv[n++] = a_ct;
        argv[n++] = "--low-speed-time";
        argv[n++] = a_lst;
        argv[n++] = "--retries";
        argv[n++] = a_ret;
        argv[n++] = "--retry-delay-ms";
        argv[n++] = a_del;
        if (o->ca) {
                /* Opened here: lodge-fetch runs as nobody, who may not read it. */
                ca_fd = open(o->ca, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (ca_fd < 0)
                        return lodge_error_set(err, errno, "CA bundle '%s'", o->ca);
                fds[so.n_fds++] = ca_fd;
                argv[n++] = "--ca-fd";
                argv[n++] = "4";
        }
        if (o->allow_host_change)
                argv[n++] = "--allow-host-change";
        if (o->progress)
                argv[n++] = "--progress";
        if (o->resume)
                argv[n++] = "--resume";
        argv[n++] = "--";
        argv[n++] = url;
        argv[n] = NULL;

        r = spawn_wait_opts((char *const *)argv, &so, NULL);
        if (r < 0)
                return lodge_error_set(err, -r, "run '%s'", exe);
        if (interrupt_pending() || r == 128 + SIGINT)
                return lodge_error_set(err, EINTR, "'%s': interrupted", url);
        if (r == 0 && run.ok)
                return 0;
        if (run.code)
                return lodge_error_set(err, run.code, "'%s': %s", url, run.msg);
        return lodge_error_set(err, EIO, "'%s': lodge-fetch failed (exit status %d)", url, r);
}

int fetch_to_memory(const char *url, uint64_t max, const struct fetch_options *o, char **ret,
                    size_t *ret_len, struct lodge_error **err)
{
        struct fetch_options mo = *o;
        cleanup_close int fd = memfd_create("lodge-fetch", MFD_CLOEXEC);
        cleanup_free char *buf = NULL;
        struct stat st;
        int r;

        if (fd < 0)
                return lodge_error_set(err, errno, "memfd_create");
        mo.max_size = max;
        mo.resume = false;
        r = fetch_url(url, fd, &mo, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return lodge_error_set(err, errno, "stat the download");
        if ((uint64_t)st.st_size > max)
                return lodge_error_set(err, EFBIG, "'%s': too large", url);
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return lodge_error_set(err, ENOMEM, "'%s'", url);
        if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
                return lodge_error_set(err, EIO, "read back '%s'", url);
        buf[st.st_size] = '\0';
        *ret_len = (size_t)st.st_size;
        *ret = TAKE_PTR(buf);
        return 0;
}
