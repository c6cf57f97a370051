/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "core/base/cleanup.h"
#include "core/base/strv.h"
#include "core/guest.h"

/* As strict as LXC's default (common.conf) plus what lets a guest reach the
 * host's kernel or time: modules, raw I/O, the clock, the MAC policy. */
static const char *const default_drop[] = {
        "sys_module", "sys_rawio", "sys_time", "mac_admin", "mac_override",
};

static int cap_value(const char *name, cap_value_t *ret)
{
        char full[64];

        snprintf(full, sizeof(full), "cap_%s", name);
        return cap_from_name(full, ret) < 0 ? -EINVAL : 0;
}

static int drop_bound(cap_value_t c, const char *name, struct lodge_error **err)
{
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                return lodge_error_set(err, errno, "drop capability %s", name);
        return 0;
}

bool caps_kept(const struct lodge_config_security *sec, const char *name)
{
        if (sec->caps_keep)
                return strv_contains(sec->caps_keep, name);
        for (size_t i = 0; i < ELEMENTSOF(default_drop); i++)
                if (strcmp(default_drop[i], name) == 0)
                        return false;
        return !strv_contains(sec->caps_drop, name);
}

int caps_apply(const struct lodge_config_security *sec, struct lodge_error **err)
{
        cap_t caps;
        int r;

        STRV_FOREACH (n, sec->caps_drop) {
                cap_value_t c;

                if (cap_value(*n, &c) < 0)
                        return lodge_error_set(err, EINVAL, "unknown capability '%s'", *n);
        }
        for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
                char *n = cap_to_name(c);
                const char *bare = n && strncmp(n, "cap_", 4) == 0 ? n + 4 : n;

                r = bare && caps_kept(sec, bare) ? 0 : drop_bound(c, bare ? bare : "?", err);
                cap_free(n);
                if (r < 0)
                        return r;
        }

        /* Nothing may be handed through exec beyond the bounding set. */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return lodge_error_set(err, errno, "clear ambient capabilities");
        caps = cap_get_proc();
        if (!caps)
                return lodge_error_set(err, errno, "read capabilities");
        r = cap_clear_flag(caps, CAP_INHERITABLE);
        if (r == 0)
                r = cap_set_proc(caps);
        r = r < 0 ? -errno : 0;
        cap_free(caps);
        if (r < 0)
                return lodge_error_set(err, -r, "clear inheritable capabilities");
        return 0;
}
