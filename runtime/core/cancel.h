/* runtime/core/cancel.h: where a cancellation or a timeout is decided, for every blocking
 * call of the runtime (cancel.c owns all of it).
 *
 * A blocking call asks corio__cancel_check before it parks: -ECANCELED when the task's
 * cancellation is due (corio_cancel, sticky, not hidden by a shield) or an I/O deadline
 * interrupted it (runtime/time/deadline.c), -ETIMEDOUT when the nearest enclosing timeout
 * scope's deadline has passed (those scopes are marked as fired). Nothing here parks.
 */
#ifndef CORIO_CANCEL_H
#define CORIO_CANCEL_H

#include <stdint.h>

#include "runtime/core/task.h"

/* corio__cancel_check's opts: the CORIO__OP_* flags of op.h (CORIO__OP_CLEANUP: nothing
 * applies; CORIO__OP_NOLINK: no deadline is looked at), and this one: an expired I/O
 * deadline (the task is interrupted) does not count at the entry, only once the call
 * parks (the sync primitives and corio_sleep: a call that need not wait still goes
 * through). */
#define CORIO__CHECK_NOINTR 8u

/* The entry check of a blocking call of running task t: 0 and the deadline that applies
 * to the call in *deadline (UINT64_MAX: none), or -ECANCELED / -ETIMEDOUT as above. The
 * common case (no cancellation, no scope, no expired I/O deadline) is decided inline: it
 * is on every channel operation, lock and wait. */
int corio__cancel_check_slow(struct corio_task *t, unsigned opts, uint64_t *deadline);

static inline int corio__cancel_check(struct corio_task *t, unsigned opts, uint64_t *deadline)
{
	*deadline = UINT64_MAX;
	/* 1u: CORIO__OP_CLEANUP (op.h, which includes this file): nothing applies. */
	if ((opts & 1u) || !(t->cancelled || t->scopes || t->interrupted))
		return 0;
	return corio__cancel_check_slow(t, opts, deadline);
}

/* What an operation of t returns when the kernel ended it with -ECANCELED: -ETIMEDOUT
 * (scopes marked) when the call's deadline passed and it was not t's own cancellation
 * that ended it (cancel_sent: the cancellation of the call was asked for), else -ECANCELED. */
int corio__cancel_result(struct corio_task *t, bool cancel_sent, uint64_t deadline);

/* The scopes whose deadline passed are marked fired; returns -ETIMEDOUT. */
int corio__cancel_timed_out(struct corio_task *t, uint64_t deadline);

/* The deadline that applies to t's blocking calls (UINT64_MAX: none): the nearest
 * enclosing timeout scope up to the first shield. */
uint64_t corio__task_deadline(const struct corio_task *t);
/* True when a blocking call of t must fail with -ECANCELED (cancelled and not shielded). */
bool corio__task_cancel_due(const struct corio_task *t);
/* An I/O deadline of t passed (runtime/time/deadline.c): t is interrupted (its calls fail
 * with -ECANCELED until the deadline's owner clears t->interrupted) and what it is parked
 * on now ends with -ECANCELED, as for corio_cancel: its operation is cancelled (it resumes
 * at the final CQE), or its wait taken off its queue and woken. Never parks. */
void corio__cancel_interrupt(struct corio_task *t);
/* The deadlock breaker (run.c): t is parked on a wait nothing can end; it is cancelled,
 * shield or not (a shielded task would never end otherwise), and its wait ended. */
void corio__cancel_deadlocked(struct corio_task *t);

#endif
