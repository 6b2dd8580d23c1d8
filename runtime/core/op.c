/* runtime/core/op.c: parking a task on an io_uring operation or on a wait, with cancellation and
 * timeout scopes applied the same way everywhere; the kernel timers behind waits with a
 * deadline; corio_sleep and corio_nop. */
#include "runtime/core/op.h"

#include <errno.h>
#include <stdlib.h>

#include "runtime/core/ktimer.h"

static void op_complete(corio__completion *c, int32_t res, uint32_t flags)
{
	corio__op *op = (corio__op *)c;

	/* A zero-copy send posts its result, then a notification (F_NOTIF) once the kernel
	 * let go of the buffer; the op ends with the CQE that promises no more. */
	if (!(flags & IORING_CQE_F_NOTIF)) {
		op->res = res;
		op->cqe_flags = flags;
	}
	if (flags & IORING_CQE_F_MORE)
		return;
	op->done = true;
	corio__wake(op->task->loop, op->task);
}

int corio__op_await(corio__op *op, unsigned opts)
{
	corio__loop *l = corio__loop_get();
	struct corio_task *t = l ? l->current : NULL;
	struct __kernel_timespec ts;
	uint64_t deadline = UINT64_MAX;

	if (!t)
		return -EPERM;
	/* Fast path: no cancellation, no scope, no expired I/O deadline. */
	if (!(opts & CORIO__OP_CLEANUP) && (t->cancelled || t->scopes || t->interrupted)) {
		if (corio__task_cancel_due(t) || t->interrupted)
			return -ECANCELED;
		if (!(opts & CORIO__OP_NOLINK))
			deadline = corio__task_deadline(t);
		if (deadline != UINT64_MAX && corio_now() >= deadline) {
			corio__task_scopes_fired(t, deadline);
			return -ETIMEDOUT;
		}
	}
	op->c = (corio__completion){ .fn = op_complete };
	op->task = t;
	op->res = 0;
	op->cqe_flags = 0;
	op->done = false;
	op->cancel_sent = (opts & CORIO__OP_CLEANUP) != 0; /* cleanup is never cancelled */
	if (deadline != UINT64_MAX)
		ts = corio__ts_from_ns(deadline);
	corio__submit(l, &op->sqe, &op->c, deadline != UINT64_MAX ? &ts : NULL,
		      !(opts & CORIO__OP_NOFAULT));
	t->op = op;
	while (!op->done)
		corio__park(l);
	t->op = NULL;
	if (op->res == -ECANCELED && !(opts & CORIO__OP_CLEANUP)) {
		if (t->cancelled && op->cancel_sent)
			return -ECANCELED;
		if (deadline != UINT64_MAX && corio_now() >= deadline) {
			corio__task_scopes_fired(t, deadline);
			return -ETIMEDOUT;
		}
	}
	return op->res;
}

void corio__op_cancel(corio__loop *l, corio__op *op)
{
	if (op->done || op->cancel_sent)
		return;
	op->cancel_sent = true;
	corio__submit_cancel(l, &op->c);
}

/* ---- waits ---- */

int corio__wait_park(corio__wait *w)
{
	corio__loop *l = corio__loop_get();
	struct corio_task *t = w->task;
	uint64_t deadline;

	if (!l || !t)
		return -EPERM;
	if (corio__task_cancel_due(t) || t->interrupted) {
		if (w->unlink)
			w->unlink(w);
		return -ECANCELED;
	}
	deadline = corio__task_deadline(t);
	if (deadline != UINT64_MAX) {
		/* No timer, no deadline: the wait fails (-ENOMEM) rather than park unbounded,
		 * and the scope has not fired, so it is not marked. */
		int rc = corio_now() >= deadline ? -ETIMEDOUT : corio__timer_arm(l, w, deadline);

		if (rc != 0) {
			if (w->unlink)
				w->unlink(w);
			if (rc == -ETIMEDOUT)
				corio__task_scopes_fired(t, deadline);
			return rc;
		}
	}
	t->wait = w;
	while (!w->woken)
		corio__park(l);
	t->wait = NULL;
	corio__timer_disarm(l, w);
	if (w->res == -ETIMEDOUT && deadline != UINT64_MAX)
		corio__task_scopes_fired(t, deadline);
	return w->res;
}

void corio__wait_wake(corio__wait *w, int res)
{
	if (w->woken)
		return;
	w->woken = true;
	w->res = res;
	corio__wake(w->task->loop, w->task);
}

/* ---- kernel timers for waits ----
 * A timer outlives the wait it serves: when the wait ends first, the timer is removed
 * (IORING_OP_TIMEOUT_REMOVE) but its own CQE still arrives later, so timers are owned by
 * the loop, not by the parked task's stack. */

struct corio__timer {
	corio__ktimer k;
	corio__loop *loop;
	corio__wait *w; /* NULL once the wait ended */
	corio__timer *next_free;
};

static void timer_complete(corio__completion *c, int32_t res, uint32_t flags)
{
	corio__timer *tm = CORIO__CONTAINER_OF(c, corio__timer, k.c);
	corio__wait *w = tm->w;

	if (w) {
		w->timer = NULL;
		if (!w->woken) {
			if (w->unlink)
				w->unlink(w);
			corio__wait_wake(w, -ETIMEDOUT);
		}
	}
	tm->next_free = tm->loop->free_timers;
	tm->loop->free_timers = tm;
}

int corio__timer_arm(corio__loop *l, corio__wait *w, uint64_t deadline)
{
	corio__timer *tm = l->free_timers;

	if (l->timer_alloc_fail) { /* test hook: this allocation fails */
		l->timer_alloc_fail--;
		return -ENOMEM;
	}
	if (tm)
		l->free_timers = tm->next_free;
	else if (!(tm = malloc(sizeof *tm)))
		return -ENOMEM;
	tm->loop = l;
	tm->w = w;
	corio__ktimer_at(l, &tm->k, deadline, timer_complete);
	w->timer = tm;
	return 0;
}

void corio__timer_disarm(corio__loop *l, corio__wait *w)
{
	corio__timer *tm = w->timer;

	if (!tm)
		return;
	w->timer = NULL;
	tm->w = NULL;
	corio__ktimer_remove(l, &tm->k);
}

void corio__timers_free(corio__loop *l)
{
	while (l->free_timers) {
		corio__timer *tm = l->free_timers;

		l->free_timers = tm->next_free;
		free(tm);
	}
}

/* ---- nop ---- */

int corio_nop(void)
{
	corio__op op;

	io_uring_prep_nop(corio__op_sqe(&op));
	return corio__op_await(&op, 0);
}
