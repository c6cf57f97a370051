/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sandboxed half of extract_archive(): a forked child that enters a
 * private mount namespace, chroots into the destination, keeps only the
 * capabilities that unpacking needs, and writes the tar stream it reads from
 * a pipe with libarchive, after lodge's own check of every entry. It reports
 * once, with a struct extract_status, and _exit()s. Being in a chroot makes
 * the checks here and libarchive's SECURE_* flags defence in depth: a path
 * that slips past both still lands inside the rootfs. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <locale.h>
#include <sched.h>
#include <search.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"

/* Where the child keeps its only descriptors besides stdio. */
enum {
        CHILD_DATA_FD = 3,
        CHILD_STATUS_FD = 4,
        CHILD_DEST_FD = 5,
};

#define CHILD_READ_BLOCK (1U << 20)

/* Not ARCHIVE_EXTRACT_FFLAGS: immutable files a host can't remove (T-26).
 *
 * Not ARCHIVE_EXTRACT_UNLINK: with it libarchive silently deletes a symlink
 * met in the middle of a path (T-04) instead of refusing the entry; without
 * it a later entry still replaces a symlink that is its last component (T-06).
 *
 * Not ARCHIVE_EXTRACT_SECURE_SYMLINKS: libarchive 3.6 implements it with an
 * lstat+open+close walk of every component of every entry (6 syscalls per
 * entry instead of 1 for a Debian rootfs). The same refusal is made here from
 * memory, since every symlink in a destination that started empty was made
 * by this process (see through_symlink()); a destination that isn't empty
 * gets libarchive's check as well.
 *
 * Not ARCHIVE_EXTRACT_SPARSE: it only adds holes where a non-sparse entry has
 * runs of zeros, and makes libarchive write in 4 KiB pieces; entries stored
 * sparse (GNU/pax sparse maps) keep their holes without it. */
#define EXTRACT_FLAGS                                                                              \
        (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |                     \
         ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_NODOTDOT |           \
         ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

DEFINE_CLEANUP_FUNC(struct archive *, archive_read_free)
DEFINE_CLEANUP_FUNC(struct archive *, archive_write_free)

struct child {
        const struct extract_child_args *args;
        struct extract_status *st;
        uint64_t entries;
        uint64_t bytes;
        void *symlinks; /* tsearch() set of the canonical paths of the symlinks made */
        char *path;     /* canonical path of the current entry */
        char *link;     /* canonical hard link target of the current entry */
        size_t path_size, link_size;
        bool have_top_times; /* the archive's "./" entry: its times are set last */
        struct timespec top_times[2];
};

static int fail(struct extract_status *st, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(struct extract_status *st, int code, const char *fmt, ...)
{
        va_list ap;

        st->code = code;
        va_start(ap, fmt);
        (void)vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
        va_end(ap);
        return -code;
}

/* libarchive's errno, or fallback for its pseudo-codes: ARCHIVE_ERRNO_MISC
 * (-1) and ARCHIVE_ERRNO_FILE_FORMAT, which is EILSEQ on Linux (internal to
 * libarchive, hence spelled out). */
static int archive_code(struct archive *a, int fallback)
{
        int e = archive_errno(a);

        return e <= 0 || e == EILSEQ ? fallback : e;
}

static const char *archive_text(struct archive *a)
{
        const char *s = archive_error_string(a);

        return s ? s : "unknown error";
}

/* Put data, status and dest on 3, 4, 5 and close everything else, so nothing
 * the parent had open is reachable from inside the chroot. */
static int move_fds(const struct extract_child_args *args)
{
        const int from[3] = { args->data_fd, args->status_fd, args->dest_fd };
        int tmp[3];

        for (unsigned i = 0; i < 3; i++) {
                tmp[i] = fcntl(from[i], F_DUPFD_CLOEXEC, CHILD_DEST_FD + 1);
                if (tmp[i] < 0)
                        return -errno;
        }
        for (unsigned i = 0; i < 3; i++)
                if (dup2(tmp[i], CHILD_DATA_FD + (int)i) < 0)
                        return -errno;
        if (close_range(CHILD_DEST_FD + 1, ~0U, 0) < 0) {
                /* FIXME(kernel < 5.9): no close_range. */
                long max = sysconf(_SC_OPEN_MAX);

                for (long fd = CHILD_DEST_FD + 1; fd < (max > 0 ? max : 65536); fd++)
                        (void)close((int)fd);
        }
        return 0;
}

static int drop_capabilities(struct extract_status *st)
{
        static const int keep_list[] = { CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER,
                                         CAP_FSETID, CAP_MKNOD,        CAP_SETFCAP };
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = { { 0 } };
        uint64_t keep = 0, have;

        for (size_t i = 0; i < ELEMENTSOF(keep_list); i++)
                keep |= 1ULL << keep_list[i];

        /* The bounding set first: dropping from it needs CAP_SETPCAP, which the
         * capset() below removes. PR_CAPBSET_READ fails past the last cap. */
        for (unsigned long cap = 0;; cap++) {
                int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

                if (r < 0)
                        break;
                if (r == 0 || (cap < 64 && (keep & (1ULL << cap))))
                        continue;
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                        return fail(st, errno, "drop capability %lu from the bounding set", cap);
        }
        (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

        if (syscall(SYS_capget, &hdr, data) < 0)
                return fail(st, errno, "read capabilities");
        have = (uint64_t)data[0].permitted | (uint64_t)data[1].permitted << 32;
        keep &= have; /* capset() can't raise what we don't hold */
        memset(data, 0, sizeof(data));
        data[0].effective = data[0].permitted = (uint32_t)keep;
        data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
        if (syscall(SYS_capset, &hdr, data) < 0)
                return fail(st, errno, "drop capabilities");
        return 0;
}

static int sandbox(const struct extract_child_args *args, struct extract_status *st)
{
        static const int reset[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
        sigset_t none;

        /* The parent's interrupt handler would only set a flag here; the
         * parent decides about interrupts and kills us. */
        for (size_t i = 0; i < ELEMENTSOF(reset); i++)
                (void)signal(reset[i], SIG_DFL);
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);

        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                return fail(st, errno, "set the parent death signal");
        if (getppid() != args->parent)
                return fail(st, ESRCH, "parent went away");

        /* Pathnames in pax headers are UTF-8: with a UTF-8 locale libarchive
         * needs no charset conversion. And glibc reads its gconv
         * configuration once, on the first iconv_open(): make that happen
         * now, from the host, so nothing the guest's tree holds at those
         * paths is read after the chroot. */
        if (!setlocale(LC_CTYPE, "C.UTF-8"))
                (void)setlocale(LC_CTYPE, "C");
        {
                iconv_t cd = iconv_open("UTF-8", "ASCII"); /* both built in */

                if (cd != (iconv_t)-1)
                        (void)iconv_close(cd);
        }

        if (unshare(CLONE_NEWNS) < 0)
                return fail(st, errno, "create a mount namespace");
        if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
                return fail(st, errno, "make the mounts private");
        if (fchdir(CHILD_DEST_FD) < 0 || chroot(".") < 0 || chdir("/") < 0)
                return fail(st, errno, "change root to the destination");
        (void)close(CHILD_DEST_FD);

        /* Parents that the archive doesn't list are created 0755. */
        (void)umask(022);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return fail(st, errno, "set no_new_privs");
        return drop_capabilities(st);
}

/* Check a path from the archive: relative and without "..". Returns its
 * depth (the number of components; "" and "." don't count) or -EINVAL. */
static long path_depth(const char *p)
{
        long depth = 0;

        if (p[0] == '/')
                return -EINVAL;
        while (*p) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return -EINVAL;
                if (n > 0 && !(n == 1 && p[0] == '.'))
                        depth++;
                p += n;
                p += strspn(p, "/");
        }
        return depth;
}

/* "./dev/null", "/dev/null" and "dev/null/" all become "dev/null". */
static const char *normalize(const char *s, size_t *ret_len)
{
        size_t n;

        for (;;) {
                if (s[0] == '/' || (s[0] == '.' && s[1] == '\0'))
                        s++;
                else if (s[0] == '.' && s[1] == '/')
                        s += 2;
                else
                        break;
        }
        n = strlen(s);
        while (n > 0 && s[n - 1] == '/')
                n--;
        *ret_len = n;
        return s;
}

/* The path as libarchive will use it once it has cleaned it: no leading "/"
 * or "./", no "." or empty components, no trailing "/". Into *buf, grown as
 * needed; "" is the top directory. */
static int canonicalize(const char *src, char **buf, size_t *size)
{
        size_t need = strlen(src) + 1, n = 0;
        char *d;

        if (need > *size) {
                d = realloc(*buf, need);
                if (!d)
                        return -ENOMEM;
                *buf = d;
                *size = need;
        }
        d = *buf;
        while (*src) {
                size_t len = strcspn(src, "/");

                if (len > 0 && !(len == 1 && src[0] == '.')) {
                        if (n > 0)
                                d[n++] = '/';
                        memcpy(d + n, src, len);
                        n += len;
                }
                src += len;
                src += strspn(src, "/");
        }
        d[n] = '\0';
        return 0;
}

static int compare_paths(const void *a, const void *b)
{
        return strcmp(a, b);
}

/* The length of the leading part of canonical path p that is a symlink made
 * earlier by this extraction (the destination starts empty and nothing else
 * writes into it, so these are all the symlinks there are), or 0. The last
 * component doesn't count: an entry replaces a symlink of its own name. */
static size_t through_symlink(struct child *c, char *p)
{
        if (!c->symlinks)
                return 0;
        for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
                bool found;

                *s = '\0';
                found = tfind(p, &c->symlinks, compare_paths) != NULL;
                *s = '/';
                if (found)
                        return (size_t)(s - p);
        }
        return 0;
}

static bool is_symlink(struct child *c, const char *p)
{
        return c->symlinks && tfind(p, &c->symlinks, compare_paths);
}

static int remember_symlink(struct child *c, const char *p)
{
        char *key = strdup(p);
        void *node;

        if (!key)
                return -ENOMEM;
        node = tsearch(key, &c->symlinks, compare_paths);
        if (!node || *(char **)node != key)
                free(key); /* out of memory, or already known */
        return node ? 0 : -ENOMEM;
}

static void forget_symlink(struct child *c, const char *p)
{
        void *node = c->symlinks ? tfind(p, &c->symlinks, compare_paths) : NULL;
        char *key;

        if (!node)
                return;
        key = *(char **)node;
        (void)tdelete(p, &c->symlinks, compare_paths);
        free(key);
}

/* Is path one of the excludes, or below one of them? */
static bool excluded(char *const *excludes, const char *path)
{
        size_t plen, xlen;
        const char *p = normalize(path, &plen);

        STRV_FOREACH (x, excludes) {
                const char *xs = normalize(*x, &xlen);

                if (xlen > 0 && plen >= xlen && memcmp(p, xs, xlen) == 0 &&
                    (plen == xlen || p[xlen] == '/'))
                        return true;
        }
        return false;
}

static bool chardev_allowed(unsigned major, unsigned minor)
{
        static const struct {
                unsigned major, minor;
        } allowed[] = {
                { 1, 3 }, /* null */
                { 1, 5 }, /* zero */
                { 1, 7 }, /* full */
                { 1, 8 }, /* random */
                { 1, 9 }, /* urandom */
                { 5, 0 }, /* tty */
                { 5, 1 }, /* console */
                { 5, 2 }, /* ptmx */
        };

        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (allowed[i].major == major && allowed[i].minor == minor)
                        return true;
        return false;
}

static bool xattr_allowed(const char *name)
{
        if (strncmp(name, "trusted.", 8) == 0)
                return false;
        if (strncmp(name, "security.", 9) == 0)
                return strcmp(name, "security.capability") == 0;
        return true;
}

struct xattr_copy {
        char *name;
        void *value;
        size_t size;
};

static void xattr_copies_free(struct xattr_copy *c, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(c[i].name);
                free(c[i].value);
        }
        free(c);
}

/* Rebuild the entry's xattr list without trusted.* and security.* (but
 * security.capability, which file capabilities need). */
static int strip_xattrs(struct archive_entry *e, struct extract_status *st)
{
        int count = archive_entry_xattr_reset(e);
        struct xattr_copy *keep;
        const char *name;
        const void *value;
        bool drop = false;
        size_t size, n = 0;

        if (count <= 0)
                return 0;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
                drop = drop || !xattr_allowed(name);
        if (!drop)
                return 0;

        keep = calloc((size_t)count, sizeof(*keep));
        if (!keep)
                return fail(st, ENOMEM, "copy extended attributes");
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (!xattr_allowed(name) || n >= (size_t)count)
                        continue;
                keep[n].name = strdup(name);
                keep[n].value = malloc(size ? size : 1);
                keep[n].size = size;
                if (!keep[n].name || !keep[n].value) {
                        xattr_copies_free(keep, n + 1);
                        return fail(st, ENOMEM, "copy extended attributes");
                }
                memcpy(keep[n].value, value, size);
                n++;
        }
        archive_entry_xattr_clear(e);
        for (size_t i = 0; i < n; i++)
                archive_entry_xattr_add_entry(e, keep[i].name, keep[i].value, keep[i].size);
        xattr_copies_free(keep, n);
        return 0;
}

static int check_links(struct child *c, struct archive_entry *e, const char *path)
{
        const char *link = archive_entry_hardlink(e);
        size_t n;

        if (canonicalize(path, &c->path, &c->path_size) < 0)
                return fail(c->st, ENOMEM, "entry '%s': copy its path", path);
        n = through_symlink(c, c->path);
        if (n > 0)
                return fail(c->st, EINVAL, "entry '%s': path goes through the symlink '%.*s'", path,
                            (int)n, c->path);
        if (!link)
                return 0;

        if (path_depth(link) < 0)
                return fail(c->st, EINVAL, "entry '%s': hard link target '%s' escapes the rootfs",
                            path, link);
        if (canonicalize(link, &c->link, &c->link_size) < 0)
                return fail(c->st, ENOMEM, "entry '%s': copy its link target", path);
        n = through_symlink(c, c->link);
        if (n > 0)
                return fail(c->st, EINVAL,
                            "entry '%s': hard link target '%s' goes through the symlink '%.*s'",
                            path, link, (int)n, c->link);
        return 0;
}

static int check_type(struct child *c, struct archive_entry *e, const char *path, long depth)
{
        unsigned type = archive_entry_filetype(e);

        if (depth == 0 && type != AE_IFDIR)
                return fail(c->st, EINVAL, "entry '%s': the top directory is not a directory",
                            path);
        if (type == AE_IFBLK)
                return fail(c->st, EINVAL, "entry '%s': block devices are not allowed", path);
        if (type == AE_IFCHR && !chardev_allowed((unsigned)archive_entry_rdevmajor(e),
                                                 (unsigned)archive_entry_rdevminor(e)))
                return fail(c->st, EINVAL,
                            "entry '%s': character device %u:%u is not one of the standard "
                            "devices",
                            path, (unsigned)archive_entry_rdevmajor(e),
                            (unsigned)archive_entry_rdevminor(e));
        return 0;
}

/* Immutable and append-only files would outlive even a root "rm -rf" (and
 * so block destroy); no real rootfs has them: refuse the archive. */
static int check_fflags(struct child *c, struct archive_entry *e, const char *path)
{
        unsigned long set = 0, clear = 0;

        archive_entry_fflags(e, &set, &clear);
        if (set & (FS_IMMUTABLE_FL | FS_APPEND_FL))
                return fail(c->st, EINVAL,
                            "entry '%s': immutable and append-only flags are not allowed", path);
        return 0;
}

/* The declared size is the apparent one: a sparse file counts in full. */
static int check_size(struct child *c, struct archive_entry *e, const char *path)
{
        const struct extract_child_args *a = c->args;
        int64_t size = archive_entry_size(e);

        if (size <= 0)
                return 0;
        if ((uint64_t)size > a->max_bytes - c->bytes)
                return fail(c->st, a->max_bytes_is_free_space ? ENOSPC : EFBIG,
                            "entry '%s': size budget of %llu bytes%s exceeded", path,
                            (unsigned long long)a->max_bytes,
                            a->max_bytes_is_free_space ? " (the free space of the destination)"
                                                       : "");
        c->bytes += (uint64_t)size;
        return 0;
}

/* lodge's own policy, before libarchive sees the entry. Returns 1 to skip
 * the entry (excluded), 0 to write it, or a negative errno with st filled. */
static int check_entry(struct child *c, struct archive_entry *e, const char *path)
{
        const struct extract_child_args *a = c->args;
        long depth;
        int r;

        if (++c->entries > a->max_entries)
                return fail(c->st, EFBIG, "entry '%s': more than %llu entries", path,
                            (unsigned long long)a->max_entries);
        if (excluded(a->excludes, path))
                return 1;

        depth = path_depth(path);
        if (depth < 0)
                return fail(c->st, EINVAL, "entry '%s': path escapes the rootfs", path);
        if ((unsigned long)depth > a->max_depth)
                return fail(c->st, ENAMETOOLONG, "entry '%s': path deeper than %u levels", path,
                            a->max_depth);
        r = check_links(c, e, path);
        if (r >= 0)
                r = check_type(c, e, path, depth);
        if (r >= 0)
                r = check_fflags(c, e, path);
        if (r >= 0)
                r = check_size(c, e, path);
        if (r < 0)
                return r;

        if (depth == 0 && archive_entry_mtime_is_set(e)) {
                c->have_top_times = true;
                c->top_times[0] = (struct timespec){ .tv_nsec = UTIME_OMIT };
                if (archive_entry_atime_is_set(e))
                        c->top_times[0] = (struct timespec){ archive_entry_atime(e),
                                                             archive_entry_atime_nsec(e) };
                c->top_times[1] =
                        (struct timespec){ archive_entry_mtime(e), archive_entry_mtime_nsec(e) };
        }

        /* No flag is ever applied, even if FFLAGS were ever turned on. */
        archive_entry_set_fflags(e, 0, 0);
        return strip_xattrs(e, c->st);
}

/* A read error from the tar stream, in words a user can act on. */
static int read_failure(struct child *c, struct archive *in, const char *path)
{
        const char *s = archive_text(in);

        if (c->entries == 0 && !path)
                return fail(c->st, EBADMSG, "not a tar archive");
        if (strcasestr(s, "truncated"))
                return path ? fail(c->st, EBADMSG, "entry '%s': truncated archive", path)
                            : fail(c->st, EBADMSG, "truncated archive");
        if (path)
                return fail(c->st, archive_code(in, EBADMSG), "entry '%s': %s", path, s);
        return fail(c->st, archive_code(in, EBADMSG), "%s", s);
}

/* libarchive says ARCHIVE_WARN both for harmless notes ("Removing symlink")
 * and for metadata it couldn't restore. A rootfs whose owners or modes are
 * wrong is broken, so only notes without an errno, and xattrs/ACLs the
 * destination filesystem doesn't support, are let through. */
static bool warning_tolerable(struct archive *out)
{
        int e = archive_errno(out);

        return e == 0 || e == EOPNOTSUPP; /* == ENOTSUP on Linux */
}

static int copy_data(struct child *c, struct archive *in, struct archive *out, const char *path)
{
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int r;
                la_ssize_t w;

                r = archive_read_data_block(in, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return read_failure(c, in, path);
                w = archive_write_data_block(out, buf, len, off);
                if (w < ARCHIVE_OK && !(w == ARCHIVE_WARN && warning_tolerable(out)))
                        return fail(c->st, archive_code(out, EIO), "entry '%s': %s", path,
                                    archive_text(out));
        }
}

/* Keep the symlink set true to what is on disk once the entry is written. */
static int track_symlinks(struct child *c, struct archive_entry *e)
{
        const char *link = archive_entry_hardlink(e);

        if (link ? is_symlink(c, c->link) : archive_entry_filetype(e) == AE_IFLNK)
                return remember_symlink(c, c->path);
        forget_symlink(c, c->path); /* replaced by a file, directory... */
        return 0;
}

static int write_entry(struct child *c, struct archive *in, struct archive *out,
                       struct archive_entry *e, const char *path)
{
        int r;

        /* libarchive would keep a symlink to a directory in the place of a
         * directory entry and then chmod/chown through it: remove it first. */
        if (archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e) &&
            is_symlink(c, c->path)) {
                if (unlinkat(AT_FDCWD, c->path, 0) < 0)
                        return fail(c->st, errno, "entry '%s': remove the symlink in its place",
                                    path);
                forget_symlink(c, c->path);
        }

        r = archive_write_header(out, e);
        if (r < ARCHIVE_OK && !(r == ARCHIVE_WARN && warning_tolerable(out)))
                return fail(c->st, archive_code(out, EINVAL), "entry '%s': %s", path,
                            archive_text(out));
        if (archive_entry_size(e) > 0) {
                r = copy_data(c, in, out, path);
                if (r < 0)
                        return r;
        }
        r = archive_write_finish_entry(out);
        if (r < ARCHIVE_OK && !(r == ARCHIVE_WARN && warning_tolerable(out)))
                return fail(c->st, archive_code(out, EIO), "entry '%s': %s", path,
                            archive_text(out));
        if (track_symlinks(c, e) < 0)
                return fail(c->st, ENOMEM, "entry '%s': remember symlink", path);
        return 0;
}

/* Does the destination (our "/") hold anything but lost+found? */
static bool dest_is_empty(void)
{
        cleanup_closedir DIR *d = opendir("/");
        struct dirent *de;

        if (!d)
                return false;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
                    strcmp(de->d_name, "lost+found") != 0)
                        return false;
        return true;
}

static void child_done(struct child *c)
{
        tdestroy(c->symlinks, free);
        free(c->path);
        free(c->link);
        *c = (struct child){ 0 };
}

static int unpack_entries(struct child *c, struct archive *in, struct archive *out)
{
        for (;;) {
                struct archive_entry *e;
                const char *path;
                int r;

                r = archive_read_next_header(in, &e);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return read_failure(c, in, NULL);
                path = archive_entry_pathname(e);
                if (!path || !*path)
                        return fail(c->st, EBADMSG, "entry %llu has no name",
                                    (unsigned long long)c->entries + 1);

                r = check_entry(c, e, path);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue; /* excluded: libarchive skips its data */
                r = write_entry(c, in, out, e, path);
                if (r < 0)
                        return r;
        }
}

static int unpack(const struct extract_child_args *args, struct extract_status *st)
{
        CLEANUP(archive_read_freep) struct archive *in = NULL;
        CLEANUP(archive_write_freep) struct archive *out = NULL;
        CLEANUP(child_done) struct child c = { .args = args, .st = st };
        int flags = EXTRACT_FLAGS, r;

        if (!dest_is_empty())
                flags |= ARCHIVE_EXTRACT_SECURE_SYMLINKS; /* see EXTRACT_FLAGS */
        in = archive_read_new();
        out = archive_write_disk_new(); /* after umask(): it records the umask */
        if (!in || !out)
                return fail(st, ENOMEM, "set up libarchive");
        /* The stream is already decompressed by the parent: tar only (ustar,
         * pax, GNU), no filters, nothing else. */
        if (archive_read_support_format_tar(in) != ARCHIVE_OK ||
            archive_write_disk_set_options(out, flags) != ARCHIVE_OK)
                return fail(st, EINVAL, "set up libarchive: %s", archive_text(in));
        if (archive_read_open_fd(in, CHILD_DATA_FD, CHILD_READ_BLOCK) != ARCHIVE_OK)
                return read_failure(&c, in, NULL);

        r = unpack_entries(&c, in, out);
        if (r < 0)
                return r;

        /* Directory modes and times are applied here, deepest first. */
        if (archive_write_close(out) < ARCHIVE_WARN)
                return fail(st, archive_code(out, EIO), "finish: %s", archive_text(out));
        /* The top directory existed before its entry came, so libarchive set
         * its times at once and every file made in it since changed them. */
        if (c.have_top_times && utimensat(AT_FDCWD, "/", c.top_times, 0) < 0)
                return fail(st, errno, "set the times of the top directory");
        return 0;
}

_Noreturn void extract_child_run(const struct extract_child_args *args)
{
        struct extract_status st = { 0 };
        int r;

        if (move_fds(args) < 0)
                _exit(127); /* no status pipe to talk through: the parent says so */

        r = sandbox(args, &st);
        if (r >= 0)
                r = unpack(args, &st);
        if (r >= 0)
                st = (struct extract_status){ 0 };
        else if (st.code <= 0)
                (void)fail(&st, EIO, "unpacking failed");

        /* One write of at most PIPE_BUF bytes is atomic. */
        if (write(CHILD_STATUS_FD, &st, sizeof(st)) != (ssize_t)sizeof(st))
                _exit(126);
        _exit(r < 0 ? 1 : 0);
}
