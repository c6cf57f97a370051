/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

#include "core/base/cleanup.h"
#include "core/base/parse.h"
#include "core/config-internal.h"
#include "core/container.h"
#include "core/dev.h"
#include "storage/storage.h"

/* The forms of string values: names, paths, device and mount lines,
 * capability names. Each returns 0 or -EINVAL with the reason in err. */

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

int config_check_name(const char *value, struct lodge_error **err)
{
        size_t len = strlen(value);

        if (len > 63 || !is_alnum(value[0]) ||
            strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
                    len)
                return lodge_error_set(
                        err, EINVAL,
                        "'%s' is not a container name (1-63 letters, digits, '.', '_' "
                        "or '-', starting with a letter or digit)",
                        value);
        return 0;
}

int config_check_arch(const char *value, struct lodge_error **err)
{
        static const char *const arches[] = {
                "x86_64", "amd64", "i686",    "i386",    "aarch64", "arm64",   "armv7l",
                "armhf",  "armel", "ppc64le", "ppc64el", "s390x",   "riscv64",
        };

        for (size_t i = 0; i < ELEMENTSOF(arches); i++)
                if (strcmp(value, arches[i]) == 0)
                        return 0;
        return lodge_error_set(err, EINVAL, "'%s' is not a known architecture", value);
}

/* Why p is not a clean absolute path, or NULL. */
static const char *path_problem(const char *p)
{
        if (p[0] != '/')
                return "is not an absolute path";
        if (strstr(p, "//"))
                return "contains '//'";
        for (const char *c = p; c; c = strchr(c + 1, '/'))
                if (strncmp(c, "/..", 3) == 0 && (c[3] == '/' || c[3] == '\0'))
                        return "contains a '..' component";
        return NULL;
}

int config_check_abs_path(const char *value, struct lodge_error **err)
{
        const char *why = path_problem(value);

        return why ? lodge_error_set(err, EINVAL, "'%s' %s", value, why) : 0;
}

int config_check_rootfs_path(const char *value, struct lodge_error **err)
{
        if (strcmp(value, "/") == 0)
                return lodge_error_set(err, EINVAL, "'%s' is the host's root directory", value);
        return config_check_abs_path(value, err);
}

int config_check_layer(const char *value, struct lodge_error **err)
{
        if (!lodge_storage_layer_key_valid(value))
                return lodge_error_set(err, EINVAL, "'%s' is not a layer name", value);
        return 0;
}

int config_check_hook(const char *value, struct lodge_error **err)
{
        if (value[strlen(value) - 1] == '/')
                return lodge_error_set(err, EINVAL, "'%s' is a directory, not an executable",
                                       value);
        return config_check_abs_path(value, err);
}

int config_check_init_cmd(const char *value, struct lodge_error **err)
{
        if (value[0] != '/')
                return lodge_error_set(err, EINVAL, "'%s' does not start with an absolute path",
                                       value);
        return 0;
}

int config_check_ifname(const char *value, struct lodge_error **err)
{
        if (strlen(value) > 15 || strpbrk(value, "/: ") || strcmp(value, ".") == 0 ||
            strcmp(value, "..") == 0)
                return lodge_error_set(err, EINVAL,
                                       "'%s' is not an interface name (1-15 bytes, no '/', ':' or "
                                       "spaces, not '.' or '..')",
                                       value);
        return 0;
}

int config_check_cpuset(const char *value, struct lodge_error **err)
{
        int r = parse_cpuset(value);

        if (r == -ERANGE)
                return lodge_error_set(err, EINVAL, "'%s' names a CPU above 8191", value);
        if (r < 0)
                return lodge_error_set(err, EINVAL, "'%s' is not a CPU list (like 0-3,8)", value);
        return 0;
}

int config_check_apparmor_profile(const char *value, struct lodge_error **err)
{
        size_t len = strlen(value);

        if (len > 255 || !is_alnum(value[0]) ||
            strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-") !=
                    len)
                return lodge_error_set(err, EINVAL, "'%s' is not an AppArmor profile name", value);
        return 0;
}

/* Split a copy of value into at most max words on runs of spaces; the words
 * point into *ret_buf. Returns the count, or -EINVAL when there are more. */
static int split_words(const char *value, char **words, size_t max, char **ret_buf)
{
        cleanup_free char *buf = strdup(value);
        char *save = NULL;
        size_t n = 0;

        if (!buf)
                return -ENOMEM;
        for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (n == max)
                        return -EINVAL;
                words[n++] = w;
        }
        *ret_buf = TAKE_PTR(buf);
        return (int)n;
}

/* "PATH [TARGET]": a host device node and where it appears in the guest. */
int config_check_device(const char *value, struct lodge_error **err)
{
        cleanup_free char *buf = NULL;
        char *w[2];
        int n;

        n = split_words(value, w, ELEMENTSOF(w), &buf);
        if (n == -ENOMEM)
                return lodge_error_set(err, ENOMEM, "out of memory");
        if (n < 1)
                return lodge_error_set(err, EINVAL, "'%s' is not PATH [TARGET]", value);
        if (!has_prefix(w[0], "/dev/") || w[0][5] == '\0')
                return lodge_error_set(err, EINVAL, "'%s' is not a path below /dev/", w[0]);
        for (int i = 0; i < n; i++) {
                const char *why = path_problem(w[i]);
                if (why)
                        return lodge_error_set(err, EINVAL, "'%s' %s", w[i], why);
        }
        /* The node appears in the guest's /dev, a tmpfs made at each start. */
        if (n == 2 && (!has_prefix(w[1], "/dev/") || w[1][5] == '\0'))
                return lodge_error_set(err, EINVAL, "'%s' is not a path below /dev/", w[1]);
        if (dev_target_reserved(w[n - 1] + 5))
                return lodge_error_set(err, EINVAL,
                                       "'%s' is lodge's own in every guest (standard nodes, "
                                       "console, tty1-%d, pts, shm, mqueue): give the device "
                                       "another target, 'PATH TARGET'",
                                       w[n - 1], LODGE_TTYS);
        return 0;
}

static int check_mount_options(const char *opts, struct lodge_error **err)
{
        static const char *const names[] = {
                "ro", "rw", "create=dir", "create=file", "optional", "shift",
        };
        unsigned seen = 0;

        for (const char *p = opts;;) {
                size_t len = strcspn(p, ",");
                size_t i;

                for (i = 0; i < ELEMENTSOF(names); i++)
                        if (strlen(names[i]) == len && strncmp(p, names[i], len) == 0)
                                break;
                if (i == ELEMENTSOF(names))
                        return lodge_error_set(
                                err, EINVAL,
                                "'%s' is not a list of ro, rw, create=dir, create=file, "
                                "optional, shift",
                                opts);
                if (seen & (1u << i))
                        return lodge_error_set(err, EINVAL, "'%s' is given twice", names[i]);
                seen |= 1u << i;
                p += len;
                if (*p == '\0')
                        break;
                p++;
        }
        if ((seen & 3u) == 3u)
                return lodge_error_set(err, EINVAL, "'%s': 'ro' and 'rw' can't be combined", opts);
        if ((seen & 12u) == 12u)
                return lodge_error_set(err, EINVAL,
                                       "'%s': 'create=dir' and 'create=file' can't be combined",
                                       opts);
        return 0;
}

/* "SOURCE TARGET [OPTIONS]". Words are separated by spaces, so neither path
 * may contain whitespace (tabs and other control characters are refused for
 * every value anyway). */
int config_check_mount(const char *value, struct lodge_error **err)
{
        cleanup_free char *buf = NULL;
        char *w[3];
        int n;

        n = split_words(value, w, ELEMENTSOF(w), &buf);
        if (n == -ENOMEM)
                return lodge_error_set(err, ENOMEM, "out of memory");
        if (n < 2)
                return lodge_error_set(err, EINVAL, "'%s' is not SOURCE TARGET [OPTIONS]", value);
        for (int i = 0; i < 2; i++) {
                const char *why = path_problem(w[i]);
                if (why)
                        return lodge_error_set(err, EINVAL, "'%s' %s", w[i], why);
        }
        return n == 3 ? check_mount_options(w[2], err) : 0;
}

/* "SYS_ADMIN", "cap_sys_admin" -> "sys_admin", checked against libcap's
 * names. cap_from_name() also takes numbers and stops at the end of a known
 * name, so the value must map back to exactly the same name. */
int config_cap_normalize(const char *token, char **ret)
{
        cleanup_free char *full = NULL;
        cap_value_t v;
        char *canon;
        bool same;

        if (strncasecmp(token, "cap_", 4) == 0)
                token += 4;
        if (*token == '\0')
                return -EINVAL;
        if (asprintf(&full, "cap_%s", token) < 0) {
                full = NULL; /* undefined after a failure */
                return -ENOMEM;
        }
        for (char *c = full; *c; c++) {
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char)(*c - 'A' + 'a');
                if (!is_alnum(*c) && *c != '_')
                        return -EINVAL;
        }
        if (cap_from_name(full, &v) < 0)
                return -EINVAL;
        canon = cap_to_name(v);
        if (!canon)
                return -ENOMEM;
        same = strcmp(canon, full) == 0;
        (void)cap_free(canon);
        if (!same)
                return -EINVAL;
        *ret = strdup(full + 4);
        return *ret ? 0 : -ENOMEM;
}
