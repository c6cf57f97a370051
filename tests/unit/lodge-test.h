/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cmocka needs these before cmocka.h; keep this the only place that knows. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

/* Fixture: a fresh empty directory per test, removed afterwards.
 * *state points to a struct lodge_tmpdir. */
struct lodge_tmpdir {
        char path[128];
        int dirfd; /* O_RDONLY|O_DIRECTORY */
};

int lodge_tmpdir_setup(void **state);
int lodge_tmpdir_teardown(void **state);
