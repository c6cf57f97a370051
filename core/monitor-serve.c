/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/monitor-serve.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int console_ring_map(int fd, struct console_ring **ret)
{
        struct stat st;
        void *p;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size != (off_t)sizeof(struct console_ring))
                return -EINVAL;
        p = mmap(NULL, sizeof(struct console_ring), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                return -errno;
        *ret = p;
        return 0;
}

int console_ring_create(struct console_ring **ret, int *ret_fd)
{
        int fd = memfd_create("lodge-console", MFD_CLOEXEC), r;

        if (fd < 0)
                return -errno;
        /* Pages are only made as the console writes them. */
        r = ftruncate(fd, sizeof(struct console_ring)) < 0 ? -errno : console_ring_map(fd, ret);
        if (r < 0) {
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

void console_ring_unmap(struct console_ring *r)
{
        if (r)
                (void)munmap(r, sizeof(*r));
}

void console_ring_add(struct console_ring *r, const char *buf, size_t n)
{
        if (n > CONSOLE_RING_SIZE) {
                buf += n - CONSOLE_RING_SIZE;
                n = CONSOLE_RING_SIZE;
        }
        for (size_t done = 0; done < n;) {
                size_t chunk = CONSOLE_RING_SIZE - r->pos;

                if (chunk > n - done)
                        chunk = n - done;
                memcpy(r->data + r->pos, buf + done, chunk);
                r->pos = (uint32_t)((r->pos + chunk) % CONSOLE_RING_SIZE);
                done += chunk;
        }
        r->len = r->len + n > CONSOLE_RING_SIZE ? CONSOLE_RING_SIZE : (uint32_t)(r->len + n);
}

/* The ring's content, oldest first: data[start..start+first), then data[0..len-first). */
static size_t ring_span(const struct console_ring *r, size_t *ret_start, size_t *ret_first)
{
        size_t len = r->len > CONSOLE_RING_SIZE ? CONSOLE_RING_SIZE : r->len;
        size_t start = (r->pos % CONSOLE_RING_SIZE + CONSOLE_RING_SIZE - len) % CONSOLE_RING_SIZE;

        *ret_start = start;
        *ret_first = CONSOLE_RING_SIZE - start < len ? CONSOLE_RING_SIZE - start : len;
        return len;
}

size_t console_ring_copy(const struct console_ring *r, char *buf)
{
        size_t start, first, len = ring_span(r, &start, &first);

        memcpy(buf, r->data + start, first);
        memcpy(buf + first, r->data, len - first);
        return len;
}

static void viewer_drop(struct monitor_serve *s, size_t i)
{
        close(s->viewers[i].fd);
        s->viewers[i] = s->viewers[--s->n_viewers];
}

/* The lock holds the holder's pid: a holder that died holding it (kill -9)
 * doesn't block the other reader for good. */
static void ring_lock(struct console_ring *r)
{
        uint32_t me = (uint32_t)getpid();

        for (;;) {
                uint32_t holder = 0;

                if (__atomic_compare_exchange_n(&r->lock, &holder, me, false, __ATOMIC_ACQUIRE,
                                                __ATOMIC_RELAXED))
                        return;
                if (kill((pid_t)holder, 0) < 0 && errno == ESRCH &&
                    __atomic_compare_exchange_n(&r->lock, &holder, me, false, __ATOMIC_ACQUIRE,
                                                __ATOMIC_RELAXED))
                        return;
                sched_yield();
        }
}

static void ring_unlock(struct console_ring *r)
{
        __atomic_store_n(&r->lock, 0, __ATOMIC_RELEASE);
}

static int target_master(const struct monitor_serve *s, int target)
{
        return target == VIEWER_CONSOLE ? s->master : s->tty[target - 1].master;
}

/* Read what the console (or a tty) has, into the ring (the console's only)
 * and to the viewers connected to it; drop a viewer that fails (drop: false
 * in the keeper, which doesn't own them). Each read of the console and its
 * copies happen under the ring's lock, so that with two readers (keeper and
 * monitor, during the handoff) the order stays. */
static void on_output(struct monitor_serve *s, int target, bool drop)
{
        bool console = target == VIEWER_CONSOLE;
        char buf[4096];

        for (;;) {
                ssize_t n;

                if (console)
                        ring_lock(s->ring);
                n = read(target_master(s, target), buf, sizeof(buf));
                if (n > 0) {
                        if (console)
                                console_ring_add(s->ring, buf, (size_t)n);
                        for (size_t i = 0; i < s->n_viewers; i++)
                                if (s->viewers[i].target == target &&
                                    send(s->viewers[i].fd, buf, (size_t)n,
                                         MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
                                    errno != EAGAIN && drop)
                                        viewer_drop(s, i--);
                }
                if (console)
                        ring_unlock(s->ring);
                if (n <= 0)
                        break;
        }
}

/* Output that sits unread in the pty is lost when a guest process flushes or
 * hangs up the console (getty's vhangup()): someone must read it at all
 * times, also while the monitor execs. */
pid_t console_keeper_start(const struct monitor_serve *s, int *ret_stop_fd)
{
        int sv[2];
        char ready;
        pid_t pid;

        /* Both ways: the keeper says it is ready, the monitor's close says stop. */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                close(sv[0]);
                close(sv[1]);
                return -errno;
        }
        if (pid == 0) {
                struct monitor_serve keep = *s;

                close(sv[0]);
                if (write(sv[1], "r", 1) != 1)
                        _exit(1);
                for (;;) {
                        struct pollfd p[2] = { { .fd = keep.master, .events = POLLIN },
                                               { .fd = sv[1], .events = POLLIN } };

                        if (poll(p, 2, -1) < 0 && errno != EINTR)
                                _exit(1);
                        if (p[0].revents || p[1].revents)
                                on_output(&keep, VIEWER_CONSOLE, false);
                        if (p[1].revents)
                                _exit(0);
                }
        }
        close(sv[1]);
        /* Running before anything can write to the console: a fork's child may
         * otherwise wait for a CPU longer than a guest takes to reach its getty. */
        if (read(sv[0], &ready, 1) != 1) {
                close(sv[0]);
                (void)waitpid(pid, NULL, 0);
                return -EIO;
        }
        *ret_stop_fd = sv[0];
        return pid;
}

void console_keeper_stop(pid_t pid, int stop_fd)
{
        close(stop_fd);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

/* The first line a client sends says what it wants: "console" or "tty N"
 * (then a stream both ways) or "log" (the ring, then EOF). */
static int parse_request(const struct monitor_serve *s, const char *buf, size_t n, size_t *ret_len)
{
        if (n >= 8 && memcmp(buf, "console\n", 8) == 0) {
                *ret_len = 8;
                return VIEWER_CONSOLE;
        }
        if (n >= 6 && memcmp(buf, "tty ", 4) == 0 && buf[4] >= '1' &&
            buf[4] < '1' + (int)s->n_ttys && buf[5] == '\n') {
                *ret_len = 6;
                return buf[4] - '0';
        }
        return VIEWER_REQUEST;
}

static void on_viewer_input(struct monitor_serve *s, size_t i)
{
        struct monitor_viewer *v = &s->viewers[i];
        char buf[4096];
        ssize_t n = recv(v->fd, buf, sizeof(buf), MSG_DONTWAIT);
        size_t len;

        if (n <= 0) {
                if (n == 0 || errno != EAGAIN)
                        viewer_drop(s, i);
                return;
        }
        if (v->target != VIEWER_REQUEST) {
                (void)write_all(target_master(s, v->target), buf, (size_t)n);
                return;
        }
        v->target = parse_request(s, buf, (size_t)n, &len);
        if (v->target != VIEWER_REQUEST) {
                if ((size_t)n > len)
                        (void)write_all(target_master(s, v->target), buf + len, (size_t)n - len);
        } else if (n >= 4 && memcmp(buf, "log\n", 4) == 0) {
                /* Straight from the ring: no copy of it to allocate. */
                size_t start, first, total = ring_span(s->ring, &start, &first);
                int fl = fcntl(v->fd, F_GETFL);

                (void)fcntl(v->fd, F_SETFL, fl & ~O_NONBLOCK);
                if (write_all(v->fd, s->ring->data + start, first) == 0)
                        (void)write_all(v->fd, s->ring->data, total - first);
                viewer_drop(s, i);
        } else {
                viewer_drop(s, i);
        }
}

static void on_accept(struct monitor_serve *s)
{
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd < 0)
                return;
        if (s->n_viewers >= MONITOR_MAX_VIEWERS) {
                close(fd);
                return;
        }
        s->viewers[s->n_viewers++] = (struct monitor_viewer){ .fd = fd, .target = VIEWER_REQUEST };
}

/* A tty is read only while someone views it: until then what the guest
 * writes there waits in the pty, and a viewer sees it when it connects. */
static bool tty_viewed(const struct monitor_serve *s, int target)
{
        for (size_t i = 0; i < s->n_viewers; i++)
                if (s->viewers[i].target == target)
                        return true;
        return false;
}

siginfo_t monitor_serve(struct monitor_serve *s)
{
        siginfo_t si = { 0 };
        int keeper = -1;

        /* Read first, then let the keeper go: it reads until it has seen the stop. */
        on_output(s, VIEWER_CONSOLE, true);
        if (s->keeper > 0) {
                keeper = (int)syscall(SYS_pidfd_open, s->keeper, 0);
                close(s->keeper_stop);
                if (keeper < 0)
                        (void)waitpid(s->keeper, NULL, 0);
                s->keeper = 0;
                s->keeper_stop = -1;
        }

        for (;;) {
                enum { PIDFD, MASTER, LISTEN, SIGNAL, KEEPER, TTYS };
                struct pollfd pfd[TTYS + MONITOR_TTYS + MONITOR_MAX_VIEWERS] = {
                        [PIDFD] = { .fd = s->pidfd, .events = POLLIN },
                        [MASTER] = { .fd = s->master, .events = POLLIN },
                        [LISTEN] = { .fd = s->listen_fd, .events = POLLIN },
                        [SIGNAL] = { .fd = s->sigfd, .events = POLLIN },
                        [KEEPER] = { .fd = keeper, .events = POLLIN },
                };
                size_t nt = s->n_ttys, nv = s->n_viewers, vb = TTYS + nt;

                for (size_t t = 0; t < nt; t++)
                        pfd[TTYS + t] =
                                (struct pollfd){ .fd = tty_viewed(s, (int)t + 1) ? s->tty[t].master
                                                                                 : -1,
                                                 .events = POLLIN };
                for (size_t i = 0; i < nv; i++)
                        pfd[vb + i] = (struct pollfd){ .fd = s->viewers[i].fd, .events = POLLIN };
                if (poll(pfd, vb + nv, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error("%s: poll: %m", s->name);
                        sleep(1);
                        continue;
                }
                if (pfd[MASTER].revents)
                        on_output(s, VIEWER_CONSOLE, true);
                for (size_t t = 0; t < nt; t++)
                        if (pfd[TTYS + t].revents)
                                on_output(s, (int)t + 1, true);
                if (pfd[LISTEN].revents & POLLIN)
                        on_accept(s);
                if (pfd[SIGNAL].revents & POLLIN) {
                        struct signalfd_siginfo ssi;

                        if (read(s->sigfd, &ssi, sizeof(ssi)) == (ssize_t)sizeof(ssi)) {
                                log_info("%s: SIGTERM: shutting the guest down", s->name);
                                (void)syscall(SYS_pidfd_send_signal, s->pidfd, s->stop_signal, NULL,
                                              0);
                        }
                }
                if (pfd[KEEPER].revents) {
                        (void)waitid(P_PIDFD, (id_t)keeper, &(siginfo_t){ 0 }, WEXITED);
                        close(keeper);
                        keeper = -1;
                }
                /* Backwards: a viewer dropped is replaced by the last one. */
                for (size_t i = nv; i-- > 0;)
                        if (i < s->n_viewers && pfd[vb + i].revents)
                                on_viewer_input(s, i);
                if (pfd[PIDFD].revents & POLLIN) {
                        if (waitid(P_PIDFD, (id_t)s->pidfd, &si, WEXITED) == 0)
                                break;
                }
        }
        on_output(s, VIEWER_CONSOLE, true); /* the last words */
        if (keeper >= 0) {
                (void)waitid(P_PIDFD, (id_t)keeper, &(siginfo_t){ 0 }, WEXITED);
                close(keeper);
        }
        return si;
}

void monitor_viewers_format(const struct monitor_serve *s, char *buf)
{
        for (size_t i = 0; i < s->n_viewers; i++) {
                int t = s->viewers[i].target;

                buf[i] = t == VIEWER_REQUEST ? 'r' : t == VIEWER_CONSOLE ? 'c' : (char)('0' + t);
        }
        buf[s->n_viewers] = '\0';
        if (s->n_viewers == 0)
                strcpy(buf, "-");
}

int monitor_viewers_parse(struct monitor_serve *s, const char *list, int first)
{
        size_t n = strcmp(list, "-") == 0 ? 0 : strlen(list);

        if (n > MONITOR_MAX_VIEWERS)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char c = list[i];
                int t;

                if (c == 'r')
                        t = VIEWER_REQUEST;
                else if (c == 'c')
                        t = VIEWER_CONSOLE;
                else if (c >= '1' && c < '1' + (int)s->n_ttys)
                        t = c - '0';
                else
                        return -EINVAL;
                s->viewers[i] = (struct monitor_viewer){ .fd = first + (int)i, .target = t };
        }
        s->n_viewers = n;
        return 0;
}

int monitor_ttys_parse(struct monitor_serve *s, const char *arg)
{
        if (arg[0] < '0' || arg[0] > '0' + MONITOR_TTYS || arg[1] != '\0')
                return -EINVAL;
        s->n_ttys = (size_t)(arg[0] - '0');
        for (size_t t = 0; t < s->n_ttys; t++)
                s->tty[t] = (struct monitor_tty){ .master = MONITOR_FD_TTYS + 2 * (int)t,
                                                  .slave = MONITOR_FD_TTYS + 2 * (int)t + 1 };
        return 0;
}

int monitor_fds_arrange(int *fds, size_t n, int first)
{
        int tmp[64];

        if (n > 64)
                return -EINVAL;
        /* Copies above the target range first, so that no move overwrites an fd
         * still to be moved; dup2() then replaces whatever held a target. */
        for (size_t i = 0; i < n; i++) {
                tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, first + (int)n);
                if (tmp[i] < 0) {
                        for (size_t j = 0; j < i; j++)
                                close(tmp[j]);
                        return -errno;
                }
        }
        for (size_t i = 0; i < n; i++) {
                if (dup2(tmp[i], first + (int)i) < 0)
                        return -errno;
                fds[i] = first + (int)i;
        }
        (void)syscall(SYS_close_range, (unsigned)(first + (int)n), ~0U, 0U);
        if (first > 3)
                (void)syscall(SYS_close_range, 3U, (unsigned)first - 1, 0U);
        return 0;
}
