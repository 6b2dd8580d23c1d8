/* runtime/sync/join.c: waiting for tasks to finish: corio_join, corio_gather, corio_wait_any.
 * A waiting task hangs one watcher per awaited task on that task's watcher list (the
 * watchers live on the waiter's stack, or on the heap for many tasks) and parks; the
 * finishing task wakes them (runtime/core/task.c). Only waits: never wakes anybody. */
#include <errno.h>
#include <stdlib.h>

#include "runtime/core/op.h"

/* Parks until one of tasks[0..n) finishes; its index, or -ECANCELED/-ETIMEDOUT/-ENOMEM. */
static inline int wait_for(corio__loop *l, corio_task **tasks, size_t n)
{
	corio__watcher small[4], *ws = n <= 4 ? small : malloc(n * sizeof *ws);
	corio__wait w = { .task = l->current, .what = corio__wait_join, .obj = tasks[0] };
	int rc;

	if (!ws)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		corio__task_watch(&ws[i], &w, tasks[i], (int)i);
	rc = corio__wait_park(&w);
	for (size_t i = 0; i < n; i++)
		corio__task_unwatch(&ws[i]);
	if (ws != small)
		free(ws);
	return rc;
}

static int check_tasks(corio__loop *l, corio_task **tasks, size_t n)
{
	if (!l || !l->current)
		return -EPERM;
	for (size_t i = 0; i < n; i++)
		if (tasks[i] && tasks[i] == l->current)
			return -EDEADLK;
		else if (!tasks[i] || tasks[i]->loop != l || tasks[i]->detached || tasks[i]->is_main)
			return -EINVAL;
	return 0;
}

/* Takes the result of a finished task and frees it. */
static int reap(corio_task *t, void **result)
{
	int rc = t->cancelled ? -ECANCELED : 0;

	if (result)
		*result = t->result;
	corio__task_free(t);
	return rc;
}

int corio_join(corio_task *t, void **result)
{
	corio__loop *l = corio__loop_get();
	int rc = check_tasks(l, &t, 1);

	if (rc != 0)
		return rc;
	/* A cancelled caller gets -ECANCELED and t stays alive, even if t is done: so
	 * -ECANCELED with corio_cancelled() false always means "t was cancelled, t is freed". */
	if (corio__task_cancel_due(l->current))
		return -ECANCELED;
	if (t->state != TASK_DONE) {
		rc = wait_for(l, &t, 1);
		if (rc < 0)
			return rc; /* the caller was interrupted; t lives on */
	}
	return reap(t, result);
}

int corio_wait_any(corio_task **tasks, size_t n)
{
	corio__loop *l = corio__loop_get();
	int rc;

	if (n == 0 || n > INT32_MAX)
		return -EINVAL;
	rc = check_tasks(l, tasks, n);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (tasks[i]->state == TASK_DONE)
			return (int)i;
	return wait_for(l, tasks, n);
}

static void *join_rest(void *p);

struct rest {
	corio_task **tasks;
	size_t from, n;
	void **results;
};

int corio_gather(corio_task **tasks, size_t n, void **results)
{
	corio__loop *l = corio__loop_get();
	int rc = check_tasks(l, tasks, n), any_cancelled = 0;

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (tasks[i]->state != TASK_DONE) {
			rc = wait_for(l, &tasks[i], 1);
			if (rc < 0) {
				/* The caller was cancelled or timed out: like asyncio.gather, cancel
				 * the rest and wait for them (shielded) so nothing is left behind. */
				struct rest r = { tasks, i, n, results };

				for (size_t j = i; j < n; j++)
					corio_cancel(tasks[j]);
				corio_shield(join_rest, &r);
				return rc;
			}
		}
		if (reap(tasks[i], results ? &results[i] : NULL) != 0)
			any_cancelled = 1;
	}
	return any_cancelled ? -ECANCELED : 0;
}

static void *join_rest(void *p)
{
	struct rest *r = p;

	for (size_t j = r->from; j < r->n; j++)
		corio_join(r->tasks[j], r->results ? &r->results[j] : NULL);
	return NULL;
}
