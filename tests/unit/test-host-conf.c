/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/host-conf.h"
#include "tests/unit/lodge-test.h"

/* Write text as lodge.conf in the test's directory; its path in path. */
static void conf_file(void **state, const char *text, char path[static 256])
{
        struct lodge_tmpdir *t = *state;

        snprintf(path, 256, "%s/lodge.conf", t->path);
        assert_int_equal(
                write_file_atomic_at(t->dirfd, "lodge.conf", text, strlen(text), 0644, NULL), 0);
}

static void test_keys(void **state)
{
        struct host_conf c;
        char path[256];

        conf_file(state,
                  "# the host's defaults\n"
                  "\n"
                  "  image.server = https://images.example/  \n"
                  "image.keyring=/k.gpg\n"
                  "network.default = br7\r\n"
                  "network.default.ipv4 = 10.9.8.1/24 # not a comment: part of the value\n"
                  "network.default.ipv6 = fd00::1/64\n"
                  "network.default = br8\n",
                  path);
        assert_int_equal(host_conf_read(path, &c, NULL), 0);
        assert_string_equal(c.image_server, "https://images.example/");
        assert_string_equal(c.image_keyring, "/k.gpg");
        assert_null(c.image_ca);
        assert_string_equal(c.network_default, "br8"); /* the last one counts */
        assert_string_equal(c.network_default_ipv4,
                            "10.9.8.1/24 # not a comment: part of the value");
        assert_string_equal(c.network_default_ipv6, "fd00::1/64");
        host_conf_done(&c);
        host_conf_done(&c); /* twice is fine */
}

static void test_missing_file(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct host_conf c;
        char path[256];

        snprintf(path, sizeof(path), "%s/none.conf", t->path);
        assert_int_equal(host_conf_read(path, &c, NULL), 0);
        assert_null(c.image_server);
        assert_null(c.network_default);
        host_conf_done(&c);
        assert_int_equal(host_conf_read(NULL, &c, NULL), 0);
        host_conf_done(&c);
        /* LODGE_CONF=/dev/null: no config, as the idiom means. */
        assert_int_equal(host_conf_read("/dev/null", &c, NULL), 0);
        assert_null(c.image_server);
        host_conf_done(&c);
}

/* Anything else that isn't a regular file is refused, saying so. */
static void test_not_a_file(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        struct host_conf c;

        assert_int_equal(host_conf_read(t->path, &c, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "not a regular file"));
        host_conf_done(&c);
}

static void test_errors_name_file_line_key(void **state)
{
        static const struct {
                const char *text, *want;
        } cases[] = {
                { "image.server = x\n\nnetwork.defualt = br0\n",
                  "line 3: unknown key 'network.defualt'" },
                { "# c\nnetwork.default\n", "line 2: not 'key = value'" },
                { "network.default.ipv4 =  \n", "line 1: 'network.default.ipv4' is empty" },
                { "image\n", "line 1: not 'key = value'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                cleanup_error struct lodge_error *err = NULL;
                struct host_conf c;
                char path[256];

                conf_file(state, cases[i].text, path);
                assert_int_equal(host_conf_read(path, &c, &err), -EINVAL);
                host_conf_done(&c);
                assert_non_null(err);
                assert_non_null(strstr(err->msg, path));
                if (!strstr(err->msg, cases[i].want)) {
                        print_message("'%s': got '%s'\n", cases[i].text, err->msg);
                        fail();
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_keys, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_not_a_file, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_missing_file, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_errors_name_file_line_key, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
