/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* core-internal: AppArmor confinement of a guest (security.apparmor). */

#include <stdbool.h>

#include "core/base/error.h"
#include "core/config.h"

#define APPARMOR_PROFILE_PREFIX "lodge-"
#define APPARMOR_DIR "apparmor" /* below $LODGE_ROOT: profiles, and cache/ */

/* ---- apparmor-profile.c: the generated profile, as text ---- */

/* "lodge-NAME" for a container name, or -EINVAL when name holds anything but
 * letters, digits, '.', '_' and '-' (or is empty or too long): the profile
 * name is spliced into policy text and must never change its meaning. */
int apparmor_profile_name(const char *name, char **ret, struct lodge_error **err);

/* The policy text of the generated profile "lodge-NAME" (exactly one
 * profile). nesting selects the variant that lets the guest run containers
 * of its own. The caller frees *ret. -EINVAL for a bad name. */
int apparmor_profile_generate(const char *name, bool nesting, char **ret, struct lodge_error **err);

/* The label the guest's processes are to run under (security.apparmor), or
 * NULL for unconfined: "lodge-NAME", or the named profile. *ret may be NULL
 * on success; the caller frees it. */
int apparmor_label(const struct lodge_config_security *sec, const char *name, char **ret,
                   struct lodge_error **err);
