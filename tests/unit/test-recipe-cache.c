/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "templates/template.h"
#include "templates/templates-internal.h"
#include "tests/unit/lodge-test.h"

struct builder {
        unsigned calls;
        int fail; /* 0, or the errno to fail with */
};

static int build(const char *tree, void *userdata, struct lodge_error **err)
{
        struct builder *b = userdata;
        cleanup_free char *path = NULL;
        cleanup_close int fd = -EBADF;

        b->calls++;
        if (b->fail)
                return lodge_error_set(err, b->fail, "the builder failed");
        assert_true(asprintf(&path, "%s/hello", tree) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "hi\n", 3), 3);
        return 0;
}

static struct recipe recipe_in(const struct lodge_tmpdir *t, const char *text, bool refresh)
{
        return (struct recipe){
                .cache_dir = t->path,
                .template = "test",
                .label = "label",
                .text = text,
                .refresh = refresh,
        };
}

static void test_recipe_cache_builds_once(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        struct builder b = { 0 };
        struct recipe rc = recipe_in(t, "template test\nrelease one\n", false);
        struct lodge_template_cache_entry *e = NULL;
        struct stat st;
        size_t n = 0;
        int fd;

        fd = recipe_cache_open(&rc, build, &b, &err);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(S_ISREG(st.st_mode) && st.st_size >= 512); /* a tarball */
        close(fd);
        fd = recipe_cache_open(&rc, build, &b, &err);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(b.calls, 1);

        rc.refresh = true; /* --refresh: built again, swapped in */
        fd = recipe_cache_open(&rc, build, &b, &err);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(b.calls, 2);

        rc = recipe_in(t, "template test\nrelease two\n", false); /* another recipe */
        fd = recipe_cache_open(&rc, build, &b, &err);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(b.calls, 3);

        assert_int_equal(lodge_template_cache_list(t->path, &e, &n, &err), 0);
        assert_int_equal(n, 2);
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(e[i].template, "test");
                assert_int_equal(strncmp(e[i].key, "label-", 6), 0);
                assert_non_null(strstr(e[i].recipe, "template test\nrelease "));
                assert_true(e[i].size >= 512);
        }
        lodge_template_cache_entries_free(e, n);
}

static void test_recipe_cache_failed_build_leaves_nothing(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        struct builder b = { .fail = EIO };
        struct recipe rc = recipe_in(t, "template test\n", false);
        struct lodge_template_cache_entry *e = NULL;
        cleanup_free char *dir = NULL;
        size_t n = 0;
        int fd;

        fd = recipe_cache_open(&rc, build, &b, &err);
        assert_int_equal(fd, -EIO);
        assert_non_null(strstr(err->msg, "the builder failed"));
        assert_int_equal(lodge_template_cache_list(t->path, &e, &n, NULL), 0);
        assert_int_equal(n, 0);
        free(e);
        /* No hidden build directory is left, only the lock file. */
        assert_true(asprintf(&dir, "%s/templates/test", t->path) > 0);
        {
                cleanup_closedir DIR *d = opendir(dir);

                assert_non_null(d);
                for (struct dirent *de; (de = readdir(d));)
                        assert_true(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                                    strstr(de->d_name, ".lock") != NULL);
        }
}

static void test_recipe_cache_list_without_cache(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct lodge_template_cache_entry *e = NULL;
        cleanup_free char *none = NULL;
        size_t n = 1;

        assert_true(asprintf(&none, "%s/none", t->path) > 0);
        assert_int_equal(lodge_template_cache_list(none, &e, &n, NULL), 0);
        assert_int_equal(n, 0);
        assert_null(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_recipe_cache_builds_once, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_recipe_cache_failed_build_leaves_nothing,
                                                lodge_tmpdir_setup, lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_recipe_cache_list_without_cache,
                                                lodge_tmpdir_setup, lodge_tmpdir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
