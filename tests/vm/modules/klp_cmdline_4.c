// SPDX-License-Identifier: GPL-2.0
/* Variant 4 of the /proc/cmdline live patch (replace=false): a third patch on a stack. */
#define KLP_VARIANT "4"
#define KLP_REPLACE false
#include "klp_cmdline.h"
