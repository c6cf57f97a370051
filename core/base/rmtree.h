/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "core/base/error.h"

/* rm -rf dirfd/name without following symlinks or crossing into another
 * mount (a mount point below name fails with -EBUSY and stops the walk, so
 * host data bind-mounted into a guest is never touched). Immutable and
 * append-only flags set by a guest are cleared when they block a removal.
 * Works on any depth without running out of file descriptors. A missing name
 * is success. */
int rm_rf_at(int dirfd, const char *name, struct lodge_error **err);
