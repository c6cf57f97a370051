/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TODO: being written */
