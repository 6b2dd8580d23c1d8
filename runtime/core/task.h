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
typedef struct corio__locals corio__locals;

/* A task's name: at most this many bytes kept, plus the NUL (corio_task_set_name). */
#define CORIO__TASK_NAME_MAX 63

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
	bool named;   /* name holds a name given by corio_task_set_name */
	uint64_t id;  /* 1, 2, ... per loop, in spawn order (the loop's stats.tasks_spawned) */
	corio__locals *locals; /* task-local values (task_local.c), shared until one side sets */
	/* Cold, and last: task_alloc clears everything before it, only name[0] of it. Holds
	 * the given name, or "task-<id>" once asked for (task_name.c). */
	char name[CORIO__TASK_NAME_MAX + 1];
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

/* Task-local values (task_local.c). A map is immutable once shared; refs counts the tasks
 * that hold it. Never crosses threads (a post from another loop starts with none), so the
 * count is plain. */
struct corio__locals {
	unsigned refs;
	unsigned n, cap;
	struct corio__local {
		const void *key;
		void *value;
	} e[]; /* sorted by key */
};

/* A spawned task's share of its parent's map: O(1), the copy is made at the first set. */
static inline corio__locals *corio__locals_share(corio__locals *m)
{
	if (m)
		m->refs++;
	return m;
}
/* Drops t's reference to its map (task finished or freed). */
void corio__locals_drop(struct corio_task *t);

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
	const char *what;      /* for corio_tasks_dump: a static label ("mutex", "join"...), */
	const void *obj;       /* and the object waited on; NULL: "wait" and none */
	uint64_t parked_at;    /* and since when (the loop's park_clock) */
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

/* The wait label of a join (runtime/sync/join.c; obj: the first task waited for), which
 * corio_tasks_dump shows as "join task-<id>". */
extern const char corio__wait_join[];

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
