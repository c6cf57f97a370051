/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/apparmor.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/path.h"
#include "core/core-internal.h"
#include "core/guest.h"

#define CACHE_DIR "cache"

/* $LODGE_ROOT/apparmor/lodge-NAME, written whole or not at all. */
static int write_profile(const struct lodge_paths *p, int rootfd, const char *name, bool nesting,
                         const char *label, struct lodge_error **err)
{
        cleanup_free char *text = NULL;
        cleanup_close int dirfd = -EBADF;
        int r;

        r = apparmor_profile_generate(p->tag, name, nesting, &text, err);
        if (r < 0)
                return r;
        dirfd = state_subdir_open(rootfd, p->root, APPARMOR_DIR, true, err);
        if (dirfd < 0)
                return dirfd;
        /* Unchanged since the last start: no write, and no fsync to wait for. */
        {
                cleanup_free char *old = NULL;
                struct stat st;

                if (fstatat(dirfd, label, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
                    (st.st_mode & 07777) == 0600 &&
                    read_file_at(dirfd, label, 1 << 20, &old, NULL, NULL) >= 0 &&
                    strcmp(old, text) == 0)
                        return 0;
        }
        return write_file_atomic_at(dirfd, label, text, strlen(text), 0600, err);
}

static int load_profile(const struct lodge_paths *p, int rootfd, const char *label,
                        struct lodge_error **err)
{
        cleanup_free char *file = NULL, *cache = NULL, *dir = NULL;
        cleanup_close int dirfd = -EBADF, cachefd = -EBADF;

        /* (asprintf leaves its pointer undefined on failure: reset, for the cleanup) */
        if (asprintf(&dir, "%s/" APPARMOR_DIR, p->root) < 0) {
                dir = NULL;
                return lodge_error_set(err, ENOMEM, "AppArmor profile path");
        }
        dirfd = state_subdir_open(rootfd, p->root, APPARMOR_DIR, false, err);
        if (dirfd < 0)
                return dirfd;
        cachefd = state_subdir_open(dirfd, dir, CACHE_DIR, true, err);
        if (cachefd < 0)
                return cachefd;
        if (asprintf(&file, "%s/%s", dir, label) < 0) {
                file = NULL;
                return lodge_error_set(err, ENOMEM, "AppArmor profile path");
        }
        if (asprintf(&cache, "%s/" CACHE_DIR, dir) < 0) {
                cache = NULL;
                return lodge_error_set(err, ENOMEM, "AppArmor profile path");
        }
        return apparmor_load(file, cache, err);
}

/* Does the guest's root run as the host's root? */
static bool runs_as_host_root(const struct lodge_config_security *sec)
{
        return !guest_userns(sec);
}

int apparmor_prepare(const struct lodge_paths *p, int rootfd, const char *name,
                     const struct lodge_config_security *sec, lodge_warning_cb warn, void *userdata,
                     struct lodge_error **err)
{
        cleanup_free char *label = NULL, *msg = NULL;
        const char *why = NULL;
        int host, r;

        /* Refusals first: nothing may be left of a start that can't happen. */
        if (sec->apparmor_required && sec->apparmor == LODGE_APPARMOR_UNCONFINED)
                return lodge_error_set(err, EINVAL,
                                       "security.apparmor.required is set, but security.apparmor "
                                       "= unconfined");
        host = apparmor_host_check(&why);
        if (host < 0 && (sec->apparmor != LODGE_APPARMOR_UNCONFINED || sec->apparmor_required))
                return lodge_error_set(err, -host, "AppArmor: %s", why);
        if (host == 0 && sec->apparmor_required)
                return lodge_error_set(err, EOPNOTSUPP,
                                       "security.apparmor.required is set, but %s: the guest "
                                       "can't be confined",
                                       why);
        r = apparmor_label(sec, p->tag, name, &label, err);
        if (r < 0)
                return r;

        if (sec->apparmor == LODGE_APPARMOR_GENERATED) {
                /* Written also where it can't be loaded: to be read and checked. */
                r = write_profile(p, rootfd, name, sec->nesting, label, err);
                if (r >= 0 && host > 0)
                        r = load_profile(p, rootfd, label, err);
                if (r < 0)
                        return lodge_error_prefix(err, r, "AppArmor profile '%s'", label);
        }
        if ((host > 0 && label) || !runs_as_host_root(sec) || !warn)
                return 0;

        if (host > 0)
                r = asprintf(&msg, "security.apparmor = unconfined: this privileged guest is not "
                                   "root-safe");
        else
                r = asprintf(&msg,
                             "%s: this privileged guest is not root-safe here (its root can "
                             "mount a fresh procfs and write host-wide files such as "
                             "/proc/sys/kernel/core_pattern); set security.apparmor.required = "
                             "true to refuse to start it",
                             why);
        if (r < 0) {
                msg = NULL;
                return lodge_error_set(err, ENOMEM, "warning");
        }
        warn(msg, userdata);
        return 0;
}

/* Compiled copies: apparmor_parser keeps them in one directory per kernel
 * feature set below cache/. */
static void remove_cached(int dirfd, const char *label)
{
        cleanup_closedir DIR *d = NULL;
        int cachefd = open_dir_at(dirfd, CACHE_DIR);
        struct dirent *e;

        if (cachefd < 0)
                return;
        d = fdopendir(cachefd);
        if (!d) {
                close(cachefd);
                return;
        }
        while ((e = readdir(d))) {
                cleanup_close int sub = -EBADF;

                if (e->d_name[0] == '.')
                        continue;
                sub = open_dir_at(cachefd, e->d_name);
                if (sub >= 0 && unlinkat(sub, label, 0) < 0 && errno != ENOENT)
                        log_debug("remove cached AppArmor profile '%s/%s': %m, ignoring", e->d_name,
                                  label);
        }
}

int apparmor_remove(const struct lodge_paths *p, int rootfd, const char *name,
                    struct lodge_error **err)
{
        cleanup_free char *label = NULL;
        cleanup_close int dirfd = -EBADF;
        int r;

        if (apparmor_profile_name(p->tag, name, &label, NULL) < 0)
                return 0; /* never generated */
        dirfd = state_subdir_open(rootfd, p->root, APPARMOR_DIR, false, err);
        if (dirfd == -ENOENT) {
                lodge_error_free(err);
                return 0;
        }
        if (dirfd < 0)
                return dirfd;
        if (faccessat(dirfd, label, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                return 0; /* not ours: a named profile, or none */

        /* Only what lodge generated is unloaded, never a profile it was told to use. */
        if (apparmor_host_check(NULL) > 0) {
                r = apparmor_unload(label, err);
                if (r == -ENOENT)
                        lodge_error_free(err);
                else if (r < 0)
                        return r;
        }
        remove_cached(dirfd, label);
        if (unlinkat(dirfd, label, 0) < 0 && errno != ENOENT)
                return lodge_error_set(err, errno, "remove AppArmor profile '%s'", label);
        if (fsync(dirfd) < 0)
                log_debug("fsync of the AppArmor directory failed: %m, ignoring");
        return 0;
}
