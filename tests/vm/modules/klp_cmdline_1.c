// SPDX-License-Identifier: GPL-2.0
/* Variant 1 of the /proc/cmdline live patch (replace=false). */
#define KLP_VARIANT "1"
#define KLP_REPLACE false
#include "klp_cmdline.h"
