/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: AppArmor confinement of a guest (security.apparmor). */

#include <stdbool.h>

#include "core/base/error.h"
#include "core/config.h"
#include "core/container.h"

#define APPARMOR_PROFILE_PREFIX "lodge-"
#define APPARMOR_PROFILE_PREFIX_TAGGED "lodge." /* never follows from a name ("lodge-" + NAME) */
#define APPARMOR_DIR "apparmor"                 /* below $LODGE_ROOT: profiles, and cache/ */

/* ---- apparmor-profile.c: the generated profile, as text ---- */

/* "lodge-NAME" for a container name, "lodge.TAG-NAME" for one of a root
 * with a tag (struct lodge_paths; NULL or "" for none), or -EINVAL when name
 * holds anything but letters, digits, '.', '_' and '-' (or is empty or too
 * long), or tag anything but hex digits: the profile name is spliced into
 * policy text and must never change its meaning. */
int apparmor_profile_name(const char *tag, const char *name, char **ret, struct lodge_error **err);

/* The policy text of the generated profile "lodge-NAME" (exactly one
 * profile). nesting selects the variant that lets the guest run containers
 * of its own. The caller frees *ret. -EINVAL for a bad name. */
int apparmor_profile_generate(const char *tag, const char *name, bool nesting, char **ret,
                              struct lodge_error **err);

/* The label the guest's processes are to run under (security.apparmor), or
 * NULL for unconfined: "lodge-NAME", or the named profile. *ret may be NULL
 * on success; the caller frees it. */
int apparmor_label(const struct lodge_config_security *sec, const char *tag, const char *name,
                   char **ret, struct lodge_error **err);

/* ---- apparmor-policy.c: profiles on the host, at start and destroy ---- */

/* Before a start: refuse a configuration that can't be honoured here
 * (security.apparmor.required without AppArmor, or with unconfined: -EOPNOTSUPP
 * and -EINVAL, before anything is made), write the generated profile to
 * $LODGE_ROOT/apparmor/lodge-NAME (also where it can't be loaded, so it can
 * be read and checked), and load it when the host has AppArmor. Says through
 * warn (may be NULL) when a privileged guest is going to run unconfined. */
int apparmor_prepare(const struct lodge_paths *p, int rootfd, const char *name,
                     const struct lodge_config_security *sec, lodge_warning_cb warn, void *userdata,
                     struct lodge_error **err);

/* On destroy: unload the generated profile where it is loaded, and remove
 * its file and cache. Nothing to do is success. */
int apparmor_remove(const struct lodge_paths *p, int rootfd, const char *name,
                    struct lodge_error **err);

/* ---- apparmor.c | apparmor-stub.c: the host's AppArmor ---- */

/* Can profiles be loaded and applied here (libapparmor's aa_is_enabled())?
 * 1: yes; 0: no AppArmor here (absent, or turned off); < 0 (-errno): AppArmor
 * is on, but lodge can't use it (securityfs not mounted, no permission).
 * *ret_why (may be NULL) says why not, a static string. */
int apparmor_host_check(const char **ret_why);

/* Load (or replace) the profiles in an absolute file with apparmor_parser,
 * caching the compiled policy in cache_dir. -ENOENT when apparmor_parser is
 * missing, -EINVAL with its message when it refuses the policy. */
int apparmor_load(const char *file, const char *cache_dir, struct lodge_error **err);

/* Remove a loaded profile by name; -ENOENT when it isn't loaded. */
int apparmor_unload(const char *profile, struct lodge_error **err);

/* In a guest's process, right before its execve(): have the next exec run
 * under the guest's label (see apparmor_label()), when AppArmor is active in
 * the kernel for this process; nothing for unconfined or where it isn't. The
 * label is written through the calling thread's own attr file, reached
 * below a checked procfs root without crossing a mount, so a /proc the guest
 * mounted or covered can't swallow it (CVE-2015-1334), and read back. Called
 * by the guest's init and by attach. */
int apparmor_exec_label(const struct lodge_config_security *sec, const char *tag, const char *name,
                        struct lodge_error **err);
