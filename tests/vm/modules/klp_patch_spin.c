// SPDX-License-Identifier: GPL-2.0
/* Live patch of klp_spin_loop() in the klp_spin module: returns at once. */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>

static void klp_spin_loop_fixed(void)
{
}

static struct klp_func klp_patch_spin_funcs[] = {
	{ .old_name = "klp_spin_loop", .new_func = klp_spin_loop_fixed },
	{ }
};

static struct klp_object klp_patch_spin_objs[] = {
	{ .name = "klp_spin", .funcs = klp_patch_spin_funcs },
	{ }
};

static struct klp_patch klp_patch_spin_patch = {
	.mod = THIS_MODULE,
	.objs = klp_patch_spin_objs,
};

static int __init klp_patch_spin_init(void)
{
	return klp_enable_patch(&klp_patch_spin_patch);
}

static void __exit klp_patch_spin_exit(void)
{
}

module_init(klp_patch_spin_init);
module_exit(klp_patch_spin_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp vm test: live patch of klp_spin_loop");
MODULE_INFO(livepatch, "Y");
