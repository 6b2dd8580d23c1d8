/* runtime/core/task.c: tasks and the scheduler: spawn, the switches between the scheduler and a
 * task (with the ASan fiber annotations), park/wake/yield, finishing (waking the watchers
 * that wait for the end: corio_join's) and freeing, and the ready queue. Cancellation is
 * decided in runtime/core/cancel.c. Every switch goes task -> scheduler -> task; the scheduler runs on
 * the thread's own stack (runtime/core/run.c drives it). */
#include "runtime/core/task.h"
#include "runtime/core/trim.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer must be told which fiber runs, or it sees one thread's stack jump. */
#include <sanitizer/tsan_interface.h>
#define TSAN_SWITCH(fiber) __tsan_switch_to_fiber((fiber), 0)
#else
#define TSAN_SWITCH(fiber) ((void)0)
#endif

static void task_retire(corio__loop *l, struct corio_task *t);

/* Makes t the running task (the switch into it follows). */
static void enter(corio__loop *l, struct corio_task *t)
{
	t->state = TASK_RUNNING;
	l->current = t;
	if (t->stack.kind == CORIO__STACK_GUARDED) {
		corio__guard_hi = (uintptr_t)t->stack.lo;
		corio__guard_lo = corio__guard_hi - l->stacks.page - t->stack.size;
	} else {
		corio__guard_hi = 0;
	}
	l->stats.switches++;
}

/* Runs on whatever context was switched to, right after the switch: checks the canary of
 * the task that just stopped, and releases its stack if it finished (which could not be
 * done while running on it). */
static void after_switch(corio__loop *l)
{
	struct corio_task *p = l->prev;

	if (!p)
		return;
	l->prev = NULL;
	if (!corio__stack_canary_ok(&p->stack))
		corio__stack_overflow_abort();
	if (p->state == TASK_DONE)
		task_retire(l, p);
}

/* The task that should run next without a detour through the scheduler: the next one of
 * this turn's batch, if it has run before (a first run is set up by the scheduler). Under
 * ASan every switch goes through the scheduler, which keeps the fiber bookkeeping simple. */
static struct corio_task *direct_next(corio__loop *l)
{
#if defined(__SANITIZE_ADDRESS__)
	return NULL;
#else
	struct corio_task *n = l->batch.head;

	if (l->budget == 0)
		return NULL;
	if (!n && l->ready.head && corio__loop_quiet(l)) {
		/* Nothing could complete in a poll step (no syscall would be made): the next
		 * turn may start right here, so tasks that only yield switch straight to
		 * each other. */
		l->batch = l->ready;
		l->ready = (corio__taskq){ 0 };
		n = l->batch.head;
	}
	if (!n || !n->ctx.pc)
		return NULL;
	l->budget--;
	return corio__taskq_pop(&l->batch);
#endif
}

/* Task t stops running (parks, yields or finished: final). The next task of the batch
 * runs at once if it can; otherwise the scheduler does. A switch costs the same either
 * way, and this saves one per handoff. final: ASan must drop t's fake stack. */
static void to_scheduler(corio__loop *l, struct corio_task *t, bool final)
{
	/* The main task's end goes to the scheduler, which decides what runs next: once
	 * corio_run's main task is done, what is left is cancelled before it runs (asyncio.run
	 * does the same), not started by a direct handoff. */
	struct corio_task *next = final && t->is_main ? NULL : direct_next(l);

	if (next == t) {
		/* A lone yielder that is next again: no switch at all. */
		t->state = TASK_RUNNING;
		return;
	}
	l->prev = t;
	if (next) {
		enter(l, next);
		TSAN_SWITCH(next->tsan_fiber);
		corio__ctx_switch(&t->ctx, &next->ctx);
	} else {
		l->stats.switches++;
#if defined(__SANITIZE_ADDRESS__)
		__sanitizer_start_switch_fiber(final ? NULL : &t->asan_fake, l->sched_bottom,
					       l->sched_size);
#else
		(void)final;
#endif
		TSAN_SWITCH(l->tsan_sched);
		corio__ctx_switch(&t->ctx, &l->sched_ctx);
#if defined(__SANITIZE_ADDRESS__)
		__sanitizer_finish_switch_fiber(t->asan_fake, &l->sched_bottom, &l->sched_size);
#endif
	}
	after_switch(l);
}

/* ---- watchers: the waits for a task's end (runtime/sync/join.c parks on them) ---- */

const char corio__wait_join[] = "join";

void corio__task_watch(corio__watcher *ws, corio__wait *w, struct corio_task *t, int index)
{
	*ws = (corio__watcher){ .w = w, .target = t, .index = index };
	corio__list_push_front(&t->watchers, &ws->link);
}

void corio__task_unwatch(corio__watcher *ws)
{
	corio__list_remove(&ws->target->watchers, &ws->link);
}

/* Wakes everything waiting for t to finish. */
static void notify(struct corio_task *t)
{
	corio__lnode *n;

	while ((n = corio__list_pop_front(&t->watchers))) {
		corio__watcher *ws = CORIO__CONTAINER_OF(n, corio__watcher, link);

		corio__wait_wake(ws->w, ws->index);
	}
}

static void task_finished(corio__loop *l, struct corio_task *t)
{
	t->state = TASK_DONE;
	l->stats.tasks_live--;
	if (!t->detached)
		l->attached_live--;
	notify(t);
}

/* First frame of every task (entered from corio__ctx_entry). Never returns. */
static void task_main(void *p)
{
	struct corio_task *t = p;
	corio__loop *l = t->loop;

#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_finish_switch_fiber(NULL, &l->sched_bottom, &l->sched_size);
#endif
	after_switch(l);
	t->result = t->fn(t->arg);
	if (t->locals) /* nobody reads them any more: the map may go now */
		corio__locals_drop(t);
	task_finished(l, t);
	to_scheduler(l, t, true);
	__builtin_unreachable();
}

/* Task structs kept for reuse per loop: spawn + join paid a calloc and a free, ~30% of
 * its instructions. Bounded, so a burst of tasks leaves at most this many behind (a few
 * hundred KiB): 1 024, a batch of spawn + gather, whose frees would otherwise let glibc
 * trim the heap and fault it back in on the next batch. None
 * under ASan, which then catches a handle used after its join. */
#define FREE_TASKS_MAX 1024

static bool task_keep(const corio__loop *l)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)l;
	return false;
#else
	return l->nfree_tasks < FREE_TASKS_MAX && !l->closing_tasks;
#endif
}

static void task_free(corio__loop *l, struct corio_task *t)
{
	/* Only finished tasks are freed: their task-locals went as they finished (task_main,
	 * or resume for a task cancelled before it ran). */
	corio__list_remove(&l->tasks, &t->all);
	if (task_keep(l)) {
		t->arg = l->free_tasks;
		l->free_tasks = t;
		l->nfree_tasks++;
		return;
	}
	free(t);
}

/* A zeroed task struct: a kept one, or a new one. The name buffer is cold: only its
 * first byte is cleared (the name is formatted or copied when asked for). */
static struct corio_task *task_alloc(corio__loop *l)
{
	struct corio_task *t = l->free_tasks;

	if (!t)
		return calloc(1, sizeof *t);
	l->free_tasks = t->arg;
	l->nfree_tasks--;
	memset(t, 0, offsetof(struct corio_task, name));
	t->name[0] = 0;
	return t;
}

/* After a task finished: its stack goes back to the pool at once (the task struct stays
 * until it is joined); a detached task is freed entirely. */
static void task_retire(corio__loop *l, struct corio_task *t)
{
	if (t->stack.lo) {
		if (t->stack.kind == CORIO__STACK_GUARDED)
			l->stats.stacks_guarded--;
		else
			l->stats.stacks_packed--;
		corio__stack_put(&l->stacks, &t->stack);
	}
#if defined(__SANITIZE_THREAD__)
	if (t->tsan_fiber)
		__tsan_destroy_fiber(t->tsan_fiber);
	t->tsan_fiber = NULL;
#endif
	if (t->detached)
		task_free(l, t);
}

/* Scheduler -> task. Returns when some task switches back to the scheduler (not
 * necessarily t: tasks hand over to each other within a turn). */
static void resume(corio__loop *l, struct corio_task *t)
{
	if (!t->ctx.pc) {
		/* First run. The context is made here, not at spawn, so that a task cancelled
		 * before it ever ran is simply finished (asyncio does the same). */
		if (t->cancelled) {
			corio__locals_drop(t);
			task_finished(l, t);
			task_retire(l, t);
			return;
		}
		corio__ctx_make(&t->ctx, t->stack.lo, t->stack.size, task_main, t);
#if defined(__SANITIZE_THREAD__)
		t->tsan_fiber = __tsan_create_fiber(0);
#endif
	}
	enter(l, t);
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_start_switch_fiber(&l->sched_fake, t->stack.lo, t->stack.size);
#endif
#if defined(__SANITIZE_THREAD__)
	l->tsan_sched = __tsan_get_current_fiber();
#endif
	TSAN_SWITCH(t->tsan_fiber);
	corio__ctx_switch(&l->sched_ctx, &t->ctx);
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_finish_switch_fiber(l->sched_fake, NULL, NULL);
#endif
	l->current = NULL;
	corio__guard_hi = 0;
	after_switch(l);
}

/* Tasks run per turn at most, before the ring is polled again: with 1 000 000 tasks made
 * ready at once, timers that expire meanwhile are still reaped on time. */
#define TURN_BUDGET 1024

void corio__run_ready(corio__loop *l)
{
	/* Only the tasks ready at the start of the turn (and what a previous turn's budget
	 * left): one that yields goes behind the next poll, so yielders cannot starve
	 * completions and timers. */
	struct corio_task *t;

	if (!l->batch.head) {
		l->batch = l->ready;
		l->ready = (corio__taskq){ 0 };
	}
	l->budget = TURN_BUDGET;
	while (l->budget > 0 && (t = corio__taskq_pop(&l->batch))) {
		l->budget--;
		resume(l, t);
	}
}

corio_task *corio_spawn(corio_fn fn, void *arg)
{
	corio__loop *l = corio__loop_get();
	struct corio_task *t;

	if (!l || !fn) {
		errno = l ? EINVAL : EPERM;
		return NULL;
	}
	t = task_alloc(l);
	if (!t)
		return NULL;
	if (corio__stack_get(&l->stacks, &t->stack) != 0) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	if (t->stack.kind == CORIO__STACK_GUARDED)
		l->stats.stacks_guarded++;
	else
		l->stats.stacks_packed++;
	t->loop = l;
	t->fn = fn;
	t->arg = arg;
	t->state = TASK_READY;
	/* Spawned by a task: it starts with its parent's task-locals (a post from another
	 * thread, and corio_run's first task, have no parent). */
	if (l->current)
		t->locals = corio__locals_share(l->current->locals);
	corio__list_push_front(&l->tasks, &t->all);
	l->attached_live++;
	/* Never reset: the count of spawns is the task's id. */
	t->id = ++l->stats.tasks_spawned;
	l->stats.tasks_live++;
	corio__taskq_push(&l->ready, t);
	return t;
}

void corio__park(corio__loop *l)
{
	struct corio_task *t = l->current;

	t->state = TASK_PARKED;
	to_scheduler(l, t, false);
}

void corio_yield(void)
{
	corio__loop *l = corio__loop_get();
	struct corio_task *t = l ? l->current : NULL;

	if (!t)
		return;
	t->state = TASK_READY;
	corio__taskq_push(&l->ready, t);
	to_scheduler(l, t, false);
}

corio_task *corio_current(void)
{
	corio__loop *l = corio__loop_get();

	return l ? l->current : NULL;
}

void corio_detach(corio_task *t)
{
	if (!t || t->detached || t->is_main)
		return;
	t->detached = true;
	if (t->state == TASK_DONE) {
		task_free(t->loop, t);
		return;
	}
	t->loop->attached_live--;
}

void corio__task_free(struct corio_task *t)
{
	task_free(t->loop, t);
}

void corio__tasks_free_all(corio__loop *l)
{
	l->closing_tasks = true;
	while (l->tasks.head)
		task_free(l, CORIO__CONTAINER_OF(l->tasks.head, struct corio_task, all));
	while (l->free_tasks) {
		struct corio_task *t = l->free_tasks;

		l->free_tasks = t->arg;
		free(t);
	}
	l->nfree_tasks = 0;
	l->closing_tasks = false;
}

/* The calls that park next (a wait, the scheduler, the switch) stay within this margin
 * below the caller's frame: their page is not released only to fault straight back. */
#define TRIM_MARGIN 1024

void corio__task_trim_stack(void)
{
	corio__loop *l = corio__loop_get();
	struct corio_task *t = l ? l->current : NULL;
	char here;

	if (t && t->stack.lo)
		corio__stack_release_below(&l->stacks, &t->stack,
					   (const void *)((uintptr_t)&here - TRIM_MARGIN));
}
