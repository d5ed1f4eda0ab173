// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel thread that sleeps inside klp_busy_sleep() until the parameter
 * `release` is set to 1. While it sleeps there, a live patch of that
 * function cannot finish its transition. The sleep is uninterruptible
 * (state D) and has no periodic wake-ups, so neither the kernel's fake
 * signals nor an unlucky moment of a scan sees it anywhere else.
 * The thread's pid is published as the read-only parameter `pid`.
 */
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/wait.h>

static DECLARE_WAIT_QUEUE_HEAD(klp_busy_wq);
static bool release;

static int klp_busy_release_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret)
		wake_up_all(&klp_busy_wq);
	return ret;
}

static const struct kernel_param_ops klp_busy_release_ops = {
	.set = klp_busy_release_set,
	.get = param_get_bool,
};
module_param_cb(release, &klp_busy_release_ops, &release, 0644);
MODULE_PARM_DESC(release, "1 lets the thread leave klp_busy_sleep()");

static int pid;
module_param(pid, int, 0444);
MODULE_PARM_DESC(pid, "pid of the sleeping kernel thread");

static struct task_struct *klp_busy_thread;

void klp_busy_sleep(void);

/* Patched by klp_patch_busy: noinline and global so it keeps its name. */
noinline void klp_busy_sleep(void)
{
	wait_event(klp_busy_wq, READ_ONCE(release) || kthread_should_stop());
}

static int klp_busy_main(void *unused)
{
	klp_busy_sleep();
	/* Released: wait for module unload outside the patched function. */
	while (!kthread_should_stop())
		msleep_interruptible(100);
	return 0;
}

static int __init klp_busy_init(void)
{
	klp_busy_thread = kthread_run(klp_busy_main, NULL, "klp_busy");
	if (IS_ERR(klp_busy_thread))
		return PTR_ERR(klp_busy_thread);
	pid = task_pid_nr(klp_busy_thread);
	return 0;
}

static void __exit klp_busy_exit(void)
{
	kthread_stop(klp_busy_thread);
}

module_init(klp_busy_init);
module_exit(klp_busy_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp vm test: kernel thread sleeping in a patchable function");
