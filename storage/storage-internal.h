/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "storage/storage.h"

extern const struct lodge_storage_ops storage_dir_ops;
