/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/json.h"
#include "tests/unit/lodge-test.h"

static char *render(const char *s)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        json_print_string(f, s);
        fclose(f);
        return buf;
}

static void check(const char *in, const char *want)
{
        char *got = render(in);

        assert_string_equal(got, want);
        free(got);
}

static void test_escapes(void **state)
{
        (void)state;
        check(NULL, "null");
        check("web", "\"web\"");
        check("a\"b\\c", "\"a\\\"b\\\\c\"");
        check("nl\nx\ty\r", "\"nl\\nx\\ty\\r\"");
        check("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
        check("üñí", "\"üñí\"");
        /* Invalid UTF-8 never makes invalid JSON. */
        check("\xff\xc3", "\"\\u00ff\\u00c3\"");
}

static int parse(const char *s, struct json_value **ret)
{
        return json_parse(s, strlen(s), ret);
}

static void test_parse_document(void **state)
{
        struct json_value *v = NULL;
        uint64_t u = 0;

        (void)state;
        assert_int_equal(parse(" {\"a\": [1, -2.5e3, true, false, null], \"s\": "
                               "\"x\\u00e9\\ud83d\\ude00\\n\","
                               " \"n\": 18446744073709551615, \"o\": {}} ",
                               &v),
                         0);
        assert_int_equal(v->type, JSON_OBJECT);
        assert_int_equal(v->n_items, 4);
        assert_int_equal(json_get(v, "a")->type, JSON_ARRAY);
        assert_int_equal(json_get(v, "a")->n_items, 5);
        assert_string_equal(json_get(v, "a")->items[1].str, "-2.5e3");
        assert_true(json_get(v, "a")->items[2].boolean);
        assert_string_equal(json_get_string(v, "s"), "x\xc3\xa9\xf0\x9f\x98\x80\n");
        assert_int_equal(json_get_u64(v, "n", &u), 0);
        assert_true(u == UINT64_MAX);
        assert_int_equal(json_get_u64(v, "s", &u), -EINVAL);
        json_free(v);
        assert_int_equal(parse("{\"n\": 18446744073709551616, \"m\": -1, \"f\": 1.5}", &v), 0);
        assert_int_equal(json_get_u64(v, "n", &u), -EINVAL);
        assert_int_equal(json_get_u64(v, "m", &u), -EINVAL);
        assert_int_equal(json_get_u64(v, "f", &u), -EINVAL);
        assert_null(json_get(v, "missing"));
        assert_null(json_get_string(v, "o"));
        assert_null(json_get(json_get(v, "a"), "x")); /* not an object */
        json_free(v);
}

static void test_parse_rejects_malformed(void **state)
{
        static const char *const bad[] = {
                "",
                " ",
                "{",
                "}",
                "[1,]",
                "{\"a\":1,}",
                "{\"a\" 1}",
                "{a:1}",
                "01",
                "1.",
                "-",
                "1e",
                "+1",
                "tru",
                "nul",
                "\"abc",
                "\"a\\x\"",
                "\"\\u12\"",
                "\"\\u0000\"",
                "\"\\udc00\"",
                "\"\\ud800\"",
                "\"\\ud800\\u0041\"",
                "\"tab\there\"",
                "\"\xff\"",
                "\"\xc0\xaf\"",
                "\"\xed\xa0\x80\"",
                "1 2",
                "{} x",
                "[1]]",
                "'a'",
                "NaN",
                "Infinity",
        };
        struct json_value *v = NULL;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                v = NULL;
                if (parse(bad[i], &v) != -EINVAL)
                        fail_msg("accepted: '%s'", bad[i]);
                assert_null(v);
        }
        /* Embedded NUL bytes outside strings, too. */
        assert_int_equal(json_parse("[1]\0", 4, &v), -EINVAL);
}

static void test_parse_depth_is_bounded(void **state)
{
        char deep[2 * JSON_MAX_DEPTH + 8], ok[2 * JSON_MAX_DEPTH + 1];
        struct json_value *v = NULL;

        (void)state;
        memset(deep, '[', JSON_MAX_DEPTH + 1);
        memset(deep + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
        assert_int_equal(json_parse(deep, 2 * (JSON_MAX_DEPTH + 1), &v), -E2BIG);
        memset(ok, '[', JSON_MAX_DEPTH);
        memset(ok + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
        assert_int_equal(json_parse(ok, 2 * JSON_MAX_DEPTH, &v), 0);
        json_free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escapes),
                cmocka_unit_test(test_parse_document),
                cmocka_unit_test(test_parse_rejects_malformed),
                cmocka_unit_test(test_parse_depth_is_bounded),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
