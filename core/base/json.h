/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

/* Print s as a JSON string literal (quotes included), escaping what RFC 8259
 * requires. NULL prints null. Invalid UTF-8 bytes are written as \u00XX of
 * the byte, so output is always valid JSON. */
void json_print_string(FILE *f, const char *s);
