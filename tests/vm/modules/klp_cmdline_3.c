// SPDX-License-Identifier: GPL-2.0
/* Variant 3 of the /proc/cmdline live patch (replace=true). */
#define KLP_VARIANT "3"
#define KLP_REPLACE true
#include "klp_cmdline.h"
