/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Incus image metadata (templates/incus-meta.c): metadata.yaml's create
 * templates, and rendering the container's name into them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/error.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"
#include "tests/unit/lodge-test.h"

/* As distrobuilder writes it for images.linuxcontainers.org. */
static const char yaml[] = "architecture: x86_64\n"
                           "creation_date: 1737006240\n"
                           "properties:\n"
                           "  os: Debian\n"
                           "  release: bookworm\n"
                           "templates:\n"
                           "  /etc/hostname:\n"
                           "    when:\n"
                           "    - create\n"
                           "    - copy\n"
                           "    create_only: false\n"
                           "    template: hostname.tpl\n"
                           "    properties: {}\n"
                           "  /etc/hosts:\n"
                           "    when: [create, copy]\n"
                           "    template: hosts.tpl\n"
                           "  \"/var/lib/cloud/seed/nocloud-net/meta-data\":\n"
                           "    when:\n"
                           "      - start\n"
                           "    template: cloud-init-meta.tpl\n"
                           "  # a comment\n"
                           "  /etc/other:\n"
                           "    template: other.tpl\n"
                           "    when:\n"
                           "    - create\n"
                           "expiry_date: 1739598240\n";

static void test_parse(void **state)
{
        char **l = NULL;
        struct lodge_error *err = NULL;

        (void)state;
        assert_int_equal(incus_templates_parse(yaml, &l, &err), 0);
        assert_int_equal(strv_length(l), 3);
        assert_string_equal(l[0], "/etc/hostname");
        assert_string_equal(l[0] + strlen(l[0]) + 1, "hostname.tpl");
        assert_string_equal(l[1], "/etc/hosts");
        assert_string_equal(l[1] + strlen(l[1]) + 1, "hosts.tpl");
        assert_string_equal(l[2], "/etc/other"); /* "start" only is not ours */
        strv_free(l);
        l = NULL;
        assert_int_equal(
                incus_templates_parse("templates:\n  etc/x:\n    when: [create]\n", &l, &err),
                -EINVAL);
        lodge_error_free(&err);
        assert_int_equal(incus_templates_parse("no: templates\n", &l, &err), 0);
        assert_null(l);
}

static void test_render(void **state)
{
        char *out = NULL;

        (void)state;
        assert_int_equal(incus_template_render("{{ container.name }}\n", "web", &out), 0);
        assert_string_equal(out, "web\n");
        free(out);
        assert_int_equal(
                incus_template_render("127.0.1.1\t{{instance.name}} x {{ container.name  }}", "db",
                                      &out),
                0);
        assert_string_equal(out, "127.0.1.1\tdb x db");
        free(out);
        assert_int_equal(incus_template_render("plain", "x", &out), 0);
        assert_string_equal(out, "plain");
        free(out);
        out = NULL;
        assert_int_equal(incus_template_render("{% if x %}a{% endif %}", "x", &out), -EOPNOTSUPP);
        assert_int_equal(incus_template_render("{{ config_get(\"a\") }}", "x", &out), -EOPNOTSUPP);
        assert_int_equal(incus_template_render("{{ container.name", "x", &out), -EOPNOTSUPP);
        assert_int_equal(incus_template_render("{# c #}", "x", &out), -EOPNOTSUPP);
        assert_null(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_render),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
