/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/dev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/path.h"
#include "core/container.h"

/* What LXC's common.conf and Incus allow a privileged guest: the nodes every
 * distribution opens, the ptys (136:*, where devpts puts them all), tun for
 * VPNs, fuse; and mknod of anything, so that package scripts that make
 * nodes work, while the node made opens nothing unless listed here. */
static const struct dev_rule default_rules[] = {
        { 'c', DEV_ANY, DEV_ANY, DEV_ACC_MKNOD },
        { 'b', DEV_ANY, DEV_ANY, DEV_ACC_MKNOD },
        { 'c', 1, 3, DEV_ACC_ALL },         /* null */
        { 'c', 1, 5, DEV_ACC_ALL },         /* zero */
        { 'c', 1, 7, DEV_ACC_ALL },         /* full */
        { 'c', 1, 8, DEV_ACC_ALL },         /* random */
        { 'c', 1, 9, DEV_ACC_ALL },         /* urandom */
        { 'c', 5, 0, DEV_ACC_ALL },         /* tty */
        { 'c', 5, 1, DEV_ACC_ALL },         /* console */
        { 'c', 5, 2, DEV_ACC_ALL },         /* ptmx */
        { 'c', 136, DEV_ANY, DEV_ACC_ALL }, /* pts/N */
        { 'c', 10, 200, DEV_ACC_ALL },      /* net/tun */
        { 'c', 10, 229, DEV_ACC_ALL },      /* fuse */
};

const struct dev_rule *dev_default_rules(size_t *ret_n)
{
        *ret_n = ELEMENTSOF(default_rules);
        return default_rules;
}

static void format_number(uint32_t v, char buf[static 12])
{
        if (v == DEV_ANY)
                snprintf(buf, 12, "*");
        else
                snprintf(buf, 12, "%u", v);
}

void dev_rule_format(const struct dev_rule *r, char buf[static 40])
{
        char maj[12], min[12];

        format_number(r->major, maj);
        format_number(r->minor, min);
        snprintf(buf, 40, "%c %s:%s %s%s%s", r->type, maj, min, r->access & DEV_ACC_READ ? "r" : "",
                 r->access & DEV_ACC_WRITE ? "w" : "", r->access & DEV_ACC_MKNOD ? "m" : "");
}

/* ---- what every guest's /dev has ---- */

const struct dev_std_node dev_std_nodes[6] = {
        { "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
        { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};
const struct dev_std_link dev_std_links[5] = {
        { "ptmx", "pts/ptmx" },          { "fd", "/proc/self/fd" },
        { "stdin", "/proc/self/fd/0" },  { "stdout", "/proc/self/fd/1" },
        { "stderr", "/proc/self/fd/2" },
};

/* Is the first len bytes of target exactly name? */
static bool first_is(const char *target, size_t len, const char *name)
{
        return strlen(name) == len && strncmp(target, name, len) == 0;
}

bool dev_target_reserved(const char *target)
{
        static const char *const others[] = { "console", "pts", "shm", "mqueue" };
        size_t len = strcspn(target, "/"); /* what is below a reserved name is too */
        char tty[16];

        for (size_t i = 0; i < ELEMENTSOF(dev_std_nodes); i++)
                if (first_is(target, len, dev_std_nodes[i].name))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(dev_std_links); i++)
                if (first_is(target, len, dev_std_links[i].name))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(others); i++)
                if (first_is(target, len, others[i]))
                        return true;
        for (int t = 1; t <= LODGE_TTYS; t++) {
                snprintf(tty, sizeof(tty), "tty%d", t);
                if (first_is(target, len, tty))
                        return true;
        }
        return false;
}

/* ---- host devices passed in ---- */

void dev_node_done(struct dev_node *n)
{
        free(n->path);
        free(n->target);
        *n = (struct dev_node){ 0 };
}

int dev_node_parse(const char *value, struct dev_node *ret, struct lodge_error **err)
{
        cleanup_free char *copy = strdup(value);
        const char *target;
        char *path, *save = NULL;
        struct dev_node n = { 0 };
        struct stat st;

        if (!copy)
                return lodge_error_set(err, ENOMEM, "device '%s'", value);
        path = strtok_r(copy, " ", &save);
        if (!path)
                return lodge_error_set(err, EINVAL, "'%s' is not PATH [TARGET]", value);
        target = strtok_r(NULL, " ", &save);
        if (!target)
                target = path;
        if (strncmp(target, "/dev/", 5) != 0 || target[5] == '\0' || strstr(target, "/../") ||
            strcmp(target + strlen(target) - 3, "/..") == 0)
                return lodge_error_set(err, EINVAL, "'%s' is not a path below /dev/", target);
        if (stat(path, &st) < 0)
                return lodge_error_set(err, errno, "'%s'", path);
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                return lodge_error_set(err, EINVAL, "'%s' is not a character or block device",
                                       path);
        n.path = strdup(path);
        n.target = strdup(target + 5);
        if (!n.path || !n.target) {
                dev_node_done(&n);
                return lodge_error_set(err, ENOMEM, "device '%s'", value);
        }
        n.mode = st.st_mode & (S_IFMT | 07777);
        n.rdev = st.st_rdev;
        *ret = n;
        return 0;
}

struct dev_rule dev_node_rule(const struct dev_node *n)
{
        return (struct dev_rule){ S_ISBLK(n->mode) ? 'b' : 'c', major(n->rdev), minor(n->rdev),
                                  DEV_ACC_ALL };
}

int dev_node_make(int devfd, const struct dev_node *n, struct lodge_error **err)
{
        cleanup_free char *parent = strdup(n->target);
        cleanup_close int pfd = -EBADF;
        char *slash = parent ? strrchr(parent, '/') : NULL;
        const char *leaf = slash ? slash + 1 : n->target;

        if (!parent)
                return lodge_error_set(err, ENOMEM, "create /dev/%s", n->target);
        if (slash) {
                *slash = '\0';
                pfd = mkdir_p_at(devfd, parent, 0755);
        } else {
                pfd = fcntl(devfd, F_DUPFD_CLOEXEC, 3);
                if (pfd < 0)
                        pfd = -errno;
        }
        if (pfd < 0)
                return lodge_error_set(err, -pfd, "create /dev/%s", parent);
        if (unlinkat(pfd, leaf, 0) < 0 && errno != ENOENT)
                return lodge_error_set(err, errno, "replace /dev/%s", n->target);
        if (mknodat(pfd, leaf, n->mode, n->rdev) < 0)
                return lodge_error_set(err, errno, "create /dev/%s", n->target);
        /* mknod is subject to the umask; the node is ours, just made: no symlink */
        if (fchmodat(pfd, leaf, n->mode & 07777, 0) < 0)
                return lodge_error_set(err, errno, "chmod /dev/%s", n->target);
        return 0;
}

/* ---- cgroup2: a device program ---- */

/* Registers: the context in r1 is read into r2 (type), r3 (access), r4
 * (major), r5 (minor); r1 is scratch after that; r0 is the verdict. */
enum { R0, R1, R2, R3, R4, R5 };

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
        return (struct bpf_insn){
                .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
        };
}

#define LDX_W(dst, off) insn(BPF_LDX | BPF_MEM | BPF_W, (dst), R1, (off), 0)
#define MOV64_REG(dst, src) insn(BPF_ALU64 | BPF_MOV | BPF_X, (dst), (src), 0, 0)
#define MOV64_IMM(dst, imm) insn(BPF_ALU64 | BPF_MOV | BPF_K, (dst), 0, 0, (imm))
#define ALU32_IMM(op, dst, imm) insn(BPF_ALU | (op) | BPF_K, (dst), 0, 0, (imm))
#define JNE_IMM(dst, imm, off) insn(BPF_JMP | BPF_JNE | BPF_K, (dst), 0, (off), (imm))
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* One rule: each test that fails jumps past the block's "allow". */
static size_t emit_rule(const struct dev_rule *r, struct bpf_insn *out)
{
        struct bpf_insn tests[8];
        size_t nt = 0, n = 0;

        if (r->type != 'a')
                tests[nt++] =
                        JNE_IMM(R2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
        if ((r->access & DEV_ACC_ALL) != DEV_ACC_ALL) {
                /* asked-for access outside the rule's: (access & ~allowed) != 0 */
                tests[nt++] = MOV64_REG(R1, R3);
                tests[nt++] = ALU32_IMM(BPF_AND, R1, (int32_t)~r->access);
                tests[nt++] = JNE_IMM(R1, 0, 0);
        }
        if (r->major != DEV_ANY)
                tests[nt++] = JNE_IMM(R4, (int32_t)r->major, 0);
        if (r->minor != DEV_ANY)
                tests[nt++] = JNE_IMM(R5, (int32_t)r->minor, 0);
        for (size_t i = 0; i < nt; i++) {
                out[n] = tests[i];
                if (tests[i].code == (BPF_JMP | BPF_JNE | BPF_K))
                        out[n].off = (int16_t)(nt - i - 1 + 2); /* the rest, then allow + exit */
                n++;
        }
        out[n++] = MOV64_IMM(R0, 1);
        out[n++] = EXIT();
        return n;
}

int dev_bpf_build(const struct dev_rule *rules, size_t n, void **ret, size_t *ret_n)
{
        /* prologue 6, at most 8 per rule (6 tests, allow, exit), deny 2 */
        cleanup_free struct bpf_insn *p = calloc(6 + 8 * n + 2, sizeof(*p));
        size_t len = 0;

        if (!p)
                return -ENOMEM;
        p[len++] = LDX_W(R2, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        p[len++] = MOV64_REG(R3, R2);
        p[len++] = ALU32_IMM(BPF_AND, R2, 0xffff); /* type */
        p[len++] = ALU32_IMM(BPF_RSH, R3, 16);     /* access */
        p[len++] = LDX_W(R4, offsetof(struct bpf_cgroup_dev_ctx, major));
        p[len++] = LDX_W(R5, offsetof(struct bpf_cgroup_dev_ctx, minor));
        for (size_t i = 0; i < n; i++)
                len += emit_rule(&rules[i], p + len);
        p[len++] = MOV64_IMM(R0, 0);
        p[len++] = EXIT();
        *ret_n = len;
        *ret = TAKE_PTR(p);
        return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
        long r = syscall(SYS_bpf, cmd, attr, sizeof(*attr));

        return r < 0 ? -errno : (int)r;
}

/* The verifier's last words, for the error message. */
static const char *log_tail(char *log)
{
        size_t len = strlen(log);
        char *nl;

        while (len && log[len - 1] == '\n')
                log[--len] = '\0';
        nl = strrchr(log, '\n');
        return nl ? nl + 1 : log;
}

static int prog_load(const struct dev_rule *rules, size_t n, struct lodge_error **err)
{
        cleanup_free void *insns = NULL;
        cleanup_free char *log = NULL;
        union bpf_attr a;
        size_t len;
        int fd;

        if (dev_bpf_build(rules, n, &insns, &len) < 0)
                return lodge_error_set(err, ENOMEM, "build the device program");
        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        a.insns = (uint64_t)(uintptr_t)insns;
        a.insn_cnt = (uint32_t)len;
        a.license = (uint64_t)(uintptr_t) "GPL";
        fd = sys_bpf(BPF_PROG_LOAD, &a);
        if (fd >= 0)
                return fd;
        if (fd == -EINVAL || fd == -EACCES) {
                /* Again with the verifier's log, to say why. */
                log = calloc(1, 4096);
                if (log) {
                        a.log_level = 1;
                        a.log_buf = (uint64_t)(uintptr_t)log;
                        a.log_size = 4096;
                        fd = sys_bpf(BPF_PROG_LOAD, &a);
                        if (fd >= 0)
                                return fd;
                        return lodge_error_set(err, -fd, "load the device program: %s",
                                               log_tail(log));
                }
        }
        return lodge_error_set(err, -fd, "load the device program");
}

/* The ids of the device programs attached to the cgroup itself: a count or -errno. */
static int prog_query(int cgroup_fd, uint32_t *ids, uint32_t max)
{
        union bpf_attr a;
        int r;

        memset(&a, 0, sizeof(a));
        a.query.target_fd = (uint32_t)cgroup_fd;
        a.query.attach_type = BPF_CGROUP_DEVICE;
        a.query.prog_ids = (uint64_t)(uintptr_t)ids;
        a.query.prog_cnt = max;
        r = sys_bpf(BPF_PROG_QUERY, &a);
        return r < 0 ? r : (int)a.query.prog_cnt;
}

static int prog_detach(int cgroup_fd, uint32_t id, struct lodge_error **err)
{
        cleanup_close int fd = -EBADF;
        union bpf_attr a;
        int r;

        memset(&a, 0, sizeof(a));
        a.prog_id = id;
        fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
        if (fd == -ENOENT)
                return 0; /* gone already */
        if (fd < 0)
                return lodge_error_set(err, -fd, "open device program %u", id);
        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t)cgroup_fd;
        a.attach_bpf_fd = (uint32_t)fd;
        a.attach_type = BPF_CGROUP_DEVICE;
        r = sys_bpf(BPF_PROG_DETACH, &a);
        if (r < 0 && r != -ENOENT)
                return lodge_error_set(err, -r, "detach device program %u", id);
        return 0;
}

int dev_bpf_attach(int cgroup_fd, const struct dev_rule *rules, size_t n, struct lodge_error **err)
{
        cleanup_close int prog = -EBADF;
        uint32_t old[64];
        union bpf_attr a;
        int n_old, r;

        n_old = prog_query(cgroup_fd, old, ELEMENTSOF(old));
        if (n_old == -EINVAL || n_old == -ENOSYS) /* no CONFIG_CGROUP_BPF (or < 4.15) */
                return lodge_error_set(err, EOPNOTSUPP,
                                       "this kernel can't confine devices on cgroup2 (no cgroup "
                                       "BPF)");
        if (n_old < 0)
                return lodge_error_set(err, -n_old, "list the cgroup's device programs");
        prog = prog_load(rules, n, err);
        if (prog < 0)
                return prog;
        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t)cgroup_fd;
        a.attach_bpf_fd = (uint32_t)prog;
        a.attach_type = BPF_CGROUP_DEVICE;
        a.attach_flags = BPF_F_ALLOW_MULTI;
        r = sys_bpf(BPF_PROG_ATTACH, &a);
        if (r < 0)
                return lodge_error_set(err, -r, "attach the device program");
        /* Until the old ones go, both hold: access is what all of them allow. */
        for (int i = 0; i < n_old; i++) {
                r = prog_detach(cgroup_fd, old[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}
