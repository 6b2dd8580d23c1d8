/* runtime/core/run.c: corio_run, and the life of a loop: its setup (ring, stacks, mailbox),
 * the scheduler loop that alternates between running ready tasks and polling the ring
 * (with the mailbox spin before an idle loop sleeps), deadlock detection, and the orderly
 * teardown. The top of the core: it calls the layers below it (loop.c at the bottom). */
#include "runtime/core/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/core/log.h"
#include "runtime/core/op.h"

typedef bool (*done_fn)(const corio__loop *l, const corio_task *main);

static bool main_done(const corio__loop *l, const corio_task *main)
{
	return main->state == TASK_DONE && l->attached_live == 0;
}

static bool all_done(const corio__loop *l, const corio_task *main)
{
	return l->stats.tasks_live == 0;
}

static corio_task *task_of(corio__lnode *all)
{
	return CORIO__CONTAINER_OF(all, corio_task, all);
}

/* Nothing is ready, nothing is in flight, yet tasks are parked: they wait for each other
 * and nothing can ever wake them. Cancel them so corio_run can return. */
static void deadlock(corio__loop *l)
{
	unsigned n = 0;

	for (corio__lnode *a = l->tasks.head; a; a = a->next)
		n += task_of(a)->state == TASK_PARKED;
	corio__log(CORIO_LOG_ERROR, "deadlock: %u task(s) parked with nothing in flight; cancelling",
		   n);
	l->deadlock = true;
	for (corio__lnode *a = l->tasks.head; a; a = a->next) {
		corio_task *t = task_of(a);

		if (t->state == TASK_PARKED && t->wait)
			corio__cancel_deadlocked(t);
	}
}

/* Blocking-pool jobs are outstanding: their results are usually microseconds away, so the
 * mailbox is polled for a bounded time before the loop sleeps in the kernel. With other
 * I/O in flight too, only where the kernel flags its completions (TASKRUN_FLAG, 5.19): the
 * spin then also ends at the first one (corio__mailbox_spin), without a syscall. True when
 * that ran posted messages (tasks may be ready: no poll step is needed). */
static bool spin_for_pool(corio__loop *l, bool may_block)
{
	if (!may_block || l->faulted || l->external == 0 || io_uring_sq_ready(&l->ring) > 0 ||
	    (l->inflight != l->mbox.armed &&
	     !(l->caps.ring_flags & IORING_SETUP_TASKRUN_FLAG)) ||
	    !corio__spin_ns())
		return false;
	l->dl.turn_now = 0; /* a new turn, as corio__loop_poll would have started */
	return corio__mailbox_spin(l, corio__spin_ns());
}

static void run_until(corio__loop *l, const corio_task *main, done_fn done)
{
	while (!done(l, main)) {
		corio__run_ready(l);
		if (done(l, main))
			break;
		bool may_block = !l->ready.head && !l->batch.head;

		if (!spin_for_pool(l, may_block) && !corio__loop_poll(l, may_block))
			deadlock(l);
	}
}

static int run_main(corio__loop *l, corio_fn fn, void *arg, void **result)
{
	corio_task *main = corio_spawn(fn, arg);
	int rc;

	if (!main)
		return -ENOMEM;
	main->is_main = true;
	run_until(l, main, main_done);
	if (result)
		*result = main->result;
	rc = l->deadlock ? -EDEADLK : main->cancelled ? -ECANCELED : 0;
	/* Like asyncio.run: what is still running (detached tasks) is cancelled and awaited,
	 * so every operation's final CQE arrives before the ring goes away. */
	for (corio__lnode *a = l->tasks.head; a; a = a->next)
		corio_cancel(task_of(a));
	run_until(l, main, all_done);
	return rc;
}

int corio__loop_main(corio__loop *l, corio_fn fn, void *arg, void **result)
{
	void *sig;
	int rc;

	corio__tls_loop = l;
	sig = corio__stack_signals_init();
	/* A loop of a loopset must be able to sleep on its mailbox alone: siblings may post. */
	rc = l->loopset ? corio__mailbox_arm(l) : 0;
	if (rc == 0)
		rc = run_main(l, fn, arg, result);
	corio__tasks_free_all(l);
	corio__mailbox_close(l);
	corio__loop_drain(l);
	corio__stack_signals_fini(sig);
	corio__tls_loop = NULL;
	return rc;
}

int corio__loop_open(corio__loop *l, const corio_config *cfg)
{
	int rc = corio__loop_init(l, cfg);

	if (rc == 0)
		corio__mailbox_init(&l->mbox);
	return rc;
}

void corio__loop_close(corio__loop *l)
{
	corio__timers_free(l);
	corio__loop_release(l);
	corio__mailbox_fini(&l->mbox);
}

int corio__config_check(const corio_config *cfg)
{
	return cfg->stack_kind > CORIO_STACK_PACKED ? -EINVAL : 0;
}

int corio_run_config(const corio_config *cfg, corio_fn fn, void *arg, void **result)
{
	corio_config defaults;
	corio__loop *l;
	int rc;

	if (corio__tls_loop)
		return -EBUSY;
	if (!fn)
		return -EINVAL;
	if (!cfg) {
		corio_config_init(&defaults);
		cfg = &defaults;
	}
	if (corio__config_check(cfg) != 0)
		return -EINVAL;
	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	rc = corio__loop_open(l, cfg);
	if (rc == 0) {
		rc = corio__loop_main(l, fn, arg, result);
		corio__loop_close(l);
	}
	free(l);
	return rc;
}

int corio_run(corio_fn fn, void *arg, void **result)
{
	return corio_run_config(NULL, fn, arg, result);
}
