/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/parse.h"
#include "core/core-internal.h"

/* Lock files live in $LODGE_ROOT/locks/NAME, apart from the container's
 * directory, so that create can lock a name before the directory exists.
 * The holder removes the file when it is done; a waiter that locked a file
 * which has since been unlinked notices (inode check) and starts over. So
 * nothing is left behind, and a crashed holder's lock is simply free. */

#define LOCK_POLL_NS (10 * 1000 * 1000)

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t lock_timeout_ms(void)
{
        const char *s = secure_getenv("LODGE_LOCK_TIMEOUT");
        uint64_t v;

        if (s && parse_u64_range(s, 0, 3600, &v) == 0)
                return v * 1000;
        return 5000;
}

/* Who holds it, as written by the holder: "pid 123 (create)". */
static void read_holder(int fd, char *buf, size_t len)
{
        ssize_t n = pread(fd, buf, len - 1, 0);

        if (n <= 0) {
                snprintf(buf, len, "another process");
                return;
        }
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
}

/* One attempt: 1 when taken, 0 when busy (holder described in busy_by), < 0 on error. */
static int try_once(int dirfd, const char *name, const char *what, int *ret_fd, char *busy_by,
                    size_t busy_len)
{
        cleanup_close int fd = -EBADF;
        struct stat a, b;
        char line[128];
        int n;

        fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return -errno;
                read_holder(fd, busy_by, busy_len);
                return 0;
        }
        /* Did the previous holder remove the file between our open and flock? */
        if (fstat(fd, &a) < 0)
                return -errno;
        if (fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino) {
                snprintf(busy_by, busy_len, "a process that just released it");
                return 0;
        }
        /* Emptied only when a crashed holder left its line: truncating an empty file
         * marks it, on ext4, for a flush of its data at the last close, which
         * container_unlock()'s close then waits for, and for freeing the block it
         * got (synchronously discarded on a filesystem mounted with discard). A
         * line never written back is dropped with the inode, without either. */
        n = snprintf(line, sizeof(line), "pid %d (%s)\n", (int)getpid(), what);
        if ((a.st_size > 0 && ftruncate(fd, 0) < 0) || pwrite(fd, line, (size_t)n, 0) != n)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 1;
}

static int lock_full(int dirfd, const char *name, const char *what, uint64_t timeout_ms,
                     struct container_lock *ret, struct lodge_error **err)
{
        uint64_t deadline = now_ms() + timeout_ms;
        char busy_by[128] = "";
        int fd = -EBADF, r;

        for (;;) {
                r = try_once(dirfd, name, what, &fd, busy_by, sizeof(busy_by));
                if (r < 0)
                        return lodge_error_set(err, -r, "lock container '%s'", name);
                if (r > 0)
                        break;
                if (now_ms() >= deadline)
                        return lodge_error_set(err, EBUSY, "container '%s' is locked by %s", name,
                                               busy_by);
                nanosleep(&(struct timespec){ .tv_nsec = LOCK_POLL_NS }, NULL);
        }

        ret->name = strdup(name);
        if (!ret->name) {
                (void)unlinkat(dirfd, name, 0);
                (void)close(fd);
                return lodge_error_set(err, ENOMEM, "lock container '%s'", name);
        }
        ret->fd = fd;
        ret->locks_dirfd = dirfd;
        return 0;
}

int container_lock(int locks_dirfd, const char *name, const char *what, struct container_lock *ret,
                   struct lodge_error **err)
{
        return lock_full(locks_dirfd, name, what, lock_timeout_ms(), ret, err);
}

int container_trylock(int locks_dirfd, const char *name, const char *what,
                      struct container_lock *ret, struct lodge_error **err)
{
        return lock_full(locks_dirfd, name, what, 0, ret, err);
}

void container_unlock(struct container_lock *l)
{
        if (l->fd >= 0) {
                /* Unlink while still holding it: waiters re-check the inode. */
                (void)unlinkat(l->locks_dirfd, l->name, 0);
                (void)close(l->fd);
        }
        free(l->name);
        *l = (struct container_lock)CONTAINER_LOCK_NULL;
}
