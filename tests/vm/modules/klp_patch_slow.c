// SPDX-License-Identifier: GPL-2.0
/*
 * Live patch of klp_slow_wait() in the klp_slow module. The replacement
 * sleeps too while this module's own `hold` is 1 (default 0), so a reader
 * that entered it keeps a reversed (unpatching) transition from finishing.
 */
#include <linux/atomic.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/wait.h>
#include <linux/livepatch.h>

static DECLARE_WAIT_QUEUE_HEAD(klp_patch_slow_wq);
static bool hold;

static int klp_patch_slow_hold_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret)
		wake_up_all(&klp_patch_slow_wq);
	return ret;
}

static const struct kernel_param_ops klp_patch_slow_hold_ops = {
	.set = klp_patch_slow_hold_set,
	.get = param_get_bool,
};
module_param_cb(hold, &klp_patch_slow_hold_ops, &hold, 0644);
MODULE_PARM_DESC(hold, "while 1, readers sleep in the replacement function");

static int waiting;
module_param(waiting, int, 0444);
MODULE_PARM_DESC(waiting, "readers sleeping in the replacement function now");

static atomic_t klp_patch_slow_waiting = ATOMIC_INIT(0);

static noinline void klp_slow_wait_fixed(void)
{
	WRITE_ONCE(waiting, atomic_inc_return(&klp_patch_slow_waiting));
	wait_event(klp_patch_slow_wq, !READ_ONCE(hold));
	WRITE_ONCE(waiting, atomic_dec_return(&klp_patch_slow_waiting));
}

static struct klp_func klp_patch_slow_funcs[] = {
	{ .old_name = "klp_slow_wait", .new_func = klp_slow_wait_fixed },
	{ }
};

static struct klp_object klp_patch_slow_objs[] = {
	{ .name = "klp_slow", .funcs = klp_patch_slow_funcs },
	{ }
};

static struct klp_patch klp_patch_slow_patch = {
	.mod = THIS_MODULE,
	.objs = klp_patch_slow_objs,
};

static int __init klp_patch_slow_init(void)
{
	return klp_enable_patch(&klp_patch_slow_patch);
}

static void __exit klp_patch_slow_exit(void)
{
}

module_init(klp_patch_slow_init);
module_exit(klp_patch_slow_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp vm test: live patch of klp_slow_wait");
MODULE_INFO(livepatch, "Y");
