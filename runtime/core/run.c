/* runtime/core/run.c: corio_run, the scheduler loop that alternates between running ready tasks
 * and polling the ring, deadlock detection, and the orderly teardown of a loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/core/op.h"

void corio__run_ready(corio__loop *l);
void corio__tasks_free_all(corio__loop *l);

typedef bool (*done_fn)(const corio__loop *l, const corio_task *main);

static bool main_done(const corio__loop *l, const corio_task *main)
{
	return main->state == TASK_DONE && l->attached_live == 0;
}

static bool all_done(const corio__loop *l, const corio_task *main)
{
	return l->stats.tasks_live == 0;
}

/* Nothing is ready, nothing is in flight, yet tasks are parked: they wait for each other
 * and nothing can ever wake them. Cancel them so corio_run can return. */
static void deadlock(corio__loop *l)
{
	unsigned n = 0;

	for (corio_task *t = l->all; t; t = t->all_next)
		n += t->state == TASK_PARKED;
	fprintf(stderr, "corio: deadlock: %u task(s) parked with nothing in flight; cancelling\n",
		n);
	l->deadlock = true;
	for (corio_task *t = l->all; t; t = t->all_next) {
		if (t->state != TASK_PARKED || !t->wait)
			continue;
		/* Shielded tasks too: otherwise they would never end. */
		t->cancelled = true;
		if (t->wait->unlink)
			t->wait->unlink(t->wait);
		corio__wait_wake(t->wait, -ECANCELED);
	}
}

static void run_until(corio__loop *l, const corio_task *main, done_fn done)
{
	while (!done(l, main)) {
		corio__run_ready(l);
		if (done(l, main))
			break;
		if (!corio__loop_poll(l, !l->ready.head && !l->batch.head))
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
	for (corio_task *t = l->all; t; t = t->all_next)
		corio_cancel(t);
	run_until(l, main, all_done);
	return rc;
}

/* Runs fn as the main task of the initialised loop l on this thread, then drains it. */
int corio__loop_main(corio__loop *l, corio_fn fn, void *arg, void **result)
{
	void *sig;
	int rc;

	corio__tls_loop = l;
	sig = corio__stack_signals_init();
	/* A loop of a group must be able to sleep on its mailbox alone: siblings may post. */
	rc = l->group ? corio__mailbox_arm(l) : 0;
	if (rc == 0)
		rc = run_main(l, fn, arg, result);
	corio__tasks_free_all(l);
	corio__loop_drain(l);
	corio__stack_signals_fini(sig);
	corio__tls_loop = NULL;
	return rc;
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
	rc = corio__loop_init(l, cfg);
	if (rc == 0) {
		rc = corio__loop_main(l, fn, arg, result);
		corio__loop_release(l);
	}
	free(l);
	return rc;
}

int corio_run(corio_fn fn, void *arg, void **result)
{
	return corio_run_config(NULL, fn, arg, result);
}
