/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostile-tar CASE OUT.tar VICTIM_DIR: write one malicious rootfs tarball
 * (docs: research/security.md section 3.1) for the integration tests that
 * feed it to "lodge create -t local". VICTIM_DIR is an absolute host
 * directory the archive tries to reach; the test checks it is unchanged.
 * "hostile-tar list" prints the case names, one per line.
 *
 * Build: cc -o hostile-tar hostile-tar.c $(pkg-config --cflags --libs libarchive) */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#define MTIME 1700000000 /* fixed, so the output is reproducible */

struct spec {
        const char *path;
        unsigned type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFBLK */
        unsigned mode;
        const char *data;     /* regular file content */
        const char *symlink;  /* AE_IFLNK target */
        const char *hardlink; /* a hard link to this path */
        unsigned major, minor;
        unsigned long fflags;
        const char *xattr, *xattr_value;
        int64_t sparse_size; /* > 0: a sparse file of this apparent size, all hole but
                              * its last byte (libarchive can't write an empty map) */
};

static int add(struct archive *a, const struct spec *s)
{
        struct archive_entry *e = archive_entry_new();
        size_t len = s->data ? strlen(s->data) : 0;
        int r = 0;

        if (!e)
                return -ENOMEM;
        archive_entry_set_pathname(e, s->path);
        archive_entry_set_filetype(e, s->type ? s->type : AE_IFREG);
        archive_entry_set_perm(e, s->mode ? s->mode : 0644);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_mtime(e, MTIME, 0);
        if (s->symlink)
                archive_entry_set_symlink(e, s->symlink);
        if (s->hardlink)
                archive_entry_set_hardlink(e, s->hardlink);
        if (s->type == AE_IFCHR || s->type == AE_IFBLK)
                archive_entry_set_rdev(e, makedev(s->major, s->minor));
        if (s->fflags)
                archive_entry_set_fflags(e, s->fflags, 0);
        if (s->xattr)
                archive_entry_xattr_add_entry(e, s->xattr, s->xattr_value, strlen(s->xattr_value));
        if (s->sparse_size > 0) {
                archive_entry_set_size(e, s->sparse_size);
                archive_entry_sparse_add_entry(e, s->sparse_size - 1, 1);
                len = 1;
        } else if (!s->hardlink && (s->type == 0 || s->type == AE_IFREG))
                archive_entry_set_size(e, (int64_t)len);

        if (archive_write_header(a, e) < ARCHIVE_WARN)
                r = -EIO;
        else if (len > 0 && archive_write_data(a, s->data ? s->data : "x", len) != (la_ssize_t)len)
                r = -EIO;
        archive_entry_free(e);
        return r;
}

static const struct spec head[] = {
        { .path = "./", .type = AE_IFDIR, .mode = 0755 },
        { .path = "./usr/", .type = AE_IFDIR, .mode = 0755 },
        { .path = "./usr/bin/", .type = AE_IFDIR, .mode = 0755 },
        { .path = "./usr/bin/true", .mode = 0755, .data = "#!/bin/sh\nexit 0\n" },
        { .path = "./var/", .type = AE_IFDIR, .mode = 0755 },
        { .path = "./dev/", .type = AE_IFDIR, .mode = 0755 },
        { 0 },
};

static const struct spec tail[] = {
        { .path = "./etc/", .type = AE_IFDIR, .mode = 0755 },
        { .path = "./etc/hostname", .data = "LXC_NAME\n" },
        { .path = "./etc/os-release", .data = "ID=hostile\nNAME=\"hostile-tar\"\n" },
        { 0 },
};

/* Each case's own entries; paths built from the victim directory are
 * filled in by hostile(). */
struct hostile_case {
        const char *name;
        const char *summary;
        int (*write)(struct archive *a, const char *victim);
};

static int write_dotdot(struct archive *a, const char *victim)
{
        char path[4096] = "";

        /* Enough ".." to reach "/" from any staging directory. */
        for (int i = 0; i < 32; i++)
                strcat(path, "../");
        if (strlen(path) + strlen(victim) + 8 >= sizeof(path))
                return -ENAMETOOLONG;
        strcat(path, victim + 1);
        strcat(path, "/pwned");
        return add(a, &(struct spec){ .path = path, .data = "pwned\n" });
}

static int write_abs(struct archive *a, const char *victim)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/pwned", victim);
        return add(a, &(struct spec){ .path = path, .data = "pwned\n" });
}

static int write_symlink_write(struct archive *a, const char *victim)
{
        int r = add(a, &(struct spec){
                               .path = "evil", .type = AE_IFLNK, .mode = 0777, .symlink = victim });

        return r < 0 ? r : add(a, &(struct spec){ .path = "evil/pwned", .data = "pwned\n" });
}

static int write_hardlink_out(struct archive *a, const char *victim)
{
        char target[4096];

        snprintf(target, sizeof(target), "%s/target", victim);
        return add(a, &(struct spec){ .path = "hl", .hardlink = target });
}

static int write_hardlink_shadow(struct archive *a, const char *victim)
{
        (void)victim;
        return add(a, &(struct spec){ .path = "var/shadow-link", .hardlink = "/etc/shadow" });
}

static int write_rootfs_symlink(struct archive *a, const char *victim)
{
        int r = add(a, &(struct spec){
                               .path = "etc", .type = AE_IFLNK, .mode = 0777, .symlink = victim });

        return r < 0 ? r : add(a, &(struct spec){ .path = "etc/pwned", .data = "pwned\n" });
}

static int write_blockdev(struct archive *a, const char *victim)
{
        (void)victim;
        return add(a, &(struct spec){ .path = "dev/sda",
                                      .type = AE_IFBLK,
                                      .mode = 0660,
                                      .major = 8,
                                      .minor = 0 });
}

static int write_chardev_mem(struct archive *a, const char *victim)
{
        (void)victim;
        return add(a, &(struct spec){ .path = "dev/mem",
                                      .type = AE_IFCHR,
                                      .mode = 0666,
                                      .major = 1,
                                      .minor = 1 });
}

static int write_immutable(struct archive *a, const char *victim)
{
        (void)victim;
        return add(a, &(struct spec){ .path = "var/immutable",
                                      .data = "can't touch this\n",
                                      .fflags = FS_IMMUTABLE_FL });
}

static int write_appendonly(struct archive *a, const char *victim)
{
        (void)victim;
        return add(a, &(struct spec){
                              .path = "var/appendonly", .data = "log\n", .fflags = FS_APPEND_FL });
}

static int write_sparse_1t(struct archive *a, const char *victim)
{
        (void)victim;
        return add(a, &(struct spec){ .path = "var/sparse", .sparse_size = INT64_C(1) << 40 });
}

static int write_trusted_xattr(struct archive *a, const char *victim)
{
        (void)victim;
        return add(a, &(struct spec){ .path = "var/opaque",
                                      .data = "x\n",
                                      .xattr = "trusted.overlay.opaque",
                                      .xattr_value = "y" });
}

static int write_symlink_loop(struct archive *a, const char *victim)
{
        int r;

        (void)victim;
        r = add(a, &(struct spec){ .path = "a", .type = AE_IFLNK, .mode = 0777, .symlink = "b" });
        if (r >= 0)
                r = add(a, &(struct spec){
                                   .path = "b", .type = AE_IFLNK, .mode = 0777, .symlink = "a" });
        return r < 0 ? r : add(a, &(struct spec){ .path = "a/x", .data = "x\n" });
}

static const struct hostile_case cases[] = {
        { "dotdot", "T-01: ../../…/VICTIM/pwned", write_dotdot },
        { "abs", "T-03: absolute VICTIM/pwned", write_abs },
        { "symlink-write", "T-05: symlink evil -> VICTIM, then evil/pwned", write_symlink_write },
        { "hardlink-out", "T-09: hard link hl -> VICTIM/target", write_hardlink_out },
        { "hardlink-shadow", "T-09: hard link to /etc/shadow", write_hardlink_shadow },
        { "rootfs-symlink", "T-13: etc -> VICTIM, then etc/pwned", write_rootfs_symlink },
        { "blockdev", "T-22: block device dev/sda 8:0", write_blockdev },
        { "chardev-mem", "T-22: character device dev/mem 1:1 0666", write_chardev_mem },
        { "immutable", "T-26: SCHILY.fflags immutable", write_immutable },
        { "appendonly", "T-26: SCHILY.fflags append-only", write_appendonly },
        { "sparse-1t", "T-16: sparse file of 1 TiB apparent size, 1 byte of data",
          write_sparse_1t },
        { "trusted-xattr", "T-27: trusted.overlay.opaque xattr", write_trusted_xattr },
        { "symlink-loop", "T-28: a -> b -> a, then a/x", write_symlink_loop },
};

static int add_all(struct archive *a, const struct spec *list)
{
        for (; list->path; list++) {
                int r = add(a, list);

                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_case(const struct hostile_case *c, const char *out, const char *victim)
{
        struct archive *a = archive_write_new();
        int r;

        if (!a)
                return -ENOMEM;
        /* Full pax: fflags, xattrs and sparse maps need its extended headers. */
        if (archive_write_set_format_pax(a) != ARCHIVE_OK ||
            archive_write_open_filename(a, out) != ARCHIVE_OK) {
                fprintf(stderr, "hostile-tar: %s: %s\n", out, archive_error_string(a));
                archive_write_free(a);
                return -EIO;
        }
        r = add_all(a, head);
        if (r >= 0)
                r = c->write(a, victim);
        if (r >= 0)
                r = add_all(a, tail);
        if (r < 0)
                fprintf(stderr, "hostile-tar: %s: %s\n", out,
                        archive_error_string(a) ? archive_error_string(a) : strerror(-r));
        if (archive_write_close(a) != ARCHIVE_OK && r >= 0) {
                fprintf(stderr, "hostile-tar: %s: %s\n", out, archive_error_string(a));
                r = -EIO;
        }
        archive_write_free(a);
        return r;
}

static int usage(void)
{
        fputs("usage: hostile-tar CASE OUT.tar VICTIM_DIR\n"
              "       hostile-tar list\n",
              stderr);
        return 2;
}

int main(int argc, char **argv)
{
        if (argc == 2 && strcmp(argv[1], "list") == 0) {
                for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                        printf("%s\n", cases[i].name);
                return 0;
        }
        if (argc != 4)
                return usage();
        if (argv[3][0] != '/') {
                fprintf(stderr, "hostile-tar: VICTIM_DIR must be absolute\n");
                return 2;
        }
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (strcmp(cases[i].name, argv[1]) == 0)
                        return write_case(&cases[i], argv[2], argv[3]) < 0 ? 1 : 0;
        fprintf(stderr, "hostile-tar: unknown case '%s' (see: hostile-tar list)\n", argv[1]);
        return 2;
}
