/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unpacking an untrusted rootfs archive. This process decompresses (only
 * libarchive's in-process filters) and feeds the plain tar stream through a
 * pipe to a sandboxed child (extract-child.c) that creates the files, so
 * decompression and file creation run on two cores, as with tar -xJf. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/interrupt.h"
#include "core/base/parse.h"
#include "templates/templates-internal.h"

#define FEED_BLOCK (1U << 20)   /* read size of the compressed input */
#define PIPE_SIZE (1 << 20)     /* F_SETPIPE_SZ: lets the decompressor run ahead */
#define DRAIN_MAX (64ULL << 20) /* input still verified after the tar's end marker */
#define PROGRESS_INTERVAL_MS 100

DEFINE_CLEANUP_FUNC(struct archive *, archive_read_free)

int archive_support_builtin_filters(struct archive *a)
{
        static int (*const filters[])(struct archive *) = {
                archive_read_support_filter_gzip, archive_read_support_filter_bzip2,
                archive_read_support_filter_xz,   archive_read_support_filter_lzma,
                archive_read_support_filter_lzip, archive_read_support_filter_zstd,
                archive_read_support_filter_lz4,
        };

        /* A filter that libarchive wasn't built with answers ARCHIVE_WARN and
         * would run "xz -d" (or lrzip, grzip...) from PATH: try each on a
         * scratch reader first and keep only those that run in-process. */
        for (size_t i = 0; i < ELEMENTSOF(filters); i++) {
                struct archive *probe = archive_read_new();
                int r;

                if (!probe)
                        return -ENOMEM;
                r = filters[i](probe);
                archive_read_free(probe);
                if (r == ARCHIVE_OK && filters[i](a) != ARCHIVE_OK)
                        return -ENOMEM;
        }
        return 0;
}

/* The compressed side: our read callback, so bytes read and interrupts are
 * seen here. */
struct feed {
        int fd;
        const char *name;
        char *buf;
        uint64_t done;
        uint64_t total; /* 0 when unknown (not a regular file) */
        uint64_t reported;
        uint64_t reported_ms;
        bool interrupted;
        lodge_template_progress_cb progress;
        void *userdata;
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void feed_progress(struct feed *f, bool final)
{
        uint64_t now;

        if (!f->progress)
                return;
        now = now_ms();
        if (!final && (f->total == 0 || (f->done - f->reported) * 100 < f->total) &&
            now - f->reported_ms < PROGRESS_INTERVAL_MS)
                return;
        f->reported = f->done;
        f->reported_ms = now;
        f->progress(f->name, f->done, f->total, f->userdata);
}

static la_ssize_t feed_read(struct archive *a, void *userdata, const void **ret_buf)
{
        struct feed *f = userdata;

        for (;;) {
                ssize_t n = read(f->fd, f->buf, FEED_BLOCK);

                if (n >= 0) {
                        f->done += (uint64_t)n;
                        *ret_buf = f->buf;
                        return n;
                }
                if (errno != EINTR) {
                        archive_set_error(a, errno, "read failed");
                        return -1;
                }
                if (interrupt_pending()) {
                        f->interrupted = true;
                        archive_set_error(a, EINTR, "interrupted");
                        return -1;
                }
        }
}

/* Write to the pipe. -EPIPE: the child stopped reading (it finished or
 * failed); -EINTR: interrupted. */
static int feed_write(int fd, const char *p, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno != EINTR)
                                return -errno;
                        if (interrupt_pending())
                                return -EINTR;
                        continue;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/* An error of the decompressing reader, translated at the call site. */
static int reader_failure(struct archive *a, const struct feed *f, struct lodge_error **err)
{
        const char *s = archive_error_string(a);
        int e = archive_errno(a);

        if (f->interrupted)
                return lodge_error_set(err, EINTR, "'%s': interrupted", f->name);
        if (s && strcasestr(s, "truncated"))
                return lodge_error_set(err, EBADMSG, "'%s': truncated archive", f->name);
        /* A cut or damaged compressed stream: liblzma says "No progress is
         * possible", zlib "Damaged …": say what it means, keep their words. */
        if (s && (strcasestr(s, "no progress") || strcasestr(s, "damaged") ||
                  strcasestr(s, "corrupt") || strcasestr(s, "unexpected end")))
                return lodge_error_set(err, EBADMSG, "'%s': truncated or corrupt archive (%s)",
                                       f->name, s);
        if (s && strstr(s, "Unrecognized archive format"))
                return lodge_error_set(err, EBADMSG, "'%s': not a tar archive", f->name);
        if (e <= 0 || e == EILSEQ) /* ARCHIVE_ERRNO_MISC, ARCHIVE_ERRNO_FILE_FORMAT */
                e = EBADMSG;
        return lodge_error_set(err, e, "'%s': %s", f->name, s ? s : "read error");
}

enum pump_end {
        PUMP_EOF,   /* all input fed to the child */
        PUMP_CLOSED /* the child stopped reading first */
};

/* Decompress everything into the pipe. Returns a pump_end or -errno (err set). */
static int pump(struct archive *a, struct feed *f, int data_fd, struct lodge_error **err)
{
        struct archive_entry *e;
        int r;

        r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) /* an empty input */
                return lodge_error_set(err, EBADMSG, "'%s': not a tar archive", f->name);
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                return reader_failure(a, f, err);

        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;

                if (interrupt_pending())
                        return lodge_error_set(err, EINTR, "'%s': interrupted", f->name);
                r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        return PUMP_EOF;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return reader_failure(a, f, err);
                r = feed_write(data_fd, buf, len);
                if (r == -EPIPE)
                        return PUMP_CLOSED;
                if (r == -EINTR)
                        return lodge_error_set(err, EINTR, "'%s': interrupted", f->name);
                if (r < 0)
                        return lodge_error_set(err, -r, "'%s': feed the unpacking process",
                                               f->name);
                feed_progress(f, false);
        }
}

/* The child ended the tar early (its end marker came before the end of the
 * input, e.g. the usual zero padding): read on so a corrupt compressed tail
 * is still noticed, but not forever. */
static int drain(struct archive *a, struct feed *f, struct lodge_error **err)
{
        uint64_t drained = 0;

        while (drained < DRAIN_MAX) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int r;

                r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return reader_failure(a, f, err);
                drained += len;
        }
        return 0;
}

/* Read the child's report. 1: got it; 0: the child closed without one. */
static int read_status(int fd, struct extract_status *st, const char *name,
                       struct lodge_error **err)
{
        size_t got = 0;

        while (got < sizeof(*st)) {
                ssize_t n = read(fd, (char *)st + got, sizeof(*st) - got);

                if (n == 0)
                        return 0;
                if (n > 0) {
                        got += (size_t)n;
                        continue;
                }
                if (errno != EINTR)
                        return lodge_error_set(err, errno, "'%s': read the unpacking status", name);
                if (interrupt_pending())
                        return lodge_error_set(err, EINTR, "'%s': interrupted", name);
        }
        st->msg[sizeof(st->msg) - 1] = '\0';
        return 1;
}

static int reap(pid_t *pid, int *ret_status, const char *name, struct lodge_error **err)
{
        while (waitpid(*pid, ret_status, 0) < 0) {
                if (errno != EINTR)
                        return lodge_error_set(err, errno, "'%s': wait for the unpacking process",
                                               name);
                if (interrupt_pending())
                        return lodge_error_set(err, EINTR, "'%s': interrupted", name);
        }
        *pid = 0;
        return 0;
}

/* What the child said, or how it died. */
static int child_result(const struct extract_status *st, bool have_status, int status,
                        const char *name, struct lodge_error **err)
{
        char sig[16];

        if (have_status && st->code > 0)
                return lodge_error_set(err, st->code, "'%s': %s", name, st->msg);
        if (WIFSIGNALED(status))
                return lodge_error_set(err, EIO, "'%s': the unpacking process died of %s", name,
                                       signal_to_string(WTERMSIG(status), sig));
        if (!have_status || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return lodge_error_set(err, EIO,
                                       "'%s': the unpacking process failed (exit status %d)", name,
                                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return 0;
}

/* The byte budget: the caller's (or the default), and never more than the
 * destination can hold. The child runs without CAP_SYS_RESOURCE, so the
 * blocks reserved for root don't count: f_bavail, not f_bfree. */
static int limits_init(int dest_fd, const char *dest_path, const struct extract_options *opts,
                       struct extract_child_args *args, struct lodge_error **err)
{
        struct statvfs sv;
        uint64_t free_bytes;

        args->max_bytes = opts->max_bytes ? opts->max_bytes : EXTRACT_DEFAULT_MAX_BYTES;
        args->max_entries = opts->max_entries ? opts->max_entries : EXTRACT_DEFAULT_MAX_ENTRIES;
        args->max_depth = opts->max_depth ? opts->max_depth : EXTRACT_DEFAULT_MAX_DEPTH;
        args->excludes = opts->excludes;

        if (fstatvfs(dest_fd, &sv) < 0)
                return lodge_error_set(err, errno, "measure free space of '%s'", dest_path);
        free_bytes = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
        /* No blocks at all: a filesystem that keeps no count (ramfs), not a full one. */
        if (free_bytes < args->max_bytes && sv.f_blocks > 0) {
                args->max_bytes = free_bytes;
                args->max_bytes_is_free_space = true;
        }
        return 0;
}

/* SIGPIPE is blocked while we write to the child, so a child that stops
 * early gives EPIPE instead of killing us; a SIGPIPE that we raised is
 * consumed before the old mask comes back. */
struct sigpipe_guard {
        sigset_t old;
        bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
        sigset_t set, pending;

        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        (void)pthread_sigmask(SIG_BLOCK, &set, &g->old);
        g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
        sigset_t set, pending;

        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
                static const struct timespec zero = { 0 };

                while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
                        ;
        }
        (void)pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* The parent's side once the child runs: feed it, then hear what it says. */
static int feed_child(struct archive *a, struct feed *f, int *data_fd, int status_fd, pid_t *pid,
                      struct lodge_error **err)
{
        struct extract_status st = { 0 };
        struct sigpipe_guard guard;
        int end, have, status = 0, r;

        sigpipe_block(&guard);
        end = pump(a, f, *data_fd, err);
        sigpipe_restore(&guard);
        if (end < 0)
                return end; /* our own failure wins; the caller kills the child */
        closep(data_fd);    /* EOF for the child */
        *data_fd = -EBADF;

        have = read_status(status_fd, &st, f->name, err);
        if (have < 0)
                return have;
        r = reap(pid, &status, f->name, err);
        if (r < 0)
                return r;
        r = child_result(&st, have > 0, status, f->name, err);
        if (r < 0)
                return r;
        if (end == PUMP_CLOSED) {
                r = drain(a, f, err);
                if (r < 0)
                        return r;
        }
        feed_progress(f, true);
        return 0;
}

static int open_reader(struct feed *f, struct archive **ret, struct lodge_error **err)
{
        CLEANUP(archive_read_freep) struct archive *a = archive_read_new();

        if (!a || archive_support_builtin_filters(a) < 0 ||
            archive_read_support_format_raw(a) != ARCHIVE_OK)
                return lodge_error_set(err, ENOMEM, "'%s': set up libarchive", f->name);
        if (archive_read_open(a, f, NULL, feed_read, NULL) != ARCHIVE_OK)
                return reader_failure(a, f, err);
        *ret = TAKE_PTR(a);
        return 0;
}

int extract_archive(int archive_fd, const char *name, const char *dest_path,
                    const struct extract_options *opts, struct lodge_error **err)
{
        static const struct extract_options defaults = { 0 };
        CLEANUP(archive_read_freep) struct archive *a = NULL;
        cleanup_close int dest_fd = -EBADF, data_r = -EBADF, data_w = -EBADF;
        cleanup_close int status_r = -EBADF, status_w = -EBADF;
        cleanup_free char *buf = NULL;
        cleanup_pid pid_t pid = 0;
        struct extract_child_args args = { 0 };
        struct feed f = { .fd = archive_fd, .name = name };
        int fds[2], r;
        struct stat st;

        if (!opts)
                opts = &defaults;
        f.progress = opts->progress;
        f.userdata = opts->userdata;
        if (fstat(archive_fd, &st) < 0)
                return lodge_error_set(err, errno, "'%s': stat", name);
        if (S_ISREG(st.st_mode) && st.st_size > 0) {
                off_t pos = lseek(archive_fd, 0, SEEK_CUR);

                f.total = (uint64_t)st.st_size - (pos > 0 ? (uint64_t)pos : 0);
        }

        dest_fd = open(dest_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dest_fd < 0)
                return lodge_error_set(err, errno, "open destination '%s'", dest_path);
        r = limits_init(dest_fd, dest_path, opts, &args, err);
        if (r < 0)
                return r;

        buf = malloc(FEED_BLOCK);
        if (!buf)
                return lodge_error_set(err, ENOMEM, "'%s': allocate buffer", name);
        f.buf = buf;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return lodge_error_set(err, errno, "'%s': create pipe", name);
        data_r = fds[0];
        data_w = fds[1];
        (void)fcntl(data_w, F_SETPIPE_SZ, PIPE_SIZE); /* best effort: a hint for speed */
        if (pipe2(fds, O_CLOEXEC) < 0)
                return lodge_error_set(err, errno, "'%s': create pipe", name);
        status_r = fds[0];
        status_w = fds[1];

        args.data_fd = data_r;
        args.status_fd = status_w;
        args.dest_fd = dest_fd;
        args.parent = getpid();
        pid = fork();
        if (pid < 0) {
                pid = 0;
                return lodge_error_set(err, errno, "'%s': start the unpacking process", name);
        }
        if (pid == 0)
                extract_child_run(&args);

        closep(&data_r);
        data_r = -EBADF;
        closep(&status_w);
        status_w = -EBADF;

        r = open_reader(&f, &a, err);
        if (r < 0)
                return r;
        r = feed_child(a, &f, &data_w, status_r, &pid, err);
        if (r < 0)
                return r; /* cleanup_pid kills and reaps a child still running */
        return 0;
}
