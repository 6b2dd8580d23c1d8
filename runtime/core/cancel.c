/* runtime/core/cancel.c: every cancellation and timeout decision of the runtime, in one
 * place: corio_cancel and corio_cancelled, the timeout scopes and shields
 * (corio_timeout_*, corio_shield), the entry check every blocking call makes
 * (corio__cancel_check: op.c's operations and waits, the sync primitives, corio_sleep),
 * what a call returns when the kernel cancelled it, the unparking of a cancelled or
 * interrupted task, and the deadlock breaker's cancellation.
 *
 * The rules (docs/design.md, "Cancellation and timeouts"): cancellation is sticky; cleanup
 * calls are never cancelled; a shield hides the task's cancellation and the deadlines of
 * the scopes outside it; the nearest deadline wins; a task whose I/O deadline expired
 * (interrupted, runtime/time/deadline.c) fails its calls with -ECANCELED until that
 * deadline ends. A task keeps its chain of scopes (innermost first) on its own stack.
 * Nothing here parks.
 */
#include "runtime/core/cancel.h"

#include <errno.h>

#include "runtime/core/op.h"

enum { SCOPE_TIMEOUT = 1, SCOPE_SHIELD = 2 };

/* ---- scopes ---- */

static void push(corio_timeout *s, uint8_t kind, uint64_t deadline)
{
	corio_task *t = corio_current();

	s->deadline = deadline;
	s->kind = kind;
	s->fired = false;
	s->parent = t ? t->scopes : NULL;
	if (t)
		t->scopes = s;
}

static void pop(corio_timeout *s)
{
	corio_task *t = corio_current();

	if (!t)
		return;
	/* Normally s is the innermost scope; tolerate an out-of-order exit. */
	for (corio_timeout **pp = &t->scopes; *pp; pp = &(*pp)->parent) {
		if (*pp == s) {
			*pp = s->parent;
			return;
		}
	}
}

void corio_timeout_enter_at(corio_timeout *t, uint64_t deadline)
{
	push(t, SCOPE_TIMEOUT, deadline);
}

void corio_timeout_enter(corio_timeout *t, uint64_t ns)
{
	uint64_t now = corio_now();

	push(t, SCOPE_TIMEOUT, ns > UINT64_MAX - now ? UINT64_MAX : now + ns);
}

bool corio_timeout_exit(corio_timeout *t)
{
	pop(t);
	return t->fired;
}

void *corio_shield(corio_fn fn, void *arg)
{
	corio_timeout s;
	void *r;

	push(&s, SCOPE_SHIELD, UINT64_MAX);
	r = fn(arg);
	pop(&s);
	return r;
}

uint64_t corio__task_deadline(const struct corio_task *t)
{
	uint64_t d = UINT64_MAX;

	for (const corio_timeout *s = t->scopes; s && s->kind != SCOPE_SHIELD; s = s->parent)
		if (s->deadline < d)
			d = s->deadline;
	return d;
}

bool corio__task_cancel_due(const struct corio_task *t)
{
	if (!t->cancelled)
		return false;
	for (const corio_timeout *s = t->scopes; s; s = s->parent)
		if (s->kind == SCOPE_SHIELD)
			return false;
	return true;
}

int corio__cancel_timed_out(struct corio_task *t, uint64_t deadline)
{
	for (corio_timeout *s = t->scopes; s && s->kind != SCOPE_SHIELD; s = s->parent)
		if (s->deadline <= deadline)
			s->fired = true;
	return -ETIMEDOUT;
}

/* ---- the decisions of a blocking call ---- */

_Static_assert(CORIO__OP_CLEANUP == 1u, "corio__cancel_check (cancel.h) tests bit 1u");

int corio__cancel_check_slow(struct corio_task *t, unsigned opts, uint64_t *deadline)
{
	uint64_t d = UINT64_MAX;

	*deadline = UINT64_MAX;
	if (corio__task_cancel_due(t) || (t->interrupted && !(opts & CORIO__CHECK_NOINTR)))
		return -ECANCELED;
	if (!(opts & CORIO__OP_NOLINK))
		d = corio__task_deadline(t);
	if (d != UINT64_MAX && corio_now() >= d)
		return corio__cancel_timed_out(t, d);
	*deadline = d;
	return 0;
}

int corio__cancel_result(struct corio_task *t, bool cancel_sent, uint64_t deadline)
{
	if (t->cancelled && cancel_sent)
		return -ECANCELED;
	if (deadline != UINT64_MAX && corio_now() >= deadline)
		return corio__cancel_timed_out(t, deadline);
	return -ECANCELED;
}

/* ---- ending a parked task ---- */

/* Ends what parked task t waits for with -ECANCELED (see corio__cancel_interrupt). */
static void unpark(struct corio_task *t)
{
	corio__op *op = t->op;
	corio__wait *w = t->wait;

	if (op) {
		if (op->done || op->cancel_sent)
			return;
		/* The task stays parked until the op's final CQE: the kernel may still
		 * write into the caller's buffers until then. */
		op->cancel_sent = true;
		corio__submit_cancel(t->loop, &op->c);
	} else if (w && !w->woken) {
		if (w->unlink)
			w->unlink(w);
		corio__wait_wake(w, -ECANCELED);
	}
}

void corio_cancel(corio_task *t)
{
	if (!t || t->state == TASK_DONE || t->cancelled)
		return;
	t->cancelled = true;
	if (t->state != TASK_PARKED || !corio__task_cancel_due(t))
		return; /* takes effect at its next blocking call, or when the shield ends */
	unpark(t);
}

bool corio_cancelled(void)
{
	corio_task *t = corio_current();

	return t && t->cancelled;
}

void corio__cancel_interrupt(struct corio_task *t)
{
	t->interrupted = true;
	unpark(t);
}

void corio__cancel_deadlocked(struct corio_task *t)
{
	t->cancelled = true;
	unpark(t);
}
