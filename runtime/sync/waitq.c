/* runtime/sync/waitq.c: the FIFO queue of parked tasks behind every sync primitive (see
 * waitq.h for the invariant that prevents lost wakeups), and the checks every call that
 * may park makes first. */
#include "runtime/sync/waitq.h"

#include <errno.h>

#include "runtime/core/op.h"

/* The queue is a runtime/util/list.h list; its public type (corio/sync.h) holds the same two
 * pointers under its own name, so each change goes through a corio__list copy. */
static corio__list list_of(const corio__waitq *q)
{
	return (corio__list){ q->head, q->tail };
}

static void list_store(corio__waitq *q, const corio__list *l)
{
	q->head = l->head;
	q->tail = l->tail;
}

static void waitq_remove(corio__waitq *q, struct corio__waiter *wt)
{
	corio__list l = list_of(q);

	corio__list_remove(&l, &wt->link);
	list_store(q, &l);
	wt->q = NULL;
}

/* The wait's unlink hook: cancellation or timeout took the task off the wait. */
static void waiter_unlink(corio__wait *w)
{
	struct corio__waiter *wt = w->data;

	if (wt->q)
		waitq_remove(wt->q, wt);
}

/* The same for a counted waiter: the primitive's count drops as it leaves. */
static void counted_unlink(corio__wait *w)
{
	struct corio__waiter *wt = w->data;

	if (wt->q) {
		waitq_remove(wt->q, wt);
		(*wt->count)--;
	}
}

/* Inlined into both parks: count is a constant NULL in the plain one, so the FIFO
 * channel's park pays nothing for the counted kind. */
static inline int park(corio__waitq *q, struct corio__waiter *wt, void (*unlink)(corio__wait *),
		       size_t *count, const char *what, const void *obj)
{
	corio__loop *lp = corio__loop_get();
	struct corio_task *t = lp ? lp->current : NULL;
	corio__list l = list_of(q);

	if (!t)
		return -EPERM;
	wt->w = (corio__wait){ .task = t, .unlink = unlink, .data = wt, .what = what, .obj = obj };
	wt->q = q;
	if (count) {
		wt->count = count;
		(*count)++;
	}
	corio__list_push_back(&l, &wt->link);
	list_store(q, &l);
	/* If the task is already cancelled or past its deadline, corio__wait_park unlinks wt
	 * and returns at once. */
	return corio__wait_park(&wt->w);
}

int corio__waitq_park_on(corio__waitq *q, struct corio__waiter *wt, const char *what,
			 const void *obj)
{
	return park(q, wt, waiter_unlink, NULL, what, obj);
}

int corio__waitq_park_counted(corio__waitq *q, struct corio__waiter *wt, size_t *count,
			      const char *what, const void *obj)
{
	return park(q, wt, counted_unlink, count, what, obj);
}

struct corio__waiter *corio__waitq_pop(corio__waitq *q)
{
	struct corio__waiter *wt;

	if (!q->head)
		return NULL;
	wt = CORIO__CONTAINER_OF(q->head, struct corio__waiter, link);
	waitq_remove(q, wt);
	return wt;
}

void corio__waiter_wake(struct corio__waiter *wt, int res)
{
	corio__wait_wake(&wt->w, res);
}

bool corio__waitq_wake_one(corio__waitq *q, int res)
{
	struct corio__waiter *wt = corio__waitq_pop(q);

	if (!wt)
		return false;
	corio__waiter_wake(wt, res);
	return true;
}

void corio__waitq_wake_all(corio__waitq *q, int res)
{
	struct corio__waiter *wt;

	while ((wt = corio__waitq_pop(q)))
		corio__waiter_wake(wt, res);
}
