/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escapes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
