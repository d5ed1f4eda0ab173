// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel thread that never sleeps: it loops calling klp_spin_loop() and
 * cond_resched(), on the last CPU, at nice 19 (the rest of the guest keeps
 * the CPU it needs). While `hold` is 1 it stays inside klp_spin_loop(),
 * calling only cond_resched() there; with `hold` 0 that function returns at
 * once and the thread spins in its main loop, still only calling
 * cond_resched(). `stop` 1 sends it to sleep outside both (interruptibly, so
 * any transition can finish). Its pid is the read-only parameter `pid`;
 * `inside` is 1 while it is in klp_spin_loop().
 */
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>

static bool hold = true;
module_param(hold, bool, 0644);
MODULE_PARM_DESC(hold, "while 1, the thread stays in klp_spin_loop()");

static bool stop;
module_param(stop, bool, 0644);
MODULE_PARM_DESC(stop, "1 makes the thread sleep outside the patched function");

static int pid;
module_param(pid, int, 0444);
MODULE_PARM_DESC(pid, "pid of the spinning kernel thread");

static int inside;
module_param(inside, int, 0444);
MODULE_PARM_DESC(inside, "1 while the thread is in klp_spin_loop()");

static struct task_struct *klp_spin_thread;

void klp_spin_loop(void);

/* Patched by klp_patch_spin: noinline and global so it keeps its name. */
noinline void klp_spin_loop(void)
{
	WRITE_ONCE(inside, 1);
	while (READ_ONCE(hold) && !READ_ONCE(stop) && !kthread_should_stop())
		cond_resched();
	WRITE_ONCE(inside, 0);
}

static int klp_spin_main(void *unused)
{
	while (!READ_ONCE(stop) && !kthread_should_stop()) {
		klp_spin_loop();
		cond_resched();
	}
	while (!kthread_should_stop())
		msleep_interruptible(100);
	return 0;
}

static int __init klp_spin_init(void)
{
	klp_spin_thread = kthread_create(klp_spin_main, NULL, "klp_spin");
	if (IS_ERR(klp_spin_thread))
		return PTR_ERR(klp_spin_thread);
	kthread_bind(klp_spin_thread, num_online_cpus() - 1);
	set_user_nice(klp_spin_thread, MAX_NICE);
	pid = task_pid_nr(klp_spin_thread);
	wake_up_process(klp_spin_thread);
	return 0;
}

static void __exit klp_spin_exit(void)
{
	kthread_stop(klp_spin_thread);
}

module_init(klp_spin_init);
module_exit(klp_spin_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp vm test: kernel thread that only calls cond_resched()");
