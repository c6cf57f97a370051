/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image cache (templates/cache.c), in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/path.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"
#include "tests/unit/lodge-test.h"

/* Stage an image with the given rootfs (and meta) content and commit it. */
static void add_image(int images_fd, const char *rootfs, const char *meta, const char *alias,
                      struct lodge_image *ret)
{
        struct lodge_image c = { .source = strdup("import"), .expiry = 0 };
        cleanup_close int stage_fd = -EBADF;
        char stage[32];

        stage_fd = cache_stage(images_fd, stage, NULL);
        assert_true(stage_fd >= 0);
        assert_int_equal(
                write_file_atomic_at(stage_fd, "rootfs", rootfs, strlen(rootfs), 0644, NULL), 0);
        if (meta)
                assert_int_equal(
                        write_file_atomic_at(stage_fd, "meta", meta, strlen(meta), 0644, NULL), 0);
        if (alias)
                assert_int_equal(strv_extend(&c.aliases, alias), 0);
        assert_int_equal(cache_commit(images_fd, stage, stage_fd, &c, NULL), 0);
        *ret = c;
}

static int images_of(const char *dir)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/cache", dir);
        return cache_open(path, true, NULL);
}

static void test_commit_list_resolve(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_close int images_fd = images_of(t->path);
        struct lodge_image a = { 0 }, b = { 0 }, dup = { 0 }, got = { 0 }, *v = NULL;
        struct lodge_error *err = NULL;
        struct stat st;
        size_t n = 0;

        assert_true(images_fd >= 0);
        add_image(images_fd, "rootfs-a", "meta-a", "a", &a);
        /* sha256("meta-a" "rootfs-a"): the fingerprint covers meta then rootfs */
        assert_int_equal(strlen(a.fingerprint), 64);
        assert_true(a.size == strlen("meta-a") + strlen("rootfs-a"));
        add_image(images_fd, "rootfs-b", NULL, "b", &b);
        assert_string_not_equal(a.fingerprint, b.fingerprint);
        /* The same content again: one image, both aliases, no staging left. */
        add_image(images_fd, "rootfs-a", "meta-a", "a2", &dup);
        assert_string_equal(dup.fingerprint, a.fingerprint);

        assert_int_equal(cache_list(images_fd, &v, &n, NULL), 0);
        assert_int_equal(n, 2);
        lodge_image_list_free(v, n);
        assert_int_equal(cache_resolve(images_fd, "a2", &got, NULL), 0);
        assert_string_equal(got.fingerprint, a.fingerprint);
        assert_true(strv_contains(got.aliases, "a") && strv_contains(got.aliases, "a2"));
        lodge_image_done(&got);
        {
                char prefix[9];

                snprintf(prefix, sizeof(prefix), "%.8s", b.fingerprint);
                assert_int_equal(cache_resolve(images_fd, prefix, &got, NULL), 0);
                assert_string_equal(got.fingerprint, b.fingerprint);
                lodge_image_done(&got);
        }
        assert_int_equal(cache_resolve(images_fd, "nope", &got, &err), -ENOENT);
        lodge_error_free(&err);
        /* Too short a prefix names nothing. */
        {
                char short_prefix[4];

                snprintf(short_prefix, sizeof(short_prefix), "%.3s", b.fingerprint);
                assert_int_equal(cache_resolve(images_fd, short_prefix, &got, NULL), -ENOENT);
        }

        /* A bad info file is not an image. */
        {
                cleanup_close int dir = open_dir_at(images_fd, b.fingerprint);

                assert_true(dir >= 0);
                assert_int_equal(write_file_atomic_at(dir, "info", "version=2\n", 10, 0644, NULL),
                                 0);
        }
        assert_int_equal(cache_list(images_fd, &v, &n, NULL), 0);
        assert_int_equal(n, 1);
        lodge_image_list_free(v, n);

        {
                cleanup_close int lock = cache_lock(images_fd, true, NULL);

                assert_true(lock >= 0);
                assert_int_equal(cache_remove_locked(images_fd, a.fingerprint, NULL), 0);
        }
        assert_int_equal(fstatat(images_fd, a.fingerprint, &st, 0), -1);
        lodge_image_done(&a);
        lodge_image_done(&b);
        lodge_image_done(&dup);
}

static void test_prune_stale_spares_running_downloads(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_close int images_fd = images_of(t->path);
        cleanup_close int held = -EBADF, part = -EBADF;
        char busy[32], gone[32];
        struct stat st;

        assert_true(images_fd >= 0);
        held = cache_stage(images_fd, busy, NULL); /* still held: a download in progress */
        assert_true(held >= 0);
        {
                cleanup_close int fd = cache_stage(images_fd, gone, NULL);

                assert_true(fd >= 0);
        } /* closed: its owner is gone */
        part = openat(images_fd, CACHE_STAGE_PREFIX "part-x", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        assert_true(part >= 0);
        assert_int_equal(flock(part, LOCK_EX), 0);
        {
                cleanup_close int fd = openat(images_fd, CACHE_STAGE_PREFIX "part-y",
                                              O_RDWR | O_CREAT | O_CLOEXEC, 0600);

                assert_true(fd >= 0);
        }
        assert_int_equal(cache_prune_stale(images_fd, NULL), 2);
        assert_int_equal(fstatat(images_fd, busy, &st, 0), 0);
        assert_int_equal(fstatat(images_fd, CACHE_STAGE_PREFIX "part-x", &st, 0), 0);
        assert_int_equal(fstatat(images_fd, gone, &st, 0), -1);
        assert_int_equal(fstatat(images_fd, CACHE_STAGE_PREFIX "part-y", &st, 0), -1);
}

static void test_info_round_trip(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct lodge_image c = {
                .fingerprint =
                        strdup("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
                .source = strdup("https://example.invalid/images"),
                .protocol = strdup("simplestreams"),
                .dist = strdup("debian"),
                .release = strdup("bookworm"),
                .arch = strdup("amd64"),
                .variant = strdup("default"),
                .build = strdup("20250116_05:24"),
                .verified = strdup("sha256"),
                .meta = LODGE_IMAGE_META_INCUS,
                .size = 12345,
                .created = 1,
                .expiry = 2,
                .last_used = 3,
        };
        struct lodge_image back = { 0 };
        cleanup_close int dir = -EBADF;
        struct lodge_error *err = NULL;

        assert_int_equal(strv_extend(&c.aliases, "x/y"), 0);
        assert_int_equal(mkdirat(t->dirfd, c.fingerprint, 0700), 0);
        dir = open_dir_at(t->dirfd, c.fingerprint);
        assert_true(dir >= 0);
        assert_int_equal(cache_write_info(dir, &c, NULL), 0);
        assert_int_equal(cache_read(t->dirfd, c.fingerprint, &back, NULL), 0);
        assert_string_equal(back.source, c.source);
        assert_string_equal(back.build, c.build);
        assert_string_equal(back.aliases[0], "x/y");
        assert_int_equal(back.meta, LODGE_IMAGE_META_INCUS);
        assert_true(back.size == 12345 && back.created == 1 && back.expiry == 2 &&
                    back.last_used == 3);
        lodge_image_done(&back);
        /* No value may smuggle in a line. */
        free(c.build);
        c.build = strdup("1\nalias=evil");
        assert_int_equal(cache_write_info(dir, &c, &err), -EINVAL);
        lodge_error_free(&err);
        assert_int_equal(cache_read(t->dirfd, "../x", &back, &err), -EINVAL);
        lodge_error_free(&err);
        lodge_image_done(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_commit_list_resolve, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_prune_stale_spares_running_downloads,
                                                lodge_tmpdir_setup, lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_info_round_trip, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
