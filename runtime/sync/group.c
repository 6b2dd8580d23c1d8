/* runtime/sync/group.c: task groups (corio_group), with asyncio.TaskGroup semantics: members
 * succeed or fail together; the first failure (corio_group_fail) cancels the others; the
 * group joins and frees its members.
 *
 * Each member runs through a trampoline (member_main) whose arg is the member's record, so
 * corio_group_fail finds the caller's group from the running task (t->fn, t->arg) in O(1).
 * The group waits for members with corio_wait_any, one at a time in spawn order, which
 * costs O(1) per member and also sees members that were cancelled before they first ran
 * (those never enter member_main). */
#include <errno.h>
#include <stdlib.h>

#include "runtime/sync/waitq.h"

typedef struct member {
	corio_group *g;
	corio_fn fn;
	void *arg;
	corio_task *task;
	struct member *next;
} member;

struct corio_group {
	corio__loop *loop;    /* of the first spawn; members never cross loops */
	member *head, *tail;  /* every member not yet freed, in spawn order */
	int err;              /* first failure, -ECANCELED after corio_group_cancel, or 0 */
	bool aborting;        /* members were cancelled: refuse new ones */
	bool waiting;         /* a task is in corio_group_wait */
};

void corio__task_free(struct corio_task *t); /* task.c: frees a finished, joined task */

static void *member_main(void *p)
{
	member *m = p;

	return m->fn(m->arg);
}

/* The record of the running task if it is a member of some group, else NULL. */
static member *current_member(void)
{
	corio_task *t = corio_current();

	return t && t->fn == member_main ? t->arg : NULL;
}

corio_group *corio_group_new(void)
{
	return calloc(1, sizeof(corio_group));
}

corio_task *corio_group_spawn(corio_group *g, corio_fn fn, void *arg)
{
	corio__loop *l = corio__loop_get();
	member *m;

	if (!g || !fn || (l && g->loop && g->loop != l)) {
		errno = EINVAL;
		return NULL;
	}
	if (!l) {
		errno = EPERM;
		return NULL;
	}
	if (g->aborting) {
		errno = ECANCELED;
		return NULL;
	}
	if (!(m = malloc(sizeof *m)))
		return NULL;
	*m = (member){ .g = g, .fn = fn, .arg = arg };
	if (!(m->task = corio_spawn(member_main, m))) {
		free(m);
		return NULL;
	}
	g->loop = l;
	if (g->tail)
		g->tail->next = m;
	else
		g->head = m;
	g->tail = m;
	return m->task;
}

/* Cancels every unfinished member except self. */
static void abort_members(corio_group *g, corio_task *self)
{
	g->aborting = true;
	for (member *m = g->head; m; m = m->next)
		if (m->task != self)
			corio_cancel(m->task); /* no effect on a finished one */
}

void corio_group_cancel(corio_group *g)
{
	if (!g)
		return;
	if (g->err == 0)
		g->err = -ECANCELED;
	abort_members(g, NULL);
}

int corio_group_fail(int err)
{
	member *m = current_member();
	corio_task *self = corio_current();

	if (err >= 0)
		return -EINVAL;
	if (!m)
		return -ESRCH;
	/* A member unwinding from its own cancellation is not a failure (asyncio ignores a
	 * child's CancelledError too). */
	if (err == -ECANCELED && self->cancelled)
		return 0;
	if (m->g->err != 0)
		return -EALREADY;
	m->g->err = err;
	abort_members(m->g, self);
	return 0;
}

/* Frees the first member's record and, with free_task, its task (finished by now). */
static void drop_head(corio_group *g, bool free_task)
{
	member *m = g->head;

	g->head = m->next;
	if (!g->head)
		g->tail = NULL;
	if (free_task)
		corio__task_free(m->task);
	free(m);
}

/* Waits for members in spawn order and frees them; stops at the first interruption
 * (returns -ECANCELED / -ETIMEDOUT, the member awaited lives on), else 0. */
static int drain(corio_group *g)
{
	while (g->head) {
		if (g->head->task->state != TASK_DONE) {
			int rc = corio_wait_any(&g->head->task, 1);

			if (rc == -ECANCELED || rc == -ETIMEDOUT)
				return rc;
			if (rc < 0) {
				/* -EINVAL: somebody detached the member against the rules; it
				 * frees itself, so only the record is dropped. */
				drop_head(g, false);
				continue;
			}
		}
		drop_head(g, true);
	}
	return 0;
}

/* Under corio_shield: nothing interrupts drain except the loop's deadlock breaker, which
 * also cancels the members; so retrying ends. */
static void *drain_shielded(void *p)
{
	while (drain(p) != 0)
		;
	return NULL;
}

static bool member_of(const corio_group *g)
{
	member *m = current_member();

	return m && m->g == g;
}

int corio_group_wait(corio_group *g)
{
	int rc;

	if (!g)
		return -EINVAL;
	if (!corio_current())
		return -EPERM;
	if (g->loop && g->loop != corio__loop_get())
		return -EINVAL;
	if (member_of(g))
		return -EDEADLK;
	if (g->waiting)
		return -EBUSY;
	g->waiting = true;
	rc = corio__wait_check();
	if (rc == 0)
		rc = drain(g);
	if (rc < 0) {
		/* The waiter was cancelled or timed out: like asyncio.TaskGroup, cancel the
		 * members and wait for them before reporting it. */
		abort_members(g, NULL);
		corio_shield(drain_shielded, g);
	} else {
		rc = g->err;
	}
	g->waiting = false;
	return rc;
}

void corio_group_free(corio_group *g)
{
	corio__loop *l = corio__loop_get();

	if (!g)
		return;
	if (g->head && l) {
		/* Members are alive only on their loop, and only a task can wait for them. */
		if (g->loop != l || !corio_current() || member_of(g) || g->waiting)
			return;
		g->waiting = true; /* a corio_group_wait meanwhile gets -EBUSY */
		abort_members(g, NULL);
		corio_shield(drain_shielded, g);
	}
	/* Without a loop, the one that ran the members has ended and freed their tasks. */
	while (g->head) {
		member *m = g->head;

		g->head = m->next;
		free(m);
	}
	free(g);
}
