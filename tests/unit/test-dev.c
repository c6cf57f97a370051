/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/dev.h"
#include "tests/unit/lodge-test.h"

/* Run a device program the way the kernel would, for the few instructions
 * dev_bpf_build() emits; anything else fails the test. Returns r0. */
static uint64_t run(const struct bpf_insn *p, size_t n, char type, uint32_t major, uint32_t minor,
                    unsigned access)
{
        struct bpf_cgroup_dev_ctx ctx = {
                .access_type =
                        (access << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR),
                .major = major,
                .minor = minor,
        };
        uint64_t reg[11] = { 0 };
        bool init[11] = { [1] = true };

        for (size_t pc = 0; pc < n; pc++) {
                const struct bpf_insn *i = &p[pc];

                switch (i->code) {
                case BPF_LDX | BPF_MEM | BPF_W:
                        assert_int_equal(i->src_reg, 1);
                        assert_true(i->off >= 0 && i->off + 4 <= (int)sizeof(ctx));
                        {
                                uint32_t v;

                                memcpy(&v, (const char *)&ctx + i->off, 4);
                                reg[i->dst_reg] = v;
                        }
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_X:
                        assert_true(init[i->src_reg]);
                        reg[i->dst_reg] = reg[i->src_reg];
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_K:
                        reg[i->dst_reg] = (uint64_t)(int64_t)i->imm;
                        break;
                case BPF_ALU | BPF_AND | BPF_K:
                        assert_true(init[i->dst_reg]);
                        reg[i->dst_reg] = (uint32_t)reg[i->dst_reg] & (uint32_t)i->imm;
                        break;
                case BPF_ALU | BPF_RSH | BPF_K:
                        assert_true(init[i->dst_reg]);
                        reg[i->dst_reg] = (uint32_t)reg[i->dst_reg] >> i->imm;
                        break;
                case BPF_JMP | BPF_JNE | BPF_K:
                        assert_true(init[i->dst_reg]);
                        if (reg[i->dst_reg] != (uint64_t)(int64_t)i->imm) {
                                assert_true(i->off >= 0 && pc + 1 + (size_t)i->off < n);
                                pc += (size_t)i->off;
                        }
                        continue;
                case BPF_JMP | BPF_EXIT:
                        assert_true(init[0]);
                        return reg[0];
                default:
                        fail_msg("unexpected instruction 0x%02x at %zu", i->code, pc);
                }
                init[i->dst_reg] = true;
        }
        fail_msg("the program runs off its end");
        return 0;
}

static void test_default_program(void **state)
{
        const struct dev_rule *rules;
        cleanup_free void *prog = NULL;
        const unsigned rw = DEV_ACC_READ | DEV_ACC_WRITE;
        size_t n, len;

        (void)state;
        rules = dev_default_rules(&n);
        assert_int_equal(dev_bpf_build(rules, n, &prog, &len), 0);
        assert_true(len > 10 && len < 200);

        /* the standard nodes */
        assert_int_equal(run(prog, len, 'c', 1, 3, rw), 1);
        assert_int_equal(run(prog, len, 'c', 1, 9, DEV_ACC_READ), 1);
        assert_int_equal(run(prog, len, 'c', 5, 2, rw), 1);
        assert_int_equal(run(prog, len, 'c', 136, 7, rw), 1);
        assert_int_equal(run(prog, len, 'c', 10, 200, rw), 1);
        assert_int_equal(run(prog, len, 'c', 10, 229, rw), 1);
        /* mknod of anything, opening none of it */
        assert_int_equal(run(prog, len, 'c', 1, 1, DEV_ACC_MKNOD), 1);
        assert_int_equal(run(prog, len, 'b', 254, 0, DEV_ACC_MKNOD), 1);
        assert_int_equal(run(prog, len, 'b', 254, 0, DEV_ACC_READ), 0);
        assert_int_equal(run(prog, len, 'b', 7, 0, rw), 0);
        assert_int_equal(run(prog, len, 'c', 1, 1, DEV_ACC_READ), 0);  /* mem */
        assert_int_equal(run(prog, len, 'c', 1, 2, DEV_ACC_READ), 0);  /* kmem */
        assert_int_equal(run(prog, len, 'c', 1, 4, DEV_ACC_WRITE), 0); /* port */
        assert_int_equal(run(prog, len, 'c', 10, 237, DEV_ACC_READ), 0);
        /* a read and write asks for both: one rule must allow both */
        assert_int_equal(run(prog, len, 'c', 1, 1, DEV_ACC_READ | DEV_ACC_MKNOD), 0);
        /* same numbers, other type */
        assert_int_equal(run(prog, len, 'b', 1, 3, DEV_ACC_READ), 0);
}

static void test_extra_rules(void **state)
{
        const struct dev_rule rules[] = {
                { 'b', 7, 0, DEV_ACC_ALL },
                { 'c', 10, DEV_ANY, DEV_ACC_READ },
                { 'a', DEV_ANY, 3, DEV_ACC_WRITE },
        };
        cleanup_free void *prog = NULL;
        size_t len;

        (void)state;
        assert_int_equal(dev_bpf_build(rules, ELEMENTSOF(rules), &prog, &len), 0);
        assert_int_equal(run(prog, len, 'b', 7, 0, DEV_ACC_READ | DEV_ACC_WRITE), 1);
        assert_int_equal(run(prog, len, 'b', 7, 1, DEV_ACC_READ), 0);
        assert_int_equal(run(prog, len, 'c', 7, 0, DEV_ACC_READ), 0);
        assert_int_equal(run(prog, len, 'c', 10, 1234, DEV_ACC_READ), 1);
        assert_int_equal(run(prog, len, 'c', 10, 1234, DEV_ACC_WRITE), 0);
        assert_int_equal(run(prog, len, 'b', 99, 3, DEV_ACC_WRITE), 1);
        assert_int_equal(run(prog, len, 'c', 99, 3, DEV_ACC_WRITE), 1);
        assert_int_equal(run(prog, len, 'c', 99, 3, DEV_ACC_READ | DEV_ACC_WRITE), 0);

        /* no rules: nothing at all */
        free(prog);
        prog = NULL;
        assert_int_equal(dev_bpf_build(NULL, 0, &prog, &len), 0);
        assert_int_equal(run(prog, len, 'c', 1, 3, DEV_ACC_READ), 0);
}

static void test_format(void **state)
{
        const struct dev_rule rules[] = {
                { 'c', 1, 3, DEV_ACC_ALL },
                { 'b', DEV_ANY, DEV_ANY, DEV_ACC_MKNOD },
                { 'c', 136, DEV_ANY, DEV_ACC_READ | DEV_ACC_WRITE },
                { 'a', 4095, 1048575, DEV_ACC_WRITE },
        };
        const char *want[] = { "c 1:3 rwm", "b *:* m", "c 136:* rw", "a 4095:1048575 w" };
        char buf[40];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rules); i++) {
                dev_rule_format(&rules[i], buf);
                assert_string_equal(buf, want[i]);
        }
}

static void test_node_parse(void **state)
{
        struct lodge_tmpdir *t = *state;
        struct dev_node n = { 0 };
        struct dev_rule r;
        char value[600];

        assert_int_equal(dev_node_parse("/dev/null", &n, NULL), 0);
        assert_string_equal(n.path, "/dev/null");
        assert_string_equal(n.target, "null");
        assert_true(S_ISCHR(n.mode));
        assert_int_equal(n.mode & 07777, 0666);
        r = dev_node_rule(&n);
        assert_int_equal(r.type, 'c');
        assert_int_equal(r.major, 1);
        assert_int_equal(r.minor, 3);
        assert_int_equal(r.access, DEV_ACC_ALL);
        dev_node_done(&n);

        assert_int_equal(dev_node_parse("/dev/null /dev/sub/other", &n, NULL), 0);
        assert_string_equal(n.target, "sub/other");
        dev_node_done(&n);

        {
                cleanup_error struct lodge_error *err = NULL;

                snprintf(value, sizeof(value), "%s /dev/x", t->path);
                assert_int_equal(dev_node_parse(value, &n, &err), -EINVAL);
                assert_non_null(strstr(err->msg, "is not a character or block device"));
        }
        {
                cleanup_error struct lodge_error *err = NULL;

                assert_int_equal(dev_node_parse("/dev/lodge-no-such-node", &n, &err), -ENOENT);
                assert_non_null(strstr(err->msg, "'/dev/lodge-no-such-node'"));
        }
        {
                cleanup_error struct lodge_error *err = NULL;

                assert_int_equal(dev_node_parse("/dev/null /etc/null", &n, &err), -EINVAL);
                assert_non_null(strstr(err->msg, "not a path below /dev/"));
                assert_int_equal(dev_node_parse("/dev/null /dev/../etc/x", &n, NULL), -EINVAL);
                assert_int_equal(dev_node_parse("/dev/null /dev/", &n, NULL), -EINVAL);
        }
}

/* The targets a device.N may not take: the standard nodes and links, the
 * console, tty1-4, and what is in lodge's mounts; anything else may be used. */
static void test_target_reserved(void **state)
{
        static const char *const reserved[] = {
                "null", "zero",    "full",   "random", "urandom", "tty",    "ptmx",
                "fd",   "stdin",   "stdout", "stderr", "console", "pts",    "pts/0",
                "shm",  "shm/a/b", "mqueue", "tty1",   "tty4",    "tty1/x", "fd/3",
        };
        static const char *const free_[] = {
                "tty0",    "tty5", "tty10", "ttyS0", "ttyUSB0", "nullx",     "null2",
                "net/tun", "fuse", "kvm",   "ptsx",  "shmem",   "dri/card0", "console2",
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (!dev_target_reserved(reserved[i]))
                        fail_msg("'%s' is lodge's own", reserved[i]);
        for (size_t i = 0; i < ELEMENTSOF(free_); i++)
                if (dev_target_reserved(free_[i]))
                        fail_msg("'%s' is not lodge's", free_[i]);
}

/* dev_node_make() in a plain directory standing for the guest's /dev: mknod
 * needs CAP_MKNOD, so only the refusals are checked when unprivileged. */
static void test_node_make_no_symlinks(void **state)
{
        struct lodge_tmpdir *t = *state;
        cleanup_close int devfd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dev_node n = { .path = (char *)"/dev/null",
                              .target = (char *)"fd/null",
                              .mode = S_IFCHR | 0666,
                              .rdev = makedev(1, 3) };
        cleanup_error struct lodge_error *err = NULL;
        struct stat st;

        assert_true(devfd >= 0);
        assert_int_equal(symlinkat("/tmp", devfd, "fd"), 0);
        assert_true(dev_node_make(devfd, &n, &err) < 0);
        assert_int_equal(fstatat(devfd, "fd/null", &st, 0), -1); /* not through the link */
        if (geteuid() == 0) {
                n.target = (char *)"net/x";
                assert_int_equal(dev_node_make(devfd, &n, NULL), 0);
                assert_int_equal(fstatat(devfd, "net/x", &st, AT_SYMLINK_NOFOLLOW), 0);
                assert_true(S_ISCHR(st.st_mode));
                assert_int_equal(st.st_mode & 07777, 0666);
                assert_int_equal(st.st_rdev, makedev(1, 3));
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_program),
                cmocka_unit_test(test_extra_rules),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_target_reserved),
                cmocka_unit_test_setup_teardown(test_node_parse, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
                cmocka_unit_test_setup_teardown(test_node_make_no_symlinks, lodge_tmpdir_setup,
                                                lodge_tmpdir_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
