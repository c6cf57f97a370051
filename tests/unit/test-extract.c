/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* extract_archive() against a normal tree and the hostile tarballs of
 * research/security.md section 3.1 (T-xx). Unpacking chroots, so these need
 * root and skip otherwise. Each test has a "dest" and, next to it, a "victim"
 * directory that nothing may touch. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/interrupt.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"
#include "tests/unit/lodge-test.h"

#define T0 1600000000
#define VICTIM_TARGET "target\n"

DEFINE_CLEANUP_FUNC(struct archive *, archive_read_free)

struct ent {
        const char *path;
        unsigned type; /* 0: AE_IFREG */
        unsigned mode;
        const char *data;
        const char *symlink;
        const char *hardlink;
        unsigned major, minor;
        unsigned uid, gid;
        int64_t mtime; /* 0: T0 */
        unsigned long fflags;
        const char *xattr[3][2]; /* name, value */
        int64_t size;            /* declared size when not strlen(data) (sparse) */
        int64_t sparse_off;      /* with size: one data region of strlen(data) here */
};

static int add(struct archive *a, const struct ent *s)
{
        struct archive_entry *e = archive_entry_new();
        size_t len = s->data ? strlen(s->data) : 0;
        int r = 0;

        assert_non_null(e);
        archive_entry_set_pathname(e, s->path);
        archive_entry_set_filetype(e, s->type ? s->type : AE_IFREG);
        archive_entry_set_perm(e, s->mode ? s->mode : 0644);
        archive_entry_set_uid(e, s->uid);
        archive_entry_set_gid(e, s->gid);
        archive_entry_set_mtime(e, s->mtime ? s->mtime : T0, 0);
        if (s->symlink)
                archive_entry_set_symlink(e, s->symlink);
        if (s->hardlink)
                archive_entry_set_hardlink(e, s->hardlink);
        if (s->type == AE_IFCHR || s->type == AE_IFBLK)
                archive_entry_set_rdev(e, makedev(s->major, s->minor));
        if (s->fflags)
                archive_entry_set_fflags(e, s->fflags, 0);
        for (size_t i = 0; i < 3 && s->xattr[i][0]; i++)
                archive_entry_xattr_add_entry(e, s->xattr[i][0], s->xattr[i][1],
                                              strlen(s->xattr[i][1]));
        if (s->size) {
                archive_entry_set_size(e, s->size);
                archive_entry_sparse_add_entry(e, s->sparse_off, (int64_t)len);
        } else if (s->type == 0 || s->type == AE_IFREG)
                archive_entry_set_size(e, (int64_t)len);

        if (archive_write_header(a, e) < ARCHIVE_WARN)
                r = -EIO;
        /* A sparse entry is written as its logical content, from offset 0:
         * the writer drops what falls in the holes. */
        for (int64_t off = 0; r == 0 && s->size && off < s->sparse_off;) {
                static const char zeros[65536];
                size_t n = (size_t)(s->sparse_off - off) < sizeof(zeros)
                                   ? (size_t)(s->sparse_off - off)
                                   : sizeof(zeros);

                if (archive_write_data(a, zeros, n) != (la_ssize_t)n)
                        r = -EIO;
                off += (int64_t)n;
        }
        if (r == 0 && len > 0 && archive_write_data(a, s->data, len) != (la_ssize_t)len)
                r = -EIO;
        archive_entry_free(e);
        return r;
}

/* A ustar header by hand, for what libarchive's writer won't produce: a
 * hard link that carries data (T-10). */
static void ustar_header(char h[512], const char *name, char type, size_t size,
                         const char *linkname)
{
        unsigned sum = 0;

        memset(h, 0, 512);
        assert_true(strlen(name) < 100 && (!linkname || strlen(linkname) < 100));
        memcpy(h, name, strlen(name) + 1);
        snprintf(h + 100, 8, "%07o", 0644);
        snprintf(h + 108, 8, "%07o", 0);
        snprintf(h + 116, 8, "%07o", 0);
        snprintf(h + 124, 12, "%011zo", size);
        snprintf(h + 136, 12, "%011o", T0);
        memset(h + 148, ' ', 8);
        h[156] = type;
        if (linkname)
                memcpy(h + 157, linkname, strlen(linkname) + 1);
        memcpy(h + 257, "ustar", 6);
        h[263] = h[264] = '0'; /* the version, not NUL-terminated */
        for (size_t i = 0; i < 512; i++)
                sum += (unsigned char)h[i];
        snprintf(h + 148, 8, "%06o", sum);
}

/* Write the entries (terminated by one with path NULL) to t/name. */
static void make_archive(const struct lodge_tmpdir *t, const char *name, int filter,
                         const struct ent *list)
{
        struct archive *a = archive_write_new();
        char path[256];

        assert_non_null(a);
        snprintf(path, sizeof(path), "%s/%s", t->path, name);
        assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
        assert_true(archive_write_add_filter(a, filter) >= ARCHIVE_WARN);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (; list->path; list++)
                assert_int_equal(add(a, list), 0);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static void make_file(const struct lodge_tmpdir *t, const char *name, const void *buf, size_t len)
{
        cleanup_close int fd =
                openat(t->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static int extract_opts(const struct lodge_tmpdir *t, const char *name,
                        const struct extract_options *o, struct lodge_error **err)
{
        cleanup_close int fd = openat(t->dirfd, name, O_RDONLY | O_CLOEXEC);
        char dest[256];

        assert_true(fd >= 0);
        snprintf(dest, sizeof(dest), "%s/dest", t->path);
        return extract_archive(fd, name, dest, o, err);
}

static int extract(const struct lodge_tmpdir *t, const char *name, struct lodge_error **err)
{
        return extract_opts(t, name, NULL, err);
}

static int setup(void **state)
{
        struct lodge_tmpdir *t;
        int fd;

        if (lodge_tmpdir_setup(state) < 0)
                return -1;
        t = *state;
        if (mkdirat(t->dirfd, "dest", 0755) < 0 || mkdirat(t->dirfd, "victim", 0755) < 0 ||
            fchmodat(t->dirfd, "victim", 0755, 0) < 0)
                return -1;
        fd = openat(t->dirfd, "victim/target", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return -1;
        if (write(fd, VICTIM_TARGET, strlen(VICTIM_TARGET)) < 0 || fchmod(fd, 0644) < 0) {
                close(fd);
                return -1;
        }
        close(fd);
        return 0;
}

static void need_root(void)
{
        if (geteuid() != 0)
                skip(); /* unpacking enters a mount namespace and chroots */
}

static unsigned count_entries(int dirfd, const char *path)
{
        cleanup_closedir DIR *d = NULL;
        struct dirent *de;
        unsigned n = 0;
        int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        d = fdopendir(fd);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        return n;
}

/* Invariant (i) of section 3.1: nothing outside dest changed. */
static void assert_victim_intact(const struct lodge_tmpdir *t)
{
        cleanup_close int fd = openat(t->dirfd, "victim/target", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char buf[64] = { 0 };
        struct stat st;

        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(st.st_nlink, 1);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(st.st_uid, geteuid());
        assert_int_equal(read(fd, buf, sizeof(buf) - 1), (ssize_t)strlen(VICTIM_TARGET));
        assert_string_equal(buf, VICTIM_TARGET);
        assert_int_equal(fstatat(t->dirfd, "victim", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(count_entries(t->dirfd, "victim"), 1);
        assert_int_equal(fstatat(t->dirfd, "pwned", &st, AT_SYMLINK_NOFOLLOW), -1);
}

static void assert_refused(const struct lodge_tmpdir *t, const char *name, int code,
                           const char *text)
{
        cleanup_error struct lodge_error *err = NULL;

        assert_int_equal(extract(t, name, &err), -code);
        assert_non_null(err);
        assert_int_equal(err->code, code);
        if (!strstr(err->msg, text))
                fail_msg("'%s' does not say '%s'", err->msg, text);
        assert_victim_intact(t);
}

#define HEAD                                                                                       \
        { .path = "./", .type = AE_IFDIR, .mode = 0755 },                                          \
                { .path = "./etc/", .type = AE_IFDIR, .mode = 0755 },                              \
        {                                                                                          \
                .path = "./etc/hostname", .data = "LXC_NAME\n"                                     \
        }
#define END                                                                                        \
        {                                                                                          \
                0                                                                                  \
        }

/* A valid VFS_CAP_REVISION_2 blob: CAP_NET_RAW permitted and effective. */
static const char file_caps[] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };

static void test_normal_tree(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent tree[] = {
                { .path = "./", .type = AE_IFDIR, .mode = 0755, .mtime = T0 + 1 },
                { .path = "./etc/", .type = AE_IFDIR, .mode = 0750, .mtime = T0 + 2 },
                { .path = "./etc/hostname",
                  .data = "web\n",
                  .uid = 1234,
                  .gid = 5678,
                  .mtime = T0 + 3 },
                { .path = "./etc/shadow", .mode = 0640, .gid = 42, .data = "root:*:1::::::\n" },
                { .path = "./usr/bin/su", .mode = 04755, .data = "ELF" },
                { .path = "./usr/bin/link", .type = AE_IFLNK, .mode = 0777, .symlink = "su" },
                { .path = "./usr/bin/hard", .hardlink = "./usr/bin/su" },
                { .path = "./var/fifo", .type = AE_IFIFO, .mode = 0600 },
                { .path = "./dev/", .type = AE_IFDIR, .mode = 0755 },
                { .path = "./dev/null", .type = AE_IFCHR, .mode = 0666, .major = 1, .minor = 3 },
                { .path = "./usr/bin/ping",
                  .mode = 0755,
                  .data = "ELF",
                  .xattr = { { "user.lodge", "kept" } } },
                { .path = "./var/sparse",
                  .data = "data",
                  .size = INT64_C(1) << 20,
                  .sparse_off = INT64_C(512) << 10 },
                END,
        };
        cleanup_error struct lodge_error *err = NULL;
        char buf[64] = { 0 };
        struct stat st, st2;
        cleanup_close int dest = -EBADF;

        need_root();
        make_archive(t, "a.tar", ARCHIVE_FILTER_NONE, tree);
        assert_int_equal(extract(t, "a.tar", &err), 0);
        assert_null(err);
        dest = openat(t->dirfd, "dest", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dest >= 0);

        /* The top entry's mode and times apply to dest itself, set last. */
        assert_int_equal(fstat(dest, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(st.st_mtim.tv_sec, T0 + 1);
        assert_int_equal(fstatat(dest, "etc", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode & 07777, 0750);
        assert_int_equal(st.st_mtim.tv_sec, T0 + 2);

        assert_int_equal(fstatat(dest, "etc/hostname", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_uid, 1234);
        assert_int_equal(st.st_gid, 5678);
        assert_int_equal(st.st_mtim.tv_sec, T0 + 3);
        {
                cleanup_close int fd = openat(dest, "etc/hostname", O_RDONLY | O_CLOEXEC);

                assert_int_equal(read(fd, buf, sizeof(buf) - 1), 4);
                assert_string_equal(buf, "web\n");
        }
        assert_int_equal(fstatat(dest, "etc/shadow", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(st.st_gid, 42);

        /* setuid kept (T-24), hard link shares the inode. */
        assert_int_equal(fstatat(dest, "usr/bin/su", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode & 07777, 04755);
        assert_int_equal(st.st_nlink, 2);
        assert_int_equal(fstatat(dest, "usr/bin/hard", &st2, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(st.st_ino == st2.st_ino);
        assert_int_equal(fstatat(dest, "usr", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode & 07777, 0755); /* made implicitly, umask 022 */

        memset(buf, 0, sizeof(buf));
        assert_int_equal(readlinkat(dest, "usr/bin/link", buf, sizeof(buf) - 1), 2);
        assert_string_equal(buf, "su");

        assert_int_equal(fstatat(dest, "var/fifo", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISFIFO(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(fstatat(dest, "dev/null", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_true(st.st_rdev == makedev(1, 3));

        {
                char path[300], val[16] = { 0 };

                snprintf(path, sizeof(path), "%s/dest/usr/bin/ping", t->path);
                if (lgetxattr(path, "user.lodge", val, sizeof(val) - 1) >= 0)
                        assert_string_equal(val, "kept");
                else
                        assert_int_equal(errno, EOPNOTSUPP);
        }

        /* Sparse stays sparse: 1 MiB apparent, a few KiB allocated. */
        assert_int_equal(fstatat(dest, "var/sparse", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_size, 1 << 20);
        assert_true(st.st_blocks * 512 <= 64 << 10);
        {
                cleanup_close int fd = openat(dest, "var/sparse", O_RDONLY | O_CLOEXEC);

                memset(buf, 0, sizeof(buf));
                assert_int_equal(pread(fd, buf, 4, (off_t)512 << 10), 4);
                assert_string_equal(buf, "data");
        }
        assert_victim_intact(t);
}

static void test_file_capability_kept(void **state)
{
        struct lodge_tmpdir *t = *state;
        char caps[sizeof(file_caps) + 1] = { 0 }, got[64], path[300];
        struct ent tree[] = {
                HEAD,
                { .path = "./ping", .mode = 0755, .data = "ELF" },
                END,
        };
        cleanup_error struct lodge_error *err = NULL;
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();

        need_root();
        /* The blob has NUL bytes: built by hand instead of through add(). */
        memcpy(caps, file_caps, sizeof(file_caps));
        snprintf(path, sizeof(path), "%s/a.tar", t->path);
        assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(add(a, &tree[i]), 0);
        archive_entry_set_pathname(e, "./ping");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_size(e, 3);
        archive_entry_xattr_add_entry(e, "security.capability", caps, sizeof(file_caps));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, "ELF", 3), 3);
        archive_entry_free(e);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);

        assert_int_equal(extract(t, "a.tar", &err), 0);
        snprintf(path, sizeof(path), "%s/dest/ping", t->path);
        assert_int_equal(lgetxattr(path, "security.capability", got, sizeof(got)),
                         (ssize_t)sizeof(file_caps));
        assert_memory_equal(got, file_caps, sizeof(file_caps));
}

static void progress_cb(const char *what, uint64_t done, uint64_t total, void *userdata)
{
        uint64_t *last = userdata;

        assert_non_null(what);
        assert_true(done <= total);
        last[0] = done;
        last[1] = total;
        last[2]++;
}

static void test_compressed(void **state)
{
        struct lodge_tmpdir *t = *state;
        static const int filters[] = { ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_ZSTD,
                                       ARCHIVE_FILTER_BZIP2 };
        const struct ent tree[] = { HEAD, { .path = "./usr/lib/x", .data = "x\n" }, END };

        need_root();
        for (size_t i = 0; i < ELEMENTSOF(filters); i++) {
                cleanup_error struct lodge_error *err = NULL;
                uint64_t last[3] = { 0 };
                struct extract_options o = { .progress = progress_cb, .userdata = last };
                char name[32];
                struct stat st;

                /* Named .tar.xz whatever they hold: the content decides (T-20). */
                snprintf(name, sizeof(name), "a%zu.tar.xz", i);
                make_archive(t, name, filters[i], tree);
                assert_int_equal(fstatat(t->dirfd, name, &st, 0), 0);
                assert_int_equal(extract_opts(t, name, &o, &err), 0);
                assert_int_equal(fstatat(t->dirfd, "dest/usr/lib/x", &st, AT_SYMLINK_NOFOLLOW), 0);
                assert_true(last[2] >= 1);
                assert_true(last[0] == last[1]);
                assert_int_equal(fstatat(t->dirfd, name, &st, 0), 0);
                assert_true(last[1] == (uint64_t)st.st_size);
        }
}

static void test_builtin_filters(void **state)
{
        CLEANUP(archive_read_freep) struct archive *a = archive_read_new();

        (void)state;
        assert_non_null(a);
        assert_int_equal(archive_support_builtin_filters(a), 0);
}

static void test_t01_t02_dotdot(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent t01[] = { HEAD, { .path = "../victim/pwned", .data = "x" }, END };
        const struct ent t02[] = { HEAD,
                                   { .path = "a/b/../../../victim/pwned", .data = "x" },
                                   END };

        need_root();
        make_archive(t, "t01.tar", ARCHIVE_FILTER_NONE, t01);
        assert_refused(t, "t01.tar", EINVAL, "entry '../victim/pwned': path escapes the rootfs");
        make_archive(t, "t02.tar", ARCHIVE_FILTER_NONE, t02);
        assert_refused(t, "t02.tar", EINVAL, "path escapes the rootfs");
}

static void test_t03_absolute(void **state)
{
        struct lodge_tmpdir *t = *state;
        char abs[256];
        const struct ent list[] = { HEAD, { .path = abs, .data = "x" }, END };

        need_root();
        snprintf(abs, sizeof(abs), "%s/victim/pwned", t->path);
        make_archive(t, "t03.tar", ARCHIVE_FILTER_NONE, list);
        assert_refused(t, "t03.tar", EINVAL, "path escapes the rootfs");
}

static void test_t04_t05_symlink_then_write(void **state)
{
        struct lodge_tmpdir *t = *state;
        char abs[256];
        const struct ent t04[] = {
                HEAD,
                { .path = "evil", .type = AE_IFLNK, .mode = 0777, .symlink = "../victim" },
                { .path = "evil/pwned", .data = "x" },
                END,
        };
        const struct ent t05[] = {
                HEAD,
                { .path = "evil", .type = AE_IFLNK, .mode = 0777, .symlink = abs },
                { .path = "evil/pwned", .data = "x" },
                END,
        };

        need_root();
        snprintf(abs, sizeof(abs), "%s/victim", t->path);
        make_archive(t, "t04.tar", ARCHIVE_FILTER_NONE, t04);
        assert_refused(t, "t04.tar", EINVAL,
                       "entry 'evil/pwned': path goes through the symlink 'evil'");
        make_archive(t, "t05.tar", ARCHIVE_FILTER_NONE, t05);
        assert_refused(t, "t05.tar", EINVAL, "through the symlink 'evil'");
}

/* A symlink this extraction didn't make (the destination wasn't empty) is
 * caught by libarchive's own check, which is on for that case. */
static void test_preexisting_symlink(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent list[] = { HEAD, { .path = "evil/pwned", .data = "x" }, END };

        need_root();
        assert_int_equal(symlinkat("../victim", t->dirfd, "dest/evil"), 0);
        make_archive(t, "pre.tar", ARCHIVE_FILTER_NONE, list);
        assert_refused(t, "pre.tar", EINVAL, "entry 'evil/pwned': Cannot extract through symlink");
}

static void test_t06_file_replaces_symlink(void **state)
{
        struct lodge_tmpdir *t = *state;
        char abs[256];
        const struct ent list[] = {
                HEAD,
                { .path = "f", .type = AE_IFLNK, .mode = 0777, .symlink = abs },
                { .path = "f", .data = "new\n" },
                END,
        };
        cleanup_error struct lodge_error *err = NULL;
        struct stat st;

        need_root();
        snprintf(abs, sizeof(abs), "%s/victim/target", t->path);
        make_archive(t, "t06.tar", ARCHIVE_FILTER_NONE, list);
        assert_int_equal(extract(t, "t06.tar", &err), 0);
        assert_int_equal(fstatat(t->dirfd, "dest/f", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 4);
        assert_victim_intact(t);
}

static void test_t07_to_t10_hardlinks_out(void **state)
{
        struct lodge_tmpdir *t = *state;
        char abs[256];
        const struct ent t07[] = {
                HEAD, { .path = "hl", .hardlink = abs }, { .path = "hl", .data = "x" }, END
        };
        const struct ent t08[] = { HEAD, { .path = "hl", .hardlink = "../victim/target" }, END };

        need_root();
        snprintf(abs, sizeof(abs), "%s/victim/target", t->path);
        /* T-07 and T-09: the first entry is the whole of T-09. */
        make_archive(t, "t07.tar", ARCHIVE_FILTER_NONE, t07);
        assert_refused(t, "t07.tar", EINVAL, "entry 'hl': hard link target");
        assert_refused(t, "t07.tar", EINVAL, "escapes the rootfs");
        make_archive(t, "t08.tar", ARCHIVE_FILTER_NONE, t08);
        assert_refused(t, "t08.tar", EINVAL, "hard link target '../victim/target' escapes");
        {
                /* T-10: a hard link with data, to a host file. */
                static char tar[512 * 4];

                ustar_header(tar, "hl", '1', 5, abs);
                memcpy(tar + 512, "data!", 6);
                make_file(t, "t10.tar", tar, sizeof(tar));
                assert_refused(t, "t10.tar", EINVAL, "entry 'hl': hard link target");
        }
}

static void test_t11_hardlink_through_symlink(void **state)
{
        struct lodge_tmpdir *t = *state;
        char abs[256];
        const struct ent list[] = {
                HEAD,
                { .path = "s", .type = AE_IFLNK, .mode = 0777, .symlink = abs },
                { .path = "hl", .hardlink = "s/target" },
                END,
        };

        need_root();
        snprintf(abs, sizeof(abs), "%s/victim", t->path);
        make_archive(t, "t11.tar", ARCHIVE_FILTER_NONE, list);
        assert_refused(t, "t11.tar", EINVAL,
                       "hard link target 's/target' goes through the symlink 's'");
}

static void test_t12_dir_mode_through_symlink(void **state)
{
        struct lodge_tmpdir *t = *state;
        char abs[256];
        const struct ent list[] = {
                HEAD,
                { .path = "d/", .type = AE_IFDIR, .mode = 0777 },
                { .path = "d", .type = AE_IFLNK, .mode = 0777, .symlink = abs },
                END,
        };
        cleanup_error struct lodge_error *err = NULL;
        struct stat st;

        need_root();
        snprintf(abs, sizeof(abs), "%s/victim", t->path);
        make_archive(t, "t12.tar", ARCHIVE_FILTER_NONE, list);
        assert_int_equal(extract(t, "t12.tar", &err), 0);
        assert_int_equal(fstatat(t->dirfd, "dest/d", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_victim_intact(t); /* the victim stays 0755 */
}

static void test_t13_top_dir_symlink(void **state)
{
        struct lodge_tmpdir *t = *state;
        char abs[256];
        const struct ent list[] = {
                { .path = "./", .type = AE_IFDIR, .mode = 0755 },
                { .path = "etc", .type = AE_IFLNK, .mode = 0777, .symlink = abs },
                { .path = "etc/pwned", .data = "x" },
                END,
        };

        need_root();
        snprintf(abs, sizeof(abs), "%s/victim", t->path);
        make_archive(t, "t13.tar", ARCHIVE_FILTER_NONE, list);
        assert_refused(t, "t13.tar", EINVAL,
                       "entry 'etc/pwned': path goes through the symlink 'etc'");
}

static void test_t14_dot_is_symlink(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent list[] = {
                { .path = ".", .type = AE_IFLNK, .mode = 0777, .symlink = "../victim" },
                END,
        };

        need_root();
        make_archive(t, "t14.tar", ARCHIVE_FILTER_NONE, list);
        assert_refused(t, "t14.tar", EINVAL, "the top directory is not a directory");
}

static void test_t16_sparse_1tib(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent list[] = {
                HEAD,
                { .path = "big", .data = "x", .size = INT64_C(1) << 40 },
                END,
        };
        cleanup_error struct lodge_error *err = NULL;
        struct stat st;
        int r;

        need_root();
        make_archive(t, "t16.tar", ARCHIVE_FILTER_NONE, list);
        r = extract(t, "t16.tar", &err);
        /* EFBIG for the 64 GiB default budget, ENOSPC when the disk is smaller. */
        assert_true(r == -EFBIG || r == -ENOSPC);
        assert_non_null(strstr(err->msg, "entry 'big': size budget of "));
        assert_int_equal(fstatat(t->dirfd, "dest/big", &st, AT_SYMLINK_NOFOLLOW), -1);
        assert_victim_intact(t);
}

static void test_budgets(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent list[] = {
                HEAD,
                { .path = "a/b/c/d", .data = "0123456789a" },
                END,
        };
        struct extract_options o = { 0 };

        need_root();
        make_archive(t, "b.tar", ARCHIVE_FILTER_NONE, list);
        {
                cleanup_error struct lodge_error *err = NULL;

                o = (struct extract_options){ .max_entries = 2 };
                assert_int_equal(extract_opts(t, "b.tar", &o, &err), -EFBIG);
                assert_non_null(strstr(err->msg, "more than 2 entries"));
        }
        {
                cleanup_error struct lodge_error *err = NULL;

                o = (struct extract_options){ .max_depth = 3 };
                assert_int_equal(extract_opts(t, "b.tar", &o, &err), -ENAMETOOLONG);
                assert_non_null(strstr(err->msg, "entry 'a/b/c/d': path deeper than 3 levels"));
        }
        {
                cleanup_error struct lodge_error *err = NULL;

                o = (struct extract_options){ .max_bytes = 18 }; /* 9 for etc/hostname */
                assert_int_equal(extract_opts(t, "b.tar", &o, &err), -EFBIG);
                assert_non_null(
                        strstr(err->msg, "entry 'a/b/c/d': size budget of 18 bytes exceeded"));
        }
        {
                cleanup_error struct lodge_error *err = NULL;

                o = (struct extract_options){ .max_bytes = 20, .max_entries = 4, .max_depth = 4 };
                assert_int_equal(extract_opts(t, "b.tar", &o, &err), 0);
        }
}

static void test_t18_t19_truncated(void **state)
{
        struct lodge_tmpdir *t = *state;
        static char noise[3][200000];
        const struct ent list[] = {
                HEAD,
                { .path = "n1", .data = noise[0] },
                { .path = "n2", .data = noise[1] },
                { .path = "n3", .data = noise[2] },
                END,
        };
        cleanup_free char *buf = NULL;
        struct stat st;
        ssize_t n;

        need_root();
        /* Printable noise that doesn't compress much. */
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(getrandom(noise[i], sizeof(noise[i]) - 1, 0),
                                 (ssize_t)sizeof(noise[i]) - 1);
                for (size_t j = 0; j < sizeof(noise[i]) - 1; j++)
                        noise[i][j] = (char)('a' + (unsigned char)noise[i][j] % 26);
                noise[i][sizeof(noise[i]) - 1] = '\0';
        }
        make_archive(t, "full.tar.gz", ARCHIVE_FILTER_GZIP, list);
        make_archive(t, "full.tar", ARCHIVE_FILTER_NONE, list);

        assert_int_equal(fstatat(t->dirfd, "full.tar.gz", &st, 0), 0);
        buf = malloc((size_t)st.st_size);
        {
                cleanup_close int fd = openat(t->dirfd, "full.tar.gz", O_RDONLY | O_CLOEXEC);

                n = read(fd, buf, (size_t)st.st_size);
                assert_int_equal(n, st.st_size);
        }
        make_file(t, "half.tar.gz", buf, (size_t)n / 2);      /* T-18 */
        make_file(t, "part.tar.gz", buf, (size_t)n * 6 / 10); /* T-19 */
        assert_refused(t, "half.tar.gz", EBADMSG, "'half.tar.gz': truncated archive");
        assert_refused(t, "part.tar.gz", EBADMSG, "truncated archive");

        /* Uncompressed: the tar reader in the child notices. */
        assert_int_equal(fstatat(t->dirfd, "full.tar", &st, 0), 0);
        free(buf);
        buf = malloc((size_t)st.st_size);
        {
                cleanup_close int fd = openat(t->dirfd, "full.tar", O_RDONLY | O_CLOEXEC);

                n = read(fd, buf, (size_t)st.st_size);
                assert_int_equal(n, st.st_size);
        }
        make_file(t, "half.tar", buf, (size_t)n / 2);
        assert_refused(t, "half.tar", EBADMSG, "truncated archive");
}

static void test_t21_not_an_archive(void **state)
{
        struct lodge_tmpdir *t = *state;
        static const char html[] = "<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n";
        char noise[4096];

        need_root();
        assert_int_equal(getrandom(noise, sizeof(noise), 0), (ssize_t)sizeof(noise));
        make_file(t, "noise.tar.xz", noise, sizeof(noise));
        make_file(t, "html.tar.xz", html, sizeof(html) - 1);
        make_file(t, "empty.tar.xz", "", 0);
        assert_refused(t, "noise.tar.xz", EBADMSG, "'noise.tar.xz': not a tar archive");
        assert_refused(t, "html.tar.xz", EBADMSG, "'html.tar.xz': not a tar archive");
        assert_refused(t, "empty.tar.xz", EBADMSG, "'empty.tar.xz': not a tar archive");
}

static void test_t22_devices(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent mem[] = {
                HEAD,
                { .path = "dev/mem", .type = AE_IFCHR, .mode = 0666, .major = 1, .minor = 1 },
                END,
        };
        const struct ent sda[] = {
                HEAD,
                { .path = "usr/sda", .type = AE_IFBLK, .mode = 0666, .major = 8, .minor = 0 },
                END,
        };
        struct stat st;

        need_root();
        make_archive(t, "mem.tar", ARCHIVE_FILTER_NONE, mem);
        assert_refused(t, "mem.tar", EINVAL,
                       "entry 'dev/mem': character device 1:1 is not one of the standard");
        make_archive(t, "sda.tar", ARCHIVE_FILTER_NONE, sda);
        assert_refused(t, "sda.tar", EINVAL, "entry 'usr/sda': block devices are not allowed");
        assert_int_equal(fstatat(t->dirfd, "dest/usr/sda", &st, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(fstatat(t->dirfd, "dest/dev/mem", &st, AT_SYMLINK_NOFOLLOW), -1);
}

/* T-26: a file that would outlive "rm -rf" refuses the whole archive. */
static void test_t26_immutable_refused(void **state)
{
        struct lodge_tmpdir *t = *state;
        static const unsigned long flags[] = { FS_IMMUTABLE_FL, FS_APPEND_FL };

        need_root();
        for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
                const struct ent list[] = {
                        HEAD,
                        { .path = "flagged", .data = "x\n", .fflags = flags[i] },
                        END,
                };
                cleanup_error struct lodge_error *err = NULL;
                struct stat st;

                make_archive(t, "t26.tar", ARCHIVE_FILTER_NONE, list);
                assert_int_equal(extract(t, "t26.tar", &err), -EINVAL);
                assert_non_null(strstr(err->msg, "entry 'flagged'"));
                assert_non_null(strstr(err->msg, "immutable and append-only"));
                assert_int_equal(fstatat(t->dirfd, "dest/flagged", &st, 0), -1);
                assert_int_equal(unlinkat(t->dirfd, "t26.tar", 0), 0);
        }
}

static void test_t27_xattrs_filtered(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent list[] = {
                HEAD,
                { .path = "opaque",
                  .data = "x\n",
                  .xattr = { { "trusted.overlay.opaque", "y" },
                             { "security.selinux", "system_u:object_r:shadow_t:s0" },
                             { "user.keep", "1" } } },
                END,
        };
        cleanup_error struct lodge_error *err = NULL;
        char path[300], val[16] = { 0 };

        need_root();
        make_archive(t, "t27.tar", ARCHIVE_FILTER_NONE, list);
        assert_int_equal(extract(t, "t27.tar", &err), 0);
        snprintf(path, sizeof(path), "%s/dest/opaque", t->path);
        assert_int_equal(lgetxattr(path, "trusted.overlay.opaque", val, sizeof(val)), -1);
        assert_int_equal(lgetxattr(path, "security.selinux", val, sizeof(val)), -1);
        if (lgetxattr(path, "user.keep", val, sizeof(val) - 1) >= 0)
                assert_string_equal(val, "1");
}

static void test_t28_symlink_loop(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent list[] = {
                HEAD,
                { .path = "a", .type = AE_IFLNK, .mode = 0777, .symlink = "b" },
                { .path = "b", .type = AE_IFLNK, .mode = 0777, .symlink = "a" },
                { .path = "a/x", .data = "x" },
                END,
        };

        need_root();
        make_archive(t, "t28.tar", ARCHIVE_FILTER_NONE, list);
        assert_refused(t, "t28.tar", EINVAL, "path goes through the symlink 'a'");
}

static void test_t29_file_then_dir(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent list[] = {
                HEAD,
                { .path = "x", .data = "file" },
                { .path = "x/", .type = AE_IFDIR, .mode = 0755 },
                { .path = "x/y", .data = "y" },
                { .path = "l", .type = AE_IFLNK, .mode = 0777, .symlink = "x" },
                { .path = "l/", .type = AE_IFDIR, .mode = 0700 },
                { .path = "l/z", .data = "z" },
                END,
        };
        cleanup_error struct lodge_error *err = NULL;
        struct stat st;

        need_root();
        make_archive(t, "t29.tar", ARCHIVE_FILTER_NONE, list);
        assert_int_equal(extract(t, "t29.tar", &err), 0);
        assert_int_equal(fstatat(t->dirfd, "dest/x/y", &st, AT_SYMLINK_NOFOLLOW), 0);
        /* A directory entry replaces the symlink of its name: never followed. */
        assert_int_equal(fstatat(t->dirfd, "dest/l", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(fstatat(t->dirfd, "dest/l/z", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fstatat(t->dirfd, "dest/x", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
}

static void test_excludes(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent list[] = {
                HEAD,
                { .path = "./dev/", .type = AE_IFDIR, .mode = 0755 },
                { .path = "./dev/null", .type = AE_IFCHR, .mode = 0666, .major = 1, .minor = 3 },
                { .path = "./dev/zero", .type = AE_IFCHR, .mode = 0666, .major = 1, .minor = 5 },
                { .path = "./skip/", .type = AE_IFDIR, .mode = 0755 },
                { .path = "./skip/sda", .type = AE_IFBLK, .mode = 0666, .major = 8 },
                END,
        };
        char *excludes[] = { (char *)"./dev/null", (char *)"/skip/", NULL };
        struct extract_options o = { .excludes = excludes };
        cleanup_error struct lodge_error *err = NULL;
        struct stat st;

        need_root();
        make_archive(t, "x.tar", ARCHIVE_FILTER_NONE, list);
        assert_int_equal(extract_opts(t, "x.tar", &o, &err), 0);
        assert_int_equal(fstatat(t->dirfd, "dest/dev/null", &st, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(fstatat(t->dirfd, "dest/dev/zero", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fstatat(t->dirfd, "dest/skip", &st, AT_SYMLINK_NOFOLLOW), -1);
}

static void test_interrupt(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent list[] = { HEAD, END };
        int status;
        pid_t pid;

        need_root();
        make_archive(t, "i.tar", ARCHIVE_FILTER_NONE, list);
        /* The interrupt flag can't be cleared: raise it in a throwaway process. */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct lodge_error *err = NULL;
                int r;

                interrupt_install();
                (void)raise(SIGINT);
                r = extract(t, "i.tar", &err);
                _exit(r == -EINTR && err && strstr(err->msg, "interrupted") ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* The "local" template end to end: meta first, rootfs, then templates. */
static void test_local_template(void **state)
{
        struct lodge_tmpdir *t = *state;
        const struct ent rootfs[] = {
                HEAD,
                { .path = "./etc/hosts", .data = "127.0.1.1 LXC_NAME\n" },
                { .path = "./dev/", .type = AE_IFDIR, .mode = 0755 },
                { .path = "./dev/null", .type = AE_IFCHR, .mode = 0666, .major = 1, .minor = 3 },
                END,
        };
        const struct ent meta[] = {
                { .path = "config", .data = "lxc.arch = x86_64\nlxc.hook.start = /bin/evil\n" },
                { .path = "templates", .data = "/etc/hostname\n/etc/hosts\n" },
                { .path = "excludes-user", .data = "./dev/null\n" },
                { .path = "create-message", .data = "hello\n" },
                END,
        };
        char file[256], metafile[256], dest[256];
        char *argv[] = { (char *)"local", (char *)"--file", file, (char *)"-m", metafile, NULL };
        struct lodge_template_result res = { 0 };
        cleanup_error struct lodge_error *err = NULL;
        cleanup_close int destfd = -EBADF;
        struct lodge_template_ctx ctx;
        void *st = NULL;
        char buf[64] = { 0 };

        need_root();
        make_archive(t, "rootfs.tar.gz", ARCHIVE_FILTER_GZIP, rootfs);
        make_archive(t, "meta.tar.xz", ARCHIVE_FILTER_XZ, meta);
        snprintf(file, sizeof(file), "%s/rootfs.tar.gz", t->path);
        snprintf(metafile, sizeof(metafile), "%s/meta.tar.xz", t->path);
        snprintf(dest, sizeof(dest), "%s/dest", t->path);
        destfd = openat(t->dirfd, "dest", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ctx = (struct lodge_template_ctx){ .name = "web",
                                           .rootfs_fd = destfd,
                                           .rootfs_path = dest };

        assert_int_equal(template_local_ops.parse(5, argv, &st, &err), 0);
        assert_int_equal(template_local_ops.populate(&ctx, st, &res, &err), 0);
        template_local_ops.free_state(st);

        {
                cleanup_close int fd = openat(destfd, "etc/hosts", O_RDONLY | O_CLOEXEC);

                assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
                assert_string_equal(buf, "127.0.1.1 web\n");
        }
        assert_int_equal(faccessat(destfd, "dev/null", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(strv_length(res.config), 1);
        assert_string_equal(res.config[0], "arch=x86_64");
        assert_int_equal(strv_length(res.warnings), 1);
        assert_non_null(strstr(res.warnings[0], "'lxc.hook.start'"));
        assert_string_equal(res.message, "hello\n");
        lodge_template_result_done(&res);
}

static void test_local_usage(void **state)
{
        static const struct {
                int code;
                const char *args[4];
                const char *text;
        } cases[] = {
                { EINVAL, { NULL }, "--file ROOTFS.tar is required" },
                { ENOENT, { "--file", "/nonexistent/rootfs.tar" }, "does not exist" },
                { EINVAL, { "--file", "/" }, "is not a regular file" },
                { EINVAL, { "--bogus" }, "unknown option '--bogus'" },
                { EINVAL, { "--file" }, "needs a value" },
                { EINVAL, { "--file", "/etc/hostname", "extra" }, "unexpected argument 'extra'" },
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                cleanup_error struct lodge_error *err = NULL;
                char *argv[6] = { (char *)"local" };
                int argc = 1;
                void *st = NULL;

                for (size_t j = 0; j < 4 && cases[i].args[j]; j++)
                        argv[argc++] = (char *)cases[i].args[j];
                assert_int_equal(template_local_ops.parse(argc, argv, &st, &err), -cases[i].code);
                assert_null(st);
                if (!strstr(err->msg, cases[i].text))
                        fail_msg("'%s' does not say '%s'", err->msg, cases[i].text);
        }
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, setup, lodge_tmpdir_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_builtin_filters),
                TMP_TEST(test_normal_tree),
                TMP_TEST(test_file_capability_kept),
                TMP_TEST(test_compressed),
                TMP_TEST(test_t01_t02_dotdot),
                TMP_TEST(test_t03_absolute),
                TMP_TEST(test_t04_t05_symlink_then_write),
                TMP_TEST(test_preexisting_symlink),
                TMP_TEST(test_t06_file_replaces_symlink),
                TMP_TEST(test_t07_to_t10_hardlinks_out),
                TMP_TEST(test_t11_hardlink_through_symlink),
                TMP_TEST(test_t12_dir_mode_through_symlink),
                TMP_TEST(test_t13_top_dir_symlink),
                TMP_TEST(test_t14_dot_is_symlink),
                TMP_TEST(test_t16_sparse_1tib),
                TMP_TEST(test_budgets),
                TMP_TEST(test_t18_t19_truncated),
                TMP_TEST(test_t21_not_an_archive),
                TMP_TEST(test_t22_devices),
                TMP_TEST(test_t26_immutable_refused),
                TMP_TEST(test_t27_xattrs_filtered),
                TMP_TEST(test_t28_symlink_loop),
                TMP_TEST(test_t29_file_then_dir),
                TMP_TEST(test_excludes),
                TMP_TEST(test_local_template),
                cmocka_unit_test(test_local_usage),
                TMP_TEST(test_interrupt),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
