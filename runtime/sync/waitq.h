/* runtime/sync/waitq.h: the FIFO queue of parked tasks shared by every primitive of
 * corio/sync.h (channels, mutex, semaphore, event, condition, wait group, future).
 *
 * A waiter lives on the parked task's stack and embeds the corio__wait the core parks on
 * (task.h). Invariant that makes "no lost wakeups" hold: a waiter is on a queue if and
 * only if its wait has not ended. Whoever ends it takes it off first: a waker pops it
 * (corio__waitq_pop) and then calls corio__waiter_wake; cancellation and timeouts go
 * through the wait's unlink hook, which removes it, before the core wakes it with
 * -ECANCELED / -ETIMEDOUT. So whatever is handed to a popped waiter is its to keep.
 */
#ifndef CORIO_WAITQ_H
#define CORIO_WAITQ_H

#include <errno.h>

#include <corio/sync.h>

#include "runtime/core/cancel.h"
#include "runtime/core/task.h"
#include "runtime/util/list.h"

struct corio__waiter {
	corio__wait w;                    /* what the core parks on */
	corio__waitq *q;                  /* the queue it is on, NULL once off it */
	corio__lnode link;                /* on q (a runtime/util/list.h list, see waitq.c) */
	void *buf;                        /* channels: element to send / buffer to fill */
	void *value;                      /* futures: the value handed over at wake-up */
	size_t *count;                    /* corio__waitq_park_counted's, else unset */
};

static inline void corio__waitq_init(corio__waitq *q)
{
	q->head = q->tail = NULL;
}

static inline bool corio__waitq_empty(const corio__waitq *q)
{
	return q->head == NULL;
}

/* What every call that may park checks first (see corio/sync.h): -EPERM outside a task,
 * -ECANCELED when the running task's cancellation is due, -ETIMEDOUT (scopes marked as
 * fired) when its deadline passed, else 0. Never parks. Inline: it is on every channel
 * operation (the common case is three loads). */
static inline int corio__wait_check(void)
{
	corio__loop *l = corio__loop_get();
	struct corio_task *t = l ? l->current : NULL;
	uint64_t deadline;

	if (!t)
		return -EPERM;
	/* NOINTR: a call that need not park still goes through after an I/O deadline
	 * expired; if it parks, corio__wait_park fails it. */
	return corio__cancel_check(t, CORIO__CHECK_NOINTR, &deadline);
}

/* Appends wt (on the running task's stack; buf set by the caller if used) to q and parks
 * until a waker ends the wait (returns the res it gave), or cancellation / the deadline
 * (-ECANCELED / -ETIMEDOUT, wt already off q). -EPERM outside a task (wt never queued).
 * On return wt is off q in every case. what and obj say what the task waits on in
 * corio_tasks_dump (a static label, "mutex", and the primitive); corio__waitq_park: "wait"
 * and the queue. */
int corio__waitq_park_on(corio__waitq *q, struct corio__waiter *wt, const char *what,
			 const void *obj);
static inline int corio__waitq_park(corio__waitq *q, struct corio__waiter *wt)
{
	return corio__waitq_park_on(q, wt, NULL, q);
}

/* corio__waitq_park for a primitive that keeps the number of its parked waiters in *count
 * (corio_barrier): *count is incremented as wt is queued and decremented when cancellation,
 * the deadline or -ENOMEM takes wt off q, at that moment, before any other task runs (the
 * task itself may run much later). A waker that pops waiters adjusts *count itself. what
 * and obj: as for corio__waitq_park_on. */
int corio__waitq_park_counted(corio__waitq *q, struct corio__waiter *wt, size_t *count,
			      const char *what, const void *obj);

/* Takes the first waiter off q; NULL when q is empty. The caller hands it what it waited
 * for, then calls corio__waiter_wake. */
struct corio__waiter *corio__waitq_pop(corio__waitq *q);

/* Ends a popped waiter's wait with res and makes its task ready. Never parks. */
void corio__waiter_wake(struct corio__waiter *wt, int res);

/* Pops and wakes the first waiter with res; false when q was empty. */
bool corio__waitq_wake_one(corio__waitq *q, int res);
/* Pops and wakes every waiter, in arrival order, with res. */
void corio__waitq_wake_all(corio__waitq *q, int res);

#endif
