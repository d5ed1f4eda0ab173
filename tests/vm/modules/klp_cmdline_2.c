// SPDX-License-Identifier: GPL-2.0
/* Variant 2 of the /proc/cmdline live patch (replace=false). */
#define KLP_VARIANT "2"
#define KLP_REPLACE false
#include "klp_cmdline.h"
