/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/strv.h"
#include "core/dev.h"

/* ---- the host's hierarchies ---- */

void cg_host_done(struct cg_host *h)
{
        for (size_t i = 0; i < h->n; i++) {
                free(h->h[i].mount);
                free(h->h[i].controllers);
        }
        *h = (struct cg_host){ .v2 = -1 };
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(const char *s)
{
        char *r = malloc(strlen(s) + 1), *w = r;

        if (!r)
                return NULL;
        while (*s) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
                        s += 4;
                } else {
                        *w++ = *s++;
                }
        }
        *w = '\0';
        return r;
}

/* The controllers of a v1 mount from its super options: "rw,cpu,cpuacct". */
static char *v1_controllers(const char *opts)
{
        cleanup_free char *copy = strdup(opts);
        char *out, *save = NULL;
        size_t len = 0;

        if (!copy)
                return NULL;
        out = calloc(1, strlen(opts) + 1);
        if (!out)
                /* cppcheck-suppress memleak ; freed by its cleanup attribute */
                return NULL;
        for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                if (strcmp(o, "rw") == 0 || strcmp(o, "ro") == 0 ||
                    strncmp(o, "release_agent=", 14) == 0 || strcmp(o, "clone_children") == 0 ||
                    strcmp(o, "noprefix") == 0 || strcmp(o, "xattr") == 0 ||
                    strcmp(o, "cpuset_v2_mode") == 0)
                        continue;
                if (len)
                        out[len++] = ',';
                strcpy(out + len, o);
                len += strlen(o);
        }
        return out;
}

int cg_host_parse(const char *mountinfo, struct cg_host *ret, struct lodge_error **err)
{
        cleanup_free char *copy = strdup(mountinfo);
        struct cg_host h = { .v2 = -1 };
        char *save = NULL;

        if (!copy)
                return lodge_error_set(err, ENOMEM, "parse mountinfo");
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *fields[6] = { 0 }, *sep, *fstype, *super, *lsave = NULL;
                cleanup_free char *mount = NULL, *ctrl = NULL;
                size_t nf = 0;
                bool v2, dup = false;

                sep = strstr(line, " - ");
                if (!sep)
                        continue;
                *sep = '\0';
                for (char *f = strtok_r(line, " ", &lsave); f && nf < 6;
                     f = strtok_r(NULL, " ", &lsave))
                        fields[nf++] = f;
                fstype = strtok_r(sep + 3, " ", &lsave);
                (void)strtok_r(NULL, " ", &lsave); /* source */
                super = strtok_r(NULL, " ", &lsave);
                if (nf < 5 || !fstype || !super)
                        continue;
                v2 = strcmp(fstype, "cgroup2") == 0;
                if (!v2 && strcmp(fstype, "cgroup") != 0)
                        continue;

                mount = unescape(fields[4]);
                ctrl = v2 ? strdup("") : v1_controllers(super);
                if (!mount || !ctrl) {
                        cg_host_done(&h);
                        return lodge_error_set(err, ENOMEM, "parse mountinfo");
                }
                for (size_t i = 0; i < h.n; i++)
                        if (h.h[i].v2 == v2 && strcmp(h.h[i].controllers, ctrl) == 0)
                                dup = true;
                if (dup || h.n >= CG_MAX_HIER)
                        continue;
                if (v2)
                        h.v2 = (int)h.n;
                h.h[h.n++] = (struct cg_hier){ TAKE_PTR(mount), TAKE_PTR(ctrl), v2 };
        }
        *ret = h;
        return 0;
}

int cg_host_detect(struct cg_host *ret, struct lodge_error **err)
{
        cleanup_free char *text = NULL;
        int r;

        r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 4 << 20, &text, NULL, err);
        if (r < 0)
                return r;
        r = cg_host_parse(text, ret, err);
        if (r < 0)
                return r;
        if (ret->n == 0)
                return lodge_error_set(err, ENOENT, "no cgroup filesystem is mounted");
        return 0;
}

/* mountinfo's escaping of a path: space, tab, newline and backslash as \ooo. */
static int escape_to(FILE *f, const char *s)
{
        for (; *s; s++) {
                if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\') {
                        if (fprintf(f, "\\%03o", (unsigned char)*s) < 0)
                                return -EIO;
                } else if (fputc(*s, f) == EOF) {
                        return -EIO;
                }
        }
        return 0;
}

int cg_host_format(const struct cg_host *h, char **ret)
{
        cleanup_free char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        int r = 0;

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < h->n; i++) {
                const struct cg_hier *c = &h->h[i];

                if (fputs("0 0 0:0 / ", f) == EOF)
                        r = -EIO;
                if (r >= 0)
                        r = escape_to(f, c->mount);
                if (r >= 0 && fprintf(f, " rw - %s %s rw%s%s\n", c->v2 ? "cgroup2" : "cgroup",
                                      c->v2 ? "cgroup2" : "cgroup", c->v2 ? "" : ",",
                                      c->v2 ? "" : c->controllers) < 0)
                        r = -EIO;
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}

int cg_host_load_at(int dirfd, const char *name, struct cg_host *ret, struct lodge_error **err)
{
        cleanup_free char *text = NULL;
        struct cg_host h = { .v2 = -1 };
        int r;

        r = read_file_at(dirfd, name, 64 * 1024, &text, NULL, NULL);
        if (r < 0)
                return r == -ENOENT ? lodge_error_set(err, ENOENT, "no saved cgroup layout")
                                    : lodge_error_set(err, -r, "read '%s'", name);
        r = cg_host_parse(text, &h, err);
        if (r < 0)
                return r;
        if (h.n == 0) {
                cg_host_done(&h);
                return lodge_error_set(err, ENOENT, "no saved cgroup layout");
        }
        *ret = h;
        return 0;
}

static bool list_has(const char *list, const char *item, const char *seps)
{
        size_t n = strlen(item);

        for (const char *p = list; *p;) {
                size_t len = strcspn(p, seps);

                if (len == n && strncmp(p, item, n) == 0)
                        return true;
                p += len;
                p += strspn(p, seps);
        }
        return false;
}

int cg_host_find(const struct cg_host *h, const char *controller)
{
        for (size_t i = 0; i < h->n; i++)
                if (!h->h[i].v2 && list_has(h->h[i].controllers, controller, ","))
                        return (int)i;
        if (h->v2 >= 0) {
                cleanup_free char *path = NULL, *text = NULL;

                if (asprintf(&path, "%s/cgroup.controllers", h->h[h->v2].mount) < 0)
                        return -1;
                if (read_file_at(AT_FDCWD, path, 4096, &text, NULL, NULL) >= 0 &&
                    list_has(text, controller, " \n"))
                        return h->v2;
        }
        return -1;
}

/* ---- one guest's cgroups ---- */

int cg_guest_init(struct cg_guest *g, const struct cg_host *host, const char *tag, const char *name,
                  struct lodge_error **err)
{
        int r;

        *g = (struct cg_guest){ .host = host };
        if (tag && *tag)
                r = asprintf(&g->base, "lodge-%s/%s", tag, name);
        else
                r = asprintf(&g->base, "lodge/%s", name);
        if (r < 0) {
                g->base = NULL;
                return lodge_error_set(err, ENOMEM, "name cgroup");
        }
        return 0;
}

void cg_guest_done(struct cg_guest *g)
{
        free(g->base);
        g->base = NULL;
}

/* "<mount>/<base>[/<sub>][/<file>]" */
static char *cg_path(const struct cg_guest *g, size_t i, const char *sub, const char *file)
{
        char *p = NULL;

        if (asprintf(&p, "%s/%s%s%s%s%s", g->host->h[i].mount, g->base, sub ? "/" : "",
                     sub ? sub : "", file ? "/" : "", file ? file : "") < 0)
                return NULL;
        return p;
}

static int write_str(const char *path, const char *value)
{
        cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t n = strlen(value);

        if (fd < 0)
                return -errno;
        return write_all(fd, value, n);
}

static int read_str(const char *path, char **ret)
{
        return read_file_at(AT_FDCWD, path, 64 * 1024, ret, NULL, NULL);
}

/* v1 cpuset: a new cgroup starts with no cpus or mems and can't take tasks;
 * copy the parent's. */
static int cpuset_inherit(const char *dir)
{
        static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };

        for (size_t k = 0; k < ELEMENTSOF(files); k++) {
                cleanup_free char *mine = NULL, *parent = NULL, *cur = NULL, *val = NULL;
                int r;

                if (asprintf(&mine, "%s/%s", dir, files[k]) < 0 ||
                    asprintf(&parent, "%s/../%s", dir, files[k]) < 0)
                        return -ENOMEM;
                r = read_str(mine, &cur);
                if (r < 0)
                        return r;
                if (strspn(cur, " \n") != strlen(cur))
                        continue; /* already set */
                r = read_str(parent, &val);
                if (r < 0)
                        return r;
                r = write_str(mine, val);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* On cgroup2, a child gets only the controllers its parent enables. */
static void enable_controllers_for(const char *dir)
{
        cleanup_free char *parent = strdup(dir), *ctl = NULL, *avail = NULL;
        char *slash, *save = NULL;

        if (!parent || !(slash = strrchr(parent, '/')))
                return;
        *slash = '\0';
        if (asprintf(&ctl, "%s/cgroup.controllers", parent) < 0 || read_str(ctl, &avail) < 0)
                return;
        free(ctl);
        if (asprintf(&ctl, "%s/cgroup.subtree_control", parent) < 0) {
                ctl = NULL;
                return;
        }
        for (char *w = strtok_r(avail, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
                char op[64];

                snprintf(op, sizeof(op), "+%s", w);
                (void)write_str(ctl, op); /* some can't be enabled here (threaded, rt) */
        }
}

static int create_level(const struct cg_hier *h, const char *dir, struct lodge_error **err)
{
        int r;

        if (h->v2)
                enable_controllers_for(dir);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return lodge_error_set(err, errno, "create cgroup '%s'", dir);
        if (!h->v2 && list_has(h->controllers, "cpuset", ",")) {
                r = cpuset_inherit(dir);
                if (r < 0)
                        return lodge_error_set(err, -r, "set up the cpuset of '%s'", dir);
        }
        return 0;
}

/* mkdir -p of <mount>/<base>/guest (with_guest) or <mount>/<base>, level by level. */
static int create_in(const struct cg_guest *g, size_t i, bool with_guest, struct lodge_error **err)
{
        const struct cg_hier *h = &g->host->h[i];
        cleanup_free char *full = NULL;
        int r;

        if (asprintf(&full, "%s/%s%s", h->mount, g->base, with_guest ? "/guest" : "") < 0)
                return lodge_error_set(err, ENOMEM, "create cgroup");
        for (char *p = full + strlen(h->mount) + 1;; p++) {
                char saved = *p;

                if (saved != '/' && saved != '\0')
                        continue;
                *p = '\0';
                r = create_level(h, full, err);
                *p = saved;
                if (r < 0)
                        return r;
                if (saved == '\0')
                        return 0;
        }
}

/* Remove dir and every cgroup below it, deepest first: 1 when it was there. */
static int rmdir_tree(const char *dir)
{
        cleanup_closedir DIR *d = opendir(dir);
        struct dirent *de;
        int r;

        if (!d)
                return errno == ENOENT ? 0 : -errno; /* 0: there was none */
        while ((de = readdir(d))) {
                cleanup_free char *sub = NULL;

                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                if (asprintf(&sub, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                r = rmdir_tree(sub);
                if (r < 0)
                        return r;
        }
        if (rmdir(dir) < 0 && errno != ENOENT)
                return -errno;
        return 1;
}

/* The shared "lodge" parent goes with its last guest, except where it is a
 * cpuset: the kernel patches its code on every CPU (a static key) when the
 * first cpuset below a hierarchy's root is made and when the last one goes,
 * which took 3-5 ms of each start and each stop here. So it stays, empty,
 * in v1's cpuset hierarchy and in a cgroup2 one that offers cpuset. */
static bool keeps_parent(const struct cg_hier *h)
{
        cleanup_free char *path = NULL, *ctl = NULL;

        if (!h->v2)
                return list_has(h->controllers, "cpuset", ",");
        if (asprintf(&path, "%s/cgroup.controllers", h->mount) < 0 || read_str(path, &ctl) < 0)
                return false;
        return list_has(ctl, "cpuset", " \n");
}

static int remove_all(const struct cg_guest *g, struct lodge_error **err)
{
        for (size_t i = 0; i < g->host->n; i++) {
                cleanup_free char *dir = cg_path(g, i, NULL, NULL);
                int r;

                if (!dir)
                        return lodge_error_set(err, ENOMEM, "remove cgroup");
                r = rmdir_tree(dir);
                if (r < 0)
                        return lodge_error_set(err, -r, "remove cgroup '%s'", dir);
                /* None there (a start's check): nor a parent to remove. */
                if (r == 0 || keeps_parent(&g->host->h[i]))
                        continue;
                *strrchr(dir, '/') = '\0';
                (void)rmdir(dir);
        }
        return 0;
}

void cg_guest_remove_parent(const struct cg_guest *g)
{
        for (size_t i = 0; i < g->host->n; i++) {
                cleanup_free char *dir = cg_path(g, i, NULL, NULL);

                if (!dir)
                        continue;
                *strrchr(dir, '/') = '\0';
                (void)rmdir(dir); /* only when empty */
        }
}

/* ---- devices: what the guest may open ---- */

/* One rule per write, as the kernel takes them. On cgroupfs the file exists
 * and every write is one command, so O_CREAT|O_APPEND change nothing there;
 * in a unit test's fake tree they keep the whole sequence to read back. */
static int devices_write(const char *dir, const char *file, const char *rule,
                         struct lodge_error **err)
{
        cleanup_free char *path = NULL;
        cleanup_close int fd = -EBADF;
        int r;

        if (asprintf(&path, "%s/%s", dir, file) < 0)
                return lodge_error_set(err, ENOMEM, "write '%s'", rule);
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return lodge_error_set(err, errno, "open '%s'", path);
        r = write_all(fd, rule, strlen(rule));
        if (r < 0)
                return lodge_error_set(err, -r, "write '%s' to '%s'", rule, path);
        return 0;
}

static int devices_v1_allow(const char *dir, const struct dev_rule *rules, size_t n,
                            struct lodge_error **err)
{
        cleanup_free char *path = NULL;
        cleanup_close int fd = -EBADF;

        if (n == 0)
                return 0;
        if (asprintf(&path, "%s/devices.allow", dir) < 0)
                return lodge_error_set(err, ENOMEM, "allow devices");
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return lodge_error_set(err, errno, "open '%s'", path);
        /* Still one rule per write(), as the kernel takes them; one open for all. */
        for (size_t k = 0; k < n; k++) {
                char rule[40], line[48];
                int r;

                dev_rule_format(&rules[k], rule);
                snprintf(line, sizeof(line), "%s\n", rule);
                r = write_all(fd, line, strlen(line));
                if (r < 0)
                        return lodge_error_set(err, -r, "write '%s' to '%s'", rule, path);
        }
        return 0;
}

/* base in the v1 devices hierarchy i, before base/guest exists: deny all,
 * then the default list. The guest can't reach base (its cgroup namespace
 * starts below), and the kernel checks what base/guest allows against it. */
static int devices_v1_init(const struct cg_guest *g, size_t i, struct lodge_error **err)
{
        cleanup_free char *dir = cg_path(g, i, NULL, NULL);
        const struct dev_rule *rules;
        size_t n;
        int r;

        if (!dir)
                return lodge_error_set(err, ENOMEM, "set up the device cgroup");
        rules = dev_default_rules(&n);
        r = devices_write(dir, "devices.deny", "a\n", err);
        if (r >= 0)
                r = devices_v1_allow(dir, rules, n, err);
        return r;
}

/* cgroup2: one program on base allowing the default list and extra. */
static int devices_v2_apply(const struct cg_guest *g, const struct dev_rule *extra, size_t n_extra,
                            struct lodge_error **err)
{
        cleanup_free struct dev_rule *rules = NULL;
        cleanup_free char *dir = NULL;
        cleanup_close int fd = -EBADF;
        const struct dev_rule *def;
        size_t n_def;

        def = dev_default_rules(&n_def);
        rules = calloc(n_def + n_extra, sizeof(*rules));
        dir = cg_path(g, (size_t)g->host->v2, NULL, NULL);
        if (!rules || !dir)
                return lodge_error_set(err, ENOMEM, "set up the device cgroup");
        memcpy(rules, def, n_def * sizeof(*rules));
        if (n_extra)
                memcpy(rules + n_def, extra, n_extra * sizeof(*rules));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                /* cppcheck-suppress memleak ; freed by its cleanup attribute */
                return lodge_error_set(err, errno, "open cgroup '%s'", dir);
        return dev_bpf_attach(fd, rules, n_def + n_extra, err);
}

/* device.N: each host node, allowed on top of the default list. */
static int devices_apply_extra(const struct cg_guest *g, char *const *devices, size_t max,
                               struct lodge_error **err)
{
        cleanup_free struct dev_rule *extra = calloc(max, sizeof(*extra));
        int dev = cg_host_find(g->host, "devices");
        size_t n = 0;

        if (!extra)
                return lodge_error_set(err, ENOMEM, "set up the device cgroup");
        for (size_t k = 0; k < max; k++) {
                struct dev_node node = { 0 };
                int r;

                if (!devices[k])
                        continue;
                r = dev_node_parse(devices[k], &node, err);
                if (r < 0)
                        return lodge_error_prefix(err, r, "device.%zu", k);
                extra[n++] = dev_node_rule(&node);
                dev_node_done(&node);
        }
        if (n == 0)
                return 0;
        if (dev >= 0) {
                /* v1: base/guest copied base's list when it was made; both get them */
                cleanup_free char *base = cg_path(g, (size_t)dev, NULL, NULL);
                cleanup_free char *guest = cg_path(g, (size_t)dev, "guest", NULL);
                int r;

                if (!base || !guest)
                        return lodge_error_set(err, ENOMEM, "set up the device cgroup");
                r = devices_v1_allow(base, extra, n, err);
                if (r >= 0)
                        r = devices_v1_allow(guest, extra, n, err);
                return r;
        }
        return devices_v2_apply(g, extra, n, err);
}

int cg_guest_create_v2(const struct cg_guest *g, struct lodge_error **err)
{
        int dev = cg_host_find(g->host, "devices"), r;

        /* A crashed run's cgroups: reuse nothing of them, they may hold old limits. */
        if (cg_guest_populated(g))
                return lodge_error_set(err, EBUSY, "cgroup '%s' still has processes in it",
                                       g->base);
        if (dev < 0 && g->host->v2 < 0)
                return lodge_error_set(err, EOPNOTSUPP,
                                       "this host's cgroups can't confine devices (no devices "
                                       "controller, no cgroup2)");
        r = remove_all(g, err);
        if (r < 0 || g->host->v2 < 0)
                return r;
        r = create_in(g, (size_t)g->host->v2, true, err);
        if (r >= 0 && dev < 0)
                r = devices_v2_apply(g, NULL, 0, err);
        if (r < 0)
                (void)remove_all(g, NULL);
        return r;
}

int cg_guest_create_v1(const struct cg_guest *g, struct lodge_error **err)
{
        int dev = cg_host_find(g->host, "devices"), r = 0;

        for (size_t i = 0; r >= 0 && i < g->host->n; i++) {
                if (g->host->h[i].v2)
                        continue;
                if ((int)i != dev) {
                        r = create_in(g, i, true, err);
                        continue;
                }
                /* v1 lets a cgroup deny all only while it has no children, and a child
                 * copies its parent's list when made: base first, then base/guest. */
                r = create_in(g, i, false, err);
                if (r >= 0)
                        r = devices_v1_init(g, i, err);
                if (r >= 0)
                        r = create_in(g, i, true, err);
        }
        if (r < 0)
                (void)remove_all(g, NULL);
        return r;
}

int cg_guest_create(const struct cg_guest *g, struct lodge_error **err)
{
        int r = cg_guest_create_v2(g, err);

        return r < 0 ? r : cg_guest_create_v1(g, err);
}

int cg_guest_delegate(const struct cg_guest *g, uid_t uid, gid_t gid, struct lodge_error **err)
{
        /* cgroup2's delegation files (Documentation/admin-guide/cgroup-v2.rst),
         * and v1's: the directory, and moving processes within it. */
        static const char *const v2_files[] = { ".", "cgroup.procs", "cgroup.threads",
                                                "cgroup.subtree_control" };
        static const char *const v1_files[] = { ".", "cgroup.procs", "tasks" };

        for (size_t i = 0; i < g->host->n; i++) {
                bool v2 = g->host->h[i].v2;
                const char *const *files = v2 ? v2_files : v1_files;
                size_t n = v2 ? ELEMENTSOF(v2_files) : ELEMENTSOF(v1_files);
                cleanup_free char *dir = cg_path(g, i, "guest", NULL);
                cleanup_close int fd = -EBADF;

                if (!dir)
                        return lodge_error_set(err, ENOMEM, "delegate cgroup");
                fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return lodge_error_set(err, errno, "delegate cgroup '%s'", dir);
                for (size_t k = 0; k < n; k++)
                        if (fchownat(fd, k ? files[k] : "", uid, gid,
                                     k ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH) < 0)
                                return lodge_error_set(err, errno, "delegate cgroup '%s/%s'", dir,
                                                       files[k]);
        }
        return 0;
}

int cg_guest_v2_fd(const struct cg_guest *g)
{
        cleanup_free char *dir = NULL;
        int fd;

        if (g->host->v2 < 0)
                return -ENOENT;
        dir = cg_path(g, (size_t)g->host->v2, "guest", NULL);
        if (!dir)
                return -ENOMEM;
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int cg_guest_join_self(const struct cg_guest *g, unsigned which, struct lodge_error **err)
{
        for (size_t i = 0; i < g->host->n; i++) {
                bool v2 = g->host->h[i].v2;
                cleanup_free char *path = NULL;
                int r;

                if (!(which & (v2 ? CG_JOIN_V2 : CG_JOIN_V1)))
                        continue;
                path = cg_path(g, i, "guest", v2 ? "cgroup.procs" : "tasks");
                if (!path)
                        return lodge_error_set(err, ENOMEM, "join cgroup");
                r = write_str(path, "0");
                if (r < 0)
                        return lodge_error_set(err, -r, "join cgroup '%s'", path);
        }
        return 0;
}

int cg_guest_open_tasks(const struct cg_guest *g, size_t i, struct lodge_error **err)
{
        cleanup_free char *path = NULL;
        int fd;

        if (i >= g->host->n || g->host->h[i].v2)
                return lodge_error_set(err, EINVAL, "join cgroup: no such v1 hierarchy");
        path = cg_path(g, i, "guest", "tasks");
        if (!path)
                return lodge_error_set(err, ENOMEM, "join cgroup");
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return lodge_error_set(err, errno, "open '%s'", path);
        return fd;
}

int cg_join_by_fd(int tasks_fd, struct lodge_error **err)
{
        int r = write_all(tasks_fd, "0", 1);

        return r < 0 ? lodge_error_set(err, -r, "join cgroup") : 0;
}

/* Write value into file of base in the hierarchy holding controller. 1 when
 * written, 0 when the host has no such knob, < 0 on error. */
static int set_knob(const struct cg_guest *g, const char *controller, const char *file,
                    const char *value, struct lodge_error **err)
{
        cleanup_free char *path = NULL;
        int i = cg_host_find(g->host, controller), r;

        if (i < 0)
                return 0;
        path = cg_path(g, (size_t)i, NULL, file);
        if (!path)
                return lodge_error_set(err, ENOMEM, "set %s", file);
        if (access(path, F_OK) < 0)
                return 0;
        r = write_str(path, value);
        if (r < 0)
                return lodge_error_set(err, -r, "write '%s' to '%s'", value, path);
        return 1;
}

static bool is_v2(const struct cg_guest *g, const char *controller)
{
        int i = cg_host_find(g->host, controller);

        return i >= 0 && g->host->h[i].v2;
}

static int warn_missing(char ***warnings, int r, const char *key)
{
        char *w = NULL;

        if (r != 0 || !warnings)
                return r;
        if (asprintf(&w, "%s: this host's cgroups have no such control, not applied", key) < 0 ||
            strv_push(warnings, w) < 0) {
                free(w);
                return -ENOMEM;
        }
        return 0;
}

static int apply_memory(const struct cg_guest *g, const struct lodge_config_limits *l,
                        struct lodge_error **err)
{
        char v[32];
        int r;

        if (is_v2(g, "memory")) {
                snprintf(v, sizeof(v), "%" PRIu64, l->memory);
                r = set_knob(g, "memory", "memory.max", l->memory ? v : "max", err);
                if (r > 0 && l->has_memory_swap) {
                        snprintf(v, sizeof(v), "%" PRIu64, l->memory_swap);
                        r = set_knob(g, "memory", "memory.swap.max", v, err);
                }
                return r;
        }
        /* v1: -1 is unlimited; memsw (memory + swap) must stay >= the memory limit,
         * so lift it first and set it last. */
        (void)set_knob(g, "memory", "memory.memsw.limit_in_bytes", "-1", NULL);
        snprintf(v, sizeof(v), "%" PRIu64, l->memory);
        r = set_knob(g, "memory", "memory.limit_in_bytes", l->memory ? v : "-1", err);
        if (r > 0 && l->memory && l->has_memory_swap) {
                snprintf(v, sizeof(v), "%" PRIu64, l->memory + l->memory_swap);
                if (set_knob(g, "memory", "memory.memsw.limit_in_bytes", v, err) < 0)
                        return -(*err)->code;
        }
        return r;
}

static int apply_cpu(const struct cg_guest *g, const struct lodge_config_limits *l,
                     char ***warnings, struct lodge_error **err)
{
        char v[64];
        int r;

        if (is_v2(g, "cpu")) {
                if (l->cpu_millis)
                        snprintf(v, sizeof(v), "%u 100000", l->cpu_millis * 100);
                r = set_knob(g, "cpu", "cpu.max", l->cpu_millis ? v : "max 100000", err);
                if (r < 0 || (r = warn_missing(warnings, r, "limits.cpu")) < 0)
                        return r;
                snprintf(v, sizeof(v), "%u", l->cpu_weight ? l->cpu_weight : 100);
                r = set_knob(g, "cpu", "cpu.weight", v, err);
                return l->cpu_weight ? warn_missing(warnings, r, "limits.cpu.weight") : r;
        }
        r = set_knob(g, "cpu", "cpu.cfs_period_us", "100000", err);
        if (r > 0) {
                snprintf(v, sizeof(v), "%d", l->cpu_millis ? (int)l->cpu_millis * 100 : -1);
                r = set_knob(g, "cpu", "cpu.cfs_quota_us", v, err);
        }
        if (r < 0 || (l->cpu_millis && (r = warn_missing(warnings, r, "limits.cpu")) < 0))
                return r;
        /* systemd's mapping: weight 100 = 1024 shares */
        snprintf(v, sizeof(v), "%u", (l->cpu_weight ? l->cpu_weight : 100) * 1024 / 100);
        r = set_knob(g, "cpu", "cpu.shares", v, err);
        return l->cpu_weight ? warn_missing(warnings, r, "limits.cpu.weight") : r;
}

/* fresh: base was just made, so every knob has its default, which is what
 * an unset limit writes: those writes are skipped. */
static int apply_limits(const struct cg_guest *g, const struct lodge_config_limits *l, bool fresh,
                        char ***ret_warnings, struct lodge_error **err)
{
        char v[64];
        int r;

        r = devices_apply_extra(g, l->devices, ELEMENTSOF(l->devices), err);
        if (r < 0)
                return r;

        if (!fresh || l->memory || (l->has_memory_swap && is_v2(g, "memory"))) {
                r = apply_memory(g, l, err);
                if (r < 0)
                        return r;
                if (r == 0 && l->memory)
                        return lodge_error_set(err, EOPNOTSUPP,
                                               "limits.memory: this host has no memory controller");
        }

        if (!fresh || l->pids) {
                snprintf(v, sizeof(v), "%" PRIu64, l->pids);
                r = set_knob(g, "pids", "pids.max", l->pids ? v : "max", err);
                if (r < 0)
                        return r;
                if (r == 0 && l->pids)
                        return lodge_error_set(err, EOPNOTSUPP,
                                               "limits.pids: this host has no pids controller");
        }

        if (!fresh || l->cpu_millis || l->cpu_weight) {
                r = apply_cpu(g, l, ret_warnings, err);
                if (r < 0)
                        return r;
        }

        if (l->cpuset) {
                r = set_knob(g, "cpuset", "cpuset.cpus", l->cpuset, err);
                if (r < 0 || (r = warn_missing(ret_warnings, r, "limits.cpuset")) < 0)
                        return r;
        }

        if (l->io_weight) {
                if (is_v2(g, "io")) {
                        snprintf(v, sizeof(v), "default %u", l->io_weight);
                        r = set_knob(g, "io", "io.weight", v, err);
                } else {
                        unsigned w = l->io_weight * 5; /* 100 → 500, v1's default */

                        snprintf(v, sizeof(v), "%u", w < 10 ? 10 : w > 1000 ? 1000 : w);
                        r = set_knob(g, "blkio", "blkio.weight", v, err);
                        if (r == 0)
                                r = set_knob(g, "blkio", "blkio.bfq.weight", v, err);
                }
                if (r < 0 || (r = warn_missing(ret_warnings, r, "limits.io.weight")) < 0)
                        return r;
        }
        return 0;
}

int cg_guest_apply_limits(const struct cg_guest *g, const struct lodge_config_limits *l,
                          char ***ret_warnings, struct lodge_error **err)
{
        return apply_limits(g, l, false, ret_warnings, err);
}

int cg_guest_apply_new_limits(const struct cg_guest *g, const struct lodge_config_limits *l,
                              char ***ret_warnings, struct lodge_error **err)
{
        return apply_limits(g, l, true, ret_warnings, err);
}

int cg_guest_freeze(const struct cg_guest *g, bool frozen, struct lodge_error **err)
{
        int r;

        if (g->host->v2 >= 0 && cg_host_find(g->host, "freezer") < 0) {
                cleanup_free char *path = cg_path(g, (size_t)g->host->v2, NULL, "cgroup.freeze");

                if (!path)
                        return lodge_error_set(err, ENOMEM, "freeze");
                r = write_str(path, frozen ? "1" : "0");
                if (r < 0)
                        return lodge_error_set(err, -r, "write '%s'", path);
                return 0;
        }
        r = set_knob(g, "freezer", "freezer.state", frozen ? "FROZEN" : "THAWED", err);
        if (r == 0)
                return lodge_error_set(err, EOPNOTSUPP, "this host has no freezer");
        return r < 0 ? r : 0;
}

bool cg_guest_frozen(const struct cg_guest *g)
{
        cleanup_free char *path = NULL, *text = NULL;
        int i = cg_host_find(g->host, "freezer");

        if (i >= 0) {
                path = cg_path(g, (size_t)i, NULL, "freezer.state");
                return path && read_str(path, &text) >= 0 && strncmp(text, "THAWED", 6) != 0;
        }
        if (g->host->v2 < 0)
                return false;
        path = cg_path(g, (size_t)g->host->v2, NULL, "cgroup.freeze");
        return path && read_str(path, &text) >= 0 && text[0] == '1';
}

static uint64_t read_u64(const char *path, const char *key)
{
        cleanup_free char *text = NULL;
        const char *p;

        if (!path || read_str(path, &text) < 0)
                return 0;
        if (!key)
                return strtoull(text, NULL, 10);
        for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, key, strlen(key)) == 0 && p[strlen(key)] == ' ')
                        return strtoull(p + strlen(key) + 1, NULL, 10);
        return 0;
}

/* v1 counters aren't hierarchical: add up dir and every cgroup below it. */
static uint64_t sum_tree(const char *dir, const char *file, const char *key)
{
        cleanup_free char *path = NULL;
        cleanup_closedir DIR *d = NULL;
        struct dirent *de;
        uint64_t sum;

        if (asprintf(&path, "%s/%s", dir, file) < 0)
                return 0;
        sum = read_u64(path, key);
        d = opendir(dir);
        while (d && (de = readdir(d))) {
                cleanup_free char *sub = NULL;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (asprintf(&sub, "%s/%s", dir, de->d_name) >= 0)
                        sum += sum_tree(sub, file, key);
        }
        return sum;
}

static uint64_t stat_of(const struct cg_guest *g, const char *controller, const char *file,
                        const char *key)
{
        int i = cg_host_find(g->host, controller);
        cleanup_free char *path = i >= 0 ? cg_path(g, (size_t)i, NULL, file) : NULL;

        return read_u64(path, key);
}

int cg_guest_stats(const struct cg_guest *g, struct cg_stats *ret, struct lodge_error **err)
{
        struct cg_stats s = { 0 };

        if (is_v2(g, "memory")) {
                s.memory = stat_of(g, "memory", "memory.current", NULL);
                s.oom_kills = stat_of(g, "memory", "memory.events", "oom_kill");
        } else {
                int i = cg_host_find(g->host, "memory");
                cleanup_free char *dir = i >= 0 ? cg_path(g, (size_t)i, NULL, NULL) : NULL;

                s.memory = stat_of(g, "memory", "memory.usage_in_bytes", NULL);
                s.oom_kills = dir ? sum_tree(dir, "memory.oom_control", "oom_kill") : 0;
        }
        if (cg_host_find(g->host, "cpuacct") >= 0) {
                s.cpu_ns = stat_of(g, "cpuacct", "cpuacct.usage", NULL);
        } else if (g->host->v2 >= 0) {
                cleanup_free char *path = cg_path(g, (size_t)g->host->v2, NULL, "cpu.stat");

                s.cpu_ns = read_u64(path, "usage_usec") * 1000;
        }
        s.pids = stat_of(g, "pids", "pids.current", NULL);
        *ret = s;
        (void)err;
        return 0;
}

/* Call cb for every pid in dir's cgroup.procs and below; stops on cb < 0. */
static int foreach_pid(const char *dir, int (*cb)(pid_t pid))
{
        cleanup_free char *procs = NULL, *text = NULL;
        cleanup_closedir DIR *d = NULL;
        struct dirent *de;
        int r;

        if (asprintf(&procs, "%s/cgroup.procs", dir) < 0)
                return -ENOMEM;
        if (read_str(procs, &text) < 0)
                return 0; /* gone */
        for (char *p = text; *p;) {
                long pid = strtol(p, &p, 10);

                if (pid > 0 && (r = cb((pid_t)pid)) < 0)
                        return r;
                p += strspn(p, "\n");
                if (*p && (*p < '0' || *p > '9'))
                        break;
        }
        d = opendir(dir);
        while (d && (de = readdir(d))) {
                cleanup_free char *sub = NULL;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (asprintf(&sub, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                r = foreach_pid(sub, cb);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int found(pid_t pid)
{
        (void)pid;
        return -EEXIST;
}

static int kill_one(pid_t pid)
{
        (void)kill(pid, SIGKILL);
        return 0;
}

bool cg_guest_populated(const struct cg_guest *g)
{
        /* Every process is in every hierarchy: one of them tells. */
        cleanup_free char *dir = g->host->n ? cg_path(g, 0, NULL, NULL) : NULL;

        return dir && foreach_pid(dir, found) == -EEXIST;
}

int cg_guest_kill(const struct cg_guest *g, struct lodge_error **err)
{
        cleanup_free char *dir = g->host->n ? cg_path(g, 0, NULL, NULL) : NULL;

        if (!dir)
                return lodge_error_set(err, ENOMEM, "kill cgroup");
        if (g->host->v2 >= 0) {
                cleanup_free char *kill_file = cg_path(g, (size_t)g->host->v2, NULL, "cgroup.kill");

                if (kill_file && write_str(kill_file, "1") >= 0)
                        return 0;
        }
        /* Without cgroup.kill: repeat until no new process turns up (forks race us). */
        for (int round = 0; round < 100 && foreach_pid(dir, found) == -EEXIST; round++) {
                (void)foreach_pid(dir, kill_one);
                nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
        }
        return 0;
}

int cg_guest_destroy(const struct cg_guest *g, struct lodge_error **err)
{
        /* Exiting processes leave their cgroups a moment after they are reaped. */
        for (int i = 0; i < 200 && cg_guest_populated(g); i++)
                nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
        return remove_all(g, err);
}
