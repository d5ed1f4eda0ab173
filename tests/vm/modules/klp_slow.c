// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/klp_slow: a read sleeps uninterruptibly (state D, no periodic wake-ups) inside
 * klp_slow_wait() while the parameter `hold` is 1, so a user process
 * blocks a live patch of that function. `waiting` counts the readers
 * sleeping there now.
 */
#include <linux/atomic.h>
#include <linux/module.h>
#include <linux/wait.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>

static DECLARE_WAIT_QUEUE_HEAD(klp_slow_wq);
static bool hold = true;

static int klp_slow_hold_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret)
		wake_up_all(&klp_slow_wq);
	return ret;
}

static const struct kernel_param_ops klp_slow_hold_ops = {
	.set = klp_slow_hold_set,
	.get = param_get_bool,
};
module_param_cb(hold, &klp_slow_hold_ops, &hold, 0644);
MODULE_PARM_DESC(hold, "while 1, readers of /proc/klp_slow sleep in klp_slow_wait()");

static int waiting;
module_param(waiting, int, 0444);
MODULE_PARM_DESC(waiting, "readers sleeping in klp_slow_wait() now");

static atomic_t klp_slow_waiting = ATOMIC_INIT(0);
static struct proc_dir_entry *klp_slow_entry;

void klp_slow_wait(void);

/* Patched by klp_patch_slow: noinline and global so it keeps its name. */
noinline void klp_slow_wait(void)
{
	WRITE_ONCE(waiting, atomic_inc_return(&klp_slow_waiting));
	wait_event(klp_slow_wq, !READ_ONCE(hold));
	WRITE_ONCE(waiting, atomic_dec_return(&klp_slow_waiting));
}

static ssize_t klp_slow_read(struct file *file, char __user *buf, size_t count, loff_t *pos)
{
	static const char text[] = "klp_slow: released\n";

	if (*pos == 0)
		klp_slow_wait();
	return simple_read_from_buffer(buf, count, pos, text, sizeof(text) - 1);
}

static const struct proc_ops klp_slow_ops = {
	.proc_read = klp_slow_read,
	.proc_lseek = default_llseek,
};

static int __init klp_slow_init(void)
{
	klp_slow_entry = proc_create("klp_slow", 0444, NULL, &klp_slow_ops);
	return klp_slow_entry ? 0 : -ENOMEM;
}

static void __exit klp_slow_exit(void)
{
	proc_remove(klp_slow_entry);
}

module_init(klp_slow_init);
module_exit(klp_slow_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp vm test: proc file whose read sleeps in a patchable function");
