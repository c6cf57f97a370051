/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image-server indexes (templates/index.c): both protocols, fed with what a
 * hostile or broken server could send. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/error.h"
#include "templates/templates-internal.h"
#include "tests/unit/lodge-test.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int lxc(const char *text, struct image_entry **v, size_t *n, struct lodge_error **err)
{
        return index_lxc_parse(text, strlen(text), v, n, err);
}

static void test_lxc_good(void **state)
{
        struct image_entry *v = NULL;
        size_t n = 0;
        struct lodge_error *err = NULL;
        const struct image_entry *e;

        (void)state;
        assert_int_equal(lxc("# comment\n\n"
                             "debian;bookworm;amd64;default;20250116_05:24;"
                             "/images/debian/bookworm/amd64/default/20250116_05:24/\r\n"
                             "alpine;3.20;riscv64;cloud;20250116_13:00;/images/alpine/3.20/x\n"
                             "weird;r;sparc99;default;1;/images/w/",
                             &v, &n, &err),
                         0);
        assert_int_equal(n, 3);
        e = image_entry_find(v, n, "debian", "bookworm", "x86_64", "default");
        assert_non_null(e);
        assert_string_equal(e->build, "20250116_05:24");
        assert_string_equal(e->rootfs.path,
                            "/images/debian/bookworm/amd64/default/20250116_05:24/rootfs.tar.xz");
        assert_string_equal(e->meta.path,
                            "/images/debian/bookworm/amd64/default/20250116_05:24/meta.tar.xz");
        assert_string_equal(e->rootfs.sha256, "");
        e = image_entry_find(v, n, "alpine", "3.20", "riscv64", "cloud");
        assert_non_null(e);
        assert_string_equal(e->rootfs.path, "/images/alpine/3.20/x/rootfs.tar.xz");
        /* An architecture nobody maps is listed, and found by its own name. */
        assert_non_null(image_entry_find(v, n, "weird", "r", "sparc99", "default"));
        assert_null(image_entry_find(v, n, "debian", "bookworm", "arm64", "default"));
        image_entries_free(v, n);
}

static void test_lxc_malformed(void **state)
{
        static const char *const bad[] = {
                "debian;bookworm;amd64;default;1\n",                 /* 5 fields */
                "debian;bookworm;amd64;default;1;/images/x;extra\n", /* 7 */
                "debian;;amd64;default;1;/images/x\n",               /* empty field */
                "debian;book worm;amd64;default;1;/images/x\n",      /* a blank */
                "deb/ian;bookworm;amd64;default;1;/images/x\n",      /* a slash */
                "..;bookworm;amd64;default;1;/images/x\n",
                "debian;bookworm;amd64;default;1;\n", /* no path */
                ";;;;;\n",
                "x\n",
        };
        struct image_entry *v = NULL;
        size_t n = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct lodge_error *err = NULL;

                if (lxc(bad[i], &v, &n, &err) != -EINVAL)
                        fail_msg("accepted: '%s'", bad[i]);
                assert_non_null(strstr(err->msg, "line 1"));
                lodge_error_free(&err);
        }
}

static void test_lxc_huge_and_nul(void **state)
{
        struct lodge_error *err = NULL;
        struct image_entry *v = NULL;
        size_t n = 0, len = 1 << 20;
        char *huge = malloc(len + 64);

        (void)state;
        assert_non_null(huge);
        strcpy(huge, "debian;bookworm;amd64;default;1;/");
        memset(huge + strlen(huge), 'a', len);
        huge[len + 33] = '\0';
        assert_int_equal(lxc(huge, &v, &n, &err), -EINVAL);
        lodge_error_free(&err);
        memset(huge, 'a', len);
        huge[len] = '\0';
        assert_int_equal(lxc(huge, &v, &n, &err), -EINVAL);
        lodge_error_free(&err);
        free(huge);
        assert_int_equal(index_lxc_parse("a;b;c;d;1;/x\0\n", 14, &v, &n, &err), -EINVAL);
        lodge_error_free(&err);
}

static void test_lxc_paths_that_escape(void **state)
{
        static const char *const bad[] = {
                "/images/../../etc/",
                "../images/",
                "/images/./x/",
                "//evil.example/x/",
                "http://evil.example/x/",
                "/images//x/",
                "/",
                "/images/a\\b/",
                "/images/a b/",
                "images/k//",
                "/01/....../", /* found by fuzz-index-lxc */
        };

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct lodge_error *err = NULL;
                struct image_entry *v = NULL;
                size_t n = 0;
                char line[256];
                int r;

                snprintf(line, sizeof(line), "debian;bookworm;amd64;default;1;%s\n", bad[i]);
                r = lxc(line, &v, &n, &err);
                if (r != -EACCES && r != -EINVAL)
                        fail_msg("accepted path '%s'", bad[i]);
                lodge_error_free(&err);
        }
        assert_true(image_path_ok("images/debian/bookworm/amd64/default/20250116_05:24/"));
        assert_true(image_path_ok("/streams/v1/images.json"));
        assert_false(image_path_ok(""));
        assert_false(image_path_ok(NULL));
}

static void test_ss_index(void **state)
{
        struct lodge_error *err = NULL;
        char *path = NULL;
        const char *good = "{\"format\":\"index:1.0\",\"index\":{\"x\":{\"datatype\":\"other\","
                           "\"path\":\"a.json\"},\"images\":{\"datatype\":\"image-downloads\","
                           "\"path\":\"streams/v1/images.json\",\"products\":[]}}}";
        const char *escape = "{\"index\":{\"images\":{\"datatype\":\"image-downloads\","
                             "\"path\":\"../../etc/passwd\"}}}";

        (void)state;
        assert_int_equal(index_ss_images_path(good, strlen(good), &path, &err), 0);
        assert_string_equal(path, "streams/v1/images.json");
        free(path);
        assert_int_equal(index_ss_images_path(escape, strlen(escape), &path, &err), -EACCES);
        lodge_error_free(&err);
        assert_int_equal(index_ss_images_path("{\"index\":{}}", 12, &path, &err), -ENOENT);
        lodge_error_free(&err);
        assert_int_equal(index_ss_images_path("{\"index\":[]}", 12, &path, &err), -EINVAL);
        lodge_error_free(&err);
        assert_int_equal(index_ss_images_path("not json", 8, &path, &err), -EINVAL);
        lodge_error_free(&err);
}

#define ITEM(ft, p, sha, size)                                                                     \
        "\"" ft "\":{\"ftype\":\"" ft "\",\"path\":\"" p "\",\"sha256\":\"" sha                    \
        "\",\"size\":" size "}"

static void test_ss_images(void **state)
{
        const char *doc =
                "{\"products\":{"
                "\"debian:bookworm:amd64:default\":{\"os\":\"Debian\",\"release\":\"bookworm\","
                "\"arch\":\"amd64\",\"variant\":\"default\",\"versions\":{"
                "\"20250115_05:24\":{\"items\":{" ITEM(
                        "root.tar.xz", "old/rootfs.tar.xz", SHA_A,
                        "1") "}},"
                             "\"20250116_05:24\":{\"items\":{" ITEM(
                                     "root.tar.xz", "new/rootfs.tar.xz", SHA_A,
                                     "80666624") ","
                                                 "\"incus.tar.xz\":{\"ftype\":\"incus.tar.xz\","
                                                 "\"path\":\"new/incus.tar.xz\","
                                                 "\"sha256\":\"" SHA_B "\",\"size\":880,\"combined_"
                                                 "rootxz_sha256\":\"" SHA_A "\"}}},"
                                                 "\"20250117_05:24\":{\"items\":{" ITEM(
                                                         "squashfs", "newer/rootfs.squashfs", SHA_A,
                                                         "5") "}}}},"
                                                              "\"vm:1:amd64:default\":{\"os\":"
                                                              "\"vm\",\"release\":\"1\",\"arch\":"
                                                              "\"amd64\","
                                                              "\"variant\":\"default\","
                                                              "\"versions\":{\"1\":{\"items\":"
                                                              "{" ITEM("disk-kvm.img", "d", SHA_A,
                                                                       "1") "}}}},"
                                                                            "\"bad:sha:amd64:"
                                                                            "default\":{\"os\":"
                                                                            "\"bad\",\"release\":"
                                                                            "\"sha\",\"arch\":"
                                                                            "\"amd64\","
                                                                            "\"variant\":"
                                                                            "\"default\","
                                                                            "\"versions\":{\"1\":{"
                                                                            "\"items\":{" ITEM(
                                                                                    "root.tar.xz",
                                                                                    "x", "ABC",
                                                                                    "1") "}}}},"
                                                                                         "\"nofield"
                                                                                         "s\":{"
                                                                                         "\"version"
                                                                                         "s\":{}}"
                                                                                         "}}";
        struct lodge_error *err = NULL;
        struct image_entry *v = NULL;
        const struct image_entry *e;
        size_t n = 0;

        (void)state;
        assert_int_equal(index_ss_parse(doc, strlen(doc), &v, &n, &err), 0);
        assert_int_equal(n, 1);
        e = image_entry_find(v, n, "debian", "bookworm", "amd64", "default");
        assert_non_null(e);
        assert_string_equal(e->build, "20250116_05:24"); /* the newest with a rootfs tarball */
        assert_string_equal(e->rootfs.path, "new/rootfs.tar.xz");
        assert_string_equal(e->rootfs.sha256, SHA_A);
        assert_true(e->rootfs.size == 80666624);
        assert_string_equal(e->meta.path, "new/incus.tar.xz");
        assert_false(e->meta_is_lxc);
        assert_true(e->meta.size == 880);
        assert_string_equal(e->fingerprint, SHA_A);
        image_entries_free(v, n);
}

static void test_ss_images_malformed(void **state)
{
        static const char *const bad[] = {
                "", "[]", "{}", "{\"products\":[]}", "{\"products\":{\"a\":1}",
        };
        const char *escape =
                "{\"products\":{\"d:r:amd64:default\":{\"os\":\"d\",\"release\":\"r\",\"arch\":"
                "\"amd64\",\"variant\":\"default\",\"versions\":{\"1\":{\"items\":{" ITEM(
                        "root.tar.xz", "/x/../../../etc/shadow", SHA_A, "1") "}}}}}}";
        struct image_entry *v = NULL;
        size_t n = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct lodge_error *err = NULL;

                if (index_ss_parse(bad[i], strlen(bad[i]), &v, &n, &err) >= 0)
                        fail_msg("accepted: '%s'", bad[i]);
                lodge_error_free(&err);
        }
        {
                struct lodge_error *err = NULL;

                assert_int_equal(index_ss_parse(escape, strlen(escape), &v, &n, &err), -EACCES);
                assert_non_null(strstr(err->msg, "outside the server's tree"));
                lodge_error_free(&err);
        }
}

static void test_arch_mapping(void **state)
{
        (void)state;
        assert_string_equal(image_arch_debian("x86_64"), "amd64");
        assert_string_equal(image_arch_debian("amd64"), "amd64");
        assert_string_equal(image_arch_debian("aarch64"), "arm64");
        assert_string_equal(image_arch_debian("armv7l"), "armhf");
        assert_string_equal(image_arch_debian("ppc64le"), "ppc64el");
        assert_string_equal(image_arch_debian("i686"), "i386");
        assert_string_equal(image_arch_kernel("arm64"), "aarch64");
        assert_string_equal(image_arch_kernel("amd64"), "x86_64");
        assert_null(image_arch_debian("sparc99"));
        assert_null(image_arch_debian(NULL));
        assert_true(image_arch_equal("x86_64", "amd64"));
        assert_true(image_arch_equal("sparc99", "sparc99"));
        assert_false(image_arch_equal("arm64", "amd64"));
        assert_false(image_arch_equal("sparc99", "amd64"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lxc_good),
                cmocka_unit_test(test_lxc_malformed),
                cmocka_unit_test(test_lxc_huge_and_nul),
                cmocka_unit_test(test_lxc_paths_that_escape),
                cmocka_unit_test(test_ss_index),
                cmocka_unit_test(test_ss_images),
                cmocka_unit_test(test_ss_images_malformed),
                cmocka_unit_test(test_arch_mapping),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
