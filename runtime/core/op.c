/* runtime/core/op.c: parking a task on an io_uring operation or on a wait, with the
 * cancellation and timeout checks of runtime/core/cancel.c applied the same way to both;
 * the loop-owned kernel timers behind waits with a deadline; corio_nop. */
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

static int timer_arm(corio__loop *l, corio__wait *w, uint64_t deadline);
static void timer_disarm(corio__loop *l, corio__wait *w);

int corio__op_await(corio__op *op, unsigned opts)
{
	corio__loop *l = corio__loop_get();
	struct corio_task *t = l ? l->current : NULL;
	struct __kernel_timespec ts;
	uint64_t deadline;
	int rc;

	if (!t)
		return -EPERM;
	rc = corio__cancel_check(t, opts, &deadline);
	if (rc != 0)
		return rc;
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
	op->parked_at = l->park_clock; /* corio_tasks_dump: since when (no clock read) */
	while (!op->done)
		corio__park(l);
	t->op = NULL;
	if (op->res == -ECANCELED && !(opts & CORIO__OP_CLEANUP))
		return corio__cancel_result(t, op->cancel_sent, deadline);
	return op->res;
}

/* ---- waits ---- */

int corio__wait_park(corio__wait *w)
{
	corio__loop *l = corio__loop_get();
	struct corio_task *t = w->task;
	uint64_t deadline;
	int rc;

	if (!l || !t)
		return -EPERM;
	rc = corio__cancel_check(t, 0, &deadline);
	/* No timer, no deadline: the wait fails (-ENOMEM) rather than park unbounded, and
	 * the scope has not fired, so it is not marked. */
	if (rc == 0 && deadline != UINT64_MAX)
		rc = timer_arm(l, w, deadline);
	if (rc != 0) {
		if (w->unlink)
			w->unlink(w);
		return rc;
	}
	t->wait = w;
	w->parked_at = l->park_clock;
	while (!w->woken)
		corio__park(l);
	t->wait = NULL;
	timer_disarm(l, w);
	if (w->res == -ETIMEDOUT && deadline != UINT64_MAX)
		return corio__cancel_timed_out(t, deadline);
	return w->res;
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

static int timer_arm(corio__loop *l, corio__wait *w, uint64_t deadline)
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

static void timer_disarm(corio__loop *l, corio__wait *w)
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
