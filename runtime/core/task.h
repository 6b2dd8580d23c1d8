/* runtime/core/task.h: the task (a coroutine plus its result and bookkeeping), the waits a
 * task can park on, and the watchers that wait for a task to finish (task.c wakes them).
 *
 * A task parks in exactly one of two ways: on an operation (corio__op, op.c: it resumes
 * when the operation's final CQE is delivered) or on a wait (corio__wait: it resumes when
 * somebody calls corio__wait_wake, or on cancellation or its deadline). Both live on the
 * parked task's stack.
 */
#ifndef CORIO_TASK_H
#define CORIO_TASK_H

#include "runtime/core/loop.h"

typedef struct corio__op corio__op;
typedef struct corio__wait corio__wait;
typedef struct corio__watcher corio__watcher;

enum { TASK_READY = 1, TASK_RUNNING, TASK_PARKED, TASK_DONE };

struct corio_task {
	corio__ctx ctx;
	corio__loop *loop;
	corio_fn fn;
	void *arg;
	void *result;
	corio__stack stack;
	struct corio_task *next_ready;
	corio__lnode all;         /* on the loop's list of tasks */
	corio__list watchers;     /* corio__watcher: tasks waiting for this one to finish */
	corio__op *op;            /* operation it is parked on */
	corio__wait *wait;        /* or the wait it is parked on */
	corio_timeout *scopes;    /* innermost timeout or shield scope */
	void *asan_fake;
	void *tsan_fiber;         /* ThreadSanitizer builds only */
	uint8_t state;
	bool cancelled;
	bool interrupted; /* an I/O deadline passed (deadline.c): calls return -ECANCELED */
	bool detached;
	bool is_main; /* corio_run's own task: its caller reads it, nobody else frees it */
};

/* Ready queue (FIFO); inline, like corio__wake: they run once per completion. */
static inline void corio__taskq_push(corio__taskq *q, struct corio_task *t)
{
	t->next_ready = NULL;
	if (q->tail)
		q->tail->next_ready = t;
	else
		q->head = t;
	q->tail = t;
}

static inline struct corio_task *corio__taskq_pop(corio__taskq *q)
{
	struct corio_task *t = q->head;

	if (t) {
		q->head = t->next_ready;
		if (!q->head)
			q->tail = NULL;
	}
	return t;
}

/* Parks the running task until something makes it ready again. */
void corio__park(corio__loop *l);

/* Puts a parked task back on the ready queue. */
static inline void corio__wake(corio__loop *l, struct corio_task *t)
{
	if (t->state != TASK_PARKED)
		return;
	t->state = TASK_READY;
	corio__taskq_push(&l->ready, t);
}

/* A wait: the parked task, how it ended, and how to take it off whatever list it is on
 * when it ends by cancellation or timeout instead of a wake. */
struct corio__wait {
	struct corio_task *task;
	void (*unlink)(corio__wait *w);
	void *data;            /* for unlink */
	corio__timer *timer;
	int res;
	bool woken;
};

/* Parks on w (already registered with whatever will wake it) until corio__wait_wake, the
 * task's cancellation (-ECANCELED) or its deadline (-ETIMEDOUT). Under a deadline it arms
 * a kernel timer of its own (op.c); when that timer cannot be allocated it returns -ENOMEM
 * without parking. On all three, w->unlink runs first. Returns the res given to
 * corio__wait_wake. */
int corio__wait_park(corio__wait *w);
/* Ends the wait with res; no effect when it already ended. Never parks. Inline, like
 * corio__wake: it runs once per wakeup. */
static inline void corio__wait_wake(corio__wait *w, int res)
{
	if (w->woken)
		return;
	w->woken = true;
	w->res = res;
	corio__wake(w->task->loop, w->task);
}

/* A wait for a task to finish (runtime/sync/join.c parks on w): on the target's watcher
 * list until the target finishes (task.c ends w with index) or the watch is dropped. Lives
 * on the waiter's stack, or on the heap for many targets. */
struct corio__watcher {
	corio__lnode link;
	corio__wait *w;
	struct corio_task *target;
	int index;
};

/* Puts ws on t's watcher list: when t finishes, w is woken with index. Never parks. */
void corio__task_watch(corio__watcher *ws, corio__wait *w, struct corio_task *t, int index);
/* Takes ws off its target's list if it is still there. */
void corio__task_unwatch(corio__watcher *ws);

/* Frees a finished task that was never detached (join, gather, loop teardown). */
void corio__task_free(struct corio_task *t);
/* Loop teardown: frees every task left (all finished and not detached). */
void corio__tasks_free_all(corio__loop *l);
/* One scheduler turn: runs the tasks ready at its start, at most a budget of them. */
void corio__run_ready(corio__loop *l);

#endif
