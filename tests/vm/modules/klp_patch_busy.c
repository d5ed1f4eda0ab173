// SPDX-License-Identifier: GPL-2.0
/* Live patch of klp_busy_sleep() in the klp_busy module: returns at once. */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>

static void klp_busy_sleep_fixed(void)
{
}

static struct klp_func klp_patch_busy_funcs[] = {
	{ .old_name = "klp_busy_sleep", .new_func = klp_busy_sleep_fixed },
	{ }
};

static struct klp_object klp_patch_busy_objs[] = {
	{ .name = "klp_busy", .funcs = klp_patch_busy_funcs },
	{ }
};

static struct klp_patch klp_patch_busy_patch = {
	.mod = THIS_MODULE,
	.objs = klp_patch_busy_objs,
};

static int __init klp_patch_busy_init(void)
{
	return klp_enable_patch(&klp_patch_busy_patch);
}

static void __exit klp_patch_busy_exit(void)
{
}

module_init(klp_patch_busy_init);
module_exit(klp_patch_busy_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp vm test: live patch of klp_busy_sleep");
MODULE_INFO(livepatch, "Y");
