/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A live patch of vmlinux's cmdline_proc_show(): /proc/cmdline then shows
 * which variant is active. Each klp_cmdline_N.c defines KLP_VARIANT and
 * KLP_REPLACE and includes this, so stacking (replace=false) and atomic
 * replace (replace=true) can be shown with the same patch.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int klp_cmdline_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, "klp-vm-test cmdline variant %s\n", KLP_VARIANT);
	return 0;
}

static struct klp_func klp_cmdline_funcs[] = {
	{ .old_name = "cmdline_proc_show", .new_func = klp_cmdline_proc_show },
	{ }
};

static struct klp_object klp_cmdline_objs[] = {
	{ .name = NULL /* vmlinux */, .funcs = klp_cmdline_funcs },
	{ }
};

static struct klp_patch klp_cmdline_patch = {
	.mod = THIS_MODULE,
	.objs = klp_cmdline_objs,
	.replace = KLP_REPLACE,
};

static int __init klp_cmdline_init(void)
{
	return klp_enable_patch(&klp_cmdline_patch);
}

static void __exit klp_cmdline_exit(void)
{
}

module_init(klp_cmdline_init);
module_exit(klp_cmdline_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp vm test: live patch of cmdline_proc_show");
MODULE_INFO(livepatch, "Y");
