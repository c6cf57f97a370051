/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/config.h"

/* Invariants checked on every input:
 *  - parse either fails with an error, or its result formats back to the
 *    input (plus a final newline when missing), and that text parses again;
 *  - get returns each key's value, and setting a key to that value succeeds
 *    and changes no key's value (only the spacing of its line);
 *  - the input used as a "KEY=VALUE" assignment on an empty config either
 *    fails and leaves it empty, or gives a text that parses to the same
 *    text again (no value can smuggle in a second line). */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define cleanup_config CLEANUP(lodge_config_freep)

/* format(cfg) must parse, and format to the same text again. */
static char *format_reparse(const struct lodge_config *cfg)
{
        cleanup_config struct lodge_config *again = NULL;
        cleanup_free char *text = NULL;
        cleanup_free char *text2 = NULL;

        if (lodge_config_format(cfg, &text, NULL) < 0)
                abort();
        if (lodge_config_parse(text, strlen(text), "fuzz", &again, NULL, NULL) < 0)
                abort();
        if (lodge_config_format(again, &text2, NULL) < 0 || strcmp(text, text2) != 0)
                abort();
        return TAKE_PTR(text);
}

struct each {
        struct lodge_config *cfg;
        unsigned n;
};

/* All "key=value" pairs in file order, one per line. */
static int append_pair(const char *key, const char *value, void *userdata)
{
        char **s = userdata;
        char *joined = NULL;

        if (asprintf(&joined, "%s%s=%s\n", *s ? *s : "", key, value) < 0)
                abort();
        free(*s);
        *s = joined;
        return 0;
}

static char *pairs(const struct lodge_config *cfg)
{
        char *s = strdup("");

        if (!s || lodge_config_foreach(cfg, append_pair, &s) < 0)
                abort();
        return s;
}

static int check_key(const char *key, const char *value, void *userdata)
{
        struct each *e = userdata;
        cleanup_error struct lodge_error *err = NULL;
        const char *got = NULL;

        if (!lodge_config_key_known(key))
                abort();
        if (lodge_config_get(e->cfg, key, &got, NULL) < 0 || strcmp(got, value) != 0)
                abort();
        /* Each set rebuilds the whole config: bound the work per input. */
        if (e->n++ < 4) {
                cleanup_free char *copy = strdup(value);

                if (!copy || lodge_config_set(e->cfg, key, copy, &err) < 0)
                        abort();
        }
        return 0;
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
        cleanup_config struct lodge_config *cfg = NULL;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *text = NULL;
        cleanup_free char *before = NULL;
        cleanup_free char *after = NULL;
        unsigned line = 0;
        struct each e = { 0 };
        size_t len;

        if (lodge_config_parse((const char *)data, size, "fuzz", &cfg, &line, &err) < 0) {
                if (!err || err->code <= 0 || !err->msg || cfg)
                        abort();
                return;
        }
        text = format_reparse(cfg);
        len = strlen(text);
        if (len != size + (size > 0 && data[size - 1] != '\n') || memcmp(text, data, size) != 0)
                abort();

        before = pairs(cfg);
        e.cfg = cfg;
        if (lodge_config_foreach(cfg, check_key, &e) < 0)
                abort();
        free(format_reparse(cfg));
        after = pairs(cfg);
        if (strcmp(before, after) != 0)
                abort();
}

static void fuzz_assignment(const uint8_t *data, size_t size)
{
        cleanup_config struct lodge_config *cfg = NULL;
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free char *assignment = NULL;
        cleanup_free char *text = NULL;

        if (size > 4096 || memchr(data, '\0', size))
                return;
        assignment = strndup((const char *)data, size);
        if (!assignment || lodge_config_new(&cfg, NULL) < 0)
                abort();
        if (lodge_config_set_assignment(cfg, assignment, &err) < 0) {
                if (!err || !err->msg)
                        abort();
                text = format_reparse(cfg);
                if (text[0] != '\0')
                        abort();
                return;
        }
        text = format_reparse(cfg);
        if (!strchr(text, '\n') || strchr(text, '\n')[1] != '\0')
                abort(); /* exactly one line */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        fuzz_parse(data, size);
        fuzz_assignment(data, size);
        return 0;
}
