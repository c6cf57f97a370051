/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "debian" template: a Debian tree built with debootstrap (run through
 * the one spawn helper, in a private mount namespace so nothing it mounts
 * outlives it) into a cache of base trees keyed by the recipe (recipe-cache.c);
 * the guest is then unpacked from the cached tree by the safe extractor. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/interrupt.h"
#include "core/base/path.h"
#include "core/base/process.h"
#include "core/base/strv.h"
#include "templates/templates-internal.h"

#define DEFAULT_RELEASE "bookworm"
#define DEFAULT_MIRROR "http://deb.debian.org/debian"

/* What every guest gets on top of the variant: an init, and what lodge's
 * network fix-ups configure (ifupdown with a DHCP client) plus ip and ps. */
static const char *const base_packages[] = { "iproute2", "ifupdown", "isc-dhcp-client", "procps" };

struct debian_state {
        char *release;
        char *variant; /* "default": debootstrap's own */
        char *init;
        char *mirror;
        char *arch;
        char **packages; /* sorted, unique: init, base and --packages */
        char **apt;      /* sorted: what apt installs after debootstrap (--packages, openrc) */
        bool refresh;
        int tarfd; /* the recipe's cached tree, once found (-EBADF before) */
};

static void debian_free_state(void *state)
{
        struct debian_state *s = state;

        if (!s)
                return;
        free(s->release);
        free(s->variant);
        free(s->init);
        free(s->mirror);
        free(s->arch);
        strv_free(s->packages);
        strv_free(s->apt);
        if (s->tarfd >= 0)
                close(s->tarfd);
        free(s);
}

static void debian_state_freep(struct debian_state **s)
{
        debian_free_state(*s);
}

static bool all_of(const char *s, const char *set)
{
        return *s && strspn(s, set) == strlen(s);
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

/* Debian package names (policy 5.6.1): [a-z0-9][a-z0-9+.-]+. */
static bool package_name_is_valid(const char *p)
{
        return strlen(p) >= 2 && strchr(LOWER_DIGITS, p[0]) && all_of(p, LOWER_DIGITS "+.-");
}

static const char *dpkg_arch(void)
{
        static const struct {
                const char *uname, *dpkg;
        } map[] = {
                { "x86_64", "amd64" }, { "aarch64", "arm64" },   { "i686", "i386" },
                { "i386", "i386" },    { "armv7l", "armhf" },    { "ppc64le", "ppc64el" },
                { "s390x", "s390x" },  { "riscv64", "riscv64" },
        };
        struct utsname u;

        if (uname(&u) == 0)
                for (size_t i = 0; i < ELEMENTSOF(map); i++)
                        if (strcmp(u.machine, map[i].uname) == 0)
                                return map[i].dpkg;
        return "amd64";
}

/* "a<sep>b<sep>c", or NULL when out of memory. */
static char *join(char *const *l, const char *sep)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        STRV_FOREACH (p, l)
                fprintf(f, "%s%s", p == l ? "" : sep, *p);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_package(char ***list, const char *p, struct lodge_error **err)
{
        if (!package_name_is_valid(p))
                return lodge_error_set(err, EINVAL, "--packages: '%s' is not a package name", p);
        if (strv_contains(*list, p))
                return 0;
        if (strv_extend(list, p) < 0)
                return lodge_error_set(err, ENOMEM, "parse arguments");
        return 0;
}

static int add_package_list(struct debian_state *s, const char *list, struct lodge_error **err)
{
        cleanup_free char *copy = strdup(list);
        char *save = NULL;
        int r;

        if (!copy)
                return lodge_error_set(err, ENOMEM, "parse arguments");
        for (char *p = strtok_r(copy, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
                r = add_package(&s->apt, p, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Everything is checked here, before anything is written or run; a value
 * that reaches debootstrap's command line can't be taken for an option. */
static int check_state(struct debian_state *s, struct lodge_error **err)
{
        const char *init_pkg;

        if (!all_of(s->release, LOWER_DIGITS "-") || s->release[0] == '-')
                return lodge_error_set(err, EINVAL, "--release '%s' is not a release name",
                                       s->release);
        if (strcmp(s->variant, "minbase") != 0 && strcmp(s->variant, "buildd") != 0 &&
            strcmp(s->variant, "default") != 0)
                return lodge_error_set(err, EINVAL, "--variant '%s': minbase, buildd or default",
                                       s->variant);
        if (!all_of(s->arch, LOWER_DIGITS))
                return lodge_error_set(err, EINVAL, "--arch '%s' is not an architecture", s->arch);
        if (strncmp(s->mirror, "http://", 7) != 0 && strncmp(s->mirror, "https://", 8) != 0 &&
            strncmp(s->mirror, "file:///", 8) != 0)
                return lodge_error_set(err, EINVAL,
                                       "--mirror '%s': an http://, https:// or file:/// URL",
                                       s->mirror);
        if (strpbrk(s->mirror, " \t\n,'\"\\"))
                return lodge_error_set(err, EINVAL, "--mirror '%s': no blanks, quotes or commas",
                                       s->mirror);
        if (strcmp(s->init, "systemd") == 0)
                init_pkg = "systemd-sysv";
        else if (strcmp(s->init, "sysvinit") == 0 || strcmp(s->init, "openrc") == 0)
                init_pkg = "sysvinit-core"; /* openrc: see below */
        else
                return lodge_error_set(err, EINVAL, "--init '%s': systemd, sysvinit or openrc",
                                       s->init);
        /* debootstrap installs the base and the init; --packages go to apt after it, which
         * resolves dependencies, alternatives and conflicts as debootstrap can't (cloud-init's
         * failed in debootstrap). openrc conflicts with sysv-rc, which sysvinit-core pulls in:
         * apt replaces one with the other. */
        for (size_t i = 0; i < ELEMENTSOF(base_packages); i++)
                if (add_package(&s->packages, base_packages[i], err) < 0)
                        return -EINVAL;
        if (add_package(&s->packages, init_pkg, err) < 0)
                return -EINVAL;
        if (strcmp(s->init, "openrc") == 0 && add_package(&s->apt, "openrc", err) < 0)
                return -EINVAL;
        for (size_t i = strv_length(s->apt); i > 0; i--) /* already in the base: not apt's */
                if (strv_contains(s->packages, s->apt[i - 1])) {
                        free(s->apt[i - 1]);
                        memmove(s->apt + i - 1, s->apt + i,
                                (strv_length(s->apt + i) + 1) * sizeof(char *));
                }
        if (s->apt && !s->apt[0]) { /* no apt stage: the recipe of the base alone */
                strv_free(s->apt);
                s->apt = NULL;
        }
        if (s->apt && strncmp(s->mirror, "file:///", 8) == 0)
                return lodge_error_set(err, EINVAL,
                                       "--mirror '%s': apt, chrooted in the new tree, can't reach "
                                       "a file:/// mirror (needed for %s)",
                                       s->mirror, s->apt[0]);
        qsort(s->packages, strv_length(s->packages), sizeof(char *), cmp_str);
        if (s->apt)
                qsort(s->apt, strv_length(s->apt), sizeof(char *), cmp_str);
        return 0;
}

static int debian_parse(int argc, char **argv, void **ret_state, struct lodge_error **err)
{
        static const struct option options[] = {
                { "release", required_argument, NULL, 'r' },
                { "variant", required_argument, NULL, 'v' },
                { "init", required_argument, NULL, 'i' },
                { "packages", required_argument, NULL, 'p' },
                { "mirror", required_argument, NULL, 'm' },
                { "arch", required_argument, NULL, 'a' },
                { "refresh", no_argument, NULL, 'R' },
                { 0 },
        };
        CLEANUP(debian_state_freep) struct debian_state *s = calloc(1, sizeof(*s));
        int c, r = 0;

        if (!s)
                return lodge_error_set(err, ENOMEM, "parse arguments");
        s->tarfd = -EBADF;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:r:v:i:p:m:a:", options, NULL)) >= 0) {
                switch (c) {
                case 'r':
                        r = template_set_once(&s->release, "--release", optarg, err);
                        break;
                case 'v':
                        r = template_set_once(&s->variant, "--variant", optarg, err);
                        break;
                case 'i':
                        r = template_set_once(&s->init, "--init", optarg, err);
                        break;
                case 'p':
                        r = add_package_list(s, optarg, err);
                        break;
                case 'm':
                        r = template_set_once(&s->mirror, "--mirror", optarg, err);
                        break;
                case 'a':
                        r = template_set_once(&s->arch, "--arch", optarg, err);
                        break;
                case 'R':
                        s->refresh = true;
                        break;
                case ':':
                        return lodge_error_set(err, EINVAL, "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return lodge_error_set(err, EINVAL, "unknown option '%s'",
                                               argv[optind - 1]);
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc)
                return lodge_error_set(err, EINVAL, "unexpected argument '%s'", argv[optind]);
        if ((!s->release &&
             template_set_once(&s->release, "--release", DEFAULT_RELEASE, err) < 0) ||
            (!s->init && template_set_once(&s->init, "--init", "systemd", err) < 0) ||
            (!s->mirror && template_set_once(&s->mirror, "--mirror", DEFAULT_MIRROR, err) < 0) ||
            (!s->arch && template_set_once(&s->arch, "--arch", dpkg_arch(), err) < 0) ||
            (!s->variant && template_set_once(&s->variant, "--variant", "minbase", err) < 0))
                return -ENOMEM;
        r = check_state(s, err);
        if (r < 0)
                return r;
        *ret_state = TAKE_PTR(s);
        return 0;
}

/* debootstrap from the caller's PATH (absolute directories only): it is run by
 * absolute path, never searched for by the spawn helper. */
static int find_debootstrap(char **ret, struct lodge_error **err)
{
        const char *path = getenv("PATH");
        cleanup_free char *copy = strdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
        char *save = NULL;

        if (!copy)
                return lodge_error_set(err, ENOMEM, "find debootstrap");
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                cleanup_free char *p = NULL;
                struct stat st;

                if (d[0] != '/')
                        continue;
                if (asprintf(&p, "%s/debootstrap", d) < 0)
                        return lodge_error_set(err, ENOMEM, "find debootstrap");
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
        }
        return lodge_error_set(err, ENOENT,
                               "debootstrap not found in PATH (install the debootstrap package)");
}

/* What debootstrap said, kept to explain a failure. */
struct run {
        const struct lodge_template_ctx *ctx;
        char step[160];   /* its last "I: " line: the step it was at */
        char errors[512]; /* its "E: " lines, and "W: Failure trying to run" */
};

/* debootstrap's steps, without its one line per package and per phase. */
static bool is_milestone(const char *step)
{
        static const char *const per_package[] = { "Retrieving ", "Validating ", "Extracting ",
                                                   "Unpacking ", "Configuring " };

        for (size_t i = 0; i < ELEMENTSOF(per_package); i++)
                if (strncmp(step, per_package[i], strlen(per_package[i])) == 0)
                        return strstr(step, "packages") || strstr(step, "base system") ||
                               strstr(step, "Release") || strstr(step, "Packages");
        return true;
}

static void on_line(const char *line, void *userdata)
{
        struct run *run = userdata;
        size_t len = strlen(run->errors);

        if (strncmp(line, "I: ", 3) == 0) {
                size_t n;

                snprintf(run->step, sizeof(run->step), "%s", line + 3);
                n = strlen(run->step);
                while (n > 0 && (run->step[n - 1] == ' ' || run->step[n - 1] == '.'))
                        run->step[--n] = '\0';
                if (run->ctx->progress && is_milestone(line + 3))
                        run->ctx->progress(line + 3, 0, 0, run->ctx->userdata);
        } else if ((strncmp(line, "E: ", 3) == 0 || strncmp(line, "W: Failure", 10) == 0) &&
                   !strstr(run->errors, line)) { /* debootstrap retries: say it once */
                snprintf(run->errors + len, sizeof(run->errors) - len, "%s%s", len ? "; " : "",
                         line);
        }
}

/* The last lines of debootstrap's own log, where the failing command's output is. */
static char *log_tail(const char *tree)
{
        cleanup_close int dfd = -EBADF;
        cleanup_free char *path = NULL, *buf = NULL;
        char *tail;
        unsigned lines = 0;
        size_t n;

        if (asprintf(&path, "%s/debootstrap", tree) < 0)
                return NULL;
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0 || read_file_at(dfd, "debootstrap.log", 16 << 20, &buf, &n, NULL) < 0)
                return NULL;
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = '\0';
        tail = buf + n;
        while (tail > buf && lines < 6)
                if (*--tail == '\n')
                        lines++;
        if (*tail == '\n')
                tail++;
        for (char *c = tail; *c; c++)
                if (*c == '\n')
                        *c = '|';
        return strdup(tail);
}

/* Remove the regular files of dir (relative to tree) whose names end in
 * suffix ("" for all) except keep: the downloaded .debs and the package lists
 * are stale once cached and would double the size of every guest. */
static int remove_files(int treefd, const char *dir, const char *suffix, const char *keep,
                        struct lodge_error **err)
{
        cleanup_closedir DIR *d = NULL;
        int fd = open_in_root(treefd, dir, O_RDONLY | O_DIRECTORY, 0);

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return lodge_error_set(err, -fd, "tidy '/%s'", dir);
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return lodge_error_set(err, errno, "tidy '/%s'", dir);
        }
        for (struct dirent *de; (de = readdir(d));) {
                size_t n = strlen(de->d_name), m = strlen(suffix);

                if (de->d_type != DT_REG || strcmp(de->d_name, keep) == 0 || n < m ||
                    strcmp(de->d_name + n - m, suffix) != 0)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        return lodge_error_set(err, errno, "tidy '/%s/%s'", dir, de->d_name);
        }
        return 0;
}

static int tidy(const char *tree, struct lodge_error **err)
{
        cleanup_close int treefd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (treefd < 0)
                return lodge_error_set(err, errno, "open '%s'", tree);
        r = remove_files(treefd, "var/cache/apt/archives", ".deb", "", err);
        if (r >= 0)
                r = remove_files(treefd, "var/cache/apt", ".bin", "", err);
        if (r >= 0)
                r = remove_files(treefd, "var/lib/apt/lists", "", "lock", err);
        return r;
}

/* The apt stage, on our own tree (the recipe's base, unpacked from the cache;
 * not a guest's): package lists fetched again (tidy() dropped the base's), in the
 * spawn helper's private mount namespace, /proc, a read-only /sys and a /run
 * of its own are mounted in the tree for the maintainer scripts and vanish
 * with it. The script is constant; the tree and the package names (checked:
 * no option, no blank) are its arguments, never parsed by the shell. */
static const char apt_script[] = "set -e\n"
                                 "t=$1\n"
                                 "shift\n"
                                 "mount -t proc proc \"$t/proc\"\n"
                                 "mount -t sysfs -o ro sysfs \"$t/sys\"\n"
                                 "mount -t tmpfs tmpfs \"$t/run\"\n"
                                 "export DEBIAN_FRONTEND=noninteractive\n"
                                 "chroot \"$t\" apt-get update -q\n"
                                 "exec chroot \"$t\" apt-get install -y -q --no-install-recommends "
                                 "-o Dpkg::Options::=--force-confold \"$@\"\n";

/* What apt said, to explain a failure: its "E:" lines, else its last lines. */
struct apt_run {
        const struct lodge_template_ctx *ctx;
        char tail[6][256];
        unsigned n;
        char errors[512];
};

static void apt_on_line(const char *line, void *userdata)
{
        struct apt_run *run = userdata;
        size_t len = strlen(run->errors);

        if (!*line)
                return;
        snprintf(run->tail[run->n++ % ELEMENTSOF(run->tail)], sizeof(run->tail[0]), "%s", line);
        if (strncmp(line, "E: ", 3) == 0)
                snprintf(run->errors + len, sizeof(run->errors) - len, "%s%s", len ? "; " : "",
                         line);
        if (run->ctx->progress && strncmp(line, "Setting up ", 11) == 0)
                run->ctx->progress(line, 0, 0, run->ctx->userdata);
}

static int remove_in(int treefd, const char *dir, const char *name, struct lodge_error **err)
{
        cleanup_close int dfd = guest_open_dir(treefd, dir, false, 0);

        if (dfd == -ENOENT)
                return 0;
        if (dfd < 0)
                return lodge_error_set(err, -dfd, "open '%s'", dir);
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return lodge_error_set(err, errno, "remove '%s/%s'", dir, name);
        return 0;
}

/* openssh-server made host keys when it was installed: every guest of the
 * recipe would share them. They go, and each guest makes its own when sshd
 * first starts (ssh-keygen -A makes only the missing ones). */
static int drop_ssh_host_keys(int treefd, const struct debian_state *s, struct lodge_error **err)
{
        cleanup_closedir DIR *d = NULL;
        int fd = guest_open_dir(treefd, "/etc/ssh", false, 0);
        bool had = false;

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return lodge_error_set(err, -fd, "open '/etc/ssh'");
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return lodge_error_set(err, errno, "read '/etc/ssh'");
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (strncmp(de->d_name, "ssh_host_", 9) != 0 || de->d_type != DT_REG)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                        return lodge_error_set(err, errno, "remove '/etc/ssh/%s'", de->d_name);
                had = true;
        }
        if (!had)
                return 0;
        if (strcmp(s->init, "systemd") == 0)
                return guest_write_file(
                        treefd, "/etc/systemd/system/ssh.service.d/lodge-host-keys.conf",
                        "# lodge: each guest makes its own host keys, before sshd checks them\n"
                        "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\n"
                        "ExecStartPre=/usr/sbin/sshd -t\n",
                        0644, err);
        /* /etc/init.d/ssh sources this before its "sshd -t" */
        {
                cleanup_free char *old = NULL, *buf = NULL;
                int r = guest_read_file(treefd, "/etc/default/ssh", 1 << 20, &old, NULL);

                if (asprintf(&buf,
                             "%s\n# lodge: each guest makes its own host keys\n"
                             "[ -e /etc/ssh/ssh_host_ed25519_key ] || "
                             "/usr/bin/ssh-keygen -A >/dev/null 2>&1 || true\n",
                             r >= 0 ? old : "") < 0)
                        return lodge_error_set(err, ENOMEM, "write /etc/default/ssh");
                return guest_write_file(treefd, "/etc/default/ssh", buf, 0644, err);
        }
}

/* cloud-init's default locale (en_US.UTF-8) is not generated in a minbase
 * tree, and its locale module then fails the boot's cloud-config; C.UTF-8 is
 * always there. A user-data's own "locale:" still wins. */
static int fix_cloud_init(int treefd, struct lodge_error **err)
{
        if (!guest_exists(treefd, "/etc/cloud/cloud.cfg"))
                return 0;
        return guest_write_file(treefd, "/etc/cloud/cloud.cfg.d/90-lodge-locale.cfg",
                                "# lodge: the only locale of a minbase tree\nlocale: C.UTF-8\n",
                                0644, err);
}

/* apt-get install the packages debootstrap didn't, then leave the tree as
 * debootstrap would: no policy-rc.d, no shared host keys. */
static int apt_stage(const char *tree, const struct lodge_template_ctx *ctx,
                     const struct debian_state *s, struct lodge_error **err)
{
        cleanup_close int treefd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_strv char **argv = NULL;
        struct apt_run run = { .ctx = ctx };
        struct spawn_options opts = { .new_mount_ns = true,
                                      .on_line = apt_on_line,
                                      .cancel = interrupt_cancel,
                                      .userdata = &run };
        int r, q;

        if (treefd < 0)
                return lodge_error_set(err, errno, "open '%s'", tree);
        if (strv_extend(&argv, "/bin/sh") < 0 || strv_extend(&argv, "-c") < 0 ||
            strv_extend(&argv, apt_script) < 0 || strv_extend(&argv, "lodge-apt") < 0 ||
            strv_extend(&argv, tree) < 0)
                return lodge_error_set(err, ENOMEM, "build the apt command");
        STRV_FOREACH (p, s->apt)
                if (strv_extend(&argv, *p) < 0)
                        return lodge_error_set(err, ENOMEM, "build the apt command");
        /* No service starts in the tree while apt runs (invoke-rc.d and
         * deb-systemd-invoke ask policy-rc.d). */
        r = guest_write_file(treefd, "/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0755, err);
        if (r < 0)
                return r;
        if (ctx->progress)
                ctx->progress("installing the packages with apt", 0, 0, ctx->userdata);
        r = spawn_wait_opts(argv, &opts, NULL);
        q = remove_in(treefd, "/usr/sbin", "policy-rc.d", err);
        if (r < 0)
                return lodge_error_set(err, -r, "run apt-get in '%s'", tree);
        if (interrupt_pending())
                return lodge_error_set(err, EINTR, "apt-get interrupted");
        if (r != 0) {
                unsigned first = run.n > ELEMENTSOF(run.tail) ? run.n - ELEMENTSOF(run.tail) : 0;
                cleanup_free char *tail = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&tail, &len);

                for (unsigned i = first; f && i < run.n; i++)
                        fprintf(f, "%s%s", i > first ? " | " : "",
                                run.tail[i % ELEMENTSOF(run.tail)]);
                if (f && fclose(f) != 0) {
                        free(tail);
                        tail = NULL;
                }
                return lodge_error_set(err, EIO, "apt-get install failed (exit %d): %s", r,
                                       run.errors[0] ? run.errors
                                       : tail        ? tail
                                                     : "no output");
        }
        if (q < 0)
                return q;
        r = drop_ssh_host_keys(treefd, s, err);
        if (r >= 0)
                r = fix_cloud_init(treefd, err);
        return r;
}

static int debootstrap(const char *tree, void *userdata, struct lodge_error **err)
{
        const struct lodge_template_ctx *ctx = ((void **)userdata)[0];
        const struct debian_state *s = ((void **)userdata)[1];
        cleanup_free char *prog = NULL, *variant = NULL, *arch = NULL, *include = NULL;
        cleanup_free char *joined = NULL, *tail = NULL;
        struct run run = { .ctx = ctx };
        struct spawn_options opts = { .new_mount_ns = true,
                                      .on_line = on_line,
                                      .cancel = interrupt_cancel,
                                      .userdata = &run };
        int r;

        r = find_debootstrap(&prog, err);
        if (r < 0)
                return r;
        joined = join(s->packages, ",");
        if (!joined)
                return lodge_error_set(err, ENOMEM, "build the package list");
        if (asprintf(&variant, "--variant=%s", s->variant) < 0 ||
            asprintf(&arch, "--arch=%s", s->arch) < 0 ||
            asprintf(&include, "--include=%s", joined) < 0)
                return lodge_error_set(err, ENOMEM, "build the debootstrap command");
        /* debootstrap knows no "--": check_state() made sure no value starts with '-'. */
        char *argv[] = { prog, arch, include, variant, s->release, (char *)tree, s->mirror, NULL };
        if (strcmp(s->variant, "default") == 0) /* debootstrap's own default: no --variant */
                memmove(argv + 3, argv + 4, 4 * sizeof(char *));
        if (ctx->progress)
                ctx->progress("running debootstrap", 0, 0, ctx->userdata);
        r = spawn_wait_opts(argv, &opts, NULL);
        if (r < 0)
                return lodge_error_set(err, -r, "run '%s'", prog);
        if (interrupt_pending())
                return lodge_error_set(err, EINTR, "debootstrap interrupted");
        if (r == 0)
                return tidy(tree, err);
        tail = log_tail(tree);
        return lodge_error_set(err, EIO, "debootstrap %s failed (exit %d) at step '%s': %s%s%s",
                               s->release, r, run.step[0] ? run.step : "before its first step",
                               run.errors[0] ? run.errors : "no error message",
                               tail ? "; debootstrap.log ends: " : "", tail ? tail : "");
}

/* The recipe of s, or with base that of its debootstrap part alone (the
 * tree an apt stage starts from: for openrc, the sysvinit tree). "format"
 * changes whenever what we do to a tree after debootstrap does; the "apt"
 * lines only come with an apt stage, so that a base recipe is the recipe of
 * the same guest without --packages and shares its cache entry. */
static int recipe_text(const struct debian_state *s, bool base, char **ret_text, char **ret_label)
{
        const char *init = base && strcmp(s->init, "openrc") == 0 ? "sysvinit" : s->init;
        bool apt = s->apt && !base;
        cleanup_free char *pkgs = join(s->packages, " ");
        cleanup_free char *apt_pkgs = apt ? join(s->apt, " ") : strdup("");
        char *text = NULL, *label = NULL;

        if (!pkgs || !apt_pkgs ||
            asprintf(&text,
                     "template debian\nformat 2\nrelease %s\narch %s\nvariant %s\ninit %s\n"
                     "packages %s\nmirror %s\n%s%s%s",
                     s->release, s->arch, s->variant, init, pkgs, s->mirror, apt ? "apt " : "",
                     apt_pkgs, apt ? "\napt-stage 2\n" : "") < 0)
                return -ENOMEM;
        if (asprintf(&label, "%s-%s-%s", s->release, s->arch, init) < 0) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_label = label;
        return 0;
}

static int build_tree(const char *tree, void *userdata, struct lodge_error **err);

/* The cached tarball of s's recipe (or its base), built when missing. */
static int open_recipe(const struct lodge_template_ctx *ctx, struct debian_state *s, bool base,
                       struct lodge_error **err)
{
        cleanup_free char *text = NULL, *label = NULL;
        void *args[] = { (void *)ctx, (void *)s };

        if (recipe_text(s, base, &text, &label) < 0)
                return lodge_error_set(err, ENOMEM, "build the recipe");
        struct recipe rc = {
                .cache_dir = ctx->cache_dir,
                .template = "debian",
                .label = label,
                .text = text,
                .refresh = s->refresh,
                .progress = ctx->progress,
                .userdata = ctx->userdata,
        };
        return recipe_cache_open(&rc, s->apt && !base ? build_tree : debootstrap, args, err);
}

/* A recipe with an apt stage: its base tree from the base's own cache entry
 * (debootstrapped first when missing), so that another package set costs
 * only apt's time, then apt on top. */
static int build_tree(const char *tree, void *userdata, struct lodge_error **err)
{
        const struct lodge_template_ctx *ctx = ((void **)userdata)[0];
        struct debian_state *s = ((void **)userdata)[1];
        struct extract_options xo = { .progress = ctx->progress, .userdata = ctx->userdata };
        cleanup_close int tarfd = open_recipe(ctx, s, true, err);
        int r;

        if (tarfd < 0)
                return tarfd;
        r = extract_archive(tarfd, "the cached debian base tree", tree, &xo, err);
        if (r >= 0)
                r = apt_stage(tree, ctx, s, err);
        if (r >= 0)
                r = tidy(tree, err);
        return r;
}

/* The recipe's cached tree (built now when it isn't), once per create. */
static int open_tree(const struct lodge_template_ctx *ctx, struct debian_state *s, char **ret_label,
                     struct lodge_error **err)
{
        cleanup_free char *text = NULL, *label = NULL;

        if (recipe_text(s, false, &text, &label) < 0)
                return lodge_error_set(err, ENOMEM, "build the recipe");
        if (s->tarfd < 0) {
                int fd = open_recipe(ctx, s, false, err);

                if (fd < 0)
                        return fd;
                s->tarfd = fd;
        }
        if (ret_label)
                *ret_label = TAKE_PTR(label);
        return 0;
}

static int unpack_tree(const struct lodge_template_ctx *ctx, struct debian_state *s,
                       struct lodge_error **err)
{
        struct extract_options xo = { .progress = ctx->progress, .userdata = ctx->userdata };
        int r = open_tree(ctx, s, NULL, err);

        if (r < 0)
                return r;
        if (lseek(s->tarfd, 0, SEEK_SET) < 0)
                return lodge_error_set(err, errno, "rewind the cached debian tree");
        return extract_archive(s->tarfd, "the cached debian tree", ctx->rootfs_path, &xo, err);
}

static int debian_populate(const struct lodge_template_ctx *ctx, void *state,
                           struct lodge_template_result *res, struct lodge_error **err)
{
        (void)res;
        return ctx->layered ? 0 : unpack_tree(ctx, state, err);
}

/* A layer per built tree: the recipe's label and the cached tarball's identity
 * (a --refresh builds a new one, so a new layer). */
static int debian_layer_key(const struct lodge_template_ctx *ctx, void *state, char **ret_key,
                            struct lodge_error **err)
{
        struct debian_state *s = state;
        cleanup_free char *label = NULL;
        struct stat st;
        int r;

        r = open_tree(ctx, s, &label, err);
        if (r < 0)
                return r;
        if (fstat(s->tarfd, &st) < 0)
                return lodge_error_set(err, errno, "stat the cached debian tree");
        if (asprintf(ret_key, "debian-%s-%llx-%llx%09ld", label, (unsigned long long)st.st_ino,
                     (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec) < 0)
                return lodge_error_set(err, ENOMEM, "name the layer");
        return 0;
}

static int debian_populate_layer(const struct lodge_template_ctx *ctx, void *state,
                                 struct lodge_error **err)
{
        return unpack_tree(ctx, state, err);
}

const struct lodge_template_ops template_debian_ops = {
        .name = "debian",
        .summary = "a Debian guest built with debootstrap, cached per recipe",
        .usage = "[--release NAME] [--variant minbase|buildd|default]\n"
                 "[--init systemd|sysvinit|openrc]\n"
                 "[--packages A,B] [--mirror URL] [--arch ARCH] [--refresh]\n"
                 "  -r, --release NAME  the Debian release (default " DEFAULT_RELEASE ")\n"
                 "  -v, --variant V     debootstrap's variant (default minbase)\n"
                 "  -i, --init INIT     systemd (default), sysvinit or openrc\n"
                 "  -p, --packages LIST more packages, comma-separated (repeatable), installed\n"
                 "                      with apt after debootstrap, without recommends\n"
                 "  -m, --mirror URL    the mirror (default " DEFAULT_MIRROR ")\n"
                 "  -a, --arch ARCH     the Debian architecture (default: the host's)\n"
                 "      --refresh       rebuild the cached tree of this recipe\n"
                 "The tree of each recipe (release, arch, variant, init, packages, mirror) is\n"
                 "built once and kept under $LODGE_CACHE/templates/debian/.\n",
        .parse = debian_parse,
        .populate = debian_populate,
        .free_state = debian_free_state,
        .layer_key = debian_layer_key,
        .populate_layer = debian_populate_layer,
};
