/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tests/unit/lodge-test.h"

int main(void)
{
        const struct CMUnitTest tests[] = {};

        return cmocka_run_group_tests(tests, NULL, NULL);
}
