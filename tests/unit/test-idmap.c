/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/idmap.h"
#include "tests/unit/lodge-test.h"

static void test_pool(void **state)
{
        struct idmap_range r;

        (void)state;
        /* root has none: the default pool */
        assert_int_equal(idmap_pool_parse(NULL, NULL, &r, NULL), 0);
        assert_int_equal(r.base, IDMAP_POOL_DEFAULT_BASE);
        assert_int_equal(r.count, IDMAP_POOL_DEFAULT_COUNT);
        assert_int_equal(idmap_pool_parse("alice:100000:65536\n", "", &r, NULL), 0);
        assert_int_equal(r.base, IDMAP_POOL_DEFAULT_BASE);

        /* root's first range, as "root" or "0"; junk and other users skipped */
        assert_int_equal(idmap_pool_parse("alice:100000:65536\n# x\nroot:abc:1\nroot:200000:"
                                          "655360\nroot:9000000:65536\n",
                                          "0:200000:655360", &r, NULL),
                         0);
        assert_int_equal(r.base, 200000);
        assert_int_equal(r.count, 655360);

        /* uids and gids share one map: the ids both ranges have */
        assert_int_equal(idmap_pool_parse("root:200000:200000", "root:300000:200000", &r, NULL), 0);
        assert_int_equal(r.base, 300000);
        assert_int_equal(r.count, 100000);
}

static void test_pool_refused(void **state)
{
        cleanup_error struct lodge_error *err = NULL;
        struct idmap_range r;

        (void)state;
        assert_int_equal(idmap_pool_parse("root:100000:65536", NULL, &r, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "/etc/subgid"));
        lodge_error_free(&err);
        assert_int_equal(idmap_pool_parse("root:100000:65536", "root:300000:65536", &r, &err),
                         -EINVAL);
        lodge_error_free(&err);
        assert_int_equal(idmap_pool_parse("root:100000:1000", "root:100000:1000", &r, &err),
                         -EINVAL);
}

static void test_pick(void **state)
{
        const struct idmap_range pool = { 1000000, 10 * IDMAP_SIZE };
        struct idmap_range taken[10];
        uint32_t a, b, c;

        (void)state;
        /* the same name, the same range; in the pool, aligned to its slots */
        assert_int_equal(idmap_pick("web", &pool, NULL, 0, &a), 0);
        assert_int_equal(idmap_pick("web", &pool, NULL, 0, &b), 0);
        assert_int_equal(a, b);
        assert_true(a >= pool.base && a + IDMAP_SIZE <= pool.base + pool.count);
        assert_int_equal((a - pool.base) % IDMAP_SIZE, 0);

        /* taken, even in part: the next free slot */
        taken[0] = (struct idmap_range){ a + 100, 1 };
        assert_int_equal(idmap_pick("web", &pool, taken, 1, &c), 0);
        assert_int_not_equal(c, a);
        assert_true(c + IDMAP_SIZE <= a || a + IDMAP_SIZE <= c);

        /* all taken */
        for (unsigned i = 0; i < 10; i++)
                taken[i] = (struct idmap_range){ pool.base + i * IDMAP_SIZE, IDMAP_SIZE };
        assert_int_equal(idmap_pick("web", &pool, taken, 10, &c), -ENOSPC);
        /* a pool smaller than one range */
        assert_int_equal(idmap_pick("web", &(struct idmap_range){ 100000, 1000 }, NULL, 0, &c),
                         -ENOSPC);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pool),
                cmocka_unit_test(test_pool_refused),
                cmocka_unit_test(test_pick),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
