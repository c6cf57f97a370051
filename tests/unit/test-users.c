/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "core/users.h"
#include "tests/unit/lodge-test.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
                             "# a comment line\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                             "broken line without fields\n"
                             "bad:x:notanumber:0::/:/bin/sh\n"
                             "rel:x:1001:1001::relative/home:relative-shell\n"
                             "alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh";

static const char group[] = "root:x:0:\n"
                            "sudo:x:27:alice,bob\n"
                            "users:x:100:bob, alice\n"
                            "alice:x:1000:\n"
                            "audio:x:29:alicex,xalice\n"
                            "video:x:44:alice";

static void test_lookup_by_name_and_uid(void **state)
{
        struct guest_user u;

        (void)state;
        assert_int_equal(users_lookup(passwd, "alice", &u), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 1000);
        assert_string_equal(u.home, "/home/alice");
        assert_string_equal(u.shell, "/bin/zsh"); /* last line without a newline */

        assert_int_equal(users_lookup(passwd, "0", &u), 0);
        assert_string_equal(u.name, "root");
        assert_string_equal(u.shell, "/bin/bash");

        /* Relative home and shell are not trusted. */
        assert_int_equal(users_lookup(passwd, "rel", &u), 0);
        assert_string_equal(u.home, "/");
        assert_string_equal(u.shell, "/bin/sh");
}

static void test_lookup_unknown_and_bad(void **state)
{
        struct guest_user u;

        (void)state;
        assert_int_equal(users_lookup(passwd, "ghost", &u), -ENOENT);
        assert_int_equal(users_lookup(passwd, "bad", &u), -ENOENT); /* its uid isn't a number */
        assert_int_equal(users_lookup(passwd, "", &u), -EINVAL);
        assert_int_equal(users_lookup(passwd, "a:b", &u), -EINVAL);
        assert_int_equal(users_lookup(passwd, "4294967295", &u), -EINVAL); /* (uid_t)-1 */
        assert_int_equal(users_lookup(passwd, "12x", &u), -EINVAL);

        /* A uid without an entry is still a uid, as for login(1). */
        assert_int_equal(users_lookup(passwd, "4242", &u), 0);
        assert_int_equal(u.uid, 4242);
        assert_int_equal(u.gid, 4242);
        assert_string_equal(u.home, "/");
        assert_int_equal(users_lookup("", "0", &u), 0);
}

static void test_groups(void **state)
{
        gid_t g[8];
        size_t n;

        (void)state;
        n = users_groups(group, "alice", 1000, g, 8);
        /* primary, then sudo, users (with a space: not a member), video; never "alicex" */
        assert_int_equal(n, 3);
        assert_int_equal(g[0], 1000);
        assert_int_equal(g[1], 27);
        assert_int_equal(g[2], 44);

        n = users_groups(group, "bob", 100, g, 8);
        assert_int_equal(n, 2); /* primary users(100) once, plus sudo */
        assert_int_equal(g[0], 100);
        assert_int_equal(g[1], 27);

        assert_int_equal(users_groups(group, "alice", 1000, g, 1), 1);
        assert_int_equal(users_groups(group, "alice", 1000, g, 0), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lookup_by_name_and_uid),
                cmocka_unit_test(test_lookup_unknown_and_bad),
                cmocka_unit_test(test_groups),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
