/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/strv.h"
#include "core/cgroup.h"
#include "tests/unit/lodge-test.h"

static char *data(const char *name)
{
        char path[512];
        char *text = NULL;

        snprintf(path, sizeof(path), "%s/tests/data/%s", LODGE_SRCDIR, name);
        assert_int_equal(read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL, NULL), 0);
        return text;
}

static void test_parse_hybrid(void **state)
{
        cleanup_free char *text = data("mountinfo-hybrid");
        struct cg_host h;

        (void)state;
        assert_int_equal(cg_host_parse(text, &h, NULL), 0);
        assert_int_equal(h.n, 10);
        assert_true(h.v2 >= 0);
        assert_string_equal(h.h[h.v2].mount, "/sys/fs/cgroup/unified");
        assert_int_equal(cg_host_find(&h, "memory"), 3);
        assert_string_equal(h.h[cg_host_find(&h, "name=systemd")].mount, "/sys/fs/cgroup/systemd");
        assert_int_equal(cg_host_find(&h, "rdma"), -1);
        cg_host_done(&h);
}

static void test_parse_unified_and_weird(void **state)
{
        cleanup_free char *u = data("mountinfo-unified");
        cleanup_free char *w = data("mountinfo-weird");
        struct cg_host h;

        (void)state;
        assert_int_equal(cg_host_parse(u, &h, NULL), 0);
        assert_int_equal(h.n, 1);
        assert_int_equal(h.v2, 0);
        cg_host_done(&h);

        assert_int_equal(cg_host_parse(w, &h, NULL), 0);
        assert_int_equal(h.n, 2); /* the second cpu,cpuacct mount counts once */
        assert_string_equal(h.h[0].controllers, "cpu,cpuacct");
        assert_int_equal(cg_host_find(&h, "cpuacct"), 0);
        assert_string_equal(h.h[1].mount, "/sys/fs/cgroup/with space");
        assert_string_equal(h.h[1].controllers, "pids");
        cg_host_done(&h);
}

/* What the monitor saves for attach reads back as the same hierarchies. */
static void test_format_round_trip(void **state)
{
        const char *const files[] = { "mountinfo-hybrid", "mountinfo-unified", "mountinfo-weird" };

        (void)state;
        for (size_t k = 0; k < ELEMENTSOF(files); k++) {
                cleanup_free char *text = data(files[k]), *saved = NULL;
                struct cg_host a, b;

                assert_int_equal(cg_host_parse(text, &a, NULL), 0);
                assert_int_equal(cg_host_format(&a, &saved), 0);
                assert_int_equal(cg_host_parse(saved, &b, NULL), 0);
                assert_int_equal(b.n, a.n);
                assert_int_equal(b.v2, a.v2);
                for (size_t i = 0; i < a.n; i++) {
                        assert_string_equal(b.h[i].mount, a.h[i].mount);
                        assert_string_equal(b.h[i].controllers, a.h[i].controllers);
                        assert_int_equal(b.h[i].v2, a.h[i].v2);
                }
                cg_host_done(&a);
                cg_host_done(&b);
        }
}

static void test_load_missing_or_empty(void **state)
{
        const struct lodge_tmpdir *t = *state;
        int dfd = t->dirfd;
        cleanup_error struct lodge_error *err = NULL;
        struct cg_host h;

        assert_int_equal(cg_host_load_at(dfd, "cgroups", &h, &err), -ENOENT);
        lodge_error_free(&err);
        assert_int_equal(write_file_replace_at(dfd, "cgroups", "", 0, 0600, NULL), 0);
        assert_int_equal(cg_host_load_at(dfd, "cgroups", &h, &err), -ENOENT);
}

static void test_guest_names(void **state)
{
        struct cg_host h = { .v2 = -1 };
        struct cg_guest a, b;

        (void)state;
        assert_int_equal(cg_guest_init(&a, &h, "", "web", NULL), 0);
        assert_string_equal(a.base, "lodge/web");
        assert_int_equal(cg_guest_init(&b, &h, "1a2b3c4d", "web", NULL), 0);
        assert_string_equal(b.base, "lodge-1a2b3c4d/web");
        cg_guest_done(&a);
        cg_guest_done(&b);
}

static void put(const char *dir, const char *file, const char *content)
{
        char path[512];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, content, strlen(content)), 0);
        close(fd);
}

static char *get(const char *dir, const char *file)
{
        char path[512];
        char *text = NULL;

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        assert_int_equal(read_file_at(AT_FDCWD, path, 4096, &text, NULL, NULL), 0);
        return text;
}

/* A fake v1 memory+pids+cpu host in a tmpdir: the knob files exist because
 * the test makes them, as the kernel would. */
static void test_limits_v1(void **state)
{
        struct lodge_tmpdir *t = *state;
        char mi[1024], mem[200], pids[200], cpu[200], devices[200], base[256], bad[300];
        struct lodge_config_limits l = { .memory = 64 << 20,
                                         .has_memory_swap = true,
                                         .memory_swap = 0,
                                         .pids = 100,
                                         .cpu_millis = 1500,
                                         .cpu_weight = 200,
                                         .io_weight = 50 };
        cleanup_strv char **warnings = NULL;
        struct cg_host h;
        struct cg_guest g;

        snprintf(mem, sizeof(mem), "%s/memory", t->path);
        snprintf(pids, sizeof(pids), "%s/pids", t->path);
        snprintf(cpu, sizeof(cpu), "%s/cpu", t->path);
        snprintf(devices, sizeof(devices), "%s/devices", t->path);
        snprintf(mi, sizeof(mi),
                 "1 0 0:1 / %s rw - cgroup cgroup rw,memory\n"
                 "2 0 0:2 / %s rw - cgroup cgroup rw,pids\n"
                 "3 0 0:3 / %s rw - cgroup cgroup rw,cpu\n"
                 "4 0 0:4 / %s rw - cgroup cgroup rw,devices\n",
                 mem, pids, cpu, devices);
        assert_int_equal(cg_host_parse(mi, &h, NULL), 0);
        assert_int_equal(cg_guest_init(&g, &h, "", "web", NULL), 0);
        mkdir(mem, 0755);
        mkdir(pids, 0755);
        mkdir(cpu, 0755);
        mkdir(devices, 0755);
        assert_int_equal(cg_guest_create(&g, NULL), 0);

        /* The device allow-list went on base, before base/guest was made (the
         * fake tree keeps every write; the kernel takes each as one rule). */
        snprintf(base, sizeof(base), "%s/lodge/web", devices);
        {
                cleanup_free char *deny = get(base, "devices.deny");
                cleanup_free char *allow = get(base, "devices.allow");
                struct stat st;

                assert_string_equal(deny, "a\n");
                assert_true(strncmp(allow, "c *:* m\nb *:* m\nc 1:3 rwm\n", 26) == 0);
                assert_non_null(strstr(allow, "\nc 136:* rwm\n"));
                assert_null(strstr(allow, " 1:1 "));
                assert_null(strstr(allow, "\nb 254"));
                assert_int_equal(stat(base, &st), 0);
                snprintf(bad, sizeof(bad), "%s/guest/devices.allow", base);
                assert_int_equal(stat(bad, &st), -1); /* made after: it inherits */
        }
        l.devices[0] = (char *)"/dev/null /dev/other-null";

        snprintf(base, sizeof(base), "%s/lodge/web", mem);
        put(base, "memory.limit_in_bytes", "");
        put(base, "memory.memsw.limit_in_bytes", "");
        snprintf(base, sizeof(base), "%s/lodge/web", pids);
        put(base, "pids.max", "");
        snprintf(base, sizeof(base), "%s/lodge/web", cpu);
        put(base, "cpu.cfs_period_us", "");
        put(base, "cpu.cfs_quota_us", "");
        put(base, "cpu.shares", "");

        /* Just made: an unset limit is the kernel's default, not written again. */
        {
                struct lodge_config_limits only_pids = { .pids = 7 };
                cleanup_free char *quota = NULL, *p = NULL, *m = NULL;
                char mbase[256];

                assert_int_equal(cg_guest_apply_new_limits(&g, &only_pids, NULL, NULL), 0);
                quota = get(base, "cpu.cfs_quota_us");
                assert_string_equal(quota, "");
                snprintf(mbase, sizeof(mbase), "%s/lodge/web", mem);
                m = get(mbase, "memory.limit_in_bytes");
                assert_string_equal(m, "");
                snprintf(mbase, sizeof(mbase), "%s/lodge/web", pids);
                p = get(mbase, "pids.max");
                assert_string_equal(p, "7");
        }

        assert_int_equal(cg_guest_apply_limits(&g, &l, &warnings, NULL), 0);
        {
                cleanup_free char *quota = get(base, "cpu.cfs_quota_us");
                cleanup_free char *shares = get(base, "cpu.shares");

                assert_string_equal(quota, "150000");
                assert_string_equal(shares, "2048");
        }
        snprintf(base, sizeof(base), "%s/lodge/web", mem);
        {
                cleanup_free char *m = get(base, "memory.limit_in_bytes");
                cleanup_free char *sw = get(base, "memory.memsw.limit_in_bytes");

                assert_string_equal(m, "67108864");
                assert_string_equal(sw, "67108864"); /* no swap: memsw == memory */
        }
        snprintf(base, sizeof(base), "%s/lodge/web", pids);
        {
                cleanup_free char *p = get(base, "pids.max");

                assert_string_equal(p, "100");
        }
        /* No blkio here: said, not failed. */
        assert_int_equal(strv_length(warnings), 1);
        assert_non_null(strstr(warnings[0], "limits.io.weight"));

        /* device.N: allowed on base and on base/guest, which copied base's list. */
        snprintf(base, sizeof(base), "%s/lodge/web", devices);
        {
                cleanup_free char *allow = get(base, "devices.allow");
                cleanup_free char *guest = NULL;

                assert_non_null(strstr(allow, "c 1:3 rwm\n"));
                assert_true(strlen(allow) > 10 &&
                            strcmp(allow + strlen(allow) - 10, "c 1:3 rwm\n") == 0);
                strcat(base, "/guest");
                guest = get(base, "devices.allow");
                assert_string_equal(guest, "c 1:3 rwm\n");
        }
        /* Not a device: refused, saying which key. */
        {
                cleanup_error struct lodge_error *err = NULL;

                snprintf(bad, sizeof(bad), "%s /dev/x", t->path);
                l.devices[0] = NULL;
                l.devices[3] = bad;
                assert_int_equal(cg_guest_apply_limits(&g, &l, NULL, &err), -EINVAL);
                assert_non_null(strstr(err->msg, "device.3: "));
                assert_non_null(strstr(err->msg, "is not a character or block device"));
        }

        /* Without a pids controller a pids limit can't hold: refused. */
        cg_host_done(&h);
        cg_guest_done(&g);
}

/* Neither a v1 devices hierarchy nor cgroup2: a guest could open every
 * device node it makes, so it isn't started. */
static void test_no_device_control(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_error struct lodge_error *err = NULL;
        char mi[512], mem[200];
        struct cg_host h;
        struct cg_guest g;

        snprintf(mem, sizeof(mem), "%s/memory", t->path);
        snprintf(mi, sizeof(mi), "1 0 0:1 / %s rw - cgroup cgroup rw,memory\n", mem);
        mkdir(mem, 0755);
        assert_int_equal(cg_host_parse(mi, &h, NULL), 0);
        assert_int_equal(cg_guest_init(&g, &h, "", "web", NULL), 0);
        assert_int_equal(cg_guest_create(&g, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err->msg, "can't confine devices"));
        snprintf(mem, sizeof(mem), "%s/memory/lodge", t->path);
        assert_int_equal(access(mem, F_OK), -1);
        cg_host_done(&h);
        cg_guest_done(&g);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_hybrid),
                cmocka_unit_test(test_parse_unified_and_weird),
                cmocka_unit_test(test_format_round_trip),
                cmocka_unit_test_setup_teardown(test_load_missing_or_empty, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test(test_guest_names),
                cmocka_unit_test_setup_teardown(test_limits_v1, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_no_device_control, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
